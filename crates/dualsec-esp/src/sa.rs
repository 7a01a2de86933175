//! One ESP security association per direction: parameters, outbound encapsulation and staged
//! inbound decapsulation (RFC 4303 §3.3, §3.4; STYLE.md §6).

use core::net::IpAddr;
use core::ops::Range;
use std::time::Instant;

use dualsec_crypto::{EncrId, IntegId};
use ipnet::IpNet;
use rand_core::CryptoRngCore;

use crate::lifetime::{LifetimeCause, LifetimeEvent, LifetimeTracker, Lifetimes};
use crate::replay::{self, ReplayError, ReplayWindow};
use crate::transform::Transform;
use crate::wire::{self, EspPacket, HEADER_LEN, NextHeader, Spi, TRAILER_LEN};

/// Which way an SA protects traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We decrypt with it (the SPI is ours).
    Inbound,
    /// We encrypt with it (the SPI is the peer's).
    Outbound,
}

/// UDP encapsulation of ESP (RFC 3948); the caller frames the UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpEncap {
    /// Our port (4500 normally).
    pub local_port: u16,
    /// The peer's port (4500, or whatever a NAT mapped it to).
    pub remote_port: u16,
}

/// The outer addresses of the tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelEndpoints {
    /// Our public IP (one of the gateway's two).
    pub local: IpAddr,
    /// The customer gateway's IP.
    pub remote: IpAddr,
}

/// Traffic selectors the inner packets must match (RFC 4301 §5.2 step 4, the "inner selector
/// check"). Empty lists match everything (`0.0.0.0/0` and `::/0`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selectors {
    /// Our side (VPC CIDRs).
    pub local: Vec<IpNet>,
    /// The peer's side (IDC CIDRs).
    pub remote: Vec<IpNet>,
}

impl Selectors {
    fn side_matches(nets: &[IpNet], addr: IpAddr) -> bool {
        nets.is_empty() || nets.iter().any(|n| n.contains(&addr))
    }

    /// Whether an inbound inner packet (from the peer's side to ours) is allowed.
    pub fn allows_inbound(&self, src: IpAddr, dst: IpAddr) -> bool {
        Self::side_matches(&self.remote, src) && Self::side_matches(&self.local, dst)
    }
}

/// Everything needed to install one SA, as IKE hands it over for a CHILD SA (RFC 7296 §2.17
/// KEYMAT already split into the encryption and integrity keys of this direction).
#[derive(Clone, PartialEq, Eq)]
pub struct SaParams {
    /// The SPI on the wire: ours for inbound, the peer's for outbound.
    pub spi: Spi,
    /// Inbound or outbound.
    pub direction: Direction,
    /// Encryption transform (IANA Transform Type 1).
    pub encr: EncrId,
    /// Encryption key; for AES-GCM (RFC 4106 §8.1) the key followed by the 4-octet salt.
    pub encr_key: Vec<u8>,
    /// Integrity transform (Type 3); `IntegId::NONE` with AES-GCM.
    pub integ: IntegId,
    /// Integrity key (empty with AES-GCM).
    pub integ_key: Vec<u8>,
    /// 64-bit Extended Sequence Numbers (RFC 4303 §2.2.1) negotiated.
    pub esn: bool,
    /// Anti-replay window in packets (inbound only); [`replay::DEFAULT_WINDOW`] by default,
    /// [`replay::MIN_WINDOW`]..=[`replay::MAX_WINDOW`].
    pub replay_window: u32,
    /// Soft and hard limits.
    pub lifetimes: Lifetimes,
    /// UDP encapsulation, when NAT-T is in use (always with a strongSwan kernel-libipsec peer).
    pub udp_encap: Option<UdpEncap>,
    /// Outer addresses.
    pub tunnel: TunnelEndpoints,
    /// Inner selectors checked on inbound packets.
    pub selectors: Selectors,
}

impl core::fmt::Debug for SaParams {
    // Keys never reach a log.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SaParams")
            .field("spi", &self.spi)
            .field("direction", &self.direction)
            .field("encr", &self.encr)
            .field("encr_key_len", &self.encr_key.len())
            .field("integ", &self.integ)
            .field("integ_key_len", &self.integ_key.len())
            .field("esn", &self.esn)
            .field("replay_window", &self.replay_window)
            .field("lifetimes", &self.lifetimes)
            .field("udp_encap", &self.udp_encap)
            .field("tunnel", &self.tunnel)
            .field("selectors", &self.selectors)
            .finish()
    }
}

