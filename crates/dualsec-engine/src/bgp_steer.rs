//! Steering each BGP session into its own tunnel, and the routes BGP contributes (issue 7,
//! R-BGP-1..5); the IO half of [`crate::bgp`]'s design, driven by the driver at every
//! reconcile.
//!
//! Per session ([`SessionPlan`]):
//! - a *pinned* data-plane connection whose two slots are the session's tunnel
//!   ([`crate::bgp::pinned_tunnels`]), and a /32 route to the peer's BGP address into it, so the
//!   session stays in its tunnel whatever the connection's failover state;
//! - the local BGP address on the TUN with the peer as point-to-point peer
//!   (`ip addr replace LOCAL peer PEER dev TUN`): the TCP socket's source address and the kernel
//!   route to the peer; removed when the session goes away and at shutdown.
//!
//! Learned prefixes ([`BgpSteering::set_learned`]) become routes of the session's *connection*
//! (not the pinned one), so they follow failover: the data plane sends a connection's traffic on
//! its active tunnel. A prefix learned on both tunnels is one route. The connection's static
//! routes win over learned ones for the same prefix (they are applied after), and the pinned
//! /32s win over both.
//!
//! [`routes`] is pure (unit-tested); [`BgpSteering`] holds what is installed and applies the
//! difference.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::Command;

use dualsec_control::ids::{TunnelId, VpnConnectionId};
use ipnet::Ipv4Net;
use tracing::{info, warn};

use crate::bgp::SessionPlan;

/// One route BGP wants in the data plane, before ids are resolved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum BgpRoute {
    /// A learned prefix into its connection (follows failover).
    Learned {
        /// The prefix.
        dst: Ipv4Net,
        /// The connection whose session learned it.
        connection: VpnConnectionId,
    },
    /// The /32 to a session's peer into the session's pinned connection.
    Peer {
        /// `peer_bgp_ip/32`.
        dst: Ipv4Net,
        /// The session's tunnel (names its pinned connection).
        tunnel: TunnelId,
    },
}

/// The routes BGP contributes: learned prefixes of running sessions (by connection, deduplicated)
/// then each session's peer /32. Learned prefixes of a tunnel without a session are ignored
/// (a stale snapshot cannot resurrect a withdrawn session's routes), as are default routes and
/// prefixes that cover a session's own /30 (which would loop the session into itself).
pub fn routes(
    sessions: &BTreeMap<TunnelId, SessionPlan>,
    learned: &BTreeMap<TunnelId, Vec<Ipv4Net>>,
) -> Vec<BgpRoute> {
    let mut by_conn: BTreeSet<(VpnConnectionId, Ipv4Net)> = BTreeSet::new();
    for (tid, prefixes) in learned {
        let Some(s) = sessions.get(tid) else { continue };
        for p in prefixes {
            let p = p.trunc();
            let covers_session = sessions
                .values()
                .any(|x| p.contains(&x.peer_ip) || p.contains(&x.local_ip));
            if p.prefix_len() == 0 || covers_session {
                continue;
            }
            by_conn.insert((s.connection.clone(), p));
        }
    }
    let mut out: Vec<BgpRoute> = by_conn
        .into_iter()
        .map(|(connection, dst)| BgpRoute::Learned { dst, connection })
        .collect();
    out.extend(sessions.iter().map(|(tid, s)| BgpRoute::Peer {
        dst: s.peer_route(),
        tunnel: tid.clone(),
    }));
    out
}

/// The session addresses on the TUN and the learned prefixes; see the module doc.
#[derive(Debug)]
pub struct BgpSteering {
    tun: String,
    /// Whether to touch the kernel (the driver's `kernel_routes`).
    kernel: bool,
    /// Sessions as last applied.
    sessions: BTreeMap<TunnelId, SessionPlan>,
    /// `(local, peer)` addresses on the TUN, by tunnel.
    addrs: BTreeMap<TunnelId, (Ipv4Addr, Ipv4Addr)>,
    /// Learned prefixes per session's tunnel (from the session runtime).
    learned: BTreeMap<TunnelId, Vec<Ipv4Net>>,
}

