//! BGP peers: BIRD 2 and FRR, each with private config, socket and pid paths.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::charon::write;
use crate::error::{Error, Result};
use crate::netns::{Netns, output_ok};
use crate::prereq::tool_path;
use crate::process::{Process, wait_until};

/// A BIRD 2 daemon in a namespace (`bird -f -c … -s … -P …`), queried with `birdc`.
#[derive(Debug)]
pub struct Bird {
    process: Process,
    dir: PathBuf,
}

/// One row of `birdc show protocols`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirdProtocol {
    /// Protocol instance name.
    pub name: String,
    /// Protocol type (`BGP`, `Device`, `Static` …).
    pub proto: String,
    /// Table (`---` if none).
    pub table: String,
    /// `up`, `down`, `start` …
    pub state: String,
    /// Info column (for BGP: `Established`, `Active`, `Connect` …).
    pub info: String,
}

impl Bird {
    /// Writes `config` to `<netns dir>/bird/bird.conf`, starts BIRD and waits until `birdc`
    /// answers (up to 10 s).
    pub fn start(ns: &Netns, config: &str) -> Result<Self> {
        let dir = ns.dir().join("bird");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("mkdir bird", e))?;
        let conf = dir.join("bird.conf");
        write(&conf, config)?;
        let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
        let process = ns.spawn(
            "bird",
            "bird",
            [
                "-f".into(),
                "-c".into(),
                p("bird.conf"),
                "-s".into(),
                p("bird.ctl"),
                "-P".into(),
                p("bird.pid"),
            ],
        )?;
        let mut me = Self { process, dir };
        wait_until("birdc to answer", Duration::from_secs(10), || {
            me.birdc("show status").is_ok()
        })?;
        me.process.ensure_running()?;
        Ok(me)
    }

    /// A configuration with just a router id and the device protocol; append protocols to it.
    pub fn minimal_config(router_id: &str) -> String {
        format!("router id {router_id};\nprotocol device {{ scan time 10; }}\n")
    }

    /// PID of bird.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Config/socket directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs one `birdc` command and returns its output.
    pub fn birdc(&self, command: &str) -> Result<String> {
        let mut c =
            std::process::Command::new(tool_path("birdc").unwrap_or_else(|| "birdc".into()));
        c.arg("-s").arg(self.dir.join("bird.ctl"));
        c.args(command.split_whitespace());
        let out = output_ok(&mut c)?;
        // birdc exits 0 even when it cannot connect; it then prints this.
        if out.contains("Unable to connect") {
            return Err(Error::Parse {
                tool: "birdc",
                detail: out.trim().to_owned(),
            });
        }
        Ok(out)
    }

    /// `birdc show protocols`, parsed.
    pub fn protocols(&self) -> Result<Vec<BirdProtocol>> {
        Ok(parse_bird_protocols(&self.birdc("show protocols")?))
    }
}

/// Parses `birdc show protocols` (header line `Name Proto Table State Since Info`).
pub fn parse_bird_protocols(text: &str) -> Vec<BirdProtocol> {
    text.lines()
        .skip_while(|l| !l.starts_with("Name"))
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() >= 5).then(|| BirdProtocol {
                name: cols[0].to_owned(),
                proto: cols[1].to_owned(),
                table: cols[2].to_owned(),
                state: cols[3].to_owned(),
                // Since is 1–2 columns (date, or date and time); Info is what follows.
                info: cols.get(5..).map(|c| c.join(" ")).unwrap_or_default(),
            })
        })
        .collect()
}

/// FRR's zebra and bgpd in a namespace, with private sockets, queried with `vtysh`.
#[derive(Debug)]
pub struct Frr {
    _zebra: Process,
    bgpd: Process,
    dir: PathBuf,
}

impl Frr {
    /// Starts zebra and bgpd with `bgpd_config` (an FRR configuration: `router bgp …`) and
    /// waits until `vtysh` answers (up to 10 s).
    pub fn start(ns: &Netns, bgpd_config: &str) -> Result<Self> {
        let dir = ns.dir().join("frr");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("mkdir frr", e))?;
        write(&dir.join("zebra.conf"), "hostname zebra\n")?;
        write(&dir.join("bgpd.conf"), bgpd_config)?;
        // The daemons drop to user `frr` (root is not in the `frrvty` group FRR insists on), so
        // their directory must be theirs.
        crate::netns::run_host("chown", ["-R", "frr:frr", &dir.to_string_lossy()])?;
        let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
        let common = |conf: &str, pid: &str| {
            vec![
                "-f".to_owned(),
                p(conf),
                "-i".to_owned(),
                p(pid),
                "-z".to_owned(),
                p("zserv.api"),
                "--vty_socket".to_owned(),
                dir.to_string_lossy().into_owned(),
                "-A".to_owned(),
                "127.0.0.1".to_owned(),
            ]
        };
        let zebra = ns.spawn("zebra", "zebra", common("zebra.conf", "zebra.pid"))?;
        wait_until("zebra's zserv socket", Duration::from_secs(10), || {
            dir.join("zserv.api").exists()
        })?;
        let bgpd = ns.spawn("bgpd", "bgpd", common("bgpd.conf", "bgpd.pid"))?;
        let mut me = Self {
            _zebra: zebra,
            bgpd,
            dir,
        };
        wait_until("vtysh to reach bgpd", Duration::from_secs(10), || {
            me.vtysh("show bgp summary").is_ok()
        })?;
        me.bgpd.ensure_running()?;
        Ok(me)
    }

    /// Runs one `vtysh -c` command.
    pub fn vtysh(&self, command: &str) -> Result<String> {
        let mut c =
            std::process::Command::new(tool_path("vtysh").unwrap_or_else(|| "vtysh".into()));
        c.arg("--vty_socket").arg(&self.dir).args(["-c", command]);
        output_ok(&mut c)
    }

    /// PID of bgpd.
    pub fn bgpd_pid(&self) -> u32 {
        self.bgpd.pid()
    }
}
