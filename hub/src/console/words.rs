//! The interface's Ukrainian words for the domain's codes (statuses, kinds, outcomes), and the
//! request id a form carries so that a double submit registers nothing twice.

use std::fmt::Debug;

use ring::digest::{SHA256, digest};

use crate::app::RequestId;
use crate::domain::{AppealKind, AppealStatus, CaseStatus, Outcome};

/// An appeal's status in words.
pub fn appeal_status(s: AppealStatus) -> &'static str {
    match s {
        AppealStatus::Registered => "зареєстровано",
        AppealStatus::Assigned => "призначено виконавцям",
        AppealStatus::InProgress => "на розгляді",
        AppealStatus::Answered => "є відповідь, чекає перевірки",
        AppealStatus::AwaitingConfirmation => "чекає підтвердження громадянина",
        AppealStatus::Closed => "закрито (підтверджено)",
        AppealStatus::Returned => "повернуто на доопрацювання",
        AppealStatus::NotConsidered => "не розглядається (ст. 8)",
        AppealStatus::ClosedUnconfirmed => "закрито без підтвердження",
        AppealStatus::Continued => "продовжено в новому зверненні",
    }
}

/// A case's status in words.
pub fn case_status(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Assigned => "призначено",
        CaseStatus::Delivered => "доставлено",
        CaseStatus::Accepted => "прийнято",
        CaseStatus::InProgress => "виконується",
        CaseStatus::Resolved => "є відповідь",
        CaseStatus::Verified => "відповідь прийнято",
        CaseStatus::Returned => "повернуто на доопрацювання",
        CaseStatus::Closed => "закрито",
        CaseStatus::Declined => "відхилено органом",
        CaseStatus::ClarificationRequested => "орган просить уточнення",
        CaseStatus::Reassigned => "передано іншому органу",
        CaseStatus::Cancelled => "скасовано",
    }
}

/// An outcome in words.
pub fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Resolved => "вирішено позитивно",
        Outcome::Explained => "роз'яснено",
        Outcome::Refused => "відмовлено",
        Outcome::Forwarded => "переслано за належністю",
        Outcome::NotCompetent => "не належить до компетенції",
        Outcome::Consultation => "надано консультацію",
        Outcome::Continued => "продовжено",
    }
}

/// A kind of appeal in words.
pub fn kind(k: AppealKind) -> &'static str {
    match k {
        AppealKind::Proposal => "пропозиція",
        AppealKind::Application => "заява",
        AppealKind::Complaint => "скарга",
    }
}

/// The request id of a form: the id it was rendered with, and the fingerprint of what it asks
/// (a retry of the same form changes nothing; the same id with other content is refused).
pub fn request_id(id: &str, content: &impl Debug) -> RequestId {
    let hash = digest(&SHA256, format!("{content:?}").as_bytes());
    RequestId {
        id: id.trim().to_string(),
        fingerprint: hash.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
    }
}
