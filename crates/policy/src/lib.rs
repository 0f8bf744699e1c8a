//! The shop's privacy policy as code.
//!
//! One TOML file declares the controller, the data categories, the purposes, the recipients,
//! retention and the texts of the notice. This crate parses and validates it into a
//! [`Policy`] (every id resolved, every text in Vietnamese and English), and generates from it
//! the public privacy notice, the record of processing and the data-flow diagram.
//!
//! Architecture invariant: this crate does no IO and reads no clock. It takes a `&str` and
//! returns values, so every other crate can trust and test it cheaply.

pub mod choices;
pub mod consent;
mod diagnostic;
mod doc;
mod duration;
pub mod labels;
mod model;
pub mod notice;
mod raw;
pub mod records;
mod text;
mod validate;
mod version;

pub use choices::PurposeChoices;
pub use consent::{ConsentTerms, RenewalReason};
pub use diagnostic::{Code, Diagnostic, Location, PolicyErrors};
pub use duration::{Duration, DurationUnit};
pub use model::*;
pub use text::{Lang, Text};
pub use validate::{SCHEMA_VERSION, parse};
pub use version::{NoticeVersion, RENDERER_REVISION};

/// The default policy, mirroring the shop's published policy (`shared/seed`).
pub const DEFAULT_POLICY: &str = include_str!("../../../policy/default.toml");
