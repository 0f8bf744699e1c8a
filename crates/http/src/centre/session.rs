//! Who is visiting: the customer's session in the `__Host-custodian_centre` cookie, the
//! language asked for, and the CSRF tokens that bind every form to the visitor.
//!
//! CSRF (P17): a form's token is the HMAC, under a key random for each process
//! ([`CentreKey`]), of the SHA-256 digest of the session token — so it is bound to the
//! session, changes with it, and cannot be computed without both. A sign-in form (no session
//! yet) binds to a random pre-session value in its own short-lived `__Host-` cookie the same
//! way (so a third-party site cannot sign a visitor into its own account). Tokens are
//! compared in constant time. In addition, a request whose `Sec-Fetch-Site` is present and
//! neither `same-origin` nor `none`, or whose `Origin` is present and not this host, is
//! refused before anything else (`Origin: null`, which browsers send under `no-referrer`,
//! counts as absent).

use std::fmt;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use custodian_core::care::CustomerSession;
use custodian_crypto::{MacKey, SecretKey, TokenDigest, random_bytes};
use custodian_policy::Lang;
use zeroize::Zeroizing;

use crate::AppState;
use crate::negotiate::preferred_lang;

use super::error::{Failure, failure_page};
use super::paths;

/// The session cookie: the customer's `css_` token.
pub const SESSION_COOKIE: &str = "__Host-custodian_centre";
/// The pre-session cookie a sign-in form's token is bound to.
pub const PRE_COOKIE: &str = "__Host-custodian_centre_pre";
/// How long a sign-in form stays usable.
const PRE_SESSION_SECONDS: i64 = 30 * 60;

/// The key of the centre's CSRF tokens. `serve` derives it from the identity key, so every
/// instance and restart accepts the others' forms; [`CentreKey::generate`] makes a random one
/// (tests). Without randomness at start-up it is absent and every form is refused (fail
/// closed).
#[derive(Clone)]
pub struct CentreKey(Option<Arc<MacKey>>);

impl fmt::Debug for CentreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CentreKey(<secret>)")
    }
}

impl CentreKey {
    pub fn from_key(key: SecretKey) -> CentreKey {
        CentreKey(Some(Arc::new(MacKey::new(key, "custodian.centre.csrf.v1"))))
    }

    pub fn generate() -> CentreKey {
        CentreKey(
            SecretKey::generate()
                .ok()
                .map(|key| Arc::new(MacKey::new(key, "custodian.centre.csrf.v1"))),
        )
    }

    fn token(&self, binding: &[u8]) -> Option<String> {
        self.0
            .as_ref()
            .map(|key| URL_SAFE_NO_PAD.encode(key.sign(binding)))
    }

    fn verify(&self, binding: &[u8], presented: &str) -> bool {
        let Some(key) = self.0.as_ref() else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(presented.as_bytes()) else {
            return false;
        };
        key.verify(binding, &tag)
    }

    /// The token of forms in the session whose token is `session_token`.
    pub fn session_token(&self, session_token: &str) -> Option<String> {
        self.token(&session_binding(session_token))
    }

    /// The token of sign-in forms for the pre-session value `pre`.
    pub fn pre_session_token(&self, pre: &str) -> Option<String> {
        self.token(&pre_binding(pre))
    }
}

fn session_binding(session_token: &str) -> Vec<u8> {
    let digest = TokenDigest::of(session_token.as_bytes());
    [b"session\0".as_slice(), digest.as_bytes()].concat()
}

fn pre_binding(pre: &str) -> Vec<u8> {
    [b"pre\0".as_slice(), pre.as_bytes()].concat()
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a `__Host-` cookie: `Secure; HttpOnly; SameSite=Strict; Path=/`, no
/// `Domain`. A `max_age` of 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
    ))
    .ok()
}

/// A new pre-session value and its cookie.
pub fn new_pre_session() -> Option<(String, HeaderValue)> {
    let value = hex::encode(random_bytes::<24>().ok()?);
    let header = set_cookie(PRE_COOKIE, &value, PRE_SESSION_SECONDS)?;
    Some((value, header))
}

/// The language: `?lang=vi|en`, else `Accept-Language`, else Vietnamese. An unknown `lang`
/// is ignored (a page, unlike the API, still answers).
pub fn lang_of(query: Option<&str>, headers: &HeaderMap) -> Lang {
    let asked = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| match v.as_ref() {
                "vi" => Some(Lang::Vi),
                "en" => Some(Lang::En),
                _ => None,
            })
    });
    asked
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(preferred_lang)
        })
        .unwrap_or_default()
}

/// The visitor's language, for pages that need no session.
#[derive(Debug, Clone, Copy)]
pub struct Visitor {
    pub lang: Lang,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &AppState,
    ) -> Result<Visitor, Self::Rejection> {
        Ok(Visitor {
            lang: lang_of(parts.uri.query(), &parts.headers),
        })
    }
}

