//! Issue 6 end to end: dual-tunnel failover and failback of the real `dualsec serve` in the `gw`
//! namespace against strongSwan in `cgw`, loaded with the generated `swanctl.conf` (both
//! tunnels). A 1 ms sequence-numbered UDP stream flows VPC → IDC through the tunnel while
//! tunnel 1's path is cut in several ways; the receiver's inter-arrival gaps are the outage.
//!
//! Cases (R-HA-1, R-HA-3, R-TUN-5): uplink 1 down, the peer terminating tunnel 1's IKE SA, drops
//! toward IP 1 only (one direction), a flapping uplink. Each asserts a bounded outage, the switch
//! to tunnel 2 and the return to tunnel 1 (events with reasons in the engine's log), and that
//! ping works both ways afterwards.
//!
//! `bench_failover` (ignored; run by `scripts/bench-failover`) measures the same cases more
//! precisely, plus the loss on failback and the reverse direction, and prints one JSON line per
//! case.
//!
//! The peer (strongSwan) has two CHILD SAs with identical selectors, one per tunnel; it sends
//! IDC → VPC on the one it installed last and keeps using it until that CHILD SA goes, so the
//! return direction follows the peer, not dualsec. dualsec accepts inbound ESP on both tunnels at
//! all times. The tests therefore measure VPC → IDC (dualsec's decision) and check at the peer,
//! from its per-CHILD-SA counters, which tunnel carries it; the benchmark also measures IDC → VPC.
//! When only the path toward IP 1 fails, the peer still hears tunnel 1 and would never move: on
//! a probe-loss failover dualsec deletes tunnel 1's CHILD SA (IKE SA kept), the peer sends on
//! tunnel 2, and the CHILD SA is re-created once tunnel 1 answers again. The "drops toward IP 1"
//! case streams IDC → VPC and checks that (issue 6).
//!
//! After the cases, DescribeVpnConnection's `Failover` block must count exactly the switches the
//! engine logged, and say `dual_zone` with both tunnels up, `none` (only tunnel 2) during a fault.
//!
//! Needs root, strongSwan (charon, swanctl), ping, python3 and nft; skips with a message without
//! them, fails when `DUALSEC_REQUIRE_INTEROP` is set (CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod e2e;

use std::time::Instant;

use dualsec_testbed::traffic::UdpStreamReport;
use dualsec_testbed::{Direction, Uplink};
use e2e::*;

/// The last switch moved traffic to tunnel 1 (a failback, or a failover away from a failed
/// tunnel 2).
fn on_tunnel_1(d: &Dualsec) -> bool {
    d.ha_lines()
        .last()
        .is_some_and(|l| l.contains("to tunnel 1 (master)"))
}

/// The last 40 lines of serve's log.
fn log_tail(d: &Dualsec) -> String {
    tail(&d.serve.stderr(), 40)
}

struct Bed {
    topo: Topology,
    d: Dualsec,
    cgw: Charon,
    vco: String,
    port: u16,
    /// How long an IDC → VPC receiver waits for a late packet (the peer may keep sending on a dead
    /// SA until its DPD clears it; with steering it moves within the failover).
    reverse_idle: Duration,
}

