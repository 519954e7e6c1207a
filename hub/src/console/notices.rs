//! Notices to citizens that operators call or post (and e-mails the relay refused): the queue,
//! each read of it audited by the use case, and marking one done.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ConsoleState, Frame, Signed, app_error, kyiv_time, page};
use crate::app::Store;

const REGISTRY: &str = "hotline.v1.AppealRegistry";

/// One notice to call or post.
#[derive(Debug, Clone)]
pub struct NoticeRow {
    /// Its id (to mark it done).
    pub id: i64,
    /// Where to: the phone or postal address (personal data; the read is audited).
    pub address: String,
    /// What to say.
    pub text: String,
    /// Its appeal.
    pub number: String,
    /// What it tells.
    pub kind: String,
    /// How.
    pub channel: String,
    /// When it was made.
    pub created: String,
}

/// The notices queue.
#[derive(Debug, Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    frame: Frame,
    rows: Vec<NoticeRow>,
}

/// `GET /operator/notices`: the queue of notices to call or post (the read of each appeal's
/// notices is audited by the use case).
pub async fn notices<S: Store>(State(state): State<ConsoleState<S>>, signed: Signed) -> Response {
    let caller = match signed.may(REGISTRY, "ListNotices") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let mut frame = signed.frame("Повідомлення громадянам", "/operator/notices");
    frame.live = true;
    match state.hotline.notice_queue(200, &caller).await {
        Ok(list) => page(
            StatusCode::OK,
            &NoticesPage {
                frame,
                rows: list
                    .iter()
                    .map(|n| NoticeRow {
                        id: n.id,
                        address: n.address.clone(),
                        text: n.text.clone(),
                        number: n.appeal_number.clone(),
                        kind: n.kind.code().to_string(),
                        channel: n.channel.code().to_string(),
                        created: kyiv_time(n.created_at),
                    })
                    .collect(),
            },
        ),
        Err(err) => app_error(frame, err),
    }
}

/// The "done" button of a notice.
#[derive(Debug, Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /notices/{id}/done`
pub async fn done<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<DoneForm>,
) -> Response {
    let caller = match signed.may(REGISTRY, "MarkNoticeDone") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    match state.hotline.mark_notice_done(id, &caller).await {
        Ok(_) => Redirect::to("/operator/notices").into_response(),
        Err(err) => app_error(
            signed.frame("Повідомлення громадянам", "/operator/notices"),
            err,
        ),
    }
}
