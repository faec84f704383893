//! The admin REST API: setup, keys, credentials, settings, errors, and the OpenAPI document.

use serde_json::{json, Value};

use crate::common::{TestApp, KEY};

#[actix_web::test]
async fn setup_works_once_and_only_while_no_key_exists() {
    let app = TestApp::start();
    let token = app.state.setup_token();
    let r = app
        .api(
            "POST",
            "/api/auth/setup",
            None,
            Some(json!({ "label": "me", "setup_token": token.to_uppercase() })),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["label"], "me");
    assert_eq!(r.body["is_admin"], true);
    assert_eq!(r.body["key"].as_str().unwrap().len(), 64);
    let again = app
        .api(
            "POST",
            "/api/auth/setup",
            None,
            Some(json!({ "setup_token": token })),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"], "conflict");
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 1);
}

/// Whoever reaches a fresh server first does not become its admin: without the token from the
/// server's log nothing is made.
#[actix_web::test]
async fn setup_needs_the_token_from_the_log() {
    let app = TestApp::start();
    let missing = app.api("POST", "/api/auth/setup", None, None).await;
    assert_eq!(missing.status, 400, "{:?}", missing.body);
    assert_eq!(missing.body["field"], "setup_token");
    let no_field = app
        .api(
            "POST",
            "/api/auth/setup",
            None,
            Some(json!({ "label": "me" })),
        )
        .await;
    assert_eq!(no_field.status, 400, "{:?}", no_field.body);
    let token = app.state.setup_token();
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    for guess in [
        String::from_utf8(wrong).unwrap(),
        String::new(),
        token[..10].to_owned(),
    ] {
        let r = app
            .api(
                "POST",
                "/api/auth/setup",
                None,
                Some(json!({ "setup_token": guess })),
            )
            .await;
        assert_eq!(r.status, 403, "{guess}: {:?}", r.body);
        assert_eq!(r.body["error"], "forbidden");
    }
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 0);
}

#[actix_web::test]
async fn concurrent_setups_make_exactly_one_key() {
    let app = TestApp::start();
    let body = json!({ "setup_token": app.state.setup_token() });
    let calls = (0..8).map(|_| app.api("POST", "/api/auth/setup", None, Some(body.clone())));
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 1);
}

#[actix_web::test]
async fn keys_are_listed_by_role_and_never_with_hashes() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (reader_id, reader) = app.reader_key(&admin, "ann").await;
    let all = app.api("GET", "/api/keys", Some(&admin), None).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let text = all.body.to_string();
    assert!(
        !text.contains("key_hash") && !text.contains(&reader),
        "{text}"
    );
    let own = app.api("GET", "/api/keys", Some(&reader), None).await;
    let own = own.body.as_array().unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["id"], reader_id.as_str());
    assert_eq!(own[0]["label"], "ann");
}

#[actix_web::test]
async fn deleting_keys_guards_the_caller_and_the_last_admin() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let keys = app.api("GET", "/api/keys", Some(&admin), None).await;
    let admin_id = keys.body[0]["id"].as_str().unwrap().to_owned();
    let own = app
        .api(
            "DELETE",
            &format!("/api/keys/{admin_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(own.status, 409);
    let second = app
        .api(
            "POST",
            "/api/keys",
            Some(&admin),
            Some(json!({ "label": "b", "is_admin": true })),
        )
        .await;
    assert_eq!(second.status, 201);
    let second_key = second.body["key"].as_str().unwrap().to_owned();
    // The second admin may delete the first; then the second is the last and stays.
    let r = app
        .api(
            "DELETE",
            &format!("/api/keys/{admin_id}"),
            Some(&second_key),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let gone = app.api("GET", "/api/keys", Some(&admin), None).await;
    assert_eq!(gone.status, 401, "a deleted key no longer works");
    let missing = app
        .api(
            "DELETE",
            &format!("/api/keys/{}", uuid::Uuid::new_v4()),
            Some(&second_key),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        app.db.count("SELECT count(*) FROM api_keys WHERE is_admin"),
        1
    );
}

#[actix_web::test]
async fn last_used_is_recorded_without_a_write_per_request() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL"),
        0
    );
    app.api("GET", "/api/keys", Some(&admin), None).await;
    let first = app.db.count("SELECT extract(epoch FROM last_used_at)::bigint * 1000000 + extract(microseconds FROM last_used_at)::bigint FROM api_keys");
    for _ in 0..3 {
        app.api("GET", "/api/keys", Some(&admin), None).await;
    }
    let later = app.db.count("SELECT extract(epoch FROM last_used_at)::bigint * 1000000 + extract(microseconds FROM last_used_at)::bigint FROM api_keys");
    assert!(first > 0);
    assert_eq!(
        first, later,
        "within a minute, last_used_at is written once"
    );
}

