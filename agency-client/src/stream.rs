//! The case stream: one long-lived `StreamCases` call, each delivery stored locally (one
//! transaction: event, case, receipt, cursor, hook queue entry), then acknowledged in batches.
//!
//! Acknowledging is a task of its own fed by what the stream has committed: one `AckEvents` call
//! covers every event stored before it, sent once the stream has been quiet for [`ACK_IDLE`], or
//! [`ACK_MAX_DELAY`] after the first unacknowledged event, or at once when [`ACK_MAX_EVENTS`] wait —
//! and never for anything not yet committed locally. A failed acknowledgement is retried with
//! backoff; the stream's reconnection acknowledges the local cursor anyway.

use std::time::Duration;

use hotline_proto::v1 as pb;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::{Agency, ClientError, permanent};

/// Acknowledge once no delivery came for this long…
const ACK_IDLE: Duration = Duration::from_millis(200);
/// …or once the oldest unacknowledged event has waited this long…
const ACK_MAX_DELAY: Duration = Duration::from_secs(1);
/// …or once this many events wait.
const ACK_MAX_EVENTS: u64 = 100;
/// How long the last acknowledgement may take when the daemon stops.
const FINAL_ACK_WAIT: Duration = Duration::from_secs(3);

/// What the stream has committed locally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// The cursor of the last event stored.
    pub cursor: String,
    /// Events stored so far (duplicates included), to size batches.
    pub events: u64,
}

impl Agency {
    /// Stores one delivery; tells the acknowledger and the hook runner.
    async fn take(
        &self,
        delivery: pb::CaseDelivery,
        committed: &watch::Sender<Committed>,
    ) -> Result<(), ClientError> {
        self.local
            .set_state("last_contact", &chrono::Utc::now().to_rfc3339())
            .await?;
        if delivery.heartbeat {
            return Ok(());
        }
        self.check_receipt(delivery.receipt.as_ref());
        let fresh = self.local.store_delivery(&delivery).await?;
        if fresh {
            self.hook_wake.notify_one();
        } else {
            tracing::debug!(
                event = delivery.event.as_ref().map(|e| e.id),
                "duplicate delivery ignored"
            );
        }
        // Committed: now (and only now) it may be acknowledged.
        if let Some(event) = &delivery.event {
            committed.send_modify(|c| {
                c.cursor = event.cursor.clone();
                c.events += 1;
            });
        }
        Ok(())
    }

