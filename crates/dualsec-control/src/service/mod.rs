//! The service layer: [`Control`], one method per API action, over a [`Store`].
//!
//! This module holds the service core (configuration, transactions with ClientToken and DryRun,
//! pending operations, observed state, the pool and access keys) and the shared helpers; the
//! actions live in the submodules `gateways`, `connections` and `routes`.

mod connections;
mod gateways;
mod routes;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::Ipv4Net;
use rand_core::CryptoRngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ControlError, ResourceKind, Result};
use crate::ids::{
    CustomerGatewayId, RouteEntryId, TunnelId, VpnConnectionId, VpnGatewayId, random_alnum,
};
use crate::model::{
    AccessKey, ClientTokenRecord, ConnectionEvent, ConnectionFailoverObserved,
    ConnectionRedundancy, CustomerGateway, DataPlaneObserved, GatewayAddress, OperationKind,
    PendingOperation, PoolAddress, Redundancy, RouteOrigin, SwitchRecord, TunnelIndex,
    TunnelObserved, VpnConnection, VpnGateway, VpnPbrRouteEntry, VpnRouteEntry, ZoneId,
};
use crate::requests::*;
use crate::rules::{self, Blame};
use crate::store::{Store, Tx, read_with, write_with};
use crate::values::{
    Asn, ConnectionState, GatewayStatus, NegotiationStatus, NetworkType, PbrPriority, Psk,
    RouteEntryType, RouteState, RouteType, RouteWeight, Tag, TunnelState, validate_description,
    validate_name, validate_tags,
};

/// Wall-clock source (epoch milliseconds). Injected so tests control time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// Starts at `ms`.
    pub fn new(ms: u64) -> Self {
        ManualClock(AtomicU64::new(ms))
    }
    /// Moves forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Who completes accepted connection changes (api-reference §5.2: the gateway is `updating` until
/// then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// [`Control::complete_due_operations`] completes an operation once it is this old. The server
    /// calls it from a background tick (and may call it before each request).
    AfterDelay(Duration),
    /// Only [`Control::complete_operation`] completes (the engine, once it has applied the change).
    External,
}

/// Service configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// The one region this instance serves (`RegionId`).
    pub region_id: String,
    /// Completion of pending operations.
    pub completion: Completion,
    /// How long a `ClientToken` is remembered.
    pub client_token_ttl: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            region_id: "local".into(),
            completion: Completion::AfterDelay(Duration::from_secs(1)),
            client_token_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// Allowed `Bandwidth` values (Mbit/s), the union of the provider's sites.
pub const BANDWIDTHS: [i64; 8] = [5, 10, 20, 50, 100, 200, 500, 1000];

/// The management-plane service: validates requests against every SPEC.md rule and writes desired
/// state; reads desired + observed state back as views. Cheap to share behind an `Arc`.
pub struct Control {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Mutex<Box<dyn CryptoRngCore + Send>>,
    config: ControlConfig,
    /// The data plane's counters as the engine last wrote them (issue 5): process counters of
    /// this node, kept in memory, not in the store (they restart at zero with the process).
    data_plane: Mutex<Option<DataPlaneObserved>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Control {
    /// A service over `store`. Production: `SystemClock`, `Box::new(rand_core::OsRng)`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Box<dyn CryptoRngCore + Send>,
        config: ControlConfig,
    ) -> Self {
        Control {
            store,
            clock,
            rng: Mutex::new(rng),
            config,
            data_plane: Mutex::new(None),
        }
    }

