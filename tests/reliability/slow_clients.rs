//! Slow and idle clients: headers trickled, a body trickled, a thousand idle connections.
//! None may hold the server: the trickles are answered or cut, and others are served.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{TestApp, KEY};
use crate::Figures;

/// Sends `head` then `trickle` a byte every 200 ms until the server answers or closes;
/// seconds it took, and whether it gave up first (after `limit`).
fn trickle(addr: SocketAddr, head: &[u8], trickle: &[u8], limit: Duration) -> (f64, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    s.write_all(head).unwrap();
    for b in trickle.iter().cycle() {
        if start.elapsed() > limit {
            return (start.elapsed().as_secs_f64(), true);
        }
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(_) => return (start.elapsed().as_secs_f64(), false),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (start.elapsed().as_secs_f64(), false),
        }
        if s.write_all(&[*b]).is_err() {
            return (start.elapsed().as_secs_f64(), false);
        }
    }
    unreachable!()
}

pub async fn run(figures: &mut Figures) {
    let app = TestApp::builder()
        .body_grace(Duration::from_secs(5))
        .start();
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    let addr = app.server.addr();
    let limit = Duration::from_secs(60);
    let (headers, body) = actix_web::rt::task::spawn_blocking(move || {
        let headers = trickle(
            addr,
            b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            b"a",
            limit,
        );
        let body = trickle(
            addr,
            format!(
                "PUT /syncs/progress HTTP/1.1\r\nHost: x\r\nx-auth-user: ann\r\nx-auth-key: {KEY}\r\n\
                 content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{"
            )
            .as_bytes(),
            b" ",
            limit,
        );
        (headers, body)
    })
    .await
    .unwrap();
    figures.row(
        "headers trickled a byte per 200 ms: answered after (s)",
        (headers.0 * 10.0).round() / 10.0,
        "< 60",
        !headers.1,
    );
    figures.row(
        "a body trickled a byte per 200 ms (grace 5 s): cut after (s)",
        (body.0 * 10.0).round() / 10.0,
        "< 60",
        !body.1,
    );

    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let start = Instant::now();
    let r = app.auth("ann", KEY).await;
    let took = start.elapsed().as_secs_f64() * 1000.0;
    figures.row(
        "1,000 idle connections open: a KoSync login answered",
        f64::from(r.status),
        "200",
        r.status == 200,
    );
    figures.row("  in ms", took.round(), "< 1000", took < 1000.0);
    drop(idle);
}
