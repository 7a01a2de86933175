//! The IKEv1 endpoint: owns the tunnels and their ISAKMP SAs, demultiplexes datagrams by cookie
//! pair, creates responder SAs, renegotiates failed tunnels.
//!
//! # Driving it
//!
//! Exactly the contract of [`crate::v2::Endpoint`] (see [`crate::v2::endpoint`]): feed
//! [`Endpoint::handle_datagram`] every ISAKMP datagram of major version 1 as received (non-ESP
//! marker included on the NAT-T port), call [`Endpoint::handle_timeout`] at
//! [`Endpoint::poll_timeout`], drain [`Endpoint::poll_transmit`] and [`Endpoint::poll_event`]
//! after every input or command. Events and errors are the IKEv2 types ([`Event`],
//! [`crate::v2::NegotiationError`]), so the engine treats both endpoints alike.
//!
//! One addition: drain [`Endpoint::poll_inbound_first`] before the events. Quick mode (RFC 2409
//! §5.5) has no answer to its last message, so each side's peer may send on a new CHILD SA
//! before our `ChildEstablished`/`ChildRekeyed` event: strongSwan as initiator switches its
//! outbound SA when QM2 arrives, as responder when QM3 arrives. The endpoint therefore hands
//! out the new inbound SA as soon as its keys exist (responder: when sending QM2; initiator:
//! when sending QM3), and the event that follows installs the outbound SA. As initiator of a
//! rekey it also switches outbound only [`OUTBOUND_SWITCH_DELAY`] after QM3, when the peer has
//! installed its inbound SA, and deletes the old SA then (make-before-break both ways).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;
use tracing::{debug, info};

use super::sa::{Isakmp, Request, plain_refusal};
use super::wire::{ExchangeType, Message, NotifyType};
use crate::v2::config::TunnelConfig;
use crate::v2::endpoint::{EndpointConfig, Transmit, TunnelStatus};
use crate::v2::error::{Error, NegotiationError};
use crate::v2::event::{ChildSaInfo, DownReason, Event, TunnelId};
use crate::v2::wire::NON_ESP_MARKER;

/// First renegotiation delay after a failure; doubles up to [`MAX_REINITIATE_DELAY`].
pub const REINITIATE_DELAY: Duration = Duration::from_secs(5);
/// Longest wait between renegotiation attempts of a failing tunnel.
pub const MAX_REINITIATE_DELAY: Duration = Duration::from_secs(60);

/// How long after QM3 the initiator of a quick-mode rekey keeps sending on the old SA, so that
/// the responder (which installs on QM3) has the new inbound SA before our first packet on it.
pub const OUTBOUND_SWITCH_DELAY: Duration = Duration::from_secs(1);

/// A CHILD SA's inbound ESP SA, to install now, before the event that completes the CHILD SA
/// (see the module doc). `replaces`: the inbound SPI of the SA it rekeys (make-before-break; the
/// event that follows names it again). If the exchange is abandoned, a `ChildDeleted` with this
/// inbound SPI follows.
#[derive(Clone, Debug)]
pub struct InboundFirst {
    /// The tunnel.
    pub tunnel: TunnelId,
    /// The CHILD SA; only its inbound half is to be installed now.
    pub child: ChildSaInfo,
    /// Inbound SPI of the CHILD SA this one replaces.
    pub replaces: Option<u32>,
}

/// IKEv1 phase-1 exchange.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Mode {
    /// Main mode (identity protection, RFC 2409 §5): six messages, IDs encrypted.
    #[default]
    Main,
    /// Aggressive mode (RFC 2409 §5.4): three messages, IDs in the clear; recommended with FQDN
    /// IDs (R-TUN-3), since a PSK responder cannot pick a key by ID in main mode.
    Aggressive,
}

impl Mode {
    /// Name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Main => "main",
            Mode::Aggressive => "aggressive",
        }
    }
}

/// What IKEv1 needs beyond [`TunnelConfig`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Options {
    /// Main or aggressive mode.
    pub mode: Mode,
}

/// Output queues shared by the SAs.
#[derive(Default, Debug)]
pub(crate) struct Output {
    pub transmits: VecDeque<Transmit>,
    pub events: VecDeque<Event>,
    pub inbound_first: VecDeque<InboundFirst>,
}

