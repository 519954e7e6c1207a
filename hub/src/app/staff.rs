//! Signing staff in to the console with a password, as the same principals their certificates
//! name (`urn:hotline:staff:<role>:<login>`): argon2id hashes (made and checked off the async
//! threads), a lock after too many wrong passwords in a row, and sessions whose random token is
//! kept only as its SHA-256, each with its own CSRF token and expiry.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

use super::{AppError, AppResult, Hotline};
use crate::domain::{Caller, DomainError};
use crate::principal::{Principal, StaffRole};
use crate::store::{StaffSession, Store};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (argon2 takes any length; a bound keeps hashing cheap to refuse).
const MAX_PASSWORD_CHARS: usize = 256;

/// How sign-in is policed (from the console's configuration).
#[derive(Debug, Clone, Copy)]
pub struct SignInPolicy {
    /// How long a session lasts.
    pub session: Duration,
    /// Wrong passwords in a row before the login locks.
    pub max_failed: i32,
    /// How long it stays locked.
    pub lockout: Duration,
}

/// A signed-in member of staff, as a request's cookie proves.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who, with the role the password was set for.
    pub principal: Principal,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: the cookie's token (shown once, stored only hashed) and the session.
    Opened {
        /// The session token for the cookie.
        token: String,
        /// The session.
        session: ConsoleSession,
    },
    /// Wrong login or password (which one is not said).
    Refused,
    /// Too many wrong passwords: locked until then.
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
    },
}

/// 256 random bits, hex (session and CSRF tokens).
pub fn random_token() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AppError::Internal("no randomness for a session token".into()))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the database keeps of a session token.
fn token_hash(token: &str) -> String {
    hex(digest(&SHA256, token.as_bytes()).as_ref())
}

/// The argon2id hash (PHC string) of `password`, with a fresh salt.
fn hash_password(password: &str) -> AppResult<String> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| AppError::Internal("no randomness for a salt".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// Whether `password` matches the PHC string `hash` (false for an unreadable hash).
fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password is checked against in earnest: an unknown login costs as much time as a
/// known one, so timing does not tell which logins exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never set").unwrap_or_default())
}

/// Runs argon2 on the blocking pool: it takes tens of milliseconds of CPU by design.
async fn off_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

/// The principal a login and role name, checked as a certificate's would be.
fn staff_principal(login: &str, role: StaffRole) -> AppResult<Principal> {
    let p = Principal::Staff {
        role,
        login: login.trim().to_string(),
    };
    Principal::from_uri(&p.uri()).ok_or_else(|| {
        DomainError::invalid(
            "login",
            format!(
                "`{}` is not a login: lowercase latin letters, digits, `.`, `-`, `_`",
                crate::domain::text::echo(login)
            ),
        )
        .into()
    })
}

impl<S: Store> Hotline<S> {
    /// Sets (or replaces) the console password of `login` with `role`; ends its open sessions.
    pub async fn set_staff_password(
        &self,
        login: &str,
        role: StaffRole,
        password: &str,
        caller: &Caller,
    ) -> AppResult<Principal> {
        let principal = staff_principal(login, role)?;
        let chars = password.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(DomainError::invalid(
                "password",
                format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            )
            .into());
        }
        let password = password.to_string();
        let hash = off_thread(move || hash_password(&password)).await??;
        let Principal::Staff { login, .. } = &principal else {
            unreachable!("staff_principal makes staff")
        };
        self.store
            .set_staff_password(login, role.code(), &hash, caller, self.now())
            .await?;
        Ok(principal)
    }

    /// Checks a login and password; opens a session when they match and the login is not locked.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        policy: SignInPolicy,
    ) -> AppResult<SignIn> {
        let now = self.now();
        let login = login.trim().to_lowercase();
        let row = if login.is_empty() || login.len() > 64 {
            None
        } else {
            self.store.staff_password(&login).await?
        };
        if let Some(until) = row.as_ref().and_then(|r| r.locked_until)
            && until > now
        {
            return Ok(SignIn::Locked { until });
        }
        let hash = row
            .as_ref()
            .map_or_else(|| decoy_hash().to_string(), |r| r.password_hash.clone());
        let given = password
            .chars()
            .take(MAX_PASSWORD_CHARS)
            .collect::<String>();
        let matches = off_thread(move || password_matches(&given, &hash)).await?;
        let Some(row) = row else {
            return Ok(SignIn::Refused);
        };
        let role = StaffRole::from_code(&row.role);
        if !matches || role.is_none() {
            // After a lock has run out, counting starts again.
            let restart = row.locked_until.is_some_and(|until| until <= now);
            let lock_until = now + policy.lockout;
            let count = self
                .store
                .count_login_failure(&login, restart, policy.max_failed, lock_until)
                .await?;
            tracing::info!(%login, count, "console sign-in refused");
            return Ok(if count >= policy.max_failed {
                SignIn::Locked { until: lock_until }
            } else {
                SignIn::Refused
            });
        }
        let role = role.expect("checked above");
        let principal = staff_principal(&login, role)?;
        let session = StaffSession {
            login: login.clone(),
            role: role.code().to_string(),
            csrf_token: random_token()?,
            expires_at: now + policy.session,
        };
        let token = random_token()?;
        let caller = Caller {
            principal: principal.actor(),
            rpc: "console: sign in".into(),
        };
        self.store
            .open_staff_session(&session, &token_hash(&token), &caller, now)
            .await?;
        Ok(SignIn::Opened {
            token,
            session: ConsoleSession {
                principal,
                csrf_token: session.csrf_token,
                expires_at: session.expires_at,
            },
        })
    }

    /// The live session a cookie's token opens, if any.
    pub async fn console_session(&self, token: &str) -> AppResult<Option<ConsoleSession>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some(s) = self
            .store
            .staff_session(&token_hash(token), self.now())
            .await?
        else {
            return Ok(None);
        };
        let Some(role) = StaffRole::from_code(&s.role) else {
            return Ok(None);
        };
        Ok(Some(ConsoleSession {
            principal: staff_principal(&s.login, role)?,
            csrf_token: s.csrf_token,
            expires_at: s.expires_at,
        }))
    }

    /// Ends the session of `token` (signing out).
    pub async fn sign_out(&self, token: &str, principal: &Principal) -> AppResult<()> {
        let caller = Caller {
            principal: principal.actor(),
            rpc: "console: sign out".into(),
        };
        self.store
            .close_staff_session(&token_hash(token), &caller, self.now())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_check() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("anything", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
