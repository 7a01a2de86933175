//! Interop of the BGP session runtime ([`dualsec_engine::bgp_session::BgpSessions`]) with the
//! customer's BGP speakers of issue 7, BIRD 2 and FRR, over kernel TCP with TCP MD5 (RFC 2385).
//!
//! Topology: namespace `gw` (169.254.10.1/30) ⇄ veth ⇄ namespace `cgw` (169.254.10.2/30), the
//! customer's speaker as AS 65001 in `cgw`. The runtime is created inside `gw` with
//! `dualsec_dataplane::in_netns`, so its session threads and sockets live there, exactly as in
//! `dualsec serve` inside the gateway's namespace. Skips without root/bird/frr, fails instead
//! when DUALSEC_REQUIRE_INTEROP is set.

#![allow(clippy::unwrap_used)] // tests may unwrap (preamble)

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use dualsec_bgp::wire::{CeaseSubcode, ErrorCode};
use dualsec_bgp::{DownReason, RejectReason, SessionError};
use dualsec_control::ids::TunnelId;
use dualsec_control::model::TunnelIndex;
use dualsec_engine::bgp::SessionPlan;
use dualsec_engine::bgp_session::{
    BgpSessions, BgpSessionsConfig, BgpState, SessionFault, SessionStatus,
};
use dualsec_testbed::{Bird, Frr, Netns, wait_until};
use ipnet::Ipv4Net;

const GW: &str = "169.254.10.1";
const CGW: &str = "169.254.10.2";
const KEY: &str = "s3cret-md5";

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

struct Lab {
    gw: Netns,
    cgw: Netns,
}

/// Two namespaces joined by a veth; the gateway's address only when `gw_addr` (the engine
/// adds it when the tunnel comes up).
fn lab(gw_addr: bool) -> Lab {
    let gw = Netns::new("bgpgw").unwrap();
    let cgw = Netns::new("bgpcgw").unwrap();
    Netns::veth(&gw, "tun0", &cgw, "eth0").unwrap();
    cgw.addr("eth0", &format!("{CGW}/30")).unwrap();
    if gw_addr {
        gw.addr("tun0", &format!("{GW}/30")).unwrap();
    }
    Lab { gw, cgw }
}

fn tunnel() -> TunnelId {
    "tun-interop1".parse().unwrap()
}

fn plan(key: Option<&str>, advertise: &[&str]) -> BTreeMap<TunnelId, SessionPlan> {
    BTreeMap::from([(
        tunnel(),
        SessionPlan {
            connection: "vco-interop".parse().unwrap(),
            index: TunnelIndex::One,
            tunnel_cidr: net("169.254.10.0/30"),
            local_ip: GW.parse().unwrap(),
            peer_ip: CGW.parse().unwrap(),
            local_asn: 45104,
            peer_asn: 65001,
            auth_key: key.map(str::to_owned),
            advertise: advertise.iter().map(|s| net(s)).collect(),
        },
    )])
}

/// The runtime, its threads in the gateway namespace.
fn sessions(lab: &Lab, config: BgpSessionsConfig) -> BgpSessions {
    dualsec_dataplane::in_netns(&lab.gw.path(), move || BgpSessions::new(config))
        .unwrap()
        .unwrap()
}

fn fast() -> BgpSessionsConfig {
    BgpSessionsConfig {
        connect_retry: Duration::from_secs(1),
        ..Default::default()
    }
}

fn status(s: &BgpSessions) -> SessionStatus {
    s.snapshot().remove(&tunnel()).unwrap()
}

