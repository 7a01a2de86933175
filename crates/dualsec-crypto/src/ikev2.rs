//! IKEv2 key derivation (RFC 7296 §2.13–§2.18) and the PSK AUTH value (§2.15).
//!
//! ```text
//! SKEYSEED = prf(Ni | Nr, g^ir)                                       §2.14
//! {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//!          = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
//! SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)                    §2.18 (IKE SA rekey)
//! KEYMAT   = prf+(SK_d, [g^ir (new) |] Ni | Nr)                       §2.17 (CHILD SA)
//! AUTH     = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)   §2.15
//! ```

use crate::cipher::Cipher;
use crate::error::{CryptoError, Result};
use crate::integ::Integ;
use crate::prf::Prf;
use crate::secret::Secret;

/// The pad string of RFC 7296 §2.15.
pub const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// The algorithms of an IKE SA, which fix the lengths of its keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IkeSaSuite {
    /// Negotiated encryption (AEAD or CBC).
    pub cipher: Cipher,
    /// Negotiated integrity; `None` with an AEAD cipher (RFC 5282 §8).
    pub integ: Option<Integ>,
    /// Negotiated PRF.
    pub prf: Prf,
}

/// The seven IKE SA keys of RFC 7296 §2.14.
#[derive(Clone, Debug)]
pub struct IkeSaKeys {
    /// Derives CHILD SA keys and the next SKEYSEED.
    pub sk_d: Secret,
    /// Integrity key, initiator to responder (empty with AEAD).
    pub sk_ai: Secret,
    /// Integrity key, responder to initiator (empty with AEAD).
    pub sk_ar: Secret,
    /// Encryption key (with salt for AEAD), initiator to responder.
    pub sk_ei: Secret,
    /// Encryption key (with salt for AEAD), responder to initiator.
    pub sk_er: Secret,
    /// Key for the initiator's AUTH payload.
    pub sk_pi: Secret,
    /// Key for the responder's AUTH payload.
    pub sk_pr: Secret,
}

/// `SKEYSEED = prf(Ni | Nr, g^ir)` (RFC 7296 §2.14).
pub fn skeyseed(prf: Prf, ni: &[u8], nr: &[u8], g_ir: &[u8]) -> Secret {
    let mut key = Vec::with_capacity(ni.len() + nr.len());
    key.extend_from_slice(ni);
    key.extend_from_slice(nr);
    let key = Secret::new(key);
    prf.compute(key.as_bytes(), &[g_ir])
}

/// `SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)` for a rekeyed IKE SA (RFC 7296 §2.18).
/// `old_prf` is the PRF of the IKE SA being rekeyed; the new SA's keys then come from
/// [`derive_ike_sa_keys`] with the new SA's suite.
pub fn rekey_skeyseed(
    old_prf: Prf,
    old_sk_d: &[u8],
    g_ir_new: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Secret {
    old_prf.compute(old_sk_d, &[g_ir_new, ni, nr])
}

/// `{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)`
/// (RFC 7296 §2.14). SK_d, SK_pi and SK_pr are as long as the PRF output; SK_a* as the integrity
/// key; SK_e* as [`Cipher::keymat_len`] (key plus salt for AES-GCM, RFC 5282 §7.1).
pub fn derive_ike_sa_keys(
    suite: IkeSaSuite,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: &[u8; 8],
    spi_r: &[u8; 8],
) -> Result<IkeSaKeys> {
    let prf_len = suite.prf.output_len();
    let integ_len = suite.integ.map_or(0, Integ::key_len);
    let encr_len = suite.cipher.keymat_len();
    let total = 3 * prf_len + 2 * integ_len + 2 * encr_len;
    let mut stream = suite
        .prf
        .prf_plus(skeyseed, &[ni, nr, spi_i, spi_r], total)?;
    Ok(IkeSaKeys {
        sk_d: stream.take_front(prf_len),
        sk_ai: stream.take_front(integ_len),
        sk_ar: stream.take_front(integ_len),
        sk_ei: stream.take_front(encr_len),
        sk_er: stream.take_front(encr_len),
        sk_pi: stream.take_front(prf_len),
        sk_pr: stream.take_front(prf_len),
    })
}

/// The algorithms of a CHILD SA (ESP), which fix its KEYMAT length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildSaSuite {
    /// Negotiated encryption.
    pub cipher: Cipher,
    /// Negotiated integrity; `None` with an AEAD cipher.
    pub integ: Option<Integ>,
}

