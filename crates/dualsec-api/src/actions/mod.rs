//! The action table: name → parameters, response fields, handler. The router dispatches on it, the
//! CLI builds its flags from it, and the OpenAPI document is generated from it.

pub mod catalog;
mod handlers;
mod input;
pub mod render;

use std::sync::Arc;

use serde_json::Value;

use crate::error::ApiError;
use crate::params::Params;

/// The parameter's wire type (everything arrives as a string; this is how it must parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Free text or an enumeration.
    Str,
    /// Decimal integer.
    Int,
    /// `true`/`false`, case-insensitive.
    Bool,
}

/// Where the provider's SDK puts the parameter (the server accepts either place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// URL query.
    Query,
    /// `application/x-www-form-urlencoded` body.
    Body,
}

/// One request parameter of an action (api-reference §6 tables).
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Wire name; `N` stands for a 1-based array index (`Tags.N.Key`).
    pub name: &'static str,
    /// Type.
    pub ty: Ty,
    /// Required by the provider.
    pub required: bool,
    /// Where the SDK sends it.
    pub loc: Loc,
    /// Allowed values, default and notes.
    pub doc: &'static str,
}

/// What a handler gets besides the parameters.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The control service.
    pub control: Arc<dualsec_control::Control>,
    /// This request's id (also the default `ClientToken`, api-reference §3).
    pub request_id: String,
}

/// An action handler: parameters in, response JSON (without `RequestId`) out.
pub type Handler = fn(&Ctx, &Params) -> Result<Value, ApiError>;

/// One served action.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    /// Provider action name.
    pub name: &'static str,
    /// Resource group (OpenAPI tag).
    pub group: &'static str,
    /// One line.
    pub summary: &'static str,
    /// The HTTP method the provider's SDK uses (both are accepted).
    pub method: &'static str,
    /// Parameters.
    pub params: &'static [ParamSpec],
    /// Top-level response fields.
    pub response: &'static [&'static str],
    /// The handler.
    pub handler: Handler,
}

macro_rules! action {
    ($name:literal, $group:literal, $method:literal, $params:expr, [$($resp:literal),* $(,)?], $handler:path, $summary:literal) => {
        ActionSpec {
            name: $name,
            group: $group,
            summary: $summary,
            method: $method,
            params: $params,
            response: &[$($resp),*],
            handler: $handler,
        }
    };
}

use catalog as c;
use handlers as h;

