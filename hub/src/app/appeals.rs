//! The staff use cases on appeals: registration (with the directory look-ups and repeat detection
//! the card's rules need), reads of the whole appeal (audited), search, and every transition staff
//! make. Each write is one store transaction with its events and audit row.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::directory::AuthorityNames;
use super::{AppResult, Hotline, RequestId};
use crate::domain::deadline::{self, kyiv_date};
use crate::domain::exchange::ExchangeLink;
use crate::domain::text::{bounded_text, check_code, check_number, optional_code};
use crate::domain::{
    AppealState, AttachmentInfo, AuthorityRef, CallbackOutcome, Caller, Case, CaseEvent, Change,
    CloseOutcome, DomainError, StoredEvent, Verdict,
};
use crate::store::{AppealKey, Applied, FollowUp, SearchFilter, Store};

/// Most events returned as an appeal's history.
const MAX_HISTORY: i64 = 10_000;

/// An appeal with what people need to read it: its history, its cases' documents and the
/// authorities' names; the citizen's contact only when the read was audited.
#[derive(Debug, Clone)]
pub struct AppealView {
    /// The appeal and its cases.
    pub state: AppealState,
    /// Its events, oldest first (empty when not asked for).
    pub history: Vec<StoredEvent>,
    /// Documents of its cases.
    pub attachments: Vec<AttachmentInfo>,
    /// Authority names by code.
    pub names: AuthorityNames,
    /// Whether the citizen's contact may be shown (the read was audited).
    pub with_citizen: bool,
    /// When the view was made (for "overdue").
    pub now: DateTime<Utc>,
}

/// One page of a search, newest first.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// The appeals.
    pub appeals: Vec<AppealState>,
    /// The page token of the next page, when there is one.
    pub next_page: Option<i64>,
    /// Authority names by code.
    pub names: AuthorityNames,
    /// When the page was made.
    pub now: DateTime<Utc>,
}

/// A declined case waiting to be re-routed (art. 7).
#[derive(Debug, Clone)]
pub struct DeclinedView {
    /// Its appeal's number.
    pub appeal_number: String,
    /// The case.
    pub case: Case,
    /// When it was declined.
    pub declined_at: DateTime<Utc>,
    /// The last day to re-route it.
    pub reroute_by: NaiveDate,
    /// Past that day.
    pub late: bool,
}

impl<S: Store> Hotline<S> {
    /// The view of `state` for a reply to a write: names and documents, no citizen, no history.
    pub(super) async fn view(
        &self,
        state: AppealState,
        now: DateTime<Utc>,
    ) -> AppResult<AppealView> {
        let case_ids: Vec<i64> = state.cases.iter().map(|c| c.id).collect();
        Ok(AppealView {
            attachments: self.store.attachments(&case_ids).await?,
            names: self.authority_names().await?,
            state,
            history: Vec::new(),
            with_citizen: false,
            now,
        })
    }

    /// Runs a staff transition on one appeal and returns the view of its new state. With a request
    /// id it is applied once: a retry changes nothing and gets the appeal as it is now.
    pub(super) async fn change<F>(
        &self,
        key: AppealKey,
        caller: &Caller,
        request: &RequestId,
        now: DateTime<Utc>,
        transition: F,
    ) -> AppResult<AppealView>
    where
        F: FnOnce(&mut AppealState) -> Result<Vec<CaseEvent>, DomainError> + Send,
    {
        self.change_linked(key, caller, request, now, None, transition)
            .await
    }

    /// [`Self::change`], linking the appeal to an exchange partner with the same transaction.
    pub(super) async fn change_linked<F>(
        &self,
        key: AppealKey,
        caller: &Caller,
        request: &RequestId,
        now: DateTime<Utc>,
        link: Option<ExchangeLink>,
        transition: F,
    ) -> AppResult<AppealView>
    where
        F: FnOnce(&mut AppealState) -> Result<Vec<CaseEvent>, DomainError> + Send,
    {
        let linked = link
            .as_ref()
            .map(|l| (l.partner.clone(), l.external_id.clone()));
        let noticed = self.noticed(transition);
        let transition = move |s: &mut AppealState| {
            let mut change = noticed(s)?;
            change.link = link;
            Ok(change)
        };
        let mut state = match self.request_key(caller, request)? {
            None => self.store.transact(&key, caller, now, transition).await?,
            Some(request) => {
                let applied = self
                    .store
                    .transact_once(&key, caller, now, &request, transition)
                    .await?;
                self.applied(applied).await?
            }
        };
        state.appeal.exchange = state.appeal.exchange.or(linked);
        self.view(state, now).await
    }

