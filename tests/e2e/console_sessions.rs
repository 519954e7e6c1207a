//! The staff console's sign-in below the pages, on both databases: sessions end at their expiry, a
//! lock ends after its minutes, a new password ends the old sessions; and the listener over TLS
//! with the hub's certificate, its session cookie marked `Secure`.

use std::sync::Arc;

use hotline_hub::app::ManualClock;
use hotline_hub::app::staff::{SignIn, SignInPolicy};
use hotline_hub::console::{self, ConsoleState};
use hotline_hub::domain::Caller;
use hotline_hub::principal::{Principal, StaffRole};
use hotline_hub::store::Store;
use hotline_tests::{TestHub, on_both_with_clock, sqlite_hub};
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

const PASSWORD: &str = "correct horse battery staple";

fn policy() -> SignInPolicy {
    SignInPolicy {
        session: chrono::Duration::hours(8),
        max_failed: 3,
        lockout: chrono::Duration::minutes(15),
    }
}

async fn set_password<S: Store>(hub: &TestHub<S>, login: &str, role: StaffRole, password: &str) {
    hub.hotline
        .set_staff_password(login, role, password, &Caller::system("test"))
        .await
        .unwrap();
}

async fn open<S: Store>(hub: &TestHub<S>, login: &str, password: &str) -> SignIn {
    hub.hotline
        .sign_in(login, password, policy())
        .await
        .unwrap()
}

/// Sessions expire, locks end, a new password ends old sessions; bad passwords are refused.
async fn sessions_expire_and_locks_end<S: Store>(hub: TestHub<S>, clock: Arc<ManualClock>) {
    set_password(&hub, "ivan", StaffRole::Operator, PASSWORD).await;
    let short = hub
        .hotline
        .set_staff_password(
            "ivan",
            StaffRole::Operator,
            "short",
            &Caller::system("test"),
        )
        .await;
    assert!(short.is_err(), "a short password is refused");
    let bad_login = hub
        .hotline
        .set_staff_password(
            "Ivan Petrov",
            StaffRole::Operator,
            PASSWORD,
            &Caller::system("t"),
        )
        .await;
    assert!(bad_login.is_err(), "a login must be a certificate's login");

    let SignIn::Opened { token, session } = open(&hub, "ivan", PASSWORD).await else {
        panic!("the right password opens a session");
    };
    assert_eq!(
        session.principal,
        Principal::Staff {
            role: StaffRole::Operator,
            login: "ivan".into()
        }
    );
    let live = hub.hotline.console_session(&token).await.unwrap().unwrap();
    assert_eq!(live.csrf_token, session.csrf_token);
    assert!(
        hub.hotline
            .console_session("forged")
            .await
            .unwrap()
            .is_none()
    );
    clock.advance(chrono::Duration::hours(8) + chrono::Duration::seconds(1));
    assert!(
        hub.hotline.console_session(&token).await.unwrap().is_none(),
        "the session ended at its expiry"
    );

    // A new password (or role) ends the sessions opened with the old one.
    let SignIn::Opened { token, .. } = open(&hub, "ivan", PASSWORD).await else {
        panic!("signs in again");
    };
    set_password(&hub, "ivan", StaffRole::Analyst, "another long passphrase").await;
    assert!(hub.hotline.console_session(&token).await.unwrap().is_none());

    // Unknown logins and wrong passwords read alike; three wrong ones lock, for 15 minutes.
    assert!(matches!(
        open(&hub, "nobody", PASSWORD).await,
        SignIn::Refused
    ));
    assert!(matches!(open(&hub, "ivan", "wrong").await, SignIn::Refused));
    assert!(matches!(open(&hub, "ivan", "wrong").await, SignIn::Refused));
    assert!(matches!(
        open(&hub, "ivan", "wrong").await,
        SignIn::Locked { .. }
    ));
    assert!(matches!(
        open(&hub, "ivan", "another long passphrase").await,
        SignIn::Locked { .. }
    ));
    clock.advance(chrono::Duration::minutes(16));
    let SignIn::Opened { session, .. } = open(&hub, "ivan", "another long passphrase").await else {
        panic!("the lock ended");
    };
    assert!(matches!(
        session.principal,
        Principal::Staff {
            role: StaffRole::Analyst,
            ..
        }
    ));
    // Signing in cleared the count: two wrong passwords do not lock again.
    assert!(matches!(open(&hub, "ivan", "wrong").await, SignIn::Refused));
    assert!(matches!(open(&hub, "ivan", "wrong").await, SignIn::Refused));

    let trail = hub.hotline.audit_trail(None).await.unwrap();
    for action in ["staff.password", "staff.sign_in"] {
        assert!(trail.iter().any(|e| e.action == action), "{action} audited");
    }
}

on_both_with_clock!(sessions_expire_and_locks_end);

/// The console over TLS with the hub's server certificate: the sign-in page answers, and cookies
/// carry `Secure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_is_served_over_tls() {
    let hub = sqlite_hub().await;
    let server = Arc::new(hub.pki.files.public_server_config().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let state = ConsoleState {
        hotline: hub.hotline.clone(),
        policy: policy(),
        secure: true,
        stop: stopped.clone(),
        pki: None,
    };
    tokio::spawn(console::serve(listener, state, Some(server), stopped));

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(hub.pki.ca.cert_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let answer = String::from_utf8_lossy(&raw);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_default();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(answer.contains("lang=\"uk\""));
    let _ = stop.send(true);
}
