//! Algorithm registry for IKE and ESP: ciphers, integrity, PRF, DH groups keyed by IANA transform ids.
//!
//! No primitive is written here by hand: AES, HMAC-SHA, ECDH and X25519 come from `aws-lc-rs`,
//! MD5, DES and 3DES from RustCrypto, and MODP Diffie-Hellman uses constant-time `crypto-bigint`.

pub mod registry;

pub use registry::{DhId, EncrId, EsnId, IntegId, PrfId};
