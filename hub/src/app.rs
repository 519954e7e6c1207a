//! Application services: what each staff action does, end to end. They look up the references a
//! transition needs in the store, run the pure domain transition inside [`Store::transact`], and
//! return the new state. No gRPC types here; no SQL either.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hotline_proto::receipt::{ReceiptSigner, sha256_hex};

use crate::domain::appeal::{AuthorityRef, CallbackOutcome, CloseOutcome, Verdict};
use crate::domain::card::{
    CardInput, CardRefs, RefAppeal, RefDistrict, bounded_text, required_text,
};
use crate::domain::{AppealState, DomainError, Limits};
use crate::store::{
    AgencyRequest, AppealKey, Authority, Caller, Category, Cursor, DeclinedCase, District,
    SearchFilter, Store, StoreError, StoreResult, StoredEvent,
};

/// Longest directory name, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Longest directory code, in characters.
const MAX_CODE_CHARS: usize = 40;
/// Most events returned as an appeal's history.
const MAX_HISTORY: i64 = 10_000;

/// The hub's staff-facing services over a store.
#[derive(Debug, Clone)]
pub struct Hotline<S> {
    /// Where everything is kept.
    pub store: S,
    /// Text lengths and call-back attempts.
    pub limits: Limits,
    /// Prefix of appeal numbers (`DP` gives `DP-2026-000123`): the oblast's code.
    pub number_prefix: String,
    /// The key that signs receipts for what authorities receive and send.
    pub receipts: Arc<ReceiptSigner>,
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
        }
    }
}

/// Longest client-made request id.
const MAX_REQUEST_ID: usize = 100;

