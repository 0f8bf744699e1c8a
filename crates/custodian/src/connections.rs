//! The accept loop of `custodian serve`: each connection served by hyper's HTTP/1.1 server
//! with a deadline on every request head (which also bounds how long a kept-alive connection
//! may sit idle), behind a cap on connections in all and per client address, and drained on
//! shutdown.
//!
//! Beyond a cap, a connection is answered at once with a fixed 503 `too_many_connections`
//! (JSON, `Retry-After`) and closed, before anything of its request is read: it costs a
//! file descriptor for a moment only.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use custodian_core::error::{ApiError, ErrorCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How much of the server one client may hold, and for how long without a request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head not complete within this long closes its connection (no answer); the
    /// wait for the next head of a kept-alive connection counts too.
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once from one client (an IPv4 address, an IPv6 /64).
    pub max_connections_per_address: usize,
}

/// Serves `app` on `listener` until `stop` completes; then accepts nothing more, lets each
/// connection finish the request it is answering (an idle one closes at once, one in the
/// middle of a head at the latest when the head's deadline passes), and returns when all are
/// closed. Dropping the future closes every connection at once.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let http = Arc::new(http);
    let admissions = Admissions::new(&limits);
    let (drain, draining) = watch::channel(false);
    // Owned here, so that dropping this future (the grace period over) aborts them all.
    let mut connections = JoinSet::new();
    let mut refusals = RefusalLog::default();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            // Reaps finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        accept_failed(&e).await;
                        continue;
                    }
                };
                let admission = match admissions.admit(peer.ip()) {
                    Ok(admission) => admission,
                    Err(refusal) => {
                        refusals.record(refusal);
                        refuse(stream);
                        continue;
                    }
                };
                let (http, app, draining) = (http.clone(), app.clone(), draining.clone());
                connections.spawn(async move {
                    serve_connection(&http, stream, peer, app, draining).await;
                    drop(admission);
                });
            }
        }
    }
    drop(listener);
    let _ = drain.send(true);
    while connections.join_next().await.is_some() {}
}

/// One connection, until the client or hyper closes it; asked to finish gracefully once
/// `draining` turns true.
async fn serve_connection(
    http: &http1::Builder,
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    mut draining: watch::Receiver<bool>,
) {
    // The peer's address feeds the sign-in rate limits (`ConnectInfo`, as axum gives it).
    let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.map(Body::new)
    });
    // What hyper's parser refuses leaves as the documented JSON error, not hyper's bare status.
    let io = TokioIo::new(crate::parse_errors::JsonParseErrors::new(stream));
    let connection = http.serve_connection(io, TowerToHyperService::new(service));
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        // Also when the sender is gone: the server is stopping either way. (The guard
        // `wait_for` returns must not live on: the future would not be `Send`.)
        () = async { drop(draining.wait_for(|draining| *draining).await) } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // hyper's errors name what went wrong (a parse error, a timeout), never what was sent.
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

/// What an accept failed with: a connection reset before it was accepted is nothing; running
/// out of file descriptors (or any other failure) is said, and the loop waits a moment so as
/// not to spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Which cap a connection was refused by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Total,
    PerAddress,
}

/// The connection slots: a semaphore for all of them, a count per client.
struct Admissions {
    total: Arc<Semaphore>,
    per_address: Arc<PerAddress>,
}

struct PerAddress {
    cap: usize,
    /// Only clients holding at least one connection: never more entries than connections.
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's slots, given back when it is dropped.
struct Admission {
    _total: OwnedSemaphorePermit,
    client: IpAddr,
    per_address: Arc<PerAddress>,
}

impl Admissions {
    fn new(limits: &Limits) -> Admissions {
        Admissions {
            total: Arc::new(Semaphore::new(limits.max_connections)),
            per_address: Arc::new(PerAddress {
                cap: limits.max_connections_per_address,
                counts: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn admit(&self, address: IpAddr) -> Result<Admission, Refusal> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Total)?;
        let client = client_of(address);
        let mut counts = self
            .per_address
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(client).or_insert(0);
        if *count >= self.per_address.cap {
            return Err(Refusal::PerAddress);
        }
        *count += 1;
        Ok(Admission {
            _total: total,
            client,
            per_address: self.per_address.clone(),
        })
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = self
            .per_address
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// Whom a connection counts against: an IPv4 address (an IPv4-mapped IPv6 address is one),
/// or the /64 of an IPv6 address, since one subscriber usually holds a whole /64.
fn client_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !(u128::from(u64::MAX));
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// The answer to a connection beyond a cap, written before anything is read.
fn refusal_response() -> Vec<u8> {
    let error = ApiError::new(
        ErrorCode::TooManyConnections,
        "the server holds too many connections (in all, or from this address); retry later",
    );
    let body = serde_json::json!({ "error": error }).to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 5\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers 503 and closes, never waiting. Done on the plain (non-blocking) socket: tokio's
/// `try_write` would refuse before its reactor has seen the new socket writable. A fresh
/// socket's send buffer is empty, so the short answer goes out whole; what the client already
/// sent is read and dropped first, so that the close does not reset the connection before the
/// client reads the answer (a client still sending may see a reset instead).
fn refuse(stream: TcpStream) {
    use std::io::{Read, Write};
    static RESPONSE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let Ok(mut stream) = stream.into_std() else {
        return;
    };
    let response = RESPONSE.get_or_init(refusal_response);
    let mut sink = [0u8; 4096];
    for _ in 0..4 {
        match stream.read(&mut sink) {
            Ok(1..) => {}
            _ => break,
        }
    }
    let _ = stream.write(response);
}

/// Says when connections are refused, without flooding the log under a flood of them (and
/// never naming the client: an address is personal data).
#[derive(Default)]
struct RefusalLog {
    last_said: Option<Instant>,
    unsaid: u64,
}

impl RefusalLog {
    const EVERY: Duration = Duration::from_secs(60);

    fn record(&mut self, refusal: Refusal) {
        self.unsaid = self.unsaid.saturating_add(1);
        let now = Instant::now();
        if self
            .last_said
            .is_some_and(|said| now.saturating_duration_since(said) < Self::EVERY)
        {
            return;
        }
        let cap = match refusal {
            Refusal::Total => "http.max_connections",
            Refusal::PerAddress => "http.max_connections_per_address",
        };
        tracing::warn!(
            refused = self.unsaid,
            cap,
            "connections refused: a connection cap is reached (said at most once a minute)"
        );
        self.last_said = Some(now);
        self.unsaid = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_address: usize) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: total,
            max_connections_per_address: per_address,
        }
    }

    #[test]
    fn caps_count_connections_in_all_and_per_client() {
        let admissions = Admissions::new(&limits(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = admissions.admit(a).unwrap();
        let _second = admissions.admit(a).unwrap();
        assert_eq!(admissions.admit(a).err(), Some(Refusal::PerAddress));
        let _third = admissions.admit(b).unwrap();
        assert_eq!(admissions.admit(b).err(), Some(Refusal::Total));
        drop(first);
        let _again = admissions.admit(a).unwrap();
        drop(_again);
        drop(_second);
        let counts = admissions.per_address.counts.lock().unwrap();
        assert!(
            !counts.contains_key(&a),
            "no entry is kept for a client gone"
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_a_mapped_address_is_ipv4() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_of(one), client_of(other));
        assert_ne!(client_of(one), client_of(elsewhere));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_of(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_refusal_is_a_complete_json_answer() {
        let response = String::from_utf8(refusal_response()).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "too_many_connections");
    }
}
