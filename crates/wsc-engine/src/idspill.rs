//! [`SpilledIds`]: the duplicate-identity check of a long run in bounded memory.
//!
//! The in-memory set ([`crate::idset::HashSet64`]) costs 6 bytes per record, the one part of
//! an aggregation whose memory grows with the number of records. With `on_duplicate: error`
//! a repeated identity only has to fail the run, not to be dropped when it arrives, so the
//! check need not be online for the whole run: when the set reaches [`SPILL_AT`] hashes, its
//! hashes are written, sorted, as one *run* to a temporary file (unlinked at once, so nothing
//! is left behind), and the set starts again empty. Repeats within the set (records close to
//! each other, as offset paging over a changing list repeats them) are still found as they
//! arrive; repeats across runs are found by merging the sorted runs: when [`FAN_IN`] runs of
//! the same size have piled up (they are merged into one, as in a log-structured merge: each
//! hash is rewritten once per level, about log8(records / SPILL_AT) times) and at the end of
//! the run, before it can succeed. The check stays exact (64-bit hashes, as before), memory
//! stays flat in the number of records, and the disk holds 8 bytes per record (a merged run
//! is moved down over the runs it replaces, and the file cut after it).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::idset::HashSet64;

/// Hashes held in memory before they are written out as a run (about 0.4 MiB of
/// [`HashSet64::small`]).
pub(crate) const SPILL_AT: usize = 1 << 15;
/// Runs of one level merged into one run of the next level (bounds the runs on disk, and the
/// final merge's buffers, to `FAN_IN - 1` per level).
pub(crate) const FAN_IN: usize = 8;
/// The read buffer of each run in a merge.
const READ_BUF: usize = 8 << 10;

/// Sorted runs of identity hashes in a temporary file.
#[derive(Debug)]
pub(crate) struct SpilledIds {
    file: File,
    /// The path the file had (already unlinked), for messages.
    path: PathBuf,
    /// The runs in `file`, in file order (their levels never increase along it).
    runs: Vec<Run>,
    /// Where the next run goes.
    end: u64,
}

/// A sorted run of hashes in the file.
#[derive(Debug, Clone, Copy)]
struct Run {
    at: u64,
    hashes: u64,
    /// 0 for a run written from the set, `l + 1` for a merge of runs of level `l`.
    level: u32,
}

/// What a merge of the runs found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Merged {
    /// Every hash once.
    Distinct,
    /// A hash twice (an identity delivered twice, or two identities sharing a hash).
    Repeated,
}

impl SpilledIds {
    /// A new, empty temporary file in the system's temporary folder.
    pub(crate) fn create() -> std::io::Result<SpilledIds> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            ".wsc-identities-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // Unlinked at once: the space goes back when the file is closed, however the
        // process ends.
        std::fs::remove_file(&path)?;
        Ok(SpilledIds {
            file,
            path,
            runs: Vec::new(),
            end: 0,
        })
    }

    /// Where the file was (it is unlinked), for messages.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Moves every hash of `set` into a new run (emptying the set); merges the last runs
    /// when [`FAN_IN`] of them have the same level.
    pub(crate) fn spill(&mut self, set: &mut HashSet64) -> std::io::Result<Merged> {
        let n = set.len() as u64;
        if n == 0 {
            return Ok(Merged::Distinct);
        }
        let start = self.end;
        let mut w = BufWriter::with_capacity(64 << 10, OffsetWriter::new(&self.file, start));
        set.drain_sorted(&mut w)?;
        w.flush()?;
        drop(w);
        self.runs.push(Run {
            at: start,
            hashes: n,
            level: 0,
        });
        self.end = start + n * 8;
        loop {
            let level = self.runs.last().map_or(0, |r| r.level);
            let same = self
                .runs
                .iter()
                .rev()
                .take_while(|r| r.level == level)
                .count();
            if same < FAN_IN {
                return Ok(Merged::Distinct);
            }
            if self.compact(self.runs.len() - same)? == Merged::Repeated {
                return Ok(Merged::Repeated);
            }
        }
    }

    /// Merges the runs from `first` on (the last ones in the file) into one of the next
    /// level: written after them, then moved down to where they started, the file cut after.
    fn compact(&mut self, first: usize) -> std::io::Result<Merged> {
        let out = self.end;
        let mut w = BufWriter::with_capacity(64 << 10, OffsetWriter::new(&self.file, out));
        let mut total = 0u64;
        let found = merge(&self.file, &self.runs[first..], |h| {
            total += 1;
            w.write_all(&h.to_le_bytes())
        })?;
        w.flush()?;
        drop(w);
        let to = self.runs[first].at;
        // The merged run is no longer than the runs it replaces, so the two ranges never
        // overlap.
        let mut buf = vec![0u8; 64 << 10];
        let mut done = 0u64;
        while done < total * 8 {
            let n = (total * 8 - done).min(buf.len() as u64) as usize;
            self.file.read_exact_at(&mut buf[..n], out + done)?;
            self.file.write_all_at(&buf[..n], to + done)?;
            done += n as u64;
        }
        let level = self.runs[first].level + 1;
        self.runs.truncate(first);
        self.runs.push(Run {
            at: to,
            hashes: total,
            level,
        });
        self.end = to + total * 8;
        self.file.set_len(self.end)?;
        Ok(found)
    }

    /// Checks every run together: [`Merged::Repeated`] when a hash is in two of them.
    pub(crate) fn check(&self) -> std::io::Result<Merged> {
        merge(&self.file, &self.runs, |_| Ok(()))
    }

    /// Bytes the file holds now.
    #[cfg(test)]
    fn file_len(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }
}

