//! The hotline's own certificate authority (`hub pki`): a CA that signs the hub's server certificate and
//! the client certificates of authorities, staff and exchange partners, and a CRL of revoked ones.
//!
//! Identity lives in one SAN URI of each client certificate (see [`crate::principal`]). Files in a PKI
//! directory:
//! - `ca.pem`, `ca.key`: the CA (the key is written with mode 0600);
//! - `crl.pem`: the revocation list, re-signed with a higher number on every `revoke`;
//! - `revoked.txt`: the revoked serials (`hex-serial rfc3339-time`), the CRL's source;
//! - `<name>.pem`, `<name>.key`: issued certificates.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};

use crate::principal::Principal;

/// Why a PKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Certificate generation or parsing failed.
    #[error("certificate: {0}")]
    Cert(String),
    /// The request makes no sense.
    #[error("{0}")]
    Invalid(String),
}

impl From<rcgen::Error> for PkiError {
    fn from(err: rcgen::Error) -> Self {
        Self::Cert(err.to_string())
    }
}

fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.into(),
        source,
    })
}

/// Writes a file; keys get mode 0600 so only the owner reads them.
fn write(path: &Path, contents: &str, secret: bool) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.into(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// A random 16-byte positive serial number.
fn random_serial() -> SerialNumber {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// Validity of an issued certificate.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// Not valid before.
    pub not_before: OffsetDateTime,
    /// Not valid after.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From an hour ago (clock skew) for `days` days.
    pub fn days(days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(days),
        }
    }
}

/// An issued certificate and its key, in PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

impl Issued {
    /// Writes `<dir>/<name>.pem` and `<dir>/<name>.key`; returns the certificate's path.
    pub fn write(&self, dir: &Path, name: &str) -> Result<PathBuf, PkiError> {
        let cert = dir.join(format!("{name}.pem"));
        write(&cert, &self.cert_pem, false)?;
        write(&dir.join(format!("{name}.key")), &self.key_pem, true)?;
        Ok(cert)
    }

    /// Writes only `<dir>/<name>.pem` (the key goes to its owner alone); removes a `<name>.key`
    /// left from an earlier certificate, which no longer matches. Returns the certificate's path.
    pub fn write_certificate(&self, dir: &Path, name: &str) -> Result<PathBuf, PkiError> {
        let cert = dir.join(format!("{name}.pem"));
        write(&cert, &self.cert_pem, false)?;
        let stale = dir.join(format!("{name}.key"));
        if stale.exists() {
            fs::remove_file(&stale).map_err(|source| PkiError::Io {
                path: stale,
                source,
            })?;
        }
        Ok(cert)
    }
}

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Serial number, hex (as `revoke` and `revoked.txt` write it).
    pub serial: String,
    /// The subject's common name (for a client certificate, its principal's URI).
    pub subject: String,
    /// Not valid after (`YYYY-MM-DD HH:MM UTC`).
    pub not_after: String,
}

/// Reads the serial, subject and expiry of the PEM certificate `cert_pem`.
pub fn describe(cert_pem: &str) -> Result<CertificateInfo, PkiError> {
    let der = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| PkiError::Cert(format!("not a PEM certificate: {e}")))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| PkiError::Cert(format!("cannot parse certificate: {e}")))?;
    let subject = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let not_after = chrono::DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    Ok(CertificateInfo {
        serial: hex(cert.raw_serial()),
        subject,
        not_after,
    })
}

/// The hotline's certificate authority.
#[derive(Debug)]
pub struct Ca {
    /// Where its files live.
    dir: PathBuf,
    /// The CA certificate, PEM.
    cert_pem: String,
    /// The CA key.
    key: KeyPair,
}

impl Ca {
    /// Creates a new CA in `dir` (refuses to overwrite an existing one).
    pub fn init(dir: &Path, name: &str) -> Result<Self, PkiError> {
        if dir.join("ca.pem").exists() {
            return Err(PkiError::Invalid(format!(
                "{} already holds a CA",
                dir.display()
            )));
        }
        let ca = Self::generate(dir, name, Validity::days(3650))?;
        write(&dir.join("ca.pem"), &ca.cert_pem, false)?;
        write(&dir.join("ca.key"), &ca.key.serialize_pem(), true)?;
        ca.write_crl(&[])?;
        Ok(ca)
    }

