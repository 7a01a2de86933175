//! Dual-tunnel failover of every connection (issue 6, R-HA-1..5, R-TUN-5): one
//! [`dualsec_ha::Failover`] per connection, fed with what the driver sees and turned into
//! [`Action`]s the driver performs.
//!
//! Sans-IO like the cores it joins: the driver reports SA state ([`HaSet::observe`]), DPD verdicts
//! ([`HaSet::dpd_dead`]) and probe answers ([`HaSet::probe_answered`], from the IKE endpoint's
//! `Event::ProbeAnswered`), fires [`HaSet::handle_timeout`] when [`HaSet::poll_timeout`] passes,
//! then drains [`HaSet::poll_action`]:
//! - [`Action::Probe`]: send a fast liveness probe through that tunnel (`Endpoint::probe`, an
//!   IKEv2 INFORMATIONAL exchange over the tunnel's own uplink);
//! - [`Action::Carry`]: point the connection's outbound traffic at `active`
//!   (`ControlHandle::set_active_tunnel`, one atomic) and record `carrier` as the tunnel that
//!   carries traffic (R-HA-3; `None` while no tunnel is healthy);
//! - [`Action::Log`]: a line for the connection's event log (every switch with its reason and
//!   timing, tunnel health changes, redundancy status R-HA-4/R-HA-5);
//! - [`Action::Switched`] and [`Action::Redundancy`]: the structured failover state
//!   DescribeVpnConnection shows (`Control::record_switch`, `Control::set_connection_redundancy`);
//! - [`Action::WithdrawChild`] / [`Action::RestoreChild`]: move the *peer's* traffic too (below).
//!
//! # Moving the peer's traffic
//!
//! The peer picks its own outbound SA. When only the path *toward* IP 1 fails, the peer still
//! hears us from IP 1 (its DPD is content) and keeps sending on tunnel 1's CHILD SA into the void.
//! So a failover away from the master whose IKE SA still exists deletes the master's CHILD SA
//! (IKEv2 INFORMATIONAL Delete): the peer drops it and sends on tunnel 2's. The IKE SA stays and
//! keeps being probed; once the master answers probes again, its CHILD SA is re-created
//! (CREATE_CHILD_SA), and failback still waits for the hold-down with the new SAs up (make before
//! break). Our inbound SA of the deleted CHILD SA stays installed until the peer answers the
//! DELETE, so the peer's traffic on it keeps arriving in the meantime.
//!
//! Inbound ESP is accepted on both tunnels at all times by the data plane (peers route
//! asymmetrically); only the outbound direction is decided here. Failback is make-before-break:
//! the core returns traffic to tunnel 1 only after its SAs are up and its probes have been answered
//! for the whole hold-down, and tunnel 1's outbound SA is already installed when the atomic flips.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use std::time::Duration;

use dualsec_control::ids::VpnConnectionId;
use dualsec_control::model::{ConnectionRedundancy, SwitchKind, TunnelIndex};
use dualsec_ha::{
    ConfigError, Failover, HaConfig, HaEvent, HaMetrics, Redundancy, SaDownCause, SaKind,
    SwitchReason, TunnelId, Unhealthy, ZoneId,
};

/// How long a CHILD SA re-creation may take before it is asked for again.
const RESTORE_RETRY: Duration = Duration::from_secs(5);
/// How long a withdrawn CHILD SA may stay installed while the master answers probes again (its
/// DELETE should be answered within a round trip then) before the withdrawal is given up and the
/// CHILD SA counts as up again.
const WITHDRAW_GIVE_UP: Duration = Duration::from_secs(20);

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send one liveness probe through this tunnel now.
    Probe {
        connection: VpnConnectionId,
        index: TunnelIndex,
    },
    /// Outbound traffic of the connection goes through `active`; `carrier` is what the store shows
    /// as carrying traffic (`None` with no healthy tunnel).
    Carry {
        connection: VpnConnectionId,
        active: TunnelIndex,
        carrier: Option<TunnelIndex>,
    },
    /// A line for the connection's event log, about one tunnel or the whole connection.
    Log {
        connection: VpnConnectionId,
        tunnel: Option<TunnelIndex>,
        message: String,
    },
    /// Outbound traffic switched tunnels (for the connection's failover counters).
    Switched {
        connection: VpnConnectionId,
        /// When the decision was taken.
        at: Instant,
        kind: SwitchKind,
        from: TunnelIndex,
        to: TunnelIndex,
        /// Why, e.g. `tunnel 1: 3 probes lost in 604 ms`.
        reason: String,
        /// Failover: from the failed tunnel's last good sign to the switch.
        outage: Option<Duration>,
    },
    /// The connection's redundancy changed (R-HA-4, R-HA-5).
    Redundancy {
        connection: VpnConnectionId,
        redundancy: ConnectionRedundancy,
    },
    /// Delete this tunnel's CHILD SAs and keep its IKE SA, so the peer moves its traffic to the
    /// other tunnel.
    WithdrawChild {
        connection: VpnConnectionId,
        index: TunnelIndex,
    },
    /// Create a CHILD SA again under this tunnel's IKE SA (it answers probes again).
    RestoreChild {
        connection: VpnConnectionId,
        index: TunnelIndex,
    },
}

