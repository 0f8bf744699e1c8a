//! `custodian export`: the operator's export of one customer to a ZIP, with progress on
//! standard error, and its exit statuses.

use std::io::Read as _;

use predicates::prelude::*;

use crate::custodian;
use crate::serve::{request, start_with, stop};

const TOKEN: &str = "shop-cli-test-token-0123456789abcdef";

#[test]
fn export_writes_the_customers_zip_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start_with(
        dir.path(),
        &[(
            "CUSTODIAN_API__TOKENS",
            "shop=shop-cli-test-token-0123456789abcdef",
        )],
    );
    let body = r#"{"fields": {"account_name.full_name": "Hàn Mặc Tử", "account_email.email": "han.mac.tu@example.com"}}"#;
    let response = request(
        &server.address,
        "POST",
        "/v1/customers?purpose=account",
        &[&format!("Authorization: Bearer {TOKEN}")],
        body,
    );
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let start = response.find("cus_").unwrap();
    let id = response[start..start + 36].to_owned();
    stop(&mut server);

    let out = dir.path().join("export.zip");
    custodian(dir.path())
        .args([
            "export",
            &id,
            "--out",
            out.to_str().unwrap(),
            "--lang",
            "en",
        ])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("of {id} to")))
        .stderr(predicate::str::contains("orders 0/0"));
    assert!(!dir.path().join("export.zip.partial").exists());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut json = String::new();
    archive
        .by_name("export.json")
        .unwrap()
        .read_to_string(&mut json)
        .unwrap();
    assert!(json.contains("han.mac.tu@example.com"));
    assert!(json.contains("\"language\":\"en\""));
    let mut html = String::new();
    archive
        .by_name("report.html")
        .unwrap()
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.contains("Hàn Mặc Tử"));

    // The export is in the audit log, by the operator's task; the chain still verifies.
    custodian(dir.path())
        .args(["audit", "verify"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(0);

    // Unknown and malformed ids are invalid input (1); no file is left behind.
    let missing = dir.path().join("missing.zip");
    custodian(dir.path())
        .args([
            "export",
            "cus_00000000000000000000000000000000",
            "--out",
            missing.to_str().unwrap(),
        ])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("customer_not_found"));
    assert!(!missing.exists());
    assert!(!dir.path().join("missing.zip.partial").exists());
    custodian(dir.path())
        .args(["export", "not-an-id", "--out", missing.to_str().unwrap()])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(1);
}
