//! The swanctl generator on API responses shaped like the server's (render.rs).

use serde_json::{Value, json};

use super::*;

fn tunnel_cfg(id: &str, remote: &str, psk: &str) -> Value {
    json!({
        "TunnelId": id,
        "Role": "master",
        "Local": "203.0.113.1",
        "Remote": remote,
        "IkeConfig": {
            "Psk": psk, "IkeVersion": "ikev2", "IkeMode": "main", "IkeEncAlg": "aes",
            "IkeAuthAlg": "sha1", "IkePfs": "group2", "IkeLifetime": 86400,
            "LocalId": "203.0.113.1", "RemoteId": remote,
        },
        "IpsecConfig": {
            "IpsecEncAlg": "aes", "IpsecAuthAlg": "sha1", "IpsecPfs": "group2",
            "IpsecLifetime": 3600,
        },
    })
}

fn download() -> Value {
    json!({
        "RequestId": "r",
        "VpnConnectionConfig": {
            "LocalSubnet": "198.19.1.0/24",
            "RemoteSubnet": "198.18.1.0/24,198.18.2.0/24",
            "Local": "203.0.113.1",
            "Remote": "192.0.2.1",
            "TunnelsConfig": {"TunnelConfig": [
                tunnel_cfg("tun-1", "192.0.2.1", "s3cret-1"),
                tunnel_cfg("tun-2", "192.0.2.2", "s3cret-2"),
            ]},
        }
    })
}

fn describe() -> Value {
    json!({
        "RequestId": "r",
        "VpnConnectionId": "vco-abc",
        "Name": "office",
        "TunnelOptionsSpecification": {"TunnelOptions": [
            {"TunnelId": "tun-1", "TunnelIndex": 1, "EnableDpd": "true"},
            {"TunnelId": "tun-2", "TunnelIndex": 2, "EnableDpd": "false"},
        ]},
    })
}

fn block<'a>(conf: &'a str, name: &str) -> &'a str {
    let start = conf.find(&format!("  {name} {{")).unwrap();
    let end = conf[start..].find("\n  }\n").unwrap();
    &conf[start..start + end]
}

#[test]
fn both_tunnels_mirrored_with_product_default_proposals() {
    // api-reference §5.5: the customer's view; R-TUN-3/R-TUN-4 proposals; PFS appended.
    let cfg = PeerConfig::from_api(&download(), &describe()).unwrap();
    assert_eq!(cfg.tunnels.len(), 2);
    let conf = swanctl(&cfg).unwrap();
    let t1 = block(&conf, "vco-abc-tunnel1");
    assert!(t1.contains("version = 2"), "{t1}");
    assert!(t1.contains("local_addrs = 203.0.113.1"));
    assert!(t1.contains("remote_addrs = 192.0.2.1"));
    assert!(t1.contains("proposals = aes128-sha1-modp1024"));
    assert!(t1.contains("esp_proposals = aes128-sha1-modp1024"));
    assert!(t1.contains("local_ts = 198.19.1.0/24\n"));
    assert!(t1.contains("remote_ts = 198.18.1.0/24,198.18.2.0/24\n"));
    assert!(t1.contains("encap = yes"));
    assert!(t1.contains("start_action = none"));
    assert!(t1.contains("dpd_delay = 10s"));
    assert!(t1.contains("rekey_time = 3600s"));
    assert!(t1.contains("life_time = 3960s"));
    assert!(t1.contains("id = 203.0.113.1"));
    let t2 = block(&conf, "vco-abc-tunnel2");
    assert!(t2.contains("remote_addrs = 192.0.2.2"));
    assert!(t2.contains("id = 192.0.2.2"));
    // DPD off on tunnel 2 (R-TUN-5 setting honoured).
    assert!(!t2.contains("dpd_delay"), "{t2}");
    assert!(conf.contains(
        "  ike-vco-abc-tunnel1 {\n    id-1 = 203.0.113.1\n    id-2 = 192.0.2.1\n    secret = \"s3cret-1\"\n  }"
    ));
    assert!(conf.contains("ike-vco-abc-tunnel2 {\n    id-1 = 203.0.113.1\n    id-2 = 192.0.2.2\n    secret = \"s3cret-2\""));
}

#[test]
fn pfs_disabled_drops_the_dh_group_from_esp_only() {
    let mut d = download();
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IpsecConfig"]["IpsecPfs"] =
        json!("disabled");
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IpsecConfig"]["IpsecEncAlg"] =
        json!("aes256");
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IpsecConfig"]["IpsecAuthAlg"] =
        json!("sha256");
    let conf = swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap();
    let t1 = block(&conf, "vco-abc-tunnel1");
    assert!(t1.contains("esp_proposals = aes256-sha256\n"), "{t1}");
    assert!(t1.contains("proposals = aes128-sha1-modp1024\n"));
}

