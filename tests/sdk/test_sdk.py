"""End-to-end check of the dualsec API with the provider's official Python SDK (issue 3).

Usage: test_sdk.py ENDPOINT ACCESS_KEY_ID ACCESS_KEY_SECRET REGION
       (ENDPOINT like 127.0.0.1:8080; driven by crates/dualsec/tests/sdk.rs)

Walks the whole life of a dual-tunnel IPsec connection through `alibabacloud-vpc20160428` (V3
ACS3-HMAC-SHA256 signatures by default): gateway, two customer gateways (one with an ASN), a
connection with per-tunnel IKE/IPsec/BGP settings, describe round-trip of every field, modify of
the connection and of one tunnel, the peer config (mirrored view, api-reference §5.5), routes,
errors surfaced by the SDK, a refused bad signature, a V2-signed request, and deletion.
Exits non-zero with a message on the first failure.
"""

import sys
import time

from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models as m
from alibabacloud_vpc20160428.client import Client

ENDPOINT, AK, SECRET, REGION = sys.argv[1:5]


def client(ak=AK, secret=SECRET, v2=False):
    cfg = Config(access_key_id=ak, access_key_secret=secret, endpoint=ENDPOINT, protocol="http",
                 region_id=REGION, read_timeout=10000, connect_timeout=5000)
    if v2:
        cfg.signature_algorithm = "v2"
    return Client(cfg)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def expect_error(fn, code, status, what):
    try:
        fn()
    except ClientException as e:
        eq(e.code, code, f"{what}: error code")
        eq(e.status_code, status, f"{what}: HTTP status")
        if not e.request_id:
            raise AssertionError(f"{what}: the SDK saw no RequestId in the error")
        return e
    raise AssertionError(f"{what}: expected {code}, the call succeeded")


cli = client()


def wait_gateway_active(gw_id, timeout=15.0):
    deadline = time.time() + timeout
    while True:
        st = cli.describe_vpn_gateway(m.DescribeVpnGatewayRequest(region_id=REGION, vpn_gateway_id=gw_id)).body.status
        if st == "active":
            return
        if time.time() > deadline:
            raise AssertionError(f"gateway {gw_id} still {st!r} after {timeout}s")
        time.sleep(0.1)


def wait_connection_active(vco_id, timeout=15.0):
    deadline = time.time() + timeout
    while True:
        st = cli.describe_vpn_connection(
            m.DescribeVpnConnectionRequest(region_id=REGION, vpn_connection_id=vco_id)).body.state
        if st == "active":
            return
        if time.time() > deadline:
            raise AssertionError(f"connection {vco_id} still {st!r} after {timeout}s")
        time.sleep(0.1)


# --- zones and gateway -------------------------------------------------------------------------
zones = cli.describe_vpn_gateway_available_zones(
    m.DescribeVpnGatewayAvailableZonesRequest(region_id=REGION, spec="10M")).body
zone_ids = [z.zone_id for z in zones.available_zone_id_list]
if not zone_ids:
    raise AssertionError("no available zones")

gw = cli.create_vpn_gateway(m.CreateVpnGatewayRequest(
    region_id=REGION, vpc_id="vpc-sdktest", bandwidth=10, name="sdk-gw", auto_pay=True,
    client_token="sdk-gw-token-1")).body
gw_id = gw.vpn_gateway_id
assert gw_id.startswith("vpn-"), gw_id
eq(gw.name, "sdk-gw", "CreateVpnGateway Name")
# ClientToken idempotency: the same token returns the same gateway, not a second one.
gw_again = cli.create_vpn_gateway(m.CreateVpnGatewayRequest(
    region_id=REGION, vpc_id="vpc-sdktest", bandwidth=10, name="sdk-gw", auto_pay=True,
    client_token="sdk-gw-token-1")).body