fn wait_status(
    what: &str,
    s: &BgpSessions,
    timeout: Duration,
    mut done: impl FnMut(&SessionStatus) -> bool,
) -> SessionStatus {
    let end = Instant::now() + timeout;
    loop {
        let st = status(s);
        if done(&st) {
            return st;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {st:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// BIRD as AS 65001 with an MD5 password, announcing an IDC prefix and a default route.
fn bird_config(password: &str, hold: u32) -> String {
    format!(
        "{}protocol static {{ ipv4; route 198.19.0.0/24 blackhole {{ bgp_community.add((65001, 42)); }}; \
         route 0.0.0.0/0 blackhole; }}\n\
         protocol bgp dualsec {{\n  local {CGW} as 65001;\n  neighbor {GW} as 45104;\n  \
         passive on;\n  password \"{password}\";\n  hold time {hold};\n  \
         ipv4 {{ import all; export all; }};\n}}\n",
        Bird::minimal_config(CGW)
    )
}

/// Issue 7 / R-BGP-2..4, RFC 2385: the session to BIRD comes up over TCP MD5 as soon as the
/// local BGP address appears (until then: a retried "local address" fault); BIRD's
/// 198.19.0.0/24 is learned and its 0.0.0.0/0 refused; our 198.18.0.0/24 is in BIRD's table
/// from AS 45104; an `advertise` change reaches BIRD without a reset; keepalives hold it past
/// the hold time; `shutdown` is a Cease that BIRD reports as Administrative shutdown.
#[test]
fn r_bgp_bird2_md5_session_routes_advertise_change_and_cease() {
    if !dualsec_testbed::require(&["bird", "birdc"]) {
        return;
    }
    let lab = lab(false);
    let bird = Bird::start(&lab.cgw, &bird_config(KEY, 6)).unwrap();
    let mut s = sessions(&lab, fast());
    s.apply(&plan(Some(KEY), &["198.18.0.0/24"]));

    // The tunnel is not up yet: bind fails, the status says why, attempts repeat.
    let st = wait_status("a local-address fault", &s, Duration::from_secs(5), |st| {
        st.counters.connect_attempts >= 2
    });
    assert!(
        matches!(st.last_error, Some(SessionFault::LocalAddress { .. })),
        "{st:#?}"
    );
    // The engine puts the address on the TUN: the session follows within connect_retry.
    lab.gw.addr("tun0", &format!("{GW}/30")).unwrap();
    let up_at = Instant::now();
    let st = wait_status(
        "Established and a learned route",
        &s,
        Duration::from_secs(15),
        |st| st.state == BgpState::Established && !st.learned.is_empty(),
    );
    eprintln!(
        "BGP Established {:?} after the local address appeared",
        up_at.elapsed()
    );
    assert_eq!(st.learned, vec![net("198.19.0.0/24")]);
    let r = &st.routes[0];
    assert_eq!(r.next_hop, CGW.parse::<Ipv4Addr>().unwrap());
    assert_eq!(
        (r.as_path_text(), r.community_text()),
        ("[65001]".into(), "65001:42".into())
    );
    assert_eq!(st.peer_asn, Some(65001));
    assert_eq!(st.peer_router_id, Some(CGW.parse::<Ipv4Addr>().unwrap()));
    assert_eq!(st.hold_time, Some(Duration::from_secs(6)));
    assert_eq!(st.last_error, None);
    let st = wait_status("0.0.0.0/0 refused", &s, Duration::from_secs(5), |st| {
        !st.rejected.is_empty()
    });
    assert_eq!(
        st.rejected,
        vec![(net("0.0.0.0/0"), RejectReason::DefaultRoute)]
    );
    assert!(!st.learned.contains(&net("0.0.0.0/0")));

    let mut route = String::new();
    wait_until("BIRD learns 198.18.0.0/24", Duration::from_secs(5), || {
        route = bird
            .birdc("show route 198.18.0.0/24 all")
            .unwrap_or_default();
        route.contains("198.18.0.0/24") && route.contains("45104")
    })
    .unwrap_or_else(|e| panic!("{e}: {route}"));
    assert!(route.contains(GW), "next hop is our BGP IP: {route}");

    // Only `advertise` changed: BIRD gets 198.18.1.0/24, loses 198.18.0.0/24, no reset.
    s.apply(&plan(Some(KEY), &["198.18.1.0/24"]));
    let mut table = String::new();
    wait_until(
        "BIRD follows the advertise change",
        Duration::from_secs(5),
        || {
            table = bird
                .birdc("show route protocol dualsec")
                .unwrap_or_default();
            table.contains("198.18.1.0/24") && !table.contains("198.18.0.0/24")
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {table}"));

    // Past the 6 s hold time on keepalives alone.
    std::thread::sleep(Duration::from_secs(7));
    let st = status(&s);
    assert_eq!(st.state, BgpState::Established, "{st:#?}");
    assert_eq!(st.counters.established, 1, "no reset: {st:#?}");
    assert!(
        st.counters.messages_in >= 3 && st.counters.updates_out >= 2,
        "{st:#?}"
    );
    let info = bird.protocols().unwrap();
    let p = info.iter().find(|p| p.name == "dualsec").unwrap();
    assert!(p.info.contains("Established"), "{p:?}");

    s.shutdown();
    let mut all = String::new();
    wait_until("BIRD sees the Cease", Duration::from_secs(5), || {
        all = bird
            .birdc("show protocols all dualsec")
            .unwrap_or_else(|e| e.to_string());
        all.contains("Administrative shutdown")
    })
    .unwrap_or_else(|e| panic!("{e}: {all}"));
}

/// RFC 2385 §2: with a different key BIRD's kernel drops our SYNs: never Established, and the
/// status says the attempts got no answer and names the key as a cause.
#[test]
fn rfc2385_bird2_wrong_md5_key_never_establishes() {
    if !dualsec_testbed::require(&["bird", "birdc"]) {
        return;
    }
    let lab = lab(true);
    let bird = Bird::start(&lab.cgw, &bird_config(KEY, 6)).unwrap();
    let mut s = sessions(&lab, fast());
    s.apply(&plan(Some("not-the-key"), &["198.18.0.0/24"]));
    let st = wait_status(
        "two unanswered attempts",
        &s,
        Duration::from_secs(8),
        |st| st.counters.connect_attempts >= 3,
    );
    assert!(
        matches!(st.last_error, Some(SessionFault::ConnectTimeout { .. })),
        "{st:#?}"
    );
    let text = st.last_error.as_ref().unwrap().to_string();
    assert!(
        text.contains(&format!("{CGW}:179")) && text.contains("MD5"),
        "{text}"
    );
    assert_eq!(st.counters.established, 0);
    assert_eq!(st.counters.messages_in, 0);
    assert!(st.learned.is_empty());
    let p = bird.protocols().unwrap();
    let p = p.iter().find(|p| p.name == "dualsec").unwrap();
    assert!(!p.info.contains("Established"), "{p:?}");

    // No key at all (a changed plan restarts the session): unsigned SYNs are dropped too.
    s.apply(&plan(None, &["198.18.0.0/24"]));
    let st = wait_status(
        "unanswered unsigned attempts",
        &s,
        Duration::from_secs(8),
        |st| {
            st.counters.connect_attempts >= 2
                && matches!(st.last_error, Some(SessionFault::ConnectTimeout { .. }))
        },
    );
    assert_eq!(st.counters.established, 0, "{st:#?}");
    assert_eq!(st.counters.messages_in, 0, "{st:#?}");
}

/// Issue 7 / RFC 4486: a route limit below what BIRD sends ends the session with Cease /
/// Maximum Number of Prefixes Reached; the status shows it and nothing stays learned.
#[test]
fn r_bgp_bird2_route_limit_is_reported() {
    if !dualsec_testbed::require(&["bird", "birdc"]) {
        return;
    }
    let lab = lab(true);
    let config = format!(
        "{}protocol static {{ ipv4; route 198.19.0.0/24 blackhole; route 198.19.1.0/24 blackhole; }}\n\
         protocol bgp dualsec {{\n  local {CGW} as 65001;\n  neighbor {GW} as 45104;\n  \
         passive on;\n  password \"{KEY}\";\n  ipv4 {{ import all; export all; }};\n}}\n",
        Bird::minimal_config(CGW)
    );
    let bird = Bird::start(&lab.cgw, &config).unwrap();
    let mut cfg = fast();
    cfg.max_prefixes = 1;
    let mut s = sessions(&lab, cfg);
    s.apply(&plan(Some(KEY), &["198.18.0.0/24"]));
    let st = wait_status("the route-limit Cease", &s, Duration::from_secs(15), |st| {
        matches!(
            st.last_error,
            Some(SessionFault::Down(DownReason::Sent(
                SessionError::MaxPrefixes { limit: 1 },
                _
            )))
        )
    });
    let Some(SessionFault::Down(DownReason::Sent(_, n))) = &st.last_error else {
        unreachable!()
    };
    assert_eq!(
        (n.code, n.subcode),
        (
            ErrorCode::CEASE,
            CeaseSubcode::MAXIMUM_NUMBER_OF_PREFIXES_REACHED.0
        )
    );
    assert!(st.learned.is_empty());
    let mut all = String::new();
    wait_until("BIRD sees the Cease", Duration::from_secs(5), || {
        all = bird.birdc("show protocols all dualsec").unwrap_or_default();
        all.to_lowercase().contains("maximum number of prefixes")
    })
    .unwrap_or_else(|e| panic!("{e}: {all}"));
}

/// The same session against FRR (4-octet ASN peer, `neighbor … password`): Established over
/// MD5, FRR's prefix learned, ours in FRR's table from AS 45104; stop is a Cease FRR records.
#[test]
fn r_bgp_frr_md5_session_with_four_octet_asn() {
    if !dualsec_testbed::require(&["zebra", "bgpd", "vtysh"]) {
        return;
    }
    let lab = lab(true);
    let frr = Frr::start(
        &lab.cgw,
        &format!(
            "hostname cgw\nrouter bgp 4200000001\n bgp router-id {CGW}\n \
             no bgp ebgp-requires-policy\n no bgp network import-check\n \
             neighbor {GW} remote-as 45104\n neighbor {GW} password {KEY}\n \
             neighbor {GW} timers 2 6\n \
             address-family ipv4 unicast\n  network 198.19.0.0/24\n exit-address-family\n"
        ),
    )
    .unwrap();
    let mut s = sessions(&lab, fast());
    let mut p = plan(Some(KEY), &["198.18.0.0/24"]);
    p.get_mut(&tunnel()).unwrap().peer_asn = 4_200_000_001;
    s.apply(&p);
    let st = wait_status(
        "Established and FRR's route",
        &s,
        Duration::from_secs(30),
        |st| st.state == BgpState::Established && !st.learned.is_empty(),
    );
    assert_eq!(st.learned, vec![net("198.19.0.0/24")]);
    assert_eq!(st.peer_asn, Some(4_200_000_001));
    let mut out = String::new();
    wait_until("FRR learns 198.18.0.0/24", Duration::from_secs(10), || {
        out = frr
            .vtysh("show bgp ipv4 unicast 198.18.0.0/24")
            .unwrap_or_default();
        out.contains("45104")
    })
    .unwrap_or_else(|e| panic!("{e}: {out}"));
    s.shutdown();
    wait_until("FRR records the Cease", Duration::from_secs(5), || {
        out = frr
            .vtysh(&format!("show bgp neighbors {GW}"))
            .unwrap_or_default();
        out.to_lowercase().contains("administrative shutdown")
    })
    .unwrap_or_else(|e| panic!("{e}: {out}"));
}

/// Issue 7: a peer that sends 0.0.0.0/0 and more than the default 50 prefixes on tunnel 2 does
/// not disturb tunnel 1: tunnel 2's session ends with the route-limit Cease (and keeps being
/// refused), tunnel 1's stays Established without a reset, with its one route.
#[test]
fn r_bgp_bird2_flooding_peer_on_tunnel_2_does_not_disturb_tunnel_1() {
    if !dualsec_testbed::require(&["bird", "birdc"]) {
        return;
    }
    let lab = lab(true);
    // Tunnel 2's /30 on a second veth pair.
    Netns::veth(&lab.gw, "tun1", &lab.cgw, "eth1").unwrap();
    lab.gw.addr("tun1", "169.254.20.1/30").unwrap();
    lab.cgw.addr("eth1", "169.254.20.2/30").unwrap();
    let flood: String = (0..60)
        .map(|i| {
            format!(
                "route 198.19.{}.{}/26 blackhole; ",
                100 + i / 4,
                (i % 4) * 64
            )
        })
        .collect();
    let config = format!(
        "{}protocol static good {{ ipv4; route 198.19.0.0/24 blackhole; }}\n\
         protocol static bad {{ ipv4; route 0.0.0.0/0 blackhole; {flood}}}\n\
         protocol bgp t1 {{\n  local {CGW} as 65001;\n  neighbor {GW} as 45104;\n  passive on;\n  \
         password \"{KEY}\";\n  ipv4 {{ import all; export where proto = \"good\"; }};\n}}\n\
         protocol bgp t2 {{\n  local 169.254.20.2 as 65001;\n  neighbor 169.254.20.1 as 45104;\n  \
         passive on;\n  password \"{KEY}\";\n  ipv4 {{ import all; export where proto = \"bad\"; }};\n}}\n",
        Bird::minimal_config(CGW)
    );
    let bird = Bird::start(&lab.cgw, &config).unwrap();
    let mut plans = plan(Some(KEY), &["198.18.0.0/24"]);
    let t2: TunnelId = "tun-interop2".parse().unwrap();
    let mut p2 = plans[&tunnel()].clone();
    p2.index = TunnelIndex::Two;
    p2.tunnel_cidr = net("169.254.20.0/30");
    p2.local_ip = "169.254.20.1".parse().unwrap();
    p2.peer_ip = "169.254.20.2".parse().unwrap();
    plans.insert(t2.clone(), p2);
    let mut s = sessions(&lab, fast()); // default limit: 50
    s.apply(&plans);
    let limit_hit = |st: &SessionStatus| {
        matches!(
            st.last_error,
            Some(SessionFault::Down(DownReason::Sent(
                SessionError::MaxPrefixes { limit: 50 },
                _
            )))
        )
    };
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let snap = s.snapshot();
        let (one, two) = (&snap[&tunnel()], &snap[&t2]);
        if one.state == BgpState::Established && limit_hit(two) && two.counters.established >= 2 {
            break;
        }
        assert!(Instant::now() < end, "{snap:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let snap = s.snapshot();
    let (one, two) = (&snap[&tunnel()], &snap[&t2]);
    assert_eq!(one.learned, vec![net("198.19.0.0/24")], "{one:#?}");
    assert_eq!(
        one.counters.established, 1,
        "tunnel 1 never reset: {one:#?}"
    );
    assert_eq!(one.last_error, None);
    assert!(
        two.learned.len() <= 50 && !two.learned.contains(&net("0.0.0.0/0")),
        "{two:#?}"
    );
    assert!(
        two.rejected
            .contains(&(net("0.0.0.0/0"), RejectReason::DefaultRoute)),
        "{two:#?}"
    );
    eprintln!(
        "tunnel 2: {} setups ended by the limit; tunnel 1: {} messages in, still Established",
        two.counters.established, one.counters.messages_in
    );
    let p = bird.protocols().unwrap();
    let t1 = p.iter().find(|p| p.name == "t1").unwrap();
    assert!(t1.info.contains("Established"), "{p:?}");
}
