//! Byte-exact codec tests, hand-built from the RFC 4271 §4 diagrams; round trips; truncation at
//! every length; the NOTIFICATION each malformed input calls for (RFC 4271 §6, RFC 7606).

#![allow(clippy::unwrap_used)] // tests may unwrap (preamble)

use std::net::Ipv4Addr;

use dualsec_bgp::wire::{
    self, Afi, AsPath, AsSegment, AttrAction, AttrType, Capability, CapabilityCode, Codec,
    DecodeError, ErrorCode, Message, Notification, Open, Origin, PathAttributes, RawAttribute,
    Safi, SegmentType, Update, UpdateSubcode,
};
use dualsec_bgp::{Asn, Ipv4Prefix, SessionError};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const MARKER: &str = "ffffffff ffffffff ffffffff ffffffff";

fn p(s: &str) -> Ipv4Prefix {
    s.parse().unwrap()
}

fn open_45104() -> (Message, Vec<u8>) {
    let msg = Message::Open(Open {
        my_as: 45104,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(169, 254, 10, 1),
        capabilities: vec![
            Capability::Multiprotocol {
                afi: Afi::IPV4,
                safi: Safi::UNICAST,
            },
            Capability::RouteRefresh,
            Capability::FourOctetAs(Asn(45104)),
        ],
    });
    let bytes = hex(&format!(
        "{MARKER} 002d 01 \
         04 b030 005a a9fe0a01 10 \
         02 0e  01 04 0001 00 01  02 00  41 04 0000b030"
    ));
    (msg, bytes)
}

fn update_4oct() -> (Message, Vec<u8>) {
    let msg = Message::Update(Update {
        withdrawn: vec![],
        attributes: PathAttributes {
            origin: Some(Origin::IGP),
            as_path: Some(AsPath::sequence(vec![Asn(65001)])),
            next_hop: Some(Ipv4Addr::new(169, 254, 10, 2)),
            med: Some(100),
            communities: vec![0xfde9_0064],
            ..Default::default()
        },
        nlri: vec![p("198.19.0.0/16"), p("198.19.128.0/17")],
        errors: vec![],
    });
    let bytes = hex(&format!(
        "{MARKER} 0040 02 \
         0000 \
         0022 \
           40 01 01 00 \
           40 02 06 02 01 0000fde9 \
           40 03 04 a9fe0a02 \
           80 04 04 00000064 \
           c0 08 04 fde90064 \
         10 c613  11 c61380"
    ));
    (msg, bytes)
}

fn all_messages() -> Vec<(Message, Vec<u8>, Codec)> {
    let (o, ob) = open_45104();
    let (u, ub) = update_4oct();
    let keepalive = hex(&format!("{MARKER} 0013 04"));
    let withdraw = Message::Update(Update {
        withdrawn: vec![p("198.18.1.0/24")],
        ..Default::default()
    });
    let withdraw_b = hex(&format!("{MARKER} 001b 02  0004 18c61201  0000"));
    let notif = Message::Notification(Notification::new(
        ErrorCode::CEASE,
        1,
        hex("0001 01 00000032"),
    ));
    let notif_b = hex(&format!("{MARKER} 001c 03  06 01 0001 01 00000032"));
    let rr = Message::RouteRefresh {
        afi: Afi::IPV4,
        safi: Safi::UNICAST,
    };
    let rr_b = hex(&format!("{MARKER} 0017 05  0001 00 01"));
    vec![
        (o, ob, Codec::FOUR_OCTET),
        (u, ub, Codec::FOUR_OCTET),
        (Message::Keepalive, keepalive, Codec::FOUR_OCTET),
        (withdraw, withdraw_b, Codec::TWO_OCTET),
        (notif, notif_b, Codec::FOUR_OCTET),
        (rr, rr_b, Codec::FOUR_OCTET),
    ]
}

#[test]
fn rfc4271_byte_exact_encode_and_decode() {
    for (msg, bytes, codec) in all_messages() {
        assert_eq!(msg.encode(codec).unwrap(), bytes, "encode {msg:?}");
        assert_eq!(
            wire::decode(&bytes, codec).unwrap(),
            msg,
            "decode {bytes:02x?}"
        );
        assert_eq!(wire::frame_len(&bytes).unwrap(), Some(bytes.len()));
    }
}

