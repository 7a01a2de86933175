//! Byte-exact tests of the IKEv2 codec (RFC 7296 §3, RFC 7383) against captured messages and
//! messages hand-built from the RFC diagrams.
//!
//! The captured messages are the raw packets in AOSP's IKE library test suite
//! (`platform/packages/modules/IPsec`, `IkeMessageTest.java`, `IkeSaPayloadTest.java`,
//! `IkeDeletePayloadTest.java`): an IKE_SA_INIT request, an IKE_AUTH request with its decrypted
//! padded plaintext, an IKE_AUTH response fragment (SKF) and an empty INFORMATIONAL response.

#![allow(clippy::unwrap_used)] // tests unwrap what they just built or asserted

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::captures::{SA_INIT_REQ, h};
use dualsec_ike::v2::wire::*;

// ---------------------------------------------------------------------------------------------
// Captured messages (AOSP IkeMessageTest.java); SA_INIT_REQ is in `common/captures.rs`.

const IKE_AUTH_REQ: &str = "5f54bf6d8b48e6e1909232b3d1edcb5c2e20230800000001000000ec
    230000d0b9132b7bb9f658dfdc648e5017a6322a030c316ce55f365760d46426ce5cfc78bd1ed9abff63eb9594c1bd58
    46de333ecd3ea2b705d18293b130395300ba92a3510413450a10525cea51b2753b4e92b081fd78d995659a98f742278f
    f9b8fd3e21554865c15c79a5134d66b2744966089e416c60a274e44a9a3f084eb02f3bdce1e7de9de8d9a62773ab563b
    9a69ba1db03c752acb6136452b8a86c41addb4210d68c423efed80e26edca5fa3fe5d0a5ca9375ce332c474b93fb1fa3
    59eb4e81ae6e0f22abdad69ba8007d50";

/// IKE_AUTH_REQ's SK plaintext after decryption (inner payloads, padding, Pad Length).
const IKE_AUTH_PLAINTEXT: &str = "2400000c010000000a50500d2700000c010000000a505050
    2100001c02000000df7c038aefaaa32d3f44b228b52a332744dfb2c12c00002c00000028010304032ad4c0a20300000c
    0100000c800e0080030000080300000200000008050000002d00001801000000070000100000ffff00000000ffffffff
    2900001801000000070000100000ffff00000000ffffffff29000008000040000000000c000040010000000100000000
    000000000000000b";

const IKE_AUTH_RESP_FRAGMENT: &str = "939ae1251d18eb9077a99551b15c6e9335202320000000010000
    00c0000000a400020002fd7c7931705af184b7be76bbd45a8ecbb3ffd58b9438b93f67e9fe86b06229f80e9b52d2ff6a
    fde3f2c13ae93ce55a801f62e1a818c9003880a36bbe986fe6979ba233b9f4f0ddc992d06dbad5a2b998be18fae947e5
    ccfb37775d069344e711fbf499bb289cf4cca245bd450ad89d18689207759507ba18d47247e920b9e000a25a7596e413
    0929e5cdc37d5c1b0d90bbaae946c260f4d3cf815f6d";

const EMPTY_INFORMATIONAL_RESP: &str = "5f54bf6d8b48e6e1909232b3d1edcb5c2e20252800000000
    0000004c00000030e376871750fdba9f7012446c5dc3f97af83b48ba0dbc68bcc4a78136832100aa4192f251cd4d1b97
    d298e550";

/// Every valid message used below, for the truncation and round-trip sweeps.
fn all_messages() -> Vec<Vec<u8>> {
    let mut v = vec![
        h(SA_INIT_REQ),
        h(IKE_AUTH_REQ),
        h(IKE_AUTH_RESP_FRAGMENT),
        h(EMPTY_INFORMATIONAL_RESP),
    ];
    for m in hand_built_messages() {
        v.push(m.encode().unwrap());
    }
    v
}

#[test]
fn rfc7296_s3_captured_ike_sa_init_request_decodes_and_reencodes_byte_exact() {
    let bytes = h(SA_INIT_REQ);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.header.spi_i, IkeSpi(0x8f54bf6d8b48e6e1));
    assert!(m.header.spi_r.is_zero());
    assert_eq!(m.header.exchange, ExchangeType::IKE_SA_INIT);
    assert!(m.header.flags.initiator() && !m.header.flags.response());
    assert_eq!(m.header.message_id, 0);
    let types: Vec<PayloadType> = m.payloads.iter().map(Payload::payload_type).collect();
    assert_eq!(
        types,
        [
            PayloadType::SA,
            PayloadType::KE,
            PayloadType::NONCE,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::VENDOR_ID
        ]
    );
    let Payload::Sa(sa) = &m.payloads[0] else {
        panic!("SA first")
    };
    assert_eq!(sa.proposals.len(), 1);
    let p = &sa.proposals[0];
    assert_eq!((p.number, p.protocol, p.spi.len()), (1, ProtocolId::IKE, 0));
    let ids: Vec<TransformId> = p.transforms.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        [
            TransformId::Encr(EncrId::AES_CBC),
            TransformId::Integ(IntegId::HMAC_SHA1_96),
            TransformId::Dh(DhId::MODP_1024),
            TransformId::Prf(PrfId::HMAC_SHA1),
        ]
    );
    assert_eq!(p.transforms[0].key_length(), Some(128));
    let Payload::Ke(ke) = &m.payloads[1] else {
        panic!("KE second")
    };
    assert_eq!((ke.group, ke.data.len()), (DhId::MODP_1024, 128));
    let Payload::Nonce(n) = &m.payloads[2] else {
        panic!()
    };
    assert_eq!(n.0.len(), 32);
    let nat: Vec<NotifyType> = m.notifies().map(|n| n.ty).collect();
    assert_eq!(
        nat,
        [
            NotifyType::NAT_DETECTION_SOURCE_IP,
            NotifyType::NAT_DETECTION_DESTINATION_IP
        ]
    );
    assert!(m.notifies().all(|n| n.data.len() == 20 && n.spi.is_empty()));
    assert_eq!(m.encode().unwrap(), bytes);
}

