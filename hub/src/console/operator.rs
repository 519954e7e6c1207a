//! The operator's registration form: the Law's card fields and the classifier's dimensions,
//! district and settlement pickers, category search by words, the server's messages beside the
//! field they name; and, while the phone is typed, the caller's earlier appeals.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::words::{self, request_id};
use super::{ConsoleState, Frame, Signed, app_error, kyiv_time, page};
use crate::app::{AppError, Store};
use crate::domain::card::CardInput;
use crate::domain::classifier::ProfileInput;
use crate::domain::{
    AppealKind, Channel, Citizen, Dimension, DistrictKind, DomainError, Sign, Urgency,
};

const REGISTRY: &str = "hotline.v1.AppealRegistry";

/// A choice of a `<select>` or a `<datalist>`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Its code.
    pub code: String,
    /// What the operator reads.
    pub label: String,
    /// The district it belongs to (settlements), for the picker's filter.
    pub group: String,
}

/// The registration form as typed (every field a string, so a refused form comes back as it was).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegisterForm {
    csrf: String,
    request_id: String,
    phone: String,
    name: String,
    address: String,
    email: String,
    anonymous: bool,
    kind: String,
    channel: String,
    district: String,
    settlement: String,
    category: String,
    text: String,
    author_category: String,
    social_status: String,
    sex: String,
    urgency: String,
    needs_study: bool,
    consultation: bool,
    publishable: bool,
}

/// The registration page.
#[derive(Debug, Template)]
#[template(path = "register.html")]
struct RegisterPage {
    frame: Frame,
    form: RegisterForm,
    /// (field, message) from the server; shown beside the field.
    errors: Vec<(String, String)>,
    districts: Vec<Choice>,
    settlements: Vec<Choice>,
    categories: Vec<Choice>,
    author_categories: Vec<Choice>,
    social_statuses: Vec<Choice>,
    sexes: Vec<Choice>,
}

impl RegisterPage {
    /// The server's message for `field`, or empty.
    fn error_for(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Every message, with the id of the input it names (empty when it names none of the form's):
    /// the summary at the top of a refused form, each linked to its field.
    fn summary(&self) -> Vec<(String, String)> {
        const FIELDS: &[(&str, &str)] = &[
            ("citizen.phone", "phone"),
            ("citizen.name", "name"),
            ("citizen.address", "address"),
            ("citizen.email", "email"),
            ("kind", "kind"),
            ("district_code", "district"),
            ("settlement_code", "settlement"),
            ("category_code", "category"),
            ("text", "text"),
            ("author_categories", "author_category"),
            ("social_status", "social_status"),
            ("sex", "sex"),
            ("urgency", "urgency"),
        ];
        self.errors
            .iter()
            .map(|(field, message)| {
                let anchor = FIELDS
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, id)| id.to_string())
                    .unwrap_or_default();
                (anchor, format!("{field}: {message}"))
            })
            .collect()
    }
}

async fn register_form<S: Store>(
    state: &ConsoleState<S>,
    signed: &Signed,
    form: RegisterForm,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Response {
    let frame = signed.frame("Реєстрація звернення", "/operator/register");
    let hotline = &state.hotline;
    let loaded = async {
        let places = hotline.districts().await?;
        let categories = hotline.categories().await?;
        let entries = hotline.classifier_entries(None).await?;
        Ok::<_, AppError>((places, categories, entries))
    }
    .await;
    let (places, categories, entries) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_error(frame, err),
    };
    let choice = |code: &str, label: &str, group: &str| Choice {
        code: code.to_string(),
        label: label.to_string(),
        group: group.to_string(),
    };
    let of = |dimension: Dimension| {
        entries
            .iter()
            .filter(|e| e.dimension == dimension)
            .map(|e| choice(&e.code, &e.name, ""))
            .collect()
    };
    let mut form = form;
    if form.request_id.is_empty() {
        form.request_id = uuid::Uuid::new_v4().to_string();
    }
    page(
        status,
        &RegisterPage {
            frame,
            form,
            errors,
            districts: places
                .iter()
                .filter(|d| d.kind == DistrictKind::District)
                .map(|d| choice(&d.code, &d.name, ""))
                .collect(),
            settlements: places
                .iter()
                .filter(|d| d.kind == DistrictKind::Settlement)
                .map(|d| choice(&d.code, &d.name, &d.parent_code))
                .collect(),
            categories: categories
                .iter()
                .filter(|c| !c.parent_code.is_empty())
                .map(|c| choice(&c.code, &format!("{} {}", c.code, c.name), ""))
                .collect(),
            author_categories: of(Dimension::AuthorCategory),
            social_statuses: of(Dimension::SocialStatus),
            sexes: of(Dimension::Sex),
        },
    )
}

