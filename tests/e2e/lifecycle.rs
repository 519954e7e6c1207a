//! The appeal's whole life through the staff API: register, assign to two authorities, both answer,
//! the analyst verifies, the operator's call-back confirms, the appeal closes; and the rework loop.

use std::sync::Arc;

use hotline_hub::app::ManualClock;
use hotline_hub::domain::{Caller, Change};
use hotline_hub::store::{AppealKey, Store};
use hotline_proto::v1 as pb;
use hotline_proto::v1::appeal_registry_client::AppealRegistryClient;
use hotline_tests::{TestHub, on_both, on_both_with_clock, water_complaint};
use tonic::transport::Channel;

type Registry = AppealRegistryClient<Channel>;

async fn verify(
    registry: &mut Registry,
    case_id: i64,
    verdict: pb::Verdict,
    reason: &str,
) -> pb::Appeal {
    let request = pb::VerifyAnswerRequest {
        case_id,
        verdict: verdict as i32,
        reason: reason.into(),
        ..Default::default()
    };
    registry.verify_answer(request).await.unwrap().into_inner()
}

async fn call_back(
    registry: &mut Registry,
    number: &str,
    outcome: pb::CallbackOutcome,
    note: &str,
) -> pb::Appeal {
    let request = pb::RecordCallbackRequest {
        number: number.into(),
        outcome: outcome as i32,
        note: note.into(),
        ..Default::default()
    };
    registry
        .record_callback(request)
        .await
        .unwrap()
        .into_inner()
}

fn status(a: &pb::Appeal) -> pb::AppealStatus {
    pb::AppealStatus::try_from(a.status).unwrap()
}

async fn register_and_assign<S: Store>(hub: &TestHub<S>, authorities: &[&str]) -> pb::Appeal {
    let mut registry = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let appeal = registry
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&appeal), pb::AppealStatus::Registered);
    assert!(
        appeal.citizen.is_none(),
        "registration replies carry no personal data"
    );
    let assignments = authorities
        .iter()
        .map(|a| pb::Assignment {
            authority_code: a.to_string(),
            deadline: String::new(),
        })
        .collect();
    let appeal = analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number.clone(),
            assignments,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&appeal), pb::AppealStatus::Assigned);
    assert_eq!(appeal.cases.len(), authorities.len());
    appeal
}

async fn full_lifecycle<S: Store>(hub: TestHub<S>) {
    let mut registry = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let appeal = register_and_assign(&hub, &["vodokanal", "city-council"]).await;
    assert!(appeal.number.starts_with("DP-20"), "{}", appeal.number);
    assert_eq!(appeal.cases[0].authority_name, "КП «Дніпроводоканал»");

    // The first authority assigned leads: the co-executor's part comes in first.
    assert_eq!(appeal.cases[0].role, pb::CaseRole::Lead as i32);
    assert_eq!(appeal.cases[1].role, pb::CaseRole::CoExecutor as i32);
    for case in appeal.cases.iter().rev() {
        hotline_tests::authority_answers(&hub, case.id, "Аварію усунуто, воду подано").await;
    }
    let number = appeal.number.clone();
    let appeal = registry
        .get_appeal(pb::GetAppealRequest {
            number: number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&appeal), pb::AppealStatus::Answered);

    for case in &appeal.cases {
        verify(&mut analyst, case.id, pb::Verdict::Accept, "").await;
    }
    let appeal = registry
        .get_appeal(pb::GetAppealRequest {
            number: number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&appeal), pb::AppealStatus::AwaitingConfirmation);

    let appeal = call_back(&mut registry, &number, pb::CallbackOutcome::Confirmed, "").await;
    assert_eq!(status(&appeal), pb::AppealStatus::Closed);
    assert!(
        appeal
            .cases
            .iter()
            .all(|c| c.status == pb::CaseStatus::Closed as i32)
    );

    // The history tells the whole story, in order, and GetAppeal shows the citizen.
    let appeal = registry
        .get_appeal(pb::GetAppealRequest { number })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(appeal.citizen.as_ref().unwrap().phone, "+380671234567");
    let kinds: Vec<&str> = appeal.history.iter().map(|e| e.kind.as_str()).collect();
    for expected in [
        "appeal.registered",
        "case.assigned",
        "case.accepted",
        "case.resolved",
        "case.verified",
        "appeal.callback",
        "appeal.closed",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    assert_eq!(kinds.first(), Some(&"appeal.registered"));
    let ids: Vec<i64> = appeal.history.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "history in order");
    hub.stop().await;
}

