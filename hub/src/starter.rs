//! The starter directory: the oblast's districts and main settlements, a category classifier modelled
//! on the national classifier of citizens' appeals, and ~120 sample authorities
//! (`hub/starter/directory.toml`, embedded). `hub serve` loads it into an empty database on first
//! start; `hub directory load FILE` loads an edited copy into a running hub.

use serde::Deserialize;

use crate::app::Hotline;
use crate::store::{Authority, Caller, Category, District, Store, StoreError, StoreResult};

/// The embedded starter directory, as text.
pub const STARTER_TOML: &str = include_str!("../starter/directory.toml");

/// A directory file: districts, categories, authorities.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    /// Districts and settlements.
    #[serde(default)]
    pub districts: Vec<District>,
    /// Sections and subjects of the classifier.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Authorities.
    #[serde(default)]
    pub authorities: Vec<Authority>,
}

impl DirectoryFile {
    /// Parses a directory file and orders it for loading: districts before their settlements,
    /// sections before their subjects.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        let mut file: Self = toml::from_str(text)?;
        file.districts.sort_by_key(|d| !d.parent_code.is_empty());
        file.categories.sort_by_key(|c| !c.parent_code.is_empty());
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
) -> StoreResult<()> {
    for d in &file.districts {
        hotline.upsert_district(d, caller).await?;
    }
    for c in &file.categories {
        hotline.upsert_category(c, caller).await?;
    }
    for a in &file.authorities {
        match hotline.create_authority(a, caller).await {
            Err(StoreError::AlreadyExists(_)) => {
                hotline.update_authority(a, caller).await?;
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
        assert!(file.authorities.iter().all(|a| district(&a.district_code)));
        assert!(
            file.districts
                .iter()
                .all(|d| d.parent_code.is_empty() || district(&d.parent_code))
        );
    }
}
