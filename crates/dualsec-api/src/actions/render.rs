//! Model → provider JSON, with the exact nesting and JSON types of the SDK models (api-reference §3,
//! §6, §8 item 7): `Tags.Tag[]` (but `Tag.Tag[]` in DescribeVpnConnections), strings for the
//! Describe* tunnel fields (`EnableDpd`, `IkeLifetime`, `LocalAsn` …), numbers and booleans in the
//! Modify* responses, `CreateTime` in epoch milliseconds.

use dualsec_control::model::{
    CustomerGateway, DataPlaneObserved, TunnelCounters, TunnelDrops, VpnPbrRouteEntry,
    VpnRouteEntry,
};
use dualsec_control::requests::{
    BgpRouteEntry, Page, TunnelView, VpnConnectionView, VpnGatewayView,
};
use dualsec_control::values::{Tag, join_subnets};
use serde_json::{Map, Value, json};

/// `{"Tag":[{"Key","Value"}]}` — wrapped in `Tags` or `Tag` by the caller.
pub fn tag_list(tags: &[Tag]) -> Value {
    json!({"Tag": tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect::<Vec<_>>()})
}

/// Paging fields of a list response.
pub fn page_fields<T>(p: &Page<T>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("TotalCount".into(), json!(p.total_count));
    m.insert("PageNumber".into(), json!(p.page_number));
    m.insert("PageSize".into(), json!(p.page_size));
    m
}

/// A gateway as DescribeVpnGateway(s) shows it.
pub fn gateway(v: &VpnGatewayView) -> Value {
    let g = &v.gateway;
    let spec = g.bandwidth_mbps.to_string();
    let mut out = json!({
        "VpnGatewayId": g.id.to_string(),
        "Name": g.name,
        "Description": g.description.clone().unwrap_or_default(),
        "VpcId": g.vpc_id,
        "VSwitchId": g.vswitch_id.clone().unwrap_or_default(),
        "DisasterRecoveryVSwitchId": g.disaster_recovery_vswitch_id.clone().unwrap_or_default(),
        "InternetIp": g.addresses[0].ip.to_string(),
        "DisasterRecoveryInternetIp": g.addresses[1].ip.to_string(),
        "SslVpnInternetIp": "",
        "Status": g.status.as_str(),
        "BusinessStatus": "Normal",
        "ChargeType": "POSTPAY",
        "CreateTime": g.create_time_ms,
        "EndTime": 0,
        "Spec": spec,
        "NetworkType": g.network_type.as_str(),
        "IpsecVpn": if g.enable_ipsec { "enable" } else { "disable" },
        "SslVpn": "disable",
        "SslMaxConnections": 0,
        "EnableBgp": v.bgp_in_use,
        "AutoPropagate": g.auto_propagate,
        "GatewayType": "Enhanced.SiteToSite",
        "VpnType": "Normal",
        "ResourceGroupId": g.resource_group_id.clone().unwrap_or_default(),
        "Tag": "",
        "Tags": tag_list(&g.tags),
        "EniInstanceIds": {"EniInstanceId": []},
        // dualsec extension (ignored by SDKs): zones of IP 1/IP 2 and the redundancy note (R-HA-4).
        "ZoneRedundancy": v.redundancy.note(),
        "InternetIpZone": g.addresses[0].zone.to_string(),
        "DisasterRecoveryInternetIpZone": g.addresses[1].zone.to_string(),
    });
    if let Some(dp) = &v.data_plane {
        out["DataPlane"] = data_plane(dp);
    }
    out
}

/// ESP drops by reason (dualsec extension, issue 5), numbers.
fn drops(d: &TunnelDrops) -> Value {
    json!({
        "Replay": d.replay,
        "IcvFailure": d.icv_failure,
        "Malformed": d.malformed,
        "BadPadding": d.bad_padding,
        "BadNextHeader": d.bad_next_header,
        "SelectorMismatch": d.selector_mismatch,
        "Dummy": d.dummy,
        "Expired": d.expired,
        "Total": d.total(),
    })
}

/// A tunnel's `Counters` block (dualsec extension, issue 5): inner bytes/packets and the inbound
/// ESP drops on its SAs by reason, totals since the tunnel was created.
fn tunnel_counters(c: &TunnelCounters) -> Value {
    json!({
        "BytesIn": c.bytes_in,
        "BytesOut": c.bytes_out,
        "PacketsIn": c.packets_in,
        "PacketsOut": c.packets_out,
        "Drops": drops(&c.drops),
    })
}

