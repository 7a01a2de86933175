//! IKEv1 proposals: our [`IkeProposal`]/[`EspProposal`]s as ISAKMP SA payloads (RFC 2409
//! Appendix A, RFC 2407 §4.5) and the responder's selection, with strongSwan-style texts for the
//! explained NO_PROPOSAL_CHOSEN (R-DIAG-1).

use std::time::Duration;

use dualsec_crypto::{DhId, EncrId, IntegId, PrfId, V1AuthId, V1EncrId, V1HashId};

use super::wire::{
    Attribute, EncapsulationMode, IpsecAttrType, IsakmpTransformId, LifeType, Phase1AttrType,
    Phase1AuthMethod, Proposal, ProtocolId, Sa, Transform,
};
use crate::v2::config::{EspProposal, IkeProposal, dh_name, encr_name, integ_name};

/// The phase-1 Hash Algorithm for a product "authentication algorithm" (R-TUN-3: PRF = hash).
pub(crate) fn v1_hash(prf: PrfId) -> Option<V1HashId> {
    Some(match prf {
        PrfId::HMAC_MD5 => V1HashId::MD5,
        PrfId::HMAC_SHA1 => V1HashId::SHA,
        PrfId::HMAC_SHA2_256 => V1HashId::SHA2_256,
        PrfId::HMAC_SHA2_384 => V1HashId::SHA2_384,
        PrfId::HMAC_SHA2_512 => V1HashId::SHA2_512,
        _ => return None,
    })
}

fn prf_of(h: V1HashId) -> Option<(PrfId, IntegId)> {
    Some(match h {
        V1HashId::MD5 => (PrfId::HMAC_MD5, IntegId::HMAC_MD5_96),
        V1HashId::SHA => (PrfId::HMAC_SHA1, IntegId::HMAC_SHA1_96),
        V1HashId::SHA2_256 => (PrfId::HMAC_SHA2_256, IntegId::HMAC_SHA2_256_128),
        V1HashId::SHA2_384 => (PrfId::HMAC_SHA2_384, IntegId::HMAC_SHA2_384_192),
        V1HashId::SHA2_512 => (PrfId::HMAC_SHA2_512, IntegId::HMAC_SHA2_512_256),
        _ => return None,
    })
}

fn v1_encr(e: EncrId) -> Option<V1EncrId> {
    Some(match e {
        EncrId::AES_CBC => V1EncrId::AES_CBC,
        EncrId::TRIPLE_DES => V1EncrId::TRIPLE_DES_CBC,
        EncrId::DES => V1EncrId::DES_CBC,
        _ => return None,
    })
}

fn encr_of(e: V1EncrId) -> Option<EncrId> {
    Some(match e {
        V1EncrId::AES_CBC => EncrId::AES_CBC,
        V1EncrId::TRIPLE_DES_CBC => EncrId::TRIPLE_DES,
        V1EncrId::DES_CBC => EncrId::DES,
        _ => return None,
    })
}

/// IPsec DOI Authentication Algorithm for an ESP integrity transform.
fn v1_auth(i: IntegId) -> Option<V1AuthId> {
    Some(match i {
        IntegId::HMAC_MD5_96 => V1AuthId::HMAC_MD5,
        IntegId::HMAC_SHA1_96 => V1AuthId::HMAC_SHA,
        IntegId::HMAC_SHA2_256_128 => V1AuthId::HMAC_SHA2_256,
        IntegId::HMAC_SHA2_384_192 => V1AuthId::HMAC_SHA2_384,
        IntegId::HMAC_SHA2_512_256 => V1AuthId::HMAC_SHA2_512,
        _ => return None,
    })
}

fn integ_of(a: V1AuthId) -> Option<IntegId> {
    Some(match a {
        V1AuthId::HMAC_MD5 => IntegId::HMAC_MD5_96,
        V1AuthId::HMAC_SHA => IntegId::HMAC_SHA1_96,
        V1AuthId::HMAC_SHA2_256 => IntegId::HMAC_SHA2_256_128,
        V1AuthId::HMAC_SHA2_384 => IntegId::HMAC_SHA2_384_192,
        V1AuthId::HMAC_SHA2_512 => IntegId::HMAC_SHA2_512_256,
        _ => return None,
    })
}

fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// Our phase-1 SA payload: one ISAKMP proposal with one KEY_IKE transform per configured IKE
/// proposal (RFC 2409 §5: several transforms, one proposal). Proposals IKEv1 cannot express
/// (AEAD, ECP groups) are left out.
pub(crate) fn phase1_sa(ours: &[IkeProposal], lifetime: Duration) -> Sa {
    let mut transforms = Vec::new();
    for p in ours {
        let (Some(e), Some(h)) = (v1_encr(p.encr), v1_hash(p.prf)) else {
            continue;
        };
        let mut attributes = vec![Attribute::basic(Phase1AttrType::ENCRYPTION_ALGORITHM, e.0)];
        if let Some(bits) = p.key_bits.filter(|_| p.encr == EncrId::AES_CBC) {
            attributes.push(Attribute::basic(Phase1AttrType::KEY_LENGTH, bits));
        }
        attributes.extend([
            Attribute::basic(Phase1AttrType::HASH_ALGORITHM, h.0),
            Attribute::basic(Phase1AttrType::GROUP_DESCRIPTION, p.dh.0),
            Attribute::basic(
                Phase1AttrType::AUTHENTICATION_METHOD,
                Phase1AuthMethod::PRE_SHARED_KEY.0,
            ),
            Attribute::basic(Phase1AttrType::LIFE_TYPE, LifeType::SECONDS.0),
            Attribute::integer(Phase1AttrType::LIFE_DURATION, secs(lifetime)),
        ]);
        let number = u8::try_from(transforms.len() + 1).unwrap_or(u8::MAX);
        transforms.push(Transform {
            number,
            id: IsakmpTransformId::KEY_IKE.0,
            attributes,
        });
    }
    Sa::ipsec(vec![Proposal {
        number: 1,
        protocol: ProtocolId::ISAKMP,
        spi: Vec::new(),
        transforms,
    }])
}

/// A phase-1 transform read back: the proposal, PSK or not, and the lifetime if stated.
pub(crate) fn parse_phase1(t: &Transform) -> Option<(IkeProposal, bool, Option<Duration>)> {
    let get = |ty: Phase1AttrType| t.attribute(ty).and_then(Attribute::as_u64);
    let encr = encr_of(V1EncrId(
        u16::try_from(get(Phase1AttrType::ENCRYPTION_ALGORITHM)?).ok()?,
    ))?;
    let (prf, integ) = prf_of(V1HashId(
        u16::try_from(get(Phase1AttrType::HASH_ALGORITHM)?).ok()?,
    ))?;
    let dh = DhId(u16::try_from(get(Phase1AttrType::GROUP_DESCRIPTION)?).ok()?);
    let key_bits = match encr {
        EncrId::AES_CBC => {
            Some(u16::try_from(get(Phase1AttrType::KEY_LENGTH).unwrap_or(128)).ok()?)
        }
        _ => None,
    };
    let psk = get(Phase1AttrType::AUTHENTICATION_METHOD)
        == Some(u64::from(Phase1AuthMethod::PRE_SHARED_KEY.0));
    let life = match get(Phase1AttrType::LIFE_TYPE) {
        Some(1) => get(Phase1AttrType::LIFE_DURATION).map(Duration::from_secs),
        _ => None,
    };
    Some((
        IkeProposal {
            encr,
            key_bits,
            integ,
            prf,
            dh,
        },
        psk,
        life,
    ))
}

/// Text of every transform in a phase-1 SA (strongSwan style), for diagnostics.
pub(crate) fn phase1_text(sa: &Sa) -> String {
    let mut v = Vec::new();
    for p in &sa.proposals {
        for t in &p.transforms {
            match parse_phase1(t) {
                Some((ike, psk, _)) => {
                    v.push(format!("{ike}{}", if psk { "" } else { " (not PSK)" }));
                }
                None => v.push(format!("(unsupported transform {:?})", t.attributes)),
            }
        }
    }
    if v.is_empty() {
        "(nothing)".into()
    } else {
        v.join(", ")
    }
}

/// Our IKE proposals as text (what we offered).
pub(crate) fn ike_text(ours: &[IkeProposal]) -> String {
    ours.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Selects the first of our proposals the peer offered (our preference order), returning the
/// peer's transform (echoed verbatim, RFC 2409 §5) and what it means.
pub(crate) fn select_phase1(
    ours: &[IkeProposal],
    sa: &Sa,
) -> Option<(Transform, IkeProposal, Option<Duration>)> {
    for want in ours {
        for p in sa
            .proposals
            .iter()
            .filter(|p| p.protocol == ProtocolId::ISAKMP)
        {
            for t in &p.transforms {
                if t.id != IsakmpTransformId::KEY_IKE.0 {
                    continue;
                }
                if let Some((got, true, life)) = parse_phase1(t) {
                    if got == *want {
                        return Some((t.clone(), got, life));
                    }
                }
            }
        }
    }
    None
}

/// Our quick-mode SA payload: one ESP proposal carrying our inbound SPI with one transform per
/// ESP proposal (RFC 2407 §4.5).
pub(crate) fn phase2_sa(
    ours: &[EspProposal],
    pfs: Option<DhId>,
    lifetime: Duration,
    spi_in: u32,
    encap: EncapsulationMode,
) -> Sa {
    let mut transforms = Vec::new();
    for p in ours {
        let Some(auth) = v1_auth(p.integ) else {
            continue;
        };
        let Ok(id) = u8::try_from(p.encr.0) else {
            continue;
        };
        let mut attributes = vec![
            Attribute::basic(IpsecAttrType::SA_LIFE_TYPE, LifeType::SECONDS.0),
            Attribute::integer(IpsecAttrType::SA_LIFE_DURATION, secs(lifetime)),
        ];
        if let Some(g) = pfs {
            attributes.push(Attribute::basic(IpsecAttrType::GROUP_DESCRIPTION, g.0));
        }
        attributes.push(Attribute::basic(IpsecAttrType::ENCAPSULATION_MODE, encap.0));
        attributes.push(Attribute::basic(
            IpsecAttrType::AUTHENTICATION_ALGORITHM,
            auth.0,
        ));
        if let Some(bits) = p.key_bits.filter(|_| p.encr == EncrId::AES_CBC) {
            attributes.push(Attribute::basic(IpsecAttrType::KEY_LENGTH, bits));
        }
        let number = u8::try_from(transforms.len() + 1).unwrap_or(u8::MAX);
        transforms.push(Transform {
            number,
            id,
            attributes,
        });
    }
    Sa::ipsec(vec![Proposal {
        number: 1,
        protocol: ProtocolId::IPSEC_ESP,
        spi: spi_in.to_be_bytes().to_vec(),
        transforms,
    }])
}

/// An ESP transform read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EspChoice {
    pub esp: EspProposal,
    pub pfs: Option<DhId>,
    pub lifetime: Option<Duration>,
    pub encap: EncapsulationMode,
}

