-- Restores of a backup (`hub restore`). Event ids after the backup's last event and before the
-- first id given out after the restore never exist in this log: an agency cursor among them was
-- given out by the history the restore replaced, and is re-based onto the restored log instead of
-- being followed (or refused forever).
CREATE TABLE restores (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    restored_at       TEXT NOT NULL,
    backup_last_event BIGINT NOT NULL,
    resumed_at_event  BIGINT NOT NULL
);
