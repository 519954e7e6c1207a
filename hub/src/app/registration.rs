//! Registering an appeal: the directory and registry look-ups the card's rules need (places,
//! category, complained-about authority, the classifier's entries, an earlier appeal or a repeat
//! the hub detects), then the card's checks and one transaction under the year's next number.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};

use super::appeals::AppealView;
use super::group_commit::GroupCommit;
use super::{AppResult, Hotline, RequestId};
use crate::domain::card::{CardInput, CardRefs, RefAppeal, RefDistrict};
use crate::domain::deadline::kyiv_date;
use crate::domain::exchange::ExchangeLink;
use crate::domain::text::{check_number, normalize_phone, optional_code};
use crate::domain::{AppealState, Caller, Change};
use crate::store::{Applied, MakeAppeal, RegisterJob, Store};

impl<S: Store> Hotline<S> {
    /// What the directory and the registry say about the card's references.
    async fn card_refs(&self, input: &CardInput, now: DateTime<Utc>) -> AppResult<CardRefs> {
        let mut refs = CardRefs::default();
        let directory = self.snapshot().await?;
        let place = |code: &str| {
            directory.places.get(code).map(|d| RefDistrict {
                kind: d.kind,
                parent_code: d.parent_code.clone(),
            })
        };
        let district = optional_code("district_code", &input.district_code)?;
        if !district.is_empty() {
            refs.district = place(&district);
        }
        let settlement = optional_code("settlement_code", &input.settlement_code)?;
        if !settlement.is_empty() {
            refs.settlement = place(&settlement);
        }
        let category = optional_code("category_code", &input.category_code)?;
        if !category.is_empty() {
            refs.category_term_days = directory.categories.get(&category).map(|c| c.term_days);
        }
        refs.classifier = directory
            .entries
            .iter()
            .map(|e| (e.dimension, e.code.clone(), e.priority))
            .collect();
        let complained = optional_code(
            "complained_authority_code",
            &input.complained_authority_code,
        )?;
        if !complained.is_empty() {
            refs.complained_authority_known = directory.authorities.contains_key(&complained);
        }
        if !input.repeat_of.trim().is_empty() {
            let number = check_number("repeat_of", &input.repeat_of)?;
            refs.repeat_of =
                self.store
                    .appeal_ref(&number)
                    .await?
                    .map(|(id, status, phone, name)| RefAppeal {
                        id,
                        status,
                        phone,
                        name,
                    });
        } else if !input.anonymous
            && let Ok(phone) = normalize_phone(&input.citizen.phone)
        {
            let since = input.received_at.unwrap_or(now)
                - chrono::Days::new(self.limits.repeat_window_days);
            refs.detected_repeat = self
                .store
                .find_repeat(&phone, &category, &district, since)
                .await?;
        }
        Ok(refs)
    }

    /// Registers an appeal under the next number of the Kyiv year it was received in.
    pub async fn register(
        &self,
        input: CardInput,
        caller: &Caller,
        request: &RequestId,
    ) -> AppResult<AppealView> {
        self.register_linked(input, caller, request, None).await
    }

    /// [`Self::register`], linking the new appeal to an exchange partner in the same transaction.
    pub(super) async fn register_linked(
        &self,
        input: CardInput,
        caller: &Caller,
        request: &RequestId,
        link: Option<ExchangeLink>,
    ) -> AppResult<AppealView> {
        let now = self.now();
        let linked = link
            .as_ref()
            .map(|l| (l.partner.clone(), l.external_id.clone()));
        let key = self.request_key(caller, request)?;
        let refs = self.card_refs(&input, now).await?;
        let checked = input.check(&refs, &self.limits, now)?;
        let year = kyiv_date(checked.received_at).year();
        let prefix = self.number_prefix.clone();
        let email = self.limits.email_notices;
        let make: MakeAppeal = Arc::new(move |seq| {
            let number = crate::domain::appeal::number(&prefix, year, seq);
            let (state, events) = AppealState::register(number, checked.clone(), now);
            let notices = crate::domain::notice::required(&state, &events, email);
            let mut change = Change::new(events, notices);
            change.link = link.clone();
            (state, change)
        });
        let job = RegisterJob {
            year,
            caller: caller.clone(),
            now,
            request: key,
            make,
        };
        let applied = self.registrar().write(job).await?;
        let mut state = self.applied(applied).await?;
        // The link was written with the appeal; the state in hand was made before it.
        state.appeal.exchange = state.appeal.exchange.or(linked);
        self.view(state, now).await
    }
}

/// Registrations go through a [`GroupCommit`]: one durable transaction for the registrations
/// that arrive together, each under its own next number.
pub(crate) type Registrar = GroupCommit<RegisterJob, Applied<AppealState>>;

fn start_registrar<S: Store>(store: S) -> Registrar {
    let one = store.clone();
    GroupCommit::start(
        move |jobs: Vec<RegisterJob>| {
            let store = store.clone();
            async move { Ok(store.register_batch(&jobs).await?) }
        },
        move |job: RegisterJob| {
            let store = one.clone();
            async move {
                let make = job.make.clone();
                Ok(store
                    .register(
                        job.year,
                        &job.caller,
                        job.now,
                        job.request.as_ref(),
                        move |seq| make(seq),
                    )
                    .await?)
            }
        },
    )
}

impl<S: Store> Hotline<S> {
    fn registrar(&self) -> &Registrar {
        self.registrar
            .get_or_init(|| start_registrar(self.store.clone()))
    }
}
