//! The one check every consent receipt made by a test goes through: valid against the Kantara
//! Consent Receipt v1.1 JSON schema (`consent-receipt-v1.1.schema.json` beside this file, whose
//! comment says where it comes from). Included by path by the crates whose tests make receipts
//! (`#[path = ".../crates/core/tests/kantara/mod.rs"] mod kantara;`).

use std::sync::LazyLock;

static SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("consent-receipt-v1.1.schema.json"))
            .expect("the Kantara schema is JSON");
    jsonschema::draft7::new(&schema).expect("the Kantara schema compiles")
});

/// What the schema finds wrong with `receipt`, one line per error (empty when it is valid).
pub fn kantara_errors(receipt: &serde_json::Value) -> Vec<String> {
    SCHEMA
        .iter_errors(receipt)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Asserts `receipt` is a valid Kantara Consent Receipt v1.1.
#[track_caller]
pub fn assert_kantara_receipt(receipt: &serde_json::Value) {
    let errors = kantara_errors(receipt);
    assert!(
        errors.is_empty(),
        "not a valid Kantara v1.1 consent receipt:\n{}\n{receipt:#}",
        errors.join("\n")
    );
}
