//! The appeal and its cases as one aggregate ([`AppealState`]): what an appeal is, how it is
//! registered, and how its status follows from its cases. The transitions staff and authorities make
//! on it live in [`super::staff_actions`] and [`super::agency_actions`].
//!
//! Each transition checks everything first and only then changes the state, so an error leaves the
//! aggregate exactly as it was. It returns the events it produced; the store writes the new state and
//! the events in one transaction. The appeal's status is derived from its cases after every step.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::card::{AppealCard, CheckedCard};
use super::case::{Case, CaseAction, CaseRole, CaseStatus};
use super::deadline;
use super::event::{CaseEvent, EventKind, event};
use super::outcome::{self, Outcome};
use super::{DomainError, coded_enum};

coded_enum! {
    /// Kind of appeal, fixed by art. 3 of the Law (so an enum, not directory data).
    AppealKind {
        /// A proposal (remark).
        Proposal = "proposal",
        /// An application (request).
        Application = "application",
        /// A complaint about a body or official.
        Complaint = "complaint",
    }
}

coded_enum! {
    /// How an appeal reached the hotline; the hub's own behaviour depends on it (national-centre exchange).
    Channel {
        /// The phone line.
        Phone = "phone",
        /// The web form.
        Web = "web",
        /// E-mail.
        Email = "email",
        /// Forwarded by the national Government Contact Centre.
        NationalCentre = "national_centre",
        /// A letter.
        Post = "post",
        /// Personal reception.
        PersonalReception = "personal_reception",
    }
}

coded_enum! {
    /// Where an appeal stands.
    AppealStatus {
        /// Registered, no case yet.
        Registered = "registered",
        /// Cases assigned, no authority working yet.
        Assigned = "assigned",
        /// Some authority is working on it.
        InProgress = "in_progress",
        /// Every open case answered, waiting for the analyst.
        Answered = "answered",
        /// Every answer accepted; waiting for the citizen's confirmation.
        AwaitingConfirmation = "awaiting_confirmation",
        /// Confirmed by the citizen. Final.
        Closed = "closed",
        /// An answer went back for rework.
        Returned = "returned",
        /// Not considered (art. 8). Final.
        NotConsidered = "not_considered",
        /// Closed without the citizen's confirmation. Final.
        ClosedUnconfirmed = "closed_unconfirmed",
        /// Continued in a linked follow-up appeal: the rework did not fit the legal term. Final.
        Continued = "continued",
    }
}

impl Channel {
    /// True for the channels that bring a written appeal (art. 8 excludes anonymous ones).
    pub fn is_written(self) -> bool {
        matches!(
            self,
            Self::Web | Self::Email | Self::Post | Self::NationalCentre
        )
    }
}

impl AppealStatus {
    /// True for the states an appeal never leaves.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Closed | Self::NotConsidered | Self::ClosedUnconfirmed | Self::Continued
        )
    }
}

/// A registered appeal: the card plus where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appeal {
    /// Database id; 0 until inserted.
    pub id: i64,
    /// Human-readable number (`DP-2026-000123`).
    pub number: String,
    /// When received; every term counts from it.
    pub received_at: DateTime<Utc>,
    /// The registration card.
    pub card: AppealCard,
    /// Current status.
    pub status: AppealStatus,
    /// Why it ended or was returned, for the people reading it.
    pub status_reason: String,
    /// The legal deadline fixed at registration; new cases get it unless the analyst sets another.
    pub deadline: NaiveDate,
    /// Failed call-backs so far.
    pub callback_attempts: i32,
    /// When the first and the latest call-back of the current round were made.
    pub first_callback_at: Option<DateTime<Utc>>,
    /// The latest call-back attempt.
    pub last_callback_at: Option<DateTime<Utc>>,
    /// How it ended (on closing; a consultation at once).
    pub outcome: Option<Outcome>,
    /// The citizen's satisfaction at the call-back, 1 to 5.
    pub satisfaction: Option<i32>,
    /// What the citizen said about it.
    pub satisfaction_note: String,
    /// The citizen's words when they disagreed with a lawful refusal or explanation and the
    /// appeal closed anyway; empty otherwise.
    pub disagreement: String,
    /// The citizen was not satisfied: the analyst names the cases to rework.
    pub awaiting_rework: bool,
    /// When the monitor announced it unassigned (once).
    pub unassigned_announced_at: Option<DateTime<Utc>>,
    /// The number of the follow-up appeal it continues in; empty otherwise.
    pub continued_in: String,
    /// For an emergency, the instant its cases are due (its deadline date is that instant's day).
    pub due_at: Option<DateTime<Utc>>,
    /// The incident (mass appeal) it is attached to, if any.
    pub incident_id: Option<i64>,
    /// The exchange partner it came from or went up to, and the partner's id of it (read-only
    /// here: the link is written with the change that makes it).
    pub exchange: Option<(String, String)>,
    /// When it reached a final status (closed, not considered, closed unconfirmed).
    pub closed_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The human-readable number of the `seq`-th appeal of `year` (`DP-2026-000123`): the oblast's
