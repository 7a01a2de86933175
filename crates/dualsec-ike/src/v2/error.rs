//! Errors, sorted by who is at fault (STYLE.md §7), and the one place that maps them to Notify
//! types ([`Error::notify_type`]).
//!
//! [`NegotiationError`] is what an operator sees as a tunnel's last error: its `Display` explains
//! the failure in the words of R-DIAG-1 (which PSK, which proposal, which selector, which address).

use std::fmt;
use std::net::SocketAddr;

use dualsec_crypto::DhId;

use super::config::{Identity, TrafficSelector, ts_list};
use super::message::{Pl, notify};
use super::wire::NotifyType;

/// Which SA a proposal was for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SaKind {
    /// The IKE SA (phase 1).
    Ike,
    /// A CHILD SA (phase 2, ESP).
    Child,
}

impl fmt::Display for SaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SaKind::Ike => "IKE",
            SaKind::Child => "CHILD (ESP)",
        })
    }
}

/// Why a tunnel could not be negotiated, explained for the operator (R-DIAG-1).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// No common proposal. `ours` and `theirs` are strongSwan-style proposal texts; `theirs` is
    /// empty when the peer only answered NO_PROPOSAL_CHOSEN and never told us its proposals.
    #[error("no matching {kind} proposal: we offered {ours}; peer {}", if theirs.is_empty() { "rejected it (NO_PROPOSAL_CHOSEN) without telling its own".to_string() } else { format!("offered {theirs}") })]
    NoProposalChosen {
        /// IKE or CHILD SA.
        kind: SaKind,
        /// Our proposals.
        ours: String,
        /// The peer's proposals, if known.
        theirs: String,
    },
    /// The peer's AUTH payload did not verify with our PSK.
    #[error(
        "authentication failed: peer {peer_id}'s AUTH did not verify with our key: pre-shared key mismatch (or peer ID mismatch)"
    )]
    PskMismatch {
        /// The ID the peer presented.
        peer_id: Identity,
    },
    /// The peer presented an ID we do not expect.
    #[error("authentication failed: peer ID {got}, expected {expected}")]
    PeerIdMismatch {
        /// What the peer sent.
        got: String,
        /// Our configured remote ID.
        expected: Identity,
    },
    /// The peer rejected our AUTH (it sent AUTHENTICATION_FAILED).
    #[error(
        "authentication failed: peer rejected our authentication (AUTHENTICATION_FAILED): pre-shared key mismatch, or our ID {our_id} is not the remote ID the peer expects"
    )]
    RejectedByPeer {
        /// The ID we presented.
        our_id: Identity,
    },
    /// Traffic selectors have no acceptable intersection.
    #[error(
        "traffic selectors unacceptable: ours local {our_local} remote {our_remote}; peer's local {peer_local} remote {peer_remote}"
    )]
    TsUnacceptable {
        /// Our local selectors.
        our_local: String,
        /// Our remote selectors.
        our_remote: String,
        /// The peer's local selectors (its TSi as initiator / TSr as responder), if known.
        peer_local: String,
        /// The peer's remote selectors, if known.
        peer_remote: String,
    },
    /// No answer at all.
    #[error(
        "no response from {peer} after {retransmits} retransmits ({exchange}): UDP 500/4500 blocked or peer unreachable"
    )]
    NoResponse {
        /// Where we sent.
        peer: SocketAddr,
        /// How many times we resent.
        retransmits: u32,
        /// The unanswered exchange.
        exchange: &'static str,
    },
    /// The peer stopped answering liveness checks (R-TUN-5).
    #[error("peer {peer} dead: no reply to liveness checks within {timeout_secs} s")]
    PeerDead {
        /// The peer's last known address.
        peer: SocketAddr,
        /// The configured DPD timeout.
        timeout_secs: u64,
    },
    /// The peer answered with an error notify we have no better explanation for.
    #[error("peer sent error notify {notify:?} during {exchange}")]
    PeerNotify {
        /// The notify type.
        notify: NotifyType,
        /// The exchange.
        exchange: &'static str,
    },
    /// The peer violated the protocol or sent something we cannot parse.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Errors handling one message, sorted by who is at fault.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message could not be decoded (or failed its integrity check).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// Well-formed, but not allowed here (wrong exchange, missing payload, bad message id …).
    #[error("peer misbehaved: {0}")]
    PeerMisbehaved(String),
    /// The peer wants something we cannot agree to; explained for the operator.
    #[error(transparent)]
    PeerIncompatible(#[from] NegotiationError),
    /// A request we cannot honour now; nothing failed and the peer may retry (RFC 7296 §1.2,
    /// §2.25).
    #[error("request refused: {0}")]
    Refused(Refusal),
    /// The caller used the API wrongly (or an internal limit); never caused by untrusted data.
    #[error("API misuse: {0}")]
    ApiMisuse(&'static str),
}

/// Why a request was refused without failing anything.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum Refusal {
    /// The KE payload used another group than the one we selected: retry with `wanted`.
    #[error("KE payload uses another DH group; we selected {wanted:?}")]
    WrongKeGroup {
        /// The group we selected.
        wanted: DhId,
    },
    /// A colliding exchange (a rekey or delete of the same SA) is in progress.
    #[error("a colliding exchange is in progress")]
    TemporaryFailure,
    /// The CHILD SA to rekey is unknown (SPI as the peer named it).
    #[error("no CHILD SA with SPI {spi:08x}")]
    ChildSaNotFound {
        /// The SPI from the REKEY_SA notify.
        spi: u32,
    },
}

