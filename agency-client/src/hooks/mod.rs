//! The authority's own systems learn of new and changed cases through hooks: a command that gets
//! the case as JSON on stdin, and/or a JSON file written into an inbox folder.
//!
//! Hooks run in their own task, fed from the local store's hook queue (an entry is written in the
//! same transaction that stores the event), so the case stream never waits for a hook and nothing
//! is lost across restarts. Each event's hooks run at least once, in event order within a case. A
//! failure is retried after 1 s, 2 s, 4 s, … (at most [`RETRY_MAX`]); after the configured number of
//! attempts the payload is written, with the last error, to the dead-letter folder and the queue
//! moves on. `agency-client hooks retry` puts dead-lettered events back in the queue.

pub mod command;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hotline_proto::render::{agency_case_json, event_json};
use hotline_proto::v1 as pb;
use tokio::sync::{Notify, watch};

use crate::files::{safe_file_name, write_confined};
use crate::local::{HookJob, LocalResult, LocalStore};
use command::HookFailure;

/// Pause after the first failed attempt; doubled after each further one.
const RETRY_FIRST: Duration = Duration::from_secs(1);
/// Longest pause between attempts.
const RETRY_MAX: Duration = Duration::from_secs(300);
/// How long a hook in flight may go on once the daemon is asked to stop; then it is killed and
/// runs again at the next start.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often the queue is looked at when nothing wakes the runner (`hooks retry` runs in another
/// process).
const IDLE_POLL: Duration = Duration::from_secs(5);

/// The pause after `attempts` failed attempts.
pub fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (RETRY_FIRST * 2u32.pow(doublings)).min(RETRY_MAX)
}

/// The file name for an event's payload (inbox and dead letters): its id and its kind, the kind
/// (hub data) reduced to a safe name.
pub fn payload_file_name(event: &pb::AppealEvent) -> String {
    format!(
        "{:012}-{}.json",
        event.id,
        safe_file_name(&event.kind, "event")
    )
}

/// What the hooks get: the event and its case.
fn payload(job: &HookJob) -> serde_json::Value {
    serde_json::json!({ "event": event_json(&job.event), "case": agency_case_json(&job.case) })
}

fn millis_now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs the hooks of stored events until told to stop.
#[derive(Debug, Clone)]
pub struct HookRunner {
    /// The queue.
    pub local: LocalStore,
    /// The hook command, if any.
    pub command: Option<String>,
    /// The inbox folder, if any.
    pub inbox_dir: Option<PathBuf>,
    /// Where given-up payloads go.
    pub dead_letter_dir: PathBuf,
    /// Longest run of the command.
    pub timeout: Duration,
    /// Attempts before an event is dead-lettered.
    pub max_attempts: u32,
    /// Rung when the stream stores a new event.
    pub wake: Arc<Notify>,
}

impl HookRunner {
    /// Works the queue until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> LocalResult<()> {
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if self.command.is_none() && self.inbox_dir.is_none() {
                // Nothing to run: clear the queue in one go rather than event by event.
                self.local.skip_waiting_hooks().await?;
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
                continue;
            }
            let now = millis_now();
            if let Some(job) = self.local.next_hook(now).await? {
                if !self.attempt(job, &mut stop).await? {
                    return Ok(());
                }
                continue;
            }
            let wait = match self.local.next_hook_due().await? {
                Some(due) => Duration::from_millis(due.saturating_sub(now).max(1) as u64),
                None => IDLE_POLL,
            }
            .min(IDLE_POLL);
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
    }

    /// One attempt at `job`'s hooks, recorded in the queue. Returns false when stopping cut it short
    /// (nothing recorded: it runs again at the next start).
    async fn attempt(&self, job: HookJob, stop: &mut watch::Receiver<bool>) -> LocalResult<bool> {
        let bytes = serde_json::to_vec_pretty(&payload(&job)).expect("JSON values serialize");
        let deliver = self.deliver(&job, &bytes);
        tokio::pin!(deliver);
        let finished = tokio::select! {
            outcome = &mut deliver => Some(outcome),
            _ = stop.wait_for(|s| *s) => None,
        };
        let outcome = match finished {
            Some(outcome) => outcome,
            None => match tokio::time::timeout(SHUTDOWN_GRACE, &mut deliver).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    tracing::info!(
                        event = job.event.id,
                        "stopping: the hook in flight was ended; it runs again at the next start"
                    );
                    return Ok(false);
                }
            },
        };
        let event = &job.event;
        let attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
        match outcome {
            Ok(()) => self.local.hook_done(event.id).await?,
            Err(failure) if attempts >= self.max_attempts => {
                let written = self.dead_letter(&job, attempts, &failure).await;
                let mut detail = failure.detail();
                match written {
                    Ok(path) => tracing::warn!(
                        event = event.id, case = event.case_id, attempts, error = %failure.summary,
                        file = %path.display(), "hook failed every attempt; payload dead-lettered"
                    ),
                    Err(err) => {
                        tracing::error!(
                            event = event.id, case = event.case_id, attempts, error = %failure.summary,
                            dead_letter_error = %err, "hook failed every attempt and the dead-letter file could not be written"
                        );
                        detail = format!("{detail}; dead-letter file: {err}");
                    }
                }
                self.local.hook_dead(event.id, &detail).await?;
            }
            Err(failure) => {
                let delay = retry_delay(attempts);
                tracing::warn!(
                    event = event.id, case = event.case_id, attempt = attempts, of = self.max_attempts,
                    retry_in = ?delay, error = %failure.summary, "hook failed"
                );
                let next = millis_now() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                self.local
                    .hook_failed(event.id, &failure.detail(), next)
                    .await?;
            }
        }
        Ok(true)
    }

    /// The command (if any), then the inbox file (if any).
    async fn deliver(&self, job: &HookJob, bytes: &[u8]) -> Result<(), HookFailure> {
        if let Some(command) = &self.command {
            command::run(
                command,
                bytes,
                &job.event.kind,
                job.event.case_id,
                self.timeout,
            )
            .await?;
        }
        if let Some(dir) = &self.inbox_dir {
            write_payload(dir, &job.event, bytes.to_vec())
                .await
                .map_err(|e| HookFailure {
                    summary: format!("inbox file: {e}"),
                    stderr: String::new(),
                })?;
        }
        Ok(())
    }

    /// Writes the payload with the last error into the dead-letter folder.
    async fn dead_letter(
        &self,
        job: &HookJob,
        attempts: u32,
        failure: &HookFailure,
    ) -> Result<PathBuf, String> {
        let mut letter = payload(job);
        letter["attempts"] = attempts.into();
        letter["last_error"] = failure.detail().into();
        letter["dead_lettered_at"] = chrono::Utc::now().to_rfc3339().into();
        let bytes = serde_json::to_vec_pretty(&letter).expect("JSON values serialize");
        write_payload(&self.dead_letter_dir, &job.event, bytes).await
    }
}

