//! Unguessable tokens: session ids and CSRF tokens.

use base64::Engine;
use rand::TryRngCore;

/// A new random token (32 bytes, base64url).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS generator failing is not something a caller can recover from; an all-zero
    // token would be guessable, so fall back to the thread generator instead.
    if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
        use rand::{Rng, SeedableRng};
        rand::rngs::StdRng::from_os_rng().fill(&mut bytes);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The prefix of bearer tokens that sources present, so that secret scanners and people
/// can tell one when it leaks into a file or a chat.
pub const SOURCE_TOKEN_PREFIX: &str = "attest_";

/// A new bearer token for a source (SCIM provisioning, sign-in events): shown once, kept
/// only as its [`token_hash`].
pub fn new_source_token() -> String {
    format!("{SOURCE_TOKEN_PREFIX}{}", new_token())
}

/// The SHA-256 of a token, hex: what is stored and looked up. The token has 256 bits of
/// randomness, so a fast hash is enough (no salt or stretching needed).
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_tokens_are_prefixed_and_hashed() {
        let token = new_source_token();
        assert!(token.starts_with(SOURCE_TOKEN_PREFIX));
        assert_ne!(token, new_source_token());
        let hash = token_hash(&token);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, token_hash(&token));
        assert_ne!(hash, token_hash("other"));
    }
}
