//! Two libris processes on one database and one data dir, behind nginx, as one server:
//! KoSync PUTs and GETs through the load balancer, uploads on one instance, OPDS reads and
//! book lookups on the other, the first killed with -9 and started again meanwhile. Then: no
//! acknowledged report lost, every upload at once visible through the other instance, no
//! OPDS read refused, no stray file, and login limits that hold across both.

use std::cell::RefCell;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::join_all;

use crate::common::{TestDb, KEY};
use crate::crash::{disagreements, epub, quoted, upload};
use crate::process::{first_admin, kosync_reader, put_progress, ready, start_with, Server};
use crate::Figures;

const PUT_CLIENTS: usize = 8;
const LIMIT: u32 = 5;
const GUESSES: usize = 20;

/// nginx in the foreground, round robin over `servers`, on a port of its own.
struct Nginx {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx(servers: &[&Server]) -> Option<Nginx> {
    let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|b| Path::new(b).is_file())?;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstreams: String = servers
        .iter()
        .map(|s| {
            let addr = s.url.trim_start_matches("http://");
            format!("server {addr} max_fails=1 fail_timeout=1s;\n")
        })
        .collect();
    let d = dir.path().display();
    // Nothing is buffered to disk (nginx's workers may run as nobody, who cannot write here).
    let conf = format!(
        "daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  client_max_body_size 64m; client_body_buffer_size 64m;
  upstream libris {{ {upstreams} keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://libris;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_next_upstream error timeout http_502;
    }}
  }}
}}
"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let child = Command::new(binary)
        .args(["-p", &d.to_string(), "-c", "nginx.conf"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Nginx {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    })
}

fn settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("LIBRIS_AUTH_FAILURES_PER_MINUTE", "5"),
        // The same server secret: the shared failure counts fingerprint secrets alike.
        (
            "LIBRIS_SECRET_KEY",
            "two instances of one household's libris",
        ),
        ("LIBRIS_TRUST_PROXY", "true"),
    ]
}

#[derive(Default)]
struct Seen {
    reports: Vec<String>,
    uploads: usize,
    /// Uploads acknowledged by one instance that the other did not find at once.
    unseen_uploads: usize,
    opds_reads: usize,
    opds_refused: usize,
}

