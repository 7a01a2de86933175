//! Cross-field rules of SPEC.md that need more than one value: CIDR lists (R-CONN-2), roles
//! (R-HA-2), BGP (R-BGP-1..4), and the assembly of a tunnel from a request with its defaults
//! (R-TUN-2..6). Single-value rules live with their types in [`crate::values`].

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use crate::error::{ControlError, Result};
use crate::ids::{CustomerGatewayId, TunnelId};
use crate::model::{
    CustomerGateway, IkeConfig, IpsecConfig, Tunnel, TunnelBgpConfig, TunnelIndex, VpnConnection,
    VpnGateway,
};
use crate::requests::{TunnelBgpInput, TunnelOptionsInput};
use crate::values::{
    Asn, AuthAlg, DhGroup, EncAlg, IkeIdentity, IkeMode, IkeVersion, IpsecPfs, Lifetime, Psk,
    TunnelCidr, TunnelRole, TunnelState,
};

/// Most CIDR blocks accepted on one side of a connection. Generated policy routes are the product
/// of both sides, so this bounds them to 400 per connection.
pub const MAX_SUBNETS_PER_SIDE: usize = 20;

/// Defaults of a new tunnel (api-reference §8 item 10; R-TUN-3..6). The authentication algorithm
/// default is the provider **API**'s `md5`, not the console's `sha1` (see the crate doc).
pub mod defaults {
    use crate::values::{AuthAlg, DhGroup, EncAlg, IkeMode, IkeVersion, IpsecPfs, Lifetime};
    /// `IkeVersion`.
    pub const IKE_VERSION: IkeVersion = IkeVersion::V1;
    /// `IkeMode`.
    pub const IKE_MODE: IkeMode = IkeMode::Main;
    /// `IkeEncAlg` / `IpsecEncAlg`.
    pub const ENC_ALG: EncAlg = EncAlg::Aes;
    /// `IkeAuthAlg` / `IpsecAuthAlg` (API default; the console says sha1).
    pub const AUTH_ALG: AuthAlg = AuthAlg::Md5;
    /// `IkePfs`.
    pub const IKE_DH_GROUP: DhGroup = DhGroup::Group2;
    /// `IpsecPfs`.
    pub const IPSEC_PFS: IpsecPfs = IpsecPfs::Group2;
    /// `IkeLifetime` / `IpsecLifetime`.
    pub const LIFETIME: Lifetime = Lifetime::DEFAULT;
    /// `EnableDpd` (R-TUN-5).
    pub const ENABLE_DPD: bool = true;
    /// Dead-peer timeout: no valid DPD reply within it ⇒ the peer is down, its SAs are deleted
    /// and the tunnel renegotiates (R-TUN-5).
    pub const DPD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
    /// `EnableNatTraversal` (R-TUN-6).
    pub const ENABLE_NAT_TRAVERSAL: bool = true;
    /// `EffectImmediately` (R-CONN-3).
    pub const EFFECT_IMMEDIATELY: bool = false;
    /// `AutoConfigRoute`.
    pub const AUTO_CONFIG_ROUTE: bool = true;
    /// `EnableTunnelsBgp` (R-BGP-1).
    pub const ENABLE_TUNNELS_BGP: bool = false;
}

/// Validates one side's CIDR list (R-CONN-2): 1..=20 blocks, no host bits, no duplicates,
/// `0.0.0.0/0` only alone. `field` is `LocalSubnet` or `RemoteSubnet`.
pub fn check_subnets(field: &str, nets: &[Ipv4Net]) -> Result<()> {
    let bad = |m: String| ControlError::illegal(field, m);
    if nets.is_empty() {
        return Err(ControlError::missing(field));
    }
    if nets.len() > MAX_SUBNETS_PER_SIDE {
        return Err(bad(format!(
            "The specified \"{field}\" has {} CIDR blocks; at most {MAX_SUBNETS_PER_SIDE} are allowed.",
            nets.len()
        )));
    }
    for (i, n) in nets.iter().enumerate() {
        if n.trunc() != *n {
            return Err(bad(format!(
                "The specified \"{field}\" ({n}) is invalid: host bits are set. Did you mean {}?",
                n.trunc()
            )));
        }
        if nets[..i].contains(n) {
            return Err(bad(format!("The specified \"{field}\" lists {n} twice.")));
        }
        if n.prefix_len() == 0 && nets.len() > 1 {
            return Err(bad(format!(
                "The specified \"{field}\" mixes 0.0.0.0/0 with other CIDR blocks; 0.0.0.0/0 (destination routing) must stand alone."
            )));
        }
    }
    Ok(())
}

