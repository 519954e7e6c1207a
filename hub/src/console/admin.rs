//! The admin's pages: the subject classifier — its categories listed, added under a section and
//! renamed, the server's message beside the field it names; the directory's authorities — listed
//! with their district and whether they are active, added, deactivated (its streams end, its calls
//! are refused) — and their client
//! certificates, issued (the bundle offered once, on the receipt page) and revoked by the hub's own
//! CA in its PKI directory. Only the admin role reaches them, by the API's matrix for the
//! directory's writes; each change is in the audit trail with the admin who made it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ConsoleState, Frame, Signed, app_error, page};
use crate::app::certificates::AuthorityCertificate;
use crate::app::{AppError, Store};
use crate::domain::{Authority, Caller, Category, DomainError};

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
    /// Its current certificate's serial (empty when it has none).
    pub serial: String,
    /// That certificate is on the CRL.
    pub revoked: bool,
}

/// The directory page.
#[derive(Debug, Template)]
#[template(path = "admin.html")]
struct DirectoryPage {
    frame: Frame,
    authorities: Vec<AuthorityRow>,
    districts: usize,
    /// The classifier, sections and their subjects in code order.
    categories: Vec<Category>,
    /// The hub's PKI directory is known: certificates can be issued here.
    pki: bool,
    /// A classifier form the server refused.
    refused: Refused,
}

impl DirectoryPage {
    /// The sections: the categories a subject may be added under.
    fn sections(&self) -> Vec<&Category> {
        self.categories
            .iter()
            .filter(|c| c.parent_code.is_empty())
            .collect()
    }

    /// The server's message for `field` of the add-a-category form, or empty.
    fn error_for(&self, field: &str) -> String {
        if self.refused.rename.is_some() {
            return String::new();
        }
        self.refused
            .errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The server's message for the renaming of `code`, or empty.
    fn rename_error(&self, code: &str) -> String {
        match &self.refused.rename {
            Some((renamed, _)) if renamed == code => self
                .refused
                .errors
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            _ => String::new(),
        }
    }

    /// The name to show in the rename field of `category`: the refused one, or its own.
    fn rename_value(&self, category: &Category) -> String {
        match &self.refused.rename {
            Some((renamed, name)) if *renamed == category.code => name.clone(),
            _ => category.name.clone(),
        }
    }
}

/// What the server refused in a classifier form, to show beside its fields.
#[derive(Debug, Default)]
struct Refused {
    /// The add-a-category form as it was sent.
    category: CategoryForm,
    /// The category whose renaming was refused, and the name that was sent.
    rename: Option<(String, String)>,
    /// (field, message).
    errors: Vec<(String, String)>,
}

/// `GET /admin`
pub async fn directory<S: Store>(State(state): State<ConsoleState<S>>, signed: Signed) -> Response {
    if let Err(refused) = signed.may(DIRECTORY, "CreateAuthority") {
        return refused;
    }
    directory_page(&state, &signed, StatusCode::OK, Refused::default()).await
}

/// The directory page, with a refused classifier form's messages.
async fn directory_page<S: Store>(
    state: &ConsoleState<S>,
    signed: &Signed,
    status: StatusCode,
    refused: Refused,
) -> Response {
    let frame = signed.frame("Довідник", "/admin");
    let hotline = &state.hotline;
    let loaded = async {
        let certificates = match &state.pki {
            Some(dir) => hotline.authority_certificates(dir).await?,
            None => Vec::new(),
        };
        Ok::<_, AppError>((
            hotline.authorities(true).await?,
            hotline.districts().await?.len(),
            hotline.categories().await?,
            certificates,
        ))
    }
    .await;
    match loaded {
        Ok((authorities, districts, mut categories, certificates)) => page(
            status,
            &DirectoryPage {
                frame,
                authorities: authorities
                    .into_iter()
                    .map(|a| {
                        let held = certificates.iter().find(|c| c.authority == a.code);
                        AuthorityRow {
                            serial: held.map(|c| c.info.serial.clone()).unwrap_or_default(),
                            revoked: held.is_some_and(|c| c.revoked),
                            code: a.code,
                            name: a.name,
                            kind: a.kind,
                            district: a.district_code,
                            active: a.active,
                        }
                    })
                    .collect(),
                districts,
                categories: {
                    categories.sort_by(|a, b| a.code.cmp(&b.code));
                    categories
                },
                pki: state.pki.is_some(),
                refused,
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

/// The receipt of an issued certificate, with its bundle offered for download.
#[derive(Debug, Template)]
#[template(path = "certificate.html")]
struct IssuedPage {
    frame: Frame,
    certificate: AuthorityCertificate,
    file_name: String,
    /// The bundle as a `data:` URL: the key is in this one response and kept nowhere else.
    href: String,
}

/// Only the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// The caller of a certificate action: the admin (by the matrix for the directory's writes), with
/// the `hub pki` command it stands for in the audit trail.
#[allow(clippy::result_large_err)] // the refusal is the page itself, as in `Signed::may`
fn pki_caller(signed: &Signed, csrf: &str, command: &str) -> Result<Caller, Response> {
    let mut caller = signed.may(DIRECTORY, "CreateAuthority")?;
    signed.check_csrf(csrf)?;
    caller.rpc = format!("console:hub pki {command}");
    Ok(caller)
}

/// The 404 page when the hub serves without its own CA (certificates come from elsewhere).
fn no_pki(signed: &Signed) -> Response {
    super::error_page(
        StatusCode::NOT_FOUND,
        signed.frame("Сертифікати", "/admin"),
        "Сертифікати видає не хаб",
        "Хаб працює з сертифікатами зовнішнього центру сертифікації (--tls-cert, --client-ca): \
         видавайте й відкликайте їх там.",
    )
}

/// Percent-encodes `text` for a `data:` URL.
fn data_url(mime: &str, text: &str) -> String {
    let mut href = format!("data:{mime};charset=utf-8,");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.+/=".contains(&byte) {
            href.push(char::from(byte));
        } else {
            href.push_str(&format!("%{byte:02X}"));
        }
    }
    href
}

/// `POST /admin/authorities/{code}/certificate`: issues the authority's certificate and shows it
/// once, with the bundle (certificate, key, CA) to download.
pub async fn issue_certificate<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    let caller = match pki_caller(&signed, &form.csrf, "issue agency") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let Some(dir) = &state.pki else {
        return no_pki(&signed);
    };
    let frame = signed.frame("Сертифікат видано", "/admin");
    match state
        .hotline
        .issue_authority_certificate(dir, &code, &caller)
        .await
    {
        Ok(issued) => page(
            StatusCode::OK,
            &IssuedPage {
                frame,
                href: data_url("application/x-pem-file", &issued.bundle_pem),
                file_name: issued.file_name,
                certificate: issued.certificate,
            },
        ),
        Err(err) => app_error(frame, err),
    }
}

/// `POST /admin/authorities/{code}/certificate/revoke`: puts the authority's certificate on the CRL.
pub async fn revoke_certificate<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    let caller = match pki_caller(&signed, &form.csrf, "revoke") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let Some(dir) = &state.pki else {
        return no_pki(&signed);
    };
    match state
        .hotline
        .revoke_authority_certificate(dir, &code, &caller)
        .await
    {
        Ok(_) => Redirect::to("/admin").into_response(),
        Err(err) => app_error(signed.frame("Довідник", "/admin"), err),
    }
}

/// The add-a-category form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CategoryForm {
    csrf: String,
    code: String,
    name: String,
    /// The section's code; empty for a new section.
    parent: String,
    /// `15` or `30`.
    term: String,
}

