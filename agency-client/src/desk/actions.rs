//! The desk's forms for every action of the agency gateway: accept, decline, report progress, ask a
//! question, ask for more time, submit the result with its documents. Each is checked as the hub
//! checks it (required texts, lengths, control characters, dates, the outcome's detail, document
//! count and size, the statuses that allow it) so the clerk hears of a mistake at once rather than
//! as a refusal later, then written to the outbox — the same path as the command line — and the
//! case page shows it queued until the hub confirms it.

use axum::extract::{Form, Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use hotline_proto::v1 as pb;
use serde::Deserialize;

use super::case_page::{self, Draft};
use super::inbox::kyiv_today;
use super::session::SignedIn;
use super::{DeskError, DeskState};
use crate::client::Action;

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

/// A form carrying only the anti-forgery token.
#[derive(Debug, Deserialize)]
pub struct PlainForm {
    csrf: String,
}

/// A form with one text (reason, comment, question) and maybe a date.
#[derive(Debug, Deserialize)]
pub struct TextForm {
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    date: String,
}

/// Checks the status, writes `action` to the outbox on behalf of `clerk` and shows the case with
/// it queued; or shows the case again with the form as filled and what is wrong.
async fn act(
    state: &DeskState,
    clerk: &SignedIn,
    case_id: i64,
    kind: Kind,
    draft: Draft,
    action: impl FnOnce(&pb::AgencyCase) -> Result<Action, (&'static str, String)>,
) -> Result<Response, DeskError> {
    let local = &state.agency.local;
    let case = local.case(case_id).await?.ok_or(DeskError::NotFound)?;
    let status = hotline_proto::render::case_status(case.case.as_ref().map_or(0, |c| c.status));
    let pending: Vec<String> = local
        .case_outbox(case_id)
        .await?
        .into_iter()
        .rev()
        .filter(|o| o.state == "pending")
        .map(|o| o.rpc)
        .collect();
    let pending: Vec<&str> = pending.iter().map(String::as_str).collect();
    let expected = expected_status(&status, &pending);
    let checked = if kind.allowed_from(&expected) {
        action(&case)
    } else {
        Err((
            "action",
            format!(
                "ця дія недоступна для справи у стані «{}»",
                super::view::status_label(&expected)
            ),
        ))
    };
    match checked {
        Ok(action) => {
            let request_id = state.agency.act(case_id, action).await?;
            local
                .record_desk_action(&request_id, &clerk.login, case_id)
                .await?;
            tracing::info!(case = case_id, rpc = kind.rpc(), login = %clerk.login, request = %request_id, "desk action queued");
            Ok(Redirect::to(&format!("/cases/{case_id}?sent={request_id}#outbox")).into_response())
        }
        Err((field, message)) => {
            let mut draft = draft;
            draft.kind = Some(kind);
            draft.field = field;
            draft.error = message;
            let page = case_page::render(state, clerk, case_id, &draft, "").await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /cases/{id}/accept`.
pub async fn accept(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Path(case_id): Path<i64>,
    Form(form): Form<PlainForm>,
) -> Result<Response, DeskError> {
    clerk.check(&form.csrf)?;
    act(
        &state,
        &clerk,
        case_id,
        Kind::Accept,
        Draft::default(),
        |_| Ok(Action::Accept),
    )
    .await
}

fn text_draft(form: &TextForm) -> Draft {
    Draft {
        text: form.text.clone(),
        date: form.date.clone(),
        ..Draft::default()
    }
}

/// `POST /cases/{id}/decline`.
pub async fn decline(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Path(case_id): Path<i64>,
    Form(form): Form<TextForm>,
) -> Result<Response, DeskError> {
    clerk.check(&form.csrf)?;
    act(
        &state,
        &clerk,
        case_id,
        Kind::Decline,
        text_draft(&form),
        |_| {
            let reason = required_text(&form.text, MAX_REASON_CHARS).map_err(|e| ("text", e))?;
            Ok(Action::Decline { reason })
        },
    )
    .await
}

/// `POST /cases/{id}/report`.
pub async fn report(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Path(case_id): Path<i64>,
    Form(form): Form<TextForm>,
) -> Result<Response, DeskError> {
    clerk.check(&form.csrf)?;
    act(
        &state,
        &clerk,
        case_id,
        Kind::Report,
        text_draft(&form),
        |_| {
            let comment = required_text(&form.text, MAX_REASON_CHARS).map_err(|e| ("text", e))?;
            let planned =
                planned_date(&form.date, kyiv_today(Utc::now())).map_err(|e| ("date", e))?;
            Ok(Action::Report { comment, planned })
        },
    )
    .await
}

/// `POST /cases/{id}/ask`.
pub async fn ask(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Path(case_id): Path<i64>,
    Form(form): Form<TextForm>,
) -> Result<Response, DeskError> {
    clerk.check(&form.csrf)?;
    act(
        &state,
        &clerk,
        case_id,
        Kind::Ask,
        text_draft(&form),
        |_| {
            let question = required_text(&form.text, MAX_REASON_CHARS).map_err(|e| ("text", e))?;
            Ok(Action::Ask { question })
        },
    )
    .await
}

/// `POST /cases/{id}/extend`.
pub async fn extend(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Path(case_id): Path<i64>,
    Form(form): Form<TextForm>,
) -> Result<Response, DeskError> {
    clerk.check(&form.csrf)?;
    act(
        &state,
        &clerk,
        case_id,
        Kind::Extend,
        text_draft(&form),
        |case| {
            let current = case.case.as_ref().map_or("", |c| c.deadline.as_str());
            let to = extension_date(&form.date, current).map_err(|e| ("date", e))?;
            let reason = required_text(&form.text, MAX_REASON_CHARS).map_err(|e| ("text", e))?;
            Ok(Action::Extend { to, reason })
        },
    )
    .await
}

/// The result form as read from its multipart body.
#[derive(Debug, Default)]
struct ResultForm {
    csrf: String,
    answer: String,
    measures: String,
    outcome: String,
    outcome_detail: String,
    documents: Vec<(String, String, Vec<u8>)>,
    /// A document refused while reading (too many, too large, unnamed).
    document_error: Option<String>,
}

async fn read_result_form(mut multipart: Multipart) -> Result<ResultForm, DeskError> {
    let bad = |e: axum::extract::multipart::MultipartError| DeskError::BadRequest(e.body_text());
    let mut form = ResultForm::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "documents" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let bytes = field.bytes().await.map_err(bad)?;
            if file_name.is_empty() && bytes.is_empty() {
                continue; // the file input left empty
            }
            let problem = match document_name(&file_name) {
                None => Some(format!(
                    "«{}» не є назвою файлу",
                    super::view::clip(&file_name, 40)
                )),
                Some(_) if bytes.len() > MAX_DOCUMENT_BYTES => Some(format!(
                    "документ «{}» завеликий: {} байтів, можна щонайбільше {MAX_DOCUMENT_BYTES}",
                    super::view::clip(&file_name, 40),
                    bytes.len()
                )),
                Some(_) if form.documents.len() >= MAX_DOCUMENTS => Some(format!(
                    "забагато документів: можна щонайбільше {MAX_DOCUMENTS}"
                )),
                Some(safe) => {
                    form.documents.push((safe, content_type, bytes.to_vec()));
                    None
                }
            };
            form.document_error = form.document_error.or(problem);
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "csrf" => form.csrf = text,
            "answer" => form.answer = text,
            "measures" => form.measures = text,
            "outcome" => form.outcome = text,
            "outcome_detail" => form.outcome_detail = text,
            _ => {}
        }
    }
    Ok(form)
}

/// `POST /cases/{id}/resolve` (multipart: the documents come from the browser).
pub async fn resolve(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Path(case_id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, DeskError> {
    let form = read_result_form(multipart).await?;
    clerk.check(&form.csrf)?;
    let draft = Draft {
        answer: form.answer.clone(),
        measures: form.measures.clone(),
        outcome: form.outcome.clone(),
        outcome_detail: form.outcome_detail.clone(),
        ..Draft::default()
    };
    act(&state, &clerk, case_id, Kind::Resolve, draft, |_| {
        let answer = required_text(&form.answer, MAX_TEXT_CHARS).map_err(|e| ("answer", e))?;
        let measures = bounded_text(&form.measures, MAX_TEXT_CHARS).map_err(|e| ("measures", e))?;
        let (outcome, outcome_detail) = outcome(&form.outcome, &form.outcome_detail)?;
        if let Some(problem) = form.document_error {
            return Err(("documents", problem));
        }
        Ok(Action::Resolve {
            answer,
            measures,
            attachments: form.documents,
            outcome,
            outcome_detail,
        })
    })
    .await
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
