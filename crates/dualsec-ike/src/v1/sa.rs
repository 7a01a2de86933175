//! One ISAKMP SA (phase 1, RFC 2409 §5 main mode / §5.4 aggressive mode, PSK) and its quick-mode
//! exchanges (§5.5), informational exchanges (§5.7: DELETE, DPD RFC 3706, INITIAL-CONTACT).
//!
//! Phase-1 states are named for the message they wait for ([`P1State`]). Encryption follows
//! RFC 2409 Appendix B: the phase-1 IV is `hash(g^xi | g^xr)`, each later phase-1 message
//! chains on the last ciphertext block of the previous one; every quick-mode or informational
//! exchange starts from `hash(last phase-1 block | M-ID)` and chains within the exchange.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dualsec_crypto::ikev1 as kdf;
use dualsec_crypto::{
    CbcKey, Cipher, CipherKey, DhGroup, DhId, DhPrivate, HashAlg, Integ, Prf, Secret,
};
use rand_core::CryptoRngCore;
use tracing::{debug, info, warn};
use zeroize::Zeroizing;

use super::endpoint::{InboundFirst, Mode, OUTBOUND_SWITCH_DELAY, Options, Output};
use super::proposal::{
    EspChoice, esp_text, ike_text, phase1_sa, phase1_text, phase2_sa, phase2_text, select_phase1,
    select_phase2,
};
use super::wire::payload::encode_chain;
use super::wire::{
    Body, Cookie, Delete, EncapsulationMode, ExchangeType, Flags, HEADER_LEN, Header, IdType,
    Identification, Message, Notify, NotifyType, Payload, PayloadType, ProtocolId, Sa,
    decode_decrypted, decode_with_spans, encode_for_encryption,
};
use crate::v2::config::{Identity, IkeProposal, TrafficSelector, TunnelConfig};
use crate::v2::endpoint::{Ports, Transmit};
use crate::v2::error::{Error, NegotiationError, SaKind};
use crate::v2::event::{ChildSaInfo, DownReason, EspKeys, Event, TunnelId};
use crate::v2::timer::{Timer, TimerTable};
use crate::v2::wire::NON_ESP_MARKER;

/// RFC 3706 §3 DPD vendor ID.
pub(crate) const VID_DPD: [u8; 16] = [
    0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00,
];

/// RFC 3947 §3.1 NAT-T vendor ID (MD5 of "RFC 3947").
pub(crate) const VID_NATT: [u8; 16] = [
    0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f,
];

const NONCE_LEN: usize = 32;
/// How long after our outbound switch to a rekeyed CHILD SA the old one is deleted: our last
/// packets on it may still wait in the peer's queues (strongSwan handles IKE and ESP on different
/// threads, so a DELETE can overtake ESP sent before it).
const OLD_SA_DELETE_DELAY: Duration = Duration::from_secs(1);
/// A responder's half-open ISAKMP SA is dropped after this long.
const HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Phase-1 keys once g^xy is known.
struct Keys {
    prf: Prf,
    hash: HashAlg,
    cipher: Cipher,
    key: CbcKey,
    skeyid: Secret,
    skeyid_d: Secret,
    skeyid_a: Secret,
    /// The last ciphertext block of phase 1 (the IV of the next phase-1 message; the base of
    /// phase-2 IVs once established).
    p1_iv: Vec<u8>,
}

/// Material of the phase-1 negotiation kept for HASH_I/HASH_R.
struct P1Ctx {
    sai_b: Vec<u8>,
    g_xi: Vec<u8>,
    g_xr: Vec<u8>,
    keys: Keys,
}

/// Whose phase-1 HASH a message carries (RFC 2409 §5): HASH_I from the initiator, HASH_R from
/// the responder.
#[derive(Debug, Clone, Copy)]
enum PeerHash {
    I,
    R,
}

/// What the phase-1 exchange waits for.
enum P1State {
    /// Main mode initiator sent MM1 (SA).
    ExpectMm2 {
        sai_b: Vec<u8>,
    },
    /// Sent MM3 (KE, Ni).
    ExpectMm4 {
        sai_b: Vec<u8>,
        chosen: IkeProposal,
        dh: DhPrivate,
        ni: Vec<u8>,
    },
    /// Sent MM5 (IDii, HASH_I).
    ExpectMm6 {
        ctx: Box<P1Ctx>,
    },
    /// Main mode responder sent MM2.
    ExpectMm3 {
        sai_b: Vec<u8>,
        chosen: IkeProposal,
    },
    /// Sent MM4.
    ExpectMm5 {
        ctx: Box<P1Ctx>,
    },
    /// Aggressive initiator sent AM1 (SA, KE, Ni, IDii).
    ExpectAm2 {
        sai_b: Vec<u8>,
        dh: DhPrivate,
        ni: Vec<u8>,
        idii_b: Vec<u8>,
    },
    /// Aggressive responder sent AM2.
    ExpectAm3 {
        ctx: Box<P1Ctx>,
        idii_b: Vec<u8>,
    },
    Established,
    Closed,
}

/// A quick-mode exchange in flight.
enum QmState {
    /// Initiator sent QM1.
    ExpectQm2 {
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        spi_in: u32,
        id_ci: Identification,
        id_cr: Identification,
        rekey_of: Option<(u32, u32)>,
    },
    /// Responder sent QM2; installs on QM3. QM3 has no answer, so a lost one is recovered by
    /// resending QM2 (the initiator answers a duplicate QM2 with QM3 again).
    ExpectQm3 {
        child: Box<ChildSaInfo>,
        ni: Vec<u8>,
        nr: Vec<u8>,
        resend: Box<Resend>,
    },
}

struct Quick {
    iv: Vec<u8>,
    state: QmState,
}

/// Our QM2, resent until QM3 arrives.
struct Resend {
    bytes: Vec<u8>,
    at: Instant,
    interval: Duration,
    count: u32,
}

/// An established CHILD SA (pair of ESP SAs).
pub(crate) struct Child {
    pub info: ChildSaInfo,
    pub rekey_at: Option<Instant>,
    pub expire_at: Option<Instant>,
    /// Replaced by a newer SA; kept until deleted.
    pub rekeyed: bool,
    /// Withdrawn by [`Isakmp::withdraw_children`] (failover steering, issue 6): its DELETE went
    /// out, it stays installed (traffic still arriving on it is received) and is never rekeyed,
    /// until an R-U-THERE-ACK with a sequence number after this one (the last R-U-THERE sent
    /// before the DELETE) shows the peer hears us again.
    pub withdrawn: Option<u32>,
}

/// A rekey we initiated whose QM3 is sent: the new inbound SA is installed, the outbound switch
/// (and the DELETE of the old SA) waits until the responder, which installs on QM3, is ready.
struct Switch {
    at: Instant,
    /// When QM3 was sent: the new CHILD SA's lifetimes count from here.
    negotiated_at: Instant,
    info: ChildSaInfo,
    /// (spi_in, spi_out) of the CHILD SA it replaces.
    rekey_of: (u32, u32),
}

/// What an ISAKMP SA hands to the one that replaces it.
pub(crate) struct Moved {
    children: Vec<Child>,
    old_deletes: Vec<(Instant, u32)>,
}

/// Our outstanding message that waits for an answer.
struct Pending {
    bytes: Vec<u8>,
    /// When to retransmit.
    due: Instant,
    exchange: &'static str,
    retransmits: u32,
    interval: Duration,
}

/// Requests queued on an established SA.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Request {
    /// A new CHILD SA; `rekey_of` = (spi_in, spi_out) of the one it replaces.
    Quick {
        rekey_of: Option<(u32, u32)>,
    },
    DeleteIsakmp,
}

pub(crate) struct Isakmp {
    pub tunnel: TunnelId,
    pub cfg: Arc<TunnelConfig>,
    opts: Options,
    ports: Ports,
    pub initiator: bool,
    pub cky_i: Cookie,
    pub cky_r: Cookie,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    state: P1State,
    keys: Option<Keys>,
    chosen: Option<IkeProposal>,
    pub timers: TimerTable,
    pending: Option<Pending>,
    /// Digest of the last datagram we answered and the answer, to answer duplicates
    /// (RFC 2408 §5: IKEv1 retransmits on duplicate receipt).
    last_in: Option<(Vec<u8>, Vec<u8>)>,
    quick: BTreeMap<u32, Quick>,
    pub children: Vec<Child>,
    /// Our rekeys waiting to switch outbound ([`OUTBOUND_SWITCH_DELAY`]).
    switches: Vec<Switch>,
    /// Inbound SPIs of CHILD SAs we rekeyed, to DELETE at the instant
    /// ([`OLD_SA_DELETE_DELAY`] after the switch).
    old_deletes: Vec<(Instant, u32)>,
    queue: Vec<Request>,
    pub established_at: Option<Instant>,
    send_initial_contact: bool,
    /// The peer sent INITIAL-CONTACT: the endpoint removes the tunnel's other SAs.
    pub peer_initial_contact: bool,
    dpd_seq: u32,
    dpd_outstanding: bool,
    peer_dpd: bool,
    /// The peer announced RFC 3947 NAT-T.
    peer_natt: bool,
    /// NAT-D showed a NAT on the path: IKE and ESP move to UDP 4500 (RFC 3947 §4, RFC 3948).
    nat_detected: bool,
    /// Set when the endpoint should adopt children of another SA of the tunnel (phase-1 rekey).
    pub replaces: Option<u64>,
    /// The peer deleted this ISAKMP SA; the endpoint moves its CHILD SAs to a newer one or
    /// closes it.
    pub peer_deleted: bool,
    ike_expire_at: Option<Instant>,
    /// The SA asked the endpoint for a phase-1 rekey.
    pub wants_rekey: bool,
}

