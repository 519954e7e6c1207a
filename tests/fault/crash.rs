//! `kill -9` of the real `hub` binary under load — registrations and assignments from staff,
//! acceptances from a fleet of agency clients — then a restart on the same address and database:
//! every appeal whose registration was answered is there (and none twice), every case reached its
//! authority's client and was accepted exactly once, and the audit trail verifies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hotline_hub::principal::StaffRole;
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;
use hotline_tests::{TestDb, TestPki, assign_to, staff, wait_for, water_complaint};
use tonic::Code;
use tonic::transport::Channel;

use crate::fleet::{HubProcess, authority, hub_binary, load_directory, member};
use crate::{Scale, count};

/// Calls `call` until the hub answers, retrying (with the same request, hence the same request id)
/// while it is down or restarting, as the staff CLI does.
async fn until_answered<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match call().await {
            Ok(answer) => return answer,
            Err(status)
                if matches!(
                    status.code(),
                    Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Internal
                ) && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("{what}: {status:?}"),
        }
    }
}

/// A staff client that reconnects by itself after the hub comes back.
pub(crate) fn lazy(
    hub: &HubProcess,
    pki: &TestPki,
    role: StaffRole,
) -> AppealRegistryClient<Channel> {
    let issued = pki.client(&staff(role));
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(pki.ca.cert_pem()))
        .identity(tonic::transport::Identity::from_pem(
            &issued.cert_pem,
            &issued.key_pem,
        ))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{}", hub.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    AppealRegistryClient::new(channel)
}

async fn kill_minus_nine_under_load(db: TestDb) {
    let scale = Scale::from_env();
    let url = db.url();
    load_directory(&url, scale.agencies).await;
    let pki = TestPki::new();
    let data = std::env::temp_dir().join(format!("hotline-fault-hub-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data).unwrap();
    let mut hub = HubProcess::start(&url, &pki, &data).await;
    let mut fleet = Vec::new();
    for i in 0..scale.agencies {
        fleet.push(member(&pki, hub.addr, &authority(i)).await);
    }

    // Staff load: register and assign, each write with its own request id, retried until answered.
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let (operator, analyst) = (
        lazy(&hub, &pki, StaffRole::Operator),
        lazy(&hub, &pki, StaffRole::Analyst),
    );
    let load = {
        let answered = answered.clone();
        let appeals = scale.appeals;
        let agencies = scale.agencies;
        tokio::spawn(async move {
            for i in 0..appeals {
                let mut register = water_complaint();
                register.request_id = format!("fault-register-{i}");
                let appeal = until_answered("register", || {
                    let (mut c, r) = (operator.clone(), register.clone());
                    async move { c.register_appeal(r).await.map(tonic::Response::into_inner) }
                })
                .await;
                let assign = pb::AssignAppealRequest {
                    request_id: format!("fault-assign-{i}"),
                    ..assign_to(&appeal.number, &authority(i % agencies))
                };
                until_answered("assign", || {
                    let (mut c, r) = (analyst.clone(), assign.clone());
                    async move { c.assign_appeal(r).await.map(tonic::Response::into_inner) }
                })
                .await;
                answered.lock().unwrap().push(appeal.number);
            }
        })
    };
    for kill in 1..=scale.kills {
        let at = scale.appeals * kill / (scale.kills + 1);
        wait_for("load before the kill", Duration::from_secs(120), || async {
            (answered.lock().unwrap().len() >= at).then_some(())
        })
        .await;
        eprintln!("kill -9 of the hub after {at} answered appeals");
        hub.restart(&pki).await;
    }
    tokio::time::timeout(Duration::from_secs(300), load)
        .await
        .expect("the load finishes")
        .unwrap();

    let n = i64::try_from(scale.appeals).unwrap();
    wait_for("every case accepted", Duration::from_secs(120), || async {
        let accepted = count(&url, "SELECT COUNT(*) FROM cases WHERE status = 'accepted'").await;
        (accepted == n).then_some(())
    })
    .await;
    // Every answered registration is there, once; no appeal beyond them.
    assert_eq!(count(&url, "SELECT COUNT(*) FROM appeals").await, n);
    let numbers = answered.lock().unwrap().clone();
    for number in &numbers {
        let sql = format!("SELECT COUNT(*) FROM appeals WHERE number = '{number}'");
        assert_eq!(count(&url, &sql).await, 1, "{number}");
    }
    assert_eq!(count(&url, "SELECT COUNT(*) FROM cases").await, n);
    // Every report applied exactly once.
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) FROM events WHERE kind = 'case.accepted'"
        )
        .await,
        n
    );
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(DISTINCT case_id) FROM events WHERE kind = 'case.accepted'"
        )
        .await,
        n
    );
    // Every case reached its authority's client, each once (the client keeps events by id).
    for (i, m) in fleet.iter().enumerate() {
        let expected = (0..scale.appeals)
            .filter(|k| k % scale.agencies == i)
            .count();
        wait_for(
            "the client to hold its cases",
            Duration::from_secs(60),
            || async {
                let cases = m.agency.local.cases(None).await.unwrap();
                (cases.len() == expected
                    && cases.iter().all(|c| {
                        c.case.as_ref().unwrap().status == pb::CaseStatus::Accepted as i32
                    }))
                .then_some(())
            },
        )
        .await;
        let summary = m.agency.local.summary().await.unwrap();
        assert_eq!(
            summary.outbox_pending + summary.outbox_failed,
            0,
            "{}",
            m.authority
        );
    }
    // The restarted process reports every client connected and nothing behind.
    let agencies = scale.agencies;
    wait_for("the metrics to show the fleet", Duration::from_secs(60), || async {
        let text = hub.scrape().await;
        (text.contains(&format!("hotline_connected_agencies {agencies}"))
            && text.contains("hotline_rpc_requests_total{code=\"OK\",rpc=\"/hotline.v1.AgencyGateway/AcceptCase\"}")
            && !text.lines().any(|l| {
                l.starts_with("hotline_agency_stream_lag_events{authority=\"agency-") && !l.ends_with(" 0")
            }))
        .then_some(())
    })
    .await;
    for m in fleet {
        m.stop().await;
    }
    hub.kill9();
    // The audit trail verifies, as the operator would check it.
    let audit = std::process::Command::new(hub_binary())
        .args(["audit", "--database-url", &url, "--data-dir"])
        .arg(&data)
        .arg("verify")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.status.success() && said.contains("intact"),
        "{said}{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let _ = std::fs::remove_dir_all(&data);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_under_load_sqlite() {
    hotline_tests::install_crypto();
    kill_minus_nine_under_load(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_under_load_postgres() {
    hotline_tests::install_crypto();
    if let Some(db) = TestDb::postgres().await {
        kill_minus_nine_under_load(db).await;
    }
}
