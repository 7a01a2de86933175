//! The engine's plan: desired state → what this node runs (pure; no IO).
#![allow(clippy::unwrap_used)] // test fixture: a failed setup should panic

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dualsec_control::requests::*;
use dualsec_control::values::{IkeMode, IkeVersion, parse_subnets};
use dualsec_control::*;
use dualsec_crypto::{DhId, EncrId, PrfId};
use dualsec_engine::IkeFlavor;
use dualsec_engine::plan::{RoutePlan, plan};
use dualsec_ike::v1::{Mode, Options};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Fx {
    control: Control,
    clock: Arc<ManualClock>,
    gw: VpnGatewayId,
    cgw: CustomerGatewayId,
}

fn fixture() -> Fx {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let control = Control::new(
        Arc::new(MemoryStore::default()),
        clock.clone(),
        Box::new(ChaCha20Rng::seed_from_u64(7)),
        ControlConfig {
            completion: Completion::AfterDelay(Duration::from_secs(1)),
            ..ControlConfig::default()
        },
    );
    control
        .configure_public_ip_pool(&[
            (ZoneId("zone-a".into()), "192.0.2.1".parse().unwrap()),
            (ZoneId("zone-b".into()), "192.0.2.2".parse().unwrap()),
        ])
        .unwrap();
    let gw = control
        .create_vpn_gateway(&CreateVpnGatewayRequest {
            vpc_id: "vpc-test".into(),
            bandwidth: 100,
            ..Default::default()
        })
        .unwrap()
        .gateway
        .id;
    let cgw = control
        .create_customer_gateway(&CreateCustomerGatewayRequest {
            client_token: None,
            ip_address: "203.0.113.2".parse().unwrap(),
            asn: None,
            auth_key: None,
            name: None,
            description: None,
            resource_group_id: None,
            tags: vec![],
        })
        .unwrap()
        .id;
    Fx {
        control,
        clock,
        gw,
        cgw,
    }
}

fn ikev2_tunnel(cgw: &CustomerGatewayId) -> TunnelOptionsInput {
    let mut t = TunnelOptionsInput {
        customer_gateway_id: Some(cgw.clone()),
        ..Default::default()
    };
    t.ike.ike_version = Some(IkeVersion::V2);
    t
}

impl Fx {
    fn connection(&self, local: &str, remote: &str) -> VpnConnectionId {
        let v = self
            .control
            .create_vpn_connection(&CreateVpnConnectionRequest {
                client_token: None,
                dry_run: false,
                vpn_gateway_id: self.gw.clone(),
                name: None,
                local_subnet: parse_subnets("LocalSubnet", local).unwrap(),
                remote_subnet: parse_subnets("RemoteSubnet", remote).unwrap(),
                effect_immediately: Some(true),
                auto_config_route: None,
                enable_tunnels_bgp: None,
                tunnels: vec![ikev2_tunnel(&self.cgw), ikev2_tunnel(&self.cgw)],
                resource_group_id: None,
                tags: vec![],
            })
            .unwrap();
        self.settle();
        v.connection.id
    }

    fn settle(&self) {
        self.clock.advance(Duration::from_secs(2));
        self.control.complete_due_operations().unwrap();
    }
}

fn ips(s: &[&str]) -> Vec<IpAddr> {
    s.iter().map(|a| a.parse().unwrap()).collect()
}

#[test]
fn a_node_runs_only_the_tunnels_on_its_public_ips() {
    let fx = fixture();
    let c = fx.connection("198.18.0.0/16", "198.19.0.0/16");
    let desired = fx.control.desired_state().unwrap();

    let both = plan(&desired, &ips(&["192.0.2.1", "192.0.2.2"]));
    assert_eq!(both.tunnels.len(), 2);
    let zone_a = plan(&desired, &ips(&["192.0.2.1"]));
    assert_eq!(zone_a.tunnels.len(), 1);
    let (_, t) = zone_a.tunnels.iter().next().unwrap();
    assert_eq!(t.index, TunnelIndex::One, "IP 1 carries tunnel 1 (R-HA-1)");
    assert!(zone_a.connections.contains_key(&c));
    let nobody = plan(&desired, &ips(&["192.0.2.9"]));
    assert!(nobody.tunnels.is_empty() && nobody.connections.is_empty());
}

#[test]
fn r_conn_2_policy_mode_routes_every_local_remote_pair() {
    let fx = fixture();
    let c = fx.connection("198.18.1.0/24,198.18.2.0/24", "198.19.1.0/24,198.19.2.0/24");
    let p = plan(
        &fx.control.desired_state().unwrap(),
        &ips(&["192.0.2.1", "192.0.2.2"]),
    );
    let routes: Vec<RoutePlan> = p.connections[&c].routes.iter().copied().collect();
    assert_eq!(routes.len(), 4, "{routes:?}");
    for r in &routes {
        let src = r.src.expect("policy routes match the source too");
        assert!(src.to_string().starts_with("198.18."));
        assert!(r.dst.to_string().starts_with("198.19."));
    }
    let t = p.tunnels.values().next().unwrap();
    let cfg = t.setup.as_ref().unwrap();
    assert_eq!(cfg.local_ts.len(), 2);
    assert_eq!(cfg.remote_ts.len(), 2);
}

