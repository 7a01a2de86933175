//! SK framing (RFC 7296 §3.14, RFC 5282 §5.1) and fragmentation (RFC 7383) of the IKEv2 codec.
//!
//! The cipher here is a deliberately non-cryptographic test double: it only has to show that the
//! codec hands the right byte ranges to the real algorithms. It XORs the ciphertext range with a
//! position-dependent keystream, and its "ICV" is a checksum over exactly the range RFC 7296
//! §3.14 (integrity over header..ciphertext) or RFC 5282 §5.1 (AEAD: AAD = header..SK header,
//! plus the ciphertext) says is authenticated.

#![allow(clippy::unwrap_used)] // tests unwrap what they just built or asserted

use dualsec_ike::v2::wire::*;

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// AES-CBC + HMAC-like: 16-octet IV and block, 12-octet ICV over `integrity_covered()`.
    CbcHmac,
    /// AES-GCM-like: 8-octet IV, block 1, 16-octet tag over AAD and ciphertext.
    Aead,
}

#[derive(Debug)]
struct TestCipher {
    mode: Mode,
    iv_counter: u8,
}

fn checksum(parts: &[&[u8]], len: usize) -> Vec<u8> {
    // FNV-1a over the parts, spread over `len` octets: a test checksum, not a MAC.
    let mut h: u64 = 0xcbf29ce484222325;
    let mut out = Vec::with_capacity(len);
    for p in parts {
        for &b in *p {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    while out.len() < len {
        h = (h ^ 0xff).wrapping_mul(0x100000001b3);
        out.extend_from_slice(&h.to_be_bytes());
    }
    out.truncate(len);
    out
}

impl TestCipher {
    fn new(mode: Mode) -> Self {
        TestCipher {
            mode,
            iv_counter: 0,
        }
    }

    fn xor(&self, iv: &[u8], data: &mut [u8]) {
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= iv[i % iv.len()] ^ (i as u8).wrapping_mul(31) ^ 0x5c;
        }
    }

    fn icv(&self, msg: &[u8], l: &SkLayout) -> Vec<u8> {
        match self.mode {
            Mode::CbcHmac => checksum(&[&msg[l.integrity_covered()]], self.icv_len()),
            Mode::Aead => checksum(
                &[
                    &msg[l.aad()],
                    &msg[l.iv.clone()],
                    &msg[l.ciphertext.clone()],
                ],
                self.icv_len(),
            ),
        }
    }
}

impl SkCipher for TestCipher {
    fn iv_len(&self) -> usize {
        match self.mode {
            Mode::CbcHmac => 16,
            Mode::Aead => 8,
        }
    }
    fn block_size(&self) -> usize {
        match self.mode {
            Mode::CbcHmac => 16,
            Mode::Aead => 1,
        }
    }
    fn icv_len(&self) -> usize {
        match self.mode {
            Mode::CbcHmac => 12,
            Mode::Aead => 16,
        }
    }
    fn seal(&mut self, msg: &mut [u8], l: &SkLayout) -> Result<(), SkCryptoError> {
        self.iv_counter = self.iv_counter.wrapping_add(1);
        msg[l.iv.clone()].fill(self.iv_counter);
        let iv = msg[l.iv.clone()].to_vec();
        self.xor(&iv, &mut msg[l.ciphertext.clone()]);
        let icv = self.icv(msg, l);
        msg[l.icv.clone()].copy_from_slice(&icv);
        Ok(())
    }
    fn open(&mut self, msg: &mut [u8], l: &SkLayout) -> Result<(), SkCryptoError> {
        if self.icv(msg, l) != msg[l.icv.clone()] {
            return Err(SkCryptoError);
        }
        let iv = msg[l.iv.clone()].to_vec();
        self.xor(&iv, &mut msg[l.ciphertext.clone()]);
        Ok(())
    }
}

fn header() -> Header {
    Header::new(
        IkeSpi(0xa1a2a3a4a5a6a7a8),
        IkeSpi(0xb1b2b3b4b5b6b7b8),
        ExchangeType::IKE_AUTH,
        Flags::INITIATOR,
        1,
    )
}

fn inner() -> Vec<Payload> {
    vec![
        Payload::IdI(Identification::fqdn("gw.example.net")),
        Payload::Auth(Auth {
            method: AuthMethod::SHARED_KEY_MIC,
            data: vec![0x11; 32],
        }),
        Payload::Notify(Notify::new(NotifyType::INITIAL_CONTACT, vec![])),
    ]
}

#[test]
fn rfc7296_s3_14_seal_then_open_round_trips_in_both_modes() {
    for mode in [Mode::CbcHmac, Mode::Aead] {
        let mut c = TestCipher::new(mode);
        let wire = seal_message(&header(), &[], &inner(), &mut c).unwrap();
        // The outer message is well-formed and its SK names the first inner payload.
        let outer = Message::decode(&wire).unwrap();
        assert_eq!(outer.encrypted().unwrap().first_inner, PayloadType::IDI);
        // The plaintext is not visible in the ciphertext.
        assert!(!wire.windows(14).any(|w| w == b"gw.example.net"));
        let opened = open_message(&wire, &mut c).unwrap();
        assert_eq!(opened.inner, inner(), "{mode:?}");
        assert_eq!(opened.message.header, header());
        // Ciphertext is whole blocks and ends in the Pad Length octet.
        let l = SkLayout::locate(&wire, c.iv_len(), c.icv_len()).unwrap();
        assert_eq!(l.ciphertext.len() % c.block_size(), 0);
        assert_eq!(
            l.ciphertext.len(),
            padded_len(encode_payloads(&inner()).unwrap().1.len(), c.block_size())
        );
    }
}

#[test]
fn rfc7296_s3_14_and_rfc5282_s5_1_every_byte_of_the_message_is_authenticated() {
    for mode in [Mode::CbcHmac, Mode::Aead] {
        let mut c = TestCipher::new(mode);
        let wire = seal_message(&header(), &[], &inner(), &mut c).unwrap();
        for i in 0..wire.len() {
            let mut tampered = wire.clone();
            tampered[i] ^= 0x01;
            let r = open_message(&tampered, &mut c);
            assert!(r.is_err(), "{mode:?}: flipping byte {i} went unnoticed");
        }
    }
}

#[test]
fn rfc5282_s5_1_aad_ends_before_the_iv() {
    let (msg, l) = build_sk_message(&header(), &[], &inner(), 8, 1, 16).unwrap();
    // 28-octet IKE header + 4-octet SK generic header.
    assert_eq!(l.aad(), 0..32);
    assert_eq!(l.iv, 32..40);
    assert_eq!(l.icv.end, msg.len());
    assert_eq!(l.integrity_covered(), 0..msg.len() - 16);
    // IV and ICV are left zero for the caller; lengths are final.
    assert!(msg[l.iv.clone()].iter().all(|&b| b == 0));
    assert!(msg[l.icv.clone()].iter().all(|&b| b == 0));
    assert_eq!(
        u32::from_be_bytes(msg[24..28].try_into().unwrap()) as usize,
        msg.len()
    );
    assert_eq!(SkLayout::locate(&msg, 8, 16).unwrap(), l);
}

#[test]
fn unprotected_payloads_before_sk_are_covered_and_kept() {
    let clear = vec![Payload::VendorId(VendorId(b"clear".to_vec()))];
    let mut c = TestCipher::new(Mode::CbcHmac);
    let wire = seal_message(&header(), &clear, &inner(), &mut c).unwrap();
    let opened = open_message(&wire, &mut c).unwrap();
    assert_eq!(opened.message.payloads[0], clear[0]);
    assert_eq!(opened.inner, inner());
    let l = SkLayout::locate(&wire, 16, 12).unwrap();
    assert_eq!(l.aad(), 0..28 + 9 + 4);
}

#[test]
fn rfc7296_s3_14_padding_rules() {
    for block in [1usize, 8, 16] {
        for len in 0..40 {
            let mut p = vec![0xab; len];
            pad(&mut p, block);
            assert_eq!(p.len() % block, 0);
            assert_eq!(p.len(), padded_len(len, block));
            assert!(p.len() > len && p.len() <= len + block.max(1));
            assert_eq!(*p.last().unwrap() as usize, p.len() - len - 1);
            assert_eq!(unpad(&p).unwrap(), &vec![0xab; len][..]);
        }
    }
    assert!(matches!(unpad(&[]), Err(DecodeError::Truncated { .. })));
    assert!(matches!(
        unpad(&[0, 0, 3]),
        Err(DecodeError::LengthOverrun { .. })
    ));
    assert_eq!(unpad(&[7, 7, 2]).unwrap(), &[] as &[u8]);
}

#[test]
fn open_reports_unprotected_and_garbage_plaintext() {
    let plain = Message {
        header: header(),
        payloads: vec![Payload::Nonce(Nonce(vec![1; 16]))],
    }
    .encode()
    .unwrap();
    let mut c = TestCipher::new(Mode::Aead);
    assert!(matches!(
        open_message(&plain, &mut c),
        Err(OpenError::NotProtected)
    ));
    // SK data too short for IV + Pad Length + ICV.
    let short = Message {
        header: header(),
        payloads: vec![Payload::Encrypted(Encrypted {
            first_inner: PayloadType::NONE,
            data: vec![0; 8 + 16],
        })],
    }
    .encode()
    .unwrap();
    assert!(matches!(
        open_message(&short, &mut c),
        Err(OpenError::Decode(DecodeError::Truncated { .. }))
    ));
    // Authenticated plaintext whose inner chain is malformed: INVALID_SYNTAX, not a panic.
    assert!(matches!(
        decode_plaintext(PayloadType::NONCE, &[0, 0, 0, 9, 0]),
        Err(DecodeError::LengthOverrun { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// RFC 7383 fragmentation.

fn big_inner() -> Vec<Payload> {
    let mut v = inner();
    v.insert(
        1,
        Payload::Cert(Cert {
            encoding: CertEncoding::X509_SIGNATURE,
            data: (0..3000u32).map(|i| (i * 7) as u8).collect(),
        }),
    );
    v
}

#[test]
fn rfc7383_s2_5_fragments_fit_the_limit_and_reassemble_in_any_order() {
    for (mode, max) in [
        (Mode::CbcHmac, 576),
        (Mode::Aead, 1280),
        (Mode::CbcHmac, 1000),
    ] {
        let mut c = TestCipher::new(mode);
        let frags = fragment_message(
            &header(),
            &big_inner(),
            max,
            c.iv_len(),
            c.block_size(),
            c.icv_len(),
        )
        .unwrap();
        let total = frags.len();
        assert!(total > 1);
        let mut sealed = Vec::new();
        for (i, (mut msg, layout)) in frags.into_iter().enumerate() {
            assert!(msg.len() <= max, "fragment {i} is {} > {max}", msg.len());
            c.seal(&mut msg, &layout).unwrap();
            let m = Message::decode(&msg).unwrap();
            assert_eq!(m.header, header());
            assert_eq!(m.payloads.len(), 1, "SKF is the only payload");
            let f = m.fragment().unwrap();
            assert_eq!((f.number as usize, f.total as usize), (i + 1, total));
            let expect_next = if i == 0 {
                PayloadType::IDI
            } else {
                PayloadType::NONE
            };
            assert_eq!(f.first_inner, expect_next);
            sealed.push(msg);
        }
        // Every fragment but the last is filled to within one block of the limit.
        for msg in &sealed[..total - 1] {
            assert!(
                msg.len() + c.block_size() > max,
                "underfilled: {}",
                msg.len()
            );
        }
        // Receive in reverse order.
        let mut r = Reassembly::new(ReassemblyLimits::default());
        let mut done = None;
        for msg in sealed.iter().rev() {
            let m = Message::decode(msg).unwrap();
            let f = m.fragment().unwrap().clone();
            let l = SkLayout::locate(msg, c.iv_len(), c.icv_len()).unwrap();
            let mut buf = msg.clone();
            c.open(&mut buf, &l).unwrap();
            let content = unpad(&buf[l.ciphertext.clone()]).unwrap();
            assert!(done.is_none());
            done = r.insert(f.number, f.total, f.first_inner, content).unwrap();
        }
        let (first, chain) = done.unwrap();
        assert_eq!(first, PayloadType::IDI);
        assert_eq!(decode_payloads(first, &chain).unwrap(), big_inner());
    }
}

#[test]
fn rfc7383_fragmenting_an_empty_or_small_message_gives_one_fragment() {
    let f = fragment_message(&header(), &[], 1280, 16, 16, 12).unwrap();
    assert_eq!(f.len(), 1);
    let m = Message::decode(&f[0].0).unwrap();
    let skf = m.fragment().unwrap();
    assert_eq!((skf.number, skf.total), (1, 1));
    assert!(matches!(
        max_chunk_len(28 + 8 + 16 + 12 + 16, 16, 16, 12),
        Ok(15)
    ));
    assert!(max_chunk_len(28 + 8 + 16 + 12 + 15, 16, 16, 12).is_err());
    assert!(fragment_message(&header(), &inner(), 60, 16, 16, 12).is_err());
}

#[test]
fn rfc7383_s2_6_reassembly_rejects_duplicates_bad_numbers_and_stale_totals() {
    let mut r = Reassembly::new(ReassemblyLimits::default());
    assert_eq!(r.insert(1, 3, PayloadType::IDI, b"aa"), Ok(None));
    assert_eq!(
        r.insert(1, 3, PayloadType::IDI, b"aa"),
        Err(FragmentError::Duplicate { number: 1 })
    );
    assert_eq!(
        r.insert(0, 3, PayloadType::NONE, b"x"),
        Err(FragmentError::BadNumber {
            number: 0,
            total: 3
        })
    );
    assert_eq!(
        r.insert(4, 3, PayloadType::NONE, b"x"),
        Err(FragmentError::BadNumber {
            number: 4,
            total: 3
        })
    );
    assert!(matches!(
        r.insert(2, 3, PayloadType::SA, b"x"),
        Err(FragmentError::BadNextPayload { number: 2, .. })
    ));
    assert_eq!(
        r.insert(2, 2, PayloadType::NONE, b"x"),
        Err(FragmentError::StaleTotal {
            total: 2,
            current: 3
        })
    );
    assert_eq!(r.insert(3, 3, PayloadType::NONE, b"cc"), Ok(None));
    assert_eq!(r.received(), 2);
    // A larger total restarts collection (sender re-fragmented for a smaller PMTU).
    assert_eq!(r.insert(4, 4, PayloadType::NONE, b"4"), Ok(None));
    assert_eq!(r.received(), 1);
    assert_eq!(r.insert(2, 4, PayloadType::NONE, b"2"), Ok(None));
    assert_eq!(r.insert(3, 4, PayloadType::NONE, b"3"), Ok(None));
    assert_eq!(
        r.insert(1, 4, PayloadType::IDI, b"1"),
        Ok(Some((PayloadType::IDI, b"1234".to_vec())))
    );
}

#[test]
fn rfc7383_reassembly_memory_is_bounded() {
    let limits = ReassemblyLimits {
        max_fragments: 4,
        max_bytes: 10,
    };
    let mut r = Reassembly::new(limits);
    assert_eq!(
        r.insert(1, 5, PayloadType::IDI, b""),
        Err(FragmentError::TooManyFragments { total: 5, max: 4 })
    );
    assert_eq!(r.insert(1, 3, PayloadType::IDI, &[0; 6]), Ok(None));
    assert_eq!(
        r.insert(2, 3, PayloadType::NONE, &[0; 5]),
        Err(FragmentError::TooLarge { max: 10 })
    );
    assert_eq!(r.insert(2, 3, PayloadType::NONE, &[0; 4]), Ok(None));
}
