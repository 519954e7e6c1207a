//! Appeals in known states for the domain's unit tests: registered, assigned (with the ids the
//! store would give), resolved.

use super::appeal::{AppealState, AuthorityRef};
use super::card::tests::{input, now, refs};
use super::event::{CaseEvent, EventKind};
use super::limits::Limits;
use super::outcome::{CaseOutcome, Outcome};

/// A positive outcome, as most tests answer.
pub fn resolved_outcome() -> CaseOutcome {
    CaseOutcome::checked(Some(Outcome::Resolved), "").unwrap()
}

pub fn authority(code: &str) -> AuthorityRef {
    AuthorityRef {
        code: code.into(),
        active: true,
    }
}

/// A registered appeal with ids given to its future cases as the store would.
pub fn registered() -> AppealState {
    let checked = input().check(&refs(), &Limits::default(), now()).unwrap();
    let (mut state, events) = AppealState::register("DP-2026-000001".into(), checked, now());
    assert_eq!(events[0].kind, EventKind::AppealRegistered);
    state.appeal.id = 1;
    state
}

pub fn store_ids(state: &mut AppealState) {
    for (i, case) in state.cases.iter_mut().enumerate() {
        if case.id == 0 {
            case.id = 10 + i as i64;
        }
    }
}

pub fn assigned(codes: &[&str]) -> AppealState {
    let mut state = registered();
    let list: Vec<_> = codes.iter().map(|c| (authority(c), None)).collect();
    state.assign(&list, None, now()).unwrap();
    store_ids(&mut state);
    state
}

pub fn kinds(events: &[CaseEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.code()).collect()
}

/// Drives case `id` to in progress.
pub fn working(state: &mut AppealState, id: i64) {
    state.deliver(id, now()).unwrap();
    state.accept(id, now()).unwrap();
    state.report_progress(id, "working", None, now()).unwrap();
}

/// Drives case `id` to resolved.
pub fn resolved(state: &mut AppealState, id: i64) {
    working(state, id);
    state
        .resolve(
            id,
            "fixed the pipe",
            "",
            resolved_outcome(),
            &Limits::default(),
            now(),
        )
        .unwrap();
}
