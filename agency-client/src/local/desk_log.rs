//! What the desk records besides its clerks — each view of a citizen's contact (a read of personal
//! data) and which clerk wrote which outbox entry — and what it reads for one case page: the case's
//! history as delivered, its outbox entries with their state, and the hub's receipts.

use hotline_proto::v1 as pb;

use super::{LocalError, LocalResult, LocalStore, now};

/// One entry of a case's history, as the hub delivered it.
#[derive(Debug, Clone)]
pub struct CaseEntry {
    /// The event kind (`case.accepted`).
    pub kind: String,
    /// Its detail (JSON text).
    pub detail: String,
    /// When the client stored it (RFC 3339, UTC).
    pub received_at: String,
}

/// An outbox entry of one case, with the clerk who wrote it and the hub's receipt once confirmed.
#[derive(Debug, Clone)]
pub struct DeskOutgoing {
    /// The request id.
    pub request_id: String,
    /// The gateway call (`AcceptCase`).
    pub rpc: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// The last error of a send.
    pub last_error: String,
    /// When it was written.
    pub created_at: String,
    /// When the hub confirmed it.
    pub done_at: Option<String>,
    /// The clerk who wrote it at the desk; empty when it came from the command line.
    pub login: String,
    /// The hub's signed receipt, once confirmed.
    pub receipt: Option<pb::Receipt>,
}

/// One recorded view of a citizen's contact.
#[derive(Debug, Clone)]
pub struct ContactView {
    /// The clerk.
    pub login: String,
    /// When (RFC 3339, UTC).
    pub viewed_at: String,
}

/// A row of the outbox of one case, joined with its desk author.
type OutboxRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn receipt_from_json(json: &str) -> LocalResult<pb::Receipt> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|_| LocalError::Corrupt("receipt"))?;
    hotline_proto::receipt::from_json(&value).map_err(|_| LocalError::Corrupt("receipt"))
}

impl LocalStore {
    /// Records that `login` was shown the citizen's contact on case `case_id`.
    pub async fn record_contact_view(&self, login: &str, case_id: i64) -> LocalResult<()> {
        sqlx::query("INSERT INTO contact_views (login, case_id, viewed_at) VALUES ($1, $2, $3)")
            .bind(login)
            .bind(case_id)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The recorded views of a case's contact, newest first.
    pub async fn contact_views(&self, case_id: i64) -> LocalResult<Vec<ContactView>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT login, viewed_at FROM contact_views WHERE case_id = $1 ORDER BY id DESC",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(login, viewed_at)| ContactView { login, viewed_at })
            .collect())
    }

    /// Records that `login` wrote outbox entry `request_id` at the desk.
    pub async fn record_desk_action(
        &self,
        request_id: &str,
        login: &str,
        case_id: i64,
    ) -> LocalResult<()> {
        sqlx::query(
            "INSERT INTO desk_actions (request_id, login, case_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(request_id)
        .bind(login)
        .bind(case_id)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A case's history as delivered, oldest first.
    pub async fn case_history(&self, case_id: i64) -> LocalResult<Vec<CaseEntry>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT kind, detail, received_at FROM events WHERE case_id = $1 ORDER BY event_id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, detail, received_at)| CaseEntry {
                kind,
                detail,
                received_at,
            })
            .collect())
    }

    /// The latest event kind of every case (for the inbox's "question answered" and "returned").
    pub async fn last_event_kinds(&self) -> LocalResult<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT e.case_id, e.kind FROM events e \
             JOIN (SELECT case_id, MAX(event_id) AS last FROM events GROUP BY case_id) l \
             ON e.case_id = l.case_id AND e.event_id = l.last",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// A case's outbox entries, newest first, with their desk author and receipt.
    pub async fn case_outbox(&self, case_id: i64) -> LocalResult<Vec<DeskOutgoing>> {
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT o.request_id, o.rpc, o.state, o.last_error, o.created_at, o.done_at, d.login \
             FROM outbox o LEFT JOIN desk_actions d ON d.request_id = o.request_id \
             WHERE o.case_id = $1 ORDER BY o.seq DESC",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (request_id, rpc, state, last_error, created_at, done_at, login) in rows {
            let json: Option<String> = sqlx::query_scalar(
                "SELECT json FROM receipts WHERE request_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(&request_id)
            .fetch_optional(&self.pool)
            .await?;
            out.push(DeskOutgoing {
                receipt: json.as_deref().map(receipt_from_json).transpose()?,
                request_id,
                rpc,
                state,
                last_error,
                created_at,
                done_at,
                login: login.unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// The hub's receipts for one case, oldest first.
    pub async fn case_receipts(&self, case_id: i64) -> LocalResult<Vec<pb::Receipt>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT json FROM receipts WHERE case_id = $1 ORDER BY id")
                .bind(case_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|json| receipt_from_json(json)).collect()
    }

    /// Cases with an entry still waiting in the outbox (shown as queued in the inbox).
    pub async fn cases_with_pending(&self) -> LocalResult<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT case_id FROM outbox WHERE state = 'pending'")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
