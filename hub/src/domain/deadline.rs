//! Deadlines of the Law "On Citizens' Appeals", art. 20, counted in Europe/Kyiv calendar days.
//!
//! A deadline is a date: the appeal must be answered by the end of that day in Kyiv. Counting in local
//! dates (not in 24-hour periods) keeps the count right across the DST changes in March and October.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use chrono_tz::Europe::Kyiv;

/// Days for an appeal that needs no further study ("невідкладно, але не пізніше 15 днів").
pub const SHORT_TERM_DAYS: u64 = 15;
/// The longest total term, extensions included.
pub const MAX_TERM_DAYS: u64 = 45;
/// Days within which a declined case must be re-routed (art. 7).
pub const REROUTE_DAYS: u64 = 5;

/// The legal term of an appeal, chosen at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// 15 days: the matter needs no further study.
    Short,
    /// One calendar month: the matter needs study.
    Month,
}

/// The calendar date in Kyiv at an instant.
pub fn kyiv_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Kyiv).date_naive()
}

/// The first instant of a Kyiv calendar day.
pub fn kyiv_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN)
        .and_local_timezone(Kyiv)
        .earliest()
        .expect("Kyiv never skips midnight")
        .with_timezone(&Utc)
}

/// The legal deadline for an appeal received at `received_at`.
pub fn legal_deadline(received_at: DateTime<Utc>, term: Term) -> NaiveDate {
    let received = kyiv_date(received_at);
    match term {
        Term::Short => received + Days::new(SHORT_TERM_DAYS),
        // chrono clamps to the month's last day: 31 January + 1 month = 28 (29) February.
        Term::Month => received
            .checked_add_months(Months::new(1))
            .expect("a date within chrono's range plus one month"),
    }
}

/// The latest date any deadline of this appeal may be extended to (45 days in total).
pub fn latest_deadline(received_at: DateTime<Utc>) -> NaiveDate {
    kyiv_date(received_at) + Days::new(MAX_TERM_DAYS)
}

/// True when a case due on `deadline` is late at instant `now`: the whole Kyiv day of the deadline has passed.
pub fn is_overdue(deadline: NaiveDate, now: DateTime<Utc>) -> bool {
    kyiv_date(now) > deadline
}

/// The date by which a case declined at `declined_at` must be re-routed.
pub fn reroute_by(declined_at: DateTime<Utc>) -> NaiveDate {
    kyiv_date(declined_at) + Days::new(REROUTE_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn kyiv(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Kyiv.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn short_term_is_fifteen_days_from_the_kyiv_date() {
        assert_eq!(
            legal_deadline(kyiv(2026, 3, 10, 9, 0), Term::Short),
            date(2026, 3, 25)
        );
    }

    #[test]
    fn month_term_clamps_at_month_end_and_knows_leap_years() {
        assert_eq!(
            legal_deadline(kyiv(2026, 1, 31, 12, 0), Term::Month),
            date(2026, 2, 28)
        );
        assert_eq!(
            legal_deadline(kyiv(2028, 1, 31, 12, 0), Term::Month),
            date(2028, 2, 29)
        );
        assert_eq!(
            legal_deadline(kyiv(2026, 12, 15, 12, 0), Term::Month),
            date(2027, 1, 15)
        );
    }

    #[test]
    fn late_evening_utc_is_already_the_next_day_in_kyiv() {
        // 22:30 UTC on 9 March is 00:30 on 10 March in Kyiv (UTC+2 in winter).
        let at = Utc.with_ymd_and_hms(2026, 3, 9, 22, 30, 0).unwrap();
        assert_eq!(kyiv_date(at), date(2026, 3, 10));
        // 21:30 UTC on 9 July is 00:30 on 10 July (UTC+3 in summer).
        let at = Utc.with_ymd_and_hms(2026, 7, 9, 21, 30, 0).unwrap();
        assert_eq!(kyiv_date(at), date(2026, 7, 10));
    }

    #[test]
    fn counting_across_the_dst_change_stays_in_calendar_days() {
        // Kyiv moves to summer time on the last Sunday of March (29 March 2026).
        let received = kyiv(2026, 3, 20, 23, 30);
        assert_eq!(legal_deadline(received, Term::Short), date(2026, 4, 4));
        assert_eq!(latest_deadline(received), date(2026, 5, 4));
    }

    #[test]
    fn overdue_only_after_the_whole_deadline_day_in_kyiv() {
        let deadline = date(2026, 4, 4);
        assert!(!is_overdue(deadline, kyiv(2026, 4, 4, 23, 59)));
        assert!(is_overdue(deadline, kyiv(2026, 4, 5, 0, 0)));
    }

    #[test]
    fn reroute_limit_is_five_days() {
        assert_eq!(reroute_by(kyiv(2026, 2, 26, 10, 0)), date(2026, 3, 3));
    }
}
