//! The hub's gRPC surface: the staff services, the agency gateway, reports, health checking and
//! reflection, served by [`serve`] on a listener the caller bound, until a shutdown future
//! resolves. Handlers decode, call one use case in `app`, and encode; nothing here touches the store.
//!
//! # Layout
//! - [`auth`]: the layer that turns the client certificate into a principal and authorizes each call.
//! - [`access`]: closes live connections whose peer lost its access (revoked, expired, deactivated).
//! - [`appeals`]: `AppealRegistry` (staff).
//! - [`agency`]: `AgencyGateway` (authorities' agency clients).
//! - [`directory`]: `Directory` (admin).
//! - [`reports`]: `Reports` (supervisors and analysts).
//! - [`incidents`]: `Incidents` (analysts; staff read).
//! - [`exchange`]: `ContactCentreExchange` (partners) and `ExchangeAdmin` (staff).
//! - [`opendata`]: the public HTTP listener: Open311 GeoReport v2 and the monthly export.
//! - [`operations`]: `Operations`, the hub's status for the staff on duty.
//! - [`limits`]: requests per second per client, calls at once, streams per authority.
//! - [`observe`]: the outermost layer: a span, a count and a latency per call; authorities' presence.
//! - [`convert`], [`classify`]: wire types to and from the hub's own types.
//! - [`error`]: the one mapping from use-case errors to gRPC statuses.

pub mod access;
pub mod agency;
pub mod appeals;
pub mod auth;
pub mod classify;
pub mod convert;
pub mod directory;
pub mod error;
pub mod exchange;
pub mod incidents;
pub mod limits;
pub mod observe;
pub mod opendata;
pub mod operations;
pub mod reports;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hotline_proto::v1::agency_gateway_server::AgencyGatewayServer;
use hotline_proto::v1::appeal_registry_server::AppealRegistryServer;
use hotline_proto::v1::contact_centre_exchange_server::ContactCentreExchangeServer;
use hotline_proto::v1::directory_server::DirectoryServer;
use hotline_proto::v1::exchange_admin_server::ExchangeAdminServer;
use hotline_proto::v1::incidents_server::IncidentsServer;
use hotline_proto::v1::operations_server::OperationsServer;
use hotline_proto::v1::reports_server::ReportsServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::codegen::http;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::app::Hotline;
use crate::app::Store;
use crate::app::feed::FeedSettings;
use crate::domain::Caller;
use crate::live::LiveConnections;
use crate::metrics::HubMetrics;
use crate::presence::Presence;
use crate::tls::{self, ReloadingTls};

pub use appeals::AppealsApi;
pub use directory::DirectoryApi;

/// How the API serves requests and streams.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Largest request message accepted, in bytes (larger ones get `RESOURCE_EXHAUSTED`).
    pub max_message_bytes: usize,
    /// How often an idle stream that the log's tail cannot serve (it reads the database itself)
    /// re-reads the log even without a commit notification.
    pub poll_interval: Duration,
    /// Events buffered per stream before the hub waits for the client.
    pub stream_buffer: usize,
    /// How often the TLS certificate, CA bundle and CRL files are checked for changes.
    pub tls_reload_interval: Duration,
    /// How often an idle case stream sends a heartbeat (keeps proxies from closing it).
    pub heartbeat_interval: Duration,
}

impl ApiSettings {
    /// Settings for tests and the defaults of `hub serve`.
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            max_message_bytes,
            poll_interval: Duration::from_secs(1),
            stream_buffer: 64,
            tls_reload_interval: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(15),
        }
    }

    /// How a stream of `batch` events per read follows the log.
    pub fn feed(&self, batch: i64, heartbeat: bool) -> FeedSettings {
        FeedSettings {
            batch,
            poll: self.poll_interval,
            heartbeat: heartbeat.then_some(self.heartbeat_interval),
            buffer: self.stream_buffer,
        }
    }
}

/// A server stream of `T`: what a feed becomes on the wire.
pub type EventStream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, tonic::Status>> + Send>>;

/// Who is calling, as the auth layer established it.
pub fn caller<T>(request: &tonic::Request<T>) -> Caller {
    request
        .extensions()
        .get::<auth::CallContext>()
        .map(auth::CallContext::caller)
        // Unreachable behind the auth layer; recorded honestly if a test serves without it.
        .unwrap_or_else(|| Caller {
            principal: "unauthenticated".into(),
            rpc: "unknown".into(),
        })
}

