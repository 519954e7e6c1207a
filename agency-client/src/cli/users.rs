//! `agency-client user add|remove|reset|list`: the clerks who may sign in to the desk, kept in the
//! local store with argon2id hashes. A password comes from stdin with `--password-stdin` (scripts,
//! tests); without it one is generated and printed once, so no password is ever typed on a
//! command line or echoed by a prompt.

use std::io::BufRead;

use clap::Subcommand;
use ring::rand::{SecureRandom, SystemRandom};

use super::CliError;
use crate::desk::password;
use crate::local::LocalStore;

/// `user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a clerk who may sign in to the desk.
    Add {
        /// The login (letters, digits, `.`, `_`, `-`, `@`; at most 64).
        login: String,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a clerk and end their sessions.
    Remove {
        /// The login.
        login: String,
    },
    /// Set a new password, lift a lockout and end the clerk's sessions.
    Reset {
        /// The login.
        login: String,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the clerks.
    List,
}

/// Checks a login's form.
fn check_login(login: &str) -> Result<(), CliError> {
    let ok = !login.is_empty()
        && login.chars().count() <= 64
        && login
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "login `{}`: use 1-64 letters, digits, `.`, `_`, `-` or `@`",
            login.chars().take(64).collect::<String>()
        )))
    }
}

/// The password to set: stdin's first line, or a generated one (printed by the caller).
fn new_password(from_stdin: bool) -> Result<(String, bool), CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::Failed(format!("stdin: {e}")))?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        password::check_new(&password).map_err(CliError::Failed)?;
        return Ok((password, false));
    }
    // 18 random bytes in an alphabet without look-alikes: about 100 bits.
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 18];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CliError::Failed("no randomness".into()))?;
    let password = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok((password, true))
}

/// Runs a `user` command on the local store.
pub(super) async fn run(local: &LocalStore, command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            login,
            password_stdin,
        } => {
            check_login(&login)?;
            let (password, generated) = new_password(password_stdin)?;
            let hash = password::hash(&password).map_err(CliError::Failed)?;
            if !local.add_clerk(&login, &hash).await? {
                return Err(CliError::Failed(format!("clerk `{login}` already exists")));
            }
            println!("clerk `{login}` added");
            if generated {
                println!("password (give it to the clerk; it is not shown again): {password}");
            }
        }
        UserCommand::Remove { login } => {
            if !local.remove_clerk(&login).await? {
                return Err(CliError::Failed(format!("no clerk `{login}`")));
            }
            println!("clerk `{login}` removed and signed out");
        }
        UserCommand::Reset {
            login,
            password_stdin,
        } => {
            let (password, generated) = new_password(password_stdin)?;
            let hash = password::hash(&password).map_err(CliError::Failed)?;
            if !local.reset_clerk(&login, &hash).await? {
                return Err(CliError::Failed(format!("no clerk `{login}`")));
            }
            println!("clerk `{login}`: new password set, lockout lifted, sessions ended");
            if generated {
                println!("password (give it to the clerk; it is not shown again): {password}");
            }
        }
        UserCommand::List => {
            for login in local.clerk_logins().await? {
                println!("{login}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_plain_words() {
        assert!(check_login("olena.k").is_ok());
        assert!(check_login("клерк-1").is_ok());
        assert!(check_login("").is_err());
        assert!(check_login("a b").is_err());
        assert!(check_login(&"a".repeat(65)).is_err());
    }

    #[test]
    fn a_generated_password_is_long_enough() {
        let (password, generated) = new_password(false).unwrap();
        assert!(generated);
        assert_eq!(password.chars().count(), 18);
        assert!(password::check_new(&password).is_ok());
    }
}
