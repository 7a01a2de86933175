//! Deleting and re-creating a tunnel's CHILD SA under a live IKE SA (issue 6): failover deletes
//! the master's CHILD SA so the peer moves its traffic to the backup tunnel, and re-creates it
//! (CREATE_CHILD_SA without REKEY_SA, RFC 7296 §1.3.1) once the path works again. The IKE SA and
//! its liveness checks stay up throughout (RFC 7296 §1.4.1: deleting a CHILD SA leaves the IKE SA).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use dualsec_ike::v2::{Event, TunnelStatus};

fn establish(p: &mut Pair) {
    p.initiate(Side::A);
    assert!(p.run_until(Duration::from_secs(10), |p| p.both_have_child()));
}

fn count(ev: &[Event], f: impl Fn(&Event) -> bool) -> usize {
    ev.iter().filter(|e| f(e)).count()
}

fn deleted(ev: &[Event]) -> usize {
    count(ev, |e| matches!(e, Event::ChildDeleted { .. }))
}

fn established(ev: &[Event]) -> usize {
    count(ev, |e| matches!(e, Event::ChildEstablished { .. }))
}

#[test]
fn both_are_refused_without_an_ike_sa() {
    let (a, b) = default_configs();
    let mut p = Pair::new(11, a, b);
    assert!(p.delete_child_sas(Side::A).is_err());
    assert!(p.create_child_sa(Side::A).is_err());
}

#[test]
fn delete_child_sas_removes_the_child_on_both_sides_and_keeps_the_ike_sa_rfc_7296_1_4_1() {
    let (a, b) = default_configs();
    let mut p = Pair::new(12, a, b);
    establish(&mut p);
    let child = p.children(Side::A)[0].clone();
    assert_eq!(p.delete_child_sas(Side::A).unwrap(), 1);
    assert!(p.run_until(Duration::from_secs(2), |p| {
        p.children(Side::A).is_empty() && p.children(Side::B).is_empty()
    }));
    // Both sides report the SA pair that went: A's inbound SPI is B's outbound one.
    assert!(p.events_a.iter().any(|e| matches!(e,
        Event::ChildDeleted { spi_in, spi_out, .. } if *spi_in == child.spi_in && *spi_out == child.spi_out)));
    assert!(p.events_b.iter().any(|e| matches!(e,
        Event::ChildDeleted { spi_in, spi_out, .. } if *spi_in == child.spi_out && *spi_out == child.spi_in)));
    // The IKE SA stays, and still answers liveness probes.
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert_eq!(p.b.tunnel_status(TUN), TunnelStatus::Up);
    assert!(
        count(&p.events_a, |e| matches!(e, Event::IkeDown { .. })) == 0
            && count(&p.events_b, |e| matches!(e, Event::IkeDown { .. })) == 0
    );
    p.probe(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| {
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::ProbeAnswered { .. }))
    }));
    // Nothing left to delete.
    assert_eq!(p.delete_child_sas(Side::A).unwrap(), 0);
}

#[test]
fn the_child_stays_installed_until_the_peer_answers_the_delete() {
    let (a, b) = default_configs();
    let mut p = Pair::new(13, a, b);
    establish(&mut p);
    p.blackhole = true;
    assert_eq!(p.delete_child_sas(Side::A).unwrap(), 1);
    p.run_for(Duration::from_secs(3));
    // Unanswered: A keeps receiving on it (failover moved only our outbound traffic).
    assert_eq!(p.children(Side::A).len(), 1);
    assert_eq!(deleted(&p.events_a), 0);
    // The path returns; a probe (a resend of the outstanding DELETE) completes it.
    p.blackhole = false;
    p.probe(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| {
        p.children(Side::A).is_empty() && p.children(Side::B).is_empty()
    }));
    assert_eq!(deleted(&p.events_a), 1);
    assert_eq!(deleted(&p.events_b), 1);
    assert!(
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::ProbeAnswered { .. })),
        "the probe's answer is the DELETE's"
    );
}

#[test]
fn create_child_sa_restores_a_matching_child_under_the_same_ike_sa_rfc_7296_1_3_1() {
    let (a, b) = default_configs();
    let mut p = Pair::new(14, a, b);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    p.delete_child_sas(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| p.children(Side::B).is_empty()));
    let (ea, eb) = (established(&p.events_a), established(&p.events_b));
    p.create_child_sa(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| p.both_have_child()));
    assert_eq!(established(&p.events_a), ea + 1);
    assert_eq!(established(&p.events_b), eb + 1);
    let (ca, cb) = (p.children(Side::A), p.children(Side::B));
    assert_eq!((ca.len(), cb.len()), (1, 1));
    assert_children_match(&ca[0], &cb[0]);
    // A fresh SA: new SPIs and keys, the same selectors.
    assert_ne!(ca[0].spi_in, old.spi_in);
    assert_ne!(*ca[0].keys_out.encr_key, *old.keys_out.encr_key);
    assert_eq!(ca[0].local_ts, old.local_ts);
    assert_eq!(ca[0].remote_ts, old.remote_ts);
    assert!(p.failures(Side::A).is_empty(), "{:?}", p.failures(Side::A));
    assert!(
        count(&p.events_a, |e| matches!(e, Event::IkeUp { .. })) == 1,
        "no new IKE SA"
    );
}

