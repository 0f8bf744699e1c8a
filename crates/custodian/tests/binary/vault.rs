//! The vault's admin commands against the service's own data directory: key rotation while
//! the service runs, and audit verification before and after tampering (P17).

use predicates::prelude::*;

use crate::custodian;
use crate::serve::{request, start_with, stop};

const TOKEN: &str = "shop-cli-test-token-0123456789abcdef";

fn token_env() -> [(&'static str, &'static str); 1] {
    [(
        "CUSTODIAN_API__TOKENS",
        "shop=shop-cli-test-token-0123456789abcdef",
    )]
}

fn auth() -> String {
    format!("Authorization: Bearer {TOKEN}")
}

/// Creates a customer over HTTP, returning the id.
fn create(address: &str, n: usize) -> String {
    let body = format!(
        r#"{{"fields": {{"account_name.full_name": "Khách {n}", "account_email.email": "k{n}@example.com"}}}}"#
    );
    let response = request(
        address,
        "POST",
        "/v1/customers?purpose=account",
        &[&auth()],
        &body,
    );
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let start = response.find("cus_").unwrap();
    response[start..start + 36].to_owned()
}

fn read_email(address: &str, id: &str) -> String {
    let response = request(
        address,
        "GET",
        &format!("/v1/customers/{id}?purpose=account"),
        &[&auth()],
        "",
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

#[test]
fn keys_rotate_rewraps_every_key_while_the_service_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &token_env());
    let ids: Vec<String> = (0..5).map(|n| create(&server.address, n)).collect();

    let data = dir.path().join("data");
    custodian(dir.path())
        .args(["keys", "status"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "master key version 1: 5 data key(s)",
        ));

    custodian(dir.path())
        .args(["keys", "rotate", "--batch", "2"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("added master key version 2"))
        .stdout(predicate::str::contains(
            "re-wrapped 5 data key(s) under master key version 2",
        ));

    custodian(dir.path())
        .args(["keys", "status"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("active master key version: 2"))
        .stdout(predicate::str::contains(
            "master key version 2: 5 data key(s)",
        ))
        .stdout(predicate::str::contains("version 1:").not());

    // The running service unwraps keys under the version it had not loaded yet.
    for (n, id) in ids.iter().enumerate() {
        let response = read_email(&server.address, id);
        assert!(
            response.contains(&format!("k{n}@example.com")),
            "{response}"
        );
    }
    // A new customer created now is readable too, whichever version wrapped its key.
    let late = create(&server.address, 9);
    assert!(read_email(&server.address, &late).contains("k9@example.com"));
}

#[test]
fn audit_verify_passes_then_finds_a_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    custodian(dir.path())
        .args(["audit", "verify"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("audit chain ok: 0 entries"));

    let mut server = start_with(dir.path(), &token_env());
    let id = create(&server.address, 1);
    read_email(&server.address, &id);
    stop(&mut server);

    custodian(dir.path())
        .args(["audit", "verify"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(
                r"^audit chain ok: 2 entries, \d+ checkpoints, last entry 2\n$",
            )
            .unwrap(),
        );

    // An attacker with write access to the database (but not the audit key) edits, deletes,
    // reorders or truncates the log: each is found, at the first broken entry.
    let keys = dir.path().join("data-keys");
    let cases = [
        (
            "UPDATE audit_log SET event = CAST(replace(CAST(event AS TEXT), 'customer.create', 'customer.forged') AS BLOB) WHERE seq = 1",
            "entry 1 was altered",
        ),
        (
            "DELETE FROM audit_log WHERE seq = 1",
            "entry 2 follows entry 0",
        ),
        (
            "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (1, 2); \
             UPDATE audit_log SET prev_hash = (SELECT prev_hash FROM t WHERE seq = 2), hash = (SELECT hash FROM t WHERE seq = 2), event = (SELECT event FROM t WHERE seq = 2) WHERE seq = 1; \
             UPDATE audit_log SET prev_hash = (SELECT prev_hash FROM t WHERE seq = 1), hash = (SELECT hash FROM t WHERE seq = 1), event = (SELECT event FROM t WHERE seq = 1) WHERE seq = 2",
            "entry 1 does not carry the hash of the entry before it",
        ),
        (
            "DELETE FROM audit_log WHERE seq >= (SELECT MAX(seq) FROM audit_checkpoints)",
            "the log was truncated",
        ),
    ];
    for (n, (tamper, finding)) in cases.into_iter().enumerate() {
        let copy = dir.path().join(format!("tampered-{n}"));
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(&data).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
        }
        tamper_with(&copy.join("custodian.db"), tamper);
        custodian(dir.path())
            .args(["audit", "verify"])
            .env("CUSTODIAN_DATA_DIR", &copy)
            .env("CUSTODIAN_KEYS__DIR", &keys)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(finding));
    }
}

/// Runs `sql` on the database behind the service's back, append-only triggers dropped first.
fn tamper_with(db: &std::path::Path, sql: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
}

#[test]
fn bad_api_tokens_are_refused_without_printing_them() {
    let dir = tempfile::tempdir().unwrap();
    custodian(dir.path())
        .arg("serve")
        .env("CUSTODIAN_DATA_DIR", dir.path().join("data"))
        .env("CUSTODIAN_API__TOKENS", "shop=too-short-secret")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`shop`"))
        .stderr(predicate::str::contains("too-short-secret").not());
}

#[test]
fn configured_master_keys_need_the_other_keys_too() {
    let dir = tempfile::tempdir().unwrap();
    let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    custodian(dir.path())
        .args(["keys", "status"])
        .env("CUSTODIAN_DATA_DIR", dir.path().join("data"))
        .env("CUSTODIAN_KEYS__MASTER", format!("1:{key}"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`keys.index`, `keys.audit` and `keys.identity`",
        ))
        .stderr(predicate::str::contains(key).not());

    custodian(dir.path())
        .args(["keys", "rotate"])
        .env("CUSTODIAN_DATA_DIR", dir.path().join("data"))
        .env("CUSTODIAN_KEYS__MASTER", format!("1:{key}"))
        .env("CUSTODIAN_KEYS__INDEX", key)
        .env("CUSTODIAN_KEYS__AUDIT", key)
        .env("CUSTODIAN_KEYS__IDENTITY", key)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("come from `keys.master`"))
        .stdout(predicate::str::contains(
            "re-wrapped 0 data key(s) under master key version 1",
        ));
}

#[test]
fn serve_refuses_keys_that_are_missing_or_kept_with_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start_with(dir.path(), &token_env());
    create(&server.address, 1);
    stop(&mut server);

    // Pointed at an empty key directory, every customer would look erased: refuse instead.
    let elsewhere = dir.path().join("empty-keys");
    custodian(dir.path())
        .args(["keys", "status"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .env("CUSTODIAN_KEYS__DIR", &elsewhere)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "holds no key but the database holds customers",
        ));

    // Keys inside the data directory would travel in every backup of the data.
    custodian(dir.path())
        .args(["keys", "status"])
        .env("CUSTODIAN_DATA_DIR", &data)
        .env("CUSTODIAN_KEYS__DIR", data.join("keys"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`keys.dir` is inside `data_dir`"));
}
