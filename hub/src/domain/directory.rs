//! The directory the rules refer to: districts and settlements, the subject classifier, authorities.
//! Each entry is checked in two steps: its own shape ([`District::checked`] and the like, before
//! anything is looked up) and its relation to the entries it names (`check_parent`, with what the
//! application layer found in the store).

use super::text::{check_code, echo, optional_code, required_line};
use super::{DomainError, coded_enum};

/// Longest directory name, in characters.
const MAX_NAME_CHARS: usize = 200;

coded_enum! {
    /// What a place of the directory is.
    DistrictKind {
        /// A raion of the oblast.
        District = "district",
        /// A settlement within a raion.
        Settlement = "settlement",
    }
}

impl DistrictKind {
    /// Parses the kind named in a request; `field` names it in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        Self::from_code(value.trim()).ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("`{}` is not `district` or `settlement`", echo(value.trim())),
            )
        })
    }
}

/// A district (raion) or a settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct District {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// District or settlement.
    pub kind: DistrictKind,
    /// The district of a settlement; empty for a district.
    pub parent_code: String,
}

impl District {
    /// Checks the entry's own fields: code, name, and that only a settlement has a parent.
    pub fn checked(self) -> Result<Self, DomainError> {
        let d = Self {
            code: check_code("code", &self.code)?,
            name: required_line("name", &self.name, MAX_NAME_CHARS)?,
            kind: self.kind,
            parent_code: optional_code("parent_code", &self.parent_code)?,
        };
        match (d.kind, d.parent_code.is_empty()) {
            (DistrictKind::District, false) => Err(DomainError::invalid(
                "parent_code",
                "a district has no parent",
            )),
            (DistrictKind::Settlement, true) => Err(DomainError::invalid(
                "parent_code",
                "a settlement needs its district",
            )),
            _ => Ok(d),
        }
    }

    /// Checks that a settlement's parent (as found in the directory) is a district.
    pub fn check_parent(&self, parent: Option<&District>) -> Result<(), DomainError> {
        if self.parent_code.is_empty() {
            return Ok(());
        }
        match parent {
            Some(p) if p.kind == DistrictKind::District => Ok(()),
            _ => Err(DomainError::invalid(
                "parent_code",
                format!("unknown district `{}`", self.parent_code),
            )),
        }
    }
}

/// A section or subject of the subject classifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Code (`04`, `04.01`).
    pub code: String,
    /// Name.
    pub name: String,
    /// The section of a subject; empty for a section.
    pub parent_code: String,
    /// Default legal term in days: 15, or 30 for matters that need study (art. 20).
    pub term_days: i32,
}

impl Category {
    /// Checks the entry's own fields; a term of 0 means the default 15 days.
    pub fn checked(self) -> Result<Self, DomainError> {
        let c = Self {
            code: check_code("code", &self.code)?,
            name: required_line("name", &self.name, MAX_NAME_CHARS)?,
            parent_code: optional_code("parent_code", &self.parent_code)?,
            term_days: match self.term_days {
                0 => 15,
                15 | 30 => self.term_days,
                other => {
                    return Err(DomainError::invalid(
                        "term_days",
                        format!("{other} is not 15 or 30 (art. 20)"),
                    ));
                }
            },
        };
        if !c.parent_code.is_empty() && !c.code.starts_with(&format!("{}.", c.parent_code)) {
            return Err(DomainError::invalid(
                "code",
                format!("a subject's code starts with `{}.`", c.parent_code),
            ));
        }
        Ok(c)
    }

    /// Checks that a subject's parent (as found in the directory) is a section.
    pub fn check_parent(&self, parent: Option<&Category>) -> Result<(), DomainError> {
        if self.parent_code.is_empty() {
            return Ok(());
        }
        match parent {
            Some(p) if p.parent_code.is_empty() => Ok(()),
            Some(_) => Err(DomainError::invalid(
                "parent_code",
                "the parent must be a section, not a subject",
            )),
            None => Err(DomainError::invalid(
                "parent_code",
                format!("unknown category `{}`", self.parent_code),
            )),
        }
    }
}

/// A public body that answers cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Code; also the name in its agency certificate (`urn:hotline:agency:<code>`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind of body (`utility`, `city_council`, …): a code, open-ended.
    pub kind: String,
    /// District where it sits; may be empty.
    pub district_code: String,
    /// False once deactivated: no new cases, no access.
    pub active: bool,
}

impl Authority {
    /// Checks the entry's own fields.
    pub fn checked(self) -> Result<Self, DomainError> {
        Ok(Self {
            code: check_code("code", &self.code)?,
            name: required_line("name", &self.name, MAX_NAME_CHARS)?,
            kind: check_code("kind", &self.kind)?,
            district_code: optional_code("district_code", &self.district_code)?,
            active: self.active,
        })
    }

    /// Checks that the authority's district (as found in the directory) is a district.
    pub fn check_district(&self, district: Option<&District>) -> Result<(), DomainError> {
        if self.district_code.is_empty() {
            return Ok(());
        }
        match district {
            Some(d) if d.kind == DistrictKind::District => Ok(()),
            _ => Err(DomainError::invalid(
                "district_code",
                format!("unknown district `{}`", self.district_code),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn district(code: &str, kind: DistrictKind, parent: &str) -> District {
        District {
            code: code.into(),
            name: "Name".into(),
            kind,
            parent_code: parent.into(),
        }
    }

    #[test]
    fn settlements_sit_in_districts() {
        let raion = district("dniprovskyi", DistrictKind::District, "")
            .checked()
            .unwrap();
        let town = district("dnipro", DistrictKind::Settlement, "dniprovskyi")
            .checked()
            .unwrap();
        town.check_parent(Some(&raion)).unwrap();
        assert!(town.check_parent(Some(&town)).is_err());
        assert!(town.check_parent(None).is_err());
        assert!(
            district("x", DistrictKind::District, "y")
                .checked()
                .is_err()
        );
        assert!(
            district("x", DistrictKind::Settlement, "")
                .checked()
                .is_err()
        );
        assert!(DistrictKind::parse("kind", "village").is_err());
    }

    #[test]
    fn subjects_sit_in_sections_and_terms_follow_art_20() {
        let section = Category {
            code: "07".into(),
            name: "Комунальне господарство".into(),
            parent_code: String::new(),
            term_days: 0,
        }
        .checked()
        .unwrap();
        assert_eq!(section.term_days, 15);
        let subject = Category {
            code: "07.01".into(),
            name: "Водопостачання".into(),
            parent_code: "07".into(),
            term_days: 30,
        }
        .checked()
        .unwrap();
        subject.check_parent(Some(&section)).unwrap();
        assert!(subject.check_parent(Some(&subject)).is_err());
        let mut wrong = subject.clone();
        wrong.term_days = 20;
        assert!(wrong.checked().is_err());
        let mut wrong = subject;
        wrong.code = "08.01".into();
        assert!(wrong.checked().is_err());
    }
}
