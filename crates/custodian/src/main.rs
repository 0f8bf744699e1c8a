//! `custodian`: the one binary. `serve` runs the service; the other subcommands are the
//! operator's tools.

mod admin;
mod cli;
mod config;
mod connections;
mod export_cmd;
mod keys;
mod output;
mod parse_errors;
mod policy_cmd;
mod policy_source;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{AuditCommand, Cli, Command, KeysCommand, PolicyCommand};

/// Exit statuses, part of the CLI's contract. 2 (usage) comes from clap.
pub mod exit {
    pub const INVALID: u8 = 1;
    pub const IO: u8 = 3;
}

/// A failure that ends the program: what to tell the operator, and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub status: u8,
}

impl Failure {
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: exit::INVALID,
        }
    }

    pub fn io(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: exit::IO,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_file = cli.config.as_deref();
    let result = match cli.command {
        Command::Serve => serve::run(config_file),
        Command::Policy { command } => match command {
            PolicyCommand::Check { file } => policy_cmd::check(config_file, file.as_deref()),
            PolicyCommand::Render(args) => policy_cmd::render(config_file, &args),
            PolicyCommand::Records(args) => policy_cmd::records(config_file, &args),
        },
        Command::Keys { command } => match command {
            KeysCommand::Rotate { batch } => admin::rotate(config_file, batch),
            KeysCommand::Status => admin::status(config_file),
        },
        Command::Audit {
            command: AuditCommand::Verify,
        } => admin::verify(config_file),
        Command::Export {
            customer,
            out,
            lang,
        } => export_cmd::run(config_file, &customer, &out, lang.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                output::error(&failure.message);
            }
            ExitCode::from(failure.status)
        }
    }
}
