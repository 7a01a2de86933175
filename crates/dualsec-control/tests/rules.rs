//! One test (or more) per SPEC.md requirement, driven through the public `Control` API.

#![allow(clippy::unwrap_used)] // tests: failures should panic

mod common;

use std::net::Ipv4Addr;

use common::*;
use dualsec_control::model::{BgpLearnedRoute, Redundancy, RouteOrigin, RoutingMode};
use dualsec_control::requests::*;
use dualsec_control::values::*;
use dualsec_control::*;

// ---------------------------------------------------------------------------------------------
// R-HA

#[test]
fn r_ha_1_two_tunnels_master_on_ip1_backup_on_ip2() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let [t1, t2] = &v.tunnels;
    assert_eq!(t1.role, TunnelRole::Master);
    assert_eq!(t1.tunnel.index, TunnelIndex::One);
    assert_eq!(t1.internet_ip, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(t2.role, TunnelRole::Backup);
    assert_eq!(t2.internet_ip, Ipv4Addr::new(192, 0, 2, 2));
    assert_ne!(t1.tunnel.id, t2.tunnel.id);
    assert!(t1.tunnel.id.as_str().starts_with("tun-"));
    assert!(v.connection.id.as_str().starts_with("vco-"));
    assert_eq!(v.connection.create_time_ms, T0);
}

#[test]
fn r_ha_1_create_with_one_or_three_tunnels_is_rejected() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels.truncate(1);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "MissingParameter",
        &["TunnelOptionsSpecification.2.CustomerGatewayId"],
    );
    req.tunnels = vec![tunnel(&fx.cgw_asn); 3];
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.TunnelOptionsSpecification",
        &["exactly two"],
    );
}

#[test]
fn r_ha_2_roles_cannot_swap() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[0].role = Some(TunnelRole::Backup);
    req.tunnels[1].role = Some(TunnelRole::Master);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.Role",
        &[
            "TunnelOptionsSpecification.1.Role",
            "tunnel 1 is always master",
            "R-HA-2",
        ],
    );
    // Matching roles are fine.
    req.tunnels[0].role = Some(TunnelRole::Master);
    req.tunnels[1].role = Some(TunnelRole::Backup);
    let v = fx.create(&req);
    // Modifying tunnel 2 into master is refused, on both modify actions (R-DIAG-4).
    let t2 = v.tunnels[1].tunnel.id.clone();
    let r = fx
        .control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: t2.clone(),
            options: TunnelOptionsInput {
                role: Some(TunnelRole::Master),
                ..Default::default()
            },
        });
    assert_err(r, "IllegalParam.Role", &["tunnel 2 is always slave"]);
    let mut m = modify_req(&v.connection.id);
    m.tunnels = vec![TunnelOptionsInput {
        tunnel_id: Some(t2),
        role: Some(TunnelRole::Master),
        ..Default::default()
    }];
    assert_err(
        fx.control.modify_vpn_connection_attribute(&m),
        "IllegalParam.Role",
        &["R-HA-2"],
    );
    // Nothing changed, and the gateway is not left busy by a refused change.
    let after = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    assert_eq!(after.tunnels[1].role, TunnelRole::Backup);
    assert_eq!(
        fx.control
            .describe_vpn_gateway(&fx.gw)
            .unwrap()
            .gateway
            .status,
        GatewayStatus::Active
    );
}

#[test]
fn r_ha_4_two_zones_give_zone_redundancy() {
    let fx = fixture();
    let g = fx.control.describe_vpn_gateway(&fx.gw).unwrap();
    assert_eq!(g.redundancy, Redundancy::ZoneAndLink);
    assert_eq!(g.gateway.addresses[0].zone, zone("zone-a"));
    assert_eq!(g.gateway.addresses[1].zone, zone("zone-b"));
    // The second gateway gets the remaining address of each zone.
    let g2 = fx.control.create_vpn_gateway(&gateway_req()).unwrap();
    assert_eq!(g2.gateway.addresses[0].ip, Ipv4Addr::new(192, 0, 2, 3));
    assert_eq!(g2.gateway.addresses[1].ip, Ipv4Addr::new(192, 0, 2, 4));
    // Pool exhausted.
    assert_err(
        fx.control.create_vpn_gateway(&gateway_req()),
        "Resource.QuotaFull",
        &["two free public IPs", "--public-ip"],
    );
    // Deleting a gateway returns its addresses.
    fx.control.delete_vpn_gateway(None, &g2.gateway.id).unwrap();
    let g3 = fx.control.create_vpn_gateway(&gateway_req()).unwrap();
    assert_eq!(g3.redundancy, Redundancy::ZoneAndLink);
}

#[test]
fn r_ha_4_single_zone_gives_link_redundancy_only() {
    let (control, _clock) = control_over(
        std::sync::Arc::new(SqliteStore::open_in_memory().unwrap()),
        Completion::AfterDelay(DELAY),
        1,
    );
    control
        .configure_public_ip_pool(&[
            (zone("only"), "198.51.100.2".parse().unwrap()),
            (zone("only"), "198.51.100.1".parse().unwrap()),
        ])
        .unwrap();
    let g = control.create_vpn_gateway(&gateway_req()).unwrap();
    assert_eq!(g.redundancy, Redundancy::LinkOnly);
    assert!(g.redundancy.note().contains("link redundancy only"));
    assert_eq!(g.gateway.addresses[0].ip, Ipv4Addr::new(198, 51, 100, 1));
    assert_eq!(g.gateway.addresses[1].ip, Ipv4Addr::new(198, 51, 100, 2));
    // The connection view says so too (R-HA-5: the product tells the user).
    let cgw = control
        .create_customer_gateway(&cgw_req("203.0.113.9", None))
        .unwrap();
    let mut req = CreateVpnConnectionRequest {
        client_token: None,
        dry_run: false,
        vpn_gateway_id: g.gateway.id.clone(),
        name: None,
        local_subnet: nets("0.0.0.0/0"),
        remote_subnet: nets("0.0.0.0/0"),
        effect_immediately: None,
        auto_config_route: None,
        enable_tunnels_bgp: None,
        tunnels: vec![tunnel(&cgw.id), tunnel(&cgw.id)],
        resource_group_id: None,
        tags: vec![],
    };
    req.name = Some("one-zone".into());
    let v = control.create_vpn_connection(&req).unwrap();
    assert!(
        v.notes.iter().any(|n| n.contains("link redundancy only")),
        "{:?}",
        v.notes
    );
}

