//! Typed requests and results of the service layer ([`crate::Control`]), one per API action.
//!
//! Requests are plain: required parameters are plain fields (the API answers `MissingParameter`
//! via [`crate::ControlError::missing`] when absent), optional ones are `Option<T>`. Values come
//! already parsed where the parse has one obvious error (ids via `FromStr`, enums via
//! `parse_as(field, s)`, integers via [`crate::values::parse_int`], booleans via
//! [`crate::values::parse_bool`]); values whose empty string means "use the default" (PSK,
//! LocalId, RemoteId) and BGP fields stay strings and are validated here with the right code.
//! Requests derive `Serialize`: their canonical JSON is what a `ClientToken` is matched against.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerGatewayId, TunnelId, VpnConnectionId, VpnGatewayId};
use crate::model::{
    BgpLearnedRoute, ConnectionEvent, ConnectionFailoverObserved, ConnectionRedundancy,
    PendingOperation, Redundancy, RoutingMode, Tunnel, TunnelIndex, TunnelObserved, VpnConnection,
    VpnGateway, VpnRouteEntry, ZoneId,
};
use crate::values::{
    AuthAlg, DhGroup, EncAlg, GatewayStatus, IkeIdentity, IkeMode, IkeVersion, IpsecPfs,
    NegotiationStatus, NetworkType, RouteEntryType, RouteType, Tag, TunnelRole,
};

/// `PageNumber` / `PageSize` of Describe* list actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// 1-based page, default 1.
    pub page_number: Option<i64>,
    /// 1..=50, default 10.
    pub page_size: Option<i64>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items across all pages.
    pub total_count: u64,
    /// Page returned.
    pub page_number: u64,
    /// Page size used.
    pub page_size: u64,
}

// ---------------------------------------------------------------------------------------------
// VPN gateway

/// CreateVpnGateway. The two public IPs are allocated from the host's pool (see crate doc).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateVpnGatewayRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// `VpcId` (required by the provider; recorded).
    pub vpc_id: String,
    /// `Bandwidth`, Mbit/s: 5, 10, 20, 50, 100, 200, 500 or 1000 (required).
    pub bandwidth: i64,
    /// `Name`; default the gateway id.
    pub name: Option<String>,
    /// `VSwitchId` (recorded).
    pub vswitch_id: Option<String>,
    /// `DisasterRecoveryVSwitchId` (recorded).
    pub disaster_recovery_vswitch_id: Option<String>,
    /// `EnableIpsec`, default true; false is refused (dualsec is an IPsec gateway).
    pub enable_ipsec: Option<bool>,
    /// `EnableSsl`, default false; true is refused (no SSL-VPN).
    pub enable_ssl: Option<bool>,
    /// `NetworkType`, default public.
    pub network_type: Option<NetworkType>,
    /// `ResourceGroupId` (recorded).
    pub resource_group_id: Option<String>,
    /// `Tags.N` (not in the provider's CreateVpnGateway; accepted for symmetry).
    pub tags: Vec<Tag>,
}

/// DescribeVpnGateways filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeVpnGatewaysRequest {
    /// `VpnGatewayId` filter.
    pub vpn_gateway_id: Option<VpnGatewayId>,
    /// `VpcId` filter.
    pub vpc_id: Option<String>,
    /// `Status` filter.
    pub status: Option<GatewayStatus>,
    /// `Tag.N` filter: every tag must match.
    pub tags: Vec<Tag>,
    /// Paging.
    pub page: PageRequest,
}

/// ModifyVpnGatewayAttribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyVpnGatewayAttributeRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// The gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// New `Name`.
    pub name: Option<String>,
    /// New `Description`.
    pub description: Option<String>,
    /// New `AutoPropagate`.
    pub auto_propagate: Option<bool>,
}

