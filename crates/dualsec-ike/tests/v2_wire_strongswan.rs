//! The IKEv2 codec against a real strongSwan exchange, decrypted with the logged keys.
//!
//! Captured on this machine with strongSwan 5.9.8 (Debian 12) initiator and responder in two
//! network namespaces (192.0.2.1 ⇄ 192.0.2.2, PSK, `proposals = aes256gcm16-prfsha256-ecp256`,
//! `fragmentation = yes`, `ike = 4` logging for the SK_e keys). The IKE_AUTH messages were sent on
//! port 4500; their non-ESP marker is stripped. charon's own summary of each message is quoted
//! next to it.
//!
//! Decrypting IKE_AUTH with `dualsec-crypto` AES-GCM using [`SkLayout`] proves the RFC 5282 §5.1
//! associated data and the IV/ciphertext/ICV split; re-sealing the decoded inner payloads with
//! the same IV reproduces strongSwan's bytes exactly, so our padding matches too.

#![allow(clippy::unwrap_used)] // tests unwrap what they just built or asserted

use std::net::{IpAddr, Ipv4Addr};

use dualsec_crypto::{Cipher, CipherKey};
use dualsec_ike::v2::wire::*;

fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]`
const SA_INIT_REQ: &str = "
d704468497cc11d900000000000000002120220800000000000001082200002800000024010100030300000c01000014
800e010003000008020000050000000804000013280000480013000027b7ae563ddfa6348a0235d3923ecd6a23e3623b
400350540068fc06ff1f4ce653da22e59a3d14909b2638a98db85d20a29c197b4595ee7b840aac6cf9900b3129000024
641a35ea430230628ae0db3e9f3cef2c74b16062712aa4d36c9ef51194f3b5c22900001c00004004d6c4740ac0df7568
ffab77a4d6392c77089314d82900001c00004005dd5b6b42160962ad70f4ea60d1f04b3b7652b32b290000080000402e
290000100000402f00020003000400050000000800004016";

/// `IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]`
const SA_INIT_RESP: &str = "
d704468497cc11d91e4cae3a64ede6d12120222000000000000001102200002800000024010100030300000c01000014
800e0100030000080200000500000008040000132800004800130000c9d9511bf30a882a6040cae907db3196fc0ca07c
ce76ee7af2f7af8ff748e8ac3a08e63e0051d43ee9f53a0048897ee1b35e69c02ef49160713cbca647b434ca29000024
73a0e8072c06b2de7e91a8358cf61804a918c6cd15e39da1afd2e53ad9ea0cfd2900001c000040048aed594138615075
e29e8113f3c84ab289883ffc2900001c0000400524c1a9eba252ac98087da76f754a6634badedbd6290000080000402e
290000100000402f000200030004000529000008000040220000000800004014";

/// `IKE_AUTH request 1 [ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR)
/// N(MULT_AUTH) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]`
const IKE_AUTH_REQ: &str = "
d704468497cc11d91e4cae3a64ede6d12e2023080000000100000105230000e9d067bd878825073e6b9d49a6
dd59aebc52f7ed3351e66d6a1c90c425c156e204e57f3abfb0c52764e53386ff2361f18b7f7912747873712ffe06bec4
7f3ae6a816c0635db94e2d70a2d7dca8357c342b3c8f8e62391fbe85d9e924ff2f7d339df21797ac954f39dafe2cdae6
b45bb7dc9edd5067eff9c5c2e9594b9630cdb4db0852cbb386249b815883446f7174cb165563a29ca513ceeb02faf7d4
1c1de2b542046ec430a425626377708f03dd1f2b70790100192074a7ed09950d162673c53cb1bcea8bbb70175756451e
51ef1c9123a2e5579d7723ffcba57ecd58e000556c79be5a09";