    /// A CA in memory (for tests that need several CAs); files are written only by later calls.
    pub fn generate(dir: &Path, name: &str, validity: Validity) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Hotline hub");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(random_serial());
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cert_pem: cert.pem(),
            key,
        })
    }

    /// Opens the CA in `dir`.
    pub fn open(dir: &Path) -> Result<Self, PkiError> {
        let cert_pem = read(&dir.join("ca.pem"))?;
        let key = KeyPair::from_pem(&read(&dir.join("ca.key"))?)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cert_pem,
            key,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The directory of its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, PkiError> {
        Ok(Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?)
    }

    fn sign(
        &self,
        mut params: CertificateParams,
        common_name: &str,
        validity: Validity,
    ) -> Result<Issued, PkiError> {
        let key = KeyPair::generate()?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.serial_number = Some(random_serial());
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A client certificate naming `principal` in its SAN URI.
    pub fn issue_client(
        &self,
        principal: &Principal,
        validity: Validity,
    ) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        let uri = principal.uri();
        params.subject_alt_names = vec![SanType::URI(
            uri.clone()
                .try_into()
                .map_err(|e: rcgen::Error| PkiError::Cert(e.to_string()))?,
        )];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params, &uri, validity)
    }

    /// A server certificate for these DNS names and IP addresses.
    pub fn issue_server(
        &self,
        dns: &[String],
        ips: &[IpAddr],
        validity: Validity,
    ) -> Result<Issued, PkiError> {
        if dns.is_empty() && ips.is_empty() {
            return Err(PkiError::Invalid(
                "a server certificate needs at least one --dns or --ip".into(),
            ));
        }
        let mut params = CertificateParams::default();
        for name in dns {
            params.subject_alt_names.push(SanType::DnsName(
                name.clone()
                    .try_into()
                    .map_err(|e: rcgen::Error| PkiError::Cert(e.to_string()))?,
            ));
        }
        params
            .subject_alt_names
            .extend(ips.iter().copied().map(SanType::IpAddress));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let name = dns.first().cloned().unwrap_or_else(|| ips[0].to_string());
        self.sign(params, &name, validity)
    }

    /// Adds the serial of the certificate in `cert_pem` to the CRL and re-signs it. Returns the serial (hex).
    pub fn revoke(&self, cert_pem: &str) -> Result<String, PkiError> {
        let der = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| PkiError::Cert(format!("not a PEM certificate: {e}")))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| PkiError::Cert(format!("cannot parse certificate: {e}")))?;
        let serial = hex(cert.raw_serial());
        let mut revoked = self.revoked()?;
        if !revoked.iter().any(|(s, _)| *s == serial) {
            revoked.push((serial.clone(), OffsetDateTime::now_utc()));
        }
        let lines: String = revoked
            .iter()
            .map(|(s, at)| format!("{s} {}\n", at.unix_timestamp()))
            .collect();
        write(&self.dir.join("revoked.txt"), &lines, false)?;
        self.write_crl(&revoked)?;
        Ok(serial)
    }

    /// The serials (hex) on the CRL.
    pub fn revoked_serials(&self) -> Result<Vec<String>, PkiError> {
        Ok(self.revoked()?.into_iter().map(|(s, _)| s).collect())
    }

    fn revoked(&self) -> Result<Vec<(String, OffsetDateTime)>, PkiError> {
        let path = self.dir.join("revoked.txt");
        if !path.exists() {
            return Ok(Vec::new());
        }
        read(&path)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let (serial, at) = line
                    .split_once(' ')
                    .ok_or_else(|| PkiError::Invalid(format!("revoked.txt: bad line `{line}`")))?;
                let at = at
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                    .ok_or_else(|| {
                        PkiError::Invalid(format!("revoked.txt: bad time in `{line}`"))
                    })?;
                Ok((serial.to_string(), at))
            })
            .collect()
    }

    /// Writes `crl.pem` listing `revoked`, numbered by the current time so each CRL supersedes the last.
    fn write_crl(&self, revoked: &[(String, OffsetDateTime)]) -> Result<(), PkiError> {
        let now = OffsetDateTime::now_utc();
        let crl_number = u64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or_default();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now + Duration::days(3650),
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|(serial, at)| {
                    Ok(RevokedCertParams {
                        serial_number: SerialNumber::from_slice(&unhex(serial)?),
                        revocation_time: *at,
                        reason_code: None,
                        invalidity_date: None,
                    })
                })
                .collect::<Result<_, PkiError>>()?,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer()?)?;
        write(&self.dir.join("crl.pem"), &crl.pem()?, false)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, PkiError> {
    if !s.len().is_multiple_of(2) {
        return Err(PkiError::Invalid(format!("`{s}` is not a hex serial")));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16)
                .map_err(|_| PkiError::Invalid(format!("`{s}` is not a hex serial")))
        })
        .collect()
}