/// A gateway with what a Describe response needs beyond the stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnGatewayView {
    /// The record (its `status` is `updating` while an operation is pending).
    pub gateway: VpnGateway,
    /// Zone redundancy (R-HA-4); say `redundancy.note()` to the user when `LinkOnly`.
    pub redundancy: Redundancy,
    /// The operation being applied, if any.
    pub pending: Option<PendingOperation>,
    /// Number of IPsec connections bound to it.
    pub connection_count: u64,
    /// True when any connection of the gateway has BGP on (for `EnableBgp`).
    pub bgp_in_use: bool,
    /// The data plane's counters (issue 5), filled by DescribeVpnGateway(s) once the engine has
    /// written them; `None` without an engine (`serve --no-engine`) and in other responses.
    #[serde(default)]
    pub data_plane: Option<crate::model::DataPlaneObserved>,
}

// ---------------------------------------------------------------------------------------------
// Customer gateway

/// CreateCustomerGateway.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCustomerGatewayRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// `IpAddress` (required).
    pub ip_address: Ipv4Addr,
    /// `Asn` as sent (String in the provider's request; `a.b` notation allowed).
    pub asn: Option<String>,
    /// `AuthKey`: BGP MD5 key, 1–64 ASCII characters, no spaces, no `?`.
    pub auth_key: Option<String>,
    /// `Name`.
    pub name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `ResourceGroupId` (recorded).
    pub resource_group_id: Option<String>,
    /// `Tags.N`.
    pub tags: Vec<Tag>,
}

/// DescribeCustomerGateways filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeCustomerGatewaysRequest {
    /// `CustomerGatewayId` filter.
    pub customer_gateway_id: Option<CustomerGatewayId>,
    /// `Tag.N` filter.
    pub tags: Vec<Tag>,
    /// Paging.
    pub page: PageRequest,
}

/// ModifyCustomerGatewayAttribute (IP and ASN cannot change; delete and recreate instead).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyCustomerGatewayAttributeRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// The customer gateway.
    pub customer_gateway_id: CustomerGatewayId,
    /// New `Name`.
    pub name: Option<String>,
    /// New `Description`.
    pub description: Option<String>,
    /// New `AuthKey`.
    pub auth_key: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// IPsec connection

/// `TunnelIkeConfig.*` of one tunnel. Absent fields keep the current value (modify) or take the
/// default (create).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IkeConfigInput {
    /// `Psk`; absent or empty on create ⇒ a random 16-character key (R-TUN-2).
    pub psk: Option<String>,
    /// `IkeVersion`, default `ikev1`.
    pub ike_version: Option<IkeVersion>,
    /// `IkeMode`, default `main`.
    pub ike_mode: Option<IkeMode>,
    /// `IkeEncAlg`, default `aes`.
    pub ike_enc_alg: Option<EncAlg>,
    /// `IkeAuthAlg`, default `md5` (provider API default; see crate doc).
    pub ike_auth_alg: Option<AuthAlg>,
    /// `IkePfs`, default `group2`.
    pub ike_pfs: Option<DhGroup>,
    /// `IkeLifetime` seconds, 0..=86400, default 86400.
    pub ike_lifetime: Option<i64>,
    /// `LocalId`; absent/empty ⇒ the tunnel's public IP.
    pub local_id: Option<String>,
    /// `RemoteId`; absent/empty ⇒ the customer gateway's IP.
    pub remote_id: Option<String>,
}

/// `TunnelIpsecConfig.*` of one tunnel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpsecConfigInput {
    /// `IpsecEncAlg`, default `aes`.
    pub ipsec_enc_alg: Option<EncAlg>,
    /// `IpsecAuthAlg`, default `md5` (provider API default).
    pub ipsec_auth_alg: Option<AuthAlg>,
    /// `IpsecPfs`, default `group2`.
    pub ipsec_pfs: Option<IpsecPfs>,
    /// `IpsecLifetime` seconds, 0..=86400, default 86400.
    pub ipsec_lifetime: Option<i64>,
}

