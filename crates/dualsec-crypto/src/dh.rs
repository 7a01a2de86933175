//! Diffie-Hellman key exchange for IKE (RFC 7296 §1.2, §3.4).
//!
//! * MODP groups 1, 2 (RFC 2409 §6), 5, 14 (RFC 3526) with constant-time `crypto-bigint`
//!   modular exponentiation. Public values and shared secrets are left-padded to the prime's
//!   length (RFC 7296 §3.4, §2.14).
//! * ECP groups 19, 20, 21 (RFC 5903) via aws-lc-rs. IKE carries the public value as `x || y`
//!   without the SEC1 `0x04` prefix, and the shared secret is the x coordinate (RFC 5903 §7, §9).
//! * Curve25519, group 31 (RFC 8031) via aws-lc-rs X25519.
//!
//! Private keys are drawn from the caller's RNG so tests are deterministic.

use std::sync::OnceLock;

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use rand_core::CryptoRngCore;
use subtle::ConstantTimeLess;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CryptoError, Result};
use crate::registry::DhId;
use crate::secret::Secret;

/// A supported Diffie-Hellman group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DhGroup {
    id: DhId,
}

#[derive(Clone, Copy)]
enum Kind {
    Modp(&'static ModpGroup),
    Ec(&'static agreement::Algorithm, usize),
    X25519,
}

impl DhGroup {
    /// 768-bit MODP, RFC 2409 §6.1. Product name `group1`.
    pub const MODP_768: DhGroup = DhGroup { id: DhId::MODP_768 };
    /// 1024-bit MODP, RFC 2409 §6.2. Product name `group2`.
    pub const MODP_1024: DhGroup = DhGroup {
        id: DhId::MODP_1024,
    };
    /// 1536-bit MODP, RFC 3526 §2. Product name `group5`.
    pub const MODP_1536: DhGroup = DhGroup {
        id: DhId::MODP_1536,
    };
    /// 2048-bit MODP, RFC 3526 §3. Product name `group14`.
    pub const MODP_2048: DhGroup = DhGroup {
        id: DhId::MODP_2048,
    };
    /// NIST P-256, RFC 5903 (strongSwan `ecp256`).
    pub const ECP_256: DhGroup = DhGroup { id: DhId::ECP_256 };
    /// NIST P-384, RFC 5903 (strongSwan `ecp384`).
    pub const ECP_384: DhGroup = DhGroup { id: DhId::ECP_384 };
    /// NIST P-521, RFC 5903 (strongSwan `ecp521`).
    pub const ECP_521: DhGroup = DhGroup { id: DhId::ECP_521 };
    /// Curve25519, RFC 8031 (strongSwan `curve25519`).
    pub const CURVE25519: DhGroup = DhGroup {
        id: DhId::CURVE25519,
    };

    /// The group for a negotiated transform id. `DhId::NONE` is not a group: callers model
    /// "no PFS" as `Option<DhGroup>::None`.
    pub fn new(id: DhId) -> Result<DhGroup> {
        match id {
            DhId::MODP_768
            | DhId::MODP_1024
            | DhId::MODP_1536
            | DhId::MODP_2048
            | DhId::ECP_256
            | DhId::ECP_384
            | DhId::ECP_521
            | DhId::CURVE25519 => Ok(DhGroup { id }),
            other => Err(CryptoError::UnsupportedDh(other)),
        }
    }

    /// IANA transform id (also the IKEv1 Group Description value for groups 1, 2, 5, 14).
    pub fn id(self) -> DhId {
        self.id
    }

    fn kind(self) -> Kind {
        match self.id {
            DhId::MODP_768 => Kind::Modp(&MODP_768),
            DhId::MODP_1024 => Kind::Modp(&MODP_1024),
            DhId::MODP_1536 => Kind::Modp(&MODP_1536),
            DhId::MODP_2048 => Kind::Modp(&MODP_2048),
            DhId::ECP_256 => Kind::Ec(&agreement::ECDH_P256, 32),
            DhId::ECP_384 => Kind::Ec(&agreement::ECDH_P384, 48),
            DhId::ECP_521 => Kind::Ec(&agreement::ECDH_P521, 66),
            // `new` admits no other id.
            _ => Kind::X25519,
        }
    }

    /// Length of the Key Exchange Data in a KE payload (RFC 7296 §3.4): prime length for MODP,
    /// `2 * coordinate` for ECP (RFC 5903 §7), 32 for Curve25519 (RFC 8031 §3.1).
    pub fn public_len(self) -> usize {
        match self.kind() {
            Kind::Modp(g) => g.len,
            Kind::Ec(_, c) => 2 * c,
            Kind::X25519 => 32,
        }
    }

    /// Length of the shared secret `g^ir`.
    pub fn shared_secret_len(self) -> usize {
        match self.kind() {
            Kind::Modp(g) => g.len,
            Kind::Ec(_, c) => c,
            Kind::X25519 => 32,
        }
    }

    /// Whether this is one of the MODP groups.
    pub fn is_modp(self) -> bool {
        matches!(self.kind(), Kind::Modp(_))
    }
}

/// Our half of one key exchange: a private key and its public value.
pub struct DhPrivate {
    group: DhGroup,
    public: Vec<u8>,
    key: KeyInner,
}

enum KeyInner {
    /// The exponent and an upper bound on its bit length (public: it only says how the key was
    /// made, and bounds the constant-time exponentiation loop).
    Modp(Zeroizing<BoxedUint>, u32),
    Lc(PrivateKey),
}

impl core::fmt::Debug for DhPrivate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DhPrivate")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl DhPrivate {
    /// Generates a private key for `group` from `rng`.
    pub fn generate(group: DhGroup, rng: &mut dyn CryptoRngCore) -> Result<DhPrivate> {
        match group.kind() {
            Kind::Modp(g) => {
                // RFC 3526 §8: an exponent of twice the group's strength suffices with these safe
                // primes; 512 bits covers every MODP group here (at most ~160-bit strength) and
                // makes group 14 four times faster than a full-length exponent.
                let mut bytes = Zeroizing::new(vec![0u8; g.len]);
                let start = g.len - MODP_EXPONENT_BITS as usize / 8;
                loop {
                    rng.fill_bytes(&mut bytes[start..]);
                    let x = g.decode(&bytes)?;
                    if bool::from(
                        x.ct_lt(&BoxedUint::from(2u64).widen(g.params().bits_precision())),
                    ) {
                        continue;
                    }
                    return DhPrivate::from_modp(group, g, x, MODP_EXPONENT_BITS);
                }
            }
            Kind::Ec(alg, c) => {
                let mut bytes = Zeroizing::new(vec![0u8; c]);
                // A scalar out of [1, n-1] is rejected by aws-lc; the chance is ~2^-32 at worst
                // (P-256), so a few tries always suffice.
                for _ in 0..64 {
                    rng.fill_bytes(&mut bytes);
                    if c == 66 {
                        bytes[0] &= 0x01; // P-521 scalars are 521 bits
                    }
                    if let Ok(k) = PrivateKey::from_private_key(alg, &bytes) {
                        return DhPrivate::from_lc(group, k);
                    }
                }
                Err(CryptoError::Internal("EC private key generation"))
            }
            Kind::X25519 => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(bytes.as_mut());
                let k = PrivateKey::from_private_key(&agreement::X25519, bytes.as_ref())
                    .map_err(|_| CryptoError::Internal("X25519 private key"))?;
                DhPrivate::from_lc(group, k)
            }
        }
    }

