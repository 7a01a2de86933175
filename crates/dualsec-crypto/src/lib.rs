//! Algorithm registry for IKE and ESP: ciphers, integrity, PRF, DH groups keyed by IANA transform ids.
//!
//! No primitive is written here by hand: AES, HMAC-SHA, ECDH and X25519 come from `aws-lc-rs`,
//! MD5, DES and 3DES from RustCrypto, and MODP Diffie-Hellman uses constant-time `crypto-bigint`.
//!
//! # Entry points
//!
//! * Negotiated ids to algorithms: [`Cipher::new`], [`Integ::new`], [`Prf::new`], [`DhGroup::new`]
//!   (IKEv2 / ESP ids, [`registry`]); IKEv1 attribute values via [`ikev1::cipher_from_v1`],
//!   [`ikev1::hash_from_v1`], [`ikev1::integ_from_v1_auth`].
//! * Product names (`aes`, `sha1`, `group2`, `disabled` …) and strongSwan proposal strings:
//!   [`product`].
//! * Per-SA keys for the packet path, expanded once: [`Cipher::key`] gives a [`CipherKey`]
//!   ([`CbcKey::encrypt_in_place`] / [`CbcKey::decrypt_in_place`] on whole blocks, or
//!   [`AeadKey::seal_in_place`] / [`AeadKey::open_in_place`] with a separate 16-octet tag);
//!   [`Integ::key`] gives an [`IntegKey`] ([`IntegKey::compute`], [`IntegKey::verify`] in constant
//!   time). None of these allocate.
//! * Key exchange: [`DhPrivate::generate`] with the caller's RNG, [`DhPrivate::public_value`] in
//!   IKE KE encoding, [`DhPrivate::agree`] validating the peer's value.
//! * Key derivation: [`ikev2`] (RFC 7296 §2.13–§2.18, PSK AUTH) and [`ikev1`] (RFC 2409).
//! * Every secret is a [`Secret`]: zeroized on drop, never printed.
//! * Errors: [`CryptoError`], with [`CryptoError::fault`] telling who is to blame.

pub mod cipher;
pub mod dh;
pub mod error;
pub mod hash;
pub mod ikev1;
pub mod ikev2;
pub mod integ;
pub mod prf;
pub mod product;
pub mod registry;
pub mod secret;

pub use cipher::{AeadKey, CbcKey, Cipher, CipherKey};
pub use dh::{DhGroup, DhPrivate};
pub use error::{CryptoError, Fault, Result};
pub use hash::{Digest, HashAlg};
pub use integ::{Icv, Integ, IntegKey};
pub use prf::Prf;
pub use registry::{DhId, EncrId, EsnId, IntegId, PrfId, V1AuthId, V1EncrId, V1HashId};
pub use secret::Secret;
