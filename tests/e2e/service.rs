//! The standard parts: server reflection (as `grpcurl` uses it), health checking, the watch stream,
//! graceful shutdown with a stream open, and data surviving a restart.

use std::time::Duration;

use hotline_hub::app::Hotline;
use hotline_hub::principal::StaffRole;
use hotline_hub::store::{SqliteStore, Store};
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, on_both, staff, water_complaint};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn reflection_lists_the_services_as_grpcurl_would() {
    let hub = hotline_tests::sqlite_hub().await;
    let mut client =
        ServerReflectionClient::new(hub.channel_as(&staff(StaffRole::Supervisor)).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "hotline.v1.AppealRegistry",
        "hotline.v1.Directory",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }

    // grpcurl's next step: the file that declares a symbol.
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "hotline.v1.AppealRegistry".into(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    assert!(
        matches!(response.message_response, Some(MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
        "{response:?}"
    );

    let mut health = HealthClient::new(hub.channel_as(&staff(StaffRole::Supervisor)).await);
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "hotline.v1.AppealRegistry".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serving.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    hub.stop().await;
}

async fn watch_follows_the_log_and_resumes<S: Store>(hub: TestHub<S>) {
    let mut registry = hub.operator().await;
    let mut analyst = hub.analyst().await;
    let mut stream = registry
        .watch_appeals(pb::WatchAppealsRequest::default())
        .await
        .unwrap()
        .into_inner();
    // Registered after the stream opened: it arrives through the commit notification.
    let appeal = registry
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(WAIT, stream.message())
        .await
        .expect("event in time")
        .unwrap()
        .unwrap();
    assert_eq!(first.kind, "appeal.registered");
    assert_eq!(first.appeal_number, appeal.number);
    let detail = first.detail.clone();
    assert!(
        !detail.contains("Петренко") && !detail.contains("380"),
        "no personal data in events: {detail}"
    );

    analyst
        .assign_appeal(pb::AssignAppealRequest {
            number: appeal.number.clone(),
            assignments: vec![pb::Assignment {
                authority_code: "vodokanal".into(),
                deadline: String::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let mut seen = vec![first.clone()];
    while seen.len() < 3 {
        seen.push(
            tokio::time::timeout(WAIT, stream.message())
                .await
                .expect("event in time")
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(seen[1].kind, "case.assigned");
    assert_eq!(seen[1].authority_code, "vodokanal");
    drop(stream);

    // Resuming after the first event gives exactly the rest.
    let mut resumed = registry
        .watch_appeals(pb::WatchAppealsRequest {
            cursor: first.cursor.clone(),
            appeal_number: appeal.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    for expected in &seen[1..] {
        let got = tokio::time::timeout(WAIT, resumed.message())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        assert_eq!(&got, expected);
    }

    for (cursor, needle) in [
        ("garbage", "cursor"),
        ("0.999999", "ahead of the event log"),
        ("-1.2", "cursor"),
    ] {
        let err = registry
            .watch_appeals(pb::WatchAppealsRequest {
                cursor: cursor.into(),
                appeal_number: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains(needle), "{}", err.message());
    }
    let err = registry
        .watch_appeals(pb::WatchAppealsRequest {
            cursor: String::new(),
            appeal_number: "DP-1999-000001".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Graceful shutdown ends the open stream instead of waiting for the client.
    let mut hub = hub;
    hub.shutdown().await;
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match resumed.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("stream ended with the hub");
    assert!(matches!(end, Ok(None) | Err(_)));
    hub.db.drop_db().await;
}

on_both!(watch_follows_the_log_and_resumes);

#[tokio::test]
async fn appeals_survive_a_restart() {
    let mut hub = hotline_tests::sqlite_hub().await;
    let mut registry = hub.operator().await;
    let appeal = registry
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    hub.shutdown().await;
    let store = SqliteStore::open(&hub.db.url()).await.unwrap();
    let again = TestHub::serve(
        store.clone(),
        Hotline::new(store),
        std::mem::replace(&mut hub.db, hotline_tests::TestDb::sqlite()),
        std::mem::take(&mut hub.pki),
    )
    .await;
    let mut registry = again.operator().await;
    let read = registry
        .get_appeal(pb::GetAppealRequest {
            number: appeal.number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.text, appeal.text);
    let next = registry
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    assert_ne!(
        next.number, appeal.number,
        "numbering continues after a restart"
    );
    again.stop().await;
    hub.db.drop_db().await;
}
