//! The staff console in a real browser (headless Chromium through chromedriver), on both databases:
//! sign-in refused with a wrong password and locked after too many, an operator kept out of the
//! admin pages; and an appeal's whole life through the pages — the operator registers it (the
//! server's message shown beside the field it names), the analyst assigns it, a real agency client
//! resolves it, the analyst checks the answer beside the appeal, the operator records the
//! citizen's confirmation, and the dashboard counts it. Screenshots of every page are kept in
//! `target/screenshots/console-*.png` (from the SQLite run).

use std::time::Duration;

use fantoccini::{Client, Locator};
use hotline_agency_client::Action;
use hotline_hub::app::staff::SignInPolicy;
use hotline_hub::console::{self, ConsoleState};
use hotline_hub::domain::Caller;
use hotline_hub::principal::StaffRole;
use hotline_hub::store::{AppealKey, Store};
use hotline_proto::v1 as pb;
use hotline_tests::agency::start_agency;
use hotline_tests::browser::Browser;
use hotline_tests::{TestDb, TestHub, on_both, wait_for};
use tokio::sync::watch;

pub(crate) const WAIT: Duration = Duration::from_secs(30);
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The console of `hub`, served over plain HTTP on a free port (TLS is the listener's business, not
/// the pages'), with staff passwords set for one login per role.
pub(crate) struct Console {
    pub(crate) url: String,
    stop: watch::Sender<bool>,
    /// Screenshots are taken from one database's run only.
    screenshots: bool,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub(crate) async fn console<S: Store>(hub: &TestHub<S>) -> Console {
    for (login, role) in [
        ("ivan", StaffRole::Operator),
        ("olena", StaffRole::Analyst),
        ("petro", StaffRole::Supervisor),
        ("admin", StaffRole::Admin),
    ] {
        hub.hotline
            .set_staff_password(login, role, PASSWORD, &Caller::system("test set-up"))
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = watch::channel(false);
    let state = ConsoleState {
        hotline: hub.hotline.clone(),
        policy: SignInPolicy {
            session: chrono::Duration::hours(1),
            max_failed: 3,
            lockout: chrono::Duration::minutes(15),
        },
        secure: false,
        stop: stopped.clone(),
        pki: Some(hub.pki.dir.clone()),
    };
    tokio::spawn(console::serve(listener, state, None, stopped));
    Console {
        url,
        stop,
        screenshots: matches!(hub.db, TestDb::Sqlite(_)),
    }
}

impl Console {
    pub(crate) async fn shot(&self, browser: &Browser, name: &str) {
        if self.screenshots {
            browser.screenshot(name).await.unwrap();
        }
    }
}

/// The text of the first element matching `css`, once it contains `wanted` (fails after [`WAIT`]).
pub(crate) async fn text_with(client: &Client, css: &str, wanted: &str) -> String {
    wait_for(&format!("`{css}` to say `{wanted}`"), WAIT, || async {
        let element = client.find(Locator::Css(css)).await.ok()?;
        let text = element.text().await.ok()?;
        text.contains(wanted).then_some(text)
    })
    .await
}

/// Waits until the field `css` holds `wanted` (fails after [`WAIT`]).
pub(crate) async fn value_with(client: &Client, css: &str, wanted: &str) {
    wait_for(&format!("`{css}` to hold `{wanted}`"), WAIT, || async {
        let field = client.find(Locator::Css(css)).await.ok()?;
        let value = field.prop("value").await.ok()??;
        (value == wanted).then_some(())
    })
    .await
}

/// Reloads the page until `css` contains `wanted` (what another actor changes).
pub(crate) async fn reload_until(client: &Client, css: &str, wanted: &str) -> String {
    wait_for(&format!("`{css}` to say `{wanted}`"), WAIT, || async {
        client.refresh().await.ok()?;
        let element = client.find(Locator::Css(css)).await.ok()?;
        let text = element.text().await.ok()?;
        if text.contains(wanted) {
            Some(text)
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            None
        }
    })
    .await
}

pub(crate) async fn fill(client: &Client, css: &str, value: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

pub(crate) async fn choose(client: &Client, select: &str, value: &str) {
    client
        .find(Locator::Css(select))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

pub(crate) async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Signs in as `login` (with the password of [`console`]) and waits for the first page.
pub(crate) async fn sign_in(console: &Console, client: &Client, login: &str, password: &str) {
    client
        .goto(&format!("{}/login", console.url))
        .await
        .unwrap();
    fill(client, "#login", login).await;
    fill(client, "#password", password).await;
    click(client, "#sign-in").await;
    // Wait for the answer to land (the next page, or the form again with its error): a `goto`
    // issued while the sign-in's redirect is still on its way is overtaken by it.
    wait_for("the sign-in to be answered", WAIT, || async {
        let left = !client.current_url().await.ok()?.path().ends_with("/login");
        let refused = client.find(Locator::Css("#login-error")).await.is_ok();
        (left || refused).then_some(())
    })
    .await;
}

/// GETs `path` of the console as `login` (a session opened with the console's password): the
/// status and the body.
async fn download<S: Store>(
    console: &Console,
    hub: &TestHub<S>,
    login: &str,
    path: &str,
) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let policy = SignInPolicy {
        session: chrono::Duration::hours(1),
        max_failed: 3,
        lockout: chrono::Duration::minutes(15),
    };
    let hotline_hub::app::staff::SignIn::Opened { token, .. } =
        hub.hotline.sign_in(login, PASSWORD, policy).await.unwrap()
    else {
        panic!("{login} signs in");
    };
    let host = console.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: hl_session={token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

/// The body of a chunked HTTP/1.1 response.
fn unchunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line = chunked.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&chunked[..line]).unwrap().trim(), 16)
            .unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&chunked[line + 2..line + 2 + size]);
        chunked = &chunked[line + 2 + size + 2..];
    }
}

async fn sign_out(client: &Client) {
    click(client, "form.who button").await;
    text_with(client, "h1", "Вхід").await;
}

/// Wrong passwords are refused and then lock the login; an operator cannot open the admin pages.
async fn sign_in_is_policed<S: Store>(hub: TestHub<S>) {
    let console = console(&hub).await;
    let browser = Browser::start().await.unwrap();
    let client = browser.client();

    client
        .goto(&format!("{}/admin", console.url))
        .await
        .unwrap();
    text_with(client, "h1", "Вхід до консолі").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );

    sign_in(&console, client, "ivan", "not the password").await;
    text_with(client, "#login-error", "Невірний логін або пароль").await;
    console.shot(&browser, "console-login").await;

    sign_in(&console, client, "ivan", PASSWORD).await;
    text_with(client, "h1", "Реєстрація звернення").await;
    // A form whose CSRF token is not the session's is refused, and nothing is registered.
    client
        .execute(
            "document.querySelector('#register-form input[name=csrf]').value = 'forged';",
            vec![],
        )
        .await
        .unwrap();
    click(client, "#register").await;
    text_with(client, "h1", "Форма застаріла").await;
    client
        .goto(&format!("{}/operator/register", console.url))
        .await
        .unwrap();
    let nav = client.find(Locator::Css("nav")).await.unwrap();
    let links = nav.text().await.unwrap();
    assert!(links.contains("Зворотний зв'язок"), "{links}");
    assert!(!links.contains("Довідник"), "{links}");
    assert!(!links.contains("Черги аналітика"), "{links}");

    client
        .goto(&format!("{}/admin", console.url))
        .await
        .unwrap();
    text_with(client, "h1", "Доступ заборонено").await;
    text_with(client, "#error-message", "staff:operator:ivan").await;
    console.shot(&browser, "console-forbidden").await;
    // So is the dashboard (the Reports service is the analysts' and supervisors').
    client
        .goto(&format!("{}/dashboard", console.url))
        .await
        .unwrap();
    text_with(client, "h1", "Доступ заборонено").await;
    sign_out(client).await;

    // Three wrong passwords lock the analyst's login: then even the right one is refused.
    for _ in 0..3 {
        sign_in(&console, client, "olena", "guess").await;
        text_with(client, "#login-error", "").await;
    }
    sign_in(&console, client, "olena", PASSWORD).await;
    text_with(client, "#login-error", "заблоковано").await;
    browser.close().await;
}

