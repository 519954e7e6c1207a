//! The desk's templates (askama, in `agency-client/templates/`) and what they show in Ukrainian:
//! the names of statuses, outcomes, events, actions and receipts, dates in Kyiv time, sizes. The
//! page's style sheet and its one small script are served from here too.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::DateTime;
use hotline_proto::v1 as pb;

use super::DeskError;
use super::case_page::Draft;
use super::inbox::{InboxLine, Shelf};
use super::rules::Kind;
use super::session::SignedIn;
use crate::local::{CaseEntry, DeskOutgoing, LocalStore};

/// Renders a template as an HTML answer.
pub fn html(template: &impl Template) -> Result<Response, DeskError> {
    Ok(Html(template.render()?).into_response())
}

/// The error page.
pub fn error_page(status: StatusCode, text: &str) -> Result<Html<String>, askama::Error> {
    ErrorPage {
        code: status.as_u16(),
        text,
    }
    .render()
    .map(Html)
}

/// `GET /desk.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../templates/desk.css"),
    )
}

/// `GET /desk.js`.
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../templates/desk.js"),
    )
}

/// At most `max` characters of `text`, with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    hotline_proto::render::clip(text, max)
}

/// An RFC 3339 time as `2026-03-01 14:05` in Kyiv; the text itself when unreadable.
pub fn local_time(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&chrono_tz::Europe::Kyiv)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

/// A size in bytes as people read it.
pub fn size(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} МБ", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{:.0} КБ", b as f64 / 1024.0),
        b => format!("{b} Б"),
    }
}

/// A case status (`in_progress`) in Ukrainian.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "assigned" => "Призначена",
        "delivered" => "Нова",
        "accepted" => "Прийнята",
        "in_progress" => "У роботі",
        "resolved" => "Відповідь надіслано",
        "verified" => "Відповідь прийнято",
        "returned" => "Повернута на доопрацювання",
        "closed" => "Закрита",
        "declined" => "Відхилена",
        "clarification_requested" => "Запитання до гарячої лінії",
        "reassigned" => "Передана іншому органу",
        "cancelled" => "Скасована",
        _ => "Невідомий стан",
    }
}

/// An outcome in Ukrainian; empty when there is none.
pub fn outcome_label(outcome: i32) -> &'static str {
    match pb::Outcome::try_from(outcome) {
        Ok(pb::Outcome::Resolved) => "Вирішено позитивно",
        Ok(pb::Outcome::Explained) => "Роз'яснено",
        Ok(pb::Outcome::Refused) => "Відмовлено",
        Ok(pb::Outcome::Forwarded) => "Переслано за належністю",
        Ok(pb::Outcome::NotCompetent) => "Не належить до компетенції",
        Ok(pb::Outcome::Consultation) => "Консультація",
        Ok(pb::Outcome::Continued) => "Продовжено в іншому зверненні",
        _ => "",
    }
}

/// An appeal kind in Ukrainian.
pub fn appeal_kind_label(kind: i32) -> &'static str {
    match pb::AppealKind::try_from(kind) {
        Ok(pb::AppealKind::Complaint) => "Скарга",
        Ok(pb::AppealKind::Proposal) => "Пропозиція",
        Ok(pb::AppealKind::Application) => "Заява (клопотання)",
        _ => "Звернення",
    }
}

/// An event kind of the history in Ukrainian.
pub fn event_label(kind: &str) -> &str {
    match kind {
        "case.assigned" => "Справу призначено",
        "case.delivered" => "Справу доставлено",
        "case.accepted" => "Прийнято до виконання",
        "case.declined" => "Відхилено",
        "case.progress_reported" => "Звіт про хід виконання",
        "case.clarification_requested" => "Поставлено запитання",
        "case.clarification_answered" => "Гаряча лінія відповіла на запитання",
        "case.resolved" => "Надіслано результат",
        "case.verified" => "Відповідь прийнято",
        "case.returned" => "Повернуто на доопрацювання",
        "case.closed" => "Звернення закрито",
        "case.cancelled" => "Справу скасовано",
        "case.reassigned" => "Передано іншому органу",
        "case.deadline_extended" => "Строк продовжено",
        "case.extension_requested" => "Запит на продовження строку",
        "case.extension_refused" => "У продовженні строку відмовлено",
        "case.due_soon" => "Наближається строк",
        "case.overdue" => "Строк минув",
        "case.role_changed" => "Змінено роль виконавця",
        "case.part_submitted" => "Співвиконавець надав свою частину",
        "case.part_returned" => "Частину співвиконавця повернуто",
        other => other,
    }
}

/// A gateway call of the outbox in Ukrainian.
pub fn rpc_label(rpc: &str) -> &str {
    match rpc {
        "AcceptCase" => "Прийняти до виконання",
        "DeclineCase" => "Відхилити",
        "ReportStatus" => "Звіт про хід виконання",
        "RequestClarification" => "Запитання до гарячої лінії",
        "RequestExtension" => "Запит на продовження строку",
        "SubmitResult" => "Результат розгляду",
        other => other,
    }
}

