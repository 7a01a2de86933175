//! IPv4 prefixes as carried in NLRI and Withdrawn Routes (RFC 4271 §4.3).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 prefix with its host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Prefix {
    addr: Ipv4Addr,
    len: u8,
}

/// A prefix the caller or user got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// Length above 32.
    #[error("prefix length {0} is above 32")]
    Length(u8),
    /// Not `a.b.c.d/n`.
    #[error("{0:?} is not an IPv4 prefix like 198.18.0.0/16")]
    Syntax(String),
}

impl Ipv4Prefix {
    /// The default route, never accepted from a peer (issue 7).
    pub const DEFAULT: Ipv4Prefix = Ipv4Prefix {
        addr: Ipv4Addr::UNSPECIFIED,
        len: 0,
    };

    /// A prefix; host bits of `addr` are cleared.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 32 {
            return Err(PrefixError::Length(len));
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        Ok(Self {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            len,
        })
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether this is 0.0.0.0/0.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// Octets of the address on the wire: ceil(len / 8).
    pub(crate) fn wire_octets(&self) -> usize {
        usize::from(self.len).div_ceil(8)
    }

    /// Length octet and the significant address octets (RFC 4271 §4.3).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.len);
        out.extend_from_slice(&self.addr.octets()[..self.wire_octets()]);
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Ipv4Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || PrefixError::Syntax(s.to_owned());
        let (a, l) = s.split_once('/').ok_or_else(syntax)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| syntax())?;
        if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let len: u8 = l.parse().map_err(|_| syntax())?;
        Self::new(addr, len)
    }
}
