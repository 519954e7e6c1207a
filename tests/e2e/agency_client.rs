//! The agency client's daemon under trouble, against a real hub over mutual TLS, on SQLite and
//! PostgreSQL: a hook that hangs or always fails never holds up the case stream (and a failing
//! payload ends in the dead-letter folder after the attempt cap), deliveries are acknowledged in
//! batches and before the daemon stops, and a certificate rotated on disk is picked up (a broken
//! one is not). The SIGTERM and concurrent-open process tests are in `agency-client/tests/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hotline_agency_client::{Action, Agency, ClientConfig, DaemonConfig};
use hotline_hub::domain::CaseStatus;
use hotline_hub::principal::Principal;
use hotline_hub::store::{AppealKey, Store};
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, on_both, tls_channel, wait_for, water_complaint};
use tokio::sync::watch;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const WAIT: Duration = Duration::from_secs(60);

/// A daemon running in this process.
struct Daemon {
    agency: Agency,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(config: ClientConfig, daemon: DaemonConfig) -> Daemon {
    let agency = Agency::open_with(config, daemon)
        .await
        .expect("open agency client");
    let (stop, mut stopped) = watch::channel(false);
    let running = agency.clone();
    let task = tokio::spawn(async move {
        running
            .run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .expect("agency daemon");
    });
    Daemon { agency, stop, task }
}

impl Daemon {
    /// Asks the daemon to stop and fails the test unless it has stopped within `limit`.
    async fn stop_within(self, limit: Duration) -> Agency {
        let _ = self.stop.send(true);
        tokio::time::timeout(limit, self.task)
            .await
            .expect("the daemon stops in time")
            .unwrap();
        self.agency
    }
}

async fn assign<S: Store>(hub: &TestHub<S>, authority: &str) -> i64 {
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
            number: appeal.number,
            assignments: vec![pb::Assignment {
                authority_code: authority.into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assigned.cases[0].id
}

async fn status<S: Store>(hub: &TestHub<S>, case_id: i64) -> CaseStatus {
    let state = hub
        .store
        .load(&AppealKey::Case(case_id))
        .await
        .unwrap()
        .unwrap();
    state.cases.iter().find(|c| c.id == case_id).unwrap().status
}

async fn wait_stored(agency: &Agency, case_id: i64) {
    wait_for(
        &format!("case {case_id} in the local store"),
        WAIT,
        || async { agency.local.case(case_id).await.unwrap() },
    )
    .await;
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json_files(dir: &Path, containing: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.ends_with(".json") && name.contains(containing)
    });
    files.sort();
    files
}

fn alive(pid: &str) -> bool {
    // A killed process may linger a moment as a zombie; that is not alive.
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// A hook that hangs (far longer than the test's patience) does not hold up the stream: every new
/// case is stored and acknowledged while the first hook still runs. Stopping the daemon ends the
/// hook with everything it started, and the hooks owed run at the next start: nothing is lost.
async fn a_hanging_hook_does_not_hold_up_the_case_stream<S: Store>(hub: TestHub<S>) {
    let work = temp_dir("hanging-hook");
    let pids = work.join("pids");
    let mut config = hub.agency_config("vodokanal");
    config.hook_command = Some(format!(
        "sleep 3600 & echo $! >> '{}'; wait",
        pids.display()
    ));
    let daemon = DaemonConfig {
        hook_timeout: Duration::from_secs(600),
        ..DaemonConfig::default()
    };
    let running = start(config.clone(), daemon.clone()).await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(assign(&hub, "vodokanal").await);
    }
    for &case_id in &cases {
        wait_stored(&running.agency, case_id).await;
        wait_for("the hub to hear the case was delivered", WAIT, || async {
            (status(&hub, case_id).await == CaseStatus::Delivered).then_some(())
        })
        .await;
    }
    let hook_pid = wait_for("the first hook to start", WAIT, || async {
        std::fs::read_to_string(&pids)
            .ok()
            .filter(|p| !p.trim().is_empty())
    })
    .await;
    assert_eq!(
        hook_pid.lines().count(),
        1,
        "one hook at a time, and it hangs"
    );
    assert!(alive(&hook_pid));
    let summary = running.agency.local.summary().await.unwrap();
    assert!(summary.hooks_waiting >= 3, "{summary:?}");

    // Stopping does not wait for the hook past its grace, and leaves nothing running.
    let agency = running.stop_within(Duration::from_secs(15)).await;
    wait_for("the hung hook's process to be gone", WAIT, || async {
        (!alive(&hook_pid)).then_some(())
    })
    .await;
    assert_eq!(agency.local.summary().await.unwrap().connection, "stopped");

    // A working hook at the next start runs every hook still owed, once.
    let seen = work.join("seen");
    config.hook_command = Some(format!(
        "cat > /dev/null; echo \"$AGENCY_CASE_ID $AGENCY_EVENT_KIND\" >> '{}'",
        seen.display()
    ));
    let running = start(config, daemon).await;
    wait_for("every owed hook to run", WAIT, || async {
        let s = running.agency.local.summary().await.unwrap();
        (s.hooks_waiting == 0 && s.hooks_dead == 0).then_some(())
    })
    .await;
    let lines = std::fs::read_to_string(&seen).unwrap();
    for case_id in &cases {
        let assigned = format!("{case_id} case.assigned");
        assert_eq!(
            lines.lines().filter(|l| *l == assigned).count(),
            1,
            "{lines}"
        );
    }
    running.stop_within(Duration::from_secs(15)).await;
    let _ = std::fs::remove_dir_all(work);
    hub.stop().await;
}

/// A hook that always fails is tried exactly the configured number of times, with growing pauses,
/// while new cases keep arriving; then its payload is in the dead-letter folder with the last error.
async fn a_failing_hook_is_dead_lettered_after_the_attempt_cap<S: Store>(hub: TestHub<S>) {
    let work = temp_dir("failing-hook");
    let runs = work.join("runs");
    let dead = work.join("dead-letter");
    let mut config = hub.agency_config("vodokanal");
    config.hook_command = Some(format!(
        "cat > /dev/null; echo \"$AGENCY_CASE_ID $AGENCY_EVENT_KIND\" >> '{}'; echo 'EDMS refused the import' >&2; exit 3",
        runs.display()
    ));
    let daemon = DaemonConfig {
        hook_max_attempts: 3,
        dead_letter_dir: Some(dead.clone()),
        ..DaemonConfig::default()
    };
    let running = start(config, daemon).await;
    let first = assign(&hub, "vodokanal").await;
    wait_stored(&running.agency, first).await;
    // While the first case's hook is failing and backing off, the next case arrives at once.
    wait_for("the first hook to fail", WAIT, || async {
        std::fs::read_to_string(&runs).ok()
    })
    .await;
    let second = assign(&hub, "vodokanal").await;
    wait_stored(&running.agency, second).await;

    let letters = wait_for("both assignments dead-lettered", WAIT, || async {
        let files = json_files(&dead, "case.assigned");
        (files.len() == 2).then_some(files)
    })
    .await;
    let mut dead_cases = Vec::new();
    for path in &letters {
        let letter: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(letter["attempts"], 3, "{letter}");
        let error = letter["last_error"].as_str().unwrap();
        assert!(error.contains("exit status: 3"), "{error}");
        assert!(error.contains("EDMS refused the import"), "{error}");
        assert_eq!(letter["event"]["kind"], "case.assigned");
        assert!(letter["dead_lettered_at"].is_string());
        dead_cases.push(letter["event"]["case_id"].as_i64().unwrap());
    }
    dead_cases.sort();
    assert_eq!(dead_cases, [first, second]);
    // Exactly the cap: three runs for each assignment.
    let lines = std::fs::read_to_string(&runs).unwrap();
    for case_id in [first, second] {
        let assigned = format!("{case_id} case.assigned");
        assert_eq!(
            lines.lines().filter(|l| *l == assigned).count(),
            3,
            "{lines}"
        );
    }
    // The file is written first, then the queue marks the event dead (a crash in between retries
    // once more rather than losing the letter).
    wait_for("status to count the dead letters", WAIT, || async {
        let s = running.agency.local.summary().await.unwrap();
        (s.hooks_dead >= 2).then_some(())
    })
    .await;
    running.stop_within(Duration::from_secs(15)).await;
    let _ = std::fs::remove_dir_all(work);
    hub.stop().await;
}

/// A backlog delivered in a burst is acknowledged in a few `AckEvents` calls, not one per event;
/// what is stored just before the daemon stops is acknowledged before it exits.
async fn deliveries_are_acknowledged_in_batches<S: Store>(hub: TestHub<S>) {
    let mut backlog = Vec::new();
    for _ in 0..30 {
        backlog.push(assign(&hub, "vodokanal").await);
    }
    let running = start(hub.agency_config("vodokanal"), DaemonConfig::default()).await;
    for &case_id in &backlog {
        wait_for("the backlog delivered", WAIT, || async {
            (status(&hub, case_id).await == CaseStatus::Delivered).then_some(())
        })
        .await;
    }
    // The backlog reaches the client in one burst: a handful of calls cover all 30 events. (The
    // `case.delivered` events those calls cause trickle in afterwards, one hub transaction each,
    // and are acknowledged as they come; they are not counted here.)
    // (The hub marks the cases during the call; its answer may still be on the way.)
    let backlog_acks = wait_for("the acknowledgement's answer", WAIT, || async {
        let acks = running.agency.acknowledgements();
        (acks >= 1).then_some(acks)
    })
    .await;
    eprintln!("30 backlog events delivered with {backlog_acks} acknowledgements");
    assert!(
        backlog_acks <= 5,
        "{backlog_acks} acknowledgements for a backlog of 30"
    );
    let feed = hotline_tests::settled_events(&hub, Some("vodokanal"))
        .await
        .len() as i64;
    wait_for("the client to store its whole feed", WAIT, || async {
        (running.agency.local.event_count().await.unwrap() == feed).then_some(())
    })
    .await;
    eprintln!(
        "{feed} events stored, {} acknowledgements",
        running.agency.acknowledgements()
    );

    // Stored, then stopped at once: the hub hears of it before the daemon is gone.
    let last = assign(&hub, "vodokanal").await;
    wait_stored(&running.agency, last).await;
    let agency = running.stop_within(Duration::from_secs(15)).await;
    assert_eq!(status(&hub, last).await, CaseStatus::Delivered);
    let summary = agency.local.summary().await.unwrap();
    assert_eq!(summary.acked, summary.cursor, "{summary:?}");
    hub.stop().await;
}

/// A clerk who accepts a case the moment it arrives (inside the batching window) still leaves the
/// hub's record in order: `delivered`, then `accepted` — reports are preceded by an acknowledgement
/// of everything stored.
async fn a_case_accepted_at_once_is_delivered_first<S: Store>(hub: TestHub<S>) {
    let running = start(hub.agency_config("vodokanal"), DaemonConfig::default()).await;
    let case_id = assign(&hub, "vodokanal").await;
    wait_stored(&running.agency, case_id).await;
    running.agency.act(case_id, Action::Accept).await.unwrap();
    wait_for("the accept to be applied", WAIT, || async {
        (status(&hub, case_id).await == CaseStatus::Accepted).then_some(())
    })
    .await;
    let kinds: Vec<String> = hotline_tests::settled_events(&hub, Some("vodokanal"))
        .await
        .into_iter()
        .filter(|e| e.case_id == Some(case_id))
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["case.assigned", "case.delivered", "case.accepted"],
        "{kinds:?}"
    );
    running.stop_within(Duration::from_secs(15)).await;
    hub.stop().await;
}

/// Connects with `cert_pem`/`key_pem` and makes one health check.
async fn health_check<S: Store>(
    hub: &TestHub<S>,
    cert_pem: &str,
    key_pem: &str,
) -> Result<(), String> {
    let identity = hotline_hub::pki::Issued {
        cert_pem: cert_pem.into(),
        key_pem: key_pem.into(),
    };
    let channel = tls_channel(hub.addr, hub.pki.ca.cert_pem(), Some(&identity))
        .await
        .map_err(|e| format!("{e:?}"))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// Writes a file whole (temporary name, then rename), as a careful rotation script does.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The daemon keeps its identity when the files on disk are broken, and takes a rotated
/// certificate without a restart: after the old one is revoked and the hub restarted (every
/// connection dropped), cases still arrive and reports still go out.
async fn a_rotated_certificate_is_picked_up<S: Store>(mut hub: TestHub<S>) {
    let config = hub.agency_config("vodokanal");
    let daemon = DaemonConfig {
        cert_reload: Duration::from_millis(200),
        ..DaemonConfig::default()
    };
    let running = start(config.clone(), daemon).await;
    let first = assign(&hub, "vodokanal").await;
    wait_stored(&running.agency, first).await;
    let old_cert = std::fs::read_to_string(&config.cert).unwrap();
    let old_key = std::fs::read_to_string(&config.key).unwrap();

    // Broken files are refused, said so in `status`, and the current identity kept.
    replace(&config.cert, "not a certificate");
    wait_for("the broken certificate to be refused", WAIT, || async {
        let s = running.agency.local.summary().await.unwrap();
        s.last_error.contains("client certificate").then_some(())
    })
    .await;
    hub.restart().await;
    let second = assign(&hub, "vodokanal").await;
    wait_stored(&running.agency, second).await;

    // Rotation: the new key and certificate on disk, the old certificate revoked, every
    // connection dropped. Only a client that took the new identity gets back in.
    let new = hub.pki.client(&Principal::Agency {
        authority: "vodokanal".into(),
    });
    replace(&config.key, &new.key_pem);
    replace(&config.cert, &new.cert_pem);
    hub.pki.ca.revoke(&old_cert).unwrap();
    // (Under TLS 1.3 the refusal may also surface as a closed connection: wait for the alert.)
    wait_for("the hub to refuse the old certificate", WAIT, || async {
        health_check(&hub, &old_cert, &old_key)
            .await
            .err()
            .filter(|e| e.contains("CertificateRevoked"))
    })
    .await;
    hub.restart().await;
    let third = assign(&hub, "vodokanal").await;
    wait_stored(&running.agency, third).await;
    running.agency.act(third, Action::Accept).await.unwrap();
    wait_for("the accept sent with the new identity", WAIT, || async {
        (status(&hub, third).await == CaseStatus::Accepted).then_some(())
    })
    .await;
    let agency = running.stop_within(Duration::from_secs(15)).await;
    assert_eq!(agency.local.summary().await.unwrap().outbox_pending, 0);
    hub.stop().await;
}

on_both!(
    a_hanging_hook_does_not_hold_up_the_case_stream,
    a_failing_hook_is_dead_lettered_after_the_attempt_cap,
    deliveries_are_acknowledged_in_batches,
    a_case_accepted_at_once_is_delivered_first,
    a_rotated_certificate_is_picked_up,
);