    /// Builds a private key from its encoding: big-endian exponent (MODP, at most the prime
    /// length), big-endian scalar of the coordinate length (ECP), or the 32-octet X25519 scalar.
    /// For known-answer tests and for IKE implementations that must reuse a fixed key.
    pub fn from_private_bytes(group: DhGroup, bytes: &[u8]) -> Result<DhPrivate> {
        match group.kind() {
            Kind::Modp(g) => {
                if bytes.len() > g.len {
                    return Err(CryptoError::BadKeyLength {
                        what: "MODP exponent",
                        expected: g.len,
                        got: bytes.len(),
                    });
                }
                let mut padded = Zeroizing::new(vec![0u8; g.len]);
                padded[g.len - bytes.len()..].copy_from_slice(bytes);
                let x = g.decode(&padded)?;
                DhPrivate::from_modp(group, g, x, (bytes.len() * 8) as u32)
            }
            Kind::Ec(alg, c) => {
                let k = PrivateKey::from_private_key(alg, bytes).map_err(|_| {
                    CryptoError::BadKeyLength {
                        what: "EC private key",
                        expected: c,
                        got: bytes.len(),
                    }
                })?;
                DhPrivate::from_lc(group, k)
            }
            Kind::X25519 => {
                let k = PrivateKey::from_private_key(&agreement::X25519, bytes).map_err(|_| {
                    CryptoError::BadKeyLength {
                        what: "X25519 private key",
                        expected: 32,
                        got: bytes.len(),
                    }
                })?;
                DhPrivate::from_lc(group, k)
            }
        }
    }