/// RFC 6793 §4.2.2: with a 2-octet peer the AS_PATH is 2 octets wide; a 4-octet ASN becomes
/// AS_TRANS there and the real path travels in AS4_PATH.
#[test]
fn rfc6793_two_octet_session_uses_as_trans_and_as4_path() {
    let real = AsPath::sequence(vec![Asn(4_200_000_001), Asn(65001)]);
    let u = Update {
        attributes: PathAttributes {
            origin: Some(Origin::IGP),
            as_path: Some(real.clone()),
            next_hop: Some(Ipv4Addr::new(169, 254, 10, 1)),
            as4_path: Some(real.clone()),
            ..Default::default()
        },
        nlri: vec![p("198.18.0.0/16")],
        ..Default::default()
    };
    let bytes = Message::Update(u).encode(Codec::TWO_OCTET).unwrap();
    let expect = hex(&format!(
        "{MARKER} 003b 02  0000  0021 \
         40 01 01 00 \
         40 02 06 02 02 5ba0 fde9 \
         40 03 04 a9fe0a01 \
         c0 11 0a 02 02 fa56ea01 0000fde9 \
         10 c612"
    ));
    assert_eq!(bytes, expect);
    let Message::Update(d) = wire::decode(&bytes, Codec::TWO_OCTET).unwrap() else {
        panic!()
    };
    let as_path = d.attributes.as_path.clone().unwrap();
    assert_eq!(as_path, AsPath::sequence(vec![Asn::TRANS, Asn(65001)]));
    assert_eq!(
        AsPath::merge_as4(&as_path, d.attributes.as4_path.as_ref()),
        real
    );
}

#[test]
fn rfc6793_merge_keeps_leading_asns_and_ignores_longer_as4_path() {
    let as_path = AsPath::sequence(vec![Asn(65002), Asn::TRANS, Asn(65001)]);
    let as4 = AsPath::sequence(vec![Asn(4_200_000_001), Asn(65001)]);
    assert_eq!(
        AsPath::merge_as4(&as_path, Some(&as4)),
        AsPath::sequence(vec![Asn(65002), Asn(4_200_000_001), Asn(65001)])
    );
    let too_long = AsPath::sequence(vec![Asn(1), Asn(2), Asn(3), Asn(4)]);
    assert_eq!(AsPath::merge_as4(&as_path, Some(&too_long)), as_path);
    // An AS_SET counts as one.
    let with_set = AsPath {
        segments: vec![
            AsSegment {
                kind: SegmentType::AS_SEQUENCE,
                asns: vec![Asn(65002)],
            },
            AsSegment {
                kind: SegmentType::AS_SET,
                asns: vec![Asn(1), Asn(2), Asn(3)],
            },
        ],
    };
    assert_eq!(with_set.path_len(), 2);
}

#[test]
fn unknown_optional_transitive_attribute_is_kept() {
    let (_, mut bytes) = update_4oct();
    // Append attribute type 99, optional transitive, 3 octets, before the NLRI.
    let nlri = bytes.split_off(bytes.len() - 7);
    bytes.extend_from_slice(&hex("c0 63 03 aabbcc"));
    bytes.extend_from_slice(&nlri);
    let total = bytes.len() as u16;
    bytes[16..18].copy_from_slice(&total.to_be_bytes());
    bytes[21..23].copy_from_slice(&(0x22u16 + 6).to_be_bytes());
    let Message::Update(u) = wire::decode(&bytes, Codec::FOUR_OCTET).unwrap() else {
        panic!()
    };
    assert_eq!(
        u.attributes.unknown,
        vec![RawAttribute {
            flags: 0xc0,
            type_code: AttrType(99),
            value: vec![0xaa, 0xbb, 0xcc]
        }]
    );
    assert!(u.errors.is_empty());
    // Re-encoded in type-code order, byte-exact.
    assert_eq!(Message::Update(u).encode(Codec::FOUR_OCTET).unwrap(), bytes);
}

