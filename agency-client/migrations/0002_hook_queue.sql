-- The hooks still owed for stored events. A row is written in the same transaction that stores the
-- event, so no hook is lost to a crash; it is deleted when the hooks succeed, retried with growing
-- pauses while they fail, and kept as `dead` (its payload written to the dead-letter folder) after
-- the last allowed attempt. Events whose hooks had not run under migration 1 are queued here.
-- Append-only: never edit a shipped migration; add a new one.

CREATE TABLE hook_queue (
    event_id   INTEGER PRIMARY KEY REFERENCES events (event_id),
    case_id    INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'dead')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    -- When the next attempt is due, in milliseconds since the Unix epoch.
    next_at    INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    dead_at    TEXT
);
CREATE INDEX hook_queue_by_case ON hook_queue (state, case_id, event_id);

INSERT INTO hook_queue (event_id, case_id) SELECT event_id, case_id FROM events WHERE hook_done = 0;
