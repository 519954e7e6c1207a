//! The authorities' use cases through the agency gateway: their requests on their own cases (each
//! applied once per request id), their case list and case reads, acknowledgements of what their
//! agency client stored, and the deliveries their case stream carries. Another authority's case is
//! indistinguishable from a missing one.

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::{mpsc, watch};

use super::feed::{FeedResult, FeedSettings};
use super::{AppError, AppResult, Hotline, RequestId};
use crate::domain::attachment::check_attachments;
use crate::domain::{
    AppealState, AttachmentInfo, Caller, CaseOutcome, CaseStatus, Cursor, DomainError, EventKind,
    NewAttachment, Outcome, StoredEvent,
};
use crate::store::{AppealKey, EventFilter, Store};

/// A write an authority's agency client made on one of its cases: applied once per request id.
#[derive(Debug, Clone)]
pub struct AgencyRequest {
    /// The authority that made it.
    pub authority: String,
    /// Its client-made id (required) and content fingerprint.
    pub request: RequestId,
    /// The case.
    pub case_id: i64,
    /// Documents attached to a result.
    pub attachments: Vec<NewAttachment>,
}

/// What an authority does to one of its cases.
#[derive(Debug, Clone)]
pub enum AgencyAction {
    /// Accepts it as within its competence.
    Accept,
    /// Declines it, with a reason.
    Decline(String),
    /// Reports progress: a comment and a planned completion date.
    Report {
        /// What is being done.
        comment: String,
        /// When it should be done.
        planned: Option<NaiveDate>,
    },
    /// Asks the contact centre a question.
    Ask(String),
    /// Submits its result.
    Resolve {
        /// The answer to the citizen.
        answer: String,
        /// Measures taken.
        measures: String,
        /// How it ended (`None` when the request named none: refused as required).
        outcome: Option<Outcome>,
        /// The refusal's legal reason or the body it was forwarded to.
        outcome_detail: String,
    },
    /// Asks for more time.
    Extend {
        /// The new deadline asked for.
        to: NaiveDate,
        /// Why.
        reason: String,
    },
}

impl AgencyAction {
    /// The receipt kind naming this action.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline(_) => "decline",
            Self::Report { .. } => "report",
            Self::Ask(_) => "clarification",
            Self::Resolve { .. } => "result",
            Self::Extend { .. } => "extension",
        }
    }
}

/// One of an authority's cases as its stream delivers it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The event that changed the case.
    pub event: StoredEvent,
    /// The case's appeal as it is now.
    pub state: AppealState,
    /// The case.
    pub case_id: i64,
    /// The citizen's contact travels with the assignment only (an audited read).
    pub with_citizen: bool,
    /// When it was made (the time its receipt states).
    pub at: DateTime<Utc>,
}

/// Another authority's case reads exactly like a missing one.
fn no_such_case(case_id: i64) -> AppError {
    DomainError::NotFound(format!("case {case_id}")).into()
}

impl<S: Store> Hotline<S> {
    /// Applies an authority's action to one of its own cases, once per request id. `respond` builds
    /// the reply (with its signed receipt) inside the transaction, so a retry gets the same bytes.
    pub async fn agency_act<R>(
        &self,
        caller: &Caller,
        mut request: AgencyRequest,
        action: AgencyAction,
        respond: R,
    ) -> AppResult<Vec<u8>>
    where
        R: FnOnce(&AppealState, &[i64], &[AttachmentInfo], DateTime<Utc>) -> Vec<u8> + Send,
    {
        let now = self.now();
        let key = self
            .request_key(caller, &request.request)?
            .ok_or_else(|| DomainError::invalid("request_id", "required"))?;
        check_attachments(&mut request.attachments, &self.limits)?;
        let case_id = request.case_id;
        let authority = request.authority.clone();
        let limits = self.limits.clone();
        self.store
            .act_once(
                case_id,
                caller,
                now,
                &key,
                &request.attachments,
                self.noticed(move |s| {
                    s.case_of(case_id, &authority)?;
                    match action {
                        AgencyAction::Accept => s.accept(case_id, now),
                        AgencyAction::Decline(reason) => s.decline(case_id, &reason, now),
                        AgencyAction::Report { comment, planned } => {
                            s.report_progress(case_id, &comment, planned, now)
                        }
                        AgencyAction::Ask(question) => {
                            s.request_clarification(case_id, &question, now)
                        }
                        AgencyAction::Resolve {
                            answer,
                            measures,
                            outcome,
                            outcome_detail,
                        } => {
                            let outcome = CaseOutcome::checked(outcome, &outcome_detail)?;
                            s.resolve(case_id, &answer, &measures, outcome, &limits, now)
                        }
                        AgencyAction::Extend { to, reason } => {
                            s.request_extension(case_id, to, &reason, now)
                        }
                    }
                }),
                respond,
            )
            .await
            .map_err(|err| match AppError::from(err) {
                AppError::Domain(DomainError::NotFound(_)) => no_such_case(case_id),
                other => other,
            })
    }

