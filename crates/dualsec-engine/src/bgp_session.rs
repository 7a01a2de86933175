//! The BGP sessions of this node's tunnels, run over kernel TCP (issue 7, R-BGP-1..5): one
//! [`dualsec_bgp::Speaker`] per [`SessionPlan`], its TCP connection signed with TCP MD5
//! (RFC 2385) when the customer gateway has an `AuthKey`.
//!
//! # Integration contract (for the engine driver)
//!
//! ```text
//! let mut bgp = BgpSessions::new(BgpSessionsConfig::default())?;   // once, in the gateway's netns
//! bgp.apply(&bgp::sessions(&desired, &plan));                      // every reconcile; never blocks
//! if bgp.changed() != seen { seen = bgp.changed(); let s = bgp.snapshot(); … }  // any loop turn
//! bgp.shutdown();                                                   // or drop: Cease to every peer
//! ```
//!
//! * [`BgpSessions::new`] starts one small *spawner* thread; every session thread is started by
//!   it, so **all sessions run in the network namespace of the thread that called `new`** (the
//!   test suite calls it inside `dualsec_dataplane::in_netns`).
//! * [`BgpSessions::apply`] takes the whole wanted set: new tunnels start, removed ones stop
//!   (Cease / Administrative Shutdown when Established), a changed plan (addresses, ASNs, key,
//!   …) restarts the session, a change of `advertise` alone goes to the running speaker
//!   (withdraw/announce the difference, no reset). It only sends messages to threads: it does
//!   not block on the network.
//! * [`BgpSessions::snapshot`] returns every session's [`SessionStatus`]: state, peer ASN and
//!   router id, learned prefixes (already filtered: never `0.0.0.0/0`, never more than
//!   `max_prefixes` — one more ends the session with a Cease, RFC 4486), the last fault
//!   ([`SessionFault`]: connect refused/timed out, local address missing, NOTIFICATION sent or
//!   received …), uptime and counters. It copies small structs under short per-session locks.
//! * [`BgpSessions::changed`] is a generation number that increases whenever a session's state
//!   or learned routes change (and when sessions are added or removed): the driver re-reads
//!   [`BgpSessions::snapshot`] and re-installs learned routes only when it moved.
//! * For Describe (issue 7: each tunnel's BGP state, peer ASN, peer BGP IP): `BgpStatus` is
//!   `success` exactly when `state == BgpState::Established`; `last_error`'s `Display` is the
//!   operator-facing reason.
//! * The session's TCP connection needs its local address (`plan.local_ip`) on an interface and a
//!   route to `plan.peer_ip`; until the engine has put them on the TUN, `bind` fails with
//!   EADDRNOTAVAIL, which counts as a failed connection attempt ([`SessionFault::LocalAddress`])
//!   and is retried every `connect_retry` (default 5 s), so a session follows its tunnel up
//!   within a few seconds.
//!
//! # Why one thread per session
//!
//! Sessions are few (two per connection) and a session's IO is tiny. A thread per session lets
//! each use plain blocking `std` sockets with timeouts — no `poll(2)` wrapper, so no `unsafe`
//! outside the data plane, and no event-loop dependency — and keeps sessions independent: a
//! peer that stops reading, sends garbage or makes us linger on a close delays only its own
//! session, never the other tunnel's (issue 7: "does not disturb the other tunnel"). A session
//! blocks in `read`/`recv` for up to 100 ms at a time (so a command waits at most that long); a
//! connecting one checks its attempt every 20 ms. `shutdown` takes up to about a second: each
//! thread waits for its peer to close after our Cease (all in parallel).
//!
//! Only the active side is implemented: we connect to `peer_ip:179` from `local_ip`; a
//! connection the peer opens to us is refused by the kernel (no listener), and a customer
//! speaker in active mode keeps working because it also accepts ours.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use dualsec_bgp::wire::{HEADER_LEN, MessageType};
use dualsec_bgp::{
    Asn, DownReason, Ipv4Prefix, RejectReason, SessionConfig, SessionEvent, Speaker,
};
use dualsec_control::ids::{TunnelId, VpnConnectionId};
use dualsec_control::model::TunnelIndex;
use dualsec_dataplane::tcp_md5;
use ipnet::Ipv4Net;
use socket2::{Domain, Protocol, Socket, Type};
use tracing::{debug, info, warn};

use crate::bgp::SessionPlan;

/// RFC 4271 §8.2.2 session state, as reported in [`SessionStatus::state`].
pub use dualsec_bgp::State as BgpState;

/// The BGP port (RFC 4271 §8.2.1).
pub const BGP_PORT: u16 = 179;

/// Longest wait for a command or a timer while idle or established.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// How often a connection attempt in progress is checked.
const CONNECT_POLL: Duration = Duration::from_millis(20);
/// Longest a write may block (the peer stopped reading) before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a close waits for the peer to close too, so our last NOTIFICATION is read and
/// not cut off by a RST (RFC 4271 §6: the NOTIFICATION is sent, then the connection closed).
const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// Most rejected prefixes remembered per session for status.
const MAX_REJECTED_SHOWN: usize = 16;

/// Settings shared by every session. Defaults in [`Default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpSessionsConfig {
    /// Hold time we propose (RFC 4271 §10: 90 s; keepalives at a third of the negotiated one).
    pub hold_time: Duration,
    /// Wait before a new connection attempt after a failed one, the longest a connection
    /// attempt may stay unanswered, and the wait before restarting after an error. Default
    /// 5 s, so a session comes up within seconds of its tunnel.
    pub connect_retry: Duration,
    /// Most prefixes accepted from a peer (issue 7: default 50, as the provider); one more ends
    /// the session with Cease / Maximum Number of Prefixes Reached (RFC 4486).
    pub max_prefixes: u32,
    /// BGP identifier; `None` uses each session's local BGP IP (R-BGP-4).
    pub router_id: Option<Ipv4Addr>,
    /// Peer's TCP port: 179 except in tests.
    pub port: u16,
}

impl Default for BgpSessionsConfig {
    fn default() -> Self {
        Self {
            hold_time: SessionConfig::DEFAULT_HOLD_TIME,
            connect_retry: Duration::from_secs(5),
            max_prefixes: SessionConfig::DEFAULT_MAX_PREFIXES,
            router_id: None,
            port: BGP_PORT,
        }
    }
}

