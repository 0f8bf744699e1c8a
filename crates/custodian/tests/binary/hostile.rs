//! Hostile clients against the real binary, over raw TCP: request heads sent slowly or never
//! finished, more connections than the caps allow, and malformed requests — each answered with
//! the error shape of `docs/ERRORS.md`, or, for what hyper's parser refuses on its own, as
//! that document says.

use crate::common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, start};

/// Long enough for a loaded machine; the tests wait for behaviour, never for a time.
const GENEROUS: Duration = Duration::from_secs(60);

/// The beginning of a request head that never ends.
const PARTIAL_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: custodian\r\nX-Slow: ";

/// A TCP connection to the server from `source`, a loopback address (Linux routes all of
/// 127.0.0.0/8 to the loopback interface, so each is a different client to the server).
fn connect_from(source: &str, server: &Server) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let target = server.address.parse().unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        socket.connect(target).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    stream
}

/// A connection that sent part of a request head and stalls.
fn staller(source: &str, server: &Server) -> TcpStream {
    let mut stream = connect_from(source, server);
    stream.write_all(PARTIAL_HEAD).unwrap();
    stream
}

/// Everything the server sends until it closes the connection (a reset counts as a close);
/// panics if it is still open after `GENEROUS`.
fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let deadline = Instant::now() + GENEROUS;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                assert!(
                    Instant::now() < deadline,
                    "the server kept the connection open; it sent {:?}",
                    String::from_utf8_lossy(&received)
                );
            }
            Err(_) => return received,
        }
    }
}

/// A response as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header lines, lowercased.
    headers: Vec<String>,
    body: String,
}

impl Answer {
    fn parse(bytes: &[u8]) -> Answer {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {text:?}"));
        Answer {
            status,
            headers: lines.map(str::to_ascii_lowercase).collect(),
            body: body.to_owned(),
        }
    }

    fn has_header(&self, line: &str) -> bool {
        self.headers.iter().any(|h| h.starts_with(line))
    }

    /// The error code of a JSON error answer; panics if it is not one.
    fn code(&self) -> String {
        assert!(
            self.has_header("content-type: application/json"),
            "not JSON: {self:?}"
        );
        let body: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"]["code"].as_str().unwrap().to_owned()
    }
}

/// `bytes` written whole on a fresh connection (from 127.0.0.1), then the answer.
fn exchange(server: &Server, bytes: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    Answer::parse(&until_closed(&mut stream))
}

/// `GET /healthz` from `source` on a fresh connection.
fn healthz_from(source: &str, server: &Server) -> Answer {
    let mut stream = connect_from(source, server);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: custodian\r\nConnection: close\r\n\r\n")
        .unwrap();
    Answer::parse(&until_closed(&mut stream))
}

