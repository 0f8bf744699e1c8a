//! Staff sign-in and self-service (`/v1/sessions`, `/v1/me`), and the administration of who
//! may act (`/v1/users`, `/v1/tokens`: the `users.manage` and `tokens.manage` operations).
//!
//! Passwords, codes and tokens travel in bodies only, and no body here is ever logged or
//! echoed: each request type's `Debug` is redacted. Password hashing (Argon2id, 19 MiB and
//! tens of milliseconds each) runs on the blocking pool, a few at a time, so sign-ins never
//! stall the requests being served.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::RETRY_AFTER;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::access::Principal;
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::identity::{SignInError, TokenInfo, UserInfo};
use custodian_core::ids::{TokenId, UserId};
use custodian_policy::Operation;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::AppState;
use crate::auth::{Caller, StaffCaller};
use crate::error::HttpError;
use crate::request::{BodyShape, JsonBody};

macro_rules! redacted_debug {
    ($($name:ident),+) => {
        $(impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        })+
    };
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    login: String,
    password: Zeroizing<String>,
    #[serde(default)]
    totp: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: Zeroizing<String>,
    new_password: Zeroizing<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: Zeroizing<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    login: String,
    role: String,
    password: Zeroizing<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    name: String,
    operations: Vec<String>,
    /// Absent: every purpose the policy declares.
    #[serde(default)]
    purposes: Option<Vec<String>>,
    #[serde(default)]
    restricted: Vec<String>,
}

redacted_debug!(
    SignInBody,
    PasswordBody,
    CodeBody,
    NewUserBody,
    RoleBody,
    NewTokenBody
);

impl BodyShape for SignInBody {
    const SHAPE: &'static str =
        "an object `{\"login\": string, \"password\": string, \"totp\"?: string}`";
}
impl BodyShape for PasswordBody {
    const SHAPE: &'static str =
        "an object `{\"current_password\": string, \"new_password\": string}`";
}
impl BodyShape for CodeBody {
    const SHAPE: &'static str = "an object `{\"code\": string}`";
}
impl BodyShape for NewUserBody {
    const SHAPE: &'static str =
        "an object `{\"login\": string, \"role\": string, \"password\": string}`";
}
impl BodyShape for RoleBody {
    const SHAPE: &'static str = "an object `{\"role\": string}`";
}
impl BodyShape for NewTokenBody {
    const SHAPE: &'static str = "an object `{\"name\": string, \"operations\": [string], \
                                 \"purposes\"?: [string], \"restricted\"?: [string]}`";
}

/// Runs work that hashes a password on the blocking pool, at most a few at once.
pub(crate) async fn password_work<T: Send + 'static>(
    state: &AppState,
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, HttpError> {
    let _permit = state
        .password_checks
        .acquire()
        .await
        .map_err(|_| HttpError(ApiError::unavailable()))?;
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work))
        .await
        .map_err(|_| HttpError(ApiError::internal()))
}

/// Refuses a caller the engine does not allow `operation`.
fn require(state: &AppState, caller: &Caller, operation: Operation) -> Result<(), HttpError> {
    if state.vault.may(&caller.0, operation) {
        return Ok(());
    }
    Err(HttpError(
        ApiError::new(
            ErrorCode::OperationNotAllowed,
            format!("this caller may not perform `{}`", operation.as_str()),
        )
        .with_field("operation"),
    ))
}

/// The client's address, when the server knows it (for rate limits). Behind a reverse
/// proxy this is the proxy's address: limits then apply per login only, in effect.
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    /// Shown once: only its digest is kept.
    token: String,
    user: UserId,
    role: String,
    expires_at: Timestamp,
    must_change_password: bool,
}

fn role_of(principal: &Principal) -> String {
    match principal {
        Principal::Staff { role, .. } => role.to_string(),
        _ => String::new(),
    }
}

/// `POST /v1/sessions` → 201 with a session token, shown once.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<Response, HttpError> {
    let identity = state.identity.clone();
    let outcome = password_work(&state, async move {
        identity
            .sign_in(
                &body.login,
                &body.password,
                body.totp.as_ref().map(|t| t.as_str()),
                client,
            )
            .await
    })
    .await?;
    signed_in_response(outcome.map(|signed_in| SessionView {
        token: signed_in.token.expose().to_owned(),
        role: role_of(&signed_in.principal),
        user: signed_in.user,
        expires_at: signed_in.expires_at,
        must_change_password: signed_in.must_change_password,
    }))
}

/// 201 with the new session, or the sign-in refusal (with `Retry-After` when rate limited).
pub(crate) fn signed_in_response<T: Serialize>(
    outcome: Result<T, SignInError>,
) -> Result<Response, HttpError> {
    match outcome {
        Ok(view) => Ok((StatusCode::CREATED, Json(view)).into_response()),
        Err(e) => {
            let retry = match &e {
                SignInError::RateLimited { retry_after } => Some(*retry_after),
                _ => None,
            };
            let error = match e.api_error() {
                Some(api) => HttpError(api),
                None => {
                    tracing::error!(error = %e, "a sign-in failed");
                    HttpError(ApiError::unavailable())
                }
            };
            Ok(with_retry_after(error.into_response(), retry))
        }
    }
}

