//! SA proposal building, selection and text (RFC 7296 §2.7, §3.3).
//!
//! Works on [`Offer`], the codec-independent shape of one SA payload proposal; `sa` converts
//! between it and the wire types.

use dualsec_crypto::{DhId, EncrId, IntegId, PrfId};

use super::config::{EspProposal, IkeProposal, dh_name, encr_name, integ_name, prf_name};

/// Transform types (RFC 7296 §3.3.2).
pub(crate) const T_ENCR: u8 = 1;
pub(crate) const T_PRF: u8 = 2;
pub(crate) const T_INTEG: u8 = 3;
pub(crate) const T_DH: u8 = 4;
pub(crate) const T_ESN: u8 = 5;

/// Protocol ids (RFC 7296 §3.3.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Protocol {
    Ike,
    Esp,
    Other(u8),
}

impl Protocol {
    pub(crate) fn id(self) -> u8 {
        match self {
            Protocol::Ike => 1,
            Protocol::Esp => 3,
            Protocol::Other(n) => n,
        }
    }

    pub(crate) fn from_id(id: u8) -> Protocol {
        match id {
            1 => Protocol::Ike,
            3 => Protocol::Esp,
            n => Protocol::Other(n),
        }
    }
}

/// One transform: type, id and the Key Length attribute if present.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Xform {
    pub ttype: u8,
    pub id: u16,
    pub key_bits: Option<u16>,
}

/// One proposal of an SA payload.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Offer {
    pub number: u8,
    pub protocol: Protocol,
    pub spi: Vec<u8>,
    pub transforms: Vec<Xform>,
}

impl Offer {
    fn has(&self, ttype: u8, id: u16, key_bits: Option<u16>) -> bool {
        self.transforms
            .iter()
            .any(|t| t.ttype == ttype && t.id == id && t.key_bits == key_bits)
    }

    fn has_type(&self, ttype: u8) -> bool {
        self.transforms.iter().any(|t| t.ttype == ttype)
    }

    fn of_type(&self, ttype: u8) -> impl Iterator<Item = &Xform> {
        self.transforms.iter().filter(move |t| t.ttype == ttype)
    }
}

fn is_aead(e: EncrId) -> bool {
    matches!(
        e,
        EncrId::AES_GCM_8 | EncrId::AES_GCM_12 | EncrId::AES_GCM_16 | EncrId::CHACHA20_POLY1305
    )
}

/// Our IKE proposals as offers (numbered from 1, RFC 7296 §3.3.1). `spi` is empty in IKE_SA_INIT
/// and 8 bytes when rekeying the IKE SA.
pub(crate) fn ike_offers(props: &[IkeProposal], spi: &[u8]) -> Vec<Offer> {
    props
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut transforms = vec![Xform {
                ttype: T_ENCR,
                id: p.encr.0,
                key_bits: p.key_bits,
            }];
            transforms.push(Xform {
                ttype: T_PRF,
                id: p.prf.0,
                key_bits: None,
            });
            if !is_aead(p.encr) && p.integ != IntegId::NONE {
                transforms.push(Xform {
                    ttype: T_INTEG,
                    id: p.integ.0,
                    key_bits: None,
                });
            }
            transforms.push(Xform {
                ttype: T_DH,
                id: p.dh.0,
                key_bits: None,
            });
            Offer {
                number: offer_number(i),
                protocol: Protocol::Ike,
                spi: spi.to_vec(),
                transforms,
            }
        })
        .collect()
}

/// Our ESP proposals as offers with our inbound SPI; `dh` is the PFS group, if any.
pub(crate) fn esp_offers(props: &[EspProposal], dh: Option<DhId>, spi: u32) -> Vec<Offer> {
    props
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut transforms = vec![Xform {
                ttype: T_ENCR,
                id: p.encr.0,
                key_bits: p.key_bits,
            }];
            if !is_aead(p.encr) && p.integ != IntegId::NONE {
                transforms.push(Xform {
                    ttype: T_INTEG,
                    id: p.integ.0,
                    key_bits: None,
                });
            }
            if let Some(g) = dh.filter(|g| *g != DhId::NONE) {
                transforms.push(Xform {
                    ttype: T_DH,
                    id: g.0,
                    key_bits: None,
                });
            }
            let esn = if p.esn { 1 } else { 0 };
            transforms.push(Xform {
                ttype: T_ESN,
                id: esn,
                key_bits: None,
            });
            Offer {
                number: offer_number(i),
                protocol: Protocol::Esp,
                spi: spi.to_be_bytes().to_vec(),
                transforms,
            }
        })
        .collect()
}

