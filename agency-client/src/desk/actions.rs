//! The desk's forms for every action of the agency gateway: accept, decline, report progress, ask a
//! question, ask for more time, submit the result with its documents. Each is checked as the hub
//! checks it (required texts, lengths, control characters, dates, the outcome's detail, document
//! count and size, the statuses that allow it) so the clerk hears of a mistake at once rather than
//! as a refusal later, then written to the outbox — the same path as the command line — and the
//! case page shows it queued until the hub confirms it.

use axum::extract::{Form, Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use hotline_proto::v1 as pb;
use serde::Deserialize;

use super::case_page::{self, Draft};
use super::inbox::kyiv_today;
use super::rules::{
    Kind, MAX_DOCUMENT_BYTES, MAX_DOCUMENTS, MAX_REASON_CHARS, MAX_TEXT_CHARS, bounded_text,
    document_name, expected_status, extension_date, outcome, planned_date, required_text,
};
use super::session::SignedIn;
use super::{DeskError, DeskState};
use crate::client::Action;
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
