//! What the citizen must be told, and how (arts. 7, 8, 15, 19, 20 of the Law): a notice when the
//! appeal is forwarded to another body, when its term is extended, when it is not considered, and
//! the answer itself. Each is recorded with the change that requires it, by the channel the card
//! allows: e-mail when the citizen gave one (and the hub can send mail), else a call, else a letter.
//! Notices are personal data: audited when read, never logged.

use super::appeal::{AppealState, AppealStatus};
use super::coded_enum;
use super::event::{CaseEvent, EventKind};
use super::exchange::ExchangeLink;
use super::outcome::Outcome;

coded_enum! {
    /// Why the citizen is told something.
    NoticeKind {
        /// The appeal, or part of it, went to the competent body (art. 7).
        Forwarded = "forwarded",
        /// The term of consideration was extended (art. 20).
        Extended = "extended",
        /// The appeal is not considered, with the reason (art. 8).
        NotConsidered = "not_considered",
        /// The answer (arts. 15, 19).
        Answer = "answer",
    }
}

coded_enum! {
    /// How a notice reaches the citizen.
    NoticeChannel {
        /// Sent by e-mail through the configured relay.
        Email = "email",
        /// An operator calls the citizen and reads it out.
        Call = "call",
        /// Posted as a letter.
        Post = "post",
    }
}

coded_enum! {
    /// Where a notice stands.
    NoticeStatus {
        /// Not yet sent, called or posted.
        Pending = "pending",
        /// Sent, called or posted.
        Done = "done",
        /// E-mail that could not be delivered after the configured attempts: to call or post instead.
        Failed = "failed",
    }
}

/// A notice to record with the change that requires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Why.
    pub kind: NoticeKind,
    /// How.
    pub channel: NoticeChannel,
    /// Where to: an e-mail address, a phone number or a postal address (personal data).
    pub address: String,
    /// What to say.
    pub text: String,
}

impl std::fmt::Display for Notice {
    // Never the address or the text: they are personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} notice by {}", self.kind, self.channel)
    }
}

/// A transition's result: its events, and the notices the Law requires because of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    /// What happened.
    pub events: Vec<CaseEvent>,
    /// What the citizen must be told.
    pub notices: Vec<Notice>,
    /// The appeal's link to an exchange partner, made by this change.
    pub link: Option<ExchangeLink>,
}

impl Change {
    /// Events and the notices they require.
    pub fn new(events: Vec<CaseEvent>, notices: Vec<Notice>) -> Self {
        Self {
            events,
            notices,
            link: None,
        }
    }
}

impl From<Vec<CaseEvent>> for Change {
    fn from(events: Vec<CaseEvent>) -> Self {
        Self {
            events,
            link: None,
            notices: Vec::new(),
        }
    }
}

/// The channel and address the card allows, e-mail first (when the hub can send it).
fn reach(state: &AppealState, email_enabled: bool) -> Option<(NoticeChannel, String)> {
    let citizen = &state.appeal.card.citizen;
    if email_enabled && !citizen.email.is_empty() {
        Some((NoticeChannel::Email, citizen.email.clone()))
    } else if !citizen.phone.is_empty() {
        Some((NoticeChannel::Call, citizen.phone.clone()))
    } else if !citizen.address.is_empty() {
        Some((NoticeChannel::Post, citizen.address.clone()))
    } else {
        None
    }
}

