//! The BGP speaker of one session: the RFC 4271 §8 state machine plus the session's import and
//! export policy, sans-IO.
//!
//! The TCP connection belongs to the caller. Polling order after every input:
//! 1. [`Speaker::handle_timeout`] when [`Speaker::poll_timeout`] passed,
//! 2. [`Speaker::poll_transmit`] until `None`: write the bytes to the TCP connection, in order,
//! 3. [`Speaker::poll_event`] until `None`: [`SessionEvent::ConnectTcp`] / [`SessionEvent::CloseTcp`]
//!    are requests to the caller; the others are news (routes learned, session up or down).
//!
//! One TCP connection at a time: the caller either connects (active, the default) or hands over an
//! accepted connection (passive) and reports it with [`Speaker::tcp_connected`]. MD5 (RFC 2385)
//! is set by the caller on the socket from [`SessionConfig::md5_key`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::asn::Asn;
use crate::error::SessionError;
use crate::prefix::Ipv4Prefix;
use crate::wire::{
    self, Afi, AsPath, Capability, CapabilityCode, Codec, Message, Notification, Open, Origin,
    PathAttributes, Safi, Update,
};

/// Configuration of one BGP session (one per tunnel, R-BGP-2..4). Defaults in [`SessionConfig::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our ASN (R-BGP-2, default 45104; both tunnels use the same).
    pub local_asn: Asn,
    /// The customer gateway's ASN (R-BGP-1); an OPEN from any other AS is refused (Bad Peer AS).
    pub peer_asn: Asn,
    /// Our BGP identifier; the local BGP IP of the tunnel is a good choice (R-BGP-4).
    pub router_id: Ipv4Addr,
    /// NEXT_HOP of the routes we advertise: the local BGP IP inside the tunnel CIDR.
    pub local_address: Ipv4Addr,
    /// Hold time we propose. Default 90 s (RFC 4271 §10); keepalives at a third of the
    /// negotiated value.
    pub hold_time: Duration,
    /// Wait between connection attempts, and before restarting after an error. Default 30 s
    /// (shorter than RFC 4271's 120 s so that routes follow a recovered tunnel quickly).
    pub connect_retry: Duration,
    /// Wait for the peer to connect instead of connecting (the caller listens).
    pub passive: bool,
    /// Prefixes we advertise: the VPC CIDRs (issue 7).
    pub advertised: Vec<Ipv4Prefix>,
    /// Most prefixes accepted from the peer; one more ends the session with Cease / Maximum
    /// Number of Prefixes Reached (RFC 4486). Default 50, as the provider.
    pub max_prefixes: u32,
    /// MULTI_EXIT_DISC on our routes (a backup tunnel advertises a worse one).
    pub med: Option<u32>,
    /// Extra copies of our ASN prepended on our routes (another way to make a tunnel less
    /// preferred).
    pub as_path_prepend: u8,
    /// TCP MD5 signature key (RFC 2385) for the caller's socket; the speaker does not use it.
    pub md5_key: Option<Vec<u8>>,
}

impl SessionConfig {
    /// Default hold time.
    pub const DEFAULT_HOLD_TIME: Duration = Duration::from_secs(90);
    /// Default connect-retry time.
    pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(30);
    /// Default import limit (the provider's).
    pub const DEFAULT_MAX_PREFIXES: u32 = 50;
    /// Hold time while waiting for the peer's OPEN (RFC 4271 §8.2.2: "a large value", 4 min).
    pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

    /// A session to `peer_asn` with the defaults: local ASN 45104, hold 90 s, limit 50, active.
    pub fn new(peer_asn: Asn, router_id: Ipv4Addr, local_address: Ipv4Addr) -> Self {
        Self {
            local_asn: Asn::DEFAULT_LOCAL,
            peer_asn,
            router_id,
            local_address,
            hold_time: Self::DEFAULT_HOLD_TIME,
            connect_retry: Self::DEFAULT_CONNECT_RETRY,
            passive: false,
            advertised: Vec::new(),
            max_prefixes: Self::DEFAULT_MAX_PREFIXES,
            med: None,
            as_path_prepend: 0,
            md5_key: None,
        }
    }

