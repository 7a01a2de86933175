//! The testbed's own guarantees: cleanup on panic, fault injection (uplink cut, per-IP drop),
//! NAT-free plain forwarding measured with iperf3, and outage measurement with the 1 ms UDP
//! stream — the tools the failover tests (R-HA-*) will rely on.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::Duration;

use dualsec_testbed::netns::netns_exists;
use dualsec_testbed::topology::{CGW_PUBLIC, IP1, IP2};
use dualsec_testbed::traffic::{self, UdpStreamReceiver};
use dualsec_testbed::{Direction, Netns, Topology, TopologyOptions, Uplink};

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

#[test]
fn namespace_and_processes_are_removed_even_when_the_test_panics() {
    if !dualsec_testbed::require(&["sleep"]) {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::panic::catch_unwind(move || {
        let ns = Netns::new("panic").unwrap();
        let p = ns.spawn("sleeper", "sleep", ["60"]).unwrap();
        // A second process not owned by any guard: the namespace kills it by PID on drop.
        let orphan = ns
            .command("sh")
            .args(["-c", "sleep 60 >/dev/null 2>&1 & echo $!"])
            .output()
            .unwrap();
        let orphan: u32 = String::from_utf8_lossy(&orphan.stdout)
            .trim()
            .parse()
            .unwrap();
        assert!(alive(p.pid()) && alive(orphan));
        tx.send((ns.name().to_owned(), ns.dir().to_owned(), p.pid(), orphan))
            .unwrap();
        panic!("deliberate");
    });
    assert!(result.is_err());
    let (name, dir, pid, orphan) = rx.recv().unwrap();
    assert!(!netns_exists(&name), "{name} left behind");
    assert!(!alive(pid), "guarded process {pid} survived");
    // The orphan's parent (sh) is gone; give init a moment to reap it.
    dualsec_testbed::wait_until("orphan reaped", Duration::from_secs(2), || !alive(orphan))
        .unwrap();
    // Logs are kept for a failed test; this one failed on purpose, so tidy up.
    assert!(dir.exists(), "logs of a failed test are kept");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn uplink_cut_and_restore_affect_only_ip1() {
    if !dualsec_testbed::require(&["ping"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let fast = Duration::from_millis(20);
    assert_eq!(
        traffic::ping_from(&topo.gw, IP1, CGW_PUBLIC, 3, fast)
            .unwrap()
            .received,
        3
    );
    topo.cut_uplink(Uplink::Az1).unwrap();
    assert_eq!(
        traffic::ping_from(&topo.gw, IP1, CGW_PUBLIC, 3, fast)
            .unwrap()
            .received,
        0
    );
    assert_eq!(
        traffic::ping_from(&topo.gw, IP2, CGW_PUBLIC, 3, fast)
            .unwrap()
            .received,
        3
    );
    topo.restore_uplink(Uplink::Az1).unwrap();
    assert_eq!(
        traffic::ping_from(&topo.gw, IP1, CGW_PUBLIC, 3, fast)
            .unwrap()
            .received,
        3
    );
}

#[test]
fn one_way_drop_on_ip1_blocks_it_and_is_removable() {
    if !dualsec_testbed::require(&["ping"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let fast = Duration::from_millis(20);
    let rule = topo.block(Uplink::Az1, Direction::ToGateway).unwrap();
    // Requests leave, replies to IP 1 are dropped in the router.
    assert_eq!(
        traffic::ping_from(&topo.gw, IP1, CGW_PUBLIC, 3, fast)
            .unwrap()
            .received,
        0
    );
    assert_eq!(rule.dropped_packets().unwrap(), 3);
    assert_eq!(
        traffic::ping_from(&topo.gw, IP2, CGW_PUBLIC, 3, fast)
            .unwrap()
            .received,
        3
    );
    rule.remove().unwrap();
    assert_eq!(
        traffic::ping_from(&topo.gw, IP1, CGW_PUBLIC, 3, fast)
            .unwrap()
            .received,
        3
    );
}

#[test]
fn udp_stream_measures_an_outage_made_by_a_drop_fault() {
    if !dualsec_testbed::require(&["python3"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let mut rx = UdpStreamReceiver::start(
        &topo.cgw,
        CGW_PUBLIC,
        5000,
        Duration::from_millis(500),
        Duration::from_secs(10),
        Duration::from_millis(50),
    )
    .unwrap();
    let gw = topo.gw.clone();
    let sender = std::thread::spawn(move || {
        traffic::udp_stream_send(&gw, CGW_PUBLIC, 5000, 1500, Duration::from_millis(1), 64)
    });
    rx.wait_receiving(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let rule = topo.block(Uplink::Az1, Direction::FromGateway).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let dropped = rule.dropped_packets().unwrap();
    rule.remove().unwrap();
    let sent = sender.join().unwrap().unwrap();
    let report = rx.finish(Duration::from_secs(10)).unwrap();

    assert_eq!(sent, 1500);
    assert!(dropped >= 150, "dropped {dropped}");
    assert_eq!(report.received + report.lost, report.max_seq.unwrap() + 1);
    assert!(report.lost >= 150, "{report:?}");
    // The outage is ~300 ms; it is the longest gap (others come from scheduling on a busy
    // machine) and it spans the dropped sequence numbers.
    let (after, next, _) = *report.gaps.iter().max_by_key(|g| g.2).unwrap();
    assert!(next - after >= 150, "{report:?}");
    assert!(
        report.max_gap >= Duration::from_millis(200) && report.max_gap < Duration::from_millis(900),
        "{report:?}"
    );
}

#[test]
fn iperf3_measures_forwarding_through_the_router() {
    if !dualsec_testbed::require(&["iperf3"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let server = traffic::Iperf3Server::start(&topo.cgw, 5201).unwrap();
    let r = traffic::iperf3_client(&topo.gw, CGW_PUBLIC, server.port(), 1, &[]).unwrap();
    assert!(r.received_bps > 1e8, "{r:?}");
    assert!(r.sent_bps >= r.received_bps * 0.9, "{r:?}");
}
