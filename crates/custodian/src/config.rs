//! The service's configuration: defaults, then a TOML file, then `CUSTODIAN_*` environment
//! variables, then `CUSTODIAN_<KEY>_FILE` secrets read from files.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use custodian_core::rights::{
    Jurisdiction, WorkingCalendar, parse_date, parse_utc_offset, parse_weekday, weekday_name,
};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use serde::{Deserialize, Serialize};

use crate::Failure;

const ENV_PREFIX: &str = "CUSTODIAN_";
const DEFAULT_FILE: &str = "custodian.toml";

/// Every leaf key, as a dotted path. An env var naming one of these plus `_FILE` is a secret
/// indirection; any other unknown key is an error.
const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "policy_file",
    "log.format",
    "log.level",
    "http.max_body_bytes",
    "http.request_timeout_secs",
    "http.shutdown_grace_secs",
    "http.header_read_timeout_secs",
    "http.max_connections",
    "http.max_connections_per_address",
    "http.max_uri_bytes",
    "keys.dir",
    "keys.database_url",
    "keys.master",
    "keys.index",
    "keys.audit",
    "keys.identity",
    "api.tokens",
    "notify.smtp_url",
    "notify.smtp_password",
    "notify.from",
    "notify.reply_to",
    "notify.timeout_secs",
    "storefront.origins",
    "outbox.max_attempts",
    "outbox.backoff_base_ms",
    "outbox.backoff_cap_secs",
    "outbox.poll_ms",
    "outbox.timeout_secs",
    "rights.jurisdiction",
    "rights.weekend",
    "rights.holidays",
    "rights.utc_offset",
];

/// The keys of one partner's table, `partners.<id>.<key>` (the id is the policy's).
const PARTNER_KEYS: &[&str] = &["url", "secret"];

/// Whether `path` is a key of the configuration: one of [`KEYS`], or a partner's.
fn is_key(path: &str) -> bool {
    if KEYS.contains(&path) {
        return true;
    }
    match path
        .strip_prefix("partners.")
        .and_then(|p| p.split_once('.'))
    {
        Some((id, key)) => {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && PARTNER_KEYS.contains(&key)
        }
        None => false,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Default: `sqlite://<data_dir>/custodian.db`.
    pub database_url: Option<String>,
    /// Default: the embedded default policy.
    pub policy_file: Option<PathBuf>,
    pub log: LogConfig,
    pub http: HttpSettings,
    pub keys: KeysConfig,
    pub api: ApiConfig,
    pub notify: NotifyConfig,
    pub storefront: StorefrontConfig,
    /// Each partner's webhook, by the policy's partner id.
    pub partners: BTreeMap<String, PartnerConfig>,
    pub outbox: OutboxConfig,
    pub rights: RightsConfig,
}

/// Where a partner's messages go, and the secret that signs them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    /// `https://…` (`http://` only to a loopback address); without it the partner's messages
    /// wait. May hold a token in its path or query, hence a secret.
    pub url: Option<Secret>,
    /// The HMAC-SHA256 key of `Custodian-Signature` (at least 16 bytes).
    pub secret: Option<Secret>,
}

/// The delivery of the outbox to partners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// Attempts before a message is dead-lettered.
    pub max_attempts: u32,
    /// The first retry waits up to this long, each further one up to twice as long…
    pub backoff_base_ms: u64,
    /// …never more than this.
    pub backoff_cap_secs: u64,
    /// How often the dispatcher looks for due messages when the queue is idle.
    pub poll_ms: u64,
    /// The deadline of one request to a partner, connection included.
    pub timeout_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> OutboxConfig {
        OutboxConfig {
            max_attempts: 12,
            backoff_base_ms: 1000,
            backoff_cap_secs: 3600,
            poll_ms: 1000,
            timeout_secs: 10,
        }
    }
}

/// The deadlines of data subjects' requests: whose rules, and which days are working days.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsConfig {
    /// `vn` (Decree 356/2025 art. 5, working days) or `gdpr` (GDPR art. 12(3), a month).
    pub jurisdiction: String,
    /// The days of the week off, lowercase English names. A list, or one string with commas.
    #[serde(deserialize_with = "list_or_commas")]
    pub weekend: Vec<String>,
    /// Public holidays as `YYYY-MM-DD`. A list, or one string with commas.
    #[serde(deserialize_with = "list_or_commas")]
    pub holidays: Vec<String>,
    /// The controller's offset from UTC, `+HH:MM` or `-HH:MM`: when its days begin.
    pub utc_offset: String,
}

