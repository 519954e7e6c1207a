//! Incidents (many appeals about one event, answered once): the list, one incident with its
//! appeals, opening one around an appeal, attaching a new appeal of the same category and district
//! from its page, and closing one. Who may do what is the API's matrix for `hotline.v1.Incidents`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ConsoleState, Frame, Signed, app_error, kyiv_time, page, words};
use crate::api::auth::allowed;
use crate::app::{IncidentFilter, Store};
use crate::domain::{Incident, IncidentStatus};

const INCIDENTS: &str = "hotline.v1.Incidents";

/// An incident's line.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Status code.
    pub status: String,
    /// Category and district.
    pub place: String,
    /// The appeal it was opened around.
    pub primary: String,
    /// Opened (Kyiv).
    pub opened: String,
}

/// The row of `i`.
pub fn row(i: &Incident) -> IncidentRow {
    IncidentRow {
        id: i.id,
        title: i.title.clone(),
        status: match i.status {
            IncidentStatus::Open => "відкрито",
            IncidentStatus::Answered => "є відповідь",
            IncidentStatus::Closed => "закрито",
        }
        .into(),
        place: format!("{} · {}", i.category_code, i.district_code),
        primary: i.primary_number.clone(),
        opened: kyiv_time(i.opened_at),
    }
}

/// The list.
#[derive(Debug, Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    frame: Frame,
    rows: Vec<IncidentRow>,
}

/// `GET /incidents`
pub async fn list<S: Store>(State(state): State<ConsoleState<S>>, signed: Signed) -> Response {
    if let Err(refused) = signed.may(INCIDENTS, "ListIncidents") {
        return refused;
    }
    let mut frame = signed.frame("Інциденти", "/incidents");
    frame.live = true;
    let filter = IncidentFilter {
        limit: 200,
        ..IncidentFilter::default()
    };
    match state.hotline.incidents(filter).await {
        Ok(list) => page(
            StatusCode::OK,
            &IncidentsPage {
                frame,
                rows: list.iter().map(row).collect(),
            },
        ),
        Err(err) => app_error(frame, err),
    }
}

/// One incident.
#[derive(Debug, Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    frame: Frame,
    incident: IncidentRow,
    description: String,
    /// (number, status in words)
    appeals: Vec<(String, String)>,
    can_close: bool,
}

/// `GET /incidents/{id}`
pub async fn show<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Response {
    if let Err(refused) = signed.may(INCIDENTS, "GetIncident") {
        return refused;
    }
    let mut frame = signed.frame(&format!("Інцидент {id}"), "/incidents");
    frame.live = true;
    match state.hotline.incident(id).await {
        Ok(view) => page(
            StatusCode::OK,
            &IncidentPage {
                frame,
                can_close: allowed(&signed.principal, INCIDENTS, "CloseIncident")
                    && view.incident.status != IncidentStatus::Closed,
                incident: row(&view.incident),
                description: view.incident.description.clone(),
                appeals: view
                    .appeals
                    .iter()
                    .map(|s| {
                        (
                            s.appeal.number.clone(),
                            words::appeal_status(s.appeal.status).to_string(),
                        )
                    })
                    .collect(),
            },
        ),
        Err(err) => app_error(frame, err),
    }
}

/// The incident forms.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IncidentForm {
    csrf: String,
    title: String,
    description: String,
    number: String,
    reason: String,
}

/// `POST /appeals/{number}/incident`: opens an incident around this appeal.
pub async fn open<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(number): Path<String>,
    axum::Form(form): axum::Form<IncidentForm>,
) -> Response {
    let caller = match signed.may(INCIDENTS, "OpenIncident") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    match state
        .hotline
        .open_incident(&number, &form.title, &form.description, &caller)
        .await
    {
        Ok(view) => Redirect::to(&format!("/incidents/{}", view.incident.id)).into_response(),
        Err(err) => app_error(signed.frame("Інцидент", "/incidents"), err),
    }
}

/// `POST /incidents/{id}/attach`: attaches the appeal `number`.
pub async fn attach<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<IncidentForm>,
) -> Response {
    let caller = match signed.may(INCIDENTS, "AttachToIncident") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let numbers = vec![form.number.trim().to_string()];
    match state
        .hotline
        .attach_to_incident(id, &numbers, &caller)
        .await
    {
        Ok(_) => Redirect::to(&format!("/incidents/{id}")).into_response(),
        Err(err) => app_error(signed.frame("Інцидент", "/incidents"), err),
    }
}

/// `POST /incidents/{id}/close`
pub async fn close<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<IncidentForm>,
) -> Response {
    let caller = match signed.may(INCIDENTS, "CloseIncident") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    match state
        .hotline
        .close_incident(id, &form.reason, &caller)
        .await
    {
        Ok(_) => Redirect::to(&format!("/incidents/{id}")).into_response(),
        Err(err) => app_error(signed.frame("Інцидент", "/incidents"), err),
    }
}
