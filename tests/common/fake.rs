//! A hand-written HTTP server on loopback that plays a hostile or nosy registry: it records
//! every request (method, path, `Authorization` header) and answers with whatever the test
//! scripts, including bodies that never end. Real registries are tested with Distribution
//! (`registry.rs`); this one says what a real one would not.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

/// What to answer: status, headers, and a body (`None` = an endless body of spaces).
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Reply {
    pub fn new(status: u16, body: &[u8]) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body.to_vec()),
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// A body that never ends (a hostile registry streaming forever).
    pub fn endless(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct FakeRegistry {
    pub ip: std::net::IpAddr,
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
    /// Body bytes written to clients in all.
    pub sent: Arc<AtomicU64>,
    /// Connections accepted (whether or not a request followed).
    pub connections: Arc<AtomicU64>,
}

impl FakeRegistry {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeRegistry {
        FakeRegistry::start_on("127.0.0.1", handler)
    }

    /// A server on another address of the machine (`127.0.0.2`, or one a test namespace has).
    pub fn start_on(
        ip: &str,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> FakeRegistry {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let sent = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (r, s, c) = (requests.clone(), sent.clone(), connections.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let (r, s, h) = (r.clone(), s.clone(), handler.clone());
                std::thread::spawn(move || serve(conn, &r, &s, &*h));
            }
        });
        // Bound to every address (`0.0.0.0`): reached here through loopback.
        let ip = if addr.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            addr.ip()
        };
        FakeRegistry {
            ip,
            port: addr.port(),
            requests,
            sent,
            connections,
        }
    }

    pub fn host(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    pub fn url(&self, base: &str) -> String {
        format!("oci://{}/{base}", self.host())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(mut conn: TcpStream, log: &Mutex<Vec<Request>>, sent: &AtomicU64, handler: &Handler) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let mut req = Request {
            method: method.into(),
            path: path.into(),
            authorization: None,
        };
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("authorization") {
                    req.authorization = Some(v.into());
                } else if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        log.lock().unwrap().push(req.clone());
        let reply = handler(&req);
        let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match &reply.body {
            Some(b) => head.push_str(&format!("Content-Length: {}\r\n\r\n", b.len())),
            None => head.push_str("Connection: close\r\n\r\n"),
        }
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        match reply.body {
            Some(b) => {
                if conn.write_all(&b).is_err() {
                    return;
                }
                sent.fetch_add(b.len() as u64, Ordering::SeqCst);
            }
            None => {
                let chunk = vec![b' '; 64 << 10];
                while conn.write_all(&chunk).is_ok() {
                    sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
                return;
            }
        }
    }
}