    fn hold_secs(&self) -> u16 {
        // 1 and 2 are not allowed (RFC 4271 §4.2): round up to 3.
        match u16::try_from(self.hold_time.as_secs()).unwrap_or(u16::MAX) {
            0 => 0,
            1 | 2 => 3,
            s => s,
        }
    }
}

/// RFC 4271 §8.2.2 session states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not trying.
    Idle,
    /// Waiting for our TCP connection attempt.
    Connect,
    /// Waiting for the peer to connect.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Exchanging routes.
    Established,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The timers of a session, one table keyed by this enum (STYLE.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Retry the connection / restart after an error (RFC 4271 §10 ConnectRetryTimer).
    ConnectRetry,
    /// Nothing heard from the peer for the hold time.
    Hold,
    /// Time to send a KEEPALIVE.
    Keepalive,
}

impl Timer {
    const ALL: [Timer; 3] = [Timer::ConnectRetry, Timer::Hold, Timer::Keepalive];

    fn index(self) -> usize {
        match self {
            Timer::ConnectRetry => 0,
            Timer::Hold => 1,
            Timer::Keepalive => 2,
        }
    }
}

/// A route learned from the peer, with the attributes the routing table needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination.
    pub prefix: Ipv4Prefix,
    /// Next hop (the peer's BGP IP inside the tunnel, normally).
    pub next_hop: Ipv4Addr,
    /// AS path with 4-octet ASNs (AS4_PATH merged for a 2-octet peer, RFC 6793 §4.2.3).
    pub as_path: AsPath,
    /// ORIGIN.
    pub origin: Origin,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// COMMUNITIES.
    pub communities: Vec<u32>,
}

/// Why the speaker did not accept a route the peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// 0.0.0.0/0 is never accepted (issue 7).
    DefaultRoute,
    /// Our own ASN is in the path (RFC 4271 §9.1.2).
    AsPathLoop,
    /// The path does not start with the peer's ASN (RFC 4271 §6.3).
    FirstAsNotPeer,
    /// A malformed attribute made the UPDATE treat-as-withdraw (RFC 7606).
    MalformedAttribute,
}

/// Why the session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We sent this NOTIFICATION.
    Sent(SessionError, Notification),
    /// The peer sent this NOTIFICATION.
    Received(Notification),
    /// The TCP connection closed or failed.
    TcpClosed,
    /// [`Speaker::stop`] was called.
    Stopped,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::Sent(e, n) => write!(f, "sent NOTIFICATION {n}: {e}"),
            DownReason::Received(n) => write!(f, "peer sent NOTIFICATION {n}"),
            DownReason::TcpClosed => f.write_str("TCP connection closed"),
            DownReason::Stopped => f.write_str("stopped"),
        }
    }
}

/// What the caller must do, or should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Request: open the TCP connection to the peer (port 179).
    ConnectTcp,
    /// Request: close the TCP connection (after writing the pending bytes).
    CloseTcp,
    /// The session reached Established.
    Established {
        /// Peer's ASN.
        peer_asn: Asn,
        /// Peer's BGP identifier.
        peer_id: Ipv4Addr,
        /// Negotiated hold time.
        hold_time: Duration,
        /// Both sides speak 4-octet AS numbers.
        four_octet_as: bool,
    },
    /// A route was learned or its attributes changed.
    RouteLearned(Route),
    /// A previously learned route is gone (withdrawn, replaced by a rejected one, or session down).
    RouteWithdrawn(Ipv4Prefix),
    /// A route from the peer was not accepted.
    RouteRejected {
        /// The prefix.
        prefix: Ipv4Prefix,
        /// Why.
        reason: RejectReason,
    },
    /// The session left Established or a setup attempt failed.
    Down {
        /// The state it was in.
        from: State,
        /// Why.
        reason: DownReason,
    },
}

/// What we know about the peer after its OPEN.
#[derive(Debug, Clone, Copy)]
struct Peer {
    asn: Asn,
    id: Ipv4Addr,
    hold: Duration,
    codec: Codec,
    route_refresh: bool,
}

/// Most prefixes in one UPDATE we send (5 octets each keeps far below 4096).
const NLRI_PER_UPDATE: usize = 500;

