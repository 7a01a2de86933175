//! Domain model, validation rules (SPEC.md), and the desired/observed state store.
//!
//! This crate is the management plane's core. The HTTP API (`dualsec-api`) parses the provider's
//! flattened parameters into the typed requests of [`requests`], calls one [`Control`] method per
//! action, and renders the typed result (or [`ControlError`]) as the provider's JSON. Nothing here
//! knows about HTTP or JSON bodies; everything here knows the rules.
//!
//! # Map
//!
//! | module | owns |
//! | --- | --- |
//! | [`error`] | [`ControlError`]: the **one** place a failure becomes the provider's `Code`, `Message` and HTTP status |
//! | [`ids`] | `vpn-…`, `cgw-…`, `vco-…`, `tun-…`, `vre-…` ids; random strings |
//! | [`values`] | validated values: enums with wire spellings, lifetimes, ASNs, PSKs, identities, tunnel CIDRs, names, tags |
//! | [`model`] | stored records: desired state (gateways, customer gateways, connections with exactly two tunnels, routes) and observed state (per-tunnel status, last error, counters, carrier, events) |
//! | [`rules`] | cross-field rules (R-CONN-2, R-HA-2, R-BGP-1..4) and tunnel defaults |
//! | [`requests`] | typed request/result structs, one per action |
//! | [`store`] | the [`Store`] trait (transactions over a typed [`store::Tx`]) and [`SqliteStore`] |
//! | [`service`] | [`Control`]: one method per action |
//!
//! # Entry points for the API server (`dualsec serve`)
//!
//! ```no_run
//! use std::sync::Arc;
//! use dualsec_control::{Control, ControlConfig, SqliteStore, SystemClock, ZoneId};
//! # fn main() -> Result<(), dualsec_control::ControlError> {
//! let store = Arc::new(SqliteStore::open("/var/lib/dualsec/state.db")?);
//! let control = Control::new(store, Arc::new(SystemClock), Box::new(rand_core::OsRng), ControlConfig::default());
//! control.configure_public_ip_pool(&[
//!     (ZoneId("zone-a".into()), "192.0.2.1".parse().unwrap()),
//!     (ZoneId("zone-b".into()), "192.0.2.2".parse().unwrap()),
//! ])?;
//! if let Some(key) = control.bootstrap_access_key()? {
//!     println!("first start: AccessKeyId={} AccessKeySecret={}", key.id, key.secret);
//! }
//! // background tick, e.g. every 200 ms: control.complete_due_operations()?;
//! # Ok(()) }
//! ```
//!
//! Then per request: [`Control::check_region`] (if the server enforces `RegionId`), parse, call:
//!
//! | action | method | request → result |
//! | --- | --- | --- |
//! | CreateVpnGateway | [`Control::create_vpn_gateway`] | [`requests::CreateVpnGatewayRequest`] → [`requests::VpnGatewayView`] |
//! | DescribeVpnGateway(s) | [`Control::describe_vpn_gateway`], [`Control::describe_vpn_gateways`] | id / filters → view / [`requests::Page`] |
//! | ModifyVpnGatewayAttribute | [`Control::modify_vpn_gateway_attribute`] | |
//! | DeleteVpnGateway | [`Control::delete_vpn_gateway`] | |
//! | DescribeVpnGatewayAvailableZones | [`Control::available_zones`] | |
//! | Create/Describe(s)/Modify/DeleteCustomerGateway | [`Control::create_customer_gateway`] … | → [`CustomerGateway`] |
//! | CreateVpnConnection | [`Control::create_vpn_connection`] | → [`requests::VpnConnectionView`] |
//! | ModifyVpnConnectionAttribute | [`Control::modify_vpn_connection_attribute`] | → view |
//! | ModifyTunnelAttribute | [`Control::modify_tunnel_attribute`] | → [`requests::TunnelView`] |
//! | DeleteVpnConnection | [`Control::delete_vpn_connection`] | |
//! | DescribeVpnConnection(s) | [`Control::describe_vpn_connection`], [`Control::describe_vpn_connections`] | |
//! | DownloadVpnConnectionConfig | [`Control::describe_vpn_connection`] (the API mirrors the view, api-reference §5.5) | |
//! | DescribeVpnConnectionLogs | [`Control::describe_vpn_connection_logs`] | |
//! | Create/Delete/ModifyWeight/DescribeVpnRouteEntr(y/ies) | [`Control::create_vpn_route_entry`] … | |
//! | Create/Delete/DescribeVpnPbrRouteEntr(y/ies) | [`Control::create_vpn_pbr_route_entry`] … | |
//! | PublishVpnRouteEntry | [`Control::publish_vpn_route_entry`] | |
//! | CheckVpnBgpEnabled | [`Control::check_vpn_bgp_enabled`] | |
//!
//! Signature verification: [`Control::access_key`] looks a key up; [`Control::create_access_key`],
//! [`Control::import_access_key`] and [`Control::bootstrap_access_key`] make them. Secrets are
//! stored in the store (file mode 0600) because HMAC verification needs them.
//!
//! # Parsing parameters
//!
//! Use the parsers here so every validation code comes from this crate: `IkeVersion::parse_as(
//! "TunnelOptionsSpecification.1.TunnelIkeConfig.IkeVersion", s)` (all enums in [`values`] have
//! `parse_as` and `FromStr`), `VpnConnectionId::from_str`, [`values::parse_bool`] (accepts
//! `True`/`False`), [`values::parse_int`], [`values::parse_subnets`] (comma lists), and
//! [`ControlError::missing`] for an absent required parameter. PSK, LocalId, RemoteId and the
//! `TunnelBgpConfig` fields are passed as strings; an empty PSK/LocalId/RemoteId means "default".
//!
//! # Errors
//!
//! [`ControlError::code`], [`ControlError::message`], [`ControlError::http_status`]. Codes follow
//! api-reference §7 where the provider documents one (`InvalidVpnConnectionInstanceId.NotFound`
//! 404, `IllegalParam.LocalSubnet` 400, `VpnGateway.Configuring` 400, `InvalidName`,
//! `MissingParameter`, `Resource.QuotaFull`, `InvalidIpAddress.AlreadyExist`, …) and the
//! `IllegalParam.<Field>` pattern where it does not (BGP and tunnel fields: `IllegalParam.TunnelCidr`,
//! `IllegalParam.LocalBgpIp`, `IllegalParam.LocalAsn`, `IllegalParam.Asn`, `IllegalParam.Role`,
//! `IllegalParam.EnableTunnelsBgp`, `IllegalParam.IkeLifetime`, `IllegalParam.Psk`, …). Our own
//! choices where the provider's code is unknown: `DependencyViolation.VpnConnection` (deleting a
//! gateway or customer gateway still in use), `InvalidTunnelId.NotFound`,
//! `InvalidVpnRouteEntry.NotFound/AlreadyExists`, `IdempotentParameterMismatch`,
//! `ServiceUnavailable` 503 (store locked by another process), `InternalError` 500 (no detail
//! leaks). `DryRun=true` that passes every check returns `Err(ControlError::DryRunOperation)`
//! (code `DryRunOperation`, HTTP 400) and writes nothing.
//!
//! # Semantics worth knowing
//!
//! - **Two tunnels, fixed roles.** A connection holds `[Tunnel; 2]`; the role is a function of the
//!   index ([`model::TunnelIndex::role`]), so it cannot be stored swapped. A request whose `Role`
//!   disagrees (`TunnelOptionsSpecification.1.Role=slave`) is rejected (R-HA-2). Create needs
//!   exactly two `TunnelOptionsSpecification` elements (R-HA-1, R-HA-5); the single-tunnel
//!   parameters (`IkeConfig` JSON, top-level `CustomerGatewayId`) are not supported.
//! - **Routing mode is derived** from the CIDRs like the provider: both sides `0.0.0.0/0` ⇒
//!   destination routing, anything else ⇒ interesting traffic (R-CONN-2). More than one CIDR on a
//!   side needs `ikev2` on both tunnels. In interesting-traffic mode with `AutoConfigRoute` on,
//!   policy routes local × remote are generated (origin [`model::RouteOrigin::Connection`]), not
//!   published by default (source document), regenerated on modify, deleted with the connection.
//! - **One connection per tunnel position and customer gateway** on a gateway: tunnel N always
//!   uses gateway IP N, so two connections whose tunnel N names the same customer gateway would
//!   be one IP pair the engine cannot tell apart before authentication. Refused with
//!   `InvalidVpnConnection.AlreadyExists` (the provider's code; its exact rule is undocumented).
//! - **Async** (api-reference §5.2, §8 item 9): Create/Modify/Delete connection and
//!   ModifyTunnelAttribute record a [`model::PendingOperation`]; the gateway shows `updating`, the
//!   connection `init`/`updating`, and any other connection change on that gateway gets
//!   `VpnGateway.Configuring` until [`Control::complete_due_operations`] (timer mode,
//!   [`Completion::AfterDelay`], default 1 s) or [`Control::complete_operation`] (engine mode,
//!   [`Completion::External`]) completes it; then everything is `active`. A deleted connection
//!   disappears at once (Describe → NotFound, what Terraform waits for).
//! - **ClientToken**: same token + same action + same parameters ⇒ the stored result, no second
//!   resource; same token with other parameters ⇒ `IdempotentParameterMismatch`. Failed requests
//!   are not remembered. Tokens expire after [`ControlConfig::client_token_ttl`].
//! - **Public IPs (self-hosting)**: the host's pool is configured at start
//!   ([`Control::configure_public_ip_pool`], from `serve --public-ip ZONE=IP`). CreateVpnGateway
//!   takes IP 1 (`InternetIp`, tunnel 1) and IP 2 (`DisasterRecoveryInternetIp`, tunnel 2) from
//!   the first two zones (sorted by name) that have a free address: zone redundancy (R-HA-4).
//!   With one zone it takes two addresses of that zone and [`model::VpnGateway::redundancy`] is
//!   [`model::Redundancy::LinkOnly`] — show [`model::Redundancy::note`] ("link redundancy only")
//!   in the gateway's description/status and the connection views' `notes`. Addresses are
//!   exclusive to a gateway and returned on DeleteVpnGateway. Too few free addresses ⇒
//!   `Resource.QuotaFull`.
//! - **BGP settings persist while BGP is off**: turning `EnableTunnelsBgp` off keeps each tunnel's
//!   `TunnelBgpConfig` (so turning it on again needs no re-entry), and its tunnel CIDR stays
//!   reserved on the gateway (R-BGP-3 uniqueness counts it).
//! - **Check order**: a connection change first claims the gateway (busy ⇒ `VpnGateway.Configuring`,
//!   the code clients retry on), then runs the rules; any failure rolls the whole transaction back.
//! - **Observed state** starts `ike_sa_not_established` for every tunnel; the engine writes it
//!   through [`Control::update_tunnel_observed`], [`Control::set_carrying_tunnel`],
//!   [`Control::record_switch`] and [`Control::set_connection_redundancy`] (issue 6: failover
//!   counters kept in the store, so they survive a restart and the new engine adds to them),
//!   [`Control::record_event`] (or directly through [`store::Tx`]), and reads everything it must
//!   reconcile in one snapshot with [`Control::desired_state`].
//! - **Housekeeping** (call from the server's tick): [`Control::complete_due_operations`],
//!   [`Control::expire_client_tokens`], [`Control::prune_events`].
//!
//! # Defaults
//!
//! Per the provider **API** (api-reference §8 item 10), which SDKs and Terraform rely on: IKE
//! `ikev1`/`main`/`aes`/**`md5`**/`group2`/86400 s; IPsec `aes`/**`md5`**/`group2`/86400 s; DPD
//! on, NAT-T on, `AutoConfigRoute=true`, `EffectImmediately=false`, BGP off, `LocalAsn=45104`,
//! random 16-character PSK, LocalId = tunnel IP, RemoteId = customer gateway IP.
//!
//! **Recorded discrepancy**: the console and the source document (R-TUN-3, R-TUN-4) give `sha1`
//! as the default authentication algorithm; the provider's API defaults to `md5`. We follow the
//! API for compatibility. A connection on md5 (or des/group1) carries a "weak algorithm" note.
//!
//! **Recorded discrepancy**: the provider's SDK comments reserve 169.254.0.0/30 … 169.254.6.0/30;
//! the source document (which wins) reserves 0.0/30 … 5.0/30 and 169.254.169.252/30. We follow
//! the source: 169.254.6.0/30 is accepted.
//!
//! # Store
//!
//! [`Store`] runs closures as transactions over [`store::Tx`] (get/put/delete of each record
//! type). [`SqliteStore`] is the default: WAL + `synchronous=FULL` (an acknowledged write survives
//! SIGKILL), versioned migrations ([`store::sqlite::MIGRATIONS`]) at open, `BEGIN IMMEDIATE`
//! writers. [`MemoryStore`] is a copy-on-write double for tests. An etcd implementation can run
//! the same closures as STM transactions; `tests/store_conformance.rs` is the contract it must
//! pass.

pub mod error;
pub mod ids;
pub mod model;
pub mod requests;
pub mod rules;
pub mod service;
pub mod store;
pub mod values;

pub use error::{ControlError, ResourceKind, Result};
pub use ids::{CustomerGatewayId, RouteEntryId, TunnelId, VpnConnectionId, VpnGatewayId};
pub use model::{CustomerGateway, TunnelIndex, VpnConnection, VpnGateway, ZoneId};
pub use service::{Clock, Completion, Control, ControlConfig, ManualClock, SystemClock};
pub use store::{MemoryStore, SqliteStore, Store};
