//! Who is appealing and how urgent it is: the dimensions of the national classifier of citizens'
//! appeals (CMU resolution 858) beyond the subject, the urgency classes, and the priority they give.
//!
//! - The **sign** (primary, repeat, duplicate, multiple, mass) is fixed by the classifier and drives
//!   behaviour (a detected repeat, an incident's mass appeals), so it is a closed list here.
//! - **Author category**, **social status** and **sex** are editable entries of the directory
//!   ([`ClassifierEntry`]): the oblast keeps its own codes where the official ones are unknown. An
//!   author category flagged `priority` (those the Law puts first: participants of hostilities,
//!   persons with disabilities, Chornobyl victims, …) makes the appeal a **priority** one.
//! - The subject is the category classifier ([`super::Category`]); the form of receipt is the
//!   [`super::Channel`]; individual / collective / anonymous follows from the card.
//!
//! Priority sorts an appeal first in every staff queue and marks it for the authority; urgency sets
//! its default deadline (an emergency counts in hours, not days).

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::deadline::kyiv_date;
use super::limits::Limits;
use super::text::{check_code, required_line};
use super::{DomainError, coded_enum};

/// Longest name of a classifier entry.
const MAX_ENTRY_NAME_CHARS: usize = 300;
/// Most author categories on one card.
pub const MAX_AUTHOR_CATEGORIES: usize = 10;

coded_enum! {
    /// The sign of an appeal (ознака надходження).
    Sign {
        /// The citizen's first appeal on the matter.
        Primary = "primary",
        /// Again on a matter already appealed (the hub sets it when it links a repeat).
        Repeat = "repeat",
        /// The same appeal received again through another channel.
        Duplicate = "duplicate",
        /// The same citizen on several matters at once.
        Multiple = "multiple",
        /// One of many appeals on one event (attached to an incident).
        Mass = "mass",
    }
}

coded_enum! {
    /// The dimensions whose entries the directory keeps.
    Dimension {
        /// Categories of authors (пільгові категорії), some of them priority.
        AuthorCategory = "author_category",
        /// Social status (pensioner, worker, student, unemployed, …).
        SocialStatus = "social_status",
        /// Sex.
        Sex = "sex",
    }
}

coded_enum! {
    /// How urgent the matter is: sets the default deadline.
    Urgency {
        /// The legal term (15 days or a month).
        Ordinary = "ordinary",
        /// A few days (configurable, 3 by default).
        Urgent = "urgent",
        /// Hours (configurable, 24 by default): a threat to life, health or property.
        Emergency = "emergency",
    }
}

/// One entry of a dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifierEntry {
    /// The dimension.
    pub dimension: Dimension,
    /// Its code (letters, digits, `.`, `_`, `-`).
    pub code: String,
    /// Its name as staff read it.
    pub name: String,
    /// The entry it refines, in the same dimension; empty at the top.
    pub parent_code: String,
    /// Appeals of this author category are handled first.
    pub priority: bool,
}

impl ClassifierEntry {
    /// Checks an entry an admin submits; `parent_known` says whether its parent exists.
    pub fn checked(mut self, parent_known: bool) -> Result<Self, DomainError> {
        self.code = check_code("code", &self.code)?;
        self.name = required_line("name", &self.name, MAX_ENTRY_NAME_CHARS)?;
        self.parent_code = self.parent_code.trim().to_string();
        if !self.parent_code.is_empty() && !parent_known {
            return Err(DomainError::invalid(
                "parent_code",
                format!("unknown {} `{}`", self.dimension.code(), self.parent_code),
            ));
        }
        if self.parent_code == self.code {
            return Err(DomainError::invalid(
                "parent_code",
                "an entry cannot refine itself",
            ));
        }
        if self.priority && self.dimension != Dimension::AuthorCategory {
            return Err(DomainError::invalid(
                "priority",
                "only an author category makes an appeal priority",
            ));
        }
        Ok(self)
    }
}

/// The classifier's view of a card, as the operator gives it (codes unchecked).
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    /// The sign; `None` lets the hub decide (primary, or repeat when it links one).
    pub sign: Option<Sign>,
    /// Author categories (codes).
    pub author_categories: Vec<String>,
    /// Social status (code), may be empty.
    pub social_status: String,
    /// Sex (code), may be empty.
    pub sex: String,
    /// For a collective appeal, whom to call; empty means the citizen on the card.
    pub contact_person: String,
    /// Urgency; `None` is ordinary.
    pub urgency: Option<Urgency>,
}

