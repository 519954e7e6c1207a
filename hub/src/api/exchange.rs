//! `hotline.v1.ContactCentreExchange` (partners) and `hotline.v1.ExchangeAdmin` (the hotline's
//! staff): decode, call one use case, encode; receipts are signed here, over what the use case
//! says was recorded.

use hotline_proto::receipt::{ReceiptSigner, sha256_hex};
use hotline_proto::v1 as pb;
use hotline_proto::v1::contact_centre_exchange_server::ContactCentreExchange;
use hotline_proto::v1::exchange_admin_server::ExchangeAdmin;
use prost::Message;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::convert::{
    appeal_state_to_pb, appeal_to_pb, outcome_to_pb, request_id, status_to_pb, time,
};
use super::error::{domain, invalid, status};
use super::{ApiSettings, EventStream, caller};
use crate::app::exchange::{Fate, PartnerUpdate, ReceiptBasis, Submitted};
use crate::app::feed::FeedItem;
use crate::app::{Hotline, Store};
use crate::domain::exchange::{CodeMapping, ExchangeRecord, MapKind};
use crate::domain::notice::answers_text;
use crate::domain::{Cursor, EventKind};
use crate::principal::Principal;

/// Events read per query while catching a partner up.
const STREAM_BATCH: i64 = 500;

/// Both exchange services.
#[derive(Debug, Clone)]
pub struct ExchangeApi<S> {
    /// The use cases.
    hotline: Hotline<S>,
    /// Stream settings.
    settings: ApiSettings,
    /// Becomes true when the hub shuts down: open streams end.
    shutdown: watch::Receiver<bool>,
}

impl<S: Store> ExchangeApi<S> {
    /// The services over `hotline`.
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

/// The calling partner (the auth layer admits only exchange principals to the partner service).
fn partner<T>(request: &Request<T>) -> Result<String, Status> {
    match request
        .extensions()
        .get::<super::auth::CallContext>()
        .map(|c| &c.principal)
    {
        Some(Principal::Exchange { partner }) => Ok(partner.clone()),
        _ => Err(Status::permission_denied(
            "only an exchange partner may call the exchange",
        )),
    }
}

/// A record from the wire, with the hash of its bytes as sent.
fn record(a: &pb::ExchangeAppeal) -> Result<(ExchangeRecord, String), (String, String)> {
    let citizen = a.citizen.clone().unwrap_or_default();
    let kind = match pb::AppealKind::try_from(a.kind) {
        Ok(pb::AppealKind::Proposal) => "proposal",
        Ok(pb::AppealKind::Application) => "application",
        Ok(pb::AppealKind::Complaint) => "complaint",
        _ => return Err((a.external_id.clone(), "kind: required".into())),
    };
    Ok((
        ExchangeRecord {
            external_id: a.external_id.clone(),
            kind: kind.into(),
            name: citizen.name,
            phone: citizen.phone,
            address: citizen.address,
            email: citizen.email,
            category: a.category_code.clone(),
            district: a.district_code.clone(),
            settlement: a.settlement_code.clone(),
            text: a.text.clone(),
            received_at: a.received_at.clone(),
            anonymous: a.anonymous,
            needs_study: a.needs_study,
        },
        sha256_hex(&a.encode_to_vec()),
    ))
}

fn receipt(
    basis: &ReceiptBasis,
    partner: &str,
    external_id: &str,
    signer: &ReceiptSigner,
) -> pb::Receipt {
    signer.sign(pb::Receipt {
        kind: basis.kind.into(),
        event_id: basis.event_id,
        case_id: 0,
        authority_code: format!("exchange:{partner}"),
        at: time(basis.at),
        content_sha256: basis.record_sha256.clone(),
        request_id: external_id.into(),
        ..Default::default()
    })
}

fn result_to_pb(s: &Submitted, partner: &str, signer: &ReceiptSigner) -> pb::ExchangeResult {
    let outcome = match s.fate {
        Fate::Accepted => pb::ExchangeOutcome::Accepted,
        Fate::Duplicate => pb::ExchangeOutcome::Duplicate,
        Fate::Held => pb::ExchangeOutcome::Held,
        Fate::Rejected => pb::ExchangeOutcome::Rejected,
    };
    pb::ExchangeResult {
        external_id: s.external_id.clone(),
        outcome: outcome as i32,
        appeal_number: s.appeal_number.clone(),
        reason: s.reason.clone(),
        receipt: s
            .receipt
            .as_ref()
            .map(|b| receipt(b, partner, &s.external_id, signer)),
    }
}

/// An update on the wire, signed.
fn update_to_pb(u: &PartnerUpdate, partner: &str, signer: &ReceiptSigner) -> pb::ExchangeUpdate {
    let a = &u.state.appeal;
    let kind = EventKind::from_code(&u.event.kind);
    let answer = match kind {
        Some(
            EventKind::AnswerVerified
            | EventKind::AppealClosed
            | EventKind::AppealClosedUnconfirmed
            | EventKind::AnsweredViaIncident,
        ) => answers_text(&u.state).trim().to_string(),
        _ => String::new(),
    };
    let names = std::collections::HashMap::new();
    let mut update = pb::ExchangeUpdate {
        cursor: u.event.cursor.to_string(),
        event_id: u.event.cursor.id,
        external_id: u.external_id.clone(),
        appeal_number: a.number.clone(),
        kind: u.event.kind.clone(),
        status: status_to_pb(a.status) as i32,
        outcome: outcome_to_pb(a.outcome) as i32,
        answer,
        notice: u.notices.join("\n\n"),
        at: time(u.event.at),
        receipt: None,
        appeal: u
            .with_appeal
            .then(|| appeal_state_to_pb(&u.state, true, &[], &names, &[], u.event.at)),
        heartbeat: false,
    };
    update.receipt = Some(signer.sign(pb::Receipt {
        kind: "exchange.update".into(),
        event_id: u.event.cursor.id,
        case_id: 0,
        authority_code: format!("exchange:{partner}"),
        at: time(u.event.at),
        content_sha256: sha256_hex(&update.encode_to_vec()),
        request_id: u.external_id.clone(),
        ..Default::default()
    }));
    update
}

#[tonic::async_trait]
impl<S: Store> ContactCentreExchange for ExchangeApi<S> {
    async fn submit_appeals(
        &self,
        request: Request<pb::SubmitAppealsRequest>,
    ) -> Result<Response<pb::SubmitAppealsResponse>, Status> {
        let partner = partner(&request)?;
        let caller = caller(&request);
        let records = request.into_inner().appeals.iter().map(record).collect();
        let results = self
            .hotline
            .submit_appeals(&partner, records, &caller)
            .await
            .map_err(status)?;
        let signer = self.hotline.receipts();
        Ok(Response::new(pb::SubmitAppealsResponse {
            results: results
                .iter()
                .map(|s| result_to_pb(s, &partner, signer))
                .collect(),
        }))
    }

