//! IKEv2 decoder (RFC 7296 §3, RFC 7383): whole messages, decrypted inner chains, SK layout and
//! fragment reassembly. Whatever decodes must re-encode to a fixed point that decodes to the same
//! message. Nothing may panic.
#![no_main]

use dualsec_ike::v2::wire::{
    HeaderView, Message, PayloadType, Reassembly, ReassemblyLimits, SkLayout, decode_payloads,
    decode_plaintext, encode_payloads,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = HeaderView::new_checked(data).map(|v| v.header());
    if let Ok(m) = Message::decode(data) {
        let bytes = m.encode().expect("a decoded message re-encodes");
        assert_eq!(bytes.len(), data.len());
        let again = Message::decode(&bytes).expect("re-encoding decodes");
        assert_eq!(again, m);
        assert_eq!(again.encode().expect("fixed point"), bytes);
        for (iv, icv) in [(16, 12), (8, 16), (0, 0)] {
            let _ = SkLayout::locate(data, iv, icv);
        }
    }
    if let Some((&first, rest)) = data.split_first() {
        if let Ok(inner) = decode_payloads(PayloadType(first), rest) {
            let (t, bytes) = encode_payloads(&inner).expect("inner chain re-encodes");
            assert_eq!(decode_payloads(t, &bytes).expect("decodes"), inner);
        }
        let _ = decode_plaintext(PayloadType(first), rest);
        // Reassembly driven by 6-byte records: number, total, next payload, content length.
        let mut r = Reassembly::new(ReassemblyLimits::default());
        for rec in rest.chunks(6) {
            if let [n1, n2, t1, t2, next, len] = *rec {
                let content = vec![0u8; usize::from(len)];
                let _ = r.insert(
                    u16::from_be_bytes([n1, n2]),
                    u16::from_be_bytes([t1, t2]),
                    PayloadType(next),
                    &content,
                );
            }
        }
    }
});
