//! Backup and restore of the hub's database, on the hub's host.
//!
//! - SQLite: [`backup`] writes a consistent copy while the hub runs (`VACUUM INTO`); [`restore`]
//!   puts a copy in place of the configured file, keeping the replaced file beside it
//!   (`hub.db.replaced-<time>`), with the hub stopped.
//! - PostgreSQL: [`backup`] runs `pg_dump --format=custom` (a consistent snapshot while the hub
//!   runs); [`restore`] runs `pg_restore` into an EMPTY database (made with `createdb`), so the
//!   replaced database is never touched; point the hub at the new one.
//!
//! After the copy is in place the restore is marked in the database: appeal, case, event, notice
//! and attachment ids and each year's appeal numbers continue past everything the replaced history
//! gave out (read from the replaced database when it can be read, else past the backup's plus
//! `--id-gap`, numbers plus 10 000), so no citizen, operator or agency client ever meets a number
//! or id again that meant something else; and an agency cursor from the replaced history is re-based onto the
//! restored log when its client reconnects (see `Hotline::admit_agency_cursor`). The audit chain
//! is verified before and after, and the restore itself is an audited row.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::app::{AppError, Hotline, Store};
use crate::audit::Finding;
use crate::config::ServeConfig;
use crate::server;
use crate::store::{self, AnyStore, IdMarks, RestoreMark, StoreError};

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A use case failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// The hub could not open its database.
    #[error(transparent)]
    Serve(#[from] server::ServeError),
    /// A file could not be read, written or moved.
    #[error("{0}")]
    Io(String),
    /// `pg_dump` or `pg_restore` failed or is missing.
    #[error("{0}")]
    Tool(String),
    /// The restore would overwrite something, or the backup is not usable.
    #[error("{0}")]
    Refused(String),
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The mark left in the database.
    pub mark: RestoreMark,
    /// Where the replaced SQLite file was kept.
    pub replaced_kept_at: Option<PathBuf>,
    /// Audit rows verified after the restore.
    pub audit_rows: i64,
}

