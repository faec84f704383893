//! A TCP proxy in front of the test PostgreSQL server that can be taken down and brought
//! back, so a test can lose the database without stopping the shared server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;

pub struct Proxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    kill: watch::Sender<u64>,
}

enum Target {
    Unix(String),
    Tcp(String),
}

/// Where libpq would connect for `url`: the last host/port query parameters win.
fn target(url: &str) -> Target {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .next_back()
    };
    let port = param("port").unwrap_or_else(|| "5432".into());
    match param("host") {
        Some(h) if h.starts_with('/') => Target::Unix(format!("{h}/.s.PGSQL.{port}")),
        Some(h) => Target::Tcp(format!("{h}:{port}")),
        None => {
            let main = url.split_once('?').map(|(m, _)| m).unwrap_or(url);
            let rest = main.split_once("://").map(|(_, r)| r).unwrap_or(main);
            let authority = rest.split('/').next().unwrap_or("");
            let host = authority.rsplit('@').next().unwrap_or("");
            let host = if host.is_empty() {
                "localhost:5432".to_owned()
            } else {
                host.to_owned()
            };
            Target::Tcp(if host.contains(':') {
                host
            } else {
                format!("{host}:{port}")
            })
        }
    }
}

impl Proxy {
    /// Starts a proxy to the server of `url`, up.
    pub fn start(url: &str) -> Proxy {
        let target = Arc::new(target(url));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (kill, kill_rx) = watch::channel(0u64);
        let accepting = up.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !accepting.load(Ordering::SeqCst) {
                        drop(client); // the database is "down": the connection dies at once
                        continue;
                    }
                    let target = target.clone();
                    let mut kill_rx = kill_rx.clone();
                    kill_rx.mark_unchanged(); // only kills after this connection opened count
                    tokio::spawn(async move {
                        let copy = async {
                            match &*target {
                                Target::Unix(path) => {
                                    let mut server = UnixStream::connect(path).await?;
                                    copy_bidirectional(&mut client, &mut server).await
                                }
                                Target::Tcp(addr) => {
                                    let mut server = TcpStream::connect(addr).await?;
                                    copy_bidirectional(&mut client, &mut server).await
                                }
                            }
                        };
                        tokio::select! {
                            _ = copy => {}
                            _ = kill_rx.changed() => {}
                        }
                    });
                }
            });
        });
        Proxy { port, up, kill }
    }

    /// `url` rerouted through the proxy.
    pub fn url(&self, url: &str) -> String {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}host=127.0.0.1&port={}", self.port)
    }

    /// Cuts every open connection and refuses new ones.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.kill.send_modify(|g| *g += 1);
    }

    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
