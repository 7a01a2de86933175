//! ISAKMP payloads (RFC 2408 §3.7–§3.16, RFC 2407 §4.6, RFC 3947) and the payload chain.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::v2::wire::reader::{LengthMark, Reader, u8_count, u16_len};
use crate::v2::wire::{DecodeError, EncodeError};

use super::registry::{Doi, IdType, NotifyType, PayloadType, ProtocolId};
use super::sa::Sa;

/// Length of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;

/// One ISAKMP payload. The generic payload header (RFC 2408 §3.2) is implied:
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ! Next Payload  !   RESERVED    !         Payload Length        !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Sa(Sa),
    /// Key Exchange data (§3.7).
    Ke(Vec<u8>),
    Id(Identification),
    Cert(Cert),
    /// Certificate Request (§3.10).
    Cr(Cert),
    /// Hash data (§3.11).
    Hash(Vec<u8>),
    /// Signature data (§3.12).
    Sig(Vec<u8>),
    /// Nonce data (§3.13).
    Nonce(Vec<u8>),
    Notify(Notify),
    Delete(Delete),
    /// Vendor ID (§3.16).
    VendorId(Vec<u8>),
    /// NAT-D hash (RFC 3947 §3.2).
    NatD(Vec<u8>),
    /// NAT-OA (RFC 3947 §5.2).
    NatOa(NatOa),
    /// Any other payload (mode-config ATTR, NAT-T draft numbers, unknown), kept as received.
    Other {
        ty: PayloadType,
        body: Vec<u8>,
    },
}

impl Payload {
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Payload::Sa(_) => PayloadType::SA,
            Payload::Ke(_) => PayloadType::KE,
            Payload::Id(_) => PayloadType::ID,
            Payload::Cert(_) => PayloadType::CERT,
            Payload::Cr(_) => PayloadType::CR,
            Payload::Hash(_) => PayloadType::HASH,
            Payload::Sig(_) => PayloadType::SIG,
            Payload::Nonce(_) => PayloadType::NONCE,
            Payload::Notify(_) => PayloadType::N,
            Payload::Delete(_) => PayloadType::D,
            Payload::VendorId(_) => PayloadType::VID,
            Payload::NatD(_) => PayloadType::NAT_D,
            Payload::NatOa(_) => PayloadType::NAT_OA,
            Payload::Other { ty, .. } => *ty,
        }
    }

    fn decode_body(ty: PayloadType, mut r: Reader<'_>) -> Result<Payload, DecodeError> {
        Ok(match ty {
            PayloadType::SA => Payload::Sa(Sa::decode(r)?),
            PayloadType::KE => Payload::Ke(r.rest().to_vec()),
            PayloadType::ID => Payload::Id(Identification::decode(r)?),
            PayloadType::CERT => Payload::Cert(Cert::decode(r)?),
            PayloadType::CR => Payload::Cr(Cert::decode(r)?),
            PayloadType::HASH => Payload::Hash(r.rest().to_vec()),
            PayloadType::SIG => Payload::Sig(r.rest().to_vec()),
            PayloadType::NONCE => Payload::Nonce(r.rest().to_vec()),
            PayloadType::N => Payload::Notify(Notify::decode(r)?),
            PayloadType::D => Payload::Delete(Delete::decode(r)?),
            PayloadType::VID => Payload::VendorId(r.rest().to_vec()),
            PayloadType::NAT_D => Payload::NatD(r.rest().to_vec()),
            PayloadType::NAT_OA => Payload::NatOa(NatOa::decode(r)?),
            PayloadType::PROPOSAL | PayloadType::TRANSFORM => {
                return Err(DecodeError::InvalidField {
                    what: "payload chain",
                    reason: "proposal or transform payload outside an SA payload",
                });
            }
            ty => Payload::Other {
                ty,
                body: r.rest().to_vec(),
            },
        })
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Payload::Sa(p) => p.encode(out)?,
            Payload::Id(p) => p.encode(out),
            Payload::Cert(p) | Payload::Cr(p) => p.encode(out),
            Payload::Notify(p) => p.encode(out)?,
            Payload::Delete(p) => p.encode(out)?,
            Payload::NatOa(p) => p.encode(out),
            Payload::Ke(b)
            | Payload::Hash(b)
            | Payload::Sig(b)
            | Payload::Nonce(b)
            | Payload::VendorId(b)
            | Payload::NatD(b)
            | Payload::Other { body: b, .. } => out.extend_from_slice(b),
        }
        Ok(())
    }
}