impl Default for RightsConfig {
    fn default() -> RightsConfig {
        let calendar = WorkingCalendar::vietnam();
        RightsConfig {
            jurisdiction: Jurisdiction::Vn.as_str().into(),
            weekend: calendar
                .weekend
                .iter()
                .map(|d| weekday_name(*d).to_owned())
                .collect(),
            holidays: Vec::new(),
            utc_offset: "+07:00".into(),
        }
    }
}

impl RightsConfig {
    /// The jurisdiction and the working calendar, each setting checked.
    pub fn validated(&self) -> Result<(Jurisdiction, WorkingCalendar), Failure> {
        let invalid = |key: &str, why: String| {
            Failure::invalid(format!("error: invalid configuration: rights.{key}: {why}"))
        };
        let jurisdiction = Jurisdiction::parse(&self.jurisdiction).ok_or_else(|| {
            invalid(
                "jurisdiction",
                format!(
                    "`{}` is not a jurisdiction: write `vn` (Decree 356/2025) or `gdpr`",
                    self.jurisdiction.escape_debug()
                ),
            )
        })?;
        let mut weekend = Vec::new();
        for name in &self.weekend {
            let day = parse_weekday(name).ok_or_else(|| {
                invalid(
                    "weekend",
                    format!(
                        "`{}` is not a day of the week: write `monday` … `sunday`, in lowercase",
                        name.escape_debug()
                    ),
                )
            })?;
            if weekend.contains(&day) {
                return Err(invalid("weekend", format!("`{name}` is listed twice")));
            }
            weekend.push(day);
        }
        let mut holidays = std::collections::BTreeSet::new();
        for text in &self.holidays {
            let date = parse_date(text).ok_or_else(|| {
                invalid(
                    "holidays",
                    format!(
                        "`{}` is not a date: write it `YYYY-MM-DD`, e.g. `2027-02-05`",
                        text.escape_debug()
                    ),
                )
            })?;
            if !holidays.insert(date) {
                return Err(invalid("holidays", format!("`{text}` is listed twice")));
            }
        }
        let utc_offset_seconds = parse_utc_offset(&self.utc_offset).ok_or_else(|| {
            invalid(
                "utc_offset",
                format!(
                    "`{}` is not an offset: write `+HH:MM` or `-HH:MM`, from -12:00 to +14:00 \
                     (Vietnam: `+07:00`)",
                    self.utc_offset.escape_debug()
                ),
            )
        })?;
        let calendar = WorkingCalendar {
            weekend,
            holidays,
            utc_offset_seconds,
        };
        if calendar.validate().is_err() {
            return Err(invalid(
                "weekend",
                "names every day of the week: at least one must be a working day".into(),
            ));
        }
        Ok((jurisdiction, calendar))
    }
}

/// The shop's pages that carry the consent banner (`consent.js`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorefrontConfig {
    /// The shop's origins, exactly as browsers send them (`https://shop.example`), whose pages
    /// may call the banner's API across origins. A list, or one string with commas (as the
    /// environment gives it).
    #[serde(deserialize_with = "list_or_commas")]
    pub origins: Vec<String>,
}

impl StorefrontConfig {
    /// The origins, each checked to be exactly `http(s)://host[:port]` as a browser sends it.
    pub fn validated_origins(&self) -> Result<Vec<String>, Failure> {
        self.origins
            .iter()
            .map(|origin| {
                check_origin(origin)
                    .map(|()| origin.clone())
                    .map_err(|why| {
                        Failure::invalid(format!(
                            "error: invalid configuration: storefront.origins: `{}` {why}",
                            origin.escape_debug()
                        ))
                    })
            })
            .collect()
    }
}

