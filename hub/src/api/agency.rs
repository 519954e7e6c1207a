//! `hotline.v1.AgencyGateway`: what an authority's agency client calls. Every call acts for the
//! authority named in the client certificate, on its own cases only; another authority's case is
//! indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use hotline_proto::receipt::{ReceiptSigner, sha256_hex};
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_server::AgencyGateway;
use prost::Message;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::auth::CallContext;
use super::classify::{sign_to_pb, urgency_to_pb};
use super::convert::{self, case_status_to_pb, date, kind_to_pb, outcome_to_pb, request_id};
use super::error::{domain, invalid, status};
use super::{ApiSettings, EventStream, caller};
use crate::app::Hotline;
use crate::app::Store;
use crate::app::agency::{AgencyAction, AgencyRequest, Delivery};
use crate::app::feed::FeedItem;
use crate::domain::{
    AppealState, AttachmentInfo, Caller, CaseRole, CaseStatus, Cursor, NewAttachment, Urgency,
};
use crate::principal::Principal;

/// Events read per query while catching a client up.
const STREAM_BATCH: i64 = 200;

/// The agency gateway service.
#[derive(Debug, Clone)]
pub struct AgencyApi<S> {
    /// The application services.
    hotline: Hotline<S>,
    /// Stream settings.
    settings: ApiSettings,
    /// Becomes true when the hub shuts down: open streams end.
    shutdown: watch::Receiver<bool>,
}

impl<S: Store> AgencyApi<S> {
    /// The service over `hotline`.
    pub fn new(
        hotline: Hotline<S>,
        settings: ApiSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            hotline,
            settings,
            shutdown,
        }
    }
}

/// The calling authority's code (the auth layer admits only agency principals here).
fn authority<T>(request: &Request<T>) -> Result<String, Status> {
    match request
        .extensions()
        .get::<CallContext>()
        .map(|c| &c.principal)
    {
        Some(Principal::Agency { authority }) => Ok(authority.clone()),
        _ => Err(Status::permission_denied(
            "only an authority's agency client may call the agency gateway",
        )),
    }
}

/// The case as the authority sees it; the citizen's contact only when `with_citizen`.
fn agency_case(
    state: &AppealState,
    case_id: i64,
    with_citizen: bool,
    attachments: &[AttachmentInfo],
    now: DateTime<Utc>,
) -> pb::AgencyCase {
    let a = &state.appeal;
    super::observe::record_appeal(&a.number);
    let card = &a.card;
    let case = state.cases.iter().find(|c| c.id == case_id);
    pb::AgencyCase {
        case: case.map(|c| convert::case_to_pb(c, "", attachments, now)),
        appeal_number: a.number.clone(),
        kind: kind_to_pb(card.kind) as i32,
        text: card.text.clone(),
        category_code: card.category_code.clone(),
        district_code: card.district_code.clone(),
        settlement_code: card.settlement_code.clone(),
        citizen: with_citizen.then(|| convert::citizen_to_pb(&card.citizen)),
        urgent: card.profile.urgency != Urgency::Ordinary,
        priority: card.profile.priority,
        urgency: urgency_to_pb(card.profile.urgency) as i32,
        author_categories: card.profile.author_categories.clone(),
        sign: sign_to_pb(card.profile.sign) as i32,
        // The lead sees where each co-executor's part stands, and its answer once submitted.
        parts: match case {
            Some(c) if c.role == CaseRole::Lead => state
                .cases
                .iter()
                .filter(|p| p.role == CaseRole::CoExecutor && !p.status.is_final())
                .map(|p| pb::CasePart {
                    authority_code: p.authority_code.clone(),
                    case_id: p.id,
                    status: case_status_to_pb(p.status) as i32,
                    answer: p.answer.clone(),
                    outcome: outcome_to_pb(p.outcome) as i32,
                    deadline: p.deadline.to_string(),
                })
                .collect(),
            _ => Vec::new(),
        },
    }
}