/// Identification payload (RFC 2408 §3.8, IPsec DOI RFC 2407 §4.6.2).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !  Next Payload !   RESERVED    !        Payload Length         !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !   ID Type     !  Protocol ID  !             Port              !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                     Identification Data                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Main Mode HASH_I/HASH_R cover the payload body ("IDii_b"): [`Identification::body_octets`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identification {
    pub ty: IdType,
    /// IP protocol (0 = any; phase 1 IDs use 0 or 17 with port 0 or 500).
    pub protocol: u8,
    pub port: u16,
    pub data: Vec<u8>,
}

impl Identification {
    pub fn new(ty: IdType, data: Vec<u8>) -> Identification {
        Identification {
            ty,
            protocol: 0,
            port: 0,
            data,
        }
    }

    /// ID_IPV4_ADDR / ID_IPV6_ADDR.
    pub fn ip(addr: IpAddr) -> Identification {
        match addr {
            IpAddr::V4(a) => Identification::new(IdType::ID_IPV4_ADDR, a.octets().to_vec()),
            IpAddr::V6(a) => Identification::new(IdType::ID_IPV6_ADDR, a.octets().to_vec()),
        }
    }

    /// ID_FQDN.
    pub fn fqdn(name: &str) -> Identification {
        Identification::new(IdType::ID_FQDN, name.as_bytes().to_vec())
    }

    /// ID_IPV4_ADDR_SUBNET / ID_IPV6_ADDR_SUBNET from a prefix (Quick Mode client IDs,
    /// RFC 2409 §5.5). Host bits of `addr` are cleared.
    pub fn subnet(addr: IpAddr, prefix_len: u8) -> Identification {
        match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(prefix_len.min(32)))
                    .unwrap_or(0);
                let mut data = (u32::from(a) & mask).to_be_bytes().to_vec();
                data.extend_from_slice(&mask.to_be_bytes());
                Identification::new(IdType::ID_IPV4_ADDR_SUBNET, data)
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(prefix_len.min(128)))
                    .unwrap_or(0);
                let mut data = (u128::from(a) & mask).to_be_bytes().to_vec();
                data.extend_from_slice(&mask.to_be_bytes());
                Identification::new(IdType::ID_IPV6_ADDR_SUBNET, data)
            }
        }
    }

    /// The address of an ID_IPV4_ADDR / ID_IPV6_ADDR with the right length.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self.ty {
            IdType::ID_IPV4_ADDR => <[u8; 4]>::try_from(self.data.as_slice())
                .ok()
                .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            IdType::ID_IPV6_ADDR => <[u8; 16]>::try_from(self.data.as_slice())
                .ok()
                .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
            _ => None,
        }
    }

    /// (address, mask) of an ID_IPV4_ADDR_SUBNET / ID_IPV6_ADDR_SUBNET, or (start, end) of an
    /// address range ID, with the right length.
    pub fn addr_pair(&self) -> Option<(IpAddr, IpAddr)> {
        match self.ty {
            IdType::ID_IPV4_ADDR_SUBNET | IdType::ID_IPV4_ADDR_RANGE => {
                let b = <[u8; 8]>::try_from(self.data.as_slice()).ok()?;
                let (x, y) = b.split_at(4);
                Some((
                    IpAddr::V4(Ipv4Addr::new(x[0], x[1], x[2], x[3])),
                    IpAddr::V4(Ipv4Addr::new(y[0], y[1], y[2], y[3])),
                ))
            }
            IdType::ID_IPV6_ADDR_SUBNET | IdType::ID_IPV6_ADDR_RANGE => {
                let b = <[u8; 32]>::try_from(self.data.as_slice()).ok()?;
                let mut x = [0u8; 16];
                let mut y = [0u8; 16];
                x.copy_from_slice(&b[..16]);
                y.copy_from_slice(&b[16..]);
                Some((IpAddr::V6(Ipv6Addr::from(x)), IpAddr::V6(Ipv6Addr::from(y))))
            }
            _ => None,
        }
    }

    /// The payload body as HASH_I/HASH_R sign it (RFC 2409 §5: IDii_b / IDir_b).
    pub fn body_octets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.data.len());
        self.encode(&mut out);
        out
    }

    fn decode(mut r: Reader<'_>) -> Result<Identification, DecodeError> {
        let ty = IdType(r.u8("ID payload")?);
        let protocol = r.u8("ID payload")?;
        let port = r.u16("ID payload")?;
        Ok(Identification {
            ty,
            protocol,
            port,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.ty.0);
        out.push(self.protocol);
        out.extend_from_slice(&self.port.to_be_bytes());
        out.extend_from_slice(&self.data);
    }
}

