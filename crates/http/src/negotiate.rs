//! Choosing the notice's language from `Accept-Language` (RFC 9110 §12.5.4).

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use custodian_core::error::ApiError;
use custodian_policy::Lang;

use crate::error::HttpError;

/// The language a request asks for: `?lang=vi|en` if given (anything else is refused), else
/// the client's `Accept-Language`, else Vietnamese.
pub fn request_lang(query: Option<&str>, headers: &HeaderMap) -> Result<Lang, HttpError> {
    match query {
        Some("vi") => Ok(Lang::Vi),
        Some("en") => Ok(Lang::En),
        Some(_) => Err(ApiError::invalid_parameter("lang", "`lang` must be `vi` or `en`").into()),
        None => Ok(headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(preferred_lang)
            .unwrap_or_default()),
    }
}

/// The supported language the client prefers most, honouring q-values; `None` when the
/// header names none we have (the caller then uses the default, Vietnamese).
pub fn preferred_lang(accept_language: &str) -> Option<Lang> {
    let mut ranges: Vec<(&str, u16)> = accept_language
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .or_else(|| p.trim().strip_prefix("Q="))
                })
                .map_or(Some(1000), parse_q)?;
            (!tag.is_empty() && q > 0).then_some((tag, q))
        })
        .collect();
    // Stable: among equal weights the client's order decides.
    ranges.sort_by_key(|range| std::cmp::Reverse(range.1));
    ranges.iter().find_map(|(tag, _)| {
        if *tag == "*" {
            Some(Lang::default())
        } else {
            Lang::from_tag(tag)
        }
    })
}

/// A q-value as thousandths, or `None` when malformed (the range is then ignored).
fn parse_q(q: &str) -> Option<u16> {
    let value: f32 = q.trim().parse().ok()?;
    if !(0.0..=1.0).contains(&value) {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked to be within 0..=1"
    )]
    Some((value * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_supported_wins_by_weight() {
        assert_eq!(preferred_lang("en-US,en;q=0.9,vi;q=0.8"), Some(Lang::En));
        assert_eq!(preferred_lang("fr, vi;q=0.5, en;q=0.7"), Some(Lang::En));
        assert_eq!(preferred_lang("en;q=0.1, vi-VN"), Some(Lang::Vi));
        assert_eq!(preferred_lang("de, fr;q=0.8"), None);
        assert_eq!(preferred_lang("en;q=0, fr"), None);
        assert_eq!(preferred_lang("de, *;q=0.1"), Some(Lang::Vi));
        assert_eq!(preferred_lang("en;q=banana, vi;q=0.2"), Some(Lang::Vi));
        assert_eq!(preferred_lang(""), None);
    }
}
