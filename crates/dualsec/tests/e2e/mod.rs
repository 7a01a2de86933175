//! The end-to-end harness shared by the `e2e_*` tests: the real `dualsec serve` in the `gw`
//! namespace of the standard topology, the CLI next to it, connection creation through the API,
//! traffic checks VPC host ⇄ IDC host.
#![allow(dead_code, unused_imports)] // each test binary uses a part
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

pub use std::path::PathBuf;
pub use std::time::Duration;

pub use dualsec_testbed::topology::{IDC_HOST, IDC_NET, IP1, IP2, VPC_HOST, VPC_NET};
pub use dualsec_testbed::{
    Charon, CharonOptions, Netns, Process, Topology, TopologyOptions, traffic, wait_until,
};
pub use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_dualsec");
pub const API: &str = "127.0.0.1:8080";

/// `dualsec serve` in `gw`, and the CLI run next to it.
pub struct Dualsec {
    pub gw: Netns,
    pub data: PathBuf,
    pub serve: Process,
}

impl Dualsec {
    pub fn start(topo: &Topology) -> Dualsec {
        Self::start_with(topo, &[])
    }

    /// `serve` with `extra` flags after the standard ones (e.g. `--vpc-netns NS`).
    pub fn start_with(topo: &Topology, extra: &[&str]) -> Dualsec {
        let data = topo.gw.dir().join("dualsec-data");
        let d = data.to_str().unwrap();
        let ip1 = format!("zone-a={IP1}");
        let ip2 = format!("zone-b={IP2}");
        let mut args = vec![
            "DUALSEC_LOG=info",
            BIN,
            "serve",
            "--data-dir",
            d,
            "--listen",
            API,
            "--public-ip",
            &ip1,
            "--public-ip",
            &ip2,
            "--completion-delay-ms",
            "0",
        ];
        args.extend_from_slice(extra);
        let serve = topo.gw.spawn("dualsec-serve", "env", args).unwrap();
        let creds = data.join("credentials");
        wait_until("dualsec serve to listen", Duration::from_secs(20), || {
            creds.exists() && serve.stdout().contains("API listening")
        })
        .unwrap();
        let me = Dualsec {
            gw: topo.gw.clone(),
            data,
            serve,
        };
        assert!(
            me.serve.stdout().contains("engine running"),
            "engine did not start: {}",
            me.serve.stderr()
        );
        me
    }

    /// Stops `serve` with SIGTERM (the engine sends IKE DELETEs and logs its data-plane
    /// counters) and returns its stderr without terminal colours.
    pub fn stop(mut self) -> String {
        self.serve.signal("TERM").unwrap();
        self.serve.wait_timeout(Duration::from_secs(15)).unwrap();
        strip_ansi(&self.serve.stderr())
    }

    /// Runs the CLI in `gw`; returns stdout, panics with stderr on failure.
    pub fn cli(&self, args: &[&str]) -> String {
        let creds = self.data.join("credentials");
        let mut a = vec!["--credentials", creds.to_str().unwrap()];
        a.extend_from_slice(args);
        let out = self.gw.exec_output(BIN, &a).unwrap();
        assert!(
            out.status.success(),
            "dualsec {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.cli(&a)).unwrap()
    }

    pub fn tunnel(&self, vco: &str, index: usize) -> Value {
        let v = self.json(&["connection", "describe", vco]);
        v["TunnelOptionsSpecification"]["TunnelOptions"][index].clone()
    }

    pub fn wait_tunnel(&self, vco: &str, index: usize, status: &str, timeout: Duration) {
        let r = wait_until(&format!("tunnel {} {status}", index + 1), timeout, || {
            self.tunnel(vco, index)["Status"] == status
        });
        if r.is_err() {
            panic!(
                "tunnel {} not {status}: {:#}\nserve stderr:\n{}",
                index + 1,
                self.json(&["connection", "describe", vco]),
                tail(&self.serve.stderr(), 60)
            );
        }
    }
}

impl Dualsec {
    /// The engine's failover/failback lines (the same text goes to the connection's event log).
    pub fn ha_lines(&self) -> Vec<String> {
        strip_ansi(&self.serve.stderr())
            .lines()
            .filter(|l| l.contains("failover:") || l.contains("failback:"))
            .map(str::to_owned)
            .collect()
    }

