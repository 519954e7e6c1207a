//! The inbox: the authority's cases from the local store on shelves (new, accepted, in progress,
//! returned for rework, questions answered, waiting on the hotline, all), emergency and priority
//! cases first and then by deadline, each marked due soon or overdue, searchable by appeal
//! number, text and address.

use std::collections::HashSet;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use hotline_proto::render::{case_status, clip};
use hotline_proto::v1 as pb;
use serde::Deserialize;

use super::session::SignedIn;
use super::view::{self, InboxPage, status_label};
use super::{DeskError, DeskState};

/// A deadline this many days away or closer is marked due soon.
pub const DUE_SOON_DAYS: i64 = 3;

/// A shelf of the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shelf {
    /// Everything the authority still owes an answer on (the default).
    Active,
    /// Assigned or delivered: to accept or decline.
    New,
    /// Accepted, no progress reported yet.
    Accepted,
    /// Work reported under way.
    InProgress,
    /// The result came back for rework.
    Returned,
    /// The contact centre answered the authority's question.
    Answered,
    /// Waiting on the hotline: a question asked, a result submitted.
    Waiting,
    /// Every case, closed ones too.
    All,
}

impl Shelf {
    /// Every shelf, in the order of the tabs.
    pub const ALL: [Shelf; 8] = [
        Self::Active,
        Self::New,
        Self::Accepted,
        Self::InProgress,
        Self::Returned,
        Self::Answered,
        Self::Waiting,
        Self::All,
    ];

    /// The shelf's name in the address (`?view=returned`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::New => "new",
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Returned => "returned",
            Self::Answered => "answered",
            Self::Waiting => "waiting",
            Self::All => "all",
        }
    }

    /// The tab's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "До виконання",
            Self::New => "Нові",
            Self::Accepted => "Прийняті",
            Self::InProgress => "У роботі",
            Self::Returned => "На доопрацюванні",
            Self::Answered => "Є відповідь на запитання",
            Self::Waiting => "Очікують на гарячу лінію",
            Self::All => "Усі",
        }
    }

    /// The shelf named `code`; the default one for anything else.
    pub fn parse(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or(Self::Active)
    }

    /// Whether a case in `status` (as `in_progress`), whose latest event is `last_kind`, is on it.
    pub fn holds(self, status: &str, last_kind: &str) -> bool {
        match self {
            Self::Active => awaits_answer(status),
            Self::New => matches!(status, "assigned" | "delivered"),
            Self::Accepted => status == "accepted",
            Self::InProgress => status == "in_progress" && !Self::Answered.holds(status, last_kind),
            Self::Returned => status == "returned",
            Self::Answered => status == "in_progress" && last_kind == "case.clarification_answered",
            Self::Waiting => matches!(status, "clarification_requested" | "resolved"),
            Self::All => true,
        }
    }
}

/// True while the authority owes an answer on a case in `status`.
pub fn awaits_answer(status: &str) -> bool {
    matches!(
        status,
        "assigned"
            | "delivered"
            | "accepted"
            | "in_progress"
            | "returned"
            | "clarification_requested"
    )
}

/// How close a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueMark {
    /// Nothing to flag.
    None,
    /// Within [`DUE_SOON_DAYS`] days (or an emergency, due within hours).
    DueSoon,
    /// Past, with the answer still owed.
    Overdue,
}

/// Today in Kyiv, where the hotline's deadlines are dates.
pub fn kyiv_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::Kyiv).date_naive()
}

/// Days from `today` to `deadline` (negative when past); `None` for an unreadable deadline.
pub fn days_left(deadline: &str, today: NaiveDate) -> Option<i64> {
    NaiveDate::parse_from_str(deadline, "%Y-%m-%d")
        .ok()
        .map(|d| (d - today).num_days())
}

/// The deadline mark of a case.
pub fn due_mark(case: &pb::AgencyCase, now: DateTime<Utc>) -> DueMark {
    let c = case.case.clone().unwrap_or_default();
    if !awaits_answer(&case_status(c.status)) {
        return DueMark::None;
    }
    if let Ok(due) = DateTime::parse_from_rfc3339(&c.due_at) {
        return if now > due {
            DueMark::Overdue
        } else {
            DueMark::DueSoon
        };
    }
    match days_left(&c.deadline, kyiv_today(now)) {
        _ if c.overdue => DueMark::Overdue,
        Some(d) if d < 0 => DueMark::Overdue,
        Some(d) if d <= DUE_SOON_DAYS => DueMark::DueSoon,
        _ => DueMark::None,
    }
}

