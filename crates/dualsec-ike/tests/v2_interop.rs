//! Our IKEv2 endpoint against real strongSwan (charon with kernel-libipsec) in two network
//! namespaces joined by a veth pair: IKE_SA_INIT + IKE_AUTH + CHILD SA as initiator and as
//! responder for the product default and the interop suites, and explained errors for a PSK and a
//! proposal mismatch (R-DIAG-1).
//!
//! Our side runs `examples/ike_udp_driver` (std UDP sockets on 500/4500) inside its namespace;
//! its stdout is one line per endpoint event (its tracing log goes to stderr). `cargo test -p
//! dualsec-ike` builds the example; after editing it, a filtered `--test v2_interop` run needs
//! `cargo build -p dualsec-ike --examples` first. Namespaces, charon and the driver are removed by the
//! testbed guards, even when a test panics.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use dualsec_testbed::{Charon, CharonOptions, Netns, Process, PskConnection, wait_until};

const OURS: &str = "192.0.2.1";
const PEER: &str = "203.0.113.2";
const OUR_NET: &str = "198.18.0.0/16";
const PEER_NET: &str = "198.19.0.0/16";
const PSK: &str = "interop-PSK/with:specials!";
const T: Duration = Duration::from_secs(15);

/// The five suites of issue 4 (IKE proposal, ESP proposal with PFS group).
const SUITES: [(&str, &str); 5] = [
    ("aes128-sha1-modp1024", "aes128-sha1-modp1024"),
    ("aes256-sha256-modp2048", "aes256-sha256-modp2048"),
    ("3des-md5-modp1536", "3des-md5-modp1536"),
    ("aes256gcm16-prfsha384-ecp384", "aes256gcm16-ecp384"),
    ("aes128gcm16-prfsha256-curve25519", "aes128gcm16-curve25519"),
];

fn driver() -> PathBuf {
    // cargo builds examples next to the test binaries' `deps` directory.
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("ike_udp_driver")
}

struct Lab {
    ours: Netns,
    charon: Charon,
    _peer: Netns,
}

fn lab() -> Option<Lab> {
    if !dualsec_testbed::require(&["charon", "swanctl"]) {
        return None;
    }
    assert!(
        driver().exists(),
        "build the example first: cargo test builds it ({:?})",
        driver()
    );
    let ours = Netns::new("dsike").unwrap();
    let peer = Netns::new("sswan").unwrap();
    Netns::veth(&ours, "v0", &peer, "v0").unwrap();
    ours.addr_peer("v0", OURS, PEER).unwrap();
    peer.addr_peer("v0", PEER, OURS).unwrap();
    // charon installs a route for the CHILD SA from an address inside its local selector.
    peer.addr("lo", "198.19.0.1/32").unwrap();
    let charon = Charon::start(&peer, &CharonOptions::default()).unwrap();
    Some(Lab {
        ours,
        charon,
        _peer: peer,
    })
}

fn peer_conn(ike: &str, esp: &str, psk: &str) -> PskConnection {
    let mut c = PskConnection::new(PEER, OURS, PEER_NET, OUR_NET);
    c.ike_proposals = ike.into();
    c.esp_proposals = esp.into();
    c.psk = psk.into();
    c
}

fn run_driver(lab: &Lab, name: &str, ike: &str, esp: &str, initiate: bool) -> Process {
    run_driver_with(lab, name, ike, esp, initiate, &[])
}

fn run_driver_with(
    lab: &Lab,
    name: &str,
    ike: &str,
    esp: &str,
    initiate: bool,
    extra: &[&str],
) -> Process {
    let d = driver();
    let mut args = vec![
        "--local",
        OURS,
        "--remote",
        PEER,
        "--psk",
        PSK,
        "--ike",
        ike,
        "--esp",
        esp,
        "--local-ts",
        OUR_NET,
        "--remote-ts",
        PEER_NET,
        "--seconds",
        "30",
    ];
    if initiate {
        args.push("--initiate");
    }
    args.extend_from_slice(extra);
    lab.ours.spawn(name, d.to_str().unwrap(), args).unwrap()
}

fn wait_line(p: &Process, prefix: &str) -> String {
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

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or("")
}

