//! `dualsec serve`: the store, the first access key, the public-IP pool, the API, and the
//! background completion of accepted changes.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dualsec_control::model::AccessKey;
use dualsec_control::{Completion, Control, ControlConfig, SqliteStore, SystemClock, ZoneId};

/// Public IPs used when no `--public-ip` is given: one per zone from TEST-NET-1 (RFC 5737), so a
/// single-host demo works out of the box and nothing real is claimed.
pub const DEMO_PUBLIC_IPS: [(&str, Ipv4Addr); 2] = [
    ("zone-a", Ipv4Addr::new(192, 0, 2, 1)),
    ("zone-b", Ipv4Addr::new(192, 0, 2, 2)),
];

/// Store file inside the data directory.
pub const STORE_FILE: &str = "dualsec.db";
/// Credentials file inside the data directory (mode 0600).
pub const CREDENTIALS_FILE: &str = "credentials";

/// Options of `dualsec serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Data directory (created 0700 if missing).
    pub data_dir: PathBuf,
    /// API listen address (`127.0.0.1:0` picks a free port; the bound address is printed).
    pub listen: SocketAddr,
    /// `ZONE=IP` entries of the public-IP pool.
    pub public_ips: Vec<(ZoneId, Ipv4Addr)>,
    /// The region served (`RegionId`).
    pub region: String,
    /// How long an accepted change stays `updating` before the background tick completes it.
    pub completion_delay: Duration,
    /// An operator-supplied access key to store (id, secret), e.g. for CI.
    pub import_key: Option<(String, String)>,
    /// Run the engine (tunnels, data plane) with this VPC-side TUN device name; `None` serves
    /// the API alone (`--no-engine`).
    pub engine_tun: Option<String>,
    /// Where published routes go (`--vpc-netns`, `--vpc-next-hop`; issue 7).
    pub publish: Option<dualsec_engine::publish::PublishTarget>,
    /// Failover tuning (issue 6): probe interval, multiplier, failback hold-down.
    pub ha: dualsec_engine::HaConfig,
    /// BGP session settings (`--bgp-max-prefixes`).
    pub bgp: dualsec_engine::bgp_session::BgpSessionsConfig,
}

/// Parses `zone-a=192.0.2.1`.
pub fn parse_public_ip(s: &str) -> Result<(ZoneId, Ipv4Addr), String> {
    let (zone, ip) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ZONE=IP, got {s:?}"))?;
    let ip: Ipv4Addr = ip
        .trim()
        .parse()
        .map_err(|_| format!("{ip:?} is not an IPv4 address"))?;
    Ok((ZoneId(zone.trim().to_owned()), ip))
}

fn write_credentials(
    path: &Path,
    key: &AccessKey,
    endpoint: &str,
    region: &str,
) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only on creation; make an existing file private too.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    writeln!(
        f,
        "# dualsec API credentials, written on first start. Keep private."
    )?;
    writeln!(f, "access_key_id = {}", key.id)?;
    writeln!(f, "access_key_secret = {}", key.secret)?;
    writeln!(f, "endpoint = {endpoint}")?;
    writeln!(f, "region = {region}")?;
    f.sync_all()
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn serve(opts: ServeOptions) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&opts.data_dir)
        .map_err(|e| {
            format!(
                "cannot create data directory {}: {e}",
                opts.data_dir.display()
            )
        })?;
    let store = SqliteStore::open(opts.data_dir.join(STORE_FILE)).map_err(|e| {
        format!(
            "cannot open the store in {}: {e:?}",
            opts.data_dir.display()
        )
    })?;
    let control = Arc::new(Control::new(
        Arc::new(store),
        Arc::new(SystemClock),
        Box::new(rand_core::OsRng),
        ControlConfig {
            region_id: opts.region.clone(),
            completion: Completion::AfterDelay(opts.completion_delay),
            ..ControlConfig::default()
        },
    ));

    let pool: Vec<(ZoneId, Ipv4Addr)> = if opts.public_ips.is_empty() {
        println!(
            "dualsec: no --public-ip given; using the demo pool zone-a=192.0.2.1 zone-b=192.0.2.2"
        );
        DEMO_PUBLIC_IPS
            .iter()
            .map(|(z, ip)| (ZoneId((*z).to_owned()), *ip))
            .collect()
    } else {
        opts.public_ips.clone()
    };
    let report = control
        .configure_public_ip_pool(&pool)
        .map_err(|e| format!("public-IP pool: {}", e.message()))?;
    for (ip, gw) in &report.still_allocated {
        eprintln!(
            "dualsec: warning: {ip} is no longer configured but still used by {gw}; it stays allocated"
        );
    }

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let client_host = if bound.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), bound.port())
    } else {
        bound
    };
    let endpoint = format!("http://{client_host}");

    let creds_path = opts.data_dir.join(CREDENTIALS_FILE);
    if let Some(key) = control
        .bootstrap_access_key()
        .map_err(|e| format!("access key: {}", e.message()))?
    {
        write_credentials(&creds_path, &key, &endpoint, &opts.region)
            .map_err(|e| format!("cannot write {}: {e}", creds_path.display()))?;
        println!(
            "dualsec: created the first access key; credentials written to {}",
            creds_path.display()
        );
    } else if creds_path.exists() {
        println!(
            "dualsec: access keys exist; credentials file: {}",
            creds_path.display()
        );
    } else {
        println!(
            "dualsec: access keys exist but {} is missing; to add a known key, start serve with DUALSEC_ACCESS_KEY_ID and DUALSEC_ACCESS_KEY_SECRET set",
            creds_path.display()
        );
    }

    // After the bootstrap, so that a first start still writes the credentials file.
    if let Some((id, secret)) = &opts.import_key {
        control
            .import_access_key(id, secret)
            .map_err(|e| format!("importing the access key: {}", e.message()))?;
        println!(
            "dualsec: access key {id} (from DUALSEC_ACCESS_KEY_ID/DUALSEC_ACCESS_KEY_SECRET) is valid"
        );
    }

    let background = tokio::spawn(complete_accepted_changes(control.clone()));
    // The engine runs on its own thread; the API keeps serving when its data plane cannot start
    // (it then reports why as every tunnel's last error).
    let engine = opts.engine_tun.as_ref().map(|tun| {
        start_engine(
            control.clone(),
            &pool,
            tun,
            opts.publish.clone(),
            opts.ha.clone(),
            opts.bgp.clone(),
        )
    });

    println!(
        "dualsec: API listening on {endpoint} (region {})",
        opts.region
    );
    let app = dualsec_api::app(dualsec_api::AppState::new(control));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    background.abort();
    if let Some(engine) = engine {
        // Deletes every tunnel (IKE DELETE to each peer) and removes kernel routes.
        let _ = tokio::task::spawn_blocking(move || engine.stop()).await;
    }
    served.map_err(|e| format!("server error: {e}"))
}

