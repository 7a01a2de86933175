//! The IKEv2 endpoint: owns the tunnels and their IKE SAs, demultiplexes datagrams by SPI, creates
//! responder SAs, answers with cookies under load and limits half-open SAs (RFC 7296 §2.6).
//!
//! # Driving it (quinn-style)
//!
//! Four kinds of methods:
//! - **input**: [`Endpoint::handle_datagram`] for every UDP datagram received on the IKE port or
//!   the NAT-T port, [`Endpoint::handle_timeout`] when the instant from `poll_timeout` is reached;
//! - **commands**: [`Endpoint::initiate`], [`Endpoint::rekey_child`], [`Endpoint::rekey_ike`],
//!   [`Endpoint::delete`], [`Endpoint::send_dpd`], [`Endpoint::probe`],
//!   [`Endpoint::delete_child_sas`], [`Endpoint::create_child_sa`];
//! - **output**: after any input or command, drain [`Endpoint::poll_transmit`] (send each
//!   datagram from `local` to `remote`), then [`Endpoint::poll_event`], then read
//!   [`Endpoint::poll_timeout`] and wake up then;
//! - **getters**: [`Endpoint::tunnel_status`], [`Endpoint::child_sas`].
//!
//! Instants passed in must not go backwards. Randomness comes from the `rng` argument only.
//!
//! # The non-ESP marker (RFC 3948 §2.2)
//!
//! **The core adds and strips it.** Datagrams received on the NAT-T port are handed to
//! `handle_datagram` exactly as received: the core strips the four zero octets (and ignores
//! datagrams without them: they are ESP, which the caller routes to the ESP layer first, or
//! NAT keepalives). `Transmit::bytes` is the exact UDP payload, marker included when sent from
//! the NAT-T port.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dualsec_crypto::HashAlg;
use rand_core::CryptoRngCore;
use tracing::{debug, info, trace};

use super::config::TunnelConfig;
use super::error::Error;
use super::event::{ChildSaInfo, DownReason, Event, TunnelId};
use super::ike_sa::{IkeSa, REINITIATE_DELAY, Request};
use super::message::{Msg, Pl, encode_plain, notify};
use super::wire::{ExchangeType, Flags, Header, HeaderView, IkeSpi, NON_ESP_MARKER, NotifyType};

/// Longest wait between renegotiation attempts of a failing tunnel.
pub const MAX_REINITIATE_DELAY: Duration = Duration::from_secs(60);

/// At most this many INVALID_IKE_SPI notifications per second, all peers together (RFC 7296
/// §2.21.4: they MAY be sent and SHOULD be rate-limited; unauthenticated, they must not make us
/// a reflector).
pub const INVALID_IKE_SPI_PER_SECOND: u32 = 10;

/// A datagram to send.
#[must_use]
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Transmit {
    /// Source address and port (the IKE or NAT-T port of the tunnel's public IP).
    pub local: SocketAddr,
    /// Destination.
    pub remote: SocketAddr,
    /// The UDP payload, non-ESP marker included on the NAT-T port.
    pub bytes: Vec<u8>,
}

/// UDP ports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ports {
    /// Our IKE port (500).
    pub ike: u16,
    /// Our NAT-T port (4500).
    pub natt: u16,
    /// The peer's NAT-T port we float to (4500).
    pub natt_peer: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            ike: 500,
            natt: 4500,
            natt_peer: 4500,
        }
    }
}

/// Endpoint-wide settings.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// UDP ports.
    pub ports: Ports,
    /// With this many half-open responder SAs, new IKE_SA_INIT requests must carry a COOKIE
    /// (RFC 7296 §2.6).
    pub cookie_threshold: usize,
    /// Hard cap of half-open responder SAs; beyond it IKE_SA_INIT requests are dropped.
    pub half_open_limit: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            ports: Ports::default(),
            cookie_threshold: 64,
            half_open_limit: 1024,
        }
    }
}

/// Output queues shared by the SAs.
#[derive(Default, Debug)]
pub(crate) struct Output {
    pub transmits: VecDeque<Transmit>,
    pub events: VecDeque<Event>,
}

