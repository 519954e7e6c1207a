//! The staff console's sign-in: password rows (argon2id hashes made by the use cases; nothing
//! here sees a password) with their wrong-attempt count and lock, and the sessions, keyed by the
//! hash of their token. Setting a password, signing in and out are written with their audit row.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Row, Type};

use super::backend::{Backend, Column, SqlStore};
use super::{StaffLogins, StaffPassword, StaffSession, StoreResult};
use crate::domain::Caller;

impl<DB: Backend> StaffLogins for SqlStore<DB>
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
    async fn set_staff_password(
        &self,
        login: &str,
        role: &str,
        password_hash: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO staff_passwords (login, role, password_hash, failed_attempts, \
             locked_until, updated_at, updated_by) VALUES ($1, $2, $3, 0, NULL, $4, $5) \
             ON CONFLICT (login) DO UPDATE SET role = excluded.role, \
             password_hash = excluded.password_hash, failed_attempts = 0, locked_until = NULL, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(login.to_string())
        .bind(role.to_string())
        .bind(password_hash.to_string())
        .bind(now)
        .bind(caller.principal.clone())
        .execute(&mut *tx)
        .await?;
        // A new password (or role) ends the sessions opened with the old one.
        sqlx::query("DELETE FROM staff_sessions WHERE login = $1")
            .bind(login.to_string())
            .execute(&mut *tx)
            .await?;
        let detail = serde_json::json!({ "login": login, "role": role });
        Self::append_audit(
            &mut tx,
            caller,
            None,
            "staff.password",
            &detail.to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn staff_password(&self, login: &str) -> StoreResult<Option<StaffPassword>> {
        let row = sqlx::query(
            "SELECT login, role, password_hash, failed_attempts, locked_until \
             FROM staff_passwords WHERE login = $1",
        )
        .bind(login.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => None,
            Some(r) => Some(StaffPassword {
                login: r.try_get("login")?,
                role: r.try_get("role")?,
                password_hash: r.try_get("password_hash")?,
                failed_attempts: r.try_get("failed_attempts")?,
                locked_until: r.try_get("locked_until")?,
            }),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn count_login_failure(
        &self,
        login: &str,
        restart: bool,
        max_failures: i32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<i32> {
        let mut tx = DB::begin_write(&self.pool).await?;
        // Counted in the database, so that guesses sent in parallel are all counted.
        let count: Option<i32> = sqlx::query_scalar(
            "UPDATE staff_passwords SET failed_attempts = CASE WHEN $2 THEN 1 \
             ELSE failed_attempts + 1 END WHERE login = $1 RETURNING failed_attempts",
        )
        .bind(login.to_string())
        .bind(restart)
        .fetch_optional(&mut *tx)
        .await?;
        let count = count.unwrap_or(0);
        if count >= max_failures {
            sqlx::query("UPDATE staff_passwords SET locked_until = $2 WHERE login = $1")
                .bind(login.to_string())
                .bind(lock_until)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    #[tracing::instrument(skip_all)]
    async fn open_staff_session(
        &self,
        session: &StaffSession,
        token_hash: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        sqlx::query(
            "UPDATE staff_passwords SET failed_attempts = 0, locked_until = NULL WHERE login = $1",
        )
        .bind(session.login.clone())
        .execute(&mut *tx)
        .await?;
        // Sessions that expired are of no use to anyone: swept at each sign-in.
        sqlx::query("DELETE FROM staff_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO staff_sessions (token_hash, login, role, csrf_token, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash.to_string())
        .bind(session.login.clone())
        .bind(session.role.clone())
        .bind(session.csrf_token.clone())
        .bind(now)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        Self::append_audit(&mut tx, caller, None, "staff.sign_in", "{}", now).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn staff_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StaffSession>> {
        let row = sqlx::query(
            "SELECT s.login, s.role, s.csrf_token, s.expires_at FROM staff_sessions s \
             JOIN staff_passwords p ON p.login = s.login AND p.role = s.role \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash.to_string())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => None,
            Some(r) => Some(StaffSession {
                login: r.try_get("login")?,
                role: r.try_get("role")?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: r.try_get("expires_at")?,
            }),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn close_staff_session(
        &self,
        token_hash: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = DB::begin_write(&self.pool).await?;
        let done = sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
            .bind(token_hash.to_string())
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&done) > 0 {
            Self::append_audit(&mut tx, caller, None, "staff.sign_out", "{}", now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
