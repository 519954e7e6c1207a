//! Conversions between the generated `hotline.v1` types and the hub's own types, at the API edge.

use crate::domain::text::echo;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use hotline_proto::receipt::sha256_hex;
use hotline_proto::v1 as pb;
use prost::Message;
use tonic::Status;

use super::classify::{role_to_pb, sign_to_pb, urgency_to_pb};
use super::error::{domain, invalid};
use crate::app::RequestId;
use crate::app::StoredNotice;
use crate::app::appeals::AppealView;
use crate::domain::{
    AppealKind, AppealStatus, AttachmentInfo, Authority, CallbackOutcome, Case, CaseStatus,
    Category, Channel, Citizen, CloseOutcome, District, DistrictKind, NoticeChannel, NoticeKind,
    NoticeStatus, Outcome, StoredEvent, Urgency,
};

/// RFC 3339 in UTC, whole seconds.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an optional date field (`2026-12-15`); empty means `None`.
pub fn date(field: &str, value: &str) -> Result<Option<NaiveDate>, Status> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            invalid(
                field,
                format!("`{}` is not a date (YYYY-MM-DD)", echo(value)),
            )
        })
}

/// Parses an optional RFC 3339 time field; empty means `None`.
pub fn instant(field: &str, value: &str) -> Result<Option<DateTime<Utc>>, Status> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| invalid(field, format!("`{}` is not an RFC 3339 time", echo(value))))
}

/// The wire value of an appeal kind.
pub fn kind_to_pb(kind: AppealKind) -> pb::AppealKind {
    match kind {
        AppealKind::Proposal => pb::AppealKind::Proposal,
        AppealKind::Application => pb::AppealKind::Application,
        AppealKind::Complaint => pb::AppealKind::Complaint,
    }
}

/// The domain value of a wire appeal kind; `None` for unspecified or unknown numbers.
pub fn kind_from_pb(value: i32) -> Option<AppealKind> {
    match pb::AppealKind::try_from(value).ok()? {
        pb::AppealKind::Unspecified => None,
        pb::AppealKind::Proposal => Some(AppealKind::Proposal),
        pb::AppealKind::Application => Some(AppealKind::Application),
        pb::AppealKind::Complaint => Some(AppealKind::Complaint),
    }
}

/// The wire value of a channel.
pub fn channel_to_pb(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Phone => pb::Channel::Phone,
        Channel::Web => pb::Channel::Web,
        Channel::Email => pb::Channel::Email,
        Channel::NationalCentre => pb::Channel::NationalCentre,
        Channel::Post => pb::Channel::Post,
        Channel::PersonalReception => pb::Channel::PersonalReception,
    }
}

/// The domain value of a wire channel; `None` for unspecified or unknown numbers.
pub fn channel_from_pb(value: i32) -> Option<Channel> {
    Some(match pb::Channel::try_from(value).ok()? {
        pb::Channel::Unspecified => return None,
        pb::Channel::Phone => Channel::Phone,
        pb::Channel::Web => Channel::Web,
        pb::Channel::Email => Channel::Email,
        pb::Channel::NationalCentre => Channel::NationalCentre,
        pb::Channel::Post => Channel::Post,
        pb::Channel::PersonalReception => Channel::PersonalReception,
    })
}

/// The wire value of an appeal status.
pub fn status_to_pb(status: AppealStatus) -> pb::AppealStatus {
    match status {
        AppealStatus::Registered => pb::AppealStatus::Registered,
        AppealStatus::Assigned => pb::AppealStatus::Assigned,
        AppealStatus::InProgress => pb::AppealStatus::InProgress,
        AppealStatus::Answered => pb::AppealStatus::Answered,
        AppealStatus::AwaitingConfirmation => pb::AppealStatus::AwaitingConfirmation,
        AppealStatus::Closed => pb::AppealStatus::Closed,
        AppealStatus::Returned => pb::AppealStatus::Returned,
        AppealStatus::NotConsidered => pb::AppealStatus::NotConsidered,
        AppealStatus::ClosedUnconfirmed => pb::AppealStatus::ClosedUnconfirmed,
        AppealStatus::Continued => pb::AppealStatus::Continued,
    }
}

/// The wire value of an outcome.
pub fn outcome_to_pb(outcome: Option<Outcome>) -> pb::Outcome {
    match outcome {
        None => pb::Outcome::Unspecified,
        Some(Outcome::Resolved) => pb::Outcome::Resolved,
        Some(Outcome::Explained) => pb::Outcome::Explained,
        Some(Outcome::Refused) => pb::Outcome::Refused,
        Some(Outcome::Forwarded) => pb::Outcome::Forwarded,
        Some(Outcome::NotCompetent) => pb::Outcome::NotCompetent,
        Some(Outcome::Consultation) => pb::Outcome::Consultation,
        Some(Outcome::Continued) => pb::Outcome::Continued,
    }
}

