//! `/v1/access/explain`: which fields a principal would see of a customer for a purpose, and
//! the rule that decides each (P3, P14). For the DPO and admins (`access.explain`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::HeaderMap;
use custodian_core::access::{Explanation, Principal};
use custodian_core::error::ApiError;
use custodian_core::ids::CustomerId;
use custodian_core::vault::ExplainFacts;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::error::HttpError;
use crate::request::Purpose;
use crate::routes::customers::context;

/// The principal to explain (exactly one of `role` and `integration`), the customer, and
/// the need-to-know conditions to imagine. The purpose is the request's own `?purpose=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    /// Read by the `Purpose` extractor; named here so that it is not an unknown field.
    #[serde(default, rename = "purpose")]
    _purpose: Option<String>,
    role: Option<String>,
    integration: Option<String>,
    customer: Option<String>,
    #[serde(default)]
    care_session: bool,
    #[serde(default)]
    fulfilling_order: bool,
}

/// `GET /v1/access/explain?purpose=…&role=…&customer=…[&care_session=true][&fulfilling_order=true]`.
pub async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    query: Result<Query<ExplainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Explanation>, HttpError> {
    let Query(query) = query.map_err(|_| {
        invalid(
            "query",
            "the query must be `purpose`, one of `role` or `integration`, and optionally \
             `customer`, `care_session` and `fulfilling_order` (true or false)",
        )
    })?;
    let subject = match (&query.role, &query.integration) {
        (Some(role), None) => Principal::Staff {
            user: "explain".to_owned(),
            role: state
                .policy
                .role_named(role)
                .ok_or_else(|| invalid("role", "the role is not declared in the policy"))?
                .id
                .clone(),
        },
        (None, Some(name)) => match state.tokens.principal(name) {
            Some(configured) => configured,
            None => state
                .identity
                .integration_named(name)
                .await?
                .ok_or_else(|| invalid("integration", "no integration has this name"))?,
        },
        _ => {
            return Err(invalid(
                "role",
                "name exactly one of `role` and `integration`",
            ));
        }
    };
    let customer = match &query.customer {
        Some(raw) => Some(
            CustomerId::parse(raw)
                .ok_or_else(|| invalid("customer", "not a customer id (`cus_…`)"))?,
        ),
        None => None,
    };
    let facts = ExplainFacts {
        care_session: query.care_session,
        fulfilling_order: query.fulfilling_order,
    };
    let ctx = context(caller, purpose, &headers);
    Ok(Json(
        state
            .vault
            .explain(&ctx, &subject, customer.as_ref(), facts)
            .await?,
    ))
}

fn invalid(field: &str, message: &str) -> HttpError {
    HttpError(ApiError::invalid_parameter(field, message))
}
