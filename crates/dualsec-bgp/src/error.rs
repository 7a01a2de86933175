//! Why a session ends, and the one place that turns it into a NOTIFICATION (STYLE.md §7).

use std::time::Duration;

use crate::asn::Asn;
use crate::speaker::State;
use crate::wire::{
    AttrType, CeaseSubcode, DecodeError, ErrorCode, HeaderSubcode, MessageType, Notification,
    OpenSubcode, UpdateSubcode,
};

/// A reason to close the session that we tell the peer about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The peer sent bytes we cannot decode.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// The peer's OPEN names another AS than configured (RFC 4271 §6.2).
    #[error("peer is AS {got}, configured peer AS is {expected}")]
    BadPeerAs {
        /// Configured.
        expected: Asn,
        /// Received (after RFC 6793 §4.1 resolution).
        got: Asn,
    },
    /// The peer's BGP Identifier equals ours on an eBGP session (RFC 6286 §2.2).
    #[error("peer uses our own BGP identifier")]
    BgpIdentifierCollision,
    /// Nothing heard for the negotiated hold time (RFC 4271 §6.5).
    #[error("hold timer expired: nothing heard from the peer for {0:?}")]
    HoldTimerExpired(Duration),
    /// A message the FSM does not expect in its state (RFC 4271 §6.6, RFC 6608).
    #[error("peer sent {message} in state {state}")]
    UnexpectedMessage {
        /// What arrived.
        message: MessageType,
        /// Our state.
        state: State,
    },
    /// More prefixes than allowed (RFC 4486 §4).
    #[error("peer sent more than {limit} prefixes")]
    MaxPrefixes {
        /// Configured limit.
        limit: u32,
    },
    /// Local shutdown (RFC 4486 §4).
    #[error("administrative shutdown")]
    AdminShutdown,
}

impl SessionError {
    /// The NOTIFICATION to send for this error (RFC 4271 §6, RFC 4486, RFC 5492, RFC 7313).
    pub fn notification(&self) -> Notification {
        use ErrorCode as C;
        let n = |code: ErrorCode, sub: u8, data: Vec<u8>| Notification::new(code, sub, data);
        match self {
            SessionError::Decode(d) => match d {
                DecodeError::BadMarker => n(
                    C::MESSAGE_HEADER,
                    HeaderSubcode::CONNECTION_NOT_SYNCHRONIZED.0,
                    vec![],
                ),
                DecodeError::BadLength { length } => n(
                    C::MESSAGE_HEADER,
                    HeaderSubcode::BAD_MESSAGE_LENGTH.0,
                    length.to_be_bytes().to_vec(),
                ),
                DecodeError::BadType(t) => n(
                    C::MESSAGE_HEADER,
                    HeaderSubcode::BAD_MESSAGE_TYPE.0,
                    vec![t.0],
                ),
                // Data: the largest version we support (RFC 4271 §6.2).
                DecodeError::UnsupportedVersion(_) => n(
                    C::OPEN_MESSAGE,
                    OpenSubcode::UNSUPPORTED_VERSION_NUMBER.0,
                    vec![0, 4],
                ),
                DecodeError::UnacceptableHoldTime(_) => n(
                    C::OPEN_MESSAGE,
                    OpenSubcode::UNACCEPTABLE_HOLD_TIME.0,
                    vec![],
                ),
                DecodeError::BadBgpIdentifier => {
                    n(C::OPEN_MESSAGE, OpenSubcode::BAD_BGP_IDENTIFIER.0, vec![])
                }
                DecodeError::UnsupportedOptionalParameter(_) => n(
                    C::OPEN_MESSAGE,
                    OpenSubcode::UNSUPPORTED_OPTIONAL_PARAMETER.0,
                    vec![],
                ),
                DecodeError::MalformedOpen(_) => {
                    n(C::OPEN_MESSAGE, OpenSubcode::UNSPECIFIC.0, vec![])
                }
                DecodeError::MalformedAttributeList(_) => n(
                    C::UPDATE_MESSAGE,
                    UpdateSubcode::MALFORMED_ATTRIBUTE_LIST.0,
                    vec![],
                ),
                DecodeError::UnrecognizedWellKnown(AttrType(t)) => n(
                    C::UPDATE_MESSAGE,
                    UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE.0,
                    vec![*t],
                ),
                DecodeError::InvalidNetworkField => n(
                    C::UPDATE_MESSAGE,
                    UpdateSubcode::INVALID_NETWORK_FIELD.0,
                    vec![],
                ),
                // No specific subcode exists for a short NOTIFICATION; it is a length problem.
                DecodeError::ShortNotification => n(
                    C::MESSAGE_HEADER,
                    HeaderSubcode::BAD_MESSAGE_LENGTH.0,
                    vec![],
                ),
                // RFC 7313 §5: ROUTE-REFRESH Message Error / Invalid Message Length.
                DecodeError::RouteRefreshLength { .. } => n(C::ROUTE_REFRESH_MESSAGE, 1, vec![]),
            },
            SessionError::BadPeerAs { .. } => {
                n(C::OPEN_MESSAGE, OpenSubcode::BAD_PEER_AS.0, vec![])
            }
            SessionError::BgpIdentifierCollision => {
                n(C::OPEN_MESSAGE, OpenSubcode::BAD_BGP_IDENTIFIER.0, vec![])
            }
            SessionError::HoldTimerExpired(_) => n(C::HOLD_TIMER_EXPIRED, 0, vec![]),
            // RFC 6608 subcodes: 1 OpenSent, 2 OpenConfirm, 3 Established.
            SessionError::UnexpectedMessage { state, .. } => {
                let sub = match state {
                    State::OpenSent => 1,
                    State::OpenConfirm => 2,
                    State::Established => 3,
                    State::Idle | State::Connect | State::Active => 0,
                };
                n(C::FSM, sub, vec![])
            }
            // RFC 4486 §4: data = AFI (2), SAFI (1), upper bound (4).
            SessionError::MaxPrefixes { limit } => {
                let mut data = vec![0, 1, 1];
                data.extend_from_slice(&limit.to_be_bytes());
                n(
                    C::CEASE,
                    CeaseSubcode::MAXIMUM_NUMBER_OF_PREFIXES_REACHED.0,
                    data,
                )
            }
            SessionError::AdminShutdown => {
                n(C::CEASE, CeaseSubcode::ADMINISTRATIVE_SHUTDOWN.0, vec![])
            }
        }
    }
}
