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
//! The sessions themselves run in [`crate::bgp_session::BgpSessions`], owned here: every
//! [`BgpSteering::apply`] passes the wanted set on (R-BGP-5: `EnableTunnelsBgp` off removes the
//! sessions, their TUN addresses and their learned routes), and [`BgpSteering::poll`] (every
//! loop turn, one atomic load unless something moved) reads the sessions' state back: learned
//! prefixes, `BgpStatus` per tunnel (`success` when Established, `false` otherwise) and event-log
//! lines for the connection (session up, down and why).
//!
//! [`routes`] is pure (unit-tested); [`BgpSteering`] holds what is installed and applies the
//! difference.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::Command;

use dualsec_control::ids::{TunnelId, VpnConnectionId};
use dualsec_control::model::BgpLearnedRoute;
use dualsec_control::values::BgpStatus;
use ipnet::Ipv4Net;
use tracing::{info, warn};

use crate::bgp::SessionPlan;
use crate::bgp_session::{BgpSessions, BgpSessionsConfig, BgpState, SessionStatus};
use crate::ip::run_ip;

/// How often the VPC-side prefixes are re-read.
pub const VPC_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

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
            if !installable(p, sessions) {
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

/// Whether a learned prefix may become a route: not a default route, not covering a session's
/// own addresses (which would loop the session into itself).
fn installable(p: Ipv4Net, sessions: &BTreeMap<TunnelId, SessionPlan>) -> bool {
    p.prefix_len() != 0
        && !sessions
            .values()
            .any(|x| p.contains(&x.peer_ip) || p.contains(&x.local_ip))
}

/// What a tunnel's observed state lists as its BGP-learned routes (issue 7, DescribeVpnRouteEntries
/// `RouteEntryType=bgp`): the routes of an Established session that [`routes`] would install,
/// with their attributes, sorted by prefix; nothing when the session is not Established.
/// `learned_ms` is kept from `before` for a prefix already listed, else `now_ms`.
pub fn observed_routes(
    status: Option<&SessionStatus>,
    sessions: &BTreeMap<TunnelId, SessionPlan>,
    before: &[BgpLearnedRoute],
    now_ms: u64,
) -> Vec<BgpLearnedRoute> {
    let Some(st) = status.filter(|s| s.state == BgpState::Established) else {
        return Vec::new();
    };
    let mut out: BTreeMap<Ipv4Net, BgpLearnedRoute> = BTreeMap::new();
    for r in &st.routes {
        let dst = r.prefix.trunc();
        if !installable(dst, sessions) {
            continue;
        }
        let learned_ms = before
            .iter()
            .find(|b| b.route_dest == dst)
            .map_or(now_ms, |b| b.learned_ms);
        out.insert(
            dst,
            BgpLearnedRoute {
                route_dest: dst,
                next_hop_ip: r.next_hop,
                as_path: r.as_path.clone(),
                communities: r.communities.clone(),
                med: r.med,
                learned_ms,
            },
        );
    }
    out.into_values().collect()
}

/// One tunnel's BGP observed state to write ([`BgpSteering::take_status_updates`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedBgp {
    /// The tunnel.
    pub tunnel: TunnelId,
    /// `success` while Established, `false` otherwise, `None` once the tunnel has no session.
    pub status: Option<BgpStatus>,
    /// Its learned routes ([`observed_routes`]); empty unless Established.
    pub routes: Vec<BgpLearnedRoute>,
}

/// What a session advertises when its connection names no VPC prefix (destination routing:
/// `LocalSubnet` is `0.0.0.0/0`, so [`crate::bgp::sessions`] found nothing to advertise): the
/// networks directly attached to the gateway on its VPC side, i.e. the connected prefixes of
/// `ip -4 route show table main proto kernel scope link` except those of the TUN, of `lo`, of
/// the interfaces holding the node's public IPs (their `src`), and link-local ones.
pub fn with_vpc_prefixes(
    sessions: &BTreeMap<TunnelId, SessionPlan>,
    vpc: &[Ipv4Net],
) -> BTreeMap<TunnelId, SessionPlan> {
    sessions
        .iter()
        .map(|(t, s)| {
            let mut s = s.clone();
            if s.advertise.is_empty() {
                s.advertise = vpc.to_vec();
            }
            (t.clone(), s)
        })
        .collect()
}