/// Why a session is not (or no longer) Established — who is at fault is in the variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionFault {
    /// Our local BGP address is not on an interface yet (the tunnel is not up): `bind` failed.
    LocalAddress {
        /// The tunnel's local BGP IP.
        local: Ipv4Addr,
        /// The system's reason.
        error: String,
    },
    /// The kernel refused the TCP MD5 key (e.g. longer than 80 bytes): a configuration error.
    Md5Key(String),
    /// The connection attempt failed (refused: the peer has no BGP listener for us; no route …).
    Connect {
        /// Peer address and port.
        peer: SocketAddrV4,
        /// The system's reason.
        error: String,
    },
    /// The peer did not answer the connection attempt: peer down, tunnel down, or a TCP MD5
    /// key mismatch (RFC 2385 §2: unsigned or wrongly signed segments are dropped silently).
    ConnectTimeout {
        /// Peer address and port.
        peer: SocketAddrV4,
        /// How long we waited.
        after: Duration,
    },
    /// The peer closed the TCP connection without a NOTIFICATION.
    PeerClosed,
    /// A socket call failed on an open connection.
    Socket {
        /// Which call.
        during: &'static str,
        /// The system's reason.
        error: String,
    },
    /// The speaker ended the session: a NOTIFICATION sent (hold timer, route limit, bad
    /// message …) or received from the peer.
    Down(DownReason),
    /// The session thread could not be started.
    Thread(String),
}

impl fmt::Display for SessionFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionFault::LocalAddress { local, error } => write!(
                f,
                "local BGP address {local} not usable yet (tunnel not up?): {error}"
            ),
            SessionFault::Md5Key(e) => write!(f, "TCP MD5 key refused: {e}"),
            SessionFault::Connect { peer, error } => write!(f, "connect to {peer}: {error}"),
            SessionFault::ConnectTimeout { peer, after } => write!(
                f,
                "connect to {peer}: no answer within {:.1} s (peer or tunnel down, or TCP MD5 key mismatch)",
                after.as_secs_f64()
            ),
            SessionFault::PeerClosed => f.write_str("peer closed the TCP connection"),
            SessionFault::Socket { during, error } => write!(f, "{during}: {error}"),
            SessionFault::Down(r) => write!(f, "{r}"),
            SessionFault::Thread(e) => write!(f, "cannot start the session thread: {e}"),
        }
    }
}

/// Counters of one session (since it was started by [`BgpSessions::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionCounters {
    /// TCP connection attempts.
    pub connect_attempts: u64,
    /// Times the session reached Established.
    pub established: u64,
    /// BGP messages received / sent.
    pub messages_in: u64,
    /// See `messages_in`.
    pub messages_out: u64,
    /// UPDATE messages received / sent.
    pub updates_in: u64,
    /// See `updates_in`.
    pub updates_out: u64,
    /// Prefixes the import policy refused (default route, AS loop, malformed attributes).
    pub routes_rejected: u64,
}

/// What one session is doing, for the driver (routes) and Describe (issue 7: state, peer ASN,
/// peer BGP IP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// The session's connection.
    pub connection: VpnConnectionId,
    /// Tunnel 1 or 2.
    pub index: TunnelIndex,
    /// Our BGP IP.
    pub local_ip: Ipv4Addr,
    /// The peer's BGP IP.
    pub peer_ip: Ipv4Addr,
    /// Our ASN.
    pub local_asn: u32,
    /// RFC 4271 §8.2.2 state.
    pub state: BgpState,
    /// The peer's ASN from its OPEN, while Established (the configured one is in the plan).
    pub peer_asn: Option<u32>,
    /// The peer's BGP identifier from its OPEN, while Established.
    pub peer_router_id: Option<Ipv4Addr>,
    /// Negotiated hold time.
    pub hold_time: Option<Duration>,
    /// Prefixes learned from the peer and accepted, sorted; empty unless Established.
    pub learned: Vec<Ipv4Net>,
    /// The same routes with their attributes (for DescribeVpnRouteEntries: AsPath, Community).
    pub routes: Vec<LearnedRoute>,
    /// Recently refused prefixes and why (at most 16, newest last).
    pub rejected: Vec<(Ipv4Net, RejectReason)>,
    /// Prefixes we advertise.
    pub advertised: Vec<Ipv4Net>,
    /// Why the session last failed or went down; cleared when it reaches Established.
    pub last_error: Option<SessionFault>,
    /// When it reached Established (monotonic), while Established.
    pub established_since: Option<Instant>,
    /// The same as wall-clock time, for display.
    pub established_at: Option<SystemTime>,
    /// Counters.
    pub counters: SessionCounters,
}

impl SessionStatus {
    fn new(plan: &SessionPlan) -> Self {
        Self {
            connection: plan.connection.clone(),
            index: plan.index,
            local_ip: plan.local_ip,
            peer_ip: plan.peer_ip,
            local_asn: plan.local_asn,
            state: BgpState::Idle,
            peer_asn: None,
            peer_router_id: None,
            hold_time: None,
            learned: Vec::new(),
            routes: Vec::new(),
            rejected: Vec::new(),
            advertised: plan.advertise.clone(),
            last_error: None,
            established_since: None,
            established_at: None,
            counters: SessionCounters::default(),
        }
    }

    /// Time in Established at `now`.
    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        self.established_since
            .map(|t| now.saturating_duration_since(t))
    }
}

/// A route learned from the peer, with the attributes Describe shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedRoute {
    /// Destination.
    pub prefix: Ipv4Net,
    /// NEXT_HOP (normally the peer's BGP IP).
    pub next_hop: Ipv4Addr,
    /// AS numbers of the AS_PATH in order, nearest first (AS_SET members flattened; 4-octet
    /// ASNs already resolved, RFC 6793).
    pub as_path: Vec<u32>,
    /// COMMUNITIES (RFC 1997), as 32-bit values.
    pub communities: Vec<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
}

impl LearnedRoute {
    fn from_speaker(r: &dualsec_bgp::Route) -> Option<Self> {
        Some(Self {
            prefix: to_net(&r.prefix)?,
            next_hop: r.next_hop,
            as_path: r
                .as_path
                .segments
                .iter()
                .flat_map(|s| s.asns.iter().map(|a| a.0))
                .collect(),
            communities: r.communities.clone(),
            med: r.med,
        })
    }

