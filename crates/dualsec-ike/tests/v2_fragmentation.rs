//! RFC 7383 IKE fragmentation in the state machine: announced in IKE_SA_INIT, IKE_AUTH sent as
//! SKF fragments above the configured size, fragments authenticated before reassembly.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use common::*;
use dualsec_crypto::{DhId, EncrId, IntegId, PrfId};
use dualsec_ike::v2::wire::{HeaderView, Message, NotifyType, Payload, PayloadType};
use dualsec_ike::v2::{Endpoint, EndpointConfig, IkeProposal, TunnelConfig};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const SKF: u8 = 53;

struct Run {
    a: Endpoint,
    b: Endpoint,
    /// Every datagram, in order: (from A?, bytes).
    log: Vec<(bool, Vec<u8>)>,
}

fn endpoints(a_cfg: TunnelConfig, b_cfg: TunnelConfig, rng: &mut ChaCha20Rng) -> Run {
    let mut a = Endpoint::new(EndpointConfig::default(), rng);
    let mut b = Endpoint::new(EndpointConfig::default(), rng);
    a.add_tunnel(TUN, a_cfg);
    b.add_tunnel(TUN, b_cfg);
    Run {
        a,
        b,
        log: Vec::new(),
    }
}

/// Delivers everything (through `tamper`, which may change or drop a datagram) until quiet.
fn shuttle(
    r: &mut Run,
    now: Instant,
    rng: &mut ChaCha20Rng,
    mut tamper: impl FnMut(bool, &mut Vec<u8>) -> bool,
) {
    for _ in 0..100 {
        let mut moved = false;
        while let Some(mut t) = r.a.poll_transmit() {
            r.log.push((true, t.bytes.clone()));
            if tamper(true, &mut t.bytes) {
                r.b.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
            }
            moved = true;
        }
        while let Some(mut t) = r.b.poll_transmit() {
            r.log.push((false, t.bytes.clone()));
            if tamper(false, &mut t.bytes) {
                r.a.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
            }
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

fn configs(size: usize) -> (TunnelConfig, TunnelConfig) {
    let (mut a, mut b) = default_configs();
    a.ike_fragment_size = size;
    b.ike_fragment_size = size;
    (a, b)
}

fn skf_count(log: &[(bool, Vec<u8>)], from_a: bool) -> usize {
    log.iter()
        .filter(|(fa, d)| *fa == from_a && d.get(16) == Some(&SKF))
        .count()
}

#[test]
fn ike_auth_is_fragmented_both_ways_with_a_tiny_size_rfc7383() {
    for (name, ike) in [
        ("aes128-sha1-modp1024", IkeProposal::DEFAULT),
        (
            "aes256gcm16-prfsha384-ecp384",
            IkeProposal {
                encr: EncrId::AES_GCM_16,
                key_bits: Some(256),
                integ: IntegId::NONE,
                prf: PrfId::HMAC_SHA2_384,
                dh: DhId::ECP_384,
            },
        ),
    ] {
        let mut rng = ChaCha20Rng::seed_from_u64(600);
        let (mut a, mut b) = configs(160);
        a.ike_proposals = vec![ike];
        b.ike_proposals = vec![ike];
        let now = Instant::now();
        let mut r = endpoints(a, b, &mut rng);
        r.a.initiate(now, TUN, &mut rng).unwrap();
        shuttle(&mut r, now, &mut rng, |_, _| true);
        let (ca, cb) = (r.a.child_sas(TUN), r.b.child_sas(TUN));
        assert_eq!(ca.len(), 1, "{name}: established");
        assert_children_match(&ca[0], &cb[0]);
        // Both IKE_SA_INIT messages announce support (RFC 7383 §2.3).
        for from_a in [true, false] {
            let init = r.log.iter().find(|(fa, _)| *fa == from_a).unwrap();
            let m = Message::decode(&init.1).unwrap();
            assert!(
                m.payloads.iter().any(|p| matches!(p, Payload::Notify(n) if n.ty == NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)),
                "{name}: announced"
            );
        }
        assert!(skf_count(&r.log, true) >= 2, "{name}: request fragmented");
        assert!(skf_count(&r.log, false) >= 2, "{name}: response fragmented");
        assert!(
            r.log
                .iter()
                .all(|(_, d)| d.get(16) != Some(&SKF) || d.len() <= 160),
            "{name}: every fragment within the size"
        );
        // Each fragment decodes as exactly one SKF payload.
        for (_, d) in r.log.iter().filter(|(_, d)| d.get(16) == Some(&SKF)) {
            let m = Message::decode(d).unwrap();
            assert!(matches!(
                m.payloads.as_slice(),
                [Payload::EncryptedFragment(_)]
            ));
            assert_eq!(
                HeaderView::new_checked(d).unwrap().next_payload(),
                PayloadType::SKF
            );
        }
    }
}

#[test]
fn default_size_sends_psk_ike_auth_unfragmented() {
    let mut rng = ChaCha20Rng::seed_from_u64(601);
    let (a, b) = default_configs();
    assert_eq!(a.ike_fragment_size, 1280);
    let now = Instant::now();
    let mut r = endpoints(a, b, &mut rng);
    r.a.initiate(now, TUN, &mut rng).unwrap();
    shuttle(&mut r, now, &mut rng, |_, _| true);
    assert_eq!(r.a.child_sas(TUN).len(), 1);
    assert_eq!(skf_count(&r.log, true) + skf_count(&r.log, false), 0);
}

#[test]
fn no_fragments_unless_both_announce_rfc7383_2_3() {
    let mut rng = ChaCha20Rng::seed_from_u64(602);
    let (a, mut b) = configs(160);
    b.ike_fragment_size = 0;
    let now = Instant::now();
    let mut r = endpoints(a, b, &mut rng);
    r.a.initiate(now, TUN, &mut rng).unwrap();
    shuttle(&mut r, now, &mut rng, |_, _| true);
    assert_eq!(r.a.child_sas(TUN).len(), 1);
    assert_eq!(skf_count(&r.log, true) + skf_count(&r.log, false), 0);
    let resp = Message::decode(&r.log.iter().find(|(fa, _)| !*fa).unwrap().1).unwrap();
    assert!(!resp.payloads.iter().any(
        |p| matches!(p, Payload::Notify(n) if n.ty == NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
    ));
}

/// RFC 7383 §2.6: a fragment whose ICV does not verify is dropped before reassembly; the
/// genuine fragment (retransmitted) completes the message.
#[test]
fn forged_fragment_is_dropped_before_reassembly_rfc7383_2_6() {
    let mut rng = ChaCha20Rng::seed_from_u64(603);
    let (a, b) = configs(160);
    let now = Instant::now();
    let mut r = endpoints(a, b, &mut rng);
    r.a.initiate(now, TUN, &mut rng).unwrap();
    let mut forged = false;
    shuttle(&mut r, now, &mut rng, |from_a, d| {
        if from_a && !forged && d.get(16) == Some(&SKF) && d.get(33) == Some(&2) {
            // Fragment 2 of the IKE_AUTH request: flip a ciphertext bit.
            let n = d.len();
            d[n - 20] ^= 1;
            forged = true;
        }
        true
    });
    assert!(forged);
    assert!(
        r.b.child_sas(TUN).is_empty(),
        "forged fragment not reassembled"
    );
    // A's retransmission (all fragments again) completes the exchange.
    let later = now + std::time::Duration::from_secs(3);
    r.a.handle_timeout(later, &mut rng);
    r.b.handle_timeout(later, &mut rng);
    shuttle(&mut r, later, &mut rng, |_, _| true);
    assert_eq!(r.a.child_sas(TUN).len(), 1);
    assert_children_match(&r.a.child_sas(TUN)[0], &r.b.child_sas(TUN)[0]);
}

/// Fragments lost and reordered (30 % loss, jitter): retransmission resends every fragment and
/// the handshake still completes with matching CHILD SAs.
#[test]
fn fragmented_handshake_survives_loss_and_reordering() {
    for seed in 0..6 {
        let (a, b) = configs(160);
        let mut p = Pair::new(700 + seed, a, b);
        p.loss = 0.3;
        p.jitter = std::time::Duration::from_millis(30);
        p.initiate(Side::A);
        assert!(
            p.run_until(std::time::Duration::from_secs(120), |p| p.both_have_child()),
            "seed {seed}: A {:?} B {:?}",
            p.failures(Side::A),
            p.failures(Side::B)
        );
        assert_children_match(&p.children(Side::A)[0], &p.children(Side::B)[0]);
    }
}