#[test]
fn rfc7296_s3_14_captured_ike_auth_request_outer_layout_and_inner_payloads() {
    let bytes = h(IKE_AUTH_REQ);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.header.exchange, ExchangeType::IKE_AUTH);
    assert_eq!(m.header.message_id, 1);
    assert_eq!(m.payloads.len(), 1);
    let sk = m.encrypted().unwrap();
    assert_eq!(sk.first_inner, PayloadType::IDI);
    assert_eq!(sk.data.len(), 0xd0 - 4);
    assert_eq!(m.encode().unwrap(), bytes);

    // AES-CBC (16-octet IV) with HMAC-SHA1-96 (12-octet ICV).
    let layout = SkLayout::locate(&bytes, 16, 12).unwrap();
    assert_eq!(layout.aad(), 0..32, "IKE header + SK generic header");
    assert_eq!(layout.iv, 32..48);
    assert_eq!(layout.ciphertext, 48..bytes.len() - 12);
    assert_eq!(layout.integrity_covered(), 0..bytes.len() - 12);
    assert_eq!(
        &bytes[layout.icv.clone()],
        &h("ae6e0f22abdad69ba8007d50")[..]
    );

    let plaintext = h(IKE_AUTH_PLAINTEXT);
    assert_eq!(plaintext.len(), layout.ciphertext.len());
    let inner = decode_plaintext(sk.first_inner, &plaintext).unwrap();
    let types: Vec<PayloadType> = inner.iter().map(Payload::payload_type).collect();
    assert_eq!(
        types,
        [
            PayloadType::IDI,
            PayloadType::IDR,
            PayloadType::AUTH,
            PayloadType::SA,
            PayloadType::TSI,
            PayloadType::TSR,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY
        ]
    );
    let Payload::IdI(idi) = &inner[0] else {
        panic!()
    };
    assert_eq!(
        idi.ip_addr(),
        Some(IpAddr::V4(Ipv4Addr::new(10, 80, 80, 13)))
    );
    assert_eq!(idi.auth_octets(), h("010000000a50500d"));
    let Payload::IdR(idr) = &inner[1] else {
        panic!()
    };
    assert_eq!(
        idr.ip_addr(),
        Some(IpAddr::V4(Ipv4Addr::new(10, 80, 80, 80)))
    );
    let Payload::Auth(auth) = &inner[2] else {
        panic!()
    };
    assert_eq!(
        (auth.method, auth.data.len()),
        (AuthMethod::SHARED_KEY_MIC, 20)
    );
    let Payload::Sa(sa) = &inner[3] else { panic!() };
    let p = &sa.proposals[0];
    assert_eq!(p.protocol, ProtocolId::ESP);
    assert_eq!(p.spi, h("2ad4c0a2"));
    assert_eq!(
        p.transforms.iter().map(|t| t.id).collect::<Vec<_>>(),
        [
            TransformId::Encr(EncrId::AES_CBC),
            TransformId::Integ(IntegId::HMAC_SHA1_96),
            TransformId::Esn(EsnId::NO_ESN)
        ]
    );
    let any_v4 = TsAddrRange::any(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::BROADCAST),
    );
    for ts in [&inner[4], &inner[5]] {
        let (Payload::TsI(t) | Payload::TsR(t)) = ts else {
            panic!()
        };
        assert_eq!(t.ranges().copied().collect::<Vec<_>>(), [any_v4]);
    }
    let notes: Vec<&Notify> = notifies(&inner).collect();
    assert_eq!(notes[0].ty, NotifyType::INITIAL_CONTACT);
    assert_eq!(notes[1].ty, NotifyType::SET_WINDOW_SIZE);
    assert_eq!(notes[1].data_u32(), Some(1));

    // Sending the same inner payloads yields the captured plaintext exactly (minimal zero padding
    // for a 16-octet block) in a message of the captured size.
    let (built, built_layout) = build_sk_message(&m.header, &[], &inner, 16, 16, 12).unwrap();
    assert_eq!(built.len(), bytes.len());
    assert_eq!(built_layout, layout);
    assert_eq!(&built[built_layout.ciphertext.clone()], &plaintext[..]);
    assert_eq!(&built[..32], &bytes[..32], "header and SK header identical");
}

#[test]
fn rfc7383_s2_5_captured_skf_fragment_decodes_and_reencodes() {
    let bytes = h(IKE_AUTH_RESP_FRAGMENT);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.header.exchange, ExchangeType::IKE_AUTH);
    assert!(m.header.flags.response() && !m.header.flags.initiator());
    assert_eq!(m.payloads.len(), 1);
    let f = m.fragment().unwrap();
    assert_eq!(
        (f.number, f.total, f.first_inner),
        (2, 2, PayloadType::NONE)
    );
    assert_eq!(f.data.len(), 0xa4 - 8);
    assert_eq!(m.encode().unwrap(), bytes);
    let layout = SkLayout::locate(&bytes, 16, 12).unwrap();
    assert_eq!(
        layout.aad(),
        0..36,
        "AAD includes Fragment Number and Total Fragments"
    );
    assert_eq!(layout.icv.end, bytes.len());
}

