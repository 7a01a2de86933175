//! Store and service semantics: durability (reopen, SIGKILL), migrations, concurrent writers,
//! async completion (api-reference §5.2), ClientToken idempotency, DryRun, observed state,
//! access keys, routes.

#![allow(clippy::unwrap_used)] // tests: failures should panic

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use dualsec_control::model::TunnelIndex;
use dualsec_control::requests::*;
use dualsec_control::store::sqlite::MIGRATIONS;
use dualsec_control::values::*;
use dualsec_control::*;

fn file_store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Durability and schema

#[test]
fn reopen_after_drop_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (conn_id, gw, view_before, key) = {
        let fx = fixture_with(file_store(&dir), Completion::AfterDelay(DELAY));
        let mut req = conn_req(&fx, "198.18.0.0/16", "198.19.0.0/16");
        req.enable_tunnels_bgp = Some(true);
        req.tunnels[0].bgp = bgp("169.254.10.0/30", "169.254.10.1");
        req.tunnels[1].bgp = bgp("169.254.20.0/30", "169.254.20.1");
        req.client_token = Some("tok-durable".into());
        let v = fx.create(&req);
        fx.control
            .update_tunnel_observed(&v.tunnels[0].tunnel.id, |o| {
                o.status = NegotiationStatus::IpsecSaEstablished;
                o.counters.bytes_in = 1234;
            })
            .unwrap();
        fx.control
            .set_carrying_tunnel(&v.connection.id, Some(TunnelIndex::One))
            .unwrap();
        // Issue 7: a BGP-learned route in tunnel 1's observed state.
        fx.control
            .update_tunnel_observed(&v.tunnels[0].tunnel.id, |o| {
                o.bgp_status = Some(BgpStatus::Success);
                o.bgp_routes = vec![dualsec_control::model::BgpLearnedRoute {
                    route_dest: "198.19.0.0/24".parse().unwrap(),
                    next_hop_ip: "169.254.10.2".parse().unwrap(),
                    as_path: vec![65010],
                    communities: vec![(65010 << 16) | 42],
                    med: Some(5),
                    learned_ms: 77,
                }];
            })
            .unwrap();
        fx.control
            .create_vpn_route_entry(&CreateVpnRouteEntryRequest {
                client_token: None,
                dry_run: false,
                vpn_gateway_id: fx.gw.clone(),
                route_dest: "198.19.7.0/24".parse().unwrap(),
                next_hop: v.connection.id.clone(),
                weight: 100,
                publish_vpc: true,
                description: None,
                overlay_mode: None,
            })
            .unwrap();
        let key = fx.control.create_access_key().unwrap();
        let view = fx
            .control
            .describe_vpn_connection(&v.connection.id)
            .unwrap();
        (v.connection.id, fx.gw.clone(), view, key)
    };
    // Tunnel 2's record as a dualsec before issue 7 wrote it (no `bgp_routes` key): reads as
    // no learned routes.
    {
        let c = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
        let n = c
            .execute(
                "UPDATE tunnel_observed SET doc = json_remove(doc, '$.bgp_routes') WHERE tunnel_id = ?1",
                [view_before.tunnels[1].tunnel.id.as_str()],
            )
            .unwrap();
        assert_eq!(n, 1);
        let doc: String = c
            .query_row(
                "SELECT doc FROM tunnel_observed WHERE tunnel_id = ?1",
                [view_before.tunnels[1].tunnel.id.as_str()],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!doc.contains("bgp_routes"), "{doc}");
    }
    // Everything is back after reopening the file.
    let (control, _clock) = control_over(file_store(&dir), Completion::AfterDelay(DELAY), 7);
    let after = control.describe_vpn_connection(&conn_id).unwrap();
    assert_eq!(after, view_before);
    assert_eq!(after.tunnels[0].observed.counters.bytes_in, 1234);
    assert!(after.tunnels[0].observed.carries_traffic);
    assert_eq!(after.status, NegotiationStatus::IpsecSaEstablished);
    assert_eq!(control.access_key(&key.id).unwrap(), Some(key));
    let routes = control
        .describe_vpn_route_entries(&DescribeVpnRouteEntriesRequest {
            vpn_gateway_id: gw.clone(),
            route_entry_type: None,
            page: PageRequest::default(),
        })
        .unwrap();
    let RouteEntriesPage::Custom(routes) = routes else {
        panic!("custom routes expected: {routes:?}");
    };
    assert_eq!(routes.total_count, 1);
    assert_eq!(routes.items[0].state, RouteState::Published);
    let learned = control
        .describe_vpn_route_entries(&DescribeVpnRouteEntriesRequest {
            vpn_gateway_id: gw.clone(),
            route_entry_type: Some(RouteEntryType::Bgp),
            page: PageRequest::default(),
        })
        .unwrap();
    let RouteEntriesPage::Bgp(learned) = learned else {
        panic!("bgp routes expected: {learned:?}");
    };
    assert_eq!(learned.total_count, 1);
    assert_eq!(learned.items[0].route.as_path_text(), "[65010]");
    assert_eq!(learned.items[0].route.community_text(), "65010:42");
    assert_eq!(learned.items[0].tunnel_id, after.tunnels[0].tunnel.id);
    assert_eq!(
        control
            .public_ip_pool()
            .unwrap()
            .iter()
            .filter(|a| a.allocated_to.is_some())
            .count(),
        2
    );
    // The ClientToken is remembered across restarts: replay gives the same connection.
    let g = control.describe_vpn_gateway(&gw).unwrap();
    assert_eq!(g.gateway.status, GatewayStatus::Active);
}

