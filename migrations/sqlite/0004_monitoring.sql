-- Monitoring: when each case was first answered, how often it was returned, when the deadline
-- monitor announced it due soon and overdue (each once), when an appeal ended, and the indexes
-- the daily report and the authorities' ratings read.

ALTER TABLE cases ADD COLUMN answered_at TEXT;
ALTER TABLE cases ADD COLUMN returned_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN answered_late BOOLEAN;
ALTER TABLE cases ADD COLUMN due_soon_at TEXT;
ALTER TABLE cases ADD COLUMN overdue_at TEXT;
ALTER TABLE appeals ADD COLUMN closed_at TEXT;

CREATE INDEX cases_assigned ON cases (assigned_at);
CREATE INDEX cases_answered ON cases (answered_at);
CREATE INDEX cases_authority_assigned ON cases (authority_code, assigned_at);
CREATE INDEX appeals_closed ON appeals (closed_at);
CREATE INDEX appeals_repeat_lookup ON appeals (citizen_phone, category_code, received_at);

-- Short leases, so that when several hubs share a database one of them runs the deadline monitor.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
