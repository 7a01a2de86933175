//! The customer gateway's BGP section for BIRD 2 (issue 7, R-BGP-1..5): one BGP session per
//! tunnel, through that tunnel, between the customer's and the gateway's addresses in the
//! tunnel's /30 (`BgpConfigs.BgpConfig[]` of `DownloadVpnConnectionConfig`, mirrored: `Local*` is
//! the customer side, `Peer*` the gateway).
//!
//! Choices, and why:
//! - **Each session rides its own tunnel by selector**: the generated `swanctl.conf` puts the
//!   tunnel's two BGP addresses (/32 each) into that tunnel's CHILD SA selectors, as the gateway
//!   does, so a policy-based IPsec stack (strongSwan with kernel XFRM policies or
//!   kernel-libipsec) sends each session's packets into exactly its tunnel. The customer's BGP
//!   address needs an interface of its own with the gateway as point-to-point peer
//!   (`ip link add dualsecN type dummy`, `ip addr add LOCAL peer PEER dev dualsecN`): the file's
//!   header lists those commands; BIRD itself does not create interfaces. (Route-based setups
//!   may use an XFRM interface with `if_id` instead of the dummy.)
//! - **Tunnel 1 is preferred** both ways: routes learned over tunnel 2 get a lower local
//!   preference here, and the prefixes advertised over tunnel 2 carry one extra AS-path hop, so
//!   the gateway (which prefers its master anyway) and the IDC agree.
//! - **Import**: never `0.0.0.0/0`, and at most [`IMPORT_LIMIT`] prefixes per session, the same
//!   policy the gateway applies to the customer (R-BGP-3).
//! - **Export**: only the customer's own subnets ([`BgpPeering::advertise`]), as static routes in
//!   a protocol of their own, never what was learned from the gateway.
//! - **MD5** (RFC 2385): `password` when the customer gateway has an `AuthKey`; pass it in, the
//!   API never returns it.

use std::fmt::Write as _;

use serde_json::Value;

use super::{PeerConfigError, str_at, subnets, token};

/// Most prefixes one session imports before BIRD stops it, like the gateway's default.
pub const IMPORT_LIMIT: u32 = 50;

/// One tunnel's BGP session as the customer side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpSession {
    /// 1 (master) or 2 (backup).
    pub index: u8,
    /// `tun-…`.
    pub tunnel_id: String,
    /// The tunnel's /30.
    pub tunnel_cidr: String,
    /// The customer's ASN (the customer gateway's `Asn`).
    pub local_asn: u32,
    /// The customer's address in the /30.
    pub local_ip: String,
    /// The gateway's ASN.
    pub peer_asn: u32,
    /// The gateway's address in the /30.
    pub peer_ip: String,
}

/// Everything the BGP sections need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpPeering {
    /// `vco-…`; protocol names derive from it.
    pub connection_id: String,
    /// Tunnel 1 then tunnel 2 (only tunnels with BGP).
    pub sessions: Vec<BgpSession>,
    /// The customer's prefixes to advertise (the connection's `RemoteSubnet`, i.e. the
    /// download's `LocalSubnet`, without `0.0.0.0/0`).
    pub advertise: Vec<String>,
    /// MD5 key of the customer gateway, if it has one.
    pub auth_key: Option<String>,
}

fn asn(v: &Value, path: &[&str]) -> Result<u32, PeerConfigError> {
    let s = str_at(v, path)?;
    // `a.b` notation (RFC 5396 asdot) is accepted like the API does.
    let parsed = match s.split_once('.') {
        Some((hi, lo)) => hi
            .parse::<u16>()
            .ok()
            .zip(lo.parse::<u16>().ok())
            .map(|(h, l)| (u32::from(h) << 16) | u32::from(l)),
        None => s.parse().ok(),
    };
    parsed
        .filter(|a| *a != 0)
        .ok_or(PeerConfigError::Unrenderable {
            field: "Asn",
            value: s,
        })
}