    /// The provider's `AsPath` text, e.g. `[65001,64512]`.
    pub fn as_path_text(&self) -> String {
        let asns: Vec<String> = self.as_path.iter().map(u32::to_string).collect();
        format!("[{}]", asns.join(","))
    }

    /// The provider's `Community` text, e.g. `65535:65510` (comma-separated when several).
    pub fn community_text(&self) -> String {
        let c: Vec<String> = self
            .communities
            .iter()
            .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
            .collect();
        c.join(",")
    }
}

/// What a session thread is told.
#[derive(Debug)]
enum Command {
    /// Only the advertised prefixes changed.
    SetAdvertised(Vec<Ipv4Net>),
    /// Stop (Cease when Established) and exit.
    Stop,
}

/// A session as seen from the handle.
#[derive(Debug)]
struct Running {
    plan: SessionPlan,
    commands: Sender<Command>,
    status: Arc<Mutex<SessionStatus>>,
}

/// The BGP sessions of this node. See the module documentation for the contract.
#[derive(Debug)]
pub struct BgpSessions {
    config: BgpSessionsConfig,
    sessions: BTreeMap<TunnelId, Running>,
    generation: Arc<AtomicU64>,
    spawner: Option<Sender<Box<Session>>>,
    spawner_thread: Option<JoinHandle<()>>,
}

impl BgpSessions {
    /// Starts the (empty) session runtime in the calling thread's network namespace.
    pub fn new(config: BgpSessionsConfig) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Box<Session>>();
        let spawner_thread = std::thread::Builder::new()
            .name("bgp-sessions".into())
            .spawn(move || spawner(rx))?;
        Ok(Self {
            config,
            sessions: BTreeMap::new(),
            generation: Arc::new(AtomicU64::new(0)),
            spawner: Some(tx),
            spawner_thread: Some(spawner_thread),
        })
    }

    /// Makes the running sessions those of `plans` (see the module documentation). Never blocks
    /// on the network.
    pub fn apply(&mut self, plans: &BTreeMap<TunnelId, SessionPlan>) {
        let before = self.sessions.len();
        let mut changed = false;
        self.sessions.retain(|id, r| {
            let keep = plans.get(id).is_some_and(|p| same_session(&r.plan, p));
            if !keep {
                info!(tunnel = %id, peer = %r.plan.peer_ip, "BGP session stops");
                let _ = r.commands.send(Command::Stop);
            }
            keep
        });
        changed |= self.sessions.len() != before;
        for (id, plan) in plans {
            if let Some(r) = self.sessions.get_mut(id) {
                if r.plan.advertise != plan.advertise {
                    let _ = r
                        .commands
                        .send(Command::SetAdvertised(plan.advertise.clone()));
                    r.plan = plan.clone();
                }
                continue;
            }
            changed = true;
            self.start(id, plan);
        }
        if changed {
            self.generation.fetch_add(1, Ordering::Release);
        }
    }

    /// Every session's status, by tunnel.
    pub fn snapshot(&self) -> BTreeMap<TunnelId, SessionStatus> {
        self.sessions
            .iter()
            .map(|(id, r)| (id.clone(), lock(&r.status).clone()))
            .collect()
    }

    /// A number that grows whenever a session's state or learned routes change, or sessions
    /// are added or removed.
    pub fn changed(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stops every session (Cease / Administrative Shutdown to Established peers, then close)
    /// and waits for their threads (at most about a second).
    pub fn shutdown(&mut self) {
        for r in std::mem::take(&mut self.sessions).into_values() {
            let _ = r.commands.send(Command::Stop);
        }
        self.spawner = None;
        if let Some(t) = self.spawner_thread.take() {
            let _ = t.join();
        }
    }

    fn start(&mut self, id: &TunnelId, plan: &SessionPlan) {
        info!(tunnel = %id, local = %plan.local_ip, peer = %plan.peer_ip, peer_asn = plan.peer_asn, "BGP session starts");
        let status = Arc::new(Mutex::new(SessionStatus::new(plan)));
        let (tx, rx) = mpsc::channel();
        let session = Box::new(Session::new(
            id.clone(),
            plan.clone(),
            &self.config,
            rx,
            Arc::clone(&status),
            Arc::clone(&self.generation),
        ));
        let sent = self.spawner.as_ref().map(|s| s.send(session));
        if !matches!(sent, Some(Ok(()))) {
            lock(&status).last_error = Some(SessionFault::Thread("runtime shut down".into()));
        }
        self.sessions.insert(
            id.clone(),
            Running {
                plan: plan.clone(),
                commands: tx,
                status,
            },
        );
    }
}

