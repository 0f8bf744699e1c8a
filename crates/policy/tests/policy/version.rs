//! The notice version changes exactly when what the notice says changes.

use custodian_policy::{DEFAULT_POLICY, NoticeVersion, parse};

fn version_of(source: &str) -> NoticeVersion {
    NoticeVersion::of(&parse(source).unwrap())
}

#[test]
fn is_the_human_version_plus_a_sha256_content_hash() {
    let v = version_of(DEFAULT_POLICY);
    assert_eq!(v.version, "2026.7");
    let hex = v.content_hash.strip_prefix("sha256:").unwrap();
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(v.short_hash(), &hex[..12]);
}

#[test]
fn comments_and_layout_do_not_change_it() {
    let reformatted = format!(
        "# a comment\n\n{}\n\n# another\n",
        DEFAULT_POLICY.replace("schema = 1", "schema   =   1")
    );
    assert_eq!(version_of(DEFAULT_POLICY), version_of(&reformatted));
}

#[test]
fn any_change_to_what_the_notice_says_changes_the_hash() {
    let base = version_of(DEFAULT_POLICY);
    let changes = [
        ("en = \"Privacy policy\"", "en = \"Privacy notice\""),
        ("duration = \"18m\"", "duration = \"24m\""),
        ("due_days = 20", "due_days = 19"),
        (
            "reference = \"HTP-DPA-2026-01\"",
            "reference = \"HTP-DPA-2026-01b\"",
        ),
    ];
    for (from, to) in changes {
        let changed = version_of(&DEFAULT_POLICY.replacen(from, to, 1));
        assert_ne!(base.content_hash, changed.content_hash, "{from} -> {to}");
        assert_eq!(base.version, changed.version);
    }
}
