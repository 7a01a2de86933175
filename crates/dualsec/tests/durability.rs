//! Crash safety and write conflicts against the real `dualsec serve` binary.
//!
//! - SIGKILL during a burst of writes, then restart on the same data directory: every write that
//!   was acknowledged (HTTP 200) is there, and every record reads back whole.
//! - Concurrent conflicting writes get the provider's busy code (`VpnGateway.Configuring`, 400)
//!   and leave exactly one consistent result; a repeated `ClientToken` creates one resource.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failure is a test failure

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use common::{Client, Server};
use serde_json::Value;

fn list_all(c: &Client, action: &str, wrapper: &str, item: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let p = page.to_string();
        let r = c.call(action, &[("PageNumber", p.as_str()), ("PageSize", "50")]);
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        let items = r.body[wrapper][item]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let total = r.body["TotalCount"].as_u64().unwrap_or(0) as usize;
        out.extend(items);
        if out.len() >= total {
            break;
        }
    }
    out
}

fn pool_args(n: u8) -> Vec<String> {
    let mut v = Vec::new();
    for i in 1..=n {
        v.push("--public-ip".to_owned());
        v.push(format!("zone-a=192.0.2.{i}"));
        v.push("--public-ip".to_owned());
        v.push(format!("zone-b=198.51.100.{i}"));
    }
    v
}

#[test]
fn sigkill_during_write_burst_loses_no_acknowledged_write() {
    let (_tmp, dir) = common::data_dir();
    let pool = pool_args(4);
    let mut args: Vec<&str> = pool.iter().map(String::as_str).collect();
    args.extend(["--completion-delay-ms", "0"]);
    let mut server = Server::start(&dir, &args);
    let c = server.client();

    // Gateways and a customer gateway to hang connections on.
    let mut gateways = Vec::new();
    for i in 0..4 {
        let name = format!("gw{i}");
        let r = c.call(
            "CreateVpnGateway",
            &[
                ("VpcId", "vpc-1"),
                ("Bandwidth", "10"),
                ("Name", name.as_str()),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        gateways.push(r.body["VpnGatewayId"].as_str().unwrap().to_owned());
    }
    let acked_cgws: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let acked_vcos: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // Two writers of customer gateways (one row each) ...
    for t in 0..2u32 {
        let (c, acked, stop) = (c.clone(), acked_cgws.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::SeqCst) && i < 250 {
                i += 1;
                let ip = format!("203.0.113.{}", 2 + t * 120 + (i % 120));
                let name = format!("w{t}-{i}");
                let r = c.call(
                    "CreateCustomerGateway",
                    &[("IpAddress", ip.as_str()), ("Name", name.as_str())],
                );
                if r.status == 200 {
                    acked.lock().unwrap().push((
                        r.body["CustomerGatewayId"].as_str().unwrap().to_owned(),
                        name,
                    ));
                } else if r.status == 0 {
                    break; // the server is gone
                }
            }
        }));
    }
    // ... and one writer of connections (several rows each: connection, tunnels, pending work).
    {
        let (c, acked, stop, gateways) = (
            c.clone(),
            acked_vcos.clone(),
            stop.clone(),
            gateways.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) && i < 200 {
                i += 1;
                // A customer gateway of its own: one tunnel position reaches a customer gateway
                // through one connection per gateway.
                let ip = format!("198.51.100.{}", 10 + i);
                let own = c.call("CreateCustomerGateway", &[("IpAddress", ip.as_str())]);
                if own.status == 0 {
                    break;
                }
                let Some(cgw) = own.body["CustomerGatewayId"].as_str() else {
                    continue;
                };
                let tunnels = common::tunnel_params(cgw);
                let gw = &gateways[i % gateways.len()];
                let name = format!("vco-{i}");
                let local = format!("198.18.{}.0/24", i % 250);
                let mut p: Vec<(&str, &str)> = tunnels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                p.extend([
                    ("VpnGatewayId", gw.as_str()),
                    ("Name", name.as_str()),
                    ("LocalSubnet", local.as_str()),
                    ("RemoteSubnet", "198.19.0.0/24"),
                ]);
                let r = c.call("CreateVpnConnection", &p);
                if r.status == 200 {
                    acked
                        .lock()
                        .unwrap()
                        .push((r.body["VpnConnectionId"].as_str().unwrap().to_owned(), name));
                } else if r.status == 0 {
                    break;
                }
            }
        }));
    }
    // Let the burst run, then pull the plug.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (acked_cgws.lock().unwrap().len() < 60 || acked_vcos.lock().unwrap().len() < 4)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let acked_cgws = acked_cgws.lock().unwrap().clone();
    let acked_vcos = acked_vcos.lock().unwrap().clone();
    assert!(
        acked_cgws.len() >= 20,
        "the burst wrote too little before the kill: {}",
        acked_cgws.len()
    );

    // Restart on the same directory.
    let server = Server::start(&dir, &args);
    let c = server.client();
    let cgws = list_all(
        &c,
        "DescribeCustomerGateways",
        "CustomerGateways",
        "CustomerGateway",
    );
    let by_id: std::collections::BTreeMap<&str, &Value> = cgws
        .iter()
        .map(|g| (g["CustomerGatewayId"].as_str().unwrap(), g))
        .collect();
    for (id, name) in &acked_cgws {
        let g = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("acknowledged customer gateway {id} lost"));
        assert_eq!(g["Name"], name.as_str(), "{id} read back changed");
    }
    for g in &cgws {
        assert!(
            g["IpAddress"]
                .as_str()
                .unwrap()
                .parse::<std::net::Ipv4Addr>()
                .is_ok(),
            "half-written record: {g}"
        );
    }
    let vcos = list_all(
        &c,
        "DescribeVpnConnections",
        "VpnConnections",
        "VpnConnection",
    );
    let ids: BTreeSet<&str> = vcos
        .iter()
        .map(|v| v["VpnConnectionId"].as_str().unwrap())
        .collect();
    for (id, name) in &acked_vcos {
        assert!(
            ids.contains(id.as_str()),
            "acknowledged connection {id} lost"
        );
        let d = c.call("DescribeVpnConnection", &[("VpnConnectionId", id.as_str())]);
        assert_eq!(d.status, 200, "{}", d.body);
        assert_eq!(d.body["Name"], name.as_str());
    }
    // Every stored connection (acknowledged or not) is whole: two tunnels, master then backup.
    for v in &vcos {
        let t = v["TunnelOptionsSpecification"]["TunnelOptions"]
            .as_array()
            .unwrap();
        assert_eq!(t.len(), 2, "half-written connection: {v}");
        assert_eq!(t[0]["Role"], "master");
        assert_eq!(t[1]["Role"], "slave");
    }
    // The gateways recover: pending work completes after the restart.
    for gw in &gateways {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let g = c.call("DescribeVpnGateway", &[("VpnGatewayId", gw.as_str())]);
            if g.body["Status"] == "active" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "gateway stuck: {}",
                g.body
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    eprintln!(
        "acknowledged before SIGKILL: {} customer gateways, {} connections",
        acked_cgws.len(),
        acked_vcos.len()
    );
}

