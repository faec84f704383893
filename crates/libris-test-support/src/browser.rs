//! A real browser for end-to-end tests: headless Chromium driven over WebDriver (fantoccini)
//! by one `chromedriver` per test binary, many sessions at once.
//!
//! ```ignore
//! if browser::unavailable() { return; }
//! let app = TestApp::start();
//! let b = Browser::open(390, false).await; // 390 px wide, JavaScript off
//! b.goto(&app.server.url("/web/login")).await;
//! b.fill("Username", "ada").await;
//! b.click_button("Sign in").await;
//! b.wait_for_text("Welcome").await;
//! b.screenshot("login").await; // target/screenshots/login-390.png
//! b.assert_accessible("the start page").await;
//! ```
//!
//! What it needs: Debian's `chromium` and `chromium-driver`, and axe-core's `axe.min.js`;
//! `scripts/test-tools.sh browser` (run by `make test` and `make browser`) installs them. They
//! are found at `LIBRIS_CHROMEDRIVER` (else `chromedriver` on PATH, else
//! /usr/bin/chromedriver), `LIBRIS_CHROMIUM` (else /usr/bin/chromium) and `LIBRIS_AXE` (else
//! `target/web-tools/node_modules/axe-core/axe.min.js` under the workspace root). Without
//! them a test that asks [`unavailable`] first is skipped, unless `CI` is set or
//! `LIBRIS_REQUIRE_BROWSER=1`: then it fails.
//!
//! No process outlives the test binary: chromedriver runs in a process group of its own,
//! with every Chromium it starts, and a watchdog (`sh`, reading a pipe whose only writer is
//! the test binary) kills that group and removes its temporary directory when the pipe
//! closes: at the binary's exit (an `atexit` handler closes it and reaps both, so not even a
//! zombie is left), or when the kernel closes it because the binary died (SIGKILL, ^C).
//! (PR_SET_PDEATHSIG would not do: it fires when the spawning *thread* ends, and it would
//! reach chromedriver, not the Chromium processes chromedriver starts.) A [`Browser`] ends its
//! session when dropped, also when its test panics, after saving a screenshot as
//! `failed-<test>-<width>.png`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long the `wait_*` helpers wait for their condition.
pub const WAIT: Duration = Duration::from_secs(10);

/// The height of every window: [`Browser::open`] takes the width.
pub const HEIGHT: u32 = 900;

/// Where the tools are.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
    pub axe: PathBuf,
}

/// The workspace's root: screenshots and the installed axe-core are under its `target/`,
/// wherever CARGO_TARGET_DIR points.
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `target/screenshots` of the workspace (created).
pub fn screenshot_dir() -> PathBuf {
    let dir = workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The tools, or what is missing.
pub fn tools() -> Result<Tools, Vec<String>> {
    let chromedriver = env_path("LIBRIS_CHROMEDRIVER")
        .or_else(|| on_path("chromedriver"))
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    let chromium =
        env_path("LIBRIS_CHROMIUM").unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let axe = env_path("LIBRIS_AXE").unwrap_or_else(|| {
        workspace_root().join("target/web-tools/node_modules/axe-core/axe.min.js")
    });
    let mut missing = Vec::new();
    for (what, path) in [
        ("chromedriver (Debian's chromium-driver)", &chromedriver),
        ("chromium", &chromium),
        ("axe-core's axe.min.js", &axe),
    ] {
        if !path.is_file() {
            missing.push(format!("{what} at {}", path.display()));
        }
    }
    if missing.is_empty() {
        Ok(Tools {
            chromedriver,
            chromium,
            axe,
        })
    } else {
        Err(missing)
    }
}

/// Whether missing tools fail the tests (`CI` set, or `LIBRIS_REQUIRE_BROWSER=1`) rather than
/// skip them.
pub fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("LIBRIS_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// True when the browser tests cannot run here and may be skipped: a test returns at once
/// (`if browser::unavailable() { return; }`); the first to ask prints why, past libtest's
/// capture. Panics instead when the
/// tools are [`required`].
pub fn unavailable() -> bool {
    match tools() {
        Ok(_) => false,
        Err(missing) => {
            let message = format!(
                "install chromium chromium-driver (`sudo apt-get install chromium chromium-driver`) \
                 and axe-core (`scripts/test-tools.sh browser` does both); missing: {}",
                missing.join(", ")
            );
            if required() {
                panic!("the browser tests need their tools (CI or LIBRIS_REQUIRE_BROWSER=1): {message}");
            }
            // Once a binary, straight to stderr: libtest would hide eprintln! of a passing test.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(std::io::stderr(), "skipped: {message}");
            });
            true
        }
    }
}

