//! Staff commands: each parses its arguments, makes one gRPC call to a running hub, and prints.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;
use hotline_proto::v1::directory_client::DirectoryClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::CliError;
use super::output::{self, Out};
use crate::api::convert::{authority_to_pb, category_to_pb};
use crate::principal::StaffRole;
use crate::starter::DirectoryFile;

/// Where the hub is, who we are, and how to print.
#[derive(Debug, Clone, Args)]
pub struct HubArgs {
    /// The hub's address.
    #[arg(
        long,
        global = true,
        env = "HOTLINE_HUB",
        default_value = "https://127.0.0.1:7545"
    )]
    pub hub: String,
    /// Our client certificate (PEM) [default: <pki-dir>/<role>.pem, the development PKI's
    /// certificate for the role the command needs].
    #[arg(long, global = true, env = "HOTLINE_CERT")]
    pub cert: Option<PathBuf>,
    /// Our private key (PEM) [default: the certificate's path with `.key`].
    #[arg(long, global = true, env = "HOTLINE_KEY")]
    pub key: Option<PathBuf>,
    /// The CA that signed the hub's certificate [default: <pki-dir>/ca.pem].
    #[arg(long, global = true, env = "HOTLINE_CA")]
    pub ca: Option<PathBuf>,
    /// The development PKI made by `hub serve` (for the defaults above).
    #[arg(
        long,
        global = true,
        env = "HOTLINE_PKI_DIR",
        default_value = "data/pki"
    )]
    pub pki_dir: PathBuf,
    /// Print JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
}

/// A staff command with its connection arguments.
#[derive(Debug, Args)]
pub struct Connection<C: Subcommand> {
    /// Connection and output.
    #[command(flatten)]
    pub hub: HubArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: C,
}

/// Kind of appeal (art. 3 of the Law).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// A proposal.
    Proposal,
    /// An application (request).
    Application,
    /// A complaint.
    Complaint,
}

/// How the appeal came in.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ChannelArg {
    /// Phone line.
    Phone,
    /// Web form.
    Web,
    /// E-mail.
    Email,
    /// National contact centre.
    NationalCentre,
    /// Post.
    Post,
    /// Personal reception.
    PersonalReception,
}

/// Appeal status filter.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    /// Registered.
    Registered,
    /// Assigned.
    Assigned,
    /// In progress.
    InProgress,
    /// Answered.
    Answered,
    /// Awaiting confirmation.
    AwaitingConfirmation,
    /// Closed.
    Closed,
    /// Returned.
    Returned,
    /// Not considered.
    NotConsidered,
    /// Closed unconfirmed.
    ClosedUnconfirmed,
}

/// Outcome of a call-back.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CallbackArg {
    /// The citizen confirms: the appeal closes.
    Confirmed,
    /// Not solved: back for rework (needs --note).
    NotConfirmed,
    /// No answer.
    Unreachable,
}

/// How an appeal ends without a confirmed answer.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CloseArg {
    /// Not considered (art. 8).
    NotConsidered,
    /// Closed without confirmation.
    Unconfirmed,
}