#[test]
fn destination_mode_routes_come_from_route_entries() {
    let fx = fixture();
    let c = fx.connection("0.0.0.0/0", "0.0.0.0/0");
    let before = plan(&fx.control.desired_state().unwrap(), &ips(&["192.0.2.1"]));
    assert!(before.connections[&c].routes.is_empty());
    fx.control
        .create_vpn_route_entry(&CreateVpnRouteEntryRequest {
            client_token: None,
            dry_run: false,
            vpn_gateway_id: fx.gw.clone(),
            route_dest: "198.19.0.0/16".parse().unwrap(),
            next_hop: c.clone(),
            weight: 100,
            publish_vpc: false,
            description: None,
            overlay_mode: None,
        })
        .unwrap();
    let after = plan(&fx.control.desired_state().unwrap(), &ips(&["192.0.2.1"]));
    let routes: Vec<RoutePlan> = after.connections[&c].routes.iter().copied().collect();
    assert_eq!(
        routes,
        vec![RoutePlan {
            dst: "198.19.0.0/16".parse().unwrap(),
            src: None
        }]
    );
}

#[test]
fn r_conn_5_modifying_one_tunnel_changes_only_its_fingerprint() {
    let fx = fixture();
    let c = fx.connection("198.18.0.0/16", "198.19.0.0/16");
    let node = ips(&["192.0.2.1", "192.0.2.2"]);
    let before = plan(&fx.control.desired_state().unwrap(), &node);
    let view = fx.control.describe_vpn_connection(&c).unwrap();
    let t2 = view.connection.tunnels[1].id.clone();
    let mut options = TunnelOptionsInput::default();
    options.ike.psk = Some("another-secret-1".into());
    fx.control
        .modify_tunnel_attribute(&ModifyTunnelAttributeRequest {
            client_token: None,
            vpn_connection_id: c.clone(),
            tunnel_id: t2.clone(),
            options,
        })
        .unwrap();
    fx.settle();
    let after = plan(&fx.control.desired_state().unwrap(), &node);
    for (id, t) in &after.tunnels {
        let changed = t.fingerprint != before.tunnels[id].fingerprint;
        assert_eq!(
            changed,
            *id == t2,
            "tunnel {} changed: {changed}",
            id.as_str()
        );
    }
}

/// Issue 8: the API's default ikev1 (api-reference §8 item 10) runs in the IKEv1 endpoint, with
/// the tunnel's phase-1 mode (R-TUN-3); the same settings feed both IKE versions.
#[test]
fn ikev1_tunnels_run_with_their_phase_1_mode_issue_8() {
    let fx = fixture();
    let mut aggressive = TunnelOptionsInput {
        customer_gateway_id: Some(fx.cgw.clone()),
        ..Default::default()
    };
    aggressive.ike.ike_mode = Some(IkeMode::Aggressive);
    let v = fx
        .control
        .create_vpn_connection(&CreateVpnConnectionRequest {
            client_token: None,
            dry_run: false,
            vpn_gateway_id: fx.gw.clone(),
            name: None,
            local_subnet: parse_subnets("LocalSubnet", "198.18.0.0/16").unwrap(),
            remote_subnet: parse_subnets("RemoteSubnet", "198.19.0.0/16").unwrap(),
            effect_immediately: Some(true),
            auto_config_route: None,
            enable_tunnels_bgp: None,
            // No IkeVersion: the provider's API default is ikev1, mode main.
            tunnels: vec![
                TunnelOptionsInput {
                    customer_gateway_id: Some(fx.cgw.clone()),
                    ..Default::default()
                },
                aggressive,
            ],
            resource_group_id: None,
            tags: vec![],
        })
        .unwrap();
    fx.settle();
    let p = plan(
        &fx.control.desired_state().unwrap(),
        &ips(&["192.0.2.1", "192.0.2.2"]),
    );
    let t1 = p.tunnels[&v.connection.tunnels[0].id]
        .setup
        .as_ref()
        .unwrap();
    let t2 = p.tunnels[&v.connection.tunnels[1].id]
        .setup
        .as_ref()
        .unwrap();
    assert_eq!(t1.flavor, IkeFlavor::V1(Options { mode: Mode::Main }));
    assert_eq!(
        t2.flavor,
        IkeFlavor::V1(Options {
            mode: Mode::Aggressive
        })
    );
    // The API default proposal aes/md5/group2 (api-reference §8) as IKEv1 transforms.
    let ike = &t1.ike_proposals[0];
    assert_eq!((ike.encr, ike.key_bits), (EncrId::AES_CBC, Some(128)));
    assert_eq!(ike.prf, PrfId::HMAC_MD5);
    assert_eq!(ike.dh, DhId::MODP_1024);
    assert_eq!(t1.local_ts.len(), 1);
    assert_eq!(t1.remote_ts.len(), 1);
}
