//! [`HashSet64`]: a compact set of 64-bit hashes, for the duplicate-identity check of a run.
//!
//! Remembering every identity of a run is the one part of an aggregation whose memory grows
//! with the number of records; this set keeps it near the minimum for exact 64-bit hashes:
//! 6 bytes per hash (against 16 to 27 for a `HashSet<u64>` with its spare room and the copy
//! made while it grows). Recent hashes sit in a small open-addressing table; when it fills up,
//! they are sorted and merged into the sorted store, in place from the back. The sorted store
//! keeps the top 16 bits of each hash implicit: a directory gives where each of the 65,536
//! buckets starts, and an entry holds the low 48 bits.

/// Slots of the recent table (a power of two).
const RECENT_SLOTS: usize = 1 << 15;
/// Hashes in the recent table before they are merged into the sorted store (a load of 3/4).
const RECENT_MAX: usize = RECENT_SLOTS / 4 * 3;
/// Buckets of the sorted store: the top 16 bits.
const BUCKETS: usize = 1 << 16;
/// Bytes per stored hash: the low 48 bits.
const ENTRY: usize = 6;
const LOW_MASK: u64 = (1 << 48) - 1;

/// A set of 64-bit hashes (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct HashSet64 {
    /// Recent hashes by open addressing (0: empty; the hash 0 is stored as 1).
    recent: Vec<u64>,
    recent_len: usize,
    /// `starts[b]..starts[b + 1]`: the entries of bucket `b` in `low` (allocated on the first
    /// merge).
    starts: Vec<u32>,
    /// The low 48 bits of every merged hash, sorted, 6 bytes each (little-endian).
    low: Vec<u8>,
    /// Scratch for a merge.
    batch: Vec<u64>,
}

impl HashSet64 {
    /// Adds `h`; false when it was there already.
    pub(crate) fn insert(&mut self, h: u64) -> bool {
        let h = h.max(1);
        if self.in_sorted(h) {
            return false;
        }
        if self.recent.is_empty() {
            self.recent = vec![0; RECENT_SLOTS];
        }
        let mask = RECENT_SLOTS - 1;
        // Slots from the low bits (the sorted store's buckets use the high ones).
        let mut i = (h as usize) & mask;
        loop {
            match self.recent[i] {
                0 => break,
                x if x == h => return false,
                _ => i = (i + 1) & mask,
            }
        }
        self.recent[i] = h;
        self.recent_len += 1;
        if self.recent_len >= RECENT_MAX {
            self.merge();
        }
        true
    }

    /// How many hashes the set holds.
    pub(crate) fn len(&self) -> usize {
        self.low.len() / ENTRY + self.recent_len
    }

    /// Writes every hash in ascending order (8 bytes each, little-endian) and empties the
    /// set, keeping its buffers for the hashes to come (the memory stays where it was).
    pub(crate) fn drain_sorted(&mut self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        if self.recent_len > 0 {
            self.merge();
        }
        if !self.starts.is_empty() {
            for b in 0..BUCKETS {
                let high = (b as u64) << 48;
                for i in self.starts[b] as usize..self.starts[b + 1] as usize {
                    out.write_all(&(high | self.entry(i)).to_le_bytes())?;
                }
            }
            self.starts.fill(0);
        }
        self.low.clear();
        Ok(())
    }

    fn entry(&self, i: usize) -> u64 {
        let mut b = [0u8; 8];
        b[..ENTRY].copy_from_slice(&self.low[i * ENTRY..(i + 1) * ENTRY]);
        u64::from_le_bytes(b)
    }

    fn in_sorted(&self, h: u64) -> bool {
        if self.starts.is_empty() {
            return false;
        }
        let b = (h >> 48) as usize;
        let (mut lo, mut hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let want = h & LOW_MASK;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let x = self.entry(mid);
            if x == want {
                return true;
            }
            if x < want {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        false
    }

    /// Moves the recent hashes into the sorted store.
    fn merge(&mut self) {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        batch.extend(self.recent.iter().copied().filter(|&x| x != 0));
        batch.sort_unstable();
        self.recent.fill(0);
        self.recent_len = 0;
        if self.starts.is_empty() {
            self.starts = vec![0; BUCKETS + 1];
        }
        let old = self.low.len() / ENTRY;
        let total = old + batch.len();
        self.low.reserve_exact(batch.len() * ENTRY);
        self.low.resize(total * ENTRY, 0);
        // From the back: the largest of the next old entry and the next new hash goes last.
        let mut bucket = BUCKETS - 1;
        let (mut i, mut j, mut w) = (old, batch.len(), total);
        let mut counts = vec![0u32; BUCKETS];
        while j > 0 {
            let new = batch[j - 1];
            let old_value = if i > 0 {
                while (self.starts[bucket] as usize) >= i {
                    bucket -= 1;
                }
                Some(((bucket as u64) << 48) | self.entry(i - 1))
            } else {
                None
            };
            let v = match old_value {
                Some(o) if o > new => {
                    i -= 1;
                    o
                }
                _ => {
                    j -= 1;
                    counts[(new >> 48) as usize] += 1;
                    new
                }
            };
            w -= 1;
            self.low[w * ENTRY..(w + 1) * ENTRY].copy_from_slice(&v.to_le_bytes()[..ENTRY]);
        }
        // The old entries before `i` stay where they are; rebuild the directory.
        let mut start = 0u32;
        for (b, c) in counts.iter().enumerate() {
            let old_in_bucket = self.starts[b + 1] - self.starts[b];
            self.starts[b] = start;
            start += old_in_bucket + c;
        }
        self.starts[BUCKETS] = start;
        self.batch = batch;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use wsc_testkit::rng::Rng;

    use super::*;

    #[test]
    fn it_is_a_set() {
        let mut r = Rng(0x1d5e_7000_0000_0001);
        let mut set = HashSet64::default();
        let mut reference = HashSet::new();
        // Hashes drawn from a small range repeat often; spread ones exercise every bucket.
        for k in 0..150_000u64 {
            let h = match k % 4 {
                0 => r.next() % 50_000,
                1 => r.next(),
                2 => (r.next() % 64) << 58 | (r.next() & 0xff),
                _ => u64::MAX - r.next() % 1000,
            };
            assert_eq!(set.insert(h), reference.insert(h.max(1)), "hash {h:#x}");
        }
        assert_eq!(set.len(), reference.len());
        for h in reference {
            assert!(!set.insert(h), "{h:#x} stays in the set");
        }
    }
}
