//! Our IKEv1 endpoint against real strongSwan (charon with kernel-libipsec, `version = 1`) in two
//! network namespaces: main mode and aggressive mode, phase 1 + quick mode as initiator and as
//! responder for the product suites, and explained errors for a PSK and a proposal mismatch
//! (R-DIAG-1).
//!
//! Our side runs `examples/ike_udp_driver --ikev1` inside its namespace (the lab is
//! `common/interop.rs`); its stdout is one line per endpoint event. `cargo test -p dualsec-ike`
//! builds the example; after editing it, a filtered `--test v1_interop` run needs
//! `cargo build -p dualsec-ike --examples` first. Namespaces, charon and the driver are removed
//! by the testbed guards, even when a test panics.

#![allow(clippy::unwrap_used)]

mod common;

use common::interop::{IKEV1, Lab, PSK, each_suite_establishes, field, wait_line};
use dualsec_testbed::{CharonOptions, Process, PskConnection};

/// (IKE proposal, ESP proposal with the PFS group if any), strongSwan syntax: issue 8's suites.
const SUITES: [(&str, &str); 4] = [
    ("aes128-sha1-modp1024", "aes128-sha1-modp1024"),
    // The API default: aes / md5 / group2.
    ("aes128-md5-modp1024", "aes128-md5-modp1024"),
    ("aes256-sha256-modp2048", "aes256-sha256-modp2048"),
    // Without PFS.
    ("3des-md5-modp1024", "3des-md5"),
];

fn lab() -> Option<Lab> {
    let opts = CharonOptions {
        aggressive_mode_psk: true,
        ..CharonOptions::default()
    };
    Lab::start("dsv1", "ssv1", IKEV1, &opts)
}

fn peer_conn(ike: &str, esp: &str, psk: &str, aggressive: bool) -> PskConnection {
    let mut c = common::interop::peer_conn((ike, esp), psk);
    c.version = 1;
    c.aggressive = aggressive;
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
    lab.run_driver(name, PSK, (ike, esp), initiate, extra)
}

/// Every suite comes up in main or aggressive mode, with us or strongSwan initiating, and
/// strongSwan lists an IKEv1 SA.
fn each_suite(aggressive: bool, we_initiate: bool) {
    let extra: &[&str] = if aggressive { &["--aggressive"] } else { &[] };
    each_suite_establishes(
        lab,
        |(ike, esp)| peer_conn(ike, esp, PSK, aggressive).render(),
        &SUITES,
        we_initiate,
        extra,
        |sa, _, _| assert_eq!(sa.version, 1, "IKEv1"),
    );
}

#[test]
fn main_mode_we_initiate_against_strongswan() {
    each_suite(false, true);
}

#[test]
fn main_mode_strongswan_initiates_to_us() {
    each_suite(false, false);
}

#[test]
fn aggressive_mode_we_initiate_against_strongswan() {
    each_suite(true, true);
}

#[test]
fn aggressive_mode_strongswan_initiates_to_us() {
    each_suite(true, false);
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
    common::interop::assert_proposal_mismatch_explained_both_ways(&lab, PSK);
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
    // The new inbound SA was handed out ahead of the event (RFC 2409 §5.5 has no answer to QM3),
    // as the replacement of the old one.
    let out = d.stdout();
    let lines: Vec<&str> = out.lines().collect();
    let ahead = lines.iter().position(|l| {
        l.starts_with("INBOUND_FIRST")
            && field(l, "spi_in") == field(&line, "spi_in")
            && field(l, "replaces") == field(&line, "old_spi_in")
    });
    let event = lines.iter().position(|l| l.starts_with("CHILD_REKEYED"));
    assert!(ahead.is_some() && ahead < event, "{out}");
    lab.assert_only_child(field(&line, "spi_in"), &d);
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
    let (sa, _) = lab.check_child(&line, ike);
    assert_eq!(sa.version, 1, "IKEv1");
    lab.charon.terminate_ike("site").unwrap();
    let del = wait_line(&d, "CHILD_DELETED");
    assert_eq!(field(&del, "spi_in"), field(&line, "spi_in"));
    let down = wait_line(&d, "IKE_DOWN");
    assert!(down.contains("PeerDelete"), "{down}");
}
