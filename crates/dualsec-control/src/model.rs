//! The desired-state resources (what the user asked) and the observed-state records (what the
//! tunnels do). Desired state is written only by the service layer after validation; observed
//! state only by the engine, through [`crate::store::Tx`].

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerGatewayId, RouteEntryId, TunnelId, VpnConnectionId, VpnGatewayId};
use crate::values::{
    Asn, AuthAlg, BgpStatus, ConnectionState, DhGroup, EncAlg, GatewayStatus, IkeIdentity, IkeMode,
    IkeVersion, IpsecPfs, Lifetime, NegotiationStatus, NetworkType, PbrPriority, Psk, RouteState,
    RouteWeight, Tag, TunnelCidr, TunnelRole, TunnelState,
};

/// An availability zone name of the gateway host's public-IP pool (e.g. `zone-a`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ZoneId(pub String);

impl std::fmt::Display for ZoneId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One address of the host's public-IP pool (`serve --public-ip zone=ip`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolAddress {
    /// Zone the address lives in (its uplink).
    pub zone: ZoneId,
    /// The address.
    pub ip: Ipv4Addr,
    /// The gateway holding it, if allocated.
    pub allocated_to: Option<VpnGatewayId>,
}

/// Tunnel position within a connection. The role follows from it and nothing else (R-HA-1, R-HA-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TunnelIndex {
    /// Tunnel 1: uses the gateway's IP 1, always master.
    One,
    /// Tunnel 2: uses the gateway's IP 2, always backup.
    Two,
}

impl TunnelIndex {
    /// Both indexes in order.
    pub const BOTH: [TunnelIndex; 2] = [TunnelIndex::One, TunnelIndex::Two];

    /// The fixed role (R-HA-2).
    pub fn role(self) -> TunnelRole {
        match self {
            TunnelIndex::One => TunnelRole::Master,
            TunnelIndex::Two => TunnelRole::Backup,
        }
    }

    /// 1 or 2 (the `N` of `TunnelOptionsSpecification.N`, `TunnelIndex` in responses).
    pub fn number(self) -> u8 {
        match self {
            TunnelIndex::One => 1,
            TunnelIndex::Two => 2,
        }
    }

    /// 0 or 1, for arrays.
    pub fn slot(self) -> usize {
        self.number() as usize - 1
    }
}

/// Zone redundancy of a gateway (R-HA-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Redundancy {
    /// IP 1 and IP 2 are in different zones: zone and link redundancy.
    ZoneAndLink,
    /// Both IPs in one zone (the pool has a single zone with two free addresses): link redundancy
    /// only; a zone failure takes both tunnels down.
    LinkOnly,
}

impl Redundancy {
    /// A sentence for status displays (R-HA-4, R-HA-5).
    pub fn note(self) -> &'static str {
        match self {
            Redundancy::ZoneAndLink => {
                "zone and link redundancy: tunnel 1 and tunnel 2 use public IPs in different zones"
            }
            Redundancy::LinkOnly => {
                "link redundancy only: both public IPs are in one zone, so a zone failure takes both tunnels down"
            }
        }
    }
}

/// A public IP of a gateway with its zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayAddress {
    /// The address.
    pub ip: Ipv4Addr,
    /// Its zone.
    pub zone: ZoneId,
}

/// A VPN gateway: two public IPs (IP 1 for every tunnel 1, IP 2 for every tunnel 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnGateway {
    /// `vpn-…`
    pub id: VpnGatewayId,
    /// Display name (defaults to the id).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// VPC the gateway serves (free-form here; recorded for API compatibility).
    pub vpc_id: String,
    /// vSwitch of IP 1 (recorded only).
    pub vswitch_id: Option<String>,
    /// vSwitch of IP 2 (recorded only).
    pub disaster_recovery_vswitch_id: Option<String>,
    /// Bandwidth spec, Mbit/s.
    pub bandwidth_mbps: u32,
    /// Public or private.
    pub network_type: NetworkType,
    /// IPsec-VPN enabled (always true in dualsec).
    pub enable_ipsec: bool,
    /// Route auto-propagation to the VPC system table.
    pub auto_propagate: bool,
    /// `active` when idle, `updating` while a connection change is pending.
    pub status: GatewayStatus,
    /// `[IP 1, IP 2]` (`InternetIp`, `DisasterRecoveryInternetIp`).
    pub addresses: [GatewayAddress; 2],
    /// Resource group (recorded only).
    pub resource_group_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Creation time, epoch milliseconds.
    pub create_time_ms: u64,
}

