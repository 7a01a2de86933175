//! Traffic Selector payloads TSi/TSr (RFC 7296 §3.13).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{DecodeError, EncodeError};
use super::reader::{LengthMark, Reader, u8_count};
use super::registry::TsType;

/// TSi or TSr payload body (RFC 7296 §3.13).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Number of TSs |                 RESERVED                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                       <Traffic Selectors>                     ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrafficSelectors {
    pub selectors: Vec<TrafficSelector>,
}

/// One Traffic Selector (RFC 7296 §3.13.1).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   TS Type     |IP Protocol ID*|       Selector Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Start Port*         |           End Port*           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                         Starting Address*                     ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                         Ending Address*                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// (* fields of TS_IPV4_ADDR_RANGE and TS_IPV6_ADDR_RANGE; other types are kept raw.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficSelector {
    /// TS_IPV4_ADDR_RANGE (both addresses IPv4) or TS_IPV6_ADDR_RANGE (both IPv6).
    AddrRange(TsAddrRange),
    /// A TS type we do not interpret (e.g. TS_SECLABEL): the octet after the type and the bytes
    /// after the Selector Length, as received.
    Unknown {
        ty: TsType,
        second_octet: u8,
        data: Vec<u8>,
    },
}

/// An address range with protocol and port range. Both addresses must be the same family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TsAddrRange {
    /// IP protocol number; 0 means any.
    pub ip_protocol: u8,
    pub start_port: u16,
    pub end_port: u16,
    pub start: IpAddr,
    pub end: IpAddr,
}

/// Selector Length of TS_IPV4_ADDR_RANGE (RFC 7296 §3.13.1): type, protocol, length, two ports,
/// two 4-octet addresses.
const TS_V4_LEN: usize = 4 + 4 + 2 * 4;
/// Selector Length of TS_IPV6_ADDR_RANGE: as above with 16-octet addresses.
const TS_V6_LEN: usize = 4 + 4 + 2 * 16;

impl TsAddrRange {
    /// All protocols and ports over `start..=end`.
    pub fn any(start: IpAddr, end: IpAddr) -> TsAddrRange {
        TsAddrRange {
            ip_protocol: 0,
            start_port: 0,
            end_port: 0xffff,
            start,
            end,
        }
    }

    /// All protocols and ports within the CIDR `addr/prefix_len` (host bits of `addr` ignored).
    /// A prefix longer than the address is treated as a host route.
    pub fn from_cidr(addr: IpAddr, prefix_len: u8) -> TsAddrRange {
        match addr {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let host = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                TsAddrRange::any(
                    IpAddr::V4(Ipv4Addr::from(bits & !host)),
                    IpAddr::V4(Ipv4Addr::from(bits | host)),
                )
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let host = u128::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                TsAddrRange::any(
                    IpAddr::V6(Ipv6Addr::from(bits & !host)),
                    IpAddr::V6(Ipv6Addr::from(bits | host)),
                )
            }
        }
    }

    /// TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE, by address family of `start`.
    pub fn ts_type(&self) -> TsType {
        match self.start {
            IpAddr::V4(_) => TsType::TS_IPV4_ADDR_RANGE,
            IpAddr::V6(_) => TsType::TS_IPV6_ADDR_RANGE,
        }
    }
}

