//! The agency client's Prometheus metrics (`--metrics-listen`, off by default): the outbox's depth
//! (reports waiting, reports refused for good), the hook queue and its dead letters, the
//! connection to the hub and when the hub was last heard from, cases and events stored. Read from
//! the local store at each scrape, so they are right for a daemon that just restarted; served as
//! plain HTTP/1 `GET /metrics` (counts and states only: no case text, no citizen's data).

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{Encoder, IntGauge, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::local::{LocalStore, Summary};

/// The metrics of one summary, in the Prometheus text format.
pub fn render(summary: &Summary) -> String {
    let registry = Registry::new();
    let gauge = |name: &str, help: &str, value: i64| {
        let g = IntGauge::new(name, help).expect("valid metric");
        g.set(value);
        registry
            .register(Box::new(g))
            .expect("metric names are unique");
    };
    gauge(
        "agency_outbox_pending",
        "Reports in the outbox waiting for the hub's confirmation.",
        summary.outbox_pending,
    );
    gauge(
        "agency_outbox_failed",
        "Reports the hub refused for good.",
        summary.outbox_failed,
    );
    gauge(
        "agency_hooks_waiting",
        "Stored events whose hooks have not succeeded yet (being retried).",
        summary.hooks_waiting,
    );
    gauge(
        "agency_hooks_dead",
        "Events whose hooks failed every attempt (dead letters).",
        summary.hooks_dead,
    );
    gauge(
        "agency_connected",
        "1 while the case stream to the hub is open.",
        i64::from(summary.connection == "connected"),
    );
    let last_contact =
        chrono::DateTime::parse_from_rfc3339(&summary.last_contact).map_or(0, |at| at.timestamp());
    gauge(
        "agency_last_contact_seconds",
        "When the hub was last heard from (Unix time; 0: never).",
        last_contact,
    );
    gauge("agency_cases", "Cases in the local inbox.", summary.cases);
    gauge("agency_receipts", "Signed receipts kept.", summary.receipts);
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut out)
        .expect("encoding into a Vec does not fail");
    String::from_utf8(out).expect("the text format is UTF-8")
}

async fn answer<B>(request: Request<B>, local: LocalStore) -> Response<Full<Bytes>> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => match local.summary().await {
            Ok(summary) => (StatusCode::OK, render(&summary)),
            Err(err) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the local store cannot be read: {err}\n"),
            ),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "metrics are at GET /metrics\n".into(),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// Where to serve the metrics: the flag (or `AGENCY_METRICS_LISTEN`), else `metrics_listen` in the
/// configuration file (whose errors the configuration itself reports).
pub fn address(flag: Option<SocketAddr>, file: Option<&std::path::Path>) -> Option<SocketAddr> {
    flag.or_else(|| {
        let text = std::fs::read_to_string(file?).ok()?;
        toml::from_str::<crate::config::ClientOptions>(&text)
            .ok()?
            .metrics_listen
    })
}

/// Binds `addr` and serves the metrics of `local` there for as long as the process runs; returns
/// the bound address (port 0 picks one).
pub async fn listen(addr: SocketAddr, local: LocalStore) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let local = local.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let local = local.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(request, local).await) }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_becomes_gauges() {
        let summary = Summary {
            cursor: "0.7".into(),
            acked: "0.7".into(),
            cases: 3,
            outbox_pending: 2,
            outbox_failed: 1,
            hooks_waiting: 4,
            hooks_dead: 5,
            receipts: 6,
            connection: "connected".into(),
            last_contact: "2026-11-02T09:00:00Z".into(),
            last_error: "stream: boom".into(),
        };
        let text = render(&summary);
        for line in [
            "agency_outbox_pending 2",
            "agency_outbox_failed 1",
            "agency_hooks_waiting 4",
            "agency_hooks_dead 5",
            "agency_connected 1",
            "agency_last_contact_seconds 1793610000",
            "agency_cases 3",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(!text.contains("boom"), "no free text");
    }
}
