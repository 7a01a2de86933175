//! Byte-exact tests of the ISAKMP/IKEv1 codec (RFC 2408 §3, RFC 2407 §4.6, RFC 2409, RFC 3947).
//!
//! The captured messages are a recorded Main Mode PSK exchange with Quick Mode from the
//! RUB-NDS IPsec-StateMachineExtractor test suite (`IKEv1HandshakeIT.java`); the responder side
//! (m2, m4, m6, qm2) comes from a real IKEv1 implementation.

#![allow(clippy::unwrap_used)] // tests unwrap what they just built or asserted

use std::net::{IpAddr, Ipv4Addr};

use dualsec_ike::v1::wire::*;

fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const MM1: &str =
    "59cedc5dcea558fe00000000000000000110020000000000000000540000003800000001000000010000002c
    00010001000000240001000080010007800e0080800200028004000280030001800b0001800c7080";
const MM2: &str =
    "59cedc5dcea558fe9e169842364452570110020000000000000000740d00003800000001000000010000002c
    00010001000000240101000080010007800e0080800200028004000280030001800b0001800c70800d00000c09002689
    dfd6b71200000014afcad71368a1f1c96b8696fc77570100";
const MM3: &str =
    "59cedc5dcea558fe9e169842364452570410020000000000000000ac0a000084b5fcea14e2593ee937054b98
    886ca43b00472167db154ff074e158e8b7fcae77ac35cef073698bfe63c99c6dd64ae25a95d55800a845a5db0640d1c3
    ea5bb8596cb0ffa5d4db0fd01e1875941b14ad4ac492fb5f6381db934664ad8493fe95aab7f1ff8976f329b5ea0f9ede
    244e906fb419353e878f2fa92ccd533ba33d79ee0000000c32ae9db36e7418a7";
const MM4: &str =
    "59cedc5dcea558fe9e169842364452570410020000000000000000c40a00008424bb23e799283854458c53d6
    d735ee8c099008c743c89900b312264d3d372e4ff3986d5890d43e5aa7f2c6adb910b302cddcdf773b74921f8ce0376a
    338a28d7569fb8d4dab85a799cc753bd7d2fd9a65d4e4b016ea9742349c0d8cb6271061e21f5d6af924fddf05fa3a0c8
    3ce7a22074e779c4fee154a728a4c0d6488adbb300000024ce2b9ff5f8519260b6c8f153529bc5a43121e3aa57a3de7d
    0d63baba86679e57";
const MM6: &str =
    "59cedc5dcea558fe9e1698423644525705100201000000000000004c56e985c35cd53530527480fcf20a9faa
    5a3d45465a20f67d48d3e9c55b09b72253d9030fe2f2cf3a3fa1eae37e3fccaa";
const QM2: &str =
    "59cedc5dcea558fe9e1698423644525708102001259cf133000000ac65d4e7d4b983b417b1e567e10fdec608
    10585f0954817b8192d9501141c458567ac84c42360176d59e7591ac45c4de7dad738657d49bbca9034247f7ab96dac4
    f43c3d6cccdeeeae62742cb5c79b5a4db4949504f21e96d38a0f75342b421688a1b62b7157ee7a154f2a0a7eef69138d
    b52361827b50a3b62ce53347aee835bcea1a1ef0b1cc04ec7a167ccec3b4cd36";
const QM3: &str =
    "59cedc5dcea558fe9e1698423644525708102001259cf1330000003cf0fa3ae90bfec0179ffa8592af60cf2f
    ebe9f682f629e83e497b8644ae726c1c";

fn captures() -> Vec<Vec<u8>> {
    [MM1, MM2, MM3, MM4, MM6, QM2, QM3]
        .iter()
        .map(|s| h(s))
        .collect()
}

