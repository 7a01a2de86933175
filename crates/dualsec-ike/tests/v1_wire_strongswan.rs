//! The ISAKMP/IKEv1 codec against a real strongSwan Main Mode + Quick Mode exchange, decrypted
//! with the logged keys.
//!
//! Captured on this machine with strongSwan 5.9.8 (Debian 12) initiator and responder in two
//! network namespaces (192.0.2.1 ⇄ 192.0.2.2, PSK, `version = 1`,
//! `proposals = aes128-sha1-modp2048`, `ike = 4` logging for Ka and the IVs). Messages 5 onwards
//! went over port 4500 (strongSwan's libipsec always floats); their non-ESP marker is stripped.
//! charon's own summary of each message is quoted next to it.
//!
//! The IV chain follows RFC 2409 Appendix B: the initial phase-1 IV and the first Quick Mode IV
//! are taken from charon's log (they are hashes the state machine computes); every other IV is
//! the last ciphertext block of the previous message, which this test applies itself.

#![allow(clippy::unwrap_used)] // tests unwrap what they just built or asserted

use std::net::{IpAddr, Ipv4Addr};

use dualsec_crypto::{CbcKey, Cipher, CipherKey, EncrId};
use dualsec_ike::v1::wire::*;

fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `ID_PROT request 0 [ SA V V V V V ]`
const MM1: &str = "
29b7282d0b96c0df00000000000000000110020000000000000000b40d00003800000001000000010000002c01010001
000000240101000080010007800e0080800200028004000e80030001800b0001800c3de00d00000c09002689dfd6b712
0d000014afcad71368a1f1c96b8696fc775701000d0000184048b7d56ebce88525e7de7f00d6c2d3800000000d000014
4a131c81070358455c5728f20e95452f0000001490cb80913ebb696e086381b5ec427b1f";

/// `ID_PROT response 0 [ SA V V V V ]`
const MM2: &str = "
29b7282d0b96c0dff6f6c89b62abce500110020000000000000000a00d00003800000001000000010000002c01010001
000000240101000080010007800e0080800200028004000e80030001800b0001800c3de00d00000c09002689dfd6b712
0d000014afcad71368a1f1c96b8696fc775701000d0000184048b7d56ebce88525e7de7f00d6c2d38000000000000014
4a131c81070358455c5728f20e95452f";

/// `ID_PROT request 0 [ KE No NAT-D NAT-D ]`
const MM3: &str = "
29b7282d0b96c0dff6f6c89b62abce500410020000000000000001740a000104335418ad8a208a81e6b02d166034dee7
711e0dfdceba19162e07f2602140595f6c11d1ec4b3449cb680b3a62eec5219e69b0b7a3858824e417166ad90f54dbd5
d8a68e6787466d86f18385dfbd50a82441c005f1e0abc20b04c2d44ba04ddf08ccb2f8a7574a5ad648bb5cfc82ba5b94
4f871dfc4628fc33f51d8ec03927e42664f04bc6c5dba3f51b97f8dfcef77f5e527315a57796997e5929c5ea756c658a
b4345e7d81f0094dab09fa666f2356da550a96fc4606f2e2d816d08e66eded8ae5716e190a2f3d819b4a8e4b985007d5
badd78be22e84fac6b9438f11d702c89005aaf7c7a5944d630441cde1029e6997dbc910653c69765f6b8e6a85e27130a
140000248a620470408b5504611e97de23a5fda90f4d6b016eaee310f64d1e32a160da2e14000018f1cf19604a8a506d
6eb6faa031e5cee348a41ee9000000183a981386ea356986f2cd64d70b8c4e5032640394";