    /// How many of [`Dualsec::ha_lines`] contain `what`.
    pub fn ha_count(&self, what: &str) -> usize {
        self.ha_lines().iter().filter(|l| l.contains(what)).count()
    }
}

/// ESP packets strongSwan received on a tunnel's CHILD SAs (`swanctl --list-sas`; VPC → IDC).
pub fn peer_packets_in(cgw: &Charon, ike_name: &str) -> u64 {
    cgw.list_sas()
        .unwrap()
        .iter()
        .filter(|s| s.name == ike_name)
        .flat_map(|s| s.children.iter())
        .map(|c| c.packets_in)
        .sum()
}

/// ESP packets strongSwan sent on a tunnel's CHILD SAs (IDC → VPC).
pub fn peer_packets_out(cgw: &Charon, ike_name: &str) -> u64 {
    cgw.list_sas()
        .unwrap()
        .iter()
        .filter(|s| s.name == ike_name)
        .flat_map(|s| s.children.iter())
        .map(|c| c.packets_out)
        .sum()
}

pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `key=N` from the engine's "data plane counters at shutdown" line.
pub fn shutdown_counter(log: &str, key: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains("data plane counters at shutdown"))
        .unwrap_or_else(|| panic!("no counters line in:\n{}", tail(log, 40)));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Creates gateway, customer gateway and a policy-mode connection (VPC ⇄ IDC), `ike_version` on both
/// tunnels; extra `--set` parameters apply to both tunnels.
pub fn create_connection(
    d: &Dualsec,
    ike_version: &str,
    effect_immediately: bool,
    tunnel_sets: &[(&str, &str)],
) -> (String, [String; 2]) {
    let (gw, cgw) = d.gateway_and_cgw();
    let eff = if effect_immediately { "true" } else { "false" };
    let vco = d.connection(
        &gw,
        &Conn {
            cgw: &cgw,
            ike_version,
            local: VPC_NET,
            remote: IDC_NET,
            args: &["--effect-immediately", eff],
            tunnel_sets,
        },
    );
    let desc = d.json(&["connection", "describe", &vco]);
    let tid = |i: usize| {
        desc["TunnelOptionsSpecification"]["TunnelOptions"][i]["TunnelId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (vco, [tid(0), tid(1)])
}

/// A connection for [`Dualsec::connection`].
pub struct Conn<'a> {
    /// Customer gateway of both tunnels.
    pub cgw: &'a str,
    pub ike_version: &'a str,
    /// `--local-subnet` / `--remote-subnet` (comma-separated lists).
    pub local: &'a str,
    pub remote: &'a str,
    /// Further `connection create` arguments (routing mode, `--effect-immediately false`, …);
    /// the connection negotiates at once unless they say otherwise.
    pub args: &'a [&'a str],
    /// `TunnelOptionsSpecification.N.<key>=<value>` for both tunnels; `{n}` in a value becomes
    /// the tunnel's number.
    pub tunnel_sets: &'a [(&'a str, &'a str)],
}

impl Dualsec {
    /// Creates an active gateway and a customer gateway at the cgw's public address.
    pub fn gateway_and_cgw(&self) -> (String, String) {
        let gw = self.json(&[
            "vpn-gateway",
            "create",
            "--vpc-id",
            "vpc-e2e",
            "--bandwidth",
            "100",
        ])["VpnGatewayId"]
            .as_str()
            .unwrap()
            .to_owned();
        wait_until("gateway active", Duration::from_secs(10), || {
            self.json(&["vpn-gateway", "describe", &gw])["Status"] == "active"
        })
        .unwrap();
        let cgw = self.json(&[
            "customer-gateway",
            "create",
            "--ip-address",
            dualsec_testbed::topology::CGW_PUBLIC,
        ])["CustomerGatewayId"]
            .as_str()
            .unwrap()
            .to_owned();
        (gw, cgw)
    }

