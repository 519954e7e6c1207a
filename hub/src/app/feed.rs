//! Following the event log by cursor: the one loop behind every stream (an authority's cases, the
//! staff watch stream). It reads in batches after the cursor, turns each event into what the stream
//! carries, wakes on every commit (in this hub, and through the database's notifications in others),
//! polls as a fallback when the database answers rather than the log's tail, sends heartbeats on an
//! idle stream, and ends when the client leaves or the hub shuts down.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{AppError, AppResult, Hotline};
use crate::domain::{Caller, Cursor, DomainError, EventKind, StoredEvent};
use crate::store::{EventFilter, Store};

/// How a feed follows the log.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// Events read per query while catching up.
    pub batch: i64,
    /// How often an idle feed served by the database (not the log's tail, which polls for every
    /// feed) re-reads the log even without a commit notification (on PostgreSQL an event may become
    /// readable when a transaction of another process ends).
    pub poll: Duration,
    /// How often an idle feed sends a heartbeat; `None` sends none.
    pub heartbeat: Option<Duration>,
    /// Items buffered before the feed waits for the client.
    pub buffer: usize,
}

/// What a feed's receiver yields: an item, or the error that ended the feed. The error is boxed for
/// the reason `FeedItem::Event` is: a stream's channel reserves a block of 32 slots when it opens,
/// and an unboxed error made each slot 72 bytes instead of 16.
pub type FeedResult<T> = Result<FeedItem<T>, Box<AppError>>;

/// What a feed sends.
#[derive(Debug)]
pub enum FeedItem<T> {
    /// An event, as the stream carries it. Boxed: a stream's channel reserves room for a block of
    /// items as soon as it opens, and an appeal's state is most of a KiB — unboxed, each idle stream
    /// held ~29 KiB of empty slots (measured with 10,000 streams, docs/benchmarks.md).
    Event(Box<T>),
    /// Nothing happened for a while; the stream is alive.
    Heartbeat,
}

impl<S: Store> Hotline<S> {
    /// Checks that `cursor` is one this log gave out: the start, or the position of one of its
    /// events (of `authority`'s cases, when given). Both parts count: a cursor of another database
    /// (replaced, restored) or with an invented transaction id is refused rather than followed.
    pub async fn check_cursor(&self, cursor: Cursor, authority: Option<&str>) -> AppResult<()> {
        if self.store.has_position(cursor, authority).await? {
            return Ok(());
        }
        let last = self.store.last_event_id().await?;
        let why = if cursor.id > last {
            format!("is ahead of the event log (last event {last}); was the database replaced?")
        } else {
            match authority {
                Some(code) => format!("is not the position of an event of `{code}`"),
                None => "is not the position of an event in this log".to_string(),
            }
        };
        Err(DomainError::invalid("cursor", format!("`{cursor}` {why}")).into())
    }

