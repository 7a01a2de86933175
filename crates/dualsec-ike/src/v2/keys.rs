//! IKE SA keys (RFC 7296 §2.14, §2.18), CHILD SA KEYMAT (§2.17), PSK AUTH (§2.15) and the SK
//! payload protection (§3.14, RFC 5282 for AES-GCM), composed from `dualsec-crypto` primitives.

use dualsec_crypto::cipher::{GCM_IV_LEN, GCM_TAG_LEN};
use dualsec_crypto::dh::{DhGroup, DhPrivate as CryptoDh};
use dualsec_crypto::{Cipher, CipherKey, CryptoError, DhId, Integ, IntegKey, Prf, Secret};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::config::{EspProposal, IkeProposal};
use super::event::EspKeys;
use super::wire::{HEADER_LEN, Header, PayloadType};

/// Why an SK payload could not be opened. Always the peer's (or an attacker's) doing; the message
/// is dropped silently (RFC 7296 §2.21.1 for integrity failures).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OpenError {
    /// Lengths inconsistent or the SK payload is not where it must be.
    Malformed(&'static str),
    /// ICV / AEAD tag did not verify.
    IntegrityCheckFailed,
}

/// Our half of a Diffie-Hellman exchange (a KE payload).
pub(crate) struct DhPrivate(CryptoDh);

impl DhPrivate {
    pub fn generate(group: DhId, rng: &mut dyn CryptoRngCore) -> Result<DhPrivate, CryptoError> {
        Ok(DhPrivate(CryptoDh::generate(DhGroup::new(group)?, rng)?))
    }

    pub fn group(&self) -> DhId {
        self.0.group().id()
    }

    pub fn public(&self) -> &[u8] {
        self.0.public_value()
    }

    /// g^ir; the peer's value is validated by the crypto crate.
    pub fn agree(&self, peer: &[u8]) -> Result<Secret, CryptoError> {
        self.0.agree(peer)
    }
}

/// The algorithm objects of an IKE SA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IkeSuite {
    pub prf: Prf,
    pub cipher: Cipher,
    pub integ: Option<Integ>,
}

impl IkeSuite {
    pub fn new(p: &IkeProposal) -> Result<IkeSuite, dualsec_crypto::CryptoError> {
        let cipher = Cipher::new(p.encr, p.key_bits)?;
        let integ = if cipher.is_aead() {
            None
        } else {
            Some(Integ::new(p.integ)?)
        };
        Ok(IkeSuite {
            prf: Prf::new(p.prf)?,
            cipher,
            integ,
        })
    }
}

/// One direction's SK_e/SK_a.
struct DirKeys {
    cipher: CipherKey,
    integ: Option<IntegKey>,
}

impl std::fmt::Debug for DirKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirKeys(redacted)")
    }
}

/// The keys of one IKE SA.
#[derive(Debug)]
pub(crate) struct IkeKeys {
    pub suite: IkeSuite,
    pub sk_d: Secret,
    pub sk_pi: Secret,
    pub sk_pr: Secret,
    i: DirKeys,
    r: DirKeys,
    /// AES-GCM explicit IV counter for messages we send (must never repeat under one key).
    iv_counter: u64,
}

impl IkeKeys {
    /// SKEYSEED = prf(Ni | Nr, g^ir) for a new IKE SA (RFC 7296 §2.14).
    ///
    /// For HMAC PRFs the nonces are used whole as the key.
    pub fn initial(
        suite: IkeSuite,
        ni: &[u8],
        nr: &[u8],
        g_ir: &[u8],
        spi_i: u64,
        spi_r: u64,
    ) -> Result<IkeKeys, dualsec_crypto::CryptoError> {
        let mut key = Zeroizing::new(Vec::with_capacity(ni.len() + nr.len()));
        key.extend_from_slice(ni);
        key.extend_from_slice(nr);
        let skeyseed = suite.prf.compute(&key, &[g_ir]);
        Self::from_skeyseed(suite, &skeyseed, ni, nr, spi_i, spi_r)
    }

    /// SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) when rekeying (RFC 7296 §2.18); the old
    /// SA's PRF is used.
    pub fn rekeyed(
        old: &IkeKeys,
        suite: IkeSuite,
        ni: &[u8],
        nr: &[u8],
        g_ir: &[u8],
        spi_i: u64,
        spi_r: u64,
    ) -> Result<IkeKeys, dualsec_crypto::CryptoError> {
        let skeyseed = old.suite.prf.compute(old.sk_d.as_bytes(), &[g_ir, ni, nr]);
        Self::from_skeyseed(suite, &skeyseed, ni, nr, spi_i, spi_r)
    }

