//! IKEv1 (RFC 2409) over ISAKMP (RFC 2408): PSK main and aggressive mode, quick mode with ESP
//! tunnel mode and optional PFS, DELETE, DPD (RFC 3706), INITIAL-CONTACT, phase-1 and phase-2
//! rekeys.
//!
//! Entry point: [`Endpoint`], driven exactly like [`crate::v2::Endpoint`] and speaking the same
//! types ([`crate::v2::TunnelConfig`], [`crate::v2::Event`], [`crate::v2::NegotiationError`]);
//! [`Options`] selects main or aggressive mode. The engine demultiplexes datagrams by the ISAKMP
//! header's major version (1 here, 2 for IKEv2).

pub mod endpoint;
mod proposal;
mod sa;
pub mod wire;

pub use endpoint::{
    Endpoint, InboundFirst, MAX_REINITIATE_DELAY, Mode, OUTBOUND_SWITCH_DELAY, Options,
    REINITIATE_DELAY,
};
