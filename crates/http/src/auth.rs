//! Who is calling: integrations authenticate with API tokens from configuration.
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
use custodian_core::error::{ApiError, ErrorCode};
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

/// An authenticated caller. Extracting it from a request without a valid bearer token
/// answers 401 `unauthenticated`.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Response> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| bearer_token(v.as_bytes()));
        match token.and_then(|t| state.tokens.authenticate(t)) {
            Some(principal) => Ok(Caller(principal)),
            None => Err(unauthenticated(token.is_some())),
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
