-- The agency path: what an authority reports with its result, the documents it attaches, the
-- requests it made (each applied once, its first answer kept for retries), and how far each
-- authority has acknowledged its case feed.

ALTER TABLE cases ADD COLUMN measures TEXT NOT NULL DEFAULT '';

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content      BLOB NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX attachments_case ON attachments (case_id);

CREATE TABLE agency_requests (
    authority_code TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    rpc            TEXT NOT NULL,
    case_id        BIGINT NOT NULL,
    response       BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (authority_code, request_id)
);

CREATE TABLE agency_cursors (
    authority_code TEXT PRIMARY KEY,
    txid           BIGINT NOT NULL,
    event_id       BIGINT NOT NULL,
    acked_at       TEXT NOT NULL
);
