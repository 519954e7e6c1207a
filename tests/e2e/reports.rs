//! Monitoring: the deadline monitor (once per deadline, across restarts, one hub per cluster), repeat
//! detection, and every report's numbers against a hand-computed fixture; CSV and XLSX files reopen
//! with the same numbers; charts are well-formed SVG.

use chrono::{Days, Utc};
use hotline_hub::app::Hotline;
use hotline_hub::cli::report::{self, Cell, Sheet};
use hotline_hub::domain::deadline::kyiv_date;
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_proto::v1::reports_client::ReportsClient;
use hotline_tests::{TestHub, on_both, water_complaint};

type Registry =
    hotline_proto::v1::appeal_registry_client::AppealRegistryClient<tonic::transport::Channel>;

/// Registers a water complaint with its own phone, received at `received_at` (RFC 3339, empty = now).
async fn register(
    operator: &mut Registry,
    phone: &str,
    kind: pb::AppealKind,
    category: &str,
    district: &str,
    received_at: &str,
) -> pb::Appeal {
    let mut card = water_complaint();
    card.citizen.as_mut().unwrap().phone = phone.into();
    card.kind = kind as i32;
    card.category_code = category.into();
    card.district_code = district.into();
    if district != "dniprovskyi" {
        card.settlement_code = String::new();
    }
    if !received_at.is_empty() {
        // Registered late on purpose (a fixture spread over time): the Law wants the reason.
        card.backdate_reason = "entered from the paper register".into();
    }
    card.received_at = received_at.into();
    operator.register_appeal(card).await.unwrap().into_inner()
}

