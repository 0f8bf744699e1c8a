use axum::Json;
use axum::extract::State;
use custodian_core::error::ApiError;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::HttpError;

/// Ready when the store answers: a load balancer should not send traffic to an instance
/// that cannot read or write.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, HttpError> {
    match state.health.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            Err(HttpError(ApiError::unavailable()))
        }
    }
}