/// Both sides agree on the CHILD SA: strongSwan lists it INSTALLED with our SPIs swapped.
fn check_child(lab: &Lab, line: &str, ike: &str) {
    let (sa, child) = lab.charon.wait_child_installed("net", T).unwrap();
    assert_eq!(sa.state, "ESTABLISHED");
    assert_eq!(
        child.spi_in,
        field(line, "spi_out"),
        "{ike}: strongSwan's inbound SPI is our outbound"
    );
    assert_eq!(child.spi_out, field(line, "spi_in"), "{ike}: {child:?}");
    // kernel-libipsec always asks for UDP encapsulation (it fakes NAT detection).
    assert_eq!(field(line, "udp_encap"), "true", "{line}");
    assert!(child.encap);
    let listed = lab.charon.swanctl(&["--list-sas"]).unwrap();
    assert!(listed.contains("INSTALLED"), "{listed}");
}

#[test]
fn we_initiate_every_interop_suite_against_strongswan() {
    for (ike, esp) in SUITES {
        let Some(lab) = lab() else { return };
        lab.charon.load(&peer_conn(ike, esp, PSK).render()).unwrap();
        let d = run_driver(&lab, "driver", ike, esp, true);
        let line = wait_line(&d, "CHILD_ESTABLISHED");
        check_child(&lab, &line, ike);
        assert!(d.stdout().contains("IKE_UP"), "{}", d.stdout());
        assert!(!d.stdout().contains("NEGOTIATION_FAILED"), "{}", d.stdout());
    }
}

#[test]
fn strongswan_initiates_every_interop_suite_to_us() {
    for (ike, esp) in SUITES {
        let Some(lab) = lab() else { return };
        lab.charon.load(&peer_conn(ike, esp, PSK).render()).unwrap();
        let d = run_driver(&lab, "driver", ike, esp, false);
        std::thread::sleep(Duration::from_millis(300));
        lab.charon.initiate_child("net", T).unwrap();
        let line = wait_line(&d, "CHILD_ESTABLISHED");
        check_child(&lab, &line, ike);
        let (sa, _) = lab.charon.wait_child_installed("net", T).unwrap();
        assert!(sa.initiator, "strongSwan initiated");
    }
}

#[test]
fn psk_mismatch_against_strongswan_is_explained() {
    let Some(lab) = lab() else { return };
    lab.charon
        .load(&peer_conn(SUITES[0].0, SUITES[0].1, "a different key").render())
        .unwrap();
    let d = run_driver(&lab, "driver", SUITES[0].0, SUITES[0].1, true);
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(
        line.contains(
            "peer rejected our authentication (AUTHENTICATION_FAILED): pre-shared key mismatch"
        ),
        "{line}"
    );
}

#[test]
fn proposal_mismatch_against_strongswan_is_explained_both_ways() {
    let Some(lab) = lab() else { return };
    lab.charon
        .load(&peer_conn("aes256-sha256-modp2048", "aes256-sha256", PSK).render())
        .unwrap();
    // We initiate: strongSwan answers NO_PROPOSAL_CHOSEN.
    let d = run_driver(
        &lab,
        "driver-i",
        "aes128-sha1-modp1024",
        "aes128-sha1",
        true,
    );
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(
        line.contains("no matching IKE proposal: we offered aes128-sha1-prfsha1-modp1024"),
        "{line}"
    );
    drop(d);
    // strongSwan initiates: we see its proposals and say both.
    let d = run_driver(
        &lab,
        "driver-r",
        "aes128-sha1-modp1024",
        "aes128-sha1",
        false,
    );
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

#[test]
fn child_rekey_with_strongswan() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    lab.charon.load(&peer_conn(ike, esp, PSK).render()).unwrap();
    let d = lab
        .ours
        .spawn(
            "driver",
            driver().to_str().unwrap(),
            [
                "--local",
                OURS,
                "--remote",
                PEER,
                "--psk",
                PSK,
                "--ike",
                ike,
                "--esp",
                esp,
                "--local-ts",
                OUR_NET,
                "--remote-ts",
                PEER_NET,
                "--seconds",
                "30",
                "--initiate",
                "--rekey-child-after",
                "2",
            ],
        )
        .unwrap();
    let line = wait_line(&d, "CHILD_REKEYED");
    let deleted = wait_line(&d, "CHILD_DELETED");
    assert_ne!(field(&line, "spi_in"), field(&line, "old_spi_in"));
    assert_eq!(
        field(&deleted, "spi_in"),
        field(&line, "old_spi_in"),
        "old SA deleted after the rekey"
    );
    let mut ok = false;
    let _ = wait_until("strongSwan lists the new CHILD SA only", T, || {
        let sas = lab.charon.list_sas().unwrap_or_default();
        let children: Vec<_> = sas
            .iter()
            .flat_map(|s| s.children.iter())
            .filter(|c| c.state == "INSTALLED")
            .collect();
        ok = children.len() == 1 && children[0].spi_out == field(&line, "spi_in");
        ok
    });
    assert!(
        ok,
        "{}",
        lab.charon.swanctl(&["--list-sas"]).unwrap_or_default()
    );
}

