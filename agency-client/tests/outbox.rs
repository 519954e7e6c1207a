//! Request ids: every report written to the outbox gets an id of its own, kept with its encoded
//! request, so the hub (which answers ALREADY_EXISTS to a reused id with other content) never sees
//! one id for two contents, and a retry resends byte-identical requests.

use std::path::PathBuf;
use std::time::Duration;

use hotline_agency_client::{Action, Agency, ClientConfig, Sent};
use hotline_proto::v1 as pb;
use prost::Message;

/// A configuration with valid TLS files and a hub that refuses connections (port 1).
fn offline_config() -> ClientConfig {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("agency-outbox-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["agency.test".to_string()]).unwrap();
    std::fs::write(dir.join("agency.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("agency.key"), made.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("ca.pem"), made.cert.pem()).unwrap();
    ClientConfig {
        hub: "https://127.0.0.1:1".into(),
        cert: dir.join("agency.pem"),
        key: dir.join("agency.key"),
        ca: dir.join("ca.pem"),
        receipt_key: None,
        hook_command: None,
        inbox_dir: None,
        max_backoff: Duration::from_secs(1),
        outbox_poll: Duration::from_secs(1),
        data_dir: dir,
    }
}

#[tokio::test]
async fn every_outbox_entry_has_its_own_request_id_and_keeps_its_bytes() {
    let config = offline_config();
    let agency = Agency::open(config.clone()).await.unwrap();
    // The same action twice on the same case: two reports, two ids.
    let first = agency.act(7, Action::Accept).await.unwrap();
    let second = agency.act(7, Action::Accept).await.unwrap();
    let third = agency
        .act(
            7,
            Action::Report {
                comment: "crew sent".into(),
                planned: None,
            },
        )
        .await
        .unwrap();
    assert!(first != second && second != third && first != third);

    let before = agency.local.outbox(true).await.unwrap();
    assert_eq!(before.len(), 3);
    for entry in &before {
        let request = pb::CaseActionRequest::decode(entry.body.as_slice()).unwrap();
        assert_eq!(
            request.request_id, entry.request_id,
            "the id travels inside its own request"
        );
    }
    // The hub is unreachable: a send attempt keeps every entry, bytes unchanged, for the retry.
    let sent = agency.send_pending().await.unwrap();
    assert!(
        matches!(sent.as_slice(), [(id, Sent::Queued(_))] if *id == first),
        "{sent:?}"
    );
    let after = agency.local.outbox(true).await.unwrap();
    let bodies = |entries: &[hotline_agency_client::local::Outgoing]| -> Vec<(String, Vec<u8>)> {
        entries
            .iter()
            .map(|e| (e.request_id.clone(), e.body.clone()))
            .collect()
    };
    assert_eq!(bodies(&after), bodies(&before));

    // A reused id for other content is refused by the store itself, and changes nothing.
    let other = pb::CaseActionRequest {
        request_id: first.clone(),
        case_id: 7,
        text: "something else".into(),
        planned_date: String::new(),
    };
    assert!(
        agency
            .local
            .enqueue("ReportStatus", 7, other.encode_to_vec(), &first)
            .await
            .is_err()
    );
    assert_eq!(
        bodies(&agency.local.outbox(true).await.unwrap()),
        bodies(&before)
    );
    agency.local.close().await;
    let _ = std::fs::remove_dir_all(config.data_dir);
}

#[tokio::test]
async fn broken_tls_files_are_refused_before_the_store_is_created() {
    let mut config = offline_config();
    config.data_dir = config.data_dir.join("store");
    std::fs::write(&config.key, "not a key").unwrap();
    let err = Agency::open(config.clone()).await.unwrap_err().to_string();
    assert!(err.contains("agency.key"), "{err}");
    assert!(!config.data_dir.exists(), "nothing was created");
    let _ = std::fs::remove_dir_all(config.data_dir.parent().map(PathBuf::from).unwrap());
}