/// `ID_PROT response 0 [ KE No NAT-D NAT-D ]`
const MM4: &str = "
29b7282d0b96c0dff6f6c89b62abce500410020000000000000001740a000104371126b9bc13eacab1c2b13a17429775
9b56f9abb5bcdb5c601de591544d94df427bf8773652b3e33d9254423d6bd719f720a892c283129add8aed00f505659f
f1ce21ee353e9c567915d3a725d745f3c0326e65e7f1a08aeb23402fb68e245b73d86aa2856a8b5bf0d2f4bb8fa6014b
378ae92e339f9018ec26da823abbf4a046d8fe6f1fde7908138dd600a39478c40ce9cf01d5990bbdc95c40b694e6e13f
65e1ae5a06b77ccb6b19525dbe88d5379dec072cab1833a375ea40932050b84a7f9dfbce970ae30d366008abafbc8b2d
5945a7e1e45e7a2022771280f507476e709f091335acfe192bbd44e10753370e16c015ed663ecda3f8f98fe1a036be0d
140000244175c542a7eb0136f696922b946c38ab7e3d84b6529ffe394c6248bf3dfe162a14000018f4cc663fd012d99c
38ec49ea9389e6e43d8ba780000000187c6858d1118edfd208106eb6c7524d527c06de3c";

/// `ID_PROT request 0 [ ID HASH N(INITIAL_CONTACT) ]`
const MM5: &str = "
29b7282d0b96c0dff6f6c89b62abce5005100201000000000000006ce6d4246fb753d9b1a32a3507336da88f43ce815f
e3555920036757d470301f52025c547bdf21a81c47d33321c0a9d50adc35fb0df94aea620e4ae5ed8f83c0a6e738c23f
3a37d3d04df2a453a09aec10";

/// `ID_PROT response 0 [ ID HASH ]`
const MM6: &str = "
29b7282d0b96c0dff6f6c89b62abce5005100201000000000000004ce0c99afe698995e73cdc7247154679c8f7ac44a6
761180a5f37dcece2d3dd28f5c5c5cfe2b5e0937c609d48a10cfe01b";

/// `QUICK_MODE request 2283889490 [ HASH SA No ID ID ]`
const QM1: &str = "
29b7282d0b96c0dff6f6c89b62abce500810200188216352000000bce8e1a6ccba41a676eaafb5e1c2519a8e9f971fac
5f7315a9f5a25db49a05c680a89a3374f123e3b8ae25fd42036c8b2d4117f796d36b2bc54f21d0f8742e0ff4d707bdce
b7325f37ef40271229d9a1f2858650026acd4f3be7d020187108204d996e70572174b692b0084cd33abc9e04ba549420
4ee6d387107c5e9a0851d3cbc6cb8af9eaea12eab55e99da0404e570f7badda9b39484a7400404224974c0a8";

/// `QUICK_MODE response 2283889490 [ HASH SA No ID ID ]`
const QM2: &str = "
29b7282d0b96c0dff6f6c89b62abce500810200188216352000000bca3a3c9f71c106699fae94d97b2023e5e466f11bf
d8e453ff5a6e6cef686e100173f8a33f113dae8a43bce195e7981a12a3db4c304678484d6380423b7754e6fe9e2c2461
20cb90bbacbee1a04108ea82c39b866da330afe1f4b1c8ac8642095112d10d3e3161b1d377573a12fb2feeae3316475b
ab1bc8a912f2ce23fcb94b5c9050cc4fc5439c5c41220a68c44f1f1bd69f93b26bb57e82b4a3d9040c122dea";

/// `INFORMATIONAL_V1 request 2032271115 [ HASH N(NO_PROP) ]`
const INFO: &str = "
29b7282d0b96c0dff6f6c89b62abce50081005017921ff0b0000004cafe8bc17d53f0c51f67872f7e18bea24d1d72d97
fd205551a9f1d882ca48227c3edcdbda0b6dd5518858c0c32b08447f";

/// Phase 1 encryption key Ka and the IVs charon logged (RFC 2409 Appendix B).
const KA: &str = "5C93F5C3590A4E6C88B312A36025BDA6";
const INITIAL_IV: &str = "D324CCE5575EB999394B0BAEAD9EAD15";
const QM_IV: &str = "010E314969DEF5B300E9B3F3A14B802D";
const INFO_IV: &str = "5A554D5A57A708F53BDC9C980CC67682";

fn key() -> CbcKey {
    match Cipher::new(EncrId::AES_CBC, Some(128))
        .unwrap()
        .key(&h(KA))
        .unwrap()
    {
        CipherKey::Cbc(k) => k,
        CipherKey::Aead(_) => panic!("AES-CBC is not an AEAD"),
    }
}

