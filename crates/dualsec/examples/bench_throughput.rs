//! Throughput benchmark (issue 5): iperf3 TCP through a dualsec ⇄ strongSwan tunnel and through
//! strongSwan ⇄ strongSwan, **in one run on the same topology** (the testbed's standard one: vpc ─
//! gw ═ inet ─ cgw ─ idc), both directions, per ESP suite. Run via `scripts/bench-throughput`;
//! results go to `docs/PERFORMANCE.md` (throughput section). Not a test: nothing is asserted
//! about speed.
//!
//! ```text
//! bench_throughput --dualsec PATH [--suites default,aes128gcm16] [--seconds 10]
//! ```
//!
//! Per suite, two phases on the same namespaces:
//! 1. `dualsec serve` (the binary at `--dualsec`, ideally a release build) in `gw`; gateway,
//!    customer gateway and a two-tunnel IKEv2 connection (VPC ⇄ IDC) created through the CLI with
//!    `IpsecEncAlg` set for the suite (`default` leaves every algorithm at the product default);
//!    strongSwan (kernel-libipsec) in `cgw` loads the generated `swanctl.conf` unchanged.
//! 2. dualsec stopped; strongSwan (kernel-libipsec) in `gw` with the ESP proposal that the
//!    generated config negotiated in phase 1, a fresh strongSwan in `cgw`.
//!
//! CPU per side is the user+system time of the gateway process (dualsec or charon, all its
//! threads) and of the customer's charon, from `/proc/PID/stat`, over the iperf3 run, in cores.
//! Kernel work done in softirq context (forwarding, veth, TUN wakeups) is not included.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool reporting results

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dualsec_testbed::topology::{CGW_PUBLIC, IDC_HOST, IDC_NET, IP1, IP2, VPC_HOST, VPC_NET};
use dualsec_testbed::{
    Charon, CharonOptions, Netns, Process, Topology, TopologyOptions, Uplink, traffic, wait_until,
};
use serde_json::Value;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const API: &str = "127.0.0.1:8080";

struct Args {
    dualsec: PathBuf,
    suites: Vec<String>,
    seconds: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut dualsec = None;
    let mut a = Args {
        dualsec: PathBuf::new(),
        suites: vec!["default".into(), "aes128gcm16".into()],
        seconds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dualsec" => dualsec = Some(PathBuf::from(value()?)),
            "--suites" => a.suites = value()?.split(',').map(str::to_owned).collect(),
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    a.dualsec = dualsec.ok_or("--dualsec PATH (the dualsec binary) is required")?;
    Ok(a)
}

/// User+system CPU ticks of `pid` (all threads), or `None` once it is gone.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the ")" closing the command name start at field 3 (state); utime is field 14
    // and stime field 15 (proc(5)).
    let rest = s.rsplit(')').next()?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// One iperf3 direction through one tunnel.
struct Sample {
    received_bps: f64,
    retransmits: u64,
    gw_cpu: f64,
    cgw_cpu: f64,
}

/// Both directions.
struct Pair {
    v2i: Sample,
    i2v: Sample,
}

/// iperf3 TCP for `seconds`, client in `from`, server in `to`, CPU of `gw_pid` and `cgw_pid`.
fn measure(
    from: &Netns,
    to: &Netns,
    to_host: &str,
    port: u16,
    seconds: u32,
    gw_pid: u32,
    cgw_pid: u32,
) -> Res<Sample> {
    let server = traffic::Iperf3Server::start(to, port)?;
    let ticks = || -> Res<(u64, u64)> {
        Ok((
            cpu_ticks(gw_pid).ok_or("gateway process gone")?,
            cpu_ticks(cgw_pid).ok_or("customer charon gone")?,
        ))
    };
    let (g0, c0) = ticks()?;
    let t0 = Instant::now();
    let r = traffic::iperf3_client(from, to_host, server.port(), seconds, &[])?;
    let wall = t0.elapsed().as_secs_f64();
    let (g1, c1) = ticks()?;
    let tck = clk_tck();
    let share = |a: u64, b: u64| b.saturating_sub(a) as f64 / tck / wall;
    Ok(Sample {
        received_bps: r.received_bps,
        retransmits: r.retransmits,
        gw_cpu: share(g0, g1),
        cgw_cpu: share(c0, c1),
    })
}

fn measure_pair(topo: &Topology, seconds: u32, gw_pid: u32, cgw_pid: u32) -> Res<Pair> {
    let v2i = measure(
        &topo.vpc, &topo.idc, IDC_HOST, 5201, seconds, gw_pid, cgw_pid,
    )?;
    let i2v = measure(
        &topo.idc, &topo.vpc, VPC_HOST, 5202, seconds, gw_pid, cgw_pid,
    )?;
    Ok(Pair { v2i, i2v })
}

fn ping_ok(topo: &Topology) -> Res<()> {
    let r = traffic::ping(&topo.vpc, IDC_HOST, 3, Duration::from_millis(100))?;
    if r.received != 3 {
        return Err(format!("tunnel up but vpc → idc ping failed: {r:?}").into());
    }
    Ok(())
}

/// `dualsec serve` in `gw` and the CLI next to it (the e2e test's harness, reduced).
struct Dualsec<'a> {
    bin: &'a Path,
    gw: &'a Netns,
    data: PathBuf,
    serve: Process,
}

