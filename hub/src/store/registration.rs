//! Registrations written together, the store's half of the group commit: one transaction for
//! the group, and each kind of row — request keys, numbers, appeals, events, notices, audit rows —
//! read or written with one statement for the whole group. On PostgreSQL every statement is a round
//! trip, so a group of 64 costs about what one registration does instead of 64 times as much.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};

use super::backend::{Backend, Column, SqlStore};
use super::{Applied, RegisterJob, RequestKey, StoreError, StoreResult};
use crate::domain::AppealState;

impl<DB: Backend> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    i32: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    String: Column<DB>,
    Vec<u8>: Column<DB>,
    NaiveDate: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<i64>: Column<DB>,
    Option<bool>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Option<String>: Column<DB>,
    Option<Vec<u8>>: Column<DB>,
    Option<i32>: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    &'static str: Encode<'static, DB> + Type<DB>,
{
    /// Registers `jobs` in one transaction, in the order given, each under its year's next number
    /// (so numbers stay gapless and in arrival order); a retry of an earlier request is answered
    /// from it. A group holding the same request twice is refused whole: the group commit then
    /// writes its jobs one by one, where the second is the first's retry.
    pub(super) async fn register_group(
        &self,
        jobs: &[RegisterJob],
    ) -> StoreResult<Vec<Applied<AppealState>>> {
        let mut tx = DB::begin_write(&self.groups).await?;
        let keys: Vec<&RequestKey> = jobs.iter().filter_map(|j| j.request.as_ref()).collect();
        let distinct: HashSet<(&str, &str)> = keys
            .iter()
            .map(|k| (k.principal.as_str(), k.request_id.as_str()))
            .collect();
        if distinct.len() != keys.len() {
            return Err(StoreError::AlreadyExists(
                "the same request id twice in one group".into(),
            ));
        }
        let mut earlier = Self::earlier_of(&mut tx, &keys).await?.into_iter();
        let mut answers: Vec<Option<Applied<AppealState>>> = Vec::with_capacity(jobs.len());
        let mut fresh: Vec<&RegisterJob> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let replay = match job.request {
                Some(_) => earlier.next().flatten(),
                None => None,
            };
            match replay {
                Some(replay) => answers.push(Some(Applied::Replayed(replay))),
                None => {
                    answers.push(None);
                    fresh.push(job);
                }
            }
        }
        let mut per_year: BTreeMap<i32, i64> = BTreeMap::new();
        for job in &fresh {
            *per_year.entry(job.year).or_default() += 1;
        }
        for (year, count) in per_year.iter_mut() {
            let last = Self::next_numbers(&mut tx, *year, *count).await?;
            // From here on: the next number of the year to give.
            *count = last - *count + 1;
        }
        let (mut states, changes): (Vec<_>, Vec<_>) = fresh
            .iter()
            .map(|job| {
                let next = per_year.entry(job.year).or_default();
                *next += 1;
                (job.make)(*next - 1)
            })
            .unzip();
        Self::insert_appeals(&mut tx, &mut states).await?;
        let recorded: Vec<_> = fresh
            .iter()
            .zip(&states)
            .zip(&changes)
            .map(|((job, state), change)| (state, change, &job.caller, job.now))
            .collect();
        Self::record_of(&mut tx, &recorded).await?;
        let remembered: Vec<_> = fresh
            .iter()
            .zip(&states)
            .filter_map(|(job, state)| {
                let request = job.request.as_ref()?;
                Some((request, state.appeal.number.as_str(), job.now))
            })
            .collect();
        Self::remember_of(&mut tx, &remembered).await?;
        tx.commit().await?;
        self.committed();
        let mut states = states.into_iter();
        answers
            .into_iter()
            .map(|answer| {
                answer
                    .or_else(|| states.next().map(Applied::Done))
                    .ok_or_else(|| {
                        StoreError::Internal("a registration of the group went missing".into())
                    })
            })
            .collect()
    }
}
