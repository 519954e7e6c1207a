//! Several hubs on one PostgreSQL database behind a TCP balancer: when one hub is killed, its
//! agencies reconnect through the balancer to the other and resume from their cursors — every
//! case assigned before and after the kill reaches its authority once and is accepted once.

use std::time::Duration;

use hotline_hub::principal::StaffRole;
use hotline_proto::v1 as pb;
use hotline_tests::{TestDb, TestPki, wait_for, water_complaint};

use crate::count;
use crate::crash::lazy;
use crate::fleet::{HubProcess, authority, load_directory, member};
use crate::proxy::Proxy;

/// Registers an appeal through `hub` and assigns it to agency `i`.
async fn assign_through(hub: &HubProcess, pki: &TestPki, i: usize) {
    let mut operator = lazy(hub, pki, StaffRole::Operator);
    let mut analyst = lazy(hub, pki, StaffRole::Analyst);
    let number = operator
        .register_appeal(water_complaint())
        .await
        .expect("registered")
        .into_inner()
        .number;
    // Kept with `..Default::default()`: the request may grow fields this test leaves empty.
    #[allow(clippy::needless_update)]
    let assign = pb::AssignAppealRequest {
        number,
        assignments: vec![pb::Assignment {
            authority_code: authority(i),
            deadline: String::new(),
        }],
        ..Default::default()
    };
    analyst.assign_appeal(assign).await.expect("assigned");
}

async fn accepted(url: &str) -> i64 {
    count(url, "SELECT COUNT(*) FROM cases WHERE status = 'accepted'").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_hubs_agencies_resume_through_another() {
    hotline_tests::install_crypto();
    // Several hubs share PostgreSQL only (SQLite is one process's file).
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url();
    load_directory(&url, 2).await;
    let pki = TestPki::new();
    let dir = |name: &str| {
        let dir = std::env::temp_dir().join(format!("hotline-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let (dir_a, dir_b) = (dir("hub-a"), dir("hub-b"));
    let mut hub_a = HubProcess::start(&url, &pki, &dir_a).await;
    let hub_b = HubProcess::start(&url, &pki, &dir_b).await;
    let balancer = Proxy::start(hub_a.addr).await;
    let fleet = [
        member(&pki, balancer.addr, &authority(0)).await,
        member(&pki, balancer.addr, &authority(1)).await,
    ];

    // Both agencies are on hub A (through the balancer); a case each, assigned through A.
    for i in 0..2 {
        assign_through(&hub_a, &pki, i).await;
    }
    wait_for(
        "the first cases accepted",
        Duration::from_secs(60),
        || async { (accepted(&url).await == 2).then_some(()) },
    )
    .await;

    // Hub A dies; the balancer sends new connections to B, as it would once A fails its checks.
    hub_a.kill9();
    balancer.point_to(hub_b.addr);
    for i in 0..2 {
        assign_through(&hub_b, &pki, i).await;
    }
    wait_for(
        "the cases assigned after the kill accepted through B",
        Duration::from_secs(60),
        || async { (accepted(&url).await == 4).then_some(()) },
    )
    .await;

    // Each case reached its authority's client once and was accepted once.
    for member in &fleet {
        let cases = member.agency.local.cases(None).await.unwrap();
        assert_eq!(cases.len(), 2, "{}", member.authority);
    }
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(DISTINCT case_id) FROM events WHERE kind = 'case.accepted'"
        )
        .await,
        4
    );
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) FROM events WHERE kind = 'case.accepted'"
        )
        .await,
        4
    );
    for member in fleet {
        member.stop().await;
    }
    drop(hub_b);
    for dir in [dir_a, dir_b] {
        let _ = std::fs::remove_dir_all(dir);
    }
    db.drop_db().await;
}
