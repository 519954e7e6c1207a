//! The desk (`agency-client run --desk`) in a real browser (headless Chromium), against a real hub
//! over mutual TLS and a real agency client daemon, on SQLite and PostgreSQL: a clerk signs in,
//! accepts a case assigned through the hub, reports progress and submits the result with a
//! document uploaded from the browser, and the analyst sees the answer with the document; the
//! same with the hub stopped mid-way (the action shows queued, then confirmed once the hub is
//! back). [`access`]: a wrong password, the lockout, the keyboard, another authority's clerk;
//! [`shelves`]: a question answered and a result returned reach their shelves. Screenshots of each
//! page go to `target/screenshots/desk-*.png`.

use std::time::Duration;

use fantoccini::Locator;
use hotline_agency_client::desk::{self, DeskConfig, password};
use hotline_hub::domain::CaseStatus;
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_tests::agency::{RunningAgency, case_status, start_agency};
use hotline_tests::browser::Browser;
use hotline_tests::{TestHub, on_both, wait_for, water_complaint};
use tokio::sync::watch;

mod access;
mod shelves;

const WAIT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "сонячний-ранок-2026";
/// WebDriver's Tab and Enter keys.
const TAB: char = '\u{E004}';
const ENTER: char = '\u{E007}';

/// An authority's daemon with its desk on a free port and one clerk.
struct Desk {
    url: String,
    daemon: RunningAgency,
    stop: watch::Sender<bool>,
}

async fn open_desk<S: Store>(
    hub: &TestHub<S>,
    authority: &str,
    clerk: &str,
    config: DeskConfig,
) -> Desk {
    let daemon = start_agency(hub, authority).await;
    let hash = password::hash(PASSWORD).unwrap();
    assert!(daemon.agency.local.add_clerk(clerk, &hash).await.unwrap());
    let (stop, mut stopped) = watch::channel(false);
    let (addr, _task) = desk::spawn(
        "127.0.0.1:0".parse().unwrap(),
        daemon.agency.clone(),
        config,
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    )
    .await
    .expect("desk listens");
    Desk {
        url: format!("http://{addr}"),
        daemon,
        stop,
    }
}

impl Desk {
    async fn close(self) {
        let _ = self.stop.send(true);
        self.daemon.stop().await;
    }
}

/// Registers the water complaint and assigns it to `authority`: (appeal number, case id).
async fn assign<S: Store>(hub: &TestHub<S>, authority: &str) -> (String, i64) {
    assign_card(hub, authority, water_complaint(), "").await
}

/// Registers `card` and assigns it to `authority` with `deadline` (empty: the legal one).
async fn assign_card<S: Store>(
    hub: &TestHub<S>,
    authority: &str,
    card: pb::RegisterAppealRequest,
    deadline: &str,
) -> (String, i64) {
    let appeal = hub
        .operator()
        .await
        .register_appeal(card)
        .await
        .unwrap()
        .into_inner();
    let assigned = hub
        .analyst()
        .await
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: authority.into(),
                deadline: deadline.into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (appeal.number, assigned.cases[0].id)
}

async fn css(browser: &Browser, selector: &str) -> fantoccini::elements::Element {
    browser
        .client()
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no `{selector}` on the page: {e}"))
}

/// Signs in as `login` and waits for the answer (the next page, or the form with its error).
async fn sign_in(browser: &Browser, desk: &Desk, login: &str, password: &str) {
    let client = browser.client();
    client.goto(&format!("{}/login", desk.url)).await.unwrap();
    css(browser, "#login").await.send_keys(login).await.unwrap();
    css(browser, "#password")
        .await
        .send_keys(password)
        .await
        .unwrap();
    css(browser, "#sign-in").await.click().await.unwrap();
    // Wait for the answer to land (the next page, or the form again with its error): a `goto`
    // issued while the sign-in's redirect is on its way is overtaken by it (the console's tests
    // failed so).
    wait_for("the sign-in to be answered", WAIT, || async {
        let left = !client.current_url().await.ok()?.path().ends_with("/login");
        let refused = client.find(Locator::Css("#login-error")).await.is_ok();
        (left || refused).then_some(())
    })
    .await;
}

/// Polls the case page (reloading it) until `count` actions show `state` in its outbox.
async fn wait_outbox(browser: &Browser, state: &str, count: usize) {
    let client = browser.client();
    let selector = format!("#outbox li[data-state='{state}']");
    wait_for(
        &format!("{count} {state} action(s) on the page"),
        WAIT,
        || async {
            let found = client.find_all(Locator::Css(&selector)).await.ok()?.len();
            if found >= count {
                Some(())
            } else {
                let _ = client.refresh().await;
                None
            }
        },
    )
    .await;
}

/// Opens `url` again and again until `selector` is on the page.
async fn wait_page(browser: &Browser, url: &str, selector: &str) {
    let client = browser.client();
    wait_for(&format!("`{selector}` at {url}"), WAIT, || async {
        client.goto(url).await.ok()?;
        client.find(Locator::Css(selector)).await.ok().map(|_| ())
    })
    .await;
}

