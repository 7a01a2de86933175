//! ISAKMP / IKEv1 message and payload codec (RFC 2408 §3, RFC 2407 §4, RFC 2409, RFC 3947).
//!
//! Same two layers as [`crate::v2::wire`]: the 28-octet header, then a bounded reader over the
//! payload chain that rejects truncation, overrunning or short lengths, inconsistent counts and
//! trailing bytes with a typed [`DecodeError`] (shared with the IKEv2 codec; map it to
//! PAYLOAD-MALFORMED with [`notify_type`]). Proposals and transforms are nested inside the SA
//! payload, chained by their own Next Payload fields (2 and 3, RFC 2408 §3.5, §3.6).
//!
//! Encryption (RFC 2408 §3.1, RFC 2409 Appendix B): with the E flag set everything after the
//! header is ciphertext ([`Body::Encrypted`]); the header's Next Payload names the first
//! encrypted payload and the Length covers the padding. The state machine encrypts the output of
//! [`encode_for_encryption`] (chain plus 1..=block zero octets, as strongSwan sends) with the IV chaining of
//! RFC 2409 Appendix B, and decodes what it decrypted with [`decode_decrypted`], which stops at
//! Next Payload NONE and reports the padding length. [`PayloadSpan`]s give the exact bytes the
//! HASH payloads cover (SAi_b, IDii_b, Quick Mode HASH(1..3)).
//!
//! Evidence: `tests/v1_wire.rs`, `tests/v1_wire_proptest.rs`, `tests/v1_wire_strongswan.rs`
//! (a strongSwan 5.9.8 Main Mode + Quick Mode decrypted with the logged Ka and IVs; our encoding
//! reproduces its plaintexts, padding included), fuzz target `ike_v1_decode`.

pub mod header;
pub mod message;
pub mod payload;
pub mod registry;
pub mod sa;

pub use crate::v2::wire::{DecodeError, EncodeError};
pub use header::{Cookie, Flags, HEADER_LEN, Header, ISAKMP_VERSION};
pub use message::{
    Body, DecryptedBody, Message, decode_decrypted, decode_with_spans, encode_for_encryption,
};
pub use payload::{Cert, Delete, Identification, NatOa, Notify, Payload, PayloadSpan};
pub use registry::{
    Doi, EncapsulationMode, ExchangeType, IdType, IpsecAttrType, IsakmpTransformId, LifeType,
    NotifyType, PayloadType, Phase1AttrType, Phase1AuthMethod, ProtocolId,
};
pub use sa::{AttrValue, Attribute, Proposal, SIT_IDENTITY_ONLY, Sa, Transform};

/// The ISAKMP Notify a responder sends for a decode error (RFC 2408 §5.1–§5.6): version errors
/// get INVALID-MAJOR-VERSION, everything else PAYLOAD-MALFORMED.
pub fn notify_type(err: &DecodeError) -> NotifyType {
    match err {
        DecodeError::UnsupportedVersion { .. } => NotifyType::INVALID_MAJOR_VERSION,
        _ => NotifyType::PAYLOAD_MALFORMED,
    }
}
