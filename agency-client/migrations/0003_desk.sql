-- The desk (`run --desk`): the authority's clerks who sign in to the web page, their sessions, every
-- view of a citizen's contact (a read of personal data, recorded like the hub records its own), and
-- which clerk wrote each outbox entry from the desk.
-- Append-only: never edit a shipped migration; add a new one.

CREATE TABLE clerks (
    login           TEXT PRIMARY KEY,
    -- The argon2id hash in PHC form ($argon2id$v=19$...); never the password.
    password_hash   TEXT NOT NULL,
    -- Failed sign-ins in a row; reset by a successful one or by `user reset`.
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    -- Sign-in refused until then, in milliseconds since the Unix epoch (0: not locked).
    locked_until    INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    password_set_at TEXT NOT NULL
);

CREATE TABLE desk_sessions (
    -- Hex SHA-256 of the cookie's token: a copy of the store does not sign anyone in.
    token_sha256 TEXT PRIMARY KEY,
    login        TEXT NOT NULL REFERENCES clerks (login) ON DELETE CASCADE,
    -- The session's anti-forgery token, put in every form and checked on every POST.
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    -- Milliseconds since the Unix epoch.
    expires_at   INTEGER NOT NULL
);
CREATE INDEX desk_sessions_by_login ON desk_sessions (login);

CREATE TABLE contact_views (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    login     TEXT NOT NULL,
    case_id   INTEGER NOT NULL,
    viewed_at TEXT NOT NULL
);
CREATE INDEX contact_views_by_case ON contact_views (case_id, id);

CREATE TABLE desk_actions (
    request_id TEXT PRIMARY KEY REFERENCES outbox (request_id),
    login      TEXT NOT NULL,
    case_id    INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX desk_actions_by_case ON desk_actions (case_id);
