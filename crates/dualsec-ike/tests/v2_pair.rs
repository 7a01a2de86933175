//! Two IKEv2 endpoints against each other with a virtual clock and seeded randomness.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use dualsec_crypto::{DhId, EncrId, IntegId, PrfId};
use dualsec_ike::v2::{
    EndpointConfig, EspProposal, Event, IkeProposal, Psk, TrafficSelector, TunnelStatus,
};

fn cidr(s: &str) -> TrafficSelector {
    let (a, l) = s.split_once('/').unwrap();
    TrafficSelector::cidr(a.parse().unwrap(), l.parse().unwrap()).unwrap()
}

fn establish(p: &mut Pair) {
    p.initiate(Side::A);
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.both_have_child()),
        "not established; A: {:?} B: {:?}",
        p.failures(Side::A),
        p.failures(Side::B)
    );
    let (a, b) = (p.children(Side::A), p.children(Side::B));
    assert_eq!(a.len(), 1);
    assert_eq!(b.len(), 1);
    assert_children_match(&a[0], &b[0]);
}

#[test]
fn establishes_with_product_defaults_r_tun_3_r_tun_4() {
    let (a, b) = default_configs();
    let mut p = Pair::new(1, a, b);
    establish(&mut p);
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert_eq!(p.b.tunnel_status(TUN), TunnelStatus::Up);
    let c = &p.children(Side::A)[0];
    assert_eq!(c.encr, EncrId::AES_CBC);
    assert_eq!(c.key_bits, Some(128));
    assert_eq!(c.integ, IntegId::HMAC_SHA1_96);
    assert_eq!(c.keys_out.encr_key.len(), 16);
    assert_eq!(c.keys_out.integ_key.len(), 20);
    assert!(!c.udp_encap, "no NAT on this path");
    assert_eq!(c.remote, addr(B_IP, 500));
    assert!(p.events_a.iter().any(|e| matches!(e, Event::IkeUp { .. })));
    assert!(
        p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChildEstablished { .. }))
    );
    // Four datagrams: IKE_SA_INIT and IKE_AUTH, request and response.
    assert_eq!(p.sent, 4);
}

/// Establishes with one suite for IKE and ESP both.
fn suite(encr: EncrId, bits: Option<u16>, integ: IntegId, prf: PrfId, dh: DhId) {
    let (mut a, mut b) = default_configs();
    let ike = IkeProposal {
        encr,
        key_bits: bits,
        integ,
        prf,
        dh,
    };
    let esp = EspProposal {
        encr,
        key_bits: bits,
        integ,
        esn: false,
    };
    for c in [&mut a, &mut b] {
        c.ike_proposals = vec![ike];
        c.esp_proposals = vec![esp];
        c.pfs_group = Some(dh);
    }
    let mut p = Pair::new(
        u64::from(encr.0) << 32 | u64::from(integ.0) << 16 | u64::from(dh.0),
        a,
        b,
    );
    establish(&mut p);
    let c = &p.children(Side::A)[0];
    assert_eq!((c.encr, c.integ), (encr, integ), "{ike}");
}

const AEAD: [EncrId; 1] = [EncrId::AES_GCM_16];

#[test]
fn establishes_with_every_cipher_and_integrity_combination() {
    let ciphers = [
        (EncrId::AES_CBC, Some(128)),
        (EncrId::AES_CBC, Some(192)),
        (EncrId::AES_CBC, Some(256)),
        (EncrId::TRIPLE_DES, None),
        (EncrId::DES, None),
    ];
    let integs = [
        (IntegId::HMAC_MD5_96, PrfId::HMAC_MD5),
        (IntegId::HMAC_SHA1_96, PrfId::HMAC_SHA1),
        (IntegId::HMAC_SHA2_256_128, PrfId::HMAC_SHA2_256),
        (IntegId::HMAC_SHA2_384_192, PrfId::HMAC_SHA2_384),
        (IntegId::HMAC_SHA2_512_256, PrfId::HMAC_SHA2_512),
    ];
    // Curve25519 keeps the 25 handshakes fast; every group is covered by the next test.
    for (e, bits) in ciphers {
        for (i, prf) in integs {
            suite(e, bits, i, prf, DhId::CURVE25519);
        }
    }
    for e in AEAD {
        for bits in [128, 256] {
            suite(
                e,
                Some(bits),
                IntegId::NONE,
                PrfId::HMAC_SHA2_256,
                DhId::CURVE25519,
            );
        }
    }
}

