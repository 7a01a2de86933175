//! The service layer: [`Control`], one method per API action, over a [`Store`].

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
    AccessKey, ClientTokenRecord, ConnectionEvent, CustomerGateway, GatewayAddress, OperationKind,
    PendingOperation, PoolAddress, RouteOrigin, TunnelIndex, TunnelObserved, VpnConnection,
    VpnGateway, VpnPbrRouteEntry, VpnRouteEntry, ZoneId,
};
use crate::requests::*;
use crate::rules::{self, Blame};
use crate::store::{Store, Tx, read_with, write_with};
use crate::values::{
    Asn, ConnectionState, GatewayStatus, NetworkType, PbrPriority, Psk, RouteEntryType, RouteState,
    RouteType, RouteWeight, Tag, TunnelState, validate_description, validate_name, validate_tags,
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
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Ids and secrets drawn before a transaction (a transaction may be re-run, see [`Store`]).
struct Fresh {
    connection: VpnConnectionId,
    tunnels: [TunnelId; 2],
    psks: [Psk; 2],
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
    // VPN gateways

    /// CreateVpnGateway: allocates IP 1 and IP 2 from two zones when the pool has two (R-HA-4),
    /// else both from one zone (link redundancy only).
    pub fn create_vpn_gateway(&self, req: &CreateVpnGatewayRequest) -> Result<VpnGatewayView> {
        if !BANDWIDTHS.contains(&req.bandwidth) {
            return Err(ControlError::illegal(
                "Bandwidth",
                format!(
                    "The specified \"Bandwidth\" ({}) is invalid. Allowed values (Mbit/s): 5, 10, 20, 50, 100, 200, 500, 1000.",
                    req.bandwidth
                ),
            ));
        }
        if req.vpc_id.is_empty() {
            return Err(ControlError::missing("VpcId"));
        }
        if req.vpc_id.len() > 64 || !req.vpc_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ControlError::illegal(
                "VpcId",
                format!(
                    "The specified \"VpcId\" ({:?}) is invalid: at most 64 printable characters, no spaces.",
                    req.vpc_id
                ),
            ));
        }
        if req.enable_ipsec == Some(false) {
            return Err(ControlError::illegal(
                "EnableIpsec",
                "EnableIpsec=false is not supported: dualsec gateways are IPsec-VPN gateways.",
            ));
        }
        if req.enable_ssl == Some(true) {
            return Err(ControlError::illegal(
                "EnableSsl",
                "EnableSsl=true is not supported: dualsec has no SSL-VPN.",
            ));
        }
        let name = req
            .name
            .as_deref()
            .map(|n| validate_name("Name", n, true))
            .transpose()?;
        validate_tags(&req.tags)?;
        let id = self.with_rng(|rng| VpnGatewayId::generate(rng))?;
        let now = self.now();
        self.mutate(
            "CreateVpnGateway",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                let pool = tx.pool()?;
                let addresses = allocate_addresses(&pool)?;
                for a in &addresses {
                    tx.put_pool_address(&PoolAddress {
                        zone: a.zone.clone(),
                        ip: a.ip,
                        allocated_to: Some(id.clone()),
                    })?;
                }
                let g = VpnGateway {
                    id: id.clone(),
                    name: name.clone().unwrap_or_else(|| id.to_string()),
                    description: None,
                    vpc_id: req.vpc_id.clone(),
                    vswitch_id: req.vswitch_id.clone(),
                    disaster_recovery_vswitch_id: req.disaster_recovery_vswitch_id.clone(),
                    bandwidth_mbps: req.bandwidth as u32,
                    network_type: req.network_type.unwrap_or(NetworkType::Public),
                    enable_ipsec: true,
                    auto_propagate: true,
                    status: GatewayStatus::Active,
                    addresses,
                    resource_group_id: req.resource_group_id.clone(),
                    tags: req.tags.clone(),
                    create_time_ms: now,
                };
                tx.put_gateway(&g)?;
                gateway_view(tx, g)
            },
        )
    }

    /// DescribeVpnGateway.
    pub fn describe_vpn_gateway(&self, id: &VpnGatewayId) -> Result<VpnGatewayView> {
        read_with(&*self.store, |tx| {
            let g = load_gateway(tx, id)?;
            gateway_view(tx, g)
        })
    }

    /// DescribeVpnGateways.
    pub fn describe_vpn_gateways(
        &self,
        req: &DescribeVpnGatewaysRequest,
    ) -> Result<Page<VpnGatewayView>> {
        let all = read_with(&*self.store, |tx| {
            let mut out = Vec::new();
            for g in tx.gateways()? {
                if req.vpn_gateway_id.as_ref().is_some_and(|id| id != &g.id)
                    || req.vpc_id.as_ref().is_some_and(|v| v != &g.vpc_id)
                    || req.status.is_some_and(|s| s != g.status)
                    || !tags_match(&g.tags, &req.tags)
                {
                    continue;
                }
                out.push(gateway_view(tx, g)?);
            }
            Ok(out)
        })?;
        paginate(all, req.page)
    }

    /// ModifyVpnGatewayAttribute.
    pub fn modify_vpn_gateway_attribute(
        &self,
        req: &ModifyVpnGatewayAttributeRequest,
    ) -> Result<VpnGatewayView> {
        let name = req
            .name
            .as_deref()
            .map(|n| validate_name("Name", n, true))
            .transpose()?;
        let description = req
            .description
            .as_deref()
            .map(|d| validate_description("Description", d))
            .transpose()?;
        self.mutate(
            "ModifyVpnGatewayAttribute",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                let mut g = load_gateway(tx, &req.vpn_gateway_id)?;
                if let Some(n) = &name {
                    g.name = n.clone();
                }
                if let Some(d) = &description {
                    g.description = Some(d.clone());
                }
                if let Some(a) = req.auto_propagate {
                    g.auto_propagate = a;
                }
                tx.put_gateway(&g)?;
                gateway_view(tx, g)
            },
        )
    }

    /// DeleteVpnGateway: refused while connections are bound or an operation is pending; releases
    /// the gateway's public IPs and deletes its routes.
    pub fn delete_vpn_gateway(&self, client_token: Option<&str>, id: &VpnGatewayId) -> Result<()> {
        self.mutate("DeleteVpnGateway", client_token, false, id, |tx| {
            let g = load_gateway(tx, id)?;
            if tx.pending(id)?.is_some() {
                return Err(ControlError::GatewayConfiguring {
                    gateway_id: id.to_string(),
                });
            }
            let conns = tx.connections(Some(id))?;
            if !conns.is_empty() {
                let ids: Vec<String> = conns.iter().map(|c| c.id.to_string()).collect();
                return Err(ControlError::DependencyViolation {
                    code: "DependencyViolation.VpnConnection",
                    message: format!(
                        "VPN gateway {id} still has IPsec connections ({}); delete them first.",
                        ids.join(", ")
                    ),
                });
            }
            for r in tx.routes(id)? {
                tx.delete_route(&r.id)?;
            }
            for r in tx.pbr_routes(id)? {
                tx.delete_pbr_route(&r.id)?;
            }
            for a in &g.addresses {
                if let Some(mut p) = tx.pool()?.into_iter().find(|p| p.ip == a.ip) {
                    p.allocated_to = None;
                    tx.put_pool_address(&p)?;
                }
            }
            tx.delete_gateway(id)
        })
    }

    // -----------------------------------------------------------------------------------------
    // Customer gateways

    /// CreateCustomerGateway.
    pub fn create_customer_gateway(
        &self,
        req: &CreateCustomerGatewayRequest,
    ) -> Result<CustomerGateway> {
        check_customer_ip(req.ip_address)?;
        let asn = req
            .asn
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| Asn::parse_as("Asn", s))
            .transpose()?;
        if asn == Some(Asn::DEFAULT_LOCAL) {
            return Err(ControlError::illegal(
                "Asn",
                "The specified \"Asn\" (45104) is invalid: 45104 is the gateway side's default ASN and cannot be a customer gateway's ASN. Use another (preferably private: 64512-65534 or 4200000000-4294967294).",
            ));
        }
        let auth_key = req.auth_key.as_deref().map(check_auth_key).transpose()?;
        let name = req
            .name
            .as_deref()
            .map(|n| validate_name("Name", n, false))
            .transpose()?;
        let description = req
            .description
            .as_deref()
            .map(|d| validate_description("Description", d))
            .transpose()?;
        validate_tags(&req.tags)?;
        let id = self.with_rng(|rng| CustomerGatewayId::generate(rng))?;
        let now = self.now();
        self.mutate("CreateCustomerGateway", req.client_token.as_deref(), false, req, |tx| {
            if let Some(other) = tx
                .customer_gateways()?
                .into_iter()
                .find(|c| c.ip_address == req.ip_address)
            {
                return Err(ControlError::AlreadyExists {
                    code: "InvalidIpAddress.AlreadyExist",
                    message: format!(
                        "The specified \"IpAddress\" ({}) is already used by customer gateway {}.",
                        req.ip_address, other.id
                    ),
                });
            }
            let c = CustomerGateway {
                id: id.clone(),
                name: name.clone(),
                description: description.clone(),
                ip_address: req.ip_address,
                asn,
                auth_key: auth_key.clone(),
                resource_group_id: req.resource_group_id.clone(),
                tags: req.tags.clone(),
                create_time_ms: now,
            };
            tx.put_customer_gateway(&c)?;
            Ok(c)
        })
    }

    /// DescribeCustomerGateway.
    pub fn describe_customer_gateway(&self, id: &CustomerGatewayId) -> Result<CustomerGateway> {
        read_with(&*self.store, |tx| load_cgw(tx, id))
    }

    /// DescribeCustomerGateways.
    pub fn describe_customer_gateways(
        &self,
        req: &DescribeCustomerGatewaysRequest,
    ) -> Result<Page<CustomerGateway>> {
        let all: Vec<CustomerGateway> = read_with(&*self.store, |tx| tx.customer_gateways())?
            .into_iter()
            .filter(|c| {
                req.customer_gateway_id
                    .as_ref()
                    .is_none_or(|id| id == &c.id)
            })
            .filter(|c| tags_match(&c.tags, &req.tags))
            .collect();
        paginate(all, req.page)
    }

    /// ModifyCustomerGatewayAttribute.
    pub fn modify_customer_gateway_attribute(
        &self,
        req: &ModifyCustomerGatewayAttributeRequest,
    ) -> Result<CustomerGateway> {
        let name = req
            .name
            .as_deref()
            .map(|n| validate_name("Name", n, false))
            .transpose()?;
        let description = req
            .description
            .as_deref()
            .map(|d| validate_description("Description", d))
            .transpose()?;
        let auth_key = req.auth_key.as_deref().map(check_auth_key).transpose()?;
        self.mutate(
            "ModifyCustomerGatewayAttribute",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                let mut c = load_cgw(tx, &req.customer_gateway_id)?;
                if let Some(n) = &name {
                    c.name = Some(n.clone());
                }
                if let Some(d) = &description {
                    c.description = Some(d.clone());
                }
                if let Some(k) = &auth_key {
                    c.auth_key = Some(k.clone());
                }
                tx.put_customer_gateway(&c)?;
                Ok(c)
            },
        )
    }

    /// DeleteCustomerGateway: refused while a tunnel uses it.
    pub fn delete_customer_gateway(
        &self,
        client_token: Option<&str>,
        id: &CustomerGatewayId,
    ) -> Result<()> {
        self.mutate("DeleteCustomerGateway", client_token, false, id, |tx| {
            load_cgw(tx, id)?;
            for conn in tx.connections(None)? {
                if let Some(t) = conn.tunnels.iter().find(|t| &t.customer_gateway_id == id) {
                    return Err(ControlError::DependencyViolation {
                        code: "DependencyViolation.VpnConnection",
                        message: format!(
                            "Customer gateway {id} is used by tunnel {} of IPsec connection {}; delete or change that first.",
                            t.id, conn.id
                        ),
                    });
                }
            }
            tx.delete_customer_gateway(id)
        })
    }

    // -----------------------------------------------------------------------------------------
    // IPsec connections

    fn fresh_connection_ids(&self) -> Result<Fresh> {
        self.with_rng(|rng| Fresh {
            connection: VpnConnectionId::generate(rng),
            tunnels: [TunnelId::generate(rng), TunnelId::generate(rng)],
            psks: [Psk::generate(rng), Psk::generate(rng)],
        })
    }

    /// CreateVpnConnection (dual-tunnel). Accepted changes leave the gateway `updating` and the
    /// connection `init` until completed (see [`Completion`]).
    pub fn create_vpn_connection(
        &self,
        req: &CreateVpnConnectionRequest,
    ) -> Result<VpnConnectionView> {
        if let Some(n) = &req.name {
            validate_name("Name", n, false)?;
        }
        rules::check_subnet_pair(&req.local_subnet, &req.remote_subnet)?;
        validate_tags(&req.tags)?;
        match req.tunnels.len() {
            2 => {}
            0 => {
                return Err(ControlError::missing(
                    "TunnelOptionsSpecification.1.CustomerGatewayId",
                ));
            }
            1 => {
                return Err(ControlError::missing(
                    "TunnelOptionsSpecification.2.CustomerGatewayId",
                ));
            }
            n => {
                return Err(ControlError::illegal(
                    "TunnelOptionsSpecification",
                    format!(
                        "{n} tunnels were given; an IPsec connection has exactly two (tunnel 1 master, tunnel 2 backup; R-HA-1)."
                    ),
                ));
            }
        }
        let fresh = self.fresh_connection_ids()?;
        let mut tunnels = Vec::with_capacity(2);
        for (i, index) in TunnelIndex::BOTH.into_iter().enumerate() {
            let prefix = format!("TunnelOptionsSpecification.{}.", index.number());
            tunnels.push(rules::new_tunnel(
                &prefix,
                index,
                fresh.tunnels[i].clone(),
                &req.tunnels[i],
                fresh.psks[i].clone(),
            )?);
        }
        let [t1, t2]: [crate::model::Tunnel; 2] = tunnels
            .try_into()
            .map_err(|_| ControlError::internal("two tunnels expected"))?;
        let now = self.now();
        let conn = VpnConnection {
            id: fresh.connection.clone(),
            gateway_id: req.vpn_gateway_id.clone(),
            name: req
                .name
                .clone()
                .unwrap_or_else(|| fresh.connection.to_string()),
            local_subnets: req.local_subnet.clone(),
            remote_subnets: req.remote_subnet.clone(),
            effect_immediately: req
                .effect_immediately
                .unwrap_or(rules::defaults::EFFECT_IMMEDIATELY),
            auto_config_route: req
                .auto_config_route
                .unwrap_or(rules::defaults::AUTO_CONFIG_ROUTE),
            enable_tunnels_bgp: req
                .enable_tunnels_bgp
                .unwrap_or(rules::defaults::ENABLE_TUNNELS_BGP),
            state: ConnectionState::Init,
            tunnels: [t1, t2],
            resource_group_id: req.resource_group_id.clone(),
            tags: req.tags.clone(),
            create_time_ms: now,
        };
        let delay = self.delay_ms();
        self.mutate(
            "CreateVpnConnection",
            req.client_token.as_deref(),
            req.dry_run,
            req,
            |tx| {
                // Busy first (the code clients retry on), then the rules; any failure rolls
                // the whole transaction back, the busy mark included.
                let gateway = load_gateway(tx, &conn.gateway_id)?;
                begin_operation(
                    tx,
                    &gateway,
                    &conn.id,
                    OperationKind::CreateConnection,
                    now,
                    delay,
                )?;
                let cgws = load_cgws_of(tx, &conn)?;
                let others = tx.connections(Some(&gateway.id))?;
                rules::check_connection(&conn, &cgws, &others, Blame::Subnets)?;
                let mut conn = conn.clone();
                for t in conn.tunnels.iter_mut() {
                    t.state = TunnelState::Updating;
                }
                tx.put_connection(&conn)?;
                for t in &conn.tunnels {
                    tx.put_tunnel_observed(&TunnelObserved::initial(
                        t.id.clone(),
                        conn.id.clone(),
                        now,
                    ))?;
                }
                sync_generated_routes(tx, &conn, now)?;
                tx.append_event(&event(&conn.id, None, now, "IPsec connection created"))?;
                connection_view(tx, conn)
            },
        )
    }

    /// ModifyVpnConnectionAttribute (R-CONN-4, R-BGP-5).
    pub fn modify_vpn_connection_attribute(
        &self,
        req: &ModifyVpnConnectionAttributeRequest,
    ) -> Result<VpnConnectionView> {
        if let Some(n) = &req.name {
            validate_name("Name", n, false)?;
        }
        if req.tunnels.len() > 2 {
            return Err(ControlError::illegal(
                "TunnelOptionsSpecification",
                format!(
                    "{} tunnels were given; an IPsec connection has exactly two.",
                    req.tunnels.len()
                ),
            ));
        }
        let now = self.now();
        let delay = self.delay_ms();
        self.mutate(
            "ModifyVpnConnectionAttribute",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                let mut conn = load_connection(tx, &req.vpn_connection_id)?;
                if let Some(g) = &req.vpn_gateway_id {
                    if g != &conn.gateway_id {
                        return Err(ControlError::illegal(
                            "VpnGatewayId",
                            format!(
                                "The VPN gateway of IPsec connection {} cannot be changed (it is bound to {}, the request names {g}; R-CONN-4). Create a new connection on {g} instead.",
                                conn.id, conn.gateway_id
                            ),
                        ));
                    }
                }
                if let Some(n) = &req.name {
                    conn.name = n.clone();
                }
                let subnets_changed = req.local_subnet.is_some() || req.remote_subnet.is_some();
                if let Some(l) = &req.local_subnet {
                    conn.local_subnets = l.clone();
                }
                if let Some(r) = &req.remote_subnet {
                    conn.remote_subnets = r.clone();
                }
                if let Some(v) = req.effect_immediately {
                    conn.effect_immediately = v;
                }
                if let Some(v) = req.auto_config_route {
                    conn.auto_config_route = v;
                }
                if let Some(v) = req.enable_tunnels_bgp {
                    conn.enable_tunnels_bgp = v;
                }
                for (n, input) in req.tunnels.iter().enumerate() {
                    let slot = match &input.tunnel_id {
                        Some(id) => conn
                            .tunnels
                            .iter()
                            .position(|t| &t.id == id)
                            .ok_or_else(|| ControlError::not_found(ResourceKind::Tunnel, id.as_str()))?,
                        None => n,
                    };
                    let prefix = format!("TunnelOptionsSpecification.{}.", n + 1);
                    rules::apply_tunnel_input(&prefix, &mut conn.tunnels[slot], input, true)?;
                }
                let gateway = load_gateway(tx, &conn.gateway_id)?;
                begin_operation(tx, &gateway, &conn.id, OperationKind::ModifyConnection, now, delay)?;
                let cgws = load_cgws_of(tx, &conn)?;
                let others = tx.connections(Some(&gateway.id))?;
                let blame = if subnets_changed { Blame::Subnets } else { Blame::Tunnels };
                rules::check_connection(&conn, &cgws, &others, blame)?;
                conn.state = ConnectionState::Updating;
                for t in conn.tunnels.iter_mut() {
                    t.state = TunnelState::Updating;
                }
                tx.put_connection(&conn)?;
                sync_generated_routes(tx, &conn, now)?;
                tx.append_event(&event(&conn.id, None, now, "IPsec connection modified"))?;
                connection_view(tx, conn)
            },
        )
    }

    /// ModifyTunnelAttribute (R-CONN-5).
    pub fn modify_tunnel_attribute(
        &self,
        req: &ModifyTunnelAttributeRequest,
    ) -> Result<TunnelView> {
        let now = self.now();
        let delay = self.delay_ms();
        self.mutate(
            "ModifyTunnelAttribute",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                let mut conn = load_connection(tx, &req.vpn_connection_id)?;
                let slot = conn
                    .tunnels
                    .iter()
                    .position(|t| t.id == req.tunnel_id)
                    .ok_or_else(|| {
                        ControlError::not_found(ResourceKind::Tunnel, req.tunnel_id.as_str())
                    })?;
                let bgp_on = conn.enable_tunnels_bgp;
                rules::apply_tunnel_input(
                    "TunnelOptionsSpecification.",
                    &mut conn.tunnels[slot],
                    &req.options,
                    bgp_on,
                )?;
                let gateway = load_gateway(tx, &conn.gateway_id)?;
                begin_operation(
                    tx,
                    &gateway,
                    &conn.id,
                    OperationKind::ModifyTunnel,
                    now,
                    delay,
                )?;
                let cgws = load_cgws_of(tx, &conn)?;
                let others = tx.connections(Some(&gateway.id))?;
                rules::check_connection(&conn, &cgws, &others, Blame::Tunnels)?;
                conn.tunnels[slot].state = TunnelState::Updating;
                tx.put_connection(&conn)?;
                tx.append_event(&event(
                    &conn.id,
                    Some(&req.tunnel_id),
                    now,
                    "tunnel settings modified",
                ))?;
                let view = connection_view(tx, conn)?;
                let [a, b] = view.tunnels;
                Ok(if slot == 0 { a } else { b })
            },
        )
    }

    /// DeleteVpnConnection (R-CONN-6): the connection disappears at once (Describe answers
    /// NotFound); the gateway stays `updating` until the teardown is completed. Routes whose next
    /// hop is the connection are deleted with it.
    pub fn delete_vpn_connection(
        &self,
        client_token: Option<&str>,
        id: &VpnConnectionId,
    ) -> Result<()> {
        let now = self.now();
        let delay = self.delay_ms();
        self.mutate("DeleteVpnConnection", client_token, false, id, |tx| {
            let conn = load_connection(tx, id)?;
            let gateway = load_gateway(tx, &conn.gateway_id)?;
            begin_operation(
                tx,
                &gateway,
                id,
                OperationKind::DeleteConnection,
                now,
                delay,
            )?;
            for r in tx.routes(&gateway.id)? {
                if &r.next_hop == id {
                    tx.delete_route(&r.id)?;
                }
            }
            for r in tx.pbr_routes(&gateway.id)? {
                if &r.next_hop == id {
                    tx.delete_pbr_route(&r.id)?;
                }
            }
            for t in &conn.tunnels {
                tx.delete_tunnel_observed(&t.id)?;
            }
            tx.delete_events(id)?;
            tx.delete_connection(id)
        })
    }

    /// DescribeVpnConnection.
    pub fn describe_vpn_connection(&self, id: &VpnConnectionId) -> Result<VpnConnectionView> {
        read_with(&*self.store, |tx| {
            let c = load_connection(tx, id)?;
            connection_view(tx, c)
        })
    }

    /// DescribeVpnConnections.
    pub fn describe_vpn_connections(
        &self,
        req: &DescribeVpnConnectionsRequest,
    ) -> Result<Page<VpnConnectionView>> {
        let all = read_with(&*self.store, |tx| {
            let mut out = Vec::new();
            for c in tx.connections(req.vpn_gateway_id.as_ref())? {
                if req.vpn_connection_id.as_ref().is_some_and(|id| id != &c.id)
                    || req
                        .customer_gateway_id
                        .as_ref()
                        .is_some_and(|g| !c.tunnels.iter().any(|t| &t.customer_gateway_id == g))
                    || !tags_match(&c.tags, &req.tags)
                {
                    continue;
                }
                out.push(connection_view(tx, c)?);
            }
            Ok(out)
        })?;
        paginate(all, req.page)
    }

    /// DescribeVpnConnectionLogs: the connection's events in a time window.
    pub fn describe_vpn_connection_logs(
        &self,
        req: &DescribeVpnConnectionLogsRequest,
    ) -> Result<ConnectionLogs> {
        let now = self.now();
        let period = req
            .minute_period
            .map(|m| {
                if (1..=10).contains(&m) {
                    Ok(m as u64 * 60_000)
                } else {
                    Err(ControlError::illegal(
                        "MinutePeriod",
                        format!("The specified \"MinutePeriod\" ({m}) is out of range. Allowed: 1 to 10."),
                    ))
                }
            })
            .transpose()?;
        let secs = |field: &str, v: i64| {
            u64::try_from(v)
                .map(|s| s.saturating_mul(1000))
                .map_err(|_| {
                    ControlError::illegal(
                        field,
                        format!("The specified \"{field}\" ({v}) is not a Unix time in seconds."),
                    )
                })
        };
        let from = req.from.map(|v| secs("From", v)).transpose()?;
        let to = req.to.map(|v| secs("To", v)).transpose()?;
        let (from, to) = match (from, to, period) {
            (Some(f), Some(t), _) => (f, t),
            (Some(f), None, Some(p)) => (f, f.saturating_add(p)),
            (None, Some(t), Some(p)) => (t.saturating_sub(p), t),
            (None, None, Some(p)) => (now.saturating_sub(p), now),
            _ => return Err(ControlError::missing("MinutePeriod")),
        };
        if to < from {
            return Err(ControlError::illegal(
                "To",
                "The specified \"To\" is earlier than \"From\".",
            ));
        }
        let events = read_with(&*self.store, |tx| {
            let c = load_connection(tx, &req.vpn_connection_id)?;
            if let Some(t) = &req.tunnel_id {
                if c.tunnel_by_id(t).is_none() {
                    return Err(ControlError::not_found(ResourceKind::Tunnel, t.as_str()));
                }
            }
            tx.events(&c.id, req.tunnel_id.as_ref(), from, to)
        })?;
        let page = paginate(events, req.page)?;
        let is_completed = page.page_number * page.page_size >= page.total_count;
        Ok(ConnectionLogs { page, is_completed })
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

    // -----------------------------------------------------------------------------------------
    // Routes

    /// CreateVpnRouteEntry (destination-based).
    pub fn create_vpn_route_entry(
        &self,
        req: &CreateVpnRouteEntryRequest,
    ) -> Result<VpnRouteEntry> {
        check_overlay(req.overlay_mode.as_deref())?;
        check_route_dest("RouteDest", req.route_dest)?;
        let weight = RouteWeight::new("Weight", req.weight)?;
        let description = req
            .description
            .as_deref()
            .map(|d| validate_description("Description", d))
            .transpose()?;
        let id = self.with_rng(|rng| RouteEntryId::generate(rng))?;
        let now = self.now();
        self.mutate(
            "CreateVpnRouteEntry",
            req.client_token.as_deref(),
            req.dry_run,
            req,
            |tx| {
                load_gateway(tx, &req.vpn_gateway_id)?;
                check_next_hop(tx, &req.vpn_gateway_id, &req.next_hop)?;
                if tx
                    .routes(&req.vpn_gateway_id)?
                    .iter()
                    .any(|r| r.route_dest == req.route_dest && r.next_hop == req.next_hop)
                {
                    return Err(ControlError::AlreadyExists {
                        code: "InvalidVpnRouteEntry.AlreadyExists",
                        message: format!(
                            "A destination-based route to {} via {} already exists on VPN gateway {}.",
                            req.route_dest, req.next_hop, req.vpn_gateway_id
                        ),
                    });
                }
                let r = VpnRouteEntry {
                    id: id.clone(),
                    gateway_id: req.vpn_gateway_id.clone(),
                    route_dest: req.route_dest,
                    next_hop: req.next_hop.clone(),
                    weight,
                    state: publish_state(req.publish_vpc),
                    description: description.clone(),
                    create_time_ms: now,
                };
                tx.put_route(&r)?;
                Ok(r)
            },
        )
    }

    /// DeleteVpnRouteEntry.
    pub fn delete_vpn_route_entry(&self, req: &DeleteVpnRouteEntryRequest) -> Result<()> {
        check_overlay(req.overlay_mode.as_deref())?;
        let weight = RouteWeight::new("Weight", req.weight)?;
        self.mutate(
            "DeleteVpnRouteEntry",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                load_gateway(tx, &req.vpn_gateway_id)?;
                let r = find_route(tx, &req.vpn_gateway_id, req.route_dest, &req.next_hop)?;
                if r.weight != weight {
                    return Err(weight_mismatch(r.weight, weight));
                }
                tx.delete_route(&r.id)
            },
        )
    }

    /// ModifyVpnRouteEntryWeight.
    pub fn modify_vpn_route_entry_weight(
        &self,
        req: &ModifyVpnRouteEntryWeightRequest,
    ) -> Result<VpnRouteEntry> {
        check_overlay(req.overlay_mode.as_deref())?;
        let weight = RouteWeight::new("Weight", req.weight)?;
        let new_weight = RouteWeight::new("NewWeight", req.new_weight)?;
        self.mutate(
            "ModifyVpnRouteEntryWeight",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                load_gateway(tx, &req.vpn_gateway_id)?;
                let mut r = find_route(tx, &req.vpn_gateway_id, req.route_dest, &req.next_hop)?;
                if r.weight != weight {
                    return Err(weight_mismatch(r.weight, weight));
                }
                r.weight = new_weight;
                tx.put_route(&r)?;
                Ok(r)
            },
        )
    }

    /// DescribeVpnRouteEntries. `RouteEntryType=bgp` is empty until BGP-learned routes are
    /// recorded (a later issue).
    pub fn describe_vpn_route_entries(
        &self,
        req: &DescribeVpnRouteEntriesRequest,
    ) -> Result<Page<VpnRouteEntry>> {
        let all = read_with(&*self.store, |tx| {
            load_gateway(tx, &req.vpn_gateway_id)?;
            match req.route_entry_type.unwrap_or(RouteEntryType::Custom) {
                RouteEntryType::Custom => tx.routes(&req.vpn_gateway_id),
                RouteEntryType::Bgp => Ok(vec![]),
            }
        })?;
        paginate(all, req.page)
    }

    /// CreateVpnPbrRouteEntry.
    pub fn create_vpn_pbr_route_entry(
        &self,
        req: &CreateVpnPbrRouteEntryRequest,
    ) -> Result<VpnPbrRouteEntry> {
        check_overlay(req.overlay_mode.as_deref())?;
        check_route_dest("RouteSource", req.route_source)?;
        check_route_dest("RouteDest", req.route_dest)?;
        let weight = RouteWeight::new("Weight", req.weight)?;
        let priority = req
            .priority
            .map(|p| PbrPriority::new("Priority", p))
            .transpose()?
            .unwrap_or(PbrPriority::DEFAULT);
        let description = req
            .description
            .as_deref()
            .map(|d| validate_description("Description", d))
            .transpose()?;
        let id = self.with_rng(|rng| RouteEntryId::generate(rng))?;
        let now = self.now();
        self.mutate(
            "CreateVpnPbrRouteEntry",
            req.client_token.as_deref(),
            req.dry_run,
            req,
            |tx| {
                load_gateway(tx, &req.vpn_gateway_id)?;
                check_next_hop(tx, &req.vpn_gateway_id, &req.next_hop)?;
                if tx.pbr_routes(&req.vpn_gateway_id)?.iter().any(|r| {
                    r.route_source == req.route_source
                        && r.route_dest == req.route_dest
                        && r.next_hop == req.next_hop
                }) {
                    return Err(ControlError::AlreadyExists {
                        code: "InvalidVpnPbrRouteEntry.AlreadyExists",
                        message: format!(
                            "A policy-based route {} -> {} via {} already exists on VPN gateway {}.",
                            req.route_source, req.route_dest, req.next_hop, req.vpn_gateway_id
                        ),
                    });
                }
                let r = VpnPbrRouteEntry {
                    id: id.clone(),
                    gateway_id: req.vpn_gateway_id.clone(),
                    route_source: req.route_source,
                    route_dest: req.route_dest,
                    next_hop: req.next_hop.clone(),
                    weight,
                    priority,
                    state: publish_state(req.publish_vpc),
                    origin: RouteOrigin::User,
                    description: description.clone(),
                    create_time_ms: now,
                };
                tx.put_pbr_route(&r)?;
                Ok(r)
            },
        )
    }

    /// DeleteVpnPbrRouteEntry. Generated routes (R-CONN-2) follow their connection and cannot be
    /// deleted by hand; change the connection's CIDRs instead.
    pub fn delete_vpn_pbr_route_entry(&self, req: &DeleteVpnPbrRouteEntryRequest) -> Result<()> {
        check_overlay(req.overlay_mode.as_deref())?;
        let weight = RouteWeight::new("Weight", req.weight)?;
        let priority = req
            .priority
            .map(|p| PbrPriority::new("Priority", p))
            .transpose()?;
        self.mutate("DeleteVpnPbrRouteEntry", req.client_token.as_deref(), false, req, |tx| {
            load_gateway(tx, &req.vpn_gateway_id)?;
            let r = tx
                .pbr_routes(&req.vpn_gateway_id)?
                .into_iter()
                .find(|r| {
                    r.route_source == req.route_source
                        && r.route_dest == req.route_dest
                        && r.next_hop == req.next_hop
                })
                .ok_or_else(|| {
                    ControlError::not_found(
                        ResourceKind::VpnPbrRouteEntry,
                        format!("{} -> {} via {}", req.route_source, req.route_dest, req.next_hop),
                    )
                })?;
            if r.weight != weight {
                return Err(weight_mismatch(r.weight, weight));
            }
            if let Some(p) = priority {
                if p != r.priority {
                    return Err(ControlError::illegal(
                        "Priority",
                        format!(
                            "The specified \"Priority\" ({}) does not match the route's priority ({}).",
                            p.get(),
                            r.priority.get()
                        ),
                    ));
                }
            }
            if r.origin == RouteOrigin::Connection {
                return Err(ControlError::illegal(
                    "RouteSource",
                    format!(
                        "This policy-based route was generated from the CIDR blocks of IPsec connection {} (R-CONN-2); change the connection's LocalSubnet/RemoteSubnet or set AutoConfigRoute=false instead.",
                        r.next_hop
                    ),
                ));
            }
            tx.delete_pbr_route(&r.id)
        })
    }

    /// DescribeVpnPbrRouteEntries.
    pub fn describe_vpn_pbr_route_entries(
        &self,
        vpn_gateway_id: &VpnGatewayId,
        page: PageRequest,
    ) -> Result<Page<VpnPbrRouteEntry>> {
        let all = read_with(&*self.store, |tx| {
            load_gateway(tx, vpn_gateway_id)?;
            tx.pbr_routes(vpn_gateway_id)
        })?;
        paginate(all, page)
    }

    /// PublishVpnRouteEntry: publishes or withdraws every route of `RouteType` to `RouteDest` via
    /// `NextHop`.
    pub fn publish_vpn_route_entry(&self, req: &PublishVpnRouteEntryRequest) -> Result<()> {
        let state = publish_state(req.publish_vpc);
        self.mutate(
            "PublishVpnRouteEntry",
            req.client_token.as_deref(),
            false,
            req,
            |tx| {
                load_gateway(tx, &req.vpn_gateway_id)?;
                let mut found = false;
                match req.route_type {
                    RouteType::Dbr => {
                        for mut r in tx.routes(&req.vpn_gateway_id)? {
                            if r.route_dest == req.route_dest && r.next_hop == req.next_hop {
                                r.state = state;
                                tx.put_route(&r)?;
                                found = true;
                            }
                        }
                    }
                    RouteType::Pbr => {
                        for mut r in tx.pbr_routes(&req.vpn_gateway_id)? {
                            if r.route_dest == req.route_dest && r.next_hop == req.next_hop {
                                r.state = state;
                                tx.put_pbr_route(&r)?;
                                found = true;
                            }
                        }
                    }
                }
                if !found {
                    let kind = match req.route_type {
                        RouteType::Dbr => ResourceKind::VpnRouteEntry,
                        RouteType::Pbr => ResourceKind::VpnPbrRouteEntry,
                    };
                    return Err(ControlError::not_found(
                        kind,
                        format!("{} via {}", req.route_dest, req.next_hop),
                    ));
                }
                Ok(())
            },
        )
    }

    /// CheckVpnBgpEnabled: BGP is always available here.
    pub fn check_vpn_bgp_enabled(&self) -> bool {
        true
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
    let notes = rules::notes(&conn, &gateway, &cgws);
    Ok(VpnConnectionView {
        routing_mode: conn.routing_mode(),
        status,
        tunnels: [a, b],
        notes,
        connection: conn,
    })
}

