//! Network namespaces that clean up after themselves.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::prereq::tool_path;
use crate::process::Process;

/// Every namespace this crate creates starts with this, followed by the creating process's pid.
pub const NAME_PREFIX: &str = "dst";

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// A network namespace, deleted when the last handle to it is dropped — also while a test panics.
///
/// Cloning is cheap and shares the namespace; [`Process`]es spawned in it hold a handle too, so
/// the namespace outlives them. On drop every process still inside is killed (SIGKILL), the
/// namespace is deleted, and its working directory is removed — or, when the thread is panicking,
/// kept and the tail of every log in it printed to stderr.
///
/// Names are `dst<pid>-<n>-<role>` (unique per run). Interface names are per namespace, so short
/// role names (`up1`, `eth0`) never collide between concurrent tests; veth pairs are created
/// directly inside their namespaces.
#[derive(Clone, Debug)]
pub struct Netns {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    role: String,
    dir: PathBuf,
}

impl Netns {
    /// Creates a namespace for `role` (e.g. `"gw"`; up to 8 characters are kept in the name),
    /// with `lo` up, IPv6 off (see [`Netns::enable_ipv6`]) and a fresh working directory.
    pub fn new(role: &str) -> Result<Self> {
        SWEEP.call_once(sweep_stale);
        let role: String = role
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{NAME_PREFIX}{}-{n}-{role}", std::process::id());
        let dir = std::env::temp_dir().join("dualsec-testbed").join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("mkdir {dir:?}"), e))?;
        run_host("ip", ["netns", "add", name.as_str()])?;
        let ns = Self {
            inner: Arc::new(Inner { name, role, dir }),
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        // IPv4 only: no IPv6 link-local/DAD chatter in captures and logs.
        for scope in ["all", "default"] {
            ns.sysctl(&format!("net.ipv6.conf.{scope}.disable_ipv6"), "1")?;
        }
        Ok(ns)
    }

    /// The namespace name as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The namespace's bind-mount path (`/run/netns/<name>`), for `setns(2)` from in-process code
    /// such as the data plane's tests.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(self.name())
    }

    /// The role given at creation (`"gw"`, `"cgw"` …).
    pub fn role(&self) -> &str {
        &self.inner.role
    }

    /// This namespace's working directory (configs, logs, captures). Removed on drop unless the
    /// thread panics.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// A `Command` that runs `program` inside this namespace (`ip netns exec NAME program`).
    /// `program` is resolved with [`tool_path`] so `"charon"` finds `/usr/lib/ipsec/charon`.
    pub fn command(&self, program: &str) -> Command {
        let resolved = tool_path(program).map_or_else(|| program.into(), PathBuf::into_os_string);
        let mut c = Command::new("ip");
        c.args(["netns", "exec"]).arg(self.name()).arg(resolved);
        c
    }

    /// Runs `program args…` inside the namespace to completion; returns stdout, or an error that
    /// carries stderr when it exits non-zero.
    pub fn exec<I, S>(&self, program: &str, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(program);
        c.args(args);
        output_ok(&mut c)
    }

    /// Like [`Netns::exec`] but returns the raw output whatever the exit status.
    pub fn exec_output<I, S>(&self, program: &str, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(program);
        c.args(args).stdin(Stdio::null());
        c.output()
            .map_err(|e| Error::io(format!("spawn {}", describe(&c)), e))
    }

    /// Starts `program args…` in the background inside the namespace; stdout and stderr go to
    /// `<dir>/<name>.stdout` / `.stderr`. The returned guard kills it on drop.
    pub fn spawn<I, S>(&self, name: &str, program: &str, args: I) -> Result<Process>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(program);
        c.args(args);
        Process::spawn(self.clone(), name, c)
    }

    /// Starts a command built with [`Netns::command`] (with extra env, cwd …) in the background,
    /// with the same log capture and kill-on-drop as [`Netns::spawn`].
    pub fn spawn_command(&self, name: &str, command: Command) -> Result<Process> {
        Process::spawn(self.clone(), name, command)
    }

    /// `ip -n NAME args…`.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let mut c = Command::new("ip");
        c.arg("-n").arg(self.name()).args(args);
        output_ok(&mut c)
    }

    /// Creates a veth pair `a_if` (in `a`) ⇄ `b_if` (in `b`) and sets both ends up.
    pub fn veth(a: &Self, a_if: &str, b: &Self, b_if: &str) -> Result<()> {
        a.ip(&[
            "link",
            "add",
            "name",
            a_if,
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            b.name(),
        ])?;
        a.link_up(a_if)?;
        b.link_up(b_if)
    }

    /// Adds an address, e.g. `addr("eth0", "198.18.1.10/24")`.
    pub fn addr(&self, dev: &str, cidr: &str) -> Result<()> {
        self.ip(&["addr", "add", cidr, "dev", dev]).map(drop)
    }

    /// Adds a point-to-point address: `local` on `dev` with a host route to `peer`.
    pub fn addr_peer(&self, dev: &str, local: &str, peer: &str) -> Result<()> {
        self.ip(&["addr", "add", local, "peer", peer, "dev", dev])
            .map(drop)
    }

    /// `ip route replace <spec…>`, e.g. `route(&["default", "via", "198.18.1.1"])`.
    pub fn route(&self, spec: &[&str]) -> Result<()> {
        let mut args = vec!["route", "replace"];
        args.extend_from_slice(spec);
        self.ip(&args).map(drop)
    }

    /// Sets the link up.
    pub fn link_up(&self, dev: &str) -> Result<()> {
        self.ip(&["link", "set", dev, "up"]).map(drop)
    }

    /// Sets the link down (a cable cut: the veth peer loses carrier, routes over it vanish).
    pub fn link_down(&self, dev: &str) -> Result<()> {
        self.ip(&["link", "set", dev, "down"]).map(drop)
    }

    /// Writes a sysctl inside the namespace, e.g. `sysctl("net.ipv4.ip_forward", "1")`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec("sysctl", ["-q", "-w", &format!("{key}={value}")])
            .map(drop)
    }

    /// Turns the namespace into a router: IPv4 forwarding on, reverse-path filtering off
    /// (the gateway's two uplinks make paths asymmetric on purpose).
    pub fn enable_forwarding(&self) -> Result<()> {
        self.sysctl("net.ipv4.ip_forward", "1")?;
        for scope in ["all", "default"] {
            self.sysctl(&format!("net.ipv4.conf.{scope}.rp_filter"), "0")?;
        }
        Ok(())
    }

    /// Re-enables IPv6 (namespaces start IPv4-only to keep captures quiet). Call it before
    /// creating interfaces; `default` applies to interfaces created afterwards.
    pub fn enable_ipv6(&self) -> Result<()> {
        for scope in ["all", "default"] {
            self.sysctl(&format!("net.ipv6.conf.{scope}.disable_ipv6"), "0")?;
        }
        Ok(())
    }

    /// Loads an nftables ruleset (`nft -f -`) into this namespace.
    pub fn nft(&self, ruleset: &str) -> Result<()> {
        use std::io::Write as _;
        let mut c = self.command("nft");
        c.args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .map_err(|e| Error::io(format!("spawn {}", describe(&c)), e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(ruleset.as_bytes())
                .map_err(|e| Error::io("write nft ruleset", e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io("wait for nft", e))?;
        check(&c, out).map(drop)
    }

    /// Adds a fault: drops packets matching any of `matches` (nftables expressions such as
    /// `"ip saddr 192.0.2.1"` or `"ip daddr 192.0.2.1 udp dport 4500"`) on the forward, input
    /// and output hooks. Remove it with [`NftRule::remove`].
    pub fn nft_drop(&self, matches: &[&str]) -> Result<NftRule> {
        let table = format!("dsfault{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut rules = format!("table inet {table} {{\n");
        for hook in ["forward", "input", "output"] {
            let _ = writeln!(
                rules,
                "  chain {hook} {{\n    type filter hook {hook} priority -10;"
            );
            for m in matches {
                let _ = writeln!(rules, "    {m} counter drop");
            }
            rules.push_str("  }\n");
        }
        rules.push_str("}\n");
        self.nft(&rules)?;
        Ok(NftRule {
            ns: self.clone(),
            table: format!("inet {table}"),
        })
    }

    /// Source-NATs (masquerades) everything leaving through `out_dev`.
    pub fn nft_masquerade(&self, out_dev: &str) -> Result<NftRule> {
        let table = format!("dsnat{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        self.nft(&format!(
            "table ip {table} {{\n  chain post {{ type nat hook postrouting priority srcnat; \
             oifname \"{out_dev}\" masquerade; }}\n}}\n"
        ))?;
        Ok(NftRule {
            ns: self.clone(),
            table: format!("ip {table}"),
        })
    }

    /// PIDs of processes currently inside this namespace (`ip netns pids`).
    pub fn pids(&self) -> Result<Vec<u32>> {
        Ok(run_host("ip", ["netns", "pids", self.name()])?
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect())
    }
}

/// An nftables table this crate added (a drop fault or a NAT). Remove it explicitly; it also
/// disappears with its namespace.
#[derive(Debug)]
#[must_use = "keep the rule to remove it later"]
pub struct NftRule {
    ns: Netns,
    table: String,
}

impl NftRule {
    /// Deletes the table, undoing the fault or NAT.
    pub fn remove(self) -> Result<()> {
        self.ns.nft(&format!("delete table {}\n", self.table))
    }

    /// Packets dropped so far by this rule (sum of its counters); 0 for a NAT table.
    pub fn dropped_packets(&self) -> Result<u64> {
        let out = self.ns.exec(
            "nft",
            ["list", "table"]
                .into_iter()
                .chain(self.table.split_whitespace()),
        )?;
        Ok(out
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[0] == "packets")
            .filter_map(|w| w[1].parse::<u64>().ok())
            .sum())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        kill_all_in(&self.name);
        if let Err(e) = run_host("ip", ["netns", "del", self.name.as_str()]) {
            eprintln!(
                "dualsec-testbed: could not delete namespace {}: {e}",
                self.name
            );
        }
        if std::thread::panicking() {
            dump_logs(&self.dir);
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// True when a namespace of this name exists.
pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

fn kill_all_in(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let pids = run_host("ip", ["netns", "pids", name]).unwrap_or_default();
        let pids: Vec<&str> = pids.split_whitespace().collect();
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deletes namespaces left behind by earlier test processes that died without unwinding
/// (SIGKILL, abort): any `dst<pid>-…` whose pid no longer exists.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(NAME_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            kill_all_in(&name);
            let _ = run_host("ip", ["netns", "del", name.as_str()]);
            let _ =
                std::fs::remove_dir_all(std::env::temp_dir().join("dualsec-testbed").join(&name));
        }
    }
}

fn dump_logs(dir: &Path) {
    eprintln!(
        "---- dualsec-testbed: test failed; logs kept in {} ----",
        dir.display()
    );
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.sort();
    for f in files {
        let is_log = f
            .extension()
            .and_then(OsStr::to_str)
            .is_some_and(|e| matches!(e, "log" | "stdout" | "stderr"));
        if !is_log {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        if text.trim().is_empty() {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(120)..];
        eprintln!("==== {} (last {} lines) ====", f.display(), tail.len());
        for l in tail {
            eprintln!("{l}");
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect_files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

pub(crate) fn describe(c: &Command) -> String {
    std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(c: &Command, out: Output) -> Result<Output> {
    if out.status.success() {
        Ok(out)
    } else {
        // swanctl and friends report on stdout; keep its tail next to stderr.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(Error::Command {
            command: describe(c),
            status: out.status.to_string(),
            stderr: if tail.is_empty() {
                stderr
            } else {
                format!("{stderr}\n--- stdout (last lines) ---\n{tail}")
            },
        })
    }
}

/// Runs a command to completion; stdout on success, [`Error::Command`] with stderr otherwise.
pub(crate) fn output_ok(c: &mut Command) -> Result<String> {
    c.stdin(Stdio::null());
    let out = c
        .output()
        .map_err(|e| Error::io(format!("spawn {}", describe(c)), e))?;
    let out = check(c, out)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a host (root-namespace) command.
pub(crate) fn run_host<I, S>(program: &str, args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(program);
    c.args(args);
    output_ok(&mut c)
}
