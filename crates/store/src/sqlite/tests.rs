use custodian_core::StoreError;
use custodian_core::clock::FixedClock;
use custodian_core::health::Health;
use custodian_core::notice::{
    NoticeArchive, PublishOutcome, PublishedNotice, RenderedNotice, publish_current_notice,
};
use jiff::Timestamp;

use super::SqliteStore;

fn notice(version: &str, hash: &str, at: &str) -> PublishedNotice {
    PublishedNotice {
        version: version.into(),
        content_hash: hash.into(),
        published_at: at.parse().unwrap(),
        policy_source: format!("# policy {version}"),
        rendered: RenderedNotice {
            vi_html: "<p>vi</p>".into(),
            vi_markdown: "vi".into(),
            en_html: "<p>en</p>".into(),
            en_markdown: "en".into(),
        },
    }
}

async fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("custodian.db").to_str().unwrap())
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn opens_by_url_creating_the_file_and_answers_pings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert!(path.exists());
}

#[tokio::test]
async fn publish_keeps_every_version_newest_first() {
    let (_dir, store) = temp_store().await;
    let first = notice("2026.1", "sha256:aa", "2026-01-01T00:00:00Z");
    let second = notice("2026.2", "sha256:bb", "2026-02-01T00:00:00Z");
    assert_eq!(
        store.publish(first.clone()).await.unwrap(),
        PublishOutcome::Published
    );
    assert_eq!(
        store.publish(second.clone()).await.unwrap(),
        PublishOutcome::Published
    );
    let list = store.list().await.unwrap();
    assert_eq!(list, vec![second.summary(), first.summary()]);
    assert_eq!(store.get("sha256:aa").await.unwrap(), Some(first));
    assert_eq!(store.get("sha256:cc").await.unwrap(), None);
}

#[tokio::test]
async fn republishing_the_same_content_changes_nothing() {
    let (_dir, store) = temp_store().await;
    let original = notice("2026.1", "sha256:aa", "2026-01-01T00:00:00Z");
    store.publish(original.clone()).await.unwrap();
    let again = notice("2026.1", "sha256:aa", "2026-03-01T00:00:00Z");
    assert_eq!(
        store.publish(again).await.unwrap(),
        PublishOutcome::AlreadyPublished
    );
    assert_eq!(store.get("sha256:aa").await.unwrap(), Some(original));
    assert_eq!(store.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn same_version_with_other_content_is_a_conflict() {
    let (_dir, store) = temp_store().await;
    store
        .publish(notice("2026.1", "sha256:aa", "2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let err = store
        .publish(notice("2026.1", "sha256:bb", "2026-01-02T00:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NoticeVersionConflict { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("bump `notice.version`"), "{err}");
    assert_eq!(store.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_archive_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custodian.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    store
        .publish(notice("2026.1", "sha256:aa", "2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    store.close().await;
    let reopened = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(reopened.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn publishes_the_default_policy_once() {
    let (_dir, store) = temp_store().await;
    let policy = custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap();
    let clock = FixedClock::new(Timestamp::UNIX_EPOCH);
    let source = custodian_policy::DEFAULT_POLICY;
    let first = publish_current_notice(&policy, source, &store, &clock)
        .await
        .unwrap();
    let second = publish_current_notice(&policy, source, &store, &clock)
        .await
        .unwrap();
    assert_eq!(
        (first, second),
        (PublishOutcome::Published, PublishOutcome::AlreadyPublished)
    );
    let hash = custodian_policy::NoticeVersion::of(&policy).content_hash;
    let stored = store.get(&hash).await.unwrap().unwrap();
    assert_eq!(stored.policy_source, source);
}
