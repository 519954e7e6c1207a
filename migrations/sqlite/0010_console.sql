-- The staff console's sign-in: a password per staff login (the same principals as the staff
-- certificates, urn:hotline:staff:<role>:<login>), argon2id hashes only, with the count of wrong
-- passwords in a row that locks the login for a while; and the sessions, keyed by the SHA-256 of
-- their token (a stolen copy of this table opens no session), each with its CSRF token and expiry.
CREATE TABLE staff_passwords (
    login           TEXT PRIMARY KEY,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash  TEXT PRIMARY KEY,
    login       TEXT NOT NULL REFERENCES staff_passwords (login) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX staff_sessions_login ON staff_sessions (login);
