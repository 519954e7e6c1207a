//! Group commit: many callers' writes in one durable transaction.
//!
//! A durable commit costs one fsync whatever it holds, and the writes that need one (a
//! registration, the audit row of a read of personal data) take a hub-wide row lock — the year's
//! number counter, the audit chain's head — through that fsync. One task per kind of write takes
//! what arrived while the previous group was being written and writes it in one transaction: one
//! fsync for many callers, and a lone caller waits for nothing (its group is itself). When a group
//! fails, each of its writes is tried on its own, so one bad write never sinks the others.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{AppError, AppResult};

/// Most writes in one group.
pub(crate) const MAX_GROUP: usize = 64;

/// A write waiting for its group, and where its answer goes.
struct Pending<J, R> {
    job: J,
    reply: oneshot::Sender<AppResult<R>>,
}

/// The queue in front of one kind of write; cloning it shares the writer task.
pub(crate) struct GroupCommit<J, R> {
    queue: mpsc::Sender<Pending<J, R>>,
}

impl<J, R> Clone for GroupCommit<J, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<J, R> std::fmt::Debug for GroupCommit<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field(
                "waiting",
                &(self.queue.max_capacity() - self.queue.capacity()),
            )
            .finish()
    }
}

impl<J, R> GroupCommit<J, R>
where
    J: Clone + Send + 'static,
    R: Send + 'static,
{
    /// Starts the writer: `group` writes a whole group in one transaction and answers each write in
    /// order; `single` writes one on its own when its group failed.
    pub(crate) fn start<G, GF, O, OF>(group: G, single: O) -> Self
    where
        G: Fn(Vec<J>) -> GF + Send + Sync + 'static,
        GF: Future<Output = AppResult<Vec<R>>> + Send,
        O: Fn(J) -> OF + Send + Sync + 'static,
        OF: Future<Output = AppResult<R>> + Send,
    {
        let (queue, mut incoming) = mpsc::channel::<Pending<J, R>>(4 * MAX_GROUP);
        let (group, single) = (Arc::new(group), Arc::new(single));
        tokio::spawn(async move {
            while let Some(first) = incoming.recv().await {
                let mut pending = vec![first];
                while pending.len() < MAX_GROUP {
                    match incoming.try_recv() {
                        Ok(next) => pending.push(next),
                        Err(_) => break,
                    }
                }
                let jobs: Vec<J> = pending.iter().map(|p| p.job.clone()).collect();
                match group(jobs).await {
                    Ok(results) if results.len() == pending.len() => {
                        for (p, result) in pending.into_iter().zip(results) {
                            let _ = p.reply.send(Ok(result));
                        }
                    }
                    _ => {
                        for p in pending {
                            let result = single(p.job).await;
                            let _ = p.reply.send(result);
                        }
                    }
                }
            }
        });
        Self { queue }
    }

    /// Writes `job` in the next group and waits for its answer.
    pub(crate) async fn write(&self, job: J) -> AppResult<R> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { job, reply })
            .await
            .map_err(|_| AppError::Internal("the group writer stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("the group writer dropped a write".into()))?
    }
}