/// The domain value of a wire outcome; `None` for unspecified or unknown numbers.
pub fn outcome_from_pb(value: i32) -> Option<Outcome> {
    let wire = pb::Outcome::try_from(value).ok()?;
    Outcome::ALL
        .iter()
        .copied()
        .find(|o| outcome_to_pb(Some(*o)) == wire)
}

/// The wire value of a notice's kind.
pub fn notice_kind_to_pb(kind: NoticeKind) -> pb::NoticeKind {
    match kind {
        NoticeKind::Forwarded => pb::NoticeKind::Forwarded,
        NoticeKind::Extended => pb::NoticeKind::Extended,
        NoticeKind::NotConsidered => pb::NoticeKind::NotConsidered,
        NoticeKind::Answer => pb::NoticeKind::Answer,
    }
}

/// The wire value of a notice's channel.
pub fn notice_channel_to_pb(channel: NoticeChannel) -> pb::NoticeChannel {
    match channel {
        NoticeChannel::Email => pb::NoticeChannel::Email,
        NoticeChannel::Call => pb::NoticeChannel::Call,
        NoticeChannel::Post => pb::NoticeChannel::Post,
    }
}

/// The domain value of a wire notice channel; `None` for unspecified.
pub fn notice_channel_from_pb(value: i32) -> Option<NoticeChannel> {
    let wire = pb::NoticeChannel::try_from(value).ok()?;
    NoticeChannel::ALL
        .iter()
        .copied()
        .find(|c| notice_channel_to_pb(*c) == wire)
}

/// The wire value of a notice's status.
pub fn notice_status_to_pb(status: NoticeStatus) -> pb::NoticeStatus {
    match status {
        NoticeStatus::Pending => pb::NoticeStatus::Pending,
        NoticeStatus::Done => pb::NoticeStatus::Done,
        NoticeStatus::Failed => pb::NoticeStatus::Failed,
    }
}

/// The domain value of a wire notice status; `None` for unspecified.
pub fn notice_status_from_pb(value: i32) -> Option<NoticeStatus> {
    let wire = pb::NoticeStatus::try_from(value).ok()?;
    NoticeStatus::ALL
        .iter()
        .copied()
        .find(|s| notice_status_to_pb(*s) == wire)
}

/// A notice on the wire.
pub fn notice_to_pb(n: &StoredNotice) -> pb::Notice {
    pb::Notice {
        id: n.id,
        appeal_number: n.appeal_number.clone(),
        kind: notice_kind_to_pb(n.kind) as i32,
        channel: notice_channel_to_pb(n.channel) as i32,
        status: notice_status_to_pb(n.status) as i32,
        address: n.address.clone(),
        text: n.text.clone(),
        attempts: n.attempts,
        last_error: n.last_error.clone(),
        created_at: time(n.created_at),
        done_at: n.done_at.map(time).unwrap_or_default(),
        done_by: n.done_by.clone(),
    }
}

/// The domain value of a wire appeal status; `Ok(None)` for unspecified.
pub fn status_from_pb(value: i32) -> Result<Option<AppealStatus>, Status> {
    let status = pb::AppealStatus::try_from(value)
        .map_err(|_| invalid("status", format!("{value} is not an appeal status")))?;
    Ok(AppealStatus::ALL
        .iter()
        .copied()
        .find(|s| status_to_pb(*s) == status))
}

/// The wire value of a call-back's outcome.
pub fn callback_to_pb(outcome: CallbackOutcome) -> pb::CallbackOutcome {
    match outcome {
        CallbackOutcome::Confirmed => pb::CallbackOutcome::Confirmed,
        CallbackOutcome::NotConfirmed => pb::CallbackOutcome::NotConfirmed,
        CallbackOutcome::Unreachable => pb::CallbackOutcome::Unreachable,
        CallbackOutcome::Disagrees => pb::CallbackOutcome::Disagrees,
    }
}

/// The domain value of a wire call-back outcome; `None` for unspecified or unknown numbers.
pub fn callback_from_pb(value: i32) -> Option<CallbackOutcome> {
    let wire = pb::CallbackOutcome::try_from(value).ok()?;
    CallbackOutcome::ALL
        .iter()
        .copied()
        .find(|o| callback_to_pb(*o) == wire)
}

