//! BGP over both tunnels (issue 7, R-BGP-1..5): which sessions this node runs, and how their
//! packets reach *their own* tunnel. Pure.
//!
//! # Design
//!
//! One session per tunnel with BGP on, between the gateway's `LocalBgpIp` and the peer's
//! address, the other host of the tunnel's /30 ([`SessionPlan`], from [`sessions`]):
//! - the connection has `EnableTunnelsBgp` on, the tunnel has a `TunnelBgpConfig`, the
//!   customer gateway has an ASN (R-BGP-1; without one there is no session), and the tunnel runs
//!   on this node;
//! - the gateway advertises the connection's VPC CIDRs (`LocalSubnet`, without `0.0.0.0/0`);
//!   a destination-routing connection (`0.0.0.0/0`) names none, so there the networks directly
//!   attached to the gateway's VPC side are advertised
//!   ([`crate::bgp_steer::with_vpc_prefixes`]).
//!
//! **Steering a session into its tunnel.** The data plane routes a packet to a *connection*,
//! and a connection sends on its active tunnel, so a /32 route to tunnel 2's peer address into
//! the connection would carry tunnel 2's session through tunnel 1 while tunnel 1 is active (and
//! hide tunnel 2's failure). Instead each session gets a *pinned* data-plane connection whose
//! two slots are the same tunnel ([`pinned_tunnels`]), and a /32 route to the peer's BGP
//! address into it ([`SessionPlan::peer_route`]). Outbound SAs are looked up by tunnel, inbound
//! ESP is accepted on every tunnel, so this needs no data-plane change. In the kernel the
//! local BGP address is put on the TUN with the peer as its point-to-point peer
//! (`ip addr replace LOCAL peer PEER dev TUN`), which gives the TCP socket its source address and
//! the kernel route to the peer.
//!
//! The IO lives elsewhere: [`crate::bgp_session`] runs the sessions (kernel TCP, TCP MD5,
//! `dualsec_bgp::Speaker`), [`crate::bgp_steer`] does the steering above, installs learned
//! prefixes as routes of the connection and reports `BgpStatus`. [`session_selectors`] puts the
//! session addresses into each IKEv2 tunnel's traffic selectors so the CHILD SA carries them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use dualsec_control::ids::{TunnelId, VpnConnectionId};
use dualsec_control::model::{Tunnel, TunnelIndex};
use dualsec_control::requests::DesiredState;
use ipnet::Ipv4Net;

use crate::plan::Plan;

/// One BGP session this node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPlan {
    /// Its connection.
    pub connection: VpnConnectionId,
    /// Tunnel 1 or 2.
    pub index: TunnelIndex,
    /// The tunnel's /30.
    pub tunnel_cidr: Ipv4Net,
    /// The gateway's address in it.
    pub local_ip: Ipv4Addr,
    /// The customer's address in it.
    pub peer_ip: Ipv4Addr,
    /// The gateway's ASN.
    pub local_asn: u32,
    /// The customer gateway's ASN.
    pub peer_asn: u32,
    /// TCP MD5 key (RFC 2385), the customer gateway's `AuthKey`.
    pub auth_key: Option<String>,
    /// Prefixes the gateway advertises.
    pub advertise: Vec<Ipv4Net>,
}

impl SessionPlan {
    /// The /32 route to the peer's BGP address (into the session's pinned connection).
    pub fn peer_route(&self) -> Ipv4Net {
        Ipv4Net::from(self.peer_ip)
    }
}

/// The sessions to run, by tunnel.
pub fn sessions(desired: &DesiredState, plan: &Plan) -> BTreeMap<TunnelId, SessionPlan> {
    let mut out = BTreeMap::new();
    for conn in desired
        .connections
        .iter()
        .filter(|c| c.enable_tunnels_bgp && plan.connections.contains_key(&c.id))
    {
        let advertise: Vec<Ipv4Net> = conn
            .local_subnets
            .iter()
            .copied()
            .filter(|n| n.prefix_len() != 0)
            .collect();
        for tunnel in &conn.tunnels {
            if !plan.tunnels.contains_key(&tunnel.id) {
                continue;
            }
            let Some(bgp) = &tunnel.bgp else { continue };
            let Some(cgw) = desired
                .customer_gateways
                .iter()
                .find(|c| c.id == tunnel.customer_gateway_id)
            else {
                continue;
            };
            // R-BGP-1: no customer ASN, no session.
            let Some(peer_asn) = cgw.asn else { continue };
            out.insert(
                tunnel.id.clone(),
                SessionPlan {
                    connection: conn.id.clone(),
                    index: tunnel.index,
                    tunnel_cidr: bgp.tunnel_cidr.net(),
                    local_ip: bgp.local_bgp_ip,
                    peer_ip: bgp.peer_bgp_ip(),
                    local_asn: bgp.local_asn.get(),
                    peer_asn: peer_asn.get(),
                    auth_key: cgw.auth_key.clone(),
                    advertise: advertise.clone(),
                },
            );
        }
    }
    out
}

