//! `/v1/orders` (P6, P14): placing an order, reading it as the access decision allows, moving
//! it along its states; a customer's list of orders.
//!
//! Card data is refused before anything else: the body is read as JSON and searched for a
//! full card number or a security code anywhere in it; if one is found the request is
//! answered `card_data_refused`, naming where, and the body is dropped — never parsed
//! further, stored or logged (PCI DSS 3.3.1).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{HeaderMap, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::{CustomerId, OrderId};
use custodian_core::orders::OrderState;
use custodian_core::orders::card::find_card_data;
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

/// Any JSON body, read whole so it can be searched for card data before it is parsed into
/// its shape. Its `Debug` shows nothing.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct RawBody(Value);

impl std::fmt::Debug for RawBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawBody(<redacted>)")
    }
}

impl BodyShape for RawBody {
    const SHAPE: &'static str = OrderBody::SHAPE;
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

/// Refuses a body holding card data, naming where it is (never what).
fn refuse_card_data(body: &Value) -> Result<(), HttpError> {
    match find_card_data(body) {
        None => Ok(()),
        Some(found) => Err(HttpError(
            ApiError::new(
                ErrorCode::CardDataRefused,
                "a full card number or a card security code is never accepted: send the \
                 payment processor's token, the card's brand, last 4 digits and expiry",
            )
            .with_field(found.at()),
        )),
    }
}

/// `POST /v1/orders?purpose=order_fulfilment` → 201 `{"id", "customer", "guest", "state"}`.
pub async fn place(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    JsonBody(RawBody(raw)): JsonBody<RawBody>,
) -> Result<Response, HttpError> {
    refuse_card_data(&raw)?;
    let body: OrderBody = serde_json::from_value(raw).map_err(|_| {
        HttpError(ApiError::new(
            ErrorCode::InvalidBody,
            format!("the body must be {}", OrderBody::SHAPE),
        ))
    })?;
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
