//! Issue 5: `tshark` dissects what dualsec puts on the wire. A capture on the gateway's first
//! uplink while the real `dualsec serve` (in `gw`, connection created through the CLI) brings
//! both tunnels up with strongSwan kernel-libipsec (loaded with the generated `swanctl.conf`)
//! and carries pings. Asserts: IKE on UDP 500 (RFC 7296 §2.23), IKE on UDP 4500 behind the
//! non-ESP marker and ESP in UDP (RFC 3948 §2.1–2.2), no malformed packets or expert errors, and
//! the ESP SPIs tshark reads are the CHILD SA SPIs strongSwan reports.
//!
//! Needs root, strongSwan (charon, swanctl), ping, tcpdump and tshark; skips with a message
//! without them, fails when `DUALSEC_REQUIRE_INTEROP` is set (CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod e2e;

use std::path::Path;

use dualsec_testbed::Uplink;
use dualsec_testbed::capture::{Capture, analyze};
use e2e::*;

/// `tshark -r pcap -Y filter -T fields -e …`, one line per frame.
fn tshark_fields(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut args = vec![
        "-n".to_owned(),
        "-r".to_owned(),
        pcap.display().to_string(),
        "-Y".to_owned(),
        filter.to_owned(),
        "-T".to_owned(),
        "fields".to_owned(),
    ];
    for f in fields {
        args.extend(["-e".to_owned(), (*f).to_owned()]);
    }
    let out = std::process::Command::new("tshark")
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// `0xC1A2B3C4`, `c1a2b3c4` → `c1a2b3c4`.
fn norm_spi(s: &str) -> String {
    s.trim().trim_start_matches("0x").to_ascii_lowercase()
}

#[test]
fn e2e_tshark_dissects_ike_and_esp_in_udp_without_malformed_packets() {
    if !dualsec_testbed::require(&["charon", "swanctl", "ping", "ip", "tcpdump", "tshark"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    // Both uplinks, from the start, so IKE_SA_INIT on port 500 is in the files.
    let filter = "udp port 500 or udp port 4500";
    let cap1 = Capture::start(&topo.gw, Uplink::Az1.gw_dev(), filter).unwrap();
    let cap2 = Capture::start(&topo.gw, Uplink::Az2.gw_dev(), filter).unwrap();
    let d = Dualsec::start(&topo);
    // Two IKEv2 tunnels VPC ⇄ IDC with the product defaults.
    let (vco, _) = create_connection(&d, "ikev2", true, &[]);
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&d.cli(&["peer-config", &vco, "--format", "swanctl"]))
        .unwrap();
    for t in 0..2 {
        d.wait_tunnel(&vco, t, "ipsec_sa_established", Duration::from_secs(30));
    }
    ping_both_ways(&topo);
    let sas = cgw.list_sas().unwrap();
    let pcap1 = cap1.stop().unwrap();
    let pcap2 = cap2.stop().unwrap();
    // Tunnel n runs over IP n. strongSwan sends on whichever of the two CHILD SAs (same traffic
    // selectors) it installed last, dualsec on its active tunnel: ESP may be on either uplink,
    // but always with the SPIs of that uplink's tunnel.
    let spis = |tunnel: &str| -> (String, String) {
        let c = sas
            .iter()
            .filter(|ike| ike.name.ends_with(tunnel))
            .flat_map(|ike| ike.children.iter())
            .find(|c| c.state == "INSTALLED")
            .unwrap_or_else(|| panic!("no installed {tunnel} CHILD SA at the customer: {sas:#?}"));
        (norm_spi(&c.spi_in), norm_spi(&c.spi_out))
    };
    let (t1_in, t1_out) = spis("tunnel1");
    let (t2_in, t2_out) = spis("tunnel2");

    let mut esp_total = 0;
    for (pcap, tunnel_spis) in [(&pcap1, [&t1_in, &t1_out]), (&pcap2, [&t2_in, &t2_out])] {
        let s = analyze(pcap).unwrap();
        assert!(
            s.malformed.is_empty(),
            "{}: tshark reports malformed packets: {:#?}",
            pcap.display(),
            s.malformed
        );
        // IKE_SA_INIT request and response on 500 (RFC 7296 §2.23: strongSwan kernel-libipsec
        // always claims NAT, so everything after moves to 4500).
        let ike500 = tshark_fields(pcap, "udp.port == 500 && isakmp", &["isakmp.exchangetype"]);
        assert!(ike500.len() >= 2, "IKE on UDP 500: {ike500:?} ({s:?})");
        assert!(
            ike500.iter().all(|t| t.trim() == "34"),
            "only IKE_SA_INIT (34) on 500: {ike500:?}"
        );
        // IKE on 4500 must be dissected as IKE, i.e. after the 4-octet non-ESP marker (RFC 3948
        // §2.2); IKE_AUTH (35) both ways at least.
        let ike4500 = tshark_fields(
            pcap,
            "udp.port == 4500 && isakmp",
            &["frame.protocols", "isakmp.exchangetype"],
        );
        assert!(
            ike4500.iter().filter(|l| l.ends_with("\t35")).count() >= 2,
            "IKE_AUTH on UDP 4500: {ike4500:?} ({s:?})"
        );
        assert!(
            ike4500.iter().all(|l| l.contains("udpencap:isakmp")),
            "IKE on 4500 not behind a non-ESP marker: {ike4500:?}"
        );
        // ESP in UDP (RFC 3948 §2.1), every one on this uplink with this tunnel's SPIs.
        let esp = tshark_fields(
            pcap,
            "udp.port == 4500 && esp",
            &["esp.spi", "esp.sequence"],
        );
        assert_eq!(s.esp as usize, esp.len(), "every ESP frame is in UDP 4500");
        for l in &esp {
            let mut f = l.split('\t');
            let spi = norm_spi(f.next().unwrap_or_default());
            assert!(
                tunnel_spis.contains(&&spi),
                "{}: ESP SPI {spi} is not one of {tunnel_spis:?}",
                pcap.display()
            );
            let seq: u64 = f.next().unwrap_or_default().trim().parse().unwrap();
            assert!(
                seq >= 1,
                "ESP sequence numbers start at 1 (RFC 4303 §3.3.3)"
            );
        }
        esp_total += esp.len();
    }
    // 10 pings each carried by an ESP request and an ESP reply.
    assert!(esp_total >= 20, "ESP frames on both uplinks: {esp_total}");
    // dualsec's own ESP (to strongSwan's inbound SPIs; on tunnel 1, or tunnel 2 while the HA
    // logic still waits for tunnel 1's first probe answer) carries every ping one way.
    let mut from_dualsec = Vec::new();
    for (pcap, spi) in [(&pcap1, &t1_in), (&pcap2, &t2_in)] {
        from_dualsec.extend(tshark_fields(
            pcap,
            &format!("esp.spi == 0x{spi}"),
            &["esp.sequence"],
        ));
    }
    assert!(
        from_dualsec.len() >= 10 && from_dualsec.iter().any(|n| n.trim() == "1"),
        "dualsec's ESP: {from_dualsec:?}"
    );
    drop(d);
}
