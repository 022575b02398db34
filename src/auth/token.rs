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
