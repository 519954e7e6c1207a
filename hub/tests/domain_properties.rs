//! Property tests of the appeal and case state machines (proptest): any sequence of transitions —
//! staff, authorities, call-backs, closing, time passing — keeps the Law's invariants:
//! - a refused transition changes nothing;
//! - no case deadline and no appeal term passes the Law's 45 days from receipt (art. 20);
//! - an appeal is closed only with a recorded outcome (a confirmation, a disagreement, or the
//!   analyst's decision), never silently;
//! - every case of an ended appeal is ended too (none still owes an answer).
//!
//! Cases get ids as the store would give them (in assignment order), since the transitions name
//! cases by id.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use hotline_hub::domain::card::CheckedCard;
use hotline_hub::domain::deadline::{Term, latest_deadline, legal_deadline};
use hotline_hub::domain::{
    AppealCard, AppealKind, AppealState, AppealStatus, AuthorityRef, CallbackOutcome, CaseOutcome,
    Channel, Citizen, CloseOutcome, Coded, Limits, Outcome, Verdict,
};
use proptest::prelude::*;

const AUTHORITIES: [&str; 3] = ["vodokanal", "heating", "city-council"];

/// One step a test sequence takes.
#[derive(Debug, Clone)]
enum Step {
    Assign(Vec<usize>, Option<i64>),
    Reassign(usize, usize),
    Deliver(usize),
    Accept(usize),
    Decline(usize),
    Report(usize, Option<i64>),
    Resolve(usize, usize),
    Verify(usize, bool),
    Extend(usize, i64),
    Callback(usize, Option<i32>),
    Close(usize),
    Wait(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            proptest::collection::vec(0..3_usize, 0..4),
            proptest::option::of(-5..60_i64)
        )
            .prop_map(|(a, d)| Step::Assign(a, d)),
        (0..4_usize, 0..3_usize).prop_map(|(c, a)| Step::Reassign(c, a)),
        (0..4_usize).prop_map(Step::Deliver),
        (0..4_usize).prop_map(Step::Accept),
        (0..4_usize).prop_map(Step::Decline),
        (0..4_usize, proptest::option::of(-5..60_i64)).prop_map(|(c, d)| Step::Report(c, d)),
        (0..4_usize, 0..6_usize).prop_map(|(c, o)| Step::Resolve(c, o)),
        (0..4_usize, any::<bool>()).prop_map(|(c, v)| Step::Verify(c, v)),
        (0..4_usize, -5..70_i64).prop_map(|(c, d)| Step::Extend(c, d)),
        (0..5_usize, proptest::option::of(0..7_i32)).prop_map(|(o, s)| Step::Callback(o, s)),
        (0..3_usize).prop_map(Step::Close),
        (0..400_i64).prop_map(Step::Wait),
    ]
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn registered(term: Term) -> AppealState {
    let at = received();
    let card = AppealCard {
        kind: AppealKind::Complaint,
        channel: Channel::Phone,
        citizen: Citizen {
            name: "Петренко Ганна".into(),
            phone: "+380671234567".into(),
            ..Default::default()
        },
        anonymous: false,
        signatories: 1,
        benefit_holder: false,
        district_code: "dniprovskyi".into(),
        settlement_code: String::new(),
        category_code: "07.01".into(),
        text: "Немає води".into(),
        profile: hotline_hub::domain::Profile::default(),
        complained_authority_code: String::new(),
        needs_study: term == Term::Month,
        repeat_of: None,
        repeat_of_number: String::new(),
        backdate_reason: String::new(),
        consultation: false,
        publishable: false,
    };
    let checked = CheckedCard {
        card,
        received_at: at,
        deadline: legal_deadline(at, term),
        due_at: None,
        not_considered: None,
    };
    let (mut state, _) = AppealState::register("DP-2026-000001".into(), checked, at);
    state.appeal.id = 1;
    state
}

fn pick<T: Copy>(all: &[T], i: usize) -> T {
    all[i % all.len()]
}

/// The id of the `i`-th case (or one no case has).
fn case_id(state: &AppealState, i: usize) -> i64 {
    state.cases.get(i).map_or(999, |c| c.id)
}

fn day(now: DateTime<Utc>, days: Option<i64>) -> Option<NaiveDate> {
    days.map(|d| hotline_hub::domain::deadline::kyiv_date(now) + Duration::days(d))
}

