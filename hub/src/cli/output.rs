//! How staff commands print: aligned tables for people, JSON (`--json`) for scripts.

use std::io::{IsTerminal, Write};

/// `println!` that ends the process quietly when stdout is closed (`hub … | head`).
macro_rules! say {
    ($($arg:tt)*) => {
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    };
}

use hotline_proto::render::{
    self, appeal_json, appeal_status, case_json, case_status, channel, clip, event_json, kind,
};
use hotline_proto::v1 as pb;
use serde_json::{Value, json};

/// Output mode of one command.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// JSON instead of tables.
    pub json: bool,
}

/// `NOTICE_CHANNEL_CALL` → `call`.
fn notice_name(name: Result<&str, prost::UnknownEnumValue>) -> String {
    name.map(|n| {
        n.split_once('_')
            .and_then(|(_, rest)| rest.split_once('_'))
            .map_or(n, |(_, v)| v)
            .to_ascii_lowercase()
    })
    .unwrap_or_default()
}

/// Prints a table.
fn table(header: &[&str], rows: &[Vec<String>]) {
    say!("{}", render::table(header, rows).trim_end());
}

fn print_json(v: &Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values serialize")
    );
}

/// Shows loading progress on a terminal.
pub fn progress(done: usize, total: usize) {
    if std::io::stderr().is_terminal() {
        eprint!("\rloading {done}/{total}");
        if done == total {
            eprintln!();
        }
    }
}

impl Out {
    /// One appeal: card, cases, history.
    pub fn appeal(&self, a: &pb::Appeal) {
        if self.json {
            return print_json(&appeal_json(a));
        }
        say!(
            "Appeal {}  [{}]{}",
            a.number,
            appeal_status(a.status),
            if a.overdue { "  OVERDUE" } else { "" }
        );
        if !a.status_reason.is_empty() {
            say!("  reason:     {}", a.status_reason);
        }
        say!("  received:   {} by {}", a.received_at, channel(a.channel));
        let urgency = render::urgency(a.urgency);
        say!(
            "  kind:       {}, {}{}{}",
            kind(a.kind),
            render::sign(a.sign),
            match urgency.as_str() {
                "" | "ordinary" => String::new(),
                u => format!(", {}", u.to_uppercase()),
            },
            if a.priority { ", PRIORITY" } else { "" }
        );
        if !a.author_categories.is_empty() {
            say!("  author:     {}", a.author_categories.join(", "));
        }
        if !a.due_at.is_empty() {
            say!("  due at:     {}", a.due_at);
        }
        if a.incident_id != 0 {
            say!(
                "  incident:   {} (hub incident show {})",
                a.incident_id,
                a.incident_id
            );
        }
        if let Some(c) = &a.citizen {
            say!("  citizen:    {}  {}  {}", c.name, c.phone, c.address);
        }
        let place = if a.settlement_code.is_empty() {
            a.district_code.clone()
        } else {
            format!("{} / {}", a.district_code, a.settlement_code)
        };
        say!("  where:      {place}");
        say!("  category:   {}", a.category_code);
        say!("  deadline:   {}", a.deadline);
        if !a.complained_authority_code.is_empty() {
            say!("  complaint about: {}", a.complained_authority_code);
        }
        if !a.repeat_of.is_empty() {
            say!("  repeat of:  {}", a.repeat_of);
        }
        if a.consultation {
            say!("  consultation given on the spot");
        }
        let ended = render::outcome(a.outcome);
        if !ended.is_empty() {
            say!("  outcome:    {ended}");
        }
        if a.satisfaction != 0 {
            say!(
                "  satisfaction: {}/5  {}",
                a.satisfaction,
                a.satisfaction_note
            );
        }
        if !a.disagreement.is_empty() {
            say!("  the citizen disagrees: {}", a.disagreement);
        }
        if !a.continued_in.is_empty() {
            say!("  continued in: {}", a.continued_in);
        }
        if a.awaiting_rework {
            say!("  the citizen was not satisfied: name the cases to rework (hub appeal rework)");
        }
        say!("  text:       {}", a.text);
        if !a.cases.is_empty() {
            say!();
            let rows: Vec<Vec<String>> = a
                .cases
                .iter()
                .map(|c| {
                    vec![
                        c.id.to_string(),
                        match render::role(c.role).as_str() {
                            "lead" => format!("{} (lead)", c.authority_code),
                            _ => c.authority_code.clone(),
                        },
                        case_status(c.status),
                        format!(
                            "{}{}",
                            c.deadline,
                            if c.overdue { " (overdue)" } else { "" }
                        ),
                        render::outcome(c.outcome),
                        clip(
                            if c.answer.is_empty() {
                                &c.reason
                            } else {
                                &c.answer
                            },
                            50,
                        ),
                    ]
                })
                .collect();
            table(
                &[
                    "CASE",
                    "AUTHORITY",
                    "STATUS",
                    "DEADLINE",
                    "OUTCOME",
                    "ANSWER / REASON",
                ],
                &rows,
            );
            for c in &a.cases {
                if !c.measures.is_empty() {
                    say!("  case {} measures: {}", c.id, c.measures);
                }
                if !c.outcome_detail.is_empty() {
                    say!(
                        "  case {} {}: {}",
                        c.id,
                        render::outcome(c.outcome),
                        c.outcome_detail
                    );
                }
                if !c.extension_requested_to.is_empty() {
                    say!(
                        "  case {} asks for more time, to {}: {}",
                        c.id,
                        c.extension_requested_to,
                        c.extension_request_reason
                    );
                }
                for d in &c.attachments {
                    say!(
                        "  case {} document: {} ({}, {} bytes, sha256 {})",
                        c.id,
                        d.name,
                        d.content_type,
                        d.size,
                        d.sha256
                    );
                }
            }
        }
        if !a.history.is_empty() {
            say!();
            let rows: Vec<Vec<String>> = a
                .history
                .iter()
                .map(|e| {
                    vec![
                        e.at.clone(),
                        e.kind.clone(),
                        if e.case_id == 0 {
                            String::new()
                        } else {
                            e.case_id.to_string()
                        },
                        e.actor.clone(),
                        clip(&e.detail, 60),
                    ]
                })
                .collect();
            table(&["WHEN", "EVENT", "CASE", "BY", "DETAIL"], &rows);
        }
    }

