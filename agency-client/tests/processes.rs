//! The real `agency-client` binary as an authority runs it: several processes (the daemon and CLI
//! calls) opening a new store at once, the daemon stopping cleanly on SIGTERM and SIGINT (also with
//! a hook in flight), and bad configuration refused before anything is touched. No hub is needed:
//! the daemon points at a closed port and keeps retrying, which is all these tests ask of it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use hotline_agency_client::local::LocalStore;
use hotline_proto::v1 as pb;

const EXE: &str = env!("CARGO_BIN_EXE_agency-client");
const WAIT: Duration = Duration::from_secs(30);

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agency-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// TLS files for the daemon in `dir/tls` (a self-signed certificate doubles as the CA: nothing
/// connects). Returns the flags naming them.
fn tls_flags(dir: &Path) -> Vec<String> {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["agency.test".to_string()]).unwrap();
    std::fs::write(tls.join("agency.pem"), made.cert.pem()).unwrap();
    std::fs::write(tls.join("agency.key"), made.signing_key.serialize_pem()).unwrap();
    std::fs::write(tls.join("ca.pem"), made.cert.pem()).unwrap();
    let flag = |name: &str, file: &str| [format!("--{name}"), tls.join(file).display().to_string()];
    let mut flags = Vec::new();
    flags.extend(flag("cert", "agency.pem"));
    flags.extend(flag("key", "agency.key"));
    flags.extend(flag("ca", "ca.pem"));
    // Port 1 on loopback: refused at once, so the daemon just keeps retrying.
    flags.extend(["--hub".to_string(), "https://127.0.0.1:1".to_string()]);
    flags
}

