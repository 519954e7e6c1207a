//! How an appeal ends: the operator's call-back to the citizen (confirmed, not confirmed,
//! unreachable) and an analyst's closing without a confirmed answer (not considered, unconfirmed).
//! Ending an appeal ends every case still running.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::appeal::{AppealState, AppealStatus, AuthorityRef};
use super::card::CheckedCard;
use super::case::CaseStatus;
use super::deadline;
use super::event::{CaseEvent, EventKind, event};
use super::limits::{Limits, MAX_REASON_CHARS};
use super::outcome::Outcome;
use super::text::{bounded_text, required_text};
use super::{DomainError, coded_enum};

coded_enum! {
    /// What came of a call-back.
    CallbackOutcome {
        /// The citizen confirms.
        Confirmed = "confirmed",
        /// The citizen says the problem is not solved: the analyst names the cases to rework.
        NotConfirmed = "not_confirmed",
        /// The citizen disagrees with a lawful refusal or explanation: the appeal closes with
        /// their words recorded (they may complain to a higher body, art. 16).
        Disagrees = "disagrees",
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
    pub(crate) fn end_cases(&mut self, now: DateTime<Utc>, events: &mut Vec<CaseEvent>) {
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

    /// The operator's call-back to the citizen: how it went (`outcome`), their words (`note`) and
    /// how satisfied they are (1–5, when they were reached and said).
    pub fn record_callback(
        &mut self,
        outcome: CallbackOutcome,
        note: &str,
        satisfaction: Option<i32>,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        if self.appeal.status != AppealStatus::AwaitingConfirmation {
            return Err(self.illegal("record a call-back for", self.subject(), self.appeal.status));
        }
        let note = match outcome {
            CallbackOutcome::NotConfirmed | CallbackOutcome::Disagrees => {
                required_text("note", note, MAX_REASON_CHARS)?
            }
            _ => bounded_text("note", note, MAX_REASON_CHARS)?,
        };
        if let Some(score) = satisfaction {
            if outcome == CallbackOutcome::Unreachable {
                return Err(DomainError::invalid(
                    "satisfaction",
                    "an unreachable citizen gave no score",
                ));
            }
            if !(1..=5).contains(&score) {
                return Err(DomainError::invalid(
                    "satisfaction",
                    format!("{score} is not a score from 1 to 5"),
                ));
            }
        }
        let derived = self.derived_outcome();
        if outcome == CallbackOutcome::Disagrees
            && !derived.is_some_and(Outcome::closes_despite_disagreement)
        {
            return Err(DomainError::IllegalTransition {
                action: "close over the citizen's disagreement".into(),
                subject: self.subject(),
                current: format!(
                    "answered with outcome {} (only a refusal or an explanation closes so)",
                    derived.map_or("none", Outcome::code)
                ),
            });
        }
        if outcome == CallbackOutcome::Unreachable
            && let Some(last) = self.appeal.last_callback_at
        {
            let next = last + chrono::Duration::minutes(limits.callback_spacing_minutes);
            if now < next {
                return Err(DomainError::IllegalTransition {
                    action: "record another call-back attempt for".into(),
                    subject: self.subject(),
                    current: format!("last tried at {last}; the next attempt from {next}"),
                });
            }
        }
        self.appeal.first_callback_at.get_or_insert(now);
        self.appeal.last_callback_at = Some(now);
        if satisfaction.is_some() {
            self.appeal.satisfaction = satisfaction;
            self.appeal.satisfaction_note = note.clone();
        }
        let mut events = vec![event(
            None,
            EventKind::CallbackRecorded,
            json!({ "outcome": outcome.code(), "note": note, "satisfaction": satisfaction }),
        )];
        match outcome {
            CallbackOutcome::Confirmed | CallbackOutcome::Disagrees => {
                if outcome == CallbackOutcome::Disagrees {
                    self.appeal.disagreement = note.clone();
                }
                self.appeal.outcome = derived;
                self.end_cases(now, &mut events);
                events.push(event(
                    None,
                    EventKind::AppealClosed,
                    json!({
                        "outcome": derived.map(Outcome::code),
                        "disagrees": outcome == CallbackOutcome::Disagrees,
                    }),
                ));
                self.move_appeal(AppealStatus::Closed, "", now, &mut events);
            }
            CallbackOutcome::NotConfirmed if self.answered_via_incident() => {
                self.appeal.callback_attempts = 0;
                self.appeal.first_callback_at = None;
                self.appeal.last_callback_at = None;
                self.detach_from_incident(&note, now, &mut events);
            }
            CallbackOutcome::NotConfirmed => {
                // The analyst names the cases to rework (or continues the appeal in a follow-up).
                self.appeal.awaiting_rework = true;
                self.appeal.callback_attempts = 0;
                self.appeal.first_callback_at = None;
                self.appeal.last_callback_at = None;
                events = self.refresh(now, events);
                self.appeal.status_reason = format!("citizen not satisfied: {note}");
            }
            CallbackOutcome::Unreachable => {
                self.appeal.callback_attempts += 1;
                let attempts = self.appeal.callback_attempts;
                let first_day = self
                    .appeal
                    .first_callback_at
                    .map(deadline::kyiv_date)
                    .unwrap_or_default();
                // The attempts must span more than one day before the citizen counts as unreachable.
                let another_day = first_day != deadline::kyiv_date(now);
                if attempts >= limits.max_callback_attempts && another_day {
                    let reason = format!("citizen unreachable after {attempts} call-back attempts");
                    self.appeal.outcome = derived;
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

    /// Ends the appeal without a confirmed answer: not considered (art. 8, only before any answer
    /// on the merits) or closed unconfirmed (after the answers were accepted).
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
        if outcome == CloseOutcome::NotConsidered && self.has_answer_on_the_merits() {
            return Err(DomainError::IllegalTransition {
                action: "close as not considered".into(),
                subject: self.subject(),
                current: "answered on the merits (art. 8 applies only before that)".into(),
            });
        }
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let mut events = Vec::new();
        if outcome == CloseOutcome::Unconfirmed {
            self.appeal.outcome = self.derived_outcome();
        }
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

    /// True when the legal term still holds a rework of `rework_days` from `now`; else the appeal
    /// continues in a follow-up.
    pub fn rework_fits(&self, rework_days: u64, now: DateTime<Utc>) -> bool {
        deadline::kyiv_date(now) + chrono::Days::new(rework_days) <= self.appeal.deadline
    }

    /// After the citizen was not satisfied, the analyst sends the cases it names back to their
    /// authorities for rework; the others stay answered.
    pub fn rework(
        &mut self,
        case_ids: &[i64],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let indexes = self.rework_targets(case_ids)?;
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let mut events = Vec::new();
        for i in indexes {
            self.set_case(i, CaseStatus::Returned, now);
            self.cases[i].reason = format!("citizen not satisfied: {reason}");
            self.cases[i].returned_count += 1;
            events.push(event(
                Some(i),
                EventKind::AnswerReturned,
                json!({ "reason": reason, "by": "citizen" }),
            ));
        }
        self.appeal.awaiting_rework = false;
        Ok(self.refresh(now, events))
    }

    /// The cases a rework names: at least one, each answered and accepted, while the appeal waits
    /// for a rework.
    fn rework_targets(&self, case_ids: &[i64]) -> Result<Vec<usize>, DomainError> {
        if !self.appeal.awaiting_rework {
            return Err(self.illegal(
                "send back for rework after the call-back",
                self.subject(),
                self.appeal.status,
            ));
        }
        if case_ids.is_empty() {
            return Err(DomainError::invalid(
                "case_ids",
                "name at least one case to rework",
            ));
        }
        case_ids
            .iter()
            .map(|id| {
                let i = self.case_index(*id)?;
                let status = self.cases[i].status;
                if status != CaseStatus::Verified {
                    return Err(self.illegal("rework", format!("case {id}"), status));
                }
                Ok(i)
            })
            .collect()
    }

    /// The authorities of the cases a rework names, as a follow-up assigns them (each with the
    /// follow-up's own legal deadline).
    pub fn rework_authorities(
        &self,
        case_ids: &[i64],
    ) -> Result<Vec<(AuthorityRef, Option<chrono::NaiveDate>)>, DomainError> {
        Ok(self
            .rework_targets(case_ids)?
            .into_iter()
            .map(|i| {
                let authority = AuthorityRef {
                    code: self.cases[i].authority_code.clone(),
                    active: true,
                };
                (authority, None)
            })
            .collect())
    }

    /// A follow-up of `original` registered now as `number`: the same card, a repeat of the
    /// original, with its own legal term from today.
    pub fn follow_up(
        number: String,
        original: &AppealState,
        now: DateTime<Utc>,
    ) -> (Self, Vec<CaseEvent>) {
        let mut card = original.appeal.card.clone();
        card.repeat_of = Some(original.appeal.id);
        card.repeat_of_number = original.appeal.number.clone();
        card.consultation = false;
        card.backdate_reason.clear();
        let term = if card.needs_study {
            deadline::Term::Month
        } else {
            deadline::Term::Short
        };
        let checked = CheckedCard {
            card,
            received_at: now,
            deadline: deadline::legal_deadline(now, term),
            due_at: None,
            not_considered: None,
        };
        Self::register(number, checked, now)
    }

    /// The rework does not fit the legal term: the appeal ends as continued in `follow_up`, a new
    /// appeal registered for the same matter, and the named cases move there. Returns the codes of
    /// the authorities the follow-up is assigned to.
    pub fn continue_in(
        &mut self,
        follow_up: &str,
        case_ids: &[i64],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(Vec<String>, Vec<CaseEvent>), DomainError> {
        let indexes = self.rework_targets(case_ids)?;
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let authorities = indexes
            .iter()
            .map(|i| self.cases[*i].authority_code.clone())
            .collect();
        self.appeal.awaiting_rework = false;
        self.appeal.continued_in = follow_up.to_string();
        self.appeal.outcome = Some(Outcome::Continued);
        let mut events = Vec::new();
        self.end_cases(now, &mut events);
        let why = format!("continued in {follow_up}: {reason}");
        events.push(event(
            None,
            EventKind::AppealContinued,
            json!({ "follow_up": follow_up, "reason": reason }),
        ));
        self.move_appeal(AppealStatus::Continued, &why, now, &mut events);
        Ok((authorities, events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainError;
    use crate::domain::Verdict;
    use crate::domain::card::tests::now;
    use crate::domain::fixtures::{assigned, authority, kinds, registered, resolved};

    #[test]
    fn full_lifecycle_with_two_authorities() {
        let mut s = assigned(&["vodokanal", "city-council"]);
        assert_eq!(s.appeal.status, AppealStatus::Assigned);
        assert_eq!(s.cases.len(), 2);
        assert_eq!(s.cases[0].deadline, s.appeal.deadline);

        // The co-executor's part first; the lead's consolidated answer after it.
        resolved(&mut s, 11);
        assert_eq!(s.appeal.status, AppealStatus::InProgress);
        resolved(&mut s, 10);
        assert_eq!(s.appeal.status, AppealStatus::Answered);

        s.verify(10, Verdict::Accept, "", now()).unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Answered);
        let events = s.verify(11, Verdict::Accept, "", now()).unwrap();
        assert_eq!(kinds(&events), ["case.verified", "appeal.status_changed"]);
        assert_eq!(s.appeal.status, AppealStatus::AwaitingConfirmation);

        let events = s
            .record_callback(
                CallbackOutcome::Confirmed,
                "",
                Some(5),
                &Limits::default(),
                now(),
            )
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Closed);
        assert!(s.cases.iter().all(|c| c.status == CaseStatus::Closed));
        assert!(kinds(&events).contains(&"appeal.closed"));
    }

    #[test]
    fn an_unsatisfied_citizen_sends_the_named_cases_back() {
        let mut s = assigned(&["vodokanal", "city-council"]);
        for id in [11, 10] {
            resolved(&mut s, id);
            s.verify(id, Verdict::Accept, "", now()).unwrap();
        }
        let limits = Limits::default();
        assert!(
            s.record_callback(CallbackOutcome::NotConfirmed, "", None, &limits, now())
                .is_err(),
            "the citizen's words are required"
        );
        s.record_callback(
            CallbackOutcome::NotConfirmed,
            "still no water",
            Some(2),
            &limits,
            now(),
        )
        .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Returned);
        assert!(s.appeal.awaiting_rework);
        assert_eq!(s.appeal.satisfaction, Some(2));
        assert!(s.cases.iter().all(|c| c.status == CaseStatus::Verified));
        // The analyst names the case that must be reworked; the other stays answered.
        let before = s.clone();
        assert!(s.rework(&[], "x", now()).is_err());
        assert!(s.rework(&[99], "x", now()).is_err());
        assert_eq!(s, before);
        let events = s.rework(&[10], "the main is still broken", now()).unwrap();
        assert_eq!(kinds(&events)[0], "case.returned");
        assert_eq!(s.cases[0].status, CaseStatus::Returned);
        assert_eq!(s.cases[1].status, CaseStatus::Verified);
        assert!(!s.appeal.awaiting_rework);
        s.resolve(
            10,
            "water back",
            "",
            crate::domain::fixtures::resolved_outcome(),
            &limits,
            now(),
        )
        .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Answered);
    }

    #[test]
    fn a_rework_past_the_term_continues_in_a_follow_up() {
        let mut s = assigned(&["vodokanal"]);
        resolved(&mut s, 10);
        s.verify(10, Verdict::Accept, "", now()).unwrap();
        let limits = Limits::default();
        s.record_callback(
            CallbackOutcome::NotConfirmed,
            "no water",
            None,
            &limits,
            now(),
        )
        .unwrap();
        let late = s.appeal.deadline.and_hms_opt(12, 0, 0).unwrap().and_utc();
        assert!(s.rework_fits(limits.rework_days, now()));
        assert!(!s.rework_fits(limits.rework_days, late));
        let (authorities, events) = s
            .continue_in("DP-2026-000009", &[10], "no water yet", late)
            .unwrap();
        assert_eq!(authorities, ["vodokanal"]);
        assert!(kinds(&events).contains(&"appeal.continued"));
        assert_eq!(s.appeal.status, AppealStatus::Continued);
        assert_eq!(s.appeal.outcome, Some(Outcome::Continued));
        assert_eq!(s.appeal.continued_in, "DP-2026-000009");
        assert!(s.cases.iter().all(|c| c.status.is_final()));
    }

    #[test]
    fn a_lawful_refusal_closes_over_the_citizens_disagreement() {
        let limits = Limits::default();
        let mut s = assigned(&["vodokanal"]);
        resolved(&mut s, 10);
        s.verify(10, Verdict::Accept, "", now()).unwrap();
        // Resolved positively: disagreement is not a way to close it.
        let before = s.clone();
        assert!(matches!(
            s.record_callback(CallbackOutcome::Disagrees, "not fair", None, &limits, now()),
            Err(DomainError::IllegalTransition { .. })
        ));
        assert_eq!(s, before);
        s.cases[0].outcome = Some(Outcome::Refused);
        s.cases[0].outcome_detail = "ст. 8".into();
        assert!(
            s.record_callback(CallbackOutcome::Disagrees, "", None, &limits, now())
                .is_err(),
            "the citizen's words are required"
        );
        s.record_callback(
            CallbackOutcome::Disagrees,
            "я не згоден",
            Some(1),
            &limits,
            now(),
        )
        .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Closed);
        assert_eq!(s.appeal.outcome, Some(Outcome::Refused));
        assert_eq!(s.appeal.disagreement, "я не згоден");
        assert_eq!(s.appeal.satisfaction, Some(1));
    }

    #[test]
    fn satisfaction_is_a_score_from_one_to_five() {
        let limits = Limits::default();
        let mut s = assigned(&["vodokanal"]);
        resolved(&mut s, 10);
        s.verify(10, Verdict::Accept, "", now()).unwrap();
        for bad in [Some(0), Some(6)] {
            assert!(
                s.record_callback(CallbackOutcome::Confirmed, "", bad, &limits, now())
                    .is_err()
            );
        }
        assert!(
            s.record_callback(CallbackOutcome::Unreachable, "", Some(3), &limits, now())
                .is_err()
        );
    }

    #[test]
    fn unreachable_citizen_closes_unconfirmed_after_spaced_attempts_on_two_days() {
        let limits = Limits {
            max_callback_attempts: 2,
            ..Limits::default()
        };
        let mut s = assigned(&["vodokanal"]);
        resolved(&mut s, 10);
        s.verify(10, Verdict::Accept, "", now()).unwrap();
        let at = |hours: i64| now() + chrono::Duration::hours(hours);
        s.record_callback(CallbackOutcome::Unreachable, "", None, &limits, at(0))
            .unwrap();
        assert_eq!(s.appeal.callback_attempts, 1);
        // Too soon after the first: refused, nothing recorded.
        let before = s.clone();
        assert!(matches!(
            s.record_callback(CallbackOutcome::Unreachable, "", None, &limits, at(1)),
            Err(DomainError::IllegalTransition { .. })
        ));
        assert_eq!(s, before);
        // Spaced, but on the same day: recorded, not yet closing.
        s.record_callback(CallbackOutcome::Unreachable, "", None, &limits, at(3))
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::AwaitingConfirmation);
        assert_eq!(s.appeal.callback_attempts, 2);
        // On another day the attempts are enough.
        s.record_callback(CallbackOutcome::Unreachable, "", None, &limits, at(24))
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::ClosedUnconfirmed);
        assert_eq!(s.cases[0].status, CaseStatus::Closed);
        let err = s
            .record_callback(CallbackOutcome::Confirmed, "", None, &limits, at(25))
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
            s.clone().assign(&[(authority("c"), None)], None, now()),
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
                |s| {
                    s.record_callback(
                        CallbackOutcome::Unreachable,
                        "",
                        None,
                        &Limits::default(),
                        now(),
                    )
                },
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
                |s| s.assign(&[(authority("new"), None)], None, now()),
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
