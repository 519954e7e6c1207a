//! The event log's promise: a reader following it by cursor never skips an event and never sees one
//! twice, even while many writers commit concurrently, and on PostgreSQL even when a transaction that
//! took an earlier event id commits after a later one.

use std::collections::BTreeSet;
use std::time::Duration;

use hotline_hub::domain::{Caller, Cursor};
use hotline_hub::store::{AppealKey, AppealStore, EventFilter, EventLog, Store};
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, on_both, wait_for, water_complaint};

/// Writers register and assign appeals concurrently while a reader follows the log; the reader's
/// events are exactly the log's, each once.
async fn concurrent_writers_never_make_a_reader_skip<S: Store>(hub: TestHub<S>) {
    const WRITERS: usize = 8;
    const APPEALS_EACH: usize = 6;
    let store = hub.store.clone();
    let (done, writers_done) = tokio::sync::watch::channel(false);
    // The reader follows the log until the writers are done and it has read every committed event.
    let reader = async {
        let mut cursor = Cursor::default();
        let mut seen = Vec::new();
        loop {
            let batch = store
                .events_after(cursor, &EventFilter::default(), 7)
                .await
                .unwrap();
            if batch.is_empty() {
                if *writers_done.borrow()
                    && seen.len() as i64
                        == hotline_tests::count_rows(&hub, "SELECT COUNT(*) FROM events").await
                {
                    return seen;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            for e in batch {
                assert!(e.cursor > cursor, "cursor moves forward");
                cursor = e.cursor;
                seen.push(e.cursor.id);
            }
        }
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut registry = hub.operator().await;
        let mut analyst = hub.analyst().await;
        writers.push(tokio::spawn(async move {
            for _ in 0..APPEALS_EACH {
                let appeal = registry
                    .register_appeal(water_complaint())
                    .await
                    .unwrap()
                    .into_inner();
                let authority = if w % 2 == 0 {
                    "vodokanal"
                } else {
                    "city-council"
                };
                analyst
                    .assign_appeal(pb::AssignAppealRequest {
                        number: appeal.number,
                        assignments: vec![pb::Assignment {
                            authority_code: authority.into(),
                            deadline: String::new(),
                        }],
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    let write = async {
        for w in writers {
            w.await.unwrap();
        }
        done.send(true).unwrap();
    };
    let (seen, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(reader, write)
    })
    .await
    .expect("the reader catches up");
    let all: Vec<i64> = hotline_tests::settled_events(&hub, None)
        .await
        .iter()
        .map(|e| e.cursor.id)
        .collect();
    // registered + assigned + status change per appeal
    assert_eq!(all.len(), WRITERS * APPEALS_EACH * 3);
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no event read twice");
    assert_eq!(
        unique,
        all.iter().copied().collect::<BTreeSet<_>>(),
        "no event skipped"
    );
    hub.stop().await;
}

on_both!(concurrent_writers_never_make_a_reader_skip);

/// PostgreSQL: transaction A takes an event id, transaction B takes a later one and commits first.
/// A reader must not pass B's event while A is in flight, and must then read A's and B's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_out_of_order_commit_is_not_skipped() {
    let Some(hub) = hotline_tests::postgres_hub().await else {
        return;
    };
    let mut registry = hub.operator().await;
    let first = registry
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let second = registry
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let store = hub.store.clone();
    let head = hotline_tests::settled_events(&hub, None)
        .await
        .last()
        .unwrap()
        .cursor;

    // A: a transaction that appends an event and stays open.
    let mut a = store.pool().begin().await.unwrap();
    let a_id: i64 = sqlx::query_scalar(
        "INSERT INTO events (appeal_id, kind, detail, actor, at) VALUES ($1, 'test.slow', '{}', 'test', now()) RETURNING id",
    )
    .bind(first.id)
    .fetch_one(&mut *a)
    .await
    .unwrap();

    // B: a normal transition on another appeal, committed while A is open.
    let b = hub
        .store
        .transact(
            &AppealKey::Number(second.number.clone()),
            &Caller {
                principal: "test".into(),
                rpc: "test".into(),
            },
            chrono::Utc::now(),
            |s| {
                s.close(
                    hotline_hub::domain::CloseOutcome::NotConsidered,
                    "test",
                    chrono::Utc::now(),
                )
                .map(hotline_hub::domain::Change::from)
            },
        )
        .await
        .unwrap();
    assert_eq!(b.appeal.status.code(), "not_considered");
    let b_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM events WHERE appeal_id = $1 AND id > $2")
            .bind(second.id)
            .bind(head.id)
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert!(
        b_ids.iter().all(|b| *b > a_id),
        "B's events have later ids than A's"
    );

    // While A is in flight, the reader does not get past it.
    let visible = store
        .events_after(head, &EventFilter::default(), 1000)
        .await
        .unwrap();
    assert!(
        visible.is_empty(),
        "B's events must wait for A: {visible:?}"
    );

    a.commit().await.unwrap();
    let expected = b_ids.len() + 1;
    let got = wait_for("A's and B's events", Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            let events = store
                .events_after(head, &EventFilter::default(), 1000)
                .await
                .unwrap();
            (events.len() >= expected).then_some(events)
        }
    })
    .await;
    let ids: Vec<i64> = got.iter().map(|e| e.cursor.id).collect();
    assert!(ids.contains(&a_id), "A's event is read: {ids:?}");
    for b in &b_ids {
        assert!(ids.contains(b));
    }
    hub.stop().await;
}
