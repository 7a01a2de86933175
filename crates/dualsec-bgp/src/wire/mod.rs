//! BGP-4 messages on the wire (RFC 4271 §4), with capabilities (RFC 5492), 4-octet AS numbers
//! (RFC 6793) and ROUTE-REFRESH (RFC 2918).
//!
//! Decoding is in two layers (STYLE.md §5): [`frame_len`] checks the fixed header of a byte stream
//! and says how long the next message is; [`decode`] parses exactly one message. Every failure is a
//! [`DecodeError`]; the NOTIFICATION it calls for is decided in one place,
//! [`crate::SessionError::notification`]. UPDATE attribute errors that RFC 7606 handles without a
//! session reset are reported inside the decoded [`Update`] instead.

mod notification;
mod open;
mod reader;
mod update;

pub use notification::{
    CeaseSubcode, ErrorCode, HeaderSubcode, Notification, OpenSubcode, UpdateSubcode,
};
pub use open::{Afi, Capability, CapabilityCode, Open, Safi};
pub use update::{
    AsPath, AsSegment, AttrAction, AttrType, AttributeError, Origin, PathAttributes, RawAttribute,
    SegmentType, Update,
};

pub(crate) use reader::Reader;

/// The 16-octet all-ones marker (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];
/// Fixed header length.
pub const HEADER_LEN: usize = 19;
/// Largest message (RFC 4271 §4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;

dualsec_crypto::open_enum! {
    /// BGP Message Types (IANA "BGP Message Types").
    pub struct MessageType(u8) {
        OPEN = 1,
        UPDATE = 2,
        NOTIFICATION = 3,
        KEEPALIVE = 4,
        ROUTE_REFRESH = 5,
    }
}

/// What decoding depends on from the session: whether both sides announced the 4-octet AS
/// capability (RFC 6793 §4), which widens AS_PATH and AGGREGATOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Codec {
    /// AS numbers in AS_PATH and AGGREGATOR are 4 octets.
    pub four_octet_as: bool,
}

impl Codec {
    /// A session between two 4-octet speakers.
    pub const FOUR_OCTET: Codec = Codec {
        four_octet_as: true,
    };
    /// A session with a 2-octet ("OLD") speaker.
    pub const TWO_OCTET: Codec = Codec {
        four_octet_as: false,
    };
}

/// One BGP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN (RFC 4271 §4.2).
    Open(Open),
    /// UPDATE (RFC 4271 §4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918 §3).
    RouteRefresh {
        /// Address family.
        afi: Afi,
        /// Subsequent address family.
        safi: Safi,
    },
}

impl Message {
    /// The type code.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::OPEN,
            Message::Update(_) => MessageType::UPDATE,
            Message::Notification(_) => MessageType::NOTIFICATION,
            Message::Keepalive => MessageType::KEEPALIVE,
            Message::RouteRefresh { .. } => MessageType::ROUTE_REFRESH,
        }
    }

    /// The message with its header, or [`EncodeError`] if it does not fit in 4096 octets.
    pub fn encode(&self, codec: Codec) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&[0, 0]); // length, back-patched
        out.push(self.message_type().0);
        match self {
            Message::Open(o) => o.encode(&mut out)?,
            Message::Update(u) => u.encode(codec, &mut out),
            Message::Notification(n) => n.encode(&mut out),
            Message::Keepalive => {}
            Message::RouteRefresh { afi, safi } => {
                out.extend_from_slice(&afi.0.to_be_bytes());
                out.push(0); // Reserved
                out.push(safi.0);
            }
        }
        let len = u16::try_from(out.len())
            .ok()
            .filter(|&l| usize::from(l) <= MAX_MESSAGE_LEN)
            .ok_or(EncodeError::TooLong { length: out.len() })?;
        out[16..18].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }
}

/// A message we were asked to build cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Above the 4096-octet limit: split the UPDATE.
    #[error("message of {length} octets exceeds the 4096-octet BGP limit")]
    TooLong {
        /// The length it would have had.
        length: usize,
    },
    /// OPEN optional parameters above 255 octets (RFC 9072 extended parameters are not
    /// supported), or a capability value above 253 octets.
    #[error("OPEN capabilities do not fit the 255-octet optional parameters field")]
    OpenTooLong,
}

