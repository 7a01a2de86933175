//! The strongSwan interop lab shared by `v1_interop`, `v2_interop` and
//! `v2_interop_fragmentation`: our namespace running the `ike_udp_driver` example, a veth pair,
//! and charon (kernel-libipsec) in the peer's namespace, plus helpers that read the driver's
//! event lines. Namespaces, charon and the driver are removed by the testbed guards, even when a
//! test panics. Without strongSwan [`Lab::start`] returns `None` (the test skips) unless
//! `DUALSEC_REQUIRE_INTEROP` is set (then `dualsec_testbed::require` fails the test).

use std::path::PathBuf;
use std::time::Duration;

use dualsec_testbed::{
    Charon, CharonOptions, ChildSa, IkeSa, Netns, Process, PskConnection, wait_until,
};

/// Our public address (the driver's `--local`).
pub const OURS: &str = "192.0.2.1";
/// strongSwan's public address.
pub const PEER: &str = "203.0.113.2";
/// Our protected network (the VPC side).
pub const OUR_NET: &str = "198.18.0.0/16";
/// strongSwan's protected network (the IDC side).
pub const PEER_NET: &str = "198.19.0.0/16";
/// The pre-shared key of both sides (with the characters a config file must quote).
pub const PSK: &str = "interop-PSK/with:specials!";
/// How long to wait for one step of a negotiation.
pub const T: Duration = Duration::from_secs(15);

/// The driver example; cargo builds examples next to the test binaries' `deps` directory.
pub fn driver() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("ike_udp_driver")
}

/// Which endpoint the driver runs, and how long.
#[derive(Clone, Copy, Debug)]
pub struct DriverKind {
    /// The flags that select the IKE version (`--ikev1`, or none for IKEv2).
    pub version_flags: &'static [&'static str],
    /// The driver's `--seconds`.
    pub seconds: &'static str,
}

/// The IKEv1 driver (`--ikev1`), 20 s.
pub const IKEV1: DriverKind = DriverKind {
    version_flags: &["--ikev1"],
    seconds: "20",
};
/// The IKEv2 driver, 30 s (room for rekeys and DPD).
pub const IKEV2: DriverKind = DriverKind {
    version_flags: &[],
    seconds: "30",
};

/// Our namespace and strongSwan's, joined by a veth pair, with charon running in the peer's.
/// Fields drop in order: our namespace, charon, then the peer's namespace.
pub struct Lab {
    pub ours: Netns,
    pub charon: Charon,
    pub peer: Netns,
    pub kind: DriverKind,
}

impl Lab {
    /// Builds the lab (namespace roles `ours_role`/`peer_role`), or `None` when strongSwan is
    /// missing and interop is not required.
    pub fn start(
        ours_role: &str,
        peer_role: &str,
        kind: DriverKind,
        options: &CharonOptions,
    ) -> Option<Lab> {
        if !dualsec_testbed::require(&["charon", "swanctl"]) {
            return None;
        }
        assert!(
            driver().exists(),
            "build the example first: `cargo test -p dualsec-ike` or `cargo build -p dualsec-ike --examples` ({:?})",
            driver()
        );
        let ours = Netns::new(ours_role).unwrap();
        let peer = Netns::new(peer_role).unwrap();
        Netns::veth(&ours, "v0", &peer, "v0").unwrap();
        ours.addr_peer("v0", OURS, PEER).unwrap();
        peer.addr_peer("v0", PEER, OURS).unwrap();
        // charon installs a route for the CHILD SA from an address inside its local selector.
        peer.addr("lo", "198.19.0.1/32").unwrap();
        let charon = Charon::start(&peer, options).unwrap();
        Some(Lab {
            ours,
            charon,
            peer,
            kind,
        })
    }

    /// Runs the driver in our namespace with `args` after the lab's version flags and `--local`,
    /// `--remote`, `--seconds`.
    pub fn spawn_driver(&self, name: &str, args: &[&str]) -> Process {
        let mut all = self.kind.version_flags.to_vec();
        all.extend_from_slice(&[
            "--local",
            OURS,
            "--remote",
            PEER,
            "--seconds",
            self.kind.seconds,
        ]);
        all.extend_from_slice(args);
        self.ours
            .spawn(name, driver().to_str().unwrap(), all)
            .unwrap()
    }

    /// Runs the driver for OUR_NET <-> PEER_NET with `psk` and one IKE and one ESP proposal
    /// (strongSwan syntax), initiating or waiting; `extra` flags follow.
    pub fn run_driver(
        &self,
        name: &str,
        psk: &str,
        (ike, esp): (&str, &str),
        initiate: bool,
        extra: &[&str],
    ) -> Process {
        let mut args = vec![
            "--psk",
            psk,
            "--ike",
            ike,
            "--esp",
            esp,
            "--local-ts",
            OUR_NET,
            "--remote-ts",
            PEER_NET,
        ];
        if initiate {
            args.push("--initiate");
        }
        args.extend_from_slice(extra);
        self.spawn_driver(name, &args)
    }

    /// Has strongSwan initiate CHILD SA `net` (after giving the driver time to bind); on
    /// failure panics with both sides' output.
    pub fn strongswan_initiates(&self, d: &Process, what: &str) {
        std::thread::sleep(Duration::from_millis(300));
        if let Err(e) = self.charon.initiate_child("net", T) {
            panic!(
                "{what}: {e}\ndriver:\n{}\n{}\ncharon:\n{}",
                d.stdout(),
                d.stderr(),
                self.charon.log()
            );
        }
    }

