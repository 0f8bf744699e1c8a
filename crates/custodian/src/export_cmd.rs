//! `custodian export <customer-id> --out <file.zip> [--lang vi|en]`: the operator exports a
//! customer's data (to hand to them when they asked by letter, say), as the
//! `system:rights_export` task, audited like any export. The ZIP is written to
//! `<file.zip>.partial` and renamed once complete, so an interrupted export leaves no file
//! that looks whole. Progress (orders n/N) goes to standard error.

use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use custodian_core::access::{Principal, SystemTask};
use custodian_core::clock::SystemClock;
use custodian_core::ids::CustomerId;
use custodian_core::rights::export::ExportError;
use custodian_core::rights::export_zip::{WriteOut, ZipSink};
use custodian_core::vault::{RequestContext, RequestRules, Vault, VaultError};
use custodian_policy::Lang;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::admin::{open, runtime};
use crate::config::Config;
use crate::policy_source::PolicySource;
use crate::{Failure, output};

/// `custodian export`.
pub fn run(
    config_file: Option<&Path>,
    customer: &str,
    out: &Path,
    lang: Lang,
) -> Result<(), Failure> {
    let Some(customer) = CustomerId::parse(customer) else {
        return Err(Failure::invalid(
            "error: not a customer id (expected `cus_…`)",
        ));
    };
    let config = Config::load(config_file)?;
    let policy = PolicySource::resolve(None, config_file)?.parse()?;
    let partial = partial_path(out);
    runtime()?.block_on(async {
        let opened = open(&config).await?;
        let vault = Vault::new(
            Arc::new(policy),
            opened.vault_store.clone(),
            opened.key_store.clone(),
            opened.keys.keyring.clone(),
            opened.keys.index.clone(),
            Arc::new(SystemClock),
        )
        .with_outbox_store(opened.outbox_store.clone())
        .with_legal_store(opened.legal_store.clone())
        .with_request_store(opened.request_store.clone(), RequestRules::default())
        .with_export_store(opened.export_store.clone());
        // The archive holds the customer's data in the clear: readable by its owner only.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&partial).map_err(|e| {
            Failure::io(format!("error: cannot write `{}`: {e}", partial.display()))
        })?;
        let mut sink = ZipSink::new(WriteOut(BufWriter::new(file)));
        let ctx = RequestContext {
            principal: Principal::System {
                task: SystemTask::RightsExport,
            },
            purpose: String::new(),
            request_id: None,
        };
        let bar = progress_bar();
        let result = vault
            .export_with_progress(&ctx, &customer, lang, &mut sink, &|done, total| {
                if bar.is_hidden() {
                    output::error(&format!("orders {done}/{total}"));
                } else {
                    bar.set_length(total);
                    bar.set_position(done);
                }
            })
            .await;
        bar.finish_and_clear();
        let written = sink.written();
        let flushed = sink.into_out().0.into_inner().map_err(|e| e.into_error());
        opened.close().await;
        let summary = match (result, flushed) {
            (Ok(summary), Ok(_)) => summary,
            (Err(e), _) => {
                let _ = std::fs::remove_file(&partial);
                return Err(failure(e));
            }
            (Ok(_), Err(e)) => {
                let _ = std::fs::remove_file(&partial);
                return Err(Failure::io(format!(
                    "error: cannot write `{}`: {e}",
                    partial.display()
                )));
            }
        };
        std::fs::rename(&partial, out)
            .map_err(|e| Failure::io(format!("error: cannot write `{}`: {e}", out.display())))?;
        output::out(&format!(
            "exported {} categories and {} orders of {} to `{}` ({written} bytes)",
            summary.categories,
            summary.orders,
            summary.customer,
            out.display()
        ));
        Ok(())
    })
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn failure(e: ExportError) -> Failure {
    match e {
        ExportError::Vault(VaultError::Rejected(api)) => {
            Failure::invalid(format!("error: {} ({})", api.message, api.code.as_str()))
        }
        ExportError::Vault(e) => Failure::io(format!("error: the export failed: {e}")),
        ExportError::Sink(e) => Failure::io(format!("error: cannot write the export: {e}")),
    }
}

/// Progress on standard error: a bar for a person at a terminal, else a line per page.
fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} orders {pos}/{len} ({eta} left)") {
        bar.set_style(style);
    }
    bar
}
