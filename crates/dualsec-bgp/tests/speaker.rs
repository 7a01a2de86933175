//! Virtual-clock tests of the speaker (RFC 4271 §8): two speakers against each other through an
//! in-memory "TCP connection", and a scripted peer for malformed input and 2-octet peers.

#![allow(clippy::unwrap_used)] // tests may unwrap (preamble)

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use dualsec_bgp::wire::{
    self, AsPath, Capability, Codec, ErrorCode, Message, Notification, Open, Origin,
    PathAttributes, Update,
};
use dualsec_bgp::{
    Asn, DownReason, Ipv4Prefix, RejectReason, SessionConfig, SessionEvent, Speaker, State,
};

fn p(s: &str) -> Ipv4Prefix {
    s.parse().unwrap()
}

const GW_IP: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);
const CPE_IP: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
const CPE_ASN: Asn = Asn(65001);

/// The gateway side (active) and the customer side (passive), as configured per tunnel.
fn configs() -> (SessionConfig, SessionConfig) {
    let mut gw = SessionConfig::new(CPE_ASN, GW_IP, GW_IP);
    gw.advertised = vec![p("198.18.0.0/16")];
    let mut cpe = SessionConfig::new(Asn::DEFAULT_LOCAL, CPE_IP, CPE_IP);
    cpe.local_asn = CPE_ASN;
    cpe.passive = true;
    cpe.advertised = vec![p("198.19.0.0/16"), p("198.19.128.0/17")];
    (gw, cpe)
}

struct Pair {
    now: Instant,
    a: Speaker,
    b: Speaker,
    connected: bool,
    /// Drop everything b sends (a peer that went silent).
    mute_b: bool,
    events_a: Vec<SessionEvent>,
    events_b: Vec<SessionEvent>,
    /// Messages a sent, decoded, with the time.
    sent_a: Vec<(Instant, Message)>,
}

impl Pair {
    fn new(ca: SessionConfig, cb: SessionConfig) -> Self {
        let now = Instant::now();
        let mut pair = Self {
            now,
            a: Speaker::new(ca),
            b: Speaker::new(cb),
            connected: false,
            mute_b: false,
            events_a: vec![],
            events_b: vec![],
            sent_a: vec![],
        };
        pair.b.start(now);
        pair.a.start(now);
        pair.pump();
        pair
    }

    fn established() -> Self {
        let (a, b) = configs();
        let mut pair = Self::new(a, b);
        pair.run_for(Duration::ZERO);
        assert_eq!(pair.a.state(), State::Established);
        assert_eq!(pair.b.state(), State::Established);
        pair
    }

    /// Moves bytes and requests between the two until nothing is left.
    fn pump(&mut self) {
        loop {
            let mut progress = false;
            while let Some(e) = self.a.poll_event() {
                progress = true;
                match e {
                    SessionEvent::ConnectTcp if !self.connected => {
                        self.connected = true;
                        self.a.tcp_connected(self.now);
                        self.b.tcp_connected(self.now);
                    }
                    SessionEvent::CloseTcp if self.connected => {
                        self.flush();
                        self.connected = false;
                        self.b.tcp_closed(self.now);
                    }
                    _ => {}
                }
                self.events_a.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                progress = true;
                if e == SessionEvent::CloseTcp && self.connected {
                    self.flush();
                    self.connected = false;
                    self.a.tcp_closed(self.now);
                }
                self.events_b.push(e);
            }
            progress |= self.flush();
            if !progress {
                return;
            }
        }
    }

    fn flush(&mut self) -> bool {
        let mut progress = false;
        while let Some(bytes) = self.a.poll_transmit() {
            progress = true;
            self.sent_a
                .push((self.now, wire::decode(&bytes, Codec::FOUR_OCTET).unwrap()));
            if self.connected {
                self.b.bytes_received(&bytes, self.now);
            }
        }
        while let Some(bytes) = self.b.poll_transmit() {
            progress = true;
            if self.connected && !self.mute_b {
                self.a.bytes_received(&bytes, self.now);
            }
        }
        progress
    }

    fn run_until(&mut self, until: Instant) {
        loop {
            self.pump();
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= until => {
                    self.now = at;
                    self.a.handle_timeout(at);
                    self.b.handle_timeout(at);
                }
                _ => break,
            }
        }
        self.now = until;
        self.pump();
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn learned_a(&self) -> Vec<Ipv4Prefix> {
        self.a.routes().map(|r| r.prefix).collect()
    }