#[test]
fn r_ha_4_pool_reconfiguration_keeps_allocated_addresses() {
    let fx = fixture();
    let report = fx
        .control
        .configure_public_ip_pool(&[(zone("zone-c"), "192.0.2.9".parse().unwrap())])
        .unwrap();
    assert_eq!(report.added, vec![Ipv4Addr::new(192, 0, 2, 9)]);
    assert_eq!(report.removed.len(), 2);
    assert_eq!(report.still_allocated.len(), 2);
    assert!(report.still_allocated.iter().all(|(_, g)| g == &fx.gw));
    assert_eq!(fx.control.available_zones().unwrap().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// R-CONN

#[test]
fn r_conn_1_gateway_and_customer_gateways_must_exist() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.vpn_gateway_id = "vpn-doesnotexist".parse().unwrap();
    assert_err(
        fx.control.create_vpn_connection(&req),
        "InvalidVpnGatewayInstanceId.NotFound",
        &["vpn-doesnotexist"],
    );
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[1].customer_gateway_id = Some("cgw-missing".parse().unwrap());
    let e = assert_err(
        fx.control.create_vpn_connection(&req),
        "InvalidCustomerGatewayInstanceId.NotFound",
        &["cgw-missing"],
    );
    assert_eq!(e.http_status(), 404);
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[0].customer_gateway_id = None;
    assert_err(
        fx.control.create_vpn_connection(&req),
        "MissingParameter",
        &["TunnelOptionsSpecification.1.CustomerGatewayId"],
    );
}

#[test]
fn r_conn_2_two_cidrs_with_ikev1_are_rejected() {
    let fx = fixture();
    let req = conn_req(&fx, "198.18.0.0/24,198.18.1.0/24", "198.19.0.0/16");
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.LocalSubnet",
        &["2 CIDR blocks", "ikev2", "tunnel 1 uses ikev1", "R-CONN-2"],
    );
    // Only tunnel 2 on ikev1: still rejected, naming tunnel 2.
    let mut req = conn_req(&fx, "198.18.0.0/24", "198.19.0.0/24,198.19.1.0/24");
    req.tunnels[0].ike.ike_version = Some(IkeVersion::V2);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.RemoteSubnet",
        &["tunnel 2 uses ikev1"],
    );
    req.tunnels[1].ike.ike_version = Some(IkeVersion::V2);
    let v = fx.create(&req);
    // Going back to ikev1 on one tunnel is refused with the IkeVersion code.
    let r = fx
        .control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: v.tunnels[0].tunnel.id.clone(),
            options: TunnelOptionsInput {
                ike: IkeConfigInput {
                    ike_version: Some(IkeVersion::V1),
                    ..Default::default()
                },
                ..Default::default()
            },
        });
    assert_err(r, "IllegalParam.IkeVersion", &["R-CONN-2"]);
}

#[test]
fn r_conn_2_routing_mode_is_derived_from_the_cidrs() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    assert_eq!(v.routing_mode, RoutingMode::Destination);
    let mut m = modify_req(&v.connection.id);
    m.local_subnet = Some(nets("198.18.0.0/16"));
    m.remote_subnet = Some(nets("198.19.0.0/16"));
    let v = fx.control.modify_vpn_connection_attribute(&m).unwrap();
    assert_eq!(v.routing_mode, RoutingMode::InterestingTraffic);
}

#[test]
fn r_conn_2_bad_cidr_lists_are_rejected() {
    let fx = fixture();
    for (local, remote, code, needle) in [
        (
            "198.18.0.1/24",
            "198.19.0.0/16",
            "IllegalParam.LocalSubnet",
            "did you mean 198.18.0.0/24",
        ),
        (
            "198.18.0.0/24,198.18.0.0/24",
            "198.19.0.0/16",
            "IllegalParam.LocalSubnet",
            "twice",
        ),
        (
            "0.0.0.0/0,198.18.0.0/24",
            "198.19.0.0/16",
            "IllegalParam.LocalSubnet",
            "stand alone",
        ),
        (
            "198.18.0.0/16",
            "198.18.4.0/24",
            "IllegalParam.RemoteSubnet",
            "overlaps",
        ),
    ] {
        let mut req = conn_req(&fx, local, remote);
        for t in &mut req.tunnels {
            t.ike.ike_version = Some(IkeVersion::V2);
        }
        let e = fx.control.create_vpn_connection(&req).unwrap_err();
        assert_eq!(e.code(), code, "{local} {remote}: {}", e.message());
        assert!(
            e.message().to_lowercase().contains(needle),
            "{}",
            e.message()
        );
    }
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.local_subnet.clear();
    assert_err(
        fx.control.create_vpn_connection(&req),
        "MissingParameter",
        &["LocalSubnet"],
    );
}

#[test]
fn r_conn_2_policy_routes_are_generated_and_follow_the_connection() {
    let fx = fixture();
    let mut req = conn_req(&fx, "198.18.0.0/24,198.18.1.0/24", "198.19.0.0/24");
    for t in &mut req.tunnels {
        t.ike.ike_version = Some(IkeVersion::V2);
    }
    let v = fx.create(&req);
    let page = |fx: &Fx| {
        fx.control
            .describe_vpn_pbr_route_entries(&fx.gw, PageRequest::default())
            .unwrap()
    };
    let p = page(&fx);
    assert_eq!(p.total_count, 2);
    for r in &p.items {
        assert_eq!(r.origin, RouteOrigin::Connection);
        assert_eq!(r.next_hop, v.connection.id);
        assert_eq!(r.route_dest.to_string(), "198.19.0.0/24");
        assert_eq!(r.state, RouteState::Normal, "not published by default");
    }
    // Publishing one survives a regeneration that keeps its pair.
    fx.control
        .publish_vpn_route_entry(&PublishVpnRouteEntryRequest {
            client_token: None,
            vpn_gateway_id: fx.gw.clone(),
            route_dest: "198.19.0.0/24".parse().unwrap(),
            next_hop: v.connection.id.clone(),
            route_type: RouteType::Pbr,
            publish_vpc: true,
        })
        .unwrap();
    let mut m = modify_req(&v.connection.id);
    m.local_subnet = Some(nets("198.18.0.0/24,198.18.1.0/24,198.18.2.0/24"));
    fx.control.modify_vpn_connection_attribute(&m).unwrap();
    fx.settle();
    let p = page(&fx);
    assert_eq!(p.total_count, 3);
    let published = p
        .items
        .iter()
        .filter(|r| r.state == RouteState::Published)
        .count();
    assert_eq!(published, 2);
    // Generated routes cannot be deleted by hand.
    let r = &p.items[0];
    assert_err(
        fx.control
            .delete_vpn_pbr_route_entry(&DeleteVpnPbrRouteEntryRequest {
                client_token: None,
                vpn_gateway_id: fx.gw.clone(),
                route_source: r.route_source,
                route_dest: r.route_dest,
                next_hop: r.next_hop.clone(),
                weight: 100,
                priority: None,
                overlay_mode: None,
            }),
        "IllegalParam.RouteSource",
        &["generated"],
    );
    // AutoConfigRoute=false removes them; deleting the connection removes all.
    let mut m = modify_req(&v.connection.id);
    m.auto_config_route = Some(false);
    fx.control.modify_vpn_connection_attribute(&m).unwrap();
    fx.settle();
    assert_eq!(page(&fx).total_count, 0);
    fx.control
        .delete_vpn_connection(None, &v.connection.id)
        .unwrap();
    assert_eq!(page(&fx).total_count, 0);
}

