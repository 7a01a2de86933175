//! The one error type of this crate, with who is at fault (STYLE.md §7).

use crate::registry::{DhId, EncrId, IntegId, PrfId};

/// Who caused a [`CryptoError`], so callers can map it to the right IKE Notify or API error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The peer sent something invalid (bad public value, wrong ICV, wrong length on the wire).
    Peer,
    /// The peer or the configuration asked for a transform this build does not implement.
    Unsupported,
    /// Our own code passed inconsistent arguments (wrong key or IV length): a bug, not an attack.
    ApiMisuse,
    /// The underlying crypto library failed unexpectedly.
    Internal,
}

/// Errors from the algorithm registry, ciphers, integrity checks, key exchange and key derivation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Encryption transform id (and key length) this crate does not implement.
    #[error("unsupported encryption transform {id} with key length {key_bits:?}")]
    UnsupportedEncr {
        /// Transform id.
        id: EncrId,
        /// Key Length attribute in bits, if any was given.
        key_bits: Option<u16>,
    },
    /// Integrity transform this crate does not implement.
    #[error("unsupported integrity transform {0}")]
    UnsupportedInteg(IntegId),
    /// PRF transform this crate does not implement.
    #[error("unsupported PRF transform {0}")]
    UnsupportedPrf(PrfId),
    /// Diffie-Hellman group this crate does not implement.
    #[error("unsupported Diffie-Hellman group {0}")]
    UnsupportedDh(DhId),
    /// An IKEv1 attribute value (encryption, hash or ESP auth algorithm) this crate does not implement.
    #[error("unsupported IKEv1 {what} value {value}")]
    UnsupportedV1 {
        /// Which attribute.
        what: &'static str,
        /// The value received.
        value: u16,
    },
    /// A product or strongSwan algorithm name that is not in [`crate::product`]'s table.
    #[error("unknown {kind} algorithm name {name:?}")]
    UnknownName {
        /// What kind of algorithm was expected (`encryption`, `authentication`, `dh group`, `proposal`).
        kind: &'static str,
        /// The name as given.
        name: String,
    },
    /// Key material of the wrong length was passed in (a caller bug).
    #[error("{what}: key length {got} octets, expected {expected}")]
    BadKeyLength {
        /// Which key.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// IV of the wrong length was passed in.
    #[error("IV length {got} octets, expected {expected}")]
    BadIvLength {
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// CBC input that is not a whole number of blocks (peer data or caller padding bug).
    #[error("data length {len} is not a multiple of the {block}-octet block size")]
    NotBlockAligned {
        /// Cipher block size.
        block: usize,
        /// Data length.
        len: usize,
    },
    /// The peer's Diffie-Hellman public value is malformed or out of range (RFC 7296 §3.4, RFC 5903, RFC 8031).
    #[error("invalid peer public value for {group}: {reason}")]
    InvalidPeerPublicValue {
        /// The group.
        group: DhId,
        /// What was wrong.
        reason: &'static str,
    },
    /// Integrity check value or AEAD tag did not verify.
    #[error("integrity check failed (ICV mismatch)")]
    IcvMismatch,
    /// Received ICV/AUTH of the wrong length.
    #[error("ICV length {got} octets, expected {expected}")]
    BadIcvLength {
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// prf+ asked for more than 255 blocks of output (RFC 7296 §2.13).
    #[error("prf+ output of {requested} octets exceeds the maximum {max}")]
    PrfPlusTooLong {
        /// Requested length.
        requested: usize,
        /// Maximum for this PRF.
        max: usize,
    },
    /// The crypto library reported an unexpected failure.
    #[error("crypto library failure: {0}")]
    Internal(&'static str),
}

impl CryptoError {
    /// Who is at fault for this error.
    pub fn fault(&self) -> Fault {
        match self {
            CryptoError::UnsupportedEncr { .. }
            | CryptoError::UnsupportedInteg(_)
            | CryptoError::UnsupportedPrf(_)
            | CryptoError::UnsupportedDh(_)
            | CryptoError::UnsupportedV1 { .. }
            | CryptoError::UnknownName { .. } => Fault::Unsupported,
            CryptoError::InvalidPeerPublicValue { .. }
            | CryptoError::IcvMismatch
            | CryptoError::BadIcvLength { .. }
            | CryptoError::NotBlockAligned { .. } => Fault::Peer,
            CryptoError::BadKeyLength { .. }
            | CryptoError::BadIvLength { .. }
            | CryptoError::PrfPlusTooLong { .. } => Fault::ApiMisuse,
            CryptoError::Internal(_) => Fault::Internal,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = CryptoError> = core::result::Result<T, E>;
