//! A local stand-in for Hardcover's GraphQL endpoint: it records every request and answers
//! from a script of responses, then as Hardcover does for the `me` query (a known token gets
//! its account, any other a 401).

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

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Scripted>>,
}

pub struct FakeHardcover {
    pub url: String,
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
}

async fn answer(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
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
        HttpResponse::Ok().json(json!({ "data": { "me": [{ "id": 4242, "username": "ada" }] } }))
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
}

impl Drop for FakeHardcover {
    fn drop(&mut self) {
        // Stops accepting; the thread ends with its System.
        drop(self.server.stop(false));
    }
}