#[test]
fn concurrent_conflicting_writes_get_the_busy_code_and_one_result() {
    let (_tmp, dir) = common::data_dir();
    // A long completion delay keeps the gateway `updating` after the first accepted change.
    let server = Server::start(&dir, &["--completion-delay-ms", "60000"]);
    let c = server.client();
    let gw = c.call(
        "CreateVpnGateway",
        &[("VpcId", "vpc-1"), ("Bandwidth", "10")],
    );
    let gw = gw.body["VpnGatewayId"].as_str().unwrap().to_owned();
    let cgw = c.call("CreateCustomerGateway", &[("IpAddress", "203.0.113.7")]);
    let cgw = cgw.body["CustomerGatewayId"].as_str().unwrap().to_owned();

    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let threads: Vec<_> = (0..N)
        .map(|i| {
            let (c, barrier, gw, cgw) = (c.clone(), barrier.clone(), gw.clone(), cgw.clone());
            std::thread::spawn(move || {
                let tunnels = common::tunnel_params(&cgw);
                let name = format!("racer-{i}");
                let mut p: Vec<(&str, &str)> = tunnels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                p.extend([
                    ("VpnGatewayId", gw.as_str()),
                    ("Name", name.as_str()),
                    ("LocalSubnet", "198.18.0.0/24"),
                    ("RemoteSubnet", "198.19.0.0/24"),
                ]);
                barrier.wait();
                c.call("CreateVpnConnection", &p)
            })
        })
        .collect();
    let replies: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "exactly one concurrent change is accepted: {replies:?}"
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(
            (r.status, r.code()),
            (400, "VpnGateway.Configuring"),
            "{}",
            r.body
        );
    }
    let l = c.call("DescribeVpnConnections", &[]);
    assert_eq!(l.body["TotalCount"], 1, "{}", l.body);
    let v = &l.body["VpnConnections"]["VpnConnection"][0];
    assert_eq!(v["VpnConnectionId"], ok[0].body["VpnConnectionId"]);
    assert_eq!(
        v["TunnelOptionsSpecification"]["TunnelOptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The same ClientToken from many threads at once: one customer gateway, one answer.
    let barrier = Arc::new(Barrier::new(N));
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let (c, barrier) = (c.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                c.call(
                    "CreateCustomerGateway",
                    &[
                        ("IpAddress", "203.0.113.8"),
                        ("ClientToken", "same-token-1"),
                    ],
                )
            })
        })
        .collect();
    let ids: BTreeSet<String> = threads
        .into_iter()
        .map(|t| {
            let r = t.join().unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["CustomerGatewayId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one ClientToken, one resource: {ids:?}");
    let cgws = c.call("DescribeCustomerGateways", &[("PageSize", "50")]);
    assert_eq!(cgws.body["TotalCount"], 2, "{}", cgws.body);
}