#[test]
fn extended_length_attribute_round_trips() {
    let asns: Vec<Asn> = (1..=100).map(Asn).collect();
    let u = Update {
        attributes: PathAttributes {
            origin: Some(Origin::INCOMPLETE),
            as_path: Some(AsPath::sequence(asns)),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..Default::default()
        },
        nlri: vec![p("0.0.0.0/0"), p("203.0.113.7/32")],
        ..Default::default()
    };
    let m = Message::Update(u);
    let b = m.encode(Codec::FOUR_OCTET).unwrap();
    // AS_PATH value is 2 + 400 octets: extended length flag 0x50.
    assert_eq!(&b[23 + 4..23 + 8], &hex("50 02 0192"));
    assert_eq!(wire::decode(&b, Codec::FOUR_OCTET).unwrap(), m);
}

#[test]
fn oversized_update_is_refused_by_the_encoder() {
    let nlri = (0..2000u32)
        .map(|i| Ipv4Prefix::new(Ipv4Addr::from(i << 8), 24).unwrap())
        .collect();
    let m = Message::Update(Update {
        withdrawn: nlri,
        ..Default::default()
    });
    assert!(matches!(
        m.encode(Codec::FOUR_OCTET),
        Err(wire::EncodeError::TooLong { .. })
    ));
}

/// Every message truncated at every length: the stream framer waits or reports, the message
/// decoder returns a typed error, nothing panics. Also with the header length patched to match,
/// so the body itself is truncated.
#[test]
fn every_message_truncated_at_every_length() {
    for (msg, bytes, codec) in all_messages() {
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            assert!(wire::decode(cut, codec).is_err(), "{msg:?} cut at {len}");
            match wire::frame_len(cut) {
                Ok(None) => assert!(len < 19),
                Ok(Some(n)) => assert_eq!(n, bytes.len()),
                Err(e) => panic!("framer rejected a valid prefix: {e}"),
            }
            if len >= 19 {
                let mut patched = cut.to_vec();
                patched[16..18].copy_from_slice(&(len as u16).to_be_bytes());
                let r = wire::decode(&patched, codec);
                if let Ok(m) = &r {
                    // Only a shorter valid message may come out (e.g. an UPDATE losing NLRI).
                    assert_eq!(m.message_type(), msg.message_type());
                }
            }
        }
    }
}

fn notif_of(bytes: &[u8], codec: Codec) -> (ErrorCode, u8, Vec<u8>) {
    let e = wire::decode(bytes, codec).unwrap_err();
    let n = SessionError::from(e).notification();
    (n.code, n.subcode, n.data)
}

#[test]
fn rfc4271_6_1_header_errors() {
    let mut bad_marker = hex(&format!("{MARKER} 0013 04"));
    bad_marker[3] = 0;
    assert_eq!(
        notif_of(&bad_marker, Codec::FOUR_OCTET),
        (ErrorCode::MESSAGE_HEADER, 1, vec![])
    );
    let short = hex(&format!("{MARKER} 0012 04"));
    assert_eq!(
        notif_of(&short, Codec::FOUR_OCTET),
        (ErrorCode::MESSAGE_HEADER, 2, vec![0, 0x12])
    );
    let long_keepalive = hex(&format!("{MARKER} 0014 04 00"));
    assert_eq!(
        notif_of(&long_keepalive, Codec::FOUR_OCTET),
        (ErrorCode::MESSAGE_HEADER, 2, vec![0, 0x14])
    );
    let mut too_long = hex(&format!("{MARKER} 1001 02"));
    too_long.resize(4097, 0);
    assert_eq!(
        notif_of(&too_long, Codec::FOUR_OCTET),
        (ErrorCode::MESSAGE_HEADER, 2, vec![0x10, 0x01])
    );
    let short_open = hex(&format!("{MARKER} 001c 01 04 b030 005a a9fe0a01"));
    assert_eq!(notif_of(&short_open, Codec::FOUR_OCTET).1, 2);
    let bad_type = hex(&format!("{MARKER} 0013 09"));
    assert_eq!(
        notif_of(&bad_type, Codec::FOUR_OCTET),
        (ErrorCode::MESSAGE_HEADER, 3, vec![9])
    );
}

