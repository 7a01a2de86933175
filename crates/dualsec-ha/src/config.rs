//! Tuning of the failover decision, typed and defaulted once (STYLE.md §8).

use std::time::Duration;

/// Timers and thresholds of [`crate::Failover`].
///
/// The defaults aim at an outage under one second on uplink loss (issue 6), far below the
/// provider's DPD-based recovery (30 s, R-TUN-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaConfig {
    /// Send one fast data-path probe on each tunnel whose IKE SA is up every `probe_interval`.
    /// Default 200 ms.
    pub probe_interval: Duration,
    /// A tunnel is judged down when no probe answer arrived for `probe_interval × multiplier`
    /// (BFD-style detection time, RFC 5880 §6.8.4), i.e. after `multiplier` consecutive probes went
    /// unanswered. Default 3 (600 ms detection).
    pub multiplier: u32,
    /// Failback waits until the master has been healthy this long (make before break). Default 3 s.
    pub hold_down: Duration,
    /// Flap damping: every master failure within this window doubles the hold-down. Default 60 s.
    pub damping_window: Duration,
    /// Flap damping: the hold-down never grows beyond this. Default 60 s.
    pub hold_down_max: Duration,
    /// With probes off, health comes from IKE/CHILD SA state only (DPD, R-TUN-5). Default on.
    pub probes_enabled: bool,
}

impl HaConfig {
    /// Default probe interval.
    pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(200);
    /// Default detection multiplier.
    pub const DEFAULT_MULTIPLIER: u32 = 3;
    /// Default failback hold-down.
    pub const DEFAULT_HOLD_DOWN: Duration = Duration::from_secs(3);
    /// Default flap-damping window.
    pub const DEFAULT_DAMPING_WINDOW: Duration = Duration::from_secs(60);
    /// Default hold-down cap.
    pub const DEFAULT_HOLD_DOWN_MAX: Duration = Duration::from_secs(60);

    /// Checks the values a user may have typed; the failover machine only accepts a validated
    /// config.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.probe_interval.is_zero() {
            return Err(ConfigError::ZeroProbeInterval);
        }
        if self.multiplier == 0 {
            return Err(ConfigError::ZeroMultiplier);
        }
        if self.hold_down_max < self.hold_down {
            return Err(ConfigError::HoldDownAboveMax {
                hold_down: self.hold_down,
                max: self.hold_down_max,
            });
        }
        Ok(())
    }

    /// How long without a probe answer before a tunnel is judged down.
    pub fn detection_time(&self) -> Duration {
        self.probe_interval.saturating_mul(self.multiplier)
    }
}

impl Default for HaConfig {
    fn default() -> Self {
        Self {
            probe_interval: Self::DEFAULT_PROBE_INTERVAL,
            multiplier: Self::DEFAULT_MULTIPLIER,
            hold_down: Self::DEFAULT_HOLD_DOWN,
            damping_window: Self::DEFAULT_DAMPING_WINDOW,
            hold_down_max: Self::DEFAULT_HOLD_DOWN_MAX,
            probes_enabled: true,
        }
    }
}

/// A configuration the user must correct.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The probe interval is zero.
    #[error("health-check probe interval must be greater than zero")]
    ZeroProbeInterval,
    /// The multiplier is zero.
    #[error("health-check multiplier (lost probes before a tunnel is down) must be at least 1")]
    ZeroMultiplier,
    /// The hold-down exceeds its own cap.
    #[error("failback hold-down {hold_down:?} exceeds the hold-down cap {max:?}")]
    HoldDownAboveMax {
        /// The configured hold-down.
        hold_down: Duration,
        /// The configured cap.
        max: Duration,
    },
}
