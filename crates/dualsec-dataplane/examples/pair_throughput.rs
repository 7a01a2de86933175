//! Throughput of two dualsec data planes back to back (not a test: run it by hand, as root).
//!
//! ```text
//! cargo run --release -p dualsec-dataplane --example pair_throughput -- [seconds] [suite] [nooffload]
//! ```
//! `suite` is `aes128gcm16` (default) or `aes128-sha1`; `nooffload` turns TUN offloads off;
//! env `DUALSEC_NO_UDP_GSO=1` sends without UDP GSO. Builds ns A (TUN 198.18.0.1) and ns B
//! (TUN 198.19.0.1) joined by a veth (192.0.2.1 ⇄ 192.0.2.2), installs mirrored static SAs
//! (ESP in UDP 4500), and runs iperf3 TCP from A to B through both data planes. Prints iperf3's
//! summary and the data plane counters. Namespaces are removed on exit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use dualsec_crypto::{EncrId, IntegId};
use dualsec_dataplane::{ConnectionId, ControlHandle, DataPlaneConfig, Route, in_netns, start};
use dualsec_esp::{
    Direction, Lifetimes, SaParams, Selectors, Spi, TunnelEndpoints, TunnelId, UdpEncap,
};
use dualsec_testbed::Netns;

fn sa(dir: Direction, spi: u32, local: &str, remote: &str, key: u8, gcm: bool) -> SaParams {
    let (encr, ek, integ, ik) = if gcm {
        (EncrId::AES_GCM_16, 20, IntegId::NONE, 0)
    } else {
        (EncrId::AES_CBC, 16, IntegId::HMAC_SHA1_96, 20)
    };
    SaParams {
        spi: Spi(spi),
        direction: dir,
        encr,
        encr_key: vec![key; ek],
        integ,
        integ_key: vec![key ^ 0xff; ik],
        esn: true,
        replay_window: 1024,
        lifetimes: Lifetimes::default(),
        udp_encap: Some(UdpEncap {
            local_port: 4500,
            remote_port: 4500,
        }),
        tunnel: TunnelEndpoints {
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
        },
        selectors: Selectors::default(),
    }
}

fn gateway(
    ns: &Netns,
    public: &str,
    tun: &str,
    tun_ip: &str,
    remote_net: &str,
    offload: bool,
) -> ControlHandle {
    let mut cfg = DataPlaneConfig::new(tun, vec![public.parse::<IpAddr>().unwrap()]);
    cfg.offload = offload;
    cfg.udp_gso = std::env::var_os("DUALSEC_NO_UDP_GSO").is_none();
    let path = PathBuf::from("/run/netns").join(ns.name());
    let (ctl, _out) = in_netns(&path, move || start(&cfg)).unwrap().unwrap();
    ns.ip(&["addr", "add", tun_ip, "dev", tun]).unwrap();
    ns.ip(&["link", "set", tun, "mtu", "1400", "up"]).unwrap();
    ns.ip(&["route", "add", remote_net, "dev", tun]).unwrap();
    ctl
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let gcm = args.next().is_none_or(|s| s != "aes128-sha1");
    let offload = args.next().is_none_or(|s| s != "nooffload");
    let a_ns = Netns::new("tpa").unwrap();
    let b_ns = Netns::new("tpb").unwrap();
    Netns::veth(&a_ns, "eth0", &b_ns, "eth0").unwrap();
    a_ns.addr("eth0", "192.0.2.1/24").unwrap();
    b_ns.addr("eth0", "192.0.2.2/24").unwrap();
    a_ns.link_up("eth0").unwrap();
    b_ns.link_up("eth0").unwrap();
    let a = gateway(
        &a_ns,
        "192.0.2.1",
        "dsa",
        "198.18.0.1/32",
        "198.19.0.0/16",
        offload,
    );
    let b = gateway(
        &b_ns,
        "192.0.2.2",
        "dsb",
        "198.19.0.1/32",
        "198.18.0.0/16",
        offload,
    );
    let (t1, t2, conn) = (TunnelId(1), TunnelId(2), ConnectionId(1));
    for (gw, o, i, l, r, ko, ki, net) in [
        (
            &a,
            0x1001,
            0x2001,
            "192.0.2.1",
            "192.0.2.2",
            0xaa,
            0xbb,
            "198.19.0.0/16",
        ),
        (
            &b,
            0x2001,
            0x1001,
            "192.0.2.2",
            "192.0.2.1",
            0xbb,
            0xaa,
            "198.18.0.0/16",
        ),
    ] {
        gw.install_outbound_sa(t1, &sa(Direction::Outbound, o, l, r, ko, gcm))
            .unwrap();
        gw.install_inbound_sa(t1, &sa(Direction::Inbound, i, l, r, ki, gcm), None)
            .unwrap();
        gw.set_connection(conn, [t1, t2]);
        gw.set_routes(&[Route {
            dst: net.parse().unwrap(),
            src: None,
            connection: conn,
        }])
        .unwrap();
    }
    let _server = b_ns
        .spawn("iperf3-server", "iperf3", ["-s", "-B", "198.19.0.1", "-1"])
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let out = a_ns
        .exec(
            "iperf3",
            [
                "-c",
                "198.19.0.1",
                "-B",
                "198.18.0.1",
                "-t",
                &secs.to_string(),
                "-f",
                "m",
            ],
        )
        .expect("iperf3 client");
    println!(
        "suite: {}, offload: {offload}",
        if gcm { "aes128gcm16" } else { "aes128-sha1" }
    );
    for line in out
        .lines()
        .filter(|l| l.contains("sender") || l.contains("receiver"))
    {
        println!("{line}");
    }
    println!("A: {:?}", a.counters());
    println!("B: {:?}", b.counters());
}