impl BgpPeering {
    /// Reads `DownloadVpnConnectionConfig` (whole body or its `VpnConnectionConfig`) and the
    /// connection id. Fails when no tunnel has BGP (EnableTunnelsBgp off, or the customer
    /// gateway has no ASN, R-BGP-1).
    pub fn from_download(
        download: &Value,
        connection_id: &str,
        auth_key: Option<&str>,
    ) -> Result<BgpPeering, PeerConfigError> {
        let cfg = download.get("VpnConnectionConfig").unwrap_or(download);
        let tunnel_ids: Vec<String> = cfg
            .get("TunnelsConfig")
            .and_then(|t| t.get("TunnelConfig"))
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|t| str_at(t, &["TunnelId"]).ok())
                    .collect()
            })
            .unwrap_or_default();
        let list = cfg
            .get("BgpConfigs")
            .and_then(|b| b.get("BgpConfig"))
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| PeerConfigError::MissingField {
                field: "VpnConnectionConfig.BgpConfigs.BgpConfig (is EnableTunnelsBgp on?)".into(),
            })?;
        let mut sessions = Vec::with_capacity(list.len());
        for (i, b) in list.iter().enumerate() {
            let tunnel_id = str_at(b, &["TunnelId"])?;
            let index = tunnel_ids
                .iter()
                .position(|t| *t == tunnel_id)
                .unwrap_or(i)
                .saturating_add(1);
            sessions.push(BgpSession {
                index: u8::try_from(index).unwrap_or(u8::MAX),
                tunnel_id: token("TunnelId", &tunnel_id)?,
                tunnel_cidr: token("TunnelCidr", &str_at(b, &["TunnelCidr"])?)?,
                local_asn: asn(b, &["LocalAsn"])?,
                local_ip: token("LocalBgpIp", &str_at(b, &["LocalBgpIp"])?)?,
                peer_asn: asn(b, &["PeerAsn"])?,
                peer_ip: token("PeerBgpIp", &str_at(b, &["PeerBgpIp"])?)?,
            });
        }
        sessions.sort_by_key(|s| s.index);
        let advertise = subnets(&str_at(cfg, &["LocalSubnet"]).unwrap_or_default())
            .into_iter()
            .filter(|n| n != "0.0.0.0/0")
            .map(|n| token("LocalSubnet", &n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BgpPeering {
            connection_id: token("VpnConnectionId", connection_id)?,
            sessions,
            advertise,
            auth_key: auth_key.map(str::to_owned),
        })
    }

    /// The customer's interface name for tunnel `index` (it carries the session's address).
    pub fn interface(index: u8) -> String {
        format!("dualsec{index}")
    }

    /// Shell commands that give each session its own route-based tunnel interface.
    pub fn interface_commands(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.sessions {
            let dev = Self::interface(s.index);
            out.push(format!("ip link add {dev} type dummy"));
            out.push(format!(
                "ip addr add {} peer {} dev {dev}",
                s.local_ip, s.peer_ip
            ));
            out.push(format!("ip link set {dev} up"));
        }
        out
    }
}