impl VpnGateway {
    /// Zone redundancy (R-HA-4).
    pub fn redundancy(&self) -> Redundancy {
        if self.addresses[0].zone == self.addresses[1].zone {
            Redundancy::LinkOnly
        } else {
            Redundancy::ZoneAndLink
        }
    }

    /// The public IP tunnel `index` uses (R-HA-1).
    pub fn address(&self, index: TunnelIndex) -> &GatewayAddress {
        &self.addresses[index.slot()]
    }
}

/// A customer gateway: the on-premises device.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGateway {
    /// `cgw-…`
    pub id: CustomerGatewayId,
    /// Display name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The device's static IP.
    pub ip_address: Ipv4Addr,
    /// The device's BGP ASN; needed for BGP (R-BGP-1).
    pub asn: Option<Asn>,
    /// BGP MD5 authentication key (RFC 2385).
    pub auth_key: Option<String>,
    /// Resource group (recorded only).
    pub resource_group_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Creation time, epoch milliseconds.
    pub create_time_ms: u64,
}

impl std::fmt::Debug for CustomerGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerGateway")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("ip_address", &self.ip_address)
            .field("asn", &self.asn)
            .field("auth_key", &crate::requests::redacted(&self.auth_key))
            .field("resource_group_id", &self.resource_group_id)
            .field("tags", &self.tags)
            .field("create_time_ms", &self.create_time_ms)
            .finish()
    }
}

/// Phase-1 settings of a tunnel (R-TUN-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IkeConfig {
    /// Pre-shared key (R-TUN-2).
    pub psk: Psk,
    /// `ikev1` | `ikev2`.
    pub version: IkeVersion,
    /// `main` | `aggressive` (IKEv1 only).
    pub mode: IkeMode,
    /// Encryption.
    pub enc_alg: EncAlg,
    /// Integrity (and PRF).
    pub auth_alg: AuthAlg,
    /// DH group.
    pub dh_group: DhGroup,
    /// IKE SA lifetime.
    pub lifetime: Lifetime,
    /// Our identity; `None` = the tunnel's public IP.
    pub local_id: Option<IkeIdentity>,
    /// The peer's identity; `None` = the customer gateway's IP.
    pub remote_id: Option<IkeIdentity>,
}

/// Phase-2 settings of a tunnel (R-TUN-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpsecConfig {
    /// Encryption.
    pub enc_alg: EncAlg,
    /// Integrity.
    pub auth_alg: AuthAlg,
    /// PFS group or disabled.
    pub pfs: IpsecPfs,
    /// CHILD/IPsec SA lifetime.
    pub lifetime: Lifetime,
}

/// BGP settings of a tunnel (R-BGP-2..4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelBgpConfig {
    /// Gateway-side ASN (same on both tunnels, R-BGP-2).
    pub local_asn: Asn,
    /// The /30 of the session (R-BGP-3).
    pub tunnel_cidr: TunnelCidr,
    /// Our address inside `tunnel_cidr` (R-BGP-4).
    pub local_bgp_ip: Ipv4Addr,
}

impl TunnelBgpConfig {
    /// The peer's address: the other usable address of the /30.
    pub fn peer_bgp_ip(&self) -> Ipv4Addr {
        let [a, b] = self.tunnel_cidr.hosts();
        if self.local_bgp_ip == a { b } else { a }
    }
}

