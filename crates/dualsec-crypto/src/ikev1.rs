//! IKEv1 key derivation (RFC 2409 §5, §5.5, Appendix B) and the phase-1/phase-2 hash helpers.
//!
//! ```text
//! SKEYID   = prf(pre-shared-key, Ni_b | Nr_b)                 PSK            §5
//! SKEYID   = prf(Ni_b | Nr_b, g^xy)                           signatures     §5
//! SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//! SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//! SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//! HASH_I   = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
//! HASH_R   = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
//! IV (phase 1) = hash(g^xi | g^xr)                             Appendix B
//! IV (phase 2) = hash(last phase-1 CBC block | M-ID)           Appendix B
//! Ka = K1 | K2 | …, K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)   Appendix B
//! KEYMAT = K1 | K2 | …, K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
//!          Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)    §5.5
//! HASH(1) = prf(SKEYID_a, M-ID | <rest of message after HASH(1)>)          §5.5
//! HASH(2) = prf(SKEYID_a, M-ID | Ni_b | <rest of message after HASH(2)>)
//! HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
//! ```
//!
//! The "prf" is the HMAC version of the negotiated hash (RFC 2409 §4): [`Prf::from_hash`].

use crate::cipher::Cipher;
use crate::error::{CryptoError, Result};
use crate::hash::HashAlg;
use crate::prf::Prf;
use crate::secret::Secret;

/// `SKEYID = prf(pre-shared-key, Ni_b | Nr_b)` for pre-shared key authentication (RFC 2409 §5).
pub fn skeyid_psk(prf: Prf, psk: &[u8], ni_b: &[u8], nr_b: &[u8]) -> Secret {
    prf.compute(psk, &[ni_b, nr_b])
}

/// `SKEYID = prf(Ni_b | Nr_b, g^xy)` for signature authentication (RFC 2409 §5).
pub fn skeyid_sig(prf: Prf, ni_b: &[u8], nr_b: &[u8], g_xy: &[u8]) -> Secret {
    let mut key = Vec::with_capacity(ni_b.len() + nr_b.len());
    key.extend_from_slice(ni_b);
    key.extend_from_slice(nr_b);
    let key = Secret::new(key);
    prf.compute(key.as_bytes(), &[g_xy])
}

/// The three phase-1 derived keys (RFC 2409 §5).
#[derive(Clone, Debug)]
pub struct SkeyIds {
    /// Keys phase-2 (quick mode) KEYMAT.
    pub skeyid_d: Secret,
    /// Authenticates ISAKMP messages (HASH(1..3), informational hashes).
    pub skeyid_a: Secret,
    /// Source of the ISAKMP SA encryption key; see [`encryption_key`].
    pub skeyid_e: Secret,
}

/// SKEYID_d, SKEYID_a and SKEYID_e from SKEYID (RFC 2409 §5). `cky_i`/`cky_r` are the ISAKMP
/// header cookies.
pub fn derive_skeyids(
    prf: Prf,
    skeyid: &[u8],
    g_xy: &[u8],
    cky_i: &[u8; 8],
    cky_r: &[u8; 8],
) -> SkeyIds {
    let skeyid_d = prf.compute(skeyid, &[g_xy, cky_i, cky_r, &[0]]);
    let skeyid_a = prf.compute(skeyid, &[skeyid_d.as_bytes(), g_xy, cky_i, cky_r, &[1]]);
    let skeyid_e = prf.compute(skeyid, &[skeyid_a.as_bytes(), g_xy, cky_i, cky_r, &[2]]);
    SkeyIds {
        skeyid_d,
        skeyid_a,
        skeyid_e,
    }
}

/// The ISAKMP SA encryption key: the first [`Cipher::keymat_len`] octets of SKEYID_e, expanded
/// to `Ka = K1 | K2 | …` (K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)) when SKEYID_e is
/// too short (RFC 2409 Appendix B). CBC ciphers only: IKEv1 has no AEAD here.
pub fn encryption_key(prf: Prf, skeyid_e: &[u8], cipher: Cipher) -> Result<Secret> {
    let need = cipher.keymat_len();
    if cipher.is_aead() {
        return Err(CryptoError::UnsupportedEncr {
            id: cipher.id(),
            key_bits: cipher.key_length_attribute(),
        });
    }
    if skeyid_e.len() >= need {
        return Ok(Secret::from_slice(&skeyid_e[..need]));
    }
    let mut out = Vec::with_capacity(need + prf.output_len());
    let mut k = prf.compute(skeyid_e, &[&[0]]);
    loop {
        out.extend_from_slice(k.as_bytes());
        if out.len() >= need {
            break;
        }
        k = prf.compute(skeyid_e, &[k.as_bytes()]);
    }
    out.truncate(need);
    Ok(Secret::new(out))
}

