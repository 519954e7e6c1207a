//! The public's use cases: the Open311 services (the classifier's subjects) and service requests
//! (appeals, as [`PublicRequest`]s), and the monthly open-data export. Nothing here reads a
//! citizen: the store selects no personal column, and places are named at settlement level.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{AppResult, Hotline};
use crate::domain::deadline::kyiv_midnight;
use crate::domain::opendata::{MAX_REQUESTS, PublicRequest, end_of_day, public_address, window};
use crate::domain::text::check_code;
use crate::domain::{Category, DomainError};
use crate::store::{PublicFilter, PublicRow, Store};

/// What the public asks for (GeoReport v2 `GET requests`).
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    /// `service_request_id`: these only (the other filters then do not apply).
    pub ids: Vec<String>,
    /// `service_code`.
    pub services: Vec<String>,
    /// `status`: open, closed or both.
    pub open: Option<bool>,
    /// `start_date`.
    pub start: Option<DateTime<Utc>>,
    /// `end_date`.
    pub end: Option<DateTime<Utc>>,
}

impl<S: Store> Hotline<S> {
    /// The services: every subject of the classifier (with its section as the group).
    pub async fn open311_services(&self) -> AppResult<Vec<(Category, String)>> {
        let all = self.store.list_categories().await?;
        let names: HashMap<String, String> = all
            .iter()
            .map(|c| (c.code.clone(), c.name.clone()))
            .collect();
        Ok(all
            .iter()
            .filter(|c| !c.parent_code.is_empty())
            .map(|c| {
                let group = names.get(&c.parent_code).cloned().unwrap_or_default();
                (c.clone(), group)
            })
            .collect())
    }

    /// Service requests matching the query, oldest first (at most 1000).
    pub async fn open311_requests(&self, q: RequestQuery) -> AppResult<Vec<PublicRequest>> {
        let (from, to) = window(q.start, q.end, self.now())?;
        for (i, code) in q.services.iter().enumerate() {
            check_code(&format!("service_code[{i}]"), code)?;
        }
        let rows = self
            .store
            .public_rows(&PublicFilter {
                numbers: q.ids,
                categories: q.services,
                open: q.open,
                from,
                to,
                limit: MAX_REQUESTS,
                with_consultations: false,
            })
            .await?;
        self.public(rows).await
    }

    /// One service request; `NotFound` for an unknown number or a consultation.
    pub async fn open311_request(&self, number: &str) -> AppResult<PublicRequest> {
        let mut found = self
            .open311_requests(RequestQuery {
                ids: vec![number.to_string()],
                ..RequestQuery::default()
            })
            .await?;
        found
            .pop()
            .ok_or_else(|| DomainError::NotFound(format!("service request {number}")).into())
    }

    /// Every appeal received in a month (Kyiv), consultations included, as open data.
    pub async fn open_data_month(&self, year: i32, month: u32) -> AppResult<Vec<PublicRequest>> {
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| {
            DomainError::invalid("month", format!("{year}-{month:02} is no month"))
        })?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| DomainError::invalid("month", "out of range"))?;
        if first > crate::domain::deadline::kyiv_date(self.now()) {
            return Err(
                DomainError::invalid("month", format!("{year}-{month:02} has not begun")).into(),
            );
        }
        let rows = self
            .store
            .public_rows(&PublicFilter {
                from: kyiv_midnight(first),
                to: kyiv_midnight(next),
                limit: i64::MAX,
                with_consultations: true,
                ..PublicFilter::default()
            })
            .await?;
        let mut out = self.public(rows).await?;
        out.sort_by_key(|r| r.requested);
        Ok(out)
    }

    /// Rows named from the directory.
    async fn public(&self, rows: Vec<PublicRow>) -> AppResult<Vec<PublicRequest>> {
        let categories: HashMap<String, String> = self
            .store
            .list_categories()
            .await?
            .into_iter()
            .map(|c| (c.code, c.name))
            .collect();
        let places: HashMap<String, String> = self
            .store
            .list_districts()
            .await?
            .into_iter()
            .map(|d| (d.code, d.name))
            .collect();
        let agencies = self.authority_names().await?;
        let name = |map: &HashMap<String, String>, code: &str| {
            map.get(code).cloned().unwrap_or_else(|| code.to_string())
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                let section = r
                    .category_code
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let outcome = r.outcome.clone().unwrap_or_default();
                let settlement = if r.settlement_code.is_empty() {
                    String::new()
                } else {
                    name(&places, &r.settlement_code)
                };
                let district = name(&places, &r.district_code);
                PublicRequest {
                    open: r.closed_at.is_none(),
                    status_notes: if outcome.is_empty() {
                        r.status.replace('_', " ")
                    } else {
                        outcome.replace('_', " ")
                    },
                    category_name: name(&categories, &r.category_code),
                    section_code: section,
                    description: r.text,
                    agencies: r.authorities.iter().map(|a| name(&agencies, a)).collect(),
                    requested: r.received_at,
                    updated: r.updated_at,
                    expected: end_of_day(r.deadline),
                    closed: r.closed_at,
                    address: public_address(&settlement, &district),
                    settlement,
                    district,
                    channel: r.channel,
                    outcome,
                    category_code: r.category_code,
                    number: r.number,
                }
            })
            .collect())
    }
}
