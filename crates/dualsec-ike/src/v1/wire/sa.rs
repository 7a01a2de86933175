//! ISAKMP Security Association, Proposal and Transform payloads (RFC 2408 §3.4–§3.6) with data
//! attributes (§3.3).

use crate::v2::wire::reader::{LengthMark, Reader, u8_count, u16_len};
use crate::v2::wire::{DecodeError, EncodeError};

use super::registry::{Doi, PayloadType, ProtocolId};

/// Situation bits that are followed by labelled-domain data (RFC 2407 §4.2): unsupported.
const SIT_SECRECY_OR_INTEGRITY: u32 = 0x06;

/// SIT_IDENTITY_ONLY (RFC 2407 §4.2.1), the only situation anyone uses.
pub const SIT_IDENTITY_ONLY: u32 = 1;

/// Security Association payload body (RFC 2408 §3.4, RFC 2407 §4.6.1).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ! Next Payload  !   RESERVED    !         Payload Length        !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !              Domain of Interpretation  (DOI)                  !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                           Situation                           ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                  Proposal payloads (type 2) ...               ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Proposals with equal numbers form one logical proposal (e.g. AH and ESP together,
/// RFC 2408 §4.2); they are kept in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sa {
    pub doi: Doi,
    /// 4-octet situation bitmap; labelled situations (secrecy/integrity) are rejected.
    pub situation: u32,
    pub proposals: Vec<Proposal>,
}

/// Proposal payload (RFC 2408 §3.5).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ! Next Payload  !   RESERVED    !         Payload Length        !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !  Proposal #   !  Protocol-Id  !    SPI Size   !# of Transforms!
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                        SPI (variable)                         !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                Transform payloads (type 3) ...                ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub number: u8,
    pub protocol: ProtocolId,
    /// Empty for phase 1 (the cookies are the SPI), 4 octets for ESP/AH.
    pub spi: Vec<u8>,
    pub transforms: Vec<Transform>,
}

/// Transform payload (RFC 2408 §3.6). In phase 1 the attributes are Oakley classes
/// ([`super::Phase1AttrType`]); in phase 2, IPsec DOI attributes ([`super::IpsecAttrType`]).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ! Next Payload  !   RESERVED    !         Payload Length        !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !  Transform #  !  Transform-Id !           RESERVED2           !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                        SA Attributes                          ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    pub number: u8,
    /// KEY_IKE (1) in phase 1; the ESP/AH transform id in phase 2.
    pub id: u8,
    pub attributes: Vec<Attribute>,
}

/// Data attribute (RFC 2408 §3.3): AF=1 is the basic (TV) form, AF=0 the variable (TLV) form.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !A!       Attribute Type        !    AF=0  Attribute Length     !
/// !F!                             !    AF=1  Attribute Value      !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// .                   AF=0  Attribute Value                       .
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// 15-bit type; its registry depends on the context (phase 1 or IPsec DOI).
    pub ty: u16,
    pub value: AttrValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    Basic(u16),
    Variable(Vec<u8>),
}

const AF_BIT: u16 = 0x8000;

impl Attribute {
    pub fn basic(ty: impl Into<u16>, v: u16) -> Attribute {
        Attribute {
            ty: ty.into(),
            value: AttrValue::Basic(v),
        }
    }

    pub fn variable(ty: impl Into<u16>, v: Vec<u8>) -> Attribute {
        Attribute {
            ty: ty.into(),
            value: AttrValue::Variable(v),
        }
    }