/// `hub appeal …`
#[derive(Debug, Subcommand)]
pub enum AppealCommand {
    /// Register a new appeal.
    Register(Box<RegisterArgs>),
    /// Show an appeal with its citizen, cases and history.
    Show {
        /// Appeal number.
        number: String,
    },
    /// Search appeals (newest first).
    Search(SearchArgs),
    /// Assign an appeal to authorities: `CODE` or `CODE@YYYY-MM-DD` for a deadline of its own.
    Assign {
        /// Appeal number.
        number: String,
        /// Authorities.
        #[arg(required = true)]
        authorities: Vec<String>,
    },
    /// Move a case to another authority.
    Reassign {
        /// Case id.
        case_id: i64,
        /// The authority that takes it over.
        authority: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// New deadline (YYYY-MM-DD).
        #[arg(long, default_value = "")]
        deadline: String,
    },
    /// Extend a case's deadline (at most 45 days from receipt).
    Extend {
        /// Case id.
        case_id: i64,
        /// New deadline (YYYY-MM-DD).
        deadline: String,
        /// Why (required by art. 20).
        #[arg(long)]
        reason: String,
    },
    /// Accept an authority's answer, or return it for rework.
    Verify {
        /// Case id.
        case_id: i64,
        /// Accept the answer.
        #[arg(
            long,
            conflicts_with = "return_reason",
            required_unless_present = "return_reason"
        )]
        accept: bool,
        /// Return it for rework, with this reason.
        #[arg(long = "return", value_name = "REASON")]
        return_reason: Option<String>,
    },
    /// Record a call-back to the citizen.
    Callback {
        /// Appeal number.
        number: String,
        /// What came of it.
        outcome: CallbackArg,
        /// Note (required for not-confirmed).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// End an appeal without a confirmed answer.
    Close {
        /// Appeal number.
        number: String,
        /// How.
        outcome: CloseArg,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Answer an authority's question about a case.
    Answer {
        /// Case id.
        case_id: i64,
        /// The answer.
        #[arg(long)]
        answer: String,
    },
    /// Declined cases waiting for re-routing.
    Declined {
        /// Only those past the 5-day limit.
        #[arg(long)]
        late: bool,
    },
    /// Follow the event log (Ctrl-C to stop).
    Watch {
        /// Start after this cursor.
        #[arg(long, default_value = "")]
        cursor: String,
        /// Only this appeal.
        #[arg(long, default_value = "")]
        appeal: String,
    },
}

/// `hub appeal register` arguments.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Kind of appeal.
    #[arg(long)]
    pub kind: KindArg,
    /// How it came in.
    #[arg(long, default_value = "phone")]
    pub channel: ChannelArg,
    /// Citizen's full name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Citizen's phone.
    #[arg(long, default_value = "")]
    pub phone: String,
    /// Citizen's address.
    #[arg(long, default_value = "")]
    pub address: String,
    /// The citizen gave no name.
    #[arg(long)]
    pub anonymous: bool,
    /// Signatories of a collective appeal.
    #[arg(long, default_value_t = 1)]
    pub signatories: i32,
    /// The citizen holds a benefit category.
    #[arg(long)]
    pub benefit_holder: bool,
    /// District code.
    #[arg(long)]
    pub district: String,
    /// Settlement code.
    #[arg(long, default_value = "")]
    pub settlement: String,
    /// Category code.
    #[arg(long)]
    pub category: String,
    /// The appeal's text.
    #[arg(long, required_unless_present = "text_file")]
    pub text: Option<String>,
    /// Read the text from a file.
    #[arg(long)]
    pub text_file: Option<PathBuf>,
    /// Urgent.
    #[arg(long)]
    pub urgent: bool,
    /// For a complaint: the authority complained about.
    #[arg(long, default_value = "")]
    pub complained_authority: String,
    /// Needs further study (one-month term).
    #[arg(long)]
    pub needs_study: bool,
    /// A shorter deadline the citizen asked for (YYYY-MM-DD).
    #[arg(long, default_value = "")]
    pub requested_deadline: String,
    /// Number of an earlier appeal this one repeats.
    #[arg(long, default_value = "")]
    pub repeat_of: String,
    /// The repeat brings new circumstances.
    #[arg(long)]
    pub new_circumstances: bool,
    /// When it was received (RFC 3339); default now.
    #[arg(long, default_value = "")]
    pub received_at: String,
}

/// `hub appeal search` arguments.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Status.
    #[arg(long)]
    pub status: Option<StatusArg>,
    /// Has a case for this authority.
    #[arg(long, default_value = "")]
    pub authority: String,
    /// Category or section code.
    #[arg(long, default_value = "")]
    pub category: String,
    /// District code.
    #[arg(long, default_value = "")]
    pub district: String,
    /// Received on or after (YYYY-MM-DD).
    #[arg(long, default_value = "")]
    pub from: String,
    /// Received on or before (YYYY-MM-DD).
    #[arg(long, default_value = "")]
    pub to: String,
    /// Only with an overdue case.
    #[arg(long)]
    pub overdue: bool,
    /// Page size.
    #[arg(long, default_value_t = 50)]
    pub limit: i32,
    /// Continue from a previous page.
    #[arg(long, default_value = "")]
    pub page_token: String,
}

