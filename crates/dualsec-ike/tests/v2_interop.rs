//! Our IKEv2 endpoint against real strongSwan (charon with kernel-libipsec) in two network
//! namespaces joined by a veth pair: IKE_SA_INIT + IKE_AUTH + CHILD SA as initiator and as
//! responder for the product default and the interop suites, and explained errors for a PSK and a
//! proposal mismatch (R-DIAG-1).
//!
//! Our side runs `examples/ike_udp_driver` (std UDP sockets on 500/4500) inside its namespace (the
//! lab is `common/interop.rs`); its stdout is one line per endpoint event (its tracing log goes to stderr). `cargo test -p
//! dualsec-ike` builds the example; after editing it, a filtered `--test v2_interop` run needs
//! `cargo build -p dualsec-ike --examples` first. Namespaces, charon and the driver are removed by the
//! testbed guards, even when a test panics.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::interop::{
    IKEV2, Lab, OURS, PEER, PSK, T, each_suite_establishes, field, peer_conn, wait_line,
};
use dualsec_testbed::{Charon, CharonOptions, Process, PskConnection, wait_until};

/// The five suites of issue 4 (IKE proposal, ESP proposal with PFS group).
const SUITES: [(&str, &str); 5] = [
    ("aes128-sha1-modp1024", "aes128-sha1-modp1024"),
    ("aes256-sha256-modp2048", "aes256-sha256-modp2048"),
    ("3des-md5-modp1536", "3des-md5-modp1536"),
    ("aes256gcm16-prfsha384-ecp384", "aes256gcm16-ecp384"),
    ("aes128gcm16-prfsha256-curve25519", "aes128gcm16-curve25519"),
];

fn lab() -> Option<Lab> {
    Lab::start("dsike", "sswan", IKEV2, &CharonOptions::default())
}

fn run_driver(lab: &Lab, name: &str, suite: (&str, &str), initiate: bool) -> Process {
    lab.run_driver(name, PSK, suite, initiate, &[])
}

/// Every suite comes up with us or strongSwan initiating; kernel-libipsec always asks for UDP
/// encapsulation (it fakes NAT detection), and both sides say so.
fn each_suite(we_initiate: bool) {
    each_suite_establishes(
        lab,
        |suite| peer_conn(suite, PSK).render(),
        &SUITES,
        we_initiate,
        &[],
        |_, child, line| {
            assert_eq!(field(line, "udp_encap"), "true", "{line}");
            assert!(child.encap, "{child:?}");
        },
    );
}

#[test]
fn we_initiate_every_interop_suite_against_strongswan() {
    each_suite(true);
}

#[test]
fn strongswan_initiates_every_interop_suite_to_us() {
    each_suite(false);
}

#[test]
fn psk_mismatch_against_strongswan_is_explained() {
    let Some(lab) = lab() else { return };
    lab.charon
        .load(&peer_conn(SUITES[0], "a different key").render())
        .unwrap();
    let d = run_driver(&lab, "driver", SUITES[0], true);
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
        .load(&peer_conn(("aes256-sha256-modp2048", "aes256-sha256"), PSK).render())
        .unwrap();
    common::interop::assert_proposal_mismatch_explained_both_ways(&lab, PSK);
}

#[test]
fn child_rekey_with_strongswan() {
    let Some(lab) = lab() else { return };
    let suite = SUITES[0];
    lab.charon.load(&peer_conn(suite, PSK).render()).unwrap();
    let d = lab.run_driver("driver", PSK, suite, true, &["--rekey-child-after", "2"]);
    let line = wait_line(&d, "CHILD_REKEYED");
    let deleted = wait_line(&d, "CHILD_DELETED");
    assert_ne!(field(&line, "spi_in"), field(&line, "old_spi_in"));
    assert_eq!(
        field(&deleted, "spi_in"),
        field(&line, "old_spi_in"),
        "old SA deleted after the rekey"
    );
    lab.assert_only_child(field(&line, "spi_in"), &d);
}

#[test]
fn we_rekey_the_ike_sa_with_strongswan() {
    let Some(lab) = lab() else { return };
    let suite = SUITES[1];
    lab.charon.load(&peer_conn(suite, PSK).render()).unwrap();
    let d = lab.run_driver("driver", PSK, suite, true, &["--rekey-ike-after", "2"]);
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
    let suite = SUITES[0];
    lab.charon.load(&peer_conn(suite, PSK).render()).unwrap();
    let d = lab.run_driver("driver", PSK, suite, true, &["--dpd-interval", "2"]);
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
    let suite = SUITES[0];
    lab.charon.load(&peer_conn(suite, PSK).render()).unwrap();
    let d = lab.run_driver(
        "driver",
        PSK,
        suite,
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
    lab.peer.addr("lo", "198.19.1.1/32").unwrap();
    lab.peer.addr("lo", "198.19.2.1/32").unwrap();
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
        let mut args = vec![
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
        ];
        if initiate {
            args.push("--initiate");
        }
        let d = lab.spawn_driver(if initiate { "driver-i" } else { "driver-r" }, &args);
        if !initiate {
            lab.strongswan_initiates(&d, "two CIDRs a side");
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
    let suite = SUITES[0];
    let conf = peer_conn(suite, PSK).render();
    lab.charon.load(&conf).unwrap();
    let d = run_driver(&lab, "driver", suite, true);
    let first = wait_line(&d, "CHILD_ESTABLISHED");
    let Lab {
        ours, charon, peer, ..
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
