//! Rekey collisions between two IKEv2 endpoints (virtual clock, seeded randomness).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use dualsec_ike::v2::{Event, TunnelStatus};

fn establish(p: &mut Pair) {
    p.initiate(Side::A);
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.both_have_child()),
        "not established; A: {:?} B: {:?}",
        p.failures(Side::A),
        p.failures(Side::B)
    );
}

fn ike_rekeys(ev: &[Event]) -> Vec<(u64, u64)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::IkeRekeyed { spi_i, spi_r, .. } => Some((*spi_i, *spi_r)),
            _ => None,
        })
        .collect()
}

/// RFC 7296 §2.8.2: both CREATE_CHILD_SA exchanges complete; the SA created with the lowest of
/// the four nonces is deleted by its creator, the old SA by the creator of the survivor, and the
/// CHILD SAs move to the survivor. Settled within one second: no TEMPORARY_FAILURE and retry
/// (which took 2 s and 5 s before).
#[test]
fn simultaneous_ike_rekey_keeps_one_new_sa_rfc7296_2_8_2() {
    for seed in 0..12u64 {
        let (a, b) = default_configs();
        let mut p = Pair::new(300 + seed, a, b);
        establish(&mut p);
        let child_a = p.children(Side::A)[0].clone();
        p.jitter = Duration::from_millis(seed % 4 * 3);
        p.rekey_ike(Side::A);
        // B's request leaves before A's arrives (latency 10 ms): the requests cross.
        p.run_for(Duration::from_millis(seed % 3 * 3));
        p.rekey_ike(Side::B);
        p.run_for(Duration::from_secs(1));
        let (ra, rb) = (ike_rekeys(&p.events_a), ike_rekeys(&p.events_b));
        assert_eq!(ra.len(), 1, "seed {seed}: A moved exactly once: {ra:?}");
        assert_eq!(ra, rb, "seed {seed}: both ends moved to the same IKE SA");
        assert_eq!(
            p.a.ike_sa_count(),
            1,
            "seed {seed}: old and redundant SA gone"
        );
        assert_eq!(p.b.ike_sa_count(), 1, "seed {seed}");
        assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
        assert_eq!(p.b.tunnel_status(TUN), TunnelStatus::Up);
        let (a, b) = (p.children(Side::A), p.children(Side::B));
        assert_eq!(a.len(), 1, "seed {seed}");
        assert_eq!(b.len(), 1, "seed {seed}");
        assert_eq!(
            a[0].spi_in, child_a.spi_in,
            "seed {seed}: CHILD SA moved unchanged"
        );
        assert_children_match(&a[0], &b[0]);
        for ev in [&p.events_a, &p.events_b] {
            assert!(
                ev.iter().all(|e| !matches!(
                    e,
                    Event::IkeDown { .. } | Event::ChildDeleted { .. } | Event::PeerDead { .. }
                )),
                "seed {seed}: {ev:?}"
            );
        }
        // The surviving SA carries on: a CHILD rekey over it works from both sides.
        p.jitter = Duration::ZERO;
        p.rekey_child(Side::B);
        p.run_for(Duration::from_secs(2));
        p.rekey_child(Side::A);
        p.run_for(Duration::from_secs(2));
        let (a, b) = (p.children(Side::A), p.children(Side::B));
        assert_eq!(a.len(), 1, "seed {seed}");
        assert_eq!(b.len(), 1, "seed {seed}");
        assert_children_match(&a[0], &b[0]);
        assert_ne!(a[0].spi_in, child_a.spi_in, "seed {seed}");
    }
}

/// RFC 7296 §2.25 / §2.8: one side rekeys a CHILD SA while the other rekeys the IKE SA. The
/// answer to the CHILD rekey arrives on the old IKE SA and must still find the CHILD SA there
/// (the IKE rekey is refused with TEMPORARY_FAILURE and retried), so no side keeps a CHILD SA
/// the other does not have, and the IKE rekey completes afterwards.
#[test]
fn child_rekey_in_flight_while_peer_rekeys_ike_sa_rfc7296_2_25() {
    for seed in 0..8u64 {
        let (a, b) = default_configs();
        let mut p = Pair::new(400 + seed, a, b);
        establish(&mut p);
        let child = p.children(Side::A)[0].clone();
        let (child_side, ike_side) = if seed % 2 == 0 {
            (Side::A, Side::B)
        } else {
            (Side::B, Side::A)
        };
        p.jitter = Duration::from_millis(seed % 3 * 2);
        p.rekey_child(child_side);
        p.run_for(Duration::from_millis(seed % 4 * 2));
        p.rekey_ike(ike_side);
        p.run_for(Duration::from_secs(1));
        let (a, b) = (p.children(Side::A), p.children(Side::B));
        assert_eq!(a.len(), 1, "seed {seed}: A {a:?}");
        assert_eq!(b.len(), 1, "seed {seed}: B {b:?}");
        assert_children_match(&a[0], &b[0]);
        assert_ne!(a[0].spi_in, child.spi_in, "seed {seed}: CHILD SA rekeyed");
        // The refused IKE rekey is retried and completes.
        p.run_for(Duration::from_secs(10));
        let (ra, rb) = (ike_rekeys(&p.events_a), ike_rekeys(&p.events_b));
        assert_eq!(ra.len(), 1, "seed {seed}: {ra:?}");
        assert_eq!(ra, rb, "seed {seed}");
        assert_eq!(p.a.ike_sa_count(), 1, "seed {seed}");
        assert_eq!(p.b.ike_sa_count(), 1, "seed {seed}");
        let (a, b) = (p.children(Side::A), p.children(Side::B));
        assert_eq!(a.len(), 1, "seed {seed}");
        assert_eq!(b.len(), 1, "seed {seed}");
        assert_children_match(&a[0], &b[0]);
        for ev in [&p.events_a, &p.events_b] {
            assert!(
                ev.iter()
                    .all(|e| !matches!(e, Event::IkeDown { .. } | Event::PeerDead { .. })),
                "seed {seed}: {ev:?}"
            );
        }
    }
}
