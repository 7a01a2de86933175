//! `dualsec`: the gateway binary.
//!
//! - `dualsec serve --data-dir DIR --listen ADDR [--public-ip ZONE=IP …]` runs the gateway's API
//!   and the engine (`--tun NAME`, default `dsec0`; `--no-engine` for the API alone).
//! - every other subcommand is a client: one signed API call (ACS3-HMAC-SHA256) per command, e.g.
//!   `dualsec vpn-gateway create --vpc-id vpc-1 --bandwidth 10`, `dualsec connection describe vco-…`,
//!   `dualsec peer-config vco-… --format json`, `dualsec call DescribeVpnGateways`.
//!   Credentials: `--credentials FILE` (the file `serve` writes), or `DUALSEC_ACCESS_KEY_ID`,
//!   `DUALSEC_ACCESS_KEY_SECRET`, `DUALSEC_ENDPOINT`, `DUALSEC_REGION`.

mod cli;
mod client;
mod serve;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgAction, Command, value_parser};

/// Credentials file read when none is given and it exists.
const DEFAULT_CREDENTIALS: &str = "/var/lib/dualsec/credentials";

fn command() -> Command {
    Command::new("dualsec")
        .about("Self-hosted dual-tunnel IPsec VPN gateway with a provider-compatible API")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg(
            Arg::new("endpoint")
                .long("endpoint")
                .global(true)
                .env("DUALSEC_ENDPOINT")
                .help("API endpoint (host:port or http://host:port); default from the credentials file"),
        )
        .arg(
            Arg::new("credentials")
                .long("credentials")
                .global(true)
                .env("DUALSEC_CREDENTIALS")
                .value_parser(value_parser!(PathBuf))
                .help("Credentials file written by `dualsec serve` (DATA_DIR/credentials); default /var/lib/dualsec/credentials if present"),
        )
        .arg(Arg::new("access-key-id").long("access-key-id").global(true).env("DUALSEC_ACCESS_KEY_ID").hide(true))
        .arg(
            Arg::new("access-key-secret")
                .long("access-key-secret")
                .global(true)
                .env("DUALSEC_ACCESS_KEY_SECRET")
                .hide_env_values(true)
                .hide(true),
        )
        .arg(Arg::new("region").long("region").global(true).env("DUALSEC_REGION").help("RegionId (default: from the credentials file, else `local`)"))
        .arg(
            Arg::new("output")
                .long("output")
                .short('o')
                .global(true)
                .value_parser(["table", "json"])
                .default_value("table")
                .help("Output format"),
        )
        .subcommand(
            Command::new("serve")
                .about("Run the gateway: API, store, background completion of accepted changes")
                .arg(Arg::new("data-dir").long("data-dir").required(true).value_parser(value_parser!(PathBuf)))
                .arg(
                    Arg::new("listen")
                        .long("listen")
                        .default_value("127.0.0.1:8080")
                        .value_parser(value_parser!(SocketAddr))
                        .help("API address; port 0 picks a free port (the bound address is printed)"),
                )
                .arg(
                    Arg::new("public-ip")
                        .long("public-ip")
                        .action(ArgAction::Append)
                        .value_name("ZONE=IP")
                        .help("A public IP of this host and its zone; give two zones for zone redundancy (R-HA-4). Default: zone-a=192.0.2.1 zone-b=192.0.2.2 (demo)"),
                )
                .arg(Arg::new("serve-region").long("region-id").default_value("local").help("The RegionId this gateway serves"))
                .arg(
                    Arg::new("completion-delay-ms")
                        .long("completion-delay-ms")
                        .default_value("1000")
                        .value_parser(value_parser!(u64))
                        .help("How long an accepted connection change stays `updating`"),
                )
                .arg(
                    Arg::new("tun")
                        .long("tun")
                        .default_value("dsec0")
                        .help("VPC-side TUN device the engine creates; route VPC-bound traffic from the VPC into it"),
                )
                .arg(
                    Arg::new("vpc-netns")
                        .long("vpc-netns")
                        .value_name("NAME")
                        .requires("vpc-next-hop")
                        .help("Network namespace whose routing table is the VPC's: published routes (PublishVpnRouteEntry) are written there"),
                )
                .arg(
                    Arg::new("vpc-next-hop")
                        .long("vpc-next-hop")
                        .value_name("IP")
                        .requires("vpc-netns")
                        .value_parser(value_parser!(std::net::Ipv4Addr))
                        .help("This gateway's address as seen from --vpc-netns: the next hop of published routes"),
                )
                .arg(
                    Arg::new("probe-interval-ms")
                        .long("probe-interval-ms")
                        .value_parser(value_parser!(u64).range(10..=60_000))
                        .default_value("200")
                        .help("Failover: a liveness probe on each tunnel every N ms (issue 6)"),
                )
                .arg(
                    Arg::new("probe-multiplier")
                        .long("probe-multiplier")
                        .value_parser(value_parser!(u32).range(1..=100))
                        .default_value("3")
                        .help("Failover: a tunnel is down after this many probe intervals without an answer"),
                )
                .arg(
                    Arg::new("failback-hold-down-ms")
                        .long("failback-hold-down-ms")
                        .value_parser(value_parser!(u64).range(0..=3_600_000))
                        .default_value("3000")
                        .help("Failover: traffic returns to tunnel 1 after it has been healthy this long (doubled on flapping)"),
                )
                .arg(
                    Arg::new("bgp-max-prefixes")
                        .long("bgp-max-prefixes")
                        .value_parser(value_parser!(u32).range(1..=100_000))
                        .default_value("50")
                        .help("BGP: most prefixes accepted per session; one more ends the session with a Cease (RFC 4486)"),
                )
                .arg(
                    Arg::new("no-engine")
                        .long("no-engine")
                        .action(ArgAction::SetTrue)
                        .help("Serve the API only: no tunnels, no data plane"),
                ),
        )
        .subcommands(cli::client_commands())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DUALSEC_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let matches = command().get_matches();
    let Some((name, sub)) = matches.subcommand() else {
        return ExitCode::FAILURE;
    };
    match name {
        "serve" => run_serve(sub),
        "actions" => {
            for a in dualsec_api::actions::ACTIONS {
                println!("{:<36} {}", a.name, a.summary);
            }
            ExitCode::SUCCESS
        }
        _ => run_client(name, sub, &matches),
    }
}

