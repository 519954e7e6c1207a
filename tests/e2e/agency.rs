//! The agency path end to end: real agency clients (their daemons, local stores and outboxes) over
//! mutual TLS to a real hub, on SQLite and PostgreSQL; faults (hub restart mid-stream, a client that
//! stopped between storing and acknowledging, reports written while the hub is down, duplicate
//! deliveries and reports); and one authority never seeing or touching another's case.

use std::collections::BTreeSet;
use std::time::Duration;

use hotline_agency_client::{Action, Agency, Sent};
use hotline_hub::domain::Caller;
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::starter::{self, DirectoryFile};
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use hotline_tests::agency::{case_status, start_agency};
use hotline_tests::{TestHub, on_both, wait_for, water_complaint};
use tokio::sync::watch;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(60);

async fn assign<S: Store>(hub: &TestHub<S>, authorities: &[&str]) -> pb::Appeal {
    let appeal = hub
        .operator()
        .await
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    hub.analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number,
            assignments: authorities
                .iter()
                .map(|a| pb::Assignment {
                    authority_code: a.to_string(),
                    deadline: String::new(),
                })
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn count_events<S: Store>(hub: &TestHub<S>, case_id: i64, kind: &str) -> usize {
    hotline_tests::settled_events(hub, None)
        .await
        .iter()
        .filter(|e| e.case_id == Some(case_id) && e.kind == kind)
        .count()
}

/// 120 authorities, each with its own agency client daemon: every case reaches exactly its own
/// authority, is accepted, reported, resolved through the outbox, verified, confirmed and closed.
async fn one_hundred_and_twenty_agency_clients<S: Store>(hub: TestHub<S>) {
    let directory = DirectoryFile::starter();
    starter::load(&hub.hotline, &directory, &Caller::system("test set-up"))
        .await
        .unwrap();
    let codes: Vec<String> = directory
        .authorities
        .iter()
        .map(|a| a.code.clone())
        .collect();
    assert_eq!(codes.len(), 120);

    let mut clients = Vec::new();
    for code in &codes {
        clients.push(start_agency(&hub, code).await);
    }
    // 60 appeals, each assigned to two authorities: 120 cases, one per authority.
    let mut appeals = Vec::new();
    for pair in codes.chunks(2) {
        appeals.push(assign(&hub, &[pair[0].as_str(), pair[1].as_str()]).await);
    }
    let case_of: std::collections::HashMap<String, i64> = appeals
        .iter()
        .flat_map(|a| a.cases.iter().map(|c| (c.authority_code.clone(), c.id)))
        .collect();

    // Every client receives exactly its own case, then accepts, reports and resolves it: the
    // co-executors (second of each pair) first, the leads once their co-executor's part is in.
    let order: Vec<usize> = (0..codes.len())
        .filter(|i| i % 2 == 1)
        .chain((0..codes.len()).filter(|i| i % 2 == 0))
        .collect();
    for i in order {
        let (code, client) = (&codes[i], &clients[i]);
        if i % 2 == 0 {
            let part = case_of[&codes[i + 1]];
            wait_for("the co-executor's part to reach the hub", WAIT, || async {
                (case_status(&hub, part).await == hotline_hub::domain::CaseStatus::Resolved)
                    .then_some(())
            })
            .await;
        }
        let cases = wait_for(&format!("{code} to receive its case"), WAIT, || async {
            let cases = client.agency.local.cases(None).await.unwrap();
            (!cases.is_empty()).then_some(cases)
        })
        .await;
        let ids: Vec<i64> = cases.iter().map(|c| c.case.as_ref().unwrap().id).collect();
        assert_eq!(ids, [case_of[code]], "{code} sees exactly its own case");
        assert!(
            cases[0].citizen.is_some(),
            "the assignment carries the citizen's contact"
        );
        let id = ids[0];
        client.agency.act(id, Action::Accept).await.unwrap();
        client
            .agency
            .act(
                id,
                Action::Report {
                    comment: "бригаду направлено".into(),
                    planned: None,
                },
            )
            .await
            .unwrap();
        client
            .agency
            .act(
                id,
                Action::Resolve {
                    answer: "Усунуто".into(),
                    measures: "замінено трубу".into(),
                    attachments: vec![],
                    outcome: pb::Outcome::Resolved,
                    outcome_detail: String::new(),
                },
            )
            .await
            .unwrap();
    }

    let mut analyst = hub.analyst().await;
    for appeal in &appeals {
        for case in &appeal.cases {
            wait_for("the result to reach the hub", WAIT, || async {
                (case_status(&hub, case.id).await == hotline_hub::domain::CaseStatus::Resolved)
                    .then_some(())
            })
            .await;
            analyst
                .verify_answer(pb::VerifyAnswerRequest {
                    case_id: case.id,
                    verdict: pb::Verdict::Accept as i32,
                    reason: String::new(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
    }
    let mut operator = hub.operator().await;
    for appeal in &appeals {
        let closed = operator
            .record_callback(pb::RecordCallbackRequest {
                number: appeal.number.clone(),
                outcome: pb::CallbackOutcome::Confirmed as i32,
                note: String::new(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(closed.status, pb::AppealStatus::Closed as i32);
    }

    // Each report was applied exactly once, and every client learns that its case closed.
    let log = hotline_tests::settled_events(&hub, None).await;
    for (code, client) in codes.iter().zip(&clients) {
        let id = case_of[code];
        for kind in ["case.accepted", "case.progress_reported", "case.resolved"] {
            let applied = log
                .iter()
                .filter(|e| e.case_id == Some(id) && e.kind == kind)
                .count();
            assert_eq!(applied, 1, "{code}: {kind}");
        }
        // Delivery is recorded by the acknowledgement, at most once; an acceptance that reaches the
        // hub before the acknowledgement makes it moot (the case is past `assigned`).
        let delivered = log
            .iter()
            .filter(|e| e.case_id == Some(id) && e.kind == "case.delivered")
            .count();
        assert!(delivered <= 1, "{code}: delivered {delivered} times");
        wait_for(
            &format!("{code} to learn the case closed"),
            WAIT,
            || async {
                let case = client.agency.local.case(id).await.unwrap().unwrap();
                (case.case.unwrap().status == pb::CaseStatus::Closed as i32).then_some(())
            },
        )
        .await;
        let summary = client.agency.local.summary().await.unwrap();
        assert_eq!(
            (summary.outbox_pending, summary.outbox_failed),
            (0, 0),
            "{code}"
        );
        // Receipts: delivery events and the three reports, all signed by the hub.
        let receipts = client.agency.local.receipts().await.unwrap();
        let key = hub.hotline.receipts().public_key().to_vec();
        assert!(receipts.len() >= 4, "{code}: {} receipts", receipts.len());
        assert!(
            receipts
                .iter()
                .all(|r| hotline_proto::receipt::verify(r, &key).is_ok())
        );
    }
    for client in clients {
        client.stop().await;
    }
    hub.stop().await;
}

/// The hub stops mid-stream and comes back; a report made while it was down is queued in the
/// outbox and applied once after; new cases reach the client on the resumed stream.
async fn the_hub_restarts_mid_stream<S: Store>(mut hub: TestHub<S>) {
    let client = start_agency(&hub, "vodokanal").await;
    let first = assign(&hub, &["vodokanal"]).await;
    let first_case = first.cases[0].id;
    wait_for("the first case", WAIT, || async {
        client.agency.local.case(first_case).await.unwrap()
    })
    .await;

    hub.shutdown().await;
    // The clerk accepts while the hub is down: it waits in the outbox.
    let request_id = client.agency.act(first_case, Action::Accept).await.unwrap();
    let sent = client.agency.send_pending().await.unwrap();
    assert!(
        matches!(sent.as_slice(), [(id, Sent::Queued(_))] if *id == request_id),
        "{sent:?}"
    );
    assert_eq!(
        client.agency.local.summary().await.unwrap().outbox_pending,
        1
    );

    hub.restart().await;
    wait_for("the queued accept to be applied", WAIT, || async {
        (case_status(&hub, first_case).await == hotline_hub::domain::CaseStatus::Accepted)
            .then_some(())
    })
    .await;
    let second = assign(&hub, &["vodokanal"]).await;
    let second_case = second.cases[0].id;
    wait_for("a case assigned after the restart", WAIT, || async {
        client.agency.local.case(second_case).await.unwrap()
    })
    .await;
    assert_eq!(count_events(&hub, first_case, "case.accepted").await, 1);
    assert_eq!(count_events(&hub, first_case, "case.delivered").await, 1);
    wait_for("the second case marked delivered", WAIT, || async {
        (case_status(&hub, second_case).await == hotline_hub::domain::CaseStatus::Delivered)
            .then_some(())
    })
    .await;
    assert_eq!(
        client.agency.local.summary().await.unwrap().outbox_pending,
        0
    );

    // A retry after another hub restart still gets the first answer: it is kept in the database.
    let request = pb::CaseActionRequest {
        request_id: "r-across-restart".into(),
        case_id: second_case,
        ..Default::default()
    };
    let mut gateway = AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await,
    );
    let before = gateway
        .accept_case(request.clone())
        .await
        .unwrap()
        .into_inner();
    hub.restart().await;
    let mut gateway = AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await,
    );
    let after = gateway.accept_case(request).await.unwrap().into_inner();
    assert_eq!(before, after);
    assert_eq!(count_events(&hub, second_case, "case.accepted").await, 1);
    client.stop().await;
    hub.stop().await;
}

/// A client that stored a case and stopped before acknowledging it: on restart it resumes after the
/// stored event (no duplicate) and acknowledges, so the case is delivered exactly once. Duplicate
/// deliveries and duplicate reports change nothing.
async fn stored_but_not_acknowledged_and_duplicates<S: Store>(hub: TestHub<S>) {
    let appeal = assign(&hub, &["vodokanal"]).await;
    let case_id = appeal.cases[0].id;
    let config = hub.agency_config("vodokanal");
    let agency = Agency::open(config.clone()).await.unwrap();

    // A raw stream stands in for a client that dies after its local commit.
    let channel = hub
        .channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await;
    let mut gateway = AgencyGatewayClient::new(channel);
    let mut stream = gateway
        .stream_cases(pb::StreamCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let delivery = stream.message().await.unwrap().unwrap();
    assert!(
        agency.local.store_delivery(&delivery).await.unwrap(),
        "first delivery is new"
    );
    drop(stream);
    assert_eq!(
        case_status(&hub, case_id).await,
        hotline_hub::domain::CaseStatus::Assigned,
        "not acknowledged yet"
    );

    // The same event delivered again (from an older cursor) is stored once.
    let mut again = gateway
        .stream_cases(pb::StreamCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let duplicate = again.message().await.unwrap().unwrap();
    assert_eq!(duplicate.event, delivery.event);
    assert!(
        !agency.local.store_delivery(&duplicate).await.unwrap(),
        "a duplicate delivery is ignored"
    );
    drop(again);

    // The daemon starts: resumes after its cursor, acknowledges what it has stored.
    let (stop, mut stopped) = watch::channel(false);
    let daemon = agency.clone();
    let task = tokio::spawn(async move {
        daemon
            .run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .unwrap();
    });
    wait_for("the stored case to be acknowledged", WAIT, || async {
        (case_status(&hub, case_id).await == hotline_hub::domain::CaseStatus::Delivered)
            .then_some(())
    })
    .await;
    assert_eq!(count_events(&hub, case_id, "case.delivered").await, 1);
    // The client stores every event of its feed exactly once (the assignment twice delivered, and
    // the `case.delivered` its own acknowledgement caused).
    let feed = hotline_tests::settled_events(&hub, Some("vodokanal"))
        .await
        .len() as i64;
    assert_eq!(feed, 2);
    wait_for("the client to store its whole feed", WAIT, || async {
        (agency.local.event_count().await.unwrap() == feed).then_some(())
    })
    .await;

    // A duplicate report: same request id twice gives the same answer and one event.
    let request = pb::CaseActionRequest {
        request_id: "r-accept-1".into(),
        case_id,
        text: String::new(),
        planned_date: String::new(),
    };
    let one = gateway
        .accept_case(request.clone())
        .await
        .unwrap()
        .into_inner();
    let two = gateway
        .accept_case(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one, two, "a retry gets the first answer, receipt included");
    assert_eq!(count_events(&hub, case_id, "case.accepted").await, 1);
    let receipt = one.receipt.unwrap();
    assert_eq!(
        (
            receipt.kind.as_str(),
            receipt.case_id,
            receipt.request_id.as_str()
        ),
        ("accept", case_id, "r-accept-1")
    );
    hotline_proto::receipt::verify(&receipt, hub.hotline.receipts().public_key()).unwrap();
    let err = gateway
        .report_status(pb::CaseActionRequest {
            request_id: "r-accept-1".into(),
            case_id,
            text: "x".into(),
            planned_date: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::AlreadyExists,
        "a request id names one request: {err:?}"
    );

    // Illegal moves change nothing.
    let err = gateway
        .accept_case(pb::CaseActionRequest {
            request_id: "r-accept-2".into(),
            case_id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("accepted"), "{}", err.message());
    let err = gateway
        .submit_result(pb::SubmitResultRequest {
            request_id: "r-result-bad".into(),
            case_id,
            answer: "done".into(),
            attachments: vec![pb::Attachment {
                name: "act.pdf".into(),
                content_type: "application/pdf".into(),
                content: b"%PDF".to_vec(),
                sha256: "00".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("attachments[0].sha256"),
        "{}",
        err.message()
    );
    let big = vec![0u8; 3 * 1024 * 1024];
    let err = gateway
        .submit_result(pb::SubmitResultRequest {
            request_id: "r-result-big".into(),
            case_id,
            answer: "done".into(),
            attachments: vec![pb::Attachment {
                name: "scan.tif".into(),
                content_type: "image/tiff".into(),
                sha256: hotline_proto::receipt::sha256_hex(&big),
                content: big,
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(count_events(&hub, case_id, "case.resolved").await, 0);

    // A good result with a document: stored with its hash, visible to staff.
    let pdf = b"%PDF-1.4 act of repair".to_vec();
    gateway
        .submit_result(pb::SubmitResultRequest {
            request_id: "r-result-1".into(),
            case_id,
            answer: "Трубу замінено".into(),
            measures: "аварійні роботи".into(),
            outcome: pb::Outcome::Resolved as i32,
            outcome_detail: String::new(),
            attachments: vec![pb::Attachment {
                name: "act.pdf".into(),
                content_type: "application/pdf".into(),
                sha256: hotline_proto::receipt::sha256_hex(&pdf),
                content: pdf.clone(),
            }],
        })
        .await
        .unwrap();
    let staff_view = hub
        .registry(StaffRole::Supervisor)
        .await
        .get_appeal(pb::GetAppealRequest {
            number: appeal.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let case = &staff_view.cases[0];
    assert_eq!(
        (case.answer.as_str(), case.measures.as_str()),
        ("Трубу замінено", "аварійні роботи")
    );
    assert_eq!(case.attachments.len(), 1);
    assert_eq!(
        case.attachments[0].sha256,
        hotline_proto::receipt::sha256_hex(&pdf)
    );

    let _ = stop.send(true);
    task.await.unwrap();
    hub.stop().await;
}

/// One authority can never see or touch another's case, through any RPC.
async fn authorities_see_only_their_own_cases<S: Store>(hub: TestHub<S>) {
    let theirs = assign(&hub, &["city-council"]).await;
    let their_case = theirs.cases[0].id;
    let ours = assign(&hub, &["vodokanal"]).await;
    let our_case = ours.cases[0].id;
    let mut gateway = AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await,
    );

    let missing = 999_999;
    for case_id in [their_case, missing] {
        let err = gateway
            .get_case(pb::GetCaseRequest { case_id })
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.message().to_string()),
            (Code::NotFound, format!("case {case_id} not found"))
        );
        for rpc in ["accept", "decline", "report", "ask"] {
            let request = pb::CaseActionRequest {
                request_id: format!("{rpc}-{case_id}"),
                case_id,
                text: "x".into(),
                planned_date: String::new(),
            };
            let err = match rpc {
                "accept" => gateway.accept_case(request).await,
                "decline" => gateway.decline_case(request).await,
                "report" => gateway.report_status(request).await,
                _ => gateway.request_clarification(request).await,
            }
            .unwrap_err();
            assert_eq!(
                (err.code(), err.message().to_string()),
                (Code::NotFound, format!("case {case_id} not found")),
                "{rpc}"
            );
        }
        let err = gateway
            .submit_result(pb::SubmitResultRequest {
                request_id: format!("result-{case_id}"),
                case_id,
                answer: "x".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    assert_eq!(
        case_status(&hub, their_case).await,
        hotline_hub::domain::CaseStatus::Assigned,
        "untouched"
    );

    // Bad input to the other RPCs is named and changes nothing.
    let err = gateway
        .ack_events(pb::AckEventsRequest {
            cursor: "0.999999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("cursor:"), "{}", err.message());
    let err = gateway
        .list_cases(pb::ListCasesRequest { status: 99 })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("status:"), "{}", err.message());
    let err = gateway
        .report_status(pb::CaseActionRequest {
            request_id: "bad-date".into(),
            case_id: our_case,
            text: "x".into(),
            planned_date: "soon".into(),
        })
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("planned_date:"),
        "{}",
        err.message()
    );
    let err = gateway
        .accept_case(pb::CaseActionRequest {
            request_id: " ".into(),
            case_id: our_case,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("request_id:"),
        "{}",
        err.message()
    );
    assert_eq!(
        case_status(&hub, our_case).await,
        hotline_hub::domain::CaseStatus::Assigned
    );

    let listed = gateway
        .list_cases(pb::ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: BTreeSet<i64> = listed
        .cases
        .iter()
        .map(|c| c.case.as_ref().unwrap().id)
        .collect();
    assert_eq!(ids, BTreeSet::from([our_case]));
    let own = gateway
        .get_case(pb::GetCaseRequest { case_id: our_case })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.appeal_number, ours.number);

    let mut stream = gateway
        .stream_cases(pb::StreamCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.event.unwrap().case_id, our_case);
    // Nothing of city-council's follows: the next item is a heartbeat.
    let next = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(next.heartbeat, "{next:?}");
    hub.stop().await;
}

on_both!(
    one_hundred_and_twenty_agency_clients,
    the_hub_restarts_mid_stream,
    stored_but_not_acknowledged_and_duplicates,
    authorities_see_only_their_own_cases,
);

/// An authority asks, the contact centre answers, work resumes; both reach the authority's stream.
async fn clarification_round_trip<S: Store>(hub: TestHub<S>) {
    let appeal = assign(&hub, &["vodokanal"]).await;
    let case_id = appeal.cases[0].id;
    let mut gateway = AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await,
    );
    let mut analyst = hub.analyst().await;
    let err = analyst
        .answer_clarification(pb::AnswerClarificationRequest {
            case_id,
            answer: "entrance 2".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "nothing was asked yet"
    );
    gateway
        .accept_case(pb::CaseActionRequest {
            request_id: "q-accept".into(),
            case_id,
            ..Default::default()
        })
        .await
        .unwrap();
    let asked = gateway
        .request_clarification(pb::CaseActionRequest {
            request_id: "q-ask".into(),
            case_id,
            text: "which entrance?".into(),
            planned_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        asked.case.unwrap().status,
        pb::CaseStatus::ClarificationRequested as i32
    );
    let err = analyst
        .answer_clarification(pb::AnswerClarificationRequest {
            case_id,
            answer: " ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("answer:"), "{}", err.message());
    let answered = analyst
        .answer_clarification(pb::AnswerClarificationRequest {
            case_id,
            answer: "entrance 2".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answered.cases[0].status, pb::CaseStatus::InProgress as i32);

    let mut stream = gateway
        .stream_cases(pb::StreamCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut kinds = Vec::new();
    while kinds.len() < 4 {
        let delivery = stream.message().await.unwrap().unwrap();
        if let Some(event) = delivery.event {
            kinds.push(event.kind);
        }
    }
    assert_eq!(
        kinds,
        [
            "case.assigned",
            "case.accepted",
            "case.clarification_requested",
            "case.clarification_answered"
        ]
    );
    hub.stop().await;
}

on_both!(clarification_round_trip);