fn rand_bytes(rng: &mut dyn CryptoRngCore, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn rand_nonzero_u32(rng: &mut dyn CryptoRngCore) -> u32 {
    loop {
        let v = rng.next_u32();
        if v > 255 {
            return v;
        }
    }
}

pub(crate) fn new_cookie(rng: &mut dyn CryptoRngCore) -> Cookie {
    loop {
        let v = rng.next_u64();
        if v != 0 {
            return Cookie(v);
        }
    }
}

fn digest(data: &[u8]) -> Vec<u8> {
    HashAlg::Sha256.digest(&[data]).as_ref().to_vec()
}

fn proto(msg: impl Into<String>) -> Error {
    Error::PeerMisbehaved(msg.into())
}

fn identity_of(id: &Identity) -> Identification {
    Identification::new(IdType(id.id_type()), id.data())
}

fn id_text(id: &Identification) -> String {
    match Identity::from_wire(id.ty.0, &id.data) {
        Some(i) => i.to_string(),
        None => format!("(ID type {} {:02x?})", id.ty.0, id.data),
    }
}

/// A selector as a quick-mode client ID (RFC 2409 §5.5): a subnet when it is one, else a range.
pub(crate) fn ts_to_id(ts: &TrafficSelector) -> Identification {
    let mut id = match (ts.start_addr, ts.end_addr) {
        (std::net::IpAddr::V4(s), std::net::IpAddr::V4(e)) => {
            let (s, e) = (u32::from(s), u32::from(e));
            let host = s ^ e;
            if s == e {
                Identification::new(IdType::ID_IPV4_ADDR, s.to_be_bytes().to_vec())
            } else if host.wrapping_add(1) & host == 0 && s & host == 0 {
                let mut d = s.to_be_bytes().to_vec();
                d.extend_from_slice(&(!host).to_be_bytes());
                Identification::new(IdType::ID_IPV4_ADDR_SUBNET, d)
            } else {
                let mut d = s.to_be_bytes().to_vec();
                d.extend_from_slice(&e.to_be_bytes());
                Identification::new(IdType::ID_IPV4_ADDR_RANGE, d)
            }
        }
        (std::net::IpAddr::V6(s), std::net::IpAddr::V6(e)) => {
            let (s, e) = (u128::from(s), u128::from(e));
            let host = s ^ e;
            if s == e {
                Identification::new(IdType::ID_IPV6_ADDR, s.to_be_bytes().to_vec())
            } else if host.wrapping_add(1) & host == 0 && s & host == 0 {
                let mut d = s.to_be_bytes().to_vec();
                d.extend_from_slice(&(!host).to_be_bytes());
                Identification::new(IdType::ID_IPV6_ADDR_SUBNET, d)
            } else {
                let mut d = s.to_be_bytes().to_vec();
                d.extend_from_slice(&e.to_be_bytes());
                Identification::new(IdType::ID_IPV6_ADDR_RANGE, d)
            }
        }
        _ => Identification::new(IdType::ID_IPV4_ADDR, vec![0, 0, 0, 0]),
    };
    id.protocol = ts.ip_protocol;
    if ts.start_port == ts.end_port {
        id.port = ts.start_port;
    }
    id
}

/// A quick-mode client ID as a selector.
pub(crate) fn id_to_ts(id: &Identification) -> Option<TrafficSelector> {
    let (start_addr, end_addr) = match id.ty {
        IdType::ID_IPV4_ADDR | IdType::ID_IPV6_ADDR => {
            let a = id.ip_addr()?;
            (a, a)
        }
        IdType::ID_IPV4_ADDR_SUBNET => {
            let (a, m) = id.addr_pair()?;
            let (std::net::IpAddr::V4(a), std::net::IpAddr::V4(m)) = (a, m) else {
                return None;
            };
            let (a, m) = (u32::from(a), u32::from(m));
            (
                std::net::Ipv4Addr::from(a & m).into(),
                std::net::Ipv4Addr::from(a | !m).into(),
            )
        }
        IdType::ID_IPV6_ADDR_SUBNET => {
            let (a, m) = id.addr_pair()?;
            let (std::net::IpAddr::V6(a), std::net::IpAddr::V6(m)) = (a, m) else {
                return None;
            };
            let (a, m) = (u128::from(a), u128::from(m));
            (
                std::net::Ipv6Addr::from(a & m).into(),
                std::net::Ipv6Addr::from(a | !m).into(),
            )
        }
        IdType::ID_IPV4_ADDR_RANGE | IdType::ID_IPV6_ADDR_RANGE => id.addr_pair()?,
        _ => return None,
    };
    let (start_port, end_port) = if id.port == 0 {
        (0, u16::MAX)
    } else {
        (id.port, id.port)
    };
    Some(TrafficSelector {
        ip_protocol: id.protocol,
        start_port,
        end_port,
        start_addr,
        end_addr,
    })
}

impl Isakmp {
    #[allow(clippy::too_many_arguments)]
    fn blank(
        now: Instant,
        tunnel: TunnelId,
        cfg: Arc<TunnelConfig>,
        opts: Options,
        ports: Ports,
        initiator: bool,
        cky_i: Cookie,
        cky_r: Cookie,
        local: SocketAddr,
        remote: SocketAddr,
        state: P1State,
    ) -> Isakmp {
        let mut timers = TimerTable::default();
        if !initiator {
            timers.set_after(Timer::HalfOpenExpire, now, HALF_OPEN_TIMEOUT);
        }
        Isakmp {
            tunnel,
            cfg,
            opts,
            ports,
            initiator,
            cky_i,
            cky_r,
            local,
            remote,
            state,
            keys: None,
            chosen: None,
            timers,
            pending: None,
            last_in: None,
            quick: BTreeMap::new(),
            children: Vec::new(),
            switches: Vec::new(),
            old_deletes: Vec::new(),
            queue: Vec::new(),
            established_at: None,
            send_initial_contact: false,
            peer_initial_contact: false,
            dpd_seq: 0,
            dpd_outstanding: false,
            peer_dpd: false,
            peer_natt: false,
            nat_detected: false,
            replaces: None,
            peer_deleted: false,
            ike_expire_at: None,
            wants_rekey: false,
        }
    }

    /// Our cookie: the key the endpoint files us under.
    pub fn local_cookie(&self) -> u64 {
        if self.initiator {
            self.cky_i.0
        } else {
            self.cky_r.0
        }
    }

    pub fn is_established(&self) -> bool {
        matches!(self.state, P1State::Established)
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, P1State::Closed)
    }

    pub fn is_half_open(&self) -> bool {
        !self.initiator && !self.is_established() && !self.is_closed()
    }

    fn cookies(&self) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[..8].copy_from_slice(&self.cky_i.0.to_be_bytes());
        c[8..].copy_from_slice(&self.cky_r.0.to_be_bytes());
        c
    }

    fn p1_exchange(&self) -> ExchangeType {
        match self.opts.mode {
            Mode::Main => ExchangeType::IDENTITY_PROTECTION,
            Mode::Aggressive => ExchangeType::AGGRESSIVE,
        }
    }

    fn header(&self, ex: ExchangeType, msg_id: u32) -> Header {
        Header::new(self.cky_i, self.cky_r, ex, Flags(0), msg_id)
    }

    fn uses_natt_port(&self) -> bool {
        self.local.port() == self.ports.natt
    }

    fn send(&self, bytes: &[u8], out: &mut Output) {
        let mut b = Vec::with_capacity(bytes.len() + 4);
        if self.uses_natt_port() {
            b.extend_from_slice(&NON_ESP_MARKER);
        }
        b.extend_from_slice(bytes);
        out.transmits.push_back(Transmit {
            local: self.local,
            remote: self.remote,
            bytes: b,
        });
    }

    /// Sends a message that waits for an answer, arming the retransmission timer.
    fn send_request(
        &mut self,
        now: Instant,
        bytes: Vec<u8>,
        exchange: &'static str,
        out: &mut Output,
    ) {
        self.send(&bytes, out);
        let interval = self.cfg.retransmit.initial;
        self.pending = Some(Pending {
            bytes,
            due: now + interval,
            exchange,
            retransmits: 0,
            interval,
        });
        self.arm_retransmit();
    }

    /// The retransmission timer: our outstanding request, and our QM2s waiting for QM3.
    fn arm_retransmit(&mut self) {
        let qm2 = self.quick.values().filter_map(|q| match &q.state {
            QmState::ExpectQm3 { resend, .. } => Some(resend.at),
            QmState::ExpectQm2 { .. } => None,
        });
        match self
            .pending
            .as_ref()
            .map(|p| p.due)
            .into_iter()
            .chain(qm2)
            .min()
        {
            Some(t) => self.timers.set(Timer::Retransmit, t),
            None => self.timers.stop(Timer::Retransmit),
        }
    }

    /// Resends the QM2s whose QM3 is overdue; gives up on one after the retransmission limit
    /// (its inbound SA, handed out with QM2, is withdrawn).
    fn resend_qm2(&mut self, now: Instant, out: &mut Output) {
        let rc = self.cfg.retransmit;
        let due: Vec<u32> = self
            .quick
            .iter()
            .filter(
                |(_, q)| matches!(&q.state, QmState::ExpectQm3 { resend, .. } if resend.at <= now),
            )
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let give_up = matches!(
                self.quick.get(&id).map(|q| &q.state),
                Some(QmState::ExpectQm3 { resend, .. }) if resend.count >= rc.max_retransmits
            );
            if give_up {
                if let Some(Quick {
                    state: QmState::ExpectQm3 { child, resend, .. },
                    ..
                }) = self.quick.remove(&id)
                {
                    out.events.push_back(Event::ChildDeleted {
                        tunnel: self.tunnel,
                        spi_in: child.spi_in,
                        spi_out: child.spi_out,
                    });
                    self.child_failed(
                        NegotiationError::NoResponse {
                            peer: self.remote,
                            retransmits: resend.count,
                            exchange: "Quick Mode QM2 (no QM3 came back)",
                        },
                        out,
                    );
                }
                continue;
            }
            let Some(Quick {
                state: QmState::ExpectQm3 { resend, .. },
                ..
            }) = self.quick.get_mut(&id)
            else {
                continue;
            };
            resend.count += 1;
            resend.interval = resend
                .interval
                .saturating_mul(rc.backoff.max(1))
                .min(rc.max_interval);
            resend.at = now + resend.interval;
            let bytes = resend.bytes.clone();
            debug!(tunnel = %self.tunnel, msg_id = format_args!("{id:08x}"), n = resend.count,
                "no QM3: resending QM2");
            self.send(&bytes, out);
        }
    }

    /// Sends an answer and remembers it for duplicates of `received`.
    fn send_reply(&mut self, received: &[u8], bytes: Vec<u8>, out: &mut Output) {
        self.send(&bytes, out);
        self.last_in = Some((digest(received), bytes));
    }

    fn plain(&self, hdr: Header, payloads: &[Payload]) -> Result<Vec<u8>, Error> {
        Message {
            header: hdr,
            body: Body::Plain(payloads.to_vec()),
        }
        .encode()
        .map_err(|_| Error::ApiMisuse("message encoding failed"))
    }

    /// Encrypts `payloads` under `iv`; returns the datagram and its last ciphertext block.
    fn seal(
        keys: &Keys,
        mut hdr: Header,
        payloads: &[Payload],
        iv: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let block = keys.cipher.block_size();
        let (first, mut text) = encode_for_encryption(payloads, block)
            .map_err(|_| Error::ApiMisuse("message encoding failed"))?;
        keys.key
            .encrypt_in_place(iv, &mut text)
            .map_err(|_| Error::ApiMisuse("CBC encryption failed"))?;
        let last = text[text.len() - block..].to_vec();
        hdr.flags = hdr.flags | Flags::ENCRYPTION;
        let bytes = Message {
            header: hdr,
            body: Body::Encrypted {
                first,
                ciphertext: text,
            },
        }
        .encode()
        .map_err(|_| Error::ApiMisuse("message encoding failed"))?;
        Ok((bytes, last))
    }

    /// Decrypts an encrypted body under `iv`: payloads, spans, plaintext, last ciphertext block.
    fn open(
        keys: &Keys,
        msg: &Message,
        iv: &[u8],
    ) -> Result<(super::wire::DecryptedBody, Vec<u8>, Vec<u8>), Error> {
        let Body::Encrypted { first, ciphertext } = &msg.body else {
            return Err(proto("expected an encrypted message"));
        };
        let block = keys.cipher.block_size();
        if ciphertext.is_empty() || ciphertext.len() % block != 0 {
            return Err(Error::InvalidMessage(
                "encrypted body is not a whole number of cipher blocks".into(),
            ));
        }
        let last = ciphertext[ciphertext.len() - block..].to_vec();
        let mut text = ciphertext.clone();
        keys.key
            .decrypt_in_place(iv, &mut text)
            .map_err(|_| Error::InvalidMessage("CBC decryption failed".into()))?;
        let body = decode_decrypted(*first, &text)
            .map_err(|e| Error::InvalidMessage(format!("decrypted body: {e}")))?;
        Ok((body, text, last))
    }

    fn our_vids(&self) -> Vec<Payload> {
        let mut v = vec![Payload::VendorId(VID_DPD.to_vec())];
        if self.cfg.nat_traversal {
            v.push(Payload::VendorId(VID_NATT.to_vec()));
        }
        v
    }

    fn natt_on(&self) -> bool {
        self.cfg.nat_traversal && self.peer_natt
    }

    fn natd_hash(&self, hash: HashAlg, a: SocketAddr) -> Vec<u8> {
        let ip = match a.ip() {
            std::net::IpAddr::V4(v) => v.octets().to_vec(),
            std::net::IpAddr::V6(v) => v.octets().to_vec(),
        };
        hash.digest(&[
            &self.cky_i.0.to_be_bytes(),
            &self.cky_r.0.to_be_bytes(),
            &ip,
            &a.port().to_be_bytes(),
        ])
        .as_ref()
        .to_vec()
    }

    /// NAT-D payloads (RFC 3947 §3.2): the hash of the peer's address first, then ours.
    fn natd_payloads(&self, chosen: IkeProposal) -> Vec<Payload> {
        if !self.natt_on() {
            return Vec::new();
        }
        let h = hash_alg(chosen.prf);
        vec![
            Payload::NatD(self.natd_hash(h, self.remote)),
            Payload::NatD(self.natd_hash(h, self.local)),
        ]
    }

    /// Compares the peer's NAT-D payloads with the addresses we see (RFC 3947 §3.2).
    fn check_natd(&mut self, chosen: IkeProposal, payloads: &[Payload]) {
        if !self.natt_on() {
            return;
        }
        let nds: Vec<&[u8]> = payloads
            .iter()
            .filter_map(|p| match p {
                Payload::NatD(d) => Some(d.as_slice()),
                _ => None,
            })
            .collect();
        let Some((first, rest)) = nds.split_first() else {
            return;
        };
        let h = hash_alg(chosen.prf);
        let we_behind = *first != self.natd_hash(h, self.local).as_slice();
        let peer_hash = self.natd_hash(h, self.remote);
        let peer_behind = !rest.contains(&peer_hash.as_slice());
        if we_behind || peer_behind {
            info!(tunnel = %self.tunnel, we_behind, peer_behind, "NAT detected: floating to UDP 4500");
            self.nat_detected = true;
        }
    }

    /// The initiator moves to the NAT-T ports once a NAT was detected (RFC 3947 §4).
    fn float(&mut self) {
        if self.nat_detected && !self.uses_natt_port() {
            self.local = SocketAddr::new(self.local.ip(), self.ports.natt);
            self.remote = SocketAddr::new(self.remote.ip(), self.ports.natt_peer);
        }
    }

    fn note_vids(&mut self, payloads: &[Payload]) {
        for p in payloads {
            if let Payload::VendorId(v) = p {
                if v.as_slice() == VID_DPD {
                    self.peer_dpd = true;
                }
                if v.as_slice() == VID_NATT {
                    self.peer_natt = true;
                }
            }
        }
    }

    // ---------------------------------------------------------------- initiator start

    /// Starts phase 1 as initiator: MM1 or AM1.
    #[allow(clippy::too_many_arguments)]
    pub fn initiate(
        now: Instant,
        tunnel: TunnelId,
        cfg: Arc<TunnelConfig>,
        opts: Options,
        ports: Ports,
        initial_contact: bool,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Isakmp, Error> {
        let local = SocketAddr::new(cfg.local_addr, ports.ike);
        let remote = SocketAddr::new(cfg.remote_addr, cfg.remote_port);
        let sa = phase1_sa(&cfg.ike_proposals, cfg.ike_lifetime);
        if sa.proposals.iter().all(|p| p.transforms.is_empty()) {
            return Err(Error::ApiMisuse(
                "no IKE proposal of the tunnel can be expressed in IKEv1",
            ));
        }
        let sai_b = sa_body(&sa)?;
        let cky_i = new_cookie(rng);
        let mut me = Isakmp::blank(
            now,
            tunnel,
            cfg.clone(),
            opts,
            ports,
            true,
            cky_i,
            Cookie::ZERO,
            local,
            remote,
            P1State::Closed,
        );
        me.send_initial_contact = initial_contact;
        let hdr = me.header(me.p1_exchange(), 0);
        match opts.mode {
            Mode::Main => {
                let mut pls = vec![Payload::Sa(sa)];
                pls.extend(me.our_vids());
                let bytes = me.plain(hdr, &pls)?;
                me.state = P1State::ExpectMm2 { sai_b };
                me.send_request(now, bytes, "Main Mode MM1 (SA)", out);
            }
            Mode::Aggressive => {
                // All proposals must share one DH group: the KE is sent before the choice.
                let group = cfg.ike_proposals[0].dh;
                let dh = DhPrivate::generate(
                    DhGroup::new(group).map_err(|_| Error::ApiMisuse("unsupported DH group"))?,
                    rng,
                )
                .map_err(|_| Error::ApiMisuse("DH generation failed"))?;
                let ni = rand_bytes(rng, NONCE_LEN);
                let id = identity_of(&cfg.local_id);
                let idii_b = id.body_octets();
                let mut pls = vec![
                    Payload::Sa(sa),
                    Payload::Ke(dh.public_value().to_vec()),
                    Payload::Nonce(ni.clone()),
                    Payload::Id(id),
                ];
                pls.extend(me.our_vids());
                let bytes = me.plain(hdr, &pls)?;
                me.state = P1State::ExpectAm2 {
                    sai_b,
                    dh,
                    ni,
                    idii_b,
                };
                me.send_request(now, bytes, "Aggressive Mode AM1 (SA, KE, Ni, IDii)", out);
            }
        }
        Ok(me)
    }

    // ---------------------------------------------------------------- responder start

    /// A responder for the first message of a phase-1 exchange (MM1 or AM1).
    #[allow(clippy::too_many_arguments)]
    pub fn respond(
        now: Instant,
        tunnel: TunnelId,
        cfg: Arc<TunnelConfig>,
        opts: Options,
        ports: Ports,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message,
        data: &[u8],
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Isakmp, Error> {
        let mode = if msg.header.exchange == ExchangeType::AGGRESSIVE {
            Mode::Aggressive
        } else {
            Mode::Main
        };
        if mode != opts.mode {
            return Err(Error::PeerIncompatible(NegotiationError::Protocol(
                format!(
                    "peer uses {} mode; the tunnel is configured for {} mode",
                    mode.name(),
                    opts.mode.name()
                ),
            )));
        }
        let (payloads, spans) = plain_with_spans(data)?;
        let (sa_idx, sa) = payloads
            .iter()
            .enumerate()
            .find_map(|(i, p)| match p {
                Payload::Sa(s) => Some((i, s)),
                _ => None,
            })
            .ok_or_else(|| proto("first phase-1 message without SA payload"))?;
        let sai_b = data[HEADER_LEN..][spans[sa_idx].body()].to_vec();
        let Some((transform, chosen, _life)) = select_phase1(&cfg.ike_proposals, sa) else {
            return Err(Error::PeerIncompatible(
                NegotiationError::NoProposalChosen {
                    kind: SaKind::Ike,
                    ours: ike_text(&cfg.ike_proposals),
                    theirs: phase1_text(sa),
                },
            ));
        };
        let cky_r = new_cookie(rng);
        let mut me = Isakmp::blank(
            now,
            tunnel,
            cfg.clone(),
            opts,
            ports,
            false,
            msg.header.cookie_i,
            cky_r,
            local,
            remote,
            P1State::Closed,
        );
        me.note_vids(&payloads);
        me.chosen = Some(chosen);
        let mut reply_sa = sa.clone();
        reply_sa.proposals.truncate(1);
        if let Some(p) = reply_sa.proposals.first_mut() {
            p.transforms = vec![transform];
        }
        let hdr = me.header(msg.header.exchange, 0);
        match mode {
            Mode::Main => {
                let mut pls = vec![Payload::Sa(reply_sa)];
                pls.extend(me.our_vids());
                let bytes = me.plain(hdr, &pls)?;
                me.state = P1State::ExpectMm3 { sai_b, chosen };
                me.send_reply(data, bytes, out);
            }
            Mode::Aggressive => {
                let ke = find_ke(&payloads)?;
                let ni = find_nonce(&payloads)?;
                let idii = find_id(&payloads)?;
                me.check_peer_id(idii)?;
                let dh = gen_dh(chosen.dh, rng)?;
                let g_xy = dh
                    .agree(ke)
                    .map_err(|e| proto(format!("peer KE unusable: {e}")))?;
                let nr = rand_bytes(rng, NONCE_LEN);
                let keys = derive_keys(
                    &cfg,
                    chosen,
                    ni,
                    &nr,
                    &g_xy,
                    me.cky_i,
                    me.cky_r,
                    ke,
                    dh.public_value(),
                )?;
                let id = identity_of(&cfg.local_id);
                let hash_r = kdf::hash_r(
                    keys.prf,
                    keys.skeyid.as_bytes(),
                    ke,
                    dh.public_value(),
                    &me.cky_i.0.to_be_bytes(),
                    &me.cky_r.0.to_be_bytes(),
                    &sai_b,
                    &id.body_octets(),
                );
                let mut pls = vec![
                    Payload::Sa(reply_sa),
                    Payload::Ke(dh.public_value().to_vec()),
                    Payload::Nonce(nr.clone()),
                    Payload::Id(id),
                    Payload::Hash(hash_r.as_bytes().to_vec()),
                ];
                pls.extend(me.our_vids());
                pls.extend(me.natd_payloads(chosen));
                let bytes = me.plain(hdr, &pls)?;
                me.state = P1State::ExpectAm3 {
                    ctx: Box::new(P1Ctx {
                        sai_b,
                        g_xi: ke.to_vec(),
                        g_xr: dh.public_value().to_vec(),
                        keys,
                    }),
                    idii_b: idii.body_octets(),
                };
                me.send_reply(data, bytes, out);
            }
        }
        Ok(me)
    }

    fn check_peer_id(&self, id: &Identification) -> Result<(), Error> {
        let expected = &self.cfg.remote_id;
        if id.ty.0 == expected.id_type() && id.data == expected.data() {
            Ok(())
        } else {
            Err(Error::PeerIncompatible(NegotiationError::PeerIdMismatch {
                got: id_text(id),
                expected: expected.clone(),
            }))
        }
    }

    // ---------------------------------------------------------------- input

    /// Handles one datagram addressed to this SA (marker already stripped).
    #[allow(clippy::too_many_arguments)]
    pub fn handle(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        msg: &Message,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if self.is_closed() {
            return Ok(());
        }
        if let Some((d, reply)) = &self.last_in {
            if *d == digest(data) {
                debug!(tunnel = %self.tunnel, "duplicate message: resending our answer");
                let reply = reply.clone();
                self.send(&reply, out);
                return Ok(());
            }
        }
        // Float to NAT-T (RFC 3947 §4) or NAT rebinding: follow the peer.
        if local.port() == self.ports.natt && !self.uses_natt_port() {
            self.local = local;
            self.remote = remote;
        }
        let ex = msg.header.exchange;
        if msg.header.message_id == 0
            && (ex == ExchangeType::IDENTITY_PROTECTION || ex == ExchangeType::AGGRESSIVE)
        {
            if self.is_established() {
                // A retransmitted final phase-1 message whose answer we no longer hold, or noise.
                return Ok(());
            }
            return self.phase1(now, data, msg, out, rng);
        }
        match ex {
            ExchangeType::INFORMATIONAL => self.informational(now, msg, out, rng),
            ExchangeType::QUICK_MODE => self.quick_mode(now, data, msg, out, rng),
            _ => Err(proto(format!("unexpected exchange {ex:?}"))),
        }
    }

    fn phase1(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &Message,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if msg.header.exchange != self.p1_exchange() {
            return Err(proto("phase-1 exchange type changed"));
        }
        let state = std::mem::replace(&mut self.state, P1State::Closed);
        let r = self.phase1_step(now, state, data, msg, out, rng);
        if let Err((state, e)) = r {
            // Errors about this message leave the state as it was (retransmits may still work),
            // except failures that end the negotiation.
            let fatal = matches!(e, Error::PeerIncompatible(_));
            if !fatal {
                self.state = state;
            }
            return Err(e);
        }
        Ok(())
    }

    // The error hands the state back so a bad message does not end the negotiation; it is rare
    // and short-lived, so its size does not matter.
    #[allow(clippy::too_many_lines, clippy::result_large_err)]
    fn phase1_step(
        &mut self,
        now: Instant,
        state: P1State,
        data: &[u8],
        msg: &Message,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), (P1State, Error)> {
        macro_rules! t {
            ($state:expr, $e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Err(($state, e)),
                }
            };
        }
        match state {
            P1State::ExpectMm2 { sai_b } => {
                let st = || P1State::ExpectMm2 {
                    sai_b: sai_b.clone(),
                };
                let payloads = t!(st(), msg.payloads().ok_or_else(|| proto("MM2 encrypted")));
                let sa = t!(st(), find_sa(payloads));
                let chosen = t!(st(), self.accept_reply_sa(sa));
                self.note_vids(payloads);
                self.cky_r = msg.header.cookie_r;
                let dh = t!(st(), gen_dh(chosen.dh, rng));
                let ni = rand_bytes(rng, NONCE_LEN);
                let mut pls = vec![
                    Payload::Ke(dh.public_value().to_vec()),
                    Payload::Nonce(ni.clone()),
                ];
                pls.extend(self.natd_payloads(chosen));
                let hdr = self.header(ExchangeType::IDENTITY_PROTECTION, 0);
                let bytes = t!(st(), self.plain(hdr, &pls));
                self.chosen = Some(chosen);
                self.state = P1State::ExpectMm4 {
                    sai_b,
                    chosen,
                    dh,
                    ni,
                };
                self.send_request(now, bytes, "Main Mode MM3 (KE, Ni)", out);
                Ok(())
            }
            P1State::ExpectMm4 {
                sai_b,
                chosen,
                dh,
                ni,
            } => {
                let payloads = match msg.payloads() {
                    Some(p) => p,
                    None => {
                        return Err((
                            P1State::ExpectMm4 {
                                sai_b,
                                chosen,
                                dh,
                                ni,
                            },
                            proto("MM4 encrypted"),
                        ));
                    }
                };
                let parsed = find_ke(payloads).and_then(|ke| Ok((ke, find_nonce(payloads)?)));
                let (ke, nr) = match parsed {
                    Ok(v) => v,
                    Err(e) => {
                        return Err((
                            P1State::ExpectMm4 {
                                sai_b,
                                chosen,
                                dh,
                                ni,
                            },
                            e,
                        ));
                    }
                };
                let g_xy = match dh.agree(ke) {
                    Ok(s) => s,
                    Err(e) => {
                        return Err((
                            P1State::ExpectMm4 {
                                sai_b,
                                chosen,
                                dh,
                                ni,
                            },
                            proto(format!("peer KE unusable: {e}")),
                        ));
                    }
                };
                let keys = match derive_keys(
                    &self.cfg,
                    chosen,
                    &ni,
                    nr,
                    &g_xy,
                    self.cky_i,
                    self.cky_r,
                    dh.public_value(),
                    ke,
                ) {
                    Ok(k) => k,
                    Err(e) => {
                        return Err((
                            P1State::ExpectMm4 {
                                sai_b,
                                chosen,
                                dh,
                                ni,
                            },
                            e,
                        ));
                    }
                };
                let id = identity_of(&self.cfg.local_id);
                let hash_i = kdf::hash_i(
                    keys.prf,
                    keys.skeyid.as_bytes(),
                    dh.public_value(),
                    ke,
                    &self.cky_i.0.to_be_bytes(),
                    &self.cky_r.0.to_be_bytes(),
                    &sai_b,
                    &id.body_octets(),
                );
                self.check_natd(chosen, payloads);
                self.float();
                let mut pls = vec![Payload::Id(id), Payload::Hash(hash_i.as_bytes().to_vec())];
                if self.send_initial_contact {
                    pls.push(self.initial_contact());
                }
                let hdr = self.header(ExchangeType::IDENTITY_PROTECTION, 0);
                let (bytes, last) = match Isakmp::seal(&keys, hdr, &pls, &keys.p1_iv) {
                    Ok(v) => v,
                    Err(e) => {
                        return Err((
                            P1State::ExpectMm4 {
                                sai_b,
                                chosen,
                                dh,
                                ni,
                            },
                            e,
                        ));
                    }
                };
                let mut keys = keys;
                keys.p1_iv = last;
                self.state = P1State::ExpectMm6 {
                    ctx: Box::new(P1Ctx {
                        sai_b,
                        g_xi: dh.public_value().to_vec(),
                        g_xr: ke.to_vec(),
                        keys,
                    }),
                };
                self.send_request(now, bytes, "Main Mode MM5 (IDii, HASH_I)", out);
                Ok(())
            }
            P1State::ExpectMm6 { ctx } => {
                // MM6 that does not decrypt to a valid chain, or whose HASH_R does not verify,
                // means the responder derived other keys: a PSK mismatch (RFC 2409 §5).
                let opened = Isakmp::open(&ctx.keys, msg, &ctx.keys.p1_iv);
                let (body, _, last) = match opened {
                    Ok(v) => v,
                    Err(_) => {
                        return Err((
                            P1State::Closed,
                            Error::PeerIncompatible(self.psk_mismatch(None)),
                        ));
                    }
                };
                let (id, hash) = match id_and_hash(&body.payloads) {
                    Ok(v) => v,
                    Err(_) => {
                        return Err((
                            P1State::Closed,
                            Error::PeerIncompatible(self.psk_mismatch(None)),
                        ));
                    }
                };
                let from = (&ctx.g_xi[..], &ctx.g_xr[..], &ctx.sai_b[..]);
                if let Err(e) = self.verify_peer_hash(&ctx.keys, from, id, hash, PeerHash::R) {
                    return Err((P1State::Closed, e));
                }
                let mut keys = ctx.keys;
                keys.p1_iv = last;
                self.keys = Some(keys);
                self.note_notifies(&body.payloads);
                self.established(now, out, rng);
                Ok(())
            }
            P1State::ExpectMm3 { sai_b, chosen } => {
                let st = || P1State::ExpectMm3 {
                    sai_b: sai_b.clone(),
                    chosen,
                };
                let payloads = t!(st(), msg.payloads().ok_or_else(|| proto("MM3 encrypted")));
                let ke = t!(st(), find_ke(payloads));
                let ni = t!(st(), find_nonce(payloads));
                let dh = t!(st(), gen_dh(chosen.dh, rng));
                let g_xy = t!(
                    st(),
                    dh.agree(ke)
                        .map_err(|e| proto(format!("peer KE unusable: {e}")))
                );
                let nr = rand_bytes(rng, NONCE_LEN);
                let keys = t!(
                    st(),
                    derive_keys(
                        &self.cfg,
                        chosen,
                        ni,
                        &nr,
                        &g_xy,
                        self.cky_i,
                        self.cky_r,
                        ke,
                        dh.public_value()
                    )
                );
                self.check_natd(chosen, payloads);
                let mut pls = vec![Payload::Ke(dh.public_value().to_vec()), Payload::Nonce(nr)];
                pls.extend(self.natd_payloads(chosen));
                let hdr = self.header(ExchangeType::IDENTITY_PROTECTION, 0);
                let bytes = t!(st(), self.plain(hdr, &pls));
                self.state = P1State::ExpectMm5 {
                    ctx: Box::new(P1Ctx {
                        sai_b,
                        g_xi: ke.to_vec(),
                        g_xr: dh.public_value().to_vec(),
                        keys,
                    }),
                };
                self.send_reply(data, bytes, out);
                Ok(())
            }
            P1State::ExpectMm5 { ctx } => {
                let (body, last) = match Isakmp::open(&ctx.keys, msg, &ctx.keys.p1_iv) {
                    Ok((b, _, l)) => (b, l),
                    Err(_) => {
                        return Err((
                            P1State::Closed,
                            Error::PeerIncompatible(self.psk_mismatch(None)),
                        ));
                    }
                };
                let Ok((id, hash)) = id_and_hash(&body.payloads) else {
                    return Err((
                        P1State::Closed,
                        Error::PeerIncompatible(self.psk_mismatch(None)),
                    ));
                };
                let from = (&ctx.g_xi[..], &ctx.g_xr[..], &ctx.sai_b[..]);
                if let Err(e) = self.verify_peer_hash(&ctx.keys, from, id, hash, PeerHash::I) {
                    return Err((P1State::Closed, e));
                }
                let mut keys = ctx.keys;
                keys.p1_iv = last;
                let me = identity_of(&self.cfg.local_id);
                let hash_r = kdf::hash_r(
                    keys.prf,
                    keys.skeyid.as_bytes(),
                    &ctx.g_xi,
                    &ctx.g_xr,
                    &self.cky_i.0.to_be_bytes(),
                    &self.cky_r.0.to_be_bytes(),
                    &ctx.sai_b,
                    &me.body_octets(),
                );
                let pls = vec![Payload::Id(me), Payload::Hash(hash_r.as_bytes().to_vec())];
                let hdr = self.header(ExchangeType::IDENTITY_PROTECTION, 0);
                let (bytes, last) = match Isakmp::seal(&keys, hdr, &pls, &keys.p1_iv) {
                    Ok(v) => v,
                    Err(e) => return Err((P1State::Closed, e)),
                };
                keys.p1_iv = last;
                self.keys = Some(keys);
                self.send_reply(data, bytes, out);
                self.note_notifies(&body.payloads);
                self.established(now, out, rng);
                Ok(())
            }
            P1State::ExpectAm2 {
                sai_b,
                dh,
                ni,
                idii_b,
            } => {
                let restore = |dh, ni, sai_b, idii_b| P1State::ExpectAm2 {
                    sai_b,
                    dh,
                    ni,
                    idii_b,
                };
                let Some(payloads) = msg.payloads() else {
                    return Err((restore(dh, ni, sai_b, idii_b), proto("AM2 encrypted")));
                };
                let step = (|| -> Result<_, Error> {
                    let sa = find_sa(payloads)?;
                    let chosen = self.accept_reply_sa(sa)?;
                    let ke = find_ke(payloads)?;
                    let nr = find_nonce(payloads)?;
                    let (idir, hash) = id_and_hash(payloads)?;
                    Ok((chosen, ke, nr, idir.clone(), hash.to_vec()))
                })();
                let (chosen, ke, nr, idir, hash) = match step {
                    Ok(v) => v,
                    Err(e @ Error::PeerIncompatible(_)) => return Err((P1State::Closed, e)),
                    Err(e) => return Err((restore(dh, ni, sai_b, idii_b), e)),
                };
                self.note_vids(payloads);
                self.cky_r = msg.header.cookie_r;
                self.chosen = Some(chosen);
                if chosen.dh != dh.group().id() {
                    return Err((
                        P1State::Closed,
                        proto("responder chose another DH group than our KE"),
                    ));
                }
                let g_xy = match dh.agree(ke) {
                    Ok(s) => s,
                    Err(e) => {
                        return Err((P1State::Closed, proto(format!("peer KE unusable: {e}"))));
                    }
                };
                let keys = match derive_keys(
                    &self.cfg,
                    chosen,
                    &ni,
                    nr,
                    &g_xy,
                    self.cky_i,
                    self.cky_r,
                    dh.public_value(),
                    ke,
                ) {
                    Ok(k) => k,
                    Err(e) => return Err((P1State::Closed, e)),
                };
                let from = (dh.public_value(), ke, &sai_b[..]);
                if let Err(e) = self.verify_peer_hash(&keys, from, &idir, &hash, PeerHash::R) {
                    return Err((P1State::Closed, e));
                }
                let hash_i = kdf::hash_i(
                    keys.prf,
                    keys.skeyid.as_bytes(),
                    dh.public_value(),
                    ke,
                    &self.cky_i.0.to_be_bytes(),
                    &self.cky_r.0.to_be_bytes(),
                    &sai_b,
                    &idii_b,
                );
                self.check_natd(chosen, payloads);
                let mut pls = vec![Payload::Hash(hash_i.as_bytes().to_vec())];
                pls.extend(self.natd_payloads(chosen));
                if self.send_initial_contact {
                    pls.push(self.initial_contact());
                }
                self.float();
                let hdr = self.header(ExchangeType::AGGRESSIVE, 0);
                let (bytes, last) = match Isakmp::seal(&keys, hdr, &pls, &keys.p1_iv) {
                    Ok(v) => v,
                    Err(e) => return Err((P1State::Closed, e)),
                };
                let mut keys = keys;
                keys.p1_iv = last;
                self.keys = Some(keys);
                self.pending = None;
                self.arm_retransmit();
                // AM3 is the last message; the responder retransmits AM2 if it is lost, and our
                // duplicate detection resends AM3.
                self.send_reply(data, bytes, out);
                self.established(now, out, rng);
                Ok(())
            }
            P1State::ExpectAm3 { ctx, idii_b } => {
                // AM3 may come encrypted (strongSwan, libreswan) or in the clear.
                let (payloads, last) = match &msg.body {
                    Body::Plain(p) => (p.clone(), None),
                    Body::Encrypted { .. } => match Isakmp::open(&ctx.keys, msg, &ctx.keys.p1_iv) {
                        Ok((b, _, l)) => (b.payloads, Some(l)),
                        Err(_) => {
                            return Err((
                                P1State::Closed,
                                Error::PeerIncompatible(self.psk_mismatch(None)),
                            ));
                        }
                    },
                };
                let hash = payloads.iter().find_map(|p| match p {
                    Payload::Hash(h) => Some(h.clone()),
                    _ => None,
                });
                let expect = kdf::hash_i(
                    ctx.keys.prf,
                    ctx.keys.skeyid.as_bytes(),
                    &ctx.g_xi,
                    &ctx.g_xr,
                    &self.cky_i.0.to_be_bytes(),
                    &self.cky_r.0.to_be_bytes(),
                    &ctx.sai_b,
                    &idii_b,
                );
                if !hash.is_some_and(|h| expect.ct_eq(&h)) {
                    let id = Identity::from_wire(
                        idii_b.first().copied().unwrap_or(0),
                        idii_b.get(4..).unwrap_or_default(),
                    );
                    let err = NegotiationError::PskMismatch {
                        peer_id: id.unwrap_or_else(|| self.cfg.remote_id.clone()),
                    };
                    return Err((P1State::Closed, Error::PeerIncompatible(err)));
                }
                if let Some(c) = self.chosen {
                    self.check_natd(c, &payloads);
                }
                let mut keys = ctx.keys;
                if let Some(l) = last {
                    keys.p1_iv = l;
                }
                self.keys = Some(keys);
                self.note_notifies(&payloads);
                self.established(now, out, rng);
                Ok(())
            }
            s @ (P1State::Established | P1State::Closed) => {
                Err((s, proto("phase-1 message after phase 1")))
            }
        }
    }

    /// Checks the peer's phase-1 HASH (`got`, over its identification payload `id`; RFC 2409
    /// §5) in constant time, then its identity. `from`: g^xi, g^xr and the SA payload body. A
    /// wrong HASH means the PSKs differ (R-DIAG-1).
    fn verify_peer_hash(
        &self,
        keys: &Keys,
        (g_xi, g_xr, sai_b): (&[u8], &[u8], &[u8]),
        id: &Identification,
        got: &[u8],
        which: PeerHash,
    ) -> Result<(), Error> {
        let hash = match which {
            PeerHash::I => kdf::hash_i,
            PeerHash::R => kdf::hash_r,
        };
        let expect = hash(
            keys.prf,
            keys.skeyid.as_bytes(),
            g_xi,
            g_xr,
            &self.cky_i.0.to_be_bytes(),
            &self.cky_r.0.to_be_bytes(),
            sai_b,
            &id.body_octets(),
        );
        if !expect.ct_eq(got) {
            return Err(Error::PeerIncompatible(self.psk_mismatch(Some(id))));
        }
        self.check_peer_id(id)
    }

    fn psk_mismatch(&self, id: Option<&Identification>) -> NegotiationError {
        let peer_id = id
            .and_then(|i| Identity::from_wire(i.ty.0, &i.data))
            .unwrap_or_else(|| self.cfg.remote_id.clone());
        NegotiationError::PskMismatch { peer_id }
    }

    /// The responder's SA must be one of our transforms.
    fn accept_reply_sa(&self, sa: &Sa) -> Result<IkeProposal, Error> {
        let t = sa
            .proposals
            .first()
            .and_then(|p| p.transforms.first())
            .ok_or_else(|| proto("SA without transform"))?;
        match super::proposal::parse_phase1(t) {
            Some((p, true, _)) if self.cfg.ike_proposals.contains(&p) => Ok(p),
            _ => Err(Error::PeerIncompatible(NegotiationError::Protocol(
                format!(
                    "responder chose a proposal we did not offer: {}",
                    phase1_text(sa)
                ),
            ))),
        }
    }

    fn initial_contact(&self) -> Payload {
        Payload::Notify(Notify {
            doi: super::wire::Doi::IPSEC,
            protocol: ProtocolId::ISAKMP,
            spi: self.cookies().to_vec(),
            ty: NotifyType::INITIAL_CONTACT,
            data: Vec::new(),
        })
    }

    fn note_notifies(&mut self, payloads: &[Payload]) {
        for p in payloads {
            if let Payload::Notify(n) = p {
                if n.ty == NotifyType::INITIAL_CONTACT {
                    self.peer_initial_contact = true;
                }
            }
        }
    }

    fn established(&mut self, now: Instant, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        self.state = P1State::Established;
        self.established_at = Some(now);
        self.pending = None;
        self.arm_retransmit();
        self.timers.stop(Timer::HalfOpenExpire);
        let life = self.cfg.ike_lifetime;
        if !life.is_zero() {
            // Initiators rekey at 90 %, responders at 95 % (fewer collisions).
            let pct = if self.initiator { 90 } else { 95 };
            self.timers
                .set_after(Timer::RekeyIke, now, life.mul_f64(f64::from(pct) / 100.0));
            self.ike_expire_at = now.checked_add(life);
            self.arm_child_timers();
        }
        if let Some(dpd) = self.cfg.dpd {
            self.timers.set_after(Timer::Dpd, now, dpd.interval);
        }
        info!(tunnel = %self.tunnel, remote = %self.remote, mode = self.opts.mode.name(),
            proposal = ?self.chosen.map(|c| c.to_string()), "ISAKMP SA established");
        out.events.push_back(Event::IkeUp {
            tunnel: self.tunnel,
            remote: self.remote,
            nat: self.uses_natt_port(),
        });
        if self.initiator && self.replaces.is_none() {
            self.queue.push(Request::Quick { rekey_of: None });
        }
        self.pump(now, out, rng);
    }

    // ---------------------------------------------------------------- quick mode

    /// Starts queued requests when nothing is outstanding.
    pub fn pump(&mut self, now: Instant, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        if !self.is_established() {
            return;
        }
        while self.pending.is_none() && !self.queue.is_empty() {
            let r = self.queue.remove(0);
            let res = match r {
                Request::Quick { rekey_of } => self.start_quick(now, rekey_of, out, rng),
                Request::DeleteIsakmp => {
                    self.delete_all(out, rng);
                    self.close(now, DownReason::LocalDelete, out);
                    return;
                }
            };
            if let Err(e) = res {
                warn!(tunnel = %self.tunnel, error = %e, "cannot start quick mode");
            }
        }
    }

    pub fn queue(
        &mut self,
        now: Instant,
        r: Request,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) {
        self.queue.push(r);
        self.pump(now, out, rng);
    }

    fn phase2_iv(&self, keys: &Keys, msg_id: u32) -> Vec<u8> {
        kdf::phase2_iv(keys.hash, &keys.p1_iv, msg_id, keys.cipher)
    }

    fn encap(&self) -> EncapsulationMode {
        if self.uses_natt_port() {
            EncapsulationMode::UDP_ENCAPSULATED_TUNNEL
        } else {
            EncapsulationMode::TUNNEL
        }
    }

    fn start_quick(
        &mut self,
        now: Instant,
        rekey_of: Option<(u32, u32)>,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let keys = self.keys.as_ref().ok_or(Error::ApiMisuse("no keys"))?;
        let msg_id = rand_nonzero_u32(rng);
        let spi_in = rand_nonzero_u32(rng);
        let ni = rand_bytes(rng, NONCE_LEN);
        let dh = match self.cfg.pfs_group {
            Some(g) => Some(gen_dh(g, rng)?),
            None => None,
        };
        let sa = phase2_sa(
            &self.cfg.esp_proposals,
            self.cfg.pfs_group,
            self.cfg.child_lifetime,
            spi_in,
            self.encap(),
        );
        let local_ts = self
            .cfg
            .local_ts
            .first()
            .copied()
            .unwrap_or_else(TrafficSelector::any_v4);
        let remote_ts = self
            .cfg
            .remote_ts
            .first()
            .copied()
            .unwrap_or_else(TrafficSelector::any_v4);
        let id_ci = ts_to_id(&local_ts);
        let id_cr = ts_to_id(&remote_ts);
        let mut rest = vec![Payload::Sa(sa), Payload::Nonce(ni.clone())];
        if let Some(d) = &dh {
            rest.push(Payload::Ke(d.public_value().to_vec()));
        }
        rest.push(Payload::Id(id_ci.clone()));
        rest.push(Payload::Id(id_cr.clone()));
        let rest_b = chain(&rest)?;
        let h1 = kdf::qm_hash1(keys.prf, keys.skeyid_a.as_bytes(), msg_id, &rest_b);
        let mut pls = vec![Payload::Hash(h1.as_bytes().to_vec())];
        pls.extend(rest);
        let iv = self.phase2_iv(keys, msg_id);
        let (bytes, last) = Isakmp::seal(
            keys,
            self.header(ExchangeType::QUICK_MODE, msg_id),
            &pls,
            &iv,
        )?;
        self.quick.insert(
            msg_id,
            Quick {
                iv: last,
                state: QmState::ExpectQm2 {
                    ni,
                    dh,
                    spi_in,
                    id_ci,
                    id_cr,
                    rekey_of,
                },
            },
        );
        debug!(tunnel = %self.tunnel, msg_id = format_args!("{msg_id:08x}"), "quick mode QM1 sent");
        self.send_request(now, bytes, "Quick Mode QM1", out);
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    fn quick_mode(
        &mut self,
        now: Instant,
        data: &[u8],
        msg: &Message,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if !self.is_established() {
            return Err(proto("quick mode before phase 1 completed"));
        }
        let msg_id = msg.header.message_id;
        let keys = self.keys.as_ref().ok_or(Error::ApiMisuse("no keys"))?;
        let iv = match self.quick.get(&msg_id) {
            Some(q) => q.iv.clone(),
            None => self.phase2_iv(keys, msg_id),
        };
        let (body, text, last) = Isakmp::open(keys, msg, &iv)?;
        let pls = &body.payloads;
        let Some(Payload::Hash(hash)) = pls.first() else {
            return Err(proto("quick mode message without leading HASH"));
        };
        let rest = match (body.spans.get(1), body.spans.last()) {
            (Some(a), Some(b)) => &text[a.payload.start..b.payload.end],
            _ => &[][..],
        };
        let prf = keys.prf;
        let skeyid_a = keys.skeyid_a.clone();
        let skeyid_d = keys.skeyid_d.clone();
        match self.quick.remove(&msg_id) {
            None => {
                // QM1 from the peer.
                let expect = kdf::qm_hash1(prf, skeyid_a.as_bytes(), msg_id, rest);
                if !expect.ct_eq(hash) {
                    return Err(Error::InvalidMessage("QM1 HASH(1) does not verify".into()));
                }
                self.respond_quick(now, data, msg_id, pls, last, out, rng)
            }
            Some(Quick {
                state:
                    QmState::ExpectQm2 {
                        ni,
                        dh,
                        spi_in,
                        id_ci,
                        id_cr,
                        rekey_of,
                    },
                ..
            }) => {
                let expect = kdf::qm_hash2(prf, skeyid_a.as_bytes(), msg_id, &ni, rest);
                if !expect.ct_eq(hash) {
                    // Put it back: a forged or corrupted QM2 must not kill the exchange.
                    self.quick.insert(
                        msg_id,
                        Quick {
                            iv,
                            state: QmState::ExpectQm2 {
                                ni,
                                dh,
                                spi_in,
                                id_ci,
                                id_cr,
                                rekey_of,
                            },
                        },
                    );
                    return Err(Error::InvalidMessage("QM2 HASH(2) does not verify".into()));
                }
                self.pending = None;
                self.arm_retransmit();
                let sa = find_sa(pls)?;
                let nr = find_nonce(pls)?.to_vec();
                let ours = phase2_sa(
                    &self.cfg.esp_proposals,
                    self.cfg.pfs_group,
                    self.cfg.child_lifetime,
                    spi_in,
                    self.encap(),
                );
                let Some((_, spi_out, _, choice)) =
                    select_phase2(&self.cfg.esp_proposals, self.cfg.pfs_group, sa)
                else {
                    let e = NegotiationError::Protocol(format!(
                        "responder chose an ESP proposal we did not offer: {} (we offered {})",
                        phase2_text(sa),
                        phase2_text(&ours)
                    ));
                    self.child_failed(e, out);
                    return Ok(());
                };
                let g_qm = match &dh {
                    Some(d) => {
                        let ke = find_ke(pls)?;
                        Some(
                            d.agree(ke)
                                .map_err(|e| proto(format!("QM KE unusable: {e}")))?,
                        )
                    }
                    None => None,
                };
                let lifetime = responder_lifetime(pls)
                    .or(choice.lifetime)
                    .map_or(self.cfg.child_lifetime, |l| l.min(self.cfg.child_lifetime));
                let h3 = kdf::qm_hash3(prf, skeyid_a.as_bytes(), msg_id, &ni, &nr);
                let keys = self.keys.as_ref().ok_or(Error::ApiMisuse("no keys"))?;
                let (bytes, _) = Isakmp::seal(
                    keys,
                    self.header(ExchangeType::QUICK_MODE, msg_id),
                    &[Payload::Hash(h3.as_bytes().to_vec())],
                    &last,
                )?;
                self.send_reply(data, bytes, out);
                let local_ts = id_to_ts(&id_ci).unwrap_or_else(TrafficSelector::any_v4);
                let remote_ts = id_to_ts(&id_cr).unwrap_or_else(TrafficSelector::any_v4);
                let info = self.child_info(
                    prf,
                    &skeyid_d,
                    g_qm.as_ref(),
                    spi_in,
                    spi_out,
                    &ni,
                    &nr,
                    &choice,
                    lifetime,
                    local_ts,
                    remote_ts,
                )?;
                // The peer sends on the new SA once it has QM3: our inbound SA first.
                out.inbound_first.push_back(InboundFirst {
                    tunnel: self.tunnel,
                    child: info.clone(),
                    replaces: rekey_of.map(|(i, _)| i),
                });
                match rekey_of {
                    Some(old) if self.children.iter().any(|c| c.info.spi_in == old.0) => {
                        // Make-before-break: keep sending on the old SA until the responder,
                        // which installs on QM3, has the new one; then switch and delete the old.
                        debug!(tunnel = %self.tunnel, spi_in = format_args!("{spi_in:08x}"),
                            "quick-mode rekey: QM3 sent, outbound switches in {OUTBOUND_SWITCH_DELAY:?}");
                        self.switches.push(Switch {
                            at: now + OUTBOUND_SWITCH_DELAY,
                            negotiated_at: now,
                            info,
                            rekey_of: old,
                        });
                        self.arm_child_timers();
                    }
                    _ => self.install(now, now, info, rekey_of, true, out),
                }
                self.pump(now, out, rng);
                Ok(())
            }
            Some(Quick {
                state:
                    QmState::ExpectQm3 {
                        child,
                        ni,
                        nr,
                        resend,
                    },
                ..
            }) => {
                let expect = kdf::qm_hash3(prf, skeyid_a.as_bytes(), msg_id, &ni, &nr);
                if !expect.ct_eq(hash) {
                    self.quick.insert(
                        msg_id,
                        Quick {
                            iv,
                            state: QmState::ExpectQm3 {
                                child,
                                ni,
                                nr,
                                resend,
                            },
                        },
                    );
                    return Err(Error::InvalidMessage("QM3 HASH(3) does not verify".into()));
                }
                let info = *child;
                drop(resend);
                self.arm_retransmit();
                // A CHILD SA with the same selectors replaced by the peer's rekey.
                let old = self.same_selectors(&info);
                self.install(now, now, info, old, false, out);
                Ok(())
            }
        }
    }

    /// (spi_in, spi_out) of the CHILD SA with the selectors of `info`: the one a peer's quick
    /// mode for `info` rekeys.
    fn same_selectors(&self, info: &ChildSaInfo) -> Option<(u32, u32)> {
        self.children
            .iter()
            .find(|c| {
                !c.rekeyed
                    && c.withdrawn.is_none()
                    && c.info.spi_in != info.spi_in
                    && c.info.local_ts == info.local_ts
                    && c.info.remote_ts == info.remote_ts
            })
            .map(|c| (c.info.spi_in, c.info.spi_out))
    }

    /// The peer deletes the CHILD SA with outbound SPI `spi_out`. A peer deletes the SA it
    /// rekeyed only after installing the new one, so a quick mode of the peer's that still
    /// waits for QM3 with the same selectors is complete: its QM3 got lost (RFC 2409 §5.5 has
    /// no answer to QM3 and no retransmission of it without a resent QM2).
    fn commit_on_delete(&mut self, now: Instant, spi_out: u32, out: &mut Output) {
        let Some(old) = self.children.iter().find(|c| c.info.spi_out == spi_out) else {
            return;
        };
        let (old_ts, old_spis) = (
            (old.info.local_ts.clone(), old.info.remote_ts.clone()),
            (old.info.spi_in, old.info.spi_out),
        );
        let waiting = self.quick.iter().find_map(|(id, q)| match &q.state {
            QmState::ExpectQm3 { child, .. }
                if (child.local_ts.clone(), child.remote_ts.clone()) == old_ts =>
            {
                Some(*id)
            }
            _ => None,
        });
        let Some(id) = waiting else {
            return;
        };
        if let Some(Quick {
            state: QmState::ExpectQm3 { child, .. },
            ..
        }) = self.quick.remove(&id)
        {
            info!(tunnel = %self.tunnel, msg_id = format_args!("{id:08x}"),
                "peer deletes the SA its quick mode replaces before we saw QM3: QM3 lost, the new SA is in use");
            self.install(now, now, *child, Some(old_spis), false, out);
            self.arm_retransmit();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn respond_quick(
        &mut self,
        now: Instant,
        data: &[u8],
        msg_id: u32,
        pls: &[Payload],
        last: Vec<u8>,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let keys = self.keys.as_ref().ok_or(Error::ApiMisuse("no keys"))?;
        let prf = keys.prf;
        let sa = find_sa(pls)?;
        let ni = find_nonce(pls)?.to_vec();
        let Some((number, spi_out, transform, choice)) =
            select_phase2(&self.cfg.esp_proposals, self.cfg.pfs_group, sa)
        else {
            let e = NegotiationError::NoProposalChosen {
                kind: SaKind::Child,
                ours: esp_text(&self.cfg.esp_proposals, self.cfg.pfs_group),
                theirs: phase2_text(sa),
            };
            self.send_info_notify(NotifyType::NO_PROPOSAL_CHOSEN, rng, out);
            self.child_failed(e, out);
            return Ok(());
        };
        // Client IDs: IDci is the initiator's side (our remote), IDcr ours. Absent: the hosts.
        let ids: Vec<&Identification> = pls
            .iter()
            .filter_map(|p| match p {
                Payload::Id(i) => Some(i),
                _ => None,
            })
            .collect();
        let (peer_ts, our_ts) = match ids.as_slice() {
            [ci, cr] => (id_to_ts(ci), id_to_ts(cr)),
            [] => (
                Some(TrafficSelector::host(self.remote.ip())),
                Some(TrafficSelector::host(self.local.ip())),
            ),
            _ => return Err(proto("quick mode with one or more than two client IDs")),
        };
        let ok = match (peer_ts, our_ts) {
            (Some(p), Some(o)) => {
                self.cfg.remote_ts.iter().any(|r| p.is_subset_of(r))
                    && self.cfg.local_ts.iter().any(|l| o.is_subset_of(l))
            }
            _ => false,
        };
        let (Some(peer_ts), Some(our_ts), true) = (peer_ts, our_ts, ok) else {
            let e = crate::v2::error::ts_unacceptable(
                &self.cfg.local_ts,
                &self.cfg.remote_ts,
                &peer_ts.into_iter().collect::<Vec<_>>(),
                &our_ts.into_iter().collect::<Vec<_>>(),
            );
            self.send_info_notify(NotifyType::INVALID_ID_INFORMATION, rng, out);
            self.child_failed(e, out);
            return Ok(());
        };
        let dh = match choice.pfs {
            Some(g) => Some(gen_dh(g, rng)?),
            None => None,
        };
        let g_qm = match &dh {
            Some(d) => {
                let ke = find_ke(pls)?;
                Some(
                    d.agree(ke)
                        .map_err(|e| proto(format!("QM KE unusable: {e}")))?,
                )
            }
            None => None,
        };
        let spi_in = rand_nonzero_u32(rng);
        let nr = rand_bytes(rng, NONCE_LEN);
        let lifetime = choice
            .lifetime
            .map_or(self.cfg.child_lifetime, |l| l.min(self.cfg.child_lifetime));
        let mut reply_sa = sa.clone();
        reply_sa.proposals.retain(|p| p.number == number);
        reply_sa.proposals.truncate(1);
        if let Some(p) = reply_sa.proposals.first_mut() {
            p.spi = spi_in.to_be_bytes().to_vec();
            p.transforms = vec![transform];
        }
        let mut rest = vec![Payload::Sa(reply_sa), Payload::Nonce(nr.clone())];
        if let Some(d) = &dh {
            rest.push(Payload::Ke(d.public_value().to_vec()));
        }
        for i in &ids {
            rest.push(Payload::Id((*i).clone()));
        }
        if choice.lifetime.is_some_and(|l| l > lifetime) {
            // RFC 2407 §4.5.4: tell the initiator we use a shorter lifetime.
            let mut data = vec![];
            for a in [
                super::wire::Attribute::basic(super::wire::IpsecAttrType::SA_LIFE_TYPE, 1),
                super::wire::Attribute::integer(
                    super::wire::IpsecAttrType::SA_LIFE_DURATION,
                    u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX),
                ),
            ] {
                a.encode(&mut data)
                    .map_err(|_| Error::ApiMisuse("attribute encoding"))?;
            }
            rest.push(Payload::Notify(Notify {
                doi: super::wire::Doi::IPSEC,
                protocol: ProtocolId::IPSEC_ESP,
                spi: spi_out.to_be_bytes().to_vec(),
                ty: NotifyType::RESPONDER_LIFETIME,
                data,
            }));
        }
        let rest_b = chain(&rest)?;
        let keys = self.keys.as_ref().ok_or(Error::ApiMisuse("no keys"))?;
        let h2 = kdf::qm_hash2(prf, keys.skeyid_a.as_bytes(), msg_id, &ni, &rest_b);
        let mut all = vec![Payload::Hash(h2.as_bytes().to_vec())];
        all.extend(rest);
        let (bytes, last2) = Isakmp::seal(
            keys,
            self.header(ExchangeType::QUICK_MODE, msg_id),
            &all,
            &last,
        )?;
        let skeyid_d = keys.skeyid_d.clone();
        let info = self.child_info(
            prf,
            &skeyid_d,
            g_qm.as_ref(),
            spi_in,
            spi_out,
            &ni,
            &nr,
            &choice,
            lifetime,
            our_ts,
            peer_ts,
        )?;
        // The initiator sends on the new SA as soon as it has QM2: our inbound SA first; the
        // outbound one follows on QM3.
        out.inbound_first.push_back(InboundFirst {
            tunnel: self.tunnel,
            child: info.clone(),
            replaces: self.same_selectors(&info).map(|(i, _)| i),
        });
        self.quick.insert(
            msg_id,
            Quick {
                iv: last2,
                state: QmState::ExpectQm3 {
                    child: Box::new(info),
                    ni,
                    nr,
                    resend: Box::new(Resend {
                        bytes: bytes.clone(),
                        at: now + self.cfg.retransmit.initial,
                        interval: self.cfg.retransmit.initial,
                        count: 0,
                    }),
                },
            },
        );
        self.send_reply(data, bytes, out);
        self.arm_retransmit();
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn child_info(
        &self,
        prf: Prf,
        skeyid_d: &Secret,
        g_qm: Option<&Secret>,
        spi_in: u32,
        spi_out: u32,
        ni: &[u8],
        nr: &[u8],
        c: &EspChoice,
        lifetime: Duration,
        local_ts: TrafficSelector,
        remote_ts: TrafficSelector,
    ) -> Result<ChildSaInfo, Error> {
        let cipher = Cipher::new(c.esp.encr, c.esp.key_bits)
            .map_err(|_| Error::ApiMisuse("unsupported ESP cipher"))?;
        let integ =
            Integ::new(c.esp.integ).map_err(|_| Error::ApiMisuse("unsupported ESP integrity"))?;
        let g = g_qm.map(Secret::as_bytes);
        let (ei, ii) = kdf::quick_mode_esp_keys(
            prf,
            skeyid_d.as_bytes(),
            g,
            &spi_in.to_be_bytes(),
            ni,
            nr,
            cipher,
            Some(integ),
        );
        let (eo, io) = kdf::quick_mode_esp_keys(
            prf,
            skeyid_d.as_bytes(),
            g,
            &spi_out.to_be_bytes(),
            ni,
            nr,
            cipher,
            Some(integ),
        );
        let hard = lifetime;
        let soft = lifetime.mul_f64(if self.initiator { 0.9 } else { 0.95 });
        Ok(ChildSaInfo {
            spi_in,
            spi_out,
            encr: c.esp.encr,
            key_bits: c.esp.key_bits,
            integ: c.esp.integ,
            esn: false,
            keys_in: EspKeys {
                encr_key: Zeroizing::new(ei.as_bytes().to_vec()),
                integ_key: Zeroizing::new(ii.as_bytes().to_vec()),
            },
            keys_out: EspKeys {
                encr_key: Zeroizing::new(eo.as_bytes().to_vec()),
                integ_key: Zeroizing::new(io.as_bytes().to_vec()),
            },
            local_ts: vec![local_ts],
            remote_ts: vec![remote_ts],
            soft_lifetime: soft,
            hard_lifetime: hard,
            udp_encap: self.uses_natt_port(),
            local: self.local,
            remote: self.remote,
        })
    }

    /// Completes a CHILD SA: the event for the engine, the replaced one removed (and, if we
    /// rekeyed it, deleted a moment later). `born`: when its keys were agreed; its lifetimes
    /// count from there.
    #[allow(clippy::too_many_arguments)]
    fn install(
        &mut self,
        now: Instant,
        born: Instant,
        info: ChildSaInfo,
        replaces: Option<(u32, u32)>,
        we_rekeyed: bool,
        out: &mut Output,
    ) {
        info!(tunnel = %self.tunnel, spi_in = format_args!("{:08x}", info.spi_in),
            spi_out = format_args!("{:08x}", info.spi_out), "CHILD SA established (quick mode)");
        let child = Child {
            rekey_at: born
                .checked_add(info.soft_lifetime)
                .filter(|_| !info.soft_lifetime.is_zero()),
            expire_at: born
                .checked_add(info.hard_lifetime)
                .filter(|_| !info.hard_lifetime.is_zero()),
            info: info.clone(),
            rekeyed: false,
            withdrawn: None,
        };
        let old = replaces.and_then(|(i, _)| self.children.iter().position(|c| c.info.spi_in == i));
        match old {
            Some(idx) => {
                // Make-before-break: the new SA is installed, then the old one is deleted.
                let (old_in, old_out) = (
                    self.children[idx].info.spi_in,
                    self.children[idx].info.spi_out,
                );
                self.children.remove(idx);
                out.events.push_back(Event::ChildRekeyed {
                    tunnel: self.tunnel,
                    old_spi_in: old_in,
                    old_spi_out: old_out,
                    new: info,
                });
                if we_rekeyed {
                    // Packets we sent on the old SA may still sit in the peer's queues: delete
                    // it a moment after the switch (its inbound SA keeps decrypting them).
                    self.old_deletes.push((now + OLD_SA_DELETE_DELAY, old_in));
                }
            }
            None => out.events.push_back(Event::ChildEstablished {
                tunnel: self.tunnel,
                child: info,
            }),
        }
        self.children.push(child);
        self.arm_child_timers();
    }

    fn arm_child_timers(&mut self) {
        // The CHILD SA schedule: rekeys, and the outbound switches and old-SA DELETEs of our
        // rekeys.
        match self
            .children
            .iter()
            .filter(|c| !c.rekeyed && c.withdrawn.is_none())
            .filter_map(|c| c.rekey_at)
            .chain(self.switches.iter().map(|s| s.at))
            .chain(self.old_deletes.iter().map(|(at, _)| *at))
            .min()
        {
            Some(t) => self.timers.set(Timer::RekeyChild, t),
            None => self.timers.stop(Timer::RekeyChild),
        }
        let hard = self
            .children
            .iter()
            .filter_map(|c| c.expire_at)
            .chain(self.ike_expire_at)
            .min();
        match hard {
            Some(t) => self.timers.set(Timer::HardExpire, t),
            None => self.timers.stop(Timer::HardExpire),
        }
    }

    fn child_failed(&mut self, e: NegotiationError, out: &mut Output) {
        info!(tunnel = %self.tunnel, error = %e, "quick mode failed");
        out.events.push_back(Event::NegotiationFailed {
            tunnel: self.tunnel,
            error: e,
        });
    }

    // ---------------------------------------------------------------- informational

    fn send_info(&mut self, payloads: Vec<Payload>, rng: &mut dyn CryptoRngCore, out: &mut Output) {
        let Some(keys) = self.keys.as_ref() else {
            return;
        };
        let msg_id = rand_nonzero_u32(rng);
        let rest_b = match chain(&payloads) {
            Ok(b) => b,
            Err(_) => return,
        };
        let h = kdf::qm_hash1(keys.prf, keys.skeyid_a.as_bytes(), msg_id, &rest_b);
        let mut all = vec![Payload::Hash(h.as_bytes().to_vec())];
        all.extend(payloads);
        let iv = self.phase2_iv(keys, msg_id);
        if let Ok((bytes, _)) = Isakmp::seal(
            keys,
            self.header(ExchangeType::INFORMATIONAL, msg_id),
            &all,
            &iv,
        ) {
            self.send(&bytes, out);
        }
    }

    fn send_info_notify(&mut self, ty: NotifyType, rng: &mut dyn CryptoRngCore, out: &mut Output) {
        let n = Notify {
            doi: super::wire::Doi::IPSEC,
            protocol: ProtocolId::IPSEC_ESP,
            spi: Vec::new(),
            ty,
            data: Vec::new(),
        };
        self.send_info(vec![Payload::Notify(n)], rng, out);
    }

    fn send_delete_esp(&mut self, spis_in: &[u32], rng: &mut dyn CryptoRngCore, out: &mut Output) {
        if spis_in.is_empty() {
            return;
        }
        self.send_info(vec![Payload::Delete(Delete::esp(spis_in))], rng, out);
    }

    /// Failover steering (issue 6): DELETEs the CHILD SAs in use (one informational, protocol
    /// ESP, our inbound SPIs; RFC 2408 §3.15) and keeps the ISAKMP SA and its DPD, so the peer
    /// moves its traffic to the other tunnel. Returns how many. IKEv1 informationals have no
    /// answer (RFC 2409 §5.7), so each SA stays installed and receiving until an
    /// R-U-THERE-ACK to an R-U-THERE sent after the DELETE shows the path to the peer works:
    /// [`Isakmp::finish_withdrawals`] sends the DELETE again (it may have been lost) and
    /// removes them with [`Event::ChildDeleted`]. Until then they are not rekeyed: a rekey would
    /// hand the peer a fresh SA on the path being left. A quick mode already in flight for one
    /// of them is not stopped.
    pub fn withdraw_children(&mut self, out: &mut Output, rng: &mut dyn CryptoRngCore) -> usize {
        let seq = self.dpd_seq;
        let mut spis = Vec::new();
        for c in self
            .children
            .iter_mut()
            .filter(|c| !c.rekeyed && c.withdrawn.is_none())
        {
            c.withdrawn = Some(seq);
            c.rekey_at = None;
            spis.push(c.info.spi_in);
        }
        // Queued rekeys of a withdrawn SA are dropped; they would re-create it.
        self.queue.retain(|r| match r {
            Request::Quick {
                rekey_of: Some((i, _)),
            } => !spis.contains(i),
            _ => true,
        });
        if !spis.is_empty() {
            info!(tunnel = %self.tunnel, count = spis.len(), dpd_seq = seq,
                "CHILD SA DELETE sent (ISAKMP SA kept); the SAs stay installed until the peer answers a later R-U-THERE");
        }
        self.send_delete_esp(&spis, rng, out);
        self.arm_child_timers();
        spis.len()
    }

    /// An R-U-THERE-ACK with sequence number `acked` arrived: the CHILD SAs withdrawn before
    /// that R-U-THERE was sent are removed ([`Event::ChildDeleted`]), their DELETE sent once
    /// more now that it can reach the peer (the first may have been lost on the failed path;
    /// a peer that already removed them ignores it).
    fn finish_withdrawals(&mut self, acked: u32, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        // Sequence numbers wrap (RFC 3706 §7): "after" is a positive wrapping distance.
        let after = |w: u32| {
            let d = acked.wrapping_sub(w);
            d != 0 && d < u32::MAX / 2
        };
        let (done, keep): (Vec<Child>, Vec<Child>) = std::mem::take(&mut self.children)
            .into_iter()
            .partition(|c| c.withdrawn.is_some_and(after));
        self.children = keep;
        if done.is_empty() {
            return;
        }
        let spis: Vec<u32> = done.iter().map(|c| c.info.spi_in).collect();
        info!(tunnel = %self.tunnel, count = spis.len(), dpd_seq = acked,
            "peer answers R-U-THERE after the CHILD SA DELETE: withdrawn SAs removed");
        self.send_delete_esp(&spis, rng, out);
        for c in done {
            out.events.push_back(Event::ChildDeleted {
                tunnel: self.tunnel,
                spi_in: c.info.spi_in,
                spi_out: c.info.spi_out,
            });
        }
        self.arm_child_timers();
    }

    /// Sends DELETEs for every CHILD SA and the ISAKMP SA (RFC 2408 §3.15).
    pub fn delete_all(&mut self, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        let spis: Vec<u32> = self.children.iter().map(|c| c.info.spi_in).collect();
        self.send_delete_esp(&spis, rng, out);
        let c = self.cookies();
        self.send_info(vec![Payload::Delete(Delete::isakmp(c))], rng, out);
    }

    /// Sends only the ISAKMP SA DELETE (phase-1 rekey: the CHILD SAs moved on).
    pub fn delete_isakmp_only(&mut self, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        let c = self.cookies();
        self.send_info(vec![Payload::Delete(Delete::isakmp(c))], rng, out);
    }

    pub fn send_dpd(&mut self, now: Instant, rng: &mut dyn CryptoRngCore, out: &mut Output) {
        self.dpd_seq = self.dpd_seq.wrapping_add(1);
        let n = Notify::dpd(NotifyType::R_U_THERE, self.cookies(), self.dpd_seq);
        self.send_info(vec![Payload::Notify(n)], rng, out);
        if !self.dpd_outstanding {
            self.dpd_outstanding = true;
            if let Some(dpd) = self.cfg.dpd {
                self.timers.set_after(Timer::DpdTimeout, now, dpd.timeout);
            }
        }
    }

    fn informational(
        &mut self,
        now: Instant,
        msg: &Message,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        let payloads = match &msg.body {
            Body::Plain(p) => {
                // Unauthenticated: only phase-1 error notifies mean something (the peer cannot
                // encrypt yet); an established SA ignores them.
                if !self.is_established() {
                    for p in p {
                        if let Payload::Notify(n) = p {
                            return Err(Error::PeerIncompatible(self.explain_notify(n.ty)));
                        }
                    }
                }
                return Ok(());
            }
            Body::Encrypted { .. } => {
                if let P1State::ExpectMm6 { ctx } = &self.state {
                    return Err(self.notify_before_mm6(&ctx.keys, msg));
                }
                let Some(keys) = self.keys.as_ref() else {
                    return Err(Error::InvalidMessage(
                        "encrypted message before keys".into(),
                    ));
                };
                let iv = self.phase2_iv(keys, msg.header.message_id);
                let (body, text, _) = Isakmp::open(keys, msg, &iv)?;
                let Some(Payload::Hash(hash)) = body.payloads.first() else {
                    return Err(proto("informational without leading HASH"));
                };
                let rest = match (body.spans.get(1), body.spans.last()) {
                    (Some(a), Some(b)) => &text[a.payload.start..b.payload.end],
                    _ => &[][..],
                };
                let expect = kdf::qm_hash1(
                    keys.prf,
                    keys.skeyid_a.as_bytes(),
                    msg.header.message_id,
                    rest,
                );
                if !expect.ct_eq(hash) {
                    return Err(Error::InvalidMessage(
                        "informational HASH(1) does not verify".into(),
                    ));
                }
                body.payloads
            }
        };
        let mut ack = None;
        let mut acked = None;
        for p in &payloads {
            match p {
                // RFC 3706 §5.1: echo the sequence number of an R-U-THERE about this SA.
                Payload::Notify(n)
                    if n.ty == NotifyType::R_U_THERE && n.spi.as_slice() == self.cookies() =>
                {
                    ack = n
                        .data
                        .get(..4)
                        .and_then(|s| <[u8; 4]>::try_from(s).ok())
                        .map(u32::from_be_bytes);
                }
                // Any authenticated message proves liveness (dpd_alive below), the ACK included.
                // It also answers the engine's fast liveness probe (issue 6), which over IKEv1 is
                // an R-U-THERE sent with `Endpoint::send_dpd`.
                Payload::Notify(n) if n.ty == NotifyType::R_U_THERE_ACK => {
                    out.events.push_back(Event::ProbeAnswered {
                        tunnel: self.tunnel,
                    });
                    acked = n
                        .data
                        .get(..4)
                        .and_then(|s| <[u8; 4]>::try_from(s).ok())
                        .map(u32::from_be_bytes);
                }
                Payload::Notify(n) if n.ty == NotifyType::INITIAL_CONTACT => {
                    self.peer_initial_contact = true;
                }
                // Error notifies (RFC 2408 §3.14.1: types below 16384) fail the quick mode.
                Payload::Notify(n) if n.ty.0 < 16384 => {
                    let e = self.explain_notify(n.ty);
                    self.child_failed(e, out);
                    self.pending = None;
                    self.quick
                        .retain(|_, q| !matches!(q.state, QmState::ExpectQm2 { .. }));
                    self.arm_retransmit();
                }
                Payload::Delete(d)
                    if d.protocol == ProtocolId::ISAKMP
                        && d.spis.iter().any(|s| s.as_slice() == self.cookies()) =>
                {
                    info!(tunnel = %self.tunnel, "peer deleted the ISAKMP SA");
                    self.peer_deleted = true;
                }
                Payload::Delete(d) if d.protocol == ProtocolId::IPSEC_ESP => {
                    for s in &d.spis {
                        let Ok(b) = <[u8; 4]>::try_from(s.as_slice()) else {
                            continue;
                        };
                        let spi = u32::from_be_bytes(b);
                        self.commit_on_delete(now, spi, out);
                        if let Some(i) = self.children.iter().position(|c| c.info.spi_out == spi) {
                            let c = self.children.remove(i);
                            out.events.push_back(Event::ChildDeleted {
                                tunnel: self.tunnel,
                                spi_in: c.info.spi_in,
                                spi_out: c.info.spi_out,
                            });
                        }
                    }
                    self.arm_child_timers();
                }
                _ => {}
            }
        }
        self.dpd_alive(now);
        if let Some(seq) = acked {
            self.finish_withdrawals(seq, out, rng);
        }
        if let Some(seq) = ack {
            let n = Notify::dpd(NotifyType::R_U_THERE_ACK, self.cookies(), seq);
            self.send_info(vec![Payload::Notify(n)], rng, out);
        }
        Ok(())
    }

    /// An encrypted informational while we wait for MM6: strongSwan answers an MM5 it cannot
    /// decrypt with HASH + N(PAYLOAD-MALFORMED) under its own keys. If it does not decrypt and
    /// verify under ours, the peer derived other keys from the same DH exchange: the PSKs differ
    /// (RFC 2409 §5, SKEYID = prf(PSK, Ni_b | Nr_b)).
    fn notify_before_mm6(&self, keys: &Keys, msg: &Message) -> Error {
        let iv = kdf::phase2_iv(keys.hash, &keys.p1_iv, msg.header.message_id, keys.cipher);
        let verified = Isakmp::open(keys, msg, &iv)
            .ok()
            .and_then(|(body, text, _)| {
                let Some(Payload::Hash(hash)) = body.payloads.first() else {
                    return None;
                };
                let rest = match (body.spans.get(1), body.spans.last()) {
                    (Some(a), Some(b)) => text.get(a.payload.start..b.payload.end)?.to_vec(),
                    _ => Vec::new(),
                };
                let expect = kdf::qm_hash1(
                    keys.prf,
                    keys.skeyid_a.as_bytes(),
                    msg.header.message_id,
                    &rest,
                );
                expect.ct_eq(hash).then_some(body.payloads)
            });
        match verified {
            None => Error::PeerIncompatible(NegotiationError::PskMismatch {
                peer_id: self.cfg.remote_id.clone(),
            }),
            Some(payloads) => {
                let ty = payloads.iter().find_map(|p| match p {
                    Payload::Notify(n) => Some(n.ty),
                    _ => None,
                });
                match ty {
                    Some(ty) => Error::PeerIncompatible(self.explain_notify(ty)),
                    None => proto("informational without notify during phase 1"),
                }
            }
        }
    }

    fn dpd_alive(&mut self, now: Instant) {
        self.dpd_outstanding = false;
        self.timers.stop(Timer::DpdTimeout);
        if let Some(dpd) = self.cfg.dpd {
            if self.is_established() {
                self.timers.set_after(Timer::Dpd, now, dpd.interval);
            }
        }
    }

    fn explain_notify(&self, ty: NotifyType) -> NegotiationError {
        match ty {
            NotifyType::NO_PROPOSAL_CHOSEN => NegotiationError::NoProposalChosen {
                kind: if self.is_established() {
                    SaKind::Child
                } else {
                    SaKind::Ike
                },
                ours: if self.is_established() {
                    esp_text(&self.cfg.esp_proposals, self.cfg.pfs_group)
                } else {
                    ike_text(&self.cfg.ike_proposals)
                },
                theirs: String::new(),
            },
            NotifyType::AUTHENTICATION_FAILED
            | NotifyType::INVALID_HASH_INFORMATION
            | NotifyType::INVALID_ID_INFORMATION
                if !self.is_established() =>
            {
                NegotiationError::RejectedByPeer {
                    our_id: self.cfg.local_id.clone(),
                }
            }
            NotifyType::INVALID_ID_INFORMATION => {
                crate::v2::error::ts_unacceptable(&self.cfg.local_ts, &self.cfg.remote_ts, &[], &[])
            }
            other => NegotiationError::PeerNotify {
                notify: crate::v2::wire::NotifyType(other.0),
                exchange: if self.is_established() {
                    "Quick Mode"
                } else {
                    "phase 1"
                },
            },
        }
    }

    // ---------------------------------------------------------------- timers, teardown

    /// Handles the timers that are due.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output, rng: &mut dyn CryptoRngCore) {
        for t in Timer::VALUES {
            if self.is_closed() {
                return;
            }
            if self.timers.get(t).is_none_or(|at| at > now) {
                continue;
            }
            self.timers.stop(t);
            debug!(tunnel = %self.tunnel, timer = t.name(), "timer fired");
            match t {
                Timer::Retransmit => {
                    if self.pending.as_ref().is_some_and(|p| p.due <= now) {
                        self.retransmit(now, out);
                    }
                    self.resend_qm2(now, out);
                    if !self.is_closed() {
                        self.arm_retransmit();
                    }
                }
                Timer::HalfOpenExpire => {
                    debug!(tunnel = %self.tunnel, "half-open ISAKMP SA expired");
                    self.state = P1State::Closed;
                }
                Timer::Dpd => {
                    // RFC 3706 §5.2: only peers that sent the DPD vendor ID get R-U-THERE.
                    if self.is_established() && self.peer_dpd {
                        self.send_dpd(now, rng, out);
                        if let Some(dpd) = self.cfg.dpd {
                            // While unanswered, ask again every retransmission interval.
                            let again = if self.dpd_outstanding {
                                self.cfg.retransmit.max_interval.min(dpd.interval)
                            } else {
                                dpd.interval
                            };
                            self.timers.set_after(Timer::Dpd, now, again);
                        }
                    }
                }
                Timer::DpdTimeout => {
                    let timeout_secs = self.cfg.dpd.map_or(0, |d| d.timeout.as_secs());
                    info!(tunnel = %self.tunnel, "peer dead (DPD)");
                    out.events.push_back(Event::PeerDead {
                        tunnel: self.tunnel,
                    });
                    let e = NegotiationError::PeerDead {
                        peer: self.remote,
                        timeout_secs,
                    };
                    self.close(now, DownReason::Failed(e), out);
                }
                Timer::RekeyIke => self.wants_rekey = true,
                Timer::RekeyChild => {
                    let (switch, wait): (Vec<Switch>, Vec<Switch>) =
                        std::mem::take(&mut self.switches)
                            .into_iter()
                            .partition(|s| s.at <= now);
                    self.switches = wait;
                    for s in switch {
                        self.install(now, s.negotiated_at, s.info, Some(s.rekey_of), true, out);
                    }
                    let (due, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.old_deletes)
                        .into_iter()
                        .partition(|(at, _)| *at <= now);
                    self.old_deletes = wait;
                    let spis: Vec<u32> = due.into_iter().map(|(_, spi)| spi).collect();
                    self.send_delete_esp(&spis, rng, out);
                    let due: Vec<(u32, u32)> = self
                        .children
                        .iter_mut()
                        .filter(|c| {
                            !c.rekeyed
                                && c.withdrawn.is_none()
                                && c.rekey_at.is_some_and(|at| at <= now)
                        })
                        .map(|c| {
                            c.rekey_at = None;
                            (c.info.spi_in, c.info.spi_out)
                        })
                        .collect();
                    for r in due {
                        self.queue.push(Request::Quick { rekey_of: Some(r) });
                    }
                    self.arm_child_timers();
                    self.pump(now, out, rng);
                }
                Timer::HardExpire => {
                    if self.ike_expire_at.is_some_and(|at| at <= now) {
                        info!(tunnel = %self.tunnel, "ISAKMP SA lifetime expired");
                        self.delete_all(out, rng);
                        self.close(now, DownReason::LocalDelete, out);
                        return;
                    }
                    let expired: Vec<usize> = (0..self.children.len())
                        .filter(|&i| self.children[i].expire_at.is_some_and(|at| at <= now))
                        .collect();
                    for i in expired.into_iter().rev() {
                        let c = self.children.remove(i);
                        self.send_delete_esp(&[c.info.spi_in], rng, out);
                        out.events.push_back(Event::ChildDeleted {
                            tunnel: self.tunnel,
                            spi_in: c.info.spi_in,
                            spi_out: c.info.spi_out,
                        });
                    }
                    self.arm_child_timers();
                }
                Timer::Reinitiate => {}
            }
        }
    }

    fn retransmit(&mut self, now: Instant, out: &mut Output) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        let rc = self.cfg.retransmit;
        if p.retransmits >= rc.max_retransmits {
            let exchange = p.exchange;
            let retransmits = p.retransmits;
            self.pending = None;
            if self.is_established() {
                // A quick mode nobody answers: DPD decides about the peer (R-TUN-5).
                self.quick
                    .retain(|_, q| !matches!(q.state, QmState::ExpectQm2 { .. }));
                self.child_failed(
                    NegotiationError::NoResponse {
                        peer: self.remote,
                        retransmits,
                        exchange,
                    },
                    out,
                );
                return;
            }
            let e = if matches!(self.state, P1State::ExpectMm6 { .. }) {
                // RFC 2409 §5: a responder with another PSK cannot decrypt MM5 and stays silent.
                NegotiationError::NoResponse {
                    peer: self.remote,
                    retransmits,
                    exchange: "Main Mode MM5 (IDii, HASH_I): the peer answered MM1-MM4 but not the encrypted MM5, which it could not decrypt or verify: pre-shared key mismatch (or our ID is not the one it expects)",
                }
            } else {
                NegotiationError::NoResponse {
                    peer: self.remote,
                    retransmits,
                    exchange,
                }
            };
            self.close(now, DownReason::Failed(e), out);
            return;
        }
        p.retransmits += 1;
        p.interval = p
            .interval
            .saturating_mul(rc.backoff.max(1))
            .min(rc.max_interval);
        p.due = now + p.interval;
        let bytes = p.bytes.clone();
        debug!(tunnel = %self.tunnel, exchange = p.exchange, n = p.retransmits, "retransmitting");
        self.send(&bytes, out);
    }

    /// Closes the SA: CHILD SAs are reported deleted, then IKE down (or a failure).
    pub fn close(&mut self, _now: Instant, reason: DownReason, out: &mut Output) {
        if self.is_closed() {
            return;
        }
        let was_up = self.is_established();
        self.state = P1State::Closed;
        self.pending = None;
        self.timers = TimerTable::default();
        for c in self.children.drain(..) {
            out.events.push_back(Event::ChildDeleted {
                tunnel: self.tunnel,
                spi_in: c.info.spi_in,
                spi_out: c.info.spi_out,
            });
        }
        // Inbound SAs handed out ahead of their CHILD SA (InboundFirst) go too.
        let early =
            self.switches
                .drain(..)
                .map(|s| (s.info.spi_in, s.info.spi_out))
                .chain(std::mem::take(&mut self.quick).into_values().filter_map(
                    |q| match q.state {
                        QmState::ExpectQm3 { child, .. } => Some((child.spi_in, child.spi_out)),
                        QmState::ExpectQm2 { .. } => None,
                    },
                ));
        for (spi_in, spi_out) in early {
            out.events.push_back(Event::ChildDeleted {
                tunnel: self.tunnel,
                spi_in,
                spi_out,
            });
        }
        if let DownReason::Failed(e) = &reason {
            if !was_up || matches!(e, NegotiationError::PeerDead { .. }) {
                out.events.push_back(Event::NegotiationFailed {
                    tunnel: self.tunnel,
                    error: e.clone(),
                });
            }
        }
        if was_up || !matches!(reason, DownReason::Failed(_)) {
            out.events.push_back(Event::IkeDown {
                tunnel: self.tunnel,
                reason,
            });
        }
    }

    /// Closes without touching the CHILD SAs (they moved to the SA that replaced this one).
    pub fn retire(&mut self) {
        self.state = P1State::Closed;
        self.pending = None;
        self.timers = TimerTable::default();
        self.children.clear();
    }

    /// An error handling a message: negotiation failures close the SA with the explanation.
    pub fn on_error(
        &mut self,
        now: Instant,
        e: Error,
        out: &mut Output,
        rng: &mut dyn CryptoRngCore,
    ) {
        match e {
            Error::PeerIncompatible(n) => {
                info!(tunnel = %self.tunnel, error = %n, "phase 1 failed");
                if self.is_established() {
                    self.child_failed(n, out);
                    return;
                }
                let ty = match &n {
                    NegotiationError::PeerIdMismatch { .. } => {
                        Some(NotifyType::INVALID_ID_INFORMATION)
                    }
                    NegotiationError::PskMismatch { .. } => {
                        Some(NotifyType::INVALID_HASH_INFORMATION)
                    }
                    _ => None,
                };
                if let Some(ty) = ty {
                    // In the clear: the peer may not share our keys (RFC 2408 §5).
                    self.send_plain_notify(ty, out);
                }
                let _ = rng;
                self.state = P1State::ExpectMm2 { sai_b: Vec::new() };
                self.close(now, DownReason::Failed(n), out);
            }
            other => debug!(tunnel = %self.tunnel, error = %other, "message dropped"),
        }
    }

    fn send_plain_notify(&self, ty: NotifyType, out: &mut Output) {
        let n = Notify {
            doi: super::wire::Doi::IPSEC,
            protocol: ProtocolId::ISAKMP,
            spi: self.cookies().to_vec(),
            ty,
            data: Vec::new(),
        };
        let hdr = self.header(ExchangeType::INFORMATIONAL, 0);
        if let Ok(b) = self.plain(hdr, &[Payload::Notify(n)]) {
            self.send(&b, out);
        }
    }

    /// Takes over CHILD SAs from a replaced ISAKMP SA (phase-1 rekey; IKEv1 CHILD SAs do not
    /// depend on the ISAKMP SA that created them).
    pub fn adopt(&mut self, moved: Moved) {
        let seq = self.dpd_seq;
        self.children
            .extend(moved.children.into_iter().map(|mut c| {
                // A withdrawn SA waits for an answer to one of this SA's R-U-THEREs now.
                if c.withdrawn.is_some() {
                    c.withdrawn = Some(seq);
                }
                c
            }));
        self.old_deletes.extend(moved.old_deletes);
        self.arm_child_timers();
    }

    /// The CHILD SAs, for the ISAKMP SA that replaces this one. Our rekeys waiting for their
    /// outbound switch complete now (the peer has had their QM3 for the time it took to
    /// establish a new phase 1); the DELETEs of the SAs they replaced move along.
    pub fn take_children(&mut self, now: Instant, out: &mut Output) -> Moved {
        for s in std::mem::take(&mut self.switches) {
            self.install(now, s.negotiated_at, s.info, Some(s.rekey_of), true, out);
        }
        Moved {
            children: std::mem::take(&mut self.children),
            old_deletes: std::mem::take(&mut self.old_deletes),
        }
    }

    pub fn uses_natt(&self) -> bool {
        self.uses_natt_port()
    }
}

/// A plain notify for a message we refuse before any SA exists (RFC 2408 §5).
pub(crate) fn plain_refusal(cky_i: Cookie, ty: NotifyType) -> Option<Vec<u8>> {
    let n = Notify {
        doi: super::wire::Doi::IPSEC,
        protocol: ProtocolId::ISAKMP,
        spi: Vec::new(),
        ty,
        data: Vec::new(),
    };
    Message {
        header: Header::new(
            cky_i,
            Cookie::ZERO,
            ExchangeType::INFORMATIONAL,
            Flags(0),
            0,
        ),
        body: Body::Plain(vec![Payload::Notify(n)]),
    }
    .encode()
    .ok()
}

fn sa_body(sa: &Sa) -> Result<Vec<u8>, Error> {
    let b = chain(&[Payload::Sa(sa.clone())])?;
    Ok(b.get(4..).unwrap_or_default().to_vec())
}

fn chain(pls: &[Payload]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode_chain(pls, &mut out).map_err(|_| Error::ApiMisuse("payload encoding failed"))?;
    Ok(out)
}

fn plain_with_spans(data: &[u8]) -> Result<(Vec<Payload>, Vec<super::wire::PayloadSpan>), Error> {
    let first = PayloadType(
        *data
            .get(16)
            .ok_or_else(|| Error::InvalidMessage("short".into()))?,
    );
    let body = data.get(HEADER_LEN..).unwrap_or_default();
    decode_with_spans(first, body).map_err(|e| Error::InvalidMessage(e.to_string()))
}

fn find_sa(pls: &[Payload]) -> Result<&Sa, Error> {
    pls.iter()
        .find_map(|p| match p {
            Payload::Sa(s) => Some(s),
            _ => None,
        })
        .ok_or_else(|| proto("missing SA payload"))
}

fn find_ke(pls: &[Payload]) -> Result<&[u8], Error> {
    pls.iter()
        .find_map(|p| match p {
            Payload::Ke(k) => Some(k.as_slice()),
            _ => None,
        })
        .ok_or_else(|| proto("missing KE payload"))
}

fn find_nonce(pls: &[Payload]) -> Result<&[u8], Error> {
    let n = pls
        .iter()
        .find_map(|p| match p {
            Payload::Nonce(k) => Some(k.as_slice()),
            _ => None,
        })
        .ok_or_else(|| proto("missing Nonce payload"))?;
    // RFC 2409 §5: nonces are 8 to 256 octets.
    if !(8..=256).contains(&n.len()) {
        return Err(proto("nonce length outside 8..=256"));
    }
    Ok(n)
}

fn find_id(pls: &[Payload]) -> Result<&Identification, Error> {
    pls.iter()
        .find_map(|p| match p {
            Payload::Id(i) => Some(i),
            _ => None,
        })
        .ok_or_else(|| proto("missing ID payload"))
}

fn id_and_hash(pls: &[Payload]) -> Result<(&Identification, &[u8]), Error> {
    let id = find_id(pls)?;
    let h = pls
        .iter()
        .find_map(|p| match p {
            Payload::Hash(h) => Some(h.as_slice()),
            _ => None,
        })
        .ok_or_else(|| proto("missing HASH payload"))?;
    Ok((id, h))
}

fn responder_lifetime(pls: &[Payload]) -> Option<Duration> {
    for p in pls {
        let Payload::Notify(n) = p else { continue };
        if n.ty != NotifyType::RESPONDER_LIFETIME {
            continue;
        }
        // Attributes: pairs of (life type, life duration); seconds only.
        let mut i = 0;
        let mut seconds = false;
        while i + 4 <= n.data.len() {
            let ty = u16::from_be_bytes([n.data[i], n.data[i + 1]]);
            let v = u16::from_be_bytes([n.data[i + 2], n.data[i + 3]]);
            let (val, len) = if ty & 0x8000 != 0 {
                (u64::from(v), 4)
            } else {
                let l = usize::from(v);
                let b = n.data.get(i + 4..i + 4 + l)?;
                if l > 8 {
                    return None;
                }
                (b.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)), 4 + l)
            };
            match ty & 0x7fff {
                1 => seconds = val == 1,
                2 if seconds => return Some(Duration::from_secs(val)),
                _ => {}
            }
            i += len;
        }
    }
    None
}

