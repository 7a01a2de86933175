//! The words the failover logic speaks: tunnels, roles, zones, health, reasons.

use std::fmt;
use std::time::{Duration, Instant};

/// One of the two tunnels of an IPsec connection (R-HA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelId {
    /// Tunnel 1, from the gateway's IP 1: always the master.
    One,
    /// Tunnel 2, from the gateway's IP 2: always the backup.
    Two,
}

impl TunnelId {
    /// Both tunnels, master first.
    pub const ALL: [TunnelId; 2] = [TunnelId::One, TunnelId::Two];

    /// The tunnel's fixed role. Roles never swap (R-HA-2): there is no way to change this.
    pub fn role(self) -> TunnelRole {
        match self {
            TunnelId::One => TunnelRole::Master,
            TunnelId::Two => TunnelRole::Backup,
        }
    }

    /// The other tunnel of the pair.
    pub fn other(self) -> TunnelId {
        match self {
            TunnelId::One => TunnelId::Two,
            TunnelId::Two => TunnelId::One,
        }
    }

    /// 1 or 2, as the user sees it.
    pub fn number(self) -> u8 {
        match self {
            TunnelId::One => 1,
            TunnelId::Two => 2,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            TunnelId::One => 0,
            TunnelId::Two => 1,
        }
    }
}

impl fmt::Display for TunnelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tunnel {}", self.number())
    }
}

/// Master or backup (R-HA-1, R-HA-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelRole {
    /// Carries all outbound traffic whenever it is healthy.
    Master,
    /// Hot standby; carries outbound traffic only while the master is not healthy.
    Backup,
}

impl TunnelRole {
    /// The value of the provider API's `Role` field: `master` or `slave`.
    pub fn api_name(self) -> &'static str {
        match self {
            TunnelRole::Master => "master",
            TunnelRole::Backup => "slave",
        }
    }
}

/// The availability zone of one of the gateway's public IPs (R-HA-4), the API's `ZoneNo`
/// (e.g. `cn-hangzhou-i`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneId(pub String);

impl From<&str> for ZoneId {
    fn from(s: &str) -> Self {
        ZoneId(s.to_owned())
    }
}

impl fmt::Display for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which security association an IKE-side observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaKind {
    /// The IKE (ISAKMP) SA.
    Ike,
    /// The CHILD (IPsec) SA pair that carries the tunnel's traffic.
    Child,
}

impl fmt::Display for SaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SaKind::Ike => "IKE SA",
            SaKind::Child => "CHILD SA",
        })
    }
}

/// Why an SA went away, as the IKE engine saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaDownCause {
    /// Dead peer detection declared the peer dead (R-TUN-5).
    DpdTimeout,
    /// The peer deleted the SA (INFORMATIONAL Delete).
    DeletedByPeer,
    /// We deleted it (user action, reconfiguration).
    DeletedLocally,
    /// Rekeying or re-authentication failed.
    RekeyFailed,
    /// The SA has never been established yet / negotiation failed.
    NegotiationFailed,
}

impl fmt::Display for SaDownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SaDownCause::DpdTimeout => "DPD timeout",
            SaDownCause::DeletedByPeer => "deleted by peer",
            SaDownCause::DeletedLocally => "deleted locally",
            SaDownCause::RekeyFailed => "rekey failed",
            SaDownCause::NegotiationFailed => "negotiation failed",
        })
    }
}

/// Why a tunnel is not healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unhealthy {
    /// The tunnel is not configured (R-HA-5).
    NotConfigured,
    /// The SA has not come up since the tunnel was configured.
    NotEstablished(SaKind),
    /// An SA went down.
    SaDown(SaKind, SaDownCause),
    /// SAs are up but no probe has been answered yet.
    AwaitingProbeAnswer,
    /// `lost` probes in a row went unanswered over `within`.
    ProbesLost {
        /// Consecutive unanswered probes.
        lost: u32,
        /// Time since the last answer (or since probing started).
        within: Duration,
    },
}

impl fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unhealthy::NotConfigured => f.write_str("not configured"),
            Unhealthy::NotEstablished(sa) => write!(f, "{sa} not established"),
            Unhealthy::SaDown(sa, cause) => write!(f, "{sa} down ({cause})"),
            Unhealthy::AwaitingProbeAnswer => f.write_str("waiting for a probe answer"),
            Unhealthy::ProbesLost { lost, within } => {
                write!(f, "{lost} probes lost in {} ms", within.as_millis())
            }
        }
    }
}

