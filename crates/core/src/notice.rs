//! The notice archive: every notice version the service has published is kept, so later
//! consents can cite the exact text shown.

use async_trait::async_trait;
use custodian_policy::notice::{self, Format};
use custodian_policy::{Lang, NoticeVersion, Policy};
use jiff::Timestamp;
use serde::Serialize;

use crate::clock::Clock;
use crate::store_error::StoreError;

/// The notice rendered in every language and format, exactly as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedNotice {
    pub vi_html: String,
    pub vi_markdown: String,
    pub en_html: String,
    pub en_markdown: String,
}

impl RenderedNotice {
    pub fn render(policy: &Policy) -> RenderedNotice {
        RenderedNotice {
            vi_html: notice::render(policy, Lang::Vi, Format::Html),
            vi_markdown: notice::render(policy, Lang::Vi, Format::Markdown),
            en_html: notice::render(policy, Lang::En, Format::Html),
            en_markdown: notice::render(policy, Lang::En, Format::Markdown),
        }
    }

    pub fn get(&self, lang: Lang, format: Format) -> &str {
        match (lang, format) {
            (Lang::Vi, Format::Html) => &self.vi_html,
            (Lang::Vi, Format::Markdown) => &self.vi_markdown,
            (Lang::En, Format::Html) => &self.en_html,
            (Lang::En, Format::Markdown) => &self.en_markdown,
        }
    }
}

/// One published version of the notice, with the policy source it was rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedNotice {
    pub version: String,
    /// `sha256:<hex>`, see [`NoticeVersion`].
    pub content_hash: String,
    pub published_at: Timestamp,
    pub policy_source: String,
    pub rendered: RenderedNotice,
}

impl PublishedNotice {
    pub fn summary(&self) -> NoticeSummary {
        NoticeSummary {
            version: self.version.clone(),
            content_hash: self.content_hash.clone(),
            published_at: self.published_at,
        }
    }
}

/// A line of the archive's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeSummary {
    pub version: String,
    pub content_hash: String,
    pub published_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    /// This content hash was new and is now archived.
    Published,
    /// This content hash was already archived; nothing changed.
    AlreadyPublished,
}

/// Where published notices are kept. Implementations must make `publish` atomic: with
/// several instances starting at once, exactly one archives a new version.
#[async_trait]
pub trait NoticeArchive: Send + Sync {
    /// Archives `notice` unless its content hash already is. Fails with
    /// [`StoreError::NoticeVersionConflict`] when its human version is already archived
    /// with a different content hash.
    async fn publish(&self, notice: PublishedNotice) -> Result<PublishOutcome, StoreError>;

    /// Every archived version, newest first.
    async fn list(&self) -> Result<Vec<NoticeSummary>, StoreError>;

    /// The archived version with this content hash.
    async fn get(&self, content_hash: &str) -> Result<Option<PublishedNotice>, StoreError>;
}

/// Renders the notice of `policy` (parsed from `source`) and archives it, so the version
/// about to be served is on record before anyone is shown it.
pub async fn publish_current_notice(
    policy: &Policy,
    source: &str,
    archive: &dyn NoticeArchive,
    clock: &dyn Clock,
) -> Result<PublishOutcome, StoreError> {
    let version = NoticeVersion::of(policy);
    let notice = PublishedNotice {
        version: version.version,
        content_hash: version.content_hash,
        published_at: clock.now(),
        policy_source: source.to_owned(),
        rendered: RenderedNotice::render(policy),
    };
    archive.publish(notice).await
}
