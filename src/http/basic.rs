//! HTTP Basic credentials, as OPDS apps send them.

/// The (user, password) of an HTTP Basic credential's base64 part; None when it does not
/// decode to UTF-8 text holding a ':'.
pub fn decode(encoded: &str) -> Option<(String, String)> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
