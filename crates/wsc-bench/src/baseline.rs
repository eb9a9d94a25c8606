//! The baseline: a tuned hand-written client doing the engine's work for this one API.
//!
//! reqwest with a kept-alive connection; each page is deserialised by serde into typed structs
//! that borrow from the response body (`Cow<str>` fields: no allocation for strings without
//! escapes, unknown fields skipped without building anything); the next page is requested as
//! soon as the current one has been parsed (the item count tells whether there is one), and the
//! task yields once so that the request really goes out while the current page is written;
//! records are serialised by serde straight into a 1 MiB `BufWriter`, in the engine's output
//! shape `{"type":"account","identity":..,"name":..,"attributes":{..8 attributes..}}`.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::measure::{self, ClientReport};

/// A JSON string borrowed from the body when it has no escapes (serde borrows a `Cow<str>`
/// only when it is the field's exact type, so `Option<Cow>` and `Vec<Cow>` would allocate:
/// this wrapper makes them borrow too).
#[derive(Deserialize, Serialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

/// One page of `GET /api/users/offset`; `total`, `offset` and `limit` are skipped.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    items: Vec<User<'a>>,
}

/// The fields of a user the mapping needs; the rest (`title`, `created`, ...) are skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    user_name: Option<Text<'a>>,
    #[serde(borrow)]
    display_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    name: Option<Name<'a>>,
    #[serde(borrow, default)]
    emails: Vec<Email<'a>>,
    active: Option<bool>,
    #[serde(borrow)]
    department: Option<Text<'a>>,
    employee_number: Option<i64>,
    #[serde(borrow, default)]
    groups: Vec<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Name<'a> {
    #[serde(borrow)]
    given_name: Option<Text<'a>>,
    #[serde(borrow)]
    family_name: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Email<'a> {
    #[serde(borrow)]
    value: Option<Text<'a>>,
}

/// One output line, borrowing everything from the parsed page.
#[derive(Serialize)]
struct OutRecord<'r> {
    #[serde(rename = "type")]
    object_type: &'static str,
    identity: &'r str,
    name: Option<&'r str>,
    attributes: Attributes<'r>,
}

/// The eight attributes, in [`crate::connector::ATTRIBUTES`] order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attributes<'r> {
    display_name: Option<&'r str>,
    given_name: Option<&'r str>,
    family_name: Option<&'r str>,
    email: Option<&'r str>,
    active: Option<bool>,
    department: Option<&'r str>,
    employee_number: Option<i64>,
    groups: &'r [Text<'r>],
}

impl<'r> OutRecord<'r> {
    fn of(u: &'r User<'r>) -> Self {
        let name = u.name.as_ref();
        OutRecord {
            object_type: "account",
            identity: u.id.as_str(),
            name: u.user_name.as_ref().map(Text::as_str),
            attributes: Attributes {
                display_name: u.display_name.as_ref().map(Text::as_str),
                given_name: name.and_then(|n| n.given_name.as_ref().map(Text::as_str)),
                family_name: name.and_then(|n| n.family_name.as_ref().map(Text::as_str)),
                email: u
                    .emails
                    .first()
                    .and_then(|e| e.value.as_ref().map(Text::as_str)),
                active: u.active,
                department: u.department.as_ref().map(Text::as_str),
                employee_number: u.employee_number,
                groups: &u.groups,
            },
        }
    }
}

async fn fetch(client: reqwest::Client, url: String, token: String) -> Result<Bytes> {
    let resp = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()
        .with_context(|| format!("GET {url}"))?;
    resp.bytes().await.with_context(|| format!("reading {url}"))
}

/// Aggregates every user from `url` with pages of `limit` and writes them to `out` (default
/// `/dev/null`).
pub async fn run(url: &str, token: &str, limit: usize, out: Option<&Path>) -> Result<ClientReport> {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(120))
        .build()?;
    let (writer, written) = measure::output(out).context("opening the output")?;
    let mut w = BufWriter::with_capacity(1 << 20, writer);
    let page_url = |offset: usize| format!("{url}/api/users/offset?offset={offset}&limit={limit}");

    let started = Instant::now();
    let mut offset = 0;
    let mut pages = 0u64;
    let mut records = 0u64;
    let mut next = Some(tokio::spawn(fetch(
        client.clone(),
        page_url(offset),
        token.to_string(),
    )));
    while let Some(job) = next.take() {
        let body = job.await.context("a fetch task failed")??;
        pages += 1;
        let page: Page<'_> = serde_json::from_slice(&body).context("parsing a page")?;
        if page.items.len() >= limit {
            offset += limit;
            next = Some(tokio::spawn(fetch(
                client.clone(),
                page_url(offset),
                token.to_string(),
            )));
            // A spawned task waits in this worker's LIFO slot, which other workers cannot
            // steal from, until this task yields: yield once so the request goes out now,
            // not after the page has been written.
            tokio::task::yield_now().await;
        }
        for u in &page.items {
            serde_json::to_writer(&mut w, &OutRecord::of(u))?;
            w.write_all(b"\n")?;
        }
        records += page.items.len() as u64;
    }
    w.flush().context("flushing the output")?;
    let secs = started.elapsed().as_secs_f64();

    Ok(ClientReport {
        records,
        bytes: written.load(Ordering::Relaxed),
        secs,
        pages,
        requests: pages,
        token_requests: 0,
        peak_rss_kib: measure::peak_rss_kib(),
        cpu_secs: measure::cpu_secs(),
        rss_anon_kib: measure::status_kib("RssAnon"),
        rss_file_kib: measure::status_kib("RssFile"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_borrow_from_the_body() {
        let body = br#"{"total":1,"items":[{"id":"u1","userName":"a\"b","displayName":"A",
            "name":{"givenName":"G","familyName":"F"},"emails":[{"value":"e@x","primary":true}],
            "active":true,"department":"D","title":"T","employeeNumber":7,"groups":["g1","g2"]}]}"#;
        let page: Page<'_> = serde_json::from_slice(body).unwrap();
        let u = &page.items[0];
        assert!(matches!(u.id.0, Cow::Borrowed("u1")));
        assert!(matches!(
            u.display_name.as_ref().unwrap().0,
            Cow::Borrowed("A")
        ));
        assert!(matches!(u.groups[1].0, Cow::Borrowed("g2")));
        // An escaped string is decoded into an owned one.
        assert!(matches!(&u.user_name.as_ref().unwrap().0, Cow::Owned(s) if s == "a\"b"));
        let line = serde_json::to_string(&OutRecord::of(u)).unwrap();
        assert_eq!(
            line,
            r#"{"type":"account","identity":"u1","name":"a\"b","attributes":{"displayName":"A","givenName":"G","familyName":"F","email":"e@x","active":true,"department":"D","employeeNumber":7,"groups":["g1","g2"]}}"#
        );
    }
}