#[test]
fn r_conn_3_effect_immediately_defaults_false_and_can_change() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    assert!(!v.connection.effect_immediately);
    assert!(v.connection.auto_config_route);
    assert!(!v.connection.enable_tunnels_bgp);
    let mut m = modify_req(&v.connection.id);
    m.effect_immediately = Some(true);
    m.name = Some("renamed".into());
    let v = fx.control.modify_vpn_connection_attribute(&m).unwrap();
    assert!(v.connection.effect_immediately);
    assert_eq!(v.connection.name, "renamed");
}

#[test]
fn r_conn_4_a_changed_gateway_on_modify_is_rejected() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let other = fx
        .control
        .create_vpn_gateway(&gateway_req())
        .unwrap()
        .gateway
        .id;
    let mut m = modify_req(&v.connection.id);
    m.vpn_gateway_id = Some(other.clone());
    assert_err(
        fx.control.modify_vpn_connection_attribute(&m),
        "IllegalParam.VpnGatewayId",
        &["cannot be changed", "R-CONN-4", other.as_str()],
    );
    // Naming the bound gateway is harmless.
    m.vpn_gateway_id = Some(fx.gw.clone());
    assert!(fx.control.modify_vpn_connection_attribute(&m).is_ok());
}

#[test]
fn r_conn_5_modify_tunnel_attribute_changes_only_that_tunnel() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let t2 = v.tunnels[1].tunnel.id.clone();
    let tv = fx
        .control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: t2.clone(),
            options: TunnelOptionsInput {
                customer_gateway_id: Some(fx.cgw_plain.clone()),
                enable_dpd: Some(false),
                ike: IkeConfigInput {
                    psk: Some("new-key-2".into()),
                    ike_enc_alg: Some(EncAlg::Aes256),
                    ike_auth_alg: Some(AuthAlg::Sha256),
                    ike_pfs: Some(DhGroup::Group14),
                    ..Default::default()
                },
                ipsec: IpsecConfigInput {
                    ipsec_pfs: Some(IpsecPfs::Disabled),
                    ..Default::default()
                },
                ..Default::default()
            },
        })
        .unwrap();
    assert_eq!(tv.tunnel.id, t2);
    assert_eq!(tv.tunnel.state, TunnelState::Updating);
    fx.settle();
    let after = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    let [a, b] = &after.tunnels;
    assert_eq!(a.tunnel, {
        let mut t = v.tunnels[0].tunnel.clone();
        t.state = TunnelState::Active;
        t
    });
    assert_eq!(b.tunnel.customer_gateway_id, fx.cgw_plain);
    assert_eq!(b.customer_gateway_ip, Ipv4Addr::new(203, 0, 113, 20));
    assert!(!b.tunnel.enable_dpd);
    assert_eq!(b.tunnel.ike.psk.expose(), "new-key-2");
    assert_eq!(b.tunnel.ike.enc_alg, EncAlg::Aes256);
    assert_eq!(b.tunnel.ipsec.pfs, IpsecPfs::Disabled);
    // Unknown tunnel id.
    let r = fx
        .control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: "tun-nope".parse().unwrap(),
            options: TunnelOptionsInput::default(),
        });
    assert_err(r, "InvalidTunnelId.NotFound", &["tun-nope"]);
}

#[test]
fn r_conn_6_deleted_connection_is_not_found() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    fx.control
        .delete_vpn_connection(None, &v.connection.id)
        .unwrap();
    assert_err(
        fx.control.describe_vpn_connection(&v.connection.id),
        "InvalidVpnConnectionInstanceId.NotFound",
        &[v.connection.id.as_str()],
    );
    assert_eq!(
        fx.control
            .describe_vpn_gateway(&fx.gw)
            .unwrap()
            .gateway
            .status,
        GatewayStatus::Updating
    );
    fx.settle();
    assert_err(
        fx.control.delete_vpn_connection(None, &v.connection.id),
        "InvalidVpnConnectionInstanceId.NotFound",
        &[],
    );
}

// ---------------------------------------------------------------------------------------------
// R-TUN

#[test]
fn r_tun_1_both_tunnels_may_name_the_same_customer_gateway() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    assert_eq!(
        v.tunnels[0].tunnel.customer_gateway_id,
        v.tunnels[1].tunnel.customer_gateway_id
    );
}

#[test]
fn r_tun_2_empty_psk_is_generated_and_bad_psks_are_rejected() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[1].ike.psk = Some(String::new());
    let v = fx.create(&req);
    for t in &v.tunnels {
        let psk = t.tunnel.ike.psk.expose();
        assert_eq!(psk.len(), 16);
        assert!(psk.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    assert_ne!(v.tunnels[0].tunnel.ike.psk, v.tunnels[1].tunnel.ike.psk);
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[0].ike.psk = Some("has a space".into());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.Psk",
        &[
            "TunnelOptionsSpecification.1.TunnelIkeConfig.Psk",
            "whitespace",
            "no spaces",
        ],
    );
    req.tunnels[0].ike.psk = Some("x".repeat(101));
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.Psk",
        &["101 characters", "1 to 100"],
    );
    req.tunnels[0].ike.psk = Some("Exact-Case!Key#1".into());
    Fx::with_cgw(&mut req, &fx.new_cgw("203.0.113.50"));
    let v = fx.create(&req);
    assert_eq!(v.tunnels[0].tunnel.ike.psk.expose(), "Exact-Case!Key#1");
}

#[test]
fn r_tun_3_defaults_follow_the_provider_api() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    for t in &v.tunnels {
        let ike = &t.tunnel.ike;
        assert_eq!(ike.version, IkeVersion::V1);
        assert_eq!(ike.mode, IkeMode::Main);
        assert_eq!(ike.enc_alg, EncAlg::Aes);
        assert_eq!(
            ike.auth_alg,
            AuthAlg::Md5,
            "API default (api-reference §8 item 10)"
        );
        assert_eq!(ike.dh_group, DhGroup::Group2);
        assert_eq!(ike.lifetime.secs(), 86400);
        let ipsec = &t.tunnel.ipsec;
        assert_eq!(ipsec.enc_alg, EncAlg::Aes);
        assert_eq!(ipsec.auth_alg, AuthAlg::Md5);
        assert_eq!(ipsec.pfs, IpsecPfs::Group2);
        assert_eq!(ipsec.lifetime.secs(), 86400);
    }
}

