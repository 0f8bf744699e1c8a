//! The `custodian` binary, driven from outside as an operator and a client would: exit codes,
//! outputs and configuration (`config`, `export`, `policy`, `serve`, `vault`), and the real
//! service end to end on loopback — the canary search of logs and files (`canary`), crashes
//! (`crash`), erasure with partners (`erasure`), fulfilment (`fulfilment`), hostile clients
//! (`hostile`), email through a relay (`notify`), PostgreSQL (`postgres`). One test binary,
//! so the crate links once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod canary;
mod common;
mod config;
mod crash;
mod erasure;
mod export;
mod fulfilment;
mod hostile;
mod notify;
mod policy;
mod postgres;
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
