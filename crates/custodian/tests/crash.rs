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

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // (customer id, the email it was created with) for every 201 the server sent.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut next = 0usize;
    for round in 0..5 {
        let server = start(dir.path(), &[]);
        // Everything acknowledged before this crash must still be there.
        for (id, email) in acknowledged.lock().unwrap().iter() {
            let (status, body) = request(
                &server.address,
                "GET",
                &format!("/v1/customers/{id}?purpose=account"),
                "",
            )
            .unwrap();
            assert_eq!(
                status, 200,
                "round {round}: acknowledged customer {id} is gone"
            );
            assert!(
                body.contains(email.as_str()),
                "round {round}: customer {id} lost its email"
            );
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
    let server = start(dir.path(), &[]);
    for (id, email) in acknowledged.lock().unwrap().iter() {
        let (status, body) = request(
            &server.address,
            "GET",
            &format!("/v1/customers/{id}?purpose=account"),
            "",
        )
        .unwrap();
        assert_eq!(status, 200, "acknowledged customer {id} is gone");
        assert!(body.contains(email.as_str()));
    }
    drop(server);
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
