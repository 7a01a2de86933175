//! Per-tunnel IKEv2 configuration, typed and defaulted once (STYLE.md §8).
//!
//! Every default cites the SPEC.md requirement it comes from. The engine fills a [`TunnelConfig`]
//! from the tunnel's stored settings; this crate never reads configuration from anywhere else.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use dualsec_crypto::{DhId, EncrId, IntegId, PrfId};
use zeroize::Zeroizing;

/// An IKE identity (RFC 7296 §3.5). The product allows IP addresses and FQDNs (R-TUN-3).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identity {
    /// ID_IPV4_ADDR (1).
    Ipv4(Ipv4Addr),
    /// ID_FQDN (2): a name without spaces.
    Fqdn(String),
    /// ID_IPV6_ADDR (5).
    Ipv6(Ipv6Addr),
}

impl Identity {
    /// ID Type number (RFC 7296 §3.5).
    pub fn id_type(&self) -> u8 {
        match self {
            Identity::Ipv4(_) => 1,
            Identity::Fqdn(_) => 2,
            Identity::Ipv6(_) => 5,
        }
    }

    /// Identification Data as carried on the wire.
    pub fn data(&self) -> Vec<u8> {
        match self {
            Identity::Ipv4(a) => a.octets().to_vec(),
            Identity::Fqdn(n) => n.as_bytes().to_vec(),
            Identity::Ipv6(a) => a.octets().to_vec(),
        }
    }

    /// Decodes an ID payload body; `None` for ID types the product does not use (they are then
    /// reported as a mismatch, not as a syntax error).
    pub fn from_wire(id_type: u8, data: &[u8]) -> Option<Identity> {
        match id_type {
            1 => <[u8; 4]>::try_from(data)
                .ok()
                .map(|o| Identity::Ipv4(o.into())),
            2 => std::str::from_utf8(data)
                .ok()
                .map(|s| Identity::Fqdn(s.to_owned())),
            5 => <[u8; 16]>::try_from(data)
                .ok()
                .map(|o| Identity::Ipv6(o.into())),
            _ => None,
        }
    }
}

impl From<IpAddr> for Identity {
    fn from(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(a) => Identity::Ipv4(a),
            IpAddr::V6(a) => Identity::Ipv6(a),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Ipv4(a) => write!(f, "{a}"),
            Identity::Ipv6(a) => write!(f, "{a}"),
            Identity::Fqdn(n) => write!(f, "{n}"),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A pre-shared key (R-TUN-2): compared byte for byte, zeroed on drop, never printed.
#[derive(Clone)]
pub struct Psk(Zeroizing<Vec<u8>>);

impl Psk {
    /// Wraps the key bytes exactly as the user typed them (case and special characters matter).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Psk(Zeroizing::new(bytes.into()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(<redacted>)")
    }
}

/// One IKE SA proposal: a single transform of each type (R-TUN-3 offers exactly one algorithm per
/// setting; several proposals may still be listed in preference order).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IkeProposal {
    /// Encryption transform.
    pub encr: EncrId,
    /// Key length in bits for variable-length ciphers (AES), `None` for fixed ones (3DES).
    pub key_bits: Option<u16>,
    /// Integrity transform; [`IntegId::NONE`] with AEAD ciphers (RFC 5282).
    pub integ: IntegId,
    /// Pseudorandom function (R-TUN-3: equals the authentication algorithm).
    pub prf: PrfId,
    /// Diffie-Hellman group.
    pub dh: DhId,
}

impl IkeProposal {
    /// The product default `aes128-sha1-modp1024` (R-TUN-3: `aes`, `sha1`, `group2`).
    pub const DEFAULT: IkeProposal = IkeProposal {
        encr: EncrId::AES_CBC,
        key_bits: Some(128),
        integ: IntegId::HMAC_SHA1_96,
        prf: PrfId::HMAC_SHA1,
        dh: DhId::MODP_1024,
    };
}

