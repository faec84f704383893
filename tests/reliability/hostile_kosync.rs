//! A generated corpus of hostile KoSync requests: wrong types in every field, huge and
//! deeply nested JSON, bytes that are not UTF-8, NUL bytes, overlong and duplicate headers,
//! unicode usernames, SQL and path fragments in every string. Each must get an answer in the
//! protocol's format below 500, and a rejected report must store nothing.

use awc::http::header::{HeaderName, HeaderValue};
use serde_json::{json, Value};

use crate::common::{TestApp, KEY};
use crate::Figures;

/// Strings no field should be afraid of.
fn nasty_strings() -> Vec<String> {
    vec![
        "'; DROP TABLE reading_progress; --".into(),
        "\" OR 1=1 --".into(),
        "../../../../etc/passwd".into(),
        "..\\..\\windows\\win.ini".into(),
        "/etc/shadow".into(),
        "%2e%2e%2f%2e%2e%2f".into(),
        "nul\u{0}byte".into(),
        "\u{202e}txt.exe".into(),
        "📚📖🔖".into(),
        "Ünïcödé ñame".into(),
        "\u{FEFF}bom".into(),
        "x".repeat(5_000),
        "".into(),
        " ".into(),
        "$(reboot)".into(),
        "{{7*7}}".into(),
        "<script>alert(1)</script>".into(),
        "\\u0000".into(),
        "line\nbreak".into(),
        "a:b".into(),
    ]
}

/// Values of every JSON type, and some that are valid JSON but absurd.
fn wrong_values() -> Vec<Value> {
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let mut values = vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e308),
        json!(-1e-308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!("NaN"),
        json!("Infinity"),
        json!("0.5"),
        json!([]),
        json!([1, 2]),
        json!({}),
        json!({ "a": 1 }),
        deep,
    ];
    values.extend(nasty_strings().into_iter().map(Value::String));
    values
}

fn valid_report(document: &str) -> Value {
    json!({
        "document": document,
        "progress": "/body/DocFragment[3]/body/p[2]/text().0",
        "percentage": 0.25,
        "device": "kobo",
        "device_id": "A1B2C3",
    })
}

struct Outcome {
    status: u16,
    body: Vec<u8>,
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: Option<Vec<u8>>,
) -> Outcome {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .finish();
    let mut req = client.request(method, app.server.url(path));
    for (name, value) in headers {
        req = req.append_header((name.clone(), value.clone()));
    }
    let sent = match body {
        Some(b) => {
            req.insert_header(("content-type", "application/json"))
                .send_body(b)
                .await
        }
        None => req.send().await,
    };
    match sent {
        Ok(mut resp) => Outcome {
            status: resp.status().as_u16(),
            body: resp
                .body()
                .limit(1 << 20)
                .await
                .unwrap_or_default()
                .to_vec(),
        },
        // The server closing the connection on a request it will not read (an overlong
        // header block) is an answer too: it is not a 5xx, and nothing is stored.
        Err(_) => Outcome {
            status: 0,
            body: vec![],
        },
    }
}

fn auth(user: &str, key: &str) -> Vec<(HeaderName, HeaderValue)> {
    vec![
        (
            HeaderName::from_static("x-auth-user"),
            HeaderValue::from_str(user).unwrap(),
        ),
        (
            HeaderName::from_static("x-auth-key"),
            HeaderValue::from_str(key).unwrap(),
        ),
        (
            HeaderName::from_static("accept"),
            HeaderValue::from_static("application/vnd.koreader.v1+json"),
        ),
    ]
}

/// A header as sent; bytes HTTP cannot carry at all (NUL, line breaks) become `?`, as a
/// client library would have to send them.
fn header(name: &'static str, value: &[u8]) -> (HeaderName, HeaderValue) {
    let value: Vec<u8> = value
        .iter()
        .map(|b| {
            if *b < 0x20 && *b != b'\t' || *b == 0x7f {
                b'?'
            } else {
                *b
            }
        })
        .collect();
    (
        HeaderName::from_static(name),
        HeaderValue::from_bytes(&value).unwrap(),
    )
}

/// (method, path, headers, body) of every request of the corpus.
type Case = (
    &'static str,
    String,
    Vec<(HeaderName, HeaderValue)>,
    Option<Vec<u8>>,
);

