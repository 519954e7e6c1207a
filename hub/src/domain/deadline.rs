//! Deadlines of the Law "On Citizens' Appeals", art. 20, counted in Europe/Kyiv calendar days.
//!
//! A deadline is a date: the appeal must be answered by the end of that day in Kyiv. Counting in local
//! dates (not in 24-hour periods) keeps the count right across the DST changes in March and October.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use chrono_tz::Europe::Kyiv;
use serde_json::json;

use super::appeal::AppealState;
use super::event::{CaseEvent, EventKind, event};

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

/// True when a case declined at `declined_at` is still not re-routed after its last day (art. 7).
pub fn reroute_late(declined_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    kyiv_date(now) > reroute_by(declined_at)
}

impl AppealState {
    /// The deadline monitor's step: announces, once per deadline, cases that still owe an answer and
    /// are due within `due_soon_days` (Kyiv calendar days) or past their deadline. An emergency case
    /// (due at an instant) is announced `emergency_warning` before that instant and once it has
    /// passed. No events: nothing to do.
    pub fn mark_deadlines(
        &mut self,
        due_soon_days: u64,
        emergency_warning: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Vec<CaseEvent> {
        let today = kyiv_date(now);
        let mut events = Vec::new();
        for (i, case) in self.cases.iter_mut().enumerate() {
            if !case.status.awaits_answer() || self.appeal.status.is_final() {
                continue;
            }
            let mut detail = json!({ "deadline": case.deadline.to_string() });
            if let Some(due) = case.due_at {
                detail["due_at"] = json!(due.to_rfc3339());
            }
            let (overdue, due_soon) = match case.due_at {
                Some(due) => (now > due, now >= due - emergency_warning),
                None => (
                    is_overdue(case.deadline, now),
                    case.deadline <= today + chrono::Days::new(due_soon_days),
                ),
            };
            if case.overdue_at.is_none() && overdue {
                case.overdue_at = Some(now);
                // An overdue case needs no "due soon" any more.
                case.due_soon_at.get_or_insert(now);
                events.push(event(Some(i), EventKind::CaseOverdue, detail));
            } else if case.due_soon_at.is_none() && case.overdue_at.is_none() && due_soon {
                case.due_soon_at = Some(now);
                events.push(event(Some(i), EventKind::CaseDueSoon, detail));
            }
        }
        if !events.is_empty() {
            self.appeal.updated_at = now;
        }
        events
    }

    /// The monitor's step for an appeal still unassigned: announced once, `after` its receipt (art.
    /// 7 gives at most 5 days to send an appeal to the body that must act).
    pub fn mark_unassigned(
        &mut self,
        after: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Vec<CaseEvent> {
        let a = &mut self.appeal;
        if a.status != super::AppealStatus::Registered
            || a.unassigned_announced_at.is_some()
            || now - a.received_at < after
        {
            return Vec::new();
        }
        a.unassigned_announced_at = Some(now);
        a.updated_at = now;
        let by = kyiv_date(a.received_at) + Days::new(REROUTE_DAYS);
        vec![event(
            None,
            EventKind::AppealUnassigned,
            json!({ "received": a.received_at.to_rfc3339(), "assign_by": by.to_string() }),
        )]
    }
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

#[cfg(test)]
mod monitor_tests {
    use super::*;
    use crate::domain::fixtures::{assigned, kinds, resolved};

    #[test]
    fn the_monitor_announces_each_deadline_once() {
        let mut s = assigned(&["vodokanal"]);
        let deadline = s.cases[0].deadline;
        let at = |d: NaiveDate| d.and_hms_opt(9, 0, 0).unwrap().and_utc();
        assert!(
            s.mark_deadlines(
                3,
                chrono::Duration::hours(6),
                at(deadline - chrono::Days::new(5))
            )
            .is_empty()
        );
        let due = s.mark_deadlines(
            3,
            chrono::Duration::hours(6),
            at(deadline - chrono::Days::new(3)),
        );
        assert_eq!(kinds(&due), ["case.due_soon"]);
        assert!(
            s.mark_deadlines(
                3,
                chrono::Duration::hours(6),
                at(deadline - chrono::Days::new(2))
            )
            .is_empty(),
            "once"
        );
        let late = s.mark_deadlines(
            3,
            chrono::Duration::hours(6),
            at(deadline + chrono::Days::new(1)),
        );
        assert_eq!(kinds(&late), ["case.overdue"]);
        assert!(
            s.mark_deadlines(
                3,
                chrono::Duration::hours(6),
                at(deadline + chrono::Days::new(2))
            )
            .is_empty(),
            "once"
        );
        // An extension announces the new deadline afresh.
        s.appeal.card.needs_study = true;
        let new = latest_deadline(s.appeal.received_at);
        s.extend_deadline(10, new, "inspection", at(deadline + chrono::Days::new(1)))
            .unwrap();
        assert!(
            s.mark_deadlines(
                3,
                chrono::Duration::hours(6),
                at(deadline + chrono::Days::new(2))
            )
            .is_empty()
        );
        assert_eq!(
            kinds(&s.mark_deadlines(3, chrono::Duration::hours(6), at(new))),
            ["case.due_soon"]
        );
        // Answered cases are not announced.
        resolved(&mut s, 10);
        assert!(
            s.mark_deadlines(
                3,
                chrono::Duration::hours(6),
                at(new + chrono::Days::new(1))
            )
            .is_empty()
        );
        assert!(s.cases[0].resolved_at.is_some());
    }

    #[test]
    fn an_emergency_is_announced_hours_before_its_instant() {
        let mut s = assigned(&["vodokanal"]);
        let due = s.cases[0].assigned_at + chrono::Duration::hours(24);
        s.cases[0].due_at = Some(due);
        let warning = chrono::Duration::hours(6);
        let hours = |h: i64| due + chrono::Duration::hours(h);
        assert!(
            s.mark_deadlines(3, warning, hours(-7)).is_empty(),
            "days do not count"
        );
        assert_eq!(
            kinds(&s.mark_deadlines(3, warning, hours(-6))),
            ["case.due_soon"]
        );
        assert!(
            s.mark_deadlines(3, warning, hours(0)).is_empty(),
            "due, not yet late"
        );
        assert!(!s.cases[0].is_overdue(hours(0)));
        assert_eq!(
            kinds(&s.mark_deadlines(3, warning, hours(1))),
            ["case.overdue"]
        );
        assert!(s.cases[0].is_overdue(hours(1)));
    }
}
