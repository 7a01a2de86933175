//! BGP decoder: stream framing, then every message decoded with 2- and 4-octet AS paths; whatever
//! decodes must re-encode and decode to the same message. Nothing may panic.
#![no_main]

use dualsec_bgp::wire::{self, Codec, Message};
use libfuzzer_sys::fuzz_target;

fn strip(mut m: Message) -> Message {
    if let Message::Update(u) = &mut m {
        u.errors.clear();
    }
    m
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
});
