//! Dual-tunnel failover decision logic (R-HA-1..5, R-TUN-5), as a pure sans-IO state machine.
//!
//! Every IPsec connection has two tunnels: tunnel 1 (gateway IP 1) is always the master and
//! tunnel 2 (gateway IP 2) always the backup (R-HA-1, R-HA-2). [`Failover`] decides which one
//! carries outbound traffic from what the engine observes:
//!
//! - IKE and CHILD SA up/down, including DPD declaring the peer dead (R-TUN-5): an SA going down
//!   fails the tunnel at once;
//! - a BFD-like fast data-path probe (RFC 5880 in spirit): every `probe_interval` the machine asks
//!   for one probe through *each* tunnel whose IKE SA is up, so the backup's health is known before
//!   traffic moves to it. A tunnel is judged down when no answer arrived for
//!   `probe_interval × multiplier` (defaults 200 ms × 3). Inbound data silence is never an input:
//!   a quiet peer that answers probes stays healthy.
//!
//! Failover is immediate. Failback happens when the master has been healthy for the hold-down
//! (default 3 s) while the backup still works (make before break: the master's SAs are up and its
//! probes are answered before traffic moves back). Repeated master failures within the damping
//! window double the hold-down, up to a cap. With both tunnels down the status is
//! [`Redundancy::Down`] and traffic stays on the tunnel that carried it last.
//!
//! Polling order after each input: [`Failover::handle_timeout`] when [`Failover::poll_timeout`]
//! passed, then [`Failover::poll_probe`] until `None`, then [`Failover::poll_event`] until `None`,
//! then read [`Failover::active`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use dualsec_ha::{Failover, HaConfig, SaKind, TunnelId, ZoneId};
//!
//! let t0 = Instant::now();
//! let mut ha = Failover::new(HaConfig::default()).unwrap();
//! for t in TunnelId::ALL {
//!     ha.configure(t, ZoneId::from(if t == TunnelId::One { "zone-a" } else { "zone-b" }), t0);
//!     ha.sa_up(t, SaKind::Ike, t0);
//!     ha.sa_up(t, SaKind::Child, t0);
//! }
//! // The engine sends each probe through its tunnel; here every probe is answered at once.
//! while let Some(p) = ha.poll_probe() {
//!     ha.probe_answered(p.tunnel, p.seq, t0 + Duration::from_millis(1));
//! }
//! assert_eq!(ha.active(), TunnelId::One);
//! // DPD declares tunnel 1's peer dead: traffic moves at once.
//! ha.dpd_dead(TunnelId::One, t0 + Duration::from_secs(1));
//! assert_eq!(ha.active(), TunnelId::Two);
//! ```
//!
//! Accepting inbound traffic on both tunnels at all times (peers route asymmetrically) is the data
//! plane's job: this crate only decides the outbound direction.

mod config;
mod failover;
mod tunnel;

pub use config::{ConfigError, HaConfig};
pub use failover::{Failover, Timer};
pub use tunnel::{
    HaEvent, HaMetrics, Probe, Redundancy, SaDownCause, SaKind, Switch, SwitchReason, TunnelHealth,
    TunnelId, TunnelRole, Unhealthy, ZoneId,
};