#[test]
fn establishes_with_every_dh_group() {
    for dh in [
        DhId::MODP_768,
        DhId::MODP_1024,
        DhId::MODP_1536,
        DhId::MODP_2048,
        DhId::ECP_256,
        DhId::ECP_384,
        DhId::CURVE25519,
    ] {
        suite(
            EncrId::AES_CBC,
            Some(128),
            IntegId::HMAC_SHA1_96,
            PrfId::HMAC_SHA1,
            dh,
        );
    }
}

#[test]
fn psk_mismatch_is_explained_on_both_sides_r_diag_1() {
    let (a, mut b) = default_configs();
    b.psk = Psk::new("another key");
    let mut p = Pair::new(7, a, b);
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(10), |p| !p.failures(Side::A).is_empty());
    let fa = p.failures(Side::A);
    let fb = p.failures(Side::B);
    assert!(
        fb.iter().any(|f| f.contains("pre-shared key mismatch")),
        "{fb:?}"
    );
    assert!(
        fa.iter()
            .any(|f| f.contains("peer rejected our authentication")
                && f.contains("pre-shared key mismatch")),
        "{fa:?}"
    );
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Down);
    assert!(p.children(Side::A).is_empty() && p.children(Side::B).is_empty());
}

#[test]
fn peer_id_mismatch_names_both_ids() {
    let (mut a, b) = default_configs();
    a.local_id = dualsec_ike::v2::Identity::Fqdn("vpn.example.net".into());
    let mut p = Pair::new(8, a, b);
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(10), |p| !p.failures(Side::B).is_empty());
    let fb = p.failures(Side::B);
    assert!(
        fb.iter()
            .any(|f| f.contains("peer ID vpn.example.net, expected 192.0.2.1")),
        "{fb:?}"
    );
}

#[test]
fn ike_proposal_mismatch_shows_both_proposals() {
    let (a, mut b) = default_configs();
    b.ike_proposals = vec![IkeProposal {
        encr: EncrId::AES_CBC,
        key_bits: Some(256),
        integ: IntegId::HMAC_SHA2_256_128,
        prf: PrfId::HMAC_SHA2_256,
        dh: DhId::MODP_2048,
    }];
    let mut p = Pair::new(9, a, b);
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(10), |p| !p.failures(Side::A).is_empty());
    let fb = p.failures(Side::B);
    assert!(
        fb.iter().any(|f| f.contains(
            "we offered aes256-sha256-prfsha256-modp2048; peer offered aes128-sha1-prfsha1-modp1024"
        )),
        "{fb:?}"
    );
    let fa = p.failures(Side::A);
    assert!(
        fa.iter().any(
            |f| f.contains("no matching IKE proposal: we offered aes128-sha1-prfsha1-modp1024")
        ),
        "{fa:?}"
    );
}

#[test]
fn esp_proposal_mismatch_keeps_ike_sa_and_explains() {
    let (a, mut b) = default_configs();
    b.esp_proposals = vec![EspProposal {
        encr: EncrId::AES_CBC,
        key_bits: Some(256),
        integ: IntegId::HMAC_SHA2_256_128,
        esn: false,
    }];
    let mut p = Pair::new(10, a, b);
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(10), |p| !p.failures(Side::A).is_empty());
    assert!(
        p.failures(Side::B).iter().any(|f| f.contains(
            "no matching CHILD (ESP) proposal: we offered aes256-sha256; peer offered aes128-sha1"
        )),
        "{:?}",
        p.failures(Side::B)
    );
    assert!(
        p.failures(Side::A)
            .iter()
            .any(|f| f.contains("CHILD (ESP)"))
    );
    // RFC 7296 §1.2: the IKE SA stays up.
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert!(p.children(Side::A).is_empty());
}

