//! Everything in `dualsec-crypto` that takes bytes a peer chose: DH public values for every
//! group, CBC decryption of arbitrary lengths, AES-GCM open with arbitrary tags, ICV verification,
//! and strongSwan proposal parsing. Nothing may panic; errors must be typed.
#![no_main]

use dualsec_crypto::product::Suite;
use dualsec_crypto::{Cipher, CipherKey, DhGroup, DhPrivate, Integ};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const GROUPS: [DhGroup; 8] = [
    DhGroup::MODP_768,
    DhGroup::MODP_1024,
    DhGroup::MODP_1536,
    DhGroup::MODP_2048,
    DhGroup::ECP_256,
    DhGroup::ECP_384,
    DhGroup::ECP_521,
    DhGroup::CURVE25519,
];

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

/// One private key per group, made once: key generation is not what is being fuzzed.
fn keys() -> &'static [DhPrivate] {
    static KEYS: OnceLock<Vec<DhPrivate>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        GROUPS.iter().map(|&g| DhPrivate::generate(g, &mut rng).expect("key generation")).collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    match sel % 4 {
        0 => {
            let ix = usize::from(sel / 4) % GROUPS.len();
            let me = &keys()[ix];
            if let Ok(s) = me.agree(rest) {
                assert_eq!(s.len(), GROUPS[ix].shared_secret_len());
            }
        }
        1 => {
            let cipher = CIPHERS[usize::from(sel / 4) % CIPHERS.len()];
            let Ok(key) = cipher.key(&vec![0x42; cipher.keymat_len()]) else { return };
            let mut buf = rest.to_vec();
            match key {
                CipherKey::Cbc(k) => {
                    let iv = vec![7u8; cipher.iv_len()];
                    let _ = k.decrypt_in_place(&iv, &mut buf);
                }
                CipherKey::Aead(k) => {
                    if buf.len() >= 16 {
                        let (ct, tag) = buf.split_at_mut(rest.len() - 16);
                        let tag = tag.to_vec();
                        let _ = k.open_in_place(&[1; 8], b"aad", ct, &tag);
                    }
                }
            }
        }
        2 => {
            let integ = [Integ::HMAC_MD5_96, Integ::HMAC_SHA1_96, Integ::HMAC_SHA2_256_128][usize::from(sel / 4) % 3];
            let Ok(k) = integ.key(&vec![0x24; integ.key_len()]) else { return };
            let split = rest.len() / 2;
            let _ = k.verify(&[&rest[..split]], &rest[split..]);
        }
        _ => {
            let _ = Suite::parse_strongswan(&String::from_utf8_lossy(rest));
        }
    }
});
