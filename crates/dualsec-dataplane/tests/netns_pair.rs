//! Two data planes in two network namespaces (two gateways joined by a veth), configured with
//! mirrored static SAs: ping passes through ESP-in-UDP/4500, counters move, and forged or
//! malformed datagrams injected from outside are counted and dropped.
//!
//! ```text
//!  ns A: TUN dsa 198.18.0.1 ── dataplane A ── 192.0.2.1 ══veth══ 192.0.2.2 ── dataplane B ── TUN dsb 198.19.0.1 :ns B
//! ```

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dualsec_crypto::{EncrId, IntegId};
use dualsec_dataplane::{
    ConnectionId, ControlHandle, DataPlaneConfig, DataPlaneEvent, DataPlaneOutputs, Route,
    in_netns, start,
};
use dualsec_esp::{
    Direction, DropReason, LifetimeKind, Lifetimes, SaParams, SaTableEvent, Selectors, Spi,
    TunnelEndpoints, TunnelId, UdpEncap,
};
use dualsec_testbed::{Netns, traffic};

fn ns_path(ns: &Netns) -> PathBuf {
    PathBuf::from("/run/netns").join(ns.name())
}

fn sa(dir: Direction, spi: u32, local: &str, remote: &str, key: u8) -> SaParams {
    SaParams {
        spi: Spi(spi),
        direction: dir,
        encr: EncrId::AES_GCM_16,
        encr_key: vec![key; 20],
        integ: IntegId::NONE,
        integ_key: Vec::new(),
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

/// Fields drop in order: the workers stop before the namespace goes.
struct Gateway {
    ctl: ControlHandle,
    out: DataPlaneOutputs,
    ns: Netns,
}

/// Starts a data plane inside `ns` with TUN `tun` addressed `tun_ip`, routing `remote_net` into it.
fn gateway(ns: Netns, public: &str, tun: &str, tun_ip: &str, remote_net: &str) -> Gateway {
    let cfg = DataPlaneConfig::new(tun, vec![public.parse::<IpAddr>().unwrap()]);
    let (ctl, out) = in_netns(&ns_path(&ns), move || start(&cfg))
        .unwrap()
        .unwrap();
    ns.ip(&["addr", "add", tun_ip, "dev", tun]).unwrap();
    ns.ip(&["link", "set", tun, "mtu", "1400", "up"]).unwrap();
    ns.ip(&["route", "add", remote_net, "dev", tun]).unwrap();
    Gateway { ctl, out, ns }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_data_planes_ping_through_esp_in_udp_and_drop_forgeries() {
    if !dualsec_testbed::require(&["ping"]) {
        return;
    }
    let a_ns = Netns::new("dpa").unwrap();
    let b_ns = Netns::new("dpb").unwrap();
    Netns::veth(&a_ns, "eth0", &b_ns, "eth0").unwrap();
    a_ns.addr("eth0", "192.0.2.1/24").unwrap();
    b_ns.addr("eth0", "192.0.2.2/24").unwrap();
    a_ns.link_up("eth0").unwrap();
    b_ns.link_up("eth0").unwrap();

    let a = gateway(a_ns, "192.0.2.1", "dsa", "198.18.0.1/32", "198.19.0.0/16");
    let b = gateway(b_ns, "192.0.2.2", "dsb", "198.19.0.1/32", "198.18.0.0/16");

    // Mirrored static SAs: A→B uses SPI 0x1001, B→A 0x2001 (one connection, tunnel 1 active).
    let (t1, t2, conn) = (TunnelId(1), TunnelId(2), ConnectionId(1));
    for (gw, out_spi, in_spi, local, remote, k_out, k_in, net) in [
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
        gw.ctl
            .install_outbound_sa(t1, &sa(Direction::Outbound, out_spi, local, remote, k_out))
            .unwrap();
        gw.ctl
            .install_inbound_sa(
                t1,
                &sa(Direction::Inbound, in_spi, local, remote, k_in),
                None,
            )
            .unwrap();
        gw.ctl.set_connection(conn, [t1, t2]);
        let skipped = gw
            .ctl
            .set_routes(&[Route {
                dst: net.parse().unwrap(),
                src: None,
                connection: conn,
            }])
            .unwrap();
        assert!(skipped.is_empty());
    }

    let report = traffic::ping_from(
        &a.ns,
        "198.18.0.1",
        "198.19.0.1",
        5,
        Duration::from_millis(50),
    )
    .unwrap();
    assert_eq!(report.received, 5, "{report:?}");

    // A worker counts a batch after its sendmmsg returns, which may be after the reply is in.
    let moved =
        |c: &dualsec_dataplane::CountersSnapshot| c.esp_tx_packets >= 5 && c.tun_tx_packets >= 5;
    wait_for("A's counters", || moved(&a.ctl.counters()));
    wait_for("B's counters", || moved(&b.ctl.counters()));
    let ca = a.ctl.counters();
    assert_eq!(ca.esp_drops.total(), 0, "{ca:?}");
    let stats = a.ctl.sa_counters().unwrap();
    let inbound = stats.iter().find(|s| s.spi == Spi(0x2001)).unwrap();
    assert_eq!(inbound.direction, Direction::Inbound);
    assert!(inbound.counters.packets >= 5, "{stats:?}");

    // Bulk TCP from A to B: with TUN offloads on (the default), A's kernel hands its data plane
    // 64 KiB TCP super-packets that must be segmented and checksummed correctly.
    let data: Vec<u8> = (0..4_000_000u32)
        .map(|i| (i * 7 + i / 1000) as u8)
        .collect();
    let listener = in_netns(&ns_path(&b.ns), || TcpListener::bind("198.19.0.1:5001"))
        .unwrap()
        .unwrap();
    listener.set_nonblocking(true).unwrap();
    let to_send = data.clone();
    let a_path = ns_path(&a.ns);
    let client = std::thread::spawn(move || {
        in_netns(&a_path, move || -> std::io::Result<()> {
            let mut s = TcpStream::connect_timeout(
                &"198.19.0.1:5001".parse().unwrap(),
                Duration::from_secs(5),
            )?;
            s.set_write_timeout(Some(Duration::from_secs(20)))?;
            s.write_all(&to_send)
        })
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tcp = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    tcp.read_to_end(&mut got).unwrap();
    client.join().unwrap().unwrap().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "TCP payload corrupted");
    assert!(
        a.ctl.counters().tun_rx_gso > 0,
        "the TSO path was not exercised"
    );

    // Inject from ns B: an ESP packet with an unknown SPI, one with our SPI but a forged ICV,
    // a truncated one, a NAT keepalive and an IKE message behind the non-ESP marker.
    let target: SocketAddr = "192.0.2.1:4500".parse().unwrap();
    in_netns(&ns_path(&b.ns), move || {
        let s = UdpSocket::bind("192.0.2.2:0").unwrap();
        let mut forged = vec![0, 0, 0x20, 0x01, 0, 0, 0x10, 0];
        forged.extend_from_slice(&[0x5a; 60]);
        s.send_to(
            &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8],
            target,
        )
        .unwrap();
        s.send_to(&forged, target).unwrap();
        s.send_to(&forged[..12], target).unwrap();
        s.send_to(&[0xff], target).unwrap();
        s.send_to(&[0, 0, 0, 0, 0x11, 0x22], target).unwrap();
    })
    .unwrap();
    wait_for("drops to be counted", || {
        a.ctl.counters().esp_drops.total() >= 3
    });
    let ca = a.ctl.counters();
    assert_eq!(ca.esp_drops.get(DropReason::BadSpi), 1, "{ca:?}");
    assert_eq!(ca.esp_drops.get(DropReason::IcvFailure), 1, "{ca:?}");
    assert_eq!(ca.esp_drops.get(DropReason::Malformed), 1, "{ca:?}");
    // Per SA (issue 5): the forged ICV and the truncated packet carry SPI 0x2001 and are counted
    // on that inbound SA; the unknown SPI on no SA.
    let stats = a.ctl.sa_counters().unwrap();
    let inbound = stats.iter().find(|s| s.spi == Spi(0x2001)).unwrap();
    let d = inbound.counters.dropped;
    assert_eq!(d.get(DropReason::IcvFailure), 1, "{stats:?}");
    assert_eq!(d.get(DropReason::Malformed), 1, "{stats:?}");
    assert_eq!(d.total(), 2, "{stats:?}");
    let on_sas: u64 = stats.iter().map(|s| s.counters.dropped.total()).sum();
    assert_eq!(on_sas, 2, "only SA 0x2001 dropped anything: {stats:?}");
    wait_for("keepalive", || a.ctl.counters().keepalive_rx == 1);
    let ike = a.out.ike.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(ike.data, vec![0x11, 0x22]);
    assert_eq!(ike.local, target);
    assert_eq!(ike.remote.ip(), "192.0.2.2".parse::<IpAddr>().unwrap());

    // The SAs still work after the garbage.
    let report = traffic::ping_from(
        &a.ns,
        "198.18.0.1",
        "198.19.0.1",
        3,
        Duration::from_millis(50),
    )
    .unwrap();
    assert_eq!(
        report.received,
        3,
        "{report:?}\nA: {:?}\nB: {:?}",
        a.ctl.counters(),
        b.ctl.counters()
    );

    // IKE goes out through the data plane's own socket: B receives it from 192.0.2.1:500.
    a.ctl
        .send_ike(
            "192.0.2.1:500".parse().unwrap(),
            "192.0.2.2:500".parse().unwrap(),
            &[1, 2, 3],
        )
        .unwrap();
    let got = b.out.ike.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(got.data, vec![1, 2, 3]);
    assert_eq!(got.remote, "192.0.2.1:500".parse::<SocketAddr>().unwrap());

    // Failover: switching the connection to tunnel 2 (no SA yet) stops traffic and counts no_sa.
    a.ctl.set_active_tunnel(conn, 1).unwrap();
    let before = a.ctl.counters().no_sa;
    let report = traffic::ping_from(
        &a.ns,
        "198.18.0.1",
        "198.19.0.1",
        2,
        Duration::from_millis(50),
    )
    .unwrap();
    assert_eq!(report.received, 0);
    assert!(a.ctl.counters().no_sa >= before + 2);
    assert!(a.out.events.try_recv().is_err(), "no SA events expected");

    // Lifetimes fire from the worker's timer and reach the control plane: soft (rekey), then
    // hard (the SA is removed).
    let mut short = sa(Direction::Outbound, 0x3001, "192.0.2.1", "192.0.2.2", 0xcc);
    short.lifetimes = Lifetimes {
        soft_time: Some(Duration::from_millis(100)),
        hard_time: Some(Duration::from_millis(300)),
        ..Lifetimes::default()
    };
    a.ctl.install_outbound_sa(TunnelId(3), &short).unwrap();
    let kinds: Vec<_> = (0..2)
        .map(
            |_| match a.out.events.recv_timeout(Duration::from_secs(2)).unwrap() {
                DataPlaneEvent::Sa(SaTableEvent::Lifetime {
                    tunnel, spi, event, ..
                }) => {
                    assert_eq!((tunnel, spi), (TunnelId(3), Spi(0x3001)));
                    event.kind
                }
                other => panic!("unexpected {other:?}"),
            },
        )
        .collect();
    assert_eq!(kinds, [LifetimeKind::Soft, LifetimeKind::Hard]);
    assert!(
        a.ctl
            .sa_counters()
            .unwrap()
            .iter()
            .all(|s| s.spi != Spi(0x3001))
    );
}