/// Parses `ip -4 -o route show table main proto kernel scope link` into the VPC-side prefixes
/// (see [`with_vpc_prefixes`]).
pub fn parse_connected(text: &str, tun: &str, public: &[std::net::IpAddr]) -> Vec<Ipv4Net> {
    let link_local: Ipv4Net = Ipv4Net::new(Ipv4Addr::new(169, 254, 0, 0), 16).unwrap_or_default();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(net) = words.first().and_then(|w| {
            w.parse::<Ipv4Net>()
                .ok()
                .or_else(|| w.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
        }) else {
            continue;
        };
        let after = |key: &str| {
            words
                .windows(2)
                .find(|w| w[0] == key)
                .map(|w| w[1].to_owned())
        };
        let dev = after("dev").unwrap_or_default();
        let src = after("src").and_then(|s| s.parse::<std::net::IpAddr>().ok());
        if dev == tun
            || dev == "lo"
            || src.is_some_and(|s| public.contains(&s))
            || link_local.contains(&net)
            || net.prefix_len() == 0
        {
            continue;
        }
        out.insert(net.trunc());
    }
    out.into_iter().collect()
}

/// `a, b, c` (at most 10, then `… and N more`), or `none`.
fn prefix_list(p: &[Ipv4Net]) -> String {
    if p.is_empty() {
        return "none".to_owned();
    }
    let mut s: Vec<String> = p.iter().take(10).map(ToString::to_string).collect();
    if p.len() > 10 {
        s.push(format!("… and {} more", p.len() - 10));
    }
    s.join(", ")
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
    /// The session runtime; `None` when its thread could not start (logged).
    runtime: Option<BgpSessions>,
    /// The runtime's change counter as last read.
    seen: u64,
    /// Last snapshot, by tunnel.
    status: BTreeMap<TunnelId, SessionStatus>,
    /// `BgpStatus` and learned routes per tunnel as last handed out by
    /// [`Self::take_status_updates`].
    written: BTreeMap<TunnelId, (BgpStatus, Vec<BgpLearnedRoute>)>,
    /// Event-log lines not yet taken.
    events: Vec<(VpnConnectionId, TunnelId, String)>,
    /// VPC-side prefixes ([`with_vpc_prefixes`]) and when they were last read.
    vpc: Vec<Ipv4Net>,
    vpc_read: Option<std::time::Instant>,
}

impl BgpSteering {
    /// Nothing installed yet. `sessions`: start the session runtime with these settings (in
    /// the calling thread's network namespace); `None` in unit tests.
    pub fn new(tun: impl Into<String>, kernel: bool, sessions: Option<BgpSessionsConfig>) -> Self {
        let runtime = if let Some(config) = sessions {
            match BgpSessions::new(config) {
                Ok(r) => Some(r),
                Err(e) => {
                    warn!("BGP sessions cannot run: {e}");
                    None
                }
            }
        } else {
            None
        };
        BgpSteering {
            tun: tun.into(),
            kernel,
            sessions: BTreeMap::new(),
            addrs: BTreeMap::new(),
            learned: BTreeMap::new(),
            runtime,
            seen: 0,
            status: BTreeMap::new(),
            written: BTreeMap::new(),
            events: Vec::new(),
            vpc: Vec::new(),
            vpc_read: None,
        }
    }

    /// The VPC-side prefixes ([`with_vpc_prefixes`]), re-read from the kernel at most every
    /// [`VPC_REFRESH`].
    pub fn vpc_prefixes(&mut self, public: &[std::net::IpAddr]) -> Vec<Ipv4Net> {
        if !self.kernel {
            return Vec::new();
        }
        let now = std::time::Instant::now();
        if self
            .vpc_read
            .is_none_or(|t| now.duration_since(t) >= VPC_REFRESH)
        {
            let out = Command::new("ip")
                .args([
                    "-4", "-o", "route", "show", "table", "main", "proto", "kernel", "scope",
                    "link",
                ])
                .output();
            if let Ok(o) = out {
                self.vpc = parse_connected(&String::from_utf8_lossy(&o.stdout), &self.tun, public);
            }
            self.vpc_read = Some(now);
        }
        self.vpc.clone()
    }