eq(gw_again.vpn_gateway_id, gw_id, "CreateVpnGateway with a repeated ClientToken")
wait_gateway_active(gw_id)
gwd = cli.describe_vpn_gateway(m.DescribeVpnGatewayRequest(region_id=REGION, vpn_gateway_id=gw_id)).body
ip1, ip2 = gwd.internet_ip, gwd.disaster_recovery_internet_ip
if not ip1 or not ip2 or ip1 == ip2:
    raise AssertionError(f"gateway needs two distinct public IPs, got {ip1!r} {ip2!r}")
eq(gwd.vpc_id, "vpc-sdktest", "DescribeVpnGateway VpcId")
listed = cli.describe_vpn_gateways(m.DescribeVpnGatewaysRequest(region_id=REGION)).body
eq(listed.total_count, 1, "DescribeVpnGateways TotalCount")
eq(listed.vpn_gateways.vpn_gateway[0].vpn_gateway_id, gw_id, "DescribeVpnGateways id")

# --- customer gateways -------------------------------------------------------------------------
cgw_a = cli.create_customer_gateway(m.CreateCustomerGatewayRequest(
    region_id=REGION, ip_address="203.0.113.10", asn="65010", name="idc-a", description="with asn")).body
cgw_b = cli.create_customer_gateway(m.CreateCustomerGatewayRequest(
    region_id=REGION, ip_address="203.0.113.20", name="idc-b")).body
cgwa = cli.describe_customer_gateway(m.DescribeCustomerGatewayRequest(
    region_id=REGION, customer_gateway_id=cgw_a.customer_gateway_id)).body
eq(cgwa.ip_address, "203.0.113.10", "cgw IpAddress")
eq(cgwa.asn, 65010, "cgw Asn (an integer in responses)")
eq(cgwa.name, "idc-a", "cgw Name")
cgwb = cli.describe_customer_gateway(m.DescribeCustomerGatewayRequest(
    region_id=REGION, customer_gateway_id=cgw_b.customer_gateway_id)).body
if cgwb.asn not in (None, 0):
    raise AssertionError(f"cgw without ASN reports Asn={cgwb.asn!r}")


# --- connection --------------------------------------------------------------------------------
def tunnel_spec(cgw_id, role, psk, cidr, bgp_ip, local_id):
    T = m.CreateVpnConnectionRequestTunnelOptionsSpecification
    return T(customer_gateway_id=cgw_id, role=role, enable_dpd=True, enable_nat_traversal=True,
             tunnel_bgp_config=m.CreateVpnConnectionRequestTunnelOptionsSpecificationTunnelBgpConfig(
                 local_asn=65000, tunnel_cidr=cidr, local_bgp_ip=bgp_ip),
             tunnel_ike_config=m.CreateVpnConnectionRequestTunnelOptionsSpecificationTunnelIkeConfig(
                 ike_auth_alg="sha256", ike_enc_alg="aes256", ike_lifetime=28800, ike_mode="main",
                 ike_pfs="group14", ike_version="ikev2", local_id=local_id, psk=psk,
                 remote_id="203.0.113.10"),
             tunnel_ipsec_config=m.CreateVpnConnectionRequestTunnelOptionsSpecificationTunnelIpsecConfig(
                 ipsec_auth_alg="sha256", ipsec_enc_alg="aes256", ipsec_lifetime=3600, ipsec_pfs="group14"))


def create_request(tunnel2_cgw, client_token=None, dry_run=None):
    return m.CreateVpnConnectionRequest(
        region_id=REGION, vpn_gateway_id=gw_id, name="sdk-conn",
        local_subnet="198.18.0.0/24,198.18.1.0/24", remote_subnet="198.19.0.0/24",
        effect_immediately=True, auto_config_route=True, enable_tunnels_bgp=True,
        client_token=client_token, dry_run=dry_run,
        tags=[m.CreateVpnConnectionRequestTags(key="env", value="test")],
        tunnel_options_specification=[
            tunnel_spec(cgw_a.customer_gateway_id, "master", "psk-one!", "169.254.10.0/30", "169.254.10.1", ip1),
            tunnel_spec(tunnel2_cgw, "slave", "psk-two?", "169.254.20.0/30", "169.254.20.1", ip2),
        ])


