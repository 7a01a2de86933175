//! The product's algorithm names (SPEC.md R-TUN-3, R-TUN-4) and strongSwan proposal strings, in
//! one table.
//!
//! | product | strongSwan | transform |
//! |---|---|---|
//! | `aes` / `aes192` / `aes256` | `aes128` / `aes192` / `aes256` | ENCR_AES_CBC 128/192/256 |
//! | `des` / `3des` | `des` / `3des` | ENCR_DES / ENCR_3DES |
//! | `aes128gcm16` / — / `aes256gcm16` (dualsec extension) | `aes128gcm16` / `aes192gcm16` / `aes256gcm16` | ENCR_AES_GCM_16 |
//! | `md5` `sha1` `sha256` `sha384` `sha512` | same | AUTH_HMAC_* (and the PRF of the same hash) |
//! | — | `prfmd5` `prfsha1` `prfsha256` `prfsha384` `prfsha512` | PRF_HMAC_* |
//! | `group1` `group2` `group5` `group14` | `modp768` `modp1024` `modp1536` `modp2048` | MODP |
//! | — | `ecp256` `ecp384` `ecp521` `curve25519` | ECP / Curve25519 |
//! | `disabled` (phase 2 only) | (no DH token) | no PFS |

use crate::cipher::Cipher;
use crate::dh::DhGroup;
use crate::error::{CryptoError, Result};
use crate::hash::HashAlg;
use crate::integ::Integ;
use crate::prf::Prf;

/// One negotiable transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// Encryption.
    Encr(Cipher),
    /// Integrity (the product's "authentication").
    Integ(Integ),
    /// PRF.
    Prf(Prf),
    /// Diffie-Hellman group.
    Dh(DhGroup),
}

struct Entry {
    product: Option<&'static str>,
    strongswan: &'static str,
    transform: Transform,
}

const fn e(product: Option<&'static str>, strongswan: &'static str, transform: Transform) -> Entry {
    Entry {
        product,
        strongswan,
        transform,
    }
}

/// The one table of names. Product names are what the API accepts; strongSwan names are what the
/// peer-config generator and interop tests write.
static TABLE: &[Entry] = &[
    e(Some("aes"), "aes128", Transform::Encr(Cipher::AES128_CBC)),
    e(
        Some("aes192"),
        "aes192",
        Transform::Encr(Cipher::AES192_CBC),
    ),
    e(
        Some("aes256"),
        "aes256",
        Transform::Encr(Cipher::AES256_CBC),
    ),
    e(Some("des"), "des", Transform::Encr(Cipher::DES_CBC)),
    e(
        Some("3des"),
        "3des",
        Transform::Encr(Cipher::TRIPLE_DES_CBC),
    ),
    // dualsec's extension names for AES-GCM (not provider values): the strongSwan keywords.
    e(
        Some("aes128gcm16"),
        "aes128gcm16",
        Transform::Encr(Cipher::AES128_GCM16),
    ),
    e(None, "aes192gcm16", Transform::Encr(Cipher::AES192_GCM16)),
    e(
        Some("aes256gcm16"),
        "aes256gcm16",
        Transform::Encr(Cipher::AES256_GCM16),
    ),
    e(Some("md5"), "md5", Transform::Integ(Integ::HMAC_MD5_96)),
    e(Some("sha1"), "sha1", Transform::Integ(Integ::HMAC_SHA1_96)),
    e(
        Some("sha256"),
        "sha256",
        Transform::Integ(Integ::HMAC_SHA2_256_128),
    ),
    e(
        Some("sha384"),
        "sha384",
        Transform::Integ(Integ::HMAC_SHA2_384_192),
    ),
    e(
        Some("sha512"),
        "sha512",
        Transform::Integ(Integ::HMAC_SHA2_512_256),
    ),
    e(None, "prfmd5", Transform::Prf(Prf::HMAC_MD5)),
    e(None, "prfsha1", Transform::Prf(Prf::HMAC_SHA1)),
    e(None, "prfsha256", Transform::Prf(Prf::HMAC_SHA2_256)),
    e(None, "prfsha384", Transform::Prf(Prf::HMAC_SHA2_384)),
    e(None, "prfsha512", Transform::Prf(Prf::HMAC_SHA2_512)),
    e(Some("group1"), "modp768", Transform::Dh(DhGroup::MODP_768)),
    e(
        Some("group2"),
        "modp1024",
        Transform::Dh(DhGroup::MODP_1024),
    ),
    e(
        Some("group5"),
        "modp1536",
        Transform::Dh(DhGroup::MODP_1536),
    ),
    e(
        Some("group14"),
        "modp2048",
        Transform::Dh(DhGroup::MODP_2048),
    ),
    e(None, "ecp256", Transform::Dh(DhGroup::ECP_256)),
    e(None, "ecp384", Transform::Dh(DhGroup::ECP_384)),
    e(None, "ecp521", Transform::Dh(DhGroup::ECP_521)),
    e(None, "curve25519", Transform::Dh(DhGroup::CURVE25519)),
];

