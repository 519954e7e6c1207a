//! `hub incident …`: the analysts' incidents (mass appeals) on a running hub.

use clap::Subcommand;
use hotline_proto::render::{appeal_status, table};
use hotline_proto::v1 as pb;
use hotline_proto::v1::incidents_client::IncidentsClient;
use serde_json::json;

use super::CliError;
use super::connect::{Connection, channel};
use crate::principal::StaffRole;

/// `hub incident …`
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident around a primary appeal (assigned and answered for all).
    Open {
        /// The primary appeal's number.
        primary: String,
        /// What happened, e.g. "no water in Samarskyi district, 12 streets".
        #[arg(long)]
        title: String,
        /// More detail.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Attach registered appeals to an incident.
    Attach {
        /// Incident id.
        id: i64,
        /// Appeal numbers.
        #[arg(required = true)]
        appeals: Vec<String>,
    },
    /// An incident with its appeals.
    Show {
        /// Incident id.
        id: i64,
    },
    /// Incidents, newest first; `--open --category C --district D` is what the operator's form
    /// suggests for a new call.
    List {
        /// Only open ones.
        #[arg(long)]
        open: bool,
        /// Only about this category.
        #[arg(long, default_value = "")]
        category: String,
        /// Only in this district.
        #[arg(long, default_value = "")]
        district: String,
    },
    /// Close an answered incident: attached appeals still waiting for a call-back close
    /// unconfirmed.
    Close {
        /// Incident id.
        id: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

impl IncidentCommand {
    fn role(&self) -> StaffRole {
        match self {
            Self::Show { .. } | Self::List { .. } => StaffRole::Supervisor,
            _ => StaffRole::Analyst,
        }
    }
}

fn status_name(v: i32) -> String {
    pb::IncidentStatus::try_from(v)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("INCIDENT_STATUS_")
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn incident_json(i: &pb::Incident) -> serde_json::Value {
    json!({
        "id": i.id, "title": i.title, "description": i.description, "category_code": i.category_code,
        "district_code": i.district_code, "status": status_name(i.status),
        "primary_number": i.primary_number, "opened_at": i.opened_at, "answered_at": i.answered_at,
        "closed_at": i.closed_at, "appeal_count": i.appeal_count,
    })
}

fn print_detail(d: &pb::IncidentDetail, json: bool) {
    let Some(i) = &d.incident else { return };
    if json {
        let mut v = incident_json(i);
        v["appeals"] = d
            .appeals
            .iter()
            .map(|a| json!({ "number": a.number, "status": appeal_status(a.status) }))
            .collect();
        println!("{v:#}");
        return;
    }
    println!(
        "Incident {}  [{}]  {}\n  {} / {}, primary {}, {} appeals",
        i.id,
        status_name(i.status),
        i.title,
        i.district_code,
        i.category_code,
        i.primary_number,
        i.appeal_count
    );
    let rows: Vec<Vec<String>> = d
        .appeals
        .iter()
        .map(|a| {
            vec![
                a.number.clone(),
                appeal_status(a.status),
                a.received_at.clone(),
                a.status_reason.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["APPEAL", "STATUS", "RECEIVED", "REASON"], &rows)
    );
}

/// Runs `hub incident …`.
pub async fn run(c: Connection<IncidentCommand>) -> Result<(), CliError> {
    let json = c.hub.json;
    let mut client = IncidentsClient::new(channel(&c.hub, c.command.role()).await?);
    let detail = match c.command {
        IncidentCommand::Open {
            primary,
            title,
            description,
        } => {
            client
                .open_incident(pb::OpenIncidentRequest {
                    primary_number: primary,
                    title,
                    description,
                })
                .await?
        }
        IncidentCommand::Attach { id, appeals } => {
            client
                .attach_to_incident(pb::AttachToIncidentRequest {
                    incident_id: id,
                    appeal_numbers: appeals,
                })
                .await?
        }
        IncidentCommand::Show { id } => {
            client
                .get_incident(pb::GetIncidentRequest { incident_id: id })
                .await?
        }
        IncidentCommand::Close { id, reason } => {
            client
                .close_incident(pb::CloseIncidentRequest {
                    incident_id: id,
                    reason,
                })
                .await?
        }
        IncidentCommand::List {
            open,
            category,
            district,
        } => {
            let list = client
                .list_incidents(pb::ListIncidentsRequest {
                    status: if open {
                        pb::IncidentStatus::Open as i32
                    } else {
                        0
                    },
                    category_code: category,
                    district_code: district,
                    limit: 0,
                })
                .await?
                .into_inner();
            if json {
                let all: Vec<_> = list.incidents.iter().map(incident_json).collect();
                println!("{:#}", serde_json::Value::Array(all));
            } else {
                let rows: Vec<Vec<String>> = list
                    .incidents
                    .iter()
                    .map(|i| {
                        vec![
                            i.id.to_string(),
                            status_name(i.status),
                            i.district_code.clone(),
                            i.category_code.clone(),
                            i.primary_number.clone(),
                            i.title.clone(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &["ID", "STATUS", "DISTRICT", "CATEGORY", "PRIMARY", "TITLE"],
                        &rows
                    )
                );
            }
            return Ok(());
        }
    };
    print_detail(&detail.into_inner(), json);
    Ok(())
}
