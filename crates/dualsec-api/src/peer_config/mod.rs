//! Customer-side device configurations generated from what the API returns.
//!
//! [`swanctl`] renders a complete strongSwan `swanctl.conf` for both tunnels of a connection:
//! load it unchanged on the customer gateway (`swanctl --load-all --file …`). Input is parsed in
//! two layers (STYLE.md §5): [`PeerConfig::from_api`] reads the JSON of
//! `DownloadVpnConnectionConfig` (the customer's mirrored view, api-reference §5.5) and
//! `DescribeVpnConnection` (DPD, NAT traversal, the connection's name) into typed fields; the
//! renderer maps product algorithm names through `dualsec_crypto::product`, the one table of
//! them, so the proposals written are exactly what the gateway negotiates (R-TUN-3, R-TUN-4).
//!
//! Choices made for the customer side, and why:
//! - **dualsec initiates** (`start_action = none` on the customer side): the gateway negotiates
//!   at once or on the first VPC packet (R-CONN-3) and re-establishes a tunnel after DPD, so the
//!   customer side only responds. Two initiators would race and create duplicate IKE SAs; two
//!   `trap` policies for the same subnets (one per tunnel) would conflict.
//! - **The gateway rekeys**: the customer's `rekey_time` is the full lifetime (the gateway
//!   rekeys at 90 % of it) with no randomisation, so the customer side rekeys only when the
//!   gateway did not.
//! - **`encap = yes`**: the data plane carries ESP in UDP 4500 only (RFC 3948), so the customer
//!   side is told to encapsulate even without a NAT.
//! - **`mobike = no`**: both tunnels end at the same customer address; MOBIKE would move an IKE
//!   SA onto the other tunnel's gateway address.
//! - **`local_addrs`** is the customer gateway's IP as registered. Behind a NAT that address is
//!   not on the device: set `local_addrs = %any` there (the generated file says so).

use std::fmt::Write as _;

pub mod bird;
pub mod frr;

use base64::Engine as _;
use dualsec_crypto::product::{self, Suite};
use serde_json::Value;

/// Why a configuration cannot be generated: names the field that is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerConfigError {
    /// A field the API always returns is missing or has the wrong type: the server (or the
    /// JSON handed in) is not what this generator expects.
    #[error("the API response has no usable {field}")]
    MissingField {
        /// JSON path of the field.
        field: String,
    },
    /// An algorithm name this generator cannot translate for strongSwan.
    #[error("{field} = {value:?} has no strongSwan equivalent: {why}")]
    Algorithm {
        /// Which setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// What the algorithm table said.
        why: String,
    },
    /// A value that would break the file's syntax (e.g. an IKE identity with spaces).
    #[error("{field} = {value:?} cannot be written into swanctl.conf")]
    Unrenderable {
        /// Which setting.
        field: &'static str,
        /// Its value.
        value: String,
    },
}

/// One tunnel as the customer gateway sees it (local = customer, remote = dualsec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerTunnel {
    /// 1 (master) or 2 (backup).
    pub index: u8,
    /// `tun-…`.
    pub tunnel_id: String,
    /// The customer gateway's IP.
    pub local_addr: String,
    /// The dualsec public IP of this tunnel.
    pub remote_addr: String,
    /// IKE identity of the customer side.
    pub local_id: String,
    /// IKE identity of the gateway.
    pub remote_id: String,
    /// Pre-shared key.
    pub psk: String,
    /// `ikev1` or `ikev2`.
    pub ike_version: String,
    /// `main` or `aggressive` (IKEv1 only).
    pub ike_mode: String,
    /// Product IKE encryption name (`aes` …).
    pub ike_enc: String,
    /// Product IKE authentication name (`sha1` …).
    pub ike_auth: String,
    /// Product IKE DH group (`group2` …).
    pub ike_dh: String,
    /// IKE SA lifetime in seconds (0 = the gateway's default).
    pub ike_lifetime: u32,
    /// Product ESP encryption name.
    pub ipsec_enc: String,
    /// Product ESP authentication name.
    pub ipsec_auth: String,
    /// PFS group (`disabled` for none).
    pub ipsec_pfs: String,
    /// CHILD SA lifetime in seconds (0 = the gateway's default).
    pub ipsec_lifetime: u32,
    /// Dead peer detection on (R-TUN-5).
    pub dpd: bool,
    /// The tunnel's BGP session addresses `(customer, gateway)` when BGP is on (issue 7): each
    /// is added as a /32 to this tunnel's selectors (IKEv2), mirroring the gateway, so the
    /// session's packets ride this tunnel's CHILD SA and no other.
    pub bgp_ips: Option<(String, String)>,
}

