//! Encryption for IKE SK payloads and ESP: AES-CBC, DES-CBC, 3DES-CBC (no padding: callers pad,
//! RFC 7296 §3.14, RFC 4303 §2.4) and AES-GCM-16 (RFC 4106, RFC 5282).
//!
//! Keys are expanded once per SA ([`Cipher::key`]); per-packet operations work in place on
//! `&mut [u8]` and do not allocate.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use cbc::cipher::{
    BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit, generic_array::GenericArray,
};

use crate::error::{CryptoError, Result};
use crate::registry::EncrId;

/// Length of the AES-GCM ICV for `ENCR_AES_GCM_16` (RFC 4106 §6).
pub const GCM_TAG_LEN: usize = 16;
/// Length of the AES-GCM salt taken from the end of the key material (RFC 4106 §8.1, RFC 5282 §7.1).
pub const GCM_SALT_LEN: usize = 4;
/// Length of the AES-GCM explicit IV carried in each packet (RFC 4106 §3.1).
pub const GCM_IV_LEN: usize = 8;

/// A supported encryption transform with its key size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cipher {
    id: EncrId,
    /// Key size in bits, without the GCM salt.
    key_bits: u16,
}

impl Cipher {
    /// ENCR_AES_CBC with 128-bit keys (RFC 3602). Product name `aes`.
    pub const AES128_CBC: Cipher = Cipher {
        id: EncrId::AES_CBC,
        key_bits: 128,
    };
    /// ENCR_AES_CBC with 192-bit keys. Product name `aes192`.
    pub const AES192_CBC: Cipher = Cipher {
        id: EncrId::AES_CBC,
        key_bits: 192,
    };
    /// ENCR_AES_CBC with 256-bit keys. Product name `aes256`.
    pub const AES256_CBC: Cipher = Cipher {
        id: EncrId::AES_CBC,
        key_bits: 256,
    };
    /// ENCR_DES (RFC 2405). Product name `des`.
    pub const DES_CBC: Cipher = Cipher {
        id: EncrId::DES,
        key_bits: 64,
    };
    /// ENCR_3DES (RFC 2451). Product name `3des`.
    pub const TRIPLE_DES_CBC: Cipher = Cipher {
        id: EncrId::TRIPLE_DES,
        key_bits: 192,
    };
    /// ENCR_AES_GCM_16 with 128-bit keys (strongSwan `aes128gcm16`).
    pub const AES128_GCM16: Cipher = Cipher {
        id: EncrId::AES_GCM_16,
        key_bits: 128,
    };
    /// ENCR_AES_GCM_16 with 192-bit keys.
    pub const AES192_GCM16: Cipher = Cipher {
        id: EncrId::AES_GCM_16,
        key_bits: 192,
    };
    /// ENCR_AES_GCM_16 with 256-bit keys (strongSwan `aes256gcm16`).
    pub const AES256_GCM16: Cipher = Cipher {
        id: EncrId::AES_GCM_16,
        key_bits: 256,
    };

    /// The cipher for a negotiated transform id and Key Length attribute (RFC 7296 §3.3.5).
    ///
    /// AES transforms require the attribute (128, 192 or 256); DES and 3DES have a fixed key size
    /// and must not carry it (RFC 7296 §3.3.5: "MUST NOT be used with transforms that use a fixed
    /// length key").
    pub fn new(id: EncrId, key_bits: Option<u16>) -> Result<Cipher> {
        let unsupported = Err(CryptoError::UnsupportedEncr { id, key_bits });
        match (id, key_bits) {
            (EncrId::DES, None) => Ok(Cipher::DES_CBC),
            (EncrId::TRIPLE_DES, None) => Ok(Cipher::TRIPLE_DES_CBC),
            (EncrId::AES_CBC | EncrId::AES_GCM_16, Some(bits @ (128 | 192 | 256))) => {
                Ok(Cipher { id, key_bits: bits })
            }
            _ => unsupported,
        }
    }

    /// IANA transform id.
    pub fn id(self) -> EncrId {
        self.id
    }

    /// The Key Length attribute to send in a proposal: `Some(bits)` for AES, `None` for DES/3DES.
    pub fn key_length_attribute(self) -> Option<u16> {
        match self.id {
            EncrId::AES_CBC | EncrId::AES_GCM_16 => Some(self.key_bits),
            _ => None,
        }
    }

    /// Whether this is an AEAD (combined mode) cipher; then no integrity transform is negotiated
    /// and [`Cipher::key`] yields [`CipherKey::Aead`].
    pub fn is_aead(self) -> bool {
        self.id == EncrId::AES_GCM_16
    }

    /// Octets of key material to take from KEYMAT / prf+ (RFC 7296 §2.14, §2.17): the key, plus
    /// the 4-octet salt for AES-GCM (RFC 4106 §8.1, RFC 5282 §7.1).
    pub fn keymat_len(self) -> usize {
        let key = usize::from(self.key_bits / 8);
        if self.is_aead() {
            key + GCM_SALT_LEN
        } else {
            key
        }
    }

