//! The policy as data: for the shop's engineers and for auditors.

use axum::Json;
use axum::extract::State;
use custodian_core::error::ApiError;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::HttpError;

pub async fn current(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "notice_version": &*state.notice_version,
        "policy": &*state.policy,
    }))
}

/// Every published notice version, newest first.
pub async fn versions(State(state): State<AppState>) -> Result<Json<Value>, HttpError> {
    let versions = state.archive.list().await.map_err(|e| {
        tracing::error!(error = %e, "listing notice versions failed");
        HttpError(ApiError::unavailable())
    })?;
    Ok(Json(json!({ "versions": versions })))
}

/// The record of processing (GDPR art. 30, Law 91/2025 art. 21).
pub async fn records(State(state): State<AppState>) -> Json<custodian_policy::records::Records> {
    Json(custodian_policy::records::records(&state.policy))
}