fn apply(
    state: &mut AppealState,
    step: &Step,
    now: &mut DateTime<Utc>,
) -> Result<(), hotline_hub::domain::DomainError> {
    let limits = Limits::default();
    let authority = |i: usize| AuthorityRef {
        code: AUTHORITIES[i].into(),
        active: true,
    };
    let at = *now;
    match step {
        Step::Assign(to, date) => {
            let list: Vec<_> = to.iter().map(|i| (authority(*i), day(at, *date))).collect();
            state.assign(&list, None, at).map(drop)
        }
        Step::Reassign(c, a) => state
            .reassign(case_id(state, *c), &authority(*a), "не наша", None, at)
            .map(drop),
        Step::Deliver(c) => state.deliver(case_id(state, *c), at).map(drop),
        Step::Accept(c) => state.accept(case_id(state, *c), at).map(drop),
        Step::Decline(c) => state.decline(case_id(state, *c), "не наша", at).map(drop),
        Step::Report(c, d) => state
            .report_progress(case_id(state, *c), "бригада", day(at, *d), at)
            .map(drop),
        Step::Resolve(c, o) => {
            let outcome = Outcome::all().get(*o).copied();
            let detail = if matches!(outcome, Some(Outcome::Refused | Outcome::Forwarded)) {
                "ст. 15"
            } else {
                ""
            };
            let outcome = CaseOutcome::checked(outcome, detail)?;
            state
                .resolve(case_id(state, *c), "відповідь", "", outcome, &limits, at)
                .map(drop)
        }
        Step::Verify(c, accept) => {
            let verdict = if *accept {
                Verdict::Accept
            } else {
                Verdict::Return
            };
            state
                .verify(case_id(state, *c), verdict, "слабка відповідь", at)
                .map(drop)
        }
        Step::Extend(c, d) => {
            let to = hotline_hub::domain::deadline::kyiv_date(at) + Duration::days(*d);
            state
                .extend_deadline(case_id(state, *c), to, "лабораторія", at)
                .map(drop)
        }
        Step::Callback(o, score) => state
            .record_callback(pick(CallbackOutcome::all(), *o), "", *score, &limits, at)
            .map(drop),
        Step::Close(o) => state
            .close(pick(CloseOutcome::all(), *o), "рішення аналітика", at)
            .map(drop),
        Step::Wait(hours) => {
            *now += Duration::hours(*hours);
            Ok(())
        }
    }
}

fn check_invariants(state: &AppealState, history: &[Step]) {
    let latest = latest_deadline(state.appeal.received_at);
    assert!(
        state.appeal.deadline <= latest,
        "the appeal's term {} passes 45 days ({latest}) after {history:?}",
        state.appeal.deadline
    );
    for case in &state.cases {
        assert!(
            case.deadline <= latest,
            "case deadline {} passes 45 days ({latest}) after {history:?}",
            case.deadline
        );
    }
    if state.appeal.status == AppealStatus::Closed {
        assert!(
            state.appeal.outcome.is_some(),
            "closed without an outcome after {history:?}"
        );
    }
    if state.appeal.status.is_final() {
        for case in &state.cases {
            assert!(
                !case.status.awaits_answer(),
                "case {} still {:?} in a {:?} appeal after {history:?}",
                case.id,
                case.status,
                state.appeal.status
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_transitions_keeps_the_laws_invariants(
        month in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut state = registered(if month { Term::Month } else { Term::Short });
        let mut now = received() + Duration::hours(1);
        let mut history = Vec::new();
        for step in steps {
            history.push(step.clone());
            let before = state.clone();
            match apply(&mut state, &step, &mut now) {
                Ok(()) => {
                    // Ids as the store gives them.
                    let mut next = state.cases.iter().map(|c| c.id).max().unwrap_or(0);
                    for case in state.cases.iter_mut().filter(|c| c.id == 0) {
                        next += 1;
                        case.id = next;
                    }
                }
                Err(_) => prop_assert_eq!(&state, &before, "a refused {:?} changed the appeal", step),
            }
            check_invariants(&state, &history);
        }
    }
}

/// The generator's steps reach the end of the road: a sequence that closes an appeal on the
/// citizen's confirmation (so the properties above are not checked on states that never move).
#[test]
fn the_steps_can_close_an_appeal() {
    let mut state = registered(Term::Month);
    let mut now = received() + Duration::hours(1);
    let steps = [
        Step::Assign(vec![0], None),
        Step::Deliver(0),
        Step::Accept(0),
        Step::Resolve(0, 0),
        Step::Verify(0, true),
        Step::Callback(0, Some(5)),
    ];
    for step in &steps {
        apply(&mut state, step, &mut now).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        for case in state.cases.iter_mut().filter(|c| c.id == 0) {
            case.id = 1;
        }
    }
    assert_eq!(state.appeal.status, AppealStatus::Closed);
    check_invariants(&state, &steps);
}
