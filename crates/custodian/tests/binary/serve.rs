use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `custodian serve`, killed if the test fails before stopping it.
pub struct Server {
    pub child: Child,
    pub address: String,
    /// What the server printed on standard output (not its log), so far.
    pub stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Server {
    start_with(dir, &[])
}

/// Starts `custodian serve` with its data in `dir/data` and the extra `env`.
pub fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("custodian"))
        .arg("serve")
        .current_dir(dir)
        .env("CUSTODIAN_LISTEN", "127.0.0.1:0")
        .env("CUSTODIAN_DATA_DIR", dir.join("data"))
        .env_remove("CUSTODIAN_CONFIG")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    {
        let printed = printed.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                printed
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
    }
    // Owned by `Server` from here on, so it is killed and reaped however the test ends.
    let mut server = Server {
        child,
        address: String::new(),
        stdout: printed,
    };
    let (lines, received) = mpsc::channel();
    // Drains the log for the server's whole life so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = Vec::new();
    while let Ok(line) = received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Some((_, address)) = line.split_once("listening on ") {
            server.address = address.trim().to_owned();
            return server;
        }
        log.push(line);
    }
    panic!(
        "the server did not report its address; log:\n{}",
        log.join("\n")
    );
}

/// One HTTP/1.1 GET over a raw socket: status line, headers and body as text.
fn get(address: &str, path: &str) -> String {
    request(address, "GET", path, &[], "")
}

/// One HTTP/1.1 request over a raw socket: status line, headers and body as text.
pub fn request(address: &str, method: &str, path: &str, headers: &[&str], body: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    write!(stream, "{head}\r\n{body}").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Stops the server with SIGTERM and waits for a clean exit.
pub fn stop(server: &mut Server) {
    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exited with {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_answers_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());

    let health = get(&server.address, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200 OK"), "{health}");
    assert!(health.ends_with(r#"{"status":"ok"}"#), "{health}");

    let notice = get(&server.address, "/privacy?lang=en");
    assert!(notice.starts_with("HTTP/1.1 200 OK"), "{notice}");
    assert!(
        notice.to_ascii_lowercase().contains("content-language: en"),
        "{notice}"
    );
    assert!(notice.contains("<!DOCTYPE html>"), "{notice}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    stop(&mut server);
}

#[test]
fn serve_refuses_an_invalid_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "this is not toml\n").unwrap();
    crate::custodian(dir.path())
        .arg("serve")
        .env("CUSTODIAN_POLICY_FILE", "bad.toml")
        .env("CUSTODIAN_DATA_DIR", dir.path().join("data"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("bad.toml:1:"));
}

#[test]
fn serve_refuses_to_republish_a_version_with_other_content() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Publishing happens before binding, so an address that cannot be bound lets `serve`
    // archive the notice and stop without a server to manage.
    let unbindable = "192.0.2.1:9";
    crate::custodian(dir.path())
        .arg("serve")
        .env("CUSTODIAN_DATA_DIR", &data)
        .env("CUSTODIAN_LISTEN", unbindable)
        .assert()
        .code(3)
        .stderr(predicates::str::contains("cannot listen on"));

    let original = include_str!("../../../../policy/default.toml");
    let changed = original.replacen("privacy@htpmart.vn", "dpo-office@htpmart.vn", 1);
    assert_ne!(
        changed, original,
        "the default policy no longer has the text this test edits"
    );
    std::fs::write(dir.path().join("changed.toml"), changed).unwrap();
    crate::custodian(dir.path())
        .arg("serve")
        .env("CUSTODIAN_DATA_DIR", &data)
        .env("CUSTODIAN_LISTEN", unbindable)
        .env("CUSTODIAN_POLICY_FILE", "changed.toml")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("refusing to start"))
        .stderr(predicates::str::contains("bump `notice.version`"));
}

#[test]
fn the_first_start_prints_a_one_time_administrator_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    // Printed before the server listens; the reader thread may still be catching up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let password = loop {
        let printed = server.stdout.lock().unwrap().clone();
        if let Some(line) = printed
            .lines()
            .find(|l| l.trim_start().starts_with("password:"))
        {
            break line.split_once(':').unwrap().1.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "no password printed: {printed}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(password.len(), 32, "a 128-bit one-time password");
    let body = format!(r#"{{"login": "admin", "password": "{password}"}}"#);
    let response = request(&server.address, "POST", "/v1/sessions", &[], &body);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(
        response.contains(r#""must_change_password":true"#),
        "{response}"
    );
    stop(&mut server);

    // Only on the very first start.
    let mut server = start(dir.path());
    std::thread::sleep(Duration::from_millis(200));
    assert!(!server.stdout.lock().unwrap().contains("password"));
    stop(&mut server);
}