#[test]
fn ts_mismatch_shows_both_selectors() {
    let (mut a, mut b) = default_configs();
    a.local_ts = vec![cidr("198.18.0.0/16")];
    a.remote_ts = vec![cidr("198.19.0.0/16")];
    b.local_ts = vec![cidr("198.19.5.0/24")];
    b.remote_ts = vec![cidr("198.20.0.0/16")];
    let mut p = Pair::new(11, a, b);
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(10), |p| {
        !p.failures(Side::B).is_empty() && !p.failures(Side::A).is_empty()
    });
    let fb = p.failures(Side::B);
    assert!(fb.iter().any(|f| f.contains("traffic selectors unacceptable: ours local 198.19.5.0/24 remote 198.20.0.0/16; peer's local 198.18.0.0/16 remote 198.19.0.0/16")), "{fb:?}");
    assert!(
        p.failures(Side::A)
            .iter()
            .any(|f| f.contains("traffic selectors unacceptable"))
    );
}

#[test]
fn several_cidrs_per_side_are_narrowed_r_conn_2() {
    let (mut a, mut b) = default_configs();
    a.local_ts = vec![cidr("198.18.1.0/24"), cidr("198.18.2.0/24")];
    a.remote_ts = vec![cidr("198.19.0.0/16"), cidr("198.20.1.0/24")];
    b.local_ts = vec![cidr("198.19.7.0/24"), cidr("198.20.1.0/24")];
    b.remote_ts = vec![cidr("198.18.0.0/16")];
    let mut p = Pair::new(12, a, b);
    establish(&mut p);
    let c = &p.children(Side::A)[0];
    assert_eq!(
        c.local_ts,
        vec![cidr("198.18.1.0/24"), cidr("198.18.2.0/24")]
    );
    assert_eq!(
        c.remote_ts,
        vec![cidr("198.19.7.0/24"), cidr("198.20.1.0/24")]
    );
    let d = &p.children(Side::B)[0];
    assert_eq!(d.local_ts, c.remote_ts);
    assert_eq!(d.remote_ts, c.local_ts);
}

#[test]
fn no_response_is_explained_with_address_and_retransmits_r_diag_1() {
    let (a, b) = default_configs();
    let mut p = Pair::new(13, a, b);
    p.blackhole = true;
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(120), |p| {
        !p.failures(Side::A).is_empty()
    });
    let fa = p.failures(Side::A);
    assert_eq!(
        fa.first().map(String::as_str),
        Some(
            "no response from 203.0.113.2:500 after 6 retransmits (IKE_SA_INIT): UDP 500/4500 blocked or peer unreachable"
        )
    );
    // Sends at 0, 1, 3, 6, 9, 12, 15 s; the last one gets 3 s to be answered.
    assert_eq!(p.elapsed(), Duration::from_secs(18));
    assert_eq!(p.sent, 7, "one request and six retransmissions");
}

#[test]
fn dead_peer_detected_within_dpd_timeout_and_renegotiated_r_tun_5() {
    let (a, b) = default_configs();
    let mut p = Pair::new(14, a, b);
    establish(&mut p);
    let cut = p.now;
    p.blackhole = true;
    assert!(p.run_until(Duration::from_secs(120), |p| {
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::PeerDead { .. }))
    }));
    let detected = p.now - cut;
    // DPD idle interval 10 s, then the 30 s timeout (R-TUN-5).
    assert!(
        detected <= Duration::from_secs(41),
        "detected after {detected:?}"
    );
    assert!(
        detected >= Duration::from_secs(30),
        "detected after {detected:?}"
    );
    assert!(
        p.failures(Side::A)
            .iter()
            .any(|f| f
                .contains("peer 203.0.113.2:500 dead: no reply to liveness checks within 30 s"))
    );
    assert!(
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { .. }))
    );
    assert!(
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::IkeDown { .. }))
    );
    assert!(p.children(Side::A).is_empty());
    // The path comes back: the tunnel renegotiates by itself.
    p.blackhole = false;
    let before = p
        .events_a
        .iter()
        .filter(|e| matches!(e, Event::ChildEstablished { .. }))
        .count();
    assert!(p.run_until(Duration::from_secs(120), |p| {
        p.events_a
            .iter()
            .filter(|e| matches!(e, Event::ChildEstablished { .. }))
            .count()
            > before
    }));
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
}

