//! The holes found by driving the hub from outside, each closed and proven here on both databases:
//! live connections of revoked, expired or deactivated peers; retries that were not safe; text both
//! databases must refuse alike; errors that echoed whole inputs; cursors and acknowledgements that
//! named positions the log never gave out; size limits that contradicted each other.

use std::time::Duration;

use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use hotline_tests::{TestHub, count_rows, on_both, staff, wait_for, water_complaint};
use prost::Message;
use tonic::Code;

use crate::grpcio::{self, Driver};

const WAIT: Duration = Duration::from_secs(15);

/// A registered appeal assigned to `authority`: (number, case id).
async fn assigned<S: Store>(hub: &TestHub<S>, authority: &str) -> (String, i64) {
    let appeal = hub
        .operator()
        .await
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let appeal = hub
        .analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number,
            assignments: vec![pb::Assignment {
                authority_code: authority.into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (appeal.number, appeal.cases[0].id)
}

async fn gateway<S: Store>(
    hub: &TestHub<S>,
    authority: &str,
) -> AgencyGatewayClient<tonic::transport::Channel> {
    AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: authority.into(),
        })
        .await,
    )
}

async fn events<S: Store>(hub: &TestHub<S>) -> i64 {
    count_rows(hub, "SELECT COUNT(*) FROM events").await
}

/// Items 1–4, 7 and 8 through gRPC's C core: retries, bad text, long inputs, and what an
/// already-open connection may still do once its authority is deactivated or its certificate revoked.
async fn grpcio_sees_the_holes_closed<S: Store>(hub: TestHub<S>) {
    if !grpcio::available() {
        return hub.stop().await;
    }
    let ca = hub.pki.ca.cert_pem().to_string();
    let operator = hub.pki.client(&staff(StaffRole::Operator));
    let mut staff_driver = Driver::start(hub.addr, &ca, &operator);
    const REGISTER: &str = "/hotline.v1.AppealRegistry/RegisterAppeal";

    // A registration retried with its request id registers once and answers with the same appeal.
    let card = pb::RegisterAppealRequest {
        request_id: "op-call-1".into(),
        ..water_complaint()
    };
    let first = pb::Appeal::decode(&*staff_driver.call(REGISTER, &card).await.unwrap()).unwrap();
    let before = events(&hub).await;
    let again = pb::Appeal::decode(&*staff_driver.call(REGISTER, &card).await.unwrap()).unwrap();
    assert_eq!(
        again.number, first.number,
        "the retry names the same appeal"
    );
    assert_eq!(events(&hub).await, before, "the retry changed nothing");
    // The same id for another card is refused, naming the id.
    let other = pb::RegisterAppealRequest {
        text: "Інше звернення".into(),
        ..card.clone()
    };
    let (code, details) = staff_driver.call(REGISTER, &other).await.unwrap_err();
    assert_eq!(code, "ALREADY_EXISTS", "{details}");
    assert!(details.contains("op-call-1"), "{details}");

    // A NUL in text is a bad field on both databases, not an internal error.
    let nul = pb::RegisterAppealRequest {
        text: "вода\u{0}".into(),
        ..water_complaint()
    };
    let (code, details) = staff_driver.call(REGISTER, &nul).await.unwrap_err();
    assert_eq!(
        (code.as_str(), details.starts_with("text:")),
        ("INVALID_ARGUMENT", true),
        "{details}"
    );
    // A 20,000-character number gets its field named in a short message.
    let long = pb::GetAppealRequest {
        number: "9".repeat(20_000),
    };
    let (code, details) = staff_driver
        .call("/hotline.v1.AppealRegistry/GetAppeal", &long)
        .await
        .unwrap_err();
    assert_eq!(code, "INVALID_ARGUMENT", "{details}");
    assert!(
        details.starts_with("number:") && details.len() < 300,
        "{details}"
    );
    assert_eq!(events(&hub).await, before, "bad input changed nothing");

    // An authority's request retried gets the same bytes; its id reused for other content is refused.
    let (_, case_id) = assigned(&hub, "vodokanal").await;
    let vodokanal = hub.pki.client(&Principal::Agency {
        authority: "vodokanal".into(),
    });
    let mut agency = Driver::start(hub.addr, &ca, &vodokanal);
    agency.open_stream(
        "/hotline.v1.AgencyGateway/StreamCases",
        &pb::StreamCasesRequest::default(),
    );
    let delivered = agency.next(WAIT).await.expect("the case is delivered");
    assert!(delivered.starts_with("MSG "), "{delivered}");
    let accept = pb::CaseActionRequest {
        request_id: "acc-1".into(),
        case_id,
        ..Default::default()
    };
    const ACCEPT: &str = "/hotline.v1.AgencyGateway/AcceptCase";
    let one = agency.call(ACCEPT, &accept).await.unwrap();
    let two = agency.call(ACCEPT, &accept).await.unwrap();
    assert_eq!(one, two, "a retry gets the first answer byte for byte");
    let decline = pb::CaseActionRequest {
        request_id: "acc-1".into(),
        case_id,
        text: "not ours".into(),
        ..Default::default()
    };
    let (code, details) = agency
        .call("/hotline.v1.AgencyGateway/DeclineCase", &decline)
        .await
        .unwrap_err();
    assert_eq!(code, "ALREADY_EXISTS", "{details}");
    assert!(details.contains("acc-1"), "{details}");

    // Deactivating an authority ends its open stream at once, with PERMISSION_DENIED.
    let heating = hub.pki.client(&Principal::Agency {
        authority: "heating".into(),
    });
    let mut heating_driver = Driver::start(hub.addr, &ca, &heating);
    heating_driver.open_stream(
        "/hotline.v1.AgencyGateway/StreamCases",
        &pb::StreamCasesRequest::default(),
    );
    // The stream is open once the authority can be told apart from one without a stream: a
    // heartbeat arrives on an idle stream.
    let beat = heating_driver.next(WAIT).await.expect("a heartbeat");
    assert!(beat.starts_with("MSG "), "{beat}");
    hub.directory()
        .await
        .deactivate_authority(pb::DeactivateAuthorityRequest {
            code: "heating".into(),
        })
        .await
        .unwrap();
    let ended = loop {
        let line = heating_driver.next(WAIT).await.expect("the stream ends");
        if !line.starts_with("MSG ") {
            break line;
        }
    };
    assert!(ended.starts_with("ERROR PERMISSION_DENIED"), "{ended}");

    // Revoking a certificate closes the connection that was opened with it: its stream ends and
    // its calls fail, while new cases would otherwise keep arriving with the citizen's contact.
    hub.pki.ca.revoke(&vodokanal.cert_pem).unwrap();
    let ended = loop {
        let line = agency.next(WAIT).await.expect("the stream ends");
        if !line.starts_with("MSG ") {
            break line;
        }
    };
    assert!(ended.starts_with("ERROR"), "{ended}");
    let refused = agency
        .call(
            "/hotline.v1.AgencyGateway/ListCases",
            &pb::ListCasesRequest::default(),
        )
        .await;
    assert!(refused.is_err(), "the revoked connection is not served");
    drop((agency, heating_driver, staff_driver));
    hub.stop().await;
}

