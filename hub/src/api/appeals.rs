//! `hotline.v1.AppealRegistry`: decode, call one use case, encode. Nothing else.

use chrono::Days;
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_server::AppealRegistry;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::classify;
use super::convert::{self, appeal_state_to_pb, appeal_to_pb, date, event_to_pb, request_id};
use super::error::{domain, invalid, status};
use super::{ApiSettings, EventStream, caller};
use crate::app::Hotline;
use crate::app::feed::FeedItem;
use crate::app::{NoticeFilter, SearchFilter, Store};
use crate::domain::card::CardInput;
use crate::domain::classifier::ProfileInput;
use crate::domain::deadline::{kyiv_date, kyiv_midnight};
use crate::domain::{Citizen, Cursor, Verdict};

/// Events read from the log per query while catching a watcher up.
const WATCH_BATCH: i64 = 500;

/// The staff registry service.
#[derive(Debug, Clone)]
pub struct AppealsApi<S> {
    /// The use cases.
    hotline: Hotline<S>,
    /// Stream settings.
    settings: ApiSettings,
    /// Becomes true when the hub shuts down: open watch streams end.
    shutdown: watch::Receiver<bool>,
}

impl<S: Store> AppealsApi<S> {
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

fn page_size(requested: i32) -> Result<i64, Status> {
    match requested {
        0 => Ok(50),
        1..=500 => Ok(i64::from(requested)),
        n => Err(invalid(
            "page_size",
            format!("{n} is not between 1 and 500"),
        )),
    }
}

fn card_input(r: pb::RegisterAppealRequest) -> Result<CardInput, Status> {
    let citizen = r.citizen.unwrap_or_default();
    Ok(CardInput {
        kind: convert::kind_from_pb(r.kind),
        channel: convert::channel_from_pb(r.channel),
        citizen: Citizen {
            name: citizen.name,
            phone: citizen.phone,
            address: citizen.address,
            email: citizen.email,
        },
        anonymous: r.anonymous,
        signatories: r.signatories,
        benefit_holder: r.benefit_holder,
        district_code: r.district_code,
        settlement_code: r.settlement_code,
        category_code: r.category_code,
        text: r.text,
        profile: ProfileInput {
            sign: classify::sign_from_pb(r.sign)?,
            author_categories: r.author_categories,
            social_status: r.social_status,
            sex: r.sex,
            contact_person: r.contact_person,
            urgency: classify::urgency_from_pb(r.urgency, r.urgent)?,
        },
        complained_authority_code: r.complained_authority_code,
        needs_study: r.needs_study,
        requested_deadline: date("requested_deadline", &r.requested_deadline)?,
        repeat_of: r.repeat_of,
        new_circumstances: r.new_circumstances,
        received_at: convert::instant("received_at", &r.received_at)?,
        backdate_reason: r.backdate_reason,
        consultation: r.consultation,
        publishable: r.publishable,
    })
}

fn search_filter(
    r: &pb::SearchAppealsRequest,
    today: chrono::NaiveDate,
) -> Result<SearchFilter, Status> {
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let before_id = match r.page_token.trim() {
        "" => None,
        token => Some(
            token
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| invalid("page_token", "not a token this hub gave out"))?,
        ),
    };
    let from = date("received_from", &r.received_from)?;
    let to = date("received_to", &r.received_to)?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(invalid(
            "received_to",
            format!("{to} is before received_from {from}"),
        ));
    }
    Ok(SearchFilter {
        status: convert::status_from_pb(r.status)?,
        authority_code: some(&r.authority_code),
        category_code: some(&r.category_code),
        district_code: some(&r.district_code),
        citizen_phone: None,
        received_from: from.map(kyiv_midnight),
        received_before: to.map(|d| kyiv_midnight(d + Days::new(1))),
        overdue_on: r.overdue.then_some(today),
        before_id,
        limit: page_size(r.page_size)?,
    })
}

fn reply(view: &crate::app::appeals::AppealView) -> Result<Response<pb::Appeal>, Status> {
    Ok(Response::new(appeal_to_pb(view)))
}

