//! `hub exchange …`: the hotline's side of the exchange (code mappings, held records, forwarding
//! up) and files for partners without a live link: `import` sends a JSON Lines file as the partner
//! (checked against `docs/exchange/appeal.schema.json`, safe to re-run), `export` writes the
//! partner's updates as JSON Lines from a cursor.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Subcommand;
use hotline_proto::receipt;
use hotline_proto::render::{appeal_status, outcome, table};
use hotline_proto::v1 as pb;
use hotline_proto::v1::contact_centre_exchange_client::ContactCentreExchangeClient;
use hotline_proto::v1::exchange_admin_client::ExchangeAdminClient;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use super::CliError;
use super::connect::{Connection, channel, channel_named, retrying};
use super::output::Out;
use super::schema::{self, APPEAL_SCHEMA};
use crate::principal::StaffRole;

/// Records sent per call while importing.
const IMPORT_BATCH: usize = 200;

/// `hub exchange …`
#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Map a partner's code onto ours: `category`, `district` or `settlement`.
    Map {
        /// The partner.
        partner: String,
        /// What the code names.
        kind: String,
        /// The partner's code.
        theirs: String,
        /// Ours.
        ours: String,
    },
    /// A partner's mappings.
    Mappings {
        /// The partner.
        partner: String,
    },
    /// Records held because a code has no mapping.
    Held {
        /// Only this partner's.
        #[arg(long, default_value = "")]
        partner: String,
    },
    /// Classify a held record with our codes and register it.
    Classify {
        /// The held record's id.
        id: i64,
        /// Our category.
        #[arg(long)]
        category: String,
        /// Our district.
        #[arg(long)]
        district: String,
        /// Our settlement.
        #[arg(long, default_value = "")]
        settlement: String,
    },
    /// Forward an appeal outside the oblast's competence up to a partner (art. 7).
    Forward {
        /// The appeal's number.
        number: String,
        /// The partner.
        #[arg(long)]
        partner: String,
        /// Why it is not the oblast's.
        #[arg(long)]
        reason: String,
    },
    /// Send a partner's JSON Lines file (one appeal per line, see
    /// docs/exchange/appeal.schema.json) as that partner; safe to re-run.
    Import {
        /// The file.
        file: PathBuf,
        /// The partner (its certificate: <pki-dir>/exchange-<partner>.pem unless --cert).
        #[arg(long)]
        partner: String,
        /// Where refused lines go, with their line numbers and reasons [default: FILE.rejected].
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Write a partner's updates after a cursor as JSON Lines (to --out or the terminal).
    Export {
        /// The partner (its certificate, as for import).
        #[arg(long)]
        partner: String,
        /// Resume after this cursor [default: after the last acknowledged].
        #[arg(long, default_value = "")]
        since: String,
        /// Write here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Acknowledge what was written.
        #[arg(long)]
        ack: bool,
    },
}

impl ExchangeCommand {
    fn role(&self) -> StaffRole {
        match self {
            Self::Map { .. } | Self::Mappings { .. } => StaffRole::Admin,
            _ => StaffRole::Analyst,
        }
    }
}