/// Checks a directory code: lowercase ascii letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn check_code(field: &str, code: &str) -> Result<String, DomainError> {
    let code = code.trim();
    let ok = !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c))
        && code.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(code.to_string())
    } else if code.is_empty() {
        Err(DomainError::invalid(field, "required"))
    } else {
        Err(DomainError::invalid(
            field,
            format!(
                "`{code}` is not a code: up to {MAX_CODE_CHARS} lowercase ascii letters, digits, `.`, `_` or `-`"
            ),
        ))
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl<S: Store> Hotline<S> {
    /// Services over `store` with default limits and the `DP` prefix.
    pub fn new(store: S) -> Self {
        let key = ReceiptSigner::generate_pkcs8();
        Self {
            store,
            limits: Limits::default(),
            number_prefix: "DP".into(),
            receipts: Arc::new(ReceiptSigner::from_pkcs8(&key).expect("a freshly generated key")),
        }
    }

    // --- Directory ---

    async fn check_district_ref(&self, field: &str, code: &str) -> StoreResult<()> {
        match self.store.district(code).await? {
            Some(d) if d.kind == "district" => Ok(()),
            _ => Err(DomainError::invalid(field, format!("unknown district `{code}`")).into()),
        }
    }

    async fn checked_authority(&self, a: &Authority) -> StoreResult<Authority> {
        let checked = Authority {
            code: check_code("code", &a.code)?,
            name: required_text("name", &a.name, MAX_NAME_CHARS)?,
            kind: check_code("kind", &a.kind)?,
            district_code: a.district_code.trim().to_string(),
            active: true,
        };
        if !checked.district_code.is_empty() {
            self.check_district_ref("district_code", &checked.district_code)
                .await?;
        }
        Ok(checked)
    }

    /// Adds an authority.
    pub async fn create_authority(&self, a: &Authority, caller: &Caller) -> StoreResult<Authority> {
        let a = self.checked_authority(a).await?;
        self.store.create_authority(&a, now(), caller).await?;
        Ok(a)
    }

    /// Changes an authority's name, kind and district; keeps its active flag.
    pub async fn update_authority(&self, a: &Authority, caller: &Caller) -> StoreResult<Authority> {
        let mut a = self.checked_authority(a).await?;
        let current = self.existing_authority(&a.code).await?;
        a.active = current.active;
        self.store.update_authority(&a, now(), caller).await?;
        Ok(a)
    }

    async fn existing_authority(&self, code: &str) -> StoreResult<Authority> {
        self.store
            .authority(code)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("authority `{code}`")).into())
    }

    /// Deactivates an authority: no new cases; open ones stay with it until reassigned.
    pub async fn deactivate_authority(
        &self,
        code: &str,
        caller: &Caller,
    ) -> StoreResult<Authority> {
        let mut a = self.existing_authority(code).await?;
        a.active = false;
        self.store.update_authority(&a, now(), caller).await?;
        Ok(a)
    }

    /// Adds or changes a district or settlement.
    pub async fn upsert_district(&self, d: &District, caller: &Caller) -> StoreResult<District> {
        let d = District {
            code: check_code("code", &d.code)?,
            name: required_text("name", &d.name, MAX_NAME_CHARS)?,
            kind: d.kind.trim().to_string(),
            parent_code: d.parent_code.trim().to_string(),
        };
        match (d.kind.as_str(), d.parent_code.is_empty()) {
            ("district", true) => {}
            ("district", false) => {
                return Err(DomainError::invalid("parent_code", "a district has no parent").into());
            }
            ("settlement", false) => {
                self.check_district_ref("parent_code", &d.parent_code)
                    .await?
            }
            ("settlement", true) => {
                return Err(
                    DomainError::invalid("parent_code", "a settlement needs its district").into(),
                );
            }
            (other, _) => {
                return Err(DomainError::invalid(
                    "kind",
                    format!("`{other}` is not `district` or `settlement`"),
                )
                .into());
            }
        }
        self.store.upsert_district(&d, caller).await?;
        Ok(d)
    }

    /// Adds or changes a category.
    pub async fn upsert_category(&self, c: &Category, caller: &Caller) -> StoreResult<Category> {
        let c = Category {
            code: check_code("code", &c.code)?,
            name: required_text("name", &c.name, MAX_NAME_CHARS)?,
            parent_code: c.parent_code.trim().to_string(),
            term_days: match c.term_days {
                0 => 15,
                15 | 30 => c.term_days,
                other => {
                    return Err(DomainError::invalid(
                        "term_days",
                        format!("{other} is not 15 or 30 (art. 20)"),
                    )
                    .into());
                }
            },
        };
        if !c.parent_code.is_empty() {
            match self.store.category(&c.parent_code).await? {
                Some(parent) if parent.parent_code.is_empty() => {}
                Some(_) => {
                    return Err(DomainError::invalid(
                        "parent_code",
                        "the parent must be a section, not a subject",
                    )
                    .into());
                }
                None => {
                    return Err(DomainError::invalid(
                        "parent_code",
                        format!("unknown category `{}`", c.parent_code),
                    )
                    .into());
                }
            }
            if !c.code.starts_with(&format!("{}.", c.parent_code)) {
                return Err(DomainError::invalid(
                    "code",
                    format!("a subject's code starts with `{}.`", c.parent_code),
                )
                .into());
            }
        }
        self.store.upsert_category(&c, caller).await?;
        Ok(c)
    }

    // --- Appeals ---

    /// Registers an appeal.
    pub async fn register(&self, input: CardInput, caller: &Caller) -> StoreResult<AppealState> {
        let mut refs = CardRefs::default();
        let as_ref = |d: District| RefDistrict {
            kind: d.kind,
            parent_code: d.parent_code,
        };
        let district = input.district_code.trim();
        if !district.is_empty() {
            refs.district = self.store.district(district).await?.map(as_ref);
        }
        let settlement = input.settlement_code.trim();
        if !settlement.is_empty() {
            refs.settlement = self.store.district(settlement).await?.map(as_ref);
        }
        let category = input.category_code.trim();
        if !category.is_empty() {
            refs.category_term_days = self.store.category(category).await?.map(|c| c.term_days);
        }
        let complained = input.complained_authority_code.trim();
        if !complained.is_empty() {
            refs.complained_authority_known = self.store.authority(complained).await?.is_some();
        }
        let repeat_of = input.repeat_of.trim();
        if !repeat_of.is_empty() {
            refs.repeat_of = self
                .store
                .appeal_status(repeat_of)
                .await?
                .map(|(id, status)| RefAppeal { id, status });
        } else if !input.anonymous
            && let Ok(phone) = crate::domain::card::normalize_phone(&input.citizen.phone)
        {
            let since = input.received_at.unwrap_or_else(now)
                - chrono::Days::new(self.limits.repeat_window_days);
            refs.detected_repeat = self
                .store
                .find_repeat(&phone, category, district, since)
                .await?;
        }
        let checked = input.check(&refs, &self.limits, now())?;
        self.store
            .register(checked, &self.number_prefix, caller, now())
            .await
    }

    /// One appeal with its cases and history; the read of its personal data is audited first.
    pub async fn get(
        &self,
        number: &str,
        caller: &Caller,
    ) -> StoreResult<(AppealState, Vec<StoredEvent>)> {
        let state = self
            .store
            .load(&AppealKey::Number(number.trim().to_string()))
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("appeal {}", number.trim())))?;
        self.store.audit_read(caller, &state.appeal.number).await?;
        let history = self.store.history(state.appeal.id, MAX_HISTORY).await?;
        Ok((state, history))
    }

    /// Appeals matching the filter.
    pub async fn search(&self, filter: &SearchFilter) -> StoreResult<Vec<AppealState>> {
        self.store.search(filter).await
    }

    async fn authority_ref(&self, field: &str, code: &str) -> StoreResult<AuthorityRef> {
        let code = code.trim();
        if code.is_empty() {
            return Err(DomainError::invalid(field, "required").into());
        }
        match self.store.authority(code).await? {
            Some(a) => Ok(AuthorityRef {
                code: a.code,
                active: a.active,
            }),
            None => Err(DomainError::invalid(field, format!("unknown authority `{code}`")).into()),
        }
    }

    /// Assigns an appeal to authorities.
    pub async fn assign(
        &self,
        number: &str,
        assignments: &[(String, Option<NaiveDate>)],
        caller: &Caller,
    ) -> StoreResult<AppealState> {
        let mut resolved = Vec::with_capacity(assignments.len());
        for (i, (code, deadline)) in assignments.iter().enumerate() {
            let authority = self
                .authority_ref(&format!("assignments[{i}].authority_code"), code)
                .await?;
            resolved.push((authority, *deadline));
        }
        let key = AppealKey::Number(number.trim().to_string());
        self.store
            .transact(&key, caller, |s| s.assign(&resolved, now()))
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
    ) -> StoreResult<AppealState> {
        let to = self.authority_ref("authority_code", authority_code).await?;
        self.store
            .transact(&AppealKey::Case(case_id), caller, |s| {
                s.reassign(case_id, &to, reason, deadline, now())
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
    ) -> StoreResult<AppealState> {
        self.store
            .transact(&AppealKey::Case(case_id), caller, |s| {
                s.extend_deadline(case_id, deadline, reason, now())
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
    ) -> StoreResult<AppealState> {
        self.store
            .transact(&AppealKey::Case(case_id), caller, |s| {
                s.verify(case_id, verdict, reason, now())
            })
            .await
    }

    /// The operator's call-back.
    pub async fn record_callback(
        &self,
        number: &str,
        outcome: CallbackOutcome,
        note: &str,
        caller: &Caller,
    ) -> StoreResult<AppealState> {
        let limits = self.limits.clone();
        self.store
            .transact(
                &AppealKey::Number(number.trim().to_string()),
                caller,
                move |s| s.record_callback(outcome, note, &limits, now()),
            )
            .await
    }

    /// Ends an appeal without a confirmed answer.
    pub async fn close(
        &self,
        number: &str,
        outcome: CloseOutcome,
        reason: &str,
        caller: &Caller,
    ) -> StoreResult<AppealState> {
        self.store
            .transact(&AppealKey::Number(number.trim().to_string()), caller, |s| {
                s.close(outcome, reason, now())
            })
            .await
    }

    /// Answers an authority's question; the case goes back to work.
    pub async fn answer_clarification(
        &self,
        case_id: i64,
        answer: &str,
        caller: &Caller,
    ) -> StoreResult<AppealState> {
        self.store
            .transact(&AppealKey::Case(case_id), caller, |s| {
                s.answer_clarification(case_id, answer, now())
            })
            .await
    }

    /// Declined cases waiting for re-routing.
    pub async fn declined_cases(&self) -> StoreResult<Vec<DeclinedCase>> {
        self.store.declined_cases().await
    }

    /// Checks an optional free-text field the API passes through (notes, comments).
    pub fn check_note(&self, field: &str, text: &str) -> Result<String, StoreError> {
        Ok(bounded_text(field, text, self.limits.max_text_chars)?)
    }

    // --- Deadlines ---

    /// One run of the deadline monitor: announces (once per deadline) the cases due within
    /// `due_soon_days` and those overdue, as `case.due_soon` / `case.overdue` events that reach the
    /// authority's stream and the watch stream. Returns how many cases were examined.
    pub async fn announce_deadlines(
        &self,
        due_soon_days: u64,
        at: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let today = crate::domain::deadline::kyiv_date(at);
        let ids = self
            .store
            .cases_to_announce(today, today + chrono::Days::new(due_soon_days))
            .await?;
        let caller = Caller::system("deadline monitor");
        for id in &ids {
            self.store
                .transact(&AppealKey::Case(*id), &caller, |s| {
                    Ok(s.mark_deadlines(due_soon_days, at))
                })
                .await?;
        }
        Ok(ids.len())
    }

    /// The deadline monitor: every `interval`, if this hub holds the cluster's lease, announces due
    /// and overdue cases. Several hubs on one database take turns through the lease; a restart
    /// announces nothing twice because each announcement is recorded with its event.
    pub async fn run_deadline_monitor(
        self,
        interval: std::time::Duration,
        due_soon_days: u64,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let holder = uuid::Uuid::new_v4().to_string();
        loop {
            let until = now()
                + chrono::Duration::from_std(interval * 3).unwrap_or(chrono::Duration::minutes(3));
            match self
                .store
                .try_lease("deadline-monitor", &holder, until)
                .await
            {
                Ok(true) => {
                    if let Err(err) = self.announce_deadlines(due_soon_days, now()).await {
                        tracing::warn!(error = %err, "deadline monitor run failed; retrying next time");
                    }
                }
                Ok(false) => tracing::debug!("another hub runs the deadline monitor"),
                Err(err) => tracing::warn!(error = %err, "deadline monitor cannot take its lease"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.wait_for(|down| *down) => return,
            }
        }
    }

    // --- Authorities (the agency gateway) ---

    /// Applies an authority's action to one of its own cases, once per request id. `respond` builds
    /// the reply (with its signed receipt) inside the transaction, so a retry gets the same bytes.
    pub async fn agency_act<R>(
        &self,
        caller: &Caller,
        mut request: AgencyRequest,
        action: AgencyAction,
        respond: R,
    ) -> StoreResult<Vec<u8>>
    where
        R: FnOnce(&AppealState, &[i64], DateTime<Utc>) -> Vec<u8> + Send,
    {
        request.request_id = request.request_id.trim().to_string();
        if request.request_id.is_empty() || request.request_id.len() > MAX_REQUEST_ID {
            return Err(DomainError::invalid(
                "request_id",
                format!("required, at most {MAX_REQUEST_ID} characters"),
            )
            .into());
        }
        if request.attachments.len() > self.limits.max_attachments {
            return Err(DomainError::invalid(
                "attachments",
                format!(
                    "{} documents, at most {}",
                    request.attachments.len(),
                    self.limits.max_attachments
                ),
            )
            .into());
        }
        for (i, a) in request.attachments.iter_mut().enumerate() {
            a.name = required_text(&format!("attachments[{i}].name"), &a.name, 255)?;
            if a.content.len() > self.limits.max_attachment_bytes {
                return Err(StoreError::TooLarge(format!(
                    "attachments[{i}]: {} bytes, at most {}",
                    a.content.len(),
                    self.limits.max_attachment_bytes
                )));
            }
            let actual = sha256_hex(&a.content);
            if !a.sha256.eq_ignore_ascii_case(&actual) {
                return Err(DomainError::invalid(
                    format!("attachments[{i}].sha256"),
                    format!("does not match the content (SHA-256 {actual})"),
                )
                .into());
            }
            a.sha256 = actual;
        }
        let case_id = request.case_id;
        let authority = request.authority.clone();
        let limits = self.limits.clone();
        self.store
            .transact_once(
                &AppealKey::Case(case_id),
                caller,
                &request,
                move |s| {
                    s.case_of(case_id, &authority)?;
                    match action {
                        AgencyAction::Accept => s.accept(case_id, now()),
                        AgencyAction::Decline(reason) => s.decline(case_id, &reason, now()),
                        AgencyAction::Report { comment, planned } => {
                            s.report_progress(case_id, &comment, planned, now())
                        }
                        AgencyAction::Ask(question) => {
                            s.request_clarification(case_id, &question, now())
                        }
                        AgencyAction::Resolve { answer, measures } => {
                            s.resolve(case_id, &answer, &measures, &limits, now())
                        }
                    }
                },
                respond,
            )
            .await
            .map_err(|err| match err {
                // Another authority's case reads exactly like a missing one.
                StoreError::Domain(DomainError::NotFound(_)) => {
                    DomainError::NotFound(format!("case {case_id}")).into()
                }
                other => other,
            })
    }

    /// One of `authority`'s cases (NOT_FOUND for any other); the read of personal data is audited.
    pub async fn agency_case(
        &self,
        authority: &str,
        case_id: i64,
        caller: &Caller,
    ) -> StoreResult<AppealState> {
        let not_found = || StoreError::from(DomainError::NotFound(format!("case {case_id}")));
        let state = self
            .store
            .load(&AppealKey::Case(case_id))
            .await?
            .ok_or_else(not_found)?;
        state.case_of(case_id, authority).map_err(|_| not_found())?;
        self.store.audit_read(caller, &state.appeal.number).await?;
        Ok(state)
    }

    /// Records that `authority` stored every event up to `cursor`: its cases assigned up to there
    /// become `delivered`. Returns how many did.
    pub async fn acknowledge(
        &self,
        authority: &str,
        cursor: Cursor,
        caller: &Caller,
    ) -> StoreResult<usize> {
        let last = self.store.last_event_id().await?;
        if cursor.id > last {
            return Err(DomainError::invalid(
                "cursor",
                format!("`{cursor}` is ahead of the event log"),
            )
            .into());
        }
        let mut delivered = 0;
        for case_id in self.store.assigned_cases_up_to(authority, cursor).await? {
            let state = self
                .store
                .transact(&AppealKey::Case(case_id), caller, |s| {
                    let i = s.case_of(case_id, authority)?;
                    if s.cases[i].status == crate::domain::CaseStatus::Assigned {
                        s.deliver(case_id, now())
                    } else {
                        Ok(Vec::new())
                    }
                })
                .await?;
            if state
                .cases
                .iter()
                .any(|c| c.id == case_id && c.status == crate::domain::CaseStatus::Delivered)
            {
                delivered += 1;
            }
        }
        self.store.save_agency_cursor(authority, cursor).await?;
        Ok(delivered)
    }
}