/// True for an emergency case (due within hours).
pub fn is_emergency(case: &pb::AgencyCase) -> bool {
    case.urgency == pb::Urgency::Emergency as i32
        || case.case.as_ref().is_some_and(|c| !c.due_at.is_empty())
}

/// The inbox order: emergency cases, then priority (and urgent) ones, then by deadline (the
/// emergency's hour, else the date), then by case id.
pub fn sort(cases: &mut [pb::AgencyCase]) {
    cases.sort_by_cached_key(|case| {
        let c = case.case.clone().unwrap_or_default();
        let when = if c.due_at.is_empty() {
            c.deadline.clone()
        } else {
            c.due_at.clone()
        };
        (
            !is_emergency(case),
            !(case.priority || case.urgent),
            when.is_empty(),
            when,
            c.id,
        )
    });
}

/// Whether a case matches the search words: every word in the appeal number, the text, the
/// citizen's address or the settlement, ignoring case.
pub fn matches(case: &pb::AgencyCase, query: &str) -> bool {
    let address = case
        .citizen
        .as_ref()
        .map(|c| c.address.as_str())
        .unwrap_or("");
    let haystack = format!(
        "{}\n{}\n{}\n{}",
        case.appeal_number, case.text, address, case.settlement_code
    )
    .to_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

/// One line of the inbox.
#[derive(Debug, Clone)]
pub struct InboxLine {
    /// Case id.
    pub case_id: i64,
    /// Appeal number.
    pub appeal_number: String,
    /// Status, in Ukrainian.
    pub status: &'static str,
    /// Deadline (date, or the emergency's hour).
    pub deadline: String,
    /// Days left, as the clerk reads it.
    pub days_left: String,
    /// `overdue`, `due-soon` or empty (a CSS class).
    pub mark: &'static str,
    /// Emergency.
    pub emergency: bool,
    /// Priority or urgent.
    pub priority: bool,
    /// The start of the appeal's text.
    pub excerpt: String,
    /// An action waits in the outbox.
    pub queued: bool,
    /// The question was answered.
    pub answered: bool,
}

/// The query of `GET /inbox`.
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    view: String,
    #[serde(default)]
    q: String,
}

/// "3 дні", "сьогодні", "прострочено на 2 дні".
pub fn days_text(days: Option<i64>) -> String {
    fn unit(n: i64) -> &'static str {
        let (m10, m100) = (n % 10, n % 100);
        if m10 == 1 && m100 != 11 {
            "день"
        } else if (2..=4).contains(&m10) && !(12..=14).contains(&m100) {
            "дні"
        } else {
            "днів"
        }
    }
    match days {
        None => String::new(),
        Some(0) => "сьогодні".into(),
        Some(d) if d > 0 => format!("{d} {}", unit(d)),
        Some(d) => format!("прострочено на {} {}", -d, unit(-d)),
    }
}

