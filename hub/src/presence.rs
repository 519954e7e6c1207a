//! Presence of authorities on this hub: how many case streams each keeps open, when it last
//! called, and the last call the hub refused or failed — what `hub status` and the metrics say
//! about who is connected. Kept in memory by the RPC layer ([`crate::api::observe`]); the
//! database adds when each authority last acknowledged its feed, which survives restarts.
//!
//! Only the RPC, the status code and the time of an error are kept, never its message: a message
//! may echo a prefix of the text that was refused, and the on-duty view must not carry it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// What this hub knows of one authority's connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyPresence {
    /// Case streams open now.
    pub streams: u32,
    /// Its last call (any RPC).
    pub last_contact: Option<DateTime<Utc>>,
    /// The last call that did not end OK.
    pub last_error: Option<LastError>,
}

/// A call of an authority that did not end OK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    /// When.
    pub at: DateTime<Utc>,
    /// Which RPC (`/hotline.v1.AgencyGateway/SubmitResult`).
    pub rpc: String,
    /// The gRPC status code's name (`INVALID_ARGUMENT`).
    pub code: String,
}

/// The registry, shared by the RPC layer and the operations use cases.
#[derive(Debug, Default)]
pub struct Presence {
    agencies: Mutex<HashMap<String, AgencyPresence>>,
}

impl Presence {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn with<T>(&self, authority: &str, f: impl FnOnce(&mut AgencyPresence) -> T) -> T {
        let mut agencies = self.agencies.lock().expect("presence lock");
        f(agencies.entry(authority.to_string()).or_default())
    }

    /// `authority` called now.
    pub fn contact(&self, authority: &str, at: DateTime<Utc>) {
        self.with(authority, |p| p.last_contact = Some(at));
    }

    /// A call of `authority` ended with `code` (anything but OK).
    pub fn error(&self, authority: &str, rpc: &str, code: &str, at: DateTime<Utc>) {
        self.with(authority, |p| {
            p.last_error = Some(LastError {
                at,
                rpc: rpc.to_string(),
                code: code.to_string(),
            });
        });
    }

    /// `authority` opened a case stream; it counts as open until the guard is dropped.
    pub fn stream_opened(self: &Arc<Self>, authority: &str) -> StreamGuard {
        self.with(authority, |p| p.streams += 1);
        StreamGuard {
            presence: Arc::clone(self),
            authority: authority.to_string(),
        }
    }

    /// Every authority seen since the hub started, by code.
    pub fn snapshot(&self) -> HashMap<String, AgencyPresence> {
        self.agencies.lock().expect("presence lock").clone()
    }

    /// Authorities with at least one stream open.
    pub fn connected(&self) -> usize {
        self.agencies
            .lock()
            .expect("presence lock")
            .values()
            .filter(|p| p.streams > 0)
            .count()
    }
}

/// An open case stream; closing it (dropping the guard) counts it out.
#[derive(Debug)]
pub struct StreamGuard {
    presence: Arc<Presence>,
    authority: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.presence
            .with(&self.authority, |p| p.streams = p.streams.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_count_in_and_out() {
        let presence = Presence::new();
        let first = presence.stream_opened("vodokanal");
        let second = presence.stream_opened("vodokanal");
        assert_eq!(presence.connected(), 1);
        drop(first);
        assert_eq!(presence.snapshot()["vodokanal"].streams, 1);
        drop(second);
        assert_eq!(presence.connected(), 0);
        presence.error("vodokanal", "/x/Y", "UNAVAILABLE", Utc::now());
        assert_eq!(
            presence.snapshot()["vodokanal"]
                .last_error
                .as_ref()
                .unwrap()
                .code,
            "UNAVAILABLE"
        );
    }
}
