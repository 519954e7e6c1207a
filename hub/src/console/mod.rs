//! The staff console: server-rendered pages (axum + askama templates in `hub/templates/`, plain
//! forms, one small script for live updates) on a listener of its own (`--console-listen`), over
//! TLS with the hub's server certificate unless `--console-plain-http`. Another `api` over the same
//! use cases: each handler decodes a form, asks the SAME authorization matrix as the gRPC API
//! ([`crate::api::auth::allowed`]) with the gRPC method it stands for, calls one use case as the
//! signed-in [`Principal`](crate::principal::Principal), and renders. Reads of personal data go
//! through the same audited use cases as the API's. No SQL here.
//!
//! Why server-rendered pages rather than a client over gRPC-Web: one authorization matrix and one
//! app layer, no second API surface to secure, no JavaScript build, and every page works with the
//! keyboard alone.
//!
//! # Layout
//! - this file: the router, the listener, the page frame and error pages.
//! - [`session`]: sign-in, sign-out, the session cookie, CSRF, who may open what.
//! - [`operator`]: the registration form, with the caller's earlier appeals as the phone is typed.
//! - [`callbacks`]: the call-back queue and the call-back; [`notices`]: notices to call or post.
//! - [`analyst`]: the triage and verification queues, an appeal's page, assignment, the check.
//! - [`cases`]: what an analyst does to one case (re-route a declined one, answer an authority's
//!   question, grant or refuse more time) or to the appeal (end it without confirmation).
//! - [`incidents`]: incidents: the list, one with its appeals, open, attach, close.
//! - [`dashboard`]: leadership's view of the day: the daily report, overdue, ratings; their
//!   spreadsheets.
//! - [`admin`]: the classifier's categories, added and renamed; the directory's authorities:
//!   listed, added, deactivated; their certificates issued and revoked.
//! - [`live`]: server-sent events from the event log, so queues refresh themselves.

pub mod admin;
pub mod analyst;
pub mod callbacks;
pub mod cases;
pub mod dashboard;
pub mod incidents;
pub mod live;
pub mod notices;
pub mod operator;
pub mod session;
pub mod words;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::app::staff::SignInPolicy;
use crate::app::{AppError, Hotline, Store};
use crate::domain::DomainError;

pub use session::Signed;

/// A client that sends no request line in this long is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct ConsoleState<S> {
    /// The use cases.
    pub hotline: Hotline<S>,
    /// Session length and lockout.
    pub policy: SignInPolicy,
    /// Served over TLS: cookies carry `Secure`.
    pub secure: bool,
    /// Turns true at shutdown: live streams end.
    pub stop: watch::Receiver<bool>,
    /// The hub's own PKI directory (its CA, `crl.pem`): authorities' certificates are issued and
    /// revoked there. `None` when the hub serves with an outside CA's files.
    pub pki: Option<std::path::PathBuf>,
}

/// The console's routes over `state`.
pub fn router<S: Store>(state: ConsoleState<S>) -> Router {
    Router::new()
        .route("/", get(session::home))
        .route(
            "/login",
            get(session::login_page::<S>).post(session::login::<S>),
        )
        .route("/logout", post(session::logout::<S>))
        .route(
            "/operator/register",
            get(operator::register_page::<S>).post(operator::register::<S>),
        )
        .route("/operator/hints", get(operator::hints::<S>))
        .route("/operator/callbacks", get(callbacks::callbacks::<S>))
        .route("/operator/notices", get(notices::notices::<S>))
        .route("/notices/{id}/done", post(notices::done::<S>))
        .route("/appeals/{number}", get(analyst::appeal::<S>))
        .route("/appeals/{number}/assign", post(analyst::assign::<S>))
        .route("/appeals/{number}/callback", post(callbacks::callback::<S>))
        .route("/cases/{id}/verify", post(analyst::verify::<S>))
        .route("/cases/{id}/reassign", post(cases::reassign::<S>))
        .route("/cases/{id}/answer", post(cases::answer::<S>))
        .route("/cases/{id}/extend", post(cases::extend::<S>))
        .route(
            "/cases/{id}/refuse-extension",
            post(cases::refuse_extension::<S>),
        )
        .route("/analyst/triage", get(analyst::triage::<S>))
        .route("/incidents", get(incidents::list::<S>))
        .route("/incidents/{id}", get(incidents::show::<S>))
        .route("/incidents/{id}/attach", post(incidents::attach::<S>))
        .route("/incidents/{id}/close", post(incidents::close::<S>))
        .route("/appeals/{number}/incident", post(incidents::open::<S>))
        .route("/appeals/{number}/close", post(cases::close::<S>))
        .route("/dashboard", get(dashboard::dashboard::<S>))
        .route("/dashboard/export.xlsx", get(dashboard::export::<S>))
        .route("/admin", get(admin::directory::<S>))
        .route("/admin/authorities", post(admin::add::<S>))
        .route(
            "/admin/authorities/{code}/deactivate",
            post(admin::deactivate::<S>),
        )
        .route("/admin/categories", post(admin::add_category::<S>))
        .route(
            "/admin/categories/{code}/rename",
            post(admin::rename_category::<S>),
        )
        .route(
            "/admin/authorities/{code}/certificate",
            post(admin::issue_certificate::<S>),
        )
        .route(
            "/admin/authorities/{code}/certificate/revoke",
            post(admin::revoke_certificate::<S>),
        )
        .route("/live", get(live::events::<S>))
        .route("/static/console.css", get(stylesheet))
        .route("/static/console.js", get(script))
        .fallback(not_found)
        .with_state(state)
}

