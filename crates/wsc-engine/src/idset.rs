//! [`HashSet64`]: a compact set of 64-bit hashes, for the duplicate-identity check of a run.
//!
//! Remembering every identity of a run is the one part of an aggregation whose memory grows
//! with the number of records; this set keeps it near the minimum for exact 64-bit hashes:
//! 6 bytes per hash (against 16 to 27 for a `HashSet<u64>` with its spare room and the copy
//! made while it grows). Recent hashes sit in a small open-addressing table; when it fills up,
//! they are sorted and merged into the sorted store, in place from the back. The sorted store
//! keeps the top bits of each hash implicit: a directory gives where each bucket starts, and
//! an entry holds the other bits.
//!
//! Two sizes: [`HashSet64::default`] for a set that holds a whole run (65,536 buckets, 6 bytes
//! per hash, a 256 KiB directory), [`HashSet64::small`] for one that is written out every few
//! ten thousand hashes (4,096 buckets, 7 bytes per hash, a 16 KiB directory, a smaller recent
//! table): about 0.4 MiB in all at 32,768 hashes instead of 1.5 MiB.

/// Bits of a hash in an entry's bytes.
const fn entry_bytes(bucket_bits: u32) -> usize {
    (64 - bucket_bits as usize).div_ceil(8)
}

/// A set of 64-bit hashes (see the module documentation).
#[derive(Debug)]
pub(crate) struct HashSet64 {
    /// The top bits of a hash that choose its bucket.
    bucket_bits: u32,
    /// Bytes per stored hash (its other bits).
    entry: usize,
    /// Slots of the recent table (a power of two).
    recent_slots: usize,
    /// Recent hashes by open addressing (0: empty; the hash 0 is stored as 1).
    recent: Vec<u64>,
    recent_len: usize,
    /// `starts[b]..starts[b + 1]`: the entries of bucket `b` in `low` (allocated on the first
    /// merge).
    starts: Vec<u32>,
    /// The low bits of every merged hash, sorted, `entry` bytes each (little-endian).
    low: Vec<u8>,
    /// Scratch for a merge: the recent hashes sorted, and the new entries per bucket.
    batch: Vec<u64>,
    counts: Vec<u32>,
}

impl Default for HashSet64 {
    /// A set for a whole run: 6 bytes per hash.
    fn default() -> Self {
        HashSet64::with_buckets(16, 1 << 15)
    }
}

impl HashSet64 {
    /// A set written out every few ten thousand hashes: small fixed costs, 7 bytes per hash.
    pub(crate) fn small() -> Self {
        HashSet64::with_buckets(12, 1 << 13)
    }

    fn with_buckets(bucket_bits: u32, recent_slots: usize) -> Self {
        HashSet64 {
            bucket_bits,
            entry: entry_bytes(bucket_bits),
            recent_slots,
            recent: Vec::new(),
            recent_len: 0,
            starts: Vec::new(),
            low: Vec::new(),
            batch: Vec::new(),
            counts: Vec::new(),
        }
    }

    fn buckets(&self) -> usize {
        1 << self.bucket_bits
    }

    fn low_bits(&self) -> u32 {
        64 - self.bucket_bits
    }

    fn low_mask(&self) -> u64 {
        (1u64 << self.low_bits()) - 1
    }

    /// Adds `h`; false when it was there already.
    pub(crate) fn insert(&mut self, h: u64) -> bool {
        let h = h.max(1);
        if self.in_sorted(h) {
            return false;
        }
        if self.recent.is_empty() {
            self.recent = vec![0; self.recent_slots];
        }
        let mask = self.recent_slots - 1;
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
        // Merged at a load of 3/4.
        if self.recent_len >= self.recent_slots / 4 * 3 {
            self.merge();
        }
        true
    }

    /// How many hashes the set holds.
    pub(crate) fn len(&self) -> usize {
        self.low.len() / self.entry + self.recent_len
    }

