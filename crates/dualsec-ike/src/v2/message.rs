//! The state machine's view of one IKE message: a header and a list of decoded payloads.
//!
//! This is a thin adapter over [`super::wire`]: the codec owns the bytes, this module owns the
//! shapes the state machine matches on ([`Pl`]) and the SK payload protection with the IKE SA's
//! keys ([`super::keys::IkeKeys`]).

use std::net::{IpAddr, SocketAddr};

use dualsec_crypto::HashAlg;

use super::config::TrafficSelector;
use super::error::Error;
use super::proposal::{Offer, Protocol, Xform};
use super::wire::{
    self, Auth, AuthMethod, DecodeError, Delete, ExchangeType, Header, HeaderView, IdType,
    Identification, KeyExchange, Message, Nonce, NotifyType, Payload, PayloadType, Proposal,
    ProtocolId, Sa, TrafficSelectors, Transform, TransformId, TransformType, TsAddrRange,
};

/// One payload, as the state machine needs it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Pl {
    Sa(Vec<Offer>),
    Ke {
        group: u16,
        data: Vec<u8>,
    },
    Nonce(Vec<u8>),
    IdI {
        id_type: u8,
        data: Vec<u8>,
    },
    IdR {
        id_type: u8,
        data: Vec<u8>,
    },
    Auth {
        method: u8,
        data: Vec<u8>,
    },
    Notify {
        protocol: u8,
        spi: Vec<u8>,
        ntype: NotifyType,
        data: Vec<u8>,
    },
    Delete {
        protocol: u8,
        spis: Vec<u32>,
    },
    TsI(Vec<TrafficSelector>),
    TsR(Vec<TrafficSelector>),
    /// Anything else (vendor IDs, CP, unknown non-critical payloads): ignored.
    Other,
}

/// A decoded message.
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    pub spi_i: u64,
    pub spi_r: u64,
    pub exchange: ExchangeType,
    /// Sent by the original initiator.
    pub from_initiator: bool,
    pub response: bool,
    pub msg_id: u32,
    pub payloads: Vec<Pl>,
}

impl Msg {
    pub fn notify(&self, t: NotifyType) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Pl::Notify { ntype, data, .. } if *ntype == t => Some(data.as_slice()),
            _ => None,
        })
    }

    pub fn has_notify(&self, t: NotifyType) -> bool {
        self.notify(t).is_some()
    }

    /// The first error notify (type < 16384), if any.
    pub fn error_notify(&self) -> Option<NotifyType> {
        self.payloads.iter().find_map(|p| match p {
            Pl::Notify { ntype, .. } if ntype.is_error() => Some(*ntype),
            _ => None,
        })
    }

    pub fn notifies(&self, t: NotifyType) -> impl Iterator<Item = &[u8]> {
        self.payloads.iter().filter_map(move |p| match p {
            Pl::Notify { ntype, data, .. } if *ntype == t => Some(data.as_slice()),
            _ => None,
        })
    }

    pub fn sa(&self) -> Option<&[Offer]> {
        self.payloads.iter().find_map(|p| match p {
            Pl::Sa(o) => Some(o.as_slice()),
            _ => None,
        })
    }

    pub fn ke(&self) -> Option<(u16, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Pl::Ke { group, data } => Some((*group, data.as_slice())),
            _ => None,
        })
    }

    pub fn nonce(&self) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Pl::Nonce(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    pub fn tsi(&self) -> Option<&[TrafficSelector]> {
        self.payloads.iter().find_map(|p| match p {
            Pl::TsI(t) => Some(t.as_slice()),
            _ => None,
        })
    }

    pub fn tsr(&self) -> Option<&[TrafficSelector]> {
        self.payloads.iter().find_map(|p| match p {
            Pl::TsR(t) => Some(t.as_slice()),
            _ => None,
        })
    }

    pub fn auth(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Pl::Auth { method, data } => Some((*method, data.as_slice())),
            _ => None,
        })
    }

    pub fn idi(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Pl::IdI { id_type, data } => Some((*id_type, data.as_slice())),
            _ => None,
        })
    }

    pub fn idr(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Pl::IdR { id_type, data } => Some((*id_type, data.as_slice())),
            _ => None,
        })
    }

    pub fn deletes(&self) -> impl Iterator<Item = (u8, &[u32])> {
        self.payloads.iter().filter_map(|p| match p {
            Pl::Delete { protocol, spis } => Some((*protocol, spis.as_slice())),
            _ => None,
        })
    }
}

/// A notify payload about the IKE SA (no SPI).
pub(crate) fn notify(ntype: NotifyType, data: Vec<u8>) -> Pl {
    Pl::Notify {
        protocol: 0,
        spi: Vec::new(),
        ntype,
        data,
    }
}

impl Msg {
    /// The header fields of a datagram, without payloads (for dispatch; SK is opened later).
    pub fn from_view(v: &HeaderView<'_>) -> Msg {
        Msg {
            spi_i: v.spi_i().0,
            spi_r: v.spi_r().0,
            exchange: v.exchange(),
            from_initiator: v.flags().initiator(),
            response: v.flags().response(),
            msg_id: v.message_id(),
            payloads: Vec::new(),
        }
    }

    /// Decodes a whole unprotected message (IKE_SA_INIT).
    pub fn decode_plain(datagram: &[u8]) -> Result<Msg, DecodeError> {
        let m = Message::decode(datagram)?;
        let h = m.header;
        Ok(Msg {
            spi_i: h.spi_i.0,
            spi_r: h.spi_r.0,
            exchange: h.exchange,
            from_initiator: h.flags.initiator(),
            response: h.flags.response(),
            msg_id: h.message_id,
            payloads: m.payloads.into_iter().map(from_wire).collect(),
        })
    }
}