/// Decrypts an E-flagged message with `iv`; returns the decoded body and the plaintext.
fn open(bytes: &[u8], iv: &[u8]) -> (DecryptedBody, Vec<u8>) {
    let m = Message::decode(bytes).unwrap();
    assert_eq!(
        m.encode().unwrap(),
        bytes,
        "encrypted message re-encodes verbatim"
    );
    let Body::Encrypted { first, ciphertext } = m.body else {
        panic!("E flag set")
    };
    let mut pt = ciphertext;
    key().decrypt_in_place(iv, &mut pt).unwrap();
    (decode_decrypted(first, &pt).unwrap(), pt)
}

fn last_block(bytes: &[u8]) -> Vec<u8> {
    bytes[bytes.len() - 16..].to_vec()
}

fn types(p: &[Payload]) -> Vec<PayloadType> {
    p.iter().map(Payload::payload_type).collect()
}

#[test]
fn strongswan_main_mode_plain_messages_round_trip_byte_exact() {
    let expected = [
        (
            MM1,
            vec![
                PayloadType::SA,
                PayloadType::VID,
                PayloadType::VID,
                PayloadType::VID,
                PayloadType::VID,
                PayloadType::VID,
            ],
        ),
        (
            MM2,
            vec![
                PayloadType::SA,
                PayloadType::VID,
                PayloadType::VID,
                PayloadType::VID,
                PayloadType::VID,
            ],
        ),
        (
            MM3,
            vec![
                PayloadType::KE,
                PayloadType::NONCE,
                PayloadType::NAT_D,
                PayloadType::NAT_D,
            ],
        ),
        (
            MM4,
            vec![
                PayloadType::KE,
                PayloadType::NONCE,
                PayloadType::NAT_D,
                PayloadType::NAT_D,
            ],
        ),
    ];
    for (hex, want) in expected {
        let bytes = h(hex);
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.header.exchange, ExchangeType::IDENTITY_PROTECTION);
        assert_eq!(types(m.payloads().unwrap()), want);
        assert_eq!(m.encode().unwrap(), bytes);
    }
    let m = Message::decode(&h(MM2)).unwrap();
    let Payload::Sa(sa) = &m.payloads().unwrap()[0] else {
        panic!()
    };
    let t = &sa.proposals[0].transforms[0];
    let v = |ty: Phase1AttrType| t.attribute(ty).and_then(Attribute::as_u64);
    assert_eq!(v(Phase1AttrType::ENCRYPTION_ALGORITHM), Some(7));
    assert_eq!(v(Phase1AttrType::KEY_LENGTH), Some(128));
    assert_eq!(v(Phase1AttrType::HASH_ALGORITHM), Some(2));
    assert_eq!(v(Phase1AttrType::GROUP_DESCRIPTION), Some(14));
    assert_eq!(v(Phase1AttrType::AUTHENTICATION_METHOD), Some(1));
    assert_eq!(v(Phase1AttrType::LIFE_DURATION), Some(15840));
    let m = Message::decode(&h(MM3)).unwrap();
    let Payload::Ke(ke) = &m.payloads().unwrap()[0] else {
        panic!()
    };
    assert_eq!(ke.len(), 256, "MODP-2048 public value");
}

#[test]
fn rfc2409_appendix_b_strongswan_main_mode_5_and_6_decrypt() {
    let mm5 = h(MM5);
    let (body, pt) = open(&mm5, &h(INITIAL_IV));
    assert_eq!(
        types(&body.payloads),
        [PayloadType::ID, PayloadType::HASH, PayloadType::N]
    );
    let Payload::Id(id) = &body.payloads[0] else {
        panic!()
    };
    assert_eq!(id.ip_addr(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
    let Payload::Hash(hash) = &body.payloads[1] else {
        panic!()
    };
    assert_eq!(hash.len(), 20, "HMAC-SHA1");
    let Payload::Notify(n) = &body.payloads[2] else {
        panic!()
    };
    assert_eq!(n.ty, NotifyType::INITIAL_CONTACT);
    assert_eq!(n.spi.len(), 16, "cookie pair");
    // strongSwan pads with 1..=16 zero octets (a whole block when the chain is aligned, as
    // here); receivers stop at Next Payload NONE.
    assert_eq!(body.padding, 16);
    assert!(pt[pt.len() - body.padding..].iter().all(|&b| b == 0));
    // Our encoding of the same payloads is the same plaintext, padding included, so encrypting
    // it with the same IV reproduces strongSwan's message byte for byte.
    let (first, mut ours) = encode_for_encryption(&body.payloads, 16).unwrap();
    assert_eq!(ours, pt);
    key().encrypt_in_place(&h(INITIAL_IV), &mut ours).unwrap();
    let resent = Message {
        header: Message::decode(&mm5).unwrap().header,
        body: Body::Encrypted {
            first,
            ciphertext: ours,
        },
    };
    assert_eq!(resent.encode().unwrap(), mm5);

    let (body6, _) = open(&h(MM6), &last_block(&mm5));
    assert_eq!(types(&body6.payloads), [PayloadType::ID, PayloadType::HASH]);
    let Payload::Id(id) = &body6.payloads[0] else {
        panic!()
    };
    assert_eq!(id.ip_addr(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))));
}

