//! The `dualsec` CLI against the real server: every command is one signed API call; tables by
//! default, `--output json` on request; errors name the provider code and exit non-zero.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failure is a test failure

mod common;

use std::process::{Command, Output};

fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dualsec"));
    c.args(args)
        .env_remove("DUALSEC_ENDPOINT")
        .env_remove("DUALSEC_ACCESS_KEY_ID")
        .env_remove("DUALSEC_ACCESS_KEY_SECRET");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn cli_does_the_actions_through_the_signed_api() {
    let (_tmp, dir) = common::data_dir();
    let server = common::Server::start(&dir, &["--completion-delay-ms", "0"]);
    let creds = dir.join("credentials");
    let creds = creds.to_str().unwrap();

    // Create with --output json: the provider's response.
    let o = cli(
        &[
            "--credentials",
            creds,
            "vpn-gateway",
            "create",
            "--vpc-id",
            "vpc-1",
            "--bandwidth",
            "10",
            "--name",
            "cli-gw",
            "-o",
            "json",
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let gw = v["VpnGatewayId"].as_str().unwrap().to_owned();
    assert!(gw.starts_with("vpn-"));

    // List as a table (credentials from the environment this time).
    let env = [
        ("DUALSEC_ENDPOINT", server.endpoint.as_str()),
        ("DUALSEC_ACCESS_KEY_ID", server.key_id.as_str()),
        ("DUALSEC_ACCESS_KEY_SECRET", server.secret.as_str()),
    ];
    let o = cli(&["vpn-gateway", "list"], &env);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("VpnGatewayId"), "{out}");
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&gw)
            && row.contains("cli-gw")
            && row.contains("192.0.2.1")
            && row.contains("192.0.2.2"),
        "{out}"
    );

    // A connection with flattened tunnel options through --set, then describe and peer-config.
    let o = cli(
        &[
            "--credentials",
            creds,
            "customer-gateway",
            "create",
            "--ip-address",
            "203.0.113.9",
            "-o",
            "json",
        ],
        &[],
    );
    let cgw = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["CustomerGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let t1 = format!("TunnelOptionsSpecification.1.CustomerGatewayId={cgw}");
    let t2 = format!("TunnelOptionsSpecification.2.CustomerGatewayId={cgw}");
    let o = cli(
        &[
            "--credentials",
            creds,
            "connection",
            "create",
            "--vpn-gateway-id",
            &gw,
            "--local-subnet",
            "198.18.0.0/24",
            "--remote-subnet",
            "198.19.0.0/24",
            "--set",
            &t1,
            "--set",
            &t2,
            "--set",
            "TunnelOptionsSpecification.2.TunnelIkeConfig.Psk=cli-psk-2",
            "-o",
            "json",
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let vco = serde_json::from_str::<serde_json::Value>(&out).unwrap()["VpnConnectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = cli(
        &["--credentials", creds, "connection", "describe", &vco],
        &[],
    );
    let (out, _) = text(&o);
    assert!(
        out.contains("TunnelOptionsSpecification.TunnelOptions.2.TunnelIkeConfig.Psk")
            && out.contains("cli-psk-2"),
        "{out}"
    );
    // Issue 6: the failover block, one `Key  Value` line per field (no engine here: nothing up).
    let line = |k: &str| out.lines().find(|l| l.starts_with(k)).unwrap_or_default();
    assert!(line("Failover.Redundancy ").ends_with(" none"), "{out}");
    assert!(line("Failover.FailoverCount ").ends_with(" 0"), "{out}");
    assert!(line("Failover.TotalOutageMs ").ends_with(" 0"), "{out}");
    let o = cli(
        &[
            "--credentials",
            creds,
            "peer-config",
            &vco,
            "--format",
            "json",
            "-o",
            "json",
        ],
        &[],
    );
    let pc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pc["VpnConnectionConfig"]["Local"], "203.0.113.9");
    assert_eq!(pc["VpnConnectionConfig"]["LocalSubnet"], "198.19.0.0/24");
    let o = cli(
        &[
            "--credentials",
            creds,
            "peer-config",
            &vco,
            "--format",
            "swanctl",
        ],
        &[],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let conf = text(&o).0;
    assert!(conf.contains("connections {"), "{conf}");
    assert!(conf.contains("secrets {"), "{conf}");

    // Errors: provider code on stderr, non-zero exit.
    let o = cli(
        &[
            "--credentials",
            creds,
            "connection",
            "describe",
            "vco-nothere0000",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o)
            .1
            .contains("InvalidVpnConnectionInstanceId.NotFound"),
        "{:?}",
        text(&o)
    );
    let bad = [
        ("DUALSEC_ENDPOINT", server.endpoint.as_str()),
        ("DUALSEC_ACCESS_KEY_ID", server.key_id.as_str()),
        ("DUALSEC_ACCESS_KEY_SECRET", "wrong"),
    ];
    let o = cli(&["vpn-gateway", "list"], &bad);
    assert!(
        text(&o).1.contains("SignatureDoesNotMatch"),
        "{:?}",
        text(&o)
    );

    // Any action by name.
    let o = cli(
        &[
            "--credentials",
            creds,
            "call",
            "DescribeVpnGatewayAvailableZones",
            "Spec=5M",
            "-o",
            "json",
        ],
        &[],
    );
    let z: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(z["AvailableZoneIdList"][0]["ZoneId"], "zone-a");
}

#[test]
fn credentials_file_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_tmp, dir) = common::data_dir();
    let _server = common::Server::start(&dir, &[]);
    let mode = std::fs::metadata(dir.join("credentials"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dmode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(
        dmode & 0o077,
        0,
        "data directory must not be group/world accessible"
    );
}

#[test]
fn serve_imports_an_operator_supplied_key() {
    let (_tmp, dir) = common::data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    // The key is given to `serve` through the environment (CI style).
    let server = common::Server::start_with_env(
        &dir,
        &[],
        &[
            ("DUALSEC_ACCESS_KEY_ID", "ci-key-1"),
            ("DUALSEC_ACCESS_KEY_SECRET", "ci-secret-1"),
        ],
    );
    let c = common::Client {
        endpoint: server.endpoint.clone(),
        key_id: "ci-key-1".into(),
        secret: "ci-secret-1".into(),
    };
    let r = c.call("DescribeVpnGateways", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let bad = common::Client {
        secret: "ci-secret-2".into(),
        ..c
    };
    assert_eq!(
        bad.call("DescribeVpnGateways", &[]).code(),
        "SignatureDoesNotMatch"
    );
}

/// Failover and BGP tuning are validated before anything starts (issues 6, 7): a zero
/// multiplier, a probe interval below 10 ms or a BGP prefix limit of 0 is refused with a clear
/// message and exit code 2.
#[test]
fn serve_refuses_bad_failover_and_bgp_tuning() {
    let (_tmp, dir) = common::data_dir();
    for bad in [
        ["--probe-multiplier", "0"],
        ["--probe-interval-ms", "5"],
        ["--bgp-max-prefixes", "0"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_dualsec"))
            .args(["serve", "--no-engine", "--data-dir"])
            .arg(&dir)
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(text(&o).1.contains(bad[0]), "{bad:?}: {}", text(&o).1);
    }
}