/// The extra traffic selectors a tunnel's CHILD SA needs to carry its BGP session: the gateway's
/// BGP address (local side) and the customer's (remote side), each a /32, added to the
/// connection's subnets whenever the tunnel has a BGP configuration (IKEv2: several TS per side,
/// RFC 7296 §2.9). They are there whether `EnableTunnelsBgp` is on or not, so turning BGP on or
/// off (R-BGP-5) never renegotiates a tunnel; a customer side configured without them narrows
/// them away and simply carries no BGP. Per tunnel, so each tunnel's SA accepts only its own
/// session's packets (strongSwan kernel-libipsec and other policy-based peers pick the SA by
/// selector, not by interface).
///
/// IKEv1 negotiates one selector pair per quick mode, so these are not added there: BGP over an
/// IKEv1 tunnel needs the customer to use `0.0.0.0/0` selectors (documented limitation).
pub fn session_selectors(tunnel: &Tunnel) -> Option<(Ipv4Net, Ipv4Net)> {
    let bgp = tunnel.bgp.as_ref()?;
    Some((
        Ipv4Net::from(bgp.local_bgp_ip),
        Ipv4Net::from(bgp.peer_bgp_ip()),
    ))
}

/// The tunnels of a session's pinned data-plane connection: the session's tunnel in both slots,
/// so the session never leaves its tunnel whatever the failover state.
pub fn pinned_tunnels<T: Clone>(tunnels: &[T; 2], index: TunnelIndex) -> [T; 2] {
    let t = match index {
        TunnelIndex::One => tunnels[0].clone(),
        TunnelIndex::Two => tunnels[1].clone(),
    };
    [t.clone(), t]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_connection_uses_one_tunnel_in_both_slots() {
        assert_eq!(pinned_tunnels(&[7, 9], TunnelIndex::One), [7, 7]);
        assert_eq!(pinned_tunnels(&[7, 9], TunnelIndex::Two), [9, 9]);
    }

    mod with_control {
        #![allow(clippy::unwrap_used)]

        use std::net::IpAddr;
        use std::sync::Arc;

        use dualsec_control::requests::*;
        use dualsec_control::values::parse_subnets;
        use dualsec_control::{
            Completion, Control, ControlConfig, CustomerGatewayId, ManualClock, MemoryStore, ZoneId,
        };
        use rand_chacha::ChaCha20Rng;
        use rand_core::SeedableRng;

        use super::super::*;
        use crate::plan::plan;

        fn control() -> Control {
            let c = Control::new(
                Arc::new(MemoryStore::new()),
                Arc::new(ManualClock::new(1_700_000_000_000)),
                Box::new(ChaCha20Rng::seed_from_u64(7)),
                ControlConfig {
                    completion: Completion::External,
                    ..ControlConfig::default()
                },
            );
            c.configure_public_ip_pool(&[
                (ZoneId("zone-a".into()), "192.0.2.1".parse().unwrap()),
                (ZoneId("zone-b".into()), "192.0.2.2".parse().unwrap()),
            ])
            .unwrap();
            c
        }

        fn cgw(c: &Control, ip: &str, asn: Option<&str>) -> CustomerGatewayId {
            c.create_customer_gateway(&CreateCustomerGatewayRequest {
                client_token: None,
                ip_address: ip.parse().unwrap(),
                asn: asn.map(str::to_owned),
                auth_key: asn.map(|_| "md5-key".to_owned()),
                name: None,
                description: None,
                resource_group_id: None,
                tags: vec![],
            })
            .unwrap()
            .id
        }

        fn tunnel(cgw: &CustomerGatewayId, cidr: &str, ip: &str) -> TunnelOptionsInput {
            TunnelOptionsInput {
                customer_gateway_id: Some(cgw.clone()),
                bgp: TunnelBgpInput {
                    local_asn: None,
                    tunnel_cidr: Some(cidr.into()),
                    local_bgp_ip: Some(ip.into()),
                },
                ..Default::default()
            }
        }

        /// R-BGP-1..4: a session per tunnel with the peer at the other host of the /30, the
        /// default local ASN 45104, the customer's ASN and key, the VPC CIDRs advertised; none
        /// when the customer gateway has no ASN.
        #[test]
        fn sessions_per_tunnel_from_desired_state() {
            let c = control();
            let gw = c
                .create_vpn_gateway(&CreateVpnGatewayRequest {
                    vpc_id: "vpc-t".into(),
                    bandwidth: 100,
                    ..Default::default()
                })
                .unwrap()
                .gateway
                .id;
            let with_asn = cgw(&c, "203.0.113.10", Some("65001"));
            let plain = cgw(&c, "203.0.113.20", None);
            let req = |cg: &CustomerGatewayId, third: u8| CreateVpnConnectionRequest {
                client_token: None,
                dry_run: false,
                vpn_gateway_id: gw.clone(),
                name: None,
                local_subnet: parse_subnets("LocalSubnet", "198.18.0.0/16").unwrap(),
                remote_subnet: parse_subnets("RemoteSubnet", "198.19.1.0/24").unwrap(),
                effect_immediately: None,
                auto_config_route: None,
                enable_tunnels_bgp: Some(true),
                tunnels: vec![
                    tunnel(
                        cg,
                        &format!("169.254.{third}.0/30"),
                        &format!("169.254.{third}.1"),
                    ),
                    tunnel(
                        cg,
                        &format!("169.254.{}.0/30", third + 1),
                        &format!("169.254.{}.2", third + 1),
                    ),
                ],
                resource_group_id: None,
                tags: vec![],
            };
            // Tunnel 1 IKEv2, tunnel 2 the default IKEv1.
            let mut first = req(&with_asn, 10);
            first.tunnels[0].ike.ike_version = Some(dualsec_control::values::IkeVersion::V2);
            let conn = c.create_vpn_connection(&first).unwrap();
            let no_asn = c.create_vpn_connection(&req(&plain, 20));
            let d = c.desired_state().unwrap();
            let node: Vec<IpAddr> =
                vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
            let p = plan(&d, &node);
            let s = sessions(&d, &p);
            let ours: Vec<&SessionPlan> = s
                .values()
                .filter(|x| x.connection == conn.connection.id)
                .collect();
            assert_eq!(ours.len(), 2, "{s:#?}");
            let t1 = ours.iter().find(|x| x.index == TunnelIndex::One).unwrap();
            let t2 = ours.iter().find(|x| x.index == TunnelIndex::Two).unwrap();
            assert_eq!(t1.local_ip.to_string(), "169.254.10.1");
            assert_eq!(t1.peer_ip.to_string(), "169.254.10.2");
            assert_eq!(t2.local_ip.to_string(), "169.254.11.2");
            assert_eq!(t2.peer_ip.to_string(), "169.254.11.1");
            assert_eq!(t2.peer_route().to_string(), "169.254.11.1/32");
            assert_eq!((t1.local_asn, t1.peer_asn), (45104, 65001));
            assert_eq!(t1.auth_key.as_deref(), Some("md5-key"));
            assert_eq!(
                t1.advertise,
                vec!["198.18.0.0/16".parse::<Ipv4Net>().unwrap()]
            );
            // Issue 7: each IKEv2 tunnel's selectors carry its own session's /32s (and not the
            // other tunnel's), next to the connection's subnets.
            let t1_id = s
                .iter()
                .find(|(_, x)| x.connection == conn.connection.id && x.index == TunnelIndex::One)
                .map(|(id, _)| id.clone())
                .unwrap();
            let cfg = &p.tunnels[&t1_id].setup.as_ref().unwrap().config;
            let nets = |ts: &[dualsec_ike::v2::TrafficSelector]| -> Vec<String> {
                ts.iter()
                    .map(|t| format!("{}-{}", t.start_addr, t.end_addr))
                    .collect()
            };
            assert_eq!(
                nets(&cfg.local_ts),
                ["198.18.0.0-198.18.255.255", "169.254.10.1-169.254.10.1"]
            );
            assert_eq!(
                nets(&cfg.remote_ts),
                ["198.19.1.0-198.19.1.255", "169.254.10.2-169.254.10.2"]
            );
            // IKEv1 negotiates one selector pair: no /32s there (documented limitation).
            let t2_id = s
                .iter()
                .find(|(_, x)| x.connection == conn.connection.id && x.index == TunnelIndex::Two)
                .map(|(id, _)| id.clone())
                .unwrap();
            let cfg2 = &p.tunnels[&t2_id].setup.as_ref().unwrap().config;
            assert_eq!(nets(&cfg2.local_ts), ["198.18.0.0-198.18.255.255"]);
            // R-BGP-1: BGP needs the customer's ASN (refused at create, or no session).
            if let Ok(v) = no_asn {
                assert!(s.values().all(|x| x.connection != v.connection.id));
            }
            // A node without the tunnels' IPs runs no session.
            let elsewhere = plan(&d, &["192.0.2.9".parse().unwrap()]);
            assert!(sessions(&d, &elsewhere).is_empty());
        }
    }
}