/// The test binary's one chromedriver.
struct Driver {
    port: u16,
    /// chromedriver and the watchdog, reaped at exit (`stop_driver`).
    children: Mutex<Option<(Child, Child)>>,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

/// Waits for its stdin to close, then kills chromedriver's process group ($1: chromedriver
/// started every Chromium in it) and removes the temporary directory ($2) they used. (dash's
/// `kill` takes no `--`.)
const WATCHDOG: &str =
    r#"while read -r _; do :; done; kill -KILL "-$1" 2>/dev/null; rm -rf -- "$2""#;

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        let tools = tools().unwrap_or_else(|missing| {
            panic!(
                "the browser tests need {} (`scripts/test-tools.sh browser` installs them)",
                missing.join(", ")
            )
        });
        let driver = start_driver(&tools);
        // SAFETY: registers a plain function, once.
        unsafe { libc::atexit(stop_driver) };
        driver
    })
}

/// At the test binary's normal exit: closes the watchdog's stdin, so it kills chromedriver
/// (and any Chromium a leaked session kept) and cleans up, then reaps both, leaving no
/// zombie. When the binary dies otherwise, the kernel closes that stdin all the same.
extern "C" fn stop_driver() {
    let Some(driver) = DRIVER.get() else { return };
    let Ok(mut children) = driver.children.lock() else {
        return;
    };
    if let Some((mut chromedriver, mut watchdog)) = children.take() {
        // A closed session's Chromium may still be exiting: chromedriver reaps it if given
        // the time; killed with chromedriver, it would be left to init.
        let start = Instant::now();
        while group_size(chromedriver.id()) > 1 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(watchdog.stdin.take());
        let _ = watchdog.wait();
        let _ = chromedriver.wait();
    }
}

/// How many processes are in the process group `group` (from /proc).
fn group_size(group: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid pgrp …: comm may hold anything, so read after its ')'.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            after.split_whitespace().nth(2) == Some(&group.to_string())
        })
        .count()
}

fn start_driver(tools: &Tools) -> Driver {
    use std::os::unix::process::CommandExt;
    // Chromium's profiles, sockets and crash dumps go here, removed by the watchdog.
    let tmp = std::env::temp_dir().join(format!("libris-browser-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("create the browser's temporary directory");
    let mut chromedriver = Command::new(&tools.chromedriver)
        .arg("--port=0")
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", tools.chromedriver.display()));
    let group = chromedriver.id();
    let watchdog = Command::new("/bin/sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("libris-browser-watchdog")
        .arg(group.to_string())
        .arg(&tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Not in the terminal's group: a ^C that ends the tests must not end it first.
        .process_group(0)
        .spawn();
    let watchdog = match watchdog {
        Ok(w) => w,
        Err(e) => {
            let _ = chromedriver.kill();
            panic!("start the chromedriver watchdog (/bin/sh): {e}");
        }
    };
    // chromedriver picks a free port and names it on stdout; what it prints later is drained.
    let stdout = chromedriver.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("chromedriver-stdout".into())
        .spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>());
                    break;
                }
            }
            for _ in lines {}
        })
        .expect("spawn a thread");
    let port = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(port)) => port,
        other => {
            let _ = chromedriver.kill();
            panic!("chromedriver did not say which port it listens on: {other:?}");
        }
    };
    Driver {
        port,
        children: Mutex::new(Some((chromedriver, watchdog))),
    }
}

/// One request to chromedriver without the async runtime (for `Drop`): its JSON answer.
/// Reads as far as the answer's length (chromedriver keeps the connection open).
fn blocking_request(port: u16, method: &str, path: &str) -> Option<Value> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    let mut buf = [0; 64 * 1024];
    loop {
        if let Some(body) = complete_body(&response) {
            return serde_json::from_slice(&body).ok();
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
}

/// The body of an HTTP/1.1 response once all of it is in `response`.
fn complete_body(response: &[u8]) -> Option<Vec<u8>> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    let payload = &response[split + 4..];
    if head.contains("transfer-encoding: chunked") {
        return dechunk(payload);
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())?;
    payload.get(..length).map(<[u8]>::to_vec)
}