fn corpus() -> Vec<Case> {
    let mut cases: Vec<Case> = vec![];
    let good = || auth("ann", KEY);
    let json_body = |v: &Value| Some(serde_json::to_vec(v).unwrap());
    // Every field of a report, replaced by every wrong value; every field missing.
    for field in ["document", "progress", "percentage", "device", "device_id"] {
        for value in wrong_values() {
            let mut body = valid_report("doc-hostile");
            body[field] = value;
            cases.push(("PUT", "/syncs/progress".into(), good(), json_body(&body)));
        }
        let mut body = valid_report("doc-hostile");
        body.as_object_mut().unwrap().remove(field);
        cases.push(("PUT", "/syncs/progress".into(), good(), json_body(&body)));
    }
    // Two fields wrong at once.
    let fields = ["document", "progress", "percentage", "device", "device_id"];
    for (i, a) in fields.iter().enumerate() {
        for b in &fields[i + 1..] {
            for (va, vb) in wrong_values()
                .into_iter()
                .zip(wrong_values().into_iter().rev())
            {
                let mut body = valid_report("doc-pairs");
                body[*a] = va;
                body[*b] = vb;
                cases.push(("PUT", "/syncs/progress".into(), good(), json_body(&body)));
            }
        }
    }
    // The optional metadata hint, malformed in every way.
    for value in wrong_values() {
        for body in [
            json!({ "metadata": value.clone() }),
            json!({ "metadata": { "title": value.clone(), "authors": value } }),
        ] {
            let mut report = valid_report("doc-metadata");
            report["metadata"] = body["metadata"].clone();
            cases.push(("PUT", "/syncs/progress".into(), good(), json_body(&report)));
        }
    }
    // Extra fields of every kind.
    for (i, value) in wrong_values().into_iter().enumerate() {
        let mut body = valid_report("doc-extra");
        body[format!("extra{i}")] = value;
        cases.push(("PUT", "/syncs/progress".into(), good(), json_body(&body)));
    }
    // Bodies that are not a report at all.
    let mut raw: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"a string\"".to_vec(),
        b"42".to_vec(),
        b"{\"document\": \"d\", \"percentage\": 0.1,}".to_vec(),
        b"{\"document\": \"\xff\xfe\", \"progress\": \"p\", \"percentage\": 0.1, \"device\": \"k\"}"
            .to_vec(),
        b"\x00\x00\x00\x00".to_vec(),
        b"{\"document\": \"d\x00\", \"progress\": \"p\", \"percentage\": 0.1, \"device\": \"k\"}"
            .to_vec(),
        vec![b'['; 100_000],
        format!("{}1{}", "[".repeat(60_000), "]".repeat(60_000)).into_bytes(),
        format!("{}{}", "{\"a\":".repeat(30_000), "}".repeat(30_000)).into_bytes(),
        vec![b'x'; 70 * 1024],
        serde_json::to_vec(&json!({ "document": "d", "progress": "p".repeat(100_000),
            "percentage": 0.1, "device": "k" }))
        .unwrap(),
        b"{\"document\": \"d\", \"document\": \"e\", \"progress\": \"p\", \"percentage\": 0.1, \"device\": \"k\"}".to_vec(),
    ];
    for b in 0u8..=255 {
        raw.push(vec![b'{', b, b'}']);
    }
    for body in raw {
        cases.push(("POST", "/users/create".into(), vec![], Some(body.clone())));
        cases.push(("PUT", "/syncs/progress".into(), good(), Some(body)));
    }
    // Documents in the path of a GET.
    for s in nasty_strings() {
        let encoded: String = s
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        if !encoded.is_empty() {
            cases.push(("GET", format!("/syncs/progress/{encoded}"), good(), None));
        }
    }
    for path in [
        "/syncs/progress/..%2F..%2Fetc%2Fpasswd",
        "/syncs/progress/%00",
        "/syncs/progress/%ff%fe",
        "/syncs/progress/a%2Fb",
        "/syncs/progress/",
        "/syncs/progress",
        "/syncs/progress/x/y",
    ] {
        cases.push(("GET", path.into(), good(), None));
    }
    // Registration bodies.
    for value in wrong_values() {
        for field in ["username", "password"] {
            let mut body = json!({ "username": "newreader", "password": KEY });
            body[field] = value.clone();
            cases.push(("POST", "/users/create".into(), vec![], json_body(&body)));
        }
    }
    // Headers: wrong users and keys (each costs a bcrypt, so a handful of each kind),
    // overlong, duplicated, not UTF-8, missing.
    let accept = header("accept", b"application/vnd.koreader.v1+json");
    for (user, key) in [
        ("ann", "wrong".to_owned()),
        ("ann", String::new()),
        ("nobody", KEY.to_owned()),
        ("' OR '1'='1", KEY.to_owned()),
        ("ann", "' OR '1'='1".to_owned()),
        ("ann\u{0}", KEY.to_owned()),
        ("../ann", KEY.to_owned()),
        ("ÄNN", KEY.to_owned()),
        ("ann", "x".repeat(4_000)),
    ] {
        let headers = vec![
            header("x-auth-user", user.as_bytes()),
            header("x-auth-key", key.as_bytes()),
            accept.clone(),
        ];
        cases.push(("GET", "/users/auth".into(), headers.clone(), None));
        cases.push((
            "PUT",
            "/syncs/progress".into(),
            headers,
            json_body(&valid_report("doc-unauthorized")),
        ));
    }
    for headers in [
        vec![
            header("x-auth-user", &[0xff, 0xfe, b'a']),
            header("x-auth-key", KEY.as_bytes()),
        ],
        vec![
            header("x-auth-user", b"ann"),
            header("x-auth-key", &[0xc3, 0x28]),
        ],
        vec![header("x-auth-user", b"ann")],
        vec![header("x-auth-key", KEY.as_bytes())],
        vec![
            header("x-auth-user", b"ann"),
            header("x-auth-user", b"bob"),
            header("x-auth-key", KEY.as_bytes()),
        ],
        vec![
            header("x-auth-user", b"ann"),
            header("x-auth-key", KEY.as_bytes()),
            header("x-auth-key", b"other"),
        ],
        vec![
            header("x-auth-user", "a".repeat(20_000).as_bytes()),
            header("x-auth-key", KEY.as_bytes()),
        ],
        vec![
            header("x-auth-user", b"ann"),
            header("x-auth-key", KEY.as_bytes()),
            header("x-padding", "p".repeat(100_000).as_bytes()),
        ],
        vec![
            header("x-auth-user", b"ann"),
            header("x-auth-key", KEY.as_bytes()),
            header("accept", b"\xff"),
        ],
        vec![
            header("x-auth-user", b"ann"),
            header("x-auth-key", KEY.as_bytes()),
            header("content-type", b"text/plain"),
        ],
    ] {
        cases.push((
            "PUT",
            "/syncs/progress".into(),
            headers.clone(),
            json_body(&valid_report("doc-headers")),
        ));
        cases.push(("GET", "/users/auth".into(), headers, None));
    }
    cases
}

