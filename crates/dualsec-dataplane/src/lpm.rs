//! Longest-prefix match by binary search on prefix lengths (Waldvogel, Varghese, Turner, Plattner,
//! "Scalable High Speed IP Routing Lookups", SIGCOMM 1997).
//!
//! One hash table per distinct prefix length; a lookup probes at most ⌈log2(#lengths + 1)⌉
//! tables (≤ 6 for IPv4, ≤ 8 for IPv6) whatever the number of routes, so 100 000 routes cost the
//! per-packet path no more than 10. Markers placed along each prefix's search path carry their
//! precomputed best matching prefix, so the search never backtracks. The table is immutable once
//! built: the control plane builds a new one and the workers swap an `Arc` between batches.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast non-cryptographic hasher for `u128` keys. Table contents come from configuration, not
/// from the network, so hash flooding is not a concern here.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

type Map<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// An immutable longest-prefix-match table over `width`-bit keys (32 for IPv4, 128 for IPv6).
#[derive(Debug, Clone)]
pub struct Lpm<V> {
    width: u8,
    /// Distinct prefix lengths, ascending.
    lengths: Vec<u8>,
    /// Per length: key → best matching real prefix (index into `values`) for prefixes and
    /// markers; `None` for a marker with no shorter real prefix.
    tables: Vec<Map<Option<u32>>>,
    values: Vec<V>,
}

/// `key` with all but its first `len` of `width` bits cleared.
pub(crate) fn mask(key: u128, len: u8, width: u8) -> u128 {
    if len == 0 {
        0
    } else {
        let shift = u32::from(width - len);
        (key >> shift) << shift
    }
}

impl<V> Lpm<V> {
    /// Builds the table. Prefix lengths above `width` are clamped; host bits are ignored; a
    /// duplicate prefix keeps the last value.
    pub fn build(width: u8, prefixes: impl IntoIterator<Item = (u128, u8, V)>) -> Self {
        let mut entries: Vec<(u128, u8, V)> = prefixes
            .into_iter()
            .map(|(k, l, v)| {
                let l = l.min(width);
                (mask(k, l, width), l, v)
            })
            .collect();
        let mut lengths: Vec<u8> = entries.iter().map(|e| e.1).collect();
        lengths.sort_unstable();
        lengths.dedup();
        let li = |l: u8| lengths.binary_search(&l).unwrap_or(0);

        // Pass 1: real prefixes.
        let mut real: Vec<Map<u32>> = vec![Map::default(); lengths.len()];
        let mut values = Vec::with_capacity(entries.len());
        let mut keys = Vec::with_capacity(entries.len());
        for (k, l, v) in entries.drain(..) {
            let idx = values.len() as u32;
            values.push(v);
            real[li(l)].insert(k, idx);
            keys.push((k, l));
        }
        let naive_bmp = |key: u128, upto: usize| -> Option<u32> {
            (0..=upto)
                .rev()
                .find_map(|i| real[i].get(&mask(key, lengths[i], width)).copied())
        };

        // Pass 2: prefixes point at themselves; markers on each search path get their BMP.
        let mut tables: Vec<Map<Option<u32>>> = vec![Map::default(); lengths.len()];
        for (i, t) in real.iter().enumerate() {
            for (k, v) in t {
                tables[i].insert(*k, Some(*v));
            }
        }
        for (k, l) in keys {
            let target = li(l);
            let (mut lo, mut hi) = (0isize, lengths.len() as isize - 1);
            while lo <= hi {
                let mid = ((lo + hi) / 2) as usize;
                if mid == target {
                    break;
                }
                if mid < target {
                    let mk = mask(k, lengths[mid], width);
                    tables[mid].entry(mk).or_insert_with(|| naive_bmp(mk, mid));
                    lo = mid as isize + 1;
                } else {
                    hi = mid as isize - 1;
                }
            }
        }
        Self {
            width,
            lengths,
            tables,
            values,
        }
    }

