//! One IKE SA and its CHILD SAs: handshake typestates, exchanges after establishment (DPD,
//! DELETE, CREATE_CHILD_SA rekeying), retransmission and timers.
//!
//! The [`super::endpoint::Endpoint`] owns every `IkeSa`, routes datagrams to it by SPI and drains
//! its output. Message-id window: 1 in each direction (RFC 7296 §2.3; we never send
//! SET_WINDOW_SIZE), so at most one request of ours is outstanding and the last response is
//! cached for retransmitted requests.
//!
//! Collisions: simultaneous CHILD SA rekeys are resolved as RFC 7296 §2.8.1 says (the exchange
//! holding the lowest of the four nonces produced the redundant SA; its initiator deletes it, the
//! other side deletes the old SA). Simultaneous IKE SA rekeys complete both exchanges (§2.8.2):
//! the CHILD SAs wait on the old SA until our response arrives, then move to the new SA not
//! created with the lowest of the four nonces; the redundant one is deleted by its creator and
//! the old one by the creator of the survivor. A rekey request arriving after our own rekey of
//! that SA completed is answered TEMPORARY_FAILURE (§2.25); the peer then keeps our SA. So is
//! one arriving while a CHILD SA exchange of ours is in flight (its answer needs the CHILD SAs
//! on this SA); CHILD SA requests still queued move to the new IKE SA.
//!
//! IKE fragmentation (RFC 7383): IKEV2_FRAGMENTATION_SUPPORTED is announced in IKE_SA_INIT
//! unless `TunnelConfig::ike_fragment_size` is 0; when both sides announced it, an IKE_AUTH
//! message larger than that size is sent as SKF fragments. Received SKF fragments (any
//! exchange) are verified and decrypted one by one before they enter the bounded reassembly.
//!
//! Not implemented: EAP and certificates, MOBIKE, window sizes above 1, PMTU-driven
//! re-fragmentation (RFC 7383 §2.5.2).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dualsec_crypto::{DhId, Secret};
use rand_core::CryptoRngCore;
use tracing::{debug, info, trace, warn};

use super::config::{EspProposal, Identity, IkeProposal, TrafficSelector, TunnelConfig, ts_list};
use super::endpoint::{Output, Ports, Transmit};
use super::error::{Error, NegotiationError, Refusal, SaKind, ts_unacceptable};
use super::event::{ChildSaInfo, DownReason, Event, TunnelId};
use super::keys::{DhPrivate, IkeKeys, IkeSuite};
use super::message::{Msg, Pl, decode_inner, encode_inner, encode_plain, nat_hash, notify};
use super::proposal::{
    DhRule, Offer, Protocol, accepted_esp, accepted_ike, esp_offers, ike_offers, offers_text,
    select_esp, select_ike,
};
use super::timer::{Timer, TimerTable};
use super::ts::{is_narrowing_of, narrow};
use super::wire::{
    DecodeError, ExchangeType, Flags, Header, IkeSpi, NotifyType, PayloadType, Reassembly,
    ReassemblyLimits, max_chunk_len,
};

/// Nonce length we send (RFC 7296 §2.10: at least half the PRF key size, at least 16 octets).
const NONCE_LEN: usize = 32;
/// A responder's half-open SA is dropped if IKE_AUTH does not arrive within this time.
pub(crate) const HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// A COOKIE or INVALID_KE_PAYLOAD retry is done at most this often per negotiation.
const MAX_INIT_RETRIES: u32 = 3;
/// Wait before renegotiating after a failure or a dead peer.
pub(crate) const REINITIATE_DELAY: Duration = Duration::from_secs(5);
/// The old IKE SA after a rekey lingers at most this long waiting for its DELETE exchange.
const OLD_SA_LINGER: Duration = Duration::from_secs(30);

/// Proof that the peer's AUTH payload verified: only [`verify_auth`] makes one, and
/// [`Established`] must hold it (rustls `verify.rs` pattern).
#[derive(Debug)]
pub(crate) struct AuthVerified(());

impl AuthVerified {
    /// A rekeyed IKE SA is authenticated by the exchange that created it, which ran inside the
    /// authenticated SA (RFC 7296 §2.18): it inherits that SA's proof.
    fn inherited(_from: &AuthVerified) -> AuthVerified {
        AuthVerified(())
    }
}

/// Which end of the IKE SA we are (the original initiator sets the I flag, RFC 7296 §3.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    Initiator,
    Responder,
}

/// A CHILD SA as the IKE SA tracks it.
#[derive(Clone, Debug)]
pub(crate) struct Child {
    pub info: ChildSaInfo,
    pub established: Instant,
    /// Set once a rekey of this SA completed (we or the peer created its replacement); it only
    /// waits for its DELETE now.
    pub rekeyed: bool,
    /// The peer rekeyed this SA while our own rekey of it was outstanding (RFC 7296 §2.8.1): the
    /// replacement the peer created, and the lower of that exchange's two nonces.
    pub peer_rekey: Option<(u32, Vec<u8>)>,
}

impl Child {
    /// When to rekey it; `None` for a zero lifetime (no limit) or one beyond the clock's range.
    fn rekey_at(&self) -> Option<Instant> {
        if self.info.hard_lifetime.is_zero() {
            return None;
        }
        self.established.checked_add(self.info.soft_lifetime)
    }
}

/// Initiator: IKE_SA_INIT sent, waiting for its response.
pub(crate) struct ExpectSaInitResponse {
    dh: DhPrivate,
    ni: Vec<u8>,
    /// The request as sent (RealMessage1 for our AUTH, RFC 7296 §2.15).
    request: Vec<u8>,
    cookie: Option<Vec<u8>>,
    retries: u32,
}

/// Initiator: IKE_AUTH sent, waiting for its response.
pub(crate) struct ExpectAuthResponse {
    keys: IkeKeys,
    ni: Vec<u8>,
    nr: Vec<u8>,
    /// The responder's IKE_SA_INIT response (RealMessage2 for its AUTH).
    init_response: Vec<u8>,
    child_spi_in: u32,
}

/// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH.
pub(crate) struct ExpectAuthRequest {
    keys: IkeKeys,
    ni: Vec<u8>,
    nr: Vec<u8>,
    init_request: Vec<u8>,
    init_response: Vec<u8>,
}

/// Authenticated: INFORMATIONAL and CREATE_CHILD_SA exchanges.
pub(crate) struct Established {
    keys: IkeKeys,
    auth: AuthVerified,
}

pub(crate) enum State {
    ExpectSaInitResponse(Box<ExpectSaInitResponse>),
    ExpectAuthResponse(Box<ExpectAuthResponse>),
    ExpectAuthRequest(Box<ExpectAuthRequest>),
    Established(Box<Established>),
    /// Finished: the endpoint removes it.
    Closed,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::ExpectSaInitResponse(_) => "ExpectSaInitResponse",
            State::ExpectAuthResponse(_) => "ExpectAuthResponse",
            State::ExpectAuthRequest(_) => "ExpectAuthRequest",
            State::Established(_) => "Established",
            State::Closed => "Closed",
        }
    }
}

/// A request we want to send once the window is free.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    Dpd,
    RekeyChild {
        spi_in: u32,
    },
    RekeyIke,
    DeleteChild {
        spi_in: u32,
    },
    DeleteIke,
    /// A new CHILD SA with the configured selectors (CREATE_CHILD_SA without REKEY_SA, RFC 7296
    /// §1.3.1), e.g. to restore one deleted to steer the peer's traffic (issue 6).
    CreateChild,
}

/// What an outstanding request was, with the secrets its response needs.
enum Pending {
    SaInit,
    Auth,
    Dpd,
    RekeyChild {
        old_spi_in: u32,
        new_spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        esp: Vec<EspProposal>,
    },
    RekeyIke {
        new_spi_i: u64,
        ni: Vec<u8>,
        dh: DhPrivate,
    },
    DeleteChild {
        spi_in: u32,
    },
    DeleteIke,
    CreateChild {
        new_spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        esp: Vec<EspProposal>,
    },
}

impl Pending {
    fn exchange_name(&self) -> &'static str {
        match self {
            Pending::SaInit => "IKE_SA_INIT",
            Pending::Auth => "IKE_AUTH",
            Pending::Dpd => "INFORMATIONAL (liveness)",
            Pending::RekeyChild { .. } => "CREATE_CHILD_SA (rekey CHILD SA)",
            Pending::RekeyIke { .. } => "CREATE_CHILD_SA (rekey IKE SA)",
            Pending::DeleteChild { .. } | Pending::DeleteIke => "INFORMATIONAL (delete)",
            Pending::CreateChild { .. } => "CREATE_CHILD_SA (new CHILD SA)",
        }
    }
}

struct Outstanding {
    msg_id: u32,
    /// The request's datagrams (several when fragmented, RFC 7383).
    bytes: Vec<Vec<u8>>,
    retransmits: u32,
    pending: Pending,
}

/// One IKE SA.
pub(crate) struct IkeSa {
    pub tunnel: TunnelId,
    cfg: Arc<TunnelConfig>,
    role: Role,
    pub spi_i: u64,
    pub spi_r: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    ports: Ports,
    /// IKE on the NAT-T port (with the non-ESP marker).
    natt: bool,
    /// A NAT was detected (or the peer faked one to force UDP encapsulation).
    nat_detected: bool,
    pub state: State,
    pub timers: TimerTable,
    next_request_id: u32,
    outstanding: Option<Outstanding>,
    /// A DELETE of a CHILD SA sent while `outstanding` holds an unanswered liveness request
    /// (issue 6 steering, see [`IkeSa::delete_children_now`]); it moves into `outstanding` when
    /// that one completes.
    side: Option<Outstanding>,
    queued: VecDeque<Request>,
    /// Next request id we accept from the peer.
    expected_request_id: u32,
    /// (message id, datagram) of our last response, resent for a retransmitted request.
    last_response: Option<(u32, Vec<Vec<u8>>)>,
    /// The peer announced IKEV2_FRAGMENTATION_SUPPORTED and so did we (RFC 7383 §2.3).
    fragmentation: bool,
    /// Fragments of the peer's message with this id and direction (response?) being
    /// reassembled; only authenticated fragments go in (RFC 7383 §2.6).
    reassembly: Option<(u32, bool, Reassembly)>,
    last_heard: Instant,
    pub children: Vec<Child>,
    /// A rekeyed IKE SA that replaces this one; the endpoint takes it.
    pub spawned: Vec<IkeSa>,
    /// The peer is rekeying this IKE SA (we answered); our own rekey must not start.
    replaced: bool,
    /// RFC 7296 §2.8.2: the peer rekeyed this SA while our rekey of it was outstanding: the SA
    /// its exchange created (no CHILD SAs yet) and the lower nonce of that exchange.
    peer_ike_rekey: Option<(Box<IkeSa>, Vec<u8>)>,
    /// First IKE SA of this tunnel since start: send INITIAL_CONTACT (RFC 7296 §2.4).
    initial_contact: bool,
    /// The peer sent INITIAL_CONTACT: the endpoint removes the tunnel's other IKE SAs.
    pub peer_initial_contact: bool,
    /// Negotiated IKE proposal once keys exist (for the rekey and logs).
    proposal: Option<IkeProposal>,
    /// The peer deleted the IKE SA: close once the response is out.
    close_after_reply: bool,
    /// When it was created (the endpoint prefers the oldest of duplicate SAs).
    pub established_at: Instant,
    /// A fast liveness probe (issue 6) waits for the answer to our outstanding request.
    probe_waiting: bool,
}

