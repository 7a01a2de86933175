//! Sans-IO BGP-4 (RFC 4271) for the tunnels' BGP sessions (R-BGP-1..5): the message codec
//! ([`wire`]) and a speaker ([`Speaker`]) that owns the RFC 4271 §8 state machine and the session
//! policy, but no socket and no clock.
//!
//! Supported: OPEN with capabilities (RFC 5492), 4-octet AS numbers with AS_TRANS and AS4_PATH
//! for 2-octet peers (RFC 6793), route refresh (RFC 2918), RFC 7606 revised UPDATE error
//! handling, IPv4 unicast. MD5 authentication (RFC 2385) is a TCP socket option: the speaker only
//! carries the key in its [`SessionConfig`] for the engine.
//!
//! Two speakers wired back to back (the engine does the same with a TCP socket):
//!
//! ```
//! use std::time::Instant;
//! use dualsec_bgp::{Asn, SessionConfig, SessionEvent, Speaker, State};
//!
//! let now = Instant::now();
//! let ip = |d| std::net::Ipv4Addr::new(169, 254, 10, d);
//! let mut gw = SessionConfig::new(Asn(65001), ip(1), ip(1)); // local ASN 45104
//! gw.advertised = vec!["198.18.0.0/16".parse().unwrap()];
//! let mut cpe = SessionConfig::new(Asn::DEFAULT_LOCAL, ip(2), ip(2));
//! cpe.local_asn = Asn(65001);
//! cpe.passive = true;
//! let (mut a, mut b) = (Speaker::new(gw), Speaker::new(cpe));
//! b.start(now);
//! a.start(now);
//! assert_eq!(a.poll_event(), Some(SessionEvent::ConnectTcp));
//! a.tcp_connected(now);
//! b.tcp_connected(now);
//! for _ in 0..4 {
//!     while let Some(bytes) = a.poll_transmit() { b.bytes_received(&bytes, now); }
//!     while let Some(bytes) = b.poll_transmit() { a.bytes_received(&bytes, now); }
//! }
//! assert_eq!(a.state(), State::Established);
//! assert_eq!(b.routes().next().map(|r| r.prefix.to_string()), Some("198.18.0.0/16".into()));
//! ```

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