impl IkeProposal {
    /// Parses a strongSwan IKE proposal (`aes128-sha1-modp1024`, `aes256gcm16-prfsha384-ecp384`);
    /// the PRF defaults to the integrity algorithm's hash, as strongSwan does.
    pub fn from_strongswan(s: &str) -> Result<IkeProposal, dualsec_crypto::CryptoError> {
        let suite = dualsec_crypto::product::Suite::parse_strongswan(s)?;
        let prf = suite.ike_prf().ok_or_else(|| unknown_proposal(s))?;
        Ok(IkeProposal {
            encr: suite.cipher.id(),
            key_bits: suite.cipher.key_length_attribute(),
            integ: suite.integ.map_or(IntegId::NONE, |i| i.id()),
            prf: prf.id(),
            dh: suite.dh.ok_or_else(|| unknown_proposal(s))?.id(),
        })
    }
}

fn unknown_proposal(s: &str) -> dualsec_crypto::CryptoError {
    dualsec_crypto::CryptoError::UnknownName {
        kind: "IKE proposal (needs a PRF and a DH group)",
        name: s.to_owned(),
    }
}

impl EspProposal {
    /// Parses a strongSwan ESP proposal (`aes128-sha1`, `aes128-sha1-modp1024`); returns the
    /// proposal and the PFS group if one is named.
    pub fn from_strongswan(
        s: &str,
    ) -> Result<(EspProposal, Option<DhId>), dualsec_crypto::CryptoError> {
        let suite = dualsec_crypto::product::Suite::parse_strongswan(s)?;
        Ok((
            EspProposal {
                encr: suite.cipher.id(),
                key_bits: suite.cipher.key_length_attribute(),
                integ: suite.integ.map_or(IntegId::NONE, |i| i.id()),
                esn: false,
            },
            suite.dh.map(|g| g.id()),
        ))
    }
}

impl fmt::Display for IkeProposal {
    /// strongSwan-style text (`aes128-sha1-prfsha1-modp1024`), the vocabulary network engineers
    /// compare against their device's configuration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", encr_name(self.encr, self.key_bits))?;
        if self.integ != IntegId::NONE {
            write!(f, "-{}", integ_name(self.integ))?;
        }
        write!(f, "-prf{}-{}", prf_name(self.prf), dh_name(self.dh))
    }
}

/// One ESP proposal for a CHILD SA (R-TUN-4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EspProposal {
    /// Encryption transform.
    pub encr: EncrId,
    /// Key length in bits for variable-length ciphers.
    pub key_bits: Option<u16>,
    /// Integrity transform; [`IntegId::NONE`] with AEAD ciphers.
    pub integ: IntegId,
    /// Extended sequence numbers (RFC 4303); the product default is off.
    pub esn: bool,
}

impl EspProposal {
    /// The product default `aes128-sha1` (R-TUN-4).
    pub const DEFAULT: EspProposal = EspProposal {
        encr: EncrId::AES_CBC,
        key_bits: Some(128),
        integ: IntegId::HMAC_SHA1_96,
        esn: false,
    };
}

impl fmt::Display for EspProposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", encr_name(self.encr, self.key_bits))?;
        if self.integ != IntegId::NONE {
            write!(f, "-{}", integ_name(self.integ))?;
        }
        if self.esn {
            f.write_str("-esn")?;
        }
        Ok(())
    }
}

pub(crate) fn encr_name(e: EncrId, bits: Option<u16>) -> String {
    let b = bits.map(|b| b.to_string()).unwrap_or_default();
    match e {
        EncrId::AES_CBC => format!("aes{b}"),
        EncrId::AES_CTR => format!("aes{b}ctr"),
        EncrId::AES_GCM_16 => format!("aes{b}gcm16"),
        EncrId::AES_GCM_12 => format!("aes{b}gcm12"),
        EncrId::AES_GCM_8 => format!("aes{b}gcm8"),
        EncrId::TRIPLE_DES => "3des".into(),
        EncrId::DES => "des".into(),
        EncrId::CHACHA20_POLY1305 => "chacha20poly1305".into(),
        other => format!(
            "encr{}{}",
            other.0,
            if b.is_empty() {
                String::new()
            } else {
                format!("/{b}")
            }
        ),
    }
}

pub(crate) fn integ_name(i: IntegId) -> String {
    match i {
        IntegId::HMAC_MD5_96 => "md5".into(),
        IntegId::HMAC_SHA1_96 => "sha1".into(),
        IntegId::HMAC_SHA2_256_128 => "sha256".into(),
        IntegId::HMAC_SHA2_384_192 => "sha384".into(),
        IntegId::HMAC_SHA2_512_256 => "sha512".into(),
        IntegId::AES_XCBC_96 => "aesxcbc".into(),
        IntegId::NONE => "none".into(),
        other => format!("integ{}", other.0),
    }
}