#[test]
fn rfc7296_s1_4_captured_empty_informational_response() {
    let bytes = h(EMPTY_INFORMATIONAL_RESP);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.header.exchange, ExchangeType::INFORMATIONAL);
    assert_eq!(m.header.flags, Flags::INITIATOR | Flags::RESPONSE);
    let sk = m.encrypted().unwrap();
    assert_eq!(sk.first_inner, PayloadType::NONE, "no inner payloads");
    let layout = SkLayout::locate(&bytes, 16, 12).unwrap();
    assert_eq!(
        &bytes[layout.iv.clone()],
        &h("e376871750fdba9f7012446c5dc3f97a")[..]
    );
    assert_eq!(
        &bytes[layout.ciphertext.clone()],
        &h("f83b48ba0dbc68bcc4a78136832100aa")[..]
    );
    assert_eq!(
        &bytes[layout.icv.clone()],
        &h("4192f251cd4d1b97d298e550")[..]
    );
    assert_eq!(m.encode().unwrap(), bytes);
    // An empty inner chain is one block of padding ending in Pad Length 15.
    let mut pt = vec![0u8; 15];
    pt.push(15);
    assert_eq!(decode_plaintext(PayloadType::NONE, &pt).unwrap(), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Payload-level vectors (AOSP IkeSaPayloadTest.java / IkeDeletePayloadTest.java): wrapped in a
// header so they go through the full decoder.

fn header(exchange: ExchangeType, flags: Flags, message_id: u32) -> Header {
    Header::new(
        IkeSpi(0x0102030405060708),
        IkeSpi(0x1112131415161718),
        exchange,
        flags,
        message_id,
    )
}

/// A message whose chain is the given raw payload bytes (first payload of type `first`).
fn wrap(first: PayloadType, chain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0x0102030405060708u64.to_be_bytes());
    out.extend_from_slice(&0x1112131415161718u64.to_be_bytes());
    out.extend_from_slice(&[first.0, 0x20, ExchangeType::INFORMATIONAL.0, 0x08]);
    out.extend_from_slice(&7u32.to_be_bytes());
    out.extend_from_slice(&((28 + chain.len()) as u32).to_be_bytes());
    out.extend_from_slice(chain);
    out
}

fn decode_one(first: PayloadType, chain: &str) -> (Vec<u8>, Payload) {
    let bytes = wrap(first, &h(chain));
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.payloads.len(), 1);
    assert_eq!(m.encode().unwrap(), bytes, "canonical re-encoding");
    (bytes, m.payloads.into_iter().next().unwrap())
}

#[test]
fn rfc7296_s3_11_delete_payloads_ike_and_child() {
    let (_, p) = decode_one(PayloadType::DELETE, "0000000801000000");
    assert_eq!(p, Payload::Delete(Delete::ike()));
    let (_, p) = decode_one(PayloadType::DELETE, "0000000c030400012ad4c0a2");
    assert_eq!(p, Payload::Delete(Delete::esp(vec![0x2ad4c0a2])));
    let (_, p) = decode_one(PayloadType::DELETE, "0000001003040002abcdef0120fedcba");
    assert_eq!(
        p,
        Payload::Delete(Delete::esp(vec![0xabcdef01, 0x20fedcba]))
    );
}

#[test]
fn rfc7296_s3_11_delete_with_bad_spi_size_or_count_is_invalid_syntax() {
    for (chain, what) in [
        ("0000000801040000", "IKE delete with SPI size 4"),
        ("0000000801000001", "IKE delete with a SPI count"),
        ("0000000c030800012ad4c0a2", "ESP delete with SPI size 8"),
        (
            "0000000c030400022ad4c0a2",
            "ESP delete claiming 2 SPIs, carrying 1",
        ),
        (
            "0000000e030400012ad4c0a20000",
            "ESP delete with trailing bytes",
        ),
    ] {
        let err = Message::decode(&wrap(PayloadType::DELETE, &h(chain))).unwrap_err();
        assert_eq!(
            err.notify_type(),
            NotifyType::INVALID_SYNTAX,
            "{what}: {err}"
        );
    }
}

/// strongSwan's default IKE proposal set as two proposals (AOSP INBOUND_TWO_PROPOSAL_RAW_PACKET).
const TWO_IKE_PROPOSALS: &str = "020000dc010100190300000c0100000c800e00800300000c0100000c800e00c0030
    0000c0100000c800e01000300000801000003030000080300000c030000080300000d030000080300000e0300000803
    000002030000080300000503000008020000050300000802000006030000080200000703000008020000040300000802
    000002030000080400001303000008040000140300000804000015030000080400001c030000080400001d0300000804
    00001e030000080400001f030000080400000f0300000804000010030000080400001200000008040000
    0e000001000201001a0300000c01000014800e00800300000c01000014800e00c00300000c01000014800e0100030000
    0c0100001c800e01000300000c01000013800e00800300000c01000013800e00c00300000c01000013800e0100030000
    0c01000012800e00800300000c01000012800e00c00300000c01000012800e0100030000080200000503000008020000
    060300000802000007030000080200000403000008020000020300000804000013030000080400001403000008040000
    150300000804000 01c030000080400001d030000080400001e030000080400001f030000080400000f03000008040000
    1003000008040000120000000804000 00e";

