//! The outbox: every report is written here (with its own request id) before it is sent, and stays
//! until the hub confirms it or refuses it for good, so nothing is lost while the hub is down.

use hotline_proto::render::case_status;
use hotline_proto::v1 as pb;
use prost::Message;

use super::{LocalError, LocalResult, LocalStore, now};

/// A message in the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Order of writing: sent in this order.
    pub seq: i64,
    /// The client-made id the hub applies once; unique per outbox entry.
    pub request_id: String,
    /// `AcceptCase`, `DeclineCase`, `ReportStatus`, `RequestClarification` or `SubmitResult`.
    pub rpc: String,
    /// The case.
    pub case_id: i64,
    /// The encoded request, sent byte for byte the same on every retry.
    pub body: Vec<u8>,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// Send attempts so far.
    pub attempts: i64,
    /// The last error, when one happened.
    pub last_error: String,
}

/// An outbox row.
type OutboxRow = (i64, String, String, i64, Vec<u8>, String, i64, String);

impl LocalStore {
    /// Writes a report to the outbox before anything is sent. The request id must be new: the
    /// table refuses a second entry with the same id, so one id never names two contents.
    pub async fn enqueue(
        &self,
        rpc: &str,
        case_id: i64,
        body: Vec<u8>,
        request_id: &str,
    ) -> LocalResult<()> {
        sqlx::query("INSERT INTO outbox (request_id, rpc, case_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(request_id)
            .bind(rpc)
            .bind(case_id)
            .bind(body)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The outbox in order (only pending ones unless `all`).
    pub async fn outbox(&self, all: bool) -> LocalResult<Vec<Outgoing>> {
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT seq, request_id, rpc, case_id, body, state, attempts, last_error FROM outbox \
             WHERE $1 OR state = 'pending' ORDER BY seq",
        )
        .bind(all)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(seq, request_id, rpc, case_id, body, state, attempts, last_error)| Outgoing {
                    seq,
                    request_id,
                    rpc,
                    case_id,
                    body,
                    state,
                    attempts,
                    last_error,
                },
            )
            .collect())
    }

    /// One outbox message by request id.
    pub async fn outgoing(&self, request_id: &str) -> LocalResult<Option<Outgoing>> {
        Ok(self
            .outbox(true)
            .await?
            .into_iter()
            .find(|o| o.request_id == request_id))
    }

    /// The hub confirmed a report: keep its answer and receipt, update the inbox copy of the case.
    pub async fn confirmed(
        &self,
        request_id: &str,
        response: &pb::CaseActionResponse,
    ) -> LocalResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE outbox SET state = 'done', response = $1, done_at = $2, attempts = attempts + 1 WHERE request_id = $3")
            .bind(response.encode_to_vec())
            .bind(now())
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        if let Some(receipt) = &response.receipt {
            Self::keep_receipt(&mut tx, receipt).await?;
        }
        if let Some(case) = &response.case {
            let body: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT body FROM cases WHERE case_id = $1")
                    .bind(case.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(body) = body {
                let mut stored = pb::AgencyCase::decode(body.as_slice())
                    .map_err(|_| LocalError::Corrupt("case"))?;
                stored.case = Some(case.clone());
                let status = case_status(case.status);
                sqlx::query(
                    "UPDATE cases SET status = $1, body = $2, updated_at = $3 WHERE case_id = $4",
                )
                .bind(status)
                .bind(stored.encode_to_vec())
                .bind(now())
                .bind(case.id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A send failed: count it; `permanent` when the hub refused for good (it will not be retried).
    pub async fn attempt_failed(
        &self,
        request_id: &str,
        error: &str,
        permanent: bool,
    ) -> LocalResult<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, \
             state = CASE WHEN $2 THEN 'failed' ELSE state END WHERE request_id = $3",
        )
        .bind(error)
        .bind(permanent)
        .bind(request_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
