//! What a client run reports, and the small pieces both clients share: the output writer and
//! the peak resident set size.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// What one client run (a child process) reports to the parent, as one JSON line on stdout.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientReport {
    /// Records written.
    pub records: u64,
    /// Bytes of JSON Lines output written.
    pub bytes: u64,
    /// Seconds from the first request to the flushed output.
    pub secs: f64,
    /// Pages received.
    pub pages: u64,
    /// HTTP requests sent, as the client counts them.
    pub requests: u64,
    /// Token requests made by the client.
    pub token_requests: u64,
    /// Peak resident set size of the client process (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// CPU time (user + system, all threads) the client process used, seconds.
    pub cpu_secs: f64,
    /// At the end of the run: resident memory that is the process's own (heap, stacks), KiB.
    #[serde(default)]
    pub rss_anon_kib: u64,
    /// At the end of the run: resident pages of mapped files (the executable, libraries), KiB.
    #[serde(default)]
    pub rss_file_kib: u64,
}

impl ClientReport {
    /// Records per second.
    pub fn rate(&self) -> f64 {
        self.records as f64 / self.secs.max(1e-9)
    }
}

/// A writer that counts the bytes it passes on.
#[derive(Debug)]
pub struct Counting<W> {
    inner: W,
    count: Arc<AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The output of a client: `/dev/null` (or `out`), unbuffered, counting bytes. Each client adds
/// its own buffer on top (the engine's sinks buffer 64 KiB; the baseline uses a `BufWriter`).
pub fn output(out: Option<&Path>) -> io::Result<(Counting<File>, Arc<AtomicU64>)> {
    let file = match out {
        Some(p) => File::create(p)?,
        None => File::options().write(true).open("/dev/null")?,
    };
    let count = Arc::new(AtomicU64::new(0));
    Ok((
        Counting {
            inner: file,
            count: count.clone(),
        },
        count,
    ))
}

/// The peak resident set size of this process so far (`VmHWM` of `/proc/self/status`), in KiB;
/// 0 where there is no such file.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM")
}

/// A `kB` line of `/proc/self/status` (`VmHWM`, `RssAnon`, ...), in KiB; 0 where there is none.
pub fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system, all threads) this process has used so far, in seconds, from
/// `/proc/self/stat` (clock ticks of 1/100 s, Linux's `USER_HZ`); 0 where there is no such file.
pub fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name start with field 3 (state); utime and stime
    // are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_on_linux() {
        if Path::new("/proc/self/status").exists() {
            assert!(peak_rss_kib() > 0);
        }
    }

    #[test]
    fn cpu_time_is_read_on_linux() {
        if Path::new("/proc/self/stat").exists() {
            let mut x = 0u64;
            let start = std::time::Instant::now();
            while start.elapsed().as_millis() < 60 {
                x = x.wrapping_add(std::hint::black_box(1));
            }
            assert!(x > 0);
            assert!(cpu_secs() > 0.0);
        }
    }

    #[test]
    fn counting_writer_counts() {
        let count = Arc::new(AtomicU64::new(0));
        let mut w = Counting {
            inner: Vec::new(),
            count: count.clone(),
        };
        w.write_all(b"hello").unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 5);
        assert_eq!(w.inner, b"hello");
    }
}
