//! The payload chain (RFC 7296 §3.2) and the simple payload bodies (§3.4–§3.12, §3.15).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{DecodeError, EncodeError};
use super::reader::{LengthMark, Reader, u16_len};
use super::registry::{
    AuthMethod, CertEncoding, ConfigAttrType, ConfigType, DhId, IdType, NotifyType, PayloadType,
    ProtocolId,
};
use super::sa::Sa;
use super::ts::TrafficSelectors;

/// Length of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;

/// The critical bit in the generic payload header's second octet.
const CRITICAL: u8 = 0x80;

/// One IKEv2 payload. The generic payload header (RFC 7296 §3.2) is implied:
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Next Payload is derived from the position in the chain, Payload Length is back-patched, and
/// the critical bit is sent as 0 for every payload we know (RFC 7296 §3.2) and ignored on receipt
/// for them. Unknown payloads keep their bit ([`UnknownPayload::critical`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Sa(Sa),
    Ke(KeyExchange),
    IdI(Identification),
    IdR(Identification),
    Cert(Cert),
    CertReq(Cert),
    Auth(Auth),
    /// Ni or Nr.
    Nonce(Nonce),
    Notify(Notify),
    Delete(Delete),
    VendorId(VendorId),
    TsI(TrafficSelectors),
    TsR(TrafficSelectors),
    /// SK: always the last payload of its chain.
    Encrypted(Encrypted),
    Config(Config),
    /// EAP (RFC 7296 §3.16), kept raw: we do not run EAP.
    Eap(Vec<u8>),
    /// SKF (RFC 7383 §2.5): always the last payload of its chain.
    EncryptedFragment(EncryptedFragment),
    /// A payload type we do not interpret, kept as received.
    Unknown(UnknownPayload),
}

impl Payload {
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Payload::Sa(_) => PayloadType::SA,
            Payload::Ke(_) => PayloadType::KE,
            Payload::IdI(_) => PayloadType::IDI,
            Payload::IdR(_) => PayloadType::IDR,
            Payload::Cert(_) => PayloadType::CERT,
            Payload::CertReq(_) => PayloadType::CERTREQ,
            Payload::Auth(_) => PayloadType::AUTH,
            Payload::Nonce(_) => PayloadType::NONCE,
            Payload::Notify(_) => PayloadType::NOTIFY,
            Payload::Delete(_) => PayloadType::DELETE,
            Payload::VendorId(_) => PayloadType::VENDOR_ID,
            Payload::TsI(_) => PayloadType::TSI,
            Payload::TsR(_) => PayloadType::TSR,
            Payload::Encrypted(_) => PayloadType::SK,
            Payload::Config(_) => PayloadType::CP,
            Payload::Eap(_) => PayloadType::EAP,
            Payload::EncryptedFragment(_) => PayloadType::SKF,
            Payload::Unknown(u) => u.ty,
        }
    }

    fn decode_body(
        ty: PayloadType,
        mut body: Reader<'_>,
        next: PayloadType,
    ) -> Result<Payload, DecodeError> {
        Ok(match ty {
            PayloadType::SA => Payload::Sa(Sa::decode(body)?),
            PayloadType::KE => Payload::Ke(KeyExchange::decode(body)?),
            PayloadType::IDI => Payload::IdI(Identification::decode(body)?),
            PayloadType::IDR => Payload::IdR(Identification::decode(body)?),
            PayloadType::CERT => Payload::Cert(Cert::decode(body)?),
            PayloadType::CERTREQ => Payload::CertReq(Cert::decode(body)?),
            PayloadType::AUTH => Payload::Auth(Auth::decode(body)?),
            PayloadType::NONCE => Payload::Nonce(Nonce(body.rest().to_vec())),
            PayloadType::NOTIFY => Payload::Notify(Notify::decode(body)?),
            PayloadType::DELETE => Payload::Delete(Delete::decode(body)?),
            PayloadType::VENDOR_ID => Payload::VendorId(VendorId(body.rest().to_vec())),
            PayloadType::TSI => Payload::TsI(TrafficSelectors::decode(body)?),
            PayloadType::TSR => Payload::TsR(TrafficSelectors::decode(body)?),
            PayloadType::SK => Payload::Encrypted(Encrypted {
                first_inner: next,
                data: body.rest().to_vec(),
            }),
            PayloadType::CP => Payload::Config(Config::decode(body)?),
            PayloadType::EAP => Payload::Eap(body.rest().to_vec()),
            PayloadType::SKF => Payload::EncryptedFragment(EncryptedFragment::decode(body, next)?),
            // Not reached: `decode_chain` sends unrecognized types to `UnknownPayload` itself.
            _ => Payload::Unknown(UnknownPayload {
                ty,
                critical: false,
                body: body.rest().to_vec(),
            }),
        })
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Payload::Sa(p) => p.encode(out)?,
            Payload::Ke(p) => p.encode(out),
            Payload::IdI(p) | Payload::IdR(p) => p.encode(out),
            Payload::Cert(p) | Payload::CertReq(p) => p.encode(out),
            Payload::Auth(p) => p.encode(out),
            Payload::Nonce(p) => out.extend_from_slice(&p.0),
            Payload::Notify(p) => p.encode(out)?,
            Payload::Delete(p) => p.encode(out)?,
            Payload::VendorId(p) => out.extend_from_slice(&p.0),
            Payload::TsI(p) | Payload::TsR(p) => p.encode(out)?,
            Payload::Encrypted(p) => out.extend_from_slice(&p.data),
            Payload::Config(p) => p.encode(out)?,
            Payload::Eap(p) => out.extend_from_slice(p),
            Payload::EncryptedFragment(p) => p.encode_body(out),
            Payload::Unknown(p) => out.extend_from_slice(&p.body),
        }
        Ok(())
    }

    /// The Next Payload value this payload writes when it is the last of its chain: the first
    /// inner payload type for SK/SKF (RFC 7296 §3.14, RFC 7383 §2.5), NONE otherwise.
    fn chain_end_next(&self) -> PayloadType {
        match self {
            Payload::Encrypted(e) => e.first_inner,
            Payload::EncryptedFragment(f) => f.first_inner,
            _ => PayloadType::NONE,
        }
    }

    fn ends_chain(&self) -> bool {
        matches!(self, Payload::Encrypted(_) | Payload::EncryptedFragment(_))
    }
}