#[test]
fn rfc4271_6_2_open_errors() {
    let (_, good) = open_45104();
    let mut v3 = good.clone();
    v3[19] = 3;
    assert_eq!(
        notif_of(&v3, Codec::FOUR_OCTET),
        (ErrorCode::OPEN_MESSAGE, 1, vec![0, 4])
    );
    let mut hold2 = good.clone();
    hold2[22..24].copy_from_slice(&[0, 2]);
    assert_eq!(
        notif_of(&hold2, Codec::FOUR_OCTET),
        (ErrorCode::OPEN_MESSAGE, 6, vec![])
    );
    let mut id0 = good.clone();
    id0[24..28].copy_from_slice(&[0; 4]);
    assert_eq!(
        notif_of(&id0, Codec::FOUR_OCTET),
        (ErrorCode::OPEN_MESSAGE, 3, vec![])
    );
    // Optional parameter type 1 (deprecated Authentication).
    let auth = hex(&format!("{MARKER} 001f 01 04 b030 005a a9fe0a01 02 01 00"));
    assert_eq!(
        notif_of(&auth, Codec::FOUR_OCTET),
        (ErrorCode::OPEN_MESSAGE, 4, vec![])
    );
    // 4-octet AS capability with 2 octets of value.
    let bad_cap = hex(&format!(
        "{MARKER} 0021 01 04 b030 005a a9fe0a01 04 02 02 41 00"
    ));
    assert!(matches!(
        wire::decode(&bad_cap, Codec::FOUR_OCTET),
        Err(DecodeError::MalformedOpen(_))
    ));
    // Unknown capabilities are kept; hold time 0 is allowed.
    let other = hex(&format!(
        "{MARKER} 0022 01 04 b030 0000 a9fe0a01 05 02 03 40 01 80"
    ));
    let Message::Open(o) = wire::decode(&other, Codec::FOUR_OCTET).unwrap() else {
        panic!()
    };
    assert_eq!(
        o.capabilities,
        vec![Capability::Unknown {
            code: CapabilityCode::GRACEFUL_RESTART,
            value: vec![0x80]
        }]
    );
    assert_eq!(o.asn(), Asn(45104));
}

fn update_with_attrs(attrs: &str, nlri: &str) -> Vec<u8> {
    let a = hex(attrs);
    let n = hex(nlri);
    let mut b = hex(MARKER);
    let len = 19 + 2 + 2 + a.len() + n.len();
    b.extend_from_slice(&(len as u16).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&(a.len() as u16).to_be_bytes());
    b.extend_from_slice(&a);
    b.extend_from_slice(&n);
    b
}

const GOOD_ATTRS: &str = "40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 a9fe0a02";

#[test]
fn rfc4271_6_3_update_errors_that_reset_the_session() {
    // Withdrawn Routes Length runs past the message.
    let mut b = hex(&format!("{MARKER} 0017 02 0005 0000"));
    assert_eq!(
        notif_of(&b, Codec::FOUR_OCTET),
        (ErrorCode::UPDATE_MESSAGE, 1, vec![])
    );
    // Total Path Attribute Length runs past the message.
    b = hex(&format!("{MARKER} 0017 02 0000 0001"));
    assert_eq!(
        notif_of(&b, Codec::FOUR_OCTET),
        (ErrorCode::UPDATE_MESSAGE, 1, vec![])
    );
    // NLRI prefix length 33.
    b = update_with_attrs(GOOD_ATTRS, "21 c6120000 00");
    assert_eq!(
        notif_of(&b, Codec::FOUR_OCTET),
        (ErrorCode::UPDATE_MESSAGE, 10, vec![])
    );
    // NLRI prefix overruns the message.
    b = update_with_attrs(GOOD_ATTRS, "18 c612");
    assert_eq!(
        notif_of(&b, Codec::FOUR_OCTET),
        (ErrorCode::UPDATE_MESSAGE, 10, vec![])
    );
    // Unrecognized well-known attribute (type 99, flags 0x40).
    b = update_with_attrs(&format!("{GOOD_ATTRS} 40 63 00"), "10 c613");
    assert_eq!(
        notif_of(&b, Codec::FOUR_OCTET),
        (ErrorCode::UPDATE_MESSAGE, 2, vec![99])
    );
}

