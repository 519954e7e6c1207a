//! What the event log records: the kinds of events a transition produces, the event before and after
//! the store gives it a position, and who caused it. Events never carry a citizen's personal data.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{DomainError, coded_enum};

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
        /// The appeal continues in a linked follow-up appeal.
        AppealContinued = "appeal.continued",
        /// The appeal was still unassigned after the configured time (art. 7).
        AppealUnassigned = "appeal.unassigned",
        /// A case was assigned to an authority.
        CaseAssigned = "case.assigned",
        /// A case was moved away from its authority.
        CaseReassigned = "case.reassigned",
        /// A case's deadline was extended.
        DeadlineExtended = "case.deadline_extended",
        /// The authority asked for more time.
        ExtensionRequested = "case.extension_requested",
        /// The analyst refused the authority more time.
        ExtensionRefused = "case.extension_refused",
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
        /// The case's part changed: sole, lead executor or co-executor.
        RoleChanged = "case.role_changed",
        /// (On the lead's case.) A co-executor submitted its part.
        PartSubmitted = "case.part_submitted",
        /// (On the lead's case.) The analyst returned a co-executor's part.
        PartReturned = "case.part_returned",
        /// The appeal was attached to an incident (a mass appeal).
        AttachedToIncident = "appeal.attached_to_incident",
        /// The appeal was answered through its incident's answer.
        AnsweredViaIncident = "appeal.answered_via_incident",
        /// The appeal left its incident (not confirmed: handled on its own again).
        DetachedFromIncident = "appeal.detached_from_incident",
        /// Forwarded up to an exchange partner, outside the oblast's competence (art. 7).
        ForwardedUp = "appeal.forwarded_up",
    }
}

impl EventKind {
    /// True when the event's details carry free text people wrote (a note, reason, comment,
    /// question or answer), which may mention the citizen: reading it is reading the appeal.
    pub fn carries_free_text(self) -> bool {
        matches!(
            self,
            Self::CallbackRecorded
                | Self::AppealClosedUnconfirmed
                | Self::AppealNotConsidered
                | Self::AppealContinued
                | Self::ExtensionRequested
                | Self::ExtensionRefused
                | Self::CaseReassigned
                | Self::DeadlineExtended
                | Self::CaseDeclined
                | Self::ProgressReported
                | Self::ClarificationRequested
                | Self::ClarificationAnswered
                | Self::AnswerReturned
                | Self::PartReturned
                | Self::AnsweredViaIncident
                | Self::DetachedFromIncident
                | Self::ForwardedUp
        )
    }
}

/// One event produced by a transition, before the store gives it a position in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEvent {
    /// Index into [`super::AppealState::cases`] of the case it concerns; `None` for an appeal-level event.
    pub case: Option<usize>,
    /// What happened.
    pub kind: EventKind,
    /// Details (never personal data).
    pub detail: Value,
}

/// Shorthand for a transition's event.
pub(crate) fn event(case: Option<usize>, kind: EventKind, detail: Value) -> CaseEvent {
    CaseEvent { case, kind, detail }
}

/// Who made a change or a read, and through which RPC: recorded with the events and in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal (`staff:operator:ivan`, `agency:vodokanal`, `system`).
    pub principal: String,
    /// The RPC or command (`/hotline.v1.AppealRegistry/AssignAppeal`, `hub serve`).
    pub rpc: String,
}

impl Caller {
    /// The hub itself, doing `what`.
    pub fn system(what: &str) -> Self {
        Self {
            principal: "system".into(),
            rpc: what.into(),
        }
    }
}

/// A position in the event log. Events are ordered by (transaction id, event id): on PostgreSQL
/// transactions may commit out of id order, so the position of an event is the transaction that
/// wrote it first, then its id. On SQLite the transaction id is always 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Cursor {
    /// Transaction id of the event (PostgreSQL); 0 on SQLite.
    pub txid: i64,
    /// Event id.
    pub id: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.txid, self.id)
    }
}

impl FromStr for Cursor {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        let bad = || {
            DomainError::invalid(
                "cursor",
                format!(
                    "`{}` is not a cursor this hub gave out",
                    super::text::echo(s)
                ),
            )
        };
        let (txid, id) = s.split_once('.').ok_or_else(bad)?;
        let txid: i64 = txid.parse().map_err(|_| bad())?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        if txid < 0 || id < 0 {
            return Err(bad());
        }
        Ok(Self { txid, id })
    }
}

/// One event as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position.
    pub cursor: Cursor,
    /// Number of its appeal.
    pub appeal_number: String,
    /// Its case, for a case event.
    pub case_id: Option<i64>,
    /// The case's authority, for a case event.
    pub authority_code: Option<String>,
    /// Event kind code.
    pub kind: String,
    /// JSON details.
    pub detail: String,
    /// Who did it.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_the_hub_never_gave_out() {
        let c = Cursor { txid: 7, id: 42 };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        assert_eq!("".parse::<Cursor>().unwrap(), Cursor::default());
        for bad in ["42", "a.b", "-1.3", "1.-3", "1.2.3"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
        let long = "9".repeat(20_000);
        let err = long.parse::<Cursor>().unwrap_err().to_string();
        assert!(
            err.len() < 200,
            "echoes a short prefix only: {} chars",
            err.len()
        );
    }
}
