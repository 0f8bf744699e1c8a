use predicates::prelude::*;

use crate::custodian;

#[test]
fn check_without_a_file_checks_the_embedded_policy() {
    let dir = tempfile::tempdir().unwrap();
    custodian(dir.path())
        .args(["policy", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("<embedded default policy>: ok:"))
        .stdout(predicate::str::is_match(r"notice version \S+ \(sha256:[0-9a-f]{64}\)").unwrap());
}

#[test]
fn check_reports_located_diagnostics_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("syntax.toml"), "this is not toml\n").unwrap();
    custodian(dir.path())
        .args(["policy", "check", "syntax.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::is_match(r"(?m)^syntax\.toml:1:\d+: error\[syntax\]: ").unwrap());

    let unknown = format!("{}\nbogus_key = 1\n", custodian_policy_source());
    std::fs::write(dir.path().join("unknown.toml"), unknown).unwrap();
    custodian(dir.path())
        .args(["policy", "check", "unknown.toml"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::is_match(r"unknown\.toml:\d+:\d+: error\[unknown_key\]: .*`bogus_key`")
                .unwrap(),
        );
}

#[test]
fn check_of_an_unreadable_file_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    custodian(dir.path())
        .args(["policy", "check", "missing.toml"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "cannot read policy file `missing.toml`",
        ));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["policy", "frobnicate"][..],
        &["policy", "render", "--lang", "fr", "--format", "html"],
        &["policy", "render", "--lang", "vi"],
        &["policy", "records", "--format", "pdf"],
    ] {
        custodian(dir.path()).args(args).assert().code(2);
    }
}

#[test]
fn render_writes_html_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    custodian(dir.path())
        .args(["policy", "render", "--lang", "en", "--format", "html"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("<!DOCTYPE html>"))
        .stdout(predicate::str::contains("lang=\"en\""));
    custodian(dir.path())
        .args([
            "policy",
            "render",
            "--lang",
            "vi",
            "--format",
            "md",
            "--output",
            "notice.md",
        ])
        .assert()
        .code(0);
    let markdown = std::fs::read_to_string(dir.path().join("notice.md")).unwrap();
    assert!(markdown.starts_with('#'), "{markdown}");
}

#[test]
fn records_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let run = |format: &str| {
        let output = custodian(dir.path())
            .args(["policy", "records", "--format", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{format}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(run("md").starts_with('#'));
    assert!(
        serde_json::from_str::<serde_json::Value>(&run("json"))
            .unwrap()
            .is_object()
    );
    assert!(run("dot").starts_with("digraph"));
    assert!(run("mermaid").starts_with("flowchart"));
}

fn custodian_policy_source() -> &'static str {
    include_str!("../../../../policy/default.toml")
}