fn decode_update(b: &[u8]) -> Update {
    match wire::decode(b, Codec::FOUR_OCTET).unwrap() {
        Message::Update(u) => u,
        m => panic!("{m:?}"),
    }
}

/// RFC 7606: attribute errors that do not reset the session.
#[test]
fn rfc7606_treat_as_withdraw_and_attribute_discard() {
    let cases: &[(&str, AttrType, UpdateSubcode, AttrAction)] = &[
        // ORIGIN value 3 (§7.1).
        (
            "40 01 01 03  40 02 06 02 01 0000fde9  40 03 04 a9fe0a02",
            AttrType::ORIGIN,
            UpdateSubcode::INVALID_ORIGIN_ATTRIBUTE,
            AttrAction::TreatAsWithdraw,
        ),
        // AS_PATH segment overrun (§7.2).
        (
            "40 01 01 00  40 02 06 02 02 0000fde9  40 03 04 a9fe0a02",
            AttrType::AS_PATH,
            UpdateSubcode::MALFORMED_AS_PATH,
            AttrAction::TreatAsWithdraw,
        ),
        // AS_PATH empty segment (§7.2).
        (
            "40 01 01 00  40 02 02 02 00  40 03 04 a9fe0a02",
            AttrType::AS_PATH,
            UpdateSubcode::MALFORMED_AS_PATH,
            AttrAction::TreatAsWithdraw,
        ),
        // NEXT_HOP length 3 (§7.3).
        (
            "40 01 01 00  40 02 06 02 01 0000fde9  40 03 03 a9fe0a",
            AttrType::NEXT_HOP,
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            AttrAction::TreatAsWithdraw,
        ),
        // NEXT_HOP 0.0.0.0.
        (
            "40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 00000000",
            AttrType::NEXT_HOP,
            UpdateSubcode::INVALID_NEXT_HOP_ATTRIBUTE,
            AttrAction::TreatAsWithdraw,
        ),
        // ORIGIN flagged optional (§3.c).
        (
            "c0 01 01 00  40 02 06 02 01 0000fde9  40 03 04 a9fe0a02",
            AttrType::ORIGIN,
            UpdateSubcode::ATTRIBUTE_FLAGS_ERROR,
            AttrAction::TreatAsWithdraw,
        ),
        // COMMUNITIES length 3 (§7.8).
        (
            &format!("{GOOD_ATTRS} c0 08 03 000000"),
            AttrType::COMMUNITIES,
            UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
            AttrAction::TreatAsWithdraw,
        ),
        // Missing NEXT_HOP (§3.d).
        (
            "40 01 01 00  40 02 06 02 01 0000fde9",
            AttrType::NEXT_HOP,
            UpdateSubcode::MISSING_WELL_KNOWN_ATTRIBUTE,
            AttrAction::TreatAsWithdraw,
        ),
        // Attribute length overruns the attribute block (§4).
        (
            "40 01 01 00  40 02 06 02 01 0000fde9  40 03 09 a9fe0a02",
            AttrType(0),
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            AttrAction::TreatAsWithdraw,
        ),
        // ATOMIC_AGGREGATE with a value (§7.6): discard.
        (
            &format!("{GOOD_ATTRS} 40 06 01 00"),
            AttrType::ATOMIC_AGGREGATE,
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            AttrAction::Discard,
        ),
        // AGGREGATOR of 6 octets on a 4-octet session (§7.7): discard.
        (
            &format!("{GOOD_ATTRS} c0 07 06 fde9 c0000201"),
            AttrType::AGGREGATOR,
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            AttrAction::Discard,
        ),
        // Repeated ORIGIN (§3.g): discard the repeat.
        (
            &format!("{GOOD_ATTRS} 40 01 01 02"),
            AttrType::ORIGIN,
            UpdateSubcode::MALFORMED_ATTRIBUTE_LIST,
            AttrAction::Discard,
        ),
    ];
    for (attrs, attr, subcode, action) in cases {
        let u = decode_update(&update_with_attrs(attrs, "10 c613"));
        assert_eq!(
            u.nlri,
            vec![p("198.19.0.0/16")],
            "NLRI still located: {attrs}"
        );
        assert_eq!(u.errors.len(), 1, "{attrs}: {:?}", u.errors);
        let e = &u.errors[0];
        assert_eq!(
            (e.attr, e.subcode, e.action),
            (*attr, *subcode, *action),
            "{attrs}"
        );
        assert_eq!(
            u.treat_as_withdraw(),
            *action == AttrAction::TreatAsWithdraw
        );
    }
    // The repeated ORIGIN kept the first value.
    let u = decode_update(&update_with_attrs(
        &format!("{GOOD_ATTRS} 40 01 01 02"),
        "10 c613",
    ));
    assert_eq!(u.attributes.origin, Some(Origin::IGP));
    // Unknown optional non-transitive attributes are quietly ignored (RFC 4271 §5).
    let u = decode_update(&update_with_attrs(
        &format!("{GOOD_ATTRS} 80 63 01 00"),
        "10 c613",
    ));
    assert!(u.errors.is_empty() && u.attributes.unknown.is_empty());
}

