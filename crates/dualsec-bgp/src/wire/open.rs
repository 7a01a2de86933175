//! OPEN (RFC 4271 §4.2) with the Capabilities optional parameter (RFC 5492).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Optional parameter:            Capability (RFC 5492 §4):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-     +------------------------------+
//! | Parm. Type | Parm. Length |   | Capability Code (1 octet)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-     | Capability Length (1 octet)  |
//! ~ Parameter Value (variable)~   | Capability Value (variable)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-     +------------------------------+
//! ```

use std::net::Ipv4Addr;

use super::{DecodeError, EncodeError, Reader};
use crate::asn::Asn;

/// Optional Parameter type "Capabilities" (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;

dualsec_crypto::open_enum! {
    /// Capability Codes (IANA "Capability Codes").
    pub struct CapabilityCode(u8) {
        MULTIPROTOCOL = 1,
        ROUTE_REFRESH = 2,
        EXTENDED_NEXT_HOP = 5,
        EXTENDED_MESSAGE = 6,
        GRACEFUL_RESTART = 64,
        FOUR_OCTET_AS = 65,
        ADD_PATH = 69,
        ENHANCED_ROUTE_REFRESH = 70,
        /// Pre-standard Cisco route refresh, still sent by many speakers.
        ROUTE_REFRESH_OLD = 128,
    }
}

dualsec_crypto::open_enum! {
    /// Address Family Identifiers (IANA).
    pub struct Afi(u16) {
        IPV4 = 1,
        IPV6 = 2,
    }
}

dualsec_crypto::open_enum! {
    /// Subsequent Address Family Identifiers (IANA).
    pub struct Safi(u8) {
        UNICAST = 1,
        MULTICAST = 2,
    }
}

/// One capability advertised in OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Multiprotocol extensions (RFC 4760 §8).
    Multiprotocol {
        /// Address family.
        afi: Afi,
        /// Subsequent address family.
        safi: Safi,
    },
    /// Route refresh (RFC 2918 §2).
    RouteRefresh,
    /// Support for 4-octet AS numbers, carrying the speaker's real ASN (RFC 6793 §3).
    FourOctetAs(Asn),
    /// Anything else, kept as received.
    Unknown {
        /// Capability code.
        code: CapabilityCode,
        /// Capability value.
        value: Vec<u8>,
    },
}

impl Capability {
    /// The capability's code.
    pub fn code(&self) -> CapabilityCode {
        match self {
            Capability::Multiprotocol { .. } => CapabilityCode::MULTIPROTOCOL,
            Capability::RouteRefresh => CapabilityCode::ROUTE_REFRESH,
            Capability::FourOctetAs(_) => CapabilityCode::FOUR_OCTET_AS,
            Capability::Unknown { code, .. } => *code,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code().0);
        match self {
            Capability::Multiprotocol { afi, safi } => {
                out.push(4);
                out.extend_from_slice(&afi.0.to_be_bytes());
                out.push(0);
                out.push(safi.0);
            }
            Capability::RouteRefresh => out.push(0),
            Capability::FourOctetAs(asn) => {
                out.push(4);
                out.extend_from_slice(&asn.0.to_be_bytes());
            }
            Capability::Unknown { value, .. } => {
                // Open::encode refuses capabilities above 253 octets in total.
                out.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(value);
            }
        }
    }

    fn decode(code: u8, value: &[u8]) -> Result<Self, DecodeError> {
        let code = CapabilityCode(code);
        Ok(match (code, value) {
            (CapabilityCode::MULTIPROTOCOL, [a, b, _reserved, s]) => Capability::Multiprotocol {
                afi: Afi(u16::from_be_bytes([*a, *b])),
                safi: Safi(*s),
            },
            (CapabilityCode::ROUTE_REFRESH, []) => Capability::RouteRefresh,
            (CapabilityCode::FOUR_OCTET_AS, [a, b, c, d]) => {
                Capability::FourOctetAs(Asn(u32::from_be_bytes([*a, *b, *c, *d])))
            }
            (
                CapabilityCode::MULTIPROTOCOL
                | CapabilityCode::ROUTE_REFRESH
                | CapabilityCode::FOUR_OCTET_AS,
                _,
            ) => {
                return Err(DecodeError::MalformedOpen(
                    "capability with the wrong length",
                ));
            }
            _ => Capability::Unknown {
                code,
                value: value.to_vec(),
            },
        })
    }
}

