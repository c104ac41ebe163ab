//! Encryption at rest for provider credentials and webhook secrets: AES-256-GCM with a fresh
//! random nonce per value, keys identified by a version so they can be rotated (values stay
//! readable with the old key until they are re-encrypted with the current one).
//!
//! Stored form: `nonce (12 bytes) || ciphertext+tag`, with the key version in its own column
//! (`key_version`). Callers pass associated data (such as the row's id) that must match on
//! decryption, so a ciphertext copied into another row does not decrypt.
//!
//! Configuration (`CHATGRAPH_ENCRYPTION_KEY`): one base64 key of 32 bytes (version 1), or a
//! comma-separated list `VERSION:BASE64`, current key first (`2:...,1:...`).

use std::{collections::BTreeMap, fs, io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{AppError, AppResult};

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;
/// File holding the generated development encryption key inside the data directory.
pub const DEV_KEY_FILE: &str = "encryption.key";
/// File holding the generated development JWT signing secret inside the data directory.
pub const DEV_JWT_SECRET_FILE: &str = "jwt.secret";

/// The encryption keys, by version, and which one encrypts new values.
pub struct Keyring {
    current: i32,
    keys: BTreeMap<i32, Aes256Gcm>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("versions", &self.keys.keys())
            .finish()
    }
}

impl Keyring {
    /// Parses `CHATGRAPH_ENCRYPTION_KEY` (see the module docs).
    pub fn parse(config: &SecretString) -> anyhow::Result<Self> {
        let text = config.expose_secret().trim();
        let entries: Vec<(i32, &str)> = if text.contains(':') {
            text.split(',')
                .map(|entry| {
                    let (version, key) = entry
                        .trim()
                        .split_once(':')
                        .ok_or_else(|| anyhow::anyhow!("expected VERSION:BASE64"))?;
                    let version: i32 = version
                        .parse()
                        .map_err(|_| anyhow::anyhow!("key version {version:?} is not a number"))?;
                    anyhow::ensure!(version > 0, "key versions start at 1");
                    Ok((version, key))
                })
                .collect::<anyhow::Result<_>>()?
        } else {
            vec![(1, text)]
        };
        let mut keys = BTreeMap::new();
        for (version, key) in &entries {
            let bytes = STANDARD
                .decode(key)
                .map_err(|_| anyhow::anyhow!("encryption key {version} is not base64"))?;
            anyhow::ensure!(
                bytes.len() == KEY_LEN,
                "encryption key {version} must be {KEY_LEN} bytes, got {}",
                bytes.len()
            );
            anyhow::ensure!(
                keys.insert(*version, Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)))
                    .is_none(),
                "encryption key version {version} appears twice"
            );
        }
        let current = entries
            .first()
            .map(|(v, _)| *v)
            .ok_or_else(|| anyhow::anyhow!("no encryption key"))?;
        Ok(Keyring { current, keys })
    }

    /// The version new values are encrypted with.
    pub fn current_version(&self) -> i32 {
        self.current
    }

    /// Encrypts `plaintext` bound to `associated_data`; returns the stored bytes and key version.
    pub fn encrypt(&self, plaintext: &[u8], associated_data: &[u8]) -> AppResult<(Vec<u8>, i32)> {
        let cipher = &self.keys[&self.current];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .map_err(|_| AppError::Internal(anyhow::anyhow!("encryption failed")))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&ciphertext);
        Ok((stored, self.current))
    }

    /// Decrypts stored bytes written by [`Keyring::encrypt`] with key `version`.
    pub fn decrypt(&self, stored: &[u8], version: i32, associated_data: &[u8]) -> AppResult<Vec<u8>> {
        let cipher = self
            .keys
            .get(&version)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no encryption key with version {version}")))?;
        if stored.len() < NONCE_LEN {
            return Err(AppError::Internal(anyhow::anyhow!("stored ciphertext is truncated")));
        }
        let (nonce, ciphertext) = stored.split_at(NONCE_LEN);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map_err(|_| AppError::Internal(anyhow::anyhow!("decryption failed: wrong key or tampered value")))
    }
}