/// Issue 6: failover counters and the last switch are observed state kept in SQLite; a restarted
/// `dualsec serve` adds to them. Deleting the connection removes them.
#[test]
fn failover_counters_survive_reopen_and_go_with_the_connection() {
    use dualsec_control::model::{ConnectionRedundancy, SwitchKind, SwitchRecord};
    let dir = tempfile::tempdir().unwrap();
    let switch = SwitchRecord {
        time_ms: 42,
        kind: SwitchKind::Failover,
        from: TunnelIndex::One,
        to: TunnelIndex::Two,
        reason: "tunnel 1: 3 probes lost in 600 ms".into(),
        outage_ms: Some(600),
    };
    let conn_id = {
        let fx = fixture_with(file_store(&dir), Completion::AfterDelay(DELAY));
        let v = fx.create(&conn_req(&fx, "198.18.0.0/16", "198.19.0.0/16"));
        fx.control
            .set_connection_redundancy(&v.connection.id, ConnectionRedundancy::LinkRedundancyOnly)
            .unwrap();
        fx.control
            .record_switch(&v.connection.id, switch.clone())
            .unwrap();
        v.connection.id
    };
    let (control, _clock) = control_over(file_store(&dir), Completion::AfterDelay(DELAY), 7);
    let f = control.describe_vpn_connection(&conn_id).unwrap().failover;
    assert_eq!(f.observed.failover_count, 1);
    assert_eq!(f.observed.total_outage_ms, 600);
    assert_eq!(f.observed.last_switch.as_ref(), Some(&switch));
    assert_eq!(f.redundancy, ConnectionRedundancy::LinkRedundancyOnly);
    // The restarted engine counts on.
    let o = control.record_switch(&conn_id, switch).unwrap();
    assert_eq!((o.failover_count, o.total_outage_ms), (2, 1200));
    // Gone with the connection (the table is empty afterwards).
    control.delete_vpn_connection(None, &conn_id).unwrap();
    let c = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM connection_failover", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn migrations_apply_at_open_from_any_older_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A store written by a dualsec that knew only migration 1.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.execute_batch("PRAGMA user_version = 1").unwrap();
        c.execute(
            "INSERT INTO access_keys (id, create_ms, doc) VALUES ('LTAIold', 1, ?1)",
            [r#"{"id":"LTAIold","secret":"s3cret","create_time_ms":1}"#],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap() as usize, MIGRATIONS.len());
    let (control, _) = control_over(Arc::new(store), Completion::AfterDelay(DELAY), 1);
    assert_eq!(
        control.access_key("LTAIold").unwrap().unwrap().secret,
        "s3cret"
    );
    // The index from migration 2 exists.
    let c = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'connections_by_gateway'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_store_from_a_newer_dualsec_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
    }
    let e = SqliteStore::open(&path).unwrap_err();
    assert_eq!(e.code(), "InternalError");
    assert!(format!("{e:?}").contains("newer than this dualsec supports"));
}

#[cfg(unix)]
#[test]
fn the_store_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let s = file_store(&dir);
    let mode = std::fs::metadata(s.path().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    // The WAL holds PSKs too before a checkpoint: SQLite gives it the database file's mode.
    let (control, _) = control_over(s.clone(), Completion::AfterDelay(DELAY), 3);
    control.create_access_key().unwrap();
    let wal = dir.path().join("state.db-wal");
    let mode = std::fs::metadata(&wal).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "wal mode {mode:o}");
}

