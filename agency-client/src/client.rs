//! The agency client's work: follow the hub's case stream into the local store (acknowledging only
//! after the local commit), and send the outbox in order until the hub confirms each report.
//! [`Agency::run`] is the daemon: both loops, reconnecting with backoff, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use hotline_proto::receipt::sha256_hex;
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use prost::Message;
use tokio::sync::{Notify, watch};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::config::ClientConfig;
use crate::hooks;
use crate::local::{LocalError, LocalStore};

/// Why the client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The local store failed.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// A file (certificate, key, attachment) could not be read.
    #[error("{0}")]
    File(String),
    /// The hub address or TLS material is not usable.
    #[error("cannot set up the connection: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// The request is wrong before it is sent.
    #[error("{0}")]
    Invalid(String),
}

/// What the authority does to a case.
#[derive(Debug, Clone)]
pub enum Action {
    /// Accept it as within the authority's competence.
    Accept,
    /// Decline it.
    Decline {
        /// Why (not our competence, duplicate, …).
        reason: String,
    },
    /// Report progress.
    Report {
        /// What is being done.
        comment: String,
        /// Planned completion date.
        planned: Option<NaiveDate>,
    },
    /// Ask the contact centre a question.
    Ask {
        /// The question.
        question: String,
    },
    /// Submit the result.
    Resolve {
        /// The answer to the citizen.
        answer: String,
        /// Measures taken.
        measures: String,
        /// Documents: (file name, media type, bytes).
        attachments: Vec<(String, String, Vec<u8>)>,
    },
}

/// What happened to one report when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The hub applied it (or had already: a retry gets the first answer).
    Confirmed,
    /// The hub refused it for good; it will not be retried.
    Refused(String),
    /// The hub could not be reached; it stays in the outbox.
    Queued(String),
}

/// An authority's connection to the hub and its local store.
#[derive(Debug, Clone)]
pub struct Agency {
    /// Configuration.
    pub config: ClientConfig,
    /// The local store.
    pub local: LocalStore,
    /// One lazily (re)connecting channel shared by the stream and the outbox.
    channel: Channel,
    /// The hub's receipt key, when configured: every receipt is checked as it arrives.
    receipt_key: Option<Vec<u8>>,
    /// Wakes the outbox sender when a report is written in this process.
    outbox_wake: Arc<Notify>,
}

fn read(path: &std::path::Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|e| ClientError::File(format!("{}: {e}", path.display())))
}

/// Codes after which resending the same request cannot succeed.
fn permanent(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::NotFound
            | Code::PermissionDenied
            | Code::AlreadyExists
            | Code::OutOfRange
            | Code::ResourceExhausted
            | Code::Unimplemented
    )
}