/// Whether the decoder interprets this payload type (RFC 7296 §2.5 "recognized").
pub fn is_known_payload_type(ty: PayloadType) -> bool {
    matches!(
        ty,
        PayloadType::SA
            | PayloadType::KE
            | PayloadType::IDI
            | PayloadType::IDR
            | PayloadType::CERT
            | PayloadType::CERTREQ
            | PayloadType::AUTH
            | PayloadType::NONCE
            | PayloadType::NOTIFY
            | PayloadType::DELETE
            | PayloadType::VENDOR_ID
            | PayloadType::TSI
            | PayloadType::TSR
            | PayloadType::SK
            | PayloadType::CP
            | PayloadType::EAP
            | PayloadType::SKF
    )
}

/// Where a chain sits: the outer chain may end in SK/SKF, a decrypted inner chain may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainKind {
    Outer,
    Inner,
}

/// Decodes a payload chain starting with `first`, consuming the reader entirely.
pub(crate) fn decode_chain(
    first: PayloadType,
    r: &mut Reader<'_>,
    kind: ChainKind,
) -> Result<Vec<Payload>, DecodeError> {
    let mut payloads = Vec::new();
    let mut current = first;
    while current != PayloadType::NONE {
        let next = PayloadType(r.u8("generic payload header")?);
        let flags = r.u8("generic payload header")?;
        let len = r.u16("generic payload header")?;
        let mut body = r.sub_with_header(usize::from(len), GENERIC_HEADER_LEN, "payload")?;
        if !is_known_payload_type(current) {
            // RFC 7296 §2.5: an unrecognized critical payload rejects the whole message.
            if flags & CRITICAL != 0 {
                return Err(DecodeError::UnsupportedCriticalPayload { payload: current });
            }
            payloads.push(Payload::Unknown(UnknownPayload {
                ty: current,
                critical: false,
                body: body.rest().to_vec(),
            }));
            current = next;
            continue;
        }
        let ends = matches!(current, PayloadType::SK | PayloadType::SKF);
        if ends && kind == ChainKind::Inner {
            return Err(DecodeError::InvalidField {
                what: "payload chain",
                reason: "an encrypted payload inside an encrypted payload",
            });
        }
        payloads.push(Payload::decode_body(current, body, next)?);
        if ends {
            // RFC 7296 §3.14: SK is the last payload; its Next Payload names the first inner one.
            break;
        }
        current = next;
    }
    r.finish("payload chain")?;
    Ok(payloads)
}