/// The hub's receipt signing key at `path` (PKCS#8 Ed25519), made on first use together with
/// `<path>.pub` (the public key, hex) that authorities and `hub receipt verify` check receipts with.
pub fn receipt_signer(path: &Path) -> Result<hotline_proto::receipt::ReceiptSigner, PkiError> {
    use hotline_proto::receipt::{ReceiptSigner, hex};
    if !path.exists() {
        let pkcs8 = ReceiptSigner::generate_pkcs8();
        write(path, &hex(&pkcs8), true)?;
    }
    let pkcs8 = hotline_proto::receipt::unhex(read(path)?.trim())
        .ok_or_else(|| PkiError::Invalid(format!("{}: not a hex PKCS#8 key", path.display())))?;
    let signer = ReceiptSigner::from_pkcs8(&pkcs8)
        .map_err(|e| PkiError::Invalid(format!("{}: {e}", path.display())))?;
    let public = public_key_path(path);
    if !public.exists() {
        write(&public, &format!("{}\n", hex(signer.public_key())), false)?;
    }
    Ok(signer)
}

/// Where the public half of a receipt key is written.
pub fn public_key_path(key: &Path) -> PathBuf {
    key.with_extension("pub")
}

/// Reads a receipt public key file (hex).
pub fn read_public_key(path: &Path) -> Result<Vec<u8>, PkiError> {
    hotline_proto::receipt::unhex(read(path)?.trim())
        .ok_or_else(|| PkiError::Invalid(format!("{}: not a hex public key", path.display())))
}

/// The file name (without extension) `hub pki issue` uses for a principal's certificate.
pub fn file_name(principal: &Principal) -> String {
    match principal {
        Principal::Staff { role, login } => format!("staff-{}-{login}", role.code()),
        Principal::Agency { authority } => format!("agency-{authority}"),
        Principal::Exchange { partner } => format!("exchange-{partner}"),
    }
}

/// The development PKI `hub serve` makes in `<data-dir>/pki` on first start: a CA, a server certificate
/// for localhost, and one staff certificate per role (`operator.pem`, `analyst.pem`, …).
pub fn ensure_dev_pki(dir: &Path) -> Result<bool, PkiError> {
    if dir.join("ca.pem").exists() {
        return Ok(false);
    }
    let ca = Ca::init(dir, "Hotline hub development CA")?;
    let server = ca.issue_server(
        &["localhost".to_string()],
        &["127.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")],
        Validity::days(825),
    )?;
    server.write(dir, "server")?;
    receipt_signer(&dir.join("receipt.key"))?;
    for role in crate::principal::StaffRole::ALL {
        let principal = Principal::Staff {
            role: *role,
            login: role.code().to_string(),
        };
        ca.issue_client(&principal, Validity::days(825))?
            .write(dir, role.code())?;
    }
    Ok(true)
}
