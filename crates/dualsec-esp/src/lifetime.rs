//! SA lifetimes in seconds and bytes (RFC 4301 §4.4.2.1): the soft limit asks IKE to rekey, the
//! hard limit stops the SA.

use std::time::{Duration, Instant};

/// Soft and hard limits; `None` means "no limit of this kind".
///
/// R-TUN-4: the IPsec SA lifetime is configured in seconds (default 86400); IKE derives the soft
/// limit (rekey) from it, and may add byte limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifetimes {
    /// After this long, ask for a rekey.
    pub soft_time: Option<Duration>,
    /// After this long, the SA stops.
    pub hard_time: Option<Duration>,
    /// After this many protected bytes (inner packets), ask for a rekey.
    pub soft_bytes: Option<u64>,
    /// After this many protected bytes, the SA stops.
    pub hard_bytes: Option<u64>,
}

/// Which limit a lifetime event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifetimeKind {
    /// Rekey now (make-before-break).
    Soft,
    /// The SA is dead: remove it.
    Hard,
}

/// What reached the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifetimeCause {
    /// Seconds since installation.
    Time,
    /// Bytes protected.
    Bytes,
}

/// Emitted once per kind and SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimeEvent {
    /// Soft or hard.
    pub kind: LifetimeKind,
    /// Time or bytes.
    pub cause: LifetimeCause,
}

/// The lifetime timers of one SA (STYLE.md §2: a table keyed by an enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifetimeTimer {
    /// Soft expiry.
    SoftExpire,
    /// Hard expiry.
    HardExpire,
}

/// Tracks one SA's usage against its limits.
#[derive(Debug, Clone)]
pub struct LifetimeTracker {
    limits: Lifetimes,
    installed: Instant,
    bytes: u64,
    soft_fired: bool,
    hard_fired: bool,
    pending_soft: Option<LifetimeCause>,
    pending_hard: Option<LifetimeCause>,
}

impl LifetimeTracker {
    /// Starts counting at `now`.
    pub fn new(limits: Lifetimes, now: Instant) -> Self {
        Self {
            limits,
            installed: now,
            bytes: 0,
            soft_fired: false,
            hard_fired: false,
            pending_soft: None,
            pending_hard: None,
        }
    }

    /// Whether the hard limit has been reached (the SA must not be used).
    pub fn is_hard_expired(&self) -> bool {
        self.hard_fired
    }

    /// Bytes counted so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Checks the time limits at `now`; returns whether the SA may still be used.
    pub fn check_time(&mut self, now: Instant) -> bool {
        let age = now.saturating_duration_since(self.installed);
        if self.limits.soft_time.is_some_and(|t| age >= t) {
            self.fire(LifetimeKind::Soft, LifetimeCause::Time);
        }
        if self.limits.hard_time.is_some_and(|t| age >= t) {
            self.fire(LifetimeKind::Hard, LifetimeCause::Time);
        }
        !self.hard_fired
    }

    /// Whether `n` more bytes may be protected without passing the hard byte limit.
    pub fn may_add(&self, n: u64) -> bool {
        !self.hard_fired
            && self
                .limits
                .hard_bytes
                .is_none_or(|h| self.bytes.saturating_add(n) <= h)
    }

    /// Counts `n` bytes (after the packet was authenticated or sent).
    pub fn add_bytes(&mut self, n: u64) {
        self.bytes = self.bytes.saturating_add(n);
        if self.limits.soft_bytes.is_some_and(|s| self.bytes >= s) {
            self.fire(LifetimeKind::Soft, LifetimeCause::Bytes);
        }
        if self.limits.hard_bytes.is_some_and(|h| self.bytes >= h) {
            self.fire(LifetimeKind::Hard, LifetimeCause::Bytes);
        }
    }

    /// Marks the hard limit reached for a reason outside the limits (e.g. the sequence number
    /// space is exhausted, RFC 4303 §3.3.3).
    pub fn force_hard(&mut self, cause: LifetimeCause) {
        self.fire(LifetimeKind::Hard, cause);
    }

    fn fire(&mut self, kind: LifetimeKind, cause: LifetimeCause) {
        match kind {
            LifetimeKind::Soft if !self.soft_fired => {
                self.soft_fired = true;
                self.pending_soft = Some(cause);
            }
            LifetimeKind::Hard if !self.hard_fired => {
                self.hard_fired = true;
                // A hard expiry implies the soft one; don't ask for a rekey after the fact.
                self.soft_fired = true;
                self.pending_hard = Some(cause);
            }
            _ => {}
        }
    }