# BGP on a tunnel whose customer gateway has no ASN is refused (R-BGP-1), through the SDK.
e = None
try:
    cli.create_vpn_connection(create_request(cgw_b.customer_gateway_id))
except ClientException as err:
    e = err
if e is None or e.status_code != 400:
    raise AssertionError(f"BGP with an ASN-less customer gateway must be a 400, got {e!r}")

# DryRun validates only: DryRunOperation, nothing created.
expect_error(lambda: cli.create_vpn_connection(create_request(cgw_a.customer_gateway_id, dry_run=True)),
             "DryRunOperation", 400, "CreateVpnConnection DryRun")
eq(cli.describe_vpn_connections(m.DescribeVpnConnectionsRequest(region_id=REGION)).body.total_count, 0,
   "connections after a dry run")

wait_gateway_active(gw_id)
vco = cli.create_vpn_connection(create_request(cgw_a.customer_gateway_id, client_token="sdk-vco-1")).body
vco_id = vco.vpn_connection_id
assert vco_id.startswith("vco-"), vco_id
eq(vco.name, "sdk-conn", "CreateVpnConnection Name")
if not isinstance(vco.create_time, int) or vco.create_time < 1_600_000_000_000:
    raise AssertionError(f"CreateTime must be epoch milliseconds, got {vco.create_time!r}")
# The gateway works asynchronously: updating, then active (api-reference §5.2).
wait_gateway_active(gw_id)
wait_connection_active(vco_id)

d = cli.describe_vpn_connection(m.DescribeVpnConnectionRequest(region_id=REGION, vpn_connection_id=vco_id)).body
eq(d.vpn_gateway_id, gw_id, "VpnGatewayId")
eq(d.name, "sdk-conn", "Name")
eq(d.local_subnet, "198.18.0.0/24,198.18.1.0/24", "LocalSubnet")
eq(d.remote_subnet, "198.19.0.0/24", "RemoteSubnet")
eq(d.effect_immediately, True, "EffectImmediately")
eq(d.enable_tunnels_bgp, True, "EnableTunnelsBgp")
eq(d.state, "active", "State")
eq([(t.key, t.value) for t in d.tags.tag], [("env", "test")], "Tags")
tunnels = d.tunnel_options_specification.tunnel_options
eq(len(tunnels), 2, "tunnel count")
for t, role, psk, cidr, bgp_ip, ip in ((tunnels[0], "master", "psk-one!", "169.254.10.0/30", "169.254.10.1", ip1),
                                      (tunnels[1], "slave", "psk-two?", "169.254.20.0/30", "169.254.20.1", ip2)):
    eq(t.role, role, "tunnel Role")
    assert t.tunnel_id.startswith("tun-"), t.tunnel_id
    eq(t.customer_gateway_id, cgw_a.customer_gateway_id, f"{role} CustomerGatewayId")
    eq(t.internet_ip, ip, f"{role} InternetIp (tunnel 1 on IP 1, tunnel 2 on IP 2)")
    eq(t.enable_dpd, "true", f"{role} EnableDpd (a string in Describe*)")
    eq(t.enable_nat_traversal, "true", f"{role} EnableNatTraversal")
    k = t.tunnel_ike_config
    eq((k.psk, k.ike_version, k.ike_mode, k.ike_enc_alg, k.ike_auth_alg, k.ike_pfs, str(k.ike_lifetime),
        k.local_id, k.remote_id),
       (psk, "ikev2", "main", "aes256", "sha256", "group14", "28800", ip, "203.0.113.10"), f"{role} IKE config")
    p = t.tunnel_ipsec_config
    eq((p.ipsec_enc_alg, p.ipsec_auth_alg, p.ipsec_pfs, str(p.ipsec_lifetime)),
       ("aes256", "sha256", "group14", "3600"), f"{role} IPsec config")
    b = t.tunnel_bgp_config
    eq((str(b.local_asn), b.tunnel_cidr, b.local_bgp_ip, str(b.peer_asn)),
       ("65000", cidr, bgp_ip, "65010"), f"{role} BGP config")
    eq(t.status, "ike_sa_not_established", f"{role} Status before any negotiation")