/// The wire value of a closing without a confirmed answer.
pub fn close_to_pb(outcome: CloseOutcome) -> pb::CloseOutcome {
    match outcome {
        CloseOutcome::NotConsidered => pb::CloseOutcome::NotConsidered,
        CloseOutcome::Unconfirmed => pb::CloseOutcome::Unconfirmed,
    }
}

/// The domain value of a wire closing; `None` for unspecified or unknown numbers.
pub fn close_from_pb(value: i32) -> Option<CloseOutcome> {
    let wire = pb::CloseOutcome::try_from(value).ok()?;
    CloseOutcome::ALL
        .iter()
        .copied()
        .find(|o| close_to_pb(*o) == wire)
}

/// The wire value of a case status.
pub fn case_status_to_pb(status: CaseStatus) -> pb::CaseStatus {
    match status {
        CaseStatus::Assigned => pb::CaseStatus::Assigned,
        CaseStatus::Delivered => pb::CaseStatus::Delivered,
        CaseStatus::Accepted => pb::CaseStatus::Accepted,
        CaseStatus::InProgress => pb::CaseStatus::InProgress,
        CaseStatus::Resolved => pb::CaseStatus::Resolved,
        CaseStatus::Verified => pb::CaseStatus::Verified,
        CaseStatus::Returned => pb::CaseStatus::Returned,
        CaseStatus::Closed => pb::CaseStatus::Closed,
        CaseStatus::Declined => pb::CaseStatus::Declined,
        CaseStatus::ClarificationRequested => pb::CaseStatus::ClarificationRequested,
        CaseStatus::Reassigned => pb::CaseStatus::Reassigned,
        CaseStatus::Cancelled => pb::CaseStatus::Cancelled,
    }
}

/// A case on the wire; `authority_name` comes from the directory when the caller has it, and
/// `attachments` may list those of other cases too (only this case's are used).
pub fn case_to_pb(
    case: &Case,
    authority_name: &str,
    attachments: &[AttachmentInfo],
    now: DateTime<Utc>,
) -> pb::Case {
    pb::Case {
        id: case.id,
        authority_code: case.authority_code.clone(),
        authority_name: authority_name.to_string(),
        status: case_status_to_pb(case.status) as i32,
        deadline: case.deadline.to_string(),
        extension_reason: case.extension_reason.clone(),
        reason: case.reason.clone(),
        answer: case.answer.clone(),
        assigned_at: time(case.assigned_at),
        updated_at: time(case.updated_at),
        overdue: case.is_overdue(now),
        measures: case.measures.clone(),
        attachments: attachments
            .iter()
            .filter(|a| a.case_id == case.id)
            .map(|a| pb::AttachmentInfo {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                sha256: a.sha256.clone(),
            })
            .collect(),
        outcome: outcome_to_pb(case.outcome) as i32,
        outcome_detail: case.outcome_detail.clone(),
        extension_requested_to: case
            .extension_requested_to
            .map(|d| d.to_string())
            .unwrap_or_default(),
        extension_request_reason: case.extension_request_reason.clone(),
        role: role_to_pb(case.role) as i32,
        due_at: case.due_at.map(time).unwrap_or_default(),
    }
}

/// The citizen on the wire (personal data: only for an audited read).
pub fn citizen_to_pb(c: &Citizen) -> pb::Citizen {
    pb::Citizen {
        name: c.name.clone(),
        phone: c.phone.clone(),
        address: c.address.clone(),
        email: c.email.clone(),
    }
}

/// An event on the wire.
pub fn event_to_pb(e: &StoredEvent) -> pb::AppealEvent {
    pb::AppealEvent {
        cursor: e.cursor.to_string(),
        id: e.cursor.id,
        appeal_number: e.appeal_number.clone(),
        case_id: e.case_id.unwrap_or(0),
        authority_code: e.authority_code.clone().unwrap_or_default(),
        kind: e.kind.clone(),
        detail: e.detail.clone(),
        actor: e.actor.clone(),
        at: time(e.at),
    }
}

/// An appeal on the wire. The citizen is included only when the view allows it (an audited read).
pub fn appeal_to_pb(view: &AppealView) -> pb::Appeal {
    super::observe::record_appeal(&view.state.appeal.number);
    appeal_state_to_pb(
        &view.state,
        view.with_citizen,
        &view.history,
        &view.names,
        &view.attachments,
        view.now,
    )
}

