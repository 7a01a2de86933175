//! Interop: our speaker against BIRD 2 and FRR, the customer's BGP speakers of issue 7.
//!
//! Topology: namespace `relay` (169.254.77.1/30) ⇄ veth ⇄ namespace `peer` (169.254.77.2/30) where
//! BIRD or FRR runs as AS 65001. The speaker runs in this test process; its "TCP connection" is a
//! Unix socket to a small relay in `relay` that opens the real TCP connection to port 179 of the
//! peer. So the test needs no socket of its own in a namespace, and cleans up with the namespaces.
//! Skips without root/bird/frr/python3, fails instead when DUALSEC_REQUIRE_INTEROP is set.

#![allow(clippy::unwrap_used)] // tests may unwrap (preamble)

use std::io::{ErrorKind, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dualsec_bgp::wire::{AsPath, ErrorCode};
use dualsec_bgp::{
    Asn, DownReason, Ipv4Prefix, RejectReason, SessionConfig, SessionEvent, Speaker, State,
};
use dualsec_testbed::{Bird, Frr, Netns, Process, wait_until};

const GW: &str = "169.254.77.1";
const PEER: &str = "169.254.77.2";

const RELAY_PY: &str = r#"
import socket, sys, threading
path, dst, src = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
while True:
    conn, _ = srv.accept()
    try:
        tcp = socket.create_connection((dst, 179), timeout=5, source_address=(src, 0))
        tcp.settimeout(None)
    except OSError as e:
        print("connect failed:", e, flush=True)
        conn.close()
        continue
    # Half-close on EOF and drain what is still in flight: closing a TCP socket with unread
    # data sends a RST, and a RST can make BIRD drop our last NOTIFICATION unread.
    def pipe(a, b):
        broken = False
        while True:
            try:
                d = a.recv(65536)
            except OSError:
                break
            if not d:
                break
            if broken:
                continue
            try:
                b.sendall(d)
            except OSError:
                broken = True
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    t = threading.Thread(target=pipe, args=(tcp, conn), daemon=True)
    t.start()
    pipe(conn, tcp)
    t.join()
    conn.close()
    tcp.close()
"#;

fn p(s: &str) -> Ipv4Prefix {
    s.parse().unwrap()
}

struct Lab {
    _relay_ns: Netns,
    peer_ns: Netns,
    _relay: Process,
    sock: PathBuf,
}

fn lab() -> Lab {
    let relay_ns = Netns::new("bgprelay").unwrap();
    let peer_ns = Netns::new("bgppeer").unwrap();
    Netns::veth(&relay_ns, "bgp0", &peer_ns, "bgp0").unwrap();
    relay_ns.addr("bgp0", &format!("{GW}/30")).unwrap();
    peer_ns.addr("bgp0", &format!("{PEER}/30")).unwrap();
    let script = relay_ns.dir().join("relay.py");
    std::fs::write(&script, RELAY_PY).unwrap();
    let sock = relay_ns.dir().join("relay.sock");
    let relay = relay_ns
        .spawn(
            "relay",
            "python3",
            [script.to_str().unwrap(), sock.to_str().unwrap(), PEER, GW],
        )
        .unwrap();
    wait_until("relay socket", Duration::from_secs(5), || sock.exists()).unwrap();
    Lab {
        _relay_ns: relay_ns,
        peer_ns,
        _relay: relay,
        sock,
    }
}

/// Runs the speaker against the relay in real time until `done` says so (or panics at timeout).
struct Driver {
    speaker: Speaker,
    stream: Option<UnixStream>,
    sock: PathBuf,
    events: Vec<SessionEvent>,
}

impl Driver {
    fn new(config: SessionConfig, sock: &Path) -> Self {
        let mut speaker = Speaker::new(config);
        speaker.start(Instant::now());
        Self {
            speaker,
            stream: None,
            sock: sock.to_owned(),
            events: vec![],
        }
    }

    fn step(&mut self) {
        let now = Instant::now();
        if self.speaker.poll_timeout().is_some_and(|t| t <= now) {
            self.speaker.handle_timeout(now);
        }
        while let Some(e) = self.speaker.poll_event() {
            match &e {
                SessionEvent::ConnectTcp => match UnixStream::connect(&self.sock) {
                    Ok(s) => {
                        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                        self.stream = Some(s);
                        self.speaker.tcp_connected(Instant::now());
                    }
                    Err(_) => self.speaker.tcp_closed(Instant::now()),
                },
                SessionEvent::CloseTcp => {
                    self.flush();
                    self.stream = None;
                }
                _ => {}
            }
            self.events.push(e);
        }
        self.flush();
        let mut buf = [0u8; 4096];
        if let Some(s) = self.stream.as_mut() {
            match s.read(&mut buf) {
                Ok(0) => {
                    self.stream = None;
                    self.speaker.tcp_closed(Instant::now());
                }
                Ok(n) => self.speaker.bytes_received(&buf[..n], Instant::now()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    self.stream = None;
                    self.speaker.tcp_closed(Instant::now());
                }
            }
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn flush(&mut self) {
        while let Some(bytes) = self.speaker.poll_transmit() {
            if let Some(s) = self.stream.as_mut() {
                let _ = s.write_all(&bytes);
            }
        }
    }

    fn run_until(&mut self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; events: {:?}",
                self.events
            );
            self.step();
        }
    }

    fn run_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.step();
        }
    }

    fn learned(&self) -> Vec<Ipv4Prefix> {
        self.speaker.routes().map(|r| r.prefix).collect()
    }
}

