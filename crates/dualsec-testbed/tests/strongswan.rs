//! strongSwan ⇄ strongSwan through the standard topology (both kernel-libipsec): the baseline
//! that proves the testbed (issue 5) before dualsec takes the `gw` namespace.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::Path;
use std::time::Duration;

use dualsec_testbed::capture::{self, Capture};
use dualsec_testbed::netns::netns_exists;
use dualsec_testbed::topology::{CGW_BEHIND_NAT, CGW_PUBLIC, IDC_HOST, IP1, IP2, VPC_HOST};
use dualsec_testbed::{
    Charon, CharonOptions, PskConnection, Topology, TopologyOptions, Uplink, traffic,
};

const TOOLS: &[&str] = &["charon", "swanctl", "ping", "tcpdump", "tshark"];
const T: Duration = Duration::from_secs(10);

fn pid_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; state 'Z' counts as gone (it holds nothing).
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

struct Observed {
    names: Vec<String>,
    pids: Vec<u32>,
    dirs: Vec<std::path::PathBuf>,
}

/// Brings up gw ⇄ cgw, pings both ways, checks SAs and the capture; returns what must be gone
/// after drop.
fn tunnel_through(nat: bool) -> Observed {
    let topo = Topology::build(&TopologyOptions { nat }).unwrap();
    // Capture on the router's customer-side link: everything between the two peers crosses it.
    let cap = Capture::start(&topo.inet, "cust0", "udp port 500 or udp port 4500 or esp").unwrap();

    let gw_conn = topo.gw_connection(Uplink::Az1);
    let gw = Charon::start(&topo.gw, &CharonOptions::default()).unwrap();
    gw.load(&gw_conn.render()).unwrap();
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&topo.cgw_connection(&gw_conn).render()).unwrap();

    // Before the tunnel, vpc cannot reach idc: the router has no route to 198.19/16.
    let before = traffic::ping(&topo.vpc, IDC_HOST, 1, Duration::from_millis(200)).unwrap();
    assert_eq!(before.received, 0, "vpc reached idc without a tunnel");

    // The customer side initiates (it must, behind a NAT).
    cgw.initiate_child(&gw_conn.child, T).unwrap();
    let (ike, child) = gw.wait_child_installed(&gw_conn.child, T).unwrap();
    assert_eq!(ike.version, 2);
    assert_eq!(ike.local_host, IP1);
    assert_eq!(ike.remote_host, CGW_PUBLIC);
    assert_eq!(
        ike.fields.get("dh-group").map(String::as_str),
        Some("MODP_1024")
    );
    assert_eq!(child.protocol, "ESP");
    assert!(child.encap, "kernel-libipsec uses ESP in UDP");
    assert_eq!(child.local_ts, ["198.18.1.0/24"]);
    assert_eq!(child.remote_ts, ["198.19.1.0/24"]);
    assert_eq!(child.spi_in.len(), 8, "SPI is 32 bits in hex: {child:?}");

    let (cike, cchild) = cgw.wait_child_installed(&gw_conn.child, T).unwrap();
    // The SPIs pair up: one side's inbound is the other side's outbound.
    assert_eq!(cchild.spi_out, child.spi_in);
    assert_eq!(cchild.spi_in, child.spi_out);
    assert_eq!(cike.remote_port, 4500);
    if nat {
        // RFC 7296 §2.23: the customer finds itself behind the NAT; the gateway sees the NAT's
        // public address, on port 4500.
        assert_eq!(cike.local_host, CGW_BEHIND_NAT);
        assert!(
            cike.nat_local,
            "cgw should detect that it is behind NAT: {cike:?}"
        );
        assert_eq!(ike.remote_host, CGW_PUBLIC);
        assert_eq!(ike.remote_port, 4500);
    }

    let there = traffic::ping(&topo.vpc, IDC_HOST, 5, Duration::from_millis(50)).unwrap();
    assert_eq!(there.received, 5, "vpc → idc: {there:?}");
    let back = traffic::ping(&topo.idc, VPC_HOST, 5, Duration::from_millis(50)).unwrap();
    assert_eq!(back.received, 5, "idc → vpc: {back:?}");

    let (_, child) = gw.wait_child_installed(&gw_conn.child, T).unwrap();
    // 10 echo requests/replies of 84 bytes in each direction went through the SA.
    assert!(
        child.packets_in >= 10 && child.packets_out >= 10,
        "{child:?}"
    );
    assert!(child.bytes_in >= 840, "{child:?}");

    let pcap = cap.stop().unwrap();
    let summary = capture::analyze(&pcap).unwrap();
    assert!(
        summary.ike >= 4,
        "IKE_SA_INIT and IKE_AUTH both ways: {summary:?}"
    );
    assert!(summary.esp >= 20, "ESP for 20 pings: {summary:?}");
    assert!(summary.udp4500 >= 20, "{summary:?}");
    assert!(
        summary.malformed.is_empty(),
        "malformed: {:?}",
        summary.malformed
    );
    assert_eq!(
        summary.ike + summary.esp + summary.keepalive,
        summary.frames,
        "{summary:?}"
    );
    if nat {
        // After IKE_SA_INIT everything moved to UDP 4500 (RFC 7296 §2.23).
        let esp_on_4500 = capture::dissect(&pcap, "esp && udp.port == 4500").unwrap();
        assert!(esp_on_4500.contains("Encapsulating Security Payload"));
    }
    terminate_and_check(&gw, &cgw, &gw_conn.name);

    let ns = topo.namespaces();
    Observed {
        names: ns.iter().map(|n| n.name().to_owned()).collect(),
        pids: vec![gw.pid(), cgw.pid()],
        dirs: ns.iter().map(|n| n.dir().to_owned()).collect(),
    }
}