#[test]
fn r_tun_3_lifetime_86401_is_rejected() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[1].ike.ike_lifetime = Some(86401);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.IkeLifetime",
        &[
            "TunnelOptionsSpecification.2.TunnelIkeConfig.IkeLifetime",
            "86401",
            "0 to 86400",
        ],
    );
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[0].ipsec.ipsec_lifetime = Some(86401);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.IpsecLifetime",
        &["86401"],
    );
    req.tunnels[0].ipsec.ipsec_lifetime = Some(0);
    assert!(fx.control.create_vpn_connection(&req).is_ok());
}

#[test]
fn r_tun_3_ids_default_to_tunnel_ip_and_customer_gateway_ip() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[1].ike.local_id = Some("vpn.example.com".into());
    let v = fx.create(&req);
    assert_eq!(
        v.tunnels[0].local_id,
        IkeIdentity::Ip(Ipv4Addr::new(192, 0, 2, 1))
    );
    assert_eq!(
        v.tunnels[0].remote_id,
        IkeIdentity::Ip(Ipv4Addr::new(203, 0, 113, 10))
    );
    assert_eq!(
        v.tunnels[1].local_id,
        IkeIdentity::Fqdn("vpn.example.com".into())
    );
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("aggressive mode is recommended")),
        "{:?}",
        v.notes
    );
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[0].ike.remote_id = Some("peer id".into());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.RemoteId",
        &["space"],
    );
}

#[test]
fn r_tun_5_and_6_dpd_and_nat_traversal_default_on() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[1].enable_nat_traversal = Some(false);
    let v = fx.create(&req);
    assert!(v.tunnels[0].tunnel.enable_dpd && v.tunnels[1].tunnel.enable_dpd);
    assert!(v.tunnels[0].tunnel.enable_nat_traversal);
    assert!(!v.tunnels[1].tunnel.enable_nat_traversal);
}

#[test]
fn r_tun_shangmi_certificates_are_refused() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[0].remote_ca_certificate = Some("-----BEGIN CERTIFICATE-----".into());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.RemoteCaCertificate",
        &["pre-shared key"],
    );
}

// ---------------------------------------------------------------------------------------------
// R-BGP

fn bgp_req(fx: &Fx) -> CreateVpnConnectionRequest {
    let mut req = conn_req(fx, "0.0.0.0/0", "0.0.0.0/0");
    req.enable_tunnels_bgp = Some(true);
    req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.10.1");
    req.tunnels[1].bgp = bgp("169.254.20.0/30", "169.254.20.1");
    req
}

#[test]
fn r_bgp_1_bgp_needs_a_customer_gateway_with_an_asn() {
    let fx = fixture();
    let mut req = bgp_req(&fx);
    req.tunnels[1].customer_gateway_id = Some(fx.cgw_plain.clone());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.EnableTunnelsBgp",
        &[
            "has no ASN",
            fx.cgw_plain.as_str(),
            "delete this connection",
            "R-BGP-1",
        ],
    );
    // Off by default, and then no ASN is needed.
    req.enable_tunnels_bgp = None;
    let v = fx.create(&req);
    assert!(!v.connection.enable_tunnels_bgp);
    // Turning it on later is refused for the same reason (R-DIAG-3).
    let mut m = modify_req(&v.connection.id);
    m.enable_tunnels_bgp = Some(true);
    assert_err(
        fx.control.modify_vpn_connection_attribute(&m),
        "IllegalParam.EnableTunnelsBgp",
        &["R-BGP-1"],
    );
}

#[test]
fn r_bgp_2_asn_range_and_default() {
    let fx = fixture();
    let v = fx.create(&bgp_req(&fx));
    let b = v.tunnels[0].tunnel.bgp.as_ref().unwrap();
    assert_eq!(b.local_asn.get(), 45104);
    assert_eq!(v.tunnels[0].peer_asn, Some(65001));
    for (asn, needle) in [("0", "1 to 4294967295"), ("4294967296", "1 to 4294967295")] {
        let mut req = bgp_req(&fx);
        req.tunnels[0].bgp.tunnel_cidr = Some("169.254.30.0/30".into());
        req.tunnels[0].bgp.local_bgp_ip = Some("169.254.30.1".into());
        req.tunnels[1].bgp.tunnel_cidr = Some("169.254.40.0/30".into());
        req.tunnels[1].bgp.local_bgp_ip = Some("169.254.40.1".into());
        req.tunnels[0].bgp.local_asn = Some(asn.into());
        assert_err(
            fx.control.create_vpn_connection(&req),
            "IllegalParam.LocalAsn",
            &[needle],
        );
    }
    // Customer gateway ASNs: same range, and 45104 is reserved for the gateway side.
    assert_err(
        fx.control
            .create_customer_gateway(&cgw_req("203.0.113.30", Some("0"))),
        "IllegalParam.Asn",
        &["1 to 4294967295"],
    );
    assert_err(
        fx.control
            .create_customer_gateway(&cgw_req("203.0.113.30", Some("4294967296"))),
        "IllegalParam.Asn",
        &[],
    );
    assert_err(
        fx.control
            .create_customer_gateway(&cgw_req("203.0.113.30", Some("45104"))),
        "IllegalParam.Asn",
        &["45104"],
    );
    let c = fx
        .control
        .create_customer_gateway(&cgw_req("203.0.113.30", Some("1.10")))
        .unwrap();
    assert_eq!(c.asn.map(|a| a.get()), Some(65546));
}

#[test]
fn r_bgp_2_both_tunnels_use_the_same_local_asn() {
    let fx = fixture();
    let mut req = bgp_req(&fx);
    req.tunnels[0].bgp.local_asn = Some("65100".into());
    req.tunnels[1].bgp.local_asn = Some("65200".into());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.LocalAsn",
        &["same LocalAsn", "R-BGP-2"],
    );
}