/// Serves the console on `listener` until `stop` turns true; with `tls`, over TLS.
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: ConsoleState<S>,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let router = router(state);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(error = %err, "console listener cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let router = router.clone();
                async move {
                    let response = router
                        .oneshot(request.map(axum::body::Body::new))
                        .await
                        .unwrap_or_else(|never: Infallible| match never {});
                    Ok::<_, Infallible>(response)
                }
            });
            let mut http = http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let served = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                    Err(err) => {
                        tracing::debug!(error = %err, "console: TLS handshake failed");
                        return;
                    }
                },
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
            if let Err(err) = served {
                tracing::debug!(error = %err, "console connection ended");
            }
        });
    }
}

/// One link of the navigation bar.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Its text.
    pub label: &'static str,
    /// The page being shown.
    pub current: bool,
}

/// What every page around its content shows: title, navigation for the role, who is signed in,
/// the CSRF token of the sign-out form.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The page's title.
    pub title: String,
    /// The links this role may follow.
    pub nav: Vec<NavItem>,
    /// `staff:operator:ivan`, or empty before sign-in.
    pub who: String,
    /// The session's CSRF token (empty before sign-in).
    pub csrf: String,
    /// Listen to `/live` and reload this page's queue when something changes.
    pub live: bool,
}

/// The headers every page carries: no caching of personal data, no framing, no sniffing, scripts
/// only from this origin.
fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Renders a template as a page with `status`.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => secured((status, Html(html)).into_response()),
        Err(err) => {
            tracing::error!(error = %err, "console template failed");
            secured((StatusCode::INTERNAL_SERVER_ERROR, "помилка сторінки").into_response())
        }
    }
}

/// A page that says why something could not be done.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The frame.
    pub frame: Frame,
    /// The headline.
    pub heading: String,
    /// The server's message.
    pub message: String,
}

/// An error page with `status` inside `frame`.
pub fn error_page(status: StatusCode, mut frame: Frame, heading: &str, message: &str) -> Response {
    frame.title = heading.to_string();
    page(
        status,
        &ErrorPage {
            frame,
            heading: heading.to_string(),
            message: message.to_string(),
        },
    )
}

/// A use case's error as a page: the status the API would give, the server's message.
pub fn app_error(frame: Frame, err: AppError) -> Response {
    let (status, heading, message) = match err {
        AppError::Domain(DomainError::Invalid { field, reason }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Неправильні дані",
            format!("{field}: {reason}"),
        ),
        AppError::Domain(e @ DomainError::IllegalTransition { .. }) => {
            (StatusCode::CONFLICT, "Дія зараз неможлива", e.to_string())
        }
        AppError::Domain(e @ DomainError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "Не знайдено", e.to_string())
        }
        AppError::Forbidden(why) => (StatusCode::FORBIDDEN, "Доступ заборонено", why),
        AppError::AlreadyExists(what) => (
            StatusCode::CONFLICT,
            "Вже існує",
            format!("{what} already exists"),
        ),
        AppError::TooLarge(what) => (StatusCode::PAYLOAD_TOO_LARGE, "Завелико", what),
        AppError::Unavailable(detail) => {
            tracing::warn!(%detail, "console: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "База даних недоступна",
                "Спробуйте ще раз за хвилину.".to_string(),
            )
        }
        AppError::Internal(detail) => {
            tracing::error!(%detail, "console: internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Внутрішня помилка",
                "Подробиці в журналі хаба.".to_string(),
            )
        }
    };
    error_page(status, frame, heading, &message)
}

async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        Frame::default(),
        "Сторінку не знайдено",
        "Такої сторінки в консолі немає.",
    )
}

async fn stylesheet() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../../static/console.css"),
    )
}

async fn script() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../../static/console.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    response
}

/// `2026-11-29 14:05` in Kyiv time.
pub fn kyiv_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Kyiv)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
