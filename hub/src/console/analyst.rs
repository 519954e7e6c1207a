//! The analyst's pages: the queues (new appeals, priority first; answers waiting for the check;
//! declined cases with the 5-day clock; records from the national centre waiting to be
//! classified), an appeal's page with the answers beside it (also the
//! operator's page for a call-back: the read is audited either way), assignment with suggested
//! authorities, and the check of an answer.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::callbacks::{QueueRow, queue_rows};
use super::words::{self, request_id};
use super::{ConsoleState, Frame, Signed, app_error, kyiv_time, page};
use crate::api::auth::allowed;
use crate::app::{AppError, Store};
use crate::domain::deadline::kyiv_date;
use crate::domain::{AppealStatus, CaseStatus, DomainError, EventKind, Queue, Verdict};

const REGISTRY: &str = "hotline.v1.AppealRegistry";
const INCIDENTS: &str = "hotline.v1.Incidents";

/// A case as its appeal's page shows it.
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Its id (for the forms).
    pub id: i64,
    /// Authority name (code).
    pub authority: String,
    /// Status in words.
    pub status: String,
    /// Deadline.
    pub deadline: String,
    /// The authority's answer.
    pub answer: String,
    /// Measures taken.
    pub measures: String,
    /// The outcome in words, or empty.
    pub outcome: String,
    /// Why it was declined, returned, or what was asked.
    pub reason: String,
    /// The answer waits for the analyst's check.
    pub to_verify: bool,
    /// Declined by the authority: to be re-routed.
    pub declined: bool,
    /// The authority asked a question: what it asked (empty otherwise).
    pub question: String,
    /// The date the authority asked to extend to, or empty.
    pub extension_to: String,
    /// Why it asked.
    pub extension_reason: String,
}

/// The last question the authority of case `case_id` asked (kept in its event's detail).
fn question_of(history: &[crate::domain::StoredEvent], case_id: i64) -> String {
    history
        .iter()
        .rev()
        .filter(|e| {
            e.case_id == Some(case_id) && e.kind == EventKind::ClarificationRequested.code()
        })
        .find_map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.detail)
                .ok()?
                .get("question")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "(питання в історії звернення)".into())
}

/// An authority offered in the assignment form.
#[derive(Debug, Clone)]
pub struct AuthorityChoice {
    /// Code.
    pub code: String,
    /// Name, and for a suggestion how often it took such appeals.
    pub label: String,
}

/// An appeal's page.
#[derive(Debug, Template)]
#[template(path = "appeal.html")]
struct AppealPage {
    frame: Frame,
    number: String,
    registered_now: bool,
    status: String,
    kind: String,
    received: String,
    deadline: String,
    category: String,
    place: String,
    text: String,
    citizen_name: String,
    citizen_phone: String,
    citizen_address: String,
    priority: bool,
    attempts: i32,
    outcome: String,
    cases: Vec<CaseRow>,
    can_assign: bool,
    suggested: Vec<AuthorityChoice>,
    authorities: Vec<AuthorityChoice>,
    can_verify: bool,
    can_route: bool,
    can_callback: bool,
    can_open_incident: bool,
    can_close: bool,
    /// Open incidents of the same category and district this appeal may join.
    incidents: Vec<super::incidents::IncidentRow>,
    /// The incident it belongs to, if any.
    incident_id: String,
    request_id: String,
}

/// `?registered=1` after the registration form.
#[derive(Debug, Deserialize)]
pub struct AppealQuery {
    #[serde(default)]
    registered: Option<String>,
}

