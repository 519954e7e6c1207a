//! Signed receipts: the canonical text a receipt's signature covers, and signing and checking with
//! Ed25519. Part of the contract so that the hub, the agency client and any other party verify
//! receipts the same way.
//!
//! Canonical text (UTF-8, one `name=value` line per field, in this order, after a version line):
//! `hotline-receipt-v1`, `kind`, `event_id`, `case_id`, `authority_code`, `at`, `content_sha256`,
//! `request_id`, `key_id`. Values never contain a newline (the hub refuses to sign one that does).

use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::v1::Receipt;

/// Hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex; `None` when it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Hex SHA-256 of `content`.
pub fn sha256_hex(content: &[u8]) -> String {
    hex(digest(&SHA256, content).as_ref())
}

/// The identifier of a public key: the first 16 hex characters of its SHA-256.
pub fn key_id(public_key: &[u8]) -> String {
    sha256_hex(public_key)[..16].to_string()
}

/// The bytes a receipt's signature covers.
pub fn canonical(r: &Receipt) -> Vec<u8> {
    format!(
        "hotline-receipt-v1\nkind={}\nevent_id={}\ncase_id={}\nauthority_code={}\nat={}\ncontent_sha256={}\nrequest_id={}\nkey_id={}\n",
        r.kind, r.event_id, r.case_id, r.authority_code, r.at, r.content_sha256, r.request_id, r.key_id
    )
    .into_bytes()
}

/// Why a receipt does not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptError {
    /// Signed by another key than the one given.
    OtherKey {
        /// The receipt's key id.
        receipt: String,
        /// The expected key id.
        expected: String,
    },
    /// The signature does not match the fields: the receipt was altered or forged.
    BadSignature,
    /// A field holds a newline, which the canonical form cannot carry.
    Malformed,
}

impl std::fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OtherKey { receipt, expected } => {
                write!(f, "signed by key {receipt}, not by the hub key {expected}")
            }
            Self::BadSignature => f.write_str("the signature does not match: altered or forged"),
            Self::Malformed => f.write_str("a field contains a newline"),
        }
    }
}

impl std::error::Error for ReceiptError {}

fn well_formed(r: &Receipt) -> bool {
    [
        &r.kind,
        &r.authority_code,
        &r.at,
        &r.content_sha256,
        &r.request_id,
        &r.key_id,
    ]
    .iter()
    .all(|v| !v.contains('\n'))
}

/// Checks `receipt` against the hub's Ed25519 public key.
pub fn verify(receipt: &Receipt, public_key: &[u8]) -> Result<(), ReceiptError> {
    if !well_formed(receipt) {
        return Err(ReceiptError::Malformed);
    }
    let expected = key_id(public_key);
    if receipt.key_id != expected {
        return Err(ReceiptError::OtherKey {
            receipt: receipt.key_id.clone(),
            expected,
        });
    }
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&canonical(receipt), &receipt.signature)
        .map_err(|_| ReceiptError::BadSignature)
}

/// The hub's receipt signing key.
#[derive(Debug)]
pub struct ReceiptSigner {
    /// The Ed25519 key pair.
    key: Ed25519KeyPair,
    /// Its id, put in every receipt.
    key_id: String,
}

impl ReceiptSigner {
    /// A signer from a PKCS#8 Ed25519 key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, String> {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| format!("not an Ed25519 PKCS#8 key: {e}"))?;
        let key_id = key_id(key.public_key().as_ref());
        Ok(Self { key, key_id })
    }

    /// A new random key, as PKCS#8 bytes.
    pub fn generate_pkcs8() -> Vec<u8> {
        Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .expect("the system random source works")
            .as_ref()
            .to_vec()
    }

    /// The public key (32 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// Fills in `key_id` and `signature`.
    pub fn sign(&self, mut receipt: Receipt) -> Receipt {
        receipt.key_id = self.key_id.clone();
        for field in [
            &mut receipt.kind,
            &mut receipt.authority_code,
            &mut receipt.at,
            &mut receipt.request_id,
        ] {
            if field.contains('\n') {
                *field = field.replace('\n', " ");
            }
        }
        receipt.signature = self.key.sign(&canonical(&receipt)).as_ref().to_vec();
        receipt
    }
}

/// A receipt as JSON (the form the agency client keeps and `hub receipt verify` reads).
pub fn to_json(r: &Receipt) -> serde_json::Value {
    serde_json::json!({
        "kind": r.kind,
        "event_id": r.event_id,
        "case_id": r.case_id,
        "authority_code": r.authority_code,
        "at": r.at,
        "content_sha256": r.content_sha256,
        "request_id": r.request_id,
        "key_id": r.key_id,
        "signature": hex(&r.signature),
    })
}

/// A receipt from its JSON form.
pub fn from_json(v: &serde_json::Value) -> Result<Receipt, String> {
    let text = |name: &str| -> Result<String, String> {
        v.get(name)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("`{name}` missing"))
    };
    let number = |name: &str| -> Result<i64, String> {
        v.get(name)
            .and_then(|x| x.as_i64())
            .ok_or_else(|| format!("`{name}` missing"))
    };
    Ok(Receipt {
        kind: text("kind")?,
        event_id: number("event_id")?,
        case_id: number("case_id")?,
        authority_code: text("authority_code")?,
        at: text("at")?,
        content_sha256: text("content_sha256")?,
        request_id: text("request_id")?,
        key_id: text("key_id")?,
        signature: unhex(&text("signature")?).ok_or("`signature` is not hex")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_receipt_verifies_and_any_change_breaks_it() {
        let signer = ReceiptSigner::from_pkcs8(&ReceiptSigner::generate_pkcs8()).unwrap();
        let receipt = signer.sign(Receipt {
            kind: "result".into(),
            event_id: 42,
            case_id: 7,
            authority_code: "vodokanal".into(),
            at: "2026-11-28T10:00:00Z".into(),
            content_sha256: sha256_hex(b"answer"),
            request_id: "r-1".into(),
            ..Default::default()
        });
        assert_eq!(verify(&receipt, signer.public_key()), Ok(()));
        assert_eq!(from_json(&to_json(&receipt)), Ok(receipt.clone()));
        let mut altered = receipt.clone();
        altered.at = "2026-11-27T10:00:00Z".into();
        assert_eq!(
            verify(&altered, signer.public_key()),
            Err(ReceiptError::BadSignature)
        );
        let other = ReceiptSigner::from_pkcs8(&ReceiptSigner::generate_pkcs8()).unwrap();
        assert!(matches!(
            verify(&receipt, other.public_key()),
            Err(ReceiptError::OtherKey { .. })
        ));
        assert_eq!(unhex(&hex(b"\x00\xffa")), Some(b"\x00\xffa".to_vec()));
    }
}
