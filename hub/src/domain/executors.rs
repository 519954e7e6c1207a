//! Several authorities on one appeal: one lead executor (відповідальний виконавець) and
//! co-executors. Co-executors answer their part to the hub and to the lead; the lead submits the
//! consolidated answer once every co-executor's part is in; the analyst may return one part
//! without reopening the others.
//!
//! Roles follow the live cases: a single one is `sole`; with several, the analyst names the lead
//! (by default the first authority assigned) and the rest are co-executors. A reassigned lead's
//! successor leads.

use serde_json::json;

use super::DomainError;
use super::appeal::AppealState;
use super::case::{CaseRole, CaseStatus};
use super::event::{CaseEvent, EventKind, event};

impl AppealState {
    /// Index of the live lead case, if any.
    pub fn lead_case(&self) -> Option<usize> {
        self.cases
            .iter()
            .position(|c| c.role == CaseRole::Lead && !c.status.is_final())
    }

    /// Settles the roles of the live cases after an assignment or reassignment: `lead` names the
    /// authority to lead (it must hold a live case), else the current lead stays, else the first
    /// live case leads. Returns a `case.role_changed` event for each case whose part changed.
    pub(crate) fn settle_roles(
        &mut self,
        lead: Option<&str>,
        field: &str,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let live: Vec<usize> = (0..self.cases.len())
            .filter(|i| !self.cases[*i].status.is_final())
            .collect();
        let lead_index = match lead.map(str::trim).filter(|l| !l.is_empty()) {
            Some(code) => Some(
                live.iter()
                    .copied()
                    .find(|i| self.cases[*i].authority_code == code)
                    .ok_or_else(|| {
                        DomainError::invalid(
                            field,
                            format!("`{code}` has no case on this appeal to lead"),
                        )
                    })?,
            ),
            None => self.lead_case().or(live.first().copied()),
        };
        let mut events = Vec::new();
        for &i in &live {
            let role = if live.len() < 2 {
                CaseRole::Sole
            } else if Some(i) == lead_index {
                CaseRole::Lead
            } else {
                CaseRole::CoExecutor
            };
            let case = &mut self.cases[i];
            if case.role != role {
                // A brand-new case announces its part with its assignment.
                let announced = case.id != 0 || case.role != CaseRole::Sole;
                case.role = role;
                if announced {
                    events.push(event(
                        Some(i),
                        EventKind::RoleChanged,
                        json!({ "role": role.code() }),
                    ));
                }
            }
        }
        Ok(events)
    }

