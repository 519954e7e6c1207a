//! What analysts do to an appeal while it is worked on: assign it, reassign a case, extend a
//! deadline, verify an answer, answer an authority's question. How an appeal ends is in
//! [`super::closing`].

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::DomainError;
use super::appeal::{AppealState, AppealStatus, AuthorityRef};
use super::case::{CaseAction, CaseStatus};
use super::deadline;
use super::event::{CaseEvent, EventKind, event};
use super::limits::MAX_REASON_CHARS;
use super::text::required_text;

/// The analyst's verdict on an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The answer solves the question.
    Accept,
    /// Back for rework.
    Return,
}

impl AppealState {
    /// Assigns the appeal to one or more authorities, each with a deadline (the legal one when `None`).
    pub fn assign(
        &mut self,
        assignments: &[(AuthorityRef, Option<NaiveDate>)],
        lead: Option<&str>,
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
        events.extend(self.settle_roles(lead, "lead_authority_code")?);
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
        let from = self.case_in(case_id, CaseAction::Reassign)?;
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
        // The successor takes over the part: a reassigned lead's successor leads.
        self.cases[new].role = self.cases[from].role;
        let mut events = vec![
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
        events.extend(self.settle_roles(None, "authority_code")?);
        Ok(self.refresh(now, events))
    }

    /// Grants a case more time (on the authority's request or the analyst's own): the appeal's term
    /// moves with it. Only a one-month term may be extended, to at most 45 days from receipt, with a
    /// recorded reason (art. 20); the citizen is told.
    pub fn extend_deadline(
        &mut self,
        case_id: i64,
        new_deadline: NaiveDate,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("extend a deadline of")?;
        let i = self.case_in(case_id, CaseAction::ExtendDeadline)?;
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let current = self.cases[i].deadline;
        if new_deadline <= current {
            return Err(DomainError::invalid(
                "deadline",
                format!("{new_deadline} is not later than the current deadline {current}"),
            ));
        }
        self.check_extension("deadline", new_deadline)?;
        let requested = self.cases[i].extension_requested_to.is_some();
        let case = &mut self.cases[i];
        case.deadline = new_deadline;
        // An extended case counts in days again.
        case.due_at = None;
        case.extension_reason = reason.clone();
        case.extension_requested_to = None;
        case.extension_request_reason.clear();
        // A new deadline is announced afresh.
        case.due_soon_at = None;
        case.overdue_at = None;
        case.updated_at = now;
        self.appeal.deadline = self.appeal.deadline.max(new_deadline);
        self.appeal.updated_at = now;
        Ok(vec![event(
            Some(i),
            EventKind::DeadlineExtended,
            json!({
                "from": current.to_string(),
                "to": new_deadline.to_string(),
                "reason": reason,
                "requested": requested,
            }),
        )])
    }

    /// Checks a date an extension would move the term to: the term must be the one-month term (a
    /// matter that needs study), and the new date at most 45 days from receipt (art. 20).
    pub(crate) fn check_extension(&self, field: &str, date: NaiveDate) -> Result<(), DomainError> {
        if !self.appeal.card.needs_study {
            return Err(DomainError::invalid(
                field,
                "a 15-day term (no further study needed) cannot be extended (art. 20)",
            ));
        }
        let latest = deadline::latest_deadline(self.appeal.received_at);
        if date > latest {
            return Err(DomainError::invalid(
                field,
                format!("{date} is past the 45-day limit of art. 20 (latest {latest})"),
            ));
        }
        Ok(())
    }

    /// Refuses an authority's request for more time, with the reason.
    pub fn refuse_extension(
        &mut self,
        case_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("refuse an extension of")?;
        let i = self.case_in(case_id, CaseAction::ExtendDeadline)?;
        let Some(asked) = self.cases[i].extension_requested_to else {
            return Err(DomainError::IllegalTransition {
                action: "refuse an extension of".into(),
                subject: format!("case {case_id}"),
                current: "without a request for more time".into(),
            });
        };
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let case = &mut self.cases[i];
        case.extension_requested_to = None;
        case.extension_request_reason.clear();
        case.updated_at = now;
        self.appeal.updated_at = now;
        Ok(vec![event(
            Some(i),
            EventKind::ExtensionRefused,
            json!({ "asked": asked.to_string(), "reason": reason }),
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
        let i = self.case_in(case_id, CaseAction::Verify)?;
        let events = match verdict {
            Verdict::Accept => {
                self.set_case(i, CaseStatus::Verified, now);
                // "Answered on time" is measured on the answer that was accepted, not the first one.
                let case = &mut self.cases[i];
                let submitted = case.resolved_at.unwrap_or(now);
                case.answered_at = Some(submitted);
                case.answered_late = Some(deadline::is_overdue(case.deadline, submitted));
                let detail = json!({ "outcome": case.outcome.map(|o| o.code()) });
                vec![event(Some(i), EventKind::AnswerVerified, detail)]
            }
            Verdict::Return => {
                let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
                self.set_case(i, CaseStatus::Returned, now);
                self.cases[i].reason = reason.clone();
                self.cases[i].returned_count += 1;
                let returned = event(
                    Some(i),
                    EventKind::AnswerReturned,
                    json!({ "reason": reason, "by": "analyst" }),
                );
                // Only this part goes back; the lead hears of it.
                std::iter::once(returned)
                    .chain(self.tell_lead(i, EventKind::PartReturned))
                    .collect()
            }
        };
        Ok(self.refresh(now, events))
    }

    /// The contact centre answers the authority's question; work resumes.
    pub fn answer_clarification(
        &mut self,
        case_id: i64,
        answer: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(case_id, CaseAction::AnswerQuestion)?;
        let answer = required_text("answer", answer, MAX_REASON_CHARS)?;
        self.set_case(i, CaseStatus::InProgress, now);
        let detail = json!({ "answer": answer });
        Ok(self.refresh(
            now,
            vec![event(Some(i), EventKind::ClarificationAnswered, detail)],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::card::tests::{input, now, refs};
    use crate::domain::deadline;
    use crate::domain::fixtures::{
        assigned, authority, kinds, registered, resolved, resolved_outcome, store_ids,
    };
    use crate::domain::limits::Limits;

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
            resolved_outcome(),
            &Limits::default(),
            now(),
        )
        .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Answered);
        assert!(s.cases[0].reason.is_empty());
    }

    #[test]
    fn a_complaint_never_goes_to_the_authority_it_is_about() {
        let mut card = input();
        card.complained_authority_code = "city-council".into();
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        let (mut s, _) = AppealState::register("DP-2026-000002".into(), checked, now());
        let err = s
            .assign(&[(authority("city-council"), None)], None, now())
            .unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid { ref field, .. } if field == "assignments[0].authority_code")
        );
        assert!(s.cases.is_empty());
        s.assign(&[(authority("vodokanal"), None)], None, now())
            .unwrap();
        store_ids(&mut s);
        let err = s
            .reassign(10, &authority("city-council"), "wrong body", None, now())
            .unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "authority_code"));
    }

