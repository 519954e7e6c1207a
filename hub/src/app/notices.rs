//! The notices the Law requires: the operators' queue of notices to call or post (reading one is
//! reading personal data: audited), marking them done, and the hub sending the e-mail ones through
//! the configured relay — a worker draining the outbox the transitions write, one hub at a time.

use std::collections::BTreeSet;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use super::{AppError, AppResult, Hotline};
use crate::domain::text::check_number;
use crate::domain::{Caller, DomainError, NoticeChannel, NoticeStatus};
use crate::store::{NoticeFilter, Store, StoredNotice};

/// The lease of the e-mail worker.
const LEASE: &str = "notice-mail";
/// E-mail notices sent per round.
const MAIL_BATCH: i64 = 50;

/// Where e-mail notices go.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The relay: `smtp://host:port` (plain, or STARTTLS with `?tls=required`), `smtps://host:port`.
    pub url: String,
    /// The sender's address.
    pub from: String,
    /// Attempts per notice before it goes to the operators' queue as failed.
    pub attempts: i32,
}

impl<S: Store> Hotline<S> {
    /// Notices matching the filter, oldest first; each appeal whose notices are read is recorded
    /// as a read of its personal data.
    pub async fn notices(
        &self,
        mut filter: NoticeFilter,
        caller: &Caller,
    ) -> AppResult<Vec<StoredNotice>> {
        let now = self.now();
        if let Some(number) = &filter.appeal_number {
            filter.appeal_number = Some(check_number("appeal_number", number)?);
        }
        let notices = self.store.notices(&filter).await?;
        let appeals: BTreeSet<&str> = notices.iter().map(|n| n.appeal_number.as_str()).collect();
        for number in appeals {
            self.audit_read(caller, number, now).await?;
        }
        Ok(notices)
    }

    /// The operators' queue: notices to call or post, and e-mails that could not be delivered.
    pub async fn notice_queue(&self, limit: i64, caller: &Caller) -> AppResult<Vec<StoredNotice>> {
        let mut queue = Vec::new();
        for (status, channel) in [
            (NoticeStatus::Pending, Some(NoticeChannel::Call)),
            (NoticeStatus::Pending, Some(NoticeChannel::Post)),
            (NoticeStatus::Failed, None),
        ] {
            let filter = NoticeFilter {
                status: Some(status),
                channel,
                appeal_number: None,
                limit,
            };
            queue.extend(self.notices(filter, caller).await?);
        }
        queue.sort_by_key(|n| n.id);
        queue.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(queue)
    }

    /// Marks a notice called or posted (audited).
    pub async fn mark_notice_done(&self, id: i64, caller: &Caller) -> AppResult<StoredNotice> {
        let now = self.now();
        self.store
            .mark_notice_done(id, caller, now)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("notice {id}")).into())
    }

    /// One round of the e-mail worker: sends the pending e-mail notices through the relay and
    /// records each attempt. Returns how many were sent.
    pub async fn send_notices(&self, mail: &MailSettings) -> AppResult<usize> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&mail.url)
            .map_err(|e| AppError::Internal(format!("the SMTP relay URL does not work: {e}")))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from: Mailbox = mail
            .from
            .parse()
            .map_err(|e| AppError::Internal(format!("the notice sender `{}`: {e}", mail.from)))?;
        let pending = self
            .store
            .notices(&NoticeFilter {
                status: Some(NoticeStatus::Pending),
                channel: Some(NoticeChannel::Email),
                appeal_number: None,
                limit: MAIL_BATCH,
            })
            .await?;
        let mut sent = 0;
        for notice in pending {
            let result = deliver(&transport, &from, &notice).await;
            let give_up = result.is_err() && notice.attempts + 1 >= mail.attempts;
            match &result {
                Ok(()) => sent += 1,
                // The relay's answer, not the address or the text: personal data stays out of logs.
                Err(why) => {
                    tracing::warn!(notice = notice.id, error = %why, give_up, "e-mail notice not sent")
                }
            }
            self.store
                .email_attempt(notice.id, result, give_up, self.now())
                .await?;
        }
        Ok(sent)
    }

    /// The e-mail worker: a round every `interval` while this hub holds the lease, until `stop`.
    pub async fn run_notice_mail(
        self,
        mail: MailSettings,
        interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        let holder = uuid::Uuid::new_v4().to_string();
        loop {
            let now = self.now();
            let until = now
                + chrono::Duration::from_std(interval * 3).unwrap_or(chrono::Duration::minutes(3));
            match self.store.try_lease(LEASE, &holder, until, now).await {
                Ok(true) => {
                    if let Err(err) = self.send_notices(&mail).await {
                        tracing::warn!(error = %err, "e-mail notices: round failed; retrying next time");
                    }
                }
                Ok(false) => tracing::debug!("another hub sends the e-mail notices"),
                Err(err) => tracing::warn!(error = %err, "e-mail notices: cannot take the lease"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.wait_for(|down| *down) => return,
            }
        }
    }
}

/// Sends one notice.
async fn deliver(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    notice: &StoredNotice,
) -> Result<(), String> {
    let to: Mailbox = notice
        .address
        .parse()
        .map_err(|e| format!("the address does not parse: {e}"))?;
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("Звернення № {}", notice.appeal_number))
        .header(ContentType::TEXT_PLAIN)
        .body(notice.text.clone())
        .map_err(|e| e.to_string())?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