/// The path of a `sqlite://…` URL.
fn sqlite_path(url: &str) -> PathBuf {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

fn run(tool: &str, args: &[&str]) -> Result<(), BackupError> {
    let output = Command::new(tool).args(args).output().map_err(|e| {
        BackupError::Tool(format!(
            "cannot run {tool}: {e} (install the PostgreSQL client tools of the server's version)"
        ))
    })?;
    if output.status.success() {
        Ok(())
    } else {
        // Its stderr names objects, never rows: no personal data.
        Err(BackupError::Tool(format!(
            "{tool} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Writes a consistent backup of the configured database to `out` (which must not exist), while
/// the hub may be running.
pub async fn backup(config: &ServeConfig, out: &Path) -> Result<(), BackupError> {
    if out.exists() {
        return Err(BackupError::Refused(format!(
            "{} exists; a backup never overwrites a file",
            out.display()
        )));
    }
    if config.is_sqlite() {
        match server::open(config).await? {
            AnyStore::Sqlite(s) => {
                let out = out
                    .to_str()
                    .ok_or_else(|| BackupError::Io(format!("{}: not UTF-8", out.display())))?;
                Hotline::new(s).backup_into(out).await?;
                Ok(())
            }
            AnyStore::Postgres(_) => unreachable!("the URL names SQLite"),
        }
    } else {
        let out = out.to_string_lossy();
        let dbname = format!("--dbname={}", config.database_url);
        run(
            "pg_dump",
            &[
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--file",
                &out,
                &dbname,
            ],
        )
    }
}

/// How the restore goes.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup.
    pub from: PathBuf,
    /// On PostgreSQL: the database the restore replaces, to continue event ids after its last.
    pub replaced_url: Option<String>,
    /// Event ids skipped after the backup's last when the replaced database cannot be read.
    pub id_gap: i64,
}

/// The ids and appeal numbers the database at `url` has given out, if it can be opened.
async fn marks_of(url: &str) -> Option<IdMarks> {
    match store::open(url).await.ok()? {
        AnyStore::Sqlite(s) => {
            let marks = Hotline::new(s.clone()).id_marks().await.ok();
            s.pool().close().await;
            marks
        }
        AnyStore::Postgres(s) => {
            let marks = Hotline::new(s.clone()).id_marks().await.ok();
            s.pool().close().await;
            marks
        }
    }
}

async fn checked_audit<S: Store>(hotline: &Hotline<S>, when: &str) -> Result<i64, BackupError> {
    match hotline.verify_audit().await? {
        Finding::Intact { rows } => Ok(rows),
        broken => Err(BackupError::Refused(format!(
            "the audit trail {when} does not verify: {broken:?}"
        ))),
    }
}

async fn mark<S: Store>(
    hotline: Hotline<S>,
    replaced: Option<IdMarks>,
    gap: i64,
) -> Result<(RestoreMark, i64), BackupError> {
    checked_audit(&hotline, "of the backup").await?;
    // What the replaced history gave out: read from it, or guessed generously past the backup.
    let given_out = match replaced {
        Some(marks) => marks,
        None => {
            let backup = hotline.id_marks().await?;
            let gap = gap.max(0);
            IdMarks {
                ids: backup
                    .ids
                    .into_iter()
                    .map(|(t, id)| (t, id + gap))
                    .collect(),
                numbers: backup
                    .numbers
                    .into_iter()
                    .map(|(year, last)| (year, last + gap.min(NUMBER_GAP)))
                    .collect(),
            }
        }
    };
    let mark = hotline.mark_restore(&given_out).await?;
    let rows = checked_audit(&hotline, "after the restore").await?;
    Ok((mark, rows))
}

/// Appeal numbers skipped in each year when the replaced database cannot be read (numbers are
/// read by people: a smaller jump than ids).
const NUMBER_GAP: i64 = 10_000;

/// Restores the backup `options.from` into the configured database. The hub must be stopped
/// (SQLite) or pointed at the new database afterwards (PostgreSQL).
pub async fn restore(
    config: &ServeConfig,
    options: &RestoreOptions,
) -> Result<Restored, BackupError> {
    if !options.from.is_file() {
        return Err(BackupError::Refused(format!(
            "{}: no such backup file",
            options.from.display()
        )));
    }
    if config.is_sqlite() {
        let path = sqlite_path(&config.database_url);
        let mut kept = None;
        let mut replaced = None;
        if path.exists() {
            replaced = marks_of(&config.database_url).await;
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
            let aside = PathBuf::from(format!("{}.replaced-{stamp}", path.display()));
            for suffix in ["", "-wal", "-shm"] {
                let from = PathBuf::from(format!("{}{suffix}", path.display()));
                if from.exists() {
                    let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                    std::fs::rename(&from, &to).map_err(|e| {
                        BackupError::Io(format!("cannot move {} aside: {e}", from.display()))
                    })?;
                }
            }
            kept = Some(aside);
        } else if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| BackupError::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::copy(&options.from, &path).map_err(|e| {
            BackupError::Io(format!(
                "cannot copy {} to {}: {e}",
                options.from.display(),
                path.display()
            ))
        })?;
        let AnyStore::Sqlite(s) = server::open(config).await? else {
            unreachable!("the URL names SQLite")
        };
        let (mark, audit_rows) = mark(Hotline::new(s.clone()), replaced, options.id_gap).await?;
        s.pool().close().await;
        Ok(Restored {
            mark,
            replaced_kept_at: kept,
            audit_rows,
        })
    } else {
        if !store::postgres_is_empty(&config.database_url).await? {
            return Err(BackupError::Refused(
                "the target database is not empty: restore into a new database (createdb), \
                 then point the hub at it; the replaced one is kept as it is"
                    .into(),
            ));
        }
        let replaced = match &options.replaced_url {
            Some(url) => marks_of(url).await,
            None => None,
        };
        let from = options.from.to_string_lossy();
        let dbname = format!("--dbname={}", config.database_url);
        run(
            "pg_restore",
            &[
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                &dbname,
                &from,
            ],
        )?;
        let AnyStore::Postgres(s) = store::open(&config.database_url).await? else {
            unreachable!("the URL names PostgreSQL")
        };
        let (mark, audit_rows) = mark(Hotline::new(s.clone()), replaced, options.id_gap).await?;
        s.pool().close().await;
        Ok(Restored {
            mark,
            replaced_kept_at: None,
            audit_rows,
        })
    }
}
