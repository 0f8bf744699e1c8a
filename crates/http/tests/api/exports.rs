//! The customer's export over HTTP: a single-use link that only its customer can use, the
//! ZIP streamed with the right headers, the DPO's link for a customer, expiry after 24 hours.

use std::io::Read as _;

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{STAFF_PASSWORD, TestApp, assert_error, body_json, header, spawn_app};

const EMAIL: &str = "mac.dang.dung@example.com";
const OTHER: &str = "to.hien.thanh@example.com";

async fn issue(app: &TestApp, token: &str, uri: &str) -> (u16, Value) {
    let response = app.call_as(Some(token), "POST", uri, None).await;
    let status = response.status().as_u16();
    (status, body_json(response).await)
}

fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().unwrap().to_string(), text)
        })
        .collect()
}

#[tokio::test]
async fn a_customer_downloads_their_own_export_once_as_a_streamed_zip() {
    let app = spawn_app().await;
    let customer = app
        .create(json!({ "account_name.full_name": "Mạc Đăng Dung", "account_email.email": EMAIL }))
        .await;
    app.create(json!({ "account_name.full_name": "Tô Hiến Thành", "account_email.email": OTHER }))
        .await;
    let token = app.customer_session(EMAIL).await;
    let other = app.customer_session(OTHER).await;

    let (status, link) = issue(&app, &token, "/v1/account/exports").await;
    assert_eq!(status, 201);
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/v1/account/exports/csx_"));
    assert!(link["expires_at"].is_string());

    // Another customer: not found, and the link is still good.
    let response = app.call_as(Some(&other), "GET", &url, None).await;
    assert_error(response, 404, "export_link_not_found").await;
    // Nobody signed in: not even that.
    let response = app.call_as(None, "GET", &url, None).await;
    assert_eq!(response.status(), 401);

    let response = app
        .call_as(Some(&token), "GET", &format!("{url}?lang=en"), None)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/zip");
    assert_eq!(header(&response, "cache-control"), "no-store");
    let disposition = header(&response, "content-disposition").to_owned();
    assert!(disposition.starts_with("attachment; filename=\"custodian-export-20"));
    assert!(disposition.ends_with(".zip\""));
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let files = unzip(&bytes);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["README.txt", "export.json", "report.html"]);
    let doc: Value = serde_json::from_str(&files[1].1).unwrap();
    assert_eq!(doc["schema"], "custodian.export/1");
    assert_eq!(doc["customer"]["id"], customer.as_str());
    assert!(files[1].1.contains(EMAIL));
    assert!(!files[1].1.contains(OTHER));
    assert!(files[2].1.contains("<html lang=\"en\">"));

    // Single use.
    let response = app.call_as(Some(&token), "GET", &url, None).await;
    assert_error(response, 404, "export_link_not_found").await;
}

#[tokio::test]
async fn the_dpo_makes_a_link_for_the_customer_which_expires_in_a_day() {
    let app = spawn_app().await;
    let customer = app
        .create(json!({ "account_name.full_name": "Mạc Đăng Dung", "account_email.email": EMAIL }))
        .await;
    let dpo = app.staff("dpo").await;
    let agent = app.staff("care_agent").await;
    let uri = format!("/v1/customers/{customer}/exports");

    let response = app.call_as(Some(&agent), "POST", &uri, None).await;
    assert_error(response, 403, "operation_not_allowed").await;
    // A request named must be this customer's.
    let response = app
        .call_as(
            Some(&dpo),
            "POST",
            &format!("{uri}?request=req_0123456789abcdef0123456789abcdef"),
            None,
        )
        .await;
    assert_error(response, 404, "request_not_found").await;
    let (status, link) = issue(&app, &dpo, &uri).await;
    assert_eq!(status, 201);
    let url = link["url"].as_str().unwrap().to_owned();
    // The DPO cannot download it: it is the customer's.
    let response = app.call_as(Some(&dpo), "GET", &url, None).await;
    assert_ne!(response.status(), 200);

    // A day later it has expired, unused.
    app.clock.advance(SignedDuration::from_hours(24));
    let token = app.customer_session(EMAIL).await;
    let response = app.call_as(Some(&token), "GET", &url, None).await;
    assert_error(response, 410, "export_link_expired").await;

    // A fresh one works, in Vietnamese by default.
    let dpo = app.sign_in("dpo@staff.example", STAFF_PASSWORD).await;
    let (status, link) = issue(&app, &dpo, &uri).await;
    assert_eq!(status, 201);
    let response = app
        .call_as(Some(&token), "GET", link["url"].as_str().unwrap(), None)
        .await;
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let files = unzip(&bytes);
    assert!(files[2].1.contains("<html lang=\"vi\">"));
    assert!(files[2].1.contains("Địa chỉ email"));
}
