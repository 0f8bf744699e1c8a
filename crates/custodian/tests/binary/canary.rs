//! The canary: customers whose every field holds a unique marker go through the whole API —
//! created, read, corrected, looked up, refused with bad input, erased — with the service
//! logging at `debug`. No marker may then appear in the service's logs, in the database file
//! or its write-ahead log, or in the key store. Nor may markers smuggled in where no value
//! belongs: field names, the purpose, the request id, malformed bodies.

use crate::common;

use std::path::Path;

use common::{request, request_with, start};

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
                200
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
    assert_nowhere(&markers, &log, &stored_files(dir.path()));
}

/// Every file of the data directory and of the key directory.
fn stored_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for sub in ["data", "data-keys"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(files.iter().any(|(p, _)| p.ends_with("custodian.db")));
    files
}

/// No marker, in any case, and none percent-encoded as in a URL, is in the log or the files.
fn assert_nowhere(markers: &[String], log: &str, files: &[(String, Vec<u8>)]) {
    assert!(!markers.is_empty());
    let log = log.to_lowercase();
    let files: Vec<(&String, String)> = files
        .iter()
        .map(|(path, bytes)| (path, String::from_utf8_lossy(bytes).to_lowercase()))
        .collect();
    for marker in markers {
        let plain = marker.to_lowercase();
        let encoded = plain.replace(' ', "%20").replace('@', "%40");
        for m in [&plain, &encoded] {
            assert!(
                !log.contains(m.as_str()),
                "`{marker}` is in the service's log"
            );
            for (path, text) in &files {
                assert!(!text.contains(m.as_str()), "`{marker}` is in {path}");
            }
        }
    }
}