#[test]
fn r_bgp_3_tunnel_cidr_must_be_an_unreserved_slash_30_in_169_254() {
    let fx = fixture();
    for cidr in [
        "169.254.169.252/30",
        "169.254.3.0/30",
        "169.254.10.0/29",
        "10.0.0.0/30",
    ] {
        let mut req = bgp_req(&fx);
        req.tunnels[0].bgp = bgp(cidr, "169.254.10.1");
        let e = fx.control.create_vpn_connection(&req).unwrap_err();
        assert_eq!(
            e.code(),
            "IllegalParam.TunnelCidr",
            "{cidr}: {}",
            e.message()
        );
        assert!(
            e.message()
                .contains("TunnelOptionsSpecification.1.TunnelBgpConfig.TunnelCidr")
        );
        assert!(e.message().contains("R-BGP-3"));
    }
}

#[test]
fn r_bgp_3_tunnel_cidr_is_unique_per_gateway() {
    let fx = fixture();
    let mut req = bgp_req(&fx);
    req.tunnels[1].bgp = bgp("169.254.10.0/30", "169.254.10.2");
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.TunnelCidr",
        &["both use", "R-BGP-3"],
    );
    let first = fx.create(&bgp_req(&fx));
    let mut req = bgp_req(&fx);
    Fx::with_cgw(&mut req, &fx.new_cgw("203.0.113.50"));
    req.tunnels[0].bgp = bgp("169.254.50.0/30", "169.254.50.1");
    // tunnel 2 reuses the first connection's tunnel-2 CIDR
    let e = assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.TunnelCidr",
        &["already used", "R-BGP-3"],
    );
    assert!(e.message().contains(first.connection.id.as_str()));
    // The same CIDR on another gateway is fine.
    let g2 = fx
        .control
        .create_vpn_gateway(&gateway_req())
        .unwrap()
        .gateway
        .id;
    let mut req = bgp_req(&fx);
    req.vpn_gateway_id = g2;
    assert!(fx.control.create_vpn_connection(&req).is_ok());
}

#[test]
fn r_bgp_4_local_bgp_ip_must_be_inside_the_tunnel_cidr() {
    let fx = fixture();
    let mut req = bgp_req(&fx);
    req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.11.1");
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.LocalBgpIp",
        &[
            "169.254.11.1",
            "is not inside",
            "169.254.10.1 or 169.254.10.2",
            "R-BGP-4",
        ],
    );
    req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.10.3");
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.LocalBgpIp",
        &["broadcast"],
    );
    req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.10.2");
    let v = fx.create(&req);
    assert_eq!(
        v.tunnels[0].peer_bgp_ip,
        Some(Ipv4Addr::new(169, 254, 10, 1))
    );
}

#[test]
fn r_bgp_5_bgp_can_be_turned_on_later_and_off_again() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    // ModifyTunnelAttribute cannot add BGP while it is off.
    let r = fx
        .control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: v.tunnels[0].tunnel.id.clone(),
            options: TunnelOptionsInput {
                bgp: bgp("169.254.10.0/30", "169.254.10.1"),
                ..Default::default()
            },
        });
    assert_err(
        r,
        "IllegalParam.TunnelBgpConfig",
        &["EnableTunnelsBgp=true"],
    );
    // On without tunnel settings: missing TunnelCidr.
    let mut m = modify_req(&v.connection.id);
    m.enable_tunnels_bgp = Some(true);
    assert_err(
        fx.control.modify_vpn_connection_attribute(&m),
        "MissingParameter",
        &["TunnelOptionsSpecification.1.TunnelBgpConfig.TunnelCidr"],
    );
    m.tunnels = vec![
        TunnelOptionsInput {
            bgp: bgp("169.254.10.0/30", "169.254.10.1"),
            ..Default::default()
        },
        TunnelOptionsInput {
            bgp: bgp("169.254.20.0/30", "169.254.20.1"),
            ..Default::default()
        },
    ];
    let on = fx.control.modify_vpn_connection_attribute(&m).unwrap();
    assert!(on.connection.enable_tunnels_bgp);
    fx.settle();
    // Now ModifyTunnelAttribute may change it.
    let tv = fx
        .control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: v.tunnels[1].tunnel.id.clone(),
            options: TunnelOptionsInput {
                bgp: bgp("169.254.21.0/30", "169.254.21.2"),
                ..Default::default()
            },
        })
        .unwrap();
    assert_eq!(tv.peer_bgp_ip, Some(Ipv4Addr::new(169, 254, 21, 1)));
    fx.settle();
    let mut off = modify_req(&v.connection.id);
    off.enable_tunnels_bgp = Some(false);
    let v = fx.control.modify_vpn_connection_attribute(&off).unwrap();
    assert!(!v.connection.enable_tunnels_bgp);
}

fn learned(prefix: &str, as_path: &[u32], communities: &[u32]) -> BgpLearnedRoute {
    BgpLearnedRoute {
        route_dest: prefix.parse().unwrap(),
        next_hop_ip: Ipv4Addr::new(169, 254, 10, 2),
        as_path: as_path.to_vec(),
        communities: communities.to_vec(),
        med: None,
        learned_ms: 1_700_000_000_000,
    }
}

fn list_bgp(fx: &Fx, page: PageRequest) -> Page<BgpRouteEntry> {
    match fx
        .control
        .describe_vpn_route_entries(&DescribeVpnRouteEntriesRequest {
            vpn_gateway_id: fx.gw.clone(),
            route_entry_type: Some(RouteEntryType::Bgp),
            page,
        })
        .unwrap()
    {
        RouteEntriesPage::Bgp(p) => p,
        other => panic!("bgp page expected, got {other:?}"),
    }
}