/// The daemon, with its log in `dir/daemon.log`.
fn spawn_daemon(data: &Path, dir: &Path, extra: &[String]) -> Child {
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    Command::new(EXE)
        .arg("--data-dir")
        .arg(data)
        .args(tls_flags(dir))
        .args(extra)
        .arg("run")
        .env("AGENCY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn daemon_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
}

/// Waits for `child` to exit, for at most `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `check` returns `Some`, failing after [`WAIT`].
fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// `agency-client --data-dir DATA --json ARGS…`: its JSON output, or the failure.
fn cli(data: &Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new(EXE)
        .arg("--data-dir")
        .arg(data)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!(
            "{args:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn connection(data: &Path) -> String {
    cli(data, &["status"]).unwrap()["connection"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The daemon and five CLI calls start together on a fresh folder, over and over: every one
/// opens the store (before the fix, about half the rounds lost a process to `table state already
/// exists` or `database is locked`). The CLI calls need no TLS files. The daemon then stops
/// cleanly on SIGTERM or SIGINT.
#[test]
fn the_daemon_and_cli_calls_open_a_new_store_at_once() {
    for round in 0..8 {
        let dir = temp_dir("concurrent-open");
        let data = dir.join("data");
        let mut daemon = spawn_daemon(&data, &dir, &[]);
        let calls: Vec<_> = [
            &["status"][..],
            &["cases"],
            &["hooks", "retry"],
            &["status"],
            &["cases", "--status", "accepted"],
        ]
        .into_iter()
        .map(|args| {
            let data = data.clone();
            std::thread::spawn(move || cli(&data, args))
        })
        .collect();
        for call in calls {
            call.join().unwrap().unwrap_or_else(|e| {
                panic!("round {round}: {e}\ndaemon log:\n{}", daemon_log(&dir))
            });
        }
        wait_until("the daemon to try the hub", || {
            (connection(&data) == "disconnected").then_some(())
        });
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "round {round}: the daemon is still running\n{}",
            daemon_log(&dir)
        );
        let signal_name = if round % 2 == 0 { "TERM" } else { "INT" };
        signal(&daemon, signal_name);
        let status = wait_exit(&mut daemon, Duration::from_secs(15)).unwrap_or_else(|| {
            let _ = daemon.kill();
            panic!(
                "SIG{signal_name} did not stop the daemon\n{}",
                daemon_log(&dir)
            )
        });
        assert!(
            status.success(),
            "SIG{signal_name}: {status}\n{}",
            daemon_log(&dir)
        );
        assert_eq!(connection(&data), "stopped");
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Several tasks of one process open a new store at once: each gets a working store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_in_one_process_open_a_new_store_at_once() {
    for _ in 0..20 {
        let dir = temp_dir("concurrent-tasks");
        let opening: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.clone();
                tokio::spawn(async move {
                    let local = LocalStore::open(&dir).await?;
                    local.summary().await?;
                    Ok::<_, hotline_agency_client::local::LocalError>(local)
                })
            })
            .collect();
        for task in opening {
            let local = task.await.unwrap().expect("every opener gets the store");
            local.close().await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Stores one assignment (case 7, event 1) in a new local store at `data`, as the stream would.
async fn seed(data: &Path, citizen: Option<pb::Citizen>) {
    let local = LocalStore::open(data).await.unwrap();
    let delivery = pb::CaseDelivery {
        event: Some(pb::AppealEvent {
            id: 1,
            cursor: "1.1".into(),
            case_id: 7,
            kind: "case.assigned".into(),
            ..Default::default()
        }),
        case: Some(pb::AgencyCase {
            case: Some(pb::Case {
                id: 7,
                ..Default::default()
            }),
            citizen,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(local.store_delivery(&delivery).await.unwrap());
    local.close().await;
}

/// A case already in the local store whose hook hangs: SIGTERM still stops the daemon within its
/// grace, ends the hook with everything it started, and leaves the hook owed for the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemon_with_a_hook_in_flight() {
    let dir = temp_dir("sigterm-hook");
    let data = dir.join("data");
    seed(&data, None).await;

    let pid_file = dir.join("hook.pid");
    let hook = format!("sleep 3600 & echo $! > '{}'; wait", pid_file.display());
    let mut daemon = spawn_daemon(
        &data,
        &dir,
        &[
            "--hook-command".into(),
            hook,
            "--hook-timeout-secs".into(),
            "3600".into(),
        ],
    );
    let hook_pid = wait_until("the hook to start", || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .filter(|p| !p.trim().is_empty())
    });
    let started = Instant::now();
    signal(&daemon, "TERM");
    let status = wait_exit(&mut daemon, Duration::from_secs(15)).unwrap_or_else(|| {
        let _ = daemon.kill();
        panic!("SIGTERM did not stop the daemon\n{}", daemon_log(&dir))
    });
    assert!(status.success(), "{status}\n{}", daemon_log(&dir));
    eprintln!(
        "stopped {:?} after SIGTERM with a hook in flight",
        started.elapsed()
    );
    let proc = PathBuf::from(format!("/proc/{}", hook_pid.trim()));
    wait_until("the hook's process to be gone", || {
        let state = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
        let zombie_or_gone = state.is_empty()
            || state
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z');
        zombie_or_gone.then_some(())
    });
    let status = cli(&data, &["status"]).unwrap();
    assert_eq!(status["connection"], "stopped");
    assert_eq!(
        status["hooks_waiting"], 1,
        "the hook is still owed: {status}"
    );
    assert_eq!(status["hooks_dead"], 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// A bad option is refused by name and touches nothing: no store is created.
#[test]
fn bad_options_are_refused_before_anything_is_touched() {
    let dir = temp_dir("bad-options");
    let data = dir.join("data");
    for (flag, value, named) in [
        ("--hook-max-attempts", "0", "hook_max_attempts"),
        ("--hook-timeout-secs", "0", "hook_timeout_secs"),
        ("--cert-reload-secs", "0", "cert_reload_secs"),
    ] {
        let out = Command::new(EXE)
            .arg("--data-dir")
            .arg(&data)
            .args([flag, value, "status"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{flag}: {stderr}");
    }
    let out = Command::new(EXE)
        .env("AGENCY_HOOK_MAX_ATTEMPTS", "many")
        .arg("--data-dir")
        .arg(&data)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses a non-number");
    assert!(!data.exists(), "nothing was created");
    let _ = std::fs::remove_dir_all(dir);
}

/// A hook that fails while echoing the citizen's contact to stderr: the daemon's log (at TRACE)
/// never shows it; the dead-letter file keeps it, with the last error, for the authority.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_keeps_personal_data_out_of_the_log() {
    let dir = temp_dir("pii-hook");
    let data = dir.join("data");
    let dead = dir.join("dead");
    let citizen = pb::Citizen {
        name: "Петренко Ганна Іванівна".into(),
        phone: "067 123 45 67".into(),
        address: "м. Дніпро, вул. Січеславська Набережна, 15, кв. 7".into(),
        email: "hanna.petrenko@example.org".into(),
    };
    seed(&data, Some(citizen.clone())).await;
    let mut daemon = Command::new(EXE)
        .arg("--data-dir")
        .arg(&data)
        .args(tls_flags(&dir))
        .args([
            "--hook-command",
            "cat >&2; exit 4",
            "--hook-max-attempts",
            "2",
        ])
        .arg("--dead-letter-dir")
        .arg(&dead)
        .arg("run")
        .env("AGENCY_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let letter = dead.join("000000000001-case.assigned.json");
    let letter: serde_json::Value = wait_until("the payload to be dead-lettered", || {
        serde_json::from_slice(&std::fs::read(&letter).ok()?).ok()
    });
    signal(&daemon, "TERM");
    let status = wait_exit(&mut daemon, Duration::from_secs(15)).unwrap_or_else(|| {
        let _ = daemon.kill();
        panic!("SIGTERM did not stop the daemon")
    });
    assert!(status.success());
    let log = daemon_log(&dir);
    assert!(
        log.contains("hook failed"),
        "the failures are logged:\n{log}"
    );
    for personal in [
        &citizen.name,
        &citizen.phone,
        &citizen.address,
        &citizen.email,
    ] {
        assert!(
            !log.contains(personal.as_str()),
            "{personal} in the log:\n{log}"
        );
    }
    let error = letter["last_error"].as_str().unwrap();
    assert!(error.contains("exit status: 4"), "{error}");
    assert!(
        error.contains(&citizen.phone),
        "the hook's stderr is kept: {error}"
    );
    assert_eq!(letter["case"]["citizen"]["name"], citizen.name.as_str());
    // Once the hook is fixed, `hooks retry` puts the event back in the queue.
    assert_eq!(cli(&data, &["status"]).unwrap()["hooks_dead"], 1);
    assert_eq!(cli(&data, &["hooks", "retry"]).unwrap()["requeued"], 1);
    let status = cli(&data, &["status"]).unwrap();
    assert_eq!(
        (
            status["hooks_waiting"].as_i64(),
            status["hooks_dead"].as_i64()
        ),
        (Some(1), Some(0))
    );
    let _ = std::fs::remove_dir_all(dir);
}
