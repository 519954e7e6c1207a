//! The exchange's use cases: a partner's batch of appeals (each applied once, mapped, held or
//! refused on its own), its stream of updates and acknowledgements, and the hotline's side — code
//! mappings, classifying held records, forwarding appeals up.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

use super::appeals::AppealView;
use super::feed::{FeedItem, FeedResult, FeedSettings};
use super::{AppError, AppResult, Hotline, RequestId};
use crate::domain::exchange::{
    CodeMapping, Direction, ExchangeLink, ExchangeRecord, MapKind, Mapped, check_external,
    check_partner, map_codes, partner_hears,
};
use crate::domain::text::{check_number, optional_code};
use crate::domain::{
    AppealState, Caller, Cursor, DistrictKind, DomainError, EventKind, StoredEvent,
};
use crate::store::{AppealKey, EventFilter, HeldRecord, Store, StoreError};

/// Most records in one batch.
pub const MAX_BATCH: usize = 500;

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Registered.
    Accepted,
    /// Sent before; answered as then.
    Duplicate,
    /// Held for classification.
    Held,
    /// Refused; nothing kept.
    Rejected,
}

/// What the hub signs for a record: the kind, the event, when, and the record's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptBasis {
    /// `exchange.accepted` or `exchange.held`.
    pub kind: &'static str,
    /// The `appeal.registered` event (0 while held).
    pub event_id: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Hex SHA-256 of the record as sent.
    pub record_sha256: String,
}

/// The answer for one record.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The partner's id, as given.
    pub external_id: String,
    /// What became of it.
    pub fate: Fate,
    /// Our number, once registered.
    pub appeal_number: String,
    /// Why it was held or refused.
    pub reason: String,
    /// What the receipt covers; `None` when refused.
    pub receipt: Option<ReceiptBasis>,
}

impl Submitted {
    fn rejected(external_id: &str, reason: String) -> Self {
        Self {
            external_id: external_id.to_string(),
            fate: Fate::Rejected,
            appeal_number: String::new(),
            reason,
            receipt: None,
        }
    }
}

/// One update for a partner.
#[derive(Debug, Clone)]
pub struct PartnerUpdate {
    /// The event.
    pub event: StoredEvent,
    /// The partner's id of the appeal.
    pub external_id: String,
    /// The appeal as it is now.
    pub state: AppealState,
    /// The texts of the notices the change recorded.
    pub notices: Vec<String>,
    /// Whether the whole appeal, citizen included, goes with it (forwarded up).
    pub with_appeal: bool,
}