/// A receipt's kind in Ukrainian.
pub fn receipt_label(kind: &str) -> &str {
    match kind {
        "delivery" => "Доставлення справи",
        "accept" => "Прийняття",
        "decline" => "Відхилення",
        "report" => "Звіт",
        "clarification" => "Запитання",
        "extension" => "Запит на продовження",
        "result" => "Результат",
        other => other,
    }
}

/// The daemon's link to the hub, as the page's header shows it.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Connected right now.
    pub online: bool,
    /// When the daemon last heard from the hub.
    pub last_contact: String,
    /// Actions waiting in the outbox.
    pub queued: i64,
}

impl Connection {
    /// Reads it from the local store's daemon state.
    pub async fn read(local: &LocalStore) -> Result<Self, DeskError> {
        let summary = local.summary().await?;
        Ok(Self {
            online: summary.connection == "connected",
            last_contact: local_time(&summary.last_contact),
            queued: summary.outbox_pending,
        })
    }
}

/// One receipt, readable.
#[derive(Debug, Clone)]
pub struct ReceiptLine {
    /// What it acknowledges.
    pub kind: String,
    /// The hub's event id.
    pub event_id: i64,
    /// When the hub recorded it.
    pub at: String,
    /// The signing key's id.
    pub key_id: String,
    /// The content's SHA-256, shortened.
    pub sha: String,
    /// The start of the signature, hex.
    pub signature: String,
}

impl From<&pb::Receipt> for ReceiptLine {
    fn from(r: &pb::Receipt) -> Self {
        Self {
            kind: receipt_label(&r.kind).to_string(),
            event_id: r.event_id,
            at: local_time(&r.at),
            key_id: r.key_id.clone(),
            sha: r.content_sha256.chars().take(16).collect(),
            signature: hotline_proto::receipt::hex(&r.signature)
                .chars()
                .take(24)
                .collect(),
        }
    }
}

/// One outbox entry of the case.
#[derive(Debug, Clone)]
pub struct OutboxLine {
    /// The action.
    pub action: String,
    /// The clerk (empty: the command line).
    pub login: String,
    /// When it was written.
    pub created: String,
    /// `queued`, `confirmed` or `refused` (a CSS class and the test's hook).
    pub state: &'static str,
    /// The state in Ukrainian.
    pub state_label: &'static str,
    /// The last error of a send.
    pub error: String,
    /// The hub's receipt, once confirmed.
    pub receipt: Option<ReceiptLine>,
}

impl From<&DeskOutgoing> for OutboxLine {
    fn from(o: &DeskOutgoing) -> Self {
        let (state, state_label) = match o.state.as_str() {
            "done" => ("confirmed", "Підтверджено хабом"),
            "failed" => ("refused", "Відхилено хабом"),
            _ => ("queued", "У черзі — очікує підтвердження хабу"),
        };
        Self {
            action: rpc_label(&o.rpc).to_string(),
            login: o.login.clone(),
            created: local_time(&o.created_at),
            state,
            state_label,
            error: o.last_error.clone(),
            receipt: o.receipt.as_ref().map(ReceiptLine::from),
        }
    }
}

/// One entry of the history.
#[derive(Debug, Clone)]
pub struct HistoryLine {
    /// When it was received.
    pub at: String,
    /// What happened.
    pub label: String,
    /// Its words (comment, reason, question, new deadline), when any.
    pub detail: String,
}

impl From<&CaseEntry> for HistoryLine {
    fn from(e: &CaseEntry) -> Self {
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
        let words: Vec<String> = [
            "comment", "reason", "question", "answer", "to", "planned", "deadline",
        ]
        .iter()
        .filter_map(|k| detail.get(*k).and_then(|v| v.as_str()))
        .filter(|v| !v.is_empty())
        .map(|v| clip(v, 300))
        .collect();
        Self {
            at: local_time(&e.received_at),
            label: event_label(&e.kind).to_string(),
            detail: words.join(" · "),
        }
    }
}

/// A co-executor's part, for the lead.
#[derive(Debug, Clone)]
pub struct PartLine {
    /// The co-executor.
    pub authority: String,
    /// Where its part stands.
    pub status: &'static str,
    /// Its deadline.
    pub deadline: String,
    /// Its outcome.
    pub outcome: &'static str,
    /// Its answer.
    pub answer: String,
}

/// A tab of the inbox.
#[derive(Debug, Clone)]
pub struct Tab {
    /// `?view=` value.
    pub code: &'static str,
    /// Label.
    pub label: &'static str,
    /// Cases on it.
    pub count: usize,
    /// The one shown.
    pub current: bool,
}

