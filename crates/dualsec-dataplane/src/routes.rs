//! Which connection an inner packet belongs to, and which of its two tunnels carries it.
//!
//! R-CONN-2: destination routing looks up the inner destination; interesting-traffic (policy)
//! mode also matches the inner source. Both are one longest-prefix match on the destination
//! ([`crate::lpm::Lpm`]), whose entry lists the source prefixes (longest first; `0.0.0.0/0` for
//! a destination route).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use dualsec_esp::TunnelId;
use ipnet::IpNet;

use crate::lpm::Lpm;

/// The engine's name for an IPsec connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u32);

/// A connection's two tunnels and which one carries traffic now (R-HA-2: tunnel 1 master,
/// tunnel 2 backup). Workers read [`Connection::active`] per packet without a lock; the failover
/// logic flips it with [`crate::ControlHandle::set_active_tunnel`].
#[derive(Debug)]
pub struct Connection {
    /// Its id.
    pub id: ConnectionId,
    /// Tunnel 1 (master) and tunnel 2 (backup).
    pub tunnels: [TunnelId; 2],
    active: AtomicU8,
}

impl Connection {
    /// Tunnel 1 active.
    pub fn new(id: ConnectionId, tunnels: [TunnelId; 2]) -> Self {
        Self {
            id,
            tunnels,
            active: AtomicU8::new(0),
        }
    }

    /// The tunnel that carries traffic now.
    pub fn active(&self) -> TunnelId {
        self.tunnels[usize::from(self.active.load(Ordering::Relaxed) & 1)]
    }

    /// Index (0 or 1) of the active tunnel.
    pub fn active_index(&self) -> u8 {
        self.active.load(Ordering::Relaxed) & 1
    }

    pub(crate) fn set_active(&self, index: u8) {
        self.active.store(index & 1, Ordering::Relaxed);
    }
}

/// One route: traffic to `dst` (and, in policy mode, from `src`) goes to `connection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix (IDC side).
    pub dst: IpNet,
    /// Source prefix (VPC side) in policy mode; `None` for destination routing.
    pub src: Option<IpNet>,
    /// The connection.
    pub connection: ConnectionId,
}

type Candidates = Vec<(IpNet, Arc<Connection>)>;

/// An immutable route table; rebuilt on every change and swapped into the workers.
#[derive(Debug, Default)]
pub struct RouteTable {
    v4: Option<Lpm<Candidates>>,
    v6: Option<Lpm<Candidates>>,
}

fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl RouteTable {
    /// Builds the table; `resolve` maps each route's connection id to the connection (routes to
    /// unknown connections are skipped and returned).
    pub fn build(
        routes: &[Route],
        resolve: impl Fn(ConnectionId) -> Option<Arc<Connection>>,
    ) -> (RouteTable, Vec<Route>) {
        let mut skipped = Vec::new();
        let mut v4: std::collections::BTreeMap<(u128, u8), Candidates> = Default::default();
        let mut v6: std::collections::BTreeMap<(u128, u8), Candidates> = Default::default();
        for r in routes {
            let Some(conn) = resolve(r.connection) else {
                skipped.push(r.clone());
                continue;
            };
            let dst = r.dst.trunc();
            let src = r.src.unwrap_or(match dst {
                IpNet::V4(_) => "0.0.0.0/0".parse().unwrap_or(dst),
                IpNet::V6(_) => "::/0".parse().unwrap_or(dst),
            });
            let map = if matches!(dst, IpNet::V4(_)) {
                &mut v4
            } else {
                &mut v6
            };
            let c = map
                .entry((key(dst.network()), dst.prefix_len()))
                .or_default();
            c.retain(|(s, _)| *s != src);
            c.push((src, conn));
            // Longest source prefix first.
            c.sort_by_key(|e| std::cmp::Reverse(e.0.prefix_len()));
        }
        // Policy routes: when no source of the most specific destination matches, the covering
        // (less specific) destinations' entries still apply, so each entry also lists theirs,
        // after its own.
        let inherit = |m: &mut std::collections::BTreeMap<(u128, u8), Candidates>, width: u8| {
            let lens: std::collections::BTreeSet<u8> = m.keys().map(|k| k.1).collect();
            let keys: Vec<(u128, u8)> = m.keys().copied().collect();
            let mut extra: Vec<((u128, u8), Candidates)> = Vec::new();
            for (k, l) in keys {
                let mut add = Candidates::new();
                for &pl in lens.range(..l).rev() {
                    if let Some(c) = m.get(&(crate::lpm::mask(k, pl, width), pl)) {
                        add.extend(c.iter().cloned());
                    }
                }
                if !add.is_empty() {
                    extra.push(((k, l), add));
                }
            }
            for (k, add) in extra {
                if let Some(c) = m.get_mut(&k) {
                    c.extend(add);
                }
            }
        };
        inherit(&mut v4, 32);
        inherit(&mut v6, 128);
        let build = |width, m: std::collections::BTreeMap<(u128, u8), Candidates>| {
            (!m.is_empty()).then(|| Lpm::build(width, m.into_iter().map(|((k, l), c)| (k, l, c))))
        };
        (
            RouteTable {
                v4: build(32, v4),
                v6: build(128, v6),
            },
            skipped,
        )
    }

    /// The connection for an inner packet from `src` to `dst`.
    pub fn lookup(&self, src: IpAddr, dst: IpAddr) -> Option<&Arc<Connection>> {
        let t = match dst {
            IpAddr::V4(_) => self.v4.as_ref(),
            IpAddr::V6(_) => self.v6.as_ref(),
        }?;
        t.lookup(key(dst))?
            .iter()
            .find(|(s, _)| s.contains(&src))
            .map(|(_, c)| c)
    }

    /// Number of destination prefixes.
    pub fn len(&self) -> usize {
        self.v4.as_ref().map_or(0, Lpm::len) + self.v6.as_ref().map_or(0, Lpm::len)
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_and_policy_routes_r_conn_2() {
        let a = Arc::new(Connection::new(
            ConnectionId(1),
            [TunnelId(10), TunnelId(11)],
        ));
        let b = Arc::new(Connection::new(
            ConnectionId(2),
            [TunnelId(20), TunnelId(21)],
        ));
        let routes = vec![
            Route {
                dst: "198.19.0.0/16".parse().unwrap(),
                src: None,
                connection: ConnectionId(1),
            },
            Route {
                dst: "198.19.5.0/24".parse().unwrap(),
                src: Some("198.18.1.0/24".parse().unwrap()),
                connection: ConnectionId(2),
            },
            Route {
                dst: "2001:db8::/32".parse().unwrap(),
                src: None,
                connection: ConnectionId(2),
            },
            Route {
                dst: "203.0.113.0/24".parse().unwrap(),
                src: None,
                connection: ConnectionId(9),
            },
        ];
        let (t, skipped) = RouteTable::build(&routes, |id| match id.0 {
            1 => Some(a.clone()),
            2 => Some(b.clone()),
            _ => None,
        });
        assert_eq!(skipped.len(), 1);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            t.lookup(ip("198.18.0.1"), ip("198.19.1.1")).unwrap().id,
            ConnectionId(1)
        );
        assert_eq!(
            t.lookup(ip("198.18.1.1"), ip("198.19.5.1")).unwrap().id,
            ConnectionId(2)
        );
        // The policy route's source does not match: the covering destination route applies.
        assert_eq!(
            t.lookup(ip("198.18.2.1"), ip("198.19.5.1")).unwrap().id,
            ConnectionId(1)
        );
        assert_eq!(
            t.lookup(ip("::1"), ip("2001:db8::5")).unwrap().id,
            ConnectionId(2)
        );
        assert!(t.lookup(ip("198.18.0.1"), ip("203.0.113.1")).is_none());
        // Only policy routes for 198.20.0.0/16: other sources find nothing.
        let (p, _) = RouteTable::build(
            &[Route {
                dst: "198.20.0.0/16".parse().unwrap(),
                src: Some("198.18.0.0/24".parse().unwrap()),
                connection: ConnectionId(1),
            }],
            |_| Some(a.clone()),
        );
        assert!(p.lookup(ip("198.18.0.9"), ip("198.20.1.1")).is_some());
        assert!(p.lookup(ip("198.18.1.9"), ip("198.20.1.1")).is_none());
        // Failover flips the active tunnel for every route of the connection at once (R-HA-3).
        assert_eq!(a.active(), TunnelId(10));
        a.set_active(1);
        assert_eq!(
            t.lookup(ip("198.18.0.1"), ip("198.19.1.1"))
                .unwrap()
                .active(),
            TunnelId(11)
        );
    }
}