/// `serve_args`: extra `dualsec serve` flags (the benchmark measures the defaults).
fn bring_up(serve_args: &[&str]) -> Option<Bed> {
    if !dualsec_testbed::require(&["charon", "swanctl", "ping", "python3", "nft", "ip"]) {
        return None;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let d = Dualsec::start_with(&topo, serve_args);
    let (vco, _) = create_connection(&d, "ikev2", true, &[]);
    let conf = d.cli(&["peer-config", &vco, "--format", "swanctl"]);
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&conf).unwrap();
    for i in 0..2 {
        wait_until(
            &format!("tunnel {} established", i + 1),
            Duration::from_secs(30),
            || d.tunnel(&vco, i)["Status"] == "ipsec_sa_established",
        )
        .unwrap_or_else(|e| panic!("{e:?}\n{}", log_tail(&d)));
    }
    // Both tunnels healthy (SAs up, probes answered) in two zones (R-HA-4).
    wait_until("both tunnels healthy", Duration::from_secs(10), || {
        d.serve.stderr().contains("→ redundant")
    })
    .unwrap_or_else(|e| panic!("{e:?}\n{}", log_tail(&d)));
    // Whichever tunnel answered its first probe first carried traffic at start; once tunnel 1 has
    // been healthy for the hold-down, traffic is on it (every failover has its failback).
    wait_until("traffic on tunnel 1", Duration::from_secs(15), || {
        d.ha_count("failover: outbound traffic moved from tunnel 1") == d.ha_count("failback:")
    })
    .unwrap_or_else(|e| panic!("{e:?}\n{:#?}", d.ha_lines()));
    Some(Bed {
        topo,
        d,
        cgw,
        vco,
        port: 40000,
        reverse_idle: Duration::from_secs(30),
    })
}

/// What one fault did to a 1 ms stream VPC → IDC.
#[derive(Debug)]
struct Measured {
    /// Longest gap between the fault and the restore (the failover outage).
    failover_outage: Duration,
    /// Datagrams lost from the restore to the end (failback loss).
    failback_lost: u64,
    report: UdpStreamReport,
}

/// Streams VPC → IDC at 1 ms for `total`; `fault` runs 1 s in, `restore` runs when `fault`
/// returns; the stream continues until `total`. Packet sequence numbers are milliseconds since
/// the stream started, so the gaps split at the restore's sequence number.
fn stream_through(
    bed: &mut Bed,
    total: Duration,
    fault: impl FnOnce(&Bed),
    restore: impl FnOnce(&Bed),
) -> Measured {
    stream_dir(bed, false, total, fault, restore)
}

/// Like [`stream_through`]; `reverse` streams IDC → VPC instead (the peer's choice of SA).
fn stream_dir(
    bed: &mut Bed,
    reverse: bool,
    total: Duration,
    fault: impl FnOnce(&Bed),
    restore: impl FnOnce(&Bed),
) -> Measured {
    bed.port += 1;
    let port = bed.port;
    let (from, to, dst) = if reverse {
        (&bed.topo.idc, &bed.topo.vpc, VPC_HOST)
    } else {
        (&bed.topo.vpc, &bed.topo.idc, IDC_HOST)
    };
    let stream = Stream::start(
        from,
        to,
        dst,
        port,
        total,
        // The peer may keep sending on a dead SA for long (see the module docs): wait for it.
        if reverse {
            bed.reverse_idle
        } else {
            Duration::from_secs(2)
        },
    );
    fault(bed);
    restore(bed);
    let restored_seq = stream.seq_now();
    let StreamOutcome {
        outage: failover_outage,
        lost_after_restore: failback_lost,
        report,
    } = stream.finish(
        Duration::from_secs(if reverse { 50 } else { 30 }),
        restored_seq,
    );
    Measured {
        failover_outage,
        failback_lost,
        report,
    }
}

/// Waits for the `n`-th failover, or panics with the engine's log.
fn wait_count(d: &Dualsec, what: &str, n: usize, timeout: Duration) -> Duration {
    let t0 = Instant::now();
    wait_until(&format!("{what} #{n}"), timeout, || d.ha_count(what) >= n)
        .unwrap_or_else(|e| panic!("{e:?}\n{:#?}\n{}", d.ha_lines(), log_tail(d)));
    t0.elapsed()
}

/// Asserts that VPC → IDC traffic arrives at the peer on tunnel `n` (1 or 2) now: 50 datagrams
/// sent, at least 50 more ESP packets on that tunnel's CHILD SAs at strongSwan.
fn assert_carried_by(bed: &Bed, n: u8) {
    let name = format!("{}-tunnel{n}", bed.vco);
    let before = peer_packets_in(&bed.cgw, &name);
    // One way only: the peer picks its own SA for the way back (see the module docs).
    traffic::udp_stream_send(&bed.topo.vpc, IDC_HOST, 9, 50, Duration::from_millis(2), 64).unwrap();
    let after = peer_packets_in(&bed.cgw, &name);
    assert!(
        after >= before + 50,
        "tunnel {n} should carry VPC → IDC: its CHILD SAs received {before} → {after}; {:#?}",
        bed.d.ha_lines()
    );
}

