//! Which authorities to suggest when an analyst assigns an appeal: those that took appeals of the
//! same category in the same district before (their cases not declined or moved away), most used
//! first. Read from the registry's own history; no personal data leaves this use case.

use std::collections::HashMap;

use super::{AppResult, Hotline};
use crate::domain::CaseStatus;
use crate::domain::text::check_code;
use crate::store::{SearchFilter, Store};

/// Appeals of the history looked at, newest first.
const HISTORY: i64 = 500;

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
}