impl<'a> Dualsec<'a> {
    fn start(bin: &'a Path, gw: &'a Netns, tag: &str) -> Res<Self> {
        let data = gw.dir().join(format!("dualsec-data-{tag}"));
        let serve = gw.spawn(
            &format!("dualsec-serve-{tag}"),
            "env",
            [
                "DUALSEC_LOG=warn".to_owned(),
                bin.display().to_string(),
                "serve".into(),
                "--data-dir".into(),
                data.display().to_string(),
                "--listen".into(),
                API.into(),
                "--public-ip".into(),
                format!("zone-a={IP1}"),
                "--public-ip".into(),
                format!("zone-b={IP2}"),
                "--completion-delay-ms".into(),
                "0".into(),
            ],
        )?;
        let creds = data.join("credentials");
        wait_until("dualsec serve to listen", Duration::from_secs(20), || {
            creds.exists() && serve.stdout().contains("API listening")
        })?;
        if !serve.stdout().contains("engine running") {
            return Err(format!("dualsec engine did not start: {}", serve.stderr()).into());
        }
        Ok(Self {
            bin,
            gw,
            data,
            serve,
        })
    }

    fn cli(&self, args: &[&str]) -> Res<String> {
        let creds = self.data.join("credentials").display().to_string();
        let mut a = vec!["--credentials", creds.as_str()];
        a.extend_from_slice(args);
        let out = self.gw.exec_output(&self.bin.display().to_string(), &a)?;
        if !out.status.success() {
            return Err(
                format!("dualsec {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into(),
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, args: &[&str]) -> Res<Value> {
        let mut a = args.to_vec();
        a.extend_from_slice(&["-o", "json"]);
        Ok(serde_json::from_str(&self.cli(&a)?)?)
    }

    fn str_field(v: &Value, key: &str) -> Res<String> {
        v[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no {key} in {v}").into())
    }

    /// Gateway, customer gateway, two-tunnel IKEv2 connection VPC ⇄ IDC; returns its id.
    fn create_connection(&self, suite: &str) -> Res<String> {
        let gw = Self::str_field(
            &self.json(&[
                "vpn-gateway",
                "create",
                "--vpc-id",
                "vpc-bench",
                "--bandwidth",
                "1000",
            ])?,
            "VpnGatewayId",
        )?;
        wait_until("gateway active", Duration::from_secs(10), || {
            self.json(&["vpn-gateway", "describe", &gw])
                .is_ok_and(|v| v["Status"] == "active")
        })?;
        let cgw = Self::str_field(
            &self.json(&["customer-gateway", "create", "--ip-address", CGW_PUBLIC])?,
            "CustomerGatewayId",
        )?;
        let mut sets = Vec::new();
        for n in 1..=2 {
            let p = format!("TunnelOptionsSpecification.{n}");
            sets.push(format!("{p}.CustomerGatewayId={cgw}"));
            sets.push(format!("{p}.TunnelIkeConfig.IkeVersion=ikev2"));
            sets.push(format!("{p}.TunnelIkeConfig.Psk=bench-psk-{n}"));
            if suite != "default" {
                sets.push(format!("{p}.TunnelIpsecConfig.IpsecEncAlg={suite}"));
            }
        }
        let mut args = vec![
            "connection",
            "create",
            "--vpn-gateway-id",
            &gw,
            "--local-subnet",
            VPC_NET,
            "--remote-subnet",
            IDC_NET,
            "--effect-immediately",
            "true",
            "--name",
            "bench",
        ];
        for s in &sets {
            args.extend(["--set", s.as_str()]);
        }
        Self::str_field(&self.json(&args)?, "VpnConnectionId")
    }

    fn wait_established(&self, vco: &str) -> Res<()> {
        let r = wait_until(
            "both tunnels ipsec_sa_established",
            Duration::from_secs(40),
            || {
                self.json(&["connection", "describe", vco]).is_ok_and(|v| {
                    let t = &v["TunnelOptionsSpecification"]["TunnelOptions"];
                    t[0]["Status"] == "ipsec_sa_established"
                        && t[1]["Status"] == "ipsec_sa_established"
                })
            },
        );
        if r.is_err() {
            return Err(format!(
                "tunnels not established: {}\nserve stderr:\n{}",
                self.json(&["connection", "describe", vco])
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                self.serve.stderr()
            )
            .into());
        }
        Ok(())
    }

    /// SIGTERM (IKE DELETEs, TUN closed) and wait.
    fn stop(mut self) -> Res<()> {
        self.serve.signal("TERM")?;
        if self.serve.wait_timeout(Duration::from_secs(15)).is_err() {
            eprintln!("  dualsec did not exit on SIGTERM; killed");
        }
        Ok(())
    }
}

/// The first `esp_proposals = …` of a generated swanctl.conf.
fn esp_proposal(conf: &str) -> Res<String> {
    conf.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "esp_proposals").then(|| v.trim().to_owned())
        })
        .ok_or_else(|| "generated swanctl.conf has no esp_proposals".into())
}

/// Phase 1: dualsec in `gw`. Returns the measurement and the ESP proposal it negotiated.
fn dualsec_phase(args: &Args, topo: &Topology, suite: &str) -> Res<(Pair, String)> {
    let d = Dualsec::start(&args.dualsec, &topo.gw, suite)?;
    let vco = d.create_connection(suite)?;
    let conf = d.cli(&["peer-config", &vco, "--format", "swanctl"])?;
    let esp = esp_proposal(&conf)?;
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default())?;
    cgw.load(&conf)?;
    d.wait_established(&vco)?;
    let child = cgw
        .list_sas()?
        .into_iter()
        .filter(|ike| ike.name.ends_with("tunnel1"))
        .flat_map(|ike| ike.children)
        .find(|c| c.state == "INSTALLED")
        .ok_or("no installed tunnel 1 CHILD SA at the customer")?;
    eprintln!(
        "  dualsec: ESP proposal {esp}; customer CHILD SA encr={} integ={}",
        child.fields.get("encr-alg").map_or("?", String::as_str),
        child.fields.get("integ-alg").map_or("-", String::as_str),
    );
    ping_ok(topo)?;
    let pair = measure_pair(topo, args.seconds, d.serve.pid(), cgw.pid())?;
    d.stop()?;
    drop(cgw);
    Ok((pair, esp))
}

