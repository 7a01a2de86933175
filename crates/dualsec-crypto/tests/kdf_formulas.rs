//! IKEv1 (RFC 2409) and IKEv2 (RFC 7296 §2.15) formulas that have no published vectors beyond
//! the SP 800-135 ones in `vectors.rs`: expected values were computed independently with
//! Python's `hmac`/`hashlib` from the RFC formulas (quoted above each test).

#![allow(clippy::unwrap_used)] // test inputs are ours, not peer input

use dualsec_crypto::registry::{V1AuthId, V1EncrId, V1HashId};
use dualsec_crypto::{Cipher, CryptoError, HashAlg, Integ, Prf, ikev1, ikev2};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

const CKY_I: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const CKY_R: [u8; 8] = [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];

/// RFC 2409 §5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b); SKEYID_d/a/e as in §5.
#[test]
fn rfc2409_section_5_psk_skeyid_and_derived_keys_sha256() {
    let prf = Prf::HMAC_SHA2_256;
    let ni: Vec<u8> = (0..16).collect();
    let nr: Vec<u8> = (16..32).collect();
    let gxy = [0x5a; 128];
    let skeyid = ikev1::skeyid_psk(prf, b"dualsec-test-psk", &ni, &nr);
    assert_eq!(
        hex::encode(skeyid.as_bytes()),
        "d486a4006a9a5094496872193182283009e4f5205ea328edb92a2e63e75d109a"
    );
    let ids = ikev1::derive_skeyids(prf, skeyid.as_bytes(), &gxy, &CKY_I, &CKY_R);
    assert_eq!(
        hex::encode(ids.skeyid_d.as_bytes()),
        "0122df717ba841c4e6067427628c23216d70b551497a3be56212b868740e45c0"
    );
    assert_eq!(
        hex::encode(ids.skeyid_a.as_bytes()),
        "ef5c2e448080eb05ca779ba83a6ae9f202cf589d5e066da9b69f99b38756fd97"
    );
    assert_eq!(
        hex::encode(ids.skeyid_e.as_bytes()),
        "47202d9a34842d89df22b7b78ff246cab4447abcdff6d496213432d87d5e64d2"
    );
    // SKEYID_e long enough: the key is its first octets (Appendix B).
    let k = ikev1::encryption_key(prf, ids.skeyid_e.as_bytes(), Cipher::AES128_CBC).unwrap();
    assert_eq!(
        hex::encode(k.as_bytes()),
        "47202d9a34842d89df22b7b78ff246ca"
    );
}

/// RFC 2409 Appendix B: SKEYID_e (20 octets of SHA-1) too short for AES-256, so
/// Ka = K1 | K2, K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1).
#[test]
fn rfc2409_appendix_b_key_expansion() {
    let skeyid_e = Prf::HMAC_SHA1.compute(b"k", &[b"e"]);
    assert_eq!(
        hex::encode(skeyid_e.as_bytes()),
        "ac8a3be86a2c366776e15f21e21e37287e9e7706"
    );
    let ka =
        ikev1::encryption_key(Prf::HMAC_SHA1, skeyid_e.as_bytes(), Cipher::AES256_CBC).unwrap();
    assert_eq!(
        hex::encode(ka.as_bytes()),
        "025f929c6bfba1c784c1e15fce95ed11dc23e673621de3d32eee9f42e2574fca"
    );
    assert!(
        ikev1::encryption_key(Prf::HMAC_SHA1, skeyid_e.as_bytes(), Cipher::AES128_GCM16).is_err()
    );
}

/// RFC 2409 Appendix B: phase-1 IV = hash(g^xi | g^xr), phase-2 IV = hash(last block | M-ID),
/// both cut to the cipher block size.
#[test]
fn rfc2409_appendix_b_ivs() {
    let (gxi, gxr) = ([1u8; 128], [2u8; 128]);
    assert_eq!(
        hex::encode(ikev1::phase1_iv(
            HashAlg::Sha1,
            &gxi,
            &gxr,
            Cipher::AES128_CBC
        )),
        "f64fd25db61edf0bc60f87d4f99dec09"
    );
    assert_eq!(
        hex::encode(ikev1::phase1_iv(
            HashAlg::Md5,
            &gxi,
            &gxr,
            Cipher::TRIPLE_DES_CBC
        )),
        "63d8c8ffeeed55a0"
    );
    let last: Vec<u8> = (0..16).collect();
    assert_eq!(
        hex::encode(ikev1::phase2_iv(
            HashAlg::Sha256,
            &last,
            0x0102_0304,
            Cipher::AES256_CBC
        )),
        "76e6a0745829ba68200a947256cd8438"
    );
}

