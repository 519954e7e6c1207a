//! The metrics listener: plain HTTP/1 on an address of its own (`--metrics-listen`, off by
//! default), answering `GET /metrics` with the Prometheus text format and anything else with 404.
//!
//! Why plain HTTP beside a hub that is mutual TLS everywhere else: Prometheus scrapes over plain
//! HTTP by default, and nothing here is secret or personal (counts, RPC names, status codes,
//! authority codes). Bind it to loopback or to the monitoring network only.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What renders the current metrics.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// A scraper that sends no request line in this long is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `render` on `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, render: Render, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors, most likely: back off rather than spin.
                tracing::warn!(error = %err, "metrics listener cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let render = render.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let render = render.clone();
                async move { Ok::<_, Infallible>(answer(&request, render.as_ref())) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The answer to one request.
fn answer<B>(
    request: &Request<B>,
    render: &(dyn Fn() -> String + Send + Sync),
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            render(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "metrics are at GET /metrics\n".to_string(),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// Binds `addr` and serves `render` there until `stop`; the bound address is returned (port 0
/// picks one).
pub async fn listen(
    addr: std::net::SocketAddr,
    render: Render,
    stop: watch::Receiver<bool>,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, render, stop));
    Ok(bound)
}
