//! Who gets into a desk: a wrong password (and an unknown login) is refused alike, failures in a
//! row lock the login until it is reset, the keyboard alone signs in, and a clerk of another
//! authority gets nowhere with their login or their session.

use hotline_agency_client::desk::{DeskConfig, password};
use hotline_hub::store::Store;
use hotline_tests::browser::Browser;
use hotline_tests::{TestHub, on_both};

use super::{ENTER, PASSWORD, TAB, assign, css, open_desk, page_text, sign_in};

/// A wrong password is refused (and a missing login the same way); repeated failures lock the
/// login, even against the right password, until an administrator resets it.
async fn a_wrong_password_is_refused<S: Store>(hub: TestHub<S>) {
    let config = DeskConfig {
        max_failed_sign_ins: 3,
        ..DeskConfig::default()
    };
    let desk = open_desk(&hub, "vodokanal", "olena", config).await;
    let browser = Browser::start().await.expect("headless Chromium");
    sign_in(&browser, &desk, "olena", "не той пароль").await;
    let error = css(&browser, "#login-error").await.text().await.unwrap();
    assert!(error.contains("Невірне"), "{error}");
    browser.screenshot("desk-refused").await.unwrap();
    sign_in(&browser, &desk, "nobody", PASSWORD).await;
    assert_eq!(
        css(&browser, "#login-error").await.text().await.unwrap(),
        error
    );
    browser
        .client()
        .goto(&format!("{}/inbox", desk.url))
        .await
        .unwrap();
    css(&browser, "#sign-in").await;

    // Two more failures lock the login: the right password is refused too.
    for _ in 0..2 {
        sign_in(&browser, &desk, "olena", "ще не той").await;
        css(&browser, "#login-error").await;
    }
    sign_in(&browser, &desk, "olena", PASSWORD).await;
    let locked = css(&browser, "#login-error").await.text().await.unwrap();
    assert!(locked.contains("заблоковано"), "{locked}");
    // A reset lifts the lock. This time the clerk uses the keyboard only: the login field has the
    // focus, Tab moves to the password, Enter signs in.
    let hash = password::hash(PASSWORD).unwrap();
    let local = &desk.daemon.agency.local;
    assert!(local.reset_clerk("olena", &hash).await.unwrap());
    let client = browser.client();
    client.goto(&format!("{}/login", desk.url)).await.unwrap();
    css(&browser, "#login").await;
    let focused = client.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("login"));
    focused
        .send_keys(&format!("olena{TAB}{PASSWORD}{ENTER}"))
        .await
        .unwrap();
    css(&browser, "#q").await;

    browser.close().await;
    desk.close().await;
    hub.stop().await;
}

/// Each authority's desk has its own clerks: a clerk of the heating company is refused at the
/// water company's desk, and their session there does not open it either.
async fn another_authoritys_clerk_cannot_open_this_desk<S: Store>(hub: TestHub<S>) {
    let (_, case_id) = assign(&hub, "vodokanal").await;
    let water = open_desk(&hub, "vodokanal", "olena", DeskConfig::default()).await;
    let heating = open_desk(&hub, "heating", "petro", DeskConfig::default()).await;
    let browser = Browser::start().await.expect("headless Chromium");
    let client = browser.client();

    // Petro works at his own desk (both desks are on 127.0.0.1, so the browser sends his cookie
    // to either).
    sign_in(&browser, &heating, "petro", PASSWORD).await;
    css(&browser, "#q").await;
    // His session means nothing at the water company's desk.
    client
        .goto(&format!("{}/cases/{case_id}", water.url))
        .await
        .unwrap();
    css(&browser, "#sign-in").await;
    assert!(!page_text(&browser).await.contains("Петренко Ганна"));
    // Nor do his login and password.
    sign_in(&browser, &water, "petro", PASSWORD).await;
    assert!(
        css(&browser, "#login-error")
            .await
            .text()
            .await
            .unwrap()
            .contains("Невірне")
    );
    client.goto(&format!("{}/inbox", water.url)).await.unwrap();
    css(&browser, "#sign-in").await;

    browser.close().await;
    water.close().await;
    heating.close().await;
    hub.stop().await;
}

on_both!(
    a_wrong_password_is_refused,
    another_authoritys_clerk_cannot_open_this_desk,
);
