//! The store: desired state, observed state, and the control plane's own records, behind a trait.
//!
//! [`Store`] runs a closure as one atomic transaction over a [`Tx`], a typed key-value view of
//! every table. This is the shape both implementations can honour:
//!
//! - [`SqliteStore`] (default, embedded): `BEGIN IMMEDIATE` … `COMMIT` on one connection; WAL
//!   journal with `synchronous=FULL`, so a committed (acknowledged) write survives SIGKILL and power
//!   loss; versioned schema migrations applied at open.
//! - an etcd store (later, for one node per zone): the same closure run as a software transaction
//!   (read set + compare-and-swap commit, re-run on conflict), like etcd's `concurrency.STM`.
//!
//! - [`MemoryStore`]: copy-on-write maps; for tests of other crates and to keep the contract
//!   honest (`tests/store_conformance.rs` runs the same checks against every implementation).
//!
//! Because a transaction may be **re-run**, the closure must not have side effects outside the
//! `Tx` (no randomness drawn inside that must stay stable, no I/O). The service layer draws ids and
//! PSKs before the transaction starts.
//!
//! Records are stored as JSON documents keyed by id (plus index columns for lookups), so the etcd
//! mapping is direct (`/dualsec/vco/<id>` → JSON).

pub mod memory;
pub mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

use crate::error::{ControlError, Result};
use crate::ids::{CustomerGatewayId, RouteEntryId, TunnelId, VpnConnectionId, VpnGatewayId};
use crate::model::{
    AccessKey, ClientTokenRecord, ConnectionEvent, ConnectionFailoverObserved, CustomerGateway,
    PendingOperation, PoolAddress, TunnelObserved, VpnConnection, VpnGateway, VpnPbrRouteEntry,
    VpnRouteEntry,
};

/// One atomic view of the whole store. Lists are ordered by creation time then id (deterministic).
pub trait Tx {
    /// A gateway by id.
    fn gateway(&mut self, id: &VpnGatewayId) -> Result<Option<VpnGateway>>;
    /// Every gateway.
    fn gateways(&mut self) -> Result<Vec<VpnGateway>>;
    /// Inserts or replaces a gateway.
    fn put_gateway(&mut self, g: &VpnGateway) -> Result<()>;
    /// Deletes a gateway (no-op when absent).
    fn delete_gateway(&mut self, id: &VpnGatewayId) -> Result<()>;

    /// A customer gateway by id.
    fn customer_gateway(&mut self, id: &CustomerGatewayId) -> Result<Option<CustomerGateway>>;
    /// Every customer gateway.
    fn customer_gateways(&mut self) -> Result<Vec<CustomerGateway>>;
    /// Inserts or replaces a customer gateway.
    fn put_customer_gateway(&mut self, c: &CustomerGateway) -> Result<()>;
    /// Deletes a customer gateway.
    fn delete_customer_gateway(&mut self, id: &CustomerGatewayId) -> Result<()>;

    /// A connection by id.
    fn connection(&mut self, id: &VpnConnectionId) -> Result<Option<VpnConnection>>;
    /// Connections, all or those bound to `gateway`.
    fn connections(&mut self, gateway: Option<&VpnGatewayId>) -> Result<Vec<VpnConnection>>;
    /// The connection owning tunnel `id`.
    fn connection_by_tunnel(&mut self, id: &TunnelId) -> Result<Option<VpnConnection>>;
    /// Inserts or replaces a connection (with its two tunnels).
    fn put_connection(&mut self, c: &VpnConnection) -> Result<()>;
    /// Deletes a connection.
    fn delete_connection(&mut self, id: &VpnConnectionId) -> Result<()>;

    /// Destination routes of a gateway.
    fn routes(&mut self, gateway: &VpnGatewayId) -> Result<Vec<VpnRouteEntry>>;
    /// Inserts or replaces a destination route.
    fn put_route(&mut self, r: &VpnRouteEntry) -> Result<()>;
    /// Deletes a destination route.
    fn delete_route(&mut self, id: &RouteEntryId) -> Result<()>;