    /// The value as an integer: basic values, or variable values of up to 8 octets (e.g. a
    /// 4-octet Life Duration).
    pub fn as_u64(&self) -> Option<u64> {
        match &self.value {
            AttrValue::Basic(v) => Some(u64::from(*v)),
            AttrValue::Variable(b) if b.len() <= 8 => {
                Some(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
            }
            AttrValue::Variable(_) => None,
        }
    }

    /// A duration-like value in the shortest form: basic if it fits 16 bits, else 4-octet
    /// variable (what strongSwan and racoon send for Life Duration).
    pub fn integer(ty: impl Into<u16>, v: u32) -> Attribute {
        match u16::try_from(v) {
            Ok(small) => Attribute::basic(ty, small),
            Err(_) => Attribute::variable(ty, v.to_be_bytes().to_vec()),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Attribute, DecodeError> {
        let raw = r.u16("data attribute")?;
        let v = r.u16("data attribute")?;
        let value = if raw & AF_BIT != 0 {
            AttrValue::Basic(v)
        } else {
            AttrValue::Variable(r.bytes(usize::from(v), "data attribute value")?.to_vec())
        };
        Ok(Attribute {
            ty: raw & !AF_BIT,
            value,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.ty & AF_BIT != 0 {
            return Err(EncodeError::Inconsistent {
                what: "data attribute",
                reason: "attribute type exceeds 15 bits",
            });
        }
        match &self.value {
            AttrValue::Basic(v) => {
                out.extend_from_slice(&(self.ty | AF_BIT).to_be_bytes());
                out.extend_from_slice(&v.to_be_bytes());
            }
            AttrValue::Variable(v) => {
                out.extend_from_slice(&self.ty.to_be_bytes());
                out.extend_from_slice(&u16_len(v.len(), "data attribute value")?.to_be_bytes());
                out.extend_from_slice(v);
            }
        }
        Ok(())
    }
}

impl Transform {
    /// The first attribute of type `ty`.
    pub fn attribute(&self, ty: impl Into<u16>) -> Option<&Attribute> {
        let ty = ty.into();
        self.attributes.iter().find(|a| a.ty == ty)
    }

    fn decode(r: &mut Reader<'_>) -> Result<(Transform, PayloadType), DecodeError> {
        let next = PayloadType(r.u8("transform payload")?);
        let _reserved = r.u8("transform payload")?;
        let len = r.u16("transform payload")?;
        let mut body = r.sub_with_header(usize::from(len), 4, "transform payload")?;
        let number = body.u8("transform payload")?;
        let id = body.u8("transform payload")?;
        let _reserved2 = body.u16("transform payload")?;
        let mut attributes = Vec::new();
        while !body.is_empty() {
            attributes.push(Attribute::decode(&mut body)?);
        }
        Ok((
            Transform {
                number,
                id,
                attributes,
            },
            next,
        ))
    }

    fn encode(&self, last: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.push(if last { 0 } else { PayloadType::TRANSFORM.0 });
        out.push(0);
        let mark = LengthMark::u16_at(out, start);
        out.push(self.number);
        out.push(self.id);
        out.extend_from_slice(&[0, 0]);
        for a in &self.attributes {
            a.encode(out)?;
        }
        mark.patch_u16(out, "transform payload")
    }
}

impl Proposal {
    fn decode(r: &mut Reader<'_>) -> Result<(Proposal, PayloadType), DecodeError> {
        let next = PayloadType(r.u8("proposal payload")?);
        let _reserved = r.u8("proposal payload")?;
        let len = r.u16("proposal payload")?;
        let mut body = r.sub_with_header(usize::from(len), 4, "proposal payload")?;
        let number = body.u8("proposal payload")?;
        let protocol = ProtocolId(body.u8("proposal payload")?);
        let spi_size = body.u8("proposal payload")?;
        let count = body.u8("proposal payload")?;
        let spi = body.bytes(usize::from(spi_size), "proposal SPI")?.to_vec();
        let mut transforms = Vec::with_capacity(usize::from(count));
        for i in 0..count {
            if body.is_empty() {
                return Err(DecodeError::CountMismatch {
                    what: "proposal transforms",
                    declared: usize::from(count),
                    found: usize::from(i),
                });
            }
            let (t, t_next) = Transform::decode(&mut body)?;
            let expect = if i + 1 == count {
                PayloadType::NONE
            } else {
                PayloadType::TRANSFORM
            };
            if t_next != expect {
                return Err(DecodeError::InvalidField {
                    what: "transform Next Payload",
                    reason: "must be 3 before another transform and 0 on the last",
                });
            }
            transforms.push(t);
        }
        if !body.is_empty() {
            return Err(DecodeError::TrailingBytes {
                what: "proposal transforms",
                count: body.remaining(),
            });
        }
        Ok((
            Proposal {
                number,
                protocol,
                spi,
                transforms,
            },
            next,
        ))
    }

    fn encode(&self, last: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.push(if last { 0 } else { PayloadType::PROPOSAL.0 });
        out.push(0);
        let mark = LengthMark::u16_at(out, start);
        out.push(self.number);
        out.push(self.protocol.0);
        out.push(u8_count(self.spi.len(), "proposal SPI size")?);
        out.push(u8_count(self.transforms.len(), "proposal transforms")?);
        out.extend_from_slice(&self.spi);
        let n = self.transforms.len();
        for (i, t) in self.transforms.iter().enumerate() {
            t.encode(i + 1 == n, out)?;
        }
        mark.patch_u16(out, "proposal payload")
    }
}

impl Sa {
    /// A phase 1 or IPsec DOI SA with SIT_IDENTITY_ONLY.
    pub fn ipsec(proposals: Vec<Proposal>) -> Sa {
        Sa {
            doi: Doi::IPSEC,
            situation: SIT_IDENTITY_ONLY,
            proposals,
        }
    }

    pub(crate) fn decode(mut r: Reader<'_>) -> Result<Sa, DecodeError> {
        let doi = Doi(r.u32("SA payload")?);
        let situation = r.u32("SA payload")?;
        if situation & SIT_SECRECY_OR_INTEGRITY != 0 {
            return Err(DecodeError::InvalidField {
                what: "SA situation",
                reason: "labelled (secrecy/integrity) situations are not supported",
            });
        }
        let mut proposals = Vec::new();
        loop {
            if r.is_empty() {
                return Err(if proposals.is_empty() {
                    DecodeError::InvalidField {
                        what: "SA payload",
                        reason: "contains no proposal",
                    }
                } else {
                    DecodeError::Truncated {
                        what: "proposal payload",
                        needed: 8,
                        available: 0,
                    }
                });
            }
            let (p, next) = Proposal::decode(&mut r)?;
            proposals.push(p);
            match next {
                PayloadType::NONE => break,
                PayloadType::PROPOSAL => {}
                _ => {
                    return Err(DecodeError::InvalidField {
                        what: "proposal Next Payload",
                        reason: "must be 2 or 0",
                    });
                }
            }
        }
        r.finish("SA payload proposals")?;
        Ok(Sa {
            doi,
            situation,
            proposals,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.proposals.is_empty() {
            return Err(EncodeError::Inconsistent {
                what: "SA payload",
                reason: "needs at least one proposal",
            });
        }
        if self.situation & SIT_SECRECY_OR_INTEGRITY != 0 {
            return Err(EncodeError::Inconsistent {
                what: "SA situation",
                reason: "labelled situations are not supported",
            });
        }
        out.extend_from_slice(&self.doi.0.to_be_bytes());
        out.extend_from_slice(&self.situation.to_be_bytes());
        let n = self.proposals.len();
        for (i, p) in self.proposals.iter().enumerate() {
            p.encode(i + 1 == n, out)?;
        }
        Ok(())
    }
}
