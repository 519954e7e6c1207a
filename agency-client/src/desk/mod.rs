//! The desk: a web page the authority's clerks work at all day (`agency-client run --desk ADDR`),
//! served from the daemon's own local store, so it works while the hub is unreachable. Every
//! action a clerk takes is written to the outbox the command line uses, and the page shows it
//! queued until the hub confirms it with its signed receipt.
//!
//! # Layout
//! - this file: the desk's settings, its router and [`serve`], its error page;
//! - [`password`]: argon2id hashes of the clerks' passwords (also for `agency-client user …`);
//! - [`session`]: signing in and out, the session cookie, the lockout, the anti-forgery check;
//! - [`inbox`]: the inbox's views, order, deadline marks and search;
//! - [`case_page`]: one case, with the citizen's contact (each view recorded) and its history;
//! - [`actions`]: the forms for every gateway action, written to the outbox;
//! - [`rules`]: their checks, the same as the hub's (statuses, texts, dates, outcome, documents);
//! - [`view`]: the templates and the Ukrainian names of statuses, outcomes and events.

mod actions;
mod case_page;
mod inbox;
pub mod password;
mod rules;
mod session;
mod view;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::client::{Agency, ClientError};
use crate::local::LocalError;

/// How the desk behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskConfig {
    /// How long a session lasts after signing in.
    pub session: Duration,
    /// Failed sign-ins in a row that lock a login.
    pub max_failed_sign_ins: u32,
    /// How long a locked login stays locked.
    pub lockout: Duration,
    /// Mark the session cookie `Secure` (when the desk is reached over HTTPS, e.g. behind a proxy).
    pub secure_cookie: bool,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            session: Duration::from_secs(8 * 3600),
            max_failed_sign_ins: 5,
            lockout: Duration::from_secs(15 * 60),
            secure_cookie: false,
        }
    }
}

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct DeskState {
    /// The daemon's handle: its local store and its outbox.
    pub agency: Agency,
    /// Settings.
    pub config: DeskConfig,
}

/// Why a desk request failed.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The local store failed.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// Writing to the outbox failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A page could not be rendered.
    #[error("page: {0}")]
    Render(#[from] askama::Error),
    /// The form did not carry the session's anti-forgery token.
    #[error("the form is out of date or did not come from this desk")]
    Forged,
    /// No such case in the local store.
    #[error("no such case")]
    NotFound,
    /// The request body was not readable.
    #[error("{0}")]
    BadRequest(String),
    /// The system's random number generator failed (no session or salt can be made).
    #[error("no randomness from the system")]
    Random,
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let (status, text) = match &self {
            Self::Forged => (
                StatusCode::FORBIDDEN,
                "Форму застаріло або надіслано не з цього робочого місця. Оновіть сторінку й спробуйте ще раз.",
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "Такої справи немає."),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "Запит не вдалося прочитати."),
            _ => {
                tracing::error!(error = %self, "desk request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Внутрішня помилка робочого місця. Подробиці — у журналі agency-client.",
                )
            }
        };
        match view::error_page(status, text) {
            Ok(html) => (status, html).into_response(),
            Err(_) => (status, text).into_response(),
        }
    }
}

/// The largest request: a result with its documents (the hub takes 10 of at most 2 MiB each).
const MAX_BODY: usize = 24 * 1024 * 1024;

/// The desk's routes over `state`.
pub fn router(state: DeskState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(session::login_page).post(session::sign_in))
        .route("/logout", post(session::sign_out))
        .route("/inbox", get(inbox::page))
        .route("/cases/{id}", get(case_page::page))
        .route("/cases/{id}/accept", post(actions::accept))
        .route("/cases/{id}/decline", post(actions::decline))
        .route("/cases/{id}/report", post(actions::report))
        .route("/cases/{id}/ask", post(actions::ask))
        .route("/cases/{id}/extend", post(actions::extend))
        .route("/cases/{id}/resolve", post(actions::resolve))
        .route("/desk.css", get(view::stylesheet))
        .route("/desk.js", get(view::script))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(protective_headers))
        .with_state(state)
}

/// Headers on every answer: no caching of pages with personal data, no framing, only our own
/// scripts and styles, no referrer leaving the desk.
async fn protective_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CACHE_CONTROL, "no-store");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
    );
    response
}

/// Serves the desk on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    agency: Agency,
    config: DeskConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(DeskState { agency, config });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` and serves the desk there in a task until `shutdown`; returns the bound address.
pub async fn spawn(
    addr: SocketAddr,
    agency: Agency,
    config: DeskConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(serve(listener, agency, config, shutdown));
    Ok((bound, task))
}
