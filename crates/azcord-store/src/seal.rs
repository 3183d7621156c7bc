//! [`StateKey`]: the key that seals interaction tokens at rest, so that a copy of the
//! state file or a Redis dump hands out no token.

use std::{fmt, io::Write as _, os::unix::fs::OpenOptionsExt as _, path::Path};

use azcord_secret::Secret;
use chacha20poly1305::{
    KeyInit as _, XChaCha20Poly1305, XNonce,
    aead::{Aead as _, AeadCore as _, OsRng, Payload},
};

use crate::{StoreError, StoreErrorKind};

/// The environment variable that holds the key: 64 hexadecimal digits (32 bytes),
/// such as `openssl rand -hex 32` prints.
pub const STATE_KEY_VARIABLE: &str = "AZCORD_STATE_KEY";

const NONCE_LEN: usize = 24;

/// A 256-bit key for XChaCha20-Poly1305. `Debug` never shows it.
#[derive(Clone)]
pub struct StateKey([u8; 32]);

impl StateKey {
    /// Parses 64 hexadecimal digits, as `AZCORD_STATE_KEY` holds them.
    pub fn from_hex(text: &Secret) -> Result<Self, StoreError> {
        let invalid = || {
            StoreError::new(
                StoreErrorKind::Refused,
                format!(
                    "{STATE_KEY_VARIABLE} must be 64 hexadecimal digits (32 bytes), such as `openssl rand -hex 32` prints"
                ),
            )
        };
        let bytes = decode_hex(text.expose().trim()).ok_or_else(invalid)?;
        bytes.try_into().map(Self).map_err(|_| invalid())
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// The key in the file at `path`, created with a new key readable by its owner
    /// only (0600) if there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, StoreError> {
        let unavailable = |error: std::io::Error| {
            StoreError::with_source(
                StoreErrorKind::Unavailable,
                format!("cannot read or create the key file {}", path.display()),
                error,
            )
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                let key = Self::generate();
                file.write_all(format!("{}\n", encode_hex(&key.0)).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(unavailable)?;
                Ok(key)
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(unavailable)?;
                Self::from_hex(&Secret::new(text)).map_err(|_| {
                    StoreError::new(
                        StoreErrorKind::Corrupt,
                        format!(
                            "the key file {} does not hold 64 hexadecimal digits",
                            path.display()
                        ),
                    )
                })
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// `secret` sealed for the entry `key`: a random nonce and the ciphertext, in hex.
    pub(crate) fn seal(&self, key: &str, secret: &Secret) -> Result<String, StoreError> {
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: key.as_bytes(),
                },
            )
            .map_err(|_| StoreError::new(StoreErrorKind::Refused, "cannot seal a token"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(encode_hex(&bytes))
    }

    /// The secret sealed by [`StateKey::seal`] for the entry `key`.
    pub(crate) fn open(&self, key: &str, sealed: &str) -> Result<Secret, StoreError> {
        let corrupt = || {
            StoreError::new(
                StoreErrorKind::Corrupt,
                format!(
                    "the token of {key} cannot be opened: damaged, or sealed with another {STATE_KEY_VARIABLE}"
                ),
            )
        };
        let bytes = decode_hex(sealed).ok_or_else(corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: key.as_bytes(),
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| corrupt())
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(<redacted>)")
    }
}

/// `len` random bytes from the operating system, in hex.
pub(crate) fn random_hex(len: usize) -> String {
    use chacha20poly1305::aead::rand_core::RngCore as _;

    let mut bytes = vec![0; len];
    OsRng.fill_bytes(&mut bytes);
    encode_hex(&bytes)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_under_their_key_and_entry() {
        let key = StateKey::generate();
        let token = Secret::new("aW50ZXJhY3Rpb246MTIzNDU2Nzg5");
        let sealed = key.seal("operation/1", &token).unwrap();
        assert!(!sealed.contains(token.expose()));
        assert_eq!(key.open("operation/1", &sealed).unwrap(), token);
        // Bound to its entry: moved to another, it does not open.
        assert_eq!(
            key.open("operation/2", &sealed).unwrap_err().kind(),
            StoreErrorKind::Corrupt
        );
        assert_eq!(
            StateKey::generate()
                .open("operation/1", &sealed)
                .unwrap_err()
                .kind(),
            StoreErrorKind::Corrupt
        );
        // Two seals of one token differ: a fresh nonce each time.
        assert_ne!(sealed, key.seal("operation/1", &token).unwrap());
    }

    #[test]
    fn keys_parse_from_64_hex_digits() {
        let cases = [
            (&"00".repeat(32)[..], true),
            (&"aB".repeat(32)[..], true),
            (&"00".repeat(31)[..], false),
            (&"zz".repeat(32)[..], false),
            ("", false),
        ];
        for (text, valid) in cases {
            assert_eq!(
                StateKey::from_hex(&Secret::new(text)).is_ok(),
                valid,
                "{text:?}"
            );
        }
        assert_eq!(
            format!("{:?}", StateKey::generate()),
            "StateKey(<redacted>)"
        );
    }

    #[test]
    fn a_key_file_is_created_private_then_reused() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb.key");
        let key = StateKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = StateKey::load_or_create(&path).unwrap();
        assert_eq!(key.0, again.0);
    }
}
