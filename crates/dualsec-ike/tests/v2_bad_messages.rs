//! Answers to bad messages (RFC 7296 §2.21): INVALID_IKE_SPI for requests to unknown IKE SAs,
//! rate-limited, never for responses.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use dualsec_ike::v2::endpoint::INVALID_IKE_SPI_PER_SECOND;
use dualsec_ike::v2::wire::{ExchangeType, NotifyType};
use dualsec_ike::v2::wire::{Message, Payload};
use dualsec_ike::v2::{Endpoint, EndpointConfig, Transmit, TunnelStatus};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// A's liveness check after B lost its state (B restarted with the same configuration).
fn request_to_forgetful_peer() -> (Pair, Endpoint, Transmit, ChaCha20Rng) {
    let (a, b) = default_configs();
    let mut p = Pair::new(500, a, b.clone());
    p.initiate(Side::A);
    assert!(p.run_until(Duration::from_secs(10), |p| p.both_have_child()));
    let mut rng = ChaCha20Rng::seed_from_u64(501);
    let mut rebooted = Endpoint::new(EndpointConfig::default(), &mut rng);
    rebooted.add_tunnel(TUN, b);
    let now = p.now;
    p.a.send_dpd(now, TUN, &mut rng).unwrap();
    let t = p.a.poll_transmit().unwrap();
    (p, rebooted, t, rng)
}

#[test]
fn request_for_unknown_ike_sa_gets_invalid_ike_spi_rfc7296_2_21_4() {
    let (mut p, mut b, req, mut rng) = request_to_forgetful_peer();
    let now = p.now;
    b.handle_datagram(now, req.remote, req.local, &req.bytes, &mut rng);
    let answer = b.poll_transmit().expect("INVALID_IKE_SPI sent");
    assert!(b.poll_transmit().is_none());
    assert_eq!(
        (answer.local, answer.remote),
        (req.remote, req.local),
        "back where it came from"
    );
    let q = Message::decode(&req.bytes).unwrap();
    let m = Message::decode(&answer.bytes).unwrap();
    // RFC 7296 §1.5: SPIs, exchange type and message id copied; a response; unprotected.
    assert_eq!(m.header.spi_i, q.header.spi_i);
    assert_eq!(m.header.spi_r, q.header.spi_r);
    assert_eq!(m.header.exchange, ExchangeType::INFORMATIONAL);
    assert_eq!(m.header.message_id, q.header.message_id);
    assert!(m.header.flags.response());
    assert_eq!(m.header.flags.initiator(), !q.header.flags.initiator());
    match m.payloads.as_slice() {
        [Payload::Notify(n)] => {
            assert_eq!(n.ty, NotifyType::INVALID_IKE_SPI);
            assert!(n.spi.is_empty() && n.data.is_empty());
        }
        other => panic!("unexpected payloads {other:?}"),
    }
    // The unprotected notification changes nothing on A (RFC 7296 §1.5: MUST NOT change state).
    let events_before = p.events_a.len();
    p.a.handle_datagram(now, answer.remote, answer.local, &answer.bytes, &mut rng);
    assert_eq!(p.a.tunnel_status(TUN), TunnelStatus::Up);
    assert!(p.a.poll_event().is_none());
    assert_eq!(p.events_a.len(), events_before);
}

#[test]
fn invalid_ike_spi_is_never_sent_for_a_response() {
    let (p, mut b, req, mut rng) = request_to_forgetful_peer();
    // The same message with the Response flag set (octet 19 of the header, bit 0x20).
    let mut resp = req.bytes.clone();
    resp[19] |= 0x20;
    b.handle_datagram(p.now, req.remote, req.local, &resp, &mut rng);
    assert!(b.poll_transmit().is_none(), "no answer to a response");
}

#[test]
fn invalid_ike_spi_answers_are_rate_limited() {
    let (p, mut b, req, mut rng) = request_to_forgetful_peer();
    let count = |b: &mut Endpoint| std::iter::from_fn(|| b.poll_transmit()).count();
    for _ in 0..100 {
        b.handle_datagram(p.now, req.remote, req.local, &req.bytes, &mut rng);
    }
    assert_eq!(count(&mut b), INVALID_IKE_SPI_PER_SECOND as usize);
    let later = p.now + Duration::from_millis(999);
    b.handle_datagram(later, req.remote, req.local, &req.bytes, &mut rng);
    assert_eq!(count(&mut b), 0, "still the same second");
    let next = p.now + Duration::from_secs(1);
    for _ in 0..100 {
        b.handle_datagram(next, req.remote, req.local, &req.bytes, &mut rng);
    }
    assert_eq!(
        count(&mut b),
        INVALID_IKE_SPI_PER_SECOND as usize,
        "a new second"
    );
}