/// Health of one tunnel as the failover logic judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelHealth {
    /// SAs up and probes answered (or probes off): may carry traffic.
    Healthy {
        /// Since when, continuously.
        since: Instant,
    },
    /// May not carry traffic.
    Unhealthy(Unhealthy),
}

impl TunnelHealth {
    /// Whether the tunnel may carry traffic.
    pub fn is_healthy(&self) -> bool {
        matches!(self, TunnelHealth::Healthy { .. })
    }
}

/// What the connection can survive right now (R-HA-4, R-HA-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Redundancy {
    /// Both tunnels healthy, in different zones.
    Redundant,
    /// Both tunnels healthy, but both IPs in one zone: a zone failure takes both (R-HA-4).
    LinkRedundancyOnly,
    /// Only one tunnel configured or healthy: no master/backup redundancy (R-HA-5).
    NoRedundancy,
    /// No tunnel is healthy: traffic cannot flow.
    Down,
}

impl fmt::Display for Redundancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Redundancy::Redundant => "redundant",
            Redundancy::LinkRedundancyOnly => "link redundancy only",
            Redundancy::NoRedundancy => "no redundancy",
            Redundancy::Down => "down",
        })
    }
}

/// Why outbound traffic moved from one tunnel to the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchReason {
    /// The tunnel that carried traffic stopped being healthy (failover, or the backup failing while
    /// it carried traffic).
    Failed {
        /// The tunnel that failed.
        tunnel: TunnelId,
        /// How it failed.
        why: Unhealthy,
    },
    /// The master was healthy for the whole hold-down while the backup carried traffic.
    Failback {
        /// How long the master had been healthy.
        healthy_for: Duration,
    },
}

impl fmt::Display for SwitchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchReason::Failed { tunnel, why } => write!(f, "{tunnel}: {why}"),
            SwitchReason::Failback { healthy_for } => {
                write!(
                    f,
                    "tunnel 1 healthy for {}: failback",
                    DisplayDuration(*healthy_for)
                )
            }
        }
    }
}

/// Whole seconds when whole, milliseconds otherwise.
struct DisplayDuration(Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.subsec_nanos() == 0 {
            write!(f, "{} s", self.0.as_secs())
        } else {
            write!(f, "{} ms", self.0.as_millis())
        }
    }
}

/// One switch of outbound traffic, for the event log and DescribeVpnConnection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// The tunnel that carried traffic before.
    pub from: TunnelId,
    /// The tunnel that carries traffic now.
    pub to: TunnelId,
    /// Why.
    pub reason: SwitchReason,
    /// When the decision was taken.
    pub at: Instant,
    /// For a failover: when the failed tunnel was last known good (last probe answer, or the
    /// moment of the SA event). `None` for a failback.
    pub last_good: Option<Instant>,
}

/// What happened, in order. Drain with [`crate::Failover::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaEvent {
    /// Outbound traffic moved.
    Switched(Switch),
    /// A tunnel became healthy.
    TunnelUp {
        /// Which.
        tunnel: TunnelId,
        /// When.
        at: Instant,
    },
    /// A tunnel stopped being healthy.
    TunnelDown {
        /// Which.
        tunnel: TunnelId,
        /// Why.
        why: Unhealthy,
        /// When.
        at: Instant,
    },
    /// The redundancy status changed.
    RedundancyChanged {
        /// Before.
        from: Redundancy,
        /// Now.
        to: Redundancy,
        /// When.
        at: Instant,
    },
}

/// A probe the engine must send now through `tunnel`, and report back with
/// [`crate::Failover::probe_answered`] when the answer arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The tunnel to send it through (its own SAs, its own uplink).
    pub tunnel: TunnelId,
    /// Sequence number to carry in the probe and expect back; unique across both tunnels.
    pub seq: u64,
}

/// Counters for metrics and DescribeVpnConnection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HaMetrics {
    /// Switches master → backup (or away from whichever tunnel failed).
    pub failovers: u64,
    /// Switches back to the master after the hold-down.
    pub failbacks: u64,
    /// Total time with no healthy tunnel, counted from the first time any tunnel was healthy,
    /// including a still-running outage up to the `now` given to [`crate::Failover::metrics`].
    pub outage: Duration,
    /// Master healthy → unhealthy transitions.
    pub master_failures: u64,
}

impl HaMetrics {
    /// All switches.
    pub fn switches(&self) -> u64 {
        self.failovers + self.failbacks
    }
}
