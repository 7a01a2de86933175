//! Validated value types: the provider's string enumerations, ranges and free-text fields.
//!
//! Every type here parses from what the API receives and refuses bad input with the provider code
//! for its field (`IllegalParam.<Field>`, `InvalidName`) and a message saying what is allowed.
//! Enumerations parse case-insensitively (the SDKs send lowercase; people type `AES`) and print
//! the provider's canonical spelling.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::error::ControlError;

/// Declares a closed enumeration with its wire strings, `FromStr` (error `IllegalParam.<field>`)
/// and `parse_as(field, s)` for when the same enumeration appears under several names.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($field:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant ),+
        }

        impl $name {
            /// Every value, in the order the provider documents them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The provider's wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses `s` (case-insensitive); `field` is the wire parameter path used in errors.
            pub fn parse_as(field: &str, s: &str) -> Result<Self, ControlError> {
                $( if s.eq_ignore_ascii_case($wire) { return Ok($name::$variant); } )+
                let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                Err(ControlError::illegal(
                    $field,
                    format!("The specified \"{field}\" ({s:?}) is invalid. Allowed values: {}.", allowed.join(", ")),
                ))
            }
        }

        impl FromStr for $name {
            type Err = ControlError;
            fn from_str(s: &str) -> Result<Self, ControlError> { Self::parse_as($field, s) }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

wire_enum! {
    /// IKE version (R-TUN-3). The provider's API default is `ikev1` (api-reference §8 item 10).
    pub enum IkeVersion ("IkeVersion") {
        /// RFC 2409.
        V1 = "ikev1",
        /// RFC 7296; required when a connection has more than one CIDR on a side (R-CONN-2).
        V2 = "ikev2",
    }
}

wire_enum! {
    /// IKEv1 phase-1 exchange mode (R-TUN-3); default `main`.
    pub enum IkeMode ("IkeMode") {
        /// Main mode: identities encrypted.
        Main = "main",
        /// Aggressive mode: fewer messages; recommended with an FQDN identity.
        Aggressive = "aggressive",
    }
}

wire_enum! {
    /// Encryption algorithm for phase 1 and phase 2 (R-TUN-3, R-TUN-4); default `aes` (AES-128).
    pub enum EncAlg ("EncAlg") {
        /// AES-128-CBC.
        Aes = "aes",
        /// AES-192-CBC.
        Aes192 = "aes192",
        /// AES-256-CBC.
        Aes256 = "aes256",
        /// DES-CBC (legacy peers only).
        Des = "des",
        /// 3DES-CBC (legacy peers only; slow).
        TripleDes = "3des",
        /// dualsec extension (not a provider value): AES-128-GCM with a 16-byte ICV (RFC 4106 for
        /// ESP, RFC 5282 for IKE); the authentication setting then only selects the IKE PRF.
        Aes128Gcm16 = "aes128gcm16",
        /// dualsec extension: AES-256-GCM with a 16-byte ICV; see [`EncAlg::Aes128Gcm16`].
        Aes256Gcm16 = "aes256gcm16",
    }
}

wire_enum! {
    /// Authentication (integrity, and PRF where a PRF is asked for) algorithm (R-TUN-3, R-TUN-4).
    ///
    /// Default: `md5` through the API (provider compatibility, api-reference §8 item 10); the
    /// console/source document says `sha1`. See the crate doc, "Defaults".
    pub enum AuthAlg ("AuthAlg") {
        /// HMAC-MD5.
        Md5 = "md5",
        /// HMAC-SHA1.
        Sha1 = "sha1",
        /// HMAC-SHA2-256.
        Sha256 = "sha256",
        /// HMAC-SHA2-384.
        Sha384 = "sha384",
        /// HMAC-SHA2-512.
        Sha512 = "sha512",
    }
}

wire_enum! {
    /// Phase-1 Diffie-Hellman group (`IkePfs`, R-TUN-3); default `group2`.
    pub enum DhGroup ("IkePfs") {
        /// MODP 768.
        Group1 = "group1",
        /// MODP 1024.
        Group2 = "group2",
        /// MODP 1536.
        Group5 = "group5",
        /// MODP 2048.
        Group14 = "group14",
    }
}

wire_enum! {
    /// Phase-2 PFS group (`IpsecPfs`, R-TUN-4): `disabled` or a DH group; default `group2`.
    pub enum IpsecPfs ("IpsecPfs") {
        /// No PFS: rekeys reuse the IKE key material.
        Disabled = "disabled",
        /// MODP 768.
        Group1 = "group1",
        /// MODP 1024.
        Group2 = "group2",
        /// MODP 1536.
        Group5 = "group5",
        /// MODP 2048.
        Group14 = "group14",
    }
}

wire_enum! {
    /// Tunnel role (R-HA-1, R-HA-2). Fixed by the tunnel's index: tunnel 1 is `master`, tunnel 2
    /// is `slave` (the provider's word for backup).
    pub enum TunnelRole ("Role") {
        /// Carries all traffic while healthy.
        Master = "master",
        /// Standby; carries traffic only while the master is down.
        Backup = "slave",
    }
}

wire_enum! {
    /// VPN gateway `Status` (api-reference §5.3).
    pub enum GatewayStatus ("Status") {
        /// Being created.
        Init = "init",
        /// Being provisioned.
        Provisioning = "provisioning",
        /// Idle: accepts changes.
        Active = "active",
        /// A connection change is being applied; changes are refused with `VpnGateway.Configuring`.
        Updating = "updating",
        /// Being deleted.
        Deleting = "deleting",
    }
}

wire_enum! {
    /// IPsec connection `State` (association state, api-reference §5.3), subset we produce.
    pub enum ConnectionState ("State") {
        /// Created; the configuration is being applied for the first time.
        Init = "init",
        /// Applied and bound to its gateway.
        Active = "active",
        /// A change is being applied.
        Updating = "updating",
    }
}

wire_enum! {
    /// Tunnel `State` (configuration state, api-reference §5.3).
    pub enum TunnelState ("State") {
        /// Applied.
        Active = "active",
        /// A change is being applied.
        Updating = "updating",
        /// Being deleted.
        Deleting = "deleting",
    }
}

wire_enum! {
    /// Negotiation `Status` of a tunnel or connection (observed state, api-reference §5.3).
    pub enum NegotiationStatus ("Status") {
        /// Phase 1 not up. The initial state of every tunnel.
        IkeSaNotEstablished = "ike_sa_not_established",
        /// Phase 1 up.
        IkeSaEstablished = "ike_sa_established",
        /// Phase 1 up, phase 2 not up.
        IpsecSaNotEstablished = "ipsec_sa_not_established",
        /// Phase 2 up: the tunnel can carry traffic.
        IpsecSaEstablished = "ipsec_sa_established",
    }
}

wire_enum! {
    /// Gateway `NetworkType`.
    pub enum NetworkType ("NetworkType") {
        /// Public IPs (default).
        Public = "public",
        /// Private IPs.
        Private = "private",
    }
}

wire_enum! {
    /// Route entry `State` (api-reference §5.3).
    pub enum RouteState ("State") {
        /// Published to the VPC route table.
        Published = "published",
        /// Not published.
        Normal = "normal",
    }
}

wire_enum! {
    /// `RouteType` of PublishVpnRouteEntry.
    pub enum RouteType ("RouteType") {
        /// Policy-based route.
        Pbr = "pbr",
        /// Destination-based route.
        Dbr = "dbr",
    }
}

wire_enum! {
    /// `RouteEntryType` filter of DescribeVpnRouteEntries.
    pub enum RouteEntryType ("RouteEntryType") {
        /// Routes configured by the user (default).
        Custom = "custom",
        /// Routes learned through BGP.
        Bgp = "bgp",
    }
}

wire_enum! {
    /// BGP session status of a tunnel (observed; `TunnelBgpConfig.BgpStatus`).
    pub enum BgpStatus ("BgpStatus") {
        /// Session established.
        Success = "success",
        /// Session not established.
        False = "false",
    }
}

/// A bounded integer range check shared by lifetimes, weights and priorities.
fn check_range(
    code_field: &str,
    field: &str,
    v: i64,
    lo: i64,
    hi: i64,
    unit: &str,
) -> Result<(), ControlError> {
    if v < lo || v > hi {
        return Err(ControlError::illegal(
            code_field,
            format!(
                "The specified \"{field}\" ({v}) is out of range. Allowed: {lo} to {hi}{unit}."
            ),
        ));
    }
    Ok(())
}

/// An SA lifetime in seconds, `0..=86400`, default 86400 (R-TUN-3, R-TUN-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lifetime(u32);

impl Lifetime {
    /// Largest allowed value (one day).
    pub const MAX_SECS: u32 = 86_400;
    /// The default (R-TUN-3).
    pub const DEFAULT: Lifetime = Lifetime(Self::MAX_SECS);

    /// Validates `secs`; `field` is the wire path (its last segment is the code field).
    pub fn new(field: &str, secs: i64) -> Result<Self, ControlError> {
        check_range(
            last_segment(field),
            field,
            secs,
            0,
            Self::MAX_SECS as i64,
            " seconds",
        )?;
        Ok(Lifetime(secs as u32))
    }

    /// Seconds.
    pub fn secs(self) -> u32 {
        self.0
    }
}

/// The last `.`-separated segment of a wire path: `TunnelOptionsSpecification.1.TunnelIkeConfig.IkeLifetime` → `IkeLifetime`.
pub fn last_segment(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

/// A BGP autonomous system number, `1..=4294967295` (R-BGP-2; RFC 6793 four-octet ASNs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Asn(u32);

impl Asn {
    /// The default local ASN of the gateway side (R-BGP-2).
    pub const DEFAULT_LOCAL: Asn = Asn(45_104);

    /// Parses plain (`65530`) or two-segment asdot notation (`123.456` = 123·65536+456).
    /// Rejects 0, values above 4294967295 and anything else with `IllegalParam.<last segment>`.
    pub fn parse_as(field: &str, s: &str) -> Result<Self, ControlError> {
        let code = last_segment(field);
        let bad = |why: &str| {
            ControlError::illegal(
                code,
                format!(
                    "The specified \"{field}\" ({s:?}) is invalid: {why}. Allowed: 1 to 4294967295, or a.b with a and b in 0..65535."
                ),
            )
        };
        let t = s.trim();
        let value: u64 = if let Some((hi, lo)) = t.split_once('.') {
            let hi: u64 = hi.parse().map_err(|_| bad("not a number"))?;
            let lo: u64 = lo.parse().map_err(|_| bad("not a number"))?;
            if hi > 65_535 || lo > 65_535 {
                return Err(bad("each part of a.b must be at most 65535"));
            }
            hi * 65_536 + lo
        } else {
            t.parse().map_err(|_| bad("not a number in range"))?
        };
        Self::from_u64(field, value)
    }

    /// Validates a numeric ASN.
    pub fn from_u64(field: &str, v: u64) -> Result<Self, ControlError> {
        if v == 0 || v > u32::MAX as u64 {
            return Err(ControlError::illegal(
                last_segment(field),
                format!(
                    "The specified \"{field}\" ({v}) is out of range. Allowed: 1 to 4294967295."
                ),
            ));
        }
        Ok(Asn(v as u32))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Characters the provider allows in a PSK besides letters and digits.
const PSK_SPECIALS: &str = "~!`@#$%^&*()_-+={}[]\\|;:'\",.<>/?";

/// A pre-shared key (R-TUN-2): 1–100 characters, letters, digits and
/// ``~!`@#$%^&*()_-+={}[]\|;:'",.<>/?``; no spaces. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Psk(String);

impl Psk {
    /// Longest PSK.
    pub const MAX_LEN: usize = 100;
    /// Length of a generated PSK (R-TUN-2, api-reference §4.1).
    pub const GENERATED_LEN: usize = 16;

    /// Validates a caller-supplied PSK; `field` is the wire path.
    pub fn new(field: &str, s: &str) -> Result<Self, ControlError> {
        let bad = |why: String| {
            ControlError::illegal(
                "Psk",
                format!(
                    "The specified \"{field}\" is invalid: {why}. Allowed: 1 to {} characters: letters, digits and {PSK_SPECIALS}; no spaces.",
                    Self::MAX_LEN
                ),
            )
        };
        if s.is_empty() {
            return Err(bad("it is empty".into()));
        }
        let n = s.chars().count();
        if n > Self::MAX_LEN {
            return Err(bad(format!("it has {n} characters")));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace()) {
            return Err(bad(format!("it contains whitespace ({c:?})")));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !PSK_SPECIALS.contains(*c))
        {
            return Err(bad(format!("it contains {c:?}")));
        }
        Ok(Psk(s.to_owned()))
    }

    /// A random 16-character PSK of letters and digits (R-TUN-2: empty PSK ⇒ generated).
    pub fn generate(rng: &mut dyn rand_core::CryptoRngCore) -> Self {
        Psk(crate::ids::random_alnum(rng, Self::GENERATED_LEN))
    }

    /// The secret itself (for Describe responses, the peer-config generator and the engine).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(<redacted>)")
    }
}

/// An IKE identity (`LocalId`/`RemoteId`, R-TUN-3): an IPv4 address or an FQDN, ≤100 characters,
/// no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IkeIdentity {
    /// ID_IPV4_ADDR.
    Ip(Ipv4Addr),
    /// ID_FQDN (or `user@fqdn`, ID_USER_FQDN). With an FQDN, aggressive mode is recommended.
    Fqdn(String),
}

impl IkeIdentity {
    /// Longest identity.
    pub const MAX_LEN: usize = 100;

    /// Validates `s`; `field` is the wire path (code field `LocalId` or `RemoteId`).
    pub fn parse_as(field: &str, s: &str) -> Result<Self, ControlError> {
        let code = last_segment(field);
        let bad = |why: String| {
            ControlError::illegal(
                code,
                format!(
                    "The specified \"{field}\" ({s:?}) is invalid: {why}. Allowed: an IPv4 address or an FQDN (letters, digits, '.', '-', '_', optionally user@), at most {} characters, no spaces.",
                    Self::MAX_LEN
                ),
            )
        };
        if s.is_empty() {
            return Err(bad("it is empty".into()));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(bad("it is too long".into()));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(bad("it contains a space".into()));
        }
        if let Ok(ip) = s.parse::<Ipv4Addr>() {
            return Ok(IkeIdentity::Ip(ip));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@')))
        {
            return Err(bad(format!("it contains {c:?}")));
        }
        if s.starts_with('.') || s.ends_with('.') || s.contains("..") {
            return Err(bad("it has an empty label".into()));
        }
        Ok(IkeIdentity::Fqdn(s.to_owned()))
    }

    /// True for an FQDN identity.
    pub fn is_fqdn(&self) -> bool {
        matches!(self, IkeIdentity::Fqdn(_))
    }
}

impl fmt::Display for IkeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IkeIdentity::Ip(ip) => write!(f, "{ip}"),
            IkeIdentity::Fqdn(s) => f.write_str(s),
        }
    }
}