impl Agency {
    /// Opens the local store and prepares the connection (nothing is sent yet).
    pub async fn open(config: ClientConfig) -> Result<Self, ClientError> {
        let local = LocalStore::open(&config.data_dir).await?;
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&config.ca)?))
            .identity(Identity::from_pem(read(&config.cert)?, read(&config.key)?));
        let channel = Endpoint::from_shared(config.hub.clone())
            .map_err(|e| ClientError::Invalid(format!("hub address `{}`: {e}", config.hub)))?
            .tls_config(tls)?
            .connect_timeout(Duration::from_secs(5))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
            .connect_lazy();
        let receipt_key = match &config.receipt_key {
            Some(path) => Some(
                hotline_proto::receipt::unhex(read(path)?.trim()).ok_or_else(|| {
                    ClientError::File(format!("{}: not a hex public key", path.display()))
                })?,
            ),
            None => None,
        };
        Ok(Self {
            config,
            local,
            channel,
            receipt_key,
            outbox_wake: Arc::new(Notify::new()),
        })
    }

    fn gateway(&self) -> AgencyGatewayClient<Channel> {
        AgencyGatewayClient::new(self.channel.clone()).max_decoding_message_size(16 * 1024 * 1024)
    }

    /// Writes `action` on `case_id` to the outbox (nothing is lost if the hub is down) and wakes the
    /// sender. Returns the request id the hub will apply once.
    pub async fn act(&self, case_id: i64, action: Action) -> Result<String, ClientError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let simple = |text: String, planned: String| {
            pb::CaseActionRequest {
                request_id: request_id.clone(),
                case_id,
                text,
                planned_date: planned,
            }
            .encode_to_vec()
        };
        let (rpc, body) = match action {
            Action::Accept => ("AcceptCase", simple(String::new(), String::new())),
            Action::Decline { reason } => ("DeclineCase", simple(reason, String::new())),
            Action::Report { comment, planned } => (
                "ReportStatus",
                simple(comment, planned.map(|d| d.to_string()).unwrap_or_default()),
            ),
            Action::Ask { question } => ("RequestClarification", simple(question, String::new())),
            Action::Resolve {
                answer,
                measures,
                attachments,
            } => (
                "SubmitResult",
                pb::SubmitResultRequest {
                    request_id: request_id.clone(),
                    case_id,
                    answer,
                    measures,
                    attachments: attachments
                        .into_iter()
                        .map(|(name, content_type, content)| pb::Attachment {
                            sha256: sha256_hex(&content),
                            name,
                            content_type,
                            content,
                        })
                        .collect(),
                }
                .encode_to_vec(),
            ),
        };
        self.local.enqueue(rpc, case_id, body, &request_id).await?;
        self.outbox_wake.notify_one();
        Ok(request_id)
    }

    fn check_receipt(&self, receipt: Option<&pb::Receipt>) {
        if let (Some(key), Some(receipt)) = (&self.receipt_key, receipt)
            && let Err(err) = hotline_proto::receipt::verify(receipt, key)
        {
            tracing::error!(case = receipt.case_id, kind = %receipt.kind, error = %err, "receipt does not check out");
        }
    }

    /// Sends one outbox message.
    async fn send(&self, rpc: &str, body: &[u8]) -> Result<pb::CaseActionResponse, tonic::Status> {
        let mut gateway = self.gateway();
        let bad = |_| tonic::Status::internal("unreadable outbox message");
        let response = match rpc {
            "SubmitResult" => {
                gateway
                    .submit_result(pb::SubmitResultRequest::decode(body).map_err(bad)?)
                    .await
            }
            other => {
                let request = pb::CaseActionRequest::decode(body).map_err(bad)?;
                match other {
                    "AcceptCase" => gateway.accept_case(request).await,
                    "DeclineCase" => gateway.decline_case(request).await,
                    "ReportStatus" => gateway.report_status(request).await,
                    "RequestClarification" => gateway.request_clarification(request).await,
                    _ => {
                        return Err(tonic::Status::internal(format!(
                            "unknown outbox rpc {other}"
                        )));
                    }
                }
            }
        };
        response.map(tonic::Response::into_inner)
    }

    /// Sends pending reports in the order they were written, stopping at the first one the hub
    /// cannot take now (later ones may depend on it). Returns what happened to each one tried.
    pub async fn send_pending(&self) -> Result<Vec<(String, Sent)>, ClientError> {
        let mut results = Vec::new();
        for out in self.local.outbox(false).await? {
            match self.send(&out.rpc, &out.body).await {
                Ok(response) => {
                    self.check_receipt(response.receipt.as_ref());
                    self.local.confirmed(&out.request_id, &response).await?;
                    results.push((out.request_id, Sent::Confirmed));
                }
                Err(status) if permanent(status.code()) => {
                    let error = format!("{:?}: {}", status.code(), status.message());
                    tracing::warn!(request = %out.request_id, case = out.case_id, %error, "the hub refused a report");
                    self.local
                        .attempt_failed(&out.request_id, &error, true)
                        .await?;
                    results.push((out.request_id, Sent::Refused(error)));
                }
                Err(status) => {
                    let error = format!("{:?}: {}", status.code(), status.message());
                    self.local
                        .attempt_failed(&out.request_id, &error, false)
                        .await?;
                    self.local.set_state("last_error", &error).await?;
                    results.push((out.request_id, Sent::Queued(error)));
                    break;
                }
            }
        }
        Ok(results)
    }

    /// Stores one delivery, then acknowledges it and runs the hooks.
    async fn take(&self, delivery: pb::CaseDelivery) -> Result<(), ClientError> {
        self.local
            .set_state("last_contact", &chrono::Utc::now().to_rfc3339())
            .await?;
        if delivery.heartbeat {
            return Ok(());
        }
        self.check_receipt(delivery.receipt.as_ref());
        let fresh = self.local.store_delivery(&delivery).await?;
        if !fresh {
            tracing::debug!(
                event = delivery.event.as_ref().map(|e| e.id),
                "duplicate delivery ignored"
            );
        }
        // Acknowledge only what is committed locally; a lost ack is covered by the next one.
        if let Some(event) = &delivery.event
            && let Err(status) = self
                .gateway()
                .ack_events(pb::AckEventsRequest {
                    cursor: event.cursor.clone(),
                })
                .await
        {
            tracing::warn!(error = %status.message(), "acknowledgement failed; the next one covers it");
        }
        hooks::run_pending(&self.local, &self.config).await?;
        Ok(())
    }

    /// Follows the case stream until `stop`, reconnecting with backoff and resuming from the cursor.
    async fn follow(&self, mut stop: watch::Receiver<bool>) -> Result<(), ClientError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let cursor = self.local.cursor().await?;
            let mut gateway = self.gateway();
            let opened = tokio::select! {
                opened = gateway.stream_cases(pb::StreamCasesRequest { cursor: cursor.clone() }) => opened,
                _ = stop.wait_for(|s| *s) => return Ok(()),
            };
            match opened {
                Ok(response) => {
                    tracing::info!(%cursor, "case stream open");
                    self.local.set_state("connection", "connected").await?;
                    // Everything up to the local cursor is stored: say so, in case the process
                    // stopped between storing an event and acknowledging it.
                    if !cursor.is_empty()
                        && let Err(status) = self
                            .gateway()
                            .ack_events(pb::AckEventsRequest {
                                cursor: cursor.clone(),
                            })
                            .await
                    {
                        tracing::warn!(error = %status.message(), "acknowledgement failed; the next one covers it");
                    }
                    backoff = Duration::from_millis(200);
                    let mut stream = response.into_inner();
                    loop {
                        let message = tokio::select! {
                            message = stream.message() => message,
                            _ = stop.wait_for(|s| *s) => return Ok(()),
                        };
                        match message {
                            Ok(Some(delivery)) => self.take(delivery).await?,
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
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    /// Sends the outbox whenever something is written or the retry time comes, until `stop`.
    async fn deliver_outbox(&self, mut stop: watch::Receiver<bool>) -> Result<(), ClientError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            let results = self.send_pending().await?;
            let wait = if results.iter().any(|(_, r)| matches!(r, Sent::Queued(_))) {
                backoff = (backoff * 2).min(self.config.max_backoff);
                backoff
            } else {
                backoff = Duration::from_millis(200);
                self.config.outbox_poll
            };
            tokio::select! {
                _ = self.outbox_wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
    }

    /// The daemon: follows the stream and sends the outbox until `shutdown` resolves.
    pub async fn run(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ClientError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        // Hooks left over from before a restart run first.
        hooks::run_pending(&self.local, &self.config).await?;
        let work = async {
            tokio::try_join!(
                self.follow(stop_rx.clone()),
                self.deliver_outbox(stop_rx.clone())
            )
        };
        tokio::pin!(work);
        tokio::select! {
            result = &mut work => { result?; }
            () = shutdown => {
                let _ = stop_tx.send(true);
                work.await?;
            }
        }
        self.local.set_state("connection", "stopped").await?;
        Ok(())
    }
}
