//! Who is calling and how urgent it is, end to end on both databases: priority appeals first in
//! the queues and marked for the authority, emergency terms in hours, a lead executor with
//! co-executors, an incident answered once for thirty appeals, and the quarterly form by the
//! classifier's dimensions.

use std::sync::Arc;
use std::time::Duration;

use hotline_agency_client::Action;
use hotline_hub::app::{Clock, ManualClock};
use hotline_hub::cli::report::{self, Cell};
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_proto::v1::agency_gateway_client::AgencyGatewayClient;
use hotline_proto::v1::incidents_client::IncidentsClient;
use hotline_proto::v1::reports_client::ReportsClient;
use hotline_tests::agency::{case_status, start_agency};
use hotline_tests::{TestHub, count_rows, on_both, on_both_with_clock, wait_for, water_complaint};
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);

fn card(phone: &str) -> pb::RegisterAppealRequest {
    let mut card = water_complaint();
    card.citizen.as_mut().unwrap().phone = phone.into();
    card
}

async fn register<S: Store>(hub: &TestHub<S>, card: pb::RegisterAppealRequest) -> pb::Appeal {
    hub.operator()
        .await
        .register_appeal(card)
        .await
        .unwrap()
        .into_inner()
}

async fn assign<S: Store>(
    hub: &TestHub<S>,
    number: &str,
    authorities: &[&str],
    lead: &str,
) -> Result<pb::Appeal, tonic::Status> {
    hub.analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: number.into(),
            assignments: authorities
                .iter()
                .map(|a| pb::Assignment {
                    authority_code: a.to_string(),
                    deadline: String::new(),
                })
                .collect(),
            lead_authority_code: lead.into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn queue<S: Store>(hub: &TestHub<S>, queue: pb::Queue) -> Vec<String> {
    hub.analyst()
        .await
        .list_queue(pb::ListQueueRequest {
            queue: queue as i32,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .appeals
        .into_iter()
        .map(|a| a.number)
        .collect()
}

async fn incidents<S: Store>(hub: &TestHub<S>) -> IncidentsClient<tonic::transport::Channel> {
    IncidentsClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Analyst))
            .await,
    )
}