#[test]
fn rfc7313_route_refresh_length_and_notification_data() {
    let b = hex(&format!("{MARKER} 0018 05 0001 00 01 00"));
    assert_eq!(
        notif_of(&b, Codec::FOUR_OCTET),
        (ErrorCode::ROUTE_REFRESH_MESSAGE, 1, vec![])
    );
    let n = SessionError::MaxPrefixes { limit: 50 }.notification();
    let bytes = Message::Notification(n).encode(Codec::FOUR_OCTET).unwrap();
    assert_eq!(
        bytes,
        all_messages()[4].1,
        "RFC 4486 Cease/1 with AFI, SAFI, limit"
    );
}

#[test]
fn prefix_host_bits_are_cleared() {
    // 198.19.255.255/16 on the wire: trailing bits are irrelevant (RFC 4271 §4.3).
    let u = decode_update(&update_with_attrs(GOOD_ATTRS, "10 c613 11 c613ff"));
    assert_eq!(u.nlri, vec![p("198.19.0.0/16"), p("198.19.128.0/17")]);
    assert_eq!(p("10.1.2.3/8").to_string(), "10.0.0.0/8");
    assert!("1.2.3.4/33".parse::<Ipv4Prefix>().is_err());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn arb_prefix() -> impl Strategy<Value = Ipv4Prefix> {
        (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Prefix::new(Ipv4Addr::from(a), l).unwrap())
    }

    fn arb_update() -> impl Strategy<Value = Update> {
        (
            proptest::collection::vec(arb_prefix(), 0..20),
            proptest::collection::vec(arb_prefix(), 0..20),
            proptest::collection::vec(1u32.., 1..10),
            proptest::option::of(any::<u32>()),
            proptest::collection::vec(any::<u32>(), 0..5),
            0u8..3,
        )
            .prop_map(|(withdrawn, nlri, asns, med, communities, origin)| Update {
                withdrawn,
                attributes: PathAttributes {
                    origin: Some(Origin(origin)),
                    as_path: Some(AsPath::sequence(asns.into_iter().map(Asn).collect())),
                    next_hop: Some(Ipv4Addr::new(169, 254, 10, 2)),
                    med,
                    communities,
                    ..Default::default()
                },
                nlri,
                errors: vec![],
            })
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = wire::frame_len(&bytes);
            let _ = wire::decode(&bytes, Codec::FOUR_OCTET);
            let _ = wire::decode(&bytes, Codec::TWO_OCTET);
        }

        #[test]
        fn decode_never_panics_behind_a_valid_header(ty in 1u8..=5, body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut b = vec![0xff; 16];
            b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
            b.push(ty);
            b.extend_from_slice(&body);
            for codec in [Codec::FOUR_OCTET, Codec::TWO_OCTET] {
                if let Ok(m) = wire::decode(&b, codec) {
                    // Whatever decodes re-encodes to something that decodes to the same.
                    let mut m = m;
                    if let Message::Update(u) = &mut m { u.errors.clear(); }
                    if let Ok(again) = m.encode(codec) {
                        let mut back = wire::decode(&again, codec).unwrap();
                        if let Message::Update(u) = &mut back { u.errors.clear(); }
                        prop_assert_eq!(back, m);
                    }
                }
            }
        }

        #[test]
        fn update_round_trips(u in arb_update()) {
            let m = Message::Update(u);
            let b = m.encode(Codec::FOUR_OCTET).unwrap();
            prop_assert_eq!(wire::decode(&b, Codec::FOUR_OCTET).unwrap(), m);
        }
    }
}

