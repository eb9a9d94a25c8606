//! The loopback listener that receives the authorization server's redirect (RFC 8252 §7.3).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;

use super::error::LoginError;

/// The path of the redirect URI when the connector does not configure one.
pub const DEFAULT_REDIRECT_PATH: &str = "/callback";

const MAX_REQUEST_HEAD: usize = 16 * 1024;
const READ_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the loopback listener binds and what redirect URI it answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    /// The address to bind (port 0: any free port).
    pub bind: SocketAddr,
    /// The redirect URI; its port is replaced by the bound one.
    pub uri: Url,
}

/// Works out the listener address and redirect URI: the configured `redirect_uri` (its host
/// must be `127.0.0.1`, `localhost` or `[::1]`), else `http://127.0.0.1:PORT/callback`. The
/// port is the redirect URI's when it names one, else `port`, else any free port.
pub fn redirect_target(
    configured: Option<&str>,
    port: Option<u16>,
) -> Result<RedirectTarget, LoginError> {
    let raw = configured.unwrap_or("http://127.0.0.1/callback");
    let bad = |reason: &str| LoginError::RedirectUri {
        uri: raw.to_string(),
        reason: reason.to_string(),
    };
    let mut uri = Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if uri.scheme() != "http" {
        return Err(bad(
            "wsc listens on the redirect URI itself, so it must be http:// on a loopback address",
        ));
    }
    let ip: std::net::IpAddr = match uri.host() {
        Some(url::Host::Ipv4(a)) if a == Ipv4Addr::LOCALHOST => a.into(),
        Some(url::Host::Ipv6(a)) if a == Ipv6Addr::LOCALHOST => a.into(),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            Ipv4Addr::LOCALHOST.into()
        }
        _ => {
            return Err(bad(
                "the host must be 127.0.0.1, localhost or [::1] (wsc listens only on loopback)",
            ));
        }
    };
    let named = uri.port().filter(|p| *p != 0);
    if let (Some(n), Some(p)) = (named, port)
        && n != p
    {
        tracing::warn!("--port {p} is ignored: the connector's redirect_uri names port {n}");
    }
    let port = named.or(port).unwrap_or(0);
    // A registered query stays (the server appends to it); a fragment is never allowed.
    uri.set_fragment(None);
    Ok(RedirectTarget {
        bind: SocketAddr::new(ip, port),
        uri,
    })
}

/// One request that reached the redirect path.
pub(super) struct Callback {
    stream: TcpStream,
    pub(super) params: Vec<(String, String)>,
}

impl Callback {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) async fn answer(mut self, ok: bool, message: &str) {
        let (status, title) = if ok {
            ("200 OK", "Signed in")
        } else {
            ("400 Bad Request", "Sign-in failed")
        };
        let body = page(title, message);
        let _ = write_response(&mut self.stream, status, &body).await;
    }
}

/// Compares without an early exit, so the time taken does not tell how much of `state` matched.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wsc: {t}</title></head>\n<body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{m}</p></body></html>\n",
        t = html_escape(title),
        m = html_escape(message)
    )
}

async fn write_response(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    let _ = stream.shutdown().await;
    Ok(())
}

/// Reads a request head (up to the blank line) and returns its method and target.
async fn read_head(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            break;
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    Some((method, target))
}

/// Serves one connection: a GET of the redirect path goes to `tx`; anything else is answered
/// here (404 / 405) and dropped.
async fn serve(mut stream: TcpStream, path: String, tx: mpsc::Sender<Callback>) {
    let Ok(Some((method, target))) =
        tokio::time::timeout(READ_HEAD_TIMEOUT, read_head(&mut stream)).await
    else {
        return;
    };
    let (p, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    if p != path {
        let body = page(
            "Not found",
            "This address only receives the sign-in redirect.",
        );
        let _ = write_response(&mut stream, "404 Not Found", &body).await;
        return;
    }
    if method != "GET" {
        let body = page(
            "Method not allowed",
            "The sign-in redirect is a GET request.",
        );
        let _ = write_response(&mut stream, "405 Method Not Allowed", &body).await;
        return;
    }
    let params = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Err(mpsc::error::SendError(cb)) = tx.send(Callback { stream, params }).await {
        cb.answer(
            false,
            "This sign-in is already over; you can close this window.",
        )
        .await;
    }
}

/// A loopback listener waiting for the authorization server's redirect.
#[derive(Debug)]
pub struct Loopback {
    uri: Url,
    rx: mpsc::Receiver<Callback>,
    pub(super) accept: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback").finish_non_exhaustive()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Loopback {
    /// Binds the listener of `target` (see [`redirect_target`]).
    pub async fn bind(target: RedirectTarget) -> Result<Loopback, LoginError> {
        let listener = TcpListener::bind(target.bind)
            .await
            .map_err(|source| LoginError::Bind {
                addr: target.bind,
                hint: if target.bind.port() == 0 {
                    "the loopback interface is not usable".to_string()
                } else {
                    format!(
                        "is port {} in use? Free it, or use another port: `--port N` when the connector sets no redirect_uri (the authorization server must accept it)",
                        target.bind.port()
                    )
                },
                source,
            })?;
        let port = listener.local_addr()?.port();
        let mut uri = target.uri;
        uri.set_port(Some(port))
            .map_err(|()| LoginError::RedirectUri {
                uri: uri.to_string(),
                reason: "cannot carry a port".into(),
            })?;
        let (tx, rx) = mpsc::channel(4);
        let path = uri.path().to_string();
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, path.clone(), tx.clone()));
                    }
                    Err(e) => {
                        tracing::debug!("loopback accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        Ok(Loopback { uri, rx, accept })
    }

    /// The redirect URI, with the port actually bound.
    pub fn redirect_uri(&self) -> &Url {
        &self.uri
    }

    pub(super) async fn next(
        &mut self,
        deadline: Instant,
        waited: Duration,
    ) -> Result<Callback, LoginError> {
        let timeout = LoginError::Timeout {
            what: "the redirect from the authorization server",
            waited,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.rx.recv()).await {
            Ok(Some(cb)) => Ok(cb),
            Ok(None) | Err(_) => Err(timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets() {
        let t = redirect_target(None, None).unwrap();
        assert_eq!(t.bind, "127.0.0.1:0".parse().unwrap());
        assert_eq!(t.uri.path(), "/callback");
        let t = redirect_target(None, Some(9000)).unwrap();
        assert_eq!(t.bind.port(), 9000);
        let t = redirect_target(Some("http://localhost:8765/cb"), Some(9000)).unwrap();
        assert_eq!(t.bind, "127.0.0.1:8765".parse().unwrap());
        assert_eq!(t.uri.host_str(), Some("localhost"));
        assert_eq!(t.uri.path(), "/cb");
        let t = redirect_target(Some("http://[::1]:8765/cb"), None).unwrap();
        assert_eq!(t.bind, "[::1]:8765".parse().unwrap());
        for bad in [
            "https://127.0.0.1:8765/cb",
            "http://example.com:8765/cb",
            "http://10.0.0.1:8765/cb",
            "not a url",
        ] {
            let e = redirect_target(Some(bad), None).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn pages_escape() {
        assert!(!page("<x>", "a&b").contains("<x>"));
    }
}
