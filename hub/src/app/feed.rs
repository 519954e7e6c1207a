//! Following the event log by cursor: the one loop behind every stream (an authority's cases, the
//! staff watch stream). It reads in batches after the cursor, turns each event into what the stream
//! carries, wakes on every commit (in this hub, and through the database's notifications in others),
//! polls as a fallback, sends heartbeats on an idle stream, and ends when the client leaves or the
//! hub shuts down.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{AppError, AppResult, Hotline};
use crate::domain::{Cursor, DomainError, StoredEvent};
use crate::store::{EventFilter, Store};

/// How a feed follows the log.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// Events read per query while catching up.
    pub batch: i64,
    /// How often an idle feed re-reads the log even without a commit notification (on PostgreSQL
    /// an event may become readable when a transaction of another process ends).
    pub poll: Duration,
    /// How often an idle feed sends a heartbeat; `None` sends none.
    pub heartbeat: Option<Duration>,
    /// Items buffered before the feed waits for the client.
    pub buffer: usize,
}

/// What a feed sends.
#[derive(Debug)]
pub enum FeedItem<T> {
    /// An event, as the stream carries it.
    Event(T),
    /// Nothing happened for a while; the stream is alive.
    Heartbeat,
}

impl<S: Store> Hotline<S> {
    /// Checks that `cursor` is one this log could have given out: not beyond its last event.
    pub async fn check_cursor(&self, cursor: Cursor) -> AppResult<()> {
        let last = self.store.last_event_id().await?;
        if cursor.id > last {
            return Err(DomainError::invalid(
                "cursor",
                format!(
                    "`{cursor}` is ahead of the event log (last event {last}); was the database replaced?"
                ),
            )
            .into());
        }
        Ok(())
    }

    /// Follows the events matching `filter` after `cursor`, each turned into a stream item by
    /// `map` (`None` skips it), until the receiver is dropped or `shutdown` turns true. An error
    /// is sent once and ends the feed.
    pub fn follow<T, M, Fut>(
        &self,
        mut cursor: Cursor,
        filter: EventFilter,
        settings: &FeedSettings,
        mut shutdown: watch::Receiver<bool>,
        mut map: M,
    ) -> mpsc::Receiver<AppResult<FeedItem<T>>>
    where
        T: Send + 'static,
        M: FnMut(StoredEvent) -> Fut + Send + 'static,
        Fut: Future<Output = AppResult<Option<T>>> + Send,
    {
        let (tx, rx) = mpsc::channel(settings.buffer);
        let store = self.store.clone();
        let settings = settings.clone();
        let mut commits = store.commits();
        tokio::spawn(async move {
            let mut last_sent = tokio::time::Instant::now();
            loop {
                // Mark the commits seen so far before reading, so a commit during the read wakes us.
                commits.borrow_and_update();
                let batch = match store.events_after(cursor, &filter, settings.batch).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        let _ = tx.send(Err(AppError::from(err))).await;
                        return;
                    }
                };
                let full = batch.len() as i64 == settings.batch;
                for event in batch {
                    let position = event.cursor;
                    match map(event).await {
                        Ok(Some(item)) => {
                            // A failed send means the client left.
                            if tx.send(Ok(FeedItem::Event(item))).await.is_err() {
                                return;
                            }
                            last_sent = tokio::time::Instant::now();
                        }
                        Ok(None) => {}
                        Err(err) => {
                            let _ = tx.send(Err(err)).await;
                            return;
                        }
                    }
                    cursor = position;
                }
                if full {
                    continue;
                }
                let beat_at = settings.heartbeat.map(|every| last_sent + every);
                let beat = async {
                    match beat_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                let beat = tokio::select! {
                    _ = commits.changed() => false,
                    _ = tokio::time::sleep(settings.poll) => false,
                    () = beat => true,
                    _ = tx.closed() => return,
                    _ = shutdown.wait_for(|down| *down) => return,
                };
                if beat {
                    if tx.send(Ok(FeedItem::Heartbeat)).await.is_err() {
                        return;
                    }
                    last_sent = tokio::time::Instant::now();
                }
            }
        });
        rx
    }
}

impl<S: Store> Hotline<S> {
    /// The staff watch stream: every event after `cursor` (of one appeal, when a number is given).
    pub async fn watch(
        &self,
        cursor: Cursor,
        appeal_number: &str,
        settings: &FeedSettings,
        shutdown: watch::Receiver<bool>,
    ) -> AppResult<mpsc::Receiver<AppResult<FeedItem<StoredEvent>>>> {
        self.check_cursor(cursor).await?;
        let appeal_id = match appeal_number.trim() {
            "" => None,
            number => {
                let number = crate::domain::text::check_number("appeal_number", number)?;
                let (id, _) = self
                    .store
                    .appeal_status(&number)
                    .await?
                    .ok_or_else(|| DomainError::NotFound(format!("appeal {number}")))?;
                Some(id)
            }
        };
        let filter = EventFilter {
            appeal_id,
            authority: None,
        };
        Ok(
            self.follow(cursor, filter, settings, shutdown, |event| async move {
                Ok(Some(event))
            }),
        )
    }
}