/// RFC 2409 §5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b),
/// HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b).
#[test]
fn rfc2409_section_5_hash_i_and_hash_r() {
    let prf = Prf::HMAC_SHA2_256;
    let ni: Vec<u8> = (0..16).collect();
    let nr: Vec<u8> = (16..32).collect();
    let skeyid = ikev1::skeyid_psk(prf, b"dualsec-test-psk", &ni, &nr);
    let (gxi, gxr) = ([1u8; 128], [2u8; 128]);
    let sai = b"SAi body";
    let hi = ikev1::hash_i(
        prf,
        skeyid.as_bytes(),
        &gxi,
        &gxr,
        &CKY_I,
        &CKY_R,
        sai,
        &h("01000000c0000201"),
    );
    assert_eq!(
        hex::encode(hi.as_bytes()),
        "676de49a3bdf1cf61cdf9c75f1e17f3a4939294a62fdacfff6f340cf4f15f6d6"
    );
    let hr = ikev1::hash_r(
        prf,
        skeyid.as_bytes(),
        &gxi,
        &gxr,
        &CKY_I,
        &CKY_R,
        sai,
        &h("01000000cb007101"),
    );
    assert_eq!(
        hex::encode(hr.as_bytes()),
        "fbc0c101eda799eebe1d6afafd9fd785f5dfc5fa6ef9228852f9ae65d7db2e31"
    );
}

/// RFC 2409 §5.5: KEYMAT = K1 | K2 | …, with and without PFS; HASH(1), HASH(2), HASH(3).
#[test]
fn rfc2409_section_5_5_quick_mode_keymat_and_hashes() {
    let prf = Prf::HMAC_SHA1;
    let (spi, ni, nr) = (h("c0ffee01"), [b'N'; 16], [b'R'; 16]);
    let skeyid_d = [9u8; 20];
    let no_pfs = ikev1::quick_mode_keymat(prf, &skeyid_d, None, 3, &spi, &ni, &nr, 64);
    assert_eq!(
        hex::encode(no_pfs.as_bytes()),
        "3b81b7b9897930d3051dde9b830d2af9c9f23396970b6e6ac2a1bb3513ec06e00ef425f571b7613a60ced46a2d7a41ec6a6346f99d43e6babe8048d35ab5cb34"
    );
    let pfs = ikev1::quick_mode_keymat(prf, &skeyid_d, Some(&[7u8; 128]), 3, &spi, &ni, &nr, 64);
    assert_eq!(
        hex::encode(pfs.as_bytes()),
        "47a7c4f587083750a3540dac2ab58c204e20d01514166cd9937985c6715914eaf6919030a6179c70d2de920a6edf05d93d833c388f39774234b8ef9e205c3d80"
    );
    let ska = [8u8; 20];
    let mid = 0x0102_0304;
    assert_eq!(
        hex::encode(ikev1::qm_hash1(prf, &ska, mid, b"rest-of-message").as_bytes()),
        "fd8260c0fb8555c67a2317ec4edc1c1f8ece7ab8"
    );
    assert_eq!(
        hex::encode(ikev1::qm_hash2(prf, &ska, mid, &ni, b"rest2").as_bytes()),
        "81164c84a39edfe3afcd14e30f6ee825b7dbacdd"
    );
    assert_eq!(
        hex::encode(ikev1::qm_hash3(prf, &ska, mid, &ni, &nr).as_bytes()),
        "9b9df06324bc11187f776897923d86c0c52086f1"
    );
}

#[test]
fn ikev1_attribute_values_map_to_algorithms() {
    assert_eq!(
        ikev1::cipher_from_v1(V1EncrId::AES_CBC, Some(256)).unwrap(),
        Cipher::AES256_CBC
    );
    assert_eq!(
        ikev1::cipher_from_v1(V1EncrId::TRIPLE_DES_CBC, None).unwrap(),
        Cipher::TRIPLE_DES_CBC
    );
    assert_eq!(
        ikev1::cipher_from_v1(V1EncrId::DES_CBC, None).unwrap(),
        Cipher::DES_CBC
    );
    assert_eq!(
        ikev1::cipher_from_v1(V1EncrId::BLOWFISH_CBC, None),
        Err(CryptoError::UnsupportedV1 {
            what: "encryption algorithm",
            value: 3
        })
    );
    assert_eq!(
        ikev1::hash_from_v1(V1HashId::SHA2_384).unwrap(),
        HashAlg::Sha384
    );
    assert!(ikev1::hash_from_v1(V1HashId::TIGER).is_err());
    assert_eq!(
        ikev1::integ_from_v1_auth(V1AuthId::HMAC_SHA).unwrap(),
        Integ::HMAC_SHA1_96
    );
    assert_eq!(
        ikev1::integ_from_v1_auth(V1AuthId::HMAC_SHA2_512).unwrap(),
        Integ::HMAC_SHA2_512_256
    );
    assert!(ikev1::integ_from_v1_auth(V1AuthId::DES_MAC).is_err());
}

