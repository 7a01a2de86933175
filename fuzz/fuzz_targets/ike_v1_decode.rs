//! ISAKMP/IKEv1 decoder (RFC 2408 §3, RFC 2409): whole messages and decrypted bodies. Whatever
//! decodes must re-encode to a fixed point that decodes to the same message. Nothing may panic.
#![no_main]

use dualsec_ike::v1::wire::{Message, PayloadType, decode_decrypted, decode_with_spans};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let bytes = m.encode().expect("a decoded message re-encodes");
        assert_eq!(bytes.len(), data.len());
        let again = Message::decode(&bytes).expect("re-encoding decodes");
        assert_eq!(again, m);
        assert_eq!(again.encode().expect("fixed point"), bytes);
    }
    if let Some((&first, rest)) = data.split_first() {
        if let Ok(d) = decode_decrypted(PayloadType(first), rest) {
            let end = d.spans.last().map_or(0, |s| s.payload.end);
            assert_eq!(end + d.padding, rest.len());
        }
        let _ = decode_with_spans(PayloadType(first), rest);
    }
});
