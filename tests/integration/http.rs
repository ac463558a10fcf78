//! A real HTTP server (actix `HttpServer` on 127.0.0.1:0, several workers) and a small raw
//! HTTP/1.1 client over tokio sockets, for the tests that need what `actix_web::test` cannot
//! give: true parallelism across worker threads, separate connections, and bodies streamed
//! without a `Content-Length`.

use std::{future::Future, net::SocketAddr};

use actix_passkeys::Passkeys;
use actix_session::SessionMiddleware;
use actix_web::{
    cookie::Key,
    dev::ServerHandle,
    http::{
        header::{HeaderMap, HeaderName, HeaderValue},
        StatusCode,
    },
    web, App, HttpServer,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::fixtures::{me, signup, MemorySessions, Resp, SESSION_COOKIE};

/// Runs `f` on a fresh multi-threaded tokio runtime (4 threads) in its own thread, and waits
/// for it without blocking the caller's runtime; a panic in `f` is re-raised here.
pub async fn on_threads<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    });
    match tokio::task::spawn_blocking(move || thread.join())
        .await
        .unwrap()
    {
        Ok(()) => {}
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    handle: ServerHandle,
}

impl Server {
    /// Stops the workers (without waiting for open connections).
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Serves `passkeys` (plus `/signup` and `/me`, as the test app does) with `workers` worker
/// threads. Must be called on a tokio runtime (the server's own task is spawned there).
pub fn serve(passkeys: Passkeys, sessions: MemorySessions, workers: usize) -> Server {
    serve_with(
        workers,
        move |cfg| {
            cfg.configure(passkeys.configure())
                .route("/signup", web::post().to(signup))
                .route("/me", web::get().to(me));
        },
        sessions,
    )
}

/// Serves whatever `routes` mounts, behind the session middleware.
pub fn serve_with<F>(workers: usize, routes: F, sessions: MemorySessions) -> Server
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(
                SessionMiddleware::builder(sessions.clone(), Key::from(&[7u8; 64]))
                    .cookie_name(SESSION_COOKIE.to_owned())
                    .cookie_secure(false)
                    .build(),
            )
            .configure(routes.clone())
    })
    .workers(workers)
    .disable_signals()
    .backlog(1024)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    drop(tokio::spawn(server));
    Server { addr, handle }
}

/// An HTTP/1.1 request, serialised (`Connection: close`, so the answer ends with the stream).
pub fn request_bytes(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body.unwrap_or_default());
    out
}

/// Reads a whole answer (until the server closes the connection) and parses it.
pub async fn read_response(stream: &mut tokio::net::TcpStream) -> Resp {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.to_str().unwrap().eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Resp {
        status: StatusCode::from_u16(status).unwrap(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        content_type: get("content-type"),
        retry_after: get("retry-after"),
        raw: body,
        headers,
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&body[..eol]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        body = &body[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// One browser against a served app: its own connection per request, and a cookie jar of
/// one (the session cookie).
pub struct Client {
    pub addr: SocketAddr,
    pub cookie: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, cookie: None }
    }

    /// The bytes of a JSON POST carrying this client's session cookie.
    pub fn post_bytes(&self, path: &str, body: &Value) -> Vec<u8> {
        let body = serde_json::to_vec(body).unwrap();
        let cookie = self
            .cookie
            .as_ref()
            .map(|c| format!("{SESSION_COOKIE}={c}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(c) = &cookie {
            headers.push(("Cookie", c.as_str()));
        }
        request_bytes("POST", path, &headers, Some(&body))
    }

    /// POSTs `body` as JSON on a new connection; keeps a session cookie the answer sets.
    pub async fn post(&mut self, path: &str, body: &Value) -> Resp {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream
            .write_all(&self.post_bytes(path, body))
            .await
            .unwrap();
        let resp = read_response(&mut stream).await;
        for value in resp.headers.get_all("set-cookie") {
            let value = value.to_str().unwrap();
            if let Some(rest) = value.strip_prefix(&format!("{SESSION_COOKIE}=")) {
                let v = rest.split(';').next().unwrap();
                self.cookie = (!v.is_empty()).then(|| v.to_owned());
            }
        }
        resp
    }

    /// POSTs every request in `requests` at once, each on its own connection: all connections
    /// are opened and all but the last byte of each request written first, then every last byte
    /// is released together from its own task.
    pub async fn post_at_once(&self, requests: Vec<Vec<u8>>) -> Vec<Resp> {
        let n = requests.len();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
        let mut tasks = Vec::new();
        for bytes in requests {
            let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (head, last) = bytes.split_at(bytes.len() - 1);
            stream.write_all(head).await.unwrap();
            let last = last.to_vec();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                stream.write_all(&last).await.unwrap();
                read_response(&mut stream).await
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}

/// A chunked upload: `Transfer-Encoding: chunked`, no `Content-Length`, `parts` as chunks.
fn chunked_request(path: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for part in parts {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

async fn send_raw(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_response(&mut stream).await
}

/// Issue 13 item 8: the body limit counts the bytes that arrive, not only a declared length.
/// Through a real server, a chunked body without `Content-Length` over the limit is 413
/// `payload_too_large`; the same route reads a chunked body under the limit.
#[actix_rt::test]
async fn chunked_body_over_the_limit_is_413() {
    on_threads(|| async {
        let ctx = crate::fixtures::Ctx::<crate::fixtures::Memory>::new().await;
        let passkeys = ctx
            .builder(crate::fixtures::config().body_limit(1024).build().unwrap())
            .build()
            .unwrap();
        let server = serve(passkeys, ctx.sessions.clone(), 2);
        let begin = "/auth/passkeys/authenticate/begin";
        let padding = " ".repeat(600);
        let over = chunked_request(
            begin,
            &[
                b"{\"userId\":\"alice\"",
                padding.as_bytes(),
                padding.as_bytes(),
                b"}",
            ],
        );
        send_raw(server.addr, &over)
            .await
            .assert_error(413, "payload_too_large");
        let under = chunked_request(begin, &[b"{\"userId\":", b"\"alice\"}"]);
        let r = send_raw(server.addr, &under).await;
        assert!(r.assert_ok()["state"].is_string());
        for finish in [
            "/auth/passkeys/authenticate/finish",
            "/auth/passkeys/register/finish",
        ] {
            let over = chunked_request(
                finish,
                &[
                    b"{\"state\":\"",
                    padding.as_bytes(),
                    padding.as_bytes(),
                    b"\"}",
                ],
            );
            send_raw(server.addr, &over)
                .await
                .assert_error(413, "payload_too_large");
        }
        server.stop().await;
    })
    .await;
}
