//! A browser without a browser, for the web app's HTTP-level tests: keeps cookies, reads each
//! page's CSRF token, posts forms, and never follows redirects (tests look at them).

use std::collections::BTreeMap;

use crate::TestApp;

/// One answer: status, headers, and the body as text.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub html: String,
}

impl Page {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    }

    /// Where a redirect points.
    pub fn location(&self) -> String {
        self.header("location")
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> Option<String> {
        let at = self.html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
        let end = self.html[at..].find('"')?;
        Some(self.html[at..at + end].to_owned())
    }

    pub fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

pub struct WebClient<'a> {
    pub app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    /// The CSRF token of the last page that had one.
    pub csrf: Option<String>,
    client: awc::Client,
}

fn form_body(fields: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (k, v) in fields {
        if !s.is_empty() {
            s.push('&');
        }
        s.push_str(&percent(k));
        s.push('=');
        s.push_str(&percent(v));
    }
    s
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl<'a> WebClient<'a> {
    pub fn new(app: &'a TestApp) -> WebClient<'a> {
        WebClient {
            app,
            cookies: BTreeMap::new(),
            csrf: None,
            client: awc::Client::builder().disable_redirects().finish(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.into(), value.into());
    }

    pub fn forget_cookies(&mut self) {
        self.cookies.clear();
        self.csrf = None;
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<(String, Vec<u8>)>) -> Page {
        self.send_with(method, path, body, &[]).await
    }

    pub async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(String, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Page {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, self.app.server.url(path))
            .insert_header(("accept", "text/html,application/xhtml+xml"));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.insert_header(("cookie", jar.join("; ")));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut resp = match body {
            Some((ctype, bytes)) => req
                .insert_header(("content-type", ctype))
                .send_body(bytes)
                .await
                .expect("the request reaches the server"),
            None => req.send().await.expect("the request reaches the server"),
        };
        for value in resp.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let removed = text.to_ascii_lowercase().contains("max-age=0") || v.is_empty();
            if removed {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let body = resp.body().limit(16 << 20).await.unwrap().to_vec();
        let page = Page {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            html: String::from_utf8_lossy(&body).into_owned(),
        };
        if let Some(t) = page.csrf() {
            self.csrf = Some(t);
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    /// Posts a form with the CSRF token of the last page seen (get one first).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self
            .csrf
            .clone()
            .expect("a page with a form was read first");
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_body(fields).into_bytes();
        self.send(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded".into(), body)),
        )
        .await
    }

    /// Posts files (and fields first) as multipart/form-data, the CSRF token first.
    pub async fn post_files(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> Page {
        let boundary = "libris-web-test-boundary";
        let mut body = Vec::new();
        let token = self.csrf.clone().unwrap_or_default();
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        for (k, v) in all {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            "POST",
            path,
            Some((format!("multipart/form-data; boundary={boundary}"), body)),
        )
        .await
    }

    /// Sets libris up through the web (the first admin, signed in).
    pub async fn setup(&mut self, username: &str, password: &str) -> Page {
        self.get("/setup").await;
        let token = self.app.state.setup_token();
        let page = self
            .post(
                "/setup",
                &[
                    ("setup_token", &token),
                    ("username", username),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.html);
        page
    }

    pub async fn signin(&mut self, username: &str, password: &str) -> Page {
        self.get("/signin").await;
        self.post("/signin", &[("username", username), ("password", password)])
            .await
    }
}

impl TestApp {
    /// A browser signed in as the first admin ("admin", "correct horse").
    pub async fn web_admin(&self) -> WebClient<'_> {
        let mut w = WebClient::new(self);
        w.setup("admin", "correct horse").await;
        w.get("/").await;
        w
    }
}
