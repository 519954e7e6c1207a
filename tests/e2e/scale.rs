//! Limits and several hubs: a client over its rate or an authority over its streams gets
//! `RESOURCE_EXHAUSTED` and the others are untouched; two hubs share one PostgreSQL database and
//! an authority on one receives at once what staff on the other assign (LISTEN/NOTIFY, not a
//! polling interval).

use std::time::{Duration, Instant};

use hotline_hub::api::limits::Limits;
use hotline_hub::app::Hotline;
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::store::{PgStore, Store};
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use hotline_proto::v1::directory_client::DirectoryClient;
use hotline_tests::agency::start_agency;
use hotline_tests::{TestDb, TestHub, wait_for, water_complaint};
use tonic::Code;

/// A hub whose clients may make 5 requests per second and hold one case stream each.
async fn tight<S: Store>(store: S, db: TestDb) -> TestHub<S> {
    let ops = hotline_hub::api::Ops {
        limits: Limits {
            per_second: 5.0,
            burst: 5.0,
            streams_per_authority: 1,
            ..Limits::default()
        },
        ..hotline_tests::hub::test_ops()
    };
    hotline_tests::hub_with_ops(store, db, ops).await
}

async fn limits_answer_resource_exhausted<S: Store>(hub: TestHub<S>) {
    // A client over its rate is refused with the limit named; another client is not affected.
    let mut operator = DirectoryClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Operator))
            .await,
    );
    let list = || pb::ListCategoriesRequest {};
    let mut refused = None;
    for _ in 0..6 {
        if let Err(status) = operator.list_categories(list()).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("the sixth call in a row is over the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("5 requests per second"),
        "{}",
        refused.message()
    );
    let mut analyst = DirectoryClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Analyst))
            .await,
    );
    analyst
        .list_categories(list())
        .await
        .expect("another client goes on");
    // The bucket refills: the operator may call again.
    wait_for(
        "the operator's bucket to refill",
        Duration::from_secs(5),
        || {
            let mut operator = operator.clone();
            async move { operator.list_categories(list()).await.ok() }
        },
    )
    .await;

    // One case stream per authority here: a second is refused until the first ends.
    let channel = hub
        .channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await;
    let first = AgencyGatewayClient::new(channel.clone())
        .stream_cases(pb::StreamCasesRequest::default())
        .await
        .unwrap();
    let second = AgencyGatewayClient::new(channel.clone())
        .stream_cases(pb::StreamCasesRequest::default())
        .await;
    let err = match second {
        Ok(response) => response
            .into_inner()
            .message()
            .await
            .expect_err("the second stream is refused"),
        Err(err) => err,
    };
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("case streams"), "{}", err.message());
    drop(first);
    wait_for(
        "the first stream to be gone",
        Duration::from_secs(10),
        || {
            let channel = channel.clone();
            async move {
                let mut stream = AgencyGatewayClient::new(channel)
                    .stream_cases(pb::StreamCasesRequest::default())
                    .await
                    .ok()?
                    .into_inner();
                // Opened: the first message (or a heartbeat) arrives, not a refusal.
                tokio::time::timeout(Duration::from_secs(2), stream.message())
                    .await
                    .ok()?
                    .ok()
                    .map(|_| ())
            }
        },
    )
    .await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_resource_exhausted_sqlite() {
    let (store, db) = hotline_tests::sqlite_store().await;
    limits_answer_resource_exhausted(tight(store, db).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_resource_exhausted_postgres() {
    if let Some((store, db)) = hotline_tests::postgres_store().await {
        limits_answer_resource_exhausted(tight(store, db).await).await;
    }
}

/// A client that stops reading its case stream cannot grow the hub's memory: the feed takes an
/// event from the log only when the stream has room (a bounded buffer, then HTTP/2 flow control
/// holds the rest at the client). Every delivery of a new case is audited when the feed takes it,
/// so the audit trail counts what the hub has taken; it stays far below what was assigned until
/// the client reads again, and then everything arrives.
async fn a_stalled_reader_holds_a_bounded_backlog<S: Store>(hub: TestHub<S>) {
    const APPEALS: usize = 300;
    let channel = hub
        .channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await;
    let mut stalled = AgencyGatewayClient::new(channel)
        .stream_cases(pb::StreamCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    // ~17 KB a delivery: 300 of them are 5 MB the hub would hold if nothing pushed back.
    let text = "Третій день немає холодної води в будинку, тиск у мережі відсутній. ".repeat(140);
    let (mut operator, mut analyst) = (hub.operator().await, hub.analyst().await);
    for n in 0..APPEALS {
        let mut card = water_complaint();
        card.text = text.clone();
        card.citizen.as_mut().unwrap().phone = format!("+38067{:07}", 1_000_000 + n);
        let number = operator
            .register_appeal(card)
            .await
            .unwrap()
            .into_inner()
            .number;
        analyst
            .assign_appeal(pb::AssignAppealRequest {
                number,
                assignments: vec![pb::Assignment {
                    authority_code: "vodokanal".into(),
                    deadline: String::new(),
                }],
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let taken = || async {
        hub.hotline
            .audit_trail(None)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.principal.contains("vodokanal") && e.action == "read.personal_data")
            .count()
    };
    // Wait until the feed stops taking events: the same count twice, a second apart.
    let held = wait_for(
        "the stalled feed to stop taking events",
        Duration::from_secs(60),
        || async {
            let before = taken().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            (before > 0 && taken().await == before).then_some(before)
        },
    )
    .await;
    assert!(
        held < APPEALS / 2,
        "a client that reads nothing made the hub take {held} of {APPEALS} deliveries"
    );
    // Reading again: every case arrives, none lost.
    let mut arrived = std::collections::HashSet::new();
    while arrived.len() < APPEALS {
        let delivery = tokio::time::timeout(Duration::from_secs(30), stalled.message())
            .await
            .expect("the stream goes on")
            .unwrap()
            .expect("the stream is open");
        if let Some(event) = delivery.event.filter(|e| e.kind == "case.assigned") {
            arrived.insert(event.appeal_number);
        }
    }
    assert_eq!(taken().await, APPEALS);
    drop(stalled);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_holds_a_bounded_backlog_sqlite() {
    a_stalled_reader_holds_a_bounded_backlog(hotline_tests::sqlite_hub().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_holds_a_bounded_backlog_postgres() {
    if let Some(hub) = hotline_tests::postgres_hub().await {
        a_stalled_reader_holds_a_bounded_backlog(hub).await;
    }
}

/// Two hubs on one PostgreSQL database: an authority connected to hub B receives a case assigned
/// through hub A at once, though B polls the log only every minute — the database's notification
/// woke it; the case's answer through B reaches the staff on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_share_one_database() {
    let Some(mut a) = hotline_tests::postgres_hub().await else {
        return;
    };
    let TestDb::Postgres { admin_url, name } = &a.db else {
        unreachable!("a PostgreSQL hub")
    };
    let shared = TestDb::Postgres {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let store = PgStore::open(&a.db.url()).await.unwrap();
    let settings = hotline_hub::api::ApiSettings {
        poll_interval: Duration::from_secs(60),
        ..hotline_tests::settings()
    };
    let mut b = TestHub::serve_with(
        store.clone(),
        Hotline::new(store),
        shared,
        hotline_tests::pki::TestPki::new(),
        settings,
    )
    .await;
    let agency = start_agency(&b, "vodokanal").await;
    let appeal = a
        .operator()
        .await
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let started = Instant::now();
    let assigned = a
        .analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let case_id = assigned.cases[0].id;
    wait_for(
        "the case at B's authority",
        Duration::from_secs(30),
        || async { agency.agency.local.case(case_id).await.unwrap() },
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "woken by the notification, not the 60 s poll: {took:?}"
    );
    agency
        .agency
        .act(case_id, hotline_agency_client::Action::Accept)
        .await
        .unwrap();
    wait_for("the acceptance on A", Duration::from_secs(30), || async {
        let state = a
            .analyst()
            .await
            .get_appeal(pb::GetAppealRequest {
                number: appeal.number.clone(),
            })
            .await
            .ok()?
            .into_inner();
        (state.cases[0].status == pb::CaseStatus::Accepted as i32).then_some(())
    })
    .await;
    agency.stop().await;
    b.shutdown().await;
    a.shutdown().await;
    a.db.drop_db().await;
}
