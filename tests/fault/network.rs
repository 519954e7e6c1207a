//! Agency clients behind a TCP proxy that cuts (RST), refuses and stalls their connections to the
//! hub, on both databases: clients reconnect and resume, their outboxes drain, every acceptance
//! is applied once, and a stalled connection is found by the hub's HTTP/2 keepalive within
//! `keepalive_interval + keepalive_timeout` (plus one interval of scheduling slack): its case
//! stream is counted out and the client, once traffic moves again, reconnects.
//!
//! The agency client's own keepalive (30 s pings, tonic's 20 s timeout) bounds how long a client
//! can sit on a stalled connection the hub has not closed: 50 s.

use std::time::{Duration, Instant};

use hotline_hub::domain::CaseStatus;
use hotline_hub::store::{AppealKey, Store};
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, count_rows, on_both, wait_for, water_complaint};

use crate::fleet::member;
use crate::proxy::{Mode, Proxy};

const WAIT: Duration = Duration::from_secs(45);

async fn assign<S: Store>(hub: &TestHub<S>) -> i64 {
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
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .cases[0]
        .id
}

async fn accepted<S: Store>(hub: &TestHub<S>, case_id: i64, what: &str) {
    wait_for(what, WAIT, || async {
        let state = hub.store.load(&AppealKey::Case(case_id)).await.ok()??;
        let case = state.cases.iter().find(|c| c.id == case_id)?;
        (case.status == CaseStatus::Accepted).then_some(())
    })
    .await;
}

fn streams<S>(hub: &TestHub<S>) -> u32 {
    hub.ops
        .presence
        .snapshot()
        .get("vodokanal")
        .map_or(0, |p| p.streams)
}

async fn clients_survive_cuts_refusals_and_stalls<S: Store>(mut hub: TestHub<S>) {
    hub.ops.keepalive_interval = Duration::from_secs(1);
    hub.ops.keepalive_timeout = Duration::from_secs(1);
    hub.restart().await;
    let proxy = Proxy::start(hub.addr).await;
    let client = member(&hub.pki, proxy.addr, "vodokanal").await;

    let first = assign(&hub).await;
    accepted(&hub, first, "the first case accepted through the proxy").await;

    // Cut: every connection reset at once.
    proxy.reset_all();
    let second = assign(&hub).await;
    accepted(&hub, second, "the second case accepted after the cut").await;

    // Refused: the client cannot reach the hub at all for a while.
    proxy.set(Mode::Refuse);
    proxy.reset_all();
    wait_for("the hub to count the stream out", WAIT, || async {
        (streams(&hub) == 0).then_some(())
    })
    .await;
    let third = assign(&hub).await;
    proxy.set(Mode::Pass);
    accepted(
        &hub,
        third,
        "the third case accepted once the proxy passes again",
    )
    .await;

    // Stalled: the connection stays open and nothing moves; the hub's keepalive finds it.
    wait_for("the stream to be open again", WAIT, || async {
        (streams(&hub) == 1).then_some(())
    })
    .await;
    proxy.set(Mode::Stall);
    let stalled = Instant::now();
    let bound = hub.ops.keepalive_interval * 2 + hub.ops.keepalive_timeout + Duration::from_secs(4);
    wait_for(
        "keepalive to close the stalled connection",
        bound,
        || async { (streams(&hub) == 0).then_some(()) },
    )
    .await;
    eprintln!(
        "stalled connection closed by the hub after {:?} (bound {bound:?})",
        stalled.elapsed()
    );
    let fourth = assign(&hub).await;
    proxy.set(Mode::Pass);
    accepted(&hub, fourth, "the fourth case accepted after the stall").await;

    // Outbox drained; every acceptance applied exactly once.
    wait_for("the outbox to drain", WAIT, || async {
        let s = client.agency.local.summary().await.ok()?;
        (s.outbox_pending + s.outbox_failed == 0).then_some(())
    })
    .await;
    assert_eq!(
        count_rows(
            &hub,
            "SELECT COUNT(*) FROM events WHERE kind = 'case.accepted'"
        )
        .await,
        4
    );
    assert_eq!(client.agency.local.cases(None).await.unwrap().len(), 4);
    client.stop().await;
    drop(proxy);
    hub.stop().await;
}

on_both!(clients_survive_cuts_refusals_and_stalls);