/// `GET /operator/register`
pub async fn register_page<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
) -> Response {
    if let Err(refused) = signed.may(REGISTRY, "RegisterAppeal") {
        return refused;
    }
    let form = RegisterForm {
        kind: AppealKind::Application.code().into(),
        channel: Channel::Phone.code().into(),
        ..RegisterForm::default()
    };
    register_form(&state, &signed, form, Vec::new(), StatusCode::OK).await
}

/// The card the form describes; a refused value is named by the field the API would name.
fn card(form: &RegisterForm) -> Result<CardInput, DomainError> {
    let kind = AppealKind::from_code(&form.kind)
        .ok_or_else(|| DomainError::invalid("kind", "оберіть вид звернення"))?;
    let channel = Channel::from_code(&form.channel).unwrap_or(Channel::Phone);
    let urgency = match form.urgency.as_str() {
        "" => None,
        code => Some(
            Urgency::from_code(code)
                .ok_or_else(|| DomainError::invalid("urgency", "невідома терміновість"))?,
        ),
    };
    Ok(CardInput {
        kind: Some(kind),
        channel: Some(channel),
        citizen: Citizen {
            name: form.name.clone(),
            phone: form.phone.clone(),
            address: form.address.clone(),
            email: form.email.clone(),
        },
        anonymous: form.anonymous,
        signatories: 0,
        benefit_holder: false,
        district_code: form.district.clone(),
        settlement_code: form.settlement.clone(),
        category_code: form
            .category
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        text: form.text.clone(),
        profile: ProfileInput {
            sign: None::<Sign>,
            author_categories: form
                .author_category
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            social_status: form.social_status.clone(),
            sex: form.sex.clone(),
            contact_person: String::new(),
            urgency,
        },
        complained_authority_code: String::new(),
        needs_study: form.needs_study,
        requested_deadline: None,
        repeat_of: String::new(),
        new_circumstances: false,
        received_at: None,
        backdate_reason: String::new(),
        consultation: form.consultation,
        publishable: form.publishable,
    })
}

/// `POST /operator/register`
pub async fn register<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    axum::Form(form): axum::Form<RegisterForm>,
) -> Response {
    let caller = match signed.may(REGISTRY, "RegisterAppeal") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let refused = |field: String, reason: String| (field, reason);
    let input = match card(&form) {
        Ok(input) => input,
        Err(DomainError::Invalid { field, reason }) => {
            let errors = vec![refused(field, reason)];
            return register_form(
                &state,
                &signed,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => return app_error(signed.frame("Реєстрація", ""), other.into()),
    };
    let fingerprint = RegisterForm {
        csrf: String::new(),
        ..form.clone()
    };
    let id = request_id(&form.request_id, &fingerprint);
    match state.hotline.register(input, &caller, &id).await {
        Ok(view) => {
            let number = &view.state.appeal.number;
            tracing::info!(%number, "console: appeal registered");
            Redirect::to(&format!("/appeals/{number}?registered=1")).into_response()
        }
        Err(AppError::Domain(DomainError::Invalid { field, reason })) => {
            let errors = vec![refused(field, reason)];
            register_form(
                &state,
                &signed,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(err) => app_error(signed.frame("Реєстрація", "/operator/register"), err),
    }
}

/// What the phone field asks while the operator types.
#[derive(Debug, Deserialize)]
pub struct HintQuery {
    #[serde(default)]
    phone: String,
}

/// One earlier appeal of the caller.
#[derive(Debug, Clone)]
pub struct HintRow {
    /// Its number.
    pub number: String,
    /// Its status in words.
    pub status: String,
    /// Category code.
    pub category: String,
    /// District code.
    pub district: String,
    /// Received (Kyiv).
    pub received: String,
    /// Still open: a new call about it is a repeat, or a duplicate.
    pub open: bool,
}

/// The hints under the phone field (a fragment, fetched by the page's script).
#[derive(Debug, Template)]
#[template(path = "hints.html")]
struct HintsFragment {
    rows: Vec<HintRow>,
}

/// `GET /operator/hints?phone=…`: the caller's earlier appeals, newest first (each read audited).
pub async fn hints<S: Store>(
    State(state): State<ConsoleState<S>>,
    signed: Signed,
    Query(query): Query<HintQuery>,
) -> Response {
    let caller = match signed.may(REGISTRY, "SearchAppeals") {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    match state.hotline.caller_history(&query.phone, &caller).await {
        Ok(list) => {
            let rows = list
                .iter()
                .map(|s| HintRow {
                    number: s.appeal.number.clone(),
                    status: words::appeal_status(s.appeal.status).to_string(),
                    category: s.appeal.card.category_code.clone(),
                    district: s.appeal.card.district_code.clone(),
                    received: kyiv_time(s.appeal.received_at),
                    open: !s.appeal.status.is_final(),
                })
                .collect();
            page(StatusCode::OK, &HintsFragment { rows })
        }
        Err(err) => app_error(signed.frame("", ""), err),
    }
}