impl BgpSteering {
    /// Nothing installed yet.
    pub fn new(tun: impl Into<String>, kernel: bool) -> Self {
        BgpSteering {
            tun: tun.into(),
            kernel,
            sessions: BTreeMap::new(),
            addrs: BTreeMap::new(),
            learned: BTreeMap::new(),
        }
    }

    /// The sessions as last applied.
    pub fn sessions(&self) -> &BTreeMap<TunnelId, SessionPlan> {
        &self.sessions
    }

    /// Takes the sessions this node runs now: adds/removes the TUN addresses. The caller then
    /// declares the pinned connections ([`Self::pinned`]) and re-sets the route table.
    pub fn apply(&mut self, sessions: &BTreeMap<TunnelId, SessionPlan>) {
        let gone: Vec<TunnelId> = self
            .addrs
            .iter()
            .filter(|(t, a)| {
                sessions
                    .get(*t)
                    .is_none_or(|s| (s.local_ip, s.peer_ip) != **a)
            })
            .map(|(t, _)| t.clone())
            .collect();
        for t in gone {
            if let Some((local, peer)) = self.addrs.remove(&t) {
                self.del_addr(local, peer);
            }
        }
        for (t, s) in sessions {
            if self.addrs.contains_key(t) {
                continue;
            }
            if !self.kernel {
                self.addrs.insert(t.clone(), (s.local_ip, s.peer_ip));
                continue;
            }
            let (local, peer) = (s.local_ip.to_string(), s.peer_ip.to_string());
            match run_ip(&["addr", "replace", &local, "peer", &peer, "dev", &self.tun]) {
                Ok(()) => {
                    info!(tunnel = t.as_str(), %local, %peer, "BGP session address on the TUN");
                    self.addrs.insert(t.clone(), (s.local_ip, s.peer_ip));
                }
                // Retried at the next reconcile.
                Err(e) => warn!(tunnel = t.as_str(), "BGP session address: {e}"),
            }
        }
        self.learned.retain(|t, _| sessions.contains_key(t));
        self.sessions = sessions.clone();
    }

    /// The pinned data-plane connections to declare: `(session's tunnel, its index)`.
    pub fn pinned(&self) -> impl Iterator<Item = (&TunnelId, &SessionPlan)> {
        self.sessions.iter()
    }

    /// Replaces the learned prefixes of every session (from the session runtime's snapshot;
    /// a session that is not Established has none).
    pub fn set_learned(&mut self, learned: BTreeMap<TunnelId, Vec<Ipv4Net>>) {
        self.learned = learned;
        self.learned.retain(|t, _| self.sessions.contains_key(t));
    }

    /// The data-plane routes of BGP now ([`routes`]).
    pub fn routes(&self) -> Vec<BgpRoute> {
        routes(&self.sessions, &self.learned)
    }

    /// Removes every session address from the TUN (shutdown).
    pub fn clear(&mut self) {
        for (_, (local, peer)) in std::mem::take(&mut self.addrs) {
            self.del_addr(local, peer);
        }
        self.sessions.clear();
        self.learned.clear();
    }

    fn del_addr(&self, local: Ipv4Addr, peer: Ipv4Addr) {
        if !self.kernel {
            return;
        }
        let (l, p) = (local.to_string(), peer.to_string());
        if let Err(e) = run_ip(&["addr", "del", &l, "peer", &p, "dev", &self.tun]) {
            warn!("removing BGP session address {l}: {e}");
        }
    }
}

