//! Who is calling: integrations with API tokens (from configuration, or issued and stored as
//! digests), staff members with session tokens.
//!
//! Only SHA-256 digests of the tokens are held. A presented token is hashed and compared in
//! constant time against every entry, so neither timing nor an early exit tells a caller how
//! close a guess came. Tokens are never logged, echoed or kept.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use custodian_core::access::{Principal, Scope};
use custodian_core::care::{CareError, CustomerSession};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::identity::StaffSession;
use custodian_crypto::{API_TOKEN_PREFIX, SESSION_TOKEN_PREFIX};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::HttpError;

/// The integrations allowed in: name → SHA-256 digest of its token.
#[derive(Clone, Default)]
pub struct TokenTable {
    entries: Vec<(String, [u8; 32])>,
}

impl TokenTable {
    /// A table from `(name, token)` pairs. Names are assumed checked by the caller
    /// (configuration); the tokens are hashed here and dropped.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = (&'a str, &'a str)>) -> TokenTable {
        TokenTable {
            entries: tokens
                .into_iter()
                .map(|(name, token)| (name.to_owned(), digest(token.as_bytes())))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names of the integrations, for start-up logs.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }

    /// The integration whose token this is. Every entry is compared, match or not.
    pub fn authenticate(&self, token: &[u8]) -> Option<Principal> {
        let presented = digest(token);
        let mut found = None;
        for (name, expected) in &self.entries {
            if bool::from(presented.ct_eq(expected)) {
                found = Some(name);
            }
        }
        found.and_then(|name| self.principal(name))
    }

    /// The principal an integration acts as. Configured tokens carry no scope of their own:
    /// they may do everything except see restricted (sensitive) categories.
    pub fn principal(&self, name: &str) -> Option<Principal> {
        self.entries
            .iter()
            .any(|(n, _)| n == name)
            .then(|| Principal::Integration {
                name: name.to_owned(),
                scope: Scope::unrestricted(),
            })
    }
}

impl fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// An authenticated caller: an integration (a configured token, or a stored `cst_` token),
/// or a staff member (a `css_` session token). Extracting it from a request without a valid
/// bearer token answers 401 `unauthenticated`; a staff session that must first change its
/// one-time password answers 403 `password_change_required`.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// A staff member's session, even one that may only change its password; with the token it
/// was presented with, to sign it out.
#[derive(Debug, Clone)]
pub struct StaffCaller {
    pub session: StaffSession,
    pub token: String,
}

/// A customer's session, with the token it was presented with.
#[derive(Debug, Clone)]
pub struct CustomerCaller {
    pub session: CustomerSession,
    pub token: String,
}

/// Who a bearer token belongs to.
enum Bearer {
    Principal(Principal),
    Staff(StaffCaller),
    Customer(CustomerCaller),
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Bearer, Response> {
    let token = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| bearer_token(v.as_bytes()));
    let Some(token) = token else {
        return Err(unauthenticated(false));
    };
    if let Some(principal) = state.tokens.authenticate(token) {
        return Ok(Bearer::Principal(principal));
    }
    let Ok(text) = std::str::from_utf8(token) else {
        return Err(unauthenticated(true));
    };
    let found = if text.starts_with(SESSION_TOKEN_PREFIX) {
        session(state, text).await
    } else if text.starts_with(API_TOKEN_PREFIX) {
        state
            .identity
            .authenticate_token(text)
            .await
            .map(|p| p.map(Bearer::Principal))
            .map_err(HttpError::from)
    } else {
        Ok(None)
    };
    match found {
        Ok(Some(bearer)) => Ok(bearer),
        Ok(None) => Err(unauthenticated(true)),
        Err(e) => Err(e.into_response()),
    }
}

/// A session token is a staff member's or a customer's; both kinds share the prefix.
async fn session(state: &AppState, token: &str) -> Result<Option<Bearer>, HttpError> {
    if let Some(session) = state.identity.authenticate_session(token).await? {
        return Ok(Some(Bearer::Staff(StaffCaller {
            session,
            token: token.to_owned(),
        })));
    }
    Ok(state
        .care
        .authenticate_customer_session(token)
        .await
        .map_err(care_error)?
        .map(|session| {
            Bearer::Customer(CustomerCaller {
                session,
                token: token.to_owned(),
            })
        }))
}

/// A care or customer-account failure as the API reports it.
pub(crate) fn care_error(e: CareError) -> HttpError {
    match e.api_error() {
        Some(api) => HttpError(api),
        None => {
            tracing::error!(error = %e, "a care or customer-account operation failed");
            HttpError(ApiError::unavailable())
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Response> {
        match resolve(parts, state).await? {
            Bearer::Principal(principal) => Ok(Caller(principal)),
            Bearer::Staff(staff) if staff.session.must_change_password => {
                Err(password_change_required().into_response())
            }
            Bearer::Staff(staff) => Ok(Caller(staff.session.principal)),
            Bearer::Customer(customer) => Ok(Caller(customer.session.principal)),
        }
    }
}

pub(crate) fn password_change_required() -> HttpError {
    HttpError(ApiError::new(
        ErrorCode::PasswordChangeRequired,
        "this account must change its one-time password first: POST /v1/me/password",
    ))
}

impl FromRequestParts<AppState> for StaffCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<StaffCaller, Response> {
        match resolve(parts, state).await? {
            Bearer::Staff(staff) => Ok(staff),
            Bearer::Principal(_) | Bearer::Customer(_) => Err(HttpError(ApiError::new(
                ErrorCode::OperationNotAllowed,
                "only a staff member's session may do this",
            ))
            .into_response()),
        }
    }
}

impl FromRequestParts<AppState> for CustomerCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<CustomerCaller, Response> {
        match resolve(parts, state).await? {
            Bearer::Customer(customer) => Ok(customer),
            Bearer::Principal(_) | Bearer::Staff(_) => Err(HttpError(ApiError::new(
                ErrorCode::OperationNotAllowed,
                "only a customer's own session may do this",
            ))
            .into_response()),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    let scheme = header.get(..7)?;
    let token = header.get(7..)?.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer ") && !token.is_empty()).then_some(token)
}

fn unauthenticated(token_given: bool) -> Response {
    let message = if token_given {
        "the API token is not valid"
    } else {
        "an API token is required: `Authorization: Bearer <token>`"
    };
    let error = ApiError::new(ErrorCode::Unauthenticated, message);
    (
        [(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
        HttpError(error),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listed_token_authenticates() {
        let table = TokenTable::from_tokens([("shop", "a".repeat(32).as_str())]);
        assert_eq!(
            table.authenticate("a".repeat(32).as_bytes()),
            Some(Principal::Integration {
                name: "shop".into(),
                scope: Scope::unrestricted(),
            })
        );
        assert_eq!(table.authenticate(b"b"), None);
        assert_eq!(TokenTable::default().authenticate(b""), None);
    }

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearer"), None);
    }

    #[test]
    fn debug_shows_names_only() {
        let table = TokenTable::from_tokens([("shop", "secret-token-value")]);
        let shown = format!("{table:?}");
        assert!(shown.contains("shop") && !shown.contains("secret"));
    }
}
