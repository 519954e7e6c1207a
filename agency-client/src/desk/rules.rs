//! The desk's checks of a clerk's action, the same as the hub's: which statuses allow each action
//! (and where a case will stand once the queued ones are applied), required texts and their
//! lengths, control characters, dates, an outcome's detail, documents' names. A mistake is shown on
//! the form at once instead of coming back later as the hub's refusal of a queued action.

use chrono::NaiveDate;
use hotline_proto::v1 as pb;

/// Longest reason, comment or question (the hub's `MAX_REASON_CHARS`).
pub const MAX_REASON_CHARS: usize = 2_000;
/// Longest answer or measures (the hub's default `max_text_chars`).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest refusal reason or forwarding body (the hub's `MAX_DETAIL_CHARS`).
pub const MAX_DETAIL_CHARS: usize = 500;
/// Most documents on one result (the hub's default).
pub const MAX_DOCUMENTS: usize = 10;
/// Largest document (the hub's default).
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// What a clerk can do to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Accept.
    Accept,
    /// Decline.
    Decline,
    /// Report progress.
    Report,
    /// Ask a question.
    Ask,
    /// Ask for more time.
    Extend,
    /// Submit the result.
    Resolve,
}

impl Kind {
    /// Every action, in the order of the case page.
    pub const ALL: [Kind; 6] = [
        Self::Accept,
        Self::Decline,
        Self::Report,
        Self::Ask,
        Self::Extend,
        Self::Resolve,
    ];

    /// Its name in the page's addresses and forms (`/cases/7/accept`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline => "decline",
            Self::Report => "report",
            Self::Ask => "ask",
            Self::Extend => "extend",
            Self::Resolve => "resolve",
        }
    }

    /// The gateway call that carries it (the outbox's `rpc`).
    pub fn rpc(self) -> &'static str {
        match self {
            Self::Accept => "AcceptCase",
            Self::Decline => "DeclineCase",
            Self::Report => "ReportStatus",
            Self::Ask => "RequestClarification",
            Self::Extend => "RequestExtension",
            Self::Resolve => "SubmitResult",
        }
    }

    /// The action named by a gateway call.
    pub fn from_rpc(rpc: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.rpc() == rpc)
    }

    /// True when the hub allows it on a case in `status` (the hub's `CaseAction::allowed_from`).
    pub fn allowed_from(self, status: &str) -> bool {
        match self {
            Self::Accept => matches!(status, "assigned" | "delivered"),
            Self::Decline => matches!(status, "assigned" | "delivered" | "accepted"),
            Self::Report | Self::Ask | Self::Resolve => {
                matches!(status, "accepted" | "in_progress" | "returned")
            }
            Self::Extend => matches!(
                status,
                "accepted" | "in_progress" | "returned" | "clarification_requested"
            ),
        }
    }

    /// Where the case stands once the hub applies it.
    fn leads_to(self, status: &str) -> String {
        match self {
            Self::Accept => "accepted",
            Self::Decline => "declined",
            Self::Report => "in_progress",
            Self::Ask => "clarification_requested",
            Self::Resolve => "resolved",
            Self::Extend => status,
        }
        .to_string()
    }
}

/// Where a case will stand once the hub has applied the actions still in the outbox (in order):
/// what the desk offers next while the hub is unreachable.
pub fn expected_status(status: &str, pending_rpcs: &[&str]) -> String {
    pending_rpcs
        .iter()
        .filter_map(|rpc| Kind::from_rpc(rpc))
        .fold(status.to_string(), |s, kind| kind.leads_to(&s))
}

/// A required text: trimmed, not empty, at most `max` characters, no control characters but tabs
/// and line breaks (the hub's `required_text`).
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("поле обов'язкове".into());
    }
    bounded_text(value, max)
}

/// An optional text (the hub's `bounded_text`).
pub fn bounded_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars > max {
        return Err(format!(
            "задовге: {chars} символів, можна щонайбільше {max}"
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!("містить керівний символ U+{:04X}", u32::from(c)));
    }
    Ok(value.to_string())
}

/// A date in `YYYY-MM-DD` (what `<input type="date">` sends).
pub fn date(value: &str) -> Result<Option<NaiveDate>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "дата має бути у форматі РРРР-ММ-ДД".into())
}

/// A planned completion date: optional, not in the past.
pub fn planned_date(value: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    match date(value)? {
        Some(d) if d < today => Err(format!("{d} уже минула (сьогодні {today})")),
        other => Ok(other),
    }
}

/// The deadline asked for: required, later than the current one.
pub fn extension_date(value: &str, current: &str) -> Result<NaiveDate, String> {
    let to = date(value)?.ok_or("вкажіть бажаний строк")?;
    if let Ok(current) = NaiveDate::parse_from_str(current, "%Y-%m-%d")
        && to <= current
    {
        return Err(format!("{to} не пізніше за чинний строк {current}"));
    }
    Ok(to)
}