/// Certificate / Certificate Request payload (RFC 2408 §3.9, §3.10): encoding + data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub encoding: u8,
    pub data: Vec<u8>,
}

impl Cert {
    fn decode(mut r: Reader<'_>) -> Result<Cert, DecodeError> {
        let encoding = r.u8("CERT payload")?;
        Ok(Cert {
            encoding,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.encoding);
        out.extend_from_slice(&self.data);
    }
}

/// Notification payload (RFC 2408 §3.14).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ! Next Payload  !   RESERVED    !         Payload Length        !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !              Domain of Interpretation  (DOI)                  !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !  Protocol-ID  !   SPI Size    !      Notify Message Type      !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                Security Parameter Index (SPI)                 ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                       Notification Data                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub doi: Doi,
    pub protocol: ProtocolId,
    /// For ISAKMP-SA notifies (e.g. DPD R-U-THERE, RFC 3706 §5.1) the 16-octet cookie pair.
    pub spi: Vec<u8>,
    pub ty: NotifyType,
    pub data: Vec<u8>,
}

impl Notify {
    /// DPD R-U-THERE / R-U-THERE-ACK about the ISAKMP SA `cookies` with a 4-octet sequence
    /// number (RFC 3706 §5.1).
    pub fn dpd(ty: NotifyType, cookies: [u8; 16], seq: u32) -> Notify {
        Notify {
            doi: Doi::IPSEC,
            protocol: ProtocolId::ISAKMP,
            spi: cookies.to_vec(),
            ty,
            data: seq.to_be_bytes().to_vec(),
        }
    }

