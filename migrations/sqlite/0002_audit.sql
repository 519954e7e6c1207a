-- The audit trail: every state change and every read of a citizen's personal data, with who, when,
-- which RPC and which appeal. Hash-chained: each row's hash covers the previous row's hash and its own
-- fields, so `hub audit verify` finds any edited or removed row. The head row serializes appends.

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq           BIGINT PRIMARY KEY,
    at            TEXT NOT NULL,
    principal     TEXT NOT NULL,
    rpc           TEXT NOT NULL,
    appeal_number TEXT,
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_log_appeal ON audit_log (appeal_number, seq);
