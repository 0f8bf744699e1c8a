use crate::helpers::{body_json, header, spawn_app};

#[tokio::test]
async fn policy_is_served_with_its_notice_version() {
    let app = spawn_app().await;
    let response = app.get("/v1/policy").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body = body_json(response).await;
    assert_eq!(
        body["notice_version"]["content_hash"],
        app.version.content_hash.as_str()
    );
    assert_eq!(
        body["notice_version"]["version"],
        app.version.version.as_str()
    );
    assert!(
        body["policy"]["purposes"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
}

#[tokio::test]
async fn versions_lists_the_archive_newest_first() {
    let app = spawn_app().await;
    let old = app.archive_old_notice().await;
    let response = app.get("/v1/policy/versions").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body = body_json(response).await;
    let versions = body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["content_hash"], old.as_str());
    assert_eq!(
        versions[1]["content_hash"],
        app.version.content_hash.as_str()
    );
    assert_eq!(versions[1]["published_at"], "2026-01-01T00:00:00Z");
}

#[tokio::test]
async fn records_are_json() {
    let app = spawn_app().await;
    let response = app.get("/v1/policy/records").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert!(body_json(response).await.is_object());
}