    fn from_modp(
        group: DhGroup,
        g: &'static ModpGroup,
        x: BoxedUint,
        exp_bits: u32,
    ) -> Result<DhPrivate> {
        let x = Zeroizing::new(x);
        let base = BoxedMontyForm::new(
            BoxedUint::from(2u64).widen(g.params().bits_precision()),
            g.params().clone(),
        );
        let y = base.pow_bounded_exp(&x, exp_bits).retrieve();
        Ok(DhPrivate {
            group,
            public: g.encode(&y),
            key: KeyInner::Modp(x, exp_bits),
        })
    }

    fn from_lc(group: DhGroup, k: PrivateKey) -> Result<DhPrivate> {
        let public = k
            .compute_public_key()
            .map_err(|_| CryptoError::Internal("public key"))?;
        let bytes = public.as_ref();
        let public = match group.kind() {
            // Drop the SEC1 uncompressed-point prefix (RFC 5903 §7).
            Kind::Ec(..) => bytes.get(1..).unwrap_or_default().to_vec(),
            _ => bytes.to_vec(),
        };
        if public.len() != group.public_len() {
            return Err(CryptoError::Internal("unexpected public key encoding"));
        }
        Ok(DhPrivate {
            group,
            public,
            key: KeyInner::Lc(k),
        })
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// Our public value as carried in the KE payload's Key Exchange Data.
    pub fn public_value(&self) -> &[u8] {
        &self.public
    }

    /// Computes the shared secret `g^ir` from the peer's Key Exchange Data.
    ///
    /// The peer value is checked: exact length for the group, `1 < y < p-1` for MODP, a point on
    /// the curve for ECP (aws-lc), and a non-zero result for Curve25519 (RFC 8031 §2.3).
    pub fn agree(&self, peer_public: &[u8]) -> Result<Secret> {
        let group = self.group;
        if peer_public.len() != group.public_len() {
            return Err(CryptoError::InvalidPeerPublicValue {
                group: group.id,
                reason: "wrong length for group",
            });
        }
        match (&self.key, group.kind()) {
            (KeyInner::Modp(x, exp_bits), Kind::Modp(g)) => {
                let y = g.decode(peer_public)?;
                let bits = g.params().bits_precision();
                let one = BoxedUint::one_with_precision(bits);
                let p_minus_1 = g.params().modulus().wrapping_sub(&one);
                // RFC 7296 §3.4 / NIST SP 800-56A: reject 0, 1, p-1 and anything >= p.
                if !bool::from(one.ct_lt(&y)) || !bool::from(y.ct_lt(&p_minus_1)) {
                    return Err(CryptoError::InvalidPeerPublicValue {
                        group: group.id,
                        reason: "public value not in range 1 < y < p-1",
                    });
                }
                // g^xy is secret in every form it takes here: wipe each on drop.
                let z_monty = Zeroizing::new(
                    BoxedMontyForm::new(y, g.params().clone()).pow_bounded_exp(x, *exp_bits),
                );
                let z = Zeroizing::new(z_monty.retrieve());
                Ok(Secret::new(g.encode(&z)))
            }
            (KeyInner::Lc(k), Kind::Ec(alg, c)) => {
                let mut buf = [0u8; 1 + 2 * 66];
                buf[0] = 0x04;
                buf[1..=2 * c].copy_from_slice(peer_public);
                let peer = UnparsedPublicKey::new(alg, &buf[..=2 * c]);
                agreement::agree(
                    k,
                    peer,
                    CryptoError::InvalidPeerPublicValue {
                        group: group.id,
                        reason: "not a point on the curve",
                    },
                    |z| Ok(Secret::from_slice(z)),
                )
            }
            (KeyInner::Lc(k), Kind::X25519) => {
                let peer = UnparsedPublicKey::new(&agreement::X25519, peer_public);
                let err = CryptoError::InvalidPeerPublicValue {
                    group: group.id,
                    reason: "low-order point",
                };
                let s = agreement::agree(k, peer, err.clone(), |z| Ok(Secret::from_slice(z)))?;
                // RFC 8031 §2.3: an all-zero result means a low-order peer point.
                if s.ct_eq(&[0u8; 32]) {
                    return Err(err);
                }
                Ok(s)
            }
            _ => Err(CryptoError::Internal("private key does not match group")),
        }
    }
}

/// Bit length of generated MODP private exponents.
pub const MODP_EXPONENT_BITS: u32 = 512;

/// A MODP group: the prime and its Montgomery parameters (generator 2 for all of them).
struct ModpGroup {
    hex: &'static str,
    len: usize,
    params: OnceLock<BoxedMontyParams>,
}

impl ModpGroup {
    fn params(&self) -> &BoxedMontyParams {
        self.params.get_or_init(|| {
            let p = BoxedUint::from_be_slice(&hex_to_bytes(self.hex), (self.len * 8) as u32)
                .unwrap_or_else(|_| unreachable!("built-in prime fits its length"));
            BoxedMontyParams::new(
                Odd::new(p)
                    .into_option()
                    .unwrap_or_else(|| unreachable!("MODP primes are odd")),
            )
        })
    }

