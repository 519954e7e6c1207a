//! The directory as the hot paths read it: places, categories, the classifier's other dimensions
//! and the authorities, kept in memory so that a registration or an appeal's view does not make a
//! round trip to the database for each of them.
//!
//! Invalidation: a change made through this hub drops the snapshot at once; a change made
//! elsewhere (another hub on the same database, the `hub directory` command) is seen when the
//! snapshot has aged [`MAX_AGE`]. The directory changes a few times a day; a second's delay for a
//! change made in another process is what that costs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::directory::AuthorityNames;
use super::{AppResult, Hotline};
use crate::domain::{Authority, Category, ClassifierEntry, District};
use crate::store::Store;

/// How long a snapshot serves before it is read again.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(1);

/// The whole directory as read at one moment.
#[derive(Debug, Default)]
pub(crate) struct DirectorySnapshot {
    /// Districts and settlements by code.
    pub places: HashMap<String, District>,
    /// Categories of the subject classifier by code.
    pub categories: HashMap<String, Category>,
    /// Entries of the classifier's other dimensions.
    pub entries: Vec<ClassifierEntry>,
    /// Authorities by code, deactivated ones included.
    pub authorities: HashMap<String, Authority>,
    /// Every authority's name by code.
    pub names: AuthorityNames,
}

/// The snapshot in use and what keeps it fresh.
#[derive(Debug, Default)]
pub(crate) struct SnapshotCell {
    /// The snapshot, when it was taken, and the generation it was taken in.
    current: RwLock<Option<(Arc<DirectorySnapshot>, Instant, u64)>>,
    /// Bumped by every change made through this hub: a load that began before it is not kept.
    generation: std::sync::atomic::AtomicU64,
    /// One load at a time; the others wait for it instead of loading too.
    loading: tokio::sync::Mutex<()>,
}

impl SnapshotCell {
    fn fresh(&self) -> Option<Arc<DirectorySnapshot>> {
        let current = self.current.read().expect("directory snapshot lock");
        let generation = self.generation.load(std::sync::atomic::Ordering::Acquire);
        match &*current {
            Some((snapshot, at, taken_in)) if *taken_in == generation && at.elapsed() < MAX_AGE => {
                Some(snapshot.clone())
            }
            _ => None,
        }
    }
}

impl<S: Store> Hotline<S> {
    /// The directory, from memory while the snapshot is fresh.
    pub(crate) async fn snapshot(&self) -> AppResult<Arc<DirectorySnapshot>> {
        let cell = &self.directory;
        if let Some(snapshot) = cell.fresh() {
            return Ok(snapshot);
        }
        let _one_at_a_time = cell.loading.lock().await;
        if let Some(snapshot) = cell.fresh() {
            return Ok(snapshot);
        }
        let generation = cell.generation.load(std::sync::atomic::Ordering::Acquire);
        let authorities: HashMap<String, Authority> = self
            .store
            .list_authorities(true)
            .await?
            .into_iter()
            .map(|a| (a.code.clone(), a))
            .collect();
        let names = authorities
            .iter()
            .map(|(code, a)| (code.clone(), a.name.clone()))
            .collect();
        let snapshot = Arc::new(DirectorySnapshot {
            places: by_code(self.store.list_districts().await?, |d| &d.code),
            categories: by_code(self.store.list_categories().await?, |c| &c.code),
            entries: self.store.classifier_entries(None).await?,
            authorities,
            names,
        });
        let mut current = cell.current.write().expect("directory snapshot lock");
        *current = Some((snapshot.clone(), Instant::now(), generation));
        Ok(snapshot)
    }

    /// Drops the snapshot after a change of the directory made through this hub.
    pub(crate) fn directory_changed(&self) {
        let cell = &self.directory;
        cell.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        *cell.current.write().expect("directory snapshot lock") = None;
    }
}

fn by_code<T>(items: Vec<T>, code: impl Fn(&T) -> &String) -> HashMap<String, T> {
    items
        .into_iter()
        .map(|item| (code(&item).clone(), item))
        .collect()
}