#[test]
fn we_rekey_the_ike_sa_with_strongswan() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[1];
    lab.charon.load(&peer_conn(ike, esp, PSK).render()).unwrap();
    let d = run_driver_with(&lab, "driver", ike, esp, true, &["--rekey-ike-after", "2"]);
    let est = wait_line(&d, "CHILD_ESTABLISHED");
    let line = wait_line(&d, "IKE_REKEYED");
    let spi_i = field(&line, "spi_i").to_owned();
    let mut ok = false;
    let _ = wait_until("strongSwan has only the new IKE SA", T, || {
        let sas = lab.charon.list_sas().unwrap_or_default();
        ok = sas.len() == 1 && sas[0].initiator_spi == spi_i && sas[0].state == "ESTABLISHED";
        ok
    });
    assert!(
        ok,
        "{}",
        lab.charon.swanctl(&["--list-sas"]).unwrap_or_default()
    );
    // The CHILD SA moved over unchanged.
    let (_, child) = lab.charon.wait_child_installed("net", T).unwrap();
    assert_eq!(child.spi_in, field(&est, "spi_out"));
    assert!(!d.stdout().contains("IKE_DOWN"), "{}", d.stdout());
}

#[test]
fn strongswan_rekeys_child_and_ike_sa_and_we_follow() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    lab.charon.load(&peer_conn(ike, esp, PSK).render()).unwrap();
    let d = run_driver_with(&lab, "driver", ike, esp, true, &["--dpd-interval", "2"]);
    wait_line(&d, "CHILD_ESTABLISHED");
    lab.charon.wait_child_installed("net", T).unwrap();
    lab.charon.swanctl(&["--rekey", "--child", "net"]).unwrap();
    let rekeyed = wait_line(&d, "CHILD_REKEYED");
    wait_line(&d, "CHILD_DELETED");
    lab.charon.swanctl(&["--rekey", "--ike", "site"]).unwrap();
    wait_line(&d, "IKE_REKEYED");
    // Our liveness checks run over the new IKE SA and strongSwan answers them.
    std::thread::sleep(Duration::from_secs(5));
    let sas = lab.charon.list_sas().unwrap();
    assert_eq!(sas.len(), 1, "{sas:?}");
    let installed: Vec<_> = sas[0]
        .children
        .iter()
        .filter(|c| c.state == "INSTALLED")
        .collect();
    assert_eq!(installed.len(), 1, "{sas:?}");
    assert_eq!(installed[0].spi_in, field(&rekeyed, "spi_out"));
    let out = d.stdout();
    assert!(
        !out.contains("IKE_DOWN")
            && !out.contains("PEER_DEAD")
            && !out.contains("NEGOTIATION_FAILED"),
        "{out}"
    );
}

#[test]
fn dead_strongswan_is_detected_by_dpd_r_tun_5() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    lab.charon.load(&peer_conn(ike, esp, PSK).render()).unwrap();
    let d = run_driver_with(
        &lab,
        "driver",
        ike,
        esp,
        true,
        &["--dpd-interval", "1", "--dpd-timeout", "4"],
    );
    wait_line(&d, "CHILD_ESTABLISHED");
    let _blocked = lab.ours.nft_drop(&["udp dport { 500, 4500 }"]).unwrap();
    let started = std::time::Instant::now();
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(
        line.contains("peer 203.0.113.2:4500 dead: no reply to liveness checks within 4 s"),
        "{line}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(d.stdout().contains("PEER_DEAD"));
}