/// R-CONN-2: in interesting-traffic mode with AutoConfigRoute on, one policy route per
/// local × remote CIDR pair (source = local, destination = remote, next hop = the connection),
/// not published by default. Regenerated on every change; the publish state of pairs that stay
/// is kept; a user route with the same key wins over a generated one.
fn sync_generated_routes(tx: &mut dyn Tx, conn: &VpnConnection, now: u64) -> Result<()> {
    let existing = tx.pbr_routes(&conn.gateway_id)?;
    let mut published = Vec::new();
    for r in existing
        .iter()
        .filter(|r| r.next_hop == conn.id && r.origin == RouteOrigin::Connection)
    {
        if r.state == RouteState::Published {
            published.push((r.route_source, r.route_dest));
        }
        tx.delete_pbr_route(&r.id)?;
    }
    if conn.routing_mode() != crate::model::RoutingMode::InterestingTraffic
        || !conn.auto_config_route
    {
        return Ok(());
    }
    let suffix = conn.id.as_str().trim_start_matches(VpnConnectionId::PREFIX);
    let mut n = 0;
    for l in &conn.local_subnets {
        for r in &conn.remote_subnets {
            n += 1;
            let user_has_it = existing.iter().any(|e| {
                e.origin == RouteOrigin::User
                    && e.route_source == *l
                    && e.route_dest == *r
                    && e.next_hop == conn.id
            });
            if user_has_it {
                continue;
            }
            let id = RouteEntryId::parse_as("RouteEntryId", &format!("vre-{suffix}g{n}"))?;
            tx.put_pbr_route(&VpnPbrRouteEntry {
                id,
                gateway_id: conn.gateway_id.clone(),
                route_source: *l,
                route_dest: *r,
                next_hop: conn.id.clone(),
                weight: RouteWeight::ACTIVE,
                priority: PbrPriority::DEFAULT,
                state: if published.contains(&(*l, *r)) {
                    RouteState::Published
                } else {
                    RouteState::Normal
                },
                origin: RouteOrigin::Connection,
                description: None,
                create_time_ms: now,
            })?;
        }
    }
    Ok(())
}

