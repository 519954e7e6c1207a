-- How an appeal ends and what the citizen is told (the Law "On Citizens' Appeals"): the outcome of
-- each answer and of the appeal, the citizen's e-mail and satisfaction, consultations, call-back
-- spacing, rework named by the analyst, extensions the authorities ask for, follow-up appeals, the
-- unassigned watch, and the notices to the citizen (a transactional outbox: written with the change
-- that requires them, sent or worked through afterwards).

ALTER TABLE appeals ADD COLUMN citizen_email TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN consultation BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE appeals ADD COLUMN backdate_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN outcome TEXT;
ALTER TABLE appeals ADD COLUMN satisfaction INTEGER;
ALTER TABLE appeals ADD COLUMN satisfaction_note TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN disagreement TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN awaiting_rework BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE appeals ADD COLUMN first_callback_at TEXT;
ALTER TABLE appeals ADD COLUMN last_callback_at TEXT;
ALTER TABLE appeals ADD COLUMN unassigned_announced_at TEXT;
ALTER TABLE appeals ADD COLUMN continued_in TEXT NOT NULL DEFAULT '';

ALTER TABLE cases ADD COLUMN outcome TEXT;
ALTER TABLE cases ADD COLUMN outcome_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN resolved_at TEXT;
ALTER TABLE cases ADD COLUMN extension_requested_to TEXT;
ALTER TABLE cases ADD COLUMN extension_request_reason TEXT NOT NULL DEFAULT '';
-- Results given before outcomes existed: their first result is also their latest.
UPDATE cases SET resolved_at = answered_at;

CREATE TABLE notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    appeal_id  BIGINT NOT NULL REFERENCES appeals (id),
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    status     TEXT NOT NULL,
    address    TEXT NOT NULL,
    text       TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    done_at    TEXT,
    done_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notices_queue ON notices (status, channel, id);
CREATE INDEX notices_appeal ON notices (appeal_id);
CREATE INDEX appeals_unassigned ON appeals (status, received_at);
