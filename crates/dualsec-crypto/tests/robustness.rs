//! Peer-controlled input never panics and always yields a typed error (STYLE.md §7); round trips
//! hold for arbitrary data; hashes match RFC 1321 / FIPS 180 "abc" answers.

#![allow(clippy::unwrap_used)] // test inputs are ours

use dualsec_crypto::product::Suite;
use dualsec_crypto::{Cipher, CipherKey, CryptoError, DhGroup, DhPrivate, Fault, HashAlg, Integ};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const CIPHERS: [Cipher; 8] = [
    Cipher::AES128_CBC,
    Cipher::AES192_CBC,
    Cipher::AES256_CBC,
    Cipher::DES_CBC,
    Cipher::TRIPLE_DES_CBC,
    Cipher::AES128_GCM16,
    Cipher::AES192_GCM16,
    Cipher::AES256_GCM16,
];

#[test]
fn rfc1321_fips180_abc_digests() {
    let cases = [
        (HashAlg::Md5, "900150983cd24fb0d6963f7d28e17f72"),
        (HashAlg::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            HashAlg::Sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            HashAlg::Sha384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            HashAlg::Sha512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (hash, hex_digest) in cases {
        assert_eq!(
            hex::encode(hash.digest(&[b"a", b"bc"])),
            hex_digest,
            "{hash:?}"
        );
        assert_eq!(hash.output_len() * 2, hex_digest.len());
    }
}

#[test]
fn errors_say_who_is_at_fault() {
    assert_eq!(CryptoError::IcvMismatch.fault(), Fault::Peer);
    assert_eq!(
        CryptoError::UnsupportedDh(dualsec_crypto::DhId(99)).fault(),
        Fault::Unsupported
    );
    assert_eq!(
        CryptoError::BadKeyLength {
            what: "x",
            expected: 1,
            got: 2
        }
        .fault(),
        Fault::ApiMisuse
    );
    assert_eq!(CryptoError::Internal("x").fault(), Fault::Internal);
}

#[test]
fn ec_private_scalars_out_of_range_are_rejected() {
    assert!(DhPrivate::from_private_bytes(DhGroup::ECP_256, &[0; 32]).is_err());
    assert!(DhPrivate::from_private_bytes(DhGroup::ECP_256, &[0xff; 32]).is_err());
    assert!(DhPrivate::from_private_bytes(DhGroup::ECP_384, &[1; 32]).is_err());
    assert!(DhPrivate::from_private_bytes(DhGroup::CURVE25519, &[1; 31]).is_err());
    assert!(DhPrivate::from_private_bytes(DhGroup::MODP_1024, &[1; 129]).is_err());
}

#[test]
fn secrets_are_not_printed() {
    let me = DhPrivate::generate(DhGroup::CURVE25519, &mut ChaCha20Rng::seed_from_u64(3)).unwrap();
    let debug = format!("{me:?}");
    assert!(
        !debug.contains("Lc") && debug.contains("CURVE25519"),
        "{debug}"
    );
    let s = me.agree(me.public_value()).unwrap();
    assert_eq!(format!("{s:?}"), "Secret(32 octets)");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_peer_public_value_gives_a_secret_or_a_typed_error(
        group_ix in 0usize..8,
        mut peer in proptest::collection::vec(any::<u8>(), 0..300),
        exact_len in any::<bool>(),
    ) {
        let group = [
            DhGroup::MODP_768, DhGroup::MODP_1024, DhGroup::MODP_1536, DhGroup::MODP_2048,
            DhGroup::ECP_256, DhGroup::ECP_384, DhGroup::ECP_521, DhGroup::CURVE25519,
        ][group_ix];
        if exact_len {
            // Mostly exercise the value checks, not only the length check.
            peer.resize(group.public_len(), 0x5c);
        }
        // MODP exponentiation is slow in debug builds; a fixed small exponent keeps this quick.
        let me = if group.is_modp() {
            DhPrivate::from_private_bytes(group, &[0x35; 8]).unwrap()
        } else {
            DhPrivate::generate(group, &mut ChaCha20Rng::seed_from_u64(5)).unwrap()
        };
        match me.agree(&peer) {
            Ok(s) => prop_assert_eq!(s.len(), group.shared_secret_len()),
            Err(e) => prop_assert_eq!(e.fault(), Fault::Peer),
        }
    }

    #[test]
    fn cipher_round_trips_and_rejects_tampering(
        cipher_ix in 0usize..8,
        key_byte in any::<u8>(),
        blocks in 0usize..8,
        fill in any::<u8>(),
        flip in any::<usize>(),
    ) {
        let cipher = CIPHERS[cipher_ix];
        let key = cipher.key(&vec![key_byte; cipher.keymat_len()]).unwrap();
        let plain: Vec<u8> = (0..blocks * 16).map(|i| fill.wrapping_add(i as u8)).collect();
        let mut buf = plain.clone();
        match key {
            CipherKey::Cbc(k) => {
                let iv = vec![fill; cipher.iv_len()];
                k.encrypt_in_place(&iv, &mut buf).unwrap();
                k.decrypt_in_place(&iv, &mut buf).unwrap();
                prop_assert_eq!(&buf, &plain);
            }
            CipherKey::Aead(k) => {
                let iv = [fill; 8];
                let tag = k.seal_in_place(&iv, b"hdr", &mut buf).unwrap();
                let mut tampered = buf.clone();
                let mut bad_tag = tag;
                if tampered.is_empty() {
                    bad_tag[flip % 16] ^= 1;
                } else {
                    let i = flip % tampered.len();
                    tampered[i] ^= 1;
                }
                prop_assert_eq!(k.open_in_place(&iv, b"hdr", &mut tampered, &bad_tag), Err(CryptoError::IcvMismatch));
                k.open_in_place(&iv, b"hdr", &mut buf, &tag).unwrap();
                prop_assert_eq!(&buf, &plain);
            }
        }
    }

    #[test]
    fn cbc_decrypt_of_any_length_is_a_result(cipher_ix in 0usize..5, data in proptest::collection::vec(any::<u8>(), 0..80)) {
        let cipher = CIPHERS[cipher_ix];
        let CipherKey::Cbc(k) = cipher.key(&vec![1; cipher.keymat_len()]).unwrap() else { unreachable!() };
        let mut buf = data.clone();
        let r = k.decrypt_in_place(&vec![0; cipher.iv_len()], &mut buf);
        prop_assert_eq!(r.is_ok(), data.len() % cipher.block_size() == 0);
    }

    #[test]
    fn icv_verify_accepts_only_the_right_icv(data in proptest::collection::vec(any::<u8>(), 0..64), icv in proptest::collection::vec(any::<u8>(), 0..40)) {
        for integ in [Integ::HMAC_MD5_96, Integ::HMAC_SHA1_96, Integ::HMAC_SHA2_256_128, Integ::HMAC_SHA2_384_192, Integ::HMAC_SHA2_512_256] {
            let k = integ.key(&vec![9; integ.key_len()]).unwrap();
            let good = k.compute(&[&data]);
            k.verify(&[&data], good.as_ref()).unwrap();
            if icv.as_slice() != good.as_ref() {
                prop_assert!(k.verify(&[&data], &icv).is_err());
            }
        }
    }

    #[test]
    fn strongswan_parser_never_panics(s in "[a-z0-9-]{0,40}") {
        if let Ok(suite) = Suite::parse_strongswan(&s) {
            prop_assert_eq!(suite.cipher.is_aead(), suite.integ.is_none());
        }
    }
}