impl Drop for SaParams {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.encr_key);
        zeroize::Zeroize::zeroize(&mut self.integ_key);
    }
}

/// Why SA parameters were refused (the caller built them wrong: `ApiMisuse` in STYLE.md §7 terms).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// SPI 0..=255 (RFC 4303 §2.1).
    #[error("SPI {0} is reserved")]
    ReservedSpi(Spi),
    /// Window outside the supported range.
    #[error("replay window {0} outside {min}..={max}", min = replay::MIN_WINDOW, max = replay::MAX_WINDOW)]
    ReplayWindow(u32),
    /// Transform or key not usable.
    #[error("transform: {0}")]
    Transform(String),
    /// Direction mismatch (an outbound parameter set given to an inbound constructor, or vice versa).
    #[error("SA parameters are for the other direction")]
    WrongDirection,
}

/// Why an inbound packet was dropped. Each reason has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DropReason {
    /// No SA for this SPI.
    #[error("unknown SPI")]
    BadSpi,
    /// Duplicate or older than the window (RFC 4303 §3.4.3).
    #[error("replayed or too old")]
    Replay,
    /// ICV or AEAD tag did not verify (RFC 4303 §3.4.4).
    #[error("integrity check failed")]
    IcvFailure,
    /// Too short, or the ciphertext is not a whole number of blocks.
    #[error("malformed or truncated")]
    Malformed,
    /// Pad Length too large or pad bytes not 1, 2, 3, … (RFC 4303 §2.4).
    #[error("bad padding")]
    BadPadding,
    /// Next header neither IPv4, IPv6 nor 59, or the inner header disagrees with it.
    #[error("bad next header or inner packet")]
    BadNextHeader,
    /// Inner addresses outside the SA's selectors (RFC 4301 §5.2).
    #[error("inner selector mismatch")]
    SelectorMismatch,
    /// A dummy packet (next header 59, RFC 4303 §2.6): dropped silently by design.
    #[error("dummy packet")]
    Dummy,
    /// The SA reached its hard lifetime.
    #[error("SA expired")]
    Expired,
}

impl DropReason {
    /// All reasons, in counter order.
    pub const ALL: [DropReason; 9] = [
        DropReason::BadSpi,
        DropReason::Replay,
        DropReason::IcvFailure,
        DropReason::Malformed,
        DropReason::BadPadding,
        DropReason::BadNextHeader,
        DropReason::SelectorMismatch,
        DropReason::Dummy,
        DropReason::Expired,
    ];

    /// Index into a counter array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable name for metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::BadSpi => "bad_spi",
            DropReason::Replay => "replay",
            DropReason::IcvFailure => "icv_failure",
            DropReason::Malformed => "malformed",
            DropReason::BadPadding => "bad_padding",
            DropReason::BadNextHeader => "bad_next_header",
            DropReason::SelectorMismatch => "selector_mismatch",
            DropReason::Dummy => "dummy",
            DropReason::Expired => "expired",
        }
    }
}

/// Drop counters by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCounters(pub [u64; DropReason::ALL.len()]);

impl DropCounters {
    /// Counts one drop.
    pub fn count(&mut self, r: DropReason) {
        self.0[r.index()] += 1;
    }

    /// Drops for one reason.
    pub fn get(&self, r: DropReason) -> u64 {
        self.0[r.index()]
    }

    /// All drops.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Adds another set of counters.
    pub fn add(&mut self, other: &DropCounters) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }
}

/// Per-SA traffic counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaCounters {
    /// Packets protected (outbound) or accepted (inbound).
    pub packets: u64,
    /// Inner bytes protected or accepted.
    pub bytes: u64,
    /// Inbound packets dropped on this SA (after the SPI matched).
    pub dropped: DropCounters,
}

