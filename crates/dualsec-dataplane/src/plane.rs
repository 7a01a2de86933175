//! The running data plane: two worker threads and the control handle.
//!
//! ```text
//!  TUN ──read──▶ outbound worker: route lookup → active tunnel → ESP encap ──sendmmsg──▶ UDP 4500
//!  UDP 500/4500 ──recvmmsg──▶ inbound worker: classify → IKE? → control channel
//!                                              ESP → SPI → SA → verify/decrypt ──write──▶ TUN
//! ```
//!
//! Each worker owns its half of the SA database ([`SaTable`]) outright, so the per-packet path
//! takes no lock: the control handle sends commands over a channel and wakes the worker with an
//! eventfd; the worker applies them between batches. The route table is an immutable
//! `Arc<RouteTable>` swapped the same way; the active tunnel of each connection is an atomic read
//! per packet. Counters are relaxed atomics with one writer each.
//!
//! IKE datagrams (everything on port 500, non-ESP-marker datagrams on 4500) go to the control
//! plane as [`IkeDatagram`]s with the marker stripped; [`ControlHandle::send_ike`] sends through
//! the same sockets (so the source address and port are right) and adds the marker on 4500.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use dualsec_esp::wire::inner_addrs;
use dualsec_esp::{
    Direction, DropReason, InboundSa, MAX_HEADROOM, MAX_TAILROOM, OutboundError, OutboundSa,
    ParamsError, SaCounters, SaParams, SaTable, SaTableEvent, Spi, TunnelId, Udp4500Payload,
    classify_udp4500,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};
use socket2::{Domain, Protocol, Socket, Type};

use crate::offload::{Segmenter, VNET_HDR_LEN, VnetHdr};
use crate::routes::{Connection, ConnectionId, Route, RouteTable};
use crate::sys::{Batch, Tun, Waker, poll_readable};

/// Static configuration of a data plane instance.
#[derive(Debug, Clone)]
pub struct DataPlaneConfig {
    /// TUN interface name (VPC side).
    pub tun_name: String,
    /// The gateway's public IPs; UDP `ike_port` and `natt_port` are bound on each.
    pub public_ips: Vec<IpAddr>,
    /// IKE port, 500 in production.
    pub ike_port: u16,
    /// NAT-T port, 4500 in production (RFC 3948).
    pub natt_port: u16,
    /// Packets per batch (recvmmsg/sendmmsg and TUN read loop).
    pub batch: usize,
    /// Largest inner packet (TUN MTU); buffers are sized from it.
    pub mtu: usize,
    /// TUN checksum and TCP segmentation offload (`IFF_VNET_HDR`, see [`crate::offload`]):
    /// one read per 64 KiB TCP super-packet instead of one per segment.
    pub offload: bool,
    /// Send runs of equal-sized ESP packets as one UDP GSO message (`UDP_SEGMENT`).
    pub udp_gso: bool,
    /// Let the kernel coalesce received ESP datagrams (`UDP_GRO` on the NAT-T sockets).
    pub udp_gro: bool,
}

impl DataPlaneConfig {
    /// Production defaults for `public_ips`: ports 500/4500, batches of 64, MTU 1400, offloads on.
    pub fn new(tun_name: impl Into<String>, public_ips: Vec<IpAddr>) -> Self {
        Self {
            tun_name: tun_name.into(),
            public_ips,
            ike_port: 500,
            natt_port: 4500,
            batch: 64,
            mtu: 1400,
            offload: true,
            udp_gso: true,
            udp_gro: true,
        }
    }
}

/// An IKE datagram received on one of our sockets (non-ESP marker already removed on 4500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeDatagram {
    /// Our address and port it arrived on.
    pub local: SocketAddr,
    /// The sender.
    pub remote: SocketAddr,
    /// The IKE message.
    pub data: Vec<u8>,
}

/// Something the control plane must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataPlaneEvent {
    /// From an SA table: a lifetime limit or a rekey that carries traffic.
    Sa(SaTableEvent),
    /// A worker stopped because of an IO error.
    WorkerFailed(String),
}

