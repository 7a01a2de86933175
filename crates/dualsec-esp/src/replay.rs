//! Anti-replay window (RFC 4303 §3.4.3) with 64-bit Extended Sequence Numbers (Appendix A2).
//!
//! The check and the update are separate (STYLE.md §6): [`ReplayWindow::check`] only reads and
//! returns the full 64-bit sequence number that the ICV must be computed over;
//! [`ReplayWindow::commit`] records it after the ICV verified. A forged packet therefore never
//! moves the window.
//!
//! The bitmap is a ring of 64-bit blocks indexed by `seq / 64` (the layout of RFC 6479), so
//! advancing the window clears whole blocks instead of shifting bits.

/// Default window size (packets); SPEC/task: 1024.
pub const DEFAULT_WINDOW: u32 = 1024;
/// Largest supported window size.
pub const MAX_WINDOW: u32 = 4096;
/// Smallest supported window size (RFC 4303 §3.4.3: "a minimum window size of 32 packets MUST be
/// supported"; smaller windows are not offered).
pub const MIN_WINDOW: u32 = 32;

const BLOCKS: usize = (MAX_WINDOW as usize / 64) + 1;

/// Why a sequence number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Seen before (RFC 4303 §3.4.3).
    #[error("sequence number {0} already received")]
    Duplicate(u64),
    /// Left of the window.
    #[error("sequence number {0} is older than the window")]
    TooOld(u64),
    /// Sequence number zero is never sent (RFC 4303 §3.3.3) without ESN; with ESN the inferred
    /// number would lie before the start of the SA.
    #[error("sequence number is invalid")]
    Invalid,
}

/// The receive side's anti-replay state.
#[derive(Clone)]
pub struct ReplayWindow {
    /// Highest authenticated sequence number (0 = none yet).
    top: u64,
    size: u32,
    esn: bool,
    blocks: [u64; BLOCKS],
}

impl core::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("top", &self.top)
            .field("size", &self.size)
            .field("esn", &self.esn)
            .finish_non_exhaustive()
    }
}

impl ReplayWindow {
    /// A window of `size` packets (clamped into `MIN_WINDOW..=MAX_WINDOW` by the caller's
    /// validation; see `SaParams::validate`).
    pub fn new(size: u32, esn: bool) -> Self {
        Self {
            top: 0,
            size: size.clamp(MIN_WINDOW, MAX_WINDOW),
            esn,
            blocks: [0; BLOCKS],
        }
    }

    /// Window size in packets.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Highest sequence number accepted so far.
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Infers the full sequence number for `seq_low` (RFC 4303 Appendix A2.2) and checks it
    /// against the window. Does not change any state.
    pub fn check(&self, seq_low: u32) -> Result<u64, ReplayError> {
        let seq = if self.esn {
            self.infer_esn(seq_low)?
        } else {
            u64::from(seq_low)
        };
        if seq == 0 {
            return Err(ReplayError::Invalid);
        }
        if seq > self.top {
            return Ok(seq);
        }
        if seq + u64::from(self.size) <= self.top {
            return Err(ReplayError::TooOld(seq));
        }
        if self.bit(seq) {
            return Err(ReplayError::Duplicate(seq));
        }
        Ok(seq)
    }

    /// Records `seq` (returned by [`check`](Self::check) and since authenticated).
    pub fn commit(&mut self, seq: u64) {
        if seq > self.top {
            let old_block = self.top / 64;
            let new_block = seq / 64;
            let clear = (new_block - old_block).min(BLOCKS as u64);
            for i in 1..=clear {
                self.blocks[((old_block + i) % BLOCKS as u64) as usize] = 0;
            }
            self.top = seq;
        }
        let idx = ((seq / 64) % BLOCKS as u64) as usize;
        self.blocks[idx] |= 1 << (seq % 64);
    }

    fn bit(&self, seq: u64) -> bool {
        let idx = ((seq / 64) % BLOCKS as u64) as usize;
        self.blocks[idx] & (1 << (seq % 64)) != 0
    }