/// Issue 7: DescribeVpnRouteEntries `RouteEntryType=bgp` lists what each tunnel's session
/// learned (engine-written observed state): one entry per tunnel and prefix, tunnel 1 first,
/// paged like custom routes; `custom` (the default) still lists only destination routes.
#[test]
fn r_bgp_learned_routes_are_listed_per_tunnel_with_their_attributes() {
    let fx = fixture();
    let v = fx.create(&bgp_req(&fx));
    let (t1, t2) = (
        v.tunnels[0].tunnel.id.clone(),
        v.tunnels[1].tunnel.id.clone(),
    );
    assert_eq!(list_bgp(&fx, PageRequest::default()).total_count, 0);
    fx.control
        .update_tunnel_observed(&t2, |o| {
            o.bgp_routes = vec![learned("198.19.0.0/24", &[65010], &[])];
        })
        .unwrap();
    fx.control
        .update_tunnel_observed(&t1, |o| {
            o.bgp_routes = vec![
                learned(
                    "198.19.1.0/24",
                    &[65010, 64999],
                    &[(65010 << 16) | 42, 0xffff_ff01],
                ),
                learned("198.19.0.0/24", &[65010], &[]),
            ];
        })
        .unwrap();
    let all = list_bgp(&fx, PageRequest::default());
    assert_eq!(all.total_count, 3);
    let rows: Vec<(TunnelId, String, String, String)> = all
        .items
        .iter()
        .map(|e| {
            assert_eq!(e.gateway_id, fx.gw);
            assert_eq!(e.connection_id, v.connection.id);
            (
                e.tunnel_id.clone(),
                e.route.route_dest.to_string(),
                e.route.as_path_text(),
                e.route.community_text(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                t1.clone(),
                "198.19.0.0/24".into(),
                "[65010]".into(),
                String::new()
            ),
            (
                t1.clone(),
                "198.19.1.0/24".into(),
                "[65010,64999]".into(),
                "65010:42,65535:65281".into()
            ),
            (
                t2.clone(),
                "198.19.0.0/24".into(),
                "[65010]".into(),
                String::new()
            ),
        ]
    );
    // Paging: page 2 of size 2 is the third entry.
    let p2 = list_bgp(
        &fx,
        PageRequest {
            page_number: Some(2),
            page_size: Some(2),
        },
    );
    assert_eq!((p2.total_count, p2.items.len()), (3, 1));
    assert_eq!(p2.items[0].tunnel_id, t2);
    // The default kind is custom: none of the learned routes.
    let custom = fx
        .control
        .describe_vpn_route_entries(&DescribeVpnRouteEntriesRequest {
            vpn_gateway_id: fx.gw.clone(),
            route_entry_type: None,
            page: PageRequest::default(),
        })
        .unwrap();
    let RouteEntriesPage::Custom(custom) = custom else {
        panic!("custom page expected: {custom:?}");
    };
    assert!(custom.items.iter().all(|r| r.next_hop == v.connection.id));
    assert!(
        !custom
            .items
            .iter()
            .any(|r| r.route_dest.to_string().starts_with("198.19.")),
        "{custom:?}"
    );
}

/// Issue 7 / R-BGP-5: once `EnableTunnelsBgp` is off the learned routes are not listed, even
/// before the engine has cleared the tunnels' observed state.
#[test]
fn r_bgp_5_learned_routes_are_not_listed_once_bgp_is_off() {
    let fx = fixture();
    let v = fx.create(&bgp_req(&fx));
    fx.control
        .update_tunnel_observed(&v.tunnels[0].tunnel.id, |o| {
            o.bgp_routes = vec![learned("198.19.0.0/24", &[65010], &[])];
        })
        .unwrap();
    assert_eq!(list_bgp(&fx, PageRequest::default()).total_count, 1);
    fx.settle();
    let mut off = modify_req(&v.connection.id);
    off.enable_tunnels_bgp = Some(false);
    fx.control.modify_vpn_connection_attribute(&off).unwrap();
    assert_eq!(list_bgp(&fx, PageRequest::default()).total_count, 0);
    // An unknown gateway is a NotFound, as for custom routes.
    let r = fx
        .control
        .describe_vpn_route_entries(&DescribeVpnRouteEntriesRequest {
            vpn_gateway_id: "vpn-nosuchgateway000000".parse().unwrap(),
            route_entry_type: Some(RouteEntryType::Bgp),
            page: PageRequest::default(),
        });
    assert!(r.is_err(), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// Customer gateways, gateways, names

#[test]
fn customer_gateway_rules() {
    let fx = fixture();
    assert_err(
        fx.control
            .create_customer_gateway(&cgw_req("127.0.0.1", None)),
        "IllegalParam.IpAddress",
        &["loopback"],
    );
    assert_err(
        fx.control
            .create_customer_gateway(&cgw_req("169.254.1.1", None)),
        "IllegalParam.IpAddress",
        &["link-local"],
    );
    assert_err(
        fx.control
            .create_customer_gateway(&cgw_req("203.0.113.10", None)),
        "InvalidIpAddress.AlreadyExist",
        &[fx.cgw_asn.as_str()],
    );
    let mut req = cgw_req("203.0.113.40", None);
    req.auth_key = Some("with space".into());
    assert_err(
        fx.control.create_customer_gateway(&req),
        "IllegalParam.AuthKey",
        &["1 to 64"],
    );
    // In use ⇒ cannot delete.
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    assert_err(
        fx.control.delete_customer_gateway(None, &fx.cgw_asn),
        "DependencyViolation.VpnConnection",
        &[v.connection.id.as_str()],
    );
    fx.control
        .delete_customer_gateway(None, &fx.cgw_plain)
        .unwrap();
    assert_err(
        fx.control.describe_customer_gateway(&fx.cgw_plain),
        "InvalidCustomerGatewayInstanceId.NotFound",
        &[],
    );
    let m = fx
        .control
        .modify_customer_gateway_attribute(&ModifyCustomerGatewayAttributeRequest {
            client_token: None,
            customer_gateway_id: fx.cgw_asn.clone(),
            name: Some("branch-office".into()),
            description: None,
            auth_key: Some("md5-key".into()),
        })
        .unwrap();
    assert_eq!(m.name.as_deref(), Some("branch-office"));
    assert_eq!(m.auth_key.as_deref(), Some("md5-key"));
}

#[test]
fn gateway_rules() {
    let fx = fixture();
    let mut req = gateway_req();
    req.bandwidth = 7;
    assert_err(
        fx.control.create_vpn_gateway(&req),
        "IllegalParam.Bandwidth",
        &["5, 10, 20"],
    );
    let mut req = gateway_req();
    req.name = Some("1bad".into());
    assert_err(
        fx.control.create_vpn_gateway(&req),
        "InvalidName",
        &["start with a letter"],
    );
    let mut req = gateway_req();
    req.enable_ssl = Some(true);
    assert_err(
        fx.control.create_vpn_gateway(&req),
        "IllegalParam.EnableSsl",
        &[],
    );
    // Delete refused while a connection is bound.
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    assert_err(
        fx.control.delete_vpn_gateway(None, &fx.gw),
        "DependencyViolation.VpnConnection",
        &[v.connection.id.as_str()],
    );
    let g = fx
        .control
        .modify_vpn_gateway_attribute(&ModifyVpnGatewayAttributeRequest {
            client_token: None,
            vpn_gateway_id: fx.gw.clone(),
            name: Some("edge-gw".into()),
            description: Some("lab".into()),
            auto_propagate: Some(false),
        })
        .unwrap();
    assert_eq!(g.gateway.name, "edge-gw");
    assert!(!g.gateway.auto_propagate);
    assert_eq!(g.connection_count, 1);
    let page = fx
        .control
        .describe_vpn_gateways(&DescribeVpnGatewaysRequest::default())
        .unwrap();
    assert_eq!(page.total_count, 1);
    assert_err(
        fx.control
            .describe_vpn_gateways(&DescribeVpnGatewaysRequest {
                page: PageRequest {
                    page_number: None,
                    page_size: Some(51),
                },
                ..Default::default()
            }),
        "IllegalParam.PageSize",
        &["1 to 50"],
    );
}

#[test]
fn ids_with_a_space_are_rejected() {
    let e = "vco-abc def".parse::<VpnConnectionId>().unwrap_err();
    assert_eq!(e.code(), "IllegalParam.VpnConnectionId");
    assert!(e.message().contains("' '"));
    assert!("cgw-a b".parse::<CustomerGatewayId>().is_err());
    assert!("tun- x".parse::<TunnelId>().is_err());
}

#[test]
fn names_follow_the_provider_rules() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.name = Some("https://phish".into());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "InvalidName",
        &["http"],
    );
    req.name = Some("x".repeat(101));
    assert_err(
        fx.control.create_vpn_connection(&req),
        "InvalidName",
        &["101 characters"],
    );
}

#[test]
fn one_connection_per_tunnel_position_and_customer_gateway() {
    let fx = fixture();
    let first = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    // Tunnel 1 of a second connection to the same customer gateway would be the same IP pair.
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[1].customer_gateway_id = Some(fx.cgw_plain.clone());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "InvalidVpnConnection.AlreadyExists",
        &[first.connection.id.as_str(), "tunnel 1"],
    );
    // Crossing over is fine: tunnel 1 to the other device, tunnel 2 to the first one's tunnel-1
    // device uses IP 2, a different pair.
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[0].customer_gateway_id = Some(fx.cgw_plain.clone());
    req.tunnels[1].customer_gateway_id = Some(fx.new_cgw("203.0.113.60"));
    assert!(fx.control.create_vpn_connection(&req).is_ok());
}