/// One of the two tunnels of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// `tun-…`
    pub id: TunnelId,
    /// Position; fixes the role and the gateway IP (R-HA-1, R-HA-2).
    pub index: TunnelIndex,
    /// The peer device of this tunnel (R-TUN-1).
    pub customer_gateway_id: CustomerGatewayId,
    /// Phase 1.
    pub ike: IkeConfig,
    /// Phase 2.
    pub ipsec: IpsecConfig,
    /// Dead peer detection (R-TUN-5), default on.
    pub enable_dpd: bool,
    /// NAT traversal (R-TUN-6), default on.
    pub enable_nat_traversal: bool,
    /// BGP settings; used when the connection's `enable_tunnels_bgp` is on.
    pub bgp: Option<TunnelBgpConfig>,
    /// Configuration state.
    pub state: TunnelState,
}

impl Tunnel {
    /// The fixed role (R-HA-2).
    pub fn role(&self) -> TunnelRole {
        self.index.role()
    }

    /// The effective `LocalId`: configured, else the tunnel's public IP (R-TUN-3).
    pub fn effective_local_id(&self, gateway: &VpnGateway) -> IkeIdentity {
        self.ike
            .local_id
            .clone()
            .unwrap_or(IkeIdentity::Ip(gateway.address(self.index).ip))
    }

    /// The effective `RemoteId`: configured, else the customer gateway's IP (R-TUN-3).
    pub fn effective_remote_id(&self, cgw: &CustomerGateway) -> IkeIdentity {
        self.ike
            .remote_id
            .clone()
            .unwrap_or(IkeIdentity::Ip(cgw.ip_address))
    }
}

/// Routing mode (R-CONN-2), derived from the CIDRs like the provider does: both sides exactly
/// `0.0.0.0/0` ⇒ destination routing; anything else ⇒ interesting-traffic (protected data flows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoutingMode {
    /// Forward by destination; routes from BGP or static destination routes.
    Destination,
    /// Forward by source and destination; policy routes generated from local × remote CIDRs.
    InterestingTraffic,
}

/// An IPsec connection with exactly two tunnels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnConnection {
    /// `vco-…`
    pub id: VpnConnectionId,
    /// Bound gateway; never changes (R-CONN-4).
    pub gateway_id: VpnGatewayId,
    /// Display name (defaults to the id).
    pub name: String,
    /// VPC-side CIDRs.
    pub local_subnets: Vec<Ipv4Net>,
    /// IDC-side CIDRs.
    pub remote_subnets: Vec<Ipv4Net>,
    /// Negotiate at once (true) or on traffic (false) (R-CONN-3).
    pub effect_immediately: bool,
    /// Publish generated routes automatically.
    pub auto_config_route: bool,
    /// BGP on both tunnels (R-BGP-1, R-BGP-5).
    pub enable_tunnels_bgp: bool,
    /// Association state (`init`/`updating` while pending, then `active`).
    pub state: ConnectionState,
    /// `[tunnel 1 (master), tunnel 2 (backup)]`.
    pub tunnels: [Tunnel; 2],
    /// Resource group (recorded only).
    pub resource_group_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Creation time, epoch milliseconds.
    pub create_time_ms: u64,
}

impl VpnConnection {
    /// Derived routing mode (R-CONN-2).
    pub fn routing_mode(&self) -> RoutingMode {
        let any = Ipv4Net::default();
        if self.local_subnets == [any] && self.remote_subnets == [any] {
            RoutingMode::Destination
        } else {
            RoutingMode::InterestingTraffic
        }
    }

    /// The tunnel at `index`.
    pub fn tunnel(&self, index: TunnelIndex) -> &Tunnel {
        &self.tunnels[index.slot()]
    }

    /// The tunnel with id `id`.
    pub fn tunnel_by_id(&self, id: &TunnelId) -> Option<&Tunnel> {
        self.tunnels.iter().find(|t| &t.id == id)
    }
}

/// Where a policy route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteOrigin {
    /// Created by CreateVpnPbrRouteEntry / CreateVpnRouteEntry.
    User,
    /// Generated from a connection's local × remote CIDRs (R-CONN-2); follows the connection.
    Connection,
}

