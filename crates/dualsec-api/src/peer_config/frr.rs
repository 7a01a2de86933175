//! The customer gateway's BGP section for FRR (`frr.conf`, bgpd), issue 7. Same sessions and the
//! same choices as [`super::bird`]: one session per tunnel through its own interface, tunnel 1
//! preferred both ways (local preference 50 and one AS-path prepend on tunnel 2), never import
//! `0.0.0.0/0`, at most [`super::bird::IMPORT_LIMIT`] prefixes per session, advertise only the
//! customer's own subnets, MD5 when the customer gateway has an `AuthKey`.

use std::fmt::Write as _;

use super::PeerConfigError;
use super::bird::{BgpPeering, IMPORT_LIMIT};

/// Renders the customer gateway's `frr.conf` (bgpd section and its prefix lists / route maps).
pub fn frr(p: &BgpPeering) -> Result<String, PeerConfigError> {
    let first = p
        .sessions
        .first()
        .ok_or_else(|| PeerConfigError::MissingField {
            field: "BgpConfigs.BgpConfig".into(),
        })?;
    if p.sessions.iter().any(|s| s.local_asn != first.local_asn) {
        return Err(PeerConfigError::Unrenderable {
            field: "LocalAsn",
            value: "differs between tunnels; FRR runs one BGP instance".into(),
        });
    }
    if let Some(k) = &p.auth_key {
        if k.is_empty() || k.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PeerConfigError::Unrenderable {
                field: "AuthKey",
                value: "<redacted>".into(),
            });
        }
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "! FRR configuration for the customer gateway of {} (dualsec peer-config --format frr)",
        p.connection_id
    );
    s.push_str(
        "! One BGP session per tunnel, through that tunnel: the swanctl.conf from dualsec puts both\n\
         ! BGP addresses of a tunnel into that tunnel's selectors. Create the session interfaces\n\
         ! first (run once, as root):\n",
    );
    for c in p.interface_commands() {
        let _ = writeln!(s, "!   {c}");
    }
    s.push_str("frr defaults traditional\n!\n");
    s.push_str("ip prefix-list DUALSEC-IN seq 5 deny 0.0.0.0/0\n");
    s.push_str("ip prefix-list DUALSEC-IN seq 10 permit 0.0.0.0/0 le 32\n");
    if p.advertise.is_empty() {
        s.push_str("! ip prefix-list DUALSEC-OUT seq 10 permit <your IDC prefix>\n");
        s.push_str("ip prefix-list DUALSEC-OUT seq 5 deny any\n");
    }
    for (i, n) in p.advertise.iter().enumerate() {
        let _ = writeln!(
            s,
            "ip prefix-list DUALSEC-OUT seq {} permit {n}",
            (i + 1) * 5
        );
    }
    s.push_str(
        "!\nroute-map DUALSEC-IN-MASTER permit 10\n match ip address prefix-list DUALSEC-IN\n!\n",
    );
    s.push_str("route-map DUALSEC-IN-BACKUP permit 10\n match ip address prefix-list DUALSEC-IN\n set local-preference 50\n!\n");
    s.push_str(
        "route-map DUALSEC-OUT-MASTER permit 10\n match ip address prefix-list DUALSEC-OUT\n!\n",
    );
    let _ = writeln!(
        s,
        "route-map DUALSEC-OUT-BACKUP permit 10\n match ip address prefix-list DUALSEC-OUT\n set as-path prepend {}\n!",
        first.local_asn
    );
    let _ = writeln!(s, "router bgp {}", first.local_asn);
    let _ = writeln!(s, " bgp router-id {}", first.local_ip);
    s.push_str(" no bgp ebgp-requires-policy\n no bgp network import-check\n");
    for sess in &p.sessions {
        let _ = writeln!(
            s,
            " ! tunnel {} ({}): {} in {}",
            sess.index,
            if sess.index == 1 { "master" } else { "backup" },
            sess.tunnel_id,
            sess.tunnel_cidr
        );
        let _ = writeln!(s, " neighbor {} remote-as {}", sess.peer_ip, sess.peer_asn);
        let _ = writeln!(
            s,
            " neighbor {} update-source {}",
            sess.peer_ip, sess.local_ip
        );
        match &p.auth_key {
            Some(k) => {
                let _ = writeln!(s, " neighbor {} password {k}", sess.peer_ip);
            }
            None => {
                let _ = writeln!(
                    s,
                    " ! neighbor {} password <AuthKey>   (when the customer gateway has one)",
                    sess.peer_ip
                );
            }
        }
    }
    s.push_str(" !\n address-family ipv4 unicast\n");
    for n in &p.advertise {
        let _ = writeln!(s, "  network {n}");
    }
    for sess in &p.sessions {
        let role = if sess.index == 1 { "MASTER" } else { "BACKUP" };
        let _ = writeln!(s, "  neighbor {} activate", sess.peer_ip);
        let _ = writeln!(
            s,
            "  neighbor {} route-map DUALSEC-IN-{role} in",
            sess.peer_ip
        );
        let _ = writeln!(
            s,
            "  neighbor {} route-map DUALSEC-OUT-{role} out",
            sess.peer_ip
        );
        let _ = writeln!(
            s,
            "  neighbor {} maximum-prefix {IMPORT_LIMIT}",
            sess.peer_ip
        );
    }
    s.push_str(" exit-address-family\n!\n");
    Ok(s)
}