/// prefix, the Kyiv year of receipt, the year's sequence number.
pub fn number(prefix: &str, year: i32, seq: i64) -> String {
    format!("{prefix}-{year}-{seq:06}")
}

/// An authority as a transition needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityRef {
    /// Its code.
    pub code: String,
    /// False once deactivated: it takes no new cases.
    pub active: bool,
}

/// The aggregate: an appeal with all its cases, ended ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealState {
    /// The appeal.
    pub appeal: Appeal,
    /// Its cases in the order they were assigned.
    pub cases: Vec<Case>,
}

impl AppealState {
    /// A newly registered appeal (`number` comes from the store's counter).
    pub fn register(
        number: String,
        checked: CheckedCard,
        now: DateTime<Utc>,
    ) -> (Self, Vec<CaseEvent>) {
        let mut events = vec![event(
            None,
            EventKind::AppealRegistered,
            json!({
                "kind": checked.card.kind.code(),
                "channel": checked.card.channel.code(),
                "district": checked.card.district_code,
                "category": checked.card.category_code,
                "deadline": checked.deadline.to_string(),
            }),
        )];
        let (status, status_reason, outcome) = match checked.not_considered {
            Some(reason) => {
                events.push(event(
                    None,
                    EventKind::AppealNotConsidered,
                    json!({ "reason": reason }),
                ));
                (AppealStatus::NotConsidered, reason, None)
            }
            // A consultation is answered on the spot and closed at once; no authority is involved.
            None if checked.card.consultation => {
                events.push(event(
                    None,
                    EventKind::AppealClosed,
                    json!({ "outcome": Outcome::Consultation.code() }),
                ));
                (
                    AppealStatus::Closed,
                    String::new(),
                    Some(Outcome::Consultation),
                )
            }
            None => (AppealStatus::Registered, String::new(), None),
        };
        let state = Self {
            appeal: Appeal {
                id: 0,
                number,
                received_at: checked.received_at,
                card: checked.card,
                status,
                status_reason,
                deadline: checked.deadline,
                callback_attempts: 0,
                first_callback_at: None,
                last_callback_at: None,
                outcome,
                satisfaction: None,
                satisfaction_note: String::new(),
                disagreement: String::new(),
                awaiting_rework: false,
                unassigned_announced_at: None,
                continued_in: String::new(),
                due_at: checked.due_at,
                incident_id: None,
                exchange: None,
                closed_at: status.is_final().then_some(now),
                updated_at: now,
            },
            cases: Vec::new(),
        };
        (state, events)
    }

    pub(crate) fn subject(&self) -> String {
        format!("appeal {}", self.appeal.number)
    }

    pub(crate) fn illegal(
        &self,
        action: &str,
        subject: String,
        current: impl ToString,
    ) -> DomainError {
        DomainError::IllegalTransition {
            action: action.to_string(),
            subject,
            current: current.to_string(),
        }
    }

    pub(crate) fn require_open(&self, action: &str) -> Result<(), DomainError> {
        if self.appeal.status.is_final() {
            return Err(self.illegal(action, self.subject(), self.appeal.status));
        }
        Ok(())
    }

