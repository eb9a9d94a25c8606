//! Helpers shared by the synthetic API integration tests.

#![allow(dead_code)]

use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// A client that never uses a proxy (loopback only).
pub fn client() -> Client {
    Client::builder().no_proxy().build().unwrap()
}

/// GET `url`, returning status, headers and the body parsed as JSON.
pub async fn get(client: &Client, url: &str) -> (StatusCode, HeaderMap, Value) {
    let resp = client.get(url).send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{url}: invalid JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, headers, body)
}

/// GET `url` expecting 200, returning the JSON body.
pub async fn get_ok(client: &Client, url: &str) -> Value {
    let (status, _, body) = get(client, url).await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    body
}

/// Standard base64 with padding.
pub fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The target of the `rel="next"` link in an RFC 8288 `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("link")?.to_str().unwrap();
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// The paging styles the server offers.
pub const STYLES: [&str; 5] = ["offset", "page", "cursor", "next", "link"];

/// Walks every page of `/api/{coll}/{style}` with page size `size`; returns the items in
/// order and the number of pages fetched.
pub async fn walk(
    client: &Client,
    base: &str,
    coll: &str,
    style: &str,
    size: usize,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    match style {
        "offset" => {
            let mut offset = 0;
            loop {
                let body = get_ok(
                    client,
                    &format!("{base}/api/{coll}/offset?offset={offset}&limit={size}"),
                )
                .await;
                pages += 1;
                assert_eq!(body["offset"], offset);
                assert_eq!(body["limit"], size);
                let total = body["total"].as_u64().unwrap() as usize;
                let page = body["items"].as_array().unwrap();
                assert!(page.len() <= size);
                let len = page.len();
                items.extend(page.iter().cloned());
                offset += len;
                if len == 0 || offset >= total {
                    break;
                }
            }
        }
        "page" => {
            let mut page_no = 1;
            loop {
                let body = get_ok(
                    client,
                    &format!("{base}/api/{coll}/page?page={page_no}&per_page={size}"),
                )
                .await;
                pages += 1;
                assert_eq!(body["page"], page_no);
                assert_eq!(body["per_page"], size);
                let total = body["total"].as_u64().unwrap() as usize;
                assert_eq!(
                    body["total_pages"].as_u64().unwrap() as usize,
                    total.div_ceil(size)
                );
                items.extend(body["items"].as_array().unwrap().iter().cloned());
                if page_no >= total.div_ceil(size) {
                    break;
                }
                page_no += 1;
            }
        }
        "cursor" => {
            let mut url = format!("{base}/api/{coll}/cursor?limit={size}");
            loop {
                let body = get_ok(client, &url).await;
                pages += 1;
                items.extend(body["items"].as_array().unwrap().iter().cloned());
                match body.get("next_cursor") {
                    Some(c) => {
                        url = format!(
                            "{base}/api/{coll}/cursor?limit={size}&cursor={}",
                            c.as_str().unwrap()
                        )
                    }
                    None => break,
                }
            }
        }
        "next" => {
            let mut url = format!("{base}/api/{coll}/next?limit={size}");
            loop {
                let body = get_ok(client, &url).await;
                pages += 1;
                items.extend(body["items"].as_array().unwrap().iter().cloned());
                match body.get("next") {
                    Some(next) => {
                        let next = next.as_str().unwrap();
                        assert!(
                            next.starts_with(&format!("{base}/api/{coll}/next?after=")),
                            "{next}"
                        );
                        url = next.to_owned();
                    }
                    None => break,
                }
            }
        }
        "link" => {
            let mut url = format!("{base}/api/{coll}/link?per_page={size}");
            loop {
                let (status, headers, body) = get(client, &url).await;
                assert_eq!(status, StatusCode::OK);
                pages += 1;
                items.extend(
                    body.as_array()
                        .expect("link pages are bare arrays")
                        .iter()
                        .cloned(),
                );
                match next_link(&headers) {
                    Some(next) => {
                        assert!(next.starts_with(base), "{next}");
                        url = next;
                    }
                    None => break,
                }
            }
        }
        other => panic!("unknown style {other}"),
    }
    assert!(pages < 100_000);
    (items, pages)
}
