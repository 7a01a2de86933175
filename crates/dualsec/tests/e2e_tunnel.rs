//! Issue 5 end to end: the real `dualsec serve` in the `gw` namespace of the standard topology,
//! everything created through the API with the CLI, the customer side a strongSwan loaded with
//! the generated `swanctl.conf` unchanged; traffic VPC host ⇄ IDC host through the tunnel.
//!
//! Needs root, strongSwan (charon, swanctl), ping and iperf3; skips with a message without them,
//! fails when `DUALSEC_REQUIRE_INTEROP` is set (CI).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod e2e;

use e2e::*;

fn ike_spis(cgw: &Charon, name: &str) -> Option<String> {
    cgw.list_sas()
        .unwrap()
        .into_iter()
        .find(|s| s.name == name && s.state == "ESTABLISHED")
        .map(|s| format!("{}_{}", s.initiator_spi, s.responder_spi))
}

/// Brings a connection up with `tunnel_sets`, loads the generated config unchanged, and passes
/// traffic. Returns what later steps need.
fn tunnel_up(
    tunnel_sets: &[(&str, &str)],
) -> Option<(Topology, Dualsec, Charon, String, [String; 2])> {
    if !dualsec_testbed::require(&["charon", "swanctl", "ping", "iperf3", "ip"]) {
        return None;
    }
    let topo = Topology::build(&TopologyOptions::default()).unwrap();
    let d = Dualsec::start(&topo);
    let (vco, tunnels) = create_connection(&d, "ikev2", true, tunnel_sets);
    let conf = d.cli(&["peer-config", &vco, "--format", "swanctl"]);
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&conf).unwrap();
    // R-CONN-3 EffectImmediately=true: dualsec initiates both tunnels.
    d.wait_tunnel(&vco, 0, "ipsec_sa_established", Duration::from_secs(30));
    d.wait_tunnel(&vco, 1, "ipsec_sa_established", Duration::from_secs(30));
    ping_both_ways(&topo);
    iperf_both_ways(&topo);
    Some((topo, d, cgw, vco, tunnels))
}

#[test]
fn e2e_default_proposal_tunnel_modify_delete() {
    let Some((topo, d, cgw, vco, tunnels)) = tunnel_up(&[]) else {
        return;
    };
    let name1 = format!("{vco}-tunnel1");
    let name2 = format!("{vco}-tunnel2");
    let t1_before = ike_spis(&cgw, &name1).expect("tunnel 1 IKE SA at the customer");
    let t2_before = ike_spis(&cgw, &name2).expect("tunnel 2 IKE SA at the customer");

    // tshark must dissect our IKE and ESP without malformed-packet warnings (issue 5): capture
    // the renegotiation below and the pings after it on the customer's link.
    let capture = dualsec_testbed::require(&["tcpdump", "tshark"]).then(|| {
        dualsec_testbed::capture::Capture::start(
            &topo.inet,
            "cust0",
            "udp port 500 or udp port 4500",
        )
        .unwrap()
    });

    // Modifying tunnel 2 renegotiates tunnel 2 only (issue 5).
    d.json(&[
        "connection",
        "modify-tunnel",
        &tunnels[1],
        "--vpn-connection-id",
        &vco,
        "--set",
        "TunnelOptionsSpecification.TunnelIpsecConfig.IpsecLifetime=7200",
    ]);
    cgw.load(&d.cli(&["peer-config", &vco, "--format", "swanctl"]))
        .unwrap();
    wait_until("tunnel 2 renegotiated", Duration::from_secs(30), || {
        ike_spis(&cgw, &name2).is_some_and(|s| s != t2_before)
    })
    .unwrap();
    d.wait_tunnel(&vco, 1, "ipsec_sa_established", Duration::from_secs(30));
    assert_eq!(
        ike_spis(&cgw, &name1).as_deref(),
        Some(t1_before.as_str()),
        "tunnel 1 must keep its IKE SA"
    );
    // strongSwan sends through whichever CHILD SA of the two tunnels it installed last (same
    // selectors); right after tunnel 2's new SA appears, one packet in ~5 runs was lost (known
    // gap, see docs/INTEROP.md). Let it settle before asserting zero loss.
    std::thread::sleep(Duration::from_secs(1));
    ping_both_ways(&topo);
    if let Some(capture) = capture {
        let pcap = capture.stop().unwrap();
        let summary = dualsec_testbed::capture::analyze(&pcap).unwrap();
        eprintln!("capture: {summary:?}");
        assert!(
            summary.ike >= 4,
            "IKE_SA_INIT/IKE_AUTH/DELETE expected: {summary:?}"
        );
        assert!(summary.esp >= 10, "ESP expected: {summary:?}");
        assert!(
            summary.malformed.is_empty(),
            "tshark: {:?}",
            summary.malformed
        );
    }

    // Deleting the connection sends IKE DELETEs: strongSwan's SAs are gone.
    d.json(&["connection", "delete", &vco]);
    wait_until("customer IKE SAs deleted", Duration::from_secs(15), || {
        cgw.list_sas().unwrap().is_empty()
    })
    .unwrap();
    let r = traffic::ping(&topo.vpc, IDC_HOST, 2, Duration::from_millis(100)).unwrap();
    assert_eq!(r.received, 0, "no tunnel, no traffic");
}

