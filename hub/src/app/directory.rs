//! The directory's use cases: authorities, districts and settlements, the subject classifier and
//! the classifier's other dimensions. Every entry passes its own checks before anything is looked
//! up, then its relations to the entries it names.

use std::collections::HashMap;

use super::{AppError, AppResult, Hotline};
use crate::domain::text::check_code;
use crate::domain::{
    Authority, Caller, Category, ClassifierEntry, Dimension, District, DomainError,
};
use crate::store::{Store, StoreError};

/// Authority names by code, for showing cases to people.
pub type AuthorityNames = HashMap<String, String>;

impl<S: Store> Hotline<S> {
    async fn checked_authority(&self, a: Authority) -> AppResult<Authority> {
        let a = a.checked()?;
        if !a.district_code.is_empty() {
            let district = self.store.district(&a.district_code).await?;
            a.check_district(district.as_ref())?;
        }
        Ok(a)
    }

    pub(super) async fn existing_authority(&self, code: &str) -> AppResult<Authority> {
        let code = check_code("code", code)?;
        self.store
            .authority(&code)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("authority `{code}`")).into())
    }

    /// Adds an authority (active). Adding the very same authority again answers as the first
    /// time did, so a retry after a lost answer is safe; another authority under a taken code is
    /// `ALREADY_EXISTS`.
    pub async fn create_authority(&self, a: Authority, caller: &Caller) -> AppResult<Authority> {
        let now = self.now();
        let a = self
            .checked_authority(Authority { active: true, ..a })
            .await?;
        let created = self.store.create_authority(&a, caller, now).await;
        self.directory_changed();
        match created {
            Err(StoreError::AlreadyExists(what)) => {
                return match self.store.authority(&a.code).await? {
                    Some(existing) if existing == a => Ok(existing),
                    _ => Err(AppError::AlreadyExists(what)),
                };
            }
            other => other?,
        }
        self.authority_changed(&a.code, true);
        Ok(a)
    }

    /// Changes an authority's name, kind and district; keeps its active flag.
    pub async fn update_authority(&self, a: Authority, caller: &Caller) -> AppResult<Authority> {
        let now = self.now();
        let mut a = self.checked_authority(a).await?;
        a.active = self.existing_authority(&a.code).await?.active;
        self.store.update_authority(&a, caller, now).await?;
        self.directory_changed();
        Ok(a)
    }

    /// Deactivates an authority: no new cases, no access; open cases stay with it until reassigned.
    pub async fn deactivate_authority(&self, code: &str, caller: &Caller) -> AppResult<Authority> {
        let now = self.now();
        let mut a = self.existing_authority(code).await?;
        a.active = false;
        self.store.update_authority(&a, caller, now).await?;
        self.directory_changed();
        self.authority_changed(&a.code, false);
        Ok(a)
    }

    /// Authorities by code.
    pub async fn authorities(&self, include_inactive: bool) -> AppResult<Vec<Authority>> {
        Ok(self.store.list_authorities(include_inactive).await?)
    }

    /// True while `code` names an active authority: its agency certificate is honoured only then.
    pub async fn authority_is_active(&self, code: &str) -> AppResult<bool> {
        Ok(self.store.authority(code).await?.is_some_and(|a| a.active))
    }

    /// Every authority's name by code (deactivated ones included).
    pub async fn authority_names(&self) -> AppResult<AuthorityNames> {
        Ok(self.snapshot().await?.names.clone())
    }

    /// Adds or changes a district or settlement.
    pub async fn upsert_district(&self, d: District, caller: &Caller) -> AppResult<District> {
        let now = self.now();
        let d = d.checked()?;
        if !d.parent_code.is_empty() {
            let parent = self.store.district(&d.parent_code).await?;
            d.check_parent(parent.as_ref())?;
        }
        self.store.upsert_district(&d, caller, now).await?;
        self.directory_changed();
        Ok(d)
    }

    /// Every district and settlement.
    pub async fn districts(&self) -> AppResult<Vec<District>> {
        Ok(self.store.list_districts().await?)
    }

    /// Adds or changes a category.
    pub async fn upsert_category(&self, c: Category, caller: &Caller) -> AppResult<Category> {
        let now = self.now();
        let c = c.checked()?;
        if !c.parent_code.is_empty() {
            let parent = self.store.category(&c.parent_code).await?;
            c.check_parent(parent.as_ref())?;
        }
        self.store.upsert_category(&c, caller, now).await?;
        self.directory_changed();
        Ok(c)
    }

    /// Renames the category `code`, keeping its section and term (an upsert of the same entry
    /// with the new name).
    pub async fn rename_category(
        &self,
        code: &str,
        name: &str,
        caller: &Caller,
    ) -> AppResult<Category> {
        let code = check_code("code", code)?;
        let existing = self
            .store
            .category(&code)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("category `{code}`")))?;
        self.upsert_category(
            Category {
                name: name.to_string(),
                ..existing
            },
            caller,
        )
        .await
    }

    /// The whole classifier.
    pub async fn categories(&self) -> AppResult<Vec<Category>> {
        Ok(self.store.list_categories().await?)
    }

    /// Adds or changes an entry of one of the classifier's other dimensions.
    pub async fn upsert_classifier_entry(
        &self,
        entry: ClassifierEntry,
        caller: &Caller,
    ) -> AppResult<ClassifierEntry> {
        let now = self.now();
        let parent = entry.parent_code.trim().to_string();
        let parent_known = parent.is_empty()
            || self
                .store
                .classifier_entries(Some(entry.dimension))
                .await?
                .iter()
                .any(|e| e.code == parent);
        let entry = entry.checked(parent_known)?;
        self.store.upsert_entry(&entry, caller, now).await?;
        self.directory_changed();
        Ok(entry)
    }

    /// The entries of one dimension, or of all.
    pub async fn classifier_entries(
        &self,
        dimension: Option<Dimension>,
    ) -> AppResult<Vec<ClassifierEntry>> {
        Ok(self.store.classifier_entries(dimension).await?)
    }
}
