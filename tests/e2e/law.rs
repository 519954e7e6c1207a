//! How an appeal ends and what the citizen is told, end to end through real agency clients on both
//! databases: each outcome, a refusal closed over the citizen's disagreement, an extension asked for
//! and granted, a rework past the legal term continuing in a linked appeal, consultations in the
//! daily report, notices by e-mail to a relay and "to call" notices in the operators' queue, and
//! the deadlines the Law sets.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Days, Utc};
use hotline_agency_client::Action;
use hotline_hub::app::notices::MailSettings;
use hotline_hub::app::{Clock, ManualClock};
use hotline_hub::cli::report::{self, Cell};
use hotline_hub::domain::Limits;
use hotline_hub::principal::StaffRole;
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_tests::agency::{RunningAgency, start_agency};
use hotline_tests::smtp::SmtpSink;
use hotline_tests::{
    TestDb, TestHub, count_rows, on_both, on_both_with_clock, wait_for, water_complaint,
};
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);

/// Registers `card` and assigns it to `authority`: the appeal after assignment.
async fn assigned<S: Store>(
    hub: &TestHub<S>,
    card: pb::RegisterAppealRequest,
    authority: &str,
) -> pb::Appeal {
    let appeal = hub
        .operator()
        .await
        .register_appeal(card)
        .await
        .unwrap()
        .into_inner();
    hub.analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number,
            assignments: vec![pb::Assignment {
                authority_code: authority.into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn appeal<S: Store>(hub: &TestHub<S>, number: &str) -> pb::Appeal {
    hub.analyst()
        .await
        .get_appeal(pb::GetAppealRequest {
            number: number.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Waits until the case of `number` reaches `status` on the hub.
async fn case_reaches<S: Store>(
    hub: &TestHub<S>,
    number: &str,
    status: pb::CaseStatus,
) -> pb::Appeal {
    wait_for(&format!("{number} to reach {status:?}"), WAIT, || async {
        let a = appeal(hub, number).await;
        (a.cases.last().map(|c| c.status) == Some(status as i32)).then_some(a)
    })
    .await
}

/// The authority's client accepts and resolves the case of `number` with `outcome`.
async fn answer<S: Store>(
    hub: &TestHub<S>,
    agency: &RunningAgency,
    number: &str,
    outcome: pb::Outcome,
    detail: &str,
) -> pb::Appeal {
    let case_id = case_reaches(hub, number, pb::CaseStatus::Delivered)
        .await
        .cases
        .last()
        .unwrap()
        .id;
    agency.agency.act(case_id, Action::Accept).await.unwrap();
    agency
        .agency
        .act(
            case_id,
            Action::Resolve {
                answer: "Відповідь по суті звернення".into(),
                measures: String::new(),
                attachments: vec![],
                outcome,
                outcome_detail: detail.into(),
            },
        )
        .await
        .unwrap();
    case_reaches(hub, number, pb::CaseStatus::Resolved).await
}

async fn verify<S: Store>(hub: &TestHub<S>, case_id: i64) -> pb::Appeal {
    hub.analyst()
        .await
        .verify_answer(pb::VerifyAnswerRequest {
            case_id,
            verdict: pb::Verdict::Accept as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn call_back<S: Store>(
    hub: &TestHub<S>,
    number: &str,
    outcome: pb::CallbackOutcome,
    note: &str,
    satisfaction: i32,
) -> Result<pb::Appeal, tonic::Status> {
    hub.operator()
        .await
        .record_callback(pb::RecordCallbackRequest {
            number: number.into(),
            outcome: outcome as i32,
            note: note.into(),
            satisfaction,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every outcome an authority gives reaches its case and, once the citizen confirms, its appeal;
/// the satisfaction score is kept; a refusal without its legal reason is refused.
async fn each_outcome_reaches_the_appeal<S: Store>(hub: TestHub<S>) {
    let agency = start_agency(&hub, "vodokanal").await;
    let outcomes = [
        (pb::Outcome::Resolved, ""),
        (pb::Outcome::Explained, ""),
        (pb::Outcome::Refused, "ст. 8 Закону: питання вирішено судом"),
        (pb::Outcome::Forwarded, "Держпродспоживслужба"),
        (pb::Outcome::NotCompetent, ""),
    ];
    for (outcome, detail) in outcomes {
        let a = assigned(&hub, water_complaint(), "vodokanal").await;
        let resolved = answer(&hub, &agency, &a.number, outcome, detail).await;
        let case = resolved.cases.last().unwrap();
        assert_eq!(case.outcome, outcome as i32);
        assert_eq!(case.outcome_detail, detail);
        verify(&hub, case.id).await;
        let closed = call_back(&hub, &a.number, pb::CallbackOutcome::Confirmed, "", 4)
            .await
            .unwrap();
        assert_eq!(closed.status, pb::AppealStatus::Closed as i32);
        assert_eq!(closed.outcome, outcome as i32, "{outcome:?}");
        assert_eq!(closed.satisfaction, 4);
    }
    // The hub refuses what the Law does not allow, at once, naming the field.
    let a = assigned(&hub, water_complaint(), "vodokanal").await;
    let case_id = case_reaches(&hub, &a.number, pb::CaseStatus::Delivered)
        .await
        .cases[0]
        .id;
    let mut gateway = hotline_proto::v1::agency_gateway_client::AgencyGatewayClient::new(
        hub.channel_as(&hotline_hub::principal::Principal::Agency {
            authority: "vodokanal".into(),
        })
        .await,
    );
    gateway
        .accept_case(pb::CaseActionRequest {
            request_id: "accept-bad".into(),
            case_id,
            ..Default::default()
        })
        .await
        .unwrap();
    for (outcome, field) in [
        (pb::Outcome::Unspecified, "outcome:"),
        (pb::Outcome::Refused, "outcome_detail:"),
        (pb::Outcome::Consultation, "outcome:"),
    ] {
        let err = gateway
            .submit_result(pb::SubmitResultRequest {
                request_id: format!("bad-{outcome:?}"),
                case_id,
                answer: "x".into(),
                outcome: outcome as i32,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().starts_with(field), "{}", err.message());
    }
    agency.stop().await;
    hub.stop().await;
}

/// A lawful refusal closes over the citizen's disagreement, with their words; a positive answer
/// cannot be closed so; the daily report counts the disagreement.
async fn a_refusal_closes_over_the_citizens_disagreement<S: Store>(hub: TestHub<S>) {
    let agency = start_agency(&hub, "vodokanal").await;
    let a = assigned(&hub, water_complaint(), "vodokanal").await;
    let resolved = answer(&hub, &agency, &a.number, pb::Outcome::Refused, "ст. 15").await;
    verify(&hub, resolved.cases[0].id).await;
    let err = call_back(&hub, &a.number, pb::CallbackOutcome::Disagrees, "", 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidArgument,
        "the citizen's words are required"
    );
    let closed = call_back(
        &hub,
        &a.number,
        pb::CallbackOutcome::Disagrees,
        "Не згоден з відмовою, оскаржуватиму",
        1,
    )
    .await
    .unwrap();
    assert_eq!(closed.status, pb::AppealStatus::Closed as i32);
    assert_eq!(closed.outcome, pb::Outcome::Refused as i32);
    assert_eq!(closed.disagreement, "Не згоден з відмовою, оскаржуватиму");

    let b = assigned(&hub, water_complaint(), "vodokanal").await;
    let resolved = answer(&hub, &agency, &b.number, pb::Outcome::Resolved, "").await;
    verify(&hub, resolved.cases[0].id).await;
    let err = call_back(&hub, &b.number, pb::CallbackOutcome::Disagrees, "ні", 0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());

    let daily = hotline_proto::v1::reports_client::ReportsClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Supervisor))
            .await,
    )
    .daily_report(pb::PeriodRequest::default())
    .await
    .unwrap()
    .into_inner();
    assert_eq!(daily.disagreements, 1);
    assert_eq!(daily.satisfaction, Some(1.0));
    agency.stop().await;
    hub.stop().await;
}

/// An authority asks for more time through its client's outbox; the analyst refuses once, then
/// grants it; the appeal's term moves with it and the citizen is told.
async fn an_extension_is_asked_for_and_granted<S: Store>(hub: TestHub<S>) {
    let agency = start_agency(&hub, "vodokanal").await;
    let card = pb::RegisterAppealRequest {
        needs_study: true,
        ..water_complaint()
    };
    let a = assigned(&hub, card, "vodokanal").await;
    let case_id = case_reaches(&hub, &a.number, pb::CaseStatus::Delivered)
        .await
        .cases[0]
        .id;
    agency.agency.act(case_id, Action::Accept).await.unwrap();
    let received = chrono::DateTime::parse_from_rfc3339(&a.received_at).unwrap();
    let latest = hotline_hub::domain::deadline::latest_deadline(received.to_utc());
    let ask = |reason: &str| Action::Extend {
        to: latest,
        reason: reason.into(),
    };
    agency
        .agency
        .act(case_id, ask("потрібна лабораторна експертиза"))
        .await
        .unwrap();
    let asked = wait_for("the request to reach the hub", WAIT, || async {
        let a = appeal(&hub, &a.number).await;
        (!a.cases[0].extension_requested_to.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(asked.cases[0].extension_requested_to, latest.to_string());
    let mut analyst = hub.analyst().await;
    analyst
        .refuse_extension(pb::RefuseExtensionRequest {
            case_id,
            reason: "експертиза не потрібна".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    agency
        .agency
        .act(case_id, ask("експертиза все ж потрібна"))
        .await
        .unwrap();
    wait_for("the second request", WAIT, || async {
        let a = appeal(&hub, &a.number).await;
        (!a.cases[0].extension_requested_to.is_empty()).then_some(())
    })
    .await;
    let granted = analyst
        .extend_deadline(pb::ExtendDeadlineRequest {
            case_id,
            deadline: latest.to_string(),
            reason: "лабораторна експертиза".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(granted.cases[0].deadline, latest.to_string());
    assert!(granted.cases[0].extension_requested_to.is_empty());
    let notices = hub
        .operator()
        .await
        .list_notices(pb::ListNoticesRequest {
            appeal_number: a.number.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert!(
        notices
            .iter()
            .any(|n| n.kind == pb::NoticeKind::Extended as i32
                && n.text.contains(&latest.to_string())),
        "the citizen is told of the extension: {notices:?}"
    );
    agency.stop().await;
    hub.stop().await;
}

/// After a not-confirmed call-back, the analyst names the case to rework. Within the term it goes
/// back to its authority; when the term cannot hold it, the appeal continues in a linked follow-up.
async fn a_rework_past_the_term_continues_in_a_linked_appeal<S: Store>(
    hub: TestHub<S>,
    clock: Arc<ManualClock>,
) {
    let agency = start_agency(&hub, "vodokanal").await;
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let a = assigned(&hub, water_complaint(), "vodokanal").await;
        let resolved = answer(&hub, &agency, &a.number, pb::Outcome::Resolved, "").await;
        verify(&hub, resolved.cases[0].id).await;
        let returned = call_back(
            &hub,
            &a.number,
            pb::CallbackOutcome::NotConfirmed,
            "досі немає води",
            2,
        )
        .await
        .unwrap();
        assert!(returned.awaiting_rework);
        assert_eq!(returned.cases[0].status, pb::CaseStatus::Verified as i32);
        numbers.push((a.number.clone(), resolved.cases[0].id));
    }
    let mut analyst = hub.analyst().await;
    let rework = |number: &str, case_id: i64| pb::ReworkCasesRequest {
        number: number.into(),
        case_ids: vec![case_id],
        reason: "досі немає води".into(),
        ..Default::default()
    };
    // Within the term: back to the authority, which sees it returned.
    let (first, first_case) = &numbers[0];
    let back = analyst
        .rework_cases(rework(first, *first_case))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.cases[0].status, pb::CaseStatus::Returned as i32);
    wait_for("the authority to see the case returned", WAIT, || async {
        let case = agency.agency.local.case(*first_case).await.unwrap()?.case?;
        (case.status == pb::CaseStatus::Returned as i32).then_some(())
    })
    .await;

    // Two days before the term ends, a rework does not fit: a follow-up continues the appeal.
    let (second, second_case) = &numbers[1];
    let term = chrono::NaiveDate::parse_from_str(&appeal(&hub, second).await.deadline, "%Y-%m-%d")
        .unwrap();
    clock.set(
        (term - Days::new(2))
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc(),
    );
    let ended = analyst
        .rework_cases(rework(second, *second_case))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ended.status, pb::AppealStatus::Continued as i32);
    assert_eq!(ended.outcome, pb::Outcome::Continued as i32);
    let follow_up = appeal(&hub, &ended.continued_in).await;
    assert_eq!(
        follow_up.repeat_of, *second,
        "the follow-up repeats the original"
    );
    assert_eq!(follow_up.status, pb::AppealStatus::Assigned as i32);
    assert_eq!(follow_up.cases[0].authority_code, "vodokanal");
    let today = hotline_hub::domain::deadline::kyiv_date(clock.now());
    assert_eq!(
        follow_up.deadline,
        (today + Days::new(15)).to_string(),
        "a term of its own"
    );
    let new_case = follow_up.cases[0].id;
    wait_for(
        "the authority to receive the follow-up's case",
        WAIT,
        || async {
            agency
                .agency
                .local
                .case(new_case)
                .await
                .unwrap()
                .map(|_| ())
        },
    )
    .await;
    agency.stop().await;
    hub.stop().await;
}

/// Consultations are registered, closed at once, never sent to an authority, and counted.
async fn consultations_are_counted_in_the_daily_report<S: Store>(hub: TestHub<S>) {
    let mut operator = hub.operator().await;
    for anonymous in [false, true] {
        let mut card = pb::RegisterAppealRequest {
            consultation: true,
            text: "Де отримати довідку про субсидію?".into(),
            ..water_complaint()
        };
        if anonymous {
            card.anonymous = true;
            card.citizen = Some(pb::Citizen::default());
        }
        let c = operator.register_appeal(card).await.unwrap().into_inner();
        assert_eq!(
            c.status,
            pb::AppealStatus::Closed as i32,
            "an anonymous call may be a consultation"
        );
        assert_eq!(c.outcome, pb::Outcome::Consultation as i32);
        let err = hub
            .analyst()
            .await
            .assign_appeal(pb::AssignAppealRequest {
                number: c.number,
                assignments: vec![pb::Assignment {
                    authority_code: "vodokanal".into(),
                    deadline: String::new(),
                }],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::FailedPrecondition,
            "never sent to an authority"
        );
    }
    // The same caller's appeal about the same matter is not a repeat of a consultation.
    let appeal = operator
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(appeal.repeat_of, "", "a consultation is no earlier appeal");
    let daily = hotline_proto::v1::reports_client::ReportsClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Supervisor))
            .await,
    )
    .daily_report(pb::PeriodRequest::default())
    .await
    .unwrap()
    .into_inner();
    assert_eq!((daily.received, daily.consultations), (3, 2));
    let consultations = daily
        .by_outcome
        .iter()
        .find(|l| l.label == "consultation")
        .map(|l| l.count);
    assert_eq!(consultations, Some(2));
    // The staff's outputs carry it: the daily sheets, the quarterly columns, the outcome chart.
    let sheets = report::daily_sheets(&daily);
    let by_outcome = sheets
        .iter()
        .find(|s| s.title == "Ended, by outcome")
        .expect("an outcome sheet");
    assert_eq!(
        by_outcome.rows,
        [vec![Cell::Text("consultation".into()), Cell::Int(2)]]
    );
    let svg = hotline_hub::cli::chart::outcomes(&daily);
    assert!(svg.contains("consultation: 2"), "{svg}");
    let today = hotline_hub::domain::deadline::kyiv_date(Utc::now());
    let quarter = hotline_proto::v1::reports_client::ReportsClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Supervisor))
            .await,
    )
    .quarterly_summary(pb::QuarterRequest {
        year: chrono::Datelike::year(&today),
        quarter: (chrono::Datelike::month0(&today) / 3 + 1) as i32,
    })
    .await
    .unwrap()
    .into_inner();
    let sheet = report::quarterly_sheet(&quarter);
    let consultations_column = sheet
        .columns
        .iter()
        .position(|c| c == "consultations")
        .unwrap();
    let total = sheet.rows.last().unwrap();
    assert_eq!(total[0], Cell::Text("total".into()));
    assert_eq!(total[consultations_column], Cell::Int(2));
    hub.stop().await;
}

/// Notices: the answer goes by e-mail to the relay when the citizen gave an address; otherwise it
/// waits in the operators' queue to call until marked done; a relay that refuses sends it there too.
async fn notices_reach_the_relay_and_the_queue<S: Store>(hub: TestHub<S>) {
    let sink = SmtpSink::start().await;
    let mail = MailSettings {
        url: sink.url.clone(),
        from: "hotline@dp.example".into(),
        attempts: 2,
    };
    let agency = start_agency(&hub, "vodokanal").await;
    let with_email = pb::RegisterAppealRequest {
        citizen: Some(pb::Citizen {
            email: "ganna@example.org".into(),
            ..water_complaint().citizen.unwrap()
        }),
        ..water_complaint()
    };
    let by_mail = assigned(&hub, with_email.clone(), "vodokanal").await;
    let by_phone = assigned(&hub, water_complaint(), "vodokanal").await;
    for a in [&by_mail, &by_phone] {
        let resolved = answer(&hub, &agency, &a.number, pb::Outcome::Explained, "").await;
        verify(&hub, resolved.cases[0].id).await;
    }
    assert_eq!(hub.hotline.send_notices(&mail).await.unwrap(), 1);
    let sent = sink.mail();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, ["ganna@example.org"]);
    assert!(sent[0].data.contains(&by_mail.number), "{}", sent[0].data);
    // The phone-only citizen's answer waits in the queue to be read out.
    let mut operator = hub.operator().await;
    let queue = operator
        .list_notices(pb::ListNoticesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notices;
    let call = queue
        .iter()
        .find(|n| n.appeal_number == by_phone.number)
        .expect("a notice to call");
    assert_eq!(call.channel, pb::NoticeChannel::Call as i32);
    assert_eq!(call.kind, pb::NoticeKind::Answer as i32);
    assert!(
        !queue.iter().any(|n| n.appeal_number == by_mail.number),
        "mailed ones are done"
    );
    operator
        .mark_notice_done(pb::MarkNoticeDoneRequest { id: call.id })
        .await
        .unwrap();
    let queue = operator
        .list_notices(pb::ListNoticesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert!(
        queue.iter().all(|n| n.id != call.id),
        "done notices leave the queue"
    );
    let audited = count_rows(
        &hub,
        &format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'notice.done' AND appeal_number = '{}'",
            by_phone.number
        ),
    )
    .await;
    assert_eq!(audited, 1);

    // A relay that refuses: after the configured attempts the notice joins the queue as failed.
    sink.refuse_all();
    let refused = assigned(&hub, with_email, "vodokanal").await;
    let resolved = answer(&hub, &agency, &refused.number, pb::Outcome::Resolved, "").await;
    verify(&hub, resolved.cases[0].id).await;
    for _ in 0..2 {
        assert_eq!(hub.hotline.send_notices(&mail).await.unwrap(), 0);
    }
    let queue = operator
        .list_notices(pb::ListNoticesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notices;
    let failed = queue
        .iter()
        .find(|n| n.appeal_number == refused.number)
        .expect("the failed e-mail is in the queue");
    assert_eq!(failed.status, pb::NoticeStatus::Failed as i32);
    assert_eq!(failed.attempts, 2);
    agency.stop().await;
    hub.stop().await;
}

/// The deadlines and the other limits the Law sets, refused with the rule named and nothing changed.
async fn deadlines_and_limits_follow_the_law<S: Store>(hub: TestHub<S>) {
    let mut operator = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let a = operator
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    // A case's deadline may not pass the appeal's term (15 days here).
    let past = chrono::NaiveDate::parse_from_str(&a.deadline, "%Y-%m-%d").unwrap() + Days::new(1);
    let err = analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: a.number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: past.to_string(),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("art. 20"), "{}", err.message());
    let a = analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: a.number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // A 15-day term cannot be extended.
    let err = analyst
        .extend_deadline(pb::ExtendDeadlineRequest {
            case_id: a.cases[0].id,
            deadline: past.to_string(),
            reason: "ще потрібен час".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("15-day"), "{}", err.message());
    // Back-dating beyond the window needs a reason.
    let old = (Utc::now() - chrono::Duration::days(10)).to_rfc3339();
    let err = operator
        .register_appeal(pb::RegisterAppealRequest {
            received_at: old.clone(),
            ..water_complaint()
        })
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("received_at:"),
        "{}",
        err.message()
    );
    operator
        .register_appeal(pb::RegisterAppealRequest {
            received_at: old,
            backdate_reason: "лист надійшов поштою під час свят".into(),
            ..water_complaint()
        })
        .await
        .unwrap();
    // An explicit repeat names the same citizen's appeal.
    let err = operator
        .register_appeal(pb::RegisterAppealRequest {
            repeat_of: a.number.clone(),
            citizen: Some(pb::Citizen {
                name: "Іваненко Петро".into(),
                phone: "0501112233".into(),
                ..Default::default()
            }),
            ..water_complaint()
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("repeat_of:"), "{}", err.message());
    // The monitor announces an appeal left unassigned, once.
    let waiting = operator
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let later = Utc::now() + chrono::Duration::hours(hub.hotline.limits().unassigned_hours + 1);
    hub.hotline.announce_deadlines(3, later).await.unwrap();
    hub.hotline.announce_deadlines(3, later).await.unwrap();
    let announced = count_rows(
        &hub,
        &format!(
            "SELECT COUNT(*) FROM events e JOIN appeals a ON a.id = e.appeal_id \
             WHERE a.number = '{}' AND e.kind = 'appeal.unassigned'",
            waiting.number
        ),
    )
    .await;
    assert_eq!(announced, 1);
    hub.stop().await;
}

on_both!(
    each_outcome_reaches_the_appeal,
    a_refusal_closes_over_the_citizens_disagreement,
    an_extension_is_asked_for_and_granted,
    consultations_are_counted_in_the_daily_report,
    deadlines_and_limits_follow_the_law
);

/// A hub that mails notices (as one with `--smtp-url` does).
async fn mailing<S: Store>(store: S, db: TestDb) -> TestHub<S> {
    let limits = Limits {
        email_notices: true,
        ..Limits::default()
    };
    hotline_tests::hub_with(
        store,
        db,
        move |h| h.with_limits(limits),
        hotline_tests::settings(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_reach_the_relay_and_the_queue_sqlite() {
    let (store, db) = hotline_tests::sqlite_store().await;
    notices_reach_the_relay_and_the_queue(mailing(store, db).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_reach_the_relay_and_the_queue_postgres() {
    if let Some((store, db)) = hotline_tests::postgres_store().await {
        notices_reach_the_relay_and_the_queue(mailing(store, db).await).await;
    }
}

on_both_with_clock!(a_rework_past_the_term_continues_in_a_linked_appeal);
