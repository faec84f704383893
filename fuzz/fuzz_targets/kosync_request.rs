//! KoSync request parsing: the JSON body of `/users/create`, `/users/auth` and
//! `PUT /syncs/progress`, and the `x-auth-user` / `x-auth-key` / `Accept` headers.
//! Besides not panicking, what was accepted must satisfy the limits the database relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libris::kosync::request::{self, MAX_DEVICE, MAX_KEY, MAX_PROGRESS};
use serde_json::Value;

fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = request::parse_body(data) {
        assert!(!body.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)));
        if let Ok((user, password)) = request::new_user(&body) {
            assert!(!user.is_empty() && !user.contains(':'));
            assert!(!password.is_empty() && password.len() <= MAX_KEY);
        }
        let _ = request::password(&body);
        for value in body.values() {
            if let Ok(p) = request::percentage(Some(value)) {
                assert!((0.0..=1.0).contains(&p), "{p}");
                let _ = request::percentage_json(p);
            }
            let _ = request::book_metadata(Some(value));
        }
        if let Ok(report) = request::progress_report(body) {
            assert!(request::valid_document(&report.document));
            assert!((0.0..=1.0).contains(&report.percentage));
            assert!(report.progress.chars().count() <= MAX_PROGRESS);
            assert!(report.device.chars().count() <= MAX_DEVICE);
            assert!(report
                .device_id
                .as_ref()
                .is_none_or(|d| d.chars().count() <= MAX_DEVICE));
            for text in [&report.title, &report.authors].into_iter().flatten() {
                assert!(!text.is_empty() && text.len() <= 2048);
            }
            let _ = request::percentage_json(report.percentage);
        }
    }

    // Headers: x-auth-user, a newline, x-auth-key.
    let (user, key) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    if let Ok((u, k)) = request::credentials(Some(user), Some(key)) {
        assert_eq!(u.as_bytes(), user);
        assert_eq!(k.as_bytes(), key);
        assert!(!k.is_empty() && k.len() <= MAX_KEY);
    }
    assert!(request::credentials(Some(user), None).is_err());
    assert!(request::credentials(None, Some(key)).is_err());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = request::check_accept(Some(text));
        let _ = request::valid_document(text);
    }
});
