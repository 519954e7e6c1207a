//! The call-back: the operators' queue of citizens to call (priority first, with attempts and
//! the last attempt, so that they are spaced), and the call-back itself recorded from the appeal's
//! page (outcome buttons, the satisfaction score, a note).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::words::{self, request_id};
use super::{ConsoleState, Frame, Signed, app_error, kyiv_time, page};
use crate::app::Store;
use crate::domain::deadline::kyiv_date;
use crate::domain::{CallbackOutcome, DomainError, Queue};

const REGISTRY: &str = "hotline.v1.AppealRegistry";

/// One appeal of a queue, as a row.
#[derive(Debug, Clone)]
pub struct QueueRow {
    /// Its number.
    pub number: String,
    /// Its status in words.
    pub status: String,
    /// Its category code.
    pub category: String,
    /// When it was received (Kyiv).
    pub received: String,
    /// Its deadline.
    pub deadline: String,
    /// Past the deadline.
    pub overdue: bool,
    /// Handled first (a priority author).
    pub priority: bool,
    /// Call-back attempts so far.
    pub attempts: i32,
    /// The last attempt (Kyiv), or empty.
    pub last_attempt: String,
}

/// Rows of a queue page.
pub fn queue_rows(page: &crate::app::appeals::SearchPage) -> Vec<QueueRow> {
    let today = kyiv_date(page.now);
    page.appeals
        .iter()
        .map(|s| {
            let a = &s.appeal;
            QueueRow {
                number: a.number.clone(),
                status: words::appeal_status(a.status).to_string(),
                category: a.card.category_code.clone(),
                received: kyiv_time(a.received_at),
                deadline: a.deadline.to_string(),
                overdue: a.deadline < today && !a.status.is_final(),
                priority: a.card.profile.priority,
                attempts: a.callback_attempts,
                last_attempt: a.last_callback_at.map(kyiv_time).unwrap_or_default(),
            }
        })
        .collect()
}

/// The call-back queue.
#[derive(Debug, Template)]
#[template(path = "callbacks.html")]
struct CallbacksPage {
    frame: Frame,
    rows: Vec<QueueRow>,
    max_attempts: i32,
}

/// `GET /operator/callbacks`
pub async fn callbacks<S: Store>(State(state): State<ConsoleState<S>>, signed: Signed) -> Response {
    if let Err(refused) = signed.may(REGISTRY, "ListQueue") {
        return refused;
    }
    let mut frame = signed.frame("Зворотний зв'язок", "/operator/callbacks");
    frame.live = true;
    match state.hotline.queue(Queue::Callback, 200).await {
        Ok(list) => page(
            StatusCode::OK,
            &CallbacksPage {
                frame,
                rows: queue_rows(&list),
                max_attempts: state.hotline.limits().max_callback_attempts,
            },
        ),
        Err(err) => app_error(frame, err),
    }
}

/// The call-back form on an appeal's page.
#[derive(Debug, Deserialize)]
pub struct CallbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    note: String,
}

/// `POST /appeals/{number}/callback`
pub async fn callback<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(number): Path<String>,
    axum::Form(form): axum::Form<CallbackForm>,
) -> Response {
    let caller = match signed.may(REGISTRY, "RecordCallback") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let frame = signed.frame("Зворотний зв'язок", "/operator/callbacks");
    let Some(outcome) = CallbackOutcome::from_code(&form.outcome) else {
        return app_error(
            frame,
            DomainError::invalid("outcome", "оберіть результат дзвінка").into(),
        );
    };
    let satisfaction = match form.satisfaction.trim() {
        "" => None,
        score => match score.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return app_error(
                    frame,
                    DomainError::invalid("satisfaction", "оцінка від 1 до 5").into(),
                );
            }
        },
    };
    let id = request_id(
        &form.request_id,
        &(&number, &form.outcome, &form.satisfaction, &form.note),
    );
    match state
        .hotline
        .record_callback(&number, outcome, &form.note, satisfaction, &caller, &id)
        .await
    {
        Ok(view) => Redirect::to(&format!("/appeals/{}", view.state.appeal.number)).into_response(),
        Err(err) => app_error(frame, err),
    }
}