tun1_id, tun2_id = tunnels[0].tunnel_id, tunnels[1].tunnel_id

# Repeating the create with the same ClientToken answers the same connection.
again = cli.create_vpn_connection(create_request(cgw_a.customer_gateway_id, client_token="sdk-vco-1")).body
eq(again.vpn_connection_id, vco_id, "CreateVpnConnection with a repeated ClientToken")

lst = cli.describe_vpn_connections(m.DescribeVpnConnectionsRequest(region_id=REGION, vpn_gateway_id=gw_id)).body
eq(lst.total_count, 1, "DescribeVpnConnections TotalCount")
eq(lst.vpn_connections.vpn_connection[0].vpn_connection_id, vco_id, "DescribeVpnConnections id")

# --- modify the connection (and tunnel 1 through it) -------------------------------------------
wait_gateway_active(gw_id)
MT = m.ModifyVpnConnectionAttributeRequestTunnelOptionsSpecification
cli.modify_vpn_connection_attribute(m.ModifyVpnConnectionAttributeRequest(
    region_id=REGION, vpn_connection_id=vco_id, name="sdk-conn-2", effect_immediately=False,
    remote_subnet="198.19.0.0/24,198.19.1.0/24",
    tunnel_options_specification=[MT(tunnel_id=tun1_id, role="master",
        tunnel_ipsec_config=m.ModifyVpnConnectionAttributeRequestTunnelOptionsSpecificationTunnelIpsecConfig(
            ipsec_pfs="disabled"))]))
wait_gateway_active(gw_id)
wait_connection_active(vco_id)
d = cli.describe_vpn_connection(m.DescribeVpnConnectionRequest(region_id=REGION, vpn_connection_id=vco_id)).body
eq(d.name, "sdk-conn-2", "modified Name")
eq(d.effect_immediately, False, "modified EffectImmediately")
eq(d.remote_subnet, "198.19.0.0/24,198.19.1.0/24", "modified RemoteSubnet")
eq(d.tunnel_options_specification.tunnel_options[0].tunnel_ipsec_config.ipsec_pfs, "disabled", "modified IpsecPfs")
eq(d.tunnel_options_specification.tunnel_options[0].tunnel_ipsec_config.ipsec_enc_alg, "aes256",
   "unmodified IpsecEncAlg kept")

# Roles are fixed (R-HA-2): asking tunnel 2 to be master is refused.
wait_gateway_active(gw_id)
expect_error(lambda: cli.modify_vpn_connection_attribute(m.ModifyVpnConnectionAttributeRequest(
    region_id=REGION, vpn_connection_id=vco_id,
    tunnel_options_specification=[MT(tunnel_id=tun2_id, role="master")])), "IllegalParam.Role", 400,
    "swap roles")

# --- modify one tunnel --------------------------------------------------------------------------
wait_gateway_active(gw_id)
TS = m.ModifyTunnelAttributeRequestTunnelOptionsSpecification
r = cli.modify_tunnel_attribute(m.ModifyTunnelAttributeRequest(
    region_id=REGION, vpn_connection_id=vco_id, tunnel_id=tun2_id,
    tunnel_options_specification=TS(enable_dpd=False,
        tunnel_ike_config=m.ModifyTunnelAttributeRequestTunnelOptionsSpecificationTunnelIkeConfig(
            psk="new psk".replace(" ", "_"), ike_version="ikev2", ike_mode="aggressive"),
        tunnel_bgp_config=m.ModifyTunnelAttributeRequestTunnelOptionsSpecificationTunnelBgpConfig(
            tunnel_cidr="169.254.30.0/30", local_bgp_ip="169.254.30.1")))).body
