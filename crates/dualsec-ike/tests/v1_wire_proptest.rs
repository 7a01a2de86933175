//! Property tests of the ISAKMP/IKEv1 codec: arbitrary and mutated bytes never panic, whatever
//! decodes re-encodes to a fixed point, and generated messages round-trip exactly.

#![allow(clippy::unwrap_used)] // tests unwrap what they just built or asserted

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dualsec_ike::v1::wire::*;
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Recorded Main Mode message 2 (IPsec-StateMachineExtractor IKEv1HandshakeIT.java).
const MM2: &str =
    "59cedc5dcea558fe9e169842364452570110020000000000000000740d00003800000001000000010000002c
    00010001000000240101000080010007800e0080800200028004000280030001800b0001800c70800d00000c09002689
    dfd6b71200000014afcad71368a1f1c96b8696fc77570100";

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = Message::decode(bytes) {
        let again = m.encode().unwrap();
        prop_assert_eq!(again.len(), bytes.len());
        let back = Message::decode(&again).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode().unwrap(), again);
    }
    Ok(())
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn attribute() -> impl Strategy<Value = Attribute> {
    (
        0u16..0x8000,
        prop_oneof![
            any::<u16>().prop_map(AttrValue::Basic),
            bytes(6).prop_map(AttrValue::Variable)
        ],
    )
        .prop_map(|(ty, value)| Attribute { ty, value })
}

fn sa() -> impl Strategy<Value = Sa> {
    let transform = (
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(attribute(), 0..4),
    )
        .prop_map(|(number, id, attributes)| Transform {
            number,
            id,
            attributes,
        });
    let proposal = (
        any::<u8>(),
        any::<u8>(),
        bytes(5),
        prop::collection::vec(transform, 0..3),
    )
        .prop_map(|(number, p, spi, transforms)| Proposal {
            number,
            protocol: ProtocolId(p),
            spi,
            transforms,
        });
    (
        any::<u32>(),
        any::<u32>().prop_map(|s| s & !0x06),
        prop::collection::vec(proposal, 1..3),
    )
        .prop_map(|(doi, situation, proposals)| Sa {
            doi: Doi(doi),
            situation,
            proposals,
        })
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        sa().prop_map(Payload::Sa),
        bytes(40).prop_map(Payload::Ke),
        (any::<u8>(), any::<u8>(), any::<u16>(), bytes(20)).prop_map(|(t, p, port, data)| {
            Payload::Id(Identification {
                ty: IdType(t),
                protocol: p,
                port,
                data,
            })
        }),
        (any::<u8>(), bytes(20))
            .prop_map(|(encoding, data)| Payload::Cert(Cert { encoding, data })),
        (any::<u8>(), bytes(20)).prop_map(|(encoding, data)| Payload::Cr(Cert { encoding, data })),
        bytes(24).prop_map(Payload::Hash),
        bytes(24).prop_map(Payload::Sig),
        bytes(24).prop_map(Payload::Nonce),
        (any::<u32>(), any::<u8>(), bytes(17), any::<u16>(), bytes(8)).prop_map(
            |(doi, p, spi, ty, data)| Payload::Notify(Notify {
                doi: Doi(doi),
                protocol: ProtocolId(p),
                spi,
                ty: NotifyType(ty),
                data,
            })
        ),
        (any::<u32>(), any::<u8>(), 1u8..17, 0usize..4).prop_map(|(doi, p, size, n)| {
            Payload::Delete(Delete {
                doi: Doi(doi),
                protocol: ProtocolId(p),
                spi_size: size,
                spis: (0..n).map(|i| vec![i as u8; usize::from(size)]).collect(),
            })
        }),
        bytes(20).prop_map(Payload::VendorId),
        bytes(20).prop_map(Payload::NatD),
        prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ]
        .prop_map(|addr| Payload::NatOa(NatOa { addr })),
        (
            any::<u8>().prop_filter("not interpreted", |t| matches!(*t, 14..=19 | 22..=255)),
            bytes(12)
        )
            .prop_map(|(t, body)| Payload::Other {
                ty: PayloadType(t),
                body
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(b in bytes(400), first in any::<u8>()) {
        check(&b)?;
        let mut m = h(MM2)[..28].to_vec();
        m[16] = first;
        m[19] = 0;
        m.extend_from_slice(&b);
        let n = m.len() as u32;
        m[24..28].copy_from_slice(&n.to_be_bytes());
        check(&m)?;
        let _ = decode_decrypted(PayloadType(first), &b);
        let _ = decode_with_spans(PayloadType(first), &b);
    }

    #[test]
    fn mutated_capture_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut b = h(MM2);
        for (at, v) in &edits {
            let i = at.index(b.len());
            b[i] = *v;
        }
        check(&b)?;
    }

    #[test]
    fn generated_messages_round_trip(
        payloads in prop::collection::vec(payload(), 0..6),
        exch in any::<u8>(),
        mid in any::<u32>(),
        block in 1usize..17,
    ) {
        let m = Message {
            header: Header::new(Cookie(1), Cookie(2), ExchangeType(exch), Flags::default(), mid),
            body: Body::Plain(payloads.clone()),
        };
        let b = m.encode().unwrap();
        prop_assert_eq!(Message::decode(&b).unwrap(), m);
        // The same chain, padded for encryption, decodes with spans covering it exactly.
        let (first, pt) = encode_for_encryption(&payloads, block).unwrap();
        prop_assert_eq!(pt.len() % block, 0);
        let d = decode_decrypted(first, &pt).unwrap();
        prop_assert_eq!(&d.payloads, &payloads);
        prop_assert!(d.padding >= 1 && d.padding <= block);
        prop_assert_eq!(d.spans.last().map_or(0, |s| s.payload.end), pt.len() - d.padding);
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x5a;
            check(&c)?;
        }
    }
}