/// What was last fed to / applied from one connection's failover machine.
#[derive(Debug)]
struct ConnHa {
    ha: Failover,
    /// Zone each tunnel is configured in; `None` = not configured on this node.
    zones: [Option<ZoneId>; 2],
    /// (IKE SA up, CHILD SA up) last fed to the machine per tunnel. A withdrawn CHILD SA counts as
    /// down from the moment it is withdrawn, though it stays installed until the peer answers.
    sas: [(bool, bool); 2],
    /// Whether the driver still has a CHILD SA installed per tunnel (as reported).
    installed: [bool; 2],
    /// Sequence of the latest probe sent per tunnel: an answer to any copy answers it.
    last_probe: [Option<u64>; 2],
    /// What the data plane was last told (`None` before the first decision).
    applied_active: Option<TunnelId>,
    /// What the store was last told.
    applied_carrier: Option<Option<TunnelIndex>>,
    /// Redundancy the store was last told.
    applied_redundancy: Option<ConnectionRedundancy>,
    /// The master's CHILD SAs were withdrawn at this instant to move the peer's traffic; cleared
    /// when a CHILD SA is up again or the IKE SA is gone (a new one brings its own CHILD SA).
    withdrawn: Option<Instant>,
    /// When the last re-creation was asked for.
    restore_sent: Option<Instant>,
}

/// The failover machines of every connection this node runs.
#[derive(Debug)]
pub(crate) struct HaSet {
    config: HaConfig,
    conns: BTreeMap<VpnConnectionId, ConnHa>,
    actions: VecDeque<Action>,
}

fn ha_id(i: TunnelIndex) -> TunnelId {
    match i {
        TunnelIndex::One => TunnelId::One,
        TunnelIndex::Two => TunnelId::Two,
    }
}

fn index_of(t: TunnelId) -> TunnelIndex {
    match t {
        TunnelId::One => TunnelIndex::One,
        TunnelId::Two => TunnelIndex::Two,
    }
}

fn slot(t: TunnelId) -> usize {
    index_of(t).slot()
}

impl HaSet {
    /// Checks `config` once; every connection gets a machine with it (`serve --probe-interval-ms`
    /// and friends).
    pub(crate) fn new(config: HaConfig) -> Result<HaSet, ConfigError> {
        config.validate()?;
        Ok(HaSet {
            config,
            conns: BTreeMap::new(),
            actions: VecDeque::new(),
        })
    }

    /// Declares the connection's tunnels on this node and their zones (R-HA-4): `None` for a
    /// tunnel that does not run here (R-HA-5: the status then says "no redundancy").
    pub(crate) fn configure(
        &mut self,
        connection: &VpnConnectionId,
        zones: [Option<ZoneId>; 2],
        now: Instant,
    ) {
        if !self.conns.contains_key(connection) {
            let Ok(ha) = Failover::new(self.config.clone()) else {
                // Unreachable: the config was validated in `new`.
                return;
            };
            self.conns.insert(
                connection.clone(),
                ConnHa {
                    ha,
                    zones: [None, None],
                    sas: [(false, false); 2],
                    installed: [false; 2],
                    last_probe: [None, None],
                    applied_active: None,
                    applied_carrier: None,
                    applied_redundancy: None,
                    withdrawn: None,
                    restore_sent: None,
                },
            );
        }
        let Some(c) = self.conns.get_mut(connection) else {
            return;
        };
        for t in TunnelId::ALL {
            let zone = zones[slot(t)].clone();
            if c.zones[slot(t)] == zone {
                continue;
            }
            match &zone {
                Some(z) => c.ha.configure(t, z.clone(), now),
                None => {
                    c.ha.unconfigure(t, now);
                    c.sas[slot(t)] = (false, false);
                    c.installed[slot(t)] = false;
                }
            }
            c.zones[slot(t)] = zone;
        }
        self.pump(connection, now);
    }

    /// With the default tuning (200 ms × 3 probes, 3 s hold-down; valid by construction, see the
    /// `defaults_are_valid` test).
    pub(crate) fn with_defaults() -> HaSet {
        HaSet {
            config: HaConfig::default(),
            conns: BTreeMap::new(),
            actions: VecDeque::new(),
        }
    }

    /// Forgets connections for which `keep` is false.
    pub(crate) fn retain(&mut self, keep: impl Fn(&VpnConnectionId) -> bool) {
        self.conns.retain(|c, _| keep(c));
    }

    /// The tunnel's IKE and CHILD SA state now; `cause` explains a transition to down.
    pub(crate) fn observe(
        &mut self,
        connection: &VpnConnectionId,
        index: TunnelIndex,
        ike_up: bool,
        child_up: bool,
        cause: SaDownCause,
        now: Instant,
    ) {
        let Some(c) = self.conns.get_mut(connection) else {
            return;
        };
        if c.zones[index.slot()].is_none() {
            return;
        }
        let t = ha_id(index);
        c.installed[index.slot()] = child_up;
        // The withdrawn CHILD SA is still installed until the peer answers its DELETE, but it is
        // on its way out: the machine must not see the master healthy on it meanwhile (a probe
        // answered by that DELETE's answer would count as one more master failure a moment later).
        let doomed = index == TunnelIndex::One && c.withdrawn.is_some() && c.restore_sent.is_none();
        let child_up = child_up && !doomed;
        let (was_ike, was_child) = c.sas[index.slot()];
        // Down first: losing the IKE SA takes the CHILD SA with it (RFC 7296 §1.4.1).
        if was_ike && !ike_up {
            c.ha.sa_down(t, SaKind::Ike, cause, now);
        } else if was_child && !child_up {
            c.ha.sa_down(t, SaKind::Child, cause, now);
        }
        if ike_up && !was_ike {
            c.ha.sa_up(t, SaKind::Ike, now);
        }
        // A new IKE SA reports its CHILD SA again even if the old one was never reported gone.
        if child_up && (!was_child || (ike_up && !was_ike)) {
            c.ha.sa_up(t, SaKind::Child, now);
        }
        c.sas[index.slot()] = (ike_up, child_up);
        self.pump(connection, now);
    }