/// A destination-based route entry of a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnRouteEntry {
    /// Ours, `vre-…`.
    pub id: RouteEntryId,
    /// Owning gateway.
    pub gateway_id: VpnGatewayId,
    /// Destination CIDR.
    pub route_dest: Ipv4Net,
    /// Next hop: a connection of the gateway.
    pub next_hop: VpnConnectionId,
    /// 100 or 0 (ignored for dual-tunnel gateways, kept for compatibility).
    pub weight: RouteWeight,
    /// Published to the VPC table or not.
    pub state: RouteState,
    /// Free text.
    pub description: Option<String>,
    /// Creation time, epoch milliseconds.
    pub create_time_ms: u64,
}

/// A policy-based route entry of a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnPbrRouteEntry {
    /// Ours, `vre-…`.
    pub id: RouteEntryId,
    /// Owning gateway.
    pub gateway_id: VpnGatewayId,
    /// Source CIDR (VPC side).
    pub route_source: Ipv4Net,
    /// Destination CIDR (IDC side).
    pub route_dest: Ipv4Net,
    /// Next hop: a connection of the gateway.
    pub next_hop: VpnConnectionId,
    /// 100 or 0.
    pub weight: RouteWeight,
    /// 1..100, smaller wins.
    pub priority: PbrPriority,
    /// Published or not.
    pub state: RouteState,
    /// User-made or generated from a connection.
    pub origin: RouteOrigin,
    /// Free text.
    pub description: Option<String>,
    /// Creation time, epoch milliseconds.
    pub create_time_ms: u64,
}

/// Why a tunnel failed to negotiate (R-DIAG-1: the product tells which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NegotiationFailure {
    /// Authentication failed: the PSKs differ.
    PskMismatch,
    /// No proposal chosen: IKE/IPsec parameters differ (detail says which).
    ProposalMismatch {
        /// What did not match.
        detail: String,
    },
    /// No answer on UDP 500/4500: the peer is unreachable or the path blocks IKE.
    PeerUnreachable,
    /// Identities do not match.
    IdentityMismatch {
        /// What did not match.
        detail: String,
    },
    /// Anything else, as text.
    Other {
        /// Description.
        detail: String,
    },
}

/// Traffic counters of a tunnel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelCounters {
    /// Bytes received (inner).
    pub bytes_in: u64,
    /// Bytes sent (inner).
    pub bytes_out: u64,
    /// Packets received.
    pub packets_in: u64,
    /// Packets sent.
    pub packets_out: u64,
    /// Inbound ESP packets dropped on the tunnel's SAs (the SPI matched), by reason (issue 5).
    /// Like the other counters they never go backwards across rekeys. Absent in records written
    /// before issue 5 (read as zero).
    #[serde(default)]
    pub drops: TunnelDrops,
}

/// Inbound ESP drops of one tunnel by reason: what the data plane counts on each inbound SA
/// after the SPI lookup found it (RFC 4303 §3.4). Unknown-SPI drops cannot be tied to a tunnel;
/// they are in [`DataPlaneObserved`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TunnelDrops {
    /// Replayed, or older than the replay window (RFC 4303 §3.4.3).
    pub replay: u64,
    /// ICV or AEAD tag did not verify (RFC 4303 §3.4.4): bit errors, a wrong key, forgery.
    pub icv_failure: u64,
    /// Too short for the SA's transform, or not a whole number of cipher blocks.
    pub malformed: u64,
    /// Bad Pad Length or padding bytes after decryption (RFC 4303 §2.4).
    pub bad_padding: u64,
    /// Next Header not IPv4/IPv6, or the inner packet disagrees with it.
    pub bad_next_header: u64,
    /// Inner addresses outside the SA's traffic selectors (RFC 4301 §5.2).
    pub selector_mismatch: u64,
    /// Dummy packets (next header 59, RFC 4303 §2.6), dropped by design.
    pub dummy: u64,
    /// Arrived after the SA's hard lifetime.
    pub expired: u64,
}

impl TunnelDrops {
    /// All drops.
    pub fn total(&self) -> u64 {
        self.replay
            + self.icv_failure
            + self.malformed
            + self.bad_padding
            + self.bad_next_header
            + self.selector_mismatch
            + self.dummy
            + self.expired
    }
}