fn terminate_and_check(gw: &Charon, cgw: &Charon, ike: &str) {
    gw.terminate_ike(ike).unwrap();
    dualsec_testbed::wait_until("cgw to drop the IKE SA", T, || {
        cgw.list_sas().is_ok_and(|s| s.is_empty())
    })
    .unwrap();
}

fn assert_gone(o: &Observed) {
    for n in &o.names {
        assert!(!netns_exists(n), "namespace {n} left behind");
    }
    for p in &o.pids {
        assert!(!pid_alive(*p), "process {p} left behind");
    }
    for d in &o.dirs {
        assert!(!Path::new(d).exists(), "{} left behind", d.display());
    }
}

#[test]
fn strongswan_pair_tunnel_pings_both_ways_and_cleans_up() {
    if !dualsec_testbed::require(TOOLS) {
        return;
    }
    let observed = tunnel_through(false);
    assert_gone(&observed);
}

#[test]
fn strongswan_pair_through_nat_uses_udp_4500() {
    if !dualsec_testbed::require(TOOLS) {
        return;
    }
    let observed = tunnel_through(true);
    assert_gone(&observed);
}

/// IKEv1 aggressive mode with PSK (the product offers it; strongSwan refuses it as responder
/// unless told otherwise): the `aggressive_mode_psk` option works and quick mode installs the SA.
#[test]
fn strongswan_pair_ikev1_aggressive_mode_psk() {
    if !dualsec_testbed::require(TOOLS) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let mut gw_conn = topo.gw_connection(Uplink::Az1);
    gw_conn.version = 1;
    gw_conn.aggressive = true;
    let opts = CharonOptions {
        aggressive_mode_psk: true,
        ..CharonOptions::default()
    };
    let cgw = Charon::start(&topo.cgw, &opts).unwrap();
    cgw.load(&topo.cgw_connection(&gw_conn).render()).unwrap();
    {
        // Without the option the responder refuses aggressive mode PSK.
        let strict = Charon::start(&topo.gw, &CharonOptions::default()).unwrap();
        strict.load(&gw_conn.render()).unwrap();
        assert!(
            cgw.initiate_child(&gw_conn.child, Duration::from_secs(3))
                .is_err()
        );
        assert!(
            strict.log().contains("Aggressive Mode PSK disabled"),
            "{}",
            strict.log()
        );
    }
    let gw = Charon::start(&topo.gw, &opts).unwrap();
    gw.load(&gw_conn.render()).unwrap();
    cgw.initiate_child(&gw_conn.child, T).unwrap();
    let (ike, child) = gw.wait_child_installed(&gw_conn.child, T).unwrap();
    assert_eq!(ike.version, 1);
    assert_eq!(child.local_ts, ["198.18.1.0/24"]);
    let log = gw.log();
    assert!(
        log.contains("Aggressive Mode"),
        "responder log lacks aggressive mode"
    );
    let there = traffic::ping(&topo.vpc, IDC_HOST, 3, Duration::from_millis(50)).unwrap();
    assert_eq!(there.received, 3, "{there:?}");
}

/// The dual-tunnel shape (R-HA-1): the customer gateway loads two connections, one to IP 1 and
/// one to IP 2, and both IKE SAs come up over their own uplink.
#[test]
fn customer_gateway_brings_up_both_tunnels_over_both_uplinks() {
    if !dualsec_testbed::require(TOOLS) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let t1 = topo.gw_connection(Uplink::Az1);
    let t2 = topo.gw_connection(Uplink::Az2);
    let gw = Charon::start(&topo.gw, &CharonOptions::default()).unwrap();
    gw.load(&PskConnection::render_all(&[t1.clone(), t2.clone()]))
        .unwrap();
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&PskConnection::render_all(&[
        topo.cgw_connection(&t1),
        topo.cgw_connection(&t2),
    ]))
    .unwrap();
    let up2_before = topo.inet.ip(&["-s", "link", "show", "gw2"]).unwrap();
    cgw.initiate_child(&t1.child, T).unwrap();
    cgw.initiate_child(&t2.child, T).unwrap();
    let (ike1, _) = gw.wait_child_installed(&t1.child, T).unwrap();
    let (ike2, _) = gw.wait_child_installed(&t2.child, T).unwrap();
    assert_eq!(
        (ike1.name.as_str(), ike1.local_host.as_str()),
        ("tunnel1", IP1)
    );
    assert_eq!(
        (ike2.name.as_str(), ike2.local_host.as_str()),
        ("tunnel2", IP2)
    );
    assert_ne!(ike1.initiator_spi, ike2.initiator_spi);
    // IKE for tunnel 2 crossed uplink 2 (its counters moved).
    let up2_after = topo.inet.ip(&["-s", "link", "show", "gw2"]).unwrap();
    assert_ne!(up2_before, up2_after);
    let there = traffic::ping(&topo.vpc, IDC_HOST, 3, Duration::from_millis(50)).unwrap();
    assert_eq!(there.received, 3, "{there:?}");

    // The 1 ms UDP stream the failover tests use flows through the tunnel without loss.
    let mut rx = traffic::UdpStreamReceiver::start(
        &topo.idc,
        IDC_HOST,
        6000,
        Duration::from_millis(500),
        Duration::from_secs(10),
        Duration::from_millis(100),
    )
    .unwrap();
    let sent = traffic::udp_stream_send(
        &topo.vpc,
        IDC_HOST,
        6000,
        500,
        Duration::from_millis(1),
        200,
    )
    .unwrap();
    rx.wait_receiving(Duration::from_secs(1)).unwrap();
    let report = rx.finish(Duration::from_secs(5)).unwrap();
    assert_eq!(sent, 500);
    assert_eq!((report.received, report.lost), (500, 0), "{report:?}");
}