// ---------------------------------------------------------------------------------------------
// R-HA-3, R-HA-5 and R-DIAG: what the control plane records and says

#[test]
fn r_ha_3_the_carrier_is_recorded_and_the_connection_status_follows_it() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let [t1, t2] = [
        v.tunnels[0].tunnel.id.clone(),
        v.tunnels[1].tunnel.id.clone(),
    ];
    fx.control
        .update_tunnel_observed(&t1, |o| o.status = NegotiationStatus::IpsecSaEstablished)
        .unwrap();
    fx.control
        .update_tunnel_observed(&t2, |o| o.status = NegotiationStatus::IkeSaEstablished)
        .unwrap();
    fx.control
        .set_carrying_tunnel(&v.connection.id, Some(TunnelIndex::One))
        .unwrap();
    let d = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    assert_eq!(d.status, NegotiationStatus::IpsecSaEstablished);
    // Master down: traffic on the backup.
    fx.control
        .update_tunnel_observed(&t1, |o| o.status = NegotiationStatus::IkeSaNotEstablished)
        .unwrap();
    fx.control
        .update_tunnel_observed(&t2, |o| o.status = NegotiationStatus::IpsecSaEstablished)
        .unwrap();
    fx.control
        .set_carrying_tunnel(&v.connection.id, Some(TunnelIndex::Two))
        .unwrap();
    let d = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    assert!(d.tunnels[1].observed.carries_traffic && !d.tunnels[0].observed.carries_traffic);
    assert_eq!(d.status, NegotiationStatus::IpsecSaEstablished);
    // Failback: the master carries again; roles never changed.
    fx.control
        .set_carrying_tunnel(&v.connection.id, Some(TunnelIndex::One))
        .unwrap();
    let d = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    assert!(d.tunnels[0].observed.carries_traffic);
    assert_eq!(d.tunnels[0].role, TunnelRole::Master);
    assert_eq!(d.status, NegotiationStatus::IkeSaNotEstablished);
}

#[test]
fn r_ha_5_link_only_redundancy_is_said_in_the_connection_notes() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    assert!(
        !v.notes.iter().any(|n| n.contains("redundancy")),
        "{:?}",
        v.notes
    );
    // Move IP 2 into IP 1's zone: the same connection now reports link-only redundancy.
    fx.control
        .configure_public_ip_pool(&[
            (zone("zone-a"), "192.0.2.1".parse().unwrap()),
            (zone("zone-a"), "192.0.2.2".parse().unwrap()),
        ])
        .unwrap();
    let v = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("link redundancy only") && n.contains("R-HA-4"))
    );
}

#[test]
fn r_diag_1_the_last_negotiation_failure_says_which_cause() {
    use dualsec_control::model::NegotiationFailure;
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let t1 = v.tunnels[0].tunnel.id.clone();
    for cause in [
        NegotiationFailure::PskMismatch,
        NegotiationFailure::ProposalMismatch {
            detail: "peer offers aes256/sha256/group14".into(),
        },
        NegotiationFailure::PeerUnreachable,
    ] {
        fx.control
            .update_tunnel_observed(&t1, |o| o.last_error = Some(cause.clone()))
            .unwrap();
        let d = fx
            .control
            .describe_vpn_connection(&v.connection.id)
            .unwrap();
        assert_eq!(d.tunnels[0].observed.last_error.as_ref(), Some(&cause));
        assert_eq!(d.tunnels[1].observed.last_error, None);
    }
}

#[test]
fn r_diag_3_changing_a_bgp_tunnel_to_a_customer_gateway_without_asn_is_refused() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.enable_tunnels_bgp = Some(true);
    req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.10.1");
    req.tunnels[1].bgp = bgp("169.254.20.0/30", "169.254.20.1");
    let v = fx.create(&req);
    let r = fx
        .control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: v.tunnels[1].tunnel.id.clone(),
            options: TunnelOptionsInput {
                customer_gateway_id: Some(fx.cgw_plain.clone()),
                ..Default::default()
            },
        });
    assert_err(
        r,
        "IllegalParam.EnableTunnelsBgp",
        &["has no ASN", "tunnel 2"],
    );
}

#[test]
fn r_diag_4_tunnel_2_cannot_be_master() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.tunnels[1].role = Some(TunnelRole::Master);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.Role",
        &[
            "TunnelOptionsSpecification.2.Role",
            "tunnel 2 is always slave",
        ],
    );
}