#[test]
fn idle_tunnel_keeps_answering_liveness_checks() {
    let (a, b) = default_configs();
    let mut p = Pair::new(15, a, b);
    establish(&mut p);
    p.run_for(Duration::from_secs(300));
    assert!(
        p.events_a
            .iter()
            .all(|e| !matches!(e, Event::PeerDead { .. }))
    );
    assert_eq!(p.children(Side::A).len(), 1);
    assert!(p.sent > 20, "DPD exchanges happened: {}", p.sent);
}

fn rekeyed_count(ev: &[Event]) -> usize {
    ev.iter()
        .filter(|e| matches!(e, Event::ChildRekeyed { .. }))
        .count()
}

#[test]
fn child_sa_rekey_replaces_keys_and_deletes_old() {
    let (a, b) = default_configs();
    let mut p = Pair::new(16, a, b);
    establish(&mut p);
    let old = p.children(Side::A)[0].clone();
    p.rekey_child(Side::A);
    p.run_for(Duration::from_secs(5));
    assert_eq!(rekeyed_count(&p.events_a), 1);
    assert_eq!(rekeyed_count(&p.events_b), 1);
    let (a, b) = (p.children(Side::A), p.children(Side::B));
    assert_eq!(a.len(), 1, "old CHILD SA deleted");
    assert_eq!(b.len(), 1);
    assert_children_match(&a[0], &b[0]);
    assert_ne!(a[0].spi_in, old.spi_in);
    assert_ne!(
        *a[0].keys_out.encr_key, *old.keys_out.encr_key,
        "PFS rekey makes new keys"
    );
    assert!(
        p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { spi_in, .. } if *spi_in == old.spi_out))
    );
}

#[test]
fn child_sa_rekeys_itself_at_soft_lifetime() {
    let (mut a, mut b) = default_configs();
    a.child_lifetime = Duration::from_secs(100);
    b.child_lifetime = Duration::from_secs(120);
    let mut p = Pair::new(17, a, b);
    establish(&mut p);
    p.run_for(Duration::from_secs(250));
    assert!(
        rekeyed_count(&p.events_a) >= 2,
        "{}",
        rekeyed_count(&p.events_a)
    );
    let (a, b) = (p.children(Side::A), p.children(Side::B));
    assert_eq!(a.len(), 1);
    assert_eq!(b.len(), 1);
    assert_children_match(&a[0], &b[0]);
}

#[test]
fn simultaneous_child_rekey_collision_leaves_one_sa_rfc7296_2_8_1() {
    for seed in 0..8 {
        let (a, b) = default_configs();
        let mut p = Pair::new(100 + seed, a, b);
        establish(&mut p);
        p.rekey_child(Side::A);
        p.rekey_child(Side::B);
        p.run_for(Duration::from_secs(10));
        let (a, b) = (p.children(Side::A), p.children(Side::B));
        assert_eq!(a.len(), 1, "seed {seed}: A has {a:?}");
        assert_eq!(b.len(), 1, "seed {seed}");
        assert_children_match(&a[0], &b[0]);
    }
}

#[test]
fn ike_sa_rekey_keeps_children_and_liveness() {
    let (a, b) = default_configs();
    let mut p = Pair::new(18, a, b);
    establish(&mut p);
    let child = p.children(Side::A)[0].clone();
    p.rekey_ike(Side::A);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.a.ike_sa_count(), 1, "old IKE SA deleted");
    assert_eq!(p.b.ike_sa_count(), 1);
    assert_eq!(
        p.children(Side::A)[0].spi_in,
        child.spi_in,
        "CHILD SA moved over unchanged"
    );
    // The new IKE SA works: a CHILD rekey and DPD over it.
    p.rekey_child(Side::B);
    p.run_for(Duration::from_secs(60));
    let (a, b) = (p.children(Side::A), p.children(Side::B));
    assert_eq!(a.len(), 1);
    assert_children_match(&a[0], &b[0]);
    assert_ne!(a[0].spi_in, child.spi_in);
    assert!(
        p.events_a
            .iter()
            .all(|e| !matches!(e, Event::IkeDown { .. } | Event::PeerDead { .. }))
    );
}

