//! Autonomous system numbers (RFC 6793) and their text forms (RFC 5396).

use std::fmt;
use std::str::FromStr;

/// A 4-octet AS number (RFC 6793). Range 1–4294967295 for a configured ASN (R-BGP-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asn(pub u32);

impl Asn {
    /// AS_TRANS, what a 4-octet speaker puts in 2-octet fields (RFC 6793 §9).
    pub const TRANS: Asn = Asn(23456);
    /// The gateway's default local ASN (R-BGP-2).
    pub const DEFAULT_LOCAL: Asn = Asn(45104);

    /// The value for a 2-octet field: itself if it fits, AS_TRANS otherwise (RFC 6793 §4.2.2).
    pub fn to_u16_or_trans(self) -> u16 {
        u16::try_from(self.0).unwrap_or(23456)
    }

    /// Whether the number fits a 2-octet field.
    pub fn is_two_octet(self) -> bool {
        self.0 <= u32::from(u16::MAX)
    }
}

impl fmt::Display for Asn {
    /// asplain (RFC 5396 §1).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An ASN the user typed that we cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsnParseError {
    /// Not a number in asplain or asdot notation.
    #[error("{0:?} is not an AS number (use asplain like 4200000000 or asdot like 64086.59904)")]
    Syntax(String),
    /// AS 0 is reserved (RFC 7607).
    #[error("AS number 0 is reserved; the range is 1-4294967295")]
    Zero,
}

impl FromStr for Asn {
    type Err = AsnParseError;

    /// Accepts asplain (`4200000000`) and asdot (`64086.59904` = 64086×65536+59904), R-BGP-2.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || AsnParseError::Syntax(s.to_owned());
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let value = match s.split_once('.') {
            None if digits(s) => s.parse::<u32>().map_err(|_| syntax())?,
            Some((hi, lo)) if digits(hi) && digits(lo) => {
                let hi = hi.parse::<u16>().map_err(|_| syntax())?;
                let lo = lo.parse::<u16>().map_err(|_| syntax())?;
                (u32::from(hi) << 16) | u32::from(lo)
            }
            _ => return Err(syntax()),
        };
        if value == 0 {
            return Err(AsnParseError::Zero);
        }
        Ok(Asn(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_bgp_2_asplain_and_asdot() {
        assert_eq!("45104".parse(), Ok(Asn(45104)));
        assert_eq!("4294967295".parse(), Ok(Asn(u32::MAX)));
        assert_eq!("1.0".parse(), Ok(Asn(65536)));
        assert_eq!("65535.65535".parse(), Ok(Asn(u32::MAX)));
        assert_eq!("0.45104".parse(), Ok(Asn(45104)));
        assert_eq!("0".parse::<Asn>(), Err(AsnParseError::Zero));
        assert_eq!("0.0".parse::<Asn>(), Err(AsnParseError::Zero));
        for bad in [
            "",
            "4294967296",
            "65536.1",
            "1.65536",
            "1.",
            ".1",
            "-1",
            "+5",
            "1.2.3",
            "a",
        ] {
            assert!(
                matches!(bad.parse::<Asn>(), Err(AsnParseError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn as_trans_for_large_asns() {
        assert_eq!(Asn(65535).to_u16_or_trans(), 65535);
        assert_eq!(Asn(65536).to_u16_or_trans(), 23456);
        assert_eq!(Asn::TRANS.0, 23456);
    }
}