    fn from_skeyseed(
        suite: IkeSuite,
        skeyseed: &Secret,
        ni: &[u8],
        nr: &[u8],
        spi_i: u64,
        spi_r: u64,
    ) -> Result<IkeKeys, dualsec_crypto::CryptoError> {
        let prf_len = suite.prf.output_len();
        let e_len = suite.cipher.keymat_len();
        let a_len = suite.integ.map_or(0, |i| i.key_len());
        let total = prf_len * 3 + 2 * e_len + 2 * a_len;
        let (si, sr) = (spi_i.to_be_bytes(), spi_r.to_be_bytes());
        // {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
        let km = suite
            .prf
            .prf_plus(skeyseed.as_bytes(), &[ni, nr, &si, &sr], total)?;
        let mut rest = km.as_bytes();
        let mut take = |n: usize| {
            let (a, b) = rest.split_at(n);
            rest = b;
            a
        };
        let sk_d = Secret::from_slice(take(prf_len));
        let sk_ai = take(a_len);
        let sk_ar = take(a_len);
        let sk_ei = take(e_len);
        let sk_er = take(e_len);
        let sk_pi = Secret::from_slice(take(prf_len));
        let sk_pr = Secret::from_slice(take(prf_len));
        let dir = |e: &[u8], a: &[u8]| -> Result<DirKeys, dualsec_crypto::CryptoError> {
            Ok(DirKeys {
                cipher: suite.cipher.key(e)?,
                integ: suite.integ.map(|i| i.key(a)).transpose()?,
            })
        };
        Ok(IkeKeys {
            suite,
            i: dir(sk_ei, sk_ai)?,
            r: dir(sk_er, sk_ar)?,
            sk_d,
            sk_pi,
            sk_pr,
            iv_counter: 0,
        })
    }

    /// Builds a protected message: IKE header, SK payload whose first inner payload is `first`,
    /// encrypting `inner` (the encoded inner payload chain). `from_initiator` selects SK_ei/SK_ai
    /// or SK_er/SK_ar.
    pub fn seal(
        &mut self,
        header: &Header,
        first: PayloadType,
        inner: &[u8],
        from_initiator: bool,
        rng: &mut dyn CryptoRngCore,
    ) -> Vec<u8> {
        self.seal_payload(
            header,
            PayloadType::SK,
            first,
            &[],
            inner,
            from_initiator,
            rng,
        )
    }

    /// Builds one SKF fragment message (RFC 7383 §2.5): like [`IkeKeys::seal`], with Fragment
    /// Number and Total Fragments after the generic payload header (covered by the ICV, and by
    /// the AEAD associated data, RFC 7383 §2.5.3). `first` is the first inner payload type for
    /// fragment 1 and NONE for the others.
    #[allow(clippy::too_many_arguments)]
    pub fn seal_fragment(
        &mut self,
        header: &Header,
        first: PayloadType,
        number: u16,
        total: u16,
        chunk: &[u8],
        from_initiator: bool,
        rng: &mut dyn CryptoRngCore,
    ) -> Vec<u8> {
        let mut extra = [0u8; 4];
        extra[..2].copy_from_slice(&number.to_be_bytes());
        extra[2..].copy_from_slice(&total.to_be_bytes());
        self.seal_payload(
            header,
            PayloadType::SKF,
            first,
            &extra,
            chunk,
            from_initiator,
            rng,
        )
    }

    /// IV, ICV and block sizes of the IKE SA's cipher: (iv_len, block_size, icv_len).
    pub fn sizes(&self) -> (usize, usize, usize) {
        let cipher = self.suite.cipher;
        let icv_len = if cipher.is_aead() {
            GCM_TAG_LEN
        } else {
            self.suite.integ.map_or(0, |i| i.icv_len())
        };
        (cipher.iv_len(), cipher.block_size().max(1), icv_len)
    }