    /// Refuses the lead's consolidated answer while a co-executor's part is missing.
    pub(crate) fn check_parts_in(&self, i: usize) -> Result<(), DomainError> {
        if self.cases[i].role != CaseRole::Lead {
            return Ok(());
        }
        let missing: Vec<&str> = self
            .cases
            .iter()
            .filter(|c| c.role == CaseRole::CoExecutor && !c.status.is_final())
            .filter(|c| !matches!(c.status, CaseStatus::Resolved | CaseStatus::Verified))
            .map(|c| c.authority_code.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(DomainError::IllegalTransition {
            action: "submit the consolidated answer of".into(),
            subject: format!("case {}", self.cases[i].id),
            current: format!(
                "waiting for the co-executors' parts: {}",
                missing.join(", ")
            ),
        })
    }

    /// Tells the lead (an event on its case) that co-executor case `i` submitted or had returned
    /// its part.
    pub(crate) fn tell_lead(&self, i: usize, kind: EventKind) -> Option<CaseEvent> {
        if self.cases[i].role != CaseRole::CoExecutor {
            return None;
        }
        let lead = self.lead_case()?;
        let part = &self.cases[i];
        Some(event(
            Some(lead),
            kind,
            json!({
                "co_executor": part.authority_code,
                "case_id": part.id,
                "outcome": part.outcome.map(|o| o.code()),
            }),
        ))
    }

    /// The lead's answer, when the appeal has a lead whose answer was accepted: the consolidated
    /// answer that speaks for the appeal.
    pub fn consolidated_answer(&self) -> Option<usize> {
        self.cases.iter().position(|c| {
            c.role == CaseRole::Lead
                && matches!(c.status, CaseStatus::Verified | CaseStatus::Closed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::card::tests::now;
    use crate::domain::fixtures::{
        assigned, authority, kinds, resolved, resolved_outcome, working,
    };
    use crate::domain::{Limits, Outcome, Verdict};

    #[test]
    fn several_authorities_have_one_lead_and_the_lead_answers_last() {
        let mut s = assigned(&["vodokanal", "city-council", "heating"]);
        let roles: Vec<CaseRole> = s.cases.iter().map(|c| c.role).collect();
        assert_eq!(
            roles,
            [CaseRole::Lead, CaseRole::CoExecutor, CaseRole::CoExecutor],
            "the first assigned leads by default"
        );
        // The lead cannot consolidate while a part is missing; nothing changes.
        for id in [10, 11] {
            working(&mut s, id);
        }
        let before = s.clone();
        let err = s
            .resolve(
                10,
                "all done",
                "",
                resolved_outcome(),
                &Limits::default(),
                now(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("city-council, heating"), "{err}");
        assert_eq!(s, before);
        // A co-executor's part reaches the lead as an event on the lead's case.
        let events = s
            .resolve(
                11,
                "council part",
                "",
                resolved_outcome(),
                &Limits::default(),
                now(),
            )
            .unwrap();
        assert_eq!(
            kinds(&events)[..2],
            ["case.resolved", "case.part_submitted"]
        );
        assert_eq!(events[1].case, Some(0));
        resolved(&mut s, 12);
        s.resolve(
            10,
            "all done",
            "",
            resolved_outcome(),
            &Limits::default(),
            now(),
        )
        .unwrap();
        // The analyst returns one part without reopening the others; the lead hears of it.
        let events = s.verify(11, Verdict::Return, "no date", now()).unwrap();
        assert!(kinds(&events).contains(&"case.part_returned"));
        assert_eq!(s.cases[0].status, CaseStatus::Resolved);
        assert_eq!(s.cases[2].status, CaseStatus::Resolved);
    }

    #[test]
    fn the_lead_can_be_named_and_its_consolidated_answer_speaks_for_the_appeal() {
        let mut s = assigned(&["vodokanal"]);
        assert_eq!(s.cases[0].role, CaseRole::Sole);
        s.cases[0].id = 10;
        let events = s
            .assign(
                &[(authority("city-council"), None)],
                Some("city-council"),
                now(),
            )
            .unwrap();
        assert!(
            kinds(&events).contains(&"case.role_changed"),
            "the sole case becomes co"
        );
        assert_eq!(s.cases[0].role, CaseRole::CoExecutor);
        assert_eq!(s.cases[1].role, CaseRole::Lead);
        let mut bad = s.clone();
        assert!(
            bad.settle_roles(Some("nobody"), "lead_authority_code")
                .is_err()
        );

        s.cases[1].id = 11;
        working(&mut s, 10);
        working(&mut s, 11);
        s.resolve(
            10,
            "part",
            "",
            resolved_outcome(),
            &Limits::default(),
            now(),
        )
        .unwrap();
        let explained = crate::domain::CaseOutcome::checked(Some(Outcome::Explained), "").unwrap();
        s.resolve(11, "consolidated", "", explained, &Limits::default(), now())
            .unwrap();
        s.verify(10, Verdict::Accept, "", now()).unwrap();
        s.verify(11, Verdict::Accept, "", now()).unwrap();
        assert_eq!(s.consolidated_answer(), Some(1));
        assert_eq!(
            s.derived_outcome(),
            Some(Outcome::Explained),
            "the lead's outcome"
        );
        let text = crate::domain::notice::answers_text(&s);
        assert!(
            text.contains("consolidated") && !text.contains("part"),
            "{text}"
        );
    }
}
