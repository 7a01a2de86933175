//! Issue 8 end to end: IKEv1 tunnels in the engine. The real `dualsec serve` in the `gw`
//! namespace, the connection created with the CLI with `IkeVersion=ikev1` on both tunnels, the
//! customer side a strongSwan loaded with the generated `swanctl.conf` unchanged (`version = 1`,
//! `aggressive = yes`); ping and iperf3 VPC host ⇄ IDC host through the tunnels, in main mode
//! with the API default proposal (aes/md5/group2) and in aggressive mode.
//!
//! Needs root, strongSwan (charon, swanctl), ping and iperf3; skips with a message without them,
//! fails when `DUALSEC_REQUIRE_INTEROP` is set (CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod e2e;

use e2e::*;

/// Brings an IKEv1 connection up with `tunnel_sets` against strongSwan loaded with the
/// generated config unchanged, checks what the config says and what strongSwan negotiated, and
/// passes traffic both ways.
fn ikev1_tunnel_up(tunnel_sets: &[(&str, &str)], aggressive: bool, proposal: &str) {
    if !dualsec_testbed::require(&["charon", "swanctl", "ping", "iperf3", "ip"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let d = Dualsec::start(&topo);
    let (vco, _tunnels) = create_connection(&d, "ikev1", true, tunnel_sets);
    let conf = d.cli(&["peer-config", &vco, "--format", "swanctl"]);
    assert!(conf.contains("version = 1"), "{conf}");
    assert_eq!(conf.contains("aggressive = yes"), aggressive, "{conf}");
    assert!(conf.contains(&format!("proposals = {proposal}")), "{conf}");
    for (k, v) in tunnel_sets {
        if k.ends_with("Id") {
            for n in ["1", "2"] {
                let id = v.replace("{n}", n);
                assert!(conf.contains(&format!("id = {id}")), "{conf}");
            }
        }
    }
    let cgw = Charon::start(
        &topo.cgw,
        &CharonOptions {
            aggressive_mode_psk: aggressive,
            ..CharonOptions::default()
        },
    )
    .unwrap();
    cgw.load(&conf).unwrap();
    // R-CONN-3 EffectImmediately=true: dualsec initiates both tunnels.
    d.wait_tunnel(&vco, 0, "ipsec_sa_established", Duration::from_secs(30));
    d.wait_tunnel(&vco, 1, "ipsec_sa_established", Duration::from_secs(30));
    // strongSwan agrees: IKEv1 SAs for both tunnels.
    let sas = cgw.list_sas().unwrap();
    for n in 1..=2 {
        let sa = sas
            .iter()
            .find(|s| s.name == format!("{vco}-tunnel{n}") && s.state == "ESTABLISHED")
            .unwrap_or_else(|| panic!("tunnel {n} IKE SA at the customer: {sas:?}"));
        assert_eq!(sa.version, 1, "{sa:?}");
        assert!(!sa.children.is_empty(), "{sa:?}");
    }
    ping_both_ways(&topo);
    iperf_both_ways(&topo);
    // Failover works over IKEv1 as over IKEv2 (issue 8): the fast probes (DPD R-U-THERE) are
    // answered, so tunnel 1 (master, R-HA-1) carries VPC → IDC. Under load (iperf3 on a shared
    // 2-core host) a probe can go unanswered and traffic fail over for a while; it must come
    // back to tunnel 1 (failback after the 3 s hold-down).
    let name1 = format!("{vco}-tunnel1");
    let carried = wait_until(
        "tunnel 1 carries VPC → IDC",
        Duration::from_secs(10),
        || {
            let before = peer_packets_in(&cgw, &name1);
            let r = traffic::ping(&topo.vpc, IDC_HOST, 3, Duration::from_millis(50)).unwrap();
            r.received == 3 && peer_packets_in(&cgw, &name1) >= before + 3
        },
    );
    let log = d.serve.stderr();
    assert!(carried.is_ok(), "{}", tail(&log, 40));
    let switches: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("failover:") || l.contains("failback:"))
        .collect();
    if let Some(last) = switches.last() {
        eprintln!("failover switches during the test: {switches:#?}");
        assert!(last.contains("to tunnel 1 (master)"), "{switches:#?}");
    }
}

fn peer_packets_in(cgw: &Charon, ike_name: &str) -> u64 {
    cgw.list_sas()
        .unwrap()
        .iter()
        .filter(|s| s.name == ike_name)
        .flat_map(|s| s.children.iter())
        .map(|c| c.packets_in)
        .sum()
}

/// Issue 8: main mode with the API default proposal (aes/md5/group2, api-reference §8).
#[test]
fn e2e_ikev1_main_mode_default_proposal() {
    ikev1_tunnel_up(&[], false, "aes128-md5-modp1024");
}

/// Issue 8: aggressive mode with FQDN identities (R-TUN-3 recommends it), aes/sha1/group2.
#[test]
fn e2e_ikev1_aggressive_mode_fqdn_ids() {
    ikev1_tunnel_up(
        &[
            ("TunnelIkeConfig.IkeMode", "aggressive"),
            ("TunnelIkeConfig.IkeAuthAlg", "sha1"),
            // Distinct per tunnel: strongSwan, as aggressive-mode responder, picks the PSK by
            // the ID pair, and the tunnels have different PSKs.
            (
                "TunnelIkeConfig.LocalId",
                "tunnel{n}.vpn-gw.dualsec.example",
            ),
            ("TunnelIkeConfig.RemoteId", "tunnel{n}.cgw.idc.example"),
        ],
        true,
        "aes128-sha1-modp1024",
    );
}
