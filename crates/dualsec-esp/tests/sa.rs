//! Behaviour of ESP SAs: known-answer packets, round trips for every algorithm, and every way an
//! inbound packet can be bad (RFC 4303 §3.4), with the SA still working afterwards.

#![allow(clippy::unwrap_used)] // test helpers: a failure here is a test failure

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use dualsec_crypto::{EncrId, IntegId};
use dualsec_esp::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const HEAD: usize = MAX_HEADROOM;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7)
}

fn params(
    dir: Direction,
    spi: u32,
    encr: EncrId,
    ek: usize,
    integ: IntegId,
    ik: usize,
) -> SaParams {
    SaParams {
        spi: Spi(spi),
        direction: dir,
        encr,
        encr_key: (0..ek).map(|i| i as u8 ^ 0x5a).collect(),
        integ,
        integ_key: (0..ik).map(|i| i as u8 ^ 0xa5).collect(),
        esn: false,
        replay_window: 64,
        lifetimes: Lifetimes::default(),
        udp_encap: Some(UdpEncap {
            local_port: 4500,
            remote_port: 4500,
        }),
        tunnel: TunnelEndpoints {
            local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            remote: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)),
        },
        selectors: Selectors::default(),
    }
}

/// (name, encr, encr key octets incl. salt, integ, integ key octets) for every product algorithm
/// pairing (R-TUN-4) and AES-GCM-16 (RFC 4106).
fn suites() -> Vec<(&'static str, EncrId, usize, IntegId, usize)> {
    let mut v = Vec::new();
    let ciphers = [
        ("aes", EncrId::AES_CBC, 16),
        ("aes192", EncrId::AES_CBC, 24),
        ("aes256", EncrId::AES_CBC, 32),
        ("des", EncrId::DES, 8),
        ("3des", EncrId::TRIPLE_DES, 24),
    ];
    let integs = [
        ("md5", IntegId::HMAC_MD5_96, 16),
        ("sha1", IntegId::HMAC_SHA1_96, 20),
        ("sha256", IntegId::HMAC_SHA2_256_128, 32),
        ("sha384", IntegId::HMAC_SHA2_384_192, 48),
        ("sha512", IntegId::HMAC_SHA2_512_256, 64),
    ];
    for (cn, c, ck) in ciphers {
        for (inn, i, ik) in integs {
            v.push((
                Box::leak(format!("{cn}-{inn}").into_boxed_str()) as &str,
                c,
                ck,
                i,
                ik,
            ));
        }
    }
    v.push(("aes128gcm16", EncrId::AES_GCM_16, 20, IntegId::NONE, 0));
    v.push(("aes192gcm16", EncrId::AES_GCM_16, 28, IntegId::NONE, 0));
    v.push(("aes256gcm16", EncrId::AES_GCM_16, 36, IntegId::NONE, 0));
    v
}

fn pair(
    encr: EncrId,
    ek: usize,
    integ: IntegId,
    ik: usize,
    esn: bool,
    now: Instant,
) -> (OutboundSa, InboundSa) {
    let mut o = params(Direction::Outbound, 0x1000, encr, ek, integ, ik);
    o.esn = esn;
    let mut i = params(Direction::Inbound, 0x1000, encr, ek, integ, ik);
    i.esn = esn;
    (
        OutboundSa::new(&o, now).unwrap(),
        InboundSa::new(&i, now).unwrap(),
    )
}

/// An IPv4 packet 198.18.0.1 → 198.19.0.1 of `len` octets.
fn ipv4(len: usize, fill: u8) -> Vec<u8> {
    let mut p = vec![fill; len];
    p[0] = 0x45;
    p[1] = 0;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[12..16].copy_from_slice(&[198, 18, 0, 1]);
    p[16..20].copy_from_slice(&[198, 19, 0, 1]);
    p
}

fn ipv6(payload: usize) -> Vec<u8> {
    let mut p = vec![0x77; 40 + payload];
    p[0] = 0x60;
    p[1..4].copy_from_slice(&[0, 0, 0]);
    p[4..6].copy_from_slice(&(payload as u16).to_be_bytes());
    p[8..24].copy_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    p[24..40].copy_from_slice(
        &"2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    p
}

/// Encapsulates `inner` and returns the ESP packet bytes.
fn seal(o: &mut OutboundSa, now: Instant, inner: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; HEAD + inner.len() + MAX_TAILROOM];
    buf[HEAD..HEAD + inner.len()].copy_from_slice(inner);
    let r = o
        .encapsulate(now, &mut rng(), &mut buf, HEAD..HEAD + inner.len())
        .unwrap();
    buf[r].to_vec()
}

