//! The keys the vault runs on, and the integrations' API tokens, from configuration.
//!
//! Nothing here prints a secret: errors name the configuration key, a token's integration
//! name, or a file path, never key material or a token.

use std::sync::Arc;

use custodian_core::audit::CheckpointSigner;
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey, decode_key, load_or_create_key};
use custodian_http::TokenTable;

use crate::Failure;
use crate::config::{Config, Secret};

/// Tokens shorter than this are refused: they could be guessed.
const MIN_TOKEN_LEN: usize = 32;
/// Names are shorter than any token, so a name shown in an error is never a token written
/// the wrong way round (`token=name`).
const MAX_NAME_LEN: usize = MIN_TOKEN_LEN - 1;

/// Every key the vault needs.
#[derive(Debug)]
pub struct Keys {
    pub keyring: Arc<LocalKeyring>,
    pub index: BlindIndexKey,
    pub audit: CheckpointSigner,
    /// Seals staff members' TOTP secrets.
    pub identity: SecretKey,
    /// The master keys come from `keys.master`, not from files.
    pub configured: bool,
}

impl Keys {
    /// Loads the keys: from `keys.master`/`keys.index`/`keys.audit` when set, else from (or
    /// into, on first run) files in `keys.dir`.
    pub fn load(config: &Config) -> Result<Keys, Failure> {
        let dir = config.keys_dir();
        let single = |value: &Option<Secret>, key: &str, file: &str| match value {
            Some(secret) => decode_key(secret.expose())
                .map_err(|e| Failure::invalid(format!("error: invalid `keys.{key}`: {e}"))),
            None => load_or_create_key(&dir.join(file)).map_err(|e| {
                Failure::io(format!(
                    "error: cannot load the {key} key from `{}`: {e}",
                    dir.display()
                ))
            }),
        };
        let keyring = match &config.keys.master {
            Some(master) => {
                if config.keys.index.is_none()
                    || config.keys.audit.is_none()
                    || config.keys.identity.is_none()
                {
                    return Err(Failure::invalid(
                        "error: `keys.master` is set, so `keys.index`, `keys.audit` and \
                         `keys.identity` must be set too (keys from configuration are never \
                         mixed with key files)",
                    ));
                }
                LocalKeyring::from_config(master.expose())
                    .map_err(|e| Failure::invalid(format!("error: invalid `keys.master`: {e}")))?
            }
            None => LocalKeyring::open_dir(&dir).map_err(|e| {
                Failure::io(format!(
                    "error: cannot open the master keys in `{}`: {e}",
                    dir.display()
                ))
            })?,
        };
        let index: SecretKey = single(&config.keys.index, "index", "index.key")?;
        let audit: SecretKey = single(&config.keys.audit, "audit", "audit.key")?;
        let identity: SecretKey = single(&config.keys.identity, "identity", "identity.key")?;
        Ok(Keys {
            keyring: Arc::new(keyring),
            index: BlindIndexKey::new(index),
            audit: CheckpointSigner::new(audit),
            identity,
            configured: config.keys.master.is_some(),
        })
    }
}

/// Parses `api.tokens`: `name=token,name2=token2`. Names are `[a-z0-9_-]`, tokens at least
/// 32 characters, each name once.
pub fn api_tokens(spec: Option<&Secret>) -> Result<TokenTable, Failure> {
    let Some(spec) = spec else {
        return Ok(TokenTable::default());
    };
    let mut entries: Vec<(&str, &str)> = Vec::new();
    let items = spec.expose().split(',').map(str::trim);
    for (n, item) in items.filter(|i| !i.is_empty()).enumerate() {
        let bad = |what: String| Failure::invalid(format!("error: invalid `api.tokens`: {what}"));
        let Some((name, token)) = item.split_once('=') else {
            return Err(bad(format!("entry {} is not `name=token`", n + 1)));
        };
        let (name, token) = (name.trim(), token.trim());
        let name_ok = (1..=MAX_NAME_LEN).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(bad(format!(
                "the name of entry {} must be 1 to {MAX_NAME_LEN} characters of `a-z 0-9 _ -`",
                n + 1
            )));
        }
        if token.chars().count() < MIN_TOKEN_LEN {
            return Err(bad(format!(
                "the token of `{name}` is shorter than {MIN_TOKEN_LEN} characters"
            )));
        }
        if entries.iter().any(|(other, _)| *other == name) {
            return Err(bad(format!("`{name}` is given twice")));
        }
        entries.push((name, token));
    }
    Ok(TokenTable::from_tokens(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Result<TokenTable, String> {
        let secret: Secret = serde_json::from_value(serde_json::json!(spec)).unwrap();
        api_tokens(Some(&secret)).map_err(|f| f.message)
    }

    #[test]
    fn tokens_parse_and_bad_entries_are_named_without_the_token() {
        let long = "t".repeat(32);
        let table = parse(&format!("shop={long}, pbx-1 = {long}x")).unwrap();
        assert_eq!(table.names().collect::<Vec<_>>(), ["shop", "pbx-1"]);

        let short = "shorttokenvalue";
        let e = parse(&format!("shop={short}")).unwrap_err();
        assert!(e.contains("`shop`") && !e.contains(short), "{e}");
        let e = parse(&format!("Shop={long}")).unwrap_err();
        assert!(e.contains("entry 1") && !e.contains(&long), "{e}");
        let e = parse(&format!("{long}=shop")).unwrap_err();
        assert!(!e.contains(&long), "{e}");
        let e = parse(&format!("a={long},{long}")).unwrap_err();
        assert!(e.contains("entry 2") && !e.contains(&long), "{e}");
        let e = parse(&format!("a={long},a={long}y")).unwrap_err();
        assert!(
            e.contains("`a` is given twice") && !e.contains(&long),
            "{e}"
        );
    }
}
