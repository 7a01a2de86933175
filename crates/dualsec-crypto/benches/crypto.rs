//! Per-packet ESP crypto and per-handshake DH costs. Run: `cargo bench -p dualsec-crypto`.

#![allow(clippy::unwrap_used)] // benchmark inputs are ours

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dualsec_crypto::{Cipher, CipherKey, DhGroup, DhPrivate, Integ};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const PACKET: usize = 1392; // a 1400-octet ESP payload, padded to a multiple of 16

fn esp(c: &mut Criterion) {
    let mut g = c.benchmark_group("esp_packet");
    g.throughput(Throughput::Bytes(PACKET as u64));
    for (name, cipher, integ) in [
        (
            "aes128cbc_sha1_96",
            Cipher::AES128_CBC,
            Some(Integ::HMAC_SHA1_96),
        ),
        (
            "aes256cbc_sha256_128",
            Cipher::AES256_CBC,
            Some(Integ::HMAC_SHA2_256_128),
        ),
        (
            "3des_md5_96",
            Cipher::TRIPLE_DES_CBC,
            Some(Integ::HMAC_MD5_96),
        ),
        ("aes128gcm16", Cipher::AES128_GCM16, None),
        ("aes256gcm16", Cipher::AES256_GCM16, None),
    ] {
        let key = cipher.key(&vec![0x42; cipher.keymat_len()]).unwrap();
        let ik = integ.map(|i| i.key(&vec![0x24; i.key_len()]).unwrap());
        let mut buf = vec![0u8; PACKET];
        let mut icv = [0u8; 32];
        g.bench_function(name, |b| {
            b.iter(|| match &key {
                CipherKey::Cbc(k) => {
                    k.encrypt_in_place(&[7; 16][..cipher.iv_len()], &mut buf)
                        .unwrap();
                    let ik = ik.as_ref().unwrap();
                    let n = ik.integ().icv_len();
                    ik.compute_into(&[&[0u8; 8], &buf], &mut icv[..n]).unwrap();
                }
                CipherKey::Aead(k) => {
                    let tag = k.seal_in_place(&[7; 8], &[0u8; 8], &mut buf).unwrap();
                    icv[..16].copy_from_slice(&tag);
                }
            })
        });
    }
    g.finish();
}

fn dh(c: &mut Criterion) {
    let mut g = c.benchmark_group("dh_generate_and_agree");
    g.sample_size(10);
    for group in [
        DhGroup::MODP_1024,
        DhGroup::MODP_2048,
        DhGroup::ECP_256,
        DhGroup::CURVE25519,
    ] {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let peer = DhPrivate::generate(group, &mut rng).unwrap();
        g.bench_function(format!("{:?}", group.id()), |b| {
            b.iter(|| {
                let me = DhPrivate::generate(group, &mut rng).unwrap();
                me.agree(peer.public_value()).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, esp, dh);
criterion_main!(benches);
