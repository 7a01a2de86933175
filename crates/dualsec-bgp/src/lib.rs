//! Sans-IO BGP-4 (RFC 4271) for the tunnels' BGP sessions (R-BGP-1..5): the message codec
//! ([`wire`]) and a speaker ([`Speaker`]) that owns the RFC 4271 §8 state machine and the session
//! policy, but no socket and no clock.
//!
//! Supported: OPEN with capabilities (RFC 5492), 4-octet AS numbers with AS_TRANS and AS4_PATH
//! for 2-octet peers (RFC 6793), route refresh (RFC 2918), RFC 7606 revised UPDATE error
//! handling, IPv4 unicast. MD5 authentication (RFC 2385) is a TCP socket option: the speaker only
//! carries the key in its [`SessionConfig`] for the engine.

pub mod asn;
mod error;
pub mod prefix;
mod speaker;
pub mod wire;

pub use asn::{Asn, AsnParseError};
pub use error::SessionError;
pub use prefix::{Ipv4Prefix, PrefixError};
pub use speaker::{
    DownReason, RejectReason, Route, SessionConfig, SessionEvent, Speaker, State, Timer,
};
