//! Health endpoint for the container: `GET /healthz` (or `/health`) on its own address →
//! `503 starting` until the knowledge base is open and has passed its self-test, `200 ok` after;
//! `GET /metrics` → [`crate::metrics`]. A minimal HTTP/1.1 responder on a tokio listener, so it
//! works in polling and webhook mode alike, and answers while the index is still being checked
//! or rebuilt.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Whether the bot can answer: set once the knowledge base is open and has passed its
/// self-test. Clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// From now on `/healthz` answers 200.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Binds `addr` and serves the health endpoint in the background, ready or not as `ready`
/// says at each request. Returns the bound address (useful with port 0).
pub async fn spawn(addr: SocketAddr, ready: Readiness) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let ready = ready.is_ready();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let response = response(&buf[..n], ready);
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(bound)
}

fn response(request: &[u8], ready: bool) -> std::borrow::Cow<'static, str> {
    let line = request
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let path = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
    let method_ok = line.starts_with(b"GET ") || line.starts_with(b"HEAD ");
    if method_ok && path == b"/metrics" {
        return crate::metrics::http_response().into();
    }
    match (method_ok && matches!(path, b"/healthz" | b"/health"), ready) {
        (true, true) => {
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n"
        }
        (true, false) => {
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nconnection: close\r\n\r\nstarting\n"
        }
        (false, _) => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn not_ready_until_set_then_ok_and_rejects_other_paths() {
        let ready = Readiness::default();
        let addr = spawn("127.0.0.1:0".parse().unwrap(), ready.clone())
            .await
            .unwrap();
        for (path, status) in [("/healthz", "503"), ("/health", "503"), ("/other", "404")] {
            let out = get(addr, path).await;
            assert!(
                out.starts_with(&format!("HTTP/1.1 {status}")),
                "{path}: {out}"
            );
        }
        ready.set_ready();
        for (path, status) in [("/healthz", "200"), ("/health", "200"), ("/other", "404")] {
            let out = get(addr, path).await;
            assert!(
                out.starts_with(&format!("HTTP/1.1 {status}")),
                "{path}: {out}"
            );
        }
    }

    #[test]
    fn content_lengths_match_the_bodies() {
        for ready in [false, true] {
            let out = response(b"GET /healthz HTTP/1.1", ready);
            let (head, body) = out.split_once("\r\n\r\n").unwrap();
            assert!(
                head.contains(&format!("content-length: {}", body.len())),
                "{out}"
            );
        }
    }
}