fn random_bytes(rng: &mut dyn CryptoRngCore, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

pub(crate) fn random_spi(rng: &mut dyn CryptoRngCore) -> u64 {
    loop {
        let s = rng.next_u64();
        if s != 0 {
            return s;
        }
    }
}

fn random_child_spi(rng: &mut dyn CryptoRngCore) -> u32 {
    loop {
        // SPIs 1..=255 are reserved by IANA (RFC 4303 §2.1).
        let s = rng.next_u32();
        if s > 255 {
            return s;
        }
    }
}

/// The Fragment Number of an SKF message (RFC 7383 §2.5), `None` for anything else.
fn fragment_number(datagram: &[u8]) -> Option<u16> {
    use super::wire::HEADER_LEN;
    if datagram.get(16) != Some(&PayloadType::SKF.0) {
        return None;
    }
    let b = datagram.get(HEADER_LEN + 4..HEADER_LEN + 6)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Seals a message: one SK datagram, or SKF fragments of at most `fragment_size` octets
/// (RFC 7383 §2.5) when that is given and the message is larger.
fn protect(
    keys: &mut IkeKeys,
    header: &Header,
    first: PayloadType,
    inner: &[u8],
    from_i: bool,
    fragment_size: Option<usize>,
    rng: &mut dyn CryptoRngCore,
) -> Vec<Vec<u8>> {
    let whole = keys.seal(header, first, inner, from_i, rng);
    let Some(size) = fragment_size.filter(|s| whole.len() > *s) else {
        return vec![whole];
    };
    let (iv_len, block_size, icv_len) = keys.sizes();
    let Ok(chunk) = max_chunk_len(size, iv_len, block_size, icv_len) else {
        return vec![whole];
    };
    let chunks: Vec<&[u8]> = inner.chunks(chunk).collect();
    let Ok(total) = u16::try_from(chunks.len()) else {
        return vec![whole];
    };
    debug!(
        size = whole.len(),
        fragments = total,
        "sending {:?} in fragments (RFC 7383)",
        header.exchange
    );
    chunks
        .iter()
        .zip(1..=total)
        .map(|(c, n)| {
            // RFC 7383 §2.5: the first inner payload type in fragment 1 only.
            let next = if n == 1 { first } else { PayloadType::NONE };
            keys.seal_fragment(header, next, n, total, c, from_i, rng)
        })
        .collect()
}

fn lower<'a>(a: &'a [u8], b: &'a [u8]) -> &'a [u8] {
    if a <= b { a } else { b }
}

impl IkeSa {
    fn blank(
        now: Instant,
        tunnel: TunnelId,
        cfg: Arc<TunnelConfig>,
        role: Role,
        ports: Ports,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> IkeSa {
        IkeSa {
            tunnel,
            cfg,
            role,
            spi_i: 0,
            spi_r: 0,
            local,
            remote,
            ports,
            natt: false,
            nat_detected: false,
            state: State::Closed,
            timers: TimerTable::default(),
            next_request_id: 0,
            outstanding: None,
            side: None,
            queued: VecDeque::new(),
            expected_request_id: 0,
            last_response: None,
            fragmentation: false,
            reassembly: None,
            last_heard: now,
            children: Vec::new(),
            spawned: Vec::new(),
            replaced: false,
            peer_ike_rekey: None,
            initial_contact: false,
            peer_initial_contact: false,
            proposal: None,
            close_after_reply: false,
            established_at: now,
            probe_waiting: false,
        }
    }

    /// Our SPI: the one the endpoint indexes this SA by.
    pub fn local_spi(&self) -> u64 {
        match self.role {
            Role::Initiator => self.spi_i,
            Role::Responder => self.spi_r,
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Established(_))
    }

    /// Half-open: a responder SA that has not seen IKE_AUTH yet (RFC 7296 §2.6).
    pub fn is_half_open(&self) -> bool {
        matches!(self.state, State::ExpectAuthRequest(_))
    }

    pub fn uses_natt(&self) -> bool {
        self.natt
    }

    /// Established and not being replaced by a rekeyed IKE SA: the SA to probe.
    pub fn accepts_probe(&self) -> bool {
        self.is_established() && !self.replaced
    }

    /// Fast liveness probe (issue 6, on top of DPD R-TUN-5): an empty INFORMATIONAL request
    /// (RFC 7296 §1.4). The message-id window is one, so while any request of ours is outstanding
    /// the probe resends that request instead (RFC 7296 §2.1: the peer answers a retransmission
    /// with its cached response). Whichever copy is answered, the answer emits
    /// [`Event::ProbeAnswered`]. A probe does not arm the DPD timeout; only the regular
    /// retransmission timer does, so frequent probes never shorten the DPD decision.
    pub fn probe(
        &mut self,
        now: Instant,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if !self.accepts_probe() {
            return Err(Error::ApiMisuse("probe needs an established IKE SA"));
        }
        self.probe_waiting = true;
        self.pump_with_rng(now, out, rng);
        if let Some(o) = &self.outstanding {
            trace!(tunnel = %self.tunnel, msg_id = o.msg_id, "probe: resending the outstanding request");
            let mut bytes = o.bytes.clone();
            if let Some(side) = &self.side {
                bytes.extend(side.bytes.iter().cloned());
            }
            self.transmit_all(bytes, out);
            return Ok(());
        }
        self.send_request(
            now,
            ExchangeType::INFORMATIONAL,
            &[],
            Pending::Dpd,
            out,
            rng,
        )
    }

    // ---------------------------------------------------------------- initiator: IKE_SA_INIT

    /// Starts a new IKE SA as initiator (RFC 7296 §1.2).
    pub fn initiate(
        now: Instant,
        tunnel: TunnelId,
        cfg: Arc<TunnelConfig>,
        ports: Ports,
        initial_contact: bool,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<IkeSa, Error> {
        let local = SocketAddr::new(cfg.local_addr, ports.ike);
        let remote = SocketAddr::new(cfg.remote_addr, cfg.remote_port);
        let group = cfg
            .ike_proposals
            .first()
            .map(|p| p.dh)
            .ok_or(Error::ApiMisuse("tunnel has no IKE proposal"))?;
        let mut sa = IkeSa::blank(now, tunnel, cfg, Role::Initiator, ports, local, remote);
        sa.spi_i = random_spi(rng);
        sa.initial_contact = initial_contact;
        let dh =
            DhPrivate::generate(group, rng).map_err(|e| Error::ApiMisuse(unsupported_group(e)))?;
        let ni = random_bytes(rng, NONCE_LEN);
        sa.send_sa_init(now, dh, ni, None, 0, out, rng)?;
        Ok(sa)
    }

    #[allow(clippy::too_many_arguments)]
    fn send_sa_init(
        &mut self,
        now: Instant,
        dh: DhPrivate,
        ni: Vec<u8>,
        cookie: Option<Vec<u8>>,
        retries: u32,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let _ = rng;
        let group = dh.group();
        // Offer the proposal(s) using the KE group first (RFC 7296 §2.7 / §1.2 INVALID_KE retry).
        let mut props = self.cfg.ike_proposals.clone();
        props.sort_by_key(|p| p.dh != group);
        let mut pls = Vec::new();
        if let Some(c) = &cookie {
            pls.push(notify(NotifyType::COOKIE, c.clone()));
        }
        pls.push(Pl::Sa(ike_offers(&props, &[])));
        pls.push(Pl::Ke {
            group: group.0,
            data: dh.public().to_vec(),
        });
        pls.push(Pl::Nonce(ni.clone()));
        if self.cfg.nat_traversal {
            pls.push(notify(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                nat_hash(self.spi_i, 0, self.local),
            ));
            pls.push(notify(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                nat_hash(self.spi_i, 0, self.remote),
            ));
        }
        if self.cfg.ike_fragment_size > 0 {
            // RFC 7383 §2.3: announced in IKE_SA_INIT.
            pls.push(notify(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                Vec::new(),
            ));
        }
        let header = Header::new(
            IkeSpi(self.spi_i),
            IkeSpi::ZERO,
            ExchangeType::IKE_SA_INIT,
            Flags::new(true, false),
            0,
        );
        let bytes = encode_plain(&header, &pls)?;
        self.state = State::ExpectSaInitResponse(Box::new(ExpectSaInitResponse {
            dh,
            ni,
            request: bytes.clone(),
            cookie,
            retries,
        }));
        self.next_request_id = 1;
        self.start_request(now, 0, vec![bytes], Pending::SaInit, out);
        Ok(())
    }

    fn on_sa_init_response(
        &mut self,
        now: Instant,
        msg: &Msg,
        raw: &[u8],
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let State::ExpectSaInitResponse(st) = std::mem::replace(&mut self.state, State::Closed)
        else {
            return Err(Error::PeerMisbehaved(
                "IKE_SA_INIT response in the wrong state".into(),
            ));
        };
        let st = *st;
        self.outstanding = None;
        self.timers.stop(Timer::Retransmit);
        // RFC 7296 §2.6: COOKIE → resend with the cookie first.
        if let Some(cookie) = msg.notify(NotifyType::COOKIE) {
            if st.retries >= MAX_INIT_RETRIES || cookie.is_empty() || cookie.len() > 64 {
                return Err(NegotiationError::Protocol(
                    "responder keeps asking for a COOKIE".into(),
                )
                .into());
            }
            debug!(tunnel = %self.tunnel, "responder asked for a cookie; retrying IKE_SA_INIT");
            // RFC 7296 §2.6: all other payloads unchanged.
            return self.send_sa_init(
                now,
                st.dh,
                st.ni,
                Some(cookie.to_vec()),
                st.retries + 1,
                out,
                rng,
            );
        }
        // RFC 7296 §1.2: INVALID_KE_PAYLOAD carries the group the responder wants.
        if let Some(data) = msg.notify(NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = <[u8; 2]>::try_from(data)
                .map(|b| DhId(u16::from_be_bytes(b)))
                .ok();
            match wanted {
                Some(g)
                    if st.retries < MAX_INIT_RETRIES
                        && g != st.dh.group()
                        && self.cfg.ike_proposals.iter().any(|p| p.dh == g) =>
                {
                    info!(tunnel = %self.tunnel, group = ?g, "peer wants another DH group (INVALID_KE_PAYLOAD); retrying");
                    let dh = DhPrivate::generate(g, rng)
                        .map_err(|e| Error::ApiMisuse(unsupported_group(e)))?;
                    return self.send_sa_init(now, dh, st.ni, st.cookie, st.retries + 1, out, rng);
                }
                _ => {
                    return Err(NegotiationError::NoProposalChosen {
                        kind: SaKind::Ike,
                        ours: self.cfg.ike_proposals_text(),
                        theirs: format!(
                            "only DH group {}",
                            wanted
                                .map(super::config::dh_name)
                                .unwrap_or_else(|| "(unreadable)".into())
                        ),
                    }
                    .into());
                }
            }
        }
        if msg.has_notify(NotifyType::NO_PROPOSAL_CHOSEN) {
            return Err(NegotiationError::NoProposalChosen {
                kind: SaKind::Ike,
                ours: self.cfg.ike_proposals_text(),
                theirs: String::new(),
            }
            .into());
        }
        if let Some(n) = msg.error_notify() {
            return Err(NegotiationError::PeerNotify {
                notify: n,
                exchange: "IKE_SA_INIT",
            }
            .into());
        }
        let offers = msg
            .sa()
            .ok_or_else(|| Error::PeerMisbehaved("IKE_SA_INIT response without SA".into()))?;
        let proposal = accepted_ike(&self.cfg.ike_proposals, offers).ok_or_else(|| {
            Error::PeerMisbehaved(format!(
                "responder chose a proposal we did not offer: {}",
                offers_text(offers)
            ))
        })?;
        let (group, ke) = msg
            .ke()
            .ok_or_else(|| Error::PeerMisbehaved("IKE_SA_INIT response without KE".into()))?;
        if DhId(group) != proposal.dh || DhId(group) != st.dh.group() {
            return Err(Error::PeerMisbehaved(format!(
                "KE group {group} does not match the chosen proposal"
            )));
        }
        let nr = msg
            .nonce()
            .ok_or_else(|| Error::PeerMisbehaved("IKE_SA_INIT response without nonce".into()))?
            .to_vec();
        if !(16..=256).contains(&nr.len()) {
            return Err(Error::PeerMisbehaved(format!(
                "nonce length {} outside 16..=256",
                nr.len()
            )));
        }
        if msg.spi_r == 0 {
            return Err(Error::PeerMisbehaved(
                "IKE_SA_INIT response with a zero responder SPI".into(),
            ));
        }
        self.spi_r = msg.spi_r;
        let g_ir = st
            .dh
            .agree(ke)
            .map_err(|e| Error::PeerMisbehaved(format!("peer's KE value rejected: {e}")))?;
        self.detect_nat(msg);
        self.fragmentation = self.cfg.ike_fragment_size > 0
            && msg.has_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED);
        let suite = IkeSuite::new(&proposal)
            .map_err(|e| Error::PeerMisbehaved(format!("unsupported suite: {e}")))?;
        let keys = IkeKeys::initial(suite, &st.ni, &nr, g_ir.as_bytes(), self.spi_i, self.spi_r)
            .map_err(|e| Error::PeerMisbehaved(format!("key derivation: {e}")))?;
        self.proposal = Some(proposal);
        debug!(tunnel = %self.tunnel, %proposal, nat = self.nat_detected, "IKE_SA_INIT done");
        // IKE_AUTH request (RFC 7296 §1.2).
        let child_spi_in = random_child_spi(rng);
        let id = &self.cfg.local_id;
        let auth = keys.psk_auth(
            self.cfg.psk.as_bytes(),
            true,
            &st.request,
            &nr,
            id.id_type(),
            &id.data(),
        );
        let mut pls = vec![Pl::IdI {
            id_type: id.id_type(),
            data: id.data(),
        }];
        if self.initial_contact {
            pls.push(notify(NotifyType::INITIAL_CONTACT, Vec::new()));
        }
        pls.push(Pl::IdR {
            id_type: self.cfg.remote_id.id_type(),
            data: self.cfg.remote_id.data(),
        });
        pls.push(Pl::Auth {
            method: 2,
            data: auth.as_bytes().to_vec(),
        });
        pls.push(Pl::Sa(esp_offers(
            &self.cfg.esp_proposals,
            None,
            child_spi_in,
        )));
        pls.push(Pl::TsI(self.cfg.local_ts.clone()));
        pls.push(Pl::TsR(self.cfg.remote_ts.clone()));
        self.state = State::ExpectAuthResponse(Box::new(ExpectAuthResponse {
            keys,
            ni: st.ni,
            nr,
            init_response: raw.to_vec(),
            child_spi_in,
        }));
        self.send_request(now, ExchangeType::IKE_AUTH, &pls, Pending::Auth, out, rng)
    }

    /// NAT_DETECTION_* (RFC 7296 §2.23): a mismatch means a NAT on the path; we then float to
    /// the NAT-T port and encapsulate ESP in UDP (RFC 3948).
    fn detect_nat(&mut self, msg: &Msg) {
        if !self.cfg.nat_traversal {
            return;
        }
        let src: Vec<&[u8]> = msg.notifies(NotifyType::NAT_DETECTION_SOURCE_IP).collect();
        let Some(dst) = msg.notify(NotifyType::NAT_DETECTION_DESTINATION_IP) else {
            return;
        };
        if src.is_empty() {
            return;
        }
        let remote_behind_nat = !src
            .iter()
            .any(|h| *h == nat_hash(msg.spi_i, msg.spi_r, self.remote).as_slice());
        let local_behind_nat = dst != nat_hash(msg.spi_i, msg.spi_r, self.local).as_slice();
        self.nat_detected = remote_behind_nat || local_behind_nat;
        if self.nat_detected {
            info!(tunnel = %self.tunnel, remote_behind_nat, local_behind_nat, "NAT detected: using UDP {} and ESP-in-UDP", self.ports.natt);
            if self.role == Role::Initiator {
                self.float();
            }
        }
    }

    fn float(&mut self) {
        if !self.natt {
            self.natt = true;
            self.local.set_port(self.ports.natt);
            if self.remote.port() == self.ports.ike || self.remote.port() == 500 {
                self.remote.set_port(self.ports.natt_peer);
            }
        }
    }

    // ---------------------------------------------------------------- responder: IKE_SA_INIT

    /// Handles an IKE_SA_INIT request for a new SA as responder. `Ok` carries the new half-open
    /// SA (its response already queued); `Err` carries the unprotected reply to send (if any)
    /// and the explained error.
    #[allow(clippy::too_many_arguments)]
    pub fn respond_sa_init(
        now: Instant,
        tunnel: TunnelId,
        cfg: Arc<TunnelConfig>,
        ports: Ports,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Msg,
        raw: &[u8],
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<IkeSa, Error> {
        let malformed = |what: &str| Error::PeerMisbehaved(format!("IKE_SA_INIT without {what}"));
        let offers = msg.sa().ok_or_else(|| malformed("SA"))?;
        let Some((proposal, number)) = select_ike(&cfg.ike_proposals, offers) else {
            return Err(NegotiationError::NoProposalChosen {
                kind: SaKind::Ike,
                ours: cfg.ike_proposals_text(),
                theirs: offers_text(offers),
            }
            .into());
        };
        let (group, ke) = msg.ke().ok_or_else(|| malformed("KE"))?;
        if DhId(group) != proposal.dh {
            // RFC 7296 §1.2: tell the initiator which group we want; it retries.
            return Err(Error::Refused(Refusal::WrongKeGroup {
                wanted: proposal.dh,
            }));
        }
        let ni = msg.nonce().ok_or_else(|| malformed("nonce"))?.to_vec();
        if !(16..=256).contains(&ni.len()) {
            return Err(Error::PeerMisbehaved(format!(
                "nonce length {} outside 16..=256",
                ni.len()
            )));
        }
        let dh = DhPrivate::generate(proposal.dh, rng)
            .map_err(|e| Error::ApiMisuse(unsupported_group(e)))?;
        let g_ir = dh
            .agree(ke)
            .map_err(|e| Error::PeerMisbehaved(format!("peer's KE value rejected: {e}")))?;
        let mut sa = IkeSa::blank(
            now,
            tunnel,
            cfg.clone(),
            Role::Responder,
            ports,
            local,
            remote,
        );
        sa.spi_i = msg.spi_i;
        sa.spi_r = random_spi(rng);
        if local.port() == ports.natt {
            sa.natt = true;
        }
        sa.detect_nat(msg);
        let nr = random_bytes(rng, NONCE_LEN);
        let mut chosen = ike_offers(&[proposal], &[]);
        if let Some(o) = chosen.first_mut() {
            o.number = number;
        }
        let mut pls = vec![
            Pl::Sa(chosen),
            Pl::Ke {
                group: proposal.dh.0,
                data: dh.public().to_vec(),
            },
            Pl::Nonce(nr.clone()),
        ];
        if cfg.nat_traversal && msg.has_notify(NotifyType::NAT_DETECTION_SOURCE_IP) {
            pls.push(notify(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                nat_hash(sa.spi_i, sa.spi_r, local),
            ));
            pls.push(notify(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                nat_hash(sa.spi_i, sa.spi_r, remote),
            ));
        }
        if cfg.ike_fragment_size > 0 && msg.has_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED) {
            // RFC 7383 §2.3: only in answer to the initiator's announcement.
            pls.push(notify(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                Vec::new(),
            ));
            sa.fragmentation = true;
        }
        let header = Header::new(
            IkeSpi(sa.spi_i),
            IkeSpi(sa.spi_r),
            ExchangeType::IKE_SA_INIT,
            Flags::new(false, true),
            0,
        );
        let response = encode_plain(&header, &pls)?;
        let suite = IkeSuite::new(&proposal)
            .map_err(|_| Error::ApiMisuse("configured IKE suite unsupported"))?;
        let keys = IkeKeys::initial(suite, &ni, &nr, g_ir.as_bytes(), sa.spi_i, sa.spi_r)
            .map_err(|_| Error::ApiMisuse("IKE key derivation failed"))?;
        sa.proposal = Some(proposal);
        sa.state = State::ExpectAuthRequest(Box::new(ExpectAuthRequest {
            keys,
            ni,
            nr,
            init_request: raw.to_vec(),
            init_response: response.clone(),
        }));
        sa.expected_request_id = 1;
        sa.next_request_id = 0;
        sa.last_response = Some((0, vec![response.clone()]));
        sa.timers
            .set_after(Timer::HalfOpenExpire, now, HALF_OPEN_TIMEOUT);
        sa.transmit(response, out);
        debug!(tunnel = %tunnel, %proposal, "answered IKE_SA_INIT");
        Ok(sa)
    }

    // ---------------------------------------------------------------- IKE_AUTH

    fn on_auth_request(
        &mut self,
        now: Instant,
        msg: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let State::ExpectAuthRequest(st) = std::mem::replace(&mut self.state, State::Closed) else {
            return Err(Error::PeerMisbehaved(
                "IKE_AUTH request in the wrong state".into(),
            ));
        };
        let mut st = *st;
        let cfg = self.cfg.clone();
        let (id_type, id_data) = msg
            .idi()
            .ok_or_else(|| Error::PeerMisbehaved("IKE_AUTH without IDi".into()))?;
        let auth_result = match Identity::from_wire(id_type, id_data) {
            Some(id) if id == cfg.remote_id => verify_auth(
                &st.keys,
                cfg.psk.as_bytes(),
                true,
                &st.init_request,
                &st.nr,
                id_type,
                id_data,
                msg,
            )
            .map_err(|()| NegotiationError::PskMismatch { peer_id: id }),
            other => Err(NegotiationError::PeerIdMismatch {
                got: describe_id(other, id_type, id_data),
                expected: cfg.remote_id.clone(),
            }),
        };
        let proof = match auth_result {
            Ok(p) => p,
            Err(e) => {
                // RFC 7296 §2.21.2: answer AUTHENTICATION_FAILED inside IKE_AUTH, then forget the SA.
                let err = Error::from(e);
                let pls: Vec<Pl> = err.to_notify().into_iter().collect();
                let header = self.header(ExchangeType::IKE_AUTH, true, msg.msg_id);
                let (first, inner) = encode_inner(&pls)?;
                let bytes = st
                    .keys
                    .seal(&header, first, &inner, self.role == Role::Initiator, rng);
                self.transmit(bytes, out);
                return Err(err);
            }
        };
        self.peer_initial_contact = msg.has_notify(NotifyType::INITIAL_CONTACT);
        let id = &cfg.local_id;
        let auth = st.keys.psk_auth(
            cfg.psk.as_bytes(),
            false,
            &st.init_response,
            &st.ni,
            id.id_type(),
            &id.data(),
        );
        let mut pls = vec![
            Pl::IdR {
                id_type: id.id_type(),
                data: id.data(),
            },
            Pl::Auth {
                method: 2,
                data: auth.as_bytes().to_vec(),
            },
        ];
        // The CHILD SA: its failure does not fail the IKE SA (RFC 7296 §1.2).
        let child = self.accept_child(
            now,
            &st.keys,
            msg,
            DhRule::Ignore,
            None,
            &st.ni,
            &st.nr,
            rng,
        );
        match &child {
            Ok((child, chosen)) => {
                pls.push(Pl::Sa(vec![chosen.clone()]));
                pls.push(Pl::TsI(child.remote_ts.clone()));
                pls.push(Pl::TsR(child.local_ts.clone()));
            }
            Err(e) => pls.extend(Error::from(e.clone()).to_notify()),
        }
        let header = self.header(ExchangeType::IKE_AUTH, true, msg.msg_id);
        let (first, inner) = encode_inner(&pls)?;
        let mut keys = st.keys;
        let frag = self.fragment_size(ExchangeType::IKE_AUTH);
        let bytes = protect(&mut keys, &header, first, &inner, false, frag, rng);
        self.expected_request_id = msg.msg_id.wrapping_add(1);
        self.last_response = Some((msg.msg_id, bytes.clone()));
        self.transmit_all(bytes, out);
        self.timers.stop(Timer::HalfOpenExpire);
        self.state = State::Established(Box::new(Established { keys, auth: proof }));
        self.on_established(now, out);
        match child {
            Ok((c, _)) => self.add_child(now, c, out),
            Err(e) => {
                warn!(tunnel = %self.tunnel, error = %e, "CHILD SA refused");
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: self.tunnel,
                    error: e,
                });
            }
        }
        Ok(())
    }

    fn on_auth_response(
        &mut self,
        now: Instant,
        msg: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let State::ExpectAuthResponse(st) = std::mem::replace(&mut self.state, State::Closed)
        else {
            return Err(Error::PeerMisbehaved(
                "IKE_AUTH response in the wrong state".into(),
            ));
        };
        let st = *st;
        self.outstanding = None;
        self.timers.stop(Timer::Retransmit);
        let cfg = self.cfg.clone();
        if msg.has_notify(NotifyType::AUTHENTICATION_FAILED) {
            return Err(NegotiationError::RejectedByPeer {
                our_id: cfg.local_id.clone(),
            }
            .into());
        }
        let Some((id_type, id_data)) = msg.idr() else {
            if let Some(n) = msg.error_notify() {
                return Err(NegotiationError::PeerNotify {
                    notify: n,
                    exchange: "IKE_AUTH",
                }
                .into());
            }
            return Err(Error::PeerMisbehaved(
                "IKE_AUTH response without IDr".into(),
            ));
        };
        let proof = match Identity::from_wire(id_type, id_data) {
            Some(id) if id == cfg.remote_id => verify_auth(
                &st.keys,
                cfg.psk.as_bytes(),
                false,
                &st.init_response,
                &st.ni,
                id_type,
                id_data,
                msg,
            )
            .map_err(|()| NegotiationError::PskMismatch { peer_id: id })?,
            other => {
                return Err(NegotiationError::PeerIdMismatch {
                    got: describe_id(other, id_type, id_data),
                    expected: cfg.remote_id.clone(),
                }
                .into());
            }
        };
        // The CHILD SA created with IKE_AUTH.
        let child = self.complete_child(
            now,
            &st.keys,
            msg,
            DhRule::Ignore,
            None,
            st.child_spi_in,
            &cfg.esp_proposals,
            &st.ni,
            &st.nr,
        );
        self.state = State::Established(Box::new(Established {
            keys: st.keys,
            auth: proof,
        }));
        self.on_established(now, out);
        match child {
            Ok(c) => self.add_child(now, c, out),
            Err(e) => {
                warn!(tunnel = %self.tunnel, error = %e, "CHILD SA not established");
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: self.tunnel,
                    error: e,
                });
            }
        }
        self.pump_with_rng(now, out, rng);
        Ok(())
    }

    fn on_established(&mut self, now: Instant, out: &mut Output) {
        info!(tunnel = %self.tunnel, local = %self.local, remote = %self.remote, nat = self.nat_detected, proposal = ?self.proposal.map(|p| p.to_string()), "IKE SA established");
        out.events.push_back(Event::IkeUp {
            tunnel: self.tunnel,
            remote: self.remote,
            nat: self.nat_detected || self.natt,
        });
        self.arm_ike_lifetime(now);
        self.arm_dpd(now);
    }

    /// Soft and hard lifetime of the IKE SA; 0 means no limit (R-TUN-3 allows 0).
    fn arm_ike_lifetime(&mut self, now: Instant) {
        let life = self.cfg.ike_lifetime;
        if life.is_zero() {
            return;
        }
        self.timers.set_after(Timer::RekeyIke, now, soft(life));
        self.timers.set_after(Timer::HardExpire, now, life);
    }

    fn arm_dpd(&mut self, now: Instant) {
        if let Some(d) = self.cfg.dpd {
            // At least a second between checks, whatever the configuration says.
            self.timers.set_after(
                Timer::Dpd,
                now.max(self.last_heard),
                d.interval.max(Duration::from_secs(1)),
            );
        }
    }

    // ---------------------------------------------------------------- CHILD SA negotiation

    /// Responder: picks ESP proposal and selectors from a request (IKE_AUTH or CREATE_CHILD_SA).
    #[allow(clippy::too_many_arguments)]
    fn accept_child(
        &self,
        _now: Instant,
        keys: &IkeKeys,
        msg: &Msg,
        rule: DhRule,
        g_ir: Option<&[u8]>,
        ni: &[u8],
        nr: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(ChildSaInfo, Offer), NegotiationError> {
        let cfg = &self.cfg;
        let offers = msg
            .sa()
            .ok_or_else(|| NegotiationError::Protocol("no SA payload for the CHILD SA".into()))?;
        let Some((esp, spi_out, number, group)) = select_esp(&cfg.esp_proposals, rule, offers)
        else {
            return Err(NegotiationError::NoProposalChosen {
                kind: SaKind::Child,
                ours: esp_text(cfg, rule),
                theirs: offers_text(offers),
            });
        };
        let (tsi, tsr) = match (msg.tsi(), msg.tsr()) {
            (Some(i), Some(r)) => (i, r),
            _ => {
                return Err(NegotiationError::Protocol(
                    "no TSi/TSr for the CHILD SA".into(),
                ));
            }
        };
        // As responder: TSi is the peer's side, TSr ours.
        let remote_ts = narrow(tsi, &cfg.remote_ts);
        let local_ts = narrow(tsr, &cfg.local_ts);
        if remote_ts.is_empty() || local_ts.is_empty() {
            // The initiator's TSi is its local side.
            return Err(ts_unacceptable(&cfg.local_ts, &cfg.remote_ts, tsi, tsr));
        }
        let spi_in = random_child_spi(rng);
        let (i2r, r2i) = keys
            .child_keys(&esp, g_ir, ni, nr)
            .map_err(|e| NegotiationError::Protocol(format!("CHILD SA keys: {e}")))?;
        let mut chosen = esp_offers(
            &[esp],
            if rule == DhRule::Ignore { None } else { group },
            spi_in,
        );
        let mut offer = chosen.remove(0);
        offer.number = number;
        Ok((
            self.child_info(esp, spi_in, spi_out, i2r, r2i, local_ts, remote_ts),
            offer,
        ))
    }

    /// Initiator: reads the responder's choice out of a response.
    #[allow(clippy::too_many_arguments)]
    fn complete_child(
        &self,
        _now: Instant,
        keys: &IkeKeys,
        msg: &Msg,
        rule: DhRule,
        g_ir: Option<&[u8]>,
        spi_in: u32,
        esp: &[EspProposal],
        ni: &[u8],
        nr: &[u8],
    ) -> Result<ChildSaInfo, NegotiationError> {
        let cfg = &self.cfg;
        if msg.has_notify(NotifyType::NO_PROPOSAL_CHOSEN) {
            return Err(NegotiationError::NoProposalChosen {
                kind: SaKind::Child,
                ours: esp_text(cfg, rule),
                theirs: String::new(),
            });
        }
        if msg.has_notify(NotifyType::TS_UNACCEPTABLE) {
            return Err(ts_unacceptable(&cfg.local_ts, &cfg.remote_ts, &[], &[]));
        }
        if let Some(n) = msg.error_notify() {
            return Err(NegotiationError::PeerNotify {
                notify: n,
                exchange: "CHILD SA creation",
            });
        }
        let offers = msg.sa().ok_or_else(|| {
            NegotiationError::Protocol("response without SA for the CHILD SA".into())
        })?;
        let (esp, spi_out, _) = accepted_esp(esp, rule, offers).ok_or_else(|| {
            NegotiationError::Protocol(format!(
                "peer chose an ESP proposal we did not offer: {}",
                offers_text(offers)
            ))
        })?;
        let (tsi, tsr) = match (msg.tsi(), msg.tsr()) {
            (Some(i), Some(r)) => (i, r),
            _ => {
                return Err(NegotiationError::Protocol(
                    "response without TSi/TSr".into(),
                ));
            }
        };
        if !is_narrowing_of(tsi, &cfg.local_ts) || !is_narrowing_of(tsr, &cfg.remote_ts) {
            return Err(ts_unacceptable(&cfg.local_ts, &cfg.remote_ts, tsr, tsi));
        }
        let (i2r, r2i) = keys
            .child_keys(&esp, g_ir, ni, nr)
            .map_err(|e| NegotiationError::Protocol(format!("CHILD SA keys: {e}")))?;
        Ok(self.child_info(esp, spi_in, spi_out, r2i, i2r, tsi.to_vec(), tsr.to_vec()))
    }

    #[allow(clippy::too_many_arguments)]
    fn child_info(
        &self,
        esp: EspProposal,
        spi_in: u32,
        spi_out: u32,
        keys_in: super::event::EspKeys,
        keys_out: super::event::EspKeys,
        local_ts: Vec<TrafficSelector>,
        remote_ts: Vec<TrafficSelector>,
    ) -> ChildSaInfo {
        ChildSaInfo {
            spi_in,
            spi_out,
            encr: esp.encr,
            key_bits: esp.key_bits,
            integ: esp.integ,
            esn: esp.esn,
            keys_in,
            keys_out,
            local_ts,
            remote_ts,
            soft_lifetime: soft(self.cfg.child_lifetime),
            hard_lifetime: self.cfg.child_lifetime,
            udp_encap: self.nat_detected || self.natt,
            local: self.local,
            remote: self.remote,
        }
    }

    fn add_child(&mut self, now: Instant, info: ChildSaInfo, out: &mut Output) {
        info!(tunnel = %self.tunnel, spi_in = format_args!("{:08x}", info.spi_in), spi_out = format_args!("{:08x}", info.spi_out), local_ts = %ts_list(&info.local_ts), remote_ts = %ts_list(&info.remote_ts), udp_encap = info.udp_encap, "CHILD SA established");
        out.events.push_back(Event::ChildEstablished {
            tunnel: self.tunnel,
            child: info.clone(),
        });
        self.children.push(Child {
            info,
            established: now,
            rekeyed: false,
            peer_rekey: None,
        });
        self.arm_child_rekey();
    }

    fn arm_child_rekey(&mut self) {
        let next = self
            .children
            .iter()
            .filter(|c| !c.rekeyed)
            .filter_map(Child::rekey_at)
            .min();
        match next {
            Some(at) => self.timers.set(Timer::RekeyChild, at),
            None => self.timers.stop(Timer::RekeyChild),
        }
    }

    // ---------------------------------------------------------------- datagram input

    /// Handles a datagram addressed to this SA (marker already stripped).
    #[allow(clippy::too_many_arguments)]
    pub fn handle(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        msg_hdr: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if msg_hdr.response {
            let Some(o) = &self.outstanding else {
                trace!(tunnel = %self.tunnel, "response without an outstanding request; dropped");
                return Ok(());
            };
            let side = self
                .side
                .as_ref()
                .is_some_and(|s| s.msg_id == msg_hdr.msg_id);
            if o.msg_id != msg_hdr.msg_id && !side {
                trace!(tunnel = %self.tunnel, got = msg_hdr.msg_id, want = o.msg_id, "response with a stale message id; dropped");
                return Ok(());
            }
        } else {
            // RFC 7296 §2.2: a retransmitted request gets the cached response.
            if let Some((id, bytes)) = &self.last_response {
                if *id == msg_hdr.msg_id {
                    // A fragmented request is answered once, on its first fragment (RFC 7383
                    // §2.6.1), not once per fragment.
                    if fragment_number(data).is_none_or(|n| n == 1) {
                        trace!(tunnel = %self.tunnel, msg_id = id, "retransmitted request; resending our response");
                        let b = bytes.clone();
                        self.transmit_all(b, out);
                    }
                    return Ok(());
                }
            }
            if msg_hdr.msg_id != self.expected_request_id {
                trace!(tunnel = %self.tunnel, got = msg_hdr.msg_id, want = self.expected_request_id, "request outside the window; dropped");
                return Ok(());
            }
        }
        // The original initiator's messages carry the I flag.
        if msg_hdr.from_initiator == (self.role == Role::Initiator) {
            return Err(Error::PeerMisbehaved("message with our own I flag".into()));
        }
        let msg = if msg_hdr.exchange == ExchangeType::IKE_SA_INIT {
            msg_hdr.clone()
        } else {
            let Some(keys) = self.keys() else {
                return Err(Error::PeerMisbehaved(format!(
                    "{:?} before keys exist",
                    msg_hdr.exchange
                )));
            };
            let (first, inner) = if fragment_number(data).is_some() {
                let (next, number, total, content) = keys
                    .open_fragment(data, msg_hdr.from_initiator)
                    .map_err(|e| Error::InvalidMessage(format!("SKF payload: {e:?}")))?;
                let key = (msg_hdr.msg_id, msg_hdr.response);
                if self
                    .reassembly
                    .as_ref()
                    .is_none_or(|(id, r, _)| (*id, *r) != key)
                {
                    self.reassembly = Some((
                        msg_hdr.msg_id,
                        msg_hdr.response,
                        Reassembly::new(ReassemblyLimits::default()),
                    ));
                }
                let Some((_, _, reassembly)) = &mut self.reassembly else {
                    return Ok(());
                };
                match reassembly.insert(number, total, next, &content) {
                    Ok(Some(whole)) => {
                        debug!(tunnel = %self.tunnel, msg_id = msg_hdr.msg_id, total, "{:?} reassembled from fragments (RFC 7383)", msg_hdr.exchange);
                        self.reassembly = None;
                        whole
                    }
                    Ok(None) => {
                        // Authenticated: the peer is alive even while fragments are missing.
                        self.last_heard = now;
                        return Ok(());
                    }
                    Err(e) => {
                        return Err(Error::InvalidMessage(format!(
                            "fragment {number}/{total}: {e}"
                        )));
                    }
                }
            } else {
                keys.open(data, msg_hdr.from_initiator)
                    .map_err(|e| Error::InvalidMessage(format!("SK payload: {e:?}")))?
            };
            let payloads = match decode_inner(first, &inner) {
                Ok(p) => p,
                Err(e) => {
                    // RFC 7296 §2.21.3, §3.10.1: the request authenticated and its message id
                    // is the expected one, so it may be answered: INVALID_SYNTAX (or
                    // UNSUPPORTED_CRITICAL_PAYLOAD, §2.5) in a protected response.
                    if !msg_hdr.response && self.is_established() {
                        let data = match &e {
                            DecodeError::UnsupportedCriticalPayload { payload } => {
                                vec![payload.0]
                            }
                            _ => Vec::new(),
                        };
                        let n = notify(e.notify_type(), data);
                        self.last_heard = now;
                        self.expected_request_id = msg_hdr.msg_id.wrapping_add(1);
                        self.respond(msg_hdr.exchange, msg_hdr.msg_id, &[n], out, rng)?;
                    }
                    return Err(Error::InvalidMessage(format!("inner payloads: {e}")));
                }
            };
            Msg {
                payloads,
                ..msg_hdr.clone()
            }
        };
        // Authenticated (or IKE_SA_INIT): the peer is alive, and may have moved (NAT rebinding).
        self.last_heard = now;
        if self.is_established() {
            self.timers.stop(Timer::DpdTimeout);
            self.arm_dpd(now);
            if remote != self.remote || local.port() != self.local.port() {
                self.peer_moved(local, remote, out);
            }
        } else if msg.exchange != ExchangeType::IKE_SA_INIT
            && local.port() == self.ports.natt
            && !self.natt
        {
            // RFC 7296 §2.23: the peer floated to the NAT-T port during the handshake.
            self.natt = true;
            self.local = local;
            self.remote = remote;
        }
        match (msg.response, msg.exchange, &self.state) {
            (true, ExchangeType::IKE_SA_INIT, State::ExpectSaInitResponse(_)) => {
                self.on_sa_init_response(now, &msg, data, out, rng)
            }
            (true, ExchangeType::IKE_AUTH, State::ExpectAuthResponse(_)) => {
                self.on_auth_response(now, &msg, out, rng)
            }
            (false, ExchangeType::IKE_AUTH, State::ExpectAuthRequest(_)) => {
                self.on_auth_request(now, &msg, out, rng)
            }
            (false, _, State::Established(_)) => self.on_request(now, &msg, out, rng),
            (true, _, State::Established(_)) => self.on_any_response(now, &msg, out, rng),
            (resp, ex, st) => Err(Error::PeerMisbehaved(format!(
                "{ex:?} {} not expected in {}",
                if resp { "response" } else { "request" },
                st.name()
            ))),
        }
    }

    fn peer_moved(&mut self, local: SocketAddr, remote: SocketAddr, out: &mut Output) {
        info!(tunnel = %self.tunnel, from = %self.remote, to = %remote, "peer address changed");
        self.remote = remote;
        self.local = local;
        if local.port() == self.ports.natt {
            self.natt = true;
        }
        for c in &mut self.children {
            c.info.remote = remote;
            c.info.local = local;
            c.info.udp_encap = self.natt || self.nat_detected;
        }
        out.events.push_back(Event::PeerAddressChanged {
            tunnel: self.tunnel,
            remote,
            udp_encap: self.natt || self.nat_detected,
        });
    }

    fn keys(&self) -> Option<&IkeKeys> {
        match &self.state {
            State::ExpectAuthResponse(s) => Some(&s.keys),
            State::ExpectAuthRequest(s) => Some(&s.keys),
            State::Established(s) => Some(&s.keys),
            _ => None,
        }
    }

    fn keys_mut(&mut self) -> Option<&mut IkeKeys> {
        match &mut self.state {
            State::ExpectAuthResponse(s) => Some(&mut s.keys),
            State::ExpectAuthRequest(s) => Some(&mut s.keys),
            State::Established(s) => Some(&mut s.keys),
            _ => None,
        }
    }

    // ---------------------------------------------------------------- requests from the peer

    fn on_request(
        &mut self,
        now: Instant,
        msg: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        self.expected_request_id = msg.msg_id.wrapping_add(1);
        let result = match msg.exchange {
            ExchangeType::INFORMATIONAL => Ok(self.on_informational(now, msg, out)),
            ExchangeType::CREATE_CHILD_SA => self.on_create_child_sa(now, msg, out, rng),
            other => Err(Error::PeerMisbehaved(format!(
                "unsupported exchange {other:?}"
            ))),
        };
        let reply = match result {
            Ok(r) => r,
            Err(e) => {
                debug!(tunnel = %self.tunnel, error = %e, "request refused");
                e.to_notify().into_iter().collect()
            }
        };
        self.respond(msg.exchange, msg.msg_id, &reply, out, rng)?;
        if self.close_after_reply {
            // RFC 7296 §1.4.1: the (empty) response is sent, then the SA is gone.
            self.close(now, DownReason::PeerDelete, out);
            return Ok(());
        }
        self.pump_with_rng(now, out, rng);
        Ok(())
    }

    fn on_informational(&mut self, now: Instant, msg: &Msg, out: &mut Output) -> Vec<Pl> {
        let mut reply = Vec::new();
        let mut our_spis = Vec::new();
        for (protocol, spis) in msg.deletes() {
            match Protocol::from_id(protocol) {
                Protocol::Ike => {
                    if let Some((theirs, _)) = self.peer_ike_rekey.take() {
                        // RFC 7296 §2.8.2: the peer deletes the old SA only when the SA it
                        // created survives; its DELETE overtook the response to our rekey.
                        info!(tunnel = %self.tunnel, "IKE SA rekey collision: the peer's rekey stands");
                        self.adopt(now, *theirs, out);
                    }
                    info!(tunnel = %self.tunnel, "peer deleted the IKE SA");
                    self.close_after_reply = true;
                    return Vec::new();
                }
                Protocol::Esp => {
                    for &spi_out in spis {
                        if let Some(pos) =
                            self.children.iter().position(|c| c.info.spi_out == spi_out)
                        {
                            let c = self.children.remove(pos);
                            info!(tunnel = %self.tunnel, spi_in = format_args!("{:08x}", c.info.spi_in), "peer deleted a CHILD SA");
                            our_spis.push(c.info.spi_in);
                            out.events.push_back(Event::ChildDeleted {
                                tunnel: self.tunnel,
                                spi_in: c.info.spi_in,
                                spi_out: c.info.spi_out,
                            });
                            // A queued delete of ours for it is moot now.
                            self.queued.retain(|r| {
                                *r != Request::DeleteChild {
                                    spi_in: c.info.spi_in,
                                } && *r
                                    != Request::RekeyChild {
                                        spi_in: c.info.spi_in,
                                    }
                            });
                        }
                    }
                }
                Protocol::Other(_) => {}
            }
        }
        if !our_spis.is_empty() {
            // RFC 7296 §1.4.1: answer with the SPIs of our halves.
            reply.push(Pl::Delete {
                protocol: Protocol::Esp.id(),
                spis: our_spis,
            });
        }
        self.arm_child_rekey();
        reply
    }

    fn on_create_child_sa(
        &mut self,
        now: Instant,
        msg: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<Pl>, Error> {
        let malformed =
            |what: &str| Error::PeerMisbehaved(format!("CREATE_CHILD_SA request without {what}"));
        let offers = msg.sa().ok_or_else(|| malformed("SA"))?;
        if offers.first().map(|o| o.protocol) == Some(Protocol::Ike) {
            return self.on_rekey_ike_request(now, msg, out, rng);
        }
        let ni = msg
            .nonce()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| malformed("nonce"))?;
        // REKEY_SA names the SA by the SPI the peer receives on, i.e. our outbound SPI.
        let rekey_of = msg.payloads.iter().find_map(|p| match p {
            Pl::Notify { ntype, spi, .. } if *ntype == NotifyType::REKEY_SA => {
                <[u8; 4]>::try_from(spi.as_slice())
                    .ok()
                    .map(u32::from_be_bytes)
            }
            _ => None,
        });
        let old_idx = match rekey_of {
            Some(spi_out) => match self.children.iter().position(|c| c.info.spi_out == spi_out) {
                Some(i) if !self.children[i].rekeyed => Some(i),
                Some(_) => {
                    // RFC 7296 §2.25: we already replaced it and are deleting it.
                    return Err(Error::Refused(Refusal::TemporaryFailure));
                }
                None => return Err(Error::Refused(Refusal::ChildSaNotFound { spi: spi_out })),
            },
            None => None,
        };
        let pfs = self.cfg.pfs_group.filter(|g| *g != DhId::NONE);
        // PFS: the KE must use the group we select (RFC 7296 §1.3.1).
        let mut dh_pair: Option<(DhPrivate, Secret)> = None;
        if let Some(g) = pfs {
            match msg.ke() {
                Some((group, ke)) if DhId(group) == g => {
                    let d = DhPrivate::generate(g, rng)
                        .map_err(|e| Error::ApiMisuse(unsupported_group(e)))?;
                    let shared = d.agree(ke).map_err(|e| {
                        Error::PeerMisbehaved(format!("peer's KE value rejected: {e}"))
                    })?;
                    dh_pair = Some((d, shared));
                }
                Some(_)
                    if select_esp(&self.cfg.esp_proposals, DhRule::Pfs(Some(g)), offers)
                        .is_some() =>
                {
                    return Err(Error::Refused(Refusal::WrongKeGroup { wanted: g }));
                }
                _ => {}
            }
        }
        let nr = random_bytes(rng, NONCE_LEN);
        let keys = self
            .keys()
            .ok_or(Error::ApiMisuse("CREATE_CHILD_SA before keys exist"))?;
        let g_ir = dh_pair.as_ref().map(|(_, s)| s.as_bytes());
        match self.accept_child(now, keys, msg, DhRule::Pfs(pfs), g_ir, &ni, &nr, rng) {
            Ok((info, chosen)) => {
                let mut reply = vec![Pl::Sa(vec![chosen]), Pl::Nonce(nr.clone())];
                if let Some((d, _)) = &dh_pair {
                    reply.push(Pl::Ke {
                        group: d.group().0,
                        data: d.public().to_vec(),
                    });
                }
                reply.push(Pl::TsI(info.remote_ts.clone()));
                reply.push(Pl::TsR(info.local_ts.clone()));
                match old_idx {
                    Some(i) => {
                        let ours_outstanding = matches!(&self.outstanding, Some(Outstanding { pending: Pending::RekeyChild { old_spi_in, .. }, .. }) if *old_spi_in == self.children[i].info.spi_in);
                        let old = &mut self.children[i];
                        if ours_outstanding {
                            // RFC 7296 §2.8.1 collision: decide when our own response arrives.
                            debug!(tunnel = %self.tunnel, "simultaneous CHILD SA rekey detected");
                            old.peer_rekey = Some((info.spi_in, lower(&ni, &nr).to_vec()));
                        } else {
                            old.rekeyed = true;
                        }
                        let (old_in, old_out) = (old.info.spi_in, old.info.spi_out);
                        info!(tunnel = %self.tunnel, old = format_args!("{old_in:08x}"), new = format_args!("{:08x}", info.spi_in), "peer rekeyed a CHILD SA");
                        out.events.push_back(Event::ChildRekeyed {
                            tunnel: self.tunnel,
                            old_spi_in: old_in,
                            old_spi_out: old_out,
                            new: info.clone(),
                        });
                        self.children.push(Child {
                            info,
                            established: now,
                            rekeyed: false,
                            peer_rekey: None,
                        });
                        self.queued
                            .retain(|r| *r != Request::RekeyChild { spi_in: old_in });
                        self.arm_child_rekey();
                    }
                    None => self.add_child(now, info, out),
                }
                Ok(reply)
            }
            Err(e) => {
                warn!(tunnel = %self.tunnel, error = %e, "CREATE_CHILD_SA refused");
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: self.tunnel,
                    error: e.clone(),
                });
                Err(e.into())
            }
        }
    }

    fn on_rekey_ike_request(
        &mut self,
        now: Instant,
        msg: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<Pl>, Error> {
        let malformed =
            |what: &str| Error::PeerMisbehaved(format!("IKE SA rekey request without {what}"));
        // RFC 7296 §2.25: once this SA is being replaced (our rekey completed, or we already
        // answered one) another rekey of it is refused; the peer's collision handling then keeps
        // the SA we created.
        if self.replaced || self.peer_ike_rekey.is_some() {
            return Err(Error::Refused(Refusal::TemporaryFailure));
        }
        // RFC 7296 §2.25: a CHILD SA exchange of ours is in flight on this SA. Its answer comes
        // back on this SA and needs the CHILD SAs here, so they must not move yet; the peer
        // retries its IKE rekey after our exchange is done.
        if matches!(
            &self.outstanding,
            Some(Outstanding {
                pending: Pending::RekeyChild { .. }
                    | Pending::DeleteChild { .. }
                    | Pending::CreateChild { .. },
                ..
            })
        ) {
            debug!(tunnel = %self.tunnel, "IKE SA rekey refused while our CHILD SA exchange is in flight");
            return Err(Error::Refused(Refusal::TemporaryFailure));
        }
        // RFC 7296 §2.8.2: our own rekey of this SA is in flight. Both exchanges complete; the
        // CHILD SAs stay here until our response tells which new SA survives.
        let colliding = matches!(
            &self.outstanding,
            Some(Outstanding {
                pending: Pending::RekeyIke { .. },
                ..
            })
        );
        let offers = msg.sa().ok_or_else(|| malformed("SA"))?;
        let Some((proposal, number)) = select_ike(&self.cfg.ike_proposals, offers) else {
            return Err(NegotiationError::NoProposalChosen {
                kind: SaKind::Ike,
                ours: self.cfg.ike_proposals_text(),
                theirs: offers_text(offers),
            }
            .into());
        };
        let spi_b = offers
            .iter()
            .find(|o| o.number == number)
            .and_then(|o| <[u8; 8]>::try_from(o.spi.as_slice()).ok())
            .ok_or_else(|| malformed("an 8-octet SPI"))?;
        let new_spi_i = u64::from_be_bytes(spi_b);
        let ni = msg.nonce().ok_or_else(|| malformed("nonce"))?;
        let (group, ke) = msg.ke().ok_or_else(|| malformed("KE"))?;
        if DhId(group) != proposal.dh {
            return Err(Error::Refused(Refusal::WrongKeGroup {
                wanted: proposal.dh,
            }));
        }
        let dh = DhPrivate::generate(proposal.dh, rng)
            .map_err(|e| Error::ApiMisuse(unsupported_group(e)))?;
        let g_ir = dh
            .agree(ke)
            .map_err(|e| Error::PeerMisbehaved(format!("peer's KE value rejected: {e}")))?;
        let nr = random_bytes(rng, NONCE_LEN);
        let new_spi_r = random_spi(rng);
        let keys = self
            .keys()
            .ok_or(Error::ApiMisuse("IKE rekey before keys exist"))?;
        let suite = IkeSuite::new(&proposal)
            .map_err(|_| Error::ApiMisuse("configured IKE suite unsupported"))?;
        let new_keys =
            IkeKeys::rekeyed(keys, suite, ni, &nr, g_ir.as_bytes(), new_spi_i, new_spi_r)
                .map_err(|_| Error::ApiMisuse("IKE key derivation failed"))?;
        let mut chosen = ike_offers(&[proposal], &new_spi_r.to_be_bytes());
        if let Some(o) = chosen.first_mut() {
            o.number = number;
        }
        // The peer initiated the rekey, so it is the original initiator of the new SA (§2.18).
        let sa = self
            .successor(
                now,
                Role::Responder,
                new_spi_i,
                new_spi_r,
                new_keys,
                proposal,
            )
            .ok_or(Error::ApiMisuse("IKE rekey before establishment"))?;
        if colliding {
            debug!(tunnel = %self.tunnel, "simultaneous IKE SA rekey detected (RFC 7296 §2.8.2)");
            self.peer_ike_rekey = Some((Box::new(sa), lower(ni, &nr).to_vec()));
        } else {
            info!(tunnel = %self.tunnel, new_spi = format_args!("{new_spi_r:016x}"), "peer rekeyed the IKE SA");
            self.adopt(now, sa, out);
        }
        Ok(vec![
            Pl::Sa(chosen),
            Pl::Nonce(nr),
            Pl::Ke {
                group: proposal.dh.0,
                data: dh.public().to_vec(),
            },
        ])
    }

    /// Builds a replacement IKE SA (RFC 7296 §2.18) without CHILD SAs; `None` unless this SA is
    /// established.
    fn successor(
        &self,
        now: Instant,
        role: Role,
        spi_i: u64,
        spi_r: u64,
        keys: IkeKeys,
        proposal: IkeProposal,
    ) -> Option<IkeSa> {
        let State::Established(est) = &self.state else {
            return None;
        };
        let auth = AuthVerified::inherited(&est.auth);
        let mut sa = IkeSa::blank(
            now,
            self.tunnel,
            self.cfg.clone(),
            role,
            self.ports,
            self.local,
            self.remote,
        );
        sa.spi_i = spi_i;
        sa.spi_r = spi_r;
        sa.natt = self.natt;
        sa.nat_detected = self.nat_detected;
        sa.proposal = Some(proposal);
        sa.state = State::Established(Box::new(Established { keys, auth }));
        sa.arm_ike_lifetime(now);
        sa.arm_dpd(now);
        Some(sa)
    }

    /// Moves our CHILD SAs to `sa`, which replaces this SA, and hands it to the endpoint.
    fn adopt(&mut self, now: Instant, mut sa: IkeSa, out: &mut Output) {
        out.events.push_back(Event::IkeRekeyed {
            tunnel: self.tunnel,
            spi_i: sa.spi_i,
            spi_r: sa.spi_r,
        });
        sa.children = std::mem::take(&mut self.children);
        sa.arm_child_rekey();
        self.replaced = true;
        // The old SA only waits for its DELETE exchange now.
        self.timers.clear();
        self.timers.set_after(Timer::HardExpire, now, OLD_SA_LINGER);
        // CHILD SA requests not sent yet go over the new SA (RFC 7296 §1.4: control messages
        // for CHILD SAs go under the IKE SA's successor); liveness and rekey of the old SA end.
        for r in std::mem::take(&mut self.queued) {
            match r {
                Request::DeleteIke => self.queued.push_back(r),
                Request::RekeyChild { .. } | Request::DeleteChild { .. } | Request::CreateChild => {
                    if !sa.queued.contains(&r) {
                        sa.queued.push_back(r);
                    }
                }
                Request::Dpd | Request::RekeyIke => {}
            }
        }
        self.spawned.push(sa);
    }

    /// Hands the endpoint a redundant IKE SA of a simultaneous rekey (RFC 7296 §2.8.2): it
    /// carries no CHILD SAs, is never probed or rekeyed, and is gone after its DELETE exchange
    /// (`delete`: we created it, so we send that DELETE) or after [`OLD_SA_LINGER`].
    fn park_redundant(&mut self, now: Instant, mut sa: IkeSa, delete: bool) {
        sa.replaced = true;
        sa.timers.clear();
        sa.timers.set_after(Timer::HardExpire, now, OLD_SA_LINGER);
        if delete {
            sa.queued.push_back(Request::DeleteIke);
        }
        self.spawned.push(sa);
    }

    // ---------------------------------------------------------------- our requests

    /// Queues a request; it is sent when the window is free.
    pub fn queue(
        &mut self,
        now: Instant,
        r: Request,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) {
        if !self.queued.contains(&r) {
            self.queued.push_back(r);
        }
        self.pump_with_rng(now, out, rng);
    }

    /// Sends the next queued request if the window is free.
    pub fn pump_with_rng(&mut self, now: Instant, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        while self.outstanding.is_none() && self.side.is_none() && self.is_established() {
            let Some(r) = self.queued.pop_front() else {
                return;
            };
            if let Err(e) = self.send_queued(now, r, out, rng) {
                warn!(tunnel = %self.tunnel, error = %e, "could not send request");
            }
        }
    }

    fn send_queued(
        &mut self,
        now: Instant,
        r: Request,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if self.replaced && r != Request::DeleteIke {
            return Ok(());
        }
        match r {
            Request::Dpd => {
                debug!(tunnel = %self.tunnel, "sending liveness check");
                self.send_request(
                    now,
                    ExchangeType::INFORMATIONAL,
                    &[],
                    Pending::Dpd,
                    out,
                    rng,
                )
            }
            Request::DeleteIke => {
                let pls = [Pl::Delete {
                    protocol: Protocol::Ike.id(),
                    spis: Vec::new(),
                }];
                self.send_request(
                    now,
                    ExchangeType::INFORMATIONAL,
                    &pls,
                    Pending::DeleteIke,
                    out,
                    rng,
                )
            }
            Request::DeleteChild { spi_in } => {
                if !self.children.iter().any(|c| c.info.spi_in == spi_in) {
                    return Ok(());
                }
                let pls = [Pl::Delete {
                    protocol: Protocol::Esp.id(),
                    spis: vec![spi_in],
                }];
                self.send_request(
                    now,
                    ExchangeType::INFORMATIONAL,
                    &pls,
                    Pending::DeleteChild { spi_in },
                    out,
                    rng,
                )
            }
            Request::RekeyChild { spi_in } => {
                let Some(old) = self
                    .children
                    .iter()
                    .find(|c| c.info.spi_in == spi_in && !c.rekeyed)
                else {
                    return Ok(());
                };
                let (local_ts, remote_ts) = (old.info.local_ts.clone(), old.info.remote_ts.clone());
                // Rekey with the negotiated proposal first (RFC 7296 §2.8 expects the same).
                let mut esp: Vec<EspProposal> = self.cfg.esp_proposals.clone();
                let cur = EspProposal {
                    encr: old.info.encr,
                    key_bits: old.info.key_bits,
                    integ: old.info.integ,
                    esn: old.info.esn,
                };
                esp.sort_by_key(|p| *p != cur);
                let pfs = self.cfg.pfs_group.filter(|g| *g != DhId::NONE);
                let dh = pfs
                    .map(|g| DhPrivate::generate(g, rng))
                    .transpose()
                    .map_err(|e| Error::ApiMisuse(leak_err(e)))?;
                let ni = random_bytes(rng, NONCE_LEN);
                let new_spi_in = random_child_spi(rng);
                let mut pls = vec![
                    // RFC 7296 §1.3.3: the SPI we (the exchange initiator) expect inbound.
                    Pl::Notify {
                        protocol: Protocol::Esp.id(),
                        spi: spi_in.to_be_bytes().to_vec(),
                        ntype: NotifyType::REKEY_SA,
                        data: Vec::new(),
                    },
                    Pl::Sa(esp_offers(&esp, pfs, new_spi_in)),
                    Pl::Nonce(ni.clone()),
                ];
                if let Some(d) = &dh {
                    pls.push(Pl::Ke {
                        group: d.group().0,
                        data: d.public().to_vec(),
                    });
                }
                pls.push(Pl::TsI(local_ts));
                pls.push(Pl::TsR(remote_ts));
                debug!(tunnel = %self.tunnel, old = format_args!("{spi_in:08x}"), "rekeying CHILD SA");
                self.send_request(
                    now,
                    ExchangeType::CREATE_CHILD_SA,
                    &pls,
                    Pending::RekeyChild {
                        old_spi_in: spi_in,
                        new_spi_in,
                        ni,
                        dh,
                        esp,
                    },
                    out,
                    rng,
                )
            }
            Request::CreateChild => {
                let pfs = self.cfg.pfs_group.filter(|g| *g != DhId::NONE);
                let esp = self.cfg.esp_proposals.clone();
                let dh = pfs
                    .map(|g| DhPrivate::generate(g, rng))
                    .transpose()
                    .map_err(|e| Error::ApiMisuse(leak_err(e)))?;
                let ni = random_bytes(rng, NONCE_LEN);
                let new_spi_in = random_child_spi(rng);
                let mut pls = vec![
                    Pl::Sa(esp_offers(&esp, pfs, new_spi_in)),
                    Pl::Nonce(ni.clone()),
                ];
                if let Some(d) = &dh {
                    pls.push(Pl::Ke {
                        group: d.group().0,
                        data: d.public().to_vec(),
                    });
                }
                pls.push(Pl::TsI(self.cfg.local_ts.clone()));
                pls.push(Pl::TsR(self.cfg.remote_ts.clone()));
                debug!(tunnel = %self.tunnel, "creating a CHILD SA");
                self.send_request(
                    now,
                    ExchangeType::CREATE_CHILD_SA,
                    &pls,
                    Pending::CreateChild {
                        new_spi_in,
                        ni,
                        dh,
                        esp,
                    },
                    out,
                    rng,
                )
            }
            Request::RekeyIke => {
                let Some(proposal) = self.proposal else {
                    return Ok(());
                };
                let mut props = self.cfg.ike_proposals.clone();
                props.sort_by_key(|p| *p != proposal);
                let dh = DhPrivate::generate(proposal.dh, rng)
                    .map_err(|e| Error::ApiMisuse(leak_err(e)))?;
                let ni = random_bytes(rng, NONCE_LEN);
                let new_spi_i = random_spi(rng);
                let pls = [
                    Pl::Sa(ike_offers(&props, &new_spi_i.to_be_bytes())),
                    Pl::Nonce(ni.clone()),
                    Pl::Ke {
                        group: proposal.dh.0,
                        data: dh.public().to_vec(),
                    },
                ];
                debug!(tunnel = %self.tunnel, "rekeying IKE SA");
                self.send_request(
                    now,
                    ExchangeType::CREATE_CHILD_SA,
                    &pls,
                    Pending::RekeyIke { new_spi_i, ni, dh },
                    out,
                    rng,
                )
            }
        }
    }

    fn header(&self, exchange: ExchangeType, response: bool, msg_id: u32) -> Header {
        Header::new(
            IkeSpi(self.spi_i),
            IkeSpi(self.spi_r),
            exchange,
            Flags::new(self.role == Role::Initiator, response),
            msg_id,
        )
    }

    fn send_request(
        &mut self,
        now: Instant,
        exchange: ExchangeType,
        pls: &[Pl],
        pending: Pending,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let msg_id = self.next_request_id;
        let header = self.header(exchange, false, msg_id);
        let (first, inner) = encode_inner(pls)?;
        let bytes = self.protect_own(&header, first, &inner, rng)?;
        self.next_request_id = msg_id.wrapping_add(1);
        self.start_request(now, msg_id, bytes, pending, out);
        Ok(())
    }

    fn start_request(
        &mut self,
        now: Instant,
        msg_id: u32,
        bytes: Vec<Vec<u8>>,
        pending: Pending,
        out: &mut Output,
    ) {
        self.transmit_all(bytes.clone(), out);
        self.outstanding = Some(Outstanding {
            msg_id,
            bytes,
            retransmits: 0,
            pending,
        });
        self.timers
            .set_after(Timer::Retransmit, now, self.cfg.retransmit.initial);
    }

    fn respond(
        &mut self,
        exchange: ExchangeType,
        msg_id: u32,
        pls: &[Pl],
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let header = self.header(exchange, true, msg_id);
        let (first, inner) = encode_inner(pls)?;
        let bytes = self.protect_own(&header, first, &inner, rng)?;
        self.last_response = Some((msg_id, bytes.clone()));
        self.transmit_all(bytes, out);
        Ok(())
    }

    /// [`protect`] with this SA's own keys.
    fn protect_own(
        &mut self,
        header: &Header,
        first: PayloadType,
        inner: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let from_i = self.role == Role::Initiator;
        let frag = self.fragment_size(header.exchange);
        let Some(keys) = self.keys_mut() else {
            return Err(Error::ApiMisuse("protected message before keys exist"));
        };
        Ok(protect(keys, header, first, inner, from_i, frag, rng))
    }

    /// The IKE message size above which a message of this exchange is fragmented (RFC 7383:
    /// we fragment IKE_AUTH when both sides announced support), the non-ESP marker on port
    /// 4500 deducted.
    fn fragment_size(&self, exchange: ExchangeType) -> Option<usize> {
        let size = self.cfg.ike_fragment_size;
        let marker = if self.natt { 4 } else { 0 };
        (self.fragmentation && exchange == ExchangeType::IKE_AUTH && size > 0)
            .then(|| size.saturating_sub(marker))
    }

    fn transmit_all(&self, datagrams: Vec<Vec<u8>>, out: &mut Output) {
        for d in datagrams {
            self.transmit(d, out);
        }
    }

    /// Queues a datagram, adding the non-ESP marker on the NAT-T port (RFC 3948 §2.2).
    fn transmit(&self, bytes: Vec<u8>, out: &mut Output) {
        let bytes = if self.natt {
            let mut v = Vec::with_capacity(bytes.len() + 4);
            v.extend_from_slice(&[0; 4]);
            v.extend_from_slice(&bytes);
            v
        } else {
            bytes
        };
        out.transmits.push_back(Transmit {
            local: self.local,
            remote: self.remote,
            bytes,
        });
    }

    // ---------------------------------------------------------------- responses to our requests

    /// A response to `outstanding` or to the `side` DELETE. The side one is handled as if it were
    /// the outstanding request (the other waits meanwhile, so nothing new is sent); whichever
    /// completes first, the other then is the outstanding request, with the usual retransmission.
    fn on_any_response(
        &mut self,
        now: Instant,
        msg: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let to_side = self.side.as_ref().is_some_and(|s| s.msg_id == msg.msg_id);
        if to_side {
            std::mem::swap(&mut self.outstanding, &mut self.side);
        }
        let res = self.on_response(now, msg, out, rng);
        if to_side
            && matches!(
                &self.side,
                Some(Outstanding {
                    pending: Pending::Dpd,
                    ..
                })
            )
        {
            // The peer answered the later request, so it has processed the earlier liveness
            // request (one request at a time on its side): done, even though that answer is lost
            // (the peer keeps only its last answer, so a retransmission would go unanswered).
            self.side = None;
        }
        if self.outstanding.is_none() {
            if let Some(o) = self.side.take() {
                self.outstanding = Some(o);
                self.timers
                    .set_after(Timer::Retransmit, now, self.cfg.retransmit.initial);
            }
        }
        self.pump_with_rng(now, out, rng);
        res
    }

    /// Deletes the CHILD SAs now (issue 6 steering), even while a liveness request of ours is
    /// unanswered. Failover suspects exactly that situation: when only the path *toward* us fails,
    /// the peer has received and answered our last request, the answer is lost, and a DELETE
    /// queued behind it would never leave. So the first CHILD SA's DELETE goes out at once with
    /// the next message id, beside the outstanding liveness request (RFC 7296 §2.3 asks for one
    /// request at a time when the peer's window is 1; the peer has in fact answered the one we
    /// still wait for, so for it this is the next request in its window; if it has not, it drops
    /// the early one and takes a retransmission after the outstanding one). Other requests wait
    /// for both. Any other outstanding request, or none: the DELETEs are queued as usual.
    pub fn delete_children_now(
        &mut self,
        now: Instant,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> usize {
        let spis: Vec<u32> = self
            .children
            .iter()
            .filter(|c| !c.rekeyed)
            .map(|c| c.info.spi_in)
            .collect();
        let probe_pending = matches!(
            &self.outstanding,
            Some(Outstanding {
                pending: Pending::Dpd,
                ..
            })
        );
        let mut rest = spis.as_slice();
        if let (true, None, Some((first, others))) = (probe_pending, &self.side, spis.split_first())
        {
            match self.send_side_delete(*first, out, rng) {
                Ok(()) => rest = others,
                Err(e) => {
                    warn!(tunnel = %self.tunnel, error = %e, "could not send the CHILD SA DELETE")
                }
            }
        }
        for spi_in in rest {
            self.queue(now, Request::DeleteChild { spi_in: *spi_in }, out, rng);
        }
        spis.len()
    }

    fn send_side_delete(
        &mut self,
        spi_in: u32,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let pls = [Pl::Delete {
            protocol: Protocol::Esp.id(),
            spis: vec![spi_in],
        }];
        let msg_id = self.next_request_id;
        let header = self.header(ExchangeType::INFORMATIONAL, false, msg_id);
        let (first, inner) = encode_inner(&pls)?;
        let bytes = self.protect_own(&header, first, &inner, rng)?;
        self.next_request_id = msg_id.wrapping_add(1);
        debug!(tunnel = %self.tunnel, msg_id, spi = format_args!("{spi_in:08x}"), "CHILD SA DELETE sent beside the unanswered liveness request");
        self.transmit_all(bytes.clone(), out);
        self.side = Some(Outstanding {
            msg_id,
            bytes,
            retransmits: 0,
            pending: Pending::DeleteChild { spi_in },
        });
        Ok(())
    }

    fn on_response(
        &mut self,
        now: Instant,
        msg: &Msg,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let Some(o) = self.outstanding.take() else {
            return Ok(());
        };
        self.timers.stop(Timer::Retransmit);
        if std::mem::take(&mut self.probe_waiting) {
            out.events.push_back(Event::ProbeAnswered {
                tunnel: self.tunnel,
            });
        }
        match o.pending {
            Pending::Dpd => debug!(tunnel = %self.tunnel, "peer answered the liveness check"),
            Pending::DeleteIke => {
                self.close(now, DownReason::LocalDelete, out);
                return Ok(());
            }
            Pending::DeleteChild { spi_in } => {
                if let Some(pos) = self.children.iter().position(|c| c.info.spi_in == spi_in) {
                    let c = self.children.remove(pos);
                    out.events.push_back(Event::ChildDeleted {
                        tunnel: self.tunnel,
                        spi_in: c.info.spi_in,
                        spi_out: c.info.spi_out,
                    });
                }
                self.arm_child_rekey();
            }
            Pending::RekeyChild {
                old_spi_in,
                new_spi_in,
                ni,
                dh,
                esp,
            } => {
                self.on_rekey_child_response(now, msg, old_spi_in, new_spi_in, &ni, dh, &esp, out)?
            }
            Pending::RekeyIke { new_spi_i, ni, dh } => {
                self.on_rekey_ike_response(now, msg, new_spi_i, &ni, dh, out)?
            }
            Pending::CreateChild {
                new_spi_in,
                ni,
                dh,
                esp,
            } => self.on_create_child_response(now, msg, new_spi_in, &ni, dh, &esp, out)?,
            Pending::SaInit | Pending::Auth => {
                return Err(Error::PeerMisbehaved(
                    "handshake response after establishment".into(),
                ));
            }
        }
        self.pump_with_rng(now, out, rng);
        Ok(())
    }

    /// Our CREATE_CHILD_SA for a new CHILD SA was answered (RFC 7296 §1.3.1).
    #[allow(clippy::too_many_arguments)]
    fn on_create_child_response(
        &mut self,
        now: Instant,
        msg: &Msg,
        new_spi_in: u32,
        ni: &[u8],
        dh: Option<DhPrivate>,
        esp: &[EspProposal],
        out: &mut Output,
    ) -> Result<(), Error> {
        let pfs = self.cfg.pfs_group.filter(|g| *g != DhId::NONE);
        let result = (|| {
            // An error notify (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE …) comes without nonce or KE;
            // `complete_child` reports it.
            let refused = msg.error_notify().is_some();
            let nr = match msg.nonce() {
                Some(n) => n.to_vec(),
                None if refused => Vec::new(),
                None => {
                    return Err(NegotiationError::Protocol(
                        "CREATE_CHILD_SA response without nonce".into(),
                    ));
                }
            };
            let g_ir = match (&dh, msg.ke()) {
                (Some(d), Some((g, ke))) if DhId(g) == d.group() => Some(
                    d.agree(ke)
                        .map_err(|e| NegotiationError::Protocol(format!("KE rejected: {e}")))?,
                ),
                (Some(_), _) if !refused => {
                    return Err(NegotiationError::Protocol(
                        "CREATE_CHILD_SA response without matching KE".into(),
                    ));
                }
                _ => None,
            };
            let keys = self.keys().ok_or_else(|| {
                NegotiationError::Protocol("CHILD SA response before keys exist".into())
            })?;
            self.complete_child(
                now,
                keys,
                msg,
                DhRule::Pfs(pfs),
                g_ir.as_ref().map(|s| s.as_bytes()),
                new_spi_in,
                esp,
                ni,
                &nr,
            )
        })();
        match result {
            Ok(info) => self.add_child(now, info, out),
            Err(e) => {
                warn!(tunnel = %self.tunnel, error = %e, "new CHILD SA refused");
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: self.tunnel,
                    error: e,
                });
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn on_rekey_child_response(
        &mut self,
        now: Instant,
        msg: &Msg,
        old_spi_in: u32,
        new_spi_in: u32,
        ni: &[u8],
        dh: Option<DhPrivate>,
        esp: &[EspProposal],
        out: &mut Output,
    ) -> Result<(), Error> {
        let Some(old_idx) = self
            .children
            .iter()
            .position(|c| c.info.spi_in == old_spi_in)
        else {
            return Ok(());
        };
        if msg.has_notify(NotifyType::TEMPORARY_FAILURE)
            || msg.has_notify(NotifyType::CHILD_SA_NOT_FOUND)
        {
            // The peer is rekeying or deleting it itself (RFC 7296 §2.25); its exchange wins.
            debug!(tunnel = %self.tunnel, "peer refused our CHILD SA rekey (collision); keeping its result");
            if let Some((_, _)) = self.children[old_idx].peer_rekey.take() {
                self.children[old_idx].rekeyed = true;
            } else {
                self.timers
                    .set_after(Timer::RekeyChild, now, Duration::from_secs(2));
            }
            return Ok(());
        }
        let nr = msg
            .nonce()
            .ok_or_else(|| Error::PeerMisbehaved("CREATE_CHILD_SA response without nonce".into()))?
            .to_vec();
        let pfs = self.cfg.pfs_group.filter(|g| *g != DhId::NONE);
        let g_ir = match (&dh, msg.ke()) {
            (Some(d), Some((g, ke))) if DhId(g) == d.group() => Some(
                d.agree(ke)
                    .map_err(|e| Error::PeerMisbehaved(format!("KE rejected: {e}")))?,
            ),
            (Some(_), _) => {
                return Err(Error::PeerMisbehaved(
                    "CREATE_CHILD_SA response without matching KE".into(),
                ));
            }
            (None, _) => None,
        };
        let Some(keys) = self.keys() else {
            return Ok(());
        };
        let info = match self.complete_child(
            now,
            keys,
            msg,
            DhRule::Pfs(pfs),
            g_ir.as_ref().map(|s| s.as_bytes()),
            new_spi_in,
            esp,
            ni,
            &nr,
        ) {
            Ok(i) => i,
            Err(e) => {
                warn!(tunnel = %self.tunnel, error = %e, "CHILD SA rekey failed");
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: self.tunnel,
                    error: e,
                });
                return Ok(());
            }
        };
        let old = &mut self.children[old_idx];
        let (old_in, old_out) = (old.info.spi_in, old.info.spi_out);
        let collision = old.peer_rekey.take();
        old.rekeyed = true;
        out.events.push_back(Event::ChildRekeyed {
            tunnel: self.tunnel,
            old_spi_in: old_in,
            old_spi_out: old_out,
            new: info.clone(),
        });
        let new_in = info.spi_in;
        self.children.push(Child {
            info,
            established: now,
            rekeyed: false,
            peer_rekey: None,
        });
        match collision {
            Some((_, peer_min)) if lower(ni, &nr) < peer_min.as_slice() => {
                // RFC 7296 §2.8.1: our exchange holds the lowest nonce, so our new SA is redundant;
                // the peer (the winner) deletes the old one.
                info!(tunnel = %self.tunnel, "CHILD SA rekey collision: ours loses, deleting our redundant SA");
                self.queued
                    .push_back(Request::DeleteChild { spi_in: new_in });
            }
            Some(_) => {
                info!(tunnel = %self.tunnel, "CHILD SA rekey collision: ours wins");
                self.queued
                    .push_back(Request::DeleteChild { spi_in: old_in });
            }
            None => {
                info!(tunnel = %self.tunnel, old = format_args!("{old_in:08x}"), new = format_args!("{new_in:08x}"), "CHILD SA rekeyed");
                self.queued
                    .push_back(Request::DeleteChild { spi_in: old_in });
            }
        }
        self.arm_child_rekey();
        Ok(())
    }

    fn on_rekey_ike_response(
        &mut self,
        now: Instant,
        msg: &Msg,
        new_spi_i: u64,
        ni: &[u8],
        dh: DhPrivate,
        out: &mut Output,
    ) -> Result<(), Error> {
        if msg.has_notify(NotifyType::TEMPORARY_FAILURE)
            || msg.has_notify(NotifyType::NO_PROPOSAL_CHOSEN)
        {
            if let Some((theirs, _)) = self.peer_ike_rekey.take() {
                // The peer refused ours because its own rekey had already completed on its side
                // (RFC 7296 §2.25): the SA it created is the only new one; it deletes this SA.
                info!(tunnel = %self.tunnel, "IKE SA rekey collision: the peer's rekey stands");
                self.adopt(now, *theirs, out);
                return Ok(());
            }
            // Refusal: try again a little later (RFC 7296 §2.25). The two ends wait
            // differently long, so they cannot keep colliding.
            let wait = match self.role {
                Role::Initiator => Duration::from_secs(2),
                Role::Responder => Duration::from_secs(5),
            };
            debug!(tunnel = %self.tunnel, "IKE rekey refused; retrying in {wait:?}");
            if !self.replaced {
                self.timers.set_after(Timer::RekeyIke, now, wait);
            }
            return Ok(());
        }
        let offers = msg
            .sa()
            .ok_or_else(|| Error::PeerMisbehaved("IKE rekey response without SA".into()))?;
        let proposal = accepted_ike(&self.cfg.ike_proposals, offers)
            .ok_or_else(|| Error::PeerMisbehaved("IKE rekey: unexpected proposal".into()))?;
        let new_spi_r = offers
            .first()
            .and_then(|o| <[u8; 8]>::try_from(o.spi.as_slice()).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::PeerMisbehaved("IKE rekey: bad SPI".into()))?;
        let nr = msg
            .nonce()
            .ok_or_else(|| Error::PeerMisbehaved("IKE rekey response without nonce".into()))?
            .to_vec();
        let (g, ke) = msg
            .ke()
            .ok_or_else(|| Error::PeerMisbehaved("IKE rekey response without KE".into()))?;
        if DhId(g) != dh.group() || proposal.dh != dh.group() {
            return Err(Error::PeerMisbehaved("IKE rekey: KE group mismatch".into()));
        }
        let g_ir = dh
            .agree(ke)
            .map_err(|e| Error::PeerMisbehaved(format!("KE rejected: {e}")))?;
        let suite = IkeSuite::new(&proposal).map_err(|e| Error::PeerMisbehaved(e.to_string()))?;
        let Some(keys) = self.keys() else {
            return Ok(());
        };
        let new_keys =
            IkeKeys::rekeyed(keys, suite, ni, &nr, g_ir.as_bytes(), new_spi_i, new_spi_r)
                .map_err(|e| Error::PeerMisbehaved(e.to_string()))?;
        let Some(ours) = self.successor(
            now,
            Role::Initiator,
            new_spi_i,
            new_spi_r,
            new_keys,
            proposal,
        ) else {
            return Ok(());
        };
        if let Some((theirs, their_lowest)) = self.peer_ike_rekey.take() {
            // RFC 7296 §2.8.2: the new SA created with the lowest of the four nonces is
            // redundant and is deleted by the side that created it; the side that created the
            // surviving SA deletes the old one.
            if lower(ni, &nr) < their_lowest.as_slice() {
                info!(tunnel = %self.tunnel, "IKE SA rekey collision: ours is redundant, deleting it");
                self.adopt(now, *theirs, out);
                self.park_redundant(now, ours, true);
                return Ok(());
            }
            info!(tunnel = %self.tunnel, "IKE SA rekey collision: ours survives");
            self.park_redundant(now, *theirs, false);
        } else {
            info!(tunnel = %self.tunnel, new_spi = format_args!("{new_spi_i:016x}"), "IKE SA rekeyed");
        }
        self.adopt(now, ours, out);
        // We created the surviving SA: we delete the old SA (RFC 7296 §2.18, §2.8.2).
        self.queued.push_back(Request::DeleteIke);
        Ok(())
    }

    // ---------------------------------------------------------------- timers

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        while let Some(t) = self.timers.pop_expired(now) {
            debug!(tunnel = %self.tunnel, timer = t.name(), state = self.state.name(), "timer fired");
            match t {
                Timer::Retransmit => self.on_retransmit_timer(now, out),
                Timer::Dpd => {
                    if now.saturating_duration_since(self.last_heard) + Duration::from_millis(1)
                        >= self.cfg.dpd.map_or(Duration::MAX, |d| d.interval)
                    {
                        if let Some(d) = self.cfg.dpd {
                            if !self.timers.is_set(Timer::DpdTimeout) {
                                self.timers.set_after(Timer::DpdTimeout, now, d.timeout);
                            }
                        }
                        if self.outstanding.is_none() {
                            self.queue(now, Request::Dpd, out, rng);
                        }
                    } else {
                        self.arm_dpd(now);
                    }
                }
                Timer::DpdTimeout => {
                    let timeout_secs = self.cfg.dpd.map_or(0, |d| d.timeout.as_secs());
                    warn!(tunnel = %self.tunnel, peer = %self.remote, "peer dead: no reply within {timeout_secs} s");
                    out.events.push_back(Event::PeerDead {
                        tunnel: self.tunnel,
                    });
                    let e = NegotiationError::PeerDead {
                        peer: self.remote,
                        timeout_secs,
                    };
                    out.events.push_back(Event::NegotiationFailed {
                        tunnel: self.tunnel,
                        error: e.clone(),
                    });
                    self.close(now, DownReason::Failed(e), out);
                }
                Timer::RekeyIke => {
                    if self.is_established() && !self.replaced {
                        self.queue(now, Request::RekeyIke, out, rng);
                    }
                }
                Timer::RekeyChild => {
                    let due: Vec<u32> = self
                        .children
                        .iter()
                        .filter(|c| !c.rekeyed && c.rekey_at().is_some_and(|at| at <= now))
                        .map(|c| c.info.spi_in)
                        .collect();
                    for spi_in in due {
                        self.queue(now, Request::RekeyChild { spi_in }, out, rng);
                    }
                    self.arm_child_rekey_after(now);
                }
                Timer::HardExpire => {
                    if self.replaced {
                        debug!(tunnel = %self.tunnel, "old IKE SA removed after rekey");
                        self.state = State::Closed;
                    } else {
                        self.close(
                            now,
                            DownReason::Failed(NegotiationError::Protocol(
                                "IKE SA hard lifetime reached without a rekey".into(),
                            )),
                            out,
                        );
                    }
                }
                Timer::HalfOpenExpire => {
                    debug!(tunnel = %self.tunnel, "half-open IKE SA expired without IKE_AUTH");
                    self.state = State::Closed;
                }
                Timer::Reinitiate => {}
            }
        }
        self.pump_with_rng(now, out, rng);
    }

    fn arm_child_rekey_after(&mut self, now: Instant) {
        // Children whose rekey is queued or in flight are not re-armed until it completes.
        let next = self
            .children
            .iter()
            .filter(|c| !c.rekeyed)
            .filter_map(Child::rekey_at)
            .filter(|at| *at > now)
            .min();
        match next {
            Some(at) => self.timers.set(Timer::RekeyChild, at),
            None => self.timers.stop(Timer::RekeyChild),
        }
    }

    fn on_retransmit_timer(&mut self, now: Instant, out: &mut Output) {
        let rc = self.cfg.retransmit;
        let Some(o) = &mut self.outstanding else {
            return;
        };
        let established = matches!(self.state, State::Established(_));
        if established {
            // R-TUN-5: an unanswered request is a liveness question; the DPD timeout decides.
            if let Some(d) = self.cfg.dpd {
                if !self.timers.is_set(Timer::DpdTimeout) {
                    self.timers.set_after(Timer::DpdTimeout, now, d.timeout);
                }
            }
        }
        if o.retransmits >= rc.max_retransmits && !(established && self.cfg.dpd.is_some()) {
            let exchange = o.pending.exchange_name();
            let retransmits = o.retransmits;
            self.outstanding = None;
            if established {
                warn!(tunnel = %self.tunnel, exchange, "no response; peer considered dead");
                out.events.push_back(Event::PeerDead {
                    tunnel: self.tunnel,
                });
                let e = NegotiationError::PeerDead {
                    peer: self.remote,
                    timeout_secs: now.saturating_duration_since(self.last_heard).as_secs(),
                };
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: self.tunnel,
                    error: e.clone(),
                });
                self.close(now, DownReason::Failed(e), out);
            } else {
                let e = NegotiationError::NoResponse {
                    peer: self.remote,
                    retransmits,
                    exchange,
                };
                warn!(tunnel = %self.tunnel, error = %e, "negotiation failed");
                self.fail(now, e, out);
            }
            return;
        }
        let Some(o) = &mut self.outstanding else {
            return;
        };
        o.retransmits += 1;
        let wait = rc
            .initial
            .saturating_mul(rc.backoff.saturating_pow(o.retransmits))
            .min(rc.max_interval);
        debug!(tunnel = %self.tunnel, msg_id = o.msg_id, n = o.retransmits, "retransmitting {}", o.pending.exchange_name());
        let mut bytes = o.bytes.clone();
        if let Some(side) = &self.side {
            bytes.extend(side.bytes.iter().cloned());
        }
        self.transmit_all(bytes, out);
        self.timers.set_after(Timer::Retransmit, now, wait);
    }

    // ---------------------------------------------------------------- teardown

    /// Fails the negotiation (not yet established) with an explained error.
    pub fn fail(&mut self, now: Instant, e: NegotiationError, out: &mut Output) {
        out.events.push_back(Event::NegotiationFailed {
            tunnel: self.tunnel,
            error: e.clone(),
        });
        self.close(now, DownReason::Failed(e), out);
    }

    /// Closes the SA: CHILD SAs deleted, `IkeDown` emitted if it was up.
    pub fn close(&mut self, _now: Instant, reason: DownReason, out: &mut Output) {
        if self.is_closed() {
            return;
        }
        let was_up = self.is_established();
        self.close_children(out);
        self.state = State::Closed;
        self.timers.clear();
        self.outstanding = None;
        self.side = None;
        self.probe_waiting = false;
        self.queued.clear();
        if was_up && !self.replaced {
            info!(tunnel = %self.tunnel, ?reason, "IKE SA down");
            out.events.push_back(Event::IkeDown {
                tunnel: self.tunnel,
                reason,
            });
        }
    }

    fn close_children(&mut self, out: &mut Output) {
        for c in self.children.drain(..) {
            out.events.push_back(Event::ChildDeleted {
                tunnel: self.tunnel,
                spi_in: c.info.spi_in,
                spi_out: c.info.spi_out,
            });
        }
    }

    /// Handles an error raised while handling a message: pre-establishment negotiation errors
    /// fail the SA; everything else is logged and the message dropped.
    pub fn on_error(&mut self, now: Instant, e: Error, out: &mut Output) {
        match e {
            Error::PeerIncompatible(n) if !self.is_established() => {
                warn!(tunnel = %self.tunnel, error = %n, "negotiation failed");
                self.fail(now, n, out);
            }
            Error::PeerMisbehaved(m)
                if !self.is_established() && !matches!(self.state, State::ExpectAuthRequest(_)) =>
            {
                warn!(tunnel = %self.tunnel, error = %m, "negotiation failed: peer misbehaved");
                self.fail(now, NegotiationError::Protocol(m), out);
            }
            other => debug!(tunnel = %self.tunnel, error = %other, "message dropped"),
        }
    }
}