/// The product name for "no PFS" in phase 2 (R-TUN-4).
pub const DH_DISABLED: &str = "disabled";

fn by_product(name: &str) -> Option<Transform> {
    TABLE
        .iter()
        .find(|e| e.product == Some(name))
        .map(|e| e.transform)
}

fn unknown(kind: &'static str, name: &str) -> CryptoError {
    CryptoError::UnknownName {
        kind,
        name: name.to_owned(),
    }
}

/// Product encryption name (`aes`, `aes192`, `aes256`, `des`, `3des`) to cipher (R-TUN-3).
pub fn encryption(name: &str) -> Result<Cipher> {
    match by_product(name) {
        Some(Transform::Encr(c)) => Ok(c),
        _ => Err(unknown("encryption", name)),
    }
}

/// What the product's "authentication" name selects: the integrity algorithm, and the PRF and
/// IKEv1 hash of the same hash function (R-TUN-3: "where a device asks for a PRF, it equals the
/// authentication algorithm").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// IKEv2 / ESP integrity transform.
    pub integ: Integ,
    /// IKEv2 PRF transform.
    pub prf: Prf,
    /// IKEv1 phase-1 hash.
    pub hash: HashAlg,
}

/// Product authentication name (`md5`, `sha1`, `sha256`, `sha384`, `sha512`).
pub fn authentication(name: &str) -> Result<Authentication> {
    match by_product(name) {
        Some(Transform::Integ(integ)) => Ok(Authentication {
            integ,
            prf: Prf::from_hash(integ.hash()),
            hash: integ.hash(),
        }),
        _ => Err(unknown("authentication", name)),
    }
}

/// Product DH group name (`group1`, `group2`, `group5`, `group14`, and `disabled` = `None`).
/// Phase 1 must reject `None` itself (R-TUN-3 has no `disabled`).
pub fn dh_group(name: &str) -> Result<Option<DhGroup>> {
    if name == DH_DISABLED {
        return Ok(None);
    }
    match by_product(name) {
        Some(Transform::Dh(g)) => Ok(Some(g)),
        _ => Err(unknown("dh group", name)),
    }
}

/// The product name of a transform, if it has one (`aes`, `sha1`, `group2` …).
pub fn product_name(t: Transform) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|e| e.transform == t)
        .and_then(|e| e.product)
}

/// The strongSwan proposal keyword of a transform (`aes128`, `sha1`, `prfsha384`, `ecp256` …).
pub fn strongswan_name(t: Transform) -> &'static str {
    TABLE
        .iter()
        .find(|e| e.transform == t)
        .map_or("?", |e| e.strongswan)
}