/// `GET /appeals/{number}`: the whole appeal, its read audited by the use case.
pub async fn appeal<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(number): Path<String>,
    Query(query): Query<AppealQuery>,
) -> Response {
    let caller = match signed.may(REGISTRY, "GetAppeal") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let mut frame = signed.frame(&format!("Звернення {number}"), "");
    frame.live = true;
    let hotline = &state.hotline;
    let view = match hotline.get(&number, &caller).await {
        Ok(view) => view,
        Err(err) => return app_error(frame, err),
    };
    let a = &view.state.appeal;
    let may = |method: &str| allowed(&signed.principal, REGISTRY, method);
    let can_assign = may("AssignAppeal") && a.status == AppealStatus::Registered;
    let declined = view
        .state
        .cases
        .iter()
        .any(|c| c.status == CaseStatus::Declined);
    let loaded = async {
        let categories = hotline.categories().await?;
        let places = hotline.districts().await?;
        let (suggested, authorities) = if can_assign || (declined && may("ReassignCase")) {
            let suggested = hotline
                .suggested_authorities(&a.card.category_code, &a.card.district_code, 5)
                .await?;
            (suggested, hotline.authorities(false).await?)
        } else {
            (Vec::new(), Vec::new())
        };
        let incidents = if a.incident_id.is_none()
            && a.status == AppealStatus::Registered
            && allowed(&signed.principal, INCIDENTS, "AttachToIncident")
        {
            hotline
                .incidents(crate::app::IncidentFilter {
                    status: Some(crate::domain::IncidentStatus::Open),
                    category_code: Some(a.card.category_code.clone()),
                    district_code: Some(a.card.district_code.clone()),
                    limit: 20,
                })
                .await?
        } else {
            Vec::new()
        };
        Ok::<_, AppError>((categories, places, suggested, authorities, incidents))
    }
    .await;
    let (categories, places, suggested, authorities, incidents) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_error(frame, err),
    };
    let name_of = |code: &str| {
        view.names
            .get(code)
            .map_or_else(|| code.to_string(), |n| format!("{n} ({code})"))
    };
    let place_name = |code: &str| {
        places
            .iter()
            .find(|p| p.code == code)
            .map_or_else(|| code.to_string(), |p| p.name.clone())
    };
    let today = kyiv_date(view.now);
    let cases: Vec<CaseRow> = view
        .state
        .cases
        .iter()
        .map(|c| CaseRow {
            id: c.id,
            authority: name_of(&c.authority_code),
            status: words::case_status(c.status).to_string(),
            deadline: if c.deadline < today && !c.status.is_final() {
                format!("{} (прострочено)", c.deadline)
            } else {
                c.deadline.to_string()
            },
            answer: c.answer.clone(),
            measures: c.measures.clone(),
            outcome: c
                .outcome
                .map(words::outcome)
                .unwrap_or_default()
                .to_string(),
            reason: c.reason.clone(),
            to_verify: c.status == CaseStatus::Resolved,
            declined: c.status == CaseStatus::Declined,
            question: if c.status == CaseStatus::ClarificationRequested {
                question_of(&view.history, c.id)
            } else {
                String::new()
            },
            extension_to: c
                .extension_requested_to
                .map(|d| d.to_string())
                .unwrap_or_default(),
            extension_reason: c.extension_request_reason.clone(),
        })
        .collect();
    let page_data = AppealPage {
        number: a.number.clone(),
        registered_now: query.registered.is_some(),
        status: words::appeal_status(a.status).to_string(),
        kind: words::kind(a.card.kind).to_string(),
        received: kyiv_time(a.received_at),
        deadline: a.deadline.to_string(),
        category: categories
            .iter()
            .find(|c| c.code == a.card.category_code)
            .map_or_else(
                || a.card.category_code.clone(),
                |c| format!("{} {}", c.code, c.name),
            ),
        place: [
            place_name(&a.card.district_code),
            place_name(&a.card.settlement_code),
        ]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", "),
        text: a.card.text.clone(),
        citizen_name: a.card.citizen.name.clone(),
        citizen_phone: a.card.citizen.phone.clone(),
        citizen_address: a.card.citizen.address.clone(),
        priority: a.card.profile.priority,
        attempts: a.callback_attempts,
        outcome: a
            .outcome
            .map(words::outcome)
            .unwrap_or_default()
            .to_string(),
        can_verify: may("VerifyAnswer") && cases.iter().any(|c| c.to_verify),
        can_route: may("ReassignCase"),
        can_close: may("CloseAppeal") && !a.status.is_final(),
        can_open_incident: a.incident_id.is_none()
            && matches!(a.status, AppealStatus::Assigned | AppealStatus::InProgress)
            && allowed(&signed.principal, INCIDENTS, "OpenIncident"),
        incidents: incidents.iter().map(super::incidents::row).collect(),
        incident_id: a.incident_id.map(|i| i.to_string()).unwrap_or_default(),
        can_callback: may("RecordCallback") && a.status == AppealStatus::AwaitingConfirmation,
        cases,
        can_assign,
        suggested: suggested
            .into_iter()
            .map(|(code, n)| AuthorityChoice {
                label: format!("{} — {n} подібних", name_of(&code)),
                code,
            })
            .collect(),
        authorities: authorities
            .into_iter()
            .map(|a| AuthorityChoice {
                label: format!("{} ({})", a.name, a.code),
                code: a.code,
            })
            .collect(),
        request_id: uuid::Uuid::new_v4().to_string(),
        frame,
    };
    page(StatusCode::OK, &page_data)
}

/// The assignment form.
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    co_authority: String,
}