    /// The state a write left: the new one, or for a retry the appeal as it is now.
    pub(super) async fn applied(&self, applied: Applied<AppealState>) -> AppResult<AppealState> {
        match applied {
            Applied::Done(state) => Ok(state),
            Applied::Replayed(replay) => self
                .store
                .load(&AppealKey::Number(replay.appeal_number.clone()))
                .await?
                .ok_or_else(|| {
                    DomainError::NotFound(format!("appeal {}", replay.appeal_number)).into()
                }),
        }
    }

    /// One appeal with its citizen, cases and history; the read of its personal data is audited first.
    pub async fn get(&self, number: &str, caller: &Caller) -> AppResult<AppealView> {
        let now = self.now();
        let number = check_number("number", number)?;
        let state = self
            .store
            .load(&AppealKey::Number(number.clone()))
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("appeal {number}")))?;
        self.audit_read(caller, &state.appeal.number, now).await?;
        let history = self.store.history(state.appeal.id, MAX_HISTORY).await?;
        let mut view = self.view(state, now).await?;
        view.history = history;
        view.with_citizen = true;
        Ok(view)
    }

    /// One page of appeals matching `filter` (its `limit` is the page size), newest first.
    pub async fn search(&self, mut filter: SearchFilter) -> AppResult<SearchPage> {
        let now = self.now();
        for (field, code) in [
            ("authority_code", &mut filter.authority_code),
            ("category_code", &mut filter.category_code),
            ("district_code", &mut filter.district_code),
        ] {
            if let Some(value) = code {
                *value = check_code(field, value)?;
            }
        }
        let limit = filter.limit;
        filter.limit = limit + 1;
        let mut appeals = self.store.search(&filter).await?;
        let next_page = if appeals.len() as i64 > limit {
            appeals.truncate(limit as usize);
            appeals.last().map(|s| s.appeal.id)
        } else {
            None
        };
        Ok(SearchPage {
            appeals,
            next_page,
            names: self.authority_names().await?,
            now,
        })
    }

    /// An authority as a transition needs it; `field` names it in errors.
    pub(super) async fn authority_ref(&self, field: &str, code: &str) -> AppResult<AuthorityRef> {
        let code = optional_code(field, code)?;
        if code.is_empty() {
            return Err(DomainError::invalid(field, "required").into());
        }
        match self.store.authority(&code).await? {
            Some(a) => Ok(AuthorityRef {
                code: a.code,
                active: a.active,
            }),
            None => Err(DomainError::invalid(field, format!("unknown authority `{code}`")).into()),
        }
    }

    /// Assigns an appeal to authorities, each with a deadline (the legal one when `None`).
    /// With several authorities, `lead` names the lead executor (empty: the first one assigned).
    pub async fn assign(
        &self,
        number: &str,
        assignments: &[(String, Option<NaiveDate>)],
        lead: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let number = check_number("number", number)?;
        let mut resolved = Vec::with_capacity(assignments.len());
        for (i, (code, deadline)) in assignments.iter().enumerate() {
            let authority = self
                .authority_ref(&format!("assignments[{i}].authority_code"), code)
                .await?;
            resolved.push((authority, *deadline));
        }
        let lead = optional_code("lead_authority_code", lead)?;
        self.change(AppealKey::Number(number), caller, request, now, move |s| {
            s.assign(&resolved, Some(lead.as_str()), now)
        })
        .await
    }

    /// Moves a case to another authority.
    pub async fn reassign(
        &self,
        case_id: i64,
        authority_code: &str,
        reason: &str,
        deadline: Option<NaiveDate>,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let to = self.authority_ref("authority_code", authority_code).await?;
        let reason = reason.to_string();
        self.change(AppealKey::Case(case_id), caller, request, now, move |s| {
            s.reassign(case_id, &to, &reason, deadline, now)
        })
        .await
    }

    /// Extends a case's deadline.
    pub async fn extend_deadline(
        &self,
        case_id: i64,
        deadline: NaiveDate,
        reason: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let reason = reason.to_string();
        self.change(AppealKey::Case(case_id), caller, request, now, move |s| {
            s.extend_deadline(case_id, deadline, &reason, now)
        })
        .await
    }

    /// The analyst's check of an answer.
    pub async fn verify(
        &self,
        case_id: i64,
        verdict: Verdict,
        reason: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let reason = reason.to_string();
        let view = self
            .change(AppealKey::Case(case_id), caller, request, now, move |s| {
                s.verify(case_id, verdict, &reason, now)
            })
            .await?;
        // The answer that completes an incident's primary flows to its attached appeals now (the
        // monitor's sweep would do it within a minute otherwise).
        if view.state.appeal.incident_id.is_some()
            && view.state.appeal.status == crate::domain::AppealStatus::AwaitingConfirmation
        {
            self.pass_incident_answers().await?;
        }
        Ok(view)
    }

    /// The operator's call-back.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_callback(
        &self,
        number: &str,
        outcome: CallbackOutcome,
        note: &str,
        satisfaction: Option<i32>,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let number = check_number("number", number)?;
        let limits = self.limits.clone();
        let note = note.to_string();
        self.change(AppealKey::Number(number), caller, request, now, move |s| {
            s.record_callback(outcome, &note, satisfaction, &limits, now)
        })
        .await
    }

    /// After the citizen was not satisfied: sends the named cases back for rework, or — when the
    /// legal term cannot hold a rework of the configured days — continues the appeal in a linked
    /// follow-up (a repeat, with its own term, assigned to the same authorities) and ends this one
    /// as continued in it.
    pub async fn rework(
        &self,
        number: &str,
        case_ids: &[i64],
        reason: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let number = check_number("number", number)?;
        let key = AppealKey::Number(number.clone());
        let current = self
            .store
            .load(&key)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("appeal {number}")))?;
        let ids = case_ids.to_vec();
        let reason = reason.to_string();
        if current.rework_fits(self.limits.rework_days, now) {
            return self
                .change(key, caller, request, now, move |s| {
                    s.rework(&ids, &reason, now)
                })
                .await;
        }
        let request = self.request_key(caller, request)?;
        let year = kyiv_date(now).year();
        let prefix = self.number_prefix.clone();
        let email = self.limits.email_notices;
        let follow_up_ids = ids.clone();
        let applied = self
            .store
            .continue_appeal(
                &key,
                caller,
                now,
                request.as_ref(),
                FollowUp {
                    year,
                    make: move |seq, original: &AppealState| {
                        let number = crate::domain::appeal::number(&prefix, year, seq);
                        let authorities = original.rework_authorities(&follow_up_ids)?;
                        let (mut state, mut events) = AppealState::follow_up(number, original, now);
                        events.extend(state.assign(&authorities, None, now)?);
                        let notices = crate::domain::notice::required(&state, &events, email);
                        Ok((state, Change::new(events, notices)))
                    },
                    end: move |s: &mut AppealState, follow_up: &str| {
                        let (_, events) = s.continue_in(follow_up, &ids, &reason, now)?;
                        let notices = crate::domain::notice::required(s, &events, email);
                        Ok(Change::new(events, notices))
                    },
                },
            )
            .await?;
        let state = self.applied(applied).await?;
        self.view(state, now).await
    }

    /// Refuses an authority's request for more time.
    pub async fn refuse_extension(
        &self,
        case_id: i64,
        reason: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let reason = reason.to_string();
        self.change(AppealKey::Case(case_id), caller, request, now, move |s| {
            s.refuse_extension(case_id, &reason, now)
        })
        .await
    }

    /// Ends an appeal without a confirmed answer.
    pub async fn close(
        &self,
        number: &str,
        outcome: CloseOutcome,
        reason: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let number = check_number("number", number)?;
        let reason = reason.to_string();
        self.change(AppealKey::Number(number), caller, request, now, move |s| {
            s.close(outcome, &reason, now)
        })
        .await
    }

    /// Answers an authority's question; the case goes back to work.
    pub async fn answer_clarification(
        &self,
        case_id: i64,
        answer: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let answer = answer.to_string();
        self.change(AppealKey::Case(case_id), caller, request, now, move |s| {
            s.answer_clarification(case_id, &answer, now)
        })
        .await
    }

    /// Declined cases waiting for re-routing, oldest decline first (only the late ones when asked),
    /// with authority names.
    pub async fn declined_cases(
        &self,
        only_late: bool,
    ) -> AppResult<(Vec<DeclinedView>, AuthorityNames)> {
        let now = self.now();
        let cases = self
            .store
            .declined_cases()
            .await?
            .into_iter()
            .map(|d| {
                let declined_at = d.case.declined_at.unwrap_or(d.case.updated_at);
                DeclinedView {
                    appeal_number: d.appeal_number,
                    reroute_by: deadline::reroute_by(declined_at),
                    late: deadline::reroute_late(declined_at, now),
                    declined_at,
                    case: d.case,
                }
            })
            .filter(|d| d.late || !only_late)
            .collect();
        Ok((cases, self.authority_names().await?))
    }

    /// Checks an optional free-text field the API passes through (notes, comments).
    pub fn check_note(&self, field: &str, text: &str) -> AppResult<String> {
        Ok(bounded_text(field, text, self.limits.max_text_chars)?)
    }
}