/// Markers where a client could smuggle them past the fields: as a field's name, as the
/// purpose (query and header), as the request id, inside malformed bodies. Each request is
/// refused (or, for the request id, served under an id of the server's own), and no marker
/// reaches the log or the files.
#[test]
fn smuggled_markers_are_refused_and_reach_neither_logs_nor_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[("CUSTODIAN_LOG__LEVEL", "debug")]);
    let a = &server.address;
    let create = r#"{"fields": {"account_name.full_name": "Smuggle Host", "account_email.email": "smuggle.host@example.com"}}"#;
    let (status, created) = request(a, "POST", "/v1/customers?purpose=account", create).unwrap();
    assert_eq!(status, 201, "{created}");
    let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer = format!("/v1/customers/{id}");
    let mut markers = Vec::new();
    // (method, path without query, a body the route would accept)
    let routes = [
        ("POST", "/v1/customers".to_owned(), create.to_owned()),
        ("GET", customer.clone(), String::new()),
        (
            "PATCH",
            customer.clone(),
            r#"{"fields": {"account_name.full_name": "Smuggle Fixed"}}"#.to_owned(),
        ),
        ("GET", format!("{customer}/history"), String::new()),
        (
            "POST",
            "/v1/customers/lookup".to_owned(),
            r#"{"email": "smuggle.host@example.com"}"#.to_owned(),
        ),
        ("DELETE", customer.clone(), String::new()),
    ];
    for (n, (method, path, body)) in routes.iter().enumerate() {
        let route = format!("{method} {path}");
        // The purpose as a query value: one that looks like an identifier (so it would be
        // found verbatim had the URL been logged), one that does not.
        let plain = format!("canarypurpose{n}qzx");
        let spaced = format!("Canary Purpose {n} QZX");
        for (marker, query) in [
            (plain.clone(), plain.clone()),
            (spaced.clone(), spaced.replace(' ', "%20")),
        ] {
            let (status, error) =
                request(a, method, &format!("{path}?purpose={query}"), body).unwrap();
            assert_eq!(status, 400, "{route} with the purpose `{marker}`: {error}");
            markers.push(marker);
        }
        // The purpose as a header.
        let header = format!("Canary Header Purpose {n} QZX");
        let (status, _, error) =
            request_with(a, method, path, &[("Custodian-Purpose", &header)], body).unwrap();
        assert_eq!(status, 400, "{route} with the purpose header: {error}");
        assert!(
            !error.contains(&header),
            "{route} echoed the purpose header"
        );
        markers.push(header);
    }

    // A field's name, on creation and correction: refused, never echoed unless it looks
    // like an identifier.
    for (n, (method, path)) in [("POST", "/v1/customers"), ("PATCH", customer.as_str())]
        .into_iter()
        .enumerate()
    {
        let spaced = format!("Canary Key {n} QZX");
        let plain = format!("canarykey{n}qzx");
        for key in [&spaced, &plain] {
            let body = format!(
                r#"{{"fields": {{"account_name.full_name": "Smuggle Key", "account_name.full_name_{key}": "x"}}}}"#
            );
            let (status, error) =
                request(a, method, &format!("{path}?purpose=account"), &body).unwrap();
            assert_eq!(status, 400, "{method} with the field `{key}`: {error}");
        }
        let (_, error) = request(
            a,
            method,
            &format!("{path}?purpose=account"),
            &format!(r#"{{"fields": {{"account_name.full_name_{spaced}": "x"}}}}"#),
        )
        .unwrap();
        assert!(
            !error.to_lowercase().contains(&spaced.to_lowercase()),
            "{method} echoed a field name that is no identifier: {error}"
        );
        markers.extend([spaced, plain]);
    }

    // The request id: a safe token is kept and echoed (and logged, by design); one that
    // could carry anything is replaced by the server's own, and the request still served.
    let safe = "canary-safe-request-id-7";
    let (status, headers, _) = request_with(
        a,
        "GET",
        &format!("{customer}?purpose=account"),
        &[("x-request-id", safe)],
        "",
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|h| h.to_lowercase() == format!("x-request-id: {safe}")),
        "a safe request id is kept: {headers:?}"
    );
    for (n, (method, path, body)) in routes.iter().enumerate() {
        let unsafe_id = format!("canary.rid.{n}@QZX mail");
        let (status, headers, answer) = request_with(
            a,
            method,
            &format!("{path}?purpose=account"),
            &[("x-request-id", &unsafe_id)],
            body,
        )
        .unwrap();
        assert!(
            status < 300,
            "{method} {path} with an unsafe request id: {answer}"
        );
        let echoed: Vec<&String> = headers
            .iter()
            .filter(|h| h.to_lowercase().starts_with("x-request-id:"))
            .collect();
        assert_eq!(echoed.len(), 1, "{headers:?}");
        assert!(
            !echoed[0].to_lowercase().contains("canary"),
            "the unsafe request id was kept: {}",
            echoed[0]
        );
        markers.push(unsafe_id);
    }

    // Malformed bodies: broken JSON, a value of the wrong type, unknown members.
    let bodies = |n: usize| {
        [
            format!(r#"{{"fields": {{"account_name.full_name": "Canary Broken {n} QZX""#),
            format!(r#"{{"fields": "Canary Typed {n} QZX"}}"#),
            format!(r#"{{"fields": {{}}, "Canary Member {n} QZX": 1}}"#),
            format!(r#"{{"fields": {{"account_name.full_name": ["Canary Array {n} QZX"]}}}}"#),
            format!(r#"{{"email": ["canary.lookup.{n}@qzx.example"]}}"#),
            format!(r#"{{"email": "canary.both.{n}@qzx.example", "phone": "+84 93 999 {n:04}"}}"#),
        ]
    };
    let recipients = [
        ("POST", "/v1/customers".to_owned()),
        ("PATCH", {
            // A live customer, so that only the body can be what is refused.
            let (_, created) = request(a, "POST", "/v1/customers?purpose=account", create).unwrap();
            let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            format!("/v1/customers/{id}")
        }),
        ("POST", "/v1/customers/lookup".to_owned()),
    ];
    for (n, (method, path)) in recipients.iter().enumerate() {
        for body in bodies(n) {
            let (status, error) =
                request(a, method, &format!("{path}?purpose=account"), &body).unwrap();
            assert_eq!(status, 400, "{method} {path} accepted {body}: {error}");
            assert!(
                !error.to_lowercase().contains("canary"),
                "{method} {path} echoed its body: {error}"
            );
        }
        markers.extend([
            format!("Canary Broken {n} QZX"),
            format!("Canary Typed {n} QZX"),
            format!("Canary Member {n} QZX"),
            format!("Canary Array {n} QZX"),
            format!("canary.lookup.{n}@qzx.example"),
            format!("canary.both.{n}@qzx.example"),
        ]);
    }

    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains(safe),
        "the service logged its requests with their ids"
    );
    drop(server);
    assert_nowhere(&markers, &log, &stored_files(dir.path()));
}
