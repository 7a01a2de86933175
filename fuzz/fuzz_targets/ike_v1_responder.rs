//! Feeds arbitrary datagrams to an IKEv1 responder endpoint (one main-mode tunnel) and fires its
//! timers: it must never panic.
//!
//! Input: a sequence of records `[flags][len_hi][len_lo][bytes…]`; flag bit 0 picks the NAT-T
//! port (4500, non-ESP marker expected), bit 1 advances the clock by 20 s before delivery, bit 2
//! delivers the next genuine message of a real IKEv1 initiator instead, with the record's bytes
//! XORed into it (so the fuzzer reaches MM3/MM5/quick mode and mutates them), and the
//! responder's answers go back to that initiator.
#![no_main]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dualsec_ike::v1::Endpoint;
use dualsec_ike::v2::{EndpointConfig, Psk, TunnelConfig, TunnelId};
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut irng = ChaCha20Rng::seed_from_u64(2);
    let local_ip = "192.0.2.1".parse().unwrap();
    let remote_ip = "203.0.113.2".parse().unwrap();
    let mut ep = Endpoint::new(EndpointConfig::default(), &mut rng);
    ep.add_tunnel(
        TunnelId(1),
        TunnelConfig::new(local_ip, remote_ip, Psk::new("fuzz")),
    );
    let mut ini = Endpoint::new(EndpointConfig::default(), &mut irng);
    ini.add_tunnel(
        TunnelId(1),
        TunnelConfig::new(remote_ip, local_ip, Psk::new("fuzz")),
    );
    let mut now = Instant::now();
    let _ = ini.initiate(now, TunnelId(1), &mut irng);
    let mut genuine: VecDeque<Vec<u8>> = VecDeque::new();
    let mut rest = data;
    while let [flags, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        while let Some(t) = ini.poll_transmit() {
            genuine.push_back(t.bytes);
        }
        if flags & 2 != 0 {
            now += Duration::from_secs(20);
            ep.handle_timeout(now, &mut rng);
            ini.handle_timeout(now, &mut irng);
        }
        let port = if flags & 1 != 0 { 4500 } else { 500 };
        let dgram = if flags & 4 != 0 {
            let mut g = genuine.pop_front().unwrap_or_default();
            for (i, b) in bytes.iter().enumerate() {
                if let Some(x) = g.get_mut(i) {
                    *x ^= b;
                }
            }
            g
        } else {
            bytes.to_vec()
        };
        ep.handle_datagram(
            now,
            SocketAddr::new(local_ip, port),
            SocketAddr::new(remote_ip, port),
            &dgram,
            &mut rng,
        );
        while let Some(t) = ep.poll_transmit() {
            ini.handle_datagram(now, t.remote, t.local, &t.bytes, &mut irng);
        }
        while ep.poll_event().is_some() {}
        while ini.poll_event().is_some() {}
    }
    now += Duration::from_secs(3600);
    ep.handle_timeout(now, &mut rng);
});
