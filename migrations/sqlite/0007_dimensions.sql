-- Who is calling and how urgent it is: the classifier's dimensions beyond the subject (sign,
-- author category, social status, sex), urgency classes with an emergency's due instant, priority,
-- lead executors and co-executors, and incidents (mass appeals answered once).

CREATE TABLE classifier_entries (
    dimension   TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    parent_code TEXT NOT NULL DEFAULT '',
    priority    BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, code)
);

ALTER TABLE appeals ADD COLUMN sign TEXT NOT NULL DEFAULT 'primary';
UPDATE appeals SET sign = 'repeat' WHERE repeat_of IS NOT NULL;
-- Codes separated by commas (each a checked code: no commas inside).
ALTER TABLE appeals ADD COLUMN author_categories TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN social_status TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN sex TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN contact_person TEXT NOT NULL DEFAULT '';
ALTER TABLE appeals ADD COLUMN urgency TEXT NOT NULL DEFAULT 'ordinary';
UPDATE appeals SET urgency = 'urgent' WHERE urgent = 1;
ALTER TABLE appeals ADD COLUMN priority BOOLEAN NOT NULL DEFAULT 0;
UPDATE appeals SET priority = benefit_holder;
ALTER TABLE appeals ADD COLUMN due_at TEXT;
ALTER TABLE appeals ADD COLUMN incident_id BIGINT;

ALTER TABLE cases ADD COLUMN role TEXT NOT NULL DEFAULT 'sole';
ALTER TABLE cases ADD COLUMN due_at TEXT;

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    category_code     TEXT NOT NULL,
    district_code     TEXT NOT NULL,
    status            TEXT NOT NULL,
    primary_appeal_id BIGINT NOT NULL REFERENCES appeals (id),
    opened_at         TEXT NOT NULL,
    answered_at       TEXT,
    closed_at         TEXT
);
CREATE INDEX incidents_open ON incidents (status, category_code, district_code);
CREATE INDEX appeals_incident ON appeals (incident_id);
CREATE INDEX appeals_queue ON appeals (status, priority, received_at);