fn run_ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use dualsec_control::model::TunnelIndex;

    use super::*;

    fn session(conn: &str, index: TunnelIndex, third: u8) -> SessionPlan {
        SessionPlan {
            connection: conn.parse().unwrap(),
            index,
            tunnel_cidr: format!("169.254.{third}.0/30").parse().unwrap(),
            local_ip: format!("169.254.{third}.1").parse().unwrap(),
            peer_ip: format!("169.254.{third}.2").parse().unwrap(),
            local_asn: 45104,
            peer_asn: 65001,
            auth_key: None,
            advertise: vec!["198.18.0.0/16".parse().unwrap()],
        }
    }

    fn tid(s: &str) -> TunnelId {
        s.parse().unwrap()
    }

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    /// Issue 7: prefixes learned on either tunnel are one route of the connection (they follow
    /// its failover); each session's peer /32 goes into its pinned connection, last (it wins).
    #[test]
    fn learned_prefixes_route_into_the_connection_and_peers_into_pinned_ones() {
        let mut sessions = BTreeMap::new();
        sessions.insert(tid("tun-1"), session("vco-a", TunnelIndex::One, 10));
        sessions.insert(tid("tun-2"), session("vco-a", TunnelIndex::Two, 20));
        let mut learned = BTreeMap::new();
        learned.insert(
            tid("tun-1"),
            vec![net("198.19.1.0/24"), net("198.19.2.0/24")],
        );
        learned.insert(tid("tun-2"), vec![net("198.19.1.0/24")]);
        let r = routes(&sessions, &learned);
        assert_eq!(
            r,
            vec![
                BgpRoute::Learned {
                    dst: net("198.19.1.0/24"),
                    connection: "vco-a".parse().unwrap()
                },
                BgpRoute::Learned {
                    dst: net("198.19.2.0/24"),
                    connection: "vco-a".parse().unwrap()
                },
                BgpRoute::Peer {
                    dst: net("169.254.10.2/32"),
                    tunnel: tid("tun-1")
                },
                BgpRoute::Peer {
                    dst: net("169.254.20.2/32"),
                    tunnel: tid("tun-2")
                },
            ]
        );
    }

    /// R-BGP-3 backstop: a default route or a prefix covering a session address never becomes a
    /// route, and a tunnel without a session contributes nothing (withdrawn with the session).
    #[test]
    fn default_route_self_covering_prefixes_and_stale_tunnels_are_ignored() {
        let mut sessions = BTreeMap::new();
        sessions.insert(tid("tun-1"), session("vco-a", TunnelIndex::One, 10));
        let mut learned = BTreeMap::new();
        learned.insert(
            tid("tun-1"),
            vec![
                net("0.0.0.0/0"),
                net("169.254.0.0/16"),
                net("169.254.10.0/30"),
                net("198.19.1.7/24"),
            ],
        );
        learned.insert(tid("tun-gone0"), vec![net("198.19.9.0/24")]);
        let r = routes(&sessions, &learned);
        assert_eq!(
            r,
            vec![
                BgpRoute::Learned {
                    dst: net("198.19.1.0/24"),
                    connection: "vco-a".parse().unwrap()
                },
                BgpRoute::Peer {
                    dst: net("169.254.10.2/32"),
                    tunnel: tid("tun-1")
                },
            ]
        );
    }

    /// Without kernel access the steering still tracks sessions; a removed session takes its
    /// learned prefixes with it (R-BGP-5: BGP off removes learned routes).
    #[test]
    fn removing_a_session_drops_its_learned_routes() {
        let mut st = BgpSteering::new("dsec-test", false);
        let mut sessions = BTreeMap::new();
        sessions.insert(tid("tun-1"), session("vco-a", TunnelIndex::One, 10));
        st.apply(&sessions);
        let mut learned = BTreeMap::new();
        learned.insert(tid("tun-1"), vec![net("198.19.1.0/24")]);
        st.set_learned(learned);
        assert_eq!(st.routes().len(), 2);
        st.apply(&BTreeMap::new());
        assert!(st.routes().is_empty());
        assert_eq!(st.pinned().count(), 0);
    }
}
