//! Virtual-clock tests of the failover decision (issue 6, R-HA-1..5, R-TUN-5).
//!
//! `Net` plays the engine and the network: it answers the probes the machine asks for, through
//! whichever tunnel paths are currently intact, after a fixed round-trip time.

#![allow(clippy::unwrap_used)] // tests may unwrap (preamble)

use std::time::{Duration, Instant};

use dualsec_ha::{
    Failover, HaConfig, HaEvent, Redundancy, SaDownCause, SaKind, SwitchReason, TunnelHealth,
    TunnelId, TunnelRole, Unhealthy, ZoneId,
};

const MS: Duration = Duration::from_millis(1);
const RTT: Duration = Duration::from_millis(2);

struct Net {
    ha: Failover,
    now: Instant,
    /// Whether probes through each tunnel come back (uplink up, both directions).
    path_ok: [bool; 2],
    /// Answers in flight: (arrival, tunnel, seq).
    in_flight: Vec<(Instant, TunnelId, u64)>,
    events: Vec<HaEvent>,
    /// Every probe sent: (time, tunnel).
    sent: Vec<(Instant, TunnelId)>,
}

fn idx(t: TunnelId) -> usize {
    match t {
        TunnelId::One => 0,
        TunnelId::Two => 1,
    }
}

impl Net {
    fn new(config: HaConfig) -> Self {
        let start = Instant::now();
        Self {
            ha: Failover::new(config).unwrap(),
            now: start,
            path_ok: [true, true],
            in_flight: Vec::new(),
            events: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// Both tunnels configured in different zones, SAs up, first probes answered.
    fn both_up() -> Self {
        let mut n = Self::new(HaConfig::default());
        n.configure_both("zone-a", "zone-b");
        n.sa_up(TunnelId::One);
        n.sa_up(TunnelId::Two);
        n.run_for(Duration::from_millis(50));
        assert!(n.ha.health(TunnelId::One).is_healthy());
        assert!(n.ha.health(TunnelId::Two).is_healthy());
        assert_eq!(n.ha.active(), TunnelId::One);
        n.events.clear();
        n
    }

    fn configure_both(&mut self, z1: &str, z2: &str) {
        self.ha.configure(TunnelId::One, ZoneId::from(z1), self.now);
        self.ha.configure(TunnelId::Two, ZoneId::from(z2), self.now);
        self.pump();
    }

    fn sa_up(&mut self, t: TunnelId) {
        self.ha.sa_up(t, SaKind::Ike, self.now);
        self.ha.sa_up(t, SaKind::Child, self.now);
        self.pump();
    }

    /// Drains outputs: probes go on the wire, events into the log.
    fn pump(&mut self) {
        while let Some(p) = self.ha.poll_probe() {
            self.sent.push((self.now, p.tunnel));
            if self.path_ok[idx(p.tunnel)] {
                self.in_flight.push((self.now + RTT, p.tunnel, p.seq));
            }
        }
        while let Some(e) = self.ha.poll_event() {
            self.events.push(e);
        }
    }

    /// Advances the virtual clock to `until`, delivering answers and firing timers in order.
    fn run_until(&mut self, until: Instant) {
        loop {
            self.pump();
            let next_answer = self.in_flight.iter().map(|a| a.0).min();
            let next_timer = self.ha.poll_timeout();
            let next = [next_answer, next_timer].into_iter().flatten().min();
            match next {
                Some(at) if at <= until => {
                    self.now = at;
                    if next_timer == Some(at) {
                        self.ha.handle_timeout(at);
                    }
                    let (due, rest): (Vec<_>, Vec<_>) =
                        self.in_flight.drain(..).partition(|a| a.0 <= at);
                    self.in_flight = rest;
                    for (_, t, seq) in due {
                        // A path cut while the answer was in flight loses it too.
                        if self.path_ok[idx(t)] {
                            assert!(self.ha.probe_answered(t, seq, at));
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = until;
        self.pump();
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn switches(&self) -> Vec<&dualsec_ha::Switch> {
        self.events
            .iter()
            .filter_map(|e| match e {
                HaEvent::Switched(s) => Some(s),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn r_ha_2_roles_are_fixed() {
    assert_eq!(TunnelId::One.role(), TunnelRole::Master);
    assert_eq!(TunnelId::Two.role(), TunnelRole::Backup);
    assert_eq!(TunnelId::One.role().api_name(), "master");
    assert_eq!(TunnelId::Two.role().api_name(), "slave");
}

#[test]
fn config_defaults_and_validation() {
    let c = HaConfig::default();
    assert_eq!(c.probe_interval, 200 * MS);
    assert_eq!(c.multiplier, 3);
    assert_eq!(c.hold_down, Duration::from_secs(3));
    assert_eq!(c.detection_time(), 600 * MS);
    assert!(
        Failover::new(HaConfig {
            multiplier: 0,
            ..c.clone()
        })
        .is_err()
    );
    assert!(
        Failover::new(HaConfig {
            probe_interval: Duration::ZERO,
            ..c.clone()
        })
        .is_err()
    );
    assert!(
        Failover::new(HaConfig {
            hold_down: Duration::from_secs(90),
            ..c
        })
        .is_err(),
        "hold-down above its cap"
    );
}

#[test]
fn probes_go_through_both_tunnels_every_interval() {
    let mut n = Net::both_up();
    n.sent.clear();
    n.run_for(Duration::from_secs(1));
    for t in TunnelId::ALL {
        let count = n.sent.iter().filter(|s| s.1 == t).count();
        assert_eq!(count, 5, "{t}: one probe per 200 ms");
    }
    assert!(n.switches().is_empty());
}

/// Issue 6 "uplink down": tunnel 1's path cut → switch within interval × multiplier.
#[test]
fn r_ha_3_master_uplink_down_fails_over_within_detection_time() {
    let mut n = Net::both_up();
    n.run_for(Duration::from_millis(1234));
    let cut = n.now;
    n.path_ok[0] = false;
    n.run_for(Duration::from_secs(2));
    let sw = n.switches();
    assert_eq!(sw.len(), 1, "{:?}", n.events);
    assert_eq!((sw[0].from, sw[0].to), (TunnelId::One, TunnelId::Two));
    let detection = sw[0].at - cut;
    assert!(
        detection <= 600 * MS,
        "switched {detection:?} after the cut"
    );
    assert!(detection >= 400 * MS, "switched too early: {detection:?}");
    let text = sw[0].reason.to_string();
    assert!(text.starts_with("tunnel 1: 3 probes lost in "), "{text}");
    assert!(sw[0].last_good.unwrap() <= cut);
    assert_eq!(n.ha.active(), TunnelId::Two);
    assert_eq!(n.ha.redundancy(), Redundancy::NoRedundancy);
    // The backup carried traffic all along: no outage.
    assert_eq!(n.ha.metrics(n.now).outage, Duration::ZERO);
    assert_eq!(n.ha.metrics(n.now).failovers, 1);
}

/// Issue 6: restore → failback after the hold-down and not before.
#[test]
fn r_ha_3_failback_after_hold_down_not_before() {
    let mut n = Net::both_up();
    n.path_ok[0] = false;
    n.run_for(Duration::from_secs(2));
    assert_eq!(n.ha.active(), TunnelId::Two);
    let restored = n.now;
    n.path_ok[0] = true;
    // Next probe within 200 ms, then 3 s hold-down.
    n.run_for(Duration::from_millis(3100));
    assert_eq!(
        n.ha.active(),
        TunnelId::Two,
        "failed back before the hold-down"
    );
    let TunnelHealth::Healthy { since } = *n.ha.health(TunnelId::One) else {
        panic!()
    };
    assert_eq!(n.ha.failback_due(), Some(since + Duration::from_secs(3)));
    n.run_for(Duration::from_millis(200));
    assert_eq!(n.ha.active(), TunnelId::One);
    let sw = n.switches();
    assert_eq!(sw.len(), 2);
    let back = sw[1];
    assert_eq!((back.from, back.to), (TunnelId::Two, TunnelId::One));
    let TunnelHealth::Healthy { since } = *n.ha.health(TunnelId::One) else {
        panic!()
    };
    assert_eq!(
        back.at - since,
        Duration::from_secs(3),
        "exactly the hold-down"
    );
    assert!(back.at - restored <= Duration::from_millis(3200));
    assert_eq!(
        back.reason.to_string(),
        "tunnel 1 healthy for 3 s: failback"
    );
    assert_eq!(n.ha.metrics(n.now).failbacks, 1);
    assert_eq!(n.ha.redundancy(), Redundancy::Redundant);
}

/// Make before break: no failback while the master's probes are not answered, even with SAs up.
#[test]
fn failback_needs_answered_probes_not_just_sas() {
    let mut n = Net::both_up();
    n.ha.dpd_dead(TunnelId::One, n.now);
    n.pump();
    assert_eq!(n.ha.active(), TunnelId::Two);
    n.path_ok[0] = false; // SAs renegotiated, but the data path is still broken
    n.sa_up(TunnelId::One);
    n.run_for(Duration::from_secs(10));
    assert_eq!(n.ha.active(), TunnelId::Two);
    assert!(matches!(
        n.ha.health(TunnelId::One),
        TunnelHealth::Unhealthy(Unhealthy::ProbesLost { .. })
    ));
}

/// Issue 6 "drops in one direction only": the probes go out but answers never come back.
#[test]
fn one_direction_drop_fails_over() {
    let mut n = Net::both_up();
    n.run_for(Duration::from_millis(300));
    let cut = n.now;
    // Our probes leave (they are counted as sent) but nothing returns on tunnel 1.
    n.path_ok[0] = false;
    n.run_for(Duration::from_secs(1));
    let sent_after_cut = n
        .sent
        .iter()
        .filter(|s| s.0 > cut && s.1 == TunnelId::One)
        .count();
    assert!(sent_after_cut >= 3, "probes kept being sent on the master");
    let sw = n.switches();
    assert_eq!(sw.len(), 1);
    assert!(sw[0].at - cut <= 600 * MS);
    assert!(matches!(
        sw[0].reason,
        SwitchReason::Failed {
            tunnel: TunnelId::One,
            ..
        }
    ));
}

/// Issue 6 "peer charon killed for tunnel 1": the IKE event fails over at once.
#[test]
fn r_tun_5_ike_down_switches_immediately() {
    let mut n = Net::both_up();
    n.run_for(Duration::from_millis(777));
    let at = n.now;
    n.ha.dpd_dead(TunnelId::One, at);
    n.pump();
    let sw = n.switches();
    assert_eq!(sw.len(), 1);
    assert_eq!(sw[0].at, at, "no waiting for probes");
    assert_eq!(
        sw[0].reason.to_string(),
        "tunnel 1: IKE SA down (DPD timeout)"
    );
    assert_eq!(n.ha.active(), TunnelId::Two);
    // Probing of tunnel 1 stops with its SAs; tunnel 2 keeps being probed.
    n.sent.clear();
    n.run_for(Duration::from_secs(1));
    assert!(n.sent.iter().all(|s| s.1 == TunnelId::Two));
    assert!(!n.sent.is_empty());
}

#[test]
fn child_sa_deleted_by_peer_fails_over() {
    let mut n = Net::both_up();
    n.ha.sa_down(
        TunnelId::One,
        SaKind::Child,
        SaDownCause::DeletedByPeer,
        n.now,
    );
    n.pump();
    assert_eq!(n.ha.active(), TunnelId::Two);
    assert_eq!(
        n.switches()[0].reason.to_string(),
        "tunnel 1: CHILD SA down (deleted by peer)"
    );
}

/// Issue 6 steering: after a one-way failure the engine deletes the master's CHILD SA so the peer
/// moves too. Probes keep running over the master's IKE SA without a CHILD SA, so the engine sees
/// when the path answers again, restores the CHILD SA, and the master is healthy the moment it is
/// back; failback still waits the whole hold-down with its SAs up (make before break).
#[test]
fn probes_continue_over_the_ike_sa_while_the_child_sa_is_withdrawn() {
    let mut n = Net::both_up();
    n.path_ok[0] = false;
    n.run_for(Duration::from_secs(1));
    assert_eq!(n.ha.active(), TunnelId::Two);
    // The engine withdrew the master's CHILD SA (its DELETE answered later).
    let withdrawn = n.now;
    n.ha.sa_down(
        TunnelId::One,
        SaKind::Child,
        SaDownCause::DeletedLocally,
        withdrawn,
    );
    n.pump();
    n.sent.clear();
    n.run_for(Duration::from_secs(1));
    assert!(
        n.sent.iter().any(|s| s.1 == TunnelId::One),
        "the master's IKE SA is still probed"
    );
    assert!(
        n.ha.last_probe_answer(TunnelId::One)
            .is_none_or(|at| at < withdrawn)
    );
    // The path heals: answers come back although there is no CHILD SA yet.
    n.path_ok[0] = true;
    n.run_for(Duration::from_millis(500));
    let answered = n.ha.last_probe_answer(TunnelId::One).unwrap();
    assert!(answered > withdrawn);
    assert!(
        !n.ha.health(TunnelId::One).is_healthy(),
        "no CHILD SA, not healthy"
    );
    assert_eq!(
        n.ha.health(TunnelId::One),
        &TunnelHealth::Unhealthy(Unhealthy::SaDown(
            SaKind::Child,
            SaDownCause::DeletedLocally
        ))
    );
    // The engine restores the CHILD SA: healthy at once, failback after the hold-down.
    let restored = n.now;
    n.ha.sa_up(TunnelId::One, SaKind::Child, restored);
    n.pump();
    assert!(n.ha.health(TunnelId::One).is_healthy());
    assert_eq!(n.ha.failback_due(), Some(restored + Duration::from_secs(3)));
    n.run_for(Duration::from_millis(2900));
    assert_eq!(n.ha.active(), TunnelId::Two);
    n.run_for(Duration::from_millis(200));
    assert_eq!(n.ha.active(), TunnelId::One);
}

/// Issue 6 "flapping link (down/up every 2 s for 20 s)": damped, bounded number of switches, and
/// the failback after the flapping waits longer than the plain hold-down.
#[test]
fn flapping_master_is_damped() {
    let mut n = Net::both_up();
    let flap_start = n.now;
    for i in 0..10 {
        n.path_ok[0] = i % 2 == 1; // down first, then up, every 2 s
        n.run_for(Duration::from_secs(2));
    }
    n.path_ok[0] = true;
    let stable = n.now;
    assert_eq!(stable - flap_start, Duration::from_secs(20));
    let during = n.switches().len();
    assert!(
        during <= 2,
        "{during} switches while flapping: {:?}",
        n.switches()
    );
    assert_eq!(
        n.ha.active(),
        TunnelId::Two,
        "no failback onto a flapping master"
    );
    assert_eq!(n.ha.metrics(n.now).master_failures, 5);
    // Five failures in the window: 3 s × 2^4 = 48 s (below the 60 s cap).
    n.run_for(Duration::from_secs(40));
    assert_eq!(
        n.ha.active(),
        TunnelId::Two,
        "plain 3 s hold-down was not damped"
    );
    n.run_for(Duration::from_secs(10));
    assert_eq!(n.ha.active(), TunnelId::One);
    let sw = n.switches();
    assert_eq!(sw.len(), 2);
    let SwitchReason::Failback { healthy_for } = sw[1].reason else {
        panic!("{:?}", sw[1])
    };
    assert_eq!(healthy_for, Duration::from_secs(48));
}

#[test]
fn hold_down_growth_is_capped() {
    let config = HaConfig {
        hold_down_max: Duration::from_secs(10),
        ..HaConfig::default()
    };
    let mut n = Net::new(config);
    n.configure_both("a", "b");
    n.sa_up(TunnelId::One);
    n.sa_up(TunnelId::Two);
    n.run_for(Duration::from_millis(10));
    for _ in 0..6 {
        n.ha.dpd_dead(TunnelId::One, n.now);
        n.sa_up(TunnelId::One);
        n.run_for(Duration::from_millis(10));
    }
    assert_eq!(n.ha.current_hold_down(n.now), Duration::from_secs(10));
    // After the damping window passes with no failure, the hold-down is back to the base.
    n.run_for(Duration::from_secs(61));
    assert_eq!(n.ha.current_hold_down(n.now), Duration::from_secs(3));
}

/// Issue 6 "both tunnels down": status Down, traffic stays on the last active tunnel, outage is
/// counted, and whichever tunnel recovers first takes the traffic at once.
#[test]
fn both_down_then_master_recovers() {
    let mut n = Net::both_up();
    n.path_ok = [false, false];
    n.run_for(Duration::from_secs(1));
    assert_eq!(n.ha.redundancy(), Redundancy::Down);
    assert_eq!(n.ha.active(), TunnelId::One, "stays on the master");
    assert!(
        n.switches().is_empty(),
        "no switch between two dead tunnels"
    );
    let down_at = n
        .events
        .iter()
        .find_map(|e| match e {
            HaEvent::RedundancyChanged {
                to: Redundancy::Down,
                at,
                ..
            } => Some(*at),
            _ => None,
        })
        .unwrap();
    n.run_for(Duration::from_secs(4));
    assert_eq!(
        n.ha.metrics(n.now).outage,
        n.now - down_at,
        "running outage counted"
    );
    n.path_ok[0] = true;
    n.run_for(Duration::from_millis(300));
    assert_eq!(n.ha.active(), TunnelId::One);
    assert_eq!(n.ha.redundancy(), Redundancy::NoRedundancy);
    let up_at = n
        .events
        .iter()
        .find_map(|e| match e {
            HaEvent::TunnelUp {
                tunnel: TunnelId::One,
                at,
            } => Some(*at),
            _ => None,
        })
        .unwrap();
    let m = n.ha.metrics(n.now);
    assert_eq!(m.outage, up_at - down_at);
    n.run_for(Duration::from_secs(5));
    assert_eq!(
        n.ha.metrics(n.now).outage,
        m.outage,
        "outage stopped counting"
    );
}

#[test]
fn both_down_then_backup_recovers_first() {
    let mut n = Net::both_up();
    n.ha.dpd_dead(TunnelId::One, n.now);
    n.ha.dpd_dead(TunnelId::Two, n.now);
    n.pump();
    assert_eq!(n.ha.redundancy(), Redundancy::Down);
    // Tunnel 2 was healthy for an instant between the two events: traffic went there.
    assert_eq!(n.ha.active(), TunnelId::Two);
    n.sa_up(TunnelId::Two);
    n.run_for(Duration::from_millis(100));
    assert_eq!(n.ha.active(), TunnelId::Two);
    n.sa_up(TunnelId::One);
    n.run_for(Duration::from_millis(100));
    assert_eq!(
        n.ha.active(),
        TunnelId::Two,
        "failback still waits for the hold-down"
    );
    n.run_for(Duration::from_secs(3));
    assert_eq!(n.ha.active(), TunnelId::One);
}

/// While the backup carries traffic, a backup failure with a healthy master moves traffic back at
/// once, without waiting for the hold-down.
#[test]
fn backup_failure_during_hold_down_returns_to_master_at_once() {
    let mut n = Net::both_up();
    n.ha.dpd_dead(TunnelId::One, n.now);
    n.sa_up(TunnelId::One);
    n.run_for(Duration::from_millis(500));
    assert_eq!(n.ha.active(), TunnelId::Two);
    let at = n.now;
    n.ha.dpd_dead(TunnelId::Two, at);
    n.pump();
    assert_eq!(n.ha.active(), TunnelId::One);
    let sw = n.switches();
    assert_eq!(sw.last().unwrap().at, at);
    assert_eq!(
        sw.last().unwrap().reason.to_string(),
        "tunnel 2: IKE SA down (DPD timeout)"
    );
}

/// R-HA-5: only one tunnel configured → NoRedundancy; traffic on it even if it is the backup.
#[test]
fn r_ha_5_single_tunnel_has_no_redundancy() {
    let mut n = Net::new(HaConfig::default());
    n.ha.configure(TunnelId::One, ZoneId::from("a"), n.now);
    n.sa_up(TunnelId::One);
    n.run_for(Duration::from_millis(50));
    assert_eq!(n.ha.redundancy(), Redundancy::NoRedundancy);
    assert_eq!(n.ha.active(), TunnelId::One);
    assert_eq!(
        n.ha.health(TunnelId::Two),
        &TunnelHealth::Unhealthy(Unhealthy::NotConfigured)
    );
    assert!(
        n.sent.iter().all(|s| s.1 == TunnelId::One),
        "unconfigured tunnel is not probed"
    );

    let mut m = Net::new(HaConfig::default());
    m.ha.configure(TunnelId::Two, ZoneId::from("b"), m.now);
    m.sa_up(TunnelId::Two);
    m.run_for(Duration::from_millis(50));
    assert_eq!(m.ha.redundancy(), Redundancy::NoRedundancy);
    assert_eq!(m.ha.active(), TunnelId::Two);
    assert_eq!(
        m.switches()[0].reason.to_string(),
        "tunnel 1: not configured"
    );
}

/// R-HA-5: both configured but only one up → NoRedundancy too; removing one drops redundancy.
#[test]
fn r_ha_5_one_tunnel_up_or_removed() {
    let mut n = Net::both_up();
    assert_eq!(n.ha.redundancy(), Redundancy::Redundant);
    n.ha.unconfigure(TunnelId::Two, n.now);
    n.pump();
    assert_eq!(n.ha.redundancy(), Redundancy::NoRedundancy);
    assert!(n.events.iter().any(|e| matches!(
        e,
        HaEvent::RedundancyChanged {
            from: Redundancy::Redundant,
            to: Redundancy::NoRedundancy,
            ..
        }
    )));
}

/// R-HA-4: both IPs in one zone → link redundancy only.
#[test]
fn r_ha_4_same_zone_is_link_redundancy_only() {
    let mut n = Net::new(HaConfig::default());
    n.configure_both("cn-hangzhou-h", "cn-hangzhou-h");
    n.sa_up(TunnelId::One);
    n.sa_up(TunnelId::Two);
    n.run_for(Duration::from_millis(50));
    assert_eq!(n.ha.redundancy(), Redundancy::LinkRedundancyOnly);
    assert_eq!(n.ha.redundancy().to_string(), "link redundancy only");
    n.ha.configure(TunnelId::Two, ZoneId::from("cn-hangzhou-i"), n.now);
    n.pump();
    assert_eq!(n.ha.redundancy(), Redundancy::Redundant);
}

/// Issue 6: "a probe failure is told apart from a peer that only went quiet": no data at all for a
/// long time, probes answered → no switch.
#[test]
fn quiet_peer_answering_probes_never_fails() {
    let mut n = Net::both_up();
    n.run_for(Duration::from_secs(120));
    assert!(n.switches().is_empty());
    assert!(n.ha.health(TunnelId::One).is_healthy());
    assert_eq!(n.ha.metrics(n.now).switches(), 0);
}

/// A round trip longer than the interval still counts as healthy: detection is time since the last
/// answer, not "answer before the next probe".
#[test]
fn slow_answers_are_not_losses() {
    let mut n = Net::both_up();
    for _ in 0..50 {
        // Re-time every answer in flight to arrive 450 ms after it was sent.
        for a in &mut n.in_flight {
            a.0 += Duration::from_millis(448);
        }
        n.run_for(Duration::from_millis(100));
    }
    assert!(n.switches().is_empty(), "{:?}", n.events);
}

#[test]
fn stale_and_unknown_answers_are_ignored() {
    let mut n = Net::both_up();
    assert!(!n.ha.probe_answered(TunnelId::One, 999_999, n.now));
    // Answers to probes sent before the SAs went down do not revive the tunnel.
    n.path_ok[0] = false;
    n.run_for(Duration::from_millis(10));
    let old_seq = 0;
    n.ha.dpd_dead(TunnelId::One, n.now);
    n.sa_up(TunnelId::One);
    assert!(!n.ha.probe_answered(TunnelId::One, old_seq, n.now));
    assert!(!n.ha.health(TunnelId::One).is_healthy());
}

#[test]
fn probes_disabled_uses_sa_state_only() {
    let mut n = Net::new(HaConfig {
        probes_enabled: false,
        ..HaConfig::default()
    });
    n.configure_both("a", "b");
    n.sa_up(TunnelId::One);
    n.sa_up(TunnelId::Two);
    assert!(n.ha.health(TunnelId::One).is_healthy());
    assert_eq!(n.ha.poll_timeout(), None, "no probe timers");
    n.path_ok = [false, false];
    n.run_for(Duration::from_secs(10));
    assert!(n.sent.is_empty());
    assert_eq!(n.ha.active(), TunnelId::One);
    n.ha.dpd_dead(TunnelId::One, n.now);
    n.pump();
    assert_eq!(n.ha.active(), TunnelId::Two);
}

#[test]
fn late_timer_call_does_not_burst_probes() {
    let mut n = Net::both_up();
    n.sent.clear();
    // The engine was stalled for 5 s; one handle_timeout call.
    n.now += Duration::from_secs(5);
    n.ha.handle_timeout(n.now);
    while let Some(p) = n.ha.poll_probe() {
        n.sent.push((n.now, p.tunnel));
    }
    assert_eq!(n.sent.len(), 2, "one probe per tunnel, not 25");
    assert!(n.ha.poll_timeout().unwrap() > n.now);
}

/// Sequence numbers are unique across tunnels: an answer attributed to the wrong tunnel does not
/// keep that tunnel alive.
#[test]
fn answer_on_the_wrong_tunnel_is_foreign() {
    let mut ha = Failover::new(HaConfig::default()).unwrap();
    let t0 = Instant::now();
    for t in TunnelId::ALL {
        ha.configure(t, ZoneId::from("a"), t0);
        ha.sa_up(t, SaKind::Ike, t0);
        ha.sa_up(t, SaKind::Child, t0);
    }
    let probes: Vec<_> = std::iter::from_fn(|| ha.poll_probe()).collect();
    assert_eq!(probes.len(), 2);
    assert_ne!(probes[0].seq, probes[1].seq);
    let one = probes.iter().find(|p| p.tunnel == TunnelId::One).unwrap();
    assert!(!ha.probe_answered(TunnelId::Two, one.seq, t0));
    assert!(!ha.health(TunnelId::Two).is_healthy());
    assert!(ha.probe_answered(TunnelId::One, one.seq, t0));
    assert!(ha.health(TunnelId::One).is_healthy());
}
