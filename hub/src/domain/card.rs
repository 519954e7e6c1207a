//! The registration card of an appeal: what an operator fills in, and the checks it must pass.
//!
//! References to the directory (district, category, authority, earlier appeal) are looked up by the
//! application layer and handed in as [`CardRefs`], so the checks stay pure.

use chrono::{DateTime, NaiveDate, Utc};

use super::DomainError;
use super::appeal::{AppealKind, AppealStatus, Channel};
use super::classifier::{Dimension, Profile, ProfileInput};
use super::deadline::{self, Term};
use super::directory::DistrictKind;
use super::limits::Limits;
use super::text::{
    bounded_line, bounded_text, echo, normalize_phone, required_line, required_text,
};

/// Longest citizen name, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Longest postal address, in characters.
const MAX_ADDRESS_CHARS: usize = 500;
/// Most signatories of a collective appeal the hub accepts (a sanity bound, not a legal one).
const MAX_SIGNATORIES: i32 = 1_000_000;
/// Clock skew tolerated for a `received_at` slightly in the future.
const FUTURE_SKEW_SECONDS: i64 = 300;

/// The citizen who appealed. Personal data: never logged.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Citizen {
    /// Full name; empty for an anonymous appeal.
    pub name: String,
    /// Phone for the call-back, normalised to `+` and digits.
    pub phone: String,
    /// Postal address; may be empty.
    pub address: String,
    /// E-mail for notices; may be empty.
    pub email: String,
}

impl std::fmt::Debug for Citizen {
    // Personal data never reaches a log, not even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Citizen { .. }")
    }
}

/// The registration card as the operator submits it, before checks.
#[derive(Debug, Clone, Default)]
pub struct CardInput {
    /// Kind; `None` when the request left it unspecified.
    pub kind: Option<AppealKind>,
    /// Channel; `None` when unspecified.
    pub channel: Option<Channel>,
    /// The citizen.
    pub citizen: Citizen,
    /// The citizen gave no name.
    pub anonymous: bool,
    /// Signatories of a collective appeal (0 means 1).
    pub signatories: i32,
    /// Belongs to a benefit category: handled first.
    pub benefit_holder: bool,
    /// District code.
    pub district_code: String,
    /// Settlement code, may be empty.
    pub settlement_code: String,
    /// Category code.
    pub category_code: String,
    /// The appeal's text.
    pub text: String,
    /// The classifier's dimensions and the urgency.
    pub profile: ProfileInput,
    /// The authority a complaint is about; may be empty.
    pub complained_authority_code: String,
    /// Needs further study: one-month term.
    pub needs_study: bool,
    /// A shorter deadline the citizen asked for.
    pub requested_deadline: Option<NaiveDate>,
    /// Number of an earlier appeal this one repeats; may be empty.
    pub repeat_of: String,
    /// The repeat brings new circumstances.
    pub new_circumstances: bool,
    /// When it was received; `None` means now.
    pub received_at: Option<DateTime<Utc>>,
    /// Why `received_at` lies more than the configured window in the past (a letter registered
    /// late, say); required then.
    pub backdate_reason: String,
    /// A call the operator answers on the spot (information, a reference): closed at once with the
    /// outcome "consultation given", never sent to an authority.
    pub consultation: bool,
    /// The citizen agreed that the text may be published as open data.
    pub publishable: bool,
}

/// What the directory says about the card's references; `None` where the code is unknown.
#[derive(Debug, Clone, Default)]
pub struct CardRefs {
    /// The district, if the code is known: (is it a district?).
    pub district: Option<RefDistrict>,
    /// The settlement, if a code was given and is known.
    pub settlement: Option<RefDistrict>,
    /// The category's default term in days, if the code is known.
    pub category_term_days: Option<i32>,
    /// The complained-about authority is known (and active or not).
    pub complained_authority_known: bool,
    /// The earlier appeal, if `repeat_of` names a known one.
    pub repeat_of: Option<RefAppeal>,
    /// An earlier appeal from the same phone about the same category and place within the
    /// configured window, found by the hub: linked as a repeat (without art. 8's consequence, which
    /// only an operator's explicit `repeat_of` carries).
    pub detected_repeat: Option<(i64, String)>,
    /// The classifier's entries the card may name: (dimension, code, priority).
    pub classifier: Vec<(Dimension, String, bool)>,
}