/// The gateway's `DataPlane` block (dualsec extension, issue 5): the counters of the data plane
/// serving it, including drops no tunnel can be blamed for; since `dualsec serve` started.
fn data_plane(d: &DataPlaneObserved) -> Value {
    json!({
        "EspRxPackets": d.esp_rx_packets,
        "EspTxPackets": d.esp_tx_packets,
        "TunRxPackets": d.tun_rx_packets,
        "TunTxPackets": d.tun_tx_packets,
        "IkeRxPackets": d.ike_rx,
        "KeepaliveRxPackets": d.keepalive_rx,
        "EspDrops": drops(&d.esp_drops),
        "UnknownSpi": d.unknown_spi,
        "UdpMalformed": d.udp_malformed,
        "TunNotIp": d.tun_not_ip,
        "NoRoute": d.no_route,
        "NoSa": d.no_sa,
        "EncapFailed": d.encap_failed,
        "SendErrors": d.send_errors,
        "RecvErrors": d.recv_errors,
        "TunWriteErrors": d.tun_write_errors,
        "UpdateTime": iso8601(d.updated_ms),
    })
}

/// A customer gateway (DescribeCustomerGateway(s)); `Asn` is an integer, absent when unset.
pub fn customer_gateway(c: &CustomerGateway) -> Value {
    let mut v = json!({
        "CustomerGatewayId": c.id.to_string(),
        "Name": c.name.clone().unwrap_or_default(),
        "Description": c.description.clone().unwrap_or_default(),
        "IpAddress": c.ip_address.to_string(),
        "AuthKey": c.auth_key.clone().unwrap_or_default(),
        "CreateTime": c.create_time_ms,
        "ResourceGroupId": c.resource_group_id.clone().unwrap_or_default(),
        "Tags": tag_list(&c.tags),
    });
    if let Some(asn) = c.asn {
        v["Asn"] = json!(asn.get());
    }
    v
}

/// JSON types differ between Describe* (strings) and Modify* (numbers/booleans) tunnel models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// DescribeVpnConnection(s): `EnableDpd`, `IkeLifetime`, `LocalAsn` … are strings.
    Describe,
    /// ModifyVpnConnectionAttribute / ModifyTunnelAttribute: numbers and booleans.
    Modify,
}

fn b(t: Typing, v: bool) -> Value {
    match t {
        Typing::Describe => Value::String(v.to_string()),
        Typing::Modify => Value::Bool(v),
    }
}

fn n(t: Typing, v: u64) -> Value {
    match t {
        Typing::Describe => Value::String(v.to_string()),
        Typing::Modify => json!(v),
    }
}

/// One tunnel's `TunnelOptions` element (also the body of ModifyTunnelAttribute's response).
pub fn tunnel(v: &TunnelView, enable_bgp: bool, t: Typing) -> Value {
    let tun = &v.tunnel;
    let mut bgp = Map::new();
    if let Some(cfg) = &tun.bgp {
        bgp.insert("LocalAsn".into(), n(t, u64::from(cfg.local_asn.get())));
        bgp.insert("TunnelCidr".into(), json!(cfg.tunnel_cidr.to_string()));
        bgp.insert("LocalBgpIp".into(), json!(cfg.local_bgp_ip.to_string()));
        if let Some(ip) = v.peer_bgp_ip {
            bgp.insert("PeerBgpIp".into(), json!(ip.to_string()));
        }
        if let Some(asn) = v.peer_asn {
            bgp.insert("PeerAsn".into(), n(t, u64::from(asn)));
        }
    }
    match t {
        Typing::Describe => {
            let status = v.observed.bgp_status.map(|s| s.as_str()).unwrap_or("false");
            bgp.insert(
                "BgpStatus".into(),
                json!(if enable_bgp { status } else { "false" }),
            );
        }
        Typing::Modify => {
            bgp.insert("EnableBgp".into(), json!(enable_bgp));
        }
    }
    let mut out = json!({
        "TunnelId": tun.id.to_string(),
        "TunnelIndex": tun.index.number(),
        "Role": v.role.as_str(),
        "CustomerGatewayId": tun.customer_gateway_id.to_string(),
        "InternetIp": v.internet_ip.to_string(),
        "ZoneNo": v.zone.to_string(),
        "State": tun.state.as_str(),
        "Status": v.observed.status.as_str(),
        // dualsec extensions (ignored by the provider's SDK models): which tunnel carries the
        // connection's traffic now (R-HA-3) and why the last negotiation failed (R-DIAG-1).
        "CarriesTraffic": v.observed.carries_traffic,
        "LastNegotiationError": v.observed.last_error.as_ref().map(failure_text).unwrap_or_default(),
        "EnableDpd": b(t, tun.enable_dpd),
        "EnableNatTraversal": b(t, tun.enable_nat_traversal),
        "RemoteCaCertificate": "",
        "TunnelIkeConfig": {
            "Psk": tun.ike.psk.expose(),
            "IkeVersion": tun.ike.version.as_str(),
            "IkeMode": tun.ike.mode.as_str(),
            "IkeEncAlg": tun.ike.enc_alg.as_str(),
            "IkeAuthAlg": tun.ike.auth_alg.as_str(),
            "IkePfs": tun.ike.dh_group.as_str(),
            "IkeLifetime": n(t, u64::from(tun.ike.lifetime.secs())),
            "LocalId": v.local_id.to_string(),
            "RemoteId": v.remote_id.to_string(),
        },
        "TunnelIpsecConfig": {
            "IpsecEncAlg": tun.ipsec.enc_alg.as_str(),
            "IpsecAuthAlg": tun.ipsec.auth_alg.as_str(),
            "IpsecPfs": tun.ipsec.pfs.as_str(),
            "IpsecLifetime": n(t, u64::from(tun.ipsec.lifetime.secs())),
        },
        "TunnelBgpConfig": Value::Object(bgp),
    });
    if t == Typing::Describe {
        // dualsec extension (issue 5): traffic and ESP drops by reason, live.
        out["Counters"] = tunnel_counters(&v.observed.counters);
    }
    out
}

