//! Measures how fast the synthetic API serves users: a plain reqwest + serde_json client walks
//! the offset endpoint with several pages in flight and prints records/s. Not a test: it
//! asserts only that every user arrived.
//!
//! ```text
//! cargo run --release -p wsc-testkit --example throughput -- [USERS] [PAGE_SIZE] [CONCURRENCY] [raw]
//! ```

use std::time::Instant;

use wsc_testkit::synthetic::{SyntheticApi, SyntheticConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let users: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let page_size: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4);
    // "raw": count bytes without parsing, to see the server's own capacity.
    let parse = args.next().as_deref() != Some("raw");

    let api = SyntheticApi::start(SyntheticConfig::new(users).with_groups(100)).await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let pages = users.div_ceil(page_size);
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, base) = (client.clone(), next.clone(), api.base_url());
        tasks.push(tokio::spawn(async move {
            let mut records = 0usize;
            loop {
                let page = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if page >= pages {
                    return records;
                }
                let url = format!(
                    "{base}/api/users/offset?offset={}&limit={page_size}",
                    page * page_size
                );
                let bytes = client.get(url).send().await.unwrap().bytes().await.unwrap();
                if parse {
                    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    records += body["items"].as_array().unwrap().len();
                } else {
                    records += (page_size).min(users - page * page_size);
                }
            }
        }));
    }
    let mut records = 0;
    for task in tasks {
        records += task.await?;
    }
    let elapsed = started.elapsed();
    assert_eq!(records, users);
    let stats = api.stats();
    println!(
        "{records} users in {:.2?}: {:.0} records/s, {:.1} MB/s, {} pages, {} connections",
        elapsed,
        records as f64 / elapsed.as_secs_f64(),
        stats.bytes_served as f64 / 1e6 / elapsed.as_secs_f64(),
        stats.pages.total(),
        stats.connections,
    );

    // The server's share: writing the same pages without HTTP or parsing.
    let started = Instant::now();
    let mut bytes = 0usize;
    let config = api.config().clone();
    for i in 0..users {
        bytes += serde_json::to_vec(&wsc_testkit::synthetic::user(&config, i))?.len();
    }
    println!(
        "for scale: building + serializing owned User structs: {:.0} records/s ({bytes} bytes)",
        users as f64 / started.elapsed().as_secs_f64()
    );
    api.shutdown().await;
    Ok(())
}
