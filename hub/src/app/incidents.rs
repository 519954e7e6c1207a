//! The analysts' incidents (mass appeals) and the staff queues. An incident is opened around a
//! primary appeal and others are attached to it; once the primary's answers are accepted the answer
//! flows to every attached appeal — right after the verification that completes it, and again by
//! the deadline monitor's sweep, so a crash in between loses nothing (each appeal's change is its
//! own transaction with its event; the flow is idempotent). Closing an incident closes its attached
//! appeals still waiting for a call-back, unconfirmed (the "mass" rule).

use chrono::{DateTime, Utc};

use super::appeals::SearchPage;
use super::{AppResult, Hotline};
use crate::domain::notice::answers_text;
use crate::domain::text::{check_code, check_number, required_text};
use crate::domain::{
    AppealState, AppealStatus, Caller, CloseOutcome, DomainError, Incident, IncidentStatus, Queue,
};
use crate::store::{AppealKey, IncidentFilter, Store};

/// Most appeals one request may attach.
const MAX_ATTACH: usize = 500;
/// Most incidents listed.
const MAX_LISTED: i64 = 500;

/// An incident with its appeals (primary first, then by number).
#[derive(Debug, Clone)]
pub struct IncidentView {
    /// The incident.
    pub incident: Incident,
    /// Its appeals (numbers and states; the view carries no citizen's contact).
    pub appeals: Vec<AppealState>,
}

impl<S: Store> Hotline<S> {
    /// Opens an incident around the appeal `primary` (which is assigned and answered for all).
    pub async fn open_incident(
        &self,
        primary: &str,
        title: &str,
        description: &str,
        caller: &Caller,
    ) -> AppResult<IncidentView> {
        let now = self.now();
        let number = check_number("primary_number", primary)?;
        let (title, description) = (title.to_string(), description.to_string());
        let (incident, _) = self
            .store
            .open_incident(
                &AppealKey::Number(number),
                caller,
                now,
                move |state| Incident::open(&title, &description, state, now),
                self.noticed_with(move |s: &mut AppealState, id: i64| {
                    s.attach_to_incident(id, true, now)
                }),
            )
            .await?;
        self.incident(incident.id).await
    }

    /// Attaches appeals (registered, not yet assigned) to an open or answered incident; an
    /// incident already answered passes its answer to them at once.
    pub async fn attach_to_incident(
        &self,
        id: i64,
        numbers: &[String],
        caller: &Caller,
    ) -> AppResult<IncidentView> {
        let now = self.now();
        let incident = self.known_incident(id).await?;
        incident.require_not_closed("attach appeals to")?;
        if numbers.is_empty() || numbers.len() > MAX_ATTACH {
            return Err(DomainError::invalid(
                "appeal_numbers",
                format!("from 1 to {MAX_ATTACH} appeals"),
            )
            .into());
        }
        let numbers = numbers
            .iter()
            .enumerate()
            .map(|(i, n)| check_number(&format!("appeal_numbers[{i}]"), n))
            .collect::<Result<Vec<_>, _>>()?;
        for number in numbers {
            self.store
                .transact(
                    &AppealKey::Number(number),
                    caller,
                    now,
                    self.noticed(move |s| s.attach_to_incident(id, false, now)),
                )
                .await?;
        }
        if incident.status == IncidentStatus::Answered {
            self.pass_answer(&incident, now).await?;
        }
        self.incident(id).await
    }

    /// One incident with its appeals.
    pub async fn incident(&self, id: i64) -> AppResult<IncidentView> {
        let incident = self.known_incident(id).await?;
        let mut appeals = self.store.incident_appeals(id).await?;
        appeals.sort_by_key(|s| (s.appeal.id != incident.primary_appeal_id, s.appeal.id));
        Ok(IncidentView { incident, appeals })
    }