/// Phase-1 IV: `hash(g^xi | g^xr)` truncated to the cipher's block size (RFC 2409 Appendix B).
pub fn phase1_iv(hash: HashAlg, g_xi: &[u8], g_xr: &[u8], cipher: Cipher) -> Vec<u8> {
    let d = hash.digest(&[g_xi, g_xr]);
    d.as_ref()[..cipher.block_size().min(d.as_ref().len())].to_vec()
}

/// IV for a phase-2 or informational exchange: `hash(last phase-1 CBC output block | M-ID)`
/// truncated to the block size (RFC 2409 Appendix B).
pub fn phase2_iv(
    hash: HashAlg,
    last_phase1_block: &[u8],
    message_id: u32,
    cipher: Cipher,
) -> Vec<u8> {
    let d = hash.digest(&[last_phase1_block, &message_id.to_be_bytes()]);
    d.as_ref()[..cipher.block_size().min(d.as_ref().len())].to_vec()
}

/// `HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)` (RFC 2409 §5).
/// `sai_b` is the initiator's SA payload body, `idii_b` its ID payload body (generic headers off).
#[allow(clippy::too_many_arguments)]
pub fn hash_i(
    prf: Prf,
    skeyid: &[u8],
    g_xi: &[u8],
    g_xr: &[u8],
    cky_i: &[u8; 8],
    cky_r: &[u8; 8],
    sai_b: &[u8],
    idii_b: &[u8],
) -> Secret {
    prf.compute(skeyid, &[g_xi, g_xr, cky_i, cky_r, sai_b, idii_b])
}

/// `HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)` (RFC 2409 §5).
#[allow(clippy::too_many_arguments)]
pub fn hash_r(
    prf: Prf,
    skeyid: &[u8],
    g_xi: &[u8],
    g_xr: &[u8],
    cky_i: &[u8; 8],
    cky_r: &[u8; 8],
    sai_b: &[u8],
    idir_b: &[u8],
) -> Secret {
    prf.compute(skeyid, &[g_xr, g_xi, cky_r, cky_i, sai_b, idir_b])
}

/// Quick-mode KEYMAT for one SA (RFC 2409 §5.5): `protocol` is the IPsec DOI protocol id
/// (3 = ESP), `spi` the SPI of the SA being keyed (the receiver's), `g_qm_xy` the quick-mode
/// shared secret with PFS or `None`; expanded to `len` octets.
#[allow(clippy::too_many_arguments)]
pub fn quick_mode_keymat(
    prf: Prf,
    skeyid_d: &[u8],
    g_qm_xy: Option<&[u8]>,
    protocol: u8,
    spi: &[u8],
    ni_b: &[u8],
    nr_b: &[u8],
    len: usize,
) -> Secret {
    let proto = [protocol];
    let g: &[u8] = g_qm_xy.unwrap_or(&[]);
    let mut out = Vec::with_capacity(len + prf.output_len());
    let mut k = prf.compute(skeyid_d, &[g, &proto, spi, ni_b, nr_b]);
    loop {
        out.extend_from_slice(k.as_bytes());
        if out.len() >= len {
            break;
        }
        k = prf.compute(skeyid_d, &[k.as_bytes(), g, &proto, spi, ni_b, nr_b]);
    }
    out.truncate(len);
    Secret::new(out)
}