    fn notifications_sent_by_a(&self) -> Vec<Notification> {
        self.sent_a
            .iter()
            .filter_map(|(_, m)| match m {
                Message::Notification(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn rfc4271_8_two_speakers_reach_established_and_exchange_routes() {
    let pair = Pair::established();
    let est = pair
        .events_a
        .iter()
        .find_map(|e| match e {
            SessionEvent::Established {
                peer_asn,
                peer_id,
                hold_time,
                four_octet_as,
            } => Some((*peer_asn, *peer_id, *hold_time, *four_octet_as)),
            _ => None,
        })
        .unwrap();
    assert_eq!(est, (CPE_ASN, CPE_IP, Duration::from_secs(90), true));
    assert_eq!(pair.a.peer(), Some((CPE_ASN, CPE_IP)));
    // The gateway learned the IDC prefixes, the customer the VPC CIDR.
    assert_eq!(
        pair.learned_a(),
        vec![p("198.19.0.0/16"), p("198.19.128.0/17")]
    );
    let r = pair.a.routes().next().unwrap();
    assert_eq!(r.next_hop, CPE_IP);
    assert_eq!(r.as_path, AsPath::sequence(vec![CPE_ASN]));
    assert_eq!(r.origin, Origin::IGP);
    let learned_b: Vec<_> = pair
        .b
        .routes()
        .map(|r| (r.prefix, r.next_hop, r.as_path.clone()))
        .collect();
    assert_eq!(
        learned_b,
        vec![(
            p("198.18.0.0/16"),
            GW_IP,
            AsPath::sequence(vec![Asn(45104)])
        )]
    );
    // The message sequence a sent: OPEN, KEEPALIVE, UPDATE.
    let kinds: Vec<_> = pair
        .sent_a
        .iter()
        .map(|(_, m)| m.message_type().0)
        .collect();
    assert_eq!(kinds, vec![1, 4, 2]);
    let Message::Open(o) = &pair.sent_a[0].1 else {
        panic!()
    };
    assert_eq!((o.my_as, o.hold_time, o.asn()), (45104, 90, Asn(45104)));
}

#[test]
fn keepalives_at_a_third_of_the_hold_time() {
    let mut pair = Pair::established();
    let start = pair.now;
    pair.run_for(Duration::from_secs(300));
    assert_eq!(pair.a.state(), State::Established);
    let keepalives: Vec<_> = pair
        .sent_a
        .iter()
        .filter(|(t, m)| *t > start && *m == Message::Keepalive)
        .map(|(t, _)| *t - start)
        .collect();
    assert_eq!(keepalives.len(), 10, "{keepalives:?}");
    for (i, at) in keepalives.iter().enumerate() {
        assert_eq!(*at, Duration::from_secs(30 * (i as u64 + 1)));
    }
}

#[test]
fn hold_time_is_the_smaller_and_zero_disables_keepalives() {
    let (a, mut b) = configs();
    b.hold_time = Duration::from_secs(9);
    let mut pair = Pair::new(a, b);
    pair.run_for(Duration::from_secs(20));
    let ka = pair
        .sent_a
        .iter()
        .filter(|(_, m)| *m == Message::Keepalive)
        .count();
    assert_eq!(ka, 1 + 6, "OpenConfirm KEEPALIVE, then every 3 s");

    let (a, mut b) = configs();
    b.hold_time = Duration::ZERO;
    let mut pair = Pair::new(a, b);
    pair.run_for(Duration::from_secs(1000));
    assert_eq!(pair.a.state(), State::Established);
    let ka = pair
        .sent_a
        .iter()
        .filter(|(_, m)| *m == Message::Keepalive)
        .count();
    assert_eq!(ka, 1);
    assert_eq!(pair.a.poll_timeout(), None);
}

#[test]
fn rfc4271_6_5_hold_timer_expiry_sends_notification() {
    let mut pair = Pair::established();
    pair.mute_b = true;
    let silent_since = pair.now;
    pair.run_for(Duration::from_secs(89));
    assert_eq!(pair.a.state(), State::Established);
    pair.run_for(Duration::from_secs(2));
    let n = pair.notifications_sent_by_a();
    assert_eq!(n.len(), 1);
    assert_eq!(
        (n[0].code, n[0].subcode),
        (ErrorCode::HOLD_TIMER_EXPIRED, 0)
    );
    let sent_at = pair
        .sent_a
        .iter()
        .find(|(_, m)| matches!(m, Message::Notification(_)))
        .unwrap()
        .0;
    assert_eq!(sent_at - silent_since, Duration::from_secs(90));
    assert!(pair.events_a.iter().any(|e| matches!(
        e,
        SessionEvent::Down {
            from: State::Established,
            reason: DownReason::Sent(..)
        }
    )));
    // Routes learned over the session are withdrawn.
    assert!(pair.learned_a().is_empty());
    let withdrawn = pair
        .events_a
        .iter()
        .filter(|e| matches!(e, SessionEvent::RouteWithdrawn(_)))
        .count();
    assert_eq!(withdrawn, 2);
}

#[test]
fn automatic_restart_after_connect_retry() {
    let mut pair = Pair::established();
    pair.mute_b = true;
    pair.run_for(Duration::from_secs(91));
    assert_eq!(pair.a.state(), State::Idle);
    pair.mute_b = false;
    pair.run_for(Duration::from_secs(31));
    assert_eq!(
        pair.a.state(),
        State::Established,
        "reconnected after ConnectRetry (30 s)"
    );
    assert_eq!(pair.learned_a().len(), 2);
}

#[test]
fn bad_peer_as_is_refused() {
    let (mut a, b) = configs();
    a.peer_asn = Asn(65099);
    let mut pair = Pair::new(a, b);
    pair.run_for(Duration::from_millis(10));
    let n = pair.notifications_sent_by_a();
    assert_eq!((n[0].code, n[0].subcode), (ErrorCode::OPEN_MESSAGE, 2));
    assert_ne!(pair.a.state(), State::Established);
    assert!(pair.events_b.iter().any(|e| matches!(
        e,
        SessionEvent::Down {
            reason: DownReason::Received(_),
            ..
        }
    )));
}

#[test]
fn four_octet_asn_peers() {
    let (mut a, mut b) = configs();
    a.local_asn = "64086.59904".parse().unwrap(); // 4200000000
    a.peer_asn = Asn(4_200_000_001);
    b.local_asn = Asn(4_200_000_001);
    b.peer_asn = Asn(4_200_000_000);
    let mut pair = Pair::new(a, b);
    pair.run_for(Duration::from_millis(10));
    assert_eq!(pair.a.state(), State::Established);
    let Message::Open(o) = &pair.sent_a[0].1 else {
        panic!()
    };
    assert_eq!(o.my_as, 23456, "AS_TRANS in My AS (RFC 6793 §4.1)");
    assert_eq!(o.asn(), Asn(4_200_000_000));
    let r = pair.a.routes().next().unwrap();
    assert_eq!(r.as_path, AsPath::sequence(vec![Asn(4_200_000_001)]));
    let rb = pair.b.routes().next().unwrap();
    assert_eq!(rb.as_path, AsPath::sequence(vec![Asn(4_200_000_000)]));
}

/// A scripted peer: the test writes the bytes a real (possibly broken or old) speaker would.
struct Scripted {
    now: Instant,
    gw: Speaker,
    events: Vec<SessionEvent>,
    sent: Vec<Vec<u8>>,
}

impl Scripted {
    fn connect(mut cfg: SessionConfig) -> Self {
        cfg.advertised = vec![p("198.18.0.0/16")];
        let now = Instant::now();
        let mut gw = Speaker::new(cfg);
        gw.start(now);
        assert_eq!(gw.poll_event(), Some(SessionEvent::ConnectTcp));
        gw.tcp_connected(now);
        let mut s = Self {
            now,
            gw,
            events: vec![],
            sent: vec![],
        };
        s.drain();
        s
    }

    fn drain(&mut self) {
        while let Some(b) = self.gw.poll_transmit() {
            self.sent.push(b);
        }
        while let Some(e) = self.gw.poll_event() {
            self.events.push(e);
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.gw.bytes_received(bytes, self.now);
        self.drain();
    }

    fn feed_msg(&mut self, m: &Message, codec: Codec) {
        let b = m.encode(codec).unwrap();
        self.feed(&b);
    }

    /// OPEN from a new (4-octet) speaker as 65001, and its KEEPALIVE.
    fn establish(cfg: SessionConfig) -> Self {
        let mut s = Self::connect(cfg);
        s.feed_msg(&Message::Open(open(65001, true)), Codec::FOUR_OCTET);
        s.feed_msg(&Message::Keepalive, Codec::FOUR_OCTET);
        assert_eq!(s.gw.state(), State::Established);
        s.sent.clear();
        s.events.clear();
        s
    }

    fn last_notification(&self) -> Notification {
        self.sent
            .iter()
            .rev()
            .find_map(|b| match wire::decode(b, Codec::FOUR_OCTET) {
                Ok(Message::Notification(n)) => Some(n),
                _ => None,
            })
            .unwrap()
    }
}

fn open(asn: u32, four: bool) -> Open {
    let mut capabilities = vec![Capability::RouteRefresh];
    if four {
        capabilities.push(Capability::FourOctetAs(Asn(asn)));
    }
    Open {
        my_as: Asn(asn).to_u16_or_trans(),
        hold_time: 90,
        bgp_id: CPE_IP,
        capabilities,
    }
}

fn gw_config() -> SessionConfig {
    SessionConfig::new(CPE_ASN, GW_IP, GW_IP)
}

fn routes(prefixes: Vec<Ipv4Prefix>, path: Vec<u32>) -> Message {
    Message::Update(Update {
        attributes: PathAttributes {
            origin: Some(Origin::IGP),
            as_path: Some(AsPath::sequence(path.into_iter().map(Asn).collect())),
            next_hop: Some(CPE_IP),
            ..Default::default()
        },
        nlri: prefixes,
        ..Default::default()
    })
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn malformed_update_gets_the_right_notification() {
    let cases = [
        // NLRI prefix length 33: UPDATE Message Error / Invalid Network Field.
        (
            "ffffffffffffffffffffffffffffffff 0021 02 0000 0007 40010100 40020000 21c6120000",
            3,
            10,
        ),
        // Unrecognized well-known attribute 99.
        (
            "ffffffffffffffffffffffffffffffff 001a 02 0000 0003 406300",
            3,
            2,
        ),
        // Total Path Attribute Length past the end: Malformed Attribute List.
        ("ffffffffffffffffffffffffffffffff 0017 02 0000 00ff", 3, 1),
        // Bad marker.
        ("ffffffffffffffffffffffffffff00ff 0013 04", 1, 1),
        // Unknown message type 7.
        ("ffffffffffffffffffffffffffffffff 0013 07", 1, 3),
    ];
    for (bytes, code, sub) in cases {
        let mut s = Scripted::establish(gw_config());
        s.feed_msg(
            &routes(vec![p("198.19.0.0/16")], vec![65001]),
            Codec::FOUR_OCTET,
        );
        assert_eq!(s.gw.routes().count(), 1);
        s.feed(&hex(bytes));
        let n = s.last_notification();
        assert_eq!((n.code.0, n.subcode), (code, sub), "{bytes}");
        assert_eq!(s.gw.state(), State::Idle);
        assert!(s.events.contains(&SessionEvent::CloseTcp));
        assert!(
            s.events
                .contains(&SessionEvent::RouteWithdrawn(p("198.19.0.0/16")))
        );
    }
}

#[test]
fn rfc7606_malformed_attribute_withdraws_without_reset() {
    let mut s = Scripted::establish(gw_config());
    s.feed_msg(
        &routes(vec![p("198.19.0.0/16")], vec![65001]),
        Codec::FOUR_OCTET,
    );
    // Same prefix again with ORIGIN 5: treat-as-withdraw, the session stays up.
    s.feed(&hex("ffffffffffffffffffffffffffffffff 002e 02 0000 0014 \
         40010105 4002060201 0000fde9 400304a9fe0a02 10c613"));
    assert_eq!(s.gw.state(), State::Established);
    assert_eq!(s.gw.routes().count(), 0);
    assert!(
        s.events
            .contains(&SessionEvent::RouteWithdrawn(p("198.19.0.0/16")))
    );
    assert!(s.events.contains(&SessionEvent::RouteRejected {
        prefix: p("198.19.0.0/16"),
        reason: RejectReason::MalformedAttribute
    }));
}

#[test]
fn rfc4486_route_limit_ceases_the_session() {
    let mut cfg = gw_config();
    cfg.max_prefixes = 50;
    let mut s = Scripted::establish(cfg);
    let fifty: Vec<_> = (0..50u32)
        .map(|i| Ipv4Prefix::new(Ipv4Addr::from(0xc613_0000 | (i << 8)), 24).unwrap())
        .collect();
    s.feed_msg(&routes(fifty, vec![65001]), Codec::FOUR_OCTET);
    assert_eq!(s.gw.routes().count(), 50);
    assert_eq!(s.gw.state(), State::Established, "50 is allowed");
    s.feed_msg(
        &routes(vec![p("203.0.113.0/24")], vec![65001]),
        Codec::FOUR_OCTET,
    );
    let n = s.last_notification();
    assert_eq!((n.code, n.subcode), (ErrorCode::CEASE, 1));
    assert_eq!(n.data, hex("0001 01 00000032"));
    assert_eq!(s.gw.state(), State::Idle);
    assert_eq!(s.gw.routes().count(), 0);
    let withdrawn = s
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::RouteWithdrawn(_)))
        .count();
    assert_eq!(withdrawn, 50);
}

#[test]
fn re_announcing_known_prefixes_does_not_count_against_the_limit() {
    let mut cfg = gw_config();
    cfg.max_prefixes = 2;
    let mut s = Scripted::establish(cfg);
    let two = vec![p("198.19.0.0/24"), p("198.19.1.0/24")];
    for _ in 0..5 {
        s.feed_msg(&routes(two.clone(), vec![65001]), Codec::FOUR_OCTET);
    }
    assert_eq!(s.gw.state(), State::Established);
    let learned = s
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::RouteLearned(_)))
        .count();
    assert_eq!(learned, 2, "an identical re-announcement is not news");
}

#[test]
fn default_route_is_never_accepted() {
    let mut s = Scripted::establish(gw_config());
    s.feed_msg(
        &routes(vec![p("0.0.0.0/0"), p("198.19.0.0/16")], vec![65001]),
        Codec::FOUR_OCTET,
    );
    assert_eq!(
        s.gw.routes().map(|r| r.prefix).collect::<Vec<_>>(),
        vec![p("198.19.0.0/16")]
    );
    assert!(s.events.contains(&SessionEvent::RouteRejected {
        prefix: p("0.0.0.0/0"),
        reason: RejectReason::DefaultRoute
    }));
    assert_eq!(s.gw.state(), State::Established);
}

#[test]
fn as_path_loop_and_wrong_first_as_are_rejected() {
    let mut s = Scripted::establish(gw_config());
    s.feed_msg(
        &routes(vec![p("198.19.0.0/16")], vec![65001, 45104]),
        Codec::FOUR_OCTET,
    );
    s.feed_msg(
        &routes(vec![p("198.19.1.0/24")], vec![65002]),
        Codec::FOUR_OCTET,
    );
    assert_eq!(s.gw.routes().count(), 0);
    let reasons: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::RouteRejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![RejectReason::AsPathLoop, RejectReason::FirstAsNotPeer]
    );
}

#[test]
fn withdrawal_removes_a_route() {
    let mut s = Scripted::establish(gw_config());
    s.feed_msg(
        &routes(vec![p("198.19.0.0/16")], vec![65001]),
        Codec::FOUR_OCTET,
    );
    s.feed_msg(
        &Message::Update(Update {
            withdrawn: vec![p("198.19.0.0/16")],
            ..Default::default()
        }),
        Codec::FOUR_OCTET,
    );
    assert_eq!(s.gw.routes().count(), 0);
    assert!(
        s.events
            .contains(&SessionEvent::RouteWithdrawn(p("198.19.0.0/16")))
    );
}

/// RFC 6793 §4.2: a 2-octet ("OLD") peer. Our 4-octet ASN goes out as AS_TRANS with the truth in
/// AS4_PATH, and the peer's AS4_PATH is merged into the paths we learn.
#[test]
fn rfc6793_as_trans_with_a_two_octet_peer() {
    let mut cfg = gw_config();
    cfg.local_asn = Asn(4_200_000_000);
    let mut s = Scripted::connect(cfg);
    let Ok(Message::Open(ours)) = wire::decode(&s.sent[0], Codec::FOUR_OCTET) else {
        panic!()
    };
    assert_eq!(ours.my_as, 23456);
    s.feed_msg(&Message::Open(open(65001, false)), Codec::TWO_OCTET);
    s.feed_msg(&Message::Keepalive, Codec::TWO_OCTET);
    assert_eq!(s.gw.state(), State::Established);
    let est = s.events.iter().find_map(|e| match e {
        SessionEvent::Established { four_octet_as, .. } => Some(*four_octet_as),
        _ => None,
    });
    assert_eq!(est, Some(false));
    // Our advertisement, decoded as the OLD peer sees it.
    let Ok(Message::Update(u)) = wire::decode(s.sent.last().unwrap(), Codec::TWO_OCTET) else {
        panic!("{:?}", s.sent)
    };
    assert_eq!(
        u.attributes.as_path,
        Some(AsPath::sequence(vec![Asn::TRANS]))
    );
    assert_eq!(
        u.attributes.as4_path,
        Some(AsPath::sequence(vec![Asn(4_200_000_000)]))
    );
    assert_eq!(u.nlri, vec![p("198.18.0.0/16")]);
    // The peer passes on a route that crossed a 4-octet AS: AS_TRANS plus AS4_PATH.
    let m = Message::Update(Update {
        attributes: PathAttributes {
            origin: Some(Origin::IGP),
            as_path: Some(AsPath::sequence(vec![Asn(65001), Asn::TRANS])),
            as4_path: Some(AsPath::sequence(vec![Asn(4_200_000_009)])),
            next_hop: Some(CPE_IP),
            ..Default::default()
        },
        nlri: vec![p("198.19.0.0/16")],
        ..Default::default()
    });
    s.feed_msg(&m, Codec::TWO_OCTET);
    let r = s.gw.routes().next().unwrap();
    assert_eq!(
        r.as_path,
        AsPath::sequence(vec![Asn(65001), Asn(4_200_000_009)])
    );
}

#[test]
fn rfc2918_route_refresh_both_ways() {
    let mut s = Scripted::establish(gw_config());
    s.feed_msg(
        &Message::RouteRefresh {
            afi: wire::Afi::IPV4,
            safi: wire::Safi::UNICAST,
        },
        Codec::FOUR_OCTET,
    );
    let Ok(Message::Update(u)) = wire::decode(&s.sent[0], Codec::FOUR_OCTET) else {
        panic!()
    };
    assert_eq!(u.nlri, vec![p("198.18.0.0/16")]);
    assert!(s.gw.request_route_refresh(s.now));
    s.drain();
    assert_eq!(
        wire::decode(s.sent.last().unwrap(), Codec::FOUR_OCTET).unwrap(),
        Message::RouteRefresh {
            afi: wire::Afi::IPV4,
            safi: wire::Safi::UNICAST
        }
    );
}

#[test]
fn advertised_prefixes_change_while_established() {
    let mut pair = Pair::established();
    let now = pair.now;
    pair.a
        .set_advertised(vec![p("198.18.0.0/16"), p("198.18.64.0/18")], now);
    pair.pump();
    let b_has: Vec<_> = pair.b.routes().map(|r| r.prefix).collect();
    assert_eq!(b_has, vec![p("198.18.0.0/16"), p("198.18.64.0/18")]);
    pair.a.set_advertised(vec![p("198.18.64.0/18")], now);
    pair.pump();
    let b_has: Vec<_> = pair.b.routes().map(|r| r.prefix).collect();
    assert_eq!(b_has, vec![p("198.18.64.0/18")]);
}

#[test]
fn backup_tunnel_advertises_less_preferred_routes() {
    let (mut a, b) = configs();
    a.med = Some(200);
    a.as_path_prepend = 2;
    let pair = {
        let mut x = Pair::new(a, b);
        x.run_for(Duration::from_millis(5));
        x
    };
    let r = pair.b.routes().next().unwrap();
    assert_eq!(r.med, Some(200));
    assert_eq!(r.as_path, AsPath::sequence(vec![Asn(45104); 3]));
}

#[test]
fn stop_sends_cease_administrative_shutdown() {
    let mut pair = Pair::established();
    let now = pair.now;
    pair.a.stop(now);
    pair.run_for(Duration::from_secs(600));
    let n = pair.notifications_sent_by_a();
    assert_eq!((n[0].code, n[0].subcode), (ErrorCode::CEASE, 2));
    assert_eq!(
        pair.a.state(),
        State::Idle,
        "no automatic restart after a manual stop"
    );
    assert!(pair.events_b.iter().any(|e| matches!(
        e,
        SessionEvent::Down {
            reason: DownReason::Received(_),
            ..
        }
    )));
}

#[test]
fn unexpected_message_is_an_fsm_error() {
    let mut s = Scripted::connect(gw_config());
    // UPDATE in OpenSent: FSM Error, RFC 6608 subcode 1.
    s.feed_msg(
        &routes(vec![p("198.19.0.0/16")], vec![65001]),
        Codec::FOUR_OCTET,
    );
    let n = s.last_notification();
    assert_eq!((n.code, n.subcode), (ErrorCode::FSM, 1));
}

#[test]
fn messages_split_across_reads_are_reassembled() {
    let mut s = Scripted::connect(gw_config());
    let mut stream = Message::Open(open(65001, true))
        .encode(Codec::FOUR_OCTET)
        .unwrap();
    stream.extend(Message::Keepalive.encode(Codec::FOUR_OCTET).unwrap());
    stream.extend(
        routes(vec![p("198.19.0.0/16")], vec![65001])
            .encode(Codec::FOUR_OCTET)
            .unwrap(),
    );
    for b in &stream {
        s.feed(std::slice::from_ref(b));
    }
    assert_eq!(s.gw.state(), State::Established);
    assert_eq!(s.gw.routes().count(), 1);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn established_speaker_never_panics_on_random_bytes(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..8)) {
            let mut s = Scripted::establish(gw_config());
            for c in chunks {
                s.feed(&c);
            }
            // Whatever happened, the state is coherent.
            prop_assert!(matches!(s.gw.state(), State::Established | State::Idle));
        }

        #[test]
        fn framed_random_bodies_never_panic(ty in 1u8..=5, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut s = Scripted::establish(gw_config());
            let mut b = vec![0xff; 16];
            b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
            b.push(ty);
            b.extend_from_slice(&body);
            s.feed(&b);
            prop_assert!(s.gw.routes().all(|r| !r.prefix.is_default()));
        }
    }
}

