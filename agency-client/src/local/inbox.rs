//! What the hub delivers: each event stored once (however often it is delivered), the authority's
//! cases as last seen, and the hub's signed receipts. Storing an event also queues its hooks, in the
//! same transaction, so a hook is never lost to a crash between the two.

use hotline_proto::render::case_status;
use hotline_proto::v1 as pb;
use prost::Message;

use super::{LocalError, LocalResult, LocalStore, cursor_key, now};

impl LocalStore {
    /// Stores a delivery in one transaction: the event (once) with its hook queue entry, the case,
    /// the receipt and the cursor. Returns false when the event was already stored (a duplicate).
    pub async fn store_delivery(&self, delivery: &pb::CaseDelivery) -> LocalResult<bool> {
        let (Some(event), Some(case)) = (&delivery.event, &delivery.case) else {
            return Ok(false);
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query(
            "INSERT INTO events (event_id, cursor, kind, case_id, appeal_number, detail, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.id)
        .bind(&event.cursor)
        .bind(&event.kind)
        .bind(event.case_id)
        .bind(&event.appeal_number)
        .bind(&event.detail)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            sqlx::query("INSERT INTO hook_queue (event_id, case_id) VALUES ($1, $2)")
                .bind(event.id)
                .bind(event.case_id)
                .execute(&mut *tx)
                .await?;
        }
        // Only the assignment carries the citizen's contact; later snapshots keep the stored one.
        let mut case = case.clone();
        if case.citizen.is_none() {
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT body FROM cases WHERE case_id = $1")
                    .bind(event.case_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(stored) = stored {
                case.citizen = pb::AgencyCase::decode(stored.as_slice())
                    .map_err(|_| LocalError::Corrupt("case"))?
                    .citizen;
            }
        }
        let inner = case.case.clone().unwrap_or_default();
        let status = case_status(inner.status);
        sqlx::query(
            "INSERT INTO cases (case_id, appeal_number, status, deadline, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, deadline = excluded.deadline, \
             body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(event.case_id)
        .bind(&case.appeal_number)
        .bind(&status)
        .bind(&inner.deadline)
        .bind(case.encode_to_vec())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        if let Some(receipt) = &delivery.receipt {
            Self::keep_receipt(&mut tx, receipt).await?;
        }
        let current: Option<String> =
            sqlx::query_scalar("SELECT value FROM state WHERE key = 'cursor'")
                .fetch_optional(&mut *tx)
                .await?;
        if current
            .as_deref()
            .is_none_or(|c| cursor_key(c) < cursor_key(&event.cursor))
        {
            sqlx::query("INSERT INTO state (key, value) VALUES ('cursor', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(&event.cursor)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Keeps a receipt once (by kind, event and request).
    pub(super) async fn keep_receipt(
        conn: &mut sqlx::SqliteConnection,
        receipt: &pb::Receipt,
    ) -> LocalResult<()> {
        sqlx::query(
            "INSERT INTO receipts (kind, case_id, event_id, request_id, json, stored_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (kind, event_id, request_id) DO NOTHING",
        )
        .bind(&receipt.kind)
        .bind(receipt.case_id)
        .bind(receipt.event_id)
        .bind(&receipt.request_id)
        .bind(hotline_proto::receipt::to_json(receipt).to_string())
        .bind(now())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The inbox, optionally only cases in `status` (as `in_progress`).
    pub async fn cases(&self, status: Option<&str>) -> LocalResult<Vec<pb::AgencyCase>> {
        let bodies: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT body FROM cases WHERE ($1 IS NULL OR status = $1) ORDER BY deadline, case_id",
        )
        .bind(status)
        .fetch_all(&self.pool)
        .await?;
        bodies
            .iter()
            .map(|b| pb::AgencyCase::decode(b.as_slice()).map_err(|_| LocalError::Corrupt("case")))
            .collect()
    }

    /// One case of the inbox.
    pub async fn case(&self, case_id: i64) -> LocalResult<Option<pb::AgencyCase>> {
        let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM cases WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        body.map(|b| pb::AgencyCase::decode(b.as_slice()).map_err(|_| LocalError::Corrupt("case")))
            .transpose()
    }

    /// Every receipt kept, oldest first.
    pub async fn receipts(&self) -> LocalResult<Vec<pb::Receipt>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT json FROM receipts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|json| {
                let value: serde_json::Value =
                    serde_json::from_str(json).map_err(|_| LocalError::Corrupt("receipt"))?;
                hotline_proto::receipt::from_json(&value)
                    .map_err(|_| LocalError::Corrupt("receipt"))
            })
            .collect()
    }
}
