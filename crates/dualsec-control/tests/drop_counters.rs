//! Issue 5: data-plane drop counters as observed state — per tunnel (`TunnelCounters::drops`,
//! stored with the tunnel) and for the whole data plane (`DataPlaneObserved`, in memory).

#![allow(clippy::unwrap_used)] // tests: failures should panic

mod common;

use std::time::Duration;

use common::*;
use dualsec_control::model::{DataPlaneObserved, TunnelCounters, TunnelDrops};
use dualsec_control::requests::DescribeVpnGatewaysRequest;

#[test]
fn tunnel_drops_are_stored_with_the_tunnel_and_read_back() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "10.0.0.0/24", "10.1.0.0/24"));
    let t1 = v.tunnels[0].tunnel.id.clone();
    fx.control
        .update_tunnel_observed(&t1, |o| {
            o.counters.drops.replay = 3;
            o.counters.drops.icv_failure = 2;
            o.counters.drops.expired = 1;
        })
        .unwrap();
    let v = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    let d = v.tunnels[0].observed.counters.drops;
    assert_eq!((d.replay, d.icv_failure, d.expired), (3, 2, 1));
    assert_eq!(d.total(), 6);
    assert_eq!(v.tunnels[1].observed.counters.drops, TunnelDrops::default());
}

#[test]
fn tunnel_counters_written_before_issue_5_read_as_zero_drops() {
    // A record from before the `drops` field existed must still load (serde default).
    let old = r#"{"bytes_in":10,"bytes_out":20,"packets_in":1,"packets_out":2}"#;
    let c: TunnelCounters = serde_json::from_str(old).unwrap();
    assert_eq!(c.bytes_out, 20);
    assert_eq!(c.drops, TunnelDrops::default());
    // And a partial drops object (a reason added later) fills the rest with zero.
    let c: TunnelCounters = serde_json::from_str(
        r#"{"bytes_in":0,"bytes_out":0,"packets_in":0,"packets_out":0,"drops":{"replay":7}}"#,
    )
    .unwrap();
    assert_eq!(c.drops.replay, 7);
    assert_eq!(c.drops.total(), 7);
}

#[test]
fn data_plane_counters_show_on_describe_gateway_once_written() {
    let fx = fixture();
    // No engine has written yet: nothing to show.
    assert_eq!(fx.control.data_plane_counters(), None);
    assert_eq!(
        fx.control.describe_vpn_gateway(&fx.gw).unwrap().data_plane,
        None
    );
    fx.clock.advance(Duration::from_secs(5));
    let written = DataPlaneObserved {
        esp_rx_packets: 100,
        unknown_spi: 4,
        udp_malformed: 1,
        no_route: 9,
        esp_drops: TunnelDrops {
            replay: 2,
            ..TunnelDrops::default()
        },
        ..DataPlaneObserved::default()
    };
    fx.control.set_data_plane_counters(written);
    let got = fx
        .control
        .describe_vpn_gateway(&fx.gw)
        .unwrap()
        .data_plane
        .unwrap();
    assert_eq!(got.unknown_spi, 4);
    assert_eq!(got.no_route, 9);
    assert_eq!(got.esp_drops.replay, 2);
    // Stamped with the control clock, not whatever the writer put there.
    assert_eq!(got.updated_ms, T0 + 5_000);
    let page = fx
        .control
        .describe_vpn_gateways(&DescribeVpnGatewaysRequest::default())
        .unwrap();
    assert!(!page.items.is_empty());
    assert!(page.items.iter().all(|g| g.data_plane == Some(got)));
}
