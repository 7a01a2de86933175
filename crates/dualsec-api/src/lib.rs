//! The provider-compatible management API (VPC API 2016-04-28, RPC style) over
//! [`dualsec_control::Control`].
//!
//! Entry points:
//! - [`app`] builds the axum router (`POST|GET /` for actions, `GET /openapi.json`); tests call it
//!   without a socket (STYLE.md §9).
//! - [`AppState::new`] wraps a `Control`; requests must be signed with an access key in its store.
//! - [`signature`] verifies and produces ACS3-HMAC-SHA256 (V3) and HMAC-SHA1 (V2) signatures
//!   exactly like the provider's SDK (api-reference §2.3, §2.4); the CLI signs with it.
//! - [`actions::ACTIONS`] is the one action table: router, CLI flags and [`openapi::document`] are
//!   generated from it.
//! - [`error::ApiError`] is the one error type; its body is the provider's
//!   `{"RequestId","HostId","Code","Message","Recommend"}`. Control's errors map into it in one
//!   `From` impl; internal details are logged, never sent.
//!
//! Every dualsec connection is dual-tunnel: the single-tunnel JSON parameters (`IkeConfig`,
//! `IpsecConfig`, `BgpConfig`, `HealthCheckConfig`, connection-level `CustomerGatewayId`) are
//! refused with a message naming the `TunnelOptionsSpecification.N.*` equivalents.

pub mod actions;
pub mod error;
pub mod openapi;
pub mod params;
pub mod peer_config;
pub mod server;
pub mod signature;

pub use error::ApiError;
pub use server::{API_VERSION, AppState, app};
