//! A minimal UDP driver for the sans-IO IKE endpoints: binds UDP 500 and 4500 on one address,
//! runs one tunnel in a [`dualsec_ike::mux::Endpoints`] (the engine's endpoint: IKEv1 and IKEv2
//! side by side, datagrams routed by major version) as IKEv2 (the default) or, with `--ikev1`,
//! as IKEv1 (main mode, aggressive mode with `--aggressive`), and prints the events one per line
//! on stdout.
//!
//! Used by the strongSwan interop tests (`tests/v2_interop.rs`, `tests/v1_interop.rs`,
//! `tests/v2_interop_fragmentation.rs`), runnable by hand:
//!
//! ```text
//! ike_udp_driver --local 192.0.2.1 --remote 203.0.113.2 --psk secret \
//!     --ike aes128-sha1-modp1024 --esp aes128-sha1-modp1024 --initiate --seconds 20 \
//!     [--ikev1 [--aggressive]]
//! ```
//!
//! Output lines: `IKE_UP remote=…`, `CHILD_ESTABLISHED spi_in=… spi_out=… udp_encap=…`,
//! `CHILD_REKEYED …`, `CHILD_DELETED …`, `IKE_REKEYED …`, `IKE_DOWN …`, `PEER_DEAD`,
//! `NEGOTIATION_FAILED <explained error>`; IKEv1 also `INBOUND_FIRST spi_in=…` when it hands out
//! a quick mode's inbound SA ahead of its CHILD SA event (see [`dualsec_ike::v1::endpoint`]).

use std::io::Write;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use dualsec_ike::mux::{Endpoints, Flavor, Setup};
use dualsec_ike::v1::{InboundFirst, Mode, Options};
use dualsec_ike::v2::{
    self, EndpointConfig, EspProposal, Event, Identity, IkeProposal, Psk, TrafficSelector,
    TunnelConfig, TunnelId,
};
use rand_core::OsRng;

fn usage(msg: &str) -> ! {
    eprintln!("ike_udp_driver: {msg}");
    std::process::exit(2)
}

fn cidr(s: &str) -> TrafficSelector {
    let (a, l) = s.split_once('/').unwrap_or((s, "32"));
    let addr: IpAddr = a.parse().unwrap_or_else(|_| usage("bad CIDR"));
    TrafficSelector::cidr(addr, l.parse().unwrap_or_else(|_| usage("bad prefix")))
        .unwrap_or_else(|| usage("bad prefix"))
}

fn identity(s: &str) -> Identity {
    match s.parse::<IpAddr>() {
        Ok(a) => a.into(),
        Err(_) => Identity::Fqdn(s.to_owned()),
    }
}

/// The stdout line for one event; the interop tests parse these (`KEY=value` fields).
fn event_line(ev: Event) -> String {
    match ev {
        Event::IkeUp { remote, nat, .. } => format!("IKE_UP remote={remote} nat={nat}"),
        Event::IkeDown { reason, .. } => format!("IKE_DOWN {reason:?}"),
        Event::IkeRekeyed { spi_i, spi_r, .. } => {
            format!("IKE_REKEYED spi_i={spi_i:016x} spi_r={spi_r:016x}")
        }
        Event::ChildEstablished { child, .. } => format!(
            "CHILD_ESTABLISHED spi_in={:08x} spi_out={:08x} encr={:?} integ={:?} udp_encap={} local_ts={:?} remote_ts={:?}",
            child.spi_in,
            child.spi_out,
            child.encr,
            child.integ,
            child.udp_encap,
            child.local_ts,
            child.remote_ts
        ),
        Event::ChildRekeyed {
            old_spi_in, new, ..
        } => {
            format!(
                "CHILD_REKEYED old_spi_in={old_spi_in:08x} spi_in={:08x} spi_out={:08x}",
                new.spi_in, new.spi_out
            )
        }
        Event::ChildDeleted {
            spi_in, spi_out, ..
        } => format!("CHILD_DELETED spi_in={spi_in:08x} spi_out={spi_out:08x}"),
        Event::PeerAddressChanged {
            remote, udp_encap, ..
        } => format!("PEER_MOVED remote={remote} udp_encap={udp_encap}"),
        Event::PeerDead { .. } => "PEER_DEAD".to_owned(),
        Event::NegotiationFailed { error, .. } => format!("NEGOTIATION_FAILED {error}"),
        other => format!("OTHER {other:?}"),
    }
}

fn inbound_first_line(f: &InboundFirst) -> String {
    let replaces = f
        .replaces
        .map_or_else(|| "none".to_owned(), |spi| format!("{spi:08x}"));
    format!(
        "INBOUND_FIRST spi_in={:08x} replaces={replaces}",
        f.child.spi_in
    )
}