/// The /30 inside 169.254.0.0/16 that carries a tunnel's BGP session (R-BGP-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TunnelCidr(Ipv4Net);

impl TunnelCidr {
    /// Blocks reserved by the source document (R-BGP-3).
    ///
    /// The provider's SDK comments also reserve 169.254.6.0/30; the source document (which wins,
    /// per SPEC.md) lists only 0.0–5.0 and 169.252. We follow the source.
    pub const RESERVED: [Ipv4Net; 7] = [
        net(169, 254, 0, 0),
        net(169, 254, 1, 0),
        net(169, 254, 2, 0),
        net(169, 254, 3, 0),
        net(169, 254, 4, 0),
        net(169, 254, 5, 0),
        net(169, 254, 169, 252),
    ];

    /// Validates: a /30, inside 169.254.0.0/16, no host bits, not reserved.
    pub fn new(field: &str, n: Ipv4Net) -> Result<Self, ControlError> {
        let bad = |why: String| {
            ControlError::illegal(
                "TunnelCidr",
                format!(
                    "The specified \"{field}\" ({n}) is invalid: {why}. Allowed: a /30 inside 169.254.0.0/16 other than 169.254.0.0/30 to 169.254.5.0/30 and 169.254.169.252/30 (R-BGP-3)."
                ),
            )
        };
        if n.prefix_len() != 30 {
            return Err(bad(format!("the prefix length is /{}", n.prefix_len())));
        }
        if n.trunc() != n {
            return Err(bad(format!(
                "host bits are set (did you mean {}?)",
                n.trunc()
            )));
        }
        let link_local = net16(169, 254);
        if !link_local.contains(&n) {
            return Err(bad("it is outside 169.254.0.0/16".into()));
        }
        if Self::RESERVED.contains(&n) {
            return Err(bad("it is reserved".into()));
        }
        Ok(TunnelCidr(n))
    }

