use crate::helpers::{body_json, spawn_app};

#[tokio::test]
async fn healthz_is_ok_while_the_store_answers() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(response).await,
        serde_json::json!({ "status": "ok" })
    );
}

#[tokio::test]
async fn healthz_is_unavailable_when_the_store_is_closed() {
    let app = spawn_app().await;
    app.store.close().await;
    let response = app.get("/healthz").await;
    crate::helpers::assert_error(response, 503, "unavailable").await;
}
