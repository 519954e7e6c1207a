//! The desk's clerks as the local store keeps them: their argon2id hashes (never a password), the
//! failed sign-ins that lock a login for a while, and their sessions (kept by the hash of the
//! cookie's token, with the session's anti-forgery token and its expiry).

use super::{LocalResult, LocalStore, now};

/// A clerk as sign-in needs it.
#[derive(Debug, Clone)]
pub struct Clerk {
    /// The login.
    pub login: String,
    /// The argon2id hash (PHC string).
    pub password_hash: String,
    /// Failed sign-ins in a row.
    pub failed_attempts: i64,
    /// Locked until then (ms since the epoch; 0: not locked).
    pub locked_until: i64,
}

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Whose it is.
    pub login: String,
    /// Its anti-forgery token.
    pub csrf: String,
    /// When it ends (ms since the epoch).
    pub expires_at: i64,
}

impl LocalStore {
    /// Adds a clerk; false when the login is taken.
    pub async fn add_clerk(&self, login: &str, password_hash: &str) -> LocalResult<bool> {
        let at = now();
        let added = sqlx::query(
            "INSERT INTO clerks (login, password_hash, created_at, password_set_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (login) DO NOTHING",
        )
        .bind(login)
        .bind(password_hash)
        .bind(&at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(added == 1)
    }

    /// Removes a clerk and signs them out everywhere; false when there was none.
    pub async fn remove_clerk(&self, login: &str) -> LocalResult<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM desk_sessions WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query("DELETE FROM clerks WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed == 1)
    }

    /// Sets a new password hash, lifts a lockout and ends the clerk's sessions; false when there is
    /// no such clerk.
    pub async fn reset_clerk(&self, login: &str, password_hash: &str) -> LocalResult<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query(
            "UPDATE clerks SET password_hash = $1, password_set_at = $2, failed_attempts = 0, locked_until = 0 \
             WHERE login = $3",
        )
        .bind(password_hash)
        .bind(now())
        .bind(login)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM desk_sessions WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(updated == 1)
    }

    /// The clerks' logins, sorted.
    pub async fn clerk_logins(&self) -> LocalResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT login FROM clerks ORDER BY login")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// One clerk, for signing in.
    pub async fn clerk(&self, login: &str) -> LocalResult<Option<Clerk>> {
        let row: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT login, password_hash, failed_attempts, locked_until FROM clerks WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(login, password_hash, failed_attempts, locked_until)| Clerk {
                login,
                password_hash,
                failed_attempts,
                locked_until,
            },
        ))
    }

    /// Counts a failed sign-in; the `max_failures`-th in a row locks the login until `lock_until`.
    pub async fn sign_in_failed(
        &self,
        login: &str,
        max_failures: u32,
        lock_until: i64,
    ) -> LocalResult<()> {
        sqlx::query(
            "UPDATE clerks SET failed_attempts = failed_attempts + 1, \
             locked_until = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE locked_until END \
             WHERE login = $3",
        )
        .bind(i64::from(max_failures))
        .bind(lock_until)
        .bind(login)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A successful sign-in: the failure count starts again, the session is stored, and sessions
    /// that expired before `now_ms` are deleted.
    pub async fn open_session(
        &self,
        login: &str,
        token_sha256: &str,
        csrf: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> LocalResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM desk_sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE clerks SET failed_attempts = 0, locked_until = 0 WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO desk_sessions (token_sha256, login, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_sha256)
        .bind(login)
        .bind(csrf)
        .bind(now())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session behind a token's hash, if it has not expired at `now_ms`. A read only: every
    /// page asks, and the daemon's writes should not wait on the clerks' reading (expired sessions
    /// are deleted when a clerk signs in).
    pub async fn session(
        &self,
        token_sha256: &str,
        now_ms: i64,
    ) -> LocalResult<Option<SessionRow>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT login, csrf, expires_at FROM desk_sessions WHERE token_sha256 = $1 AND expires_at > $2",
        )
        .bind(token_sha256)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(login, csrf, expires_at)| SessionRow {
            login,
            csrf,
            expires_at,
        }))
    }

    /// Ends a session (signing out).
    pub async fn end_session(&self, token_sha256: &str) -> LocalResult<()> {
        sqlx::query("DELETE FROM desk_sessions WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (LocalStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("agency-clerks-{}", uuid::Uuid::new_v4()));
        (LocalStore::open(&dir).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn sessions_end_when_they_expire_and_when_the_clerk_goes() {
        let (local, dir) = store().await;
        assert!(local.add_clerk("olena", "$argon2id$x").await.unwrap());
        assert!(!local.add_clerk("olena", "$argon2id$y").await.unwrap());
        local
            .open_session("olena", "aa", "csrf", 0, 1_000)
            .await
            .unwrap();
        local
            .open_session("olena", "bb", "csrf2", 0, 5_000)
            .await
            .unwrap();
        assert_eq!(
            local.session("aa", 999).await.unwrap().unwrap().login,
            "olena"
        );
        assert!(
            local.session("aa", 1_000).await.unwrap().is_none(),
            "expired"
        );
        assert!(local.session("bb", 1_000).await.unwrap().is_some());
        local.end_session("bb").await.unwrap();
        assert!(
            local.session("bb", 1_000).await.unwrap().is_none(),
            "signed out"
        );
        local
            .open_session("olena", "cc", "csrf3", 0, 5_000)
            .await
            .unwrap();
        assert!(local.reset_clerk("olena", "$argon2id$z").await.unwrap());
        assert!(
            local.session("cc", 1_000).await.unwrap().is_none(),
            "reset ends sessions"
        );
        local
            .open_session("olena", "dd", "csrf4", 0, 5_000)
            .await
            .unwrap();
        assert!(local.remove_clerk("olena").await.unwrap());
        assert!(
            local.session("dd", 1_000).await.unwrap().is_none(),
            "removed"
        );
        assert!(!local.remove_clerk("olena").await.unwrap());
        local.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn failures_in_a_row_lock_the_login_and_a_sign_in_clears_them() {
        let (local, dir) = store().await;
        local.add_clerk("petro", "$argon2id$x").await.unwrap();
        local.sign_in_failed("petro", 3, 9_000).await.unwrap();
        local.sign_in_failed("petro", 3, 9_000).await.unwrap();
        let clerk = local.clerk("petro").await.unwrap().unwrap();
        assert_eq!((clerk.failed_attempts, clerk.locked_until), (2, 0));
        local
            .open_session("petro", "aa", "c", 0, 5_000)
            .await
            .unwrap();
        assert_eq!(
            local.clerk("petro").await.unwrap().unwrap().failed_attempts,
            0
        );
        for _ in 0..3 {
            local.sign_in_failed("petro", 3, 9_000).await.unwrap();
        }
        assert_eq!(
            local.clerk("petro").await.unwrap().unwrap().locked_until,
            9_000
        );
        // An unknown login is counted nowhere.
        local.sign_in_failed("nobody", 3, 9_000).await.unwrap();
        assert!(local.clerk("nobody").await.unwrap().is_none());
        local.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