/// Phase 2: strongSwan in `gw` with `esp`.
fn strongswan_phase(args: &Args, topo: &Topology, esp: &str) -> Res<Pair> {
    let mut gw_conn = topo.gw_connection(Uplink::Az1);
    gw_conn.esp_proposals = esp.to_owned();
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default())?;
    cgw.load(&topo.cgw_connection(&gw_conn).render())?;
    let gw = Charon::start(&topo.gw, &CharonOptions::default())?;
    gw.load(&gw_conn.render())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match cgw.initiate_child(&gw_conn.child, Duration::from_secs(5)) {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => return Err(e.into()),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let (_, child) = cgw.wait_child_installed(&gw_conn.child, Duration::from_secs(10))?;
    eprintln!(
        "  strongSwan: ESP proposal {esp}; CHILD SA encr={} integ={}",
        child.fields.get("encr-alg").map_or("?", String::as_str),
        child.fields.get("integ-alg").map_or("-", String::as_str),
    );
    ping_ok(topo)?;
    measure_pair(topo, args.seconds, gw.pid(), cgw.pid())
}

fn row(suite: &str, gw: &str, dir: &str, s: &Sample, ratio: Option<f64>) -> String {
    format!(
        "| {suite} | {gw} | {dir} | {:.3} | {} | {:.2} | {:.2} | {} |",
        s.received_bps / 1e9,
        s.retransmits,
        s.gw_cpu,
        s.cgw_cpu,
        ratio.map_or("—".into(), |r| format!("{r:.2}×")),
    )
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_throughput: {e}");
            std::process::exit(2);
        }
    };
    if !dualsec_testbed::require(&["charon", "swanctl", "iperf3", "ping", "ip"]) {
        std::process::exit(2);
    }
    let topo = match Topology::build(&TopologyOptions::default()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench_throughput: topology: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "iperf3 TCP {} s per direction, one stream; customer side strongSwan kernel-libipsec",
        args.seconds
    );
    println!(
        "| suite | gateway | direction | Gbit/s (receiver) | retransmits | gw CPU (cores) | cgw charon CPU (cores) | dualsec / strongSwan |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    for suite in &args.suites {
        eprintln!("suite {suite}: dualsec ⇄ strongSwan");
        let (ds, esp) = match dualsec_phase(&args, &topo, suite) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("suite {suite}: dualsec phase: {e}");
                failed = true;
                continue;
            }
        };
        eprintln!("suite {suite}: strongSwan ⇄ strongSwan");
        let ss = match strongswan_phase(&args, &topo, &esp) {
            Ok(x) => Some(x),
            Err(e) => {
                eprintln!("suite {suite}: strongSwan phase: {e}");
                failed = true;
                None
            }
        };
        let label = format!("{suite} (`{esp}`)");
        let ratio = |a: &Sample, b: Option<&Sample>| b.map(|b| a.received_bps / b.received_bps);
        let ss_v2i = ss.as_ref().map(|p| &p.v2i);
        let ss_i2v = ss.as_ref().map(|p| &p.i2v);
        println!(
            "{}",
            row(
                &label,
                "dualsec",
                "vpc → idc",
                &ds.v2i,
                ratio(&ds.v2i, ss_v2i)
            )
        );
        println!(
            "{}",
            row(
                &label,
                "dualsec",
                "idc → vpc",
                &ds.i2v,
                ratio(&ds.i2v, ss_i2v)
            )
        );
        if let Some(ss) = &ss {
            println!("{}", row(&label, "strongSwan", "vpc → idc", &ss.v2i, None));
            println!("{}", row(&label, "strongSwan", "idc → vpc", &ss.i2v, None));
        }
    }
    drop(topo);
    if failed {
        std::process::exit(1);
    }
}
