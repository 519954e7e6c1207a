//! The hub's Prometheus metrics: one [`HubMetrics`] registry per hub (no global recorder, so several
//! hubs in one test process keep their numbers apart), filled by the RPC layer
//! ([`crate::api::observe`]) and by a collector that reads the database every few seconds
//! ([`crate::app::operations`]), and served as the Prometheus text format by [`http`].
//!
//! Labels are RPC paths (only the ones the hub serves), status code names, authority codes and
//! fixed words: never a citizen's name, phone, address or e-mail, never free text.
//!
//! # Layout
//! - this file: the metric families and their names.
//! - [`http`]: the plain HTTP/1 listener that answers `GET /metrics`.

pub mod http;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Every metric the hub exports.
#[derive(Debug, Clone)]
pub struct HubMetrics {
    /// Where the families are registered; rendered by [`HubMetrics::render`].
    registry: Registry,
    /// Finished calls by RPC and status code.
    pub rpc_requests: IntCounterVec,
    /// Time from a call's arrival until its response starts (for a stream: until it is open).
    pub rpc_seconds: HistogramVec,
    /// Authorities with at least one case stream open on this hub.
    pub connected_agencies: IntGauge,
    /// Case streams open on this hub, per authority.
    pub agency_streams: IntGaugeVec,
    /// Events of an authority's cases after the cursor it acknowledged last.
    pub stream_lag_events: IntGaugeVec,
    /// When an authority last called this hub or acknowledged its feed (Unix seconds).
    pub last_contact_seconds: IntGaugeVec,
    /// Open cases by deadline state (`due_soon`, `overdue`).
    pub deadline_cases: IntGaugeVec,
    /// Database connections by state (`in_use`, `idle`) and the pool's limit (`max`).
    pub db_pool_connections: IntGaugeVec,
    /// 1 while the database answers, 0 while it does not.
    pub db_up: IntGauge,
    /// The audit trail's last sequence number: rows are chained in the transaction that writes
    /// them, so there is no sealing lag to report; this shows that it grows.
    pub audit_head_seq: IntGauge,
    /// The event log's highest id.
    pub events_last_id: IntGauge,
    /// 1 while the hub drains at shutdown (readiness has dropped).
    pub draining: IntGauge,
}

/// Latency buckets: from a millisecond (a cached read) to 10 s (a report over a year of appeals).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Default for HubMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl HubMetrics {
    /// A fresh registry with every family at zero.
    pub fn new() -> Self {
        let registry = Registry::new();
        let reg = |c: Box<dyn prometheus::core::Collector>| {
            registry
                .register(c)
                .expect("metric names are unique and valid");
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let m = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            reg(Box::new(m.clone()));
            m
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let m = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            reg(Box::new(m.clone()));
            m
        };
        let gauge = |name: &str, help: &str| {
            let m = IntGauge::new(name, help).expect("valid metric");
            reg(Box::new(m.clone()));
            m
        };
        let rpc_seconds = HistogramVec::new(
            HistogramOpts::new(
                "hotline_rpc_duration_seconds",
                "Time until a call's response starts (for streams: until they are open), by RPC.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["rpc"],
        )
        .expect("valid metric");
        reg(Box::new(rpc_seconds.clone()));
        Self {
            rpc_requests: counter_vec(
                "hotline_rpc_requests_total",
                "Finished calls by RPC and gRPC status code.",
                &["rpc", "code"],
            ),
            rpc_seconds,
            connected_agencies: gauge(
                "hotline_connected_agencies",
                "Authorities with a case stream open on this hub.",
            ),
            agency_streams: gauge_vec(
                "hotline_agency_streams",
                "Case streams open on this hub, by authority.",
                &["authority"],
            ),
            stream_lag_events: gauge_vec(
                "hotline_agency_stream_lag_events",
                "Events of the authority's cases after the cursor it acknowledged last.",
                &["authority"],
            ),
            last_contact_seconds: gauge_vec(
                "hotline_agency_last_contact_seconds",
                "When the authority last called the hub or acknowledged its feed (Unix time).",
                &["authority"],
            ),
            deadline_cases: gauge_vec(
                "hotline_deadline_cases",
                "Open cases by deadline state: due_soon (within the due-soon margin), overdue.",
                &["state"],
            ),
            db_pool_connections: gauge_vec(
                "hotline_db_pool_connections",
                "Database pool connections: in_use, idle, and the pool's max.",
                &["state"],
            ),
            db_up: gauge("hotline_db_up", "1 while the database answers, else 0."),
            audit_head_seq: gauge(
                "hotline_audit_head_seq",
                "Sequence number of the audit trail's last row.",
            ),
            events_last_id: gauge("hotline_events_last_id", "Highest event id in the log."),
            draining: gauge(
                "hotline_draining",
                "1 while the hub shuts down gracefully (readiness has dropped).",
            ),
            registry,
        }
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding into a Vec does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_renders_with_its_labels() {
        let m = HubMetrics::new();
        m.rpc_requests
            .with_label_values(&["/hotline.v1.Reports/DailyReport", "OK"])
            .inc();
        m.stream_lag_events.with_label_values(&["vodokanal"]).set(3);
        m.deadline_cases.with_label_values(&["overdue"]).set(2);
        m.rpc_seconds
            .with_label_values(&["/hotline.v1.Reports/DailyReport"])
            .observe(0.003);
        let text = m.render();
        assert!(text.contains(
            "hotline_rpc_requests_total{code=\"OK\",rpc=\"/hotline.v1.Reports/DailyReport\"} 1"
        ));
        assert!(text.contains("hotline_agency_stream_lag_events{authority=\"vodokanal\"} 3"));
        assert!(text.contains("hotline_deadline_cases{state=\"overdue\"} 2"));
        assert!(text.contains("# TYPE hotline_rpc_duration_seconds histogram"));
    }
}