/// A chunked body, once its last chunk is in.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).ok()?.trim(), 16).ok()?;
        data = &data[end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A command chromedriver has beyond W3C WebDriver: `POST /session/{id}/{path}`.
#[derive(Debug)]
struct Chromedriver {
    path: &'static str,
    body: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Chromedriver {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// An accessibility violation axe-core found, of impact `serious` or `critical`.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The rule, e.g. `label`, `color-contrast`.
    pub id: String,
    pub impact: String,
    pub help: String,
    pub help_url: String,
    pub nodes: Vec<ViolationNode>,
}

/// An element a [`Violation`] names.
#[derive(Debug, Clone)]
pub struct ViolationNode {
    /// axe's CSS selector for it (frames and shadow roots joined by ` >>> `).
    pub target: String,
    /// Its opening markup, as axe quotes it.
    pub html: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "[{}] {}: {} ({})",
            self.impact, self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            writeln!(f, "    {}    {}", node.target, node.html)?;
        }
        Ok(())
    }
}

/// One browser session: one window, `width` × [`HEIGHT`], JavaScript on or off.
pub struct Browser {
    client: Client,
    session: String,
    port: u16,
    width: u32,
    javascript: bool,
    closed: bool,
}

/// A string as an XPath literal (XPath 1.0 has no escapes: `concat` joins quoted parts).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Text as a person reads it: runs of white space as one space, trimmed.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Browser {
    /// A new headless Chromium window `width` × 900 CSS pixels (device scale 1, scrollbars
    /// hidden, English), with JavaScript on or off (off as a policy would switch it off:
    /// `profile.managed_default_content_settings.javascript = 2`; checked before returning).
    pub async fn open(width: u32, javascript: bool) -> Browser {
        let tools = tools().unwrap_or_else(|missing| {
            panic!(
                "the browser tests need {} (`scripts/test-tools.sh browser` installs them)",
                missing.join(", ")
            )
        });
        let driver = driver();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": [
                    "--headless=new",
                    // CI runs as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    format!("--window-size={width},{HEIGHT}"),
                    "--force-device-scale-factor=1",
                    "--hide-scrollbars",
                    "--lang=en-US",
                    // This machine reaches no outside host: no background requests at all.
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-quic",
                    "--disable-extensions",
                    "--disable-features=Translate,MediaRouter,OptimizationHints",
                ],
                "prefs": {
                    "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
                    "intl.accept_languages": "en-US,en",
                    "credentials_enable_service": false,
                    "profile.password_manager_enabled": false,
                },
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("start a Chromium session: {e}"));
        let session = client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("the new session's id");
        let browser = Browser {
            client,
            session,
            port: driver.port,
            width,
            javascript,
            closed: false,
        };
        // Headless Chromium's windows are at least 500 px wide and lose some height to a
        // frame no one sees: the page gets exactly width × HEIGHT by emulation.
        browser
            .cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({
                    "width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": false,
                    "screenWidth": width, "screenHeight": HEIGHT,
                }),
            )
            .await;
        browser.check_javascript().await;
        browser
    }

    /// Whether scripts run as set: a page whose inline script renames it.
    async fn check_javascript(&self) {
        self.goto("data:text/html,<title>off</title><script>document.title='on'</script>")
            .await;
        let title = self.title().await;
        let expected = if self.javascript { "on" } else { "off" };
        assert_eq!(
            title, expected,
            "JavaScript should be {expected} in this browser (the page's title tells)"
        );
    }

    /// A Chrome DevTools Protocol command on this window, through chromedriver.
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Chromedriver {
                path: "goog/cdp/execute",
                body: json!({ "cmd": command, "params": params }),
            })
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"))
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn javascript(&self) -> bool {
        self.javascript
    }

    /// fantoccini's client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session (Chromium quits). Dropping a `Browser` does the same, blocking.
    pub async fn close(mut self) {
        self.closed = true;
        let _ = self.client.clone().close().await;
    }

    /// Loads `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("load {url}: {e}"));
    }

    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// The current URL's path and query: `/web/books?page=2`.
    pub async fn path(&self) -> String {
        let url = self.url().await;
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("the page's title")
    }

    /// The page's text as shown (the body's rendered text: hidden elements left out).
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The page's markup, as the browser holds it now.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page's source")
    }

    /// The first element matching a CSS selector; panics when there is none.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no element matches `{css}` on {}: {e}", self.url().await),
        }
    }

    /// The first element matching a CSS selector, if any.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        self.client.find(Locator::Css(css)).await.ok()
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    async fn xpath_all(&self, xpath: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::XPath(xpath))
            .await
            .unwrap_or_default()
    }

    /// The form control a `<label>` names, by the label's text (white space normalised;
    /// exact, else the one label that starts with it): the label's `for`, else the control
    /// inside it. Else the control whose `aria-label` is `label`.
    pub async fn field(&self, label: &str) -> Element {
        let wanted = normalize(label);
        let literal = xpath_literal(&wanted);
        let mut labels = self
            .xpath_all(&format!("//label[normalize-space(.)={literal}]"))
            .await;
        if labels.is_empty() {
            labels = self
                .xpath_all(&format!(
                    "//label[starts-with(normalize-space(.), {literal})]"
                ))
                .await;
            if labels.len() > 1 {
                panic!(
                    "{} labels start with {label:?} on {}: name one exactly",
                    labels.len(),
                    self.url().await
                );
            }
        }
        if let Some(found) = labels.first() {
            if let Some(id) = found.attr("for").await.ok().flatten() {
                let by_id = format!("//*[@id={}]", xpath_literal(&id));
                if let Some(control) = self.xpath_all(&by_id).await.into_iter().next() {
                    return control;
                }
                panic!(
                    "the label {label:?} is for #{id}, which is not on {}",
                    self.url().await
                );
            }
            if let Ok(control) = found
                .find(Locator::XPath(".//input|.//select|.//textarea"))
                .await
            {
                return control;
            }
        }
        let by_aria = format!("//*[@aria-label={literal}]");
        if let Some(control) = self.xpath_all(&by_aria).await.into_iter().next() {
            return control;
        }
        let mut known = Vec::new();
        for l in self.xpath_all("//label").await {
            known.push(normalize(&l.text().await.unwrap_or_default()));
        }
        panic!(
            "no field labelled {label:?} on {} (labels: {known:?})",
            self.url().await
        );
    }

    /// The form control named `name` (its `name` attribute).
    pub async fn field_named(&self, name: &str) -> Element {
        let xpath = format!("//*[@name={}]", xpath_literal(name));
        match self.xpath_all(&xpath).await.into_iter().next() {
            Some(e) => e,
            None => panic!("no field named {name:?} on {}", self.url().await),
        }
    }

    async fn type_into(&self, field: Element, value: &str) {
        field.clear().await.expect("clear the field");
        field.send_keys(value).await.expect("type into the field");
    }

    /// Replaces the value of the field labelled `label` by `value`, typing it.
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        self.type_into(field, value).await;
    }

    /// Replaces the value of the field named `name` by `value`, typing it.
    pub async fn fill_named(&self, name: &str, value: &str) {
        let field = self.field_named(name).await;
        self.type_into(field, value).await;
    }

    /// Chooses the option shown as `option` in the `<select>` labelled `label`.
    pub async fn select(&self, label: &str, option: &str) {
        self.field(label)
            .await
            .select_by_label(option)
            .await
            .unwrap_or_else(|e| panic!("choose {option:?} in {label:?}: {e}"));
    }

    /// Ticks (`on`) or clears the checkbox labelled `label`.
    pub async fn check(&self, label: &str, on: bool) {
        let field = self.field(label).await;
        if field.is_selected().await.expect("the checkbox's state") != on {
            field.click().await.expect("click the checkbox");
        }
    }

    /// Puts the file at `path` into the `<input type=file>` labelled `label`.
    pub async fn upload(&self, label: &str, path: &Path) {
        let field = self.field(label).await;
        self.attach(field, path).await;
    }

    /// Puts the file at `path` into the `<input type=file>` named `name`.
    pub async fn upload_named(&self, name: &str, path: &Path) {
        let field = self.field_named(name).await;
        self.attach(field, path).await;
    }

    async fn attach(&self, field: Element, path: &Path) {
        let path = path
            .canonicalize()
            .unwrap_or_else(|e| panic!("upload {}: {e}", path.display()));
        field
            .send_keys(&path.to_string_lossy())
            .await
            .unwrap_or_else(|e| panic!("attach {}: {e}", path.display()));
    }

    /// Clicks the first visible button showing `text` (a `<button>`, or an `<input>` button
    /// whose value it is). chromedriver waits for a page load the click starts; what a script
    /// does after it, wait for with a `wait_*` helper.
    pub async fn click_button(&self, text: &str) {
        let literal = xpath_literal(&normalize(text));
        let xpath = format!(
            "//button[normalize-space(.)={literal}] | \
             //input[(@type='submit' or @type='button' or @type='reset') and normalize-space(@value)={literal}]"
        );
        self.click_xpath(&xpath, "button", text).await;
    }

    /// Follows the link showing `text`.
    pub async fn click_link(&self, text: &str) {
        let literal = xpath_literal(&normalize(text));
        self.click_xpath(&format!("//a[normalize-space(.)={literal}]"), "link", text)
            .await;
    }

    async fn click_xpath(&self, xpath: &str, what: &str, text: &str) {
        let found = self.xpath_all(xpath).await;
        let mut visible = None;
        for e in &found {
            if e.is_displayed().await.unwrap_or(false) {
                visible = Some(e);
                break;
            }
        }
        let Some(e) = visible else {
            panic!(
                "no visible {what} {text:?} on {} ({} hidden)",
                self.url().await,
                found.len()
            );
        };
        e.click()
            .await
            .unwrap_or_else(|err| panic!("click the {what} {text:?}: {err}"));
    }

    /// Submits the form matching `form_css` by clicking its first submit button, as a person
    /// would.
    pub async fn submit(&self, form_css: &str) {
        let form = self.find(form_css).await;
        let button = form
            .find(Locator::Css(
                "button:not([type]), button[type=submit], input[type=submit], input[type=image]",
            ))
            .await
            .unwrap_or_else(|_| panic!("the form `{form_css}` has no submit button"));
        button.click().await.expect("click the submit button");
    }

    /// Waits until `condition` holds, asking again every 50 ms, for at most [`WAIT`]; panics
    /// naming `what` when it never does.
    pub async fn wait_until(&self, what: &str, condition: impl AsyncFnMut(&Browser) -> bool) {
        self.wait_until_within(WAIT, what, condition).await
    }

    /// [`Browser::wait_until`] with another limit.
    pub async fn wait_until_within(
        &self,
        limit: Duration,
        what: &str,
        mut condition: impl AsyncFnMut(&Browser) -> bool,
    ) {
        let start = Instant::now();
        loop {
            if condition(self).await {
                return;
            }
            if start.elapsed() > limit {
                panic!(
                    "waited {limit:?} for {what} on {}; the page says:\n{}",
                    self.url().await,
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for an element matching `css`, and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        let what = format!("an element matching `{css}`");
        self.wait_until(&what, async |b| b.try_find(css).await.is_some())
            .await;
        self.find(css).await
    }

    /// Waits until the page shows `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let what = format!("the text {text:?}");
        self.wait_until(&what, async |b| normalize(&b.text().await).contains(text))
            .await
    }

    /// Waits until the current URL's path (and query, if `path` has one) is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let what = format!("the path {path}");
        let with_query = path.contains('?');
        self.wait_until(&what, async |b| {
            if with_query {
                b.path().await == path
            } else {
                b.url().await.path() == path
            }
        })
        .await
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns what
    /// it returns. Runs also with JavaScript off: WebDriver's scripts are not the page's.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(v) => v,
            Err(e) => panic!("run a script on {}: {e}", self.url().await),
        }
    }

    /// A screenshot of the whole page (not only the window), written to
    /// `target/screenshots/{name}-{width}.png` in the workspace; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let height = self
            .execute(
                "return Math.ceil(Math.max(document.documentElement.scrollHeight, \
                 document.body ? document.body.scrollHeight : 0, window.innerHeight));",
                vec![],
            )
            .await
            .as_u64()
            .unwrap_or(u64::from(HEIGHT));
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": self.width, "height": height, "scale": 1 },
                }),
            )
            .await;
        let png = shot["data"]
            .as_str()
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
            .unwrap_or_else(|| panic!("a screenshot as base64 PNG, not {shot}"));
        let path = screenshot_dir().join(format!("{name}-{}.png", self.width));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// What the browser's console logged at level SEVERE since the last call: script
    /// errors, failed loads, Content-Security-Policy violations.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(Chromedriver {
                path: "se/log",
                body: json!({ "type": "browser" }),
            })
            .await
            .unwrap_or_else(|e| panic!("read the browser's console: {e}"));
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Runs axe-core on the current page and returns its violations of impact `serious` or
    /// `critical`. axe is put into the page by WebDriver, so it runs whatever the page's
    /// Content-Security-Policy and whether JavaScript is on.
    pub async fn axe(&self) -> Vec<Violation> {
        static SOURCE: OnceLock<String> = OnceLock::new();
        let source = SOURCE.get_or_init(|| {
            let path = tools()
                .map(|t| t.axe)
                .unwrap_or_else(|missing| panic!("axe-core is missing ({})", missing.join(", ")));
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        });
        // With JavaScript off, Chromium runs WebDriver's scripts and their promises, but no
        // timer fires, and axe waits on timers: for its run, they become microtasks.
        let timers = if self.javascript {
            ""
        } else {
            TIMERS_AS_MICROTASKS
        };
        let script = format!(
            "const done = arguments[arguments.length - 1];\n\
             {timers}\n\
             {source}\n\
             ;axe.run(document, {{ resultTypes: ['violations'] }}).then(\n\
               r => done({{ violations: r.violations.map(v => ({{\n\
                 id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,\n\
                 nodes: v.nodes.map(n => ({{ target: n.target, html: n.html }})) }})) }}),\n\
               e => done({{ error: String(e && e.stack || e) }}));"
        );
        let result = match self.client.execute_async(&script, vec![]).await {
            Ok(v) => v,
            Err(e) => panic!("run axe-core on {}: {e}", self.url().await),
        };
        if let Some(error) = result["error"].as_str() {
            panic!("axe-core failed on {}: {error}", self.url().await);
        }
        let Some(violations) = result["violations"].as_array() else {
            panic!("axe-core answered {result}");
        };
        violations
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                impact: v["impact"].as_str().unwrap_or_default().to_owned(),
                help: v["help"].as_str().unwrap_or_default().to_owned(),
                help_url: v["helpUrl"].as_str().unwrap_or_default().to_owned(),
                nodes: v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| ViolationNode {
                        target: target(&n["target"]),
                        html: n["html"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Panics, listing them, when axe-core finds serious or critical violations on the
    /// current page (`page` names it in the message).
    pub async fn assert_accessible(&self, page: &str) {
        let violations = self.axe().await;
        if !violations.is_empty() {
            let list = report(&violations);
            panic!(
                "axe-core finds {} serious or critical violation(s) on {page} ({}, {} px, JavaScript {}):\n{list}",
                violations.len(),
                self.url().await,
                self.width,
                if self.javascript { "on" } else { "off" },
            );
        }
    }
}

/// `setTimeout` and `clearTimeout` for a page whose JavaScript is off (where timers never
/// fire): callbacks run as microtasks, in order, whatever their delay.
const TIMERS_AS_MICROTASKS: &str = "{
  let next = 1; const pending = new Set();
  window.setTimeout = function (fn, ms, ...args) {
    const id = next++; pending.add(id);
    Promise.resolve().then(() => { if (pending.delete(id) && typeof fn === 'function') fn(...args); });
    return id;
  };
  window.clearTimeout = function (id) { pending.delete(id); };
}";

/// Violations as the failure of [`Browser::assert_accessible`] lists them: one a line, then
/// the elements, indented.
pub fn report(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("  {v}")).collect()
}