    /// The tunnel's CHILD SA could not be withdrawn (no established IKE/ISAKMP SA to send the
    /// DELETE on): it keeps counting as up, and nothing is re-created.
    pub(crate) fn withdraw_failed(
        &mut self,
        connection: &VpnConnectionId,
        index: TunnelIndex,
        now: Instant,
    ) {
        let Some(c) = self.conns.get_mut(connection) else {
            return;
        };
        if index != TunnelIndex::One || c.withdrawn.take().is_none() {
            return;
        }
        c.restore_sent = None;
        let (ike, _) = c.sas[0];
        if ike && c.installed[0] {
            c.sas[0].1 = true;
            c.ha.sa_up(TunnelId::One, SaKind::Child, now);
        }
        self.pump(connection, now);
    }

    /// DPD declared the tunnel's peer dead (R-TUN-5); the IKE SA goes down with it.
    pub(crate) fn dpd_dead(
        &mut self,
        connection: &VpnConnectionId,
        index: TunnelIndex,
        now: Instant,
    ) {
        let Some(c) = self.conns.get_mut(connection) else {
            return;
        };
        if c.zones[index.slot()].is_none() {
            return;
        }
        c.ha.dpd_dead(ha_id(index), now);
        c.sas[index.slot()] = (false, false);
        c.installed[index.slot()] = false;
        self.pump(connection, now);
    }

    /// The peer answered a probe on this tunnel. The IKE window holds one request, so the answer
    /// answers the latest probe sent (older ones were retransmissions of the same request).
    pub(crate) fn probe_answered(
        &mut self,
        connection: &VpnConnectionId,
        index: TunnelIndex,
        now: Instant,
    ) {
        let Some(c) = self.conns.get_mut(connection) else {
            return;
        };
        if let Some(seq) = c.last_probe[index.slot()] {
            c.ha.probe_answered(ha_id(index), seq, now);
        }
        self.pump(connection, now);
    }