/// The notices the Law requires because `events` happened to `state` (already changed by them).
/// An anonymous citizen with no contact is told nothing.
pub fn required(state: &AppealState, events: &[CaseEvent], email_enabled: bool) -> Vec<Notice> {
    let Some((channel, address)) = reach(state, email_enabled) else {
        return Vec::new();
    };
    let number = &state.appeal.number;
    let text_of = |e: &CaseEvent, key: &str| {
        e.detail
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut notices = Vec::new();
    let mut notice = |kind, text: String| {
        notices.push(Notice {
            kind,
            channel,
            address: address.clone(),
            text,
        })
    };
    for e in events {
        match e.kind {
            EventKind::AnswerVerified => {
                let case = e.case.and_then(|i| state.cases.get(i));
                if let Some(c) = case.filter(|c| c.outcome == Some(Outcome::Forwarded)) {
                    notice(
                        NoticeKind::Forwarded,
                        format!(
                            "Ваше звернення № {number} направлено за належністю: {}. \
                             Про це повідомляємо відповідно до ст. 7 Закону України «Про звернення громадян».",
                            c.outcome_detail
                        ),
                    );
                }
            }
            EventKind::DeadlineExtended => notice(
                NoticeKind::Extended,
                format!(
                    "Строк розгляду вашого звернення № {number} продовжено до {}. Причина: {} \
                     (ст. 20 Закону України «Про звернення громадян»).",
                    text_of(e, "to"),
                    text_of(e, "reason")
                ),
            ),
            EventKind::AppealNotConsidered => notice(
                NoticeKind::NotConsidered,
                format!(
                    "Ваше звернення № {number} не підлягає розгляду: {} (ст. 8 Закону України \
                     «Про звернення громадян»).",
                    text_of(e, "reason")
                ),
            ),
            EventKind::ForwardedUp => notice(
                NoticeKind::Forwarded,
                format!(
                    "Ваше звернення № {number} направлено за належністю до {}: {}. \
                     Про це повідомляємо відповідно до ст. 7 Закону України «Про звернення громадян».",
                    partner_name(&text_of(e, "partner")),
                    text_of(e, "reason")
                ),
            ),
            EventKind::AnsweredViaIncident => notice(
                NoticeKind::Answer,
                with_appeal_rights(format!(
                    "Відповідь на ваше звернення № {number}.\n\n{}\n",
                    text_of(e, "answer")
                )),
            ),
            EventKind::AppealStatusChanged
                if text_of(e, "to") == AppealStatus::AwaitingConfirmation.code()
                    && !state.answered_via_incident() =>
            {
                notice(NoticeKind::Answer, answer_text(state))
            }
            _ => {}
        }
    }
    notices
}

/// The answer as the citizen reads it: each accepted answer with its outcome, and the right to
/// complain to a higher body (art. 16).
fn answer_text(state: &AppealState) -> String {
    let text = format!(
        "Відповідь на ваше звернення № {}.\n{}",
        state.appeal.number,
        answers_text(state)
    );
    with_appeal_rights(text)
}

/// The accepted answers of an appeal as the citizen reads them: a lead executor's consolidated
/// answer, else each authority's, with a refusal's legal reason.
pub fn answers_text(state: &AppealState) -> String {
    let mut text = String::new();
    let lead = state.consolidated_answer();
    for case in state
        .cases
        .iter()
        .enumerate()
        .filter(|(i, _)| lead.is_none_or(|l| l == *i))
        .map(|(_, c)| c)
        .filter(|c| c.outcome.is_some() && !c.answer.is_empty())
    {
        text.push_str(&format!("\n{}\n", case.answer));
        if case.outcome == Some(Outcome::Refused) {
            text.push_str(&format!("Підстава відмови: {}\n", case.outcome_detail));
        }
    }
    text
}

/// How the citizen reads a partner's name.
fn partner_name(partner: &str) -> String {
    match partner {
        "ucc" | "1545" => "Урядового контактного центру".to_string(),
        other => other.to_string(),
    }
}

/// Ends an answer with the citizen's right to complain (art. 16).
fn with_appeal_rights(mut text: String) -> String {
    text.push_str(
        "\nЯкщо ви не згодні з рішенням, ви можете оскаржити його до органу вищого рівня або до \
         суду (ст. 16 Закону України «Про звернення громадян»).",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::registered;

    #[test]
    fn a_citizen_is_reached_by_email_then_phone_then_post() {
        let mut s = registered();
        s.appeal.card.citizen.email = "ganna@example.org".into();
        assert_eq!(reach(&s, true).unwrap().0, NoticeChannel::Email);
        assert_eq!(reach(&s, false).unwrap().0, NoticeChannel::Call);
        s.appeal.card.citizen.phone.clear();
        assert_eq!(reach(&s, false).unwrap().0, NoticeChannel::Post);
        s.appeal.card.citizen.address.clear();
        assert!(reach(&s, false).is_none());
    }

    #[test]
    fn notices_never_show_personal_data_when_printed() {
        let n = Notice {
            kind: NoticeKind::Answer,
            channel: NoticeChannel::Email,
            address: "ganna@example.org".into(),
            text: "secret".into(),
        };
        assert_eq!(n.to_string(), "answer notice by email");
    }
}
