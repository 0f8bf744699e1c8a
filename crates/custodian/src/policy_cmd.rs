//! `custodian policy check|render|records`.

use std::path::Path;

use custodian_policy::notice::{self, Format};
use custodian_policy::{NoticeVersion, records};

use crate::cli::{NoticeFormat, RecordsArgs, RecordsFormat, RenderArgs};
use crate::policy_source::PolicySource;
use crate::{Failure, output};

pub fn check(config_file: Option<&Path>, file: Option<&Path>) -> Result<(), Failure> {
    let source = PolicySource::resolve(file, config_file)?;
    let policy = source.parse()?;
    let version = NoticeVersion::of(&policy);
    output::out(&format!(
        "{}: ok: {} categories, {} purposes, {} roles, {} partners, {} authorities; \
         notice version {} ({})",
        source.name,
        policy.categories.len(),
        policy.purposes.len(),
        policy.roles.len(),
        policy.partners.len(),
        policy.authorities.len(),
        version.version,
        version.content_hash,
    ));
    Ok(())
}

pub fn render(config_file: Option<&Path>, args: &RenderArgs) -> Result<(), Failure> {
    let policy = PolicySource::resolve(args.policy.as_deref(), config_file)?.parse()?;
    let format = match args.format {
        NoticeFormat::Html => Format::Html,
        NoticeFormat::Md => Format::Markdown,
    };
    let text = notice::render(&policy, args.lang.into(), format);
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::io(format!("error: cannot write `{}`: {e}", path.display()))),
        None => {
            output::out(&text);
            Ok(())
        }
    }
}

pub fn records(config_file: Option<&Path>, args: &RecordsArgs) -> Result<(), Failure> {
    let policy = PolicySource::resolve(args.policy.as_deref(), config_file)?.parse()?;
    let text = match args.format {
        RecordsFormat::Md => records::to_markdown(&policy, args.lang.into()),
        RecordsFormat::Json => serde_json::to_string_pretty(&records::records(&policy))
            .map_err(|e| Failure::invalid(format!("error: cannot serialise the records: {e}")))?,
        RecordsFormat::Dot => records::dot(&policy),
        RecordsFormat::Mermaid => records::mermaid(&policy),
    };
    output::out(&text);
    Ok(())
}
