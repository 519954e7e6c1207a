-- The agency client's local store: its inbox of cases, the events it has stored (deduplicated by
-- event id), its outbox of reports not yet confirmed by the hub, and the hub's signed receipts.
-- Append-only: never edit a shipped migration; add a new one.

CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE events (
    event_id      INTEGER PRIMARY KEY,
    cursor        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    case_id       INTEGER NOT NULL,
    appeal_number TEXT NOT NULL,
    detail        TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    hook_done     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE cases (
    case_id       INTEGER PRIMARY KEY,
    appeal_number TEXT NOT NULL,
    status        TEXT NOT NULL,
    deadline      TEXT NOT NULL,
    body          BLOB NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    rpc        TEXT NOT NULL,
    case_id    INTEGER NOT NULL,
    body       BLOB NOT NULL,
    created_at TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    response   BLOB,
    done_at    TEXT
);
CREATE INDEX outbox_pending ON outbox (state, seq);

CREATE TABLE receipts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    case_id    INTEGER NOT NULL,
    event_id   INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    json       TEXT NOT NULL,
    stored_at  TEXT NOT NULL,
    UNIQUE (kind, event_id, request_id)
);