#[test]
fn rfc7296_s3_3_two_proposal_sa_from_strongswan_round_trips() {
    let proposals = h(TWO_IKE_PROPOSALS);
    let mut chain = h("000001e0");
    assert_eq!(proposals.len() + 4, 0x1e0);
    chain.extend_from_slice(&proposals);
    let bytes = wrap(PayloadType::SA, &chain);
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.encode().unwrap(), bytes);
    let Payload::Sa(sa) = &m.payloads[0] else {
        panic!()
    };
    assert_eq!(sa.proposals.len(), 2);
    assert_eq!(sa.proposals[0].transforms.len(), 0x19);
    assert_eq!(sa.proposals[1].transforms.len(), 0x1a);
    assert_eq!(sa.proposals[1].number, 2);
    // Second proposal starts with AES-GCM-16 (20) with a 128-bit key.
    assert_eq!(
        sa.proposals[1].transforms[0],
        Transform::with_key_length(TransformId::Encr(EncrId::AES_GCM_16), 128)
    );
    let dh: Vec<DhId> = sa.proposals[0]
        .transforms_of(TransformType::DH)
        .map(|t| match t.id {
            TransformId::Dh(d) => d,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(dh.contains(&DhId::MODP_2048) && dh.contains(&DhId::CURVE25519));
}

#[test]
fn rfc7296_s3_3_child_sa_proposals_with_spi_and_esn() {
    let (_, p) = decode_one(
        PayloadType::SA,
        "0000004402000028 01030403cae7019f0300000c0100000c800e008003000008030000020000000805000000
         0000001802030401cae7019e0000000c01000012800e0080",
    );
    let Payload::Sa(sa) = p else { panic!() };
    assert_eq!(sa.proposals[0].spi, h("cae7019f"));
    assert_eq!(sa.proposals[1].spi, h("cae7019e"));
    assert_eq!(
        sa.proposals[1].transforms,
        [Transform::with_key_length(
            TransformId::Encr(EncrId::AES_GCM_8),
            128
        )]
    );
}

#[test]
fn rfc7296_s3_3_inconsistent_proposal_and_transform_structure_is_rejected() {
    let good =
        "0000002c0000002801030403cae7019f0300000c0100000c800e0080030000080300000200000008050000
        00";
    decode_one(PayloadType::SA, good);
    let cases = [
        // transform count 4, 3 present
        (
            "0000002c0000002801030404cae7019f0300000c0100000c800e008003000008030000020000000805000000",
            "count",
        ),
        // transform count 2, 3 present
        (
            "0000002c0000002801030402cae7019f0300000c0100000c800e008003000008030000020000000805000000",
            "trailing",
        ),
        // last transform says "more"
        (
            "0000002c0000002801030403cae7019f0300000c0100000c800e008003000008030000020300000805000000",
            "substruc",
        ),
        // proposal says "more" (2) but nothing follows
        (
            "0000002c0200002801030403cae7019f0300000c0100000c800e008003000008030000020000000805000000",
            "truncated",
        ),
        // proposal Last Substruc neither 0 nor 2
        (
            "0000002c0100002801030403cae7019f0300000c0100000c800e008003000008030000020000000805000000",
            "substruc",
        ),
        // proposal length overruns SA payload
        (
            "0000002c0000002901030403cae7019f0300000c0100000c800e008003000008030000020000000805000000",
            "overrun",
        ),
        // transform length overruns proposal
        (
            "0000002c0000002801030403cae7019f0300000c0100000c800e008003000008030000020000000905000000",
            "overrun",
        ),
        // transform length below its header
        (
            "0000002c0000002801030403cae7019f0300000c0100000c800e008003000008030000020000000705000000",
            "short",
        ),
        // TLV attribute length overruns transform
        (
            "0000002c0000002801030403cae7019f0300000c0100000c000e008003000008030000020000000805000000",
            "truncated",
        ),
        // empty SA payload
        ("00000004", "no proposal"),
    ];
    for (chain, what) in cases {
        let err = Message::decode(&wrap(PayloadType::SA, &h(chain))).unwrap_err();
        assert_eq!(
            err.notify_type(),
            NotifyType::INVALID_SYNTAX,
            "{what}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-built messages covering every payload we send or may receive.

fn nat_d(tag: u8) -> Vec<u8> {
    vec![tag; 20]
}

fn ike_proposal() -> Proposal {
    Proposal {
        number: 1,
        protocol: ProtocolId::IKE,
        spi: vec![],
        transforms: vec![
            Transform::with_key_length(TransformId::Encr(EncrId::AES_GCM_16), 256),
            Transform::new(TransformId::Prf(PrfId::HMAC_SHA2_256)),
            Transform::new(TransformId::Dh(DhId::ECP_256)),
        ],
    }
}

fn esp_proposal(spi: u32) -> Proposal {
    Proposal {
        number: 1,
        protocol: ProtocolId::ESP,
        spi: spi.to_be_bytes().to_vec(),
        transforms: vec![
            Transform::with_key_length(TransformId::Encr(EncrId::AES_CBC), 128),
            Transform::new(TransformId::Integ(IntegId::HMAC_SHA2_256_128)),
            Transform::new(TransformId::Esn(EsnId::NO_ESN)),
        ],
    }
}

fn tsi() -> TrafficSelectors {
    TrafficSelectors::from_ranges([TsAddrRange::from_cidr(
        IpAddr::V4(Ipv4Addr::new(198, 18, 1, 0)),
        24,
    )])
}

fn tsr() -> TrafficSelectors {
    TrafficSelectors::new(vec![
        TrafficSelector::AddrRange(TsAddrRange {
            ip_protocol: 6,
            start_port: 443,
            end_port: 443,
            start: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)),
            end: IpAddr::V4(Ipv4Addr::new(198, 19, 255, 255)),
        }),
        TrafficSelector::AddrRange(TsAddrRange::from_cidr(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)),
            32,
        )),
    ])
}