/// One line on stdout, flushed at once: the tests read it while we run.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() {
    // Logs on stderr; the interop tests keep them next to charon's.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("dualsec_ike=debug")),
        )
        .try_init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let has = |name: &str| args.iter().any(|a| a == name);
    let local: IpAddr = get("--local")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| usage("--local IP"));
    let remote: IpAddr = get("--remote")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| usage("--remote IP"));
    let psk = get("--psk").unwrap_or_else(|| usage("--psk KEY"));
    let mut cfg = TunnelConfig::new(local, remote, Psk::new(psk));
    if let Some(p) = get("--ike") {
        cfg.ike_proposals =
            vec![IkeProposal::from_strongswan(&p).unwrap_or_else(|e| usage(&e.to_string()))];
    }
    if let Some(p) = get("--esp") {
        let (esp, pfs) = EspProposal::from_strongswan(&p).unwrap_or_else(|e| usage(&e.to_string()));
        cfg.esp_proposals = vec![esp];
        cfg.pfs_group = pfs;
    }
    if let Some(ts) = get("--local-ts") {
        cfg.local_ts = ts.split(',').map(cidr).collect();
    }
    if let Some(ts) = get("--remote-ts") {
        cfg.remote_ts = ts.split(',').map(cidr).collect();
    }
    if let Some(id) = get("--local-id") {
        cfg.local_id = identity(&id);
    }
    if let Some(id) = get("--remote-id") {
        cfg.remote_id = identity(&id);
    }
    let seconds: u64 = get("--seconds").and_then(|s| s.parse().ok()).unwrap_or(20);
    let rekey_after: Option<u64> = get("--rekey-child-after").and_then(|s| s.parse().ok());
    let rekey_ike_after: Option<u64> = get("--rekey-ike-after").and_then(|s| s.parse().ok());
    if let Some(i) = get("--dpd-interval").and_then(|s| s.parse().ok()) {
        let t = get("--dpd-timeout")
            .and_then(|s| s.parse().ok())
            .unwrap_or(30);
        cfg.dpd = Some(v2::DpdConfig {
            interval: Duration::from_secs(i),
            timeout: Duration::from_secs(t),
        });
    }
    if has("--aggressive") && !has("--ikev1") {
        usage("--aggressive is an IKEv1 mode: add --ikev1");
    }

    let sock500 = UdpSocket::bind(SocketAddr::new(local, 500))
        .unwrap_or_else(|e| usage(&format!("bind 500: {e}")));
    let sock4500 = UdpSocket::bind(SocketAddr::new(local, 4500))
        .unwrap_or_else(|e| usage(&format!("bind 4500: {e}")));
    for s in [&sock500, &sock4500] {
        s.set_nonblocking(true)
            .unwrap_or_else(|e| usage(&e.to_string()));
    }
    let mut rng = OsRng;
    let tunnel = TunnelId(1);
    let flavor = match (has("--ikev1"), has("--aggressive")) {
        (false, _) => Flavor::V2,
        (true, false) => Flavor::V1(Options { mode: Mode::Main }),
        (true, true) => Flavor::V1(Options {
            mode: Mode::Aggressive,
        }),
    };
    let start = Instant::now();
    let mut ep = Endpoints::new(EndpointConfig::default(), &mut rng);
    let setup = Setup {
        config: cfg,
        flavor,
    };
    ep.add_tunnel(start, tunnel, setup, &mut rng);
    if has("--initiate") {
        ep.initiate(start, tunnel, &mut rng)
            .unwrap_or_else(|e| usage(&e.to_string()));
    }
    let mut rekeyed = false;
    let mut ike_rekeyed = false;
    let mut buf = vec![0u8; 65536];
    while start.elapsed() < Duration::from_secs(seconds) {
        let now = Instant::now();
        let mut busy = false;
        for (port, s) in [(500u16, &sock500), (4500u16, &sock4500)] {
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                busy = true;
                let local = SocketAddr::new(local, port);
                ep.handle_datagram(now, local, from, &buf[..n], &mut rng);
            }
        }
        ep.handle_timeout(now, &mut rng);
        if let Some(after) = rekey_after {
            if !rekeyed
                && start.elapsed() >= Duration::from_secs(after)
                && ep.rekey_child(now, tunnel, &mut rng).is_ok()
            {
                rekeyed = true;
            }
        }
        if let Some(after) = rekey_ike_after {
            if !ike_rekeyed
                && start.elapsed() >= Duration::from_secs(after)
                && ep.rekey_ike(now, tunnel, &mut rng).is_ok()
            {
                ike_rekeyed = true;
            }
        }
        while let Some(t) = ep.poll_transmit() {
            busy = true;
            let s = if t.local.port() == 4500 {
                &sock4500
            } else {
                &sock500
            };
            if let Err(e) = s.send_to(&t.bytes, t.remote) {
                eprintln!("send to {}: {e}", t.remote);
            }
        }
        while let Some(f) = ep.poll_inbound_first() {
            print_line(&inbound_first_line(&f));
        }
        while let Some(ev) = ep.poll_event() {
            print_line(&event_line(ev));
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