    /// Big-endian bytes (exactly `len` of them) to an integer with the prime's precision.
    fn decode(&self, bytes: &[u8]) -> Result<BoxedUint> {
        BoxedUint::from_be_slice(bytes, self.params().bits_precision())
            .map_err(|_| CryptoError::Internal("MODP integer decoding"))
    }

    /// Integer to big-endian bytes left-padded to the prime's length (RFC 7296 §2.14).
    fn encode(&self, v: &BoxedUint) -> Vec<u8> {
        let mut raw = v.to_be_bytes().into_vec();
        let out = if raw.len() >= self.len {
            raw[raw.len() - self.len..].to_vec()
        } else {
            let mut o = vec![0u8; self.len - raw.len()];
            o.extend_from_slice(&raw);
            o
        };
        raw.zeroize();
        out
    }
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let nib = |c: u8| match c {
                b'0'..=b'9' => c - b'0',
                b'A'..=b'F' => c - b'A' + 10,
                b'a'..=b'f' => c - b'a' + 10,
                _ => 0,
            };
            (nib(pair[0]) << 4) | nib(pair[1])
        })
        .collect()
}

// The primes are 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) * pi) + k); the test
// `modp_primes_match_their_pi_formula` recomputes them independently.

/// RFC 2409 §6.1, First Oakley Group.
static MODP_768: ModpGroup = ModpGroup {
    hex: "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD\
          EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF",
    len: 96,
    params: OnceLock::new(),
};

/// RFC 2409 §6.2, Second Oakley Group.
static MODP_1024: ModpGroup = ModpGroup {
    hex: "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD\
          EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
          EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    len: 128,
    params: OnceLock::new(),
};

/// RFC 3526 §2, 1536-bit MODP Group.
static MODP_1536: ModpGroup = ModpGroup {
    hex: "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD\
          EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
          EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F\
          83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF",
    len: 192,
    params: OnceLock::new(),
};

/// RFC 3526 §3, 2048-bit MODP Group.
static MODP_2048: ModpGroup = ModpGroup {
    hex: "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD\
          EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
          EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F\
          83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B\
          E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510\
          15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    len: 256,
    params: OnceLock::new(),
};

/// The prime of a MODP group, big-endian (for tests and diagnostics).
pub fn modp_prime(group: DhGroup) -> Option<Vec<u8>> {
    match group.kind() {
        Kind::Modp(g) => Some(hex_to_bytes(g.hex)),
        _ => None,
    }
}