/// R-HA-4: two distinct zones if the pool has free addresses in two, else two addresses of one
/// zone. Zones and addresses are taken in sorted order (deterministic).
fn allocate_addresses(pool: &[PoolAddress]) -> Result<[GatewayAddress; 2]> {
    let mut by_zone: BTreeMap<&ZoneId, Vec<Ipv4Addr>> = BTreeMap::new();
    for a in pool.iter().filter(|a| a.allocated_to.is_none()) {
        by_zone.entry(&a.zone).or_default().push(a.ip);
    }
    for ips in by_zone.values_mut() {
        ips.sort();
    }
    let zones: Vec<(&ZoneId, &Vec<Ipv4Addr>)> = by_zone.iter().map(|(z, v)| (*z, v)).collect();
    let pick = |z: &ZoneId, ip: Ipv4Addr| GatewayAddress {
        ip,
        zone: z.clone(),
    };
    if zones.len() >= 2 {
        let (z1, ips1) = zones[0];
        let (z2, ips2) = zones[1];
        return Ok([pick(z1, ips1[0]), pick(z2, ips2[0])]);
    }
    if let Some((z, ips)) = zones.first() {
        if ips.len() >= 2 {
            return Ok([pick(z, ips[0]), pick(z, ips[1])]);
        }
    }
    let total = pool.len();
    let free: usize = by_zone.values().map(Vec::len).sum();
    Err(ControlError::QuotaFull {
        message: format!(
            "The quota of resource is full: a VPN gateway needs two free public IPs, and the pool has {free} free of {total}. Add addresses with `dualsec serve --public-ip ZONE=IP` (two zones give zone redundancy, R-HA-4)."
        ),
    })
}