#[tonic::async_trait]
impl<S: Store> AppealRegistry for AppealsApi<S> {
    async fn register_appeal(
        &self,
        request: Request<pb::RegisterAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let input = card_input(r)?;
        let view = self
            .hotline
            .register(input, &caller, &id)
            .await
            .map_err(status)?;
        let a = &view.state.appeal;
        tracing::info!(number = %a.number, status = %a.status, "appeal registered");
        reply(&view)
    }

    async fn get_appeal(
        &self,
        request: Request<pb::GetAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let number = request.into_inner().number;
        let view = self.hotline.get(&number, &caller).await.map_err(status)?;
        reply(&view)
    }

    async fn list_queue(
        &self,
        request: Request<pb::ListQueueRequest>,
    ) -> Result<Response<pb::SearchAppealsResponse>, Status> {
        let r = request.into_inner();
        let queue = classify::queue_from_pb(r.queue)?;
        let limit = match r.limit {
            0 => 100,
            n @ 1..=1000 => i64::from(n),
            n => return Err(invalid("limit", format!("{n} is not between 1 and 1000"))),
        };
        let page = self.hotline.queue(queue, limit).await.map_err(status)?;
        Ok(Response::new(pb::SearchAppealsResponse {
            appeals: page
                .appeals
                .iter()
                .map(|s| appeal_state_to_pb(s, false, &[], &page.names, &[], page.now))
                .collect(),
            next_page_token: String::new(),
        }))
    }

