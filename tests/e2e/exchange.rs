//! The national contact centre's exchange, end to end on both databases: a simulated centre
//! submits ten thousand appeals in batches with duplicates, unmapped codes and bad records, follows
//! its update stream while cases are worked through an agency client, disconnects and resumes; a
//! held record is classified; an appeal is forwarded up; a JSON Lines file is imported twice and
//! the updates exported.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use clap::Parser as _;
use hotline_agency_client::Action;
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::store::Store;
use hotline_proto::receipt::{self, sha256_hex};
use hotline_proto::v1 as pb;
use hotline_proto::v1::contact_centre_exchange_client::ContactCentreExchangeClient;
use hotline_proto::v1::exchange_admin_client::ExchangeAdminClient;
use hotline_tests::agency::{case_status, start_agency};
use hotline_tests::{TestHub, count_rows, on_both, wait_for};
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

const WAIT: Duration = Duration::from_secs(60);
const PARTNER: &str = "ucc";

/// How many appeals the simulated centre sends (`HOTLINE_EXCHANGE_APPEALS`, 10,000 by default).
fn volume() -> usize {
    std::env::var("HOTLINE_EXCHANGE_APPEALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

async fn partner<S: Store>(hub: &TestHub<S>) -> ContactCentreExchangeClient<Channel> {
    ContactCentreExchangeClient::new(
        hub.channel_as(&Principal::Exchange {
            partner: PARTNER.into(),
        })
        .await,
    )
}

async fn admin<S: Store>(hub: &TestHub<S>, role: StaffRole) -> ExchangeAdminClient<Channel> {
    ExchangeAdminClient::new(hub.channel_as(&hotline_tests::staff(role)).await)
}

async fn map_codes<S: Store>(hub: &TestHub<S>) {
    let mut admin = admin(hub, StaffRole::Admin).await;
    for (kind, theirs, ours) in [
        ("category", "UCC-07.01", "07.01"),
        ("district", "UA1210000000", "dniprovskyi"),
        ("settlement", "UA1210100000", "dnipro"),
        ("district", "UA1211000000", "kryvorizkyi"),
    ] {
        admin
            .set_mapping(pb::CodeMapping {
                partner: PARTNER.into(),
                kind: kind.into(),
                theirs: theirs.into(),
                ours: ours.into(),
            })
            .await
            .unwrap();
    }
    // A mapping onto a code we do not have is refused, naming it.
    let err = admin
        .set_mapping(pb::CodeMapping {
            partner: PARTNER.into(),
            kind: "category".into(),
            theirs: "UCC-01".into(),
            ours: "99.99".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("ours"), "{}", err.message());
}

/// The `i`-th record of the simulated centre: every 97th has a category with no mapping, every
/// 211th is bad (no kind).
fn record(i: usize) -> pb::ExchangeAppeal {
    pb::ExchangeAppeal {
        external_id: format!("1545-2026-{i:06}"),
        kind: if i % 211 == 5 {
            0
        } else {
            pb::AppealKind::Complaint as i32
        },
        citizen: Some(pb::Citizen {
            name: format!("Громадянин {i}"),
            phone: format!("+38050{i:07}"),
            ..Default::default()
        }),
        category_code: if i % 97 == 3 {
            "UCC-99.01"
        } else {
            "UCC-07.01"
        }
        .into(),
        district_code: if i.is_multiple_of(2) {
            "UA1210000000"
        } else {
            "UA1211000000"
        }
        .into(),
        settlement_code: if i.is_multiple_of(2) {
            "UA1210100000"
        } else {
            ""
        }
        .into(),
        text: format!("Звернення {i} через Урядовий контактний центр"),
        received_at: String::new(),
        ..Default::default()
    }
}

fn outcome(r: &pb::ExchangeResult) -> pb::ExchangeOutcome {
    pb::ExchangeOutcome::try_from(r.outcome).unwrap()
}

/// Every update has a valid receipt over its content.
fn check_update(update: &pb::ExchangeUpdate, key: &[u8]) {
    let receipt = update.receipt.clone().expect("a receipt");
    receipt::verify(&receipt, key).expect("a valid signature");
    let bare = pb::ExchangeUpdate {
        receipt: None,
        ..update.clone()
    };
    assert_eq!(receipt.content_sha256, sha256_hex(&bare.encode_to_vec()));
    assert_eq!(receipt.event_id, update.event_id);
}

/// Reads updates from `cursor` until `stop` says so; `follow` keeps the stream open.
async fn read_updates(
    client: &mut ContactCentreExchangeClient<Channel>,
    cursor: &str,
    mut take: impl FnMut(&pb::ExchangeUpdate) -> bool,
) -> Vec<pb::ExchangeUpdate> {
    let mut stream = client
        .stream_updates(pb::StreamUpdatesRequest {
            cursor: cursor.into(),
            follow: true,
        })
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    while let Some(update) = tokio::time::timeout(WAIT, stream.message())
        .await
        .expect("an update in time")
        .unwrap()
    {
        if update.heartbeat {
            continue;
        }
        got.push(update);
        if !take(got.last().unwrap()) {
            break;
        }
    }
    got
}

async fn a_national_centre_exchanges_thousands_of_appeals<S: Store>(hub: TestHub<S>) {
    map_codes(&hub).await;
    let key = hub.hotline.receipts().public_key().to_vec();
    let mut centre = partner(&hub).await;
    let n = volume();
    let mut numbers: BTreeMap<String, String> = BTreeMap::new();
    let mut first_receipts: HashMap<String, pb::Receipt> = HashMap::new();
    let (mut held, mut rejected, mut duplicates) = (0, 0, 0);
    let records: Vec<pb::ExchangeAppeal> = (0..n).map(record).collect();
    // Batches of 200 (the test hub's message limit is small; a real one takes 500).
    for (b, chunk) in records.chunks(200).enumerate() {
        let mut batch = chunk.to_vec();
        // The centre resends a few of the previous batch (a lost answer): applied once.
        if b > 0 {
            batch.extend(records[(b - 1) * 200..(b - 1) * 200 + 3].iter().cloned());
        }
        let results = centre
            .submit_appeals(pb::SubmitAppealsRequest {
                appeals: batch.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .results;
        assert_eq!(results.len(), batch.len(), "one result per record");
        for (sent, r) in batch.iter().zip(&results) {
            assert_eq!(r.external_id, sent.external_id);
            match outcome(r) {
                pb::ExchangeOutcome::Accepted => {
                    numbers.insert(r.external_id.clone(), r.appeal_number.clone());
                    let receipt = r.receipt.clone().unwrap();
                    receipt::verify(&receipt, &key).unwrap();
                    assert_eq!(receipt.content_sha256, sha256_hex(&sent.encode_to_vec()));
                    assert_eq!(receipt.request_id, sent.external_id);
                    first_receipts.insert(r.external_id.clone(), receipt);
                }
                pb::ExchangeOutcome::Duplicate => {
                    duplicates += 1;
                    if let Some(number) = numbers.get(&r.external_id) {
                        assert_eq!(&r.appeal_number, number, "the same appeal");
                        assert_eq!(
                            r.receipt.as_ref(),
                            first_receipts.get(&r.external_id),
                            "the same signed receipt"
                        );
                    }
                }
                pb::ExchangeOutcome::Held => {
                    held += 1;
                    assert!(r.reason.contains("UCC-99.01"), "{}", r.reason);
                }
                pb::ExchangeOutcome::Rejected => {
                    rejected += 1;
                    assert!(r.reason.starts_with("kind"), "{}", r.reason);
                    assert!(r.receipt.is_none());
                }
                pb::ExchangeOutcome::Unspecified => panic!("no outcome"),
            }
        }
    }
    let expected_held = (0..n).filter(|i| i % 97 == 3 && i % 211 != 5).count();
    let expected_rejected = (0..n).filter(|i| i % 211 == 5).count();
    assert_eq!(held, expected_held);
    assert!(rejected >= expected_rejected);
    let resent = (1..n.div_ceil(200))
        .flat_map(|b| (b - 1) * 200..(b - 1) * 200 + 3)
        .filter(|i| i % 211 != 5)
        .count();
    assert_eq!(duplicates, resent, "resent ones are duplicates");
    assert_eq!(numbers.len(), n - expected_held - expected_rejected);
    assert_eq!(
        count_rows(&hub, "SELECT COUNT(*) FROM appeals").await as usize,
        numbers.len(),
        "each applied once"
    );

    // Work a few appeals through the authority while the centre follows its stream.
    let agency = start_agency(&hub, "vodokanal").await;
    let mut analyst = hub.analyst().await;
    let mut operator = hub.operator().await;
    let worked: Vec<String> = numbers.values().take(5).cloned().collect();
    for number in &worked {
        let appeal = analyst
            .assign_appeal(pb::AssignAppealRequest {
                number: number.clone(),
                assignments: vec![pb::Assignment {
                    authority_code: "vodokanal".into(),
                    deadline: String::new(),
                }],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let case_id = appeal.cases[0].id;
        wait_for("the case at the authority", WAIT, || async {
            agency.agency.local.case(case_id).await.unwrap()
        })
        .await;
        agency.agency.act(case_id, Action::Accept).await.unwrap();
        agency
            .agency
            .act(
                case_id,
                Action::Resolve {
                    answer: "Воду подано".into(),
                    measures: String::new(),
                    attachments: vec![],
                    outcome: pb::Outcome::Resolved,
                    outcome_detail: String::new(),
                },
            )
            .await
            .unwrap();
        wait_for("the answer at the hub", WAIT, || async {
            (case_status(&hub, case_id).await == hotline_hub::domain::CaseStatus::Resolved)
                .then_some(())
        })
        .await;
        analyst
            .verify_answer(pb::VerifyAnswerRequest {
                case_id,
                verdict: pb::Verdict::Accept as i32,
                ..Default::default()
            })
            .await
            .unwrap();
        operator
            .record_callback(pb::RecordCallbackRequest {
                number: number.clone(),
                outcome: pb::CallbackOutcome::Confirmed as i32,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    agency.stop().await;

    // A held record is classified; an appeal of ours goes up to the centre.
    let mut desk = admin(&hub, StaffRole::Analyst).await;
    let held_list = desk
        .list_held(pb::ListHeldRequest {
            partner: PARTNER.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(held_list.len(), expected_held);
    assert!(held_list[0].missing.contains("UCC-99.01"));
    let classified = desk
        .classify_held(pb::ClassifyHeldRequest {
            id: held_list[0].id,
            category_code: "07.01".into(),
            district_code: "dniprovskyi".into(),
            settlement_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(classified.external_id, held_list[0].external_id);
    let again = desk
        .classify_held(pb::ClassifyHeldRequest {
            id: held_list[0].id,
            category_code: "07.01".into(),
            district_code: "dniprovskyi".into(),
            settlement_code: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    let ours = operator
        .register_appeal(hotline_tests::water_complaint())
        .await
        .unwrap()
        .into_inner();
    let up = desk
        .forward_to_partner(pb::ForwardToPartnerRequest {
            number: ours.number.clone(),
            partner: PARTNER.into(),
            reason: "автодорога державного значення: не компетенція області".into(),
            request_id: "fwd-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(up.status, pb::AppealStatus::Closed as i32);
    assert_eq!(up.outcome, pb::Outcome::Forwarded as i32);

    // The centre reads part of its stream, acknowledges, disconnects, and resumes: every update
    // arrives, each once in effect (deduplicated by event id), each with a valid receipt.
    let expected = count_rows(
        &hub,
        "SELECT COUNT(*) FROM events e JOIN exchange_links l ON l.appeal_id = e.appeal_id \
         WHERE l.partner = 'ucc' AND e.kind IN ('appeal.registered', 'appeal.status_changed', \
         'case.verified', 'case.deadline_extended', 'appeal.closed', 'appeal.closed_unconfirmed', \
         'appeal.not_considered', 'appeal.continued', 'appeal.answered_via_incident', \
         'appeal.forwarded_up')",
    )
    .await as usize;
    let mut seen: BTreeMap<i64, pb::ExchangeUpdate> = BTreeMap::new();
    let mut first = 0;
    let part = read_updates(&mut centre, "", |_| {
        first += 1;
        first < expected / 2
    })
    .await;
    let acked = part[part.len() / 2].cursor.clone();
    centre
        .ack_updates(pb::AckUpdatesRequest {
            cursor: acked.clone(),
        })
        .await
        .unwrap();
    for u in part {
        seen.insert(u.event_id, u);
    }
    // Resumes after the acknowledged cursor: some arrive again, and are recognised by event id.
    let rest = read_updates(&mut partner(&hub).await, "", |u| {
        seen.insert(u.event_id, u.clone());
        seen.len() < expected
    })
    .await;
    assert!(rest.len() > expected - seen.len().min(expected) / 2);
    assert_eq!(seen.len(), expected, "every update, once in effect");
    let key = hub.hotline.receipts().public_key().to_vec();
    for u in seen.values() {
        check_update(u, &key);
    }
    let ids: Vec<i64> = seen.keys().copied().collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // What the centre learned: the worked appeals closed with their answer, the classified record
    // registered, our appeal forwarded up with its citizen.
    for number in &worked {
        let closed = seen
            .values()
            .find(|u| &u.appeal_number == number && u.kind == "appeal.closed")
            .expect("the closure");
        assert_eq!(closed.outcome, pb::Outcome::Resolved as i32);
        assert!(closed.answer.contains("Воду подано"), "{}", closed.answer);
    }
    assert!(
        seen.values()
            .any(|u| u.appeal_number == classified.number && u.kind == "appeal.registered")
    );
    let forwarded = seen
        .values()
        .find(|u| u.kind == "appeal.forwarded_up")
        .expect("the forwarded appeal");
    assert_eq!(forwarded.external_id, ours.number);
    let whole = forwarded.appeal.as_ref().expect("the whole appeal");
    assert!(
        whole.citizen.is_some(),
        "the centre gets the citizen to act"
    );
    assert!(
        forwarded.notice.contains("Урядового контактного центру"),
        "{}",
        forwarded.notice
    );

    // A resent record with other content under the same id is refused; nothing changes.
    let before = count_rows(&hub, "SELECT COUNT(*) FROM appeals").await;
    let changed = pb::ExchangeAppeal {
        text: "інший текст".into(),
        ..record(0)
    };
    let result = centre
        .submit_appeals(pb::SubmitAppealsRequest {
            appeals: vec![changed],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(outcome(&result[0]), pb::ExchangeOutcome::Rejected);
    assert!(
        result[0].reason.contains("other content"),
        "{}",
        result[0].reason
    );
    assert_eq!(
        count_rows(&hub, "SELECT COUNT(*) FROM appeals").await,
        before
    );
    // Staff cannot speak for the partner; a partner cannot map codes.
    let err = ContactCentreExchangeClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Admin))
            .await,
    )
    .submit_appeals(pb::SubmitAppealsRequest::default())
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    hub.stop().await;
}

/// A partner without a live link: a JSON Lines file imported twice (the second run skips what the
/// first registered), bad lines to the reject file with their numbers, then the updates exported.
async fn a_jsonl_file_imports_once_and_exports<S: Store>(hub: TestHub<S>) {
    map_codes(&hub).await;
    let dir = std::env::temp_dir().join(format!("hotline-exchange-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    hub.pki
        .client(&Principal::Exchange {
            partner: PARTNER.into(),
        })
        .write(&hub.pki.dir, &format!("exchange-{PARTNER}"))
        .unwrap();
    let line = |i: usize, category: &str| {
        serde_json::json!({
            "external_id": format!("file-{i}"), "kind": "application",
            "citizen": { "name": format!("Заявник {i}"), "phone": format!("+38067{i:07}") },
            "category_code": category, "district_code": "UA1210000000",
            "text": format!("Лист {i}"), "received_at": "2026-11-20T10:00:00+02:00",
        })
        .to_string()
    };
    let mut lines: Vec<String> = (0..40).map(|i| line(i, "UCC-07.01")).collect();
    lines.push(line(40, "UCC-99.99")); // line 41: held
    lines.push("{ not json".into()); // line 42
    lines.push(r#"{"external_id":"file-x","kind":"wish","category_code":"c","district_code":"d","text":"t"}"#.into()); // 43
    lines.push(String::new());
    let file = dir.join("from-ucc.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let rejects = dir.join("from-ucc.rejected");
    let hub_url = format!("https://{}", hub.addr);
    let pki_dir = hub.pki.dir.display().to_string();
    let cli = |args: &[&str]| {
        let mut all = vec![
            "hub",
            "exchange",
            "--hub",
            &hub_url,
            "--pki-dir",
            &pki_dir,
            "--json",
        ];
        all.extend_from_slice(args);
        hotline_hub::cli::Cli::try_parse_from(all).expect("arguments parse")
    };
    let file_arg = file.display().to_string();
    for round in 0..2 {
        hotline_hub::cli::run(
            cli(&["import", &file_arg, "--partner", PARTNER]),
            std::future::pending(),
        )
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            count_rows(&hub, "SELECT COUNT(*) FROM appeals").await,
            40,
            "round {round}"
        );
        assert_eq!(
            count_rows(&hub, "SELECT COUNT(*) FROM exchange_held").await,
            1
        );
        let refused = std::fs::read_to_string(&rejects).unwrap();
        let numbers: Vec<&str> = refused
            .lines()
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(numbers, ["line 42", "line 43"], "{refused}");
        assert!(refused.contains("kind: must be one of"), "{refused}");
    }
    // Export: every update of the imported appeals, as JSON lines with valid receipts.
    let out = dir.join("to-ucc.jsonl");
    let out_arg = out.display().to_string();
    hotline_hub::cli::run(
        cli(&["export", "--partner", PARTNER, "--out", &out_arg, "--ack"]),
        std::future::pending(),
    )
    .await
    .unwrap();
    let exported: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported.len(), 40, "one appeal.registered each");
    let key = hub.hotline.receipts().public_key().to_vec();
    for u in &exported {
        let r = receipt::from_json(&u["receipt"]).unwrap();
        receipt::verify(&r, &key).unwrap();
    }
    // Acknowledged: a second export from the acknowledged cursor has nothing new.
    hotline_hub::cli::run(
        cli(&["export", "--partner", PARTNER, "--out", &out_arg]),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
    hub.stop().await;
}

on_both!(
    a_national_centre_exchanges_thousands_of_appeals,
    a_jsonl_file_imports_once_and_exports
);