/// A delivery on the wire, with the hub's signed receipt over the case as sent.
fn delivery_to_pb(d: &Delivery, authority: &str, signer: &ReceiptSigner) -> pb::CaseDelivery {
    let now = d.at;
    let case = agency_case(&d.state, d.case_id, d.with_citizen, &[], now);
    let receipt = signer.sign(pb::Receipt {
        kind: "delivery".into(),
        event_id: d.event.cursor.id,
        case_id: d.case_id,
        authority_code: authority.to_string(),
        at: convert::time(now),
        content_sha256: sha256_hex(&case.encode_to_vec()),
        request_id: String::new(),
        ..Default::default()
    });
    pb::CaseDelivery {
        event: Some(convert::event_to_pb(&d.event)),
        case: Some(case),
        heartbeat: false,
        receipt: Some(receipt),
    }
}

impl<S: Store> AgencyApi<S> {
    /// Applies `action`, answering with the case and a signed receipt; a retry gets the first answer.
    /// `content` is the request as sent, hashed into the receipt.
    async fn act(
        &self,
        caller: Caller,
        request: AgencyRequest,
        action: AgencyAction,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        let kind = action.kind();
        let signer = self.hotline.receipts().clone();
        let (authority, request_id, content_sha256, case_id) = (
            request.authority.clone(),
            request.request.id.clone(),
            request.request.fingerprint.clone(),
            request.case_id,
        );
        let respond = move |state: &AppealState,
                            event_ids: &[i64],
                            documents: &[AttachmentInfo],
                            at: DateTime<Utc>| {
            let case = state
                .cases
                .iter()
                .find(|c| c.id == case_id)
                .map(|c| convert::case_to_pb(c, "", documents, at));
            let receipt = signer.sign(pb::Receipt {
                kind: kind.to_string(),
                event_id: event_ids.first().copied().unwrap_or_default(),
                case_id,
                authority_code: authority,
                at: convert::time(at),
                content_sha256,
                request_id,
                ..Default::default()
            });
            pb::CaseActionResponse {
                case,
                receipt: Some(receipt),
            }
            .encode_to_vec()
        };
        let bytes = self
            .hotline
            .agency_act(&caller, request, action, respond)
            .await
            .map_err(status)?;
        let response = pb::CaseActionResponse::decode(bytes.as_slice())
            .map_err(|e| Status::internal(format!("stored response unreadable: {e}")))?;
        Ok(Response::new(response))
    }
}

impl<S: Store> AgencyApi<S> {
    /// An action carried by a `CaseActionRequest` (all but the result): `action` reads what it needs.
    async fn simple_action(
        &self,
        request: Request<pb::CaseActionRequest>,
        action: impl FnOnce(&pb::CaseActionRequest) -> Result<AgencyAction, Status>,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        let (authority, caller) = (authority(&request)?, caller(&request));
        let r = request.into_inner();
        let action = action(&r)?;
        let request = AgencyRequest {
            authority,
            request: request_id(&r.request_id, &r),
            case_id: r.case_id,
            attachments: Vec::new(),
        };
        self.act(caller, request, action).await
    }
}

#[tonic::async_trait]
impl<S: Store> AgencyGateway for AgencyApi<S> {
    type StreamCasesStream = EventStream<pb::CaseDelivery>;

