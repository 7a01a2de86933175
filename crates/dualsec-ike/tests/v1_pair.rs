//! Two IKEv1 endpoints against each other with a virtual clock and seeded randomness: main and
//! aggressive mode, quick mode with and without PFS across the product algorithms (R-TUN-3,
//! R-TUN-4), explained errors (R-DIAG-1), DPD (R-TUN-5), DELETE, rekeys.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{A_IP, B_IP, Side, TUN, assert_children_match, default_configs as configs, ip};
use dualsec_crypto::{DhId, EncrId, IntegId, PrfId};
use dualsec_ike::v1::{Endpoint, Mode, OUTBOUND_SWITCH_DELAY, Options};
use dualsec_ike::v2::{
    ChildSaInfo, DownReason, EndpointConfig, EspProposal, Event, Identity, IkeProposal,
    NegotiationError, Psk, TunnelConfig, TunnelStatus,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The shared virtual network (`common::Pair`) with two IKEv1 endpoints.
type Pair = common::Pair<Endpoint>;

impl Pair {
    /// A and B with one tunnel each in `mode`; randomness seeded from `seed`.
    fn new(seed: u64, a: TunnelConfig, b: TunnelConfig, mode: Mode) -> Pair {
        let mut rng_a = ChaCha20Rng::seed_from_u64(seed);
        let mut rng_b = ChaCha20Rng::seed_from_u64(seed ^ 0x5555);
        let mut ea = Endpoint::new(EndpointConfig::default(), &mut rng_a);
        let mut eb = Endpoint::new(EndpointConfig::default(), &mut rng_b);
        ea.add_tunnel_with(TUN, a, Options { mode });
        eb.add_tunnel_with(TUN, b, Options { mode });
        Pair::from_endpoints(ea, eb, rng_a, rng_b, seed ^ 0xaaaa)
    }

    fn initiate(&mut self) {
        self.a.initiate(self.now, TUN, &mut self.rng_a).unwrap();
        self.collect();
    }
}

fn establish(p: &mut Pair) {
    p.initiate();
    assert!(
        p.run_until(Duration::from_secs(10), Pair::both_have_child),
        "not established; A: {:?} B: {:?}",
        p.negotiation_errors(Side::A),
        p.negotiation_errors(Side::B)
    );
    let (a, b) = (p.children(Side::A), p.children(Side::B));
    assert_eq!(a.len(), 1);
    assert_eq!(b.len(), 1);
    assert_children_match(&a[0], &b[0]);
}

#[test]
fn main_mode_and_quick_mode_with_product_defaults_r_tun_3_r_tun_4() {
    let (a, b) = configs();
    let mut p = Pair::new(1, a, b, Mode::Main);
    establish(&mut p);
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert_eq!(p.b.tunnel_status(TUN), TunnelStatus::Up);
    let c = &p.children(Side::A)[0];
    assert_eq!(c.encr, EncrId::AES_CBC);
    assert_eq!(c.key_bits, Some(128));
    assert_eq!(c.integ, IntegId::HMAC_SHA1_96);
    assert_eq!(c.keys_out.encr_key.len(), 16);
    assert_eq!(c.keys_out.integ_key.len(), 20);
    assert_eq!(c.local_ts.len(), 1);
    assert_eq!(c.local_ts[0].to_string(), "0.0.0.0/0");
    // RFC 2409: six main-mode messages plus three quick-mode messages.
    assert_eq!(p.sent, 9);
    assert!(p.events_a.iter().any(|e| matches!(e, Event::IkeUp { .. })));
    assert!(p.events_b.iter().any(|e| matches!(e, Event::IkeUp { .. })));
}

#[test]
fn aggressive_mode_with_fqdn_ids_r_tun_3() {
    let (mut a, mut b) = configs();
    a.local_id = Identity::Fqdn("vpn-a.example".into());
    b.remote_id = Identity::Fqdn("vpn-a.example".into());
    b.local_id = Identity::Fqdn("idc-b.example".into());
    a.remote_id = Identity::Fqdn("idc-b.example".into());
    let mut p = Pair::new(2, a, b, Mode::Aggressive);
    establish(&mut p);
    // Three aggressive-mode messages plus three quick-mode messages.
    assert_eq!(p.sent, 6);
}

fn suite(
    seed: u64,
    mode: Mode,
    encr: EncrId,
    bits: Option<u16>,
    h: (IntegId, PrfId),
    dh: DhId,
    pfs: bool,
) {
    let (mut a, mut b) = configs();
    for c in [&mut a, &mut b] {
        c.ike_proposals = vec![IkeProposal {
            encr,
            key_bits: bits,
            integ: h.0,
            prf: h.1,
            dh,
        }];
        c.esp_proposals = vec![EspProposal {
            encr,
            key_bits: bits,
            integ: h.0,
            esn: false,
        }];
        c.pfs_group = pfs.then_some(dh);
    }
    let mut p = Pair::new(seed, a, b, mode);
    establish(&mut p);
    let c = &p.children(Side::A)[0];
    assert_eq!(c.encr, encr);
    assert_eq!(c.integ, h.0);
}

const MD5: (IntegId, PrfId) = (IntegId::HMAC_MD5_96, PrfId::HMAC_MD5);
const SHA1: (IntegId, PrfId) = (IntegId::HMAC_SHA1_96, PrfId::HMAC_SHA1);
const SHA256: (IntegId, PrfId) = (IntegId::HMAC_SHA2_256_128, PrfId::HMAC_SHA2_256);
const SHA384: (IntegId, PrfId) = (IntegId::HMAC_SHA2_384_192, PrfId::HMAC_SHA2_384);
const SHA512: (IntegId, PrfId) = (IntegId::HMAC_SHA2_512_256, PrfId::HMAC_SHA2_512);

/// Every product cipher, hash and group appears at least once (R-TUN-3, R-TUN-4), both modes,
/// with and without PFS.
#[test]
fn algorithm_matrix_r_tun_3_r_tun_4() {
    suite(
        10,
        Mode::Main,
        EncrId::AES_CBC,
        Some(128),
        MD5,
        DhId::MODP_1024,
        true,
    );
    suite(
        11,
        Mode::Main,
        EncrId::AES_CBC,
        Some(192),
        SHA384,
        DhId::MODP_768,
        false,
    );
    suite(
        12,
        Mode::Main,
        EncrId::AES_CBC,
        Some(256),
        SHA256,
        DhId::MODP_2048,
        true,
    );
    suite(
        13,
        Mode::Aggressive,
        EncrId::DES,
        None,
        SHA1,
        DhId::MODP_1536,
        true,
    );
    suite(
        14,
        Mode::Aggressive,
        EncrId::TRIPLE_DES,
        None,
        SHA512,
        DhId::MODP_1024,
        false,
    );
    suite(
        15,
        Mode::Main,
        EncrId::TRIPLE_DES,
        None,
        MD5,
        DhId::MODP_1024,
        false,
    );
}

#[test]
fn psk_mismatch_main_mode_is_explained_on_both_sides_r_diag_1() {
    let (a, mut b) = configs();
    b.psk = Psk::new("another key");
    let mut p = Pair::new(3, a, b, Mode::Main);
    p.initiate();
    p.run_for(Duration::from_secs(25));
    assert!(!p.both_have_child());
    let fb = p.negotiation_errors(Side::B);
    assert!(
        fb.iter()
            .any(|e| matches!(e, NegotiationError::PskMismatch { .. })),
        "responder: {fb:?}"
    );
    let fa = p.negotiation_errors(Side::A);
    assert!(
        fa.iter().any(|e| e.to_string().contains("pre-shared key")),
        "initiator: {fa:?}"
    );
}

#[test]
fn psk_mismatch_aggressive_mode_is_detected_by_the_initiator_r_diag_1() {
    let (a, mut b) = configs();
    b.psk = Psk::new("another key");
    let mut p = Pair::new(4, a, b, Mode::Aggressive);
    p.initiate();
    p.run_for(Duration::from_secs(3));
    let fa = p.negotiation_errors(Side::A);
    assert!(
        matches!(fa.first(), Some(NegotiationError::PskMismatch { peer_id }) if *peer_id == Identity::from(ip(B_IP))),
        "initiator: {fa:?}"
    );
}

#[test]
fn proposal_mismatch_names_both_proposals_r_diag_1() {
    let (mut a, b) = configs();
    a.ike_proposals = vec![IkeProposal::from_strongswan("aes256-sha256-modp2048").unwrap()];
    let mut p = Pair::new(5, a, b, Mode::Main);
    p.initiate();
    p.run_for(Duration::from_secs(3));
    let fb = p.negotiation_errors(Side::B);
    let Some(NegotiationError::NoProposalChosen { ours, theirs, .. }) = fb.first() else {
        panic!("responder: {fb:?}");
    };
    assert_eq!(ours, "aes128-sha1-prfsha1-modp1024");
    assert_eq!(theirs, "aes256-sha256-prfsha256-modp2048");
    let fa = p.negotiation_errors(Side::A);
    assert!(
        matches!(fa.first(), Some(NegotiationError::NoProposalChosen { .. })),
        "initiator: {fa:?}"
    );
}

#[test]
fn esp_proposal_mismatch_is_explained_r_diag_1() {
    let (mut a, b) = configs();
    a.pfs_group = None; // B insists on PFS group2 (product default)
    let mut p = Pair::new(6, a, b, Mode::Main);
    p.initiate();
    p.run_for(Duration::from_secs(3));
    let fb = p.negotiation_errors(Side::B);
    let Some(NegotiationError::NoProposalChosen { ours, theirs, .. }) = fb.first() else {
        panic!("responder: {fb:?}");
    };
    assert_eq!(ours, "aes128-sha1-modp1024");
    assert_eq!(theirs, "aes128-sha1");
    assert!(
        p.negotiation_errors(Side::A)
            .iter()
            .any(|e| matches!(e, NegotiationError::NoProposalChosen { .. })),
        "{:?}",
        p.negotiation_errors(Side::A)
    );
}

#[test]
fn peer_id_mismatch_is_explained_r_diag_1() {
    let (a, mut b) = configs();
    b.remote_id = Identity::Fqdn("someone-else.example".into());
    let mut p = Pair::new(7, a, b, Mode::Main);
    p.initiate();
    p.run_for(Duration::from_secs(3));
    let fb = p.negotiation_errors(Side::B);
    assert!(
        matches!(fb.first(), Some(NegotiationError::PeerIdMismatch { got, .. }) if got == A_IP),
        "responder: {fb:?}"
    );
}

#[test]
fn no_response_is_explained_r_diag_1() {
    let (a, b) = configs();
    let mut p = Pair::new(8, a, b, Mode::Main);
    p.blackhole = true;
    p.initiate();
    p.run_for(Duration::from_secs(30));
    let fa = p.negotiation_errors(Side::A);
    assert!(
        matches!(
            fa.first(),
            Some(NegotiationError::NoResponse { retransmits: 6, .. })
        ),
        "{fa:?}"
    );
}

#[test]
fn lost_messages_are_retransmitted() {
    let (a, b) = configs();
    let mut p = Pair::new(9, a, b, Mode::Main);
    // Lose MM3, MM6 (answered again on the retransmitted MM5) and QM2.
    p.drop_nth = vec![3, 6, 8];
    establish(&mut p);
}

#[test]
fn phase1_rekey_during_the_outbound_switch_keeps_the_child_sa() {
    // A phase-1 rekey starts while our CHILD rekey waits for its outbound switch: the new
    // ISAKMP SA takes the CHILD SA over with the switch done, and keeps rekeying it.
    let (mut a, mut b) = configs();
    a.child_lifetime = Duration::from_secs(100);
    b.child_lifetime = Duration::from_secs(100);
    let mut p = Pair::new(28, a, b, Mode::Main);
    establish(&mut p);
    p.a.rekey_child(p.now, TUN, &mut p.rng_a).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| rekeyed(&p.events_b).is_some()));
    assert!(rekeyed(&p.events_a).is_none());
    p.a.rekey_ike(p.now, TUN, &mut p.rng_a).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::IkeRekeyed { .. }))
    }));
    let (_, new_a) = rekeyed(&p.events_a).expect("the switch completed with the phase-1 rekey");
    let (_, new_b) = rekeyed(&p.events_b).unwrap();
    assert_children_match(&new_a, &new_b);
    assert_eq!(p.children(Side::A).len(), 1);
    // Its soft lifetime still rekeys it on the new ISAKMP SA.
    let n = p.events_a.len();
    p.run_for(Duration::from_secs(100));
    assert!(
        rekeyed(&p.events_a[n..]).is_some(),
        "{:?}",
        &p.events_a[n..]
    );
    assert_eq!(p.children(Side::A).len(), 1);
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
}