fn offer_number(i: usize) -> u8 {
    u8::try_from(i + 1).unwrap_or(u8::MAX)
}

/// Picks the first of our IKE proposals that one of the peer's offers contains; returns the
/// chosen proposal and the peer's proposal number (the reply carries exactly that proposal).
pub(crate) fn select_ike(ours: &[IkeProposal], theirs: &[Offer]) -> Option<(IkeProposal, u8)> {
    for p in ours {
        for o in theirs.iter().filter(|o| o.protocol == Protocol::Ike) {
            let integ_ok = if is_aead(p.encr) || p.integ == IntegId::NONE {
                !o.has_type(T_INTEG) || o.has(T_INTEG, 0, None)
            } else {
                o.has(T_INTEG, p.integ.0, None)
            };
            if o.has(T_ENCR, p.encr.0, p.key_bits)
                && o.has(T_PRF, p.prf.0, None)
                && integ_ok
                && o.has(T_DH, p.dh.0, None)
            {
                return Some((*p, o.number));
            }
        }
    }
    None
}

/// How DH transforms in ESP proposals are matched.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DhRule {
    /// The CHILD SA created inside IKE_AUTH has no KE payload: DH transforms are ignored
    /// (RFC 7296 §1.2), as strongSwan does.
    Ignore,
    /// CREATE_CHILD_SA: our PFS group must be offered; with PFS off, no group may be required.
    Pfs(Option<DhId>),
}

/// Picks an ESP proposal. Returns the proposal, the peer's SPI, the peer's proposal number and
/// the PFS group used.
pub(crate) fn select_esp(
    ours: &[EspProposal],
    rule: DhRule,
    theirs: &[Offer],
) -> Option<(EspProposal, u32, u8, Option<DhId>)> {
    let pfs = match rule {
        DhRule::Ignore => None,
        DhRule::Pfs(g) => g.filter(|g| *g != DhId::NONE),
    };
    for p in ours {
        for o in theirs.iter().filter(|o| o.protocol == Protocol::Esp) {
            let integ_ok = if is_aead(p.encr) || p.integ == IntegId::NONE {
                !o.has_type(T_INTEG) || o.has(T_INTEG, 0, None)
            } else {
                o.has(T_INTEG, p.integ.0, None)
            };
            let esn_ok = if o.has_type(T_ESN) {
                o.has(T_ESN, u16::from(p.esn), None)
            } else {
                !p.esn
            };
            let dh_ok = match (rule, pfs) {
                (DhRule::Ignore, _) => true,
                (_, Some(g)) => o.has(T_DH, g.0, None),
                (_, None) => !o.has_type(T_DH) || o.has(T_DH, 0, None),
            };
            let Ok(spi) = <[u8; 4]>::try_from(o.spi.as_slice()) else {
                continue;
            };
            if o.has(T_ENCR, p.encr.0, p.key_bits) && integ_ok && esn_ok && dh_ok {
                return Some((*p, u32::from_be_bytes(spi), o.number, pfs));
            }
        }
    }
    None
}

/// Reads the accepted IKE proposal out of a responder's single-proposal reply, checking it is one
/// we offered (RFC 7296 §2.7: the responder must not invent).
pub(crate) fn accepted_ike(ours: &[IkeProposal], reply: &[Offer]) -> Option<IkeProposal> {
    let [o] = reply else { return None };
    let chosen = select_ike(ours, std::slice::from_ref(o))?.0;
    // Exactly one transform per type in a reply.
    [T_ENCR, T_PRF, T_INTEG, T_DH]
        .iter()
        .all(|&t| o.of_type(t).count() <= 1)
        .then_some(chosen)
}

