//! One handler per action: parameters → control request → control call → provider JSON.

use dualsec_control::ControlError;
use dualsec_control::requests as rq;
use serde_json::{Value, json};

use super::Ctx;
use super::input::*;
use super::render::{self, Typing};
use crate::error::ApiError;
use crate::params::Params;

type R = Result<Value, ApiError>;

/// The idempotency token: the caller's `ClientToken`, else none (the provider defaults it to the
/// RequestId, which is unique per request, i.e. no idempotency).
fn token(p: &Params) -> Result<Option<String>, ApiError> {
    match p.str("ClientToken") {
        None => Ok(None),
        Some(t) if t.len() <= 64 && t.is_ascii() => Ok(Some(t.to_owned())),
        Some(_) => Err(ControlError::illegal(
            "ClientToken",
            "The specified \"ClientToken\" is invalid. Allowed: up to 64 ASCII characters.",
        )
        .into()),
    }
}

fn dry_run(p: &Params) -> Result<bool, ApiError> {
    Ok(opt_bool(p, "", "DryRun")?.unwrap_or(false))
}

/// Every action requires `RegionId` except ModifyTunnelAttribute (api-reference §3); control
/// checks it is the region this instance serves.
fn region(ctx: &Ctx, p: &Params, required: bool) -> Result<(), ApiError> {
    match p.str("RegionId") {
        Some(r) => Ok(ctx.control.check_region(r)?),
        None if required => Err(ControlError::missing("RegionId").into()),
        None => Ok(()),
    }
}

// ---- VPN gateway ----------------------------------------------------------------------------

pub fn create_vpn_gateway(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::CreateVpnGatewayRequest {
        client_token: token(p)?,
        vpc_id: req(p, "VpcId")?,
        bandwidth: req_int(p, "Bandwidth")?,
        name: opt(p, "Name"),
        vswitch_id: opt(p, "VSwitchId"),
        disaster_recovery_vswitch_id: opt(p, "DisasterRecoveryVSwitchId"),
        enable_ipsec: opt_bool(p, "", "EnableIpsec")?,
        enable_ssl: opt_bool(p, "", "EnableSsl")?,
        network_type: opt_parse(p, "NetworkType")?,
        resource_group_id: opt(p, "ResourceGroupId"),
        tags: tags(p, "Tags")?,
    };
    let g = ctx.control.create_vpn_gateway(&req)?.gateway;
    Ok(json!({"VpnGatewayId": g.id.to_string(), "Name": g.name, "OrderId": 0}))
}

pub fn describe_vpn_gateway(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let v = ctx
        .control
        .describe_vpn_gateway(&req_parse(p, "VpnGatewayId")?)?;
    Ok(render::gateway(&v))
}

pub fn describe_vpn_gateways(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::DescribeVpnGatewaysRequest {
        vpn_gateway_id: opt_parse(p, "VpnGatewayId")?,
        vpc_id: opt(p, "VpcId"),
        status: opt_parse(p, "Status")?,
        tags: tags(p, "Tag")?,
        page: page(p)?,
    };
    let page = ctx.control.describe_vpn_gateways(&req)?;
    let mut m = render::page_fields(&page);
    m.insert(
        "VpnGateways".into(),
        json!({"VpnGateway": page.items.iter().map(render::gateway).collect::<Vec<_>>()}),
    );
    Ok(Value::Object(m))
}