/// Encodes a payload chain; returns the type of its first payload (NONE if empty), which the
/// caller puts into the IKE header or the enclosing SK payload.
pub(crate) fn encode_chain(
    payloads: &[Payload],
    out: &mut Vec<u8>,
) -> Result<PayloadType, EncodeError> {
    for (i, p) in payloads.iter().enumerate() {
        let is_last = i + 1 == payloads.len();
        if p.ends_chain() && !is_last {
            return Err(EncodeError::Inconsistent {
                what: "payload chain",
                reason: "SK/SKF must be the last payload",
            });
        }
        let next = match payloads.get(i + 1) {
            Some(n) => n.payload_type(),
            None => p.chain_end_next(),
        };
        let start = out.len();
        out.push(next.0);
        out.push(match p {
            Payload::Unknown(u) if u.critical => CRITICAL,
            _ => 0,
        });
        let mark = LengthMark::u16_at(out, start);
        p.encode_body(out)?;
        mark.patch_u16(out, "payload")?;
    }
    Ok(payloads
        .first()
        .map_or(PayloadType::NONE, Payload::payload_type))
}

/// Decodes a decrypted inner payload chain (the plaintext of SK after the caller removed the
/// padding, see [`super::sk`]). `first` is the SK payload's Next Payload field.
pub fn decode_payloads(first: PayloadType, bytes: &[u8]) -> Result<Vec<Payload>, DecodeError> {
    decode_chain(first, &mut Reader::new(bytes), ChainKind::Inner)
}

/// Encodes an inner payload chain (to be encrypted into SK); returns the first payload's type and
/// the bytes. SK/SKF inside are rejected.
pub fn encode_payloads(payloads: &[Payload]) -> Result<(PayloadType, Vec<u8>), EncodeError> {
    if payloads.iter().any(Payload::ends_chain) {
        return Err(EncodeError::Inconsistent {
            what: "inner payload chain",
            reason: "SK/SKF cannot be encrypted inside SK",
        });
    }
    let mut out = Vec::new();
    let first = encode_chain(payloads, &mut out)?;
    Ok((first, out))
}

/// A payload we do not interpret (RFC 7296 §2.5: unrecognized non-critical payloads are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPayload {
    pub ty: PayloadType,
    /// Always false after decoding (a critical unknown payload is an error); settable for tests
    /// and for forwarding.
    pub critical: bool,
    pub body: Vec<u8>,
}

/// Key Exchange payload (RFC 7296 §3.4).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Diffie-Hellman Group Num    |           RESERVED            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                       Key Exchange Data                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExchange {
    pub group: DhId,
    pub data: Vec<u8>,
}

impl KeyExchange {
    fn decode(mut r: Reader<'_>) -> Result<KeyExchange, DecodeError> {
        let group = DhId(r.u16("KE payload")?);
        let _reserved = r.u16("KE payload")?;
        Ok(KeyExchange {
            group,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.group.0.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.data);
    }
}

/// Identification payload IDi/IDr (RFC 7296 §3.5).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   ID Type     |                 RESERVED                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                   Identification Data                         ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// The RESERVED octets are kept as received because AUTH (RFC 7296 §2.15) is computed over the
/// payload body exactly as sent ("RestOfInitIDPayload"): use [`Identification::auth_octets`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identification {
    pub ty: IdType,
    pub reserved: [u8; 3],
    pub data: Vec<u8>,
}

impl Identification {
    pub fn new(ty: IdType, data: Vec<u8>) -> Identification {
        Identification {
            ty,
            reserved: [0; 3],
            data,
        }
    }

