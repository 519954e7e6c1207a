//! Incidents: many appeals about one event (a burst main, a district without heating) handled
//! once. An analyst opens an incident around a *primary* appeal, which is assigned and answered the
//! usual way; the other appeals are attached to it (sign: mass) and are not assigned on their own.
//! When the primary's answers are accepted, the answer flows to every attached appeal, which then
//! waits for its own call-back like any other; closing the incident closes the attached appeals
//! still unconfirmed (the "mass" rule). A citizen not satisfied with the incident's answer takes
//! their appeal out of it: it goes back to triage to be handled on its own.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::appeal::{AppealState, AppealStatus};
use super::classifier::Sign;
use super::event::{CaseEvent, EventKind, event};
use super::outcome::Outcome;
use super::text::{bounded_text, required_line};
use super::{DomainError, coded_enum};

/// Longest incident title.
const MAX_TITLE_CHARS: usize = 300;

coded_enum! {
    /// Where an incident stands.
    IncidentStatus {
        /// Appeals are being attached; the primary is being worked on.
        Open = "open",
        /// The primary's answers were accepted and passed to the attached appeals.
        Answered = "answered",
        /// Closed: attached appeals still unconfirmed were closed with it.
        Closed = "closed",
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Database id; 0 until inserted.
    pub id: i64,
    /// What happened, as staff call it ("no water in Samarskyi district, 12 streets").
    pub title: String,
    /// More detail; may be empty. Staff text: no personal data should be written here.
    pub description: String,
    /// The category its appeals are about.
    pub category_code: String,
    /// The district.
    pub district_code: String,
    /// Where it stands.
    pub status: IncidentStatus,
    /// The appeal that is assigned and answered for all.
    pub primary_appeal_id: i64,
    /// Its number.
    pub primary_number: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When the answer flowed to the attached appeals.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Incident {
    /// A new incident around `primary` (checked: open, not a consultation, in no other incident).
    pub fn open(
        title: &str,
        description: &str,
        primary: &AppealState,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let title = required_line("title", title, MAX_TITLE_CHARS)?;
        let description = bounded_text("description", description, 2_000)?;
        primary.check_attachable(true)?;
        Ok(Self {
            id: 0,
            title,
            description,
            category_code: primary.appeal.card.category_code.clone(),
            district_code: primary.appeal.card.district_code.clone(),
            status: IncidentStatus::Open,
            primary_appeal_id: primary.appeal.id,
            primary_number: primary.appeal.number.clone(),
            opened_at: now,
            answered_at: None,
            closed_at: None,
        })
    }

    /// Refuses a change to a closed incident.
    pub fn require_not_closed(&self, action: &str) -> Result<(), DomainError> {
        if self.status == IncidentStatus::Closed {
            return Err(DomainError::IllegalTransition {
                action: action.into(),
                subject: format!("incident {}", self.id),
                current: self.status.code().into(),
            });
        }
        Ok(())
    }
}

impl AppealState {
    /// Whether this appeal may join an incident: open, in no incident, not a consultation; an
    /// appeal attached as a follower must also not be assigned yet (it is answered through the
    /// primary, never on its own).
    fn check_attachable(&self, primary: bool) -> Result<(), DomainError> {
        let a = &self.appeal;
        let refuse = |current: String| DomainError::IllegalTransition {
            action: "attach to an incident".into(),
            subject: self.subject(),
            current,
        };
        if a.status.is_final() || a.card.consultation {
            return Err(refuse(a.status.code().into()));
        }
        if let Some(incident) = a.incident_id {
            return Err(refuse(format!("already in incident {incident}")));
        }
        if !primary && (a.status != AppealStatus::Registered || !self.cases.is_empty()) {
            return Err(refuse(format!(
                "{} (only an appeal not yet assigned follows an incident)",
                a.status.code()
            )));
        }
        Ok(())
    }

    /// Joins incident `incident`: the sign becomes mass.
    pub fn attach_to_incident(
        &mut self,
        incident: i64,
        primary: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.check_attachable(primary)?;
        self.appeal.incident_id = Some(incident);
        self.appeal.card.profile.sign = Sign::Mass;
        self.appeal.updated_at = now;
        Ok(vec![event(
            None,
            EventKind::AttachedToIncident,
            json!({ "incident": incident, "primary": primary }),
        )])
    }

    /// The incident's answer reaches this attached appeal: it waits for its call-back with the
    /// primary's outcome. Nothing happens to an appeal that already has it or left the incident.
    pub fn answer_via_incident(
        &mut self,
        incident: i64,
        answer: &str,
        outcome: Option<Outcome>,
        now: DateTime<Utc>,
    ) -> Vec<CaseEvent> {
        let a = &self.appeal;
        if a.incident_id != Some(incident)
            || a.status != AppealStatus::Registered
            || !self.cases.is_empty()
        {
            return Vec::new();
        }
        self.appeal.outcome = outcome;
        let mut events = vec![event(
            None,
            EventKind::AnsweredViaIncident,
            json!({
                "incident": incident,
                "answer": answer,
                "outcome": outcome.map(Outcome::code),
            }),
        )];
        let reason = format!("answered through incident {incident}");
        self.move_appeal(
            AppealStatus::AwaitingConfirmation,
            &reason,
            now,
            &mut events,
        );
        events
    }

    /// True for an appeal answered through its incident (it has no cases of its own).
    pub fn answered_via_incident(&self) -> bool {
        self.appeal.incident_id.is_some()
            && self.cases.is_empty()
            && self.appeal.status == AppealStatus::AwaitingConfirmation
    }

    /// The citizen is not satisfied with the incident's answer: the appeal leaves the incident
    /// and goes back to triage, to be assigned on its own.
    pub(crate) fn detach_from_incident(
        &mut self,
        note: &str,
        now: DateTime<Utc>,
        events: &mut Vec<CaseEvent>,
    ) {
        let incident = self.appeal.incident_id.take();
        self.appeal.outcome = None;
        events.push(event(
            None,
            EventKind::DetachedFromIncident,
            json!({ "incident": incident, "note": note }),
        ));
        let reason = format!("not satisfied with the incident's answer: {note}");
        self.move_appeal(AppealStatus::Registered, &reason, now, events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{assigned, kinds, registered};

    #[test]
    fn followers_must_be_unassigned_and_receive_the_answer_once() {
        let mut primary = assigned(&["vodokanal"]);
        primary.appeal.id = 1;
        let incident = Incident::open("Немає води", "", &primary, Utc::now()).unwrap();
        assert_eq!(incident.status, IncidentStatus::Open);
        assert!(primary.attach_to_incident(7, true, Utc::now()).is_ok());

        let before = assigned(&["vodokanal"]);
        let mut taken = before.clone();
        assert!(
            taken.attach_to_incident(7, false, Utc::now()).is_err(),
            "assigned"
        );
        assert_eq!(taken, before, "a refusal changes nothing");

        let mut follower = registered();
        let events = follower.attach_to_incident(7, false, Utc::now()).unwrap();
        assert_eq!(kinds(&events), ["appeal.attached_to_incident"]);
        assert_eq!(follower.appeal.card.profile.sign, Sign::Mass);
        assert!(
            follower.attach_to_incident(8, false, Utc::now()).is_err(),
            "one incident"
        );

        let events =
            follower.answer_via_incident(7, "Воду подано", Some(Outcome::Resolved), Utc::now());
        assert_eq!(
            kinds(&events),
            ["appeal.answered_via_incident", "appeal.status_changed"]
        );
        assert_eq!(follower.appeal.status, AppealStatus::AwaitingConfirmation);
        assert_eq!(
            follower.derived_status(),
            AppealStatus::AwaitingConfirmation
        );
        assert!(follower.answered_via_incident());
        assert!(
            follower
                .answer_via_incident(7, "again", None, Utc::now())
                .is_empty()
        );
    }
}
