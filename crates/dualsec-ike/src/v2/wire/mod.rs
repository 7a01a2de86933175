//! IKEv2 message and payload codec (RFC 7296 §3, RFC 7383).
//!
//! Two layers (STYLE.md §5): [`HeaderView`] is a zero-copy view over the fixed header for
//! dispatch (SPI lookup, version, message id); [`Message::decode`] is the full decoder, a bounded
//! reader over the payload chain that rejects truncation, bad and overrunning lengths,
//! inconsistent inner lengths and counts, and trailing bytes, with typed [`DecodeError`]s (never a
//! panic). [`Message::encode`] derives every Next Payload and back-patches every length; for any
//! message built from the typed payloads, `Message::decode(&m.encode()?)? == m` and the bytes are
//! canonical (the exceptions are spelled-out escape hatches: an [`UnknownPayload`] with the
//! critical bit or a type we know, a [`TransformId::Other`] of a known transform type). Decoding
//! normalises only reserved bits and the critical bit of known payloads, so a re-encoded message
//! always has the received length.
//!
//! Evidence: `tests/v2_wire.rs` (AOSP captures byte-exact, every payload, every truncation),
//! `tests/v2_wire_strongswan.rs` (strongSwan 5.9.8 exchanges decrypted with the logged keys and
//! re-sealed byte-exact, RFC 7383 fragments reassembled), `tests/v2_wire_sk.rs`,
//! `tests/v2_wire_proptest.rs`, fuzz target `ike_v2_decode`.
//!
//! Payload chain rules (RFC 7296 §2.5, §3.2): unknown payloads without the critical bit are kept
//! as [`UnknownPayload`]; an unknown payload with the critical bit fails the whole message with
//! [`DecodeError::UnsupportedCriticalPayload`] (answer with
//! [`Notify::unsupported_critical_payload`]). The critical bit of known payloads is ignored on
//! receipt and sent as 0. SK (and SKF) end the outer chain; their Next Payload is the first inner
//! payload type.
//!
//! Protection: see [`sk`] for who pads, what the ICV covers and how AEAD associated data is formed;
//! [`fragment`] for RFC 7383 fragmentation and reassembly.
//!
//! Not handled here: the 4-octet non-ESP marker on port 4500 (RFC 3948 §2.2) is stripped and added
//! by the caller ([`NON_ESP_MARKER`]).

pub mod error;
pub mod fragment;
pub mod header;
pub mod message;
pub mod payload;
pub(crate) mod reader;
pub mod registry;
pub mod sa;
pub mod sk;
pub mod ts;

pub use error::{DecodeError, EncodeError};
pub use fragment::{FragmentError, Reassembly, ReassemblyLimits, fragment_message, max_chunk_len};
pub use header::{Flags, HEADER_LEN, Header, HeaderView, IKEV2_VERSION, IkeSpi};
pub use message::{Message, notifies};
pub use payload::{
    Auth, Cert, Config, ConfigAttribute, Delete, Encrypted, EncryptedFragment, Identification,
    KeyExchange, Nonce, Notify, Payload, UnknownPayload, VendorId, decode_payloads,
    encode_payloads, is_known_payload_type,
};
pub use registry::{
    AuthMethod, CertEncoding, ConfigAttrType, ConfigType, DhId, EncrId, EsnId, ExchangeType,
    IdType, IntegId, NotifyType, PayloadType, PrfId, ProtocolId, TransformAttrType, TransformType,
    TsType,
};
pub use sa::{AttrValue, Proposal, Sa, Transform, TransformAttribute, TransformId};
pub use sk::{
    OpenError, Opened, SealError, SkCipher, SkCryptoError, SkLayout, build_sk_message,
    decode_plaintext, open_message, pad, padded_len, seal_message, unpad,
};
pub use ts::{TrafficSelector, TrafficSelectors, TsAddrRange};

/// The non-ESP marker that precedes IKE messages on UDP port 4500 (RFC 3948 §2.2).
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];
