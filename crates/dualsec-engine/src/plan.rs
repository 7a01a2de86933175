//! Desired state → what should run on this node: a pure function, unit-tested without IO.
//!
//! The driver compares a fresh [`Plan`] with what runs and applies the difference: tunnels
//! whose [`TunnelPlan::fingerprint`] changed are renegotiated (only those, R-CONN-5), vanished
//! ones are deleted (IKE DELETE sent, R-CONN-6), new ones are added.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use dualsec_control::ids::{TunnelId, VpnConnectionId, VpnGatewayId};
use dualsec_control::model::{RoutingMode, TunnelIndex};
use dualsec_control::requests::DesiredState;
use ipnet::Ipv4Net;

use crate::ike::IkeSetup;
use crate::ownership::owns_tunnel;
use crate::translate::{Unsupported, ike_setup};

/// One tunnel this node runs.
#[derive(Debug)]
pub struct TunnelPlan {
    /// The connection it belongs to.
    pub connection: VpnConnectionId,
    /// Tunnel 1 (master) or 2 (backup).
    pub index: TunnelIndex,
    /// Changes whenever anything the negotiation depends on changes.
    pub fingerprint: String,
    /// Negotiate at once (R-CONN-3) rather than on the first packet.
    pub effect_immediately: bool,
    /// The IKE configuration, or why this tunnel cannot run.
    pub setup: Result<IkeSetup, Unsupported>,
}

/// A route into a connection: destination, and in policy mode the source too (R-CONN-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoutePlan {
    /// IDC-side prefix.
    pub dst: Ipv4Net,
    /// VPC-side prefix in interesting-traffic mode.
    pub src: Option<Ipv4Net>,
}

/// One connection with at least one tunnel on this node.
#[derive(Debug)]
pub struct ConnectionPlan {
    /// Its gateway.
    pub gateway: VpnGatewayId,
    /// `[tunnel 1, tunnel 2]` ids (both, even if only one runs here).
    pub tunnels: [TunnelId; 2],
    /// Routes that lead into it.
    pub routes: BTreeSet<RoutePlan>,
}

/// Everything this node should run.
#[derive(Debug, Default)]
pub struct Plan {
    /// Tunnels by id.
    pub tunnels: BTreeMap<TunnelId, TunnelPlan>,
    /// Connections by id.
    pub connections: BTreeMap<VpnConnectionId, ConnectionPlan>,
}

/// Computes the plan for a node holding `node_ips`.
pub fn plan(desired: &DesiredState, node_ips: &[IpAddr]) -> Plan {
    let mut out = Plan::default();
    for conn in &desired.connections {
        let Some(gateway) = desired.gateways.iter().find(|g| g.id == conn.gateway_id) else {
            continue;
        };
        let mut any_here = false;
        for tunnel in &conn.tunnels {
            let local = gateway.addresses[tunnel.index.slot()].ip;
            if !owns_tunnel(IpAddr::V4(local), node_ips) {
                continue;
            }
            any_here = true;
            let customer = desired
                .customer_gateways
                .iter()
                .find(|c| c.id == tunnel.customer_gateway_id);
            let setup = match customer {
                Some(c) => ike_setup(conn, tunnel, c, local),
                None => Err(format!(
                    "customer gateway {} not found",
                    tunnel.customer_gateway_id.as_str()
                )),
            };
            let fingerprint = serde_json::to_string(&(
                tunnel,
                &conn.local_subnets,
                &conn.remote_subnets,
                customer.map(|c| c.ip_address),
                local,
            ))
            .unwrap_or_default();
            out.tunnels.insert(
                tunnel.id.clone(),
                TunnelPlan {
                    connection: conn.id.clone(),
                    index: tunnel.index,
                    fingerprint,
                    effect_immediately: conn.effect_immediately,
                    setup,
                },
            );
        }
        if !any_here {
            continue;
        }
        let mut routes = BTreeSet::new();
        match conn.routing_mode() {
            RoutingMode::Destination => {
                for r in desired.routes.iter().filter(|r| r.next_hop == conn.id) {
                    routes.insert(RoutePlan {
                        dst: r.route_dest,
                        src: None,
                    });
                }
            }
            RoutingMode::InterestingTraffic => {
                // R-CONN-2: source = local CIDR, destination = remote CIDR, next hop = the
                // connection; the store holds them (generated and user-made), and the pairs
                // are derived here too so a connection routes even before they are written.
                for r in desired.pbr_routes.iter().filter(|r| r.next_hop == conn.id) {
                    routes.insert(RoutePlan {
                        dst: r.route_dest,
                        src: Some(r.route_source),
                    });
                }
                for local in &conn.local_subnets {
                    for remote in &conn.remote_subnets {
                        routes.insert(RoutePlan {
                            dst: *remote,
                            src: Some(*local),
                        });
                    }
                }
            }
        }
        out.connections.insert(
            conn.id.clone(),
            ConnectionPlan {
                gateway: conn.gateway_id.clone(),
                tunnels: [conn.tunnels[0].id.clone(), conn.tunnels[1].id.clone()],
                routes,
            },
        );
    }
    out
}
