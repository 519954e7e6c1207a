//! The RPC layer of observability, outermost in the server's stack: every call gets a `tracing`
//! span (the RPC, the caller's identity, and the appeal number once a handler knows it), a count by
//! RPC and final status code, a latency observation, and — for authorities — a mark of presence:
//! last contact, open case streams, the last call that failed.
//!
//! The final status of a call is in the response headers when the call failed before its body (a
//! "trailers-only" answer), else in the trailers after the body: the body is wrapped so that the
//! count is made when the trailers pass, or as `CANCELLED` when the client leaves first.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use prost::Message;
use tonic::codegen::http;
use tracing::Instrument;

use super::auth::peer_principal;
use crate::metrics::HubMetrics;
use crate::presence::{Presence, StreamGuard};
use crate::principal::Principal;

/// The label of every path the hub does not serve: an unknown path never becomes a label of its
/// own, so a caller cannot grow the metrics without bound.
const OTHER: &str = "other";

/// Records the appeal a call is about on the current call's span (a number, never personal data).
pub fn record_appeal(number: &str) {
    tracing::Span::current().record("appeal", number);
}

/// Every RPC path the hub serves: the hotline services from their descriptors, health, reflection.
fn served_paths() -> HashSet<String> {
    let mut paths: HashSet<String> = [
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let set = prost_types::FileDescriptorSet::decode(hotline_proto::FILE_DESCRIPTOR_SET)
        .expect("the embedded descriptor set is valid");
    for file in set.file {
        let package = file.package.unwrap_or_default();
        for service in file.service {
            let name = service.name.unwrap_or_default();
            for method in service.method {
                paths.insert(format!(
                    "/{package}.{name}/{}",
                    method.name.unwrap_or_default()
                ));
            }
        }
    }
    paths
}

/// The layer: metrics and presence it writes to.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Arc<HubMetrics>,
    presence: Arc<Presence>,
    paths: Arc<HashSet<String>>,
}

impl ObserveLayer {
    /// The layer writing to `metrics` and `presence`.
    pub fn new(metrics: Arc<HubMetrics>, presence: Arc<Presence>) -> Self {
        Self {
            metrics,
            presence,
            paths: Arc::new(served_paths()),
        }
    }
}

impl<Inner> tower::Layer<Inner> for ObserveLayer {
    type Service = Observe<Inner>;

    fn layer(&self, inner: Inner) -> Self::Service {
        Observe {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ObserveLayer`] wraps around the stack.
#[derive(Debug, Clone)]
pub struct Observe<Inner> {
    inner: Inner,
    layer: ObserveLayer,
}

/// What is recorded when a call ends.
struct Finish {
    metrics: Arc<HubMetrics>,
    presence: Arc<Presence>,
    path: String,
    authority: Option<String>,
    /// Holds an authority's case stream counted as open until the call ends.
    _stream: Option<StreamGuard>,
}

impl Finish {
    fn done(self, code: tonic::Code) {
        let name = code_name(code);
        self.metrics
            .rpc_requests
            .with_label_values(&[self.path.as_str(), name])
            .inc();
        if let (Some(authority), false) = (&self.authority, code == tonic::Code::Ok) {
            self.presence
                .error(authority, &self.path, name, chrono::Utc::now());
        }
    }
}

impl<Inner, B> tower::Service<http::Request<B>> for Observe<Inner>
where
    B: Send + 'static,
    Inner: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    Inner::Future: Send + 'static,
    Inner::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Inner::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let principal = peer_principal(&request);
        let path = request.uri().path();
        let path = if self.layer.paths.contains(path) {
            path.to_string()
        } else {
            OTHER.to_string()
        };
        let authority = match &principal {
            Some(Principal::Agency { authority }) => Some(authority.clone()),
            _ => None,
        };
        let span = tracing::info_span!(
            "rpc",
            rpc = %path,
            principal = %principal.as_ref().map_or_else(|| "-".to_string(), Principal::actor),
            appeal = tracing::field::Empty,
        );
        if let Some(authority) = &authority {
            self.layer.presence.contact(authority, chrono::Utc::now());
        }
        let stream = match &authority {
            Some(a) if path == "/hotline.v1.AgencyGateway/StreamCases" => {
                Some(self.layer.presence.stream_opened(a))
            }
            _ => None,
        };
        let finish = Finish {
            metrics: self.layer.metrics.clone(),
            presence: self.layer.presence.clone(),
            path,
            authority,
            _stream: stream,
        };
        let started = Instant::now();
        let future = span.in_scope(|| inner.call(request));
        Box::pin(
            async move {
                let response = future.await?;
                finish
                    .metrics
                    .rpc_seconds
                    .with_label_values(&[finish.path.as_str()])
                    .observe(started.elapsed().as_secs_f64());
                let (parts, body) = response.into_parts();
                if let Some(code) = status_in(&parts.headers) {
                    finish.done(code);
                    return Ok(http::Response::from_parts(parts, body));
                }
                let body = ObservedBody {
                    inner: body,
                    finish: Some(finish),
                };
                Ok(http::Response::from_parts(
                    parts,
                    tonic::body::Body::new(body),
                ))
            }
            .instrument(span),
        )
    }
}

/// The `grpc-status` in `headers`, if there is one.
fn status_in(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
}

/// A response body that records its call's status when the trailers pass (or it ends early).
struct ObservedBody {
    inner: tonic::body::Body,
    finish: Option<Finish>,
}

impl ObservedBody {
    fn done(&mut self, code: tonic::Code) {
        if let Some(finish) = self.finish.take() {
            finish.done(code);
        }
    }
}

impl Body for ObservedBody {
    type Data = <tonic::body::Body as Body>::Data;
    type Error = <tonic::body::Body as Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_in) {
                    self.done(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.done(tonic::Code::Internal),
            // Ended without a status: nothing told the client otherwise.
            Poll::Ready(None) => self.done(tonic::Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        // The client left (or the connection closed) before the call ended.
        self.done(tonic::Code::Cancelled);
    }
}

/// The canonical name of a status code, as gRPC spells it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_paths_become_labels() {
        let paths = served_paths();
        assert!(paths.contains("/hotline.v1.AgencyGateway/StreamCases"));
        assert!(paths.contains("/hotline.v1.AppealRegistry/RegisterAppeal"));
        assert!(paths.contains("/hotline.v1.Operations/GetStatus"));
        assert!(!paths.contains("/hotline.v1.AppealRegistry/Nope"));
        assert_eq!(
            code_name(tonic::Code::FailedPrecondition),
            "FAILED_PRECONDITION"
        );
    }
}
