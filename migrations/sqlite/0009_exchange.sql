-- The exchange with the national contact centre and other partners: which appeals came from (or
-- went up to) a partner under which id, the records held for an analyst to classify, the partners'
-- code mappings, each partner's acknowledged cursor; and which appeal texts may be published as
-- open data.

CREATE TABLE exchange_links (
    appeal_id     BIGINT PRIMARY KEY REFERENCES appeals (id),
    partner       TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    record_sha256 TEXT NOT NULL DEFAULT '',
    direction     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (partner, external_id)
);
CREATE INDEX exchange_links_partner ON exchange_links (partner, appeal_id);

CREATE TABLE exchange_held (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    partner       TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    record        BLOB NOT NULL,
    record_sha256 TEXT NOT NULL,
    missing       TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    appeal_id     BIGINT REFERENCES appeals (id),
    resolved_at   TEXT,
    resolved_by   TEXT NOT NULL DEFAULT '',
    UNIQUE (partner, external_id)
);

CREATE TABLE exchange_mappings (
    partner TEXT NOT NULL,
    kind    TEXT NOT NULL,
    theirs  TEXT NOT NULL,
    ours    TEXT NOT NULL,
    PRIMARY KEY (partner, kind, theirs)
);

CREATE TABLE exchange_cursors (
    partner    TEXT PRIMARY KEY,
    txid       BIGINT NOT NULL,
    event_id   BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

ALTER TABLE appeals ADD COLUMN publishable BOOLEAN NOT NULL DEFAULT 0;
