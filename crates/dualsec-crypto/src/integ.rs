//! Integrity algorithms: truncated HMAC (RFC 2403, RFC 2404, RFC 4868 §2.2).

use subtle::ConstantTimeEq;

use crate::error::{CryptoError, Result};
use crate::hash::{Digest, HashAlg, HmacKey};
use crate::registry::IntegId;

/// A supported integrity transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Integ {
    id: IntegId,
    hash: HashAlg,
    icv_len: u8,
}

impl Integ {
    /// AUTH_HMAC_MD5_96 (RFC 2403): 16-octet key, 12-octet ICV.
    pub const HMAC_MD5_96: Integ = Integ {
        id: IntegId::HMAC_MD5_96,
        hash: HashAlg::Md5,
        icv_len: 12,
    };
    /// AUTH_HMAC_SHA1_96 (RFC 2404): 20-octet key, 12-octet ICV.
    pub const HMAC_SHA1_96: Integ = Integ {
        id: IntegId::HMAC_SHA1_96,
        hash: HashAlg::Sha1,
        icv_len: 12,
    };
    /// AUTH_HMAC_SHA2_256_128 (RFC 4868): 32-octet key, 16-octet ICV.
    pub const HMAC_SHA2_256_128: Integ = Integ {
        id: IntegId::HMAC_SHA2_256_128,
        hash: HashAlg::Sha256,
        icv_len: 16,
    };
    /// AUTH_HMAC_SHA2_384_192 (RFC 4868): 48-octet key, 24-octet ICV.
    pub const HMAC_SHA2_384_192: Integ = Integ {
        id: IntegId::HMAC_SHA2_384_192,
        hash: HashAlg::Sha384,
        icv_len: 24,
    };
    /// AUTH_HMAC_SHA2_512_256 (RFC 4868): 64-octet key, 32-octet ICV.
    pub const HMAC_SHA2_512_256: Integ = Integ {
        id: IntegId::HMAC_SHA2_512_256,
        hash: HashAlg::Sha512,
        icv_len: 32,
    };

    /// The integrity algorithm for a negotiated transform id. `IntegId::NONE` is not an
    /// algorithm: callers model "no integrity" (AEAD) as `Option<Integ>::None`.
    pub fn new(id: IntegId) -> Result<Integ> {
        Ok(match id {
            IntegId::HMAC_MD5_96 => Integ::HMAC_MD5_96,
            IntegId::HMAC_SHA1_96 => Integ::HMAC_SHA1_96,
            IntegId::HMAC_SHA2_256_128 => Integ::HMAC_SHA2_256_128,
            IntegId::HMAC_SHA2_384_192 => Integ::HMAC_SHA2_384_192,
            IntegId::HMAC_SHA2_512_256 => Integ::HMAC_SHA2_512_256,
            other => return Err(CryptoError::UnsupportedInteg(other)),
        })
    }

    /// IANA transform id.
    pub fn id(self) -> IntegId {
        self.id
    }

    /// The underlying hash.
    pub fn hash(self) -> HashAlg {
        self.hash
    }

    /// Key length in octets (= hash output length for every HMAC transform here; RFC 4868 §2.1.1).
    pub fn key_len(self) -> usize {
        self.hash.output_len()
    }

    /// Truncated ICV length in octets (12, 12, 16, 24, 32).
    pub fn icv_len(self) -> usize {
        usize::from(self.icv_len)
    }

    /// Expands `key` once for per-packet use. The key must be exactly [`Integ::key_len`] octets.
    pub fn key(self, key: &[u8]) -> Result<IntegKey> {
        if key.len() != self.key_len() {
            return Err(CryptoError::BadKeyLength {
                what: "integrity",
                expected: self.key_len(),
                got: key.len(),
            });
        }
        Ok(IntegKey {
            integ: self,
            key: HmacKey::new(self.hash, key),
        })
    }
}

/// A truncated ICV, on the stack.
pub type Icv = Digest;

/// An expanded integrity key: compute and verify ICVs without allocating.
#[derive(Clone, Debug)]
pub struct IntegKey {
    integ: Integ,
    key: HmacKey,
}

impl IntegKey {
    /// The algorithm.
    pub fn integ(&self) -> Integ {
        self.integ
    }

    /// Truncated ICV over the concatenation of `parts` (e.g. ESP header..trailer, then the
    /// high-order ESN bits, RFC 4303 §3.3.2.1).
    pub fn compute(&self, parts: &[&[u8]]) -> Icv {
        self.key.sign(parts).truncate(self.integ.icv_len())
    }

    /// Writes the ICV into `out`, which must be exactly [`Integ::icv_len`] octets.
    pub fn compute_into(&self, parts: &[&[u8]], out: &mut [u8]) -> Result<()> {
        if out.len() != self.integ.icv_len() {
            return Err(CryptoError::BadIcvLength {
                expected: self.integ.icv_len(),
                got: out.len(),
            });
        }
        out.copy_from_slice(self.compute(parts).as_ref());
        Ok(())
    }

    /// Verifies `icv` in constant time. A wrong length is [`CryptoError::BadIcvLength`], a wrong
    /// value [`CryptoError::IcvMismatch`].
    pub fn verify(&self, parts: &[&[u8]], icv: &[u8]) -> Result<()> {
        if icv.len() != self.integ.icv_len() {
            return Err(CryptoError::BadIcvLength {
                expected: self.integ.icv_len(),
                got: icv.len(),
            });
        }
        let expected = self.compute(parts);
        if bool::from(expected.as_ref().ct_eq(icv)) {
            Ok(())
        } else {
            Err(CryptoError::IcvMismatch)
        }
    }
}