/// Decodes the inner payload chain of an opened SK payload.
pub(crate) fn decode_inner(first: PayloadType, bytes: &[u8]) -> Result<Vec<Pl>, DecodeError> {
    Ok(wire::decode_payloads(first, bytes)?
        .into_iter()
        .map(from_wire)
        .collect())
}

/// Encodes an unprotected message.
pub(crate) fn encode_plain(header: &Header, pls: &[Pl]) -> Result<Vec<u8>, Error> {
    let m = Message {
        header: *header,
        payloads: pls.iter().map(to_wire).collect(),
    };
    m.encode().map_err(|e| Error::ApiMisuse(leak(e)))
}

/// Encodes a payload chain for an SK payload.
pub(crate) fn encode_inner(pls: &[Pl]) -> Result<(PayloadType, Vec<u8>), Error> {
    let w: Vec<Payload> = pls.iter().map(to_wire).collect();
    wire::encode_payloads(&w).map_err(|e| Error::ApiMisuse(leak(e)))
}

fn leak(_e: wire::EncodeError) -> &'static str {
    "a payload we built does not fit its length field"
}

/// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | Port) (RFC 7296 §2.23).
pub(crate) fn nat_hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> Vec<u8> {
    let ip = match addr.ip() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    HashAlg::Sha1
        .digest(&[
            &spi_i.to_be_bytes(),
            &spi_r.to_be_bytes(),
            &ip,
            &addr.port().to_be_bytes(),
        ])
        .as_ref()
        .to_vec()
}

fn ts_from_wire(t: &TrafficSelectors) -> Vec<TrafficSelector> {
    t.ranges()
        .map(|r| TrafficSelector {
            ip_protocol: r.ip_protocol,
            start_port: r.start_port,
            end_port: r.end_port,
            start_addr: r.start,
            end_addr: r.end,
        })
        .collect()
}

fn ts_to_wire(t: &[TrafficSelector]) -> TrafficSelectors {
    TrafficSelectors::from_ranges(t.iter().map(|s| TsAddrRange {
        ip_protocol: s.ip_protocol,
        start_port: s.start_port,
        end_port: s.end_port,
        start: s.start_addr,
        end: s.end_addr,
    }))
}

fn from_wire(p: Payload) -> Pl {
    match p {
        Payload::Sa(sa) => Pl::Sa(
            sa.proposals
                .into_iter()
                .map(|p| Offer {
                    number: p.number,
                    protocol: Protocol::from_id(p.protocol.0),
                    transforms: p
                        .transforms
                        .iter()
                        .map(|t| Xform {
                            ttype: t.id.transform_type().0,
                            id: t.id.raw_id(),
                            key_bits: t.key_length(),
                        })
                        .collect(),
                    spi: p.spi,
                })
                .collect(),
        ),
        Payload::Ke(k) => Pl::Ke {
            group: k.group.0,
            data: k.data,
        },
        Payload::Nonce(n) => Pl::Nonce(n.0),
        Payload::IdI(i) => Pl::IdI {
            id_type: i.ty.0,
            data: i.data,
        },
        Payload::IdR(i) => Pl::IdR {
            id_type: i.ty.0,
            data: i.data,
        },
        Payload::Auth(a) => Pl::Auth {
            method: a.method.0,
            data: a.data,
        },
        Payload::Notify(n) => Pl::Notify {
            protocol: n.protocol.0,
            spi: n.spi,
            ntype: n.ty,
            data: n.data,
        },
        Payload::Delete(d) => Pl::Delete {
            protocol: d.protocol.0,
            spis: d.spis,
        },
        Payload::TsI(t) => Pl::TsI(ts_from_wire(&t)),
        Payload::TsR(t) => Pl::TsR(ts_from_wire(&t)),
        _ => Pl::Other,
    }
}

fn to_wire(p: &Pl) -> Payload {
    match p {
        Pl::Sa(offers) => Payload::Sa(Sa {
            proposals: offers
                .iter()
                .map(|o| Proposal {
                    number: o.number,
                    protocol: ProtocolId(o.protocol.id()),
                    spi: o.spi.clone(),
                    transforms: o
                        .transforms
                        .iter()
                        .map(|t| {
                            let id = TransformId::from_wire(TransformType(t.ttype), t.id);
                            match t.key_bits {
                                Some(b) => Transform::with_key_length(id, b),
                                None => Transform::new(id),
                            }
                        })
                        .collect(),
                })
                .collect(),
        }),
        Pl::Ke { group, data } => Payload::Ke(KeyExchange {
            group: wire::DhId(*group),
            data: data.clone(),
        }),
        Pl::Nonce(n) => Payload::Nonce(Nonce(n.clone())),
        Pl::IdI { id_type, data } => {
            Payload::IdI(Identification::new(IdType(*id_type), data.clone()))
        }
        Pl::IdR { id_type, data } => {
            Payload::IdR(Identification::new(IdType(*id_type), data.clone()))
        }
        Pl::Auth { method, data } => Payload::Auth(Auth {
            method: AuthMethod(*method),
            data: data.clone(),
        }),
        Pl::Notify {
            protocol,
            spi,
            ntype,
            data,
        } => Payload::Notify(wire::Notify {
            protocol: ProtocolId(*protocol),
            spi: spi.clone(),
            ty: *ntype,
            data: data.clone(),
        }),
        Pl::Delete { protocol, spis } => Payload::Delete(Delete {
            protocol: ProtocolId(*protocol),
            spis: spis.clone(),
        }),
        Pl::TsI(t) => Payload::TsI(ts_to_wire(t)),
        Pl::TsR(t) => Payload::TsR(ts_to_wire(t)),
        Pl::Other => Payload::VendorId(wire::VendorId(Vec::new())),
    }
}