/// `IKE_AUTH response 1 [ IDr AUTH N(MOBIKE_SUP) N(NO_ADD_ADDR) N(TS_UNACCEPT) ]`
const IKE_AUTH_RESP: &str = "
d704468497cc11d91e4cae3a64ede6d12e202320000000010000008524000069a0cb3ba6d838b406fd0136f3
f75bda14c44365d2b24c6f167824262598d8d676c0535e195014d63104aef43a54ea8f346e237bb7f6ac2f80e0d5ea17
ff421eca57978844c269991d56ced08f6e5b820b0792acd16eac79403fbbd9832fb9c5cfe11292b3df";

/// SK_ei and SK_er (32-octet AES-256 key ‖ 4-octet GCM salt) from charon's `ike = 4` log.
const SK_EI: &str = "455651F7972372608FE37F667D2B6E6875DCBA703B2DDDB3ACC42CEA5E7A16CBFE66ACA6";
const SK_ER: &str = "471F89DAB09BDCEF725E69E61ED851679D4E49203F92AEB67AAD99A79EF97D95C2EF9FE6";

fn aead(keymat: &str) -> dualsec_crypto::AeadKey {
    let cipher = Cipher::new(EncrId::AES_GCM_16, Some(256)).unwrap();
    match cipher.key(&h(keymat)).unwrap() {
        CipherKey::Aead(k) => k,
        CipherKey::Cbc(_) => panic!("AES-GCM is an AEAD"),
    }
}

/// Opens an SK message with AES-GCM-16 (8-octet IV, 16-octet ICV): returns the inner payloads.
fn open(bytes: &[u8], keymat: &str) -> Vec<Payload> {
    let m = Message::decode(bytes).unwrap();
    let first = m.encrypted().unwrap().first_inner;
    let l = SkLayout::locate(bytes, 8, 16).unwrap();
    let iv: [u8; 8] = bytes[l.iv.clone()].try_into().unwrap();
    let mut data = bytes[l.ciphertext.clone()].to_vec();
    aead(keymat)
        .open_in_place(&iv, &bytes[l.aad()], &mut data, &bytes[l.icv.clone()])
        .unwrap();
    decode_plaintext(first, &data).unwrap()
}

/// Re-seals `inner` under `header` with the IV taken from `original`: must give `original`.
fn reseal(original: &[u8], inner: &[Payload], keymat: &str) -> Vec<u8> {
    let header = Message::decode(original).unwrap().header;
    let (mut msg, l) = build_sk_message(&header, &[], inner, 8, 1, 16).unwrap();
    msg[l.iv.clone()].copy_from_slice(&original[l.iv.clone()]);
    let iv: [u8; 8] = msg[l.iv.clone()].try_into().unwrap();
    let aad = msg[l.aad()].to_vec();
    let tag = aead(keymat)
        .seal_in_place(&iv, &aad, &mut msg[l.ciphertext.clone()])
        .unwrap();
    msg[l.icv.clone()].copy_from_slice(&tag);
    msg
}

fn types(p: &[Payload]) -> Vec<PayloadType> {
    p.iter().map(Payload::payload_type).collect()
}

#[test]
fn strongswan_ike_sa_init_exchange_round_trips_byte_exact() {
    for (hex, resp) in [(SA_INIT_REQ, false), (SA_INIT_RESP, true)] {
        let bytes = h(hex);
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.header.flags.response(), resp);
        assert_eq!(m.encode().unwrap(), bytes);
        let Payload::Sa(sa) = &m.payloads[0] else {
            panic!()
        };
        assert_eq!(
            sa.proposals[0].transforms,
            [
                Transform::with_key_length(TransformId::Encr(EncrId::AES_GCM_16), 256),
                Transform::new(TransformId::Prf(PrfId::HMAC_SHA2_256)),
                Transform::new(TransformId::Dh(DhId::ECP_256)),
            ]
        );
        let Payload::Ke(ke) = &m.payloads[1] else {
            panic!()
        };
        assert_eq!((ke.group, ke.data.len()), (DhId::ECP_256, 64));
        let hash_alg = m.notify(NotifyType::SIGNATURE_HASH_ALGORITHMS).unwrap();
        assert_eq!(
            hash_alg.data_u16_list(),
            Some(vec![2, 3, 4, 5]),
            "RFC 7427 hash ids"
        );
        assert!(
            m.notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
                .is_some()
        );
    }
    let req = Message::decode(&h(SA_INIT_REQ)).unwrap();
    assert!(req.notify(NotifyType::REDIRECT_SUPPORTED).is_some());
    let resp = Message::decode(&h(SA_INIT_RESP)).unwrap();
    assert!(resp.notify(NotifyType::CHILDLESS_IKEV2_SUPPORTED).is_some());
    assert!(resp.notify(NotifyType::MULTIPLE_AUTH_SUPPORTED).is_some());
}

