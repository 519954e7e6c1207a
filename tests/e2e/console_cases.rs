//! The analyst's work on one case, in the browser, on both databases, each step answering a real
//! agency client's request: a declined case re-routed to another authority, more time granted, an
//! authority's question answered; and incidents gathering the calls about one event.

use hotline_agency_client::Action;
use hotline_hub::store::{AppealKey, Store};
use hotline_proto::v1 as pb;
use hotline_tests::agency::{RunningAgency, start_agency};
use hotline_tests::browser::Browser;
use hotline_tests::{TestHub, on_both, wait_for};

use super::console::{
    PASSWORD, WAIT, choose, click, console, fill, reload_until, sign_in, text_with,
};

/// The case of `number` for `authority`, once its agency client has it.
async fn case_at<S: Store>(
    hub: &TestHub<S>,
    agency: &RunningAgency,
    number: &str,
    authority: &str,
) -> i64 {
    wait_for(&format!("{authority}'s case"), WAIT, || async {
        let state = hub
            .store
            .load(&AppealKey::Number(number.to_string()))
            .await
            .unwrap()?;
        let id = state
            .cases
            .iter()
            .find(|c| c.authority_code == authority)?
            .id;
        agency.agency.local.case(id).await.unwrap().map(|_| id)
    })
    .await
}

/// The analyst's part beside an appeal: a declined case re-routed, more time granted, an
/// authority's question answered — each by the real agency clients' requests.
async fn analyst_handles_cases<S: Store>(hub: TestHub<S>) {
    let console = console(&hub).await;
    let card = pb::RegisterAppealRequest {
        needs_study: true,
        ..hotline_tests::water_complaint()
    };
    let number = hub
        .operator()
        .await
        .register_appeal(card)
        .await
        .unwrap()
        .into_inner()
        .number;
    hub.analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let vodokanal = start_agency(&hub, "vodokanal").await;
    let declined = case_at(&hub, &vodokanal, &number, "vodokanal").await;
    vodokanal
        .agency
        .act(
            declined,
            Action::Decline {
                reason: "Не наша мережа".into(),
            },
        )
        .await
        .unwrap();

    let browser = Browser::start().await.unwrap();
    let client = browser.client();
    sign_in(&console, client, "olena", PASSWORD).await;
    text_with(client, "h1", "Черги аналітика").await;
    client
        .goto(&format!("{}/appeals/{number}", console.url))
        .await
        .unwrap();
    reload_until(client, &format!("#case-{declined}"), "Не наша мережа").await;
    // The decline reached the hub: its authority's client has nothing more to do.
    vodokanal.stop().await;
    choose(client, &format!("#reroute-{declined}"), "city-council").await;
    click(client, &format!("#case-{declined} form button")).await;
    text_with(client, "#cases-h", "Виконавці").await;

    let council = start_agency(&hub, "city-council").await;
    let moved = case_at(&hub, &council, &number, "city-council").await;
    council.agency.act(moved, Action::Accept).await.unwrap();
    let to = hotline_hub::domain::deadline::kyiv_date(chrono::Utc::now()) + chrono::Days::new(40);
    council
        .agency
        .act(
            moved,
            Action::Extend {
                to,
                reason: "Потрібна експертиза".into(),
            },
        )
        .await
        .unwrap();
    reload_until(client, &format!("#case-{moved}"), "Потрібна експертиза").await;
    console.shot(&browser, "console-extension").await;
    click(client, &format!("#extend-{moved}")).await;
    text_with(client, &format!("#case-{moved}"), &format!("строк {to}")).await;

    council
        .agency
        .act(
            moved,
            Action::Ask {
                question: "Уточніть номер будинку".into(),
            },
        )
        .await
        .unwrap();
    reload_until(client, &format!("#case-{moved}"), "Уточніть номер будинку").await;
    fill(client, &format!("#answer-{moved}"), "Будинок 15").await;
    click(client, &format!("#case-{moved} form button")).await;
    text_with(
        client,
        &format!("#case-{moved} .case-status"),
        "виконується",
    )
    .await;

    // The citizen withdraws: the analyst ends the appeal as not considered (art. 8), with a reason.
    choose(client, "#close-outcome", "not_considered").await;
    fill(client, "#close-reason", "Заявник відкликав звернення").await;
    click(client, "#close-appeal").await;
    text_with(client, "#status", "не розглядається").await;

    council.stop().await;
    browser.close().await;
}

/// An incident opened around one appeal in the browser, a second call about the same event
/// attached from its own page.
async fn incidents_gather_appeals<S: Store>(hub: TestHub<S>) {
    let console = console(&hub).await;
    let mut operator = hub.operator().await;
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let appeal = operator
            .register_appeal(hotline_tests::water_complaint())
            .await
            .unwrap()
            .into_inner();
        numbers.push(appeal.number);
    }
    hub.analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: numbers[0].clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();

    let browser = Browser::start().await.unwrap();
    let client = browser.client();
    sign_in(&console, client, "olena", PASSWORD).await;
    text_with(client, "h1", "Черги аналітика").await;
    client
        .goto(&format!("{}/appeals/{}", console.url, numbers[0]))
        .await
        .unwrap();
    fill(
        client,
        "#incident-title-input",
        "Прорив магістралі на Набережній",
    )
    .await;
    click(client, "#open-incident").await;
    text_with(client, "#incident-title", "Прорив магістралі").await;
    let id: i64 = client
        .current_url()
        .await
        .unwrap()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    client
        .goto(&format!("{}/appeals/{}", console.url, numbers[1]))
        .await
        .unwrap();
    click(client, &format!("#attach-{id}")).await;
    text_with(client, "#incident-appeals", &numbers[1]).await;
    text_with(client, "#incident-appeals", &numbers[0]).await;
    console.shot(&browser, "console-incident").await;
    client
        .goto(&format!("{}/incidents", console.url))
        .await
        .unwrap();
    text_with(client, "#incidents", "Прорив магістралі").await;
    browser.close().await;
}

on_both!(analyst_handles_cases, incidents_gather_appeals);
