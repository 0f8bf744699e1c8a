//! Nothing acknowledged is lost across a crash: the server is killed with SIGKILL again and
//! again in the middle of a load of creations, corrections and erasures. After every kill
//! the audit chain verifies; after every restart, every customer it acknowledged is there
//! with the last name it acknowledged, and every erasure it acknowledged reads as erased.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use common::{Server, custodian, request, start};

const CRASHES: usize = 5;
const WRITERS: usize = 6;

/// A change sent when the server died: it may or may not have been committed.
#[derive(Debug, Clone)]
enum InFlight {
    Rename(String),
    Erase,
}

/// What the server acknowledged about one customer.
#[derive(Debug, Clone)]
struct Customer {
    id: String,
    email: String,
    /// The latest name the server acknowledged (the one created with, or a correction's).
    name: String,
    erased: bool,
    in_flight: Option<InFlight>,
}

/// How a customer reads after a restart.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// Every field withheld as erased.
    Erased,
    /// Live, with their email and this name.
    Named(String),
}

fn read_state(server: &Server, c: &Customer, round: usize) -> Seen {
    let path = format!("/v1/customers/{}?purpose=account", c.id);
    let (status, body) = request(&server.address, "GET", &path, "").unwrap();
    assert_eq!(
        status, 200,
        "start {round}: acknowledged customer {} is gone: {body}",
        c.id
    );
    let view: Value = serde_json::from_str(&body).unwrap();
    let fields = view["fields"].as_object().unwrap();
    let erased = serde_json::json!({"withheld": "erased"});
    if fields.values().all(|v| *v == erased) {
        assert!(!fields.is_empty());
        return Seen::Erased;
    }
    assert!(
        fields.values().all(|v| *v != erased),
        "start {round}: customer {} is half erased: {body}",
        c.id
    );
    assert_eq!(
        fields["account_email.email"]["value"].as_str(),
        Some(c.email.as_str()),
        "start {round}: customer {} lost their email",
        c.id
    );
    Seen::Named(
        fields["account_name.full_name"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("start {round}: customer {} lost their name: {body}", c.id))
            .to_owned(),
    )
}

/// Every outcome the server acknowledged before the last crash is there. A change in flight
/// at the crash may have landed or not; whichever it is, it is what the server holds from now
/// on.
fn assert_all_acknowledged(server: &Server, ledgers: &mut [Vec<Customer>], round: usize) {
    for c in ledgers.iter_mut().flatten() {
        let state = read_state(server, c, round);
        let acknowledged = match (&state, c.erased) {
            (Seen::Erased, true) => true,
            (Seen::Named(name), false) => *name == c.name,
            _ => false,
        };
        let in_flight = match (&state, c.in_flight.take()) {
            (Seen::Erased, Some(InFlight::Erase)) => true,
            (Seen::Named(name), Some(InFlight::Rename(new))) => *name == new,
            _ => false,
        };
        assert!(
            acknowledged || in_flight,
            "start {round}: customer {} reads as {state:?}, but the server acknowledged \
             {} (and had in flight at most the change below)",
            c.id,
            if c.erased {
                "their erasure".to_owned()
            } else {
                format!("the name {:?}", c.name)
            },
        );
        match state {
            Seen::Erased => c.erased = true,
            Seen::Named(name) => c.name = name,
        }
    }
}

/// `custodian audit verify` on the data directory exits 0.
fn assert_chain_verifies(dir: &Path, after: &str) {
    let verify = custodian(dir).args(["audit", "verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "audit verify failed {after}: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// One writer's load until the server dies or `stop` is set: mostly creations, then
/// corrections and erasures of its own customers (no two writers touch one customer, so
/// each customer's last acknowledged outcome is well defined).
fn load(
    address: &str,
    stop: &AtomicBool,
    writer: usize,
    round: usize,
    mut mine: Vec<Customer>,
) -> Vec<Customer> {
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let live: Vec<usize> = (0..mine.len()).filter(|&i| !mine[i].erased).collect();
        let pick = (!live.is_empty()).then(|| live[(n * 7919) % live.len()]);
        match (n % 10, pick) {
            (6..=8, Some(i)) => {
                let name = format!("Crash Fixed {writer}.{round}.{n}");
                let path = format!("/v1/customers/{}?purpose=account", mine[i].id);
                let body = format!(r#"{{"fields": {{"account_name.full_name": "{name}"}}}}"#);
                match request(address, "PATCH", &path, &body) {
                    Some((204, _)) => mine[i].name = name,
                    Some((status, body)) => panic!("correction answered {status}: {body}"),
                    None => {
                        mine[i].in_flight = Some(InFlight::Rename(name));
                        return mine;
                    }
                }
            }
            (9, Some(i)) => {
                let path = format!("/v1/customers/{}?purpose=account", mine[i].id);
                match request(address, "DELETE", &path, "") {
                    Some((200, _)) => mine[i].erased = true,
                    Some((status, body)) => panic!("erasure answered {status}: {body}"),
                    None => {
                        mine[i].in_flight = Some(InFlight::Erase);
                        return mine;
                    }
                }
            }
            _ => {
                let email = format!("crash.{writer}.{round}.{n}@example.com");
                let name = format!("Crash {writer}.{round}.{n}");
                let body = format!(
                    r#"{{"fields": {{"account_name.full_name": "{name}", "account_email.email": "{email}"}}}}"#
                );
                match request(address, "POST", "/v1/customers?purpose=account", &body) {
                    Some((201, body)) => {
                        let v: Value = serde_json::from_str(&body).unwrap();
                        mine.push(Customer {
                            id: v["id"].as_str().unwrap().to_owned(),
                            email,
                            name,
                            erased: false,
                            in_flight: None,
                        });
                    }
                    Some((status, body)) => panic!("create answered {status}: {body}"),
                    None => return mine, // died mid-request: not acknowledged, not tracked
                }
            }
        }
    }
    mine
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Writer w's customers, in every round.
    let mut ledgers: Vec<Vec<Customer>> = vec![Vec::new(); WRITERS];
    // Five crashes, then a last start that only checks.
    for round in 0..=CRASHES {
        let mut server = start(dir.path(), &[]);
        assert_all_acknowledged(&server, &mut ledgers, round);
        if round == CRASHES {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = ledgers
            .drain(..)
            .enumerate()
            .map(|(w, mine)| {
                let (address, stop) = (server.address.clone(), stop.clone());
                std::thread::spawn(move || load(&address, &stop, w, round, mine))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 150 * round as u64));
        server.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        ledgers = writers.into_iter().map(|w| w.join().unwrap()).collect();
        // The chain verifies as the crash left it, before anything repairs it.
        assert_chain_verifies(dir.path(), &format!("after crash {round}"));
    }
    let all: Vec<&Customer> = ledgers.iter().flatten().collect();
    let erased = all.iter().filter(|c| c.erased).count();
    let renamed = all
        .iter()
        .filter(|c| !c.erased && c.name.starts_with("Crash Fixed"))
        .count();
    assert!(
        all.len() > 50,
        "the load created only {} customers",
        all.len()
    );
    assert!(erased > 5, "the load erased only {erased} customers");
    assert!(renamed > 5, "the load corrected only {renamed} customers");
    assert_chain_verifies(dir.path(), "at the end");
}