/// An origin as a browser sends it in `Origin`: a lowercase scheme `http` or `https`, `://`, a
/// lowercase host name, IPv4 address or bracketed IPv6 address, and a port only when it is not
/// the scheme's default; no path, no trailing slash, no wildcard, no user.
fn check_origin(origin: &str) -> Result<(), String> {
    let expected = "is not an origin: write it as `https://shop.example` or \
                    `http://127.0.0.1:8000` (scheme, host and port only)";
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(expected.into());
    };
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return Err(format!("{expected}; the scheme must be `http` or `https`")),
    };
    if rest.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "{expected}; no path (not even a trailing slash), query or user"
        ));
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let Some((address, after)) = v6.split_once(']') else {
                return Err(expected.into());
            };
            let lower_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == ':';
            if address.is_empty() || !address.chars().all(lower_hex) {
                return Err(format!(
                    "{expected}; an IPv6 address is lowercase hexadecimal"
                ));
            }
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| expected.to_owned())?),
            };
            (None, port)
        }
        None => match rest.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(rest), None),
        },
    };
    if let Some(host) = host {
        let host_ok = !host.is_empty()
            && !host.starts_with(['.', '-'])
            && !host.ends_with(['.', '-'])
            && host
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !host_ok {
            return Err(format!(
                "{expected}; the host must be lowercase letters, digits, dots and hyphens \
                 (an internationalised name in its xn-- form)"
            ));
        }
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && !port.starts_with('0')
            && port.chars().all(|c| c.is_ascii_digit())
            && port.parse::<u16>().is_ok();
        if !valid {
            return Err(format!(
                "{expected}; the port must be a number from 1 to 65535"
            ));
        }
        if port == default_port {
            return Err(format!(
                "{expected}; browsers send it without the default port {default_port}"
            ));
        }
    }
    Ok(())
}

/// A list of strings, or one string of comma-separated items.
fn list_or_commas<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCommas {
        List(Vec<String>),
        One(String),
    }
    Ok(match ListOrCommas::deserialize(deserializer)? {
        ListOrCommas::List(list) => list,
        ListOrCommas::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Where the keys come from. Without `master`, every key lives in a file under `dir`
/// (created mode 0600 on first run).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Default: beside the data directory, `<data_dir>-keys`.
    pub dir: Option<PathBuf>,
    /// Where customers' wrapped data keys are kept. Default: `data-keys.db` (SQLite) in `dir`;
    /// a `postgres://` URL (a database of its own, never the data's) for several instances.
    pub database_url: Option<Secret>,
    /// Master keys as `1:<base64>,2:<base64>`; the highest version wraps new keys.
    pub master: Option<Secret>,
    /// The blind-index key (base64, 32 bytes). Default: the file `index.key` in `dir`.
    pub index: Option<Secret>,
    /// The audit checkpoint key (base64, 32 bytes). Default: the file `audit.key` in `dir`.
    pub audit: Option<Secret>,
    /// The key sealing staff members' TOTP secrets (base64, 32 bytes). Default: the file
    /// `identity.key` in `dir`.
    pub identity: Option<Secret>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Integration tokens as `name=token,name2=token2`.
    pub tokens: Option<Secret>,
}

/// Delivery of one-time codes by email. Without `smtp_url`, no code can be sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// `smtp://host:port`, `smtp://host:587?tls=required` or `smtps://host:465`; may hold
    /// `user:password@`, hence a secret.
    pub smtp_url: Option<Secret>,
    /// The relay's password, if kept apart from the URL.
    pub smtp_password: Option<Secret>,
    /// The `From` of every message; required with `smtp_url`.
    pub from: Option<String>,
    pub reply_to: Option<String>,
    /// The deadline of one delivery, connection to `QUIT`.
    pub timeout_secs: u64,
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            smtp_url: None,
            smtp_password: None,
            from: None,
            reply_to: None,
            timeout_secs: 10,
        }
    }
}

/// A secret value: never shown by `Debug`, and read from any scalar (figment parses
/// environment values, so a token of digits arrives as a number) so that a type error
/// never quotes it.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Secret;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `custodian=debug,info`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    /// A request head not complete within this long closes the connection; it is also the
    /// longest a kept-alive connection may wait idle for its next request.
    pub header_read_timeout_secs: u64,
    /// Connections served at once; a connection beyond is answered `too_many_connections`
    /// and closed.
    pub max_connections: usize,
    /// Connections served at once from one client address (IPv6: one /64).
    pub max_connections_per_address: usize,
    /// Longer request targets (path and query string) are refused with `uri_too_long`.
    pub max_uri_bytes: usize,
}

/// The longest target hyper's parser lets through; over it, it answers a bare 414 itself.
const PARSER_MAX_URI_BYTES: usize = 65_534;

