//! Checks every piece of outside text passes before it reaches a rule or the database: length,
//! characters both databases store alike (PostgreSQL refuses NUL, SQLite keeps it), code shapes and
//! phone numbers. Errors name the field and echo at most a short prefix of the bad value, since a
//! gRPC status message over 16 KiB never reaches the caller.

use super::DomainError;

/// Characters of a bad value an error message repeats.
const ECHO_CHARS: usize = 64;
/// Longest directory code, in characters.
pub const MAX_CODE_CHARS: usize = 40;
/// Longest appeal number, in characters.
const MAX_NUMBER_CHARS: usize = 40;

/// A bad value as an error message shows it: at most [`ECHO_CHARS`] characters, then `…`.
pub fn echo(value: &str) -> String {
    let mut chars = value.chars();
    let shown: String = chars.by_ref().take(ECHO_CHARS).collect();
    if chars.next().is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// Refuses control characters: all of them in a single line, all but tab and line breaks in
/// multi-line text. NUL in particular: PostgreSQL cannot store it.
fn check_chars(field: &str, value: &str, multiline: bool) -> Result<(), DomainError> {
    let bad = value
        .chars()
        .find(|c| c.is_control() && !(multiline && matches!(c, '\t' | '\n' | '\r')));
    match bad {
        Some(c) => Err(DomainError::invalid(
            field,
            format!("contains the control character U+{:04X}", u32::from(c)),
        )),
        None => Ok(()),
    }
}

/// Checks a required multi-line text field (length and characters) and returns it trimmed.
pub fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "required"));
    }
    bounded_text(field, value, max_chars)
}

/// Checks an optional multi-line text field (length and characters) and returns it trimmed.
pub fn bounded_text(field: &str, value: &str, max_chars: usize) -> Result<String, DomainError> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(DomainError::invalid(
            field,
            format!("too long: {chars} characters, at most {max_chars}"),
        ));
    }
    check_chars(field, value, true)?;
    Ok(value.to_string())
}

/// Checks a required single-line field (a name, a title) and returns it trimmed.
pub fn required_line(field: &str, value: &str, max_chars: usize) -> Result<String, DomainError> {
    let value = required_text(field, value, max_chars)?;
    check_chars(field, &value, false)?;
    Ok(value)
}

/// Checks an optional single-line field and returns it trimmed.
pub fn bounded_line(field: &str, value: &str, max_chars: usize) -> Result<String, DomainError> {
    let value = bounded_text(field, value, max_chars)?;
    check_chars(field, &value, false)?;
    Ok(value)
}

/// Checks a directory code: lowercase ascii letters, digits, `.`, `_`, `-`, starting with a letter
/// or digit, at most [`MAX_CODE_CHARS`].
pub fn check_code(field: &str, code: &str) -> Result<String, DomainError> {
    let code = code.trim();
    let ok = !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c))
        && code.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(code.to_string())
    } else if code.is_empty() {
        Err(DomainError::invalid(field, "required"))
    } else {
        Err(DomainError::invalid(
            field,
            format!(
                "`{}` is not a code: up to {MAX_CODE_CHARS} lowercase ascii letters, digits, `.`, `_` or `-`",
                echo(code)
            ),
        ))
    }
}

/// Checks an optional code: empty stays empty, anything else must be a code.
pub fn optional_code(field: &str, code: &str) -> Result<String, DomainError> {
    match code.trim() {
        "" => Ok(String::new()),
        code => check_code(field, code),
    }
}

/// Checks the shape of an appeal number (`DP-2026-000123`: ascii letters, digits and `-`) before it
/// is looked up; whether it exists is the store's answer.
pub fn check_number(field: &str, number: &str) -> Result<String, DomainError> {
    let number = number.trim();
    if number.is_empty() {
        return Err(DomainError::invalid(field, "required"));
    }
    let ok = number.len() <= MAX_NUMBER_CHARS
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(number.to_string())
    } else {
        Err(DomainError::invalid(
            field,
            format!("`{}` is not an appeal number", echo(number)),
        ))
    }
}

/// Normalises a phone number to `+` and digits. Accepts Ukrainian numbers as `0XXXXXXXXX`,
/// `380XXXXXXXXX` or `+380XXXXXXXXX` and other international numbers in E.164 form, with spaces,
/// dashes, dots and brackets between the digits.
pub fn normalize_phone(raw: &str) -> Result<String, DomainError> {
    let bad = || DomainError::invalid("citizen.phone", "not a phone number");
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    let body = if plus { &trimmed[1..] } else { trimmed };
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(bad()),
        }
    }
    let international = match (plus, digits.len()) {
        (false, 10) if digits.starts_with('0') => format!("38{digits}"),
        (false, 12) if digits.starts_with("380") => digits,
        (true, _) => digits,
        _ => return Err(bad()),
    };
    let ukrainian = international.starts_with("380");
    let ok = if ukrainian {
        international.len() == 12
    } else {
        (8..=15).contains(&international.len()) && !international.starts_with('0')
    };
    if ok {
        Ok(format!("+{international}"))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: DomainError) -> String {
        match err {
            DomainError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_are_text() {
        assert_eq!(
            bounded_text("text", "line one\n\tline two", 100).unwrap(),
            "line one\n\tline two"
        );
        assert_eq!(
            field_of(bounded_text("text", "a\0b", 100).unwrap_err()),
            "text"
        );
        assert_eq!(
            field_of(bounded_text("note", "bell\u{7}", 100).unwrap_err()),
            "note"
        );
        assert_eq!(
            field_of(required_line("name", "Ганна\nПетренко", 100).unwrap_err()),
            "name"
        );
        assert_eq!(required_line("name", "  Ганна  ", 100).unwrap(), "Ганна");
    }

    #[test]
    fn errors_echo_a_short_prefix_only() {
        let long = "x".repeat(1_000_000);
        let msg = check_code("code", &long).unwrap_err().to_string();
        assert!(msg.len() < 300, "{} bytes", msg.len());
        let msg = check_number("number", &long).unwrap_err().to_string();
        assert!(msg.len() < 200);
        assert_eq!(echo("short"), "short");
        assert_eq!(echo(&"я".repeat(65)).chars().count(), 65);
    }

    #[test]
    fn codes_and_numbers_have_a_shape() {
        assert_eq!(check_code("code", " vodokanal ").unwrap(), "vodokanal");
        for bad in ["", "Vodokanal", "-x", "a b", "a\0", &"a".repeat(41)] {
            assert!(check_code("code", bad).is_err(), "{bad:?}");
        }
        assert_eq!(optional_code("c", "  ").unwrap(), "");
        assert_eq!(
            check_number("n", "DP-2026-000001").unwrap(),
            "DP-2026-000001"
        );
        assert!(check_number("n", "DP 2026").is_err());
        assert!(check_number("n", "DP-\0").is_err());
    }

    #[test]
    fn phones() {
        for good in [
            "+380 67 123 45 67",
            "0671234567",
            "380671234567",
            "(067) 123-45-67",
            "+48 601 234 567",
        ] {
            assert!(normalize_phone(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "12345",
            "067123456",
            "+380 67 123 45 678",
            "call me",
            "+0123456789",
            "0671234567x",
        ] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }
}