#[test]
fn simultaneous_ike_rekey_settles_on_one_sa() {
    let (a, b) = default_configs();
    let mut p = Pair::new(19, a, b);
    establish(&mut p);
    p.rekey_ike(Side::A);
    p.rekey_ike(Side::B);
    p.run_for(Duration::from_secs(30));
    assert_eq!(p.a.ike_sa_count(), 1);
    assert_eq!(p.b.ike_sa_count(), 1);
    let last_spis = |ev: &[Event]| {
        ev.iter()
            .filter_map(|e| match e {
                Event::IkeRekeyed { spi_i, spi_r, .. } => Some((*spi_i, *spi_r)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let (ra, rb) = (last_spis(&p.events_a), last_spis(&p.events_b));
    assert!(!ra.is_empty(), "a rekey completed");
    assert_eq!(ra, rb, "both ends moved to the same IKE SAs");
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    let (a, b) = (p.children(Side::A), p.children(Side::B));
    assert_children_match(&a[0], &b[0]);
}

#[test]
fn survives_30_percent_loss_and_reordering() {
    let only: Option<u64> = std::env::var("SEED").ok().and_then(|s| s.parse().ok());
    for seed in 0..10 {
        if only.is_some_and(|o| o != seed) {
            continue;
        }
        let (a, b) = default_configs();
        let mut p = Pair::new(1000 + seed, a, b);
        p.loss = 0.3;
        p.jitter = Duration::from_millis(300);
        p.initiate(Side::A);
        assert!(
            p.run_until(Duration::from_secs(300), |p| p.both_have_child()),
            "seed {seed}: {:?}",
            p.failures(Side::A)
        );
        p.rekey_child(Side::A);
        p.run_for(Duration::from_secs(60));
        p.rekey_ike(Side::B);
        p.run_for(Duration::from_secs(60));
        let (a, b) = (p.children(Side::A), p.children(Side::B));
        assert_eq!(a.len(), 1, "seed {seed}");
        assert_eq!(b.len(), 1, "seed {seed}");
        assert_children_match(&a[0], &b[0]);
        assert!(p.dropped > 0);
    }
}

#[test]
fn delete_tears_down_both_sides() {
    let (a, b) = default_configs();
    let mut p = Pair::new(20, a, b);
    establish(&mut p);
    p.delete(Side::A);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Down);
    assert_eq!(p.b.tunnel_status(TUN), TunnelStatus::Down);
    assert!(p.events_b.iter().any(|e| matches!(
        e,
        Event::IkeDown {
            reason: dualsec_ike::v2::DownReason::PeerDelete,
            ..
        }
    )));
    assert!(
        p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { .. }))
    );
    // Deleted on purpose: no renegotiation.
    p.run_for(Duration::from_secs(60));
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Down);
}

#[test]
fn invalid_ke_payload_retry_uses_the_group_the_responder_wants() {
    let (mut a, mut b) = default_configs();
    let p2048 = IkeProposal {
        dh: DhId::MODP_2048,
        ..IkeProposal::DEFAULT
    };
    a.ike_proposals = vec![
        IkeProposal {
            dh: DhId::ECP_256,
            ..IkeProposal::DEFAULT
        },
        p2048,
    ];
    b.ike_proposals = vec![p2048];
    let mut p = Pair::new(21, a, b);
    establish(&mut p);
    assert_eq!(p.sent, 6, "one extra IKE_SA_INIT round trip");
}

#[test]
fn cookie_under_load_rfc7296_2_6() {
    let (a, b) = default_configs();
    let eb = EndpointConfig {
        cookie_threshold: 0,
        ..EndpointConfig::default()
    };
    let mut p = Pair::with_endpoint_configs(22, a, b, EndpointConfig::default(), eb);
    establish(&mut p);
    assert_eq!(p.sent, 6, "one extra IKE_SA_INIT round trip for the cookie");
}