/// The checked classification of an appeal. `contact_person` is personal data: never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Profile {
    /// The sign.
    pub sign: Sign,
    /// Author categories (known codes, no repeats, in the order given).
    pub author_categories: Vec<String>,
    /// Social status or empty.
    pub social_status: String,
    /// Sex or empty.
    pub sex: String,
    /// Contact person of a collective appeal, or empty.
    pub contact_person: String,
    /// Urgency.
    pub urgency: Urgency,
    /// Handled first: a priority author category, or a benefit holder.
    pub priority: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            sign: Sign::Primary,
            author_categories: Vec::new(),
            social_status: String::new(),
            sex: String::new(),
            contact_person: String::new(),
            urgency: Urgency::Ordinary,
            priority: false,
        }
    }
}

impl std::fmt::Debug for Profile {
    // The contact person is personal data: left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("sign", &self.sign)
            .field("author_categories", &self.author_categories)
            .field("social_status", &self.social_status)
            .field("sex", &self.sex)
            .field("urgency", &self.urgency)
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

/// The entries a card's classification may name: (dimension, code, priority).
pub type KnownEntries = [(Dimension, String, bool)];

impl ProfileInput {
    /// Checks the classification against the directory's entries. `repeat` says the hub linked
    /// the appeal to an earlier one; `benefit_holder` and `collective` come from the card.
    pub fn check(
        self,
        known: &KnownEntries,
        repeat: bool,
        benefit_holder: bool,
        collective: bool,
    ) -> Result<Profile, DomainError> {
        let find = |dimension: Dimension, code: &str| {
            known.iter().find(|(d, c, _)| *d == dimension && c == code)
        };
        if self.author_categories.len() > MAX_AUTHOR_CATEGORIES {
            return Err(DomainError::invalid(
                "author_categories",
                format!("at most {MAX_AUTHOR_CATEGORIES}"),
            ));
        }
        let mut author_categories: Vec<String> = Vec::new();
        let mut priority = benefit_holder;
        for (i, raw) in self.author_categories.iter().enumerate() {
            let field = format!("author_categories[{i}]");
            let code = check_code(&field, raw)?;
            let Some((_, _, first)) = find(Dimension::AuthorCategory, &code) else {
                return Err(DomainError::invalid(
                    field,
                    format!("unknown author category `{code}`"),
                ));
            };
            priority |= *first;
            if !author_categories.contains(&code) {
                author_categories.push(code);
            }
        }
        let optional = |field: &str, dimension: Dimension, raw: &str| {
            let code = raw.trim();
            if code.is_empty() {
                return Ok(String::new());
            }
            let code = check_code(field, code)?;
            match find(dimension, &code) {
                Some(_) => Ok(code),
                None => Err(DomainError::invalid(
                    field,
                    format!("unknown {} `{code}`", dimension.code()),
                )),
            }
        };
        let social_status = optional(
            "social_status",
            Dimension::SocialStatus,
            &self.social_status,
        )?;
        let sex = optional("sex", Dimension::Sex, &self.sex)?;
        let contact_person = self.contact_person.trim().to_string();
        if !contact_person.is_empty() && !collective {
            return Err(DomainError::invalid(
                "contact_person",
                "only a collective appeal (more than one signatory) names a contact person",
            ));
        }
        let contact_person = if contact_person.is_empty() {
            contact_person
        } else {
            required_line("contact_person", &contact_person, 200)?
        };
        let sign = match self.sign {
            Some(sign) => sign,
            None if repeat => Sign::Repeat,
            None => Sign::Primary,
        };
        Ok(Profile {
            sign,
            author_categories,
            social_status,
            sex,
            contact_person,
            urgency: self.urgency.unwrap_or(Urgency::Ordinary),
            priority,
        })
    }
}

impl Urgency {
    /// The default deadline of an appeal of this urgency received at `received_at`, given its
    /// legal one, and for an emergency the instant it is due. Never later than the legal deadline.
    pub fn deadline(
        self,
        received_at: DateTime<Utc>,
        legal: NaiveDate,
        limits: &Limits,
    ) -> (NaiveDate, Option<DateTime<Utc>>) {
        match self {
            Self::Ordinary => (legal, None),
            Self::Urgent => {
                let date = kyiv_date(received_at) + Days::new(limits.urgent_days);
                (date.min(legal), None)
            }
            Self::Emergency => {
                let due = received_at + chrono::Duration::hours(limits.emergency_hours);
                (kyiv_date(due).min(legal), Some(due))
            }
        }
    }