/// DescribeVpnConnectionLogs: `Data.Logs[]` are strings (api-reference §6.3); each line carries
/// its UTC time and, when it is about one tunnel, the tunnel id.
pub fn connection_logs(l: &dualsec_control::requests::ConnectionLogs) -> Value {
    let lines: Vec<String> = l
        .page
        .items
        .iter()
        .map(|e| {
            let t = e.time_ms;
            let stamp = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1_000_000)
                .ok()
                .and_then(|d| {
                    d.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| t.to_string());
            match &e.tunnel_id {
                Some(tid) => format!("{stamp} {tid} {}", e.message),
                None => format!("{stamp} {}", e.message),
            }
        })
        .collect();
    json!({
        "Count": lines.len(),
        "Data": {"Logs": lines},
        "IsCompleted": l.is_completed,
        "PageNumber": l.page.page_number,
        "PageSize": l.page.page_size,
    })
}

/// The operator's sentence for a negotiation failure (R-DIAG-1: PSK, parameters, or network).
fn failure_text(f: &dualsec_control::model::NegotiationFailure) -> String {
    use dualsec_control::model::NegotiationFailure as F;
    match f {
        F::PskMismatch => {
            "phase 1 negotiation failed: the pre-shared keys differ (check the PSK on both sides, case and special characters included)".into()
        }
        F::ProposalMismatch { detail } => {
            format!("negotiation failed: IKE/IPsec parameters differ: {detail}")
        }
        F::PeerUnreachable => {
            "phase 1 negotiation failed: no answer from the peer: UDP 500/4500 is blocked or the customer gateway's public IP is unreachable".into()
        }
        F::IdentityMismatch { detail } | F::Other { detail } => detail.clone(),
    }
}