    #[allow(clippy::too_many_arguments)]
    fn seal_payload(
        &mut self,
        header: &Header,
        payload: PayloadType,
        first: PayloadType,
        extra: &[u8],
        inner: &[u8],
        from_initiator: bool,
        rng: &mut dyn CryptoRngCore,
    ) -> Vec<u8> {
        let cipher = self.suite.cipher;
        let bs = cipher.block_size().max(1);
        // Pad Length octet included: (inner + pad + 1) % bs == 0 (RFC 7296 §3.14).
        let pad = (bs - (inner.len() + 1) % bs) % bs;
        let pt_len = inner.len() + pad + 1;
        let icv_len = if cipher.is_aead() {
            GCM_TAG_LEN
        } else {
            self.suite.integ.map_or(0, |i| i.icv_len())
        };
        let iv_len = cipher.iv_len();
        let sk_len = 4 + extra.len() + iv_len + pt_len + icv_len;
        let total = HEADER_LEN + sk_len;
        let mut out = Vec::with_capacity(total);
        header.write(payload, u32::try_from(total).unwrap_or(u32::MAX), &mut out);
        out.push(first.0);
        out.push(0);
        out.extend_from_slice(&u16::try_from(sk_len).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(extra);
        let iv_at = out.len();
        if cipher.is_aead() {
            self.iv_counter = self.iv_counter.wrapping_add(1);
            out.extend_from_slice(&self.iv_counter.to_be_bytes());
        } else {
            let mut iv = vec![0u8; iv_len];
            rng.fill_bytes(&mut iv);
            out.extend_from_slice(&iv);
        }
        let ct_at = out.len();
        out.extend_from_slice(inner);
        out.extend(std::iter::repeat_n(0u8, pad));
        out.push(u8::try_from(pad).unwrap_or(0));
        let keys = if from_initiator { &self.i } else { &self.r };
        match &keys.cipher {
            CipherKey::Aead(k) => {
                let (aad_iv, ct) = out.split_at_mut(ct_at);
                let mut iv = [0u8; GCM_IV_LEN];
                iv.copy_from_slice(&aad_iv[iv_at..]);
                // RFC 5282 §5.1: AAD = IKE header + SK payload header (up to the IV); for SKF
                // with Fragment Number and Total Fragments (RFC 7383 §2.5.3).
                let tag = k
                    .seal_in_place(&iv, &aad_iv[..iv_at], ct)
                    .unwrap_or([0; GCM_TAG_LEN]);
                out.extend_from_slice(&tag);
            }
            CipherKey::Cbc(k) => {
                let (head, ct) = out.split_at_mut(ct_at);
                // Lengths are whole blocks by construction; failure would only be an internal bug.
                let _ = k.encrypt_in_place(&head[iv_at..], ct);
                if let Some(integ) = &keys.integ {
                    let icv = integ.compute(&[&out]);
                    out.extend_from_slice(&icv.as_ref()[..icv_len]);
                }
            }
        }
        out
    }

    /// Verifies and decrypts the SK payload of `msg` (a whole IKE message whose first payload is
    /// SK). Returns the first inner payload type and the inner payload chain bytes.
    pub fn open(
        &self,
        msg: &[u8],
        from_initiator: bool,
    ) -> Result<(PayloadType, Vec<u8>), OpenError> {
        self.open_payload(msg, from_initiator, PayloadType::SK, 0)
    }

    /// Verifies and decrypts one SKF fragment message (RFC 7383 §2.5). Returns the Next Payload
    /// field, Fragment Number, Total Fragments and the decrypted, unpadded fragment content.
    /// Only what this returns may go into a reassembly (RFC 7383 §2.6).
    pub fn open_fragment(
        &self,
        msg: &[u8],
        from_initiator: bool,
    ) -> Result<(PayloadType, u16, u16, Vec<u8>), OpenError> {
        let (first, content) = self.open_payload(msg, from_initiator, PayloadType::SKF, 4)?;
        // open_payload checked that the 4 octets after the generic header are present.
        let at = HEADER_LEN + 4;
        let number = u16::from_be_bytes([msg[at], msg[at + 1]]);
        let total = u16::from_be_bytes([msg[at + 2], msg[at + 3]]);
        Ok((first, number, total, content))
    }

    fn open_payload(
        &self,
        msg: &[u8],
        from_initiator: bool,
        payload: PayloadType,
        extra: usize,
    ) -> Result<(PayloadType, Vec<u8>), OpenError> {
        let cipher = self.suite.cipher;
        let keys = if from_initiator { &self.i } else { &self.r };
        let icv_len = if cipher.is_aead() {
            GCM_TAG_LEN
        } else {
            self.suite.integ.map_or(0, |i| i.icv_len())
        };
        let iv_len = cipher.iv_len();
        if msg.len() < HEADER_LEN + 4 + extra || msg[16] != payload.0 {
            return Err(OpenError::Malformed(
                "message does not start with an SK/SKF payload",
            ));
        }
        let first = PayloadType(msg[HEADER_LEN]);
        let sk_len = usize::from(u16::from_be_bytes([
            msg[HEADER_LEN + 2],
            msg[HEADER_LEN + 3],
        ]));
        if HEADER_LEN + sk_len != msg.len() {
            return Err(OpenError::Malformed(
                "SK payload length is not the rest of the message",
            ));
        }
        let iv_at = HEADER_LEN + 4 + extra;
        let ct_at = iv_at + iv_len;
        if sk_len < 4 + extra + iv_len + icv_len + 1 {
            return Err(OpenError::Malformed("SK payload too short"));
        }
        let ct_end = msg.len() - icv_len;
        let bs = cipher.block_size().max(1);
        if (ct_end - ct_at) % bs != 0 {
            return Err(OpenError::Malformed(
                "SK ciphertext is not a whole number of blocks",
            ));
        }
        let mut pt = msg[ct_at..ct_end].to_vec();
        match &keys.cipher {
            CipherKey::Aead(k) => {
                let mut iv = [0u8; GCM_IV_LEN];
                iv.copy_from_slice(&msg[iv_at..ct_at]);
                k.open_in_place(&iv, &msg[..iv_at], &mut pt, &msg[ct_end..])
                    .map_err(|_| OpenError::IntegrityCheckFailed)?;
            }
            CipherKey::Cbc(k) => {
                let integ = keys
                    .integ
                    .as_ref()
                    .ok_or(OpenError::Malformed("no integrity key"))?;
                integ
                    .verify(&[&msg[..ct_end]], &msg[ct_end..])
                    .map_err(|_| OpenError::IntegrityCheckFailed)?;
                k.decrypt_in_place(&msg[iv_at..ct_at], &mut pt)
                    .map_err(|_| OpenError::Malformed("CBC decrypt"))?;
            }
        }
        let pad = usize::from(*pt.last().ok_or(OpenError::Malformed("empty plaintext"))?);
        if pad + 1 > pt.len() {
            return Err(OpenError::Malformed("pad length exceeds the plaintext"));
        }
        pt.truncate(pt.len() - pad - 1);
        Ok((first, pt))
    }

    /// The value of the AUTH payload for shared-key authentication (RFC 7296 §2.15):
    /// `prf(prf(PSK, "Key Pad for IKEv2"), RealMessage | Nonce | prf(SK_p, RestOfIDPayload))`.
    /// `of_initiator` selects SK_pi (the initiator's AUTH) or SK_pr.
    pub fn psk_auth(
        &self,
        psk: &[u8],
        of_initiator: bool,
        real_message: &[u8],
        peer_nonce: &[u8],
        id_type: u8,
        id_data: &[u8],
    ) -> Secret {
        let prf = self.suite.prf;
        let sk_p = if of_initiator {
            &self.sk_pi
        } else {
            &self.sk_pr
        };
        let rest_of_id = [id_type, 0, 0, 0];
        let maced_id = prf.compute(sk_p.as_bytes(), &[&rest_of_id, id_data]);
        let pad_key = prf.compute(psk, &[b"Key Pad for IKEv2"]);
        prf.compute(
            pad_key.as_bytes(),
            &[real_message, peer_nonce, maced_id.as_bytes()],
        )
    }

    /// CHILD SA KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (RFC 7296 §2.17), split into the
    /// initiator→responder and responder→initiator ESP keys. `ni`/`nr` are the nonces of the
    /// exchange that created the CHILD SA (IKE_SA_INIT's for the first one).
    pub fn child_keys(
        &self,
        esp: &EspProposal,
        g_ir: Option<&[u8]>,
        ni: &[u8],
        nr: &[u8],
    ) -> Result<(EspKeys, EspKeys), dualsec_crypto::CryptoError> {
        let cipher = Cipher::new(esp.encr, esp.key_bits)?;
        let e_len = cipher.keymat_len();
        let a_len = if cipher.is_aead() {
            0
        } else {
            Integ::new(esp.integ)?.key_len()
        };
        let mut seed: Vec<&[u8]> = Vec::with_capacity(3);
        if let Some(g) = g_ir {
            seed.push(g);
        }
        seed.push(ni);
        seed.push(nr);
        let km = self
            .suite
            .prf
            .prf_plus(self.sk_d.as_bytes(), &seed, 2 * (e_len + a_len))?;
        let b = km.as_bytes();
        let mk = |at: usize| EspKeys {
            encr_key: Zeroizing::new(b[at..at + e_len].to_vec()),
            integ_key: Zeroizing::new(b[at + e_len..at + e_len + a_len].to_vec()),
        };
        Ok((mk(0), mk(e_len + a_len)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::v2::wire::{ExchangeType, Flags, IkeSpi};
    use dualsec_crypto::{EncrId, IntegId, PrfId};
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;

    fn keys(p: IkeProposal) -> IkeKeys {
        IkeKeys::initial(
            IkeSuite::new(&p).unwrap(),
            &[1; 32],
            &[2; 32],
            &[3; 128],
            0x1111,
            0x2222,
        )
        .unwrap()
    }

    const SUITES: [IkeProposal; 3] = [
        IkeProposal::DEFAULT,
        IkeProposal {
            encr: EncrId::AES_GCM_16,
            key_bits: Some(256),
            integ: IntegId::NONE,
            prf: PrfId::HMAC_SHA2_384,
            dh: DhId::ECP_384,
        },
        IkeProposal {
            encr: EncrId::TRIPLE_DES,
            key_bits: None,
            integ: IntegId::HMAC_MD5_96,
            prf: PrfId::HMAC_MD5,
            dh: DhId::MODP_1536,
        },
    ];

    /// RFC 7296 §3.14: what one side seals the other opens; a changed or cut message never opens
    /// and never panics.
    #[test]
    fn sk_payload_round_trips_and_rejects_tampering_and_truncation() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        for p in SUITES {
            let mut k = keys(p);
            let h = Header::new(
                IkeSpi(0x1111),
                IkeSpi(0x2222),
                ExchangeType::INFORMATIONAL,
                Flags::new(true, false),
                7,
            );
            for inner_len in [0usize, 1, 15, 16, 17, 100] {
                let inner: Vec<u8> = (0..inner_len).map(|i| i as u8).collect();
                let msg = k.seal(&h, PayloadType::NOTIFY, &inner, true, &mut rng);
                let (first, pt) = k.open(&msg, true).unwrap();
                assert_eq!(
                    (first, pt.as_slice()),
                    (PayloadType::NOTIFY, inner.as_slice()),
                    "{p}"
                );
                // The other direction's keys do not open it.
                assert!(k.open(&msg, false).is_err());
                for i in 0..msg.len() {
                    let mut bad = msg.clone();
                    bad[i] ^= 0x01;
                    assert!(
                        k.open(&bad, true).is_err(),
                        "{p}: flipped octet {i} accepted"
                    );
                }
                for len in 0..msg.len() {
                    assert!(k.open(&msg[..len], true).is_err());
                }
            }
        }
    }

    #[test]
    fn both_sides_derive_the_same_auth_and_child_keys() {
        let a = keys(IkeProposal::DEFAULT);
        let b = keys(IkeProposal::DEFAULT);
        let x = a.psk_auth(b"psk", true, b"msg1", &[2; 32], 1, &[192, 0, 2, 1]);
        assert_eq!(
            x.as_bytes(),
            b.psk_auth(b"psk", true, b"msg1", &[2; 32], 1, &[192, 0, 2, 1])
                .as_bytes()
        );
        assert_ne!(
            x.as_bytes(),
            a.psk_auth(b"psK", true, b"msg1", &[2; 32], 1, &[192, 0, 2, 1])
                .as_bytes()
        );
        assert_ne!(
            x.as_bytes(),
            a.psk_auth(b"psk", false, b"msg1", &[2; 32], 1, &[192, 0, 2, 1])
                .as_bytes()
        );
        let (i2r, r2i) = a
            .child_keys(&EspProposal::DEFAULT, None, &[1; 32], &[2; 32])
            .unwrap();
        assert_eq!((i2r.encr_key.len(), i2r.integ_key.len()), (16, 20));
        assert_ne!(*i2r.encr_key, *r2i.encr_key);
        let (pfs, _) = a
            .child_keys(&EspProposal::DEFAULT, Some(&[9; 128]), &[1; 32], &[2; 32])
            .unwrap();
        assert_ne!(
            *pfs.encr_key, *i2r.encr_key,
            "PFS changes KEYMAT (RFC 7296 §2.17)"
        );
    }
}
