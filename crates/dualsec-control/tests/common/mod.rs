//! Shared fixture: a `Control` over an in-memory (or file) store with a manual clock, a seeded RNG
//! and a two-zone public-IP pool.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic

use std::sync::Arc;
use std::time::Duration;

use dualsec_control::requests::*;
use dualsec_control::store::Store;
use dualsec_control::values::parse_subnets;
use dualsec_control::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub const T0: u64 = 1_700_000_000_000;
pub const DELAY: Duration = Duration::from_secs(1);

pub struct Fx {
    pub control: Control,
    pub clock: Arc<ManualClock>,
    pub gw: VpnGatewayId,
    /// Customer gateway with ASN 65001, IP 203.0.113.10.
    pub cgw_asn: CustomerGatewayId,
    /// Customer gateway without ASN, IP 203.0.113.20.
    pub cgw_plain: CustomerGatewayId,
}

pub fn zone(z: &str) -> ZoneId {
    ZoneId(z.into())
}

pub fn control_over(
    store: Arc<dyn Store>,
    completion: Completion,
    seed: u64,
) -> (Control, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let config = ControlConfig {
        completion,
        ..ControlConfig::default()
    };
    let c = Control::new(
        store,
        clock.clone(),
        Box::new(ChaCha20Rng::seed_from_u64(seed)),
        config,
    );
    (c, clock)
}

pub fn fixture() -> Fx {
    fixture_with(
        Arc::new(SqliteStore::open_in_memory().unwrap()),
        Completion::AfterDelay(DELAY),
    )
}

pub fn fixture_with(store: Arc<dyn Store>, completion: Completion) -> Fx {
    let (control, clock) = control_over(store, completion, 42);
    control
        .configure_public_ip_pool(&[
            (zone("zone-a"), "192.0.2.1".parse().unwrap()),
            (zone("zone-b"), "192.0.2.2".parse().unwrap()),
            (zone("zone-a"), "192.0.2.3".parse().unwrap()),
            (zone("zone-b"), "192.0.2.4".parse().unwrap()),
        ])
        .unwrap();
    let gw = control
        .create_vpn_gateway(&gateway_req())
        .unwrap()
        .gateway
        .id;
    let cgw_asn = control
        .create_customer_gateway(&cgw_req("203.0.113.10", Some("65001")))
        .unwrap()
        .id;
    let cgw_plain = control
        .create_customer_gateway(&cgw_req("203.0.113.20", None))
        .unwrap()
        .id;
    Fx {
        control,
        clock,
        gw,
        cgw_asn,
        cgw_plain,
    }
}

pub fn gateway_req() -> CreateVpnGatewayRequest {
    CreateVpnGatewayRequest {
        vpc_id: "vpc-test".into(),
        bandwidth: 100,
        ..Default::default()
    }
}

pub fn cgw_req(ip: &str, asn: Option<&str>) -> CreateCustomerGatewayRequest {
    CreateCustomerGatewayRequest {
        client_token: None,
        ip_address: ip.parse().unwrap(),
        asn: asn.map(str::to_owned),
        auth_key: None,
        name: None,
        description: None,
        resource_group_id: None,
        tags: vec![],
    }
}

pub fn tunnel(cgw: &CustomerGatewayId) -> TunnelOptionsInput {
    TunnelOptionsInput {
        customer_gateway_id: Some(cgw.clone()),
        ..Default::default()
    }
}

pub fn bgp(cidr: &str, ip: &str) -> TunnelBgpInput {
    TunnelBgpInput {
        local_asn: None,
        tunnel_cidr: Some(cidr.into()),
        local_bgp_ip: Some(ip.into()),
    }
}

pub fn nets(s: &str) -> Vec<ipnet::Ipv4Net> {
    parse_subnets("LocalSubnet", s).unwrap()
}

pub fn conn_req(fx: &Fx, local: &str, remote: &str) -> CreateVpnConnectionRequest {
    CreateVpnConnectionRequest {
        client_token: None,
        dry_run: false,
        vpn_gateway_id: fx.gw.clone(),
        name: None,
        local_subnet: nets(local),
        remote_subnet: nets(remote),
        effect_immediately: None,
        auto_config_route: None,
        enable_tunnels_bgp: None,
        tunnels: vec![tunnel(&fx.cgw_asn), tunnel(&fx.cgw_asn)],
        resource_group_id: None,
        tags: vec![],
    }
}

pub fn modify_req(id: &VpnConnectionId) -> ModifyVpnConnectionAttributeRequest {
    ModifyVpnConnectionAttributeRequest {
        client_token: None,
        vpn_connection_id: id.clone(),
        vpn_gateway_id: None,
        name: None,
        local_subnet: None,
        remote_subnet: None,
        effect_immediately: None,
        auto_config_route: None,
        enable_tunnels_bgp: None,
        tunnels: vec![],
    }
}

impl Fx {
    /// A fresh customer gateway (with ASN 65002) at `ip`.
    pub fn new_cgw(&self, ip: &str) -> CustomerGatewayId {
        self.control
            .create_customer_gateway(&cgw_req(ip, Some("65002")))
            .unwrap()
            .id
    }

    /// Points both tunnels of `req` at `cgw`.
    pub fn with_cgw(req: &mut CreateVpnConnectionRequest, cgw: &CustomerGatewayId) {
        for t in &mut req.tunnels {
            t.customer_gateway_id = Some(cgw.clone());
        }
    }

    /// Lets the pending operation complete (timer mode).
    pub fn settle(&self) {
        self.clock.advance(DELAY);
        self.control.complete_due_operations().unwrap();
    }

    /// Creates a connection and settles.
    pub fn create(&self, req: &CreateVpnConnectionRequest) -> VpnConnectionView {
        let v = self.control.create_vpn_connection(req).unwrap();
        self.settle();
        v
    }
}

/// Asserts `r` failed with `code` and a message containing every `needle`.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(r: Result<T>, code: &str, needles: &[&str]) -> ControlError {
    let e = r.expect_err("expected an error");
    assert_eq!(e.code(), code, "message: {}", e.message());
    for n in needles {
        assert!(
            e.message().contains(n),
            "message {:?} lacks {:?}",
            e.message(),
            n
        );
    }
    e
}