/// Validates both sides together: each side alone, no overlap between the sides (unless both are
/// `0.0.0.0/0`, destination routing).
pub fn check_subnet_pair(local: &[Ipv4Net], remote: &[Ipv4Net]) -> Result<()> {
    check_subnets("LocalSubnet", local)?;
    check_subnets("RemoteSubnet", remote)?;
    let any = Ipv4Net::default();
    if local == [any] && remote == [any] {
        return Ok(());
    }
    for l in local {
        for r in remote {
            if l.contains(r) || r.contains(l) {
                return Err(ControlError::illegal(
                    "RemoteSubnet",
                    format!(
                        "The specified \"RemoteSubnet\" block {r} overlaps the \"LocalSubnet\" block {l}; the VPC side and the IDC side must not overlap."
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Which request field a rule violation is blamed on when two fields conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The request changed the CIDR lists.
    Subnets,
    /// The request changed tunnel settings.
    Tunnels,
}

/// R-CONN-2: more than one CIDR block on a side requires IKEv2 on both tunnels.
pub fn check_multi_cidr_needs_ikev2(conn: &VpnConnection, blame: Blame) -> Result<()> {
    let many_local = conn.local_subnets.len() > 1;
    let many_remote = conn.remote_subnets.len() > 1;
    if !(many_local || many_remote) {
        return Ok(());
    }
    for t in &conn.tunnels {
        if t.ike.version == IkeVersion::V1 {
            let (side, count) = if many_local {
                ("LocalSubnet", conn.local_subnets.len())
            } else {
                ("RemoteSubnet", conn.remote_subnets.len())
            };
            let msg = format!(
                "\"{side}\" has {count} CIDR blocks, and several CIDR blocks need IkeVersion ikev2 on both tunnels, but tunnel {} uses ikev1 (R-CONN-2). Set TunnelIkeConfig.IkeVersion=ikev2 or give a single CIDR block.",
                t.index.number()
            );
            let code = match blame {
                Blame::Subnets => side,
                Blame::Tunnels => "IkeVersion",
            };
            return Err(ControlError::illegal(code, msg));
        }
    }
    Ok(())
}

/// R-HA-2: a `Role` given for position `index` must be that position's fixed role.
pub fn check_role(prefix: &str, index: TunnelIndex, role: Option<TunnelRole>) -> Result<()> {
    match role {
        Some(r) if r != index.role() => Err(ControlError::illegal(
            "Role",
            format!(
                "The specified \"{prefix}Role\" ({r}) is invalid: tunnel {} is always {} and tunnel {} always {}; the roles are fixed and cannot be swapped (R-HA-2).",
                index.number(),
                index.role(),
                3 - index.number(),
                if index == TunnelIndex::One {
                    TunnelRole::Backup
                } else {
                    TunnelRole::Master
                },
            ),
        )),
        _ => Ok(()),
    }
}

/// Builds tunnel `index` of a new connection from its request element, applying every default.
/// `generated_psk` is used when the request has no (or an empty) PSK (R-TUN-2).
pub fn new_tunnel(
    prefix: &str,
    index: TunnelIndex,
    id: TunnelId,
    input: &TunnelOptionsInput,
    generated_psk: Psk,
) -> Result<Tunnel> {
    check_role(prefix, index, input.role)?;
    let customer_gateway_id = input
        .customer_gateway_id
        .clone()
        .ok_or_else(|| ControlError::missing(format!("{prefix}CustomerGatewayId")))?;
    let mut t = Tunnel {
        id,
        index,
        customer_gateway_id,
        ike: IkeConfig {
            psk: generated_psk,
            version: defaults::IKE_VERSION,
            mode: defaults::IKE_MODE,
            enc_alg: defaults::ENC_ALG,
            auth_alg: defaults::AUTH_ALG,
            dh_group: defaults::IKE_DH_GROUP,
            lifetime: defaults::LIFETIME,
            local_id: None,
            remote_id: None,
        },
        ipsec: IpsecConfig {
            enc_alg: defaults::ENC_ALG,
            auth_alg: defaults::AUTH_ALG,
            pfs: defaults::IPSEC_PFS,
            lifetime: defaults::LIFETIME,
        },
        enable_dpd: defaults::ENABLE_DPD,
        enable_nat_traversal: defaults::ENABLE_NAT_TRAVERSAL,
        bgp: None,
        state: TunnelState::Active,
    };
    apply_tunnel_input(prefix, &mut t, input, true)?;
    Ok(t)
}

/// Applies the fields present in `input` to `t` (create: over the defaults; modify: over the
/// current values). `bgp_allowed` is false for ModifyTunnelAttribute on a connection whose BGP
/// is off (the provider only modifies an existing BGP configuration there).
pub fn apply_tunnel_input(
    prefix: &str,
    t: &mut Tunnel,
    input: &TunnelOptionsInput,
    bgp_allowed: bool,
) -> Result<()> {
    check_role(prefix, t.index, input.role)?;
    if let Some(c) = &input.customer_gateway_id {
        t.customer_gateway_id = c.clone();
    }
    if let Some(cert) = &input.remote_ca_certificate {
        if !cert.trim().is_empty() {
            return Err(ControlError::illegal(
                "RemoteCaCertificate",
                format!(
                    "The specified \"{prefix}RemoteCaCertificate\" is not supported: it is only for ShangMi (national-standard) gateways; dualsec tunnels authenticate with a pre-shared key."
                ),
            ));
        }
    }
    if let Some(v) = input.enable_dpd {
        t.enable_dpd = v;
    }
    if let Some(v) = input.enable_nat_traversal {
        t.enable_nat_traversal = v;
    }
    let ike = &input.ike;
    let ike_prefix = format!("{prefix}TunnelIkeConfig.");
    if let Some(p) = ike.psk.as_deref().filter(|p| !p.is_empty()) {
        t.ike.psk = Psk::new(&format!("{ike_prefix}Psk"), p)?;
    }
    set(&mut t.ike.version, ike.ike_version);
    set(&mut t.ike.mode, ike.ike_mode);
    set(&mut t.ike.enc_alg, ike.ike_enc_alg);
    set(&mut t.ike.auth_alg, ike.ike_auth_alg);
    set(&mut t.ike.dh_group, ike.ike_pfs);
    if let Some(l) = ike.ike_lifetime {
        t.ike.lifetime = Lifetime::new(&format!("{ike_prefix}IkeLifetime"), l)?;
    }
    if let Some(id) = &ike.local_id {
        t.ike.local_id = parse_identity(&format!("{ike_prefix}LocalId"), id)?;
    }
    if let Some(id) = &ike.remote_id {
        t.ike.remote_id = parse_identity(&format!("{ike_prefix}RemoteId"), id)?;
    }
    let ipsec = &input.ipsec;
    let ipsec_prefix = format!("{prefix}TunnelIpsecConfig.");
    set(&mut t.ipsec.enc_alg, ipsec.ipsec_enc_alg);
    set(&mut t.ipsec.auth_alg, ipsec.ipsec_auth_alg);
    set(&mut t.ipsec.pfs, ipsec.ipsec_pfs);
    if let Some(l) = ipsec.ipsec_lifetime {
        t.ipsec.lifetime = Lifetime::new(&format!("{ipsec_prefix}IpsecLifetime"), l)?;
    }
    if !input.bgp.is_empty() {
        if !bgp_allowed {
            return Err(ControlError::illegal(
                "TunnelBgpConfig",
                format!(
                    "\"{prefix}TunnelBgpConfig\" can only change an existing BGP configuration, and BGP is off on this connection. Turn it on first with ModifyVpnConnectionAttribute EnableTunnelsBgp=true (R-BGP-5)."
                ),
            ));
        }
        t.bgp = Some(merge_bgp(
            &format!("{prefix}TunnelBgpConfig."),
            t.bgp.as_ref(),
            &input.bgp,
        )?);
    }
    Ok(())
}

fn set<T: Copy>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// Empty means "back to the default" (`None`).
fn parse_identity(field: &str, s: &str) -> Result<Option<IkeIdentity>> {
    if s.is_empty() {
        Ok(None)
    } else {
        IkeIdentity::parse_as(field, s).map(Some)
    }
}

/// Merges a BGP input over the current config (or nothing): `TunnelCidr` and `LocalBgpIp` are
/// required when there is no current config; `LocalAsn` defaults to 45104 (R-BGP-2..4).
pub fn merge_bgp(
    prefix: &str,
    current: Option<&TunnelBgpConfig>,
    input: &TunnelBgpInput,
) -> Result<TunnelBgpConfig> {
    let local_asn = match &input.local_asn {
        Some(s) => Asn::parse_as(&format!("{prefix}LocalAsn"), s)?,
        None => current.map_or(Asn::DEFAULT_LOCAL, |c| c.local_asn),
    };
    let tunnel_cidr = match &input.tunnel_cidr {
        Some(s) => TunnelCidr::parse_as(&format!("{prefix}TunnelCidr"), s)?,
        None => current
            .map(|c| c.tunnel_cidr)
            .ok_or_else(|| ControlError::missing(format!("{prefix}TunnelCidr")))?,
    };
    let local_bgp_ip = match &input.local_bgp_ip {
        Some(s) => s.trim().parse().map_err(|_| {
            ControlError::illegal(
                "LocalBgpIp",
                format!("The specified \"{prefix}LocalBgpIp\" ({s:?}) is not an IPv4 address."),
            )
        })?,
        None => current
            .map(|c| c.local_bgp_ip)
            .ok_or_else(|| ControlError::missing(format!("{prefix}LocalBgpIp")))?,
    };
    let cfg = TunnelBgpConfig {
        local_asn,
        tunnel_cidr,
        local_bgp_ip,
    };
    check_local_bgp_ip(prefix, &cfg)?;
    Ok(cfg)
}

/// R-BGP-4: the local BGP address is one of the two usable addresses of the tunnel CIDR.
pub fn check_local_bgp_ip(prefix: &str, cfg: &TunnelBgpConfig) -> Result<()> {
    let hosts = cfg.tunnel_cidr.hosts();
    if hosts.contains(&cfg.local_bgp_ip) {
        return Ok(());
    }
    let why = if cfg.tunnel_cidr.net().contains(&cfg.local_bgp_ip) {
        "is the network or broadcast address of"
    } else {
        "is not inside"
    };
    Err(ControlError::illegal(
        "LocalBgpIp",
        format!(
            "The specified \"{prefix}LocalBgpIp\" ({}) {why} TunnelCidr {}. Allowed: {} or {} (R-BGP-4).",
            cfg.local_bgp_ip, cfg.tunnel_cidr, hosts[0], hosts[1]
        ),
    ))
}

/// The rules that need the gateway, the customer gateways and the gateway's other connections:
/// R-CONN-2 (CIDRs, IKEv2), R-BGP-1 (ASN needed), R-BGP-2 (same local ASN), R-BGP-3 (tunnel CIDR
/// unique per gateway), R-TUN-1 (customer gateways exist; checked by the caller's lookup).
pub fn check_connection(
    conn: &VpnConnection,
    cgws: &BTreeMap<CustomerGatewayId, CustomerGateway>,
    other_connections: &[VpnConnection],
    blame: Blame,
) -> Result<()> {
    check_subnet_pair(&conn.local_subnets, &conn.remote_subnets)?;
    check_multi_cidr_needs_ikev2(conn, blame)?;
    let prefix = |t: &Tunnel| format!("TunnelOptionsSpecification.{}.", t.index.number());
    for t in &conn.tunnels {
        if let Some(b) = &t.bgp {
            check_local_bgp_ip(&format!("{}TunnelBgpConfig.", prefix(t)), b)?;
        }
        if conn.enable_tunnels_bgp {
            if t.bgp.is_none() {
                return Err(ControlError::missing(format!(
                    "{}TunnelBgpConfig.TunnelCidr",
                    prefix(t)
                )));
            }
            let cgw = cgws.get(&t.customer_gateway_id).ok_or_else(|| {
                ControlError::not_found(
                    crate::error::ResourceKind::CustomerGateway,
                    t.customer_gateway_id.as_str(),
                )
            })?;
            if cgw.asn.is_none() {
                return Err(ControlError::illegal(
                    "EnableTunnelsBgp",
                    format!(
                        "BGP cannot be enabled: the customer gateway {} of tunnel {} has no ASN (R-BGP-1). A customer gateway's ASN cannot be added later: delete this connection and create it again with a customer gateway that has an ASN.",
                        cgw.id,
                        t.index.number()
                    ),
                ));
            }
        }
    }
    let [a, b] = &conn.tunnels;
    {
        if let (Some(x), Some(y)) = (&a.bgp, &b.bgp) {
            if x.local_asn != y.local_asn {
                return Err(ControlError::illegal(
                    "LocalAsn",
                    format!(
                        "Both tunnels must use the same LocalAsn (R-BGP-2), but tunnel 1 has {} and tunnel 2 has {}.",
                        x.local_asn, y.local_asn
                    ),
                ));
            }
            if x.tunnel_cidr == y.tunnel_cidr {
                return Err(ControlError::illegal(
                    "TunnelCidr",
                    format!(
                        "Tunnel 1 and tunnel 2 both use TunnelCidr {}; each tunnel of a VPN gateway needs its own /30 (R-BGP-3).",
                        x.tunnel_cidr
                    ),
                ));
            }
        }
    }
    // One IKE peer pair per tunnel position: tunnel N always uses gateway IP N, so two
    // connections whose tunnel N names the same customer gateway would be the same IP pair,
    // which the engine could not tell apart before authentication.
    for other in other_connections.iter().filter(|o| o.id != conn.id) {
        for t in &conn.tunnels {
            if other.tunnel(t.index).customer_gateway_id == t.customer_gateway_id {
                return Err(ControlError::AlreadyExists {
                    code: "InvalidVpnConnection.AlreadyExists",
                    message: format!(
                        "Vpn connection already exists: IPsec connection {} on this VPN gateway already has its tunnel {} to customer gateway {}; a tunnel position can reach a customer gateway through one connection only. Modify {} instead, or use another customer gateway.",
                        other.id,
                        t.index.number(),
                        t.customer_gateway_id,
                        other.id
                    ),
                });
            }
        }
    }
    for t in &conn.tunnels {
        let Some(b) = &t.bgp else { continue };
        for other in other_connections.iter().filter(|o| o.id != conn.id) {
            for ot in &other.tunnels {
                if ot.bgp.as_ref().map(|x| x.tunnel_cidr) == Some(b.tunnel_cidr) {
                    return Err(ControlError::illegal(
                        "TunnelCidr",
                        format!(
                            "The specified \"{}TunnelBgpConfig.TunnelCidr\" ({}) is already used by tunnel {} of IPsec connection {} on this VPN gateway; tunnel CIDRs must be unique per VPN gateway (R-BGP-3).",
                            prefix(t),
                            b.tunnel_cidr,
                            ot.id,
                            other.id
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Advice for the user that is not an error (R-HA-4, R-TUN-3 FQDN identities, iBGP).
pub fn notes(
    conn: &VpnConnection,
    gateway: &VpnGateway,
    cgws: &BTreeMap<CustomerGatewayId, CustomerGateway>,
) -> Vec<String> {
    let mut out = Vec::new();
    if gateway.redundancy() == crate::model::Redundancy::LinkOnly {
        out.push(format!(
            "VPN gateway {}: {} (R-HA-4).",
            gateway.id,
            gateway.redundancy().note()
        ));
    }
    for t in &conn.tunnels {
        let fqdn = t.ike.local_id.as_ref().is_some_and(IkeIdentity::is_fqdn)
            || t.ike.remote_id.as_ref().is_some_and(IkeIdentity::is_fqdn);
        if fqdn && t.ike.version == IkeVersion::V1 && t.ike.mode == IkeMode::Main {
            out.push(format!(
                "Tunnel {}: an FQDN LocalId/RemoteId is set with IKEv1 main mode; aggressive mode is recommended, and the peer's IDs must mirror these (R-TUN-3).",
                t.index.number()
            ));
        }
        if conn.enable_tunnels_bgp {
            if let (Some(b), Some(peer)) =
                (&t.bgp, cgws.get(&t.customer_gateway_id).and_then(|c| c.asn))
            {
                if b.local_asn == peer {
                    out.push(format!(
                        "Tunnel {}: LocalAsn equals the customer gateway's ASN {peer}, which makes the session internal BGP; a different (private) ASN on the peer is recommended (R-BGP-2).",
                        t.index.number()
                    ));
                }
            }
        }
    }
    for t in &conn.tunnels {
        let mut weak = Vec::new();
        if t.ike.auth_alg == AuthAlg::Md5 || t.ipsec.auth_alg == AuthAlg::Md5 {
            weak.push("md5");
        }
        if t.ike.enc_alg == EncAlg::Des || t.ipsec.enc_alg == EncAlg::Des {
            weak.push("des");
        }
        if t.ike.dh_group == DhGroup::Group1 || t.ipsec.pfs == IpsecPfs::Group1 {
            weak.push("group1");
        }
        if !weak.is_empty() {
            out.push(format!(
                "Tunnel {} uses {}, allowed for old devices (md5 is the provider API's default); sha256, aes256 and group14 are recommended when the peer supports them.",
                t.index.number(),
                weak.join(", ")
            ));
        }
    }
    out
}