/// Every route: no key → 401, a reader on an admin route → 403, a revoked key → 401.
#[actix_web::test]
async fn the_auth_matrix_holds_for_every_route() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (_, reader) = app.reader_key(&admin, "reader").await;
    let (revoked_id, revoked) = app.reader_key(&admin, "gone").await;
    let r = app
        .api(
            "DELETE",
            &format!("/api/keys/{revoked_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let id = uuid::Uuid::new_v4();
    let admin_only = [
        ("POST", "/api/keys".to_owned()),
        ("DELETE", format!("/api/keys/{id}")),
        ("PUT", format!("/api/keys/{id}/credentials/kosync")),
        ("DELETE", format!("/api/keys/{id}/credentials/kosync")),
        ("GET", "/api/settings".to_owned()),
        ("PATCH", "/api/settings".to_owned()),
        ("PATCH", format!("/api/books/{id}")),
        ("POST", format!("/api/books/{id}/approve")),
        ("POST", format!("/api/books/{id}/merge")),
        ("POST", format!("/api/books/{id}/files/{id}/split")),
        ("POST", format!("/api/books/{id}/hardcover/lookup")),
        ("DELETE", format!("/api/books/{id}")),
        ("POST", format!("/api/books/{id}/documents")),
        ("DELETE", format!("/api/books/{id}/documents/abc")),
    ];
    let any_key = [
        ("GET", "/api/keys".to_owned()),
        ("GET", "/api/credentials".to_owned()),
        ("PUT", "/api/credentials/kosync".to_owned()),
        ("DELETE", "/api/credentials/kosync".to_owned()),
        ("PUT", "/api/credentials/hardcover".to_owned()),
        ("GET", "/api/hardcover/status".to_owned()),
        ("POST", "/api/hardcover/sync".to_owned()),
        ("GET", "/api/hardcover/log".to_owned()),
        ("GET", "/api/books".to_owned()),
        ("GET", format!("/api/books/{id}")),
        ("GET", format!("/api/books/{id}/files/{id}")),
        ("HEAD", format!("/api/books/{id}/files/{id}")),
        ("GET", format!("/api/books/{id}/cover")),
        ("GET", format!("/api/books/{id}/cover/thumbnail")),
        ("POST", "/api/uploads".to_owned()),
        ("PATCH", format!("/api/books/{id}/reading-status")),
        ("DELETE", format!("/api/books/{id}/reading-status")),
        ("GET", "/api/reading".to_owned()),
        ("GET", format!("/api/books/{id}/progress")),
        ("DELETE", format!("/api/books/{id}/progress")),
        ("GET", "/api/stats".to_owned()),
        ("GET", "/api/device-passwords".to_owned()),
        ("POST", "/api/device-passwords".to_owned()),
        ("DELETE", format!("/api/device-passwords/{id}")),
        ("GET", "/api/highlights".to_owned()),
        ("GET", "/api/highlights/unlinked".to_owned()),
        ("POST", "/api/highlights/link".to_owned()),
        ("GET", format!("/api/books/{id}/highlights")),
        ("GET", "/api/goals".to_owned()),
        ("PUT", "/api/goals/books_per_year".to_owned()),
        ("DELETE", "/api/goals/books_per_year".to_owned()),
        ("GET", "/api/collections".to_owned()),
        ("POST", "/api/collections".to_owned()),
        ("GET", format!("/api/collections/{id}")),
        ("PATCH", format!("/api/collections/{id}")),
        ("DELETE", format!("/api/collections/{id}")),
        ("PUT", format!("/api/collections/{id}/books/{id}")),
        ("DELETE", format!("/api/collections/{id}/books/{id}")),
        ("PUT", format!("/api/collections/{id}/order")),
        ("POST", format!("/api/collections/{id}/share")),
        ("DELETE", format!("/api/collections/{id}/share")),
    ];
    for (method, path) in admin_only.iter().chain(any_key.iter()) {
        let none = app.api(method, path, None, Some(json!({}))).await;
        assert_eq!(
            none.status, 401,
            "{method} {path} without a key: {:?}",
            none.body
        );
        if *method != "HEAD" {
            assert_eq!(none.body["error"], "unauthorized");
        }
        let bad = app.api(method, path, Some(&revoked), Some(json!({}))).await;
        assert_eq!(bad.status, 401, "{method} {path} with a revoked key");
    }
    for (method, path) in &admin_only {
        let r = app.api(method, path, Some(&reader), Some(json!({}))).await;
        assert_eq!(r.status, 403, "{method} {path} as a reader: {:?}", r.body);
        assert_eq!(r.body["error"], "forbidden");
    }
    // Every route the spec lists is in one of the two lists above, or public.
    let spec = app.api("GET", "/api/openapi.json", None, None).await;
    let public = ["/api/health", "/api/openapi.json", "/api/auth/setup"];
    let listed: Vec<String> = admin_only
        .iter()
        .chain(any_key.iter())
        .map(|(m, p)| format!("{} {}", m.to_lowercase(), template_of(p)))
        .collect();
    for (path, item) in spec.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if public.contains(&path.as_str()) {
                continue;
            }
            assert!(
                listed.contains(&format!("{method} {path}")),
                "{method} {path} is not in the auth matrix"
            );
        }
    }
}

