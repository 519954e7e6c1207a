//! The audit trail's hash chain: how a row's hash is computed and how a whole trail is checked.
//! Pure; the store appends rows (in the transaction of the change they record) and reads them back.

use ring::digest::{SHA256, digest};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When (RFC 3339, UTC, microseconds), exactly as hashed.
    pub at: String,
    /// Who (`staff:operator:ivan`, `agency:vodokanal`, `system`).
    pub principal: String,
    /// The RPC (`/hotline.v1.AppealRegistry/GetAppeal`) or command.
    pub rpc: String,
    /// The appeal concerned, if any.
    pub appeal_number: Option<String>,
    /// What happened: event kinds of a change, or `read.personal_data`.
    pub action: String,
    /// Details (JSON, never personal data).
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

impl AuditEntry {
    /// The hash this row should have: SHA-256 over the previous hash and every field, each
    /// length-prefixed so that no two different rows hash the same input.
    pub fn expected_hash(&self) -> String {
        let mut input = Vec::new();
        let seq = self.seq.to_string();
        let appeal = self.appeal_number.as_deref().unwrap_or("\u{0}none");
        for field in [
            &self.prev_hash,
            &seq,
            &self.at,
            &self.principal,
            &self.rpc,
            appeal,
            &self.action,
            &self.detail,
        ] {
            input.extend_from_slice(&(field.len() as u64).to_be_bytes());
            input.extend_from_slice(field.as_bytes());
        }
        digest(&SHA256, &input)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// What a walk over the trail found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Every row is where it should be and unaltered.
    Intact {
        /// Rows checked.
        rows: i64,
    },
    /// Row `seq` was edited (its contents no longer match its hash, or its hash breaks the chain).
    Altered {
        /// The first altered row.
        seq: i64,
    },
    /// Row `seq` is missing from the middle of the chain.
    Missing {
        /// The first missing row.
        seq: i64,
    },
    /// Rows after `last` were removed (the head records `head`).
    Truncated {
        /// The last row present.
        last: i64,
        /// The last row the head records.
        head: i64,
    },
}

/// Walks `rows` (ordered by seq) against the head (`head_seq`, `head_hash`) and names the first problem.
pub fn verify(rows: &[AuditEntry], head_seq: i64, head_hash: &str) -> Finding {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for row in rows {
        if row.seq != expected_seq {
            return Finding::Missing { seq: expected_seq };
        }
        if row.prev_hash != prev || row.expected_hash() != row.hash {
            return Finding::Altered { seq: row.seq };
        }
        prev = row.hash.clone();
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    if last != head_seq {
        return Finding::Truncated {
            last,
            head: head_seq,
        };
    }
    if prev != head_hash {
        return Finding::Altered { seq: last };
    }
    Finding::Intact { rows: last }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at: format!("2026-11-28T10:00:{seq:02}.000000Z"),
                    principal: "staff:operator:ivan".into(),
                    rpc: "/hotline.v1.AppealRegistry/GetAppeal".into(),
                    appeal_number: Some("DP-2026-000001".into()),
                    action: "read.personal_data".into(),
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.expected_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn finds_the_first_edit_removal_or_truncation() {
        let rows = chain(5);
        let head = rows.last().unwrap().hash.clone();
        assert_eq!(verify(&rows, 5, &head), Finding::Intact { rows: 5 });

        let mut edited = rows.clone();
        edited[2].principal = "staff:admin:mallory".into();
        assert_eq!(verify(&edited, 5, &head), Finding::Altered { seq: 3 });

        let mut rehashed = edited.clone();
        rehashed[2].hash = rehashed[2].expected_hash();
        assert_eq!(
            verify(&rehashed, 5, &head),
            Finding::Altered { seq: 4 },
            "a re-hashed row breaks the next link"
        );

        let mut removed = rows.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, 5, &head), Finding::Missing { seq: 2 });

        assert_eq!(
            verify(&rows[..3], 5, &head),
            Finding::Truncated { last: 3, head: 5 }
        );
        assert_eq!(verify(&[], 0, GENESIS), Finding::Intact { rows: 0 });
    }
}
