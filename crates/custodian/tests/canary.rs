//! The canary: customers whose every field holds a unique marker go through the whole API —
//! created, read, corrected, looked up, refused with bad input, erased — with the service
//! logging at `debug`. No marker may then appear in the service's logs, in the database file
//! or its write-ahead log, or in the key store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use common::{request, start};

#[test]
fn no_personal_value_reaches_the_logs_or_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[("CUSTODIAN_LOG__LEVEL", "debug")]);
    let a = &server.address;
    let mut markers = Vec::new();
    for n in 0..10 {
        let name = format!("Canary Name {n} QZX");
        let email = format!("canary.{n}.qzx@example.com");
        let phone = format!("+8493{:07}", 4_321_000 + n);
        let corrected = format!("Canary Fixed {n} QZX");
        let body = format!(
            r#"{{"fields": {{"account_name.full_name": "{name}", "account_email.email": "{email}", "account_phone.phone": "{phone}", "account_birth_date.date_of_birth": "19{:02}-07-21"}}}}"#,
            n + 40
        );
        let (status, created) = request(a, "POST", "/v1/customers?purpose=account", &body).unwrap();
        assert_eq!(status, 201, "{created}");
        let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, read) =
            request(a, "GET", &format!("/v1/customers/{id}?purpose=account"), "").unwrap();
        assert_eq!(status, 200);
        assert!(
            read.contains(&email),
            "the API does return the value to its caller"
        );
        let fix = format!(r#"{{"fields": {{"account_name.full_name": "{corrected}"}}}}"#);
        assert_eq!(
            request(
                a,
                "PATCH",
                &format!("/v1/customers/{id}?purpose=account"),
                &fix
            )
            .unwrap()
            .0,
            204
        );
        assert_eq!(
            request(
                a,
                "GET",
                &format!("/v1/customers/{id}/history?purpose=account"),
                ""
            )
            .unwrap()
            .0,
            200
        );
        let lookup = format!(r#"{{"email": "{email}"}}"#);
        let (status, found) =
            request(a, "POST", "/v1/customers/lookup?purpose=account", &lookup).unwrap();
        assert_eq!(status, 200);
        assert!(found.contains(&id));
        // Refused input carrying markers: an undeclared field, a malformed value, a bad purpose.
        let bad_field = format!(
            r#"{{"fields": {{"account_name.full_name": "{name}", "shoe_size.value": "{name}"}}}}"#
        );
        assert_eq!(
            request(a, "POST", "/v1/customers?purpose=account", &bad_field)
                .unwrap()
                .0,
            400
        );
        let bad_value =
            format!(r#"{{"fields": {{"account_email.email": "not-an-email {name}"}}}}"#);
        let (status, error) = request(
            a,
            "PATCH",
            &format!("/v1/customers/{id}?purpose=account"),
            &bad_value,
        )
        .unwrap();
        assert_eq!(status, 400);
        assert!(
            !error.contains("Canary"),
            "an error echoed the value: {error}"
        );
        assert_eq!(
            request(
                a,
                "GET",
                &format!("/v1/customers/{id}?purpose=not_a_purpose"),
                ""
            )
            .unwrap()
            .0,
            400
        );
        if n % 2 == 0 {
            assert_eq!(
                request(
                    a,
                    "DELETE",
                    &format!("/v1/customers/{id}?purpose=account"),
                    ""
                )
                .unwrap()
                .0,
                204
            );
        }
        markers.extend([
            name,
            email,
            phone.trim_start_matches('+').to_owned(),
            corrected,
        ]);
    }
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("response"), "the service logged its requests");
    drop(server);

    let mut files = Vec::new();
    for sub in ["data", "data-keys"] {
        for entry in std::fs::read_dir(dir.path().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(files.iter().any(|(p, _)| p.ends_with("custodian.db")));
    for marker in &markers {
        let m = marker.to_lowercase();
        assert!(
            !log.to_lowercase().contains(&m),
            "`{marker}` is in the service's log"
        );
        for (path, bytes) in &files {
            assert!(
                !String::from_utf8_lossy(bytes).to_lowercase().contains(&m),
                "`{marker}` is in {path}"
            );
        }
    }
}
