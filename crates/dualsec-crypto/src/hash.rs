//! Hash functions and keyed HMAC, the engine under [`crate::Prf`] and [`crate::Integ`].
//!
//! SHA-1 and SHA-2 come from aws-lc-rs; MD5 (absent there) from RustCrypto `md-5` + `hmac`.

use aws_lc_rs::{digest, hmac as awshmac};
use hmac::Mac;

/// A hash function. IKEv1 (RFC 2409) negotiates it as the Hash Algorithm attribute and uses it
/// bare for the phase-1 IV and under HMAC as the PRF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// MD5 (RFC 1321); legacy, offered because the product allows `md5`.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// Largest digest we produce (SHA-512).
pub const MAX_DIGEST_LEN: usize = 64;

/// A digest or untruncated HMAC output held on the stack (no allocation per packet).
#[derive(Clone)]
pub struct Digest {
    buf: [u8; MAX_DIGEST_LEN],
    len: usize,
}

impl Digest {
    pub(crate) fn from_slice(s: &[u8]) -> Self {
        let mut buf = [0u8; MAX_DIGEST_LEN];
        let len = s.len().min(MAX_DIGEST_LEN);
        buf[..len].copy_from_slice(&s[..len]);
        Digest { buf, len }
    }
    pub(crate) fn truncate(mut self, len: usize) -> Self {
        self.len = self.len.min(len);
        self
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl core::fmt::Debug for Digest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Digest({} octets)", self.len)
    }
}

impl Drop for Digest {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf);
    }
}

impl HashAlg {
    /// Digest length in octets.
    pub const fn output_len(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    fn aws_digest(self) -> Option<&'static digest::Algorithm> {
        match self {
            HashAlg::Md5 => None,
            HashAlg::Sha1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
            HashAlg::Sha256 => Some(&digest::SHA256),
            HashAlg::Sha384 => Some(&digest::SHA384),
            HashAlg::Sha512 => Some(&digest::SHA512),
        }
    }

    fn aws_hmac(self) -> Option<awshmac::Algorithm> {
        match self {
            HashAlg::Md5 => None,
            HashAlg::Sha1 => Some(awshmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            HashAlg::Sha256 => Some(awshmac::HMAC_SHA256),
            HashAlg::Sha384 => Some(awshmac::HMAC_SHA384),
            HashAlg::Sha512 => Some(awshmac::HMAC_SHA512),
        }
    }

    /// Hash of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Digest {
        match self.aws_digest() {
            Some(alg) => {
                let mut ctx = digest::Context::new(alg);
                for p in parts {
                    ctx.update(p);
                }
                Digest::from_slice(ctx.finish().as_ref())
            }
            None => {
                use md5::Digest as _;
                let mut h = md5::Md5::new();
                for p in parts {
                    h.update(p);
                }
                Digest::from_slice(&h.finalize())
            }
        }
    }

    /// HMAC (RFC 2104) of the concatenation of `parts` under `key`, untruncated.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Digest {
        HmacKey::new(self, key).sign(parts)
    }
}

/// An HMAC key expanded once (inner/outer pads precomputed) for repeated use.
// Inline on purpose: an IntegKey is built once per SA and read on every packet.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum HmacKey {
    Aws(awshmac::Key),
    Md5(hmac::Hmac<md5::Md5>),
}

impl core::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HmacKey::Aws(k) => write!(f, "HmacKey({:?})", k.algorithm()),
            HmacKey::Md5(_) => f.write_str("HmacKey(HMAC-MD5)"),
        }
    }
}

impl HmacKey {
    pub(crate) fn new(hash: HashAlg, key: &[u8]) -> Self {
        match hash.aws_hmac() {
            Some(alg) => HmacKey::Aws(awshmac::Key::new(alg, key)),
            // HMAC accepts keys of any length (RFC 2104 §2), so this cannot fail.
            None => HmacKey::Md5(
                <hmac::Hmac<md5::Md5> as hmac::digest::KeyInit>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            ),
        }
    }

    pub(crate) fn sign(&self, parts: &[&[u8]]) -> Digest {
        match self {
            HmacKey::Aws(key) => {
                let mut ctx = awshmac::Context::with_key(key);
                for p in parts {
                    ctx.update(p);
                }
                Digest::from_slice(ctx.sign().as_ref())
            }
            HmacKey::Md5(mac) => {
                let mut mac = mac.clone();
                for p in parts {
                    mac.update(p);
                }
                Digest::from_slice(&mac.finalize().into_bytes())
            }
        }
    }
}
