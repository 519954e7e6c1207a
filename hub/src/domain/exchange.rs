//! The exchange with the national Government Contact Centre (1545) and other partners: their
//! appeals come in under the partner's own ids and classifier codes; ours go up to them when they
//! are outside the oblast's competence (art. 7).
//!
//! - A partner's record is applied once per (partner, external id): a resend answers with the
//!   appeal it made.
//! - Its codes (category, district, settlement) are mapped onto ours through tables the admins
//!   keep; a record whose code has no mapping is held for an analyst to classify, never dropped.
//! - What the partner hears back: the status changes, answers, notices and closure of the appeals it
//!   sent, and the appeals forwarded up to it.

use chrono::{DateTime, Utc};
use serde_json::json;

use serde::{Deserialize, Serialize};

use super::appeal::{AppealKind, AppealState, AppealStatus, Channel};
use super::card::{CardInput, Citizen};
use super::event::{CaseEvent, EventKind, event};
use super::limits::MAX_REASON_CHARS;
use super::outcome::Outcome;
use super::text::{check_code, echo, required_line, required_text};
use super::{DomainError, coded_enum};

/// Longest external id a partner may use.
const MAX_EXTERNAL_ID: usize = 100;

coded_enum! {
    /// What a partner's code names.
    MapKind {
        /// A category of the subject classifier.
        Category = "category",
        /// A district.
        District = "district",
        /// A settlement.
        Settlement = "settlement",
    }
}

/// One mapping of a partner's code onto ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMapping {
    /// The partner.
    pub partner: String,
    /// What the code names.
    pub kind: MapKind,
    /// The partner's code.
    pub theirs: String,
    /// Ours.
    pub ours: String,
}

impl CodeMapping {
    /// Checks a mapping an admin submits (the target's existence is checked by the caller).
    pub fn checked(mut self) -> Result<Self, DomainError> {
        self.partner = check_partner(&self.partner)?;
        self.theirs = check_external("theirs", &self.theirs)?;
        self.ours = check_code("ours", &self.ours)?;
        Ok(self)
    }
}

/// A partner's name as its certificate names it (`urn:hotline:exchange:<partner>`).
pub fn check_partner(partner: &str) -> Result<String, DomainError> {
    check_code("partner", partner)
}

/// An external id or a partner's code: printable, at most 100 characters, no newline.
pub fn check_external(field: &str, value: &str) -> Result<String, DomainError> {
    let value = required_line(field, value, MAX_EXTERNAL_ID)?;
    if value.contains(',') {
        return Err(DomainError::invalid(
            field,
            format!("`{}` may not contain a comma", echo(&value)),
        ));
    }
    Ok(value)
}

/// The codes a record names, as the partner wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartnerCodes {
    /// Category.
    pub category: String,
    /// District.
    pub district: String,
    /// Settlement; may be empty.
    pub settlement: String,
}

/// Our codes for a record's, or what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// Every code maps: (category, district, settlement).
    Ours {
        /// Category.
        category: String,
        /// District.
        district: String,
        /// Settlement; empty when none was given.
        settlement: String,
    },
    /// Some code has no mapping: an analyst classifies the record.
    Unmapped(Vec<String>),
}

/// Maps a record's codes through `lookup(kind, theirs)`.
pub fn map_codes(codes: &PartnerCodes, lookup: impl Fn(MapKind, &str) -> Option<String>) -> Mapped {
    let mut missing = Vec::new();
    let mut one = |kind: MapKind, theirs: &str| {
        if theirs.trim().is_empty() {
            return String::new();
        }
        lookup(kind, theirs.trim()).unwrap_or_else(|| {
            missing.push(format!("{} `{}`", kind.code(), echo(theirs.trim())));
            String::new()
        })
    };
    let category = one(MapKind::Category, &codes.category);
    let district = one(MapKind::District, &codes.district);
    let settlement = one(MapKind::Settlement, &codes.settlement);
    if codes.category.trim().is_empty() {
        missing.push("category (none given)".into());
    }
    if codes.district.trim().is_empty() {
        missing.push("district (none given)".into());
    }
    if missing.is_empty() {
        Mapped::Ours {
            category,
            district,
            settlement,
        }
    } else {
        Mapped::Unmapped(missing)
    }
}

/// A partner's record as kept while it waits for classification: everything the card needs, the
/// partner's codes unmapped. Personal data (the citizen): never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    /// The partner's id.
    pub external_id: String,
    /// Kind (`proposal`, `application`, `complaint`).
    pub kind: String,
    /// Citizen's name.
    pub name: String,
    /// Citizen's phone.
    pub phone: String,
    /// Citizen's address.
    pub address: String,
    /// Citizen's e-mail.
    pub email: String,
    /// The partner's codes.
    pub category: String,
    /// District.
    pub district: String,
    /// Settlement.
    pub settlement: String,
    /// Text.
    pub text: String,
    /// When the partner received it (RFC 3339).
    pub received_at: String,
    /// Anonymous.
    pub anonymous: bool,
    /// Needs further study.
    pub needs_study: bool,
}

impl std::fmt::Debug for ExchangeRecord {
    // The citizen stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExchangeRecord({})", self.external_id)
    }
}

impl ExchangeRecord {
    /// The partner's codes.
    pub fn codes(&self) -> PartnerCodes {
        PartnerCodes {
            category: self.category.clone(),
            district: self.district.clone(),
            settlement: self.settlement.clone(),
        }
    }

