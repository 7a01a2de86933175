//! Property tests of the IKEv2 codec: arbitrary and mutated bytes never panic the decoders, and
//! whatever decodes re-encodes to a fixed point; generated messages round-trip exactly.

#![allow(clippy::unwrap_used)] // tests unwrap what they just built or asserted

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::captures::{SA_INIT_REQ, h};
use dualsec_ike::v2::wire::*;
use proptest::prelude::*;

/// Decodes `bytes`; if that succeeds, the re-encoding must decode to the same message, be a
/// fixed point, and have the same length (only reserved bits and the critical bit of known
/// payloads may be normalised).
fn check_decode(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = Message::decode(bytes) {
        let again = m
            .encode()
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(again.len(), bytes.len());
        let back = Message::decode(&again).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode().unwrap(), again);
    }
    Ok(())
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn transform() -> impl Strategy<Value = Transform> {
    let attr = (
        0u16..0x8000,
        prop_oneof![
            any::<u16>().prop_map(AttrValue::Tv),
            bytes(6).prop_map(AttrValue::Tlv)
        ],
    )
        .prop_map(|(ty, value)| TransformAttribute {
            ty: TransformAttrType(ty),
            value,
        });
    (any::<u8>(), any::<u16>(), prop::collection::vec(attr, 0..3)).prop_map(
        |(ty, id, attributes)| Transform {
            id: TransformId::from_wire(TransformType(ty), id),
            attributes,
        },
    )
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (
        any::<u8>(),
        any::<u8>(),
        bytes(9),
        prop::collection::vec(transform(), 0..5),
    )
        .prop_map(|(number, protocol, spi, transforms)| Proposal {
            number,
            protocol: ProtocolId(protocol),
            spi,
            transforms,
        })
}

fn selector() -> impl Strategy<Value = TrafficSelector> {
    prop_oneof![
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(p, sp, ep, s, e)| TrafficSelector::AddrRange(TsAddrRange {
                ip_protocol: p,
                start_port: sp,
                end_port: ep,
                start: IpAddr::V4(Ipv4Addr::from(s)),
                end: IpAddr::V4(Ipv4Addr::from(e)),
            })),
        (any::<u8>(), any::<u128>(), any::<u128>()).prop_map(|(p, s, e)| {
            TrafficSelector::AddrRange(TsAddrRange {
                ip_protocol: p,
                start_port: 0,
                end_port: 0xffff,
                start: IpAddr::V6(Ipv6Addr::from(s)),
                end: IpAddr::V6(Ipv6Addr::from(e)),
            })
        }),
        (
            any::<u8>().prop_filter("not an address range", |t| *t != 7 && *t != 8),
            any::<u8>(),
            bytes(12)
        )
            .prop_map(|(ty, second_octet, data)| TrafficSelector::Unknown {
                ty: TsType(ty),
                second_octet,
                data,
            }),
    ]
}

fn identification() -> impl Strategy<Value = Identification> {
    (any::<u8>(), any::<[u8; 3]>(), bytes(20)).prop_map(|(ty, reserved, data)| Identification {
        ty: IdType(ty),
        reserved,
        data,
    })
}

/// Any payload except SK/SKF (which must come last).
fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        prop::collection::vec(proposal(), 1..3).prop_map(|proposals| Payload::Sa(Sa { proposals })),
        (any::<u16>(), bytes(40)).prop_map(|(g, data)| Payload::Ke(KeyExchange {
            group: DhId(g),
            data
        })),
        identification().prop_map(Payload::IdI),
        identification().prop_map(Payload::IdR),
        (any::<u8>(), bytes(20)).prop_map(|(e, data)| Payload::Cert(Cert {
            encoding: CertEncoding(e),
            data
        })),
        (any::<u8>(), bytes(20)).prop_map(|(e, data)| Payload::CertReq(Cert {
            encoding: CertEncoding(e),
            data
        })),
        (any::<u8>(), bytes(40)).prop_map(|(m, data)| Payload::Auth(Auth {
            method: AuthMethod(m),
            data
        })),
        bytes(64).prop_map(|n| Payload::Nonce(Nonce(n))),
        (any::<u8>(), bytes(9), any::<u16>(), bytes(24)).prop_map(|(p, spi, ty, data)| {
            Payload::Notify(Notify {
                protocol: ProtocolId(p),
                spi,
                ty: NotifyType(ty),
                data,
            })
        }),
        Just(Payload::Delete(Delete::ike())),
        (
            any::<u8>().prop_filter("not IKE", |p| *p != 1),
            prop::collection::vec(any::<u32>(), 0..4)
        )
            .prop_map(|(p, spis)| Payload::Delete(Delete {
                protocol: ProtocolId(p),
                spis
            })),
        bytes(20).prop_map(|v| Payload::VendorId(VendorId(v))),
        prop::collection::vec(selector(), 0..4)
            .prop_map(|s| Payload::TsI(TrafficSelectors::new(s))),
        prop::collection::vec(selector(), 0..4)
            .prop_map(|s| Payload::TsR(TrafficSelectors::new(s))),
        (
            any::<u8>(),
            prop::collection::vec((0u16..0x8000, bytes(8)), 0..4)
        )
            .prop_map(|(t, attrs)| Payload::Config(Config {
                cfg_type: ConfigType(t),
                attributes: attrs
                    .into_iter()
                    .map(|(ty, value)| ConfigAttribute {
                        ty: ConfigAttrType(ty),
                        value
                    })
                    .collect(),
            })),
        bytes(20).prop_map(Payload::Eap),
        (
            any::<u8>().prop_filter("unknown, not NONE", |t| *t != 0
                && !is_known_payload_type(PayloadType(*t))),
            bytes(20)
        )
            .prop_map(|(t, body)| Payload::Unknown(UnknownPayload {
                ty: PayloadType(t),
                critical: false,
                body
            })),
    ]
}

