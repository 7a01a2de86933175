//! Per-packet cost of ESP encapsulation and decapsulation (1400-octet inner packets), in place,
//! for the suites the product uses most. `cargo bench -p dualsec-esp`.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualsec_crypto::{EncrId, IntegId};
use dualsec_esp::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn params(dir: Direction, encr: EncrId, ek: usize, integ: IntegId, ik: usize) -> SaParams {
    SaParams {
        spi: Spi(0x1000),
        direction: dir,
        encr,
        encr_key: vec![7; ek],
        integ,
        integ_key: vec![9; ik],
        esn: true,
        replay_window: 1024,
        lifetimes: Lifetimes::default(),
        udp_encap: None,
        tunnel: TunnelEndpoints {
            local: IpAddr::V4(Ipv4Addr::LOCALHOST),
            remote: IpAddr::V4(Ipv4Addr::LOCALHOST),
        },
        selectors: Selectors::default(),
    }
}

fn bench(c: &mut Criterion) {
    const LEN: usize = 1400;
    let mut inner = vec![0u8; LEN];
    inner[0] = 0x45;
    inner[2..4].copy_from_slice(&(LEN as u16).to_be_bytes());
    let suites = [
        ("aes128gcm16", EncrId::AES_GCM_16, 20, IntegId::NONE, 0),
        (
            "aes128-sha1",
            EncrId::AES_CBC,
            16,
            IntegId::HMAC_SHA1_96,
            20,
        ),
        (
            "aes256-sha256",
            EncrId::AES_CBC,
            32,
            IntegId::HMAC_SHA2_256_128,
            32,
        ),
        ("3des-md5", EncrId::TRIPLE_DES, 24, IntegId::HMAC_MD5_96, 16),
    ];
    let mut g = c.benchmark_group("esp_1400");
    g.throughput(Throughput::Bytes(LEN as u64));
    for (name, encr, ek, integ, ik) in suites {
        let now = Instant::now();
        let mut o =
            OutboundSa::new(&params(Direction::Outbound, encr, ek, integ, ik), now).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut buf = vec![0u8; MAX_HEADROOM + LEN + MAX_TAILROOM];
        g.bench_function(format!("encap/{name}"), |b| {
            b.iter(|| {
                buf[MAX_HEADROOM..MAX_HEADROOM + LEN].copy_from_slice(&inner);
                o.encapsulate(now, &mut rng, &mut buf, MAX_HEADROOM..MAX_HEADROOM + LEN)
                    .unwrap()
            })
        });
        // Decapsulation: a fresh packet per iteration would be dominated by encapsulation, so
        // a window-sized ring of pre-built packets is replayed through fresh SAs.
        let mut o =
            OutboundSa::new(&params(Direction::Outbound, encr, ek, integ, ik), now).unwrap();
        let pkts: Vec<Vec<u8>> = (0..1024)
            .map(|_| {
                buf[MAX_HEADROOM..MAX_HEADROOM + LEN].copy_from_slice(&inner);
                let r = o
                    .encapsulate(now, &mut rng, &mut buf, MAX_HEADROOM..MAX_HEADROOM + LEN)
                    .unwrap();
                buf[r].to_vec()
            })
            .collect();
        let ip = params(Direction::Inbound, encr, ek, integ, ik);
        let mut i = InboundSa::new(&ip, now).unwrap();
        let mut n = 0;
        let mut scratch = vec![0u8; pkts[0].len()];
        g.bench_function(format!("decap/{name}"), |b| {
            b.iter(|| {
                if n == pkts.len() {
                    n = 0;
                    i = InboundSa::new(&ip, now).unwrap();
                }
                scratch.copy_from_slice(&pkts[n]);
                n += 1;
                i.decapsulate(now, &mut scratch).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