    /// Block size in octets, which the plaintext plus padding must be a multiple of: 16 for AES-CBC,
    /// 8 for DES/3DES, 1 for AES-GCM (a stream mode; ESP still aligns to 4 octets, RFC 4303 §2.4).
    pub fn block_size(self) -> usize {
        match self.id {
            EncrId::DES | EncrId::TRIPLE_DES => 8,
            EncrId::AES_CBC => 16,
            _ => 1,
        }
    }

    /// IV length carried in each packet: the block size for CBC, 8 for AES-GCM.
    pub fn iv_len(self) -> usize {
        match self.id {
            EncrId::DES | EncrId::TRIPLE_DES => 8,
            EncrId::AES_CBC => 16,
            _ => GCM_IV_LEN,
        }
    }

    /// ICV length the cipher itself appends: 16 for AES-GCM-16, 0 for CBC.
    pub fn icv_len(self) -> usize {
        if self.is_aead() { GCM_TAG_LEN } else { 0 }
    }

    /// Expands key material of exactly [`Cipher::keymat_len`] octets, once per SA and direction.
    pub fn key(self, keymat: &[u8]) -> Result<CipherKey> {
        if keymat.len() != self.keymat_len() {
            return Err(CryptoError::BadKeyLength {
                what: "encryption",
                expected: self.keymat_len(),
                got: keymat.len(),
            });
        }
        let lib = |_| CryptoError::Internal("cipher key setup");
        match self.id {
            EncrId::AES_CBC => {
                let alg = aes_alg(self.key_bits);
                let enc = EncryptingKey::cbc(UnboundCipherKey::new(alg, keymat).map_err(lib)?)
                    .map_err(lib)?;
                let dec = DecryptingKey::cbc(UnboundCipherKey::new(alg, keymat).map_err(lib)?)
                    .map_err(lib)?;
                Ok(CipherKey::Cbc(CbcKey {
                    cipher: self,
                    inner: CbcInner::Aes { enc, dec },
                }))
            }
            EncrId::DES => {
                let k = des::Des::new_from_slice(keymat)
                    .map_err(|_| CryptoError::Internal("DES key setup"))?;
                Ok(CipherKey::Cbc(CbcKey {
                    cipher: self,
                    inner: CbcInner::Des(Box::new(k)),
                }))
            }
            EncrId::TRIPLE_DES => {
                let k = des::TdesEde3::new_from_slice(keymat)
                    .map_err(|_| CryptoError::Internal("3DES key setup"))?;
                Ok(CipherKey::Cbc(CbcKey {
                    cipher: self,
                    inner: CbcInner::TripleDes(Box::new(k)),
                }))
            }
            EncrId::AES_GCM_16 => {
                let (key, salt) = keymat.split_at(keymat.len() - GCM_SALT_LEN);
                let alg = match self.key_bits {
                    128 => &aead::AES_128_GCM,
                    192 => &aead::AES_192_GCM,
                    _ => &aead::AES_256_GCM,
                };
                let key = LessSafeKey::new(UnboundKey::new(alg, key).map_err(lib)?);
                let mut s = [0u8; GCM_SALT_LEN];
                s.copy_from_slice(salt);
                Ok(CipherKey::Aead(AeadKey {
                    cipher: self,
                    key,
                    salt: s,
                }))
            }
            _ => Err(CryptoError::UnsupportedEncr {
                id: self.id,
                key_bits: Some(self.key_bits),
            }),
        }
    }
}

fn aes_alg(bits: u16) -> &'static aws_lc_rs::cipher::Algorithm {
    match bits {
        128 => &aws_lc_rs::cipher::AES_128,
        192 => &aws_lc_rs::cipher::AES_192,
        _ => &aws_lc_rs::cipher::AES_256,
    }
}

/// An expanded key for one SA direction: CBC or AEAD.
// Keys live inline in the SA (no pointer chase per packet); they are built once and rarely moved.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum CipherKey {
    /// AES-CBC, DES-CBC or 3DES-CBC; pair it with an [`crate::IntegKey`].
    Cbc(CbcKey),
    /// AES-GCM-16; integrity is built in.
    Aead(AeadKey),
}

impl CipherKey {
    /// The algorithm.
    pub fn cipher(&self) -> Cipher {
        match self {
            CipherKey::Cbc(k) => k.cipher,
            CipherKey::Aead(k) => k.cipher,
        }
    }
}

#[allow(clippy::large_enum_variant)]
enum CbcInner {
    Aes {
        enc: EncryptingKey,
        dec: DecryptingKey,
    },
    Des(Box<des::Des>),
    TripleDes(Box<des::TdesEde3>),
}

/// An expanded CBC key. Encrypts and decrypts whole blocks in place; padding is the caller's.
pub struct CbcKey {
    cipher: Cipher,
    inner: CbcInner,
}