/// `hub authority …`
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Add an authority.
    Add {
        /// Code (lowercase ascii, also named in its certificate).
        code: String,
        /// Official name.
        #[arg(long)]
        name: String,
        /// Kind of body.
        #[arg(long, default_value = "territorial_unit")]
        kind: String,
        /// District where it sits.
        #[arg(long, default_value = "")]
        district: String,
    },
    /// List authorities.
    List {
        /// Include deactivated ones.
        #[arg(long)]
        all: bool,
    },
    /// Deactivate an authority (no new cases).
    Deactivate {
        /// Code.
        code: String,
    },
}

/// `hub directory …`
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Load a directory file (default: the embedded starter directory) into the hub.
    Load {
        /// A TOML file shaped like hub/starter/directory.toml.
        file: Option<PathBuf>,
    },
    /// List the category classifier.
    Categories,
    /// List districts and settlements.
    Districts,
}

fn read_file(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| {
        CliError::Io(format!(
            "{}: {e} (give --cert/--key/--ca, or run from the directory where `hub serve` made data/pki)",
            path.display()
        ))
    })
}

/// A mutual-TLS channel to the hub, as `role` unless --cert names another identity.
pub(crate) async fn channel(hub: &HubArgs, role: StaffRole) -> Result<Channel, CliError> {
    let cert = hub
        .cert
        .clone()
        .unwrap_or_else(|| hub.pki_dir.join(format!("{}.pem", role.code())));
    let key = hub
        .key
        .clone()
        .unwrap_or_else(|| cert.with_extension("key"));
    let ca = hub.ca.clone().unwrap_or_else(|| hub.pki_dir.join("ca.pem"));
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read_file(&ca)?))
        .identity(Identity::from_pem(read_file(&cert)?, read_file(&key)?));
    Ok(Endpoint::from_shared(hub.hub.clone())
        .map_err(|e| CliError::Usage(format!("--hub {}: {e}", hub.hub)))?
        .tls_config(tls)?
        .connect()
        .await?)
}

impl AppealCommand {
    /// The staff role that may run this command.
    fn role(&self) -> StaffRole {
        match self {
            Self::Register(_)
            | Self::Callback { .. }
            | Self::Show { .. }
            | Self::Search(_)
            | Self::Watch { .. } => StaffRole::Operator,
            Self::Assign { .. }
            | Self::Reassign { .. }
            | Self::Extend { .. }
            | Self::Verify { .. }
            | Self::Close { .. }
            | Self::Answer { .. }
            | Self::Declined { .. } => StaffRole::Analyst,
        }
    }
}

fn status_arg(s: StatusArg) -> pb::AppealStatus {
    match s {
        StatusArg::Registered => pb::AppealStatus::Registered,
        StatusArg::Assigned => pb::AppealStatus::Assigned,
        StatusArg::InProgress => pb::AppealStatus::InProgress,
        StatusArg::Answered => pb::AppealStatus::Answered,
        StatusArg::AwaitingConfirmation => pb::AppealStatus::AwaitingConfirmation,
        StatusArg::Closed => pb::AppealStatus::Closed,
        StatusArg::Returned => pb::AppealStatus::Returned,
        StatusArg::NotConsidered => pb::AppealStatus::NotConsidered,
        StatusArg::ClosedUnconfirmed => pb::AppealStatus::ClosedUnconfirmed,
    }
}