/// A tunnel's status, for the engine's observed state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TunnelStatus {
    /// No IKE SA and none being negotiated.
    Down,
    /// Negotiating (IKE_SA_INIT / IKE_AUTH in flight).
    Connecting,
    /// An IKE SA is established.
    Up,
}

struct Tunnel {
    cfg: Arc<TunnelConfig>,
    /// The engine asked for it to be up: renegotiate after failures (R-TUN-5).
    wants_up: bool,
    reinitiate_at: Option<Instant>,
    /// Negotiations that failed in a row: the renegotiation delay doubles with each, up to
    /// [`MAX_REINITIATE_DELAY`], so a wrong PSK does not hammer the peer.
    failures: u32,
    /// An IKE SA was established before: later ones do not send INITIAL_CONTACT.
    had_sa: bool,
}

/// The IKEv2 endpoint.
pub struct Endpoint {
    cfg: EndpointConfig,
    tunnels: BTreeMap<TunnelId, Tunnel>,
    /// IKE SAs by our SPI.
    sas: BTreeMap<u64, IkeSa>,
    /// Responder SAs by (peer address, peer SPI), to spot retransmitted IKE_SA_INIT requests.
    by_peer_spi: BTreeMap<(SocketAddr, u64), u64>,
    cookie_secret: [u8; 32],
    out: Output,
    /// Start of the current one-second window and INVALID_IKE_SPI notifications sent in it.
    invalid_spi_window: Option<(Instant, u32)>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("tunnels", &self.tunnels.len())
            .field("sas", &self.sas.len())
            .finish()
    }
}

impl Endpoint {
    /// A new endpoint; the cookie secret is drawn from `rng`.
    pub fn new(cfg: EndpointConfig, rng: &mut dyn CryptoRngCore) -> Endpoint {
        let mut cookie_secret = [0u8; 32];
        rng.fill_bytes(&mut cookie_secret);
        Endpoint {
            cfg,
            tunnels: BTreeMap::new(),
            sas: BTreeMap::new(),
            by_peer_spi: BTreeMap::new(),
            cookie_secret,
            out: Output::default(),
            invalid_spi_window: None,
        }
    }

    /// Adds (or replaces the configuration of) a tunnel. It answers peers at once; call
    /// [`Endpoint::initiate`] to negotiate actively.
    pub fn add_tunnel(&mut self, id: TunnelId, cfg: TunnelConfig) {
        let cfg = Arc::new(cfg);
        match self.tunnels.get_mut(&id) {
            Some(t) => t.cfg = cfg,
            None => {
                self.tunnels.insert(
                    id,
                    Tunnel {
                        cfg,
                        wants_up: false,
                        reinitiate_at: None,
                        failures: 0,
                        had_sa: false,
                    },
                );
            }
        }
    }