#[test]
fn lost_qm3_is_recovered_by_the_responder_resending_qm2() {
    // Issue 8 known limit fixed: QM3 (datagram 9, after MM1-MM6, QM1, QM2) has no answer, so
    // when it is lost the responder resends QM2 and the initiator answers the duplicate with
    // QM3 again; B's CHILD SA is installed instead of never.
    let (a, b) = configs();
    let mut p = Pair::new(26, a, b, Mode::Main);
    p.drop_nth = vec![9];
    p.initiate();
    assert!(p.run_until(Duration::from_secs(1), |p| !p.children(Side::A).is_empty()));
    assert!(
        p.children(Side::B).is_empty(),
        "QM3 was not the lost datagram"
    );
    // B handed out the inbound SA with QM2 already: A may send on it.
    assert_eq!(p.inbound_b.len(), 1);
    assert!(
        p.run_until(Duration::from_secs(5), Pair::both_have_child),
        "B never completed; B: {:?}",
        p.negotiation_errors(Side::B)
    );
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
    assert_eq!(p.inbound_b[0].child.spi_in, p.children(Side::B)[0].spi_in);
    assert!(p.negotiation_errors(Side::A).is_empty() && p.negotiation_errors(Side::B).is_empty());
}

#[test]
fn responder_gives_up_on_qm3_and_withdraws_its_inbound_sa() {
    // The initiator vanishes after QM2: B resends QM2 up to the retransmission limit, then
    // reports the quick mode failed and withdraws the inbound SA it handed out (ChildDeleted).
    let (a, b) = configs();
    let mut p = Pair::new(27, a, b, Mode::Main);
    p.drop_nth = vec![9];
    p.initiate();
    assert!(p.run_until(Duration::from_secs(1), |p| !p.inbound_b.is_empty()));
    p.blackhole = true;
    p.run_for(Duration::from_secs(25));
    let spi = p.inbound_b[0].child.spi_in;
    assert!(
        p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { spi_in, .. } if *spi_in == spi)),
        "{:?}",
        p.events_b
    );
    let f = p.negotiation_errors(Side::B);
    assert!(
        f.iter().any(|e| e.to_string().contains("QM2")),
        "B's failure names the exchange: {f:?}"
    );
    assert!(p.children(Side::B).is_empty());
}

