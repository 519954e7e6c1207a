//! One case at the desk: the appeal's text, the citizen's contact (only here, and each showing
//! recorded in the local store like a read of personal data), the deadline with the days left,
//! the co-executors' parts for a lead executor, what the authority answered, its actions with
//! their state in the outbox and the hub's receipts, the history, and the forms the case's status
//! allows now (counting the actions still queued).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use hotline_proto::render::{case_status, role};
use serde::Deserialize;

use super::inbox::{DueMark, awaits_answer, days_left, days_text, due_mark, kyiv_today};
use super::rules::{Kind, expected_status};
use super::session::SignedIn;
use super::view::{self, CasePage, HistoryLine, OutboxLine, PartLine, ReceiptLine};
use super::{DeskError, DeskState};

/// What a clerk typed into a form that was refused, with why, so the page shows it again.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The form that was refused.
    pub kind: Option<Kind>,
    /// The field at fault (`text`, `date`, `answer`, `outcome_detail`, …).
    pub field: &'static str,
    /// What is wrong, in Ukrainian.
    pub error: String,
    /// Reason, comment or question.
    pub text: String,
    /// Planned date or the deadline asked for.
    pub date: String,
    /// The answer to the citizen.
    pub answer: String,
    /// Measures taken.
    pub measures: String,
    /// The outcome's code.
    pub outcome: String,
    /// The refusal's reason or the forwarding's body.
    pub outcome_detail: String,
}

/// The query of `GET /cases/{id}`.
#[derive(Debug, Deserialize)]
pub struct CaseQuery {
    /// The request id of the action just written (to greet it).
    #[serde(default)]
    sent: String,
}

/// `GET /cases/{id}`.
pub async fn page(
    State(state): State<DeskState>,
    clerk: SignedIn,
    Path(case_id): Path<i64>,
    Query(query): Query<CaseQuery>,
) -> Result<Response, DeskError> {
    render(&state, &clerk, case_id, &Draft::default(), &query.sent).await
}

/// Renders case `case_id` for `clerk`, with a refused form's `draft` and a greeting for the
/// action `sent` (a request id) if any.
pub async fn render(
    state: &DeskState,
    clerk: &SignedIn,
    case_id: i64,
    draft: &Draft,
    sent: &str,
) -> Result<Response, DeskError> {
    let local = &state.agency.local;
    let agency_case = local.case(case_id).await?.ok_or(DeskError::NotFound)?;
    let c = agency_case.case.clone().unwrap_or_default();
    let status = case_status(c.status);
    let outbox = local.case_outbox(case_id).await?;
    let pending: Vec<&str> = outbox
        .iter()
        .rev()
        .filter(|o| o.state == "pending")
        .map(|o| o.rpc.as_str())
        .collect();
    let expected = expected_status(&status, &pending);
    let offered: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| k.allowed_from(&expected))
        .collect();
    // The contact is shown on this page only, and every showing is recorded.
    if agency_case.citizen.is_some() {
        local.record_contact_view(&clerk.login, case_id).await?;
        tracing::info!(case = case_id, login = %clerk.login, "desk: citizen contact shown");
    }
    let now = Utc::now();
    let days = if c.due_at.is_empty() && awaits_answer(&status) {
        days_text(days_left(&c.deadline, kyiv_today(now)))
    } else {
        String::new()
    };
    let greeting = outbox
        .iter()
        .find(|o| !sent.is_empty() && o.request_id == sent)
        .map(|o| match o.state.as_str() {
            "done" => "Хаб підтвердив дію — квитанцію наведено нижче.",
            "failed" => "Хаб відхилив дію — причину наведено нижче.",
            _ => "Дію записано до черги. Її буде надіслано, щойно хаб буде доступний; сторінка покаже підтвердження.",
        })
        .unwrap_or("");
    let page = CasePage {
        clerk,
        case_id,
        appeal_number: &agency_case.appeal_number,
        status: view::status_label(&status),
        expected: (expected != status).then(|| view::status_label(&expected)),
        kind: view::appeal_kind_label(agency_case.kind),
        role: match role(c.role).as_str() {
            "lead" => {
                "Головний виконавець: відповідь за всіх, коли співвиконавці нададуть свої частини"
            }
            "co_executor" => "Співвиконавець: ваша частина надходить також головному виконавцю",
            _ => "",
        },
        deadline: c.deadline.clone(),
        due_at: (!c.due_at.is_empty()).then(|| view::local_time(&c.due_at)),
        days_left: days,
        mark: match due_mark(&agency_case, now) {
            DueMark::Overdue => "overdue",
            DueMark::DueSoon => "due-soon",
            DueMark::None => "",
        },
        emergency: super::inbox::is_emergency(&agency_case),
        priority: agency_case.priority,
        urgent: agency_case.urgent,
        categories: agency_case.author_categories.join(", "),
        category: &agency_case.category_code,
        place: format!(
            "{} {}",
            agency_case.district_code, agency_case.settlement_code
        ),
        text: &agency_case.text,
        citizen: agency_case.citizen.as_ref(),
        reason: &c.reason,
        extension_reason: &c.extension_reason,
        extension_requested: if c.extension_requested_to.is_empty() {
            String::new()
        } else {
            format!(
                "{} — {}",
                c.extension_requested_to, c.extension_request_reason
            )
        },
        answer: &c.answer,
        measures: &c.measures,
        outcome: view::outcome_label(c.outcome),
        outcome_detail: &c.outcome_detail,
        attachments: c
            .attachments
            .iter()
            .map(|a| (a.name.clone(), view::size(a.size), a.sha256.clone()))
            .collect(),
        parts: agency_case
            .parts
            .iter()
            .map(|p| PartLine {
                authority: p.authority_code.clone(),
                status: view::status_label(&case_status(p.status)),
                deadline: p.deadline.clone(),
                outcome: view::outcome_label(p.outcome),
                answer: p.answer.clone(),
            })
            .collect(),
        outbox: outbox.iter().map(OutboxLine::from).collect(),
        receipts: local
            .case_receipts(case_id)
            .await?
            .iter()
            .map(ReceiptLine::from)
            .collect(),
        history: local
            .case_history(case_id)
            .await?
            .iter()
            .map(HistoryLine::from)
            .collect(),
        views: local
            .contact_views(case_id)
            .await?
            .into_iter()
            .take(10)
            .map(|v| (v.login, view::local_time(&v.viewed_at)))
            .collect(),
        offered,
        draft,
        greeting,
        pending: !pending.is_empty(),
        today: kyiv_today(now).to_string(),
        connection: view::Connection::read(local).await?,
    };
    view::html(&page)
}
