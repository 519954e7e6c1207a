//! Connecting a staff command to a running hub: where it is, which certificate to present (the
//! development PKI's certificate for the role the command needs, unless one is given), and how to
//! print.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::CliError;
use crate::principal::StaffRole;

/// Where the hub is, who we are, and how to print.
#[derive(Debug, Clone, Args)]
pub struct HubArgs {
    /// The hub's address.
    #[arg(
        long,
        global = true,
        env = "HOTLINE_HUB",
        default_value = "https://127.0.0.1:7545"
    )]
    pub hub: String,
    /// Our client certificate (PEM) [default: <pki-dir>/<role>.pem, the development PKI's
    /// certificate for the role the command needs].
    #[arg(long, global = true, env = "HOTLINE_CERT")]
    pub cert: Option<PathBuf>,
    /// Our private key (PEM) [default: the certificate's path with `.key`].
    #[arg(long, global = true, env = "HOTLINE_KEY")]
    pub key: Option<PathBuf>,
    /// The CA that signed the hub's certificate [default: <pki-dir>/ca.pem].
    #[arg(long, global = true, env = "HOTLINE_CA")]
    pub ca: Option<PathBuf>,
    /// The development PKI made by `hub serve` (for the defaults above).
    #[arg(
        long,
        global = true,
        env = "HOTLINE_PKI_DIR",
        default_value = "data/pki"
    )]
    pub pki_dir: PathBuf,
    /// Print JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// The id of this write: the hub applies each id once, so running the command again with the
    /// same id and arguments changes nothing [default: a new id per command, reused by its own
    /// retries].
    #[arg(long, global = true, env = "HOTLINE_REQUEST_ID")]
    pub request_id: Option<String>,
}

impl HubArgs {
    /// The request id of this command's write.
    pub fn request_id(&self) -> String {
        self.request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }
}

/// Attempts a write makes while the hub or its database is unavailable.
const ATTEMPTS: u32 = 4;

/// Calls `call` until it answers, retrying (with the same request, so the hub applies it once)
/// while the hub answers UNAVAILABLE or the connection fails: an answer lost on the way is not a
/// reason to give up, nor to register twice.
pub async fn retrying<C, R, T, F, Fut>(client: &C, request: &R, call: F) -> Result<T, CliError>
where
    C: Clone,
    R: Clone,
    F: Fn(C, R) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let mut pause = std::time::Duration::from_millis(500);
    for attempt in 1.. {
        match call(client.clone(), request.clone()).await {
            Ok(answer) => return Ok(answer.into_inner()),
            Err(status) if status.code() == tonic::Code::Unavailable && attempt < ATTEMPTS => {
                eprintln!("the hub is unavailable ({}); retrying", status.message());
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(status) => return Err(status.into()),
        }
    }
    unreachable!("the loop returns")
}

/// A staff command with its connection arguments.
#[derive(Debug, Args)]
pub struct Connection<C: Subcommand> {
    /// Connection and output.
    #[command(flatten)]
    pub hub: HubArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: C,
}

fn read_file(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| {
        CliError::Io(format!(
            "{}: {e} (give --cert/--key/--ca, or run from the directory where `hub serve` made data/pki)",
            path.display()
        ))
    })
}

/// A mutual-TLS channel to the hub, as `role` unless --cert names another identity.
pub(crate) async fn channel(hub: &HubArgs, role: StaffRole) -> Result<Channel, CliError> {
    channel_named(hub, role.code()).await
}

/// A mutual-TLS channel presenting `<pki-dir>/<stem>.pem` unless --cert names another identity.
pub(crate) async fn channel_named(hub: &HubArgs, stem: &str) -> Result<Channel, CliError> {
    let cert = hub
        .cert
        .clone()
        .unwrap_or_else(|| hub.pki_dir.join(format!("{stem}.pem")));
    let key = hub
        .key
        .clone()
        .unwrap_or_else(|| cert.with_extension("key"));
    let ca = hub.ca.clone().unwrap_or_else(|| hub.pki_dir.join("ca.pem"));
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read_file(&ca)?))
        .identity(Identity::from_pem(read_file(&cert)?, read_file(&key)?));
    Ok(Endpoint::from_shared(hub.hub.clone())
        .map_err(|e| CliError::Usage(format!("--hub {}: {e}", hub.hub)))?
        .tls_config(tls)?
        .connect()
        .await?)
}
