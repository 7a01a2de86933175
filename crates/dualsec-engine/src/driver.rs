//! The engine's IO thread: feeds the IKE endpoint from the data plane, applies its events to the
//! data plane, reconciles desired state, and writes observed state back.
//!
//! One thread owns the IKE endpoints ([`IkeEndpoints`]) and everything they decide; the data
//! plane's workers own the per-packet path. The loop, in order: reconcile when due, take IKE
//! datagrams (waiting at most until the next timer), take data-plane events, fire IKE timers,
//! then drain the endpoints (transmits, then events) and write what changed to the store.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dualsec_control::Control;
use dualsec_control::ids::{TunnelId, VpnConnectionId};
use dualsec_control::model::{NegotiationFailure, TunnelIndex};
use dualsec_control::requests::DesiredState;
use dualsec_control::values::NegotiationStatus;
use dualsec_dataplane::{
    ConnectionId, ControlHandle, DataPlaneConfig, DataPlaneEvent, DataPlaneOutputs, IkeDatagram,
    Route,
};
use dualsec_esp::{
    Direction, Lifetimes, SaParams, SaTableEvent, Selectors, Spi, TunnelEndpoints, UdpEncap,
};
use dualsec_ha::{SaDownCause, ZoneId};
use dualsec_ike::v2::{
    ChildSaInfo, DownReason, EndpointConfig, Event, NegotiationError, TrafficSelector, Transmit,
};
use ipnet::{IpNet, Ipv4Net};
use rand_core::OsRng;
use tracing::{debug, info, warn};

use crate::failover::{Action, HaSet};
use crate::ike::IkeEndpoints;
use crate::ip::run_ip;
use crate::plan::{Plan, RoutePlan, plan};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The public IPs this node holds; it runs the tunnels that use them (see
    /// [`crate::ownership`]).
    pub node_ips: Vec<IpAddr>,
    /// VPC-side TUN device name.
    pub tun_name: String,
    /// How often desired state is re-read (changes also apply at the next tick).
    pub reconcile_interval: Duration,
    /// How often traffic counters are written to the store.
    pub counters_interval: Duration,
    /// Install kernel routes toward the TUN for every routed prefix (`ip route replace`).
    pub kernel_routes: bool,
    /// Where published routes are written (issue 7, [`crate::publish`]); `None`: nowhere.
    pub publish: Option<crate::publish::PublishTarget>,
    /// Failover tuning: probe interval, detection multiplier, failback hold-down (issue 6).
    pub ha: dualsec_ha::HaConfig,
    /// BGP session settings (issue 7): hold time, retry, the prefix limit per session.
    pub bgp: crate::bgp_session::BgpSessionsConfig,
}

impl EngineConfig {
    /// Defaults: reconcile every 500 ms, counters every 2 s, kernel routes on.
    pub fn new(node_ips: Vec<IpAddr>, tun_name: impl Into<String>) -> Self {
        EngineConfig {
            node_ips,
            tun_name: tun_name.into(),
            reconcile_interval: Duration::from_millis(500),
            counters_interval: Duration::from_secs(2),
            kernel_routes: true,
            publish: None,
            ha: dualsec_ha::HaConfig::default(),
            bgp: crate::bgp_session::BgpSessionsConfig::default(),
        }
    }
}

/// A running engine; dropping it stops the thread (tunnels are deleted, IKE DELETEs sent).
#[derive(Debug)]
pub struct Engine {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Why the data plane did not start, if it did not.
    degraded: Option<String>,
}

impl Engine {
    /// Starts the data plane and the engine thread. When the data plane cannot start (the
    /// public IPs are not on this host, no TUN support…), the engine still runs in a degraded
    /// mode that reports the reason as every local tunnel's last error, so the API keeps
    /// serving and tells the user why nothing negotiates.
    pub fn start(control: Arc<Control>, cfg: EngineConfig) -> Engine {
        let stop = Arc::new(AtomicBool::new(false));
        let dp_cfg = DataPlaneConfig::new(cfg.tun_name.clone(), cfg.node_ips.clone());
        match dualsec_dataplane::start(&dp_cfg) {
            Ok((handle, outputs)) => {
                // The TUN's MTU must be the data plane's: longer packets would be dropped as
                // invalid instead of being refused with ICMP "fragmentation needed" by the
                // kernel (PMTU discovery), and TCP through the tunnel would stall.
                let mtu = dp_cfg.mtu.to_string();
                if let Err(e) = run_ip(&["link", "set", "dev", &cfg.tun_name, "mtu", &mtu, "up"]) {
                    warn!("cannot bring {} up: {e}", cfg.tun_name);
                }
                let s = stop.clone();
                let thread = std::thread::Builder::new()
                    .name("dualsec-engine".into())
                    .spawn(move || Driver::new(control, cfg, handle, outputs).run(&s))
                    .ok();
                Engine {
                    stop,
                    thread,
                    degraded: None,
                }
            }
            Err(e) => {
                let why = format!(
                    "data plane not running on this host: {e} (public IPs {:?} must be configured on a local interface, and /dev/net/tun available)",
                    cfg.node_ips
                );
                warn!("{why}");
                let s = stop.clone();
                let w = why.clone();
                let thread = std::thread::Builder::new()
                    .name("dualsec-engine".into())
                    .spawn(move || degraded(control, cfg, &w, &s))
                    .ok();
                Engine {
                    stop,
                    thread,
                    degraded: Some(why),
                }
            }
        }
    }

    /// Why the data plane is not running, if it is not.
    pub fn degraded(&self) -> Option<&str> {
        self.degraded.as_deref()
    }