    type StreamUpdatesStream = EventStream<pb::ExchangeUpdate>;

    async fn stream_updates(
        &self,
        request: Request<pb::StreamUpdatesRequest>,
    ) -> Result<Response<Self::StreamUpdatesStream>, Status> {
        let partner = partner(&request)?;
        let caller = caller(&request);
        let r = request.into_inner();
        let cursor = match r.cursor.trim() {
            "" => None,
            text => Some(text.parse::<Cursor>().map_err(domain)?),
        };
        let updates = self
            .hotline
            .partner_updates(
                &partner,
                cursor,
                r.follow,
                &caller,
                &self.settings.feed(STREAM_BATCH, r.follow),
                self.shutdown.clone(),
            )
            .await
            .map_err(status)?;
        let signer = self.hotline.receipts().clone();
        let stream = ReceiverStream::new(updates).map(move |item| match item {
            Ok(FeedItem::Event(update)) => Ok(update_to_pb(&update, &partner, &signer)),
            Ok(FeedItem::Heartbeat) => Ok(pb::ExchangeUpdate {
                heartbeat: true,
                ..Default::default()
            }),
            Err(err) => Err(status(*err)),
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn ack_updates(
        &self,
        request: Request<pb::AckUpdatesRequest>,
    ) -> Result<Response<pb::AckUpdatesResponse>, Status> {
        let partner = partner(&request)?;
        let cursor: Cursor = request.into_inner().cursor.trim().parse().map_err(domain)?;
        self.hotline
            .acknowledge_partner(&partner, cursor)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AckUpdatesResponse {}))
    }
}

fn mapping_to_pb(m: &CodeMapping) -> pb::CodeMapping {
    pb::CodeMapping {
        partner: m.partner.clone(),
        kind: m.kind.code().into(),
        theirs: m.theirs.clone(),
        ours: m.ours.clone(),
    }
}

#[tonic::async_trait]
impl<S: Store> ExchangeAdmin for ExchangeApi<S> {
    async fn set_mapping(
        &self,
        request: Request<pb::CodeMapping>,
    ) -> Result<Response<pb::CodeMapping>, Status> {
        let caller = caller(&request);
        let m = request.into_inner();
        let kind = MapKind::from_code(m.kind.trim())
            .ok_or_else(|| invalid("kind", "category, district or settlement"))?;
        let mapping = CodeMapping {
            partner: m.partner,
            kind,
            theirs: m.theirs,
            ours: m.ours,
        };
        let saved = self
            .hotline
            .set_mapping(mapping, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(mapping_to_pb(&saved)))
    }

    async fn list_mappings(
        &self,
        request: Request<pb::ListMappingsRequest>,
    ) -> Result<Response<pb::ListMappingsResponse>, Status> {
        let partner = request.into_inner().partner;
        let list = self.hotline.mappings(&partner).await.map_err(status)?;
        Ok(Response::new(pb::ListMappingsResponse {
            mappings: list.iter().map(mapping_to_pb).collect(),
        }))
    }

    async fn list_held(
        &self,
        request: Request<pb::ListHeldRequest>,
    ) -> Result<Response<pb::ListHeldResponse>, Status> {
        let partner = request.into_inner().partner;
        let held = self.hotline.held_records(&partner).await.map_err(status)?;
        Ok(Response::new(pb::ListHeldResponse {
            records: held
                .into_iter()
                .map(|(h, r)| pb::HeldRecord {
                    id: h.id,
                    partner: h.partner,
                    external_id: h.external_id,
                    category_code: r.category,
                    district_code: r.district,
                    settlement_code: r.settlement,
                    missing: h.missing,
                    text: r.text,
                    received_at: time(h.received_at),
                })
                .collect(),
        }))
    }

    async fn classify_held(
        &self,
        request: Request<pb::ClassifyHeldRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let view = self
            .hotline
            .classify_held(
                r.id,
                &r.category_code,
                &r.district_code,
                &r.settlement_code,
                &caller,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(appeal_to_pb(&view)))
    }

    async fn forward_to_partner(
        &self,
        request: Request<pb::ForwardToPartnerRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let view = self
            .hotline
            .forward_to_partner(&r.number, &r.partner, &r.reason, &caller, &id)
            .await
            .map_err(status)?;
        Ok(Response::new(appeal_to_pb(&view)))
    }
}
