//! Custodian's HTTP front: the router, its layers and its handlers.
//!
//! Architecture invariant: handlers see only the ports of `custodian-core` through
//! [`AppState`]; there are no globals. Every error leaves as `{"error": {...}}` with a code
//! from the core's error table, and nothing a client sends (query, body, headers) is logged.

mod auth;
mod centre;
mod error;
mod guard;
mod layers;
mod negotiate;
mod request;
mod route_list;
mod routes;
mod state;

use axum::Router;
use axum::middleware;
use axum::routing::{delete, get, patch, post};

use route_list::Routes;

pub use auth::TokenTable;
pub use state::{AppState, HttpConfig, Services};

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let storefront_cors = routes::storefront::StorefrontCors::new(&config.storefront_origins);
    let app = routes()
        .into_router()
        .fallback(routes::not_found)
        .layer(middleware::from_fn_with_state(
            storefront_cors,
            routes::storefront::cors,
        ))
        .with_state(state);
    layers::apply(app, &config)
}

/// Every path the router routes (as written in it, `{id}` for a parameter), in the order
/// they were added: for tests that must go through every route.
pub fn route_paths() -> Vec<String> {
    routes().paths().to_vec()
}

/// The routes, without the state and the outer layers.
fn routes() -> Routes<AppState> {
    let v1 = Routes::new()
        .route("/policy", get(routes::policy::current))
        .route("/policy/versions", get(routes::policy::versions))
        .route("/policy/records", get(routes::policy::records))
        .route("/customers", post(routes::customers::create))
        .route("/customers/lookup", post(routes::customers::lookup))
        .route(
            "/customers/{id}",
            get(routes::customers::read)
                .patch(routes::customers::correct)
                .delete(routes::customers::erase),
        )
        .route("/customers/{id}/history", get(routes::customers::history))
        .route("/customers/{id}/held", get(routes::erasure::held))
        .route("/customers/{id}/erasure", get(routes::erasure::report))
        .route(
            "/partners/{partner}/erasure-confirmations",
            post(routes::erasure::confirm),
        )
        .route(
            "/customers/{id}/consents",
            get(routes::consents::current).post(routes::consents::record_for),
        )
        .route(
            "/customers/{id}/consents/history",
            get(routes::consents::history),
        )
        .route(
            "/customers/{id}/consents/receipts/{receipt}",
            get(routes::consents::receipt_for),
        )
        .route(
            "/legal-requests",
            get(routes::legal::list).post(routes::legal::record),
        )
        .route("/legal-requests/{id}/approve", post(routes::legal::approve))
        .route("/legal-requests/{id}/release", post(routes::legal::release))
        .route(
            "/legal-requests/{id}/lift-silence",
            post(routes::legal::lift_silence),
        )
        .route(
            "/account/requests",
            get(routes::requests::own_list).post(routes::requests::own_submit),
        )
        .route(
            "/customers/{id}/requests",
            get(routes::requests::list_for).post(routes::requests::submit_for),
        )
        .route(
            "/account/requests/{id}/code",
            post(routes::requests::send_code),
        )
        .route(
            "/account/requests/{id}/verify",
            post(routes::requests::verify),
        )
        .route("/account/limits", get(routes::requests::own_limits))
        .route("/account/limits/{kind}", delete(routes::requests::own_lift))
        .route(
            "/account/limits/{kind}/{purpose}",
            delete(routes::requests::own_lift),
        )
        .route("/customers/{id}/limits", get(routes::requests::limits_for))
        .route(
            "/customers/{id}/limits/{kind}",
            delete(routes::requests::lift_for),
        )
        .route(
            "/customers/{id}/limits/{kind}/{purpose}",
            delete(routes::requests::lift_for),
        )
        .route("/account/exports", post(routes::exports::own_issue))
        .route("/account/exports/{token}", get(routes::exports::download))
        .route("/customers/{id}/exports", post(routes::exports::issue_for))
        .route("/requests/overdue", get(routes::requests::overdue))
        .route("/requests/{id}/moves", post(routes::requests::move_to))
        .route("/requests/{id}/code", post(routes::requests::send_code))
        .route("/requests/{id}/verify", post(routes::requests::verify))
        .route("/requests/{id}/fulfil", post(routes::requests::fulfil))
        .route("/orders", post(routes::orders::place))
        .route("/orders/{id}", get(routes::orders::read))
        .route("/orders/{id}/moves", post(routes::orders::move_to))
        .route("/customers/{id}/orders", get(routes::orders::of_customer))
        .route("/account/orders", get(routes::orders::own))
        .route("/customers/{id}/outbox", get(routes::outbox::customer))
        .route(
            "/customers/{id}/disclosures",
            get(routes::outbox::disclosures),
        )
        .route("/account/disclosures", get(routes::outbox::own_disclosures))
        .route("/outbox", get(routes::outbox::list))
        .route("/outbox/{id}/redrive", post(routes::outbox::redrive))
        .route(
            "/account/consents",
            get(routes::consents::own_current).post(routes::consents::own_record),
        )
        .route(
            "/account/consents/history",
            get(routes::consents::own_history),
        )
        .route(
            "/account/consents/receipts/{id}",
            get(routes::consents::own_receipt),
        )
        .route("/access/explain", get(routes::access::explain))
        .route("/care-sessions", post(routes::care::open))
        .route("/care-sessions/{id}/verify", post(routes::care::verify))
        .route("/care-sessions/{id}", delete(routes::care::close))
        .route("/customer-sessions/code", post(routes::care::request_code))
        .route("/customer-sessions", post(routes::care::sign_in))
        .route("/customer-sessions/current", delete(routes::care::sign_out))
        .route("/account/password", post(routes::care::set_password))
        .route("/sessions", post(routes::staff::sign_in))
        .route("/sessions/current", delete(routes::staff::sign_out))
        .route("/me", get(routes::staff::me))
        .route("/me/password", post(routes::staff::change_password))
        .route("/me/totp", post(routes::staff::enrol_totp))
        .route("/me/totp/confirm", post(routes::staff::confirm_totp))
        .route(
            "/users",
            get(routes::staff::users).post(routes::staff::create_user),
        )
        .route("/users/{id}", patch(routes::staff::change_role))
        .route(
            "/tokens",
            get(routes::staff::tokens).post(routes::staff::issue_token),
        )
        .route("/tokens/{id}", delete(routes::staff::revoke_token))
        .map(|v1| v1.layer(layers::no_store()));
    Routes::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/privacy", get(routes::privacy::notice))
        // Public and cacheable, so outside the `/v1` router and its `no-store` layer.
        .route("/v1/choices", get(routes::choices::list))
        .route("/consent.js", get(routes::storefront::consent_js))
        .route("/.well-known/gpc.json", get(routes::storefront::gpc_json))
        .nest("/v1", v1)
        // The privacy centre's pages: HTML, cookie sessions, their own headers.
        .merge(centre::routes())
}