/// Writes an event's payload into `dir` under its safe name, off the async threads.
async fn write_payload(
    dir: &std::path::Path,
    event: &pb::AppealEvent,
    bytes: Vec<u8>,
) -> Result<PathBuf, String> {
    let (dir, name) = (dir.to_path_buf(), payload_file_name(event));
    tokio::task::spawn_blocking(move || write_confined(&dir, &name, &bytes))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_ceiling() {
        let delays: Vec<u64> = (1..=10).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(retry_delay(u32::MAX), RETRY_MAX);
    }

    /// Runs `runner` until the queue holds no waiting event (or fails the test after 20 s).
    async fn drain(runner: HookRunner) {
        let (stop, stopped) = watch::channel(false);
        let local = runner.local.clone();
        let task = tokio::spawn(runner.run(stopped));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while local.summary().await.unwrap().hooks_waiting > 0 {
            assert!(tokio::time::Instant::now() < deadline, "the queue drains");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn inbox_and_dead_letter_files_stay_in_their_folders_whatever_the_kind() {
        let root = std::env::temp_dir().join(format!("agency-runner-{}", uuid::Uuid::new_v4()));
        let local = LocalStore::open(&root.join("data")).await.unwrap();
        let hostile = pb::CaseDelivery {
            event: Some(pb::AppealEvent {
                id: 5,
                cursor: "1.5".into(),
                case_id: 9,
                kind: "../../../escaped".into(),
                ..Default::default()
            }),
            case: Some(pb::AgencyCase {
                case: Some(pb::Case {
                    id: 9,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(local.store_delivery(&hostile).await.unwrap());
        let runner = HookRunner {
            local: local.clone(),
            command: None,
            inbox_dir: Some(root.join("a/b/inbox")),
            dead_letter_dir: root.join("a/b/dead"),
            timeout: Duration::from_secs(10),
            max_attempts: 1,
            wake: Arc::new(Notify::new()),
        };
        drain(runner.clone()).await;
        let inbox = root.join("a/b/inbox/000000000005-escaped.json");
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&inbox).unwrap()).unwrap();
        assert_eq!(written["event"]["kind"], "../../../escaped");
        assert!(!root.join("escaped").exists() && !root.join("a/escaped").exists());

        // A failing command with a cap of one: dead-lettered at once, inside its folder.
        let mut again = hostile.clone();
        again.event.as_mut().unwrap().id = 6;
        assert!(local.store_delivery(&again).await.unwrap());
        let runner_with_failing_command = HookRunner {
            command: Some("exit 1".into()),
            ..runner
        };
        drain(runner_with_failing_command.clone()).await;
        let letter = root.join("a/b/dead/000000000006-escaped.json");
        let letter: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&letter).unwrap()).unwrap();
        assert_eq!(letter["attempts"], 1);
        assert!(
            letter["last_error"]
                .as_str()
                .unwrap()
                .contains("exit status: 1")
        );
        let summary = local.summary().await.unwrap();
        assert_eq!((summary.hooks_waiting, summary.hooks_dead), (0, 1));

        // With no hook configured, whatever waits is cleared as done; dead letters stay.
        let mut third = hostile.clone();
        third.event.as_mut().unwrap().id = 7;
        assert!(local.store_delivery(&third).await.unwrap());
        drain(HookRunner {
            command: None,
            inbox_dir: None,
            ..runner_with_failing_command
        })
        .await;
        let summary = local.summary().await.unwrap();
        assert_eq!((summary.hooks_waiting, summary.hooks_dead), (0, 1));
        assert!(!root.join("a/b/inbox/000000000007-escaped.json").exists());
        local.close().await;
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn payload_files_are_named_by_event_with_a_safe_kind() {
        let event = |id, kind: &str| pb::AppealEvent {
            id,
            kind: kind.into(),
            ..Default::default()
        };
        assert_eq!(
            payload_file_name(&event(42, "case.assigned")),
            "000000000042-case.assigned.json"
        );
        assert_eq!(
            payload_file_name(&event(7, "../../../etc/cron.d/x")),
            "000000000007-x.json"
        );
        assert_eq!(
            payload_file_name(&event(7, "..")),
            "000000000007-event.json"
        );
        assert_eq!(payload_file_name(&event(7, "a\0/b")), "000000000007-b.json");
    }
}