fn gw_config(max_prefixes: u32) -> SessionConfig {
    let ip: Ipv4Addr = GW.parse().unwrap();
    let mut c = SessionConfig::new(Asn(65001), ip, ip);
    c.advertised = vec![p("198.18.0.0/16")];
    c.max_prefixes = max_prefixes;
    c.connect_retry = Duration::from_secs(1);
    c
}

fn bird_config() -> String {
    format!(
        "{}protocol static {{ ipv4; route 198.19.0.0/16 blackhole; route 198.19.128.0/17 blackhole; \
         route 0.0.0.0/0 blackhole; }}\n\
         protocol bgp dualsec {{\n  local {PEER} as 65001;\n  neighbor {GW} as 45104;\n  \
         passive on;\n  hold time 3;\n  ipv4 {{ import all; export all; }};\n}}\n",
        Bird::minimal_config(PEER)
    )
}

/// Issue 7: the session comes up, IDC prefixes are learned, the VPC prefix is advertised,
/// 0.0.0.0/0 is refused; keepalives keep it up past several hold times; a stop is a Cease.
#[test]
fn bird2_session_routes_keepalives_and_shutdown() {
    if !dualsec_testbed::require(&["bird", "birdc", "python3"]) {
        return;
    }
    let lab = lab();
    let bird = Bird::start(&lab.peer_ns, &bird_config()).unwrap();
    let mut d = Driver::new(gw_config(50), &lab.sock);
    d.run_until("Established and two routes", Duration::from_secs(20), |d| {
        d.speaker.state() == State::Established && d.learned().len() == 2
    });
    assert_eq!(d.learned(), vec![p("198.19.0.0/16"), p("198.19.128.0/17")]);
    let r = d.speaker.routes().next().unwrap();
    assert_eq!(r.next_hop, PEER.parse::<Ipv4Addr>().unwrap());
    assert_eq!(r.as_path, AsPath::sequence(vec![Asn(65001)]));
    assert!(d.events.iter().any(|e| matches!(e, SessionEvent::Established { peer_asn: Asn(65001), four_octet_as: true, hold_time, .. } if *hold_time == Duration::from_secs(3))));
    d.run_until("default route rejected", Duration::from_secs(5), |d| {
        d.events.contains(&SessionEvent::RouteRejected {
            prefix: p("0.0.0.0/0"),
            reason: RejectReason::DefaultRoute,
        })
    });
    // BIRD installed our VPC prefix from AS 45104.
    let mut route = String::new();
    d.run_until("BIRD learns 198.18.0.0/16", Duration::from_secs(5), |_| {
        route = bird
            .birdc("show route 198.18.0.0/16 all")
            .unwrap_or_default();
        route.contains("198.18.0.0/16") && route.contains("45104")
    });
    assert!(
        route.contains(GW),
        "next hop is our tunnel address: {route}"
    );
    // Three hold times: both sides' keepalives are understood.
    d.run_for(Duration::from_secs(10));
    assert_eq!(d.speaker.state(), State::Established, "{:?}", d.events);
    // Route refresh (RFC 2918): BIRD advertised the capability and answers.
    assert!(d.speaker.request_route_refresh(Instant::now()));
    d.run_for(Duration::from_millis(500));
    assert_eq!(d.speaker.state(), State::Established);
    // Stop: Cease / Administrative Shutdown, which BIRD reports.
    d.speaker.stop(Instant::now());
    d.run_for(Duration::from_millis(300));
    let mut status = String::new();
    wait_until("BIRD sees the shutdown", Duration::from_secs(5), || {
        status = bird
            .birdc("show protocols all dualsec")
            .unwrap_or_else(|e| e.to_string());
        status.contains("Administrative shutdown")
    })
    .unwrap_or_else(|e| panic!("{e}: {status}"));
}