fn register_request(r: RegisterArgs) -> Result<pb::RegisterAppealRequest, CliError> {
    let text = match (r.text, r.text_file) {
        (Some(text), None) => text,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| CliError::Io(format!("cannot read {}: {e}", path.display())))?,
        _ => {
            return Err(CliError::Usage(
                "give --text or --text-file, not both".into(),
            ));
        }
    };
    Ok(pb::RegisterAppealRequest {
        kind: match r.kind {
            KindArg::Proposal => pb::AppealKind::Proposal,
            KindArg::Application => pb::AppealKind::Application,
            KindArg::Complaint => pb::AppealKind::Complaint,
        } as i32,
        channel: match r.channel {
            ChannelArg::Phone => pb::Channel::Phone,
            ChannelArg::Web => pb::Channel::Web,
            ChannelArg::Email => pb::Channel::Email,
            ChannelArg::NationalCentre => pb::Channel::NationalCentre,
            ChannelArg::Post => pb::Channel::Post,
            ChannelArg::PersonalReception => pb::Channel::PersonalReception,
        } as i32,
        citizen: Some(pb::Citizen {
            name: r.name,
            phone: r.phone,
            address: r.address,
        }),
        anonymous: r.anonymous,
        signatories: r.signatories,
        benefit_holder: r.benefit_holder,
        district_code: r.district,
        settlement_code: r.settlement,
        category_code: r.category,
        text,
        urgent: r.urgent,
        complained_authority_code: r.complained_authority,
        needs_study: r.needs_study,
        requested_deadline: r.requested_deadline,
        repeat_of: r.repeat_of,
        new_circumstances: r.new_circumstances,
        received_at: r.received_at,
    })
}

