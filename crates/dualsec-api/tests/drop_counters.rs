//! Issue 5: data-plane drop counters through the API — each tunnel's `Counters` block in
//! DescribeVpnConnection(s), the gateway's `DataPlane` block in DescribeVpnGateway(s).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failure is a test failure

mod common;

use axum::http::StatusCode;
use common::harness;
use dualsec_control::model::{DataPlaneObserved, TunnelDrops};
use serde_json::{Value, json};

/// Gateway, customer gateway and a policy connection; (gateway id, connection id).
async fn connection(h: &common::Harness) -> (String, String) {
    let gw = h
        .call(
            "CreateVpnGateway",
            &[("VpcId", "vpc-1"), ("Bandwidth", "10"), ("Name", "gw")],
        )
        .await;
    assert_eq!(gw.status, StatusCode::OK, "{}", gw.body);
    h.settle();
    let gw = gw.body["VpnGatewayId"].as_str().unwrap().to_owned();
    let cgw = h
        .call("CreateCustomerGateway", &[("IpAddress", "203.0.113.10")])
        .await;
    assert_eq!(cgw.status, StatusCode::OK, "{}", cgw.body);
    let cgw = cgw.body["CustomerGatewayId"].as_str().unwrap().to_owned();
    let mut owned: Vec<(String, String)> = Vec::new();
    for (n, role) in [(1, "master"), (2, "slave")] {
        let p = format!("TunnelOptionsSpecification.{n}");
        owned.push((format!("{p}.CustomerGatewayId"), cgw.clone()));
        owned.push((format!("{p}.Role"), role.to_owned()));
        owned.push((format!("{p}.TunnelIkeConfig.Psk"), format!("psk-{n}")));
    }
    let mut params: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    params.extend([
        ("VpnGatewayId", gw.as_str()),
        ("LocalSubnet", "198.18.0.0/24"),
        ("RemoteSubnet", "198.19.0.0/24"),
    ]);
    let r = h.call("CreateVpnConnection", &params).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    h.settle();
    (gw, r.body["VpnConnectionId"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn tunnel_counters_block_shows_drops_by_reason() {
    let h = harness();
    let (_, vco) = connection(&h).await;
    let d = h
        .call(
            "DescribeVpnConnection",
            &[("VpnConnectionId", vco.as_str())],
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let t = d.body["TunnelOptionsSpecification"]["TunnelOptions"].clone();
    // Before any traffic: every counter present and zero, as numbers.
    assert_eq!(t[0]["Counters"]["Drops"]["Total"], json!(0));
    assert_eq!(t[1]["Counters"]["BytesIn"], json!(0));
    let tid = dualsec_control::TunnelId::parse_as("TunnelId", t[0]["TunnelId"].as_str().unwrap())
        .unwrap();
    h.state
        .control()
        .update_tunnel_observed(&tid, |o| {
            o.counters.bytes_in = 1500;
            o.counters.packets_in = 3;
            o.counters.drops.replay = 2;
            o.counters.drops.icv_failure = 1;
            o.counters.drops.bad_padding = 4;
        })
        .unwrap();
    let d = h
        .call(
            "DescribeVpnConnection",
            &[("VpnConnectionId", vco.as_str())],
        )
        .await;
    let c = &d.body["TunnelOptionsSpecification"]["TunnelOptions"][0]["Counters"];
    assert_eq!(c["BytesIn"], json!(1500));
    assert_eq!(c["PacketsIn"], json!(3));
    assert_eq!(
        c["Drops"],
        json!({
            "Replay": 2, "IcvFailure": 1, "Malformed": 0, "BadPadding": 4, "BadNextHeader": 0,
            "SelectorMismatch": 0, "Dummy": 0, "Expired": 0, "Total": 7,
        })
    );
    // Tunnel 2 untouched.
    let c2 = &d.body["TunnelOptionsSpecification"]["TunnelOptions"][1]["Counters"];
    assert_eq!(c2["Drops"]["Total"], json!(0));
    // The list form carries the same block.
    let l = h
        .call(
            "DescribeVpnConnections",
            &[("VpnConnectionId", vco.as_str())],
        )
        .await;
    assert_eq!(
        l.body["VpnConnections"]["VpnConnection"][0]["TunnelOptionsSpecification"]["TunnelOptions"]
            [0]["Counters"],
        *c
    );
}

#[tokio::test]
async fn gateway_data_plane_block_appears_once_the_engine_wrote_it() {
    let h = harness();
    let (gw, _) = connection(&h).await;
    let g = h
        .call("DescribeVpnGateway", &[("VpnGatewayId", gw.as_str())])
        .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.body);
    // No engine in this harness yet: no block rather than made-up zeros.
    assert_eq!(g.body.get("DataPlane"), None);
    h.state
        .control()
        .set_data_plane_counters(DataPlaneObserved {
            esp_rx_packets: 40,
            unknown_spi: 2,
            udp_malformed: 1,
            no_route: 5,
            esp_drops: TunnelDrops {
                replay: 3,
                icv_failure: 1,
                ..TunnelDrops::default()
            },
            ..DataPlaneObserved::default()
        });
    let g = h
        .call("DescribeVpnGateway", &[("VpnGatewayId", gw.as_str())])
        .await;
    let dp = &g.body["DataPlane"];
    assert_eq!(dp["EspRxPackets"], json!(40));
    assert_eq!(dp["UnknownSpi"], json!(2));
    assert_eq!(dp["UdpMalformed"], json!(1));
    assert_eq!(dp["NoRoute"], json!(5));
    assert_eq!(dp["EspDrops"]["Replay"], json!(3));
    assert_eq!(dp["EspDrops"]["Total"], json!(4));
    assert!(
        matches!(&dp["UpdateTime"], Value::String(s) if s.ends_with('Z')),
        "{dp}"
    );
    let l = h.call("DescribeVpnGateways", &[]).await;
    assert_eq!(l.body["VpnGateways"]["VpnGateway"][0]["DataPlane"], *dp);
}