/// Verifies the peer's AUTH payload (shared key MIC, RFC 7296 §2.15) — the only maker of
/// [`AuthVerified`].
#[allow(clippy::too_many_arguments)]
fn verify_auth(
    keys: &IkeKeys,
    psk: &[u8],
    of_initiator: bool,
    real_message: &[u8],
    nonce: &[u8],
    id_type: u8,
    id_data: &[u8],
    msg: &Msg,
) -> Result<AuthVerified, ()> {
    let (method, data) = msg.auth().ok_or(())?;
    if method != 2 {
        return Err(());
    }
    let expected = keys.psk_auth(psk, of_initiator, real_message, nonce, id_type, id_data);
    if expected.ct_eq(data) {
        Ok(AuthVerified(()))
    } else {
        Err(())
    }
}

fn describe_id(id: Option<Identity>, id_type: u8, data: &[u8]) -> String {
    match id {
        Some(id) => id.to_string(),
        None => format!("(ID type {id_type}, {} bytes)", data.len()),
    }
}

fn esp_text(cfg: &TunnelConfig, rule: DhRule) -> String {
    match rule {
        DhRule::Ignore => cfg
            .esp_proposals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        DhRule::Pfs(_) => cfg.esp_proposals_text(),
    }
}

/// Soft lifetime: rekey at 90 % of the hard lifetime.
fn soft(hard: Duration) -> Duration {
    hard.mul_f64(0.9)
}

