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

use std::path::{Path, PathBuf};
use std::time::Duration;

use dualsec_testbed::capture::{Capture, analyze};
use dualsec_testbed::topology::{CGW_PUBLIC, IDC_HOST, IDC_NET, IP1, IP2, VPC_HOST, VPC_NET};
use dualsec_testbed::{
    Charon, CharonOptions, Netns, Process, Topology, TopologyOptions, Uplink, traffic, wait_until,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_dualsec");
const API: &str = "127.0.0.1:8080";

/// `dualsec serve` in `gw` and the CLI next to it (reduced from `e2e_tunnel.rs`).
struct Dualsec {
    gw: Netns,
    data: PathBuf,
    serve: Process,
}

impl Dualsec {
    fn start(topo: &Topology) -> Dualsec {
        let data = topo.gw.dir().join("dualsec-data");
        let d = data.to_str().unwrap();
        let serve = topo
            .gw
            .spawn(
                "dualsec-serve",
                "env",
                [
                    "DUALSEC_LOG=info",
                    BIN,
                    "serve",
                    "--data-dir",
                    d,
                    "--listen",
                    API,
                    "--public-ip",
                    &format!("zone-a={IP1}"),
                    "--public-ip",
                    &format!("zone-b={IP2}"),
                    "--completion-delay-ms",
                    "0",
                ],
            )
            .unwrap();
        let creds = data.join("credentials");
        wait_until("dualsec serve to listen", Duration::from_secs(20), || {
            creds.exists() && serve.stdout().contains("API listening")
        })
        .unwrap();
        assert!(
            serve.stdout().contains("engine running"),
            "engine did not start: {}",
            serve.stderr()
        );
        Dualsec {
            gw: topo.gw.clone(),
            data,
            serve,
        }
    }

    fn cli(&self, args: &[&str]) -> String {
        let creds = self.data.join("credentials");
        let mut a = vec!["--credentials", creds.to_str().unwrap()];
        a.extend_from_slice(args);
        let out = self.gw.exec_output(BIN, &a).unwrap();
        assert!(
            out.status.success(),
            "dualsec {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.cli(&a)).unwrap()
    }

    fn id(v: &Value, key: &str) -> String {
        v[key].as_str().unwrap().to_owned()
    }

    /// Gateway, customer gateway and a two-tunnel IKEv2 connection VPC ⇄ IDC, product defaults.
    fn create_connection(&self) -> String {
        let gw = Self::id(
            &self.json(&[
                "vpn-gateway",
                "create",
                "--vpc-id",
                "vpc-cap",
                "--bandwidth",
                "100",
            ]),
            "VpnGatewayId",
        );
        wait_until("gateway active", Duration::from_secs(10), || {
            self.json(&["vpn-gateway", "describe", &gw])["Status"] == "active"
        })
        .unwrap();
        let cgw = Self::id(
            &self.json(&["customer-gateway", "create", "--ip-address", CGW_PUBLIC]),
            "CustomerGatewayId",
        );
        let mut sets = Vec::new();
        for n in 1..=2 {
            let p = format!("TunnelOptionsSpecification.{n}");
            sets.push(format!("{p}.CustomerGatewayId={cgw}"));
            sets.push(format!("{p}.TunnelIkeConfig.IkeVersion=ikev2"));
            sets.push(format!("{p}.TunnelIkeConfig.Psk=cap-psk-{n}"));
        }
        let mut args = vec![
            "connection",
            "create",
            "--vpn-gateway-id",
            &gw,
            "--local-subnet",
            VPC_NET,
            "--remote-subnet",
            IDC_NET,
            "--effect-immediately",
            "true",
            "--name",
            "capture",
        ];
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        Self::id(&self.json(&args), "VpnConnectionId")
    }

    fn wait_established(&self, vco: &str) {
        let r = wait_until("both tunnels established", Duration::from_secs(30), || {
            let v = self.json(&["connection", "describe", vco]);
            let t = &v["TunnelOptionsSpecification"]["TunnelOptions"];
            t[0]["Status"] == "ipsec_sa_established" && t[1]["Status"] == "ipsec_sa_established"
        });
        if r.is_err() {
            panic!(
                "tunnels not established: {:#}\nserve stderr:\n{}",
                self.json(&["connection", "describe", vco]),
                self.serve.stderr()
            );
        }
    }
}

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
    let vco = d.create_connection();
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&d.cli(&["peer-config", &vco, "--format", "swanctl"]))
        .unwrap();
    d.wait_established(&vco);
    let r = traffic::ping(&topo.vpc, IDC_HOST, 5, Duration::from_millis(100)).unwrap();
    assert_eq!(r.received, 5, "vpc → idc: {r:?}");
    let r = traffic::ping(&topo.idc, VPC_HOST, 5, Duration::from_millis(100)).unwrap();
    assert_eq!(r.received, 5, "idc → vpc: {r:?}");
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
