//! Codec errors. Decode errors are always the peer's fault (malformed input); encode errors are
//! always the caller's (`ApiMisuse` in STYLE.md §7 terms): nothing a peer sends can cause one.

use super::registry::{NotifyType, PayloadType};

/// A received IKEv2 message (or part of one) is malformed.
///
/// `what` names the structure being read (e.g. `"proposal"`), so logs say exactly where the peer
/// went wrong. [`DecodeError::notify_type`] gives the Notify a responder answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the structure needs.
    #[error("truncated {what}: need {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    /// A length field is smaller than the structure's fixed part.
    #[error("{what} length {length} is below the minimum {minimum}")]
    LengthTooShort {
        what: &'static str,
        length: usize,
        minimum: usize,
    },
    /// A length field runs past the end of its enclosing structure.
    #[error("{what} length {length} overruns the {available} bytes left in its parent")]
    LengthOverrun {
        what: &'static str,
        length: usize,
        available: usize,
    },
    /// Bytes left over after a structure that must fill its parent exactly.
    #[error("{count} trailing bytes after {what}")]
    TrailingBytes { what: &'static str, count: usize },
    /// A count field disagrees with the number of elements actually present.
    #[error("{what}: count field says {declared}, found {found}")]
    CountMismatch {
        what: &'static str,
        declared: usize,
        found: usize,
    },
    /// The IKE major version is not 2 (RFC 7296 §2.5: answer INVALID_MAJOR_VERSION).
    #[error("unsupported IKE version {major}.{minor}")]
    UnsupportedVersion { major: u8, minor: u8 },
    /// An unrecognised payload with the critical bit set (RFC 7296 §2.5: reject the whole message
    /// and answer UNSUPPORTED_CRITICAL_PAYLOAD carrying this type).
    #[error("unsupported critical payload {payload:?}")]
    UnsupportedCriticalPayload { payload: PayloadType },
    /// A field holds a value the RFC forbids.
    #[error("invalid {what}: {reason}")]
    InvalidField {
        what: &'static str,
        reason: &'static str,
    },
}

impl DecodeError {
    /// The Notify type a responder sends for this error (RFC 7296 §2.5, §3.10.1).
    ///
    /// For [`DecodeError::UnsupportedCriticalPayload`] the notification data is the one-octet
    /// payload type.
    pub fn notify_type(&self) -> NotifyType {
        match self {
            DecodeError::UnsupportedVersion { .. } => NotifyType::INVALID_MAJOR_VERSION,
            DecodeError::UnsupportedCriticalPayload { .. } => {
                NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD
            }
            _ => NotifyType::INVALID_SYNTAX,
        }
    }
}

/// The caller asked to encode something that cannot be represented on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A length does not fit its length field (payloads: 65535, attributes: 65535, messages: 2^32-1).
    #[error("{what} is {length} bytes, the field holds at most {max}")]
    TooLong {
        what: &'static str,
        length: usize,
        max: usize,
    },
    /// A count does not fit its count field (e.g. more than 255 proposals or transforms).
    #[error("{what}: {count} elements, the field holds at most {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    /// Values that must agree do not (e.g. mixed address families in one traffic selector).
    #[error("inconsistent {what}: {reason}")]
    Inconsistent {
        what: &'static str,
        reason: &'static str,
    },
}
