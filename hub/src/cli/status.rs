//! `hub status`: the first thing the analyst on duty checks in the morning — which authorities are
//! connected, which have been silent for hours, whose case streams lag, which calls failed last,
//! the deadlines and the database — as a table, or JSON with `--json`.

use chrono::{DateTime, Utc};
use clap::Args;
use hotline_proto::v1 as pb;
use hotline_proto::v1::operations_client::OperationsClient;

use super::CliError;
use super::connect::{HubArgs, channel, retrying};
use crate::principal::StaffRole;

/// `hub status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Connection and output.
    #[command(flatten)]
    pub hub: HubArgs,
    /// Flag an authority as silent when it has no stream open and was not heard from for this
    /// many hours.
    #[arg(long, default_value_t = 24)]
    pub silent_hours: u32,
    /// List every active authority, not only those that need attention (silent, lagging, failing)
    /// and those connected.
    #[arg(long)]
    pub all: bool,
}

/// Runs `hub status` (as a supervisor unless --cert says otherwise).
pub async fn status(args: StatusArgs) -> Result<(), CliError> {
    let client = OperationsClient::new(channel(&args.hub, StaffRole::Supervisor).await?);
    let request = pb::GetStatusRequest {
        silent_after_hours: args.silent_hours,
    };
    let answer = retrying(&client, &request, |mut c, r| async move {
        c.get_status(r).await
    })
    .await?;
    if args.hub.json {
        println!("{}", to_json(&answer));
    } else {
        print!("{}", render(&answer, args.all));
    }
    Ok(())
}

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// How long before `now` `at` was: `5 min`, `3 h`, `2 d`; `never` for an empty time.
fn ago(now: &str, at: &str) -> String {
    match (parse(now), parse(at)) {
        (Some(now), Some(at)) => {
            let secs = now.signed_duration_since(at).num_seconds().max(0);
            match secs {
                0..60 => format!("{secs} s ago"),
                60..3600 => format!("{} min ago", secs / 60),
                3600..172_800 => format!("{} h ago", secs / 3600),
                _ => format!("{} d ago", secs / 86_400),
            }
        }
        _ => "never".into(),
    }
}

/// Does this authority need a look (or is it connected, which is worth seeing too)?
fn notable(a: &pb::AuthorityStatus) -> bool {
    a.silent || a.events_behind > 0 || !a.last_error_code.is_empty() || a.streams > 0
}

/// The status as the on-duty table.
pub fn render(s: &pb::OperationsStatus, all: bool) -> String {
    let mut out = String::new();
    let silent = s.authorities.iter().filter(|a| a.silent).count();
    let lagging = s.authorities.iter().filter(|a| a.events_behind > 0).count();
    out.push_str(&format!(
        "hub at {}  (up since {}){}\n",
        s.now,
        s.started_at,
        if s.draining { "  DRAINING" } else { "" }
    ));
    out.push_str(&format!(
        "database {}  pool {} open / {} idle / {} max  last event {}\n",
        if s.database_up { "up" } else { "DOWN" },
        s.db_pool_open,
        s.db_pool_idle,
        s.db_pool_max,
        s.last_event_id
    ));
    out.push_str(&format!(
        "cases overdue {}  due soon {}\n",
        s.cases_overdue, s.cases_due_soon
    ));
    out.push_str(&format!(
        "authorities {}: connected {}, silent {}, lagging {}\n",
        s.authorities.len(),
        s.connected_agencies,
        silent,
        lagging
    ));
    for r in &s.restores {
        out.push_str(&format!(
            "restored {} from a backup ending at event {}; ids continue at {}\n",
            r.restored_at, r.backup_last_event, r.resumed_at_event
        ));
    }
    let shown: Vec<&pb::AuthorityStatus> =
        s.authorities.iter().filter(|a| all || notable(a)).collect();
    if shown.is_empty() {
        out.push_str("\nevery authority is connected or recently heard from; none lags\n");
        return out;
    }
    out.push_str(&format!(
        "\n{:<32} {:<10} {:>7} {:>8} {:<14} {}\n",
        "AUTHORITY", "STATE", "STREAMS", "BEHIND", "LAST CONTACT", "LAST ERROR"
    ));
    for a in shown {
        let state = if a.streams > 0 {
            "connected"
        } else if a.silent {
            "SILENT"
        } else {
            "away"
        };
        let error = if a.last_error_code.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{} {} ({})",
                a.last_error_code,
                a.last_error_rpc.rsplit('/').next().unwrap_or_default(),
                ago(&s.now, &a.last_error_at)
            )
        };
        out.push_str(&format!(
            "{:<32} {:<10} {:>7} {:>8} {:<14} {}\n",
            a.code,
            state,
            a.streams,
            a.events_behind,
            ago(&s.now, &a.last_contact),
            error
        ));
    }
    out
}