impl Error {
    /// The Notify type to answer a request with when handling it failed with `self` — the only
    /// place errors become Notify types (RFC 7296 §3.10.1). `None`: drop silently (RFC 7296 §2.21:
    /// messages failing integrity checks are ignored).
    pub fn notify_type(&self) -> Option<NotifyType> {
        match self {
            Error::InvalidMessage(_) => None,
            Error::PeerMisbehaved(_) => Some(NotifyType::INVALID_SYNTAX),
            Error::PeerIncompatible(n) => match n {
                NegotiationError::NoProposalChosen { .. } => Some(NotifyType::NO_PROPOSAL_CHOSEN),
                NegotiationError::PskMismatch { .. } | NegotiationError::PeerIdMismatch { .. } => {
                    Some(NotifyType::AUTHENTICATION_FAILED)
                }
                NegotiationError::TsUnacceptable { .. } => Some(NotifyType::TS_UNACCEPTABLE),
                NegotiationError::Protocol(_) => Some(NotifyType::INVALID_SYNTAX),
                NegotiationError::RejectedByPeer { .. }
                | NegotiationError::NoResponse { .. }
                | NegotiationError::PeerDead { .. }
                | NegotiationError::PeerNotify { .. } => None,
            },
            Error::Refused(r) => Some(match r {
                Refusal::WrongKeGroup { .. } => NotifyType::INVALID_KE_PAYLOAD,
                Refusal::TemporaryFailure => NotifyType::TEMPORARY_FAILURE,
                Refusal::ChildSaNotFound { .. } => NotifyType::CHILD_SA_NOT_FOUND,
            }),
            Error::ApiMisuse(_) => None,
        }
    }

    /// The whole Notify payload answering a failed request, with its data (the wanted group for
    /// INVALID_KE_PAYLOAD, the SPI for CHILD_SA_NOT_FOUND): built from [`Error::notify_type`].
    pub(crate) fn to_notify(&self) -> Option<Pl> {
        let ntype = self.notify_type()?;
        Some(match self {
            Error::Refused(Refusal::WrongKeGroup { wanted }) => {
                notify(ntype, wanted.0.to_be_bytes().to_vec())
            }
            Error::Refused(Refusal::ChildSaNotFound { spi }) => Pl::Notify {
                protocol: 3,
                spi: spi.to_be_bytes().to_vec(),
                ntype,
                data: Vec::new(),
            },
            _ => notify(ntype, Vec::new()),
        })
    }
}

/// Builds [`NegotiationError::TsUnacceptable`] from selector lists.
pub(crate) fn ts_unacceptable(
    our_local: &[TrafficSelector],
    our_remote: &[TrafficSelector],
    peer_local: &[TrafficSelector],
    peer_remote: &[TrafficSelector],
) -> NegotiationError {
    NegotiationError::TsUnacceptable {
        our_local: ts_list(our_local),
        our_remote: ts_list(our_remote),
        peer_local: if peer_local.is_empty() {
            "(not told)".into()
        } else {
            ts_list(peer_local)
        },
        peer_remote: if peer_remote.is_empty() {
            "(not told)".into()
        } else {
            ts_list(peer_remote)
        },
    }
}
