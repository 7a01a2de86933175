//! Published test vectors for every primitive and KDF in `dualsec-crypto`. Each test is named
//! after its source.

#![allow(clippy::unwrap_used)] // test vectors are ours, not peer input

use dualsec_crypto::ikev1;
use dualsec_crypto::ikev2::{self, ChildSaSuite, IkeSaSuite};
use dualsec_crypto::{
    Cipher, CipherKey, CryptoError, DhGroup, DhPrivate, EncrId, HashAlg, Integ, IntegId, Prf, PrfId,
};

fn h(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).unwrap()
}

// ---------------------------------------------------------------- RFC 2202: HMAC-MD5 / HMAC-SHA1

#[test]
fn rfc2202_hmac_md5_test_cases() {
    let long = b"Test Using Larger Than Block-Size Key - Hash Key First".as_slice();
    let cases: [(Vec<u8>, &[u8], &str); 5] = [
        (
            vec![0x0b; 16],
            b"Hi There",
            "9294727a3638bb1c13f48ef8158bfc9d",
        ),
        (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?",
            "750c783e6ab0b503eaa86e310a5db738",
        ),
        (
            vec![0xaa; 16],
            &[0xdd; 50],
            "56be34521d144c88dbb8c733f0e8b3f6",
        ),
        (
            vec![0x0c; 16],
            b"Test With Truncation",
            "56461ef2342edc00f9bab995690efd4c",
        ),
        (vec![0xaa; 80], long, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"),
    ];
    for (key, data, mac) in cases {
        assert_eq!(
            Prf::HMAC_MD5.compute(&key, &[data]).as_bytes(),
            h(mac).as_slice()
        );
        assert_eq!(HashAlg::Md5.hmac(&key, &[data]).as_ref(), h(mac).as_slice());
    }
}

#[test]
fn rfc2202_hmac_sha1_test_cases() {
    let long = b"Test Using Larger Than Block-Size Key - Hash Key First".as_slice();
    let cases: [(Vec<u8>, &[u8], &str); 5] = [
        (
            vec![0x0b; 20],
            b"Hi There",
            "b617318655057264e28bc0b6fb378c8ef146be00",
        ),
        (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        ),
        (
            vec![0xaa; 20],
            &[0xdd; 50],
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
        ),
        (
            vec![0x0c; 20],
            b"Test With Truncation",
            "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
        ),
        (
            vec![0xaa; 80],
            long,
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        ),
    ];
    for (key, data, mac) in cases {
        assert_eq!(
            Prf::HMAC_SHA1.compute(&key, &[data]).as_bytes(),
            h(mac).as_slice()
        );
    }
}

/// RFC 2202 test case 5 is the truncation case: HMAC-MD5-96 (RFC 2403) and HMAC-SHA1-96
/// (RFC 2404) are its first 12 octets.
#[test]
fn rfc2202_test_case_5_truncated_to_96_bits_rfc2403_rfc2404() {
    let md5 = Integ::HMAC_MD5_96.key(&[0x0c; 16]).unwrap();
    assert_eq!(
        md5.compute(&[b"Test With Truncation"]).as_ref(),
        h("56461ef2342edc00f9bab995").as_slice()
    );
    let sha1 = Integ::HMAC_SHA1_96.key(&[0x0c; 20]).unwrap();
    assert_eq!(
        sha1.compute(&[b"Test With", b" Truncation"]).as_ref(),
        h("4c1a03424b55e07fe7f27be1").as_slice()
    );
    sha1.verify(&[b"Test With Truncation"], &h("4c1a03424b55e07fe7f27be1"))
        .unwrap();
}

// ---------------------------------------------------------------- RFC 4231: HMAC-SHA2

#[test]
fn rfc4231_hmac_sha2_test_cases_1_2_6() {
    let tc6_key = vec![0xaa; 131];
    let tc6_data = b"Test Using Larger Than Block-Size Key - Hash Key First".as_slice();
    let cases: [(Prf, &[u8], &[u8], &str); 9] = [
        (
            Prf::HMAC_SHA2_256,
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            Prf::HMAC_SHA2_384,
            &[0x0b; 20],
            b"Hi There",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
        ),
        (
            Prf::HMAC_SHA2_512,
            &[0x0b; 20],
            b"Hi There",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ),
        (
            Prf::HMAC_SHA2_256,
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            Prf::HMAC_SHA2_384,
            b"Jefe",
            b"what do ya want for nothing?",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
        ),
        (
            Prf::HMAC_SHA2_512,
            b"Jefe",
            b"what do ya want for nothing?",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
        (
            Prf::HMAC_SHA2_256,
            &tc6_key,
            tc6_data,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            Prf::HMAC_SHA2_384,
            &tc6_key,
            tc6_data,
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
        ),
        (
            Prf::HMAC_SHA2_512,
            &tc6_key,
            tc6_data,
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        ),
    ];
    for (prf, key, data, mac) in cases {
        assert_eq!(
            prf.compute(key, &[data]).as_bytes(),
            h(mac).as_slice(),
            "{prf:?}"
        );
    }
}

// ---------------------------------------------------------------- RFC 4868: truncations

/// RFC 4868 §2.7.2.1..3, "Test Case AUTH256-1", "AUTH384-1", "AUTH512-1": key of the full
/// hash length, ICV = first half of the HMAC.
#[test]
fn rfc4868_auth_test_case_1_truncations() {
    let cases = [
        (
            Integ::HMAC_SHA2_256_128,
            32,
            "198a607eb44bfbc69903a0f1cf2bbdc5",
        ),
        (
            Integ::HMAC_SHA2_384_192,
            48,
            "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973",
        ),
        (
            Integ::HMAC_SHA2_512_256,
            64,
            "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8",
        ),
    ];
    for (integ, key_len, icv) in cases {
        assert_eq!(integ.key_len(), key_len);
        assert_eq!(integ.icv_len(), key_len / 2);
        let key = integ.key(&vec![0x0b; key_len]).unwrap();
        assert_eq!(
            key.compute(&[b"Hi There"]).as_ref(),
            h(icv).as_slice(),
            "{integ:?}"
        );
        key.verify(&[b"Hi ", b"There"], &h(icv)).unwrap();
    }
}

/// RFC 4868 §2.7.2.1 "Test Case AUTH256-2": key "JefeJefe…" (32 octets).
#[test]
fn rfc4868_auth256_test_case_2() {
    let key = Integ::HMAC_SHA2_256_128
        .key(b"JefeJefeJefeJefeJefeJefeJefeJefe")
        .unwrap();
    assert_eq!(
        key.compute(&[b"what do ya want for nothing?"]).as_ref(),
        h("167f928588c5cc2eef8e3093caa0e87c").as_slice()
    );
}

#[test]
fn integrity_verify_rejects_wrong_icv_and_wrong_length() {
    let key = Integ::HMAC_SHA2_256_128.key(&[0x0b; 32]).unwrap();
    let mut icv = h("198a607eb44bfbc69903a0f1cf2bbdc5");
    icv[15] ^= 1;
    assert_eq!(
        key.verify(&[b"Hi There"], &icv),
        Err(CryptoError::IcvMismatch)
    );
    assert_eq!(
        key.verify(&[b"Hi There"], &icv[..12]),
        Err(CryptoError::BadIcvLength {
            expected: 16,
            got: 12
        })
    );
    assert!(matches!(
        Integ::HMAC_SHA1_96.key(&[0; 16]),
        Err(CryptoError::BadKeyLength { .. })
    ));
    assert_eq!(
        Integ::new(IntegId::AES_XCBC_96),
        Err(CryptoError::UnsupportedInteg(IntegId::AES_XCBC_96))
    );
}

// ---------------------------------------------------------------- RFC 3602 + SP 800-38A: AES-CBC

fn cbc_roundtrip(cipher: Cipher, key: &str, iv: &str, plain: &[u8], expected: &str) {
    let CipherKey::Cbc(k) = cipher.key(&h(key)).unwrap() else {
        panic!("CBC expected")
    };
    let mut buf = plain.to_vec();
    k.encrypt_in_place(&h(iv), &mut buf).unwrap();
    assert_eq!(hex::encode(&buf), expected, "{cipher:?}");
    k.decrypt_in_place(&h(iv), &mut buf).unwrap();
    assert_eq!(buf, plain);
}

#[test]
fn rfc3602_aes128_cbc_cases_1_and_2() {
    cbc_roundtrip(
        Cipher::AES128_CBC,
        "06a9214036b8a15b512e03d534120006",
        "3dafba429d9eb430b422da802c9fac41",
        b"Single block msg",
        "e353779c1079aeb82708942dbe77181a",
    );
    cbc_roundtrip(
        Cipher::AES128_CBC,
        "c286696d887c9aa0611bbb3e2025a45a",
        "562e17996d093d28ddb3ba695a2e6f58",
        &(0u8..32).collect::<Vec<_>>(),
        "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1",
    );
}

#[test]
fn sp800_38a_f23_f25_aes192_aes256_cbc() {
    let plain = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
    cbc_roundtrip(
        Cipher::AES192_CBC,
        "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
        "000102030405060708090a0b0c0d0e0f",
        &plain,
        "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a",
    );
    cbc_roundtrip(
        Cipher::AES256_CBC,
        "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        "000102030405060708090a0b0c0d0e0f",
        &plain,
        "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d",
    );
}

// ---------------------------------------------------------------- DES / 3DES known answers

/// FIPS 81 Appendix C (CBC example): "Now is the time for all " under key 0123456789abcdef.
#[test]
fn fips81_des_cbc_example() {
    cbc_roundtrip(
        Cipher::DES_CBC,
        "0123456789abcdef",
        "1234567890abcdef",
        b"Now is the time for all ",
        "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6",
    );
}

/// The classic single-block DES known answer (key 133457799BBCDFF1), as CBC with a zero IV.
#[test]
fn des_known_answer_133457799bbcdff1() {
    cbc_roundtrip(
        Cipher::DES_CBC,
        "133457799bbcdff1",
        "0000000000000000",
        &h("0123456789abcdef"),
        "85e813540f0ab405",
    );
}

/// 3DES-EDE3-CBC known answer (RFC 2451 transform), cross-checked with OpenSSL
/// `enc -des-ede3-cbc -nopad`.
#[test]
fn tdes_ede3_cbc_known_answer_openssl() {
    cbc_roundtrip(
        Cipher::TRIPLE_DES_CBC,
        "0123456789abcdef23456789abcdef01456789abcdef0123",
        "1234567890abcdef",
        b"Now is the time for all ",
        "f3c0ff026c023089656fbb169def7edb30ba36075d6f0176",
    );
}

#[test]
fn cbc_rejects_partial_blocks_and_bad_iv() {
    let CipherKey::Cbc(k) = Cipher::AES128_CBC.key(&[0; 16]).unwrap() else {
        panic!()
    };
    let mut buf = [0u8; 17];
    assert_eq!(
        k.encrypt_in_place(&[0; 16], &mut buf),
        Err(CryptoError::NotBlockAligned { block: 16, len: 17 })
    );
    assert_eq!(
        k.decrypt_in_place(&[0; 8], &mut buf[..16]),
        Err(CryptoError::BadIvLength {
            expected: 16,
            got: 8
        })
    );
    let CipherKey::Cbc(d) = Cipher::TRIPLE_DES_CBC.key(&[7; 24]).unwrap() else {
        panic!()
    };
    assert_eq!(
        d.decrypt_in_place(&[0; 8], &mut buf[..12]),
        Err(CryptoError::NotBlockAligned { block: 8, len: 12 })
    );
    assert!(matches!(
        Cipher::AES256_CBC.key(&[0; 16]),
        Err(CryptoError::BadKeyLength { expected: 32, .. })
    ));
}

// ---------------------------------------------------------------- AES-GCM (NIST GCM spec vectors)

/// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 4, 10 and 16 (the NIST GCM
/// submission's vectors): the 96-bit IV cafebabefacedbaddecaf888 splits into the RFC 4106
/// salt (cafebabe, the last 4 octets of key material) and the 8-octet explicit IV.
#[test]
fn nist_gcm_test_cases_4_10_16_as_rfc4106_salt_and_iv() {
    let plain = h(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    );
    let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let cases = [
        (
            Cipher::AES128_GCM16,
            "feffe9928665731c6d6a8f9467308308",
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
            "5bc94fbc3221a5db94fae95ae7121a47",
        ),
        (
            Cipher::AES192_GCM16,
            "feffe9928665731c6d6a8f9467308308feffe9928665731c",
            "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
            "2519498e80f1478f37ba55bd6d27618c",
        ),
        (
            Cipher::AES256_GCM16,
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b",
        ),
    ];
    for (cipher, key, ct, tag) in cases {
        let mut keymat = h(key);
        keymat.extend_from_slice(&h("cafebabe"));
        assert_eq!(cipher.keymat_len(), keymat.len());
        let CipherKey::Aead(k) = cipher.key(&keymat).unwrap() else {
            panic!("AEAD expected")
        };
        let iv: [u8; 8] = h("facedbaddecaf888").try_into().unwrap();
        let mut buf = plain.clone();
        let got_tag = k.seal_in_place(&iv, &aad, &mut buf).unwrap();
        assert_eq!(hex::encode(&buf), ct, "{cipher:?}");
        assert_eq!(hex::encode(got_tag), tag, "{cipher:?}");
        k.open_in_place(&iv, &aad, &mut buf, &got_tag).unwrap();
        assert_eq!(buf, plain);
    }
}

/// NIST GCM test case 2: all-zero key, IV and one zero block.
#[test]
fn nist_gcm_test_case_2() {
    let CipherKey::Aead(k) = Cipher::AES128_GCM16.key(&[0; 20]).unwrap() else {
        panic!()
    };
    let mut buf = [0u8; 16];
    let tag = k.seal_in_place(&[0; 8], &[], &mut buf).unwrap();
    assert_eq!(hex::encode(buf), "0388dace60b6a392f328c2b971b2fe78");
    assert_eq!(hex::encode(tag), "ab6e47d42cec13bdf53a67b21257bddf");
}

#[test]
fn gcm_open_rejects_modified_ciphertext_aad_and_tag() {
    let CipherKey::Aead(k) = Cipher::AES256_GCM16.key(&[3; 36]).unwrap() else {
        panic!()
    };
    let iv = [9u8; 8];
    let mut buf = *b"sixteen octets!!";
    let tag = k.seal_in_place(&iv, b"esp header", &mut buf).unwrap();
    let mut bad = buf;
    bad[0] ^= 0x80;
    assert_eq!(
        k.open_in_place(&iv, b"esp header", &mut bad, &tag),
        Err(CryptoError::IcvMismatch)
    );
    let mut copy = buf;
    assert_eq!(
        k.open_in_place(&iv, b"esp headeR", &mut copy, &tag),
        Err(CryptoError::IcvMismatch)
    );
    let mut copy = buf;
    assert_eq!(
        k.open_in_place(&iv, b"esp header", &mut copy, &tag[..12]),
        Err(CryptoError::BadIcvLength {
            expected: 16,
            got: 12
        })
    );
    let mut copy = buf;
    k.open_in_place(&iv, b"esp header", &mut copy, &tag)
        .unwrap();
    assert_eq!(&copy, b"sixteen octets!!");
}

// ---------------------------------------------------------------- RFC 5903 ECP groups

struct EcVector {
    group: DhGroup,
    i: &'static str,
    gix: &'static str,
    giy: &'static str,
    r: &'static str,
    grx: &'static str,
    gry: &'static str,
    girx: &'static str,
}

fn check_ec(v: &EcVector) {
    let i = DhPrivate::from_private_bytes(v.group, &h(v.i)).unwrap();
    let r = DhPrivate::from_private_bytes(v.group, &h(v.r)).unwrap();
    // RFC 5903 §7: the KE payload carries x || y, no point-format octet.
    let gi = [h(v.gix), h(v.giy)].concat();
    let gr = [h(v.grx), h(v.gry)].concat();
    assert_eq!(i.public_value(), gi.as_slice());
    assert_eq!(r.public_value(), gr.as_slice());
    assert_eq!(gi.len(), v.group.public_len());
    // RFC 5903 §9: the shared secret is the x coordinate of g^ir.
    assert_eq!(i.agree(&gr).unwrap().as_bytes(), h(v.girx).as_slice());
    assert_eq!(r.agree(&gi).unwrap().as_bytes(), h(v.girx).as_slice());
}

#[test]
fn rfc5903_section_8_1_ecp_256() {
    check_ec(&EcVector {
        group: DhGroup::ECP_256,
        i: "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
        gix: "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
        giy: "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
        r: "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
        grx: "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
        gry: "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
        girx: "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
    });
}

#[test]
fn rfc5903_section_8_2_ecp_384() {
    check_ec(&EcVector {
        group: DhGroup::ECP_384,
        i: "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
        gix: "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA",
        giy: "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
        r: "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
        grx: "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571",
        gry: "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
        girx: "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746",
    });
}

#[test]
fn rfc5903_section_8_3_ecp_521() {
    check_ec(&EcVector {
        group: DhGroup::ECP_521,
        i: "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D4A52",
        gix: "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBEE1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176CED3E",
        giy: "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10AD8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F9582",
        r: "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9",
        grx: "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A219B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9460F",
        gry: "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0FC56A",
        girx: "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3DDEA",
    });
}

#[test]
fn ecp_rejects_points_off_the_curve_and_wrong_lengths() {
    let i = DhPrivate::from_private_bytes(
        DhGroup::ECP_256,
        &h("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"),
    )
    .unwrap();
    let mut gr = h(
        "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF6356FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
    );
    gr[63] ^= 1;
    assert!(matches!(
        i.agree(&gr),
        Err(CryptoError::InvalidPeerPublicValue { .. })
    ));
    assert!(matches!(
        i.agree(&gr[..63]),
        Err(CryptoError::InvalidPeerPublicValue { .. })
    ));
    assert!(matches!(
        i.agree(&[0u8; 64]),
        Err(CryptoError::InvalidPeerPublicValue { .. })
    ));
    // The SEC1 form with its 0x04 prefix is not the IKE encoding.
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(&gr);
    assert!(matches!(
        i.agree(&sec1),
        Err(CryptoError::InvalidPeerPublicValue { .. })
    ));
}

// ---------------------------------------------------------------- RFC 7748 §6.1 X25519 (RFC 8031)

#[test]
fn rfc7748_section_6_1_x25519() {
    let a = DhPrivate::from_private_bytes(
        DhGroup::CURVE25519,
        &h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
    )
    .unwrap();
    let b = DhPrivate::from_private_bytes(
        DhGroup::CURVE25519,
        &h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
    )
    .unwrap();
    assert_eq!(
        hex::encode(a.public_value()),
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    );
    assert_eq!(
        hex::encode(b.public_value()),
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    );
    let k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    assert_eq!(
        hex::encode(a.agree(b.public_value()).unwrap().as_bytes()),
        k
    );
    assert_eq!(
        hex::encode(b.agree(a.public_value()).unwrap().as_bytes()),
        k
    );
}

/// RFC 8031 §2.3: a low-order peer point gives an all-zero secret, which MUST be rejected.
#[test]
fn rfc8031_x25519_rejects_low_order_points() {
    let a = DhPrivate::from_private_bytes(
        DhGroup::CURVE25519,
        &h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
    )
    .unwrap();
    let mut one = [0u8; 32];
    one[0] = 1;
    for low in [[0u8; 32], one] {
        assert!(matches!(
            a.agree(&low),
            Err(CryptoError::InvalidPeerPublicValue { .. })
        ));
    }
    assert!(matches!(
        a.agree(&[9u8; 31]),
        Err(CryptoError::InvalidPeerPublicValue { .. })
    ));
}

// ---------------------------------------------------------------- NIST CAVP SP 800-135 IKEv2 KDF

struct Ikev2Cavs {
    prf: Prf,
    ni: &'static str,
    nr: &'static str,
    gir: &'static str,
    gir_new: &'static str,
    spii: &'static str,
    spir: &'static str,
    skeyseed: &'static str,
    dkm: &'static str,
    dkm_child: &'static str,
    dkm_child_dh: &'static str,
    skeyseed_rekey: &'static str,
}

fn check_ikev2_cavs(v: &Ikev2Cavs) {
    let (ni, nr) = (h(v.ni), h(v.nr));
    let (gir, gir_new) = (h(v.gir), h(v.gir_new));
    let spii: [u8; 8] = h(v.spii).try_into().unwrap();
    let spir: [u8; 8] = h(v.spir).try_into().unwrap();
    let dkm = h(v.dkm);
    let seed = ikev2::skeyseed(v.prf, &ni, &nr, &gir);
    assert_eq!(seed.as_bytes(), h(v.skeyseed).as_slice());
    // DKM = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
    let got = v
        .prf
        .prf_plus(seed.as_bytes(), &[&ni, &nr, &spii, &spir], dkm.len())
        .unwrap();
    assert_eq!(got.as_bytes(), dkm.as_slice());
    // The same stream split by derive_ike_sa_keys: SK_d is its first PRF-length octets.
    let suite = IkeSaSuite {
        cipher: Cipher::AES128_CBC,
        integ: Some(Integ::HMAC_SHA1_96),
        prf: v.prf,
    };
    let keys = ikev2::derive_ike_sa_keys(suite, seed.as_bytes(), &ni, &nr, &spii, &spir).unwrap();
    let p = v.prf.output_len();
    assert_eq!(keys.sk_d.as_bytes(), &dkm[..p]);
    assert_eq!(keys.sk_ai.as_bytes(), &dkm[p..p + 20]);
    assert_eq!(keys.sk_ar.as_bytes(), &dkm[p + 20..p + 40]);
    assert_eq!(keys.sk_ei.as_bytes(), &dkm[p + 40..p + 56]);
    assert_eq!(keys.sk_er.as_bytes(), &dkm[p + 56..p + 72]);
    assert_eq!(keys.sk_pi.as_bytes(), &dkm[p + 72..2 * p + 72]);
    assert_eq!(keys.sk_pr.as_bytes(), &dkm[2 * p + 72..3 * p + 72]);
    let sk_d = &dkm[..p];
    let child = h(v.dkm_child);
    let got = ikev2::child_sa_keymat(v.prf, sk_d, None, &ni, &nr, child.len()).unwrap();
    assert_eq!(got.as_bytes(), child.as_slice());
    let child_dh = h(v.dkm_child_dh);
    let got =
        ikev2::child_sa_keymat(v.prf, sk_d, Some(&gir_new), &ni, &nr, child_dh.len()).unwrap();
    assert_eq!(got.as_bytes(), child_dh.as_slice());
    let rekey = ikev2::rekey_skeyseed(v.prf, sk_d, &gir_new, &ni, &nr);
    assert_eq!(rekey.as_bytes(), h(v.skeyseed_rekey).as_slice());
}

/// SP 800-135 IKEv2 KDF CAVS, [SHA-1], DKM length 1056, first vector (ikev2.zip, as quoted by
/// libreswan's CAVP driver).
#[test]
fn nist_cavp_sp800_135_ikev2_sha1_vector_a() {
    check_ikev2_cavs(&Ikev2Cavs {
        prf: Prf::HMAC_SHA1,
        ni: "32b50d5f4a3763f3",
        nr: "9206a04b26564cb1",
        gir: "4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52",
        gir_new: "863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330",
        spii: "34c9e7c188868785",
        spir: "3ff77d760d2b2199",
        skeyseed: "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7",
        dkm: "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd11198af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4",
        dkm_child: "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d234cb4",
        dkm_child_dh: "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d56fd74c",
        skeyseed_rekey: "63e81194946ebd05df7df5ebf5d8750056bf1f1d",
    });
}

/// SP 800-135 IKEv2 KDF CAVS, [SHA-1], DKM length 1056, g^ir of 1024 bits (ikev2.zip).
#[test]
fn nist_cavp_sp800_135_ikev2_sha1_vector_b() {
    check_ikev2_cavs(&Ikev2Cavs {
        prf: Prf::HMAC_SHA1,
        ni: "3651fef5c9c35e93",
        nr: "c09a8b90a3f04d59",
        gir: "d084a30166a50fb7325c3960874a839449ef9741c2f4f947d0201dd8c1269273d79509f37e3ca3eb4fa2fe2a28254e289cd3f34dad4eb4df1a07685a4b8a94fa61e2491f7598b3ce65547ff133b3f63d1ac4175eaa695033f3cedb026a6873a36455172a8540b8a5d23a0143bed0390ee49b168269d75fffee9fb62be965993c",
        gir_new: "52f00ab174c25d5b7139ae5ff4e8e9eddee5992d2e36adf8a559ffd90dab1442e4fbe429d320c0f33552a17d1557fa41ea70e8fb916c4fa27ed52b5f8ebd8461afa78f1159159a64055ac5f6319e29c28eae58cbc6847770f32c3fed1d04750484f854790f95e9ec01bc5bc461f24966462e359511329305038e94deb6dd42c2",
        spii: "8e5c3ae507221684",
        spir: "b1f201bb155c3acd",
        skeyseed: "cd2e8050137832245f1dbacc6e4f0a92f94d45d6",
        dkm: "6f1b12cad3cbe097b35430356d869d54cddb0198ec859174d53ceb92dddedbe2436db69f60977c58fa63bbb667f8d36920b109baae8f6c61a9ac49feda01843225d080ec5539d5881a25521ffb2a0a91874a9c0a27fcc2d717eb8963a9e3a89c7ab264757284c28cf8c3ca40576f4220b052b1fb8e9ad60ba3c80557323331a8cbb89f20",
        dkm_child: "4727dc0ef94eb326ce131cf282fb652faa638ad0ddae3786a11bcc0309876009f8c485de011ad962c5b1ca8a41ff8145445749079c5686e26ffebbc342f06981f3da745e11ca0976424d1f8caec623d59dc7186deb20a27b411d1dcb70a365440bf7de905088b0692e8addc094e18d1939bdb67e89798ca6b239e2ccb81c2409dac0106c",
        dkm_child_dh: "b109c21ad4c0797768c1cec9e63554681e48f224bca7f23c20c4ea7041983451e9aa1d5408656c8a975ff1b9d9a12c75ffeb64bdecb30174664cccb4e14f1c377b7f6d1525af77c7092aac3e47f917ebae8297fb5539d2008ce830823a09cc197361d4a289c72745f6ce9fefe812be5bf55b3200fbb82e41a4a40877d3fe106db909707b",
        skeyseed_rekey: "3b03bce748c96d5e8306918d2ff89b68f0648da3",
    });
}

// ---------------------------------------------------------------- NIST CAVP SP 800-135 IKEv1 KDF

/// SP 800-135 IKEv1 KDF CAVS, digital-signature authentication, [SHA-1] (ikev1.zip):
/// SKEYID = prf(Ni_b | Nr_b, g^xy), then SKEYID_d/a/e.
#[test]
fn nist_cavp_sp800_135_ikev1_dsa_sha1() {
    let ni = h("ced5635da6796075");
    let nr = h("6244b427712fb776");
    let cky_i: [u8; 8] = h("382e5c8b0a3fa307").try_into().unwrap();
    let cky_r: [u8; 8] = h("ba4b7616700a2413").try_into().unwrap();
    let gxy = h(
        "2a2e0bbe8da3657a83f3d35826e49e2d38e557e912a1b9e6c30c63577b3eab715466202862027f2c26f3090743555579611771db0b92bef93834432a3a7762fc8a0f4889fd281d6082770d10a40d7bad61e832f041e620d6787e7f62ab2861ddfbe272e0d9d3cdec5f1bbf750e24b8b32d6d714968ad69ce5086c32ad2742ebc",
    );
    let skeyid = ikev1::skeyid_sig(Prf::HMAC_SHA1, &ni, &nr, &gxy);
    assert_eq!(
        hex::encode(skeyid.as_bytes()),
        "dc37ac99de6dcfbd1ee74af7fb36f9b4b0a7829d"
    );
    let ids = ikev1::derive_skeyids(Prf::HMAC_SHA1, skeyid.as_bytes(), &gxy, &cky_i, &cky_r);
    assert_eq!(
        hex::encode(ids.skeyid_d.as_bytes()),
        "486293ed547adb562cefdaf43d3d8457b196f2b6"
    );
    assert_eq!(
        hex::encode(ids.skeyid_a.as_bytes()),
        "f4053b5ca07e59bb41b8f401037ca90b72b3917e"
    );
    assert_eq!(
        hex::encode(ids.skeyid_e.as_bytes()),
        "49a1d53a80fb77e663552964fbbcb45092021473"
    );
}

// ---------------------------------------------------------------- registry lookups

#[test]
fn transform_ids_map_to_algorithms_and_unknown_ids_are_typed_errors() {
    assert_eq!(Prf::new(PrfId::HMAC_SHA2_384).unwrap(), Prf::HMAC_SHA2_384);
    assert_eq!(
        Prf::new(PrfId(99)),
        Err(CryptoError::UnsupportedPrf(PrfId(99)))
    );
    assert_eq!(
        Cipher::new(EncrId::AES_CBC, Some(256)).unwrap(),
        Cipher::AES256_CBC
    );
    assert_eq!(
        Cipher::new(EncrId::AES_GCM_16, Some(128)).unwrap(),
        Cipher::AES128_GCM16
    );
    assert!(Cipher::new(EncrId::AES_CBC, None).is_err());
    assert!(Cipher::new(EncrId::AES_CBC, Some(64)).is_err());
    assert!(Cipher::new(EncrId::TRIPLE_DES, Some(192)).is_err());
    assert!(Cipher::new(EncrId::AES_GCM_8, Some(128)).is_err());
    assert_eq!(
        DhGroup::new(dualsec_crypto::DhId(15)),
        Err(CryptoError::UnsupportedDh(dualsec_crypto::DhId(15)))
    );
    assert_eq!(Cipher::AES128_GCM16.keymat_len(), 20);
    assert_eq!(Cipher::AES256_GCM16.keymat_len(), 36);
    assert_eq!(
        (
            Cipher::TRIPLE_DES_CBC.keymat_len(),
            Cipher::TRIPLE_DES_CBC.block_size()
        ),
        (24, 8)
    );
    assert_eq!(
        (Cipher::AES192_CBC.keymat_len(), Cipher::AES192_CBC.iv_len()),
        (24, 16)
    );
    assert_eq!(
        (
            Cipher::AES128_GCM16.iv_len(),
            Cipher::AES128_GCM16.icv_len()
        ),
        (8, 16)
    );
    assert_eq!(Cipher::DES_CBC.key_length_attribute(), None);
    assert_eq!(Cipher::AES192_CBC.key_length_attribute(), Some(192));
}

#[test]
fn child_sa_keys_split_in_rfc7296_2_17_order() {
    let prf = Prf::HMAC_SHA2_256;
    let suite = ChildSaSuite {
        cipher: Cipher::AES128_CBC,
        integ: Some(Integ::HMAC_SHA2_256_128),
    };
    let (sk_d, ni, nr) = ([1u8; 32], [2u8; 16], [3u8; 16]);
    let keymat = ikev2::child_sa_keymat(
        prf,
        &sk_d,
        None,
        &ni,
        &nr,
        2 * suite.keymat_len_per_direction(),
    )
    .unwrap();
    let k = ikev2::derive_child_sa_keys(prf, suite, &sk_d, None, &ni, &nr).unwrap();
    let m = keymat.as_bytes();
    assert_eq!(k.encr_i.as_bytes(), &m[..16]);
    assert_eq!(k.integ_i.as_bytes(), &m[16..48]);
    assert_eq!(k.encr_r.as_bytes(), &m[48..64]);
    assert_eq!(k.integ_r.as_bytes(), &m[64..96]);
    // With PFS the KE secret enters the seed and changes every key.
    let pfs = ikev2::derive_child_sa_keys(prf, suite, &sk_d, Some(&[4u8; 32]), &ni, &nr).unwrap();
    assert_ne!(pfs.encr_i.as_bytes(), k.encr_i.as_bytes());
}