#[test]
fn e2e_aes_gcm_tunnel() {
    // AES-GCM through the API's extension values: ESP per RFC 4106, IKE per RFC 5282.
    let Some((_topo, d, cgw, vco, _)) = tunnel_up(&[
        ("TunnelIkeConfig.IkeEncAlg", "aes256gcm16"),
        ("TunnelIkeConfig.IkeAuthAlg", "sha256"),
        ("TunnelIpsecConfig.IpsecEncAlg", "aes128gcm16"),
    ]) else {
        return;
    };
    let conf = d.cli(&["peer-config", &vco, "--format", "swanctl"]);
    assert!(
        conf.contains("proposals = aes256gcm16-prfsha256-modp1024"),
        "{conf}"
    );
    assert!(
        conf.contains("esp_proposals = aes128gcm16-modp1024"),
        "{conf}"
    );
    // strongSwan agrees on what was negotiated.
    let sas = cgw.list_sas().unwrap();
    let t1 = sas
        .iter()
        .find(|s| s.name == format!("{vco}-tunnel1"))
        .expect("tunnel 1 IKE SA");
    let child = t1.children.first().expect("tunnel 1 CHILD SA");
    assert_eq!(
        child.fields.get("encr-alg").map(String::as_str),
        Some("AES_GCM_16"),
        "{child:?}"
    );
    // dualsec sends through tunnel 1 (master, R-HA-1). strongSwan has the same selectors on both
    // tunnels and sends through either; dualsec accepts both inbound SAs.
    assert!(child.bytes_in > 0, "{child:?}");
    let sent: u64 = sas
        .iter()
        .flat_map(|s| &s.children)
        .map(|c| c.bytes_out)
        .sum();
    assert!(sent > 0, "{sas:?}");
    for s in &sas {
        for c in &s.children {
            assert_eq!(
                c.fields.get("encr-alg").map(String::as_str),
                Some("AES_GCM_16")
            );
        }
    }
}

#[test]
fn e2e_nat_traversal_behind_masquerade() {
    // Issue 5 NAT-T: the customer gateway sits behind an nftables masquerade. A device behind a
    // NAT is unreachable until it sends first, so the customer initiates (dualsec waits for
    // traffic, EffectImmediately=false) with `local_addrs = %any`, as the generated file says.
    if !dualsec_testbed::require(&["charon", "swanctl", "ping", "nft", "ip"]) {
        return;
    }
    let topo = Topology::build(&TopologyOptions { nat: true }).unwrap();
    let d = Dualsec::start(&topo);
    let (vco, _) = create_connection(&d, "ikev2", false, &[]);
    let conf = d
        .cli(&["peer-config", &vco, "--format", "swanctl"])
        .replace("local_addrs = 203.0.113.1", "local_addrs = %any");
    assert!(conf.contains("Behind a NAT, set local_addrs = %any"));
    let cgw = Charon::start(&topo.cgw, &CharonOptions::default()).unwrap();
    cgw.load(&conf).unwrap();
    let child = format!("{vco}-tunnel1");
    cgw.initiate_child(&child, Duration::from_secs(20)).unwrap();
    d.wait_tunnel(&vco, 0, "ipsec_sa_established", Duration::from_secs(20));
    let sas = cgw.list_sas().unwrap();
    let ike = sas.iter().find(|s| s.name == child).expect("IKE SA");
    assert!(
        ike.nat_local,
        "strongSwan must see itself behind the NAT: {ike:?}"
    );
    assert_eq!(ike.remote_port, 4500, "{ike:?}");
    assert!(ike.children.first().is_some_and(|c| c.encap), "{ike:?}");
    ping_both_ways(&topo);
    iperf_both_ways(&topo);
}

