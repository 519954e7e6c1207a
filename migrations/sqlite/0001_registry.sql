-- The appeal registry: directory, appeals, cases and the append-only event log (SQLite).
-- Append-only: never edit a migration that has shipped; add a new one.

CREATE TABLE districts (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('district', 'settlement')),
    parent_code TEXT REFERENCES districts (code)
);

CREATE TABLE categories (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    parent_code TEXT REFERENCES categories (code),
    term_days   INTEGER NOT NULL DEFAULT 15
);

CREATE TABLE authorities (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    district_code TEXT REFERENCES districts (code),
    active        BOOLEAN NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- One row per year: the last appeal number given out (DP-2026-000123).
CREATE TABLE appeal_numbers (
    year INTEGER PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE appeals (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    number                    TEXT NOT NULL UNIQUE,
    received_at               TEXT NOT NULL,
    channel                   TEXT NOT NULL,
    kind                      TEXT NOT NULL,
    citizen_name              TEXT NOT NULL,
    citizen_phone             TEXT NOT NULL,
    citizen_address           TEXT NOT NULL,
    anonymous                 BOOLEAN NOT NULL,
    signatories               INTEGER NOT NULL,
    benefit_holder            BOOLEAN NOT NULL,
    district_code             TEXT NOT NULL REFERENCES districts (code),
    settlement_code           TEXT REFERENCES districts (code),
    category_code             TEXT NOT NULL REFERENCES categories (code),
    text                      TEXT NOT NULL,
    urgent                    BOOLEAN NOT NULL,
    complained_authority_code TEXT REFERENCES authorities (code),
    needs_study               BOOLEAN NOT NULL,
    repeat_of                 BIGINT REFERENCES appeals (id),
    status                    TEXT NOT NULL,
    status_reason             TEXT NOT NULL,
    deadline                  TEXT NOT NULL,
    callback_attempts         INTEGER NOT NULL,
    updated_at                TEXT NOT NULL
);
CREATE INDEX appeals_status ON appeals (status, id);
CREATE INDEX appeals_district ON appeals (district_code, id);
CREATE INDEX appeals_category ON appeals (category_code, id);
CREATE INDEX appeals_received ON appeals (received_at);

CREATE TABLE cases (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    appeal_id        BIGINT NOT NULL REFERENCES appeals (id),
    authority_code   TEXT NOT NULL REFERENCES authorities (code),
    status           TEXT NOT NULL,
    deadline         TEXT NOT NULL,
    extension_reason TEXT NOT NULL,
    reason           TEXT NOT NULL,
    answer           TEXT NOT NULL,
    declined_at      TEXT,
    assigned_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX cases_appeal ON cases (appeal_id);
CREATE INDEX cases_authority ON cases (authority_code, status);
CREATE INDEX cases_status_deadline ON cases (status, deadline);

-- The event log. SQLite has one writer, so id order is commit order and txid stays 0.
CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    txid           BIGINT NOT NULL DEFAULT 0,
    appeal_id      BIGINT NOT NULL REFERENCES appeals (id),
    case_id        BIGINT REFERENCES cases (id),
    authority_code TEXT,
    kind           TEXT NOT NULL,
    detail         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    at             TEXT NOT NULL
);
CREATE INDEX events_appeal ON events (appeal_id, id);
CREATE INDEX events_authority ON events (authority_code, txid, id);
CREATE INDEX events_order ON events (txid, id);
