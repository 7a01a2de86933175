//! Issue 7 end to end: routing through the real `dualsec serve` in the `gw` namespace of the
//! standard topology against a strongSwan customer gateway loaded with the generated
//! `swanctl.conf` unchanged.
//!
//! * Interesting-traffic (policy) mode with two local and two remote CIDRs (R-CONN-2, IKEv2):
//!   all four source/destination pairs pass traffic; a packet whose source or destination lies
//!   outside the selectors reaches the data plane (seen on the TUN) but is not sent into the
//!   tunnel (no ESP on either uplink, nothing at the IDC). A generated policy route, once
//!   published, appears in the VPC namespace's kernel table and goes again when withdrawn.
//! * Static (destination) routes: CreateVpnRouteEntry routes into the TUN; publishing writes
//!   them into the VPC namespace's kernel table (`serve --vpc-netns --vpc-next-hop`), unpublish
//!   and delete remove them.
//!
//! Needs root, strongSwan (charon, swanctl), ping and tcpdump/tshark; skips with a message
//! without them, fails when `DUALSEC_REQUIRE_INTEROP` is set (CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod e2e;

use dualsec_testbed::capture::{Capture, analyze};
use dualsec_testbed::topology::{CGW_IDC, GW_VPC, Uplink};
use e2e::*;

/// The engine's TUN device (`serve --tun`, default).
const TUN: &str = "dsec0";

/// The two VPC CIDRs of the policy-mode connection, with the VPC host's address in each.
const VPC_NETS: [(&str, &str); 2] = [
    ("198.18.1.0/24", "198.18.1.10"),
    ("198.18.2.0/24", "198.18.2.10"),
];
/// The two IDC CIDRs, with the IDC host's address in each.
const IDC_NETS: [(&str, &str); 2] = [
    ("198.19.1.0/24", "198.19.1.10"),
    ("198.19.2.0/24", "198.19.2.10"),
];
/// A VPC source outside every local selector.
const VPC_OUTSIDE: &str = "198.18.3.10";
/// An IDC destination outside every remote selector.
const IDC_OUTSIDE: &str = "198.19.3.10";

/// Second and third addresses on the VPC and IDC subnets, so the hosts can source and receive
/// traffic in every CIDR of the test (the gateways own `.1` of each).
fn add_subnets(topo: &Topology) {
    for (net, host) in VPC_NETS
        .iter()
        .skip(1)
        .copied()
        .chain([("198.18.3.0/24", VPC_OUTSIDE)])
    {
        topo.vpc.addr("eth0", &format!("{host}/24")).unwrap();
        let gw_addr = net.replace(".0/24", ".1/24");
        topo.gw.addr("vpc0", &gw_addr).unwrap();
    }
    for (net, host) in IDC_NETS
        .iter()
        .skip(1)
        .copied()
        .chain([("198.19.3.0/24", IDC_OUTSIDE)])
    {
        topo.idc.addr("eth0", &format!("{host}/24")).unwrap();
        let cgw_addr = net.replace(".0/24", ".1/24");
        topo.cgw.addr("idc0", &cgw_addr).unwrap();
    }
    // Sanity: the extra addresses are on the same links as the topology's own.
    assert!(
        topo.gw
            .ip(&["-4", "addr", "show", "vpc0"])
            .unwrap()
            .contains(GW_VPC)
    );
    assert!(
        topo.cgw
            .ip(&["-4", "addr", "show", "idc0"])
            .unwrap()
            .contains(CGW_IDC)
    );
}

/// Pings `dst` from `src` in `ns`; the number of replies out of `count`.
fn ping_from(ns: &Netns, src: &str, dst: &str, count: u32) -> u32 {
    traffic::ping_from(ns, src, dst, count, Duration::from_millis(100))
        .unwrap()
        .received
}

/// Frames a capture saw (its capture filter applied).
fn frames(cap: Capture) -> u64 {
    analyze(&cap.stop().unwrap()).unwrap().frames
}

