//! The embedded SQLite implementation of [`Store`].
//!
//! Durability: WAL journal, `synchronous=FULL` (every commit fsyncs the WAL before returning), so
//! once a write call returns `Ok` the change survives SIGKILL or power loss. Concurrency: one
//! connection behind a mutex per `SqliteStore`; writes use `BEGIN IMMEDIATE` so two processes on
//! the same file serialize, waiting up to [`BUSY_TIMEOUT`] before failing with
//! [`ControlError::StoreBusy`]. Schema: [`MIGRATIONS`], applied in order at open and recorded in
//! `PRAGMA user_version`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, Tx};
use crate::error::{ControlError, Result};
use crate::ids::{CustomerGatewayId, RouteEntryId, TunnelId, VpnConnectionId, VpnGatewayId};
use crate::model::{
    AccessKey, ClientTokenRecord, ConnectionEvent, ConnectionFailoverObserved, CustomerGateway,
    PendingOperation, PoolAddress, TunnelObserved, VpnConnection, VpnGateway, VpnPbrRouteEntry,
    VpnRouteEntry,
};

/// How long a writer waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations; entry `i` upgrades the schema from version `i` to `i + 1`. Append only:
/// never edit a released entry.
pub const MIGRATIONS: &[&str] = &[
    // 1: the tables. Each record is a JSON document keyed by id, plus the columns lookups need.
    "CREATE TABLE gateways (id TEXT PRIMARY KEY, create_ms INTEGER NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE customer_gateways (id TEXT PRIMARY KEY, create_ms INTEGER NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE connections (id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, create_ms INTEGER NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE tunnels (id TEXT PRIMARY KEY, connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE);
     CREATE TABLE routes (id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, create_ms INTEGER NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE pbr_routes (id TEXT PRIMARY KEY, gateway_id TEXT NOT NULL, create_ms INTEGER NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE pool (ip TEXT PRIMARY KEY, zone TEXT NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE pending (gateway_id TEXT PRIMARY KEY, accepted_ms INTEGER NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE client_tokens (action TEXT NOT NULL, token TEXT NOT NULL, create_ms INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (action, token));
     CREATE TABLE access_keys (id TEXT PRIMARY KEY, create_ms INTEGER NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE tunnel_observed (tunnel_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, connection_id TEXT NOT NULL, tunnel_id TEXT, time_ms INTEGER NOT NULL, doc TEXT NOT NULL);",
    // 2: indexes for the per-gateway and per-connection lookups.
    "CREATE INDEX connections_by_gateway ON connections (gateway_id, create_ms);
     CREATE INDEX tunnels_by_connection ON tunnels (connection_id);
     CREATE INDEX routes_by_gateway ON routes (gateway_id, create_ms);
     CREATE INDEX pbr_routes_by_gateway ON pbr_routes (gateway_id, create_ms);
     CREATE INDEX events_by_connection ON events (connection_id, time_ms);
     CREATE INDEX client_tokens_by_time ON client_tokens (create_ms);",
    // 3: failover state per connection (issue 6: switch counts, outage, redundancy).
    "CREATE TABLE connection_failover (connection_id TEXT PRIMARY KEY, doc TEXT NOT NULL);",
];

/// SQLite-backed [`Store`].
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if needed, mode 0600 since it holds PSKs and access-key secrets) the
    /// database at `path` and applies pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        create_private_file(path)?;
        let conn = Connection::open(path)?;
        let store = Self::init(conn, Some(path.to_path_buf()))?;
        Ok(store)
    }

    /// An in-memory database (tests, `--ephemeral`): same schema, nothing survives drop.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?, None)
    }

    /// The file path, if on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Changes how long a writer waits for another process's lock before failing with
    /// [`ControlError::StoreBusy`] (default [`BUSY_TIMEOUT`]).
    pub fn set_busy_timeout(&self, d: Duration) -> Result<()> {
        self.lock()?.busy_timeout(d)?;
        Ok(())
    }

    /// The schema version now in the file.
    pub fn schema_version(&self) -> Result<u32> {
        let conn = self.lock()?;
        schema_version(&conn)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if path.is_some() {
            let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(ControlError::internal(format!(
                    "sqlite refused WAL journal mode (got {mode})"
                )));
            }
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path,
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| ControlError::internal("store mutex poisoned by a panic"))
    }
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(ControlError::internal(format!(
            "cannot create store {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> Result<()> {
    Ok(())
}

fn schema_version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))?)
}

