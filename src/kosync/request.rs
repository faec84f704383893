//! Pure parsing and validation of KoSync requests, as the official server does it
//! (plus the range and length checks it lacks).

use serde_json::{Map, Value};

use super::error::{AcceptProblem, KosyncError};
use crate::auth::valid_username;
use crate::error::Error;
use crate::reading::progress::book_metadata;
use crate::reading::Report;

pub const BODY_LIMIT: usize = 64 * 1024;
pub const MAX_DOCUMENT: usize = 512;
pub const MAX_DEVICE: usize = 255;
pub const MAX_PROGRESS: usize = 4096;
/// KOReader sends a 32-character md5 key; other clients a password. Bounds bcrypt's input.
pub const MAX_KEY: usize = 1024;

pub type Object = Map<String, Value>;

/// The body as a JSON object. An empty body is "missing" (403/2003 where one is needed).
pub fn parse_body(bytes: &[u8]) -> Result<Object, KosyncError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("body", "missing").into());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) if holds_nul(&map) => Err(Error::invalid(
            "body",
            "text with NUL characters (\\u0000) cannot be stored",
        )
        .into()),
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(KosyncError::NotAnObject),
        Err(e) => Err(Error::BadJson(e.to_string()).into()),
    }
}

/// Whether a NUL character is in any key or string: PostgreSQL stores neither in text nor
/// in jsonb, so such a body is refused whole rather than failing at the database.
fn holds_nul(map: &Object) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(value),
            Value::Object(m) => holds_nul(m),
            _ => false,
        }
    }
    map.iter().any(|(k, v)| k.contains('\0') || value(v))
}

/// `Accept: application/vnd.koreader.v<N>…+json` with N = 1, as the official server demands.
pub fn check_accept(header: Option<&str>) -> Result<(), KosyncError> {
    let value = header
        .ok_or(KosyncError::Accept(AcceptProblem::Missing))?
        .trim();
    let rest = value
        .strip_prefix("application/vnd.koreader.v")
        .filter(|r| r.ends_with("+json"))
        .ok_or(KosyncError::Accept(AcceptProblem::Format))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return Err(KosyncError::Accept(AcceptProblem::Format));
    }
    match digits.parse::<u32>() {
        Ok(1) => Ok(()),
        _ => Err(KosyncError::Accept(AcceptProblem::Version)),
    }
}

pub fn valid_document(document: &str) -> bool {
    !document.is_empty()
        && !document.contains([':', '\0'])
        && document.chars().count() <= MAX_DOCUMENT
}

/// The (username, key) of the auth headers, or 401.
pub fn credentials(user: Option<&[u8]>, key: Option<&[u8]>) -> Result<(String, String), Error> {
    let text = |v: Option<&[u8]>| {
        v.and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_owned)
    };
    match (text(user), text(key)) {
        (Some(user), Some(key))
            if valid_username(&user) && !key.is_empty() && key.len() <= MAX_KEY =>
        {
            Ok((user, key))
        }
        _ => Err(Error::Unauthorized),
    }
}

/// `/users/create`: (username, password).
pub fn new_user(body: &Object) -> Result<(String, String), Error> {
    let username = match body.get("username") {
        Some(Value::String(u)) if valid_username(u) => u.clone(),
        _ => {
            return Err(Error::invalid(
                "username",
                "a non-empty string without ':' is required",
            ))
        }
    };
    Ok((username, password(body)?))
}

/// A non-empty password string (the md5 key, for KOReader).
pub fn password(body: &Object) -> Result<String, Error> {
    match body.get("password") {
        Some(Value::String(p)) if !p.is_empty() && p.len() <= MAX_KEY => Ok(p.clone()),
        _ => Err(Error::invalid("password", "a non-empty string is required")),
    }
}