impl HttpSettings {
    /// Refuses settings that would close every connection or refuse every request.
    pub fn validate(&self) -> Result<(), Failure> {
        let invalid = |key: &str, why: &str| {
            Err(Failure::invalid(format!(
                "error: invalid configuration: http.{key}: {why}"
            )))
        };
        if self.header_read_timeout_secs == 0 {
            return invalid("header_read_timeout_secs", "must be at least 1");
        }
        if self.max_connections == 0 {
            return invalid("max_connections", "must be at least 1");
        }
        if self.max_connections_per_address == 0 {
            return invalid("max_connections_per_address", "must be at least 1");
        }
        if !(1024..=PARSER_MAX_URI_BYTES).contains(&self.max_uri_bytes) {
            return invalid(
                "max_uri_bytes",
                "must be from 1024 to 65534 (the HTTP parser's own limit)",
            );
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            policy_file: None,
            log: LogConfig {
                format: LogFormat::Text,
                level: "info".into(),
            },
            http: HttpSettings {
                max_body_bytes: 1024 * 1024,
                request_timeout_secs: 30,
                shutdown_grace_secs: 20,
                header_read_timeout_secs: 10,
                max_connections: 1024,
                max_connections_per_address: 64,
                max_uri_bytes: 8 * 1024,
            },
            keys: KeysConfig::default(),
            api: ApiConfig::default(),
            notify: NotifyConfig::default(),
            storefront: StorefrontConfig::default(),
            partners: BTreeMap::new(),
            outbox: OutboxConfig::default(),
            rights: RightsConfig::default(),
        }
    }
}

