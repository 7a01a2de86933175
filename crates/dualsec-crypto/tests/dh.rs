//! Diffie-Hellman: MODP groups cross-checked against an independent big-integer implementation
//! (`num-bigint`, used only here), peer-value validation, and deterministic generation.

#![allow(clippy::unwrap_used)] // test inputs are ours, not peer input

use dualsec_crypto::dh::modp_prime;
use dualsec_crypto::{CryptoError, DhGroup, DhPrivate};
use num_bigint::BigUint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const MODP: [(DhGroup, usize, u64); 4] = [
    (DhGroup::MODP_768, 768, 149_686),
    (DhGroup::MODP_1024, 1024, 129_093),
    (DhGroup::MODP_1536, 1536, 741_804),
    (DhGroup::MODP_2048, 2048, 124_476),
];

/// floor(pi * 2^bits), by Machin's formula pi = 16 atan(1/5) - 4 atan(1/239) in fixed point.
fn pi_fixed(bits: usize) -> BigUint {
    let guard = 64;
    let one = BigUint::from(1u8) << (bits + guard);
    let atan_inv = |x: u32| {
        let x2 = BigUint::from(x * x);
        let mut term = &one / x;
        let (mut pos, mut neg) = (BigUint::default(), BigUint::default());
        let mut n = 1u32;
        let mut add = true;
        while term > BigUint::default() {
            if add {
                pos += &term / n;
            } else {
                neg += &term / n;
            }
            term /= &x2;
            n += 2;
            add = !add;
        }
        pos - neg
    };
    (atan_inv(5) * 16u32 - atan_inv(239) * 4u32) >> guard
}

fn padded(v: &BigUint, len: usize) -> Vec<u8> {
    let raw = v.to_bytes_be();
    let mut out = vec![0u8; len - raw.len()];
    out.extend_from_slice(&raw);
    out
}

/// RFC 2409 §6.1/§6.2 and RFC 3526 §2/§3 define each prime as
/// 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k); rebuild them and compare with ours.
#[test]
fn rfc2409_rfc3526_modp_primes_match_their_pi_formula() {
    for (group, n, k) in MODP {
        let two = BigUint::from(2u8);
        let p = two.pow(n as u32) - two.pow(n as u32 - 64) - 1u8
            + two.pow(64) * (pi_fixed(n - 130) + k);
        assert_eq!(modp_prime(group).unwrap(), p.to_bytes_be(), "{group:?}");
        assert_eq!(group.public_len(), n / 8);
    }
}

/// Public value g^x mod p and shared secret y^x mod p agree with num-bigint's `modpow`, for
/// random exponents from a seeded RNG, in every MODP group.
#[test]
fn modp_matches_independent_bignum_modpow() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for (group, n, _) in MODP {
        let len = n / 8;
        let p = BigUint::from_bytes_be(&modp_prime(group).unwrap());
        let mut x = vec![0u8; len - 1];
        rng.fill_bytes(&mut x);
        let me = DhPrivate::from_private_bytes(group, &x).unwrap();
        let x = BigUint::from_bytes_be(&x);
        let y = BigUint::from(2u8).modpow(&x, &p);
        assert_eq!(
            me.public_value(),
            padded(&y, len).as_slice(),
            "{group:?} public"
        );
        let peer = DhPrivate::generate(group, &mut rng).unwrap();
        let peer_y = BigUint::from_bytes_be(peer.public_value());
        let z = peer_y.modpow(&x, &p);
        let secret = me.agree(peer.public_value()).unwrap();
        assert_eq!(
            secret.as_bytes(),
            padded(&z, len).as_slice(),
            "{group:?} shared"
        );
        assert_eq!(peer.agree(me.public_value()).unwrap(), secret);
    }
}

/// RFC 7296 §3.4 / §2.14: public values and g^ir are left-padded with zeros to the prime length.
#[test]
fn rfc7296_modp_values_are_left_padded_to_prime_length() {
    for (group, n, _) in MODP {
        let len = n / 8;
        let x1 = DhPrivate::from_private_bytes(group, &[1]).unwrap();
        let mut two = vec![0u8; len];
        two[len - 1] = 2;
        assert_eq!(x1.public_value(), two.as_slice());
        let x5 = DhPrivate::from_private_bytes(group, &[5]).unwrap();
        let mut expected = vec![0u8; len];
        expected[len - 1] = 32; // 2^5
        assert_eq!(x5.agree(&two).unwrap().as_bytes(), expected.as_slice());
    }
}