/// What operating the hub adds to serving it: metrics, the authorities' presence, how shutdown
/// drains, how dead connections are found.
#[derive(Debug, Clone)]
pub struct Ops {
    /// Where the metrics are kept (served by `--metrics-listen`, when given).
    pub metrics: Arc<HubMetrics>,
    /// Which authorities are connected, when they last called, what failed last.
    pub presence: Arc<Presence>,
    /// How often the gauges that come from the database are refreshed.
    pub metrics_refresh: Duration,
    /// At shutdown, how long readiness reports NOT_SERVING before streams are ended, so that load
    /// balancers and clients watching health move away first.
    pub readiness_delay: Duration,
    /// At shutdown, how long open calls may take to finish once streams were told to end.
    pub shutdown_grace: Duration,
    /// HTTP/2 pings on every connection this often; a connection whose ping goes unanswered for
    /// `keepalive_timeout` is closed (a stalled peer is found within the sum of the two).
    pub keepalive_interval: Duration,
    /// See `keepalive_interval`.
    pub keepalive_timeout: Duration,
    /// How often health checking asks the database.
    pub health_interval: Duration,
    /// Days before its deadline a case counts as due soon (status and metrics).
    pub due_soon_days: u64,
    /// What one client may ask at once and per second.
    pub limits: limits::Limits,
}

impl Default for Ops {
    fn default() -> Self {
        Self {
            metrics: Arc::new(HubMetrics::new()),
            presence: Presence::new(),
            metrics_refresh: Duration::from_secs(15),
            readiness_delay: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
            health_interval: Duration::from_secs(5),
            due_soon_days: 3,
            limits: limits::Limits::default(),
        }
    }
}

/// Every service health checking reports on.
const HEALTH_SERVICES: [&str; 6] = [
    "",
    "hotline.v1.AppealRegistry",
    "hotline.v1.Directory",
    "hotline.v1.AgencyGateway",
    "hotline.v1.Reports",
    "hotline.v1.Operations",
];

/// Serves the hub over mutual TLS on `listener` until `shutdown` resolves, with the default
/// [`Ops`]; see [`serve_with_ops`].
pub async fn serve<S: Store>(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    hotline: Hotline<S>,
    settings: ApiSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    serve_with_ops(listener, tls, hotline, settings, Ops::default(), shutdown).await
}

