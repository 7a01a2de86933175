//! The IKE header (RFC 7296 §3.1): a zero-copy view for dispatch and an owned [`Header`].

use super::error::DecodeError;
use super::reader::Reader;
use super::registry::{ExchangeType, PayloadType};

/// Length of the fixed IKE header.
pub const HEADER_LEN: usize = 28;

/// IKE major version we speak (RFC 7296 §3.1).
pub const IKEV2_MAJOR: u8 = 2;

/// The version octet we send: major 2, minor 0.
pub const IKEV2_VERSION: u8 = 0x20;

/// An IKE SA SPI (RFC 7296 §3.1). Zero in the responder slot of an IKE_SA_INIT request.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct IkeSpi(pub u64);

impl IkeSpi {
    pub const ZERO: IkeSpi = IkeSpi(0);

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl core::fmt::Debug for IkeSpi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl core::fmt::Display for IkeSpi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

/// Header flags octet (RFC 7296 §3.1): `X X R V I X X X`. Unknown bits are kept as received.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// I: set by the original initiator of the IKE SA.
    pub const INITIATOR: Flags = Flags(0x08);
    /// V: the sender can speak a higher major version.
    pub const VERSION: Flags = Flags(0x10);
    /// R: this message is a response.
    pub const RESPONSE: Flags = Flags(0x20);

    pub fn initiator(self) -> bool {
        self.0 & Self::INITIATOR.0 != 0
    }

    pub fn version(self) -> bool {
        self.0 & Self::VERSION.0 != 0
    }

    pub fn response(self) -> bool {
        self.0 & Self::RESPONSE.0 != 0
    }

    /// Flags for a message sent by `original initiator?` that `is a response?`.
    pub fn new(initiator: bool, response: bool) -> Flags {
        let mut f = 0;
        if initiator {
            f |= Self::INITIATOR.0;
        }
        if response {
            f |= Self::RESPONSE.0;
        }
        Flags(f)
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::fmt::Debug for Flags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Flags({:#04x}", self.0)?;
        if self.initiator() {
            f.write_str(" I")?;
        }
        if self.version() {
            f.write_str(" V")?;
        }
        if self.response() {
            f.write_str(" R")?;
        }
        f.write_str(")")
    }
}

/// The IKE header without its two derived fields (Next Payload and Length), which the encoder
/// computes from the payloads. [`HeaderView`] exposes them raw.
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IKE SA Initiator's SPI                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IKE SA Responder's SPI                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          Message ID                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                            Length                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub spi_i: IkeSpi,
    pub spi_r: IkeSpi,
    /// Version octet: major in the high nibble, minor in the low (kept as received).
    pub version: u8,
    pub exchange: ExchangeType,
    pub flags: Flags,
    pub message_id: u32,
}

impl Header {
    /// A version-2.0 header.
    pub fn new(
        spi_i: IkeSpi,
        spi_r: IkeSpi,
        exchange: ExchangeType,
        flags: Flags,
        message_id: u32,
    ) -> Header {
        Header {
            spi_i,
            spi_r,
            version: IKEV2_VERSION,
            exchange,
            flags,
            message_id,
        }
    }

    pub fn major_version(&self) -> u8 {
        self.version >> 4
    }

    pub fn minor_version(&self) -> u8 {
        self.version & 0x0f
    }

    /// Writes the 28-byte header; `length` is the whole message length.
    pub(crate) fn write(&self, next_payload: PayloadType, length: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.spi_i.to_bytes());
        out.extend_from_slice(&self.spi_r.to_bytes());
        out.push(next_payload.0);
        out.push(self.version);
        out.push(self.exchange.0);
        out.push(self.flags.0);
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&length.to_be_bytes());
    }

    /// Reads the fixed header; returns it with the raw Next Payload and Length fields.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<(Header, PayloadType, u32), DecodeError> {
        let spi_i = IkeSpi(r.u64("IKE header")?);
        let spi_r = IkeSpi(r.u64("IKE header")?);
        let next = PayloadType(r.u8("IKE header")?);
        let version = r.u8("IKE header")?;
        let exchange = ExchangeType(r.u8("IKE header")?);
        let flags = Flags(r.u8("IKE header")?);
        let message_id = r.u32("IKE header")?;
        let length = r.u32("IKE header")?;
        Ok((
            Header {
                spi_i,
                spi_r,
                version,
                exchange,
                flags,
                message_id,
            },
            next,
            length,
        ))
    }
}

/// Zero-copy view over the fixed IKE header of a received datagram, for dispatch before a full
/// decode (SPI lookup, retransmission detection by message id, version check).
///
/// `new_checked` only guarantees 28 bytes are present; it does not check the Length field
/// against the datagram (the full decoder does).
#[derive(Debug, Clone, Copy)]
pub struct HeaderView<'a> {
    bytes: &'a [u8; HEADER_LEN],
}

impl<'a> HeaderView<'a> {
    pub fn new_checked(datagram: &'a [u8]) -> Result<HeaderView<'a>, DecodeError> {
        let bytes = datagram
            .get(..HEADER_LEN)
            .and_then(|b| <&[u8; HEADER_LEN]>::try_from(b).ok())
            .ok_or(DecodeError::Truncated {
                what: "IKE header",
                needed: HEADER_LEN,
                available: datagram.len(),
            })?;
        Ok(HeaderView { bytes })
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes([
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ])
    }

    fn u64_at(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_be_bytes(b)
    }

    pub fn spi_i(&self) -> IkeSpi {
        IkeSpi(self.u64_at(0))
    }

    pub fn spi_r(&self) -> IkeSpi {
        IkeSpi(self.u64_at(8))
    }

    pub fn next_payload(&self) -> PayloadType {
        PayloadType(self.bytes[16])
    }

    pub fn version(&self) -> u8 {
        self.bytes[17]
    }

    pub fn major_version(&self) -> u8 {
        self.bytes[17] >> 4
    }

    pub fn exchange(&self) -> ExchangeType {
        ExchangeType(self.bytes[18])
    }

    pub fn flags(&self) -> Flags {
        Flags(self.bytes[19])
    }

    pub fn message_id(&self) -> u32 {
        self.u32_at(20)
    }

    /// The Length field as sent (whole message, header included).
    pub fn length(&self) -> u32 {
        self.u32_at(24)
    }

    /// The owned header (without Next Payload and Length).
    pub fn header(&self) -> Header {
        Header {
            spi_i: self.spi_i(),
            spi_r: self.spi_r(),
            version: self.version(),
            exchange: self.exchange(),
            flags: self.flags(),
            message_id: self.message_id(),
        }
    }
}
