//! What an analyst does from an appeal's page to one of its cases — re-route a case the authority
//! declined (art. 7: within 5 days), answer an authority's question, grant an authority's request
//! for more time (art. 20: to at most 45 days) or refuse it — or to the appeal itself: end it
//! without a confirmed answer (not considered, art. 8; or unconfirmed). Each is one form, one use
//! case, the same method of the matrix as the API's.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::words::request_id;
use super::{ConsoleState, Signed, app_error};
use crate::app::Store;
use crate::app::appeals::AppealView;
use crate::app::{AppResult, RequestId};
use crate::domain::{Caller, CloseOutcome, DomainError};

/// The forms of a case's actions (each uses the fields it needs).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CaseForm {
    csrf: String,
    request_id: String,
    authority: String,
    reason: String,
    answer: String,
    deadline: String,
    outcome: String,
}

impl CaseForm {
    fn deadline(&self) -> Result<NaiveDate, DomainError> {
        NaiveDate::parse_from_str(self.deadline.trim(), "%Y-%m-%d")
            .map_err(|_| DomainError::invalid("deadline", "дата у вигляді РРРР-ММ-ДД"))
    }
}

/// Checks the caller and the form, runs `act`, and shows the appeal again.
async fn act<F, Fut>(signed: Signed, method: &str, case_id: i64, form: CaseForm, act: F) -> Response
where
    F: FnOnce(Caller, RequestId, CaseForm) -> Fut,
    Fut: Future<Output = AppResult<AppealView>>,
{
    let caller = match signed.may("hotline.v1.AppealRegistry", method) {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let id = request_id(
        &form.request_id,
        &(
            case_id,
            method,
            &form.authority,
            &form.reason,
            &form.answer,
            &form.deadline,
        ),
    );
    match act(caller, id, form).await {
        Ok(view) => Redirect::to(&format!("/appeals/{}", view.state.appeal.number)).into_response(),
        Err(err) => app_error(signed.frame(&format!("Виконання {case_id}"), ""), err),
    }
}

/// `POST /cases/{id}/reassign`
pub async fn reassign<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(case_id): Path<i64>,
    axum::Form(form): axum::Form<CaseForm>,
) -> Response {
    act(
        signed,
        "ReassignCase",
        case_id,
        form,
        |caller, id, f| async move {
            state
                .hotline
                .reassign(case_id, &f.authority, &f.reason, None, &caller, &id)
                .await
        },
    )
    .await
}

/// `POST /cases/{id}/answer`
pub async fn answer<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(case_id): Path<i64>,
    axum::Form(form): axum::Form<CaseForm>,
) -> Response {
    act(
        signed,
        "AnswerClarification",
        case_id,
        form,
        |caller, id, f| async move {
            state
                .hotline
                .answer_clarification(case_id, &f.answer, &caller, &id)
                .await
        },
    )
    .await
}

/// `POST /cases/{id}/extend`
pub async fn extend<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(case_id): Path<i64>,
    axum::Form(form): axum::Form<CaseForm>,
) -> Response {
    act(
        signed,
        "ExtendDeadline",
        case_id,
        form,
        |caller, id, f| async move {
            let deadline = f.deadline()?;
            state
                .hotline
                .extend_deadline(case_id, deadline, &f.reason, &caller, &id)
                .await
        },
    )
    .await
}

/// `POST /cases/{id}/refuse-extension`
pub async fn refuse_extension<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(case_id): Path<i64>,
    axum::Form(form): axum::Form<CaseForm>,
) -> Response {
    act(
        signed,
        "RefuseExtension",
        case_id,
        form,
        |caller, id, f| async move {
            state
                .hotline
                .refuse_extension(case_id, &f.reason, &caller, &id)
                .await
        },
    )
    .await
}

/// `POST /appeals/{number}/close`: ends the appeal without a confirmed answer.
pub async fn close<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(number): Path<String>,
    axum::Form(form): axum::Form<CaseForm>,
) -> Response {
    let caller = match signed.may("hotline.v1.AppealRegistry", "CloseAppeal") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let frame = signed.frame(&format!("Звернення {number}"), "");
    let Some(outcome) = CloseOutcome::from_code(&form.outcome) else {
        return app_error(frame, DomainError::invalid("outcome", "як закрити?").into());
    };
    let id = request_id(&form.request_id, &(&number, &form.outcome, &form.reason));
    match state
        .hotline
        .close(&number, outcome, &form.reason, &caller, &id)
        .await
    {
        Ok(view) => Redirect::to(&format!("/appeals/{}", view.state.appeal.number)).into_response(),
        Err(err) => app_error(frame, err),
    }
}