#[test]
fn dpd_detects_dead_peer_within_30_s_and_renegotiates_r_tun_5() {
    let (a, b) = configs();
    let mut p = Pair::new(20, a, b, Mode::Main);
    establish(&mut p);
    p.blackhole = true;
    let t0 = p.now;
    assert!(p.run_until(Duration::from_secs(60), |p| {
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::PeerDead { .. }))
    }));
    // Idle interval (10 s) + timeout (30 s).
    assert!(p.now - t0 <= Duration::from_secs(41), "{:?}", p.now - t0);
    assert!(p.events_a.iter().any(|e| matches!(
        e,
        Event::IkeDown {
            reason: DownReason::Failed(NegotiationError::PeerDead { .. }),
            ..
        }
    )));
    assert!(p.children(Side::A).is_empty());
    // The path comes back: A renegotiates on its own.
    p.blackhole = false;
    let n = p.events_a.len();
    assert!(p.run_until(Duration::from_secs(120), |p| {
        p.events_a[n..]
            .iter()
            .any(|e| matches!(e, Event::ChildEstablished { .. }))
    }));
}

#[test]
fn dpd_keeps_a_live_tunnel_up() {
    let (a, b) = configs();
    let mut p = Pair::new(21, a, b, Mode::Main);
    establish(&mut p);
    p.run_for(Duration::from_secs(120));
    assert!(
        !p.events_a
            .iter()
            .any(|e| matches!(e, Event::PeerDead { .. }))
    );
    assert!(
        !p.events_b
            .iter()
            .any(|e| matches!(e, Event::PeerDead { .. }))
    );
    assert_eq!(p.children(Side::A).len(), 1);
}