#[test]
fn create_child_sa_without_pfs_from_the_ike_responder() {
    // The defaults use PFS (group 2, covered above); here no KE payload is exchanged.
    let (mut a, mut b) = default_configs();
    a.pfs_group = None;
    b.pfs_group = None;
    let mut p = Pair::new(15, a, b);
    establish(&mut p);
    p.delete_child_sas(Side::B).unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| p.children(Side::A).is_empty()));
    // The responder of the IKE SA can create one too.
    p.create_child_sa(Side::B).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| p.both_have_child()));
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
    assert!(p.failures(Side::B).is_empty(), "{:?}", p.failures(Side::B));
}

#[test]
fn a_refused_create_child_sa_is_reported_and_the_ike_sa_stays() {
    let (mut a, mut b) = default_configs();
    // B accepts only selectors A never proposes (no overlap, nothing to narrow to).
    a.local_ts =
        vec![dualsec_ike::v2::TrafficSelector::cidr("198.18.1.0".parse().unwrap(), 24).unwrap()];
    b.remote_ts = vec![dualsec_ike::v2::TrafficSelector::host(
        "198.18.9.9".parse().unwrap(),
    )];
    let mut p = Pair::new(16, a, b);
    // The IKE_AUTH child is refused too, but the IKE SA comes up (RFC 7296 §1.2).
    p.initiate(Side::A);
    assert!(
        p.run_until(Duration::from_secs(5), |p| p.a.tunnel_status(TUN)
            == TunnelStatus::Up)
    );
    let before = p.failures(Side::A).len();
    p.create_child_sa(Side::A).unwrap();
    p.run_for(Duration::from_secs(1));
    let f = p.failures(Side::A);
    assert_eq!(f.len(), before + 1, "{f:?}");
    assert!(p.children(Side::A).is_empty());
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
}

/// Issue 6, "drops toward IP 1": our liveness request reached the peer and was answered, the
/// answer was lost, so a request of ours stays outstanding. The CHILD SA DELETE must still leave
/// at once (beside it, with the next message id) and the peer must act on it, or the peer keeps
/// sending on this tunnel forever.
#[test]
fn the_delete_leaves_at_once_when_only_the_answers_are_lost() {
    let (a, b) = default_configs();
    let mut p = Pair::new(17, a, b);
    establish(&mut p);
    p.drop_toward = Some(Side::A);
    p.probe(Side::A).unwrap();
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.delete_child_sas(Side::A).unwrap(), 1);
    p.run_for(Duration::from_millis(200));
    // The peer deleted its side (its answer is lost); ours stays installed meanwhile.
    assert!(p.children(Side::B).is_empty(), "the peer got the DELETE");
    assert_eq!(deleted(&p.events_b), 1);
    assert_eq!(p.children(Side::A).len(), 1);
    // Heals: both our requests are answered (retransmissions get the peer's cached answers),
    // the CHILD SA goes here too, and the IKE SA carries on with consistent message ids.
    p.drop_toward = None;
    p.probe(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(3), |p| p.children(Side::A).is_empty()));
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    p.create_child_sa(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(3), |p| p.both_have_child()));
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
    let answered = count(&p.events_a, |e| matches!(e, Event::ProbeAnswered { .. }));
    p.probe(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| count(
        &p.events_a,
        |e| matches!(e, Event::ProbeAnswered { .. })
    ) > answered));
    assert!(p.failures(Side::A).is_empty(), "{:?}", p.failures(Side::A));
    assert!(p.failures(Side::B).is_empty(), "{:?}", p.failures(Side::B));
}

/// Issue 6, "drops from IP 1": neither our liveness request nor the DELETE beside it reached the
/// peer. When the path heals, the retransmissions arrive in order and both are processed.
#[test]
fn a_delete_sent_beside_a_lost_request_completes_when_the_path_heals() {
    let (a, b) = default_configs();
    let mut p = Pair::new(18, a, b);
    establish(&mut p);
    p.drop_toward = Some(Side::B);
    p.probe(Side::A).unwrap();
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.delete_child_sas(Side::A).unwrap(), 1);
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.children(Side::B).len(), 1, "nothing reached the peer");
    p.drop_toward = None;
    p.probe(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(3), |p| {
        p.children(Side::A).is_empty() && p.children(Side::B).is_empty()
    }));
    p.create_child_sa(Side::A).unwrap();
    assert!(p.run_until(Duration::from_secs(3), |p| p.both_have_child()));
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert!(p.failures(Side::A).is_empty(), "{:?}", p.failures(Side::A));
}