/// `TunnelBgpConfig.*` of one tunnel, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelBgpInput {
    /// `LocalAsn`, 1..=4294967295 (or `a.b`), default 45104.
    pub local_asn: Option<String>,
    /// `TunnelCidr`: a /30 in 169.254.0.0/16 (R-BGP-3).
    pub tunnel_cidr: Option<String>,
    /// `LocalBgpIp`: an address inside `TunnelCidr` (R-BGP-4).
    pub local_bgp_ip: Option<String>,
}

impl TunnelBgpInput {
    /// True when no field is given.
    pub fn is_empty(&self) -> bool {
        self.local_asn.is_none() && self.tunnel_cidr.is_none() && self.local_bgp_ip.is_none()
    }
}

/// One `TunnelOptionsSpecification` element (Create/Modify connection) or object
/// (ModifyTunnelAttribute).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelOptionsInput {
    /// `TunnelId` (modify: selects the tunnel; absent ⇒ by position N).
    pub tunnel_id: Option<TunnelId>,
    /// `CustomerGatewayId` (required on create).
    pub customer_gateway_id: Option<CustomerGatewayId>,
    /// `Role`: must be the fixed role of the position if given (R-HA-2).
    pub role: Option<TunnelRole>,
    /// `EnableDpd`, default true (R-TUN-5).
    pub enable_dpd: Option<bool>,
    /// `EnableNatTraversal`, default true (R-TUN-6).
    pub enable_nat_traversal: Option<bool>,
    /// `RemoteCaCertificate`: ShangMi only; refused when non-empty.
    pub remote_ca_certificate: Option<String>,
    /// `TunnelIkeConfig`.
    pub ike: IkeConfigInput,
    /// `TunnelIpsecConfig`.
    pub ipsec: IpsecConfigInput,
    /// `TunnelBgpConfig`.
    pub bgp: TunnelBgpInput,
}

/// CreateVpnConnection (dual-tunnel form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateVpnConnectionRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// `DryRun`: validate only; success is [`crate::ControlError::DryRunOperation`].
    pub dry_run: bool,
    /// `VpnGatewayId` (required).
    pub vpn_gateway_id: VpnGatewayId,
    /// `Name`; default the connection id.
    pub name: Option<String>,
    /// `LocalSubnet` (required; use [`crate::values::parse_subnets`]).
    pub local_subnet: Vec<Ipv4Net>,
    /// `RemoteSubnet` (required).
    pub remote_subnet: Vec<Ipv4Net>,
    /// `EffectImmediately`, default false.
    pub effect_immediately: Option<bool>,
    /// `AutoConfigRoute`, default true.
    pub auto_config_route: Option<bool>,
    /// `EnableTunnelsBgp`, default false.
    pub enable_tunnels_bgp: Option<bool>,
    /// `TunnelOptionsSpecification.1` and `.2`, in order (exactly two).
    pub tunnels: Vec<TunnelOptionsInput>,
    /// `ResourceGroupId` (recorded).
    pub resource_group_id: Option<String>,
    /// `Tags.N`.
    pub tags: Vec<Tag>,
}

/// ModifyVpnConnectionAttribute. Only name, CIDRs (routing mode), effect-immediately,
/// auto-config-route, BGP switch and tunnel options change (R-CONN-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyVpnConnectionAttributeRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// The connection (required).
    pub vpn_connection_id: VpnConnectionId,
    /// A `VpnGatewayId` if the caller sent one: must equal the bound gateway (R-CONN-4).
    pub vpn_gateway_id: Option<VpnGatewayId>,
    /// New `Name`.
    pub name: Option<String>,
    /// New `LocalSubnet`.
    pub local_subnet: Option<Vec<Ipv4Net>>,
    /// New `RemoteSubnet`.
    pub remote_subnet: Option<Vec<Ipv4Net>>,
    /// New `EffectImmediately`.
    pub effect_immediately: Option<bool>,
    /// New `AutoConfigRoute`.
    pub auto_config_route: Option<bool>,
    /// New `EnableTunnelsBgp` (R-BGP-5).
    pub enable_tunnels_bgp: Option<bool>,
    /// `TunnelOptionsSpecification.N` changes (by `TunnelId`, else by position).
    pub tunnels: Vec<TunnelOptionsInput>,
}

