//! `custodian serve` on PostgreSQL, end to end: the data in one database, the data keys in
//! another, selected by URL. Runs where `CUSTODIAN_TEST_POSTGRES_URL` names a throwaway
//! cluster (CI starts one); elsewhere it says it was skipped — and in CI it must not skip.

#![allow(clippy::print_stderr, reason = "it says when it is skipped")]

use crate::common;

use std::process::Command;

use common::{request, start};

/// Creates an empty database in the test cluster and returns its URL.
fn database(admin_url: &str, name: &str) -> String {
    let status = Command::new("psql")
        .args([
            admin_url,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .status()
        .expect("psql (the cluster's binaries are on PATH in CI)");
    assert!(status.success(), "cannot create database {name}");
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

#[test]
fn serve_keeps_customers_on_postgresql() {
    let Ok(admin) = std::env::var("CUSTODIAN_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL tests"
        );
        eprintln!("postgres end-to-end skipped: CUSTODIAN_TEST_POSTGRES_URL is not set");
        return;
    };
    let tag = std::process::id();
    let data = database(&admin, &format!("custodian_test_e2e_data_{tag}"));
    let keys = database(&admin, &format!("custodian_test_e2e_keys_{tag}"));
    let dir = tempfile::tempdir().unwrap();
    // The master keys stay in files; the customers' data and data keys are in PostgreSQL.
    let key_dir = dir.path().join("master-keys");
    let key_dir = key_dir.to_str().unwrap();
    let env = [
        ("CUSTODIAN_DATABASE_URL", data.as_str()),
        ("CUSTODIAN_KEYS__DATABASE_URL", keys.as_str()),
        ("CUSTODIAN_KEYS__DIR", key_dir),
    ];

    let server = start(dir.path(), &env);
    let body = r#"{"fields": {"account_name.full_name": "Phan Thị Thu", "account_email.email": "thu@example.com"}}"#;
    let (status, created) = request(
        &server.address,
        "POST",
        "/v1/customers?purpose=account",
        body,
    )
    .unwrap();
    assert_eq!(status, 201, "{created}");
    let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(server);

    // A second instance, with a data directory of its own, finds the customer in PostgreSQL.
    let other_dir = tempfile::tempdir().unwrap();
    let server = start(other_dir.path(), &env);
    let (status, read) = request(
        &server.address,
        "GET",
        &format!("/v1/customers/{id}?purpose=account"),
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{read}");
    assert!(read.contains("thu@example.com"));
    let lookup = r#"{"email": "THU@example.com"}"#;
    let (status, found) = request(
        &server.address,
        "POST",
        "/v1/customers/lookup?purpose=account",
        lookup,
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(found.contains(&id));
}