/// The outcome named by the form, with its detail checked (the hub's `CaseOutcome::checked`).
pub fn outcome(code: &str, detail: &str) -> Result<(pb::Outcome, String), (&'static str, String)> {
    let outcome = match code {
        "resolved" => pb::Outcome::Resolved,
        "explained" => pb::Outcome::Explained,
        "refused" => pb::Outcome::Refused,
        "forwarded" => pb::Outcome::Forwarded,
        "not_competent" => pb::Outcome::NotCompetent,
        _ => return Err(("outcome", "оберіть результат розгляду".into())),
    };
    let needs = match outcome {
        pb::Outcome::Refused => "відмова має зазначати правову підставу (ст. 15 Закону)",
        pb::Outcome::Forwarded => "зазначте орган, до якого переслано звернення (ст. 7 Закону)",
        _ => return Ok((outcome, String::new())),
    };
    let detail = detail.trim();
    if detail.is_empty() || detail.chars().any(char::is_control) {
        return Err(("outcome_detail", needs.into()));
    }
    if detail.chars().count() > MAX_DETAIL_CHARS {
        return Err((
            "outcome_detail",
            format!("задовге: можна щонайбільше {MAX_DETAIL_CHARS} символів"),
        ));
    }
    Ok((outcome, detail.to_string()))
}

/// A document's name as the hub keeps it: the base name, without control or forbidden characters
/// or leading dots (the hub's `safe_name`).
pub fn document_name(raw: &str) -> Option<String> {
    let base = raw
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !"<>:\"|?*".contains(*c))
        .collect::<String>();
    let base = base.trim().trim_start_matches('.').trim();
    let base: String = base.chars().take(255).collect();
    (!base.is_empty()).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_checked_as_the_hub_checks_them() {
        assert_eq!(
            required_text("  Бригаду направлено  ", 100).unwrap(),
            "Бригаду направлено"
        );
        assert!(required_text("   ", 100).is_err());
        assert!(required_text(&"я".repeat(MAX_REASON_CHARS + 1), MAX_REASON_CHARS).is_err());
        assert!(required_text(&"я".repeat(MAX_REASON_CHARS), MAX_REASON_CHARS).is_ok());
        assert!(required_text("рядок\u{7}дзвінок", 100).is_err());
        assert!(required_text("рядок\nдругий\tз табуляцією", 100).is_ok());
        assert_eq!(bounded_text("", 10).unwrap(), "");
    }

    #[test]
    fn dates_planned_in_the_past_or_not_later_are_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        assert_eq!(planned_date("", today).unwrap(), None);
        assert!(planned_date("2026-03-09", today).is_err());
        assert!(planned_date("2026-03-10", today).unwrap().is_some());
        assert!(planned_date("10.03.2026", today).is_err());
        assert!(extension_date("", "2026-03-20").is_err());
        assert!(extension_date("2026-03-20", "2026-03-20").is_err());
        assert!(extension_date("2026-03-25", "2026-03-20").is_ok());
    }

    #[test]
    fn a_refusal_names_its_reason_and_a_forwarding_its_body() {
        assert_eq!(
            outcome("resolved", "ignored").unwrap(),
            (pb::Outcome::Resolved, String::new())
        );
        assert_eq!(outcome("refused", " ").unwrap_err().0, "outcome_detail");
        assert_eq!(outcome("forwarded", "").unwrap_err().0, "outcome_detail");
        assert_eq!(
            outcome("forwarded", "а\nб").unwrap_err().0,
            "outcome_detail"
        );
        assert!(outcome("refused", "ст. 8 Закону: повторне").is_ok());
        assert_eq!(outcome("", "").unwrap_err().0, "outcome");
        assert_eq!(outcome("consultation", "").unwrap_err().0, "outcome");
    }

    #[test]
    fn each_action_is_offered_only_where_the_hub_allows_it() {
        assert!(Kind::Accept.allowed_from("delivered"));
        assert!(!Kind::Accept.allowed_from("accepted"));
        assert!(Kind::Decline.allowed_from("accepted"));
        assert!(!Kind::Resolve.allowed_from("delivered"));
        assert!(Kind::Resolve.allowed_from("returned"));
        assert!(Kind::Extend.allowed_from("clarification_requested"));
        assert!(!Kind::Ask.allowed_from("clarification_requested"));
        assert!(!Kind::Report.allowed_from("closed"));
    }

    #[test]
    fn queued_actions_move_the_expected_status() {
        assert_eq!(expected_status("delivered", &[]), "delivered");
        assert_eq!(expected_status("delivered", &["AcceptCase"]), "accepted");
        assert_eq!(
            expected_status(
                "delivered",
                &["AcceptCase", "ReportStatus", "RequestExtension"]
            ),
            "in_progress"
        );
        assert_eq!(
            expected_status("in_progress", &["SubmitResult"]),
            "resolved"
        );
    }

    #[test]
    fn document_names_are_made_safe() {
        assert_eq!(
            document_name("C:\\Users\\olena\\акт.pdf").unwrap(),
            "акт.pdf"
        );
        assert_eq!(document_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(document_name(".hidden").unwrap(), "hidden");
        assert_eq!(document_name("a<b>.txt").unwrap(), "ab.txt");
        assert!(document_name("...").is_none());
        assert!(document_name("").is_none());
    }
}