/// A district or settlement as the card needs it.
#[derive(Debug, Clone)]
pub struct RefDistrict {
    /// A district or a settlement.
    pub kind: DistrictKind,
    /// For a settlement, its district.
    pub parent_code: String,
}

/// An earlier appeal as the repeat check needs it.
#[derive(Debug, Clone)]
pub struct RefAppeal {
    /// Its id.
    pub id: i64,
    /// Its status.
    pub status: AppealStatus,
    /// Its citizen's phone (normalised).
    pub phone: String,
    /// Its citizen's name.
    pub name: String,
}

/// A checked registration card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealCard {
    /// Kind.
    pub kind: AppealKind,
    /// Channel.
    pub channel: Channel,
    /// Citizen (phone normalised).
    pub citizen: Citizen,
    /// Anonymous.
    pub anonymous: bool,
    /// Signatories, at least 1.
    pub signatories: i32,
    /// Benefit holder.
    pub benefit_holder: bool,
    /// District code (known).
    pub district_code: String,
    /// Settlement code (known, within the district) or empty.
    pub settlement_code: String,
    /// Category code (known).
    pub category_code: String,
    /// Text, trimmed.
    pub text: String,
    /// The classifier's dimensions, urgency and priority.
    pub profile: Profile,
    /// Complained-about authority code or empty.
    pub complained_authority_code: String,
    /// Needs study.
    pub needs_study: bool,
    /// Id of the appeal this repeats, if any.
    pub repeat_of: Option<i64>,
    /// Number of the appeal this repeats; empty when none.
    pub repeat_of_number: String,
    /// Why it was registered with a receipt time this far in the past; empty when it was not.
    pub backdate_reason: String,
    /// A consultation given on the spot.
    pub consultation: bool,
    /// The text may be published as open data.
    pub publishable: bool,
}

/// The outcome of checking a card: the card, when it was received, its legal deadline, and whether
/// art. 8 ends it as not considered (with the reason).
#[derive(Debug, Clone)]
pub struct CheckedCard {
    /// The card.
    pub card: AppealCard,
    /// When received.
    pub received_at: DateTime<Utc>,
    /// The deadline for its cases.
    pub deadline: NaiveDate,
    /// For an emergency, the instant its cases are due.
    pub due_at: Option<DateTime<Utc>>,
    /// `Some(reason)` when art. 8 excludes it from consideration.
    pub not_considered: Option<String>,
}

/// Longest e-mail address (RFC 5321).
const MAX_EMAIL_CHARS: usize = 254;

/// Checks an optional e-mail address: `local@domain.tld` without spaces; empty stays empty.
pub fn check_email(raw: &str) -> Result<String, DomainError> {
    let email = bounded_line("citizen.email", raw, MAX_EMAIL_CHARS)?;
    if email.is_empty() {
        return Ok(email);
    }
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if ok {
        Ok(email)
    } else {
        Err(DomainError::invalid(
            "citizen.email",
            format!("`{}` is not an e-mail address", echo(&email)),
        ))
    }
}