pub(crate) fn prf_name(p: PrfId) -> String {
    match p {
        PrfId::HMAC_MD5 => "md5".into(),
        PrfId::HMAC_SHA1 => "sha1".into(),
        PrfId::HMAC_SHA2_256 => "sha256".into(),
        PrfId::HMAC_SHA2_384 => "sha384".into(),
        PrfId::HMAC_SHA2_512 => "sha512".into(),
        PrfId::AES128_XCBC => "aesxcbc".into(),
        other => format!("{}", other.0),
    }
}

pub(crate) fn dh_name(d: DhId) -> String {
    match d {
        DhId::NONE => "nopfs".into(),
        DhId::MODP_768 => "modp768".into(),
        DhId::MODP_1024 => "modp1024".into(),
        DhId::MODP_1536 => "modp1536".into(),
        DhId::MODP_2048 => "modp2048".into(),
        DhId::ECP_256 => "ecp256".into(),
        DhId::ECP_384 => "ecp384".into(),
        DhId::ECP_521 => "ecp521".into(),
        DhId::CURVE25519 => "curve25519".into(),
        other => format!("dh{}", other.0),
    }
}

/// An IPv4 or IPv6 traffic selector (RFC 7296 §3.13.1): an address range, an IP protocol
/// (0 = any) and a port range.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TrafficSelector {
    /// IP protocol id, 0 for any.
    pub ip_protocol: u8,
    /// First port (inclusive).
    pub start_port: u16,
    /// Last port (inclusive).
    pub end_port: u16,
    /// First address (inclusive); same family as `end_addr`.
    pub start_addr: IpAddr,
    /// Last address (inclusive).
    pub end_addr: IpAddr,
}

impl TrafficSelector {
    /// All traffic between the addresses of `addr/prefix_len` (any protocol, any port): the form
    /// the product's CIDRs take (R-CONN-2). `None` if the prefix length is too long.
    pub fn cidr(addr: IpAddr, prefix_len: u8) -> Option<TrafficSelector> {
        let (start_addr, end_addr) = match addr {
            IpAddr::V4(a) => {
                if prefix_len > 32 {
                    return None;
                }
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(prefix_len))
                    .unwrap_or(0);
                let s = u32::from(a) & mask;
                (IpAddr::V4(s.into()), IpAddr::V4((s | !mask).into()))
            }
            IpAddr::V6(a) => {
                if prefix_len > 128 {
                    return None;
                }
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(prefix_len))
                    .unwrap_or(0);
                let s = u128::from(a) & mask;
                (IpAddr::V6(s.into()), IpAddr::V6((s | !mask).into()))
            }
        };
        Some(TrafficSelector {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr,
            end_addr,
        })
    }

    /// The single host `addr`, all protocols and ports.
    pub fn host(addr: IpAddr) -> TrafficSelector {
        TrafficSelector {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: addr,
            end_addr: addr,
        }
    }

    /// Every IPv4 address (0.0.0.0/0), the route-based (destination routing) default.
    pub fn any_v4() -> TrafficSelector {
        TrafficSelector {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            end_addr: IpAddr::V4(Ipv4Addr::BROADCAST),
        }
    }

    /// Whether the selector is IPv4.
    pub fn is_ipv4(&self) -> bool {
        self.start_addr.is_ipv4()
    }

    /// The intersection with `other`, if any (RFC 7296 §2.9 narrowing).
    pub fn intersect(&self, other: &TrafficSelector) -> Option<TrafficSelector> {
        if self.is_ipv4() != other.is_ipv4() {
            return None;
        }
        let ip_protocol = match (self.ip_protocol, other.ip_protocol) {
            (0, p) | (p, 0) => p,
            (a, b) if a == b => a,
            _ => return None,
        };
        let start_port = self.start_port.max(other.start_port);
        let end_port = self.end_port.min(other.end_port);
        let start_addr = self.start_addr.max(other.start_addr);
        let end_addr = self.end_addr.min(other.end_addr);
        if start_port > end_port || start_addr > end_addr {
            return None;
        }
        Some(TrafficSelector {
            ip_protocol,
            start_port,
            end_port,
            start_addr,
            end_addr,
        })
    }

    /// Whether `self` lies entirely inside `outer`.
    pub fn is_subset_of(&self, outer: &TrafficSelector) -> bool {
        self.intersect(outer).as_ref() == Some(self)
    }
}