pub async fn run(figures: &mut Figures) {
    let app = TestApp::start();
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    let mut conn = app.db.conn();
    let stored = |conn: &mut diesel::PgConnection| {
        diesel::RunQueryDsl::get_result::<crate::Count>(
            diesel::sql_query(
                "SELECT (SELECT count(*) FROM reading_progress_history) \
                 + (SELECT count(*) FROM reading_progress) \
                 + (SELECT count(*) FROM service_credentials) AS n",
            ),
            conn,
        )
        .unwrap()
        .n
    };
    let cases = corpus();
    let (mut server_errors, mut stored_when_rejected, mut not_protocol, mut accepted, mut closed) =
        (0, 0, 0, 0, 0);
    let mut failures = vec![];
    for (method, path, headers, body) in &cases {
        let before = stored(&mut conn);
        let out = send(&app, method, path, headers, body.clone()).await;
        let after = stored(&mut conn);
        let what = format!(
            "{method} {path} {} bytes",
            body.as_ref().map_or(0, Vec::len)
        );
        if out.status >= 500 {
            server_errors += 1;
            failures.push(format!("{what}: {}", out.status));
        }
        match out.status {
            0 => closed += 1,
            200 | 201 => accepted += 1,
            _ => {
                if after != before {
                    stored_when_rejected += 1;
                    failures.push(format!("{what}: {} but stored", out.status));
                }
                let body: Option<Value> = serde_json::from_slice(&out.body).ok();
                if !body.is_some_and(|b| b["code"].is_u64() && b["message"].is_string()) {
                    not_protocol += 1;
                    failures.push(format!(
                        "{what}: {} {}",
                        out.status,
                        String::from_utf8_lossy(&out.body)
                            .chars()
                            .take(120)
                            .collect::<String>()
                    ));
                }
            }
        }
    }
    for f in failures.iter().take(20) {
        eprintln!("hostile KoSync: {f}");
    }
    figures.row(
        "hostile KoSync requests sent",
        cases.len() as f64,
        ">= 1000",
        cases.len() >= 1000,
    );
    figures.row(
        "  accepted (valid despite their look)",
        accepted as f64,
        "",
        true,
    );
    figures.row(
        "  refused by closing the connection",
        closed as f64,
        "",
        true,
    );
    figures.row(
        "  answered 5xx",
        server_errors as f64,
        "0",
        server_errors == 0,
    );
    figures.row(
        "  refused but something stored",
        stored_when_rejected as f64,
        "0",
        stored_when_rejected == 0,
    );
    figures.row(
        "  refused outside KoSync's error format",
        not_protocol as f64,
        "0",
        not_protocol == 0,
    );
}