async fn set_date(browser: &Browser, id: &str, date: &str) {
    browser
        .client()
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![serde_json::json!(id), serde_json::json!(date)],
        )
        .await
        .unwrap();
}

/// The page's HTML, in one WebDriver command (the case page reloads itself while an action is
/// queued, so an element found a moment ago may be gone).
async fn page_text(browser: &Browser) -> String {
    browser.client().source().await.unwrap()
}

/// A clerk signs in, finds the case in the inbox, accepts it, reports progress and submits the
/// result with a document from the browser; the analyst sees the answer with the document.
async fn a_clerk_answers_a_case_at_the_desk<S: Store>(hub: TestHub<S>) {
    let (number, case_id) = assign(&hub, "vodokanal").await;
    // Two more, to be sorted before it: an emergency, and a veteran's appeal due in two days.
    let mut burst = water_complaint();
    burst.urgency = pb::Urgency::Emergency as i32;
    burst.text = "Прорив водогону на перехресті, вода затоплює підвали".into();
    let (_, emergency) = assign_card(&hub, "vodokanal", burst, "").await;
    let mut veteran = water_complaint();
    veteran.author_categories = vec!["ubd".into()];
    veteran.text = "Тиск води слабкий, на п'ятий поверх вода не доходить".into();
    let soon = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let (_, priority) = assign_card(&hub, "vodokanal", veteran, &soon).await;
    let desk = open_desk(&hub, "vodokanal", "olena", DeskConfig::default()).await;
    for id in [case_id, emergency, priority] {
        wait_for("the cases in the local store", WAIT, || async {
            desk.daemon.agency.local.case(id).await.unwrap()
        })
        .await;
    }
    let browser = Browser::start().await.expect("headless Chromium");
    let client = browser.client();

    // Nothing is shown without signing in.
    client.goto(&format!("{}/inbox", desk.url)).await.unwrap();
    css(&browser, "#sign-in").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
    browser.screenshot("desk-login").await.unwrap();

    sign_in(&browser, &desk, "olena", PASSWORD).await;
    let line = css(&browser, &format!("#inbox tr[data-case='{case_id}']")).await;
    assert!(line.text().await.unwrap().contains(&number));
    // Emergency first, then priority, then by deadline; the near deadline is marked.
    let mut order = Vec::new();
    for row in browser
        .client()
        .find_all(Locator::Css("#inbox tbody tr"))
        .await
        .unwrap()
    {
        order.push(row.attr("data-case").await.unwrap().unwrap_or_default());
    }
    let expected: Vec<String> = [emergency, priority, case_id]
        .iter()
        .map(i64::to_string)
        .collect();
    assert_eq!(order, expected);
    css(
        &browser,
        &format!("#inbox tr.due-soon[data-case='{priority}']"),
    )
    .await;
    // The inbox does not show the citizen's contact.
    assert!(!page_text(&browser).await.contains("Петренко Ганна"));
    // Search by address finds it; another word does not.
    client
        .goto(&format!("{}/inbox?q=Січеславська", desk.url))
        .await
        .unwrap();
    css(&browser, &format!("#inbox tr[data-case='{case_id}']")).await;
    client
        .goto(&format!("{}/inbox?q=газ", desk.url))
        .await
        .unwrap();
    css(&browser, "#inbox-empty").await;
    client.goto(&format!("{}/inbox", desk.url)).await.unwrap();
    browser.screenshot("desk-inbox").await.unwrap();

    // The case page shows the contact, and the showing is recorded.
    css(&browser, &format!("tr[data-case='{case_id}'] a.case-link"))
        .await
        .click()
        .await
        .unwrap();
    css(&browser, "#do-accept").await;
    assert!(
        css(&browser, "#citizen")
            .await
            .text()
            .await
            .unwrap()
            .contains("Петренко Ганна")
    );
    let views = desk
        .daemon
        .agency
        .local
        .contact_views(case_id)
        .await
        .unwrap();
    assert_eq!(views[0].login, "olena");
    browser.screenshot("desk-case").await.unwrap();

    css(&browser, "#do-accept").await.click().await.unwrap();
    wait_outbox(&browser, "confirmed", 1).await;
    assert!(page_text(&browser).await.contains("Квитанція хабу"));
    assert_eq!(case_status(&hub, case_id).await, CaseStatus::Accepted);

    // A report without its comment is refused by the desk itself, with the reason.
    css(&browser, "#do-report").await;
    client
        .execute(
            "document.getElementById('report-text').removeAttribute('required');",
            vec![],
        )
        .await
        .unwrap();
    css(&browser, "#do-report").await.click().await.unwrap();
    let invalid = css(&browser, "#report-text[aria-invalid='true']").await;
    assert_eq!(invalid.text().await.unwrap(), "");
    css(&browser, "#report-text")
        .await
        .send_keys("Бригаду направлено, заміна засувки")
        .await
        .unwrap();
    let planned = (chrono::Utc::now() + chrono::Duration::days(5))
        .format("%Y-%m-%d")
        .to_string();
    set_date(&browser, "report-date", &planned).await;
    css(&browser, "#do-report").await.click().await.unwrap();
    wait_outbox(&browser, "confirmed", 2).await;
    assert_eq!(case_status(&hub, case_id).await, CaseStatus::InProgress);

    // The result, with a document uploaded from the browser.
    let document = std::env::temp_dir().join(format!("akt-{}.txt", uuid::Uuid::new_v4()));
    std::fs::write(&document, "Акт виконаних робіт: засувку замінено.").unwrap();
    css(&browser, "#resolve-outcome")
        .await
        .select_by_value("resolved")
        .await
        .unwrap();
    css(&browser, "#resolve-answer")
        .await
        .send_keys("Водопостачання відновлено 12 березня.")
        .await
        .unwrap();
    css(&browser, "#resolve-documents")
        .await
        .send_keys(&document.display().to_string())
        .await
        .unwrap();
    client
        .execute(
            "document.getElementById('form-resolve').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("desk-result-form").await.unwrap();
    css(&browser, "#do-resolve").await.click().await.unwrap();
    wait_outbox(&browser, "confirmed", 3).await;
    assert_eq!(case_status(&hub, case_id).await, CaseStatus::Resolved);
    client
        .goto(&format!("{}/cases/{case_id}#outbox", desk.url))
        .await
        .unwrap();
    css(&browser, "#outbox").await;
    browser.screenshot("desk-confirmed").await.unwrap();

    // On a small screen the inbox still reads: one case per block, no sideways scrolling.
    client.set_window_size(480, 860).await.unwrap();
    client
        .goto(&format!("{}/inbox?view=all", desk.url))
        .await
        .unwrap();
    css(&browser, "#inbox").await;
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, serde_json::json!(false), "no sideways scrolling");
    browser.screenshot("desk-inbox-small").await.unwrap();
    client.set_window_size(1280, 900).await.unwrap();

    // The analyst on the hub sees the answer with the document.
    let appeal = hub
        .analyst()
        .await
        .get_appeal(pb::GetAppealRequest {
            number: number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let case = appeal.cases.iter().find(|c| c.id == case_id).unwrap();
    assert_eq!(case.answer, "Водопостачання відновлено 12 березня.");
    let file_name = document.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        case.attachments
            .iter()
            .any(|a| a.name == file_name && a.size > 0),
        "{:?}",
        case.attachments
    );
    // The clerk who acted is recorded beside each outbox entry.
    let outbox = desk.daemon.agency.local.case_outbox(case_id).await.unwrap();
    assert!(
        outbox
            .iter()
            .all(|o| o.login == "olena" && o.receipt.is_some())
    );

    browser.close().await;
    desk.close().await;
    let _ = std::fs::remove_file(document);
    hub.stop().await;
}

/// With the hub stopped, the clerk's report shows queued; once the hub is back it is sent and the
/// page shows it confirmed with the hub's receipt.
async fn an_action_waits_in_the_outbox_while_the_hub_is_down<S: Store>(mut hub: TestHub<S>) {
    let (_, case_id) = assign(&hub, "vodokanal").await;
    let desk = open_desk(&hub, "vodokanal", "olena", DeskConfig::default()).await;
    wait_for("the case in the local store", WAIT, || async {
        desk.daemon.agency.local.case(case_id).await.unwrap()
    })
    .await;
    let browser = Browser::start().await.expect("headless Chromium");
    sign_in(&browser, &desk, "olena", PASSWORD).await;
    css(&browser, "#inbox").await;
    browser
        .client()
        .goto(&format!("{}/cases/{case_id}", desk.url))
        .await
        .unwrap();
    css(&browser, "#do-accept").await.click().await.unwrap();
    wait_outbox(&browser, "confirmed", 1).await;

    hub.shutdown().await;
    css(&browser, "#report-text")
        .await
        .send_keys("Чекаємо на матеріали")
        .await
        .unwrap();
    css(&browser, "#do-report").await.click().await.unwrap();
    // Written at once, shown queued: the hub is down.
    css(&browser, "#outbox li[data-state='queued']").await;
    assert!(page_text(&browser).await.contains("У черзі"));
    css(&browser, "#expected").await;
    browser.screenshot("desk-queued").await.unwrap();

    hub.restart().await;
    wait_outbox(&browser, "confirmed", 2).await;
    assert!(
        browser
            .client()
            .find_all(Locator::Css("#outbox li[data-state='queued']"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(case_status(&hub, case_id).await, CaseStatus::InProgress);

    browser.close().await;
    desk.close().await;
    hub.stop().await;
}

on_both!(
    a_clerk_answers_a_case_at_the_desk,
    an_action_waits_in_the_outbox_while_the_hub_is_down,
);
