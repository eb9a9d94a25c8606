//! The response cache of one run (`cache: true` on an operation or step): responses keyed by
//! method, URL and body, so several object types or steps that start from the same listing
//! read it once. Bounded in memory: once [`MAX_BYTES`] of bodies are held, further responses
//! are not kept (and are fetched again when asked for).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::message::{Body, PreparedRequest, Response};

/// Bodies held at most.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// The cache of one engine (one run).
#[derive(Debug, Default)]
pub(crate) struct ResponseCache {
    inner: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    map: HashMap<Vec<u8>, Response>,
    bytes: usize,
    hits: u64,
}

/// The key of a request: method, URL and body bytes.
fn key(req: &PreparedRequest) -> Vec<u8> {
    let mut k = Vec::with_capacity(64);
    k.extend_from_slice(req.method.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(req.url.as_str().as_bytes());
    k.push(0);
    match &req.body {
        Body::Empty => {}
        Body::Json(b) => k.extend_from_slice(b),
        Body::Form(pairs) | Body::Multipart(pairs) => {
            for (n, v) in pairs {
                k.extend_from_slice(n.as_bytes());
                k.push(0);
                k.extend_from_slice(v.as_bytes());
                k.push(0);
            }
        }
        Body::Raw { content_type, text } => {
            k.extend_from_slice(content_type.as_bytes());
            k.push(0);
            k.extend_from_slice(text.as_bytes());
        }
    }
    k
}

impl ResponseCache {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept response to an identical request.
    pub(crate) fn get(&self, req: &PreparedRequest) -> Option<Response> {
        let mut h = self.held();
        let r = h.map.get(&key(req)).cloned();
        if r.is_some() {
            h.hits += 1;
        }
        r
    }

    /// Keeps a response, unless that would pass [`MAX_BYTES`].
    pub(crate) fn put(&self, req: &PreparedRequest, resp: &Response) {
        let mut h = self.held();
        let size = resp.body.len();
        if h.bytes + size > MAX_BYTES {
            tracing::debug!(target: "wsc::engine", url = %resp.url, "response cache full: not kept");
            return;
        }
        if h.map.insert(key(req), resp.clone()).is_none() {
            h.bytes += size;
        }
    }

    /// Requests answered from the cache.
    pub(crate) fn hits(&self) -> u64 {
        self.held().hits
    }
}
