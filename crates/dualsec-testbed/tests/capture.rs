//! The capture check can fail: broken IKE on UDP 500 is reported, valid frames are not.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use dualsec_testbed::Netns;
use dualsec_testbed::capture::{self, Capture};

fn send_udp(ns: &Netns, dst: &str, port: u16, payload_hex: &str) {
    ns.exec(
        "python3",
        [
            "-c",
            &format!(
                "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\
                 .sendto(bytes.fromhex('{payload_hex}'), ('{dst}', {port}))"
            ),
        ],
    )
    .unwrap();
}

#[test]
fn capture_check_reports_broken_ike_and_passes_valid_frames() {
    if !dualsec_testbed::require(&["tcpdump", "tshark", "python3"]) {
        return;
    }
    let a = Netns::new("capa").unwrap();
    let b = Netns::new("capb").unwrap();
    Netns::veth(&a, "eth0", &b, "eth0").unwrap();
    a.addr("eth0", "192.0.2.1/24").unwrap();
    b.addr("eth0", "192.0.2.2/24").unwrap();
    let cap = Capture::start(&b, "eth0", "udp").unwrap();
    // RFC 7296 §3.1 IKE header: SPIi, SPIr, next payload, version 2.0, IKE_SA_INIT, flags,
    // message id, length.
    let header = |len: &str| {
        format!(
            "0102030405060708{}21202208{}{len}",
            "00".repeat(8),
            "00".repeat(4)
        )
    };
    send_udp(&a, "192.0.2.2", 500, &header("0000001c")); // valid: 28 octets, says 28
    send_udp(&a, "192.0.2.2", 500, &header("00000064")); // says 100, carries 28
    send_udp(&a, "192.0.2.2", 500, "0102030405060708090a0b0c"); // 12 octets of a header
    send_udp(&a, "192.0.2.2", 4500, "ff"); // RFC 3948 §2.3 NAT-keepalive: valid
    let pcap = cap.stop().unwrap();
    let s = capture::analyze(&pcap).unwrap();
    assert_eq!((s.frames, s.udp500, s.udp4500), (4, 3, 1), "{s:?}");
    assert_eq!((s.ike, s.keepalive), (2, 1), "{s:?}");
    assert_eq!(s.malformed.len(), 2, "{s:?}");
    assert!(s.malformed.iter().any(|m| m.contains("Malformed")), "{s:?}");
    assert!(
        s.malformed.iter().any(|m| m.starts_with("frame 3:")),
        "{s:?}"
    );
}
