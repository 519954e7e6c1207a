//! Several hubs on one PostgreSQL database behind a TCP balancer: when one hub is killed, its
//! agencies reconnect through the balancer to the other and resume from their cursors — every
//! case assigned before and after the kill reaches its authority once and is accepted once.

use std::time::Duration;

use hotline_hub::principal::StaffRole;
use hotline_tests::{TestDb, TestPki, assign_to, register_water, wait_for};

use crate::count;
use crate::crash::lazy;
use crate::fleet::{HubProcess, authority, load_directory, member};
use crate::proxy::Proxy;

/// Registers an appeal through `hub` and assigns it to agency `i`.
async fn assign_through(hub: &HubProcess, pki: &TestPki, i: usize) {
    let mut operator = lazy(hub, pki, StaffRole::Operator);
    let mut analyst = lazy(hub, pki, StaffRole::Analyst);
    let number = register_water(&mut operator).await;
    analyst
        .assign_appeal(assign_to(&number, &authority(i)))
        .await
        .expect("assigned");
}

/// Assigns a case to each of the two agencies through `hub` and waits until `total` cases in all
/// are accepted (their agency clients accept what they receive).
async fn a_case_each(hub: &HubProcess, pki: &TestPki, url: &str, total: i64) {
    for i in 0..2 {
        assign_through(hub, pki, i).await;
    }
    wait_for(
        &format!("{total} cases accepted"),
        Duration::from_secs(60),
        || async {
            let accepted = count(url, "SELECT COUNT(*) FROM cases WHERE status = 'accepted'").await;
            (accepted == total).then_some(())
        },
    )
    .await;
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
    a_case_each(&hub_a, &pki, &url, 2).await;

    // Hub A dies; the balancer sends new connections to B, as it would once A fails its checks.
    hub_a.kill9();
    balancer.point_to(hub_b.addr);
    a_case_each(&hub_b, &pki, &url, 4).await;

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
