//! The provider-compatible management API (VPC API 2016-04-28, RPC style).
pub mod error;
pub mod params;
pub mod signature;
