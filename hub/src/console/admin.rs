//! The admin's pages: the directory's authorities — listed with their district and whether they
//! are active, added, deactivated (its streams end, its calls are refused). Only the admin role
//! reaches them, by the API's matrix for the directory's writes; each change is in the audit trail
//! with the admin who made it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ConsoleState, Frame, Signed, app_error, page};
use crate::app::{AppError, Store};
use crate::domain::Authority;

const DIRECTORY: &str = "hotline.v1.Directory";

/// An authority's line.
#[derive(Debug, Clone)]
pub struct AuthorityRow {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// District code.
    pub district: String,
    /// Active (deactivated ones receive nothing).
    pub active: bool,
}

/// The directory page.
#[derive(Debug, Template)]
#[template(path = "admin.html")]
struct DirectoryPage {
    frame: Frame,
    authorities: Vec<AuthorityRow>,
    districts: usize,
    categories: usize,
}

/// `GET /admin`
pub async fn directory<S: Store>(State(state): State<ConsoleState<S>>, signed: Signed) -> Response {
    if let Err(refused) = signed.may(DIRECTORY, "CreateAuthority") {
        return refused;
    }
    let frame = signed.frame("Довідник", "/admin");
    let hotline = &state.hotline;
    let loaded = async {
        Ok::<_, AppError>((
            hotline.authorities(true).await?,
            hotline.districts().await?.len(),
            hotline.categories().await?.len(),
        ))
    }
    .await;
    match loaded {
        Ok((authorities, districts, categories)) => page(
            StatusCode::OK,
            &DirectoryPage {
                frame,
                authorities: authorities
                    .into_iter()
                    .map(|a| AuthorityRow {
                        code: a.code,
                        name: a.name,
                        kind: a.kind,
                        district: a.district_code,
                        active: a.active,
                    })
                    .collect(),
                districts,
                categories,
            },
        ),
        Err(err) => app_error(frame, err),
    }
}

/// The add-an-authority form and the deactivate button.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthorityForm {
    csrf: String,
    code: String,
    name: String,
    kind: String,
    district: String,
}

/// `POST /admin/authorities`: adds an authority.
pub async fn add<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    axum::Form(form): axum::Form<AuthorityForm>,
) -> Response {
    let caller = match signed.may(DIRECTORY, "CreateAuthority") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let authority = Authority {
        code: form.code,
        name: form.name,
        kind: form.kind,
        district_code: form.district,
        active: true,
    };
    match state.hotline.create_authority(authority, &caller).await {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(err) => app_error(signed.frame("Довідник", "/admin"), err),
    }
}

/// `POST /admin/authorities/{code}/deactivate`
pub async fn deactivate<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<AuthorityForm>,
) -> Response {
    let caller = match signed.may(DIRECTORY, "DeactivateAuthority") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    match state.hotline.deactivate_authority(&code, &caller).await {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(err) => app_error(signed.frame("Довідник", "/admin"), err),
    }
}