    pub(crate) fn case_index(&self, case_id: i64) -> Result<usize, DomainError> {
        self.cases
            .iter()
            .position(|c| c.id == case_id)
            .ok_or_else(|| DomainError::NotFound(format!("case {case_id}")))
    }

    /// Finds a case and checks that its status allows `action` (the table in [`CaseAction`]).
    pub(crate) fn case_in(&self, case_id: i64, action: CaseAction) -> Result<usize, DomainError> {
        let i = self.case_index(case_id)?;
        let status = self.cases[i].status;
        if !action.allowed_from(status) {
            return Err(self.illegal(action.describe(), format!("case {case_id}"), status));
        }
        Ok(i)
    }

    pub(crate) fn set_case(&mut self, i: usize, status: CaseStatus, now: DateTime<Utc>) {
        self.cases[i].status = status;
        self.cases[i].updated_at = now;
    }

    /// Checks that `authority` may take a (new) case of this appeal; `field` names it in errors.
    pub(crate) fn check_new_holder(
        &self,
        authority: &AuthorityRef,
        field: &str,
    ) -> Result<(), DomainError> {
        if !authority.active {
            return Err(DomainError::invalid(
                field,
                format!("authority `{}` is deactivated", authority.code),
            ));
        }
        let card = &self.appeal.card;
        if card.kind == AppealKind::Complaint && card.complained_authority_code == authority.code {
            return Err(DomainError::invalid(
                field,
                format!(
                    "the complaint is about `{}`; it may not handle it (art. 7)",
                    authority.code
                ),
            ));
        }
        if self
            .cases
            .iter()
            .any(|c| c.authority_code == authority.code && !c.status.is_final())
        {
            return Err(DomainError::invalid(
                field,
                format!(
                    "`{}` already has an open case of this appeal",
                    authority.code
                ),
            ));
        }
        Ok(())
    }

    /// Checks a deadline an analyst sets for a case: not before receipt, not past the appeal's
    /// term (15 days, one month or the citizen's shorter date; later only once an extension was
    /// granted, art. 20).
    pub(crate) fn check_deadline(
        &self,
        field: &str,
        date: NaiveDate,
    ) -> Result<NaiveDate, DomainError> {
        let received = deadline::kyiv_date(self.appeal.received_at);
        let term = self.appeal.deadline;
        if date < received {
            return Err(DomainError::invalid(
                field,
                format!("{date} is before the appeal was received ({received})"),
            ));
        }
        if date > term {
            return Err(DomainError::invalid(
                field,
                format!(
                    "{date} is past the appeal's term {term} (art. 20: 15 days, one month or the \
                     citizen's shorter date, later only after an extension is granted)"
                ),
            ));
        }
        Ok(date)
    }

    /// The appeal's outcome as its accepted answers make it (see [`outcome::appeal_outcome`]).
    pub fn derived_outcome(&self) -> Option<Outcome> {
        // With a lead executor, its consolidated answer speaks for the appeal.
        if let Some(lead) = self.consolidated_answer() {
            return self.cases[lead].outcome;
        }
        outcome::appeal_outcome(
            self.cases
                .iter()
                .filter(|c| matches!(c.status, CaseStatus::Verified | CaseStatus::Closed))
                .filter_map(|c| c.outcome),
        )
        // An appeal answered through its incident has no cases of its own.
        .or(self.appeal.outcome)
    }

    /// True once some authority answered on the merits and the answer is on record.
    pub fn has_answer_on_the_merits(&self) -> bool {
        self.cases.iter().any(|c| {
            matches!(
                c.status,
                CaseStatus::Resolved | CaseStatus::Verified | CaseStatus::Closed
            ) && c.outcome.is_some_and(Outcome::on_the_merits)
        })
    }