/// Every action served, in documentation order.
pub const ACTIONS: &[ActionSpec] = &[
    action!(
        "CreateVpnGateway",
        "VPN gateway",
        "POST",
        c::CREATE_VPN_GATEWAY,
        ["Name", "OrderId", "RequestId", "VpnGatewayId"],
        h::create_vpn_gateway,
        "Create a VPN gateway; its two public IPs come from the host's pool (one per zone when there are two)."
    ),
    action!(
        "DescribeVpnGateway",
        "VPN gateway",
        "POST",
        c::DESCRIBE_VPN_GATEWAY,
        [
            "AutoPropagate",
            "BusinessStatus",
            "ChargeType",
            "CreateTime",
            "Description",
            "DisasterRecoveryInternetIp",
            "DisasterRecoveryVSwitchId",
            "EnableBgp",
            "EndTime",
            "GatewayType",
            "InternetIp",
            "IpsecVpn",
            "Name",
            "NetworkType",
            "RequestId",
            "ResourceGroupId",
            "Spec",
            "SslMaxConnections",
            "SslVpn",
            "SslVpnInternetIp",
            "Status",
            "Tag",
            "Tags",
            "VSwitchId",
            "VpcId",
            "VpnGatewayId",
            "VpnType"
        ],
        h::describe_vpn_gateway,
        "Describe one VPN gateway."
    ),
    action!(
        "DescribeVpnGateways",
        "VPN gateway",
        "POST",
        c::DESCRIBE_VPN_GATEWAYS,
        [
            "PageNumber",
            "PageSize",
            "RequestId",
            "TotalCount",
            "VpnGateways"
        ],
        h::describe_vpn_gateways,
        "List VPN gateways (paged)."
    ),
    action!(
        "ModifyVpnGatewayAttribute",
        "VPN gateway",
        "POST",
        c::MODIFY_VPN_GATEWAY_ATTRIBUTE,
        [
            "AutoPropagate",
            "BusinessStatus",
            "CreateTime",
            "Description",
            "DisasterRecoveryInternetIp",
            "DisasterRecoveryVSwitchId",
            "EnableBgp",
            "EndTime",
            "InternetIp",
            "IntranetIp",
            "Name",
            "RequestId",
            "ResourceGroupId",
            "Spec",
            "SslVpnInternetIp",
            "Status",
            "VSwitchId",
            "VpcId",
            "VpnGatewayId"
        ],
        h::modify_vpn_gateway_attribute,
        "Change a VPN gateway's name, description or route auto-propagation."
    ),
    action!(
        "DeleteVpnGateway",
        "VPN gateway",
        "POST",
        c::DELETE_VPN_GATEWAY,
        ["RequestId"],
        h::delete_vpn_gateway,
        "Delete a VPN gateway that has no IPsec connections."
    ),
    action!(
        "DescribeVpnGatewayAvailableZones",
        "VPN gateway",
        "GET",
        c::DESCRIBE_VPN_GATEWAY_AVAILABLE_ZONES,
        ["AvailableZoneIdList", "RegionId", "RequestId"],
        h::describe_vpn_gateway_available_zones,
        "List the zones of the host's public-IP pool."
    ),
    action!(
        "CreateCustomerGateway",
        "Customer gateway",
        "POST",
        c::CREATE_CUSTOMER_GATEWAY,
        [
            "CreateTime",
            "CustomerGatewayId",
            "Description",
            "IpAddress",
            "Name",
            "RequestId"
        ],
        h::create_customer_gateway,
        "Register the customer's device: its IP and optional BGP ASN."
    ),
    action!(
        "DescribeCustomerGateway",
        "Customer gateway",
        "POST",
        c::DESCRIBE_CUSTOMER_GATEWAY,
        [
            "Asn",
            "AuthKey",
            "CreateTime",
            "CustomerGatewayId",
            "Description",
            "IpAddress",
            "Name",
            "RequestId",
            "ResourceGroupId",
            "Tags"
        ],
        h::describe_customer_gateway,
        "Describe one customer gateway."
    ),
    action!(
        "DescribeCustomerGateways",
        "Customer gateway",
        "POST",
        c::DESCRIBE_CUSTOMER_GATEWAYS,
        [
            "CustomerGateways",
            "PageNumber",
            "PageSize",
            "RequestId",
            "TotalCount"
        ],
        h::describe_customer_gateways,
        "List customer gateways (paged)."
    ),
    action!(
        "ModifyCustomerGatewayAttribute",
        "Customer gateway",
        "POST",
        c::MODIFY_CUSTOMER_GATEWAY_ATTRIBUTE,
        [
            "CreateTime",
            "CustomerGatewayId",
            "Description",
            "IpAddress",
            "Name",
            "RequestId",
            "ResourceGroupId"
        ],
        h::modify_customer_gateway_attribute,
        "Change a customer gateway's name, description or BGP auth key."
    ),
    action!(
        "DeleteCustomerGateway",
        "Customer gateway",
        "POST",
        c::DELETE_CUSTOMER_GATEWAY,
        ["RequestId"],
        h::delete_customer_gateway,
        "Delete a customer gateway no connection uses."
    ),
    action!(
        "CreateVpnConnection",
        "IPsec connection",
        "POST",
        c::CREATE_VPN_CONNECTION,
        ["CreateTime", "Name", "RequestId", "VpnConnectionId"],
        h::create_vpn_connection,
        "Create a dual-tunnel IPsec connection (tunnel 1 master, tunnel 2 backup)."
    ),
    action!(
        "ModifyVpnConnectionAttribute",
        "IPsec connection",
        "POST",
        c::MODIFY_VPN_CONNECTION_ATTRIBUTE,
        [
            "CreateTime",
            "CustomerGatewayId",
            "Description",
            "EffectImmediately",
            "EnableDpd",
            "EnableNatTraversal",
            "EnableTunnelsBgp",
            "IkeConfig",
            "IpsecConfig",
            "LocalSubnet",
            "Name",
            "RemoteSubnet",
            "RequestId",
            "ResourceGroupId",
            "TunnelOptionsSpecification",
            "VcoHealthCheck",
            "VpnBgpConfig",
            "VpnConnectionId",
            "VpnGatewayId"
        ],
        h::modify_vpn_connection_attribute,
        "Change a connection's name, CIDRs, effect-immediately, BGP switch or tunnels."
    ),
    action!(
        "ModifyTunnelAttribute",
        "IPsec connection",
        "POST",
        c::MODIFY_TUNNEL_ATTRIBUTE,
        [
            "CustomerGatewayId",
            "EnableDpd",
            "EnableNatTraversal",
            "InternetIp",
            "RemoteCaCertificate",
            "RequestId",
            "Role",
            "State",
            "TunnelBgpConfig",
            "TunnelId",
            "TunnelIkeConfig",
            "TunnelIpsecConfig",
            "ZoneNo"
        ],
        h::modify_tunnel_attribute,
        "Change one tunnel's settings."
    ),
    action!(
        "DeleteVpnConnection",
        "IPsec connection",
        "POST",
        c::DELETE_VPN_CONNECTION,
        ["RequestId"],
        h::delete_vpn_connection,
        "Delete an IPsec connection."
    ),
    action!(
        "DescribeVpnConnection",
        "IPsec connection",
        "POST",
        c::DESCRIBE_VPN_CONNECTION,
        [
            "AttachType",
            "CreateTime",
            "CustomerGatewayId",
            "EffectImmediately",
            "EnableDpd",
            "EnableNatTraversal",
            "EnableTunnelsBgp",
            "Failover",
            "IkeConfig",
            "InternetIp",
            "IpsecConfig",
            "LocalSubnet",
            "Name",
            "NetworkType",
            "RemoteSubnet",
            "RequestId",
            "ResourceGroupId",
            "State",
            "Status",
            "Tags",
            "TunnelOptionsSpecification",
            "VpnBgpConfig",
            "VpnConnectionId",
            "VpnGatewayId",
            "ZoneNo"
        ],
        h::describe_vpn_connection,
        "Describe one IPsec connection with both tunnels."
    ),
    action!(
        "DescribeVpnConnections",
        "IPsec connection",
        "POST",
        c::DESCRIBE_VPN_CONNECTIONS,
        [
            "PageNumber",
            "PageSize",
            "RequestId",
            "TotalCount",
            "VpnConnections"
        ],
        h::describe_vpn_connections,
        "List IPsec connections (paged)."
    ),
    action!(
        "DescribeVpnConnectionLogs",
        "IPsec connection",
        "POST",
        c::DESCRIBE_VPN_CONNECTION_LOGS,
        [
            "Count",
            "Data",
            "IsCompleted",
            "PageNumber",
            "PageSize",
            "RequestId"
        ],
        h::describe_vpn_connection_logs,
        "The connection's event log: negotiations, SA changes, failover and failback with reasons."
    ),
    action!(
        "DownloadVpnConnectionConfig",
        "IPsec connection",
        "POST",
        c::DOWNLOAD_VPN_CONNECTION_CONFIG,
        ["RequestId", "VpnConnectionConfig"],
        h::download_vpn_connection_config,
        "The configuration for the customer's device (mirrored view)."
    ),
    action!(
        "CreateVpnRouteEntry",
        "VPN route",
        "POST",
        c::CREATE_VPN_ROUTE_ENTRY,
        [
            "CreateTime",
            "Description",
            "NextHop",
            "OverlayMode",
            "RequestId",
            "RouteDest",
            "State",
            "VpnInstanceId",
            "Weight"
        ],
        h::create_vpn_route_entry,
        "Add a destination-based route via a connection."
    ),
    action!(
        "DeleteVpnRouteEntry",
        "VPN route",
        "POST",
        c::DELETE_VPN_ROUTE_ENTRY,
        ["RequestId"],
        h::delete_vpn_route_entry,
        "Remove a destination-based route."
    ),
    action!(
        "ModifyVpnRouteEntryWeight",
        "VPN route",
        "POST",
        c::MODIFY_VPN_ROUTE_ENTRY_WEIGHT,
        ["RequestId"],
        h::modify_vpn_route_entry_weight,
        "Change a destination-based route's weight."
    ),
    action!(
        "DescribeVpnRouteEntries",
        "VPN route",
        "POST",
        c::DESCRIBE_VPN_ROUTE_ENTRIES,
        [
            "PageNumber",
            "PageSize",
            "RequestId",
            "TotalCount",
            "VpnRouteCounts",
            "VpnRouteEntries"
        ],
        h::describe_vpn_route_entries,
        "List destination-based routes of a gateway, or with RouteEntryType=bgp the routes its tunnels' BGP sessions learned."
    ),
    action!(
        "CreateVpnPbrRouteEntry",
        "VPN route",
        "POST",
        c::CREATE_VPN_PBR_ROUTE_ENTRY,
        [
            "CreateTime",
            "Description",
            "NextHop",
            "OverlayMode",
            "Priority",
            "RequestId",
            "RouteDest",
            "RouteSource",
            "State",
            "VpnInstanceId",
            "Weight"
        ],
        h::create_vpn_pbr_route_entry,
        "Add a policy-based route via a connection."
    ),
    action!(
        "DeleteVpnPbrRouteEntry",
        "VPN route",
        "POST",
        c::DELETE_VPN_PBR_ROUTE_ENTRY,
        ["RequestId"],
        h::delete_vpn_pbr_route_entry,
        "Remove a policy-based route."
    ),
    action!(
        "DescribeVpnPbrRouteEntries",
        "VPN route",
        "POST",
        c::DESCRIBE_VPN_PBR_ROUTE_ENTRIES,
        [
            "PageNumber",
            "PageSize",
            "RequestId",
            "TotalCount",
            "VpnPbrRouteEntries"
        ],
        h::describe_vpn_pbr_route_entries,
        "List policy-based routes of a gateway."
    ),
    action!(
        "PublishVpnRouteEntry",
        "VPN route",
        "POST",
        c::PUBLISH_VPN_ROUTE_ENTRY,
        ["RequestId"],
        h::publish_vpn_route_entry,
        "Publish a route to, or withdraw it from, the VPC route table."
    ),
];

/// The action named `name` (exact, case-sensitive like the provider).
pub fn find(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_and_params_documented() {
        let mut names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
        assert_eq!(n, 27);
        for a in ACTIONS {
            assert!(
                a.params.iter().any(|p| p.name == "RegionId"),
                "{} lacks RegionId",
                a.name
            );
            assert!(a.response.contains(&"RequestId"), "{}", a.name);
        }
    }

    #[test]
    fn available_zones_is_get_like_the_sdk() {
        assert_eq!(
            find("DescribeVpnGatewayAvailableZones").map(|a| a.method),
            Some("GET")
        );
        assert_eq!(find("CreateVpnConnection").map(|a| a.method), Some("POST"));
        assert!(find("createvpnconnection").is_none());
    }
}
