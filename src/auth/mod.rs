//! Readers' identities: API keys, per-service credentials, and password verification.

pub mod accounts;
pub mod basic;
pub mod credentials;
pub mod device_passwords;
pub mod keys;
pub mod login_failures;
pub mod readers;
pub mod sessions;
pub mod verifier;
pub mod web;

pub use credentials::Service;
pub use verifier::Verifier;

/// Usernames are shared by KoSync headers, the CLI and the REST API: non-empty, at most
/// 255 characters, and without ':' (HTTP Basic and KoSync both split on it).
pub fn valid_username(name: &str) -> bool {
    !name.is_empty() && !name.contains([':', '\0']) && name.chars().count() <= 255
}

pub fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(text.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