fn rekeyed(ev: &[Event]) -> Option<(u32, ChildSaInfo)> {
    ev.iter().find_map(|e| match e {
        Event::ChildRekeyed {
            old_spi_in, new, ..
        } => Some((*old_spi_in, new.clone())),
        _ => None,
    })
}

#[test]
fn child_rekey_is_make_before_break() {
    // Issue 8: quick-mode rekey without loss. RFC 2409 §5.5 has no answer to QM3, so each side
    // installs its new inbound SA before the peer can use it, and switches outbound only when
    // the peer has the matching inbound SA: B (responder) at QM2, A (initiator) at QM2 receipt;
    // B's outbound at QM3, A's outbound OUTBOUND_SWITCH_DELAY after QM3.
    let (a, b) = configs();
    let mut p = Pair::new(22, a, b, Mode::Main);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    // The establishment handed out the first inbound SAs the same way.
    assert_eq!((p.inbound_a.len(), p.inbound_b.len()), (1, 1));
    assert_eq!(p.inbound_a[0].child.spi_in, old.spi_in);
    p.inbound_a.clear();
    p.inbound_b.clear();
    p.a.rekey_child(p.now, TUN, &mut p.rng_a).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| !p.inbound_b.is_empty()));
    assert_eq!(p.inbound_b[0].replaces, Some(old.spi_out));
    assert!(rekeyed(&p.events_b).is_none(), "B switched before QM3");
    // QM3 arrives at B: B completes; A holds its new inbound SA but still sends on the old one.
    assert!(p.run_until(Duration::from_secs(5), |p| rekeyed(&p.events_b).is_some()));
    let qm3_at = p.now;
    assert_eq!(p.inbound_a.len(), 1);
    assert_eq!(p.inbound_a[0].replaces, Some(old.spi_in));
    assert!(rekeyed(&p.events_a).is_none(), "A switched outbound at QM3");
    assert!(p.run_until(Duration::from_secs(5), |p| {
        rekeyed(&p.events_a).is_some() && p.children(Side::B).len() == 1
    }));
    assert!(
        p.now - qm3_at >= OUTBOUND_SWITCH_DELAY - Duration::from_millis(20),
        "A switched {:?} after QM3",
        p.now - qm3_at
    );
    let (old_a, new_a) = rekeyed(&p.events_a).unwrap();
    let (old_b, new_b) = rekeyed(&p.events_b).unwrap();
    assert_eq!(old_a, old.spi_in);
    assert_eq!(old_b, old.spi_out);
    assert_children_match(&new_a, &new_b);
    assert_ne!(new_a.spi_in, old.spi_in);
    // The inbound SAs handed out first are the CHILD SA's.
    assert_eq!(p.inbound_a[0].child.spi_in, new_a.spi_in);
    assert_eq!(p.inbound_b[0].child.spi_in, new_b.spi_in);
    // No ChildDeleted for the old pair either side: ChildRekeyed carries its removal.
    assert_eq!(p.children(Side::A).len(), 1);
    assert_eq!(p.children(Side::B).len(), 1);
    assert_eq!(p.children(Side::A)[0].spi_in, new_a.spi_in);
    for ev in [&p.events_a, &p.events_b] {
        assert!(!ev.iter().any(|e| matches!(e, Event::ChildDeleted { .. })));
    }
}

