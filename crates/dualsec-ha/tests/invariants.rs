//! Random observation sequences against the failover machine: it never panics and its decision
//! always respects R-HA-1..3 (property tests).

#![allow(clippy::unwrap_used)] // tests may unwrap (preamble)

use std::time::{Duration, Instant};

use dualsec_ha::{Failover, HaConfig, HaEvent, SaDownCause, SaKind, TunnelId, ZoneId};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Advance(u16),
    Configure(bool, bool),
    Unconfigure(bool),
    SaUp(bool, bool),
    SaDown(bool, bool),
    /// Answer the n-th oldest probe we were asked to send (if any).
    Answer(u8),
    Dpd(bool),
}

fn t(b: bool) -> TunnelId {
    if b { TunnelId::One } else { TunnelId::Two }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u16..3000).prop_map(Op::Advance),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::Configure(a, b)),
        1 => any::<bool>().prop_map(Op::Unconfigure),
        3 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::SaUp(a, b)),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::SaDown(a, b)),
        6 => any::<u8>().prop_map(Op::Answer),
        1 => any::<bool>().prop_map(Op::Dpd),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn decisions_respect_the_rules(ops in proptest::collection::vec(op(), 1..200)) {
        let start = Instant::now();
        let mut now = start;
        let mut ha = Failover::new(HaConfig::default()).unwrap();
        let mut pending: Vec<(TunnelId, u64)> = vec![];
        let mut switches = 0u64;
        for op in ops {
            match op {
                Op::Advance(ms) => {
                    let until = now + Duration::from_millis(u64::from(ms));
                    while let Some(at) = ha.poll_timeout().filter(|&at| at <= until) {
                        prop_assert!(at >= now, "timer in the past");
                        now = at;
                        ha.handle_timeout(now);
                        while let Some(p) = ha.poll_probe() { pending.push((p.tunnel, p.seq)); }
                    }
                    now = until;
                }
                Op::Configure(a, same) => {
                    ha.configure(t(a), ZoneId::from(if same { "z" } else if a { "a" } else { "b" }), now)
                }
                Op::Unconfigure(a) => ha.unconfigure(t(a), now),
                Op::SaUp(a, ike) => ha.sa_up(t(a), if ike { SaKind::Ike } else { SaKind::Child }, now),
                Op::SaDown(a, ike) => ha.sa_down(
                    t(a),
                    if ike { SaKind::Ike } else { SaKind::Child },
                    SaDownCause::DeletedByPeer,
                    now,
                ),
                Op::Answer(i) => {
                    if !pending.is_empty() {
                        let (tun, seq) = pending.remove(usize::from(i) % pending.len());
                        ha.probe_answered(tun, seq, now);
                    }
                }
                Op::Dpd(a) => ha.dpd_dead(t(a), now),
            }
            while let Some(p) = ha.poll_probe() { pending.push((p.tunnel, p.seq)); }
            while let Some(e) = ha.poll_event() {
                if let HaEvent::Switched(s) = e {
                    prop_assert_ne!(s.from, s.to);
                    prop_assert!(s.at <= now, "switch stamped in the future");
                    switches += 1;
                }
            }
            let h1 = ha.health(TunnelId::One).is_healthy();
            let h2 = ha.health(TunnelId::Two).is_healthy();
            // Traffic is on a healthy tunnel whenever there is one (R-HA-3) ...
            if h1 || h2 {
                prop_assert!(ha.health(ha.active()).is_healthy(), "active {:?} unhealthy", ha.active());
            }
            // ... on the master whenever the backup cannot carry it (R-HA-1) ...
            if h1 && !h2 {
                prop_assert_eq!(ha.active(), TunnelId::One);
            }
            // ... and on the backup with a healthy master only while the hold-down runs.
            if h1 && h2 && ha.active() == TunnelId::Two {
                prop_assert!(ha.failback_due().is_some_and(|at| at > now), "no failback pending");
            }
            let m = ha.metrics(now);
            prop_assert_eq!(m.switches(), switches);
            prop_assert!(m.outage <= now - start);
        }
    }
}