#[test]
fn rfc2409_s5_captured_main_mode_sa_exchange_decodes_and_reencodes_byte_exact() {
    let bytes = h(MM2);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.header.cookie_i, Cookie(0x59cedc5dcea558fe));
    assert_eq!(m.header.cookie_r, Cookie(0x9e16984236445257));
    assert_eq!(m.header.exchange, ExchangeType::IDENTITY_PROTECTION);
    assert_eq!(m.header.message_id, 0);
    let p = m.payloads().unwrap();
    assert_eq!(p.len(), 3);
    let Payload::Sa(sa) = &p[0] else { panic!() };
    assert_eq!((sa.doi, sa.situation), (Doi::IPSEC, SIT_IDENTITY_ONLY));
    let prop = &sa.proposals[0];
    // The responder echoes the test client's proposal number 0.
    assert_eq!((prop.number, prop.protocol), (0, ProtocolId::ISAKMP));
    let t = &prop.transforms[0];
    assert_eq!((t.number, t.id), (1, IsakmpTransformId::KEY_IKE.0));
    let v = |ty: Phase1AttrType| t.attribute(ty).and_then(Attribute::as_u64);
    assert_eq!(v(Phase1AttrType::ENCRYPTION_ALGORITHM), Some(7), "AES-CBC");
    assert_eq!(v(Phase1AttrType::KEY_LENGTH), Some(128));
    assert_eq!(v(Phase1AttrType::HASH_ALGORITHM), Some(2), "SHA");
    assert_eq!(v(Phase1AttrType::GROUP_DESCRIPTION), Some(2));
    assert_eq!(
        v(Phase1AttrType::AUTHENTICATION_METHOD),
        Some(u64::from(Phase1AuthMethod::PRE_SHARED_KEY.0))
    );
    assert_eq!(v(Phase1AttrType::LIFE_TYPE), Some(1));
    assert_eq!(v(Phase1AttrType::LIFE_DURATION), Some(28800));
    // RFC 3706 DPD vendor id.
    assert_eq!(
        p[2],
        Payload::VendorId(h("afcad71368a1f1c96b8696fc77570100"))
    );
    assert_eq!(m.encode().unwrap(), bytes);

    // The initiator's message 1 (proposal and transform numbered 0 by that test client).
    let m1 = Message::decode(&h(MM1)).unwrap();
    assert_eq!(m1.encode().unwrap(), h(MM1));
    assert!(m1.header.cookie_r.is_zero());
}

#[test]
fn rfc2409_s5_captured_main_mode_ke_exchange() {
    for (s, nonce_len) in [(MM3, 8), (MM4, 32)] {
        let bytes = h(s);
        let m = Message::decode(&bytes).unwrap();
        let p = m.payloads().unwrap();
        let Payload::Ke(ke) = &p[0] else { panic!() };
        assert_eq!(ke.len(), 128, "MODP-1024 public value");
        let Payload::Nonce(n) = &p[1] else { panic!() };
        assert_eq!(n.len(), nonce_len);
        assert_eq!(m.encode().unwrap(), bytes);
    }
    // The spans give the exact payload bodies hashed by RFC 2409 §5 (e.g. SAi_b).
    let bytes = h(MM2);
    let (_, spans) = decode_with_spans(PayloadType::SA, &bytes[28..]).unwrap();
    assert_eq!(spans[0].payload, 0..0x38);
    assert_eq!(spans[0].body(), 4..0x38);
    assert_eq!(
        &bytes[28 + 4..28 + 12],
        &h("0000000100000001")[..],
        "DOI, situation"
    );
}

#[test]
fn rfc2408_s3_1_captured_encrypted_messages_keep_ciphertext() {
    for (s, first, exch, mid) in [
        (MM6, PayloadType::ID, ExchangeType::IDENTITY_PROTECTION, 0),
        (QM2, PayloadType::HASH, ExchangeType::QUICK_MODE, 0x259cf133),
        (QM3, PayloadType::HASH, ExchangeType::QUICK_MODE, 0x259cf133),
    ] {
        let bytes = h(s);
        let m = Message::decode(&bytes).unwrap();
        assert!(m.header.flags.encrypted());
        assert_eq!((m.header.exchange, m.header.message_id), (exch, mid));
        let Body::Encrypted {
            first: f,
            ciphertext,
        } = &m.body
        else {
            panic!()
        };
        assert_eq!(*f, first);
        assert_eq!(ciphertext.len() % 16, 0, "AES-CBC blocks");
        assert_eq!(ciphertext[..], bytes[28..]);
        assert_eq!(m.encode().unwrap(), bytes);
    }
}

fn cookies() -> [u8; 16] {
    let mut c = [0u8; 16];
    c[..8].copy_from_slice(&0x59cedc5dcea558feu64.to_be_bytes());
    c[8..].copy_from_slice(&0x9e16984236445257u64.to_be_bytes());
    c
}