    /// The next timer deadline, if any timer is still armed.
    pub fn poll_timeout(&self) -> Option<(Instant, LifetimeTimer)> {
        let soft = (!self.soft_fired)
            .then_some(self.limits.soft_time)
            .flatten()
            .map(|d| (self.installed + d, LifetimeTimer::SoftExpire));
        let hard = (!self.hard_fired)
            .then_some(self.limits.hard_time)
            .flatten()
            .map(|d| (self.installed + d, LifetimeTimer::HardExpire));
        match (soft, hard) {
            (Some(s), Some(h)) => Some(if s.0 <= h.0 { s } else { h }),
            (s, h) => s.or(h),
        }
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.check_time(now);
    }

    /// The next lifetime event; hard events come first.
    pub fn poll_event(&mut self) -> Option<LifetimeEvent> {
        if let Some(cause) = self.pending_hard.take() {
            return Some(LifetimeEvent {
                kind: LifetimeKind::Hard,
                cause,
            });
        }
        self.pending_soft.take().map(|cause| LifetimeEvent {
            kind: LifetimeKind::Soft,
            cause,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_then_hard_by_time() {
        let t0 = Instant::now();
        let limits = Lifetimes {
            soft_time: Some(Duration::from_secs(10)),
            hard_time: Some(Duration::from_secs(20)),
            ..Default::default()
        };
        let mut lt = LifetimeTracker::new(limits, t0);
        assert_eq!(
            lt.poll_timeout(),
            Some((t0 + Duration::from_secs(10), LifetimeTimer::SoftExpire))
        );
        lt.handle_timeout(t0 + Duration::from_secs(9));
        assert_eq!(lt.poll_event(), None);
        lt.handle_timeout(t0 + Duration::from_secs(10));
        assert_eq!(
            lt.poll_event(),
            Some(LifetimeEvent {
                kind: LifetimeKind::Soft,
                cause: LifetimeCause::Time
            })
        );
        assert_eq!(lt.poll_event(), None);
        assert_eq!(
            lt.poll_timeout(),
            Some((t0 + Duration::from_secs(20), LifetimeTimer::HardExpire))
        );
        assert!(lt.check_time(t0 + Duration::from_secs(19)));
        assert!(!lt.check_time(t0 + Duration::from_secs(20)));
        assert_eq!(
            lt.poll_event(),
            Some(LifetimeEvent {
                kind: LifetimeKind::Hard,
                cause: LifetimeCause::Time
            })
        );
        assert_eq!(lt.poll_timeout(), None);
        assert!(lt.is_hard_expired());
    }

    #[test]
    fn bytes_limits() {
        let t0 = Instant::now();
        let limits = Lifetimes {
            soft_bytes: Some(1000),
            hard_bytes: Some(2000),
            ..Default::default()
        };
        let mut lt = LifetimeTracker::new(limits, t0);
        lt.add_bytes(999);
        assert_eq!(lt.poll_event(), None);
        lt.add_bytes(1);
        assert_eq!(
            lt.poll_event(),
            Some(LifetimeEvent {
                kind: LifetimeKind::Soft,
                cause: LifetimeCause::Bytes
            })
        );
        assert!(lt.may_add(1000));
        assert!(!lt.may_add(1001));
        lt.add_bytes(1000);
        assert_eq!(
            lt.poll_event(),
            Some(LifetimeEvent {
                kind: LifetimeKind::Hard,
                cause: LifetimeCause::Bytes
            })
        );
        assert!(!lt.may_add(0));
        // Each event fires once.
        lt.add_bytes(10);
        assert_eq!(lt.poll_event(), None);
    }

    #[test]
    fn hard_before_soft_suppresses_soft() {
        let t0 = Instant::now();
        let limits = Lifetimes {
            hard_time: Some(Duration::from_secs(5)),
            soft_bytes: Some(10),
            ..Default::default()
        };
        let mut lt = LifetimeTracker::new(limits, t0);
        lt.handle_timeout(t0 + Duration::from_secs(6));
        lt.add_bytes(100);
        assert_eq!(lt.poll_event().map(|e| e.kind), Some(LifetimeKind::Hard));
        assert_eq!(lt.poll_event(), None);
    }
}
