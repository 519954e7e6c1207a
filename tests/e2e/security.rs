//! Mutual TLS and authorization, with certificates made in the test: refused handshakes, certificate
//! and CRL rotation without a restart, the role × RPC matrix on both databases, and the audit trail.

use std::time::Duration;

use hotline_hub::audit::{self, Finding};
use hotline_hub::pki::{Ca, Validity};
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::store::Store;
use hotline_proto::v1 as pb;
use hotline_tests::{TestHub, on_both, staff, tls_channel, wait_for, water_complaint};
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const WAIT: Duration = Duration::from_secs(10);

/// Connects with `identity` and makes one health check; returns the error text if anything failed.
async fn health_check(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    identity: Option<&hotline_hub::pki::Issued>,
) -> Result<(), String> {
    let channel = tls_channel(addr, ca_pem, identity)
        .await
        .map_err(|e| format!("{e:?}"))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// The DER of the certificate the hub presents to a new connection right now.
async fn served_certificate(addr: std::net::SocketAddr) -> Vec<u8> {
    use rustls::pki_types::ServerName;
    #[derive(Debug)]
    struct Anything;
    impl rustls::client::danger::ServerCertVerifier for Anything {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
    let config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(Anything))
        .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(config.into(), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap()
        .into_std()
        .unwrap();
    tcp.set_nonblocking(false).unwrap();
    // The handshake stops at the missing client certificate; the server's is known by then.
    tokio::task::spawn_blocking(move || {
        let _ = conn.complete_io(&mut tcp);
        conn.peer_certificates().expect("the server's certificate")[0].to_vec()
    })
    .await
    .unwrap()
}

/// The DER of a PEM certificate.
fn der_of(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn handshakes_without_a_valid_client_certificate_are_refused() {
    let hub = hotline_tests::sqlite_hub().await;
    let ca = hub.pki.ca.cert_pem().to_string();
    let good = hub.pki.client(&staff(StaffRole::Supervisor));
    health_check(hub.addr, &ca, Some(&good))
        .await
        .expect("a valid certificate is accepted");

    let err = health_check(hub.addr, &ca, None).await.unwrap_err();
    assert!(err.contains("CertificateRequired"), "no certificate: {err}");

    let stranger_dir =
        std::env::temp_dir().join(format!("hotline-stranger-{}", uuid::Uuid::new_v4()));
    let stranger = Ca::generate(&stranger_dir, "stranger CA", Validity::days(10)).unwrap();
    let foreign = stranger
        .issue_client(&staff(StaffRole::Admin), Validity::days(1))
        .unwrap();
    let err = health_check(hub.addr, &ca, Some(&foreign))
        .await
        .unwrap_err();
    assert!(err.contains("UnknownCA"), "another CA: {err}");

    let expired = hub
        .pki
        .ca
        .issue_client(
            &staff(StaffRole::Admin),
            Validity {
                not_before: time::OffsetDateTime::now_utc() - time::Duration::days(10),
                not_after: time::OffsetDateTime::now_utc() - time::Duration::days(1),
            },
        )
        .unwrap();
    let err = health_check(hub.addr, &ca, Some(&expired))
        .await
        .unwrap_err();
    assert!(err.contains("CertificateExpired"), "expired: {err}");

    let not_yet = hub
        .pki
        .ca
        .issue_client(
            &staff(StaffRole::Admin),
            Validity {
                not_before: time::OffsetDateTime::now_utc() + time::Duration::days(1),
                not_after: time::OffsetDateTime::now_utc() + time::Duration::days(10),
            },
        )
        .unwrap();
    let err = health_check(hub.addr, &ca, Some(&not_yet))
        .await
        .unwrap_err();
    assert!(
        err.contains("CertificateExpired") || err.contains("NotValidYet"),
        "not yet valid: {err}"
    );

    // A certificate of ours that names no hotline identity passes TLS but gets no access: the
    // call is refused with PERMISSION_DENIED and the reason (the identity is read once per
    // connection, at the handshake, and every call on it answers so).
    let nameless = nameless_client(hub.pki.ca.dir());
    let channel = tls_channel(hub.addr, &ca, Some(&nameless)).await.unwrap();
    for _ in 0..2 {
        let status = HealthClient::new(channel.clone())
            .check(HealthCheckRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert!(
            status.message().contains("names no urn:hotline: identity"),
            "{status:?}"
        );
    }
    hub.stop().await;
}

/// A client certificate signed by the hub's CA for client authentication, naming a DNS name
/// rather than a `urn:hotline:` identity.
fn nameless_client(ca_dir: &std::path::Path) -> hotline_hub::pki::Issued {
    let read = |name: &str| std::fs::read_to_string(ca_dir.join(name)).unwrap();
    let ca_key = rcgen::KeyPair::from_pem(&read("ca.key")).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&read("ca.pem"), &ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["stranger.example".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    hotline_hub::pki::Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

#[tokio::test]
async fn a_revoked_agency_is_refused_at_once_and_loses_its_live_connection() {
    let hub = hotline_tests::sqlite_hub().await;
    let ca = hub.pki.ca.cert_pem().to_string();
    let agency = hub.pki.client(&Principal::Agency {
        authority: "vodokanal".into(),
    });
    let open = tls_channel(hub.addr, &ca, Some(&agency)).await.unwrap();
    HealthClient::new(open.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("agency connects");

    let serial = hub.pki.ca.revoke(&agency.cert_pem).unwrap();
    assert!(!serial.is_empty());
    // New handshakes are refused as revoked (one opened just before the reload may be closed as
    // it starts instead: that is the live-connection check below, arriving first).
    wait_for("new handshakes to be refused as revoked", WAIT, || {
        let ca = ca.clone();
        let agency = agency.clone();
        async move {
            health_check(hub.addr, &ca, Some(&agency))
                .await
                .err()
                .filter(|err| err.contains("CertificateRevoked"))
        }
    })
    .await;
    // The connection made before the revocation is closed too: its calls fail from now on.
    wait_for("the live connection to be closed", WAIT, || {
        let open = open.clone();
        async move {
            HealthClient::new(open)
                .check(HealthCheckRequest::default())
                .await
                .err()
        }
    })
    .await;
    // Others are unaffected.
    health_check(
        hub.addr,
        &ca,
        Some(&hub.pki.client(&staff(StaffRole::Operator))),
    )
    .await
    .unwrap();
    hub.stop().await;
}

#[tokio::test]
async fn a_server_certificate_and_ca_bundle_rotated_on_disk_are_used_without_a_restart() {
    let hub = hotline_tests::sqlite_hub().await;
    let old_ca = hub.pki.ca.cert_pem().to_string();
    let old_client = hub.pki.client(&staff(StaffRole::Supervisor));
    let open = tls_channel(hub.addr, &old_ca, Some(&old_client))
        .await
        .unwrap();

    // A new server certificate from the same CA: served to new connections, and the live one is
    // kept (its peer is as trusted as before).
    let renewed = hub
        .pki
        .ca
        .issue_server(
            &["localhost".into()],
            &["127.0.0.1".parse().unwrap()],
            Validity::days(3),
        )
        .unwrap();
    std::fs::write(&hub.pki.files.cert, &renewed.cert_pem).unwrap();
    std::fs::write(&hub.pki.files.key, &renewed.key_pem).unwrap();
    let renewed_der = der_of(&renewed.cert_pem);
    wait_for("the renewed server certificate to be served", WAIT, || {
        let renewed_der = renewed_der.clone();
        async move { (served_certificate(hub.addr).await == renewed_der).then_some(()) }
    })
    .await;
    HealthClient::new(open.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("live connection kept across a server certificate renewal");

    // A new CA replaces the old one: new server certificate, new client CA bundle, new CRL.
    let new_dir = std::env::temp_dir().join(format!("hotline-rotated-{}", uuid::Uuid::new_v4()));
    let new_ca = Ca::init(&new_dir, "rotated CA").unwrap();
    let server = new_ca
        .issue_server(
            &["localhost".into()],
            &["127.0.0.1".parse().unwrap()],
            Validity::days(2),
        )
        .unwrap();
    let new_client = new_ca
        .issue_client(&staff(StaffRole::Supervisor), Validity::days(1))
        .unwrap();
    assert!(
        health_check(hub.addr, new_ca.cert_pem(), Some(&new_client))
            .await
            .is_err()
    );

    std::fs::write(&hub.pki.files.cert, &server.cert_pem).unwrap();
    std::fs::write(&hub.pki.files.key, &server.key_pem).unwrap();
    std::fs::write(&hub.pki.files.client_ca, new_ca.cert_pem()).unwrap();
    std::fs::copy(new_dir.join("crl.pem"), hub.pki.files.crl.as_ref().unwrap()).unwrap();

    let new_ca_pem = new_ca.cert_pem().to_string();
    wait_for("the rotated certificates to be served", WAIT, || {
        let ca = new_ca_pem.clone();
        let client = new_client.clone();
        async move { health_check(hub.addr, &ca, Some(&client)).await.ok() }
    })
    .await;
    let err = health_check(hub.addr, &old_ca, Some(&old_client))
        .await
        .unwrap_err();
    assert!(
        err.contains("UnknownIssuer") || err.contains("UnknownCA") || err.contains("BadSignature"),
        "old chain: {err}"
    );
    // The old CA is no longer trusted: the live connection its certificate opened is closed.
    wait_for("the untrusted live connection to be closed", WAIT, || {
        let open = open.clone();
        async move {
            HealthClient::new(open)
                .check(HealthCheckRequest::default())
                .await
                .err()
        }
    })
    .await;

    // Broken files on disk do not take the hub down: it keeps the last good configuration.
    std::fs::write(&hub.pki.files.cert, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    health_check(hub.addr, &new_ca_pem, Some(&new_client))
        .await
        .expect("last good configuration kept");
    let _ = std::fs::remove_dir_all(new_dir);
    hub.stop().await;
}

/// Every RPC of the staff, agency and exchange services.
const RPCS: &[(&str, &str)] = &[
    ("hotline.v1.AppealRegistry", "RegisterAppeal"),
    ("hotline.v1.AppealRegistry", "GetAppeal"),
    ("hotline.v1.AppealRegistry", "SearchAppeals"),
    ("hotline.v1.AppealRegistry", "AssignAppeal"),
    ("hotline.v1.AppealRegistry", "ReassignCase"),
    ("hotline.v1.AppealRegistry", "ExtendDeadline"),
    ("hotline.v1.AppealRegistry", "VerifyAnswer"),
    ("hotline.v1.AppealRegistry", "RecordCallback"),
    ("hotline.v1.AppealRegistry", "CloseAppeal"),
    ("hotline.v1.AppealRegistry", "AnswerClarification"),
    ("hotline.v1.AppealRegistry", "ListDeclinedCases"),
    ("hotline.v1.AppealRegistry", "WatchAppeals"),
    ("hotline.v1.AppealRegistry", "ReworkCases"),
    ("hotline.v1.AppealRegistry", "RefuseExtension"),
    ("hotline.v1.AppealRegistry", "ListNotices"),
    ("hotline.v1.AppealRegistry", "MarkNoticeDone"),
    ("hotline.v1.AppealRegistry", "ListQueue"),
    ("hotline.v1.Incidents", "OpenIncident"),
    ("hotline.v1.Incidents", "AttachToIncident"),
    ("hotline.v1.Incidents", "GetIncident"),
    ("hotline.v1.Incidents", "ListIncidents"),
    ("hotline.v1.Incidents", "CloseIncident"),
    ("hotline.v1.ExchangeAdmin", "SetMapping"),
    ("hotline.v1.ExchangeAdmin", "ListMappings"),
    ("hotline.v1.ExchangeAdmin", "ListHeld"),
    ("hotline.v1.ExchangeAdmin", "ClassifyHeld"),
    ("hotline.v1.ExchangeAdmin", "ForwardToPartner"),
    ("hotline.v1.Directory", "CreateAuthority"),
    ("hotline.v1.Directory", "UpdateAuthority"),
    ("hotline.v1.Directory", "ListAuthorities"),
    ("hotline.v1.Directory", "DeactivateAuthority"),
    ("hotline.v1.Directory", "UpsertCategory"),
    ("hotline.v1.Directory", "ListCategories"),
    ("hotline.v1.Directory", "UpsertDistrict"),
    ("hotline.v1.Directory", "ListDistricts"),
    ("hotline.v1.Directory", "UpsertClassifierEntry"),
    ("hotline.v1.Directory", "ListClassifier"),
    ("hotline.v1.AgencyGateway", "AcceptCase"),
    ("hotline.v1.AgencyGateway", "ListCases"),
    ("hotline.v1.ContactCentreExchange", "SubmitAppeals"),
    ("hotline.v1.ContactCentreExchange", "AckUpdates"),
    ("hotline.v1.Reports", "DailyReport"),
    ("hotline.v1.Reports", "AuthorityRatings"),
    ("hotline.v1.Reports", "Trends"),
    ("hotline.v1.Reports", "QuarterlySummary"),
    ("hotline.v1.Reports", "AppealsPerDay"),
    ("hotline.v1.Operations", "GetStatus"),
];

/// Who may call what: the expected matrix, written out independently of the hub's.
fn expected(principal: &Principal, service: &str, method: &str) -> bool {
    match principal {
        Principal::Staff { role, .. } => match (service, method) {
            ("hotline.v1.AppealRegistry", "RegisterAppeal" | "RecordCallback") => {
                *role == StaffRole::Operator
            }
            ("hotline.v1.AppealRegistry", "GetAppeal" | "SearchAppeals" | "WatchAppeals") => {
                *role != StaffRole::Admin
            }
            ("hotline.v1.AppealRegistry", "ListDeclinedCases") => {
                matches!(role, StaffRole::Analyst | StaffRole::Supervisor)
            }
            ("hotline.v1.AppealRegistry", "ListNotices" | "ListQueue") => *role != StaffRole::Admin,
            ("hotline.v1.AppealRegistry", "MarkNoticeDone") => *role == StaffRole::Operator,
            ("hotline.v1.Incidents", "GetIncident" | "ListIncidents") => *role != StaffRole::Admin,
            ("hotline.v1.Incidents", _) => *role == StaffRole::Analyst,
            ("hotline.v1.ExchangeAdmin", "SetMapping") => *role == StaffRole::Admin,
            ("hotline.v1.ExchangeAdmin", "ListMappings") => {
                matches!(role, StaffRole::Admin | StaffRole::Analyst)
            }
            ("hotline.v1.ExchangeAdmin", _) => *role == StaffRole::Analyst,
            ("hotline.v1.AppealRegistry", _) => *role == StaffRole::Analyst,
            ("hotline.v1.Directory", m) if m.starts_with("List") => true,
            ("hotline.v1.Directory", _) => *role == StaffRole::Admin,
            ("hotline.v1.Reports", _) => matches!(role, StaffRole::Analyst | StaffRole::Supervisor),
            ("hotline.v1.Operations", _) => *role != StaffRole::Operator,
            _ => false,
        },
        Principal::Agency { .. } => service == "hotline.v1.AgencyGateway",
        Principal::Exchange { .. } => service == "hotline.v1.ContactCentreExchange",
    }
}

/// Calls `service/method` with an empty request (valid protobuf for every request type) and returns
/// the status code (OK when it succeeded). Streams are opened and dropped.
async fn call_code(channel: tonic::transport::Channel, service: &str, method: &str) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = PathAndQuery::try_from(format!("/{service}/{method}")).unwrap();
    // An empty message type decodes any reply (unknown fields are skipped).
    let codec =
        tonic_prost::ProstCodec::<pb::ListCategoriesRequest, pb::ListCategoriesRequest>::default();
    let request = tonic::Request::new(pb::ListCategoriesRequest {});
    let result = if method == "WatchAppeals" {
        grpc.server_streaming(request, path, codec)
            .await
            .map(|_| ())
    } else {
        grpc.unary(request, path, codec).await.map(|_| ())
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn every_role_against_every_rpc<S: Store>(hub: TestHub<S>) {
    let principals = [
        staff(StaffRole::Operator),
        staff(StaffRole::Analyst),
        staff(StaffRole::Supervisor),
        staff(StaffRole::Admin),
        Principal::Agency {
            authority: "vodokanal".into(),
        },
        Principal::Exchange {
            partner: "national-centre".into(),
        },
    ];
    let events_before = hub.store.last_event_id().await.unwrap();
    let mut checked = 0;
    for principal in &principals {
        let channel = hub.channel_as(principal).await;
        for (service, method) in RPCS {
            let code = call_code(channel.clone(), service, method).await;
            if expected(principal, service, method) {
                assert_ne!(
                    code,
                    Code::PermissionDenied,
                    "{principal} should reach {service}/{method}"
                );
            } else {
                assert_eq!(
                    code,
                    Code::PermissionDenied,
                    "{principal} must not reach {service}/{method}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, principals.len() * RPCS.len());
    assert_eq!(
        hub.store.last_event_id().await.unwrap(),
        events_before,
        "empty requests changed nothing"
    );

    // An agency certificate is honoured only while its authority is known and active.
    for stranger in ["nobody", "heating"] {
        if stranger == "heating" {
            hub.directory()
                .await
                .deactivate_authority(pb::DeactivateAuthorityRequest {
                    code: "heating".into(),
                })
                .await
                .unwrap();
        }
        let channel = hub
            .channel_as(&Principal::Agency {
                authority: stranger.into(),
            })
            .await;
        let code = call_code(channel, "hotline.v1.AgencyGateway", "ListCases").await;
        assert_eq!(code, Code::PermissionDenied, "agency {stranger}");
    }
    hub.stop().await;
}

async fn the_audit_trail_records_changes_and_reads_and_detects_edits<S: Store>(hub: TestHub<S>) {
    let mut operator = hub.operator().await;
    let appeal = operator
        .register_appeal(water_complaint())
        .await
        .unwrap()
        .into_inner();
    hub.analyst()
        .await
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
    let mut supervisor = hub.registry(StaffRole::Supervisor).await;
    supervisor
        .get_appeal(pb::GetAppealRequest {
            number: appeal.number.clone(),
        })
        .await
        .unwrap();

    let store = &hub.store;
    let trail = store.audit_trail(Some(&appeal.number)).await.unwrap();
    let actions: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|e| (e.principal.as_str(), e.rpc.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "staff:operator:test-operator",
                "/hotline.v1.AppealRegistry/RegisterAppeal",
                "appeal.registered"
            ),
            (
                "staff:analyst:test-analyst",
                "/hotline.v1.AppealRegistry/AssignAppeal",
                "case.assigned,appeal.status_changed"
            ),
            (
                "staff:supervisor:test-supervisor",
                "/hotline.v1.AppealRegistry/GetAppeal",
                "read.personal_data"
            ),
        ]
    );
    for entry in &trail {
        assert!(
            !entry.detail.contains("Петренко") && !entry.detail.contains("380"),
            "no personal data in the trail"
        );
    }

    let (head, head_hash) = store.audit_head().await.unwrap();
    let all = store.audit_trail(None).await.unwrap();
    assert_eq!(
        audit::verify(&all, head, &head_hash),
        Finding::Intact { rows: head }
    );

    // Someone with database access edits a row: verify names it.
    let target = trail[1].seq;
    hotline_tests::execute(
        &hub,
        &format!(
            "UPDATE audit_log SET principal = 'staff:analyst:someone-else' WHERE seq = {target}"
        ),
    )
    .await;
    let all = store.audit_trail(None).await.unwrap();
    assert_eq!(
        audit::verify(&all, head, &head_hash),
        Finding::Altered { seq: target }
    );

    // … or removes one.
    hotline_tests::execute(
        &hub,
        &format!("DELETE FROM audit_log WHERE seq = {}", target + 1),
    )
    .await;
    let all = store.audit_trail(None).await.unwrap();
    assert_eq!(
        audit::verify(&all, head, &head_hash),
        Finding::Altered { seq: target }
    );
    hub.stop().await;
}

on_both!(
    every_role_against_every_rpc,
    the_audit_trail_records_changes_and_reads_and_detects_edits
);

/// Runs the grpcio client script as `identity` against `method`; returns its one-line verdict.
async fn grpcio_call(
    hub_addr: std::net::SocketAddr,
    ca_pem: &str,
    identity: &hotline_hub::pki::Issued,
    method: &str,
) -> String {
    let dir = std::env::temp_dir().join(format!("hotline-grpcio-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = (
        dir.join("ca.pem"),
        dir.join("client.pem"),
        dir.join("client.key"),
    );
    std::fs::write(&ca, ca_pem).unwrap();
    std::fs::write(&cert, &identity.cert_pem).unwrap();
    std::fs::write(&key, &identity.key_pem).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/grpcio_client.py");
    let args: Vec<String> = vec![
        script.into(),
        hub_addr.to_string(),
        ca.display().to_string(),
        cert.display().to_string(),
        key.display().to_string(),
        method.into(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(&args).output()
    })
    .await
    .unwrap()
    .expect("run python3");
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        output.status.success(),
        "grpcio client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Our TLS set-up, proven against a gRPC stack we did not write (grpcio, installed by .ci/run).
#[tokio::test]
async fn grpcio_reaches_the_hub_over_mutual_tls() {
    let has_grpcio = std::process::Command::new("python3")
        .args(["-c", "import grpc"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_grpcio {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI must have grpcio (.ci/run installs it)"
        );
        eprintln!("grpcio test not run: pip install grpcio");
        return;
    }
    let hub = hotline_tests::sqlite_hub().await;
    let ca = hub.pki.ca.cert_pem().to_string();

    let admin = hub.pki.client(&staff(StaffRole::Admin));
    let reply = grpcio_call(hub.addr, &ca, &admin, "/hotline.v1.Directory/ListDistricts").await;
    let hex_code: String = "dniprovskyi".bytes().map(|b| format!("{b:02x}")).collect();
    assert!(
        reply.starts_with("OK ") && reply.contains(&hex_code),
        "{reply}"
    );

    let operator = hub.pki.client(&staff(StaffRole::Operator));
    let reply = grpcio_call(
        hub.addr,
        &ca,
        &operator,
        "/hotline.v1.Directory/CreateAuthority",
    )
    .await;
    assert!(reply.starts_with("ERROR PERMISSION_DENIED"), "{reply}");

    let stranger_dir =
        std::env::temp_dir().join(format!("hotline-stranger-{}", uuid::Uuid::new_v4()));
    let stranger = Ca::generate(&stranger_dir, "stranger CA", Validity::days(10)).unwrap();
    let foreign = stranger
        .issue_client(&staff(StaffRole::Admin), Validity::days(1))
        .unwrap();
    let reply = grpcio_call(
        hub.addr,
        &ca,
        &foreign,
        "/hotline.v1.Directory/ListDistricts",
    )
    .await;
    assert!(
        reply.starts_with("ERROR UNAVAILABLE"),
        "a foreign certificate is refused: {reply}"
    );
    hub.stop().await;
}