/// IKE_AUTH request inner payloads (RFC 7296 §1.2) with PSK and a CP request.
fn ike_auth_inner() -> Vec<Payload> {
    vec![
        Payload::IdI(Identification::ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))),
        Payload::Notify(Notify::new(NotifyType::INITIAL_CONTACT, vec![])),
        Payload::IdR(Identification::fqdn("vpn.example.net")),
        Payload::Auth(Auth {
            method: AuthMethod::SHARED_KEY_MIC,
            data: vec![0xaa; 32],
        }),
        Payload::Config(Config {
            cfg_type: ConfigType::CFG_REQUEST,
            attributes: vec![
                ConfigAttribute {
                    ty: ConfigAttrType::INTERNAL_IP4_ADDRESS,
                    value: vec![],
                },
                ConfigAttribute {
                    ty: ConfigAttrType::INTERNAL_IP4_DNS,
                    value: vec![198, 18, 0, 53],
                },
            ],
        }),
        Payload::Sa(Sa {
            proposals: vec![esp_proposal(0xc0ffee01)],
        }),
        Payload::TsI(tsi()),
        Payload::TsR(tsr()),
        Payload::Notify(Notify::new(
            NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED,
            vec![],
        )),
        Payload::Notify(Notify::new(NotifyType::NON_FIRST_FRAGMENTS_ALSO, vec![])),
    ]
}

fn hand_built_messages() -> Vec<Message> {
    let init = header(ExchangeType::IKE_SA_INIT, Flags::INITIATOR, 0);
    let mut init_resp = header(ExchangeType::IKE_SA_INIT, Flags::RESPONSE, 0);
    init_resp.spi_r = IkeSpi::ZERO;
    vec![
        // IKE_SA_INIT request with every notify we send there.
        Message {
            header: init,
            payloads: vec![
                Payload::Sa(Sa {
                    proposals: vec![ike_proposal()],
                }),
                Payload::Ke(KeyExchange {
                    group: DhId::ECP_256,
                    data: vec![0x42; 64],
                }),
                Payload::Nonce(Nonce(vec![0x17; 32])),
                Payload::Notify(Notify::new(NotifyType::NAT_DETECTION_SOURCE_IP, nat_d(1))),
                Payload::Notify(Notify::new(
                    NotifyType::NAT_DETECTION_DESTINATION_IP,
                    nat_d(2),
                )),
                Payload::Notify(Notify::new(
                    NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                    vec![],
                )),
                Payload::Notify(Notify::new(
                    NotifyType::SIGNATURE_HASH_ALGORITHMS,
                    vec![0, 2, 0, 3, 0, 4],
                )),
                Payload::VendorId(VendorId(b"dualsec".to_vec())),
            ],
        },
        // IKE_SA_INIT responses: COOKIE, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN.
        Message {
            header: init_resp,
            payloads: vec![Payload::Notify(Notify::new(
                NotifyType::COOKIE,
                vec![0x5a; 24],
            ))],
        },
        Message {
            header: init_resp,
            payloads: vec![Payload::Notify(Notify::invalid_ke_payload(DhId::MODP_2048))],
        },
        Message {
            header: init_resp,
            payloads: vec![Payload::Notify(Notify::new(
                NotifyType::NO_PROPOSAL_CHOSEN,
                vec![],
            ))],
        },
        // IKE_AUTH inner payloads sent in the clear (not on the wire like this, but every payload
        // must round-trip in any position).
        Message {
            header: header(ExchangeType::IKE_AUTH, Flags::INITIATOR, 1),
            payloads: ike_auth_inner(),
        },
        // CREATE_CHILD_SA rekey of a Child SA (RFC 7296 §1.3.3), clear for the same reason.
        Message {
            header: header(ExchangeType::CREATE_CHILD_SA, Flags::INITIATOR, 2),
            payloads: vec![
                Payload::Notify(Notify::for_spi(
                    ProtocolId::ESP,
                    0xc0ffee01,
                    NotifyType::REKEY_SA,
                    vec![],
                )),
                Payload::Sa(Sa {
                    proposals: vec![esp_proposal(0xc0ffee02)],
                }),
                Payload::Nonce(Nonce(vec![3; 16])),
                Payload::Ke(KeyExchange {
                    group: DhId::MODP_2048,
                    data: vec![9; 256],
                }),
                Payload::TsI(tsi()),
                Payload::TsR(tsr()),
                Payload::Notify(Notify::new(NotifyType::USE_TRANSPORT_MODE, vec![])),
            ],
        },
        // CREATE_CHILD_SA rekey of the IKE SA (8-octet SPI in the proposal).
        Message {
            header: header(ExchangeType::CREATE_CHILD_SA, Flags::RESPONSE, 3),
            payloads: vec![
                Payload::Sa(Sa {
                    proposals: vec![Proposal {
                        spi: vec![0xfe; 8],
                        ..ike_proposal()
                    }],
                }),
                Payload::Nonce(Nonce(vec![4; 32])),
                Payload::Ke(KeyExchange {
                    group: DhId::ECP_256,
                    data: vec![5; 64],
                }),
            ],
        },
        // INFORMATIONAL: deletes, error notifies with SPIs, liveness (no payloads).
        Message {
            header: header(ExchangeType::INFORMATIONAL, Flags::INITIATOR, 4),
            payloads: vec![
                Payload::Delete(Delete::esp(vec![1, 0xffffffff])),
                Payload::Delete(Delete::ike()),
                Payload::Notify(Notify::for_spi(
                    ProtocolId::ESP,
                    7,
                    NotifyType::CHILD_SA_NOT_FOUND,
                    vec![],
                )),
                Payload::Notify(Notify::new(NotifyType::AUTHENTICATION_FAILED, vec![])),
                Payload::Notify(Notify::new(NotifyType::TS_UNACCEPTABLE, vec![])),
                Payload::Notify(Notify::new(NotifyType::INVALID_SYNTAX, vec![])),
                Payload::Notify(Notify::new(
                    NotifyType::INVALID_MESSAGE_ID,
                    vec![0, 0, 0, 9],
                )),
                Payload::Notify(Notify::for_spi(
                    ProtocolId::ESP,
                    8,
                    NotifyType::INVALID_SPI,
                    vec![],
                )),
                Payload::Notify(Notify::new(NotifyType::TEMPORARY_FAILURE, vec![])),
                Payload::Notify(Notify::new(NotifyType::NO_ADDITIONAL_SAS, vec![])),
                Payload::Notify(Notify::new(NotifyType::SET_WINDOW_SIZE, vec![0, 0, 0, 4])),
                Payload::Notify(Notify::new(NotifyType::MOBIKE_SUPPORTED, vec![])),
                Payload::Notify(Notify::unsupported_critical_payload(PayloadType(99))),
            ],
        },
        Message {
            header: header(ExchangeType::INFORMATIONAL, Flags::RESPONSE, 4),
            payloads: vec![],
        },
        // Certificates, EAP and unknown payloads (kept raw).
        Message {
            header: header(ExchangeType::IKE_AUTH, Flags::RESPONSE, 1),
            payloads: vec![
                Payload::Cert(Cert {
                    encoding: CertEncoding::X509_SIGNATURE,
                    data: vec![0x30, 0x82, 0x01, 0x00],
                }),
                Payload::CertReq(Cert {
                    encoding: CertEncoding::X509_SIGNATURE,
                    data: vec![0x11; 20],
                }),
                Payload::Eap(vec![1, 2, 0, 4]),
                Payload::Unknown(UnknownPayload {
                    ty: PayloadType(200),
                    critical: false,
                    body: vec![1, 2, 3],
                }),
                Payload::IdR(Identification::rfc822("ops@example.net")),
                Payload::IdI(Identification::key_id(b"\x01\x02opaque")),
                Payload::IdI(Identification::ip(IpAddr::V6(Ipv6Addr::LOCALHOST))),
                Payload::TsI(TrafficSelectors::new(vec![TrafficSelector::Unknown {
                    ty: TsType::TS_SECLABEL,
                    second_octet: 0,
                    data: b"system_u:object_r".to_vec(),
                }])),
            ],
        },
        // A protected message and a fragment (opaque data).
        Message {
            header: header(ExchangeType::IKE_AUTH, Flags::INITIATOR, 1),
            payloads: vec![Payload::Encrypted(Encrypted {
                first_inner: PayloadType::IDI,
                data: vec![0xee; 8 + 16 + 16],
            })],
        },
        Message {
            header: header(ExchangeType::IKE_AUTH, Flags::INITIATOR, 1),
            payloads: vec![Payload::EncryptedFragment(EncryptedFragment {
                number: 1,
                total: 3,
                first_inner: PayloadType::IDI,
                data: vec![0xdd; 40],
            })],
        },
    ]
}

