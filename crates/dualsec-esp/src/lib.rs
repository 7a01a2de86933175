//! Sans-IO ESP (RFC 4303) security associations with UDP encapsulation (RFC 3948).
//!
//! * [`wire`]: zero-copy [`EspPacket`] view, the UDP/4500 classifier, inner IP header reading.
//! * [`replay`]: the anti-replay window with 64-bit ESN inference (RFC 4303 §3.4.3, App. A2).
//! * [`lifetime`]: soft/hard limits in seconds and bytes.
//! * [`sa`]: [`SaParams`] (built from an IKE CHILD SA), [`OutboundSa`] and [`InboundSa`].
//! * [`table`]: [`SaTable`], the per-worker SA database with make-before-break rekeying.
//!
//! No IO, no clock, no global RNG: callers pass `now: Instant` and a
//! `&mut dyn rand_core::CryptoRngCore`. Polling order for [`SaTable`]: feed packets
//! ([`SaTable::decapsulate`], [`SaTable::encapsulate`]) and timeouts
//! ([`SaTable::handle_timeout`]), then drain [`SaTable::poll_event`], then arm a timer for
//! [`SaTable::poll_timeout`].
//!
//! Outbound packets are protected in place inside a caller buffer that reserves
//! [`OutboundSa::headroom`] bytes before the inner packet and [`OutboundSa::tailroom`] after it
//! ([`MAX_HEADROOM`]/[`MAX_TAILROOM`] cover every transform). Inbound packets are decrypted in
//! place. Neither allocates.

pub mod lifetime;
pub mod replay;
pub mod sa;
pub mod table;
mod transform;
pub mod wire;

pub use lifetime::{LifetimeCause, LifetimeEvent, LifetimeKind, Lifetimes};
pub use sa::{
    Decapsulated, Direction, DropCounters, DropReason, EncapError, InboundSa, OutboundSa,
    ParamsError, SaCounters, SaParams, Selectors, TunnelEndpoints, UdpEncap,
};
pub use table::{OutboundError, SaTable, SaTableEvent, TunnelId};
pub use wire::{EspPacket, NextHeader, Spi, Udp4500Payload, classify_udp4500};

/// Headroom that suffices for every supported transform: ESP header (8) + the largest IV (16).
pub const MAX_HEADROOM: usize = wire::HEADER_LEN + 16;
/// Tailroom that suffices for every supported transform: padding (≤ 15) + trailer (2) + the
/// largest ICV (32, HMAC-SHA2-512-256).
pub const MAX_TAILROOM: usize = 15 + wire::TRAILER_LEN + 32;
