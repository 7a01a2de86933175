//! IPsec connection and tunnel actions (R-HA, R-CONN, R-TUN, R-BGP); generated policy routes (R-CONN-2).

use super::*;

/// Ids and secrets drawn before a transaction (a transaction may be re-run, see [`Store`]).
struct Fresh {
    connection: VpnConnectionId,
    tunnels: [TunnelId; 2],
    psks: [Psk; 2],
}

impl Control {
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
            tx.delete_connection_failover(id)?;
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
