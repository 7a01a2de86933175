//! The `store::Tx` contract, checked against every `Store` implementation (an etcd store must pass
//! the same): upsert and delete per record type, deterministic ordering, lookups by index,
//! rollback on error, read-only reads, event filters.

#![allow(clippy::unwrap_used)] // tests: failures should panic

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use common::*;
use dualsec_control::model::*;
use dualsec_control::store::{MemoryStore, Store, Tx, read_with, write_with};
use dualsec_control::values::*;
use dualsec_control::*;

fn stores() -> Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let file: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("c.db")).unwrap());
    vec![
        (
            "sqlite-memory",
            Arc::new(SqliteStore::open_in_memory().unwrap()),
            None,
        ),
        ("sqlite-file", file, Some(dir)),
        ("memory", Arc::new(MemoryStore::new()), None),
    ]
}

fn gw(id: &str, t: u64) -> VpnGateway {
    VpnGateway {
        id: id.parse().unwrap(),
        name: id.into(),
        description: None,
        vpc_id: "vpc-1".into(),
        vswitch_id: None,
        disaster_recovery_vswitch_id: None,
        bandwidth_mbps: 10,
        network_type: NetworkType::Public,
        enable_ipsec: true,
        auto_propagate: true,
        status: GatewayStatus::Active,
        addresses: [
            GatewayAddress {
                ip: Ipv4Addr::new(192, 0, 2, 1),
                zone: zone("a"),
            },
            GatewayAddress {
                ip: Ipv4Addr::new(192, 0, 2, 2),
                zone: zone("b"),
            },
        ],
        resource_group_id: None,
        tags: vec![],
        create_time_ms: t,
    }
}

fn tunnel(id: &str, index: TunnelIndex) -> Tunnel {
    Tunnel {
        id: id.parse().unwrap(),
        index,
        customer_gateway_id: "cgw-1".parse().unwrap(),
        ike: IkeConfig {
            psk: Psk::new("Psk", "k").unwrap(),
            version: IkeVersion::V2,
            mode: IkeMode::Main,
            enc_alg: EncAlg::Aes,
            auth_alg: AuthAlg::Sha256,
            dh_group: DhGroup::Group14,
            lifetime: Lifetime::DEFAULT,
            local_id: None,
            remote_id: None,
        },
        ipsec: IpsecConfig {
            enc_alg: EncAlg::Aes,
            auth_alg: AuthAlg::Sha256,
            pfs: IpsecPfs::Group14,
            lifetime: Lifetime::DEFAULT,
        },
        enable_dpd: true,
        enable_nat_traversal: true,
        bgp: None,
        state: TunnelState::Active,
    }
}

fn conn(id: &str, g: &str, t: u64, tun: [&str; 2]) -> VpnConnection {
    VpnConnection {
        id: id.parse().unwrap(),
        gateway_id: g.parse().unwrap(),
        name: id.into(),
        local_subnets: vec!["0.0.0.0/0".parse().unwrap()],
        remote_subnets: vec!["0.0.0.0/0".parse().unwrap()],
        effect_immediately: false,
        auto_config_route: true,
        enable_tunnels_bgp: false,
        state: ConnectionState::Active,
        tunnels: [
            tunnel(tun[0], TunnelIndex::One),
            tunnel(tun[1], TunnelIndex::Two),
        ],
        resource_group_id: None,
        tags: vec![],
        create_time_ms: t,
    }
}

fn ev(c: &str, t: Option<&str>, ms: u64, m: &str) -> ConnectionEvent {
    ConnectionEvent {
        seq: 0,
        connection_id: c.parse().unwrap(),
        tunnel_id: t.map(|t| t.parse().unwrap()),
        time_ms: ms,
        message: m.into(),
    }
}