/// Why an outbound packet could not be protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncapError {
    /// The caller's buffer lacks headroom or tailroom (`ApiMisuse`).
    #[error("buffer needs {head} bytes of headroom and {tail} of tailroom")]
    NoRoom {
        /// Required headroom.
        head: usize,
        /// Required tailroom.
        tail: usize,
    },
    /// The inner packet is empty.
    #[error("empty inner packet")]
    Empty,
    /// The inner packet is neither IPv4 nor IPv6.
    #[error("inner packet is not IPv4 or IPv6")]
    NotIp,
    /// The SA reached its hard lifetime or its sequence number space is used up
    /// (RFC 4303 §3.3.3: the counter must not cycle); a new SA is needed.
    #[error("SA expired")]
    Expired,
    /// The crypto library failed (a bug, not the peer's fault).
    #[error("crypto library failure")]
    Crypto,
}

/// The result of a successful inbound decapsulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decapsulated {
    /// Where the inner packet lies in the caller's buffer (decrypted in place).
    pub inner: Range<usize>,
    /// IPv4 or IPv6.
    pub next_header: NextHeader,
    /// The full (ESN-inferred) sequence number.
    pub seq: u64,
}

fn check_common(p: &SaParams, dir: Direction) -> Result<Transform, ParamsError> {
    if p.direction != dir {
        return Err(ParamsError::WrongDirection);
    }
    if !p.spi.is_assignable() {
        return Err(ParamsError::ReservedSpi(p.spi));
    }
    Transform::new(p.encr, &p.encr_key, p.integ, &p.integ_key).map_err(ParamsError::Transform)
}

/// Sends with one SA: assigns sequence numbers and protects packets.
#[derive(Debug)]
pub struct OutboundSa {
    spi: Spi,
    transform: Transform,
    esn: bool,
    /// Last sequence number sent (0 = none).
    seq: u64,
    lifetime: LifetimeTracker,
    counters: SaCounters,
    udp_encap: Option<UdpEncap>,
    tunnel: TunnelEndpoints,
}

impl OutboundSa {
    /// Builds the SA; keys are expanded once here.
    pub fn new(p: &SaParams, now: Instant) -> Result<Self, ParamsError> {
        let transform = check_common(p, Direction::Outbound)?;
        Ok(Self {
            spi: p.spi,
            transform,
            esn: p.esn,
            seq: 0,
            lifetime: LifetimeTracker::new(p.lifetimes, now),
            counters: SaCounters::default(),
            udp_encap: p.udp_encap,
            tunnel: p.tunnel,
        })
    }

    /// The peer's SPI.
    pub fn spi(&self) -> Spi {
        self.spi
    }

    /// UDP encapsulation settings.
    pub fn udp_encap(&self) -> Option<UdpEncap> {
        self.udp_encap
    }

    /// Outer addresses.
    pub fn tunnel(&self) -> TunnelEndpoints {
        self.tunnel
    }

    /// Counters.
    pub fn counters(&self) -> &SaCounters {
        &self.counters
    }

