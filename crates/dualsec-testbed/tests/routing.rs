//! BGP peers for the BGP issue: BIRD and FRR start in namespaces, answer their CLIs, and peer
//! with each other over a link-local /30 (169.254.0.0/16, as the product's BGP tunnels use).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::Duration;

use dualsec_testbed::routing::parse_bird_protocols;
use dualsec_testbed::{Bird, Frr, Netns, wait_until};

#[test]
fn bird_starts_in_a_namespace_and_answers() {
    if !dualsec_testbed::require(&["bird", "birdc"]) {
        return;
    }
    let ns = Netns::new("bird").unwrap();
    let bird = Bird::start(&ns, &Bird::minimal_config("169.254.10.1")).unwrap();
    let status = bird.birdc("show status").unwrap();
    assert!(status.contains("Router ID is 169.254.10.1"), "{status}");
    assert!(status.contains("Daemon is up and running"), "{status}");
    let protos = bird.protocols().unwrap();
    assert!(
        protos
            .iter()
            .any(|p| p.proto == "Device" && p.state == "up"),
        "{protos:?}"
    );
}

#[test]
fn bird_and_frr_establish_bgp_and_exchange_routes() {
    if !dualsec_testbed::require(&["bird", "birdc", "zebra", "bgpd", "vtysh"]) {
        return;
    }
    let a = Netns::new("bgpa").unwrap();
    let b = Netns::new("bgpb").unwrap();
    Netns::veth(&a, "bgp0", &b, "bgp0").unwrap();
    a.addr("bgp0", "169.254.10.1/30").unwrap();
    b.addr("bgp0", "169.254.10.2/30").unwrap();

    let bird = Bird::start(
        &a,
        &format!(
            "{}protocol static {{ ipv4; route 198.19.0.0/16 blackhole; }}\n\
             protocol bgp frr {{\n  local 169.254.10.1 as 65001;\n  \
             neighbor 169.254.10.2 as 65002;\n  hold time 9;\n  \
             ipv4 {{ import all; export all; }};\n}}\n",
            Bird::minimal_config("169.254.10.1")
        ),
    )
    .unwrap();
    let frr = Frr::start(
        &b,
        "hostname cgw\nrouter bgp 65002\n bgp router-id 169.254.10.2\n \
         no bgp ebgp-requires-policy\n no bgp network import-check\n \
         neighbor 169.254.10.1 remote-as 65001\n neighbor 169.254.10.1 timers 3 9\n \
         address-family ipv4 unicast\n  network 198.18.0.0/16\n exit-address-family\n",
    )
    .unwrap();

    wait_until("BGP Established in BIRD", Duration::from_secs(20), || {
        bird.protocols().is_ok_and(|p| {
            p.iter()
                .any(|p| p.name == "frr" && p.info.contains("Established"))
        })
    })
    .unwrap();
    // RFC 4271 §9: each side installs what the other announced.
    wait_until("BIRD learns 198.18.0.0/16", Duration::from_secs(10), || {
        bird.birdc("show route 198.18.0.0/16")
            .is_ok_and(|r| r.contains("198.18.0.0/16") && r.contains("AS65002"))
    })
    .unwrap();
    wait_until("FRR learns 198.19.0.0/16", Duration::from_secs(10), || {
        frr.vtysh("show bgp ipv4 unicast 198.19.0.0/16")
            .is_ok_and(|r| r.contains("65001"))
    })
    .unwrap();
    let summary = frr.vtysh("show bgp summary").unwrap();
    assert!(summary.contains("169.254.10.1"), "{summary}");
}

#[test]
fn parses_bird_protocol_table() {
    let text = "BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     14:20:01.123  
frr        BGP        ---        up     14:20:03.456  Established   
static1    Static     master4    up     14:20:01.123  
";
    let p = parse_bird_protocols(text);
    assert_eq!(p.len(), 3);
    assert_eq!(p[1].name, "frr");
    assert_eq!(p[1].proto, "BGP");
    assert_eq!(p[1].info, "Established");
    assert_eq!(p[0].info, "");
}
