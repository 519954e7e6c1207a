//! `hub backup` and `hub restore`, on the hub's host (see [`crate::backup`] for what they do on
//! each database).

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::backup::{self, RestoreOptions};
use crate::config::{ServeConfig, ServeOptions};
use crate::server::redact;

/// `hub backup --out FILE`
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The database, as for `hub serve`.
    #[command(flatten)]
    pub database: ServeOptions,
    /// Where to write the backup (must not exist): a SQLite file, or a `pg_dump` custom-format
    /// archive on PostgreSQL.
    #[arg(long)]
    pub out: PathBuf,
}

/// `hub restore --from FILE`
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The database to restore into, as for `hub serve` (SQLite: the hub must be stopped; the
    /// replaced file is kept beside it. PostgreSQL: an empty database made with `createdb`).
    #[command(flatten)]
    pub database: ServeOptions,
    /// The backup.
    #[arg(long)]
    pub from: PathBuf,
    /// PostgreSQL: the database being replaced, so that event ids continue after its last one.
    #[arg(long, env = "HOTLINE_REPLACED_DATABASE_URL")]
    pub replaced_database_url: Option<String>,
    /// Event ids left unused after the backup's last when the replaced database cannot be read
    /// (more than the events written between the backup and the loss).
    #[arg(long, default_value_t = 1_000_000)]
    pub id_gap: i64,
}

/// Runs `hub backup`.
pub async fn backup(args: BackupArgs, file: Option<&std::path::Path>) -> Result<(), CliError> {
    let config = ServeConfig::resolve(args.database, file)?;
    backup::backup(&config, &args.out).await?;
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup of {} written to {} ({size} bytes)",
        redact(&config.database_url),
        args.out.display()
    );
    Ok(())
}

/// Runs `hub restore`.
pub async fn restore(args: RestoreArgs, file: Option<&std::path::Path>) -> Result<(), CliError> {
    let config = ServeConfig::resolve(args.database, file)?;
    let restored = backup::restore(
        &config,
        &RestoreOptions {
            from: args.from.clone(),
            replaced_url: args.replaced_database_url,
            id_gap: args.id_gap,
        },
    )
    .await?;
    println!(
        "restored {} into {}: the backup ends at event {}; new events start at {}; audit trail intact ({} rows)",
        args.from.display(),
        redact(&config.database_url),
        restored.mark.backup_last_event,
        restored.mark.resumed_at_event,
        restored.audit_rows
    );
    if let Some(kept) = restored.replaced_kept_at {
        println!("the replaced database is kept at {}", kept.display());
    }
    println!(
        "agency clients resume by themselves: a cursor from after the backup is re-based onto the \
         restored log when they reconnect"
    );
    Ok(())
}