fn check_customer_ip(ip: Ipv4Addr) -> Result<()> {
    let o = ip.octets();
    let why = if ip.is_unspecified() {
        Some("0.0.0.0 is not an address")
    } else if o[0] == 100 && (64..=127).contains(&o[1]) {
        Some("100.64.0.0/10 (shared address space) is not allowed")
    } else if o[0] == 127 {
        Some("127.0.0.0/8 (loopback) is not allowed")
    } else if o[0] == 169 && o[1] == 254 {
        Some("169.254.0.0/16 (link-local) is not allowed")
    } else if (224..=239).contains(&o[0]) {
        Some("224.0.0.0-239.255.255.255 (multicast) is not allowed")
    } else if o[0] == 255 {
        Some("255.0.0.0-255.255.255.255 is not allowed")
    } else {
        None
    };
    match why {
        Some(w) => Err(ControlError::illegal(
            "IpAddress",
            format!(
                "The specified \"IpAddress\" ({ip}) is invalid: {w}. Give the static IP of the on-premises device."
            ),
        )),
        None => Ok(()),
    }
}

fn check_auth_key(k: &str) -> Result<String> {
    let n = k.chars().count();
    let bad_char = k
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_whitespace() || c.is_ascii_control() || *c == '?');
    if n == 0 || n > 64 || bad_char.is_some() {
        return Err(ControlError::illegal(
            "AuthKey",
            "The specified \"AuthKey\" is invalid. Allowed: 1 to 64 ASCII characters without spaces or '?'.",
        ));
    }
    Ok(k.to_owned())
}

