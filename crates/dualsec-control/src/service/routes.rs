//! Destination- and policy-based route entry actions.

use super::*;

impl Control {
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

    /// DescribeVpnRouteEntries. `custom` (the default): the gateway's destination routes.
    /// `bgp`: the routes each tunnel's BGP session learned (issue 7), from observed state, one
    /// entry per tunnel and prefix, ordered by connection, tunnel, prefix. Only tunnels whose
    /// connection has `EnableTunnelsBgp` on and that carry a `TunnelBgpConfig` are listed, so a
    /// record the engine has not cleared yet cannot outlive the user turning BGP off.
    pub fn describe_vpn_route_entries(
        &self,
        req: &DescribeVpnRouteEntriesRequest,
    ) -> Result<RouteEntriesPage> {
        match req.route_entry_type.unwrap_or(RouteEntryType::Custom) {
            RouteEntryType::Custom => {
                let all = read_with(&*self.store, |tx| {
                    load_gateway(tx, &req.vpn_gateway_id)?;
                    tx.routes(&req.vpn_gateway_id)
                })?;
                Ok(RouteEntriesPage::Custom(paginate(all, req.page)?))
            }
            RouteEntryType::Bgp => {
                let all = read_with(&*self.store, |tx| {
                    load_gateway(tx, &req.vpn_gateway_id)?;
                    bgp_route_entries(tx, &req.vpn_gateway_id)
                })?;
                Ok(RouteEntriesPage::Bgp(paginate(all, req.page)?))
            }
        }
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

/// The BGP-learned routes of a gateway's tunnels (see [`Control::describe_vpn_route_entries`]).
fn bgp_route_entries(tx: &mut dyn Tx, gateway: &VpnGatewayId) -> Result<Vec<BgpRouteEntry>> {
    let mut conns = tx.connections(Some(gateway))?;
    conns.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = Vec::new();
    for c in conns.iter().filter(|c| c.enable_tunnels_bgp) {
        for t in c.tunnels.iter().filter(|t| t.bgp.is_some()) {
            let Some(o) = tx.tunnel_observed(&t.id)? else {
                continue;
            };
            let mut routes = o.bgp_routes;
            routes.sort_by_key(|r| r.route_dest);
            out.extend(routes.into_iter().map(|route| BgpRouteEntry {
                gateway_id: gateway.clone(),
                connection_id: c.id.clone(),
                tunnel_id: t.id.clone(),
                route,
            }));
        }
    }
    Ok(out)
}
