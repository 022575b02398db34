//! Secrets attest must be able to read back (an LDAP connection's bind password), sealed
//! with ChaCha20-Poly1305 under a key kept in a file outside the database: a copy of the
//! database alone (a dump, a backup, a stolen disk image of the database volume) does not
//! reveal them. The key file is created on first use, readable by its owner only.
//!
//! A sealed value is `v1:` followed by base64 of a random 96-bit nonce and the ciphertext
//! with its tag. Opening fails, without saying more, when the key is not the one that
//! sealed it or the value was changed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::TryRngCore;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// The prefix of a sealed value: its format's version.
const PREFIX: &str = "v1:";
/// Key length in bytes.
const KEY_LEN: usize = 32;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key file cannot be read or created.
    #[error("the secret key file {path} cannot be used: {reason}")]
    KeyFile { path: String, reason: String },
    /// The sealed value does not open with this key (another key, or changed).
    #[error(
        "a stored secret cannot be decrypted with the key in {0}: the key file was replaced or the value was changed; \
         enter the password again"
    )]
    Undecryptable(String),
}

/// The key file used when none was configured: in the working directory.
pub const DEFAULT_KEY_FILE: &str = "attest-secret.key";

/// The key file the process was configured with (`--secret-key-file`); set once at start.
static CONFIGURED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the process's key file (start-up; a second call is ignored, so that tests which
/// start several servers in one process share one key).
pub fn configure(path: PathBuf) {
    let _ = CONFIGURED.set(path);
}

/// The process's secrets: the configured key file, else [`DEFAULT_KEY_FILE`]. A process
/// global rather than a parameter because the scheduler's apply, the command line and the
/// pages all reach LDAP write-back through the same service calls.
pub fn current() -> Secrets {
    Secrets::new(CONFIGURED.get().cloned().unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE)))
}

/// Where the key is; it is read (or created) when a secret is sealed or opened.
#[derive(Debug, Clone)]
pub struct Secrets {
    path: PathBuf,
}

impl Secrets {
    /// Secrets sealed under the key in `path` (created on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn key_error(&self, reason: impl ToString) -> SecretError {
        SecretError::KeyFile { path: self.path.display().to_string(), reason: reason.to_string() }
    }

    /// The key: read from the file, or generated and written when there is none.
    fn key(&self) -> Result<LessSafeKey, SecretError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.create()?,
            Err(e) => return Err(self.key_error(e)),
        };
        let raw = STANDARD.decode(bytes.trim_ascii()).map_err(|_| self.key_error("it is not base64"))?;
        if raw.len() != KEY_LEN {
            return Err(self.key_error(format!("it holds {} bytes, not {KEY_LEN}", raw.len())));
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, &raw).map_err(|_| self.key_error("it is not a key"))?;
        Ok(LessSafeKey::new(key))
    }

    /// Writes a new random key, readable by its owner only; a key another process wrote
    /// first wins (`create_new`).
    fn create(&self) -> Result<Vec<u8>, SecretError> {
        let mut raw = [0u8; KEY_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut raw).map_err(|e| self.key_error(e))?;
        let text = STANDARD.encode(raw);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&self.path) {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| self.key_error(e))?;
                tracing::info!(path = %self.path.display(), "created the secret key file");
                Ok(text.into_bytes())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                fs::read(&self.path).map_err(|e| self.key_error(e))
            }
            Err(e) => Err(self.key_error(e)),
        }
    }

    /// Seals `plain`.
    pub fn seal(&self, plain: &str) -> Result<String, SecretError> {
        let key = self.key()?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut nonce).map_err(|e| self.key_error(e))?;
        let mut data = plain.as_bytes().to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| self.key_error("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens a value [`Secrets::seal`] made with the same key.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let undecryptable = || SecretError::Undecryptable(self.path.display().to_string());
        let body = sealed.strip_prefix(PREFIX).ok_or_else(undecryptable)?;
        let raw = STANDARD.decode(body).map_err(|_| undecryptable())?;
        if raw.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let key = self.key()?;
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| undecryptable())?;
        let mut data = data.to_vec();
        let plain = key.open_in_place(nonce, Aad::empty(), &mut data).map_err(|_| undecryptable())?;
        String::from_utf8(plain.to_vec()).map_err(|_| undecryptable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(dir.path().join("k"));
        let sealed = secrets.seal("s3cret pässword").unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("s3cret"));
        assert_eq!(secrets.open(&sealed).unwrap(), "s3cret pässword");
        // Two seals of one value differ (fresh nonce).
        assert_ne!(secrets.seal("x").unwrap(), secrets.seal("x").unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("k")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another key, or a changed value, does not open.
        let other = Secrets::new(dir.path().join("other"));
        assert!(matches!(other.open(&sealed), Err(SecretError::Undecryptable(_))));
        let mut changed = sealed.clone();
        changed.pop();
        changed.push('A');
        assert!(secrets.open(&changed).is_err());
        assert!(secrets.open("plain text").is_err());
        // A broken key file is named.
        fs::write(dir.path().join("bad"), "not base64!").unwrap();
        let e = Secrets::new(dir.path().join("bad")).seal("x").unwrap_err().to_string();
        assert!(e.contains("not base64"), "{e}");
    }
}