impl fmt::Display for TrafficSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Print as a CIDR when the range is one.
        let cidr = (0..=if self.is_ipv4() { 32u8 } else { 128 }).find(|&l| {
            TrafficSelector::cidr(self.start_addr, l)
                .is_some_and(|c| c.start_addr == self.start_addr && c.end_addr == self.end_addr)
        });
        match cidr {
            Some(l) => write!(f, "{}/{l}", self.start_addr)?,
            None => write!(f, "{}-{}", self.start_addr, self.end_addr)?,
        }
        if self.ip_protocol != 0 || self.start_port != 0 || self.end_port != 65535 {
            write!(
                f,
                "[{}/{}-{}]",
                self.ip_protocol, self.start_port, self.end_port
            )?;
        }
        Ok(())
    }
}

/// Formats a selector list as `a, b`.
pub(crate) fn ts_list(ts: &[TrafficSelector]) -> String {
    if ts.is_empty() {
        return "(none)".into();
    }
    ts.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Dead peer detection (R-TUN-5).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DpdConfig {
    /// Idle time after which a liveness check (empty INFORMATIONAL, RFC 7296 §2.4) is sent.
    pub interval: Duration,
    /// Without a valid reply within this time the peer is declared dead (R-TUN-5: 30 s).
    pub timeout: Duration,
}

impl Default for DpdConfig {
    fn default() -> Self {
        DpdConfig {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Request retransmission (RFC 7296 §2.1): exponential back-off from `initial`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RetransmitConfig {
    /// Wait before the first retransmission.
    pub initial: Duration,
    /// Factor applied to the wait after each retransmission.
    pub backoff: u32,
    /// The wait never grows beyond this.
    pub max_interval: Duration,
    /// Retransmissions of a handshake request before the peer is reported unreachable. Once the
    /// IKE SA is up, requests are retransmitted until the DPD timeout decides instead (R-TUN-5).
    pub max_retransmits: u32,
}

impl Default for RetransmitConfig {
    /// 1 s doubling up to 3 s, 6 retransmissions: sends at 0, 1, 3, 6, 9, 12, 15 s, and an
    /// unreachable peer is reported at 18 s (R-DIAG-1); a liveness check is sent about 11 times within the 30 s
    /// DPD timeout, so heavy loss alone does not kill a tunnel.
    fn default() -> Self {
        RetransmitConfig {
            initial: Duration::from_secs(1),
            backoff: 2,
            max_interval: Duration::from_secs(3),
            max_retransmits: 6,
        }
    }
}

/// Everything one tunnel's IKEv2 negotiation needs.
#[derive(Clone, Debug)]
pub struct TunnelConfig {
    /// The gateway's public IP for this tunnel (tunnel 1 = IP 1, tunnel 2 = IP 2; R-HA-1).
    pub local_addr: IpAddr,
    /// The customer gateway's public IP (R-TUN-1).
    pub remote_addr: IpAddr,
    /// UDP port we send IKE to first; 500 except in tests.
    pub remote_port: u16,
    /// Our ID (R-TUN-3 LocalId; default the tunnel's IP).
    pub local_id: Identity,
    /// The ID we require from the peer (R-TUN-3 RemoteId; default the customer gateway's IP).
    pub remote_id: Identity,
    /// Pre-shared key (R-TUN-2).
    pub psk: Psk,
    /// IKE proposals, most preferred first (R-TUN-3).
    pub ike_proposals: Vec<IkeProposal>,
    /// ESP proposals, most preferred first (R-TUN-4).
    pub esp_proposals: Vec<EspProposal>,
    /// PFS group for CHILD SAs; `None` = PFS disabled (R-TUN-4; default group2).
    pub pfs_group: Option<DhId>,
    /// IKE SA lifetime (R-TUN-3: default 86400 s). Rekeyed at 90 % of it.
    pub ike_lifetime: Duration,
    /// CHILD SA lifetime (R-TUN-4: default 86400 s). Rekeyed at 90 % of it.
    pub child_lifetime: Duration,
    /// Dead peer detection; `None` = off (R-TUN-5: on by default).
    pub dpd: Option<DpdConfig>,
    /// NAT traversal (R-TUN-6: on by default): send NAT_DETECTION_* and float to 4500.
    pub nat_traversal: bool,
    /// IKE fragmentation (RFC 7383): we announce IKEV2_FRAGMENTATION_SUPPORTED, and when the
    /// peer does too, an IKE_AUTH message larger than this many octets (the UDP payload) is sent
    /// as SKF fragments no larger than it. 0 = neither announce nor fragment. Default 1280.
    pub ike_fragment_size: usize,
    /// Our side's selectors (VPC CIDRs; R-CONN-2), several allowed.
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's side's selectors (IDC CIDRs).
    pub remote_ts: Vec<TrafficSelector>,
    /// Request retransmission schedule.
    pub retransmit: RetransmitConfig,
}

impl TunnelConfig {
    /// A tunnel with the product defaults (R-TUN-3…6): IDs are the two addresses,
    /// `aes128-sha1-modp1024` for IKE, `aes128-sha1` with PFS group2 for ESP, 86400 s lifetimes,
    /// DPD 30 s, NAT-T on, selectors 0.0.0.0/0 both ways (destination routing, R-CONN-2).
    pub fn new(local_addr: IpAddr, remote_addr: IpAddr, psk: Psk) -> Self {
        TunnelConfig {
            local_addr,
            remote_addr,
            remote_port: 500,
            local_id: local_addr.into(),
            remote_id: remote_addr.into(),
            psk,
            ike_proposals: vec![IkeProposal::DEFAULT],
            esp_proposals: vec![EspProposal::DEFAULT],
            pfs_group: Some(DhId::MODP_1024),
            ike_lifetime: Duration::from_secs(86400),
            child_lifetime: Duration::from_secs(86400),
            dpd: Some(DpdConfig::default()),
            nat_traversal: true,
            ike_fragment_size: 1280,
            local_ts: vec![TrafficSelector::any_v4()],
            remote_ts: vec![TrafficSelector::any_v4()],
            retransmit: RetransmitConfig::default(),
        }
    }

    /// Text of our IKE proposals for diagnostics (`aes128-sha1-prfsha1-modp1024, …`).
    pub(crate) fn ike_proposals_text(&self) -> String {
        self.ike_proposals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Text of our ESP proposals, with the PFS group.
    pub(crate) fn esp_proposals_text(&self) -> String {
        let pfs = self
            .pfs_group
            .map(|g| format!("-{}", dh_name(g)))
            .unwrap_or_default();
        self.esp_proposals
            .iter()
            .map(|p| format!("{p}{pfs}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_proposal_text_is_what_engineers_type() {
        assert_eq!(
            IkeProposal::DEFAULT.to_string(),
            "aes128-sha1-prfsha1-modp1024"
        );
        assert_eq!(EspProposal::DEFAULT.to_string(), "aes128-sha1");
    }

    #[test]
    fn cidr_and_narrowing() {
        let a = TrafficSelector::cidr("198.18.0.0".parse().unwrap(), 16).unwrap();
        let b = TrafficSelector::cidr("198.18.5.7".parse().unwrap(), 24).unwrap();
        assert_eq!(a.to_string(), "198.18.0.0/16");
        assert_eq!(b.to_string(), "198.18.5.0/24");
        assert_eq!(a.intersect(&b), Some(b));
        assert!(b.is_subset_of(&a));
        assert!(!a.is_subset_of(&b));
        let c = TrafficSelector::cidr("198.19.0.0".parse().unwrap(), 16).unwrap();
        assert_eq!(a.intersect(&c), None);
        assert_eq!(TrafficSelector::any_v4().to_string(), "0.0.0.0/0");
    }

    #[test]
    fn identity_round_trips() {
        for id in [
            Identity::Ipv4("192.0.2.1".parse().unwrap()),
            Identity::Fqdn("gw.example".into()),
        ] {
            assert_eq!(Identity::from_wire(id.id_type(), &id.data()), Some(id));
        }
        assert_eq!(Identity::from_wire(1, &[1, 2, 3]), None);
    }
}