    /// ID_IPV4_ADDR or ID_IPV6_ADDR.
    pub fn ip(addr: IpAddr) -> Identification {
        match addr {
            IpAddr::V4(a) => Identification::new(IdType::ID_IPV4_ADDR, a.octets().to_vec()),
            IpAddr::V6(a) => Identification::new(IdType::ID_IPV6_ADDR, a.octets().to_vec()),
        }
    }

    /// ID_FQDN (no terminator, RFC 7296 §3.5).
    pub fn fqdn(name: &str) -> Identification {
        Identification::new(IdType::ID_FQDN, name.as_bytes().to_vec())
    }

    /// ID_RFC822_ADDR.
    pub fn rfc822(addr: &str) -> Identification {
        Identification::new(IdType::ID_RFC822_ADDR, addr.as_bytes().to_vec())
    }

    /// ID_KEY_ID (opaque octets).
    pub fn key_id(id: &[u8]) -> Identification {
        Identification::new(IdType::ID_KEY_ID, id.to_vec())
    }

    /// The address of an ID_IPV4_ADDR/ID_IPV6_ADDR identity with the right data length.
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

    /// The payload body after the generic header, as AUTH signs it (RFC 7296 §2.15
    /// "RestOfInitIDPayload" / "RestOfRespIDPayload").
    pub fn auth_octets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.data.len());
        self.encode(&mut out);
        out
    }

    fn decode(mut r: Reader<'_>) -> Result<Identification, DecodeError> {
        let ty = IdType(r.u8("ID payload")?);
        let reserved = r.array::<3>("ID payload")?;
        Ok(Identification {
            ty,
            reserved,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.ty.0);
        out.extend_from_slice(&self.reserved);
        out.extend_from_slice(&self.data);
    }
}

/// Certificate and Certificate Request payloads (RFC 7296 §3.6, §3.7): encoding + opaque data.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Cert Encoding |                                               |
/// +-+-+-+-+-+-+-+-+                                               |
/// ~             Certificate Data / Certification Authority        ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub encoding: CertEncoding,
    pub data: Vec<u8>,
}

impl Cert {
    fn decode(mut r: Reader<'_>) -> Result<Cert, DecodeError> {
        let encoding = CertEncoding(r.u8("CERT payload")?);
        Ok(Cert {
            encoding,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.encoding.0);
        out.extend_from_slice(&self.data);
    }
}

/// Authentication payload (RFC 7296 §3.8).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Auth Method   |                RESERVED                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                      Authentication Data                      ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub method: AuthMethod,
    pub data: Vec<u8>,
}

impl Auth {
    fn decode(mut r: Reader<'_>) -> Result<Auth, DecodeError> {
        let method = AuthMethod(r.u8("AUTH payload")?);
        let _reserved = r.bytes(3, "AUTH payload")?;
        Ok(Auth {
            method,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.method.0);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&self.data);
    }
}

/// Nonce payload Ni/Nr (RFC 7296 §3.9): 16..=256 octets of random data (checked by the caller).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                            Nonce Data                         ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(pub Vec<u8>);

/// Vendor ID payload (RFC 7296 §3.12): opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorId(pub Vec<u8>);

/// Notify payload (RFC 7296 §3.10).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                Security Parameter Index (SPI)                 ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                       Notification Data                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// NONE (0) when the notify is not about a particular SA.
    pub protocol: ProtocolId,
    pub spi: Vec<u8>,
    pub ty: NotifyType,
    pub data: Vec<u8>,
}

impl Notify {
    /// A notify about no particular SA (protocol 0, no SPI).
    pub fn new(ty: NotifyType, data: Vec<u8>) -> Notify {
        Notify {
            protocol: ProtocolId::NONE,
            spi: Vec::new(),
            ty,
            data,
        }
    }

    /// A notify about an ESP/AH SA (e.g. REKEY_SA, CHILD_SA_NOT_FOUND, INVALID_SPI).
    pub fn for_spi(protocol: ProtocolId, spi: u32, ty: NotifyType, data: Vec<u8>) -> Notify {
        Notify {
            protocol,
            spi: spi.to_be_bytes().to_vec(),
            ty,
            data,
        }
    }

    /// UNSUPPORTED_CRITICAL_PAYLOAD carrying the offending type (RFC 7296 §3.10.1).
    pub fn unsupported_critical_payload(ty: PayloadType) -> Notify {
        Notify::new(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, vec![ty.0])
    }

