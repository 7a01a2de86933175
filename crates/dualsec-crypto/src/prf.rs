//! Pseudorandom functions (RFC 7296 §2.13, RFC 4868 §2.1) and `prf+`.

use crate::error::{CryptoError, Result};
use crate::hash::{HashAlg, HmacKey};
use crate::registry::PrfId;
use crate::secret::Secret;

/// A supported PRF transform: HMAC over one of the [`HashAlg`]s.
///
/// Construct with [`Prf::new`] from a negotiated transform id, or use the constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prf {
    id: PrfId,
    hash: HashAlg,
}

impl Prf {
    /// PRF_HMAC_MD5 (RFC 2104).
    pub const HMAC_MD5: Prf = Prf {
        id: PrfId::HMAC_MD5,
        hash: HashAlg::Md5,
    };
    /// PRF_HMAC_SHA1 (RFC 2104).
    pub const HMAC_SHA1: Prf = Prf {
        id: PrfId::HMAC_SHA1,
        hash: HashAlg::Sha1,
    };
    /// PRF_HMAC_SHA2_256 (RFC 4868).
    pub const HMAC_SHA2_256: Prf = Prf {
        id: PrfId::HMAC_SHA2_256,
        hash: HashAlg::Sha256,
    };
    /// PRF_HMAC_SHA2_384 (RFC 4868).
    pub const HMAC_SHA2_384: Prf = Prf {
        id: PrfId::HMAC_SHA2_384,
        hash: HashAlg::Sha384,
    };
    /// PRF_HMAC_SHA2_512 (RFC 4868).
    pub const HMAC_SHA2_512: Prf = Prf {
        id: PrfId::HMAC_SHA2_512,
        hash: HashAlg::Sha512,
    };

    /// The PRF for a negotiated transform id.
    pub fn new(id: PrfId) -> Result<Prf> {
        Ok(match id {
            PrfId::HMAC_MD5 => Prf::HMAC_MD5,
            PrfId::HMAC_SHA1 => Prf::HMAC_SHA1,
            PrfId::HMAC_SHA2_256 => Prf::HMAC_SHA2_256,
            PrfId::HMAC_SHA2_384 => Prf::HMAC_SHA2_384,
            PrfId::HMAC_SHA2_512 => Prf::HMAC_SHA2_512,
            other => return Err(CryptoError::UnsupportedPrf(other)),
        })
    }

    /// The HMAC-based PRF over `hash`, as IKEv1 uses it (RFC 2409 §4: HMAC version of the
    /// negotiated hash).
    pub fn from_hash(hash: HashAlg) -> Prf {
        match hash {
            HashAlg::Md5 => Prf::HMAC_MD5,
            HashAlg::Sha1 => Prf::HMAC_SHA1,
            HashAlg::Sha256 => Prf::HMAC_SHA2_256,
            HashAlg::Sha384 => Prf::HMAC_SHA2_384,
            HashAlg::Sha512 => Prf::HMAC_SHA2_512,
        }
    }

    /// IANA transform id.
    pub fn id(self) -> PrfId {
        self.id
    }

    /// The underlying hash.
    pub fn hash(self) -> HashAlg {
        self.hash
    }

    /// Output length in octets; also the preferred key length (RFC 7296 §2.13, RFC 4868 §2.1.2:
    /// SK_d, SK_pi and SK_pr have this length).
    pub fn output_len(self) -> usize {
        self.hash.output_len()
    }

    /// `prf(key, parts[0] | parts[1] | …)`.
    pub fn compute(self, key: &[u8], parts: &[&[u8]]) -> Secret {
        Secret::from_slice(HmacKey::new(self.hash, key).sign(parts).as_ref())
    }

    /// Largest output `prf+` can give: 255 blocks (RFC 7296 §2.13).
    pub fn prf_plus_max_len(self) -> usize {
        255 * self.output_len()
    }

    /// `prf+(key, S)` truncated to `len` octets, with `S` the concatenation of `seed` (RFC 7296 §2.13):
    /// `T1 = prf(K, S | 0x01)`, `Tn = prf(K, Tn-1 | S | n)`.
    pub fn prf_plus(self, key: &[u8], seed: &[&[u8]], len: usize) -> Result<Secret> {
        if len > self.prf_plus_max_len() {
            return Err(CryptoError::PrfPlusTooLong {
                requested: len,
                max: self.prf_plus_max_len(),
            });
        }
        let key = HmacKey::new(self.hash, key);
        let mut out = Vec::with_capacity(len + self.output_len());
        let mut prev = crate::hash::Digest::from_slice(&[]);
        let mut counter: u8 = 1;
        while out.len() < len {
            let ctr = [counter];
            let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 2);
            parts.push(prev.as_ref());
            parts.extend_from_slice(seed);
            parts.push(&ctr);
            let t = key.sign(&parts);
            drop(parts);
            out.extend_from_slice(t.as_ref());
            prev = t;
            counter = counter.wrapping_add(1);
        }
        out.truncate(len);
        Ok(Secret::new(out))
    }
}