#[test]
fn aead_cipher_takes_no_integrity() {
    let mut d = download();
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][1]["IpsecConfig"]["IpsecEncAlg"] =
        json!("aes128gcm16");
    let conf = swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap();
    assert!(
        block(&conf, "vco-abc-tunnel2").contains("esp_proposals = aes128gcm16-modp1024\n"),
        "{conf}"
    );
}

#[test]
fn ikev1_aggressive_is_written() {
    let mut d = download();
    let ike = &mut d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IkeConfig"];
    ike["IkeVersion"] = json!("ikev1");
    ike["IkeMode"] = json!("aggressive");
    let conf = swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap();
    let t1 = block(&conf, "vco-abc-tunnel1");
    assert!(t1.contains("version = 1\n    aggressive = yes\n"), "{t1}");
    assert!(block(&conf, "vco-abc-tunnel2").contains("version = 2"));
}

#[test]
fn zero_lifetime_means_the_gateway_default() {
    let mut d = download();
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IpsecConfig"]["IpsecLifetime"] =
        json!(0);
    let conf = swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap();
    assert!(
        block(&conf, "vco-abc-tunnel1").contains("rekey_time = 86400s\n        life_time = 95040s")
    );
}

#[test]
fn awkward_psk_is_base64_encoded() {
    let mut d = download();
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IkeConfig"]["Psk"] =
        json!("a \"quoted\" # key");
    let conf = swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap();
    assert!(
        conf.contains("secret = 0sYSAicXVvdGVkIiAjIGtleQ==\n"),
        "{conf}"
    );
}

#[test]
fn malformed_input_is_a_typed_error() {
    let mut d = download();
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]
        .as_object_mut()
        .unwrap()
        .remove("Remote");
    assert_eq!(
        PeerConfig::from_api(&d, &describe()).unwrap_err(),
        PeerConfigError::MissingField {
            field: "Remote".into()
        }
    );
    let mut d = download();
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IkeConfig"]["LocalId"] =
        json!("evil\n}\nconnections {");
    let err = swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        PeerConfigError::Unrenderable {
            field: "LocalId",
            ..
        }
    ));
    let mut d = download();
    d["VpnConnectionConfig"]["TunnelsConfig"]["TunnelConfig"][0]["IkeConfig"]["IkeEncAlg"] =
        json!("rot13");
    assert!(matches!(
        swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap_err(),
        PeerConfigError::Algorithm { .. }
    ));
    assert!(PeerConfig::from_api(&json!({}), &describe()).is_err());
}

/// Issue 7: with BGP on, each tunnel's CHILD SA also carries its own session (customer BGP
/// address /32 local, gateway's /32 remote), mirroring the gateway's selectors; the other
/// tunnel's session addresses are not in it.
#[test]
fn bgp_session_addresses_join_their_own_tunnels_selectors() {
    let mut d = download();
    d["VpnConnectionConfig"]["BgpConfigs"] = json!({"BgpConfig": [
        {"TunnelId": "tun-1", "TunnelCidr": "169.254.10.0/30", "LocalAsn": "65001",
         "LocalBgpIp": "169.254.10.2", "PeerAsn": "45104", "PeerBgpIp": "169.254.10.1"},
        {"TunnelId": "tun-2", "TunnelCidr": "169.254.20.0/30", "LocalAsn": "65001",
         "LocalBgpIp": "169.254.20.2", "PeerAsn": "45104", "PeerBgpIp": "169.254.20.1"},
    ]});
    let conf = swanctl(&PeerConfig::from_api(&d, &describe()).unwrap()).unwrap();
    let t1 = block(&conf, "vco-abc-tunnel1");
    let t2 = block(&conf, "vco-abc-tunnel2");
    assert!(
        t1.contains("local_ts = 198.19.1.0/24,169.254.10.2/32\n"),
        "{t1}"
    );
    assert!(
        t1.contains("remote_ts = 198.18.1.0/24,198.18.2.0/24,169.254.10.1/32\n"),
        "{t1}"
    );
    assert!(
        t2.contains("local_ts = 198.19.1.0/24,169.254.20.2/32\n"),
        "{t2}"
    );
    assert!(!t1.contains("169.254.20."), "{t1}");
    // Without BGP the selectors are the subnets only.
    let plain = swanctl(&PeerConfig::from_api(&download(), &describe()).unwrap()).unwrap();
    assert!(!plain.contains("169.254."), "{plain}");
}