/// `/api/keys/<uuid>/credentials/kosync` → `/api/keys/{id}/credentials/{service}`, by
/// matching against the spec's own parameter names.
fn template_of(path: &str) -> String {
    let spec = libris::api::openapi();
    spec.paths
        .paths
        .keys()
        .find(|t| {
            let (t, p): (Vec<&str>, Vec<&str>) =
                (t.split('/').collect(), path.split('/').collect());
            t.len() == p.len() && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
        })
        .cloned()
        .unwrap_or_else(|| path.to_owned())
}

#[actix_web::test]
async fn credentials_set_list_delete_and_conflict() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (ann_id, ann) = app.reader_key(&admin, "ann").await;
    let (_, bob) = app.reader_key(&admin, "bob").await;
    let r = app
        .api(
            "PUT",
            "/api/credentials/kosync",
            Some(&ann),
            Some(json!({ "username": "ann", "password": "password" })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // KOReader logs in with md5(password) as its key.
    assert_eq!(app.auth("ann", KEY).await.status, 200);
    let taken = app
        .api(
            "PUT",
            "/api/credentials/kosync",
            Some(&bob),
            Some(json!({ "username": "ann", "password": "x" })),
        )
        .await;
    assert_eq!(taken.status, 409);
    let list = app.api("GET", "/api/credentials", Some(&ann), None).await;
    assert_eq!(list.body[0]["service"], "kosync");
    assert_eq!(list.body[0]["username"], "ann");
    assert!(
        !list.body.to_string().contains("password"),
        "{:?}",
        list.body
    );
    // An admin sets another reader's OPDS credential.
    let r = app
        .api(
            "PUT",
            &format!("/api/keys/{ann_id}/credentials/opds"),
            Some(&admin),
            Some(json!({ "username": "ann-opds", "password": "pw" })),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.db.count("SELECT count(*) FROM service_credentials WHERE username = 'ann-opds' AND password_hash LIKE '$2%'"), 1);
    let bad = app
        .api(
            "PUT",
            "/api/credentials/ftp",
            Some(&ann),
            Some(json!({ "username": "a", "password": "b" })),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["field"].clone()),
        (400, json!("service"))
    );
    let bad = app
        .api(
            "PUT",
            "/api/credentials/opds",
            Some(&ann),
            Some(json!({ "username": "a:b", "password": "b" })),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["field"].clone()),
        (400, json!("username"))
    );
    let r = app
        .api("DELETE", "/api/credentials/kosync", Some(&ann), None)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(app.auth("ann", KEY).await.status, 401);
    let r = app
        .api("DELETE", "/api/credentials/kosync", Some(&ann), None)
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn settings_are_typed_and_stored_values_win() {
    let app = TestApp::builder().registration(false).start();
    let admin = app.admin_key().await;
    let r = app.api("GET", "/api/settings", Some(&admin), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["kosync.registration"], false,
        "the environment is the default"
    );
    assert_eq!(r.body["opds.page_size"], 50);
    let create = || app.create_user("newbie", KEY);
    assert_eq!(create().await.status, 402, "registration is off");
    let r = app
        .api(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({ "kosync.registration": true, "opds.page_size": 25 })),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["opds.page_size"], 25);
    assert_eq!(
        create().await.status,
        201,
        "the stored setting wins over the environment"
    );
    for (body, named) in [
        (json!({ "opds.page_size": "ten" }), "opds.page_size"),
        (json!({ "nope": 1 }), "nope"),
        (
            json!({ "reading.finished_threshold": 2 }),
            "reading.finished_threshold",
        ),
    ] {
        let r = app
            .api("PATCH", "/api/settings", Some(&admin), Some(body))
            .await;
        assert_eq!(r.status, 400);
        assert!(
            r.body["message"].as_str().unwrap().contains(named),
            "{:?}",
            r.body
        );
    }
    // A rejected patch changed nothing, not even its valid keys.
    let r = app
        .api(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({ "opds.page_size": 10, "nope": 1 })),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app.api("GET", "/api/settings", Some(&admin), None).await;
    assert_eq!(r.body["opds.page_size"], 25);
}