eq(r.tunnel_id, tun2_id, "ModifyTunnelAttribute TunnelId")
eq(r.role, "slave", "ModifyTunnelAttribute Role")
wait_gateway_active(gw_id)
wait_connection_active(vco_id)
d = cli.describe_vpn_connection(m.DescribeVpnConnectionRequest(region_id=REGION, vpn_connection_id=vco_id)).body
t2 = d.tunnel_options_specification.tunnel_options[1]
eq(t2.enable_dpd, "false", "modified tunnel EnableDpd")
eq(t2.tunnel_ike_config.psk, "new_psk", "modified tunnel Psk")
eq(t2.tunnel_ike_config.ike_mode, "aggressive", "modified tunnel IkeMode")
eq(t2.tunnel_ike_config.ike_enc_alg, "aes256", "unmodified tunnel IkeEncAlg kept")
eq(t2.tunnel_bgp_config.tunnel_cidr, "169.254.30.0/30", "modified tunnel TunnelCidr")
eq(d.tunnel_options_specification.tunnel_options[0].tunnel_ike_config.psk, "psk-one!", "tunnel 1 untouched")

# --- peer config (mirrored, api-reference §5.5) -------------------------------------------------
pc = cli.download_vpn_connection_config(m.DownloadVpnConnectionConfigRequest(
    region_id=REGION, vpn_connection_id=vco_id)).body.vpn_connection_config
eq(pc.local_subnet, "198.19.0.0/24,198.19.1.0/24", "peer LocalSubnet = connection RemoteSubnet")
eq(pc.remote_subnet, "198.18.0.0/24,198.18.1.0/24", "peer RemoteSubnet = connection LocalSubnet")
tc = pc.tunnels_config.tunnel_config
eq(len(tc), 2, "peer TunnelsConfig count")
eq((tc[0].tunnel_id, tc[0].local, tc[0].remote), (tun1_id, "203.0.113.10", ip1), "peer tunnel 1 Local/Remote")
eq((tc[1].tunnel_id, tc[1].local, tc[1].remote), (tun2_id, "203.0.113.10", ip2), "peer tunnel 2 Local/Remote")
eq((tc[0].ike_config.local_id, tc[0].ike_config.remote_id), ("203.0.113.10", ip1), "peer tunnel 1 ids mirrored")
eq(tc[0].ike_config.psk, "psk-one!", "peer tunnel 1 Psk")
eq(tc[1].ike_config.psk, "new_psk", "peer tunnel 2 Psk")
eq(tc[0].ipsec_config.ipsec_pfs, "disabled", "peer tunnel 1 IpsecPfs")
bc = pc.bgp_configs.bgp_config
eq(len(bc), 2, "peer BgpConfigs count")
eq((bc[0].local_asn, bc[0].peer_asn, bc[0].local_bgp_ip, bc[0].peer_bgp_ip, bc[0].tunnel_cidr),
   ("65010", "65000", "169.254.10.2", "169.254.10.1", "169.254.10.0/30"), "peer BGP tunnel 1 mirrored")

# --- routes -------------------------------------------------------------------------------------
wait_gateway_active(gw_id)
cli.create_vpn_route_entry(m.CreateVpnRouteEntryRequest(
    region_id=REGION, vpn_gateway_id=gw_id, route_dest="198.19.5.0/24", next_hop=vco_id, weight=100,
    publish_vpc=False, description="sdk route"))
routes = cli.describe_vpn_route_entries(m.DescribeVpnRouteEntriesRequest(
    region_id=REGION, vpn_gateway_id=gw_id)).body
dests = [(r.route_dest, r.next_hop, r.weight) for r in routes.vpn_route_entries.vpn_route_entry]
if ("198.19.5.0/24", vco_id, 100) not in dests:
    raise AssertionError(f"created route missing from DescribeVpnRouteEntries: {dests}")
wait_gateway_active(gw_id)
cli.delete_vpn_route_entry(m.DeleteVpnRouteEntryRequest(
    region_id=REGION, vpn_gateway_id=gw_id, route_dest="198.19.5.0/24", next_hop=vco_id, weight=100))