impl core::fmt::Debug for CbcKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CbcKey")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl CbcKey {
    /// The algorithm.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    fn check(&self, iv: &[u8], data: &[u8]) -> Result<()> {
        let block = self.cipher.block_size();
        if iv.len() != block {
            return Err(CryptoError::BadIvLength {
                expected: block,
                got: iv.len(),
            });
        }
        if data.len() % block != 0 {
            return Err(CryptoError::NotBlockAligned {
                block,
                len: data.len(),
            });
        }
        Ok(())
    }

    /// CBC-encrypts `data` (a whole number of blocks) in place with `iv` (one block).
    pub fn encrypt_in_place(&self, iv: &[u8], data: &mut [u8]) -> Result<()> {
        self.check(iv, data)?;
        match &self.inner {
            CbcInner::Aes { enc, .. } => {
                let iv = aes_iv(iv)?;
                enc.less_safe_encrypt(data, EncryptionContext::Iv128(iv))
                    .map(|_| ())
                    .map_err(|_| CryptoError::Internal("AES-CBC encrypt"))
            }
            CbcInner::Des(k) => rc_cbc_encrypt(
                cbc::Encryptor::<des::Des>::inner_iv_slice_init((**k).clone(), iv),
                data,
            ),
            CbcInner::TripleDes(k) => rc_cbc_encrypt(
                cbc::Encryptor::<des::TdesEde3>::inner_iv_slice_init((**k).clone(), iv),
                data,
            ),
        }
    }

    /// CBC-decrypts `data` (a whole number of blocks) in place with `iv` (one block).
    pub fn decrypt_in_place(&self, iv: &[u8], data: &mut [u8]) -> Result<()> {
        self.check(iv, data)?;
        match &self.inner {
            CbcInner::Aes { dec, .. } => {
                let iv = aes_iv(iv)?;
                dec.decrypt(data, DecryptionContext::Iv128(iv))
                    .map(|_| ())
                    .map_err(|_| CryptoError::Internal("AES-CBC decrypt"))
            }
            CbcInner::Des(k) => rc_cbc_decrypt(
                cbc::Decryptor::<des::Des>::inner_iv_slice_init((**k).clone(), iv),
                data,
            ),
            CbcInner::TripleDes(k) => rc_cbc_decrypt(
                cbc::Decryptor::<des::TdesEde3>::inner_iv_slice_init((**k).clone(), iv),
                data,
            ),
        }
    }
}

fn aes_iv(iv: &[u8]) -> Result<FixedLength<16>> {
    FixedLength::<16>::try_from(iv).map_err(|_| CryptoError::BadIvLength {
        expected: 16,
        got: iv.len(),
    })
}

fn rc_cbc_encrypt<C: BlockEncryptMut>(
    init: core::result::Result<C, cbc::cipher::InvalidLength>,
    data: &mut [u8],
) -> Result<()> {
    let mut c = init.map_err(|_| CryptoError::Internal("CBC IV setup"))?;
    let bs = C::block_size();
    for chunk in data.chunks_exact_mut(bs) {
        c.encrypt_block_mut(GenericArray::from_mut_slice(chunk));
    }
    Ok(())
}

fn rc_cbc_decrypt<C: BlockDecryptMut>(
    init: core::result::Result<C, cbc::cipher::InvalidLength>,
    data: &mut [u8],
) -> Result<()> {
    let mut c = init.map_err(|_| CryptoError::Internal("CBC IV setup"))?;
    let bs = C::block_size();
    for chunk in data.chunks_exact_mut(bs) {
        c.decrypt_block_mut(GenericArray::from_mut_slice(chunk));
    }
    Ok(())
}

/// An expanded AES-GCM-16 key with its salt (RFC 4106, RFC 5282).
pub struct AeadKey {
    cipher: Cipher,
    key: LessSafeKey,
    salt: [u8; GCM_SALT_LEN],
}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AeadKey")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl Drop for AeadKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.salt);
    }
}

impl AeadKey {
    /// The algorithm.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// Nonce = salt || explicit IV (RFC 4106 §4).
    fn nonce(&self, iv: &[u8; GCM_IV_LEN]) -> Nonce {
        let mut n = [0u8; 12];
        n[..GCM_SALT_LEN].copy_from_slice(&self.salt);
        n[GCM_SALT_LEN..].copy_from_slice(iv);
        Nonce::assume_unique_for_key(n)
    }

    /// Encrypts `data` in place and returns the 16-octet ICV. `iv` is the 8-octet explicit IV sent
    /// in the packet (must never repeat under one key: use the sequence number, RFC 4106 §3.1);
    /// `aad` is the ESP header (SPI, sequence number[, ESN high bits]; RFC 4106 §5) or the IKE
    /// header and payload header (RFC 5282 §5.1).
    pub fn seal_in_place(
        &self,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(iv), Aad::from(aad), data)
            .map_err(|_| CryptoError::Internal("AES-GCM seal"))?;
        let mut out = [0u8; GCM_TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Verifies `tag` and decrypts `data` in place. On [`CryptoError::IcvMismatch`] the contents of
    /// `data` are unspecified and must be discarded.
    pub fn open_in_place(
        &self,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<()> {
        if tag.len() != GCM_TAG_LEN {
            return Err(CryptoError::BadIcvLength {
                expected: GCM_TAG_LEN,
                got: tag.len(),
            });
        }
        self.key
            .open_in_place_separate_tag(self.nonce(iv), Aad::from(aad), tag, data)
            .map(|_| ())
            .map_err(|_| CryptoError::IcvMismatch)
    }
}