    /// Sort key: emergency first.
    pub fn rank(self) -> u8 {
        match self {
            Self::Emergency => 0,
            Self::Urgent => 1,
            Self::Ordinary => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn known() -> Vec<(Dimension, String, bool)> {
        vec![
            (Dimension::AuthorCategory, "ubd".into(), true),
            (Dimension::AuthorCategory, "pensioner".into(), false),
            (Dimension::SocialStatus, "worker".into(), false),
            (Dimension::Sex, "f".into(), false),
        ]
    }

    #[test]
    fn a_priority_author_category_makes_the_appeal_priority() {
        let input = |codes: &[&str]| ProfileInput {
            author_categories: codes.iter().map(|c| c.to_string()).collect(),
            ..ProfileInput::default()
        };
        let p = input(&["pensioner"])
            .check(&known(), false, false, false)
            .unwrap();
        assert!(!p.priority);
        let p = input(&["pensioner", "ubd", "ubd"])
            .check(&known(), false, false, false)
            .unwrap();
        assert!(p.priority);
        assert_eq!(p.author_categories, ["pensioner", "ubd"], "no repeats");
        let p = input(&[]).check(&known(), false, true, false).unwrap();
        assert!(p.priority, "a benefit holder is priority too");
        let err = input(&["nobody"])
            .check(&known(), false, false, false)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("author_categories[0]: unknown"),
            "{err}"
        );
    }

    #[test]
    fn sign_defaults_follow_the_repeat_and_the_operator_may_correct_it() {
        let p = ProfileInput::default()
            .check(&known(), true, false, false)
            .unwrap();
        assert_eq!(p.sign, Sign::Repeat);
        let p = ProfileInput::default()
            .check(&known(), false, false, false)
            .unwrap();
        assert_eq!(p.sign, Sign::Primary);
        let p = ProfileInput {
            sign: Some(Sign::Duplicate),
            ..ProfileInput::default()
        }
        .check(&known(), true, false, false)
        .unwrap();
        assert_eq!(p.sign, Sign::Duplicate);
    }

    #[test]
    fn optional_dimensions_and_the_contact_person_are_checked() {
        let bad = ProfileInput {
            sex: "x".into(),
            ..ProfileInput::default()
        };
        assert!(bad.check(&known(), false, false, false).is_err());
        let individual = ProfileInput {
            contact_person: "Іваненко".into(),
            ..ProfileInput::default()
        };
        assert!(
            individual
                .clone()
                .check(&known(), false, false, false)
                .is_err()
        );
        let p = individual.check(&known(), false, false, true).unwrap();
        assert_eq!(p.contact_person, "Іваненко");
        assert!(!format!("{p:?}").contains("Іваненко"), "never in a log");
    }

    #[test]
    fn urgency_sets_the_default_deadline_within_the_legal_one() {
        let limits = Limits::default();
        // 10:00 in Kyiv (UTC+2 in winter) on 1 December.
        let received = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let legal = NaiveDate::from_ymd_opt(2026, 12, 16).unwrap();
        assert_eq!(
            Urgency::Ordinary.deadline(received, legal, &limits),
            (legal, None)
        );
        assert_eq!(
            Urgency::Urgent.deadline(received, legal, &limits).0,
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        );
        let (date, due) = Urgency::Emergency.deadline(received, legal, &limits);
        assert_eq!(due, Some(received + chrono::Duration::hours(24)));
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 12, 2).unwrap());
        // A citizen's earlier date (a shorter legal deadline) still wins.
        let early = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(Urgency::Urgent.deadline(received, early, &limits).0, early);
    }

    #[test]
    fn entries_are_checked() {
        let entry = |dimension, priority| ClassifierEntry {
            dimension,
            code: "ubd".into(),
            name: "Учасники бойових дій".into(),
            parent_code: String::new(),
            priority,
        };
        assert!(entry(Dimension::AuthorCategory, true).checked(true).is_ok());
        assert!(entry(Dimension::Sex, true).checked(true).is_err());
        let orphan = ClassifierEntry {
            parent_code: "veterans".into(),
            ..entry(Dimension::AuthorCategory, false)
        };
        assert!(orphan.checked(false).is_err());
    }
}
