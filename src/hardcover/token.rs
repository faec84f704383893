//! Hardcover API tokens at rest. A token is a bearer credential to the reader's Hardcover
//! account, so unlike passwords it must be recoverable, and it is sealed instead of hashed:
//! XChaCha20-Poly1305 (random 192-bit nonce, so no nonce bookkeeping) under a key derived
//! from the server secret, with the owning API key as associated data, so a sealed token
//! copied into another reader's row does not open.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use uuid::Uuid;

/// What the key is derived for (see `AppState::key`; Hardcover's `Context::token_key`).
pub const PURPOSE: &str = "hardcover tokens";
const SCHEME: &str = "xchacha20poly1305:";
const NONCE: usize = 24;

/// The token as stored: scheme, then base64 of nonce and ciphertext.
pub fn seal(key: &[u8; 32], owner: Uuid, token: &str) -> String {
    let mut nonce = [0u8; NONCE];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = XChaCha20Poly1305::new(key.into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: token.as_bytes(),
                aad: owner.as_bytes(),
            },
        )
        .expect("encrypting into a Vec cannot fail");
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    format!(
        "{SCHEME}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The token, or None when it was sealed under another key (the server secret changed),
/// for another owner, or was altered.
pub fn open(key: &[u8; 32], owner: Uuid, stored: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored.strip_prefix(SCHEME)?)
        .ok()?;
    if bytes.len() <= NONCE {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(NONCE);
    let plain = XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: owner.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

/// The token as a reader pastes it: Hardcover's settings page shows it with "Bearer " in
/// front. None when nothing usable is left.
pub fn normalize(pasted: &str) -> Option<&str> {
    let t = pasted.trim();
    let t = match t.get(..6) {
        Some(p)
            if p.eq_ignore_ascii_case("bearer")
                && !t[6..].starts_with(|c: char| !c.is_whitespace()) =>
        {
            t[6..].trim()
        }
        _ => t,
    };
    (!t.is_empty() && t.len() <= 4096 && !t.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then_some(t)
}

/// What a reader pasted, ready to store: the label (theirs, or `hardcover-<key id>`) and the
/// token sealed for them. A paste that holds no token is a field error on `token`.
pub fn prepare(
    key: &[u8; 32],
    owner: Uuid,
    pasted: &str,
    label: Option<&str>,
) -> Result<(String, String), crate::error::Error> {
    let token = normalize(pasted).ok_or_else(|| {
        crate::error::Error::invalid(
            "token",
            "expected the API token from Hardcover's settings page",
        )
    })?;
    let label = match label.map(str::trim) {
        None | Some("") => format!("hardcover-{}", owner.simple()),
        Some(l) => l.to_owned(),
    };
    Ok((label, seal(key, owner, token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.secret-part";

    #[test]
    fn a_paste_is_prepared_with_a_label() {
        let (key, owner) = ([7u8; 32], Uuid::new_v4());
        let (label, sealed) = prepare(&key, owner, " Bearer abc.def ", None).unwrap();
        assert_eq!(label, format!("hardcover-{}", owner.simple()));
        assert_eq!(open(&key, owner, &sealed).as_deref(), Some("abc.def"));
        let (label, _) = prepare(&key, owner, "abc", Some(" mine ")).unwrap();
        assert_eq!(label, "mine");
        assert!(prepare(&key, owner, "  ", None).is_err());
        assert!(prepare(&key, owner, "a\0b", None).is_err());
    }

    #[test]
    fn sealed_tokens_open_only_for_their_owner_and_key() {
        let (key, owner) = ([7u8; 32], Uuid::new_v4());
        let stored = seal(&key, owner, TOKEN);
        assert!(!stored.contains("secret-part") && stored.starts_with(SCHEME));
        assert_eq!(open(&key, owner, &stored).as_deref(), Some(TOKEN));
        assert_ne!(seal(&key, owner, TOKEN), stored, "a fresh nonce each time");
        assert_eq!(
            open(&key, Uuid::new_v4(), &stored),
            None,
            "another reader's row"
        );
        assert_eq!(
            open(&[8u8; 32], owner, &stored),
            None,
            "another server secret"
        );
        let mut altered = stored.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            open(&key, owner, &String::from_utf8(altered).unwrap()),
            None
        );
        for junk in [
            "",
            "xchacha20poly1305:",
            "xchacha20poly1305:!!",
            "$2b$12$bcrypt",
        ] {
            assert_eq!(open(&key, owner, junk), None, "{junk}");
        }
    }

    #[test]
    fn pasted_tokens() {
        assert_eq!(normalize("  Bearer abc.def "), Some("abc.def"));
        assert_eq!(normalize("bearer abc"), Some("abc"));
        assert_eq!(normalize("abc"), Some("abc"));
        assert_eq!(normalize("Bearerish"), Some("Bearerish"));
        for bad in ["", "   ", "Bearer ", "bearer", "two words", "nul\0"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
        assert_eq!(normalize(&"x".repeat(4097)), None);
    }
}
