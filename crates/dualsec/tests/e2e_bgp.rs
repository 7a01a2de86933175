//! Issue 7 end to end: BGP through both tunnels (R-BGP-1..5, R-CONN-2 destination routing). The
//! real `dualsec serve` in `gw` against strongSwan (kernel-libipsec) in `cgw` loaded with the
//! generated `swanctl.conf` unchanged, and the customer's BGP speaker run from the generated
//! `peer-config --format bird|frr` (the session interfaces created with the commands its header
//! lists; the IDC prefix added where the file says so, since a destination-routing connection
//! names none).
//!
//! * Steering: each session's packets ride their own tunnel — the gateway reaches the customer's
//!   BGP address of tunnel 2 while tunnel 1 carries the VPC's traffic, and after tunnel 1's
//!   uplink is cut, tunnel 2's address still answers and tunnel 1's does not.
//! * Sessions Established on both tunnels (DescribeVpnConnection `BgpStatus` `success`), the
//!   IDC prefix learned (kernel route into the TUN, no static route configured) and the VPC
//!   prefix advertised (in the customer's BGP table); VPC → IDC ping over the learned route; the
//!   route survives the cut of tunnel 1 (traffic on tunnel 2, session 2 still up).
//! * `EnableTunnelsBgp` off (ModifyVpnConnectionAttribute, R-BGP-5): sessions gone (`false`),
//!   learned route and session addresses removed, the IDC unreachable; on again: session and
//!   route back, traffic passes.
//! * A customer announcing `0.0.0.0/0` and more than 50 prefixes on tunnel 2 leaves tunnel 1
//!   alone (BIRD).
//!
//! Needs root, strongSwan (charon, swanctl), BIRD 2 (bird, birdc) / FRR (zebra, bgpd, vtysh)
//! and ping; skips with a message without them, fails when `DUALSEC_REQUIRE_INTEROP` is set (CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod e2e;

use dualsec_testbed::topology::{CGW_PUBLIC, GW_VPC, Uplink};
use dualsec_testbed::{Bird, Frr};
use e2e::*;

/// The engine's TUN device (`serve --tun`, default).
const TUN: &str = "dsec0";
/// Tunnel 1's and tunnel 2's BGP addresses: gateway, customer.
const T1: (&str, &str) = ("169.254.10.1", "169.254.10.2");
const T2: (&str, &str) = ("169.254.20.1", "169.254.20.2");
const CUSTOMER_ASN: &str = "65001";

/// Gateway, customer gateway with an ASN (R-BGP-1), and a destination-routing connection
/// (`0.0.0.0/0` both sides) with BGP on both tunnels.
fn bgp_connection(d: &Dualsec, auth_key: Option<&str>, ike_version: &str) -> String {
    let gw = d.json(&[
        "vpn-gateway",
        "create",
        "--vpc-id",
        "vpc-e2e",
        "--bandwidth",
        "100",
    ])["VpnGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_until("gateway active", Duration::from_secs(10), || {
        d.json(&["vpn-gateway", "describe", &gw])["Status"] == "active"
    })
    .unwrap();
    let mut args = vec![
        "customer-gateway",
        "create",
        "--ip-address",
        CGW_PUBLIC,
        "--asn",
        CUSTOMER_ASN,
    ];
    if let Some(k) = auth_key {
        args.extend(["--auth-key", k]);
    }
    let cgw = d.json(&args)["CustomerGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    d.connection(
        &gw,
        &Conn {
            cgw: &cgw,
            ike_version,
            local: "0.0.0.0/0",
            remote: "0.0.0.0/0",
            args: &["--enable-tunnels-bgp", "true"],
            tunnel_sets: &[
                ("TunnelBgpConfig.TunnelCidr", "169.254.{n}0.0/30"),
                ("TunnelBgpConfig.LocalBgpIp", "169.254.{n}0.1"),
            ],
        },
    )
}

