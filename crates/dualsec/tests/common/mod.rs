//! Runs the real `dualsec serve` binary on a free loopback port with a temporary data directory,
//! and talks to it with V3-signed requests (the SDK's signature).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dualsec_api::signature::{format_acs_date, rfc3986, sign_v3_request};
use serde_json::Value;

pub const REGION: &str = "local";

/// A running `dualsec serve`; SIGKILLed (by its own PID) when dropped.
pub struct Server {
    child: Option<Child>,
    pub endpoint: String,
    pub key_id: String,
    pub secret: String,
}

impl Server {
    /// Starts the binary on `data_dir` with extra `serve` arguments and waits until it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_with_env(data_dir, extra, &[])
    }

    /// As [`Server::start`], with extra environment variables for `serve`.
    pub fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dualsec"));
        cmd.env_remove("DUALSEC_ACCESS_KEY_ID")
            .env_remove("DUALSEC_ACCESS_KEY_SECRET");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            // These servers run in the test's own (root) namespace: the engine would create a
            // TUN and bind UDP 500/4500 on whatever 192.0.2.x the host has. API tests need none
            // of it; tunnel tests run `serve` inside testbed namespaces instead.
            .arg("--no-engine")
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn dualsec serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("API listening on ").nth(1) {
                    let ep = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(ep);
                }
            }
        });
        // From here on the child belongs to a `Server`, so any panic below still kills it.
        let mut server = Server {
            child: Some(child),
            endpoint: String::new(),
            key_id: String::new(),
            secret: String::new(),
        };
        server.endpoint = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("dualsec serve did not start listening within 20 s");
        let creds =
            std::fs::read_to_string(data_dir.join("credentials")).expect("credentials file");
        let get = |k: &str| {
            creds
                .lines()
                .find_map(|l| {
                    l.split_once('=')
                        .filter(|(a, _)| a.trim() == k)
                        .map(|(_, v)| v.trim().to_owned())
                })
                .unwrap_or_else(|| panic!("{k} missing from credentials"))
        };
        server.key_id = get("access_key_id");
        server.secret = get("access_key_secret");
        server
    }

    /// SIGKILL (no graceful shutdown) and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn client(&self) -> Client {
        Client {
            endpoint: self.endpoint.clone(),
            key_id: self.key_id.clone(),
            secret: self.secret.clone(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

static NONCE: AtomicU64 = AtomicU64::new(0);

/// A minimal signed client.
#[derive(Clone)]
pub struct Client {
    pub endpoint: String,
    pub key_id: String,
    pub secret: String,
}

/// An API answer: HTTP status and JSON body; status 0 when the server could not be reached.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["Code"].as_str().unwrap_or("")
    }
}

impl Client {
    pub fn call(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        let mut map: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        map.entry("RegionId".into())
            .or_insert_with(|| REGION.into());
        let body: String = map
            .iter()
            .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
            .collect::<Vec<_>>()
            .join("&");
        let host = self.endpoint.trim_start_matches("http://").to_owned();
        let n = NONCE.fetch_add(1, Ordering::SeqCst);
        let headers = vec![
            ("host".to_owned(), host),
            ("x-acs-version".to_owned(), "2016-04-28".to_owned()),
            ("x-acs-action".to_owned(), action.to_owned()),
            (
                "x-acs-date".to_owned(),
                format_acs_date(time::OffsetDateTime::now_utc()),
            ),
            (
                "x-acs-signature-nonce".to_owned(),
                format!("t{}-{n}", std::process::id()),
            ),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ];
        let signed = sign_v3_request(
            "POST",
            "/",
            &[],
            headers,
            body.as_bytes(),
            &self.key_id,
            &self.secret,
        )
        .unwrap();
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build();
        let mut req = agent.post(&format!("{}/", self.endpoint));
        for (k, v) in &signed {
            req = req.set(k, v);
        }
        match req.send_string(&body) {
            Ok(r) => Reply {
                status: r.status(),
                body: serde_json::from_str(&r.into_string().unwrap_or_default())
                    .unwrap_or(Value::Null),
            },
            Err(ureq::Error::Status(s, r)) => Reply {
                status: s,
                body: serde_json::from_str(&r.into_string().unwrap_or_default())
                    .unwrap_or(Value::Null),
            },
            Err(_) => Reply {
                status: 0,
                body: Value::Null,
            },
        }
    }

    /// Calls until the answer is not `VpnGateway.Configuring` (what SDK users and Terraform do).
    pub fn call_retrying(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.call(action, params);
            if r.code() != "VpnGateway.Configuring" || Instant::now() > deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A fresh temporary data directory, removed on drop.
pub fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().join("data");
    (d, p)
}

/// The `TunnelOptionsSpecification` parameters of a plain dual-tunnel connection on `cgw`.
pub fn tunnel_params(cgw: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for n in 1..=2 {
        v.push((
            format!("TunnelOptionsSpecification.{n}.CustomerGatewayId"),
            cgw.to_owned(),
        ));
        v.push((
            format!("TunnelOptionsSpecification.{n}.TunnelIkeConfig.Psk"),
            format!("psk-{n}"),
        ));
    }
    v
}
