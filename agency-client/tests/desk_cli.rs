//! The desk through the real binary: clerks managed with `agency-client user add|list|reset|remove`
//! (passwords from stdin, or generated), and `run --desk` serving the page next to the daemon with
//! the hub unreachable: nothing without signing in, the session cookie's protections, the
//! anti-forgery check, a removed clerk signed out at once, and a clean stop on SIGTERM. The flows
//! in a real browser against a real hub are in `tests/e2e/desk.rs`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_agency-client");
const WAIT: Duration = Duration::from_secs(30);

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agency-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `agency-client --data-dir DATA ARGS` with `stdin`.
fn cli(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(EXE)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The daemon with its desk on a free port; its log in `dir/daemon.log`.
fn spawn_daemon(data: &Path, dir: &Path) -> Child {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["agency.test".to_string()]).unwrap();
    std::fs::write(tls.join("agency.pem"), made.cert.pem()).unwrap();
    std::fs::write(tls.join("agency.key"), made.signing_key.serialize_pem()).unwrap();
    std::fs::write(tls.join("ca.pem"), made.cert.pem()).unwrap();
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    Command::new(EXE)
        .arg("--data-dir")
        .arg(data)
        .args(["--cert", &tls.join("agency.pem").display().to_string()])
        .args(["--key", &tls.join("agency.key").display().to_string()])
        .args(["--ca", &tls.join("ca.pem").display().to_string()])
        // Port 1 on loopback: refused at once, the daemon keeps retrying; the desk works anyway.
        .args(["--hub", "https://127.0.0.1:1"])
        .arg("run")
        .env("AGENCY_DESK", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// One HTTP/1.1 request; the whole answer as text.
fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn get(addr: &str, path: &str, cookie: &str) -> String {
    http(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn post(addr: &str, path: &str, cookie: &str, body: &str) -> String {
    http(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer
        .split("\r\n\r\n")
        .next()?
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn clerks_are_managed_from_the_command_line_and_the_desk_serves_beside_the_daemon() {
    let dir = temp_dir("desk-cli");
    let data = dir.join("data");

    let short = cli(
        &data,
        &["user", "add", "olena", "--password-stdin"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(text(&short).contains("too short"), "{}", text(&short));
    let added = cli(
        &data,
        &["user", "add", "olena", "--password-stdin"],
        "довгий пароль клерка\n",
    );
    assert!(added.status.success(), "{}", text(&added));
    let again = cli(
        &data,
        &["user", "add", "olena", "--password-stdin"],
        "інший пароль клерка\n",
    );
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let bad_login = cli(
        &data,
        &["user", "add", "a b", "--password-stdin"],
        "довгий пароль клерка\n",
    );
    assert!(!bad_login.status.success());
    // Without --password-stdin a password is generated and shown once.
    let generated = cli(&data, &["user", "add", "petro"], "");
    assert!(generated.status.success(), "{}", text(&generated));
    let petro_password = text(&generated)
        .lines()
        .find_map(|l| {
            l.split_once("shown again): ")
                .map(|(_, p)| p.trim().to_string())
        })
        .expect("a generated password");
    let list = cli(&data, &["user", "list"], "");
    assert_eq!(String::from_utf8_lossy(&list.stdout), "olena\npetro\n");
    // The store keeps argon2id hashes, never the password. Its write-ahead log is read too: a
    // command that exits before SQLite folds the log back into the file leaves its rows there.
    let mut store = std::fs::read(data.join("agency.db")).unwrap();
    store.extend(std::fs::read(data.join("agency.db-wal")).unwrap_or_default());
    let store = String::from_utf8_lossy(&store);
    assert!(store.contains("$argon2id$"));
    assert!(!store.contains(&petro_password));

    let mut daemon = spawn_daemon(&data, &dir);
    let deadline = Instant::now() + WAIT;
    let addr = loop {
        let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
        if let Some(rest) = log.split("the desk on http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "the desk did not start: {log}");
        std::thread::sleep(Duration::from_millis(20));
    };

    // Nothing without signing in.
    let inbox = get(&addr, "/inbox", "");
    assert!(inbox.starts_with("HTTP/1.1 303"), "{inbox}");
    assert_eq!(header(&inbox, "location"), Some("/login"));
    let login = get(&addr, "/login", "");
    assert!(login.contains("lang=\"uk\""));
    assert_eq!(header(&login, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&login, "cache-control"), Some("no-store"));
    let refused = post(&addr, "/login", "", "login=petro&password=wrong-password");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    let signed_in = post(
        &addr,
        "/login",
        "",
        &format!("login=petro&password={}", form_encode(&petro_password)),
    );
    assert!(signed_in.starts_with("HTTP/1.1 303"), "{signed_in}");
    let cookie = header(&signed_in, "set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/")
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let inbox = get(&addr, "/inbox", &session);
    assert!(inbox.starts_with("HTTP/1.1 200"), "{inbox}");
    assert!(inbox.contains("Немає зв&#39;язку з хабом") || inbox.contains("Немає зв'язку з хабом"));
    // A case that is not in the store is a plain 404, in Ukrainian.
    let missing = get(&addr, "/cases/999", &session);
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert!(missing.contains("Такої справи немає"), "{missing}");
    // A form without the session's anti-forgery token is refused.
    let forged = post(&addr, "/logout", &session, "csrf=0000");
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");

    // A removed clerk is signed out at once.
    let removed = cli(&data, &["user", "remove", "petro"], "");
    assert!(removed.status.success(), "{}", text(&removed));
    let inbox = get(&addr, "/inbox", &session);
    assert!(inbox.starts_with("HTTP/1.1 303"), "{inbox}");

    Command::new("kill")
        .arg("-TERM")
        .arg(daemon.id().to_string())
        .status()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(dir);
}