pub fn modify_vpn_gateway_attribute(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::ModifyVpnGatewayAttributeRequest {
        client_token: token(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        name: opt(p, "Name"),
        description: opt(p, "Description"),
        auto_propagate: opt_bool(p, "", "AutoPropagate")?,
    };
    let v = ctx.control.modify_vpn_gateway_attribute(&req)?;
    Ok(render::gateway(&v))
}

pub fn delete_vpn_gateway(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    ctx.control
        .delete_vpn_gateway(token(p)?.as_deref(), &req_parse(p, "VpnGatewayId")?)?;
    Ok(json!({}))
}

pub fn describe_vpn_gateway_available_zones(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    // `Spec` is required by the provider; every spec is served by every zone here.
    let _spec = req(p, "Spec")?;
    let zones = ctx.control.available_zones()?;
    Ok(json!({
        "RegionId": p.str("RegionId").unwrap_or_default(),
        "AvailableZoneIdList": zones.iter().map(|z| json!({"ZoneId": z.to_string(), "ZoneName": z.to_string()})).collect::<Vec<_>>(),
    }))
}

// ---- customer gateway -----------------------------------------------------------------------

pub fn create_customer_gateway(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let ip = req(p, "IpAddress")?;
    let req = rq::CreateCustomerGatewayRequest {
        client_token: token(p)?,
        ip_address: ip.trim().parse().map_err(|_| {
            ControlError::illegal(
                "IpAddress",
                format!("The specified \"IpAddress\" ({ip:?}) is not an IPv4 address."),
            )
        })?,
        asn: opt(p, "Asn"),
        auth_key: opt(p, "AuthKey"),
        name: opt(p, "Name"),
        description: opt(p, "Description"),
        resource_group_id: opt(p, "ResourceGroupId"),
        tags: tags(p, "Tags")?,
    };
    let c = ctx.control.create_customer_gateway(&req)?;
    Ok(json!({
        "CustomerGatewayId": c.id.to_string(),
        "Name": c.name.clone().unwrap_or_default(),
        "Description": c.description.clone().unwrap_or_default(),
        "IpAddress": c.ip_address.to_string(),
        "CreateTime": c.create_time_ms,
    }))
}

pub fn describe_customer_gateway(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let c = ctx
        .control
        .describe_customer_gateway(&req_parse(p, "CustomerGatewayId")?)?;
    Ok(render::customer_gateway(&c))
}

pub fn describe_customer_gateways(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::DescribeCustomerGatewaysRequest {
        customer_gateway_id: opt_parse(p, "CustomerGatewayId")?,
        tags: tags(p, "Tag")?,
        page: page(p)?,
    };
    let page = ctx.control.describe_customer_gateways(&req)?;
    let mut m = render::page_fields(&page);
    m.insert(
        "CustomerGateways".into(),
        json!({"CustomerGateway": page.items.iter().map(render::customer_gateway).collect::<Vec<_>>()}),
    );
    Ok(Value::Object(m))
}

pub fn modify_customer_gateway_attribute(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::ModifyCustomerGatewayAttributeRequest {
        client_token: token(p)?,
        customer_gateway_id: req_parse(p, "CustomerGatewayId")?,
        name: opt(p, "Name"),
        description: opt(p, "Description"),
        auth_key: opt(p, "AuthKey"),
    };
    let c = ctx.control.modify_customer_gateway_attribute(&req)?;
    Ok(render::customer_gateway(&c))
}

pub fn delete_customer_gateway(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    ctx.control
        .delete_customer_gateway(token(p)?.as_deref(), &req_parse(p, "CustomerGatewayId")?)?;
    Ok(json!({}))
}

// ---- IPsec connection -----------------------------------------------------------------------

pub fn create_vpn_connection(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    refuse_single_tunnel_params(p)?;
    let req = rq::CreateVpnConnectionRequest {
        client_token: token(p)?,
        dry_run: dry_run(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        name: opt(p, "Name"),
        local_subnet: req_subnets(p, "LocalSubnet")?,
        remote_subnet: req_subnets(p, "RemoteSubnet")?,
        effect_immediately: opt_bool(p, "", "EffectImmediately")?,
        auto_config_route: opt_bool(p, "", "AutoConfigRoute")?,
        enable_tunnels_bgp: opt_bool(p, "", "EnableTunnelsBgp")?,
        tunnels: tunnel_list(p)?,
        resource_group_id: opt(p, "ResourceGroupId"),
        tags: tags(p, "Tags")?,
    };
    let c = ctx.control.create_vpn_connection(&req)?.connection;
    Ok(json!({"VpnConnectionId": c.id.to_string(), "Name": c.name, "CreateTime": c.create_time_ms}))
}

pub fn modify_vpn_connection_attribute(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    refuse_single_tunnel_params(p)?;
    let req = rq::ModifyVpnConnectionAttributeRequest {
        client_token: token(p)?,
        vpn_connection_id: req_parse(p, "VpnConnectionId")?,
        vpn_gateway_id: opt_parse(p, "VpnGatewayId")?,
        name: opt(p, "Name"),
        local_subnet: opt_subnets(p, "LocalSubnet")?,
        remote_subnet: opt_subnets(p, "RemoteSubnet")?,
        effect_immediately: opt_bool(p, "", "EffectImmediately")?,
        auto_config_route: opt_bool(p, "", "AutoConfigRoute")?,
        enable_tunnels_bgp: opt_bool(p, "", "EnableTunnelsBgp")?,
        tunnels: tunnel_list(p)?,
    };
    let v = ctx.control.modify_vpn_connection_attribute(&req)?;
    Ok(render::connection(&v, "Tags", Typing::Modify))
}

pub fn modify_tunnel_attribute(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, false)?;
    let req = rq::ModifyTunnelAttributeRequest {
        client_token: token(p)?,
        vpn_connection_id: req_parse(p, "VpnConnectionId")?,
        tunnel_id: req_parse(p, "TunnelId")?,
        options: tunnel_options(
            &p.object("TunnelOptionsSpecification"),
            "TunnelOptionsSpecification",
        )?,
    };
    let t = ctx.control.modify_tunnel_attribute(&req)?;
    // `TunnelBgpConfig.EnableBgp` is the connection's switch; read it back with the same view.
    let v = ctx
        .control
        .describe_vpn_connection(&req.vpn_connection_id)?;
    Ok(render::tunnel(
        &t,
        v.connection.enable_tunnels_bgp,
        Typing::Modify,
    ))
}

pub fn delete_vpn_connection(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    ctx.control
        .delete_vpn_connection(token(p)?.as_deref(), &req_parse(p, "VpnConnectionId")?)?;
    Ok(json!({}))
}

pub fn describe_vpn_connection(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let v = ctx
        .control
        .describe_vpn_connection(&req_parse(p, "VpnConnectionId")?)?;
    Ok(render::connection(&v, "Tags", Typing::Describe))
}

pub fn describe_vpn_connection_logs(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::DescribeVpnConnectionLogsRequest {
        vpn_connection_id: req_parse(p, "VpnConnectionId")?,
        tunnel_id: opt_parse(p, "TunnelId")?,
        from: opt_int(p, "", "From")?,
        to: opt_int(p, "", "To")?,
        minute_period: opt_int(p, "", "MinutePeriod")?,
        page: page(p)?,
    };
    let logs = ctx.control.describe_vpn_connection_logs(&req)?;
    Ok(render::connection_logs(&logs))
}

pub fn describe_vpn_connections(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::DescribeVpnConnectionsRequest {
        vpn_connection_id: opt_parse(p, "VpnConnectionId")?,
        vpn_gateway_id: opt_parse(p, "VpnGatewayId")?,
        customer_gateway_id: opt_parse(p, "CustomerGatewayId")?,
        tags: tags(p, "Tag")?,
        page: page(p)?,
    };
    let page = ctx.control.describe_vpn_connections(&req)?;
    let mut m = render::page_fields(&page);
    m.insert(
        "VpnConnections".into(),
        json!({"VpnConnection": page.items.iter().map(|c| render::connection(c, "Tag", Typing::Describe)).collect::<Vec<_>>()}),
    );
    Ok(Value::Object(m))
}

pub fn download_vpn_connection_config(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let v = ctx
        .control
        .describe_vpn_connection(&req_parse(p, "VpnConnectionId")?)?;
    Ok(json!({"VpnConnectionConfig": render::peer_config(&v)}))
}

// ---- routes ---------------------------------------------------------------------------------

fn overlay(p: &Params) -> Option<String> {
    opt(p, "OverlayMode")
}

pub fn create_vpn_route_entry(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::CreateVpnRouteEntryRequest {
        client_token: token(p)?,
        dry_run: dry_run(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        route_dest: req_net(p, "RouteDest")?,
        next_hop: req_parse(p, "NextHop")?,
        weight: req_int(p, "Weight")?,
        publish_vpc: req_bool(p, "PublishVpc")?,
        description: opt(p, "Description"),
        overlay_mode: overlay(p),
    };
    let r = ctx.control.create_vpn_route_entry(&req)?;
    Ok(render::route(&r))
}

pub fn delete_vpn_route_entry(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::DeleteVpnRouteEntryRequest {
        client_token: token(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        route_dest: req_net(p, "RouteDest")?,
        next_hop: req_parse(p, "NextHop")?,
        weight: req_int(p, "Weight")?,
        overlay_mode: overlay(p),
    };
    ctx.control.delete_vpn_route_entry(&req)?;
    Ok(json!({}))
}

pub fn modify_vpn_route_entry_weight(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::ModifyVpnRouteEntryWeightRequest {
        client_token: token(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        route_dest: req_net(p, "RouteDest")?,
        next_hop: req_parse(p, "NextHop")?,
        weight: req_int(p, "Weight")?,
        new_weight: req_int(p, "NewWeight")?,
        overlay_mode: overlay(p),
    };
    ctx.control.modify_vpn_route_entry_weight(&req)?;
    Ok(json!({}))
}

pub fn describe_vpn_route_entries(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::DescribeVpnRouteEntriesRequest {
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        route_entry_type: opt_parse(p, "RouteEntryType")?,
        page: page(p)?,
    };
    // One count, of the kind listed: custom routes have no `Source`; BGP-learned ones come from
    // the IDC (`VPN_BGP`, as DescribeVcoRouteEntries names them).
    let (mut m, entries, count) = match ctx.control.describe_vpn_route_entries(&req)? {
        rq::RouteEntriesPage::Custom(page) => (
            render::page_fields(&page),
            page.items.iter().map(render::route).collect::<Vec<_>>(),
            json!({"RouteEntryType": "custom", "Source": "", "RouteCount": page.total_count}),
        ),
        rq::RouteEntriesPage::Bgp(page) => (
            render::page_fields(&page),
            page.items.iter().map(render::bgp_route).collect::<Vec<_>>(),
            json!({"RouteEntryType": "bgp", "Source": render::BGP_SOURCE_IDC, "RouteCount": page.total_count}),
        ),
    };
    m.insert("VpnRouteEntries".into(), json!({"VpnRouteEntry": entries}));
    m.insert("VpnRouteCounts".into(), json!({"VpnRouteCount": [count]}));
    Ok(Value::Object(m))
}

pub fn create_vpn_pbr_route_entry(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::CreateVpnPbrRouteEntryRequest {
        client_token: token(p)?,
        dry_run: dry_run(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        route_source: req_net(p, "RouteSource")?,
        route_dest: req_net(p, "RouteDest")?,
        next_hop: req_parse(p, "NextHop")?,
        weight: req_int(p, "Weight")?,
        priority: opt_int(p, "", "Priority")?,
        publish_vpc: req_bool(p, "PublishVpc")?,
        description: opt(p, "Description"),
        overlay_mode: overlay(p),
    };
    let r = ctx.control.create_vpn_pbr_route_entry(&req)?;
    Ok(render::pbr_route(&r))
}

pub fn delete_vpn_pbr_route_entry(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::DeleteVpnPbrRouteEntryRequest {
        client_token: token(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        route_source: req_net(p, "RouteSource")?,
        route_dest: req_net(p, "RouteDest")?,
        next_hop: req_parse(p, "NextHop")?,
        weight: req_int(p, "Weight")?,
        priority: opt_int(p, "", "Priority")?,
        overlay_mode: overlay(p),
    };
    ctx.control.delete_vpn_pbr_route_entry(&req)?;
    Ok(json!({}))
}

pub fn describe_vpn_pbr_route_entries(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let gw = req_parse(p, "VpnGatewayId")?;
    let page = ctx.control.describe_vpn_pbr_route_entries(&gw, page(p)?)?;
    let mut m = render::page_fields(&page);
    m.insert(
        "VpnPbrRouteEntries".into(),
        json!({"VpnPbrRouteEntry": page.items.iter().map(render::pbr_route).collect::<Vec<_>>()}),
    );
    Ok(Value::Object(m))
}

pub fn publish_vpn_route_entry(ctx: &Ctx, p: &Params) -> R {
    region(ctx, p, true)?;
    let req = rq::PublishVpnRouteEntryRequest {
        client_token: token(p)?,
        vpn_gateway_id: req_parse(p, "VpnGatewayId")?,
        route_dest: req_net(p, "RouteDest")?,
        next_hop: req_parse(p, "NextHop")?,
        route_type: req_parse(p, "RouteType")?,
        publish_vpc: req_bool(p, "PublishVpc")?,
    };
    ctx.control.publish_vpn_route_entry(&req)?;
    Ok(json!({}))
}
