//! The commands that only read the local store: the inbox, one case, the daemon's status, the
//! receipts. They need neither the hub nor the TLS files, so a clerk can look while the daemon
//! runs, and `status` works even when the certificate is what is broken.

use hotline_proto::render::{agency_case_json, case_status, clip, outcome, role, table, urgency};
use hotline_proto::v1 as pb;

use super::{CliError, ReceiptsCommand};
use crate::config::{ClientConfig, Settings};
use crate::local::LocalStore;

/// A case, readable, citizen's contact included (this is the clerk's own terminal, not a log).
fn print_case(case: &pb::AgencyCase) {
    let c = case.case.clone().unwrap_or_default();
    println!(
        "Case {}  appeal {}  [{}]{}",
        c.id,
        case.appeal_number,
        case_status(c.status),
        if c.overdue { "  OVERDUE" } else { "" }
    );
    println!("  deadline:   {}", c.deadline);
    if !c.due_at.is_empty() {
        println!("  due at:     {} (emergency)", c.due_at);
    }
    if case.priority {
        println!(
            "  PRIORITY:   the author belongs to a category handled first ({})",
            case.author_categories.join(", ")
        );
    }
    match role(c.role).as_str() {
        "lead" => println!("  role:       lead executor: answer for all once the parts are in"),
        "co_executor" => println!("  role:       co-executor: your part goes to the lead too"),
        _ => {}
    }
    for p in &case.parts {
        println!(
            "  part:       {} [{}] {} {}",
            p.authority_code,
            case_status(p.status),
            outcome(p.outcome),
            clip(&p.answer, 60)
        );
    }
    println!(
        "  category:   {}   where: {} {}",
        case.category_code, case.district_code, case.settlement_code
    );
    if let Some(citizen) = &case.citizen {
        println!(
            "  citizen:    {}  {}  {}",
            citizen.name, citizen.phone, citizen.address
        );
    }
    println!("  text:       {}", case.text);
    if !c.reason.is_empty() {
        println!("  reason:     {}", c.reason);
    }
    if !c.answer.is_empty() {
        println!("  answer:     {}", c.answer);
    }
    if !c.measures.is_empty() {
        println!("  measures:   {}", c.measures);
    }
    for a in &c.attachments {
        println!(
            "  document:   {} ({}, {} bytes, sha256 {})",
            a.name, a.content_type, a.size, a.sha256
        );
    }
}

/// `cases`: the inbox.
pub(super) async fn cases(
    local: &LocalStore,
    status: Option<&str>,
    json: bool,
) -> Result<(), CliError> {
    let cases = local.cases(status).await?;
    if json {
        println!(
            "{}",
            serde_json::Value::Array(cases.iter().map(agency_case_json).collect())
        );
    } else {
        let rows: Vec<Vec<String>> = cases
            .iter()
            .map(|case| {
                let c = case.case.clone().unwrap_or_default();
                let marks = [
                    if case.priority { "!" } else { "" },
                    match urgency(case.urgency).as_str() {
                        "emergency" => "EMERGENCY",
                        "urgent" => "urgent",
                        _ => "",
                    },
                ]
                .concat();
                vec![
                    c.id.to_string(),
                    format!("{} {marks}", case.appeal_number)
                        .trim_end()
                        .to_string(),
                    case_status(c.status),
                    format!(
                        "{}{}",
                        c.deadline,
                        if c.overdue { " (overdue)" } else { "" }
                    ),
                    case.category_code.clone(),
                    clip(&case.text, 50),
                ]
            })
            .collect();
        print!(
            "{}",
            table(
                &["CASE", "APPEAL", "STATUS", "DEADLINE", "CATEGORY", "TEXT"],
                &rows
            )
        );
    }
    Ok(())
}

/// `case show`: one case.
pub(super) async fn case(local: &LocalStore, case_id: i64, json: bool) -> Result<(), CliError> {
    let case = local
        .case(case_id)
        .await?
        .ok_or_else(|| CliError::Failed(format!("case {case_id} is not in the local store")))?;
    if json {
        println!("{}", agency_case_json(&case));
    } else {
        print_case(&case);
    }
    Ok(())
}

/// `status`: connection, cursor, outbox, hooks, last error.
pub(super) async fn status(
    local: &LocalStore,
    settings: &Settings,
    json: bool,
) -> Result<(), CliError> {
    let s = local.summary().await?;
    let dead_letter = settings.daemon.dead_letter_dir(&settings.client.data_dir);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "hub": settings.client.hub, "connection": s.connection, "last_contact": s.last_contact,
                "cursor": s.cursor, "acknowledged": s.acked, "cases": s.cases,
                "outbox_pending": s.outbox_pending, "outbox_failed": s.outbox_failed,
                "hooks_waiting": s.hooks_waiting, "hooks_dead": s.hooks_dead,
                "dead_letter_dir": dead_letter.display().to_string(),
                "receipts": s.receipts, "last_error": s.last_error,
            })
        );
    } else {
        println!("hub:          {}", settings.client.hub);
        println!(
            "connection:   {} (last contact {})",
            if s.connection.is_empty() {
                "never connected"
            } else {
                &s.connection
            },
            s.last_contact
        );
        println!("cursor:       {} (acknowledged {})", s.cursor, s.acked);
        println!("cases:        {}", s.cases);
        println!(
            "outbox:       {} waiting, {} refused",
            s.outbox_pending, s.outbox_failed
        );
        println!(
            "hooks:        {} waiting, {} dead-lettered (in {})",
            s.hooks_waiting,
            s.hooks_dead,
            dead_letter.display()
        );
        println!("receipts:     {}", s.receipts);
        println!("last error:   {}", s.last_error);
    }
    Ok(())
}

/// `receipts export | verify`.
pub(super) async fn receipts(
    local: &LocalStore,
    config: &ClientConfig,
    command: ReceiptsCommand,
) -> Result<(), CliError> {
    let receipts = local.receipts().await?;
    match command {
        ReceiptsCommand::Export => {
            for r in &receipts {
                println!("{}", hotline_proto::receipt::to_json(r));
            }
        }
        ReceiptsCommand::Verify => {
            let path = config.receipt_key.clone().ok_or_else(|| {
                CliError::Failed(
                    "no receipt key: give --receipt-key (the hub's receipt.pub)".into(),
                )
            })?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            let key = hotline_proto::receipt::unhex(text.trim()).ok_or_else(|| {
                CliError::Failed(format!("{}: not a hex public key", path.display()))
            })?;
            let bad: Vec<String> = receipts
                .iter()
                .filter_map(|r| {
                    hotline_proto::receipt::verify(r, &key)
                        .err()
                        .map(|e| format!("{} case {} event {}: {e}", r.kind, r.case_id, r.event_id))
                })
                .collect();
            for line in &bad {
                println!("INVALID  {line}");
            }
            println!(
                "{} receipts, {} valid",
                receipts.len(),
                receipts.len() - bad.len()
            );
            if !bad.is_empty() {
                return Err(CliError::Failed("not every receipt checks out".into()));
            }
        }
    }
    Ok(())
}