    pub(crate) fn new_case(
        &mut self,
        authority: &str,
        deadline: NaiveDate,
        now: DateTime<Utc>,
    ) -> usize {
        self.cases.push(Case {
            id: 0,
            authority_code: authority.to_string(),
            status: CaseStatus::Assigned,
            deadline,
            extension_reason: String::new(),
            reason: String::new(),
            answer: String::new(),
            measures: String::new(),
            declined_at: None,
            assigned_at: now,
            role: CaseRole::Sole,
            // Cases given the appeal's own deadline inherit an emergency's hour.
            due_at: self
                .appeal
                .due_at
                .filter(|_| deadline == self.appeal.deadline),
            outcome: None,
            outcome_detail: String::new(),
            resolved_at: None,
            answered_at: None,
            answered_late: None,
            extension_requested_to: None,
            extension_request_reason: String::new(),
            returned_count: 0,
            due_soon_at: None,
            overdue_at: None,
            updated_at: now,
        });
        self.cases.len() - 1
    }

    /// The status the appeal's cases imply; final states are never left.
    pub fn derived_status(&self) -> AppealStatus {
        let current = self.appeal.status;
        if current.is_final() {
            return current;
        }
        let live: Vec<CaseStatus> = self
            .cases
            .iter()
            .map(|c| c.status)
            .filter(|s| !s.is_final())
            .collect();
        if live.is_empty() {
            // An appeal answered through its incident waits for its call-back without cases.
            if self.appeal.incident_id.is_some() && current == AppealStatus::AwaitingConfirmation {
                return current;
            }
            return AppealStatus::Registered;
        }
        if self.appeal.awaiting_rework || live.contains(&CaseStatus::Returned) {
            return AppealStatus::Returned;
        }
        if live.iter().all(|s| *s == CaseStatus::Verified) {
            return AppealStatus::AwaitingConfirmation;
        }
        if live
            .iter()
            .all(|s| matches!(s, CaseStatus::Resolved | CaseStatus::Verified))
        {
            return AppealStatus::Answered;
        }
        if live.iter().any(|s| {
            matches!(
                s,
                CaseStatus::Accepted
                    | CaseStatus::InProgress
                    | CaseStatus::Resolved
                    | CaseStatus::Verified
                    | CaseStatus::ClarificationRequested
            )
        }) {
            return AppealStatus::InProgress;
        }
        AppealStatus::Assigned
    }

    /// Sets the appeal's status, recording the change as an event when there is one.
    pub(crate) fn move_appeal(
        &mut self,
        to: AppealStatus,
        reason: &str,
        now: DateTime<Utc>,
        events: &mut Vec<CaseEvent>,
    ) {
        let from = self.appeal.status;
        self.appeal.updated_at = now;
        if from != to {
            self.appeal.status = to;
            self.appeal.status_reason = reason.to_string();
            if to.is_final() {
                self.appeal.closed_at = Some(now);
            }
            events.push(event(
                None,
                EventKind::AppealStatusChanged,
                json!({ "from": from.code(), "to": to.code() }),
            ));
        }
    }

    /// Re-derives the appeal's status after its cases changed.
    pub(crate) fn refresh(
        &mut self,
        now: DateTime<Utc>,
        mut events: Vec<CaseEvent>,
    ) -> Vec<CaseEvent> {
        let to = self.derived_status();
        let reason = if to == AppealStatus::Returned {
            self.cases
                .iter()
                .find(|c| c.status == CaseStatus::Returned)
                .map(|c| c.reason.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        self.move_appeal(to, &reason, now, &mut events);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::card::tests::{input, now, refs};
    use crate::domain::fixtures::kinds;
    use crate::domain::limits::Limits;

    #[test]
    fn a_consultation_closes_at_once_with_its_outcome() {
        let mut card = input();
        card.consultation = true;
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        let (s, events) = AppealState::register("DP-2026-000004".into(), checked, now());
        assert_eq!(s.appeal.status, AppealStatus::Closed);
        assert_eq!(s.appeal.outcome, Some(Outcome::Consultation));
        assert_eq!(kinds(&events), ["appeal.registered", "appeal.closed"]);
    }

    #[test]
    fn anonymous_appeal_is_registered_as_not_considered() {
        let mut card = input();
        card.anonymous = true;
        card.citizen.name.clear();
        card.channel = Some(Channel::Web);
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        let (s, events) = AppealState::register("DP-2026-000003".into(), checked, now());
        assert_eq!(s.appeal.status, AppealStatus::NotConsidered);
        assert_eq!(
            kinds(&events),
            ["appeal.registered", "appeal.not_considered"]
        );
    }
}