#[test]
fn every_hand_built_message_round_trips_canonically() {
    for m in hand_built_messages() {
        let bytes = m.encode().unwrap();
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.encode().unwrap(), bytes);
        // HeaderView agrees with the owned header and the Length field.
        let v = HeaderView::new_checked(&bytes).unwrap();
        assert_eq!(v.header(), m.header);
        assert_eq!(v.length() as usize, bytes.len());
        assert_eq!(
            v.next_payload(),
            m.payloads
                .first()
                .map_or(PayloadType::NONE, Payload::payload_type)
        );
    }
}

#[test]
fn rfc7296_s3_exact_bytes_of_hand_built_sa_init_response_payloads() {
    // IKE_SA_INIT response carrying INVALID_KE_PAYLOAD(MODP_2048), from the §3.1/§3.10 diagrams:
    //   header: SPIi, SPIr=0, next=N(41), ver 2.0, exch 34, flags R (0x20), msgid 0, len 38
    //   N: next 0, C=0, len 10, proto 0, spi size 0, type 17, data 000e
    let mut h_ = header(ExchangeType::IKE_SA_INIT, Flags::RESPONSE, 0);
    h_.spi_r = IkeSpi::ZERO;
    let m = Message {
        header: h_,
        payloads: vec![Payload::Notify(Notify::invalid_ke_payload(DhId::MODP_2048))],
    };
    assert_eq!(
        m.encode().unwrap(),
        h(
            "0102030405060708 0000000000000000 29202220 00000000 00000026
           0000000a 00000011 000e"
        )
    );
    // SA/KE/Nonce/TS/ID/AUTH/Delete/CP/VID bodies, hand-assembled from §3.3–§3.15.
    let cases: Vec<(Payload, &str)> = vec![
        (
            Payload::Sa(Sa {
                proposals: vec![ike_proposal()],
            }),
            "00000028 00000024 01010003 0300000c 01000014 800e0100 03000008 02000005
             00000008 04000013",
        ),
        (
            Payload::Ke(KeyExchange {
                group: DhId::CURVE25519,
                data: vec![0xab; 4],
            }),
            "0000000c 001f0000 abababab",
        ),
        (Payload::Nonce(Nonce(vec![1, 2, 3])), "00000007 010203"),
        (
            Payload::IdI(Identification::fqdn("a.b")),
            "0000000b 02000000 612e62",
        ),
        (
            Payload::Auth(Auth {
                method: AuthMethod::SHARED_KEY_MIC,
                data: vec![0xcc; 2],
            }),
            "0000000a 02000000 cccc",
        ),
        (
            Payload::TsI(tsi()),
            "00000018 01000000 07000010 0000ffff c6120100 c61201ff",
        ),
        (
            Payload::Delete(Delete::esp(vec![0xdeadbeef])),
            "0000000c 03040001 deadbeef",
        ),
        (
            Payload::Config(Config {
                cfg_type: ConfigType::CFG_REPLY,
                attributes: vec![ConfigAttribute {
                    ty: ConfigAttrType::INTERNAL_IP4_ADDRESS,
                    value: vec![198, 18, 0, 7],
                }],
            }),
            "00000010 02000000 00010004 c6120007",
        ),
        (
            Payload::VendorId(VendorId(vec![0x88; 3])),
            "00000007 888888",
        ),
        (
            Payload::Notify(Notify::for_spi(
                ProtocolId::ESP,
                0x01020304,
                NotifyType::REKEY_SA,
                vec![],
            )),
            "0000000c 03044009 01020304",
        ),
    ];
    for (p, expect) in cases {
        let ty = p.payload_type();
        let m = Message {
            header: header(ExchangeType::INFORMATIONAL, Flags::INITIATOR, 7),
            payloads: vec![p],
        };
        let bytes = m.encode().unwrap();
        assert_eq!(bytes, wrap(ty, &h(expect)), "{ty:?}");
        assert_eq!(Message::decode(&bytes).unwrap(), m);
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed input: typed errors, never a panic.

#[test]
fn every_message_truncated_at_every_length_is_a_typed_error() {
    for bytes in all_messages() {
        assert!(Message::decode(&bytes).is_ok());
        for cut in 0..bytes.len() {
            let err = Message::decode(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "cut at {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn every_message_with_its_length_field_shrunk_is_rejected() {
    // The Length field is reduced along with the datagram: every inner structure is cut short.
    for bytes in all_messages() {
        for cut in 28..bytes.len() {
            let mut b = bytes[..cut].to_vec();
            b[24..28].copy_from_slice(&(cut as u32).to_be_bytes());
            let r = Message::decode(&b);
            // Cutting exactly at a payload boundary of a chain whose last payload had Next Payload
            // NONE cannot happen: every cut leaves a payload whose length overruns, or a header
            // Next Payload pointing past the end.
            assert!(r.is_err(), "cut at {cut} decoded: {r:?}");
        }
    }
}

#[test]
fn rfc7296_s3_1_trailing_bytes_are_rejected() {
    for bytes in all_messages() {
        // Extra datagram bytes beyond the Length field.
        let mut b = bytes.clone();
        b.push(0);
        assert!(matches!(
            Message::decode(&b),
            Err(DecodeError::TrailingBytes {
                what: "IKE message",
                count: 1
            })
        ));
        // Extra bytes counted by the Length field but after the last payload.
        let n = b.len() as u32;
        b[24..28].copy_from_slice(&n.to_be_bytes());
        assert!(
            matches!(Message::decode(&b), Err(DecodeError::TrailingBytes { .. })),
            "{:?}",
            Message::decode(&b)
        );
    }
}

#[test]
fn rfc7296_s3_2_payload_length_errors_are_typed() {
    let bytes = h(SA_INIT_REQ);
    // First payload length below the generic header.
    let mut b = bytes.clone();
    b[30..32].copy_from_slice(&3u16.to_be_bytes());
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::LengthTooShort { minimum: 4, .. })
    ));
    // First payload length beyond the message.
    let mut b = bytes.clone();
    b[30..32].copy_from_slice(&0xffffu16.to_be_bytes());
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::LengthOverrun { .. })
    ));
    // Header length below the header.
    let mut b = bytes.clone();
    b[24..28].copy_from_slice(&27u32.to_be_bytes());
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::LengthTooShort { minimum: 28, .. })
    ));
}