const SIGKILL_ENV: &str = "DUALSEC_CONTROL_SIGKILL_CHILD_DB";

/// Child half of `acknowledged_writes_survive_sigkill`: writes access keys forever, printing
/// `ACK <id>` after each write returned. Does nothing unless the parent set the env variable.
#[test]
#[ignore = "helper process for acknowledged_writes_survive_sigkill"]
fn sigkill_child() {
    let Ok(path) = std::env::var(SIGKILL_ENV) else {
        return;
    };
    let (control, _) = control_over(
        Arc::new(SqliteStore::open(path).unwrap()),
        Completion::AfterDelay(DELAY),
        99,
    );
    for _ in 0..1_000_000 {
        let k = control.create_access_key().unwrap();
        println!("ACK {}", k.id);
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkill_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SIGKILL_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.to_owned());
        }
        if acked.len() >= 40 || Instant::now() > deadline {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructors, no checkpoint
    child.wait().unwrap();
    assert!(
        acked.len() >= 40,
        "child acknowledged only {} writes",
        acked.len()
    );
    let (control, _) = control_over(
        Arc::new(SqliteStore::open(&path).unwrap()),
        Completion::AfterDelay(DELAY),
        5,
    );
    for id in &acked {
        assert!(
            control.access_key(id).unwrap().is_some(),
            "acknowledged key {id} lost"
        );
    }
    let c = rusqlite::Connection::open(&path).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

// ---------------------------------------------------------------------------------------------
// Concurrency

fn race_creates(
    controls: &[Arc<Control>],
    fx_req: &CreateVpnConnectionRequest,
    per: usize,
) -> Vec<Result<VpnConnectionView>> {
    let n = controls.len() * per;
    let barrier = Arc::new(Barrier::new(n));
    let mut handles = Vec::new();
    for c in controls {
        for _ in 0..per {
            let c = c.clone();
            let b = barrier.clone();
            let req = fx_req.clone();
            handles.push(std::thread::spawn(move || {
                b.wait();
                c.create_vpn_connection(&req)
            }));
        }
    }
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn concurrent_writers_get_configuring_or_succeed_never_a_corrupt_record() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    let cgws: Vec<_> = (1..=4)
        .map(|i| fx.new_cgw(&format!("203.0.113.{}", 100 + i)))
        .collect();
    let control = Arc::new(fx.control);
    for round in 1..=4 {
        Fx::with_cgw(&mut req, &cgws[round as usize - 1]);
        let results = race_creates(std::slice::from_ref(&control), &req, 8);
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: exactly one writer wins");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code(), "VpnGateway.Configuring");
            assert_eq!(r.http_status(), 400);
        }
        fx.clock.advance(DELAY);
        control.complete_due_operations().unwrap();
        let page = control
            .describe_vpn_connections(&DescribeVpnConnectionsRequest {
                vpn_gateway_id: Some(fx.gw.clone()),
                page: PageRequest {
                    page_number: None,
                    page_size: Some(50),
                },
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page.total_count, round);
        assert!(
            page.items
                .iter()
                .all(|v| v.connection.state == ConnectionState::Active)
        );
    }
}

#[test]
fn concurrent_writers_in_two_processes_sharing_a_file() {
    // Two stores on the same file behave like two server processes.
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture_with(file_store(&dir), Completion::AfterDelay(DELAY));
    let (other, other_clock) = control_over(file_store(&dir), Completion::AfterDelay(DELAY), 4242);
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    let cgws: Vec<_> = (1..=3)
        .map(|i| fx.new_cgw(&format!("203.0.113.{}", 100 + i)))
        .collect();
    let a = Arc::new(fx.control);
    let b = Arc::new(other);
    for round in 1..=3 {
        Fx::with_cgw(&mut req, &cgws[round as usize - 1]);
        let results = race_creates(&[a.clone(), b.clone()], &req, 4);
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}");
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| e.code() == "VpnGateway.Configuring")
        );
        fx.clock.advance(DELAY);
        other_clock.advance(DELAY);
        b.complete_due_operations().unwrap();
        assert_eq!(
            a.describe_vpn_gateway(&fx.gw).unwrap().connection_count,
            round
        );
    }
    let c = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

