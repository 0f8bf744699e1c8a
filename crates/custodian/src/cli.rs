//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use custodian_policy::Lang;

#[derive(Debug, Parser)]
#[command(
    name = "custodian",
    version,
    about = "Personal-data vault and privacy engine"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: `$CUSTODIAN_CONFIG`, else `./custodian.toml` if present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve,
    /// Check and render the privacy policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Manage the vault's master keys (safe while the service runs).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Export everything held about a customer as a ZIP (JSON, HTML report), to hand to them.
    Export {
        /// The customer's id (`cus_…`).
        customer: String,
        /// Where to write the ZIP.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Language of the report and of every label.
        #[arg(long, default_value = "vi")]
        lang: LangArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a master-key version and re-wrap every customer's data key under it. Re-running
    /// after an interrupted rotation finishes it before starting another.
    Rotate {
        /// Data keys re-wrapped per transaction.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
    /// How many data keys each master-key version wraps.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the whole hash chain and its signed checkpoints; exit 1 at the first break.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file (default: the configured policy, else the embedded default).
    Check { file: Option<PathBuf> },
    /// Render the public privacy notice.
    Render(RenderArgs),
    /// Generate the record of processing or the data-flow diagram.
    Records(RecordsArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Policy file (default: the configured policy, else the embedded default).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[arg(long)]
    pub lang: LangArg,
    #[arg(long)]
    pub format: NoticeFormat,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RecordsArgs {
    /// Policy file (default: the configured policy, else the embedded default).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[arg(long)]
    pub format: RecordsFormat,
    /// Language of the Markdown record.
    #[arg(long, default_value = "vi")]
    pub lang: LangArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    Vi,
    En,
}

impl From<LangArg> for Lang {
    fn from(lang: LangArg) -> Lang {
        match lang {
            LangArg::Vi => Lang::Vi,
            LangArg::En => Lang::En,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NoticeFormat {
    Html,
    Md,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RecordsFormat {
    Md,
    Json,
    Dot,
    Mermaid,
}
