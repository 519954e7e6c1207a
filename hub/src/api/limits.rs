//! Explicit limits on what one client may ask of the hub, answered with `RESOURCE_EXHAUSTED`
//! before any work is done: requests per second per client (a token bucket per principal),
//! unary calls in flight at once (streams are counted apart: they live for hours), and case
//! streams per authority. Each limit is configurable and named in its message.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::codegen::http;

use super::auth::peer_principal;
use crate::presence::Presence;
use crate::principal::Principal;

/// The RPCs that hold a stream open (not counted as calls in flight).
const STREAMS: &[&str] = &[
    "/hotline.v1.AgencyGateway/StreamCases",
    "/hotline.v1.AppealRegistry/WatchAppeals",
    "/hotline.v1.ContactCentreExchange/StreamUpdates",
    "/grpc.health.v1.Health/Watch",
];

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Requests per second one client (principal) may make on average.
    pub per_second: f64,
    /// How many it may make at once after a quiet spell.
    pub burst: f64,
    /// Unary calls in flight in the whole hub.
    pub concurrent_calls: usize,
    /// Case streams one authority may hold open.
    pub streams_per_authority: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_second: 100.0,
            burst: 400.0,
            concurrent_calls: 512,
            streams_per_authority: 4,
        }
    }
}

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The layer: the limits and their state, shared by every connection.
#[derive(Debug, Clone)]
pub struct LimitsLayer {
    limits: Limits,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
    calls: Arc<Semaphore>,
    presence: Arc<Presence>,
}

impl LimitsLayer {
    /// The layer enforcing `limits`; streams are counted in `presence`.
    pub fn new(limits: Limits, presence: Arc<Presence>) -> Self {
        Self {
            calls: Arc::new(Semaphore::new(limits.concurrent_calls)),
            limits,
            buckets: Arc::new(Mutex::new(HashMap::new())),
            presence,
        }
    }

    /// Takes a token from `who`'s bucket at `now`; `Err(wait in ms)` when it is empty.
    fn take(&self, who: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().expect("limits lock");
        // Forget clients idle long enough to have a full bucket again: the map stays small.
        if buckets.len() > 10_000 {
            let full = self.limits.burst / self.limits.per_second;
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < full);
        }
        let bucket = buckets.entry(who.to_string()).or_insert(Bucket {
            tokens: self.limits.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.limits.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.limits.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.limits.per_second;
            Err((wait * 1000.0).ceil() as u64)
        }
    }

    /// Whether `request` may go on: a permit for a unary call, or why not.
    fn admit<B>(&self, request: &http::Request<B>) -> Result<Option<OwnedSemaphorePermit>, String> {
        let principal = peer_principal(request);
        let path = request.uri().path();
        if let Some(p) = &principal
            && let Err(wait) = self.take(&p.actor(), Instant::now())
        {
            return Err(format!(
                "rate limit: at most {} requests per second per client (bursts of {}); retry in {wait} ms",
                self.limits.per_second, self.limits.burst
            ));
        }
        if STREAMS.contains(&path) {
            if let Some(Principal::Agency { authority }) = &principal
                && path == STREAMS[0]
            {
                // The observe layer, outside this one, has already counted this stream.
                let open = self
                    .presence
                    .snapshot()
                    .get(authority)
                    .map_or(0, |p| p.streams)
                    .saturating_sub(1);
                if open >= self.limits.streams_per_authority {
                    return Err(format!(
                        "authority `{authority}` already has {open} case streams open (at most {})",
                        self.limits.streams_per_authority
                    ));
                }
            }
            return Ok(None);
        }
        match self.calls.clone().try_acquire_owned() {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => Err(format!(
                "the hub is at its limit of {} calls at once; retry shortly",
                self.limits.concurrent_calls
            )),
        }
    }
}

impl<Inner> tower::Layer<Inner> for LimitsLayer {
    type Service = Limited<Inner>;

    fn layer(&self, inner: Inner) -> Self::Service {
        Limited {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`LimitsLayer`] wraps around the stack.
#[derive(Debug, Clone)]
pub struct Limited<Inner> {
    inner: Inner,
    layer: LimitsLayer,
}

impl<Inner, B> tower::Service<http::Request<B>> for Limited<Inner>
where
    B: Send + 'static,
    Inner: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    Inner::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Inner::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let permit = match self.layer.admit(&request) {
            Ok(permit) => permit,
            Err(why) => {
                let response = tonic::Status::resource_exhausted(why).into_http();
                return Box::pin(async move { Ok(response) });
            }
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(request).await;
            // The permit is held until the handler answered (the body of a unary answer is ready).
            drop(permit);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_the_rate() {
        let layer = LimitsLayer::new(
            Limits {
                per_second: 1000.0,
                burst: 3.0,
                ..Limits::default()
            },
            Presence::new(),
        );
        // The instant is given, so a slow machine cannot refill the bucket between the takes.
        let start = Instant::now();
        for _ in 0..3 {
            assert!(layer.take("a", start).is_ok());
        }
        let wait = layer.take("a", start).unwrap_err();
        assert!(wait <= 1, "{wait}");
        assert!(
            layer.take("b", start).is_ok(),
            "each client has its own bucket"
        );
        let later = start + std::time::Duration::from_millis(5);
        assert!(layer.take("a", later).is_ok(), "refilled");
    }
}
