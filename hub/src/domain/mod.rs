//! The rules of the hotline: appeals, cases, their state machines and deadlines. Pure: no I/O, no
//! database, no gRPC. Every transition takes the current state and returns the events it produced, or a
//! typed [`DomainError`] that leaves the state untouched.
//!
//! # Layout
//! - [`deadline`]: art. 20 terms in Europe/Kyiv calendar days.
//! - [`card`]: the registration card and its validation.
//! - [`appeal`]: the appeal and case state machines and every staff and agency transition.

pub mod appeal;
pub mod card;
pub mod deadline;

pub use appeal::{Appeal, AppealState, Case, CaseEvent, EventKind};
pub use card::{AppealCard, Citizen, Limits};

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

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use coded_enum;

coded_enum! {
    /// Kind of appeal, fixed by art. 3 of the Law (so an enum, not directory data).
    AppealKind {
        /// A proposal (remark).
        Proposal = "proposal",
        /// An application (request).
        Application = "application",
        /// A complaint about a body or official.
        Complaint = "complaint",
    }
}

coded_enum! {
    /// How an appeal reached the hotline; the hub's own behaviour depends on it (national-centre exchange).
    Channel {
        /// The phone line.
        Phone = "phone",
        /// The web form.
        Web = "web",
        /// E-mail.
        Email = "email",
        /// Forwarded by the national Government Contact Centre.
        NationalCentre = "national_centre",
        /// A letter.
        Post = "post",
        /// Personal reception.
        PersonalReception = "personal_reception",
    }
}

coded_enum! {
    /// Where an appeal stands.
    AppealStatus {
        /// Registered, no case yet.
        Registered = "registered",
        /// Cases assigned, no authority working yet.
        Assigned = "assigned",
        /// Some authority is working on it.
        InProgress = "in_progress",
        /// Every open case answered, waiting for the analyst.
        Answered = "answered",
        /// Every answer accepted; waiting for the citizen's confirmation.
        AwaitingConfirmation = "awaiting_confirmation",
        /// Confirmed by the citizen. Final.
        Closed = "closed",
        /// An answer went back for rework.
        Returned = "returned",
        /// Not considered (art. 8). Final.
        NotConsidered = "not_considered",
        /// Closed without the citizen's confirmation. Final.
        ClosedUnconfirmed = "closed_unconfirmed",
    }
}

impl AppealStatus {
    /// True for the states an appeal never leaves.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Closed | Self::NotConsidered | Self::ClosedUnconfirmed
        )
    }
}

coded_enum! {
    /// Where one authority's case stands.
    CaseStatus {
        /// Assigned, not yet delivered.
        Assigned = "assigned",
        /// Delivered to the agency client.
        Delivered = "delivered",
        /// Accepted by the authority.
        Accepted = "accepted",
        /// Being worked on (also after a return for rework).
        InProgress = "in_progress",
        /// Result submitted.
        Resolved = "resolved",
        /// Result accepted by an analyst.
        Verified = "verified",
        /// Result returned for rework.
        Returned = "returned",
        /// Appeal closed. Final.
        Closed = "closed",
        /// Declined by the authority; waits for re-routing.
        Declined = "declined",
        /// The authority asked a question.
        ClarificationRequested = "clarification_requested",
        /// Moved to another authority. Final.
        Reassigned = "reassigned",
        /// The appeal ended without an answer. Final.
        Cancelled = "cancelled",
    }
}

impl CaseStatus {
    /// True for the states a case never leaves.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Reassigned | Self::Cancelled)
    }

    /// True while the authority still owes an answer (the deadline runs).
    pub fn awaits_answer(self) -> bool {
        matches!(
            self,
            Self::Assigned
                | Self::Delivered
                | Self::Accepted
                | Self::InProgress
                | Self::Returned
                | Self::ClarificationRequested
                | Self::Declined
        )
    }
}