/// RFC 7296 §2.15: AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), RealMessage | Nonce |
/// prf(SK_p, IDType | RESERVED | IDData)).
#[test]
fn rfc7296_section_2_15_psk_auth() {
    let prf = Prf::HMAC_SHA2_256;
    let maced = ikev2::maced_id(prf, &[3u8; 32], &h("01000000c0000201"));
    assert_eq!(
        hex::encode(maced.as_bytes()),
        "fa76194a066bfb8db13ab6b39e62a9036428c33599c527a19d54fb031c2a8f08"
    );
    let auth = ikev2::psk_auth(
        prf,
        b"secret psk",
        b"IKE_SA_INIT message bytes",
        b"peer nonce 16oct",
        maced.as_bytes(),
    );
    let expected = "8c486fb1a2df78c21859642dae8b89932d44fd5a28be27cb5e7640301bd47359";
    assert_eq!(hex::encode(auth.as_bytes()), expected);
    ikev2::verify_psk_auth(
        prf,
        b"secret psk",
        b"IKE_SA_INIT message bytes",
        b"peer nonce 16oct",
        maced.as_bytes(),
        &h(expected),
    )
    .unwrap();
    assert_eq!(
        ikev2::verify_psk_auth(
            prf,
            b"Secret psk",
            b"IKE_SA_INIT message bytes",
            b"peer nonce 16oct",
            maced.as_bytes(),
            &h(expected)
        ),
        Err(CryptoError::IcvMismatch)
    );
}

/// RFC 7296 §2.13: prf+ stops at 255 blocks.
#[test]
fn rfc7296_section_2_13_prf_plus_limit() {
    let prf = Prf::HMAC_SHA1;
    assert_eq!(prf.prf_plus(b"k", &[b"s"], 255 * 20).unwrap().len(), 5100);
    assert_eq!(
        prf.prf_plus(b"k", &[b"s"], 5101),
        Err(CryptoError::PrfPlusTooLong {
            requested: 5101,
            max: 5100
        })
    );
    // Output is a prefix-stable stream: a shorter request is a prefix of a longer one.
    let long = prf.prf_plus(b"k", &[b"s", b"eed"], 100).unwrap();
    let short = prf.prf_plus(b"k", &[b"seed"], 33).unwrap();
    assert_eq!(&long.as_bytes()[..33], short.as_bytes());
}

/// RFC 5282 §7.1 / RFC 7296 §2.14: with AES-GCM, SK_ai/SK_ar are empty and SK_e* carry the salt.
#[test]
fn rfc5282_ike_sa_keys_with_aead() {
    let suite = ikev2::IkeSaSuite {
        cipher: Cipher::AES256_GCM16,
        integ: None,
        prf: Prf::HMAC_SHA2_384,
    };
    let keys =
        ikev2::derive_ike_sa_keys(suite, &[1; 48], &[2; 32], &[3; 32], &[4; 8], &[5; 8]).unwrap();
    assert!(keys.sk_ai.is_empty() && keys.sk_ar.is_empty());
    assert_eq!((keys.sk_ei.len(), keys.sk_er.len()), (36, 36));
    assert_eq!(
        (keys.sk_d.len(), keys.sk_pi.len(), keys.sk_pr.len()),
        (48, 48, 48)
    );
    let stream = Prf::HMAC_SHA2_384
        .prf_plus(
            &[1; 48],
            &[&[2; 32], &[3; 32], &[4; 8], &[5; 8]],
            48 + 72 + 96,
        )
        .unwrap();
    assert_eq!(keys.sk_ei.as_bytes(), &stream.as_bytes()[48..84]);
    assert_eq!(keys.sk_pr.as_bytes(), &stream.as_bytes()[168..216]);
    // Debug never prints key bytes.
    assert_eq!(format!("{:?}", keys.sk_d), "Secret(48 octets)");
}

/// The ESP split of quick-mode KEYMAT: encryption key first, then integrity key.
#[test]
fn rfc2409_section_5_5_quick_mode_esp_split() {
    let prf = Prf::HMAC_SHA1;
    let spi = [0xc0, 0xff, 0xee, 0x01];
    let (ni, nr) = ([b'N'; 16], [b'R'; 16]);
    let (e, i) = ikev1::quick_mode_esp_keys(
        prf,
        &[9u8; 20],
        None,
        &spi,
        &ni,
        &nr,
        Cipher::AES256_CBC,
        Some(Integ::HMAC_SHA2_256_128),
    );
    let all = ikev1::quick_mode_keymat(prf, &[9u8; 20], None, ikev1::PROTO_ESP, &spi, &ni, &nr, 64);
    assert_eq!(e.as_bytes(), &all.as_bytes()[..32]);
    assert_eq!(i.as_bytes(), &all.as_bytes()[32..]);
}
