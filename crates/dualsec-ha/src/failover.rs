//! The failover decision: which tunnel carries outbound traffic (R-HA-1..5, R-TUN-5).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::{ConfigError, HaConfig};
use crate::tunnel::{
    HaEvent, HaMetrics, Probe, Redundancy, SaDownCause, SaKind, Switch, SwitchReason, TunnelHealth,
    TunnelId, Unhealthy, ZoneId,
};

/// The timers the failover machine arms; one table keyed by this enum (STYLE.md §2).
///
/// Order matters only for ties: a probe due at the same instant as a detection deadline is sent
/// first, so the "probes lost" count includes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Send the next fast probe through the tunnel.
    ProbeInterval(TunnelId),
    /// Detection time (`interval × multiplier`) since the last answer: the probe timeout.
    ProbeTimeout(TunnelId),
    /// The master has been healthy for the hold-down: fail back.
    HoldDown,
}

impl Timer {
    const COUNT: usize = 5;

    fn index(self) -> usize {
        match self {
            Timer::ProbeInterval(t) => t.index(),
            Timer::ProbeTimeout(t) => 2 + t.index(),
            Timer::HoldDown => 4,
        }
    }

    const ALL: [Timer; Self::COUNT] = [
        Timer::ProbeInterval(TunnelId::One),
        Timer::ProbeInterval(TunnelId::Two),
        Timer::ProbeTimeout(TunnelId::One),
        Timer::ProbeTimeout(TunnelId::Two),
        Timer::HoldDown,
    ];
}

/// Unanswered probes remembered per tunnel; answers to older ones are ignored.
const MAX_OUTSTANDING: usize = 64;

/// Fast-probe state of a tunnel whose IKE SA is up.
#[derive(Debug)]
struct Probing {
    started: Instant,
    next_send: Instant,
    last_answer: Option<Instant>,
    /// Sequence numbers sent and not yet answered, oldest first.
    outstanding: VecDeque<u64>,
    /// Set when the detection time ran out; cleared by the next answer.
    lost: Option<Unhealthy>,
}

#[derive(Debug)]
struct TunnelState {
    zone: Option<ZoneId>,
    /// `None` = up.
    ike_down: Option<Unhealthy>,
    child_down: Option<Unhealthy>,
    probing: Option<Probing>,
    health: TunnelHealth,
    /// Last moment the tunnel was known good (probe answer, or healthy until an SA event).
    last_good: Option<Instant>,
}

impl TunnelState {
    fn new() -> Self {
        Self {
            zone: None,
            ike_down: Some(Unhealthy::NotEstablished(SaKind::Ike)),
            child_down: Some(Unhealthy::NotEstablished(SaKind::Child)),
            probing: None,
            health: TunnelHealth::Unhealthy(Unhealthy::NotConfigured),
            last_good: None,
        }
    }

    /// Probes travel over the IKE SA, so they run whenever it is up, even while the CHILD SA is
    /// gone: a CHILD SA deleted on purpose (to move the peer's traffic, issue 6) is restored once
    /// the path answers again, and the tunnel is healthy as soon as it is back.
    fn probe_path_up(&self) -> bool {
        self.zone.is_some() && self.ike_down.is_none()
    }

    /// What the observations say, before hysteresis.
    fn judge(&self, probes_enabled: bool) -> Result<(), Unhealthy> {
        if self.zone.is_none() {
            return Err(Unhealthy::NotConfigured);
        }
        if let Some(why) = self.ike_down.as_ref().or(self.child_down.as_ref()) {
            return Err(why.clone());
        }
        if !probes_enabled {
            return Ok(());
        }
        match &self.probing {
            // Not reachable: probing starts as soon as the IKE SA is up.
            None => Err(Unhealthy::AwaitingProbeAnswer),
            Some(p) => match (&p.lost, p.last_answer) {
                (Some(lost), _) => Err(lost.clone()),
                (None, None) => Err(Unhealthy::AwaitingProbeAnswer),
                (None, Some(_)) => Ok(()),
            },
        }
    }
}