    /// Follows the events matching `filter` after `cursor`, each turned into a stream item by
    /// `map` (`None` skips it), until the receiver is dropped or `stop` resolves (with the error to
    /// end on, or `None` to end quietly, as at shutdown). An error is sent once and ends the feed.
    pub fn follow<T, M, Fut, Stop>(
        &self,
        mut cursor: Cursor,
        filter: EventFilter,
        settings: &FeedSettings,
        stop: Stop,
        mut map: M,
    ) -> mpsc::Receiver<FeedResult<T>>
    where
        T: Send + 'static,
        M: FnMut(StoredEvent) -> Fut + Send + 'static,
        Fut: Future<Output = AppResult<Option<T>>> + Send,
        Stop: Future<Output = Option<AppError>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(settings.buffer);
        let store = self.store.clone();
        let settings = settings.clone();
        let hotline = self.clone();
        tokio::spawn(async move {
            // Live streams read the hub's shared tail of the log; the database answers what the
            // tail cannot (a cursor behind it, a filter it does not apply).
            // The futures of the database reads and of `map` are boxed: an idle stream's task is
            // sized for its largest await point, and inline they made every idle stream's task
            // 6.8 KiB (3.1 KiB boxed; measured with `size_of_val`, docs/benchmarks.md).
            let tail = match Box::pin(hotline.log_tail()).await {
                Ok(tail) => tail,
                Err(err) => {
                    let _ = tx.send(Err(Box::new(err))).await;
                    return;
                }
            };
            let mut commits = tail.changes_for(&filter);
            let mut stop = Box::pin(stop);
            let mut last_sent = tokio::time::Instant::now();
            loop {
                // A feed catching up checks between batches too, not only when idle.
                tokio::select! {
                    biased;
                    reason = &mut stop => {
                        if let Some(err) = reason {
                            let _ = tx.send(Err(Box::new(err))).await;
                        }
                        return;
                    }
                    () = std::future::ready(()) => {}
                }
                // Mark the commits seen so far before reading, so a commit during the read wakes us.
                commits.borrow_and_update();
                let kept = tail.events_after(cursor, &filter, settings.batch);
                let (batch, scanned) = match kept {
                    Some((batch, scanned)) => (batch, Some(scanned)),
                    None => {
                        let joins_after = tail.joins_after(&filter);
                        match Box::pin(store.events_after(cursor, &filter, settings.batch)).await {
                            // Caught up with the database: from here on the tail answers.
                            Ok(batch) if (batch.len() as i64) < settings.batch => {
                                (batch, joins_after)
                            }
                            Ok(batch) => (batch, None),
                            Err(err) => {
                                let _ = tx.send(Err(Box::new(err.into()))).await;
                                return;
                            }
                        }
                    }
                };
                let full = batch.len() as i64 == settings.batch;
                for event in batch {
                    let position = event.cursor;
                    match Box::pin(map(event)).await {
                        Ok(Some(item)) => {
                            // A failed send means the client left.
                            if tx.send(Ok(FeedItem::Event(Box::new(item)))).await.is_err() {
                                return;
                            }
                            last_sent = tokio::time::Instant::now();
                        }
                        Ok(None) => {}
                        Err(err) => {
                            let _ = tx.send(Err(Box::new(err))).await;
                            return;
                        }
                    }
                    cursor = position;
                }
                // Past what the tail scanned for this feed, matching or not (or where it joins the
                // tail after reading the database).
                if let Some(scanned) = scanned
                    && scanned > cursor
                {
                    cursor = scanned;
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
                // A feed the tail answered needs no poll of its own: the tail polls the database for
                // every stream and wakes this one when its events arrive. Polling each of 10,000
                // idle streams every second was 10,000 wake-ups a second, and the fan-out's tail.
                let poll = async {
                    match scanned {
                        Some(_) => std::future::pending().await,
                        None => tokio::time::sleep(settings.poll).await,
                    }
                };
                let beat = tokio::select! {
                    _ = commits.changed() => false,
                    () = poll => false,
                    () = beat => true,
                    _ = tx.closed() => return,
                    reason = &mut stop => {
                        if let Some(err) = reason {
                            let _ = tx.send(Err(Box::new(err))).await;
                        }
                        return;
                    }
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

/// A feed's stop at shutdown: it ends quietly once `shutdown` turns true.
pub async fn quietly(mut shutdown: watch::Receiver<bool>) -> Option<AppError> {
    let _ = shutdown.wait_for(|down| *down).await;
    None
}

impl<S: Store> Hotline<S> {
    /// The staff watch stream: every event after `cursor` (of one appeal, when a number is given).
    /// The first event of an appeal that carries free text is recorded as a read of that appeal.
    pub async fn watch(
        &self,
        cursor: Cursor,
        appeal_number: &str,
        caller: &Caller,
        settings: &FeedSettings,
        shutdown: watch::Receiver<bool>,
    ) -> AppResult<mpsc::Receiver<FeedResult<StoredEvent>>> {
        self.check_cursor(cursor, None).await?;
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
            partner: None,
        };
        let audited = Arc::new(Mutex::new(HashSet::new()));
        let hotline = self.clone();
        let caller = caller.clone();
        Ok(
            self.follow(cursor, filter, settings, quietly(shutdown), move |event| {
                let (hotline, caller, audited) = (hotline.clone(), caller.clone(), audited.clone());
                async move {
                    let text =
                        EventKind::from_code(&event.kind).is_some_and(EventKind::carries_free_text);
                    let first = text
                        && audited
                            .lock()
                            .expect("audit set lock")
                            .insert(event.appeal_number.clone());
                    if first {
                        hotline
                            .audit_read(&caller, &event.appeal_number, hotline.now())
                            .await?;
                    }
                    Ok(Some(event))
                }
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stream reserves 32 of these when it opens (its channel's first block), so they stay
    /// two words whatever the stream carries: an unboxed event or error here is kilobytes per idle
    /// stream at 10,000 streams.
    #[test]
    fn a_streams_slots_stay_two_words() {
        assert!(std::mem::size_of::<FeedResult<StoredEvent>>() <= 16);
        assert!(std::mem::size_of::<FeedResult<[u8; 4096]>>() <= 16);
    }
}