    /// Reads the sessions' state when it moved: learned prefixes (routes at the next
    /// [`Self::routes`]), statuses and event lines. True when something changed.
    pub fn poll(&mut self) -> bool {
        let Some(rt) = &self.runtime else {
            return false;
        };
        let generation = rt.changed();
        if generation == self.seen {
            return false;
        }
        self.seen = generation;
        let snap = rt.snapshot();
        for (tid, now) in &snap {
            let before = self.status.get(tid);
            let was_up = before.is_some_and(|b| b.state == BgpState::Established);
            let is_up = now.state == BgpState::Established;
            let line = match (was_up, is_up) {
                (false, true) => Some(format!(
                    "tunnel {}: BGP session {} ⇄ {} (AS {}) established; {} prefixes learned",
                    now.index.number(),
                    now.local_ip,
                    now.peer_ip,
                    now.peer_asn
                        .map_or_else(|| "?".to_owned(), |a| a.to_string()),
                    now.learned.len()
                )),
                (true, false) => Some(format!(
                    "tunnel {}: BGP session with {} down: {}; its learned routes are withdrawn",
                    now.index.number(),
                    now.peer_ip,
                    now.last_error
                        .as_ref()
                        .map_or_else(|| "stopped".to_owned(), ToString::to_string)
                )),
                _ => None,
            };
            // A new reason the session is not up (refused connection, NOTIFICATION sent or
            // received …): once per distinct reason, so a peer that keeps failing the same way
            // does not flood the log.
            let fault = now.last_error.as_ref().map(ToString::to_string);
            let fault_before = before.and_then(|b| b.last_error.as_ref().map(ToString::to_string));
            let line = match (line, fault) {
                (None, Some(f)) if !is_up && Some(&f) != fault_before.as_ref() => Some(format!(
                    "tunnel {}: BGP session with {} not established: {f}",
                    now.index.number(),
                    now.peer_ip
                )),
                (l, _) => l,
            };
            if let Some(l) = line {
                info!(tunnel = tid.as_str(), "{l}");
                self.events.push((now.connection.clone(), tid.clone(), l));
            }
            let learned_changed = before.is_none_or(|b| b.learned != now.learned);
            if is_up && learned_changed {
                let l = format!(
                    "tunnel {}: BGP routes learned from {}: {}",
                    now.index.number(),
                    now.peer_ip,
                    prefix_list(&now.learned)
                );
                self.events.push((now.connection.clone(), tid.clone(), l));
            }
        }
        self.learned = snap
            .iter()
            .filter(|(t, st)| st.state == BgpState::Established && self.sessions.contains_key(*t))
            .map(|(t, st)| (t.clone(), st.learned.clone()))
            .collect();
        self.status = snap;
        true
    }

    /// The sessions' status by tunnel, as last polled.
    pub fn status(&self) -> &BTreeMap<TunnelId, SessionStatus> {
        &self.status
    }