    /// Parses `a.b.c.d/30` then validates.
    pub fn parse_as(field: &str, s: &str) -> Result<Self, ControlError> {
        let n: Ipv4Net = s.trim().parse().map_err(|_| {
            ControlError::illegal(
                "TunnelCidr",
                format!(
                    "The specified \"{field}\" ({s:?}) is not a CIDR block such as 169.254.10.0/30."
                ),
            )
        })?;
        Self::new(field, n)
    }

    /// The network.
    pub fn net(self) -> Ipv4Net {
        self.0
    }

    /// The two usable addresses (first, second).
    pub fn hosts(self) -> [Ipv4Addr; 2] {
        let base = u32::from(self.0.network());
        [Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2)]
    }
}

impl fmt::Display for TunnelCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

const fn net(a: u8, b: u8, c: u8, d: u8) -> Ipv4Net {
    match Ipv4Net::new(Ipv4Addr::new(a, b, c, d), 30) {
        Ok(n) => n,
        Err(_) => panic!("constant prefix length is valid"),
    }
}

fn net16(a: u8, b: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, 0, 0), 16)
}

/// Destination-route weight: `100` (active) or `0` (standby).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RouteWeight(u8);

impl RouteWeight {
    /// Active / high priority.
    pub const ACTIVE: RouteWeight = RouteWeight(100);
    /// Standby / low priority.
    pub const STANDBY: RouteWeight = RouteWeight(0);