/// Quick Mode message 1 body (RFC 2409 §5.5): HASH(1), SA, Ni, KE, IDci, IDcr, NAT-OA.
fn quick_mode_body() -> Vec<Payload> {
    vec![
        Payload::Hash(vec![0x77; 20]),
        Payload::Sa(Sa::ipsec(vec![Proposal {
            number: 1,
            protocol: ProtocolId::IPSEC_ESP,
            spi: h("b75ad16c"),
            transforms: vec![Transform {
                number: 1,
                id: 12, // ESP_AES
                attributes: vec![
                    Attribute::basic(IpsecAttrType::SA_LIFE_TYPE, LifeType::SECONDS.0),
                    Attribute::integer(IpsecAttrType::SA_LIFE_DURATION, 86400),
                    Attribute::basic(
                        IpsecAttrType::ENCAPSULATION_MODE,
                        EncapsulationMode::UDP_ENCAPSULATED_TUNNEL.0,
                    ),
                    Attribute::basic(IpsecAttrType::AUTHENTICATION_ALGORITHM, 2),
                    Attribute::basic(IpsecAttrType::KEY_LENGTH, 128),
                    Attribute::basic(IpsecAttrType::GROUP_DESCRIPTION, 14),
                ],
            }],
        }])),
        Payload::Nonce(vec![0x42; 16]),
        Payload::Ke(vec![0x33; 256]),
        Payload::Id(Identification::subnet(
            IpAddr::V4(Ipv4Addr::new(198, 18, 1, 77)),
            24,
        )),
        Payload::Id(Identification::subnet(
            IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)),
            16,
        )),
        Payload::NatOa(NatOa {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        }),
    ]
}

#[test]
fn rfc2409_s5_5_quick_mode_body_encrypts_and_decodes_with_hash_spans() {
    let body = quick_mode_body();
    let (first, plaintext) = encode_for_encryption(&body, 16).unwrap();
    assert_eq!(first, PayloadType::HASH);
    assert_eq!(plaintext.len() % 16, 0);
    let d = decode_decrypted(first, &plaintext).unwrap();
    assert_eq!(d.payloads, body);
    assert!((1..=16).contains(&d.padding));
    assert!(
        plaintext[plaintext.len() - d.padding..]
            .iter()
            .all(|&b| b == 0)
    );
    // HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [| KE] [| IDci | IDcr]): everything after the HASH
    // payload, generic headers included.
    let after_hash = d.spans[1].payload.start..d.spans.last().unwrap().payload.end;
    assert_eq!(after_hash.start, 4 + 20);
    assert_eq!(after_hash.end, plaintext.len() - d.padding);
    // Subnet IDs carry address and mask (RFC 2407 §4.6.2.1), host bits cleared.
    let Payload::Id(idci) = &d.payloads[4] else {
        panic!()
    };
    assert_eq!(idci.data, h("c6120100 ffffff00"));
    assert_eq!(
        idci.addr_pair(),
        Some((
            IpAddr::V4(Ipv4Addr::new(198, 18, 1, 0)),
            IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0))
        ))
    );
    // The SA's variable-length life duration.
    let Payload::Sa(sa) = &d.payloads[1] else {
        panic!()
    };
    let t = &sa.proposals[0].transforms[0];
    let life = t.attribute(IpsecAttrType::SA_LIFE_DURATION).unwrap();
    assert_eq!(life.value, AttrValue::Variable(h("00015180")));
    assert_eq!(life.as_u64(), Some(86400));

    // Framed as an encrypted Quick Mode message (the ciphertext stands in for the real one).
    let hdr = Header::new(
        Cookie(1),
        Cookie(2),
        ExchangeType::QUICK_MODE,
        Flags::ENCRYPTION,
        0x259cf133,
    );
    let msg = Message {
        header: hdr,
        body: Body::Encrypted {
            first,
            ciphertext: plaintext.clone(),
        },
    };
    let wire = msg.encode().unwrap();
    assert_eq!(wire[16], PayloadType::HASH.0);
    assert_eq!(wire.len(), 28 + plaintext.len());
    assert_eq!(Message::decode(&wire).unwrap(), msg);
}

