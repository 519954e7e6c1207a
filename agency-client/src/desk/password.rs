//! Clerks' passwords: argon2id with a random salt (the PHC string is what the local store keeps),
//! checked in constant time by the argon2 crate. Hashing is deliberately slow, so callers on the
//! async runtime run it on the blocking pool.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};

/// The shortest password accepted for a clerk.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest (argon2 takes any length; this bounds the work an attacker can ask for).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password's length; the message is shown to whoever sets it.
pub fn check_new(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password is too short: {chars} characters, at least {MIN_PASSWORD_CHARS}"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "the password is too long: at most {MAX_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

/// The argon2id PHC string of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| "no randomness for a salt".to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True when `password` matches the stored PHC string (false for an unreadable one).
pub fn verify(password: &str, stored: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    PasswordHash::new(stored)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password nobody knows (made once per process), verified against when the
/// login does not exist, so a wrong login takes as long to refuse as a wrong password.
pub fn decoy() -> String {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY
        .get_or_init(|| {
            let mut secret = [0u8; 32];
            let _ = SystemRandom::new().fill(&mut secret);
            hash(&hotline_proto::receipt::hex(&secret)).unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("правильний кінь батарея").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("правильний кінь батарея", &stored));
        assert!(!verify("правильний кінь батарейка", &stored));
        assert!(!verify("anything", "not a hash"));
        assert!(!verify("anything", &decoy()));
        assert!(
            decoy().starts_with("$argon2id$"),
            "a real hash: as slow to refuse"
        );
        assert_ne!(stored, hash("правильний кінь батарея").unwrap(), "salted");
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_new("short").is_err());
        assert!(check_new(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        assert!(check_new("long enough pass").is_ok());
    }
}