#[test]
fn rfc7296_s2_5_unknown_payloads_kept_unless_critical() {
    // The captured SA_INIT with its first payload relabelled as unknown type 0xff.
    let mut b = h(SA_INIT_REQ);
    b[16] = 0xff;
    let m = Message::decode(&b).unwrap();
    assert_eq!(m.payloads.len(), 6);
    let Payload::Unknown(u) = &m.payloads[0] else {
        panic!()
    };
    assert_eq!(
        (u.ty, u.critical, u.body.len()),
        (PayloadType(0xff), false, 0x30 - 4)
    );
    assert_eq!(
        m.encode().unwrap(),
        b,
        "unknown payload re-encodes verbatim"
    );

    // With the critical bit set the whole message is rejected, naming the type.
    b[29] |= 0x80;
    let err = Message::decode(&b).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnsupportedCriticalPayload {
            payload: PayloadType(0xff)
        }
    );
    assert_eq!(err.notify_type(), NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD);

    // The critical bit on a known payload is ignored (and not re-sent).
    let mut b = h(SA_INIT_REQ);
    b[29] |= 0x80;
    let m = Message::decode(&b).unwrap();
    assert_eq!(m, Message::decode(&h(SA_INIT_REQ)).unwrap());

    // Inside SK, too.
    let inner = h("c8800005 00");
    assert_eq!(
        decode_payloads(PayloadType(0xc8), &inner),
        Err(DecodeError::UnsupportedCriticalPayload {
            payload: PayloadType(0xc8)
        })
    );
}

