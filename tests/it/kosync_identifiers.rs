//! The KoSync identifiers extension through HTTP, rule by rule of pid1/kosync-conformance
//! SPEC.md §5.8 (and its verifier's checks): requests without identifiers unchanged, `match`
//! and `progress_match`, the walk in the caller's order, aliases per account that never shadow
//! a document and are never repointed, registration below the match only, validation (403
//! code 2003), weak entries.

use serde_json::{json, Value};

use crate::common::{Resp, TestApp, KEY};

const XP: &str = "/body/DocFragment[11]/body/div/p[7]/text().123";

fn ids(list: &[(&str, &str)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(t, v)| json!({ "type": t, "value": v }))
            .collect(),
    )
}

async fn push(
    app: &TestApp,
    user: &str,
    doc: &str,
    list: Option<Value>,
    progress: &str,
    pct: f64,
) -> Resp {
    let mut body = json!({ "document": doc, "progress": progress, "percentage": pct,
        "device": "kosync-conformance", "device_id": "conformance-device-1" });
    if let Some(list) = list {
        body["identifiers"] = list;
    }
    app.put_progress(user, KEY, body).await
}

async fn pull(app: &TestApp, user: &str, doc: &str, ids: &str) -> Resp {
    let path = if ids.is_empty() {
        doc.to_owned()
    } else {
        format!("{doc}?ids={ids}")
    };
    app.get_progress(user, KEY, &path).await
}