/// Counters of the node's data plane as a whole (issue 5): every packet it received, sent or
/// dropped, including drops that no tunnel can be blamed for (unknown SPI, datagrams too short for
/// ESP, TUN packets with no route). Written by the engine every few seconds, kept in memory by the
/// control service (they are the running process's counters and restart at zero with it). One
/// data plane serves every gateway of a `dualsec serve`, so each gateway shows the same block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataPlaneObserved {
    /// ESP packets received on UDP 4500 (before any check).
    pub esp_rx_packets: u64,
    /// ESP packets sent.
    pub esp_tx_packets: u64,
    /// Inner packets read from the VPC side (TUN).
    pub tun_rx_packets: u64,
    /// Inner packets delivered to the VPC side (TUN).
    pub tun_tx_packets: u64,
    /// IKE datagrams received.
    pub ike_rx: u64,
    /// NAT keepalives received (RFC 3948 §2.3).
    pub keepalive_rx: u64,
    /// Inbound ESP drops of every tunnel plus the ones tied to none, by reason.
    pub esp_drops: TunnelDrops,
    /// Inbound ESP with an SPI no SA has: stale SAs after a restart, spoofing, a peer bug.
    pub unknown_spi: u64,
    /// UDP/4500 datagrams too short for ESP or IKE (RFC 3948 §2), or too long for a buffer.
    pub udp_malformed: u64,
    /// VPC-side packets that were not IPv4/IPv6 or longer than the MTU.
    pub tun_not_ip: u64,
    /// VPC-side packets with no route to any connection.
    pub no_route: u64,
    /// VPC-side packets whose tunnel had no outbound SA (not negotiated yet).
    pub no_sa: u64,
    /// VPC-side packets the outbound SA refused (expired, too big).
    pub encap_failed: u64,
    /// UDP send errors.
    pub send_errors: u64,
    /// UDP receive errors.
    pub recv_errors: u64,
    /// Errors writing to the TUN.
    pub tun_write_errors: u64,
    /// When the engine last wrote this, epoch milliseconds (0: never).
    pub updated_ms: u64,
}

/// Observed state of one tunnel, written by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelObserved {
    /// The tunnel.
    pub tunnel_id: TunnelId,
    /// Its connection.
    pub connection_id: VpnConnectionId,
    /// Negotiation status; starts `ike_sa_not_established`.
    pub status: NegotiationStatus,
    /// The last negotiation failure, cleared on success.
    pub last_error: Option<NegotiationFailure>,
    /// True for the tunnel that carries the connection's traffic right now (R-HA-3).
    pub carries_traffic: bool,
    /// BGP session status when BGP is on.
    pub bgp_status: Option<BgpStatus>,
    /// Routes the tunnel's BGP session learned from the customer and accepted (issue 7), for
    /// `DescribeVpnRouteEntries` with `RouteEntryType=bgp`; empty unless the session is
    /// Established. Absent in records written before issue 7 (read as empty).
    #[serde(default)]
    pub bgp_routes: Vec<BgpLearnedRoute>,
    /// Counters.
    pub counters: TunnelCounters,
    /// When this record was last written, epoch milliseconds.
    pub updated_ms: u64,
}

impl TunnelObserved {
    /// The initial observed state of a new tunnel.
    pub fn initial(tunnel_id: TunnelId, connection_id: VpnConnectionId, now_ms: u64) -> Self {
        TunnelObserved {
            tunnel_id,
            connection_id,
            status: NegotiationStatus::IkeSaNotEstablished,
            last_error: None,
            carries_traffic: false,
            bgp_status: None,
            bgp_routes: Vec::new(),
            counters: TunnelCounters::default(),
            updated_ms: now_ms,
        }
    }
}