/// R-CONN-2 interesting-traffic mode, two local × two remote CIDRs, IKEv2: every pair passes
/// traffic both ways; a packet from outside the local CIDRs, or to outside the remote CIDRs,
/// enters the data plane but never the tunnel.
#[test]
fn e2e_routing_policy_mode_two_by_two() {
    if !dualsec_testbed::require(&["charon", "swanctl", "ping", "ip", "tcpdump", "tshark"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    add_subnets(&topo);
    let vpc_ns = topo.vpc.name().to_owned();
    let d = Dualsec::start_with(&topo, &["--vpc-netns", &vpc_ns, "--vpc-next-hop", GW_VPC]);
    let (gw, cgw_id) = d.gateway_and_cgw();
    let local = format!("{},{}", VPC_NETS[0].0, VPC_NETS[1].0);
    let remote = format!("{},{}", IDC_NETS[0].0, IDC_NETS[1].0);
    let vco = d.connection(
        &gw,
        &Conn {
            cgw: &cgw_id,
            ike_version: "ikev2",
            local: &local,
            remote: &remote,
            args: &[],
            tunnel_sets: &[],
        },
    );
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&d.cli(&["peer-config", &vco, "--format", "swanctl"]))
        .unwrap();
    d.wait_tunnel(&vco, 0, "ipsec_sa_established", Duration::from_secs(30));
    d.wait_tunnel(&vco, 1, "ipsec_sa_established", Duration::from_secs(30));

    // All four pairs, both directions.
    for (_, vpc_src) in VPC_NETS {
        for (_, idc_dst) in IDC_NETS {
            let got = ping_from(&topo.vpc, vpc_src, idc_dst, 4);
            assert_eq!(got, 4, "vpc {vpc_src} → idc {idc_dst}");
            let got = ping_from(&topo.idc, idc_dst, vpc_src, 4);
            assert_eq!(got, 4, "idc {idc_dst} → vpc {vpc_src}");
        }
    }

    // Outside the selectors. The gateway's kernel routes the remote CIDRs into the TUN (the
    // source does not matter to it), and for the destination case the test adds a kernel route
    // itself, so both packets reach the data plane, which must drop them (no route for this
    // source/destination pair) instead of sending them into the tunnel.
    topo.gw
        .ip(&["route", "replace", "198.19.3.0/24", "dev", TUN])
        .unwrap();
    let tun = Capture::start(&topo.gw, TUN, "icmp").unwrap();
    let up1 = Capture::start(&topo.gw, Uplink::Az1.gw_dev(), "esp or udp port 4500").unwrap();
    let up2 = Capture::start(&topo.gw, Uplink::Az2.gw_dev(), "esp or udp port 4500").unwrap();
    let idc = Capture::start(&topo.idc, "eth0", "icmp").unwrap();
    assert_eq!(ping_from(&topo.vpc, VPC_OUTSIDE, IDC_NETS[0].1, 5), 0);
    assert_eq!(ping_from(&topo.vpc, VPC_NETS[0].1, IDC_OUTSIDE, 5), 0);
    let (on_tun, on_idc) = (frames(tun), frames(idc));
    let up =
        analyze(&up1.stop().unwrap()).unwrap().esp + analyze(&up2.stop().unwrap()).unwrap().esp;
    assert_eq!(
        on_tun, 10,
        "both outside-selector flows must reach the data plane"
    );
    assert_eq!(up, 0, "ESP sent for traffic outside the selectors");
    assert_eq!(on_idc, 0, "outside-selector traffic reached the IDC");

    // The selectors still carry traffic after the drops (positive control for the capture).
    let up1 = Capture::start(&topo.gw, Uplink::Az1.gw_dev(), "esp or udp port 4500").unwrap();
    let up2 = Capture::start(&topo.gw, Uplink::Az2.gw_dev(), "esp or udp port 4500").unwrap();
    assert_eq!(ping_from(&topo.vpc, VPC_NETS[1].1, IDC_NETS[1].1, 5), 5);
    let up =
        analyze(&up1.stop().unwrap()).unwrap().esp + analyze(&up2.stop().unwrap()).unwrap().esp;
    assert!(up >= 10, "5 pings and their replies in ESP, saw {up}");

    // AutoConfigRoute generated the policy routes, unpublished (R-CONN-2); publishing one
    // (RouteType=pbr) writes its destination into the VPC namespace's table, withdrawing it
    // removes it again.
    let dest = IDC_NETS[1].0;
    let vpc_table = || kernel_route(&topo.vpc, dest);
    assert_eq!(
        vpc_table(),
        "",
        "policy routes are not published by default"
    );
    let publish = |on: &str| {
        d.json(&[
            "route",
            "publish",
            "--vpn-gateway-id",
            &gw,
            "--route-dest",
            dest,
            "--next-hop",
            &vco,
            "--route-type",
            "pbr",
            "--publish-vpc",
            on,
        ])
    };
    publish("true");
    wait_until("policy route published", Duration::from_secs(10), || {
        vpc_table().contains(&format!("via {GW_VPC}"))
    })
    .unwrap_or_else(|_| panic!("VPC table: {:?}", vpc_table()));
    publish("false");
    wait_until("policy route withdrawn", Duration::from_secs(10), || {
        vpc_table().is_empty()
    })
    .unwrap_or_else(|_| panic!("VPC table: {:?}", vpc_table()));
    // Traffic is unaffected by publishing (the VPC host's default route already leads here).
    assert_eq!(ping_from(&topo.vpc, VPC_NETS[0].1, IDC_NETS[1].1, 3), 3);
}

/// The `ip route` lines of `ns` for `prefix`.
fn kernel_route(ns: &Netns, prefix: &str) -> String {
    ns.ip(&["-4", "route", "show", prefix])
        .unwrap()
        .trim()
        .to_owned()
}

/// Issue 7 static routes and publishing: a destination route from CreateVpnRouteEntry is routed
/// into the TUN in the gateway's namespace; it is written into the VPC namespace's kernel table
/// (`via` the gateway's VPC address, `proto 213`) only while published, and removed on
/// unpublish and on delete. Nothing is published by default (PublishVpc=false at create).
#[test]
fn e2e_routing_static_route_publish_and_delete() {
    if !dualsec_testbed::require(&["ip"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let vpc_ns = topo.vpc.name().to_owned();
    let d = Dualsec::start_with(&topo, &["--vpc-netns", &vpc_ns, "--vpc-next-hop", GW_VPC]);
    let (gw, cgw_id) = d.gateway_and_cgw();
    // Both sides 0.0.0.0/0: destination routing (R-CONN-2).
    let vco = d.connection(
        &gw,
        &Conn {
            cgw: &cgw_id,
            ike_version: "ikev2",
            local: "0.0.0.0/0",
            remote: "0.0.0.0/0",
            args: &[],
            tunnel_sets: &[],
        },
    );
    let dest = "198.19.5.0/24";
    let route = |verb: &str, extra: &[&str]| {
        let mut a = vec![
            "route",
            verb,
            "--vpn-gateway-id",
            &gw,
            "--route-dest",
            dest,
            "--next-hop",
            &vco,
        ];
        a.extend_from_slice(extra);
        d.json(&a)
    };
    route("create", &["--weight", "100", "--publish-vpc", "false"]);

    // Steered into the TUN on the gateway; not in the VPC's table (not published by default).
    wait_until("kernel route into the TUN", Duration::from_secs(10), || {
        kernel_route(&topo.gw, dest).contains(&format!("dev {TUN}"))
    })
    .unwrap();
    std::thread::sleep(Duration::from_secs(1)); // a few reconciles
    assert_eq!(
        kernel_route(&topo.vpc, dest),
        "",
        "published without PublishVpc"
    );

    let published = || kernel_route(&topo.vpc, dest);
    let want = format!(
        "{dest} via {GW_VPC} dev eth0 proto {}",
        dualsec_engine::publish::PROTO
    );
    route("publish", &["--publish-vpc", "true", "--route-type", "dbr"]);
    wait_until("route published", Duration::from_secs(10), || {
        published().starts_with(&want)
    })
    .unwrap_or_else(|_| panic!("VPC table: {:?}", published()));
    let list = d.json(&["route", "list", &gw]).to_string();
    assert!(
        list.contains("published"),
        "DescribeVpnRouteEntries: {list}"
    );

    route(
        "publish",
        &["--publish-vpc", "false", "--route-type", "dbr"],
    );
    wait_until("route unpublished", Duration::from_secs(10), || {
        published().is_empty()
    })
    .unwrap_or_else(|_| panic!("VPC table: {:?}", published()));

    route("publish", &["--publish-vpc", "true", "--route-type", "dbr"]);
    wait_until("route published again", Duration::from_secs(10), || {
        published().starts_with(&want)
    })
    .unwrap();
    route("delete", &["--weight", "100"]);
    wait_until(
        "route gone from the VPC table",
        Duration::from_secs(10),
        || published().is_empty(),
    )
    .unwrap_or_else(|_| panic!("VPC table: {:?}", published()));
    wait_until(
        "route gone from the gateway",
        Duration::from_secs(10),
        || kernel_route(&topo.gw, dest).is_empty(),
    )
    .unwrap();
}

/// `dualsec peer-config ID --format bird|frr` for a connection with EnableTunnelsBgp: one session
/// per tunnel with the mirrored addresses of each /30, accepted by BIRD 2 (`bird -p`) and FRR
/// (`bgpd --dryrun`) when installed (R-BGP-1..4, issue 7).
#[test]
fn e2e_routing_peer_config_bird_and_frr() {
    if !dualsec_testbed::require(&["ip", "bird"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let d = Dualsec::start(&topo);
    let gw = d.gateway_and_cgw().0;
    let cgw = d.json(&[
        "customer-gateway",
        "create",
        "--ip-address",
        "203.0.113.77",
        "--asn",
        "65001",
    ])["CustomerGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let vco = d.connection(
        &gw,
        &Conn {
            cgw: &cgw,
            ike_version: "ikev2",
            local: "198.18.1.0/24",
            remote: "198.19.1.0/24",
            args: &["--enable-tunnels-bgp", "true"],
            tunnel_sets: &[
                ("TunnelBgpConfig.TunnelCidr", "169.254.{n}0.0/30"),
                ("TunnelBgpConfig.LocalBgpIp", "169.254.{n}0.1"),
            ],
        },
    );
    let conf = d.cli(&["peer-config", &vco, "--format", "bird"]);
    assert!(
        conf.contains("  local 169.254.10.2 as 65001;\n  neighbor 169.254.10.1 as 45104;"),
        "{conf}"
    );
    assert!(
        conf.contains("  local 169.254.20.2 as 65001;\n  neighbor 169.254.20.1 as 45104;"),
        "{conf}"
    );
    assert!(conf.contains("route 198.19.1.0/24 blackhole;"), "{conf}");
    let file = topo.gw.dir().join("bird.conf");
    std::fs::write(&file, &conf).unwrap();
    let out = topo
        .gw
        .exec_output("bird", ["-p", "-c", file.to_str().unwrap()])
        .unwrap();
    assert!(
        out.status.success(),
        "bird -p: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let conf = d.cli(&["peer-config", &vco, "--format", "frr"]);
    assert!(conf.contains("router bgp 65001\n"), "{conf}");
    assert!(
        conf.contains(" neighbor 169.254.20.1 remote-as 45104\n"),
        "{conf}"
    );
    let file = topo.gw.dir().join("frr.conf");
    std::fs::write(&file, &conf).unwrap();
    if let Ok(out) = topo.gw.exec_output(
        "/usr/lib/frr/bgpd",
        ["--dryrun", "-f", file.to_str().unwrap()],
    ) {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("[EC "), "bgpd --dryrun: {text}\n{conf}");
    }
}
