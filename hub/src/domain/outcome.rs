//! How an appeal ended on the merits (art. 15, 19 of the Law): the outcome an authority gives its
//! case (checked by the analyst), and the appeal's outcome derived from its cases.
//!
//! The appeal's outcome is the least favourable answer on the merits among its accepted answers —
//! refused, then explained, then resolved — so an appeal counts as resolved positively only when
//! every authority that answered on the merits resolved it. When no case answered on the merits,
//! it is forwarded (art. 7) if any case was, else not within competence. A consultation given on
//! the spot and an appeal continued in a follow-up have outcomes of their own.

use super::text::required_line;
use super::{DomainError, coded_enum};

/// Longest legal reason of a refusal or name of the body an appeal was forwarded to.
const MAX_DETAIL_CHARS: usize = 500;

coded_enum! {
    /// How a case or an appeal ended.
    Outcome {
        /// Resolved positively (вирішено позитивно).
        Resolved = "resolved",
        /// Explained (роз'яснено).
        Explained = "explained",
        /// Refused, with the legal reason (art. 15: a reasoned refusal).
        Refused = "refused",
        /// Forwarded to the competent body (art. 7).
        Forwarded = "forwarded",
        /// Not within the authority's competence.
        NotCompetent = "not_competent",
        /// A consultation given on the spot by the operator: never sent to an authority.
        Consultation = "consultation",
        /// Continued in a linked follow-up appeal (the rework did not fit the legal term).
        Continued = "continued",
    }
}

impl Outcome {
    /// The outcomes an authority may give its case.
    pub const FOR_CASES: &'static [Outcome] = &[
        Self::Resolved,
        Self::Explained,
        Self::Refused,
        Self::Forwarded,
        Self::NotCompetent,
    ];

    /// True for an answer on the merits (art. 8 no longer applies once one exists).
    pub fn on_the_merits(self) -> bool {
        matches!(self, Self::Resolved | Self::Explained | Self::Refused)
    }

    /// True for the outcomes a citizen may disagree with and still see the appeal closed: a lawful
    /// refusal or an explanation (the citizen may complain to a higher body, art. 16).
    pub fn closes_despite_disagreement(self) -> bool {
        matches!(self, Self::Refused | Self::Explained)
    }
}

/// An authority's outcome with what it needs: the legal reason of a refusal, the body an appeal was
/// forwarded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The outcome.
    pub outcome: Outcome,
    /// The refusal's legal reason, or the body it was forwarded to; empty otherwise.
    pub detail: String,
}

impl CaseOutcome {
    /// Checks an authority's outcome: one of [`Outcome::FOR_CASES`]; a refusal names its legal
    /// reason, a forwarding names the body.
    pub fn checked(outcome: Option<Outcome>, detail: &str) -> Result<Self, DomainError> {
        let outcome = outcome.ok_or_else(|| {
            DomainError::invalid(
                "outcome",
                "required: resolved, explained, refused, forwarded or not within competence",
            )
        })?;
        if !Self::allowed(outcome) {
            return Err(DomainError::invalid(
                "outcome",
                format!("`{outcome}` is not an outcome an authority gives"),
            ));
        }
        let detail = match outcome {
            Outcome::Refused => {
                required_line("outcome_detail", detail, MAX_DETAIL_CHARS).map_err(|_| {
                    DomainError::invalid(
                        "outcome_detail",
                        "a refusal states its legal reason (art. 15)",
                    )
                })?
            }
            Outcome::Forwarded => required_line("outcome_detail", detail, MAX_DETAIL_CHARS)
                .map_err(|_| {
                    DomainError::invalid(
                        "outcome_detail",
                        "a forwarding names the competent body (art. 7)",
                    )
                })?,
            _ => String::new(),
        };
        Ok(Self { outcome, detail })
    }

    fn allowed(outcome: Outcome) -> bool {
        Outcome::FOR_CASES.contains(&outcome)
    }
}

/// The appeal's outcome from the outcomes of its accepted answers (see the module's rule).
pub fn appeal_outcome(accepted: impl IntoIterator<Item = Outcome>) -> Option<Outcome> {
    let outcomes: Vec<Outcome> = accepted.into_iter().collect();
    let any = |o: Outcome| outcomes.contains(&o);
    [
        Outcome::Refused,
        Outcome::Explained,
        Outcome::Resolved,
        Outcome::Forwarded,
        Outcome::NotCompetent,
    ]
    .into_iter()
    .find(|o| any(*o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_favourable_answer_on_the_merits_decides() {
        use Outcome::*;
        assert_eq!(appeal_outcome([Resolved, Resolved]), Some(Resolved));
        assert_eq!(appeal_outcome([Resolved, Explained]), Some(Explained));
        assert_eq!(
            appeal_outcome([Explained, Refused, Resolved]),
            Some(Refused)
        );
        assert_eq!(appeal_outcome([Forwarded, Resolved]), Some(Resolved));
        assert_eq!(appeal_outcome([Forwarded, NotCompetent]), Some(Forwarded));
        assert_eq!(appeal_outcome([NotCompetent]), Some(NotCompetent));
        assert_eq!(appeal_outcome([]), None);
    }

    #[test]
    fn refusals_and_forwardings_say_why_and_where() {
        let field = |e: DomainError| match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(CaseOutcome::checked(None, "").unwrap_err()),
            "outcome"
        );
        assert_eq!(
            field(CaseOutcome::checked(Some(Outcome::Refused), " ").unwrap_err()),
            "outcome_detail"
        );
        assert_eq!(
            field(CaseOutcome::checked(Some(Outcome::Forwarded), "").unwrap_err()),
            "outcome_detail"
        );
        assert_eq!(
            field(CaseOutcome::checked(Some(Outcome::Consultation), "").unwrap_err()),
            "outcome"
        );
        let refused =
            CaseOutcome::checked(Some(Outcome::Refused), "ст. 8 Закону: повторне").unwrap();
        assert_eq!(refused.detail, "ст. 8 Закону: повторне");
        let resolved = CaseOutcome::checked(Some(Outcome::Resolved), "ignored").unwrap();
        assert!(resolved.detail.is_empty());
    }
}
