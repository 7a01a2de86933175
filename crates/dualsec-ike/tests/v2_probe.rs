//! Fast liveness probes (issue 6) over IKEv2 INFORMATIONAL exchanges, on top of DPD (R-TUN-5).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use dualsec_ike::v2::{Event, TunnelStatus};

fn establish(p: &mut Pair) {
    p.initiate(Side::A);
    assert!(p.run_until(Duration::from_secs(10), |p| p.both_have_child()));
}

fn answered(ev: &[Event]) -> usize {
    ev.iter()
        .filter(|e| matches!(e, Event::ProbeAnswered { .. }))
        .count()
}

#[test]
fn probe_before_establishment_is_refused() {
    let (a, b) = default_configs();
    let mut p = Pair::new(1, a, b);
    assert!(p.probe(Side::A).is_err());
}

#[test]
fn probe_is_answered_within_one_round_trip() {
    let (a, b) = default_configs();
    let mut p = Pair::new(2, a, b);
    establish(&mut p);
    let sent = p.sent;
    let t0 = p.now;
    p.probe(Side::A).unwrap();
    assert_eq!(p.sent, sent + 1, "one INFORMATIONAL request");
    assert!(p.run_until(Duration::from_secs(1), |p| answered(&p.events_a) == 1));
    // Latency 10 ms each way.
    assert_eq!(p.now - t0, Duration::from_millis(20));
    assert_eq!(answered(&p.events_b), 0, "B did not probe");
}

#[test]
fn probe_while_a_request_is_outstanding_retransmits_it_and_its_answer_counts() {
    let (a, b) = default_configs();
    let mut p = Pair::new(3, a, b);
    establish(&mut p);
    // A CHILD rekey holds the one-message window.
    p.rekey_child(Side::A);
    let sent = p.sent;
    p.probe(Side::A).unwrap();
    p.probe(Side::A).unwrap();
    assert_eq!(
        p.sent,
        sent + 2,
        "each probe resends the outstanding request"
    );
    p.run_for(Duration::from_secs(2));
    assert_eq!(
        answered(&p.events_a),
        1,
        "one answer for the pending probes"
    );
    // The rekey completed despite the duplicates (B answered them from its cache).
    assert_eq!(
        p.events_a
            .iter()
            .filter(|e| matches!(e, Event::ChildRekeyed { .. }))
            .count(),
        1
    );
    assert_eq!(p.children(Side::A).len(), 1);
}

#[test]
fn unanswered_probes_are_silent_and_dpd_still_decides_r_tun_5() {
    let (a, b) = default_configs();
    let mut p = Pair::new(4, a, b);
    establish(&mut p);
    p.blackhole = true;
    let cut = p.now;
    // Probe every 200 ms for 5 s: no answer, no event, tunnel still up (DPD has not decided).
    for _ in 0..25 {
        p.probe(Side::A).unwrap();
        p.run_for(Duration::from_millis(200));
    }
    assert_eq!(answered(&p.events_a), 0);
    assert!(
        p.events_a
            .iter()
            .all(|e| !matches!(e, Event::PeerDead { .. }))
    );
    // Keep probing: DPD declares the peer dead within its 30 s timeout (plus the first
    // retransmission that starts it), not earlier.
    let mut dead_at = None;
    for _ in 0..300 {
        let _ = p.probe(Side::A);
        p.run_for(Duration::from_millis(200));
        if p.events_a
            .iter()
            .any(|e| matches!(e, Event::PeerDead { .. }))
        {
            dead_at = Some(p.now - cut);
            break;
        }
    }
    let dead_at = dead_at.expect("DPD declared the peer dead");
    assert!(dead_at >= Duration::from_secs(30), "{dead_at:?}");
    assert!(dead_at <= Duration::from_secs(33), "{dead_at:?}");
    // The path returns: renegotiation and probes work again.
    p.blackhole = false;
    assert!(
        p.run_until(Duration::from_secs(120), |p| p.a.tunnel_status(TUN)
            == TunnelStatus::Up
            && p.both_have_child())
    );
    p.probe(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| answered(&p.events_a) == 1));
}

#[test]
fn probes_every_200_ms_leave_rekeys_and_dpd_undisturbed() {
    let (mut a, mut b) = default_configs();
    a.child_lifetime = Duration::from_secs(40);
    b.child_lifetime = Duration::from_secs(60);
    a.ike_lifetime = Duration::from_secs(90);
    let mut p = Pair::new(5, a, b);
    establish(&mut p);
    let mut probes = 0;
    for _ in 0..(200 * 5) {
        // Both sides probe, as both gateways of a real pair might.
        p.probe(Side::A).unwrap();
        p.probe(Side::B).unwrap();
        probes += 1;
        p.run_for(Duration::from_millis(200));
    }
    assert!(
        p.events_a
            .iter()
            .all(|e| !matches!(e, Event::PeerDead { .. } | Event::IkeDown { .. })),
        "{:?}",
        p.failures(Side::A)
    );
    let rekeys = p
        .events_a
        .iter()
        .filter(|e| matches!(e, Event::ChildRekeyed { .. }))
        .count();
    assert!(rekeys >= 4, "CHILD SAs rekeyed during 200 s: {rekeys}");
    assert!(
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::IkeRekeyed { .. })),
        "IKE SA rekeyed"
    );
    // Nearly every probe is answered (those sent while another exchange held the window share
    // one answer).
    let got = answered(&p.events_a);
    assert!(got * 10 >= probes * 9, "{got} answers to {probes} probes");
    let (ca, cb) = (p.children(Side::A), p.children(Side::B));
    assert_eq!(ca.len(), 1);
    assert_children_match(&ca[0], &cb[0]);
}