fn bgp_status(d: &Dualsec, vco: &str, i: usize) -> String {
    d.tunnel(vco, i)["TunnelBgpConfig"]["BgpStatus"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn wait_bgp(d: &Dualsec, vco: &str, i: usize, want: &str, timeout: Duration) {
    if wait_until(
        &format!("tunnel {} BgpStatus {want}", i + 1),
        timeout,
        || bgp_status(d, vco, i) == want,
    )
    .is_err()
    {
        panic!(
            "tunnel {} BgpStatus not {want}: {:#}\nlogs: {}\nserve stderr:\n{}",
            i + 1,
            d.tunnel(vco, i),
            d.cli(&["connection", "logs", vco, "--minute-period", "10"]),
            tail(&d.serve.stderr(), 60)
        );
    }
}

fn kernel_route(ns: &Netns, dst: &str) -> String {
    ns.ip(&["-4", "route", "show", dst]).unwrap_or_default()
}

/// Replies to `count` pings from `ns` to `dst` (100 ms apart, 1 s wait).
fn replies(ns: &Netns, dst: &str, count: u32) -> u32 {
    traffic::ping(ns, dst, count, Duration::from_millis(100))
        .map(|r| r.received)
        .unwrap_or(0)
}

/// Runs the `#   ip …` / `!   ip …` commands a generated BGP config lists in its header.
fn create_session_interfaces(ns: &Netns, conf: &str) {
    let cmds: Vec<&str> = conf
        .lines()
        .filter_map(|l| {
            l.strip_prefix("#   ip ")
                .or_else(|| l.strip_prefix("!   ip "))
        })
        .collect();
    assert_eq!(cmds.len(), 6, "two sessions × 3 commands:\n{conf}");
    for c in cmds {
        let args: Vec<&str> = c.split_whitespace().collect();
        if ns.ip(&args).is_ok() {
            continue;
        }
        // This host's kernel may lack the dummy module: a veth pair (both ends up) serves the
        // same purpose, an interface that holds the session address.
        let dev = args[2];
        assert_eq!(&args[..], ["link", "add", dev, "type", "dummy"], "{c}");
        let peer = format!("{dev}p");
        ns.ip(&["link", "add", dev, "type", "veth", "peer", "name", &peer])
            .unwrap();
        ns.ip(&["link", "set", &peer, "up"]).unwrap();
    }
}

/// The shared bring-up: topology, serve, the BGP connection, strongSwan with the generated
/// swanctl.conf, both tunnels established.
struct Bed {
    topo: Topology,
    d: Dualsec,
    _cgw: Charon,
    vco: String,
}

/// The customer gateway's `AuthKey` in the BIRD test: the sessions are TCP-MD5 signed
/// (RFC 2385); the API never returns the key, so it goes into the generated file by hand,
/// where the file says.
const MD5_KEY: &str = "e2e-md5-key";

fn bring_up(tools: &[&str], auth_key: Option<&str>) -> Option<Bed> {
    bring_up_with(tools, auth_key, "ikev2")
}

fn bring_up_with(tools: &[&str], auth_key: Option<&str>, ike_version: &str) -> Option<Bed> {
    let mut need = vec!["charon", "swanctl", "ping", "ip"];
    need.extend_from_slice(tools);
    if !dualsec_testbed::require(&need) {
        return None;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let d = Dualsec::start(&topo);
    let vco = bgp_connection(&d, auth_key, ike_version);
    let swan = d.cli(&["peer-config", &vco, "--format", "swanctl"]);
    if ike_version == "ikev2" {
        // Each tunnel's selectors carry its own session (and only its own).
        assert!(
            swan.contains(&format!("local_ts = 0.0.0.0/0,{}/32\n", T1.1)),
            "{swan}"
        );
        assert!(
            swan.contains(&format!("remote_ts = 0.0.0.0/0,{}/32\n", T2.0)),
            "{swan}"
        );
    } else {
        // IKEv1 negotiates one selector pair: 0.0.0.0/0 ⇄ 0.0.0.0/0, which covers the
        // sessions' 169.254 addresses too.
        assert_eq!(swan.matches("version = 1\n").count(), 2, "{swan}");
        assert_eq!(swan.matches("local_ts = 0.0.0.0/0\n").count(), 2, "{swan}");
        assert_eq!(swan.matches("remote_ts = 0.0.0.0/0\n").count(), 2, "{swan}");
    }
    // 0.0.0.0/0 selectors: the file says to keep the gateway's public IPs out of the tunnels'
    // routes (charon's kernel-libipsec routes 0.0.0.0/0 into its TUN once tunnel 1 is up).
    let rules: Vec<&str> = swan
        .lines()
        .filter_map(|l| l.strip_prefix("#   ip "))
        .collect();
    assert_eq!(rules.len(), 2, "{swan}");
    for r in rules {
        topo.cgw
            .ip(&r.split_whitespace().collect::<Vec<_>>())
            .unwrap();
    }
    // … and the customer's own network (the file's `<LAN prefix>`).
    topo.cgw
        .ip(&[
            "rule", "add", "to", IDC_NET, "lookup", "main", "pref", "100",
        ])
        .unwrap();
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&swan).unwrap();
    for i in 0..2 {
        d.wait_tunnel(&vco, i, "ipsec_sa_established", Duration::from_secs(30));
    }
    Some(Bed {
        topo,
        d,
        _cgw: cgw,
        vco,
    })
}

/// Packets the customer's tunnel `n` CHILD SA received (`in … packets` of `swanctl --list-sas`).
fn customer_in_packets(bed: &Bed, n: usize) -> u64 {
    let text = bed._cgw.swanctl(&["--list-sas"]).unwrap();
    let name = format!("{}-tunnel{n}:", bed.vco);
    let mut in_child = false;
    for l in text.lines() {
        let t = l.trim_start();
        if t.starts_with(&name) && t.contains("INSTALLED") {
            in_child = true;
        } else if in_child && t.starts_with("in ") {
            // `in  c1a2b3c4,  13975 bytes,   168 packets,     1s ago`
            let w: Vec<&str> = t.split_whitespace().collect();
            if let Some(p) = w.iter().position(|x| x.starts_with("packets")) {
                return w[p - 1].parse().unwrap_or(0);
            }
        }
    }
    0
}

/// Routing state of both sides, for failure messages.
fn bgp_diag(bed: &Bed) -> String {
    let (topo, d) = (&bed.topo, &bed.d);
    let mut out = String::new();
    for (ns, what) in [
        (&topo.gw, &["route"][..]),
        (&topo.gw, &["-s", "link", "show", "dev", TUN][..]),
        (&topo.cgw, &["rule"][..]),
        (&topo.cgw, &["route", "show", "table", "220"][..]),
        (&topo.cgw, &["route"][..]),
    ] {
        out += &format!(
            "--- {} ip {}\n{}\n",
            ns.role(),
            what.join(" "),
            ns.ip(what).unwrap_or_default()
        );
    }
    out += &format!(
        "--- gw ping -I {GW_VPC} {IDC_HOST}: {:?}\n--- gw forwarding {:?}\n--- vpc ping {:?}\n",
        topo.gw
            .exec_output("ping", ["-c", "2", "-W", "1", "-I", GW_VPC, IDC_HOST])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned()),
        topo.gw.exec("sysctl", ["net.ipv4.ip_forward"]),
        topo.vpc
            .exec_output("ping", ["-c", "2", "-W", "1", IDC_HOST])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned()),
    );
    out += &topo
        .gw
        .ip(&["-s", "link", "show", "dev", TUN])
        .unwrap_or_default();
    out += &bed._cgw.swanctl(&["--list-sas"]).unwrap_or_default();
    out += &d.cli(&["connection", "logs", &bed.vco, "--minute-period", "10"]);
    out += &tail(&d.serve.stderr(), 30);
    out
}