#[test]
fn half_open_sas_are_capped_and_expire() {
    let (a, b) = default_configs();
    let eb = EndpointConfig {
        half_open_limit: 3,
        cookie_threshold: 100,
        ..EndpointConfig::default()
    };
    let mut p = Pair::with_endpoint_configs(23, a, b, EndpointConfig::default(), eb);
    // A's responses are lost: B keeps SAs half-open. A retries; each retry is a new SA only once
    // A gives up and renegotiates (new SPI).
    let mut rng =
        <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(5);
    for i in 0..10u64 {
        let (cfg, _) = default_configs();
        let mut e = dualsec_ike::v2::Endpoint::new(EndpointConfig::default(), &mut rng);
        e.add_tunnel(TUN, cfg);
        e.initiate(p.now, TUN, &mut rng).unwrap();
        let t = e.poll_transmit().unwrap();
        p.b.handle_datagram(p.now, t.remote, t.local, &t.bytes, &mut rng);
        assert!(
            p.b.half_open_count() <= 3,
            "after {i}: {}",
            p.b.half_open_count()
        );
    }
    assert_eq!(p.b.half_open_count(), 3);
    p.run_for(Duration::from_secs(31));
    assert_eq!(p.b.half_open_count(), 0, "half-open SAs expire");
}

#[test]
fn responder_initiated_tunnel_and_both_initiating() {
    let (a, b) = default_configs();
    let mut p = Pair::new(24, a, b);
    p.initiate(Side::B);
    assert!(p.run_until(Duration::from_secs(10), |p| p.both_have_child()));
    let (a, b) = default_configs();
    let mut p = Pair::new(25, a, b);
    p.initiate(Side::A);
    p.initiate(Side::B);
    assert!(p.run_until(Duration::from_secs(10), |p| p.both_have_child()));
    p.run_for(Duration::from_secs(60));
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert_eq!(p.b.tunnel_status(TUN), TunnelStatus::Up);
}

#[test]
fn garbage_and_truncated_datagrams_never_panic() {
    let (a, b) = default_configs();
    let mut p = Pair::new(26, a, b);
    p.initiate(Side::A);
    let t = p.a.poll_transmit();
    // A's first datagram was already moved into the network by `initiate`; rebuild one.
    let _ = t;
    let mut rng =
        <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(6);
    let (cfg, _) = default_configs();
    let mut e = dualsec_ike::v2::Endpoint::new(EndpointConfig::default(), &mut rng);
    e.add_tunnel(TUN, cfg);
    e.initiate(p.now, TUN, &mut rng).unwrap();
    let init = e.poll_transmit().unwrap();
    for len in 0..init.bytes.len() {
        p.b.handle_datagram(p.now, init.remote, init.local, &init.bytes[..len], &mut rng);
    }
    for i in 0..init.bytes.len() {
        let mut bad = init.bytes.clone();
        bad[i] ^= 0xff;
        p.b.handle_datagram(p.now, init.remote, init.local, &bad, &mut rng);
    }
    // Still able to establish afterwards.
    assert!(p.run_until(Duration::from_secs(10), |p| p.both_have_child()));
}

#[test]
fn nat_detected_floats_to_4500_and_encapsulates_rfc7296_2_23_r_tun_6() {
    let nat_ip = ip("198.51.100.7");
    let (a, mut b) = default_configs();
    // B knows A by its public (NAT) address and its ID.
    b.remote_addr = nat_ip;
    let mut p = Pair::new(27, a, b);
    p.nat_a = Some(nat_ip);
    establish(&mut p);
    let (ca, cb) = (p.children(Side::A).remove(0), p.children(Side::B).remove(0));
    assert!(ca.udp_encap && cb.udp_encap, "ESP in UDP on both sides");
    assert_eq!(ca.local.port(), 4500);
    assert_eq!(ca.remote, addr(B_IP, 4500));
    assert_eq!(
        cb.remote,
        std::net::SocketAddr::new(nat_ip, 44500),
        "B talks to the NAT mapping of A's 4500"
    );
    assert!(p.a.uses_natt(TUN) && p.b.uses_natt(TUN));
    // Liveness and rekeying keep working through the NAT on 4500 (non-ESP marker both ways).
    p.rekey_child(Side::B);
    p.run_for(Duration::from_secs(60));
    let (a, b) = (p.children(Side::A), p.children(Side::B));
    assert_eq!(a.len(), 1);
    assert_children_match(&a[0], &b[0]);
    assert!(
        p.events_a
            .iter()
            .all(|e| !matches!(e, Event::PeerDead { .. }))
    );
}