#[test]
fn e2e_child_rekey_every_20s_during_60s_iperf() {
    // Issue 5: IpsecLifetime 22 s, so dualsec rekeys the CHILD SAs at 90 % ≈ 20 s (the customer
    // side only at 22 s, see peer_config): three rekeys during a 60 s TCP stream, make-before-
    // break on both ends. No TCP connection lost, no replay or ICV drops on either side.
    let Some((topo, d, cgw, vco, _)) = tunnel_up(&[("TunnelIpsecConfig.IpsecLifetime", "22")])
    else {
        return;
    };
    let name1 = format!("{vco}-tunnel1");
    let spi_in = |cgw: &Charon| {
        cgw.list_sas()
            .unwrap()
            .into_iter()
            .find(|s| s.name == name1)
            .and_then(|s| s.children.first().map(|c| c.spi_in.clone()))
    };
    let first = spi_in(&cgw).expect("tunnel 1 CHILD SA");
    let _srv = traffic::Iperf3Server::start(&topo.idc, 5301).unwrap();
    let r = traffic::iperf3_client(&topo.vpc, IDC_HOST, 5301, 60, &[]).unwrap();
    assert!(r.json.get("error").is_none(), "iperf3: {}", r.json["error"]);
    let intervals = r.json["intervals"].as_array().unwrap();
    assert!(
        intervals.len() >= 59,
        "the stream ended early: {} s",
        intervals.len()
    );
    let stalled: Vec<usize> = intervals
        .iter()
        .enumerate()
        .filter(|(_, i)| i["sum"]["bytes"].as_u64().unwrap_or(0) == 0)
        .map(|(n, _)| n)
        .collect();
    assert!(stalled.len() <= 1, "seconds without data: {stalled:?}");
    eprintln!(
        "60 s through rekeys: {:.0} Mbit/s, {} retransmits",
        r.received_bps / 1e6,
        r.retransmits
    );
    let now = spi_in(&cgw).expect("tunnel 1 CHILD SA after the run");
    assert_ne!(now, first, "the CHILD SA was never rekeyed");
    let log = cgw.log();
    // dualsec initiates every rekey: three per tunnel in 60 s (tunnel 2 idles but rekeys too).
    let rekeys = log.matches("parsed CREATE_CHILD_SA request").count();
    assert!(rekeys >= 4, "only {rekeys} CHILD rekeys from dualsec");
    for bad in ["ICV verification", "replay", "failed to decrypt"] {
        assert!(!log.contains(bad), "strongSwan logged {bad:?}");
    }
    let serve_log = d.stop();
    assert_eq!(
        shutdown_counter(&serve_log, "replay"),
        0,
        "{}",
        tail(&serve_log, 20)
    );
    assert_eq!(shutdown_counter(&serve_log, "icv"), 0);
    assert!(shutdown_counter(&serve_log, "esp_rx") > 1000);
}

/// Sniffs one ESP-in-UDP packet from the customer to a dualsec IP, then sends it back replayed,
/// truncated, bit-flipped and with an unknown SPI, from the customer's address and port.
const BAD_ESP: &str = r#"
import socket, struct, sys, time
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
sniff.settimeout(10)
cgw, dsts = sys.argv[1], sys.argv[2].split(",")
while True:
    frame, _ = sniff.recvfrom(65535)
    ip = frame[14:]
    if ip[9] != 17: continue
    ihl = (ip[0] & 15) * 4
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    esp = ip[ihl + 8:]
    if src == cgw and dst in dsts and dport == 4500 and len(esp) > 40 and esp[:4] != b"\0\0\0\0":
        break
# A raw IPv4 socket: the kernel routes by destination and fills in length and checksum.
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def send(payload):
    udp = struct.pack("!HHHH", sport, 4500, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      socket.inet_aton(cgw), socket.inet_aton(dst))
    s.sendto(hdr + udp, (dst, 0))
    time.sleep(0.05)
