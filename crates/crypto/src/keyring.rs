//! Master keys (key-encryption keys): versioned, used only to wrap and unwrap customers'
//! data keys. [`KeyWrapper`] is the seam where an external KMS plugs in; [`LocalKeyring`]
//! keeps the keys in files (created mode 0600) or takes them from configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::field::{associated_data, decrypt, encrypt};
use crate::keys::{DataKey, SecretKey};
use crate::{CryptoError, KEY_LEN};

/// A data key sealed under one version of the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_version: u32,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WrappedKey(kek v{}, {} bytes)",
            self.kek_version,
            self.bytes.len()
        )
    }
}

/// Wraps and unwraps data keys. `context` names what the key belongs to (customer and data-key
/// version), so a wrapped key copied to another customer does not unwrap.
#[async_trait]
pub trait KeyWrapper: Send + Sync + fmt::Debug {
    /// The master-key version new wraps use.
    fn active_version(&self) -> u32;
    async fn wrap(&self, key: &DataKey, context: &[u8]) -> Result<WrappedKey, CryptoError>;
    async fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<DataKey, CryptoError>;
}

/// Where a [`LocalKeyring`]'s keys come from.
#[derive(Debug)]
enum Source {
    /// `master-<version>.key` files in a directory; new versions can be added.
    Directory(PathBuf),
    /// Given whole by configuration; new versions are added there by the operator.
    Configured,
}

/// Master keys held by this process.
#[derive(Debug)]
pub struct LocalKeyring {
    source: Source,
    versions: RwLock<BTreeMap<u32, SecretKey>>,
    /// When the key directory was last read: a version added by a `keys rotate` run in
    /// another process becomes the active one here within [`RELOAD_EVERY`].
    last_reload: std::sync::Mutex<Instant>,
}

/// How often a directory keyring looks for master-key versions added by another process.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

const MASTER_PREFIX: &str = "master-";
const KEY_SUFFIX: &str = ".key";

impl LocalKeyring {
    /// Opens the keyring in `dir`, creating the directory (0700) and a first master key
    /// (0600) if there is none.
    pub fn open_dir(dir: &Path) -> Result<LocalKeyring, CryptoError> {
        create_private_dir(dir)?;
        let keyring = LocalKeyring {
            source: Source::Directory(dir.to_owned()),
            versions: RwLock::new(BTreeMap::new()),
            last_reload: std::sync::Mutex::new(Instant::now()),
        };
        keyring.reload()?;
        if keyring.read().is_empty() {
            keyring.add_version()?;
        }
        Ok(keyring)
    }