/// For local development without a configured secret (`variable`): reads the random 32-byte
/// secret kept in `file` of the data directory, generating it (readable by its owner only) on
/// first use. Logs a warning: a production deployment sets the variable and keeps its secrets
/// out of the data directory.
pub fn load_or_create_dev_secret(data_dir: &Path, file: &str, variable: &str) -> anyhow::Result<SecretString> {
    let path = data_dir.join(file);
    tracing::warn!(key.file = %path.display(), "{variable} is not set: using a generated development secret");
    if path.exists() {
        return Ok(SecretString::from(fs::read_to_string(&path)?.trim().to_owned()));
    }
    fs::create_dir_all(data_dir)?;
    let key = STANDARD.encode(Aes256Gcm::generate_key(&mut OsRng));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(key.as_bytes())?;
    Ok(SecretString::from(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; KEY_LEN])
    }

    #[test]
    fn values_round_trip_with_a_fresh_nonce_each_time() {
        let keyring = Keyring::parse(&SecretString::from(key(1))).expect("keyring");
        let (first, version) = keyring.encrypt(b"sk-secret", b"credential:1").expect("encrypt");
        let (second, _) = keyring.encrypt(b"sk-secret", b"credential:1").expect("encrypt");
        assert_eq!(version, 1);
        assert_ne!(first, second, "a fresh nonce per value");
        assert!(
            !first.windows(9).any(|w| w == b"sk-secret"),
            "no plaintext in the stored bytes"
        );
        assert_eq!(
            keyring.decrypt(&first, 1, b"credential:1").expect("decrypt"),
            b"sk-secret"
        );
    }

    #[test]
    fn tampering_another_row_or_an_unknown_version_fails() {
        let keyring = Keyring::parse(&SecretString::from(key(1))).expect("keyring");
        let (mut stored, _) = keyring.encrypt(b"sk-secret", b"credential:1").expect("encrypt");
        assert!(
            keyring.decrypt(&stored, 1, b"credential:2").is_err(),
            "bound to its row"
        );
        assert!(keyring.decrypt(&stored, 2, b"credential:1").is_err(), "unknown version");
        assert!(keyring.decrypt(&stored[..5], 1, b"credential:1").is_err(), "truncated");
        let last = stored.len() - 1;
        stored[last] ^= 1;
        assert!(keyring.decrypt(&stored, 1, b"credential:1").is_err(), "tampered");
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_encrypts_with_the_current_key() {
        let old = Keyring::parse(&SecretString::from(key(1))).expect("old");
        let (stored, version) = old.encrypt(b"token", b"").expect("encrypt");
        let rotated = Keyring::parse(&SecretString::from(format!("2:{},1:{}", key(2), key(1)))).expect("rotated");
        assert_eq!(rotated.current_version(), 2);
        assert_eq!(rotated.decrypt(&stored, version, b"").expect("old value"), b"token");
        assert_eq!(rotated.encrypt(b"token", b"").expect("encrypt").1, 2);
    }

    #[test]
    fn bad_configuration_is_refused() {
        for bad in [
            "",
            "not base64!",
            &STANDARD.encode([0u8; 16]),
            &format!("0:{}", key(1)),
            &format!("1:{},1:{}", key(1), key(2)),
        ] {
            assert!(Keyring::parse(&SecretString::from(bad.to_owned())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_development_key_is_generated_once_and_private() {
        let dir = std::env::temp_dir().join(format!("chatgraph-key-{}", uuid::Uuid::new_v4().simple()));
        let first = load_or_create_dev_secret(&dir, DEV_KEY_FILE, "KEY").expect("create");
        let second = load_or_create_dev_secret(&dir, DEV_KEY_FILE, "KEY").expect("reuse");
        assert_eq!(first.expose_secret(), second.expose_secret());
        Keyring::parse(&first).expect("a usable key");
        let mode = fs::metadata(dir.join(DEV_KEY_FILE)).expect("file").permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        fs::remove_dir_all(dir).expect("clean up");
    }
}
