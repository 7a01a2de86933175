//! What an IKE endpoint tells the ESP layer and the engine ([`Event`]).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use dualsec_crypto::{EncrId, IntegId};
use zeroize::Zeroizing;

use super::config::TrafficSelector;
use super::error::NegotiationError;

/// The engine's name for a tunnel; the endpoint only passes it back in events.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TunnelId(pub u64);

impl fmt::Display for TunnelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tunnel#{}", self.0)
    }
}

/// Key material for one direction of an ESP SA.
#[derive(Clone)]
pub struct EspKeys {
    /// Encryption key; for AEAD/CTR ciphers it ends with the 4-byte salt (RFC 4106 §8.1).
    pub encr_key: Zeroizing<Vec<u8>>,
    /// Integrity key (empty with AEAD ciphers).
    pub integ_key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for EspKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EspKeys({} + {} bytes, redacted)",
            self.encr_key.len(),
            self.integ_key.len()
        )
    }
}

/// Everything the ESP layer needs to install one CHILD SA (a pair of ESP SAs).
#[derive(Clone, Debug)]
pub struct ChildSaInfo {
    /// SPI the peer puts on packets it sends us (we chose it).
    pub spi_in: u32,
    /// SPI we put on packets we send (the peer chose it).
    pub spi_out: u32,
    /// Negotiated encryption transform.
    pub encr: EncrId,
    /// Key length in bits for variable-length ciphers.
    pub key_bits: Option<u16>,
    /// Negotiated integrity transform ([`IntegId::NONE`] with AEAD).
    pub integ: IntegId,
    /// Extended sequence numbers in use.
    pub esn: bool,
    /// Keys for packets we receive.
    pub keys_in: EspKeys,
    /// Keys for packets we send.
    pub keys_out: EspKeys,
    /// Our side's selectors (narrowed).
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's side's selectors (narrowed).
    pub remote_ts: Vec<TrafficSelector>,
    /// Rekey after this long.
    pub soft_lifetime: Duration,
    /// Delete after this long.
    pub hard_lifetime: Duration,
    /// ESP goes in UDP 4500 (RFC 3948): a NAT was detected, or the peer floated to 4500.
    pub udp_encap: bool,
    /// Our address and port for ESP (port relevant when `udp_encap`).
    pub local: SocketAddr,
    /// The peer's current address and port.
    pub remote: SocketAddr,
}

/// Why an IKE SA went down.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DownReason {
    /// We or the engine deleted it.
    LocalDelete,
    /// The peer sent a DELETE for it.
    PeerDelete,
    /// Replaced by a rekeyed IKE SA (children moved over).
    Rekeyed,
    /// It failed; the error explains.
    Failed(NegotiationError),
}

/// Output of the endpoint, drained with `poll_event`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// IKE SA authenticated and established.
    IkeUp {
        /// The tunnel.
        tunnel: TunnelId,
        /// Peer's address.
        remote: SocketAddr,
        /// NAT-T in use (port 4500).
        nat: bool,
    },
    /// IKE SA is gone; its CHILD SAs are deleted too (a `ChildDeleted` was emitted for each).
    IkeDown {
        /// The tunnel.
        tunnel: TunnelId,
        /// Why.
        reason: DownReason,
    },
    /// The IKE SA was rekeyed (RFC 7296 §2.18): a new IKE SA with these SPIs carries on, with
    /// the same CHILD SAs. Informational; nothing to install.
    IkeRekeyed {
        /// The tunnel.
        tunnel: TunnelId,
        /// New initiator SPI.
        spi_i: u64,
        /// New responder SPI.
        spi_r: u64,
    },
    /// A new CHILD SA: install both ESP SAs.
    ChildEstablished {
        /// The tunnel.
        tunnel: TunnelId,
        /// SAs to install.
        child: ChildSaInfo,
    },
    /// A CHILD SA was rekeyed: install `new`, then remove the SAs with SPIs `old_spi_in`/`old_spi_out`.
    ChildRekeyed {
        /// The tunnel.
        tunnel: TunnelId,
        /// Inbound SPI of the replaced SA.
        old_spi_in: u32,
        /// Outbound SPI of the replaced SA.
        old_spi_out: u32,
        /// The replacement.
        new: ChildSaInfo,
    },
    /// Remove this CHILD SA.
    ChildDeleted {
        /// The tunnel.
        tunnel: TunnelId,
        /// Our inbound SPI.
        spi_in: u32,
        /// Outbound SPI.
        spi_out: u32,
    },
    /// The peer's address or port changed (NAT rebinding, float to 4500): update outbound ESP.
    PeerAddressChanged {
        /// The tunnel.
        tunnel: TunnelId,
        /// The new address.
        remote: SocketAddr,
        /// ESP in UDP now.
        udp_encap: bool,
    },
    /// The peer did not answer liveness checks within the DPD timeout (R-TUN-5). An `IkeDown`
    /// follows; the tunnel renegotiates on its own.
    PeerDead {
        /// The tunnel.
        tunnel: TunnelId,
    },
    /// The peer answered a fast liveness probe sent with `Endpoint::probe` (issue 6): the
    /// tunnel's path and the peer's IKE SA work now.
    ProbeAnswered {
        /// The tunnel.
        tunnel: TunnelId,
    },
    /// A negotiation failed; `error` is the explained last error for the tunnel (R-DIAG-1).
    NegotiationFailed {
        /// The tunnel.
        tunnel: TunnelId,
        /// What went wrong.
        error: NegotiationError,
    },
}