/// Quick-mode KEYMAT for one ESP SA split into its encryption key (with GCM salt if any) and
/// integrity key: the encryption key is taken first, then the integrity key, the split every
/// IKEv1 implementation uses (RFC 2409 §5.5 leaves it to the DOI). `spi` is the SPI of this SA
/// (chosen by its receiver); protocol is ESP (3).
#[allow(clippy::too_many_arguments)]
pub fn quick_mode_esp_keys(
    prf: Prf,
    skeyid_d: &[u8],
    g_qm_xy: Option<&[u8]>,
    spi: &[u8; 4],
    ni_b: &[u8],
    nr_b: &[u8],
    cipher: Cipher,
    integ: Option<crate::integ::Integ>,
) -> (Secret, Secret) {
    let encr_len = cipher.keymat_len();
    let integ_len = integ.map_or(0, crate::integ::Integ::key_len);
    let mut keymat = quick_mode_keymat(
        prf,
        skeyid_d,
        g_qm_xy,
        PROTO_ESP,
        spi,
        ni_b,
        nr_b,
        encr_len + integ_len,
    );
    let encr = keymat.take_front(encr_len);
    (encr, keymat)
}

/// IPsec DOI protocol id of ESP (RFC 2407 §4.4.1).
pub const PROTO_ESP: u8 = 3;

/// `HASH(1) = prf(SKEYID_a, M-ID | <message after the HASH payload>)` (RFC 2409 §5.5). Also the
/// hash of informational exchanges (§5.7).
pub fn qm_hash1(prf: Prf, skeyid_a: &[u8], message_id: u32, rest: &[u8]) -> Secret {
    prf.compute(skeyid_a, &[&message_id.to_be_bytes(), rest])
}

/// `HASH(2) = prf(SKEYID_a, M-ID | Ni_b | <message after the HASH payload>)` (RFC 2409 §5.5).
pub fn qm_hash2(prf: Prf, skeyid_a: &[u8], message_id: u32, ni_b: &[u8], rest: &[u8]) -> Secret {
    prf.compute(skeyid_a, &[&message_id.to_be_bytes(), ni_b, rest])
}

/// `HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)` (RFC 2409 §5.5).
pub fn qm_hash3(prf: Prf, skeyid_a: &[u8], message_id: u32, ni_b: &[u8], nr_b: &[u8]) -> Secret {
    prf.compute(skeyid_a, &[&[0], &message_id.to_be_bytes(), ni_b, nr_b])
}

/// The cipher for IKEv1 phase-1 attributes: Encryption Algorithm and, for AES, Key Length in bits
/// (RFC 3602 §5; DES and 3DES take none).
pub fn cipher_from_v1(encr: crate::registry::V1EncrId, key_bits: Option<u16>) -> Result<Cipher> {
    use crate::registry::{EncrId, V1EncrId};
    let id = match encr {
        V1EncrId::DES_CBC => EncrId::DES,
        V1EncrId::TRIPLE_DES_CBC => EncrId::TRIPLE_DES,
        V1EncrId::AES_CBC => EncrId::AES_CBC,
        other => {
            return Err(CryptoError::UnsupportedV1 {
                what: "encryption algorithm",
                value: other.0,
            });
        }
    };
    Cipher::new(id, key_bits)
}

/// The hash for the IKEv1 phase-1 Hash Algorithm attribute.
pub fn hash_from_v1(hash: crate::registry::V1HashId) -> Result<HashAlg> {
    use crate::registry::V1HashId;
    Ok(match hash {
        V1HashId::MD5 => HashAlg::Md5,
        V1HashId::SHA => HashAlg::Sha1,
        V1HashId::SHA2_256 => HashAlg::Sha256,
        V1HashId::SHA2_384 => HashAlg::Sha384,
        V1HashId::SHA2_512 => HashAlg::Sha512,
        other => {
            return Err(CryptoError::UnsupportedV1 {
                what: "hash algorithm",
                value: other.0,
            });
        }
    })
}

/// The ESP integrity algorithm for the IPsec DOI Authentication Algorithm attribute.
pub fn integ_from_v1_auth(auth: crate::registry::V1AuthId) -> Result<crate::integ::Integ> {
    use crate::integ::Integ;
    use crate::registry::V1AuthId;
    Ok(match auth {
        V1AuthId::HMAC_MD5 => Integ::HMAC_MD5_96,
        V1AuthId::HMAC_SHA => Integ::HMAC_SHA1_96,
        V1AuthId::HMAC_SHA2_256 => Integ::HMAC_SHA2_256_128,
        V1AuthId::HMAC_SHA2_384 => Integ::HMAC_SHA2_384_192,
        V1AuthId::HMAC_SHA2_512 => Integ::HMAC_SHA2_512_256,
        other => {
            return Err(CryptoError::UnsupportedV1 {
                what: "authentication algorithm",
                value: other.0,
            });
        }
    })
}