/// The dual-tunnel failover state machine of one IPsec connection.
///
/// Sans-IO: the engine feeds observations with the current time and drains decisions. After every
/// input call, and whenever [`Failover::poll_timeout`] passes, the engine:
/// 1. calls [`Failover::handle_timeout`] if the deadline passed,
/// 2. sends every probe from [`Failover::poll_probe`] through the named tunnel,
/// 3. drains [`Failover::poll_event`] into the event log,
/// 4. routes outbound traffic to [`Failover::active`].
///
/// Inbound traffic is accepted on both tunnels at all times (peers route asymmetrically): that is
/// the data plane's job and not decided here. Inbound *silence* is deliberately not an input: a
/// peer that only went quiet is healthy as long as it answers probes; only unanswered probes and
/// IKE/CHILD SA events fail a tunnel.
#[derive(Debug)]
pub struct Failover {
    config: HaConfig,
    tunnels: [TunnelState; 2],
    active: TunnelId,
    redundancy: Redundancy,
    timers: [Option<Instant>; Timer::COUNT],
    probes: VecDeque<Probe>,
    /// One sequence space for both tunnels, so an answer reported on the wrong tunnel is
    /// recognised as foreign instead of crediting the other tunnel.
    next_seq: u64,
    events: VecDeque<HaEvent>,
    /// When the master became healthy, the time at which failback may happen (hold-down fixed then).
    failback_at: Option<Instant>,
    /// Recent master failures, for flap damping.
    master_failures: VecDeque<Instant>,
    metrics: HaMetrics,
    ever_healthy: bool,
    outage_since: Option<Instant>,
}

