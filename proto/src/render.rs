//! Rendering contract messages for people and scripts: enum names as the CLIs print them, JSON forms
//! for `--json`, and aligned text tables. Shared by the `hub` and `agency-client` command lines.

use serde_json::{Value, json};

use crate::v1 as pb;

/// `APPEAL_STATUS_IN_PROGRESS` → `in_progress`.
fn enum_name(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// An appeal status as the CLIs print it (`in_progress`).
pub fn appeal_status(v: i32) -> String {
    pb::AppealStatus::try_from(v)
        .map(|s| enum_name(s.as_str_name(), "APPEAL_STATUS_"))
        .unwrap_or_else(|_| v.to_string())
}

/// A case status as the CLIs print it (`clarification_requested`).
pub fn case_status(v: i32) -> String {
    pb::CaseStatus::try_from(v)
        .map(|s| enum_name(s.as_str_name(), "CASE_STATUS_"))
        .unwrap_or_else(|_| v.to_string())
}

/// An appeal kind (`complaint`).
pub fn kind(v: i32) -> String {
    pb::AppealKind::try_from(v)
        .map(|s| enum_name(s.as_str_name(), "APPEAL_KIND_"))
        .unwrap_or_else(|_| v.to_string())
}

/// A channel (`national_centre`).
pub fn channel(v: i32) -> String {
    pb::Channel::try_from(v)
        .map(|s| enum_name(s.as_str_name(), "CHANNEL_"))
        .unwrap_or_else(|_| v.to_string())
}

/// An outcome (`explained`); empty when there is none.
pub fn outcome(v: i32) -> String {
    match pb::Outcome::try_from(v) {
        Ok(pb::Outcome::Unspecified) => String::new(),
        Ok(o) => enum_name(o.as_str_name(), "OUTCOME_"),
        Err(_) => v.to_string(),
    }
}

/// An urgency as people read it; empty when not given.
pub fn urgency(v: i32) -> String {
    match pb::Urgency::try_from(v) {
        Ok(pb::Urgency::Unspecified) => String::new(),
        Ok(u) => enum_name(u.as_str_name(), "URGENCY_"),
        Err(_) => v.to_string(),
    }
}

/// A sign as people read it; empty when not given.
pub fn sign(v: i32) -> String {
    match pb::Sign::try_from(v) {
        Ok(pb::Sign::Unspecified) => String::new(),
        Ok(s) => enum_name(s.as_str_name(), "SIGN_"),
        Err(_) => v.to_string(),
    }
}

/// A case's role as people read it (`lead`, `co_executor`, `sole`); empty when not given.
pub fn role(v: i32) -> String {
    match pb::CaseRole::try_from(v) {
        Ok(pb::CaseRole::Unspecified) => String::new(),
        Ok(r) => enum_name(r.as_str_name(), "CASE_ROLE_"),
        Err(_) => v.to_string(),
    }
}

/// A citizen as JSON.
pub fn citizen_json(c: &pb::Citizen) -> Value {
    json!({ "name": c.name, "phone": c.phone, "address": c.address, "email": c.email })
}

/// A case as JSON.
pub fn case_json(c: &pb::Case) -> Value {
    json!({
        "id": c.id, "authority_code": c.authority_code, "authority_name": c.authority_name,
        "status": case_status(c.status), "deadline": c.deadline, "overdue": c.overdue,
        "extension_reason": c.extension_reason, "reason": c.reason, "answer": c.answer,
        "measures": c.measures, "outcome": outcome(c.outcome), "outcome_detail": c.outcome_detail,
        "extension_requested_to": c.extension_requested_to,
        "extension_request_reason": c.extension_request_reason,
        "attachments": c.attachments.iter().map(|a| json!({
            "name": a.name, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
        })).collect::<Vec<_>>(),
        "assigned_at": c.assigned_at, "updated_at": c.updated_at,
        "role": role(c.role), "due_at": c.due_at,
    })
}

/// An event as JSON (its detail parsed when it is JSON).
pub fn event_json(e: &pb::AppealEvent) -> Value {
    json!({
        "cursor": e.cursor, "id": e.id, "appeal_number": e.appeal_number, "case_id": e.case_id,
        "authority_code": e.authority_code, "kind": e.kind,
        "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::String(e.detail.clone())),
        "actor": e.actor, "at": e.at,
    })
}

/// An appeal as JSON.
pub fn appeal_json(a: &pb::Appeal) -> Value {
    json!({
        "number": a.number, "id": a.id, "status": appeal_status(a.status), "status_reason": a.status_reason,
        "kind": kind(a.kind), "channel": channel(a.channel), "received_at": a.received_at,
        "deadline": a.deadline, "overdue": a.overdue,
        "citizen": a.citizen.as_ref().map(citizen_json),
        "anonymous": a.anonymous, "signatories": a.signatories, "benefit_holder": a.benefit_holder,
        "district_code": a.district_code, "settlement_code": a.settlement_code, "category_code": a.category_code,
        "text": a.text, "urgent": a.urgent, "complained_authority_code": a.complained_authority_code,
        "repeat_of": a.repeat_of, "callback_attempts": a.callback_attempts,
        "outcome": outcome(a.outcome), "satisfaction": a.satisfaction,
        "satisfaction_note": a.satisfaction_note, "disagreement": a.disagreement,
        "continued_in": a.continued_in, "consultation": a.consultation,
        "awaiting_rework": a.awaiting_rework,
        "sign": sign(a.sign), "author_categories": a.author_categories,
        "social_status": a.social_status, "sex": a.sex, "urgency": urgency(a.urgency),
        "priority": a.priority, "due_at": a.due_at, "incident_id": a.incident_id,
        "contact_person": a.contact_person,
        "cases": a.cases.iter().map(case_json).collect::<Vec<_>>(),
        "history": a.history.iter().map(event_json).collect::<Vec<_>>(),
    })
}

/// A case as an authority sees it, as JSON (what the agency client's hooks receive).
pub fn agency_case_json(c: &pb::AgencyCase) -> Value {
    json!({
        "appeal_number": c.appeal_number, "kind": kind(c.kind), "text": c.text,
        "category_code": c.category_code, "district_code": c.district_code, "settlement_code": c.settlement_code,
        "urgent": c.urgent, "citizen": c.citizen.as_ref().map(citizen_json),
        "case": c.case.as_ref().map(case_json),
        "priority": c.priority, "urgency": urgency(c.urgency), "sign": sign(c.sign),
        "author_categories": c.author_categories,
        "parts": c.parts.iter().map(|p| json!({
            "authority_code": p.authority_code, "case_id": p.case_id, "status": case_status(p.status),
            "answer": p.answer, "outcome": outcome(p.outcome), "deadline": p.deadline,
        })).collect::<Vec<_>>(),
    })
}

/// Rows under a header, columns padded to their widest cell, one line each.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// Shortens text to `max` characters for a table cell.
pub fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        format!(
            "{}…",
            one_line
                .chars()
                .take(max.saturating_sub(1))
                .collect::<String>()
        )
    }
}
