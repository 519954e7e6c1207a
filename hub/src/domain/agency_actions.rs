//! What an authority does to its case through the agency gateway: the delivery its agency client
//! acknowledges, accept, decline, progress, questions and the result. An authority acts only on its
//! own cases ([`AppealState::case_of`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::DomainError;
use super::appeal::AppealState;
use super::case::{CaseAction, CaseStatus};
use super::deadline;
use super::event::{CaseEvent, EventKind, event};
use super::limits::{Limits, MAX_REASON_CHARS};
use super::outcome::CaseOutcome;
use super::text::{bounded_text, required_text};

impl AppealState {
    /// The case reached the authority's agency client.
    pub fn deliver(
        &mut self,
        case_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(case_id, CaseAction::Deliver)?;
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
        let i = self.case_in(case_id, CaseAction::Accept)?;
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
        let i = self.case_in(case_id, CaseAction::Decline)?;
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
        let i = self.case_in(case_id, CaseAction::ReportProgress)?;
        let comment = required_text("comment", comment, MAX_REASON_CHARS)?;
        let today = deadline::kyiv_date(now);
        if let Some(date) = planned
            && date < today
        {
            return Err(DomainError::invalid(
                "planned_date",
                format!("{date} is in the past (today is {today})"),
            ));
        }
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
        let i = self.case_in(case_id, CaseAction::Ask)?;
        let question = required_text("question", question, MAX_REASON_CHARS)?;
        self.set_case(i, CaseStatus::ClarificationRequested, now);
        let detail = json!({ "question": question });
        Ok(self.refresh(
            now,
            vec![event(Some(i), EventKind::ClarificationRequested, detail)],
        ))
    }

    /// The authority submits its result: the answer, the measures taken and the outcome.
    pub fn resolve(
        &mut self,
        case_id: i64,
        answer: &str,
        measures: &str,
        outcome: CaseOutcome,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(case_id, CaseAction::Resolve)?;
        self.check_parts_in(i)?;
        let answer = required_text("answer", answer, limits.max_text_chars)?;
        let measures = bounded_text("measures", measures, limits.max_text_chars)?;
        let chars = answer.chars().count();
        self.set_case(i, CaseStatus::Resolved, now);
        let case = &mut self.cases[i];
        case.answer = answer;
        case.measures = measures;
        case.outcome = Some(outcome.outcome);
        case.outcome_detail = outcome.detail;
        case.resolved_at = Some(now);
        case.reason.clear();
        let detail = json!({ "answer_chars": chars, "outcome": outcome.outcome.code() });
        let mut events = vec![event(Some(i), EventKind::CaseResolved, detail)];
        events.extend(self.tell_lead(i, EventKind::PartSubmitted));
        Ok(self.refresh(now, events))
    }

    /// The authority asks for more time, with the reason: the analyst grants or refuses it. Only a
    /// one-month term can be extended, to at most 45 days from receipt (art. 20).
    pub fn request_extension(
        &mut self,
        case_id: i64,
        to: NaiveDate,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let i = self.case_in(case_id, CaseAction::RequestExtension)?;
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let current = self.cases[i].deadline;
        if to <= current {
            return Err(DomainError::invalid(
                "deadline",
                format!("{to} is not later than the current deadline {current}"),
            ));
        }
        self.check_extension("deadline", to)?;
        let case = &mut self.cases[i];
        case.extension_requested_to = Some(to);
        case.extension_request_reason = reason.clone();
        case.updated_at = now;
        self.appeal.updated_at = now;
        Ok(vec![event(
            Some(i),
            EventKind::ExtensionRequested,
            json!({ "to": to.to_string(), "reason": reason }),
        )])
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