/// Waits until the peer has sent at least 100 more ESP packets on tunnel `n`'s CHILD SAs (the
/// IDC → VPC stream moved there) and returns how long that took; panics after `within`.
fn wait_peer_sends_on(bed: &Bed, n: u8, within: Duration) -> Duration {
    let name = format!("{}-tunnel{n}", bed.vco);
    let t0 = Instant::now();
    let before = peer_packets_out(&bed.cgw, &name);
    wait_until(&format!("peer sending on tunnel {n}"), within, || {
        peer_packets_out(&bed.cgw, &name) >= before + 100
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e:?}: the peer's tunnel {n} CHILD SAs sent {before} → {}; {:#?}\n{:#?}",
            peer_packets_out(&bed.cgw, &name),
            bed.cgw.list_sas().unwrap(),
            bed.d.ha_lines()
        )
    });
    t0.elapsed()
}

/// Asserts that IDC → VPC traffic leaves the peer on tunnel `n` now: 150 datagrams sent, at
/// least 150 more ESP packets sent on that tunnel's CHILD SAs at strongSwan.
fn assert_peer_sends_on(bed: &Bed, n: u8) {
    let name = format!("{}-tunnel{n}", bed.vco);
    let before = peer_packets_out(&bed.cgw, &name);
    traffic::udp_stream_send(
        &bed.topo.idc,
        VPC_HOST,
        9,
        150,
        Duration::from_millis(2),
        64,
    )
    .unwrap();
    let after = peer_packets_out(&bed.cgw, &name);
    assert!(
        after >= before + 150,
        "the peer should send IDC → VPC on tunnel {n}: its CHILD SAs sent {before} → {after}; {:#?}",
        bed.d.ha_lines()
    );
}

/// The connection's `Failover` block (DescribeVpnConnection, issue 6).
fn failover_block(d: &Dualsec, vco: &str) -> Value {
    d.json(&["connection", "describe", vco])["Failover"].clone()
}

/// Waits until the `Failover` counters equal the switches the engine logged.
fn assert_counts_match_the_log(d: &Dualsec, vco: &str) -> Value {
    let mut last = Value::Null;
    let ok = wait_until(
        "Failover counts = logged switches",
        Duration::from_secs(5),
        || {
            last = failover_block(d, vco);
            last["FailoverCount"] == d.ha_count("failover: outbound traffic moved") as u64
                && last["FailbackCount"] == d.ha_count("failback:") as u64
        },
    );
    assert!(ok.is_ok(), "{last:#}\n{:#?}", d.ha_lines());
    last
}

/// One case: `fault`, wait for the failover, hold `hold`, `restore`, wait for the failback.
/// Returns the measurement.
fn case(
    bed: &mut Bed,
    name: &str,
    fault: impl FnOnce(&Bed),
    restore: impl FnOnce(&Bed),
    total: Duration,
) -> Measured {
    case_dir(bed, name, false, fault, restore, total)
}

fn case_dir(
    bed: &mut Bed,
    name: &str,
    reverse: bool,
    fault: impl FnOnce(&Bed),
    restore: impl FnOnce(&Bed),
    total: Duration,
) -> Measured {
    let failovers = bed
        .d
        .ha_count("failover: outbound traffic moved from tunnel 1");
    let m = stream_dir(
        bed,
        reverse,
        total,
        |b| {
            fault(b);
            wait_count(
                &b.d,
                "failover: outbound traffic moved from tunnel 1",
                failovers + 1,
                Duration::from_secs(10),
            );
            // Traffic resumed on tunnel 2 (seen by the peer).
            assert_carried_by(b, 2);
            std::thread::sleep(Duration::from_secs(2));
        },
        restore,
    );
    // Usually a failback; under heavy CPU load a blip on tunnel 2 can bring traffic back first.
    wait_until("traffic back on tunnel 1", Duration::from_secs(30), || {
        on_tunnel_1(&bed.d)
    })
    .unwrap_or_else(|e| panic!("{e:?}\n{:#?}", bed.d.ha_lines()));
    // Back on tunnel 1 (seen by the peer).
    assert_carried_by(bed, 1);
    eprintln!(
        "{name}: failover outage {} ms, failback lost {} datagrams, received {} lost {}",
        m.failover_outage.as_millis(),
        m.failback_lost,
        m.report.received,
        m.report.lost
    );
    m
}

