//! The hook queue: which stored events still owe their hooks, how often they were tried, when the
//! next try is due, and which were given up (dead-lettered). Hooks of one case run in event order:
//! an event waits while an earlier event of the same case is still waiting; other cases go on.

use hotline_proto::v1 as pb;
use prost::Message;

use super::{LocalError, LocalResult, LocalStore, now};

/// One event whose hooks are due, with the case as stored now.
#[derive(Debug, Clone)]
pub struct HookJob {
    /// The event.
    pub event: pb::AppealEvent,
    /// Its case (the latest local copy).
    pub case: pb::AgencyCase,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// A queued event with its case.
type JobRow = (i64, i64, String, String, i64, String, String, Vec<u8>);

/// The head of each case's queue: no earlier event of the same case is still waiting.
const HEAD: &str = "q.state = 'waiting' AND NOT EXISTS (SELECT 1 FROM hook_queue p \
     WHERE p.state = 'waiting' AND p.case_id = q.case_id AND p.event_id < q.event_id)";

impl LocalStore {
    /// The oldest event whose hooks are due at `now_ms` (milliseconds since the epoch).
    pub async fn next_hook(&self, now_ms: i64) -> LocalResult<Option<HookJob>> {
        let row: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT q.event_id, q.attempts, e.cursor, e.kind, e.case_id, e.appeal_number, e.detail, c.body \
             FROM hook_queue q JOIN events e ON e.event_id = q.event_id JOIN cases c ON c.case_id = q.case_id \
             WHERE {HEAD} AND q.next_at <= $1 ORDER BY q.event_id LIMIT 1"
        )))
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(
            |(id, attempts, cursor, kind, case_id, appeal_number, detail, body)| {
                let case = pb::AgencyCase::decode(body.as_slice())
                    .map_err(|_| LocalError::Corrupt("case"))?;
                let event = pb::AppealEvent {
                    cursor,
                    id,
                    appeal_number,
                    case_id,
                    kind,
                    detail,
                    ..Default::default()
                };
                Ok(HookJob {
                    event,
                    case,
                    attempts,
                })
            },
        )
        .transpose()
    }

    /// When the next waiting hook falls due (milliseconds since the epoch), if any waits.
    pub async fn next_hook_due(&self) -> LocalResult<Option<i64>> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT MIN(q.next_at) FROM hook_queue q WHERE {HEAD}"
        )))
        .fetch_one(&self.pool)
        .await?)
    }

    /// The event's hooks succeeded: it leaves the queue.
    pub async fn hook_done(&self, event_id: i64) -> LocalResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM hook_queue WHERE event_id = $1")
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE events SET hook_done = 1 WHERE event_id = $1")
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// No hook is configured: every waiting event counts as done, in one transaction (as the
    /// hooks of that time would have had nothing to do). Returns how many.
    pub async fn skip_waiting_hooks(&self) -> LocalResult<u64> {
        // A read first: most wakes find nothing, and a write transaction costs an fsync.
        let waiting: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM hook_queue WHERE state = 'waiting')")
                .fetch_one(&self.pool)
                .await?;
        if !waiting {
            return Ok(0);
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE events SET hook_done = 1 \
             WHERE event_id IN (SELECT event_id FROM hook_queue WHERE state = 'waiting')",
        )
        .execute(&mut *tx)
        .await?;
        let skipped = sqlx::query("DELETE FROM hook_queue WHERE state = 'waiting'")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(skipped)
    }

    /// An attempt failed; the next one is due at `next_at_ms`.
    pub async fn hook_failed(
        &self,
        event_id: i64,
        error: &str,
        next_at_ms: i64,
    ) -> LocalResult<()> {
        sqlx::query(
            "UPDATE hook_queue SET attempts = attempts + 1, last_error = $1, next_at = $2 WHERE event_id = $3",
        )
        .bind(error)
        .bind(next_at_ms)
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The last allowed attempt failed: the event is given up (its payload is dead-lettered).
    pub async fn hook_dead(&self, event_id: i64, error: &str) -> LocalResult<()> {
        sqlx::query(
            "UPDATE hook_queue SET attempts = attempts + 1, last_error = $1, state = 'dead', dead_at = $2 \
             WHERE event_id = $3",
        )
        .bind(error)
        .bind(now())
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts every dead-lettered event back in the queue with its attempts reset (after the hook was
    /// fixed). Returns how many.
    pub async fn retry_dead_hooks(&self) -> LocalResult<u64> {
        Ok(sqlx::query(
            "UPDATE hook_queue SET state = 'waiting', attempts = 0, next_at = 0, dead_at = NULL \
             WHERE state = 'dead'",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(event_id: i64, case_id: i64) -> pb::CaseDelivery {
        pb::CaseDelivery {
            event: Some(pb::AppealEvent {
                id: event_id,
                cursor: format!("1.{event_id}"),
                case_id,
                kind: "case.assigned".into(),
                ..Default::default()
            }),
            case: Some(pb::AgencyCase {
                case: Some(pb::Case {
                    id: case_id,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    async fn store() -> (LocalStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("agency-hook-queue-{}", uuid::Uuid::new_v4()));
        (LocalStore::open(&dir).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn hooks_of_one_case_wait_for_its_earlier_event_while_other_cases_go_on() {
        let (local, dir) = store().await;
        for (event, case) in [(1, 10), (2, 10), (3, 20)] {
            assert!(local.store_delivery(&delivery(event, case)).await.unwrap());
        }
        // A duplicate delivery queues nothing more.
        assert!(!local.store_delivery(&delivery(1, 10)).await.unwrap());
        let next = |at| {
            let local = local.clone();
            async move { local.next_hook(at).await.unwrap().map(|j| j.event.id) }
        };
        assert_eq!(next(0).await, Some(1));
        local.hook_failed(1, "exit 1", 5_000).await.unwrap();
        // Event 2 waits behind event 1 of the same case; case 20's event goes ahead.
        assert_eq!(next(1_000).await, Some(3));
        local.hook_done(3).await.unwrap();
        assert_eq!(next(1_000).await, None);
        assert_eq!(local.next_hook_due().await.unwrap(), Some(5_000));
        let job = local.next_hook(5_000).await.unwrap().unwrap();
        assert_eq!((job.event.id, job.attempts), (1, 1));
        local.hook_dead(1, "exit 1").await.unwrap();
        // A dead event no longer holds its case up.
        assert_eq!(next(5_000).await, Some(2));
        let summary = local.summary().await.unwrap();
        assert_eq!((summary.hooks_waiting, summary.hooks_dead), (1, 1));
        assert_eq!(local.retry_dead_hooks().await.unwrap(), 1);
        assert_eq!(next(5_000).await, Some(1));
        local.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