    /// Removes a tunnel, deleting its SAs (a DELETE is sent; SAs are forgotten at once).
    pub fn remove_tunnel(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore) {
        self.delete(now, id, rng);
        let spis: Vec<u64> = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.tunnel == id)
            .map(|(s, _)| *s)
            .collect();
        for s in spis {
            if let Some(mut sa) = self.sas.remove(&s) {
                sa.close(now, DownReason::LocalDelete, &mut self.out);
            }
        }
        self.tunnels.remove(&id);
        self.reindex();
    }

    /// Negotiates the tunnel now (R-CONN-3 "effect immediately") and keeps it up: after a
    /// failure or a dead peer it renegotiates on its own (R-TUN-5).
    pub fn initiate(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let t = self
            .tunnels
            .get_mut(&id)
            .ok_or(Error::ApiMisuse("unknown tunnel"))?;
        t.wants_up = true;
        t.reinitiate_at = None;
        if self
            .sas
            .values()
            .any(|sa| sa.tunnel == id && !sa.is_closed())
        {
            return Ok(());
        }
        self.start(now, id, rng)
    }

    fn start(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let t = self
            .tunnels
            .get_mut(&id)
            .ok_or(Error::ApiMisuse("unknown tunnel"))?;
        t.reinitiate_at = None;
        let sa = IkeSa::initiate(
            now,
            id,
            t.cfg.clone(),
            self.cfg.ports,
            !t.had_sa,
            &mut self.out,
            rng,
        )?;
        info!(tunnel = %id, remote = %sa.remote, "initiating IKE SA");
        self.sas.insert(sa.local_spi(), sa);
        Ok(())
    }

    fn current_sa(&self, id: TunnelId) -> Option<u64> {
        // An established SA of the tunnel (duplicates are possible, RFC 7296 §2.8); the one that
        // has been up longest is the one both sides agree on.
        // SAs being replaced by a rekey (or redundant after a rekey collision) come last.
        self.sas
            .iter()
            .filter(|(_, sa)| sa.tunnel == id && sa.is_established())
            .min_by_key(|(_, sa)| (!sa.accepts_probe(), sa.established_at))
            .map(|(s, _)| *s)
    }

    /// Rekeys every CHILD SA of the tunnel now (CREATE_CHILD_SA with REKEY_SA).
    pub fn rekey_child(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let spi = self
            .current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established IKE SA"))?;
        let mut out = std::mem::take(&mut self.out);
        let Some(sa) = self.sas.get_mut(&spi) else {
            return Err(Error::ApiMisuse("tunnel has no established IKE SA"));
        };
        let spis: Vec<u32> = sa
            .children
            .iter()
            .filter(|c| !c.rekeyed)
            .map(|c| c.info.spi_in)
            .collect();
        for spi_in in spis {
            sa.queue(now, Request::RekeyChild { spi_in }, &mut out, rng);
        }
        self.out = out;
        self.after(now, rng);
        Ok(())
    }

    /// Deletes every CHILD SA of the tunnel's current IKE SA and keeps the IKE SA (RFC 7296
    /// §1.4.1: INFORMATIONAL with a Delete payload naming our inbound ESP SPIs). Returns how many
    /// were queued. Each CHILD SA stays installed until the peer answers (then
    /// [`Event::ChildDeleted`]), so traffic the peer still sends on it is received meanwhile.
    /// The DELETE leaves at once even while a liveness request is unanswered (the situation that
    /// made failover suspect the path): see `IkeSa::delete_children_now`.
    ///
    /// Failover uses it to move the peer's traffic off a tunnel whose path fails in one direction
    /// only (issue 6): the peer drops the CHILD SA and sends on the other tunnel's.
    pub fn delete_child_sas(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<usize, Error> {
        let spi = self
            .current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established IKE SA"))?;
        let mut out = std::mem::take(&mut self.out);
        let Some(sa) = self.sas.get_mut(&spi) else {
            return Err(Error::ApiMisuse("tunnel has no established IKE SA"));
        };
        let n = sa.delete_children_now(now, &mut out, rng);
        self.out = out;
        self.after(now, rng);
        Ok(n)
    }

    /// Creates a new CHILD SA with the tunnel's configured selectors under its current IKE SA
    /// (CREATE_CHILD_SA without REKEY_SA, RFC 7296 §1.3.1): [`Event::ChildEstablished`] when the
    /// peer accepts, [`Event::NegotiationFailed`] when it refuses. Failover uses it to restore a
    /// CHILD SA deleted by [`Endpoint::delete_child_sas`] once the path works again.
    pub fn create_child_sa(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        self.command(now, id, Request::CreateChild, rng)
    }

    /// Rekeys the IKE SA now (RFC 7296 §2.18).
    pub fn rekey_ike(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        self.command(now, id, Request::RekeyIke, rng)
    }

    /// Sends a liveness check now (RFC 7296 §2.4).
    pub fn send_dpd(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        self.command(now, id, Request::Dpd, rng)
    }

    /// Sends a fast liveness probe through the tunnel's current IKE SA (issue 6): an empty
    /// INFORMATIONAL request, or a retransmission of the request already outstanding (the
    /// message-id window is one). Any answer emits [`Event::ProbeAnswered`]. Probing as often as
    /// every 200 ms leaves DPD (R-TUN-5) and rekeying unchanged: a probe answered refreshes
    /// liveness like any authenticated message, and a queued rekey or DELETE goes first.
    pub fn probe(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let spi = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.tunnel == id && sa.accepts_probe())
            .min_by_key(|(_, sa)| sa.established_at)
            .map(|(s, _)| *s)
            .ok_or(Error::ApiMisuse("tunnel has no established IKE SA"))?;
        let mut out = std::mem::take(&mut self.out);
        let res = match self.sas.get_mut(&spi) {
            Some(sa) => sa.probe(now, &mut out, rng),
            None => Err(Error::ApiMisuse("tunnel has no established IKE SA")),
        };
        self.out = out;
        self.after(now, rng);
        res
    }

    /// Deletes the tunnel's IKE SAs (DELETE sent) and stops renegotiating.
    pub fn delete(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore) {
        if let Some(t) = self.tunnels.get_mut(&id) {
            t.wants_up = false;
            t.reinitiate_at = None;
        }
        let mut out = std::mem::take(&mut self.out);
        for sa in self.sas.values_mut().filter(|sa| sa.tunnel == id) {
            if sa.is_established() {
                sa.queue(now, Request::DeleteIke, &mut out, rng);
            } else {
                sa.close(now, DownReason::LocalDelete, &mut out);
            }
        }
        self.out = out;
        self.after(now, rng);
    }

    fn command(
        &mut self,
        now: Instant,
        id: TunnelId,
        r: Request,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let spi = self
            .current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established IKE SA"))?;
        let mut out = std::mem::take(&mut self.out);
        if let Some(sa) = self.sas.get_mut(&spi) {
            sa.queue(now, r, &mut out, rng);
        }
        self.out = out;
        self.after(now, rng);
        Ok(())
    }

    /// Handles one UDP datagram received on `local` from `remote`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) {
        let data = if local.port() == self.cfg.ports.natt {
            // RFC 3948 §2.2: IKE on 4500 starts with four zero octets; anything else is ESP or a
            // NAT keepalive (0xFF) and not ours.
            match data.strip_prefix(&NON_ESP_MARKER[..]) {
                Some(rest) => rest,
                None => {
                    trace!(%remote, "non-IKE datagram on the NAT-T port ignored");
                    return;
                }
            }
        } else {
            data
        };
        let view = match HeaderView::new_checked(data) {
            Ok(v) => v,
            Err(e) => {
                debug!(%remote, error = %e, "datagram dropped");
                return;
            }
        };
        if view.major_version() != 2 {
            debug!(%remote, version = view.version(), "not IKEv2; dropped");
            return;
        }
        let hdr = Msg::from_view(&view);
        let our_spi = if hdr.from_initiator {
            hdr.spi_r
        } else {
            hdr.spi_i
        };
        let result = if hdr.exchange == ExchangeType::IKE_SA_INIT
            && !hdr.response
            && hdr.msg_id == 0
            && hdr.spi_r == 0
        {
            match self.by_peer_spi.get(&(remote, hdr.spi_i)).copied() {
                Some(spi) => self.dispatch(now, spi, local, remote, data, &hdr, rng),
                None => {
                    self.new_responder(now, local, remote, data, rng);
                    Ok(())
                }
            }
        } else if hdr.exchange == ExchangeType::IKE_SA_INIT {
            // An IKE_SA_INIT response: decode in full (it is not encrypted).
            match Msg::decode_plain(data) {
                Ok(full) => self.dispatch(now, our_spi, local, remote, data, &full, rng),
                Err(e) => Err(Error::InvalidMessage(e.to_string())),
            }
        } else if !hdr.response && our_spi != 0 && !self.sas.contains_key(&our_spi) {
            self.answer_invalid_ike_spi(now, local, remote, &hdr);
            Err(Error::InvalidMessage(format!(
                "no IKE SA with SPI {our_spi:016x}"
            )))
        } else {
            self.dispatch(now, our_spi, local, remote, data, &hdr, rng)
        };
        if let Err(e) = result {
            debug!(%remote, error = %e, "datagram dropped");
        }
        self.after(now, rng);
    }

    /// RFC 7296 §1.5, §2.21.4: a non-initial request for an IKE SA we do not know (we rebooted
    /// or deleted it) gets an unprotected INVALID_IKE_SPI notification, so the peer need not
    /// wait for its DPD timeout. It is a response: SPIs, exchange type and message id copied,
    /// R set; never sent for a response; at most [`INVALID_IKE_SPI_PER_SECOND`].
    fn answer_invalid_ike_spi(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        hdr: &Msg,
    ) {
        let sent = match self.invalid_spi_window {
            Some((start, n)) if now.saturating_duration_since(start) < Duration::from_secs(1) => n,
            _ => {
                self.invalid_spi_window = Some((now, 0));
                0
            }
        };
        if sent >= INVALID_IKE_SPI_PER_SECOND {
            trace!(%remote, "INVALID_IKE_SPI rate limit reached; not answering");
            return;
        }
        let header = Header::new(
            IkeSpi(hdr.spi_i),
            IkeSpi(hdr.spi_r),
            hdr.exchange,
            Flags::new(!hdr.from_initiator, true),
            hdr.msg_id,
        );
        let bytes = match encode_plain(&header, &[notify(NotifyType::INVALID_IKE_SPI, Vec::new())])
        {
            Ok(b) => b,
            Err(e) => {
                debug!(error = %e, "cannot encode INVALID_IKE_SPI");
                return;
            }
        };
        let bytes = if local.port() == self.cfg.ports.natt {
            [&NON_ESP_MARKER[..], &bytes].concat()
        } else {
            bytes
        };
        if let Some((_, n)) = &mut self.invalid_spi_window {
            *n += 1;
        }
        debug!(%remote, spi_i = format_args!("{:016x}", hdr.spi_i), spi_r = format_args!("{:016x}", hdr.spi_r), "request for an unknown IKE SA; answering INVALID_IKE_SPI");
        self.out.transmits.push_back(Transmit {
            local,
            remote,
            bytes,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        now: Instant,
        spi: u64,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        hdr: &Msg,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let Some(sa) = self.sas.get_mut(&spi) else {
            return Err(Error::InvalidMessage(format!(
                "no IKE SA with SPI {spi:016x}"
            )));
        };
        // The SPI pair must match too.
        let retransmitted_init = hdr.exchange == ExchangeType::IKE_SA_INIT && hdr.spi_r == 0;
        if hdr.spi_i != sa.spi_i || (sa.spi_r != 0 && hdr.spi_r != sa.spi_r && !retransmitted_init)
        {
            return Err(Error::InvalidMessage("SPI pair does not match".into()));
        }
        let mut out = std::mem::take(&mut self.out);
        if let Err(e) = sa.handle(now, local, remote, data, hdr, &mut out, rng) {
            sa.on_error(now, e, &mut out);
        }
        self.out = out;
        Ok(())
    }

    fn cookie_for(&self, ni: &[u8], remote: SocketAddr, spi_i: u64) -> Vec<u8> {
        // RFC 7296 §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>).
        let ip = remote.ip().to_string();
        let mut c = vec![0u8];
        c.extend_from_slice(
            &HashAlg::Sha256
                .hmac(
                    &self.cookie_secret,
                    &[ni, ip.as_bytes(), &spi_i.to_be_bytes()],
                )
                .as_ref()[..16],
        );
        c
    }

    fn new_responder(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) {
        let msg = match Msg::decode_plain(data) {
            Ok(m) => m,
            Err(e) => {
                debug!(%remote, error = %e, "malformed IKE_SA_INIT dropped");
                return;
            }
        };
        let Some((&id, t)) = self
            .tunnels
            .iter()
            .find(|(_, t)| t.cfg.local_addr == local.ip() && t.cfg.remote_addr == remote.ip())
        else {
            debug!(%local, %remote, "IKE_SA_INIT from a peer no tunnel is configured for; dropped");
            return;
        };
        let cfg = t.cfg.clone();
        let half_open = self.sas.values().filter(|sa| sa.is_half_open()).count();
        if half_open >= self.cfg.half_open_limit {
            debug!(%remote, half_open, "half-open limit reached; IKE_SA_INIT dropped");
            return;
        }
        if half_open >= self.cfg.cookie_threshold {
            let expected = self.cookie_for(msg.nonce().unwrap_or_default(), remote, msg.spi_i);
            if msg.notify(NotifyType::COOKIE) != Some(expected.as_slice()) {
                debug!(%remote, half_open, "under load: asking for a cookie");
                self.reply_plain(
                    local,
                    remote,
                    msg.spi_i,
                    vec![notify(NotifyType::COOKIE, expected)],
                );
                return;
            }
        }
        let mut out = std::mem::take(&mut self.out);
        match IkeSa::respond_sa_init(
            now,
            id,
            cfg,
            self.cfg.ports,
            local,
            remote,
            &msg,
            data,
            &mut out,
            rng,
        ) {
            Ok(sa) => {
                self.by_peer_spi.insert((remote, sa.spi_i), sa.local_spi());
                self.sas.insert(sa.local_spi(), sa);
            }
            Err(e) => {
                if let Some(reply) = e.to_notify() {
                    self.out = out;
                    self.reply_plain(local, remote, msg.spi_i, vec![reply]);
                    out = std::mem::take(&mut self.out);
                }
                match e {
                    Error::PeerIncompatible(n) => {
                        info!(tunnel = %id, error = %n, "refused IKE_SA_INIT");
                        out.events.push_back(Event::NegotiationFailed {
                            tunnel: id,
                            error: n,
                        });
                    }
                    other => debug!(tunnel = %id, error = %other, "IKE_SA_INIT not accepted"),
                }
            }
        }
        self.out = out;
    }

    fn reply_plain(&mut self, local: SocketAddr, remote: SocketAddr, spi_i: u64, pls: Vec<Pl>) {
        let header = Header::new(
            IkeSpi(spi_i),
            IkeSpi::ZERO,
            ExchangeType::IKE_SA_INIT,
            Flags::new(false, true),
            0,
        );
        if let Ok(mut bytes) = encode_plain(&header, &pls) {
            if local.port() == self.cfg.ports.natt {
                bytes.splice(0..0, NON_ESP_MARKER);
            }
            self.out.transmits.push_back(Transmit {
                local,
                remote,
                bytes,
            });
        }
    }

    /// Handles expired timers.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut dyn CryptoRngCore) {
        let mut out = std::mem::take(&mut self.out);
        for sa in self.sas.values_mut() {
            if sa.timers.next().is_some_and(|(at, _)| at <= now) {
                sa.handle_timeout(now, &mut out, rng);
            }
        }
        self.out = out;
        let due: Vec<TunnelId> = self
            .tunnels
            .iter()
            .filter(|(_, t)| t.reinitiate_at.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            debug!(tunnel = %id, timer = "reinitiate", "timer fired");
            if let Err(e) = self.start(now, id, rng) {
                debug!(tunnel = %id, error = %e, "cannot renegotiate");
            }
        }
        self.after(now, rng);
    }

    /// Bookkeeping after any input: adopt rekeyed SAs, drop closed ones, schedule renegotiation.
    fn after(&mut self, now: Instant, rng: &mut dyn CryptoRngCore) {
        let mut spawned = Vec::new();
        for sa in self.sas.values_mut() {
            spawned.append(&mut sa.spawned);
        }
        let mut out = std::mem::take(&mut self.out);
        for mut sa in spawned {
            sa.pump_with_rng(now, &mut out, rng);
            self.sas.insert(sa.local_spi(), sa);
        }
        // INITIAL_CONTACT (RFC 7296 §2.4): the peer forgot its other SAs with us.
        let fresh: Vec<(TunnelId, u64)> = self
            .sas
            .iter_mut()
            .filter(|(_, sa)| sa.peer_initial_contact)
            .map(|(s, sa)| {
                sa.peer_initial_contact = false;
                (sa.tunnel, *s)
            })
            .collect();
        for (tunnel, keep) in fresh {
            for (s, sa) in self.sas.iter_mut() {
                if sa.tunnel == tunnel && *s != keep && !sa.is_closed() {
                    info!(tunnel = %tunnel, "INITIAL_CONTACT: removing a stale IKE SA");
                    sa.close(now, DownReason::PeerDelete, &mut out);
                }
            }
        }
        // Mark tunnels that have had an SA; schedule renegotiation for those that want to be up.
        for sa in self.sas.values() {
            if sa.is_established() {
                if let Some(t) = self.tunnels.get_mut(&sa.tunnel) {
                    t.had_sa = true;
                    t.failures = 0;
                }
            }
        }
        let closed: Vec<u64> = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.is_closed())
            .map(|(s, _)| *s)
            .collect();
        for s in closed {
            if let Some(sa) = self.sas.remove(&s) {
                let alive = self
                    .sas
                    .values()
                    .any(|o| o.tunnel == sa.tunnel && !o.is_closed());
                if let Some(t) = self.tunnels.get_mut(&sa.tunnel) {
                    if t.wants_up && !alive && t.reinitiate_at.is_none() {
                        let delay = REINITIATE_DELAY
                            .saturating_mul(1 << t.failures.min(5))
                            .min(MAX_REINITIATE_DELAY);
                        t.failures = t.failures.saturating_add(1);
                        debug!(tunnel = %sa.tunnel, "renegotiating in {delay:?}");
                        t.reinitiate_at = now.checked_add(delay);
                    }
                }
            }
        }
        self.out = out;
        self.reindex();
    }

    fn reindex(&mut self) {
        // Keys may change only through spawn (inserted under the new SPI above).
        let sas = &self.sas;
        self.by_peer_spi
            .retain(|_, s| sas.get(s).is_some_and(|sa| sa.is_half_open()));
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// When to call [`Endpoint::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let sa_min = self
            .sas
            .values()
            .filter_map(|sa| sa.timers.next().map(|(at, _)| at))
            .min();
        let t_min = self.tunnels.values().filter_map(|t| t.reinitiate_at).min();
        match (sa_min, t_min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The tunnel's status.
    pub fn tunnel_status(&self, id: TunnelId) -> TunnelStatus {
        let mut st = TunnelStatus::Down;
        for sa in self.sas.values().filter(|sa| sa.tunnel == id) {
            if sa.is_established() {
                return TunnelStatus::Up;
            }
            if !sa.is_closed() {
                st = TunnelStatus::Connecting;
            }
        }
        st
    }

    /// The tunnel's CHILD SAs that are in use (not waiting for deletion after a rekey).
    pub fn child_sas(&self, id: TunnelId) -> Vec<ChildSaInfo> {
        self.sas
            .values()
            .filter(|sa| sa.tunnel == id)
            .flat_map(|sa| {
                sa.children
                    .iter()
                    .filter(|c| !c.rekeyed)
                    .map(|c| c.info.clone())
            })
            .collect()
    }

    /// Number of IKE SAs (any state), for tests and metrics.
    pub fn ike_sa_count(&self) -> usize {
        self.sas.len()
    }

    /// Number of half-open responder SAs.
    pub fn half_open_count(&self) -> usize {
        self.sas.values().filter(|sa| sa.is_half_open()).count()
    }

    /// Whether the tunnel's current IKE SA uses the NAT-T port.
    pub fn uses_natt(&self, id: TunnelId) -> bool {
        self.sas
            .values()
            .any(|sa| sa.tunnel == id && sa.is_established() && sa.uses_natt())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::v2::Psk;
    use crate::v2::wire::{Message, Payload, PayloadType};
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;

    const TUN: TunnelId = TunnelId(1);

    /// Two endpoints shuttled to an established tunnel with no loss and no delay.
    fn established(now: Instant, rng: &mut ChaCha20Rng) -> (Endpoint, Endpoint) {
        let (ia, ib) = ("192.0.2.1".parse().unwrap(), "203.0.113.2".parse().unwrap());
        let mut a = Endpoint::new(EndpointConfig::default(), rng);
        let mut b = Endpoint::new(EndpointConfig::default(), rng);
        a.add_tunnel(TUN, TunnelConfig::new(ia, ib, Psk::new("s3cret-PSK!")));
        b.add_tunnel(TUN, TunnelConfig::new(ib, ia, Psk::new("s3cret-PSK!")));
        a.initiate(now, TUN, rng).unwrap();
        shuttle(now, &mut a, &mut b, rng);
        assert!(!b.child_sas(TUN).is_empty(), "established");
        (a, b)
    }

    fn shuttle(now: Instant, a: &mut Endpoint, b: &mut Endpoint, rng: &mut ChaCha20Rng) {
        for _ in 0..50 {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                b.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
                moved = true;
            }
            while let Some(t) = b.poll_transmit() {
                a.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// RFC 7296 §2.21.3, §3.10.1: a request that authenticates, with the expected message id,
    /// whose inner payloads are malformed gets a protected INVALID_SYNTAX response in the same
    /// exchange, and the SA keeps working.
    #[test]
    fn malformed_protected_request_gets_invalid_syntax_rfc7296_2_21_3() {
        let now = Instant::now();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let (mut a, mut b) = established(now, &mut rng);
        let (spi, sa) = a.sas.iter_mut().next().unwrap();
        let spi = *spi;
        let msg_id = sa.next_request_id_for_test();
        // A Notify whose length field (3) is below its fixed header: malformed.
        let inner = [0u8, 0, 0, 3];
        let bytes = sa.seal_request_for_test(
            ExchangeType::INFORMATIONAL,
            PayloadType::NOTIFY,
            &inner,
            &mut rng,
        );
        let (local, remote) = (sa.local, sa.remote);
        b.handle_datagram(now, remote, local, &bytes, &mut rng);
        let t = b.poll_transmit().expect("B answers");
        assert!(b.poll_transmit().is_none());
        let reply = Message::decode(&t.bytes).unwrap();
        assert!(reply.header.flags.response());
        assert_eq!(reply.header.message_id, msg_id);
        assert_eq!(reply.header.exchange, ExchangeType::INFORMATIONAL);
        assert!(matches!(reply.payloads.as_slice(), [Payload::Encrypted(_)]));
        // Its content, opened with A's keys, is N(INVALID_SYNTAX).
        let sa = a.sas.get_mut(&spi).unwrap();
        let pls = sa.open_for_test(&t.bytes).unwrap();
        assert_eq!(
            pls,
            vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
            "the answer is INVALID_SYNTAX"
        );
        // The message id was consumed: the SA carries on (a DPD over it is answered).
        sa.bump_request_id_for_test();
        a.send_dpd(now, TUN, &mut rng).unwrap();
        shuttle(now, &mut a, &mut b, &mut rng);
        assert_eq!(a.tunnel_status(TUN), TunnelStatus::Up);
        assert_eq!(b.tunnel_status(TUN), TunnelStatus::Up);
        let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        assert!(
            events.iter().all(|e| !matches!(e, Event::IkeDown { .. })),
            "{events:?}"
        );
    }

    /// A malformed *response* is never answered (§2.21: no answer to a response).
    #[test]
    fn malformed_protected_response_is_not_answered() {
        let now = Instant::now();
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let (mut a, mut b) = established(now, &mut rng);
        // B's liveness check is outstanding; a malformed answer to it arrives.
        b.send_dpd(now, TUN, &mut rng).unwrap();
        let request = b.poll_transmit().unwrap();
        let msg_id = Message::decode(&request.bytes).unwrap().header.message_id;
        let sa = a.sas.values_mut().next().unwrap();
        let bytes =
            sa.seal_response_for_test(msg_id, PayloadType::NOTIFY, &[0u8, 0, 0, 3], &mut rng);
        let (local, remote) = (sa.local, sa.remote);
        b.handle_datagram(now, remote, local, &bytes, &mut rng);
        assert!(b.poll_transmit().is_none());
    }
}