/// ModifyTunnelAttribute (R-CONN-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyTunnelAttributeRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// The connection (required).
    pub vpn_connection_id: VpnConnectionId,
    /// The tunnel (required).
    pub tunnel_id: TunnelId,
    /// `TunnelOptionsSpecification.*` (its `tunnel_id` is ignored).
    pub options: TunnelOptionsInput,
}

/// DescribeVpnConnections filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeVpnConnectionsRequest {
    /// `VpnConnectionId` filter.
    pub vpn_connection_id: Option<VpnConnectionId>,
    /// `VpnGatewayId` filter.
    pub vpn_gateway_id: Option<VpnGatewayId>,
    /// `CustomerGatewayId` filter (matches either tunnel).
    pub customer_gateway_id: Option<CustomerGatewayId>,
    /// `Tag.N` filter.
    pub tags: Vec<Tag>,
    /// Paging.
    pub page: PageRequest,
}

/// One tunnel as Describe shows it: desired settings resolved against the gateway and customer
/// gateway, plus observed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelView {
    /// The stored tunnel (its `ike.psk` is the PSK to show).
    pub tunnel: Tunnel,
    /// Fixed role (R-HA-2).
    pub role: TunnelRole,
    /// The gateway IP this tunnel uses (`InternetIp`).
    pub internet_ip: Ipv4Addr,
    /// The zone of that IP (`ZoneNo`).
    pub zone: ZoneId,
    /// The customer gateway's IP.
    pub customer_gateway_ip: Ipv4Addr,
    /// The customer gateway's ASN (`PeerAsn`).
    pub peer_asn: Option<u32>,
    /// Effective `LocalId`.
    pub local_id: IkeIdentity,
    /// Effective `RemoteId`.
    pub remote_id: IkeIdentity,
    /// `PeerBgpIp`, when BGP is configured.
    pub peer_bgp_ip: Option<Ipv4Addr>,
    /// Observed state (engine-written; initial until the engine runs).
    pub observed: TunnelObserved,
}

/// A connection as Describe shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnConnectionView {
    /// The stored connection.
    pub connection: VpnConnection,
    /// Derived routing mode (R-CONN-2).
    pub routing_mode: RoutingMode,
    /// Connection `Status`: that of the tunnel carrying traffic, else the master's.
    pub status: NegotiationStatus,
    /// `[tunnel 1, tunnel 2]`.
    pub tunnels: [TunnelView; 2],
    /// Advice for the user (link-only redundancy, FQDN without aggressive mode, …).
    pub notes: Vec<String>,
    /// Failover state (issue 6).
    pub failover: FailoverView,
}

/// A connection's failover state as Describe shows it (issue 6, R-HA-3..5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverView {
    /// Redundancy now.
    pub redundancy: ConnectionRedundancy,
    /// The tunnel carrying the connection's outbound traffic (`None` while no tunnel is up).
    pub carrying: Option<TunnelIndex>,
    /// Counters and the last switch.
    pub observed: ConnectionFailoverObserved,
}

/// DescribeVpnConnectionLogs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeVpnConnectionLogsRequest {
    /// The connection.
    pub vpn_connection_id: VpnConnectionId,
    /// Restrict to one tunnel.
    pub tunnel_id: Option<TunnelId>,
    /// `From`, Unix seconds.
    pub from: Option<i64>,
    /// `To`, Unix seconds.
    pub to: Option<i64>,
    /// `MinutePeriod`, 1..=10: the last N minutes when From/To are absent.
    pub minute_period: Option<i64>,
    /// Paging.
    pub page: PageRequest,
}