    /// INVALID_KE_PAYLOAD carrying the group we accept (RFC 7296 §1.3, §3.10.1).
    pub fn invalid_ke_payload(group: DhId) -> Notify {
        Notify::new(
            NotifyType::INVALID_KE_PAYLOAD,
            group.0.to_be_bytes().to_vec(),
        )
    }

    /// The SPI as a 4-octet ESP/AH SPI, if it is one.
    pub fn spi_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.spi.as_slice())
            .ok()
            .map(u32::from_be_bytes)
    }

    /// The data as one big-endian u16 (INVALID_KE_PAYLOAD's group).
    pub fn data_u16(&self) -> Option<u16> {
        <[u8; 2]>::try_from(self.data.as_slice())
            .ok()
            .map(u16::from_be_bytes)
    }

    /// The data as one big-endian u32 (SET_WINDOW_SIZE).
    pub fn data_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.data.as_slice())
            .ok()
            .map(u32::from_be_bytes)
    }

    /// SIGNATURE_HASH_ALGORITHMS data: a list of 16-bit hash ids (RFC 7427 §4); `None` if the
    /// length is odd.
    pub fn data_u16_list(&self) -> Option<Vec<u16>> {
        if self.data.len() % 2 != 0 {
            return None;
        }
        Some(
            self.data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
        )
    }

    fn decode(mut r: Reader<'_>) -> Result<Notify, DecodeError> {
        let protocol = ProtocolId(r.u8("Notify payload")?);
        let spi_size = r.u8("Notify payload")?;
        let ty = NotifyType(r.u16("Notify payload")?);
        let spi = r.bytes(usize::from(spi_size), "Notify SPI")?.to_vec();
        Ok(Notify {
            protocol,
            spi,
            ty,
            data: r.rest().to_vec(),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.protocol.0);
        out.push(super::reader::u8_count(self.spi.len(), "Notify SPI size")?);
        out.extend_from_slice(&self.ty.0.to_be_bytes());
        out.extend_from_slice(&self.spi);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

/// Delete payload (RFC 7296 §3.11). For the IKE SA the SPI size and count are zero (the SPIs
/// are in the header); ESP and AH carry 4-octet SPIs.
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Protocol ID   |   SPI Size    |          Num of SPIs          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~               Security Parameter Index(es) (SPI)              ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub protocol: ProtocolId,
    /// Empty for IKE; the SPIs (as the deleting side's peer knows them) for ESP/AH.
    pub spis: Vec<u32>,
}

impl Delete {
    /// Deletes the IKE SA this message belongs to.
    pub fn ike() -> Delete {
        Delete {
            protocol: ProtocolId::IKE,
            spis: Vec::new(),
        }
    }

    /// Deletes Child SAs by their inbound SPIs.
    pub fn esp(spis: Vec<u32>) -> Delete {
        Delete {
            protocol: ProtocolId::ESP,
            spis,
        }
    }

    fn decode(mut r: Reader<'_>) -> Result<Delete, DecodeError> {
        let protocol = ProtocolId(r.u8("Delete payload")?);
        let spi_size = r.u8("Delete payload")?;
        let count = r.u16("Delete payload")?;
        let want = if protocol == ProtocolId::IKE { 0 } else { 4 };
        if spi_size != want {
            return Err(DecodeError::InvalidField {
                what: "Delete SPI Size",
                reason: "must be 0 for IKE and 4 for ESP/AH",
            });
        }
        if protocol == ProtocolId::IKE {
            if count != 0 {
                return Err(DecodeError::InvalidField {
                    what: "Delete Num of SPIs",
                    reason: "must be 0 for the IKE SA",
                });
            }
            r.finish("Delete payload")?;
            return Ok(Delete::ike());
        }
        let mut spis = Vec::with_capacity(usize::from(count).min(r.remaining() / 4));
        for _ in 0..count {
            spis.push(r.u32("Delete SPI")?);
        }
        r.finish("Delete SPIs")?;
        Ok(Delete { protocol, spis })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.protocol.0);
        if self.protocol == ProtocolId::IKE {
            if !self.spis.is_empty() {
                return Err(EncodeError::Inconsistent {
                    what: "Delete payload",
                    reason: "an IKE SA delete carries no SPIs",
                });
            }
            out.extend_from_slice(&[0, 0, 0]);
            return Ok(());
        }
        out.push(4);
        out.extend_from_slice(&u16_len(self.spis.len(), "Delete Num of SPIs")?.to_be_bytes());
        for s in &self.spis {
            out.extend_from_slice(&s.to_be_bytes());
        }
        Ok(())
    }
}

