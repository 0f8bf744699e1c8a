//! `/v1/orders` (P6, P14): placing an order, reading it as the access decision allows, moving
//! it along its states; a customer's list of orders.
//!
//! Card data never reaches these handlers: the guard every request passes (`guard.rs`)
//! refuses it first.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{HeaderMap, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::{CustomerId, OrderId};
use custodian_core::orders::OrderState;
use custodian_core::vault::{OrderLine, OrderView};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AppState;
use crate::auth::{Caller, CustomerCaller};
use crate::error::HttpError;
use crate::request::{BodyShape, CustomerPath, JsonBody, Purpose};
use crate::routes::customers::{context, request_id};

/// An order as the storefront sends it. Holds personal values: its `Debug` names nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// The customer who orders; absent for a guest.
    customer: Option<String>,
    items: Vec<Map<String, Value>>,
    fields: Map<String, Value>,
}

impl std::fmt::Debug for OrderBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OrderBody(<redacted>)")
    }
}

impl BodyShape for OrderBody {
    const SHAPE: &'static str = "an object `{\"customer\"?: \"cus_…\", \"items\": [{…}], \
        \"fields\": {\"<category>.<field>\": <value>}}`";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    to: String,
}

impl BodyShape for MoveBody {
    const SHAPE: &'static str = "an object `{\"to\": \"paid\"|\"fulfilling\"|\"shipped\"|…}`";
}

#[derive(Debug, Serialize)]
pub struct Moved {
    id: OrderId,
    state: OrderState,
}

#[derive(Debug, Serialize)]
pub struct Orders {
    orders: Vec<OrderLine>,
}

fn order_path(raw: &str) -> Result<OrderId, HttpError> {
    OrderId::parse(raw).ok_or_else(|| {
        HttpError(ApiError::new(ErrorCode::OrderNotFound, "no order has this id").with_field("id"))
    })
}

/// `POST /v1/orders?purpose=order_fulfilment` → 201 `{"id", "customer", "guest", "state"}`.
pub async fn place(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OrderBody>,
) -> Result<Response, HttpError> {
    let customer = match body.customer.as_deref() {
        None => None,
        Some(raw) => Some(CustomerId::parse(raw).ok_or_else(|| {
            HttpError(
                ApiError::new(ErrorCode::CustomerNotFound, "no customer has this id")
                    .with_field("customer"),
            )
        })?),
    };
    let ctx = context(caller, purpose, &headers);
    let placed = state
        .vault
        .place_order(&ctx, customer.as_ref(), &body.items, &body.fields)
        .await?;
    let location = HeaderValue::from_str(&format!("/v1/orders/{}", placed.id))
        .map_err(|_| HttpError(ApiError::internal()))?;
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(placed)).into_response())
}

/// `GET /v1/orders/{id}?purpose=…`.
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<OrderView>, HttpError> {
    let id = order_path(&raw)?;
    let ctx = context(caller, purpose, &headers);
    Ok(Json(state.vault.read_order(&ctx, &id).await?))
}

/// `POST /v1/orders/{id}/moves` `{"to": "…"}` → the new state.
pub async fn move_to(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<MoveBody>,
) -> Result<Json<Moved>, HttpError> {
    let id = order_path(&raw)?;
    let to = OrderState::parse(&body.to).ok_or_else(|| {
        HttpError(
            ApiError::new(
                ErrorCode::InvalidBody,
                "`to` is one of placed, paid, fulfilling, shipped, delivered, cancelled, returned",
            )
            .with_field("to"),
        )
    })?;
    let ctx = custodian_core::vault::RequestContext {
        principal: caller.0,
        purpose: String::new(),
        request_id: request_id(&headers),
    };
    let state_now = state.vault.move_order(&ctx, &id, to).await?;
    Ok(Json(Moved {
        id,
        state: state_now,
    }))
}

/// `GET /v1/customers/{id}/orders`.
pub async fn of_customer(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<Orders>, HttpError> {
    let ctx = custodian_core::vault::RequestContext {
        principal: caller.0,
        purpose: String::new(),
        request_id: request_id(&headers),
    };
    Ok(Json(Orders {
        orders: state.vault.orders_of(&ctx, &id).await?,
    }))
}

/// `GET /v1/account/orders`: the signed-in customer's own.
pub async fn own(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<Json<Orders>, HttpError> {
    let ctx = custodian_core::vault::RequestContext {
        principal: customer.session.principal.clone(),
        purpose: String::new(),
        request_id: request_id(&headers),
    };
    Ok(Json(Orders {
        orders: state
            .vault
            .orders_of(&ctx, &customer.session.customer)
            .await?,
    }))
}
