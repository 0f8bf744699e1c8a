//! Nothing acknowledged is lost across a crash: the server is killed with SIGKILL again and
//! again in the middle of a write load; after every restart, every write it acknowledged is
//! readable, and at the end the audit chain verifies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, custodian, request, start};

const CRASHES: usize = 5;

/// Every write the server acknowledged before the last crash is there, with its value.
fn assert_all_readable(server: &Server, acknowledged: &[(String, String)], round: usize) {
    for (id, email) in acknowledged {
        let path = format!("/v1/customers/{id}?purpose=account");
        let (status, body) = request(&server.address, "GET", &path, "").unwrap();
        assert_eq!(
            status, 200,
            "start {round}: acknowledged customer {id} is gone"
        );
        assert!(
            body.contains(email.as_str()),
            "start {round}: customer {id} lost its email"
        );
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // (customer id, the email it was created with) for every 201 the server sent.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut next = 0usize;
    // Five crashes, then a last start that only checks.
    for round in 0..=CRASHES {
        let server = start(dir.path(), &[]);
        assert_all_readable(&server, &acknowledged.lock().unwrap(), round);
        if round == CRASHES {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let (address, stop, acknowledged) = (server.address.clone(), stop.clone(), acknowledged.clone());
                let start_at = next + w * 100_000;
                std::thread::spawn(move || {
                    let mut n = start_at;
                    while !stop.load(Ordering::Relaxed) {
                        let email = format!("crash.{round}.{n}@example.com");
                        let body = format!(
                            r#"{{"fields": {{"account_name.full_name": "Crash {n}", "account_email.email": "{email}"}}}}"#
                        );
                        match request(&address, "POST", "/v1/customers?purpose=account", &body) {
                            Some((201, body)) => {
                                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                                let id = v["id"].as_str().unwrap().to_owned();
                                acknowledged.lock().unwrap().push((id, email));
                            }
                            Some((status, body)) => panic!("create answered {status}: {body}"),
                            None => return, // the server died mid-request: not acknowledged
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        next += 1_000_000;
        std::thread::sleep(Duration::from_millis(300 + 150 * round as u64));
        let mut server: Server = server;
        server.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }
    let total = acknowledged.lock().unwrap().len();
    assert!(total > 50, "the load generated only {total} writes");
    let verify = custodian(dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "audit verify failed: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
