//! The ISAKMP header (RFC 2408 §3.1).

use crate::v2::wire::DecodeError;
use crate::v2::wire::reader::Reader;

use super::registry::{ExchangeType, PayloadType};

/// Length of the fixed ISAKMP header.
pub const HEADER_LEN: usize = 28;

/// The version octet of ISAKMP 1.0.
pub const ISAKMP_VERSION: u8 = 0x10;

/// An ISAKMP cookie (RFC 2408 §2.5.3); zero in the responder slot of the first message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cookie(pub u64);

impl Cookie {
    pub const ZERO: Cookie = Cookie(0);

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl core::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Header flags (RFC 2408 §3.1): E(ncryption) 0x01, C(ommit) 0x02, A(uthentication only) 0x04.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const ENCRYPTION: Flags = Flags(0x01);
    pub const COMMIT: Flags = Flags(0x02);
    pub const AUTH_ONLY: Flags = Flags(0x04);

    pub fn encrypted(self) -> bool {
        self.0 & Self::ENCRYPTION.0 != 0
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
        write!(f, "Flags({:#04x})", self.0)
    }
}

/// The ISAKMP header without Next Payload and Length, which the encoder derives.
///
/// ```text
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                          Initiator                            !
/// !                            Cookie                             !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                          Responder                            !
/// !                            Cookie                             !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                          Message ID                           !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                            Length                             !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub cookie_i: Cookie,
    pub cookie_r: Cookie,
    /// Major version in the high nibble, minor in the low; 0x10 for ISAKMP 1.0.
    pub version: u8,
    pub exchange: ExchangeType,
    pub flags: Flags,
    pub message_id: u32,
}

impl Header {
    pub fn new(
        cookie_i: Cookie,
        cookie_r: Cookie,
        exchange: ExchangeType,
        flags: Flags,
        message_id: u32,
    ) -> Header {
        Header {
            cookie_i,
            cookie_r,
            version: ISAKMP_VERSION,
            exchange,
            flags,
            message_id,
        }
    }

    pub fn major_version(&self) -> u8 {
        self.version >> 4
    }

    pub(crate) fn write(&self, next: PayloadType, length: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cookie_i.0.to_be_bytes());
        out.extend_from_slice(&self.cookie_r.0.to_be_bytes());
        out.push(next.0);
        out.push(self.version);
        out.push(self.exchange.0);
        out.push(self.flags.0);
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&length.to_be_bytes());
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<(Header, PayloadType, u32), DecodeError> {
        let cookie_i = Cookie(r.u64("ISAKMP header")?);
        let cookie_r = Cookie(r.u64("ISAKMP header")?);
        let next = PayloadType(r.u8("ISAKMP header")?);
        let version = r.u8("ISAKMP header")?;
        let exchange = ExchangeType(r.u8("ISAKMP header")?);
        let flags = Flags(r.u8("ISAKMP header")?);
        let message_id = r.u32("ISAKMP header")?;
        let length = r.u32("ISAKMP header")?;
        Ok((
            Header {
                cookie_i,
                cookie_r,
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