#[test]
fn e2e_failover_and_failback_for_each_fault_r_ha_1_r_ha_3() {
    let Some(mut bed) = bring_up(&[
        // The test runs beside other tests on a small CI machine: 4 × 250 ms detection
        // tolerates scheduling stalls that 3 × 200 ms (the default, measured by the benchmark)
        // would read as a dead path, and still bounds the outage far below the 3 s asserted.
        "--probe-interval-ms",
        "250",
        "--probe-multiplier",
        "4",
    ]) else {
        return;
    };
    let t1 = format!("{}-tunnel1", bed.vco);
    // Both tunnels up in two zones (R-HA-4); the counters match the log from the start (a start
    // on tunnel 2, when its first probe was answered first, counts as a failover).
    let f = assert_counts_match_the_log(&bed.d, &bed.vco);
    assert_eq!(f["Redundancy"], "dual_zone", "{f:#}");
    assert_eq!(f["CarryingTunnelIndex"], 1, "{f:#}");

    // 1. Uplink 1 down (ip link set down) → tunnel 2; restored → tunnel 1.
    let m = case(
        &mut bed,
        "uplink down",
        |b| b.topo.cut_uplink(Uplink::Az1).unwrap(),
        |b| b.topo.restore_uplink(Uplink::Az1).unwrap(),
        Duration::from_secs(10),
    );
    assert!(
        m.failover_outage < Duration::from_secs(3),
        "uplink down: outage {:?}; {:?}",
        m.failover_outage,
        m.report
    );
    let last = bed.d.ha_lines();
    assert!(
        last.iter()
            .any(|l| l.contains("tunnel 1 (master) unhealthy") && l.contains("probes lost")),
        "the switch names tunnel 1 and why: {last:#?}"
    );
    ping_both_ways(&bed.topo);

    // 2. The peer terminates tunnel 1's IKE SA (charon keeps tunnel 2): DELETE → immediate
    //    failover; dualsec renegotiates tunnel 1 and fails back after the hold-down.
    let m = case(
        &mut bed,
        "peer terminates tunnel 1",
        |b| b.cgw.terminate_ike(&t1).unwrap(),
        |_| {},
        Duration::from_secs(12),
    );
    assert!(
        m.failover_outage < Duration::from_secs(3),
        "peer terminate: outage {:?}; {:?}",
        m.failover_outage,
        m.report
    );
    ping_both_ways(&bed.topo);

    // 3. Drops in one direction only, each way: our packets from IP 1 (ESP and probes lost), then
    //    packets toward IP 1 (our ESP still arrives; probe answers never come back). The second
    //    streams IDC → VPC: the peer must move to tunnel 2 too (steering), seen in its per-SA
    //    counters within 2 s of the failover, and the IDC → VPC outage stays bounded.
    for (name, dir, reverse) in [
        ("drops from IP 1", Direction::FromGateway, false),
        ("drops toward IP 1 (IDC → VPC)", Direction::ToGateway, true),
    ] {
        let rule = std::sync::Mutex::new(None);
        let vco = bed.vco.clone();
        bed.reverse_idle = Duration::from_secs(3);
        let m = case_dir(
            &mut bed,
            name,
            reverse,
            |b| {
                let failovers =
                    b.d.ha_count("failover: outbound traffic moved from tunnel 1");
                *rule.lock().unwrap() = Some(b.topo.block(Uplink::Az1, dir).unwrap());
                if reverse {
                    // The peer's IDC → VPC stream moves to tunnel 2 right after the failover.
                    wait_count(
                        &b.d,
                        "failover: outbound traffic moved from tunnel 1",
                        failovers + 1,
                        Duration::from_secs(10),
                    );
                    let took = wait_peer_sends_on(b, 2, Duration::from_secs(2));
                    eprintln!(
                        "{name}: the peer sends on tunnel 2 {} ms after the failover",
                        took.as_millis()
                    );
                    assert!(
                        b.d.serve.stderr().contains("steering: deleting"),
                        "{:#?}",
                        b.d.ha_lines()
                    );
                    // During the fault: only tunnel 2 is up and carries traffic (R-HA-5).
                    let f = failover_block(&b.d, &vco);
                    assert_eq!(f["Redundancy"], "none", "{f:#}");
                    assert!(
                        f["RedundancyReason"]
                            .as_str()
                            .unwrap()
                            .contains("only tunnel 2"),
                        "{f:#}"
                    );
                    assert_eq!(f["CarryingTunnelIndex"], 2, "{f:#}");
                    assert_eq!(f["LastSwitchType"], "failover", "{f:#}");
                    assert!(f["LastOutageMs"].as_u64().unwrap() > 0, "{f:#}");
                }
            },
            |_| rule.lock().unwrap().take().unwrap().remove().unwrap(),
            Duration::from_secs(10),
        );
        bed.reverse_idle = Duration::from_secs(30);
        assert!(
            m.failover_outage < Duration::from_secs(3),
            "{name}: outage {:?}; {:?}",
            m.failover_outage,
            m.report
        );
        if reverse {
            // Back: the re-created CHILD SA is the peer's newest, so IDC → VPC returns to tunnel 1.
            assert_peer_sends_on(&bed, 1);
            assert!(
                bed.d
                    .serve
                    .stderr()
                    .contains("steering: tunnel 1 answers probes again"),
                "{:#?}",
                bed.d.ha_lines()
            );
        }
        ping_both_ways(&bed.topo);
    }

    // 4. Flapping uplink (down/up every 2 s): one failover, no failback while it flaps (damping).
    let failbacks = bed.d.ha_count("failback:");
    let failovers = bed
        .d
        .ha_count("failover: outbound traffic moved from tunnel 1");
    let m = stream_through(
        &mut bed,
        Duration::from_secs(14),
        |b| {
            for _ in 0..3 {
                b.topo.cut_uplink(Uplink::Az1).unwrap();
                std::thread::sleep(Duration::from_secs(2));
                b.topo.restore_uplink(Uplink::Az1).unwrap();
                std::thread::sleep(Duration::from_secs(2));
            }
        },
        |_| {},
    );
    assert_eq!(
        bed.d
            .ha_count("failover: outbound traffic moved from tunnel 1"),
        failovers + 1,
        "{:#?}",
        bed.d.ha_lines()
    );
    assert_eq!(
        bed.d.ha_count("failback:"),
        failbacks,
        "no failback while flapping: {:#?}",
        bed.d.ha_lines()
    );
    assert!(
        m.failover_outage < Duration::from_secs(3),
        "flapping: outage {:?}; {:?}",
        m.failover_outage,
        m.report
    );
    ping_both_ways(&bed.topo);

    // DescribeVpnConnection counted every switch the engine logged, with their outage.
    let f = assert_counts_match_the_log(&bed.d, &bed.vco);
    assert!(f["FailoverCount"].as_u64().unwrap() >= 5, "{f:#}");
    assert!(f["TotalOutageMs"].as_u64().unwrap() > 0, "{f:#}");
    assert_ne!(f["LastSwitchTime"], "", "{f:#}");
    eprintln!("Failover block at the end: {f:#}");
}