#[test]
fn rfc5282_strongswan_ike_auth_request_decrypts_and_reseals_byte_exact() {
    let bytes = h(IKE_AUTH_REQ);
    let inner = open(&bytes, SK_EI);
    assert_eq!(
        types(&inner),
        [
            PayloadType::IDI,
            PayloadType::NOTIFY,
            PayloadType::IDR,
            PayloadType::AUTH,
            PayloadType::SA,
            PayloadType::TSI,
            PayloadType::TSR,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
        ]
    );
    let Payload::IdI(idi) = &inner[0] else {
        panic!()
    };
    assert_eq!(idi.ip_addr(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
    let Payload::IdR(idr) = &inner[2] else {
        panic!()
    };
    assert_eq!(idr.ip_addr(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))));
    let Payload::Auth(auth) = &inner[3] else {
        panic!()
    };
    assert_eq!(
        (auth.method, auth.data.len()),
        (AuthMethod::SHARED_KEY_MIC, 32)
    );
    let Payload::Sa(sa) = &inner[4] else { panic!() };
    let p = &sa.proposals[0];
    assert_eq!((p.protocol, p.spi.len()), (ProtocolId::ESP, 4));
    assert_eq!(
        p.transforms.iter().map(|t| t.id).collect::<Vec<_>>(),
        [
            TransformId::Encr(EncrId::AES_CBC),
            TransformId::Integ(IntegId::HMAC_SHA2_256_128),
            TransformId::Esn(EsnId::NO_ESN),
        ]
    );
    let (Payload::TsI(tsi), Payload::TsR(tsr)) = (&inner[5], &inner[6]) else {
        panic!()
    };
    assert_eq!(
        tsi.ranges().copied().collect::<Vec<_>>(),
        [TsAddrRange::from_cidr(
            IpAddr::V4(Ipv4Addr::new(198, 18, 1, 0)),
            24
        )]
    );
    assert_eq!(
        tsr.ranges().copied().collect::<Vec<_>>(),
        [TsAddrRange::from_cidr(
            IpAddr::V4(Ipv4Addr::new(198, 19, 1, 0)),
            24
        )]
    );
    let notes: Vec<NotifyType> = notifies(&inner).map(|n| n.ty).collect();
    assert_eq!(
        notes,
        [
            NotifyType::INITIAL_CONTACT,
            NotifyType::MOBIKE_SUPPORTED,
            NotifyType::NO_ADDITIONAL_ADDRESSES,
            NotifyType::MULTIPLE_AUTH_SUPPORTED,
            NotifyType::EAP_ONLY_AUTHENTICATION,
            NotifyType::IKEV2_MESSAGE_ID_SYNC_SUPPORTED,
        ]
    );
    assert_eq!(reseal(&bytes, &inner, SK_EI), bytes);
}

#[test]
fn rfc5282_strongswan_ike_auth_response_decrypts_and_reseals_byte_exact() {
    let bytes = h(IKE_AUTH_RESP);
    let inner = open(&bytes, SK_ER);
    assert_eq!(
        types(&inner),
        [
            PayloadType::IDR,
            PayloadType::AUTH,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY
        ]
    );
    let last = notifies(&inner).last().unwrap();
    assert_eq!(last.ty, NotifyType::TS_UNACCEPTABLE);
    assert_eq!(reseal(&bytes, &inner, SK_ER), bytes);
}