    /// The registration card with our codes: received through the national centre, on the day the
    /// partner received it (so the backdate needs no operator's reason: it is the partner's).
    pub fn card(
        &self,
        partner: &str,
        category: String,
        district: String,
        settlement: String,
    ) -> Result<CardInput, DomainError> {
        let received_at = match self.received_at.trim() {
            "" => None,
            at => Some(
                DateTime::parse_from_rfc3339(at)
                    .map_err(|e| {
                        DomainError::invalid("received_at", format!("`{}`: {e}", echo(at)))
                    })?
                    .with_timezone(&Utc),
            ),
        };
        Ok(CardInput {
            kind: AppealKind::from_code(&self.kind),
            channel: Some(Channel::NationalCentre),
            citizen: Citizen {
                name: self.name.clone(),
                phone: self.phone.clone(),
                address: self.address.clone(),
                email: self.email.clone(),
            },
            anonymous: self.anonymous,
            district_code: district,
            settlement_code: settlement,
            category_code: category,
            text: self.text.clone(),
            needs_study: self.needs_study,
            received_at,
            backdate_reason: format!("received by {partner} as {}", self.external_id),
            ..CardInput::default()
        })
    }
}

/// An appeal's link to a partner, written with the change that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeLink {
    /// The partner.
    pub partner: String,
    /// The partner's id of the appeal (for one forwarded up: our number).
    pub external_id: String,
    /// Hex SHA-256 of the record as the partner sent it (empty for one forwarded up).
    pub record_sha256: String,
    /// Which way it went.
    pub direction: Direction,
    /// The held record this registration classifies, if any.
    pub held_id: Option<i64>,
}

coded_enum! {
    /// Which way an appeal crossed.
    Direction {
        /// From the partner to us.
        Incoming = "in",
        /// From us up to the partner (outside the oblast's competence).
        Up = "up",
    }
}

/// True for the events a partner hears of its appeals: where they stand, the answer and how they
/// ended, the notices the citizen was sent, and appeals forwarded up to it.
pub fn partner_hears(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::AppealRegistered
            | EventKind::AppealStatusChanged
            | EventKind::AnswerVerified
            | EventKind::DeadlineExtended
            | EventKind::AppealClosed
            | EventKind::AppealClosedUnconfirmed
            | EventKind::AppealNotConsidered
            | EventKind::AppealContinued
            | EventKind::AnsweredViaIncident
            | EventKind::ForwardedUp
    )
}

impl AppealState {
    /// Forwards an appeal outside the oblast's competence up to `partner` (art. 7): open cases
    /// are cancelled, the appeal closes with the outcome "forwarded", and the citizen is told.
    pub fn forward_up(
        &mut self,
        partner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        self.require_open("forward")?;
        if self.has_answer_on_the_merits() {
            return Err(DomainError::IllegalTransition {
                action: "forward".into(),
                subject: self.subject(),
                current: "answered on the merits here".into(),
            });
        }
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        let mut events = Vec::new();
        self.end_cases(now, &mut events);
        self.appeal.outcome = Some(Outcome::Forwarded);
        events.push(event(
            None,
            EventKind::ForwardedUp,
            json!({ "partner": partner, "reason": reason }),
        ));
        let why = format!("forwarded to {partner}: {reason}");
        self.move_appeal(AppealStatus::Closed, &why, now, &mut events);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::card::tests::now;
    use crate::domain::fixtures::{assigned, kinds, resolved};
    use crate::domain::{CaseStatus, Verdict};

    #[test]
    fn codes_map_or_say_what_is_missing() {
        let lookup = |kind: MapKind, theirs: &str| match (kind, theirs) {
            (MapKind::Category, "UCC-07.01") => Some("07.01".to_string()),
            (MapKind::District, "1210100000") => Some("dniprovskyi".to_string()),
            _ => None,
        };
        let codes = PartnerCodes {
            category: "UCC-07.01".into(),
            district: "1210100000".into(),
            settlement: String::new(),
        };
        assert_eq!(
            map_codes(&codes, lookup),
            Mapped::Ours {
                category: "07.01".into(),
                district: "dniprovskyi".into(),
                settlement: String::new()
            }
        );
        let unknown = PartnerCodes {
            category: "UCC-99".into(),
            settlement: "x".into(),
            ..codes
        };
        let Mapped::Unmapped(missing) = map_codes(&unknown, lookup) else {
            panic!("must be unmapped")
        };
        assert_eq!(missing, ["category `UCC-99`", "settlement `x`"]);
    }

    #[test]
    fn forwarding_up_closes_as_forwarded_only_before_an_answer() {
        let mut s = assigned(&["vodokanal"]);
        let events = s
            .forward_up("ucc", "federal road: outside the oblast", now())
            .unwrap();
        assert_eq!(s.appeal.status, AppealStatus::Closed);
        assert_eq!(s.appeal.outcome, Some(Outcome::Forwarded));
        assert_eq!(s.cases[0].status, CaseStatus::Cancelled);
        assert!(kinds(&events).contains(&"appeal.forwarded_up"));

        let mut answered = assigned(&["vodokanal"]);
        resolved(&mut answered, 10);
        answered.verify(10, Verdict::Accept, "", now()).unwrap();
        let before = answered.clone();
        assert!(answered.forward_up("ucc", "x", now()).is_err());
        assert_eq!(answered, before);
        assert!(check_external("external_id", "a,b").is_err());
    }
}
