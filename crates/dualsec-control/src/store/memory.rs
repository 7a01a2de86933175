//! An in-memory [`Store`]: copy-on-write transactions over ordered maps.
//!
//! Nothing survives a drop. It exists to keep the [`Tx`] contract honest (the conformance tests
//! run against it and against [`super::SqliteStore`], as a future etcd store will) and as a fast
//! double for other crates' tests. A write clones the state, runs the closure on the clone and
//! swaps it in only on success: atomic, and the same shape as an STM commit.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use super::{Store, Tx};
use crate::error::{ControlError, Result};
use crate::ids::{CustomerGatewayId, RouteEntryId, TunnelId, VpnConnectionId, VpnGatewayId};
use crate::model::{
    AccessKey, ClientTokenRecord, ConnectionEvent, ConnectionFailoverObserved, CustomerGateway,
    PendingOperation, PoolAddress, TunnelObserved, VpnConnection, VpnGateway, VpnPbrRouteEntry,
    VpnRouteEntry,
};

/// In-memory [`Store`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Clone, Default)]
struct State {
    gateways: BTreeMap<VpnGatewayId, VpnGateway>,
    customer_gateways: BTreeMap<CustomerGatewayId, CustomerGateway>,
    connections: BTreeMap<VpnConnectionId, VpnConnection>,
    routes: BTreeMap<RouteEntryId, VpnRouteEntry>,
    pbr_routes: BTreeMap<RouteEntryId, VpnPbrRouteEntry>,
    pool: BTreeMap<Ipv4Addr, PoolAddress>,
    pending: BTreeMap<VpnGatewayId, PendingOperation>,
    client_tokens: BTreeMap<(String, String), ClientTokenRecord>,
    access_keys: BTreeMap<String, AccessKey>,
    observed: BTreeMap<TunnelId, TunnelObserved>,
    failover: BTreeMap<VpnConnectionId, ConnectionFailoverObserved>,
    events: Vec<ConnectionEvent>,
    next_seq: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| ControlError::internal("memory store mutex poisoned by a panic"))
    }
}

impl Store for MemoryStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut guard = self.lock()?;
        let mut draft = guard.clone();
        f(&mut draft)?;
        *guard = draft;
        Ok(())
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut snapshot = self.lock()?.clone();
        f(&mut snapshot)
    }
}

/// Sorted by creation time then id, like the SQLite store.
fn ordered<K, V: Clone>(m: &BTreeMap<K, V>, key: impl Fn(&V) -> (u64, String)) -> Vec<V> {
    let mut v: Vec<V> = m.values().cloned().collect();
    v.sort_by_key(|x| key(x));
    v
}

impl Tx for State {
    fn gateway(&mut self, id: &VpnGatewayId) -> Result<Option<VpnGateway>> {
        Ok(self.gateways.get(id).cloned())
    }
    fn gateways(&mut self) -> Result<Vec<VpnGateway>> {
        Ok(ordered(&self.gateways, |g| {
            (g.create_time_ms, g.id.to_string())
        }))
    }
    fn put_gateway(&mut self, g: &VpnGateway) -> Result<()> {
        self.gateways.insert(g.id.clone(), g.clone());
        Ok(())
    }
    fn delete_gateway(&mut self, id: &VpnGatewayId) -> Result<()> {
        self.gateways.remove(id);
        Ok(())
    }

    fn customer_gateway(&mut self, id: &CustomerGatewayId) -> Result<Option<CustomerGateway>> {
        Ok(self.customer_gateways.get(id).cloned())
    }
    fn customer_gateways(&mut self) -> Result<Vec<CustomerGateway>> {
        Ok(ordered(&self.customer_gateways, |c| {
            (c.create_time_ms, c.id.to_string())
        }))
    }
    fn put_customer_gateway(&mut self, c: &CustomerGateway) -> Result<()> {
        self.customer_gateways.insert(c.id.clone(), c.clone());
        Ok(())
    }
    fn delete_customer_gateway(&mut self, id: &CustomerGatewayId) -> Result<()> {
        self.customer_gateways.remove(id);
        Ok(())
    }

    fn connection(&mut self, id: &VpnConnectionId) -> Result<Option<VpnConnection>> {
        Ok(self.connections.get(id).cloned())
    }
    fn connections(&mut self, gateway: Option<&VpnGatewayId>) -> Result<Vec<VpnConnection>> {
        let mut v = ordered(&self.connections, |c| (c.create_time_ms, c.id.to_string()));
        if let Some(g) = gateway {
            v.retain(|c| &c.gateway_id == g);
        }
        Ok(v)
    }
    fn connection_by_tunnel(&mut self, id: &TunnelId) -> Result<Option<VpnConnection>> {
        Ok(self
            .connections
            .values()
            .find(|c| c.tunnel_by_id(id).is_some())
            .cloned())
    }
    fn put_connection(&mut self, c: &VpnConnection) -> Result<()> {
        self.connections.insert(c.id.clone(), c.clone());
        Ok(())
    }
    fn delete_connection(&mut self, id: &VpnConnectionId) -> Result<()> {
        self.connections.remove(id);
        Ok(())
    }

    fn routes(&mut self, gateway: &VpnGatewayId) -> Result<Vec<VpnRouteEntry>> {
        let mut v = ordered(&self.routes, |r| (r.create_time_ms, r.id.to_string()));
        v.retain(|r| &r.gateway_id == gateway);
        Ok(v)
    }
    fn put_route(&mut self, r: &VpnRouteEntry) -> Result<()> {
        self.routes.insert(r.id.clone(), r.clone());
        Ok(())
    }
    fn delete_route(&mut self, id: &RouteEntryId) -> Result<()> {
        self.routes.remove(id);
        Ok(())
    }