/// Runs `hub exchange …`.
pub async fn run(c: Connection<ExchangeCommand>) -> Result<(), CliError> {
    let out = Out { json: c.hub.json };
    match c.command {
        ExchangeCommand::Import {
            file,
            partner,
            rejects,
        } => {
            let rejects = rejects.unwrap_or_else(|| file.with_extension("rejected"));
            let channel = channel_named(&c.hub, &format!("exchange-{partner}")).await?;
            return import(
                ContactCentreExchangeClient::new(channel),
                &file,
                &rejects,
                c.hub.json,
            )
            .await;
        }
        ExchangeCommand::Export {
            partner,
            since,
            out: path,
            ack,
        } => {
            let channel = channel_named(&c.hub, &format!("exchange-{partner}")).await?;
            return export(ContactCentreExchangeClient::new(channel), &since, path, ack).await;
        }
        _ => {}
    }
    let mut client = ExchangeAdminClient::new(channel(&c.hub, c.command.role()).await?);
    match c.command {
        ExchangeCommand::Map {
            partner,
            kind,
            theirs,
            ours,
        } => {
            let m = client
                .set_mapping(pb::CodeMapping {
                    partner,
                    kind,
                    theirs,
                    ours,
                })
                .await?
                .into_inner();
            println!("{} {} `{}` → `{}`", m.partner, m.kind, m.theirs, m.ours);
        }
        ExchangeCommand::Mappings { partner } => {
            let list = client
                .list_mappings(pb::ListMappingsRequest { partner })
                .await?
                .into_inner()
                .mappings;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|m| vec![m.kind.clone(), m.theirs.clone(), m.ours.clone()])
                .collect();
            print!("{}", table(&["KIND", "THEIRS", "OURS"], &rows));
        }
        ExchangeCommand::Held { partner } => {
            let list = client
                .list_held(pb::ListHeldRequest { partner })
                .await?
                .into_inner()
                .records;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|h| {
                    vec![
                        h.id.to_string(),
                        h.partner.clone(),
                        h.external_id.clone(),
                        h.missing.clone(),
                        h.received_at.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &["ID", "PARTNER", "EXTERNAL ID", "NO MAPPING FOR", "RECEIVED"],
                    &rows
                )
            );
        }
        ExchangeCommand::Classify {
            id,
            category,
            district,
            settlement,
        } => {
            let appeal = client
                .classify_held(pb::ClassifyHeldRequest {
                    id,
                    category_code: category,
                    district_code: district,
                    settlement_code: settlement,
                })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        ExchangeCommand::Forward {
            number,
            partner,
            reason,
        } => {
            let request = pb::ForwardToPartnerRequest {
                number,
                partner,
                reason,
                request_id: c.hub.request_id(),
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.forward_to_partner(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        ExchangeCommand::Import { .. } | ExchangeCommand::Export { .. } => {}
    }
    Ok(())
}

/// One line of the file as the partner's record, or why not.
fn parse_line(schema: &Value, line: &str) -> Result<pb::ExchangeAppeal, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    schema::check(schema, &value)?;
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let citizen = value.get("citizen").cloned().unwrap_or(Value::Null);
    let kind = match text(&value, "kind").as_str() {
        "proposal" => pb::AppealKind::Proposal,
        "application" => pb::AppealKind::Application,
        _ => pb::AppealKind::Complaint,
    };
    Ok(pb::ExchangeAppeal {
        external_id: text(&value, "external_id"),
        kind: kind as i32,
        citizen: Some(pb::Citizen {
            name: text(&citizen, "name"),
            phone: text(&citizen, "phone"),
            address: text(&citizen, "address"),
            email: text(&citizen, "email"),
        }),
        category_code: text(&value, "category_code"),
        district_code: text(&value, "district_code"),
        settlement_code: text(&value, "settlement_code"),
        text: text(&value, "text"),
        received_at: text(&value, "received_at"),
        anonymous: value
            .get("anonymous")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        needs_study: value
            .get("needs_study")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Counts of an import.
#[derive(Debug, Default)]
struct Tally {
    accepted: usize,
    duplicates: usize,
    held: usize,
    rejected: usize,
}

async fn import(
    client: ContactCentreExchangeClient<tonic::transport::Channel>,
    file: &std::path::Path,
    rejects: &std::path::Path,
    json: bool,
) -> Result<(), CliError> {
    let schema: Value = serde_json::from_str(APPEAL_SCHEMA).expect("the embedded schema is JSON");
    let io = |e: std::io::Error| CliError::Io(format!("{}: {e}", file.display()));
    let lines: Vec<String> = std::io::BufReader::new(std::fs::File::open(file).map_err(io)?)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io)?;
    let bar = ProgressBar::with_draw_target(
        Some(lines.len() as u64),
        if json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} lines {msg}").expect("a valid template"),
    );
    let mut rejected = Vec::new();
    let mut tally = Tally::default();
    let mut batch: Vec<(usize, pb::ExchangeAppeal)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let number = i + 1;
        if !line.trim().is_empty() {
            match parse_line(&schema, line) {
                Ok(record) => batch.push((number, record)),
                Err(why) => {
                    tally.rejected += 1;
                    rejected.push(format!("line {number}: {why}"));
                }
            }
        }
        if batch.len() == IMPORT_BATCH || (number == lines.len() && !batch.is_empty()) {
            let request = pb::SubmitAppealsRequest {
                appeals: batch.iter().map(|(_, r)| r.clone()).collect(),
            };
            let results = retrying(&client, &request, |mut c, r| async move {
                c.submit_appeals(r).await
            })
            .await?
            .results;
            for ((line, _), result) in batch.iter().zip(&results) {
                match pb::ExchangeOutcome::try_from(result.outcome) {
                    Ok(pb::ExchangeOutcome::Accepted) => tally.accepted += 1,
                    Ok(pb::ExchangeOutcome::Duplicate) => tally.duplicates += 1,
                    Ok(pb::ExchangeOutcome::Held) => tally.held += 1,
                    _ => {
                        tally.rejected += 1;
                        rejected.push(format!("line {line}: {}", result.reason));
                    }
                }
            }
            batch.clear();
            bar.set_message(format!("{} registered", tally.accepted));
        }
        bar.set_position(number as u64);
    }
    bar.finish_and_clear();
    if rejected.is_empty() {
        let _ = std::fs::remove_file(rejects);
    } else {
        std::fs::write(rejects, rejected.join("\n") + "\n")
            .map_err(|e| CliError::Io(format!("{}: {e}", rejects.display())))?;
    }
    if json {
        println!(
            "{}",
            json!({
                "accepted": tally.accepted, "duplicates": tally.duplicates, "held": tally.held,
                "rejected": tally.rejected,
                "rejects_file": (!rejected.is_empty()).then(|| rejects.display().to_string()),
            })
        );
    } else {
        println!(
            "{} registered, {} already imported (skipped), {} held for classification, {} refused{}",
            tally.accepted,
            tally.duplicates,
            tally.held,
            tally.rejected,
            if rejected.is_empty() {
                String::new()
            } else {
                format!(" (see {})", rejects.display())
            }
        );
    }
    Ok(())
}

/// An update as one JSON line.
fn update_json(u: &pb::ExchangeUpdate) -> Value {
    json!({
        "cursor": u.cursor, "event_id": u.event_id, "external_id": u.external_id,
        "appeal_number": u.appeal_number, "kind": u.kind, "status": appeal_status(u.status),
        "outcome": outcome(u.outcome), "answer": u.answer, "notice": u.notice, "at": u.at,
        "appeal": u.appeal.as_ref().map(hotline_proto::render::appeal_json),
        "receipt": u.receipt.as_ref().map(receipt::to_json),
    })
}

async fn export(
    mut client: ContactCentreExchangeClient<tonic::transport::Channel>,
    since: &str,
    path: Option<PathBuf>,
    ack: bool,
) -> Result<(), CliError> {
    let mut stream = client
        .stream_updates(pb::StreamUpdatesRequest {
            cursor: since.to_string(),
            follow: false,
        })
        .await?
        .into_inner();
    let mut sink: Box<dyn Write> = match &path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| CliError::Io(format!("{}: {e}", p.display())))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut last = String::new();
    let mut count = 0usize;
    while let Some(update) = stream.message().await? {
        if update.heartbeat {
            continue;
        }
        writeln!(sink, "{}", update_json(&update)).map_err(|e| CliError::Io(e.to_string()))?;
        last = update.cursor.clone();
        count += 1;
    }
    sink.flush().map_err(|e| CliError::Io(e.to_string()))?;
    drop(sink);
    if ack && !last.is_empty() {
        client
            .ack_updates(pb::AckUpdatesRequest {
                cursor: last.clone(),
            })
            .await?;
    }
    eprintln!(
        "{count} updates{}",
        if last.is_empty() {
            String::new()
        } else {
            format!("; resume with --since {last}")
        }
    );
    Ok(())
}
