//! Failures of the storage ports. Messages never carry personal data: they name ids,
//! versions and hashes only.

/// An error from a storage port.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The notice's human version was already published with other content.
    #[error(
        "notice version `{version}` is already published with content hash `{published_hash}`, \
         but the current policy has `{new_hash}`; bump `notice.version` in the policy"
    )]
    NoticeVersionConflict {
        version: String,
        published_hash: String,
        new_hash: String,
    },
    /// The database cannot be reached or refused the operation.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored data cannot be read back as the domain type it was written from.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}