#[test]
fn lost_qm3_of_a_rekey_completes_on_the_peers_delete() {
    // Issue 8 known limit fixed: QM3 of A's rekey is lost. B already has the new inbound SA
    // (handed out with QM2) but waits for QM3 to switch outbound; A switches after
    // OUTBOUND_SWITCH_DELAY and deletes the old SA, which only a peer that installed the new
    // one does: B completes the CHILD SA then instead of losing it. (B's QM2 resend, the other
    // recovery, comes later than that DELETE here.)
    let (a, mut b) = configs();
    b.retransmit.initial = Duration::from_secs(5);
    let mut p = Pair::new(25, a, b, Mode::Main);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    p.inbound_b.clear();
    // QM1, QM2, QM3 are the next three datagrams.
    p.drop_nth = vec![p.sent + 3];
    p.a.rekey_child(p.now, TUN, &mut p.rng_a).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| rekeyed(&p.events_a).is_some()));
    assert!(
        rekeyed(&p.events_b).is_none(),
        "QM3 was not the lost datagram"
    );
    assert_eq!(p.inbound_b.len(), 1);
    assert!(p.run_until(Duration::from_secs(5), |p| rekeyed(&p.events_b).is_some()));
    let (old_b, new_b) = rekeyed(&p.events_b).unwrap();
    let (_, new_a) = rekeyed(&p.events_a).unwrap();
    assert_eq!(old_b, old.spi_out);
    assert_children_match(&new_a, &new_b);
    assert_eq!(p.inbound_b[0].child.spi_in, new_b.spi_in);
    assert_eq!(p.children(Side::B).len(), 1);
    assert_eq!(p.children(Side::A).len(), 1);
    // Both ends keep working: another rekey over the same ISAKMP SA.
    let (na, nb) = (p.events_a.len(), p.events_b.len());
    p.a.rekey_child(p.now, TUN, &mut p.rng_a).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        rekeyed(&p.events_a[na..]).is_some() && rekeyed(&p.events_b[nb..]).is_some()
    }));
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
}

#[test]
fn child_soft_lifetime_rekeys_by_itself() {
    let (mut a, mut b) = configs();
    a.child_lifetime = Duration::from_secs(100);
    b.child_lifetime = Duration::from_secs(100);
    let mut p = Pair::new(23, a, b, Mode::Main);
    establish(&mut p);
    p.run_for(Duration::from_secs(150));
    assert!(
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::ChildRekeyed { .. }))
    );
    assert_eq!(p.children(Side::A).len(), 1);
    assert_eq!(p.children(Side::B).len(), 1);
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
}

#[test]
fn phase1_rekey_keeps_child_sas() {
    let (a, b) = configs();
    let mut p = Pair::new(24, a, b, Mode::Main);
    establish(&mut p);
    let child = p.children(Side::A)[0].clone();
    p.a.rekey_ike(p.now, TUN, &mut p.rng_a).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::IkeRekeyed { .. }))
    }));
    p.run_for(Duration::from_secs(2));
    assert_eq!(p.a.ike_sa_count(), 1);
    assert_eq!(p.b.ike_sa_count(), 1);
    assert_eq!(p.children(Side::A)[0].spi_in, child.spi_in);
    assert_eq!(p.children(Side::B).len(), 1);
    assert!(
        !p.events_a
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { .. }))
    );
    assert!(
        !p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { .. }))
    );
    // The new ISAKMP SA works: a CHILD rekey runs over it.
    p.a.rekey_child(p.now, TUN, &mut p.rng_a).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChildRekeyed { .. }))
    }));
}