#[test]
fn several_cidrs_per_side_with_strongswan_r_conn_2() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    // charon routes each local selector from an address inside it.
    lab._peer.addr("lo", "198.19.1.1/32").unwrap();
    lab._peer.addr("lo", "198.19.2.1/32").unwrap();
    let mut c = PskConnection::new(
        PEER,
        OURS,
        "198.19.1.0/24,198.19.2.0/24",
        "198.18.1.0/24,198.18.2.0/24",
    );
    c.ike_proposals = ike.into();
    c.esp_proposals = esp.into();
    c.psk = PSK.into();
    lab.charon.load(&c.render()).unwrap();
    for initiate in [true, false] {
        let d = lab
            .ours
            .spawn(
                if initiate { "driver-i" } else { "driver-r" },
                driver().to_str().unwrap(),
                [
                    "--local",
                    OURS,
                    "--remote",
                    PEER,
                    "--psk",
                    PSK,
                    "--ike",
                    ike,
                    "--esp",
                    esp,
                    "--local-ts",
                    "198.18.1.0/24,198.18.2.0/24",
                    "--remote-ts",
                    "198.19.0.0/16",
                    "--seconds",
                    "20",
                ]
                .into_iter()
                .chain(initiate.then_some("--initiate")),
            )
            .unwrap();
        if !initiate {
            std::thread::sleep(Duration::from_millis(300));
            lab.charon.initiate_child("net", T).unwrap();
        }
        let line = wait_line(&d, "CHILD_ESTABLISHED");
        // Our 198.19.0.0/16 is narrowed to strongSwan's two /24s.
        assert!(
            line.contains("start_addr: 198.19.1.0, end_addr: 198.19.1.255"),
            "{line}"
        );
        assert!(
            line.contains("start_addr: 198.19.2.0, end_addr: 198.19.2.255"),
            "{line}"
        );
        let (_, child) = lab.charon.wait_child_installed("net", T).unwrap();
        assert_eq!(child.local_ts.len(), 2, "{child:?}");
        assert_eq!(child.remote_ts.len(), 2, "{child:?}");
        // strongSwan deletes the IKE SA; we follow (RFC 7296 §1.4.1).
        lab.charon.terminate_ike("site").unwrap();
        let down = wait_line(&d, "IKE_DOWN");
        assert!(down.contains("PeerDelete"), "{down}");
        assert!(d.stdout().contains("CHILD_DELETED"));
    }
}

#[test]
fn restarted_strongswan_with_initial_contact_replaces_our_stale_sa() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    let conf = peer_conn(ike, esp, PSK).render();
    lab.charon.load(&conf).unwrap();
    let d = run_driver(&lab, "driver", ike, esp, true);
    let first = wait_line(&d, "CHILD_ESTABLISHED");
    let Lab {
        ours,
        charon,
        _peer: peer,
    } = lab;
    // strongSwan crashes and comes back without state, then initiates (INITIAL_CONTACT).
    drop(charon);
    let charon = Charon::start(&peer, &CharonOptions::default()).unwrap();
    charon.load(&conf).unwrap();
    charon.initiate_child("net", T).unwrap();
    let mut lines = Vec::new();
    let ok = wait_until("a second CHILD SA and the stale IKE SA gone", T, || {
        lines = d.stdout().lines().map(str::to_owned).collect();
        lines
            .iter()
            .filter(|l| l.starts_with("CHILD_ESTABLISHED"))
            .count()
            == 2
            && lines.iter().any(|l| l.starts_with("IKE_DOWN"))
    });
    assert!(ok.is_ok(), "{lines:#?}");
    let deleted = lines
        .iter()
        .find(|l| l.starts_with("CHILD_DELETED"))
        .unwrap();
    assert_eq!(
        field(deleted, "spi_in"),
        field(&first, "spi_in"),
        "the stale CHILD SA is removed"
    );
    let (_, child) = charon.wait_child_installed("net", T).unwrap();
    let second = lines
        .iter()
        .filter(|l| l.starts_with("CHILD_ESTABLISHED"))
        .nth(1)
        .unwrap();
    assert_eq!(child.spi_in, field(second, "spi_out"));
    drop(ours);
}