#[test]
fn rfc6608_fsm_error_subcodes_per_state() {
    // OPEN again in Established: FSM Error / Receive Unexpected Message in Established (3).
    let mut s = Scripted::establish(gw_config());
    s.feed_msg(&Message::Open(open(65001, true)), Codec::FOUR_OCTET);
    let n = s.last_notification();
    assert_eq!((n.code, n.subcode), (ErrorCode::FSM, 3));
    // UPDATE in OpenConfirm (2).
    let mut s = Scripted::connect(gw_config());
    s.feed_msg(&Message::Open(open(65001, true)), Codec::FOUR_OCTET);
    assert_eq!(s.gw.state(), State::OpenConfirm);
    s.feed_msg(
        &routes(vec![p("198.19.0.0/16")], vec![65001]),
        Codec::FOUR_OCTET,
    );
    let n = s.last_notification();
    assert_eq!((n.code, n.subcode), (ErrorCode::FSM, 2));
}

/// RFC 4271 §8.2.2: in OpenSent the hold timer is "a large value" (4 minutes).
#[test]
fn peer_that_never_sends_open_times_out_after_four_minutes() {
    let mut s = Scripted::connect(gw_config());
    assert_eq!(s.gw.state(), State::OpenSent);
    let deadline = s.gw.poll_timeout().unwrap();
    assert_eq!(deadline - s.now, Duration::from_secs(240));
    s.gw.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(s.gw.state(), State::OpenSent);
    s.gw.handle_timeout(deadline);
    s.drain();
    let n = s.last_notification();
    assert_eq!((n.code, n.subcode), (ErrorCode::HOLD_TIMER_EXPIRED, 0));
    assert_eq!(s.gw.state(), State::Idle);
}

#[test]
fn active_speaker_retries_connecting() {
    let now = Instant::now();
    let mut gw = Speaker::new(gw_config());
    gw.start(now);
    assert_eq!(gw.poll_event(), Some(SessionEvent::ConnectTcp));
    gw.tcp_closed(now + Duration::from_millis(5)); // connection refused
    assert_eq!(
        gw.state(),
        State::Active,
        "RFC 4271 §8.2.2: Connect + TcpConnectionFails"
    );
    let retry = gw.poll_timeout().unwrap();
    assert_eq!(
        retry - (now + Duration::from_millis(5)),
        Duration::from_secs(30)
    );
    gw.handle_timeout(retry);
    assert_eq!(gw.poll_event(), Some(SessionEvent::ConnectTcp));
}