/// Configuration payload CP (RFC 7296 §3.15).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C| RESERVED    |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   CFG Type    |                    RESERVED                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                   Configuration Attributes                    ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// Configuration Attribute (§3.15.1):
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |R|         Attribute Type      |            Length             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                             Value                             ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub cfg_type: ConfigType,
    pub attributes: Vec<ConfigAttribute>,
}

/// One configuration attribute; the R bit is sent as 0 and ignored on receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigAttribute {
    pub ty: ConfigAttrType,
    pub value: Vec<u8>,
}

impl Config {
    fn decode(mut r: Reader<'_>) -> Result<Config, DecodeError> {
        let cfg_type = ConfigType(r.u8("CP payload")?);
        let _reserved = r.bytes(3, "CP payload")?;
        let mut attributes = Vec::new();
        while !r.is_empty() {
            let ty = ConfigAttrType(r.u16("configuration attribute")? & 0x7fff);
            let len = r.u16("configuration attribute")?;
            let value = r
                .bytes(usize::from(len), "configuration attribute value")?
                .to_vec();
            attributes.push(ConfigAttribute { ty, value });
        }
        Ok(Config {
            cfg_type,
            attributes,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.cfg_type.0);
        out.extend_from_slice(&[0, 0, 0]);
        for a in &self.attributes {
            if a.ty.0 & 0x8000 != 0 {
                return Err(EncodeError::Inconsistent {
                    what: "configuration attribute",
                    reason: "attribute type exceeds 15 bits",
                });
            }
            out.extend_from_slice(&a.ty.0.to_be_bytes());
            out.extend_from_slice(
                &u16_len(a.value.len(), "configuration attribute")?.to_be_bytes(),
            );
            out.extend_from_slice(&a.value);
        }
        Ok(())
    }
}

/// Encrypted and Authenticated payload SK (RFC 7296 §3.14), still encrypted.
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Initialization Vector                     |
/// |         (length is block size for encryption algorithm)       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                    Encrypted IKE Payloads                     ~
/// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               |             Padding (0-255 octets)            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                               |  Pad Length   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                    Integrity Checksum Data                    ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    /// The Next Payload field: type of the first payload inside.
    pub first_inner: PayloadType,
    /// IV, ciphertext (inner payloads + padding + pad length) and ICV, as on the wire.
    pub data: Vec<u8>,
}

/// Encrypted and Authenticated Fragment payload SKF (RFC 7383 §2.5).
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |        Fragment Number        |        Total Fragments        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Initialization Vector                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                      Encrypted content                        ~
/// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               |             Padding (0-255 octets)            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                               |  Pad Length   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                    Integrity Checksum Data                    ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFragment {
    /// 1-based; never 0 and never above `total` (checked on decode).
    pub number: u16,
    pub total: u16,
    /// Next Payload: the first inner payload type in fragment 1, NONE in the others.
    pub first_inner: PayloadType,
    /// IV, ciphertext and ICV, as on the wire.
    pub data: Vec<u8>,
}

/// Length of the SKF-specific header after the generic header (Fragment Number, Total).
pub const SKF_HEADER_LEN: usize = 4;

impl EncryptedFragment {
    fn decode(mut r: Reader<'_>, next: PayloadType) -> Result<EncryptedFragment, DecodeError> {
        let number = r.u16("SKF payload")?;
        let total = r.u16("SKF payload")?;
        if number == 0 || total == 0 || number > total {
            return Err(DecodeError::InvalidField {
                what: "SKF Fragment Number",
                reason: "must satisfy 1 <= number <= total",
            });
        }
        Ok(EncryptedFragment {
            number,
            total,
            first_inner: next,
            data: r.rest().to_vec(),
        })
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.total.to_be_bytes());
        out.extend_from_slice(&self.data);
    }
}