#[test]
fn delete_tears_down_both_sides() {
    let (a, b) = configs();
    let mut p = Pair::new(25, a, b, Mode::Main);
    establish(&mut p);
    p.a.delete(p.now, TUN, &mut p.rng_a);
    p.run_for(Duration::from_secs(2));
    assert!(
        p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { .. }))
    );
    assert!(p.events_b.iter().any(|e| matches!(
        e,
        Event::IkeDown {
            reason: DownReason::PeerDelete,
            ..
        }
    )));
    assert_eq!(p.b.tunnel_status(TUN), TunnelStatus::Down);
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Down);
}

#[test]
fn initial_contact_replaces_stale_sa() {
    let (a, b) = configs();
    let mut p = Pair::new(26, a.clone(), b, Mode::Main);
    establish(&mut p);
    // A restarts (new endpoint, state lost) and negotiates again with INITIAL-CONTACT.
    let mut ea = Endpoint::new(EndpointConfig::default(), &mut p.rng_a);
    ea.add_tunnel(TUN, a);
    p.a = ea;
    p.initiate();
    let n = p.events_b.len();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.events_b[n..]
            .iter()
            .any(|e| matches!(e, Event::ChildEstablished { .. }))
    }));
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.b.ike_sa_count(), 1, "stale ISAKMP SA removed");
    assert_eq!(p.children(Side::B).len(), 1);
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
}

#[test]
fn garbage_never_panics_the_responder() {
    let (a, b) = configs();
    let mut p = Pair::new(27, a, b, Mode::Main);
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let local = SocketAddr::new(ip(B_IP), 500);
    let remote = SocketAddr::new(ip(A_IP), 500);
    for len in 0..400usize {
        let mut buf = vec![0u8; len];
        rng.fill_bytes(&mut buf);
        if len >= 28 {
            buf[17] = 0x10;
            buf[18] = [2, 4, 5, 32][len % 4];
            buf[24..28].copy_from_slice(&(len as u32).to_be_bytes());
        }
        p.b.handle_datagram(p.now, local, remote, &buf, &mut rng);
    }
}

#[test]
fn responder_lifetime_shortens_the_initiators_child_sa_rfc_2407_4_5_4() {
    let (a, mut b) = configs();
    b.child_lifetime = Duration::from_secs(3600);
    let mut p = Pair::new(28, a, b, Mode::Main);
    establish(&mut p);
    assert_eq!(
        p.children(Side::A)[0].hard_lifetime,
        Duration::from_secs(3600)
    );
    assert_eq!(
        p.children(Side::B)[0].hard_lifetime,
        Duration::from_secs(3600)
    );
}

#[test]
fn dpd_r_u_there_is_acknowledged_rfc_3706() {
    // Both ends announce DPD here, so R-U-THERE flows and every one is acknowledged: a tunnel
    // idle for 5 DPD intervals stays up on both sides with exactly one ISAKMP SA.
    let (a, b) = configs();
    let mut p = Pair::new(29, a, b, Mode::Aggressive);
    establish(&mut p);
    let sent = p.sent;
    p.run_for(Duration::from_secs(50));
    // 10 s idle interval: one side probes at 10, 20, 30, 40 s and each R-U-THERE is ACKed; the
    // authenticated R-U-THERE resets the other side's idle timer, so it never needs to probe.
    assert_eq!(p.sent - sent, 8);
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert_eq!(p.b.ike_sa_count(), 1);
}

// ------------------------------------------------------------------ failover steering (issue 6)

/// A's failover probe: one R-U-THERE (RFC 3706 §5.1), as the engine sends it.
fn probe_a(p: &mut Pair) {
    p.a.send_dpd(p.now, TUN, &mut p.rng_a).unwrap();
    p.collect();
}

fn withdraw_a(p: &mut Pair) -> usize {
    let n = p.a.delete_child_sas(p.now, TUN, &mut p.rng_a).unwrap();
    p.collect();
    n
}

fn deleted(events: &[Event]) -> Vec<(u32, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ChildDeleted {
                spi_in, spi_out, ..
            } => Some((*spi_in, *spi_out)),
            _ => None,
        })
        .collect()
}

fn answered(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::ProbeAnswered { .. }))
        .count()
}