    /// Stops the engine: deletes every tunnel (IKE DELETE) and stops the data plane.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Without a data plane: keep telling every local tunnel why it does not negotiate.
fn degraded(control: Arc<Control>, cfg: EngineConfig, why: &str, stop: &AtomicBool) {
    let failure = NegotiationFailure::Other {
        detail: why.to_owned(),
    };
    while !stop.load(Ordering::Relaxed) {
        if let Ok(desired) = control.desired_state() {
            let p = plan(&desired, &cfg.node_ips);
            for id in p.tunnels.keys() {
                let _ = control.update_tunnel_observed(id, |o| {
                    if o.last_error.as_ref() != Some(&failure) {
                        o.last_error = Some(failure.clone());
                    }
                });
            }
        }
        sleep_unless_stopped(stop, Duration::from_secs(2));
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Numeric names for the cores (which take integers) of the store's string ids.
#[derive(Debug, Default)]
struct Names {
    tunnels: BTreeMap<TunnelId, u32>,
    tunnels_rev: BTreeMap<u32, TunnelId>,
    connections: BTreeMap<VpnConnectionId, u32>,
    /// BGP sessions' pinned data-plane connections, by the session's tunnel (issue 7).
    pinned: BTreeMap<TunnelId, u32>,
    next: u32,
}

impl Names {
    fn tunnel(&mut self, id: &TunnelId) -> u32 {
        if let Some(n) = self.tunnels.get(id) {
            return *n;
        }
        self.next += 1;
        self.tunnels.insert(id.clone(), self.next);
        self.tunnels_rev.insert(self.next, id.clone());
        self.next
    }

    fn connection(&mut self, id: &VpnConnectionId) -> u32 {
        if let Some(n) = self.connections.get(id) {
            return *n;
        }
        self.next += 1;
        self.connections.insert(id.clone(), self.next);
        self.next
    }

    fn pinned(&mut self, id: &TunnelId) -> u32 {
        if let Some(n) = self.pinned.get(id) {
            return *n;
        }
        self.next += 1;
        self.pinned.insert(id.clone(), self.next);
        self.next
    }
}

/// What the engine tracks of one running tunnel.
#[derive(Debug)]
struct Running {
    num: u32,
    connection: VpnConnectionId,
    index: TunnelIndex,
    fingerprint: String,
    /// Negotiation asked for (R-CONN-3: at once, or on the first packet).
    initiated: bool,
    /// The IKE config could not be built; nothing runs.
    unsupported: Option<String>,
    ike_up: bool,
    /// The CHILD SA that carries outbound traffic now.
    child: Option<ChildSaInfo>,
    /// Inbound SPIs installed in the data plane.
    inbound: BTreeSet<u32>,
}

impl Running {
    fn status(&self) -> NegotiationStatus {
        match (self.ike_up, self.child.is_some()) {
            (_, true) => NegotiationStatus::IpsecSaEstablished,
            (true, false) => NegotiationStatus::IkeSaEstablished,
            (false, false) => NegotiationStatus::IkeSaNotEstablished,
        }
    }
}

struct Driver {
    control: Arc<Control>,
    cfg: EngineConfig,
    dp: ControlHandle,
    outputs: DataPlaneOutputs,
    /// IKEv2 and IKEv1 endpoints (issue 8).
    ep: IkeEndpoints,
    rng: OsRng,
    names: Names,
    running: BTreeMap<TunnelId, Running>,
    /// Connections declared in the data plane, with their active tunnel slot.
    connections: BTreeMap<VpnConnectionId, u8>,
    routes: Vec<(RoutePlan, VpnConnectionId)>,
    kernel_routes: BTreeSet<Ipv4Net>,
    /// Routes published to the VPC side (issue 7).
    publisher: crate::publish::Publisher,
    /// BGP sessions steered into their tunnels, learned routes (issue 7, [`crate::bgp_steer`]).
    bgp: crate::bgp_steer::BgpSteering,
    /// BGP's data-plane routes as last set.
    bgp_routes: Vec<crate::bgp_steer::BgpRoute>,
    /// Old inbound SAs to remove once the rekeyed ones have had time to carry traffic.
    retire: Vec<(Instant, u32)>,
    /// Tunnels whose IKE SAs are being deleted, forgotten by the endpoint at the instant.
    deleting: Vec<(Instant, dualsec_ike::v2::TunnelId)>,
    /// Tunnels whose observed state must be written.
    dirty: BTreeSet<TunnelId>,
    /// Last explained failure per tunnel, until it is cleared by success.
    last_error: BTreeMap<TunnelId, NegotiationFailure>,
    no_sa_seen: u64,
    next_reconcile: Instant,
    next_counters: Instant,
    /// Per-SA counters of the previous snapshot (issue 5).
    sa_counters: crate::counters::CounterFolder,
    /// Dual-tunnel failover of every connection (issue 6).
    ha: HaSet,
}

/// How long a deleted tunnel's DELETE exchange may take before the endpoint forgets it.
const DELETE_GRACE: Duration = Duration::from_secs(3);
/// How long shutdown waits for the peers to answer our DELETEs.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// How long a replaced inbound SA keeps decrypting after a rekey (make-before-break).
const RETIRE_AFTER: Duration = Duration::from_secs(10);
/// Longest sleep of the loop, so a stop request is seen promptly.
const MAX_WAIT: Duration = Duration::from_millis(100);

impl Driver {
    fn new(
        control: Arc<Control>,
        cfg: EngineConfig,
        dp: ControlHandle,
        outputs: DataPlaneOutputs,
    ) -> Driver {
        let mut rng = OsRng;
        let ep = IkeEndpoints::new(EndpointConfig::default(), &mut rng);
        let now = Instant::now();
        let ha_config = cfg.ha.clone();
        let publisher = crate::publish::Publisher::new(cfg.publish.clone());
        let bgp = crate::bgp_steer::BgpSteering::new(
            cfg.tun_name.clone(),
            cfg.kernel_routes,
            Some(cfg.bgp.clone()),
        );
        Driver {
            control,
            cfg,
            dp,
            outputs,
            ep,
            rng,
            names: Names::default(),
            running: BTreeMap::new(),
            connections: BTreeMap::new(),
            routes: Vec::new(),
            kernel_routes: BTreeSet::new(),
            publisher,
            bgp,
            bgp_routes: Vec::new(),
            retire: Vec::new(),
            deleting: Vec::new(),
            dirty: BTreeSet::new(),
            last_error: BTreeMap::new(),
            no_sa_seen: 0,
            next_reconcile: now,
            next_counters: now + Duration::from_secs(1),
            sa_counters: crate::counters::CounterFolder::default(),
            ha: HaSet::new(ha_config).unwrap_or_else(|e| {
                warn!("failover tuning refused ({e}); using the defaults");
                HaSet::with_defaults()
            }),
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        info!(ips = ?self.cfg.node_ips, tun = %self.cfg.tun_name, "engine running");
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= self.next_reconcile {
                self.reconcile(now);
                self.next_reconcile = now + self.cfg.reconcile_interval;
            }
            let mut wake = self.next_reconcile.min(now + MAX_WAIT);
            if let Some(t) = self.ep.poll_timeout() {
                wake = wake.min(t);
            }
            if let Some(t) = self.ha.poll_timeout() {
                wake = wake.min(t);
            }
            match self
                .outputs
                .ike
                .recv_timeout(wake.saturating_duration_since(now))
            {
                Ok(d) => {
                    self.ike_datagram(d);
                    while let Ok(d) = self.outputs.ike.try_recv() {
                        self.ike_datagram(d);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    warn!("data plane stopped; engine exits");
                    break;
                }
            }
            while let Ok(ev) = self.outputs.events.try_recv() {
                self.dataplane_event(ev);
            }
            let now = Instant::now();
            if self.ep.poll_timeout().is_some_and(|t| t <= now) {
                self.ep.handle_timeout(now, &mut self.rng);
            }
            self.ha.handle_timeout(now);
            self.apply_ha(now);
            self.retire_old_sas(now);
            self.forget_deleted(now, false);
            self.drain();
            if now >= self.next_counters {
                self.write_counters();
                self.next_counters = now + self.cfg.counters_interval;
            }
            self.write_observed();
            self.poll_bgp();
        }
        self.shutdown();
    }

    /// Deletes every tunnel (IKE DELETE to each peer) and removes kernel routes.
    fn shutdown(mut self) {
        // BGP first: the Cease to each peer still has its tunnel (issue 7).
        self.bgp.clear();
        let now = Instant::now();
        let ids: Vec<TunnelId> = self.running.keys().cloned().collect();
        for id in ids {
            self.retire_tunnel(now, &id);
        }
        // Let the peers answer the DELETEs (and retransmit them) for a moment.
        let end = now + SHUTDOWN_GRACE;
        while Instant::now() < end {
            self.drain();
            match self.outputs.ike.recv_timeout(Duration::from_millis(20)) {
                Ok(d) => self.ike_datagram(d),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let t = Instant::now();
            if self.ep.poll_timeout().is_some_and(|x| x <= t) {
                self.ep.handle_timeout(t, &mut self.rng);
            }
        }
        self.forget_deleted(Instant::now(), true);
        self.drain();
        self.publisher.clear();
        for net in std::mem::take(&mut self.kernel_routes) {
            let _ = run_ip(&["route", "del", &net.to_string(), "dev", &self.cfg.tun_name]);
        }
        // The data plane's totals, for operators and the end-to-end tests (replay/ICV drops).
        let c = self.dp.counters();
        let d = &c.esp_drops;
        info!(
            esp_rx = c.esp_rx_packets,
            esp_tx = c.esp_tx_packets,
            replay = d.get(dualsec_esp::DropReason::Replay),
            icv = d.get(dualsec_esp::DropReason::IcvFailure),
            bad_spi = d.get(dualsec_esp::DropReason::BadSpi),
            malformed = d.get(dualsec_esp::DropReason::Malformed),
            esp_drops = d.total(),
            no_sa = c.no_sa,
            "data plane counters at shutdown"
        );
        self.dp.shutdown();
    }

    // ---------------------------------------------------------------------------------------
    // Desired state

    fn reconcile(&mut self, now: Instant) {
        let desired = match self.control.desired_state() {
            Ok(d) => d,
            Err(e) => {
                warn!("reading desired state: {e:?}");
                return;
            }
        };
        let p = plan(&desired, &self.cfg.node_ips);
        self.apply_tunnels(now, &p);
        self.apply_connections(&p);
        self.apply_bgp(&crate::bgp::sessions(&desired, &p));
        self.configure_ha(now, &desired, &p);
        self.apply_routes(&p);
        self.publisher.apply(&crate::publish::wanted(&desired, &p));
        self.trigger_on_traffic(now);
        // Changes are applied: the gateway leaves `updating` (api-reference §5.2). With the
        // timer-driven completion mode this is a no-op for operations not yet due.
        if let Err(e) = self.control.complete_due_operations() {
            debug!("completing operations: {e:?}");
        }
    }

    fn apply_tunnels(&mut self, now: Instant, p: &Plan) {
        let stale: Vec<TunnelId> = self
            .running
            .iter()
            .filter(|(id, r)| {
                p.tunnels
                    .get(*id)
                    .is_none_or(|t| t.fingerprint != r.fingerprint)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if p.tunnels.contains_key(&id) {
                // Changed: renegotiate at once. The new IKE SA carries INITIAL_CONTACT, so the
                // peer drops the old SAs even if our DELETE is lost (RFC 7296 §2.4).
                info!(tunnel = id.as_str(), "tunnel changed: renegotiating");
                self.remove_tunnel(now, &id);
            } else {
                info!(tunnel = id.as_str(), "tunnel removed: deleting its SAs");
                self.retire_tunnel(now, &id);
            }
        }
        for (id, t) in &p.tunnels {
            if self.running.contains_key(id) {
                continue;
            }
            let num = self.names.tunnel(id);
            let mut r = Running {
                num,
                connection: t.connection.clone(),
                index: t.index,
                fingerprint: t.fingerprint.clone(),
                initiated: false,
                unsupported: None,
                ike_up: false,
                child: None,
                inbound: BTreeSet::new(),
            };
            match &t.setup {
                Ok(cfg) => {
                    let ike_id = dualsec_ike::v2::TunnelId(u64::from(num));
                    self.ep.add_tunnel(now, ike_id, cfg.clone(), &mut self.rng);
                    if t.effect_immediately {
                        self.initiate(now, &mut r);
                    }
                    self.last_error.remove(id);
                }
                Err(why) => {
                    r.unsupported = Some(why.clone());
                    self.last_error.insert(
                        id.clone(),
                        NegotiationFailure::Other {
                            detail: why.clone(),
                        },
                    );
                }
            }
            info!(
                tunnel = id.as_str(),
                index = t.index.number(),
                "tunnel added"
            );
            self.running.insert(id.clone(), r);
            self.dirty.insert(id.clone());
        }
    }

    fn initiate(&mut self, now: Instant, r: &mut Running) {
        r.initiated = true;
        if let Err(e) = self.ep.initiate(
            now,
            dualsec_ike::v2::TunnelId(u64::from(r.num)),
            &mut self.rng,
        ) {
            warn!(tunnel = r.num, "initiate: {e}");
        }
    }

    /// R-CONN-3 "effect immediately = no": negotiate when traffic arrives. The data plane
    /// counts packets that found no outbound SA; a new one starts every idle tunnel.
    fn trigger_on_traffic(&mut self, now: Instant) {
        let no_sa = self.dp.counters().no_sa;
        if no_sa == self.no_sa_seen {
            return;
        }
        self.no_sa_seen = no_sa;
        let idle: Vec<TunnelId> = self
            .running
            .iter()
            .filter(|(_, r)| !r.initiated && r.unsupported.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            if let Some(mut r) = self.running.remove(&id) {
                info!(
                    tunnel = id.as_str(),
                    "traffic arrived: negotiating (R-CONN-3)"
                );
                self.initiate(now, &mut r);
                self.running.insert(id, r);
            }
        }
    }

    /// A tunnel that is gone from desired state (R-CONN-6): traffic stops now, and the IKE SAs
    /// are deleted with an exchange the peer answers; the endpoint forgets the tunnel once
    /// that exchange ended or after [`DELETE_GRACE`]. Forgetting at once would drop a DELETE
    /// still queued behind a liveness probe, leaving the peer with stale SAs.
    fn retire_tunnel(&mut self, now: Instant, id: &TunnelId) {
        let Some(r) = self.running.remove(id) else {
            return;
        };
        let ike_id = dualsec_ike::v2::TunnelId(u64::from(r.num));
        self.ep.delete(now, ike_id, &mut self.rng);
        self.deleting.push((now + DELETE_GRACE, ike_id));
        for spi in &r.inbound {
            let _ = self.dp.remove_inbound_sa(Spi(*spi));
        }
        if r.child.is_some() {
            let _ = self.dp.remove_outbound_sa(dualsec_esp::TunnelId(r.num));
        }
        self.dirty.remove(id);
    }

    /// Forgets retired tunnels whose DELETE exchange had its time.
    fn forget_deleted(&mut self, now: Instant, all: bool) {
        let (due, keep): (Vec<_>, Vec<_>) =
            self.deleting.drain(..).partition(|(t, _)| all || *t <= now);
        self.deleting = keep;
        for (_, ike_id) in due {
            self.ep.remove_tunnel(now, ike_id, &mut self.rng);
        }
    }

    fn remove_tunnel(&mut self, now: Instant, id: &TunnelId) {
        let Some(r) = self.running.remove(id) else {
            return;
        };
        self.ep.remove_tunnel(
            now,
            dualsec_ike::v2::TunnelId(u64::from(r.num)),
            &mut self.rng,
        );
        for spi in &r.inbound {
            let _ = self.dp.remove_inbound_sa(Spi(*spi));
        }
        if r.child.is_some() {
            let _ = self.dp.remove_outbound_sa(dualsec_esp::TunnelId(r.num));
        }
        self.dirty.remove(id);
    }

    fn apply_connections(&mut self, p: &Plan) {
        let gone: Vec<VpnConnectionId> = self
            .connections
            .keys()
            .filter(|c| !p.connections.contains_key(*c))
            .cloned()
            .collect();
        for c in gone {
            let n = self.names.connection(&c);
            self.dp.remove_connection(ConnectionId(n));
            self.connections.remove(&c);
        }
        for (id, c) in &p.connections {
            if self.connections.contains_key(id) {
                continue;
            }
            let n = self.names.connection(id);
            let t1 = self.names.tunnel(&c.tunnels[0]);
            let t2 = self.names.tunnel(&c.tunnels[1]);
            self.dp.set_connection(
                ConnectionId(n),
                [dualsec_esp::TunnelId(t1), dualsec_esp::TunnelId(t2)],
            );
            self.connections.insert(id.clone(), 0);
        }
        let ids: Vec<VpnConnectionId> = self.connections.keys().cloned().collect();
        for id in ids {
            self.choose_carrier(&id);
        }
    }

    /// BGP sessions of this node (issue 7): their TUN addresses and pinned data-plane
    /// connections ([`crate::bgp_steer`]); the routes follow in [`Self::apply_routes`].
    fn apply_bgp(&mut self, sessions: &BTreeMap<TunnelId, crate::bgp::SessionPlan>) {
        for tid in self.bgp.sessions().keys() {
            if !sessions.contains_key(tid) {
                let n = self.names.pinned(tid);
                self.dp.remove_connection(ConnectionId(n));
            }
        }
        // Destination routing names no VPC prefix: advertise the VPC-side networks.
        let vpc = if sessions.values().any(|s| s.advertise.is_empty()) {
            self.bgp.vpc_prefixes(&self.cfg.node_ips)
        } else {
            Vec::new()
        };
        self.bgp
            .apply(&crate::bgp_steer::with_vpc_prefixes(sessions, &vpc));
        for tid in sessions.keys() {
            // The session's tunnel in both slots (`bgp::pinned_tunnels`): never fails over.
            let t = dualsec_esp::TunnelId(self.names.tunnel(tid));
            let n = self.names.pinned(tid);
            self.dp.set_connection(ConnectionId(n), [t, t]);
        }
    }

    /// BGP sessions' state into observed state and the event log (issue 7); learned routes are
    /// installed at the next reconcile.
    fn poll_bgp(&mut self) {
        if !self.bgp.poll() {
            return;
        }
        for u in self.bgp.take_status_updates() {
            if let Err(e) = self.control.update_tunnel_observed(&u.tunnel, |o| {
                o.bgp_status = u.status;
                o.bgp_routes.clone_from(&u.routes);
            }) {
                debug!(tunnel = u.tunnel.as_str(), "observed BGP status: {e:?}");
            }
        }
        for (conn, tid, line) in self.bgp.take_events() {
            let _ = self.control.record_event(&conn, Some(&tid), &line);
        }
    }

    fn apply_routes(&mut self, p: &Plan) {
        let mut routes: Vec<(RoutePlan, VpnConnectionId)> = p
            .connections
            .iter()
            .flat_map(|(id, c)| c.routes.iter().map(move |r| (*r, id.clone())))
            .collect();
        routes.sort();
        let bgp_routes = self.bgp.routes();
        if routes != self.routes || bgp_routes != self.bgp_routes {
            // Learned BGP prefixes first, so a static route to the same prefix wins (the table
            // keeps the last route per prefix); the sessions' pinned peer /32s last (issue 7).
            let bgp = |r: &crate::bgp_steer::BgpRoute, names: &mut Names| match r {
                crate::bgp_steer::BgpRoute::Learned { dst, connection } => Route {
                    dst: IpNet::V4(*dst),
                    src: None,
                    connection: ConnectionId(names.connection(connection)),
                },
                crate::bgp_steer::BgpRoute::Peer { dst, tunnel } => Route {
                    dst: IpNet::V4(*dst),
                    src: None,
                    connection: ConnectionId(names.pinned(tunnel)),
                },
            };
            let is_peer = |r: &&crate::bgp_steer::BgpRoute| {
                matches!(r, crate::bgp_steer::BgpRoute::Peer { .. })
            };
            let mut table: Vec<Route> = Vec::new();
            for r in bgp_routes.iter().filter(|r| !is_peer(r)) {
                table.push(bgp(r, &mut self.names));
            }
            for (r, c) in &routes {
                table.push(Route {
                    dst: IpNet::V4(r.dst),
                    src: r.src.map(IpNet::V4),
                    connection: ConnectionId(self.names.connection(c)),
                });
            }
            for r in bgp_routes.iter().filter(is_peer) {
                table.push(bgp(r, &mut self.names));
            }
            match self.dp.set_routes(&table) {
                Ok(skipped) if !skipped.is_empty() => {
                    warn!(?skipped, "routes to unknown connections")
                }
                Ok(_) => {}
                Err(e) => warn!("set_routes: {e}"),
            }
            self.routes = routes;
            self.bgp_routes = bgp_routes;
        }
        if !self.cfg.kernel_routes {
            return;
        }
        let mut want: BTreeSet<Ipv4Net> = self.routes.iter().map(|(r, _)| r.dst).collect();
        // Learned BGP prefixes route into the TUN like static ones (the peer /32s come with the
        // session address, `ip addr … peer`).
        want.extend(self.bgp_routes.iter().filter_map(|r| match r {
            crate::bgp_steer::BgpRoute::Learned { dst, .. } => Some(*dst),
            crate::bgp_steer::BgpRoute::Peer { .. } => None,
        }));
        for net in want.difference(&self.kernel_routes.clone()) {
            match run_ip(&[
                "route",
                "replace",
                &net.to_string(),
                "dev",
                &self.cfg.tun_name,
            ]) {
                Ok(()) => {
                    self.kernel_routes.insert(*net);
                }
                Err(e) => warn!("kernel route {net}: {e}"),
            }
        }
        for net in self.kernel_routes.clone().difference(&want) {
            let _ = run_ip(&["route", "del", &net.to_string(), "dev", &self.cfg.tun_name]);
            self.kernel_routes.remove(net);
        }
    }

    /// Feeds the connection's SA state to its failover machine and applies what it decides
    /// (issue 6, see [`crate::failover`]); roles never swap (R-HA-2).
    fn choose_carrier(&mut self, conn: &VpnConnectionId) {
        let now = Instant::now();
        self.ha_observe(conn, SaDownCause::DeletedByPeer, now);
        self.apply_ha(now);
    }

    /// Declares every connection's tunnels on this node and their zones to the failover machines
    /// (R-HA-4, R-HA-5).
    fn configure_ha(&mut self, now: Instant, desired: &DesiredState, p: &Plan) {
        self.ha.retain(|c| p.connections.contains_key(c));
        for (cid, c) in &p.connections {
            let gateway = desired.gateways.iter().find(|g| g.id == c.gateway);
            let mut zones: [Option<ZoneId>; 2] = [None, None];
            for (slot, tid) in c.tunnels.iter().enumerate() {
                let runs = self
                    .running
                    .get(tid)
                    .is_some_and(|r| r.unsupported.is_none());
                if runs {
                    zones[slot] = gateway
                        .and_then(|g| g.addresses.get(slot))
                        .map(|a| ZoneId(a.zone.0.clone()));
                }
            }
            self.ha.configure(cid, zones, now);
            self.ha_observe(cid, SaDownCause::DeletedLocally, now);
        }
        self.apply_ha(now);
    }

    /// Reports the SA state of the connection's running tunnels; `cause` explains a loss.
    fn ha_observe(&mut self, conn: &VpnConnectionId, cause: SaDownCause, now: Instant) {
        for r in self.running.values().filter(|r| &r.connection == conn) {
            self.ha
                .observe(conn, r.index, r.ike_up, r.child.is_some(), cause, now);
        }
    }

    /// Performs what the failover machines decided: probes, the outbound carrier (one atomic in
    /// the data plane, `carries_traffic` in the store) and event-log lines.
    fn apply_ha(&mut self, now: Instant) {
        while let Some(a) = self.ha.poll_action() {
            match a {
                Action::Probe { connection, index } => {
                    let num = self
                        .running
                        .values()
                        .find(|r| r.connection == connection && r.index == index)
                        .map(|r| r.num);
                    if let Some(num) = num {
                        let t = dualsec_ike::v2::TunnelId(u64::from(num));
                        if let Err(e) = self.ep.probe(now, t, &mut self.rng) {
                            debug!(tunnel = num, "probe not sent: {e}");
                        }
                    }
                }
                Action::Carry {
                    connection,
                    active,
                    carrier,
                } => {
                    let want = if active == TunnelIndex::One { 0 } else { 1 };
                    if let Some(current) = self.connections.get(&connection).copied() {
                        if current != want {
                            let n = self.names.connection(&connection);
                            if let Err(e) = self.dp.set_active_tunnel(ConnectionId(n), want) {
                                warn!("set_active_tunnel: {e}");
                            }
                            self.connections.insert(connection.clone(), want);
                        }
                    }
                    if let Err(e) = self.control.set_carrying_tunnel(&connection, carrier) {
                        debug!("set_carrying_tunnel: {e:?}");
                    }
                }
                Action::Log {
                    connection,
                    tunnel,
                    message,
                } => {
                    info!(connection = connection.as_str(), "{message}");
                    let tid = tunnel.and_then(|i| {
                        self.running
                            .iter()
                            .find(|(_, r)| r.connection == connection && r.index == i)
                            .map(|(id, _)| id.clone())
                    });
                    if let Err(e) = self
                        .control
                        .record_event(&connection, tid.as_ref(), &message)
                    {
                        debug!("record_event: {e:?}");
                    }
                }
                other => self.apply_ha_state(now, other),
            }
        }
    }

    /// The failover actions beyond carrier and log (issue 6): structured switch records and
    /// redundancy for DescribeVpnConnection, and moving the peer's traffic by deleting /
    /// re-creating the master's CHILD SA under its live IKE SA (see [`crate::failover`]).
    fn apply_ha_state(&mut self, now: Instant, a: Action) {
        let res = match a {
            Action::Switched {
                connection,
                at,
                kind,
                from,
                to,
                reason,
                outage,
            } => {
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .saturating_sub(now.saturating_duration_since(at));
                let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                let record = dualsec_control::model::SwitchRecord {
                    time_ms: ms(wall),
                    kind,
                    from,
                    to,
                    reason,
                    outage_ms: outage.map(ms),
                };
                self.control.record_switch(&connection, record).map(|_| ())
            }
            Action::Redundancy {
                connection,
                redundancy,
            } => self
                .control
                .set_connection_redundancy(&connection, redundancy),
            Action::WithdrawChild { connection, index } => {
                self.steer_child(now, &connection, index, true);
                Ok(())
            }
            Action::RestoreChild { connection, index } => {
                self.steer_child(now, &connection, index, false);
                Ok(())
            }
            Action::Probe { .. } | Action::Carry { .. } | Action::Log { .. } => Ok(()),
        };
        if let Err(e) = res {
            debug!("failover state: {e:?}");
        }
    }

    /// Deletes (`withdraw`) or re-creates the tunnel's CHILD SA, keeping its IKE SA.
    fn steer_child(
        &mut self,
        now: Instant,
        connection: &VpnConnectionId,
        index: TunnelIndex,
        withdraw: bool,
    ) {
        let Some((id, num)) = self
            .running
            .iter()
            .find(|(_, r)| &r.connection == connection && r.index == index)
            .map(|(id, r)| (id.clone(), r.num))
        else {
            return;
        };
        let t = dualsec_ike::v2::TunnelId(u64::from(num));
        let n = index.number();
        let res = if withdraw {
            self.ep.delete_child_sas(now, t, &mut self.rng).map(|k| {
                format!("steering: deleting {k} CHILD SA(s) of tunnel {n} (IKE SA kept) so the peer sends on the other tunnel too")
            })
        } else {
            self.ep.create_child_sa(now, t, &mut self.rng).map(|()| {
                format!("steering: tunnel {n} answers probes again; re-creating its CHILD SA (failback waits for the hold-down)")
            })
        };
        match res {
            Ok(line) => {
                info!(connection = connection.as_str(), "{line}");
                self.log(&id, &line);
            }
            Err(e) => {
                debug!(tunnel = num, "steering not possible: {e}");
                if withdraw {
                    self.ha.withdraw_failed(connection, index, now);
                    self.apply_ha(now);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // IKE

    fn ike_datagram(&mut self, d: IkeDatagram) {
        let now = Instant::now();
        // The data plane strips the non-ESP marker on the NAT-T port; the IKE core expects the
        // datagram as received (RFC 3948 §2.2), so it is put back.
        if d.local.port() == 4500 {
            let mut framed = Vec::with_capacity(d.data.len() + 4);
            framed.extend_from_slice(&[0, 0, 0, 0]);
            framed.extend_from_slice(&d.data);
            self.ep
                .handle_datagram(now, d.local, d.remote, &framed, &mut self.rng);
        } else {
            self.ep
                .handle_datagram(now, d.local, d.remote, &d.data, &mut self.rng);
        }
    }

    fn send(&self, t: &Transmit) {
        // The core includes the non-ESP marker on 4500 and the data plane adds it: strip ours.
        let bytes = if t.local.port() == 4500 && t.bytes.starts_with(&[0, 0, 0, 0]) {
            &t.bytes[4..]
        } else {
            &t.bytes[..]
        };
        if let Err(e) = self.dp.send_ike(t.local, t.remote, bytes) {
            debug!("send IKE {} → {}: {e}", t.local, t.remote);
        }
    }

    fn drain(&mut self) {
        // IKEv1 quick mode: new inbound SAs before the message that lets the peer use them.
        while let Some(f) = self.ep.poll_inbound_first() {
            self.install_inbound_first(f);
        }
        while let Some(t) = self.ep.poll_transmit() {
            self.send(&t);
        }
        while let Some(ev) = self.ep.poll_event() {
            self.ike_event(ev);
            // Handling an event may queue more output (none today, but cheap to honour).
            while let Some(t) = self.ep.poll_transmit() {
                self.send(&t);
            }
        }
    }

    fn tunnel_of(&self, t: dualsec_ike::v2::TunnelId) -> Option<TunnelId> {
        u32::try_from(t.0)
            .ok()
            .and_then(|n| self.names.tunnels_rev.get(&n).cloned())
    }

    fn log(&self, id: &TunnelId, msg: &str) {
        if let Some(r) = self.running.get(id) {
            let line = format!("tunnel {}: {msg}", r.index.number());
            let _ = self.control.record_event(&r.connection, Some(id), &line);
        }
    }

    fn ike_event(&mut self, ev: Event) {
        let tunnel = match &ev {
            Event::IkeUp { tunnel, .. }
            | Event::IkeDown { tunnel, .. }
            | Event::ChildEstablished { tunnel, .. }
            | Event::ChildRekeyed { tunnel, .. }
            | Event::ChildDeleted { tunnel, .. }
            | Event::PeerAddressChanged { tunnel, .. }
            | Event::PeerDead { tunnel }
            | Event::ProbeAnswered { tunnel }
            | Event::NegotiationFailed { tunnel, .. } => *tunnel,
            _ => return,
        };
        let Some(id) = self.tunnel_of(tunnel) else {
            return;
        };
        let mut ha_cause = SaDownCause::DeletedByPeer;
        match ev {
            Event::ProbeAnswered { .. } => {
                if let Some(r) = self.running.get(&id) {
                    let (conn, index) = (r.connection.clone(), r.index);
                    let now = Instant::now();
                    self.ha.probe_answered(&conn, index, now);
                    self.apply_ha(now);
                }
                return;
            }
            Event::IkeUp { remote, nat, .. } => {
                self.log(
                    &id,
                    &format!("IKE SA established with {remote} (NAT-T: {nat})"),
                );
                if let Some(r) = self.running.get_mut(&id) {
                    r.ike_up = true;
                }
            }
            Event::IkeDown { reason, .. } => {
                let text = match &reason {
                    DownReason::Failed(e) => format!("IKE SA down: {e}"),
                    other => format!("IKE SA down: {other:?}"),
                };
                self.log(&id, &text);
                ha_cause = match &reason {
                    DownReason::LocalDelete | DownReason::Rekeyed => SaDownCause::DeletedLocally,
                    DownReason::PeerDelete => SaDownCause::DeletedByPeer,
                    DownReason::Failed(_) => SaDownCause::NegotiationFailed,
                };
                if let DownReason::Failed(e) = reason {
                    self.last_error.insert(id.clone(), failure(&e));
                }
                // The core emitted `ChildDeleted` for each CHILD SA first.
                if let Some(r) = self.running.get_mut(&id) {
                    r.ike_up = false;
                }
            }
            Event::ChildEstablished { child, .. } => {
                self.log(
                    &id,
                    &format!(
                        "IPsec SA established: SPIs in {:08x} out {:08x}, {}",
                        child.spi_in,
                        child.spi_out,
                        if child.udp_encap {
                            "ESP in UDP 4500"
                        } else {
                            "ESP"
                        }
                    ),
                );
                self.install_child(&id, child, None);
                self.last_error.remove(&id);
            }
            Event::ChildRekeyed {
                old_spi_in, new, ..
            } => {
                self.log(
                    &id,
                    &format!(
                        "IPsec SA rekeyed: SPIs in {:08x} out {:08x} (old in {old_spi_in:08x} retires in {} s)",
                        new.spi_in,
                        new.spi_out,
                        RETIRE_AFTER.as_secs()
                    ),
                );
                self.install_child(&id, new, Some(old_spi_in));
                self.retire
                    .push((Instant::now() + RETIRE_AFTER, old_spi_in));
            }
            Event::ChildDeleted {
                spi_in, spi_out, ..
            } => {
                self.log(
                    &id,
                    &format!("IPsec SA deleted: SPIs in {spi_in:08x} out {spi_out:08x}"),
                );
                let _ = self.dp.remove_inbound_sa(Spi(spi_in));
                let mut carrier_changed = None;
                if let Some(r) = self.running.get_mut(&id) {
                    r.inbound.remove(&spi_in);
                    if r.child.as_ref().is_some_and(|c| c.spi_out == spi_out) {
                        r.child = None;
                        let _ = self.dp.remove_outbound_sa(dualsec_esp::TunnelId(r.num));
                        carrier_changed = Some(r.connection.clone());
                    }
                }
                if let Some(c) = carrier_changed {
                    self.choose_carrier(&c);
                }
            }
            Event::PeerAddressChanged {
                remote, udp_encap, ..
            } => {
                self.log(
                    &id,
                    &format!("peer moved to {remote} (ESP in UDP: {udp_encap}); new SAs follow it"),
                );
            }
            Event::PeerDead { .. } => {
                self.log(
                    &id,
                    "peer dead: no reply to liveness checks (DPD); renegotiating (R-TUN-5)",
                );
                if let Some(r) = self.running.get(&id) {
                    let (conn, index) = (r.connection.clone(), r.index);
                    let now = Instant::now();
                    self.ha.dpd_dead(&conn, index, now);
                    self.apply_ha(now);
                }
            }
            Event::NegotiationFailed { error, .. } => {
                self.log(&id, &format!("negotiation failed: {error}"));
                self.last_error.insert(id.clone(), failure(&error));
            }
            _ => {}
        }
        if let Some(conn) = self.running.get(&id).map(|r| r.connection.clone()) {
            let now = Instant::now();
            self.ha_observe(&conn, ha_cause, now);
            self.apply_ha(now);
        }
        self.dirty.insert(id);
    }

    /// An IKEv1 CHILD SA's inbound half, installed before its `ChildEstablished`/`ChildRekeyed`
    /// (see `dualsec_ike::v1::endpoint`); [`Self::install_child`] then installs the outbound half.
    fn install_inbound_first(&mut self, f: dualsec_ike::v1::InboundFirst) {
        let Some(id) = self.tunnel_of(f.tunnel) else {
            return;
        };
        let Some(r) = self.running.get_mut(&id) else {
            return;
        };
        let inbound = sa_params(&f.child, Direction::Inbound);
        let esp_tunnel = dualsec_esp::TunnelId(r.num);
        match self
            .dp
            .install_inbound_sa(esp_tunnel, &inbound, f.replaces.map(Spi))
        {
            Ok(()) => {
                r.inbound.insert(f.child.spi_in);
            }
            Err(e) => warn!(tunnel = id.as_str(), "install inbound SA: {e}"),
        }
    }

    fn install_child(&mut self, id: &TunnelId, child: ChildSaInfo, replaces: Option<u32>) {
        let Some(r) = self.running.get(id) else {
            return;
        };
        let num = r.num;
        let conn = r.connection.clone();
        // Installed ahead by `install_inbound_first` (IKEv1).
        let inbound_installed = r.inbound.contains(&child.spi_in);
        let esp_tunnel = dualsec_esp::TunnelId(num);
        let inbound = sa_params(&child, Direction::Inbound);
        let outbound = sa_params(&child, Direction::Outbound);
        if let Err(e) = if inbound_installed {
            Ok(())
        } else {
            self.dp
                .install_inbound_sa(esp_tunnel, &inbound, replaces.map(Spi))
        } {
            warn!(tunnel = id.as_str(), "install inbound SA: {e}");
            self.last_error.insert(
                id.clone(),
                NegotiationFailure::Other {
                    detail: format!("data plane refused the inbound SA: {e}"),
                },
            );
            return;
        }
        if let Err(e) = self.dp.install_outbound_sa(esp_tunnel, &outbound) {
            warn!(tunnel = id.as_str(), "install outbound SA: {e}");
            self.last_error.insert(
                id.clone(),
                NegotiationFailure::Other {
                    detail: format!("data plane refused the outbound SA: {e}"),
                },
            );
            return;
        }
        if let Some(r) = self.running.get_mut(id) {
            r.inbound.insert(child.spi_in);
            r.child = Some(child);
            r.ike_up = true;
        }
        self.choose_carrier(&conn);
    }

    fn retire_old_sas(&mut self, now: Instant) {
        let (due, keep): (Vec<_>, Vec<_>) = self.retire.drain(..).partition(|(t, _)| *t <= now);
        self.retire = keep;
        for (_, spi) in due {
            let _ = self.dp.remove_inbound_sa(Spi(spi));
            for r in self.running.values_mut() {
                r.inbound.remove(&spi);
            }
        }
    }

    fn dataplane_event(&mut self, ev: DataPlaneEvent) {
        match ev {
            DataPlaneEvent::Sa(SaTableEvent::Lifetime {
                tunnel,
                direction,
                spi,
                event,
            }) => {
                // IKE rekeys by time before these limits (90 % of the lifetime); a hard limit
                // reached here means the SA is gone from the data plane.
                debug!(?tunnel, ?direction, ?spi, ?event, "ESP lifetime event");
            }
            DataPlaneEvent::Sa(SaTableEvent::RekeyCarriesTraffic { tunnel, new, old }) => {
                debug!(?tunnel, ?new, ?old, "rekeyed SA carries traffic");
            }
            DataPlaneEvent::WorkerFailed(why) => {
                warn!("data plane worker failed: {why}");
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Observed state

    fn write_observed(&mut self) {
        for id in std::mem::take(&mut self.dirty) {
            let Some(r) = self.running.get(&id) else {
                continue;
            };
            let status = r.status();
            let err = self.last_error.get(&id).cloned();
            let res = self.control.update_tunnel_observed(&id, |o| {
                o.status = status;
                o.last_error = err.clone();
            });
            if let Err(e) = res {
                debug!(tunnel = id.as_str(), "observed state: {e:?}");
            }
        }
    }

    fn write_counters(&mut self) {
        // Gateway-wide drops no tunnel can be blamed for (issue 5).
        self.control
            .set_data_plane_counters(crate::counters::data_plane_observed(&self.dp.counters()));
        let Ok(stats) = self.dp.sa_counters() else {
            return;
        };
        // Increments since the last snapshot: SA counters restart with every rekey, the
        // tunnel's never go backwards (issue 5).
        let per = self.sa_counters.fold(&stats);
        for (id, r) in &self.running {
            let Some(c) = per.get(&r.num) else {
                continue;
            };
            let _ = self.control.update_tunnel_observed(id, |o| {
                crate::counters::add_counters(&mut o.counters, c);
            });
        }
    }
}

/// The explained IKE error as the store's failure kind (R-DIAG-1): which of "the PSKs differ",
/// "parameters differ", "the network blocks UDP 500/4500 or the peer is unreachable".
pub(crate) fn failure(e: &NegotiationError) -> NegotiationFailure {
    let detail = e.to_string();
    match e {
        NegotiationError::PskMismatch { .. } => NegotiationFailure::PskMismatch,
        NegotiationError::PeerIdMismatch { .. } | NegotiationError::RejectedByPeer { .. } => {
            NegotiationFailure::IdentityMismatch { detail }
        }
        NegotiationError::NoProposalChosen { .. } | NegotiationError::TsUnacceptable { .. } => {
            NegotiationFailure::ProposalMismatch { detail }
        }
        NegotiationError::NoResponse { .. } => NegotiationFailure::PeerUnreachable,
        // Still "peer unreachable" (R-DIAG-1), but saying that the tunnel was up and the peer
        // stopped answering DPD (R-TUN-5) rather than that phase 1 never got an answer.
        NegotiationError::PeerDead { .. } => NegotiationFailure::Other {
            detail: format!(
                "peer unreachable: {detail}; the SAs were deleted and the tunnel renegotiates (DPD, R-TUN-5)"
            ),
        },
        _ => NegotiationFailure::Other { detail },
    }
}

/// Traffic selectors (address ranges) as the prefixes that cover them exactly.
fn selector_nets(ts: &[TrafficSelector]) -> Vec<IpNet> {
    let mut out = Vec::new();
    for t in ts {
        if let (IpAddr::V4(a), IpAddr::V4(b)) = (t.start_addr, t.end_addr) {
            out.extend(ipnet::Ipv4Subnets::new(a, b, 0).map(IpNet::V4));
        } else if let (IpAddr::V6(a), IpAddr::V6(b)) = (t.start_addr, t.end_addr) {
            out.extend(ipnet::Ipv6Subnets::new(a, b, 0).map(IpNet::V6));
        }
    }
    out
}

/// ESP SA parameters for one direction of a CHILD SA.
fn sa_params(c: &ChildSaInfo, direction: Direction) -> SaParams {
    let (spi, keys) = match direction {
        Direction::Inbound => (c.spi_in, &c.keys_in),
        Direction::Outbound => (c.spi_out, &c.keys_out),
    };
    let local: SocketAddr = c.local;
    let remote: SocketAddr = c.remote;
    SaParams {
        spi: Spi(spi),
        direction,
        encr: c.encr,
        encr_key: keys.encr_key.to_vec(),
        integ: c.integ,
        integ_key: keys.integ_key.to_vec(),
        esn: c.esn,
        replay_window: dualsec_esp::replay::DEFAULT_WINDOW,
        // IKE rekeys at 90 % of the lifetime; the hard limit here is the backstop.
        lifetimes: Lifetimes {
            soft_time: None,
            hard_time: Some(c.hard_lifetime + Duration::from_secs(30)),
            soft_bytes: None,
            hard_bytes: None,
        },
        udp_encap: c.udp_encap.then_some(UdpEncap {
            local_port: local.port(),
            remote_port: remote.port(),
        }),
        tunnel: TunnelEndpoints {
            local: local.ip(),
            remote: remote.ip(),
        },
        selectors: Selectors {
            local: selector_nets(&c.local_ts),
            remote: selector_nets(&c.remote_ts),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_become_exact_prefixes() {
        let ts = TrafficSelector {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: "198.18.0.0".parse().unwrap(),
            end_addr: "198.18.2.255".parse().unwrap(),
        };
        let nets = selector_nets(&[ts]);
        assert_eq!(
            nets,
            vec![
                "198.18.0.0/23".parse::<IpNet>().unwrap(),
                "198.18.2.0/24".parse().unwrap()
            ]
        );
        assert_eq!(
            selector_nets(&[TrafficSelector::any_v4()]),
            vec!["0.0.0.0/0".parse::<IpNet>().unwrap()]
        );
    }
}