/// An appeal on the wire from its parts; `names` maps authority codes to names.
pub fn appeal_state_to_pb(
    state: &crate::domain::AppealState,
    with_citizen: bool,
    history: &[StoredEvent],
    names: &std::collections::HashMap<String, String>,
    attachments: &[AttachmentInfo],
    now: DateTime<Utc>,
) -> pb::Appeal {
    let name_of = |code: &str| names.get(code).cloned().unwrap_or_default();
    let a = &state.appeal;
    let c = &a.card;
    let open_deadline = state
        .cases
        .iter()
        .filter(|c| c.status.awaits_answer())
        .map(|c| c.deadline)
        .max()
        .unwrap_or(a.deadline);
    pb::Appeal {
        id: a.id,
        number: a.number.clone(),
        received_at: time(a.received_at),
        channel: channel_to_pb(c.channel) as i32,
        kind: kind_to_pb(c.kind) as i32,
        citizen: with_citizen.then(|| citizen_to_pb(&c.citizen)),
        anonymous: c.anonymous,
        signatories: c.signatories,
        benefit_holder: c.benefit_holder,
        district_code: c.district_code.clone(),
        settlement_code: c.settlement_code.clone(),
        category_code: c.category_code.clone(),
        text: c.text.clone(),
        urgent: c.profile.urgency != Urgency::Ordinary,
        complained_authority_code: c.complained_authority_code.clone(),
        status: status_to_pb(a.status) as i32,
        status_reason: a.status_reason.clone(),
        deadline: open_deadline.to_string(),
        cases: state
            .cases
            .iter()
            .map(|case| case_to_pb(case, &name_of(&case.authority_code), attachments, now))
            .collect(),
        history: history.iter().map(event_to_pb).collect(),
        callback_attempts: a.callback_attempts,
        repeat_of: c.repeat_of_number.clone(),
        overdue: state.cases.iter().any(|case| case.is_overdue(now)),
        outcome: outcome_to_pb(a.outcome) as i32,
        satisfaction: a.satisfaction.unwrap_or_default(),
        satisfaction_note: a.satisfaction_note.clone(),
        disagreement: a.disagreement.clone(),
        continued_in: a.continued_in.clone(),
        consultation: c.consultation,
        awaiting_rework: a.awaiting_rework,
        sign: sign_to_pb(c.profile.sign) as i32,
        author_categories: c.profile.author_categories.clone(),
        social_status: c.profile.social_status.clone(),
        sex: c.profile.sex.clone(),
        urgency: urgency_to_pb(c.profile.urgency) as i32,
        priority: c.profile.priority,
        due_at: a.due_at.map(time).unwrap_or_default(),
        incident_id: a.incident_id.unwrap_or_default(),
        // The contact person is personal data, like the citizen.
        contact_person: if with_citizen {
            c.profile.contact_person.clone()
        } else {
            String::new()
        },
        publishable: c.publishable,
        exchange_partner: a.exchange.as_ref().map(|e| e.0.clone()).unwrap_or_default(),
        external_id: a.exchange.as_ref().map(|e| e.1.clone()).unwrap_or_default(),
    }
}

/// An authority on the wire.
pub fn authority_to_pb(a: &Authority) -> pb::Authority {
    pb::Authority {
        code: a.code.clone(),
        name: a.name.clone(),
        kind: a.kind.clone(),
        district_code: a.district_code.clone(),
        active: a.active,
    }
}

/// An authority from the wire.
pub fn authority_from_pb(a: pb::Authority) -> Authority {
    Authority {
        code: a.code,
        name: a.name,
        kind: a.kind,
        district_code: a.district_code,
        active: true,
    }
}

/// A category on the wire.
pub fn category_to_pb(c: &Category) -> pb::Category {
    pb::Category {
        code: c.code.clone(),
        name: c.name.clone(),
        parent_code: c.parent_code.clone(),
        term_days: c.term_days,
    }
}

/// A category from the wire.
pub fn category_from_pb(c: pb::Category) -> Category {
    Category {
        code: c.code,
        name: c.name,
        parent_code: c.parent_code,
        term_days: c.term_days,
    }
}

/// A district on the wire.
pub fn district_to_pb(d: &District) -> pb::District {
    pb::District {
        code: d.code.clone(),
        name: d.name.clone(),
        kind: d.kind.code().to_string(),
        parent_code: d.parent_code.clone(),
    }
}

/// A district from the wire; its kind must be `district` or `settlement`.
pub fn district_from_pb(d: pb::District) -> Result<District, Status> {
    Ok(District {
        kind: DistrictKind::parse("kind", &d.kind).map_err(domain)?,
        code: d.code,
        name: d.name,
        parent_code: d.parent_code,
    })
}

/// The client-made id of `message` and the SHA-256 of the message as sent: the content a retry
/// must repeat, and what the receipt says the authority sent.
pub fn request_id(id: &str, message: &impl Message) -> RequestId {
    RequestId {
        id: id.to_string(),
        fingerprint: sha256_hex(&message.encode_to_vec()),
    }
}
