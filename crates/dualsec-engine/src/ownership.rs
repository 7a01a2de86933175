//! Which tunnels this node runs: the one scale-out seam (DESIGN.md "Scale-out").
//!
//! A single-host gateway owns every tunnel whose local public IP is configured on it. In a
//! provider-grade deployment (one node per zone) the node in zone A holds IP 1 of every gateway
//! and so owns every tunnel 1, the node in zone B every tunnel 2: a zone failure is exactly the
//! failover the product promises (R-HA-4). Keep this rule here and nowhere else.

use std::net::IpAddr;

/// Whether a tunnel whose gateway-side address is `local_ip` runs on a node that holds
/// `node_ips`.
pub fn owns_tunnel(local_ip: IpAddr, node_ips: &[IpAddr]) -> bool {
    node_ips.contains(&local_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_owns_exactly_the_tunnels_on_its_addresses() {
        let node: Vec<IpAddr> = vec!["192.0.2.1".parse().unwrap()];
        assert!(owns_tunnel("192.0.2.1".parse().unwrap(), &node));
        assert!(!owns_tunnel("192.0.2.2".parse().unwrap(), &node));
        assert!(!owns_tunnel("192.0.2.1".parse().unwrap(), &[]));
    }
}