    #[test]
    fn assignment_checks() {
        let mut s = registered();
        // Past the appeal's term: 15 days here, later only after an extension (art. 20).
        let late = s.appeal.deadline + chrono::Days::new(1);
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
            let err = s.assign(&list, None, now()).unwrap_err();
            assert!(
                matches!(err, DomainError::Invalid { field: ref f, .. } if f == field),
                "{err:?}"
            );
            assert_eq!(s, before);
        }
        let ok = s.appeal.deadline;
        s.assign(&[(authority("a"), Some(ok))], None, now())
            .unwrap();
        assert_eq!(s.cases[0].deadline, ok);
        store_ids(&mut s);
        let err = s
            .assign(&[(authority("a"), None)], None, now())
            .unwrap_err();
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
        // A 15-day term (no study needed) cannot be extended at all.
        assert!(matches!(
            s.extend_deadline(10, latest, "study", now()).unwrap_err(),
            DomainError::Invalid { ref field, ref reason } if field == "deadline" && reason.contains("15-day")
        ));
        s.appeal.card.needs_study = true;
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
        assert_eq!(s.appeal.deadline, latest, "the appeal's term moves with it");
    }

    #[test]
    fn an_authority_asks_for_more_time_and_the_analyst_decides() {
        let mut s = assigned(&["vodokanal"]);
        s.appeal.card.needs_study = true;
        s.deliver(10, now()).unwrap();
        s.accept(10, now()).unwrap();
        let latest = deadline::latest_deadline(s.appeal.received_at);
        assert!(
            s.refuse_extension(10, "no", now()).is_err(),
            "nothing asked"
        );
        s.request_extension(10, latest, "a laboratory test takes 3 weeks", now())
            .unwrap();
        assert_eq!(s.cases[0].extension_requested_to, Some(latest));
        let events = s
            .refuse_extension(10, "the test is not needed", now())
            .unwrap();
        assert_eq!(kinds(&events), ["case.extension_refused"]);
        assert_eq!(s.cases[0].extension_requested_to, None);
        s.request_extension(10, latest, "a laboratory test", now())
            .unwrap();
        let events = s.extend_deadline(10, latest, "granted", now()).unwrap();
        assert_eq!(events[0].detail["requested"], true);
        assert_eq!(s.cases[0].deadline, latest);
        assert_eq!(s.cases[0].extension_requested_to, None);
    }

    #[test]
    fn the_accepted_answer_decides_on_time() {
        let mut s = assigned(&["vodokanal"]);
        let deadline = s.cases[0].deadline;
        let late = deadline.and_hms_opt(23, 0, 0).unwrap().and_utc() + chrono::Duration::days(2);
        resolved(&mut s, 10);
        s.verify(10, Verdict::Return, "no date", now()).unwrap();
        assert_eq!(
            s.cases[0].answered_at, None,
            "a returned answer does not count"
        );
        s.resolve(10, "done", "", resolved_outcome(), &Limits::default(), late)
            .unwrap();
        s.verify(10, Verdict::Accept, "", late).unwrap();
        assert_eq!(s.cases[0].answered_at, Some(late));
        assert_eq!(s.cases[0].answered_late, Some(true));
    }
}
