//! The engine: turns desired state from the store into running tunnels, and writes what the
//! tunnels do back as observed state.
//!
//! ```text
//!  Control (store) ──desired_state()──▶ plan (pure) ──diff──▶ driver thread
//!        ▲                                                     │  IKE Endpoint (sans-IO)
//!        └──── update_tunnel_observed / record_event ◀─────────┤  events → SAs, routes
//!                                                              ▼
//!                                     data plane (TUN ⇄ ESP ⇄ UDP 500/4500 per public IP)
//! ```
//!
//! * [`ownership`]: which tunnels this node runs (the scale-out seam).
//! * [`plan`]: desired state → tunnels, connections and routes for this node; pure.
//! * `translate`: product settings (R-TUN-*) → the IKEv2 core's `TunnelConfig`.
//! * `ike`: the IKEv1 and IKEv2 endpoints behind one face, datagrams demultiplexed by the
//!   ISAKMP major version (issue 8).
//! * `driver`: the IO thread ([`Engine`]).
//! * `counters`: the data plane's per-SA counters folded into each tunnel's observed totals
//!   (never backwards across rekeys), and its gateway-wide counters (issue 5).
//! * `failover`: one `dualsec_ha::Failover` per connection: probes, outbound carrier, switch
//!   events (issue 6, R-HA-1..5).
//! * [`bgp`]: BGP sessions per tunnel and how they are pinned to their tunnel (issue 7);
//!   [`bgp_steer`]: the steering, learned routes and `BgpStatus`.
//! * [`publish`]: published routes into the VPC side's kernel table (issue 7).
//!
//! Start it with [`Engine::start`]; dropping the [`Engine`] deletes every tunnel (IKE DELETE
//! to each peer), removes its kernel routes and stops the data plane.

pub mod bgp;
pub mod bgp_session;
pub mod bgp_steer;
mod counters;
mod driver;
mod failover;
mod ike;
mod ip;
pub mod ownership;
pub mod plan;
pub mod publish;
mod translate;

pub use driver::{Engine, EngineConfig};
pub use ike::{IkeFlavor, IkeSetup, major_version};

/// Failover tuning, re-exported for `dualsec serve`.
pub use dualsec_ha::HaConfig;