/// A page of log lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionLogs {
    /// Events.
    pub page: Page<ConnectionEvent>,
    /// True when no later events exist beyond `to`.
    pub is_completed: bool,
}

// ---------------------------------------------------------------------------------------------
// Routes

/// CreateVpnRouteEntry (destination-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateVpnRouteEntryRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// `DryRun`.
    pub dry_run: bool,
    /// Gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// `RouteDest`.
    pub route_dest: Ipv4Net,
    /// `NextHop`: a connection of the gateway.
    pub next_hop: VpnConnectionId,
    /// `Weight`: 0 or 100.
    pub weight: i64,
    /// `PublishVpc`.
    pub publish_vpc: bool,
    /// `Description`.
    pub description: Option<String>,
    /// `OverlayMode`: only `Ipsec`.
    pub overlay_mode: Option<String>,
}

/// DeleteVpnRouteEntry: selects the entry by its key fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteVpnRouteEntryRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// Gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// `RouteDest`.
    pub route_dest: Ipv4Net,
    /// `NextHop`.
    pub next_hop: VpnConnectionId,
    /// `Weight` (must match).
    pub weight: i64,
    /// `OverlayMode`.
    pub overlay_mode: Option<String>,
}

/// ModifyVpnRouteEntryWeight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyVpnRouteEntryWeightRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// Gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// `RouteDest`.
    pub route_dest: Ipv4Net,
    /// `NextHop`.
    pub next_hop: VpnConnectionId,
    /// Current `Weight`.
    pub weight: i64,
    /// `NewWeight`.
    pub new_weight: i64,
    /// `OverlayMode`.
    pub overlay_mode: Option<String>,
}

/// DescribeVpnRouteEntries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeVpnRouteEntriesRequest {
    /// Gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// `RouteEntryType`, default custom. `bgp` lists the routes the tunnels' BGP sessions
    /// learned (issue 7).
    pub route_entry_type: Option<RouteEntryType>,
    /// Paging.
    pub page: PageRequest,
}

/// One BGP-learned route as DescribeVpnRouteEntries (`RouteEntryType=bgp`) lists it: learned on
/// one tunnel of one connection (a prefix learned on both tunnels is two entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpRouteEntry {
    /// The gateway (`VpnInstanceId`).
    pub gateway_id: VpnGatewayId,
    /// The connection whose tunnel learned it (`NextHop`).
    pub connection_id: VpnConnectionId,
    /// The tunnel whose session learned it (`NextHopTunnelId`).
    pub tunnel_id: TunnelId,
    /// The route and its attributes.
    pub route: BgpLearnedRoute,
}

/// DescribeVpnRouteEntries' answer: one page of the requested kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteEntriesPage {
    /// `RouteEntryType=custom`: the gateway's destination routes.
    Custom(Page<VpnRouteEntry>),
    /// `RouteEntryType=bgp`: the routes learned through the tunnels' BGP sessions.
    Bgp(Page<BgpRouteEntry>),
}

/// CreateVpnPbrRouteEntry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateVpnPbrRouteEntryRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// `DryRun`.
    pub dry_run: bool,
    /// Gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// `RouteSource`.
    pub route_source: Ipv4Net,
    /// `RouteDest`.
    pub route_dest: Ipv4Net,
    /// `NextHop`.
    pub next_hop: VpnConnectionId,
    /// `Weight`: 0 or 100.
    pub weight: i64,
    /// `Priority`: 1..=100, default 10.
    pub priority: Option<i64>,
    /// `PublishVpc`.
    pub publish_vpc: bool,
    /// `Description`.
    pub description: Option<String>,
    /// `OverlayMode`.
    pub overlay_mode: Option<String>,
}

/// DeleteVpnPbrRouteEntry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteVpnPbrRouteEntryRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// Gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// `RouteSource`.
    pub route_source: Ipv4Net,
    /// `RouteDest`.
    pub route_dest: Ipv4Net,
    /// `NextHop`.
    pub next_hop: VpnConnectionId,
    /// `Weight` (must match).
    pub weight: i64,
    /// `Priority` (must match when given).
    pub priority: Option<i64>,
    /// `OverlayMode`.
    pub overlay_mode: Option<String>,
}

