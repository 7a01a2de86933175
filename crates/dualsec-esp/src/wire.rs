//! Zero-copy views over ESP packets (RFC 4303 §2) and the UDP/4500 demultiplexer (RFC 3948 §2).
//!
//! Only fixed header fields are read here; everything behind the sequence number is ciphertext
//! whose layout depends on the SA's transforms, so the SA (`crate::sa`) splits it further.

use core::fmt;

/// Security Parameters Index (RFC 4303 §2.1). SPIs 1..=255 are reserved by IANA and 0 is
/// "no SA"; both are rejected when an SA is installed, never when a packet is parsed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Spi(pub u32);

impl Spi {
    /// Whether this SPI may name an SA (RFC 4303 §2.1: 0 is reserved for local use, 1–255 by IANA).
    pub fn is_assignable(self) -> bool {
        self.0 > 255
    }
}

impl fmt::Debug for Spi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Spi({:#010x})", self.0)
    }
}

impl fmt::Display for Spi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

dualsec_crypto::open_enum! {
    /// IANA "Assigned Internet Protocol Numbers", as carried in the ESP Next Header field
    /// (RFC 4303 §2.6). Tunnel mode carries whole IP packets.
    pub struct NextHeader(u8) {
        /// IPv4 in IPv4/IPv6 (tunnel mode, RFC 4303 §2.6).
        IPV4 = 4,
        /// IPv6 encapsulation (tunnel mode).
        IPV6 = 41,
        /// "No next header": a dummy packet for traffic-flow confidentiality (RFC 4303 §2.6),
        /// dropped silently on receipt.
        NO_NEXT_HEADER = 59,
    }
}

/// Wire errors: the packet is shorter than its fixed header demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than the ESP header (SPI + sequence number) needs.
    #[error("ESP packet truncated: {len} bytes, header needs {HEADER_LEN}")]
    Truncated {
        /// Length received.
        len: usize,
    },
}

/// Length of the fixed ESP header: SPI (4) and sequence number (4).
pub const HEADER_LEN: usize = 8;

/// Length of the fixed ESP trailer: Pad Length (1) and Next Header (1).
pub const TRAILER_LEN: usize = 2;

/// A read-only (or, over `&mut [u8]`, writable) view over an ESP packet.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
/// |               Security Parameters Index (SPI)                 | ^Int.
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
/// |                      Sequence Number                          | |ered
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
/// |                    Payload Data* (variable)                   | |   ^
/// ~                                                               ~ |   |
/// |                                                               | |Conf.
/// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
/// |               |     Padding (0-255 bytes)                     | |ered*
/// +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
/// |                               |  Pad Length   | Next Header   | v   v
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
/// |         Integrity Check Value-ICV   (variable)                |
/// ~                                                               ~
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// (RFC 4303 §2, Figure 1; the IV, if any, is the start of Payload Data.)
#[derive(Debug, Clone, Copy)]
pub struct EspPacket<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Wraps `buf` after checking that the fixed header is present.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let len = buf.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated { len });
        }
        Ok(Self { buf })
    }

    /// Security Parameters Index.
    pub fn spi(&self) -> Spi {
        let b = self.buf.as_ref();
        Spi(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The low 32 bits of the sequence number (the only bits on the wire, RFC 4303 §2.2).
    pub fn seq_low(&self) -> u32 {
        let b = self.buf.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// Everything after the header: IV, ciphertext, trailer and ICV.
    pub fn body(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..]
    }

    /// The whole packet.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Unwraps the view.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EspPacket<T> {
    /// Writes the SPI.
    pub fn set_spi(&mut self, spi: Spi) {
        self.buf.as_mut()[0..4].copy_from_slice(&spi.0.to_be_bytes());
    }

    /// Writes the low 32 bits of the sequence number.
    pub fn set_seq_low(&mut self, seq: u32) {
        self.buf.as_mut()[4..8].copy_from_slice(&seq.to_be_bytes());
    }
}

/// What a datagram received on UDP port 4500 carries (RFC 3948 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Udp4500Payload<'a> {
    /// A single 0xFF octet: NAT-keepalive (RFC 3948 §2.3). Drop it.
    Keepalive,
    /// The four-octet zero non-ESP marker (RFC 3948 §2.2): the rest is an IKE message.
    Ike(&'a [u8]),
    /// A UDP-encapsulated ESP packet (RFC 3948 §2.1): the SPI is non-zero.
    Esp(&'a [u8]),
    /// Too short for any of the above, or a non-zero SPI with less than an ESP header.
    Malformed,
}

/// Classifies the payload of a UDP/4500 datagram (RFC 3948 §2).
///
/// The first four octets of ESP are a non-zero SPI, so a zero marker means IKE; a single 0xFF
/// octet is a keepalive. Anything else shorter than an ESP header is malformed.
pub fn classify_udp4500(payload: &[u8]) -> Udp4500Payload<'_> {
    match payload {
        [0xff] => Udp4500Payload::Keepalive,
        [0, 0, 0, 0, rest @ ..] => Udp4500Payload::Ike(rest),
        p if p.len() >= HEADER_LEN => Udp4500Payload::Esp(p),
        _ => Udp4500Payload::Malformed,
    }
}

/// Source and destination of an inner IP packet, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerAddrs {
    /// Inner source address.
    pub src: core::net::IpAddr,
    /// Inner destination address.
    pub dst: core::net::IpAddr,
}