// ---------------------------------------------------------------------------------------------
// Async semantics (api-reference §5.2, §8 item 9)

#[test]
fn gateway_status_goes_updating_then_active() {
    let fx = fixture();
    let v = fx
        .control
        .create_vpn_connection(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"))
        .unwrap();
    assert_eq!(v.connection.state, ConnectionState::Init);
    let g = fx.control.describe_vpn_gateway(&fx.gw).unwrap();
    assert_eq!(g.gateway.status, GatewayStatus::Updating);
    assert_eq!(g.pending.as_ref().unwrap().connection_id, v.connection.id);
    // Busy: other connection changes on this gateway are refused.
    assert_err(
        fx.control
            .create_vpn_connection(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0")),
        "VpnGateway.Configuring",
        &[fx.gw.as_str()],
    );
    assert_err(
        fx.control
            .modify_vpn_connection_attribute(&modify_req(&v.connection.id)),
        "VpnGateway.Configuring",
        &[],
    );
    assert_err(
        fx.control.delete_vpn_connection(None, &v.connection.id),
        "VpnGateway.Configuring",
        &[],
    );
    // Not due yet.
    fx.clock.advance(Duration::from_millis(500));
    assert!(fx.control.complete_due_operations().unwrap().is_empty());
    assert_eq!(
        fx.control
            .describe_vpn_gateway(&fx.gw)
            .unwrap()
            .gateway
            .status,
        GatewayStatus::Updating
    );
    fx.clock.advance(Duration::from_millis(500));
    assert_eq!(fx.control.complete_due_operations().unwrap().len(), 1);
    let g = fx.control.describe_vpn_gateway(&fx.gw).unwrap();
    assert_eq!(g.gateway.status, GatewayStatus::Active);
    assert!(g.pending.is_none());
    let v = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    assert_eq!(v.connection.state, ConnectionState::Active);
    assert!(
        v.tunnels
            .iter()
            .all(|t| t.tunnel.state == TunnelState::Active)
    );
    // Modify: updating then active again.
    let m = fx
        .control
        .modify_vpn_connection_attribute(&modify_req(&v.connection.id))
        .unwrap();
    assert_eq!(m.connection.state, ConnectionState::Updating);
    fx.settle();
    assert_eq!(
        fx.control
            .describe_vpn_connection(&v.connection.id)
            .unwrap()
            .connection
            .state,
        ConnectionState::Active
    );
}

#[test]
fn external_completion_waits_for_the_engine() {
    let fx = fixture_with(
        Arc::new(SqliteStore::open_in_memory().unwrap()),
        Completion::External,
    );
    let v = fx
        .control
        .create_vpn_connection(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"))
        .unwrap();
    fx.clock.advance(Duration::from_secs(3600));
    assert!(fx.control.complete_due_operations().unwrap().is_empty());
    assert_eq!(fx.control.pending_operations().unwrap().len(), 1);
    let op = fx.control.complete_operation(&fx.gw).unwrap().unwrap();
    assert_eq!(op.connection_id, v.connection.id);
    assert_eq!(
        fx.control
            .describe_vpn_gateway(&fx.gw)
            .unwrap()
            .gateway
            .status,
        GatewayStatus::Active
    );
    assert!(fx.control.complete_operation(&fx.gw).unwrap().is_none());
}

// ---------------------------------------------------------------------------------------------
// ClientToken and DryRun

#[test]
fn client_token_same_request_same_result_no_second_resource() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.client_token = Some("02fb3da4-130e-11e9-8e44-001".into());
    let first = fx.control.create_vpn_connection(&req).unwrap();
    // The replay answers from the token even though the gateway is busy.
    let again = fx.control.create_vpn_connection(&req).unwrap();
    assert_eq!(first, again);
    fx.settle();
    let again = fx.control.create_vpn_connection(&req).unwrap();
    assert_eq!(again.connection.id, first.connection.id);
    let all = fx
        .control
        .describe_vpn_connections(&DescribeVpnConnectionsRequest::default())
        .unwrap();
    assert_eq!(all.total_count, 1);
    // Same token, different parameters.
    let mut other = req.clone();
    other.name = Some("different".into());
    assert_err(
        fx.control.create_vpn_connection(&other),
        "IdempotentParameterMismatch",
        &["02fb3da4-130e-11e9-8e44-001"],
    );
    // Same token on another action is independent.
    let mut cg = cgw_req("203.0.113.77", None);
    cg.client_token = req.client_token.clone();
    let c1 = fx.control.create_customer_gateway(&cg).unwrap();
    let c2 = fx.control.create_customer_gateway(&cg).unwrap();
    assert_eq!(c1.id, c2.id);
    // A failed request is not remembered.
    let mut bad = cgw_req("127.0.0.1", None);
    bad.client_token = Some("tok-retry".into());
    assert!(fx.control.create_customer_gateway(&bad).is_err());
    let mut good = cgw_req("203.0.113.78", None);
    good.client_token = Some("tok-retry".into());
    assert!(fx.control.create_customer_gateway(&good).is_ok());
    // Bad tokens.
    let mut long = cgw_req("203.0.113.79", None);
    long.client_token = Some("x".repeat(65));
    assert_err(
        fx.control.create_customer_gateway(&long),
        "IllegalParam.ClientToken",
        &["64"],
    );
}

#[test]
fn client_tokens_expire() {
    let fx = fixture();
    let mut cg = cgw_req("203.0.113.77", None);
    cg.client_token = Some("tok".into());
    let c1 = fx.control.create_customer_gateway(&cg).unwrap();
    fx.clock.advance(Duration::from_secs(25 * 3600));
    fx.control.expire_client_tokens().unwrap();
    // Forgotten: the replay is a new request (refused here because the IP is taken).
    assert_err(
        fx.control.create_customer_gateway(&cg),
        "InvalidIpAddress.AlreadyExist",
        &[c1.id.as_str()],
    );
}

#[test]
fn dry_run_validates_and_writes_nothing() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.dry_run = true;
    let e = assert_err(
        fx.control.create_vpn_connection(&req),
        "DryRunOperation",
        &["DryRun"],
    );
    assert_eq!(e.http_status(), 400);
    assert_eq!(
        fx.control
            .describe_vpn_connections(&DescribeVpnConnectionsRequest::default())
            .unwrap()
            .total_count,
        0
    );
    assert_eq!(
        fx.control
            .describe_vpn_gateway(&fx.gw)
            .unwrap()
            .gateway
            .status,
        GatewayStatus::Active
    );
    // A dry run of an invalid request reports the real error.
    req.tunnels[0].ike.ike_lifetime = Some(86401);
    assert_err(
        fx.control.create_vpn_connection(&req),
        "IllegalParam.IkeLifetime",
        &[],
    );
    // Checks that need the store run too.
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.dry_run = true;
    req.tunnels[0].customer_gateway_id = Some("cgw-ghost".parse().unwrap());
    assert_err(
        fx.control.create_vpn_connection(&req),
        "InvalidCustomerGatewayInstanceId.NotFound",
        &[],
    );
}

// ---------------------------------------------------------------------------------------------
// Observed state

#[test]
fn observed_state_starts_not_established_and_follows_the_engine() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    for t in &v.tunnels {
        assert_eq!(t.observed.status, NegotiationStatus::IkeSaNotEstablished);
        assert!(!t.observed.carries_traffic);
        assert!(t.observed.last_error.is_none());
    }
    assert_eq!(v.status, NegotiationStatus::IkeSaNotEstablished);
    let [t1, t2] = [
        v.tunnels[0].tunnel.id.clone(),
        v.tunnels[1].tunnel.id.clone(),
    ];
    fx.control
        .update_tunnel_observed(&t1, |o| {
            o.last_error = Some(dualsec_control::model::NegotiationFailure::PskMismatch);
        })
        .unwrap();
    fx.control
        .update_tunnel_observed(&t2, |o| o.status = NegotiationStatus::IpsecSaEstablished)
        .unwrap();
    // Failover to the backup (R-HA-3): the connection status follows the carrier.
    fx.control
        .set_carrying_tunnel(&v.connection.id, Some(TunnelIndex::Two))
        .unwrap();
    let now = fx
        .control
        .describe_vpn_connection(&v.connection.id)
        .unwrap();
    assert_eq!(now.status, NegotiationStatus::IpsecSaEstablished);
    assert!(now.tunnels[1].observed.carries_traffic);
    assert!(!now.tunnels[0].observed.carries_traffic);
    assert_eq!(
        now.tunnels[0].observed.last_error,
        Some(dualsec_control::model::NegotiationFailure::PskMismatch)
    );
    // The switch is in the log; a tunnel filter narrows it.
    fx.clock.advance(Duration::from_secs(1));
    let logs = fx
        .control
        .describe_vpn_connection_logs(&DescribeVpnConnectionLogsRequest {
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: Some(t2.clone()),
            from: None,
            to: None,
            minute_period: Some(10),
            page: PageRequest::default(),
        })
        .unwrap();
    assert_eq!(logs.page.total_count, 1);
    assert!(logs.page.items[0].message.contains("tunnel 2 (slave)"));
    assert!(logs.is_completed);
    assert_err(
        fx.control
            .describe_vpn_connection_logs(&DescribeVpnConnectionLogsRequest {
                vpn_connection_id: v.connection.id.clone(),
                tunnel_id: None,
                from: None,
                to: None,
                minute_period: Some(11),
                page: PageRequest::default(),
            }),
        "IllegalParam.MinutePeriod",
        &["1 to 10"],
    );
    // Unknown tunnel.
    assert_err(
        fx.control
            .update_tunnel_observed(&"tun-ghost".parse().unwrap(), |_| {}),
        "InvalidTunnelId.NotFound",
        &[],
    );
}