/// PublishVpnRouteEntry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishVpnRouteEntryRequest {
    /// Idempotency token.
    pub client_token: Option<String>,
    /// Gateway.
    pub vpn_gateway_id: VpnGatewayId,
    /// `RouteDest`.
    pub route_dest: Ipv4Net,
    /// `NextHop`.
    pub next_hop: VpnConnectionId,
    /// `RouteType`: pbr or dbr.
    pub route_type: RouteType,
    /// `PublishVpc`: publish (true) or withdraw (false).
    pub publish_vpc: bool,
}

/// Result of configuring the public-IP pool at startup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolReport {
    /// Addresses added to the pool.
    pub added: Vec<Ipv4Addr>,
    /// Addresses dropped from the pool (they were free).
    pub removed: Vec<Ipv4Addr>,
    /// Addresses no longer configured but still held by a gateway (kept; warn the operator).
    pub still_allocated: Vec<(Ipv4Addr, VpnGatewayId)>,
}

/// A consistent snapshot of the desired state (for the engine's reconciler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredState {
    /// Gateways.
    pub gateways: Vec<crate::model::VpnGateway>,
    /// Customer gateways.
    pub customer_gateways: Vec<crate::model::CustomerGateway>,
    /// Connections (each with its two tunnels).
    pub connections: Vec<VpnConnection>,
    /// Destination routes of every gateway.
    pub routes: Vec<crate::model::VpnRouteEntry>,
    /// Policy routes of every gateway (user-made and generated).
    pub pbr_routes: Vec<crate::model::VpnPbrRouteEntry>,
    /// Changes not yet completed.
    pub pending: Vec<PendingOperation>,
}

/// `Some` secrets print as `<redacted>` so a logged request never shows a PSK or BGP key.
pub(crate) fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "<redacted>")
}

impl std::fmt::Debug for IkeConfigInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IkeConfigInput")
            .field("psk", &redacted(&self.psk))
            .field("ike_version", &self.ike_version)
            .field("ike_mode", &self.ike_mode)
            .field("ike_enc_alg", &self.ike_enc_alg)
            .field("ike_auth_alg", &self.ike_auth_alg)
            .field("ike_pfs", &self.ike_pfs)
            .field("ike_lifetime", &self.ike_lifetime)
            .field("local_id", &self.local_id)
            .field("remote_id", &self.remote_id)
            .finish()
    }
}

impl std::fmt::Debug for CreateCustomerGatewayRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateCustomerGatewayRequest")
            .field("client_token", &self.client_token)
            .field("ip_address", &self.ip_address)
            .field("asn", &self.asn)
            .field("auth_key", &redacted(&self.auth_key))
            .field("name", &self.name)
            .field("description", &self.description)
            .field("resource_group_id", &self.resource_group_id)
            .field("tags", &self.tags)
            .finish()
    }
}

impl std::fmt::Debug for ModifyCustomerGatewayAttributeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModifyCustomerGatewayAttributeRequest")
            .field("client_token", &self.client_token)
            .field("customer_gateway_id", &self.customer_gateway_id)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("auth_key", &redacted(&self.auth_key))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_reach_debug_output() {
        let ike = IkeConfigInput {
            psk: Some("Sup3r-Secret".into()),
            ..Default::default()
        };
        let s = format!("{ike:?}");
        assert!(!s.contains("Sup3r") && s.contains("<redacted>"), "{s}");
        let req = ModifyCustomerGatewayAttributeRequest {
            client_token: None,
            customer_gateway_id: "cgw-a".parse().unwrap(),
            name: None,
            description: None,
            auth_key: Some("bgp-md5-key".into()),
        };
        assert!(!format!("{req:?}").contains("bgp-md5"));
    }
}