#[test]
fn r_ha_5_one_tunnel_in_use_is_reported() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let note = |fx: &Fx| {
        fx.control
            .describe_vpn_connection(&v.connection.id)
            .unwrap()
            .notes
            .into_iter()
            .find(|n| n.contains("R-HA-5"))
    };
    assert_eq!(note(&fx), None, "nothing up yet: no claim either way");
    fx.control
        .update_tunnel_observed(&v.tunnels[0].tunnel.id, |o| {
            o.status = NegotiationStatus::IpsecSaEstablished
        })
        .unwrap();
    let n = note(&fx).expect("only tunnel 1 up");
    assert!(
        n.contains("Only tunnel 1 is up") && n.contains("no master/backup redundancy"),
        "{n}"
    );
    fx.control
        .update_tunnel_observed(&v.tunnels[1].tunnel.id, |o| {
            o.status = NegotiationStatus::IpsecSaEstablished
        })
        .unwrap();
    assert_eq!(note(&fx), None, "both up: redundant");
}

#[test]
fn auto_propagate_cannot_be_turned_off_while_bgp_is_on() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.enable_tunnels_bgp = Some(true);
    req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.10.1");
    req.tunnels[1].bgp = bgp("169.254.20.0/30", "169.254.20.1");
    let v = fx.create(&req);
    let off = ModifyVpnGatewayAttributeRequest {
        client_token: None,
        vpn_gateway_id: fx.gw.clone(),
        name: None,
        description: None,
        auto_propagate: Some(false),
    };
    assert_err(
        fx.control.modify_vpn_gateway_attribute(&off),
        "IllegalParam.AutoPropagate",
        &[v.connection.id.as_str()],
    );
    let mut m = modify_req(&v.connection.id);
    m.enable_tunnels_bgp = Some(false);
    fx.control.modify_vpn_connection_attribute(&m).unwrap();
    fx.settle();
    assert!(
        !fx.control
            .modify_vpn_gateway_attribute(&off)
            .unwrap()
            .gateway
            .auto_propagate
    );
}

/// Issue 6 visibility: the failover block of Describe (R-HA-3..5). Redundancy is judged from the
/// tunnels until the engine reports it; switches are counted with their outage; the carrier
/// follows `set_carrying_tunnel`.
#[test]
fn r_ha_3_failover_counts_outage_and_redundancy_are_recorded() {
    use dualsec_control::model::{ConnectionRedundancy, SwitchKind, SwitchRecord};
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let id = v.connection.id.clone();
    let [t1, t2] = [
        v.tunnels[0].tunnel.id.clone(),
        v.tunnels[1].tunnel.id.clone(),
    ];
    // Nothing negotiated yet: no redundancy, no carrier, no switches.
    let f = fx.control.describe_vpn_connection(&id).unwrap().failover;
    assert_eq!(f.redundancy, ConnectionRedundancy::NoTunnelUp);
    assert_eq!(f.redundancy.api_name(), "none");
    assert_eq!(f.carrying, None);
    assert_eq!(
        (f.observed.failover_count, f.observed.failback_count),
        (0, 0)
    );
    assert_eq!(f.observed.last_switch, None);
    // Only tunnel 2 up: R-HA-5, and it says which.
    fx.control
        .update_tunnel_observed(&t2, |o| o.status = NegotiationStatus::IpsecSaEstablished)
        .unwrap();
    let f = fx.control.describe_vpn_connection(&id).unwrap().failover;
    assert_eq!(
        f.redundancy,
        ConnectionRedundancy::OnlyOneTunnel(TunnelIndex::Two)
    );
    assert!(
        f.redundancy.reason().contains("only tunnel 2"),
        "{}",
        f.redundancy.reason()
    );
    // Both up, IPs in two zones (the fixture's pool): dual zone (R-HA-4).
    fx.control
        .update_tunnel_observed(&t1, |o| o.status = NegotiationStatus::IpsecSaEstablished)
        .unwrap();
    fx.control
        .set_carrying_tunnel(&id, Some(TunnelIndex::One))
        .unwrap();
    let f = fx.control.describe_vpn_connection(&id).unwrap().failover;
    assert_eq!(f.redundancy, ConnectionRedundancy::DualZone);
    assert_eq!(f.redundancy.api_name(), "dual_zone");
    assert_eq!(f.carrying, Some(TunnelIndex::One));
    // The engine's judgement wins over the one from the negotiation status.
    fx.control
        .set_connection_redundancy(&id, ConnectionRedundancy::OnlyOneTunnel(TunnelIndex::Two))
        .unwrap();
    // A failover with its outage, then a failback.
    let o = fx
        .control
        .record_switch(
            &id,
            SwitchRecord {
                time_ms: 1_000,
                kind: SwitchKind::Failover,
                from: TunnelIndex::One,
                to: TunnelIndex::Two,
                reason: "tunnel 1: 3 probes lost in 604 ms".into(),
                outage_ms: Some(604),
            },
        )
        .unwrap();
    assert_eq!(o.failover_count, 1);
    fx.control
        .set_carrying_tunnel(&id, Some(TunnelIndex::Two))
        .unwrap();
    let f = fx.control.describe_vpn_connection(&id).unwrap().failover;
    assert_eq!(
        f.redundancy,
        ConnectionRedundancy::OnlyOneTunnel(TunnelIndex::Two)
    );
    assert_eq!(f.carrying, Some(TunnelIndex::Two));
    assert_eq!(f.observed.failover_count, 1);
    assert_eq!(f.observed.total_outage_ms, 604);
    assert_eq!(f.observed.last_outage_ms, Some(604));
    fx.control
        .record_switch(
            &id,
            SwitchRecord {
                time_ms: 5_000,
                kind: SwitchKind::Failback,
                from: TunnelIndex::Two,
                to: TunnelIndex::One,
                reason: "tunnel 1 healthy for 3 s: failback".into(),
                outage_ms: None,
            },
        )
        .unwrap();
    fx.control
        .record_switch(
            &id,
            SwitchRecord {
                time_ms: 9_000,
                kind: SwitchKind::Failover,
                from: TunnelIndex::One,
                to: TunnelIndex::Two,
                reason: "tunnel 1: IKE SA down (DPD timeout)".into(),
                outage_ms: Some(20),
            },
        )
        .unwrap();
    let f = fx.control.describe_vpn_connection(&id).unwrap().failover;
    assert_eq!(
        (f.observed.failover_count, f.observed.failback_count),
        (2, 1)
    );
    assert_eq!(f.observed.total_outage_ms, 624);
    assert_eq!(f.observed.last_outage_ms, Some(20));
    let last = f.observed.last_switch.unwrap();
    assert_eq!((last.time_ms, last.kind), (9_000, SwitchKind::Failover));
    assert_eq!(last.reason, "tunnel 1: IKE SA down (DPD timeout)");
    // Unknown connections are refused, not created.
    let ghost: dualsec_control::ids::VpnConnectionId = "vco-doesnotexist00000".parse().unwrap();
    assert!(
        fx.control
            .set_connection_redundancy(&ghost, ConnectionRedundancy::DualZone)
            .is_err()
    );
}