struct Tunnel {
    cfg: Arc<TunnelConfig>,
    opts: Options,
    wants_up: bool,
    reinitiate_at: Option<Instant>,
    failures: u32,
    had_sa: bool,
}

/// The IKEv1 endpoint.
pub struct Endpoint {
    cfg: EndpointConfig,
    tunnels: BTreeMap<TunnelId, Tunnel>,
    /// ISAKMP SAs by our cookie.
    sas: BTreeMap<u64, Isakmp>,
    out: Output,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("v1::Endpoint")
            .field("tunnels", &self.tunnels.len())
            .field("sas", &self.sas.len())
            .finish()
    }
}

impl Endpoint {
    /// A new endpoint (`rng` kept in the signature for symmetry with IKEv2).
    pub fn new(cfg: EndpointConfig, _rng: &mut dyn CryptoRngCore) -> Endpoint {
        Endpoint {
            cfg,
            tunnels: BTreeMap::new(),
            sas: BTreeMap::new(),
            out: Output::default(),
        }
    }

    /// Adds (or reconfigures) a tunnel in main mode.
    pub fn add_tunnel(&mut self, id: TunnelId, cfg: TunnelConfig) {
        self.add_tunnel_with(id, cfg, Options::default());
    }

    /// Adds (or reconfigures) a tunnel with IKEv1 options (aggressive mode).
    pub fn add_tunnel_with(&mut self, id: TunnelId, cfg: TunnelConfig, opts: Options) {
        let cfg = Arc::new(cfg);
        match self.tunnels.get_mut(&id) {
            Some(t) => {
                t.cfg = cfg;
                t.opts = opts;
            }
            None => {
                self.tunnels.insert(
                    id,
                    Tunnel {
                        cfg,
                        opts,
                        wants_up: false,
                        reinitiate_at: None,
                        failures: 0,
                        had_sa: false,
                    },
                );
            }
        }
    }

    /// Removes a tunnel, deleting its SAs (DELETEs sent; SAs forgotten at once).
    pub fn remove_tunnel(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore) {
        self.delete(now, id, rng);
        self.sas.retain(|_, sa| sa.tunnel != id);
        self.tunnels.remove(&id);
    }

