//! One seeded randomized soak, on both databases: registrations and assignments to two
//! authorities, interleaved with connection resets, refused and stalled periods at a proxy in
//! front of the hub, and hub restarts, while both agency clients accept every case they receive.
//! At the end the hub and the clients are compared with a model of what must hold: every case
//! the model assigned exists, belongs to its authority, was accepted exactly once, and is in its
//! client's inbox; nothing else exists.
//!
//! The seed is printed; `HOTLINE_SOAK_SEED=N` replays a run, `HOTLINE_SOAK_STEPS` makes it longer.

use std::collections::BTreeMap;
use std::time::Duration;

use hotline_hub::domain::CaseStatus;
use hotline_hub::store::{AppealKey, Store};
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, count_rows, on_both, wait_for, water_complaint};

use crate::fleet::member;
use crate::proxy::{Mode, Proxy};

/// xorshift64*: small, seedable, the same on every machine.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn seed() -> u64 {
    std::env::var("HOTLINE_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

const AUTHORITIES: [&str; 2] = ["vodokanal", "heating"];

async fn seeded_soak_matches_the_model<S: Store>(mut hub: TestHub<S>) {
    let seed = seed();
    let steps: usize = std::env::var("HOTLINE_SOAK_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    eprintln!("soak seed {seed} ({steps} steps); replay with HOTLINE_SOAK_SEED={seed}");
    let mut rng = Rng(seed.max(1));
    let proxy = Proxy::start(hub.addr).await;
    let mut clients = Vec::new();
    for code in AUTHORITIES {
        clients.push(member(&hub.pki, proxy.addr, code).await);
    }
    // The model: case id → authority.
    let mut model: BTreeMap<i64, &str> = BTreeMap::new();
    for step in 0..steps {
        match rng.below(10) {
            0..=5 => {
                let authority = AUTHORITIES[rng.below(2) as usize];
                let appeal = hub
                    .operator()
                    .await
                    .register_appeal(water_complaint())
                    .await
                    .unwrap_or_else(|e| panic!("step {step} (seed {seed}): {e:?}"))
                    .into_inner();
                let case = hub
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
                    .unwrap_or_else(|e| panic!("step {step} (seed {seed}): {e:?}"))
                    .into_inner()
                    .cases[0]
                    .id;
                model.insert(case, authority);
            }
            6 => proxy.reset_all(),
            7 => {
                proxy.set(Mode::Refuse);
                proxy.reset_all();
                tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
                proxy.set(Mode::Pass);
            }
            8 => {
                proxy.set(Mode::Stall);
                tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
                proxy.set(Mode::Pass);
            }
            _ => hub.restart().await,
        }
    }

    let n = i64::try_from(model.len()).unwrap();
    wait_for(
        &format!("every modelled case accepted (seed {seed})"),
        Duration::from_secs(90),
        || async {
            for &case in model.keys() {
                let state = hub.store.load(&AppealKey::Case(case)).await.ok()??;
                let c = state.cases.iter().find(|c| c.id == case)?;
                if c.status != CaseStatus::Accepted {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    for (&case, &authority) in &model {
        let state = hub
            .store
            .load(&AppealKey::Case(case))
            .await
            .unwrap()
            .unwrap();
        let c = state.cases.iter().find(|c| c.id == case).unwrap();
        assert_eq!(c.authority_code, authority, "case {case} (seed {seed})");
    }
    assert_eq!(
        count_rows(&hub, "SELECT COUNT(*) FROM cases").await,
        n,
        "seed {seed}"
    );
    assert_eq!(
        count_rows(
            &hub,
            "SELECT COUNT(*) FROM events WHERE kind = 'case.accepted'"
        )
        .await,
        n,
        "accepted exactly once (seed {seed})"
    );
    for client in &clients {
        let mine: Vec<i64> = model
            .iter()
            .filter(|(_, a)| **a == client.authority)
            .map(|(c, _)| *c)
            .collect();
        wait_for(
            &format!(
                "{}'s inbox to match the model (seed {seed})",
                client.authority
            ),
            Duration::from_secs(60),
            || async {
                let mut held: Vec<i64> = client
                    .agency
                    .local
                    .cases(None)
                    .await
                    .ok()?
                    .iter()
                    .filter_map(|c| c.case.as_ref().map(|c| c.id))
                    .collect();
                held.sort_unstable();
                (held == mine).then_some(())
            },
        )
        .await;
    }
    for client in clients {
        client.stop().await;
    }
    drop(proxy);
    hub.stop().await;
}

on_both!(seeded_soak_matches_the_model);