    /// The value of the longest prefix containing `key`.
    pub fn lookup(&self, key: u128) -> Option<&V> {
        let (mut lo, mut hi) = (0isize, self.lengths.len() as isize - 1);
        let mut best = None;
        while lo <= hi {
            let mid = ((lo + hi) / 2) as usize;
            match self.tables[mid].get(&mask(key, self.lengths[mid], self.width)) {
                Some(bmp) => {
                    if bmp.is_some() {
                        best = *bmp;
                    }
                    lo = mid as isize + 1;
                }
                None => hi = mid as isize - 1,
            }
        }
        best.and_then(|i| self.values.get(i as usize))
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    fn naive(prefixes: &[(u128, u8, u32)], key: u128, width: u8) -> Option<u32> {
        prefixes
            .iter()
            .filter(|(k, l, _)| mask(*k, *l, width) == mask(key, *l, width))
            .max_by_key(|(_, l, _)| *l)
            .map(|p| p.2)
    }

    #[test]
    fn small_table() {
        let p = [
            (0x0a00_0000, 8, 1),
            (0x0a01_0000, 16, 2),
            (0x0a01_0100, 24, 3),
            (0, 0, 9),
        ];
        let t = Lpm::build(32, p);
        assert_eq!(t.lookup(0x0a01_0105), Some(&3));
        assert_eq!(t.lookup(0x0a01_0205), Some(&2));
        assert_eq!(t.lookup(0x0a02_0205), Some(&1));
        assert_eq!(t.lookup(0x0b00_0000), Some(&9));
        let t = Lpm::<u32>::build(32, []);
        assert_eq!(t.lookup(1), None);
    }

    #[test]
    fn marker_without_shorter_prefix_falls_back_correctly() {
        // /32 exists; a search that follows its /16 marker and fails must return the /8 result,
        // not nothing.
        let p = [
            (0x0a00_0000, 8, 1),
            (0x0a01_0203, 32, 2),
            (0x0b00_0000, 16, 3),
            (0x0a01_0200, 24, 4),
        ];
        let t = Lpm::build(32, p);
        assert_eq!(t.lookup(0x0a01_0203), Some(&2));
        assert_eq!(t.lookup(0x0a01_0204), Some(&4));
        assert_eq!(t.lookup(0x0a01_0304), Some(&1));
        assert_eq!(t.lookup(0x0c00_0000), None);
    }

    #[test]
    fn random_tables_agree_with_a_linear_scan() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for width in [32u8, 128] {
            for _ in 0..20 {
                let n = 1 + (rng.next_u32() % 300) as usize;
                let mut p = Vec::new();
                for i in 0..n {
                    // Cluster keys so that prefixes nest.
                    let base = u128::from(rng.next_u32() % 4) << (width - 4);
                    let k = base | (u128::from(rng.next_u64()) & ((1u128 << (width - 4)) - 1));
                    let l = (rng.next_u32() % (u32::from(width) + 1)) as u8;
                    p.push((mask(k, l, width), l, i as u32));
                }
                // Duplicates: the last one wins in `build`; make the reference agree.
                let mut dedup: Vec<(u128, u8, u32)> = Vec::new();
                for e in &p {
                    dedup.retain(|d| !(d.0 == e.0 && d.1 == e.1));
                    dedup.push(*e);
                }
                let t = Lpm::build(width, p.iter().copied());
                for _ in 0..500 {
                    let key = if rng.next_u32() % 2 == 0 {
                        let e = &p[(rng.next_u32() as usize) % p.len()];
                        e.0 | (u128::from(rng.next_u64()) & ((1u128 << (width - e.1.max(1))) - 1))
                    } else {
                        (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()))
                            & if width == 32 { 0xffff_ffff } else { u128::MAX }
                    };
                    assert_eq!(
                        t.lookup(key).copied(),
                        naive(&dedup, key, width),
                        "width {width} key {key:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn hundred_thousand_routes_probe_few_tables() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let p: Vec<(u128, u8, u32)> = (0..100_000u32)
            .map(|i| {
                let l = [16u8, 20, 24, 24, 24, 28, 32][(rng.next_u32() % 7) as usize];
                (mask(u128::from(rng.next_u32()), l, 32), l, i)
            })
            .collect();
        let t = Lpm::build(32, p.iter().copied());
        assert_eq!(t.lengths.len(), 5);
        // Every route is found by its own address.
        for (k, l, _) in p.iter().take(200) {
            let hit = t.lookup(*k).copied();
            let want = naive(&p, *k, 32);
            assert_eq!(hit, want, "{k:#x}/{l}");
        }
    }
}