    /// Fires every machine's due timers.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<VpnConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.ha.poll_timeout().is_some_and(|t| t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            if let Some(c) = self.conns.get_mut(&id) {
                c.ha.handle_timeout(now);
            }
            self.pump(&id, now);
        }
    }

    /// The earliest timer of any connection.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.conns
            .values()
            .filter_map(|c| c.ha.poll_timeout())
            .min()
    }

    /// The next thing to do.
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Redundancy status of a connection (R-HA-4, R-HA-5).
    #[allow(dead_code)]
    pub(crate) fn redundancy(&self, connection: &VpnConnectionId) -> Option<Redundancy> {
        self.conns.get(connection).map(|c| c.ha.redundancy())
    }

    /// Switch counters and outage time of a connection.
    #[allow(dead_code)]
    pub(crate) fn metrics(&self, connection: &VpnConnectionId, now: Instant) -> Option<HaMetrics> {
        self.conns.get(connection).map(|c| c.ha.metrics(now))
    }

    /// Drains one machine's probes and events into actions, then the carrier if it changed.
    fn pump(&mut self, connection: &VpnConnectionId, now: Instant) {
        let Some(c) = self.conns.get_mut(connection) else {
            return;
        };
        while let Some(p) = c.ha.poll_probe() {
            c.last_probe[slot(p.tunnel)] = Some(p.seq);
            self.actions.push_back(Action::Probe {
                connection: connection.clone(),
                index: index_of(p.tunnel),
            });
        }
        // The withdrawn CHILD SA is gone and the master answers probes again: re-create it.
        if let Some(at) = c.withdrawn {
            match (c.sas[0].0, c.installed[0]) {
                // The IKE SA is gone: its renegotiation brings a CHILD SA with it.
                (false, _) => {
                    c.withdrawn = None;
                    c.restore_sent = None;
                }
                // Re-created.
                (true, true) if c.restore_sent.is_some() => {
                    c.withdrawn = None;
                    c.restore_sent = None;
                }
                // The peer has not answered the DELETE yet; if the master answers probes but the
                // CHILD SA is still here long after, give up (it still carries the peer's traffic
                // or will be rekeyed; better a working master than one waiting forever).
                (true, true) => {
                    let answered =
                        c.ha.last_probe_answer(TunnelId::One)
                            .is_some_and(|a| a > at);
                    if answered && now.saturating_duration_since(at) >= WITHDRAW_GIVE_UP {
                        c.withdrawn = None;
                        c.sas[0].1 = true;
                        c.ha.sa_up(TunnelId::One, SaKind::Child, now);
                    }
                }
                (true, false) => {
                    let answered =
                        c.ha.last_probe_answer(TunnelId::One)
                            .is_some_and(|a| a > at);
                    let due = c
                        .restore_sent
                        .is_none_or(|sent| now >= sent + RESTORE_RETRY);
                    if answered && due {
                        c.restore_sent = Some(now);
                        self.actions.push_back(Action::RestoreChild {
                            connection: connection.clone(),
                            index: TunnelIndex::One,
                        });
                    }
                }
            }
        }
        while let Some(ev) = c.ha.poll_event() {
            let (tunnel, message) = describe(&ev, &c.ha, now);
            self.actions.push_back(Action::Log {
                connection: connection.clone(),
                tunnel,
                message,
            });
            if let HaEvent::Switched(s) = &ev {
                let (kind, outage) = match &s.reason {
                    SwitchReason::Failed { .. } => (
                        SwitchKind::Failover,
                        Some(
                            s.last_good
                                .map_or(Duration::ZERO, |g| s.at.saturating_duration_since(g)),
                        ),
                    ),
                    SwitchReason::Failback { .. } => (SwitchKind::Failback, None),
                };
                self.actions.push_back(Action::Switched {
                    connection: connection.clone(),
                    at: s.at,
                    kind,
                    from: index_of(s.from),
                    to: index_of(s.to),
                    reason: s.reason.to_string(),
                    outage,
                });
                // Away from a master whose probes went unanswered while its IKE SA and CHILD SA
                // still exist: the path may work one way, so make the peer move too. (At start,
                // a master not answered yet is no reason to steer.)
                let master_failed = matches!(
                    &s.reason,
                    SwitchReason::Failed {
                        tunnel: TunnelId::One,
                        why: Unhealthy::ProbesLost { .. },
                    }
                );
                if master_failed && c.sas[0] == (true, true) && c.withdrawn.is_none() {
                    c.withdrawn = Some(s.at);
                    c.restore_sent = None;
                    c.sas[0].1 = false;
                    c.ha.sa_down(
                        TunnelId::One,
                        SaKind::Child,
                        SaDownCause::DeletedLocally,
                        now,
                    );
                    self.actions.push_back(Action::WithdrawChild {
                        connection: connection.clone(),
                        index: TunnelIndex::One,
                    });
                }
            }
        }
        let redundancy = match c.ha.redundancy() {
            Redundancy::Redundant => ConnectionRedundancy::DualZone,
            Redundancy::LinkRedundancyOnly => ConnectionRedundancy::LinkRedundancyOnly,
            Redundancy::NoRedundancy => {
                let only = if c.ha.health(TunnelId::Two).is_healthy() {
                    TunnelId::Two
                } else {
                    TunnelId::One
                };
                ConnectionRedundancy::OnlyOneTunnel(index_of(only))
            }
            Redundancy::Down => ConnectionRedundancy::NoTunnelUp,
        };
        if c.applied_redundancy != Some(redundancy) {
            c.applied_redundancy = Some(redundancy);
            self.actions.push_back(Action::Redundancy {
                connection: connection.clone(),
                redundancy,
            });
        }
        let active = c.ha.active();
        let carrier = (c.ha.redundancy() != Redundancy::Down).then_some(index_of(active));
        if c.applied_active != Some(active) || c.applied_carrier != Some(carrier) {
            c.applied_active = Some(active);
            c.applied_carrier = Some(carrier);
            self.actions.push_back(Action::Carry {
                connection: connection.clone(),
                active: index_of(active),
                carrier,
            });
        }
    }
}

fn tunnel_name(t: TunnelId) -> &'static str {
    match t {
        TunnelId::One => "tunnel 1 (master)",
        TunnelId::Two => "tunnel 2 (backup)",
    }
}