/// `POST /appeals/{number}/assign`
pub async fn assign<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(number): Path<String>,
    axum::Form(form): axum::Form<AssignForm>,
) -> Response {
    let caller = match signed.may(REGISTRY, "AssignAppeal") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let assignments: Vec<(String, Option<chrono::NaiveDate>)> =
        [form.authority.trim(), form.co_authority.trim()]
            .into_iter()
            .filter(|c| !c.is_empty())
            .map(|c| (c.to_string(), None))
            .collect();
    let frame = signed.frame(&format!("Звернення {number}"), "");
    if assignments.is_empty() {
        return app_error(
            frame,
            DomainError::invalid("authority", "оберіть орган-виконавець").into(),
        );
    }
    let id = request_id(&form.request_id, &(&number, &assignments));
    match state
        .hotline
        .assign(&number, &assignments, "", &caller, &id)
        .await
    {
        Ok(view) => Redirect::to(&format!("/appeals/{}", view.state.appeal.number)).into_response(),
        Err(err) => app_error(frame, err),
    }
}

/// The check of an answer.
#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
}

/// `POST /cases/{id}/verify`
pub async fn verify<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(case_id): Path<i64>,
    axum::Form(form): axum::Form<VerifyForm>,
) -> Response {
    let caller = match signed.may(REGISTRY, "VerifyAnswer") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let frame = signed.frame("Перевірка відповіді", "/analyst/triage");
    let verdict = match form.verdict.as_str() {
        "accept" => Verdict::Accept,
        "return" => Verdict::Return,
        _ => {
            return app_error(
                frame,
                DomainError::invalid("verdict", "прийняти чи повернути?").into(),
            );
        }
    };
    let id = request_id(&form.request_id, &(case_id, &form.verdict, &form.reason));
    match state
        .hotline
        .verify(case_id, verdict, &form.reason, &caller, &id)
        .await
    {
        Ok(view) => Redirect::to(&format!("/appeals/{}", view.state.appeal.number)).into_response(),
        Err(err) => {
            tracing::info!(number = %form.number, "console: verification refused");
            app_error(frame, err)
        }
    }
}

/// A declined case waiting to be re-routed.
#[derive(Debug, Clone)]
pub struct DeclinedRow {
    /// Its appeal.
    pub number: String,
    /// The authority that declined.
    pub authority: String,
    /// Why.
    pub reason: String,
    /// The last day to re-route (art. 7: 5 days).
    pub reroute_by: String,
    /// Past it.
    pub late: bool,
}

/// A record from the national centre held until an analyst classifies it.
#[derive(Debug, Clone)]
pub struct HeldRow {
    /// Its id (for `hub exchange classify`).
    pub id: i64,
    /// The partner.
    pub partner: String,
    /// The partner's id of it.
    pub external_id: String,
    /// What could not be mapped to our codes.
    pub missing: String,
    /// When it arrived (Kyiv).
    pub received: String,
}

/// The analyst's queues.
#[derive(Debug, Template)]
#[template(path = "triage.html")]
struct TriagePage {
    frame: Frame,
    held: Vec<HeldRow>,
    triage: Vec<QueueRow>,
    verification: Vec<QueueRow>,
    rework: Vec<QueueRow>,
    declined: Vec<DeclinedRow>,
}

/// `GET /analyst/triage`
pub async fn triage<S: Store>(State(state): State<ConsoleState<S>>, signed: Signed) -> Response {
    if let Err(refused) = signed.may(REGISTRY, "ListQueue") {
        return refused;
    }
    let mut frame = signed.frame("Черги аналітика", "/analyst/triage");
    frame.live = true;
    let hotline = &state.hotline;
    let loaded = async {
        let triage = hotline.queue(Queue::Triage, 200).await?;
        let verification = hotline.queue(Queue::Verification, 200).await?;
        let rework = hotline.queue(Queue::Rework, 200).await?;
        let declined = if allowed(&signed.principal, REGISTRY, "ListDeclinedCases") {
            hotline.declined_cases(false).await?.0
        } else {
            Vec::new()
        };
        let held = if allowed(&signed.principal, "hotline.v1.ExchangeAdmin", "ListHeld") {
            hotline.held_records("").await?
        } else {
            Vec::new()
        };
        Ok::<_, AppError>((triage, verification, rework, declined, held))
    }
    .await;
    match loaded {
        Ok((triage, verification, rework, declined, held)) => page(
            StatusCode::OK,
            &TriagePage {
                frame,
                held: held
                    .into_iter()
                    .filter(|(h, _)| h.appeal_id.is_none())
                    .map(|(h, _)| HeldRow {
                        id: h.id,
                        partner: h.partner,
                        external_id: h.external_id,
                        missing: h.missing,
                        received: kyiv_time(h.received_at),
                    })
                    .collect(),
                triage: queue_rows(&triage),
                verification: queue_rows(&verification),
                rework: queue_rows(&rework),
                declined: declined
                    .into_iter()
                    .map(|d| DeclinedRow {
                        number: d.appeal_number,
                        authority: d.case.authority_code,
                        reason: d.case.reason,
                        reroute_by: d.reroute_by.to_string(),
                        late: d.late,
                    })
                    .collect(),
            },
        ),
        Err(err) => app_error(frame, err),
    }
}