fn last_payload() -> impl Strategy<Value = Option<Payload>> {
    prop_oneof![
        Just(None),
        (any::<u8>(), bytes(64)).prop_map(|(f, data)| Some(Payload::Encrypted(Encrypted {
            first_inner: PayloadType(f),
            data
        }))),
        (1u16..10, 0u16..10, any::<u8>(), bytes(64)).prop_map(|(total, n, f, data)| Some(
            Payload::EncryptedFragment(EncryptedFragment {
                number: 1 + n % total,
                total,
                first_inner: PayloadType(f),
                data
            })
        )),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        any::<u64>(),
        any::<u64>(),
        0u8..16,
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
        prop::collection::vec(payload(), 0..6),
        last_payload(),
    )
        .prop_map(|(i, r, minor, exch, flags, mid, mut payloads, last)| {
            payloads.extend(last);
            Message {
                header: Header {
                    spi_i: IkeSpi(i),
                    spi_r: IkeSpi(r),
                    version: 0x20 | minor,
                    exchange: ExchangeType(exch),
                    flags: Flags(flags),
                    message_id: mid,
                },
                payloads,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_decoders(b in bytes(600), first in any::<u8>()) {
        check_decode(&b)?;
        // Same bytes behind a valid-looking header, so the chain parser is reached.
        let mut m = h(SA_INIT_REQ)[..28].to_vec();
        m[16] = first;
        m.extend_from_slice(&b);
        let n = m.len() as u32;
        m[24..28].copy_from_slice(&n.to_be_bytes());
        check_decode(&m)?;
        let _ = decode_payloads(PayloadType(first), &b);
        let _ = decode_plaintext(PayloadType(first), &b);
        let _ = SkLayout::locate(&m, 16, 12);
        let _ = HeaderView::new_checked(&b).map(|v| v.header());
    }

    #[test]
    fn mutated_captures_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut b = h(SA_INIT_REQ);
        for (at, v) in &edits {
            let i = at.index(b.len());
            b[i] = *v;
        }
        if do_cut {
            b.truncate(cut.index(b.len()));
        }
        check_decode(&b)?;
    }

    #[test]
    fn generated_messages_round_trip_exactly(m in message()) {
        let b = m.encode().unwrap();
        let back = Message::decode(&b).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode().unwrap(), b.clone());
        // Flipping any one byte never panics.
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0xa5;
            check_decode(&c)?;
        }
    }

    #[test]
    fn generated_inner_chains_survive_sk_framing(
        inner in prop::collection::vec(payload(), 0..5),
        block in prop_oneof![Just(1usize), Just(8), Just(16)],
        iv in 0usize..17,
        icv in 0usize..17,
    ) {
        let h = Header::new(IkeSpi(1), IkeSpi(2), ExchangeType::INFORMATIONAL, Flags::INITIATOR, 9);
        let (msg, layout) = build_sk_message(&h, &[], &inner, iv, block, icv).unwrap();
        prop_assert!(Message::decode(&msg).is_ok());
        prop_assert_eq!(SkLayout::locate(&msg, iv, icv).unwrap(), layout.clone());
        let first = Message::decode(&msg).unwrap().encrypted().unwrap().first_inner;
        prop_assert_eq!(decode_plaintext(first, &msg[layout.ciphertext.clone()]).unwrap(), inner.clone());
        // Fragmented at a random-ish limit, the contents reassemble to the same chain.
        let max = 28 + 8 + iv + icv + 2 * block + 40;
        let frags = fragment_message(&h, &inner, max, iv, block, icv).unwrap();
        let mut r = Reassembly::new(ReassemblyLimits { max_fragments: u16::MAX, max_bytes: 1 << 20 });
        let mut out = None;
        for (m, l) in &frags {
            prop_assert!(m.len() <= max);
            let d = Message::decode(m).unwrap();
            let f = d.fragment().unwrap();
            out = r.insert(f.number, f.total, f.first_inner, unpad(&m[l.ciphertext.clone()]).unwrap()).unwrap();
        }
        let (first, chain) = out.unwrap();
        prop_assert_eq!(decode_payloads(first, &chain).unwrap(), inner);
    }

    #[test]
    fn reassembly_never_panics_and_never_exceeds_limits(
        ops in prop::collection::vec((0u16..6, 0u16..6, any::<u8>(), bytes(8)), 0..40)
    ) {
        let limits = ReassemblyLimits { max_fragments: 4, max_bytes: 20 };
        let mut r = Reassembly::new(limits);
        for (n, t, next, c) in ops {
            if let Ok(Some((_, whole))) = r.insert(n, t, PayloadType(next), &c) {
                prop_assert!(whole.len() <= limits.max_bytes);
            }
        }
    }
}