/// The event-log line for one failover event.
fn describe(ev: &HaEvent, ha: &Failover, now: Instant) -> (Option<TunnelIndex>, String) {
    match ev {
        HaEvent::Switched(s) => {
            let m = ha.metrics(now);
            let text = match &s.reason {
                SwitchReason::Failed { tunnel, why } => {
                    let detect = s
                        .last_good
                        .map(|g| {
                            format!(
                                "; last good {} ms before the switch",
                                s.at.saturating_duration_since(g).as_millis()
                            )
                        })
                        .unwrap_or_default();
                    format!(
                        "failover: outbound traffic moved from {} to {}: {} unhealthy ({why}){detect} [failovers {}, failbacks {}]",
                        tunnel_name(s.from),
                        tunnel_name(s.to),
                        tunnel_name(*tunnel),
                        m.failovers,
                        m.failbacks
                    )
                }
                reason @ SwitchReason::Failback { .. } => format!(
                    "failback: outbound traffic moved from {} to {}: {reason} (make before break: its SAs are up and its probes answered) [failovers {}, failbacks {}]",
                    tunnel_name(s.from),
                    tunnel_name(s.to),
                    m.failovers,
                    m.failbacks
                ),
            };
            (Some(index_of(s.to)), text)
        }
        HaEvent::TunnelUp { tunnel, .. } => (
            Some(index_of(*tunnel)),
            format!(
                "{} healthy: SAs up and liveness probes answered",
                tunnel_name(*tunnel)
            ),
        ),
        HaEvent::TunnelDown { tunnel, why, .. } => (
            Some(index_of(*tunnel)),
            format!("{} unhealthy: {why}", tunnel_name(*tunnel)),
        ),
        HaEvent::RedundancyChanged { from, to, .. } => {
            let why = match to {
                Redundancy::Redundant => "both tunnels healthy, in different zones (R-HA-4)",
                Redundancy::LinkRedundancyOnly => {
                    "both tunnels healthy, but both public IPs are in one zone: a zone failure takes both down (R-HA-4)"
                }
                Redundancy::NoRedundancy => {
                    "only one tunnel is configured or up: no redundancy (R-HA-5)"
                }
                Redundancy::Down => "no tunnel is healthy: traffic cannot flow",
            };
            (None, format!("redundancy: {from} → {to}: {why}"))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn conn() -> VpnConnectionId {
        "vco-test".parse().unwrap()
    }

    fn drain(h: &mut HaSet) -> Vec<Action> {
        std::iter::from_fn(|| h.poll_action()).collect()
    }

    /// Answers every pending probe on the tunnels in `alive` at `now`.
    fn answer(h: &mut HaSet, actions: &[Action], alive: &[TunnelIndex], now: Instant) {
        for a in actions {
            if let Action::Probe { connection, index } = a {
                if alive.contains(index) {
                    h.probe_answered(connection, *index, now);
                }
            }
        }
    }

    fn carriers(actions: &[Action]) -> Vec<(TunnelIndex, Option<TunnelIndex>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Carry {
                    active, carrier, ..
                } => Some((*active, *carrier)),
                _ => None,
            })
            .collect()
    }

    fn logs(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Log { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    /// Runs the set for `d` in 10 ms steps; probes on tunnels in `alive` are answered 5 ms later.
    fn run(
        h: &mut HaSet,
        now: &mut Instant,
        d: Duration,
        alive: &[TunnelIndex],
        all: &mut Vec<Action>,
    ) {
        let end = *now + d;
        while *now < end {
            *now += Duration::from_millis(10);
            h.handle_timeout(*now);
            let acts = drain(h);
            answer(h, &acts, alive, *now + Duration::from_millis(5));
            all.extend(acts);
            all.extend(drain(h));
        }
    }

    /// [`run`], also playing the driver's part of steering: a withdrawn CHILD SA is gone once
    /// tunnel 1's path works (the peer answered the DELETE), a re-created one comes up at once.
    fn run_sim(
        h: &mut HaSet,
        now: &mut Instant,
        d: Duration,
        alive: &[TunnelIndex],
        all: &mut Vec<Action>,
        deleting: &mut bool,
    ) {
        let end = *now + d;
        let c = conn();
        let path1 = alive.contains(&TunnelIndex::One);
        while *now < end {
            *now += Duration::from_millis(10);
            h.handle_timeout(*now);
            let mut acts = drain(h);
            answer(h, &acts, alive, *now + Duration::from_millis(5));
            acts.extend(drain(h));
            let mut restore = false;
            for a in &acts {
                match a {
                    Action::WithdrawChild { .. } => *deleting = true,
                    Action::RestoreChild { .. } => restore = path1,
                    _ => {}
                }
            }
            all.extend(acts);
            if *deleting && path1 {
                *deleting = false;
                h.observe(
                    &c,
                    TunnelIndex::One,
                    true,
                    false,
                    SaDownCause::DeletedLocally,
                    *now,
                );
            }
            if restore {
                h.observe(
                    &c,
                    TunnelIndex::One,
                    true,
                    true,
                    SaDownCause::DeletedLocally,
                    *now,
                );
            }
            all.extend(drain(h));
        }
    }

    fn up(h: &mut HaSet, t0: Instant, zones: [&str; 2]) {
        h.configure(
            &conn(),
            [Some(ZoneId::from(zones[0])), Some(ZoneId::from(zones[1]))],
            t0,
        );
        for i in [TunnelIndex::One, TunnelIndex::Two] {
            h.observe(&conn(), i, true, true, SaDownCause::NegotiationFailed, t0);
        }
    }

    fn switched(actions: &[Action]) -> Vec<(SwitchKind, TunnelIndex, Option<Duration>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Switched {
                    kind, to, outage, ..
                } => Some((*kind, *to, *outage)),
                _ => None,
            })
            .collect()
    }

    fn redundancies(actions: &[Action]) -> Vec<ConnectionRedundancy> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Redundancy { redundancy, .. } => Some(*redundancy),
                _ => None,
            })
            .collect()
    }

    fn steering(actions: &[Action]) -> Vec<&'static str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::WithdrawChild {
                    index: TunnelIndex::One,
                    ..
                } => Some("withdraw 1"),
                Action::RestoreChild {
                    index: TunnelIndex::One,
                    ..
                } => Some("restore 1"),
                Action::WithdrawChild { .. } | Action::RestoreChild { .. } => Some("tunnel 2?"),
                _ => None,
            })
            .collect()
    }

    /// Issue 6 visibility: every switch is a structured record (kind, tunnels, outage from the
    /// last good probe answer), and the redundancy follows the tunnels (R-HA-4, R-HA-5).
    #[test]
    fn switches_and_redundancy_are_reported_as_structured_actions() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let mut del = false;
        up(&mut h, t0, ["zone-a", "zone-b"]);
        all.extend(drain(&mut h));
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &both,
            &mut all,
            &mut del,
        );
        assert_eq!(
            redundancies(&all).last(),
            Some(&ConnectionRedundancy::DualZone)
        );
        assert!(switched(&all).is_empty());
        all.clear();
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(2),
            &[TunnelIndex::Two],
            &mut all,
            &mut del,
        );
        let sw = switched(&all);
        assert_eq!(sw.len(), 1, "{sw:?}");
        assert_eq!((sw[0].0, sw[0].1), (SwitchKind::Failover, TunnelIndex::Two));
        // Outage = last good answer → switch: the detection time (3 × 200 ms) plus at most one
        // probe interval of phase and the 10 ms steps of the test loop.
        let outage = sw[0].2.unwrap();
        assert!(
            outage >= Duration::from_millis(600) && outage <= Duration::from_millis(820),
            "{outage:?}"
        );
        assert_eq!(
            redundancies(&all),
            vec![ConnectionRedundancy::OnlyOneTunnel(TunnelIndex::Two)]
        );
        all.clear();
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(4),
            &both,
            &mut all,
            &mut del,
        );
        assert_eq!(
            switched(&all),
            vec![(SwitchKind::Failback, TunnelIndex::One, None)]
        );
        assert_eq!(redundancies(&all), vec![ConnectionRedundancy::DualZone]);
        // Both down: no tunnel up.
        all.clear();
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(2),
            &[],
            &mut all,
            &mut del,
        );
        assert_eq!(
            redundancies(&all).last(),
            Some(&ConnectionRedundancy::NoTunnelUp)
        );
    }

    /// Issue 6 steering: a failover away from a master whose IKE SA lives withdraws its CHILD SA
    /// once; the CHILD SA is re-created only after the master answers probes again (not while
    /// the path is still cut), and failback still waits for the hold-down with it up.
    #[test]
    fn probe_loss_failover_withdraws_the_masters_child_and_restores_it_when_probes_answer() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let c = conn();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        let only2 = [TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        assert!(steering(&all).is_empty());
        all.clear();
        run(&mut h, &mut now, Duration::from_secs(1), &only2, &mut all);
        assert_eq!(steering(&all), vec!["withdraw 1"]);
        // Still cut; the peer's DELETE answer arrives later (the driver reports the CHILD SA
        // gone); the master does not answer: nothing is re-created.
        all.clear();
        run(&mut h, &mut now, Duration::from_secs(1), &only2, &mut all);
        h.observe(
            &c,
            TunnelIndex::One,
            true,
            false,
            SaDownCause::DeletedLocally,
            now,
        );
        all.extend(drain(&mut h));
        run(&mut h, &mut now, Duration::from_secs(1), &only2, &mut all);
        assert!(steering(&all).is_empty(), "{:?}", steering(&all));
        // The path heals: the master's IKE SA answers probes again → one re-creation.
        all.clear();
        run(
            &mut h,
            &mut now,
            Duration::from_millis(500),
            &both,
            &mut all,
        );
        assert_eq!(steering(&all), vec!["restore 1"]);
        // Not asked again while it is in flight (retry only after 5 s).
        all.clear();
        run(&mut h, &mut now, Duration::from_secs(2), &both, &mut all);
        assert!(steering(&all).is_empty());
        assert!(
            carriers(&all).is_empty(),
            "no failback without its CHILD SA"
        );
        // The new CHILD SA is up: failback after the hold-down, nothing more to steer.
        let restored = now;
        h.observe(
            &c,
            TunnelIndex::One,
            true,
            true,
            SaDownCause::DeletedLocally,
            now,
        );
        run(&mut h, &mut now, Duration::from_secs(4), &both, &mut all);
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::One, Some(TunnelIndex::One))]
        );
        assert!(now - restored >= Duration::from_secs(3));
        assert!(steering(&all).is_empty());
    }

    /// The real order of events: the path heals, probes (retransmissions of the outstanding
    /// DELETE) are answered while the withdrawn CHILD SA is still installed, then the DELETE's
    /// answer removes it. The master must not look healthy on the doomed CHILD SA in between (a
    /// healthy → unhealthy blip would count as one more master failure and double the hold-down).
    #[test]
    fn a_withdrawn_child_still_installed_never_makes_the_master_healthy() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let c = conn();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        run(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &[TunnelIndex::Two],
            &mut all,
        );
        assert_eq!(h.metrics(&c, now).unwrap().master_failures, 1);
        all.clear();
        // Healed; the driver still reports the old CHILD SA installed.
        run(
            &mut h,
            &mut now,
            Duration::from_millis(500),
            &both,
            &mut all,
        );
        h.observe(
            &c,
            TunnelIndex::One,
            true,
            true,
            SaDownCause::DeletedLocally,
            now,
        );
        all.extend(drain(&mut h));
        assert!(
            !logs(&all)
                .iter()
                .any(|l| l.starts_with("tunnel 1 (master) healthy")),
            "{:?}",
            logs(&all)
        );
        assert!(
            steering(&all).is_empty(),
            "not gone yet: nothing to re-create"
        );
        // The DELETE is answered: gone → re-created → healthy once, failback after the plain
        // hold-down (one master failure, no doubling).
        h.observe(
            &c,
            TunnelIndex::One,
            true,
            false,
            SaDownCause::DeletedLocally,
            now,
        );
        all.extend(drain(&mut h));
        assert_eq!(steering(&all), vec!["restore 1"]);
        now += Duration::from_millis(30);
        let restored = now;
        h.observe(
            &c,
            TunnelIndex::One,
            true,
            true,
            SaDownCause::DeletedLocally,
            now,
        );
        all.clear();
        all.extend(drain(&mut h));
        assert_eq!(
            logs(&all)
                .iter()
                .filter(|l| l.starts_with("tunnel 1 (master) healthy"))
                .count(),
            1,
            "{:?}",
            logs(&all)
        );
        assert_eq!(h.metrics(&c, now).unwrap().master_failures, 1);
        run(
            &mut h,
            &mut now,
            Duration::from_millis(2900),
            &both,
            &mut all,
        );
        assert!(carriers(&all).is_empty());
        run(
            &mut h,
            &mut now,
            Duration::from_millis(200),
            &both,
            &mut all,
        );
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::One, Some(TunnelIndex::One))]
        );
        assert!(now - restored >= Duration::from_secs(3));
    }

    /// When the DELETE cannot be sent (the IKE SA just went), the CHILD SA keeps
    /// counting as up and failback proceeds as without steering.
    #[test]
    fn a_withdrawal_that_could_not_be_sent_is_undone() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let c = conn();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        run(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &[TunnelIndex::Two],
            &mut all,
        );
        assert_eq!(steering(&all), vec!["withdraw 1"]);
        h.withdraw_failed(&c, TunnelIndex::One, now);
        all.clear();
        run(&mut h, &mut now, Duration::from_secs(4), &both, &mut all);
        assert!(steering(&all).is_empty());
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::One, Some(TunnelIndex::One))]
        );
    }

    /// A DELETE that is never answered although the master answers probes again (e.g. it went
    /// down with an IKE SA rekey): after 20 s the withdrawal is given up, the CHILD SA still
    /// installed counts as up, and traffic fails back.
    #[test]
    fn a_withdrawal_never_answered_is_given_up_after_20_s() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        run(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &[TunnelIndex::Two],
            &mut all,
        );
        assert_eq!(steering(&all), vec!["withdraw 1"]);
        all.clear();
        run(&mut h, &mut now, Duration::from_secs(15), &both, &mut all);
        assert!(carriers(&all).is_empty(), "still withdrawn");
        run(&mut h, &mut now, Duration::from_secs(10), &both, &mut all);
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::One, Some(TunnelIndex::One))]
        );
        assert!(steering(&all).is_empty(), "{:?}", steering(&all));
    }

    #[test]
    fn a_restore_that_does_not_come_up_is_asked_again_after_5_s() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let c = conn();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        run(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &[TunnelIndex::Two],
            &mut all,
        );
        h.observe(
            &c,
            TunnelIndex::One,
            true,
            false,
            SaDownCause::DeletedLocally,
            now,
        );
        all.clear();
        run(
            &mut h,
            &mut now,
            Duration::from_millis(5500),
            &both,
            &mut all,
        );
        assert_eq!(steering(&all), vec!["restore 1", "restore 1"]);
    }

    #[test]
    fn failovers_without_a_live_master_ike_sa_do_not_steer() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let c = conn();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        // At start the backup may answer its first probe before the master: traffic starts on
        // tunnel 2 (a failover), but a master not answered yet is no reason to steer the peer.
        let first = drain(&mut h);
        answer(
            &mut h,
            &first,
            &[TunnelIndex::Two],
            t0 + Duration::from_millis(5),
        );
        all.extend(first);
        all.extend(drain(&mut h));
        run(
            &mut h,
            &mut now,
            Duration::from_millis(100),
            &[TunnelIndex::Two],
            &mut all,
        );
        assert_eq!(switched(&all).len(), 1, "{:?}", switched(&all));
        assert!(steering(&all).is_empty());
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(4), &both, &mut all);
        assert!(steering(&all).is_empty());
        all.clear();
        // The peer deleted tunnel 1's IKE SA (and with it the CHILD SA): nothing to withdraw.
        h.observe(
            &c,
            TunnelIndex::One,
            false,
            false,
            SaDownCause::DeletedByPeer,
            now,
        );
        all.extend(drain(&mut h));
        assert_eq!(switched(&all).len(), 1);
        assert!(steering(&all).is_empty());
        // The backup failing while it carries traffic is not the master's failure either.
        h.observe(
            &c,
            TunnelIndex::One,
            true,
            true,
            SaDownCause::DeletedByPeer,
            now,
        );
        run(&mut h, &mut now, Duration::from_secs(4), &both, &mut all);
        all.clear();
        h.dpd_dead(&c, TunnelIndex::Two, now);
        all.extend(drain(&mut h));
        assert!(steering(&all).is_empty());
    }

    #[test]
    fn defaults_are_valid() {
        assert!(HaConfig::default().validate().is_ok());
        assert!(HaSet::new(HaConfig::default()).is_ok());
    }

    #[test]
    fn probe_loss_on_tunnel_1_moves_traffic_within_detection_time_and_fails_back_r_ha_1() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let mut del = false;
        up(&mut h, t0, ["zone-a", "zone-b"]);
        all.extend(drain(&mut h));
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &both,
            &mut all,
            &mut del,
        );
        assert_eq!(
            carriers(&all).last(),
            Some(&(TunnelIndex::One, Some(TunnelIndex::One)))
        );
        assert!(
            all.iter().any(|a| matches!(
                a,
                Action::Probe {
                    index: TunnelIndex::Two,
                    ..
                }
            )),
            "the backup is probed too"
        );
        // Tunnel 1's path is cut: its probes go unanswered.
        all.clear();
        let cut = now;
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(2),
            &[TunnelIndex::Two],
            &mut all,
            &mut del,
        );
        let moved = carriers(&all);
        assert_eq!(moved, vec![(TunnelIndex::Two, Some(TunnelIndex::Two))]);
        let l = logs(&all);
        let line = l.iter().find(|m| m.starts_with("failover:")).unwrap();
        assert!(
            line.contains("from tunnel 1 (master) to tunnel 2 (backup)"),
            "{line}"
        );
        assert!(line.contains("probes lost"), "{line}");
        // Decided within 3 × 200 ms (+ one probe interval of phase).
        let metrics = h.metrics(&conn(), now).unwrap();
        assert_eq!(metrics.failovers, 1);
        let _ = cut;
        // Restored: back on tunnel 1 after the 3 s hold-down, not before.
        all.clear();
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(2),
            &both,
            &mut all,
            &mut del,
        );
        assert!(
            carriers(&all).is_empty(),
            "no failback during the hold-down"
        );
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(2),
            &both,
            &mut all,
            &mut del,
        );
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::One, Some(TunnelIndex::One))]
        );
        assert!(logs(&all).iter().any(|m| m.starts_with("failback:")));
    }

    #[test]
    fn ike_sa_loss_fails_over_at_once_r_tun_5() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        all.clear();
        h.observe(
            &conn(),
            TunnelIndex::One,
            false,
            false,
            SaDownCause::DeletedByPeer,
            now,
        );
        all.extend(drain(&mut h));
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::Two, Some(TunnelIndex::Two))]
        );
        assert!(
            logs(&all).iter().any(|m| m.contains("deleted by the peer")
                || m.contains("DeletedByPeer")
                || m.contains("deleted")),
            "{:?}",
            logs(&all)
        );
    }

    #[test]
    fn dpd_dead_on_the_backup_keeps_traffic_and_says_no_redundancy_r_ha_5() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        assert_eq!(h.redundancy(&conn()), Some(Redundancy::Redundant));
        all.clear();
        h.dpd_dead(&conn(), TunnelIndex::Two, now);
        all.extend(drain(&mut h));
        assert!(carriers(&all).is_empty(), "traffic stays on tunnel 1");
        assert_eq!(h.redundancy(&conn()), Some(Redundancy::NoRedundancy));
        assert!(
            logs(&all)
                .iter()
                .any(|m| m.contains("no redundancy (R-HA-5)")),
            "{:?}",
            logs(&all)
        );
    }

    #[test]
    fn one_zone_reports_link_redundancy_only_r_ha_4() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        up(&mut h, t0, ["zone-a", "zone-a"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run(&mut h, &mut now, Duration::from_secs(1), &both, &mut all);
        assert_eq!(h.redundancy(&conn()), Some(Redundancy::LinkRedundancyOnly));
        assert!(
            logs(&all)
                .iter()
                .any(|m| m.contains("link redundancy only")),
            "{:?}",
            logs(&all)
        );
    }

    #[test]
    fn only_one_tunnel_configured_is_no_redundancy_and_both_down_clears_the_carrier() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        h.configure(&conn(), [Some(ZoneId::from("zone-a")), None], t0);
        h.observe(
            &conn(),
            TunnelIndex::One,
            true,
            true,
            SaDownCause::NegotiationFailed,
            t0,
        );
        // Reports for a tunnel that is not configured here are ignored.
        h.observe(
            &conn(),
            TunnelIndex::Two,
            true,
            true,
            SaDownCause::NegotiationFailed,
            t0,
        );
        run(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &[TunnelIndex::One],
            &mut all,
        );
        assert_eq!(h.redundancy(&conn()), Some(Redundancy::NoRedundancy));
        assert_eq!(
            carriers(&all).last(),
            Some(&(TunnelIndex::One, Some(TunnelIndex::One)))
        );
        assert!(all.iter().all(|a| !matches!(
            a,
            Action::Probe {
                index: TunnelIndex::Two,
                ..
            }
        )));
        all.clear();
        run(&mut h, &mut now, Duration::from_secs(2), &[], &mut all);
        assert_eq!(h.redundancy(&conn()), Some(Redundancy::Down));
        assert_eq!(carriers(&all), vec![(TunnelIndex::One, None)]);
    }

    #[test]
    fn flapping_master_is_damped() {
        let mut h = HaSet::new(HaConfig::default()).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        let mut all = Vec::new();
        let mut del = false;
        up(&mut h, t0, ["zone-a", "zone-b"]);
        let both = [TunnelIndex::One, TunnelIndex::Two];
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(1),
            &both,
            &mut all,
            &mut del,
        );
        all.clear();
        // Down/up every 2 s for 20 s.
        for _ in 0..5 {
            run_sim(
                &mut h,
                &mut now,
                Duration::from_secs(2),
                &[TunnelIndex::Two],
                &mut all,
                &mut del,
            );
            run_sim(
                &mut h,
                &mut now,
                Duration::from_secs(2),
                &both,
                &mut all,
                &mut del,
            );
        }
        // 2 s healthy never reaches the 3 s hold-down: one failover, no failback while flapping.
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::Two, Some(TunnelIndex::Two))]
        );
        // Stable again: failback after the damped hold-down.
        all.clear();
        run_sim(
            &mut h,
            &mut now,
            Duration::from_secs(90),
            &both,
            &mut all,
            &mut del,
        );
        assert_eq!(
            carriers(&all),
            vec![(TunnelIndex::One, Some(TunnelIndex::One))]
        );
    }
}