/// `GET /inbox`.
pub async fn page(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Query(query): Query<InboxQuery>,
) -> Result<Response, DeskError> {
    let local = &state.agency.local;
    let shelf = Shelf::parse(&query.view);
    let search = query.q.trim().chars().take(200).collect::<String>();
    let mut cases = local.cases(None).await?;
    let last: std::collections::HashMap<i64, String> =
        local.last_event_kinds().await?.into_iter().collect();
    let queued: HashSet<i64> = local.cases_with_pending().await?.into_iter().collect();
    let now = Utc::now();
    let today = kyiv_today(now);
    let kind_of = |case: &pb::AgencyCase| {
        let id = case.case.as_ref().map_or(0, |c| c.id);
        last.get(&id).map(String::as_str).unwrap_or("").to_string()
    };
    let status_of = |case: &pb::AgencyCase| case_status(case.case.as_ref().map_or(0, |c| c.status));
    let counts: Vec<(Shelf, usize)> = Shelf::ALL
        .into_iter()
        .map(|s| {
            let n = cases
                .iter()
                .filter(|c| s.holds(&status_of(c), &kind_of(c)))
                .count();
            (s, n)
        })
        .collect();
    cases.retain(|c| shelf.holds(&status_of(c), &kind_of(c)) && matches(c, &search));
    sort(&mut cases);
    let lines = cases
        .iter()
        .map(|case| {
            let c = case.case.clone().unwrap_or_default();
            let status = case_status(c.status);
            let days = if c.due_at.is_empty() && awaits_answer(&status) {
                days_text(days_left(&c.deadline, today))
            } else {
                String::new()
            };
            InboxLine {
                case_id: c.id,
                appeal_number: case.appeal_number.clone(),
                status: status_label(&status),
                deadline: if c.due_at.is_empty() {
                    c.deadline.clone()
                } else {
                    view::local_time(&c.due_at)
                },
                days_left: days,
                mark: match due_mark(case, now) {
                    DueMark::Overdue => "overdue",
                    DueMark::DueSoon => "due-soon",
                    DueMark::None => "",
                },
                emergency: is_emergency(case),
                priority: case.priority || (case.urgent && !is_emergency(case)),
                excerpt: clip(&case.text, 110),
                queued: queued.contains(&c.id),
                answered: Shelf::Answered.holds(&status, &kind_of(case)),
            }
        })
        .collect();
    view::html(&InboxPage {
        clerk: &clerk,
        shelf,
        counts,
        search: &search,
        lines,
        connection: view::Connection::read(local).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: i64, deadline: &str, priority: bool, emergency: bool) -> pb::AgencyCase {
        pb::AgencyCase {
            case: Some(pb::Case {
                id,
                status: pb::CaseStatus::Accepted as i32,
                deadline: deadline.into(),
                due_at: if emergency {
                    "2026-03-02T10:00:00Z".into()
                } else {
                    String::new()
                },
                ..Default::default()
            }),
            appeal_number: format!("Д-{id}"),
            text: "Немає води у під'їзді".into(),
            citizen: Some(pb::Citizen {
                address: "вул. Січеславська Набережна, 15".into(),
                ..Default::default()
            }),
            priority,
            urgency: if emergency {
                pb::Urgency::Emergency as i32
            } else {
                pb::Urgency::Ordinary as i32
            },
            ..Default::default()
        }
    }

    #[test]
    fn emergency_then_priority_then_deadline() {
        let mut cases = vec![
            case(1, "2026-03-01", false, false),
            case(2, "2026-03-20", true, false),
            case(3, "2026-03-10", false, true),
            case(4, "2026-02-27", false, false),
            case(5, "2026-03-05", true, false),
        ];
        sort(&mut cases);
        let ids: Vec<i64> = cases.iter().map(|c| c.case.as_ref().unwrap().id).collect();
        assert_eq!(ids, vec![3, 5, 2, 4, 1]);
    }

    #[test]
    fn deadlines_are_marked_due_soon_and_overdue() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            due_mark(&case(1, "2026-02-28", false, false), now),
            DueMark::Overdue
        );
        assert_eq!(
            due_mark(&case(1, "2026-03-01", false, false), now),
            DueMark::DueSoon
        );
        assert_eq!(
            due_mark(&case(1, "2026-03-04", false, false), now),
            DueMark::DueSoon
        );
        assert_eq!(
            due_mark(&case(1, "2026-03-05", false, false), now),
            DueMark::None
        );
        let emergency = case(1, "2026-03-20", false, true);
        assert_eq!(
            due_mark(&emergency, now),
            DueMark::DueSoon,
            "due within hours"
        );
        let later = now + chrono::Duration::days(2);
        assert_eq!(due_mark(&emergency, later), DueMark::Overdue);
        let mut done = case(1, "2026-02-01", false, false);
        done.case.as_mut().unwrap().status = pb::CaseStatus::Resolved as i32;
        assert_eq!(due_mark(&done, now), DueMark::None, "answered: not overdue");
    }

    #[test]
    fn search_finds_number_text_and_address_ignoring_case() {
        let c = case(7, "2026-03-01", false, false);
        assert!(matches(&c, "д-7"));
        assert!(matches(&c, "ВОДИ"));
        assert!(matches(&c, "січеславська 15"));
        assert!(matches(&c, ""));
        assert!(!matches(&c, "газ"));
    }

    #[test]
    fn shelves_follow_status_and_the_last_event() {
        assert!(Shelf::New.holds("delivered", "case.delivered"));
        assert!(Shelf::Answered.holds("in_progress", "case.clarification_answered"));
        assert!(!Shelf::InProgress.holds("in_progress", "case.clarification_answered"));
        assert!(Shelf::InProgress.holds("in_progress", "case.progress_reported"));
        assert!(Shelf::Returned.holds("returned", "case.returned"));
        assert!(!Shelf::Active.holds("closed", "case.closed"));
        assert!(Shelf::All.holds("closed", "case.closed"));
        assert_eq!(Shelf::parse("returned"), Shelf::Returned);
        assert_eq!(Shelf::parse("<script>"), Shelf::Active);
    }

    #[test]
    fn days_read_as_ukrainian() {
        assert_eq!(days_text(Some(0)), "сьогодні");
        assert_eq!(days_text(Some(1)), "1 день");
        assert_eq!(days_text(Some(3)), "3 дні");
        assert_eq!(days_text(Some(11)), "11 днів");
        assert_eq!(days_text(Some(22)), "22 дні");
        assert_eq!(days_text(Some(-5)), "прострочено на 5 днів");
    }
}