impl Drop for BgpSessions {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Whether `new` can be served by the session running `old` (only `advertise` differs).
fn same_session(old: &SessionPlan, new: &SessionPlan) -> bool {
    SessionPlan {
        advertise: Vec::new(),
        ..old.clone()
    } == SessionPlan {
        advertise: Vec::new(),
        ..new.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts session threads (so they inherit this thread's network namespace) and joins them.
fn spawner(rx: Receiver<Box<Session>>) {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    while let Ok(session) = rx.recv() {
        let name = format!("bgp-{}", session.tunnel);
        let status = Arc::clone(&session.shared);
        match std::thread::Builder::new()
            .name(name)
            .spawn(move || session.run())
        {
            Ok(t) => threads.push(t),
            Err(e) => lock(&status).last_error = Some(SessionFault::Thread(e.to_string())),
        }
        let (done, running): (Vec<_>, Vec<_>) =
            threads.into_iter().partition(JoinHandle::is_finished);
        threads = running;
        for t in done {
            let _ = t.join();
        }
    }
    for t in threads {
        let _ = t.join();
    }
}

fn to_prefix(n: &Ipv4Net) -> Option<Ipv4Prefix> {
    Ipv4Prefix::new(n.network(), n.prefix_len()).ok()
}

fn to_net(p: &Ipv4Prefix) -> Option<Ipv4Net> {
    Ipv4Net::new(p.addr(), p.prefix_len()).ok()
}

/// The TCP connection of a session.
#[derive(Debug)]
enum Tcp {
    None,
    Connecting { socket: Socket, since: Instant },
    Up(TcpStream),
}

/// Counts the messages in a byte stream by their headers (RFC 4271 §4.1), for the counters.
#[derive(Debug, Default)]
struct MessageCounter {
    header: Vec<u8>,
    skip: usize,
}

impl MessageCounter {
    /// Feeds bytes; calls `seen` with each message's type.
    fn feed(&mut self, mut data: &[u8], mut seen: impl FnMut(MessageType)) {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let want = HEADER_LEN - self.header.len();
            let n = want.min(data.len());
            self.header.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.header.len() == HEADER_LEN {
                let len = usize::from(u16::from_be_bytes([self.header[16], self.header[17]]));
                seen(MessageType(self.header[18]));
                // A bad length ends the session in the speaker; counting just resynchronises.
                self.skip = len.saturating_sub(HEADER_LEN);
                self.header.clear();
            }
        }
    }
}

/// One session thread's state.
struct Session {
    tunnel: TunnelId,
    plan: SessionPlan,
    peer: SocketAddrV4,
    speaker: Speaker,
    tcp: Tcp,
    commands: Receiver<Command>,
    pending: Option<Command>,
    status: SessionStatus,
    learned: BTreeMap<Ipv4Net, LearnedRoute>,
    shared: Arc<Mutex<SessionStatus>>,
    generation: Arc<AtomicU64>,
    rx_counter: MessageCounter,
    /// A socket fault already recorded: the speaker's following `Down(TcpClosed)` keeps it.
    io_fault: bool,
    stopping: bool,
    dirty: bool,
    bump: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("tunnel", &self.tunnel)
            .field("peer", &self.peer)
            .field("state", &self.speaker.state())
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(
        tunnel: TunnelId,
        plan: SessionPlan,
        config: &BgpSessionsConfig,
        commands: Receiver<Command>,
        shared: Arc<Mutex<SessionStatus>>,
        generation: Arc<AtomicU64>,
    ) -> Self {
        let router_id = config.router_id.unwrap_or(plan.local_ip);
        let mut sc = SessionConfig::new(Asn(plan.peer_asn), router_id, plan.local_ip);
        sc.local_asn = Asn(plan.local_asn);
        sc.hold_time = config.hold_time;
        sc.connect_retry = config.connect_retry;
        sc.max_prefixes = config.max_prefixes;
        sc.advertised = plan.advertise.iter().filter_map(to_prefix).collect();
        sc.md5_key = plan
            .auth_key
            .as_ref()
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec());
        let status = SessionStatus::new(&plan);
        Self {
            tunnel,
            peer: SocketAddrV4::new(plan.peer_ip, config.port),
            speaker: Speaker::new(sc),
            plan,
            tcp: Tcp::None,
            commands,
            pending: None,
            status,
            learned: BTreeMap::new(),
            shared,
            generation,
            rx_counter: MessageCounter::default(),
            io_fault: false,
            stopping: false,
            dirty: false,
            bump: false,
        }
    }

    fn run(mut self) {
        self.speaker.start(Instant::now());
        'run: loop {
            while let Some(cmd) = self.next_command() {
                match cmd {
                    Command::SetAdvertised(nets) => {
                        let prefixes = nets.iter().filter_map(to_prefix).collect();
                        self.speaker.set_advertised(prefixes, Instant::now());
                        self.status.advertised = nets;
                        self.dirty = true;
                    }
                    // A dropped handle reads as Stop on every call: leave at once.
                    Command::Stop => break 'run,
                }
            }
            let now = Instant::now();
            if self.speaker.poll_timeout().is_some_and(|t| t <= now) {
                if let Some((timer, _)) = self.speaker.next_timer() {
                    debug!(tunnel = %self.tunnel, ?timer, "BGP timer fired");
                }
                self.speaker.handle_timeout(now);
            }
            self.drive();
            self.publish();
            self.wait();
            self.drive();
            self.publish();
        }
        self.stop();
    }

    /// The next command; a dropped handle means stop.
    fn next_command(&mut self) -> Option<Command> {
        if let Some(c) = self.pending.take() {
            return Some(c);
        }
        match self.commands.try_recv() {
            Ok(c) => Some(c),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Command::Stop),
        }
    }

    fn stop(mut self) {
        self.stopping = true;
        self.speaker.stop(Instant::now());
        self.drive();
        self.tcp = Tcp::None;
        self.status.state = BgpState::Idle;
        self.status.learned.clear();
        self.status.established_since = None;
        self.status.established_at = None;
        self.dirty = true;
        self.bump = true;
        self.publish();
        info!(tunnel = %self.tunnel, "BGP session stopped");
    }

    /// Sends what the speaker wants sent and carries out its requests, until it is quiet.
    fn drive(&mut self) {
        loop {
            let mut busy = false;
            while let Some(bytes) = self.speaker.poll_transmit() {
                self.write(&bytes);
                busy = true;
            }
            while let Some(ev) = self.speaker.poll_event() {
                self.event(ev);
                busy = true;
            }
            if !busy {
                break;
            }
        }
        self.io_fault = false;
        let state = self.speaker.state();
        if state != self.status.state {
            debug!(tunnel = %self.tunnel, from = %self.status.state, to = %state, "BGP state");
            self.status.state = state;
            self.dirty = true;
            self.bump = true;
        }
    }

    fn publish(&mut self) {
        if !self.dirty {
            return;
        }
        self.status.learned = self.learned.keys().copied().collect();
        self.status.routes = self.learned.values().cloned().collect();
        *lock(&self.shared) = self.status.clone();
        if self.bump {
            self.generation.fetch_add(1, Ordering::Release);
        }
        self.dirty = false;
        self.bump = false;
    }