    /// Validates `0` or `100`.
    pub fn new(field: &str, v: i64) -> Result<Self, ControlError> {
        match v {
            0 => Ok(Self::STANDBY),
            100 => Ok(Self::ACTIVE),
            _ => Err(ControlError::illegal(
                last_segment(field),
                format!(
                    "The specified \"{field}\" ({v}) is invalid. Allowed values: 0 (standby), 100 (active)."
                ),
            )),
        }
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// Policy-route priority, `1..=100`, default 10; smaller wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PbrPriority(u8);

impl PbrPriority {
    /// Default priority.
    pub const DEFAULT: PbrPriority = PbrPriority(10);

    /// Validates `1..=100`.
    pub fn new(field: &str, v: i64) -> Result<Self, ControlError> {
        check_range(last_segment(field), field, v, 1, 100, "")?;
        Ok(PbrPriority(v as u8))
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A resource `Name`: 1–100 characters (2–100 and starting with a letter for VPN gateways), not
/// starting with `http://` or `https://`. Error code `InvalidName`.
pub fn validate_name(field: &str, s: &str, gateway_rules: bool) -> Result<String, ControlError> {
    let n = s.chars().count();
    let bad = |why: String| {
        let rule = if gateway_rules {
            "2 to 100 characters, starting with a letter; letters, digits, '_', '.', '-'; not starting with http:// or https://"
        } else {
            "1 to 100 characters, not starting with http:// or https://"
        };
        ControlError::InvalidName {
            message: format!(
                "The specified \"{field}\" ({s:?}) is not valid: {why}. Allowed: {rule}."
            ),
        }
    };
    let min = if gateway_rules { 2 } else { 1 };
    if n < min || n > 100 {
        return Err(bad(format!("it has {n} characters")));
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Err(bad("it starts with http:// or https://".into()));
    }
    if gateway_rules {
        if !s.starts_with(|c: char| c.is_alphabetic()) {
            return Err(bad("it does not start with a letter".into()));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(bad(format!("it contains {c:?}")));
        }
    }
    Ok(s.to_owned())
}

/// A `Description`: 1–100 characters, not starting with `http://`/`https://`. Code
/// `IllegalParam.Description`.
pub fn validate_description(field: &str, s: &str) -> Result<String, ControlError> {
    let n = s.chars().count();
    let lower = s.to_ascii_lowercase();
    if n == 0 || n > 100 || lower.starts_with("http://") || lower.starts_with("https://") {
        return Err(ControlError::illegal(
            "Description",
            format!(
                "The specified \"{field}\" is invalid ({n} characters). Allowed: 1 to 100 characters, not starting with http:// or https://."
            ),
        ));
    }
    Ok(s.to_owned())
}

/// A resource tag (`Tags.N.Key` / `Tags.N.Value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    /// 1–64 characters, not starting with `aliyun` or `acs:`, no `http://`/`https://`.
    pub key: String,
    /// ≤128 characters.
    pub value: String,
}

/// Validates up to 20 tags with distinct keys (code `IllegalParam.Tags`).
pub fn validate_tags(tags: &[Tag]) -> Result<(), ControlError> {
    let bad = |m: String| ControlError::illegal("Tags", m);
    if tags.len() > 20 {
        return Err(bad(format!(
            "{} tags given; at most 20 are allowed.",
            tags.len()
        )));
    }
    for (i, t) in tags.iter().enumerate() {
        let n = t.key.chars().count();
        let lower = t.key.to_ascii_lowercase();
        if n == 0
            || n > 64
            || lower.starts_with("aliyun")
            || lower.starts_with("acs:")
            || lower.contains("http://")
            || lower.contains("https://")
        {
            return Err(bad(format!(
                "Tags.{}.Key ({:?}) is invalid. Allowed: 1 to 64 characters, not starting with aliyun or acs:, without http:// or https://.",
                i + 1,
                t.key
            )));
        }
        if t.value.chars().count() > 128 {
            return Err(bad(format!(
                "Tags.{}.Value is longer than 128 characters.",
                i + 1
            )));
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(bad(format!(
                "Tags.{}.Key ({:?}) is given twice.",
                i + 1,
                t.key
            )));
        }
    }
    Ok(())
}

/// Parses a boolean the way the SDKs send it: `true`/`false` in any case (the Python SDK sends
/// `True`/`False`, api-reference §8 item 4). Code `IllegalParam.<last segment>`.
pub fn parse_bool(field: &str, s: &str) -> Result<bool, ControlError> {
    if s.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ControlError::illegal(
            last_segment(field),
            format!("The specified \"{field}\" ({s:?}) is invalid. Allowed values: true, false."),
        ))
    }
}

/// Parses an integer parameter (numbers arrive as strings). Code `IllegalParam.<last segment>`.
pub fn parse_int(field: &str, s: &str) -> Result<i64, ControlError> {
    s.trim().parse().map_err(|_| {
        ControlError::illegal(
            last_segment(field),
            format!("The specified \"{field}\" ({s:?}) is not an integer."),
        )
    })
}

/// Parses a comma-separated CIDR list (`LocalSubnet`, `RemoteSubnet`): code
/// `IllegalParam.<field>`, message naming the bad element.
pub fn parse_subnets(field: &str, s: &str) -> Result<Vec<Ipv4Net>, ControlError> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let p = part.trim();
        let n: Ipv4Net = p.parse().map_err(|_| {
            ControlError::illegal(
                last_segment(field),
                format!(
                    "The specified \"{field}\" ({s}) is invalid: {p:?} is not an IPv4 CIDR block such as 10.0.0.0/24. Separate several blocks with commas."
                ),
            )
        })?;
        out.push(n);
    }
    Ok(out)
}

