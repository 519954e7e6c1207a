//! What the hub suggests to staff from its own history: which authorities to assign (those that
//! took appeals of the same category in the same district before, their cases not declined or
//! moved away, most used first), and — while an operator types a caller's phone — that caller's
//! earlier appeals (each such read of personal data audited).

use std::collections::HashMap;

use super::{AppResult, Hotline};
use crate::domain::text::{check_code, normalize_phone};
use crate::domain::{AppealState, Caller, CaseStatus};
use crate::store::{SearchFilter, Store};

/// Appeals of the history looked at, newest first.
const HISTORY: i64 = 500;
/// A caller's earlier appeals shown while the phone is typed.
const CALLER_HISTORY: i64 = 10;

impl<S: Store> Hotline<S> {
    /// Authority codes with how many earlier appeals of `category` in `district` they worked,
    /// most first (at most `limit`).
    pub async fn suggested_authorities(
        &self,
        category: &str,
        district: &str,
        limit: usize,
    ) -> AppResult<Vec<(String, usize)>> {
        let filter = SearchFilter {
            category_code: Some(check_code("category_code", category)?),
            district_code: Some(check_code("district_code", district)?),
            limit: HISTORY,
            ..SearchFilter::default()
        };
        let mut counts: HashMap<String, usize> = HashMap::new();
        for state in self.store.search(&filter).await? {
            for case in &state.cases {
                if !matches!(
                    case.status,
                    CaseStatus::Declined | CaseStatus::Reassigned | CaseStatus::Cancelled
                ) {
                    *counts.entry(case.authority_code.clone()).or_default() += 1;
                }
            }
        }
        let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(limit);
        Ok(ranked)
    }

    /// The newest appeals from the phone `phone` (as typed; normalized here), each read audited
    /// for `caller`. A number that is not a phone yet gives none.
    pub async fn caller_history(
        &self,
        phone: &str,
        caller: &Caller,
    ) -> AppResult<Vec<AppealState>> {
        let Ok(phone) = normalize_phone(phone) else {
            return Ok(Vec::new());
        };
        if phone.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let filter = SearchFilter {
            citizen_phone: Some(phone),
            limit: CALLER_HISTORY,
            ..SearchFilter::default()
        };
        let appeals = self.store.search(&filter).await?;
        for state in &appeals {
            self.store
                .audit_read(caller, &state.appeal.number, now)
                .await?;
        }
        Ok(appeals)
    }
}