#[test]
fn rfc2408_s3_exact_bytes_of_hand_built_payloads() {
    let hdr = Header::new(
        Cookie(0x0102030405060708),
        Cookie(0x1112131415161718),
        ExchangeType::INFORMATIONAL,
        Flags::default(),
        0x01020304,
    );
    let cases: Vec<(Payload, &str)> = vec![
        (
            Payload::Notify(Notify::dpd(NotifyType::R_U_THERE, cookies(), 7)),
            "00000020 00000001 01108d28 59cedc5dcea558fe9e16984236445257 00000007",
        ),
        (
            Payload::Delete(Delete::isakmp(cookies())),
            "0000001c 00000001 01100001 59cedc5dcea558fe9e16984236445257",
        ),
        (
            Payload::Delete(Delete::esp(&[0xc6bf8b4d, 1])),
            "00000014 00000001 03040002 c6bf8b4d 00000001",
        ),
        (
            Payload::Id(Identification {
                protocol: 17,
                port: 500,
                ..Identification::ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
            }),
            "0000000c 011101f4 c0000201",
        ),
        (
            Payload::NatD(vec![0xab; 20]),
            "00000018 abababababababababababababababababababab",
        ),
        (
            Payload::NatOa(NatOa {
                addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
            }),
            "0000000c 01000000 c6336401",
        ),
        (Payload::Hash(vec![1, 2, 3, 4]), "00000008 01020304"),
        (
            Payload::Other {
                ty: PayloadType::ATTR,
                body: vec![1, 0, 0, 0],
            },
            "00000008 01000000",
        ),
    ];
    for (p, expect) in cases {
        let ty = p.payload_type();
        let m = Message {
            header: hdr,
            body: Body::Plain(vec![p]),
        };
        let bytes = m.encode().unwrap();
        let mut want = h("0102030405060708 1112131415161718");
        want.extend_from_slice(&[ty.0, 0x10, 5, 0]);
        want.extend_from_slice(&h("01020304"));
        let chain = h(expect);
        want.extend_from_slice(&((28 + chain.len()) as u32).to_be_bytes());
        want.extend_from_slice(&chain);
        assert_eq!(bytes, want, "{ty:?}");
        assert_eq!(Message::decode(&bytes).unwrap(), m);
    }
}

fn hand_built() -> Vec<Message> {
    let hdr = |exch, flags, mid| Header::new(Cookie(5), Cookie(6), exch, flags, mid);
    vec![
        Message {
            header: hdr(ExchangeType::INFORMATIONAL, Flags::default(), 9),
            body: Body::Plain(quick_mode_body()),
        },
        Message {
            header: hdr(ExchangeType::AGGRESSIVE, Flags::default(), 0),
            body: Body::Plain(vec![
                Payload::Sa(Sa::ipsec(vec![Proposal {
                    number: 1,
                    protocol: ProtocolId::ISAKMP,
                    spi: vec![],
                    transforms: vec![
                        Transform {
                            number: 1,
                            id: 1,
                            attributes: vec![Attribute::basic(Phase1AttrType::HASH_ALGORITHM, 2)],
                        },
                        Transform {
                            number: 2,
                            id: 1,
                            attributes: vec![Attribute::basic(Phase1AttrType::HASH_ALGORITHM, 4)],
                        },
                    ],
                }])),
                Payload::Ke(vec![1; 128]),
                Payload::Nonce(vec![2; 16]),
                Payload::Id(Identification::fqdn("peer.example.net")),
                Payload::VendorId(vec![3; 16]),
                Payload::NatD(vec![4; 20]),
                Payload::NatD(vec![5; 20]),
                Payload::Cert(Cert {
                    encoding: 4,
                    data: vec![0x30, 0],
                }),
                Payload::Cr(Cert {
                    encoding: 4,
                    data: vec![],
                }),
                Payload::Sig(vec![6; 8]),
            ]),
        },
        Message {
            header: hdr(ExchangeType::INFORMATIONAL, Flags::ENCRYPTION, 11),
            body: Body::Encrypted {
                first: PayloadType::HASH,
                ciphertext: vec![9; 32],
            },
        },
        Message {
            header: hdr(ExchangeType::INFORMATIONAL, Flags::default(), 12),
            body: Body::Plain(vec![]),
        },
    ]
}

#[test]
fn every_hand_built_message_round_trips_canonically() {
    for m in hand_built() {
        let bytes = m.encode().unwrap();
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.encode().unwrap(), bytes);
    }
}