    /// Last sequence number used.
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Test hook: pretend `seq` packets were already sent (ESN and exhaustion tests cannot send
    /// four billion packets).
    #[doc(hidden)]
    pub fn set_seq_for_test(&mut self, seq: u64) {
        self.seq = seq;
    }

    /// Bytes the caller must leave in front of the inner packet: ESP header and IV.
    pub fn headroom(&self) -> usize {
        HEADER_LEN + self.transform.iv_len()
    }

    /// Bytes the caller must leave after the inner packet: worst-case padding, trailer, ICV.
    pub fn tailroom(&self) -> usize {
        self.transform.pad_align() - 1 + TRAILER_LEN + self.transform.icv_len()
    }

    /// Protects the inner packet `buf[inner]` in place (RFC 4303 §3.3): writes the ESP header and
    /// IV in the headroom, padding/trailer/ICV in the tailroom, and returns the range of the ESP
    /// packet in `buf`. No allocation.
    pub fn encapsulate(
        &mut self,
        now: Instant,
        rng: &mut dyn CryptoRngCore,
        buf: &mut [u8],
        inner: Range<usize>,
    ) -> Result<Range<usize>, EncapError> {
        let head = self.headroom();
        let inner_len = inner.end.saturating_sub(inner.start);
        if inner_len == 0 {
            return Err(EncapError::Empty);
        }
        let next_header = match buf.get(inner.start).map(|b| b >> 4) {
            Some(4) => NextHeader::IPV4,
            Some(6) => NextHeader::IPV6,
            _ => return Err(EncapError::NotIp),
        };
        let align = self.transform.pad_align();
        let pad_len = (align - (inner_len + TRAILER_LEN) % align) % align;
        let ct_len = inner_len + pad_len + TRAILER_LEN;
        let icv_len = self.transform.icv_len();
        if inner.start < head
            || inner.end > buf.len()
            || buf.len() - inner.end < pad_len + TRAILER_LEN + icv_len
        {
            return Err(EncapError::NoRoom {
                head,
                tail: self.tailroom(),
            });
        }
        if !self.lifetime.check_time(now) || !self.lifetime.may_add(inner_len as u64) {
            return Err(EncapError::Expired);
        }
        let limit = if self.esn {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        if self.seq >= limit {
            self.lifetime.force_hard(LifetimeCause::Bytes);
            return Err(EncapError::Expired);
        }
        self.seq += 1;
        let seq = self.seq;

        let start = inner.start - head;
        let end = inner.end + pad_len + TRAILER_LEN + icv_len;
        let pkt = &mut buf[start..end];
        // RFC 4303 §2.4: pad bytes 1, 2, 3, …
        let trailer_at = head + inner_len;
        for (i, b) in pkt[trailer_at..trailer_at + pad_len].iter_mut().enumerate() {
            *b = (i + 1) as u8;
        }
        pkt[trailer_at + pad_len] = pad_len as u8;
        pkt[trailer_at + pad_len + 1] = next_header.0;
        let mut view = EspPacket::new_checked(&mut pkt[..])
            .map_err(|_| EncapError::NoRoom { head, tail: 0 })?;
        view.set_spi(self.spi);
        view.set_seq_low(seq as u32);
        let seq_hi = self.esn.then_some((seq >> 32) as u32);
        self.transform
            .seal(pkt, ct_len, seq, seq_hi, rng)
            .map_err(|_| EncapError::Crypto)?;

        self.lifetime.add_bytes(inner_len as u64);
        self.counters.packets += 1;
        self.counters.bytes += inner_len as u64;
        Ok(start..end)
    }

    /// Checks the time limits; hard expiry makes further `encapsulate` calls fail.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.lifetime.handle_timeout(now);
    }

    /// Next lifetime deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.lifetime.poll_timeout().map(|(t, _)| t)
    }

    /// Next lifetime event.
    pub fn poll_event(&mut self) -> Option<LifetimeEvent> {
        self.lifetime.poll_event()
    }

    /// Whether the hard lifetime was reached.
    pub fn is_expired(&self) -> bool {
        self.lifetime.is_hard_expired()
    }
}

/// Receives with one SA: verifies, decrypts and checks packets in stages.
#[derive(Debug)]
pub struct InboundSa {
    spi: Spi,
    transform: Transform,
    esn: bool,
    replay: ReplayWindow,
    lifetime: LifetimeTracker,
    counters: SaCounters,
    selectors: Selectors,
    udp_encap: Option<UdpEncap>,
    tunnel: TunnelEndpoints,
}

impl InboundSa {
    /// Builds the SA; keys are expanded once here.
    pub fn new(p: &SaParams, now: Instant) -> Result<Self, ParamsError> {
        let transform = check_common(p, Direction::Inbound)?;
        if !(replay::MIN_WINDOW..=replay::MAX_WINDOW).contains(&p.replay_window) {
            return Err(ParamsError::ReplayWindow(p.replay_window));
        }
        Ok(Self {
            spi: p.spi,
            transform,
            esn: p.esn,
            replay: ReplayWindow::new(p.replay_window, p.esn),
            lifetime: LifetimeTracker::new(p.lifetimes, now),
            counters: SaCounters::default(),
            selectors: p.selectors.clone(),
            udp_encap: p.udp_encap,
            tunnel: p.tunnel,
        })
    }

    /// Our SPI.
    pub fn spi(&self) -> Spi {
        self.spi
    }

    /// Counters.
    pub fn counters(&self) -> &SaCounters {
        &self.counters
    }

    /// UDP encapsulation settings.
    pub fn udp_encap(&self) -> Option<UdpEncap> {
        self.udp_encap
    }

    /// Outer addresses.
    pub fn tunnel(&self) -> TunnelEndpoints {
        self.tunnel
    }

