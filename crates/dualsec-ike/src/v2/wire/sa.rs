//! Security Association payload: proposals → transforms → attributes (RFC 7296 §3.3).

use super::error::{DecodeError, EncodeError};
use super::reader::{LengthMark, Reader, u8_count, u16_len};
use super::registry::{
    DhId, EncrId, EsnId, IntegId, PrfId, ProtocolId, TransformAttrType, TransformType,
};

/// "Last Substruc" value in a proposal that is followed by another (RFC 7296 §3.3.1).
const MORE_PROPOSALS: u8 = 2;
/// "Last Substruc" value in a transform that is followed by another (RFC 7296 §3.3.2).
const MORE_TRANSFORMS: u8 = 3;
const LAST: u8 = 0;

/// Security Association payload body (RFC 7296 §3.3): one or more proposals.
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                          <Proposals>                          ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sa {
    pub proposals: Vec<Proposal>,
}

/// Proposal substructure (RFC 7296 §3.3.1).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Last Substruc |   RESERVED    |         Proposal Length       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                        SPI (variable)                         ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                        <Transforms>                           ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// 1 for the first proposal, +1 for each following one; a responder echoes the chosen number.
    pub number: u8,
    pub protocol: ProtocolId,
    /// Empty in IKE_SA_INIT, 8 octets when rekeying an IKE SA, 4 for ESP/AH.
    pub spi: Vec<u8>,
    pub transforms: Vec<Transform>,
}

/// Transform substructure (RFC 7296 §3.3.2).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Last Substruc |   RESERVED    |        Transform Length       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Transform Type |   RESERVED    |          Transform ID         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                      Transform Attributes                     ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    pub id: TransformId,
    pub attributes: Vec<TransformAttribute>,
}

/// A transform's type and id together, typed by the crypto registry where the type is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransformId {
    Encr(EncrId),
    Prf(PrfId),
    Integ(IntegId),
    Dh(DhId),
    Esn(EsnId),
    /// A transform type we do not know (e.g. RFC 9370 additional key exchanges).
    Other {
        ty: TransformType,
        id: u16,
    },
}

impl TransformId {
    pub fn from_wire(ty: TransformType, id: u16) -> TransformId {
        match ty {
            TransformType::ENCR => TransformId::Encr(EncrId(id)),
            TransformType::PRF => TransformId::Prf(PrfId(id)),
            TransformType::INTEG => TransformId::Integ(IntegId(id)),
            TransformType::DH => TransformId::Dh(DhId(id)),
            TransformType::ESN => TransformId::Esn(EsnId(id)),
            ty => TransformId::Other { ty, id },
        }
    }

    pub fn transform_type(self) -> TransformType {
        match self {
            TransformId::Encr(_) => TransformType::ENCR,
            TransformId::Prf(_) => TransformType::PRF,
            TransformId::Integ(_) => TransformType::INTEG,
            TransformId::Dh(_) => TransformType::DH,
            TransformId::Esn(_) => TransformType::ESN,
            TransformId::Other { ty, .. } => ty,
        }
    }

    pub fn raw_id(self) -> u16 {
        match self {
            TransformId::Encr(v) => v.0,
            TransformId::Prf(v) => v.0,
            TransformId::Integ(v) => v.0,
            TransformId::Dh(v) => v.0,
            TransformId::Esn(v) => v.0,
            TransformId::Other { id, .. } => id,
        }
    }
}

/// Data Attribute (RFC 7296 §3.3.5). AF=1 is the two-octet TV form, AF=0 the TLV form.
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |A|       Attribute Type        |    AF=0  Attribute Length     |
/// |F|                             |    AF=1  Attribute Value      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   AF=0  Attribute Value                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformAttribute {
    /// 15-bit attribute type (AF bit excluded).
    pub ty: TransformAttrType,
    pub value: AttrValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// AF=1: the value sits in the length field.
    Tv(u16),
    /// AF=0: length-prefixed value.
    Tlv(Vec<u8>),
}

const AF_BIT: u16 = 0x8000;