impl Failover {
    /// A connection with no tunnel configured yet; traffic would go to the master (R-HA-1).
    pub fn new(config: HaConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            tunnels: [TunnelState::new(), TunnelState::new()],
            active: TunnelId::One,
            redundancy: Redundancy::Down,
            timers: [None; Timer::COUNT],
            probes: VecDeque::new(),
            next_seq: 0,
            events: VecDeque::new(),
            failback_at: None,
            master_failures: VecDeque::new(),
            metrics: HaMetrics::default(),
            ever_healthy: false,
            outage_since: None,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &HaConfig {
        &self.config
    }

    // ---- inputs ----

    /// The tunnel is configured, from a gateway IP in `zone` (R-HA-4). Changing the zone of a
    /// configured tunnel keeps its SA state.
    pub fn configure(&mut self, tunnel: TunnelId, zone: ZoneId, now: Instant) {
        self.tunnels[tunnel.index()].zone = Some(zone);
        self.refresh(now);
    }

    /// The tunnel was removed from the connection (R-HA-5: the status will say no redundancy).
    pub fn unconfigure(&mut self, tunnel: TunnelId, now: Instant) {
        let t = &mut self.tunnels[tunnel.index()];
        t.zone = None;
        t.ike_down = Some(Unhealthy::NotEstablished(SaKind::Ike));
        t.child_down = Some(Unhealthy::NotEstablished(SaKind::Child));
        self.refresh(now);
    }

    /// The IKE or CHILD SA of `tunnel` is established (or was rekeyed into a new one).
    pub fn sa_up(&mut self, tunnel: TunnelId, sa: SaKind, now: Instant) {
        let t = &mut self.tunnels[tunnel.index()];
        match sa {
            SaKind::Ike => t.ike_down = None,
            SaKind::Child => t.child_down = None,
        }
        self.refresh(now);
    }

    /// The IKE or CHILD SA of `tunnel` is gone. Losing the IKE SA takes its CHILD SAs with it
    /// (RFC 7296 §1.4.1). The tunnel fails at once, without waiting for probes.
    pub fn sa_down(&mut self, tunnel: TunnelId, sa: SaKind, cause: SaDownCause, now: Instant) {
        let t = &mut self.tunnels[tunnel.index()];
        match sa {
            SaKind::Ike => {
                t.ike_down = Some(Unhealthy::SaDown(SaKind::Ike, cause));
                t.child_down = Some(Unhealthy::NotEstablished(SaKind::Child));
            }
            SaKind::Child => t.child_down = Some(Unhealthy::SaDown(SaKind::Child, cause)),
        }
        self.refresh(now);
    }

    /// DPD declared the peer of `tunnel` dead (R-TUN-5); the IKE engine deletes the SAs and
    /// renegotiates, and reports [`Failover::sa_up`] again when it succeeds.
    pub fn dpd_dead(&mut self, tunnel: TunnelId, now: Instant) {
        self.sa_down(tunnel, SaKind::Ike, SaDownCause::DpdTimeout, now);
    }

    /// The answer to probe `seq` came back through `tunnel`. Returns `false` (and changes nothing)
    /// for an answer we are not waiting for: stale, duplicate, or from before the SAs came up.
    pub fn probe_answered(&mut self, tunnel: TunnelId, seq: u64, now: Instant) -> bool {
        let t = &mut self.tunnels[tunnel.index()];
        let Some(p) = t.probing.as_mut() else {
            return false;
        };
        let Some(pos) = p.outstanding.iter().position(|&s| s == seq) else {
            return false;
        };
        // An answer proves the path; older probes still in flight are no longer counted.
        p.outstanding.drain(..=pos);
        p.last_answer = Some(now);
        p.lost = None;
        t.last_good = Some(now);
        self.refresh(now);
        true
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Each round fires what is due and re-evaluates; a round never re-arms a timer at or
        // before `now`, so two rounds suffice. The bound guards against a logic slip.
        for _ in 0..4 {
            let mut due: Vec<(Instant, Timer)> = Timer::ALL
                .iter()
                .filter_map(|&k| {
                    self.timers[k.index()]
                        .filter(|&at| at <= now)
                        .map(|at| (at, k))
                })
                .collect();
            if due.is_empty() {
                return;
            }
            due.sort();
            for (at, timer) in due {
                self.timers[timer.index()] = None;
                self.fire(timer, at, now);
            }
            self.refresh(now);
        }
    }

    fn fire(&mut self, timer: Timer, deadline: Instant, now: Instant) {
        match timer {
            Timer::ProbeInterval(tunnel) => {
                let interval = self.config.probe_interval;
                let t = &mut self.tunnels[tunnel.index()];
                if let Some(p) = t.probing.as_mut() {
                    Self::send_probe(&mut self.probes, tunnel, &mut self.next_seq, p);
                    // Keep the cadence, but never burst to catch up after a late call.
                    let next = deadline + interval;
                    p.next_send = if next > now { next } else { now + interval };
                }
            }
            Timer::ProbeTimeout(tunnel) => {
                let t = &mut self.tunnels[tunnel.index()];
                if let Some(p) = t.probing.as_mut() {
                    let since = p.last_answer.unwrap_or(p.started);
                    p.lost = Some(Unhealthy::ProbesLost {
                        lost: u32::try_from(p.outstanding.len()).unwrap_or(u32::MAX),
                        within: now.saturating_duration_since(since),
                    });
                }
            }
            // The decision itself happens in `refresh`.
            Timer::HoldDown => {}
        }
    }

    fn send_probe(
        out: &mut VecDeque<Probe>,
        tunnel: TunnelId,
        next_seq: &mut u64,
        p: &mut Probing,
    ) {
        let seq = *next_seq;
        *next_seq = next_seq.wrapping_add(1);
        if p.outstanding.len() == MAX_OUTSTANDING {
            p.outstanding.pop_front();
        }
        p.outstanding.push_back(seq);
        out.push_back(Probe { tunnel, seq });
    }

    // ---- outputs ----

    /// The earliest timer deadline; call [`Failover::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(_, at)| at)
    }

    /// The earliest timer and its deadline, for logs.
    pub fn next_timer(&self) -> Option<(Timer, Instant)> {
        Timer::ALL
            .iter()
            .filter_map(|&k| self.timers[k.index()].map(|at| (k, at)))
            .min_by_key(|&(k, at)| (at, k))
    }

