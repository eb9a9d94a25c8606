//! The progress line on a terminal while a run goes (nothing when stderr is not a terminal):
//! counters of this object only (from zero, whatever ran before on the same engine), a
//! percentage and an ETA when the listing told its total, pages and lookups apart.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use wsc_engine::{Engine, Summary};

/// Shows records, pages, lookups, rate and retries on a terminal while a run goes.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

/// `n` and a noun, plural unless `n` is 1.
pub(crate) fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A duration as `42s`, `3m07s` or `1h02m`.
fn short_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The progress message: counters since `base`, `secs` after the start.
pub(crate) fn message(now: &Summary, base: &Summary, secs: f64) -> String {
    let records = now.records.saturating_sub(base.records);
    let pages = now.pages.saturating_sub(base.pages);
    let lookups = now.lookups.saturating_sub(base.lookups);
    let retries = now.retries.saturating_sub(base.retries);
    // The total of this run: what its first pages told, beyond what earlier runs told.
    let total = match (now.expected, base.expected) {
        (Some(t), Some(b)) if t > b => Some(t - b),
        (Some(t), None) => Some(t),
        _ => None,
    };
    let mut m = match total {
        Some(t) => format!(
            "{records}/{t} records ({:.0}%)",
            100.0 * records.min(t) as f64 / t as f64
        ),
        None => count(records, "record"),
    };
    m.push_str(&format!(", {}", count(pages, "page")));
    if lookups > 0 {
        m.push_str(&format!(", {}", count(lookups, "lookup")));
    }
    // A rate only once there is something to measure (not a first page in 1 ms).
    if secs >= 0.5 && records > 0 {
        let rate = records as f64 / secs;
        m.push_str(&format!(", {rate:.0} records/s"));
        if let Some(t) = total
            && t > records
        {
            m.push_str(&format!(
                ", ETA {}",
                short_duration((t - records) as f64 / rate)
            ));
        }
    }
    if retries > 0 {
        m.push_str(&format!(
            ", {}",
            count(retries, "retry").replace("retrys", "retries")
        ));
    }
    m
}

impl Progress {
    /// Starts the line for `engine`'s run, labelled `label`.
    pub(crate) fn start(engine: &Engine, label: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                ticker: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label.to_string());
        let b = bar.clone();
        let e = engine.clone();
        let base = engine.summary();
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            loop {
                b.set_message(message(
                    &e.summary(),
                    &base,
                    started.elapsed().as_secs_f64(),
                ));
                b.tick();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Progress {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    /// Clears the line.
    pub(crate) fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::message;
    use wsc_engine::Summary;

    fn at(records: u64, pages: u64, lookups: u64, expected: Option<u64>) -> Summary {
        Summary {
            records,
            pages,
            lookups,
            expected,
            ..Summary::default()
        }
    }

    #[test]
    fn counts_from_zero_with_percentage_and_eta() {
        // Groups after 10,000 accounts: the line starts from zero, not from the accounts.
        let base = at(10_000, 41, 0, Some(10_000));
        assert_eq!(
            message(&at(10_000, 41, 0, Some(10_000)), &base, 0.001),
            "0 records, 0 pages"
        );
        let now = at(10_025, 42, 0, Some(10_050));
        assert_eq!(
            message(&now, &base, 1.0),
            "25/50 records (50%), 1 page, 25 records/s, ETA 1s"
        );
        // Lookups are not pages.
        let now = at(30, 1, 33, None);
        assert_eq!(
            message(&now, &Summary::default(), 2.0),
            "30 records, 1 page, 33 lookups, 15 records/s"
        );
        let now = at(500, 5, 0, Some(1000));
        assert_eq!(
            message(&now, &Summary::default(), 50.0),
            "500/1000 records (50%), 5 pages, 10 records/s, ETA 50s"
        );
    }
}