async fn rework_loop<S: Store>(hub: TestHub<S>) {
    let mut registry = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let appeal = register_and_assign(&hub, &["vodokanal"]).await;
    let case_id = appeal.cases[0].id;
    hotline_tests::authority_answers(&hub, case_id, "Перевіримо").await;

    let returned = verify(
        &mut analyst,
        case_id,
        pb::Verdict::Return,
        "no repair date given",
    )
    .await;
    assert_eq!(status(&returned), pb::AppealStatus::Returned);
    assert_eq!(returned.cases[0].status, pb::CaseStatus::Returned as i32);
    assert_eq!(returned.cases[0].reason, "no repair date given");

    hotline_tests::authority_answers(&hub, case_id, "Ремонт 12 грудня, воду подано").await;
    let verified = verify(&mut analyst, case_id, pb::Verdict::Accept, "").await;
    assert_eq!(status(&verified), pb::AppealStatus::AwaitingConfirmation);

    // The citizen is not satisfied: the analyst names the case to rework, it goes back to the
    // authority, is answered again and confirmed.
    let unsatisfied = call_back(
        &mut registry,
        &appeal.number,
        pb::CallbackOutcome::NotConfirmed,
        "water pressure still too low",
    )
    .await;
    assert!(
        unsatisfied.awaiting_rework,
        "the analyst decides what is reworked"
    );
    let back = analyst
        .rework_cases(pb::ReworkCasesRequest {
            number: appeal.number.clone(),
            case_ids: vec![case_id],
            reason: "water pressure still too low".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&back), pb::AppealStatus::Returned);
    assert!(!back.awaiting_rework);
    hotline_tests::authority_answers(&hub, case_id, "Тиск відновлено").await;
    verify(&mut analyst, case_id, pb::Verdict::Accept, "").await;
    let closed = call_back(
        &mut registry,
        &appeal.number,
        pb::CallbackOutcome::Confirmed,
        "",
    )
    .await;
    assert_eq!(status(&closed), pb::AppealStatus::Closed);
    assert_eq!(closed.cases[0].answer, "Тиск відновлено");
    hub.stop().await;
}