async fn assign(analyst: &mut Registry, number: &str, authority: &str) -> i64 {
    let appeal = analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: number.into(),
            assignments: vec![pb::Assignment {
                authority_code: authority.into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    appeal.cases.last().unwrap().id
}

async fn verify(analyst: &mut Registry, case_id: i64, verdict: pb::Verdict, reason: &str) {
    analyst
        .verify_answer(pb::VerifyAnswerRequest {
            case_id,
            verdict: verdict as i32,
            reason: reason.into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn call_back(
    operator: &mut Registry,
    number: &str,
    outcome: pb::CallbackOutcome,
) -> pb::Appeal {
    operator
        .record_callback(pb::RecordCallbackRequest {
            number: number.into(),
            outcome: outcome as i32,
            note: "n".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

fn count(items: &[pb::LabelCount], label: &str) -> i64 {
    items
        .iter()
        .find(|c| c.label == label)
        .map_or(0, |c| c.count)
}

async fn reports_client<S: Store>(hub: &TestHub<S>) -> ReportsClient<tonic::transport::Channel> {
    ReportsClient::new(
        hub.channel_as(&hotline_tests::staff(
            hotline_hub::principal::StaffRole::Supervisor,
        ))
        .await,
    )
}

/// Four appeals whose every number is known (see the comments), checked in every report.
async fn reports_match_a_hand_computed_fixture<S: Store>(hub: TestHub<S>) {
    let mut operator = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let started = Utc::now();
    // A1: received now, vodokanal answers on time, confirmed.
    let a1 = register(
        &mut operator,
        "0501111111",
        pb::AppealKind::Complaint,
        "07.01",
        "dniprovskyi",
        "",
    )
    .await;
    // A2: same phone, category and district: a repeat of A1; answered, returned once, answered again,
    //     verified, the citizen unreachable three times: closed unconfirmed.
    let a2 = register(
        &mut operator,
        "0501111111",
        pb::AppealKind::Complaint,
        "07.01",
        "dniprovskyi",
        "",
    )
    .await;
    assert_eq!(a2.repeat_of, a1.number, "detected as a repeat");
    // A3: received 2026-10-05 (deadline 2026-10-20): city-council never answers: overdue now.
    let a3 = register(
        &mut operator,
        "0502222222",
        pb::AppealKind::Application,
        "07.01",
        "kryvorizkyi",
        "2026-10-05T09:00:00Z",
    )
    .await;
    // A4: received 2026-10-06: city-council answers late (after its deadline 2026-11-06).
    let a4 = register(
        &mut operator,
        "0503333333",
        pb::AppealKind::Proposal,
        "07",
        "kryvorizkyi",
        "2026-10-06T09:00:00Z",
    )
    .await;
    assert!(
        a3.repeat_of.is_empty() && a4.repeat_of.is_empty(),
        "other phones are not repeats"
    );

    let c1 = assign(&mut analyst, &a1.number, "vodokanal").await;
    let c2 = assign(&mut analyst, &a2.number, "vodokanal").await;
    let c3 = assign(&mut analyst, &a3.number, "city-council").await;
    let c4 = assign(&mut analyst, &a4.number, "city-council").await;
    hotline_tests::authority_answers(&hub, c1, "done").await;
    verify(&mut analyst, c1, pb::Verdict::Accept, "").await;
    call_back(&mut operator, &a1.number, pb::CallbackOutcome::Confirmed).await;
    hotline_tests::authority_answers(&hub, c2, "first try").await;
    verify(&mut analyst, c2, pb::Verdict::Return, "no date").await;
    hotline_tests::authority_answers(&hub, c2, "second try").await;
    verify(&mut analyst, c2, pb::Verdict::Accept, "").await;
    // Unreachable: one attempt today (the Law spaces the others over days), then the analyst
    // closes it unconfirmed.
    call_back(&mut operator, &a2.number, pb::CallbackOutcome::Unreachable).await;
    analyst
        .close_appeal(pb::CloseAppealRequest {
            number: a2.number.clone(),
            outcome: pb::CloseOutcome::Unconfirmed as i32,
            reason: "citizen unreachable".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    hotline_tests::authority_answers(&hub, c4, "late answer").await;
    verify(&mut analyst, c4, pb::Verdict::Accept, "").await;
    let _ = c3;
    let finished = Utc::now();

    let mut reports = reports_client(&hub).await;
    let today = kyiv_date(Utc::now()).to_string();

    // The daily report for today.
    let daily = reports
        .daily_report(pb::PeriodRequest {
            from: String::new(),
            to: today.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(daily.received, 2, "A1 and A2 were received today");
    assert_eq!(
        (
            count(&daily.by_channel, "phone"),
            count(&daily.by_kind, "complaint")
        ),
        (2, 2)
    );
    assert_eq!(
        (
            count(&daily.closed, "closed"),
            count(&daily.closed, "closed_unconfirmed")
        ),
        (1, 1)
    );
    assert_eq!(daily.open_now, 2, "A3 and A4");
    assert_eq!(daily.overdue_now, 1, "A3's case");
    assert_eq!(
        daily.returned_for_rework, 1,
        "A2's case, among today's appeals"
    );
    let answers = daily.time_to_answer.unwrap();
    assert_eq!(answers.count, 3, "accepted answers of A1, A2 and A4 today");
    // A4's case waited since it was assigned today; all three answered within the test's run.
    let run_hours = (finished - started).num_seconds() as f64 / 3600.0 + 0.01;
    assert!(answers.p90_hours <= run_hours, "{answers:?}");
    let closings = daily.time_to_close.unwrap();
    assert_eq!(closings.count, 2);
    assert!(closings.median_hours <= run_hours && closings.p90_hours <= run_hours);

    // The daily report for the week A3 and A4 were received.
    let october = reports
        .daily_report(pb::PeriodRequest {
            from: "2026-10-05".into(),
            to: "2026-10-11".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(october.received, 2);
    assert_eq!(
        (
            count(&october.by_district, "kryvorizkyi"),
            count(&october.by_category, "07.01"),
            count(&october.by_category, "07")
        ),
        (2, 1, 1)
    );
    assert_eq!(
        (
            count(&october.by_kind, "application"),
            count(&october.by_kind, "proposal")
        ),
        (1, 1)
    );
    assert!(october.closed.is_empty());

    // Authorities' ratings for cases assigned today, worst first.
    let ratings = reports
        .authority_ratings(pb::PeriodRequest {
            from: String::new(),
            to: today.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<&str> = ratings
        .ratings
        .iter()
        .map(|r| r.authority_code.as_str())
        .collect();
    assert_eq!(codes, ["city-council", "vodokanal"]);
    let council = &ratings.ratings[0];
    assert_eq!(
        (
            council.assigned,
            council.answered,
            council.overdue_now,
            council.repeats
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(
        (
            council.on_time_percent,
            council.returned_percent,
            council.confirmed_percent
        ),
        (Some(0.0), Some(0.0), None),
        "nothing of the council's ended yet: its confirmed share is not 0%, it is unmeasured"
    );
    let vodokanal = &ratings.ratings[1];
    assert_eq!(
        (
            vodokanal.assigned,
            vodokanal.answered,
            vodokanal.overdue_now,
            vodokanal.repeats
        ),
        (2, 2, 0, 1)
    );
    assert_eq!(
        (
            vodokanal.on_time_percent,
            vodokanal.returned_percent,
            vodokanal.confirmed_percent
        ),
        (Some(100.0), Some(50.0), Some(50.0))
    );
    assert_eq!(vodokanal.authority_name, "КП «Дніпроводоканал»");

    // The quarterly summary of 2026 Q4: sections carry their subjects.
    let quarter = reports
        .quarterly_summary(pb::QuarterRequest {
            year: 2026,
            quarter: 4,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(quarter.total, 4);
    let row = |code: &str| {
        quarter
            .rows
            .iter()
            .find(|r| r.category_code == code)
            .cloned()
            .unwrap()
    };
    let section = row("07");
    assert_eq!(
        (
            section.proposals,
            section.applications,
            section.complaints,
            section.total
        ),
        (1, 1, 2, 4)
    );
    let subject = row("07.01");
    assert_eq!(
        (
            subject.proposals,
            subject.applications,
            subject.complaints,
            subject.total
        ),
        (0, 1, 2, 3)
    );

    // The files reopen with the same numbers.
    let sheets = report::daily_sheets(&october);
    let csv = report::to_csv(&sheets);
    let csv_value = |table: &str, label: &str| -> String {
        csv.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f.len() == 3 && f[0].starts_with(table) && f[1] == label)
            .map(|f| f[2].to_string())
            .unwrap_or_default()
    };
    assert_eq!(csv_value("Daily report", "received"), "2");
    assert_eq!(csv_value("Received by district", "kryvorizkyi"), "2");
    let ratings_csv = report::to_csv(&[report::ratings_sheet(&ratings)]);
    let vodokanal_line = ratings_csv
        .lines()
        .find(|l| l.starts_with("vodokanal,"))
        .unwrap();
    // assigned, answered, on time %, overdue, returned %, confirmed %, repeats, satisfaction
    // (none given: empty, not 0), its accepted answers by outcome, then priority cases (none:
    // their on-time share empty).
    assert!(
        vodokanal_line.ends_with(",2,2,100.00,0,50.00,50.00,1,,2,0,0,0,0,0,"),
        "{vodokanal_line}"
    );
    reopen_xlsx(&sheets);
    reopen_xlsx(&[report::quarterly_sheet(&quarter)]);

    // Charts render to well-formed SVG with a mark per datum.
    let per_day = reports
        .appeals_per_day(pb::PeriodRequest {
            from: "2026-10-01".into(),
            to: today.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let days: i64 = per_day.counts.iter().map(|c| c.count).sum();
    assert_eq!(days, 4);
    assert_svg(&hotline_hub::cli::chart::per_day(&per_day), 3);
    assert_svg(&hotline_hub::cli::chart::overdue(&ratings), 1);
    let trends = reports
        .trends(pb::TrendsRequest {
            to: today,
            period_days: 7,
            baseline_periods: 4,
        })
        .await
        .unwrap()
        .into_inner();
    assert_svg(&hotline_hub::cli::chart::heatmap(&trends), 1);

    // Bad periods are refused with the field named.
    let err = reports
        .daily_report(pb::PeriodRequest {
            from: "2026-10-10".into(),
            to: "2026-10-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().starts_with("from:"), "{}", err.message());
    for (request, field) in [
        (
            pb::TrendsRequest {
                to: String::new(),
                period_days: 200,
                baseline_periods: 0,
            },
            "period_days:",
        ),
        (
            pb::TrendsRequest {
                to: String::new(),
                period_days: 0,
                baseline_periods: 99,
            },
            "baseline_periods:",
        ),
        (
            pb::TrendsRequest {
                to: "yesterday".into(),
                period_days: 0,
                baseline_periods: 0,
            },
            "to:",
        ),
    ] {
        let err = reports.trends(request).await.unwrap_err();
        assert!(err.message().starts_with(field), "{}", err.message());
    }
    let err = reports
        .quarterly_summary(pb::QuarterRequest {
            year: 2026,
            quarter: 5,
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("quarter:"), "{}", err.message());
    hub.stop().await;
}

/// Reads an XLSX produced from `sheets` back and compares every cell.
fn reopen_xlsx(sheets: &[Sheet]) {
    use calamine::{Data, Reader, Xlsx};
    let bytes = report::to_xlsx(sheets).unwrap();
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let names = workbook.sheet_names();
    assert_eq!(names.len(), sheets.len());
    for (name, sheet) in names.iter().zip(sheets) {
        let range = workbook.worksheet_range(name).unwrap();
        let rows: Vec<_> = range.rows().collect();
        assert_eq!(rows.len(), sheet.rows.len() + 1, "{name}: header and rows");
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let read = &rows[r + 1][c];
                match (cell, read) {
                    (Cell::Int(n), Data::Float(f)) => assert_eq!(*n as f64, *f, "{name} r{r} c{c}"),
                    (Cell::Num(n), Data::Float(f)) => {
                        assert!((n - f).abs() < 1e-9, "{name} r{r} c{c}")
                    }
                    (Cell::Text(t), Data::String(s)) => assert_eq!(t, s),
                    (Cell::Text(t), Data::Empty) => assert!(t.is_empty()),
                    // Nothing measured: an empty cell, never a 0.
                    (Cell::Missing, Data::Empty) => {}
                    other => panic!("{name} r{r} c{c}: {other:?}"),
                }
            }
        }
    }
}

/// Parses `svg` fully and checks it has at least `min_marks` data rectangles (besides the background).
fn assert_svg(svg: &str, min_marks: usize) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut rects, mut root) = (0, None);
    loop {
        match reader.read_event().expect("well-formed SVG") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let name = e.name().into_inner().to_string();
                root.get_or_insert_with(|| name.clone());
                if name == "rect" {
                    rects += 1;
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    assert!(rects > min_marks, "{rects} rectangles");
}

/// A surge in one district × category is a pain point; a big but steady one is not.
async fn trends_flag_growth_not_size<S: Store>(hub: TestHub<S>) {
    let mut operator = hub.operator().await;
    let today = kyiv_date(Utc::now());
    let at = |days_ago: u64| format!("{}T09:00:00Z", today - Days::new(days_ago));
    let mut phone = 0;
    let mut add = async |n: usize, district: &str, days_ago: u64| {
        for _ in 0..n {
            phone += 1;
            register(
                &mut operator,
                &format!("0671{phone:06}"),
                pb::AppealKind::Complaint,
                "07.01",
                district,
                &at(days_ago),
            )
            .await;
        }
    };
    // Baseline: four weeks of 1 a week in dniprovskyi and 5 a week in kryvorizkyi.
    for week in 1..=4u64 {
        add(1, "dniprovskyi", week * 7 + 1).await;
        add(5, "kryvorizkyi", week * 7 + 1).await;
    }
    // This week: 8 in dniprovskyi (a surge), 6 in kryvorizkyi (more, but as usual).
    add(8, "dniprovskyi", 1).await;
    add(6, "kryvorizkyi", 1).await;
    let trends = reports_client(&hub)
        .await
        .trends(pb::TrendsRequest {
            to: today.to_string(),
            period_days: 7,
            baseline_periods: 4,
        })
        .await
        .unwrap()
        .into_inner();
    let cell = |district: &str| {
        trends
            .cells
            .iter()
            .find(|c| c.district_code == district)
            .cloned()
            .unwrap()
    };
    let surge = cell("dniprovskyi");
    assert_eq!(
        (surge.count, surge.baseline, surge.notable),
        (8, 1.0, true),
        "{surge:?}"
    );
    let steady = cell("kryvorizkyi");
    assert_eq!(
        (steady.count, steady.baseline, steady.notable),
        (6, 5.0, false),
        "{steady:?}"
    );
    assert!(steady.count < 10 && surge.p_value < 0.01 && steady.p_value > 0.2);
    assert_eq!(
        trends.cells[0].district_code, "dniprovskyi",
        "pain points first"
    );
    assert!(trends.method.contains("Poisson"));
    hub.stop().await;
}

/// The monitor announces due-soon and overdue cases once, even across a restart, and the
/// announcements reach the authority's feed; only one hub of a cluster holds the monitor's lease.
async fn the_deadline_monitor_announces_once<S: Store>(hub: TestHub<S>) {
    let mut operator = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let now = Utc::now();
    // 13 days ago: the 15-day deadline is in 2 days (due soon); 20 days ago: overdue.
    let soon = register(
        &mut operator,
        "0504444444",
        pb::AppealKind::Complaint,
        "07.01",
        "dniprovskyi",
        &(now - chrono::Duration::days(13)).to_rfc3339(),
    )
    .await;
    let late = register(
        &mut operator,
        "0505555555",
        pb::AppealKind::Complaint,
        "07.01",
        "dniprovskyi",
        &(now - chrono::Duration::days(20)).to_rfc3339(),
    )
    .await;
    let calm = register(
        &mut operator,
        "0506666666",
        pb::AppealKind::Complaint,
        "07.01",
        "dniprovskyi",
        "",
    )
    .await;
    let soon_case = assign(&mut analyst, &soon.number, "vodokanal").await;
    let late_case = assign(&mut analyst, &late.number, "vodokanal").await;
    let calm_case = assign(&mut analyst, &calm.number, "vodokanal").await;

    let announced = async |hub: &TestHub<S>| {
        let events = hotline_tests::settled_events(hub, Some("vodokanal")).await;
        events
            .into_iter()
            .filter(|e| e.kind == "case.due_soon" || e.kind == "case.overdue")
            .map(|e| (e.case_id.unwrap(), e.kind))
            .collect::<Vec<_>>()
    };
    hub.hotline.announce_deadlines(3, Utc::now()).await.unwrap();
    let first = announced(&hub).await;
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first.contains(&(soon_case, "case.due_soon".into())));
    assert!(first.contains(&(late_case, "case.overdue".into())));
    assert!(!first.iter().any(|(c, _)| *c == calm_case));

    // Again, and after a restart (a new hub over the same database): nothing new.
    hub.hotline.announce_deadlines(3, Utc::now()).await.unwrap();
    let reopened = Hotline::new(hub.store.clone());
    reopened.announce_deadlines(3, Utc::now()).await.unwrap();
    assert_eq!(announced(&hub).await, first);
    // Two days on, the due-soon case becomes overdue: announced once more, as overdue.
    reopened
        .announce_deadlines(3, Utc::now() + chrono::Duration::days(3))
        .await
        .unwrap();
    let later = announced(&hub).await;
    assert_eq!(later.len(), 3);
    assert_eq!(later[2], (soon_case, "case.overdue".into()));

    // One monitor per cluster: the lease is held by one holder until it expires.
    let store = &hub.store;
    let until = Utc::now() + chrono::Duration::seconds(60);
    assert!(
        store
            .try_lease("deadline-monitor", "hub-a", until, Utc::now())
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("deadline-monitor", "hub-a", until, Utc::now())
            .await
            .unwrap(),
        "renewed by its holder"
    );
    assert!(
        !store
            .try_lease("deadline-monitor", "hub-b", until, Utc::now())
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease(
                "deadline-monitor",
                "hub-a",
                Utc::now() - chrono::Duration::seconds(1),
                Utc::now()
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("deadline-monitor", "hub-b", until, Utc::now())
            .await
            .unwrap(),
        "taken over after expiry"
    );
    hub.stop().await;
}

on_both!(
    reports_match_a_hand_computed_fixture,
    trends_flag_growth_not_size,
    the_deadline_monitor_announces_once
);