/// A connection's customer-side view: both tunnels and the subnets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// `vco-…`; connection names in the file derive from it.
    pub connection_id: String,
    /// The connection's name, if any (a comment in the file).
    pub name: Option<String>,
    /// The customer's subnets (the connection's `RemoteSubnet`).
    pub local_subnets: Vec<String>,
    /// The VPC subnets (the connection's `LocalSubnet`).
    pub remote_subnets: Vec<String>,
    /// Tunnel 1 then tunnel 2.
    pub tunnels: Vec<PeerTunnel>,
}

/// The gateway's default lifetimes when the setting is 0 (R-TUN-3/4 allow 0; the engine treats
/// it as the maximum, 86400 s).
const DEFAULT_LIFETIME_S: u32 = 86_400;
/// Customer-side DPD interval: the gateway's (R-TUN-5).
const DPD_DELAY_S: u32 = 10;

fn unwrap_envelope<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(v)
}

fn str_at(v: &Value, path: &[&str]) -> Result<String, PeerConfigError> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p).ok_or_else(|| missing(path))?;
    }
    match cur {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(missing(path)),
    }
}

fn u32_at(v: &Value, path: &[&str]) -> Result<u32, PeerConfigError> {
    str_at(v, path)?.parse().map_err(|_| missing(path))
}

fn missing(path: &[&str]) -> PeerConfigError {
    PeerConfigError::MissingField {
        field: path.join("."),
    }
}