/// `POST /admin/categories`: adds a category (a section, or a subject under one).
pub async fn add_category<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    axum::Form(form): axum::Form<CategoryForm>,
) -> Response {
    let caller = match signed.may(DIRECTORY, "UpsertCategory") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let refuse = |errors| Refused {
        category: form.clone(),
        rename: None,
        errors,
    };
    let term_days = match form.term.trim() {
        "" => 0,
        term => match term.parse::<i32>() {
            Ok(days) => days,
            Err(_) => {
                let errors = vec![("term_days".to_string(), "має бути 15 або 30".to_string())];
                return directory_page(
                    &state,
                    &signed,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    refuse(errors),
                )
                .await;
            }
        },
    };
    let category = Category {
        code: form.code.trim().to_string(),
        name: form.name.clone(),
        parent_code: form.parent.trim().to_string(),
        term_days,
    };
    match state.hotline.upsert_category(category, &caller).await {
        Ok(_) => Redirect::to("/admin#classifier").into_response(),
        Err(AppError::Domain(DomainError::Invalid { field, reason })) => {
            directory_page(
                &state,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                refuse(vec![(field, reason)]),
            )
            .await
        }
        Err(err) => app_error(signed.frame("Довідник", "/admin"), err),
    }
}

/// The rename form of one category.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RenameForm {
    csrf: String,
    name: String,
}

/// `POST /admin/categories/{code}/rename`: renames a category; its section and term stay.
pub async fn rename_category<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<RenameForm>,
) -> Response {
    let caller = match signed.may(DIRECTORY, "UpsertCategory") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    match state
        .hotline
        .rename_category(&code, &form.name, &caller)
        .await
    {
        Ok(_) => Redirect::to("/admin#classifier").into_response(),
        Err(AppError::Domain(DomainError::Invalid { field, reason })) => {
            let refused = Refused {
                category: CategoryForm::default(),
                rename: Some((code, form.name)),
                errors: vec![(field, reason)],
            };
            directory_page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, refused).await
        }
        Err(err) => app_error(signed.frame("Довідник", "/admin"), err),
    }
}
