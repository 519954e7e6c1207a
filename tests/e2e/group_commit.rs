//! Registrations that arrive together are written as one group (one transaction, one statement per
//! kind of row): the register's numbers stay gapless and in order, a retry sent alongside its
//! original is answered with the same appeal, and the audit chain stays one unbroken chain.

use std::collections::{BTreeMap, BTreeSet};

use hotline_hub::audit::Finding;
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, on_both, water_complaint};

/// Registrations sent at once, some of them twice (a client's retry racing its original).
async fn registrations_sent_together<S: Store>(hub: TestHub<S>) {
    const APPEALS: usize = 40;
    const RETRIED: usize = 10;
    let operator = hub.operator().await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..APPEALS + RETRIED {
        let mut registry = operator.clone();
        // Calls past APPEALS repeat the first RETRIED requests with the same id and content.
        let n = i % APPEALS;
        calls.spawn(async move {
            let request = pb::RegisterAppealRequest {
                request_id: format!("together-{n}"),
                text: format!("Немає води в будинку {n}"),
                ..water_complaint()
            };
            let number = registry
                .register_appeal(request)
                .await
                .map(|r| r.into_inner().number);
            (n, number)
        });
    }
    let mut numbers: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    while let Some(done) = calls.join_next().await {
        let (n, number) = done.unwrap();
        let number = number.unwrap_or_else(|s| panic!("registration {n} refused: {s:?}"));
        numbers.entry(n).or_default().insert(number);
    }
    assert_eq!(numbers.len(), APPEALS);
    for (n, got) in &numbers {
        assert_eq!(
            got.len(),
            1,
            "request {n} answered with one appeal, got {got:?}"
        );
    }
    // Gapless: the year's numbers are exactly 1..=APPEALS, whatever groups they were written in.
    let seqs: BTreeSet<i64> = numbers
        .values()
        .flatten()
        .map(|number| number.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, (1..=APPEALS as i64).collect::<BTreeSet<_>>());
    assert_eq!(
        hotline_tests::count_rows(&hub, "SELECT COUNT(*) FROM appeals").await,
        APPEALS as i64
    );
    assert_eq!(
        hotline_tests::count_rows(
            &hub,
            "SELECT COUNT(*) FROM events WHERE kind = 'appeal.registered'"
        )
        .await,
        APPEALS as i64
    );
    // One audit row per registration, chained without a break.
    assert_eq!(
        hotline_tests::count_rows(
            &hub,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'appeal.registered'"
        )
        .await,
        APPEALS as i64
    );
    assert!(matches!(
        hub.hotline.verify_audit().await.unwrap(),
        Finding::Intact { .. }
    ));
    hub.stop().await;
}

on_both!(registrations_sent_together);
