//! `hub staff password set LOGIN --role R --password-stdin`: a console password for a member of
//! staff, on the hub's host, written to the database directly (like `hub audit`); the principal is
//! the one a staff certificate names (`urn:hotline:staff:<role>:<login>`). Audited as done by
//! `system` through this command.

use std::io::Read;
use std::path::Path;

use clap::{Args, Subcommand};

use super::CliError;
use crate::app::{Hotline, Store};
use crate::config::{ServeConfig, ServeOptions};
use crate::domain::Caller;
use crate::principal::StaffRole;
use crate::server;
use crate::store::AnyStore;

/// `hub staff …`
#[derive(Debug, Args)]
pub struct StaffArgs {
    /// The database, as for `hub serve`.
    #[command(flatten)]
    pub database: ServeOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: StaffCommand,
}

/// Staff commands.
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Console passwords.
    #[command(subcommand)]
    Password(PasswordCommand),
}

/// `hub staff password …`
#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Set (or replace) the console password of LOGIN, with its role; ends its open sessions and
    /// clears a lock.
    Set {
        /// The login (lowercase latin letters, digits, `.`, `-`, `_`), as in its certificate.
        login: String,
        /// operator, analyst, supervisor or admin.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (its first line), never from the command line.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// Runs `hub staff …`.
pub async fn staff(args: StaffArgs, config_file: Option<&Path>) -> Result<(), CliError> {
    let config = ServeConfig::resolve(args.database, config_file)?;
    match server::open(&config).await? {
        AnyStore::Sqlite(s) => staff_on(&Hotline::new(s), args.command).await,
        AnyStore::Postgres(s) => staff_on(&Hotline::new(s), args.command).await,
    }
}

async fn staff_on<S: Store>(hotline: &Hotline<S>, command: StaffCommand) -> Result<(), CliError> {
    match command {
        StaffCommand::Password(PasswordCommand::Set {
            login,
            role,
            password_stdin: _,
        }) => {
            let role = StaffRole::from_code(&role).ok_or_else(|| {
                CliError::Usage(format!(
                    "`{role}` is not operator, analyst, supervisor or admin"
                ))
            })?;
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| CliError::Io(format!("standard input: {e}")))?;
            let password = input.lines().next().unwrap_or_default();
            let principal = hotline
                .set_staff_password(
                    &login,
                    role,
                    password,
                    &Caller::system("hub staff password set"),
                )
                .await?;
            println!("console password set for {principal}");
        }
    }
    Ok(())
}
