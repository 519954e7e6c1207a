//! Documents an authority attaches to its result: checked for size, count and integrity, and given a
//! safe file name, since every consumer may write them to disk under that name.

use std::fmt;

use ring::digest::{SHA256, digest};

use super::DomainError;
use super::limits::Limits;
use super::text::{bounded_line, echo};

/// Longest document name kept, in characters.
const MAX_NAME_CHARS: usize = 255;

/// A document as an authority sends it.
#[derive(Clone)]
pub struct NewAttachment {
    /// File name.
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// Hex SHA-256 the sender computed, checked against the content.
    pub sha256: String,
    /// The bytes.
    pub content: Vec<u8>,
}

impl fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NewAttachment({}, {} bytes)",
            self.name,
            self.content.len()
        )
    }
}

/// A stored document, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// Its case.
    pub case_id: i64,
    /// File name (a safe base name).
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentError {
    /// A field is wrong.
    Invalid(DomainError),
    /// Over the size limit (`RESOURCE_EXHAUSTED`).
    TooLarge(String),
}

impl From<DomainError> for AttachmentError {
    fn from(err: DomainError) -> Self {
        Self::Invalid(err)
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A file name that is safe to write into a folder: the last path component of `name`, without
/// control characters, leading dots or characters Windows refuses; `None` when nothing is left.
pub fn safe_name(name: &str) -> Option<String> {
    let base = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !"<>:\"|?*".contains(*c))
        .collect::<String>();
    let base = base.trim().trim_start_matches('.').trim();
    let base: String = base.chars().take(MAX_NAME_CHARS).collect();
    (!base.is_empty()).then_some(base)
}

/// Checks a result's documents: count, size, content hash, name. Names are rewritten to safe base
/// names and hashes to lowercase hex.
pub fn check_attachments(
    attachments: &mut [NewAttachment],
    limits: &Limits,
) -> Result<(), AttachmentError> {
    if attachments.len() > limits.max_attachments {
        return Err(DomainError::invalid(
            "attachments",
            format!(
                "{} documents, at most {}",
                attachments.len(),
                limits.max_attachments
            ),
        )
        .into());
    }
    for (i, a) in attachments.iter_mut().enumerate() {
        a.name = safe_name(&a.name).ok_or_else(|| {
            DomainError::invalid(
                format!("attachments[{i}].name"),
                format!("`{}` is not a file name", echo(&a.name)),
            )
        })?;
        a.content_type = bounded_line(
            &format!("attachments[{i}].content_type"),
            &a.content_type,
            200,
        )?;
        if a.content.len() > limits.max_attachment_bytes {
            return Err(AttachmentError::TooLarge(format!(
                "attachments[{i}]: {} bytes, at most {}",
                a.content.len(),
                limits.max_attachment_bytes
            )));
        }
        let actual = sha256_hex(&a.content);
        if !a.sha256.eq_ignore_ascii_case(&actual) {
            return Err(DomainError::invalid(
                format!("attachments[{i}].sha256"),
                format!("does not match the content (SHA-256 {actual})"),
            )
            .into());
        }
        a.sha256 = actual;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reduced_to_a_safe_base_name() {
        assert_eq!(safe_name("act.pdf").as_deref(), Some("act.pdf"));
        assert_eq!(safe_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(
            safe_name("C:\\Users\\x\\акт №5.pdf").as_deref(),
            Some("акт №5.pdf")
        );
        assert_eq!(safe_name("..").as_deref(), None);
        assert_eq!(safe_name("/").as_deref(), None);
        assert_eq!(safe_name(".hidden").as_deref(), Some("hidden"));
        assert_eq!(safe_name("a\0b").as_deref(), Some("ab"));
        assert_eq!(safe_name("dir/").as_deref(), None);
    }

    #[test]
    fn documents_are_checked() {
        let limits = Limits {
            max_attachments: 1,
            max_attachment_bytes: 4,
            ..Limits::default()
        };
        let doc = |content: &[u8]| NewAttachment {
            name: "../a.txt".into(),
            content_type: "text/plain".into(),
            sha256: sha256_hex(content).to_uppercase(),
            content: content.to_vec(),
        };
        let mut ok = vec![doc(b"abc")];
        check_attachments(&mut ok, &limits).unwrap();
        assert_eq!(ok[0].name, "a.txt");
        assert_eq!(ok[0].sha256, sha256_hex(b"abc"));
        assert!(matches!(
            check_attachments(&mut [doc(b"abcde")], &limits),
            Err(AttachmentError::TooLarge(_))
        ));
        assert!(matches!(
            check_attachments(&mut [doc(b"a"), doc(b"b")], &limits),
            Err(AttachmentError::Invalid(_))
        ));
        let mut bad = doc(b"abc");
        bad.sha256 = sha256_hex(b"xyz");
        assert!(check_attachments(&mut [bad], &limits).is_err());
    }
}
