//! Who is calling, read once per call from the client certificate's SAN URI:
//! `urn:hotline:agency:<authority-code>`, `urn:hotline:staff:<role>:<login>`, `urn:hotline:exchange:<partner>`.
//! Handlers see a [`Principal`]; they never parse certificates.

use std::fmt;

use crate::domain::coded_enum;

coded_enum! {
    /// The contact centre's staff roles.
    StaffRole {
        /// Registers appeals and calls citizens back.
        Operator = "operator",
        /// Assigns, reassigns, extends, verifies, closes.
        Analyst = "analyst",
        /// Reads and reports.
        Supervisor = "supervisor",
        /// Keeps the directory.
        Admin = "admin",
    }
}

/// The identity a client certificate proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A member of the contact centre's staff.
    Staff {
        /// What they may do.
        role: StaffRole,
        /// Who they are (recorded in the audit trail).
        login: String,
    },
    /// An authority's agency client.
    Agency {
        /// The authority's directory code.
        authority: String,
    },
    /// An exchange partner (the national contact centre).
    Exchange {
        /// The partner's name.
        partner: String,
    },
}

const PREFIX: &str = "urn:hotline:";

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c))
}

impl Principal {
    /// The SAN URI naming this principal.
    pub fn uri(&self) -> String {
        match self {
            Self::Staff { role, login } => format!("{PREFIX}staff:{}:{login}", role.code()),
            Self::Agency { authority } => format!("{PREFIX}agency:{authority}"),
            Self::Exchange { partner } => format!("{PREFIX}exchange:{partner}"),
        }
    }

    /// Parses a SAN URI; `None` when it is not a hotline identity.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let rest = uri.strip_prefix(PREFIX)?;
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.as_slice() {
            ["staff", role, login] if valid_part(login) => Some(Self::Staff {
                role: StaffRole::from_code(role)?,
                login: login.to_string(),
            }),
            ["agency", code] if valid_part(code) => Some(Self::Agency {
                authority: code.to_string(),
            }),
            ["exchange", name] if valid_part(name) => Some(Self::Exchange {
                partner: name.to_string(),
            }),
            _ => None,
        }
    }

    /// The principal of a DER certificate: its one hotline SAN URI.
    pub fn from_cert_der(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("unreadable certificate: {e}"))?;
        let san = cert
            .subject_alternative_name()
            .map_err(|e| format!("bad subjectAltName: {e}"))?
            .ok_or("the certificate has no subjectAltName")?;
        let found: Vec<Self> = san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                x509_parser::extensions::GeneralName::URI(uri) => Self::from_uri(uri),
                _ => None,
            })
            .collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err("the certificate names no urn:hotline: identity".into()),
            _ => Err("the certificate names more than one urn:hotline: identity".into()),
        }
    }

    /// The actor recorded in events and the audit trail (`staff:operator:ivan`, `agency:vodokanal`).
    pub fn actor(&self) -> String {
        self.uri().trim_start_matches(PREFIX).to_string()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.actor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_and_strangers_are_refused() {
        for p in [
            Principal::Staff {
                role: StaffRole::Analyst,
                login: "o.koval".into(),
            },
            Principal::Agency {
                authority: "dniprovodokanal".into(),
            },
            Principal::Exchange {
                partner: "national-centre".into(),
            },
        ] {
            assert_eq!(Principal::from_uri(&p.uri()), Some(p.clone()));
        }
        for bad in [
            "urn:hotline:staff:boss:x",
            "urn:hotline:staff:operator",
            "urn:hotline:agency:",
            "urn:hotline:agency:Upper",
            "urn:other:agency:x",
            "urn:hotline:agency:a:b",
        ] {
            assert_eq!(Principal::from_uri(bad), None, "{bad}");
        }
    }
}