/// axe's target: selectors, nested in arrays for frames and shadow roots.
fn target(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().map(target).collect::<Vec<_>>().join(" >>> "),
        other => other.to_string(),
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let session = format!("/session/{}", self.session);
        if std::thread::panicking() {
            let shot = blocking_request(self.port, "GET", &format!("{session}/screenshot"));
            let png = shot
                .as_ref()
                .and_then(|s| s["value"].as_str())
                .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok());
            if let Some(png) = png {
                let test = std::thread::current()
                    .name()
                    .unwrap_or("test")
                    .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
                let path = screenshot_dir().join(format!("failed-{test}-{}.png", self.width));
                if std::fs::write(&path, png).is_ok() {
                    eprintln!(
                        "the browser's window when the test failed: {}",
                        path.display()
                    );
                }
            }
        }
        // Synchronous: the test's runtime may end before a spawned request would be sent.
        blocking_request(self.port, "DELETE", &session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpath_literals() {
        assert_eq!(xpath_literal("Title"), "'Title'");
        assert_eq!(xpath_literal("Reader's name"), "\"Reader's name\"");
        assert_eq!(xpath_literal("a'b\"c"), "concat('a', \"'\", 'b\"c')");
    }

    #[test]
    fn bodies_end_at_their_length() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
        let mut response = head.to_vec();
        response.extend_from_slice(b"{\"value\":");
        assert_eq!(complete_body(&response), None);
        response.extend_from_slice(b"1}");
        assert_eq!(complete_body(&response).unwrap(), b"{\"value\":1}");
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            dechunk(b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n").unwrap(),
            b"{\"a\":1}"
        );
    }
}
