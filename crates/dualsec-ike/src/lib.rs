//! Sans-IO IKEv2 (RFC 7296) and IKEv1 (RFC 2409) state machines and codecs.
//!
//! - [`v2::Endpoint`]: the IKEv2 endpoint for many tunnels: datagrams and time in, datagrams,
//!   timers and [`v2::Event`]s out (driving contract in [`v2::endpoint`]). No sockets, no clock,
//!   no global RNG: `now` and an `rng` are passed to every call.
//! - [`v2::TunnelConfig`]: one tunnel's settings with the product defaults (SPEC R-TUN-3…6).
//! - [`v2::NegotiationError`]: why a tunnel is not up, in words an operator can act on
//!   (R-DIAG-1).
//! - [`v2::wire`]: the IKEv2 codec.
//! - [`v1::Endpoint`]: the IKEv1 endpoint (main/aggressive mode + quick mode), same contract.
//! - [`mux::Endpoints`]: both endpoints behind one face, datagrams demultiplexed by the ISAKMP
//!   major version (the engine runs this); [`mux::Driven`]: the driving contract all three share.
//!
//! `examples/ike_udp_driver.rs` drives a [`mux::Endpoints`] with one IKEv2 tunnel (or, with
//! `--ikev1`, one IKEv1 tunnel) over std UDP sockets; the strongSwan interop tests use it.

pub mod mux;
pub mod v1;
pub mod v2;
