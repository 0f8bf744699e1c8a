//! The notice version: a human version from the policy plus a content hash of everything
//! the notice says, so a consent can cite the exact text that was shown.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::Policy;

/// Bumped whenever the renderer changes what a given policy's notice says, so that the
/// content hash changes with the text even when the policy file did not.
pub const RENDERER_REVISION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NoticeVersion {
    /// The human version from `notice.version`, e.g. `2026.1`.
    pub version: String,
    /// `sha256:` and the lower-case hex SHA-256 of the canonical policy and renderer revision.
    pub content_hash: String,
}

impl NoticeVersion {
    /// Computes the version of the notice generated from `policy`. Comments, key order and
    /// whitespace in the file do not change it; any change to what the notice says does.
    pub fn of(policy: &Policy) -> NoticeVersion {
        let mut hasher = Sha256::new();
        hasher.update(b"custodian-notice\0");
        hasher.update(RENDERER_REVISION.to_be_bytes());
        // INVARIANT: `Policy` serialises deterministically (structs in field order, lists in
        // declaration order, no maps), so equal policies hash equally.
        let canonical = serde_json::to_vec(policy).unwrap_or_default();
        hasher.update(&canonical);
        NoticeVersion {
            version: policy.notice.version.clone(),
            content_hash: format!("sha256:{}", hex::encode(hasher.finalize())),
        }
    }

    /// The first 12 hex digits of the hash, for display.
    pub fn short_hash(&self) -> &str {
        let hex = self
            .content_hash
            .strip_prefix("sha256:")
            .unwrap_or(&self.content_hash);
        hex.get(..12).unwrap_or(hex)
    }
}
