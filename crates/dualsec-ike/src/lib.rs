//! Sans-IO IKEv2 (RFC 7296) and IKEv1 (RFC 2409) state machines and codecs.
//!
//! - [`v2::Endpoint`]: the IKEv2 endpoint for many tunnels: datagrams and time in, datagrams,
//!   timers and [`v2::Event`]s out (driving contract in [`v2::endpoint`]). No sockets, no clock,
//!   no global RNG: `now` and an `rng` are passed to every call.
//! - [`v2::TunnelConfig`]: one tunnel's settings with the product defaults (SPEC R-TUN-3…6).
//! - [`v2::NegotiationError`]: why a tunnel is not up, in words an operator can act on
//!   (R-DIAG-1).
//! - [`v2::wire`]: the IKEv2 codec.
//!
//! `examples/ike_udp_driver.rs` drives a [`v2::Endpoint`] (or, with `--ikev1`, a
//! [`v1::Endpoint`]) with std UDP sockets; the strongSwan interop tests use it.

pub mod v1;
pub mod v2;
