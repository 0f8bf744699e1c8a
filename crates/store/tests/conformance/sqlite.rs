//! The suite on SQLite, plus what only SQLite has: files to search for plaintext.

use std::sync::Arc;

use custodian_core::vault::VaultStore;
use custodian_store::SqliteStore;

use crate::suite::{Backend, Fixture, marker_customer};

pub async fn backend() -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("vault.db").to_str().unwrap())
        .await
        .unwrap();
    let vault = store.vault(crate::suite::signer()).await.unwrap();
    Some(Backend {
        store: Arc::new(vault),
        archive: Arc::new(store),
        guard: Box::new(dir),
    })
}

conformance_tests!(backend);

/// The canary: every field of many customers holds a unique marker; after creating,
/// reading, correcting and looking them up, no marker may appear in the database file or
/// its write-ahead log.
#[tokio::test]
async fn database_files_hold_no_personal_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let vault_store: Arc<dyn VaultStore> =
        Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let fixture = Fixture::new(vault_store.clone());
    let mut markers = Vec::new();
    for n in 0..20 {
        markers.extend(marker_customer(&fixture, n).await);
    }
    // Everything is still in the WAL (no checkpoint has run): read the files as they are.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("vault.db")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 10_000, "the database files were read");
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    for marker in &markers {
        assert!(
            !text.contains(&marker.to_lowercase()),
            "`{marker}` found in the database files"
        );
    }
    // The markers were really there to be found, through the API.
    assert!(!markers.is_empty());
}
