//! CSRF tokens: an HMAC of the session's id (or, before sign-in, of the `libris_pre` cookie's
//! random value) under a key derived from the server secret. Nothing is stored; a token is
//! good for its session only, and compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The form field that carries it; scripts may send the header instead.
pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

fn mac(key: &[u8; 32], seed: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(seed.as_bytes());
    mac
}

pub fn token(key: &[u8; 32], seed: &str) -> String {
    hex::encode(&mac(key, seed).finalize().into_bytes()[..16])
}

pub fn check(key: &[u8; 32], seed: &str, given: &str) -> bool {
    let mut bytes = [0u8; 16];
    hex::decode_to_slice(given, &mut bytes).is_ok()
        && mac(key, seed).verify_truncated_left(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_good_for_its_seed_only() {
        let key = [3u8; 32];
        let t = token(&key, "session-a");
        assert!(check(&key, "session-a", &t));
        assert!(!check(&key, "session-b", &t));
        assert!(!check(&[4u8; 32], "session-a", &t));
        assert!(!check(&key, "session-a", ""));
        assert!(!check(&key, "session-a", &t[..30]));
        assert!(!check(
            &key,
            "session-a",
            "not hex at all, not hex at all!!"
        ));
    }
}