    /// A page of search results.
    pub fn search(&self, page: &pb::SearchAppealsResponse) {
        if self.json {
            return print_json(&json!({
                "appeals": page.appeals.iter().map(appeal_json).collect::<Vec<_>>(),
                "next_page_token": page.next_page_token,
            }));
        }
        let rows: Vec<Vec<String>> = page
            .appeals
            .iter()
            .map(|a| {
                vec![
                    format!("{}{}", a.number, if a.priority { " !" } else { "" }),
                    appeal_status(a.status),
                    a.received_at.clone(),
                    a.district_code.clone(),
                    a.category_code.clone(),
                    format!(
                        "{}{}",
                        a.deadline,
                        if a.overdue { " (overdue)" } else { "" }
                    ),
                    a.cases
                        .iter()
                        .map(|c| c.authority_code.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ]
            })
            .collect();
        table(
            &[
                "NUMBER",
                "STATUS",
                "RECEIVED",
                "DISTRICT",
                "CATEGORY",
                "DEADLINE",
                "AUTHORITIES",
            ],
            &rows,
        );
        if page.appeals.iter().any(|a| a.priority) {
            say!("! priority (an author category the Law puts first)");
        }
        if !page.next_page_token.is_empty() {
            say!("more: --page-token {}", page.next_page_token);
        }
    }

    /// Declined cases.
    pub fn declined(&self, list: &pb::ListDeclinedCasesResponse) {
        if self.json {
            return print_json(&json!(
                list.cases
                    .iter()
                    .map(|d| json!({
                        "appeal_number": d.appeal_number, "case": d.case.as_ref().map(case_json),
                        "declined_at": d.declined_at, "reroute_by": d.reroute_by, "late": d.late,
                    }))
                    .collect::<Vec<_>>()
            ));
        }
        let rows: Vec<Vec<String>> = list
            .cases
            .iter()
            .map(|d| {
                let c = d.case.clone().unwrap_or_default();
                vec![
                    d.appeal_number.clone(),
                    c.id.to_string(),
                    c.authority_code,
                    d.declined_at.clone(),
                    format!("{}{}", d.reroute_by, if d.late { " LATE" } else { "" }),
                    clip(&c.reason, 50),
                ]
            })
            .collect();
        table(
            &[
                "APPEAL",
                "CASE",
                "AUTHORITY",
                "DECLINED",
                "RE-ROUTE BY",
                "REASON",
            ],
            &rows,
        );
    }

    /// One event of a watch stream.
    pub fn notices(&self, list: &[pb::Notice]) {
        if self.json {
            let all: Vec<Value> = list
                .iter()
                .map(|n| {
                    json!({
                        "id": n.id, "appeal_number": n.appeal_number,
                        "kind": notice_name(pb::NoticeKind::try_from(n.kind).map(|k| k.as_str_name())),
                        "channel": notice_name(pb::NoticeChannel::try_from(n.channel).map(|c| c.as_str_name())),
                        "status": notice_name(pb::NoticeStatus::try_from(n.status).map(|s| s.as_str_name())),
                        "address": n.address, "text": n.text, "attempts": n.attempts,
                        "last_error": n.last_error, "created_at": n.created_at,
                        "done_at": n.done_at, "done_by": n.done_by,
                    })
                })
                .collect();
            return print_json(&Value::Array(all));
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|n| {
                vec![
                    n.id.to_string(),
                    n.appeal_number.clone(),
                    notice_name(pb::NoticeKind::try_from(n.kind).map(|k| k.as_str_name())),
                    notice_name(pb::NoticeChannel::try_from(n.channel).map(|c| c.as_str_name())),
                    notice_name(pb::NoticeStatus::try_from(n.status).map(|s| s.as_str_name())),
                    n.address.clone(),
                    clip(&n.text, 60),
                ]
            })
            .collect();
        table(
            &["ID", "APPEAL", "KIND", "BY", "STATUS", "TO", "TEXT"],
            &rows,
        );
    }

    pub fn event(&self, e: &pb::AppealEvent) {
        if self.json {
            say!("{}", event_json(e));
        } else {
            say!(
                "{}  {}  {}  {}  {}  {}",
                e.cursor,
                e.at,
                e.appeal_number,
                e.kind,
                e.actor,
                e.detail
            );
        }
    }

    /// Authorities.
    pub fn authorities(&self, list: &[pb::Authority]) {
        if self.json {
            return print_json(&json!(list
                .iter()
                .map(|a| json!({"code": a.code, "name": a.name, "kind": a.kind, "district_code": a.district_code, "active": a.active}))
                .collect::<Vec<_>>()));
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|a| {
                vec![
                    a.code.clone(),
                    a.kind.clone(),
                    a.district_code.clone(),
                    if a.active { "yes".into() } else { "no".into() },
                    a.name.clone(),
                ]
            })
            .collect();
        table(&["CODE", "KIND", "DISTRICT", "ACTIVE", "NAME"], &rows);
    }

    /// The classifier.
    pub fn categories(&self, list: &[pb::Category]) {
        if self.json {
            return print_json(&json!(list
                .iter()
                .map(|c| json!({"code": c.code, "name": c.name, "parent_code": c.parent_code, "term_days": c.term_days}))
                .collect::<Vec<_>>()));
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|c| vec![c.code.clone(), c.term_days.to_string(), c.name.clone()])
            .collect();
        table(&["CODE", "DAYS", "NAME"], &rows);
    }

    /// The classifier's other dimensions.
    pub fn classifier(&self, list: &[pb::ClassifierEntry]) {
        let dimension = |d: i32| {
            pb::Dimension::try_from(d)
                .map(|d| {
                    d.as_str_name()
                        .trim_start_matches("DIMENSION_")
                        .to_ascii_lowercase()
                })
                .unwrap_or_default()
        };
        if self.json {
            return print_json(&Value::Array(
                list.iter()
                    .map(|e| {
                        json!({
                            "dimension": dimension(e.dimension), "code": e.code, "name": e.name,
                            "parent_code": e.parent_code, "priority": e.priority,
                        })
                    })
                    .collect(),
            ));
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|e| {
                vec![
                    dimension(e.dimension),
                    e.code.clone(),
                    if e.priority { "yes" } else { "" }.into(),
                    e.name.clone(),
                ]
            })
            .collect();
        table(&["DIMENSION", "CODE", "PRIORITY", "NAME"], &rows);
    }

    /// Districts and settlements.
    pub fn districts(&self, list: &[pb::District]) {
        if self.json {
            return print_json(&json!(list
                .iter()
                .map(|d| json!({"code": d.code, "name": d.name, "kind": d.kind, "parent_code": d.parent_code}))
                .collect::<Vec<_>>()));
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|d| {
                vec![
                    d.code.clone(),
                    d.kind.clone(),
                    d.parent_code.clone(),
                    d.name.clone(),
                ]
            })
            .collect();
        table(&["CODE", "KIND", "DISTRICT", "NAME"], &rows);
    }

    /// The result of `directory load`.
    pub fn loaded(&self, districts: usize, categories: usize, authorities: usize) {
        if self.json {
            print_json(
                &json!({"districts": districts, "categories": categories, "authorities": authorities}),
            );
        } else {
            say!(
                "loaded {districts} districts and settlements, {categories} categories, {authorities} authorities"
            );
        }
    }
}
