//! `hub appeal …`: each command parses its arguments, makes one gRPC call to a running hub as the
//! staff role the command needs, and prints.

use clap::{Args, Subcommand};
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;

use super::CliError;
use super::args::coded;
use super::connect::{Connection, channel, retrying};
use super::output::Out;
use crate::api::convert::{callback_to_pb, close_to_pb, status_to_pb};
use crate::domain::{AppealStatus, CallbackOutcome, CloseOutcome, Queue};
use crate::principal::StaffRole;

/// `hub appeal …`
#[derive(Debug, Subcommand)]
pub enum AppealCommand {
    /// Register a new appeal.
    Register(Box<super::register::RegisterArgs>),
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
        /// With several authorities, the lead executor [default: the first].
        #[arg(long, default_value = "")]
        lead: String,
    },
    /// A work queue, priority appeals first: triage, verification, callback or rework.
    Queue {
        /// Which queue.
        #[arg(value_parser = coded::<Queue>())]
        queue: Queue,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i32,
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
        #[arg(value_parser = coded::<CallbackOutcome>())]
        outcome: CallbackOutcome,
        /// Note (required for not-confirmed; the citizen's words when they disagree).
        #[arg(long, default_value = "")]
        note: String,
        /// The citizen's satisfaction, 1 to 5.
        #[arg(long)]
        satisfaction: Option<i32>,
    },
    /// After a not-confirmed call-back: send the named cases back for rework (or, when the legal
    /// term cannot hold it, continue the appeal in a linked follow-up).
    Rework {
        /// Appeal number.
        number: String,
        /// Case ids to rework.
        #[arg(required = true)]
        cases: Vec<i64>,
        /// What the citizen still lacks.
        #[arg(long)]
        reason: String,
    },
    /// Refuse an authority's request for more time.
    RefuseExtension {
        /// Case id.
        case_id: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Notices to citizens: by default the queue to call or post.
    Notices {
        /// Only this appeal's (all statuses).
        #[arg(long)]
        appeal: Option<String>,
    },
    /// Mark a notice called or posted.
    NoticeDone {
        /// Notice id.
        id: i64,
    },
    /// End an appeal without a confirmed answer.
    Close {
        /// Appeal number.
        number: String,
        /// How.
        #[arg(value_parser = coded::<CloseOutcome>())]
        outcome: CloseOutcome,
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

/// `hub appeal search` arguments.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Status.
    #[arg(long, value_parser = coded::<AppealStatus>())]
    pub status: Option<AppealStatus>,
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

impl AppealCommand {
    /// The staff role that may run this command.
    fn role(&self) -> StaffRole {
        match self {
            Self::Register(_)
            | Self::Callback { .. }
            | Self::Notices { .. }
            | Self::NoticeDone { .. }
            | Self::Show { .. }
            | Self::Search(_)
            | Self::Watch { .. }
            | Self::Queue {
                queue: Queue::Callback,
                ..
            } => StaffRole::Operator,
            Self::Queue { .. } => StaffRole::Analyst,
            Self::Assign { .. }
            | Self::Reassign { .. }
            | Self::Extend { .. }
            | Self::Verify { .. }
            | Self::Close { .. }
            | Self::Answer { .. }
            | Self::Rework { .. }
            | Self::RefuseExtension { .. }
            | Self::Declined { .. } => StaffRole::Analyst,
        }
    }
}

fn queue_to_pb(queue: Queue) -> pb::Queue {
    match queue {
        Queue::Triage => pb::Queue::Triage,
        Queue::Verification => pb::Queue::Verification,
        Queue::Callback => pb::Queue::Callback,
        Queue::Rework => pb::Queue::Rework,
    }
}

/// Runs `hub appeal …`.
pub async fn run(c: Connection<AppealCommand>) -> Result<(), CliError> {
    let out = Out { json: c.hub.json };
    let mut client = AppealRegistryClient::new(channel(&c.hub, c.command.role()).await?);
    let request_id = c.hub.request_id();
    match c.command {
        AppealCommand::Register(args) => {
            let request = pb::RegisterAppealRequest {
                request_id,
                ..super::register::register_request(*args)?
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.register_appeal(r).await
            })
            .await?;
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
                        .map(status_to_pb)
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
        AppealCommand::Queue { queue, limit } => {
            let page = client
                .list_queue(pb::ListQueueRequest {
                    queue: queue_to_pb(queue) as i32,
                    limit,
                })
                .await?
                .into_inner();
            out.search(&page);
        }
        AppealCommand::Assign {
            number,
            authorities,
            lead,
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
            let request = pb::AssignAppealRequest {
                number,
                assignments,
                request_id,
                lead_authority_code: lead,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.assign_appeal(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        AppealCommand::Reassign {
            case_id,
            authority,
            reason,
            deadline,
        } => {
            let request = pb::ReassignCaseRequest {
                case_id,
                authority_code: authority,
                reason,
                deadline,
                request_id,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.reassign_case(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        AppealCommand::Extend {
            case_id,
            deadline,
            reason,
        } => {
            let request = pb::ExtendDeadlineRequest {
                case_id,
                deadline,
                reason,
                request_id,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.extend_deadline(r).await
            })
            .await?;
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
            let request = pb::VerifyAnswerRequest {
                case_id,
                verdict: verdict as i32,
                reason,
                request_id,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.verify_answer(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        AppealCommand::Callback {
            number,
            outcome,
            note,
            satisfaction,
        } => {
            let outcome = callback_to_pb(outcome);
            let request = pb::RecordCallbackRequest {
                number,
                outcome: outcome as i32,
                note,
                request_id,
                satisfaction: satisfaction.unwrap_or(0),
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.record_callback(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        AppealCommand::Rework {
            number,
            cases,
            reason,
        } => {
            let request = pb::ReworkCasesRequest {
                number,
                case_ids: cases,
                reason,
                request_id,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.rework_cases(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        AppealCommand::RefuseExtension { case_id, reason } => {
            let request = pb::RefuseExtensionRequest {
                case_id,
                reason,
                request_id,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.refuse_extension(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        AppealCommand::Notices { appeal } => {
            let list = client
                .list_notices(pb::ListNoticesRequest {
                    appeal_number: appeal.unwrap_or_default(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            out.notices(&list.notices);
        }
        AppealCommand::NoticeDone { id } => {
            let notice = client
                .mark_notice_done(pb::MarkNoticeDoneRequest { id })
                .await?
                .into_inner();
            out.notices(&[notice]);
        }
        AppealCommand::Close {
            number,
            outcome,
            reason,
        } => {
            let outcome = close_to_pb(outcome);
            let request = pb::CloseAppealRequest {
                number,
                outcome: outcome as i32,
                reason,
                request_id,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.close_appeal(r).await
            })
            .await?;
            out.appeal(&appeal);
        }
        AppealCommand::Answer { case_id, answer } => {
            let request = pb::AnswerClarificationRequest {
                case_id,
                answer,
                request_id,
            };
            let appeal = retrying(&client, &request, |mut c, r| async move {
                c.answer_clarification(r).await
            })
            .await?;
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