/// A comma-joined CIDR list as the provider prints it.
pub fn join_subnets(nets: &[Ipv4Net]) -> String {
    nets.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_case_insensitively_and_list_allowed_values() {
        assert_eq!("AES256".parse::<EncAlg>().unwrap(), EncAlg::Aes256);
        assert_eq!(EncAlg::TripleDes.as_str(), "3des");
        // Extension values for AES-GCM (issue 5), case-insensitive like the rest.
        assert_eq!(
            "AES128GCM16".parse::<EncAlg>().unwrap(),
            EncAlg::Aes128Gcm16
        );
        assert_eq!(EncAlg::Aes256Gcm16.as_str(), "aes256gcm16");
        let e = IkeVersion::parse_as(
            "TunnelOptionsSpecification.1.TunnelIkeConfig.IkeVersion",
            "ikev3",
        )
        .unwrap_err();
        assert_eq!(e.code(), "IllegalParam.IkeVersion");
        assert!(e.message().contains("ikev1, ikev2"), "{}", e.message());
        assert_eq!("slave".parse::<TunnelRole>().unwrap(), TunnelRole::Backup);
    }

    #[test]
    fn r_tun_3_lifetime_range_is_0_to_86400() {
        assert_eq!(Lifetime::new("IkeLifetime", 0).unwrap().secs(), 0);
        assert_eq!(
            Lifetime::new("IkeLifetime", 86400).unwrap(),
            Lifetime::DEFAULT
        );
        let e = Lifetime::new(
            "TunnelOptionsSpecification.1.TunnelIkeConfig.IkeLifetime",
            86401,
        )
        .unwrap_err();
        assert_eq!(e.code(), "IllegalParam.IkeLifetime");
        assert!(e.message().contains("86401") && e.message().contains("0 to 86400"));
        assert!(Lifetime::new("IpsecLifetime", -1).is_err());
    }

    #[test]
    fn r_bgp_2_asn_range_and_asdot() {
        assert_eq!(Asn::parse_as("Asn", "65530").unwrap().get(), 65530);
        assert_eq!(Asn::parse_as("Asn", "123.456").unwrap().get(), 8_061_384);
        assert_eq!(Asn::parse_as("Asn", "4294967295").unwrap().get(), u32::MAX);
        let e = Asn::parse_as("Asn", "0").unwrap_err();
        assert_eq!(e.code(), "IllegalParam.Asn");
        assert!(e.message().contains("1 to 4294967295"));
        let e = Asn::parse_as("TunnelBgpConfig.LocalAsn", "4294967296").unwrap_err();
        assert_eq!(e.code(), "IllegalParam.LocalAsn");
        assert!(Asn::from_u64("LocalAsn", 4_294_967_296).is_err());
        assert!(Asn::parse_as("Asn", "1.65536").is_err());
        assert!(Asn::parse_as("Asn", "abc").is_err());
    }

    #[test]
    fn r_tun_2_psk_charset_and_length() {
        assert!(Psk::new("Psk", "abc~!`@#$%^&*()_-+={}[]\\|;:'\",.<>/?123").is_ok());
        let e = Psk::new("Psk", "has space").unwrap_err();
        assert_eq!(e.code(), "IllegalParam.Psk");
        assert!(e.message().contains("whitespace"));
        let e = Psk::new("Psk", &"a".repeat(101)).unwrap_err();
        assert!(e.message().contains("101 characters"));
        assert!(Psk::new("Psk", &"a".repeat(100)).is_ok());
        assert!(Psk::new("Psk", "").is_err());
        assert!(Psk::new("Psk", "caf\u{e9}").is_err());
        assert_eq!(
            format!("{:?}", Psk::new("Psk", "secret").unwrap()),
            "Psk(<redacted>)"
        );
    }

    #[test]
    fn r_tun_3_identities_are_ip_or_fqdn_without_spaces() {
        assert_eq!(
            IkeIdentity::parse_as("LocalId", "192.0.2.1").unwrap(),
            IkeIdentity::Ip(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert!(
            IkeIdentity::parse_as("LocalId", "vpn.example.com")
                .unwrap()
                .is_fqdn()
        );
        let e = IkeIdentity::parse_as("TunnelIkeConfig.RemoteId", "a b").unwrap_err();
        assert_eq!(e.code(), "IllegalParam.RemoteId");
        assert!(IkeIdentity::parse_as("LocalId", &"a".repeat(101)).is_err());
        assert!(IkeIdentity::parse_as("LocalId", "bad..name").is_err());
    }

    #[test]
    fn r_bgp_3_tunnel_cidr_rules() {
        assert!(TunnelCidr::parse_as("TunnelCidr", "169.254.10.0/30").is_ok());
        for bad in [
            "169.254.169.252/30",
            "169.254.3.0/30",
            "169.254.0.0/30",
            "169.254.5.0/30",
            "169.254.10.0/29",
            "169.254.10.1/30",
            "10.0.0.0/30",
            "not-a-cidr",
        ] {
            let e = TunnelCidr::parse_as("TunnelCidr", bad).unwrap_err();
            assert_eq!(e.code(), "IllegalParam.TunnelCidr", "{bad}");
            assert!(
                e.message().contains("/30") || e.message().contains("CIDR"),
                "{bad}"
            );
        }
        assert!(TunnelCidr::parse_as("TunnelCidr", "169.254.6.0/30").is_ok());
        let c = TunnelCidr::parse_as("TunnelCidr", "169.254.10.0/30").unwrap();
        assert_eq!(
            c.hosts(),
            [
                Ipv4Addr::new(169, 254, 10, 1),
                Ipv4Addr::new(169, 254, 10, 2)
            ]
        );
    }

    #[test]
    fn names_descriptions_tags() {
        assert!(validate_name("Name", "x", false).is_ok());
        assert!(validate_name("Name", "x", true).is_err());
        assert!(validate_name("Name", "1abc", true).is_err());
        assert!(validate_name("Name", "my-vpn_1.0", true).is_ok());
        let e = validate_name("Name", "http://x", false).unwrap_err();
        assert_eq!(e.code(), "InvalidName");
        assert!(validate_description("Description", "").is_err());
        let tags = vec![Tag {
            key: "acs:x".into(),
            value: String::new(),
        }];
        assert_eq!(
            validate_tags(&tags).unwrap_err().code(),
            "IllegalParam.Tags"
        );
    }

    #[test]
    fn booleans_ints_subnets() {
        assert!(parse_bool("EnableDpd", "True").unwrap());
        assert!(!parse_bool("EnableDpd", "FALSE").unwrap());
        assert_eq!(
            parse_bool("EnableDpd", "yes").unwrap_err().code(),
            "IllegalParam.EnableDpd"
        );
        assert_eq!(parse_int("Bandwidth", "10").unwrap(), 10);
        assert!(parse_int("Bandwidth", "ten").is_err());
        let s = parse_subnets("LocalSubnet", "10.0.0.0/24, 10.0.1.0/24").unwrap();
        assert_eq!(join_subnets(&s), "10.0.0.0/24,10.0.1.0/24");
        let e = parse_subnets("LocalSubnet", "10.0.0.0/24,bogus").unwrap_err();
        assert_eq!(e.code(), "IllegalParam.LocalSubnet");
        assert!(e.message().contains("\"bogus\""));
    }

    /// Malformed input gets a typed error, never a panic: random strings through every parser.
    #[test]
    fn parsers_never_panic_and_always_name_the_field() {
        use rand_chacha::ChaCha20Rng;
        use rand_core::{RngCore, SeedableRng};
        let alphabet: Vec<char> = "0123456789./,-: abcxyz@?\u{e9}\u{0}\u{202e}ABCikev"
            .chars()
            .collect();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for _ in 0..3000 {
            let len = (rng.next_u32() % 24) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(rng.next_u32() as usize) % alphabet.len()])
                .collect();
            let codes = [
                Asn::parse_as("Asn", &s).err().map(|e| e.code()),
                Psk::new("Psk", &s).err().map(|e| e.code()),
                IkeIdentity::parse_as("LocalId", &s).err().map(|e| e.code()),
                TunnelCidr::parse_as("TunnelCidr", &s)
                    .err()
                    .map(|e| e.code()),
                IkeVersion::parse_as("IkeVersion", &s)
                    .err()
                    .map(|e| e.code()),
                parse_bool("EnableDpd", &s).err().map(|e| e.code()),
                parse_int("Weight", &s).err().map(|e| e.code()),
                parse_subnets("LocalSubnet", &s).err().map(|e| e.code()),
                crate::ids::VpnGatewayId::parse_as("VpnGatewayId", &s)
                    .err()
                    .map(|e| e.code()),
            ];
            for c in codes.into_iter().flatten() {
                assert!(c.starts_with("IllegalParam."), "{s:?}: {c}");
            }
            if let Err(e) = validate_name("Name", &s, true) {
                assert_eq!(e.code(), "InvalidName");
            }
        }
    }
}
