//! Operating the hub, on SQLite and PostgreSQL: the metrics endpoint and `Operations.GetStatus`
//! show who is connected, who lags and who is silent, with no personal data; graceful shutdown
//! drops readiness before the streams end; and a backup restored after more work lets agency
//! clients resume without loss or duplicates, with ids continuing past the replaced history and
//! the audit trail intact.

use std::time::Duration;

use hotline_hub::audit::Finding;
use hotline_hub::backup::{self, RestoreOptions};
use hotline_hub::config::{ServeConfig, ServeOptions};
use hotline_hub::domain::CaseStatus;
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::store::{AppealKey, Store};
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use hotline_proto::v1::operations_client::OperationsClient;
use hotline_tests::agency::start_agency;
use hotline_tests::{TestDb, TestHub, on_both, staff, wait_for, water_complaint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

const WAIT: Duration = Duration::from_secs(30);

/// Registers the water complaint and assigns it to `authorities`; returns its number and cases.
async fn assigned<S: Store>(hub: &TestHub<S>, authorities: &[&str]) -> (String, Vec<i64>) {
    let appeal = hub
        .operator()
        .await
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let assigned = hub
        .analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number.clone(),
            assignments: authorities
                .iter()
                .map(|code| pb::Assignment {
                    authority_code: (*code).into(),
                    deadline: String::new(),
                })
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (appeal.number, assigned.cases.iter().map(|c| c.id).collect())
}

/// The status of `case_id` on the hub.
async fn case_status<S: Store>(hub: &TestHub<S>, case_id: i64) -> CaseStatus {
    let state = hub
        .store
        .load(&AppealKey::Case(case_id))
        .await
        .unwrap()
        .unwrap();
    state.cases.iter().find(|c| c.id == case_id).unwrap().status
}

async fn status<S: Store>(
    hub: &TestHub<S>,
    role: StaffRole,
) -> Result<pb::OperationsStatus, tonic::Status> {
    OperationsClient::new(hub.channel_as(&staff(role)).await)
        .get_status(pb::GetStatusRequest {
            silent_after_hours: 1,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// `GET /metrics` over plain HTTP/1.
async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

async fn metrics_and_status_show_presence_and_lag<S: Store>(hub: TestHub<S>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics = hub.ops.metrics.clone();
    let addr = hotline_hub::metrics::http::listen(
        "127.0.0.1:0".parse().unwrap(),
        std::sync::Arc::new(move || metrics.render()),
        stopped,
    )
    .await
    .unwrap();

    let agency = start_agency(&hub, "vodokanal").await;
    // vodokanal's client stores and acknowledges; heating has no client and falls behind.
    let (number, cases) = assigned(&hub, &["vodokanal", "heating"]).await;
    wait_for("vodokanal's case to be delivered", WAIT, || async {
        (case_status(&hub, cases[0]).await == CaseStatus::Delivered).then_some(())
    })
    .await;
    // A refused call of vodokanal's shows as its last error.
    let refused = AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await,
    )
    .get_case(pb::GetCaseRequest { case_id: 999_999 })
    .await
    .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound);

    let seen = wait_for("the status to show both authorities", WAIT, || async {
        let s = status(&hub, StaffRole::Supervisor).await.unwrap();
        let find = |code: &str| s.authorities.iter().find(|a| a.code == code).cloned();
        let (vodokanal, heating) = (find("vodokanal")?, find("heating")?);
        (vodokanal.streams == 1 && vodokanal.events_behind == 0 && heating.events_behind > 0)
            .then_some((s, vodokanal, heating))
    })
    .await;
    let (s, vodokanal, heating) = seen;
    assert!(s.database_up && !s.draining);
    assert_eq!(s.connected_agencies, 1);
    assert!(!vodokanal.silent && !vodokanal.acked_cursor.is_empty());
    assert_eq!(vodokanal.last_error_code, "NOT_FOUND");
    assert_eq!(
        vodokanal.last_error_rpc,
        "/hotline.v1.AgencyGateway/GetCase"
    );
    assert!(heating.silent, "never connected: silent");
    assert_eq!(heating.streams, 0);
    // Silent and lagging authorities come first.
    assert!(s.authorities[0].silent);
    // Staff on duty only.
    for role in [StaffRole::Analyst, StaffRole::Admin] {
        assert!(status(&hub, role).await.is_ok(), "{role:?}");
    }
    assert_eq!(
        status(&hub, StaffRole::Operator).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );

    let text = wait_for("the gauges to be refreshed", WAIT, || async {
        let text = scrape(addr).await;
        (text.contains("hotline_connected_agencies 1")
            && text.contains("hotline_agency_stream_lag_events{authority=\"heating\"}")
            && text.contains("hotline_agency_stream_lag_events{authority=\"vodokanal\"} 0"))
        .then_some(text)
    })
    .await;
    for expected in [
        "hotline_rpc_requests_total{code=\"OK\",rpc=\"/hotline.v1.AppealRegistry/RegisterAppeal\"} 1",
        "hotline_rpc_requests_total{code=\"NOT_FOUND\",rpc=\"/hotline.v1.AgencyGateway/GetCase\"} 1",
        "hotline_rpc_requests_total{code=\"PERMISSION_DENIED\",rpc=\"/hotline.v1.Operations/GetStatus\"} 1",
        "hotline_rpc_duration_seconds_bucket{rpc=\"/hotline.v1.AppealRegistry/AssignAppeal\"",
        "hotline_agency_streams{authority=\"vodokanal\"} 1",
        "hotline_db_up 1",
        "hotline_deadline_cases{state=\"overdue\"} 0",
        "hotline_db_pool_connections{state=\"max\"}",
        "hotline_agency_last_contact_seconds{authority=\"vodokanal\"}",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    // No personal data in any label or value: not the name, the phone, the address, the text.
    let card = water_complaint();
    let citizen = card.citizen.unwrap();
    for private in [
        citizen.name.as_str(),
        "Петренко",
        citizen.phone.as_str(),
        "0671234567",
        "Січеславська",
        card.text.as_str(),
    ] {
        assert!(!text.contains(private), "`{private}` in the metrics");
    }
    // The appeal number is no label either (numbers go to spans and the audit trail only).
    assert!(!text.contains(&number));

    agency.stop().await;
    let _ = stop.send(true);
    hub.stop().await;
}

async fn shutdown_drops_readiness_before_streams_end<S: Store>(mut hub: TestHub<S>) {
    let channel = hub.channel_as(&staff(StaffRole::Supervisor)).await;
    let mut health = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = health.message().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);
    let mut stream = AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await,
    )
    .stream_cases(pb::StreamCasesRequest::default())
    .await
    .unwrap()
    .into_inner();

    let observe = async move {
        let down = loop {
            let update = tokio::time::timeout(WAIT, health.message())
                .await
                .expect("health changes at shutdown")
                .unwrap()
                .unwrap();
            if update.status == ServingStatus::NotServing as i32 {
                break tokio::time::Instant::now();
            }
        };
        // The watch would hold the connection open through the grace time: leave.
        drop(health);
        loop {
            match tokio::time::timeout(WAIT, stream.message())
                .await
                .expect("the case stream ends at shutdown")
            {
                Ok(Some(delivery)) => assert!(delivery.heartbeat),
                Ok(None) | Err(_) => break (down, tokio::time::Instant::now()),
            }
        }
    };
    let started = tokio::time::Instant::now();
    let ((down, ended), ()) = tokio::join!(observe, hub.shutdown());
    assert!(down < ended, "readiness dropped before the stream ended");
    assert!(
        ended.duration_since(down) >= hub.ops.readiness_delay / 2,
        "the streams ended only after the readiness drop had time to be seen"
    );
    assert!(
        started.elapsed() < hub.ops.shutdown_grace,
        "drained within the grace time"
    );
    hub.stop().await;
}

/// The database configuration `hub backup` and `hub restore` see for `url`.
fn config(url: &str) -> ServeConfig {
    ServeConfig::resolve(
        ServeOptions {
            database_url: Some(url.to_string()),
            no_starter: true,
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

async fn a_restored_backup_lets_agency_clients_resume_without_loss_or_duplicates<
    S: RestoredStore,
>(
    mut hub: TestHub<S>,
) {
    let running = start_agency(&hub, "vodokanal").await;
    let (_, first) = assigned(&hub, &["vodokanal"]).await;
    wait_for("the first case to be delivered", WAIT, || async {
        (case_status(&hub, first[0]).await == CaseStatus::Delivered).then_some(())
    })
    .await;

    let dir = std::env::temp_dir().join(format!("hotline-backup-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hub.backup");
    // Online: the hub keeps serving while the backup is taken.
    backup::backup(&config(&hub.db.url()), &file).await.unwrap();

    // After the backup: a second case reaches the client, so its cursor passes the backup's end.
    let (lost_number, lost) = assigned(&hub, &["vodokanal"]).await;
    wait_for("the second case to reach the client", WAIT, || async {
        (running.agency.local.case(lost[0]).await.unwrap().is_some()).then_some(())
    })
    .await;
    let cursor_before = running.agency.local.cursor().await.unwrap();
    let events_before = running.agency.local.event_count().await.unwrap();

    // The database is lost; the backup is restored; the hub comes back on the same address.
    hub.shutdown().await;
    let (store, db) = S::restore_from(&hub, &file).await;
    hub.reopen(store, db).await;
    let marks = status(&hub, StaffRole::Supervisor).await.unwrap().restores;
    assert_eq!(marks.len(), 1);
    assert!(marks[0].resumed_at_event > marks[0].backup_last_event);
    assert!(
        hub.store
            .load(&AppealKey::Number(lost_number.clone()))
            .await
            .unwrap()
            .is_none()
    );

    // New work after the restore reaches the client once, under ids never seen before.
    let (new_number, fresh) = assigned(&hub, &["vodokanal"]).await;
    assert_ne!(
        new_number, lost_number,
        "appeal numbers are not given twice"
    );
    assert!(!lost.contains(&fresh[0]), "case ids are not given twice");
    wait_for(
        "the new case to be delivered after the restore",
        WAIT,
        || async { (case_status(&hub, fresh[0]).await == CaseStatus::Delivered).then_some(()) },
    )
    .await;
    let local = &running.agency.local;
    let stored_new = local
        .case(fresh[0])
        .await
        .unwrap()
        .expect("new case stored");
    assert_eq!(stored_new.appeal_number, new_number);
    let stored_lost = local.case(lost[0]).await.unwrap().expect("lost case kept");
    assert_eq!(stored_lost.appeal_number, lost_number, "not overwritten");
    // Its cursor moved on from the replaced history onto positions of the restored log.
    let cursor_after = local.cursor().await.unwrap();
    assert_ne!(cursor_after, cursor_before);
    let id_after: i64 = cursor_after.rsplit('.').next().unwrap().parse().unwrap();
    assert!(id_after >= marks[0].resumed_at_event);
    // Nothing delivered twice: only the new case's events were added.
    let events_after = local.event_count().await.unwrap();
    let new_events = hub
        .store
        .load(&AppealKey::Case(fresh[0]))
        .await
        .unwrap()
        .unwrap();
    assert!(events_after > events_before);
    assert!(new_events.cases.len() == 1);
    let acked = wait_for("the acknowledgement of the new case", WAIT, || async {
        let s = status(&hub, StaffRole::Supervisor).await.unwrap();
        let v = s.authorities.into_iter().find(|a| a.code == "vodokanal")?;
        (v.events_behind == 0 && !v.acked_cursor.is_empty()).then_some(v.acked_cursor)
    })
    .await;
    let acked_id: i64 = acked.rsplit('.').next().unwrap().parse().unwrap();
    assert!(
        acked_id >= marks[0].resumed_at_event,
        "acknowledged on the restored log"
    );
    assert!(matches!(
        hub.hotline.verify_audit().await.unwrap(),
        Finding::Intact { .. }
    ));
    // The case from before the backup is still delivered on the hub.
    assert_eq!(case_status(&hub, first[0]).await, CaseStatus::Delivered);

    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    hub.stop().await;
}

/// How a test restores its backup on each database.
trait RestoredStore: Store + Sized {
    /// Restores `file` as `hub restore` does; returns the store over the restored database.
    fn restore_from(
        hub: &TestHub<Self>,
        file: &std::path::Path,
    ) -> impl std::future::Future<Output = (Self, TestDb)> + Send;
}

impl RestoredStore for hotline_hub::store::SqliteStore {
    async fn restore_from(hub: &TestHub<Self>, file: &std::path::Path) -> (Self, TestDb) {
        hub.store.pool().close().await;
        let url = hub.db.url();
        let restored = backup::restore(
            &config(&url),
            &RestoreOptions {
                from: file.to_path_buf(),
                replaced_url: None,
                id_gap: 1_000,
            },
        )
        .await
        .unwrap();
        assert!(
            restored.replaced_kept_at.unwrap().exists(),
            "the replaced file is kept"
        );
        let TestDb::Sqlite(dir) = &hub.db else {
            unreachable!()
        };
        let store = Self::open(&url).await.unwrap();
        (store, TestDb::Sqlite(dir.clone()))
    }
}

impl RestoredStore for hotline_hub::store::PgStore {
    async fn restore_from(hub: &TestHub<Self>, file: &std::path::Path) -> (Self, TestDb) {
        let TestDb::Postgres { admin_url, .. } = &hub.db else {
            unreachable!()
        };
        // Into a new, empty database; the replaced one names the ids already given out.
        let target = TestDb::postgres_at(admin_url).await;
        backup::restore(
            &config(&target.url()),
            &RestoreOptions {
                from: file.to_path_buf(),
                replaced_url: Some(hub.db.url()),
                id_gap: 1_000,
            },
        )
        .await
        .unwrap();
        let store = Self::open(&target.url()).await.unwrap();
        (store, target)
    }
}

on_both!(
    metrics_and_status_show_presence_and_lag,
    shutdown_drops_readiness_before_streams_end,
    a_restored_backup_lets_agency_clients_resume_without_loss_or_duplicates,
);

async fn an_agency_client_serves_its_own_metrics<S: Store>(hub: TestHub<S>) {
    let agency = start_agency(&hub, "vodokanal").await;
    let addr = hotline_agency_client::metrics::listen(
        "127.0.0.1:0".parse().unwrap(),
        agency.agency.local.clone(),
    )
    .await
    .unwrap();
    assigned(&hub, &["vodokanal"]).await;
    let text = wait_for("the client's metrics to show its case", WAIT, || async {
        let text = scrape(addr).await;
        (text.contains("agency_cases 1") && text.contains("agency_connected 1")).then_some(text)
    })
    .await;
    assert!(text.contains("agency_outbox_pending 0"), "{text}");
    assert!(text.contains("agency_hooks_dead 0"), "{text}");
    assert!(!text.contains("agency_last_contact_seconds 0\n"), "{text}");
    for private in ["Петренко", "067 123 45 67", "0671234567", "Січеславська"] {
        assert!(!text.contains(private), "no personal data: {private}");
    }
    agency.stop().await;
    hub.stop().await;
}

on_both!(an_agency_client_serves_its_own_metrics);
