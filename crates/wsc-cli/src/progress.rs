//! The progress line on a terminal while a run goes (nothing when stderr is not a terminal).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use wsc_engine::Engine;

/// Shows records, pages, rate and retries on a terminal while a run goes.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
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
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            loop {
                let s = e.summary();
                let secs = started.elapsed().as_secs_f64().max(0.001);
                b.set_message(format!(
                    "{} records, {} pages, {:.0} records/s, {} retries",
                    s.records,
                    s.pages,
                    s.records as f64 / secs,
                    s.retries
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