fn unsupported_group(_e: dualsec_crypto::CryptoError) -> &'static str {
    "DH group of the configuration is not supported"
}

fn leak_err(_e: dualsec_crypto::CryptoError) -> &'static str {
    "DH group of the configuration is not supported"
}

#[cfg(test)]
impl IkeSa {
    pub(crate) fn next_request_id_for_test(&self) -> u32 {
        self.next_request_id
    }

    pub(crate) fn bump_request_id_for_test(&mut self) {
        self.next_request_id = self.next_request_id.wrapping_add(1);
    }

    /// A request with the given inner payload bytes, protected with this SA's keys.
    pub(crate) fn seal_request_for_test(
        &mut self,
        exchange: ExchangeType,
        first: super::wire::PayloadType,
        inner: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Vec<u8> {
        let header = self.header(exchange, false, self.next_request_id);
        let from_i = self.role == Role::Initiator;
        let keys = self.keys_mut().expect("keys");
        keys.seal(&header, first, inner, from_i, rng)
    }

    /// A response (message id `msg_id`) with the given inner payload bytes.
    pub(crate) fn seal_response_for_test(
        &mut self,
        msg_id: u32,
        first: super::wire::PayloadType,
        inner: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Vec<u8> {
        let header = self.header(ExchangeType::INFORMATIONAL, true, msg_id);
        let from_i = self.role == Role::Initiator;
        let keys = self.keys_mut().expect("keys");
        keys.seal(&header, first, inner, from_i, rng)
    }

    /// Opens a message from the peer and decodes its inner payloads.
    pub(crate) fn open_for_test(&self, data: &[u8]) -> Result<Vec<Pl>, DecodeError> {
        let keys = self.keys().expect("keys");
        let from_i = self.role != Role::Initiator;
        let (first, inner) = keys.open(data, from_i).expect("authentic");
        decode_inner(first, &inner)
    }
}