/// Merges `runs` of `file` in ascending order, giving each distinct hash to `each`.
fn merge(
    file: &File,
    runs: &[Run],
    mut each: impl FnMut(u64) -> std::io::Result<()>,
) -> std::io::Result<Merged> {
    let mut readers: Vec<RunReader<'_>> = runs
        .iter()
        .map(|r| RunReader::new(file, r.at, r.hashes))
        .collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(h) = r.next()? {
            heap.push(Reverse((h, i)));
        }
    }
    let mut last = None;
    let mut found = Merged::Distinct;
    while let Some(Reverse((h, i))) = heap.pop() {
        if last == Some(h) {
            found = Merged::Repeated;
        } else {
            each(h)?;
            last = Some(h);
        }
        if let Some(next) = readers[i].next()? {
            heap.push(Reverse((next, i)));
        }
    }
    Ok(found)
}

/// Writes to a file from an offset on, with positioned writes.
struct OffsetWriter<'a> {
    file: &'a File,
    at: u64,
}

impl<'a> OffsetWriter<'a> {
    fn new(file: &'a File, at: u64) -> Self {
        OffsetWriter { file, at }
    }
}

impl Write for OffsetWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write_all_at(buf, self.at)?;
        self.at += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads one run's hashes in order, a buffer at a time.
struct RunReader<'a> {
    file: &'a File,
    at: u64,
    left: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl<'a> RunReader<'a> {
    fn new(file: &'a File, at: u64, hashes: u64) -> Self {
        RunReader {
            file,
            at,
            left: hashes,
            buf: Vec::new(),
            pos: 0,
        }
    }

    fn next(&mut self) -> std::io::Result<Option<u64>> {
        if self.pos == self.buf.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let n = (self.left as usize).min(READ_BUF / 8);
            self.buf.resize(n * 8, 0);
            self.file.read_exact_at(&mut self.buf, self.at)?;
            self.at += (n * 8) as u64;
            self.left -= n as u64;
            self.pos = 0;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[self.pos..self.pos + 8]);
        self.pos += 8;
        Ok(Some(u64::from_le_bytes(b)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use wsc_testkit::rng::Rng;

    use super::*;

    /// Inserts `hashes` the way the duplicate check does (spilling at `every`); true when
    /// a repeat was found, online or by a merge.
    fn repeated(hashes: &[u64], every: usize) -> bool {
        let mut set = HashSet64::small();
        let mut spilled = SpilledIds::create().unwrap();
        for &h in hashes {
            if !set.insert(h) {
                return true;
            }
            if set.len() >= every && spilled.spill(&mut set).unwrap() == Merged::Repeated {
                return true;
            }
        }
        spilled.spill(&mut set).unwrap() == Merged::Repeated
            || spilled.check().unwrap() == Merged::Repeated
    }

    #[test]
    fn a_repeat_is_found_in_the_set_across_runs_and_after_compaction() {
        let mut r = Rng(0x5b11_1000_0000_0007);
        let distinct: Vec<u64> = {
            let mut seen = HashSet::new();
            std::iter::from_fn(|| Some(r.next().max(1)))
                .filter(|h| seen.insert(*h))
                .take(10_000)
                .collect()
        };
        // Runs of 100 hashes: 100 runs, so merges on the way at two levels (after 800 and
        // 6,400 hashes), and runs of three levels at the end.
        assert!(!repeated(&distinct, 100));
        // In the set; across runs found by the compaction; by the final check, across runs
        // and between the compacted run and the last ones.
        for (first, second) in [
            (0, 1),
            (5, 99),
            (10, 750),
            (10, 6_500),
            (0, 9_999),
            (6_300, 6_450),
            (9_700, 9_990),
        ] {
            let mut hashes = distinct.clone();
            hashes[second] = hashes[first];
            assert!(repeated(&hashes, 100), "{first} repeated at {second}");
        }
        // Both copies in the set after a merge.
        let mut hashes = distinct.clone();
        hashes[9_950] = hashes[9_910];
        assert!(repeated(&hashes, 100));
    }

    #[test]
    fn merged_runs_take_the_place_of_theirs() {
        let mut r = Rng(0x5b11_1000_0000_0009);
        let mut set = HashSet64::small();
        let mut spilled = SpilledIds::create().unwrap();
        for k in 1..=20_000u64 {
            assert!(set.insert(r.next()));
            if k % 100 == 0 {
                assert_eq!(spilled.spill(&mut set).unwrap(), Merged::Distinct);
                // 8 bytes per hash written out, however many merges were made.
                assert_eq!(spilled.file_len(), k * 8, "after {k}");
                assert!(
                    spilled.runs.len() <= 3 * (FAN_IN - 1),
                    "{} runs",
                    spilled.runs.len()
                );
            }
        }
        assert_eq!(spilled.check().unwrap(), Merged::Distinct);
    }

    #[test]
    fn the_file_is_gone_from_the_folder_at_once() {
        let spilled = SpilledIds::create().unwrap();
        assert!(!spilled.path().exists());
    }
}