    /// A keyring from configuration: `1:<base64>,2:<base64>`, or one bare base64 key
    /// (version 1).
    pub fn from_config(spec: &str) -> Result<LocalKeyring, CryptoError> {
        let mut versions = BTreeMap::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (version, encoded) = match item.split_once(':') {
                Some((v, k)) => {
                    let v = v.trim().parse::<u32>().map_err(|_| {
                        CryptoError::InvalidKey(
                            "a master key version is not a number (write `N:<base64>`)".into(),
                        )
                    })?;
                    (v, k)
                }
                None => (1, item),
            };
            if versions.insert(version, decode_key(encoded)?).is_some() {
                return Err(CryptoError::InvalidKey(format!(
                    "master key version `{version}` given twice"
                )));
            }
        }
        if versions.is_empty() {
            return Err(CryptoError::InvalidKey("no master key given".into()));
        }
        Ok(LocalKeyring {
            source: Source::Configured,
            versions: RwLock::new(versions),
            last_reload: std::sync::Mutex::new(Instant::now()),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u32, SecretKey>> {
        self.versions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every version this keyring holds, oldest first.
    pub fn versions(&self) -> Vec<u32> {
        self.read().keys().copied().collect()
    }

    /// Re-reads the key directory, picking up versions another process (a `keys rotate`
    /// run) added. A configured keyring has nothing to re-read.
    pub fn reload(&self) -> Result<(), CryptoError> {
        let Source::Directory(dir) = &self.source else {
            return Ok(());
        };
        let mut found = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let Some(version) = name.to_str().and_then(|n| {
                n.strip_prefix(MASTER_PREFIX)?
                    .strip_suffix(KEY_SUFFIX)?
                    .parse::<u32>()
                    .ok()
            }) else {
                continue;
            };
            found.insert(version, read_key_file(&dir.join(&name))?);
        }
        *self
            .versions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = found;
        Ok(())
    }

    /// Re-reads the directory if it was last read more than [`RELOAD_EVERY`] ago, so new
    /// keys are never wrapped under a version a rotation is moving away from for long.
    fn reload_if_due(&self) -> Result<(), CryptoError> {
        {
            let mut last = self
                .last_reload
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.elapsed() < RELOAD_EVERY {
                return Ok(());
            }
            *last = Instant::now();
        }
        self.reload()
    }

    /// Generates the next master-key version and makes it the active one.
    pub fn add_version(&self) -> Result<u32, CryptoError> {
        let Source::Directory(dir) = &self.source else {
            return Err(CryptoError::InvalidKey(
                "master keys come from configuration: add the new version there (`N:<base64>`)"
                    .into(),
            ));
        };
        let next = self.read().keys().next_back().map_or(1, |v| v + 1);
        let path = dir.join(format!("{MASTER_PREFIX}{next}{KEY_SUFFIX}"));
        write_new_key_file(&path, &SecretKey::generate()?)?;
        self.reload()?;
        Ok(next)
    }

    fn key(&self, version: u32) -> Option<SecretKey> {
        self.read().get(&version).cloned()
    }
}

#[async_trait]
impl KeyWrapper for LocalKeyring {
    fn active_version(&self) -> u32 {
        self.read().keys().next_back().copied().unwrap_or(0)
    }

    async fn wrap(&self, key: &DataKey, context: &[u8]) -> Result<WrappedKey, CryptoError> {
        self.reload_if_due()?;
        let version = self.active_version();
        let kek = self
            .key(version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let aad = associated_data(b"custodian/data-key/v1", &[context], version);
        Ok(WrappedKey {
            kek_version: version,
            bytes: encrypt(&kek, &aad, key.0.bytes())?,
        })
    }

    async fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<DataKey, CryptoError> {
        let kek = match self.key(wrapped.kek_version) {
            Some(kek) => kek,
            None => {
                // A rotation in another process may have added it since we loaded.
                self.reload()?;
                self.key(wrapped.kek_version)
                    .ok_or(CryptoError::UnknownKeyVersion(wrapped.kek_version))?
            }
        };
        let aad = associated_data(b"custodian/data-key/v1", &[context], wrapped.kek_version);
        let plain = decrypt(&kek, &aad, &wrapped.bytes)?;
        Ok(DataKey(SecretKey::from_bytes(plain.as_bytes())?))
    }
}

/// Reads the key stored in `path`, creating it (mode 0600) if it does not exist yet. Used for
/// the blind-index and audit keys, which have one version each.
pub fn load_or_create_key(path: &Path) -> Result<SecretKey, CryptoError> {
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    match read_key_file(path) {
        Ok(key) => Ok(key),
        Err(CryptoError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            match write_new_key_file(path, &SecretKey::generate()?) {
                // Another process created it first: use theirs.
                Err(CryptoError::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    read_key_file(path)
                }
                Err(e) => Err(e),
                Ok(()) => read_key_file(path),
            }
        }
        Err(e) => Err(e),
    }
}

/// Decodes a base64 key of exactly [`KEY_LEN`] bytes.
pub fn decode_key(encoded: &str) -> Result<SecretKey, CryptoError> {
    let bytes = zeroize::Zeroizing::new(
        BASE64
            .decode(encoded.trim())
            .map_err(|_| CryptoError::InvalidKey("not base64".into()))?,
    );
    SecretKey::from_bytes(&bytes)
}

fn read_key_file(path: &Path) -> Result<SecretKey, CryptoError> {
    let text = zeroize::Zeroizing::new(fs::read_to_string(path)?);
    decode_key(&text).map_err(|e| CryptoError::InvalidKey(format!("{}: {e}", path.display())))
}

/// Writes a new key file atomically and never over an existing one: the key goes to a
/// temporary file (0600), reaches the disk, then is linked to its name, which fails if the
/// name is taken.
fn write_new_key_file(path: &Path, key: &SecretKey) -> Result<(), CryptoError> {
    let dir = path
        .parent()
        .ok_or_else(|| CryptoError::InvalidKey("key path has no directory".into()))?;
    let tmp = dir.join(format!(
        ".tmp-{}",
        BASE64.encode(crate::random_bytes::<9>()?).replace('/', "_")
    ));
    let encoded = zeroize::Zeroizing::new(format!("{}\n", BASE64.encode(key.bytes())));
    let result = (|| {
        let mut file = private_file_options().open(&tmp)?;
        file.write_all(encoded.as_bytes())?;
        file.sync_all()?;
        fs::hard_link(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    let _ = fs::remove_file(&tmp);
    result.map_err(CryptoError::Io)
}

fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

fn create_private_dir(dir: &Path) -> Result<(), CryptoError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    Ok(())
}

const _: () = assert!(KEY_LEN == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn creates_a_private_first_key_and_wraps_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let ring = LocalKeyring::open_dir(&keys).unwrap();
        assert_eq!(ring.versions(), vec![1]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(keys.join("master-1.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(
                fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        let dek = DataKey::generate().unwrap();
        let wrapped = ring.wrap(&dek, b"cus_1/1").await.unwrap();
        assert_eq!(wrapped.kek_version, 1);
        let back = ring.unwrap(&wrapped, b"cus_1/1").await.unwrap();
        assert_eq!(back.0.bytes(), dek.0.bytes());
        assert!(
            ring.unwrap(&wrapped, b"cus_2/1").await.is_err(),
            "bound to its customer"
        );
    }

    #[tokio::test]
    async fn a_new_version_wraps_new_keys_and_old_wraps_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let ring = LocalKeyring::open_dir(dir.path()).unwrap();
        let dek = DataKey::generate().unwrap();
        let old = ring.wrap(&dek, b"c").await.unwrap();
        assert_eq!(ring.add_version().unwrap(), 2);
        let new = ring.wrap(&dek, b"c").await.unwrap();
        assert_eq!(new.kek_version, 2);
        assert!(ring.unwrap(&old, b"c").await.is_ok());
        // Another process sees the new version on demand.
        let other = LocalKeyring::open_dir(dir.path()).unwrap();
        assert_eq!(other.versions(), vec![1, 2]);
    }

    #[tokio::test]
    async fn an_unknown_version_is_picked_up_from_disk_on_unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalKeyring::open_dir(dir.path()).unwrap();
        let rotator = LocalKeyring::open_dir(dir.path()).unwrap();
        rotator.add_version().unwrap();
        let wrapped = rotator
            .wrap(&DataKey::generate().unwrap(), b"c")
            .await
            .unwrap();
        assert!(first.unwrap(&wrapped, b"c").await.is_ok());
    }

    #[test]
    fn configured_keyrings_parse_versions_and_refuse_garbage() {
        let k = BASE64.encode([9u8; 32]);
        let ring = LocalKeyring::from_config(&format!("1:{k}, 2:{k}")).unwrap();
        assert_eq!(ring.versions(), vec![1, 2]);
        assert_eq!(ring.active_version(), 2);
        assert_eq!(LocalKeyring::from_config(&k).unwrap().versions(), vec![1]);
        for bad in ["", "1:short", &format!("x:{k}"), &format!("1:{k},1:{k}")] {
            assert!(LocalKeyring::from_config(bad).is_err(), "{bad}");
        }
        assert!(ring.add_version().is_err());
    }

    #[test]
    fn single_keys_are_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.key");
        let a = load_or_create_key(&path).unwrap();
        let b = load_or_create_key(&path).unwrap();
        assert_eq!(a.bytes(), b.bytes());
    }
}