    /// One of `authority`'s cases with its documents (NOT_FOUND for any other); the read of
    /// personal data is audited.
    pub async fn agency_case(
        &self,
        authority: &str,
        case_id: i64,
        caller: &Caller,
    ) -> AppResult<(AppealState, Vec<AttachmentInfo>)> {
        let now = self.now();
        let state = self
            .store
            .load(&AppealKey::Case(case_id))
            .await?
            .ok_or_else(|| no_such_case(case_id))?;
        state
            .case_of(case_id, authority)
            .map_err(|_| no_such_case(case_id))?;
        self.audit_read(caller, &state.appeal.number, now).await?;
        let attachments = self.store.attachments(&[case_id]).await?;
        Ok((state, attachments))
    }

    /// `authority`'s cases (in `status`, when given), each with its appeal, in appeal order.
    pub async fn agency_cases(
        &self,
        authority: &str,
        status: Option<CaseStatus>,
    ) -> AppResult<Vec<(AppealState, i64)>> {
        let states = self.store.authority_cases(authority, status).await?;
        Ok(states
            .into_iter()
            .flat_map(|state| {
                let ids: Vec<i64> = state
                    .cases
                    .iter()
                    .filter(|c| {
                        c.authority_code == authority && status.is_none_or(|s| c.status == s)
                    })
                    .map(|c| c.id)
                    .collect();
                ids.into_iter().map(move |id| (state.clone(), id))
            })
            .collect())
    }

    /// Records that `authority` stored every event up to `cursor`: its cases assigned up to there
    /// become `delivered`. Returns how many did.
    pub async fn acknowledge(
        &self,
        authority: &str,
        cursor: Cursor,
        caller: &Caller,
    ) -> AppResult<usize> {
        let now = self.now();
        // An acknowledgement covers only events of this authority's own cases (a cursor from
        // before a restore is re-based onto the restored log).
        let cursor = self.admit_agency_cursor(cursor, authority).await?;
        let mut delivered = 0;
        for case_id in self.store.assigned_cases_up_to(authority, cursor).await? {
            let state = self
                .store
                .transact(
                    &AppealKey::Case(case_id),
                    caller,
                    now,
                    self.noticed(|s| {
                        let i = s.case_of(case_id, authority)?;
                        if s.cases[i].status == CaseStatus::Assigned {
                            s.deliver(case_id, now)
                        } else {
                            Ok(Vec::new())
                        }
                    }),
                )
                .await?;
            if state
                .cases
                .iter()
                .any(|c| c.id == case_id && c.status == CaseStatus::Delivered)
            {
                delivered += 1;
            }
        }
        self.store
            .save_agency_cursor(authority, cursor, now)
            .await?;
        Ok(delivered)
    }

    /// The deliveries of `authority`'s case stream after `cursor`: every event of its cases with the
    /// case as it is now. The citizen's contact travels with the assignment, recorded as a read of
    /// personal data.
    pub async fn deliveries(
        &self,
        authority: &str,
        cursor: Cursor,
        caller: &Caller,
        settings: &FeedSettings,
        shutdown: watch::Receiver<bool>,
    ) -> AppResult<mpsc::Receiver<FeedResult<Delivery>>> {
        let cursor = self.admit_agency_cursor(cursor, authority).await?;
        let filter = EventFilter {
            appeal_id: None,
            authority: Some(authority.to_string()),
            partner: None,
        };
        // The stream ends when the hub shuts down, or at once when the authority is deactivated.
        let mut inactive = self.inactive_authorities();
        let code = authority.to_string();
        let mut shutdown = shutdown;
        let stop = async move {
            tokio::select! {
                _ = shutdown.wait_for(|down| *down) => None,
                Ok(_) = inactive.wait_for(|codes| codes.contains(&code)) => Some(AppError::Forbidden(
                    format!("authority `{code}` is deactivated"),
                )),
            }
        };
        let hotline = self.clone();
        let caller = caller.clone();
        Ok(self.follow(cursor, filter, settings, stop, move |event| {
            let hotline = hotline.clone();
            let caller = caller.clone();
            async move { hotline.delivery(event, &caller).await }
        }))
    }

    async fn delivery(&self, event: StoredEvent, caller: &Caller) -> AppResult<Option<Delivery>> {
        let Some(case_id) = event.case_id else {
            return Ok(None);
        };
        let Some(state) = self.store.load(&AppealKey::Case(case_id)).await? else {
            return Ok(None);
        };
        let at = self.now();
        let with_citizen = event.kind == EventKind::CaseAssigned.code();
        if with_citizen {
            self.audit_read(caller, &event.appeal_number, at).await?;
        }
        Ok(Some(Delivery {
            event,
            state,
            case_id,
            with_citizen,
            at,
        }))
    }
}