    /// Waits until strongSwan lists the CHILD SA INSTALLED with our SPIs swapped (its inbound is
    /// our outbound) under an ESTABLISHED IKE SA, as our `CHILD_ESTABLISHED` `line` says.
    pub fn check_child(&self, line: &str, what: &str) -> (IkeSa, ChildSa) {
        let (sa, child) = self.charon.wait_child_installed("net", T).unwrap();
        assert_eq!(sa.state, "ESTABLISHED", "{what}: {sa:?}");
        assert_eq!(
            child.spi_in,
            field(line, "spi_out"),
            "{what}: strongSwan's inbound SPI is our outbound"
        );
        assert_eq!(child.spi_out, field(line, "spi_in"), "{what}: {child:?}");
        let listed = self.charon.swanctl(&["--list-sas"]).unwrap();
        assert!(listed.contains("INSTALLED"), "{listed}");
        (sa, child)
    }

    /// Waits until strongSwan has exactly one INSTALLED CHILD SA and it sends to our inbound
    /// SPI `spi_in` (the old one of a rekey is gone).
    pub fn assert_only_child(&self, spi_in: &str, d: &Process) {
        let mut ok = false;
        let _ = wait_until("strongSwan lists the new CHILD SA only", T, || {
            let sas = self.charon.list_sas().unwrap_or_default();
            let children: Vec<_> = sas
                .iter()
                .flat_map(|s| s.children.iter())
                .filter(|c| c.state == "INSTALLED")
                .collect();
            ok = children.len() == 1 && children[0].spi_out == spi_in;
            ok
        });
        assert!(
            ok,
            "{}\ndriver:\n{}",
            self.charon.swanctl(&["--list-sas"]).unwrap_or_default(),
            d.stdout()
        );
    }
}

/// For each suite (IKE proposal, ESP proposal; strongSwan syntax) in a fresh lab: strongSwan
/// loads `conf(suite)`, we run the driver with [`PSK`] and `extra`, one side initiates, and both
/// sides agree on the CHILD SA ([`Lab::check_child`]), on who initiated, and on `check` (the
/// version's specifics: `check(&ike_sa, &child_sa, our CHILD_ESTABLISHED line)`).
pub fn each_suite_establishes(
    lab: impl Fn() -> Option<Lab>,
    conf: impl Fn((&str, &str)) -> String,
    suites: &[(&str, &str)],
    we_initiate: bool,
    extra: &[&str],
    check: impl Fn(&IkeSa, &ChildSa, &str),
) {
    for &suite @ (ike, _) in suites {
        let Some(lab) = lab() else { return };
        lab.charon.load(&conf(suite)).unwrap();
        let d = lab.run_driver("driver", PSK, suite, we_initiate, extra);
        if !we_initiate {
            lab.strongswan_initiates(&d, ike);
        }
        let line = wait_line(&d, "CHILD_ESTABLISHED");
        let (sa, child) = lab.check_child(&line, ike);
        check(&sa, &child, &line);
        assert_eq!(sa.initiator, !we_initiate, "{ike}: who initiated");
        let out = d.stdout();
        assert!(out.contains("IKE_UP"), "{ike}: {out}");
        assert!(!out.contains("NEGOTIATION_FAILED"), "{ike}: {out}");
    }
}

/// R-DIAG-1, both directions: strongSwan (already loaded) accepts only
/// aes256-sha256-modp2048 / aes256-sha256 while we offer aes128-sha1-modp1024 / aes128-sha1. As
/// initiator we name our offer; as responder we name both.
pub fn assert_proposal_mismatch_explained_both_ways(lab: &Lab, psk: &str) {
    let ours = ("aes128-sha1-modp1024", "aes128-sha1");
    // We initiate: strongSwan refuses our proposal.
    let d = lab.run_driver("driver-i", psk, ours, true, &[]);
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(
        line.contains("no matching IKE proposal: we offered aes128-sha1-prfsha1-modp1024"),
        "{line}"
    );
    drop(d);
    // strongSwan initiates: we see its proposals and say both.
    let d = lab.run_driver("driver-r", psk, ours, false, &[]);
    std::thread::sleep(Duration::from_millis(300));
    let _ = lab.charon.initiate_child("net", Duration::from_secs(5));
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(
        line.contains(
            "we offered aes128-sha1-prfsha1-modp1024; peer offered aes256-sha256-prfsha256-modp2048"
        ),
        "{line}"
    );
}

/// strongSwan's side of the tunnel: PEER_NET <-> OUR_NET with one IKE and one ESP proposal.
pub fn peer_conn((ike, esp): (&str, &str), psk: &str) -> PskConnection {
    let mut c = PskConnection::new(PEER, OURS, PEER_NET, OUR_NET);
    c.ike_proposals = ike.into();
    c.esp_proposals = esp.into();
    c.psk = psk.into();
    c
}

/// Waits for the driver's first stdout line starting with `prefix` and returns it; panics with
/// the driver's output when none comes within [`T`].
pub fn wait_line(p: &Process, prefix: &str) -> String {
    let mut found = String::new();
    let r = wait_until(&format!("driver prints {prefix}"), T, || {
        found = p
            .stdout()
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_default()
            .to_owned();
        !found.is_empty()
    });
    assert!(
        r.is_ok(),
        "no {prefix} line; driver said:\n{}\n{}",
        p.stdout(),
        p.stderr()
    );
    found
}

/// The value of `key=value` in a driver line ("" when absent).
pub fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or("")
}