/// A signed-in customer: without a valid session the page redirects to sign in.
pub struct Signed {
    pub lang: Lang,
    pub session: CustomerSession,
    /// The `css_` token from the cookie (for signing out).
    pub token: Zeroizing<String>,
    /// This session's form token.
    pub csrf: String,
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("lang", &self.lang)
            .field("customer", &self.session.customer)
            .finish_non_exhaustive()
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let lang = lang_of(parts.uri.query(), &parts.headers);
        let to_sign_in = || see_other(&paths::href(paths::SIGN_IN, lang));
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in());
        };
        let token = Zeroizing::new(token.to_owned());
        let session = match state.care.authenticate_customer_session(&token).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(to_sign_in()),
            Err(e) => {
                tracing::error!(error = %e, "a centre session could not be checked");
                return Err(failure_page(lang, Failure::Unavailable, None));
            }
        };
        let Some(csrf) = state.centre.session_token(&token) else {
            return Err(failure_page(lang, Failure::Unavailable, None));
        };
        Ok(Signed {
            lang,
            session,
            token,
            csrf,
        })
    }
}

impl Signed {
    /// Refuses a form whose token is not this session's, or that came from another site.
    pub fn check(
        &self,
        state: &AppState,
        form: &Form,
        headers: &HeaderMap,
    ) -> Result<(), Forbidden> {
        let token = form.get("csrf").unwrap_or_default();
        if !same_site(headers) || !state.centre.verify(&session_binding(&self.token), token) {
            return Err(Forbidden(self.lang));
        }
        Ok(())
    }
}

/// Refuses a sign-in form without its pre-session cookie and token, or from another site.
pub fn check_pre_session(
    state: &AppState,
    lang: Lang,
    form: &Form,
    headers: &HeaderMap,
) -> Result<(), Forbidden> {
    let token = form.get("csrf").unwrap_or_default();
    let ok = same_site(headers)
        && cookie(headers, PRE_COOKIE)
            .is_some_and(|pre| state.centre.verify(&pre_binding(pre), token));
    if ok { Ok(()) } else { Err(Forbidden(lang)) }
}

/// A form refused for its CSRF token or its origin: a 403 page, nothing changed.
#[derive(Debug, Clone, Copy)]
pub struct Forbidden(Lang);

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        failure_page(self.0, Failure::Forbidden, None)
    }
}

/// `Sec-Fetch-Site` and `Origin`, when the browser sends them, name this site.
fn same_site(headers: &HeaderMap) -> bool {
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .is_none_or(|v| v.as_bytes() == b"same-origin" || v.as_bytes() == b"none");
    let origin_ok = match headers.get(ORIGIN) {
        // `Referrer-Policy: no-referrer` makes browsers send `Origin: null` on a same-site
        // form post: it says nothing, and `Sec-Fetch-Site` and the token decide.
        None => true,
        Some(origin) if origin.as_bytes() == b"null" => true,
        Some(origin) => {
            let host = headers.get(HOST).and_then(|h| h.to_str().ok());
            let origin_host = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, rest)| rest);
            matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
        }
    };
    fetch_site_ok && origin_ok
}

/// A submitted `application/x-www-form-urlencoded` body. Its values can be personal:
/// `Debug` shows the names only, and they are zeroed when dropped.
pub struct Form(Vec<(String, Zeroizing<String>)>);

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Zeroizing::new(v.into_owned())))
                .collect(),
        )
    }

    /// The first value named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A 303 to `location` (after a form: the browser follows with a GET).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::SEE_OTHER,
            [(axum::http::header::LOCATION, value)],
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_with_the_same_key_accept_each_others_forms() {
        let one = CentreKey::from_key(SecretKey::from_bytes(&[5; 32]).unwrap());
        let other = CentreKey::from_key(SecretKey::from_bytes(&[5; 32]).unwrap());
        let t = one.session_token("css_a").unwrap();
        assert!(other.verify(&session_binding("css_a"), &t));
        let elsewhere = CentreKey::from_key(SecretKey::from_bytes(&[6; 32]).unwrap());
        assert!(!elsewhere.verify(&session_binding("css_a"), &t));
    }

    #[test]
    fn tokens_are_bound_to_their_session_and_key() {
        let key = CentreKey::generate();
        let other = CentreKey::generate();
        let t = key.session_token("css_a").unwrap();
        assert!(key.verify(&session_binding("css_a"), &t));
        assert!(!key.verify(&session_binding("css_b"), &t));
        assert!(!other.verify(&session_binding("css_a"), &t));
        assert!(!key.verify(&pre_binding("css_a"), &t));
        assert!(!key.verify(&session_binding("css_a"), "not-base64!"));
        assert!(!CentreKey(None).verify(&session_binding("css_a"), &t));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_site(&h));
        h.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_site(&h));
        h.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(same_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_site(&h));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("__Host-custodian_centre_pre=p; __Host-custodian_centre=s"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("s"));
        assert_eq!(cookie(&h, PRE_COOKIE), Some("p"));
    }
}