/// Strings, or numbers stored as their text. `None` for anything else.
fn text_or_number(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number in [0, 1], or a string holding one.
pub fn percentage(value: Option<&Value>) -> Result<f64, Error> {
    let p = match value {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match p {
        Some(p) if p.is_finite() && (0.0..=1.0).contains(&p) => {
            Ok((p * 10_000.0).round() / 10_000.0)
        }
        _ => Err(Error::invalid(
            "percentage",
            "a number from 0 to 1 is required",
        )),
    }
}

/// `PUT /syncs/progress`: the report, validated.
pub fn progress_report(body: Object) -> Result<Report, Error> {
    let document = match body.get("document") {
        Some(Value::String(d)) if valid_document(d) => d.clone(),
        _ => return Err(Error::invalid("document", "missing or invalid")),
    };
    let percentage = percentage(body.get("percentage"))?;
    let progress = text_or_number(body.get("progress"))
        .filter(|p| p.chars().count() <= MAX_PROGRESS)
        .ok_or_else(|| Error::invalid("progress", "a string is required"))?;
    let device = text_or_number(body.get("device"))
        .filter(|d| d.chars().count() <= MAX_DEVICE)
        .ok_or_else(|| Error::invalid("device", "a string is required"))?;
    let device_id = match body.get("device_id") {
        None | Some(Value::Null) => None,
        v => Some(
            text_or_number(v)
                .filter(|d| d.chars().count() <= MAX_DEVICE)
                .ok_or_else(|| Error::invalid("device_id", "a string is required"))?,
        ),
    };
    let (title, authors) = book_metadata(body.get("metadata"));
    Ok(Report {
        document,
        progress,
        percentage,
        device,
        device_id,
        title,
        authors,
        raw: Value::Object(body),
    })
}

/// Percentages as KOReader expects them: JSON numbers, whole values without ".0".
pub fn percentage_json(p: f64) -> Value {
    if p.fract() == 0.0 {
        Value::from(p as i64)
    } else {
        Value::from(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn code(e: impl Into<KosyncError>) -> u32 {
        e.into().parts().1
    }

    #[test]
    fn nul_characters_are_refused_anywhere_in_a_body() {
        for body in [
            r#"{"document": "d\u0000"}"#,
            r#"{"document": "d", "metadata": {"title": ["x\u0000"]}}"#,
            r#"{"extra\u0000": 1}"#,
        ] {
            assert_eq!(
                code(parse_body(body.as_bytes()).unwrap_err()),
                2003,
                "{body}"
            );
        }
        assert!(
            parse_body(br#"{"document": "d\\u0000"}"#).is_ok(),
            "an escaped backslash is text"
        );
        assert!(!valid_document("a\0b"));
    }

    #[test]
    fn body_errors() {
        assert_eq!(code(parse_body(b"{oops").unwrap_err()), 103);
        assert_eq!(code(parse_body(b"[1,2]").unwrap_err()), 104);
        assert_eq!(code(parse_body(b"\"x\"").unwrap_err()), 104);
        assert_eq!(code(parse_body(b"").unwrap_err()), 2003);
        assert_eq!(code(parse_body(b"\xff\xfe").unwrap_err()), 103);
        assert!(parse_body(b" {\"a\": 1} ").is_ok());
    }

    #[test]
    fn accept_rules() {
        assert!(check_accept(Some("application/vnd.koreader.v1+json")).is_ok());
        assert_eq!(code(check_accept(None).unwrap_err()), 100);
        assert_eq!(
            code(check_accept(Some("application/json")).unwrap_err()),
            101
        );
        assert_eq!(
            code(check_accept(Some("application/vnd.koreader.vx+json")).unwrap_err()),
            101
        );
        assert_eq!(
            code(check_accept(Some("application/vnd.koreader.v2+json")).unwrap_err()),
            102
        );
    }

    #[test]
    fn report_validation() {
        let ok = json!({"document": "a-b.c", "progress": 12, "percentage": "0.5", "device": 7});
        let r = progress_report(obj(ok)).unwrap();
        assert_eq!(
            (r.progress.as_str(), r.device.as_str(), r.percentage),
            ("12", "7", 0.5)
        );
        assert_eq!(r.device_id, None);

        let bad = |v: Value| code(progress_report(obj(v)).unwrap_err());
        assert_eq!(
            bad(json!({"progress": "p", "percentage": 0.1, "device": "d"})),
            2004
        );
        assert_eq!(
            bad(json!({"document": "a:b", "progress": "p", "percentage": 0.1, "device": "d"})),
            2004
        );
        assert_eq!(
            bad(
                json!({"document": "x".repeat(513), "progress": "p", "percentage": 0.1, "device": "d"})
            ),
            2004
        );
        assert_eq!(
            bad(json!({"document": "d", "progress": "p", "device": "d"})),
            2003
        );
        assert_eq!(
            bad(json!({"document": "d", "progress": "p", "percentage": 1.5, "device": "d"})),
            2003
        );
        assert_eq!(
            bad(json!({"document": "d", "progress": "p", "percentage": "NaN", "device": "d"})),
            2003
        );
        assert_eq!(
            bad(json!({"document": "d", "percentage": 0.1, "device": "d"})),
            2003
        );
        assert_eq!(
            bad(json!({"document": "d", "progress": "p", "percentage": 0.1})),
            2003
        );
        assert_eq!(
            bad(json!({"document": "d", "progress": true, "percentage": 0.1, "device": "d"})),
            2003
        );
        assert_eq!(
            bad(
                json!({"document": "d", "progress": "p", "percentage": 0.1, "device": "d", "device_id": []})
            ),
            2003
        );
    }

    #[test]
    fn percentages_round_to_four_places_and_print_whole_values_plainly() {
        assert_eq!(percentage(Some(&json!(0.123456))).unwrap(), 0.1235);
        assert_eq!(percentage_json(1.0).to_string(), "1");
        assert_eq!(percentage_json(0.0).to_string(), "0");
        assert_eq!(percentage_json(0.5).to_string(), "0.5");
    }

    #[test]
    fn credentials_need_both_headers() {
        assert!(credentials(Some(b"ann"), Some(b"k")).is_ok());
        assert!(credentials(Some(b"ann"), Some(b"")).is_err());
        assert!(credentials(None, Some(b"k")).is_err());
        assert!(credentials(Some(b"a:b"), Some(b"k")).is_err());
        assert!(credentials(Some(b"\xff"), Some(b"k")).is_err());
    }
}
