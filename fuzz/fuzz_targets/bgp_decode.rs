//! BGP decoder: stream framing, then every message decoded with 2- and 4-octet AS paths; whatever
//! decodes must re-encode and decode to the same message. The same bytes are then fed to an
//! Established speaker, whose import policy must hold (no default route, the prefix limit).
//! Nothing may panic.
#![no_main]

use std::net::Ipv4Addr;
use std::time::Instant;

use dualsec_bgp::wire::{self, Capability, Codec, Message, Open};
use dualsec_bgp::{Asn, SessionConfig, Speaker, State};
use libfuzzer_sys::fuzz_target;

fn strip(mut m: Message) -> Message {
    if let Message::Update(u) = &mut m {
        u.errors.clear();
    }
    m
}

fn established(now: Instant) -> Speaker {
    let ip = Ipv4Addr::new(169, 254, 10, 1);
    let mut config = SessionConfig::new(Asn(65001), ip, ip);
    config.max_prefixes = 5;
    let mut s = Speaker::new(config);
    s.start(now);
    s.tcp_connected(now);
    let open = Message::Open(Open {
        my_as: 65001,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(169, 254, 10, 2),
        capabilities: vec![Capability::FourOctetAs(Asn(65001))],
    });
    for m in [open, Message::Keepalive] {
        if let Ok(b) = m.encode(Codec::FOUR_OCTET) {
            s.bytes_received(&b, now);
        }
    }
    assert_eq!(s.state(), State::Established);
    s
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(n)) = wire::frame_len(rest) {
        let Some(msg) = rest.get(..n) else { break };
        for codec in [Codec::FOUR_OCTET, Codec::TWO_OCTET] {
            if let Ok(m) = wire::decode(msg, codec) {
                let m = strip(m);
                if let Ok(bytes) = m.encode(codec) {
                    let again = wire::decode(&bytes, codec).map(strip);
                    assert_eq!(again.as_ref(), Ok(&m));
                }
            }
        }
        rest = &rest[n..];
    }

    let now = Instant::now();
    let mut s = established(now);
    s.bytes_received(data, now);
    assert!(s.routes().count() <= 5);
    assert!(s.routes().all(|r| !r.prefix.is_default()));
    while s.poll_transmit().is_some() {}
    while s.poll_event().is_some() {}
});