/// Errors of the control handle.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// Bad SA parameters (`ApiMisuse`).
    #[error("SA parameters: {0}")]
    Params(#[from] ParamsError),
    /// Only UDP-encapsulated ESP is implemented.
    #[error("outbound SA {0} has no UDP encapsulation; raw ESP (IP protocol 50) is not supported")]
    RawEspUnsupported(Spi),
    /// No socket is bound to the SA's local address and port.
    #[error("no socket bound to {0}")]
    NoSocket(SocketAddr),
    /// Unknown connection id.
    #[error("unknown connection {0:?}")]
    UnknownConnection(ConnectionId),
    /// A worker is gone.
    #[error("data plane stopped")]
    Stopped,
    /// Kernel IO.
    #[error("io: {0}")]
    Io(#[from] io::Error),
}

/// Data plane counters (monotonic).
#[derive(Debug, Default)]
pub struct Counters {
    /// Packets read from the TUN.
    pub tun_rx_packets: AtomicU64,
    /// Bytes read from the TUN.
    pub tun_rx_bytes: AtomicU64,
    /// TCP super-packets read from the TUN and segmented here (offloads on).
    pub tun_rx_gso: AtomicU64,
    /// ESP packets sent.
    pub esp_tx_packets: AtomicU64,
    /// ESP bytes sent (UDP payload).
    pub esp_tx_bytes: AtomicU64,
    /// ESP packets received (before checks).
    pub esp_rx_packets: AtomicU64,
    /// Inner packets written to the TUN.
    pub tun_tx_packets: AtomicU64,
    /// Inner bytes written to the TUN.
    pub tun_tx_bytes: AtomicU64,
    /// IKE datagrams handed to the control plane.
    pub ike_rx: AtomicU64,
    /// NAT keepalives received (RFC 3948 §2.3).
    pub keepalive_rx: AtomicU64,
    /// TUN packets that were not valid IPv4/IPv6, or longer than the configured MTU.
    pub tun_not_ip: AtomicU64,
    /// TUN packets with no route.
    pub no_route: AtomicU64,
    /// TUN packets whose tunnel has no outbound SA.
    pub no_sa: AtomicU64,
    /// TUN packets the SA refused (expired, too big).
    pub encap_failed: AtomicU64,
    /// UDP send failures.
    pub send_errors: AtomicU64,
    /// TUN write failures.
    pub tun_write_errors: AtomicU64,
    /// UDP/4500 datagrams too short for anything (RFC 3948 §2), or too long for a buffer.
    pub udp_malformed: AtomicU64,
    /// Receive errors on the UDP sockets (the worker goes on).
    pub recv_errors: AtomicU64,
    /// Inbound ESP drops by reason (index: [`DropReason::index`]).
    pub esp_drops: [AtomicU64; DropReason::ALL.len()],
}

fn inc(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// A plain copy of [`Counters`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// See [`Counters`].
    pub tun_rx_packets: u64,
    /// See [`Counters`].
    pub tun_rx_bytes: u64,
    /// See [`Counters`].
    pub tun_rx_gso: u64,
    /// See [`Counters`].
    pub esp_tx_packets: u64,
    /// See [`Counters`].
    pub esp_tx_bytes: u64,
    /// See [`Counters`].
    pub esp_rx_packets: u64,
    /// See [`Counters`].
    pub tun_tx_packets: u64,
    /// See [`Counters`].
    pub tun_tx_bytes: u64,
    /// See [`Counters`].
    pub ike_rx: u64,
    /// See [`Counters`].
    pub keepalive_rx: u64,
    /// See [`Counters`].
    pub tun_not_ip: u64,
    /// See [`Counters`].
    pub no_route: u64,
    /// See [`Counters`].
    pub no_sa: u64,
    /// See [`Counters`].
    pub encap_failed: u64,
    /// See [`Counters`].
    pub send_errors: u64,
    /// See [`Counters`].
    pub tun_write_errors: u64,
    /// See [`Counters`].
    pub udp_malformed: u64,
    /// See [`Counters`].
    pub recv_errors: u64,
    /// Inbound ESP drops by reason.
    pub esp_drops: dualsec_esp::DropCounters,
}

impl Counters {
    fn snapshot(&self) -> CountersSnapshot {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut drops = dualsec_esp::DropCounters::default();
        for (d, c) in drops.0.iter_mut().zip(&self.esp_drops) {
            *d = l(c);
        }
        CountersSnapshot {
            tun_rx_packets: l(&self.tun_rx_packets),
            tun_rx_bytes: l(&self.tun_rx_bytes),
            tun_rx_gso: l(&self.tun_rx_gso),
            esp_tx_packets: l(&self.esp_tx_packets),
            esp_tx_bytes: l(&self.esp_tx_bytes),
            esp_rx_packets: l(&self.esp_rx_packets),
            tun_tx_packets: l(&self.tun_tx_packets),
            tun_tx_bytes: l(&self.tun_tx_bytes),
            ike_rx: l(&self.ike_rx),
            keepalive_rx: l(&self.keepalive_rx),
            tun_not_ip: l(&self.tun_not_ip),
            no_route: l(&self.no_route),
            no_sa: l(&self.no_sa),
            encap_failed: l(&self.encap_failed),
            send_errors: l(&self.send_errors),
            tun_write_errors: l(&self.tun_write_errors),
            udp_malformed: l(&self.udp_malformed),
            recv_errors: l(&self.recv_errors),
            esp_drops: drops,
        }
    }
}

/// Per-SA counters as reported by [`ControlHandle::sa_counters`]. For an inbound SA,
/// `counters.dropped` counts the packets dropped after the SPI lookup found it (replay, ICV,
/// truncated, padding, next header, selectors, dummy, expired: issue 5); unknown-SPI drops are in
/// [`Counters::esp_drops`] only. The inbound worker owns its SAs outright, so these are plain
/// integers on the per-packet path, read by a `Stats` command between batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaStats {
    /// The tunnel.
    pub tunnel: TunnelId,
    /// Direction.
    pub direction: Direction,
    /// SPI.
    pub spi: Spi,
    /// Counters.
    pub counters: SaCounters,
}

