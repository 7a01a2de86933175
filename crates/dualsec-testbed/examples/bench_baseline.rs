//! Throughput baseline: iperf3 TCP vpc → idc through the standard topology, the customer side
//! always strongSwan (kernel-libipsec), the gateway side a parameter. Run via
//! `scripts/bench-baseline`; see docs/PERFORMANCE.md.
//!
//! ```text
//! bench_baseline [--gateway strongswan | --gateway-cmd 'SHELL COMMAND']
//!                [--esp aes128-sha1,aes128gcm16] [--seconds 10] [--runs 1]
//! ```
//!
//! `--gateway-cmd` runs the command with `sh -c` inside the `gw` namespace (for dualsec later).
//! It gets the environment `DUALSEC_TB_IP1`, `DUALSEC_TB_IP2`, `DUALSEC_TB_PEER` (customer
//! public IP), `DUALSEC_TB_LOCAL_TS`, `DUALSEC_TB_REMOTE_TS`, `DUALSEC_TB_PSK`,
//! `DUALSEC_TB_IKE_PROPOSAL`, `DUALSEC_TB_ESP_PROPOSAL` (strongSwan proposal syntax) and
//! `DUALSEC_TB_DIR`; it must accept the customer's IKEv2 initiation to IP 1.
//!
//! CPU is the user+system time of every process in the namespace during the iperf3 run, as a
//! share of one core (kernel forwarding and TUN work done in softirq context is not counted).

use std::time::{Duration, Instant};

use dualsec_testbed::topology::{IDC_HOST, IDC_NET, IP1, IP2, VPC_NET};
use dualsec_testbed::{
    Charon, CharonOptions, Netns, Process, Topology, TopologyOptions, Uplink, traffic,
};

enum Gateway {
    StrongSwan,
    Command(String),
}

struct Args {
    gateway: Gateway,
    esp: Vec<String>,
    seconds: u32,
    runs: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        gateway: Gateway::StrongSwan,
        esp: vec!["aes128-sha1".into(), "aes128gcm16".into()],
        seconds: 10,
        runs: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--gateway" => match value()?.as_str() {
                "strongswan" => a.gateway = Gateway::StrongSwan,
                other => return Err(format!("unknown gateway {other:?}; use --gateway-cmd")),
            },
            "--gateway-cmd" => a.gateway = Gateway::Command(value()?),
            "--esp" => a.esp = value()?.split(',').map(str::to_owned).collect(),
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--runs" => a.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

/// CPU ticks (user + system) of all processes in `ns`.
fn ns_cpu_ticks(ns: &Netns) -> u64 {
    ns.pids()
        .unwrap_or_default()
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|s| {
            // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
            let rest = s.rsplit(')').next()?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

struct Sample {
    esp: String,
    sent_bps: f64,
    received_bps: f64,
    retransmits: u64,
    gw_cpu: f64,
    cgw_cpu: f64,
}

fn run_once(args: &Args, esp: &str) -> Result<Sample, Box<dyn std::error::Error>> {
    let topo = Topology::build(&TopologyOptions::default())?;
    let mut gw_conn = topo.gw_connection(Uplink::Az1);
    gw_conn.esp_proposals = esp.to_owned();
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default())?;
    cgw.load(&topo.cgw_connection(&gw_conn).render())?;

    // Keep the gateway alive for the whole run.
    let (_gw_charon, _gw_process): (Option<Charon>, Option<Process>) = match &args.gateway {
        Gateway::StrongSwan => {
            let gw = Charon::start(&topo.gw, &CharonOptions::default())?;
            gw.load(&gw_conn.render())?;
            (Some(gw), None)
        }
        Gateway::Command(cmd) => {
            let mut c = topo.gw.command("sh");
            c.args(["-c", cmd])
                .env("DUALSEC_TB_IP1", IP1)
                .env("DUALSEC_TB_IP2", IP2)
                .env("DUALSEC_TB_PEER", &gw_conn.remote_addr)
                .env("DUALSEC_TB_LOCAL_TS", VPC_NET)
                .env("DUALSEC_TB_REMOTE_TS", IDC_NET)
                .env("DUALSEC_TB_PSK", &gw_conn.psk)
                .env("DUALSEC_TB_IKE_PROPOSAL", &gw_conn.ike_proposals)
                .env("DUALSEC_TB_ESP_PROPOSAL", esp)
                .env("DUALSEC_TB_DIR", topo.gw.dir());
            (None, Some(topo.gw.spawn_command("gateway", c)?))
        }
    };

    // The gateway may need a moment to listen; retry the initiation.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match cgw.initiate_child(&gw_conn.child, Duration::from_secs(5)) {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => return Err(e.into()),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let (_, child) = cgw.wait_child_installed(&gw_conn.child, Duration::from_secs(10))?;
    let ping = traffic::ping(&topo.vpc, IDC_HOST, 3, Duration::from_millis(100))?;
    if ping.received != 3 {
        return Err(format!("tunnel up but vpc → idc ping failed: {ping:?}").into());
    }

    let server = traffic::Iperf3Server::start(&topo.idc, 5201)?;
    let (gw0, cgw0) = (ns_cpu_ticks(&topo.gw), ns_cpu_ticks(&topo.cgw));
    let t0 = Instant::now();
    let r = traffic::iperf3_client(&topo.vpc, IDC_HOST, server.port(), args.seconds, &[])?;
    let wall = t0.elapsed().as_secs_f64();
    let (gw1, cgw1) = (ns_cpu_ticks(&topo.gw), ns_cpu_ticks(&topo.cgw));
    let tck = clk_tck();
    let share = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / tck / wall;
    eprintln!(
        "  CHILD SA {} {} encr={} integ={}",
        child.spi_in,
        child.spi_out,
        child.fields.get("encr-alg").map_or("?", String::as_str),
        child.fields.get("integ-alg").map_or("-", String::as_str),
    );
    Ok(Sample {
        esp: esp.to_owned(),
        sent_bps: r.sent_bps,
        received_bps: r.received_bps,
        retransmits: r.retransmits,
        gw_cpu: share(gw0, gw1),
        cgw_cpu: share(cgw0, cgw1),
    })
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_baseline: {e}");
            std::process::exit(2);
        }
    };
    if !dualsec_testbed::require(&["charon", "swanctl", "iperf3", "ping"]) {
        std::process::exit(2);
    }
    let gw_name = match &args.gateway {
        Gateway::StrongSwan => "strongSwan 5.9.8 kernel-libipsec".to_owned(),
        Gateway::Command(c) => format!("`{c}`"),
    };
    println!(
        "gateway: {gw_name}; customer: strongSwan kernel-libipsec; iperf3 TCP {} s vpc → idc",
        args.seconds
    );
    println!(
        "| ESP | run | sender Gbit/s | receiver Gbit/s | retransmits | gw CPU (cores) | cgw CPU (cores) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    for esp in &args.esp {
        for run in 1..=args.runs {
            match run_once(&args, esp) {
                Ok(s) => println!(
                    "| {} | {run} | {:.3} | {:.3} | {} | {:.2} | {:.2} |",
                    s.esp,
                    s.sent_bps / 1e9,
                    s.received_bps / 1e9,
                    s.retransmits,
                    s.gw_cpu,
                    s.cgw_cpu
                ),
                Err(e) => {
                    failed = true;
                    eprintln!("{esp} run {run}: {e}");
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