# --- errors the SDK must surface ----------------------------------------------------------------
expect_error(lambda: cli.describe_vpn_connection(m.DescribeVpnConnectionRequest(
    region_id=REGION, vpn_connection_id="vco-doesnotexist00000000")),
    "InvalidVpnConnectionInstanceId.NotFound", 404, "unknown connection")
expect_error(lambda: cli.describe_vpn_gateway(m.DescribeVpnGatewayRequest(
    region_id=REGION, vpn_gateway_id="vpn-doesnotexist00000000")),
    "InvalidVpnGatewayInstanceId.NotFound", 404, "unknown gateway")
# Deleting a gateway that still has a connection is refused.
wait_gateway_active(gw_id)
e = None
try:
    cli.delete_vpn_gateway(m.DeleteVpnGatewayRequest(region_id=REGION, vpn_gateway_id=gw_id))
except ClientException as err:
    e = err
if e is None or e.status_code != 400:
    raise AssertionError(f"DeleteVpnGateway with a connection must be refused with 400, got {e!r}")

# A bad signature or an unknown key is refused and changes nothing.
before = cli.describe_customer_gateways(m.DescribeCustomerGatewaysRequest(region_id=REGION)).body.total_count
expect_error(lambda: client(secret=SECRET + "x").create_customer_gateway(m.CreateCustomerGatewayRequest(
    region_id=REGION, ip_address="203.0.113.99")), "SignatureDoesNotMatch", 400, "wrong secret")
expect_error(lambda: client(ak="LTAIunknownkey0000").create_customer_gateway(m.CreateCustomerGatewayRequest(
    region_id=REGION, ip_address="203.0.113.99")), "InvalidAccessKeyId.NotFound", 404, "unknown access key")
after = cli.describe_customer_gateways(m.DescribeCustomerGatewaysRequest(region_id=REGION)).body.total_count
eq(after, before, "customer gateways after refused requests")

# --- legacy V2 (HMAC-SHA1) signatures -------------------------------------------------------------
v2 = client(v2=True)
d2 = v2.describe_vpn_connection(m.DescribeVpnConnectionRequest(region_id=REGION, vpn_connection_id=vco_id)).body
eq(d2.vpn_connection_id, vco_id, "V2-signed DescribeVpnConnection")
eq(d2.name, "sdk-conn-2", "V2-signed DescribeVpnConnection Name")
expect_error(lambda: client(secret="wrong", v2=True).describe_vpn_connection(m.DescribeVpnConnectionRequest(
    region_id=REGION, vpn_connection_id=vco_id)), "SignatureDoesNotMatch", 400, "V2 wrong secret")

# --- delete everything --------------------------------------------------------------------------
wait_gateway_active(gw_id)
cli.delete_vpn_connection(m.DeleteVpnConnectionRequest(region_id=REGION, vpn_connection_id=vco_id))
deadline = time.time() + 15
while True:
    try:
        cli.describe_vpn_connection(m.DescribeVpnConnectionRequest(region_id=REGION, vpn_connection_id=vco_id))
    except ClientException as err:
        eq(err.code, "InvalidVpnConnectionInstanceId.NotFound", "deleted connection")
        break
    if time.time() > deadline:
        raise AssertionError("connection still present 15 s after DeleteVpnConnection")
    time.sleep(0.1)
wait_gateway_active(gw_id)
for c in (cgw_a, cgw_b):
    cli.delete_customer_gateway(m.DeleteCustomerGatewayRequest(region_id=REGION,
                                                               customer_gateway_id=c.customer_gateway_id))
cli.delete_vpn_gateway(m.DeleteVpnGatewayRequest(region_id=REGION, vpn_gateway_id=gw_id))
deadline = time.time() + 15
while cli.describe_vpn_gateways(m.DescribeVpnGatewaysRequest(region_id=REGION)).body.total_count != 0:
    if time.time() > deadline:
        raise AssertionError("gateway still listed 15 s after DeleteVpnGateway")
    time.sleep(0.1)
eq(cli.describe_customer_gateways(m.DescribeCustomerGatewaysRequest(region_id=REGION)).body.total_count, 0,
   "customer gateways after deletion")

print("SDK OK")