# Bit-flipped with a fresh sequence number, so that the replay check (done first, RFC 4303
# §3.4.3) passes and the ICV check must catch it.
flipped = bytearray(esp); flipped[len(esp) // 2] ^= 0x40
flipped[4:8] = struct.pack("!I", struct.unpack("!I", esp[4:8])[0] + 100000)
wrong_spi = b"\xde\xad\xbe\xef" + esp[4:]
for p in (esp, esp, esp[:20], bytes(flipped), wrong_spi):
    send(p)
print(dst, len(esp))
"#;

#[test]
fn e2e_bad_esp_packets_dropped_and_counted() {
    // Issue 5: replayed, truncated, bit-flipped and wrong-SPI ESP are dropped and counted
    // (RFC 4303 §3.4.3, §3.4.4; STYLE.md §6), and the tunnel keeps working.
    if !dualsec_testbed::require(&["python3"]) {
        return;
    }
    let Some((topo, d, _cgw, vco, _)) = tunnel_up(&[]) else {
        return;
    };
    let gw = d.json(&["connection", "describe", &vco])["VpnGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut pinger = topo
        .idc
        .spawn("ping-bg", "ping", ["-c", "50", "-i", "0.1", VPC_HOST])
        .unwrap();
    let out = topo
        .inet
        .exec(
            "python3",
            [
                "-c",
                BAD_ESP,
                dualsec_testbed::topology::CGW_PUBLIC,
                &format!("{IP1},{IP2}"),
            ],
        )
        .unwrap();
    eprintln!("bad ESP sent to {out}");
    pinger.wait_timeout(Duration::from_secs(10)).unwrap();
    ping_both_ways(&topo);

    // Visible through the API while serve runs (the engine writes counters every 2 s): the
    // gateway's DataPlane block has every reason, the tunnels' Counters.Drops the ones tied to
    // an SA (replay, ICV), summed over both tunnels (the script picks whichever carries traffic).
    let gateway_block = || d.json(&["vpn-gateway", "describe", &gw])["DataPlane"].clone();
    let tunnel_drops = |reason: &str| -> u64 {
        (0..2)
            .map(|i| {
                d.tunnel(&vco, i)["Counters"]["Drops"][reason]
                    .as_u64()
                    .unwrap()
            })
            .sum()
    };
    let seen = wait_until(
        "drops visible through the API",
        Duration::from_secs(10),
        || {
            let dp = gateway_block();
            dp["EspDrops"]["Replay"].as_u64() >= Some(2)
                && dp["EspDrops"]["IcvFailure"].as_u64() >= Some(1)
                && dp["EspDrops"]["Malformed"].as_u64() >= Some(1)
                && dp["UnknownSpi"].as_u64() >= Some(1)
                && tunnel_drops("Replay") >= 2
                && tunnel_drops("IcvFailure") >= 1
                && tunnel_drops("Malformed") >= 1
        },
    );
    let dp = gateway_block();
    let live = |k: &str| dp["EspDrops"][k].as_u64().unwrap();
    let (t_replay, t_icv) = (tunnel_drops("Replay"), tunnel_drops("IcvFailure"));
    let t_truncated = tunnel_drops("Malformed");
    let conn = d.json(&["connection", "describe", &vco]);
    eprintln!(
        "live: DataPlane {dp}; tunnel drops replay={t_replay} icv={t_icv}; \
         tunnel 1 {}; tunnel 2 {}",
        conn["TunnelOptionsSpecification"]["TunnelOptions"][0]["Counters"],
        conn["TunnelOptionsSpecification"]["TunnelOptions"][1]["Counters"]
    );
    assert!(
        seen.is_ok(),
        "gateway DataPlane: {dp:#}\nconnection: {conn:#}"
    );
    // Every replay, ICV and truncated drop here carried a known SPI, so the tunnels account for
    // all of them; only the wrong SPI is gateway-wide.
    assert_eq!(t_replay, live("Replay"), "{dp:#}\n{conn:#}");
    assert_eq!(t_icv, live("IcvFailure"), "{dp:#}\n{conn:#}");
    assert_eq!(t_truncated, live("Malformed"), "{dp:#}\n{conn:#}");

    // The CLI's human output shows them too (flattened `Key  Value` lines).
    let text = d.cli(&["vpn-gateway", "describe", &gw]);
    let line = text
        .lines()
        .find(|l| l.starts_with("DataPlane.UnknownSpi "))
        .unwrap_or_else(|| panic!("no DataPlane.UnknownSpi in:\n{text}"));
    assert_eq!(line.split_whitespace().nth(1), Some("1"), "{line}");

    let log = d.stop();
    let c = |k: &str| shutdown_counter(&log, k);
    assert!(c("replay") >= 2, "replayed copies: {}", tail(&log, 5));
    assert!(c("malformed") >= 1, "truncated: {}", tail(&log, 5));
    assert!(c("icv") >= 1, "bit-flipped: {}", tail(&log, 5));
    assert!(c("bad_spi") >= 1, "wrong SPI: {}", tail(&log, 5));
    // The live API numbers match the shutdown totals (no bad packets after the script).
    assert_eq!(live("Replay"), c("replay"), "{dp:#}\n{}", tail(&log, 5));
    assert_eq!(live("IcvFailure"), c("icv"), "{dp:#}\n{}", tail(&log, 5));
    assert_eq!(
        live("Malformed"),
        c("malformed"),
        "{dp:#}\n{}",
        tail(&log, 5)
    );
    assert_eq!(dp["UnknownSpi"].as_u64(), Some(c("bad_spi")), "{dp:#}");
}