    /// The store (the engine reads desired state and writes observed state through it).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &ControlConfig {
        &self.config
    }

    /// `InvalidRegionId.NotFound` unless `region` is the served region.
    pub fn check_region(&self, region: &str) -> Result<()> {
        if region == self.config.region_id {
            Ok(())
        } else {
            Err(ControlError::InvalidRegion {
                region: region.to_owned(),
                served: self.config.region_id.clone(),
            })
        }
    }

    fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    fn with_rng<T>(&self, f: impl FnOnce(&mut dyn CryptoRngCore) -> T) -> Result<T> {
        let mut g = self
            .rng
            .lock()
            .map_err(|_| ControlError::internal("rng mutex poisoned"))?;
        Ok(f(&mut **g))
    }

    /// Runs a mutating action: `ClientToken` replay/mismatch, `DryRun` rollback, one transaction.
    fn mutate<Req: Serialize, Res: Serialize + DeserializeOwned>(
        &self,
        action: &'static str,
        token: Option<&str>,
        dry_run: bool,
        req: &Req,
        mut f: impl FnMut(&mut dyn Tx) -> Result<Res>,
    ) -> Result<Res> {
        let token = token.filter(|t| !t.is_empty());
        if let Some(t) = token {
            if t.len() > 64 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ControlError::illegal(
                    "ClientToken",
                    "The specified \"ClientToken\" is invalid. Allowed: 1 to 64 printable ASCII characters without spaces.",
                ));
            }
        }
        let req_json = serde_json::to_string(req)
            .map_err(|e| ControlError::internal(format!("encode request: {e}")))?;
        let now = self.now();
        write_with(&*self.store, |tx| {
            if let (Some(t), false) = (token, dry_run) {
                if let Some(rec) = tx.client_token(action, t)? {
                    if rec.request == req_json {
                        return Ok(serde_json::from_str(&rec.result)?);
                    }
                    return Err(ControlError::IdempotentParameterMismatch {
                        action: action.into(),
                        token: t.into(),
                    });
                }
            }
            let res = f(tx)?;
            if dry_run {
                return Err(ControlError::DryRunOperation);
            }
            if let Some(t) = token {
                tx.put_client_token(&ClientTokenRecord {
                    action: action.into(),
                    token: t.into(),
                    request: req_json.clone(),
                    result: serde_json::to_string(&res)
                        .map_err(|e| ControlError::internal(format!("encode result: {e}")))?,
                    create_time_ms: now,
                })?;
            }
            Ok(res)
        })
    }

    // -----------------------------------------------------------------------------------------
    // Public-IP pool and access keys (used by `dualsec serve`)

    /// Sets the host's public-IP pool from `serve --public-ip zone=ip …`. New addresses are
    /// added, unconfigured free ones removed, unconfigured allocated ones kept and reported.
    pub fn configure_public_ip_pool(&self, entries: &[(ZoneId, Ipv4Addr)]) -> Result<PoolReport> {
        for (i, (z, ip)) in entries.iter().enumerate() {
            if z.0.is_empty() || z.0.chars().any(|c| c.is_whitespace() || c == '=') {
                return Err(ControlError::invalid(format!(
                    "public IP pool: zone name {:?} is invalid (non-empty, no spaces or '=')",
                    z.0
                )));
            }
            if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || ip.is_broadcast() {
                return Err(ControlError::invalid(format!(
                    "public IP pool: {ip} cannot be a gateway address"
                )));
            }
            if entries[..i].iter().any(|(_, o)| o == ip) {
                return Err(ControlError::invalid(format!(
                    "public IP pool: {ip} is listed twice"
                )));
            }
        }
        write_with(&*self.store, |tx| {
            let current = tx.pool()?;
            let mut report = PoolReport {
                added: vec![],
                removed: vec![],
                still_allocated: vec![],
            };
            for (zone, ip) in entries {
                match current.iter().find(|a| a.ip == *ip) {
                    Some(a) if &a.zone == zone => {}
                    Some(a) => {
                        // The operator moved an address to another zone: follow it in the
                        // gateway holding it, so ZoneNo and redundancy stay true.
                        tx.put_pool_address(&PoolAddress {
                            zone: zone.clone(),
                            ..a.clone()
                        })?;
                        if let Some(g) = &a.allocated_to {
                            if let Some(mut gw) = tx.gateway(g)? {
                                for addr in gw.addresses.iter_mut().filter(|x| x.ip == *ip) {
                                    addr.zone = zone.clone();
                                }
                                tx.put_gateway(&gw)?;
                            }
                        }
                    }
                    None => {
                        tx.put_pool_address(&PoolAddress {
                            zone: zone.clone(),
                            ip: *ip,
                            allocated_to: None,
                        })?;
                        report.added.push(*ip);
                    }
                }
            }
            for a in current
                .iter()
                .filter(|a| !entries.iter().any(|(_, ip)| *ip == a.ip))
            {
                match &a.allocated_to {
                    Some(g) => report.still_allocated.push((a.ip, g.clone())),
                    None => {
                        tx.delete_pool_address(a.ip)?;
                        report.removed.push(a.ip);
                    }
                }
            }
            Ok(report)
        })
    }

    /// The pool with allocation state.
    pub fn public_ip_pool(&self) -> Result<Vec<PoolAddress>> {
        read_with(&*self.store, |tx| tx.pool())
    }

    /// Zones of the pool (DescribeVpnGatewayAvailableZones).
    pub fn available_zones(&self) -> Result<Vec<ZoneId>> {
        let mut z: Vec<ZoneId> = self.public_ip_pool()?.into_iter().map(|a| a.zone).collect();
        z.dedup();
        Ok(z)
    }

    /// Creates a new access key (`LTAI` + 20 characters; 30-character secret).
    pub fn create_access_key(&self) -> Result<AccessKey> {
        let key = self.with_rng(|rng| AccessKey {
            id: format!("LTAI{}", random_alnum(rng, 20)),
            secret: random_alnum(rng, 30),
            create_time_ms: 0,
        })?;
        let key = AccessKey {
            create_time_ms: self.now(),
            ..key
        };
        write_with(&*self.store, |tx| tx.put_access_key(&key))?;
        Ok(key)
    }

    /// Stores a given access key (operator-supplied, e.g. for CI). Replaces one with the same id.
    pub fn import_access_key(&self, id: &str, secret: &str) -> Result<AccessKey> {
        let ok =
            |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        if !ok(id) || !ok(secret) {
            return Err(ControlError::invalid(
                "access key id and secret must be 1 to 128 printable ASCII characters without spaces",
            ));
        }
        let key = AccessKey {
            id: id.into(),
            secret: secret.into(),
            create_time_ms: self.now(),
        };
        write_with(&*self.store, |tx| tx.put_access_key(&key))?;
        Ok(key)
    }

    /// The access key `id`, for signature verification.
    pub fn access_key(&self, id: &str) -> Result<Option<AccessKey>> {
        read_with(&*self.store, |tx| tx.access_key(id))
    }

    /// First start: creates an access key when the store has none and returns it (print it once);
    /// `None` when keys exist already.
    pub fn bootstrap_access_key(&self) -> Result<Option<AccessKey>> {
        let fresh = self.with_rng(|rng| AccessKey {
            id: format!("LTAI{}", random_alnum(rng, 20)),
            secret: random_alnum(rng, 30),
            create_time_ms: 0,
        })?;
        let fresh = AccessKey {
            create_time_ms: self.now(),
            ..fresh
        };
        write_with(&*self.store, |tx| {
            if tx.access_keys()?.is_empty() {
                tx.put_access_key(&fresh)?;
                Ok(Some(fresh.clone()))
            } else {
                Ok(None)
            }
        })
    }

    // -----------------------------------------------------------------------------------------
    // Pending operations (api-reference §5.2)

    fn delay_ms(&self) -> u64 {
        match self.config.completion {
            Completion::AfterDelay(d) => d.as_millis() as u64,
            Completion::External => 0,
        }
    }

    /// Completes every pending operation older than the configured delay (no-op in
    /// [`Completion::External`] mode). Returns the completed operations.
    pub fn complete_due_operations(&self) -> Result<Vec<PendingOperation>> {
        if self.config.completion == Completion::External {
            return Ok(vec![]);
        }
        let now = self.now();
        write_with(&*self.store, |tx| {
            let mut done = Vec::new();
            for op in tx.pendings()? {
                if op.due_ms <= now {
                    finish_operation(tx, &op, now)?;
                    done.push(op);
                }
            }
            Ok(done)
        })
    }

    /// Completes the pending operation of `gateway` now (the engine calls this once it has applied
    /// the change). Returns it, or `None` when nothing was pending.
    pub fn complete_operation(&self, gateway: &VpnGatewayId) -> Result<Option<PendingOperation>> {
        let now = self.now();
        write_with(&*self.store, |tx| {
            let Some(op) = tx.pending(gateway)? else {
                return Ok(None);
            };
            finish_operation(tx, &op, now)?;
            Ok(Some(op))
        })
    }

    /// Every pending operation, oldest first.
    pub fn pending_operations(&self) -> Result<Vec<PendingOperation>> {
        read_with(&*self.store, |tx| tx.pendings())
    }

    /// Forgets `ClientToken`s older than the configured TTL.
    pub fn expire_client_tokens(&self) -> Result<()> {
        let before = self
            .now()
            .saturating_sub(self.config.client_token_ttl.as_millis() as u64);
        write_with(&*self.store, |tx| tx.expire_client_tokens(before))
    }

    // -----------------------------------------------------------------------------------------
    // Observed state (written by the engine)

    /// Updates a tunnel's observed state with `f` (creating the initial record if missing) and
    /// stamps it. Returns the new record.
    pub fn update_tunnel_observed(
        &self,
        tunnel: &TunnelId,
        mut f: impl FnMut(&mut TunnelObserved),
    ) -> Result<TunnelObserved> {
        let now = self.now();
        write_with(&*self.store, |tx| {
            let conn = tx
                .connection_by_tunnel(tunnel)?
                .ok_or_else(|| ControlError::not_found(ResourceKind::Tunnel, tunnel.as_str()))?;
            let mut o = tx
                .tunnel_observed(tunnel)?
                .unwrap_or_else(|| TunnelObserved::initial(tunnel.clone(), conn.id.clone(), now));
            f(&mut o);
            o.updated_ms = now;
            tx.put_tunnel_observed(&o)?;
            Ok(o)
        })
    }

    /// Records the data plane's counters (engine, every few seconds; issue 5), stamped now.
    pub fn set_data_plane_counters(&self, mut counters: DataPlaneObserved) {
        counters.updated_ms = self.now();
        // A poisoned lock only means a writer panicked mid-assignment of a plain value.
        let mut g = self.data_plane.lock().unwrap_or_else(|e| e.into_inner());
        *g = Some(counters);
    }

    /// The data plane's counters as last written by the engine; `None` before its first write
    /// or without an engine.
    pub fn data_plane_counters(&self) -> Option<DataPlaneObserved> {
        *self.data_plane.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records which tunnel carries the connection's traffic (R-HA-3), or none, and logs the
    /// switch when it changes.
    pub fn set_carrying_tunnel(
        &self,
        connection: &VpnConnectionId,
        carrier: Option<TunnelIndex>,
    ) -> Result<()> {
        let now = self.now();
        write_with(&*self.store, |tx| {
            let conn = load_connection(tx, connection)?;
            for t in &conn.tunnels {
                let mut o = tx
                    .tunnel_observed(&t.id)?
                    .unwrap_or_else(|| TunnelObserved::initial(t.id.clone(), conn.id.clone(), now));
                let carries = Some(t.index) == carrier;
                if carries && !o.carries_traffic {
                    tx.append_event(&event(
                        &conn.id,
                        Some(&t.id),
                        now,
                        &format!(
                            "traffic switched to tunnel {} ({})",
                            t.index.number(),
                            t.role()
                        ),
                    ))?;
                }
                o.carries_traffic = carries;
                o.updated_ms = now;
                tx.put_tunnel_observed(&o)?;
            }
            Ok(())
        })
    }

    /// Counts one switch of the connection's outbound traffic (issue 6): failover or failback,
    /// its outage added to the total, kept as the last switch. The counts live in the store and
    /// keep growing across restarts of the engine.
    pub fn record_switch(
        &self,
        connection: &VpnConnectionId,
        switch: SwitchRecord,
    ) -> Result<ConnectionFailoverObserved> {
        let now = self.now();
        write_with(&*self.store, |tx| {
            let conn = load_connection(tx, connection)?;
            let mut o = tx
                .connection_failover(&conn.id)?
                .unwrap_or_else(|| ConnectionFailoverObserved::initial(conn.id.clone()));
            o.record(switch.clone());
            o.updated_ms = now;
            tx.put_connection_failover(&o)?;
            Ok(o)
        })
    }

    /// Records the connection's redundancy as the failover machine judges it now (R-HA-4,
    /// R-HA-5).
    pub fn set_connection_redundancy(
        &self,
        connection: &VpnConnectionId,
        redundancy: ConnectionRedundancy,
    ) -> Result<()> {
        let now = self.now();
        write_with(&*self.store, |tx| {
            let conn = load_connection(tx, connection)?;
            let mut o = tx
                .connection_failover(&conn.id)?
                .unwrap_or_else(|| ConnectionFailoverObserved::initial(conn.id.clone()));
            o.redundancy = Some(redundancy);
            o.updated_ms = now;
            tx.put_connection_failover(&o)
        })
    }

    /// Deletes log events older than `keep` (call from the same tick as
    /// [`Control::expire_client_tokens`]).
    pub fn prune_events(&self, keep: Duration) -> Result<()> {
        let before = self.now().saturating_sub(keep.as_millis() as u64);
        write_with(&*self.store, |tx| tx.delete_events_before(before))
    }

    /// Everything the engine reconciles, read in one consistent snapshot.
    pub fn desired_state(&self) -> Result<DesiredState> {
        read_with(&*self.store, |tx| {
            let gateways = tx.gateways()?;
            let mut routes = Vec::new();
            let mut pbr_routes = Vec::new();
            for g in &gateways {
                routes.extend(tx.routes(&g.id)?);
                pbr_routes.extend(tx.pbr_routes(&g.id)?);
            }
            Ok(DesiredState {
                customer_gateways: tx.customer_gateways()?,
                connections: tx.connections(None)?,
                pending: tx.pendings()?,
                gateways,
                routes,
                pbr_routes,
            })
        })
    }

    /// Appends a line to a connection's log.
    pub fn record_event(
        &self,
        connection: &VpnConnectionId,
        tunnel: Option<&TunnelId>,
        message: &str,
    ) -> Result<u64> {
        let now = self.now();
        write_with(&*self.store, |tx| {
            tx.append_event(&event(connection, tunnel, now, message))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// helpers

fn event(
    connection: &VpnConnectionId,
    tunnel: Option<&TunnelId>,
    now: u64,
    message: &str,
) -> ConnectionEvent {
    ConnectionEvent {
        seq: 0,
        connection_id: connection.clone(),
        tunnel_id: tunnel.cloned(),
        time_ms: now,
        message: message.to_owned(),
    }
}

fn load_gateway(tx: &mut dyn Tx, id: &VpnGatewayId) -> Result<VpnGateway> {
    let mut g = tx
        .gateway(id)?
        .ok_or_else(|| ControlError::not_found(ResourceKind::VpnGateway, id.as_str()))?;
    if tx.pending(id)?.is_some() {
        g.status = GatewayStatus::Updating;
    }
    Ok(g)
}

fn load_cgw(tx: &mut dyn Tx, id: &CustomerGatewayId) -> Result<CustomerGateway> {
    tx.customer_gateway(id)?
        .ok_or_else(|| ControlError::not_found(ResourceKind::CustomerGateway, id.as_str()))
}

fn load_connection(tx: &mut dyn Tx, id: &VpnConnectionId) -> Result<VpnConnection> {
    tx.connection(id)?
        .ok_or_else(|| ControlError::not_found(ResourceKind::VpnConnection, id.as_str()))
}

fn load_cgws_of(
    tx: &mut dyn Tx,
    conn: &VpnConnection,
) -> Result<BTreeMap<CustomerGatewayId, CustomerGateway>> {
    let mut m = BTreeMap::new();
    for t in &conn.tunnels {
        if !m.contains_key(&t.customer_gateway_id) {
            let c = load_cgw(tx, &t.customer_gateway_id)?;
            m.insert(c.id.clone(), c);
        }
    }
    Ok(m)
}

/// Marks the gateway busy with `kind`, or refuses with `VpnGateway.Configuring` when it is busy
/// already (api-reference §5.2, §8 item 9).
fn begin_operation(
    tx: &mut dyn Tx,
    gateway: &VpnGateway,
    connection: &VpnConnectionId,
    kind: OperationKind,
    now: u64,
    delay_ms: u64,
) -> Result<()> {
    if tx.pending(&gateway.id)?.is_some() || gateway.status != GatewayStatus::Active {
        return Err(ControlError::GatewayConfiguring {
            gateway_id: gateway.id.to_string(),
        });
    }
    let mut g = gateway.clone();
    g.status = GatewayStatus::Updating;
    tx.put_gateway(&g)?;
    tx.put_pending(&PendingOperation {
        gateway_id: gateway.id.clone(),
        connection_id: connection.clone(),
        kind,
        accepted_ms: now,
        due_ms: now.saturating_add(delay_ms),
    })
}

fn finish_operation(tx: &mut dyn Tx, op: &PendingOperation, now: u64) -> Result<()> {
    if let Some(mut c) = tx.connection(&op.connection_id)? {
        c.state = ConnectionState::Active;
        for t in c.tunnels.iter_mut() {
            t.state = TunnelState::Active;
        }
        tx.put_connection(&c)?;
        tx.append_event(&event(&c.id, None, now, "configuration applied"))?;
    }
    if let Some(mut g) = tx.gateway(&op.gateway_id)? {
        g.status = GatewayStatus::Active;
        tx.put_gateway(&g)?;
    }
    tx.delete_pending(&op.gateway_id)
}

fn gateway_view(tx: &mut dyn Tx, mut g: VpnGateway) -> Result<VpnGatewayView> {
    let pending = tx.pending(&g.id)?;
    if pending.is_some() {
        g.status = GatewayStatus::Updating;
    }
    let conns = tx.connections(Some(&g.id))?;
    Ok(VpnGatewayView {
        redundancy: g.redundancy(),
        pending,
        connection_count: conns.len() as u64,
        bgp_in_use: conns.iter().any(|c| c.enable_tunnels_bgp),
        data_plane: None,
        gateway: g,
    })
}

fn connection_view(tx: &mut dyn Tx, conn: VpnConnection) -> Result<VpnConnectionView> {
    let gateway = tx
        .gateway(&conn.gateway_id)?
        .ok_or_else(|| ControlError::internal(format!("connection {} has no gateway", conn.id)))?;
    let cgws = load_cgws_of(tx, &conn).map_err(|e| match e {
        ControlError::NotFound { id, .. } => ControlError::internal(format!(
            "connection {} names missing customer gateway {id}",
            conn.id
        )),
        other => other,
    })?;
    let mut views = Vec::with_capacity(2);
    for t in &conn.tunnels {
        let cgw = cgws
            .get(&t.customer_gateway_id)
            .ok_or_else(|| ControlError::internal("customer gateway vanished"))?;
        let observed = tx
            .tunnel_observed(&t.id)?
            .unwrap_or_else(|| TunnelObserved::initial(t.id.clone(), conn.id.clone(), 0));
        let addr = gateway.address(t.index);
        views.push(TunnelView {
            role: t.role(),
            internet_ip: addr.ip,
            zone: addr.zone.clone(),
            customer_gateway_ip: cgw.ip_address,
            peer_asn: cgw.asn.map(Asn::get),
            local_id: t.effective_local_id(&gateway),
            remote_id: t.effective_remote_id(cgw),
            peer_bgp_ip: t.bgp.as_ref().map(|b| b.peer_bgp_ip()),
            observed,
            tunnel: t.clone(),
        });
    }
    let [a, b]: [TunnelView; 2] = views
        .try_into()
        .map_err(|_| ControlError::internal("two tunnels expected"))?;
    let status = if b.observed.carries_traffic && !a.observed.carries_traffic {
        b.observed.status
    } else {
        a.observed.status
    };
    let failover = failover_view(tx, &conn, &gateway, [&a, &b])?;
    let mut notes = rules::notes(&conn, &gateway, &cgws);
    // R-HA-5: one tunnel in use means no master/backup redundancy; say so.
    let up = |t: &TunnelView| t.observed.status == NegotiationStatus::IpsecSaEstablished;
    for (only, other) in [(&a, &b), (&b, &a)] {
        if up(only) && !up(other) {
            notes.push(format!(
                "Only tunnel {} is up: there is no master/backup redundancy and no zone failover until tunnel {} negotiates too; configure both tunnels on the peer (R-HA-5).",
                only.tunnel.index.number(),
                other.tunnel.index.number()
            ));
        }
    }
    Ok(VpnConnectionView {
        routing_mode: conn.routing_mode(),
        status,
        tunnels: [a, b],
        notes,
        failover,
        connection: conn,
    })
}

/// The connection's failover block (issue 6): what the engine recorded, and until it judged the
/// redundancy, a judgement from the tunnels' negotiation status and the gateway's zones.
fn failover_view(
    tx: &mut dyn Tx,
    conn: &VpnConnection,
    gateway: &VpnGateway,
    tunnels: [&TunnelView; 2],
) -> Result<FailoverView> {
    let observed = tx
        .connection_failover(&conn.id)?
        .unwrap_or_else(|| ConnectionFailoverObserved::initial(conn.id.clone()));
    let up = |t: &TunnelView| t.observed.status == NegotiationStatus::IpsecSaEstablished;
    let redundancy = observed
        .redundancy
        .unwrap_or(match (up(tunnels[0]), up(tunnels[1])) {
            (true, true) => match gateway.redundancy() {
                Redundancy::ZoneAndLink => ConnectionRedundancy::DualZone,
                Redundancy::LinkOnly => ConnectionRedundancy::LinkRedundancyOnly,
            },
            (true, false) => ConnectionRedundancy::OnlyOneTunnel(TunnelIndex::One),
            (false, true) => ConnectionRedundancy::OnlyOneTunnel(TunnelIndex::Two),
            (false, false) => ConnectionRedundancy::NoTunnelUp,
        });
    let carrying = tunnels
        .iter()
        .find(|t| t.observed.carries_traffic)
        .map(|t| t.tunnel.index);
    Ok(FailoverView {
        redundancy,
        carrying,
        observed,
    })
}

fn tags_match(have: &[Tag], want: &[Tag]) -> bool {
    want.iter().all(|w| have.contains(w))
}

/// Validates paging (`PageNumber` ≥ 1, `PageSize` 1..=50, default 10) and cuts the page.
pub fn paginate<T>(items: Vec<T>, page: PageRequest) -> Result<Page<T>> {
    let number = page.page_number.unwrap_or(1);
    let size = page.page_size.unwrap_or(10);
    if number < 1 {
        return Err(ControlError::illegal(
            "PageNumber",
            format!("The specified \"PageNumber\" ({number}) is invalid. Allowed: 1 or more."),
        ));
    }
    if !(1..=50).contains(&size) {
        return Err(ControlError::illegal(
            "PageSize",
            format!("The specified \"PageSize\" ({size}) is out of range. Allowed: 1 to 50."),
        ));
    }
    let total = items.len() as u64;
    let start = (number as u64 - 1).saturating_mul(size as u64);
    let items = items
        .into_iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(size as usize)
        .collect();
    Ok(Page {
        items,
        total_count: total,
        page_number: number as u64,
        page_size: size as u64,
    })
}