#[test]
fn nat_traversal_off_stays_on_500() {
    let (mut a, mut b) = default_configs();
    a.nat_traversal = false;
    b.nat_traversal = false;
    let mut p = Pair::new(28, a, b);
    establish(&mut p);
    let c = &p.children(Side::A)[0];
    assert!(!c.udp_encap);
    assert_eq!(c.remote, addr(B_IP, 500));
}

#[test]
fn ike_sa_rekeys_itself_at_soft_lifetime() {
    let (mut a, b) = default_configs();
    a.ike_lifetime = Duration::from_secs(100);
    let mut p = Pair::new(29, a, b);
    establish(&mut p);
    let child = p.children(Side::A)[0].spi_in;
    p.run_for(Duration::from_secs(250));
    assert_eq!(p.a.ike_sa_count(), 1);
    assert_eq!(p.b.ike_sa_count(), 1);
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert_eq!(
        p.children(Side::A)[0].spi_in,
        child,
        "CHILD SA survives IKE rekeys"
    );
    assert!(
        p.events_a
            .iter()
            .all(|e| !matches!(e, Event::IkeDown { .. }))
    );
}

#[test]
fn failing_tunnel_retries_with_growing_delay() {
    let (a, mut b) = default_configs();
    b.psk = Psk::new("wrong");
    let mut p = Pair::new(30, a, b);
    p.initiate(Side::A);
    p.run_for(Duration::from_secs(200));
    // Attempts at 0, 5, 15, 35, 75, 135, 195 s: the delay doubles from 5 s up to 60 s.
    assert_eq!(p.failures(Side::A).len(), 7, "{:?}", p.failures(Side::A));
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Down);
}

#[test]
fn fqdn_and_ipv6_identities_authenticate_r_tun_3() {
    use dualsec_ike::v2::Identity;
    let (mut a, mut b) = default_configs();
    a.local_id = Identity::Fqdn("vpc-gw.example.com".into());
    b.remote_id = Identity::Fqdn("vpc-gw.example.com".into());
    b.local_id = Identity::Ipv6("2001:db8::2".parse().unwrap());
    a.remote_id = Identity::Ipv6("2001:db8::2".parse().unwrap());
    let mut p = Pair::new(31, a, b);
    establish(&mut p);
    // The peer's FQDN must match exactly.
    let (mut a, mut b) = default_configs();
    a.local_id = Identity::Fqdn("vpc-gw.example.com".into());
    b.remote_id = Identity::Fqdn("VPC-gw.example.com".into());
    let mut p = Pair::new(32, a, b);
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(10), |p| !p.failures(Side::B).is_empty());
    assert!(
        p.failures(Side::B)[0].contains("peer ID vpc-gw.example.com, expected VPC-gw.example.com"),
        "{:?}",
        p.failures(Side::B)
    );
}

#[test]
fn blocked_nat_t_port_is_named_in_the_error_r_diag_1() {
    let nat_ip = ip("198.51.100.7");
    let (a, mut b) = default_configs();
    b.remote_addr = nat_ip;
    let mut p = Pair::new(33, a, b);
    p.nat_a = Some(nat_ip);
    p.block_port = Some(4500);
    p.initiate(Side::A);
    p.run_until(Duration::from_secs(60), |p| !p.failures(Side::A).is_empty());
    assert_eq!(
        p.failures(Side::A)[0],
        "no response from 203.0.113.2:4500 after 6 retransmits (IKE_AUTH): UDP 500/4500 blocked or peer unreachable"
    );
}
