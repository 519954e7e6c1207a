//! `hotline.v1.AppealRegistry`: decode, call the application service, encode. Nothing else.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{Days, Utc};
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_server::AppealRegistry;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::convert::{self, appeal_to_pb, date, event_to_pb};
use super::error::{invalid, status};
use super::{ApiSettings, caller};
use crate::app::Hotline;
use crate::domain::appeal::{CallbackOutcome, CloseOutcome, Verdict};
use crate::domain::card::CardInput;
use crate::domain::deadline::kyiv_midnight;
use crate::domain::{AppealState, Citizen, DomainError, deadline};
use crate::store::{Cursor, EventFilter, SearchFilter, Store, StoredEvent};

/// Events read from the log per query while catching a watcher up.
const WATCH_BATCH: i64 = 500;

/// The staff registry service.
#[derive(Debug, Clone)]
pub struct AppealsApi<S> {
    /// The application services.
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

    async fn authority_names(&self) -> Result<HashMap<String, String>, Status> {
        let all = self
            .hotline
            .store
            .list_authorities(true)
            .await
            .map_err(status)?;
        Ok(all.into_iter().map(|a| (a.code, a.name)).collect())
    }

    async fn reply(
        &self,
        state: &AppealState,
        with_citizen: bool,
        history: &[StoredEvent],
    ) -> Result<Response<pb::Appeal>, Status> {
        let names = self.authority_names().await?;
        let name_of = |code: &str| names.get(code).cloned().unwrap_or_default();
        let case_ids: Vec<i64> = state.cases.iter().map(|c| c.id).collect();
        let attachments = self
            .hotline
            .store
            .attachments(&case_ids)
            .await
            .map_err(status)?;
        Ok(Response::new(appeal_to_pb(
            state,
            with_citizen,
            history,
            &name_of,
            &attachments,
            Utc::now(),
        )))
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

#[tonic::async_trait]
impl<S: Store> AppealRegistry for AppealsApi<S> {
    async fn register_appeal(
        &self,
        request: Request<pb::RegisterAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let citizen = r.citizen.unwrap_or_default();
        let input = CardInput {
            kind: convert::kind_from_pb(r.kind),
            channel: convert::channel_from_pb(r.channel),
            citizen: Citizen {
                name: citizen.name,
                phone: citizen.phone,
                address: citizen.address,
            },
            anonymous: r.anonymous,
            signatories: r.signatories,
            benefit_holder: r.benefit_holder,
            district_code: r.district_code,
            settlement_code: r.settlement_code,
            category_code: r.category_code,
            text: r.text,
            urgent: r.urgent,
            complained_authority_code: r.complained_authority_code,
            needs_study: r.needs_study,
            requested_deadline: date("requested_deadline", &r.requested_deadline)?,
            repeat_of: r.repeat_of,
            new_circumstances: r.new_circumstances,
            received_at: convert::instant("received_at", &r.received_at)?,
        };
        let state = self
            .hotline
            .register(input, &caller)
            .await
            .map_err(status)?;
        tracing::info!(number = %state.appeal.number, status = %state.appeal.status, "appeal registered");
        self.reply(&state, false, &[]).await
    }

    async fn get_appeal(
        &self,
        request: Request<pb::GetAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let number = request.into_inner().number;
        if number.trim().is_empty() {
            return Err(invalid("number", "required"));
        }
        let (state, history) = self.hotline.get(&number, &caller).await.map_err(status)?;
        self.reply(&state, true, &history).await
    }

    async fn search_appeals(
        &self,
        request: Request<pb::SearchAppealsRequest>,
    ) -> Result<Response<pb::SearchAppealsResponse>, Status> {
        let r = request.into_inner();
        let limit = page_size(r.page_size)?;
        let some = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_string());
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
        let filter = SearchFilter {
            status: convert::status_from_pb(r.status)?,
            authority_code: some(r.authority_code),
            category_code: some(r.category_code),
            district_code: some(r.district_code),
            received_from: from.map(kyiv_midnight),
            received_before: to.map(|d| kyiv_midnight(d + Days::new(1))),
            overdue_on: r.overdue.then(|| deadline::kyiv_date(Utc::now())),
            before_id,
            limit: limit + 1,
        };
        let mut found = self.hotline.search(&filter).await.map_err(status)?;
        let next_page_token = if found.len() as i64 > limit {
            found.truncate(limit as usize);
            found
                .last()
                .map(|s| s.appeal.id.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let names = self.authority_names().await?;
        let name_of = |code: &str| names.get(code).cloned().unwrap_or_default();
        let now = Utc::now();
        Ok(Response::new(pb::SearchAppealsResponse {
            appeals: found
                .iter()
                .map(|s| appeal_to_pb(s, false, &[], &name_of, &[], now))
                .collect(),
            next_page_token,
        }))
    }

    async fn assign_appeal(
        &self,
        request: Request<pb::AssignAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let mut assignments = Vec::with_capacity(r.assignments.len());
        for (i, a) in r.assignments.into_iter().enumerate() {
            let deadline = date(&format!("assignments[{i}].deadline"), &a.deadline)?;
            assignments.push((a.authority_code, deadline));
        }
        let state = self
            .hotline
            .assign(&r.number, &assignments, &caller)
            .await
            .map_err(status)?;
        self.reply(&state, false, &[]).await
    }

    async fn reassign_case(
        &self,
        request: Request<pb::ReassignCaseRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let deadline = date("deadline", &r.deadline)?;
        let state = self
            .hotline
            .reassign(r.case_id, &r.authority_code, &r.reason, deadline, &caller)
            .await
            .map_err(status)?;
        self.reply(&state, false, &[]).await
    }

    async fn extend_deadline(
        &self,
        request: Request<pb::ExtendDeadlineRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let deadline =
            date("deadline", &r.deadline)?.ok_or_else(|| invalid("deadline", "required"))?;
        let state = self
            .hotline
            .extend_deadline(r.case_id, deadline, &r.reason, &caller)
            .await
            .map_err(status)?;
        self.reply(&state, false, &[]).await
    }

    async fn verify_answer(
        &self,
        request: Request<pb::VerifyAnswerRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
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
        let state = self
            .hotline
            .verify(r.case_id, verdict, &r.reason, &caller)
            .await
            .map_err(status)?;
        self.reply(&state, false, &[]).await
    }

    async fn record_callback(
        &self,
        request: Request<pb::RecordCallbackRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let outcome = match pb::CallbackOutcome::try_from(r.outcome) {
            Ok(pb::CallbackOutcome::Confirmed) => CallbackOutcome::Confirmed,
            Ok(pb::CallbackOutcome::NotConfirmed) => CallbackOutcome::NotConfirmed,
            Ok(pb::CallbackOutcome::Unreachable) => CallbackOutcome::Unreachable,
            _ => {
                return Err(invalid(
                    "outcome",
                    "required: confirmed, not confirmed or unreachable",
                ));
            }
        };
        let state = self
            .hotline
            .record_callback(&r.number, outcome, &r.note, &caller)
            .await
            .map_err(status)?;
        self.reply(&state, false, &[]).await
    }

    async fn close_appeal(
        &self,
        request: Request<pb::CloseAppealRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let outcome = match pb::CloseOutcome::try_from(r.outcome) {
            Ok(pb::CloseOutcome::NotConsidered) => CloseOutcome::NotConsidered,
            Ok(pb::CloseOutcome::Unconfirmed) => CloseOutcome::Unconfirmed,
            _ => {
                return Err(invalid(
                    "outcome",
                    "required: not considered or unconfirmed",
                ));
            }
        };
        let state = self
            .hotline
            .close(&r.number, outcome, &r.reason, &caller)
            .await
            .map_err(status)?;
        self.reply(&state, false, &[]).await
    }

    async fn answer_clarification(
        &self,
        request: Request<pb::AnswerClarificationRequest>,
    ) -> Result<Response<pb::Appeal>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let state = self
            .hotline
            .answer_clarification(r.case_id, &r.answer, &caller)
            .await
            .map_err(status)?;
        self.reply(&state, false, &[]).await
    }

    async fn list_declined_cases(
        &self,
        request: Request<pb::ListDeclinedCasesRequest>,
    ) -> Result<Response<pb::ListDeclinedCasesResponse>, Status> {
        let only_late = request.into_inner().only_late;
        let names = self.authority_names().await?;
        let now = Utc::now();
        let today = deadline::kyiv_date(now);
        let cases = self
            .hotline
            .declined_cases()
            .await
            .map_err(status)?
            .into_iter()
            .filter_map(|d| {
                let declined_at = d.case.declined_at.unwrap_or(d.case.updated_at);
                let by = deadline::reroute_by(declined_at);
                let late = today > by;
                (late || !only_late).then(|| pb::DeclinedCase {
                    appeal_number: d.appeal_number,
                    case: Some(convert::case_to_pb(
                        &d.case,
                        names
                            .get(&d.case.authority_code)
                            .map(String::as_str)
                            .unwrap_or_default(),
                        &[],
                        now,
                    )),
                    declined_at: convert::time(declined_at),
                    reroute_by: by.to_string(),
                    late,
                })
            })
            .collect();
        Ok(Response::new(pb::ListDeclinedCasesResponse { cases }))
    }

    type WatchAppealsStream = ReceiverStream<Result<pb::AppealEvent, Status>>;

    async fn watch_appeals(
        &self,
        request: Request<pb::WatchAppealsRequest>,
    ) -> Result<Response<Self::WatchAppealsStream>, Status> {
        let r = request.into_inner();
        let mut cursor: Cursor = r
            .cursor
            .trim()
            .parse()
            .map_err(|e: DomainError| status(e.into()))?;
        let store = self.hotline.store.clone();
        let last = store.last_event_id().await.map_err(status)?;
        if cursor.id > last {
            return Err(invalid(
                "cursor",
                format!(
                    "`{cursor}` is ahead of the event log (last event {last}); was the database replaced?"
                ),
            ));
        }
        let appeal_id = match r.appeal_number.trim() {
            "" => None,
            number => Some(
                store
                    .appeal_status(number)
                    .await
                    .map_err(status)?
                    .ok_or_else(|| {
                        status(DomainError::NotFound(format!("appeal {number}")).into())
                    })?
                    .0,
            ),
        };
        let filter = EventFilter {
            appeal_id,
            authority: None,
        };
        let (tx, rx) = mpsc::channel(self.settings.stream_buffer);
        let mut commits = store.commits();
        let mut shutdown = self.shutdown.clone();
        let poll = self.settings.poll_interval;
        tokio::spawn(async move {
            loop {
                // Mark the commits seen so far before reading, so a commit during the read wakes us.
                commits.borrow_and_update();
                let batch = match store.events_after(cursor, &filter, WATCH_BATCH).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        let _ = tx.send(Err(status(err))).await;
                        return;
                    }
                };
                let full = batch.len() as i64 == WATCH_BATCH;
                for event in &batch {
                    // A failed send means the watcher left.
                    if tx.send(Ok(event_to_pb(event))).await.is_err() {
                        return;
                    }
                    cursor = event.cursor;
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = commits.changed() => {}
                    // Also poll: on PostgreSQL an event may become readable when a transaction of
                    // another process (that sends no notification) ends.
                    _ = tokio::time::sleep(poll) => {}
                    _ = tx.closed() => return,
                    _ = shutdown.wait_for(|down| *down) => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
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
            deadline_monitor: None,
        }
    }
}
