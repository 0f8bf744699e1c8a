//! The `custodian` binary: exit codes, outputs, configuration and an end-to-end `serve`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod config;
mod export;
mod policy;
mod serve;
mod vault;

use assert_cmd::Command;

/// The binary, run in `dir`, with no `CUSTODIAN_*` variable inherited from the environment.
pub fn custodian(dir: &std::path::Path) -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("custodian");
    cmd.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CUSTODIAN_") {
            cmd.env_remove(name);
        }
    }
    cmd
}
