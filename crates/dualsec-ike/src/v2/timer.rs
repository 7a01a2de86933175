//! The one timer table of an IKE SA, keyed by [`Timer`] (STYLE.md §2).

use std::time::{Duration, Instant};

/// Everything an IKE SA can wake up for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Timer {
    /// Resend the outstanding request (RFC 7296 §2.1), or give up after the last retry.
    Retransmit = 0,
    /// Idle long enough: send a liveness check (RFC 7296 §2.4, R-TUN-5).
    Dpd = 1,
    /// A liveness check got no answer within the DPD timeout: the peer is dead (R-TUN-5).
    DpdTimeout = 2,
    /// Soft lifetime of the IKE SA: rekey it (RFC 7296 §2.8).
    RekeyIke = 3,
    /// Soft lifetime of the oldest CHILD SA: rekey it.
    RekeyChild = 4,
    /// Hard lifetime reached (IKE SA or a CHILD SA that could not be rekeyed): tear down.
    HardExpire = 5,
    /// A responder's half-open SA got no IKE_AUTH in time (RFC 7296 §2.6 resource exhaustion).
    HalfOpenExpire = 6,
    /// Delay before re-initiating after a failure or a dead peer (R-TUN-5: renegotiate).
    Reinitiate = 7,
}

impl Timer {
    /// All timers, in the order they are handled when several expire at once.
    pub const VALUES: [Timer; 8] = [
        Timer::Retransmit,
        Timer::DpdTimeout,
        Timer::HardExpire,
        Timer::HalfOpenExpire,
        Timer::Dpd,
        Timer::RekeyIke,
        Timer::RekeyChild,
        Timer::Reinitiate,
    ];

    /// A name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Timer::Retransmit => "retransmit",
            Timer::Dpd => "dpd",
            Timer::DpdTimeout => "dpd-timeout",
            Timer::RekeyIke => "rekey-ike",
            Timer::RekeyChild => "rekey-child",
            Timer::HardExpire => "hard-expire",
            Timer::HalfOpenExpire => "half-open-expire",
            Timer::Reinitiate => "reinitiate",
        }
    }
}

/// Deadlines, one slot per [`Timer`].
#[derive(Clone, Debug, Default)]
pub struct TimerTable([Option<Instant>; 8]);

impl TimerTable {
    /// Arms (or re-arms) `timer`.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }

    /// Arms `timer` at `now + after`; an instant beyond the clock's range disarms it (a huge
    /// configured lifetime then simply never fires).
    pub fn set_after(&mut self, timer: Timer, now: Instant, after: Duration) {
        match now.checked_add(after) {
            Some(at) => self.set(timer, at),
            None => self.stop(timer),
        }
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer as usize]
    }

    /// Whether `timer` is armed.
    pub fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest deadline and which timer it belongs to.
    pub fn next(&self) -> Option<(Instant, Timer)> {
        Timer::VALUES
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (at, t)))
            .min_by_key(|&(at, _)| at)
    }

    /// Disarms and returns the first timer (in [`Timer::VALUES`] order) due at `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let t = Timer::VALUES
            .iter()
            .copied()
            .find(|&t| self.get(t).is_some_and(|at| at <= now))?;
        self.stop(t);
        Some(t)
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.0 = [None; 8];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_the_minimum_and_pop_disarms() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Dpd, t0 + Duration::from_secs(10));
        t.set(Timer::Retransmit, t0 + Duration::from_secs(2));
        assert_eq!(
            t.next(),
            Some((t0 + Duration::from_secs(2), Timer::Retransmit))
        );
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(1)), None);
        assert_eq!(
            t.pop_expired(t0 + Duration::from_secs(11)),
            Some(Timer::Retransmit)
        );
        assert_eq!(
            t.pop_expired(t0 + Duration::from_secs(11)),
            Some(Timer::Dpd)
        );
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(11)), None);
    }
}