/// RFC 4486 against BIRD: a limit below what BIRD sends ends the session with Cease / Maximum
/// Number of Prefixes Reached, which BIRD receives and reports.
#[test]
fn bird2_route_limit_cease() {
    if !dualsec_testbed::require(&["bird", "birdc", "python3"]) {
        return;
    }
    let lab = lab();
    let bird = Bird::start(&lab.peer_ns, &bird_config()).unwrap();
    let mut d = Driver::new(gw_config(1), &lab.sock);
    d.run_until("the Cease", Duration::from_secs(20), |d| {
        d.events.iter().any(|e| {
            matches!(
                e,
                SessionEvent::Down {
                    reason: DownReason::Sent(..),
                    ..
                }
            )
        })
    });
    let n = d
        .events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Down {
                reason: DownReason::Sent(_, n),
                ..
            } => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((n.code, n.subcode), (ErrorCode::CEASE, 1));
    assert!(d.learned().is_empty());
    let mut status = String::new();
    wait_until("BIRD sees the Cease", Duration::from_secs(5), || {
        status = bird.birdc("show protocols all dualsec").unwrap_or_default();
        status.to_lowercase().contains("maximum number of prefixes")
    })
    .unwrap_or_else(|e| panic!("{e}: {status}"));
}

/// The same session against FRR as the customer's speaker, with a 4-octet peer ASN.
#[test]
fn frr_session_with_four_octet_asn() {
    if !dualsec_testbed::require(&["zebra", "bgpd", "vtysh", "python3"]) {
        return;
    }
    let lab = lab();
    let frr = Frr::start(
        &lab.peer_ns,
        &format!(
            "hostname cgw\nrouter bgp 4200000001\n bgp router-id {PEER}\n \
             no bgp ebgp-requires-policy\n no bgp network import-check\n \
             neighbor {GW} remote-as 45104\n neighbor {GW} timers 1 3\n \
             address-family ipv4 unicast\n  network 198.19.0.0/16\n exit-address-family\n"
        ),
    )
    .unwrap();
    let mut cfg = gw_config(50);
    cfg.peer_asn = "64086.59905".parse().unwrap();
    assert_eq!(cfg.peer_asn, Asn(4_200_000_001));
    let mut d = Driver::new(cfg, &lab.sock);
    d.run_until("Established and the route", Duration::from_secs(30), |d| {
        d.speaker.state() == State::Established && d.learned().len() == 1
    });
    let r = d.speaker.routes().next().unwrap();
    assert_eq!(r.prefix, p("198.19.0.0/16"));
    assert_eq!(r.as_path, AsPath::sequence(vec![Asn(4_200_000_001)]));
    let mut out = String::new();
    d.run_until("FRR learns 198.18.0.0/16", Duration::from_secs(10), |_| {
        out = frr
            .vtysh("show bgp ipv4 unicast 198.18.0.0/16")
            .unwrap_or_default();
        out.contains("45104")
    });
    d.run_for(Duration::from_secs(4));
    assert_eq!(d.speaker.state(), State::Established, "{:?}", d.events);
}