pub(crate) fn parse_phase2(t: &Transform) -> Option<EspChoice> {
    let get = |ty: IpsecAttrType| t.attribute(ty).and_then(Attribute::as_u64);
    let encr = EncrId(u16::from(t.id));
    if ![EncrId::AES_CBC, EncrId::TRIPLE_DES, EncrId::DES].contains(&encr) {
        return None;
    }
    let integ = integ_of(V1AuthId(
        u16::try_from(get(IpsecAttrType::AUTHENTICATION_ALGORITHM)?).ok()?,
    ))?;
    let key_bits = match encr {
        EncrId::AES_CBC => Some(u16::try_from(get(IpsecAttrType::KEY_LENGTH).unwrap_or(128)).ok()?),
        _ => None,
    };
    let pfs = get(IpsecAttrType::GROUP_DESCRIPTION)
        .and_then(|g| u16::try_from(g).ok())
        .map(DhId);
    let lifetime = match get(IpsecAttrType::SA_LIFE_TYPE) {
        Some(1) | None => get(IpsecAttrType::SA_LIFE_DURATION).map(Duration::from_secs),
        _ => None,
    };
    let encap =
        EncapsulationMode(u16::try_from(get(IpsecAttrType::ENCAPSULATION_MODE).unwrap_or(1)).ok()?);
    Some(EspChoice {
        esp: EspProposal {
            encr,
            key_bits,
            integ,
            esn: false,
        },
        pfs,
        lifetime,
        encap,
    })
}

fn esp_choice_text(c: &EspChoice) -> String {
    let pfs = c
        .pfs
        .map(|g| format!("-{}", dh_name(g)))
        .unwrap_or_default();
    format!(
        "{}-{}{pfs}",
        encr_name(c.esp.encr, c.esp.key_bits),
        integ_name(c.esp.integ)
    )
}

/// Text of every ESP transform in a quick-mode SA.
pub(crate) fn phase2_text(sa: &Sa) -> String {
    let mut v = Vec::new();
    for p in &sa.proposals {
        for t in &p.transforms {
            match parse_phase2(t) {
                Some(c) => v.push(esp_choice_text(&c)),
                None => v.push(format!("(unsupported ESP transform {})", t.id)),
            }
        }
    }
    if v.is_empty() {
        "(nothing)".into()
    } else {
        v.join(", ")
    }
}

/// Our ESP proposals as text, PFS group included.
pub(crate) fn esp_text(ours: &[EspProposal], pfs: Option<DhId>) -> String {
    let pfs = pfs.map(|g| format!("-{}", dh_name(g))).unwrap_or_default();
    ours.iter()
        .map(|p| format!("{p}{pfs}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Selects an ESP transform from the peer's quick-mode SA: the peer's SPI, the transform to echo
/// (with its proposal number) and what it means. PFS must match ours exactly (both on with the
/// same group, or both off).
pub(crate) fn select_phase2(
    ours: &[EspProposal],
    pfs: Option<DhId>,
    sa: &Sa,
) -> Option<(u8, u32, Transform, EspChoice)> {
    for want in ours {
        for p in sa
            .proposals
            .iter()
            .filter(|p| p.protocol == ProtocolId::IPSEC_ESP)
        {
            let Ok(spi) = <[u8; 4]>::try_from(p.spi.as_slice()) else {
                continue;
            };
            for t in &p.transforms {
                if let Some(c) = parse_phase2(t) {
                    if c.esp == *want && c.pfs == pfs {
                        return Some((p.number, u32::from_be_bytes(spi), t.clone(), c));
                    }
                }
            }
        }
    }
    None
}