    /// BGP observed-state changes to write into each tunnel's record: `BgpStatus` (`success`
    /// while the session is Established, `false` otherwise) and the learned routes
    /// ([`observed_routes`], empty unless Established); status `None` and no routes once the
    /// tunnel has no session (BGP off, tunnel settings removed). Each tunnel's first call after
    /// start writes, so a record left by an earlier run is overwritten.
    pub fn take_status_updates(&mut self) -> Vec<ObservedBgp> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut out = Vec::new();
        for tid in self.sessions.keys() {
            let status = self.status.get(tid);
            let st = match status {
                Some(s) if s.state == BgpState::Established => BgpStatus::Success,
                _ => BgpStatus::False,
            };
            let before = self.written.get(tid);
            let routes = observed_routes(
                status,
                &self.sessions,
                before.map_or(&[][..], |(_, r)| r.as_slice()),
                now_ms,
            );
            if before.is_none_or(|(s, r)| *s != st || *r != routes) {
                self.written.insert(tid.clone(), (st, routes.clone()));
                out.push(ObservedBgp {
                    tunnel: tid.clone(),
                    status: Some(st),
                    routes,
                });
            }
        }
        let gone: Vec<TunnelId> = self
            .written
            .keys()
            .filter(|t| !self.sessions.contains_key(*t))
            .cloned()
            .collect();
        for t in gone {
            self.written.remove(&t);
            out.push(ObservedBgp {
                tunnel: t,
                status: None,
                routes: Vec::new(),
            });
        }
        out
    }

    /// Event-log lines `(connection, tunnel, text)` since the last call.
    pub fn take_events(&mut self) -> Vec<(VpnConnectionId, TunnelId, String)> {
        std::mem::take(&mut self.events)
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
        self.status.retain(|t, _| sessions.contains_key(t));
        if let Some(rt) = &mut self.runtime {
            rt.apply(sessions);
        }
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

    /// Stops every session (Cease to Established peers) and removes every session address from
    /// the TUN (shutdown).
    pub fn clear(&mut self) {
        if let Some(rt) = &mut self.runtime {
            rt.shutdown();
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use dualsec_control::model::TunnelIndex;

    use super::*;
    use crate::bgp_session::LearnedRoute;

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

    /// Destination routing: the connected VPC-side prefixes are advertised; the TUN, `lo`, the
    /// uplinks (their `src` is a public IP) and link-local routes are not.
    #[test]
    fn vpc_prefixes_are_the_connected_networks_off_the_uplinks_and_tun() {
        let text = "198.18.1.0/24 dev vpc0 proto kernel scope link src 198.18.1.1 \n\
                    192.0.2.101 dev up1 proto kernel scope link src 192.0.2.1 \n\
                    169.254.10.2 dev dsec0 proto kernel scope link src 169.254.10.1 \n\
                    198.18.9.0/24 dev dsec0 proto kernel scope link src 198.18.9.1 \n\
                    127.0.0.0/8 dev lo proto kernel scope link src 127.0.0.1 \n";
        let public = ["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
        let vpc = parse_connected(text, "dsec0", &public);
        assert_eq!(vpc, vec![net("198.18.1.0/24")]);
        let mut sessions = BTreeMap::new();
        let mut s = session("vco-a", TunnelIndex::One, 10);
        s.advertise.clear();
        sessions.insert(tid("tun-1"), s);
        sessions.insert(tid("tun-2"), session("vco-a", TunnelIndex::Two, 20));
        let w = with_vpc_prefixes(&sessions, &vpc);
        assert_eq!(w[&tid("tun-1")].advertise, vec![net("198.18.1.0/24")]);
        // A connection that names its VPC prefixes keeps them.
        assert_eq!(w[&tid("tun-2")].advertise, vec![net("198.18.0.0/16")]);
    }

    fn established(plan: &SessionPlan, routes: Vec<LearnedRoute>) -> SessionStatus {
        SessionStatus {
            connection: plan.connection.clone(),
            index: plan.index,
            local_ip: plan.local_ip,
            peer_ip: plan.peer_ip,
            local_asn: plan.local_asn,
            state: BgpState::Established,
            peer_asn: Some(plan.peer_asn),
            peer_router_id: Some(plan.peer_ip),
            hold_time: None,
            learned: routes.iter().map(|r| r.prefix).collect(),
            routes,
            rejected: Vec::new(),
            advertised: plan.advertise.clone(),
            last_error: None,
            established_since: None,
            established_at: None,
            counters: Default::default(),
        }
    }

    fn lr(prefix: &str, as_path: &[u32], med: Option<u32>) -> LearnedRoute {
        LearnedRoute {
            prefix: net(prefix),
            next_hop: "169.254.10.2".parse().unwrap(),
            as_path: as_path.to_vec(),
            communities: vec![(65001 << 16) | 7],
            med,
        }
    }

    /// Issue 7: the routes written to observed state (DescribeVpnRouteEntries bgp) are those of
    /// an Established session that would be installed, with AS path, communities and MED; the
    /// first-learned time survives an unrelated change; not Established → none.
    #[test]
    fn observed_routes_carry_attributes_and_skip_what_is_not_installed() {
        let mut sessions = BTreeMap::new();
        let plan = session("vco-a", TunnelIndex::One, 10);
        sessions.insert(tid("tun-1"), plan.clone());
        let st = established(
            &plan,
            vec![
                lr("198.19.2.0/24", &[65001, 64999], None),
                lr("0.0.0.0/0", &[65001], None),
                lr("169.254.0.0/16", &[65001], None),
                lr("198.19.1.0/24", &[65001], Some(20)),
            ],
        );
        let first = observed_routes(Some(&st), &sessions, &[], 1000);
        let got: Vec<(String, Vec<u32>, Option<u32>, u64)> = first
            .iter()
            .map(|r| {
                (
                    r.route_dest.to_string(),
                    r.as_path.clone(),
                    r.med,
                    r.learned_ms,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("198.19.1.0/24".into(), vec![65001], Some(20), 1000),
                ("198.19.2.0/24".into(), vec![65001, 64999], None, 1000),
            ]
        );
        assert_eq!(first[0].communities, vec![(65001 << 16) | 7]);
        assert_eq!(first[0].next_hop_ip, plan.peer_ip);
        // A later snapshot with one more prefix: the old ones keep their time.
        let mut st2 = st.clone();
        st2.routes.push(lr("198.19.3.0/24", &[65001], None));
        let second = observed_routes(Some(&st2), &sessions, &first, 5000);
        let times: Vec<u64> = second.iter().map(|r| r.learned_ms).collect();
        assert_eq!(times, vec![1000, 1000, 5000]);
        // Not Established (or no status): nothing.
        let mut down = st2.clone();
        down.state = BgpState::Active;
        assert!(observed_routes(Some(&down), &sessions, &second, 6000).is_empty());
        assert!(observed_routes(None, &sessions, &second, 6000).is_empty());
    }

    /// Issue 7 / R-BGP-5: a tunnel's observed BGP state is written once per change — `success`
    /// with its routes when Established, `false` and no routes when the session drops, `None`
    /// and no routes once the session is removed (BGP off).
    #[test]
    fn status_updates_carry_routes_and_clear_them_when_the_session_goes() {
        let mut st = BgpSteering::new("dsec-test", false, None);
        let plan = session("vco-a", TunnelIndex::One, 10);
        let mut sessions = BTreeMap::new();
        sessions.insert(tid("tun-1"), plan.clone());
        st.apply(&sessions);
        let u = st.take_status_updates();
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].status, u[0].routes.len()),
            (Some(BgpStatus::False), 0)
        );
        assert!(st.take_status_updates().is_empty(), "nothing changed");
        st.status.insert(
            tid("tun-1"),
            established(&plan, vec![lr("198.19.1.0/24", &[65001], None)]),
        );
        let u = st.take_status_updates();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].status, Some(BgpStatus::Success));
        assert_eq!(u[0].routes[0].route_dest, net("198.19.1.0/24"));
        assert_eq!(u[0].routes[0].as_path_text(), "[65001]");
        // A withdrawn prefix alone is a change.
        st.status.insert(tid("tun-1"), established(&plan, vec![]));
        let u = st.take_status_updates();
        assert_eq!(
            (u[0].status, u[0].routes.len()),
            (Some(BgpStatus::Success), 0)
        );
        st.status.insert(
            tid("tun-1"),
            established(&plan, vec![lr("198.19.1.0/24", &[65001], None)]),
        );
        assert_eq!(st.take_status_updates()[0].routes.len(), 1);
        // Session removed (BGP off): status gone, routes cleared.
        st.apply(&BTreeMap::new());
        let u = st.take_status_updates();
        assert_eq!(
            u,
            vec![ObservedBgp {
                tunnel: tid("tun-1"),
                status: None,
                routes: Vec::new()
            }]
        );
    }

    /// Without kernel access the steering still tracks sessions; a removed session takes its
    /// learned prefixes with it (R-BGP-5: BGP off removes learned routes).
    #[test]
    fn removing_a_session_drops_its_learned_routes() {
        let mut st = BgpSteering::new("dsec-test", false, None);
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