impl TrafficSelector {
    pub fn ts_type(&self) -> TsType {
        match self {
            TrafficSelector::AddrRange(r) => r.ts_type(),
            TrafficSelector::Unknown { ty, .. } => *ty,
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<TrafficSelector, DecodeError> {
        let ty = TsType(r.u8("traffic selector")?);
        let second = r.u8("traffic selector")?;
        let len = r.u16("traffic selector")?;
        let mut body = r.sub_with_header(usize::from(len), 4, "traffic selector")?;
        let addr_len = match ty {
            TsType::TS_IPV4_ADDR_RANGE => 4,
            TsType::TS_IPV6_ADDR_RANGE => 16,
            _ => {
                return Ok(TrafficSelector::Unknown {
                    ty,
                    second_octet: second,
                    data: body.rest().to_vec(),
                });
            }
        };
        let expected = if addr_len == 4 { TS_V4_LEN } else { TS_V6_LEN };
        if usize::from(len) != expected {
            return Err(DecodeError::InvalidField {
                what: "traffic selector Selector Length",
                reason: "must be 16 for IPv4 and 40 for IPv6 ranges",
            });
        }
        let start_port = body.u16("traffic selector")?;
        let end_port = body.u16("traffic selector")?;
        let (start, end) = if addr_len == 4 {
            (
                IpAddr::V4(Ipv4Addr::from(body.array::<4>("traffic selector address")?)),
                IpAddr::V4(Ipv4Addr::from(body.array::<4>("traffic selector address")?)),
            )
        } else {
            (
                IpAddr::V6(Ipv6Addr::from(
                    body.array::<16>("traffic selector address")?,
                )),
                IpAddr::V6(Ipv6Addr::from(
                    body.array::<16>("traffic selector address")?,
                )),
            )
        };
        body.finish("traffic selector")?;
        Ok(TrafficSelector::AddrRange(TsAddrRange {
            ip_protocol: second,
            start_port,
            end_port,
            start,
            end,
        }))
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        match self {
            TrafficSelector::AddrRange(r) => {
                out.push(r.ts_type().0);
                out.push(r.ip_protocol);
                let mark = LengthMark::u16_at(out, start);
                out.extend_from_slice(&r.start_port.to_be_bytes());
                out.extend_from_slice(&r.end_port.to_be_bytes());
                match (r.start, r.end) {
                    (IpAddr::V4(s), IpAddr::V4(e)) => {
                        out.extend_from_slice(&s.octets());
                        out.extend_from_slice(&e.octets());
                    }
                    (IpAddr::V6(s), IpAddr::V6(e)) => {
                        out.extend_from_slice(&s.octets());
                        out.extend_from_slice(&e.octets());
                    }
                    _ => {
                        return Err(EncodeError::Inconsistent {
                            what: "traffic selector",
                            reason: "start and end addresses differ in family",
                        });
                    }
                }
                mark.patch_u16(out, "traffic selector")
            }
            TrafficSelector::Unknown {
                ty,
                second_octet,
                data,
            } => {
                out.push(ty.0);
                out.push(*second_octet);
                let mark = LengthMark::u16_at(out, start);
                out.extend_from_slice(data);
                mark.patch_u16(out, "traffic selector")
            }
        }
    }
}

impl TrafficSelectors {
    pub fn new(selectors: Vec<TrafficSelector>) -> TrafficSelectors {
        TrafficSelectors { selectors }
    }

    /// Selectors built from address ranges.
    pub fn from_ranges(ranges: impl IntoIterator<Item = TsAddrRange>) -> TrafficSelectors {
        TrafficSelectors {
            selectors: ranges.into_iter().map(TrafficSelector::AddrRange).collect(),
        }
    }

    /// The address-range selectors, skipping types we do not interpret.
    pub fn ranges(&self) -> impl Iterator<Item = &TsAddrRange> + '_ {
        self.selectors.iter().filter_map(|s| match s {
            TrafficSelector::AddrRange(r) => Some(r),
            TrafficSelector::Unknown { .. } => None,
        })
    }

    pub(crate) fn decode(mut body: Reader<'_>) -> Result<TrafficSelectors, DecodeError> {
        let count = body.u8("TS payload")?;
        let _reserved = body.bytes(3, "TS payload")?;
        let mut selectors = Vec::with_capacity(usize::from(count));
        for i in 0..count {
            if body.is_empty() {
                return Err(DecodeError::CountMismatch {
                    what: "TS payload selectors",
                    declared: usize::from(count),
                    found: usize::from(i),
                });
            }
            selectors.push(TrafficSelector::decode(&mut body)?);
        }
        body.finish("TS payload selectors")?;
        Ok(TrafficSelectors { selectors })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(u8_count(self.selectors.len(), "TS payload selectors")?);
        out.extend_from_slice(&[0, 0, 0]);
        for s in &self.selectors {
            s.encode(out)?;
        }
        Ok(())
    }
}