/// The status as JSON.
pub fn to_json(s: &pb::OperationsStatus) -> serde_json::Value {
    serde_json::json!({
        "now": s.now,
        "started_at": s.started_at,
        "database_up": s.database_up,
        "draining": s.draining,
        "last_event_id": s.last_event_id,
        "cases_due_soon": s.cases_due_soon,
        "cases_overdue": s.cases_overdue,
        "connected_agencies": s.connected_agencies,
        "db_pool": { "open": s.db_pool_open, "idle": s.db_pool_idle, "max": s.db_pool_max },
        "restores": s.restores.iter().map(|r| serde_json::json!({
            "restored_at": r.restored_at,
            "backup_last_event": r.backup_last_event,
            "resumed_at_event": r.resumed_at_event,
        })).collect::<Vec<_>>(),
        "authorities": s.authorities.iter().map(|a| serde_json::json!({
            "code": a.code,
            "name": a.name,
            "streams": a.streams,
            "silent": a.silent,
            "events_behind": a.events_behind,
            "last_contact": (!a.last_contact.is_empty()).then_some(&a.last_contact),
            "acked_cursor": (!a.acked_cursor.is_empty()).then_some(&a.acked_cursor),
            "acked_at": (!a.acked_at.is_empty()).then_some(&a.acked_at),
            "last_error": (!a.last_error_code.is_empty()).then(|| serde_json::json!({
                "at": a.last_error_at, "rpc": a.last_error_rpc, "code": a.last_error_code,
            })),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_who_needs_a_look() {
        let status = pb::OperationsStatus {
            now: "2026-11-02T09:00:00Z".into(),
            started_at: "2026-11-01T09:00:00Z".into(),
            database_up: true,
            connected_agencies: 1,
            authorities: vec![
                pb::AuthorityStatus {
                    code: "heating".into(),
                    silent: true,
                    last_contact: "2026-10-30T09:00:00Z".into(),
                    ..Default::default()
                },
                pb::AuthorityStatus {
                    code: "vodokanal".into(),
                    streams: 1,
                    events_behind: 4,
                    last_contact: "2026-11-02T08:59:00Z".into(),
                    last_error_code: "NOT_FOUND".into(),
                    last_error_rpc: "/hotline.v1.AgencyGateway/GetCase".into(),
                    last_error_at: "2026-11-02T08:00:00Z".into(),
                    ..Default::default()
                },
                pb::AuthorityStatus {
                    code: "quiet".into(),
                    last_contact: "2026-11-02T08:00:00Z".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let table = render(&status, false);
        assert!(
            table.contains("connected 1, silent 1, lagging 1"),
            "{table}"
        );
        assert!(table.contains("heating") && table.contains("SILENT") && table.contains("3 d ago"));
        assert!(table.contains("NOT_FOUND GetCase (1 h ago)"), "{table}");
        assert!(!table.contains("quiet"), "{table}");
        assert!(render(&status, true).contains("quiet"));
        let json = to_json(&status);
        assert_eq!(json["authorities"][0]["silent"], true);
        assert_eq!(
            json["authorities"][2]["last_error"],
            serde_json::Value::Null
        );
    }
}
