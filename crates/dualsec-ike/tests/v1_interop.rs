//! Our IKEv1 endpoint against real strongSwan (charon with kernel-libipsec, `version = 1`) in two
//! network namespaces: main mode and aggressive mode, phase 1 + quick mode as initiator and as
//! responder for the product suites, and explained errors for a PSK and a proposal mismatch
//! (R-DIAG-1).
//!
//! Our side runs `examples/ike_v1_udp_driver` inside its namespace; its stdout is one line per
//! endpoint event. `cargo test -p dualsec-ike` builds the example; after editing it, a filtered
//! `--test v1_interop` run needs `cargo build -p dualsec-ike --examples` first. Namespaces,
//! charon and the driver are removed by the testbed guards, even when a test panics.

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

/// (IKE proposal, ESP proposal with the PFS group if any), strongSwan syntax: issue 8's suites.
const SUITES: [(&str, &str); 4] = [
    ("aes128-sha1-modp1024", "aes128-sha1-modp1024"),
    // The API default: aes / md5 / group2.
    ("aes128-md5-modp1024", "aes128-md5-modp1024"),
    ("aes256-sha256-modp2048", "aes256-sha256-modp2048"),
    // Without PFS.
    ("3des-md5-modp1024", "3des-md5"),
];

fn driver() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("ike_v1_udp_driver")
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
        "build the example first ({:?})",
        driver()
    );
    let ours = Netns::new("dsv1").unwrap();
    let peer = Netns::new("ssv1").unwrap();
    Netns::veth(&ours, "v0", &peer, "v0").unwrap();
    ours.addr_peer("v0", OURS, PEER).unwrap();
    peer.addr_peer("v0", PEER, OURS).unwrap();
    peer.addr("lo", "198.19.0.1/32").unwrap();
    let opts = CharonOptions {
        aggressive_mode_psk: true,
        ..CharonOptions::default()
    };
    let charon = Charon::start(&peer, &opts).unwrap();
    Some(Lab {
        ours,
        charon,
        _peer: peer,
    })
}

fn peer_conn(ike: &str, esp: &str, psk: &str, aggressive: bool) -> PskConnection {
    let mut c = PskConnection::new(PEER, OURS, PEER_NET, OUR_NET);
    c.version = 1;
    c.aggressive = aggressive;
    c.ike_proposals = ike.into();
    c.esp_proposals = esp.into();
    c.psk = psk.into();
    c
}