#[actix_web::test]
async fn bad_requests_get_json_errors() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let r = app
        .call_with(
            "POST",
            "/api/keys",
            None,
            Some("{not json"),
            &[("authorization", &format!("Bearer {admin}"))],
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].clone()),
        (400, json!("invalid_request"))
    );
    let r = app
        .api(
            "POST",
            "/api/keys",
            Some(&admin),
            Some(json!({ "label": "" })),
        )
        .await;
    assert_eq!((r.status, r.body["field"].clone()), (400, json!("label")));
    let r = app
        .api(
            "POST",
            "/api/keys",
            Some(&admin),
            Some(json!({ "labl": "x" })),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"].as_str().unwrap().contains("labl"),
        "{:?}",
        r.body
    );
    let r = app
        .api("GET", "/api/nothing-here", Some(&admin), None)
        .await;
    assert_eq!(
        (r.status, r.body["error"].clone()),
        (404, json!("not_found"))
    );
    let r = app.api("PUT", "/api/keys", Some(&admin), None).await;
    assert_eq!(
        (r.status, r.body["error"].clone()),
        (405, json!("method_not_allowed"))
    );
    let r = app
        .api("GET", "/api/books/not-a-uuid", Some(&admin), None)
        .await;
    assert_eq!(r.status, 404);
    let big = "x".repeat(300 * 1024);
    let r = app
        .api(
            "POST",
            "/api/keys",
            Some(&admin),
            Some(json!({ "label": big })),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(
        app.db.count("SELECT count(*) FROM api_keys"),
        1,
        "nothing was created"
    );
}

/// Every operation in the OpenAPI document is served (no 404 "no route"), and the document
/// is OpenAPI 3 with the bearer scheme.
#[actix_web::test]
async fn the_openapi_document_matches_the_served_routes() {
    let app = TestApp::start();
    let spec = app.api("GET", "/api/openapi.json", None, None).await;
    assert_eq!(spec.status, 200);
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec.body["components"]["securitySchemes"]["bearer"].is_object());
    let paths = spec.body["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{:?}", paths.keys());
    let id = uuid::Uuid::new_v4().to_string();
    for (template, item) in paths {
        let concrete = crate::common::fill_path(template, &id);
        for method in item.as_object().unwrap().keys() {
            if template == "/api/auth/setup" {
                continue; // would create the key the rest of the test does not need
            }
            let r = app.raw(&method.to_uppercase(), &concrete, None, &[]).await;
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            assert!(
                !(r.status == 404 && body["message"] == "no route for this path")
                    && r.status != 405,
                "{method} {template} is documented but not served ({})",
                r.status
            );
        }
    }
    // And a route that is not documented is not served.
    let r = app.raw("GET", "/api/undocumented", None, &[]).await;
    assert_eq!(r.status, 404);
}
