//! What the public may see: service requests in the Open311 GeoReport v2 shape and the monthly
//! open-data export. Never a name, phone, e-mail or street address; the appeal's text only when
//! the citizen agreed (`publishable`); places at settlement level.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::DomainError;
use super::deadline::kyiv_midnight;

/// The longest window one query may span, and the default one (GeoReport v2).
pub const WINDOW_DAYS: i64 = 90;
/// Most requests one query returns (GeoReport v2's default page).
pub const MAX_REQUESTS: i64 = 1000;

/// An appeal as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRequest {
    /// Our number (`service_request_id`).
    pub number: String,
    /// Still being handled.
    pub open: bool,
    /// How it ended, when it has (`resolved`, `explained`, …), or where it stands.
    pub status_notes: String,
    /// The classifier's code (`service_code`).
    pub category_code: String,
    /// Its name.
    pub category_name: String,
    /// The section's code.
    pub section_code: String,
    /// The text, only if the citizen agreed to publish it; empty otherwise.
    pub description: String,
    /// The authorities acting on it, by name.
    pub agencies: Vec<String>,
    /// When it was received.
    pub requested: DateTime<Utc>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
    /// When it is expected to be answered: the end of its deadline day in Kyiv.
    pub expected: DateTime<Utc>,
    /// When it ended.
    pub closed: Option<DateTime<Utc>>,
    /// Settlement and district, by name: never a street.
    pub address: String,
    /// The settlement's name, or empty.
    pub settlement: String,
    /// The district's name.
    pub district: String,
    /// How it came in.
    pub channel: String,
    /// How it ended, when it has.
    pub outcome: String,
}

/// The end of a Kyiv deadline day, as an instant.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    kyiv_midnight(day + chrono::Days::new(1)) - Duration::seconds(1)
}

/// The window a query covers: `[start, end)`. Without dates, the last 90 days; with one date, 90
/// days from or to it; never longer than 90 days, never backwards.
pub fn window(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), DomainError> {
    let span = Duration::days(WINDOW_DAYS);
    let (start, end) = match (start, end) {
        (None, None) => (now - span, now),
        (Some(s), None) => (s, (s + span).min(now)),
        (None, Some(e)) => (e - span, e),
        (Some(s), Some(e)) => (s, e),
    };
    if end < start {
        return Err(DomainError::invalid("end_date", "is before start_date"));
    }
    if end - start > span {
        return Err(DomainError::invalid(
            "end_date",
            format!("the range may not span more than {WINDOW_DAYS} days"),
        ));
    }
    Ok((start, end))
}

/// The address the public sees: settlement and district names.
pub fn public_address(settlement: &str, district: &str) -> String {
    match (settlement.trim(), district.trim()) {
        ("", d) => d.to_string(),
        (s, "") => s.to_string(),
        (s, d) => format!("{s}, {d}"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_window_is_ninety_days_at_most() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        let (s, e) = window(None, None, now).unwrap();
        assert_eq!((e - s).num_days(), 90);
        assert_eq!(e, now);
        let start = now - Duration::days(200);
        let (s, e) = window(Some(start), None, now).unwrap();
        assert_eq!((s, (e - s).num_days()), (start, 90));
        assert!(window(Some(start), Some(now), now).is_err());
        assert!(window(Some(now), Some(start), now).is_err());
    }

    #[test]
    fn addresses_stop_at_the_settlement() {
        assert_eq!(
            public_address("Дніпро", "Дніпровський район"),
            "Дніпро, Дніпровський район"
        );
        assert_eq!(
            public_address("", "Дніпровський район"),
            "Дніпровський район"
        );
    }
}
