//! Personal data never reaches the logs: a whole appeal lifecycle runs with every crate logging at
//! TRACE into a buffer, and the buffer must not contain the citizen's name, phone or address.
//! (Its own test binary, because it installs the process-wide log subscriber.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use hotline_hub::principal::StaffRole;
use hotline_proto::v1 as pb;
use tracing_subscriber::fmt::MakeWriter;

/// Collects every log line.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_lifecycle_logs_no_personal_data_at_trace() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .init();

    let hub = hotline_tests::sqlite_hub().await;
    let card = hotline_tests::water_complaint();
    let citizen = card.citizen.clone().unwrap();
    let mut operator = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let appeal = operator.register_appeal(card).await.unwrap().into_inner();
    let appeal = analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number.clone(),
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
    hotline_tests::authority_answers(&hub, case_id, "Воду подано").await;
    analyst
        .verify_answer(pb::VerifyAnswerRequest {
            case_id,
            verdict: pb::Verdict::Accept as i32,
            reason: String::new(),
            ..Default::default()
        })
        .await
        .unwrap();
    let read = hub
        .registry(StaffRole::Supervisor)
        .await
        .get_appeal(pb::GetAppealRequest {
            number: appeal.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        read.citizen.unwrap().name,
        citizen.name,
        "the API does return the personal data"
    );
    let closed = operator
        .record_callback(pb::RecordCallbackRequest {
            number: appeal.number,
            outcome: pb::CallbackOutcome::Confirmed as i32,
            note: String::new(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.status, pb::AppealStatus::Closed as i32);
    hub.stop().await;

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("TRACE") && logs.lines().count() > 100,
        "TRACE logs were captured"
    );
    assert!(
        logs.contains("appeal registered"),
        "the hub's own logs were captured"
    );
    let surname = citizen.name.split_whitespace().next().unwrap().to_string();
    for secret in [
        citizen.name.clone(),
        surname,
        citizen.phone.clone(),
        "+380671234567".to_string(),
        "671234567".to_string(),
        citizen.address.clone(),
        "Січеславська".to_string(),
    ] {
        assert!(
            !logs.contains(&secret),
            "personal data `{secret}` appeared in the logs"
        );
    }
}
