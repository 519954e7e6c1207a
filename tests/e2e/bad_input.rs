//! Every bad input gets the status the error contract names (README, "Errors"), with the field in
//! the message, and changes nothing: the event log does not grow and the appeal reads the same afterwards.

use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, on_both, water_complaint};
use tonic::Code;

fn card(spoil: impl FnOnce(&mut pb::RegisterAppealRequest)) -> pb::RegisterAppealRequest {
    let mut r = water_complaint();
    spoil(&mut r);
    r
}

async fn bad_input_changes_nothing<S: Store>(hub: TestHub<S>) {
    let mut registry = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let mut directory = hub.directory().await;
    // A one-month term (further study needed): the only kind an extension can apply to.
    let appeal = registry
        .register_appeal(pb::RegisterAppealRequest {
            needs_study: true,
            ..water_complaint()
        })
        .await
        .unwrap()
        .into_inner();
    let number = appeal.number.clone();
    let appeal = analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let case_id = appeal.cases[0].id;
    let before = registry
        .get_appeal(pb::GetAppealRequest {
            number: number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let events_before = hub.store.last_event_id().await.unwrap();
    let too_long = "ж".repeat(10_001);

    let registrations: Vec<(pb::RegisterAppealRequest, Code, &str)> = vec![
        (
            card(|r| r.text = "  ".into()),
            Code::InvalidArgument,
            "text: required",
        ),
        (
            card(|r| r.text = too_long.clone()),
            Code::InvalidArgument,
            "text: too long",
        ),
        (card(|r| r.kind = 0), Code::InvalidArgument, "kind"),
        (card(|r| r.kind = 99), Code::InvalidArgument, "kind"),
        (card(|r| r.channel = 0), Code::InvalidArgument, "channel"),
        (
            card(|r| r.citizen.as_mut().unwrap().phone = "not a phone".into()),
            Code::InvalidArgument,
            "citizen.phone",
        ),
        (
            card(|r| r.citizen = None),
            Code::InvalidArgument,
            "citizen.name",
        ),
        (
            card(|r| r.district_code = "atlantis".into()),
            Code::InvalidArgument,
            "district_code",
        ),
        (
            card(|r| r.settlement_code = "kyiv".into()),
            Code::InvalidArgument,
            "settlement_code",
        ),
        (
            card(|r| r.category_code = "99.99".into()),
            Code::InvalidArgument,
            "category_code",
        ),
        (
            card(|r| r.complained_authority_code = "nobody".into()),
            Code::InvalidArgument,
            "complained_authority_code",
        ),
        (
            card(|r| r.requested_deadline = "2099-01-01".into()),
            Code::InvalidArgument,
            "requested_deadline",
        ),
        (
            card(|r| r.requested_deadline = "tomorrow".into()),
            Code::InvalidArgument,
            "requested_deadline",
        ),
        (
            card(|r| r.received_at = "2999-01-01T00:00:00Z".into()),
            Code::InvalidArgument,
            "received_at",
        ),
        (
            card(|r| r.repeat_of = "DP-1999-000001".into()),
            Code::InvalidArgument,
            "repeat_of",
        ),
        (
            card(|r| r.signatories = -1),
            Code::InvalidArgument,
            "signatories",
        ),
    ];
    for (request, code, needle) in registrations {
        let err = registry.register_appeal(request).await.unwrap_err();
        assert_eq!(err.code(), code, "{needle}: {err:?}");
        assert!(
            err.message().contains(needle),
            "`{}` should name `{needle}`",
            err.message()
        );
    }

    let past_limit = (chrono::Utc::now() + chrono::Duration::days(60))
        .format("%Y-%m-%d")
        .to_string();
    let later = (chrono::Utc::now() + chrono::Duration::days(20))
        .format("%Y-%m-%d")
        .to_string();
    let r = analyst.clone();
    let o = registry.clone();
    type Call = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), tonic::Status>>>>;
    let calls: Vec<(&str, Code, &str, Call)> = {
        let ok = |f: Result<tonic::Response<pb::Appeal>, tonic::Status>| f.map(|_| ());
        macro_rules! call {
            ($method:ident, $req:expr) => {
                call!(@r, $method, $req)
            };
            (@$client:ident, $method:ident, $req:expr) => {{
                let mut c = $client.clone();
                let req = $req;
                Box::pin(async move { ok(c.$method(req).await) })
            }};
        }
        vec![
            (
                "assign unknown authority",
                Code::InvalidArgument,
                "assignments[0].authority_code",
                call!(
                    assign_appeal,
                    pb::AssignAppealRequest {
                        number: number.clone(),
                        assignments: vec![pb::Assignment {
                            authority_code: "nobody".into(),
                            deadline: String::new()
                        }],
                        ..Default::default()
                    }
                ),
            ),
            (
                "assign twice to the same authority",
                Code::InvalidArgument,
                "already has an open case",
                call!(
                    assign_appeal,
                    pb::AssignAppealRequest {
                        number: number.clone(),
                        assignments: vec![pb::Assignment {
                            authority_code: "vodokanal".into(),
                            deadline: String::new()
                        }],
                        ..Default::default()
                    }
                ),
            ),
            (
                "assign past 45 days",
                Code::InvalidArgument,
                "assignments[0].deadline",
                call!(
                    assign_appeal,
                    pb::AssignAppealRequest {
                        number: number.clone(),
                        assignments: vec![pb::Assignment {
                            authority_code: "heating".into(),
                            deadline: past_limit.clone()
                        }],
                        ..Default::default()
                    }
                ),
            ),
            (
                "assign nobody",
                Code::InvalidArgument,
                "assignments",
                call!(
                    assign_appeal,
                    pb::AssignAppealRequest {
                        number: number.clone(),
                        assignments: vec![],
                        ..Default::default()
                    }
                ),
            ),
            (
                "assign unknown appeal",
                Code::NotFound,
                "DP-1999-000001",
                call!(
                    assign_appeal,
                    pb::AssignAppealRequest {
                        number: "DP-1999-000001".into(),
                        assignments: vec![pb::Assignment {
                            authority_code: "heating".into(),
                            deadline: String::new()
                        }],
                        ..Default::default()
                    }
                ),
            ),
            (
                "extend past 45 days",
                Code::InvalidArgument,
                "45-day",
                call!(
                    extend_deadline,
                    pb::ExtendDeadlineRequest {
                        case_id,
                        deadline: past_limit.clone(),
                        reason: "inspection".into(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "extend without reason",
                Code::InvalidArgument,
                "reason",
                call!(
                    extend_deadline,
                    pb::ExtendDeadlineRequest {
                        case_id,
                        deadline: later.clone(),
                        reason: " ".into(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "extend unknown case",
                Code::NotFound,
                "case 999999",
                call!(
                    extend_deadline,
                    pb::ExtendDeadlineRequest {
                        case_id: 999_999,
                        deadline: later.clone(),
                        reason: "x".into(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "verify an unanswered case",
                Code::FailedPrecondition,
                "assigned",
                call!(
                    verify_answer,
                    pb::VerifyAnswerRequest {
                        case_id,
                        verdict: pb::Verdict::Accept as i32,
                        reason: String::new(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "verify without verdict",
                Code::InvalidArgument,
                "verdict",
                call!(
                    verify_answer,
                    pb::VerifyAnswerRequest {
                        case_id,
                        verdict: 0,
                        reason: String::new(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "callback before the answer",
                Code::FailedPrecondition,
                "assigned",
                call!(@o, record_callback,
                    pb::RecordCallbackRequest {
                        number: number.clone(),
                        outcome: pb::CallbackOutcome::Confirmed as i32,
                        note: String::new(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "close unconfirmed before the answer",
                Code::FailedPrecondition,
                "assigned",
                call!(
                    close_appeal,
                    pb::CloseAppealRequest {
                        number: number.clone(),
                        outcome: pb::CloseOutcome::Unconfirmed as i32,
                        reason: "x".into(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "close without reason",
                Code::InvalidArgument,
                "reason",
                call!(
                    close_appeal,
                    pb::CloseAppealRequest {
                        number: number.clone(),
                        outcome: pb::CloseOutcome::NotConsidered as i32,
                        reason: String::new(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "reassign to unknown",
                Code::InvalidArgument,
                "authority_code",
                call!(
                    reassign_case,
                    pb::ReassignCaseRequest {
                        case_id,
                        authority_code: "nobody".into(),
                        reason: "x".into(),
                        deadline: String::new(),
                        ..Default::default()
                    }
                ),
            ),
            (
                "get unknown appeal",
                Code::NotFound,
                "DP-1999-000001",
                call!(
                    get_appeal,
                    pb::GetAppealRequest {
                        number: "DP-1999-000001".into()
                    }
                ),
            ),
        ]
    };
    for (what, code, needle, call) in calls {
        let err = call.await.unwrap_err();
        assert_eq!(err.code(), code, "{what}: {err:?}");
        assert!(
            err.message().contains(needle),
            "{what}: `{}` should name `{needle}`",
            err.message()
        );
    }

    for (request, needle) in [
        (
            pb::SearchAppealsRequest {
                page_token: "abc".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            pb::SearchAppealsRequest {
                page_size: 501,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::SearchAppealsRequest {
                status: 42,
                ..Default::default()
            },
            "status",
        ),
        (
            pb::SearchAppealsRequest {
                received_from: "2026-13-01".into(),
                ..Default::default()
            },
            "received_from",
        ),
    ] {
        let err = registry.search_appeals(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains(needle), "{}", err.message());
    }

    // The directory refuses bad entries and duplicates.
    let err = directory
        .create_authority(pb::Authority {
            code: "vodokanal".into(),
            name: "Again".into(),
            kind: "utility".into(),
            district_code: String::new(),
            active: true,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    for (a, needle) in [
        (
            pb::Authority {
                code: "Bad Code".into(),
                name: "x".into(),
                kind: "utility".into(),
                ..Default::default()
            },
            "code",
        ),
        (
            pb::Authority {
                code: "ok-code".into(),
                name: " ".into(),
                kind: "utility".into(),
                ..Default::default()
            },
            "name",
        ),
        (
            pb::Authority {
                code: "ok-code".into(),
                name: "x".into(),
                kind: "utility".into(),
                district_code: "atlantis".into(),
                active: true,
            },
            "district_code",
        ),
    ] {
        let err = directory.create_authority(a).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains(needle), "{}", err.message());
    }
    let err = directory
        .deactivate_authority(pb::DeactivateAuthorityRequest {
            code: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = directory
        .upsert_category(pb::Category {
            code: "07.02".into(),
            name: "x".into(),
            parent_code: "07".into(),
            term_days: 20,
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("term_days"), "{}", err.message());

    // A request over the configured message size is refused before it reaches a handler.
    let err = registry
        .register_appeal(card(|r| r.text = "x".repeat(70 * 1024)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");

    // Nothing changed.
    assert_eq!(hub.store.last_event_id().await.unwrap(), events_before);
    let after = registry
        .get_appeal(pb::GetAppealRequest { number })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, before);
    let search = registry
        .search_appeals(pb::SearchAppealsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(search.appeals.len(), 1, "no bad registration was stored");

    // A deactivated authority takes no new cases.
    directory
        .deactivate_authority(pb::DeactivateAuthorityRequest {
            code: "heating".into(),
        })
        .await
        .unwrap();
    let err = analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: after.number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "heating".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("deactivated"), "{}", err.message());
    hub.stop().await;
}

on_both!(bad_input_changes_nothing);