impl Config {
    /// Loads the configuration. `file` is `--config`; without it `$CUSTODIAN_CONFIG`, else
    /// `./custodian.toml` if it exists.
    pub fn load(file: Option<&Path>) -> Result<Config, Failure> {
        let explicit = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(format!("{ENV_PREFIX}CONFIG")).map(PathBuf::from));
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match explicit {
            Some(path) => {
                if let Err(e) = std::fs::metadata(&path) {
                    return Err(Failure::io(format!(
                        "error: cannot read config file `{}`: {e}",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
            !matches!(
                classify(key.as_str()),
                EnvKey::ConfigFile | EnvKey::Test | EnvKey::Secret(_)
            )
        }));
        for (path, value) in secrets()? {
            figment = figment.merge(Serialized::default(&path, value));
        }
        figment
            .extract()
            .map_err(|e| Failure::invalid(format!("error: invalid configuration: {e}")))
    }

    /// Where key files live.
    pub fn keys_dir(&self) -> PathBuf {
        self.keys
            .dir
            .clone()
            .unwrap_or_else(|| default_keys_dir(&self.data_dir))
    }

    /// Where the database lives, as a `sqlite://` URL or a path.
    pub fn database(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => self
                .data_dir
                .join("custodian.db")
                .to_string_lossy()
                .into_owned(),
        }
    }
}

/// Beside the data directory, never inside it: `./data` keeps its keys in `./data-keys`, so a
/// backup of the data directory holds no key and erasure by key destruction reaches it.
fn default_keys_dir(data_dir: &Path) -> PathBuf {
    match data_dir.file_name() {
        Some(name) => {
            let mut keys = name.to_os_string();
            keys.push("-keys");
            data_dir.with_file_name(keys)
        }
        None => data_dir.join("..").join("custodian-keys"),
    }
}

enum EnvKey {
    ConfigFile,
    /// `CUSTODIAN_TEST_*`: settings of the project's own test suites, not of the service.
    Test,
    /// `<KEY>_FILE`: the value of KEY (a dotted path) is in the named file.
    Secret(String),
    Other,
}

/// Classifies an env var by its name after the prefix (already split into a dotted path
/// when it comes from figment).
fn classify(name: &str) -> EnvKey {
    let path = name.to_ascii_lowercase().replace("__", ".");
    if path == "config" {
        return EnvKey::ConfigFile;
    }
    if path.starts_with("test_") {
        return EnvKey::Test;
    }
    if is_key(&path) {
        return EnvKey::Other;
    }
    match path.strip_suffix("_file") {
        Some(key) if is_key(key) => EnvKey::Secret(key.to_owned()),
        _ => EnvKey::Other,
    }
}

/// Reads every `CUSTODIAN_<KEY>_FILE`, trimming the trailing newline editors and
/// `echo` leave behind.
fn secrets() -> Result<Vec<(String, Value)>, Failure> {
    let mut found = Vec::new();
    for (name, file) in std::env::vars_os() {
        let Some(name) = name.to_str().and_then(|n| n.strip_prefix(ENV_PREFIX)) else {
            continue;
        };
        let EnvKey::Secret(path) = classify(name) else {
            continue;
        };
        let contents = std::fs::read_to_string(&file).map_err(|e| {
            Failure::io(format!(
                "error: cannot read `{ENV_PREFIX}{name}` file `{}`: {e}",
                Path::new(&file).display()
            ))
        })?;
        let contents = contents.strip_suffix('\n').unwrap_or(&contents);
        let contents = contents.strip_suffix('\r').unwrap_or(contents);
        // Parsed like a plain env var, so numbers in files work as numbers do in the env.
        let value = contents
            .parse::<Value>()
            .unwrap_or_else(|_| Value::from(contents.to_owned()));
        found.push((path, value));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_documents_every_key() {
        let example = include_str!("../../../config.example.toml");
        for key in KEYS {
            let (section, leaf) = key.rsplit_once('.').unwrap_or(("", key));
            let in_section = section.is_empty() || example.contains(&format!("[{section}]"));
            let documented = example.lines().any(|l| {
                l.trim_start_matches(['#', ' '])
                    .starts_with(&format!("{leaf} ="))
            });
            assert!(
                in_section && documented,
                "config.example.toml lacks `{key}`"
            );
        }
    }

    #[test]
    fn partner_keys_are_keys_and_their_secrets_come_from_files() {
        assert!(matches!(classify("PARTNERS__CARRIER__URL"), EnvKey::Other));
        assert!(matches!(
            classify("PARTNERS__AD_NETWORK__SECRET_FILE"),
            EnvKey::Secret(k) if k == "partners.ad_network.secret"
        ));
        assert!(matches!(
            classify("PARTNERS__CARRIER__URL_FILE"),
            EnvKey::Secret(k) if k == "partners.carrier.url"
        ));
        assert!(!is_key("partners.carrier.password"));
        assert!(!is_key("partners..url"));
        assert!(is_key("outbox.max_attempts"));
    }

    #[test]
    fn storefront_origins_are_exact_origins() {
        for good in [
            "https://shop.example",
            "http://127.0.0.1:8000",
            "https://xn--htpmart-9za.vn",
            "http://[::1]:3000",
            "https://shop.example:8443",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "https://Shop.example",
            "https://*.shop.example",
            "*",
            "null",
            "ftp://shop.example",
            "HTTPS://shop.example",
            "https://user@shop.example",
            "https://shop.example:443",
            "http://shop.example:80",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://shop.example:",
            "https://",
            "https://shop.example?x=1",
            "https://[::1",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn storefront_origins_come_as_a_list_or_with_commas() {
        let list: StorefrontConfig =
            serde_json::from_value(serde_json::json!({ "origins": ["https://a.example"] }))
                .unwrap();
        assert_eq!(list.origins, ["https://a.example"]);
        let commas: StorefrontConfig = serde_json::from_value(
            serde_json::json!({ "origins": "https://a.example, https://b.example" }),
        )
        .unwrap();
        assert_eq!(commas.origins, ["https://a.example", "https://b.example"]);
        let bad = StorefrontConfig {
            origins: vec!["https://a.example".into(), "https://b.example/".into()],
        };
        let error = bad.validated_origins().unwrap_err();
        assert!(
            format!("{error:?}").contains("https://b.example/"),
            "{error:?}"
        );
    }

    fn rights(toml: &str) -> Result<RightsConfig, Box<figment::Error>> {
        Figment::from(Serialized::defaults(RightsConfig::default()))
            .merge(Toml::string(toml))
            .extract()
            .map_err(Box::new)
    }

    #[test]
    fn rights_default_to_vietnam() {
        let (jurisdiction, calendar) = RightsConfig::default().validated().unwrap();
        assert_eq!(jurisdiction, Jurisdiction::Vn);
        assert_eq!(calendar, WorkingCalendar::vietnam());
        let example: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(include_str!("../../../config.example.toml")))
            .extract()
            .unwrap();
        assert_eq!(
            example.rights.validated().unwrap(),
            (Jurisdiction::Vn, WorkingCalendar::vietnam()),
            "the example's values are the defaults"
        );
    }

    #[test]
    fn rights_settings_build_the_calendar() {
        let config = rights(
            r#"
            jurisdiction = "gdpr"
            weekend = ["friday", "saturday"]
            holidays = ["2027-02-05", "2027-02-08"]
            utc_offset = "-03:30"
            "#,
        )
        .unwrap();
        let (jurisdiction, calendar) = config.validated().unwrap();
        assert_eq!(jurisdiction, Jurisdiction::Gdpr);
        assert_eq!(calendar.utc_offset_seconds, -(3 * 3600 + 1800));
        assert!(
            calendar.is_working_day(parse_date("2027-01-10").unwrap()),
            "a Sunday"
        );
        assert!(
            !calendar.is_working_day(parse_date("2027-01-08").unwrap()),
            "a Friday"
        );
        assert!(!calendar.is_working_day(parse_date("2027-02-08").unwrap()));
        // As the environment gives lists: one string with commas.
        let env = rights("weekend = \"sunday\"\nholidays = \"2027-02-05, 2027-02-06\"").unwrap();
        let (_, calendar) = env.validated().unwrap();
        let names: Vec<_> = calendar.weekend.iter().map(|d| weekday_name(*d)).collect();
        assert_eq!(names, ["sunday"]);
        assert_eq!(calendar.holidays.len(), 2);
        // An empty weekend is allowed: every day but the holidays is a working day.
        let (_, calendar) = rights("weekend = []").unwrap().validated().unwrap();
        assert!(calendar.weekend.is_empty());
    }

    #[test]
    fn bad_rights_settings_are_refused_with_the_key_and_the_form_expected() {
        for (toml, key, says) in [
            (r#"jurisdiction = "eu""#, "rights.jurisdiction", "`vn`"),
            (r#"jurisdiction = "VN""#, "rights.jurisdiction", "`gdpr`"),
            (
                r#"weekend = ["sat"]"#,
                "rights.weekend",
                "`monday` … `sunday`",
            ),
            (r#"weekend = ["Saturday"]"#, "rights.weekend", "lowercase"),
            (
                r#"weekend = ["sunday", "sunday"]"#,
                "rights.weekend",
                "listed twice",
            ),
            (
                r#"weekend = ["monday","tuesday","wednesday","thursday","friday","saturday","sunday"]"#,
                "rights.weekend",
                "at least one must be a working day",
            ),
            (
                r#"holidays = ["2027-2-5"]"#,
                "rights.holidays",
                "YYYY-MM-DD",
            ),
            (
                r#"holidays = ["2027-02-30"]"#,
                "rights.holidays",
                "YYYY-MM-DD",
            ),
            (
                r#"holidays = ["2027-02-05", "2027-02-05"]"#,
                "rights.holidays",
                "listed twice",
            ),
            (r#"utc_offset = "+7""#, "rights.utc_offset", "`+HH:MM`"),
            (
                r#"utc_offset = "UTC+07:00""#,
                "rights.utc_offset",
                "`+HH:MM`",
            ),
            (r#"utc_offset = "+15:00""#, "rights.utc_offset", "+14:00"),
        ] {
            let error = rights(toml).unwrap().validated().unwrap_err();
            let message = format!("{error:?}");
            assert!(
                message.contains(key) && message.contains(says),
                "{toml}: {message}"
            );
        }
        assert!(rights("week_end = []").is_err(), "unknown keys are refused");
    }

    #[test]
    fn http_limits_are_checked() {
        assert!(Config::default().http.validate().is_ok());
        for (toml, key) in [
            ("header_read_timeout_secs = 0", "header_read_timeout_secs"),
            ("max_connections = 0", "max_connections"),
            (
                "max_connections_per_address = 0",
                "max_connections_per_address",
            ),
            ("max_uri_bytes = 100", "max_uri_bytes"),
            ("max_uri_bytes = 70000", "max_uri_bytes"),
        ] {
            let http: HttpSettings = Figment::from(Serialized::defaults(Config::default().http))
                .merge(Toml::string(toml))
                .extract()
                .unwrap();
            let error = format!("{:?}", http.validate().unwrap_err());
            assert!(error.contains(&format!("http.{key}")), "{toml}: {error}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secret: Secret = serde_json::from_value(serde_json::json!("hunter2")).unwrap();
        assert_eq!(format!("{secret:?}"), "<secret>");
        let number: Secret = serde_json::from_value(serde_json::json!(12345)).unwrap();
        assert_eq!(number.expose(), "12345");
    }
}