/// Adds `Retry-After` (whole seconds, at least 1) to a refusal.
pub(crate) fn with_retry_after(
    mut response: Response,
    retry_after: Option<jiff::SignedDuration>,
) -> Response {
    if let Some(value) =
        retry_after.and_then(|r| HeaderValue::from_str(&r.as_secs().max(1).to_string()).ok())
    {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

/// `DELETE /v1/sessions/current` → 204.
pub async fn sign_out(
    State(state): State<AppState>,
    staff: StaffCaller,
) -> Result<StatusCode, HttpError> {
    state.identity.sign_out(&staff.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub struct MeView {
    user: UserId,
    role: String,
    expires_at: Timestamp,
    must_change_password: bool,
}

/// `GET /v1/me` → who this session is.
pub async fn me(staff: StaffCaller) -> Json<MeView> {
    Json(MeView {
        role: role_of(&staff.session.principal),
        user: staff.session.user,
        expires_at: staff.session.expires_at,
        must_change_password: staff.session.must_change_password,
    })
}

/// `POST /v1/me/password` → 204. The one thing a session with a one-time password may do.
pub async fn change_password(
    State(state): State<AppState>,
    staff: StaffCaller,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode, HttpError> {
    let identity = state.identity.clone();
    let user = staff.session.user.clone();
    password_work(&state, async move {
        identity
            .change_password(&user, &body.current_password, &body.new_password)
            .await
    })
    .await??;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct TotpView {
    secret: String,
    provisioning_uri: String,
}

impl std::fmt::Debug for TotpView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpView(<redacted>)")
    }
}

/// A session with a one-time password may do nothing but change it.
fn password_changed(staff: &StaffCaller) -> Result<(), HttpError> {
    if staff.session.must_change_password {
        return Err(crate::auth::password_change_required());
    }
    Ok(())
}

/// `POST /v1/me/totp` → 201 with a new TOTP secret, shown once; active after confirmation.
pub async fn enrol_totp(
    State(state): State<AppState>,
    staff: StaffCaller,
) -> Result<Response, HttpError> {
    password_changed(&staff)?;
    let enrolment = state.identity.enrol_totp(&staff.session.user).await?;
    let view = TotpView {
        secret: enrolment.secret_base32.to_string(),
        provisioning_uri: enrolment.provisioning_uri.to_string(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `POST /v1/me/totp/confirm` → 204; from now on signing in needs a code.
pub async fn confirm_totp(
    State(state): State<AppState>,
    staff: StaffCaller,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<StatusCode, HttpError> {
    password_changed(&staff)?;
    state
        .identity
        .confirm_totp(&staff.session.user, &body.code)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub struct UserView {
    id: UserId,
    login: String,
    role: String,
    totp_active: bool,
    must_change_password: bool,
    locked_until: Option<Timestamp>,
    created_at: Timestamp,
    last_sign_in_at: Option<Timestamp>,
}

impl From<UserInfo> for UserView {
    fn from(u: UserInfo) -> UserView {
        UserView {
            id: u.id,
            login: u.login,
            role: u.role,
            totp_active: u.totp_active,
            must_change_password: u.must_change_password,
            locked_until: u.locked_until,
            created_at: u.created_at,
            last_sign_in_at: u.last_sign_in_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Created<T> {
    id: T,
}

#[derive(Debug, Serialize)]
pub struct Listed<T> {
    items: Vec<T>,
}

/// `POST /v1/users` → 201 `{"id": "usr_…"}`. The password is one-time: the member replaces
/// it at first sign-in.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewUserBody>,
) -> Result<Response, HttpError> {
    require(&state, &caller, Operation::UsersManage)?;
    let identity = state.identity.clone();
    let id = password_work(&state, async move {
        identity
            .create_user_with_one_time_password(&body.login, &body.role, &body.password)
            .await
    })
    .await??;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

/// `GET /v1/users` → every staff account (no hash, no secret, no login).
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Listed<UserView>>, HttpError> {
    require(&state, &caller, Operation::UsersManage)?;
    let items = state.identity.users().await?;
    Ok(Json(Listed {
        items: items.into_iter().map(UserView::from).collect(),
    }))
}

/// `PATCH /v1/users/{id}` `{"role": …}` → 204.
pub async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Result<StatusCode, HttpError> {
    require(&state, &caller, Operation::UsersManage)?;
    let id = UserId::parse(&id).ok_or_else(user_not_found)?;
    state.identity.change_role(&id, &body.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn user_not_found() -> HttpError {
    HttpError(
        ApiError::new(ErrorCode::UserNotFound, "no staff account has this id").with_field("id"),
    )
}

#[derive(Debug, Serialize)]
pub struct IssuedToken {
    id: TokenId,
    /// Shown once: only its digest is kept.
    token: String,
}

#[derive(Debug, Serialize)]
pub struct TokenView {
    id: TokenId,
    name: String,
    operations: Vec<String>,
    purposes: Option<Vec<String>>,
    restricted: Vec<String>,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> TokenView {
        TokenView {
            id: t.id,
            name: t.name,
            operations: t.scope.operations,
            purposes: t.scope.purposes,
            restricted: t.scope.restricted,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// `POST /v1/tokens` → 201 with the token, shown once.
pub async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewTokenBody>,
) -> Result<Response, HttpError> {
    require(&state, &caller, Operation::TokensManage)?;
    let purposes = body.purposes.as_deref().map(strs);
    let scope = state.identity.scope_from_names(
        &strs(&body.operations),
        purposes.as_deref(),
        &strs(&body.restricted),
    )?;
    let (id, token) = state.identity.issue_token(&body.name, &scope).await?;
    let issued = IssuedToken {
        id,
        token: token.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `GET /v1/tokens` → every token's name, scope and use; never a token.
pub async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Listed<TokenView>>, HttpError> {
    require(&state, &caller, Operation::TokensManage)?;
    let items = state.identity.list_tokens().await?;
    Ok(Json(Listed {
        items: items.into_iter().map(TokenView::from).collect(),
    }))
}

/// `DELETE /v1/tokens/{id}` → 204; the token stops working at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    require(&state, &caller, Operation::TokensManage)?;
    let not_found = || HttpError(ApiError::not_found().with_field("id"));
    let id = TokenId::parse(&id).ok_or_else(not_found)?;
    if state.identity.revoke_token(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