fn run_serve(m: &clap::ArgMatches) -> ExitCode {
    let mut public_ips = Vec::new();
    for s in m.get_many::<String>("public-ip").into_iter().flatten() {
        match serve::parse_public_ip(s) {
            Ok(x) => public_ips.push(x),
            Err(e) => {
                eprintln!("dualsec: --public-ip: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(data_dir), Some(listen)) = (
        m.get_one::<PathBuf>("data-dir"),
        m.get_one::<SocketAddr>("listen"),
    ) else {
        return ExitCode::from(2);
    };
    let mut opts = serve::ServeOptions {
        data_dir: data_dir.clone(),
        listen: *listen,
        public_ips,
        region: m
            .get_one::<String>("serve-region")
            .cloned()
            .unwrap_or_else(|| "local".into()),
        completion_delay: Duration::from_millis(
            m.get_one::<u64>("completion-delay-ms")
                .copied()
                .unwrap_or(1000),
        ),
        import_key: match (
            m.get_one::<String>("access-key-id"),
            m.get_one::<String>("access-key-secret"),
        ) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            _ => None,
        },
        engine_tun: if m.get_flag("no-engine") {
            None
        } else {
            m.get_one::<String>("tun").cloned()
        },
        publish: match (
            m.get_one::<String>("vpc-netns"),
            m.get_one::<std::net::Ipv4Addr>("vpc-next-hop"),
        ) {
            (Some(netns), Some(next_hop)) => Some(dualsec_engine::publish::PublishTarget {
                netns: netns.clone(),
                next_hop: *next_hop,
            }),
            _ => None,
        },
        ha: {
            let d = dualsec_engine::HaConfig::default();
            let ms = |k: &str, dflt: Duration| {
                m.get_one::<u64>(k)
                    .map(|v| Duration::from_millis(*v))
                    .unwrap_or(dflt)
            };
            let hold_down = ms("failback-hold-down-ms", d.hold_down);
            dualsec_engine::HaConfig {
                probe_interval: ms("probe-interval-ms", d.probe_interval),
                multiplier: m
                    .get_one::<u32>("probe-multiplier")
                    .copied()
                    .unwrap_or(d.multiplier),
                hold_down,
                hold_down_max: d.hold_down_max.max(hold_down),
                ..d
            }
        },
        bgp: dualsec_engine::bgp_session::BgpSessionsConfig::default(),
    };
    if let Some(n) = m.get_one::<u32>("bgp-max-prefixes") {
        opts.bgp.max_prefixes = *n;
    }
    if let Err(e) = opts.ha.validate() {
        eprintln!("dualsec serve: failover settings: {e}");
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dualsec: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve::serve(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dualsec: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_client(name: &str, sub: &clap::ArgMatches, top: &clap::ArgMatches) -> ExitCode {
    let inv = match cli::invocation(name, sub) {
        Ok(Some(i)) => i,
        Ok(None) => {
            eprintln!("dualsec: unknown command");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("dualsec: {e}");
            return ExitCode::from(2);
        }
    };
    // Global flags may be given before or after the subcommand.
    let get = |k: &str| {
        sub.get_one::<String>(k)
            .or_else(|| top.get_one::<String>(k))
            .cloned()
    };
    // Default: the credentials of a server started as in the README (`--data-dir /var/lib/dualsec`).
    let default_creds = PathBuf::from(DEFAULT_CREDENTIALS);
    let creds_path = sub
        .get_one::<PathBuf>("credentials")
        .or_else(|| top.get_one::<PathBuf>("credentials"))
        .or_else(|| default_creds.exists().then_some(&default_creds));
    let file: BTreeMap<String, String> = match creds_path {
        Some(p) => match client::read_credentials_file(p) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("dualsec: {e}");
                return ExitCode::from(2);
            }
        },
        None => BTreeMap::new(),
    };
    let pick = |flag: &str, key: &str| get(flag).or_else(|| file.get(key).cloned());
    let (Some(id), Some(secret)) = (
        pick("access-key-id", "access_key_id"),
        pick("access-key-secret", "access_key_secret"),
    ) else {
        eprintln!(
            "dualsec: no credentials: pass --credentials DATA_DIR/credentials or set DUALSEC_ACCESS_KEY_ID and DUALSEC_ACCESS_KEY_SECRET"
        );
        return ExitCode::from(2);
    };
    let creds = client::Credentials {
        endpoint: pick("endpoint", "endpoint").unwrap_or_else(|| "127.0.0.1:8080".into()),
        access_key_id: id,
        access_key_secret: secret,
    };
    let mut params = inv.params;
    params
        .entry("RegionId".into())
        .or_insert_with(|| pick("region", "region").unwrap_or_else(|| "local".into()));
    let json_out = get("output").as_deref() == Some("json");
    if name == "peer-config"
        && sub.get_one::<String>("format").map(String::as_str) == Some("swanctl")
    {
        return peer_config_swanctl(&creds, &params);
    }
    if name == "peer-config" {
        if let Some(f @ ("bird" | "frr")) = sub.get_one::<String>("format").map(String::as_str) {
            return peer_config_bgp(&creds, &params, f);
        }
    }
    match client::call(&creds, &inv.action, &params) {
        Ok(v) => {
            if json_out {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                print!("{}", cli::render_table(&v, inv.columns));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dualsec: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `dualsec peer-config ID --format swanctl`: DownloadVpnConnectionConfig (the customer's
/// mirrored view) and DescribeVpnConnection (DPD, name) rendered by
/// `dualsec_api::peer_config::swanctl`.
fn peer_config_swanctl(creds: &client::Credentials, params: &BTreeMap<String, String>) -> ExitCode {
    let rendered = client::call(creds, "DownloadVpnConnectionConfig", params)
        .and_then(|d| Ok((d, client::call(creds, "DescribeVpnConnection", params)?)))
        .map_err(|e| e.to_string())
        .and_then(|(download, describe)| {
            dualsec_api::peer_config::PeerConfig::from_api(&download, &describe)
                .and_then(|c| dualsec_api::peer_config::swanctl(&c))
                .map_err(|e| e.to_string())
        });
    match rendered {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dualsec: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `dualsec peer-config ID --format bird|frr`: the customer's BGP section
/// (`dualsec_api::peer_config::bird` / `frr`) from DownloadVpnConnectionConfig. The customer
/// gateway's AuthKey is never returned by the API: add it by hand (the file says where).
fn peer_config_bgp(
    creds: &client::Credentials,
    params: &BTreeMap<String, String>,
    format: &str,
) -> ExitCode {
    use dualsec_api::peer_config::{bird, frr};
    let id = params.get("VpnConnectionId").cloned().unwrap_or_default();
    let rendered = client::call(creds, "DownloadVpnConnectionConfig", params)
        .map_err(|e| e.to_string())
        .and_then(|download| {
            bird::BgpPeering::from_download(&download, &id, None)
                .and_then(|p| {
                    if format == "frr" {
                        frr::frr(&p)
                    } else {
                        bird::bird(&p)
                    }
                })
                .map_err(|e| e.to_string())
        });
    match rendered {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dualsec: {e}");
            ExitCode::FAILURE
        }
    }
}