/// `/healthz` from `source` until it answers 200 (a connection still counted against a cap
/// is let go a moment after the client closes it).
fn healthz_answers_from(source: &str, server: &Server) {
    let deadline = Instant::now() + GENEROUS;
    loop {
        let answer = healthz_from(source, server);
        if answer.status == 200 {
            assert!(answer.body.contains(r#""status":"ok""#), "{answer:?}");
            return;
        }
        assert_eq!(answer.code(), "too_many_connections");
        assert!(Instant::now() < deadline, "/healthz never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A connection over a cap: answered 503 `too_many_connections` at once, then closed.
fn assert_refused(mut stream: TcpStream) {
    let answer = Answer::parse(&until_closed(&mut stream));
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.code(), "too_many_connections");
    assert!(answer.has_header("retry-after: "), "{answer:?}");
}

/// SIGTERM, then a clean exit after draining (not after the grace period's abort).
fn stop(server: &mut Server) {
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + GENEROUS;
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The log is read by another thread: it may lag behind the exit.
    let deadline = Instant::now() + GENEROUS;
    loop {
        let log = server.log.lock().unwrap().clone();
        if log.iter().any(|l| l.trim_end().ends_with("stopped")) {
            assert!(
                !log.iter().any(|l| l.contains("grace period over")),
                "the connections were not drained: {log:#?}"
            );
            return;
        }
        assert!(Instant::now() < deadline, "no `stopped` in {log:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn slow_request_heads_are_cut_off_and_do_not_starve_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(
        dir.path(),
        &[
            ("CUSTODIAN_HTTP__HEADER_READ_TIMEOUT_SECS", "1"),
            ("CUSTODIAN_HTTP__MAX_CONNECTIONS_PER_ADDRESS", "3"),
        ],
    );

    // More stalled heads than one address may hold: those admitted are closed when their
    // head's deadline passes, the others are refused at once.
    let mut stallers: Vec<TcpStream> = (0..8).map(|_| staller("127.0.0.1", &server)).collect();
    for stream in &mut stallers {
        let sent = until_closed(stream);
        if !sent.is_empty() {
            let answer = Answer::parse(&sent);
            assert_eq!(answer.status, 503, "{answer:?}");
            assert_eq!(answer.code(), "too_many_connections");
        }
    }
    drop(stallers);
    // With the stallers gone, the same address is served.
    healthz_answers_from("127.0.0.1", &server);

    // A kept-alive connection is not held idle forever either.
    let mut idle = TcpStream::connect(&server.address).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: custodian\r\n\r\n")
        .unwrap();
    let answered = until_closed(&mut idle);
    let answer = Answer::parse(&answered);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.body.ends_with(r#"{"status":"ok"}"#), "{answer:?}");

    // A stalled head does not keep the server from draining and stopping.
    let _stalled = staller("127.0.0.1", &server);
    stop(&mut server);
}

#[cfg(target_os = "linux")]
#[test]
fn connection_caps_refuse_at_once_and_spare_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(
        dir.path(),
        &[
            // Stalled heads are held for the whole test: only the caps let connections go.
            ("CUSTODIAN_HTTP__HEADER_READ_TIMEOUT_SECS", "3600"),
            ("CUSTODIAN_HTTP__MAX_CONNECTIONS", "5"),
            ("CUSTODIAN_HTTP__MAX_CONNECTIONS_PER_ADDRESS", "3"),
        ],
    );
    let first: Vec<TcpStream> = (0..3).map(|_| staller("127.0.0.1", &server)).collect();
    let second: Vec<TcpStream> = (0..2).map(|_| staller("127.0.0.2", &server)).collect();
    // Accepted in order: these come after the five above, which fill the server.
    assert_refused(connect_from("127.0.0.3", &server));
    assert_refused(connect_from("127.0.0.1", &server));

    // Once some stallers are gone, another client is served again…
    drop(second);
    healthz_answers_from("127.0.0.3", &server);
    // …while the address holding its three is still refused.
    assert_refused(connect_from("127.0.0.1", &server));

    drop(first);
    healthz_answers_from("127.0.0.1", &server);
    stop(&mut server);
}

#[test]
fn the_client_address_still_reaches_the_sign_in_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    // Ten attempts a minute per address: each login is new, so only the address can be
    // what the eleventh is refused for.
    let codes: Vec<String> = (0..11)
        .map(|i| {
            let body = format!(r#"{{"login": "nobody-{i}", "password": "not the password"}}"#);
            let request = format!(
                "POST /v1/sessions HTTP/1.1\r\nHost: custodian\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            exchange(&server, request.as_bytes()).code()
        })
        .collect();
    assert!(
        codes[..10].iter().all(|c| c == "invalid_credentials"),
        "{codes:?}"
    );
    assert_eq!(codes[10], "rate_limited");
    stop(&mut server);
}

#[test]
fn malformed_requests_are_answered_as_errors_md_says() {
    let errors_md = include_str!("../../../../docs/ERRORS.md");
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);

    // Past the parser, our own checks answer with JSON.
    let gzipped = exchange(
        &server,
        b"POST /v1/customers?purpose=account HTTP/1.1\r\nHost: custodian\r\n\
          Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(gzipped.status, 501, "{gzipped:?}");
    assert_eq!(gzipped.code(), "unsupported_transfer_encoding");
    let twice = exchange(
        &server,
        b"POST /v1/customers?purpose=account HTTP/1.1\r\nHost: custodian\r\n\
          Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          0\r\n\r\n",
    );
    assert_eq!(twice.code(), "unsupported_transfer_encoding");

    let long_target = |bytes: usize| {
        let mut request = b"GET /healthz?q=".to_vec();
        request.resize(bytes + 4, b'a');
        request.extend_from_slice(b" HTTP/1.1\r\nHost: custodian\r\nConnection: close\r\n\r\n");
        request
    };
    // A 64 kB target (64,000 bytes): under the parser's limit, over `http.max_uri_bytes`.
    let long = exchange(&server, &long_target(64_000));
    assert_eq!(long.status, 414, "{long:?}");
    assert_eq!(long.code(), "uri_too_long");
    assert!(
        !long.body.contains("aaaa"),
        "the target is not echoed: {long:?}"
    );

    // What the parser refuses itself is JSON too (its bare answer replaced as it leaves), as
    // docs/ERRORS.md lists.
    let over_parser = exchange(&server, &long_target(65_536));
    assert_eq!(over_parser.status, 414, "{over_parser:?}");
    assert_eq!(over_parser.code(), "uri_too_long");
    assert!(errors_md.contains("the request target is longer than 65,534 bytes"));

    let bad_coding = exchange(
        &server,
        b"POST /v1/customers HTTP/1.1\r\nHost: custodian\r\nTransfer-Encoding: gzip\r\n\
          Connection: close\r\n\r\n",
    );
    assert_eq!(bad_coding.status, 400, "{bad_coding:?}");
    assert_eq!(bad_coding.code(), "malformed_request");
    assert!(errors_md.contains("a `Transfer-Encoding` whose last coding is not `chunked`"));

    let control = exchange(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: custodian\r\nX-Note: a\x01b\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(control.status, 400, "{control:?}");
    assert_eq!(control.code(), "malformed_request");
    // Too many header lines: the parser's 431, as JSON.
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: custodian\r\n");
    for n in 0..120 {
        many.push_str(&format!("X-H{n}: v\r\n"));
    }
    many.push_str("Connection: close\r\n\r\n");
    let crowded = exchange(&server, many.as_bytes());
    assert_eq!(crowded.status, 431, "{crowded:?}");
    assert_eq!(crowded.code(), "headers_too_large");
    assert!(errors_md.contains("a control character (other than tab) in a header name or value"));

    // The service still answers.
    assert_eq!(healthz_from("127.0.0.1", &server).status, 200);
    stop(&mut server);
}
