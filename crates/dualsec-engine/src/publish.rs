//! Publishing routes into the VPC side's routing table (PublishVpnRouteEntry, and the policy
//! routes AutoConfigRoute generates; api-reference §5.3, issue 7).
//!
//! On the provider a published route appears in the VPC's route table with the VPN gateway as
//! next hop. On a self-hosted gateway the VPC's route table is the kernel routing table of the
//! VPC-facing host or namespace, so publishing a route is
//!
//! ```text
//! ip -n <vpc netns> route replace <RouteDest> via <gateway's VPC-side address> proto 213
//! ```
//!
//! and unpublishing (or deleting the route, or its connection) is the matching `route del`.
//! Nothing is published by default: only entries whose `State` is `published`.
//!
//! * The target is [`PublishTarget`] (`dualsec serve --vpc-netns NAME --vpc-next-hop IP`). Without
//!   one, publishing is recorded in the API but writes nothing: the gateway's own namespace
//!   already routes every routed prefix into the TUN (the driver's kernel routes), so when the
//!   gateway itself is the VPC's router there is nothing more to write there.
//! * Policy routes publish their destination only; the source match stays the gateway's job.
//! * The routes carry their own protocol number ([`PROTO`]) so an operator can tell them apart
//!   (`ip route show proto 213`) and so removal never touches a route someone else made.
//! * Only routes whose next hop is a connection this node runs are published: the node that
//!   carries the traffic is the one that advertises it.
//!
//! [`wanted`] is pure (unit-tested); [`Publisher`] applies the difference and retries failures
//! at the next reconcile.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use dualsec_control::requests::DesiredState;
use dualsec_control::values::RouteState;
use ipnet::Ipv4Net;
use tracing::{info, warn};

use crate::plan::Plan;

/// Routing protocol number of published routes (`proto` of `ip route`; 213 = 0xd5, "dualsec").
pub const PROTO: &str = "213";

/// Where published routes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishTarget {
    /// The VPC-facing network namespace (`ip netns` name).
    pub netns: String,
    /// The gateway's address as seen from that namespace: the next hop of published routes.
    pub next_hop: Ipv4Addr,
}

/// The destinations that must be published now: every destination route and policy route in
/// state `published` whose next hop is a connection in `plan` (one this node runs).
pub fn wanted(desired: &DesiredState, plan: &Plan) -> BTreeSet<Ipv4Net> {
    let routes = desired
        .routes
        .iter()
        .filter(|r| r.state == RouteState::Published && plan.connections.contains_key(&r.next_hop))
        .map(|r| r.route_dest);
    let pbr = desired
        .pbr_routes
        .iter()
        .filter(|r| r.state == RouteState::Published && plan.connections.contains_key(&r.next_hop))
        .map(|r| r.route_dest);
    routes.chain(pbr).collect()
}

/// What [`Publisher::apply`] must change: `(add, remove)`.
pub fn diff(
    installed: &BTreeSet<Ipv4Net>,
    want: &BTreeSet<Ipv4Net>,
) -> (Vec<Ipv4Net>, Vec<Ipv4Net>) {
    (
        want.difference(installed).copied().collect(),
        installed.difference(want).copied().collect(),
    )
}

/// The published routes of this node, kept equal to [`wanted`].
#[derive(Debug, Default)]
pub struct Publisher {
    target: Option<PublishTarget>,
    installed: BTreeSet<Ipv4Net>,
    warned_no_target: bool,
}

impl Publisher {
    /// Publishes into `target`; `None` publishes nothing (see the module docs).
    pub fn new(target: Option<PublishTarget>) -> Publisher {
        Publisher {
            target,
            installed: BTreeSet::new(),
            warned_no_target: false,
        }
    }

    /// Routes currently written to the VPC side.
    pub fn installed(&self) -> &BTreeSet<Ipv4Net> {
        &self.installed
    }

    /// Writes the missing routes and removes the stale ones. A failed write is logged and
    /// retried at the next call.
    pub fn apply(&mut self, want: &BTreeSet<Ipv4Net>) {
        let Some(target) = self.target.clone() else {
            if !want.is_empty() && !self.warned_no_target {
                info!(
                    routes = want.len(),
                    "published routes: no --vpc-netns configured, the gateway's own routing \
                     table already carries them"
                );
                self.warned_no_target = true;
            }
            return;
        };
        let (add, remove) = diff(&self.installed, want);
        for net in add {
            match route(&target, "replace", net) {
                Ok(()) => {
                    info!(%net, netns = %target.netns, via = %target.next_hop, "route published");
                    self.installed.insert(net);
                }
                Err(e) => warn!(%net, "publishing route: {e}"),
            }
        }
        for net in remove {
            match route(&target, "del", net) {
                Ok(()) => {
                    info!(%net, netns = %target.netns, "route unpublished");
                    self.installed.remove(&net);
                }
                Err(e) => {
                    // Gone already (namespace deleted, operator removed it): nothing to undo.
                    warn!(%net, "unpublishing route: {e}");
                    self.installed.remove(&net);
                }
            }
        }
    }

    /// Removes every published route (engine shutdown).
    pub fn clear(&mut self) {
        self.apply(&BTreeSet::new());
    }
}

/// `ip -n NETNS route OP NET via NEXT_HOP proto PROTO`.
fn route(target: &PublishTarget, op: &str, net: Ipv4Net) -> Result<(), String> {
    let net = net.to_string();
    let via = target.next_hop.to_string();
    let args = [
        "-n",
        target.netns.as_str(),
        "route",
        op,
        net.as_str(),
        "via",
        via.as_str(),
        "proto",
        PROTO,
    ];
    crate::ip::run_ip(&args)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn nets(s: &[&str]) -> BTreeSet<Ipv4Net> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn diff_adds_missing_and_removes_stale() {
        let installed = nets(&["198.19.1.0/24", "198.19.2.0/24"]);
        let want = nets(&["198.19.2.0/24", "198.19.3.0/24"]);
        let (add, remove) = diff(&installed, &want);
        assert_eq!(add, vec!["198.19.3.0/24".parse::<Ipv4Net>().unwrap()]);
        assert_eq!(remove, vec!["198.19.1.0/24".parse::<Ipv4Net>().unwrap()]);
        let (add, remove) = diff(&want, &want);
        assert!(add.is_empty() && remove.is_empty());
    }

    #[test]
    fn without_target_nothing_is_installed() {
        let mut p = Publisher::new(None);
        p.apply(&nets(&["198.19.1.0/24"]));
        assert!(p.installed().is_empty());
    }
}
