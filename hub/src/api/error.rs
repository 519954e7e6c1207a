//! The one place where hub errors become gRPC statuses (shared/DESIGN.md, "Bad input").

use tonic::Status;

use crate::domain::DomainError;
use crate::store::StoreError;

/// Maps a hub error to the status a client sees. Internal details are logged, not sent.
pub fn status(err: StoreError) -> Status {
    match err {
        StoreError::Domain(DomainError::Invalid { field, reason }) => {
            Status::invalid_argument(format!("{field}: {reason}"))
        }
        StoreError::Domain(err @ DomainError::IllegalTransition { .. }) => {
            Status::failed_precondition(err.to_string())
        }
        StoreError::Domain(err @ DomainError::NotFound(_)) => Status::not_found(err.to_string()),
        StoreError::TooLarge(what) => Status::resource_exhausted(what),
        StoreError::AlreadyExists(what) => Status::already_exists(format!("{what} already exists")),
        StoreError::Unavailable(detail) => {
            tracing::warn!(%detail, "database unavailable");
            Status::unavailable("the database is unavailable; try again shortly")
        }
        StoreError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            Status::internal("internal error; see the hub's log")
        }
    }
}

/// Shorthand: `INVALID_ARGUMENT` for a field.
pub fn invalid(field: &str, reason: impl Into<String>) -> Status {
    status(DomainError::invalid(field, reason).into())
}