impl<S: Store> Hotline<S> {
    /// A partner's batch: each record on its own (`records` holds, per record, the decoded record
    /// and the SHA-256 of its bytes as sent, or why it could not be read).
    pub async fn submit_appeals(
        &self,
        partner: &str,
        records: Vec<Result<(ExchangeRecord, String), (String, String)>>,
        caller: &Caller,
    ) -> AppResult<Vec<Submitted>> {
        let partner = check_partner(partner)?;
        if records.len() > MAX_BATCH {
            return Err(DomainError::invalid(
                "appeals",
                format!("{} records; at most {MAX_BATCH} per batch", records.len()),
            )
            .into());
        }
        let mappings: HashMap<(MapKind, String), String> = self
            .store
            .mappings(&partner)
            .await?
            .into_iter()
            .map(|m| ((m.kind, m.theirs), m.ours))
            .collect();
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            out.push(match record {
                Err((external_id, why)) => Submitted::rejected(&external_id, why),
                Ok((record, sha)) => {
                    self.submit_one(&partner, record, sha, &mappings, caller)
                        .await?
                }
            });
        }
        Ok(out)
    }

    async fn submit_one(
        &self,
        partner: &str,
        record: ExchangeRecord,
        sha: String,
        mappings: &HashMap<(MapKind, String), String>,
        caller: &Caller,
    ) -> AppResult<Submitted> {
        let external_id = match check_external("external_id", &record.external_id) {
            Ok(id) => id,
            Err(e) => return Ok(Submitted::rejected(&record.external_id, e.to_string())),
        };
        if let Some(earlier) = self.earlier_submission(partner, &external_id, &sha).await? {
            return Ok(earlier);
        }
        let lookup =
            |kind: MapKind, theirs: &str| mappings.get(&(kind, theirs.to_string())).cloned();
        match map_codes(&record.codes(), lookup) {
            Mapped::Unmapped(missing) => {
                let held = HeldRecord {
                    id: 0,
                    partner: partner.to_string(),
                    external_id: external_id.clone(),
                    record: serde_json::to_vec(&record)
                        .map_err(|e| AppError::Internal(format!("held record: {e}")))?,
                    record_sha256: sha.clone(),
                    missing: missing.join(", "),
                    received_at: self.now(),
                    appeal_id: None,
                };
                match self.store.hold(&held, caller).await {
                    Ok(held) => Ok(held_answer(&held, Fate::Held)),
                    // Sent twice at once: the other one held it.
                    Err(StoreError::AlreadyExists(_)) => self
                        .earlier_submission(partner, &external_id, &sha)
                        .await?
                        .ok_or_else(|| AppError::Internal("a held record vanished".into())),
                    Err(e) => Err(e.into()),
                }
            }
            Mapped::Ours {
                category,
                district,
                settlement,
            } => {
                let link = ExchangeLink {
                    partner: partner.to_string(),
                    external_id: external_id.clone(),
                    record_sha256: sha.clone(),
                    direction: Direction::Incoming,
                    held_id: None,
                };
                let card = match record.card(partner, category, district, settlement) {
                    Ok(card) => card,
                    Err(e) => return Ok(Submitted::rejected(&external_id, e.to_string())),
                };
                let registered = self
                    .register_linked(card, caller, &RequestId::default(), Some(link))
                    .await;
                match registered {
                    Ok(view) => Ok(self
                        .accepted(&view.state, &external_id, sha, Fate::Accepted)
                        .await?),
                    Err(AppError::Domain(e)) => {
                        Ok(Submitted::rejected(&external_id, e.to_string()))
                    }
                    Err(AppError::AlreadyExists(_)) => self
                        .earlier_submission(partner, &external_id, &sha)
                        .await?
                        .ok_or_else(|| AppError::Internal("a linked appeal vanished".into())),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The answer given before for (partner, external id), if it was sent before: the same
    /// receipt; a different record under the same id is refused.
    async fn earlier_submission(
        &self,
        partner: &str,
        external_id: &str,
        sha: &str,
    ) -> AppResult<Option<Submitted>> {
        let conflict = |number: &str| {
            Ok(Some(Submitted::rejected(
                external_id,
                format!(
                    "external_id: `{external_id}` was sent before with other content ({number}); \
                     a partner's id names one record"
                ),
            )))
        };
        if let Some((appeal_id, number, earlier_sha)) =
            self.store.link(partner, external_id).await?
        {
            if earlier_sha != sha {
                return conflict(&number);
            }
            let state = self
                .store
                .load(&AppealKey::Number(number.clone()))
                .await?
                .ok_or_else(|| DomainError::NotFound(format!("appeal {appeal_id}")))?;
            return Ok(Some(
                self.accepted(&state, external_id, sha.to_string(), Fate::Duplicate)
                    .await?,
            ));
        }
        if let Some(held) = self.store.held_by_external(partner, external_id).await? {
            if held.record_sha256 != sha {
                return conflict("held for classification");
            }
            return Ok(Some(held_answer(&held, Fate::Duplicate)));
        }
        Ok(None)
    }

    async fn accepted(
        &self,
        state: &AppealState,
        external_id: &str,
        sha: String,
        fate: Fate,
    ) -> AppResult<Submitted> {
        let event = self
            .store
            .registered_event(state.appeal.id)
            .await?
            .ok_or_else(|| AppError::Internal("an appeal without its registration".into()))?;
        Ok(Submitted {
            external_id: external_id.to_string(),
            fate,
            appeal_number: state.appeal.number.clone(),
            reason: String::new(),
            receipt: Some(ReceiptBasis {
                kind: "exchange.accepted",
                event_id: event.cursor.id,
                at: event.at,
                record_sha256: sha,
            }),
        })
    }

    /// The partner's updates after `cursor` (its acknowledged one when `None`): with `follow`, a
    /// live feed; otherwise the backlog, ending once caught up.
    pub async fn partner_updates(
        &self,
        partner: &str,
        cursor: Option<Cursor>,
        follow: bool,
        caller: &Caller,
        settings: &FeedSettings,
        shutdown: watch::Receiver<bool>,
    ) -> AppResult<mpsc::Receiver<FeedResult<PartnerUpdate>>> {
        let partner = check_partner(partner)?;
        let cursor = match cursor {
            Some(c) => c,
            None => self
                .store
                .partner_cursor(&partner)
                .await?
                .unwrap_or_default(),
        };
        self.check_cursor(cursor, None).await?;
        let filter = EventFilter {
            appeal_id: None,
            authority: None,
            partner: Some(partner.clone()),
        };
        let hotline = self.clone();
        let caller = caller.clone();
        let map = move |event: StoredEvent| {
            let hotline = hotline.clone();
            let caller = caller.clone();
            async move { hotline.partner_update(event, &caller).await }
        };
        if follow {
            let mut shutdown = shutdown;
            let stop = async move {
                let _ = shutdown.wait_for(|down| *down).await;
                None
            };
            return Ok(self.follow(cursor, filter, settings, stop, map));
        }
        let (tx, rx) = mpsc::channel(settings.buffer);
        let store = self.store.clone();
        let batch = settings.batch;
        tokio::spawn(async move {
            let mut cursor = cursor;
            loop {
                let events = match store.events_after(cursor, &filter, batch).await {
                    Ok(events) => events,
                    Err(e) => {
                        let _ = tx.send(Err(Box::new(e.into()))).await;
                        return;
                    }
                };
                let Some(last) = events.last() else { return };
                cursor = last.cursor;
                for event in events {
                    let item = match map(event).await {
                        Ok(None) => continue,
                        Ok(Some(update)) => Ok(FeedItem::Event(Box::new(update))),
                        Err(e) => Err(Box::new(e)),
                    };
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }

    async fn partner_update(
        &self,
        event: StoredEvent,
        caller: &Caller,
    ) -> AppResult<Option<PartnerUpdate>> {
        let Some(kind) = EventKind::from_code(&event.kind).filter(|k| partner_hears(*k)) else {
            return Ok(None);
        };
        let Some(state) = self
            .store
            .load(&AppealKey::Number(event.appeal_number.clone()))
            .await?
        else {
            return Ok(None);
        };
        let with_appeal = kind == EventKind::ForwardedUp;
        if with_appeal {
            // The partner receives the citizen to act on the appeal: a read of personal data.
            self.audit_read(caller, &event.appeal_number, self.now())
                .await?;
        }
        let notices = self.store.notices_at(state.appeal.id, event.at).await?;
        Ok(Some(PartnerUpdate {
            external_id: state
                .appeal
                .exchange
                .as_ref()
                .map(|e| e.1.clone())
                .unwrap_or_default(),
            event,
            state,
            notices,
            with_appeal,
        }))
    }

    /// Records a partner's acknowledgement.
    pub async fn acknowledge_partner(&self, partner: &str, cursor: Cursor) -> AppResult<Cursor> {
        let partner = check_partner(partner)?;
        self.check_cursor(cursor, None).await?;
        Ok(self
            .store
            .acknowledge_partner(&partner, cursor, self.now())
            .await?)
    }

    /// Maps a partner's code onto one of ours (which must exist).
    pub async fn set_mapping(&self, m: CodeMapping, caller: &Caller) -> AppResult<CodeMapping> {
        let m = m.checked()?;
        let known = match m.kind {
            MapKind::Category => self.store.category(&m.ours).await?.is_some(),
            MapKind::District => self
                .store
                .district(&m.ours)
                .await?
                .is_some_and(|d| d.kind == DistrictKind::District),
            MapKind::Settlement => self
                .store
                .district(&m.ours)
                .await?
                .is_some_and(|d| d.kind == DistrictKind::Settlement),
        };
        if !known {
            return Err(DomainError::invalid(
                "ours",
                format!("no {} `{}` in the directory", m.kind.code(), m.ours),
            )
            .into());
        }
        self.store.set_mapping(&m, caller, self.now()).await?;
        Ok(m)
    }

    /// A partner's mappings.
    pub async fn mappings(&self, partner: &str) -> AppResult<Vec<CodeMapping>> {
        Ok(self.store.mappings(&check_partner(partner)?).await?)
    }

    /// Records held for classification (with their decoded records), oldest first.
    pub async fn held_records(
        &self,
        partner: &str,
    ) -> AppResult<Vec<(HeldRecord, ExchangeRecord)>> {
        let partner = optional_code("partner", partner)?;
        let held = self
            .store
            .held_records((!partner.is_empty()).then_some(partner.as_str()), 1_000)
            .await?;
        held.into_iter()
            .map(|h| Ok((decode(&h)?, h)).map(|(r, h)| (h, r)))
            .collect()
    }

    /// Classifies a held record with our codes and registers it.
    pub async fn classify_held(
        &self,
        id: i64,
        category: &str,
        district: &str,
        settlement: &str,
        caller: &Caller,
    ) -> AppResult<AppealView> {
        let held = self
            .store
            .held_record(id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("held record {id}")))?;
        if let Some(appeal) = held.appeal_id {
            return Err(DomainError::IllegalTransition {
                action: "classify".into(),
                subject: format!("held record {id}"),
                current: format!("already registered as appeal {appeal}"),
            }
            .into());
        }
        let record = decode(&held)?;
        let card = record.card(
            &held.partner,
            category.to_string(),
            district.to_string(),
            settlement.to_string(),
        )?;
        let link = ExchangeLink {
            partner: held.partner.clone(),
            external_id: held.external_id.clone(),
            record_sha256: held.record_sha256.clone(),
            direction: Direction::Incoming,
            held_id: Some(id),
        };
        self.register_linked(card, caller, &RequestId::default(), Some(link))
            .await
    }

    /// Forwards an appeal up to a partner (art. 7).
    pub async fn forward_to_partner(
        &self,
        number: &str,
        partner: &str,
        reason: &str,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let number = check_number("number", number)?;
        let partner = check_partner(partner)?;
        let link = ExchangeLink {
            partner: partner.clone(),
            external_id: number.clone(),
            record_sha256: String::new(),
            direction: Direction::Up,
            held_id: None,
        };
        let reason = reason.to_string();
        self.change_linked(
            AppealKey::Number(number),
            caller,
            request,
            now,
            Some(link),
            move |s| s.forward_up(&partner, &reason, now),
        )
        .await
    }
}

/// The answer for a held record.
fn held_answer(held: &HeldRecord, fate: Fate) -> Submitted {
    Submitted {
        external_id: held.external_id.clone(),
        fate,
        appeal_number: String::new(),
        reason: format!("held for classification: no mapping for {}", held.missing),
        receipt: Some(ReceiptBasis {
            kind: "exchange.held",
            event_id: 0,
            at: held.received_at,
            record_sha256: held.record_sha256.clone(),
        }),
    }
}

fn decode(held: &HeldRecord) -> AppResult<ExchangeRecord> {
    serde_json::from_slice(&held.record)
        .map_err(|e| AppError::Internal(format!("held record {} does not read: {e}", held.id)))
}
