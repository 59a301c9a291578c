//! Health endpoint for the container: `GET /healthz` (or `/health`) → `200 ok` on its own address,
//! and `GET /metrics` → [`crate::metrics`]. A minimal HTTP/1.1 responder on a tokio listener, so
//! it works in polling and webhook mode alike.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Binds `addr` and serves the health endpoint in the background. Returns the bound address
/// (useful with port 0).
pub async fn spawn(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let response = response(&buf[..n]);
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(bound)
}

fn response(request: &[u8]) -> std::borrow::Cow<'static, str> {
    let line = request
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let path = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
    let method_ok = line.starts_with(b"GET ") || line.starts_with(b"HEAD ");
    if method_ok && path == b"/metrics" {
        return crate::metrics::http_response().into();
    }
    match method_ok && matches!(path, b"/healthz" | b"/health") {
        true => {
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n"
        }
        false => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_health_and_rejects_other_paths() {
        let addr = spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        for (path, status) in [("/healthz", "200"), ("/health", "200"), ("/other", "404")] {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            assert!(
                out.starts_with(&format!("HTTP/1.1 {status}")),
                "help: {path}: {out}"
            );
        }
    }
}