/// One proposal: what a single strongSwan `ike=`/`esp=` entry or a product configuration selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    /// Encryption.
    pub cipher: Cipher,
    /// Integrity; `None` with AEAD.
    pub integ: Option<Integ>,
    /// PRF (IKE only). `None` means "same hash as the integrity algorithm" (strongSwan's rule).
    pub prf: Option<Prf>,
    /// DH group; for ESP, `None` means no PFS.
    pub dh: Option<DhGroup>,
}

impl Suite {
    /// The suite of the product's settings (R-TUN-3 / R-TUN-4): names as the API takes them.
    pub fn from_product(
        encryption_name: &str,
        authentication_name: &str,
        dh_name: &str,
    ) -> Result<Suite> {
        let cipher = encryption(encryption_name)?;
        let auth = authentication(authentication_name)?;
        // An AEAD cipher (the `aes128gcm16` extension) has no integrity transform; the
        // authentication setting then selects only the IKE PRF (RFC 5282 §8).
        let (integ, prf) = if cipher.is_aead() {
            (None, Some(auth.prf))
        } else {
            (Some(auth.integ), None)
        };
        Ok(Suite {
            cipher,
            integ,
            prf,
            dh: dh_group(dh_name)?,
        })
    }

    /// The PRF an IKE SA with this suite uses: the explicit one, else the integrity's hash.
    pub fn ike_prf(&self) -> Option<Prf> {
        self.prf
            .or_else(|| self.integ.map(|i| Prf::from_hash(i.hash())))
    }

    fn tokens(&self, with_prf: bool) -> Vec<&'static str> {
        let mut t = vec![strongswan_name(Transform::Encr(self.cipher))];
        if let Some(i) = self.integ {
            t.push(strongswan_name(Transform::Integ(i)));
        }
        if with_prf {
            let implied = self.integ.map(|i| Prf::from_hash(i.hash()));
            if let Some(p) = self.prf.filter(|p| Some(*p) != implied) {
                t.push(strongswan_name(Transform::Prf(p)));
            }
        }
        if let Some(g) = self.dh {
            t.push(strongswan_name(Transform::Dh(g)));
        }
        t
    }

    /// strongSwan `ike=` proposal, e.g. `aes128-sha1-modp1024` or `aes128gcm16-prfsha256-ecp256`.
    /// The PRF is written only when it differs from the integrity's hash (strongSwan derives it).
    pub fn to_strongswan_ike(&self) -> String {
        self.tokens(true).join("-")
    }

    /// strongSwan `esp=` proposal: `aes128-sha1-modp1024` with PFS, `aes128-sha1` without.
    pub fn to_strongswan_esp(&self) -> String {
        self.tokens(false).join("-")
    }

    /// Parses one strongSwan proposal (`aes256-sha256-prfsha384-ecp384`, `aes128gcm16-curve25519`).
    /// Each token must be a known keyword; at most one of each kind; exactly one cipher.
    pub fn parse_strongswan(proposal: &str) -> Result<Suite> {
        let bad = || unknown("proposal", proposal);
        let (mut cipher, mut integ, mut prf, mut dh) = (None, None, None, None);
        for tok in proposal.split('-') {
            let entry = TABLE
                .iter()
                .find(|e| e.strongswan == tok)
                .ok_or_else(|| unknown("proposal keyword", tok))?;
            let slot_was_empty = match entry.transform {
                Transform::Encr(c) => cipher.replace(c).is_none(),
                Transform::Integ(i) => integ.replace(i).is_none(),
                Transform::Prf(p) => prf.replace(p).is_none(),
                Transform::Dh(g) => dh.replace(g).is_none(),
            };
            if !slot_was_empty {
                return Err(bad());
            }
        }
        let cipher = cipher.ok_or_else(bad)?;
        if cipher.is_aead() == integ.is_some() {
            // AEAD takes no integrity; CBC needs one.
            return Err(bad());
        }
        Ok(Suite {
            cipher,
            integ,
            prf,
            dh,
        })
    }
}