    /// Follows the case stream until `stop`, reconnecting with backoff and resuming from the cursor;
    /// reconnects at once when the TLS identity changes.
    pub(crate) async fn follow(
        &self,
        mut stop: watch::Receiver<bool>,
        committed: &watch::Sender<Committed>,
    ) -> Result<(), ClientError> {
        let mut backoff = Duration::from_millis(200);
        let mut identity = self.connection.subscribe();
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            identity.borrow_and_update();
            let cursor = self.local.cursor().await?;
            let mut gateway = self.gateway();
            let opened = tokio::select! {
                opened = gateway.stream_cases(pb::StreamCasesRequest { cursor: cursor.clone() }) => opened,
                _ = stop.wait_for(|s| *s) => return Ok(()),
            };
            let mut renewed = false;
            match opened {
                Ok(response) => {
                    tracing::info!(%cursor, "case stream open");
                    self.local.set_state("connection", "connected").await?;
                    // Everything up to the local cursor is stored: say so, in case the process
                    // stopped between storing an event and acknowledging it.
                    if !cursor.is_empty() {
                        committed.send_modify(|c| c.cursor = cursor.clone());
                    }
                    backoff = Duration::from_millis(200);
                    let mut stream = response.into_inner();
                    loop {
                        let message = tokio::select! {
                            message = stream.message() => message,
                            _ = identity.changed() => { renewed = true; break; }
                            _ = stop.wait_for(|s| *s) => return Ok(()),
                        };
                        match message {
                            Ok(Some(delivery)) => self.take(delivery, committed).await?,
                            Ok(None) => break,
                            Err(status) => {
                                self.local
                                    .set_state(
                                        "last_error",
                                        &format!("stream: {}", status.message()),
                                    )
                                    .await?;
                                break;
                            }
                        }
                    }
                }
                Err(status) => {
                    tracing::warn!(code = ?status.code(), error = %status.message(), "cannot open the case stream");
                    self.local
                        .set_state("last_error", &format!("connect: {}", status.message()))
                        .await?;
                }
            }
            self.local.set_state("connection", "disconnected").await?;
            if renewed {
                // A new identity: reconnect with it now, no backoff.
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = identity.changed() => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    /// Acknowledges everything stored locally, at once, unless the hub has already heard of it.
    /// Sent before reports: a case accepted within the batching window would otherwise skip
    /// `delivered` on the hub (it marks delivered only what is still `assigned` when the
    /// acknowledgement comes). Works from any process sharing the store: what is in it is committed.
    pub(crate) async fn ack_stored(&self) -> Result<(), ClientError> {
        let cursor = self.local.cursor().await?;
        if cursor.is_empty() || cursor == self.local.acked().await? {
            return Ok(());
        }
        match self.ack(&cursor).await {
            Ok(()) => self.local.set_state("acked", &cursor).await?,
            Err(status) => {
                tracing::debug!(error = %status.message(), "acknowledgement before sending reports failed");
            }
        }
        Ok(())
    }

    /// One `AckEvents` call.
    async fn ack(&self, cursor: &str) -> Result<(), tonic::Status> {
        self.gateway()
            .ack_events(pb::AckEventsRequest {
                cursor: cursor.to_string(),
            })
            .await?;
        self.acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Acknowledges what the stream commits, in batches, until the stream's sender is gone (the
    /// follower stopped); then acknowledges what is left, briefly.
    pub(crate) async fn acknowledge(
        &self,
        mut committed: watch::Receiver<Committed>,
    ) -> Result<(), ClientError> {
        let mut acked = Committed::default();
        // When the first event not yet acknowledged, and the latest one, were committed.
        let mut first_unacked: Option<Instant> = None;
        let mut last_change = Instant::now();
        // After a failed acknowledgement: not before this instant, and the pause before the next.
        let mut not_before = Instant::now();
        let mut retry = Duration::ZERO;
        loop {
            let latest = committed.borrow_and_update().clone();
            let waiting = !latest.cursor.is_empty() && latest.cursor != acked.cursor;
            let due = waiting.then(|| {
                let batch_full = latest.events.saturating_sub(acked.events) >= ACK_MAX_EVENTS;
                let batch_due = if batch_full {
                    Instant::now()
                } else {
                    (last_change + ACK_IDLE)
                        .min(first_unacked.unwrap_or(last_change) + ACK_MAX_DELAY)
                };
                batch_due.max(not_before)
            });
            tokio::select! {
                changed = committed.changed() => {
                    if changed.is_err() {
                        let last = committed.borrow().clone();
                        if !last.cursor.is_empty() && last.cursor != acked.cursor {
                            match tokio::time::timeout(FINAL_ACK_WAIT, self.ack(&last.cursor)).await {
                                Ok(Ok(())) => self.local.set_state("acked", &last.cursor).await?,
                                _ => tracing::info!("last acknowledgement not sent; the next start sends it"),
                            }
                        }
                        return Ok(());
                    }
                    last_change = Instant::now();
                    first_unacked.get_or_insert(last_change);
                }
                () = tokio::time::sleep_until(due.unwrap_or(not_before)), if due.is_some() => {
                    match self.ack(&latest.cursor).await {
                        Ok(()) => {
                            retry = Duration::ZERO;
                            self.local.set_state("acked", &latest.cursor).await?;
                            acked = latest;
                        }
                        Err(status) if permanent(status.code()) => {
                            // Retrying the same cursor cannot help; the next one may.
                            tracing::warn!(code = ?status.code(), error = %status.message(), "the hub refused an acknowledgement");
                            acked = latest;
                        }
                        Err(status) => {
                            retry = (retry * 2).clamp(Duration::from_millis(200), self.config.max_backoff);
                            not_before = Instant::now() + retry;
                            tracing::debug!(error = %status.message(), ?retry, "acknowledgement failed; retrying");
                        }
                    }
                    let pending = committed.borrow().cursor != acked.cursor;
                    first_unacked = pending.then(Instant::now);
                }
            }
        }
    }
}