/// The speaker of one BGP session.
#[derive(Debug)]
pub struct Speaker {
    config: SessionConfig,
    state: State,
    peer: Option<Peer>,
    /// Whether the session should run (start called, stop not).
    enabled: bool,
    rx: Vec<u8>,
    tx: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    timers: [Option<Instant>; 3],
    adj_rib_in: BTreeMap<Ipv4Prefix, Route>,
}

impl Speaker {
    /// A speaker in Idle; call [`Speaker::start`].
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            state: State::Idle,
            peer: None,
            enabled: false,
            rx: Vec::new(),
            tx: VecDeque::new(),
            events: VecDeque::new(),
            timers: [None; 3],
            adj_rib_in: BTreeMap::new(),
        }
    }

    /// The session's configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Peer ASN and BGP identifier once its OPEN was accepted.
    pub fn peer(&self) -> Option<(Asn, Ipv4Addr)> {
        self.peer.map(|p| (p.asn, p.id))
    }

    /// Routes currently learned from the peer (Adj-RIB-In after import policy), by prefix.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.adj_rib_in.values()
    }

    // ---- inputs ----

    /// ManualStart (RFC 4271 §8.1.2): connect, or wait for the peer when passive.
    pub fn start(&mut self, now: Instant) {
        self.enabled = true;
        if self.state == State::Idle {
            self.begin(now);
        }
    }

    /// ManualStop: Cease / Administrative Shutdown if a session is up, then Idle for good.
    pub fn stop(&mut self, now: Instant) {
        self.enabled = false;
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => {
                self.state = State::Idle;
                self.events.push_back(SessionEvent::CloseTcp);
            }
            _ => self.fail(SessionError::AdminShutdown, now),
        }
        self.timers = [None; 3];
    }

    /// The TCP connection is up (ours completed, or the peer's accepted).
    pub fn tcp_connected(&mut self, now: Instant) {
        if !matches!(self.state, State::Connect | State::Active) {
            // A second connection while one is in use: refuse it (no collision handling here).
            self.events.push_back(SessionEvent::CloseTcp);
            return;
        }
        self.rx.clear();
        self.disarm(Timer::ConnectRetry);
        self.send(&Message::Open(self.our_open()), Codec::FOUR_OCTET);
        self.arm(Timer::Hold, now + SessionConfig::OPEN_HOLD_TIME);
        self.state = State::OpenSent;
    }

    /// The TCP connection failed or was closed by the peer.
    pub fn tcp_closed(&mut self, now: Instant) {
        match self.state {
            State::Idle => {}
            // RFC 4271 §8.2.2 Connect + TcpConnectionFails: Active, retry when ConnectRetry fires.
            State::Connect | State::Active => {
                self.state = State::Active;
                self.arm(Timer::ConnectRetry, now + self.config.connect_retry);
            }
            from => {
                self.go_down(from, DownReason::TcpClosed, now);
            }
        }
    }

    /// Bytes read from the TCP connection.
    pub fn bytes_received(&mut self, data: &[u8], now: Instant) {
        if !matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            return;
        }
        self.rx.extend_from_slice(data);
        loop {
            let n = match wire::frame_len(&self.rx) {
                Ok(Some(n)) if self.rx.len() >= n => n,
                Ok(_) => return,
                Err(e) => return self.fail(SessionError::Decode(e), now),
            };
            let codec = self.peer.map_or(Codec::FOUR_OCTET, |p| p.codec);
            let result = wire::decode(&self.rx[..n], codec);
            self.rx.drain(..n);
            match result {
                Ok(m) => self.handle_message(m, now),
                Err(e) => return self.fail(SessionError::Decode(e), now),
            }
            if !matches!(
                self.state,
                State::OpenSent | State::OpenConfirm | State::Established
            ) {
                self.rx.clear();
                return;
            }
        }
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::ALL {
            if self.timers[timer.index()].is_some_and(|at| at <= now) {
                self.timers[timer.index()] = None;
                self.fire(timer, now);
            }
        }
    }

    /// Replaces the advertised prefixes; in Established the differences are sent at once.
    pub fn set_advertised(&mut self, prefixes: Vec<Ipv4Prefix>, now: Instant) {
        let old: BTreeSet<_> = self.config.advertised.iter().copied().collect();
        let new: BTreeSet<_> = prefixes.iter().copied().collect();
        self.config.advertised = prefixes;
        if self.state != State::Established {
            return;
        }
        let gone: Vec<_> = old.difference(&new).copied().collect();
        let added: Vec<_> = new.difference(&old).copied().collect();
        for chunk in gone.chunks(NLRI_PER_UPDATE) {
            self.send_update(Update {
                withdrawn: chunk.to_vec(),
                ..Default::default()
            });
        }
        self.advertise(&added);
        self.restart_keepalive(now);
    }

    /// Asks the peer to send its routes again (RFC 2918), if it supports route refresh.
    /// Returns whether a ROUTE-REFRESH was sent.
    pub fn request_route_refresh(&mut self, now: Instant) -> bool {
        match self.peer {
            Some(p) if self.state == State::Established && p.route_refresh => {
                self.send(
                    &Message::RouteRefresh {
                        afi: Afi::IPV4,
                        safi: Safi::UNICAST,
                    },
                    p.codec,
                );
                self.restart_keepalive(now);
                true
            }
            _ => false,
        }
    }

    // ---- outputs ----

    /// Bytes to write to the TCP connection.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.tx.pop_front()
    }

    /// The next event or request.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Earliest timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    /// Earliest timer and its deadline, for logs.
    pub fn next_timer(&self) -> Option<(Timer, Instant)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.timers[t.index()].map(|at| (t, at)))
            .min_by_key(|&(t, at)| (at, t))
    }

    // ---- internals ----

    fn arm(&mut self, t: Timer, at: Instant) {
        self.timers[t.index()] = Some(at);
    }

    fn disarm(&mut self, t: Timer) {
        self.timers[t.index()] = None;
    }

    fn begin(&mut self, now: Instant) {
        self.rx.clear();
        self.peer = None;
        if self.config.passive {
            self.state = State::Active;
        } else {
            self.state = State::Connect;
            self.events.push_back(SessionEvent::ConnectTcp);
        }
        self.arm(Timer::ConnectRetry, now + self.config.connect_retry);
    }

    fn fire(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::ConnectRetry => match self.state {
                // Automatic restart after an error (RFC 4271 §8.1.1 AutomaticStart).
                State::Idle if self.enabled => self.begin(now),
                State::Connect => {
                    // RFC 4271 §8.2.2: drop the attempt and try again.
                    self.events.push_back(SessionEvent::CloseTcp);
                    self.begin(now);
                }
                // RFC 4271 §8.2.2 Active + ConnectRetryTimer_Expires: connect again.
                State::Active if !self.config.passive => self.begin(now),
                State::Active => self.arm(Timer::ConnectRetry, now + self.config.connect_retry),
                _ => {}
            },
            Timer::Hold => {
                let hold = match self.state {
                    State::OpenSent => SessionConfig::OPEN_HOLD_TIME,
                    _ => self.peer.map_or(SessionConfig::OPEN_HOLD_TIME, |p| p.hold),
                };
                self.fail(SessionError::HoldTimerExpired(hold), now);
            }
            Timer::Keepalive => {
                if matches!(self.state, State::OpenConfirm | State::Established) {
                    self.send(&Message::Keepalive, Codec::FOUR_OCTET);
                    self.restart_keepalive(now);
                }
            }
        }
    }

    fn our_open(&self) -> Open {
        Open {
            // RFC 6793 §4.1: AS_TRANS when our ASN does not fit.
            my_as: self.config.local_asn.to_u16_or_trans(),
            hold_time: self.config.hold_secs(),
            bgp_id: self.config.router_id,
            capabilities: vec![
                Capability::Multiprotocol {
                    afi: Afi::IPV4,
                    safi: Safi::UNICAST,
                },
                Capability::RouteRefresh,
                Capability::FourOctetAs(self.config.local_asn),
            ],
        }
    }

    fn send(&mut self, m: &Message, codec: Codec) {
        match m.encode(codec) {
            Ok(b) => self.tx.push_back(b),
            // Only UPDATEs can be too long and advertise() keeps them small; a slip here must
            // not take the session down, so it is dropped (and shows up in tests).
            Err(_) => debug_assert!(false, "message too long: {m:?}"),
        }
    }

    fn send_update(&mut self, u: Update) {
        let codec = self.peer.map_or(Codec::FOUR_OCTET, |p| p.codec);
        self.send(&Message::Update(u), codec);
    }

    fn restart_keepalive(&mut self, now: Instant) {
        match self.peer {
            Some(p) if !p.hold.is_zero() => self.arm(Timer::Keepalive, now + p.hold / 3),
            _ => self.disarm(Timer::Keepalive),
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        match self.peer {
            Some(p) if !p.hold.is_zero() => self.arm(Timer::Hold, now + p.hold),
            _ => self.disarm(Timer::Hold),
        }
    }

    /// Our routes: ORIGIN IGP, AS_PATH = our ASN (prepended as configured), NEXT_HOP = our
    /// tunnel address (RFC 4271 §5.1.2, §5.1.3).
    fn advertise(&mut self, prefixes: &[Ipv4Prefix]) {
        if prefixes.is_empty() {
            return;
        }
        let asns = vec![self.config.local_asn; 1 + usize::from(self.config.as_path_prepend)];
        let path = AsPath::sequence(asns);
        let four = self.peer.is_some_and(|p| p.codec.four_octet_as);
        let attributes = PathAttributes {
            origin: Some(Origin::IGP),
            // RFC 6793 §4.2.2: a 2-octet peer gets AS_TRANS in AS_PATH and the truth in AS4_PATH.
            as4_path: (!four && !path.is_two_octet()).then(|| path.clone()),
            as_path: Some(path),
            next_hop: Some(self.config.local_address),
            med: self.config.med,
            ..Default::default()
        };
        for chunk in prefixes.chunks(NLRI_PER_UPDATE) {
            self.send_update(Update {
                attributes: attributes.clone(),
                nlri: chunk.to_vec(),
                ..Default::default()
            });
        }
    }

    fn handle_message(&mut self, m: Message, now: Instant) {
        if let Message::Notification(n) = m {
            return self.go_down(self.state, DownReason::Received(n), now);
        }
        let unexpected = |s: &Self, m: &Message| SessionError::UnexpectedMessage {
            message: m.message_type(),
            state: s.state,
        };
        match (self.state, m) {
            (State::OpenSent, Message::Open(o)) => self.on_open(o, now),
            (State::OpenConfirm, Message::Keepalive) => {
                self.state = State::Established;
                self.restart_hold(now);
                if let Some(p) = self.peer {
                    self.events.push_back(SessionEvent::Established {
                        peer_asn: p.asn,
                        peer_id: p.id,
                        hold_time: p.hold,
                        four_octet_as: p.codec.four_octet_as,
                    });
                }
                let ours = self.config.advertised.clone();
                self.advertise(&ours);
                self.restart_keepalive(now);
            }
            (State::Established, Message::Keepalive) => self.restart_hold(now),
            (State::Established, Message::Update(u)) => {
                self.restart_hold(now);
                self.on_update(u, now);
            }
            (State::Established, Message::RouteRefresh { afi, safi }) => {
                self.restart_hold(now);
                // RFC 2918 §4: ignore AFI/SAFI we did not advertise.
                if afi == Afi::IPV4 && safi == Safi::UNICAST {
                    let ours = self.config.advertised.clone();
                    self.advertise(&ours);
                    self.restart_keepalive(now);
                }
            }
            (_, m) => {
                let e = unexpected(self, &m);
                self.fail(e, now);
            }
        }
    }

    fn on_open(&mut self, o: Open, now: Instant) {
        let got = o.asn();
        if got != self.config.peer_asn {
            return self.fail(
                SessionError::BadPeerAs {
                    expected: self.config.peer_asn,
                    got,
                },
                now,
            );
        }
        // RFC 6286 §2.2: identifiers must differ within one AS.
        if got == self.config.local_asn && o.bgp_id == self.config.router_id {
            return self.fail(SessionError::BgpIdentifierCollision, now);
        }
        // RFC 4271 §4.2: the smaller of the two hold times; 0 means no keepalives.
        let hold = Duration::from_secs(u64::from(o.hold_time.min(self.config.hold_secs())));
        let four = o.has(CapabilityCode::FOUR_OCTET_AS);
        self.peer = Some(Peer {
            asn: got,
            id: o.bgp_id,
            hold,
            codec: Codec {
                four_octet_as: four,
            },
            route_refresh: o.has(CapabilityCode::ROUTE_REFRESH)
                || o.has(CapabilityCode::ROUTE_REFRESH_OLD),
        });
        self.send(&Message::Keepalive, Codec::FOUR_OCTET);
        self.state = State::OpenConfirm;
        self.restart_hold(now);
        self.restart_keepalive(now);
    }

    fn on_update(&mut self, u: Update, now: Instant) {
        let Some(peer) = self.peer else { return };
        for prefix in &u.withdrawn {
            self.withdraw(*prefix);
        }
        if u.nlri.is_empty() {
            return;
        }
        let reject = |s: &mut Self, reason| {
            for prefix in &u.nlri {
                s.withdraw(*prefix);
                s.events.push_back(SessionEvent::RouteRejected {
                    prefix: *prefix,
                    reason,
                });
            }
        };
        if u.treat_as_withdraw() {
            return reject(self, RejectReason::MalformedAttribute);
        }
        let a = &u.attributes;
        let (Some(origin), Some(as_path), Some(next_hop)) = (a.origin, &a.as_path, a.next_hop)
        else {
            // Not reachable: a missing mandatory attribute is treat-as-withdraw in the decoder.
            return reject(self, RejectReason::MalformedAttribute);
        };
        let as_path = if peer.codec.four_octet_as {
            as_path.clone() // RFC 6793 §4.1: AS4_PATH from a NEW speaker is ignored.
        } else {
            AsPath::merge_as4(as_path, a.as4_path.as_ref())
        };
        if as_path.contains(self.config.local_asn) {
            return reject(self, RejectReason::AsPathLoop);
        }
        if as_path.first_asn() != Some(peer.asn) {
            return reject(self, RejectReason::FirstAsNotPeer);
        }
        for prefix in &u.nlri {
            if prefix.is_default() {
                self.withdraw(*prefix);
                self.events.push_back(SessionEvent::RouteRejected {
                    prefix: *prefix,
                    reason: RejectReason::DefaultRoute,
                });
                continue;
            }
            let route = Route {
                prefix: *prefix,
                next_hop,
                as_path: as_path.clone(),
                origin,
                med: a.med,
                communities: a.communities.clone(),
            };
            let is_new = !self.adj_rib_in.contains_key(prefix);
            if is_new
                && self.adj_rib_in.len()
                    >= usize::try_from(self.config.max_prefixes).unwrap_or(usize::MAX)
            {
                // RFC 4486 §4: one prefix over the limit ends the session.
                return self.fail(
                    SessionError::MaxPrefixes {
                        limit: self.config.max_prefixes,
                    },
                    now,
                );
            }
            if self.adj_rib_in.get(prefix) != Some(&route) {
                self.adj_rib_in.insert(*prefix, route.clone());
                self.events.push_back(SessionEvent::RouteLearned(route));
            }
        }
    }

    fn withdraw(&mut self, prefix: Ipv4Prefix) {
        if self.adj_rib_in.remove(&prefix).is_some() {
            self.events.push_back(SessionEvent::RouteWithdrawn(prefix));
        }
    }

    /// Sends the NOTIFICATION for `e` (decided in [`SessionError::notification`]) and goes down.
    fn fail(&mut self, e: SessionError, now: Instant) {
        let n = e.notification();
        self.send(&Message::Notification(n.clone()), Codec::FOUR_OCTET);
        let from = self.state;
        self.go_down(from, DownReason::Sent(e, n), now);
    }

    fn go_down(&mut self, from: State, reason: DownReason, now: Instant) {
        let prefixes: Vec<_> = self.adj_rib_in.keys().copied().collect();
        for p in prefixes {
            self.withdraw(p);
        }
        self.events.push_back(SessionEvent::CloseTcp);
        self.events.push_back(SessionEvent::Down { from, reason });
        self.state = State::Idle;
        self.peer = None;
        self.rx.clear();
        self.timers = [None; 3];
        if self.enabled {
            self.arm(Timer::ConnectRetry, now + self.config.connect_retry);
        }
    }
}