fn gen_dh(group: DhId, rng: &mut dyn CryptoRngCore) -> Result<DhPrivate, Error> {
    let g = DhGroup::new(group).map_err(|_| {
        Error::PeerIncompatible(NegotiationError::Protocol(format!(
            "unsupported DH group {}",
            group.0
        )))
    })?;
    DhPrivate::generate(g, rng).map_err(|_| Error::ApiMisuse("DH key generation failed"))
}

/// SKEYID and friends, the ISAKMP encryption key and the phase-1 IV (RFC 2409 §5, App. B).
#[allow(clippy::too_many_arguments)]
fn derive_keys(
    cfg: &TunnelConfig,
    chosen: IkeProposal,
    ni: &[u8],
    nr: &[u8],
    g_xy: &Secret,
    cky_i: Cookie,
    cky_r: Cookie,
    g_xi: &[u8],
    g_xr: &[u8],
) -> Result<Keys, Error> {
    let hash = hash_alg(chosen.prf);
    let prf = Prf::from_hash(hash);
    let cipher = Cipher::new(chosen.encr, chosen.key_bits)
        .map_err(|_| Error::ApiMisuse("unsupported phase-1 cipher"))?;
    let skeyid = kdf::skeyid_psk(prf, cfg.psk.as_bytes(), ni, nr);
    let ids = kdf::derive_skeyids(
        prf,
        skeyid.as_bytes(),
        g_xy.as_bytes(),
        &cky_i.0.to_be_bytes(),
        &cky_r.0.to_be_bytes(),
    );
    let ka = kdf::encryption_key(prf, ids.skeyid_e.as_bytes(), cipher)
        .map_err(|_| Error::ApiMisuse("phase-1 key expansion failed"))?;
    let key = match cipher.key(ka.as_bytes()) {
        Ok(CipherKey::Cbc(k)) => k,
        _ => return Err(Error::ApiMisuse("phase-1 cipher must be CBC")),
    };
    let p1_iv = kdf::phase1_iv(hash, g_xi, g_xr, cipher);
    Ok(Keys {
        prf,
        hash,
        cipher,
        key,
        skeyid,
        skeyid_d: ids.skeyid_d,
        skeyid_a: ids.skeyid_a,
        p1_iv,
    })
}

/// The phase-1 hash of a PRF we negotiate (only the five of [`super::proposal`]'s table are
/// ever chosen; anything else falls back to SHA-1 and cannot be selected).
fn hash_alg(prf: dualsec_crypto::PrfId) -> HashAlg {
    match prf {
        dualsec_crypto::PrfId::HMAC_MD5 => HashAlg::Md5,
        dualsec_crypto::PrfId::HMAC_SHA2_256 => HashAlg::Sha256,
        dualsec_crypto::PrfId::HMAC_SHA2_384 => HashAlg::Sha384,
        dualsec_crypto::PrfId::HMAC_SHA2_512 => HashAlg::Sha512,
        _ => HashAlg::Sha1,
    }
}
