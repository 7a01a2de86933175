//! IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" transform ids, as open newtypes.
//!
//! Unknown values round-trip and print as numbers (STYLE.md §4). The same numbers key the
//! algorithm implementations in this crate, and ESP (RFC 4303) uses the same ids for its SAs.

/// Declares an open newtype over an integer with named constants.
///
/// `Debug` prints the constant's name when known and `Name(n)` otherwise, so unknown values from a
/// peer survive decoding, re-encoding and logging.
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $val:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(pub $repr);

        impl $name {
            $( $(#[$cmeta])* pub const $const: $name = $name($val); )*

            /// The registry name of this value, if it is one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( v if v == $val => Some(stringify!($const)), )*
                    _ => None,
                }
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Debug::fmt(self, f)
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self { $name(v) }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> Self { v.0 }
        }
    };
}

open_enum! {
    /// Transform Type 1, Encryption Algorithm (RFC 7296 §3.3.2, IANA).
    pub struct EncrId(u16) {
        DES = 2,
        TRIPLE_DES = 3,
        NULL = 11,
        AES_CBC = 12,
        AES_CTR = 13,
        AES_GCM_8 = 18,
        AES_GCM_12 = 19,
        /// AES-GCM with a 16-octet ICV (RFC 4106, RFC 5282).
        AES_GCM_16 = 20,
        CHACHA20_POLY1305 = 28,
    }
}

open_enum! {
    /// Transform Type 2, Pseudorandom Function (RFC 7296 §3.3.2, RFC 4868).
    pub struct PrfId(u16) {
        HMAC_MD5 = 1,
        HMAC_SHA1 = 2,
        AES128_XCBC = 4,
        HMAC_SHA2_256 = 5,
        HMAC_SHA2_384 = 6,
        HMAC_SHA2_512 = 7,
    }
}

open_enum! {
    /// Transform Type 3, Integrity Algorithm (RFC 7296 §3.3.2, RFC 4868 truncations).
    pub struct IntegId(u16) {
        NONE = 0,
        HMAC_MD5_96 = 1,
        HMAC_SHA1_96 = 2,
        AES_XCBC_96 = 5,
        HMAC_SHA2_256_128 = 12,
        HMAC_SHA2_384_192 = 13,
        HMAC_SHA2_512_256 = 14,
    }
}

open_enum! {
    /// Transform Type 4, Key Exchange Method / Diffie-Hellman group (RFC 7296, RFC 3526, RFC 5903, RFC 8031).
    pub struct DhId(u16) {
        NONE = 0,
        MODP_768 = 1,
        MODP_1024 = 2,
        MODP_1536 = 5,
        MODP_2048 = 14,
        ECP_256 = 19,
        ECP_384 = 20,
        ECP_521 = 21,
        CURVE25519 = 31,
    }
}

open_enum! {
    /// Transform Type 5, Extended Sequence Numbers (RFC 7296 §3.3.2).
    pub struct EsnId(u16) {
        NO_ESN = 0,
        ESN = 1,
    }
}

open_enum! {
    /// IKEv1 phase-1 Encryption Algorithm attribute (RFC 2409 Appendix A, IANA "IPSEC Encryption
    /// Algorithm"; AES-CBC from RFC 3602 §5).
    pub struct V1EncrId(u16) {
        DES_CBC = 1,
        IDEA_CBC = 2,
        BLOWFISH_CBC = 3,
        RC5_R16_B64_CBC = 4,
        TRIPLE_DES_CBC = 5,
        CAST_CBC = 6,
        AES_CBC = 7,
    }
}

open_enum! {
    /// IKEv1 phase-1 Hash Algorithm attribute (RFC 2409 Appendix A; SHA-2 from RFC 4868 §2.4).
    pub struct V1HashId(u16) {
        MD5 = 1,
        SHA = 2,
        TIGER = 3,
        SHA2_256 = 4,
        SHA2_384 = 5,
        SHA2_512 = 6,
    }
}

open_enum! {
    /// IKEv1 phase-2 (IPsec DOI) Authentication Algorithm attribute (RFC 2407 §4.5; SHA-2 from
    /// RFC 4868 §2.4). The ESP transform ids of the IPsec DOI equal [`EncrId`] values (ESP_DES = 2,
    /// ESP_3DES = 3, ESP_AES = 12).
    pub struct V1AuthId(u16) {
        HMAC_MD5 = 1,
        HMAC_SHA = 2,
        DES_MAC = 3,
        KPDK = 4,
        HMAC_SHA2_256 = 5,
        HMAC_SHA2_384 = 6,
        HMAC_SHA2_512 = 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip_and_print_as_numbers() {
        let unknown = EncrId(4242);
        assert_eq!(format!("{unknown:?}"), "EncrId(4242)");
        assert_eq!(u16::from(unknown), 4242);
        assert_eq!(format!("{:?}", EncrId::AES_GCM_16), "AES_GCM_16");
        assert_eq!(DhId::from(14), DhId::MODP_2048);
    }
}