fn subnets(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

impl PeerConfig {
    /// Reads the responses of `DownloadVpnConnectionConfig` and `DescribeVpnConnection` (whole
    /// response bodies, or just their `VpnConnectionConfig` / connection object).
    pub fn from_api(download: &Value, describe: &Value) -> Result<PeerConfig, PeerConfigError> {
        let cfg = unwrap_envelope(download, "VpnConnectionConfig");
        let connection_id = str_at(describe, &["VpnConnectionId"])?;
        let name = describe
            .get("Name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let described: &[Value] = describe
            .get("TunnelOptionsSpecification")
            .and_then(|t| t.get("TunnelOptions"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let list = cfg
            .get("TunnelsConfig")
            .and_then(|t| t.get("TunnelConfig"))
            .and_then(Value::as_array)
            .ok_or_else(|| missing(&["VpnConnectionConfig", "TunnelsConfig", "TunnelConfig"]))?;
        let bgp_list: &[Value] = cfg
            .get("BgpConfigs")
            .and_then(|b| b.get("BgpConfig"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut tunnels = Vec::with_capacity(list.len());
        for (i, t) in list.iter().enumerate() {
            let tunnel_id = str_at(t, &["TunnelId"])?;
            let desc = described
                .iter()
                .find(|d| d.get("TunnelId").and_then(Value::as_str) == Some(tunnel_id.as_str()));
            let index = desc
                .and_then(|d| str_at(d, &["TunnelIndex"]).ok())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| u8::try_from(i + 1).unwrap_or(u8::MAX));
            // Describe writes booleans as strings ("true"); DPD is on by default (R-TUN-5).
            let dpd = desc
                .and_then(|d| str_at(d, &["EnableDpd"]).ok())
                .is_none_or(|s| s != "false");
            let bgp_ips = match bgp_list
                .iter()
                .find(|b| b.get("TunnelId").and_then(Value::as_str) == Some(tunnel_id.as_str()))
            {
                Some(b) => Some((str_at(b, &["LocalBgpIp"])?, str_at(b, &["PeerBgpIp"])?)),
                None => None,
            };
            tunnels.push(PeerTunnel {
                index,
                tunnel_id,
                local_addr: str_at(t, &["Local"])?,
                remote_addr: str_at(t, &["Remote"])?,
                local_id: str_at(t, &["IkeConfig", "LocalId"])?,
                remote_id: str_at(t, &["IkeConfig", "RemoteId"])?,
                psk: str_at(t, &["IkeConfig", "Psk"])?,
                ike_version: str_at(t, &["IkeConfig", "IkeVersion"])?,
                ike_mode: str_at(t, &["IkeConfig", "IkeMode"])?,
                ike_enc: str_at(t, &["IkeConfig", "IkeEncAlg"])?,
                ike_auth: str_at(t, &["IkeConfig", "IkeAuthAlg"])?,
                ike_dh: str_at(t, &["IkeConfig", "IkePfs"])?,
                ike_lifetime: u32_at(t, &["IkeConfig", "IkeLifetime"])?,
                ipsec_enc: str_at(t, &["IpsecConfig", "IpsecEncAlg"])?,
                ipsec_auth: str_at(t, &["IpsecConfig", "IpsecAuthAlg"])?,
                ipsec_pfs: str_at(t, &["IpsecConfig", "IpsecPfs"])?,
                ipsec_lifetime: u32_at(t, &["IpsecConfig", "IpsecLifetime"])?,
                dpd,
                bgp_ips,
            });
        }
        tunnels.sort_by_key(|t| t.index);
        Ok(PeerConfig {
            connection_id,
            name,
            local_subnets: subnets(&str_at(cfg, &["LocalSubnet"])?),
            remote_subnets: subnets(&str_at(cfg, &["RemoteSubnet"])?),
            tunnels,
        })
    }
}

/// A suite from product names; AEAD ciphers (`aes128gcm16` …) take no integrity algorithm.
fn suite(field: &'static str, enc: &str, auth: &str, dh: &str) -> Result<Suite, PeerConfigError> {
    let err = |e: dualsec_crypto::error::CryptoError| PeerConfigError::Algorithm {
        field,
        value: format!("{enc}/{auth}/{dh}"),
        why: e.to_string(),
    };
    match product::encryption(enc) {
        Ok(_) => Suite::from_product(enc, auth, dh).map_err(err),
        Err(_) => {
            // Not a product CBC name: an AEAD keyword, which has no separate integrity.
            let mut s = Suite::parse_strongswan(enc).map_err(err)?;
            s.dh = product::dh_group(dh).map_err(err)?;
            Ok(s)
        }
    }
}

/// A token safe to write unquoted (identities, addresses, subnets).
fn token(field: &'static str, v: &str) -> Result<String, PeerConfigError> {
    let ok = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:-_@/%".contains(c));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(PeerConfigError::Unrenderable {
            field,
            value: v.to_owned(),
        })
    }
}

/// A PSK: quoted when plain, else strongSwan's `0s` base64 form (no escaping pitfalls).
fn secret(psk: &str) -> String {
    if psk
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' && c != '#')
    {
        format!("\"{psk}\"")
    } else {
        format!(
            "0s{}",
            base64::engine::general_purpose::STANDARD.encode(psk.as_bytes())
        )
    }
}

fn lifetime(s: u32) -> u32 {
    if s == 0 { DEFAULT_LIFETIME_S } else { s }
}

/// Renders the customer gateway's complete `swanctl.conf`: `connections { <vco>-tunnel1 {…}
/// <vco>-tunnel2 {…} }` and one `secrets` entry per tunnel. See the module doc for the choices.
pub fn swanctl(cfg: &PeerConfig) -> Result<String, PeerConfigError> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# strongSwan swanctl.conf for the customer gateway of {}{}",
        cfg.connection_id,
        cfg.name
            .as_deref()
            .map(|n| format!(" ({})", n.replace('\n', " ")))
            .unwrap_or_default()
    );
    s.push_str(
        "# Generated by dualsec (dualsec peer-config ID --format swanctl). Load with\n\
         #   swanctl --load-all --file THIS_FILE\n\
         # dualsec initiates both tunnels; this side only responds (start_action = none).\n\
         # Behind a NAT, set local_addrs = %any (the ids stay as they are).\n",
    );
    let local_ts = cfg
        .local_subnets
        .iter()
        .map(|n| token("LocalSubnet", n))
        .collect::<Result<Vec<_>, _>>()?
        .join(",");
    let remote_ts = cfg
        .remote_subnets
        .iter()
        .map(|n| token("RemoteSubnet", n))
        .collect::<Result<Vec<_>, _>>()?
        .join(",");
    if local_ts.is_empty() || remote_ts.is_empty() {
        return Err(PeerConfigError::MissingField {
            field: "LocalSubnet/RemoteSubnet".into(),
        });
    }
    if cfg.remote_subnets.iter().any(|n| n == "0.0.0.0/0") {
        // Destination routing: a strongSwan that installs routes for its selectors (kernel-libipsec,
        // `install_routes`) would route one tunnel's IKE packets to the other gateway IP into
        // the first tunnel's 0.0.0.0/0 route.
        s.push_str(
            "# The selectors are 0.0.0.0/0 (destination routing): keep the gateway's public IPs\n\
             # and your own networks out of the tunnels' routes (strongSwan routes 0.0.0.0/0 into\n\
             # the tunnel in table 220), e.g.\n\
             #   (each of your networks) ip rule add to <LAN prefix> lookup main pref 100\n",
        );
        for t in &cfg.tunnels {
            let _ = writeln!(
                s,
                "#   ip rule add to {} lookup main pref 100",
                token("Remote", &t.remote_addr)?
            );
        }
    }
    s.push_str("connections {\n");
    let mut secrets = String::from("secrets {\n");
    for t in &cfg.tunnels {
        let name = format!(
            "{}-tunnel{}",
            token("VpnConnectionId", &cfg.connection_id)?,
            t.index
        );
        let ike = suite("IkeConfig", &t.ike_enc, &t.ike_auth, &t.ike_dh)?;
        if ike.dh.is_none() {
            return Err(PeerConfigError::Algorithm {
                field: "IkePfs",
                value: t.ike_dh.clone(),
                why: "phase 1 needs a DH group".into(),
            });
        }
        let esp = suite("IpsecConfig", &t.ipsec_enc, &t.ipsec_auth, &t.ipsec_pfs)?;
        let (version, aggressive) = match t.ike_version.as_str() {
            "ikev1" => (1, t.ike_mode == "aggressive"),
            "ikev2" => (2, false),
            other => {
                return Err(PeerConfigError::Unrenderable {
                    field: "IkeVersion",
                    value: other.to_owned(),
                });
            }
        };
        let (local_addr, remote_addr) = (
            token("Local", &t.local_addr)?,
            token("Remote", &t.remote_addr)?,
        );
        let (local_id, remote_id) = (
            token("LocalId", &t.local_id)?,
            token("RemoteId", &t.remote_id)?,
        );
        let ike_life = lifetime(t.ike_lifetime);
        let child_life = lifetime(t.ipsec_lifetime);
        let role = if t.index == 1 { "master" } else { "backup" };
        let _ = writeln!(s, "  # tunnel {} ({role}): {}", t.index, t.tunnel_id);
        let _ = writeln!(s, "  {name} {{");
        let _ = writeln!(s, "    version = {version}");
        if aggressive {
            s.push_str("    aggressive = yes\n");
        }
        let _ = writeln!(s, "    local_addrs = {local_addr}");
        let _ = writeln!(s, "    remote_addrs = {remote_addr}");
        let _ = writeln!(s, "    proposals = {}", ike.to_strongswan_ike());
        // The gateway rekeys at 90 % of the lifetime; this side only as a fallback.
        let _ = writeln!(s, "    rekey_time = {ike_life}s\n    rand_time = 0s");
        s.push_str("    encap = yes\n    mobike = no\n");
        if t.dpd {
            let _ = writeln!(s, "    dpd_delay = {DPD_DELAY_S}s");
        }
        let _ = writeln!(
            s,
            "    local {{\n      auth = psk\n      id = {local_id}\n    }}"
        );
        let _ = writeln!(
            s,
            "    remote {{\n      auth = psk\n      id = {remote_id}\n    }}"
        );
        s.push_str("    children {\n");
        let _ = writeln!(s, "      {name} {{");
        // Issue 7: the tunnel's BGP session rides its own CHILD SA (IKEv2 only: IKEv1 negotiates
        // one selector pair, the gateway adds none there).
        let (mut lts, mut rts) = (local_ts.clone(), remote_ts.clone());
        if let (Some((ours, theirs)), 2) = (&t.bgp_ips, version) {
            let _ = writeln!(
                s,
                "        # BGP session of this tunnel: {ours} (put it on an interface of this device) <-> {theirs}"
            );
            lts = format!("{lts},{}/32", token("LocalBgpIp", ours)?);
            rts = format!("{rts},{}/32", token("PeerBgpIp", theirs)?);
        }
        let _ = writeln!(s, "        local_ts = {lts}");
        let _ = writeln!(s, "        remote_ts = {rts}");
        let _ = writeln!(s, "        esp_proposals = {}", esp.to_strongswan_esp());
        let _ = writeln!(s, "        rekey_time = {child_life}s");
        let _ = writeln!(s, "        life_time = {}s", child_life + child_life / 10);
        s.push_str("        rand_time = 0s\n");
        s.push_str("        start_action = none\n        dpd_action = clear\n");
        s.push_str("      }\n    }\n  }\n");
        let _ = writeln!(
            secrets,
            "  ike-{name} {{\n    id-1 = {local_id}\n    id-2 = {remote_id}\n    secret = {}\n  }}",
            secret(&t.psk)
        );
    }
    s.push_str("}\n");
    secrets.push_str("}\n");
    s.push_str(&secrets);
    Ok(s)
}

#[cfg(test)]
mod tests;