    /// Negotiates the tunnel now and keeps it up (renegotiates after failures, R-TUN-5).
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
        self.start(now, id, None, rng)
    }

    fn start(
        &mut self,
        now: Instant,
        id: TunnelId,
        replaces: Option<u64>,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let t = self
            .tunnels
            .get_mut(&id)
            .ok_or(Error::ApiMisuse("unknown tunnel"))?;
        t.reinitiate_at = None;
        let mut sa = Isakmp::initiate(
            now,
            id,
            t.cfg.clone(),
            t.opts,
            self.cfg.ports,
            !t.had_sa,
            &mut self.out,
            rng,
        )?;
        sa.replaces = replaces;
        info!(tunnel = %id, remote = %sa.remote, mode = t.opts.mode.name(), "initiating ISAKMP SA");
        self.sas.insert(sa.local_cookie(), sa);
        Ok(())
    }

    fn current_sa(&self, id: TunnelId) -> Option<u64> {
        self.sas
            .iter()
            .filter(|(_, sa)| sa.tunnel == id && sa.is_established())
            .max_by_key(|(_, sa)| sa.established_at)
            .map(|(c, _)| *c)
    }

    /// Rekeys every CHILD SA of the tunnel now (a new quick mode each; the old SA is deleted
    /// once the new one is installed: make-before-break).
    pub fn rekey_child(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let c = self
            .current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established ISAKMP SA"))?;
        let mut out = std::mem::take(&mut self.out);
        if let Some(sa) = self.sas.get_mut(&c) {
            let olds: Vec<(u32, u32)> = sa
                .children
                .iter()
                .filter(|c| !c.rekeyed && c.withdrawn.is_none())
                .map(|c| (c.info.spi_in, c.info.spi_out))
                .collect();
            for o in olds {
                sa.queue(now, Request::Quick { rekey_of: Some(o) }, &mut out, rng);
            }
        }
        self.out = out;
        self.after(now, rng);
        Ok(())
    }

    /// Failover steering (issue 6): DELETEs the tunnel's CHILD SAs (one ISAKMP informational,
    /// protocol ESP, our inbound SPIs; RFC 2408 §3.15) under its live ISAKMP SA, which is kept
    /// and still answers and sends DPD. Returns how many. The peer moves its traffic to the
    /// other tunnel; our inbound SAs stay installed meanwhile (what still arrives on them is
    /// received) and are not rekeyed. IKEv1 informationals have no answer, so the SAs go
    /// ([`Event::ChildDeleted`], the DELETE sent once more) when the peer answers an R-U-THERE
    /// sent after the DELETE ([`Endpoint::send_dpd`]: the failover probes), the counterpart of
    /// the IKEv2 DELETE's answer ([`crate::v2::Endpoint::delete_child_sas`]).
    pub fn delete_child_sas(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<usize, Error> {
        self.current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established ISAKMP SA"))?;
        let mut out = std::mem::take(&mut self.out);
        // CHILD SAs outlive the ISAKMP SA that created them (a phase-1 rekey hands them on), so
        // each established SA of the tunnel deletes its own.
        let n = self
            .sas
            .values_mut()
            .filter(|sa| sa.tunnel == id && sa.is_established())
            .map(|sa| sa.withdraw_children(&mut out, rng))
            .sum();
        self.out = out;
        self.after(now, rng);
        Ok(n)
    }

    /// Creates a new CHILD SA with the tunnel's configured selectors under its current ISAKMP
    /// SA: a fresh quick mode (RFC 2409 §5.5) replacing nothing; [`Event::ChildEstablished`]
    /// when it completes, [`Event::NegotiationFailed`] when the peer refuses. Failover uses it
    /// to restore the CHILD SA removed by [`Endpoint::delete_child_sas`].
    pub fn create_child_sa(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let c = self
            .current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established ISAKMP SA"))?;
        let mut out = std::mem::take(&mut self.out);
        if let Some(sa) = self.sas.get_mut(&c) {
            sa.queue(now, Request::Quick { rekey_of: None }, &mut out, rng);
        }
        self.out = out;
        self.after(now, rng);
        Ok(())
    }

    /// Rekeys the ISAKMP SA now: a new phase 1 takes over the CHILD SAs, then the old one is
    /// deleted (make-before-break).
    pub fn rekey_ike(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let c = self
            .current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established ISAKMP SA"))?;
        self.start(now, id, Some(c), rng)?;
        self.after(now, rng);
        Ok(())
    }

    /// Sends a DPD R-U-THERE now (RFC 3706).
    pub fn send_dpd(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let c = self
            .current_sa(id)
            .ok_or(Error::ApiMisuse("tunnel has no established ISAKMP SA"))?;
        let mut out = std::mem::take(&mut self.out);
        if let Some(sa) = self.sas.get_mut(&c) {
            sa.send_dpd(now, rng, &mut out);
        }
        self.out = out;
        self.after(now, rng);
        Ok(())
    }

    /// Deletes the tunnel's SAs (DELETEs sent) and stops renegotiating.
    pub fn delete(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore) {
        if let Some(t) = self.tunnels.get_mut(&id) {
            t.wants_up = false;
            t.reinitiate_at = None;
        }
        let mut out = std::mem::take(&mut self.out);
        for sa in self.sas.values_mut().filter(|sa| sa.tunnel == id) {
            if sa.is_established() {
                sa.queue(now, Request::DeleteIsakmp, &mut out, rng);
                if !sa.is_closed() {
                    // A quick mode is outstanding: delete anyway.
                    sa.delete_all(&mut out, rng);
                    sa.close(now, DownReason::LocalDelete, &mut out);
                }
            } else {
                sa.close(now, DownReason::LocalDelete, &mut out);
            }
        }
        self.out = out;
        self.after(now, rng);
    }

    /// Handles one UDP datagram received on `local` from `remote` (marker included on NAT-T).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) {
        let data = if local.port() == self.cfg.ports.natt {
            match data.strip_prefix(&NON_ESP_MARKER[..]) {
                Some(rest) => rest,
                None => return,
            }
        } else {
            data
        };
        let msg = match Message::decode(data) {
            Ok(m) => m,
            Err(e) => {
                debug!(%remote, error = %e, "ISAKMP datagram dropped");
                return;
            }
        };
        let h = msg.header;
        let is_p1 = h.exchange == ExchangeType::IDENTITY_PROTECTION
            || h.exchange == ExchangeType::AGGRESSIVE;
        let target = self
            .sas
            .get(&h.cookie_r.0)
            .filter(|sa| !sa.initiator && sa.cky_i == h.cookie_i)
            .map(|_| h.cookie_r.0)
            .or_else(|| {
                self.sas
                    .get(&h.cookie_i.0)
                    .filter(|sa| sa.initiator && (sa.cky_r.is_zero() || sa.cky_r == h.cookie_r))
                    .map(|_| h.cookie_i.0)
            })
            .or_else(|| {
                // A retransmitted first message: the responder SA already exists.
                (h.cookie_r.is_zero())
                    .then(|| {
                        self.sas
                            .iter()
                            .find(|(_, sa)| {
                                !sa.initiator && sa.cky_i == h.cookie_i && sa.remote == remote
                            })
                            .map(|(c, _)| *c)
                    })
                    .flatten()
            });
        match target {
            Some(c) => {
                let mut out = std::mem::take(&mut self.out);
                if let Some(sa) = self.sas.get_mut(&c) {
                    if let Err(e) = sa.handle(now, local, remote, data, &msg, &mut out, rng) {
                        sa.on_error(now, e, &mut out, rng);
                    }
                }
                self.out = out;
            }
            None if is_p1 && h.cookie_r.is_zero() && h.message_id == 0 => {
                self.new_responder(now, local, remote, data, &msg, rng);
            }
            None => debug!(%remote, "ISAKMP message for no known SA dropped"),
        }
        self.after(now, rng);
    }

    fn new_responder(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        msg: &Message,
        rng: &mut dyn CryptoRngCore,
    ) {
        let Some((&id, t)) = self
            .tunnels
            .iter()
            .find(|(_, t)| t.cfg.local_addr == local.ip() && t.cfg.remote_addr == remote.ip())
        else {
            debug!(%local, %remote, "phase 1 from a peer no tunnel is configured for; dropped");
            return;
        };
        let half_open = self.sas.values().filter(|sa| sa.is_half_open()).count();
        if half_open >= self.cfg.half_open_limit {
            debug!(%remote, half_open, "half-open limit reached; phase 1 dropped");
            return;
        }
        let (cfg, opts) = (t.cfg.clone(), t.opts);
        let mut out = std::mem::take(&mut self.out);
        match Isakmp::respond(
            now,
            id,
            cfg,
            opts,
            self.cfg.ports,
            local,
            remote,
            msg,
            data,
            &mut out,
            rng,
        ) {
            Ok(sa) => {
                self.sas.insert(sa.local_cookie(), sa);
            }
            Err(Error::PeerIncompatible(n)) => {
                let ty = match &n {
                    NegotiationError::NoProposalChosen { .. } => NotifyType::NO_PROPOSAL_CHOSEN,
                    NegotiationError::PeerIdMismatch { .. } => NotifyType::INVALID_ID_INFORMATION,
                    _ => NotifyType::PAYLOAD_MALFORMED,
                };
                if let Some(bytes) = plain_refusal(msg.header.cookie_i, ty) {
                    let mut b = Vec::new();
                    if local.port() == self.cfg.ports.natt {
                        b.extend_from_slice(&NON_ESP_MARKER);
                    }
                    b.extend_from_slice(&bytes);
                    out.transmits.push_back(Transmit {
                        local,
                        remote,
                        bytes: b,
                    });
                }
                info!(tunnel = %id, error = %n, "refused phase 1");
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: id,
                    error: n,
                });
            }
            Err(e) => debug!(tunnel = %id, error = %e, "phase 1 not accepted"),
        }
        self.out = out;
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
            if let Err(e) = self.start(now, id, None, rng) {
                debug!(tunnel = %id, error = %e, "cannot renegotiate");
            }
        }
        self.after(now, rng);
    }

    /// Bookkeeping after any input: phase-1 rekeys, adoption of CHILD SAs, INITIAL-CONTACT,
    /// removal of closed SAs, renegotiation.
    fn after(&mut self, now: Instant, rng: &mut dyn CryptoRngCore) {
        let mut out = std::mem::take(&mut self.out);
        // Phase-1 soft lifetime: start a replacement.
        let rekeys: Vec<(TunnelId, u64)> = self
            .sas
            .iter_mut()
            .filter(|(_, sa)| sa.wants_rekey && sa.is_established())
            .map(|(c, sa)| {
                sa.wants_rekey = false;
                (sa.tunnel, *c)
            })
            .collect();
        self.out = out;
        for (t, c) in rekeys {
            if let Err(e) = self.start(now, t, Some(c), rng) {
                debug!(tunnel = %t, error = %e, "cannot rekey ISAKMP SA");
            }
        }
        out = std::mem::take(&mut self.out);
        // A replacement that is up takes the CHILD SAs; the old one is deleted.
        let done: Vec<(u64, u64)> = self
            .sas
            .iter_mut()
            .filter(|(_, sa)| sa.is_established() && sa.replaces.is_some())
            .filter_map(|(c, sa)| sa.replaces.take().map(|old| (*c, old)))
            .collect();
        for (new, old) in done {
            self.move_children(now, old, new, &mut out);
            if let Some(o) = self.sas.get_mut(&old) {
                o.delete_isakmp_only(&mut out, rng);
                o.retire();
            }
            self.rekeyed_event(new, &mut out);
            // If the old SA had no CHILD SA yet, the new one negotiates it.
            if let Some(n) = self.sas.get_mut(&new) {
                if n.children.is_empty() {
                    n.queue(now, Request::Quick { rekey_of: None }, &mut out, rng);
                }
            }
        }
        // The peer deleted an ISAKMP SA: its CHILD SAs go to a newer one, if any.
        let deleted: Vec<u64> = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.peer_deleted && !sa.is_closed())
            .map(|(c, _)| *c)
            .collect();
        for c in deleted {
            let Some(tunnel) = self.sas.get(&c).map(|s| s.tunnel) else {
                continue;
            };
            let newer = self
                .sas
                .iter()
                .filter(|(k, sa)| **k != c && sa.tunnel == tunnel && sa.is_established())
                .max_by_key(|(_, sa)| sa.established_at)
                .map(|(k, _)| *k);
            match newer {
                Some(n) => {
                    self.move_children(now, c, n, &mut out);
                    if let Some(o) = self.sas.get_mut(&c) {
                        o.retire();
                    }
                    self.rekeyed_event(n, &mut out);
                }
                None => {
                    if let Some(o) = self.sas.get_mut(&c) {
                        o.close(now, DownReason::PeerDelete, &mut out);
                    }
                }
            }
        }
        // INITIAL-CONTACT: the peer forgot its other SAs with us.
        let fresh: Vec<(TunnelId, u64)> = self
            .sas
            .iter_mut()
            .filter(|(_, sa)| sa.peer_initial_contact && sa.is_established())
            .map(|(c, sa)| {
                sa.peer_initial_contact = false;
                (sa.tunnel, *c)
            })
            .collect();
        for (tunnel, keep) in fresh {
            for (c, sa) in &mut self.sas {
                if sa.tunnel == tunnel && *c != keep && !sa.is_closed() && sa.replaces != Some(keep)
                {
                    info!(tunnel = %tunnel, "INITIAL-CONTACT: removing a stale ISAKMP SA");
                    sa.close(now, DownReason::PeerDelete, &mut out);
                }
            }
        }
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
            .map(|(c, _)| *c)
            .collect();
        for c in closed {
            if let Some(sa) = self.sas.remove(&c) {
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
    }

    fn move_children(&mut self, now: Instant, from: u64, to: u64, out: &mut Output) {
        let Some(moved) = self.sas.get_mut(&from).map(|o| o.take_children(now, out)) else {
            return;
        };
        if let Some(n) = self.sas.get_mut(&to) {
            n.adopt(moved);
        }
    }

    fn rekeyed_event(&self, new: u64, out: &mut Output) {
        if let Some(n) = self.sas.get(&new) {
            out.events.push_back(Event::IkeRekeyed {
                tunnel: n.tunnel,
                spi_i: n.cky_i.0,
                spi_r: n.cky_r.0,
            });
        }
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// Next inbound SA to install ahead of its CHILD SA's event; drain before
    /// [`Endpoint::poll_event`] (see the module doc).
    pub fn poll_inbound_first(&mut self) -> Option<InboundFirst> {
        self.out.inbound_first.pop_front()
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

    /// The tunnel's CHILD SAs in use.
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

    /// Number of ISAKMP SAs (any state).
    pub fn ike_sa_count(&self) -> usize {
        self.sas.len()
    }

    /// Whether the tunnel's current ISAKMP SA uses the NAT-T port.
    pub fn uses_natt(&self, id: TunnelId) -> bool {
        self.sas
            .values()
            .any(|sa| sa.tunnel == id && sa.is_established() && sa.uses_natt())
    }
}