fn run_driver(
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
        "20",
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

/// strongSwan lists the CHILD SA INSTALLED with our SPIs swapped.
fn check_child(lab: &Lab, line: &str, what: &str) {
    let (sa, child) = lab.charon.wait_child_installed("net", T).unwrap();
    assert_eq!(sa.state, "ESTABLISHED");
    assert_eq!(sa.version, 1, "{what}: IKEv1");
    assert_eq!(child.spi_in, field(line, "spi_out"), "{what}: {child:?}");
    assert_eq!(child.spi_out, field(line, "spi_in"), "{what}: {child:?}");
    let listed = lab.charon.swanctl(&["--list-sas"]).unwrap();
    assert!(listed.contains("INSTALLED"), "{listed}");
}

fn we_initiate(aggressive: bool, suites: &[(&str, &str)]) {
    for (ike, esp) in suites {
        let Some(lab) = lab() else { return };
        lab.charon
            .load(&peer_conn(ike, esp, PSK, aggressive).render())
            .unwrap();
        let extra: &[&str] = if aggressive { &["--aggressive"] } else { &[] };
        let d = run_driver(&lab, "driver", ike, esp, true, extra);
        let line = wait_line(&d, "CHILD_ESTABLISHED");
        check_child(&lab, &line, ike);
        assert!(d.stdout().contains("IKE_UP"), "{}", d.stdout());
        assert!(!d.stdout().contains("NEGOTIATION_FAILED"), "{}", d.stdout());
    }
}

fn strongswan_initiates(aggressive: bool, suites: &[(&str, &str)]) {
    for (ike, esp) in suites {
        let Some(lab) = lab() else { return };
        lab.charon
            .load(&peer_conn(ike, esp, PSK, aggressive).render())
            .unwrap();
        let extra: &[&str] = if aggressive { &["--aggressive"] } else { &[] };
        let d = run_driver(&lab, "driver", ike, esp, false, extra);
        std::thread::sleep(Duration::from_millis(300));
        if let Err(e) = lab.charon.initiate_child("net", T) {
            panic!(
                "{ike}: {e}\ndriver:\n{}\n{}\ncharon:\n{}",
                d.stdout(),
                d.stderr(),
                lab.charon.log()
            );
        }
        let line = wait_line(&d, "CHILD_ESTABLISHED");
        check_child(&lab, &line, ike);
        let (sa, _) = lab.charon.wait_child_installed("net", T).unwrap();
        assert!(sa.initiator, "strongSwan initiated");
    }
}

#[test]
fn main_mode_we_initiate_against_strongswan() {
    we_initiate(false, &SUITES);
}

#[test]
fn main_mode_strongswan_initiates_to_us() {
    strongswan_initiates(false, &SUITES);
}

#[test]
fn aggressive_mode_we_initiate_against_strongswan() {
    we_initiate(true, &SUITES);
}

#[test]
fn aggressive_mode_strongswan_initiates_to_us() {
    strongswan_initiates(true, &SUITES);
}

#[test]
fn psk_mismatch_against_strongswan_is_explained() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    lab.charon
        .load(&peer_conn(ike, esp, "a different key", false).render())
        .unwrap();
    let d = run_driver(&lab, "driver", ike, esp, true, &[]);
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(line.contains("pre-shared key"), "{line}");
    drop(d);
    // Aggressive mode: we verify strongSwan's HASH_R and name the key.
    lab.charon
        .load(&peer_conn(ike, esp, "a different key", true).render())
        .unwrap();
    let d = run_driver(&lab, "driver-am", ike, esp, true, &["--aggressive"]);
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(
        line.contains("did not verify with our key: pre-shared key mismatch"),
        "{line}"
    );
}

#[test]
fn proposal_mismatch_against_strongswan_is_explained_both_ways() {
    let Some(lab) = lab() else { return };
    lab.charon
        .load(&peer_conn("aes256-sha256-modp2048", "aes256-sha256", PSK, false).render())
        .unwrap();
    let d = run_driver(
        &lab,
        "driver-i",
        "aes128-sha1-modp1024",
        "aes128-sha1",
        true,
        &[],
    );
    let line = wait_line(&d, "NEGOTIATION_FAILED");
    assert!(
        line.contains("no matching IKE proposal: we offered aes128-sha1-prfsha1-modp1024"),
        "{line}"
    );
    drop(d);
    let d = run_driver(
        &lab,
        "driver-r",
        "aes128-sha1-modp1024",
        "aes128-sha1",
        false,
        &[],
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
fn quick_mode_rekey_with_strongswan_is_make_before_break() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    lab.charon
        .load(&peer_conn(ike, esp, PSK, false).render())
        .unwrap();
    let d = run_driver(
        &lab,
        "driver",
        ike,
        esp,
        true,
        &["--rekey-child-after", "2"],
    );
    let line = wait_line(&d, "CHILD_REKEYED");
    assert_ne!(field(&line, "spi_in"), field(&line, "old_spi_in"));
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
    assert!(ok, "{:?}\n{}", lab.charon.list_sas(), d.stdout());
}

#[test]
fn strongswan_delete_takes_the_tunnel_down() {
    let Some(lab) = lab() else { return };
    let (ike, esp) = SUITES[0];
    lab.charon
        .load(&peer_conn(ike, esp, PSK, false).render())
        .unwrap();
    let d = run_driver(&lab, "driver", ike, esp, true, &[]);
    let line = wait_line(&d, "CHILD_ESTABLISHED");
    check_child(&lab, &line, ike);
    lab.charon.terminate_ike("site").unwrap();
    let del = wait_line(&d, "CHILD_DELETED");
    assert_eq!(field(&del, "spi_in"), field(&line, "spi_in"));
    let down = wait_line(&d, "IKE_DOWN");
    assert!(down.contains("PeerDelete"), "{down}");
}
