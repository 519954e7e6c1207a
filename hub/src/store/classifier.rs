//! The classifier's editable dimensions (author category, social status, sex): entries written
//! with their audit row, read for the registration card's checks and for staff pickers.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Row, Type};

use super::backend::{Backend, Column, SqlStore};
use super::rows::stored;
use super::{ClassifierStore, StoreResult};
use crate::domain::{Caller, ClassifierEntry, Dimension};

impl<DB: Backend> ClassifierStore for SqlStore<DB>
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
    async fn upsert_entry(
        &self,
        e: &ClassifierEntry,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO classifier_entries (dimension, code, name, parent_code, priority) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dimension, code) DO UPDATE SET \
             name = excluded.name, parent_code = excluded.parent_code, priority = excluded.priority",
        )
        .bind(e.dimension.code())
        .bind(e.code.clone())
        .bind(e.name.clone())
        .bind(e.parent_code.clone())
        .bind(e.priority)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "dimension": e.dimension.code(), "code": e.code, "name": e.name,
            "parent": e.parent_code, "priority": e.priority,
        });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "directory.classifier",
            &detail.to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn classifier_entries(
        &self,
        dimension: Option<Dimension>,
    ) -> StoreResult<Vec<ClassifierEntry>> {
        let rows = sqlx::query(
            "SELECT dimension, code, name, parent_code, priority FROM classifier_entries \
             WHERE ($1 IS NULL OR dimension = $1) ORDER BY dimension, code",
        )
        .bind(dimension.map(|d| d.code().to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let dimension: String = row.try_get("dimension")?;
                Ok(ClassifierEntry {
                    dimension: stored::<Dimension>(&dimension, "dimension")?,
                    code: row.try_get("code")?,
                    name: row.try_get("name")?,
                    parent_code: row.try_get("parent_code")?,
                    priority: row.try_get("priority")?,
                })
            })
            .collect()
    }
}