/// `login.html`.
#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// Why the last attempt was refused.
    pub error: &'a str,
    /// The login typed.
    pub login: &'a str,
}

/// `error.html`.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// HTTP status.
    pub code: u16,
    /// What went wrong.
    pub text: &'a str,
}

/// `inbox.html`.
#[derive(Debug, Template)]
#[template(path = "inbox.html")]
pub struct InboxPage<'a> {
    /// Who is signed in.
    pub clerk: &'a SignedIn,
    /// The shelf shown.
    pub shelf: Shelf,
    /// Cases per shelf.
    pub counts: Vec<(Shelf, usize)>,
    /// The search words.
    pub search: &'a str,
    /// The lines.
    pub lines: Vec<InboxLine>,
    /// The link to the hub.
    pub connection: Connection,
}

impl InboxPage<'_> {
    /// The tabs.
    pub fn tabs(&self) -> Vec<Tab> {
        self.counts
            .iter()
            .map(|(s, n)| Tab {
                code: s.code(),
                label: s.label(),
                count: *n,
                current: *s == self.shelf,
            })
            .collect()
    }
}

/// `case.html`.
#[derive(Debug, Template)]
#[template(path = "case.html")]
pub struct CasePage<'a> {
    /// Who is signed in.
    pub clerk: &'a SignedIn,
    /// Case id.
    pub case_id: i64,
    /// Appeal number.
    pub appeal_number: &'a str,
    /// Status.
    pub status: &'static str,
    /// The status once the queued actions are applied, when different.
    pub expected: Option<&'static str>,
    /// Appeal kind.
    pub kind: &'static str,
    /// The authority's part, when several act.
    pub role: &'static str,
    /// Deadline (date).
    pub deadline: String,
    /// An emergency's hour.
    pub due_at: Option<String>,
    /// Days left.
    pub days_left: String,
    /// `overdue`, `due-soon` or empty.
    pub mark: &'static str,
    /// Emergency.
    pub emergency: bool,
    /// Priority.
    pub priority: bool,
    /// Urgent.
    pub urgent: bool,
    /// Author categories.
    pub categories: String,
    /// Category code.
    pub category: &'a str,
    /// District and settlement.
    pub place: String,
    /// The appeal's text.
    pub text: &'a str,
    /// The citizen's contact.
    pub citizen: Option<&'a pb::Citizen>,
    /// Why it was declined or returned.
    pub reason: &'a str,
    /// Why the deadline was extended.
    pub extension_reason: &'a str,
    /// A request for more time waiting for the analyst.
    pub extension_requested: String,
    /// The authority's answer.
    pub answer: &'a str,
    /// Measures.
    pub measures: &'a str,
    /// Outcome.
    pub outcome: &'static str,
    /// Outcome detail.
    pub outcome_detail: &'a str,
    /// Documents: name, size, SHA-256.
    pub attachments: Vec<(String, String, String)>,
    /// Co-executors' parts.
    pub parts: Vec<PartLine>,
    /// The case's outbox entries.
    pub outbox: Vec<OutboxLine>,
    /// The case's receipts.
    pub receipts: Vec<ReceiptLine>,
    /// The history.
    pub history: Vec<HistoryLine>,
    /// The latest views of the contact: login, when.
    pub views: Vec<(String, String)>,
    /// The actions offered now.
    pub offered: Vec<Kind>,
    /// A refused form.
    pub draft: &'a Draft,
    /// A greeting for the action just written.
    pub greeting: &'static str,
    /// Something waits in the outbox (the page refreshes itself).
    pub pending: bool,
    /// Today (the date inputs' minimum).
    pub today: String,
    /// The link to the hub.
    pub connection: Connection,
}

impl CasePage<'_> {
    /// Whether form `code` is offered.
    pub fn can(&self, code: &str) -> bool {
        self.offered.iter().any(|k| k.code() == code)
    }

    fn draft_of(&self, code: &str) -> Option<&Draft> {
        self.draft
            .kind
            .filter(|k| k.code() == code)
            .map(|_| self.draft)
    }

    /// The refused form's error, for form `code`.
    pub fn error_of(&self, code: &str) -> &str {
        self.draft_of(code).map_or("", |d| d.error.as_str())
    }

    /// Whether `field` of form `code` is the one at fault (for `aria-invalid`).
    pub fn invalid(&self, code: &str, field: &str) -> bool {
        self.draft_of(code).is_some_and(|d| d.field == field)
    }

    /// The text typed into form `code`.
    pub fn text_of(&self, code: &str) -> &str {
        self.draft_of(code).map_or("", |d| d.text.as_str())
    }

    /// The date typed into form `code`.
    pub fn date_of(&self, code: &str) -> &str {
        self.draft_of(code).map_or("", |d| d.date.as_str())
    }

    /// Whether outcome `code` was chosen in the refused result form.
    pub fn chose(&self, code: &str) -> bool {
        self.draft.outcome == code
    }
}
