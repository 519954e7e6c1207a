//! The admin's pages: the directory as it stands (authorities, with their district and whether
//! they are active). Only the admin role reaches them, by the API's matrix for the directory's
//! writes.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{ConsoleState, Frame, Signed, app_error, page};
use crate::app::{AppError, Store};

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
    if let Err(refused) = signed.may("hotline.v1.Directory", "CreateAuthority") {
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
