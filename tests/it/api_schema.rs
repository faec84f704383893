//! The OpenAPI document against what the API really answers: the defects `make
//! schemathesis` found, each kept fixed here. A response is checked against its documented
//! schema by [`conforms`] (the parts of JSON Schema the document uses).

use serde_json::{json, Value};

use crate::common::TestApp;

/// The document as served.
async fn spec(app: &TestApp) -> Value {
    let r = app.api("GET", "/api/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    r.body
}

/// The documented schema of `status` for `method template`; panics when it is not documented.
fn response_schema<'a>(spec: &'a Value, method: &str, template: &str, status: u16) -> &'a Value {
    let op = &spec["paths"][template][method.to_lowercase()];
    assert!(op.is_object(), "{method} {template} is not in the document");
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {template} answers {status}, which its document does not list"
    );
    &response["content"]["application/json"]["schema"]
}

/// Whether `value` fits `schema`: $ref, oneOf/anyOf, type (one or several), required,
/// properties, additionalProperties: false, items, enum, minimum, maximum.
fn conforms(spec: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("unexpected $ref {r}"))?;
        let target = &spec["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("$ref {r} does not resolve"));
        }
        return conforms(spec, target, value);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options
                .iter()
                .filter(|s| conforms(spec, s, value).is_ok())
                .count();
            let ok = if key == "oneOf" { fits == 1 } else { fits >= 1 };
            if !ok {
                return Err(format!("{value} fits {fits} of the {key} {schema}"));
            }
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{value} is not one of {allowed:?}"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !fits {
            return Err(format!("{value} is not of type {types:?}"));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|min| n < min)
            || schema["maximum"].as_f64().is_some_and(|max| n > max)
        {
            return Err(format!("{n} is out of the range of {schema}"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{value} lacks the required {name:?}"));
            }
        }
        for (name, field) in object {
            match schema["properties"].get(name) {
                Some(s) => conforms(spec, s, field).map_err(|e| format!("{name}: {e}"))?,
                None if schema["additionalProperties"] == json!(false) => {
                    return Err(format!("{name:?} is not a documented property"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for v in values {
            conforms(spec, items, v)?;
        }
    }
    Ok(())
}

/// Asserts the response is documented for the operation and fits its schema.
fn assert_documented(spec: &Value, method: &str, template: &str, status: u16, body: &Value) {
    let schema = response_schema(spec, method, template, status);
    if let Err(e) = conforms(spec, schema, body) {
        panic!("{method} {template} {status}: {e}");
    }
}

/// Every operation that takes a key lists 401 (with the API's error body) and answers it
/// without one. Most annotations left it out.
#[actix_web::test]
async fn every_operation_with_a_key_documents_its_401() {
    let app = TestApp::start();
    let spec = spec(&app).await;
    let id = uuid::Uuid::new_v4().to_string();
    let mut secured = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["security"].as_array().is_none_or(|s| s.is_empty()) {
                continue;
            }
            secured += 1;
            let path = crate::common::fill_path(template, &id);
            let r = app
                .api(&method.to_uppercase(), &path, None, Some(json!({})))
                .await;
            assert_eq!(r.status, 401, "{method} {path}");
            if method != "head" {
                assert_documented(&spec, method, template, 401, &r.body);
            } else {
                response_schema(&spec, method, template, 401);
            }
        }
    }
    assert!(secured >= 30, "{secured}");
}

/// An unknown service in DELETE …/credentials/{service} is a 400 naming the field, as
/// documented now (it was not).
#[actix_web::test]
async fn an_unknown_credential_service_is_a_documented_400() {
    let app = TestApp::start();
    let spec = spec(&app).await;
    let admin = app.admin_key().await;
    let (reader_id, _) = app.reader_key(&admin, "ann").await;
    for (path, template) in [
        (
            "/api/credentials/nope".to_owned(),
            "/api/credentials/{service}",
        ),
        (
            format!("/api/keys/{reader_id}/credentials/nope"),
            "/api/keys/{id}/credentials/{service}",
        ),
    ] {
        let r = app.api("DELETE", &path, Some(&admin), None).await;
        assert_eq!((r.status, r.body["field"].clone()), (400, json!("service")));
        assert_documented(&spec, "DELETE", template, 400, &r.body);
    }
}

/// A reader deleting a key is 403, now documented.
#[actix_web::test]
async fn a_reader_deleting_a_key_gets_a_documented_403() {
    let app = TestApp::start();
    let spec = spec(&app).await;
    let admin = app.admin_key().await;
    let (reader_id, reader) = app.reader_key(&admin, "ann").await;
    let r = app
        .api(
            "DELETE",
            &format!("/api/keys/{reader_id}"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    assert_documented(&spec, "DELETE", "/api/keys/{id}", 403, &r.body);
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 2);
}

/// Every $ref in the document resolves: GET /api/books's `sort` pointed at a `Sort`
/// schema the components did not hold, so clients could not know its values.
#[actix_web::test]
async fn every_reference_in_the_document_resolves() {
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let app = TestApp::start();
    let spec = spec(&app).await;
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
        assert!(
            spec["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
    let sort = spec["paths"]["/api/books"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sort")
        .unwrap();
    let values = serde_json::to_string(&sort["schema"]).unwrap();
    for v in ["title", "author", "added", "published"] {
        assert!(values.contains(v), "{values}");
    }
}

/// A refused upload answers either each file's fate or the API's error; the document said
/// only the first for 400 and 415.
#[actix_web::test]
async fn refused_uploads_match_the_document() {
    let app = TestApp::start();
    let spec = spec(&app).await;
    let admin = app.admin_key().await;
    let empty = app.upload(&admin, &[]).await;
    assert_eq!(
        (empty.status, empty.body["field"].clone()),
        (400, json!("file"))
    );
    assert_documented(&spec, "POST", "/api/uploads", 400, &empty.body);
    let unsupported = app
        .upload(&admin, &[("x.bin", b"MZ\x90\x00 a windows program")])
        .await;
    assert_eq!(unsupported.status, 415, "{:?}", unsupported.body);
    assert!(unsupported.body["files"].is_array());
    assert_documented(&spec, "POST", "/api/uploads", 415, &unsupported.body);
    let not_multipart = app
        .api("POST", "/api/uploads", Some(&admin), Some(json!({})))
        .await;
    assert_eq!(not_multipart.status, 415);
    assert_documented(&spec, "POST", "/api/uploads", 415, &not_multipart.body);
    assert_eq!(app.db.count("SELECT count(*) FROM books"), 0);
}

/// A 405 says which methods the path has (RFC 9110 requires `Allow`), also where two
/// templates meet (/api/credentials/hardcover).
#[actix_web::test]
async fn method_not_allowed_names_the_allowed_methods() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let id = uuid::Uuid::new_v4();
    for (method, path, allow) in [
        ("TRACE", "/api/keys".to_owned(), "GET, POST"),
        ("PUT", "/api/keys".to_owned(), "GET, POST"),
        (
            "PATCH",
            "/api/credentials/hardcover".to_owned(),
            "PUT, DELETE",
        ),
        ("POST", format!("/api/books/{id}/files/{id}"), "GET, HEAD"),
        ("DELETE", "/api/openapi.json".to_owned(), "GET"),
    ] {
        let r = app.raw(method, &path, Some(&admin), &[]).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), allow, "{method} {path}");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["error"], "method_not_allowed");
    }
    let r = app.raw("GET", "/api/nothing-here", Some(&admin), &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("allow"), "");
}

/// The document lets the optional body of approve be JSON `null`; the server answered 400 to
/// it. `null` is now the same as no body. Setup's body is required (it carries the token).
#[actix_web::test]
async fn a_null_optional_body_is_no_body() {
    let app = TestApp::start();
    let spec = spec(&app).await;
    let body = &spec["paths"]["/api/books/{id}/approve"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert!(conforms(&spec, body, &Value::Null).is_ok(), "{body}");
    let setup = &spec["paths"]["/api/auth/setup"]["post"]["requestBody"];
    assert_eq!(setup["required"], true, "{setup}");
    let null_setup = app
        .call_with("POST", "/api/auth/setup", None, Some("null"), &[])
        .await;
    assert_eq!(null_setup.status, 400, "{:?}", null_setup.body);
    let admin = app.admin_key().await;
    let auth = format!("Bearer {admin}");
    let approve = app
        .call_with(
            "POST",
            &format!("/api/books/{}/approve", uuid::Uuid::new_v4()),
            None,
            Some("null"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(approve.status, 404, "{:?}", approve.body);
    // Not a way around validation: other bodies are still checked.
    let wrong = app
        .call_with(
            "POST",
            &format!("/api/books/{}/approve", uuid::Uuid::new_v4()),
            None,
            Some("42"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(wrong.status, 400);
}

/// Paging bounds are in the document, and the server holds to exactly them.
#[actix_web::test]
async fn paging_bounds_are_documented_as_enforced() {
    let app = TestApp::start();
    let spec = spec(&app).await;
    let admin = app.admin_key().await;
    for (template, path, max) in [
        ("/api/books", "/api/books".to_owned(), 200),
        ("/api/reading", "/api/reading".to_owned(), 200),
        ("/api/hardcover/log", "/api/hardcover/log".to_owned(), 1000),
    ] {
        let limit = spec["paths"][template]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(limit["schema"]["minimum"], 1, "{template}");
        assert_eq!(limit["schema"]["maximum"], max, "{template}");
        for (value, status) in [(0, 400), (1, 200), (max, 200), (max + 1, 400)] {
            let r = app
                .api("GET", &format!("{path}?limit={value}"), Some(&admin), None)
                .await;
            assert_eq!(r.status, status, "{path}?limit={value}: {:?}", r.body);
            assert_documented(&spec, "GET", template, status, &r.body);
        }
    }
}
