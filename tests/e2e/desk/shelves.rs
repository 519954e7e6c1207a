//! The inbox's shelves as the hotline answers back: a question answered by the contact centre, a
//! result returned for rework by the analyst.

use hotline_agency_client::desk::DeskConfig;
use hotline_hub::domain::CaseStatus;
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_tests::agency::case_status;
use hotline_tests::browser::Browser;
use hotline_tests::{TestHub, on_both, wait_for};

use super::{PASSWORD, WAIT, assign, css, open_desk, sign_in, wait_outbox, wait_page};

/// A question the clerk asks from the desk waits on the hotline; once the contact centre answers,
/// the case is on the "question answered" shelf with the answer in its history. A result the
/// analyst returns is on the "returned for rework" shelf with the reason, and can be answered again.
async fn questions_and_rework_reach_their_shelves<S: Store>(hub: TestHub<S>) {
    let (_, case_id) = assign(&hub, "vodokanal").await;
    let desk = open_desk(&hub, "vodokanal", "olena", DeskConfig::default()).await;
    wait_for("the case in the local store", WAIT, || async {
        desk.daemon.agency.local.case(case_id).await.unwrap()
    })
    .await;
    let browser = Browser::start().await.expect("headless Chromium");
    let client = browser.client();
    let case_url = format!("{}/cases/{case_id}", desk.url);
    let row = format!("#inbox tr[data-case='{case_id}']");
    sign_in(&browser, &desk, "olena", PASSWORD).await;
    css(&browser, "#q").await;
    client.goto(&case_url).await.unwrap();
    css(&browser, "#do-accept").await.click().await.unwrap();
    wait_outbox(&browser, "confirmed", 1).await;
    css(&browser, "#ask-text")
        .await
        .send_keys("Уточніть, будь ласка, номер під'їзду")
        .await
        .unwrap();
    css(&browser, "#do-ask").await.click().await.unwrap();
    wait_outbox(&browser, "confirmed", 2).await;
    assert_eq!(
        case_status(&hub, case_id).await,
        CaseStatus::ClarificationRequested
    );
    wait_page(&browser, &format!("{}/inbox?view=waiting", desk.url), &row).await;

    hub.analyst()
        .await
        .answer_clarification(pb::AnswerClarificationRequest {
            case_id,
            answer: "Під'їзд № 2".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap();
    wait_page(&browser, &format!("{}/inbox?view=answered", desk.url), &row).await;
    css(&browser, &format!("{row} .badge.answered")).await;
    client.goto(&case_url).await.unwrap();
    css(&browser, "#do-resolve").await;
    let history = css(&browser, "ol.history").await.text().await.unwrap();
    assert!(history.contains("Під'їзд № 2"), "{history}");

    css(&browser, "#resolve-outcome")
        .await
        .select_by_value("explained")
        .await
        .unwrap();
    css(&browser, "#resolve-answer")
        .await
        .send_keys("Роз'яснено порядок подачі води")
        .await
        .unwrap();
    css(&browser, "#do-resolve").await.click().await.unwrap();
    wait_outbox(&browser, "confirmed", 3).await;
    hub.analyst()
        .await
        .verify_answer(pb::VerifyAnswerRequest {
            case_id,
            verdict: pb::Verdict::Return as i32,
            reason: "Додайте акт обстеження".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap();
    wait_page(&browser, &format!("{}/inbox?view=returned", desk.url), &row).await;
    browser.screenshot("desk-returned").await.unwrap();
    client.goto(&case_url).await.unwrap();
    let answer = css(&browser, "#answer").await.text().await.unwrap();
    assert!(answer.contains("Додайте акт обстеження"), "{answer}");
    // Back for rework: the result can be submitted again.
    css(&browser, "#do-resolve").await;

    browser.close().await;
    desk.close().await;
    hub.stop().await;
}

on_both!(questions_and_rework_reach_their_shelves);