/// Errors reading an inner IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InnerError {
    /// Shorter than the IP header.
    #[error("inner packet truncated")]
    Truncated,
    /// The version nibble does not match the ESP next header (or is neither 4 nor 6).
    #[error("inner packet is not IPv4 or IPv6 as the next header says")]
    WrongVersion,
    /// The IP total length disagrees with the bytes present.
    #[error("inner packet length field disagrees with the payload")]
    BadLength,
}

/// Reads the addresses of an IPv4 or IPv6 packet, checking the header length and total length.
///
/// `expected` is the ESP next header (IPv4 or IPv6); `None` accepts either (used for packets
/// read from the TUN device). Returns the addresses and the packet's own length, which may be
/// shorter than `pkt` (TFC padding, RFC 4303 §2.7, is allowed after the inner packet).
pub fn inner_addrs(
    pkt: &[u8],
    expected: Option<NextHeader>,
) -> Result<(InnerAddrs, usize), InnerError> {
    let version = pkt.first().ok_or(InnerError::Truncated)? >> 4;
    match (version, expected) {
        (4, None | Some(NextHeader::IPV4)) => {
            if pkt.len() < 20 {
                return Err(InnerError::Truncated);
            }
            let ihl = usize::from(pkt[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
            if ihl < 20 || total < ihl || total > pkt.len() {
                return Err(InnerError::BadLength);
            }
            let src = core::net::Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
            let dst = core::net::Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
            Ok((
                InnerAddrs {
                    src: src.into(),
                    dst: dst.into(),
                },
                total,
            ))
        }
        (6, None | Some(NextHeader::IPV6)) => {
            if pkt.len() < 40 {
                return Err(InnerError::Truncated);
            }
            let total = 40 + usize::from(u16::from_be_bytes([pkt[4], pkt[5]]));
            if total > pkt.len() {
                return Err(InnerError::BadLength);
            }
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&pkt[8..24]);
            d.copy_from_slice(&pkt[24..40]);
            Ok((
                InnerAddrs {
                    src: core::net::Ipv6Addr::from(s).into(),
                    dst: core::net::Ipv6Addr::from(d).into(),
                },
                total,
            ))
        }
        _ => Err(InnerError::WrongVersion),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_rfc4303_s2() {
        let pkt = [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 5, 0xaa];
        let v = EspPacket::new_checked(&pkt[..]).unwrap();
        assert_eq!(v.spi(), Spi(0x1234_5678));
        assert_eq!(v.seq_low(), 5);
        assert_eq!(v.body(), &[0xaa]);
    }

    #[test]
    fn truncated_header_every_length() {
        let pkt = [1u8; HEADER_LEN];
        for len in 0..HEADER_LEN {
            assert_eq!(
                EspPacket::new_checked(&pkt[..len]).unwrap_err(),
                WireError::Truncated { len }
            );
        }
        assert!(EspPacket::new_checked(&pkt[..]).is_ok());
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = [0u8; 8];
        let mut v = EspPacket::new_checked(&mut buf[..]).unwrap();
        v.set_spi(Spi(0xdead_beef));
        v.set_seq_low(0x0102_0304);
        assert_eq!(buf, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    }

    #[test]
    fn udp4500_classifier_rfc3948_s2() {
        assert_eq!(classify_udp4500(&[0xff]), Udp4500Payload::Keepalive);
        assert_eq!(
            classify_udp4500(&[0, 0, 0, 0, 1, 2]),
            Udp4500Payload::Ike(&[1, 2])
        );
        let esp = [0, 0, 1, 0, 0, 0, 0, 1];
        assert_eq!(classify_udp4500(&esp), Udp4500Payload::Esp(&esp));
        assert_eq!(classify_udp4500(&[]), Udp4500Payload::Malformed);
        assert_eq!(classify_udp4500(&[0xfe]), Udp4500Payload::Malformed);
        assert_eq!(
            classify_udp4500(&[1, 2, 3, 4, 5, 6, 7]),
            Udp4500Payload::Malformed
        );
        // Two keepalive octets are not a keepalive.
        assert_eq!(classify_udp4500(&[0xff, 0xff]), Udp4500Payload::Malformed);
    }

    #[test]
    fn inner_ipv4_and_ipv6_addresses() {
        let mut v4 = [0u8; 24];
        v4[0] = 0x45;
        v4[3] = 20;
        v4[12..16].copy_from_slice(&[198, 18, 0, 1]);
        v4[16..20].copy_from_slice(&[198, 19, 0, 1]);
        let (a, len) = inner_addrs(&v4, Some(NextHeader::IPV4)).unwrap();
        assert_eq!(len, 20);
        assert_eq!(a.src.to_string(), "198.18.0.1");
        assert_eq!(a.dst.to_string(), "198.19.0.1");
        assert_eq!(
            inner_addrs(&v4, Some(NextHeader::IPV6)),
            Err(InnerError::WrongVersion)
        );
        v4[3] = 25;
        assert_eq!(inner_addrs(&v4, None), Err(InnerError::BadLength));
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[23] = 1;
        v6[39] = 2;
        let (a, len) = inner_addrs(&v6, Some(NextHeader::IPV6)).unwrap();
        assert_eq!(len, 40);
        assert_eq!(a.src.to_string(), "::1");
        assert_eq!(a.dst.to_string(), "::2");
        for l in 0..40 {
            assert!(inner_addrs(&v6[..l], None).is_err());
        }
    }
}
