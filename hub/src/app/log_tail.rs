//! The log's tail, read once per hub: one task reads every new event after each commit and keeps
//! the latest ones in memory, so that hundreds of live streams are served from memory instead of
//! each asking the database after every commit (which made fan-out cost streams × commits
//! queries). A stream behind the kept window, or with a filter the tail cannot apply (one appeal,
//! a partner's links), reads the database as before.
//!
//! Correctness rests on the store's read: the tail reads with [`EventLog::events_after`] from the
//! settled position, so it holds every event after its start, in log order, with nothing that a
//! transaction still in flight could later put before them.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::domain::{Cursor, StoredEvent};
use crate::store::{EventFilter, Store};

/// Events kept in memory.
const KEPT: usize = 20_000;
/// Events read per query.
const BATCH: i64 = 1_000;
/// How often the tail reads even without a commit notification.
const POLL: Duration = Duration::from_millis(500);

/// What is kept: every event after `start`, in order.
#[derive(Debug)]
struct Window {
    start: Cursor,
    events: VecDeque<StoredEvent>,
}

/// The shared tail of the log.
#[derive(Debug)]
pub struct LogTail {
    window: RwLock<Window>,
    version: watch::Sender<u64>,
}

fn before(a: Cursor, b: Cursor) -> bool {
    (a.txid, a.id) < (b.txid, b.id)
}

impl LogTail {
    /// Starts reading `store`'s log from its settled position.
    pub(crate) async fn start<S: Store>(store: S) -> crate::store::StoreResult<Arc<Self>> {
        let start = store.settled_cursor().await?;
        let tail = Arc::new(Self {
            window: RwLock::new(Window {
                start,
                events: VecDeque::new(),
            }),
            version: watch::channel(0).0,
        });
        let reader = Arc::downgrade(&tail);
        tokio::spawn(async move {
            let mut commits = store.commits();
            let mut cursor = start;
            let everything = EventFilter::default();
            loop {
                commits.borrow_and_update();
                let batch = match store.events_after(cursor, &everything, BATCH).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        tracing::warn!(error = %err, "log tail: read failed; retrying");
                        tokio::time::sleep(POLL).await;
                        continue;
                    }
                };
                let Some(tail) = reader.upgrade() else { return };
                let full = batch.len() as i64 == BATCH;
                if let Some(last) = batch.last() {
                    cursor = last.cursor;
                    let mut window = tail.window.write().expect("log tail lock");
                    window.events.extend(batch);
                    while window.events.len() > KEPT {
                        if let Some(gone) = window.events.pop_front() {
                            window.start = gone.cursor;
                        }
                    }
                    drop(window);
                    tail.version.send_modify(|v| *v += 1);
                }
                drop(tail);
                if full {
                    continue;
                }
                tokio::select! {
                    _ = commits.changed() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        });
        Ok(tail)
    }

    /// Changes whenever new events were read.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Up to `limit` kept events after `cursor` matching `filter`; `None` when the tail cannot
    /// answer (the cursor is before what is kept, or the filter is one it cannot apply).
    pub fn events_after(
        &self,
        cursor: Cursor,
        filter: &EventFilter,
        limit: i64,
    ) -> Option<Vec<StoredEvent>> {
        if filter.appeal_id.is_some() || filter.partner.is_some() {
            return None;
        }
        let window = self.window.read().expect("log tail lock");
        if before(cursor, window.start) {
            return None;
        }
        let from = window.events.partition_point(|e| !before(cursor, e.cursor));
        Some(
            window
                .events
                .range(from..)
                .filter(|e| match &filter.authority {
                    Some(code) => e.authority_code.as_deref() == Some(code.as_str()),
                    None => true,
                })
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect(),
        )
    }
}