#[test]
fn rfc5282_s5_1_tampering_with_the_aad_fails_the_tag() {
    let bytes = h(IKE_AUTH_RESP);
    let l = SkLayout::locate(&bytes, 8, 16).unwrap();
    // Message ID (in the AAD) and a ciphertext byte: both must break the tag.
    for at in [20, l.ciphertext.start] {
        let mut b = bytes.clone();
        b[at] ^= 1;
        let iv: [u8; 8] = b[l.iv.clone()].try_into().unwrap();
        let mut data = b[l.ciphertext.clone()].to_vec();
        assert!(
            aead(SK_ER)
                .open_in_place(&iv, &b[l.aad()], &mut data, &b[l.icv.clone()])
                .is_err(),
            "byte {at}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Second capture: `proposals = aes128-sha256-modp2048` (AES-CBC + HMAC-SHA2-256-128) and
// `charon.fragment_size = 300`, so strongSwan splits its IKE_AUTH request into RFC 7383
// fragments ("splitting IKE message (272 bytes) into 2 fragments").

/// `IKE_AUTH request 1 [ EF(1/2) ]`
const FRAG_1: &str = "
6d79e3763e1f8df6e28b54c78e01bd28352023080000000100000104230000e800010002c2d277f58d4635863c30209d
4336f59620674ee6421e96cf8868263c92a1952fea0cb7699f95557e29414b2f3cbb327041648ef54325e53c6fb969a4
e8dbb34a764b9be4d41cd9aa687256a60f8e4010332bb3ac1d84e5f8a3f0f7713c004e46ef7449db6de5cf36198bb2ea
fe5f0c27f0616d47881c782f1b95d9c0c76f3de9dcf5135d315c54301c15aa5b74171851f6ad4453b0a3a4085a231601
70e745beca9d50748822351e40560c784129f5f5521fa8a15f02425de956eb2a50d505346b4950f1cc3f28a8d7b20b5b
3d04714c670af54a8fbe9c61afbdfcb1536d3878";

/// `IKE_AUTH request 1 [ EF(2/2) ]`
const FRAG_2: &str = "
6d79e3763e1f8df6e28b54c78e01bd2835202308000000010000005400000038000200022cb15a3bed074da607f614e6
323e94053135e4a362ffdae5db944d2525412fad3f8d512b419350ebb8e8128cf22bfcbc";

/// `IKE_AUTH response 1 [ IDr AUTH N(MOBIKE_SUP) N(NO_ADD_ADDR) N(TS_UNACCEPT) ]`
const CBC_AUTH_RESP: &str = "
6d79e3763e1f8df6e28b54c78e01bd282e2023200000000100000090240000740740ac92164eb95959905775a12f7cac
d12c6b317cc1c409e0f5561fa4d3cc534e51e49fb8dbaa4831b8f791326d1393aa096f194f5d0f9fc865da62e7a4c253
69b9367a1d733723dc78767d0f5e26d72b00fe1fc84b0ba3ef20f73de40a830f73caf5cfc4242ec7527ee75ea3dad73b";

const CBC_SK_AI: &str = "6AA8E9BEFBD30EF03460A531508468843A4AD0BFDD9230695EDA136669DD4558";
const CBC_SK_AR: &str = "3D564B82EB8935B3FFF494F57E4EC239A03435E86698AC5137EEC5DFDA6BBA92";
const CBC_SK_EI: &str = "434ED2F921FA559D0550EA78E9A2D58A";
const CBC_SK_ER: &str = "45FF717BF69E51489B4B6CE22C4520B4";

/// Verifies the HMAC-SHA2-256-128 ICV over `integrity_covered()` (RFC 7296 §3.14) and decrypts
/// the AES-128-CBC ciphertext; returns the plaintext with padding and Pad Length.
fn verify_and_decrypt(bytes: &[u8], sk_a: &str, sk_e: &str) -> Vec<u8> {
    let l = SkLayout::locate(bytes, 16, 16).unwrap();
    let integ = dualsec_crypto::Integ::new(IntegId::HMAC_SHA2_256_128)
        .unwrap()
        .key(&h(sk_a))
        .unwrap();
    integ
        .verify(&[&bytes[l.integrity_covered()]], &bytes[l.icv.clone()])
        .unwrap();
    // Any change inside the covered range breaks the ICV.
    let mut tampered = bytes[l.integrity_covered()].to_vec();
    tampered[20] ^= 1;
    assert!(integ.verify(&[&tampered], &bytes[l.icv.clone()]).is_err());
    let CipherKey::Cbc(cbc) = Cipher::new(EncrId::AES_CBC, Some(128))
        .unwrap()
        .key(&h(sk_e))
        .unwrap()
    else {
        panic!("AES-CBC")
    };
    let mut pt = bytes[l.ciphertext.clone()].to_vec();
    cbc.decrypt_in_place(&bytes[l.iv.clone()], &mut pt).unwrap();
    pt
}

#[test]
fn rfc7383_strongswan_fragments_verify_decrypt_and_reassemble() {
    let mut r = Reassembly::new(ReassemblyLimits::default());
    let mut whole = None;
    // Receive fragment 2 first.
    for (hex, number, next) in [
        (FRAG_2, 2, PayloadType::NONE),
        (FRAG_1, 1, PayloadType::IDI),
    ] {
        let bytes = h(hex);
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.encode().unwrap(), bytes);
        let f = m.fragment().unwrap();
        assert_eq!((f.number, f.total, f.first_inner), (number, 2, next));
        let l = SkLayout::locate(&bytes, 16, 16).unwrap();
        assert_eq!(
            l.aad(),
            0..36,
            "header, SKF header, Fragment Number, Total Fragments"
        );
        let pt = verify_and_decrypt(&bytes, CBC_SK_AI, CBC_SK_EI);
        let content = unpad(&pt).unwrap();
        // strongSwan pads minimally, as we do.
        assert_eq!(padded_len(content.len(), 16), pt.len());
        whole = r.insert(f.number, f.total, f.first_inner, content).unwrap();
    }
    let (first, chain) = whole.unwrap();
    // charon's 272 bytes are the unfragmented message: header, SK header, IV, padded chain, ICV.
    assert_eq!(28 + 4 + 16 + padded_len(chain.len(), 16) + 16, 272);
    let inner = decode_payloads(first, &chain).unwrap();
    assert_eq!(
        types(&inner),
        [
            PayloadType::IDI,
            PayloadType::NOTIFY,
            PayloadType::IDR,
            PayloadType::AUTH,
            PayloadType::SA,
            PayloadType::TSI,
            PayloadType::TSR,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
        ]
    );
    // Our fragmenter at strongSwan's size gives the same split (RFC 7383 §2.5.1).
    let header = Message::decode(&h(FRAG_1)).unwrap().header;
    let ours = fragment_message(&header, &inner, 260, 16, 16, 16).unwrap();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].0.len(), h(FRAG_1).len());
    assert_eq!(ours[1].0.len(), h(FRAG_2).len());
    for ((msg, l), theirs) in ours.iter().zip([h(FRAG_1), h(FRAG_2)]) {
        assert_eq!(
            msg[..l.iv.start],
            theirs[..l.iv.start],
            "headers and SKF headers"
        );
    }
}

#[test]
fn rfc7296_s3_14_strongswan_cbc_hmac_response_verifies_and_decrypts() {
    let bytes = h(CBC_AUTH_RESP);
    let m = Message::decode(&bytes).unwrap();
    let first = m.encrypted().unwrap().first_inner;
    let pt = verify_and_decrypt(&bytes, CBC_SK_AR, CBC_SK_ER);
    let inner = decode_plaintext(first, &pt).unwrap();
    assert_eq!(
        types(&inner),
        [
            PayloadType::IDR,
            PayloadType::AUTH,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY,
            PayloadType::NOTIFY
        ]
    );
    // Our framing of the same payloads has the same size and layout.
    let (ours, l) = build_sk_message(&m.header, &[], &inner, 16, 16, 16).unwrap();
    assert_eq!(ours.len(), bytes.len());
    assert_eq!(l, SkLayout::locate(&bytes, 16, 16).unwrap());
    assert_eq!(ours[..l.iv.start], bytes[..l.iv.start]);
}
