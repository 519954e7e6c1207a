//! Who is using the console: sign-in with a login and password (the use cases check the argon2id
//! hash, count wrong attempts and lock), the session cookie (`HttpOnly; SameSite=Strict; Path=/`,
//! `Secure` over TLS), the CSRF token every form carries, and the one check every page makes: may
//! this principal call the gRPC method the page stands for, by the API's own matrix?
//!
//! A refusal is returned as the page to send (`Result<_, Response>`): built once per request and
//! sent at once, so its size on the stack does not matter.
#![allow(clippy::result_large_err)]

use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ConsoleState, Frame, NavItem, app_error, error_page, kyiv_time, page};
use crate::api::auth::allowed;
use crate::app::Store;
use crate::app::staff::SignIn;
use crate::domain::Caller;
use crate::principal::Principal;

/// The session cookie.
const SESSION_COOKIE: &str = "hl_session";
/// The sign-in form's own CSRF cookie (double submit: there is no session yet).
const LOGIN_COOKIE: &str = "hl_login";

/// Every link of the navigation, with the gRPC method whose permission it needs.
const NAV: &[(&str, &str, &str, &str)] = &[
    (
        "/operator/register",
        "Реєстрація звернення",
        "hotline.v1.AppealRegistry",
        "RegisterAppeal",
    ),
    (
        "/operator/callbacks",
        "Зворотний зв'язок",
        "hotline.v1.AppealRegistry",
        "RecordCallback",
    ),
    (
        "/operator/notices",
        "Повідомлення",
        "hotline.v1.AppealRegistry",
        "MarkNoticeDone",
    ),
    (
        "/analyst/triage",
        "Черги аналітика",
        "hotline.v1.AppealRegistry",
        "AssignAppeal",
    ),
    (
        "/dashboard",
        "Панель дня",
        "hotline.v1.Reports",
        "DailyReport",
    ),
    (
        "/incidents",
        "Інциденти",
        "hotline.v1.Incidents",
        "ListIncidents",
    ),
    (
        "/admin",
        "Довідник",
        "hotline.v1.Directory",
        "CreateAuthority",
    ),
];

/// The value of cookie `name` in the request's headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Strict; Path=/`, `Secure` over TLS.
fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("hl_invalid=; Max-Age=0"))
}

/// Compares two tokens in time that does not depend on where they differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// A signed-in member of staff: what every page but sign-in extracts. Without a live session
/// the request is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Who, with their role.
    pub principal: Principal,
    /// The session's CSRF token.
    pub csrf: String,
    /// The cookie's token (to sign out).
    token: String,
}

impl<S: Store> FromRequestParts<ConsoleState<S>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState<S>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or_default();
        match state.hotline.console_session(token).await {
            Ok(Some(session)) => Ok(Self {
                principal: session.principal,
                csrf: session.csrf_token,
                token: token.to_string(),
            }),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(err) => Err(app_error(Frame::default(), err)),
        }
    }
}

impl Signed {
    /// The frame of a page titled `title`, reached through `current`.
    pub fn frame(&self, title: &str, current: &str) -> Frame {
        Frame {
            title: title.to_string(),
            nav: NAV
                .iter()
                .filter(|(_, _, service, method)| allowed(&self.principal, service, method))
                .map(|(href, label, _, _)| NavItem {
                    href,
                    label,
                    current: *href == current,
                })
                .collect(),
            who: self.principal.actor(),
            csrf: self.csrf.clone(),
            live: false,
        }
    }

    /// The caller of `service/method` when the matrix lets this principal call it; otherwise the
    /// 403 page. The audit trail records the console and the method it stood for.
    pub fn may(&self, service: &str, method: &str) -> Result<Caller, Response> {
        if allowed(&self.principal, service, method) {
            Ok(Caller {
                principal: self.principal.actor(),
                rpc: format!("console:/{service}/{method}"),
            })
        } else {
            tracing::info!(principal = %self.principal, %service, %method, "console: refused");
            Err(error_page(
                StatusCode::FORBIDDEN,
                self.frame("Доступ заборонено", ""),
                "Доступ заборонено",
                &format!(
                    "Роль {} не має права на цю сторінку ({service}/{method}).",
                    self.principal.actor()
                ),
            ))
        }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), Response> {
        if same_token(given, &self.csrf) {
            Ok(())
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                self.frame("Форма застаріла", ""),
                "Форма застаріла",
                "Токен форми не збігається з сеансом. Відкрийте сторінку знову й повторіть дію.",
            ))
        }
    }
}

/// The sign-in page.
#[derive(Debug, Template)]
#[template(path = "login.html")]
struct LoginPage {
    frame: Frame,
    login: String,
    error: String,
}

fn login_form(
    status: StatusCode,
    login: &str,
    error: &str,
    secure: bool,
) -> Result<Response, Response> {
    let token = crate::app::staff::random_token().map_err(|e| app_error(Frame::default(), e))?;
    let mut response = page(
        status,
        &LoginPage {
            frame: Frame {
                title: "Вхід до консолі".into(),
                csrf: token.clone(),
                ..Frame::default()
            },
            login: login.to_string(),
            error: error.to_string(),
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &token, 3600, secure),
    );
    Ok(response)
}

/// `GET /login`
pub async fn login_page<S: Store>(State(state): State<ConsoleState<S>>) -> Response {
    login_form(StatusCode::OK, "", "", state.secure).unwrap_or_else(|r| r)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`
pub async fn login<S: Store>(
    State(state): State<ConsoleState<S>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let refuse = |status, message: &str| {
        login_form(status, &form.login, message, state.secure).unwrap_or_else(|r| r)
    };
    if !same_token(
        cookie(&headers, LOGIN_COOKIE).unwrap_or_default(),
        &form.csrf,
    ) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Форма застаріла: спробуйте увійти ще раз.",
        );
    }
    match state
        .hotline
        .sign_in(&form.login, &form.password, state.policy)
        .await
    {
        Ok(SignIn::Opened { token, session }) => {
            tracing::info!(principal = %session.principal, "console: signed in");
            let max_age = (session.expires_at - state.hotline.now()).num_seconds();
            let mut response = Redirect::to("/").into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, max_age, state.secure),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_COOKIE, "", 0, state.secure),
            );
            response
        }
        Ok(SignIn::Refused) => refuse(StatusCode::UNAUTHORIZED, "Невірний логін або пароль."),
        Ok(SignIn::Locked { until }) => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Забагато невдалих спроб: вхід заблоковано до {} (за Києвом).",
                kyiv_time(until)
            ),
        ),
        Err(err) => app_error(Frame::default(), err),
    }
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`
pub async fn logout<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    if let Err(err) = state
        .hotline
        .sign_out(&signed.token, &signed.principal)
        .await
    {
        return app_error(signed.frame("Вихід", ""), err);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.secure),
    );
    response
}

/// `GET /`: the first page of the role.
pub async fn home(signed: Signed) -> Response {
    match signed.frame("", "").nav.first() {
        Some(item) => Redirect::to(item.href).into_response(),
        None => signed
            .may("hotline.v1.AppealRegistry", "GetAppeal")
            .err()
            .unwrap_or_else(|| Redirect::to("/login").into_response()),
    }
}
