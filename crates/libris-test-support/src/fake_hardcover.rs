//! A local stand-in for Hardcover's GraphQL endpoint: it records every request and answers
//! from a script of responses, then as Hardcover does (a known token gets answers, any other
//! a 401): `me`, book search, editions by ISBN, the reader's shelf (user_books and their
//! reads) and the mutations that change it, kept in memory. It also serves one image at
//! `/cover.jpg`, as Hardcover's asset host would.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

pub const GOOD_TOKEN: &str = "hc-token-8b1f9c2e.good";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: String,
    pub body: Value,
}

/// (status, headers, body) answered by the next request.
pub type Scripted = (u16, Vec<(&'static str, String)>, Value);

/// What the fake Hardcover knows.
#[derive(Default)]
pub struct Data {
    /// Search hits (`results.hits`), answered to every search.
    pub hits: Vec<Value>,
    /// Editions: {id, book_id, pages, isbn_10, isbn_13, publisher: {name}}.
    pub editions: Vec<Value>,
    /// The reader's shelf: {id, book_id, status_id, edition_id, edition, user_book_reads}.
    pub user_books: Vec<Value>,
    /// (media type, bytes) served at /cover.jpg.
    pub image: Option<(String, Vec<u8>)>,
    /// A Hardcover book id whose insert_user_book is refused with an error.
    pub refuse_book: Option<i64>,
    next_id: i64,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Scripted>>,
    data: Mutex<Data>,
}

fn id_list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Answers a GraphQL request as Hardcover would, from `data`.
fn graphql(data: &mut Data, body: &Value) -> Value {
    let query = body["query"].as_str().unwrap_or_default();
    let vars = &body["variables"];
    data.next_id = data.next_id.max(9000);
    if query.contains("search(") {
        return json!({ "data": { "search": { "results": {
            "found": data.hits.len(), "hits": data.hits } } } });
    }
    if query.contains("editions(") {
        let isbns = id_list(&vars["isbns"]);
        let found: Vec<Value> = data
            .editions
            .iter()
            .filter(|e| isbns.contains(&e["isbn_13"]) || isbns.contains(&e["isbn_10"]))
            .cloned()
            .collect();
        return json!({ "data": { "editions": found } });
    }
    if query.contains("insert_user_book(") {
        if data
            .refuse_book
            .is_some_and(|b| vars["object"]["book_id"] == b)
        {
            return json!({ "data": { "insert_user_book": { "id": null,
                "error": "This book is private" } } });
        }
        data.next_id += 1;
        let mut ub = vars["object"].clone();
        ub["id"] = json!(data.next_id);
        ub["user_book_reads"] = json!([]);
        data.user_books.push(ub);
        return json!({ "data": { "insert_user_book": { "id": data.next_id, "error": null } } });
    }
    if query.contains("update_user_book(") {
        let id = vars["id"].clone();
        return match data.user_books.iter_mut().find(|u| u["id"] == id) {
            Some(ub) => {
                ub["status_id"] = vars["object"]["status_id"].clone();
                json!({ "data": { "update_user_book": { "id": id, "error": null } } })
            }
            None => json!({ "data": { "update_user_book": { "id": null, "error": "not found" } } }),
        };
    }
    if query.contains("insert_user_book_read(") {
        data.next_id += 1;
        let id = data.next_id;
        let target = vars["user_book_id"].clone();
        let Some(ub) = data.user_books.iter_mut().find(|u| u["id"] == target) else {
            return json!({ "data": { "insert_user_book_read": { "id": null, "error": "no such user book" } } });
        };
        let mut read = vars["read"].clone();
        read["id"] = json!(id);
        ub["user_book_reads"].as_array_mut().unwrap().push(read);
        return json!({ "data": { "insert_user_book_read": { "id": id, "error": null } } });
    }
    if query.contains("update_user_book_read(") {
        let id = vars["id"].clone();
        for ub in &mut data.user_books {
            if let Some(read) = ub["user_book_reads"]
                .as_array_mut()
                .and_then(|r| r.iter_mut().find(|r| r["id"] == id))
            {
                for (k, v) in vars["read"].as_object().unwrap() {
                    read[k] = v.clone();
                }
                return json!({ "data": { "update_user_book_read": { "id": id, "error": null } } });
            }
        }
        return json!({ "data": { "update_user_book_read": { "id": null, "error": "not found" } } });
    }
    if query.contains("user_books(") {
        let ids = id_list(&vars["ids"]);
        let mine: Vec<Value> = data
            .user_books
            .iter()
            .filter(|u| ids.contains(&u["book_id"]))
            .cloned()
            .collect();
        return json!({ "data": { "me": [{ "user_books": mine }] } });
    }
    json!({ "data": { "me": [{ "id": 4242, "username": "ada" }] } })
}

pub struct FakeHardcover {
    pub url: String,
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
}

async fn answer(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    if req.method() == actix_web::http::Method::GET {
        shared.requests.lock().unwrap().push(Recorded {
            authorization: String::new(),
            body: Value::Null,
        });
        return match shared.data.lock().unwrap().image.clone() {
            Some((media_type, bytes)) if req.path() == "/cover.jpg" => {
                HttpResponse::Ok().content_type(media_type).body(bytes)
            }
            _ => HttpResponse::NotFound().finish(),
        };
    }
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.requests.lock().unwrap().push(Recorded {
        authorization: authorization.clone(),
        body,
    });
    if let Some((status, headers, body)) = shared.script.lock().unwrap().pop_front() {
        let mut resp = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
        for (name, value) in headers {
            resp.insert_header((name, value));
        }
        return resp.json(body);
    }
    if authorization == format!("Bearer {GOOD_TOKEN}") {
        let recorded = shared.requests.lock().unwrap().last().unwrap().body.clone();
        HttpResponse::Ok().json(graphql(&mut shared.data.lock().unwrap(), &recorded))
    } else {
        HttpResponse::Unauthorized().json(json!({ "error": "Unable to verify token" }))
    }
}

impl FakeHardcover {
    pub fn start() -> FakeHardcover {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/graphql", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(shared.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(answer))
                })
                .workers(1)
                .listen(listener)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                server.await
            })
        });
        FakeHardcover {
            url,
            shared,
            server: rx.recv().unwrap(),
        }
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, answers: Vec<Scripted>) {
        self.shared.script.lock().unwrap().extend(answers);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The mutations received, as (operation, variables).
    pub fn mutations(&self) -> Vec<(String, Value)> {
        self.requests()
            .into_iter()
            .filter_map(|r| {
                let q = r.body["query"].as_str()?.to_owned();
                let op = q.strip_prefix("mutation")?;
                let name = op
                    .split(['{', '('])
                    .nth(2)
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default();
                Some((name, r.body["variables"].clone()))
            })
            .collect()
    }

    /// Changes what the fake Hardcover knows.
    pub fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        f(&mut self.shared.data.lock().unwrap())
    }

    /// Where the image is served.
    pub fn image_url(&self) -> String {
        self.url.replace("/v1/graphql", "/cover.jpg")
    }
}

impl Drop for FakeHardcover {
    fn drop(&mut self) {
        // Stops accepting; the thread ends with its System.
        drop(self.server.stop(false));
    }
}
