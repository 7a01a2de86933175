//! Product names (SPEC.md R-TUN-3, R-TUN-4) and strongSwan proposal strings.

#![allow(clippy::unwrap_used)] // test inputs are ours

use dualsec_crypto::product::{self, Suite, Transform};
use dualsec_crypto::{Cipher, CryptoError, DhGroup, HashAlg, Integ, Prf};

#[test]
fn r_tun_3_encryption_names() {
    assert_eq!(product::encryption("aes").unwrap(), Cipher::AES128_CBC);
    assert_eq!(product::encryption("aes192").unwrap(), Cipher::AES192_CBC);
    assert_eq!(product::encryption("aes256").unwrap(), Cipher::AES256_CBC);
    assert_eq!(product::encryption("des").unwrap(), Cipher::DES_CBC);
    assert_eq!(product::encryption("3des").unwrap(), Cipher::TRIPLE_DES_CBC);
    // dualsec's AES-GCM extension names (issue 5); aes192gcm16 is not offered.
    assert_eq!(
        product::encryption("aes128gcm16").unwrap(),
        Cipher::AES128_GCM16
    );
    assert_eq!(
        product::encryption("aes256gcm16").unwrap(),
        Cipher::AES256_GCM16
    );
    for bad in ["AES", "aes128", "aes192gcm16", "", "sha1"] {
        assert!(
            matches!(
                product::encryption(bad),
                Err(CryptoError::UnknownName { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn r_tun_3_authentication_names_select_integrity_prf_and_hash() {
    let cases = [
        ("md5", Integ::HMAC_MD5_96, Prf::HMAC_MD5, HashAlg::Md5),
        ("sha1", Integ::HMAC_SHA1_96, Prf::HMAC_SHA1, HashAlg::Sha1),
        (
            "sha256",
            Integ::HMAC_SHA2_256_128,
            Prf::HMAC_SHA2_256,
            HashAlg::Sha256,
        ),
        (
            "sha384",
            Integ::HMAC_SHA2_384_192,
            Prf::HMAC_SHA2_384,
            HashAlg::Sha384,
        ),
        (
            "sha512",
            Integ::HMAC_SHA2_512_256,
            Prf::HMAC_SHA2_512,
            HashAlg::Sha512,
        ),
    ];
    for (name, integ, prf, hash) in cases {
        let a = product::authentication(name).unwrap();
        assert_eq!((a.integ, a.prf, a.hash), (integ, prf, hash), "{name}");
        assert_eq!(product::product_name(Transform::Integ(integ)), Some(name));
    }
    assert!(product::authentication("prfsha256").is_err());
}

#[test]
fn r_tun_3_r_tun_4_dh_group_names() {
    assert_eq!(
        product::dh_group("group1").unwrap(),
        Some(DhGroup::MODP_768)
    );
    assert_eq!(
        product::dh_group("group2").unwrap(),
        Some(DhGroup::MODP_1024)
    );
    assert_eq!(
        product::dh_group("group5").unwrap(),
        Some(DhGroup::MODP_1536)
    );
    assert_eq!(
        product::dh_group("group14").unwrap(),
        Some(DhGroup::MODP_2048)
    );
    assert_eq!(product::dh_group("disabled").unwrap(), None);
    assert!(product::dh_group("group19").is_err());
    assert!(product::dh_group("modp1024").is_err());
}

#[test]
fn strongswan_proposals_for_product_defaults() {
    // R-TUN-3/4 defaults: aes, sha1, group2.
    let ike = Suite::from_product("aes", "sha1", "group2").unwrap();
    assert_eq!(ike.to_strongswan_ike(), "aes128-sha1-modp1024");
    assert_eq!(ike.to_strongswan_esp(), "aes128-sha1-modp1024");
    assert_eq!(ike.ike_prf(), Some(Prf::HMAC_SHA1));
    let no_pfs = Suite::from_product("3des", "md5", "disabled").unwrap();
    assert_eq!(no_pfs.to_strongswan_esp(), "3des-md5");
    let strong = Suite::from_product("aes256", "sha512", "group14").unwrap();
    assert_eq!(strong.to_strongswan_ike(), "aes256-sha512-modp2048");
}

#[test]
fn strongswan_interop_suites_parse_and_render() {
    let cases = [
        ("aes128gcm16-prfsha256-ecp256", true),
        ("aes256gcm16-prfsha384-ecp384", true),
        ("aes256-sha256-prfsha384-ecp521", true),
        ("aes128-sha1-curve25519", true),
        ("aes192-sha384-modp1536", true),
        ("aes128gcm16-ecp256", false),
        ("aes128-sha1", false),
    ];
    for (text, ike) in cases {
        let s = Suite::parse_strongswan(text).unwrap();
        let back = if ike {
            s.to_strongswan_ike()
        } else {
            s.to_strongswan_esp()
        };
        assert_eq!(back, text);
    }
    let s = Suite::parse_strongswan("aes256-sha256-prfsha384-ecp521").unwrap();
    assert_eq!(s.cipher, Cipher::AES256_CBC);
    assert_eq!(s.integ, Some(Integ::HMAC_SHA2_256_128));
    assert_eq!(s.ike_prf(), Some(Prf::HMAC_SHA2_384));
    assert_eq!(s.dh, Some(DhGroup::ECP_521));
    // An explicit PRF equal to the integrity's hash is implied, so it is not written twice.
    let implied = Suite::parse_strongswan("aes128-sha256-prfsha256-modp2048").unwrap();
    assert_eq!(implied.to_strongswan_ike(), "aes128-sha256-modp2048");
}

#[test]
fn strongswan_parser_rejects_malformed_proposals() {
    for bad in [
        "",
        "aes128",
        "aes128gcm16-sha1-ecp256",
        "aes128-aes256-sha1",
        "aes128-sha1-modp1024-modp2048",
        "aes128-sha1--modp1024",
        "aes128-sha1-modp4096",
        "AES128-SHA1",
    ] {
        assert!(Suite::parse_strongswan(bad).is_err(), "{bad}");
    }
}

#[test]
fn aead_product_suite_has_no_integrity_and_keeps_the_prf() {
    // RFC 5282 §8 (IKE with AEAD negotiates a PRF, no integrity); RFC 4106 for ESP.
    let s = Suite::from_product("aes128gcm16", "sha256", "group14").unwrap();
    assert_eq!(s.integ, None);
    assert_eq!(s.to_strongswan_ike(), "aes128gcm16-prfsha256-modp2048");
    assert_eq!(s.to_strongswan_esp(), "aes128gcm16-modp2048");
    let s = Suite::from_product("aes256gcm16", "md5", "disabled").unwrap();
    assert_eq!(s.to_strongswan_esp(), "aes256gcm16");
}
