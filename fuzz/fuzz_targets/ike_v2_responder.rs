//! Feeds arbitrary datagrams to an IKEv2 responder endpoint (one configured tunnel, cookies on
//! from the first half-open SA) and fires its timers: it must never panic.
//!
//! Input: a sequence of records `[flags][len_hi][len_lo][bytes…]`; flag bit 0 picks the NAT-T
//! port (4500, non-ESP marker expected), bit 1 advances the clock by 20 s before delivery.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dualsec_ike::v2::{Endpoint, EndpointConfig, Psk, TunnelConfig, TunnelId};
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let local_ip = "192.0.2.1".parse().unwrap();
    let remote_ip = "203.0.113.2".parse().unwrap();
    let mut ep = Endpoint::new(
        EndpointConfig {
            cookie_threshold: 1,
            half_open_limit: 8,
            ..EndpointConfig::default()
        },
        &mut rng,
    );
    ep.add_tunnel(
        TunnelId(1),
        TunnelConfig::new(local_ip, remote_ip, Psk::new("fuzz")),
    );
    let mut now = Instant::now();
    let mut rest = data;
    while let [flags, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (dgram, next) = tail.split_at(len);
        rest = next;
        if flags & 2 != 0 {
            now += Duration::from_secs(20);
            ep.handle_timeout(now, &mut rng);
        }
        let port = if flags & 1 != 0 { 4500 } else { 500 };
        ep.handle_datagram(
            now,
            SocketAddr::new(local_ip, port),
            SocketAddr::new(remote_ip, 500),
            dgram,
            &mut rng,
        );
        while ep.poll_transmit().is_some() {}
        while ep.poll_event().is_some() {}
    }
    now += Duration::from_secs(3600);
    ep.handle_timeout(now, &mut rng);
});