    /// The next probe to send.
    pub fn poll_probe(&mut self) -> Option<Probe> {
        self.probes.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<HaEvent> {
        self.events.pop_front()
    }

    /// The tunnel that carries outbound traffic. Tunnel 1 whenever it is healthy (after the
    /// hold-down); with both tunnels down, the last one that carried traffic.
    pub fn active(&self) -> TunnelId {
        self.active
    }

    /// Current redundancy status (R-HA-4, R-HA-5).
    pub fn redundancy(&self) -> Redundancy {
        self.redundancy
    }

    /// When traffic will return to the master if nothing changes: set while the backup carries
    /// traffic and the master is healthy but still in its hold-down.
    pub fn failback_due(&self) -> Option<Instant> {
        self.timers[Timer::HoldDown.index()]
    }

    /// Health of one tunnel.
    pub fn health(&self, tunnel: TunnelId) -> &TunnelHealth {
        &self.tunnels[tunnel.index()].health
    }

    /// When the tunnel last answered a probe (`None` while its IKE SA is down or nothing was
    /// answered since it came up). Probes run while the IKE SA is up, with or without a CHILD SA.
    pub fn last_probe_answer(&self, tunnel: TunnelId) -> Option<Instant> {
        self.tunnels[tunnel.index()]
            .probing
            .as_ref()
            .and_then(|p| p.last_answer)
    }

    /// Counters, with a running outage counted up to `now`.
    pub fn metrics(&self, now: Instant) -> HaMetrics {
        let mut m = self.metrics;
        if let Some(since) = self.outage_since {
            m.outage += now.saturating_duration_since(since);
        }
        m
    }

    /// The hold-down the next master recovery would get at `now` (flap damping).
    pub fn current_hold_down(&self, now: Instant) -> Duration {
        let recent = self
            .master_failures
            .iter()
            .filter(|&&at| now.saturating_duration_since(at) < self.config.damping_window)
            .count();
        // base × 2^(failures − 1), capped: the first failure gets the plain hold-down.
        let doublings = u32::try_from(recent.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(31);
        self.config
            .hold_down
            .saturating_mul(1u32 << doublings)
            .min(self.config.hold_down_max)
    }

    // ---- the decision ----

    /// Re-judges both tunnels, decides, and re-arms the timers.
    fn refresh(&mut self, now: Instant) {
        for tunnel in TunnelId::ALL {
            self.update_probing(tunnel, now);
            self.update_health(tunnel, now);
        }
        self.decide(now);
        self.update_redundancy(now);
        self.rearm();
    }

    fn update_probing(&mut self, tunnel: TunnelId, now: Instant) {
        let probes_enabled = self.config.probes_enabled;
        let interval = self.config.probe_interval;
        let t = &mut self.tunnels[tunnel.index()];
        match (t.probe_path_up() && probes_enabled, t.probing.is_some()) {
            (true, false) => {
                // SAs just came up: probe at once, then every interval.
                let mut p = Probing {
                    started: now,
                    next_send: now + interval,
                    last_answer: None,
                    outstanding: VecDeque::new(),
                    lost: None,
                };
                Self::send_probe(&mut self.probes, tunnel, &mut self.next_seq, &mut p);
                t.probing = Some(p);
            }
            (false, true) => t.probing = None,
            _ => {}
        }
    }

    fn update_health(&mut self, tunnel: TunnelId, now: Instant) {
        let verdict = self.tunnels[tunnel.index()].judge(self.config.probes_enabled);
        let was_healthy = self.tunnels[tunnel.index()].health.is_healthy();
        match verdict {
            Ok(()) if !was_healthy => {
                let t = &mut self.tunnels[tunnel.index()];
                t.health = TunnelHealth::Healthy { since: now };
                t.last_good = Some(now);
                self.ever_healthy = true;
                if tunnel == TunnelId::One {
                    self.failback_at = Some(now + self.current_hold_down(now));
                }
                self.events.push_back(HaEvent::TunnelUp { tunnel, at: now });
            }
            Ok(()) => {}
            Err(why) => {
                let t = &mut self.tunnels[tunnel.index()];
                if was_healthy {
                    // Healthy until this very event (SA down) or the last probe answer.
                    if t.probing.as_ref().is_some_and(|p| p.lost.is_none())
                        || !self.config.probes_enabled
                    {
                        t.last_good = Some(now);
                    }
                    self.events.push_back(HaEvent::TunnelDown {
                        tunnel,
                        why: why.clone(),
                        at: now,
                    });
                    if tunnel == TunnelId::One {
                        self.metrics.master_failures += 1;
                        self.master_failures.push_back(now);
                        self.failback_at = None;
                    }
                }
                self.tunnels[tunnel.index()].health = TunnelHealth::Unhealthy(why);
            }
        }
        // Forget failures that no longer count for damping.
        while let Some(&first) = self.master_failures.front() {
            if now.saturating_duration_since(first) >= self.config.damping_window {
                self.master_failures.pop_front();
            } else {
                break;
            }
        }
    }

    fn decide(&mut self, now: Instant) {
        let healthy = |t: TunnelId| self.tunnels[t.index()].health.is_healthy();
        let (master_ok, backup_ok) = (healthy(TunnelId::One), healthy(TunnelId::Two));
        match self.active {
            TunnelId::One if !master_ok && backup_ok => {
                self.switch_after_failure(TunnelId::One, now);
            }
            TunnelId::Two if master_ok && !backup_ok => {
                // The backup cannot carry traffic and the master can: no reason to wait.
                self.switch_after_failure(TunnelId::Two, now);
            }
            TunnelId::Two
                if master_ok && backup_ok && self.failback_at.is_some_and(|at| now >= at) =>
            {
                let since = match self.tunnels[0].health {
                    TunnelHealth::Healthy { since } => since,
                    TunnelHealth::Unhealthy(_) => now,
                };
                let healthy_for = now.saturating_duration_since(since);
                self.switch(
                    TunnelId::One,
                    SwitchReason::Failback { healthy_for },
                    None,
                    now,
                );
                self.metrics.failbacks += 1;
            }
            _ => {}
        }
    }

    fn switch_after_failure(&mut self, failed: TunnelId, now: Instant) {
        let t = &self.tunnels[failed.index()];
        let why = match &t.health {
            TunnelHealth::Unhealthy(why) => why.clone(),
            TunnelHealth::Healthy { .. } => return,
        };
        let last_good = t.last_good;
        self.switch(
            failed.other(),
            SwitchReason::Failed {
                tunnel: failed,
                why,
            },
            last_good,
            now,
        );
        self.metrics.failovers += 1;
    }

    fn switch(
        &mut self,
        to: TunnelId,
        reason: SwitchReason,
        last_good: Option<Instant>,
        now: Instant,
    ) {
        let from = self.active;
        self.active = to;
        self.events.push_back(HaEvent::Switched(Switch {
            from,
            to,
            reason,
            at: now,
            last_good,
        }));
    }

    fn update_redundancy(&mut self, now: Instant) {
        let [one, two] = &self.tunnels;
        let redundancy = match (one.health.is_healthy(), two.health.is_healthy()) {
            (false, false) => Redundancy::Down,
            (true, false) | (false, true) => Redundancy::NoRedundancy,
            (true, true) if one.zone == two.zone => Redundancy::LinkRedundancyOnly,
            (true, true) => Redundancy::Redundant,
        };
        if redundancy != self.redundancy {
            self.events.push_back(HaEvent::RedundancyChanged {
                from: self.redundancy,
                to: redundancy,
                at: now,
            });
            self.redundancy = redundancy;
        }
        match (redundancy == Redundancy::Down, self.outage_since) {
            (true, None) if self.ever_healthy => self.outage_since = Some(now),
            (false, Some(since)) => {
                self.metrics.outage += now.saturating_duration_since(since);
                self.outage_since = None;
            }
            _ => {}
        }
    }

    fn rearm(&mut self) {
        let detection = self.config.detection_time();
        for tunnel in TunnelId::ALL {
            let p = self.tunnels[tunnel.index()].probing.as_ref();
            self.timers[Timer::ProbeInterval(tunnel).index()] = p.map(|p| p.next_send);
            self.timers[Timer::ProbeTimeout(tunnel).index()] = p
                .filter(|p| p.lost.is_none())
                .map(|p| p.last_answer.unwrap_or(p.started) + detection);
        }
        let waiting_for_failback = self.active == TunnelId::Two
            && self.tunnels[0].health.is_healthy()
            && self.tunnels[1].health.is_healthy();
        self.timers[Timer::HoldDown.index()] = self.failback_at.filter(|_| waiting_for_failback);
    }
}
