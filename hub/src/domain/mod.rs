//! The rules of the hotline: appeals, cases, their state machines, deadlines, the directory they
//! refer to, and every rule of the Law "On Citizens' Appeals" the hub applies. Pure: no I/O, no
//! database, no gRPC. Every transition takes the current state and returns the events it produced,
//! or a typed [`DomainError`] that leaves the state untouched.
//!
//! # Layout
//! - [`appeal`]: the appeal aggregate, its kinds, channels and statuses, registration, derived status.
//! - [`case`]: a case, its statuses, and the table of which action each status allows.
//! - [`staff_actions`]: assign, reassign, extend, verify, answer a question.
//! - [`closing`]: the call-back and closing without a confirmed answer.
//! - [`incident`]: incidents (mass appeals) answered once for all their appeals.
//! - [`executors`]: the lead executor and co-executors of an appeal several authorities act on.
//! - [`agency_actions`]: deliver, accept, decline, report, ask, resolve.
//! - [`deadline`]: art. 20 terms in Europe/Kyiv calendar days, and the deadline monitor's step.
//! - [`card`]: the registration card and its checks (arts. 3, 5, 7, 8).
//! - [`classifier`]: the classifier's dimensions (sign, author category, …), urgency, priority.
//! - [`directory`]: districts, the subject classifier and authorities, and their checks.
//! - [`exchange`]: the national contact centre's exchange: mapping, links, forwarding up.
//! - [`event`]: event kinds, positions in the log ([`Cursor`]) and who acted ([`Caller`]).
//! - [`attachment`]: documents of a result: limits, integrity, safe names.
//! - [`text`]: checks on any outside text (length, characters, codes, phones).
//! - [`outcome`]: how a case and an appeal ended on the merits.
//! - [`queue`]: the staff queues and the order they are worked in (priority first).
//! - [`opendata`]: what the public may see (Open311, the monthly export).
//! - [`notice`]: what the citizen must be told, and by which channel.
//! - [`limits`]: the configurable limits.
//! - [`reports`]: report arithmetic (periods, percentiles, the Poisson test, ratings order).

pub mod agency_actions;
pub mod appeal;
pub mod attachment;
pub mod card;
pub mod case;
pub mod classifier;
pub mod closing;
pub mod deadline;
pub mod directory;
pub mod event;
pub mod exchange;
pub mod executors;
pub mod incident;
pub mod limits;
pub mod notice;
pub mod opendata;
pub mod outcome;
pub mod queue;
pub mod reports;
pub mod staff_actions;
pub mod text;

#[cfg(test)]
mod fixtures;

pub use appeal::{Appeal, AppealKind, AppealState, AppealStatus, AuthorityRef, Channel};
pub use attachment::{AttachmentInfo, NewAttachment};
pub use card::{AppealCard, Citizen};
pub use case::{Case, CaseAction, CaseRole, CaseStatus};
pub use classifier::{ClassifierEntry, Dimension, Profile, Sign, Urgency};
pub use closing::{CallbackOutcome, CloseOutcome};
pub use directory::{Authority, Category, District, DistrictKind};
pub use event::{Caller, CaseEvent, Cursor, EventKind, StoredEvent};
pub use incident::{Incident, IncidentStatus};
pub use limits::Limits;
pub use notice::{Change, Notice, NoticeChannel, NoticeKind, NoticeStatus};
pub use outcome::{CaseOutcome, Outcome};
pub use queue::Queue;
pub use staff_actions::Verdict;

/// Why a request was refused. Each variant maps to one gRPC status at the API edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field of the request is wrong: `INVALID_ARGUMENT`.
    #[error("{field}: {reason}")]
    Invalid {
        /// The request field, as named in the proto (`citizen.phone`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The transition is not allowed from the current state: `FAILED_PRECONDITION`.
    #[error("cannot {action}: {subject} is {current}")]
    IllegalTransition {
        /// What was attempted (`verify the answer`).
        action: String,
        /// What it was attempted on (`case 12`, `appeal DP-2026-000001`).
        subject: String,
        /// The state it is in.
        current: String,
    },
    /// The addressed object does not exist: `NOT_FOUND`.
    #[error("{0} not found")]
    NotFound(String),
}

impl DomainError {
    /// An `Invalid` error for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A closed set of values with a stable code each (stored in the database, shown to people, typed
/// on the command line): implemented by every enum [`coded_enum!`] defines.
pub trait Coded: Copy + 'static {
    /// Every value, in declaration order.
    fn all() -> &'static [Self];
    /// Its code.
    fn code(self) -> &'static str;
}

/// Defines a string-coded enum: its wire/database code, parsing and display.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code stored in the database and shown to people.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Parses a code written by [`Self::code`].
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl $crate::domain::Coded for $name {
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn code(self) -> &'static str {
                $name::code(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use coded_enum;
