//! The counts the monitoring reports and the deadline monitor read: plain recounts over indexed
//! columns. Counts only, never personal data. Status lists come from the domain.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, IntoArguments, QueryBuilder, Row, Type};

use super::backend::{Backend, Column, SqlStore, codes};
use super::{ReportQueries, StoreResult};
use crate::domain::reports::{
    AuthorityTotals, CellCount, DimensionTotals, KindCount, ReceivedCount,
};
use crate::domain::{AppealStatus, CaseStatus, Outcome};

/// A row of per-authority totals: code, then the counts of [`AuthorityTotals`] in field order.
type TotalsRow = (String, i64, i64, i64, i64, i64, i64, i64);
/// A row of per-authority satisfaction, outcomes and priority cases: code, satisfaction sum and
/// count, the accepted answers by outcome, then priority cases assigned, answered and on time.
type QualityRow = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// `'closed', 'closed_unconfirmed'`: appeals that ended after an answer.
fn ended_after_answer() -> String {
    codes(|s: AppealStatus| matches!(s, AppealStatus::Closed | AppealStatus::ClosedUnconfirmed))
}

impl<DB: Backend> ReportQueries for SqlStore<DB>
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
    #[tracing::instrument(skip_all)]
    async fn received_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ReceivedCount>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT channel, kind, category_code, district_code, COUNT(*) FROM appeals \
             WHERE received_at >= $1 AND received_at < $2 \
             GROUP BY channel, kind, category_code, district_code",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(channel, kind, category, district, count)| ReceivedCount {
                channel,
                kind,
                category,
                district,
                count,
            })
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn closed_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT status, COUNT(*) FROM appeals WHERE closed_at >= $1 AND closed_at < $2 \
             GROUP BY status",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn open_count(&self) -> StoreResult<i64> {
        let sql = AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM appeals WHERE status IN ({})",
            codes(|s: AppealStatus| !s.is_final())
        ));
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }

    #[tracing::instrument(skip_all)]
    async fn overdue_by_authority(&self, today: NaiveDate) -> StoreResult<Vec<(String, i64)>> {
        let sql = AssertSqlSafe(format!(
            "SELECT authority_code, COUNT(*) FROM cases WHERE status IN ({}) AND deadline < $1 \
             GROUP BY authority_code",
            codes(CaseStatus::awaits_answer)
        ));
        Ok(sqlx::query_as(sql)
            .bind(today)
            .fetch_all(&self.pool)
            .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn returned_count(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases c JOIN appeals a ON a.id = c.appeal_id \
             WHERE a.received_at >= $1 AND a.received_at < $2 AND c.returned_count > 0",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn answer_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        Ok(sqlx::query_as(
            "SELECT assigned_at, answered_at FROM cases \
             WHERE answered_at >= $1 AND answered_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn close_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let sql = AssertSqlSafe(format!(
            "SELECT received_at, closed_at FROM appeals WHERE closed_at >= $1 AND closed_at < $2 \
             AND status IN ({})",
            ended_after_answer()
        ));
        Ok(sqlx::query_as(sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn authority_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<AuthorityTotals>> {
        let sql = AssertSqlSafe(format!(
            "SELECT c.authority_code, COUNT(*), \
             SUM(CASE WHEN c.answered_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN c.answered_late = FALSE THEN 1 ELSE 0 END), \
             SUM(CASE WHEN c.returned_count > 0 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN a.status IN ({ended}) THEN 1 ELSE 0 END), \
             SUM(CASE WHEN a.status = $3 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN a.repeat_of IS NOT NULL THEN 1 ELSE 0 END) \
             FROM cases c JOIN appeals a ON a.id = c.appeal_id \
             WHERE c.assigned_at >= $1 AND c.assigned_at < $2 AND c.status <> $4 \
             GROUP BY c.authority_code",
            ended = ended_after_answer()
        ));
        let rows: Vec<TotalsRow> = sqlx::query_as(sql)
            .bind(from)
            .bind(to)
            .bind(AppealStatus::Closed.code())
            .bind(CaseStatus::Reassigned.code())
            .fetch_all(&self.pool)
            .await?;
        let mut totals: Vec<AuthorityTotals> = rows
            .into_iter()
            .map(
                |(authority, assigned, answered, on_time, returned, ended, confirmed, repeats)| {
                    AuthorityTotals {
                        authority,
                        assigned,
                        answered,
                        on_time,
                        returned,
                        ended,
                        confirmed,
                        repeats,
                        ..AuthorityTotals::default()
                    }
                },
            )
            .collect();
        let by = |o: Outcome| {
            format!(
                "SUM(CASE WHEN c.answered_at IS NOT NULL AND c.outcome = '{}' THEN 1 ELSE 0 END)",
                o.code()
            )
        };
        // Priority cases are counted in the same pass: a query of their own was driven by the
        // appeals' priority flag rather than the period, and read a whole index of 20 million
        // appeals (352 ms; docs/benchmarks.md).
        let sql = AssertSqlSafe(format!(
            "SELECT c.authority_code, CAST(COALESCE(SUM(a.satisfaction), 0) AS BIGINT), \
             COUNT(a.satisfaction), {}, {}, {}, {}, {}, \
             SUM(CASE WHEN a.priority THEN 1 ELSE 0 END), \
             SUM(CASE WHEN a.priority AND c.answered_at IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN a.priority AND c.answered_late = FALSE THEN 1 ELSE 0 END) \
             FROM cases c JOIN appeals a ON a.id = c.appeal_id \
             WHERE c.assigned_at >= $1 AND c.assigned_at < $2 AND c.status <> $3 \
             GROUP BY c.authority_code",
            by(Outcome::Resolved),
            by(Outcome::Explained),
            by(Outcome::Refused),
            by(Outcome::Forwarded),
            by(Outcome::NotCompetent),
        ));
        let quality: Vec<QualityRow> = sqlx::query_as(sql)
            .bind(from)
            .bind(to)
            .bind(CaseStatus::Reassigned.code())
            .fetch_all(&self.pool)
            .await?;
        for row in quality {
            let (code, sum, count, resolved, explained, refused, forwarded, not_competent) =
                (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
            if let Some(t) = totals.iter_mut().find(|t| t.authority == code) {
                t.satisfaction_sum = sum;
                t.satisfaction_count = count;
                t.outcomes = [resolved, explained, refused, forwarded, not_competent];
                (t.priority_assigned, t.priority_answered, t.priority_on_time) =
                    (row.8, row.9, row.10);
            }
        }
        Ok(totals)
    }

    #[tracing::instrument(skip_all)]
    async fn dimension_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<DimensionTotals> {
        let (priority, emergencies, incident_appeals): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN priority THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN urgency = 'emergency' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN incident_id IS NOT NULL THEN 1 ELSE 0 END), 0) \
             FROM appeals WHERE received_at >= $1 AND received_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        let incidents_opened: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM incidents WHERE opened_at >= $1 AND opened_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        Ok(DimensionTotals {
            priority,
            emergencies,
            incident_appeals,
            incidents_opened,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn district_category_counts(
        &self,
        bounds: &[DateTime<Utc>],
    ) -> StoreResult<Vec<CellCount>> {
        let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
            return Ok(Vec::new());
        };
        let mut q = QueryBuilder::<DB>::new("SELECT district_code, category_code, CAST(CASE");
        for (i, bound) in bounds.iter().enumerate().skip(1).rev().skip(1) {
            q.push(" WHEN received_at >= ")
                .push_bind(*bound)
                .push(format!(" THEN {i}"));
        }
        q.push(" ELSE 0 END AS BIGINT) AS bucket, COUNT(*) FROM appeals WHERE received_at >= ")
            .push_bind(*first);
        q.push(" AND received_at < ").push_bind(*last);
        q.push(" GROUP BY district_code, category_code, bucket");
        let rows: Vec<(String, String, i64, i64)> =
            q.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(district, category, bucket, count)| CellCount {
                district,
                category,
                bucket,
                count,
            })
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn category_kind_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<KindCount>> {
        let rows = sqlx::query(
            "SELECT category_code, kind, outcome, sign, author_categories, \
             signatories > 1 AS collective, anonymous, COUNT(*) AS n FROM appeals \
             WHERE received_at >= $1 AND received_at < $2 GROUP BY category_code, kind, outcome, \
             sign, author_categories, signatories > 1, anonymous",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let authors: String = row.try_get("author_categories")?;
                Ok(KindCount {
                    category: row.try_get("category_code")?,
                    kind: row.try_get("kind")?,
                    outcome: row.try_get("outcome")?,
                    sign: row.try_get("sign")?,
                    author_categories: authors
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect(),
                    collective: row.try_get("collective")?,
                    anonymous: row.try_get("anonymous")?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn outcome_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(outcome, 'none'), COUNT(*) FROM appeals \
             WHERE closed_at >= $1 AND closed_at < $2 GROUP BY COALESCE(outcome, 'none')",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn consultation_count(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM appeals WHERE received_at >= $1 AND received_at < $2 \
             AND consultation",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn satisfaction_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<(i64, i64, i64)> {
        let (sum, count, disagreements): (Option<i64>, i64, Option<i64>) = sqlx::query_as(
            "SELECT CAST(SUM(satisfaction) AS BIGINT), COUNT(satisfaction), \
             CAST(SUM(CASE WHEN disagreement <> '' THEN 1 ELSE 0 END) AS BIGINT) FROM appeals \
             WHERE closed_at >= $1 AND closed_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        Ok((sum.unwrap_or(0), count, disagreements.unwrap_or(0)))
    }

    #[tracing::instrument(skip_all)]
    async fn received_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, String)>> {
        Ok(sqlx::query_as(
            "SELECT received_at, category_code FROM appeals \
             WHERE received_at >= $1 AND received_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn unassigned_to_announce(&self, before: DateTime<Utc>) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT number FROM appeals WHERE status = $1 AND received_at < $2 \
             AND unassigned_announced_at IS NULL ORDER BY id",
        )
        .bind(AppealStatus::Registered.code())
        .bind(before)
        .fetch_all(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn cases_to_announce(
        &self,
        today: NaiveDate,
        due_by: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        let sql = AssertSqlSafe(format!(
            "SELECT id FROM cases WHERE status IN ({}) \
             AND ((overdue_at IS NULL AND deadline < $1) \
             OR (overdue_at IS NULL AND due_at < $3) \
             OR (due_soon_at IS NULL AND overdue_at IS NULL AND deadline <= $2)) ORDER BY id",
            codes(CaseStatus::awaits_answer)
        ));
        Ok(sqlx::query_scalar(sql)
            .bind(today)
            .bind(due_by)
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }
}