    /// RFC 4303 Appendix A2.2: pick the high 32 bits that put `seq_low` nearest the window.
    fn infer_esn(&self, seq_low: u32) -> Result<u64, ReplayError> {
        let w = self.size;
        let tl = self.top as u32;
        let th = (self.top >> 32) as u32;
        let bottom = tl.wrapping_sub(w - 1);
        let seq_high = if tl >= w - 1 {
            // Case A: the window lies within one sequence-number subspace.
            if seq_low >= bottom {
                th
            } else {
                th.checked_add(1).ok_or(ReplayError::Invalid)?
            }
        } else if seq_low >= bottom {
            // Case B, the packet belongs to the previous subspace.
            th.checked_sub(1).ok_or(ReplayError::Invalid)?
        } else {
            th
        };
        Ok((u64::from(seq_high) << 32) | u64::from(seq_low))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(w: &mut ReplayWindow, low: u32) -> Result<u64, ReplayError> {
        let s = w.check(low)?;
        w.commit(s);
        Ok(s)
    }

    #[test]
    fn in_order_and_duplicates_rfc4303_s3_4_3() {
        let mut w = ReplayWindow::new(64, false);
        assert_eq!(w.check(0), Err(ReplayError::Invalid));
        for s in 1..=200 {
            assert_eq!(accept(&mut w, s), Ok(u64::from(s)));
            assert_eq!(w.check(s), Err(ReplayError::Duplicate(u64::from(s))));
        }
    }

    #[test]
    fn check_without_commit_changes_nothing() {
        let mut w = ReplayWindow::new(64, false);
        accept(&mut w, 10).unwrap();
        assert_eq!(w.check(1000), Ok(1000));
        assert_eq!(w.top(), 10);
        assert_eq!(accept(&mut w, 5), Ok(5));
    }

    #[test]
    fn window_edges() {
        for size in [32, 64, 100, 1024, 4096] {
            let mut w = ReplayWindow::new(size, false);
            let top = 10_000u32;
            accept(&mut w, top).unwrap();
            let oldest = top - size + 1;
            assert_eq!(w.check(oldest), Ok(u64::from(oldest)), "size {size}");
            assert_eq!(
                w.check(oldest - 1),
                Err(ReplayError::TooOld(u64::from(oldest - 1))),
                "size {size}"
            );
            accept(&mut w, oldest).unwrap();
            assert!(w.check(oldest).is_err());
            // Every other in-window number is still fresh.
            for s in oldest + 1..top {
                assert!(w.check(s).is_ok(), "size {size} seq {s}");
            }
            // Sliding by one pushes `oldest` out and keeps the rest.
            accept(&mut w, top + 1).unwrap();
            assert_eq!(w.check(oldest), Err(ReplayError::TooOld(u64::from(oldest))));
            assert!(w.check(oldest + 1).is_ok());
        }
    }

    #[test]
    fn big_jump_clears_stale_bits() {
        let mut w = ReplayWindow::new(1024, false);
        for s in 1..=1024 {
            accept(&mut w, s).unwrap();
        }
        // Jump far ahead: the ring wraps; old bits must not mark new numbers as seen.
        accept(&mut w, 1_000_000).unwrap();
        for s in 1_000_000 - 1023..1_000_000 {
            assert!(w.check(s).is_ok(), "seq {s}");
        }
        // A jump of exactly one ring length.
        let mut w = ReplayWindow::new(4096, false);
        accept(&mut w, 64).unwrap();
        let next = 64 + 64 * BLOCKS as u32;
        accept(&mut w, next).unwrap();
        assert!(w.check(next - 64 * BLOCKS as u32 + 4096).is_ok());
    }

    #[test]
    fn out_of_order_within_window() {
        let mut w = ReplayWindow::new(1024, false);
        for s in (1..=500).rev() {
            // Highest first, then the rest arrive late.
            accept(&mut w, s).unwrap();
        }
        for s in 1..=500 {
            assert!(w.check(s).is_err());
        }
    }

    #[test]
    fn esn_wrap_rfc4303_a2_2() {
        let mut w = ReplayWindow::new(64, true);
        accept(&mut w, 1 << 31).unwrap();
        accept(&mut w, u32::MAX - 5).unwrap();
        assert_eq!(w.top(), u64::from(u32::MAX - 5));
        // Crossing into the next subspace: low bits wrap, high bits become 1.
        assert_eq!(accept(&mut w, 3), Ok((1 << 32) | 3));
        // Case B: a late packet from the previous subspace is still inside the window.
        assert_eq!(accept(&mut w, u32::MAX - 1), Ok(u64::from(u32::MAX - 1)));
        assert_eq!(
            w.check(u32::MAX - 5),
            Err(ReplayError::Duplicate(u64::from(u32::MAX - 5)))
        );
        // Case B: a low number below the window bottom belongs to the current subspace.
        assert_eq!(w.check(10), Ok((1 << 32) | 10));
        // Case A after moving well into subspace 1.
        accept(&mut w, 1000).unwrap();
        assert_eq!(w.check(u32::MAX), Ok((1 << 32) | u64::from(u32::MAX)));
        assert_eq!(w.check(990), Ok((1 << 32) | 990));
        assert_eq!(w.check(5), Ok((2 << 32) | 5));
    }

    #[test]
    fn esn_first_subspace_cannot_go_negative() {
        let w = ReplayWindow::new(64, true);
        // top = 0: bottom wraps; a huge low number would need high = -1.
        assert_eq!(w.check(u32::MAX), Err(ReplayError::Invalid));
        assert_eq!(w.check(1), Ok(1));
    }

    proptest::proptest! {
        /// The ring bitmap agrees with a naive model (a set of everything seen) on random
        /// arrival orders, window sizes and jumps (RFC 4303 §3.4.3).
        #[test]
        fn agrees_with_naive_model(
            size in MIN_WINDOW..=MAX_WINDOW,
            steps in proptest::collection::vec((0u32..3, 0u32..10_000), 1..400),
        ) {
            let mut w = ReplayWindow::new(size, false);
            let mut seen = std::collections::BTreeSet::new();
            let mut top = 0u64;
            let mut cursor = 1u32;
            for (kind, delta) in steps {
                // Mostly near the top, sometimes behind it, sometimes a big jump ahead.
                let seq = match kind {
                    0 => cursor.saturating_add(delta % 64),
                    1 => cursor.saturating_sub(delta),
                    _ => cursor.saturating_add(delta),
                };
                cursor = cursor.max(seq);
                let s = u64::from(seq);
                let want = if s == 0 {
                    Err(ReplayError::Invalid)
                } else if s > top {
                    Ok(s)
                } else if s + u64::from(size) <= top {
                    Err(ReplayError::TooOld(s))
                } else if seen.contains(&s) {
                    Err(ReplayError::Duplicate(s))
                } else {
                    Ok(s)
                };
                proptest::prop_assert_eq!(w.check(seq), want);
                if want.is_ok() {
                    w.commit(s);
                    seen.insert(s);
                    top = top.max(s);
                }
            }
        }
    }

    #[test]
    fn non_esn_never_wraps() {
        let mut w = ReplayWindow::new(64, false);
        accept(&mut w, u32::MAX).unwrap();
        assert_eq!(w.check(1), Err(ReplayError::TooOld(1)));
    }
}