fn check_overlay(mode: Option<&str>) -> Result<()> {
    match mode {
        None | Some("") => Ok(()),
        Some(m) if m.eq_ignore_ascii_case("Ipsec") => Ok(()),
        Some(m) => Err(ControlError::illegal(
            "OverlayMode",
            format!("The specified \"OverlayMode\" ({m:?}) is invalid. Allowed values: Ipsec."),
        )),
    }
}

fn check_route_dest(field: &str, n: Ipv4Net) -> Result<()> {
    if n.trunc() != n {
        return Err(ControlError::illegal(
            field,
            format!(
                "The specified \"{field}\" ({n}) is invalid: host bits are set. Did you mean {}?",
                n.trunc()
            ),
        ));
    }
    Ok(())
}

fn check_next_hop(tx: &mut dyn Tx, gateway: &VpnGatewayId, hop: &VpnConnectionId) -> Result<()> {
    let c = load_connection(tx, hop)?;
    if &c.gateway_id != gateway {
        return Err(ControlError::illegal(
            "NextHop",
            format!(
                "The specified \"NextHop\" ({hop}) is an IPsec connection of VPN gateway {}, not of {gateway}.",
                c.gateway_id
            ),
        ));
    }
    Ok(())
}

fn find_route(
    tx: &mut dyn Tx,
    gateway: &VpnGatewayId,
    dest: Ipv4Net,
    hop: &VpnConnectionId,
) -> Result<VpnRouteEntry> {
    tx.routes(gateway)?
        .into_iter()
        .find(|r| r.route_dest == dest && &r.next_hop == hop)
        .ok_or_else(|| {
            ControlError::not_found(ResourceKind::VpnRouteEntry, format!("{dest} via {hop}"))
        })
}

fn weight_mismatch(have: RouteWeight, given: RouteWeight) -> ControlError {
    ControlError::illegal(
        "Weight",
        format!(
            "The specified \"Weight\" ({}) does not match the route's weight ({}).",
            given.get(),
            have.get()
        ),
    )
}

fn publish_state(publish: bool) -> RouteState {
    if publish {
        RouteState::Published
    } else {
        RouteState::Normal
    }
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
