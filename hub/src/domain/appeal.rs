//! The appeal and its cases as one aggregate, and every transition staff and authorities make on it.
//!
//! Each transition checks everything first and only then changes the state, so an error leaves the
//! aggregate exactly as it was. It returns the events it produced; the store writes the new state and
//! the events in one transaction. The appeal's status is derived from its cases after every step.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::card::{AppealCard, CheckedCard, Limits, bounded_text, required_text};
use super::deadline;
use super::{AppealKind, AppealStatus, CaseStatus, DomainError, coded_enum};

/// Longest reason, note or comment, in characters.
const MAX_REASON_CHARS: usize = 2_000;

coded_enum! {
    /// What an event records. The code is what the event log and the watch stream carry.
    EventKind {
        /// An appeal was registered.
        AppealRegistered = "appeal.registered",
        /// The appeal's derived status changed.
        AppealStatusChanged = "appeal.status_changed",
        /// An operator called the citizen back.
        CallbackRecorded = "appeal.callback",
        /// The appeal was closed after the citizen's confirmation.
        AppealClosed = "appeal.closed",
        /// The appeal was closed without the citizen's confirmation.
        AppealClosedUnconfirmed = "appeal.closed_unconfirmed",
        /// The appeal was not considered (art. 8).
        AppealNotConsidered = "appeal.not_considered",
        /// A case was assigned to an authority.
        CaseAssigned = "case.assigned",
        /// A case was moved away from its authority.
        CaseReassigned = "case.reassigned",
        /// A case's deadline was extended.
        DeadlineExtended = "case.deadline_extended",
        /// A case reached the authority's agency client.
        CaseDelivered = "case.delivered",
        /// The authority accepted the case.
        CaseAccepted = "case.accepted",
        /// The authority declined the case.
        CaseDeclined = "case.declined",
        /// The authority reported progress.
        ProgressReported = "case.progress_reported",
        /// The authority asked a question.
        ClarificationRequested = "case.clarification_requested",
        /// The contact centre answered the authority's question.
        ClarificationAnswered = "case.clarification_answered",
        /// The authority submitted its result.
        CaseResolved = "case.resolved",
        /// An analyst accepted the result.
        AnswerVerified = "case.verified",
        /// The result went back for rework.
        AnswerReturned = "case.returned",
        /// The case ended with its appeal's confirmed or unconfirmed closing.
        CaseClosed = "case.closed",
        /// The case ended because the appeal ended without an answer.
        CaseCancelled = "case.cancelled",
        /// The deadline is near (the monitor's configurable margin).
        CaseDueSoon = "case.due_soon",
        /// The deadline passed without an answer.
        CaseOverdue = "case.overdue",
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
    /// When it reached a final status (closed, not considered, closed unconfirmed).
    pub closed_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One appeal assigned to one authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Database id; 0 until inserted.
    pub id: i64,
    /// The authority that must act.
    pub authority_code: String,
    /// Current status.
    pub status: CaseStatus,
    /// Answer due by the end of this Kyiv date.
    pub deadline: NaiveDate,
    /// Why the deadline was extended; empty when it was not.
    pub extension_reason: String,
    /// Why it was declined, returned or reassigned; empty otherwise.
    pub reason: String,
    /// The authority's answer.
    pub answer: String,
    /// The measures the authority reports it took.
    pub measures: String,
    /// When it was declined (starts the 5-day re-routing limit).
    pub declined_at: Option<DateTime<Utc>>,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
    /// When the authority first submitted a result (for "answered on time").
    pub answered_at: Option<DateTime<Utc>>,
    /// Whether that first result came after the deadline day (Kyiv); `None` before one came.
    pub answered_late: Option<bool>,
    /// How often its result was returned for rework.
    pub returned_count: i32,
    /// When the deadline monitor announced it due soon (announced once per deadline).
    pub due_soon_at: Option<DateTime<Utc>>,
    /// When the deadline monitor announced it overdue (announced once per deadline).
    pub overdue_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// True when the authority still owes an answer and the deadline day has passed.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.awaits_answer() && deadline::is_overdue(self.deadline, now)
    }
}

/// One event produced by a transition, before the store gives it an id.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEvent {
    /// Index into [`AppealState::cases`] of the case it concerns; `None` for an appeal-level event.
    pub case: Option<usize>,
    /// What happened.
    pub kind: EventKind,
    /// Details (never personal data).
    pub detail: Value,
}

/// An authority as a transition needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityRef {
    /// Its code.
    pub code: String,
    /// False once deactivated: it takes no new cases.
    pub active: bool,
}

/// The analyst's verdict on an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The answer solves the question.
    Accept,
    /// Back for rework.
    Return,
}

/// What came of a call-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The citizen confirms.
    Confirmed,
    /// The citizen says the problem is not solved.
    NotConfirmed,
    /// No answer.
    Unreachable,
}

/// How an appeal ends without a confirmed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    /// Not considered (art. 8).
    NotConsidered,
    /// Closed without confirmation.
    Unconfirmed,
}

/// The aggregate: an appeal with all its cases, ended ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealState {
    /// The appeal.
    pub appeal: Appeal,
    /// Its cases in the order they were assigned.
    pub cases: Vec<Case>,
}