    async fn search_appeals(
        &self,
        request: Request<pb::SearchAppealsRequest>,
    ) -> Result<Response<pb::SearchAppealsResponse>, Status> {
        let today = kyiv_date(self.hotline.now());
        let filter = search_filter(request.get_ref(), today)?;
        let page = self.hotline.search(filter).await.map_err(status)?;
        Ok(Response::new(pb::SearchAppealsResponse {
            appeals: page
                .appeals
                .iter()
                .map(|s| appeal_state_to_pb(s, false, &[], &page.names, &[], page.now))
                .collect(),
            next_page_token: page.next_page.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn assign_appeal(
        &self,
        request: Request<pb::AssignAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let mut assignments = Vec::with_capacity(r.assignments.len());
        for (i, a) in r.assignments.into_iter().enumerate() {
            let deadline = date(&format!("assignments[{i}].deadline"), &a.deadline)?;
            assignments.push((a.authority_code, deadline));
        }
        let view = self
            .hotline
            .assign(
                &r.number,
                &assignments,
                &r.lead_authority_code,
                &caller,
                &id,
            )
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn reassign_case(
        &self,
        request: Request<pb::ReassignCaseRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let deadline = date("deadline", &r.deadline)?;
        let view = self
            .hotline
            .reassign(
                r.case_id,
                &r.authority_code,
                &r.reason,
                deadline,
                &caller,
                &id,
            )
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn extend_deadline(
        &self,
        request: Request<pb::ExtendDeadlineRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let deadline =
            date("deadline", &r.deadline)?.ok_or_else(|| invalid("deadline", "required"))?;
        let view = self
            .hotline
            .extend_deadline(r.case_id, deadline, &r.reason, &caller, &id)
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn verify_answer(
        &self,
        request: Request<pb::VerifyAnswerRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let verdict = match pb::Verdict::try_from(r.verdict) {
            Ok(pb::Verdict::Accept) => Verdict::Accept,
            Ok(pb::Verdict::Return) => Verdict::Return,
            _ => {
                return Err(invalid(
                    "verdict",
                    "required: VERDICT_ACCEPT or VERDICT_RETURN",
                ));
            }
        };
        let view = self
            .hotline
            .verify(r.case_id, verdict, &r.reason, &caller, &id)
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn record_callback(
        &self,
        request: Request<pb::RecordCallbackRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let outcome = convert::callback_from_pb(r.outcome).ok_or_else(|| {
            invalid(
                "outcome",
                "required: confirmed, not confirmed or unreachable",
            )
        })?;
        let view = self
            .hotline
            .record_callback(
                &r.number,
                outcome,
                &r.note,
                (r.satisfaction != 0).then_some(r.satisfaction),
                &caller,
                &id,
            )
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn close_appeal(
        &self,
        request: Request<pb::CloseAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let outcome = convert::close_from_pb(r.outcome)
            .ok_or_else(|| invalid("outcome", "required: not considered or unconfirmed"))?;
        let view = self
            .hotline
            .close(&r.number, outcome, &r.reason, &caller, &id)
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn answer_clarification(
        &self,
        request: Request<pb::AnswerClarificationRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let view = self
            .hotline
            .answer_clarification(r.case_id, &r.answer, &caller, &id)
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn rework_cases(
        &self,
        request: Request<pb::ReworkCasesRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let view = self
            .hotline
            .rework(&r.number, &r.case_ids, &r.reason, &caller, &id)
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn refuse_extension(
        &self,
        request: Request<pb::RefuseExtensionRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let id = request_id(&r.request_id, &r);
        let view = self
            .hotline
            .refuse_extension(r.case_id, &r.reason, &caller, &id)
            .await
            .map_err(status)?;
        reply(&view)
    }

    async fn list_notices(
        &self,
        request: Request<pb::ListNoticesRequest>,
    ) -> Result<Response<pb::ListNoticesResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let limit = match r.limit {
            0 => 100,
            n @ 1..=500 => i64::from(n),
            n => return Err(invalid("limit", format!("{n} is not between 1 and 500"))),
        };
        let status_filter = convert::notice_status_from_pb(r.status);
        let channel = convert::notice_channel_from_pb(r.channel);
        let number = r.appeal_number.trim();
        let notices = if status_filter.is_none() && channel.is_none() && number.is_empty() {
            self.hotline.notice_queue(limit, &caller).await
        } else {
            let filter = NoticeFilter {
                status: status_filter,
                channel,
                appeal_number: (!number.is_empty()).then(|| number.to_string()),
                limit,
            };
            self.hotline.notices(filter, &caller).await
        }
        .map_err(status)?;
        Ok(Response::new(pb::ListNoticesResponse {
            notices: notices.iter().map(convert::notice_to_pb).collect(),
        }))
    }

    async fn mark_notice_done(
        &self,
        request: Request<pb::MarkNoticeDoneRequest>,
    ) -> Result<Response<pb::Notice>, Status> {
        let caller = caller(&request);
        let id = request.into_inner().id;
        let notice = self
            .hotline
            .mark_notice_done(id, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::notice_to_pb(&notice)))
    }

    async fn list_declined_cases(
        &self,
        request: Request<pb::ListDeclinedCasesRequest>,
    ) -> Result<Response<pb::ListDeclinedCasesResponse>, Status> {
        let only_late = request.into_inner().only_late;
        let now = self.hotline.now();
        let (cases, names) = self
            .hotline
            .declined_cases(only_late)
            .await
            .map_err(status)?;
        let cases = cases
            .into_iter()
            .map(|d| pb::DeclinedCase {
                case: Some(convert::case_to_pb(
                    &d.case,
                    names
                        .get(&d.case.authority_code)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    &[],
                    now,
                )),
                appeal_number: d.appeal_number,
                declined_at: convert::time(d.declined_at),
                reroute_by: d.reroute_by.to_string(),
                late: d.late,
            })
            .collect();
        Ok(Response::new(pb::ListDeclinedCasesResponse { cases }))
    }

    type WatchAppealsStream = EventStream<pb::AppealEvent>;

    async fn watch_appeals(
        &self,
        request: Request<pb::WatchAppealsRequest>,
    ) -> Result<Response<Self::WatchAppealsStream>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let cursor: Cursor = r.cursor.trim().parse().map_err(domain)?;
        let events = self
            .hotline
            .watch(
                cursor,
                &r.appeal_number,
                &caller,
                &self.settings.feed(WATCH_BATCH, false),
                self.shutdown.clone(),
            )
            .await
            .map_err(status)?;
        // Dropping the stream (the client left) drops the feed's receiver, which ends the feed.
        let stream = ReceiverStream::new(events).filter_map(|item| match item {
            Ok(FeedItem::Event(event)) => Some(Ok(event_to_pb(&event))),
            Ok(FeedItem::Heartbeat) => None,
            Err(err) => Some(Err(status(*err))),
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