    fn decode(mut r: Reader<'_>) -> Result<Notify, DecodeError> {
        let doi = Doi(r.u32("N payload")?);
        let protocol = ProtocolId(r.u8("N payload")?);
        let spi_size = r.u8("N payload")?;
        let ty = NotifyType(r.u16("N payload")?);
        let spi = r.bytes(usize::from(spi_size), "N payload SPI")?.to_vec();
        Ok(Notify {
            doi,
            protocol,
            spi,
            ty,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.doi.0.to_be_bytes());
        out.push(self.protocol.0);
        out.push(u8_count(self.spi.len(), "N payload SPI size")?);
        out.extend_from_slice(&self.ty.0.to_be_bytes());
        out.extend_from_slice(&self.spi);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

/// Delete payload (RFC 2408 §3.15). An ISAKMP SA is deleted by its 16-octet cookie pair.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ! Next Payload  !   RESERVED    !         Payload Length        !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !              Domain of Interpretation  (DOI)                  !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !  Protocol-Id  !   SPI Size    !           # of SPIs           !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~               Security Parameter Index(es) (SPI)              ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub doi: Doi,
    pub protocol: ProtocolId,
    pub spi_size: u8,
    /// Each exactly `spi_size` octets.
    pub spis: Vec<Vec<u8>>,
}

impl Delete {
    /// Deletes the ISAKMP SA identified by its cookies.
    pub fn isakmp(cookies: [u8; 16]) -> Delete {
        Delete {
            doi: Doi::IPSEC,
            protocol: ProtocolId::ISAKMP,
            spi_size: 16,
            spis: vec![cookies.to_vec()],
        }
    }

    /// Deletes ESP SAs by SPI.
    pub fn esp(spis: &[u32]) -> Delete {
        Delete {
            doi: Doi::IPSEC,
            protocol: ProtocolId::IPSEC_ESP,
            spi_size: 4,
            spis: spis.iter().map(|s| s.to_be_bytes().to_vec()).collect(),
        }
    }

    fn decode(mut r: Reader<'_>) -> Result<Delete, DecodeError> {
        let doi = Doi(r.u32("D payload")?);
        let protocol = ProtocolId(r.u8("D payload")?);
        let spi_size = r.u8("D payload")?;
        let count = r.u16("D payload")?;
        if spi_size == 0 && count != 0 {
            return Err(DecodeError::InvalidField {
                what: "D payload",
                reason: "SPIs of size zero",
            });
        }
        let mut spis = Vec::with_capacity(usize::from(count).min(r.remaining()));
        for _ in 0..count {
            spis.push(r.bytes(usize::from(spi_size), "D payload SPI")?.to_vec());
        }
        r.finish("D payload SPIs")?;
        Ok(Delete {
            doi,
            protocol,
            spi_size,
            spis,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self
            .spis
            .iter()
            .any(|s| s.len() != usize::from(self.spi_size))
            || (self.spi_size == 0 && !self.spis.is_empty())
        {
            return Err(EncodeError::Inconsistent {
                what: "D payload",
                reason: "every SPI must be SPI Size octets",
            });
        }
        out.extend_from_slice(&self.doi.0.to_be_bytes());
        out.push(self.protocol.0);
        out.push(self.spi_size);
        out.extend_from_slice(&u16_len(self.spis.len(), "D payload # of SPIs")?.to_be_bytes());
        for s in &self.spis {
            out.extend_from_slice(s);
        }
        Ok(())
    }
}

/// NAT Original Address payload (RFC 3947 §5.2).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |    RESERVED   |        Payload length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |    ID Type    |   RESERVED    |            RESERVED           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           IPv4 (4 octets) or IPv6 address (16 octets)         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatOa {
    pub addr: IpAddr,
}

impl NatOa {
    fn decode(mut r: Reader<'_>) -> Result<NatOa, DecodeError> {
        let ty = IdType(r.u8("NAT-OA payload")?);
        let _reserved = r.bytes(3, "NAT-OA payload")?;
        let addr = match ty {
            IdType::ID_IPV4_ADDR => IpAddr::V4(Ipv4Addr::from(r.array::<4>("NAT-OA address")?)),
            IdType::ID_IPV6_ADDR => IpAddr::V6(Ipv6Addr::from(r.array::<16>("NAT-OA address")?)),
            _ => {
                return Err(DecodeError::InvalidField {
                    what: "NAT-OA ID Type",
                    reason: "must be ID_IPV4_ADDR or ID_IPV6_ADDR",
                });
            }
        };
        r.finish("NAT-OA payload")?;
        Ok(NatOa { addr })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self.addr {
            IpAddr::V4(a) => {
                out.extend_from_slice(&[IdType::ID_IPV4_ADDR.0, 0, 0, 0]);
                out.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out.extend_from_slice(&[IdType::ID_IPV6_ADDR.0, 0, 0, 0]);
                out.extend_from_slice(&a.octets());
            }
        }
    }
}

/// Where one payload sits in the bytes it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadSpan {
    /// Generic header included.
    pub payload: Range<usize>,
}

impl PayloadSpan {
    /// The body after the generic header (what "SAi_b" and "IDii_b" mean in RFC 2409 §5).
    pub fn body(&self) -> Range<usize> {
        self.payload.start + GENERIC_HEADER_LEN..self.payload.end
    }
}

/// Decodes a chain starting with `first`. Returns the payloads, their spans relative to
/// `bytes`, and the number of bytes after the last payload. `allow_padding` accepts those
/// (decrypted bodies, RFC 2409 Appendix B); otherwise they are an error.
pub(crate) fn decode_chain(
    first: PayloadType,
    bytes: &[u8],
    allow_padding: bool,
) -> Result<(Vec<Payload>, Vec<PayloadSpan>, usize), DecodeError> {
    let mut r = Reader::new(bytes);
    let mut payloads = Vec::new();
    let mut spans = Vec::new();
    let mut current = first;
    while current != PayloadType::NONE {
        let start = r.position();
        let next = PayloadType(r.u8("generic payload header")?);
        let _reserved = r.u8("generic payload header")?;
        let len = r.u16("generic payload header")?;
        let body = r.sub_with_header(usize::from(len), GENERIC_HEADER_LEN, "payload")?;
        payloads.push(Payload::decode_body(current, body)?);
        spans.push(PayloadSpan {
            payload: start..r.position(),
        });
        current = next;
    }
    if !allow_padding {
        r.finish("payload chain")?;
    }
    Ok((payloads, spans, r.remaining()))
}

/// Encodes a chain; returns the first payload's type (NONE if empty).
pub(crate) fn encode_chain(
    payloads: &[Payload],
    out: &mut Vec<u8>,
) -> Result<PayloadType, EncodeError> {
    for (i, p) in payloads.iter().enumerate() {
        let next = payloads
            .get(i + 1)
            .map_or(PayloadType::NONE, Payload::payload_type);
        let start = out.len();
        out.push(next.0);
        out.push(0);
        let mark = LengthMark::u16_at(out, start);
        p.encode_body(out)?;
        mark.patch_u16(out, "payload")?;
    }
    Ok(payloads
        .first()
        .map_or(PayloadType::NONE, Payload::payload_type))
}
