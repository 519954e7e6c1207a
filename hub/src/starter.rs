//! The starter directory: the oblast's districts and main settlements, a category classifier modelled
//! on the national classifier of citizens' appeals, its other dimensions (author categories with the
//! priority ones, social status, sex), and ~120 sample authorities
//! (`hub/starter/directory.toml`, embedded). `hub serve` loads it into an empty database on first
//! start; `hub directory load FILE` loads an edited copy into a running hub.

use serde::Deserialize;

use crate::app::{AppError, AppResult, Hotline, Store};
use crate::domain::{
    Authority, Caller, Category, ClassifierEntry, Dimension, District, DistrictKind, DomainError,
};

/// The embedded starter directory, as text.
pub const STARTER_TOML: &str = include_str!("../starter/directory.toml");

/// A directory file: districts, categories, authorities.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    /// Districts and settlements.
    #[serde(default)]
    pub districts: Vec<DistrictEntry>,
    /// Sections and subjects of the classifier.
    #[serde(default)]
    pub categories: Vec<CategoryEntry>,
    /// Authorities.
    #[serde(default)]
    pub authorities: Vec<AuthorityEntry>,
    /// Entries of the classifier's other dimensions (author category, social status, sex).
    #[serde(default)]
    pub classifier: Vec<ClassifierFileEntry>,
}

/// A classifier entry as the file writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierFileEntry {
    /// `author_category`, `social_status` or `sex`.
    pub dimension: String,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// The entry it refines.
    #[serde(default)]
    pub parent: String,
    /// Appeals of this author category are handled first.
    #[serde(default)]
    pub priority: bool,
}

impl ClassifierFileEntry {
    /// The entry as the directory holds it; the dimension must be one the hub knows.
    pub fn to_entry(&self) -> Result<ClassifierEntry, DomainError> {
        let dimension = Dimension::from_code(&self.dimension).ok_or_else(|| {
            DomainError::invalid(
                "dimension",
                format!(
                    "`{}` is not author_category, social_status or sex",
                    self.dimension
                ),
            )
        })?;
        Ok(ClassifierEntry {
            dimension,
            code: self.code.clone(),
            name: self.name.clone(),
            parent_code: self.parent.clone(),
            priority: self.priority,
        })
    }
}

/// A district or settlement as the file writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictEntry {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `district` or `settlement`.
    pub kind: String,
    /// The district of a settlement.
    #[serde(default)]
    pub parent: String,
}

/// A category as the file writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    /// Code (`07`, `07.01`).
    pub code: String,
    /// Name.
    pub name: String,
    /// The section of a subject.
    #[serde(default)]
    pub parent: String,
    /// Default term in days (15 or 30).
    #[serde(default)]
    pub term_days: i32,
}

/// An authority as the file writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityEntry {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind of body.
    pub kind: String,
    /// District where it sits.
    #[serde(default)]
    pub district: String,
}

impl DistrictEntry {
    /// The entry as the directory holds it; the kind must be `district` or `settlement`.
    pub fn to_district(&self) -> Result<District, DomainError> {
        Ok(District {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: DistrictKind::parse("kind", &self.kind)?,
            parent_code: self.parent.clone(),
        })
    }
}

impl CategoryEntry {
    /// The entry as the directory holds it.
    pub fn to_category(&self) -> Category {
        Category {
            code: self.code.clone(),
            name: self.name.clone(),
            parent_code: self.parent.clone(),
            term_days: self.term_days,
        }
    }
}

impl AuthorityEntry {
    /// The entry as the directory holds it.
    pub fn to_authority(&self) -> Authority {
        Authority {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            district_code: self.district.clone(),
            active: true,
        }
    }
}

impl DirectoryFile {
    /// Parses a directory file and orders it for loading: districts before their settlements,
    /// sections before their subjects.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        let mut file: Self = toml::from_str(text)?;
        file.districts.sort_by_key(|d| !d.parent.is_empty());
        file.categories.sort_by_key(|c| !c.parent.is_empty());
        file.classifier.sort_by_key(|e| !e.parent.is_empty());
        Ok(file)
    }

    /// The embedded starter directory.
    pub fn starter() -> Self {
        Self::parse(STARTER_TOML).expect("the embedded starter directory parses")
    }
}

/// Loads a directory file into the store through the application services (the same checks as the API).
/// Existing authorities are updated.
pub async fn load<S: Store>(
    hotline: &Hotline<S>,
    file: &DirectoryFile,
    caller: &Caller,
) -> AppResult<()> {
    for d in &file.districts {
        hotline.upsert_district(d.to_district()?, caller).await?;
    }
    for c in &file.categories {
        hotline.upsert_category(c.to_category(), caller).await?;
    }
    for e in &file.classifier {
        hotline
            .upsert_classifier_entry(e.to_entry()?, caller)
            .await?;
    }
    for a in &file.authorities {
        match hotline.create_authority(a.to_authority(), caller).await {
            Err(AppError::AlreadyExists(_)) => {
                hotline.update_authority(a.to_authority(), caller).await?;
            }
            other => {
                other?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_directory_is_complete_and_consistent() {
        let file = DirectoryFile::starter();
        assert!(
            file.districts
                .iter()
                .filter(|d| d.kind == "district")
                .count()
                >= 7
        );
        assert!(file.districts.len() >= 30);
        assert!(file.categories.len() >= 40);
        assert_eq!(file.authorities.len(), 120);
        let district = |code: &str| {
            file.districts
                .iter()
                .any(|d| d.code == code && d.kind == "district")
        };
        assert!(file.authorities.iter().all(|a| district(&a.district)));
        assert!(
            file.districts
                .iter()
                .all(|d| d.parent.is_empty() || district(&d.parent))
        );
        assert!(file.districts.iter().all(|d| d.to_district().is_ok()));
        assert!(file.classifier.iter().all(|e| e.to_entry().is_ok()));
        let priority = file
            .classifier
            .iter()
            .filter(|e| e.dimension == "author_category" && e.priority)
            .count();
        assert!(
            priority >= 5,
            "the Law's priority categories are in the starter"
        );
    }
}
