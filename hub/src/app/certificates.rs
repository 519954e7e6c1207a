//! Authorities' client certificates from the console: issued and revoked by the hub's own CA
//! ([`crate::pki`], the very code `hub pki issue agency CODE` and `hub pki revoke` run) in the
//! hub's PKI directory. Issuing keeps only the certificate there (`agency-<code>.pem`, what a later
//! revocation needs); the key goes to the caller once, in the bundle, and is not kept. Revoking
//! re-signs `crl.pem`, which the hub's TLS listener re-reads. Each action is in the audit trail
//! with who did it.

use std::path::Path;

use super::{AppError, AppResult, Hotline};
use crate::domain::{Caller, DomainError};
use crate::pki::{self, Ca, CertificateInfo, PkiError, Validity};
use crate::principal::Principal;
use crate::store::Store;

/// How long a certificate issued from the console is valid, in days (as `hub pki issue`'s default).
pub const CERTIFICATE_DAYS: i64 = 825;

/// An authority's current certificate, as kept in the PKI directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityCertificate {
    /// The authority's code.
    pub authority: String,
    /// Serial, subject, expiry.
    pub info: CertificateInfo,
    /// On the CRL.
    pub revoked: bool,
}

/// A certificate just issued, with what its holder needs to connect.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The certificate.
    pub certificate: AuthorityCertificate,
    /// The file name its bundle is offered under (`agency-<code>.pem`).
    pub file_name: String,
    /// Certificate, private key and the CA certificate, PEM, in that order.
    pub bundle_pem: String,
}

fn pki_error(err: PkiError) -> AppError {
    AppError::Internal(format!("pki: {err}"))
}

/// The principal an authority's certificate names, checked as the hub checks it when reading it back.
fn agency(code: &str) -> AppResult<Principal> {
    let principal = Principal::Agency {
        authority: code.to_string(),
    };
    Principal::from_uri(&principal.uri()).ok_or_else(|| {
        DomainError::invalid("code", "not a valid identity (lowercase ascii codes)").into()
    })
}

/// The certificate kept for `principal` in `dir`, if any.
fn current(
    ca: &Ca,
    dir: &Path,
    principal: &Principal,
) -> AppResult<Option<(String, AuthorityCertificate)>> {
    let path = dir.join(format!("{}.pem", pki::file_name(principal)));
    if !path.exists() {
        return Ok(None);
    }
    let pem = std::fs::read_to_string(&path)
        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
    let info = pki::describe(&pem).map_err(pki_error)?;
    let revoked = ca
        .revoked_serials()
        .map_err(pki_error)?
        .contains(&info.serial);
    let authority = match principal {
        Principal::Agency { authority } => authority.clone(),
        other => other.actor(),
    };
    Ok(Some((
        pem,
        AuthorityCertificate {
            authority,
            info,
            revoked,
        },
    )))
}

impl<S: Store> Hotline<S> {
    /// The current certificate of every authority that has one in the PKI directory `dir`.
    pub async fn authority_certificates(&self, dir: &Path) -> AppResult<Vec<AuthorityCertificate>> {
        let ca = Ca::open(dir).map_err(pki_error)?;
        let mut found = Vec::new();
        for authority in self.authorities(true).await? {
            let Ok(principal) = agency(&authority.code) else {
                continue;
            };
            if let Some((_, certificate)) = current(&ca, dir, &principal)? {
                found.push(certificate);
            }
        }
        Ok(found)
    }

    /// Issues a client certificate for the active authority `code` with the CA in `dir`. Refused
    /// while its current certificate is not revoked (revoke it first: a replaced one would stay
    /// valid and could no longer be revoked from here).
    pub async fn issue_authority_certificate(
        &self,
        dir: &Path,
        code: &str,
        caller: &Caller,
    ) -> AppResult<IssuedCertificate> {
        let authority = self.existing_authority(code).await?;
        if !authority.active {
            return Err(DomainError::IllegalTransition {
                action: "issue a certificate".into(),
                subject: format!("authority `{}`", authority.code),
                current: "deactivated".into(),
            }
            .into());
        }
        let principal = agency(&authority.code)?;
        let ca = Ca::open(dir).map_err(pki_error)?;
        if let Some((_, held)) = current(&ca, dir, &principal)?
            && !held.revoked
        {
            return Err(DomainError::IllegalTransition {
                action: "issue a certificate".into(),
                subject: format!("authority `{}`", authority.code),
                current: format!("holding certificate {} (revoke it first)", held.info.serial),
            }
            .into());
        }
        let issued = ca
            .issue_client(&principal, Validity::days(CERTIFICATE_DAYS))
            .map_err(pki_error)?;
        let info = pki::describe(&issued.cert_pem).map_err(pki_error)?;
        let detail = serde_json::json!({
            "authority": authority.code, "serial": info.serial, "subject": info.subject,
            "not_after": info.not_after,
        });
        self.store
            .audit_action(
                caller,
                "pki.certificate_issued",
                &detail.to_string(),
                self.now(),
            )
            .await?;
        let file_name = pki::file_name(&principal);
        issued
            .write_certificate(dir, &file_name)
            .map_err(pki_error)?;
        Ok(IssuedCertificate {
            certificate: AuthorityCertificate {
                authority: authority.code,
                info,
                revoked: false,
            },
            file_name: format!("{file_name}.pem"),
            bundle_pem: format!("{}{}{}", issued.cert_pem, issued.key_pem, ca.cert_pem()),
        })
    }

    /// Revokes the current certificate of authority `code` with the CA in `dir`: its serial goes on
    /// the CRL, which the hub re-reads. Returns the revoked certificate.
    pub async fn revoke_authority_certificate(
        &self,
        dir: &Path,
        code: &str,
        caller: &Caller,
    ) -> AppResult<AuthorityCertificate> {
        let authority = self.existing_authority(code).await?;
        let principal = agency(&authority.code)?;
        let ca = Ca::open(dir).map_err(pki_error)?;
        let Some((pem, mut held)) = current(&ca, dir, &principal)? else {
            return Err(DomainError::NotFound(format!(
                "a certificate of authority `{}`",
                authority.code
            ))
            .into());
        };
        if held.revoked {
            return Err(DomainError::IllegalTransition {
                action: "revoke the certificate".into(),
                subject: format!("certificate {}", held.info.serial),
                current: "revoked".into(),
            }
            .into());
        }
        ca.revoke(&pem).map_err(pki_error)?;
        held.revoked = true;
        let detail = serde_json::json!({
            "authority": authority.code, "serial": held.info.serial, "subject": held.info.subject,
        });
        self.store
            .audit_action(
                caller,
                "pki.certificate_revoked",
                &detail.to_string(),
                self.now(),
            )
            .await?;
        Ok(held)
    }
}