#[test]
fn delete_child_sas_removes_the_peers_sa_and_keeps_the_isakmp_sa_and_dpd_rfc_2408_3_15() {
    let (a, b) = configs();
    let mut p = Pair::new(40, a, b, Mode::Main);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    let sent = p.sent;
    assert_eq!(withdraw_a(&mut p), 1);
    // One informational: DELETE (protocol ESP, our inbound SPI). No answer exists in IKEv1.
    assert_eq!(p.sent - sent, 1);
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.sent - sent, 1);
    // The peer removed its SA pair (its outbound SPI is our inbound one) and keeps the ISAKMP SA.
    assert!(p.children(Side::B).is_empty());
    assert_eq!(deleted(&p.events_b), vec![(old.spi_out, old.spi_in)]);
    assert_eq!(p.b.ike_sa_count(), 1);
    // Ours stays installed (traffic still on its way is received) until the peer answers a
    // later R-U-THERE.
    assert_eq!(p.children(Side::A).len(), 1);
    assert!(deleted(&p.events_a).is_empty());
    // A second call finds nothing left to withdraw and sends nothing.
    assert_eq!(withdraw_a(&mut p), 0);
    assert_eq!(p.sent - sent, 1);
    // The probe is answered over the kept ISAKMP SA; its ACK removes our SA, whose DELETE is
    // sent once more (the first may have been lost on the failed path).
    let n = p.events_a.len();
    probe_a(&mut p);
    p.run_for(Duration::from_millis(100));
    assert_eq!(answered(&p.events_a[n..]), 1);
    assert_eq!(deleted(&p.events_a), vec![(old.spi_in, old.spi_out)]);
    assert!(p.children(Side::A).is_empty());
    // R-U-THERE, its ACK, the repeated DELETE.
    assert_eq!(p.sent - sent, 4);
    // Both ISAKMP SAs live on and still answer DPD both ways.
    assert_eq!(p.a.ike_sa_count(), 1);
    assert_eq!(p.b.ike_sa_count(), 1);
    p.b.send_dpd(p.now, TUN, &mut p.rng_b).unwrap();
    p.collect();
    let nb = p.events_b.len();
    p.run_for(Duration::from_millis(100));
    assert_eq!(answered(&p.events_b[nb..]), 1);
    // Quiet for a minute: DPD keeps both up, nobody brings the CHILD SA back on its own, no
    // failure.
    p.run_for(Duration::from_secs(60));
    assert!(p.children(Side::A).is_empty() && p.children(Side::B).is_empty());
    assert!(p.failures(Side::A).is_empty(), "{:?}", p.failures(Side::A));
    assert!(p.failures(Side::B).is_empty(), "{:?}", p.failures(Side::B));
    assert!(
        !p.events_a
            .iter()
            .chain(&p.events_b)
            .any(|e| matches!(e, Event::PeerDead { .. } | Event::IkeDown { .. }))
    );
}

#[test]
fn with_answers_toward_us_lost_the_delete_still_leaves_and_our_sa_stays_until_the_path_heals() {
    // The failover case of issue 6: packets toward A's address are dropped. A's DELETE reaches
    // B (B moves its traffic), the probes' ACKs do not come back, A keeps receiving on its SA.
    let (a, b) = configs();
    let mut p = Pair::new(41, a, b, Mode::Main);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    p.drop_toward = Some(Side::A);
    probe_a(&mut p); // the probe that found the failure: unanswered
    assert_eq!(withdraw_a(&mut p), 1);
    for _ in 0..8 {
        probe_a(&mut p);
        p.run_for(Duration::from_millis(250));
    }
    assert!(p.children(Side::B).is_empty());
    assert_eq!(deleted(&p.events_b), vec![(old.spi_out, old.spi_in)]);
    assert_eq!(p.children(Side::A).len(), 1);
    assert!(deleted(&p.events_a).is_empty());
    assert_eq!(answered(&p.events_a), 0);
    // The path heals: the next probe's ACK completes the withdrawal.
    p.drop_toward = None;
    probe_a(&mut p);
    p.run_for(Duration::from_millis(100));
    assert!(answered(&p.events_a) >= 1);
    assert_eq!(deleted(&p.events_a), vec![(old.spi_in, old.spi_out)]);
    assert!(p.children(Side::A).is_empty());
    // Restoring it: a fresh quick mode on the same ISAKMP SA.
    p.a.create_child_sa(p.now, TUN, &mut p.rng_a).unwrap();
    p.collect();
    assert!(p.run_until(Duration::from_secs(2), Pair::both_have_child));
    assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
    assert_eq!(p.a.ike_sa_count(), 1);
}

#[test]
fn a_delete_lost_on_the_way_out_is_sent_again_when_the_peer_answers() {
    // Packets from A toward B are dropped: the DELETE is lost and B keeps sending on the SA
    // (A keeps receiving it). When the path returns, the first ACK makes A send it again.
    let (a, b) = configs();
    let mut p = Pair::new(42, a, b, Mode::Main);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    p.drop_toward = Some(Side::B);
    assert_eq!(withdraw_a(&mut p), 1);
    probe_a(&mut p);
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.children(Side::B).len(), 1);
    assert_eq!(p.children(Side::A).len(), 1);
    // B's own R-U-THERE reaches A and is answered into the void: that proves nothing about our
    // DELETE, so A keeps its SA.
    p.b.send_dpd(p.now, TUN, &mut p.rng_b).unwrap();
    p.collect();
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.children(Side::A).len(), 1);
    p.drop_toward = None;
    probe_a(&mut p);
    p.run_for(Duration::from_millis(100));
    assert_eq!(deleted(&p.events_a), vec![(old.spi_in, old.spi_out)]);
    assert!(p.children(Side::B).is_empty());
    assert_eq!(deleted(&p.events_b), vec![(old.spi_out, old.spi_in)]);
}