/// Same for ESP: the proposal, the peer's SPI and the group.
pub(crate) fn accepted_esp(
    ours: &[EspProposal],
    rule: DhRule,
    reply: &[Offer],
) -> Option<(EspProposal, u32, Option<DhId>)> {
    let [o] = reply else { return None };
    let (p, spi, _, g) = select_esp(ours, rule, std::slice::from_ref(o))?;
    [T_ENCR, T_INTEG, T_DH, T_ESN]
        .iter()
        .all(|&t| o.of_type(t).count() <= 1)
        .then_some((p, spi, g))
}

/// strongSwan-style text of a peer's offers, one per proposal (`aes256-sha256-prfsha256-modp2048`),
/// listing alternatives of one type with `/`.
pub(crate) fn offers_text(offers: &[Offer]) -> String {
    offers
        .iter()
        .map(|o| {
            let mut parts = Vec::new();
            let join = |v: Vec<String>| v.join("/");
            parts.push(join(
                o.of_type(T_ENCR)
                    .map(|t| encr_name(EncrId(t.id), t.key_bits))
                    .collect(),
            ));
            let integ: Vec<String> = o
                .of_type(T_INTEG)
                .filter(|t| t.id != 0)
                .map(|t| integ_name(IntegId(t.id)))
                .collect();
            if !integ.is_empty() {
                parts.push(join(integ));
            }
            if o.protocol == Protocol::Ike {
                parts.push(join(
                    o.of_type(T_PRF)
                        .map(|t| format!("prf{}", prf_name(PrfId(t.id))))
                        .collect(),
                ));
            }
            let dh: Vec<String> = o
                .of_type(T_DH)
                .filter(|t| t.id != 0)
                .map(|t| dh_name(DhId(t.id)))
                .collect();
            if !dh.is_empty() {
                parts.push(join(dh));
            }
            if o.has(T_ESN, 1, None) {
                parts.push("esn".into());
            }
            parts.retain(|p| !p.is_empty());
            parts.join("-")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_common_ike_proposal_and_renders_text() {
        let ours = [IkeProposal::DEFAULT];
        let theirs = ike_offers(
            &[
                IkeProposal {
                    encr: EncrId::AES_CBC,
                    key_bits: Some(256),
                    integ: IntegId::HMAC_SHA2_256_128,
                    prf: PrfId::HMAC_SHA2_256,
                    dh: DhId::MODP_2048,
                },
                IkeProposal::DEFAULT,
            ],
            &[],
        );
        assert_eq!(select_ike(&ours, &theirs), Some((IkeProposal::DEFAULT, 2)));
        assert_eq!(
            offers_text(&theirs[..1]),
            "aes256-sha256-prfsha256-modp2048"
        );
        assert_eq!(select_ike(&ours, &theirs[..1]), None);
    }

    #[test]
    fn esp_pfs_must_match() {
        let offers = esp_offers(&[EspProposal::DEFAULT], Some(DhId::MODP_1024), 0x1234_5678);
        assert_eq!(offers_text(&offers), "aes128-sha1-modp1024");
        let got = select_esp(
            &[EspProposal::DEFAULT],
            DhRule::Pfs(Some(DhId::MODP_1024)),
            &offers,
        );
        assert_eq!(
            got,
            Some((EspProposal::DEFAULT, 0x1234_5678, 1, Some(DhId::MODP_1024)))
        );
        // R-TUN-4: PFS on one side only does not match.
        assert_eq!(
            select_esp(&[EspProposal::DEFAULT], DhRule::Pfs(None), &offers),
            None
        );
        assert_eq!(
            select_esp(
                &[EspProposal::DEFAULT],
                DhRule::Pfs(Some(DhId::MODP_2048)),
                &offers
            ),
            None
        );
        // IKE_AUTH: no KE, so groups are ignored (RFC 7296 §1.2).
        assert!(select_esp(&[EspProposal::DEFAULT], DhRule::Ignore, &offers).is_some());
    }
}