fn keys(r: &Resp) -> Vec<String> {
    let mut k: Vec<String> = r.body.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn rejected(r: &Resp) -> bool {
    r.status == 403 && r.body["code"] == 2003 && r.body["message"] == "Invalid request"
}

async fn app_with_reader() -> TestApp {
    let app = TestApp::start();
    assert_eq!(app.create_user("reader", KEY).await.status, 201);
    app
}

#[actix_web::test]
async fn pushes_and_pulls_resolve_through_identifiers_as_the_spec_says() {
    let app = app_with_reader().await;
    // [K-ID-1] No identifiers: exactly today's answers.
    let plain = push(&app, "reader", "P1", None, XP, 0.1).await;
    assert_eq!(
        (plain.status, keys(&plain)),
        (200, vec!["document".into(), "timestamp".into()])
    );

    // [K-ID-2, 3] A push naming identifiers: document, match, timestamp.
    let original = ids(&[("content", "C1"), ("structure", "S1"), ("metadata", "M")]);
    let r = push(&app, "reader", "C1", Some(original.clone()), XP, 0.32).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(keys(&r), ["document", "match", "timestamp"]);
    assert_eq!(
        (r.body["document"].as_str(), r.body["match"].as_str()),
        (Some("C1"), Some("content"))
    );
    assert!(r.body["timestamp"].is_i64());

    // [K-ID-3b] The same list read back.
    let r = pull(&app, "reader", "C1", "content:C1,structure:S1,metadata:M").await;
    assert_eq!(r.body["document"], "C1");
    assert_eq!(
        (r.body["match"].as_str(), r.body["progress_match"].as_str()),
        (Some("content"), Some("content"))
    );
    assert_eq!(r.body["progress"], XP);
    assert_eq!(r.body["device_id"], "conformance-device-1");

    // [K-ID-4] A recompressed copy shares the structure: found, with the canonical digest.
    let r = pull(&app, "reader", "C2", "content:C2,structure:S1,metadata:M").await;
    assert_eq!(
        (r.body["document"].as_str(), r.body["match"].as_str()),
        (Some("C1"), Some("structure"))
    );
    assert_eq!(r.body["percentage"], 0.32);

    // [K-ID-5] The caller's order decides which identifier matched.
    let r = pull(&app, "reader", "M", "metadata:M,structure:S1,content:C1").await;
    assert_eq!(
        (r.body["document"].as_str(), r.body["match"].as_str()),
        (Some("C1"), Some("metadata"))
    );

    // [K-ID-6] Another edition sharing only the metadata writes into C1's record (it matched
    // on metadata); C1's own pull then trusts the position only as far as the metadata.
    let edition = ids(&[("content", "C3"), ("structure", "S3"), ("metadata", "M")]);
    let r = push(
        &app,
        "reader",
        "C3",
        Some(edition),
        "/body/DocFragment[3]/body/p[9]",
        0.5,
    )
    .await;
    assert_eq!(
        (r.body["document"].as_str(), r.body["match"].as_str()),
        (Some("C1"), Some("metadata"))
    );
    let r = pull(&app, "reader", "C1", "content:C1,structure:S1,metadata:M").await;
    assert_eq!(
        (r.body["match"].as_str(), r.body["progress_match"].as_str()),
        (Some("content"), Some("metadata"))
    );
    assert_eq!(r.body["percentage"], 0.5);
    // [K-ID-12b] Matched on its weakest: C3 and S3 (ranked above) are not registered.
    assert_eq!(
        pull(&app, "reader", "S3", "structure:S3").await.body,
        json!({})
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_aliases WHERE alias IN ('C3', 'S3')"),
        0
    );

    // [K-ID-1b] A plain pull follows no alias: S1 is only an alias.
    let r = pull(&app, "reader", "C1", "").await;
    assert!(r.body.get("match").is_none() && r.body.get("progress_match").is_none());
    assert_eq!(r.body["document"], "C1");
    assert_eq!(pull(&app, "reader", "S1", "").await.body, json!({}));

    // [K-ID-6b] Caller and writer share nothing: "none".
    push(
        &app,
        "reader",
        "D1",
        Some(ids(&[
            ("content", "D1"),
            ("structure", "DS"),
            ("metadata", "DM"),
        ])),
        XP,
        0.2,
    )
    .await;
    push(
        &app,
        "reader",
        "D2",
        Some(ids(&[("content", "D2"), ("structure", "DS")])),
        XP,
        0.3,
    )
    .await;
    let r = pull(&app, "reader", "DM", "metadata:DM").await;
    assert_eq!(
        (
            r.body["document"].as_str(),
            r.body["match"].as_str(),
            r.body["progress_match"].as_str()
        ),
        (Some("D1"), Some("metadata"), Some("none"))
    );

    // [K-ID-6c] A position written without identifiers counts as the record's own.
    push(
        &app,
        "reader",
        "E1",
        Some(ids(&[("content", "E1"), ("structure", "ES")])),
        XP,
        0.2,
    )
    .await;
    push(&app, "reader", "E1", None, "/body/p[7]", 0.25).await;
    let r = pull(&app, "reader", "E1", "content:E1,structure:ES").await;
    assert_eq!(r.body["progress"], "/body/p[7]");
    assert_eq!(
        (r.body["match"].as_str(), r.body["progress_match"].as_str()),
        (Some("content"), Some("content"))
    );

    // [K-ID-7] An alias never shadows a document that exists in its own right.
    push(
        &app,
        "reader",
        "F1",
        Some(ids(&[("content", "F1"), ("structure", "FS")])),
        XP,
        0.4,
    )
    .await;
    push(
        &app,
        "reader",
        "F2",
        Some(ids(&[("content", "F2")])),
        XP,
        0.1,
    )
    .await;
    let r = push(
        &app,
        "reader",
        "F2",
        Some(ids(&[("content", "F2"), ("structure", "FS")])),
        "/body/p[3]",
        0.15,
    )
    .await;
    assert_eq!(r.body["document"], "F2");
    assert_eq!(
        pull(&app, "reader", "F2", "").await.body["progress"],
        "/body/p[3]"
    );
    assert_eq!(pull(&app, "reader", "F1", "").await.body["progress"], XP);

    // [K-ID-8b] The document need not be first: a create is the document's, matched as it.
    let r = push(
        &app,
        "reader",
        "W1",
        Some(ids(&[
            ("content", "WC"),
            ("structure", "WS"),
            ("filename", "W1"),
        ])),
        XP,
        0.6,
    )
    .await;
    assert_eq!(
        (r.body["document"].as_str(), r.body["match"].as_str()),
        (Some("W1"), Some("filename"))
    );
    assert_eq!(pull(&app, "reader", "W1", "").await.body["percentage"], 0.6);
    let r = pull(&app, "reader", "WC", "content:WC,structure:WS,filename:W1").await;
    assert_eq!(
        (r.body["document"].as_str(), r.body["match"].as_str()),
        (Some("W1"), Some("content"))
    );

    // [K-ID-11] Nothing found: 200 and an empty object.
    let r = pull(&app, "reader", "UNSEEN", "content:UNSEEN,structure:NOPE").await;
    assert_eq!((r.status, r.body.clone()), (200, json!({})));
}

#[actix_web::test]
async fn weak_identifiers_never_merge_books_and_aliases_are_not_repointed() {
    let app = app_with_reader().await;
    // [K-ID-12b] Two books sharing only a weak identifier offered strongest-first.
    push(
        &app,
        "reader",
        "B1",
        Some(ids(&[("content", "B1"), ("weak", "SHARED")])),
        XP,
        0.8,
    )
    .await;
    let merged = push(
        &app,
        "reader",
        "B2",
        Some(ids(&[("content", "B2"), ("weak", "SHARED")])),
        XP,
        0.05,
    )
    .await;
    assert_eq!(
        (
            merged.body["document"].as_str(),
            merged.body["match"].as_str()
        ),
        (Some("B1"), Some("weak"))
    );
    // Corrected, B2 is its own record: the wrong guess left nothing behind.
    let fixed = push(
        &app,
        "reader",
        "B2",
        Some(ids(&[("content", "B2"), ("weak", "OTHER")])),
        XP,
        0.05,
    )
    .await;
    assert_eq!(
        (
            fixed.body["document"].as_str(),
            fixed.body["match"].as_str()
        ),
        (Some("B2"), Some("content"))
    );
    assert_eq!(
        pull(&app, "reader", "B2", "").await.body["percentage"],
        0.05
    );

    // [K-ID-16, 17, 17b] An entry marked weak does not find the record on a push…
    let weak = |doc: &str| json!([{ "type": "content", "value": doc }, { "type": "metadata", "value": "KSHARED", "weak": true }]);
    let k1 = push(&app, "reader", "K1", Some(weak("K1")), XP, 0.8).await;
    assert_eq!(
        (k1.body["document"].as_str(), k1.body["match"].as_str()),
        (Some("K1"), Some("content"))
    );
    let k2 = push(&app, "reader", "K2", Some(weak("K2")), "/body/p[1]", 0.1).await;
    assert_eq!(k2.body["document"], "K2");
    assert_eq!(pull(&app, "reader", "K1", "").await.body["percentage"], 0.8);
    // …but a pull finds it through the alias the first push registered.
    let k3 = pull(&app, "reader", "K3", "content:K3,metadata:KSHARED").await;
    assert_eq!(
        (k3.body["document"].as_str(), k3.body["progress"].as_str()),
        (Some("K1"), Some(XP))
    );
    assert_eq!(k3.body["progress_match"], "metadata");

    // [K-ID-10] Another account's aliases never resolve.
    assert_eq!(app.create_user("other", KEY).await.status, 201);
    let r = pull(&app, "other", "K3", "content:K3,metadata:KSHARED").await;
    assert_eq!((r.status, r.body.clone()), (200, json!({})));
    // [K-ID-13] Deleting the account takes its aliases with it.
    let before = app.db.count("SELECT count(*) FROM reading_aliases");
    assert!(before > 0);
    let deleted = app
        .call("DELETE", "/users/me", Some(("reader", KEY)), None)
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aliases"), 0);
}

#[actix_web::test]
async fn invalid_lists_are_refused_with_2003_and_write_nothing() {
    let app = app_with_reader().await;
    let nine: Vec<(String, String)> = std::iter::once(("content".to_owned(), "G1".to_owned()))
        .chain((1..9).map(|i| (format!("t{i}"), format!("v{i}"))))
        .collect();
    let as_ids = |n: usize| {
        Value::Array(
            nine[..n]
                .iter()
                .map(|(t, v)| json!({ "type": t, "value": v }))
                .collect(),
        )
    };
    let bad_pushes = [
        ids(&[("structure", "GS"), ("metadata", "GM")]), // [K-ID-8] none is the document
        as_ids(9),                                       // [K-ID-9]
        ids(&[("content", "G1"), ("content", "G2")]),    // [K-ID-9c]
        json!([]),
        json!("content:G1"),
        json!([{ "type": "Content", "value": "G1" }]),
        json!([{ "type": "content", "value": "G1" }, { "type": "structure", "value": "bad value" }]),
    ];
    for bad in bad_pushes {
        let r = push(&app, "reader", "G1", Some(bad.clone()), XP, 0.5).await;
        assert!(rejected(&r), "{bad}: {} {:?}", r.status, r.body);
    }
    // [K-ID-9d] Exactly eight is accepted.
    assert_eq!(
        push(&app, "reader", "G1", Some(as_ids(8)), XP, 0.5)
            .await
            .status,
        200
    );
    let many: Vec<String> = nine.iter().map(|(t, v)| format!("{t}:{v}")).collect();
    for bad in [
        "structure:GS".to_owned(),          // [K-ID-8] on a read
        many.join(","),                     // [K-ID-9]
        "G1".to_owned(),                    // [K-ID-9b] a bare value
        String::new(),                      // [K-ID-9b] empty
        "content:G1,content:G2".to_owned(), // [K-ID-9c]
    ] {
        let r = app
            .get_progress("reader", KEY, &format!("G1?ids={bad}"))
            .await;
        assert!(rejected(&r), "{bad:?}: {} {:?}", r.status, r.body);
    }
    // Field errors only for an authenticated reader.
    let body = json!({ "document": "G1", "progress": XP, "percentage": 0.5, "device": "d",
        "identifiers": [] });
    let r = app.put_progress("reader", "wrong", body).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        app.get_progress("reader", "wrong", "G1?ids=content:G1")
            .await
            .status,
        401
    );
    // Nothing of the refused pushes was written: one position, from the accepted eight.
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM reading_progress_history"),
        1
    );
    assert_eq!(app.db.count("SELECT count(*) FROM reading_aliases"), 7);
}