// ---------------------------------------------------------------------------------------------
// Access keys

#[test]
fn access_key_bootstrap_happens_once() {
    let fx = fixture();
    let k = fx
        .control
        .bootstrap_access_key()
        .unwrap()
        .expect("first start creates a key");
    assert!(k.id.starts_with("LTAI") && k.id.len() == 24);
    assert_eq!(k.secret.len(), 30);
    assert!(fx.control.bootstrap_access_key().unwrap().is_none());
    assert_eq!(fx.control.access_key(&k.id).unwrap(), Some(k.clone()));
    assert!(fx.control.access_key("LTAInope").unwrap().is_none());
    assert!(!format!("{k:?}").contains(&k.secret));
    let imported = fx.control.import_access_key("ci-key", "ci-secret").unwrap();
    assert_eq!(fx.control.access_key("ci-key").unwrap(), Some(imported));
    assert!(fx.control.import_access_key("bad key", "x").is_err());
}

// ---------------------------------------------------------------------------------------------
// Routes

#[test]
fn destination_routes_lifecycle() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let create = |dest: &str, weight: i64, dry_run: bool| {
        fx.control
            .create_vpn_route_entry(&CreateVpnRouteEntryRequest {
                client_token: None,
                dry_run,
                vpn_gateway_id: fx.gw.clone(),
                route_dest: dest.parse().unwrap(),
                next_hop: v.connection.id.clone(),
                weight,
                publish_vpc: false,
                description: Some("to the IDC".into()),
                overlay_mode: Some("Ipsec".into()),
            })
    };
    assert_err(create("198.19.0.0/16", 100, true), "DryRunOperation", &[]);
    let r = create("198.19.0.0/16", 100, false).unwrap();
    assert_eq!(r.state, RouteState::Normal);
    assert!(r.id.as_str().starts_with("vre-"));
    assert_err(
        create("198.19.0.0/16", 100, false),
        "InvalidVpnRouteEntry.AlreadyExists",
        &[],
    );
    assert_err(
        create("198.19.0.0/16", 50, false),
        "IllegalParam.Weight",
        &["0 (standby), 100 (active)"],
    );
    assert_err(
        create("198.19.0.1/16", 0, false),
        "IllegalParam.RouteDest",
        &["host bits"],
    );
    // Next hop on another gateway.
    let g2 = fx
        .control
        .create_vpn_gateway(&gateway_req())
        .unwrap()
        .gateway
        .id;
    let r2 = fx
        .control
        .create_vpn_route_entry(&CreateVpnRouteEntryRequest {
            client_token: None,
            dry_run: false,
            vpn_gateway_id: g2,
            route_dest: "198.19.0.0/16".parse().unwrap(),
            next_hop: v.connection.id.clone(),
            weight: 0,
            publish_vpc: false,
            description: None,
            overlay_mode: None,
        });
    assert_err(r2, "IllegalParam.NextHop", &[fx.gw.as_str()]);
    let m = fx
        .control
        .modify_vpn_route_entry_weight(&ModifyVpnRouteEntryWeightRequest {
            client_token: None,
            vpn_gateway_id: fx.gw.clone(),
            route_dest: "198.19.0.0/16".parse().unwrap(),
            next_hop: v.connection.id.clone(),
            weight: 100,
            new_weight: 0,
            overlay_mode: None,
        })
        .unwrap();
    assert_eq!(m.weight, RouteWeight::STANDBY);
    let del = |weight: i64| {
        fx.control
            .delete_vpn_route_entry(&DeleteVpnRouteEntryRequest {
                client_token: None,
                vpn_gateway_id: fx.gw.clone(),
                route_dest: "198.19.0.0/16".parse().unwrap(),
                next_hop: v.connection.id.clone(),
                weight,
                overlay_mode: None,
            })
    };
    assert_err(del(100), "IllegalParam.Weight", &["does not match"]);
    del(0).unwrap();
    assert_err(del(0), "InvalidVpnRouteEntry.NotFound", &[]);
}