#[test]
fn rfc7296_s2_5_other_major_versions_are_reported_for_invalid_major_version() {
    let mut b = h(SA_INIT_REQ);
    b[17] = 0x30;
    let err = Message::decode(&b).unwrap_err();
    assert_eq!(err, DecodeError::UnsupportedVersion { major: 3, minor: 0 });
    assert_eq!(err.notify_type(), NotifyType::INVALID_MAJOR_VERSION);
    // IKEv1 (1.0) too; the dispatcher routes it by HeaderView before decoding.
    b[17] = 0x10;
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::UnsupportedVersion { major: 1, .. })
    ));
    assert_eq!(HeaderView::new_checked(&b).unwrap().major_version(), 1);
    // A higher minor version is accepted (RFC 7296 §2.5).
    b[17] = 0x21;
    assert_eq!(Message::decode(&b).unwrap().header.version, 0x21);
}

#[test]
fn rfc7296_s3_14_sk_must_be_last_and_not_nested() {
    let msg = Message {
        header: header(ExchangeType::IKE_AUTH, Flags::INITIATOR, 1),
        payloads: vec![
            Payload::Encrypted(Encrypted {
                first_inner: PayloadType::NONE,
                data: vec![0; 4],
            }),
            Payload::Nonce(Nonce(vec![1])),
        ],
    };
    assert!(matches!(
        msg.encode(),
        Err(EncodeError::Inconsistent { .. })
    ));
    // SK in a decrypted inner chain.
    let inner = h("2e000005 00");
    assert!(matches!(
        decode_payloads(PayloadType::SK, &inner),
        Err(DecodeError::InvalidField { .. })
    ));
    assert!(encode_payloads(&msg.payloads).is_err());
    // Bytes after SK inside the Length: trailing.
    let mut b = h(EMPTY_INFORMATIONAL_RESP);
    b.extend_from_slice(&[0, 0, 0, 4]);
    let n = b.len() as u32;
    b[24..28].copy_from_slice(&n.to_be_bytes());
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::TrailingBytes { .. })
    ));
}

#[test]
fn rfc7296_s3_13_traffic_selector_errors() {
    for (chain, what) in [
        // Selector Length 15 for IPv4
        (
            "00000018 01000000 0700000f 0000ffff c6120100 c61201ff",
            "length",
        ),
        // 2 selectors declared, 1 present
        (
            "00000018 02000000 07000010 0000ffff c6120100 c61201ff",
            "count",
        ),
        // IPv6 selector cut short
        (
            "00000018 01000000 08000010 0000ffff c6120100 c61201ff",
            "v6",
        ),
    ] {
        let err = Message::decode(&wrap(PayloadType::TSI, &h(chain))).unwrap_err();
        assert_eq!(
            err.notify_type(),
            NotifyType::INVALID_SYNTAX,
            "{what}: {err}"
        );
    }
    // Mixed families cannot be encoded.
    let bad = Payload::TsI(TrafficSelectors::from_ranges([TsAddrRange::any(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    )]));
    assert!(matches!(
        encode_payloads(&[bad]),
        Err(EncodeError::Inconsistent { .. })
    ));
}

#[test]
fn rfc7383_s2_5_skf_numbers_are_validated() {
    for (num_total, ok) in [
        ("00010001", true),
        ("00000001", false),
        ("00020001", false),
        ("00010000", false),
    ] {
        let chain = format!("2300000c {num_total} aabbccdd");
        let r = Message::decode(&wrap(PayloadType::SKF, &h(&chain)));
        assert_eq!(r.is_ok(), ok, "{num_total}: {r:?}");
    }
}

#[test]
fn encode_rejects_what_the_wire_cannot_hold() {
    let too_big = Payload::Nonce(Nonce(vec![0; 65535]));
    assert!(matches!(
        encode_payloads(&[too_big]),
        Err(EncodeError::TooLong { .. })
    ));
    let spi_too_long = Payload::Notify(Notify {
        protocol: ProtocolId::ESP,
        spi: vec![0; 256],
        ty: NotifyType::REKEY_SA,
        data: vec![],
    });
    assert!(matches!(
        encode_payloads(&[spi_too_long]),
        Err(EncodeError::TooMany { .. })
    ));
    let ike_delete_with_spi = Payload::Delete(Delete {
        protocol: ProtocolId::IKE,
        spis: vec![1],
    });
    assert!(encode_payloads(&[ike_delete_with_spi]).is_err());
    assert!(encode_payloads(&[Payload::Sa(Sa { proposals: vec![] })]).is_err());
}

#[test]
fn registry_names_and_unknown_values_print() {
    assert_eq!(
        format!("{:?}", NotifyType::IKEV2_FRAGMENTATION_SUPPORTED),
        "IKEV2_FRAGMENTATION_SUPPORTED"
    );
    assert_eq!(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED.0, 16430);
    assert_eq!(NotifyType::SIGNATURE_HASH_ALGORITHMS.0, 16431);
    assert_eq!(format!("{:?}", NotifyType(40000)), "NotifyType(40000)");
    assert!(NotifyType::TS_UNACCEPTABLE.is_error() && !NotifyType::COOKIE.is_error());
    assert_eq!(
        format!("{:?}", Flags::INITIATOR | Flags::RESPONSE),
        "Flags(0x28 I R)"
    );
    assert_eq!(format!("{:?}", IkeSpi(0xab)), "00000000000000ab");
}