#[test]
fn every_store_honours_the_tx_contract() {
    for (name, store, _dir) in stores() {
        let s = &*store;
        // Upsert, ordering by creation time then id, delete.
        write_with(s, |tx| {
            tx.put_gateway(&gw("vpn-b", 2))?;
            tx.put_gateway(&gw("vpn-a", 2))?;
            tx.put_gateway(&gw("vpn-z", 1))?;
            Ok(())
        })
        .unwrap();
        let ids = |s: &dyn Store| -> Vec<String> {
            read_with(s, |tx| {
                Ok(tx
                    .gateways()?
                    .into_iter()
                    .map(|g| g.id.to_string())
                    .collect())
            })
            .unwrap()
        };
        assert_eq!(ids(s), ["vpn-z", "vpn-a", "vpn-b"], "{name}");
        let mut renamed = gw("vpn-a", 2);
        renamed.name = "renamed".into();
        write_with(s, |tx| tx.put_gateway(&renamed)).unwrap();
        let got = read_with(s, |tx| tx.gateway(&"vpn-a".parse().unwrap())).unwrap();
        assert_eq!(got.unwrap().name, "renamed", "{name}");
        write_with(s, |tx| tx.delete_gateway(&"vpn-b".parse().unwrap())).unwrap();
        assert_eq!(ids(s), ["vpn-z", "vpn-a"], "{name}");

        // A failing write changes nothing.
        let r: Result<()> = write_with(s, |tx| {
            tx.delete_gateway(&"vpn-a".parse().unwrap())?;
            Err(ControlError::invalid("abort"))
        });
        assert!(r.is_err());
        assert_eq!(ids(s), ["vpn-z", "vpn-a"], "{name}: rolled back");
        // Writes inside a read are discarded.
        read_with(s, |tx| tx.delete_gateway(&"vpn-a".parse().unwrap())).unwrap();
        assert_eq!(ids(s), ["vpn-z", "vpn-a"], "{name}: read is read-only");

        // Connections: by gateway, by tunnel, re-put moves tunnels, delete.
        write_with(s, |tx| {
            tx.put_connection(&conn("vco-2", "vpn-a", 5, ["tun-21", "tun-22"]))?;
            tx.put_connection(&conn("vco-1", "vpn-a", 4, ["tun-11", "tun-12"]))?;
            tx.put_connection(&conn("vco-9", "vpn-z", 1, ["tun-91", "tun-92"]))
        })
        .unwrap();
        read_with(s, |tx| {
            let a: Vec<String> = tx
                .connections(Some(&"vpn-a".parse().unwrap()))?
                .into_iter()
                .map(|c| c.id.to_string())
                .collect();
            assert_eq!(a, ["vco-1", "vco-2"], "{name}");
            assert_eq!(tx.connections(None)?.len(), 3);
            let c = tx
                .connection_by_tunnel(&"tun-22".parse().unwrap())?
                .unwrap();
            assert_eq!(c.id.as_str(), "vco-2", "{name}");
            Ok(())
        })
        .unwrap();
        write_with(s, |tx| {
            tx.put_connection(&conn("vco-2", "vpn-a", 5, ["tun-23", "tun-24"]))
        })
        .unwrap();
        read_with(s, |tx| {
            assert!(
                tx.connection_by_tunnel(&"tun-22".parse().unwrap())?
                    .is_none(),
                "{name}"
            );
            assert!(
                tx.connection_by_tunnel(&"tun-24".parse().unwrap())?
                    .is_some(),
                "{name}"
            );
            Ok(())
        })
        .unwrap();
        write_with(s, |tx| tx.delete_connection(&"vco-2".parse().unwrap())).unwrap();
        read_with(s, |tx| {
            assert!(tx.connection(&"vco-2".parse().unwrap())?.is_none());
            assert!(
                tx.connection_by_tunnel(&"tun-24".parse().unwrap())?
                    .is_none(),
                "{name}"
            );
            Ok(())
        })
        .unwrap();

        // Pool ordered by zone then address.
        write_with(s, |tx| {
            for (z, ip) in [("b", 1), ("a", 9), ("a", 3)] {
                tx.put_pool_address(&PoolAddress {
                    zone: zone(z),
                    ip: Ipv4Addr::new(198, 51, 100, ip),
                    allocated_to: None,
                })?;
            }
            tx.delete_pool_address(Ipv4Addr::new(198, 51, 100, 9))
        })
        .unwrap();
        let pool = read_with(s, |tx| tx.pool()).unwrap();
        let got: Vec<String> = pool
            .iter()
            .map(|a| format!("{}/{}", a.zone, a.ip))
            .collect();
        assert_eq!(got, ["a/198.51.100.3", "b/198.51.100.1"], "{name}");

        // Pending operations: one per gateway.
        let op = |g: &str, ms: u64| PendingOperation {
            gateway_id: g.parse().unwrap(),
            connection_id: "vco-1".parse().unwrap(),
            kind: OperationKind::ModifyConnection,
            accepted_ms: ms,
            due_ms: ms,
        };
        write_with(s, |tx| {
            tx.put_pending(&op("vpn-a", 7))?;
            tx.put_pending(&op("vpn-z", 3))?;
            tx.put_pending(&op("vpn-a", 8))
        })
        .unwrap();
        let p = read_with(s, |tx| tx.pendings()).unwrap();
        assert_eq!(
            p.iter().map(|o| o.accepted_ms).collect::<Vec<_>>(),
            [3, 8],
            "{name}"
        );

        // Client tokens: keyed by (action, token), expiry by age.
        let tok = |a: &str, ms: u64| ClientTokenRecord {
            action: a.into(),
            token: "t".into(),
            request: "{}".into(),
            result: "null".into(),
            create_time_ms: ms,
        };
        write_with(s, |tx| {
            tx.put_client_token(&tok("A", 10))?;
            tx.put_client_token(&tok("B", 20))?;
            tx.expire_client_tokens(15)
        })
        .unwrap();
        read_with(s, |tx| {
            assert!(tx.client_token("A", "t")?.is_none(), "{name}");
            assert!(tx.client_token("B", "t")?.is_some(), "{name}");
            Ok(())
        })
        .unwrap();

        // Events: sequence numbers increase; filters by tunnel and window; deletes.
        let seqs = write_with(s, |tx| {
            Ok([
                tx.append_event(&ev("vco-1", None, 100, "a"))?,
                tx.append_event(&ev("vco-1", Some("tun-11"), 200, "b"))?,
                tx.append_event(&ev("vco-1", Some("tun-12"), 300, "c"))?,
                tx.append_event(&ev("vco-9", None, 200, "x"))?,
            ])
        })
        .unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{name}: {seqs:?}");
        let msgs = |tx: &mut dyn Tx, t: Option<&str>, from: u64, to: u64| -> Vec<String> {
            let t: Option<TunnelId> = t.map(|t| t.parse().unwrap());
            tx.events(&"vco-1".parse().unwrap(), t.as_ref(), from, to)
                .unwrap()
                .into_iter()
                .map(|e| e.message)
                .collect()
        };
        read_with(s, |tx| {
            assert_eq!(msgs(tx, None, 0, 1000), ["a", "b", "c"], "{name}");
            assert_eq!(msgs(tx, Some("tun-11"), 0, 1000), ["b"], "{name}");
            assert_eq!(msgs(tx, None, 150, 300), ["b", "c"], "{name}");
            Ok(())
        })
        .unwrap();
        write_with(s, |tx| tx.delete_events_before(250)).unwrap();
        read_with(s, |tx| {
            assert_eq!(msgs(tx, None, 0, 1000), ["c"], "{name}");
            Ok(())
        })
        .unwrap();

        // Observed state round-trips.
        let mut o = TunnelObserved::initial("tun-11".parse().unwrap(), "vco-1".parse().unwrap(), 1);
        o.counters.packets_in = 9;
        o.last_error = Some(NegotiationFailure::ProposalMismatch {
            detail: "dh".into(),
        });
        write_with(s, |tx| tx.put_tunnel_observed(&o)).unwrap();
        assert_eq!(
            read_with(s, |tx| tx.tunnel_observed(&o.tunnel_id)).unwrap(),
            Some(o.clone()),
            "{name}"
        );
    }
}

#[test]
fn the_service_runs_on_the_memory_store() {
    let fx = fixture_with(Arc::new(MemoryStore::new()), Completion::AfterDelay(DELAY));
    let mut req = conn_req(&fx, "198.18.0.0/24,198.18.1.0/24", "198.19.0.0/24");
    for t in &mut req.tunnels {
        t.ike.ike_version = Some(IkeVersion::V2);
    }
    req.enable_tunnels_bgp = Some(true);
    req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.10.1");
    req.tunnels[1].bgp = bgp("169.254.20.0/30", "169.254.20.1");
    let v = fx.create(&req);
    assert_eq!(v.connection.tunnels[0].role(), TunnelRole::Master);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "InvalidVpnConnection.AlreadyExists",
        &[],
    );
    fx.control
        .delete_vpn_connection(None, &v.connection.id)
        .unwrap();
    fx.settle();
    assert_eq!(
        fx.control
            .describe_vpn_gateway(&fx.gw)
            .unwrap()
            .gateway
            .status,
        GatewayStatus::Active
    );
    assert!(fx.control.desired_state().unwrap().pbr_routes.is_empty());
}