/// Serves the hub over mutual TLS on `listener` until `shutdown` resolves. Then, in order:
/// readiness (grpc.health) turns NOT_SERVING; after `ops.readiness_delay` the streams end and the
/// listener closes; open calls get `ops.shutdown_grace` to finish.
pub async fn serve_with_ops<S: Store>(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    hotline: Hotline<S>,
    settings: ApiSettings,
    ops: Ops,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (drain_tx, drain_rx) = watch::channel(false);

    tls.spawn_watcher(settings.tls_reload_interval, stop_rx.clone());
    let live = LiveConnections::new();
    tokio::spawn(access::police(
        live.clone(),
        tls.clone(),
        hotline.clone(),
        settings.tls_reload_interval,
        stop_rx.clone(),
    ));
    let (health, health_service) = tonic_health::server::health_reporter();
    let health_task = tokio::spawn(watch_database(
        hotline.clone(),
        health.clone(),
        ops.health_interval,
        stop_rx.clone(),
    ));
    tokio::spawn(hotline.clone().run_metrics_collector(
        ops.metrics.clone(),
        ops.presence.clone(),
        ops.metrics_refresh,
        ops.due_soon_days,
        stop_rx.clone(),
    ));

    // Reflection in both versions: grpcurl and grpcio's tools of some releases speak only v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hotline_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .expect("the embedded descriptor sets are valid");
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .expect("the embedded descriptor sets are valid");

    let max = settings.max_message_bytes;
    let appeals = AppealRegistryServer::new(AppealsApi::new(
        hotline.clone(),
        settings.clone(),
        stop_rx.clone(),
    ))
    .max_decoding_message_size(max);
    let auth = auth::AuthLayer::new(hotline.clone());
    let reports = ReportsServer::new(reports::ReportsApi::new(hotline.clone()))
        .max_decoding_message_size(max);
    let operations = OperationsServer::new(operations::OperationsApi::new(
        hotline.clone(),
        ops.presence.clone(),
        ops.due_soon_days,
        drain_rx,
    ));
    let agency = AgencyGatewayServer::new(agency::AgencyApi::new(
        hotline.clone(),
        settings.clone(),
        stop_rx.clone(),
    ))
    .max_decoding_message_size(max);
    let incidents = IncidentsServer::new(incidents::IncidentsApi::new(hotline.clone()))
        .max_decoding_message_size(max);
    let exchange_api =
        exchange::ExchangeApi::new(hotline.clone(), settings.clone(), stop_rx.clone());
    let exchange =
        ContactCentreExchangeServer::new(exchange_api.clone()).max_decoding_message_size(max);
    let exchange_admin = ExchangeAdminServer::new(exchange_api).max_decoding_message_size(max);
    let directory = DirectoryServer::new(DirectoryApi::new(hotline)).max_decoding_message_size(max);

    let mut server_stop = stop_rx.clone();
    let server = Server::builder()
        .http2_keepalive_interval(Some(ops.keepalive_interval))
        .http2_keepalive_timeout(Some(ops.keepalive_timeout))
        .layer(
            tower::ServiceBuilder::new()
                .layer(observe::ObserveLayer::new(
                    ops.metrics.clone(),
                    ops.presence.clone(),
                ))
                .layer(limits::LimitsLayer::new(ops.limits, ops.presence.clone()))
                .layer(auth)
                .map_response(size_limit_is_resource_exhausted),
        )
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(appeals)
        .add_service(directory)
        .add_service(incidents)
        .add_service(exchange)
        .add_service(exchange_admin)
        .add_service(agency)
        .add_service(reports)
        .add_service(operations)
        .serve_with_incoming_shutdown(tls::incoming(listener, tls, live), async move {
            let _ = server_stop.wait_for(|down| *down).await;
        });
    tokio::pin!(server);

    let result = tokio::select! {
        result = &mut server => result,
        () = shutdown => {
            // Readiness first: whoever watches health moves away before anything ends.
            tracing::info!("shutting down: readiness is NOT_SERVING");
            let _ = drain_tx.send(true);
            ops.metrics.draining.set(1);
            health_task.abort();
            for service in HEALTH_SERVICES {
                health.set_service_status(service, ServingStatus::NotServing).await;
            }
            let early = tokio::select! {
                result = &mut server => Some(result),
                () = tokio::time::sleep(ops.readiness_delay) => None,
            };
            match early {
                Some(result) => result,
                None => {
                    tracing::info!("shutting down: ending streams and draining calls");
                    let _ = stop_tx.send(true);
                    match tokio::time::timeout(ops.shutdown_grace, &mut server).await {
                        Ok(result) => result,
                        Err(_) => {
                            tracing::warn!(grace = ?ops.shutdown_grace, "calls still open after the grace time; stopping anyway");
                            Ok(())
                        }
                    }
                }
            }
        }
    };
    let _ = stop_tx.send(true);
    health_task.abort();
    result
}

/// tonic answers a request over `max_decoding_message_size` with OUT_OF_RANGE; the hub's error
/// contract (README, "Errors") and gRPC's own servers use RESOURCE_EXHAUSTED for size limits, so
/// clients can tell a limit from a bad value. The status travels in the headers of a trailers-only response, rewritten here.
fn size_limit_is_resource_exhausted<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let out_of_range = headers.get("grpc-status").is_some_and(|v| v == "11");
    let too_large = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| {
            m.contains("message%20length%20too%20large") || m.contains("message length too large")
        });
    if out_of_range && too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}

/// Keeps the health status in step with the database: NOT_SERVING while it does not answer.
async fn watch_database<S: Store>(
    hotline: Hotline<S>,
    health: tonic_health::server::HealthReporter,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = None;
    loop {
        let now = if hotline.ping().await.is_ok() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(now) {
            if now == ServingStatus::NotServing {
                tracing::warn!("database does not answer; health is NOT_SERVING");
            } else if last.is_some() {
                tracing::info!("database answers again; health is SERVING");
            }
            for service in HEALTH_SERVICES {
                health.set_service_status(service, now).await;
            }
            last = Some(now);
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|down| *down) => return,
        }
    }
}