fn open(i: &mut InboundSa, now: Instant, pkt: &[u8]) -> Result<Vec<u8>, DropReason> {
    let mut b = pkt.to_vec();
    let d = i.decapsulate(now, &mut b)?;
    Ok(b[d.inner].to_vec())
}

#[test]
fn round_trip_every_algorithm_ipv4_and_ipv6_rfc4303_s3() {
    let now = Instant::now();
    for (name, encr, ek, integ, ik) in suites() {
        let (mut o, mut i) = pair(encr, ek, integ, ik, false, now);
        for len in [20, 21, 40, 64, 99, 1400] {
            let inner = ipv4(len, len as u8);
            let pkt = seal(&mut o, now, &inner);
            assert_eq!(
                EspPacket::new_checked(&pkt[..]).unwrap().spi(),
                Spi(0x1000),
                "{name}"
            );
            assert_ne!(
                &pkt[pkt.len() - inner.len()..],
                &inner[..],
                "{name}: payload must be encrypted"
            );
            assert_eq!(open(&mut i, now, &pkt).unwrap(), inner, "{name} len {len}");
        }
        let inner6 = ipv6(33);
        let pkt = seal(&mut o, now, &inner6);
        assert_eq!(open(&mut i, now, &pkt).unwrap(), inner6, "{name} ipv6");
        assert_eq!(o.counters().packets, 7, "{name}");
        assert_eq!(i.counters().packets, 7, "{name}");
        assert_eq!(i.counters().bytes, o.counters().bytes, "{name}");
    }
}