    fn event(&mut self, ev: SessionEvent) {
        let now = Instant::now();
        match ev {
            SessionEvent::ConnectTcp => self.connect(now),
            SessionEvent::CloseTcp => self.close(now),
            SessionEvent::Established {
                peer_asn,
                peer_id,
                hold_time,
                ..
            } => {
                info!(tunnel = %self.tunnel, peer = %self.peer, %peer_asn, "BGP session Established");
                self.status.peer_asn = Some(peer_asn.0);
                self.status.peer_router_id = Some(peer_id);
                self.status.hold_time = Some(hold_time);
                self.status.established_since = Some(now);
                self.status.established_at = Some(SystemTime::now());
                self.status.last_error = None;
                self.status.counters.established += 1;
                self.bump = true;
            }
            SessionEvent::RouteLearned(r) => {
                if let Some(route) = LearnedRoute::from_speaker(&r) {
                    self.learned.insert(route.prefix, route);
                }
                self.bump = true;
            }
            SessionEvent::RouteWithdrawn(p) => {
                if let Some(n) = to_net(&p) {
                    self.learned.remove(&n);
                }
                self.bump = true;
            }
            SessionEvent::RouteRejected { prefix, reason } => {
                debug!(tunnel = %self.tunnel, %prefix, ?reason, "BGP route refused");
                self.status.counters.routes_rejected += 1;
                if let Some(n) = to_net(&prefix) {
                    self.status.rejected.retain(|(p, _)| *p != n);
                    self.status.rejected.push((n, reason));
                    let extra = self
                        .status
                        .rejected
                        .len()
                        .saturating_sub(MAX_REJECTED_SHOWN);
                    self.status.rejected.drain(..extra);
                }
            }
            SessionEvent::Down { from, reason } => {
                if !self.stopping {
                    warn!(tunnel = %self.tunnel, peer = %self.peer, %from, %reason, "BGP session down");
                }
                let keep = self.io_fault && reason == DownReason::TcpClosed;
                if !keep {
                    self.status.last_error = Some(SessionFault::Down(reason));
                }
                self.status.peer_asn = None;
                self.status.peer_router_id = None;
                self.status.hold_time = None;
                self.status.established_since = None;
                self.status.established_at = None;
                self.bump = true;
            }
        }
        self.dirty = true;
    }

    /// Records a failed or lost connection and tells the speaker.
    fn tcp_failed(&mut self, fault: SessionFault, now: Instant) {
        debug!(tunnel = %self.tunnel, %fault, "BGP connection failed");
        self.tcp = Tcp::None;
        self.status.last_error = Some(fault);
        self.io_fault = true;
        self.dirty = true;
        self.bump = true;
        self.speaker.tcp_closed(now);
    }

    /// Starts a connection attempt: socket, MD5 key, bind to the local BGP IP, non-blocking
    /// connect. Completion is checked in [`Session::wait`].
    fn connect(&mut self, now: Instant) {
        self.tcp = Tcp::None;
        self.status.counters.connect_attempts += 1;
        match self.open_socket() {
            Ok(socket) => self.tcp = Tcp::Connecting { socket, since: now },
            Err(fault) => self.tcp_failed(fault, now),
        }
    }