/// A BIRD string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Renders a complete `bird.conf` for the customer gateway (BIRD 2).
pub fn bird(p: &BgpPeering) -> Result<String, PeerConfigError> {
    let first = p
        .sessions
        .first()
        .ok_or_else(|| PeerConfigError::MissingField {
            field: "BgpConfigs.BgpConfig".into(),
        })?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# BIRD 2 configuration for the customer gateway of {} (dualsec peer-config --format bird)",
        p.connection_id
    );
    s.push_str(
        "# One BGP session per tunnel, through that tunnel: the swanctl.conf from dualsec puts both\n\
         # BGP addresses of a tunnel into that tunnel's selectors. Create the session interfaces\n\
         # first (run once, as root):\n",
    );
    for c in p.interface_commands() {
        let _ = writeln!(s, "#   {c}");
    }
    let _ = writeln!(s, "router id {};", first.local_ip);
    s.push_str("protocol device {}\n");
    s.push_str(
        "protocol kernel {\n  ipv4 {\n    import none;\n    export where source = RTS_BGP;\n  };\n}\n",
    );
    s.push_str("protocol static dualsec_advertise {\n  ipv4;\n");
    if p.advertise.is_empty() {
        s.push_str("  # route <your IDC prefix> blackhole;   (add the prefixes to announce)\n");
    }
    for n in &p.advertise {
        let _ = writeln!(s, "  route {n} blackhole;");
    }
    s.push_str("}\n");
    s.push_str(
        "filter dualsec_import {\n  if net = 0.0.0.0/0 then reject;\n  if net.len = 0 then reject;\n  accept;\n}\n",
    );
    for sess in &p.sessions {
        let name = format!("{}_tunnel{}", p.connection_id.replace('-', "_"), sess.index);
        let _ = writeln!(
            s,
            "# tunnel {} ({}): {} in {}",
            sess.index,
            if sess.index == 1 { "master" } else { "backup" },
            sess.tunnel_id,
            sess.tunnel_cidr
        );
        let _ = writeln!(s, "protocol bgp {name} {{");
        let _ = writeln!(s, "  local {} as {};", sess.local_ip, sess.local_asn);
        let _ = writeln!(s, "  neighbor {} as {};", sess.peer_ip, sess.peer_asn);
        let _ = writeln!(
            s,
            "  interface {};",
            quoted(&BgpPeering::interface(sess.index))
        );
        s.push_str("  direct;\n");
        match &p.auth_key {
            Some(k) => {
                let _ = writeln!(s, "  password {};", quoted(k));
            }
            None => {
                s.push_str("  # password \"<AuthKey>\";   (when the customer gateway has one)\n")
            }
        }
        s.push_str("  ipv4 {\n");
        if sess.index == 1 {
            s.push_str("    import filter dualsec_import;\n");
            s.push_str("    export where proto = \"dualsec_advertise\";\n");
        } else {
            s.push_str(
                "    import filter { if net = 0.0.0.0/0 then reject; bgp_local_pref = 50; accept; };\n",
            );
            let _ = writeln!(
                s,
                "    export filter {{ if proto != \"dualsec_advertise\" then reject; bgp_path.prepend({}); accept; }};",
                sess.local_asn
            );
        }
        let _ = writeln!(s, "    import limit {IMPORT_LIMIT} action disable;");
        s.push_str("  };\n}\n");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    /// A download as the API renders it for a connection with BGP on both tunnels
    /// (api-reference §5.5: mirrored, all strings).
    pub(crate) fn download() -> Value {
        json!({"VpnConnectionConfig": {
            "LocalSubnet": "198.19.1.0/24,198.19.2.0/24",
            "RemoteSubnet": "0.0.0.0/0",
            "TunnelsConfig": {"TunnelConfig": [
                {"TunnelId": "tun-aaa"}, {"TunnelId": "tun-bbb"}
            ]},
            "BgpConfigs": {"BgpConfig": [
                {"TunnelId": "tun-bbb", "TunnelCidr": "169.254.20.0/30", "LocalAsn": "65001",
                 "LocalBgpIp": "169.254.20.2", "PeerAsn": "45104", "PeerBgpIp": "169.254.20.1"},
                {"TunnelId": "tun-aaa", "TunnelCidr": "169.254.10.0/30", "LocalAsn": "1.10",
                 "LocalBgpIp": "169.254.10.2", "PeerAsn": "45104", "PeerBgpIp": "169.254.10.1"}
            ]}
        }})
    }

    #[test]
    fn parses_mirrored_bgp_configs_in_tunnel_order() {
        let p = BgpPeering::from_download(&download(), "vco-x1", Some("k3y")).unwrap();
        assert_eq!(p.sessions.len(), 2);
        assert_eq!(p.sessions[0].index, 1);
        assert_eq!(p.sessions[0].tunnel_id, "tun-aaa");
        // asdot `1.10` = 65546 (RFC 5396).
        assert_eq!(p.sessions[0].local_asn, 65_546);
        assert_eq!(p.sessions[1].peer_ip, "169.254.20.1");
        assert_eq!(p.advertise, vec!["198.19.1.0/24", "198.19.2.0/24"]);
    }

    #[test]
    fn no_bgp_configs_is_a_named_error() {
        let mut d = download();
        d["VpnConnectionConfig"]["BgpConfigs"]["BgpConfig"] = json!([]);
        let e = BgpPeering::from_download(&d, "vco-x1", None).unwrap_err();
        assert!(e.to_string().contains("EnableTunnelsBgp"), "{e}");
    }

    #[test]
    fn bad_asn_and_injection_are_refused() {
        let mut d = download();
        d["VpnConnectionConfig"]["BgpConfigs"]["BgpConfig"][0]["LocalAsn"] = json!("0");
        assert!(BgpPeering::from_download(&d, "vco-x1", None).is_err());
        let mut d = download();
        d["VpnConnectionConfig"]["BgpConfigs"]["BgpConfig"][0]["PeerBgpIp"] = json!("1.2.3.4; }");
        assert!(matches!(
            BgpPeering::from_download(&d, "vco-x1", None),
            Err(PeerConfigError::Unrenderable { .. })
        ));
    }

    #[test]
    fn bird_sessions_prefer_tunnel_1_and_filter_default_route() {
        let p = BgpPeering::from_download(&download(), "vco-x1", Some("k\"3y")).unwrap();
        let c = bird(&p).unwrap();
        assert!(c.contains("protocol bgp vco_x1_tunnel1 {\n  local 169.254.10.2 as 65546;\n  neighbor 169.254.10.1 as 45104;"), "{c}");
        assert!(
            c.contains("protocol bgp vco_x1_tunnel2 {\n  local 169.254.20.2 as 65001;"),
            "{c}"
        );
        assert!(c.contains("password \"k\\\"3y\";"), "{c}");
        assert!(c.contains("route 198.19.2.0/24 blackhole;"));
        assert!(c.contains("if net = 0.0.0.0/0 then reject;"));
        assert!(c.contains("bgp_local_pref = 50;"));
        assert_eq!(c.matches("import limit 50 action disable;").count(), 2);
    }

    /// BIRD 2 itself parses the generated file (`bird -p`), when installed.
    #[test]
    fn bird_parses_generated_config() {
        let p = BgpPeering::from_download(&download(), "vco-x1", Some("secret")).unwrap();
        check_with_tool(&bird(&p).unwrap(), "bird.conf", "bird", &["-p", "-c"]);
    }

    /// FRR's bgpd parses the generated file (`bgpd --dryrun`), when installed.
    #[test]
    fn frr_parses_generated_config() {
        let mut p = BgpPeering::from_download(&download(), "vco-x1", Some("secret")).unwrap();
        for s in &mut p.sessions {
            s.local_asn = 65001;
        }
        let c = super::super::frr::frr(&p).unwrap();
        assert!(c.contains("router bgp 65001\n"), "{c}");
        assert!(c.contains(" neighbor 169.254.10.1 remote-as 45104\n"));
        assert!(c.contains(" neighbor 169.254.20.1 password secret\n"));
        assert!(c.contains("  neighbor 169.254.20.1 route-map DUALSEC-OUT-BACKUP out\n"));
        assert!(c.contains("ip prefix-list DUALSEC-IN seq 5 deny 0.0.0.0/0\n"));
        check_with_tool(&c, "frr.conf", "/usr/lib/frr/bgpd", &["--dryrun", "-f"]);
    }

    #[test]
    fn frr_refuses_different_asns_per_tunnel() {
        let p = BgpPeering::from_download(&download(), "vco-x1", None).unwrap();
        assert!(super::super::frr::frr(&p).is_err());
    }

    fn check_with_tool(conf: &str, file: &str, tool: &str, args: &[&str]) {
        let path = std::env::temp_dir().join(format!("dualsec-{}-{file}", std::process::id()));
        std::fs::write(&path, conf).unwrap();
        let out = std::process::Command::new(tool)
            .args(args)
            .arg(&path)
            .output();
        let _ = std::fs::remove_file(&path);
        match out {
            Err(e) => {
                assert!(
                    std::env::var_os("DUALSEC_REQUIRE_INTEROP").is_none_or(|v| v.is_empty()),
                    "{tool} required: {e}"
                );
                eprintln!("skipping: {tool} not runnable: {e}");
            }
            Ok(o) => {
                // bgpd --dryrun exits 0 even on a bad line; it logs `[EC …] No such command`.
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                assert!(
                    o.status.success() && !text.contains("[EC ") && !text.contains("rror"),
                    "{tool} rejects the generated config:\n{text}\n{conf}"
                );
            }
        }
    }
}