#[test]
fn outbound_layout_padding_is_monotonic_rfc4303_s2_4() {
    // Decrypt our own output with the crypto crate directly and look at the trailer.
    let now = Instant::now();
    let mut p = params(
        Direction::Outbound,
        0x2000,
        EncrId::AES_CBC,
        16,
        IntegId::HMAC_SHA1_96,
        20,
    );
    p.esn = false;
    let mut o = OutboundSa::new(&p, now).unwrap();
    assert_eq!(o.headroom(), 8 + 16);
    let inner = ipv4(21, 0); // 21 + 2 = 23 → 9 pad octets to 32
    let pkt = seal(&mut o, now, &inner);
    assert_eq!(pkt.len(), 8 + 16 + 32 + 12);
    assert_eq!(
        &pkt[4..8],
        &[0, 0, 0, 1],
        "first sequence number is 1 (RFC 4303 §3.3.3)"
    );
    let cipher = dualsec_crypto::Cipher::new(EncrId::AES_CBC, Some(128)).unwrap();
    let dualsec_crypto::CipherKey::Cbc(k) = cipher.key(&p.encr_key).unwrap() else {
        panic!()
    };
    let mut ct = pkt[24..56].to_vec();
    k.decrypt_in_place(&pkt[8..24], &mut ct).unwrap();
    assert_eq!(&ct[..21], &inner[..]);
    assert_eq!(&ct[21..30], &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(ct[30], 9, "pad length");
    assert_eq!(ct[31], 4, "next header IPv4");
    // ICV = HMAC-SHA1-96 over header, IV and ciphertext (RFC 4303 §3.3.2.1).
    let ik = dualsec_crypto::Integ::new(IntegId::HMAC_SHA1_96)
        .unwrap()
        .key(&p.integ_key)
        .unwrap();
    ik.verify(&[&pkt[..56]], &pkt[56..]).unwrap();
}

#[test]
fn gcm_iv_is_sequence_number_and_aad_rfc4106_s3_s5() {
    let now = Instant::now();
    let (mut o, _) = pair(EncrId::AES_GCM_16, 20, IntegId::NONE, 0, false, now);
    for n in 1..=3u64 {
        let pkt = seal(&mut o, now, &ipv4(40, 1));
        assert_eq!(&pkt[8..16], &n.to_be_bytes());
        // 40 + 2 = 42 → 2 pad octets to a 4-octet boundary.
        assert_eq!(pkt.len(), 8 + 8 + 44 + 16);
    }
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

/// draft-mcgrew-gcm-test-01 Test Case 2 (as carried by OpenDataPlane's IPsec test vectors):
/// AES-128-GCM, SPI 0x0000a5f8, seq 10, tunnel-mode IPv4/UDP inner packet.
#[test]
fn known_answer_mcgrew_gcm_test_case_2() {
    let now = Instant::now();
    let mut p = params(
        Direction::Inbound,
        0xa5f8,
        EncrId::AES_GCM_16,
        0,
        IntegId::NONE,
        0,
    );
    p.encr_key = hex("feffe9928665731c6d6a8f9467308308 cafebabe");
    let mut sa = InboundSa::new(&p, now).unwrap();
    let esp = hex("0000a5f8 0000000a facedbaddecaf888
         deb22cd9b07c72c16e3a65beeb8df304 a5a5897d33ae530f1ba76d5d114d2a5c
         3de81827c10e9a4f51330d0eec416642 cfbb85a5b47e48a4ec3b9ba95d918bd4
         26f8391b9927d0fcc984561bbbce9fc0");
    let inner = hex(
        "4500003e698f000080114dccc0a80102 c0a801010a980035002a2343b2d00100
         00010000000000000373697009637962 65726369747902646b0000010001",
    );
    assert_eq!(open(&mut sa, now, &esp).unwrap(), inner);
    assert_eq!(sa.replay_top(), 10);
    // Replayed: dropped and counted.
    assert_eq!(open(&mut sa, now, &esp), Err(DropReason::Replay));
}

/// draft-mcgrew-gcm-test-01 Test Case 3: AES-256-GCM, SPI 0x4a2cbfe3, seq 2, inner TCP SYN,
/// two pad octets (1, 2).
#[test]
fn known_answer_mcgrew_gcm_test_case_3() {
    let now = Instant::now();
    let mut p = params(
        Direction::Inbound,
        0x4a2c_bfe3,
        EncrId::AES_GCM_16,
        0,
        IntegId::NONE,
        0,
    );
    p.encr_key = hex("abbccddef00112233445566778899aab abbccddef00112233445566778899aab 11223344");
    let mut sa = InboundSa::new(&p, now).unwrap();
    let esp = hex("4a2cbfe3 00000002 0102030405060708
         ff425c9b724599df7a3bcd510194e00d 6a78107f1b0b1cbf06efae9d65a5d763
         748a637985771d347f0545659f14e99d ef842d8b42f564f52dfdd6eef4f92ead
         bac23990");
    let inner = hex(
        "4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000
         7002400020bf0000020405b401010402",
    );
    assert_eq!(open(&mut sa, now, &esp).unwrap(), inner);
}

/// RFC 3602 §4 Case #7: AES-128-CBC tunnel-mode ESP, SPI 0x8765, seq 2. The RFC's packet has no
/// ICV; we append an HMAC-SHA1-96 computed with the crypto crate so the packet passes our
/// integrity stage, and check that the IV position, CBC and trailer parsing give the RFC's
/// plaintext.
#[test]
fn known_answer_rfc3602_case_7_tunnel_mode() {
    let now = Instant::now();
    let mut p = params(
        Direction::Inbound,
        0x8765,
        EncrId::AES_CBC,
        16,
        IntegId::HMAC_SHA1_96,
        20,
    );
    p.encr_key = hex("0123456789abcdef0123456789abcdef");
    let mut sa = InboundSa::new(&p, now).unwrap();
    let mut esp = hex("00008765 00000002 f4e765244f6407adf13dc1380f673f37
         773b5241a4c449225e4f3ce5ed611b0c 237ca96cf74a93013c1b0ea1a0cf70f8
         e4ecaec78ac53aad7a0f022b859243c6 47752e94a859352b8a4d4d2decd136e5
         c177f132ad3fbfb2201ac9904c74ee0a 109e0ca1e4dfe9d5a100b842f1c22f0d");
    let ik = dualsec_crypto::Integ::new(IntegId::HMAC_SHA1_96)
        .unwrap()
        .key(&p.integ_key)
        .unwrap();
    let icv = ik.compute(&[&esp]);
    esp.extend_from_slice(icv.as_ref());
    let inner = hex(
        "45000054090400004001f988c0a87b03 c0a87bc808009f76a90a0100b49c083d
         02a20400 08090a0b0c0d0e0f 1011121314151617 18191a1b1c1d1e1f
         2021222324252627 28292a2b2c2d2e2f 3031323334353637",
    );
    assert_eq!(open(&mut sa, now, &esp).unwrap(), inner);
}

#[test]
fn truncated_at_every_length_is_dropped_then_sa_still_works() {
    let now = Instant::now();
    for (name, encr, ek, integ, ik) in suites() {
        let (mut o, mut i) = pair(encr, ek, integ, ik, false, now);
        let inner = ipv4(60, 3);
        let pkt = seal(&mut o, now, &inner);
        for len in 0..pkt.len() {
            let r = open(&mut i, now, &pkt[..len]);
            assert!(
                matches!(r, Err(DropReason::Malformed | DropReason::IcvFailure)),
                "{name}: len {len} gave {r:?}"
            );
        }
        let dropped = i.counters().dropped.total();
        assert_eq!(
            dropped,
            pkt.len() as u64,
            "{name}: every truncation counted"
        );
        assert_eq!(
            open(&mut i, now, &pkt).unwrap(),
            inner,
            "{name}: the full packet still passes"
        );
    }
}

#[test]
fn bit_flips_anywhere_fail_the_icv_and_do_not_move_the_window() {
    let now = Instant::now();
    for (name, encr, ek, integ, ik) in suites() {
        let (mut o, mut i) = pair(encr, ek, integ, ik, false, now);
        let inner = ipv4(48, 9);
        let pkt = seal(&mut o, now, &inner);
        // Skip the SPI (a flip there is a different SA) and flip every other bit once.
        for byte in 4..pkt.len() {
            for bit in 0..8 {
                let mut bad = pkt.clone();
                bad[byte] ^= 1 << bit;
                let r = open(&mut i, now, &bad);
                assert!(
                    matches!(r, Err(DropReason::IcvFailure | DropReason::Replay)),
                    "{name}: byte {byte} bit {bit} gave {r:?}"
                );
            }
        }
        assert_eq!(
            i.replay_top(),
            0,
            "{name}: forged packets never commit the window"
        );
        assert_eq!(i.counters().packets, 0);
        assert_eq!(open(&mut i, now, &pkt).unwrap(), inner, "{name}");
    }
}

#[test]
fn replayed_and_old_packets_are_dropped_rfc4303_s3_4_3() {
    let now = Instant::now();
    let (mut o, mut i) = pair(EncrId::AES_GCM_16, 20, IntegId::NONE, 0, false, now);
    let pkts: Vec<_> = (0..100)
        .map(|n| seal(&mut o, now, &ipv4(30, n as u8)))
        .collect();
    // Deliver 100 first, then the rest out of order: all within the 64-window pass except
    // those older than 100 - 64.
    assert!(open(&mut i, now, &pkts[99]).is_ok());
    for (n, p) in pkts.iter().enumerate().take(99) {
        let seq = n as u64 + 1;
        let r = open(&mut i, now, p);
        if seq + 64 <= 100 {
            assert_eq!(r, Err(DropReason::Replay), "seq {seq}");
        } else {
            assert!(r.is_ok(), "seq {seq}");
        }
    }
    for p in &pkts {
        assert_eq!(open(&mut i, now, p), Err(DropReason::Replay));
    }
    assert_eq!(i.counters().packets, 64);
    assert_eq!(i.counters().dropped.get(DropReason::Replay), 36 + 100);
}

/// Builds an ESP packet by hand with AES-CBC + HMAC-SHA1-96 so trailers can be made wrong while
/// the ICV stays valid.
fn handmade(p: &SaParams, seq: u32, plaintext: &[u8]) -> Vec<u8> {
    let cipher = dualsec_crypto::Cipher::new(EncrId::AES_CBC, Some(128)).unwrap();
    let dualsec_crypto::CipherKey::Cbc(k) = cipher.key(&p.encr_key).unwrap() else {
        panic!()
    };
    let mut pkt = Vec::new();
    pkt.extend_from_slice(&p.spi.0.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    let iv = [0x42u8; 16];
    pkt.extend_from_slice(&iv);
    let mut ct = plaintext.to_vec();
    k.encrypt_in_place(&iv, &mut ct).unwrap();
    pkt.extend_from_slice(&ct);
    let ik = dualsec_crypto::Integ::new(IntegId::HMAC_SHA1_96)
        .unwrap()
        .key(&p.integ_key)
        .unwrap();
    let icv = ik.compute(&[&pkt]);
    pkt.extend_from_slice(icv.as_ref());
    pkt
}

fn plaintext(inner: &[u8], pad: &[u8], pad_len: u8, nh: u8) -> Vec<u8> {
    let mut v = inner.to_vec();
    v.extend_from_slice(pad);
    v.push(pad_len);
    v.push(nh);
    v
}

#[test]
fn trailer_checks_padding_next_header_dummy_rfc4303_s2_4_s2_6() {
    let now = Instant::now();
    let p = params(
        Direction::Inbound,
        0x3000,
        EncrId::AES_CBC,
        16,
        IntegId::HMAC_SHA1_96,
        20,
    );
    let mut sa = InboundSa::new(&p, now).unwrap();
    let inner = ipv4(20, 0);
    let pad: Vec<u8> = (1..=10).collect();
    // Good packet: 20 + 10 + 2 = 32.
    let good = handmade(&p, 1, &plaintext(&inner, &pad, 10, 4));
    assert_eq!(open(&mut sa, now, &good).unwrap(), inner);
    // Pad bytes not 1, 2, 3, …
    let mut badpad = pad.clone();
    badpad[5] = 0;
    assert_eq!(
        open(
            &mut sa,
            now,
            &handmade(&p, 2, &plaintext(&inner, &badpad, 10, 4))
        ),
        Err(DropReason::BadPadding)
    );
    // Pad length pointing before the payload start.
    let mut pt = plaintext(&inner, &pad, 10, 4);
    pt[30] = 31;
    assert_eq!(
        open(&mut sa, now, &handmade(&p, 3, &pt)),
        Err(DropReason::BadPadding)
    );
    // Next header 59: a dummy packet, dropped silently (counted as Dummy).
    assert_eq!(
        open(
            &mut sa,
            now,
            &handmade(&p, 4, &plaintext(&inner, &pad, 10, 59))
        ),
        Err(DropReason::Dummy)
    );
    // Next header 17 (transport-mode UDP) is not tunnel mode.
    assert_eq!(
        open(
            &mut sa,
            now,
            &handmade(&p, 5, &plaintext(&inner, &pad, 10, 17))
        ),
        Err(DropReason::BadNextHeader)
    );
    // Next header says IPv6 but the packet is IPv4.
    assert_eq!(
        open(
            &mut sa,
            now,
            &handmade(&p, 6, &plaintext(&inner, &pad, 10, 41))
        ),
        Err(DropReason::BadNextHeader)
    );
    // Authentic packets commit the window even when the trailer is bad (RFC 4303 §3.4.3 order).
    assert_eq!(sa.replay_top(), 6);
    let c = sa.counters();
    assert_eq!(c.dropped.get(DropReason::BadPadding), 2);
    assert_eq!(c.dropped.get(DropReason::Dummy), 1);
    assert_eq!(c.dropped.get(DropReason::BadNextHeader), 2);
    assert_eq!(
        open(
            &mut sa,
            now,
            &handmade(&p, 7, &plaintext(&inner, &pad, 10, 4))
        )
        .unwrap(),
        inner
    );
}

#[test]
fn tfc_padding_after_inner_packet_is_trimmed_rfc4303_s2_7() {
    let now = Instant::now();
    let p = params(
        Direction::Inbound,
        0x3001,
        EncrId::AES_CBC,
        16,
        IntegId::HMAC_SHA1_96,
        20,
    );
    let mut sa = InboundSa::new(&p, now).unwrap();
    let inner = ipv4(20, 0);
    let mut with_tfc = inner.clone();
    with_tfc.extend_from_slice(&[0xee; 8]);
    let pad: Vec<u8> = (1..=2).collect();
    assert_eq!(
        open(
            &mut sa,
            now,
            &handmade(&p, 1, &plaintext(&with_tfc, &pad, 2, 4))
        )
        .unwrap(),
        inner
    );
}

#[test]
fn inner_selector_mismatch_is_dropped_rfc4301_s5_2() {
    let now = Instant::now();
    let mut ip = params(
        Direction::Inbound,
        0x4000,
        EncrId::AES_GCM_16,
        20,
        IntegId::NONE,
        0,
    );
    ip.selectors = Selectors {
        local: vec!["198.19.0.0/16".parse().unwrap()],
        remote: vec!["198.18.0.0/24".parse().unwrap()],
    };
    let op = params(
        Direction::Outbound,
        0x4000,
        EncrId::AES_GCM_16,
        20,
        IntegId::NONE,
        0,
    );
    let mut o = OutboundSa::new(&op, now).unwrap();
    let mut i = InboundSa::new(&ip, now).unwrap();
    let ok = ipv4(40, 0); // 198.18.0.1 → 198.19.0.1
    assert!(open(&mut i, now, &seal(&mut o, now, &ok)).is_ok());
    let mut spoofed = ipv4(40, 0);
    spoofed[12..16].copy_from_slice(&[198, 18, 1, 1]);
    assert_eq!(
        open(&mut i, now, &seal(&mut o, now, &spoofed)),
        Err(DropReason::SelectorMismatch)
    );
    assert_eq!(i.counters().dropped.get(DropReason::SelectorMismatch), 1);
}

#[test]
fn esn_round_trip_across_the_32_bit_boundary_rfc4303_a2() {
    let now = Instant::now();
    for (name, encr, ek, integ, ik) in [suites()[6], suites()[25]] {
        let (mut o, mut i) = pair(encr, ek, integ, ik, true, now);
        // Fast-forward both sides: one packet at 2^31, then jump to just below 2^32 (sending
        // four billion packets is not feasible in a test).
        o.set_seq_for_test(1 << 31);
        assert!(
            open(&mut i, now, &seal(&mut o, now, &ipv4(30, 0))).is_ok(),
            "{name}"
        );
        let start = (1u64 << 32) - 3;
        o.set_seq_for_test(start);
        for n in 0..6u64 {
            let pkt = seal(&mut o, now, &ipv4(30, n as u8));
            let seq = start + n + 1;
            assert_eq!(
                &pkt[4..8],
                &(seq as u32).to_be_bytes(),
                "{name}: only low bits on the wire"
            );
            let r = open(&mut i, now, &pkt);
            assert!(r.is_ok(), "{name}: seq {seq:#x} gave {r:?}");
            assert_eq!(i.replay_top(), seq);
        }
        // The ESN high bits are in the ICV: a receiver that infers the wrong high half (here one
        // that expects no ESN) rejects the packet.
        let mut p = params(Direction::Inbound, 0x1000, encr, ek, integ, ik);
        p.esn = false;
        let mut no_esn = InboundSa::new(&p, now).unwrap();
        let pkt = seal(&mut o, now, &ipv4(30, 0));
        assert_eq!(
            open(&mut no_esn, now, &pkt),
            Err(DropReason::IcvFailure),
            "{name}"
        );
    }
}

#[test]
fn sequence_number_exhaustion_without_esn_stops_the_sa_rfc4303_s3_3_3() {
    let now = Instant::now();
    let (mut o, _) = pair(EncrId::AES_GCM_16, 20, IntegId::NONE, 0, false, now);
    o.set_seq_for_test(u64::from(u32::MAX) - 1);
    let inner = ipv4(20, 0);
    let _ = seal(&mut o, now, &inner);
    let mut buf = vec![0u8; HEAD + 20 + MAX_TAILROOM];
    buf[HEAD..HEAD + 20].copy_from_slice(&inner);
    assert_eq!(
        o.encapsulate(now, &mut rng(), &mut buf, HEAD..HEAD + 20),
        Err(EncapError::Expired)
    );
    assert_eq!(o.poll_event().map(|e| e.kind), Some(LifetimeKind::Hard));
}

#[test]
fn lifetimes_soft_and_hard_by_bytes_and_time() {
    let now = Instant::now();
    let mut op = params(
        Direction::Outbound,
        0x5000,
        EncrId::AES_GCM_16,
        20,
        IntegId::NONE,
        0,
    );
    op.lifetimes = Lifetimes {
        soft_bytes: Some(100),
        hard_bytes: Some(200),
        soft_time: Some(Duration::from_secs(60)),
        hard_time: Some(Duration::from_secs(90)),
    };
    let mut o = OutboundSa::new(&op, now).unwrap();
    assert_eq!(o.poll_timeout(), Some(now + Duration::from_secs(60)));
    let _ = seal(&mut o, now, &ipv4(60, 0));
    assert_eq!(o.poll_event(), None);
    let _ = seal(&mut o, now, &ipv4(60, 0));
    assert_eq!(
        o.poll_event(),
        Some(LifetimeEvent {
            kind: LifetimeKind::Soft,
            cause: LifetimeCause::Bytes
        })
    );
    let _ = seal(&mut o, now, &ipv4(60, 0));
    // 180 + 60 would pass the hard limit: refused, not sent.
    let mut buf = vec![0u8; HEAD + 60 + MAX_TAILROOM];
    buf[HEAD..HEAD + 60].copy_from_slice(&ipv4(60, 0));
    assert_eq!(
        o.encapsulate(now, &mut rng(), &mut buf, HEAD..HEAD + 60),
        Err(EncapError::Expired)
    );

    let mut ip = params(
        Direction::Inbound,
        0x5000,
        EncrId::AES_GCM_16,
        20,
        IntegId::NONE,
        0,
    );
    ip.lifetimes = op.lifetimes;
    let mut i = InboundSa::new(&ip, now).unwrap();
    let mut fresh = OutboundSa::new(
        &params(
            Direction::Outbound,
            0x5000,
            EncrId::AES_GCM_16,
            20,
            IntegId::NONE,
            0,
        ),
        now,
    )
    .unwrap();
    let pkt = seal(&mut fresh, now, &ipv4(20, 0));
    assert!(open(&mut i, now + Duration::from_secs(59), &pkt).is_ok());
    i.handle_timeout(now + Duration::from_secs(60));
    assert_eq!(
        i.poll_event(),
        Some(LifetimeEvent {
            kind: LifetimeKind::Soft,
            cause: LifetimeCause::Time
        })
    );
    let pkt = seal(&mut fresh, now, &ipv4(20, 0));
    assert_eq!(
        open(&mut i, now + Duration::from_secs(90), &pkt),
        Err(DropReason::Expired)
    );
    assert_eq!(
        i.poll_event(),
        Some(LifetimeEvent {
            kind: LifetimeKind::Hard,
            cause: LifetimeCause::Time
        })
    );
}

#[test]
fn bad_parameters_are_refused() {
    let now = Instant::now();
    let p = params(
        Direction::Inbound,
        5,
        EncrId::AES_CBC,
        16,
        IntegId::HMAC_SHA1_96,
        20,
    );
    assert_eq!(
        InboundSa::new(&p, now).unwrap_err(),
        ParamsError::ReservedSpi(Spi(5))
    );
    let mut p = params(
        Direction::Inbound,
        0x1000,
        EncrId::AES_CBC,
        16,
        IntegId::HMAC_SHA1_96,
        20,
    );
    p.replay_window = 8192;
    assert_eq!(
        InboundSa::new(&p, now).unwrap_err(),
        ParamsError::ReplayWindow(8192)
    );
    let p = params(
        Direction::Inbound,
        0x1000,
        EncrId::AES_CBC,
        15,
        IntegId::HMAC_SHA1_96,
        20,
    );
    assert!(matches!(
        InboundSa::new(&p, now),
        Err(ParamsError::Transform(_))
    ));
    let p = params(
        Direction::Inbound,
        0x1000,
        EncrId::AES_GCM_16,
        20,
        IntegId::HMAC_SHA1_96,
        20,
    );
    assert!(matches!(
        InboundSa::new(&p, now),
        Err(ParamsError::Transform(_))
    ));
    let p = params(
        Direction::Outbound,
        0x1000,
        EncrId::AES_CBC,
        16,
        IntegId::HMAC_SHA1_96,
        20,
    );
    assert_eq!(
        InboundSa::new(&p, now).unwrap_err(),
        ParamsError::WrongDirection
    );
    // Keys never reach Debug output.
    let dbg = format!("{p:?}");
    assert!(!dbg.contains("90"), "{dbg}");
}

#[test]
fn encapsulate_refuses_missing_room_and_non_ip() {
    let now = Instant::now();
    let (mut o, _) = pair(
        EncrId::AES_CBC,
        32,
        IntegId::HMAC_SHA2_512_256,
        64,
        false,
        now,
    );
    let inner = ipv4(40, 0);
    let mut buf = vec![0u8; 10 + inner.len() + MAX_TAILROOM];
    buf[10..50].copy_from_slice(&inner);
    assert!(matches!(
        o.encapsulate(now, &mut rng(), &mut buf, 10..50),
        Err(EncapError::NoRoom { .. })
    ));
    let mut buf = vec![0u8; HEAD + inner.len() + 3];
    buf[HEAD..HEAD + 40].copy_from_slice(&inner);
    assert!(matches!(
        o.encapsulate(now, &mut rng(), &mut buf, HEAD..HEAD + 40),
        Err(EncapError::NoRoom { .. })
    ));
    let mut buf = vec![0u8; HEAD + 40 + MAX_TAILROOM];
    assert_eq!(
        o.encapsulate(now, &mut rng(), &mut buf, HEAD..HEAD + 40),
        Err(EncapError::NotIp)
    );
    assert_eq!(o.last_seq(), 0, "refused packets use no sequence number");
}

#[test]
fn table_make_before_break_rekey_rfc7296_s2_8() {
    let now = Instant::now();
    let t = TunnelId(1);
    let mk = |dir, spi| params(dir, spi, EncrId::AES_GCM_16, 20, IntegId::NONE, 0);
    // Peer side (sends to us) and our table.
    let mut peer_old = OutboundSa::new(&mk(Direction::Outbound, 0x1111), now).unwrap();
    let mut table = SaTable::new();
    table.install_inbound(
        t,
        InboundSa::new(&mk(Direction::Inbound, 0x1111), now).unwrap(),
    );
    table.install_outbound(
        t,
        OutboundSa::new(&mk(Direction::Outbound, 0x2222), now).unwrap(),
    );

    let pkt = |o: &mut OutboundSa| seal(o, now, &ipv4(40, 0));
    let mut p = pkt(&mut peer_old);
    assert_eq!(table.decapsulate(now, &mut p).unwrap().0, t);

    // Rekey: the new inbound SA is installed next to the old one.
    let mut peer_new = OutboundSa::new(&mk(Direction::Outbound, 0x3333), now).unwrap();
    table.install_inbound_rekey(
        t,
        InboundSa::new(&mk(Direction::Inbound, 0x3333), now).unwrap(),
        Spi(0x1111),
    );
    let old_out = table.install_outbound(
        t,
        OutboundSa::new(&mk(Direction::Outbound, 0x4444), now).unwrap(),
    );
    assert_eq!(old_out.unwrap().spi(), Spi(0x2222));
    // Our outbound traffic now uses the new SPI.
    let inner = ipv4(40, 0);
    let mut buf = vec![0u8; HEAD + 40 + MAX_TAILROOM];
    buf[HEAD..HEAD + 40].copy_from_slice(&inner);
    let (r, sa) = table
        .encapsulate(now, &mut rng(), t, &mut buf, HEAD..HEAD + 40)
        .unwrap();
    assert_eq!(sa.spi(), Spi(0x4444));
    assert_eq!(EspPacket::new_checked(&buf[r]).unwrap().spi(), Spi(0x4444));
    // Stragglers on the old inbound SA still decrypt.
    let mut p = pkt(&mut peer_old);
    assert!(table.decapsulate(now, &mut p).is_ok());
    assert_eq!(table.poll_event(), None);
    // First packet on the new SA reports that the rekey carries traffic.
    let mut p = pkt(&mut peer_new);
    assert!(table.decapsulate(now, &mut p).is_ok());
    assert_eq!(
        table.poll_event(),
        Some(SaTableEvent::RekeyCarriesTraffic {
            tunnel: t,
            new: Spi(0x3333),
            old: Spi(0x1111)
        })
    );
    let mut p = pkt(&mut peer_new);
    assert!(table.decapsulate(now, &mut p).is_ok());
    assert_eq!(table.poll_event(), None, "reported once");
    // Old one still works until IKE deletes it.
    let mut p = pkt(&mut peer_old);
    assert!(table.decapsulate(now, &mut p).is_ok());
    assert_eq!(
        table
            .remove_inbound(Spi(0x1111))
            .unwrap()
            .counters()
            .packets,
        3
    );
    let mut p = pkt(&mut peer_old);
    assert_eq!(table.decapsulate(now, &mut p), Err(DropReason::BadSpi));
    assert_eq!(table.drops().get(DropReason::BadSpi), 1);
}

#[test]
fn table_counts_drops_and_removes_hard_expired_sas() {
    let now = Instant::now();
    let t = TunnelId(7);
    let mut ip = params(
        Direction::Inbound,
        0x7000,
        EncrId::AES_GCM_16,
        20,
        IntegId::NONE,
        0,
    );
    ip.lifetimes = Lifetimes {
        soft_time: Some(Duration::from_secs(5)),
        hard_time: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let mut op = params(
        Direction::Outbound,
        0x7001,
        EncrId::AES_GCM_16,
        20,
        IntegId::NONE,
        0,
    );
    op.lifetimes = ip.lifetimes;
    let mut table = SaTable::new();
    table.install_inbound(t, InboundSa::new(&ip, now).unwrap());
    table.install_outbound(t, OutboundSa::new(&op, now).unwrap());
    assert_eq!(table.poll_timeout(), Some(now + Duration::from_secs(5)));
    // Garbage: too short, unknown SPI.
    assert_eq!(
        table.decapsulate(now, &mut [1, 2, 3]),
        Err(DropReason::Malformed)
    );
    assert_eq!(
        table.decapsulate(now, &mut [0, 0, 0x70, 0x02, 0, 0, 0, 1, 9, 9]),
        Err(DropReason::BadSpi)
    );
    assert_eq!(table.drops().total(), 2);
    table.handle_timeout(now + Duration::from_secs(5));
    let soft: Vec<_> = std::iter::from_fn(|| table.poll_event()).collect();
    assert_eq!(soft.len(), 2);
    assert!(soft.iter().all(|e| matches!(
        e,
        SaTableEvent::Lifetime {
            event: LifetimeEvent {
                kind: LifetimeKind::Soft,
                ..
            },
            ..
        }
    )));
    table.handle_timeout(now + Duration::from_secs(10));
    let hard: Vec<_> = std::iter::from_fn(|| table.poll_event()).collect();
    assert_eq!(hard.len(), 2);
    assert_eq!(table.inbound_len(), 0);
    assert!(table.outbound(t).is_none());
    assert_eq!(table.poll_timeout(), None);
}

mod fuzzish {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Random bytes never panic the decoder, whatever SA they hit.
        #[test]
        fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), suite in 0usize..28, esn: bool) {
            let now = Instant::now();
            let (_, encr, ek, integ, ik) = suites()[suite];
            let mut p = params(Direction::Inbound, 0x1000, encr, ek, integ, ik);
            p.esn = esn;
            let mut table = SaTable::new();
            table.install_inbound(TunnelId(0), InboundSa::new(&p, now).unwrap());
            let mut pkt = vec![0, 0, 0x10, 0];
            pkt.extend_from_slice(&body);
            let r = table.decapsulate(now, &mut pkt);
            prop_assert!(r.is_err());
            let mut raw = body.clone();
            prop_assert!(table.decapsulate(now, &mut raw).is_err());
            let _ = classify_udp4500(&body);
        }
    }
}