    async fn stream_cases(
        &self,
        request: Request<pb::StreamCasesRequest>,
    ) -> Result<Response<Self::StreamCasesStream>, Status> {
        let authority = authority(&request)?;
        let caller = caller(&request);
        let cursor: Cursor = request.into_inner().cursor.trim().parse().map_err(domain)?;
        let deliveries = self
            .hotline
            .deliveries(
                &authority,
                cursor,
                &caller,
                &self.settings.feed(STREAM_BATCH, true),
                self.shutdown.clone(),
            )
            .await
            .map_err(status)?;
        tracing::info!(%authority, %cursor, "case stream opened");
        let signer = self.hotline.receipts().clone();
        // Dropping the stream (the client left) drops the feed's receiver, which ends the feed.
        let stream = ReceiverStream::new(deliveries).map(move |item| match item {
            Ok(FeedItem::Event(delivery)) => Ok(delivery_to_pb(&delivery, &authority, &signer)),
            Ok(FeedItem::Heartbeat) => Ok(pb::CaseDelivery {
                heartbeat: true,
                ..Default::default()
            }),
            Err(err) => Err(status(*err)),
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn ack_events(
        &self,
        request: Request<pb::AckEventsRequest>,
    ) -> Result<Response<pb::AckEventsResponse>, Status> {
        let authority = authority(&request)?;
        let caller = caller(&request);
        let cursor: Cursor = request.into_inner().cursor.trim().parse().map_err(domain)?;
        let delivered = self
            .hotline
            .acknowledge(&authority, cursor, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AckEventsResponse {
            delivered: i32::try_from(delivered).unwrap_or(i32::MAX),
        }))
    }

    async fn accept_case(
        &self,
        request: Request<pb::CaseActionRequest>,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        self.simple_action(request, |_| Ok(AgencyAction::Accept))
            .await
    }

    async fn decline_case(
        &self,
        request: Request<pb::CaseActionRequest>,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        self.simple_action(request, |r| Ok(AgencyAction::Decline(r.text.clone())))
            .await
    }

    async fn report_status(
        &self,
        request: Request<pb::CaseActionRequest>,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        self.simple_action(request, |r| {
            Ok(AgencyAction::Report {
                comment: r.text.clone(),
                planned: date("planned_date", &r.planned_date)?,
            })
        })
        .await
    }

    async fn request_clarification(
        &self,
        request: Request<pb::CaseActionRequest>,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        self.simple_action(request, |r| Ok(AgencyAction::Ask(r.text.clone())))
            .await
    }

    async fn submit_result(
        &self,
        request: Request<pb::SubmitResultRequest>,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        let (authority, caller) = (authority(&request)?, caller(&request));
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let attachments = r
            .attachments
            .into_iter()
            .map(|a| NewAttachment {
                name: a.name,
                content_type: a.content_type,
                sha256: a.sha256,
                content: a.content,
            })
            .collect();
        let action = AgencyAction::Resolve {
            answer: r.answer,
            measures: r.measures,
            outcome: convert::outcome_from_pb(r.outcome),
            outcome_detail: r.outcome_detail,
        };
        let request = AgencyRequest {
            authority,
            request: id,
            case_id: r.case_id,
            attachments,
        };
        self.act(caller, request, action).await
    }

    async fn request_extension(
        &self,
        request: Request<pb::CaseActionRequest>,
    ) -> Result<Response<pb::CaseActionResponse>, Status> {
        self.simple_action(request, |r| {
            Ok(AgencyAction::Extend {
                to: date("planned_date", &r.planned_date)?
                    .ok_or_else(|| invalid("planned_date", "required: the deadline asked for"))?,
                reason: r.text.clone(),
            })
        })
        .await
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::AgencyCase>, Status> {
        let (authority, caller) = (authority(&request)?, caller(&request));
        let case_id = request.into_inner().case_id;
        let (state, attachments) = self
            .hotline
            .agency_case(&authority, case_id, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(agency_case(
            &state,
            case_id,
            true,
            &attachments,
            self.hotline.now(),
        )))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let authority = authority(&request)?;
        let wanted = request.into_inner().status;
        let status_filter = if wanted == 0 {
            None
        } else {
            Some(
                CaseStatus::ALL
                    .iter()
                    .copied()
                    .find(|s| case_status_to_pb(*s) as i32 == wanted)
                    .ok_or_else(|| invalid("status", format!("{wanted} is not a case status")))?,
            )
        };
        let now = self.hotline.now();
        let cases = self
            .hotline
            .agency_cases(&authority, status_filter)
            .await
            .map_err(status)?
            .iter()
            // A summary: the citizen's contact comes with the case stream and GetCase.
            .map(|(state, case_id)| agency_case(state, *case_id, false, &[], now))
            .collect();
        Ok(Response::new(pb::ListCasesResponse { cases }))
    }
}