/// Why a received message cannot be accepted (every case ends the session).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The marker is not all ones (RFC 4271 §6.1).
    #[error("peer sent a header whose marker is not all ones")]
    BadMarker,
    /// Length field outside 19..=4096 or wrong for the message type (RFC 4271 §6.1).
    #[error("peer sent a message with bad length {length}")]
    BadLength {
        /// The length field.
        length: u16,
    },
    /// Unknown message type (RFC 4271 §6.1).
    #[error("peer sent unknown message type {0}")]
    BadType(MessageType),
    /// OPEN version other than 4 (RFC 4271 §6.2).
    #[error("peer speaks BGP version {0}, we speak 4")]
    UnsupportedVersion(u8),
    /// Hold time 1 or 2 seconds (RFC 4271 §6.2).
    #[error("peer proposed hold time {0} s (must be 0 or at least 3)")]
    UnacceptableHoldTime(u16),
    /// BGP Identifier 0.0.0.0 (RFC 6286 §2.2 allows any other non-zero value).
    #[error("peer sent BGP identifier 0.0.0.0")]
    BadBgpIdentifier,
    /// Optional parameter other than Capabilities (RFC 4271 §6.2).
    #[error("peer sent unsupported OPEN optional parameter type {0}")]
    UnsupportedOptionalParameter(u8),
    /// Optional parameters or a capability overrun their lengths, or a known capability has the
    /// wrong length.
    #[error("peer sent malformed OPEN optional parameters: {0}")]
    MalformedOpen(&'static str),
    /// UPDATE lengths inconsistent (RFC 4271 §6.3, RFC 7606 §4 session reset).
    #[error("peer sent an UPDATE with inconsistent lengths: {0}")]
    MalformedAttributeList(&'static str),
    /// A well-known attribute we do not know (RFC 4271 §6.3).
    #[error("peer sent unrecognized well-known attribute {0}")]
    UnrecognizedWellKnown(AttrType),
    /// A prefix in NLRI or Withdrawn Routes is malformed (RFC 4271 §6.3, RFC 7606 §5.3).
    #[error("peer sent an invalid prefix in an UPDATE")]
    InvalidNetworkField,
    /// NOTIFICATION shorter than its fixed part.
    #[error("peer sent a truncated NOTIFICATION")]
    ShortNotification,
    /// ROUTE-REFRESH with a body other than 4 octets (RFC 7313 §5).
    #[error("peer sent a ROUTE-REFRESH of {length} octets")]
    RouteRefreshLength {
        /// The message length.
        length: u16,
    },
}

/// Checks the fixed header at the start of `stream` (RFC 4271 §4.1, §6.1).
///
/// `Ok(None)`: fewer than 19 octets buffered. `Ok(Some(n))`: the next message is `n` octets long
/// (it may not be fully buffered yet).
pub fn frame_len(stream: &[u8]) -> Result<Option<usize>, DecodeError> {
    let Some(header) = stream.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[..16] != MARKER {
        return Err(DecodeError::BadMarker);
    }
    let length = u16::from_be_bytes([header[16], header[17]]);
    let ty = MessageType(header[18]);
    let min = match ty {
        MessageType::OPEN => 29,
        MessageType::UPDATE => 23,
        MessageType::NOTIFICATION => 21,
        MessageType::KEEPALIVE => 19,
        MessageType::ROUTE_REFRESH => 19, // exact check is ROUTE-REFRESH's own error (RFC 7313)
        _ => HEADER_LEN,
    };
    let n = usize::from(length);
    if n < min || n > MAX_MESSAGE_LEN || (ty == MessageType::KEEPALIVE && n != HEADER_LEN) {
        return Err(DecodeError::BadLength { length });
    }
    if ty.name().is_none() {
        return Err(DecodeError::BadType(ty));
    }
    Ok(Some(n))
}

/// Decodes exactly one message (header included).
pub fn decode(msg: &[u8], codec: Codec) -> Result<Message, DecodeError> {
    let n = frame_len(msg)?.ok_or(DecodeError::BadLength {
        length: u16::try_from(msg.len()).unwrap_or(u16::MAX),
    })?;
    if n != msg.len() {
        return Err(DecodeError::BadLength {
            length: u16::try_from(n).unwrap_or(u16::MAX),
        });
    }
    let body = &msg[HEADER_LEN..];
    match MessageType(msg[18]) {
        MessageType::OPEN => open::decode(body).map(Message::Open),
        MessageType::UPDATE => update::decode(body, codec).map(Message::Update),
        MessageType::NOTIFICATION => notification::decode(body).map(Message::Notification),
        MessageType::KEEPALIVE => Ok(Message::Keepalive),
        MessageType::ROUTE_REFRESH => match body {
            [a, b, _reserved, safi] => Ok(Message::RouteRefresh {
                afi: Afi(u16::from_be_bytes([*a, *b])),
                safi: Safi(*safi),
            }),
            _ => Err(DecodeError::RouteRefreshLength {
                length: u16::try_from(msg.len()).unwrap_or(u16::MAX),
            }),
        },
        other => Err(DecodeError::BadType(other)),
    }
}
