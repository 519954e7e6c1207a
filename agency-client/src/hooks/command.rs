//! Running the authority's hook command once: `sh -c COMMAND` with the payload on stdin, bounded by
//! a timeout. The command runs in its own process group so that a timeout (or the daemon stopping)
//! ends everything it started, not just the shell. Its stderr is kept (the last
//! [`STDERR_TAIL`] bytes) for the queue and the dead-letter file — never for the logs, since a
//! hook may echo the case, citizen's contact included.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How much of a failed hook's stderr is kept.
const STDERR_TAIL: usize = 2048;
/// After the command exits, how long to wait for the rest of its stderr (a background child of the
/// hook may hold the pipe open for ever).
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFailure {
    /// What happened, free of payload data: safe to log.
    pub summary: String,
    /// The end of what the command wrote to stderr (may hold anything: not for logs).
    pub stderr: String,
}

impl HookFailure {
    fn new(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            stderr: String::new(),
        }
    }

    /// Summary and stderr together, for the queue and the dead-letter file.
    pub fn detail(&self) -> String {
        if self.stderr.is_empty() {
            self.summary.clone()
        } else {
            format!("{}; stderr: {}", self.summary, self.stderr)
        }
    }
}

/// Kills a process group when dropped, unless disarmed: covers the timeout and cancellation.
struct GroupKiller(Option<u32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(group) = self.0.take() {
            // std has no killpg and this crate forbids `unsafe`: `kill` does it.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Keeps the last [`STDERR_TAIL`] bytes read from `stderr` in `tail`.
async fn keep_tail(mut stderr: tokio::process::ChildStderr, tail: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut tail = tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tail.extend_from_slice(&buf[..n]);
        let excess = tail.len().saturating_sub(STDERR_TAIL);
        tail.drain(..excess);
    }
}

/// Runs `command` with `payload` on stdin and `AGENCY_EVENT_KIND`, `AGENCY_CASE_ID` set; succeeds
/// when it exits 0 within `timeout`.
pub async fn run(
    command: &str,
    payload: &[u8],
    kind: &str,
    case_id: i64,
    timeout: Duration,
) -> Result<(), HookFailure> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        // Hub data: NUL cannot pass through the environment.
        .env("AGENCY_EVENT_KIND", kind.replace('\0', "_"))
        .env("AGENCY_CASE_ID", case_id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| HookFailure::new(format!("cannot start the hook: {e}")))?;
    let mut killer = GroupKiller(child.id());
    let tail = Arc::new(Mutex::new(Vec::new()));
    let reader = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(keep_tail(stderr, tail.clone())));
    let stdin = child.stdin.take();
    let interaction = async {
        if let Some(mut stdin) = stdin {
            // A hook that does not read its stdin is not an error: its exit status decides.
            match stdin.write_all(payload).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(HookFailure::new(format!("hook stdin: {e}"))),
            }
        }
        child
            .wait()
            .await
            .map_err(|e| HookFailure::new(format!("hook: {e}")))
    };
    let outcome = tokio::time::timeout(timeout, interaction).await;
    if matches!(outcome, Ok(Ok(_))) {
        // It exited by itself: whatever it left running in the background is its own business.
        killer.0 = None;
    }
    drop(killer);
    if let Some(mut reader) = reader
        && tokio::time::timeout(STDERR_GRACE, &mut reader)
            .await
            .is_err()
    {
        // A leftover of the hook holds the pipe: keep what was read.
        reader.abort();
    }
    let stderr = String::from_utf8_lossy(
        &tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .trim()
    .to_string();
    match outcome {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(HookFailure {
            summary: format!("hook exited with {status}"),
            stderr,
        }),
        Ok(Err(failure)) => Err(HookFailure { stderr, ..failure }),
        Err(_) => Err(HookFailure {
            summary: format!(
                "hook ran longer than {}s and was stopped",
                timeout.as_secs_f32()
            ),
            stderr,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn a_hook_gets_the_payload_and_its_exit_status_decides() {
        let dir = std::env::temp_dir().join(format!("agency-hook-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("got.json");
        let command = format!(
            "cat > '{}' && test \"$AGENCY_EVENT_KIND\" = case.assigned && test \"$AGENCY_CASE_ID\" = 7",
            out.display()
        );
        run(&command, b"{\"x\":1}", "case.assigned", 7, LONG)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"{\"x\":1}");

        let failure = run("echo 'EDMS said no' >&2; exit 3", b"{}", "k", 1, LONG)
            .await
            .unwrap_err();
        assert!(failure.summary.contains("exit status: 3"), "{failure:?}");
        assert_eq!(failure.stderr, "EDMS said no");
        assert!(
            !failure.summary.contains("EDMS"),
            "stderr stays out of the summary"
        );
        // A hook that ignores a large stdin and succeeds is a success.
        run("exit 0", &vec![b'x'; 1 << 20], "k", 1, LONG)
            .await
            .unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_hanging_hook_is_stopped_at_its_timeout_with_everything_it_started() {
        let dir = std::env::temp_dir().join(format!("agency-hook-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("pid");
        // A grandchild (the backgrounded sleep) that the shell waits for.
        let command = format!("sleep 600 & echo $! > '{}'; wait", pid_file.display());
        let started = std::time::Instant::now();
        let failure = run(&command, b"{}", "k", 1, Duration::from_millis(500))
            .await
            .unwrap_err();
        assert!(failure.summary.contains("longer than"), "{failure:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        // Killed processes may linger a moment as zombies of init; wait for them to go.
        while proc.exists() && !is_zombie(&proc) {
            assert!(
                std::time::Instant::now() < deadline,
                "the hook's child survived its timeout"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    fn is_zombie(proc: &std::path::Path) -> bool {
        std::fs::read_to_string(proc.join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
    }
}
