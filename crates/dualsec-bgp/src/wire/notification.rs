//! NOTIFICATION (RFC 4271 §4.5) and the error code registries (RFC 4271 §6, RFC 4486, RFC 5492,
//! RFC 7313).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

use super::{DecodeError, Reader};

dualsec_crypto::open_enum! {
    /// BGP Error Codes (IANA; RFC 4271 §4.5, RFC 7313).
    pub struct ErrorCode(u8) {
        MESSAGE_HEADER = 1,
        OPEN_MESSAGE = 2,
        UPDATE_MESSAGE = 3,
        HOLD_TIMER_EXPIRED = 4,
        FSM = 5,
        CEASE = 6,
        ROUTE_REFRESH_MESSAGE = 7,
    }
}

dualsec_crypto::open_enum! {
    /// Message Header Error subcodes (RFC 4271 §6.1).
    pub struct HeaderSubcode(u8) {
        CONNECTION_NOT_SYNCHRONIZED = 1,
        BAD_MESSAGE_LENGTH = 2,
        BAD_MESSAGE_TYPE = 3,
    }
}

dualsec_crypto::open_enum! {
    /// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5).
    pub struct OpenSubcode(u8) {
        UNSPECIFIC = 0,
        UNSUPPORTED_VERSION_NUMBER = 1,
        BAD_PEER_AS = 2,
        BAD_BGP_IDENTIFIER = 3,
        UNSUPPORTED_OPTIONAL_PARAMETER = 4,
        UNACCEPTABLE_HOLD_TIME = 6,
        UNSUPPORTED_CAPABILITY = 7,
    }
}

dualsec_crypto::open_enum! {
    /// UPDATE Message Error subcodes (RFC 4271 §6.3).
    pub struct UpdateSubcode(u8) {
        MALFORMED_ATTRIBUTE_LIST = 1,
        UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2,
        MISSING_WELL_KNOWN_ATTRIBUTE = 3,
        ATTRIBUTE_FLAGS_ERROR = 4,
        ATTRIBUTE_LENGTH_ERROR = 5,
        INVALID_ORIGIN_ATTRIBUTE = 6,
        INVALID_NEXT_HOP_ATTRIBUTE = 8,
        OPTIONAL_ATTRIBUTE_ERROR = 9,
        INVALID_NETWORK_FIELD = 10,
        MALFORMED_AS_PATH = 11,
    }
}

dualsec_crypto::open_enum! {
    /// Cease subcodes (RFC 4486 §4).
    pub struct CeaseSubcode(u8) {
        MAXIMUM_NUMBER_OF_PREFIXES_REACHED = 1,
        ADMINISTRATIVE_SHUTDOWN = 2,
        PEER_DE_CONFIGURED = 3,
        ADMINISTRATIVE_RESET = 4,
        CONNECTION_REJECTED = 5,
        OTHER_CONFIGURATION_CHANGE = 6,
        CONNECTION_COLLISION_RESOLUTION = 7,
        OUT_OF_RESOURCES = 8,
    }
}

/// A NOTIFICATION message. The subcode's meaning depends on the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode (see the `*Subcode` registries).
    pub subcode: u8,
    /// Diagnostic data.
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: ErrorCode, subcode: u8, data: Vec<u8>) -> Self {
        Self {
            code,
            subcode,
            data,
        }
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code.0);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sub = match self.code {
            ErrorCode::MESSAGE_HEADER => HeaderSubcode(self.subcode).name(),
            ErrorCode::OPEN_MESSAGE => OpenSubcode(self.subcode).name(),
            ErrorCode::UPDATE_MESSAGE => UpdateSubcode(self.subcode).name(),
            ErrorCode::CEASE => CeaseSubcode(self.subcode).name(),
            _ => None,
        };
        match sub {
            Some(s) => write!(f, "{} / {s}", self.code),
            None => write!(f, "{} / subcode {}", self.code, self.subcode),
        }
    }
}

pub(super) fn decode(body: &[u8]) -> Result<Notification, DecodeError> {
    let mut r = Reader::new(body);
    let code = r.u8().ok_or(DecodeError::ShortNotification)?;
    let subcode = r.u8().ok_or(DecodeError::ShortNotification)?;
    Ok(Notification {
        code: ErrorCode(code),
        subcode,
        data: r.rest().to_vec(),
    })
}
