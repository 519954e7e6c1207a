//! An authority's handle on the hub: its local store, its connection (see [`crate::identity`]) and
//! the outbox sender. Every report is written to the outbox with a request id of its own, then sent
//! in order until the hub confirms it. The daemon built on this handle is in [`crate::daemon`], the
//! case stream in [`crate::stream`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use hotline_proto::receipt::sha256_hex;
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use prost::Message;
use tokio::sync::Notify;
use tonic::Code;
use tonic::transport::Channel;

use crate::config::{ClientConfig, DaemonConfig};
use crate::identity::Connection;
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
    /// A task of the daemon ended abnormally.
    #[error("daemon task: {0}")]
    Task(String),
}

impl ClientError {
    /// The local store stayed busy: nothing was written, and the work may be resumed.
    pub fn is_busy(&self) -> bool {
        matches!(self, ClientError::Local(err) if err.is_busy())
    }
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
        /// How the case ended (the Law requires one).
        outcome: pb::Outcome,
        /// For a refusal its legal reason; for a forwarding the competent body.
        outcome_detail: String,
    },
    /// Ask for more time (a one-month term, to at most 45 days from receipt).
    Extend {
        /// The deadline asked for.
        to: NaiveDate,
        /// Why.
        reason: String,
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
    /// What only the daemon uses (hooks, certificate reloading).
    pub daemon: DaemonConfig,
    /// The local store.
    pub local: LocalStore,
    /// The channel shared by the stream and the outbox, replaced when the TLS files change.
    pub(crate) connection: Arc<Connection>,
    /// The hub's receipt key, when configured: every receipt is checked as it arrives.
    receipt_key: Option<Vec<u8>>,
    /// Wakes the outbox sender when a report is written in this process.
    pub(crate) outbox_wake: Arc<Notify>,
    /// Wakes the hook runner when the stream stores a new event.
    pub(crate) hook_wake: Arc<Notify>,
    /// `AckEvents` calls the hub answered, since this handle was opened.
    pub(crate) acks: Arc<AtomicU64>,
}

fn read(path: &std::path::Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|e| ClientError::File(format!("{}: {e}", path.display())))
}

/// Codes after which resending the same request cannot succeed.
pub(crate) fn permanent(code: Code) -> bool {
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
    /// Opens the local store and prepares the connection (nothing is sent yet), with the daemon's
    /// defaults.
    pub async fn open(config: ClientConfig) -> Result<Self, ClientError> {
        Self::open_with(config, DaemonConfig::default()).await
    }

    /// Opens the local store and prepares the connection (nothing is sent yet). The TLS files are
    /// checked now: a broken certificate or key is named here rather than at the first handshake.
    pub async fn open_with(
        config: ClientConfig,
        daemon: DaemonConfig,
    ) -> Result<Self, ClientError> {
        // The TLS files first: a broken one is refused before the store is created.
        let connection = Connection::open(&config)?;
        let local = LocalStore::open(&config.data_dir).await?;
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
            daemon,
            local,
            connection,
            receipt_key,
            outbox_wake: Arc::new(Notify::new()),
            hook_wake: Arc::new(Notify::new()),
            acks: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many acknowledgements (`AckEvents` calls) the hub has answered since this handle was
    /// opened: each covers every event stored before it.
    pub fn acknowledgements(&self) -> u64 {
        self.acks.load(Ordering::Relaxed)
    }

    pub(crate) fn gateway(&self) -> AgencyGatewayClient<Channel> {
        AgencyGatewayClient::new(self.connection.channel())
            .max_decoding_message_size(16 * 1024 * 1024)
    }

    /// Writes `action` on `case_id` to the outbox (nothing is lost if the hub is down) and wakes the
    /// sender. Returns the request id the hub will apply once: a new random id for every entry, kept
    /// with the encoded request, so a retry resends the same bytes and no id ever names two contents.
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
            Action::Extend { to, reason } => ("RequestExtension", simple(reason, to.to_string())),
            Action::Resolve {
                answer,
                measures,
                attachments,
                outcome,
                outcome_detail,
            } => (
                "SubmitResult",
                pb::SubmitResultRequest {
                    request_id: request_id.clone(),
                    case_id,
                    answer,
                    measures,
                    outcome: outcome as i32,
                    outcome_detail,
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

    pub(crate) fn check_receipt(&self, receipt: Option<&pb::Receipt>) {
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
                    "RequestExtension" => gateway.request_extension(request).await,
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
        let outbox = self.local.outbox(false).await?;
        if !outbox.is_empty() {
            self.ack_stored().await?;
        }
        for out in outbox {
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
}