/// A veteran's appeal overtakes earlier ones in the triage queue and reaches its authority marked;
/// the card's dimensions are checked against the classifier.
async fn priority_appeals_come_first<S: Store>(hub: TestHub<S>) {
    let first = register(&hub, card("0501000001")).await;
    let second = register(&hub, card("0501000002")).await;
    let veteran = register(
        &hub,
        pb::RegisterAppealRequest {
            author_categories: vec!["ubd".into(), "idp".into()],
            social_status: "pensioner".into(),
            sex: "f".into(),
            ..card("0501000003")
        },
    )
    .await;
    assert!(veteran.priority);
    assert_eq!(veteran.author_categories, ["ubd", "idp"]);
    assert_eq!(veteran.sign, pb::Sign::Primary as i32);
    assert!(!first.priority);
    assert_eq!(
        queue(&hub, pb::Queue::Triage).await,
        [
            veteran.number.clone(),
            first.number.clone(),
            second.number.clone()
        ],
        "priority first, then the oldest"
    );

    // Bad dimensions are refused with the field named, and nothing is registered.
    let before = count_rows(&hub, "SELECT COUNT(*) FROM appeals").await;
    let mut operator = hub.operator().await;
    for (bad, field) in [
        (
            pb::RegisterAppealRequest {
                author_categories: vec!["nobody".into()],
                ..card("0501000009")
            },
            "author_categories[0]",
        ),
        (
            pb::RegisterAppealRequest {
                sex: "x".into(),
                ..card("0501000009")
            },
            "sex",
        ),
        (
            pb::RegisterAppealRequest {
                contact_person: "Іваненко".into(),
                ..card("0501000009")
            },
            "contact_person",
        ),
        (
            pb::RegisterAppealRequest {
                urgency: 42,
                ..card("0501000009")
            },
            "urgency",
        ),
    ] {
        let err = operator.register_appeal(bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(
            err.message().starts_with(field),
            "{field}: {}",
            err.message()
        );
    }
    assert_eq!(
        count_rows(&hub, "SELECT COUNT(*) FROM appeals").await,
        before
    );

    // The authority sees the mark.
    let agency = start_agency(&hub, "vodokanal").await;
    let assigned = assign(&hub, &veteran.number, &["vodokanal"], "")
        .await
        .unwrap();
    let case_id = assigned.cases[0].id;
    let stored = wait_for("the marked case at the authority", WAIT, || async {
        agency.agency.local.case(case_id).await.unwrap()
    })
    .await;
    assert!(stored.priority);
    assert_eq!(stored.author_categories, ["ubd", "idp"]);
    agency.stop().await;

    // The classifier is listed for everyone and edited by admins only.
    let mut directory = hub.directory().await;
    let entries = directory
        .list_classifier(pb::ListClassifierRequest {
            dimension: pb::Dimension::AuthorCategory as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let ubd = entries.iter().find(|e| e.code == "ubd").unwrap();
    assert!(ubd.priority);
    let err = directory
        .upsert_classifier_entry(pb::ClassifierEntry {
            dimension: pb::Dimension::Sex as i32,
            code: "n".into(),
            name: "Не вказано".into(),
            priority: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("priority"), "{}", err.message());
    hub.stop().await;
}

/// An emergency gets hours, not days: due 24 hours after receipt, warned 6 hours before, overdue
/// after; an urgent appeal gets 3 days.
async fn an_emergency_is_due_in_hours<S: Store>(hub: TestHub<S>, clock: Arc<ManualClock>) {
    let received = clock.now();
    let emergency = register(
        &hub,
        pb::RegisterAppealRequest {
            urgency: pb::Urgency::Emergency as i32,
            ..card("0502000001")
        },
    )
    .await;
    let due = chrono::DateTime::parse_from_rfc3339(&emergency.due_at)
        .unwrap()
        .with_timezone(&chrono::Utc);
    // The wire gives whole seconds.
    let hours = (due - received).num_seconds();
    assert!(
        (24 * 3600 - 1..=24 * 3600).contains(&hours),
        "{} after {received}",
        emergency.due_at
    );
    let urgent = register(
        &hub,
        pb::RegisterAppealRequest {
            urgency: pb::Urgency::Urgent as i32,
            ..card("0502000002")
        },
    )
    .await;
    let today = hotline_hub::domain::deadline::kyiv_date(received);
    assert_eq!(urgent.deadline, (today + chrono::Days::new(3)).to_string());
    assert_eq!(
        queue(&hub, pb::Queue::Triage).await[..2],
        [emergency.number.clone(), urgent.number.clone()]
    );

    let assigned = assign(&hub, &emergency.number, &["vodokanal"], "")
        .await
        .unwrap();
    assert_eq!(assigned.cases[0].due_at, emergency.due_at);
    let announced = |kind: &'static str| {
        let sql = format!(
            "SELECT COUNT(*) FROM events e JOIN appeals a ON a.id = e.appeal_id \
             WHERE a.number = '{}' AND e.kind = '{kind}'",
            emergency.number
        );
        let hub = &hub;
        async move { count_rows(hub, &sql).await }
    };
    clock.advance(chrono::Duration::hours(17));
    hub.hotline
        .announce_deadlines(3, clock.now())
        .await
        .unwrap();
    assert_eq!(announced("case.due_soon").await, 0, "7 hours left: not yet");
    clock.advance(chrono::Duration::hours(2));
    hub.hotline
        .announce_deadlines(3, clock.now())
        .await
        .unwrap();
    assert_eq!(announced("case.due_soon").await, 1, "5 hours left: warned");
    assert_eq!(announced("case.overdue").await, 0);
    clock.advance(chrono::Duration::hours(6));
    hub.hotline
        .announce_deadlines(3, clock.now())
        .await
        .unwrap();
    assert_eq!(announced("case.overdue").await, 1, "past the 24 hours");
    hub.stop().await;
}

/// A lead with two co-executors: the lead's answer waits for both parts, sees them, and its
/// consolidated answer is the one the citizen gets.
async fn a_lead_consolidates_its_co_executors_parts<S: Store>(hub: TestHub<S>) {
    let appeal = register(&hub, card("0503000001")).await;
    let err = assign(
        &hub,
        &appeal.number,
        &["vodokanal", "heating"],
        "kryvyi-rih-council",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("lead_authority_code"),
        "{}",
        err.message()
    );
    let assigned = assign(
        &hub,
        &appeal.number,
        &["vodokanal", "heating", "city-council"],
        "city-council",
    )
    .await
    .unwrap();
    let case = |code: &str| {
        assigned
            .cases
            .iter()
            .find(|c| c.authority_code == code)
            .unwrap()
            .clone()
    };
    let lead = case("city-council");
    assert_eq!(lead.role, pb::CaseRole::Lead as i32);
    assert_eq!(case("vodokanal").role, pb::CaseRole::CoExecutor as i32);

    let agencies = [
        start_agency(&hub, "vodokanal").await,
        start_agency(&hub, "heating").await,
        start_agency(&hub, "city-council").await,
    ];
    for (agency, code) in agencies
        .iter()
        .zip(["vodokanal", "heating", "city-council"])
    {
        let id = case(code).id;
        wait_for(&format!("{code} to store its case"), WAIT, || async {
            agency.agency.local.case(id).await.unwrap()
        })
        .await;
        agency.agency.act(id, Action::Accept).await.unwrap();
    }
    // Too early: the lead's answer is refused while the parts are missing.
    let mut gateway = AgencyGatewayClient::new(
        hub.channel_as(&Principal::Agency {
            authority: "city-council".into(),
        })
        .await,
    );
    wait_for("the lead to accept", WAIT, || async {
        let a = case_status(&hub, lead.id).await;
        (a == hotline_hub::domain::CaseStatus::Accepted).then_some(())
    })
    .await;
    let early = gateway
        .submit_result(pb::SubmitResultRequest {
            request_id: "early".into(),
            case_id: lead.id,
            answer: "Зведена відповідь".into(),
            outcome: pb::Outcome::Resolved as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(
        early.message().contains("heating, vodokanal")
            || early.message().contains("vodokanal, heating"),
        "{}",
        early.message()
    );

    for (agency, code, answer) in [
        (&agencies[0], "vodokanal", "Водопостачання відновлено"),
        (&agencies[1], "heating", "Тепломережу перевірено"),
    ] {
        agency
            .agency
            .act(
                case(code).id,
                Action::Resolve {
                    answer: answer.into(),
                    measures: String::new(),
                    attachments: vec![],
                    outcome: pb::Outcome::Resolved,
                    outcome_detail: String::new(),
                },
            )
            .await
            .unwrap();
    }
    // The lead sees both parts with their answers.
    let parts = wait_for("the lead to see both parts", WAIT, || async {
        let stored = agencies[2].agency.local.case(lead.id).await.unwrap()?;
        (stored.parts.len() == 2 && stored.parts.iter().all(|p| !p.answer.is_empty()))
            .then_some(stored.parts)
    })
    .await;
    assert!(
        parts
            .iter()
            .any(|p| p.answer == "Водопостачання відновлено")
    );
    agencies[2]
        .agency
        .act(
            lead.id,
            Action::Resolve {
                answer: "Зведена відповідь: воду подано, тепломережу перевірено".into(),
                measures: String::new(),
                attachments: vec![],
                outcome: pb::Outcome::Explained,
                outcome_detail: String::new(),
            },
        )
        .await
        .unwrap();
    let mut analyst = hub.analyst().await;
    for code in ["vodokanal", "heating", "city-council"] {
        let id = case(code).id;
        wait_for(&format!("{code}'s answer"), WAIT, || async {
            (case_status(&hub, id).await == hotline_hub::domain::CaseStatus::Resolved).then_some(())
        })
        .await;
        analyst
            .verify_answer(pb::VerifyAnswerRequest {
                case_id: id,
                verdict: pb::Verdict::Accept as i32,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    // One consolidated answer reaches the citizen (the phone-only citizen: the call queue).
    let notices = hub
        .operator()
        .await
        .list_notices(pb::ListNoticesRequest {
            appeal_number: appeal.number.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices;
    let answer = notices
        .iter()
        .find(|n| n.kind == pb::NoticeKind::Answer as i32)
        .unwrap();
    assert!(answer.text.contains("Зведена відповідь"), "{}", answer.text);
    assert!(
        !answer.text.contains("Тепломережу перевірено\n"),
        "{}",
        answer.text
    );
    for agency in agencies {
        agency.stop().await;
    }
    hub.stop().await;
}

/// Thirty calls about one burst main: one incident, assigned once, answered once; each appeal
/// closes after its own call-back; an unsatisfied caller leaves the incident for triage.
async fn an_incident_answers_thirty_appeals_once<S: Store>(hub: TestHub<S>) {
    let primary = register(&hub, card("0504000000")).await;
    let mut incidents = incidents(&hub).await;
    let opened = incidents
        .open_incident(pb::OpenIncidentRequest {
            primary_number: primary.number.clone(),
            title: "Немає води: аварія на магістралі, Дніпровський район".into(),
            description: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let id = opened.incident.unwrap().id;
    // The operator's form suggests the open incident for the same category and district.
    let suggested = IncidentsClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Operator))
            .await,
    )
    .list_incidents(pb::ListIncidentsRequest {
        status: pb::IncidentStatus::Open as i32,
        category_code: "07.01".into(),
        district_code: "dniprovskyi".into(),
        limit: 0,
    })
    .await
    .unwrap()
    .into_inner()
    .incidents;
    assert_eq!(suggested.iter().map(|i| i.id).collect::<Vec<_>>(), [id]);

    let mut followers = Vec::new();
    for i in 1..=30 {
        followers.push(
            register(&hub, card(&format!("05040000{i:02}")))
                .await
                .number,
        );
    }
    let detail = incidents
        .attach_to_incident(pb::AttachToIncidentRequest {
            incident_id: id,
            appeal_numbers: followers.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(detail.appeals.len(), 31);
    assert!(
        detail
            .appeals
            .iter()
            .all(|a| a.sign == pb::Sign::Mass as i32)
    );
    assert_eq!(
        queue(&hub, pb::Queue::Triage).await,
        std::slice::from_ref(&primary.number),
        "followers wait with their incident"
    );
    // An assigned appeal cannot follow; nothing changes.
    let other = register(&hub, card("0504000099")).await;
    assign(&hub, &other.number, &["vodokanal"], "")
        .await
        .unwrap();
    let err = incidents
        .attach_to_incident(pb::AttachToIncidentRequest {
            incident_id: id,
            appeal_numbers: vec![other.number.clone()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");

    // Assigned once, answered once.
    let assigned = assign(&hub, &primary.number, &["vodokanal"], "")
        .await
        .unwrap();
    let case_id = assigned.cases[0].id;
    hotline_tests::authority_answers(&hub, case_id, "Магістраль відремонтовано, воду подано").await;
    hub.analyst()
        .await
        .verify_answer(pb::VerifyAnswerRequest {
            case_id,
            verdict: pb::Verdict::Accept as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let answered = incidents
        .get_incident(pb::GetIncidentRequest { incident_id: id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answered.incident.unwrap().status,
        pb::IncidentStatus::Answered as i32
    );
    assert!(
        answered
            .appeals
            .iter()
            .all(|a| a.status == pb::AppealStatus::AwaitingConfirmation as i32),
        "every appeal has the answer"
    );
    assert_eq!(
        count_rows(&hub, "SELECT COUNT(*) FROM cases").await,
        2,
        "one case for the incident (and the unrelated appeal's)"
    );
    let answer_notices = count_rows(
        &hub,
        "SELECT COUNT(*) FROM notices WHERE kind = 'answer' AND text LIKE '%Магістраль%'",
    )
    .await;
    assert_eq!(answer_notices, 31, "each citizen is told the answer");

    // Each closes after its own call-back; one caller is not satisfied and leaves the incident.
    let mut operator = hub.operator().await;
    let (unhappy, happy) = followers.split_last().unwrap();
    for number in happy.iter().chain([&primary.number]) {
        let closed = operator
            .record_callback(pb::RecordCallbackRequest {
                number: number.clone(),
                outcome: pb::CallbackOutcome::Confirmed as i32,
                satisfaction: 4,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(closed.status, pb::AppealStatus::Closed as i32, "{number}");
        assert_eq!(closed.outcome, pb::Outcome::Resolved as i32, "{number}");
    }
    let left = operator
        .record_callback(pb::RecordCallbackRequest {
            number: unhappy.clone(),
            outcome: pb::CallbackOutcome::NotConfirmed as i32,
            note: "у моєму будинку води досі немає".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.status, pb::AppealStatus::Registered as i32);
    assert_eq!(left.incident_id, 0);
    assert_eq!(
        queue(&hub, pb::Queue::Triage).await,
        std::slice::from_ref(unhappy)
    );
    let closed = count_rows(
        &hub,
        &format!("SELECT COUNT(*) FROM appeals WHERE incident_id = {id} AND status = 'closed'"),
    )
    .await;
    assert_eq!(closed, 30);

    let daily = ReportsClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Supervisor))
            .await,
    )
    .daily_report(pb::PeriodRequest::default())
    .await
    .unwrap()
    .into_inner();
    assert_eq!((daily.incidents_opened, daily.incident_appeals), (1, 30));
    hub.stop().await;
}

/// The quarterly form by the classifier's dimensions, checked cell by cell against a fixture
/// computed by hand.
async fn the_quarterly_form_counts_every_dimension<S: Store>(hub: TestHub<S>) {
    // Five appeals in 07.01 and one in section 07:
    // 1. complaint, ubd + idp, primary          4. application, idp, duplicate
    // 2. complaint, ubd, repeat of 1            5. proposal, collective (3 signatories)
    // 3. complaint, anonymous call              6. (section 07) application, large-family
    let first = register(
        &hub,
        pb::RegisterAppealRequest {
            author_categories: vec!["ubd".into(), "idp".into()],
            ..card("0505000001")
        },
    )
    .await;
    let repeat = register(
        &hub,
        pb::RegisterAppealRequest {
            author_categories: vec!["ubd".into()],
            ..card("0505000001")
        },
    )
    .await;
    assert_eq!(repeat.repeat_of, first.number);
    assert_eq!(
        repeat.sign,
        pb::Sign::Repeat as i32,
        "set by the repeat the hub found"
    );
    let mut anonymous = card("0505000003");
    anonymous.anonymous = true;
    anonymous.citizen.as_mut().unwrap().name.clear();
    register(&hub, anonymous).await;
    register(
        &hub,
        pb::RegisterAppealRequest {
            kind: pb::AppealKind::Application as i32,
            author_categories: vec!["idp".into()],
            sign: pb::Sign::Duplicate as i32,
            ..card("0505000004")
        },
    )
    .await;
    register(
        &hub,
        pb::RegisterAppealRequest {
            kind: pb::AppealKind::Proposal as i32,
            signatories: 3,
            contact_person: "Коваль Іван".into(),
            ..card("0505000005")
        },
    )
    .await;
    register(
        &hub,
        pb::RegisterAppealRequest {
            kind: pb::AppealKind::Application as i32,
            category_code: "07".into(),
            author_categories: vec!["large-family".into()],
            ..card("0505000006")
        },
    )
    .await;

    let today = hotline_hub::domain::deadline::kyiv_date(hub.hotline.now());
    let quarter = ReportsClient::new(
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
    let column = |name: &str| {
        sheet
            .columns
            .iter()
            .position(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no column {name}: {:?}", sheet.columns))
    };
    let cell = |code: &str, name: &str| {
        let row = sheet
            .rows
            .iter()
            .find(|r| r[0] == Cell::Text(code.into()))
            .unwrap_or_else(|| panic!("no row {code}"));
        match &row[column(name)] {
            Cell::Int(n) => *n,
            other => panic!("{code}/{name}: {other:?}"),
        }
    };
    // (row, column, expected) — by hand from the six appeals above.
    let expected: &[(&str, &str, i64)] = &[
        ("07.01", "proposals", 1),
        ("07.01", "applications", 1),
        ("07.01", "complaints", 3),
        ("07.01", "total", 5),
        ("07.01", "sign: primary", 3),
        ("07.01", "sign: repeat", 1),
        ("07.01", "sign: duplicate", 1),
        ("07.01", "sign: mass", 0),
        ("07.01", "author: ubd", 2),
        ("07.01", "author: idp", 2),
        ("07.01", "author: large-family", 0),
        ("07.01", "collective", 1),
        ("07.01", "anonymous", 1),
        ("07", "applications", 2),
        ("07", "total", 6),
        ("07", "sign: primary", 4),
        ("07", "author: large-family", 1),
        ("07", "author: idp", 2),
        ("total", "total", 6),
        ("total", "complaints", 3),
        ("total", "author: ubd", 2),
        ("total", "other or open", 6),
    ];
    for (code, name, want) in expected {
        assert_eq!(cell(code, name), *want, "{code} / {name}");
    }
    assert!(
        sheet
            .columns
            .iter()
            .any(|c| c == "author: ubd Учасники бойових дій"),
        "headers name the categories: {:?}",
        sheet.columns
    );
    hub.stop().await;
}

on_both!(
    priority_appeals_come_first,
    a_lead_consolidates_its_co_executors_parts,
    an_incident_answers_thirty_appeals_once,
    the_quarterly_form_counts_every_dimension
);
on_both_with_clock!(an_emergency_is_due_in_hours);