/// Epoch milliseconds as ISO 8601 / RFC 3339 UTC (`2026-11-26T17:06:32.123Z`).
fn iso8601(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// The connection's `Failover` block (dualsec extension, issue 6): redundancy now and why
/// (R-HA-4, R-HA-5), the tunnel carrying traffic (R-HA-3), switch counters, the last switch, and
/// outage times (a failover's outage: from the failed tunnel's last good probe answer, or its SA
/// event, to the switch). Empty strings and 0 before the first switch.
fn failover(v: &VpnConnectionView) -> Value {
    let f = &v.failover;
    let o = &f.observed;
    let carrying = f.carrying.map(|i| &v.tunnels[i.slot()]);
    let last = o.last_switch.as_ref();
    json!({
        "Redundancy": f.redundancy.api_name(),
        "RedundancyReason": f.redundancy.reason(),
        "CarryingTunnelId": carrying.map(|t| t.tunnel.id.to_string()).unwrap_or_default(),
        "CarryingTunnelIndex": carrying.map_or(0, |t| t.tunnel.index.number()),
        "FailoverCount": o.failover_count,
        "FailbackCount": o.failback_count,
        "LastSwitchTime": last.map(|s| iso8601(s.time_ms)).unwrap_or_default(),
        "LastSwitchType": last.map(|s| s.kind.api_name()).unwrap_or_default(),
        "LastSwitchReason": last.map(|s| s.reason.clone()).unwrap_or_default(),
        "LastOutageMs": o.last_outage_ms.unwrap_or(0),
        "TotalOutageMs": o.total_outage_ms,
    })
}

/// A connection as DescribeVpnConnection shows it. `tag_wrapper` is `Tags` (single describe) or
/// `Tag` (inside DescribeVpnConnections, api-reference §3).
pub fn connection(v: &VpnConnectionView, tag_wrapper: &str, t: Typing) -> Value {
    let c = &v.connection;
    let master = &v.tunnels[0];
    let mut out = json!({
        "VpnConnectionId": c.id.to_string(),
        "VpnGatewayId": c.gateway_id.to_string(),
        "Name": c.name,
        "LocalSubnet": join_subnets(&c.local_subnets),
        "RemoteSubnet": join_subnets(&c.remote_subnets),
        "CreateTime": c.create_time_ms,
        "EffectImmediately": c.effect_immediately,
        "AutoConfigRoute": c.auto_config_route,
        "EnableTunnelsBgp": c.enable_tunnels_bgp,
        "State": c.state.as_str(),
        "Status": v.status.as_str(),
        "AttachType": "VPNGW",
        "NetworkType": "public",
        "CrossAccountAuthorized": false,
        "ResourceGroupId": c.resource_group_id.clone().unwrap_or_default(),
        // Dual-tunnel connections keep connection-level single-tunnel fields empty except these
        // mirrors of tunnel 1, which older tooling reads.
        "CustomerGatewayId": master.tunnel.customer_gateway_id.to_string(),
        "InternetIp": master.internet_ip.to_string(),
        "ZoneNo": master.zone.to_string(),
        "EnableDpd": master.tunnel.enable_dpd,
        "EnableNatTraversal": master.tunnel.enable_nat_traversal,
        "TunnelOptionsSpecification": {
            "TunnelOptions": v.tunnels.iter().map(|x| tunnel(x, c.enable_tunnels_bgp, t)).collect::<Vec<_>>(),
        },
        "VpnBgpConfig": {"EnableBgp": c.enable_tunnels_bgp.to_string()},
        // dualsec extension: advice such as link-only redundancy (R-HA-4/R-HA-5).
        "Notes": v.notes,
        // dualsec extension: failover state (issue 6, R-HA-3..5).
        "Failover": failover(v),
    });
    out[tag_wrapper] = tag_list(&c.tags);
    out
}

/// A destination-based route entry.
pub fn route(r: &VpnRouteEntry) -> Value {
    json!({
        "VpnInstanceId": r.gateway_id.to_string(),
        "RouteDest": r.route_dest.to_string(),
        "NextHop": r.next_hop.to_string(),
        "Weight": r.weight.get(),
        "State": r.state.as_str(),
        "Description": r.description.clone().unwrap_or_default(),
        "OverlayMode": "Ipsec",
        "CreateTime": r.create_time_ms,
        "RouteEntryType": "custom",
        "Source": "",
        "AsPath": "",
        "Community": "",
        "NextHopTunnelId": "",
    })
}

/// `Source` of a route learned from the customer's side through BGP (the provider's
/// DescribeVcoRouteEntries value; api-reference §5.3).
pub const BGP_SOURCE_IDC: &str = "VPN_BGP";

/// A BGP-learned route entry (issue 7): learned by the session of tunnel `NextHopTunnelId` of
/// connection `NextHop`. `AsPath` and `Community` in the provider's text form (`[65001,64512]`,
/// `65001:42`). `State` is `normal` (learned routes are not published to the VPC table here),
/// `Weight` 0, `CreateTime` when the prefix was first learned in the current session; `Med` is a
/// dualsec extension (absent when the UPDATE had no MULTI_EXIT_DISC).
pub fn bgp_route(e: &BgpRouteEntry) -> Value {
    let mut v = json!({
        "VpnInstanceId": e.gateway_id.to_string(),
        "RouteDest": e.route.route_dest.to_string(),
        "NextHop": e.connection_id.to_string(),
        "NextHopTunnelId": e.tunnel_id.to_string(),
        "Weight": 0,
        "State": "normal",
        "Description": "",
        "OverlayMode": "Ipsec",
        "CreateTime": e.route.learned_ms,
        "RouteEntryType": "bgp",
        "Source": BGP_SOURCE_IDC,
        "AsPath": e.route.as_path_text(),
        "Community": e.route.community_text(),
    });
    if let Some(med) = e.route.med {
        v["Med"] = json!(med);
    }
    v
}

/// A policy-based route entry.
pub fn pbr_route(r: &VpnPbrRouteEntry) -> Value {
    json!({
        "VpnInstanceId": r.gateway_id.to_string(),
        "RouteSource": r.route_source.to_string(),
        "RouteDest": r.route_dest.to_string(),
        "NextHop": r.next_hop.to_string(),
        "Weight": r.weight.get(),
        "Priority": r.priority.get(),
        "State": r.state.as_str(),
        "Description": r.description.clone().unwrap_or_default(),
        "OverlayMode": "Ipsec",
        "CreateTime": r.create_time_ms,
        "NextHopTunnelId": "",
    })
}

/// DownloadVpnConnectionConfig's `VpnConnectionConfig`: the customer device's view, mirrored
/// (api-reference §5.5): Local = customer gateway, Remote = our public IP, subnets swapped, IKE
/// ids swapped, BGP local/peer swapped. Top-level `Local`/`Remote`/`IkeConfig`/`IpsecConfig` are
/// tunnel 1's (the master), as in single-tunnel mode.
pub fn peer_config(v: &VpnConnectionView) -> Value {
    let c = &v.connection;
    let ike = |x: &TunnelView| {
        json!({
            "Psk": x.tunnel.ike.psk.expose(),
            "IkeVersion": x.tunnel.ike.version.as_str(),
            "IkeMode": x.tunnel.ike.mode.as_str(),
            "IkeEncAlg": x.tunnel.ike.enc_alg.as_str(),
            "IkeAuthAlg": x.tunnel.ike.auth_alg.as_str(),
            "IkePfs": x.tunnel.ike.dh_group.as_str(),
            "IkeLifetime": x.tunnel.ike.lifetime.secs(),
            "LocalId": x.remote_id.to_string(),
            "RemoteId": x.local_id.to_string(),
        })
    };
    let ipsec = |x: &TunnelView| {
        json!({
            "IpsecEncAlg": x.tunnel.ipsec.enc_alg.as_str(),
            "IpsecAuthAlg": x.tunnel.ipsec.auth_alg.as_str(),
            "IpsecPfs": x.tunnel.ipsec.pfs.as_str(),
            "IpsecLifetime": x.tunnel.ipsec.lifetime.secs(),
        })
    };
    let tunnels: Vec<Value> = v
        .tunnels
        .iter()
        .map(|x| {
            json!({
                "TunnelId": x.tunnel.id.to_string(),
                "Role": x.role.as_str(),
                "Local": x.customer_gateway_ip.to_string(),
                "Remote": x.internet_ip.to_string(),
                "IkeConfig": ike(x),
                "IpsecConfig": ipsec(x),
            })
        })
        .collect();
    let bgp: Vec<Value> = if c.enable_tunnels_bgp {
        v.tunnels
            .iter()
            .filter_map(|x| {
                let cfg = x.tunnel.bgp.as_ref()?;
                Some(json!({
                    "TunnelId": x.tunnel.id.to_string(),
                    "TunnelCidr": cfg.tunnel_cidr.to_string(),
                    "LocalAsn": x.peer_asn.map(|a| a.to_string()).unwrap_or_default(),
                    "LocalBgpIp": x.peer_bgp_ip.map(|a| a.to_string()).unwrap_or_default(),
                    "PeerAsn": cfg.local_asn.get().to_string(),
                    "PeerBgpIp": cfg.local_bgp_ip.to_string(),
                }))
            })
            .collect()
    } else {
        Vec::new()
    };
    let master = &v.tunnels[0];
    json!({
        "LocalSubnet": join_subnets(&c.remote_subnets),
        "RemoteSubnet": join_subnets(&c.local_subnets),
        "Local": master.customer_gateway_ip.to_string(),
        "Remote": master.internet_ip.to_string(),
        "IkeConfig": ike(master),
        "IpsecConfig": ipsec(master),
        "TunnelsConfig": {"TunnelConfig": tunnels},
        "BgpConfigs": {"BgpConfig": bgp},
    })
}