    /// Highest sequence number accepted.
    pub fn replay_top(&self) -> u64 {
        self.replay.top()
    }

    /// Verifies and decrypts the ESP packet `pkt` in place (RFC 4303 §3.4), in the stages of
    /// STYLE.md §6: replay check → ICV/AEAD verify → commit window → padding and next header →
    /// inner selector check. Nothing changes in the SA unless the ICV verified.
    pub fn decapsulate(
        &mut self,
        now: Instant,
        pkt: &mut [u8],
    ) -> Result<Decapsulated, DropReason> {
        let r = self.decapsulate_inner(now, pkt);
        match &r {
            Ok(d) => {
                let n = (d.inner.end - d.inner.start) as u64;
                self.counters.packets += 1;
                self.counters.bytes += n;
                self.lifetime.add_bytes(n);
            }
            Err(reason) => self.counters.dropped.count(*reason),
        }
        r
    }

    fn decapsulate_inner(
        &mut self,
        now: Instant,
        pkt: &mut [u8],
    ) -> Result<Decapsulated, DropReason> {
        if !self.lifetime.check_time(now) || self.lifetime.is_hard_expired() {
            return Err(DropReason::Expired);
        }
        let view = EspPacket::new_checked(&pkt[..]).map_err(|_| DropReason::Malformed)?;
        debug_assert_eq!(view.spi(), self.spi);
        let seq_low = view.seq_low();
        let head = HEADER_LEN + self.transform.iv_len();
        let icv_len = self.transform.icv_len();
        let ct_len = pkt
            .len()
            .checked_sub(head + icv_len)
            .ok_or(DropReason::Malformed)?;
        if ct_len < TRAILER_LEN || ct_len % self.transform.pad_align() != 0 {
            return Err(DropReason::Malformed);
        }
        // Stage 1: replay check, no state change (RFC 4303 §3.4.3).
        let seq = self.replay.check(seq_low).map_err(|e| match e {
            ReplayError::Duplicate(_) | ReplayError::TooOld(_) | ReplayError::Invalid => {
                DropReason::Replay
            }
        })?;
        // Stage 2: integrity (and decryption) — RFC 4303 §3.4.4.
        let seq_hi = self.esn.then_some((seq >> 32) as u32);
        self.transform
            .open(pkt, ct_len, seq_hi)
            .map_err(|()| DropReason::IcvFailure)?;
        // Stage 3: the packet is authentic — commit the window.
        self.replay.commit(seq);
        // Stage 4: trailer (RFC 4303 §2.4, §2.6).
        let trailer = head + ct_len - TRAILER_LEN;
        let pad_len = usize::from(pkt[trailer]);
        let next_header = NextHeader(pkt[trailer + 1]);
        let inner_end = trailer
            .checked_sub(pad_len)
            .filter(|&e| e >= head)
            .ok_or(DropReason::BadPadding)?;
        if pkt[inner_end..trailer]
            .iter()
            .enumerate()
            .any(|(i, &b)| usize::from(b) != i + 1)
        {
            return Err(DropReason::BadPadding);
        }
        match next_header {
            NextHeader::NO_NEXT_HEADER => return Err(DropReason::Dummy),
            NextHeader::IPV4 | NextHeader::IPV6 => {}
            _ => return Err(DropReason::BadNextHeader),
        }
        // Stage 5: inner header and selectors (RFC 4301 §5.2).
        let (addrs, len) = wire::inner_addrs(&pkt[head..inner_end], Some(next_header))
            .map_err(|_| DropReason::BadNextHeader)?;
        if !self.selectors.allows_inbound(addrs.src, addrs.dst) {
            return Err(DropReason::SelectorMismatch);
        }
        Ok(Decapsulated {
            inner: head..head + len,
            next_header,
            seq,
        })
    }

    /// Checks the time limits.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.lifetime.handle_timeout(now);
    }

    /// Next lifetime deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.lifetime.poll_timeout().map(|(t, _)| t)
    }

    /// Next lifetime event.
    pub fn poll_event(&mut self) -> Option<LifetimeEvent> {
        self.lifetime.poll_event()
    }

    /// Whether the hard lifetime was reached.
    pub fn is_expired(&self) -> bool {
        self.lifetime.is_hard_expired()
    }
}