#[test]
fn create_child_sa_runs_a_fresh_quick_mode_from_either_side_rfc_2409_5_5() {
    for (seed, creator, pfs) in [(43, Side::A, false), (44, Side::B, true)] {
        let (mut a, mut b) = configs();
        if pfs {
            a.pfs_group = Some(DhId::MODP_2048);
            b.pfs_group = Some(DhId::MODP_2048);
        }
        let mut p = Pair::new(seed, a, b, Mode::Main);
        establish(&mut p);
        let old = p.children(Side::A)[0].clone();
        assert_eq!(withdraw_a(&mut p), 1);
        probe_a(&mut p);
        p.run_for(Duration::from_millis(100));
        assert!(p.children(Side::A).is_empty() && p.children(Side::B).is_empty());
        let (na, nb) = (p.events_a.len(), p.events_b.len());
        let now = p.now;
        match creator {
            Side::A => p.a.create_child_sa(now, TUN, &mut p.rng_a).unwrap(),
            Side::B => p.b.create_child_sa(now, TUN, &mut p.rng_b).unwrap(),
        }
        p.collect();
        assert!(p.run_until(Duration::from_secs(2), Pair::both_have_child));
        let (ca, cb) = (p.children(Side::A), p.children(Side::B));
        assert_eq!((ca.len(), cb.len()), (1, 1));
        assert_children_match(&ca[0], &cb[0]);
        assert_ne!(ca[0].spi_in, old.spi_in);
        assert_eq!(ca[0].local_ts, old.local_ts);
        assert_eq!(ca[0].remote_ts, old.remote_ts);
        // A new CHILD SA on both sides (nothing "replaced"), under the same ISAKMP SA.
        for ev in [&p.events_a[na..], &p.events_b[nb..]] {
            assert_eq!(
                ev.iter()
                    .filter(|e| matches!(e, Event::ChildEstablished { .. }))
                    .count(),
                1,
                "{ev:?}"
            );
            assert!(!ev.iter().any(|e| matches!(
                e,
                Event::ChildRekeyed { .. } | Event::IkeUp { .. } | Event::IkeDown { .. }
            )));
        }
        assert_eq!((p.a.ike_sa_count(), p.b.ike_sa_count()), (1, 1));
    }
}

#[test]
fn a_withdrawn_sa_is_not_rekeyed_and_steering_needs_an_isakmp_sa() {
    let (a, b) = configs();
    let mut p = Pair::new(45, a, b, Mode::Main);
    // Nothing to steer before phase 1.
    assert!(p.a.delete_child_sas(p.now, TUN, &mut p.rng_a).is_err());
    assert!(p.a.create_child_sa(p.now, TUN, &mut p.rng_a).is_err());
    establish(&mut p);
    p.drop_toward = Some(Side::A);
    assert_eq!(withdraw_a(&mut p), 1);
    // A rekey request while withdrawn starts no quick mode (it would hand the peer a new SA on
    // the path being left).
    let sent = p.sent;
    p.a.rekey_child(p.now, TUN, &mut p.rng_a).unwrap();
    p.collect();
    assert_eq!(p.sent, sent);
    assert!(
        !p.events_a
            .iter()
            .any(|e| matches!(e, Event::ChildRekeyed { .. }))
    );
}

#[test]
fn a_withdrawn_sa_moved_by_a_phase_1_rekey_goes_on_the_new_isakmp_sas_answer() {
    let (a, b) = configs();
    let mut p = Pair::new(46, a, b, Mode::Main);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    // Some probes first: the old ISAKMP SA's R-U-THERE sequence runs ahead of the new one's.
    for _ in 0..3 {
        probe_a(&mut p);
        p.run_for(Duration::from_millis(100));
    }
    assert_eq!(withdraw_a(&mut p), 1);
    p.run_for(Duration::from_millis(100));
    assert!(p.children(Side::B).is_empty());
    // A phase-1 rekey before any probe: the withdrawn SA moves to the new ISAKMP SA, still
    // installed, and is not re-created by the move.
    p.a.rekey_ike(p.now, TUN, &mut p.rng_a).unwrap();
    p.collect();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.a.ike_sa_count() == 1 && p.b.ike_sa_count() == 1
    }));
    assert_eq!(p.children(Side::A).len(), 1);
    assert!(p.children(Side::B).is_empty());
    assert!(deleted(&p.events_a).is_empty());
    // The new ISAKMP SA's probe answered: now it goes.
    probe_a(&mut p);
    p.run_for(Duration::from_millis(100));
    assert_eq!(deleted(&p.events_a), vec![(old.spi_in, old.spi_out)]);
    assert!(p.children(Side::A).is_empty());
}
