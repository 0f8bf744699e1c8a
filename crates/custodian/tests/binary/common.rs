//! A running `custodian serve` for end-to-end tests, and a raw HTTP/1.1 client: no client
//! library, so the tests stay cheap to build.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "end-to-end-token-0123456789abcdef0123456789";

/// A running server, killed if the test ends before stopping it.
pub struct Server {
    pub child: Child,
    pub address: String,
    /// Every line the server has logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `custodian` with its data under `dir` and one integration token.
pub fn custodian(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_custodian"));
    command
        .current_dir(dir)
        .env("CUSTODIAN_LISTEN", "127.0.0.1:0")
        .env("CUSTODIAN_DATA_DIR", dir.join("data"))
        .env("CUSTODIAN_API__TOKENS", format!("e2e={TOKEN}"))
        .env_remove("CUSTODIAN_CONFIG");
    command
}

pub fn start(dir: &Path, extra_env: &[(&str, &str)]) -> Server {
    let mut command = custodian(dir);
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let mut child = command
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut server = Server {
        child,
        address: String::new(),
        log: log.clone(),
    };
    let (lines, received) = mpsc::channel();
    // Drains the log for the server's whole life, so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.lock().unwrap().push(line.clone());
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Ok(line) = received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Some((_, address)) = line.split_once("listening on ") {
            server.address = address.trim().to_owned();
            return server;
        }
    }
    panic!("the server did not start: {:?}", server.log.lock().unwrap());
}

/// One request over a fresh connection; `None` if the server went away mid-request.
pub fn request(address: &str, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    request_with(address, method, path, &[], body).map(|(status, _, body)| (status, body))
}

/// One request with extra headers (`name: value`, written as given); returns the status,
/// the response's header lines and its body. `None` if the server went away mid-request.
pub fn request_with(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, Vec<String>, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let header_lines = head.lines().skip(1).map(str::to_owned).collect();
    Some((status, header_lines, body.to_owned()))
}

/// A JSON request with the integration token: the status and the body (`null` when empty or
/// not JSON).
pub fn call(
    address: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, _, text) = request_with(address, method, path, &[], &body).unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// Every byte of every file under `dir`, for the canary searches.
pub fn everything_under(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            all.extend(everything_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            all.extend(bytes);
        }
    }
    all
}

pub fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

pub const SECRET_CARRIER: &str = "carrier-webhook-secret-0123456789";
pub const SECRET_PROCESSOR: &str = "processor-webhook-secret-0123456789";

/// The carrier and the payment processor on loopback, and a server that delivers to them
/// (polling its outbox every 50 ms). Dropped in this order: the server, the partners, their
/// runtime.
pub struct Partnered {
    pub server: Server,
    pub carrier: custodian_partners::fake_partner::FakePartner,
    pub processor: custodian_partners::fake_partner::FakePartner,
    /// Runs the partners: keep it bound (not `..`) for as long as they must answer.
    pub runtime: tokio::runtime::Runtime,
}

pub fn start_with_partners(dir: &Path) -> Partnered {
    use custodian_partners::fake_partner::FakePartner;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let carrier = runtime
        .block_on(FakePartner::start(SECRET_CARRIER.as_bytes()))
        .unwrap();
    let processor = runtime
        .block_on(FakePartner::start(SECRET_PROCESSOR.as_bytes()))
        .unwrap();
    let (carrier_url, processor_url) = (carrier.url(), processor.url());
    let server = start(
        dir,
        &[
            ("CUSTODIAN_PARTNERS__CARRIER__URL", carrier_url.as_str()),
            ("CUSTODIAN_PARTNERS__CARRIER__SECRET", SECRET_CARRIER),
            (
                "CUSTODIAN_PARTNERS__PAYMENT_PROCESSOR__URL",
                processor_url.as_str(),
            ),
            (
                "CUSTODIAN_PARTNERS__PAYMENT_PROCESSOR__SECRET",
                SECRET_PROCESSOR,
            ),
            ("CUSTODIAN_OUTBOX__POLL_MS", "50"),
        ],
    );
    Partnered {
        server,
        carrier,
        processor,
        runtime,
    }
}