async fn decline_reassign_and_search<S: Store>(hub: TestHub<S>) {
    let mut registry = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let appeal = register_and_assign(&hub, &["heating"]).await;
    let case_id = appeal.cases[0].id;
    let key = AppealKey::Case(case_id);
    let actor = Caller {
        principal: "agency:heating".into(),
        rpc: "test".into(),
    };
    hub.store
        .transact(&key, &actor, chrono::Utc::now(), |s| {
            s.decline(
                case_id,
                "not our competence: water supply",
                chrono::Utc::now(),
            )
            .map(Change::from)
        })
        .await
        .unwrap();
    let declined = analyst
        .list_declined_cases(pb::ListDeclinedCasesRequest { only_late: false })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(declined.cases.len(), 1);
    assert!(!declined.cases[0].late);
    let late = analyst
        .list_declined_cases(pb::ListDeclinedCasesRequest { only_late: true })
        .await
        .unwrap()
        .into_inner();
    assert!(late.cases.is_empty());

    let moved = analyst
        .reassign_case(pb::ReassignCaseRequest {
            case_id,
            authority_code: "vodokanal".into(),
            reason: "water supply is Vodokanal's".into(),
            deadline: String::new(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.cases.len(), 2);
    assert_eq!(moved.cases[0].status, pb::CaseStatus::Reassigned as i32);
    assert_eq!(moved.cases[1].authority_code, "vodokanal");

    // A second appeal elsewhere, for the filters.
    let mut other = water_complaint();
    other.district_code = "kryvorizkyi".into();
    other.settlement_code = String::new();
    let other = registry.register_appeal(other).await.unwrap().into_inner();

    let search = |f: pb::SearchAppealsRequest| {
        let mut registry = registry.clone();
        async move { registry.search_appeals(f).await.unwrap().into_inner() }
    };
    let by_authority = search(pb::SearchAppealsRequest {
        authority_code: "vodokanal".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_authority.appeals.len(), 1);
    assert_eq!(by_authority.appeals[0].number, appeal.number);
    let by_district = search(pb::SearchAppealsRequest {
        district_code: "kryvorizkyi".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_district.appeals.len(), 1);
    assert_eq!(by_district.appeals[0].number, other.number);
    assert!(
        by_district.appeals[0].citizen.is_none(),
        "search results carry no personal data"
    );
    let by_section = search(pb::SearchAppealsRequest {
        category_code: "07".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(
        by_section.appeals.len(),
        2,
        "a section matches its subjects"
    );
    let registered = search(pb::SearchAppealsRequest {
        status: pb::AppealStatus::Registered as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(registered.appeals.len(), 1);
    let overdue = search(pb::SearchAppealsRequest {
        overdue: true,
        ..Default::default()
    })
    .await;
    assert!(overdue.appeals.is_empty());
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let future = search(pb::SearchAppealsRequest {
        received_from: tomorrow,
        ..Default::default()
    })
    .await;
    assert!(future.appeals.is_empty());
    let _ = today;

    // Cursor pagination: one per page, newest first, no repeats, ends.
    let first = search(pb::SearchAppealsRequest {
        page_size: 1,
        ..Default::default()
    })
    .await;
    assert_eq!(first.appeals[0].number, other.number);
    assert!(!first.next_page_token.is_empty());
    let second = search(pb::SearchAppealsRequest {
        page_size: 1,
        page_token: first.next_page_token,
        ..Default::default()
    })
    .await;
    assert_eq!(second.appeals[0].number, appeal.number);
    if !second.next_page_token.is_empty() {
        let third = search(pb::SearchAppealsRequest {
            page_size: 1,
            page_token: second.next_page_token,
            ..Default::default()
        })
        .await;
        assert!(third.appeals.is_empty() && third.next_page_token.is_empty());
    }
    hub.stop().await;
}

async fn art_8_and_unreachable_citizen<S: Store>(hub: TestHub<S>, clock: Arc<ManualClock>) {
    let mut registry = hub.operator().await;
    let mut analyst = hub.analyst().await;
    // An anonymous letter is not considered (art. 8); an anonymous call is taken.
    let mut anonymous = water_complaint();
    anonymous.anonymous = true;
    anonymous.channel = pb::Channel::Post as i32;
    anonymous.citizen.as_mut().unwrap().name.clear();
    let a = registry
        .register_appeal(anonymous.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&a), pb::AppealStatus::NotConsidered);
    assert!(a.status_reason.contains("anonymous"));
    anonymous.channel = pb::Channel::Phone as i32;
    let call = registry
        .register_appeal(anonymous)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&call), pb::AppealStatus::Registered);

    // Unreachable three times (the default), spaced and not all on one day, closes unconfirmed.
    let appeal = register_and_assign(&hub, &["vodokanal"]).await;
    hotline_tests::authority_answers(&hub, appeal.cases[0].id, "Зроблено").await;
    verify(&mut analyst, appeal.cases[0].id, pb::Verdict::Accept, "").await;
    let unreachable = pb::RecordCallbackRequest {
        number: appeal.number.clone(),
        outcome: pb::CallbackOutcome::Unreachable as i32,
        ..Default::default()
    };
    let mut last = None;
    for attempt in 1..=3 {
        last = Some(
            registry
                .record_callback(unreachable.clone())
                .await
                .unwrap()
                .into_inner(),
        );
        if attempt < 3 {
            // Straight away again is refused: attempts are spaced.
            let err = registry
                .record_callback(unreachable.clone())
                .await
                .unwrap_err();
            assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
            assert!(err.message().contains("next attempt"), "{}", err.message());
            clock.advance(chrono::Duration::hours(13));
        }
    }
    let last = last.unwrap();
    assert_eq!(status(&last), pb::AppealStatus::ClosedUnconfirmed);
    assert_eq!(last.callback_attempts, 3);

    // A repeat of the closed-unconfirmed appeal is considered; a repeat of a confirmed one is not.
    let closed = register_and_assign(&hub, &["vodokanal"]).await;
    hotline_tests::authority_answers(&hub, closed.cases[0].id, "Зроблено").await;
    verify(&mut analyst, closed.cases[0].id, pb::Verdict::Accept, "").await;
    call_back(
        &mut registry,
        &closed.number,
        pb::CallbackOutcome::Confirmed,
        "",
    )
    .await;
    let mut repeat = water_complaint();
    repeat.repeat_of = closed.number.clone();
    let repeat = registry.register_appeal(repeat).await.unwrap().into_inner();
    assert_eq!(status(&repeat), pb::AppealStatus::NotConsidered);
    assert_eq!(repeat.repeat_of, closed.number);
    let mut repeat = water_complaint();
    repeat.repeat_of = last.number.clone();
    let repeat = registry.register_appeal(repeat).await.unwrap().into_inner();
    assert_eq!(status(&repeat), pb::AppealStatus::Registered);

    // Not considered by an analyst, with a reason; cases cancelled.
    let open = register_and_assign(&hub, &["vodokanal"]).await;
    let ended = analyst
        .close_appeal(pb::CloseAppealRequest {
            number: open.number,
            outcome: pb::CloseOutcome::NotConsidered as i32,
            reason: "the same question is before a court (art. 8)".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&ended), pb::AppealStatus::NotConsidered);
    assert_eq!(ended.cases[0].status, pb::CaseStatus::Cancelled as i32);
    hub.stop().await;
}

on_both!(full_lifecycle, rework_loop, decline_reassign_and_search);
on_both_with_clock!(art_8_and_unreachable_citizen);