#[test]
fn every_message_truncated_at_every_length_is_a_typed_error() {
    let mut all = captures();
    all.extend(hand_built().iter().map(|m| m.encode().unwrap()));
    for bytes in all {
        for cut in 0..bytes.len() {
            let err = Message::decode(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "cut {cut}: {err:?}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Message::decode(&longer),
            Err(DecodeError::TrailingBytes { .. })
        ));
        // Length field grown to cover the extra byte: for a plain chain it is trailing garbage.
        let n = longer.len() as u32;
        longer[24..28].copy_from_slice(&n.to_be_bytes());
        let r = Message::decode(&longer);
        if longer[19] & 1 == 0 {
            assert!(matches!(r, Err(DecodeError::TrailingBytes { .. })), "{r:?}");
        } else {
            assert!(r.is_ok(), "ciphertext length is the cipher's business");
        }
    }
}

#[test]
fn rfc2408_s3_5_s3_6_inconsistent_sa_structure_is_payload_malformed() {
    let good = h(MM2);
    // Offsets in MM2: SA at 28, proposal at 40, transform at 48.
    let cases: Vec<(usize, u8, &str)> = vec![
        (40, 3, "proposal Next Payload neither 0 nor 2"),
        (40, 2, "proposal says more, none follow"),
        (48, 3, "transform says more, count says last"),
        (47, 2, "two transforms declared, one present"),
        (47, 0, "zero transforms declared, one present"),
        (43, 0x2b, "proposal length overruns SA"),
        (51, 0x03, "transform length below header"),
        (39, 0x06, "labelled situation"),
        (16, PayloadType::PROPOSAL.0, "proposal at top level"),
    ];
    for (at, v, what) in cases {
        let mut b = good.clone();
        b[at] = v;
        let err = Message::decode(&b).unwrap_err();
        assert_eq!(
            notify_type(&err),
            NotifyType::PAYLOAD_MALFORMED,
            "{what}: {err}"
        );
    }
    // Major version 2 is not ISAKMP.
    let mut b = good.clone();
    b[17] = 0x20;
    let err = Message::decode(&b).unwrap_err();
    assert_eq!(notify_type(&err), NotifyType::INVALID_MAJOR_VERSION);
}

#[test]
fn rfc2408_s3_15_delete_and_nat_oa_errors() {
    let wrap = |ty: PayloadType, chain: &str| {
        let chain = h(chain);
        let mut b = h("0102030405060708 1112131415161718");
        b.extend_from_slice(&[ty.0, 0x10, 5, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&((28 + chain.len()) as u32).to_be_bytes());
        b.extend_from_slice(&chain);
        Message::decode(&b)
    };
    assert!(wrap(PayloadType::D, "00000010 00000001 03040001 c6bf8b4d").is_ok());
    assert!(wrap(PayloadType::D, "00000010 00000001 03040002 c6bf8b4d").is_err());
    assert!(wrap(PayloadType::D, "00000012 00000001 03040001 c6bf8b4d 0000").is_err());
    assert!(wrap(PayloadType::D, "0000000c 00000001 03000001").is_err());
    assert!(wrap(PayloadType::NAT_OA, "0000000c 02000000 c6336401").is_err());
    assert!(wrap(PayloadType::NAT_OA, "0000000b 01000000 c63364").is_err());
    let bad = Payload::Delete(Delete {
        doi: Doi::IPSEC,
        protocol: ProtocolId::IPSEC_ESP,
        spi_size: 4,
        spis: vec![vec![1, 2, 3]],
    });
    assert!(
        Message {
            header: Header::new(
                Cookie(1),
                Cookie(2),
                ExchangeType::INFORMATIONAL,
                Flags(0),
                1
            ),
            body: Body::Plain(vec![bad]),
        }
        .encode()
        .is_err()
    );
}

#[test]
fn decrypted_body_tolerates_any_padding_but_not_a_broken_chain() {
    let (first, mut pt) = encode_for_encryption(&[Payload::Hash(vec![1; 20])], 16).unwrap();
    // Padding with a pad-length octet (racoon style) is accepted too.
    let n = pt.len();
    pt[n - 1] = 7;
    let d = decode_decrypted(first, &pt).unwrap();
    assert_eq!(d.payloads, vec![Payload::Hash(vec![1; 20])]);
    assert_eq!(d.padding, 8);
    // A payload length running past the plaintext is an error.
    pt[3] = 0xff;
    assert!(decode_decrypted(first, &pt).is_err());
    assert!(decode_decrypted(PayloadType::HASH, &[]).is_err());
}
