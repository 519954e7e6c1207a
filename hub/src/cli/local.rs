//! Commands that work on the hub's host rather than over gRPC: `hub pki …` on the CA's files and
//! `hub audit …` on the database.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::CliError;
use crate::app::{Hotline, Store};
use crate::audit::Finding;
use crate::config::{ServeConfig, ServeOptions};
use crate::pki::{self, Ca, Validity};
use crate::principal::{Principal, StaffRole};
use crate::server;
use crate::store::AnyStore;

/// `hub pki …`
#[derive(Debug, Args)]
pub struct PkiArgs {
    /// The CA's directory.
    #[arg(
        long,
        global = true,
        env = "HOTLINE_PKI_DIR",
        default_value = "data/pki"
    )]
    pub pki_dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: PkiCommand,
}

/// PKI commands.
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Make a new CA (ca.pem, ca.key, an empty crl.pem).
    Init {
        /// The CA's name.
        #[arg(long, default_value = "Hotline hub CA")]
        name: String,
    },
    /// Issue a certificate and key.
    Issue {
        /// Whose.
        #[command(subcommand)]
        what: IssueWhat,
        /// Days of validity.
        #[arg(long, global = true, default_value_t = 825)]
        days: i64,
        /// Directory to write to [default: the PKI directory].
        #[arg(long, global = true)]
        out: Option<PathBuf>,
    },
    /// Revoke a certificate: add it to crl.pem (a running hub picks the new CRL up by itself).
    Revoke {
        /// The certificate (PEM).
        cert: PathBuf,
    },
}

/// What `hub pki issue` makes.
#[derive(Debug, Subcommand)]
pub enum IssueWhat {
    /// An authority's agency client: `urn:hotline:agency:<code>`.
    Agency {
        /// The authority's directory code.
        code: String,
    },
    /// A member of staff: `urn:hotline:staff:<role>:<login>`.
    Staff {
        /// operator, analyst, supervisor or admin.
        role: String,
        /// Their login.
        login: String,
    },
    /// An exchange partner: `urn:hotline:exchange:<name>`.
    Exchange {
        /// The partner's name.
        name: String,
    },
    /// The hub's server certificate.
    Server {
        /// DNS names.
        #[arg(long)]
        dns: Vec<String>,
        /// IP addresses.
        #[arg(long)]
        ip: Vec<IpAddr>,
    },
}

fn principal(what: &IssueWhat) -> Result<Option<Principal>, CliError> {
    let p = match what {
        IssueWhat::Agency { code } => Principal::Agency {
            authority: code.clone(),
        },
        IssueWhat::Staff { role, login } => Principal::Staff {
            role: StaffRole::from_code(role).ok_or_else(|| {
                CliError::Usage(format!(
                    "`{role}` is not operator, analyst, supervisor or admin"
                ))
            })?,
            login: login.clone(),
        },
        IssueWhat::Exchange { name } => Principal::Exchange {
            partner: name.clone(),
        },
        IssueWhat::Server { .. } => return Ok(None),
    };
    // The same rules the hub applies when it reads the certificate back.
    match Principal::from_uri(&p.uri()) {
        Some(checked) => Ok(Some(checked)),
        None => Err(CliError::Usage(format!(
            "`{}` is not a valid identity (lowercase ascii codes)",
            p.uri()
        ))),
    }
}

/// Runs `hub pki …`.
pub fn pki(args: PkiArgs) -> Result<(), CliError> {
    match args.command {
        PkiCommand::Init { name } => {
            Ca::init(&args.pki_dir, &name)?;
            println!(
                "CA made in {}: ca.pem (give it to clients), ca.key (keep it secret), crl.pem",
                args.pki_dir.display()
            );
        }
        PkiCommand::Issue { what, days, out } => {
            if days < 1 {
                return Err(CliError::Usage("--days must be at least 1".into()));
            }
            let ca = Ca::open(&args.pki_dir)?;
            let out = out.unwrap_or_else(|| args.pki_dir.clone());
            let (issued, name) = match (&what, principal(&what)?) {
                (_, Some(p)) => (
                    ca.issue_client(&p, Validity::days(days))?,
                    pki::file_name(&p),
                ),
                (IssueWhat::Server { dns, ip }, None) => (
                    ca.issue_server(dns, ip, Validity::days(days))?,
                    "server".to_string(),
                ),
                _ => unreachable!("only a server certificate has no principal"),
            };
            let cert = issued.write(&out, &name)?;
            println!(
                "{}  (key: {})",
                cert.display(),
                out.join(format!("{name}.key")).display()
            );
        }
        PkiCommand::Revoke { cert } => {
            let ca = Ca::open(&args.pki_dir)?;
            let pem = std::fs::read_to_string(&cert)
                .map_err(|e| CliError::Io(format!("{}: {e}", cert.display())))?;
            let serial = ca.revoke(&pem)?;
            println!(
                "revoked serial {serial}; {} updated",
                args.pki_dir.join("crl.pem").display()
            );
        }
    }
    Ok(())
}

