//! Resource ids in the provider's shapes (`vpn-…`, `cgw-…`, `vco-…`, `tun-…`), and the random
//! strings the control plane generates (ids, PSKs, access keys).
//!
//! Ids are a prefix plus lowercase letters and digits. Parsing rejects anything else (a space, a
//! wrong prefix, over 64 characters) with `IllegalParam.<Field>`, so a malformed id never reaches
//! the store.

use std::fmt;
use std::str::FromStr;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::error::ControlError;

/// Length of the random part of generated ids (the provider's ids are about this long).
const ID_RANDOM_LEN: usize = 20;
/// Longest id accepted from a caller.
const ID_MAX_LEN: usize = 64;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
pub fn random_string(rng: &mut dyn CryptoRngCore, alphabet: &[u8], len: usize) -> String {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Largest multiple of the alphabet size that fits in a byte: bytes at or above it are redrawn.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        rng.fill_bytes(&mut buf);
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// Random letters and digits (both cases): generated PSKs (R-TUN-2) and access key secrets.
pub fn random_alnum(rng: &mut dyn CryptoRngCore, len: usize) -> String {
    random_string(rng, ALNUM, len)
}

macro_rules! resource_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $field:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id prefix, including the dash.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn generate(rng: &mut dyn CryptoRngCore) -> Self {
                $name(format!("{}{}", $prefix, random_string(rng, LOWER_ALNUM, ID_RANDOM_LEN)))
            }

            /// Parses a caller-supplied id; `field` is the wire parameter name used in the error.
            pub fn parse_as(field: &str, s: &str) -> Result<Self, ControlError> {
                parse_id(field, $field, $prefix, s).map($name)
            }

            /// The id as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ControlError;
            fn from_str(s: &str) -> Result<Self, ControlError> {
                Self::parse_as($field, s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn parse_id(field: &str, code_field: &str, prefix: &str, s: &str) -> Result<String, ControlError> {
    let bad = |why: &str| {
        ControlError::illegal(
            code_field,
            format!(
                "The specified \"{field}\" ({s:?}) is invalid: {why}. Expected \"{prefix}\" followed by letters and digits, at most {ID_MAX_LEN} characters."
            ),
        )
    };
    let Some(rest) = s.strip_prefix(prefix) else {
        return Err(bad("wrong prefix"));
    };
    if s.len() > ID_MAX_LEN {
        return Err(bad("too long"));
    }
    if rest.is_empty() {
        return Err(bad("nothing after the prefix"));
    }
    if let Some(c) = rest.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(bad(&format!("contains {c:?}")));
    }
    Ok(s.to_owned())
}

resource_id!(
    /// A VPN gateway id, `vpn-…`.
    VpnGatewayId, "vpn-", "VpnGatewayId"
);
resource_id!(
    /// A customer gateway id, `cgw-…`.
    CustomerGatewayId, "cgw-", "CustomerGatewayId"
);
resource_id!(
    /// An IPsec connection id, `vco-…`.
    VpnConnectionId, "vco-", "VpnConnectionId"
);
resource_id!(
    /// A tunnel id, `tun-…`.
    TunnelId, "tun-", "TunnelId"
);
resource_id!(
    /// A route entry id (destination- or policy-based), `vre-…`. The provider's API addresses
    /// route entries by their key fields; this id is ours, for logs, the engine and the console.
    RouteEntryId, "vre-", "RouteEntryId"
);

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn generated_ids_have_the_provider_shape_and_parse_back() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let id = VpnConnectionId::generate(&mut rng);
        assert!(id.as_str().starts_with("vco-"));
        assert_eq!(id.as_str().len(), 4 + ID_RANDOM_LEN);
        assert_eq!(id.as_str().parse::<VpnConnectionId>().unwrap(), id);
        let other = VpnConnectionId::generate(&mut rng);
        assert_ne!(id, other);
    }

    #[test]
    fn ids_with_a_space_or_wrong_prefix_are_rejected() {
        let e = "vco-abc def".parse::<VpnConnectionId>().unwrap_err();
        assert_eq!(e.code(), "IllegalParam.VpnConnectionId");
        assert!(e.message().contains("' '"), "{}", e.message());
        let e = "vpn-abc".parse::<VpnConnectionId>().unwrap_err();
        assert!(e.message().contains("wrong prefix"));
        assert!("vco-".parse::<VpnConnectionId>().is_err());
        assert!(
            format!("vco-{}", "a".repeat(61))
                .parse::<VpnConnectionId>()
                .is_err()
        );
        assert!("tun-Ab12".parse::<TunnelId>().is_ok());
    }

    #[test]
    fn random_strings_use_the_whole_alphabet_and_only_it() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let s = random_alnum(&mut rng, 4000);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        for c in ALNUM {
            assert!(s.as_bytes().contains(c), "missing {}", *c as char);
        }
    }
}
