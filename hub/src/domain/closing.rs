//! How an appeal ends: the operator's call-back to the citizen (confirmed, not confirmed,
//! unreachable) and an analyst's closing without a confirmed answer (not considered, unconfirmed).
//! Ending an appeal ends every case still running.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::appeal::{AppealState, AppealStatus};
use super::case::CaseStatus;
use super::event::{CaseEvent, EventKind, event};
use super::limits::{Limits, MAX_REASON_CHARS};
use super::text::{bounded_text, required_text};
use super::{DomainError, coded_enum};

coded_enum! {
    /// What came of a call-back.
    CallbackOutcome {
        /// The citizen confirms.
        Confirmed = "confirmed",
        /// The citizen says the problem is not solved.
        NotConfirmed = "not_confirmed",
        /// No answer.
        Unreachable = "unreachable",
    }
}

coded_enum! {
    /// How an appeal ends without a confirmed answer.
    CloseOutcome {
        /// Not considered (art. 8).
        NotConsidered = "not_considered",
        /// Closed without confirmation.
        Unconfirmed = "unconfirmed",
    }
}

impl AppealState {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Verdict;
    use crate::domain::card::tests::now;
    use crate::domain::fixtures::{assigned, authority, kinds, registered, resolved};

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