#[test]
fn rfc2409_s5_5_strongswan_quick_mode_decrypts_with_hash_spans() {
    let qm1 = h(QM1);
    let m = Message::decode(&qm1).unwrap();
    assert_eq!(m.header.exchange, ExchangeType::QUICK_MODE);
    assert_eq!(m.header.message_id, 2283889490);
    for (bytes, iv) in [(qm1.clone(), h(QM_IV)), (h(QM2), last_block(&qm1))] {
        let (body, pt) = open(&bytes, &iv);
        assert_eq!(
            types(&body.payloads),
            [
                PayloadType::HASH,
                PayloadType::SA,
                PayloadType::NONCE,
                PayloadType::ID,
                PayloadType::ID
            ]
        );
        let Payload::Sa(sa) = &body.payloads[1] else {
            panic!()
        };
        let p = &sa.proposals[0];
        assert_eq!((p.protocol, p.spi.len()), (ProtocolId::IPSEC_ESP, 4));
        let t = &p.transforms[0];
        assert_eq!(t.id, 12, "ESP_AES");
        let attr = |ty: IpsecAttrType| t.attribute(ty).and_then(Attribute::as_u64);
        assert_eq!(attr(IpsecAttrType::KEY_LENGTH), Some(128));
        assert_eq!(
            attr(IpsecAttrType::AUTHENTICATION_ALGORITHM),
            Some(2),
            "HMAC-SHA"
        );
        let mode = attr(IpsecAttrType::ENCAPSULATION_MODE).unwrap();
        assert!(
            mode == u64::from(EncapsulationMode::UDP_ENCAPSULATED_TUNNEL.0)
                || mode == u64::from(EncapsulationMode::TUNNEL.0),
            "{mode}"
        );
        let (Payload::Id(ci), Payload::Id(cr)) = (&body.payloads[3], &body.payloads[4]) else {
            panic!()
        };
        assert_eq!(ci.ty, IdType::ID_IPV4_ADDR_SUBNET);
        assert_eq!(cr.ty, IdType::ID_IPV4_ADDR_SUBNET);
        // Our encoding gives strongSwan's plaintext exactly, padding included.
        assert_eq!(encode_for_encryption(&body.payloads, 16).unwrap().1, pt);
        // HASH(1)/HASH(2) cover everything after the HASH payload, up to the padding.
        let covered = body.spans[1].payload.start..body.spans[4].payload.end;
        assert_eq!(covered.end + body.padding, pt.len());
        assert_eq!(covered.start, 4 + 20);
    }
    // Which side is which: the initiator's IDci is its protected subnet.
    let (body, _) = open(&qm1, &h(QM_IV));
    let Payload::Id(ci) = &body.payloads[3] else {
        panic!()
    };
    assert_eq!(
        ci.addr_pair(),
        Some((
            IpAddr::V4(Ipv4Addr::new(198, 18, 1, 0)),
            IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0))
        ))
    );
}

#[test]
fn strongswan_informational_with_no_proposal_chosen_decrypts() {
    let (body, pt) = open(&h(INFO), &h(INFO_IV));
    assert_eq!(encode_for_encryption(&body.payloads, 16).unwrap().1, pt);
    assert_eq!(types(&body.payloads), [PayloadType::HASH, PayloadType::N]);
    let Payload::Notify(n) = &body.payloads[1] else {
        panic!()
    };
    assert_eq!(n.ty, NotifyType::NO_PROPOSAL_CHOSEN);
}