impl ChildSaSuite {
    /// Octets of KEYMAT per direction: encryption key then integrity key (RFC 7296 §2.17).
    pub fn keymat_len_per_direction(self) -> usize {
        self.cipher.keymat_len() + self.integ.map_or(0, Integ::key_len)
    }
}

/// The four CHILD SA keys, in the order RFC 7296 §2.17 takes them from KEYMAT.
#[derive(Clone, Debug)]
pub struct ChildSaKeys {
    /// Encryption key (with salt for AEAD) for the initiator-to-responder SA.
    pub encr_i: Secret,
    /// Integrity key for the initiator-to-responder SA (empty with AEAD).
    pub integ_i: Secret,
    /// Encryption key for the responder-to-initiator SA.
    pub encr_r: Secret,
    /// Integrity key for the responder-to-initiator SA.
    pub integ_r: Secret,
}

/// `KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)`, raw (RFC 7296 §2.17). `g_ir_new` is the
/// CREATE_CHILD_SA KE shared secret when PFS is used, `None` otherwise (and for the first CHILD
/// SA created by IKE_AUTH).
pub fn child_sa_keymat(
    prf: Prf,
    sk_d: &[u8],
    g_ir_new: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    len: usize,
) -> Result<Secret> {
    match g_ir_new {
        Some(g) => prf.prf_plus(sk_d, &[g, ni, nr], len),
        None => prf.prf_plus(sk_d, &[ni, nr], len),
    }
}

/// [`child_sa_keymat`] split into the four keys of a CHILD SA (RFC 7296 §2.17: all keys for the
/// initiator-to-responder SA first, encryption key before integrity key).
pub fn derive_child_sa_keys(
    prf: Prf,
    suite: ChildSaSuite,
    sk_d: &[u8],
    g_ir_new: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
) -> Result<ChildSaKeys> {
    let encr_len = suite.cipher.keymat_len();
    let integ_len = suite.integ.map_or(0, Integ::key_len);
    let mut stream = child_sa_keymat(prf, sk_d, g_ir_new, ni, nr, 2 * (encr_len + integ_len))?;
    Ok(ChildSaKeys {
        encr_i: stream.take_front(encr_len),
        integ_i: stream.take_front(integ_len),
        encr_r: stream.take_front(encr_len),
        integ_r: stream.take_front(integ_len),
    })
}

/// `MACedIDForI = prf(SK_pi, IDType | RESERVED | InitIDData)` (and `MACedIDForR` with SK_pr);
/// `id_payload_body` is the ID payload without its generic payload header (RFC 7296 §2.15).
pub fn maced_id(prf: Prf, sk_p: &[u8], id_payload_body: &[u8]) -> Secret {
    prf.compute(sk_p, &[id_payload_body])
}

/// `AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)` (RFC 7296 §2.15), with
/// `SignedOctets = RealMessage | Nonce of the peer | MACedID` given as its three parts.
pub fn psk_auth(
    prf: Prf,
    psk: &[u8],
    real_message: &[u8],
    peer_nonce: &[u8],
    maced_id: &[u8],
) -> Secret {
    let k = prf.compute(psk, &[KEY_PAD]);
    prf.compute(k.as_bytes(), &[real_message, peer_nonce, maced_id])
}

/// Checks a received PSK AUTH value in constant time (RFC 7296 §2.15).
pub fn verify_psk_auth(
    prf: Prf,
    psk: &[u8],
    real_message: &[u8],
    peer_nonce: &[u8],
    maced_id: &[u8],
    received: &[u8],
) -> Result<()> {
    let expected = psk_auth(prf, psk, real_message, peer_nonce, maced_id);
    if expected.ct_eq(received) {
        Ok(())
    } else {
        Err(CryptoError::IcvMismatch)
    }
}