/// The failover benchmark (issue 6): `scripts/bench-failover` runs it and writes the numbers to
/// docs/PERFORMANCE.md. One `BENCH {json}` line per case on stderr. Not a timed test.
#[test]
#[ignore = "benchmark: run with scripts/bench-failover"]
fn bench_failover() {
    let Some(mut bed) = bring_up(&[]) else {
        return;
    };
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    // Damping counts master failures over 60 s: space the cases so each starts undamped.
    let settle_s: u64 = std::env::var("BENCH_SETTLE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(61);
    let settle = || std::thread::sleep(Duration::from_secs(settle_s));
    let t1 = format!("{}-tunnel1", bed.vco);
    let report = |name: &str, dir: &str, m: &Measured| {
        eprintln!(
            "BENCH {}",
            serde_json::json!({
                "case": name,
                "direction": dir,
                "outage_ms": (m.failover_outage.as_secs_f64() * 1000.0).round(),
                "failback_lost": m.failback_lost,
                "received": m.report.received,
                "lost": m.report.lost,
            })
        );
    };
    for _ in 0..reps {
        let m = case(
            &mut bed,
            "uplink 1 down",
            |b| b.topo.cut_uplink(Uplink::Az1).unwrap(),
            |b| b.topo.restore_uplink(Uplink::Az1).unwrap(),
            Duration::from_secs(10),
        );
        report("uplink 1 down", "VPC→IDC", &m);
        settle();
    }
    let m = case_dir(
        &mut bed,
        "uplink 1 down",
        true,
        |b| b.topo.cut_uplink(Uplink::Az1).unwrap(),
        |b| b.topo.restore_uplink(Uplink::Az1).unwrap(),
        Duration::from_secs(10),
    );
    report("uplink 1 down", "IDC→VPC (peer chooses the SA)", &m);
    settle();
    let m = case(
        &mut bed,
        "peer terminates tunnel 1",
        |b| b.cgw.terminate_ike(&t1).unwrap(),
        |_| {},
        Duration::from_secs(15),
    );
    report("peer terminates tunnel 1", "VPC→IDC", &m);
    settle();
    for (name, dir) in [
        ("drop toward IP 1", Direction::ToGateway),
        ("drop from IP 1", Direction::FromGateway),
    ] {
        let rule = std::sync::Mutex::new(None);
        let m = case(
            &mut bed,
            name,
            |b| *rule.lock().unwrap() = Some(b.topo.block(Uplink::Az1, dir).unwrap()),
            |_| rule.lock().unwrap().take().unwrap().remove().unwrap(),
            Duration::from_secs(10),
        );
        report(name, "VPC→IDC", &m);
        settle();
    }
    // The peer's direction when only the path toward IP 1 fails: dualsec deletes tunnel 1's
    // CHILD SA on the failover, so the peer moves to tunnel 2 (before, it never did: it still
    // heard tunnel 1).
    let rule = std::sync::Mutex::new(None);
    let m = case_dir(
        &mut bed,
        "drop toward IP 1",
        true,
        |b| *rule.lock().unwrap() = Some(b.topo.block(Uplink::Az1, Direction::ToGateway).unwrap()),
        |_| rule.lock().unwrap().take().unwrap().remove().unwrap(),
        Duration::from_secs(10),
    );
    report(
        "drop toward IP 1",
        "IDC→VPC (peer steered by CHILD SA DELETE)",
        &m,
    );
    settle();
    // Flapping: down/up every 2 s for 20 s, then stable until the damped failback.
    let t0 = Instant::now();
    let m = stream_through(
        &mut bed,
        Duration::from_secs(22),
        |b| {
            for _ in 0..5 {
                b.topo.cut_uplink(Uplink::Az1).unwrap();
                std::thread::sleep(Duration::from_secs(2));
                b.topo.restore_uplink(Uplink::Az1).unwrap();
                std::thread::sleep(Duration::from_secs(2));
            }
        },
        |_| {},
    );
    report("flapping uplink 1 (2 s, 20 s)", "VPC→IDC", &m);
    wait_until("traffic back on tunnel 1", Duration::from_secs(120), || {
        on_tunnel_1(&bed.d)
    })
    .unwrap();
    eprintln!(
        "BENCH {}",
        serde_json::json!({
            "case": "flapping: back on tunnel 1 after (s)",
            "seconds": t0.elapsed().as_secs_f64().round(),
        })
    );
}