enum OutCmd {
    InstallSa(TunnelId, Box<OutboundSa>),
    RemoveSa(TunnelId),
    Routes(Arc<RouteTable>),
    Stats(Sender<Vec<SaStats>>),
}

enum InCmd {
    InstallSa(TunnelId, Box<InboundSa>, Option<Spi>),
    RemoveSa(Spi),
    Stats(Sender<Vec<SaStats>>),
}

struct Bound {
    local: SocketAddr,
    socket: Arc<UdpSocket>,
}

fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    // Big buffers absorb bursts between batches.
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// The control side of a running data plane. Dropping it stops the workers.
pub struct ControlHandle {
    out_tx: Sender<OutCmd>,
    in_tx: Sender<InCmd>,
    out_wake: Arc<Waker>,
    in_wake: Arc<Waker>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    sockets: Vec<Bound>,
    natt_port: u16,
    counters: Arc<Counters>,
    connections: Mutex<HashMap<ConnectionId, Arc<Connection>>>,
    tun_name: String,
}

impl std::fmt::Debug for ControlHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlHandle")
            .field("tun", &self.tun_name)
            .field(
                "sockets",
                &self.sockets.iter().map(|b| b.local).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Receivers for what the data plane hands to the control plane.
#[derive(Debug)]
pub struct DataPlaneOutputs {
    /// IKE datagrams.
    pub ike: Receiver<IkeDatagram>,
    /// SA and worker events.
    pub events: Receiver<DataPlaneEvent>,
}

/// Creates the TUN and the sockets in the calling thread's network namespace and starts the
/// workers.
pub fn start(cfg: &DataPlaneConfig) -> Result<(ControlHandle, DataPlaneOutputs), DataPlaneError> {
    let tun = Arc::new(Tun::create(&cfg.tun_name, cfg.offload)?);
    let mut sockets = Vec::new();
    for ip in &cfg.public_ips {
        for port in [cfg.ike_port, cfg.natt_port] {
            let local = SocketAddr::new(*ip, port);
            let socket = Arc::new(bind(local)?);
            // Port 0 in tests: learn the real one.
            let local = socket.local_addr()?;
            sockets.push(Bound { local, socket });
        }
    }
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (out_tx, out_rx) = channel();
    let (in_tx, in_rx) = channel();
    let (ike_tx, ike_rx) = channel();
    let (ev_tx, ev_rx) = channel();
    let out_wake = Arc::new(Waker::new()?);
    let in_wake = Arc::new(Waker::new()?);
    let stride = MAX_HEADROOM + cfg.mtu.max(576) + MAX_TAILROOM;
    // Inbound buffers take any UDP datagram: a peer with a larger MTU than ours must not see
    // its packets cut (and then fail the ICV).
    let in_stride = 65_536;
    let batch = cfg.batch.clamp(1, 64);

    let out_sockets: Vec<(SocketAddr, Arc<UdpSocket>)> = sockets
        .iter()
        .map(|b| (b.local, b.socket.clone()))
        .collect();
    let outbound = OutboundWorker {
        tun: tun.clone(),
        sockets: out_sockets,
        cmds: out_rx,
        wake: out_wake.clone(),
        stop: stop.clone(),
        counters: counters.clone(),
        events: ev_tx.clone(),
        table: SaTable::new(),
        next_timer: None,
        routes: Arc::new(RouteTable::default()),
        batch,
        stride,
        offload: cfg.offload,
        udp_gso: cfg.udp_gso,
    };
    if cfg.udp_gro {
        for b in &sockets {
            if b.local.port() == cfg.natt_port {
                crate::sys::enable_udp_gro(b.socket.as_raw_fd())?;
            }
        }
    }
    let in_sockets: Vec<(SocketAddr, Arc<UdpSocket>, bool)> = sockets
        .iter()
        .map(|b| (b.local, b.socket.clone(), b.local.port() == cfg.natt_port))
        .collect();
    let inbound = InboundWorker {
        tun,
        sockets: in_sockets,
        cmds: in_rx,
        wake: in_wake.clone(),
        stop: stop.clone(),
        counters: counters.clone(),
        events: ev_tx,
        ike: ike_tx,
        table: SaTable::new(),
        next_timer: None,
        batch,
        stride: in_stride,
        offload: cfg.offload,
    };
    let threads = vec![
        std::thread::Builder::new()
            .name("dp-outbound".into())
            .spawn(move || outbound.run())?,
        std::thread::Builder::new()
            .name("dp-inbound".into())
            .spawn(move || inbound.run())?,
    ];
    let handle = ControlHandle {
        out_tx,
        in_tx,
        out_wake,
        in_wake,
        stop,
        threads,
        sockets,
        natt_port: cfg.natt_port,
        counters,
        connections: Mutex::new(HashMap::new()),
        tun_name: cfg.tun_name.clone(),
    };
    Ok((
        handle,
        DataPlaneOutputs {
            ike: ike_rx,
            events: ev_rx,
        },
    ))
}

impl ControlHandle {
    fn to_out(&self, c: OutCmd) -> Result<(), DataPlaneError> {
        self.out_tx.send(c).map_err(|_| DataPlaneError::Stopped)?;
        self.out_wake.wake();
        Ok(())
    }

    fn to_in(&self, c: InCmd) -> Result<(), DataPlaneError> {
        self.in_tx.send(c).map_err(|_| DataPlaneError::Stopped)?;
        self.in_wake.wake();
        Ok(())
    }

    /// The addresses our sockets are bound to.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets.iter().map(|b| b.local).collect()
    }

    /// Installs an inbound SA for `tunnel`; with `replaces`, as the make-before-break successor
    /// of that SPI (both decrypt until the old one is removed).
    pub fn install_inbound_sa(
        &self,
        tunnel: TunnelId,
        params: &SaParams,
        replaces: Option<Spi>,
    ) -> Result<(), DataPlaneError> {
        let sa = InboundSa::new(params, Instant::now())?;
        self.to_in(InCmd::InstallSa(tunnel, Box::new(sa), replaces))
    }

    /// Removes an inbound SA.
    pub fn remove_inbound_sa(&self, spi: Spi) -> Result<(), DataPlaneError> {
        self.to_in(InCmd::RemoveSa(spi))
    }

    /// Installs (or switches to) the outbound SA of `tunnel`. It must use UDP encapsulation from
    /// one of our bound addresses.
    pub fn install_outbound_sa(
        &self,
        tunnel: TunnelId,
        params: &SaParams,
    ) -> Result<(), DataPlaneError> {
        let sa = OutboundSa::new(params, Instant::now())?;
        let encap = sa
            .udp_encap()
            .ok_or(DataPlaneError::RawEspUnsupported(sa.spi()))?;
        let local = SocketAddr::new(sa.tunnel().local, encap.local_port);
        if !self.sockets.iter().any(|b| b.local == local) {
            return Err(DataPlaneError::NoSocket(local));
        }
        self.to_out(OutCmd::InstallSa(tunnel, Box::new(sa)))
    }

    /// Removes the outbound SA of `tunnel`.
    pub fn remove_outbound_sa(&self, tunnel: TunnelId) -> Result<(), DataPlaneError> {
        self.to_out(OutCmd::RemoveSa(tunnel))
    }

    /// Declares a connection and its two tunnels (tunnel 1 active). Takes effect with the next
    /// [`set_routes`](Self::set_routes).
    ///
    /// Re-declaring a connection with the same tunnels keeps its active tunnel and the routes
    /// that point at it.
    pub fn set_connection(&self, id: ConnectionId, tunnels: [TunnelId; 2]) {
        if let Ok(mut m) = self.connections.lock() {
            if m.get(&id).is_none_or(|c| c.tunnels != tunnels) {
                m.insert(id, Arc::new(Connection::new(id, tunnels)));
            }
        }
    }

    /// Forgets a connection; routes to it stop matching with the next
    /// [`set_routes`](Self::set_routes).
    pub fn remove_connection(&self, id: ConnectionId) {
        if let Ok(mut m) = self.connections.lock() {
            m.remove(&id);
        }
    }

    /// Selects which tunnel (0 = tunnel 1 master, 1 = tunnel 2 backup) carries the connection's
    /// outbound traffic; the workers see it on the next packet.
    pub fn set_active_tunnel(&self, id: ConnectionId, index: u8) -> Result<(), DataPlaneError> {
        let m = self
            .connections
            .lock()
            .map_err(|_| DataPlaneError::Stopped)?;
        m.get(&id)
            .ok_or(DataPlaneError::UnknownConnection(id))?
            .set_active(index);
        Ok(())
    }

    /// Replaces the route/policy table. Routes naming unknown connections are returned unused.
    pub fn set_routes(&self, routes: &[Route]) -> Result<Vec<Route>, DataPlaneError> {
        let (table, skipped) = {
            let m = self
                .connections
                .lock()
                .map_err(|_| DataPlaneError::Stopped)?;
            RouteTable::build(routes, |id| m.get(&id).cloned())
        };
        self.to_out(OutCmd::Routes(Arc::new(table)))?;
        Ok(skipped)
    }

    /// Sends an IKE message from `local` (one of our bound addresses) to `remote`; on the NAT-T
    /// port the non-ESP marker is prepended (RFC 3948 §2.2).
    pub fn send_ike(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &[u8],
    ) -> Result<(), DataPlaneError> {
        let b = self
            .sockets
            .iter()
            .find(|b| b.local == local)
            .ok_or(DataPlaneError::NoSocket(local))?;
        if local.port() == self.natt_port {
            let mut framed = Vec::with_capacity(msg.len() + 4);
            framed.extend_from_slice(&[0, 0, 0, 0]);
            framed.extend_from_slice(msg);
            b.socket.send_to(&framed, remote)?;
        } else {
            b.socket.send_to(msg, remote)?;
        }
        Ok(())
    }

    /// Sends a NAT-keepalive (one 0xFF octet, RFC 3948 §2.3) from `local` to `remote`.
    pub fn send_keepalive(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<(), DataPlaneError> {
        let b = self
            .sockets
            .iter()
            .find(|b| b.local == local)
            .ok_or(DataPlaneError::NoSocket(local))?;
        b.socket.send_to(&[0xff], remote)?;
        Ok(())
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> CountersSnapshot {
        self.counters.snapshot()
    }

    /// Per-SA counters from both workers (inbound first, then outbound; each sorted by SPI).
    pub fn sa_counters(&self) -> Result<Vec<SaStats>, DataPlaneError> {
        let (tx, rx) = channel();
        self.to_in(InCmd::Stats(tx.clone()))?;
        self.to_out(OutCmd::Stats(tx))?;
        let mut all = Vec::new();
        for _ in 0..2 {
            let mut v = rx
                .recv_timeout(std::time::Duration::from_secs(2))
                .map_err(|_| DataPlaneError::Stopped)?;
            v.sort_by_key(|s| s.spi);
            all.extend(v);
        }
        all.sort_by_key(|s| (s.direction == Direction::Outbound, s.spi));
        Ok(all)
    }

    /// Stops the workers and waits for them.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.out_wake.wake();
        self.in_wake.wake();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for ControlHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Poll timeout: bounds how late a lifetime timer fires and how soon `stop` is noticed.
const POLL_MS: i32 = 100;

/// Fires due lifetime timers and forwards SA events. `next` caches the table's earliest
/// deadline so the per-batch check is O(1); it is recomputed only when the table changes.
fn table_timers(
    table: &mut SaTable,
    now: Instant,
    next: &mut Option<Instant>,
    events: &Sender<DataPlaneEvent>,
) {
    if next.is_some_and(|t| t <= now) {
        table.handle_timeout(now);
        *next = table.poll_timeout();
    }
    while let Some(e) = table.poll_event() {
        let _ = events.send(DataPlaneEvent::Sa(e));
    }
}

fn stats(table: &SaTable) -> Vec<SaStats> {
    table
        .sa_snapshot()
        .into_iter()
        .map(|(tunnel, direction, spi, counters)| SaStats {
            tunnel,
            direction,
            spi,
            counters,
        })
        .collect()
}

struct OutboundWorker {
    tun: Arc<Tun>,
    sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    cmds: Receiver<OutCmd>,
    wake: Arc<Waker>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    events: Sender<DataPlaneEvent>,
    table: SaTable,
    next_timer: Option<Instant>,
    routes: Arc<RouteTable>,
    batch: usize,
    stride: usize,
    offload: bool,
    udp_gso: bool,
}

impl OutboundWorker {
    fn run(mut self) {
        if let Err(e) = self.run_inner() {
            let _ = self
                .events
                .send(DataPlaneEvent::WorkerFailed(format!("outbound: {e}")));
        }
    }

    fn commands(&mut self) -> bool {
        let mut changed = false;
        loop {
            match self.cmds.try_recv() {
                Ok(OutCmd::InstallSa(t, sa)) => {
                    self.table.install_outbound(t, *sa);
                    changed = true;
                }
                Ok(OutCmd::RemoveSa(t)) => {
                    self.table.remove_outbound(t);
                    changed = true;
                }
                Ok(OutCmd::Routes(r)) => self.routes = r,
                Ok(OutCmd::Stats(tx)) => {
                    let _ = tx.send(stats(&self.table));
                }
                Err(TryRecvError::Empty) => {
                    if changed {
                        self.next_timer = self.table.poll_timeout();
                    }
                    return true;
                }
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn run_inner(&mut self) -> io::Result<()> {
        let mut rng = ChaCha20Rng::from_rng(OsRng).map_err(|e| io::Error::other(e.to_string()))?;
        let mut batch = Batch::new(self.batch, self.stride);
        // With offloads one read returns up to 64 KiB (a TCP super-packet) behind a vnet header.
        let mut big = if self.offload {
            vec![0u8; VNET_HDR_LEN + 65_536]
        } else {
            Vec::new()
        };
        let fds = [self.tun.as_raw_fd(), self.wake.as_raw_fd()];
        let mut readable = [false; 2];
        // Per socket: which slots go out through it.
        let mut per_socket: Vec<Vec<usize>> =
            vec![Vec::with_capacity(self.batch); self.sockets.len()];
        let head = MAX_HEADROOM;
        let room = self.stride - head - MAX_TAILROOM;
        while !self.stop.load(Ordering::Relaxed) {
            poll_readable(&fds, &mut readable, POLL_MS)?;
            if readable[1] {
                self.wake.drain();
            }
            if !self.commands() {
                return Ok(());
            }
            let now = Instant::now();
            table_timers(&mut self.table, now, &mut self.next_timer, &self.events);
            if !readable[0] {
                continue;
            }
            let mut used = 0;
            let (mut rx_pkts, mut rx_bytes) = (0u64, 0u64);
            for _ in 0..batch.slots() {
                if !self.offload {
                    if used == batch.slots() {
                        self.flush(&mut batch, &mut per_socket);
                        used = 0;
                    }
                    let n = match self.tun.read(&mut batch.slot_mut(used)[head..head + room]) {
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    rx_pkts += 1;
                    rx_bytes += n as u64;
                    if self.encap_slot(&mut batch, used, n, now, &mut rng, &mut per_socket) {
                        used += 1;
                    }
                    continue;
                }
                let n = match self.tun.read(&mut big) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                let Some(vh) = VnetHdr::parse(&big[..n]) else {
                    inc(&self.counters.tun_not_ip, 1);
                    continue;
                };
                let pkt = &mut big[VNET_HDR_LEN..n];
                rx_bytes += pkt.len() as u64;
                match Segmenter::new(&vh, pkt) {
                    Err(_) => inc(&self.counters.tun_not_ip, 1),
                    Ok(None) => {
                        rx_pkts += 1;
                        if pkt.len() > room {
                            inc(&self.counters.tun_not_ip, 1);
                            continue;
                        }
                        if used == batch.slots() {
                            self.flush(&mut batch, &mut per_socket);
                            used = 0;
                        }
                        batch.slot_mut(used)[head..head + pkt.len()].copy_from_slice(pkt);
                        if self.encap_slot(
                            &mut batch,
                            used,
                            pkt.len(),
                            now,
                            &mut rng,
                            &mut per_socket,
                        ) {
                            used += 1;
                        }
                    }
                    Ok(Some(seg)) => {
                        rx_pkts += seg.count() as u64;
                        inc(&self.counters.tun_rx_gso, 1);
                        if seg.max_segment_len() > room {
                            inc(&self.counters.tun_not_ip, seg.count() as u64);
                            continue;
                        }
                        for i in 0..seg.count() {
                            if used == batch.slots() {
                                self.flush(&mut batch, &mut per_socket);
                                used = 0;
                            }
                            let len = seg.write_segment(
                                pkt,
                                i,
                                &mut batch.slot_mut(used)[head..head + room],
                            );
                            if self.encap_slot(
                                &mut batch,
                                used,
                                len,
                                now,
                                &mut rng,
                                &mut per_socket,
                            ) {
                                used += 1;
                            }
                        }
                    }
                }
            }
            inc(&self.counters.tun_rx_packets, rx_pkts);
            inc(&self.counters.tun_rx_bytes, rx_bytes);
            self.flush(&mut batch, &mut per_socket);
        }
        Ok(())
    }

    /// Routes and encrypts the inner packet at `slot[head..head + n]`; queues it for its socket.
    /// Returns whether the slot is now in use.
    fn encap_slot(
        &mut self,
        batch: &mut Batch,
        slot: usize,
        n: usize,
        now: Instant,
        rng: &mut ChaCha20Rng,
        per_socket: &mut [Vec<usize>],
    ) -> bool {
        let head = MAX_HEADROOM;
        let buf = batch.slot_mut(slot);
        let Ok((addrs, _)) = inner_addrs(&buf[head..head + n], None) else {
            inc(&self.counters.tun_not_ip, 1);
            return false;
        };
        let Some(conn) = self.routes.lookup(addrs.src, addrs.dst) else {
            inc(&self.counters.no_route, 1);
            return false;
        };
        let tunnel = conn.active();
        match self
            .table
            .encapsulate(now, rng, tunnel, buf, head..head + n)
        {
            Ok((range, sa)) => {
                let Some(encap) = sa.udp_encap() else {
                    inc(&self.counters.encap_failed, 1);
                    return false;
                };
                let local = SocketAddr::new(sa.tunnel().local, encap.local_port);
                let dst = SocketAddr::new(sa.tunnel().remote, encap.remote_port);
                let Some(si) = self.sockets.iter().position(|(a, _)| *a == local) else {
                    inc(&self.counters.send_errors, 1);
                    return false;
                };
                batch.set_send(slot, range, &dst);
                per_socket[si].push(slot);
                true
            }
            Err(OutboundError::NoSa(_)) => {
                inc(&self.counters.no_sa, 1);
                false
            }
            Err(OutboundError::Encap(_)) => {
                inc(&self.counters.encap_failed, 1);
                false
            }
        }
    }

    /// Sends every queued slot (one sendmmsg per socket) and empties the queues.
    fn flush(&self, batch: &mut Batch, per_socket: &mut [Vec<usize>]) {
        for (si, slots) in per_socket.iter_mut().enumerate() {
            if slots.is_empty() {
                continue;
            }
            let bytes: u64 = slots.iter().map(|&s| batch.send_len(s) as u64).sum();
            let fd = self.sockets[si].1.as_raw_fd();
            let (sent, _err) = if self.udp_gso {
                batch.send_gso(fd, slots)
            } else {
                batch.send(fd, slots)
            };
            inc(&self.counters.esp_tx_packets, sent as u64);
            if sent == slots.len() {
                inc(&self.counters.esp_tx_bytes, bytes);
            } else {
                inc(&self.counters.send_errors, (slots.len() - sent) as u64);
            }
            slots.clear();
        }
    }
}

struct InboundWorker {
    tun: Arc<Tun>,
    /// (local address, socket, is the NAT-T port)
    sockets: Vec<(SocketAddr, Arc<UdpSocket>, bool)>,
    cmds: Receiver<InCmd>,
    wake: Arc<Waker>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    events: Sender<DataPlaneEvent>,
    ike: Sender<IkeDatagram>,
    table: SaTable,
    next_timer: Option<Instant>,
    batch: usize,
    stride: usize,
    offload: bool,
}

impl InboundWorker {
    fn run(mut self) {
        if let Err(e) = self.run_inner() {
            let _ = self
                .events
                .send(DataPlaneEvent::WorkerFailed(format!("inbound: {e}")));
        }
    }

    fn commands(&mut self) -> bool {
        let mut changed = false;
        loop {
            match self.cmds.try_recv() {
                Ok(InCmd::InstallSa(t, sa, None)) => {
                    self.table.install_inbound(t, *sa);
                    changed = true;
                }
                Ok(InCmd::InstallSa(t, sa, Some(old))) => {
                    self.table.install_inbound_rekey(t, *sa, old);
                    changed = true;
                }
                Ok(InCmd::RemoveSa(spi)) => {
                    self.table.remove_inbound(spi);
                    changed = true;
                }
                Ok(InCmd::Stats(tx)) => {
                    let _ = tx.send(stats(&self.table));
                }
                Err(TryRecvError::Empty) => {
                    if changed {
                        self.next_timer = self.table.poll_timeout();
                    }
                    return true;
                }
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn run_inner(&mut self) -> io::Result<()> {
        let mut batch = Batch::new(self.batch, self.stride);
        let mut fds: Vec<RawFd> = self.sockets.iter().map(|s| s.1.as_raw_fd()).collect();
        fds.push(self.wake.as_raw_fd());
        let mut readable = vec![false; fds.len()];
        let wake_idx = fds.len() - 1;
        while !self.stop.load(Ordering::Relaxed) {
            poll_readable(&fds, &mut readable, POLL_MS)?;
            if readable[wake_idx] {
                self.wake.drain();
            }
            if !self.commands() {
                return Ok(());
            }
            let now = Instant::now();
            table_timers(&mut self.table, now, &mut self.next_timer, &self.events);
            for (si, _) in readable
                .iter()
                .enumerate()
                .take(self.sockets.len())
                .filter(|(_, r)| **r)
            {
                // Drain the socket a batch at a time (bounded, so other sockets get a turn).
                for _ in 0..4 {
                    let n = match batch.recv(self.sockets[si].1.as_raw_fd()) {
                        Ok(n) => n,
                        Err(_) => {
                            inc(&self.counters.recv_errors, 1);
                            break;
                        }
                    };
                    for i in 0..n {
                        self.handle(&mut batch, si, i, now);
                    }
                    if n < batch.slots() {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, batch: &mut Batch, si: usize, i: usize, now: Instant) {
        if batch.was_truncated(i) {
            inc(&self.counters.udp_malformed, 1);
            return;
        }
        let remote = batch.peer(i);
        let gro = batch.gro_size(i);
        let data = batch.received_mut(i);
        match gro {
            // UDP GRO coalesced several datagrams of `size` octets (the last may be shorter).
            Some(size) if size > 0 && data.len() > size => {
                for d in data.chunks_mut(size) {
                    self.handle_datagram(si, remote, d, now);
                }
            }
            _ => self.handle_datagram(si, remote, data, now),
        }
    }

    fn handle_datagram(
        &mut self,
        si: usize,
        remote: Option<SocketAddr>,
        data: &mut [u8],
        now: Instant,
    ) {
        let (local, _, natt) = &self.sockets[si];
        let (local, natt) = (*local, *natt);
        let ike = |data: &[u8]| {
            if let Some(remote) = remote {
                inc(&self.counters.ike_rx, 1);
                let _ = self.ike.send(IkeDatagram {
                    local,
                    remote,
                    data: data.to_vec(),
                });
            }
        };
        if !natt {
            ike(data);
            return;
        }
        let esp_len = match classify_udp4500(data) {
            Udp4500Payload::Keepalive => {
                inc(&self.counters.keepalive_rx, 1);
                return;
            }
            Udp4500Payload::Ike(msg) => {
                ike(msg);
                return;
            }
            Udp4500Payload::Malformed => {
                inc(&self.counters.udp_malformed, 1);
                return;
            }
            Udp4500Payload::Esp(p) => p.len(),
        };
        inc(&self.counters.esp_rx_packets, 1);
        let pkt = &mut data[..esp_len];
        match self.table.decapsulate(now, pkt) {
            Ok((_, d)) => {
                let inner_len = d.inner.len();
                let frame = if self.offload {
                    // A zero vnet header (no offload) in front, over the spent ESP header.
                    let start = d.inner.start - VNET_HDR_LEN;
                    pkt[start..d.inner.start].fill(0);
                    &pkt[start..d.inner.end]
                } else {
                    &pkt[d.inner]
                };
                match self.tun.write(frame) {
                    Ok(_) => {
                        inc(&self.counters.tun_tx_packets, 1);
                        inc(&self.counters.tun_tx_bytes, inner_len as u64);
                    }
                    Err(_) => inc(&self.counters.tun_write_errors, 1),
                }
            }
            Err(reason) => inc(&self.counters.esp_drops[reason.index()], 1),
        }
        while let Some(e) = self.table.poll_event() {
            let _ = self.events.send(DataPlaneEvent::Sa(e));
        }
    }
}
