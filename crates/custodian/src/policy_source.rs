//! Finding and loading the policy: an explicit file, else the configured one, else the
//! policy embedded in the binary.

use std::path::{Path, PathBuf};

use custodian_policy::{DEFAULT_POLICY, Policy};

use crate::Failure;
use crate::config::Config;

/// The name diagnostics use for the embedded policy.
const EMBEDDED_NAME: &str = "<embedded default policy>";

/// A policy's source text and where it came from.
#[derive(Debug)]
pub struct PolicySource {
    pub name: String,
    pub text: String,
}

impl PolicySource {
    /// `explicit` if given; otherwise the configured `policy_file` (loading the config only
    /// then, so an explicit file works whatever the config says); otherwise the embedded one.
    pub fn resolve(
        explicit: Option<&Path>,
        config_file: Option<&Path>,
    ) -> Result<PolicySource, Failure> {
        let path: Option<PathBuf> = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => Config::load(config_file)?.policy_file,
        };
        match path {
            Some(path) => PolicySource::read(&path),
            None => Ok(PolicySource {
                name: EMBEDDED_NAME.into(),
                text: DEFAULT_POLICY.into(),
            }),
        }
    }

    pub fn read(path: &Path) -> Result<PolicySource, Failure> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::io(format!(
                "error: cannot read policy file `{}`: {e}",
                path.display()
            ))
        })?;
        Ok(PolicySource {
            name: path.display().to_string(),
            text,
        })
    }

    /// Parses and validates; on failure the message lists every diagnostic as
    /// `FILE:LINE:COL: error[CODE]: MESSAGE`.
    pub fn parse(&self) -> Result<Policy, Failure> {
        custodian_policy::parse(&self.text).map_err(|errors| {
            let mut lines: Vec<String> = errors.iter().map(|d| d.display_in(&self.name)).collect();
            lines.push(format!(
                "error: `{}` has {} error(s)",
                self.name,
                errors.0.len()
            ));
            Failure::invalid(lines.join("\n"))
        })
    }
}