#[test]
fn policy_routes_lifecycle() {
    let fx = fixture();
    let v = fx.create(&conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0"));
    let req = CreateVpnPbrRouteEntryRequest {
        client_token: None,
        dry_run: false,
        vpn_gateway_id: fx.gw.clone(),
        route_source: "198.18.1.0/24".parse().unwrap(),
        route_dest: "198.19.1.0/24".parse().unwrap(),
        next_hop: v.connection.id.clone(),
        weight: 100,
        priority: None,
        publish_vpc: true,
        description: None,
        overlay_mode: None,
    };
    let r = fx.control.create_vpn_pbr_route_entry(&req).unwrap();
    assert_eq!(r.priority, PbrPriority::DEFAULT);
    assert_eq!(r.state, RouteState::Published);
    assert_err(
        fx.control.create_vpn_pbr_route_entry(&req),
        "InvalidVpnPbrRouteEntry.AlreadyExists",
        &[],
    );
    let mut bad = req.clone();
    bad.priority = Some(101);
    assert_err(
        fx.control.create_vpn_pbr_route_entry(&bad),
        "IllegalParam.Priority",
        &["1 to 100"],
    );
    fx.control
        .publish_vpn_route_entry(&PublishVpnRouteEntryRequest {
            client_token: None,
            vpn_gateway_id: fx.gw.clone(),
            route_dest: "198.19.1.0/24".parse().unwrap(),
            next_hop: v.connection.id.clone(),
            route_type: RouteType::Pbr,
            publish_vpc: false,
        })
        .unwrap();
    let p = fx
        .control
        .describe_vpn_pbr_route_entries(&fx.gw, PageRequest::default())
        .unwrap();
    assert_eq!(p.items[0].state, RouteState::Normal);
    let del = DeleteVpnPbrRouteEntryRequest {
        client_token: None,
        vpn_gateway_id: fx.gw.clone(),
        route_source: req.route_source,
        route_dest: req.route_dest,
        next_hop: v.connection.id.clone(),
        weight: 100,
        priority: Some(11),
        overlay_mode: None,
    };
    assert_err(
        fx.control.delete_vpn_pbr_route_entry(&del),
        "IllegalParam.Priority",
        &["does not match"],
    );
    fx.control
        .delete_vpn_pbr_route_entry(&DeleteVpnPbrRouteEntryRequest {
            priority: Some(10),
            ..del
        })
        .unwrap();
    assert_eq!(
        fx.control
            .describe_vpn_pbr_route_entries(&fx.gw, PageRequest::default())
            .unwrap()
            .total_count,
        0
    );
}

#[test]
fn desired_state_snapshot_and_event_retention() {
    let fx = fixture();
    let mut req = conn_req(&fx, "198.18.0.0/24", "198.19.0.0/24");
    req.client_token = Some("snap".into());
    let v = fx.create(&req);
    let d = fx.control.desired_state().unwrap();
    assert_eq!(d.gateways.len(), 1);
    assert_eq!(d.customer_gateways.len(), 2);
    assert_eq!(d.connections.len(), 1);
    assert_eq!(d.connections[0].id, v.connection.id);
    assert_eq!(d.connections[0].state, ConnectionState::Active);
    assert_eq!(d.connections[0].tunnels, {
        let mut t = v.connection.tunnels.clone();
        for x in t.iter_mut() {
            x.state = TunnelState::Active;
        }
        t
    });
    assert_eq!(d.pbr_routes.len(), 1, "generated policy route (R-CONN-2)");
    assert!(d.pending.is_empty());
    // Retention: events older than `keep` go, newer ones stay.
    fx.clock.advance(Duration::from_secs(3600));
    fx.control
        .record_event(&v.connection.id, None, "recent")
        .unwrap();
    fx.control.prune_events(Duration::from_secs(60)).unwrap();
    let logs = fx
        .control
        .describe_vpn_connection_logs(&DescribeVpnConnectionLogsRequest {
            vpn_connection_id: v.connection.id.clone(),
            tunnel_id: None,
            from: Some(0),
            to: Some(i64::MAX / 1000),
            minute_period: None,
            page: PageRequest::default(),
        })
        .unwrap();
    let msgs: Vec<&str> = logs.page.items.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(msgs, vec!["recent"]);
}

#[test]
fn moving_a_pool_address_to_another_zone_updates_its_gateway() {
    let fx = fixture();
    fx.control
        .configure_public_ip_pool(&[
            (zone("zone-a"), "192.0.2.1".parse().unwrap()),
            (zone("zone-a"), "192.0.2.2".parse().unwrap()),
        ])
        .unwrap();
    let g = fx.control.describe_vpn_gateway(&fx.gw).unwrap();
    assert_eq!(g.gateway.addresses[1].zone, zone("zone-a"));
    assert_eq!(g.redundancy, dualsec_control::model::Redundancy::LinkOnly);
}

#[test]
fn concurrent_retries_with_one_client_token_create_one_resource() {
    let fx = fixture();
    let mut req = conn_req(&fx, "0.0.0.0/0", "0.0.0.0/0");
    req.client_token = Some("retry-storm".into());
    let control = Arc::new(fx.control);
    let results = race_creates(std::slice::from_ref(&control), &req, 6);
    let ids: Vec<_> = results
        .into_iter()
        .map(|r| {
            r.expect("a replay answers from the token, never Configuring")
                .connection
                .id
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let all = control
        .describe_vpn_connections(&DescribeVpnConnectionsRequest::default())
        .unwrap();
    assert_eq!(all.total_count, 1);
}

#[test]
fn a_store_locked_by_another_process_answers_service_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    store.set_busy_timeout(Duration::from_millis(100)).unwrap();
    let (control, _) = control_over(store, Completion::AfterDelay(DELAY), 8);
    // Another process holds the write lock.
    let other = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let e = control.create_access_key().unwrap_err();
    assert_eq!(e.code(), "ServiceUnavailable");
    assert_eq!(e.http_status(), 503);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "waited for the lock first"
    );
    // Reads still work (WAL readers do not wait for writers), and once the lock is gone the
    // write succeeds.
    assert!(control.access_key("LTAIx").unwrap().is_none());
    other.execute_batch("ROLLBACK").unwrap();
    assert!(control.create_access_key().is_ok());
}