#[test]
fn modp_rejects_peer_values_outside_1_to_p_minus_1() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for (group, n, _) in MODP {
        let len = n / 8;
        let me = DhPrivate::generate(group, &mut rng).unwrap();
        let p = BigUint::from_bytes_be(&modp_prime(group).unwrap());
        let bad = [
            BigUint::default(),
            BigUint::from(1u8),
            &p - 1u8,
            p.clone(),
            &p + 1u8,
            (BigUint::from(1u8) << n) - 1u8,
        ];
        for y in bad {
            let err = me.agree(&padded(&y, len)).unwrap_err();
            assert!(
                matches!(err, CryptoError::InvalidPeerPublicValue { .. }),
                "{group:?} {y:x}: {err:?}"
            );
            assert_eq!(err.fault(), dualsec_crypto::Fault::Peer);
        }
        // Wrong length (e.g. not left-padded) is rejected rather than reinterpreted.
        assert!(matches!(
            me.agree(&[2u8; 1]),
            Err(CryptoError::InvalidPeerPublicValue { .. })
        ));
        assert!(matches!(
            me.agree(&vec![2u8; len + 1]),
            Err(CryptoError::InvalidPeerPublicValue { .. })
        ));
        // The smallest and largest valid values are accepted.
        me.agree(&padded(&BigUint::from(2u8), len)).unwrap();
        me.agree(&padded(&(&p - 2u8), len)).unwrap();
    }
}

/// Every group: two parties agree, keys come only from the caller's RNG (same seed, same key;
/// other seed, other key), and lengths follow the group.
#[test]
fn every_group_agrees_and_is_deterministic_under_a_seeded_rng() {
    for group in [
        DhGroup::MODP_768,
        DhGroup::MODP_1024,
        DhGroup::MODP_1536,
        DhGroup::MODP_2048,
        DhGroup::ECP_256,
        DhGroup::ECP_384,
        DhGroup::ECP_521,
        DhGroup::CURVE25519,
    ] {
        let a1 = DhPrivate::generate(group, &mut ChaCha20Rng::seed_from_u64(42)).unwrap();
        let a2 = DhPrivate::generate(group, &mut ChaCha20Rng::seed_from_u64(42)).unwrap();
        let b = DhPrivate::generate(group, &mut ChaCha20Rng::seed_from_u64(43)).unwrap();
        assert_eq!(a1.public_value(), a2.public_value(), "{group:?}");
        assert_ne!(a1.public_value(), b.public_value(), "{group:?}");
        assert_eq!(a1.public_value().len(), group.public_len());
        let s1 = a1.agree(b.public_value()).unwrap();
        let s2 = b.agree(a1.public_value()).unwrap();
        assert_eq!(s1, s2, "{group:?}");
        assert_eq!(s1.len(), group.shared_secret_len());
    }
}

/// Generated MODP keys use a 512-bit exponent taken straight from the RNG (RFC 3526 §8 sizes),
/// and the public value matches num-bigint's 2^x mod p for that exponent.
#[test]
fn rfc3526_section_8_generated_modp_exponent_is_512_rng_bits() {
    assert_eq!(dualsec_crypto::dh::MODP_EXPONENT_BITS, 512);
    for (group, n, _) in MODP {
        let generated = DhPrivate::generate(group, &mut ChaCha20Rng::seed_from_u64(9)).unwrap();
        let mut x = [0u8; 64];
        ChaCha20Rng::seed_from_u64(9).fill_bytes(&mut x);
        let p = BigUint::from_bytes_be(&modp_prime(group).unwrap());
        let y = BigUint::from(2u8).modpow(&BigUint::from_bytes_be(&x), &p);
        assert_eq!(
            generated.public_value(),
            padded(&y, n / 8).as_slice(),
            "{group:?}"
        );
    }
}