fn event(case: Option<usize>, kind: EventKind, detail: Value) -> CaseEvent {
    CaseEvent { case, kind, detail }
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
        let (status, status_reason) = match checked.not_considered {
            Some(reason) => {
                events.push(event(
                    None,
                    EventKind::AppealNotConsidered,
                    json!({ "reason": reason }),
                ));
                (AppealStatus::NotConsidered, reason)
            }
            None => (AppealStatus::Registered, String::new()),
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
                closed_at: status.is_final().then_some(now),
                updated_at: now,
            },
            cases: Vec::new(),
        };
        (state, events)
    }

    fn subject(&self) -> String {
        format!("appeal {}", self.appeal.number)
    }

    fn illegal(&self, action: &str, subject: String, current: impl ToString) -> DomainError {
        DomainError::IllegalTransition {
            action: action.to_string(),
            subject,
            current: current.to_string(),
        }
    }

    fn require_open(&self, action: &str) -> Result<(), DomainError> {
        if self.appeal.status.is_final() {
            return Err(self.illegal(action, self.subject(), self.appeal.status));
        }
        Ok(())
    }

    fn case_index(&self, case_id: i64) -> Result<usize, DomainError> {
        self.cases
            .iter()
            .position(|c| c.id == case_id)
            .ok_or_else(|| DomainError::NotFound(format!("case {case_id}")))
    }

    /// Finds a case and checks it is in one of `from`.
    fn case_in(
        &self,
        case_id: i64,
        action: &str,
        from: &[CaseStatus],
    ) -> Result<usize, DomainError> {
        let i = self.case_index(case_id)?;
        let status = self.cases[i].status;
        if !from.contains(&status) {
            return Err(self.illegal(action, format!("case {case_id}"), status));
        }
        Ok(i)
    }

    fn set_case(&mut self, i: usize, status: CaseStatus, now: DateTime<Utc>) {
        self.cases[i].status = status;
        self.cases[i].updated_at = now;
    }

    /// Checks that `authority` may take a (new) case of this appeal; `field` names it in errors.
    fn check_new_holder(&self, authority: &AuthorityRef, field: &str) -> Result<(), DomainError> {
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

    /// Checks a deadline an analyst sets for a case.
    fn check_deadline(&self, field: &str, date: NaiveDate) -> Result<NaiveDate, DomainError> {
        let received = deadline::kyiv_date(self.appeal.received_at);
        let latest = deadline::latest_deadline(self.appeal.received_at);
        if date < received {
            return Err(DomainError::invalid(
                field,
                format!("{date} is before the appeal was received ({received})"),
            ));
        }
        if date > latest {
            return Err(DomainError::invalid(
                field,
                format!("{date} is past the 45-day limit of art. 20 (latest {latest})"),
            ));
        }
        Ok(date)
    }

    fn new_case(&mut self, authority: &str, deadline: NaiveDate, now: DateTime<Utc>) -> usize {
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
            answered_at: None,
            answered_late: None,
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
            return AppealStatus::Registered;
        }
        if live.contains(&CaseStatus::Returned) {
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
    fn move_appeal(
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
    fn refresh(&mut self, now: DateTime<Utc>, mut events: Vec<CaseEvent>) -> Vec<CaseEvent> {
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

    /// Assigns the appeal to one or more authorities, each with a deadline (the legal one when `None`).
    pub fn assign(
        &mut self,
        assignments: &[(AuthorityRef, Option<NaiveDate>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("assign")?;
        if self.appeal.status == AppealStatus::AwaitingConfirmation {
            return Err(self.illegal("assign", self.subject(), self.appeal.status));
        }
        if assignments.is_empty() {
            return Err(DomainError::invalid(
                "assignments",
                "at least one authority is required",
            ));
        }
        let mut deadlines = Vec::with_capacity(assignments.len());
        for (i, (authority, date)) in assignments.iter().enumerate() {
            let field = format!("assignments[{i}].authority_code");
            self.check_new_holder(authority, &field)?;
            if assignments[..i]
                .iter()
                .any(|(a, _)| a.code == authority.code)
            {
                return Err(DomainError::invalid(
                    field,
                    format!("`{}` is named twice", authority.code),
                ));
            }
            deadlines.push(match date {
                Some(d) => self.check_deadline(&format!("assignments[{i}].deadline"), *d)?,
                None => self.appeal.deadline,
            });
        }
        let mut events = Vec::new();
        for ((authority, _), deadline) in assignments.iter().zip(deadlines) {
            let i = self.new_case(&authority.code, deadline, now);
            events.push(event(
                Some(i),
                EventKind::CaseAssigned,
                json!({ "authority": authority.code, "deadline": deadline.to_string() }),
            ));
        }
        Ok(self.refresh(now, events))
    }

    /// Moves a case to another authority; the old case ends as reassigned.
    pub fn reassign(
        &mut self,
        case_id: i64,
        to: &AuthorityRef,
        reason: &str,
        new_deadline: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("reassign a case of")?;
        let from = self.case_in(
            case_id,
            "reassign",
            &[
                CaseStatus::Assigned,
                CaseStatus::Delivered,
                CaseStatus::Accepted,
                CaseStatus::InProgress,
                CaseStatus::Returned,
                CaseStatus::Declined,
                CaseStatus::ClarificationRequested,
            ],
        )?;
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        self.check_new_holder(to, "authority_code")?;
        let deadline = match new_deadline {
            Some(d) => self.check_deadline("deadline", d)?,
            None => self.cases[from].deadline,
        };
        let old_authority = self.cases[from].authority_code.clone();
        self.set_case(from, CaseStatus::Reassigned, now);
        self.cases[from].reason = reason.clone();
        let new = self.new_case(&to.code, deadline, now);
        let events = vec![
            event(
                Some(from),
                EventKind::CaseReassigned,
                json!({ "to": to.code, "reason": reason }),
            ),
            event(
                Some(new),
                EventKind::CaseAssigned,
                json!({ "authority": to.code, "deadline": deadline.to_string(), "from": old_authority }),
            ),
        ];
        Ok(self.refresh(now, events))
    }

    /// Extends a case's deadline with a recorded reason, to at most 45 days from receipt.
    pub fn extend_deadline(
        &mut self,
        case_id: i64,
        new_deadline: NaiveDate,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("extend a deadline of")?;
        let i = self.case_index(case_id)?;
        let status = self.cases[i].status;
        if !status.awaits_answer() {
            return Err(self.illegal("extend the deadline", format!("case {case_id}"), status));
        }
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let current = self.cases[i].deadline;
        if new_deadline <= current {
            return Err(DomainError::invalid(
                "deadline",
                format!("{new_deadline} is not later than the current deadline {current}"),
            ));
        }
        let new_deadline = self.check_deadline("deadline", new_deadline)?;
        let case = &mut self.cases[i];
        case.deadline = new_deadline;
        case.extension_reason = reason.clone();
        // A new deadline is announced afresh.
        case.due_soon_at = None;
        case.overdue_at = None;
        case.updated_at = now;
        self.appeal.updated_at = now;
        Ok(vec![event(
            Some(i),
            EventKind::DeadlineExtended,
            json!({ "from": current.to_string(), "to": new_deadline.to_string(), "reason": reason }),
        )])
    }

    /// The analyst's check of a resolved case.
    pub fn verify(
        &mut self,
        case_id: i64,
        verdict: Verdict,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("verify an answer of")?;
        let i = self.case_in(case_id, "verify the answer", &[CaseStatus::Resolved])?;
        let events = match verdict {
            Verdict::Accept => {
                self.set_case(i, CaseStatus::Verified, now);
                vec![event(Some(i), EventKind::AnswerVerified, json!({}))]
            }
            Verdict::Return => {
                let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
                self.set_case(i, CaseStatus::Returned, now);
                self.cases[i].reason = reason.clone();
                self.cases[i].returned_count += 1;
                vec![event(
                    Some(i),
                    EventKind::AnswerReturned,
                    json!({ "reason": reason, "by": "analyst" }),
                )]
            }
        };
        Ok(self.refresh(now, events))
    }

    /// Ends every case still running: verified ones close, the rest are cancelled.
    fn end_cases(&mut self, now: DateTime<Utc>, events: &mut Vec<CaseEvent>) {
        for i in 0..self.cases.len() {
            let status = self.cases[i].status;
            if status.is_final() {
                continue;
            }
            let (to, kind) = if status == CaseStatus::Verified {
                (CaseStatus::Closed, EventKind::CaseClosed)
            } else {
                (CaseStatus::Cancelled, EventKind::CaseCancelled)
            };
            self.set_case(i, to, now);
            events.push(event(Some(i), kind, json!({})));
        }
    }

    /// The operator's call-back to the citizen.
    pub fn record_callback(
        &mut self,
        outcome: CallbackOutcome,
        note: &str,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        if self.appeal.status != AppealStatus::AwaitingConfirmation {
            return Err(self.illegal("record a call-back for", self.subject(), self.appeal.status));
        }
        let note = match outcome {
            CallbackOutcome::NotConfirmed => required_text("note", note, MAX_REASON_CHARS)?,
            _ => bounded_text("note", note, MAX_REASON_CHARS)?,
        };
        let mut events = Vec::new();
        match outcome {
            CallbackOutcome::Confirmed => {
                events.push(event(
                    None,
                    EventKind::CallbackRecorded,
                    json!({ "outcome": "confirmed" }),
                ));
                self.end_cases(now, &mut events);
                events.push(event(None, EventKind::AppealClosed, json!({})));
                self.move_appeal(AppealStatus::Closed, "", now, &mut events);
            }
            CallbackOutcome::NotConfirmed => {
                events.push(event(
                    None,
                    EventKind::CallbackRecorded,
                    json!({ "outcome": "not_confirmed", "note": note }),
                ));
                for i in 0..self.cases.len() {
                    if self.cases[i].status == CaseStatus::Verified {
                        self.set_case(i, CaseStatus::Returned, now);
                        self.cases[i].reason = format!("citizen not satisfied: {note}");
                        self.cases[i].returned_count += 1;
                        events.push(event(
                            Some(i),
                            EventKind::AnswerReturned,
                            json!({ "reason": note, "by": "citizen" }),
                        ));
                    }
                }
                self.appeal.callback_attempts = 0;
                events = self.refresh(now, events);
            }
            CallbackOutcome::Unreachable => {
                self.appeal.callback_attempts += 1;
                let attempts = self.appeal.callback_attempts;
                events.push(event(
                    None,
                    EventKind::CallbackRecorded,
                    json!({ "outcome": "unreachable", "attempt": attempts, "note": note }),
                ));
                if attempts >= limits.max_callback_attempts {
                    let reason = format!("citizen unreachable after {attempts} call-back attempts");
                    self.end_cases(now, &mut events);
                    events.push(event(
                        None,
                        EventKind::AppealClosedUnconfirmed,
                        json!({ "reason": reason }),
                    ));
                    self.move_appeal(AppealStatus::ClosedUnconfirmed, &reason, now, &mut events);
                } else {
                    self.appeal.updated_at = now;
                }
            }
        }
        Ok(events)
    }

    /// Ends the appeal without a confirmed answer.
    pub fn close(
        &mut self,
        outcome: CloseOutcome,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("close")?;
        if outcome == CloseOutcome::Unconfirmed
            && self.appeal.status != AppealStatus::AwaitingConfirmation
        {
            return Err(self.illegal("close unconfirmed", self.subject(), self.appeal.status));
        }
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let mut events = Vec::new();
        self.end_cases(now, &mut events);
        let (kind, status) = match outcome {
            CloseOutcome::NotConsidered => {
                (EventKind::AppealNotConsidered, AppealStatus::NotConsidered)
            }
            CloseOutcome::Unconfirmed => (
                EventKind::AppealClosedUnconfirmed,
                AppealStatus::ClosedUnconfirmed,
            ),
        };
        events.push(event(None, kind, json!({ "reason": reason })));
        self.move_appeal(status, &reason, now, &mut events);
        Ok(events)
    }

    // --- What the authority does (through the agency gateway; through the store until it lands) ---

    /// The case reached the authority's agency client.
    pub fn deliver(
        &mut self,
        case_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(case_id, "deliver", &[CaseStatus::Assigned])?;
        self.set_case(i, CaseStatus::Delivered, now);
        Ok(self.refresh(
            now,
            vec![event(Some(i), EventKind::CaseDelivered, json!({}))],
        ))
    }

    /// The authority accepts the case as within its competence.
    pub fn accept(
        &mut self,
        case_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(
            case_id,
            "accept",
            &[CaseStatus::Assigned, CaseStatus::Delivered],
        )?;
        self.set_case(i, CaseStatus::Accepted, now);
        Ok(self.refresh(
            now,
            vec![event(Some(i), EventKind::CaseAccepted, json!({}))],
        ))
    }

    /// The authority declines the case; an analyst must re-route it within 5 days (art. 7).
    pub fn decline(
        &mut self,
        case_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(
            case_id,
            "decline",
            &[
                CaseStatus::Assigned,
                CaseStatus::Delivered,
                CaseStatus::Accepted,
            ],
        )?;
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        self.set_case(i, CaseStatus::Declined, now);
        self.cases[i].reason = reason.clone();
        self.cases[i].declined_at = Some(now);
        let detail =
            json!({ "reason": reason, "reroute_by": deadline::reroute_by(now).to_string() });
        Ok(self.refresh(now, vec![event(Some(i), EventKind::CaseDeclined, detail)]))
    }

    /// The authority reports work in progress (also how it picks up a returned case).
    pub fn report_progress(
        &mut self,
        case_id: i64,
        comment: &str,
        planned: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(
            case_id,
            "report progress on",
            &[
                CaseStatus::Accepted,
                CaseStatus::InProgress,
                CaseStatus::Returned,
            ],
        )?;
        let comment = required_text("comment", comment, MAX_REASON_CHARS)?;
        self.set_case(i, CaseStatus::InProgress, now);
        let detail = json!({ "comment": comment, "planned": planned.map(|d| d.to_string()) });
        Ok(self.refresh(
            now,
            vec![event(Some(i), EventKind::ProgressReported, detail)],
        ))
    }

    /// The authority asks the contact centre a question.
    pub fn request_clarification(
        &mut self,
        case_id: i64,
        question: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(
            case_id,
            "ask about",
            &[
                CaseStatus::Accepted,
                CaseStatus::InProgress,
                CaseStatus::Returned,
            ],
        )?;
        let question = required_text("question", question, MAX_REASON_CHARS)?;
        self.set_case(i, CaseStatus::ClarificationRequested, now);
        let detail = json!({ "question": question });
        Ok(self.refresh(
            now,
            vec![event(Some(i), EventKind::ClarificationRequested, detail)],
        ))
    }

    /// The contact centre answers the authority's question; work resumes.
    pub fn answer_clarification(
        &mut self,
        case_id: i64,
        answer: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(
            case_id,
            "answer a question on",
            &[CaseStatus::ClarificationRequested],
        )?;
        let answer = required_text("answer", answer, MAX_REASON_CHARS)?;
        self.set_case(i, CaseStatus::InProgress, now);
        let detail = json!({ "answer": answer });
        Ok(self.refresh(
            now,
            vec![event(Some(i), EventKind::ClarificationAnswered, detail)],
        ))
    }

    /// The authority submits its result.
    pub fn resolve(
        &mut self,
        case_id: i64,
        answer: &str,
        measures: &str,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(
            case_id,
            "submit a result for",
            &[
                CaseStatus::Accepted,
                CaseStatus::InProgress,
                CaseStatus::Returned,
            ],
        )?;
        let answer = required_text("answer", answer, limits.max_text_chars)?;
        let measures = bounded_text("measures", measures, limits.max_text_chars)?;
        let chars = answer.chars().count();
        self.set_case(i, CaseStatus::Resolved, now);
        self.cases[i].answer = answer;
        self.cases[i].measures = measures;
        if self.cases[i].answered_at.is_none() {
            self.cases[i].answered_at = Some(now);
            self.cases[i].answered_late = Some(deadline::is_overdue(self.cases[i].deadline, now));
        }
        self.cases[i].reason.clear();
        Ok(self.refresh(
            now,
            vec![event(
                Some(i),
                EventKind::CaseResolved,
                json!({ "answer_chars": chars }),
            )],
        ))
    }

    /// The deadline monitor's step: announces, once per deadline, cases that still owe an answer and
    /// are due within `due_soon_days` (Kyiv calendar days) or past their deadline. No events: nothing to do.
    pub fn mark_deadlines(&mut self, due_soon_days: u64, now: DateTime<Utc>) -> Vec<CaseEvent> {
        let today = deadline::kyiv_date(now);
        let mut events = Vec::new();
        for (i, case) in self.cases.iter_mut().enumerate() {
            if !case.status.awaits_answer() || self.appeal.status.is_final() {
                continue;
            }
            let detail = json!({ "deadline": case.deadline.to_string() });
            if case.overdue_at.is_none() && deadline::is_overdue(case.deadline, now) {
                case.overdue_at = Some(now);
                // An overdue case needs no "due soon" any more.
                case.due_soon_at.get_or_insert(now);
                events.push(event(Some(i), EventKind::CaseOverdue, detail));
            } else if case.due_soon_at.is_none()
                && case.overdue_at.is_none()
                && case.deadline <= today + chrono::Days::new(due_soon_days)
            {
                case.due_soon_at = Some(now);
                events.push(event(Some(i), EventKind::CaseDueSoon, detail));
            }
        }
        if !events.is_empty() {
            self.appeal.updated_at = now;
        }
        events
    }

    /// Checks that `case_id` is one of `authority`'s cases. Another authority's case is reported
    /// exactly like a missing one, so an authority cannot learn that it exists.
    pub fn case_of(&self, case_id: i64, authority: &str) -> Result<usize, DomainError> {
        match self.cases.iter().position(|c| c.id == case_id) {
            Some(i) if self.cases[i].authority_code == authority => Ok(i),
            _ => Err(DomainError::NotFound(format!("case {case_id}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;
    use crate::domain::card::tests::{input, now, refs};

    fn authority(code: &str) -> AuthorityRef {
        AuthorityRef {
            code: code.into(),
            active: true,
        }
    }

    /// A registered appeal with ids given to its future cases as the store would.
    fn registered() -> AppealState {
        let checked = input().check(&refs(), &Limits::default(), now()).unwrap();
        let (mut state, events) = AppealState::register("DP-2026-000001".into(), checked, now());
        assert_eq!(events[0].kind, EventKind::AppealRegistered);
        state.appeal.id = 1;
        state
    }

    fn store_ids(state: &mut AppealState) {
        for (i, case) in state.cases.iter_mut().enumerate() {
            if case.id == 0 {
                case.id = 10 + i as i64;
            }
        }
    }

    fn assigned(codes: &[&str]) -> AppealState {
        let mut state = registered();
        let list: Vec<_> = codes.iter().map(|c| (authority(c), None)).collect();
        state.assign(&list, now()).unwrap();
        store_ids(&mut state);
        state
    }

    fn kinds(events: &[CaseEvent]) -> Vec<&'static str> {
        events.iter().map(|e| e.kind.code()).collect()
    }

    /// Drives case `id` to resolved.
    fn resolved(state: &mut AppealState, id: i64) {
        state.deliver(id, now()).unwrap();
        state.accept(id, now()).unwrap();
        state.report_progress(id, "working", None, now()).unwrap();
        state
            .resolve(id, "fixed the pipe", "", &Limits::default(), now())
            .unwrap();
    }

    #[test]
    fn full_lifecycle_with_two_authorities() {
        let mut s = assigned(&["vodokanal", "city-council"]);
        assert_eq!(s.appeal.status, AppealStatus::Assigned);
        assert_eq!(s.cases.len(), 2);
        assert_eq!(s.cases[0].deadline, s.appeal.deadline);

        resolved(&mut s, 10);
        assert_eq!(s.appeal.status, AppealStatus::InProgress);
        resolved(&mut s, 11);
        assert_eq!(s.appeal.status, AppealStatus::Answered);

        s.verify(10, Verdict::Accept, "", now()).unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Answered);
        let events = s.verify(11, Verdict::Accept, "", now()).unwrap();
        assert_eq!(kinds(&events), ["case.verified", "appeal.status_changed"]);
        assert_eq!(s.appeal.status, AppealStatus::AwaitingConfirmation);

        let events = s
            .record_callback(CallbackOutcome::Confirmed, "", &Limits::default(), now())
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Closed);
        assert!(s.cases.iter().all(|c| c.status == CaseStatus::Closed));
        assert!(kinds(&events).contains(&"appeal.closed"));
    }

    #[test]
    fn rework_loop_after_the_analyst_returns_an_answer() {
        let mut s = assigned(&["vodokanal"]);
        resolved(&mut s, 10);
        let before = s.clone();
        assert!(
            s.verify(10, Verdict::Return, " ", now()).is_err(),
            "a return needs a reason"
        );
        assert_eq!(s, before, "a refused transition changes nothing");

        s.verify(10, Verdict::Return, "no date of repair given", now())
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Returned);
        assert_eq!(s.cases[0].status, CaseStatus::Returned);
        assert_eq!(s.appeal.status_reason, "no date of repair given");

        s.report_progress(10, "reworking", None, now()).unwrap();
        assert_eq!(s.appeal.status, AppealStatus::InProgress);
        s.resolve(
            10,
            "repaired on 12 March",
            "pipe replaced",
            &Limits::default(),
            now(),
        )
        .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Answered);
        assert!(s.cases[0].reason.is_empty());
    }

    #[test]
    fn citizen_not_satisfied_sends_verified_cases_back() {
        let mut s = assigned(&["vodokanal"]);
        resolved(&mut s, 10);
        s.verify(10, Verdict::Accept, "", now()).unwrap();
        assert!(
            s.record_callback(CallbackOutcome::NotConfirmed, "", &Limits::default(), now())
                .is_err()
        );
        s.record_callback(
            CallbackOutcome::NotConfirmed,
            "still no water",
            &Limits::default(),
            now(),
        )
        .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Returned);
        assert_eq!(s.cases[0].status, CaseStatus::Returned);
        // a returned case can also be answered again directly
        s.resolve(10, "water back", "", &Limits::default(), now())
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Answered);
    }

    #[test]
    fn unreachable_citizen_closes_unconfirmed_after_the_configured_attempts() {
        let limits = Limits {
            max_callback_attempts: 2,
            ..Limits::default()
        };
        let mut s = assigned(&["vodokanal"]);
        resolved(&mut s, 10);
        s.verify(10, Verdict::Accept, "", now()).unwrap();
        s.record_callback(CallbackOutcome::Unreachable, "", &limits, now())
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::AwaitingConfirmation);
        assert_eq!(s.appeal.callback_attempts, 1);
        s.record_callback(CallbackOutcome::Unreachable, "", &limits, now())
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::ClosedUnconfirmed);
        assert_eq!(s.cases[0].status, CaseStatus::Closed);
        let err = s
            .record_callback(CallbackOutcome::Confirmed, "", &limits, now())
            .unwrap_err();
        assert!(matches!(err, DomainError::IllegalTransition { .. }));
    }

    #[test]
    fn the_monitor_announces_each_deadline_once() {
        let mut s = assigned(&["vodokanal"]);
        let deadline = s.cases[0].deadline;
        let at = |d: NaiveDate| d.and_hms_opt(9, 0, 0).unwrap().and_utc();
        assert!(
            s.mark_deadlines(3, at(deadline - chrono::Days::new(5)))
                .is_empty()
        );
        let due = s.mark_deadlines(3, at(deadline - chrono::Days::new(3)));
        assert_eq!(kinds(&due), ["case.due_soon"]);
        assert!(
            s.mark_deadlines(3, at(deadline - chrono::Days::new(2)))
                .is_empty(),
            "once"
        );
        let late = s.mark_deadlines(3, at(deadline + chrono::Days::new(1)));
        assert_eq!(kinds(&late), ["case.overdue"]);
        assert!(
            s.mark_deadlines(3, at(deadline + chrono::Days::new(2)))
                .is_empty(),
            "once"
        );
        // An extension announces the new deadline afresh.
        let new = deadline::latest_deadline(s.appeal.received_at);
        s.extend_deadline(10, new, "inspection", at(deadline + chrono::Days::new(1)))
            .unwrap();
        assert!(
            s.mark_deadlines(3, at(deadline + chrono::Days::new(2)))
                .is_empty()
        );
        assert_eq!(kinds(&s.mark_deadlines(3, at(new))), ["case.due_soon"]);
        // Answered cases are not announced.
        resolved(&mut s, 10);
        assert!(
            s.mark_deadlines(3, at(new + chrono::Days::new(1)))
                .is_empty()
        );
        assert!(s.cases[0].answered_at.is_some());
    }

    #[test]
    fn a_complaint_never_goes_to_the_authority_it_is_about() {
        let mut card = input();
        card.complained_authority_code = "city-council".into();
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        let (mut s, _) = AppealState::register("DP-2026-000002".into(), checked, now());
        let err = s
            .assign(&[(authority("city-council"), None)], now())
            .unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid { ref field, .. } if field == "assignments[0].authority_code")
        );
        assert!(s.cases.is_empty());
        s.assign(&[(authority("vodokanal"), None)], now()).unwrap();
        store_ids(&mut s);
        let err = s
            .reassign(10, &authority("city-council"), "wrong body", None, now())
            .unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "authority_code"));
    }

    #[test]
    fn assignment_checks() {
        let mut s = registered();
        let late = deadline::latest_deadline(s.appeal.received_at) + chrono::Days::new(1);
        type Assignments = Vec<(AuthorityRef, Option<NaiveDate>)>;
        let bad: Vec<(Assignments, &str)> = vec![
            (vec![], "assignments"),
            (
                vec![(
                    AuthorityRef {
                        code: "x".into(),
                        active: false,
                    },
                    None,
                )],
                "assignments[0].authority_code",
            ),
            (
                vec![(authority("a"), None), (authority("a"), None)],
                "assignments[1].authority_code",
            ),
            (
                vec![(authority("a"), Some(late))],
                "assignments[0].deadline",
            ),
            (
                vec![(authority("a"), NaiveDate::from_ymd_opt(2026, 1, 1))],
                "assignments[0].deadline",
            ),
        ];
        let before = s.clone();
        for (list, field) in bad {
            let err = s.assign(&list, now()).unwrap_err();
            assert!(
                matches!(err, DomainError::Invalid { field: ref f, .. } if f == field),
                "{err:?}"
            );
            assert_eq!(s, before);
        }
        let ok = deadline::latest_deadline(s.appeal.received_at);
        s.assign(&[(authority("a"), Some(ok))], now()).unwrap();
        assert_eq!(s.cases[0].deadline, ok);
        store_ids(&mut s);
        let err = s.assign(&[(authority("a"), None)], now()).unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid { .. }),
            "one open case per authority"
        );
    }

    #[test]
    fn declined_case_is_rerouted() {
        let mut s = assigned(&["wrong-body"]);
        s.deliver(10, now()).unwrap();
        assert!(s.decline(10, "", now()).is_err());
        let events = s.decline(10, "not our competence", now()).unwrap();
        assert_eq!(events[0].detail["reroute_by"], "2026-03-15");
        assert_eq!(s.cases[0].declined_at, Some(now()));
        assert_eq!(s.appeal.status, AppealStatus::Assigned);
        assert!(
            s.reassign(10, &authority("right-body"), "", None, now())
                .is_err()
        );
        let events = s
            .reassign(10, &authority("right-body"), "competent body", None, now())
            .unwrap();
        assert_eq!(kinds(&events)[..2], ["case.reassigned", "case.assigned"]);
        assert_eq!(s.cases[0].status, CaseStatus::Reassigned);
        assert_eq!(s.cases[1].status, CaseStatus::Assigned);
        assert_eq!(s.cases[1].deadline, s.cases[0].deadline);
        // the old authority may get it again later: its case is final
        store_ids(&mut s);
        assert!(s.reassign(10, &authority("x"), "r", None, now()).is_err());
    }

    #[test]
    fn deadline_extension_needs_a_reason_and_stays_within_45_days() {
        let mut s = assigned(&["vodokanal"]);
        let latest = deadline::latest_deadline(s.appeal.received_at);
        let current = s.cases[0].deadline;
        let before = s.clone();
        assert!(matches!(
            s.extend_deadline(10, latest, " ", now()).unwrap_err(),
            DomainError::Invalid { ref field, .. } if field == "reason"
        ));
        assert!(matches!(
            s.extend_deadline(10, latest + chrono::Days::new(1), "study", now()).unwrap_err(),
            DomainError::Invalid { ref field, .. } if field == "deadline"
        ));
        assert!(matches!(
            s.extend_deadline(10, current, "study", now()).unwrap_err(),
            DomainError::Invalid { ref field, .. } if field == "deadline"
        ));
        assert!(matches!(
            s.extend_deadline(99, latest, "study", now()).unwrap_err(),
            DomainError::NotFound(_)
        ));
        assert_eq!(s, before);
        s.extend_deadline(10, latest, "needs an inspection", now())
            .unwrap();
        assert_eq!(s.cases[0].deadline, latest);
        assert_eq!(s.cases[0].extension_reason, "needs an inspection");
    }

    #[test]
    fn not_considered_cancels_open_cases_and_is_final() {
        let mut s = assigned(&["a", "b"]);
        assert!(
            s.close(CloseOutcome::Unconfirmed, "x", now()).is_err(),
            "only after answers"
        );
        s.close(
            CloseOutcome::NotConsidered,
            "duplicate of a court case",
            now(),
        )
        .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::NotConsidered);
        assert!(s.cases.iter().all(|c| c.status == CaseStatus::Cancelled));
        for attempt in [
            s.clone().assign(&[(authority("c"), None)], now()),
            s.clone().close(CloseOutcome::NotConsidered, "again", now()),
            s.clone().verify(10, Verdict::Accept, "", now()),
        ] {
            assert!(matches!(
                attempt.unwrap_err(),
                DomainError::IllegalTransition { .. }
            ));
        }
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

    /// Every case transition from every case state: exactly the legal ones succeed.
    #[test]
    fn case_transition_table() {
        type Step = fn(&mut AppealState) -> Result<Vec<CaseEvent>, DomainError>;
        let steps: Vec<(&str, Step, &[CaseStatus])> = vec![
            ("deliver", |s| s.deliver(10, now()), &[CaseStatus::Assigned]),
            (
                "accept",
                |s| s.accept(10, now()),
                &[CaseStatus::Assigned, CaseStatus::Delivered],
            ),
            (
                "decline",
                |s| s.decline(10, "r", now()),
                &[
                    CaseStatus::Assigned,
                    CaseStatus::Delivered,
                    CaseStatus::Accepted,
                ],
            ),
            (
                "progress",
                |s| s.report_progress(10, "c", None, now()),
                &[
                    CaseStatus::Accepted,
                    CaseStatus::InProgress,
                    CaseStatus::Returned,
                ],
            ),
            (
                "ask",
                |s| s.request_clarification(10, "q", now()),
                &[
                    CaseStatus::Accepted,
                    CaseStatus::InProgress,
                    CaseStatus::Returned,
                ],
            ),
            (
                "answer question",
                |s| s.answer_clarification(10, "a", now()),
                &[CaseStatus::ClarificationRequested],
            ),
            (
                "resolve",
                |s| s.resolve(10, "a", "", &Limits::default(), now()),
                &[
                    CaseStatus::Accepted,
                    CaseStatus::InProgress,
                    CaseStatus::Returned,
                ],
            ),
            (
                "verify",
                |s| s.verify(10, Verdict::Accept, "", now()),
                &[CaseStatus::Resolved],
            ),
            (
                "return",
                |s| s.verify(10, Verdict::Return, "r", now()),
                &[CaseStatus::Resolved],
            ),
            (
                "reassign",
                |s| s.reassign(10, &authority("other"), "r", None, now()),
                &[
                    CaseStatus::Assigned,
                    CaseStatus::Delivered,
                    CaseStatus::Accepted,
                    CaseStatus::InProgress,
                    CaseStatus::Returned,
                    CaseStatus::Declined,
                    CaseStatus::ClarificationRequested,
                ],
            ),
            (
                "extend",
                |s| {
                    let to = deadline::latest_deadline(s.appeal.received_at);
                    s.extend_deadline(10, to, "r", now())
                },
                &[
                    CaseStatus::Assigned,
                    CaseStatus::Delivered,
                    CaseStatus::Accepted,
                    CaseStatus::InProgress,
                    CaseStatus::Returned,
                    CaseStatus::Declined,
                    CaseStatus::ClarificationRequested,
                ],
            ),
        ];
        for (name, step, legal) in steps {
            for &from in CaseStatus::ALL {
                let mut s = assigned(&["vodokanal"]);
                s.cases[0].status = from;
                let before = s.clone();
                let result = step(&mut s);
                if legal.contains(&from) {
                    assert!(
                        result.is_ok(),
                        "{name} from {from} should be legal: {result:?}"
                    );
                    assert!(!result.unwrap().is_empty());
                } else {
                    let err = result.unwrap_err();
                    assert!(
                        matches!(err, DomainError::IllegalTransition { ref current, .. } if current == from.code()),
                        "{name} from {from}: {err:?}"
                    );
                    assert_eq!(s, before, "{name} from {from} changed the state");
                }
            }
        }
    }

    /// Every appeal-level transition from every appeal state.
    #[test]
    fn appeal_transition_table() {
        type Step = fn(&mut AppealState) -> Result<Vec<CaseEvent>, DomainError>;
        let steps: Vec<(&str, Step, &[AppealStatus])> = vec![
            (
                "callback",
                |s| s.record_callback(CallbackOutcome::Unreachable, "", &Limits::default(), now()),
                &[AppealStatus::AwaitingConfirmation],
            ),
            (
                "close unconfirmed",
                |s| s.close(CloseOutcome::Unconfirmed, "r", now()),
                &[AppealStatus::AwaitingConfirmation],
            ),
            (
                "not considered",
                |s| s.close(CloseOutcome::NotConsidered, "r", now()),
                &[
                    AppealStatus::Registered,
                    AppealStatus::Assigned,
                    AppealStatus::InProgress,
                    AppealStatus::Answered,
                    AppealStatus::AwaitingConfirmation,
                    AppealStatus::Returned,
                ],
            ),
            (
                "assign",
                |s| s.assign(&[(authority("new"), None)], now()),
                &[
                    AppealStatus::Registered,
                    AppealStatus::Assigned,
                    AppealStatus::InProgress,
                    AppealStatus::Answered,
                    AppealStatus::Returned,
                ],
            ),
        ];
        for (name, step, legal) in steps {
            for &from in AppealStatus::ALL {
                let mut s = registered();
                s.appeal.status = from;
                let before = s.clone();
                let result = step(&mut s);
                if legal.contains(&from) {
                    assert!(result.is_ok(), "{name} from {from}: {result:?}");
                } else {
                    assert!(
                        matches!(result, Err(DomainError::IllegalTransition { .. })),
                        "{name} from {from}: {result:?}"
                    );
                    assert_eq!(s, before);
                }
            }
        }
    }
}
