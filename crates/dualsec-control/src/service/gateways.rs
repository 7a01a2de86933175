//! VpnGateway and CustomerGateway actions; public-IP allocation (R-HA-4).

use super::*;

impl Control {
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
        let mut v = read_with(&*self.store, |tx| {
            let g = load_gateway(tx, id)?;
            gateway_view(tx, g)
        })?;
        v.data_plane = self.data_plane_counters();
        Ok(v)
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
        let data_plane = self.data_plane_counters();
        let all = all
            .into_iter()
            .map(|v| VpnGatewayView { data_plane, ..v })
            .collect();
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
                    // The provider: BGP must be off on every connection before auto-propagation
                    // is turned off.
                    if !a {
                        if let Some(c) = tx
                            .connections(Some(&g.id))?
                            .into_iter()
                            .find(|c| c.enable_tunnels_bgp)
                        {
                            return Err(ControlError::illegal(
                                "AutoPropagate",
                                format!(
                                    "AutoPropagate cannot be turned off while BGP is on: IPsec connection {} has EnableTunnelsBgp=true. Turn BGP off on every connection of this VPN gateway first.",
                                    c.id
                                ),
                            ));
                        }
                    }
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