/// DescribeVpnRouteEntries `RouteEntryType=bgp` (`route list --route-entry-type bgp`) of the
/// connection's gateway.
fn bgp_route_entries(d: &Dualsec, vco: &str) -> Vec<Value> {
    let gw = d.json(&["connection", "describe", vco])["VpnGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = d.json(&["route", "list", &gw, "--route-entry-type", "bgp"]);
    l["VpnRouteEntries"]["VpnRouteEntry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Issue 7: the IDC prefix is listed as learned on each of `tunnels` (indexes), with the
/// connection as `NextHop`, that tunnel as `NextHopTunnelId` and the customer's ASN in `AsPath`.
fn assert_idc_prefix_listed(d: &Dualsec, vco: &str, tunnels: &[usize]) {
    let want: Vec<String> = tunnels
        .iter()
        .map(|i| d.tunnel(vco, *i)["TunnelId"].as_str().unwrap().to_owned())
        .collect();
    let listed = |e: &[Value]| -> Vec<String> {
        e.iter()
            .filter(|r| r["RouteDest"] == IDC_NET)
            .map(|r| r["NextHopTunnelId"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let ok = wait_until(
        "IDC prefix listed as BGP-learned",
        Duration::from_secs(10),
        || listed(&bgp_route_entries(d, vco)) == want,
    );
    let entries = bgp_route_entries(d, vco);
    assert!(ok.is_ok(), "want {want:?}: {entries:#?}");
    for e in entries.iter().filter(|r| r["RouteDest"] == IDC_NET) {
        assert_eq!(e["RouteEntryType"], "bgp", "{e:#}");
        assert_eq!(e["NextHop"], vco, "{e:#}");
        assert_eq!(e["Source"], "VPN_BGP", "{e:#}");
        assert!(
            e["AsPath"].as_str().unwrap().contains(CUSTOMER_ASN),
            "{e:#}"
        );
    }
}

/// The core case with the customer speaker already running: sessions, routes both ways,
/// steering, the cut of tunnel 1, BGP off. `speaker_routes` returns the customer's BGP table.
fn core_case(bed: &Bed, speaker_routes: &dyn Fn() -> String) {
    let (topo, d, vco) = (&bed.topo, &bed.d, bed.vco.as_str());
    // Sessions Established on both tunnels (TunnelBgpConfig.BgpStatus, api-reference).
    wait_bgp(d, vco, 0, "success", Duration::from_secs(40));
    wait_bgp(d, vco, 1, "success", Duration::from_secs(40));
    let t = d.tunnel(vco, 1);
    assert_eq!(t["TunnelBgpConfig"]["PeerBgpIp"], T2.1, "{t:#}");
    assert_eq!(t["TunnelBgpConfig"]["PeerAsn"], CUSTOMER_ASN, "{t:#}");

    // The IDC prefix is learned: a kernel route into the TUN, with no static route configured.
    wait_until("learned IDC route", Duration::from_secs(10), || {
        kernel_route(&topo.gw, IDC_NET).contains(&format!("dev {TUN}"))
    })
    .unwrap_or_else(|_| panic!("gw routes: {}", topo.gw.ip(&["route"]).unwrap_or_default()));
    // The VPC prefix is advertised to the customer.
    wait_until(
        "VPC prefix at the customer",
        Duration::from_secs(10),
        || speaker_routes().contains(VPC_NET),
    )
    .unwrap_or_else(|_| panic!("customer BGP table: {}", speaker_routes()));
    // … and listed through the API, learned on both tunnels (issue 7).
    assert_idc_prefix_listed(d, vco, &[0, 1]);

    // VPC → IDC over the learned route.
    let got = replies(&topo.vpc, IDC_HOST, 5);
    assert_eq!(got, 5, "vpc → idc over BGP\n{}", bgp_diag(bed));
    // Steering: each session address answers through its own tunnel while tunnel 1 carries
    // the VPC's traffic (tunnel 2's SA is the only one whose selectors admit 169.254.20.x).
    // (Whichever tunnel answered its first probe first carried traffic at start; tunnel 1
    // takes over once healthy for the failback hold-down.)
    wait_until("tunnel 1 carries traffic", Duration::from_secs(30), || {
        d.tunnel(vco, 0)["CarriesTraffic"] == true
    })
    .unwrap();
    for (i, addr) in [(1, T1.1), (2, T2.1)] {
        let before = customer_in_packets(bed, i);
        assert_eq!(replies(&topo.gw, addr, 5), 5, "gw → {addr} (tunnel {i})");
        let after = customer_in_packets(bed, i);
        assert!(
            after >= before + 5,
            "the pings to {addr} did not arrive on tunnel {i}'s SA ({before} → {after})\n{}",
            bgp_diag(bed)
        );
    }

    // Cut tunnel 1: the VPC's traffic moves to tunnel 2, session 2 stays up, the pinned session
    // addresses stay in their tunnels.
    topo.cut_uplink(Uplink::Az1).unwrap();
    wait_until("tunnel 2 carries traffic", Duration::from_secs(15), || {
        d.tunnel(vco, 1)["CarriesTraffic"] == true
    })
    .unwrap_or_else(|_| {
        panic!(
            "{}",
            d.cli(&["connection", "logs", vco, "--minute-period", "10"])
        )
    });
    // The customer side picks among its two 0.0.0.0/0 SAs by itself. After the probe-loss
    // failover the gateway deletes tunnel 1's CHILD SA (IKE SA kept, issue 6 steering), and the
    // customer moves to tunnel 2's SA. (In this testbed a downed gateway uplink leaves IP 1's
    // packets routed out through uplink 2 while answers to IP 1 are lost, so the DELETE reaches
    // the customer; with IP 1 cut both ways the customer's own DPD decides.)
    let moved = wait_until(
        "the customer drops its tunnel-1 CHILD SA",
        Duration::from_secs(10),
        || {
            bed._cgw.list_sas().is_ok_and(|sas| {
                !sas.iter()
                    .filter(|ike| ike.name.ends_with("tunnel1"))
                    .flat_map(|ike| ike.children.iter())
                    .any(|c| c.state == "INSTALLED")
            })
        },
    );
    assert!(moved.is_ok(), "{}", bgp_diag(bed));
    // Pinned: tunnel 1's session address stays in tunnel 1 (now dead), tunnel 2's answers.
    assert_eq!(
        replies(&topo.gw, T1.1, 2),
        0,
        "tunnel 1's session address left its tunnel"
    );
    let t2 = wait_until(
        "tunnel 2's session address",
        Duration::from_secs(10),
        || replies(&topo.gw, T2.1, 2) == 2,
    );
    assert!(t2.is_ok(), "{}", bgp_diag(bed));
    // Session 2 stays up; the learned route follows the failover.
    assert_eq!(bgp_status(d, vco, 1), "success");
    assert!(kernel_route(&topo.gw, IDC_NET).contains(TUN));
    let got = wait_until("vpc → idc after the cut", Duration::from_secs(10), || {
        replies(&topo.vpc, IDC_HOST, 3) == 3
    });
    assert!(got.is_ok(), "vpc → idc after the cut\n{}", bgp_diag(bed));
    assert_eq!(bgp_status(d, vco, 1), "success");
    topo.restore_uplink(Uplink::Az1).unwrap();

    // R-BGP-5: BGP off on the running connection.
    d.cli(&["connection", "modify", vco, "--enable-tunnels-bgp", "false"]);
    wait_bgp(d, vco, 1, "false", Duration::from_secs(10));
    wait_until("learned route removed", Duration::from_secs(10), || {
        kernel_route(&topo.gw, IDC_NET).is_empty()
    })
    .unwrap_or_else(|_| panic!("gw: {}", kernel_route(&topo.gw, IDC_NET)));
    wait_until("session addresses removed", Duration::from_secs(10), || {
        let a = topo
            .gw
            .ip(&["-4", "addr", "show", "dev", TUN])
            .unwrap_or_default();
        !a.contains(T1.0) && !a.contains(T2.0)
    })
    .unwrap();
    // Without the learned route there is no way to the IDC (the ping above used it).
    assert_eq!(replies(&topo.vpc, IDC_HOST, 3), 0, "vpc → idc without BGP");
    // Nothing listed as learned any more (issue 7).
    let left = bgp_route_entries(d, vco);
    assert!(left.is_empty(), "BGP off, still listed: {left:#?}");

    // … and on again (R-BGP-5): session 2 (the tunnel that carries traffic) comes back with
    // the route.
    d.cli(&["connection", "modify", vco, "--enable-tunnels-bgp", "true"]);
    wait_bgp(d, vco, 1, "success", Duration::from_secs(30));
    wait_until("learned IDC route again", Duration::from_secs(10), || {
        kernel_route(&topo.gw, IDC_NET).contains(&format!("dev {TUN}"))
    })
    .unwrap();
    let got = wait_until("vpc → idc with BGP back", Duration::from_secs(10), || {
        replies(&topo.vpc, IDC_HOST, 3) == 3
    });
    assert!(got.is_ok(), "vpc → idc with BGP back\n{}", bgp_diag(bed));
    // Listed again for each session that is back (session 1 once tunnel 1's CHILD SA, withdrawn
    // at the cut, has been re-created).
    let up: Vec<usize> = (0..2)
        .filter(|i| bgp_status(d, vco, *i) == "success")
        .collect();
    assert!(up.contains(&1), "{up:?}");
    assert_idc_prefix_listed(d, vco, &up);
}

/// BIRD 2 as the customer's speaker, run from `peer-config --format bird`.
#[test]
fn e2e_bgp_bird_both_tunnels_failover_and_off() {
    let Some(bed) = bring_up(&["bird", "birdc"], Some(MD5_KEY)) else {
        return;
    };
    let conf = bed.d.cli(&["peer-config", &bed.vco, "--format", "bird"]);
    create_session_interfaces(&bed.topo.cgw, &conf);
    let password = "  # password \"<AuthKey>\";   (when the customer gateway has one)";
    assert_eq!(conf.matches(password).count(), 2, "{conf}");
    let conf = conf.replace(password, &format!("  password \"{MD5_KEY}\";"));
    // A destination-routing connection names no IDC prefix: add it where the file says.
    let hint = "  # route <your IDC prefix> blackhole;   (add the prefixes to announce)";
    assert!(conf.contains(hint), "{conf}");
    let conf = conf.replace(hint, &format!("  route {IDC_NET} blackhole;"));
    let bird = Bird::start(&bed.topo.cgw, &conf).unwrap();
    let routes = || bird.birdc("show route").unwrap_or_default();
    core_case(&bed, &routes);
    // Stopping the gateway ends the running session with a Cease (RFC 4486 Administrative
    // Shutdown) sent through its tunnel before the tunnels are deleted.
    let Bed { topo, d, _cgw, vco } = bed;
    let log = d.stop();
    let protocols = bird.birdc("show protocols").unwrap_or_default();
    assert!(
        protocols.contains("Received: Administrative shutdown"),
        "{protocols}\n{}",
        tail(&log, 20)
    );
    drop((topo, _cgw, vco));
}

/// FRR as the customer's speaker, run from `peer-config --format frr`.
#[test]
fn e2e_bgp_frr_both_tunnels_failover_and_off() {
    let Some(bed) = bring_up(&["zebra", "bgpd", "vtysh"], None) else {
        return;
    };
    let conf = bed.d.cli(&["peer-config", &bed.vco, "--format", "frr"]);
    create_session_interfaces(&bed.topo.cgw, &conf);
    let hint = "! ip prefix-list DUALSEC-OUT seq 10 permit <your IDC prefix>\nip prefix-list DUALSEC-OUT seq 5 deny any\n";
    assert!(conf.contains(hint), "{conf}");
    let conf = conf
        .replace(
            hint,
            &format!("ip prefix-list DUALSEC-OUT seq 5 permit {IDC_NET}\n"),
        )
        .replace(
            " exit-address-family",
            &format!("  network {IDC_NET}\n exit-address-family"),
        );
    // `network` needs the prefix in the RIB (or `no bgp network import-check`, which the file
    // sets); zebra knows the IDC subnet as connected.
    let frr = Frr::start(&bed.topo.cgw, &conf).unwrap();
    let routes = || frr.vtysh("show ip bgp").unwrap_or_default();
    core_case(&bed, &routes);
    let _ = frr.bgpd_pid();
}

/// Issue 7: a customer speaker that announces `0.0.0.0/0` and more than the 50-prefix limit on
/// tunnel 2 does not disturb tunnel 1: session 1 stays Established with its route, VPC → IDC
/// keeps working, and neither the default route nor any of the excess prefixes is installed.
#[test]
fn e2e_bgp_hostile_announcements_on_tunnel_2_leave_tunnel_1_alone() {
    let Some(bed) = bring_up(&["bird", "birdc"], None) else {
        return;
    };
    let (topo, d, vco) = (&bed.topo, &bed.d, bed.vco.as_str());
    let conf = d.cli(&["peer-config", vco, "--format", "bird"]);
    create_session_interfaces(&topo.cgw, &conf);
    let hint = "  # route <your IDC prefix> blackhole;   (add the prefixes to announce)";
    let mut conf = conf.replace(hint, &format!("  route {IDC_NET} blackhole;"));
    // Tunnel 2 also exports a default route and 60 more prefixes (198.18.128.0/24 …).
    let t2_export = "if proto != \"dualsec_advertise\" then reject;";
    assert_eq!(conf.matches(t2_export).count(), 1, "{conf}");
    conf = conf.replace(
        t2_export,
        "if proto != \"dualsec_advertise\" && proto != \"hostile\" then reject;",
    );
    conf += "protocol static hostile {\n  ipv4;\n  route 0.0.0.0/0 blackhole;\n";
    for i in 0..60 {
        conf += &format!("  route 198.18.{}.0/24 blackhole;\n", 128 + i);
    }
    conf += "}\n";
    let bird = Bird::start(&topo.cgw, &conf).unwrap();
    wait_bgp(d, vco, 0, "success", Duration::from_secs(40));
    wait_until("learned IDC route", Duration::from_secs(10), || {
        kernel_route(&topo.gw, IDC_NET).contains(&format!("dev {TUN}"))
    })
    .unwrap();
    // Over a few of tunnel 2's attempts, tunnel 1 stays up with its route and traffic.
    let end = std::time::Instant::now() + Duration::from_secs(8);
    while std::time::Instant::now() < end {
        assert_eq!(bgp_status(d, vco, 0), "success", "{}", bgp_diag(&bed));
        assert!(kernel_route(&topo.gw, IDC_NET).contains(TUN));
        let default = topo.gw.ip(&["-4", "route", "show", "dev", TUN]).unwrap();
        assert!(
            !default.contains("default") && !default.contains("198.18.128."),
            "refused prefixes installed: {default}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(replies(&topo.vpc, IDC_HOST, 5), 5, "vpc → idc");
    // Listed as learned on tunnel 1 only, and none of tunnel 2's announcements (issue 7).
    assert_idc_prefix_listed(d, vco, &[0]);
    let listed = bgp_route_entries(d, vco);
    assert!(
        listed.iter().all(|r| r["RouteDest"] == IDC_NET),
        "{listed:#?}"
    );
    // Tunnel 2's session was ended for the excess (Cease, RFC 4486) and is not Established.
    let logs = d.cli(&[
        "connection",
        "logs",
        vco,
        "--minute-period",
        "10",
        "--page-size",
        "50",
    ]);
    assert_ne!(bgp_status(d, vco, 1), "success", "{logs}");
    assert!(
        logs.contains("tunnel 2: BGP session with 169.254.20.2 not established")
            && logs.contains("more than 50 prefixes"),
        "{logs}"
    );
    assert!(!logs.contains("tunnel 1: BGP session with"), "{logs}");
    eprintln!(
        "customer's view of session 2: {}",
        bird.birdc("show protocols").unwrap_or_default()
    );
}

/// R-BGP-3 / issue 7: a default route announced on tunnel 2 (within the prefix limit) is
/// refused and never installed, while the session stays up and its other prefix is learned.
#[test]
fn e2e_bgp_default_route_from_the_customer_is_refused() {
    let Some(bed) = bring_up(&["bird", "birdc"], None) else {
        return;
    };
    let (topo, d, vco) = (&bed.topo, &bed.d, bed.vco.as_str());
    let conf = d.cli(&["peer-config", vco, "--format", "bird"]);
    create_session_interfaces(&topo.cgw, &conf);
    let hint = "  # route <your IDC prefix> blackhole;   (add the prefixes to announce)";
    let mut conf = conf.replace(hint, &format!("  route {IDC_NET} blackhole;"));
    let t2_export = "if proto != \"dualsec_advertise\" then reject;";
    conf = conf.replace(
        t2_export,
        "if proto != \"dualsec_advertise\" && proto != \"hostile\" then reject;",
    );
    conf += "protocol static hostile {\n  ipv4;\n  route 0.0.0.0/0 blackhole;\n}\n";
    let bird = Bird::start(&topo.cgw, &conf).unwrap();
    wait_bgp(d, vco, 0, "success", Duration::from_secs(40));
    wait_bgp(d, vco, 1, "success", Duration::from_secs(40));
    // BIRD did send it to us on tunnel 2.
    let proto = format!("{}_tunnel2", vco.replace('-', "_"));
    let exported = bird
        .birdc(&format!("show route export {proto}"))
        .unwrap_or_default();
    assert!(exported.contains("0.0.0.0/0"), "{exported}");
    wait_until("learned IDC route", Duration::from_secs(10), || {
        kernel_route(&topo.gw, IDC_NET).contains(&format!("dev {TUN}"))
    })
    .unwrap();
    std::thread::sleep(Duration::from_secs(2)); // a few reconciles
    let on_tun = topo.gw.ip(&["-4", "route", "show", "dev", TUN]).unwrap();
    assert!(
        !on_tun.contains("default"),
        "default route installed: {on_tun}"
    );
    assert_eq!(bgp_status(d, vco, 1), "success", "{}", bgp_diag(&bed));
    assert_eq!(replies(&topo.vpc, IDC_HOST, 3), 3, "vpc → idc");
    // The refused default route is not listed as learned either; the IDC prefix is, on both
    // tunnels (issue 7).
    assert_idc_prefix_listed(d, vco, &[0, 1]);
    let listed = bgp_route_entries(d, vco);
    assert!(
        !listed.iter().any(|r| r["RouteDest"] == "0.0.0.0/0"),
        "{listed:#?}"
    );
}

/// Issue 7 over IKEv1 (issue 8: routing works the same): both tunnels IKEv1 with
/// destination-routing selectors 0.0.0.0/0 ⇄ 0.0.0.0/0 — the one selector pair IKEv1 negotiates
/// covers the BGP sessions' 169.254 addresses, so no /32 selectors are needed. BIRD from the
/// generated config: both sessions `success`, the IDC prefix learned on both tunnels (listed
/// through the API) and pinged from the VPC over the learned route.
#[test]
fn e2e_bgp_bird_over_ikev1_tunnels() {
    let Some(bed) = bring_up_with(&["bird", "birdc"], None, "ikev1") else {
        return;
    };
    let (topo, d, vco) = (&bed.topo, &bed.d, bed.vco.as_str());
    for i in 0..2 {
        assert_eq!(d.tunnel(vco, i)["TunnelIkeConfig"]["IkeVersion"], "ikev1");
    }
    let conf = d.cli(&["peer-config", vco, "--format", "bird"]);
    create_session_interfaces(&topo.cgw, &conf);
    let hint = "  # route <your IDC prefix> blackhole;   (add the prefixes to announce)";
    assert!(conf.contains(hint), "{conf}");
    let conf = conf.replace(hint, &format!("  route {IDC_NET} blackhole;"));
    let bird = Bird::start(&topo.cgw, &conf).unwrap();
    let birdc = |c: &str| bird.birdc(c).unwrap_or_default();
    for i in 0..2 {
        if wait_until(
            &format!("tunnel {} BgpStatus success", i + 1),
            Duration::from_secs(40),
            || bgp_status(d, vco, i) == "success",
        )
        .is_err()
        {
            panic!(
                "tunnel {} BGP over IKEv1 not established\nBIRD: {}\n{}",
                i + 1,
                birdc("show protocols all"),
                bgp_diag(&bed)
            );
        }
    }
    wait_until("learned IDC route", Duration::from_secs(10), || {
        kernel_route(&topo.gw, IDC_NET).contains(&format!("dev {TUN}"))
    })
    .unwrap_or_else(|_| panic!("{}", bgp_diag(&bed)));
    wait_until(
        "VPC prefix at the customer",
        Duration::from_secs(10),
        || birdc("show route").contains(VPC_NET),
    )
    .unwrap_or_else(|_| panic!("customer BGP table: {}", birdc("show route")));
    assert_idc_prefix_listed(d, vco, &[0, 1]);
    let got = wait_until(
        "vpc → idc over BGP (IKEv1)",
        Duration::from_secs(10),
        || replies(&topo.vpc, IDC_HOST, 3) == 3,
    );
    assert!(got.is_ok(), "vpc → idc over IKEv1\n{}", bgp_diag(&bed));
    // Each session address answers from the gateway (pinned into its own tunnel).
    for addr in [T1.1, T2.1] {
        assert_eq!(
            replies(&topo.gw, addr, 3),
            3,
            "gw → {addr}\n{}",
            bgp_diag(&bed)
        );
    }
    eprintln!(
        "IKEv1: BGP-learned routes listed: {:#?}",
        bgp_route_entries(d, vco)
    );
}