    /// Creates a connection on gateway `gw`; returns its id.
    pub fn connection(&self, gw: &str, c: &Conn) -> String {
        let mut sets = Vec::new();
        for n in 1..=2 {
            let p = format!("TunnelOptionsSpecification.{n}");
            sets.push(format!("{p}.CustomerGatewayId={}", c.cgw));
            sets.push(format!("{p}.TunnelIkeConfig.IkeVersion={}", c.ike_version));
            sets.push(format!("{p}.TunnelIkeConfig.Psk=e2e-psk-{n}"));
            for (k, v) in c.tunnel_sets {
                sets.push(format!("{p}.{k}={}", v.replace("{n}", &n.to_string())));
            }
        }
        let mut args = vec![
            "connection",
            "create",
            "--vpn-gateway-id",
            gw,
            "--local-subnet",
            c.local,
            "--remote-subnet",
            c.remote,
            "--name",
            "e2e",
        ];
        if !c.args.contains(&"--effect-immediately") {
            args.extend(["--effect-immediately", "true"]);
        }
        args.extend_from_slice(c.args);
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        self.json(&args)["VpnConnectionId"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub fn ping_both_ways(topo: &Topology) {
    let r = traffic::ping(&topo.vpc, IDC_HOST, 5, Duration::from_millis(100)).unwrap();
    assert_eq!(r.received, 5, "vpc → idc: {r:?}");
    let r = traffic::ping(&topo.idc, VPC_HOST, 5, Duration::from_millis(100)).unwrap();
    assert_eq!(r.received, 5, "idc → vpc: {r:?}");
}

pub fn diag(topo: &Topology) -> String {
    let mut out = String::new();
    for size in ["1000", "1300", "1372", "1400", "1472"] {
        let r = topo
            .vpc
            .exec_output("ping", ["-c", "1", "-W", "1", "-s", size, IDC_HOST]);
        out += &format!("ping -s {size}: {:?}\n", r.map(|o| o.status.success()));
    }
    out += &topo.gw.exec("ip", ["-s", "link"]).unwrap_or_default();
    out += &topo.gw.exec("ip", ["route"]).unwrap_or_default();
    out
}

pub fn iperf_both_ways(topo: &Topology) {
    if std::env::var("E2E_DIAG").is_ok() {
        eprintln!("{}", diag(topo));
    }
    let _srv = traffic::Iperf3Server::start(&topo.idc, 5201).unwrap();
    let r = traffic::iperf3_client(&topo.vpc, IDC_HOST, 5201, 3, &[]).unwrap();
    assert!(
        r.received_bps > 1e6,
        "vpc → idc TCP: {} bit/s",
        r.received_bps
    );
    let _srv = traffic::Iperf3Server::start(&topo.vpc, 5202).unwrap();
    let r = traffic::iperf3_client(&topo.idc, VPC_HOST, 5202, 3, &[]).unwrap();
    assert!(
        r.received_bps > 1e6,
        "idc → vpc TCP: {} bit/s",
        r.received_bps
    );
    eprintln!("iperf3 idc → vpc: {:.0} Mbit/s", r.received_bps / 1e6);
}

/// A 1 ms sequence-numbered UDP stream (64-byte datagrams, one per millisecond, so a sequence
/// number is the millisecond it was sent) from `from` to `dst` in `to`; the failover tests cut a
/// path while it runs.
pub struct Stream {
    rx: traffic::UdpStreamReceiver,
    sender: std::thread::JoinHandle<dualsec_testbed::Result<u64>>,
    start: std::time::Instant,
}

/// What [`Stream::finish`] measured around one fault.
#[derive(Debug)]
pub struct StreamOutcome {
    /// The longest gap before the restore (the failover outage).
    pub outage: Duration,
    /// Datagrams lost after the restore (the failback loss).
    pub lost_after_restore: u64,
    pub report: traffic::UdpStreamReport,
}

impl Stream {
    /// Starts the stream, `total` long, and returns once it is received plus one second;
    /// `idle`: how long the receiver waits for a silent sender to resume.
    pub fn start(
        from: &Netns,
        to: &Netns,
        dst: &'static str,
        port: u16,
        total: Duration,
        idle: Duration,
    ) -> Stream {
        let mut rx = traffic::UdpStreamReceiver::start(
            to,
            dst,
            port,
            idle,
            total + Duration::from_secs(40),
            Duration::from_millis(20),
        )
        .unwrap();
        let from = from.clone();
        let count = total.as_millis() as u64;
        let start = std::time::Instant::now();
        let sender = std::thread::spawn(move || {
            traffic::udp_stream_send(&from, dst, port, count, Duration::from_millis(1), 64)
        });
        rx.wait_receiving(Duration::from_secs(5)).unwrap();
        std::thread::sleep(Duration::from_secs(1));
        Stream { rx, sender, start }
    }

    /// The sequence number being sent now (call it at the restore).
    pub fn seq_now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Waits for the sender and then the receiver (up to `wait`); splits the gaps at
    /// `restored_seq`.
    pub fn finish(self, wait: Duration, restored_seq: u64) -> StreamOutcome {
        self.sender.join().unwrap().unwrap();
        let report = self.rx.finish(wait).unwrap();
        let outage = report
            .gaps
            .iter()
            .filter(|(before, _, _)| *before < restored_seq)
            .map(|(_, _, g)| *g)
            .max()
            .unwrap_or_default();
        let lost_after_restore = report
            .gaps
            .iter()
            .filter(|(before, _, _)| *before >= restored_seq)
            .map(|(b, a, _)| a.saturating_sub(*b).saturating_sub(1))
            .sum();
        StreamOutcome {
            outage,
            lost_after_restore,
            report,
        }
    }
}