    /// Writes every hash in ascending order (8 bytes each, little-endian) and empties the
    /// set, keeping its buffers for the hashes to come (the memory stays where it was).
    pub(crate) fn drain_sorted(&mut self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        if self.recent_len > 0 {
            self.merge();
        }
        if !self.starts.is_empty() {
            for b in 0..self.buckets() {
                let high = (b as u64) << self.low_bits();
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
        let e = self.entry;
        let mut b = [0u8; 8];
        b[..e].copy_from_slice(&self.low[i * e..(i + 1) * e]);
        u64::from_le_bytes(b)
    }

    fn in_sorted(&self, h: u64) -> bool {
        if self.starts.is_empty() {
            return false;
        }
        let b = (h >> self.low_bits()) as usize;
        let (mut lo, mut hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let want = h & self.low_mask();
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
        let buckets = self.buckets();
        let (shift, e, mask) = (self.low_bits(), self.entry, self.low_mask());
        if self.starts.is_empty() {
            self.starts = vec![0; buckets + 1];
        }
        let mut counts = std::mem::take(&mut self.counts);
        counts.clear();
        counts.resize(buckets, 0);
        let old = self.low.len() / e;
        let total = old + batch.len();
        self.low.reserve_exact(batch.len() * e);
        self.low.resize(total * e, 0);
        // From the back: the largest of the next old entry and the next new hash goes last.
        let mut bucket = buckets - 1;
        let (mut i, mut j, mut w) = (old, batch.len(), total);
        while j > 0 {
            let new = batch[j - 1];
            let old_value = if i > 0 {
                while (self.starts[bucket] as usize) >= i {
                    bucket -= 1;
                }
                Some(((bucket as u64) << shift) | self.entry(i - 1))
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
                    counts[(new >> shift) as usize] += 1;
                    new
                }
            };
            w -= 1;
            let bits = (v & mask).to_le_bytes();
            self.low[w * e..(w + 1) * e].copy_from_slice(&bits[..e]);
        }
        // The old entries before `i` stay where they are; rebuild the directory.
        let mut start = 0u32;
        for (b, c) in counts.iter().enumerate() {
            let old_in_bucket = self.starts[b + 1] - self.starts[b];
            self.starts[b] = start;
            start += old_in_bucket + c;
        }
        self.starts[buckets] = start;
        self.batch = batch;
        self.counts = counts;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use wsc_testkit::rng::Rng;

    use super::*;

    #[test]
    fn it_is_a_set_in_both_sizes() {
        for (size, mut set) in [
            ("default", HashSet64::default()),
            ("small", HashSet64::small()),
        ] {
            let mut r = Rng(0x1d5e_7000_0000_0001);
            let mut reference = HashSet::new();
            // Hashes drawn from a small range repeat often; spread ones exercise every bucket.
            for k in 0..150_000u64 {
                let h = match k % 4 {
                    0 => r.next() % 50_000,
                    1 => r.next(),
                    2 => (r.next() % 64) << 58 | (r.next() & 0xff),
                    _ => u64::MAX - r.next() % 1000,
                };
                assert_eq!(set.insert(h), reference.insert(h.max(1)), "{size}: {h:#x}");
            }
            assert_eq!(set.len(), reference.len(), "{size}");
            for &h in &reference {
                assert!(!set.insert(h), "{size}: {h:#x} stays in the set");
            }
            // Drained: every hash once, ascending; the set is empty and usable again.
            let mut out = Vec::new();
            set.drain_sorted(&mut out).unwrap();
            let drained: Vec<u64> = out
                .chunks(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            let mut want: Vec<u64> = reference.into_iter().collect();
            want.sort_unstable();
            assert_eq!(drained, want, "{size}");
            assert_eq!(set.len(), 0, "{size}");
            assert!(set.insert(7) && !set.insert(7), "{size}");
        }
    }
}