impl CardInput {
    /// Checks the card against the Law and the directory; `now` is the registration time.
    pub fn check(
        self,
        refs: &CardRefs,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> Result<CheckedCard, DomainError> {
        let kind = self
            .kind
            .ok_or_else(|| DomainError::invalid("kind", "required"))?;
        let channel = self
            .channel
            .ok_or_else(|| DomainError::invalid("channel", "required"))?;
        let text = required_text("text", &self.text, limits.max_text_chars)?;

        let citizen = if self.anonymous {
            if !self.citizen.name.trim().is_empty() {
                return Err(DomainError::invalid(
                    "citizen.name",
                    "must be empty for an anonymous appeal",
                ));
            }
            Citizen {
                name: String::new(),
                phone: match self.citizen.phone.trim() {
                    "" => String::new(),
                    phone => normalize_phone(phone)?,
                },
                address: bounded_text("citizen.address", &self.citizen.address, MAX_ADDRESS_CHARS)?,
                email: check_email(&self.citizen.email)?,
            }
        } else {
            Citizen {
                name: required_line("citizen.name", &self.citizen.name, MAX_NAME_CHARS)?,
                phone: match self.citizen.phone.trim() {
                    "" => return Err(DomainError::invalid("citizen.phone", "required")),
                    phone => normalize_phone(phone)?,
                },
                address: bounded_text("citizen.address", &self.citizen.address, MAX_ADDRESS_CHARS)?,
                email: check_email(&self.citizen.email)?,
            }
        };

        let signatories = match self.signatories {
            0 => 1,
            n if (1..=MAX_SIGNATORIES).contains(&n) => n,
            n => {
                return Err(DomainError::invalid(
                    "signatories",
                    format!("{n} is not between 1 and {MAX_SIGNATORIES}"),
                ));
            }
        };

        let district_code = self.district_code.trim().to_string();
        if district_code.is_empty() {
            return Err(DomainError::invalid("district_code", "required"));
        }
        match &refs.district {
            Some(d) if d.kind == DistrictKind::District => {}
            Some(_) => {
                return Err(DomainError::invalid(
                    "district_code",
                    format!("`{district_code}` is a settlement, not a district"),
                ));
            }
            None => {
                return Err(DomainError::invalid(
                    "district_code",
                    format!("unknown district `{district_code}`"),
                ));
            }
        }
        let settlement_code = self.settlement_code.trim().to_string();
        if !settlement_code.is_empty() {
            match &refs.settlement {
                Some(s) if s.kind == DistrictKind::Settlement && s.parent_code == district_code => {
                }
                Some(_) => {
                    return Err(DomainError::invalid(
                        "settlement_code",
                        format!("`{settlement_code}` is not a settlement of `{district_code}`"),
                    ));
                }
                None => {
                    return Err(DomainError::invalid(
                        "settlement_code",
                        format!("unknown settlement `{settlement_code}`"),
                    ));
                }
            }
        }

        let category_code = self.category_code.trim().to_string();
        if category_code.is_empty() {
            return Err(DomainError::invalid("category_code", "required"));
        }
        let Some(category_term_days) = refs.category_term_days else {
            return Err(DomainError::invalid(
                "category_code",
                format!("unknown category `{category_code}`"),
            ));
        };

        let complained_authority_code = self.complained_authority_code.trim().to_string();
        if !complained_authority_code.is_empty() {
            if kind != AppealKind::Complaint {
                return Err(DomainError::invalid(
                    "complained_authority_code",
                    "only a complaint names a complained-about authority",
                ));
            }
            if !refs.complained_authority_known {
                return Err(DomainError::invalid(
                    "complained_authority_code",
                    format!("unknown authority `{complained_authority_code}`"),
                ));
            }
        }

        let received_at = match self.received_at {
            None => now,
            Some(at) if (at - now).num_seconds() > FUTURE_SKEW_SECONDS => {
                return Err(DomainError::invalid("received_at", "is in the future"));
            }
            Some(at) => at,
        };
        let backdate_reason = bounded_line("backdate_reason", &self.backdate_reason, 500)?;
        let window = chrono::Duration::days(limits.backdate_days);
        if now - received_at > window && backdate_reason.is_empty() {
            return Err(DomainError::invalid(
                "received_at",
                format!(
                    "more than {} days ago: give backdate_reason (why it is registered this late)",
                    limits.backdate_days
                ),
            ));
        }

        let needs_study = self.needs_study || category_term_days > deadline::SHORT_TERM_DAYS as i32;
        let term = if needs_study {
            Term::Month
        } else {
            Term::Short
        };
        let legal = deadline::legal_deadline(received_at, term);
        let deadline = match self.requested_deadline {
            None => legal,
            Some(asked) if asked > legal => {
                return Err(DomainError::invalid(
                    "requested_deadline",
                    format!("{asked} is later than the legal deadline {legal}"),
                ));
            }
            Some(asked) if asked < deadline::kyiv_date(received_at) => {
                return Err(DomainError::invalid(
                    "requested_deadline",
                    format!("{asked} is before the appeal was received"),
                ));
            }
            Some(asked) => asked,
        };

        let mut repeat_of_code = self.repeat_of.trim().to_string();
        let mut not_considered = None;
        let repeat_of = if repeat_of_code.is_empty() {
            refs.detected_repeat.as_ref().map(|(id, number)| {
                repeat_of_code = number.clone();
                *id
            })
        } else {
            let Some(earlier) = &refs.repeat_of else {
                return Err(DomainError::invalid(
                    "repeat_of",
                    format!("unknown appeal `{repeat_of_code}`"),
                ));
            };
            // A repeat is of the same citizen's appeal: the same phone or the same name.
            let same_phone = !citizen.phone.is_empty() && citizen.phone == earlier.phone;
            let same_name = !citizen.name.is_empty()
                && citizen.name.to_lowercase() == earlier.name.trim().to_lowercase();
            if !same_phone && !same_name {
                return Err(DomainError::invalid(
                    "repeat_of",
                    format!("`{repeat_of_code}` is another citizen's appeal"),
                ));
            }
            if earlier.status == AppealStatus::Closed && !self.new_circumstances {
                not_considered = Some(format!(
                    "repeat of {repeat_of_code}, already answered on the merits, with no new circumstances (art. 8)"
                ));
            }
            Some(earlier.id)
        };
        let profile = self.profile.check(
            &refs.classifier,
            repeat_of.is_some(),
            self.benefit_holder,
            signatories > 1,
        )?;
        let (deadline, due_at) = profile.urgency.deadline(received_at, deadline, limits);
        // Only a written anonymous appeal is excluded (art. 8); a call may stay anonymous, and an
        // anonymous consultation is still given.
        if self.anonymous && channel.is_written() && !self.consultation {
            not_considered = Some("anonymous written appeal (art. 8)".to_string());
        }

        Ok(CheckedCard {
            card: AppealCard {
                kind,
                channel,
                citizen,
                anonymous: self.anonymous,
                signatories,
                benefit_holder: self.benefit_holder,
                district_code,
                settlement_code,
                category_code,
                text,
                profile,
                complained_authority_code,
                needs_study,
                repeat_of,
                repeat_of_number: if repeat_of.is_some() {
                    repeat_of_code
                } else {
                    String::new()
                },
                backdate_reason,
                consultation: self.consultation,
                publishable: self.publishable,
            },
            received_at,
            deadline,
            due_at,
            not_considered,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap()
    }

    pub fn input() -> CardInput {
        CardInput {
            kind: Some(AppealKind::Complaint),
            channel: Some(Channel::Phone),
            citizen: Citizen {
                name: "Петренко Ганна".into(),
                phone: "067 123-45-67".into(),
                address: "вул. Центральна, 1".into(),
                email: String::new(),
            },
            district_code: "dniprovskyi".into(),
            settlement_code: "dnipro".into(),
            category_code: "07.01".into(),
            text: "Немає води третій день".into(),
            ..CardInput::default()
        }
    }

    pub fn refs() -> CardRefs {
        CardRefs {
            district: Some(RefDistrict {
                kind: DistrictKind::District,
                parent_code: String::new(),
            }),
            settlement: Some(RefDistrict {
                kind: DistrictKind::Settlement,
                parent_code: "dniprovskyi".into(),
            }),
            category_term_days: Some(15),
            complained_authority_known: true,
            repeat_of: None,
            detected_repeat: None,
            classifier: vec![(
                super::super::classifier::Dimension::AuthorCategory,
                "ubd".into(),
                true,
            )],
        }
    }

    fn field_of(err: DomainError) -> String {
        match err {
            DomainError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_good_card_gets_the_short_term_and_a_normalised_phone() {
        let checked = input().check(&refs(), &Limits::default(), now()).unwrap();
        assert_eq!(checked.card.citizen.phone, "+380671234567");
        assert_eq!(
            checked.deadline,
            NaiveDate::from_ymd_opt(2026, 3, 25).unwrap()
        );
        assert_eq!(checked.card.signatories, 1);
        assert!(checked.not_considered.is_none());
    }

    #[test]
    fn needing_study_gives_one_month() {
        let mut card = input();
        card.needs_study = true;
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        assert_eq!(
            checked.deadline,
            NaiveDate::from_ymd_opt(2026, 4, 10).unwrap()
        );
        let mut r = refs();
        r.category_term_days = Some(30);
        let checked = input().check(&r, &Limits::default(), now()).unwrap();
        assert_eq!(
            checked.deadline,
            NaiveDate::from_ymd_opt(2026, 4, 10).unwrap()
        );
    }

    #[test]
    fn the_citizen_may_ask_for_a_shorter_deadline_but_not_a_longer_one() {
        let mut card = input();
        card.requested_deadline = NaiveDate::from_ymd_opt(2026, 3, 15);
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        assert_eq!(
            checked.deadline,
            NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()
        );
        let mut card = input();
        card.requested_deadline = NaiveDate::from_ymd_opt(2026, 3, 26);
        let err = card.check(&refs(), &Limits::default(), now()).unwrap_err();
        assert_eq!(field_of(err), "requested_deadline");
    }

    #[test]
    fn each_bad_field_is_named() {
        let limits = Limits::default();
        type Spoil = Box<dyn Fn(&mut CardInput, &mut CardRefs)>;
        let cases: Vec<(&str, Spoil)> = vec![
            ("kind", Box::new(|c, _| c.kind = None)),
            ("channel", Box::new(|c, _| c.channel = None)),
            ("text", Box::new(|c, _| c.text = "   ".into())),
            ("text", Box::new(|c, _| c.text = "я".repeat(10_001))),
            (
                "citizen.name",
                Box::new(|c, _| c.citizen.name = String::new()),
            ),
            (
                "citizen.phone",
                Box::new(|c, _| c.citizen.phone = "not a phone".into()),
            ),
            (
                "citizen.phone",
                Box::new(|c, _| c.citizen.phone = String::new()),
            ),
            (
                "citizen.address",
                Box::new(|c, _| c.citizen.address = "a".repeat(501)),
            ),
            ("signatories", Box::new(|c, _| c.signatories = -2)),
            (
                "district_code",
                Box::new(|c, _| c.district_code = String::new()),
            ),
            ("district_code", Box::new(|_, r| r.district = None)),
            ("settlement_code", Box::new(|_, r| r.settlement = None)),
            (
                "settlement_code",
                Box::new(|_, r| r.settlement.as_mut().unwrap().parent_code = "other".into()),
            ),
            (
                "category_code",
                Box::new(|_, r| r.category_term_days = None),
            ),
            (
                "complained_authority_code",
                Box::new(|c, r| {
                    c.complained_authority_code = "x".into();
                    r.complained_authority_known = false;
                }),
            ),
            (
                "complained_authority_code",
                Box::new(|c, _| {
                    c.kind = Some(AppealKind::Proposal);
                    c.complained_authority_code = "x".into();
                }),
            ),
            (
                "received_at",
                Box::new(|c, _| c.received_at = Some(now() + chrono::Duration::hours(1))),
            ),
            (
                "repeat_of",
                Box::new(|c, _| c.repeat_of = "DP-2026-000001".into()),
            ),
        ];
        for (field, spoil) in cases {
            let mut card = input();
            let mut r = refs();
            spoil(&mut card, &mut r);
            assert_eq!(field_of(card.check(&r, &limits, now()).unwrap_err()), field);
        }
    }

    #[test]
    fn anonymous_and_answered_repeats_are_not_considered() {
        let mut card = input();
        card.channel = Some(Channel::Email);
        card.anonymous = true;
        card.citizen.name = String::new();
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        assert!(checked.not_considered.unwrap().contains("anonymous"));

        let mut card = input();
        card.repeat_of = "DP-2026-000001".into();
        let mut r = refs();
        r.repeat_of = Some(RefAppeal {
            id: 1,
            status: AppealStatus::Closed,
            phone: "+380671234567".into(),
            name: String::new(),
        });
        let checked = card.clone().check(&r, &Limits::default(), now()).unwrap();
        assert!(checked.not_considered.unwrap().contains("art. 8"));
        assert_eq!(checked.card.repeat_of, Some(1));

        card.new_circumstances = true;
        let checked = card.clone().check(&r, &Limits::default(), now()).unwrap();
        assert!(checked.not_considered.is_none());

        card.new_circumstances = false;
        r.repeat_of = Some(RefAppeal {
            id: 1,
            status: AppealStatus::InProgress,
            phone: String::new(),
            name: "петренко ганна".into(),
        });
        let checked = card.check(&r, &Limits::default(), now()).unwrap();
        assert!(
            checked.not_considered.is_none(),
            "a repeat of an open appeal is considered (linked)"
        );
    }

    #[test]
    fn a_repeat_is_of_the_same_citizens_appeal() {
        let mut card = input();
        card.repeat_of = "DP-2026-000001".into();
        let mut r = refs();
        r.repeat_of = Some(RefAppeal {
            id: 1,
            status: AppealStatus::InProgress,
            phone: "+380500000000".into(),
            name: "Інша Особа".into(),
        });
        assert_eq!(
            field_of(card.check(&r, &Limits::default(), now()).unwrap_err()),
            "repeat_of"
        );
    }

    #[test]
    fn only_a_written_anonymous_appeal_is_not_considered() {
        let mut card = input();
        card.anonymous = true;
        card.citizen.name = String::new();
        card.channel = Some(Channel::Phone);
        let checked = card
            .clone()
            .check(&refs(), &Limits::default(), now())
            .unwrap();
        assert!(
            checked.not_considered.is_none(),
            "an anonymous call is heard"
        );
        card.channel = Some(Channel::Post);
        card.consultation = true;
        let checked = card
            .clone()
            .check(&refs(), &Limits::default(), now())
            .unwrap();
        assert!(
            checked.not_considered.is_none(),
            "a consultation is still given"
        );
        card.consultation = false;
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        assert!(checked.not_considered.is_some());
    }

    #[test]
    fn back_dating_needs_a_reason_and_emails_a_shape() {
        let mut card = input();
        card.received_at = Some(now() - chrono::Duration::days(5));
        assert_eq!(
            field_of(
                card.clone()
                    .check(&refs(), &Limits::default(), now())
                    .unwrap_err()
            ),
            "received_at"
        );
        card.backdate_reason = "a letter registered after the holidays".into();
        assert!(card.check(&refs(), &Limits::default(), now()).is_ok());
        let mut card = input();
        card.citizen.email = "not an address".into();
        assert_eq!(
            field_of(
                card.clone()
                    .check(&refs(), &Limits::default(), now())
                    .unwrap_err()
            ),
            "citizen.email"
        );
        card.citizen.email = " ganna@example.org ".into();
        let checked = card.check(&refs(), &Limits::default(), now()).unwrap();
        assert_eq!(checked.card.citizen.email, "ganna@example.org");
    }
}
