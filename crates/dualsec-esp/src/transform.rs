//! The SA's expanded keys and the per-packet crypto over the ESP layout (RFC 4303 §3.3.2,
//! RFC 4106 §3–5). Primitives come from `dualsec-crypto`; this module only decides which bytes
//! go where.
//!
//! Layout handled here: `[header 8][IV][ciphertext ct_len][ICV]`.

use dualsec_crypto::cipher::{AeadKey, CbcKey, Cipher, CipherKey, GCM_IV_LEN, GCM_SALT_LEN};
use dualsec_crypto::integ::{Integ, IntegKey};
use dualsec_crypto::{EncrId, IntegId};
use rand_core::CryptoRngCore;

use crate::wire::HEADER_LEN;

enum Kind {
    // Boxed: expanded HMAC keys are large, and SAs move when the SA table grows.
    Cbc(Box<(CbcKey, IntegKey)>),
    Aead(AeadKey),
}

/// Expanded keys of one SA.
pub(crate) struct Transform {
    kind: Kind,
    iv_len: usize,
    icv_len: usize,
    pad_align: usize,
}

impl core::fmt::Debug for Transform {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match &self.kind {
            Kind::Cbc(b) => format!("{:?}+{:?}", b.0.cipher(), b.1.integ().id()),
            Kind::Aead(k) => format!("{:?}", k.cipher()),
        };
        f.debug_struct("Transform")
            .field("alg", &name)
            .finish_non_exhaustive()
    }
}

impl Transform {
    /// Expands keys once per SA. The key length selects AES-128/192/256.
    pub(crate) fn new(
        encr: EncrId,
        encr_key: &[u8],
        integ: IntegId,
        integ_key: &[u8],
    ) -> Result<Self, String> {
        let key_bits = match encr {
            EncrId::AES_CBC => Some(encr_key.len() * 8),
            EncrId::AES_GCM_16 => Some(encr_key.len().saturating_sub(GCM_SALT_LEN) * 8),
            _ => None,
        };
        let key_bits = key_bits
            .map(|b| u16::try_from(b).map_err(|_| format!("{encr} key too long")))
            .transpose()?;
        let cipher = Cipher::new(encr, key_bits).map_err(|e| e.to_string())?;
        let key = cipher.key(encr_key).map_err(|e| e.to_string())?;
        match key {
            CipherKey::Aead(k) => {
                if integ != IntegId::NONE {
                    return Err(format!(
                        "{encr} is combined-mode; integrity must be NONE, not {integ}"
                    ));
                }
                // RFC 4303 §2.4: the trailer still ends on a 4-octet boundary.
                Ok(Self {
                    kind: Kind::Aead(k),
                    iv_len: GCM_IV_LEN,
                    icv_len: cipher.icv_len(),
                    pad_align: 4,
                })
            }
            CipherKey::Cbc(k) => {
                let i = Integ::new(integ).map_err(|e| e.to_string())?;
                let ik = i.key(integ_key).map_err(|e| e.to_string())?;
                Ok(Self {
                    kind: Kind::Cbc(Box::new((k, ik))),
                    iv_len: cipher.iv_len(),
                    icv_len: i.icv_len(),
                    pad_align: cipher.block_size().max(4),
                })
            }
        }
    }

    pub(crate) fn iv_len(&self) -> usize {
        self.iv_len
    }

    pub(crate) fn icv_len(&self) -> usize {
        self.icv_len
    }

    /// The plaintext (payload + padding + trailer) must be a multiple of this.
    pub(crate) fn pad_align(&self) -> usize {
        self.pad_align
    }

    /// Encrypts and authenticates `pkt` in place. The header, plaintext and trailer are already
    /// written; this fills the IV and the ICV. `seq` is the full sequence number; `seq_hi` is
    /// `Some` with ESN (RFC 4303 §2.2.1: the high bits are authenticated, never sent).
    pub(crate) fn seal(
        &self,
        pkt: &mut [u8],
        ct_len: usize,
        seq: u64,
        seq_hi: Option<u32>,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), dualsec_crypto::error::CryptoError> {
        let (head, rest) = pkt.split_at_mut(HEADER_LEN);
        let (iv, rest) = rest.split_at_mut(self.iv_len);
        let (ct, icv) = rest.split_at_mut(ct_len);
        match &self.kind {
            Kind::Cbc(b) => {
                let (key, integ) = &**b;
                // RFC 3602 §3: the IV must be unpredictable.
                rng.fill_bytes(iv);
                key.encrypt_in_place(iv, ct)?;
                let hi = seq_hi.unwrap_or(0).to_be_bytes();
                let hi: &[u8] = if seq_hi.is_some() { &hi } else { &[] };
                integ.compute_into(&[head, iv, ct, hi], icv)
            }
            Kind::Aead(k) => {
                // RFC 4106 §3.1: the explicit IV must not repeat under a key; the sequence number
                // never does.
                let explicit: [u8; GCM_IV_LEN] = seq.to_be_bytes();
                iv.copy_from_slice(&explicit);
                let (aad, aad_len) = gcm_aad(head, seq_hi);
                let tag = k.seal_in_place(&explicit, &aad[..aad_len], ct)?;
                icv.copy_from_slice(&tag);
                Ok(())
            }
        }
    }

    /// Verifies and decrypts `pkt` in place. Nothing is decrypted for CBC unless the ICV verified.
    pub(crate) fn open(
        &self,
        pkt: &mut [u8],
        ct_len: usize,
        seq_hi: Option<u32>,
    ) -> Result<(), ()> {
        let (head, rest) = pkt.split_at_mut(HEADER_LEN);
        let (iv, rest) = rest.split_at_mut(self.iv_len);
        let (ct, icv) = rest.split_at_mut(ct_len);
        match &self.kind {
            Kind::Cbc(b) => {
                let (key, integ) = &**b;
                let hi = seq_hi.unwrap_or(0).to_be_bytes();
                let hi: &[u8] = if seq_hi.is_some() { &hi } else { &[] };
                integ.verify(&[head, iv, ct, hi], icv).map_err(|_| ())?;
                key.decrypt_in_place(iv, ct).map_err(|_| ())
            }
            Kind::Aead(k) => {
                let mut explicit = [0u8; GCM_IV_LEN];
                explicit.copy_from_slice(iv);
                let (aad, aad_len) = gcm_aad(head, seq_hi);
                k.open_in_place(&explicit, &aad[..aad_len], ct, icv)
                    .map_err(|_| ())
            }
        }
    }
}

/// RFC 4106 §5: AAD is SPI || seq (8 octets), or SPI || seq-high || seq-low with ESN (12).
fn gcm_aad(head: &[u8], seq_hi: Option<u32>) -> ([u8; 12], usize) {
    let mut aad = [0u8; 12];
    aad[..4].copy_from_slice(&head[..4]);
    match seq_hi {
        Some(hi) => {
            aad[4..8].copy_from_slice(&hi.to_be_bytes());
            aad[8..12].copy_from_slice(&head[4..8]);
            (aad, 12)
        }
        None => {
            aad[4..8].copy_from_slice(&head[4..8]);
            (aad, 8)
        }
    }
}
