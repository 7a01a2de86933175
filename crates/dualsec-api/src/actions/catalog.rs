//! The action catalog: every action served, its parameters and response fields, transcribed from
//! api-reference §6 (the SDK models). The router, the CLI and the OpenAPI document all read this
//! one table, so they cannot drift apart. Generated once from the reference tables, then kept by hand.

use super::{Loc, ParamSpec, Ty};

/// `CreateVpnGateway` parameters.
pub const CREATE_VPN_GATEWAY: &[ParamSpec] = &[
    ParamSpec { name: "AutoPay", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: false. Must be true for the instance to be created without manual payment" },
    ParamSpec { name: "Bandwidth", ty: Ty::Int, required: true, loc: Loc::Query, doc: "Mbit/s. intl: public 10,100,200,500,1000; private 200,1000. china: public 5,10,20,50,100,200,500,1000. Some regions max 500" },
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "DisasterRecoveryVSwitchId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Second vSwitch (other zone) for dual-tunnel gateways" },
    ParamSpec { name: "EnableIpsec", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: true" },
    ParamSpec { name: "EnableSsl", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: false" },
    ParamSpec { name: "InstanceChargeType", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: POSTPAY. intl/partner: POSTPAY (pay-as-you-go); china site: PREPAY (required there)" },
    ParamSpec { name: "Name", ty: Ty::Str, required: false, loc: Loc::Query, doc: "2-100 chars, starts with a letter, [A-Za-z0-9_.-], not http(s)://; default = gateway ID" },
    ParamSpec { name: "NetworkType", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: public, private. Default: public" },
    ParamSpec { name: "Period", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 1..9. Months: 1..9, 12, 24, 36; required only when PREPAY" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "ResourceGroupId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "SslConnections", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 5, 10, 20, 50, 100, 200, 500, 1000. Default: 5. Max concurrent SSL clients" },
    ParamSpec { name: "VSwitchId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Dual-tunnel regions: required, together with DisasterRecoveryVSwitchId. Single-tunnel regions: optional (auto-picked)" },
    ParamSpec { name: "VpcId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnType", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Normal. Default: Normal. Normal (default); NationalStandard (ShangMi, China site only)" },
];
/// `DescribeVpnGateway` parameters.
pub const DESCRIBE_VPN_GATEWAY: &[ParamSpec] = &[
    ParamSpec { name: "IncludeReservationData", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: false, true. Default: false" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DescribeVpnGateways` parameters.
pub const DESCRIBE_VPN_GATEWAYS: &[ParamSpec] = &[
    ParamSpec { name: "BusinessStatus", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Normal, FinancialLocked" },
    ParamSpec { name: "GatewayType", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Traditional / Enhanced.SiteToSite (values not bold in SDK comment)" },
    ParamSpec { name: "IncludeReservationData", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: false, true. Default: false" },
    ParamSpec { name: "PageNumber", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 1. default 1" },
    ParamSpec { name: "PageSize", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 1..50. Default: 10. 1..50, default 10" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "ResourceGroupId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Status", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: init, provisioning, active, updating, deleting. Filter by gateway status" },
    ParamSpec { name: "Tag.N.Key", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tag.N.Value", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpcId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
];
/// `ModifyVpnGatewayAttribute` parameters.
pub const MODIFY_VPN_GATEWAY_ATTRIBUTE: &[ParamSpec] = &[
    ParamSpec { name: "AutoPropagate", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Before disabling, BGP must be disabled on all IPsec connections of the gateway" },
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Description", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars" },
    ParamSpec { name: "Name", ty: Ty::Str, required: false, loc: Loc::Query, doc: "2-100 chars, starts with letter" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DeleteVpnGateway` parameters.
pub const DELETE_VPN_GATEWAY: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DescribeVpnGatewayAvailableZones` parameters.
pub const DESCRIBE_VPN_GATEWAY_AVAILABLE_ZONES: &[ParamSpec] = &[
    ParamSpec { name: "AcceptLanguage", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: zh-CN, en-US. Default: en-US" },
    ParamSpec { name: "GatewayType", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Traditional, Enhanced.SiteToSite. Omitted ⇒ zones for all gateway types" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Spec", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Allowed: 5M, 10M, 20M, 50M, 100M, 200M, 500M, 1000M. Required" },
];
/// `CreateCustomerGateway` parameters.
pub const CREATE_CUSTOMER_GATEWAY: &[ParamSpec] = &[
    ParamSpec { name: "Asn", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Type is **String** in the request model (Integer in responses). 1..4294967295; **45104 is rejected**; two-segment notation a.b = a*65536+b (e.g. 123.456 ⇒ 8061384). Needed only for BGP" },
    ParamSpec { name: "AuthKey", ty: Ty::Str, required: false, loc: Loc::Query, doc: "BGP MD5 auth key; 1-64 ASCII chars, no spaces/Chinese chars/?" },
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Description", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, not http(s)://" },
    ParamSpec { name: "IpAddress", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Static IP of the on-prem device (public IP for public connections, private IP for private connections). Not allowed: 100.64.0.0–100.127.255.255, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0–239.255.255.255, 255.0.0.0–255.255.255.255" },
    ParamSpec { name: "Name", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, not http(s)://" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "ResourceGroupId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tags.N.Key", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tags.N.Value", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
];
/// `DescribeCustomerGateway` parameters.
pub const DESCRIBE_CUSTOMER_GATEWAY: &[ParamSpec] = &[
    ParamSpec { name: "CustomerGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DescribeCustomerGateways` parameters.
pub const DESCRIBE_CUSTOMER_GATEWAYS: &[ParamSpec] = &[
    ParamSpec { name: "CustomerGatewayId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Omitted ⇒ all customer gateways in the region" },
    ParamSpec { name: "PageNumber", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 1" },
    ParamSpec { name: "PageSize", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 10. max 50, default 10" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "ResourceGroupId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tag.N.Key", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tag.N.Value", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
];
/// `ModifyCustomerGatewayAttribute` parameters.
pub const MODIFY_CUSTOMER_GATEWAY_ATTRIBUTE: &[ParamSpec] = &[
    ParamSpec { name: "AuthKey", ty: Ty::Str, required: false, loc: Loc::Query, doc: "BGP MD5 auth key; 1-64 ASCII chars, no spaces/Chinese chars/?" },
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "CustomerGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Description", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, not http(s)://" },
    ParamSpec { name: "Name", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, not http(s)://" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DeleteCustomerGateway` parameters.
pub const DELETE_CUSTOMER_GATEWAY: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "CustomerGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `CreateVpnConnection` parameters.
pub const CREATE_VPN_CONNECTION: &[ParamSpec] = &[
    ParamSpec { name: "AutoConfigRoute", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: true. Automatically configure (publish) routes" },
    ParamSpec { name: "BgpConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON string; keys in §4.3" },
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Idempotency token, ASCII, ≤64 chars; defaults to RequestId" },
    ParamSpec { name: "CustomerGatewayId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Required in single-tunnel mode; in dual-tunnel mode use TunnelOptionsSpecification.N.CustomerGatewayId" },
    ParamSpec { name: "DryRun", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "true ⇒ only validate; success is signalled by error code DryRunOperation (wording from route-entry docs)" },
    ParamSpec { name: "EffectImmediately", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: false. true = negotiate immediately after config; false = negotiate when traffic arrives" },
    ParamSpec { name: "EnableDpd", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: true. Single-tunnel mode only (per-tunnel value in TunnelOptionsSpecification for dual-tunnel)" },
    ParamSpec { name: "EnableNatTraversal", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: true. Single-tunnel mode only (per-tunnel value in TunnelOptionsSpecification for dual-tunnel)" },
    ParamSpec { name: "EnableTunnelsBgp", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: false. Dual-tunnel mode only: enables BGP on the tunnels (then TunnelBgpConfig applies)" },
    ParamSpec { name: "HealthCheckConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON string; keys in §4.4" },
    ParamSpec { name: "IkeConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON object serialized to a string; keys in §4.1" },
    ParamSpec { name: "IpsecConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON string; keys in §4.2" },
    ParamSpec { name: "LocalSubnet", ty: Ty::Str, required: true, loc: Loc::Query, doc: "VPC-side CIDRs, comma-separated (e.g. 192.168.1.0/24,192.168.2.0/24). Both Local/RemoteSubnet = 0.0.0.0/0 ⇒ destination-routing mode; specific CIDRs ⇒ protected-data-flow (policy) mode" },
    ParamSpec { name: "Name", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, must not start with http:///https://" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RemoteCaCertificate", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Single-tunnel mode, ShangMi gateways only" },
    ParamSpec { name: "RemoteSubnet", ty: Ty::Str, required: true, loc: Loc::Query, doc: "IDC-side CIDRs, comma-separated; same mode rule as LocalSubnet" },
    ParamSpec { name: "Tags.N.Key", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tags.N.Value", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "TunnelOptionsSpecification.N.CustomerGatewayId", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Customer gateway of this tunnel (dual-tunnel mode)" },
    ParamSpec { name: "TunnelOptionsSpecification.N.EnableDpd", ty: Ty::Bool, required: false, loc: Loc::Body, doc: "Allowed: true, false. Default: true" },
    ParamSpec { name: "TunnelOptionsSpecification.N.EnableNatTraversal", ty: Ty::Bool, required: false, loc: Loc::Body, doc: "Allowed: true, false. Default: true" },
    ParamSpec { name: "TunnelOptionsSpecification.N.RemoteCaCertificate", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Only for ShangMi (SM) gateways (peer CA cert, PEM)" },
    ParamSpec { name: "TunnelOptionsSpecification.N.Role", ty: Ty::Str, required: false, loc: Loc::Body, doc: "master (active tunnel) / slave (standby tunnel). Valid values missing in the Python comment for Create; taken from Modify/Describe models" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelBgpConfig.LocalAsn", ty: Ty::Int, required: false, loc: Loc::Body, doc: "Allowed: 1..4294967295. Default: 45104. Required when EnableTunnelsBgp=true (Create doc). 1..4294967295, default 45104" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelBgpConfig.LocalBgpIp", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Must be an address inside TunnelCidr" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelBgpConfig.TunnelCidr", ty: Ty::Str, required: false, loc: Loc::Body, doc: "/30 inside 169.254.0.0/16; must NOT be 169.254.0.0/30 … 169.254.6.0/30 or 169.254.169.252/30; unique per VPN gateway" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeAuthAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: md5, sha1, sha256, sha384, sha512. Default: md5. ShangMi gateways: only sm3" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeEncAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: aes, aes192, aes256, des, 3des. Default: aes. China-site ShangMi (VpnType=NationalStandard) gateways: only sm4" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeLifetime", ty: Ty::Int, required: false, loc: Loc::Body, doc: "Allowed: 0..86400. Default: 86400" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeMode", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: main, aggressive. Default: main. ShangMi gateways: only main" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkePfs", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: group1, group2, group5, group14. Default: group2" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeVersion", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: ikev1, ikev2. Default: ikev1. ShangMi gateways: only ikev1" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.LocalId", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Tunnel-side (Alibaba) IKE identity; <=100 chars, no spaces; default = tunnel IP. FQDN or IP" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.Psk", ty: Ty::Str, required: false, loc: Loc::Body, doc: "1-100 chars, no spaces; digits, letters and ~!@#$%^&*()_-+={}[]\\" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.RemoteId", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Peer IKE identity; <=100 chars, no spaces; default = IP of the tunnel's customer gateway. FQDN form requires IkeMode=aggressive (Modify doc)" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecAuthAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: md5, sha1, sha256, sha384, sha512. Default: md5. ShangMi: only sm3" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecEncAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: aes, aes192, aes256, des, 3des. Default: aes. ShangMi: only sm4" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecLifetime", ty: Ty::Int, required: false, loc: Loc::Body, doc: "Allowed: 0..86400. Default: 86400" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecPfs", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: disabled, group1, group2, group5, group14. Default: group2" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `ModifyVpnConnectionAttribute` parameters.
pub const MODIFY_VPN_CONNECTION_ATTRIBUTE: &[ParamSpec] = &[
    ParamSpec { name: "AutoConfigRoute", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Automatically configure (publish) routes" },
    ParamSpec { name: "BgpConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON string; keys in §4.3" },
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Idempotency token, ASCII, ≤64 chars; defaults to RequestId" },
    ParamSpec { name: "EffectImmediately", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "true = renegotiate immediately; false = on traffic (values truncated in Python comment; from Go/Java SDK)" },
    ParamSpec { name: "EnableDpd", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Single-tunnel mode only (per-tunnel value in TunnelOptionsSpecification for dual-tunnel)" },
    ParamSpec { name: "EnableNatTraversal", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Single-tunnel mode only (per-tunnel value in TunnelOptionsSpecification for dual-tunnel)" },
    ParamSpec { name: "EnableTunnelsBgp", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Dual-tunnel only; enable/disable BGP on both tunnels" },
    ParamSpec { name: "HealthCheckConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON string; keys in §4.4" },
    ParamSpec { name: "IkeConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON object serialized to a string; keys in §4.1" },
    ParamSpec { name: "IpsecConfig", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: JSON string, see §4. Single-tunnel mode only. JSON string; keys in §4.2" },
    ParamSpec { name: "LocalSubnet", ty: Ty::Str, required: false, loc: Loc::Query, doc: "VPC-side CIDRs, comma-separated (e.g. 192.168.1.0/24,192.168.2.0/24). Both Local/RemoteSubnet = 0.0.0.0/0 ⇒ destination-routing mode; specific CIDRs ⇒ protected-data-flow (policy) mode" },
    ParamSpec { name: "Name", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, must not start with http:///https://" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RemoteCaCertificate", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Single-tunnel mode, ShangMi gateways only" },
    ParamSpec { name: "RemoteSubnet", ty: Ty::Str, required: false, loc: Loc::Query, doc: "IDC-side CIDRs, comma-separated; same mode rule as LocalSubnet" },
    ParamSpec { name: "TunnelOptionsSpecification.N.CustomerGatewayId", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Customer gateway of this tunnel (dual-tunnel mode)" },
    ParamSpec { name: "TunnelOptionsSpecification.N.EnableDpd", ty: Ty::Bool, required: false, loc: Loc::Body, doc: "Allowed: true, false" },
    ParamSpec { name: "TunnelOptionsSpecification.N.EnableNatTraversal", ty: Ty::Bool, required: false, loc: Loc::Body, doc: "Allowed: true, false" },
    ParamSpec { name: "TunnelOptionsSpecification.N.RemoteCaCertificate", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Only for ShangMi (SM) gateways (peer CA cert, PEM)" },
    ParamSpec { name: "TunnelOptionsSpecification.N.Role", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: master, slave. master (active tunnel) / slave (standby tunnel). Valid values missing in the Python comment for Create; taken from Modify/Describe models" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelBgpConfig.LocalAsn", ty: Ty::Int, required: false, loc: Loc::Body, doc: "Allowed: 1..4294967295. Default: 45104. Required when EnableTunnelsBgp=true (Create doc). 1..4294967295, default 45104" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelBgpConfig.LocalBgpIp", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Must be an address inside TunnelCidr" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelBgpConfig.TunnelCidr", ty: Ty::Str, required: false, loc: Loc::Body, doc: "/30 inside 169.254.0.0/16; must NOT be 169.254.0.0/30 … 169.254.6.0/30 or 169.254.169.252/30; unique per VPN gateway" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelId", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Selects which existing tunnel to modify (tun-...)" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeAuthAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "ShangMi gateways: only sm3" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeEncAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: aes, aes192, aes256, des, 3des. China-site ShangMi (VpnType=NationalStandard) gateways: only sm4" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeLifetime", ty: Ty::Int, required: false, loc: Loc::Body, doc: "Allowed: 0..86400" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeMode", ty: Ty::Str, required: false, loc: Loc::Body, doc: "ShangMi gateways: only main" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkePfs", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: group1, group2, group5, group14" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.IkeVersion", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: ikev1, ikev2. ShangMi gateways: only ikev1" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.LocalId", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Tunnel-side (Alibaba) IKE identity; <=100 chars, no spaces; default = tunnel IP. FQDN or IP" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.Psk", ty: Ty::Str, required: false, loc: Loc::Body, doc: "1-100 chars, no spaces; digits, letters and ~!@#$%^&*()_-+={}[]\\" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIkeConfig.RemoteId", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Peer IKE identity; <=100 chars, no spaces; default = IP of the tunnel's customer gateway. FQDN form requires IkeMode=aggressive (Modify doc)" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecAuthAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "ShangMi: only sm3" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecEncAlg", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: aes, aes192, aes256, des, 3des. ShangMi: only sm4" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecLifetime", ty: Ty::Int, required: false, loc: Loc::Body, doc: "Allowed: 0..86400" },
    ParamSpec { name: "TunnelOptionsSpecification.N.TunnelIpsecConfig.IpsecPfs", ty: Ty::Str, required: false, loc: Loc::Body, doc: "Allowed: disabled, group1, group2, group5, group14" },
    ParamSpec { name: "VpnConnectionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `ModifyTunnelAttribute` parameters.
pub const MODIFY_TUNNEL_ATTRIBUTE: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Not marked required in this SDK model" },
    ParamSpec { name: "TunnelId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "TunnelOptionsSpecification.CustomerGatewayId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "TunnelOptionsSpecification.EnableDpd", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false" },
    ParamSpec { name: "TunnelOptionsSpecification.EnableNatTraversal", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false" },
    ParamSpec { name: "TunnelOptionsSpecification.RemoteCaCertificate", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Only for ShangMi (SM) gateways (peer CA cert, PEM)" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelBgpConfig.LocalAsn", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 1..4294967295. Required when EnableTunnelsBgp=true (Create doc). 1..4294967295, default 45104" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelBgpConfig.LocalBgpIp", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Must be an address inside TunnelCidr" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelBgpConfig.TunnelCidr", ty: Ty::Str, required: false, loc: Loc::Query, doc: "/30 inside 169.254.0.0/16; must NOT be 169.254.0.0/30 … 169.254.6.0/30 or 169.254.169.252/30; unique per VPN gateway" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.IkeAuthAlg", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: md5, sha1, sha256, sha384, sha512. ShangMi gateways: only sm3" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.IkeEncAlg", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: aes, aes192, aes256, des, 3des. China-site ShangMi (VpnType=NationalStandard) gateways: only sm4" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.IkeLifetime", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 0..86400" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.IkeMode", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: main, aggressive. ShangMi gateways: only main" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.IkePfs", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: group1, group2, group5, group14" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.IkeVersion", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: ikev1, ikev2. ShangMi gateways: only ikev1" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.LocalId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Tunnel-side (Alibaba) IKE identity; <=100 chars, no spaces; default = tunnel IP. FQDN or IP" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.Psk", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, no spaces; digits, letters and ~!@#$%^&*()_-+={}[]\\" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIkeConfig.RemoteId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Peer IKE identity; <=100 chars, no spaces; default = IP of the tunnel's customer gateway. FQDN form requires IkeMode=aggressive (Modify doc)" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIpsecConfig.IpsecAuthAlg", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: md5, sha1, sha256, sha384, sha512. ShangMi: only sm3" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIpsecConfig.IpsecEncAlg", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: aes, aes192, aes256, des, 3des. ShangMi: only sm4" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIpsecConfig.IpsecLifetime", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 0..86400" },
    ParamSpec { name: "TunnelOptionsSpecification.TunnelIpsecConfig.IpsecPfs", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: disabled, group1, group2, group5, group14" },
    ParamSpec { name: "VpnConnectionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DeleteVpnConnection` parameters.
pub const DELETE_VPN_CONNECTION: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnConnectionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DescribeVpnConnection` parameters.
pub const DESCRIBE_VPN_CONNECTION: &[ParamSpec] = &[
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnConnectionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `DescribeVpnConnections` parameters.
pub const DESCRIBE_VPN_CONNECTIONS: &[ParamSpec] = &[
    ParamSpec { name: "CustomerGatewayId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "PageNumber", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 1" },
    ParamSpec { name: "PageSize", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 1..50. Default: 10. 1..50, default 10" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "ResourceGroupId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tag.N.Key", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Tag.N.Value", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnConnectionId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
];
/// `DownloadVpnConnectionConfig` parameters.
pub const DOWNLOAD_VPN_CONNECTION_CONFIG: &[ParamSpec] = &[
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnConnectionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `CreateVpnRouteEntry` parameters.
pub const CREATE_VPN_ROUTE_ENTRY: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Description", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: 1..100. 1-100 chars, not http(s)://" },
    ParamSpec { name: "DryRun", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: false" },
    ParamSpec { name: "NextHop", ty: Ty::Str, required: true, loc: Loc::Query, doc: "The IPsec connection ID (vco-…) used as next hop" },
    ParamSpec { name: "OverlayMode", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Ipsec. Only Ipsec" },
    ParamSpec { name: "PublishVpc", ty: Ty::Bool, required: true, loc: Loc::Query, doc: "Allowed: true, false. true publishes to the VPC **system** route table only (not custom tables)" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RouteDest", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Destination CIDR" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Weight", ty: Ty::Int, required: true, loc: Loc::Query, doc: "Allowed: 100, 0. 100 = active/high priority, 0 = standby/low priority. Active/standby routes need same dest, different next hops, different weights. Ignored for dual-tunnel gateways" },
];
/// `DeleteVpnRouteEntry` parameters.
pub const DELETE_VPN_ROUTE_ENTRY: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "NextHop", ty: Ty::Str, required: true, loc: Loc::Query, doc: "The IPsec connection ID (vco-…) used as next hop" },
    ParamSpec { name: "OverlayMode", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Ipsec. Only Ipsec" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RouteDest", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Destination CIDR" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Weight", ty: Ty::Int, required: true, loc: Loc::Query, doc: "Allowed: 0, 100. 100 = active/high priority, 0 = standby/low priority. Active/standby routes need same dest, different next hops, different weights. Ignored for dual-tunnel gateways" },
];
/// `ModifyVpnRouteEntryWeight` parameters.
pub const MODIFY_VPN_ROUTE_ENTRY_WEIGHT: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "NewWeight", ty: Ty::Int, required: true, loc: Loc::Query, doc: "Allowed: 0, 100" },
    ParamSpec { name: "NextHop", ty: Ty::Str, required: true, loc: Loc::Query, doc: "The IPsec connection ID (vco-…) used as next hop" },
    ParamSpec { name: "OverlayMode", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Ipsec. Only Ipsec" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RouteDest", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Destination CIDR" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Weight", ty: Ty::Int, required: true, loc: Loc::Query, doc: "Allowed: 0, 100. 100 = active/high priority, 0 = standby/low priority. Active/standby routes need same dest, different next hops, different weights. Ignored for dual-tunnel gateways" },
];
/// `DescribeVpnRouteEntries` parameters.
pub const DESCRIBE_VPN_ROUTE_ENTRIES: &[ParamSpec] = &[
    ParamSpec { name: "PageNumber", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 1" },
    ParamSpec { name: "PageSize", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 10. max 50, default 10" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RouteEntryType", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: custom, bgp. Default: custom. custom (default, destination routes) / bgp (BGP-learned routes)" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `CreateVpnPbrRouteEntry` parameters.
pub const CREATE_VPN_PBR_ROUTE_ENTRY: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Description", ty: Ty::Str, required: false, loc: Loc::Query, doc: "1-100 chars, not http(s)://" },
    ParamSpec { name: "DryRun", ty: Ty::Bool, required: false, loc: Loc::Query, doc: "Allowed: true, false. Default: false" },
    ParamSpec { name: "NextHop", ty: Ty::Str, required: true, loc: Loc::Query, doc: "The IPsec connection ID (vco-…) used as next hop" },
    ParamSpec { name: "OverlayMode", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Ipsec. Only Ipsec" },
    ParamSpec { name: "Priority", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Allowed: 1..100. Default: 10. 1..100, default 10; smaller = higher priority" },
    ParamSpec { name: "PublishVpc", ty: Ty::Bool, required: true, loc: Loc::Query, doc: "Allowed: true, false. true publishes to the VPC **system** route table only (not custom tables)" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RouteDest", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Destination CIDR" },
    ParamSpec { name: "RouteSource", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Source CIDR" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Weight", ty: Ty::Int, required: true, loc: Loc::Query, doc: "Allowed: 100, 0. 100 = active/high priority, 0 = standby/low priority. Active/standby routes need same dest, different next hops, different weights. Ignored for dual-tunnel gateways" },
];
/// `DeleteVpnPbrRouteEntry` parameters.
pub const DELETE_VPN_PBR_ROUTE_ENTRY: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "NextHop", ty: Ty::Str, required: true, loc: Loc::Query, doc: "The IPsec connection ID (vco-…) used as next hop" },
    ParamSpec { name: "OverlayMode", ty: Ty::Str, required: false, loc: Loc::Query, doc: "Allowed: Ipsec. Only Ipsec" },
    ParamSpec { name: "Priority", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Optional; if given must equal the configured priority, else the call fails" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RouteDest", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Destination CIDR" },
    ParamSpec { name: "RouteSource", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "Weight", ty: Ty::Int, required: true, loc: Loc::Query, doc: "Must match the existing entry" },
];
/// `DescribeVpnPbrRouteEntries` parameters.
pub const DESCRIBE_VPN_PBR_ROUTE_ENTRIES: &[ParamSpec] = &[
    ParamSpec { name: "PageNumber", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 1" },
    ParamSpec { name: "PageSize", ty: Ty::Int, required: false, loc: Loc::Query, doc: "Default: 10. max 50, default 10" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
/// `PublishVpnRouteEntry` parameters.
pub const PUBLISH_VPN_ROUTE_ENTRY: &[ParamSpec] = &[
    ParamSpec { name: "ClientToken", ty: Ty::Str, required: false, loc: Loc::Query, doc: "" },
    ParamSpec { name: "NextHop", ty: Ty::Str, required: true, loc: Loc::Query, doc: "The IPsec connection ID (vco-…) used as next hop" },
    ParamSpec { name: "PublishVpc", ty: Ty::Bool, required: true, loc: Loc::Query, doc: "Allowed: true, false. true publish / false withdraw (withdrawing one of a pbr+dbr pair with same dest withdraws both)" },
    ParamSpec { name: "RegionId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
    ParamSpec { name: "RouteDest", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Destination CIDR" },
    ParamSpec { name: "RouteType", ty: Ty::Str, required: true, loc: Loc::Query, doc: "Allowed: pbr, dbr. pbr (policy-based) / dbr (destination-based)" },
    ParamSpec { name: "VpnGatewayId", ty: Ty::Str, required: true, loc: Loc::Query, doc: "" },
];