    fn pbr_routes(&mut self, gateway: &VpnGatewayId) -> Result<Vec<VpnPbrRouteEntry>> {
        let mut v = ordered(&self.pbr_routes, |r| (r.create_time_ms, r.id.to_string()));
        v.retain(|r| &r.gateway_id == gateway);
        Ok(v)
    }
    fn put_pbr_route(&mut self, r: &VpnPbrRouteEntry) -> Result<()> {
        self.pbr_routes.insert(r.id.clone(), r.clone());
        Ok(())
    }
    fn delete_pbr_route(&mut self, id: &RouteEntryId) -> Result<()> {
        self.pbr_routes.remove(id);
        Ok(())
    }

    fn pool(&mut self) -> Result<Vec<PoolAddress>> {
        let mut v: Vec<PoolAddress> = self.pool.values().cloned().collect();
        v.sort_by(|a, b| (&a.zone, a.ip).cmp(&(&b.zone, b.ip)));
        Ok(v)
    }
    fn put_pool_address(&mut self, a: &PoolAddress) -> Result<()> {
        self.pool.insert(a.ip, a.clone());
        Ok(())
    }
    fn delete_pool_address(&mut self, ip: Ipv4Addr) -> Result<()> {
        self.pool.remove(&ip);
        Ok(())
    }

    fn pending(&mut self, gateway: &VpnGatewayId) -> Result<Option<PendingOperation>> {
        Ok(self.pending.get(gateway).cloned())
    }
    fn pendings(&mut self) -> Result<Vec<PendingOperation>> {
        Ok(ordered(&self.pending, |p| {
            (p.accepted_ms, p.gateway_id.to_string())
        }))
    }
    fn put_pending(&mut self, op: &PendingOperation) -> Result<()> {
        self.pending.insert(op.gateway_id.clone(), op.clone());
        Ok(())
    }
    fn delete_pending(&mut self, gateway: &VpnGatewayId) -> Result<()> {
        self.pending.remove(gateway);
        Ok(())
    }

    fn client_token(&mut self, action: &str, token: &str) -> Result<Option<ClientTokenRecord>> {
        Ok(self
            .client_tokens
            .get(&(action.to_owned(), token.to_owned()))
            .cloned())
    }
    fn put_client_token(&mut self, r: &ClientTokenRecord) -> Result<()> {
        self.client_tokens
            .insert((r.action.clone(), r.token.clone()), r.clone());
        Ok(())
    }
    fn expire_client_tokens(&mut self, before_ms: u64) -> Result<()> {
        self.client_tokens
            .retain(|_, r| r.create_time_ms >= before_ms);
        Ok(())
    }

    fn access_key(&mut self, id: &str) -> Result<Option<AccessKey>> {
        Ok(self.access_keys.get(id).cloned())
    }
    fn access_keys(&mut self) -> Result<Vec<AccessKey>> {
        Ok(ordered(&self.access_keys, |k| {
            (k.create_time_ms, k.id.clone())
        }))
    }
    fn put_access_key(&mut self, k: &AccessKey) -> Result<()> {
        self.access_keys.insert(k.id.clone(), k.clone());
        Ok(())
    }

    fn tunnel_observed(&mut self, id: &TunnelId) -> Result<Option<TunnelObserved>> {
        Ok(self.observed.get(id).cloned())
    }
    fn put_tunnel_observed(&mut self, o: &TunnelObserved) -> Result<()> {
        self.observed.insert(o.tunnel_id.clone(), o.clone());
        Ok(())
    }
    fn delete_tunnel_observed(&mut self, id: &TunnelId) -> Result<()> {
        self.observed.remove(id);
        Ok(())
    }

    fn connection_failover(
        &mut self,
        id: &VpnConnectionId,
    ) -> Result<Option<ConnectionFailoverObserved>> {
        Ok(self.failover.get(id).cloned())
    }
    fn put_connection_failover(&mut self, o: &ConnectionFailoverObserved) -> Result<()> {
        self.failover.insert(o.connection_id.clone(), o.clone());
        Ok(())
    }
    fn delete_connection_failover(&mut self, id: &VpnConnectionId) -> Result<()> {
        self.failover.remove(id);
        Ok(())
    }

    fn append_event(&mut self, e: &ConnectionEvent) -> Result<u64> {
        self.next_seq += 1;
        let mut e = e.clone();
        e.seq = self.next_seq;
        self.events.push(e);
        Ok(self.next_seq)
    }
    fn events(
        &mut self,
        connection: &VpnConnectionId,
        tunnel: Option<&TunnelId>,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<ConnectionEvent>> {
        let mut v: Vec<ConnectionEvent> = self
            .events
            .iter()
            .filter(|e| {
                &e.connection_id == connection
                    && (from_ms..=to_ms).contains(&e.time_ms)
                    && tunnel.is_none_or(|t| e.tunnel_id.as_ref() == Some(t))
            })
            .cloned()
            .collect();
        v.sort_by_key(|e| (e.time_ms, e.seq));
        Ok(v)
    }
    fn delete_events(&mut self, connection: &VpnConnectionId) -> Result<()> {
        self.events.retain(|e| &e.connection_id != connection);
        Ok(())
    }
    fn delete_events_before(&mut self, before_ms: u64) -> Result<()> {
        self.events.retain(|e| e.time_ms >= before_ms);
        Ok(())
    }
}
