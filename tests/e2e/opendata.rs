//! The public listener on both databases: Open311 GeoReport v2 checked field by field against the
//! specification (JSON and XML, filters, the 90-day window, errors in the specification's format),
//! the monthly export, and no personal data in any public answer or export.

use std::net::SocketAddr;

use hotline_hub::principal::StaffRole;
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_proto::v1::reports_client::ReportsClient;
use hotline_tests::http::get;
use hotline_tests::{TestHub, on_both, water_complaint};
use tokio::sync::watch;

/// Starts the public listener of `hub` on an ephemeral port.
async fn public<S: Store>(hub: &TestHub<S>) -> (SocketAddr, watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(hotline_hub::api::opendata::serve(
        listener,
        hub.hotline.clone(),
        None,
        stopped,
    ));
    (addr, stop)
}

/// Appeals with personal data the public must never see; the second agreed to publish its text.
async fn appeals<S: Store>(hub: &TestHub<S>) -> Vec<pb::Appeal> {
    let mut operator = hub.operator().await;
    let mut out = Vec::new();
    for (i, publishable) in [(1, false), (2, true), (3, false)] {
        let mut card = water_complaint();
        let citizen = card.citizen.as_mut().unwrap();
        citizen.name = format!("Приватна Особа{i}");
        citizen.phone = format!("+38067000000{i}");
        citizen.email = format!("private{i}@example.org");
        citizen.address = format!("вул. Таємна, {i}, кв. 9");
        card.text = format!("Текст звернення номер {i}: приватні подробиці");
        card.publishable = publishable;
        out.push(operator.register_appeal(card).await.unwrap().into_inner());
    }
    let mut analyst = hub.analyst().await;
    analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: out[0].number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    // The third ends (not considered) so there is a closed request.
    analyst
        .close_appeal(pb::CloseAppealRequest {
            number: out[2].number.clone(),
            outcome: pb::CloseOutcome::NotConsidered as i32,
            reason: "повторне без нових обставин".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    out
}

fn is_w3c(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

async fn open311_follows_the_specification<S: Store>(hub: TestHub<S>) {
    let list = appeals(&hub).await;
    let (addr, _stop) = public(&hub).await;

    // GET services: every field the specification names, of its type.
    let services = get(addr, "/open311/v2/services.json").await;
    assert_eq!(services.status, 200);
    assert!(
        services
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let services = services.json();
    let water = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "07.01")
        .expect("the subject 07.01 is a service");
    for field in [
        "service_code",
        "service_name",
        "description",
        "keywords",
        "group",
        "type",
    ] {
        assert!(water[field].is_string(), "{field}: {water}");
    }
    assert_eq!(water["metadata"], false);
    assert!(["realtime", "batch", "blackbox"].contains(&water["type"].as_str().unwrap()));
    // GET service definition.
    let definition = get(addr, "/open311/v2/services/07.01.json").await.json();
    assert_eq!(definition["service_code"], "07.01");
    assert!(definition["attributes"].as_array().unwrap().is_empty());
    let missing = get(addr, "/open311/v2/services/99.99.json").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()[0]["code"],
        404,
        "errors in the specification's format"
    );

    // GET requests: the default window holds all three, oldest first, each field per spec.
    let all = get(addr, "/open311/v2/requests.json").await.json();
    let all = all.as_array().unwrap();
    assert_eq!(
        all.iter()
            .map(|r| r["service_request_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        list.iter().map(|a| a.number.as_str()).collect::<Vec<_>>()
    );
    let first = &all[0];
    assert_eq!(first["status"], "open");
    assert_eq!(first["service_code"], "07.01");
    assert!(first["service_name"].is_string());
    assert_eq!(first["agency_responsible"], "КП «Дніпроводоканал»");
    assert_eq!(first["address"], "Дніпро, Дніпровський район");
    for field in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        assert!(is_w3c(first[field].as_str().unwrap()), "{field}: {first}");
    }
    assert!(
        first.get("description").is_none(),
        "not publishable: no description"
    );
    assert_eq!(
        all[1]["description"],
        "Текст звернення номер 2: приватні подробиці"
    );
    assert_eq!(all[2]["status"], "closed");
    // Filters: ids, status, service code; the window.
    let by_id = get(
        addr,
        &format!(
            "/open311/v2/requests.json?service_request_id={},{}",
            list[0].number, list[2].number
        ),
    )
    .await
    .json();
    assert_eq!(by_id.as_array().unwrap().len(), 2);
    let closed = get(addr, "/open311/v2/requests.json?status=closed")
        .await
        .json();
    assert_eq!(closed.as_array().unwrap().len(), 1);
    let other = get(addr, "/open311/v2/requests.json?service_code=07.02")
        .await
        .json();
    assert!(other.as_array().unwrap().is_empty());
    let now = chrono::Utc::now();
    let too_long = get(
        addr,
        &format!(
            "/open311/v2/requests.json?start_date={}&end_date={}",
            (now - chrono::Duration::days(120))
                .to_rfc3339()
                .replace('+', "%2B"),
            now.to_rfc3339().replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(too_long.status, 400);
    assert!(
        too_long.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("90 days")
    );
    let old = get(
        addr,
        &format!(
            "/open311/v2/requests.json?end_date={}",
            (now - chrono::Duration::days(100))
                .to_rfc3339()
                .replace('+', "%2B")
        ),
    )
    .await
    .json();
    assert!(
        old.as_array().unwrap().is_empty(),
        "nothing before the window"
    );
    assert_eq!(
        get(addr, "/open311/v2/requests.json?status=lost")
            .await
            .status,
        400
    );
    // GET one request; an unknown one is a 404 in the specification's format.
    let one = get(
        addr,
        &format!("/open311/v2/requests/{}.json", list[0].number),
    )
    .await
    .json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["service_request_id"], list[0].number.as_str());
    let unknown = get(addr, "/open311/v2/requests/DP-1999-000001.json").await;
    assert_eq!(unknown.status, 404);

    // XML as the specification allows, with its element names; XML errors.
    let xml = get(addr, "/open311/v2/requests.xml").await;
    assert!(xml.header("content-type").unwrap().starts_with("text/xml"));
    let mut reader = quick_xml::Reader::from_str(&xml.body);
    let mut names = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => names.push(e.name().into_inner().to_string()),
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(names[0], "service_requests");
    assert_eq!(names.iter().filter(|n| *n == "request").count(), 3);
    assert!(names.contains(&"service_request_id".to_string()));
    let services_xml = get(addr, "/open311/v2/services.xml").await.body;
    assert!(
        services_xml.contains("<services><service><service_code>"),
        "{services_xml}"
    );
    let xml_error = get(addr, "/open311/v2/requests/nothing.xml").await;
    assert_eq!(xml_error.status, 404);
    assert!(
        xml_error.body.contains("<errors><error><code>404</code>"),
        "{}",
        xml_error.body
    );
    // Read-only.
    let post = hotline_tests::http::request(addr, "POST", "/open311/v2/requests.json").await;
    assert_eq!(post.status, 405);
    hub.stop().await;
}

async fn no_personal_data_leaves_the_public_listener<S: Store>(hub: TestHub<S>) {
    let list = appeals(&hub).await;
    let (addr, _stop) = public(&hub).await;
    let today = hotline_hub::domain::deadline::kyiv_date(chrono::Utc::now());
    let month = today.format("%Y/%m").to_string();
    let mut bodies = Vec::new();
    for path in [
        "/open311/v2/services.json".to_string(),
        "/open311/v2/requests.json".to_string(),
        "/open311/v2/requests.xml".to_string(),
        format!("/open311/v2/requests/{}.json", list[0].number),
        format!("/open311/v2/requests/{}.xml", list[2].number),
        format!("/open-data/{month}.json"),
        format!("/open-data/{month}.csv"),
    ] {
        let answer = get(addr, &path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        bodies.push((path, answer.body));
    }
    // The month's export through the staff CLI's report too.
    let rows = ReportsClient::new(
        hub.channel_as(&hotline_tests::staff(StaffRole::Supervisor))
            .await,
    )
    .open_data_month(pb::OpenDataMonthRequest {
        month: today.format("%Y-%m").to_string(),
    })
    .await
    .unwrap()
    .into_inner()
    .rows;
    assert_eq!(rows.len(), 3);
    let sheet = hotline_hub::cli::sheets::open_data_sheet("m", &rows);
    bodies.push((
        "hub report open-data (csv)".into(),
        hotline_hub::cli::report::to_csv(std::slice::from_ref(&sheet)),
    ));
    bodies.push((
        "hub report open-data (json)".into(),
        hotline_hub::cli::report::to_json(&[sheet]).to_string(),
    ));
    let month_json = &bodies
        .iter()
        .find(|(p, _)| p.ends_with(".json") && p.starts_with("/open-data"))
        .unwrap()
        .1;
    let month: serde_json::Value = serde_json::from_str(month_json).unwrap();
    let first = &month[0];
    for field in [
        "id",
        "received_at",
        "section",
        "subject",
        "settlement",
        "district",
        "channel",
        "outcome",
        "closed_at",
    ] {
        assert!(first.get(field).is_some(), "{field}: {first}");
    }
    assert_eq!(
        month[2]["outcome"], "",
        "a not-considered appeal has no outcome"
    );
    for i in 1..=3 {
        let personal = [
            format!("Приватна Особа{i}"),
            format!("38067000000{i}"),
            format!("private{i}@example.org"),
            "Таємна".to_string(),
        ];
        for (path, body) in &bodies {
            for secret in &personal {
                assert!(!body.contains(secret.as_str()), "{path} shows `{secret}`");
            }
        }
    }
    for (path, body) in &bodies {
        assert!(
            !body.contains("номер 1:") && !body.contains("номер 3:"),
            "{path} shows a text not marked public"
        );
    }
    hub.stop().await;
}

on_both!(
    open311_follows_the_specification,
    no_personal_data_leaves_the_public_listener
);
