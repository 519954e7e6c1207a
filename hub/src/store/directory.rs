//! Districts, the classifier and authorities. Each change is written with its audit row.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};

use super::backend::{Backend, Column, SqlStore, non_empty};
use super::{DirectoryStore, StoreError, StoreResult};
use crate::domain::{Authority, Caller, Category, District};

impl<DB: Backend> DirectoryStore for SqlStore<DB>
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
    async fn upsert_district(
        &self,
        d: &District,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO districts (code, name, kind, parent_code) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
             parent_code = excluded.parent_code",
        )
        .bind(d.code.clone())
        .bind(d.name.clone())
        .bind(d.kind.code())
        .bind(non_empty(&d.parent_code))
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "code": d.code, "name": d.name, "kind": d.kind.code(), "parent": d.parent_code,
        });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "directory.district",
            &detail.to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn list_districts(&self) -> StoreResult<Vec<District>> {
        let rows = sqlx::query("SELECT code, name, kind, parent_code FROM districts ORDER BY code")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::district_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn district(&self, code: &str) -> StoreResult<Option<District>> {
        let row =
            sqlx::query("SELECT code, name, kind, parent_code FROM districts WHERE code = $1")
                .bind(code.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(Self::district_from_row).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn upsert_category(
        &self,
        c: &Category,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO categories (code, name, parent_code, term_days) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
             parent_code = excluded.parent_code, term_days = excluded.term_days",
        )
        .bind(c.code.clone())
        .bind(c.name.clone())
        .bind(non_empty(&c.parent_code))
        .bind(c.term_days)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "code": c.code, "name": c.name, "parent": c.parent_code, "term_days": c.term_days,
        });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "directory.category",
            &detail.to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        let rows =
            sqlx::query("SELECT code, name, parent_code, term_days FROM categories ORDER BY code")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(Self::category_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn category(&self, code: &str) -> StoreResult<Option<Category>> {
        let row = sqlx::query(
            "SELECT code, name, parent_code, term_days FROM categories WHERE code = $1",
        )
        .bind(code.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::category_from_row).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn create_authority(
        &self,
        a: &Authority,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO authorities (code, name, kind, district_code, active, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(a.code.clone())
        .bind(a.name.clone())
        .bind(a.kind.clone())
        .bind(non_empty(&a.district_code))
        .bind(a.active)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::AlreadyExists(_) => {
                StoreError::AlreadyExists(format!("authority `{}`", a.code))
            }
            other => other,
        })?;
        let detail = serde_json::json!({
            "code": a.code, "name": a.name, "kind": a.kind, "district": a.district_code,
        });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "directory.authority_created",
            &detail.to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn update_authority(
        &self,
        a: &Authority,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let done = sqlx::query(
            "UPDATE authorities SET name = $1, kind = $2, district_code = $3, active = $4, \
             updated_at = $5 WHERE code = $6",
        )
        .bind(a.name.clone())
        .bind(a.kind.clone())
        .bind(non_empty(&a.district_code))
        .bind(a.active)
        .bind(now)
        .bind(a.code.clone())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) != 1 {
            return Ok(false);
        }
        let detail = serde_json::json!({
            "code": a.code, "name": a.name, "kind": a.kind, "district": a.district_code,
            "active": a.active,
        });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "directory.authority_updated",
            &detail.to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn list_authorities(&self, include_inactive: bool) -> StoreResult<Vec<Authority>> {
        let rows = sqlx::query(
            "SELECT code, name, kind, district_code, active FROM authorities \
             WHERE active OR $1 ORDER BY code",
        )
        .bind(include_inactive)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::authority_from_row).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn authority(&self, code: &str) -> StoreResult<Option<Authority>> {
        let row = sqlx::query(
            "SELECT code, name, kind, district_code, active FROM authorities WHERE code = $1",
        )
        .bind(code.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::authority_from_row).transpose()
    }
}