/// The card an operator types: the form's answer is the appeal's number.
async fn register_appeal(console: &Console, browser: &Browser) -> String {
    let client = browser.client();
    sign_in(console, client, "ivan", PASSWORD).await;
    text_with(client, "h1", "Реєстрація звернення").await;
    fill(client, "#phone", "067 123 45 67").await;
    fill(client, "#name", "Петренко Ганна Іванівна").await;
    fill(
        client,
        "#address",
        "м. Дніпро, вул. Січеславська Набережна, 15",
    )
    .await;
    choose(client, "#kind", "complaint").await;
    choose(client, "#district", "dniprovskyi").await;
    choose(client, "#settlement", "dnipro").await;
    fill(client, "#category", "07.01 Водопостачання").await;
    // No text yet: the server's message appears beside the text field, the rest is kept.
    click(client, "#register").await;
    let message = wait_for("the server's message beside the text", WAIT, || async {
        let element = client.find(Locator::Css("#text-error")).await.ok()?;
        let text = element.text().await.ok()?;
        (!text.is_empty()).then_some(text)
    })
    .await;
    assert!(
        client
            .find(Locator::Css("#text[aria-invalid='true']"))
            .await
            .is_ok(),
        "the text field is marked invalid ({message})"
    );
    assert_eq!(
        client
            .find(Locator::Css("#phone"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("067 123 45 67")
    );
    console.shot(browser, "console-register-error").await;
    fill(client, "#text", "Третій день немає холодної води в будинку").await;
    console.shot(browser, "console-register").await;
    click(client, "#register").await;
    text_with(client, "#registered", "зареєстровано").await;
    let number = text_with(client, "#number", "-").await;
    console.shot(browser, "console-appeal-registered").await;
    sign_out(client).await;
    number
}

/// The whole flow through the pages, with a real agency client answering.
async fn appeal_flow<S: Store>(hub: TestHub<S>) {
    let console = console(&hub).await;
    let browser = Browser::start().await.unwrap();
    let client = browser.client();
    let number = register_appeal(&console, &browser).await;

    // The analyst finds it in the triage queue and assigns it (the authority is suggested only
    // from history, so it is picked from the whole list here).
    sign_in(&console, client, "olena", PASSWORD).await;
    text_with(client, "h1", "Черги аналітика").await;
    text_with(client, "#queue", &number).await;
    console.shot(&browser, "console-triage").await;
    click(client, &format!("a[href='/appeals/{number}']")).await;
    text_with(client, "#number", &number).await;
    choose(client, "#authority", "vodokanal").await;
    console.shot(&browser, "console-assign").await;
    click(client, "#assign").await;
    text_with(client, "#status", "призначено").await;

    // The authority's own client accepts and resolves the case.
    let agency = start_agency(&hub, "vodokanal").await;
    let case_id = wait_for("the case to reach the agency", WAIT, || async {
        let state = hub
            .store
            .load(&AppealKey::Number(number.clone()))
            .await
            .unwrap()?;
        let id = state.cases.first()?.id;
        agency.agency.local.case(id).await.unwrap().map(|_| id)
    })
    .await;
    agency.agency.act(case_id, Action::Accept).await.unwrap();
    agency
        .agency
        .act(
            case_id,
            Action::Resolve {
                answer: "Аварію усунено, водопостачання відновлено".into(),
                measures: "Замінено ділянку труби".into(),
                attachments: vec![],
                outcome: pb::Outcome::Resolved,
                outcome_detail: String::new(),
            },
        )
        .await
        .unwrap();

    // The analyst sees the answer beside the appeal and accepts it.
    reload_until(client, ".answer-text", "водопостачання відновлено").await;
    console.shot(&browser, "console-verify").await;
    click(client, &format!("#accept-{case_id}")).await;
    text_with(client, "#status", "чекає підтвердження").await;
    sign_out(client).await;

    // The operator calls the citizen back: confirmed, satisfied.
    sign_in(&console, client, "ivan", PASSWORD).await;
    client
        .goto(&format!("{}/operator/callbacks", console.url))
        .await
        .unwrap();
    text_with(client, "#queue", &number).await;
    console.shot(&browser, "console-callbacks").await;
    click(client, &format!("a[href='/appeals/{number}']")).await;
    text_with(client, ".answer-text", "водопостачання відновлено").await;
    click(client, "label[for='score-5']").await;
    console.shot(&browser, "console-callback").await;
    click(client, "#confirmed").await;
    text_with(client, "#status", "закрито").await;

    // The same caller phones again: while the number is typed, the earlier appeal appears.
    client
        .goto(&format!("{}/operator/register", console.url))
        .await
        .unwrap();
    fill(client, "#phone", "+38 (067) 123-45-67").await;
    text_with(client, "#caller-history", &number).await;
    console.shot(&browser, "console-phone-hints").await;
    sign_out(client).await;

    // Leadership's dashboard counts it, and the authority's rating shows its answer.
    sign_in(&console, client, "petro", PASSWORD).await;
    text_with(client, "h1", "Панель дня").await;
    text_with(client, "#received", "1").await;
    text_with(client, "#closed", "1").await;
    text_with(client, "#ratings", "Дніпроводоканал").await;
    text_with(client, "#satisfaction", "5.0").await;
    console.shot(&browser, "console-dashboard").await;
    sign_out(client).await;

    // The dashboard's spreadsheets, fetched with a session's cookie: XLSX for the supervisor, the
    // refusal for an operator.
    for report in ["daily", "ratings"] {
        let path = format!("/dashboard/export.xlsx?report={report}");
        let (status, body) = download(&console, &hub, "petro", &path).await;
        assert_eq!(status, 200, "{report}");
        assert!(
            body.starts_with(b"PK\x03\x04"),
            "{report}: an XLSX (zip) comes back"
        );
        let (status, _) = download(&console, &hub, "ivan", &path).await;
        assert_eq!(status, 403, "{report}: an operator may not");
    }

    // The admin's directory.
    sign_in(&console, client, "admin", PASSWORD).await;
    text_with(client, "#authorities", "vodokanal").await;
    fill(client, "#code", "water-inspection").await;
    fill(client, "#authority-name", "Інспекція водних ресурсів").await;
    fill(client, "#authority-district", "dniprovskyi").await;
    click(client, "#add-authority").await;
    text_with(client, "#state-water-inspection", "діє").await;
    console.shot(&browser, "console-admin").await;
    click(client, "#deactivate-water-inspection").await;
    text_with(client, "#state-water-inspection", "вимкнено").await;
    assert!(
        !hub.hotline
            .authority_is_active("water-inspection")
            .await
            .unwrap()
    );
    let trail = hub.hotline.audit_trail(None).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.principal == "staff:admin:admin" && e.rpc.contains("DeactivateAuthority")),
        "the deactivation is recorded with the admin who did it"
    );

    // The classifier: a code the server refuses is named beside its field; then a subject added
    // under its section, and renamed.
    client
        .goto(&format!("{}/admin", console.url))
        .await
        .unwrap();
    choose(client, "#category-parent", "07").await;
    fill(client, "#category-code", "Водовідведення").await;
    fill(client, "#category-name", "Водовідведення").await;
    click(client, "#add-category").await;
    text_with(client, "#category-code-error", "is not a code").await;
    fill(client, "#category-code", "07.02").await;
    click(client, "#add-category").await;
    value_with(client, "[id='rename-07.02']", "Водовідведення").await;
    fill(client, "[id='rename-07.02']", "").await;
    click(client, "[id='rename-button-07.02']").await;
    text_with(client, "[id='rename-07.02-error']", "required").await;
    client
        .execute(
            "document.getElementById('rename-07.02').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .unwrap();
    console.shot(&browser, "console-classifier-error").await;
    fill(
        client,
        "[id='rename-07.02']",
        "Водовідведення та каналізація",
    )
    .await;
    click(client, "[id='rename-button-07.02']").await;
    // The field already holds the typed name; the answer is the page without the error from the
    // refused rename (a new page), showing the name the server saved.
    wait_for("the new name", WAIT, || async {
        if client
            .find(Locator::Css("[id='rename-07.02-error']"))
            .await
            .is_ok()
        {
            return None;
        }
        let field = client
            .find(Locator::Css("[id='rename-07.02']"))
            .await
            .ok()?;
        let value = field.prop("value").await.ok()??;
        (value == "Водовідведення та каналізація").then_some(())
    })
    .await;
    let renamed = hub
        .hotline
        .categories()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.code == "07.02")
        .unwrap();
    assert_eq!(renamed.name, "Водовідведення та каналізація");
    assert_eq!(renamed.parent_code, "07");
    let trail = hub.hotline.audit_trail(None).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.principal == "staff:admin:admin" && e.rpc.contains("UpsertCategory")),
        "the classifier's change is recorded with the admin who made it"
    );

    // The water utility's certificate: issued here (the bundle offered once), then revoked.
    client
        .goto(&format!("{}/admin", console.url))
        .await
        .unwrap();
    text_with(client, "#cert-vodokanal", "немає").await;
    click(client, "#issue-vodokanal").await;
    text_with(client, "h1", "Сертифікат видано").await;
    text_with(client, "#issued-subject", "urn:hotline:agency:vodokanal").await;
    let serial = text_with(client, "#issued-serial", "").await;
    assert!(serial.len() >= 16, "a serial: {serial}");
    let bundle = client
        .find(Locator::Css("#download-bundle"))
        .await
        .unwrap()
        .attr("download")
        .await
        .unwrap();
    assert_eq!(bundle.as_deref(), Some("agency-vodokanal.pem"));
    console.shot(&browser, "console-certificate").await;
    client
        .goto(&format!("{}/admin", console.url))
        .await
        .unwrap();
    text_with(client, "#cert-vodokanal", "чинний").await;
    text_with(client, "#cert-vodokanal", &serial).await;
    click(client, "#revoke-vodokanal").await;
    text_with(client, "#cert-vodokanal", "відкликано").await;
    client
        .execute(
            "document.getElementById('cert-vodokanal').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    console.shot(&browser, "console-admin-certificates").await;
    let crl = std::fs::read_to_string(hub.pki.dir.join("revoked.txt")).unwrap();
    assert!(
        crl.contains(&serial),
        "the serial {serial} is on the CRL: {crl}"
    );
    let trail = hub.hotline.audit_trail(None).await.unwrap();
    for action in ["pki.certificate_issued", "pki.certificate_revoked"] {
        assert!(
            trail.iter().any(|e| e.principal == "staff:admin:admin"
                && e.action == action
                && e.detail.contains(&serial)),
            "{action} is recorded with the admin who did it"
        );
    }
    // A new one may be issued once the old one is revoked.
    click(client, "#issue-vodokanal").await;
    text_with(client, "#issued-subject", "urn:hotline:agency:vodokanal").await;

    // Every page read of the citizen's data is in the audit trail, as the API's reads are.
    let trail = hub.hotline.audit_trail(Some(&number)).await.unwrap();
    for who in ["staff:operator:ivan", "staff:analyst:olena"] {
        assert!(
            trail
                .iter()
                .any(|e| e.principal == who && e.rpc.contains("GetAppeal")),
            "{who} read the appeal: {trail:?}"
        );
    }
    agency.stop().await;
    browser.close().await;
}

/// The analyst's queue follows the event log by itself: an appeal registered elsewhere (here over
/// gRPC) appears without a reload.
async fn queues_refresh_live<S: Store>(hub: TestHub<S>) {
    let console = console(&hub).await;
    let browser = Browser::start().await.unwrap();
    let client = browser.client();
    sign_in(&console, client, "olena", PASSWORD).await;
    text_with(client, "h1", "Черги аналітика").await;
    // The page is open; the event stream is connected once the script ran.
    wait_for("the live stream", WAIT, || async {
        let ready = client
            .execute("return document.body.dataset.live === '1';", vec![])
            .await
            .ok()?;
        (ready == serde_json::Value::Bool(true)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let appeal = hub
        .operator()
        .await
        .register_appeal(hotline_tests::water_complaint())
        .await
        .unwrap()
        .into_inner();
    text_with(client, "#queue", &appeal.number).await;
    text_with(client, "#live-status", "Оновлено").await;
    browser.close().await;
}

on_both!(sign_in_is_policed, appeal_flow, queues_refresh_live);