/// Bytes received from BIRD 2.0 and FRR in the interop tests (tests/interop.rs), recorded once.
mod real_captures {
    use super::*;

    const BIRD_OPEN: &str = "ffffffffffffffffffffffffffffffff00350104fde90003a9fe4d021802160104000100010200400200784104\
                             0000fde946004700";
    const BIRD_UPDATE: &str = "ffffffffffffffffffffffffffffffff003302000000144001010040020602010000fde9400304a9fe4d020010c61311c61380";
    const BIRD_END_OF_RIB: &str = "ffffffffffffffffffffffffffffffff00170200000000";
    const FRR_OPEN: &str = "ffffffffffffffffffffffffffffffff005f01045ba00003a9fe4d024202060104000100010202800002020200\
                            0202460002064104fa56ea0102020600020645040001010102074905036367770002044002c0780209470700010180000000";
    const FRR_UPDATES: &str = "ffffffffffffffffffffffffffffffff00330200000019400101005002000a0202fa56ea010000b030400304a9fe4d0210c612\
                               ffffffffffffffffffffffffffffffff0036020000001c40010100500200060201fa56ea01400304a9fe4d028004040000000010c613";

    fn split(stream: &[u8]) -> Vec<&[u8]> {
        let mut out = vec![];
        let mut rest = stream;
        while let Some(n) = wire::frame_len(rest).unwrap() {
            out.push(&rest[..n]);
            rest = &rest[n..];
        }
        assert!(rest.is_empty());
        out
    }

    #[test]
    fn bird2_open_update_and_end_of_rib() {
        let b = hex(BIRD_OPEN);
        let Message::Open(o) = wire::decode(&b, Codec::FOUR_OCTET).unwrap() else {
            panic!()
        };
        assert_eq!(
            (o.my_as, o.hold_time, o.bgp_id),
            (65001, 3, Ipv4Addr::new(169, 254, 77, 2))
        );
        assert_eq!(o.asn(), Asn(65001));
        assert!(o.has(CapabilityCode::ROUTE_REFRESH));
        assert!(o.has(CapabilityCode::GRACEFUL_RESTART));
        assert!(o.has(CapabilityCode::ENHANCED_ROUTE_REFRESH));
        assert_eq!(o.capabilities.len(), 6);
        assert_eq!(
            Message::Open(o).encode(Codec::FOUR_OCTET).unwrap(),
            b,
            "byte-exact"
        );

        let b = hex(BIRD_UPDATE);
        let Message::Update(u) = wire::decode(&b, Codec::FOUR_OCTET).unwrap() else {
            panic!()
        };
        assert_eq!(
            u.nlri,
            vec![p("0.0.0.0/0"), p("198.19.0.0/16"), p("198.19.128.0/17")]
        );
        assert_eq!(
            u.attributes.as_path,
            Some(AsPath::sequence(vec![Asn(65001)]))
        );
        assert_eq!(u.attributes.next_hop, Some(Ipv4Addr::new(169, 254, 77, 2)));
        assert!(u.errors.is_empty());
        assert_eq!(
            Message::Update(u).encode(Codec::FOUR_OCTET).unwrap(),
            b,
            "byte-exact"
        );

        // End-of-RIB (RFC 4724 §2): an empty UPDATE.
        let b = hex(BIRD_END_OF_RIB);
        assert_eq!(
            wire::decode(&b, Codec::FOUR_OCTET).unwrap(),
            Message::Update(Update::default())
        );
    }

