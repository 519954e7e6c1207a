//! The configurable limits the rules apply: text lengths, call-back attempts, documents, the repeat
//! window, the terms of urgent and emergency appeals. Set from the hub's configuration; the defaults suit a regional hotline.

/// Configurable limits on what an appeal and its answers may contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest appeal text, answer or reason, in characters: keeps rows and messages bounded.
    pub max_text_chars: usize,
    /// Failed call-backs after which an appeal closes unconfirmed.
    pub max_callback_attempts: i32,
    /// Largest document an authority may attach to a result, in bytes.
    pub max_attachment_bytes: usize,
    /// Most documents on one result.
    pub max_attachments: usize,
    /// Days within which an appeal from the same phone about the same category and district is a repeat.
    pub repeat_window_days: u64,
    /// Days `received_at` may lie in the past without a reason.
    pub backdate_days: i64,
    /// Least time between two call-back attempts, in minutes.
    pub callback_spacing_minutes: i64,
    /// Least days of the legal term a rework needs; with fewer left, the appeal continues in a
    /// linked follow-up instead.
    pub rework_days: u64,
    /// Hours after receipt when an appeal still unassigned is announced (art. 7's 5 days is the
    /// outer limit).
    pub unassigned_hours: i64,
    /// Whether notices may go by e-mail (a relay is configured).
    pub email_notices: bool,
    /// Days an urgent appeal gets by default.
    pub urgent_days: u64,
    /// Hours an emergency appeal gets by default.
    pub emergency_hours: i64,
    /// Hours before an emergency case is due when its authority is warned.
    pub emergency_warning_hours: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_chars: 10_000,
            max_callback_attempts: 3,
            max_attachment_bytes: 2 * 1024 * 1024,
            max_attachments: 10,
            repeat_window_days: 30,
            backdate_days: 3,
            callback_spacing_minutes: 120,
            rework_days: 5,
            unassigned_hours: 72,
            email_notices: false,
            urgent_days: 3,
            emergency_hours: 24,
            emergency_warning_hours: 6,
        }
    }
}

impl Limits {
    /// The largest request these limits allow, in bytes: a result with the most documents of the
    /// largest size, its answer and measures at the longest (4 bytes a character in UTF-8), and room
    /// for the rest of the message. The hub's message size limit must be at least this.
    pub fn largest_request_bytes(&self) -> usize {
        self.max_attachments * self.max_attachment_bytes + 2 * 4 * self.max_text_chars + 64 * 1024
    }
}

/// Longest reason, note, comment or question, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;