/// Applies every migration above the file's version, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let current = schema_version(conn)? as usize;
    if current > MIGRATIONS.len() {
        return Err(ControlError::internal(format!(
            "the store's schema version {current} is newer than this dualsec supports ({}); upgrade dualsec",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
        tracing::info!(version = i + 1, "store schema migrated");
    }
    Ok(())
}

impl Store for SqliteStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        f(&mut SqlTx { c: &tx })?;
        tx.commit()?;
        Ok(())
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let r = f(&mut SqlTx { c: &tx });
        tx.rollback()?;
        r
    }
}

struct SqlTx<'a> {
    c: &'a Connection,
}

fn to_doc<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| ControlError::internal(format!("encode record: {e}")))
}

fn from_doc<T: DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_str(s)?)
}

impl SqlTx<'_> {
    fn one<T: DeserializeOwned>(
        &self,
        sql: &str,
        key: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<T>> {
        let doc: Option<String> = self
            .c
            .prepare_cached(sql)?
            .query_row(key, |r| r.get(0))
            .optional()?;
        doc.map(|d| from_doc(&d)).transpose()
    }

    fn many<T: DeserializeOwned>(&self, sql: &str, key: &[&dyn rusqlite::ToSql]) -> Result<Vec<T>> {
        let mut stmt = self.c.prepare_cached(sql)?;
        let docs = stmt
            .query_map(key, |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    fn exec(&self, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<()> {
        self.c.prepare_cached(sql)?.execute(p)?;
        Ok(())
    }
}

/// Epoch milliseconds fit an SQLite INTEGER (i64) until the year 292 million.
fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Tx for SqlTx<'_> {
    fn gateway(&mut self, id: &VpnGatewayId) -> Result<Option<VpnGateway>> {
        self.one("SELECT doc FROM gateways WHERE id = ?1", &[&id.as_str()])
    }
    fn gateways(&mut self) -> Result<Vec<VpnGateway>> {
        self.many("SELECT doc FROM gateways ORDER BY create_ms, id", &[])
    }
    fn put_gateway(&mut self, g: &VpnGateway) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO gateways (id, create_ms, doc) VALUES (?1, ?2, ?3)",
            params![g.id.as_str(), ms(g.create_time_ms), to_doc(g)?],
        )
    }
    fn delete_gateway(&mut self, id: &VpnGatewayId) -> Result<()> {
        self.exec("DELETE FROM gateways WHERE id = ?1", &[&id.as_str()])
    }

    fn customer_gateway(&mut self, id: &CustomerGatewayId) -> Result<Option<CustomerGateway>> {
        self.one(
            "SELECT doc FROM customer_gateways WHERE id = ?1",
            &[&id.as_str()],
        )
    }
    fn customer_gateways(&mut self) -> Result<Vec<CustomerGateway>> {
        self.many(
            "SELECT doc FROM customer_gateways ORDER BY create_ms, id",
            &[],
        )
    }
    fn put_customer_gateway(&mut self, c: &CustomerGateway) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO customer_gateways (id, create_ms, doc) VALUES (?1, ?2, ?3)",
            params![c.id.as_str(), ms(c.create_time_ms), to_doc(c)?],
        )
    }
    fn delete_customer_gateway(&mut self, id: &CustomerGatewayId) -> Result<()> {
        self.exec(
            "DELETE FROM customer_gateways WHERE id = ?1",
            &[&id.as_str()],
        )
    }

    fn connection(&mut self, id: &VpnConnectionId) -> Result<Option<VpnConnection>> {
        self.one("SELECT doc FROM connections WHERE id = ?1", &[&id.as_str()])
    }
    fn connections(&mut self, gateway: Option<&VpnGatewayId>) -> Result<Vec<VpnConnection>> {
        match gateway {
            Some(g) => self.many(
                "SELECT doc FROM connections WHERE gateway_id = ?1 ORDER BY create_ms, id",
                &[&g.as_str()],
            ),
            None => self.many("SELECT doc FROM connections ORDER BY create_ms, id", &[]),
        }
    }
    fn connection_by_tunnel(&mut self, id: &TunnelId) -> Result<Option<VpnConnection>> {
        self.one(
            "SELECT c.doc FROM tunnels t JOIN connections c ON c.id = t.connection_id WHERE t.id = ?1",
            &[&id.as_str()],
        )
    }
    fn put_connection(&mut self, c: &VpnConnection) -> Result<()> {
        self.exec(
            "INSERT INTO connections (id, gateway_id, create_ms, doc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET gateway_id = excluded.gateway_id, create_ms = excluded.create_ms, doc = excluded.doc",
            params![c.id.as_str(), c.gateway_id.as_str(), ms(c.create_time_ms), to_doc(c)?],
        )?;
        self.exec(
            "DELETE FROM tunnels WHERE connection_id = ?1",
            &[&c.id.as_str()],
        )?;
        for t in &c.tunnels {
            self.exec(
                "INSERT INTO tunnels (id, connection_id) VALUES (?1, ?2)",
                params![t.id.as_str(), c.id.as_str()],
            )?;
        }
        Ok(())
    }
    fn delete_connection(&mut self, id: &VpnConnectionId) -> Result<()> {
        self.exec("DELETE FROM connections WHERE id = ?1", &[&id.as_str()])
    }

    fn routes(&mut self, gateway: &VpnGatewayId) -> Result<Vec<VpnRouteEntry>> {
        self.many(
            "SELECT doc FROM routes WHERE gateway_id = ?1 ORDER BY create_ms, id",
            &[&gateway.as_str()],
        )
    }
    fn put_route(&mut self, r: &VpnRouteEntry) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO routes (id, gateway_id, create_ms, doc) VALUES (?1, ?2, ?3, ?4)",
            params![r.id.as_str(), r.gateway_id.as_str(), ms(r.create_time_ms), to_doc(r)?],
        )
    }
    fn delete_route(&mut self, id: &RouteEntryId) -> Result<()> {
        self.exec("DELETE FROM routes WHERE id = ?1", &[&id.as_str()])
    }

    fn pbr_routes(&mut self, gateway: &VpnGatewayId) -> Result<Vec<VpnPbrRouteEntry>> {
        self.many(
            "SELECT doc FROM pbr_routes WHERE gateway_id = ?1 ORDER BY create_ms, id",
            &[&gateway.as_str()],
        )
    }
    fn put_pbr_route(&mut self, r: &VpnPbrRouteEntry) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO pbr_routes (id, gateway_id, create_ms, doc) VALUES (?1, ?2, ?3, ?4)",
            params![r.id.as_str(), r.gateway_id.as_str(), ms(r.create_time_ms), to_doc(r)?],
        )
    }
    fn delete_pbr_route(&mut self, id: &RouteEntryId) -> Result<()> {
        self.exec("DELETE FROM pbr_routes WHERE id = ?1", &[&id.as_str()])
    }

    fn pool(&mut self) -> Result<Vec<PoolAddress>> {
        let mut v: Vec<PoolAddress> = self.many("SELECT doc FROM pool", &[])?;
        v.sort_by(|a, b| (&a.zone, a.ip).cmp(&(&b.zone, b.ip)));
        Ok(v)
    }
    fn put_pool_address(&mut self, a: &PoolAddress) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO pool (ip, zone, doc) VALUES (?1, ?2, ?3)",
            params![a.ip.to_string(), a.zone.0, to_doc(a)?],
        )
    }
    fn delete_pool_address(&mut self, ip: Ipv4Addr) -> Result<()> {
        self.exec("DELETE FROM pool WHERE ip = ?1", &[&ip.to_string()])
    }

    fn pending(&mut self, gateway: &VpnGatewayId) -> Result<Option<PendingOperation>> {
        self.one(
            "SELECT doc FROM pending WHERE gateway_id = ?1",
            &[&gateway.as_str()],
        )
    }
    fn pendings(&mut self) -> Result<Vec<PendingOperation>> {
        self.many(
            "SELECT doc FROM pending ORDER BY accepted_ms, gateway_id",
            &[],
        )
    }
    fn put_pending(&mut self, op: &PendingOperation) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO pending (gateway_id, accepted_ms, doc) VALUES (?1, ?2, ?3)",
            params![op.gateway_id.as_str(), ms(op.accepted_ms), to_doc(op)?],
        )
    }
    fn delete_pending(&mut self, gateway: &VpnGatewayId) -> Result<()> {
        self.exec(
            "DELETE FROM pending WHERE gateway_id = ?1",
            &[&gateway.as_str()],
        )
    }

    fn client_token(&mut self, action: &str, token: &str) -> Result<Option<ClientTokenRecord>> {
        self.one(
            "SELECT doc FROM client_tokens WHERE action = ?1 AND token = ?2",
            &[&action, &token],
        )
    }
    fn put_client_token(&mut self, r: &ClientTokenRecord) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO client_tokens (action, token, create_ms, doc) VALUES (?1, ?2, ?3, ?4)",
            params![r.action, r.token, ms(r.create_time_ms), to_doc(r)?],
        )
    }
    fn expire_client_tokens(&mut self, before_ms: u64) -> Result<()> {
        self.exec(
            "DELETE FROM client_tokens WHERE create_ms < ?1",
            &[&ms(before_ms)],
        )
    }

    fn access_key(&mut self, id: &str) -> Result<Option<AccessKey>> {
        self.one("SELECT doc FROM access_keys WHERE id = ?1", &[&id])
    }
    fn access_keys(&mut self) -> Result<Vec<AccessKey>> {
        self.many("SELECT doc FROM access_keys ORDER BY create_ms, id", &[])
    }
    fn put_access_key(&mut self, k: &AccessKey) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO access_keys (id, create_ms, doc) VALUES (?1, ?2, ?3)",
            params![k.id, ms(k.create_time_ms), to_doc(k)?],
        )
    }

    fn tunnel_observed(&mut self, id: &TunnelId) -> Result<Option<TunnelObserved>> {
        self.one(
            "SELECT doc FROM tunnel_observed WHERE tunnel_id = ?1",
            &[&id.as_str()],
        )
    }
    fn put_tunnel_observed(&mut self, o: &TunnelObserved) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO tunnel_observed (tunnel_id, doc) VALUES (?1, ?2)",
            params![o.tunnel_id.as_str(), to_doc(o)?],
        )
    }
    fn delete_tunnel_observed(&mut self, id: &TunnelId) -> Result<()> {
        self.exec(
            "DELETE FROM tunnel_observed WHERE tunnel_id = ?1",
            &[&id.as_str()],
        )
    }

    fn connection_failover(
        &mut self,
        id: &VpnConnectionId,
    ) -> Result<Option<ConnectionFailoverObserved>> {
        self.one(
            "SELECT doc FROM connection_failover WHERE connection_id = ?1",
            &[&id.as_str()],
        )
    }
    fn put_connection_failover(&mut self, o: &ConnectionFailoverObserved) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO connection_failover (connection_id, doc) VALUES (?1, ?2)",
            params![o.connection_id.as_str(), to_doc(o)?],
        )
    }
    fn delete_connection_failover(&mut self, id: &VpnConnectionId) -> Result<()> {
        self.exec(
            "DELETE FROM connection_failover WHERE connection_id = ?1",
            &[&id.as_str()],
        )
    }

    fn append_event(&mut self, e: &ConnectionEvent) -> Result<u64> {
        self.exec(
            "INSERT INTO events (connection_id, tunnel_id, time_ms, doc) VALUES (?1, ?2, ?3, ?4)",
            params![
                e.connection_id.as_str(),
                e.tunnel_id.as_ref().map(|t| t.as_str().to_owned()),
                ms(e.time_ms),
                to_doc(e)?
            ],
        )?;
        Ok(u64::try_from(self.c.last_insert_rowid()).unwrap_or(0))
    }
    fn events(
        &mut self,
        connection: &VpnConnectionId,
        tunnel: Option<&TunnelId>,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<ConnectionEvent>> {
        let mut stmt = self.c.prepare_cached(
            "SELECT seq, doc FROM events WHERE connection_id = ?1 AND time_ms >= ?2 AND time_ms <= ?3
             AND (?4 IS NULL OR tunnel_id = ?4) ORDER BY time_ms, seq",
        )?;
        let rows = stmt
            .query_map(
                params![
                    connection.as_str(),
                    ms(from_ms),
                    ms(to_ms),
                    tunnel.map(|t| t.as_str().to_owned())
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(seq, doc)| {
                let mut e: ConnectionEvent = from_doc(&doc)?;
                e.seq = u64::try_from(seq).unwrap_or(0);
                Ok(e)
            })
            .collect()
    }
    fn delete_events(&mut self, connection: &VpnConnectionId) -> Result<()> {
        self.exec(
            "DELETE FROM events WHERE connection_id = ?1",
            &[&connection.as_str()],
        )
    }
    fn delete_events_before(&mut self, before_ms: u64) -> Result<()> {
        self.exec("DELETE FROM events WHERE time_ms < ?1", &[&ms(before_ms)])
    }
}