/// Starts the engine on the pool's public IPs that are configured on this host. When none is,
/// it gets all of them so that its data plane fails to bind and says so.
fn start_engine(
    control: Arc<Control>,
    pool: &[(ZoneId, Ipv4Addr)],
    tun: &str,
    publish: Option<dualsec_engine::publish::PublishTarget>,
    ha: dualsec_engine::HaConfig,
    bgp: dualsec_engine::bgp_session::BgpSessionsConfig,
) -> dualsec_engine::Engine {
    let all: Vec<IpAddr> = pool.iter().map(|(_, ip)| IpAddr::V4(*ip)).collect();
    // Binding an ephemeral port succeeds only for an address of a local interface.
    let local: Vec<IpAddr> = all
        .iter()
        .copied()
        .filter(|ip| std::net::UdpSocket::bind(SocketAddr::new(*ip, 0)).is_ok())
        .collect();
    for ip in all.iter().filter(|ip| !local.contains(ip)) {
        eprintln!(
            "dualsec: warning: public IP {ip} is not configured on this host; its tunnels do not run here"
        );
    }
    let node_ips = if local.is_empty() { all } else { local };
    let engine = dualsec_engine::Engine::start(
        control,
        dualsec_engine::EngineConfig {
            publish,
            ha,
            bgp,
            ..dualsec_engine::EngineConfig::new(node_ips.clone(), tun)
        },
    );
    match engine.degraded() {
        None => println!(
            "dualsec: engine running: IKE/ESP on {node_ips:?} UDP 500/4500, VPC side on {tun}"
        ),
        Some(why) => eprintln!("dualsec: warning: engine degraded: {why}"),
    }
    engine
}

/// How long connection log events (negotiations, SA changes, failover switches) are kept.
const EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Background housekeeping, every 100 ms: accepted changes are marked done once they are
/// `completion_delay` old (gateway `updating` → `active`, api-reference §5.2; the engine
/// reconciles desired state on its own thread and does not gate completion). Once a minute,
/// expired `ClientToken`s and log events older than [`EVENT_RETENTION`] are deleted so the
/// store does not grow without bound.
async fn complete_accepted_changes(control: Arc<Control>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n = n.wrapping_add(1);
        let c = control.clone();
        let expire = n % 600 == 0;
        let r = tokio::task::spawn_blocking(move || {
            c.complete_due_operations()?;
            if expire {
                c.expire_client_tokens()?;
                c.prune_events(EVENT_RETENTION)?;
            }
            Ok::<_, dualsec_control::ControlError>(())
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = ?e, "completing accepted changes failed; will retry")
            }
            Err(e) => tracing::error!("completion task failed: {e}"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