/// An OPEN message (version 4 is implied: anything else does not decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// My Autonomous System: the sender's ASN, or AS_TRANS if it does not fit (RFC 6793 §4.1).
    pub my_as: u16,
    /// Proposed hold time in seconds: 0 or at least 3.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, from all Capabilities optional parameters in order.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The sender's real ASN: from the 4-octet AS capability if present (RFC 6793 §4.1).
    pub fn asn(&self) -> Asn {
        self.four_octet_asn().unwrap_or(Asn(u32::from(self.my_as)))
    }

    /// The ASN in the 4-octet AS capability, if advertised.
    pub fn four_octet_asn(&self) -> Option<Asn> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
    }

    /// Whether the capability with `code` was advertised.
    pub fn has(&self, code: CapabilityCode) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(4);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        // All capabilities in one Capabilities parameter (RFC 5492 §4). Opt Parm Len is one
        // octet, so they get at most 253 octets; more would need RFC 9072, which we do not send.
        let mut caps = Vec::new();
        for c in &self.capabilities {
            c.encode(&mut caps);
        }
        if caps.is_empty() {
            out.push(0);
            return Ok(());
        }
        let caps_len = u8::try_from(caps.len())
            .ok()
            .filter(|&l| l <= 253)
            .ok_or(EncodeError::OpenTooLong)?;
        out.extend_from_slice(&[caps_len + 2, PARAM_CAPABILITIES, caps_len]);
        out.extend_from_slice(&caps);
        Ok(())
    }
}

pub(super) fn decode(body: &[u8]) -> Result<Open, DecodeError> {
    // frame_len guarantees the 10 fixed octets.
    let short = DecodeError::MalformedOpen("truncated fixed part");
    let mut r = Reader::new(body);
    let version = r.u8().ok_or(short.clone())?;
    if version != 4 {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let my_as = r.u16().ok_or(short.clone())?;
    let hold_time = r.u16().ok_or(short.clone())?;
    let bgp_id = Ipv4Addr::from(r.u32().ok_or(short.clone())?);
    let opt_len = r.u8().ok_or(short)?;
    if r.remaining() != usize::from(opt_len) {
        return Err(DecodeError::MalformedOpen(
            "optional parameters length mismatch",
        ));
    }
    if hold_time == 1 || hold_time == 2 {
        return Err(DecodeError::UnacceptableHoldTime(hold_time));
    }
    if bgp_id.is_unspecified() {
        return Err(DecodeError::BadBgpIdentifier);
    }
    let mut capabilities = Vec::new();
    while !r.is_empty() {
        let ty = r
            .u8()
            .ok_or(DecodeError::MalformedOpen("truncated parameter"))?;
        let len = r
            .u8()
            .ok_or(DecodeError::MalformedOpen("truncated parameter"))?;
        let value = r
            .take(usize::from(len))
            .ok_or(DecodeError::MalformedOpen("parameter overruns the OPEN"))?;
        if ty != PARAM_CAPABILITIES {
            return Err(DecodeError::UnsupportedOptionalParameter(ty));
        }
        let mut c = Reader::new(value);
        while !c.is_empty() {
            let code = c
                .u8()
                .ok_or(DecodeError::MalformedOpen("truncated capability"))?;
            let clen = c
                .u8()
                .ok_or(DecodeError::MalformedOpen("truncated capability"))?;
            let cval = c.take(usize::from(clen)).ok_or(DecodeError::MalformedOpen(
                "capability overruns its parameter",
            ))?;
            capabilities.push(Capability::decode(code, cval)?);
        }
    }
    Ok(Open {
        my_as,
        hold_time,
        bgp_id,
        capabilities,
    })
}
