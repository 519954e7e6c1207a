//! Signing in and out of the desk. A session is a random 256-bit token in an `HttpOnly`,
//! `SameSite=Strict` cookie; the store keeps only its SHA-256, with the session's anti-forgery
//! token and its expiry. A login is locked for a while after too many failed sign-ins in a row.
//! Without a session every page sends the clerk to the sign-in page: nothing is shown.

use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use hotline_proto::receipt::{hex, sha256_hex};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

use super::view::{self, LoginPage};
use super::{DeskError, DeskState, password};

/// The session cookie's name.
const COOKIE: &str = "desk_session";

/// A signed-in clerk, taken from the session cookie; without one the request is sent to sign in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The clerk's login.
    pub login: String,
    /// The session's anti-forgery token, put in every form.
    pub csrf: String,
    /// The stored hash of the session token.
    token_sha256: String,
}

impl SignedIn {
    /// Checks a form's anti-forgery token against the session's, in constant time.
    pub fn check(&self, csrf: &str) -> Result<(), DeskError> {
        let (a, b) = (self.csrf.as_bytes(), csrf.as_bytes());
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same { Ok(()) } else { Err(DeskError::Forged) }
    }
}

/// The value of cookie `name` in the request's headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// 32 random bytes, hex.
fn random_token() -> Result<String, DeskError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| DeskError::Random)?;
    Ok(hex(&bytes))
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl FromRequestParts<DeskState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DeskState,
    ) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/login").into_response();
        let Some(token) = cookie(&parts.headers, COOKIE) else {
            return Err(to_sign_in());
        };
        let token_sha256 = sha256_hex(token.as_bytes());
        match state.agency.local.session(&token_sha256, now_ms()).await {
            Ok(Some(session)) => Ok(Self {
                login: session.login,
                csrf: session.csrf,
                token_sha256,
            }),
            Ok(None) => Err(to_sign_in()),
            Err(err) => Err(DeskError::from(err).into_response()),
        }
    }
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    login: String,
    password: String,
}

/// A form that carries only the anti-forgery token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `GET /login`.
pub async fn login_page() -> Result<Response, DeskError> {
    view::html(&LoginPage {
        error: "",
        login: "",
    })
}

/// Why a sign-in was refused, as the clerk reads it: the same words for an unknown login and a
/// wrong password, so the page does not tell which logins exist.
const REFUSED: &str = "Невірне ім'я користувача або пароль.";
const LOCKED: &str = "Забагато невдалих спроб. Вхід для цього користувача тимчасово заблоковано — спробуйте пізніше або зверніться до адміністратора.";

/// `POST /login`.
pub async fn sign_in(
    State(state): State<DeskState>,
    Form(form): Form<SignInForm>,
) -> Result<Response, DeskError> {
    let local = &state.agency.local;
    let login = form.login.trim().to_string();
    let clerk = local.clerk(&login).await?;
    let refuse = |error: &'static str| {
        view::html(&LoginPage {
            error,
            login: &login,
        })
        .map(|page| (axum::http::StatusCode::UNAUTHORIZED, page).into_response())
    };
    let now = now_ms();
    if clerk.as_ref().is_some_and(|c| c.locked_until > now) {
        return refuse(LOCKED);
    }
    let known = clerk.is_some();
    let stored = clerk
        .as_ref()
        .map_or_else(password::decoy, |c| c.password_hash.clone());
    let given = form.password;
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
        .await
        .unwrap_or(false);
    let Some(clerk) = clerk.filter(|_| matches) else {
        if !login.is_empty() {
            let lock_until = now + i64::try_from(state.config.lockout.as_millis()).unwrap_or(0);
            local
                .sign_in_failed(&login, state.config.max_failed_sign_ins.max(1), lock_until)
                .await?;
        }
        // A login that is no clerk's may be a password typed into the wrong field: not logged.
        if known {
            tracing::warn!(login = %login, "desk sign-in refused");
        } else {
            tracing::warn!("desk sign-in refused: unknown login");
        }
        return refuse(REFUSED);
    };
    let token = random_token()?;
    let csrf = random_token()?;
    let expires_at = now + i64::try_from(state.config.session.as_millis()).unwrap_or(i64::MAX / 2);
    local
        .open_session(
            &clerk.login,
            &sha256_hex(token.as_bytes()),
            &csrf,
            now,
            expires_at,
        )
        .await?;
    tracing::info!(login = %clerk.login, "desk sign-in");
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        state.config.session.as_secs(),
        if state.config.secure_cookie {
            "; Secure"
        } else {
            ""
        }
    );
    let mut response = Redirect::to("/inbox").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /logout`.
pub async fn sign_out(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, DeskError> {
    clerk.check(&form.csrf)?;
    state.agency.local.end_session(&clerk.token_sha256).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("desk_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; desk_session=abc123; other=1"),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("abc123"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn the_anti_forgery_token_must_match_exactly() {
        let clerk = SignedIn {
            login: "olena".into(),
            csrf: "0123abcd".into(),
            token_sha256: String::new(),
        };
        assert!(clerk.check("0123abcd").is_ok());
        assert!(clerk.check("0123abce").is_err());
        assert!(clerk.check("").is_err());
        assert!(clerk.check("0123abcd0").is_err());
    }
}