/// `hub audit …`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The database, as for `hub serve`.
    #[command(flatten)]
    pub database: ServeOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; name the first altered or missing row. Exits 1 if the trail is broken.
    Verify,
    /// List the trail (of one appeal).
    Show {
        /// Only this appeal.
        #[arg(long)]
        appeal: Option<String>,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `hub audit …`.
pub async fn audit(args: AuditArgs, config_file: Option<&Path>) -> Result<(), CliError> {
    let config = ServeConfig::resolve(args.database, config_file)?;
    match server::open(&config).await? {
        AnyStore::Sqlite(s) => audit_on(&Hotline::new(s), args.command).await,
        AnyStore::Postgres(s) => audit_on(&Hotline::new(s), args.command).await,
    }
}

async fn audit_on<S: Store>(hotline: &Hotline<S>, command: AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify => match hotline.verify_audit().await? {
            Finding::Intact { rows } => println!("audit trail intact: {rows} rows"),
            Finding::Altered { seq } => {
                return Err(CliError::AuditBroken(format!(
                    "audit row {seq} was altered"
                )));
            }
            Finding::Missing { seq } => {
                return Err(CliError::AuditBroken(format!(
                    "audit row {seq} was removed"
                )));
            }
            Finding::Truncated { last, head } => {
                return Err(CliError::AuditBroken(format!(
                    "audit rows {} to {head} were removed",
                    last + 1
                )));
            }
        },
        AuditCommand::Show { appeal, json } => {
            for e in hotline.audit_trail(appeal.as_deref()).await? {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "seq": e.seq, "at": e.at, "principal": e.principal, "rpc": e.rpc,
                            "appeal_number": e.appeal_number, "action": e.action, "detail": e.detail, "hash": e.hash,
                        })
                    );
                } else {
                    println!(
                        "{:>6}  {}  {:<28}  {:<16}  {:<45}  {}",
                        e.seq,
                        e.at,
                        e.principal,
                        e.appeal_number.as_deref().unwrap_or("-"),
                        e.rpc,
                        e.action
                    );
                }
            }
        }
    }
    Ok(())
}

/// `hub receipt …`
#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ReceiptCommand,
}

/// Receipt commands.
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check receipts (a JSON receipt, or JSON lines as `agency-client receipts export` writes them)
    /// against the hub's receipt key. Exits 1 if any does not check out.
    Verify {
        /// The file.
        file: PathBuf,
        /// The hub's receipt public key (hex), as `hub serve` wrote it.
        #[arg(
            long,
            env = "HOTLINE_RECEIPT_PUBLIC_KEY",
            default_value = "data/pki/receipt.pub"
        )]
        public_key: PathBuf,
    },
}

/// Checks every receipt in `text` (one JSON object, or one per line) against `public_key`; returns a
/// line per receipt and whether all checked out.
pub fn verify_receipts(text: &str, public_key: &[u8]) -> (Vec<String>, bool) {
    let values: Vec<Result<serde_json::Value, String>> =
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(one) => vec![Ok(one)],
            Err(_) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).map_err(|e| e.to_string()))
                .collect(),
        };
    let mut all_good = !values.is_empty();
    let lines = values
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let checked = value
                .and_then(|v| hotline_proto::receipt::from_json(&v))
                .and_then(|r| {
                    hotline_proto::receipt::verify(&r, public_key)
                        .map(|()| r)
                        .map_err(|e| e.to_string())
                });
            match checked {
                Ok(r) => format!(
                    "valid    {} case {} event {} authority {} at {} content {}",
                    r.kind, r.case_id, r.event_id, r.authority_code, r.at, r.content_sha256
                ),
                Err(reason) => {
                    all_good = false;
                    format!("INVALID  receipt {}: {reason}", i + 1)
                }
            }
        })
        .collect();
    (lines, all_good)
}

/// Runs `hub receipt …`.
pub fn receipt(args: ReceiptArgs) -> Result<(), CliError> {
    match args.command {
        ReceiptCommand::Verify { file, public_key } => {
            let key = pki::read_public_key(&public_key)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Io(format!("{}: {e}", file.display())))?;
            let (lines, all_good) = verify_receipts(&text, &key);
            for line in &lines {
                println!("{line}");
            }
            if !all_good {
                return Err(CliError::AuditBroken(format!(
                    "{}: not every receipt checks out",
                    file.display()
                )));
            }
        }
    }
    Ok(())
}
