//! The public's reads: appeals as open data, with nothing personal selected at all — the text only
//! where the citizen agreed, places as codes (named by the directory), no citizen columns.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, QueryBuilder, Row, Type};

use super::backend::{Backend, Column, SqlStore};
use super::{OpenDataQueries, PublicFilter, PublicRow, StoreResult};

/// The public columns of an appeal (`a`): the text only when publishable.
const PUBLIC_COLUMNS: &str = "a.id, a.number, a.status, a.outcome, a.category_code, a.channel, \
    CASE WHEN a.publishable THEN a.text ELSE '' END AS public_text, a.received_at, a.updated_at, \
    a.deadline, a.closed_at, a.district_code, a.settlement_code";

impl<DB: Backend> OpenDataQueries for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    i32: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    String: Column<DB>,
    Vec<u8>: Column<DB>,
    NaiveDate: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<i64>: Column<DB>,
    Option<bool>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Option<String>: Column<DB>,
    Option<Vec<u8>>: Column<DB>,
    Option<i32>: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    &'static str: Encode<'static, DB> + Type<DB>,
{
    #[tracing::instrument(skip_all)]
    async fn public_rows(&self, f: &PublicFilter) -> StoreResult<Vec<PublicRow>> {
        let mut q = QueryBuilder::<DB>::new(format!(
            "SELECT {PUBLIC_COLUMNS} FROM appeals a WHERE 1 = 1"
        ));
        if !f.with_consultations {
            q.push(" AND a.consultation = ").push_bind(false);
        }
        if f.numbers.is_empty() {
            q.push(" AND a.received_at >= ").push_bind(f.from);
            q.push(" AND a.received_at < ").push_bind(f.to);
        } else {
            q.push(" AND a.number IN (");
            let mut list = q.separated(", ");
            for n in &f.numbers {
                list.push_bind(n.clone());
            }
            q.push(")");
        }
        if !f.categories.is_empty() {
            q.push(" AND a.category_code IN (");
            let mut list = q.separated(", ");
            for c in &f.categories {
                list.push_bind(c.clone());
            }
            q.push(")");
        }
        match f.open {
            Some(true) => {
                q.push(" AND a.closed_at IS NULL");
            }
            Some(false) => {
                q.push(" AND a.closed_at IS NOT NULL");
            }
            None => {}
        }
        q.push(" ORDER BY a.id LIMIT ").push_bind(f.limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        let mut out: Vec<(i64, PublicRow)> = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("id")?,
                    PublicRow {
                        number: row.try_get("number")?,
                        status: row.try_get("status")?,
                        outcome: row.try_get("outcome")?,
                        category_code: row.try_get("category_code")?,
                        channel: row.try_get("channel")?,
                        text: row.try_get("public_text")?,
                        received_at: row.try_get("received_at")?,
                        updated_at: row.try_get("updated_at")?,
                        deadline: row.try_get("deadline")?,
                        closed_at: row.try_get("closed_at")?,
                        district_code: row.try_get("district_code")?,
                        settlement_code: row
                            .try_get::<Option<String>, _>("settlement_code")?
                            .unwrap_or_default(),
                        authorities: Vec::new(),
                    },
                ))
            })
            .collect::<StoreResult<_>>()?;
        if out.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::<DB>::new(
            "SELECT appeal_id, authority_code FROM cases WHERE status NOT IN ('reassigned', \
             'cancelled') AND appeal_id IN (",
        );
        let mut list = q.separated(", ");
        for (id, _) in &out {
            list.push_bind(*id);
        }
        q.push(") ORDER BY id");
        let mut by_appeal: HashMap<i64, Vec<String>> = HashMap::new();
        for row in q.build().fetch_all(&self.pool).await? {
            let id: i64 = row.try_get("appeal_id")?;
            by_appeal
                .entry(id)
                .or_default()
                .push(row.try_get("authority_code")?);
        }
        for (id, row) in &mut out {
            row.authorities = by_appeal.remove(id).unwrap_or_default();
        }
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }
}
