use predicates::prelude::*;

use crate::custodian;

/// A copy of the default policy under another name, to see which file was checked.
fn write_policy(dir: &std::path::Path, name: &str) {
    std::fs::write(
        dir.join(name),
        include_str!("../../../../policy/default.toml"),
    )
    .unwrap();
}

#[test]
fn the_configured_policy_file_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    write_policy(dir.path(), "mine.toml");
    custodian(dir.path())
        .args(["policy", "check"])
        .env("CUSTODIAN_POLICY_FILE", "mine.toml")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("mine.toml: ok:"));

    std::fs::write(
        dir.path().join("conf.toml"),
        "policy_file = \"mine.toml\"\n",
    )
    .unwrap();
    custodian(dir.path())
        .args(["--config", "conf.toml", "policy", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("mine.toml: ok:"));
}

#[test]
fn a_value_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    write_policy(dir.path(), "secret-policy.toml");
    std::fs::write(dir.path().join("secret"), "secret-policy.toml\n").unwrap();
    custodian(dir.path())
        .args(["policy", "check"])
        .env("CUSTODIAN_POLICY_FILE_FILE", "secret")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("secret-policy.toml: ok:"));
}

#[test]
fn custodian_toml_in_the_working_directory_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("custodian.toml"),
        "[log]\nlevel = \"debug\"\nverbose = true\n",
    )
    .unwrap();
    custodian(dir.path())
        .args(["policy", "check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("verbose"));
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    custodian(dir.path())
        .args(["policy", "check"])
        .env("CUSTODIAN_BOGUS", "1")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bogus"));
    std::fs::write(dir.path().join("conf.toml"), "[http]\nmax_body = 5\n").unwrap();
    custodian(dir.path())
        .args(["--config", "conf.toml", "serve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("max_body"));
}

#[test]
fn a_missing_config_file_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    custodian(dir.path())
        .args(["--config", "nope.toml", "serve"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "cannot read config file `nope.toml`",
        ));
}