/// One route a tunnel's BGP session learned from the customer (issue 7): the prefix and the
/// attributes `DescribeVpnRouteEntries` shows. Written by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpLearnedRoute {
    /// The prefix (`RouteDest`).
    pub route_dest: Ipv4Net,
    /// The UPDATE's NEXT_HOP (normally the customer's BGP IP).
    pub next_hop_ip: Ipv4Addr,
    /// AS_PATH, nearest AS first (AS_SET members flattened).
    pub as_path: Vec<u32>,
    /// COMMUNITIES (RFC 1997) as 32-bit values.
    pub communities: Vec<u32>,
    /// MULTI_EXIT_DISC, when sent.
    pub med: Option<u32>,
    /// When the prefix was first learned in the current session, epoch milliseconds.
    pub learned_ms: u64,
}

impl BgpLearnedRoute {
    /// The provider's `AsPath` text: `[65001,64512]` (`[]` for an empty path).
    pub fn as_path_text(&self) -> String {
        let asns: Vec<String> = self.as_path.iter().map(u32::to_string).collect();
        format!("[{}]", asns.join(","))
    }

    /// The provider's `Community` text: `65535:65510`, comma-separated when several.
    pub fn community_text(&self) -> String {
        let c: Vec<String> = self
            .communities
            .iter()
            .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
            .collect();
        c.join(",")
    }
}

/// The redundancy a connection has right now, as its failover machine judges it from the tunnels'
/// health (R-HA-4, R-HA-5). Written by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectionRedundancy {
    /// Both tunnels healthy, from public IPs in different zones.
    DualZone,
    /// Both tunnels healthy, but both public IPs are in one zone: a zone failure takes both
    /// (R-HA-4).
    LinkRedundancyOnly,
    /// Only this tunnel is configured or up: no master/backup redundancy (R-HA-5).
    OnlyOneTunnel(TunnelIndex),
    /// No tunnel is healthy: traffic cannot flow.
    NoTunnelUp,
}

impl ConnectionRedundancy {
    /// The API value of `Redundancy`: `dual_zone`, `link_redundancy_only` or `none`.
    pub fn api_name(self) -> &'static str {
        match self {
            ConnectionRedundancy::DualZone => "dual_zone",
            ConnectionRedundancy::LinkRedundancyOnly => "link_redundancy_only",
            ConnectionRedundancy::OnlyOneTunnel(_) | ConnectionRedundancy::NoTunnelUp => "none",
        }
    }

    /// Why, in a sentence (`RedundancyReason`).
    pub fn reason(self) -> String {
        match self {
            ConnectionRedundancy::DualZone => {
                "both tunnels are up, from public IPs in different zones (R-HA-4)".to_owned()
            }
            ConnectionRedundancy::LinkRedundancyOnly => "both tunnels are up, but both public IPs are in one zone: a zone failure takes both down (R-HA-4)".to_owned(),
            ConnectionRedundancy::OnlyOneTunnel(t) => format!(
                "only tunnel {} is configured or up: no master/backup redundancy (R-HA-5)",
                t.number()
            ),
            ConnectionRedundancy::NoTunnelUp => "no tunnel is up: traffic cannot flow".to_owned(),
        }
    }
}

/// Failover (tunnel 1 → 2, or away from whichever tunnel failed) or failback (2 → 1 after the
/// hold-down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SwitchKind {
    /// The tunnel carrying traffic failed.
    Failover,
    /// The master was healthy for the whole hold-down.
    Failback,
}

impl SwitchKind {
    /// `failover` or `failback`.
    pub fn api_name(self) -> &'static str {
        match self {
            SwitchKind::Failover => "failover",
            SwitchKind::Failback => "failback",
        }
    }
}

/// One switch of a connection's outbound traffic between its tunnels (issue 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchRecord {
    /// When the decision was taken, epoch milliseconds.
    pub time_ms: u64,
    /// Failover or failback.
    pub kind: SwitchKind,
    /// The tunnel that carried traffic before.
    pub from: TunnelIndex,
    /// The tunnel that carries it now.
    pub to: TunnelIndex,
    /// Why, e.g. `tunnel 1: 3 probes lost in 604 ms`.
    pub reason: String,
    /// For a failover: time from the failed carrier's last good sign (probe answer, or the SA
    /// event itself) to the switch, in milliseconds. `None` for a failback (make before break).
    pub outage_ms: Option<u64>,
}