    #[test]
    fn frr_open_with_one_capability_per_parameter_and_updates() {
        let b = hex(FRR_OPEN);
        let Message::Open(o) = wire::decode(&b, Codec::FOUR_OCTET).unwrap() else {
            panic!()
        };
        assert_eq!(o.my_as, 23456, "AS_TRANS for a 4-octet ASN");
        assert_eq!(o.asn(), Asn(4_200_000_001));
        assert!(o.has(CapabilityCode::ROUTE_REFRESH_OLD) && o.has(CapabilityCode::ADD_PATH));
        assert_eq!(o.capabilities.len(), 10);
        // We pack capabilities into one parameter: a different but equivalent encoding.
        let again = Message::Open(o.clone()).encode(Codec::FOUR_OCTET).unwrap();
        assert_eq!(
            wire::decode(&again, Codec::FOUR_OCTET).unwrap(),
            Message::Open(o)
        );

        let stream = hex(FRR_UPDATES);
        let msgs = split(&stream);
        assert_eq!(msgs.len(), 2);
        // FRR uses the Extended Length flag even for short AS_PATHs.
        let Message::Update(u) = wire::decode(msgs[0], Codec::FOUR_OCTET).unwrap() else {
            panic!()
        };
        assert_eq!(
            u.attributes.as_path,
            Some(AsPath::sequence(vec![Asn(4_200_000_001), Asn(45104)]))
        );
        assert_eq!(u.nlri, vec![p("198.18.0.0/16")]);
        let Message::Update(u) = wire::decode(msgs[1], Codec::FOUR_OCTET).unwrap() else {
            panic!()
        };
        assert_eq!(u.attributes.med, Some(0));
        assert_eq!(u.nlri, vec![p("198.19.0.0/16")]);
        assert!(u.errors.is_empty());
    }
}

#[test]
fn open_that_does_not_fit_is_refused_by_the_encoder() {
    let big = |n: usize| Capability::Unknown {
        code: CapabilityCode(200),
        value: vec![0; n],
    };
    let open = |caps| {
        Message::Open(Open {
            my_as: 1,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(192, 0, 2, 1),
            capabilities: caps,
        })
    };
    // 255 octets of optional parameters: 2 for the parameter header, 2 for the capability's.
    let ok = open(vec![big(251)]).encode(Codec::FOUR_OCTET).unwrap();
    assert_eq!(ok.len(), 29 + 255);
    assert_eq!(
        wire::decode(&ok, Codec::FOUR_OCTET).unwrap(),
        open(vec![big(251)])
    );
    assert_eq!(
        open(vec![big(252)]).encode(Codec::FOUR_OCTET),
        Err(wire::EncodeError::OpenTooLong)
    );
    assert_eq!(
        open(vec![big(200), big(200)]).encode(Codec::FOUR_OCTET),
        Err(wire::EncodeError::OpenTooLong)
    );
    let many: Vec<_> = (0..60).map(|_| Capability::RouteRefresh).collect();
    let b = open(many.clone()).encode(Codec::FOUR_OCTET).unwrap();
    assert_eq!(wire::decode(&b, Codec::FOUR_OCTET).unwrap(), open(many));
}

/// Found by the `bgp_decode` fuzz target: unknown attributes out of type order must decode to the
/// canonical (sorted) order so that decode → encode → decode is stable.
#[test]
fn fuzz_regression_unknown_attributes_round_trip_in_type_order() {
    let b = hex(
        "ffffffffffffffffffffffffffffffff004b0200000029ff740000c700040000002ff90c000030000009ff00000001\
         00000000000036000000000020360000050200000000001dff0061ffffffff000000",
    );
    // The fuzz input is one 75-octet message followed by a truncated one.
    let n = wire::frame_len(&b).unwrap().unwrap();
    assert_eq!(n, 75);
    let b = &b[..n];
    let mut decoded = 0;
    for codec in [Codec::FOUR_OCTET, Codec::TWO_OCTET] {
        let Ok(Message::Update(mut u)) = wire::decode(b, codec) else {
            continue;
        };
        decoded += 1;
        let types: Vec<u8> = u.attributes.unknown.iter().map(|a| a.type_code.0).collect();
        assert!(types.windows(2).all(|w| w[0] < w[1]), "{types:?}");
        u.errors.clear();
        let again = Message::Update(u.clone()).encode(codec).unwrap();
        let Message::Update(mut back) = wire::decode(&again, codec).unwrap() else {
            panic!()
        };
        back.errors.clear();
        assert_eq!(back, u);
    }
    assert!(decoded > 0);
}