pub async fn run(figures: &mut Figures) {
    let db = TestDb::new();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().with_extension("log");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let settings = settings();
    let mut one = start_with(&db, data.path(), &log, &settings);
    ready(&client, &one).await;
    let mut two = start_with(&db, data.path(), &log, &settings);
    ready(&client, &two).await;
    let Some(balancer) = nginx(&[&one, &two]) else {
        figures.row(
            "two instances behind nginx: nginx is not installed",
            0.0,
            "installed",
            false,
        );
        return;
    };
    let admin = first_admin(&client, &one).await;
    kosync_reader(&client, &two).await;
    let books: Vec<Vec<u8>> = actix_web::rt::task::spawn_blocking(|| (0..60).map(epub).collect())
        .await
        .unwrap();

    let seen: Rc<RefCell<Seen>> = Rc::default();
    let stop = Rc::new(RefCell::new(false));
    let balanced = balancer.url.clone();
    let puts = (0..PUT_CLIENTS).map(|c| {
        let (client, url, stop, seen) = (&client, &balanced, stop.clone(), seen.clone());
        async move {
            let mut n = 0u32;
            let document = format!("{c:032x}");
            while !*stop.borrow() {
                n += 1;
                let progress = format!("i-c{c}-{n}");
                let percentage = f64::from(n % 100) / 100.0;
                let sent = put_progress(
                    client,
                    url,
                    &document,
                    &progress,
                    percentage,
                    &format!("dev-{c}"),
                )
                .await;
                match sent {
                    Ok(status) if status == 200 => seen.borrow_mut().reports.push(progress),
                    _ => actix_web::rt::time::sleep(Duration::from_millis(20)).await,
                }
                let _ = client
                    .get(format!("{url}/syncs/progress/{document}"))
                    .insert_header(("x-auth-user", "ann"))
                    .insert_header(("x-auth-key", KEY))
                    .insert_header(("accept", "application/vnd.koreader.v1+json"))
                    .send()
                    .await;
            }
        }
    });
    // Uploads through the first instance (killed meanwhile: failures are retried on the next
    // book), each looked up at once through the second.
    let uploads = {
        let (client, stop, seen, admin, books) =
            (&client, stop.clone(), seen.clone(), &admin, &books);
        let (first, second) = (one.url.clone(), two.url.clone());
        async move {
            for (n, bytes) in books.iter().enumerate() {
                if *stop.borrow() {
                    break;
                }
                let Some(id) = upload(client, &first, admin, n as u64, bytes).await else {
                    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let found = client
                    .get(format!("{second}/api/books/{id}"))
                    .insert_header(("authorization", format!("Bearer {admin}")))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                let mut seen = seen.borrow_mut();
                seen.uploads += 1;
                seen.unseen_uploads += usize::from(!found);
            }
        }
    };
    let opds = {
        let (client, stop, seen, admin) = (&client, stop.clone(), seen.clone(), &admin);
        let second = two.url.clone();
        async move {
            while !*stop.borrow() {
                let r = client
                    .get(format!("{second}/opds/new"))
                    .insert_header(("authorization", format!("Bearer {admin}")))
                    .send()
                    .await;
                {
                    let mut seen = seen.borrow_mut();
                    seen.opds_reads += 1;
                    seen.opds_refused += usize::from(!r.is_ok_and(|r| r.status() == 200));
                }
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // The first instance dies under load and comes back.
    let (restarted, restart) = tokio::sync::oneshot::channel::<Server>();
    let chaos = {
        let (stop, db, data, log, settings, client) =
            (stop.clone(), &db, data.path(), &log, &settings, &client);
        let child = &mut one.child;
        let address = one.url.trim_start_matches("http://").to_owned();
        async move {
            actix_web::rt::time::sleep(Duration::from_secs(3)).await;
            child.kill().expect("kill -9");
            child.wait().unwrap();
            actix_web::rt::time::sleep(Duration::from_secs(1)).await;
            // On the same address, where nginx and the uploads look for it.
            let mut same = settings.clone();
            same.push(("LIBRIS_BIND", address.as_str()));
            let mut again = start_with(db, data, log, &same);
            again.url = format!("http://{address}");
            ready(client, &again).await;
            actix_web::rt::time::sleep(Duration::from_secs(3)).await;
            *stop.borrow_mut() = true;
            let _ = restarted.send(again);
        }
    };
    tokio::join!(join_all(puts), uploads, opds, chaos);
    let mut one = restart.await.unwrap();

    // Guesses at ann's key, alternating between the instances, from one client address.
    let mut checked = 0;
    for n in 0..GUESSES {
        let server = if n % 2 == 0 { &one } else { &two };
        let r = client
            .get(format!("{}/users/auth", server.url))
            .insert_header(("x-forwarded-for", "203.0.113.7"))
            .insert_header(("x-auth-user", "ann"))
            .insert_header(("x-auth-key", format!("{:032x}", n + 1000)))
            .insert_header(("accept", "application/vnd.koreader.v1+json"))
            .send()
            .await
            .unwrap();
        checked += usize::from(r.status() == 401);
    }

    drop(balancer);
    for child in [&mut one.child, &mut two.child] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // A start like any other (its check runs: nobody else serves), then the files.
    let mut last = start_with(&db, data.path(), &log, &settings);
    ready(&client, &last).await;
    last.child.kill().unwrap();
    last.child.wait().unwrap();

    let seen = seen.borrow();
    let lost = seen.reports.len() as i64
        - db.count(&format!(
            "SELECT count(DISTINCT progress) FROM reading_progress_history WHERE progress IN ({})",
            quoted(&seen.reports)
        ));
    let (missing, stray) = disagreements(&mut db.conn(), data.path());
    let allowed = LIMIT as usize + 1;
    figures.row(
        &format!(
            "two instances behind nginx, one killed: reports acknowledged ({PUT_CLIENTS} clients)"
        ),
        seen.reports.len() as f64,
        "",
        !seen.reports.is_empty(),
    );
    figures.row(
        "  acknowledged but missing from the history",
        lost as f64,
        "0",
        lost == 0,
    );
    figures.row(
        "  uploads on one instance not found at once on the other",
        seen.unseen_uploads as f64,
        &format!("0 (of {})", seen.uploads),
        seen.unseen_uploads == 0 && seen.uploads > 0,
    );
    figures.row(
        "  OPDS reads on the other instance refused",
        seen.opds_refused as f64,
        &format!("0 (of {})", seen.opds_reads),
        seen.opds_refused == 0 && seen.opds_reads > 0,
    );
    figures.row("  book files missing", missing as f64, "0", missing == 0);
    figures.row("  files without a row", stray as f64, "0", stray == 0);
    figures.row(
        &format!("  of {GUESSES} guesses over both instances, checked (limit {LIMIT})"),
        checked as f64,
        &format!("<= {allowed}"),
        checked <= allowed && checked >= LIMIT as usize,
    );
    let _ = std::fs::remove_file(&log);
}
