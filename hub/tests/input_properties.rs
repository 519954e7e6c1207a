//! Property tests of every decoder and validator that takes input from outside the hub (proptest
//! standing in for a fuzzer, so that it runs in CI): certificate identities, cursors, request
//! fields (dates, appeal numbers, codes, text), the configuration file and the directory file.
//! Each must answer any input with a value or a clear error — never a panic — and what it accepts
//! must be what it promises (round trips, no control characters, bounded lengths); an error
//! message echoes at most a short prefix of the bad value.

use std::str::FromStr;

use hotline_hub::api::convert;
use hotline_hub::config::{ServeConfig, ServeOptions};
use hotline_hub::domain::Cursor;
use hotline_hub::domain::text::{bounded_line, bounded_text, check_code, check_number};
use hotline_hub::principal::Principal;
use hotline_hub::starter::DirectoryFile;
use proptest::prelude::*;

/// Strings that look like what callers send, and strings that do not.
fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "urn:hotline:(staff|agency|exchange):[a-z0-9.:_-]{0,20}",
        "urn:hotline:staff:(operator|analyst|supervisor|admin):[a-zA-Z0-9.\\-_]{0,12}",
        "[0-9]{0,12}\\.[0-9]{0,12}",
        "[A-Z]{2}-20[0-9]{2}-[0-9]{6}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        "[\\x00-\\x1f\\x7f ]{0,5}[a-z]{0,5}[\\u{80}-\\u{10ffff}]{0,5}",
    ]
}

/// A long value never comes back whole in a message.
fn echoes_little(message: &str, value: &str) {
    if value.chars().count() > 200 {
        assert!(!message.contains(value), "the whole value echoed");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn identities_from_certificates_round_trip_or_are_refused(uri in input()) {
        if let Some(principal) = Principal::from_uri(&uri) {
            // What is accepted names itself the same way again, in lowercase ascii codes.
            prop_assert_eq!(Principal::from_uri(&principal.uri()), Some(principal.clone()));
            prop_assert!(principal.actor().chars().all(|c| c.is_ascii_graphic()));
        }
    }

    #[test]
    fn certificates_of_any_bytes_are_refused_without_a_panic(der in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(Principal::from_cert_der(&der).is_err());
    }

    #[test]
    fn cursors_round_trip_or_are_refused(text in input()) {
        match Cursor::from_str(&text) {
            Ok(cursor) if !text.is_empty() => {
                prop_assert_eq!(Cursor::from_str(&cursor.to_string()).unwrap(), cursor);
            }
            Ok(_) => {}
            Err(err) => echoes_little(&err.to_string(), &text),
        }
    }

    #[test]
    fn request_fields_are_checked_not_trusted(value in input()) {
        match convert::date("planned_date", &value) {
            Ok(Some(date)) => prop_assert_eq!(date.to_string(), value.trim()),
            Ok(None) => prop_assert!(value.trim().is_empty()),
            Err(status) => {
                prop_assert_eq!(status.code(), tonic::Code::InvalidArgument);
                prop_assert!(status.message().starts_with("planned_date"));
                echoes_little(status.message(), &value);
            }
        }
        if let Ok(number) = check_number("number", &value) {
            prop_assert!(number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        }
        if let Ok(code) = check_code("district_code", &value) {
            prop_assert!(!code.is_empty() && code == code.trim());
        }
        match bounded_line("citizen.name", &value, 50) {
            Ok(line) => {
                prop_assert!(line.chars().count() <= 50);
                prop_assert!(!line.chars().any(char::is_control));
            }
            Err(err) => echoes_little(&err.to_string(), &value),
        }
        if let Ok(text) = bounded_text("text", &value, 100) {
            prop_assert!(text.chars().count() <= 100);
            prop_assert!(!text.contains('\0'));
        }
    }

    #[test]
    fn configuration_files_are_read_or_refused(text in prop_oneof![
        any::<String>(),
        "\\[serve\\]\n(listen|database_url|number_prefix|log_format|metrics_listen|max_text_chars|unassigned_hours) = (\"[ -~]{0,20}\"|-?[0-9]{1,6}|true)\n",
    ]) {
        let dir = std::env::temp_dir().join(format!("hub-config-prop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&path, &text).unwrap();
        if let Ok(config) = ServeConfig::resolve(ServeOptions::default(), Some(&path)) {
            // What is accepted holds the checked ranges.
            prop_assert!((2..=6).contains(&config.number_prefix.len()));
            prop_assert!((1..=120).contains(&config.unassigned_hours));
            prop_assert!(config.max_text_chars >= 100);
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn directory_files_are_parsed_or_refused(text in prop_oneof![
        any::<String>(),
        "\\[\\[(authorities|districts|categories)\\]\\]\ncode = \"[a-z0-9.-]{0,10}\"\nname = \"[^\"\\\\]{0,10}\"\n",
    ]) {
        let _ = DirectoryFile::parse(&text);
    }
}

#[test]
fn a_valid_identity_and_cursor_are_accepted() {
    let p = Principal::from_uri("urn:hotline:agency:vodokanal").expect("valid");
    assert_eq!(p.actor(), "agency:vodokanal");
    assert_eq!(Cursor::from_str("0.17").unwrap().id, 17);
    assert!(Principal::from_uri("urn:hotline:agency:Водоканал").is_none());
}