    /// Incidents matching the filter, newest first: the operator's form asks for the open ones of
    /// a category and district to suggest attaching a new call.
    pub async fn incidents(&self, mut filter: IncidentFilter) -> AppResult<Vec<Incident>> {
        for (field, code) in [
            ("category_code", &mut filter.category_code),
            ("district_code", &mut filter.district_code),
        ] {
            if let Some(value) = code {
                *value = check_code(field, value)?;
            }
        }
        filter.limit = filter.limit.clamp(1, MAX_LISTED);
        Ok(self.store.incidents(&filter).await?)
    }

    /// Closes an incident: its attached appeals still waiting for their call-back close
    /// unconfirmed with the reason (the "mass" rule); the others keep their course.
    pub async fn close_incident(
        &self,
        id: i64,
        reason: &str,
        caller: &Caller,
    ) -> AppResult<IncidentView> {
        let now = self.now();
        let reason = required_text("reason", reason, 2_000)?;
        let incident = self.known_incident(id).await?;
        incident.require_not_closed("close")?;
        if incident.status != IncidentStatus::Answered {
            return Err(DomainError::IllegalTransition {
                action: "close".into(),
                subject: format!("incident {id}"),
                current: "not answered yet (its primary appeal's answers are not accepted)".into(),
            }
            .into());
        }
        let why = format!("incident {id} closed: {reason}");
        for state in self.store.incident_appeals(id).await? {
            if state.appeal.id == incident.primary_appeal_id
                || state.appeal.status != AppealStatus::AwaitingConfirmation
            {
                continue;
            }
            let why = why.clone();
            self.store
                .transact(
                    &AppealKey::Number(state.appeal.number.clone()),
                    caller,
                    now,
                    self.noticed(move |s| s.close(CloseOutcome::Unconfirmed, &why, now)),
                )
                .await?;
        }
        self.store
            .set_incident_status(id, IncidentStatus::Closed, now)
            .await?;
        self.incident(id).await
    }

    /// Passes the primary's answer to the attached appeals of every open incident whose primary is
    /// answered (after a verification, and by the monitor's sweep). Returns how many incidents.
    pub async fn pass_incident_answers(&self) -> AppResult<usize> {
        let now = self.now();
        let ids = self.store.incidents_answered_upstream().await?;
        for id in &ids {
            let incident = self.known_incident(*id).await?;
            self.pass_answer(&incident, now).await?;
            self.store
                .set_incident_status(*id, IncidentStatus::Answered, now)
                .await?;
        }
        Ok(ids.len())
    }

    /// The primary's accepted answer, to every attached appeal that has not had it.
    async fn pass_answer(&self, incident: &Incident, now: DateTime<Utc>) -> AppResult<()> {
        let appeals = self.store.incident_appeals(incident.id).await?;
        let Some(primary) = appeals
            .iter()
            .find(|s| s.appeal.id == incident.primary_appeal_id)
        else {
            return Ok(());
        };
        let answer = answers_text(primary).trim().to_string();
        let outcome = primary.derived_outcome();
        let caller = Caller::system(&format!("incident {}", incident.id));
        let id = incident.id;
        for follower in appeals
            .iter()
            .filter(|s| s.appeal.id != incident.primary_appeal_id)
            .filter(|s| s.appeal.status == AppealStatus::Registered && s.cases.is_empty())
        {
            let answer = answer.clone();
            self.store
                .transact(
                    &AppealKey::Number(follower.appeal.number.clone()),
                    &caller,
                    now,
                    self.noticed(move |s| Ok(s.answer_via_incident(id, &answer, outcome, now))),
                )
                .await?;
        }
        Ok(())
    }

    async fn known_incident(&self, id: i64) -> AppResult<Incident> {
        self.store
            .incident(id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("incident {id}")).into())
    }

    /// A staff queue, priority first (see `domain::queue`).
    pub async fn queue(&self, queue: Queue, limit: i64) -> AppResult<SearchPage> {
        let now = self.now();
        let appeals = self.store.queue(queue, limit.clamp(1, 1_000)).await?;
        Ok(SearchPage {
            appeals,
            next_page: None,
            names: self.authority_names().await?,
            now,
        })
    }
}