/// Failover state of a connection (issue 6), written by the engine and kept in the store: the
/// counters and the last switch survive a restart of `dualsec serve` (the new engine adds to
/// them); the redundancy is re-judged by the new engine as soon as it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionFailoverObserved {
    /// The connection.
    pub connection_id: VpnConnectionId,
    /// Redundancy now; `None` until the engine judged it.
    #[serde(default)]
    pub redundancy: Option<ConnectionRedundancy>,
    /// Failovers since the connection was created.
    #[serde(default)]
    pub failover_count: u64,
    /// Failbacks since the connection was created.
    #[serde(default)]
    pub failback_count: u64,
    /// Sum of every failover's `outage_ms`.
    #[serde(default)]
    pub total_outage_ms: u64,
    /// The last failover's `outage_ms`.
    #[serde(default)]
    pub last_outage_ms: Option<u64>,
    /// The latest switch.
    #[serde(default)]
    pub last_switch: Option<SwitchRecord>,
    /// When this record was last written, epoch milliseconds.
    #[serde(default)]
    pub updated_ms: u64,
}

impl ConnectionFailoverObserved {
    /// Nothing observed yet.
    pub fn initial(connection_id: VpnConnectionId) -> Self {
        ConnectionFailoverObserved {
            connection_id,
            redundancy: None,
            failover_count: 0,
            failback_count: 0,
            total_outage_ms: 0,
            last_outage_ms: None,
            last_switch: None,
            updated_ms: 0,
        }
    }

    /// Counts `s` and makes it the last switch.
    pub fn record(&mut self, s: SwitchRecord) {
        match s.kind {
            SwitchKind::Failover => {
                self.failover_count += 1;
                if let Some(o) = s.outage_ms {
                    self.total_outage_ms = self.total_outage_ms.saturating_add(o);
                    self.last_outage_ms = Some(o);
                }
            }
            SwitchKind::Failback => self.failback_count += 1,
        }
        self.last_switch = Some(s);
    }
}

/// One line of a connection's event log (DescribeVpnConnectionLogs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionEvent {
    /// Sequence number assigned by the store (0 when not stored yet).
    pub seq: u64,
    /// The connection.
    pub connection_id: VpnConnectionId,
    /// The tunnel, when the event is about one.
    pub tunnel_id: Option<TunnelId>,
    /// Epoch milliseconds.
    pub time_ms: u64,
    /// The line.
    pub message: String,
}

/// What a pending operation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperationKind {
    /// CreateVpnConnection.
    CreateConnection,
    /// ModifyVpnConnectionAttribute.
    ModifyConnection,
    /// ModifyTunnelAttribute.
    ModifyTunnel,
    /// DeleteVpnConnection.
    DeleteConnection,
}

/// An accepted change the gateway is still applying (api-reference §5.2). While one exists the
/// gateway is `updating` and further connection changes get `VpnGateway.Configuring`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// The gateway being configured (one pending operation per gateway at most).
    pub gateway_id: VpnGatewayId,
    /// The connection concerned.
    pub connection_id: VpnConnectionId,
    /// What is being applied.
    pub kind: OperationKind,
    /// When it was accepted, epoch milliseconds.
    pub accepted_ms: u64,
    /// Earliest completion time for the timer-driven completion mode, epoch milliseconds.
    pub due_ms: u64,
}

/// An API access key (for request signatures).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    /// `AccessKeyId`.
    pub id: String,
    /// `AccessKeySecret`.
    pub secret: String,
    /// Creation time, epoch milliseconds.
    pub create_time_ms: u64,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A remembered idempotent request (`ClientToken`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTokenRecord {
    /// The action name.
    pub action: String,
    /// The token.
    pub token: String,
    /// Canonical JSON of the request (to detect a reused token with other parameters).
    pub request: String,
    /// Canonical JSON of the result returned.
    pub result: String,
    /// When first seen, epoch milliseconds.
    pub create_time_ms: u64,
}