impl TransformAttribute {
    /// Key Length attribute in bits (RFC 7296 §3.3.5), TV form.
    pub fn key_length(bits: u16) -> TransformAttribute {
        TransformAttribute {
            ty: TransformAttrType::KEY_LENGTH,
            value: AttrValue::Tv(bits),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<TransformAttribute, DecodeError> {
        let raw_ty = r.u16("transform attribute")?;
        let ty = TransformAttrType(raw_ty & !AF_BIT);
        let v = r.u16("transform attribute")?;
        let value = if raw_ty & AF_BIT != 0 {
            AttrValue::Tv(v)
        } else {
            AttrValue::Tlv(
                r.bytes(usize::from(v), "transform attribute value")?
                    .to_vec(),
            )
        };
        Ok(TransformAttribute { ty, value })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.ty.0 & AF_BIT != 0 {
            return Err(EncodeError::Inconsistent {
                what: "transform attribute",
                reason: "attribute type exceeds 15 bits",
            });
        }
        match &self.value {
            AttrValue::Tv(v) => {
                out.extend_from_slice(&(self.ty.0 | AF_BIT).to_be_bytes());
                out.extend_from_slice(&v.to_be_bytes());
            }
            AttrValue::Tlv(v) => {
                out.extend_from_slice(&self.ty.0.to_be_bytes());
                out.extend_from_slice(
                    &u16_len(v.len(), "transform attribute value")?.to_be_bytes(),
                );
                out.extend_from_slice(v);
            }
        }
        Ok(())
    }
}

impl Transform {
    pub fn new(id: TransformId) -> Transform {
        Transform {
            id,
            attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute (AES-CBC/CTR/GCM key size in bits).
    pub fn with_key_length(id: TransformId, bits: u16) -> Transform {
        Transform {
            id,
            attributes: vec![TransformAttribute::key_length(bits)],
        }
    }

    /// The Key Length attribute, if present in TV form.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match (a.ty, &a.value) {
            (TransformAttrType::KEY_LENGTH, AttrValue::Tv(v)) => Some(*v),
            _ => None,
        })
    }

    fn decode(r: &mut Reader<'_>) -> Result<(Transform, u8), DecodeError> {
        let last = r.u8("transform")?;
        let _reserved = r.u8("transform")?;
        let len = r.u16("transform")?;
        let mut body = r.sub_with_header(usize::from(len), 4, "transform")?;
        let ty = TransformType(body.u8("transform")?);
        let _reserved = body.u8("transform")?;
        let id = body.u16("transform")?;
        let mut attributes = Vec::new();
        while !body.is_empty() {
            attributes.push(TransformAttribute::decode(&mut body)?);
        }
        Ok((
            Transform {
                id: TransformId::from_wire(ty, id),
                attributes,
            },
            last,
        ))
    }

    fn encode(&self, last: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.push(if last { LAST } else { MORE_TRANSFORMS });
        out.push(0);
        let mark = LengthMark::u16_at(out, start);
        out.push(self.id.transform_type().0);
        out.push(0);
        out.extend_from_slice(&self.id.raw_id().to_be_bytes());
        for a in &self.attributes {
            a.encode(out)?;
        }
        mark.patch_u16(out, "transform")
    }
}

impl Proposal {
    fn decode(r: &mut Reader<'_>) -> Result<(Proposal, u8), DecodeError> {
        let last = r.u8("proposal")?;
        let _reserved = r.u8("proposal")?;
        let len = r.u16("proposal")?;
        let mut body = r.sub_with_header(usize::from(len), 4, "proposal")?;
        let number = body.u8("proposal")?;
        let protocol = ProtocolId(body.u8("proposal")?);
        let spi_size = body.u8("proposal")?;
        let num_transforms = body.u8("proposal")?;
        let spi = body.bytes(usize::from(spi_size), "proposal SPI")?.to_vec();
        let mut transforms = Vec::with_capacity(usize::from(num_transforms));
        for i in 0..num_transforms {
            if body.is_empty() {
                return Err(DecodeError::CountMismatch {
                    what: "proposal transforms",
                    declared: usize::from(num_transforms),
                    found: usize::from(i),
                });
            }
            let (t, t_last) = Transform::decode(&mut body)?;
            let expect = if i + 1 == num_transforms {
                LAST
            } else {
                MORE_TRANSFORMS
            };
            if t_last != expect {
                return Err(DecodeError::InvalidField {
                    what: "transform Last Substruc",
                    reason: "disagrees with the proposal's transform count",
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
            last,
        ))
    }

    fn encode(&self, last: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.push(if last { LAST } else { MORE_PROPOSALS });
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
        mark.patch_u16(out, "proposal")
    }

    /// The transforms of one type, in the order offered.
    pub fn transforms_of(&self, ty: TransformType) -> impl Iterator<Item = &Transform> + '_ {
        self.transforms
            .iter()
            .filter(move |t| t.id.transform_type() == ty)
    }
}

impl Sa {
    pub(crate) fn decode(mut body: Reader<'_>) -> Result<Sa, DecodeError> {
        let mut proposals = Vec::new();
        loop {
            if body.is_empty() {
                // Either an empty SA payload or a "more proposals" marker with nothing after it.
                return Err(if proposals.is_empty() {
                    DecodeError::InvalidField {
                        what: "SA payload",
                        reason: "contains no proposal",
                    }
                } else {
                    DecodeError::Truncated {
                        what: "proposal",
                        needed: 8,
                        available: 0,
                    }
                });
            }
            let (p, last) = Proposal::decode(&mut body)?;
            proposals.push(p);
            match last {
                LAST => break,
                MORE_PROPOSALS => {}
                _ => {
                    return Err(DecodeError::InvalidField {
                        what: "proposal Last Substruc",
                        reason: "neither 0 nor 2",
                    });
                }
            }
        }
        body.finish("SA payload proposals")?;
        Ok(Sa { proposals })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.proposals.is_empty() {
            return Err(EncodeError::Inconsistent {
                what: "SA payload",
                reason: "needs at least one proposal",
            });
        }
        let n = self.proposals.len();
        for (i, p) in self.proposals.iter().enumerate() {
            p.encode(i + 1 == n, out)?;
        }
        Ok(())
    }
}
