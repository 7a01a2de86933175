//! IKE_SA_INIT + IKE_AUTH (+ the first CHILD SA) handshakes per second on one core, engine
//! against engine in memory. Both sides' work is counted, so one iteration is one full
//! handshake of an initiator plus a responder.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualsec_crypto::DhId;
use dualsec_ike::v2::{Endpoint, EndpointConfig, IkeProposal, Psk, TunnelConfig, TunnelId};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

fn handshake(ike: IkeProposal, pfs: Option<DhId>, rng: &mut ChaCha20Rng) {
    let a_ip: IpAddr = "192.0.2.1".parse().unwrap();
    let b_ip: IpAddr = "203.0.113.2".parse().unwrap();
    let mut a_cfg = TunnelConfig::new(a_ip, b_ip, Psk::new("bench"));
    let mut b_cfg = TunnelConfig::new(b_ip, a_ip, Psk::new("bench"));
    for c in [&mut a_cfg, &mut b_cfg] {
        c.ike_proposals = vec![ike];
        c.pfs_group = pfs;
    }
    let mut a = Endpoint::new(EndpointConfig::default(), rng);
    let mut b = Endpoint::new(EndpointConfig::default(), rng);
    a.add_tunnel(TunnelId(1), a_cfg);
    b.add_tunnel(TunnelId(1), b_cfg);
    let now = Instant::now();
    a.initiate(now, TunnelId(1), rng).unwrap();
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
            moved = true;
        }
        while let Some(t) = b.poll_transmit() {
            a.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert_eq!(a.child_sas(TunnelId(1)).len(), 1);
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ikev2_handshake");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let suites = [
        ("aes128-sha1-modp1024", IkeProposal::DEFAULT),
        (
            "aes128-sha1-curve25519",
            IkeProposal {
                dh: DhId::CURVE25519,
                ..IkeProposal::DEFAULT
            },
        ),
        (
            "aes128-sha1-modp2048",
            IkeProposal {
                dh: DhId::MODP_2048,
                ..IkeProposal::DEFAULT
            },
        ),
        (
            "aes256gcm16-prfsha384-ecp384",
            IkeProposal::from_strongswan("aes256gcm16-prfsha384-ecp384").unwrap(),
        ),
    ];
    for (name, p) in suites {
        g.bench_function(name, |b| b.iter(|| handshake(p, Some(p.dh), &mut rng)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
