//! One appeal assigned to one authority: the case, its states, and the one table saying which
//! action each state allows ([`CaseAction::allowed_from`]).

use chrono::{DateTime, NaiveDate, Utc};

use super::coded_enum;
use super::deadline;
use super::outcome::Outcome;

coded_enum! {
    /// An authority's part in an appeal several authorities act on.
    CaseRole {
        /// The only authority on the appeal.
        Sole = "sole",
        /// The lead executor (відповідальний виконавець): gathers the co-executors' parts and
        /// submits the consolidated answer.
        Lead = "lead",
        /// A co-executor: answers its part to the lead as well as to the hub.
        CoExecutor = "co_executor",
    }
}

coded_enum! {
    /// Where one authority's case stands.
    CaseStatus {
        /// Assigned, not yet delivered.
        Assigned = "assigned",
        /// Delivered to the agency client.
        Delivered = "delivered",
        /// Accepted by the authority.
        Accepted = "accepted",
        /// Being worked on (also after a return for rework).
        InProgress = "in_progress",
        /// Result submitted.
        Resolved = "resolved",
        /// Result accepted by an analyst.
        Verified = "verified",
        /// Result returned for rework.
        Returned = "returned",
        /// Appeal closed. Final.
        Closed = "closed",
        /// Declined by the authority; waits for re-routing.
        Declined = "declined",
        /// The authority asked a question.
        ClarificationRequested = "clarification_requested",
        /// Moved to another authority. Final.
        Reassigned = "reassigned",
        /// The appeal ended without an answer. Final.
        Cancelled = "cancelled",
    }
}

impl CaseStatus {
    /// True for the states a case never leaves.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Reassigned | Self::Cancelled)
    }

    /// True while the authority still owes an answer (the deadline runs).
    pub fn awaits_answer(self) -> bool {
        matches!(
            self,
            Self::Assigned
                | Self::Delivered
                | Self::Accepted
                | Self::InProgress
                | Self::Returned
                | Self::ClarificationRequested
                | Self::Declined
        )
    }
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
    /// Its authority's part when several act on one appeal.
    pub role: CaseRole,
    /// For an emergency, the instant it is due (`deadline` is that instant's Kyiv day).
    pub due_at: Option<DateTime<Utc>>,
    /// How the authority answered: the outcome of its latest result.
    pub outcome: Option<Outcome>,
    /// The legal reason of a refusal, or the body the appeal was forwarded to.
    pub outcome_detail: String,
    /// When the authority submitted its latest result.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When the answer an analyst accepted was submitted (the final accepted answer, for
    /// "answered on time"); `None` until one is accepted.
    pub answered_at: Option<DateTime<Utc>>,
    /// Whether that accepted answer came after the deadline day (Kyiv); `None` before one did.
    pub answered_late: Option<bool>,
    /// The new deadline the authority asked for, while its request waits for the analyst.
    pub extension_requested_to: Option<NaiveDate>,
    /// Why the authority asks for more time.
    pub extension_request_reason: String,
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
        self.status.awaits_answer()
            && match self.due_at {
                Some(due) => now > due,
                None => deadline::is_overdue(self.deadline, now),
            }
    }
}

/// What can be done to a case. Which statuses allow each action is written once, in
/// [`CaseAction::allowed_from`]; the transitions consult it, and so do the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    /// The agency client stored the case.
    Deliver,
    /// The authority accepts it.
    Accept,
    /// The authority declines it.
    Decline,
    /// The authority reports progress.
    ReportProgress,
    /// The authority asks a question.
    Ask,
    /// The contact centre answers the question.
    AnswerQuestion,
    /// The authority submits its result.
    Resolve,
    /// An analyst accepts or returns the result.
    Verify,
    /// An analyst moves the case to another authority.
    Reassign,
    /// An analyst extends the deadline.
    ExtendDeadline,
    /// The authority asks for more time.
    RequestExtension,
}

impl CaseAction {
    /// Every action.
    pub const ALL: &'static [CaseAction] = &[
        Self::Deliver,
        Self::Accept,
        Self::Decline,
        Self::ReportProgress,
        Self::Ask,
        Self::AnswerQuestion,
        Self::Resolve,
        Self::Verify,
        Self::Reassign,
        Self::ExtendDeadline,
        Self::RequestExtension,
    ];

    /// True when a case in `status` allows this action.
    pub fn allowed_from(self, status: CaseStatus) -> bool {
        use CaseStatus as S;
        match self {
            Self::Deliver => status == S::Assigned,
            Self::Accept => matches!(status, S::Assigned | S::Delivered),
            Self::Decline => matches!(status, S::Assigned | S::Delivered | S::Accepted),
            Self::ReportProgress | Self::Ask | Self::Resolve => {
                matches!(status, S::Accepted | S::InProgress | S::Returned)
            }
            Self::AnswerQuestion => status == S::ClarificationRequested,
            Self::Verify => status == S::Resolved,
            // While the authority owes an answer, the analyst may move the case or give more time.
            Self::Reassign | Self::ExtendDeadline => status.awaits_answer(),
            // The authority asks for more time while it works on the case.
            Self::RequestExtension => matches!(
                status,
                S::Accepted | S::InProgress | S::Returned | S::ClarificationRequested
            ),
        }
    }

    /// The action as an error message names it (`cannot accept: case 12 is closed`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Deliver => "deliver",
            Self::Accept => "accept",
            Self::Decline => "decline",
            Self::ReportProgress => "report progress on",
            Self::Ask => "ask about",
            Self::AnswerQuestion => "answer a question on",
            Self::Resolve => "submit a result for",
            Self::Verify => "verify the answer",
            Self::Reassign => "reassign",
            Self::ExtendDeadline => "extend the deadline",
            Self::RequestExtension => "ask for more time on",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::appeal::AppealState;
    use crate::domain::card::tests::now;
    use crate::domain::event::CaseEvent;
    use crate::domain::fixtures::{assigned, authority, resolved_outcome};
    use crate::domain::limits::Limits;
    use crate::domain::staff_actions::Verdict;
    use crate::domain::{DomainError, deadline};

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
                |s| s.resolve(10, "a", "", resolved_outcome(), &Limits::default(), now()),
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
                "ask for more time",
                |s| {
                    let to = deadline::latest_deadline(s.appeal.received_at);
                    s.request_extension(10, to, "inspection", now())
                },
                &[
                    CaseStatus::Accepted,
                    CaseStatus::InProgress,
                    CaseStatus::Returned,
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
                // A matter that needs study: its one-month term may be extended.
                s.appeal.card.needs_study = true;
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
}