/// Item 1, expiry: a connection ends when its certificate does, not at its next handshake.
async fn an_expired_certificate_ends_its_live_connection<S: Store>(hub: TestHub<S>) {
    let now = time::OffsetDateTime::now_utc();
    let brief = hub
        .pki
        .ca
        .issue_client(
            &staff(StaffRole::Supervisor),
            hotline_hub::pki::Validity {
                not_before: now - time::Duration::minutes(1),
                not_after: now + time::Duration::seconds(3),
            },
        )
        .unwrap();
    let channel = hotline_tests::tls_channel(hub.addr, hub.pki.ca.cert_pem(), Some(&brief))
        .await
        .unwrap();
    let mut registry =
        hotline_proto::v1::appeal_registry_client::AppealRegistryClient::new(channel);
    let mut watch = registry
        .watch_appeals(pb::WatchAppealsRequest::default())
        .await
        .expect("a valid certificate is served")
        .into_inner();
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match watch.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends soon after the certificate expires");
    assert!(ended.is_err(), "the connection was closed: {ended:?}");
    hub.stop().await;
}

/// Item 3 and 4 without grpcio: staff writes of every kind take a request id; the directory's
/// writes are safe to retry by their content.
async fn staff_writes_are_safe_to_retry<S: Store>(hub: TestHub<S>) {
    let mut analyst = hub.analyst().await;
    let appeal = hub
        .operator()
        .await
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let assign = pb::AssignAppealRequest {
        number: appeal.number.clone(),
        assignments: vec![pb::Assignment {
            authority_code: "vodokanal".into(),
            deadline: String::new(),
        }],
        request_id: "assign-1".into(),
        ..Default::default()
    };
    let once = analyst
        .assign_appeal(assign.clone())
        .await
        .unwrap()
        .into_inner();
    let twice = analyst
        .assign_appeal(assign.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(once.cases.len(), 1);
    assert_eq!(twice.cases.len(), 1, "the retry did not assign again");
    // Another analyst may use the same id for something else: ids are per caller.
    let err = analyst
        .extend_deadline(pb::ExtendDeadlineRequest {
            case_id: once.cases[0].id,
            deadline: once.cases[0].deadline.clone(),
            reason: "study".into(),
            request_id: "assign-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(err.message().contains("assign-1"), "{}", err.message());
    let err = analyst
        .assign_appeal(pb::AssignAppealRequest {
            request_id: "x".repeat(101),
            ..assign
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("request_id:"),
        "{}",
        err.message()
    );

    let mut directory = hub.directory().await;
    let new = pb::Authority {
        code: "sluzhba-dorig".into(),
        name: "Служба автомобільних доріг".into(),
        kind: "state_service".into(),
        district_code: "dniprovskyi".into(),
        active: true,
    };
    let created = directory
        .create_authority(new.clone())
        .await
        .unwrap()
        .into_inner();
    let retried = directory
        .create_authority(new.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created, retried,
        "adding the same authority again is a retry"
    );
    let err = directory
        .create_authority(pb::Authority {
            name: "Інша служба".into(),
            ..new
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    hub.stop().await;
}

/// Item 7: control characters are refused with the field named, alike on both databases, and
/// change nothing.
async fn control_characters_are_refused_alike<S: Store>(hub: TestHub<S>) {
    let (number, case_id) = assigned(&hub, "vodokanal").await;
    let before = events(&hub).await;
    let mut operator = hub.operator().await;
    let err = operator
        .register_appeal(pb::RegisterAppealRequest {
            citizen: Some(pb::Citizen {
                name: "Ганна\u{0}".into(),
                phone: "0671234567".into(),
                ..Default::default()
            }),
            ..water_complaint()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("citizen.name:"),
        "{}",
        err.message()
    );
    let err = operator
        .search_appeals(pb::SearchAppealsRequest {
            authority_code: "vodo\u{0}".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("authority_code:"),
        "{}",
        err.message()
    );
    let err = operator
        .get_appeal(pb::GetAppealRequest {
            number: format!("{number}\u{0}"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let err = gateway(&hub, "vodokanal")
        .await
        .decline_case(pb::CaseActionRequest {
            request_id: "d-1".into(),
            case_id,
            text: "не наше\u{0}".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("reason:"), "{}", err.message());
    let err = hub
        .directory()
        .await
        .upsert_district(pb::District {
            code: "novyi".into(),
            name: "Новий\u{7}".into(),
            kind: "district".into(),
            parent_code: String::new(),
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("name:"), "{}", err.message());
    // Multi-line text keeps its line breaks.
    operator
        .register_appeal(pb::RegisterAppealRequest {
            text: "Перший рядок\nДругий рядок\tз табуляцією".into(),
            ..water_complaint()
        })
        .await
        .unwrap();
    assert_eq!(
        events(&hub).await,
        before + 1,
        "only the good card changed anything"
    );
    hub.stop().await;
}

/// Item 9: a cursor must be a position this log gave out (both parts), and an acknowledgement may
/// only cover the authority's own events.
async fn cursors_are_positions_of_this_log<S: Store>(hub: TestHub<S>) {
    let (_, vodokanal_case) = assigned(&hub, "vodokanal").await;
    let (_, heating_case) = assigned(&hub, "heating").await;
    let log = hotline_tests::settled_events(&hub, None).await;
    let heating_event = log
        .iter()
        .find(|e| e.case_id == Some(heating_case))
        .unwrap()
        .cursor;
    let last = log.last().unwrap().cursor;
    // Right id, invented transaction id: the cursor of another (restored, replaced) database.
    let foreign = format!("{}.{}", last.txid + 1_000_000, last.id);
    let mut vodokanal = gateway(&hub, "vodokanal").await;
    let err = vodokanal
        .stream_cases(pb::StreamCasesRequest {
            cursor: foreign.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let err = hub
        .registry(StaffRole::Supervisor)
        .await
        .watch_appeals(pb::WatchAppealsRequest {
            cursor: foreign.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    // An acknowledgement with an inflated transaction id, or of another authority's event, marks
    // nothing delivered.
    for cursor in [foreign, heating_event.to_string()] {
        let err = vodokanal
            .ack_events(pb::AckEventsRequest {
                cursor: cursor.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{cursor}: {err:?}");
    }
    let at = &hub;
    let status = |id: i64| {
        let sql = format!("SELECT COUNT(*) FROM cases WHERE id = {id} AND status = 'assigned'");
        async move { count_rows(at, &sql).await }
    };
    assert_eq!(
        status(vodokanal_case).await,
        1,
        "nothing was marked delivered"
    );
    assert_eq!(status(heating_case).await, 1);
    // The authority's own last event is a good acknowledgement; a later one cannot move its
    // recorded cursor back.
    let own = log
        .iter()
        .rev()
        .find(|e| e.case_id == Some(vodokanal_case))
        .unwrap()
        .cursor;
    vodokanal
        .ack_events(pb::AckEventsRequest {
            cursor: own.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(status(vodokanal_case).await, 0, "delivered");
    vodokanal
        .ack_events(pb::AckEventsRequest {
            cursor: String::new(),
        })
        .await
        .unwrap();
    let kept = count_rows(
        &hub,
        &format!(
            "SELECT COUNT(*) FROM agency_cursors WHERE authority_code = 'vodokanal' \
             AND event_id = {}",
            own.id
        ),
    )
    .await;
    assert_eq!(kept, 1, "the recorded cursor never moves back");
    hub.stop().await;
}

/// Items 5, 11 and 15: the largest result the limits allow goes through end to end; documents get
/// safe names and are listed in the answer; one byte more is RESOURCE_EXHAUSTED.
async fn the_largest_allowed_result_goes_through<S: Store>(hub: TestHub<S>) {
    let (number, case_id) = assigned(&hub, "vodokanal").await;
    let limits = hub.hotline.limits().clone();
    let mut gateway = gateway(&hub, "vodokanal").await;
    for (i, step) in ["accept", "report"].iter().enumerate() {
        let request = pb::CaseActionRequest {
            request_id: format!("step-{i}"),
            case_id,
            text: "бригада на місці".into(),
            ..Default::default()
        };
        if *step == "accept" {
            gateway.accept_case(request).await.unwrap();
        } else {
            gateway.report_status(request).await.unwrap();
        }
    }
    let document = |name: &str, size: usize| {
        let content = vec![b'x'; size];
        pb::Attachment {
            name: name.into(),
            content_type: "application/pdf".into(),
            sha256: hotline_proto::receipt::sha256_hex(&content),
            content,
        }
    };
    let result = |attachments: Vec<pb::Attachment>, id: &str| pb::SubmitResultRequest {
        request_id: id.into(),
        case_id,
        answer: "я".repeat(limits.max_text_chars),
        measures: "я".repeat(limits.max_text_chars),
        attachments,
        outcome: pb::Outcome::Resolved as i32,
        outcome_detail: String::new(),
    };
    // One byte over the document limit.
    let mut over: Vec<_> = (0..limits.max_attachments)
        .map(|i| document(&format!("act-{i}.pdf"), limits.max_attachment_bytes))
        .collect();
    over[0] = document("act-0.pdf", limits.max_attachment_bytes + 1);
    let err = gateway
        .submit_result(result(over, "result-over"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    // The largest allowed: every document at its limit, the texts at theirs.
    let mut largest: Vec<_> = (0..limits.max_attachments)
        .map(|i| document(&format!("act-{i}.pdf"), limits.max_attachment_bytes))
        .collect();
    largest[0].name = "../../etc/passwd".into();
    let answer = gateway
        .submit_result(result(largest, "result-largest"))
        .await
        .expect("the largest allowed result is accepted")
        .into_inner();
    let names: Vec<String> = answer
        .case
        .unwrap()
        .attachments
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(
        names.len(),
        limits.max_attachments,
        "the answer lists the documents"
    );
    assert_eq!(
        names[0], "passwd",
        "a hostile name is reduced to a base name"
    );
    let read = hub
        .analyst()
        .await
        .get_appeal(pb::GetAppealRequest { number })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.cases[0].attachments.len(), limits.max_attachments);
    hub.stop().await;
}

/// Item 6: free text read through the watch stream is recorded as a read of the appeal, once per
/// stream.
async fn watching_free_text_is_audited<S: Store>(hub: TestHub<S>) {
    let (number, case_id) = assigned(&hub, "vodokanal").await;
    gateway(&hub, "vodokanal")
        .await
        .decline_case(pb::CaseActionRequest {
            request_id: "dec-1".into(),
            case_id,
            text: "не наша компетенція".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let at = &hub;
    let reads = || {
        let sql = format!(
            "SELECT COUNT(*) FROM audit_log WHERE appeal_number = '{number}' \
             AND action = 'read.personal_data' AND principal = 'staff:supervisor:test-supervisor'"
        );
        async move { count_rows(at, &sql).await }
    };
    assert_eq!(reads().await, 0);
    let mut watch = hub
        .registry(StaffRole::Supervisor)
        .await
        .watch_appeals(pb::WatchAppealsRequest::default())
        .await
        .unwrap()
        .into_inner();
    loop {
        let event = tokio::time::timeout(WAIT, watch.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if event.kind == "case.declined" {
            break;
        }
    }
    wait_for("the read to be audited", WAIT, || async {
        (reads().await == 1).then_some(())
    })
    .await;
    hub.stop().await;
}

/// Item 15: a planned date in the past is refused with the field named.
async fn a_planned_date_in_the_past_is_refused<S: Store>(hub: TestHub<S>) {
    let (_, case_id) = assigned(&hub, "vodokanal").await;
    let mut gateway = gateway(&hub, "vodokanal").await;
    gateway
        .accept_case(pb::CaseActionRequest {
            request_id: "a".into(),
            case_id,
            ..Default::default()
        })
        .await
        .unwrap();
    let err = gateway
        .report_status(pb::CaseActionRequest {
            request_id: "r".into(),
            case_id,
            text: "працюємо".into(),
            planned_date: "2020-01-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("planned_date:"),
        "{}",
        err.message()
    );
    hub.stop().await;
}

on_both!(
    grpcio_sees_the_holes_closed,
    an_expired_certificate_ends_its_live_connection,
    staff_writes_are_safe_to_retry,
    control_characters_are_refused_alike,
    cursors_are_positions_of_this_log,
    watching_free_text_is_audited,
    a_planned_date_in_the_past_is_refused
);

/// Item 11 needs a hub whose limits and message size agree, with documents small enough to keep
/// the test quick: 3 documents of 256 KiB, the message size derived from them.
async fn with_consistent_limits<S: Store>(store: S, db: hotline_tests::TestDb) -> TestHub<S> {
    let limits = hotline_hub::domain::Limits {
        max_attachments: 3,
        max_attachment_bytes: 256 * 1024,
        max_text_chars: 2_000,
        ..Default::default()
    };
    let mut settings = hotline_tests::settings();
    settings.max_message_bytes = limits.largest_request_bytes();
    hotline_tests::hub_with(store, db, |h| h.with_limits(limits), settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_allowed_result_goes_through_sqlite() {
    let (store, db) = hotline_tests::sqlite_store().await;
    the_largest_allowed_result_goes_through(with_consistent_limits(store, db).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_allowed_result_goes_through_postgres() {
    if let Some((store, db)) = hotline_tests::postgres_store().await {
        the_largest_allowed_result_goes_through(with_consistent_limits(store, db).await).await;
    }
}

/// Item 10: on PostgreSQL, a long write transaction in another database of the same server does
/// not hold an authority's stream back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_does_not_wait_for_other_databases() {
    let Some(hub) = hotline_tests::postgres_hub().await else {
        return;
    };
    let other = hotline_tests::TestDb::postgres().await.unwrap();
    let mut elsewhere = <sqlx::PgConnection as sqlx::Connection>::connect(&other.url())
        .await
        .unwrap();
    sqlx::query("CREATE TABLE busy (n INT)")
        .execute(&mut elsewhere)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut elsewhere).await.unwrap();
    sqlx::query("INSERT INTO busy VALUES (1)")
        .execute(&mut elsewhere)
        .await
        .unwrap();
    // The other database's transaction now holds a transaction id and stays open.
    let mut stream = gateway(&hub, "vodokanal")
        .await
        .stream_cases(pb::StreamCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let (_, case_id) = assigned(&hub, "vodokanal").await;
    let started = std::time::Instant::now();
    let delivered = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let d = stream.message().await.unwrap().unwrap();
            if d.case.as_ref().and_then(|c| c.case.as_ref()).map(|c| c.id) == Some(case_id) {
                return d;
            }
        }
    })
    .await
    .expect("the case arrives while another database's transaction is open");
    assert_eq!(delivered.event.unwrap().kind, "case.assigned");
    eprintln!(
        "delivered in {:?} beside an open transaction elsewhere",
        started.elapsed()
    );
    sqlx::query("ROLLBACK")
        .execute(&mut elsewhere)
        .await
        .unwrap();
    drop(elsewhere);
    other.drop_db().await;
    hub.stop().await;
}

/// Item 12: reflection answers in v1 and v1alpha.
#[tokio::test]
async fn reflection_answers_in_both_versions() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let hub = hotline_tests::sqlite_hub().await;
    let mut client =
        ServerReflectionClient::new(hub.channel_as(&staff(StaffRole::Supervisor)).await);
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a service list: {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.iter().any(|n| n == "hotline.v1.AgencyGateway"),
        "{names:?}"
    );
    hub.stop().await;
}
