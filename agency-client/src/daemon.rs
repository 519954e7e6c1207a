//! The daemon: [`Agency::run`] starts its tasks — the case stream, the acknowledger, the outbox
//! sender, the hook runner and the TLS file watcher — and stops them all, gracefully, when its
//! shutdown future resolves (SIGTERM or SIGINT in the binary) or when one of them fails.
//!
//! Stopping: the stream stops reading (a delivery being stored is finished), the acknowledger sends
//! what is committed, a report or hook in flight gets a few seconds to finish (else it is redone,
//! idempotently, at the next start), and the state says `stopped`.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::client::{Agency, ClientError, Sent};
use crate::hooks::HookRunner;
use crate::identity;
use crate::stream::Committed;

/// How long a report being sent may go on once the daemon is asked to stop.
const OUTBOX_GRACE: Duration = Duration::from_secs(5);

impl Agency {
    /// Sends the outbox whenever something is written or the retry time comes, until `stop`.
    async fn deliver_outbox(&self, mut stop: watch::Receiver<bool>) -> Result<(), ClientError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            let send = self.send_pending();
            tokio::pin!(send);
            let results = tokio::select! {
                results = &mut send => Some(results?),
                _ = stop.wait_for(|s| *s) => None,
            };
            let Some(results) = results else {
                // Its answer is worth keeping; a slow hub is not waited for (the report stays in the
                // outbox and is resent with the same id at the next start).
                if let Ok(results) = tokio::time::timeout(OUTBOX_GRACE, &mut send).await {
                    results?;
                }
                return Ok(());
            };
            let wait = if results.iter().any(|(_, r)| matches!(r, Sent::Queued(_))) {
                backoff = (backoff * 2).min(self.config.max_backoff);
                backoff
            } else {
                backoff = Duration::from_millis(200);
                self.config.outbox_poll
            };
            tokio::select! {
                () = self.outbox_wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
    }

    /// The hook runner this daemon's configuration describes.
    fn hook_runner(&self) -> HookRunner {
        HookRunner {
            local: self.local.clone(),
            command: self.config.hook_command.clone(),
            inbox_dir: self.config.inbox_dir.clone(),
            dead_letter_dir: self.daemon.dead_letter_dir(&self.config.data_dir),
            timeout: self.daemon.hook_timeout,
            max_attempts: self.daemon.hook_max_attempts.max(1),
            wake: self.hook_wake.clone(),
        }
    }

    /// The daemon: runs until `shutdown` resolves, then stops gracefully. Returns the first error
    /// of any task (the others are stopped too).
    pub async fn run(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ClientError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (committed_tx, committed_rx) = watch::channel(Committed::default());
        let mut tasks: JoinSet<(&'static str, Result<(), ClientError>)> = JoinSet::new();
        let agency = self.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let run = || agency.follow(stop.clone(), &committed_tx);
            ("stream", resuming("stream", stop.clone(), run).await)
        });
        let agency = self.clone();
        tasks.spawn(async move { ("acknowledger", agency.acknowledge(committed_rx).await) });
        let agency = self.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let run = || agency.deliver_outbox(stop.clone());
            ("outbox", resuming("outbox", stop.clone(), run).await)
        });
        let runner = self.hook_runner();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let run = || {
                let (runner, stop) = (runner.clone(), stop.clone());
                async move { runner.run(stop).await.map_err(ClientError::from) }
            };
            ("hooks", resuming("hooks", stop.clone(), run).await)
        });
        let watcher = identity::watch_files(
            self.connection.clone(),
            self.config.clone(),
            self.local.clone(),
            self.daemon.cert_reload,
            stop_rx,
        );
        tasks.spawn(async move { ("certificate watcher", watcher.await) });

        let mut failure = None;
        tokio::pin!(shutdown);
        tokio::select! {
            () = &mut shutdown => tracing::info!("stopping"),
            Some(done) = tasks.join_next() => failure = ended(done),
        }
        let _ = stop_tx.send(true);
        while let Some(done) = tasks.join_next().await {
            let error = ended(done);
            failure = failure.or(error);
        }
        self.local.set_state("connection", "stopped").await?;
        match failure {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// How long a task waits before resuming after the local store stayed busy.
const BUSY_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `task`, and runs it again after [`BUSY_PAUSE`] when it ended only because the local store
/// stayed busy past its timeout (a starved machine, another process's long write): nothing was
/// written, each task resumes from what is stored (the stream from the stored cursor, the outbox
/// and the hook queue from their rows), so the daemon rides it out instead of stopping.
async fn resuming<F, Fut>(
    name: &'static str,
    mut stop: watch::Receiver<bool>,
    mut task: F,
) -> Result<(), ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ClientError>>,
{
    loop {
        match task().await {
            Err(err) if err.is_busy() => {
                tracing::warn!(task = name, error = %err, "local store busy; resuming");
                tokio::select! {
                    () = tokio::time::sleep(BUSY_PAUSE) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
            }
            other => return other,
        }
    }
}

/// The error a finished task leaves, if any (logged here, once).
fn ended(
    done: Result<(&'static str, Result<(), ClientError>), tokio::task::JoinError>,
) -> Option<ClientError> {
    match done {
        Ok((_, Ok(()))) => None,
        Ok((task, Err(err))) => {
            tracing::error!(task, error = %err, "daemon task failed; stopping");
            Some(err)
        }
        Err(join) => {
            tracing::error!(error = %join, "daemon task panicked; stopping");
            Some(ClientError::Task(join.to_string()))
        }
    }
}