    /// Policy routes of a gateway.
    fn pbr_routes(&mut self, gateway: &VpnGatewayId) -> Result<Vec<VpnPbrRouteEntry>>;
    /// Inserts or replaces a policy route.
    fn put_pbr_route(&mut self, r: &VpnPbrRouteEntry) -> Result<()>;
    /// Deletes a policy route.
    fn delete_pbr_route(&mut self, id: &RouteEntryId) -> Result<()>;

    /// The public-IP pool, ordered by zone then address.
    fn pool(&mut self) -> Result<Vec<PoolAddress>>;
    /// Inserts or replaces a pool address (keyed by IP).
    fn put_pool_address(&mut self, a: &PoolAddress) -> Result<()>;
    /// Removes a pool address.
    fn delete_pool_address(&mut self, ip: std::net::Ipv4Addr) -> Result<()>;

    /// The pending operation of a gateway.
    fn pending(&mut self, gateway: &VpnGatewayId) -> Result<Option<PendingOperation>>;
    /// Every pending operation, oldest first.
    fn pendings(&mut self) -> Result<Vec<PendingOperation>>;
    /// Inserts or replaces the pending operation of its gateway.
    fn put_pending(&mut self, op: &PendingOperation) -> Result<()>;
    /// Removes the pending operation of a gateway.
    fn delete_pending(&mut self, gateway: &VpnGatewayId) -> Result<()>;

    /// A remembered `ClientToken`.
    fn client_token(&mut self, action: &str, token: &str) -> Result<Option<ClientTokenRecord>>;
    /// Remembers a `ClientToken`.
    fn put_client_token(&mut self, r: &ClientTokenRecord) -> Result<()>;
    /// Forgets tokens created before `before_ms` (housekeeping).
    fn expire_client_tokens(&mut self, before_ms: u64) -> Result<()>;

    /// An access key by id.
    fn access_key(&mut self, id: &str) -> Result<Option<AccessKey>>;
    /// Every access key.
    fn access_keys(&mut self) -> Result<Vec<AccessKey>>;
    /// Inserts or replaces an access key.
    fn put_access_key(&mut self, k: &AccessKey) -> Result<()>;

    /// Observed state of a tunnel.
    fn tunnel_observed(&mut self, id: &TunnelId) -> Result<Option<TunnelObserved>>;
    /// Writes observed state of a tunnel (engine).
    fn put_tunnel_observed(&mut self, o: &TunnelObserved) -> Result<()>;
    /// Removes observed state of a tunnel.
    fn delete_tunnel_observed(&mut self, id: &TunnelId) -> Result<()>;

    /// Failover state of a connection (issue 6).
    fn connection_failover(
        &mut self,
        id: &VpnConnectionId,
    ) -> Result<Option<ConnectionFailoverObserved>>;
    /// Writes the failover state of a connection (engine).
    fn put_connection_failover(&mut self, o: &ConnectionFailoverObserved) -> Result<()>;
    /// Removes the failover state of a connection.
    fn delete_connection_failover(&mut self, id: &VpnConnectionId) -> Result<()>;

    /// Appends an event; returns its sequence number.
    fn append_event(&mut self, e: &ConnectionEvent) -> Result<u64>;
    /// Events of a connection (optionally one tunnel) in `[from_ms, to_ms]`, oldest first.
    fn events(
        &mut self,
        connection: &VpnConnectionId,
        tunnel: Option<&TunnelId>,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<ConnectionEvent>>;
    /// Deletes the events of a connection.
    fn delete_events(&mut self, connection: &VpnConnectionId) -> Result<()>;
    /// Deletes every event older than `before_ms` (retention).
    fn delete_events_before(&mut self, before_ms: u64) -> Result<()>;
}

/// A transactional store of desired and observed state.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Runs `f` in a read-write transaction: committed when `f` returns `Ok`, rolled back when it
    /// returns `Err`. May run `f` more than once (see the module doc).
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// Runs `f` against a consistent snapshot; writes made by `f` are discarded.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
}

/// Runs `f` in a write transaction and returns its value.
pub fn write_with<T>(store: &dyn Store, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    store.write(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| ControlError::internal("write transaction produced no value"))
}

/// Runs `f` in a read transaction and returns its value.
pub fn read_with<T>(store: &dyn Store, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    store.read(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| ControlError::internal("read transaction produced no value"))
}