/// Runs `hub appeal …`.
pub async fn appeal(c: Connection<AppealCommand>) -> Result<(), CliError> {
    let out = Out { json: c.hub.json };
    let mut client = AppealRegistryClient::new(channel(&c.hub, c.command.role()).await?);
    match c.command {
        AppealCommand::Register(args) => {
            let appeal = client
                .register_appeal(register_request(*args)?)
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Show { number } => {
            let appeal = client
                .get_appeal(pb::GetAppealRequest { number })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Search(s) => {
            let page = client
                .search_appeals(pb::SearchAppealsRequest {
                    status: s
                        .status
                        .map(status_arg)
                        .unwrap_or(pb::AppealStatus::Unspecified)
                        as i32,
                    authority_code: s.authority,
                    category_code: s.category,
                    district_code: s.district,
                    received_from: s.from,
                    received_to: s.to,
                    overdue: s.overdue,
                    page_size: s.limit,
                    page_token: s.page_token,
                })
                .await?
                .into_inner();
            out.search(&page);
        }
        AppealCommand::Assign {
            number,
            authorities,
        } => {
            let assignments = authorities
                .into_iter()
                .map(|a| match a.split_once('@') {
                    Some((code, deadline)) => pb::Assignment {
                        authority_code: code.into(),
                        deadline: deadline.into(),
                    },
                    None => pb::Assignment {
                        authority_code: a,
                        deadline: String::new(),
                    },
                })
                .collect();
            let appeal = client
                .assign_appeal(pb::AssignAppealRequest {
                    number,
                    assignments,
                })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Reassign {
            case_id,
            authority,
            reason,
            deadline,
        } => {
            let appeal = client
                .reassign_case(pb::ReassignCaseRequest {
                    case_id,
                    authority_code: authority,
                    reason,
                    deadline,
                })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Extend {
            case_id,
            deadline,
            reason,
        } => {
            let appeal = client
                .extend_deadline(pb::ExtendDeadlineRequest {
                    case_id,
                    deadline,
                    reason,
                })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Verify {
            case_id,
            accept,
            return_reason,
        } => {
            let (verdict, reason) = match (accept, return_reason) {
                (true, None) => (pb::Verdict::Accept, String::new()),
                (false, Some(reason)) => (pb::Verdict::Return, reason),
                _ => return Err(CliError::Usage("give --accept or --return REASON".into())),
            };
            let appeal = client
                .verify_answer(pb::VerifyAnswerRequest {
                    case_id,
                    verdict: verdict as i32,
                    reason,
                })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Callback {
            number,
            outcome,
            note,
        } => {
            let outcome = match outcome {
                CallbackArg::Confirmed => pb::CallbackOutcome::Confirmed,
                CallbackArg::NotConfirmed => pb::CallbackOutcome::NotConfirmed,
                CallbackArg::Unreachable => pb::CallbackOutcome::Unreachable,
            };
            let appeal = client
                .record_callback(pb::RecordCallbackRequest {
                    number,
                    outcome: outcome as i32,
                    note,
                })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Close {
            number,
            outcome,
            reason,
        } => {
            let outcome = match outcome {
                CloseArg::NotConsidered => pb::CloseOutcome::NotConsidered,
                CloseArg::Unconfirmed => pb::CloseOutcome::Unconfirmed,
            };
            let appeal = client
                .close_appeal(pb::CloseAppealRequest {
                    number,
                    outcome: outcome as i32,
                    reason,
                })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Answer { case_id, answer } => {
            let appeal = client
                .answer_clarification(pb::AnswerClarificationRequest { case_id, answer })
                .await?
                .into_inner();
            out.appeal(&appeal);
        }
        AppealCommand::Declined { late } => {
            let list = client
                .list_declined_cases(pb::ListDeclinedCasesRequest { only_late: late })
                .await?
                .into_inner();
            out.declined(&list);
        }
        AppealCommand::Watch { cursor, appeal } => {
            let mut stream = client
                .watch_appeals(pb::WatchAppealsRequest {
                    cursor,
                    appeal_number: appeal,
                })
                .await?
                .into_inner();
            while let Some(event) = stream.message().await? {
                out.event(&event);
            }
        }
    }
    Ok(())
}

/// Runs `hub authority …`.
pub async fn authority(c: Connection<AuthorityCommand>) -> Result<(), CliError> {
    let out = Out { json: c.hub.json };
    let mut client = DirectoryClient::new(channel(&c.hub, StaffRole::Admin).await?);
    match c.command {
        AuthorityCommand::Add {
            code,
            name,
            kind,
            district,
        } => {
            let a = client
                .create_authority(pb::Authority {
                    code,
                    name,
                    kind,
                    district_code: district,
                    active: true,
                })
                .await?
                .into_inner();
            out.authorities(&[a]);
        }
        AuthorityCommand::List { all } => {
            let list = client
                .list_authorities(pb::ListAuthoritiesRequest {
                    include_inactive: all,
                })
                .await?
                .into_inner();
            out.authorities(&list.authorities);
        }
        AuthorityCommand::Deactivate { code } => {
            let a = client
                .deactivate_authority(pb::DeactivateAuthorityRequest { code })
                .await?
                .into_inner();
            out.authorities(&[a]);
        }
    }
    Ok(())
}

/// Runs `hub directory …`.
pub async fn directory(c: Connection<DirectoryCommand>) -> Result<(), CliError> {
    let out = Out { json: c.hub.json };
    let mut client = DirectoryClient::new(channel(&c.hub, StaffRole::Admin).await?);
    match c.command {
        DirectoryCommand::Load { file } => {
            let dir = match &file {
                None => DirectoryFile::starter(),
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        CliError::Io(format!("cannot read {}: {e}", path.display()))
                    })?;
                    DirectoryFile::parse(&text)
                        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?
                }
            };
            let total = dir.districts.len() + dir.categories.len() + dir.authorities.len();
            let mut done = 0;
            for d in &dir.districts {
                client
                    .upsert_district(pb::District {
                        code: d.code.clone(),
                        name: d.name.clone(),
                        kind: d.kind.clone(),
                        parent_code: d.parent.clone(),
                    })
                    .await?;
                done += 1;
                output::progress(done, total);
            }
            for cat in &dir.categories {
                client
                    .upsert_category(category_to_pb(&cat.to_category()))
                    .await?;
                done += 1;
                output::progress(done, total);
            }
            for a in &dir.authorities {
                let request = authority_to_pb(&a.to_authority());
                match client.create_authority(request.clone()).await {
                    Err(status) if status.code() == tonic::Code::AlreadyExists => {
                        client.update_authority(request).await?;
                    }
                    other => {
                        other?;
                    }
                }
                done += 1;
                output::progress(done, total);
            }
            out.loaded(
                dir.districts.len(),
                dir.categories.len(),
                dir.authorities.len(),
            );
        }
        DirectoryCommand::Categories => {
            let list = client
                .list_categories(pb::ListCategoriesRequest {})
                .await?
                .into_inner();
            out.categories(&list.categories);
        }
        DirectoryCommand::Districts => {
            let list = client
                .list_districts(pb::ListDistrictsRequest {})
                .await?
                .into_inner();
            out.districts(&list.districts);
        }
    }
    Ok(())
}