    fn open_socket(&self) -> Result<Socket, SessionFault> {
        let sock_err = |during: &'static str| {
            move |e: io::Error| SessionFault::Socket {
                during,
                error: e.to_string(),
            }
        };
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .map_err(sock_err("socket"))?;
        // RFC 2385: the key must be in place before the SYN is sent.
        if let Some(key) = &self.speaker.config().md5_key {
            tcp_md5::set_md5sig(&socket, self.plan.peer_ip, Some(key))
                .map_err(|e| SessionFault::Md5Key(e.to_string()))?;
        }
        socket
            .bind(&SocketAddrV4::new(self.plan.local_ip, 0).into())
            .map_err(|e| SessionFault::LocalAddress {
                local: self.plan.local_ip,
                error: e.to_string(),
            })?;
        socket
            .set_nonblocking(true)
            .map_err(sock_err("set non-blocking"))?;
        socket.set_nodelay(true).map_err(sock_err("TCP_NODELAY"))?;
        match socket.connect(&self.peer.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => {
                return Err(SessionFault::Connect {
                    peer: self.peer,
                    error: e.to_string(),
                });
            }
        }
        Ok(socket)
    }

    /// Checks a connection attempt in progress; hands a completed one to the speaker.
    fn check_connecting(&mut self, now: Instant) {
        let Tcp::Connecting { socket, .. } = &self.tcp else {
            return;
        };
        let failed = match socket.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match socket.peer_addr() {
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // still in progress
                Err(e) => Some(e),
            },
        };
        if let Some(e) = failed {
            let fault = SessionFault::Connect {
                peer: self.peer,
                error: e.to_string(),
            };
            return self.tcp_failed(fault, now);
        }
        let Tcp::Connecting { socket, .. } = std::mem::replace(&mut self.tcp, Tcp::None) else {
            return;
        };
        let setup = socket
            .set_nonblocking(false)
            .and_then(|()| socket.set_write_timeout(Some(WRITE_TIMEOUT)));
        if let Err(e) = setup {
            let fault = SessionFault::Socket {
                during: "socket setup",
                error: e.to_string(),
            };
            return self.tcp_failed(fault, now);
        }
        debug!(tunnel = %self.tunnel, peer = %self.peer, "BGP TCP connected");
        self.tcp = Tcp::Up(socket.into());
        self.rx_counter = MessageCounter::default();
        self.speaker.tcp_connected(now);
    }

    /// Writes one message; a failure closes the connection.
    fn write(&mut self, bytes: &[u8]) {
        let Tcp::Up(stream) = &mut self.tcp else {
            return; // no connection: the speaker is told separately
        };
        match stream.write_all(bytes) {
            Ok(()) => {
                let c = &mut self.status.counters;
                c.messages_out += 1;
                if bytes.get(18) == Some(&MessageType::UPDATE.0) {
                    c.updates_out += 1;
                }
                self.dirty = true;
            }
            Err(e) => {
                let fault = SessionFault::Socket {
                    during: "write to peer",
                    error: e.to_string(),
                };
                self.tcp_failed(fault, Instant::now());
            }
        }
    }

    /// The speaker asked to close: flush, half-close, and wait briefly for the peer's close so
    /// that our NOTIFICATION is read rather than reset.
    fn close(&mut self, now: Instant) {
        match std::mem::replace(&mut self.tcp, Tcp::None) {
            Tcp::None => {}
            Tcp::Connecting { since, .. } => {
                // The speaker gives up on an unanswered attempt when ConnectRetry fires.
                if !self.stopping {
                    self.status.last_error = Some(SessionFault::ConnectTimeout {
                        peer: self.peer,
                        after: now.saturating_duration_since(since),
                    });
                    self.dirty = true;
                }
            }
            Tcp::Up(mut stream) => {
                while let Some(bytes) = self.speaker.poll_transmit() {
                    if stream.write_all(&bytes).is_err() {
                        break;
                    }
                    self.status.counters.messages_out += 1;
                }
                let _ = stream.shutdown(Shutdown::Write);
                let end = Instant::now() + CLOSE_LINGER;
                let mut buf = [0u8; 4096];
                while Instant::now() < end {
                    if stream.set_read_timeout(Some(IDLE_WAIT)).is_err() {
                        break;
                    }
                    match stream.read(&mut buf) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock
                                    | io::ErrorKind::TimedOut
                                    | io::ErrorKind::Interrupted
                            ) => {}
                        Err(_) => break,
                    }
                }
            }
        }
    }

    /// Waits for bytes, a connection attempt's outcome, a command or the next timer.
    fn wait(&mut self) {
        let now = Instant::now();
        let until_timer = self
            .speaker
            .poll_timeout()
            .map_or(IDLE_WAIT, |t| t.saturating_duration_since(now));
        match &mut self.tcp {
            Tcp::None => self.wait_command(until_timer.min(IDLE_WAIT)),
            Tcp::Connecting { .. } => {
                self.wait_command(until_timer.min(CONNECT_POLL));
                self.check_connecting(Instant::now());
            }
            Tcp::Up(stream) => {
                let timeout = until_timer.clamp(Duration::from_millis(1), IDLE_WAIT);
                let mut buf = [0u8; 4096];
                let result = stream
                    .set_read_timeout(Some(timeout))
                    .and_then(|()| stream.read(&mut buf));
                let now = Instant::now();
                match result {
                    Ok(0) => self.tcp_failed(SessionFault::PeerClosed, now),
                    Ok(n) => {
                        let data = &buf[..n];
                        let c = &mut self.status.counters;
                        self.rx_counter.feed(data, |t| {
                            c.messages_in += 1;
                            if t == MessageType::UPDATE {
                                c.updates_in += 1;
                            }
                        });
                        self.dirty = true;
                        self.speaker.bytes_received(data, now);
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                                | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => {
                        let fault = SessionFault::Socket {
                            during: "read from peer",
                            error: e.to_string(),
                        };
                        self.tcp_failed(fault, now);
                    }
                }
            }
        }
    }

    fn wait_command(&mut self, timeout: Duration) {
        if self.pending.is_some() {
            return;
        }
        match self.commands.recv_timeout(timeout) {
            Ok(c) => self.pending = Some(c),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.pending = Some(Command::Stop),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn plan(peer: &str) -> SessionPlan {
        SessionPlan {
            connection: "vco-test".parse().unwrap(),
            index: TunnelIndex::One,
            tunnel_cidr: "169.254.10.0/30".parse().unwrap(),
            local_ip: "169.254.10.1".parse().unwrap(),
            peer_ip: peer.parse().unwrap(),
            local_asn: 45104,
            peer_asn: 65001,
            auth_key: None,
            advertise: vec!["198.18.0.0/24".parse().unwrap()],
        }
    }

    #[test]
    fn only_advertise_changes_keep_the_session() {
        let a = plan("169.254.10.2");
        let mut b = a.clone();
        b.advertise.push("198.18.1.0/24".parse().unwrap());
        assert!(same_session(&a, &b));
        let mut c = a.clone();
        c.auth_key = Some("k".into());
        assert!(!same_session(&a, &c));
        let mut d = a.clone();
        d.peer_asn = 65002;
        assert!(!same_session(&a, &d));
    }

    /// RFC 4271 §4.1: messages are counted by their headers however the stream is cut.
    #[test]
    fn message_counter_frames_a_split_stream() {
        let keepalive = {
            let mut m = vec![0xff; 16];
            m.extend_from_slice(&[0, 19, 4]);
            m
        };
        let update = {
            let mut m = vec![0xff; 16];
            m.extend_from_slice(&[0, 23, 2, 0, 0, 0, 0]);
            m
        };
        let stream: Vec<u8> = [keepalive.clone(), update, keepalive].concat();
        for cut in 0..stream.len() {
            let mut c = MessageCounter::default();
            let mut seen = Vec::new();
            c.feed(&stream[..cut], |t| seen.push(t));
            c.feed(&stream[cut..], |t| seen.push(t));
            assert_eq!(
                seen,
                vec![
                    MessageType::KEEPALIVE,
                    MessageType::UPDATE,
                    MessageType::KEEPALIVE
                ],
                "cut at {cut}"
            );
        }
    }

    /// The provider's text forms: `AsPath` `[12000]`, `Community` `65535:65510`.
    #[test]
    fn learned_route_texts_match_the_provider() {
        let r = LearnedRoute {
            prefix: "198.19.0.0/24".parse().unwrap(),
            next_hop: "169.254.10.2".parse().unwrap(),
            as_path: vec![12000, 4_200_000_001],
            communities: vec![(65535 << 16) | 65510, (65001 << 16) | 7],
            med: None,
        };
        assert_eq!(r.as_path_text(), "[12000,4200000001]");
        assert_eq!(r.community_text(), "65535:65510,65001:7");
    }

    #[test]
    fn fault_texts_say_what_happened() {
        let peer = SocketAddrV4::new("169.254.10.2".parse().unwrap(), 179);
        let t = SessionFault::ConnectTimeout {
            peer,
            after: Duration::from_secs(5),
        }
        .to_string();
        assert!(t.contains("169.254.10.2:179") && t.contains("MD5"), "{t}");
        let t = SessionFault::Connect {
            peer,
            error: io::Error::from(io::ErrorKind::ConnectionRefused).to_string(),
        }
        .to_string();
        assert!(t.starts_with("connect to 169.254.10.2:179: "), "{t}");
    }
}

/// The runtime against an in-process peer (a passive [`Speaker`] on a 127.0.0.1 listener):
/// real kernel TCP and TCP MD5 without namespaces or root. The BIRD/FRR interop is in
/// `tests/bgp_session_interop.rs`.
#[cfg(test)]
mod loopback {
    #![allow(clippy::unwrap_used)]

    use std::net::TcpListener;
    use std::sync::atomic::AtomicBool;

    use dualsec_bgp::wire::{CeaseSubcode, ErrorCode};
    use dualsec_bgp::{SessionError, State};

    use super::*;

    const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    /// A customer speaker (AS 65001, passive) serving one connection at a time.
    struct Peer {
        port: u16,
        events: Arc<Mutex<Vec<SessionEvent>>>,
        learned: Arc<Mutex<Vec<Ipv4Prefix>>>,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Peer {
        fn start(key: Option<&str>, advertise: &[&str]) -> Peer {
            let listener = TcpListener::bind((LO, 0)).unwrap();
            if let Some(k) = key {
                tcp_md5::set_md5sig(&listener, LO, Some(k.as_bytes())).unwrap();
            }
            listener.set_nonblocking(true).unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut cfg = SessionConfig::new(Asn(45104), Ipv4Addr::new(127, 0, 0, 2), LO);
            cfg.local_asn = Asn(65001);
            cfg.passive = true;
            // Accept again soon after a NOTIFICATION (the speaker refuses connections while Idle).
            cfg.connect_retry = Duration::from_millis(200);
            cfg.hold_time = Duration::from_secs(3);
            cfg.advertised = advertise.iter().map(|s| s.parse().unwrap()).collect();
            let events = Arc::new(Mutex::new(Vec::new()));
            let learned = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let (e, l, s) = (events.clone(), learned.clone(), stop.clone());
            let thread = std::thread::spawn(move || serve(listener, cfg, &e, &l, &s));
            Peer {
                port,
                events,
                learned,
                stop,
                thread: Some(thread),
            }
        }

        fn events(&self) -> Vec<SessionEvent> {
            lock(&self.events).clone()
        }

        fn learned(&self) -> Vec<Ipv4Prefix> {
            lock(&self.learned).clone()
        }
    }

    impl Drop for Peer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    fn serve(
        listener: TcpListener,
        cfg: SessionConfig,
        events: &Mutex<Vec<SessionEvent>>,
        learned: &Mutex<Vec<Ipv4Prefix>>,
        stop: &AtomicBool,
    ) {
        let mut sp = Speaker::new(cfg);
        sp.start(Instant::now());
        let mut conn: Option<TcpStream> = None;
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if conn.is_none() {
                if let Ok((s, _)) = listener.accept() {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
                    conn = Some(s);
                    sp.tcp_connected(now);
                } else {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            if sp.poll_timeout().is_some_and(|t| t <= now) {
                sp.handle_timeout(now);
            }
            while let Some(b) = sp.poll_transmit() {
                if let Some(s) = conn.as_mut() {
                    let _ = s.write_all(&b);
                }
            }
            while let Some(e) = sp.poll_event() {
                if e == SessionEvent::CloseTcp {
                    conn = None;
                }
                lock(events).push(e);
            }
            *lock(learned) = sp.routes().map(|r| r.prefix).collect();
            if let Some(s) = conn.as_mut() {
                match s.read(&mut buf) {
                    Ok(0) => {
                        conn = None;
                        sp.tcp_closed(Instant::now());
                    }
                    Ok(n) => sp.bytes_received(&buf[..n], Instant::now()),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => {
                        conn = None;
                        sp.tcp_closed(Instant::now());
                    }
                }
            }
        }
    }

    fn plan(key: Option<&str>, advertise: &[&str]) -> SessionPlan {
        SessionPlan {
            connection: "vco-loop".parse().unwrap(),
            index: TunnelIndex::One,
            tunnel_cidr: "127.0.0.0/30".parse().unwrap(),
            local_ip: LO,
            peer_ip: LO,
            local_asn: 45104,
            peer_asn: 65001,
            auth_key: key.map(str::to_owned),
            advertise: advertise.iter().map(|s| net(s)).collect(),
        }
    }

    fn config(port: u16) -> BgpSessionsConfig {
        BgpSessionsConfig {
            connect_retry: Duration::from_millis(400),
            hold_time: Duration::from_secs(3),
            port,
            ..Default::default()
        }
    }

    fn tunnel() -> TunnelId {
        "tun-loop1".parse().unwrap()
    }

    fn one(p: SessionPlan) -> BTreeMap<TunnelId, SessionPlan> {
        BTreeMap::from([(tunnel(), p)])
    }

    fn wait_for(
        what: &str,
        s: &BgpSessions,
        timeout: Duration,
        mut done: impl FnMut(&SessionStatus) -> bool,
    ) -> SessionStatus {
        let end = Instant::now() + timeout;
        loop {
            let st = s.snapshot().remove(&tunnel()).unwrap();
            if done(&st) {
                return st;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}: {st:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// RFC 2385 + RFC 4271: with the key on both ends the session comes up, the peer's prefix is
    /// learned (its 0.0.0.0/0 is not), ours is advertised; an `advertise` change is sent without a
    /// reset; shutdown is a Cease / Administrative Shutdown the peer receives.
    #[test]
    fn md5_session_learns_advertises_updates_and_ceases() {
        let peer = Peer::start(Some("s3cret"), &["198.19.0.0/24", "0.0.0.0/0"]);
        let mut s = BgpSessions::new(config(peer.port)).unwrap();
        let g0 = s.changed();
        s.apply(&one(plan(Some("s3cret"), &["198.18.0.0/24"])));
        let st = wait_for("Established + route", &s, Duration::from_secs(5), |st| {
            st.state == State::Established && !st.learned.is_empty()
        });
        assert!(s.changed() > g0);
        assert_eq!(st.learned, vec![net("198.19.0.0/24")]);
        assert_eq!(
            st.routes,
            vec![LearnedRoute {
                prefix: net("198.19.0.0/24"),
                next_hop: LO,
                as_path: vec![65001],
                communities: vec![],
                med: None,
            }]
        );
        assert_eq!(st.routes[0].as_path_text(), "[65001]");
        assert_eq!(st.peer_asn, Some(65001));
        assert_eq!(st.peer_router_id, Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(st.hold_time, Some(Duration::from_secs(3)));
        assert_eq!(st.last_error, None);
        assert!(st.established_since.is_some() && st.established_at.is_some());
        let st = wait_for("default route refused", &s, Duration::from_secs(2), |st| {
            !st.rejected.is_empty()
        });
        assert_eq!(
            st.rejected,
            vec![(net("0.0.0.0/0"), RejectReason::DefaultRoute)]
        );
        assert!(st.counters.updates_in >= 1 && st.counters.updates_out >= 1);
        assert_eq!(
            (st.counters.established, st.counters.connect_attempts),
            (1, 1)
        );
        let end = Instant::now() + Duration::from_secs(3);
        while peer.learned() != vec!["198.18.0.0/24".parse().unwrap()] {
            assert!(Instant::now() < end, "peer learned {:?}", peer.learned());
            std::thread::sleep(Duration::from_millis(20));
        }

        // Only `advertise` changed: the same session announces and withdraws the difference.
        s.apply(&one(plan(Some("s3cret"), &["198.18.1.0/24"])));
        while peer.learned() != vec!["198.18.1.0/24".parse().unwrap()] {
            assert!(Instant::now() < end, "peer learned {:?}", peer.learned());
            std::thread::sleep(Duration::from_millis(20));
        }
        let st = s.snapshot().remove(&tunnel()).unwrap();
        assert_eq!(st.state, State::Established);
        assert_eq!(
            st.counters.established, 1,
            "no reset for an advertise change"
        );
        assert_eq!(st.advertised, vec![net("198.18.1.0/24")]);

        // Keepalives keep it up past the 3 s hold time.
        std::thread::sleep(Duration::from_secs(4));
        let st = s.snapshot().remove(&tunnel()).unwrap();
        assert_eq!(st.state, State::Established, "{st:#?}");
        assert_eq!(st.counters.established, 1);

        s.shutdown();
        assert!(s.snapshot().is_empty());
        let cease = peer.events().into_iter().find_map(|e| match e {
            SessionEvent::Down {
                reason: DownReason::Received(n),
                ..
            } => Some(n),
            _ => None,
        });
        let n = cease.expect("the peer received a NOTIFICATION");
        assert_eq!(
            (n.code, n.subcode),
            (ErrorCode::CEASE, CeaseSubcode::ADMINISTRATIVE_SHUTDOWN.0)
        );
    }

    /// RFC 2385 §2: a wrong key gets no answer (the peer's kernel drops the SYNs): never
    /// Established, and the status says the attempts timed out and names the MD5 key.
    #[test]
    fn rfc2385_wrong_key_never_establishes_and_says_why() {
        let peer = Peer::start(Some("s3cret"), &["198.19.0.0/24"]);
        let mut s = BgpSessions::new(config(peer.port)).unwrap();
        s.apply(&one(plan(Some("wrong"), &["198.18.0.0/24"])));
        let st = wait_for("a connect timeout", &s, Duration::from_secs(3), |st| {
            st.last_error.is_some()
        });
        assert!(
            matches!(st.last_error, Some(SessionFault::ConnectTimeout { .. })),
            "{st:#?}"
        );
        assert!(
            st.last_error.as_ref().unwrap().to_string().contains("MD5"),
            "{st:#?}"
        );
        let st = wait_for("another attempt", &s, Duration::from_secs(3), |st| {
            st.counters.connect_attempts >= 3
        });
        assert_eq!(st.counters.established, 0);
        assert!(st.learned.is_empty());
        assert!(peer.events().is_empty(), "{:?}", peer.events());
    }

    /// No listener: the connection is refused, reported, and retried every `connect_retry`.
    #[test]
    fn refused_connection_is_reported_and_retried() {
        let port = TcpListener::bind((LO, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = BgpSessions::new(config(port)).unwrap();
        s.apply(&one(plan(None, &[])));
        let st = wait_for("two refused attempts", &s, Duration::from_secs(3), |st| {
            st.counters.connect_attempts >= 2
        });
        let e = st.last_error.unwrap();
        assert!(matches!(e, SessionFault::Connect { .. }), "{e:?}");
        assert!(e.to_string().contains("refused"), "{e}");
        assert_ne!(st.state, State::Established);
    }

    /// Until the engine puts the local BGP IP on the TUN, bind fails (EADDRNOTAVAIL): a
    /// retried attempt whose status names the address.
    #[test]
    fn missing_local_address_is_a_retried_attempt() {
        let mut s = BgpSessions::new(config(179)).unwrap();
        let mut p = plan(None, &[]);
        p.local_ip = "198.51.100.77".parse().unwrap();
        p.peer_ip = "198.51.100.78".parse().unwrap();
        s.apply(&one(p));
        let st = wait_for("two attempts", &s, Duration::from_secs(3), |st| {
            st.counters.connect_attempts >= 2
        });
        let e = st.last_error.unwrap();
        assert!(
            matches!(e, SessionFault::LocalAddress { local, .. } if local == Ipv4Addr::new(198, 51, 100, 77)),
            "{e:?}"
        );
    }

    /// Issue 7 / RFC 4486: one prefix over the limit ends the session with a Cease the status
    /// shows, and nothing stays learned.
    #[test]
    fn route_limit_ends_the_session_and_is_reported() {
        let peer = Peer::start(None, &["198.19.0.0/24", "198.19.1.0/24"]);
        let mut cfg = config(peer.port);
        cfg.max_prefixes = 1;
        let mut s = BgpSessions::new(cfg).unwrap();
        s.apply(&one(plan(None, &["198.18.0.0/24"])));
        let st = wait_for("the limit Cease", &s, Duration::from_secs(5), |st| {
            matches!(
                st.last_error,
                Some(SessionFault::Down(DownReason::Sent(
                    SessionError::MaxPrefixes { .. },
                    _
                )))
            )
        });
        assert!(st.learned.is_empty(), "{st:#?}");
        assert_ne!(st.state, State::Established);
        let text = st.last_error.unwrap().to_string();
        assert!(text.contains("more than 1 prefixes"), "{text}");
    }

    /// Removing a plan stops its session; a changed plan (other ASN) restarts it.
    #[test]
    fn apply_stops_removed_and_restarts_changed_sessions() {
        let peer = Peer::start(None, &["198.19.0.0/24"]);
        let mut s = BgpSessions::new(config(peer.port)).unwrap();
        let mut p = plan(None, &["198.18.0.0/24"]);
        p.peer_asn = 65099; // wrong: the peer is AS 65001
        s.apply(&one(p));
        let st = wait_for("Bad Peer AS", &s, Duration::from_secs(5), |st| {
            matches!(
                st.last_error,
                Some(SessionFault::Down(DownReason::Sent(
                    SessionError::BadPeerAs { .. },
                    _
                )))
            )
        });
        assert_ne!(st.state, State::Established);
        s.apply(&one(plan(None, &["198.18.0.0/24"])));
        let st = wait_for("Established", &s, Duration::from_secs(5), |st| {
            st.state == State::Established
        });
        assert_eq!(st.counters.established, 1);
        let g = s.changed();
        s.apply(&BTreeMap::new());
        assert!(s.snapshot().is_empty());
        assert!(s.changed() > g);
        let end = Instant::now() + Duration::from_secs(3);
        while !peer.events().iter().any(|e| {
            matches!(e, SessionEvent::Down { reason: DownReason::Received(n), .. } if n.code == ErrorCode::CEASE)
        }) {
            assert!(Instant::now() < end, "{:?}", peer.events());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
