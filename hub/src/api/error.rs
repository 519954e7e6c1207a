//! The one place where use-case errors become gRPC statuses (the contract is in the README, "Errors").

use tonic::Status;

use crate::app::AppError;
use crate::domain::DomainError;

/// Longest status message sent, in bytes: gRPC carries it in a header, and a header over its
/// metadata limit never reaches the caller (who then sees a transport error instead of the field).
const MAX_MESSAGE_BYTES: usize = 1024;

/// `message`, cut at a character boundary to at most [`MAX_MESSAGE_BYTES`].
fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES - 3;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// Maps a use-case error to the status a client sees. Internal details are logged, not sent.
pub fn status(err: AppError) -> Status {
    match err {
        AppError::Domain(DomainError::Invalid { field, reason }) => {
            Status::invalid_argument(bounded(format!("{field}: {reason}")))
        }
        AppError::Domain(err @ DomainError::IllegalTransition { .. }) => {
            Status::failed_precondition(bounded(err.to_string()))
        }
        AppError::Domain(err @ DomainError::NotFound(_)) => {
            Status::not_found(bounded(err.to_string()))
        }
        AppError::TooLarge(what) => Status::resource_exhausted(bounded(what)),
        AppError::Forbidden(why) => Status::permission_denied(bounded(why)),
        AppError::AlreadyExists(what) => {
            Status::already_exists(bounded(format!("{what} already exists")))
        }
        AppError::Unavailable(detail) => {
            tracing::warn!(%detail, "database unavailable");
            Status::unavailable("the database is unavailable; try again shortly")
        }
        AppError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            Status::internal("internal error; see the hub's log")
        }
    }
}

/// Shorthand: `INVALID_ARGUMENT` for a field.
pub fn invalid(field: &str, reason: impl Into<String>) -> Status {
    status(DomainError::invalid(field, reason).into())
}

/// Shorthand: the status of a domain error found while decoding.
pub fn domain(err: DomainError) -> Status {
    status(err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_to_fit_a_header() {
        let s = invalid("text", "я".repeat(100_000));
        assert!(s.message().len() <= MAX_MESSAGE_BYTES);
        assert!(s.message().starts_with("text: "));
    }
}
