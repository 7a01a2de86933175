//! UPDATE (RFC 4271 §4.3) and its path attributes (RFC 4271 §5, RFC 1997, RFC 6793), with the
//! revised error handling of RFC 7606.
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//!
//! Path attribute:
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +---------------+---------------+---------------------------+
//! |  Attr. Flags  |Attr. Type Code| Length (1, or 2 if Ext.)  | Value
//! +---------------+---------------+---------------------------+
//! Flags: O(ptional) T(ransitive) P(artial) E(xtended length) 0 0 0 0
//! ```

use std::net::Ipv4Addr;

use super::notification::UpdateSubcode;
use super::{Codec, DecodeError, Reader};
use crate::asn::Asn;
use crate::prefix::Ipv4Prefix;

const OPTIONAL: u8 = 0x80;
const TRANSITIVE: u8 = 0x40;
const PARTIAL: u8 = 0x20;
const EXTENDED_LENGTH: u8 = 0x10;

dualsec_crypto::open_enum! {
    /// BGP Path Attribute type codes (IANA).
    pub struct AttrType(u8) {
        ORIGIN = 1,
        AS_PATH = 2,
        NEXT_HOP = 3,
        MULTI_EXIT_DISC = 4,
        LOCAL_PREF = 5,
        ATOMIC_AGGREGATE = 6,
        AGGREGATOR = 7,
        COMMUNITIES = 8,
        MP_REACH_NLRI = 14,
        MP_UNREACH_NLRI = 15,
        AS4_PATH = 17,
        AS4_AGGREGATOR = 18,
    }
}

dualsec_crypto::open_enum! {
    /// ORIGIN values (RFC 4271 §5.1.1).
    pub struct Origin(u8) {
        IGP = 0,
        EGP = 1,
        INCOMPLETE = 2,
    }
}

dualsec_crypto::open_enum! {
    /// AS_PATH segment types (RFC 4271 §4.3, RFC 5065).
    pub struct SegmentType(u8) {
        AS_SET = 1,
        AS_SEQUENCE = 2,
        AS_CONFED_SEQUENCE = 3,
        AS_CONFED_SET = 4,
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsSegment {
    /// Segment type.
    pub kind: SegmentType,
    /// 1..=255 AS numbers.
    pub asns: Vec<Asn>,
}

/// An AS_PATH or AS4_PATH.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsPath {
    /// Segments, leftmost (most recent) first.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path that is one AS_SEQUENCE (or empty for no ASNs, as for iBGP origination).
    pub fn sequence(asns: Vec<Asn>) -> Self {
        if asns.is_empty() {
            return Self::default();
        }
        Self {
            segments: vec![AsSegment {
                kind: SegmentType::AS_SEQUENCE,
                asns,
            }],
        }
    }

    /// Path length for best-path selection and the AS4_PATH merge: an AS_SET counts 1,
    /// confederation segments 0 (RFC 4271 §9.1.2.2, RFC 6793 §4.2.3).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::AS_SEQUENCE => s.asns.len(),
                SegmentType::AS_SET => 1,
                _ => 0,
            })
            .sum()
    }

    /// Whether `asn` appears anywhere (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: Asn) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// The leftmost AS of a leading AS_SEQUENCE (RFC 4271 §6.3: the neighbor's AS).
    pub fn first_asn(&self) -> Option<Asn> {
        self.segments
            .first()
            .filter(|s| s.kind == SegmentType::AS_SEQUENCE)
            .and_then(|s| s.asns.first().copied())
    }

    /// Whether every ASN fits 2 octets.
    pub fn is_two_octet(&self) -> bool {
        self.segments
            .iter()
            .all(|s| s.asns.iter().all(|a| a.is_two_octet()))
    }

    /// The path with `asn` prepended (RFC 4271 §5.1.2 for an eBGP advertisement).
    pub fn prepended(&self, asn: Asn) -> Self {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(s) if s.kind == SegmentType::AS_SEQUENCE && s.asns.len() < 255 => {
                s.asns.insert(0, asn);
            }
            _ => segments.insert(
                0,
                AsSegment {
                    kind: SegmentType::AS_SEQUENCE,
                    asns: vec![asn],
                },
            ),
        }
        Self { segments }
    }

    /// The real path from an OLD (2-octet) speaker's AS_PATH and AS4_PATH (RFC 6793 §4.2.3):
    /// if AS_PATH is shorter than AS4_PATH, AS4_PATH is ignored; otherwise the leading ASNs of
    /// AS_PATH that AS4_PATH does not cover are kept and AS4_PATH follows.
    pub fn merge_as4(as_path: &AsPath, as4_path: Option<&AsPath>) -> AsPath {
        let Some(as4) = as4_path else {
            return as_path.clone();
        };
        let (n, n4) = (as_path.path_len(), as4.path_len());
        if n < n4 {
            return as_path.clone();
        }
        let mut keep = n - n4;
        let mut segments = Vec::new();
        for s in &as_path.segments {
            if keep == 0 {
                break;
            }
            match s.kind {
                SegmentType::AS_SEQUENCE => {
                    let take = keep.min(s.asns.len());
                    segments.push(AsSegment {
                        kind: s.kind,
                        asns: s.asns[..take].to_vec(),
                    });
                    keep -= take;
                }
                SegmentType::AS_SET => {
                    segments.push(s.clone());
                    keep -= 1;
                }
                _ => segments.push(s.clone()),
            }
        }
        let mut rest = as4.segments.iter().cloned();
        // Join the kept leading AS_SEQUENCE with AS4_PATH's first one when they fit one segment.
        if let (Some(last), Some(first)) = (segments.last_mut(), as4.segments.first()) {
            if last.kind == SegmentType::AS_SEQUENCE
                && first.kind == SegmentType::AS_SEQUENCE
                && last.asns.len() + first.asns.len() <= 255
            {
                last.asns.extend_from_slice(&first.asns);
                rest.next();
            }
        }
        segments.extend(rest);
        AsPath { segments }
    }

    fn encode(&self, four_octet: bool, out: &mut Vec<u8>) {
        for s in &self.segments {
            // Segments longer than 255 are split (the count is one octet).
            for chunk in s.asns.chunks(255) {
                out.push(s.kind.0);
                out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                for a in chunk {
                    if four_octet {
                        out.extend_from_slice(&a.0.to_be_bytes());
                    } else {
                        out.extend_from_slice(&a.to_u16_or_trans().to_be_bytes());
                    }
                }
            }
        }
    }

    fn decode(value: &[u8], four_octet: bool) -> Result<Self, &'static str> {
        let mut r = Reader::new(value);
        let mut segments = Vec::new();
        while !r.is_empty() {
            let kind = SegmentType(r.u8().ok_or("truncated segment header")?);
            let count = r.u8().ok_or("truncated segment header")?;
            if kind.name().is_none() {
                return Err("unknown segment type");
            }
            if count == 0 {
                return Err("empty segment"); // RFC 7606 §7.2
            }
            let mut asns = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let a = if four_octet {
                    r.u32()
                } else {
                    r.u16().map(u32::from)
                };
                asns.push(Asn(a.ok_or("segment overruns the attribute")?));
            }
            segments.push(AsSegment { kind, asns });
        }
        Ok(Self { segments })
    }
}

/// An attribute we do not interpret, kept to be passed on (RFC 4271 §5: optional transitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAttribute {
    /// Flags as received, without the Extended Length bit and the low nibble (recomputed on
    /// encode).
    pub flags: u8,
    /// Type code.
    pub type_code: AttrType,
    /// Value.
    pub value: Vec<u8>,
}

/// The path attributes of an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathAttributes {
    /// ORIGIN (well-known mandatory).
    pub origin: Option<Origin>,
    /// AS_PATH (well-known mandatory), in the session's AS width.
    pub as_path: Option<AsPath>,
    /// NEXT_HOP (well-known mandatory).
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC (optional non-transitive).
    pub med: Option<u32>,
    /// LOCAL_PREF (well-known, iBGP only).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR: AS (AS_TRANS possible on 2-octet sessions) and router id.
    pub aggregator: Option<(Asn, Ipv4Addr)>,
    /// COMMUNITIES (RFC 1997); empty = absent.
    pub communities: Vec<u32>,
    /// AS4_PATH (RFC 6793), only meaningful from a 2-octet speaker.
    pub as4_path: Option<AsPath>,
    /// AS4_AGGREGATOR (RFC 6793).
    pub as4_aggregator: Option<(Asn, Ipv4Addr)>,
    /// Unrecognized optional transitive attributes, by type code.
    pub unknown: Vec<RawAttribute>,
}

impl PathAttributes {
    /// No attribute at all (a withdraw-only UPDATE).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn encode(&self, four_octet: bool, out: &mut Vec<u8>) {
        let wk = TRANSITIVE;
        let ot = OPTIONAL | TRANSITIVE;
        let mut attrs: Vec<(u8, AttrType, Vec<u8>)> = Vec::new();
        if let Some(o) = self.origin {
            attrs.push((wk, AttrType::ORIGIN, vec![o.0]));
        }
        if let Some(p) = &self.as_path {
            let mut v = Vec::new();
            p.encode(four_octet, &mut v);
            attrs.push((wk, AttrType::AS_PATH, v));
        }
        if let Some(nh) = self.next_hop {
            attrs.push((wk, AttrType::NEXT_HOP, nh.octets().to_vec()));
        }
        if let Some(m) = self.med {
            attrs.push((
                OPTIONAL,
                AttrType::MULTI_EXIT_DISC,
                m.to_be_bytes().to_vec(),
            ));
        }
        if let Some(lp) = self.local_pref {
            attrs.push((wk, AttrType::LOCAL_PREF, lp.to_be_bytes().to_vec()));
        }
        if self.atomic_aggregate {
            attrs.push((wk, AttrType::ATOMIC_AGGREGATE, Vec::new()));
        }
        if let Some((asn, id)) = self.aggregator {
            let mut v = Vec::new();
            if four_octet {
                v.extend_from_slice(&asn.0.to_be_bytes());
            } else {
                v.extend_from_slice(&asn.to_u16_or_trans().to_be_bytes());
            }
            v.extend_from_slice(&id.octets());
            attrs.push((ot, AttrType::AGGREGATOR, v));
        }
        if !self.communities.is_empty() {
            let v = self
                .communities
                .iter()
                .flat_map(|c| c.to_be_bytes())
                .collect();
            attrs.push((ot, AttrType::COMMUNITIES, v));
        }
        if let Some(p) = &self.as4_path {
            let mut v = Vec::new();
            p.encode(true, &mut v);
            attrs.push((ot, AttrType::AS4_PATH, v));
        }
        if let Some((asn, id)) = self.as4_aggregator {
            let mut v = asn.0.to_be_bytes().to_vec();
            v.extend_from_slice(&id.octets());
            attrs.push((ot, AttrType::AS4_AGGREGATOR, v));
        }
        for u in &self.unknown {
            attrs.push((
                u.flags & (OPTIONAL | TRANSITIVE | PARTIAL),
                u.type_code,
                u.value.clone(),
            ));
        }
        // RFC 4271 §5: ordered by type code (stable for repeated unknown codes).
        attrs.sort_by_key(|a| a.1);
        for (flags, ty, value) in attrs {
            match u8::try_from(value.len()) {
                Ok(len) => out.extend_from_slice(&[flags, ty.0, len]),
                Err(_) => {
                    out.extend_from_slice(&[flags | EXTENDED_LENGTH, ty.0]);
                    // Longer than 65535 cannot fit a 4096-octet message; encode() rejects it.
                    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
                    out.extend_from_slice(&len.to_be_bytes());
                }
            }
            out.extend_from_slice(&value);
        }
    }
}

/// What RFC 7606 says to do about a malformed attribute short of resetting the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrAction {
    /// Treat every NLRI of the UPDATE as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
    /// Drop the attribute and use the rest (RFC 7606 §2).
    Discard,
}

/// A malformed attribute that does not end the session (RFC 7606).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeError {
    /// Which attribute.
    pub attr: AttrType,
    /// The RFC 4271 §6.3 subcode it would have had, for logs.
    pub subcode: UpdateSubcode,
    /// What is wrong.
    pub reason: &'static str,
    /// How it is handled.
    pub action: AttrAction,
}

/// An UPDATE message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn routes.
    pub withdrawn: Vec<Ipv4Prefix>,
    /// Path attributes (for `nlri`).
    pub attributes: PathAttributes,
    /// Advertised prefixes.
    pub nlri: Vec<Ipv4Prefix>,
    /// Attribute errors handled per RFC 7606 (decode only; ignored on encode).
    pub errors: Vec<AttributeError>,
}

impl Update {
    /// Whether RFC 7606 says to treat the NLRI as withdrawn.
    pub fn treat_as_withdraw(&self) -> bool {
        self.errors
            .iter()
            .any(|e| e.action == AttrAction::TreatAsWithdraw)
    }

    pub(super) fn encode(&self, codec: Codec, out: &mut Vec<u8>) {
        let mut w = Vec::new();
        for p in &self.withdrawn {
            p.encode(&mut w);
        }
        let mut a = Vec::new();
        self.attributes.encode(codec.four_octet_as, &mut a);
        // Over-long parts make the message exceed 4096 octets, which Message::encode rejects.
        out.extend_from_slice(&u16::try_from(w.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&w);
        out.extend_from_slice(&u16::try_from(a.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&a);
        for p in &self.nlri {
            p.encode(out);
        }
    }
}

/// Prefixes packed as (length, significant octets) until the end (RFC 4271 §4.3).
fn decode_prefixes(buf: &[u8]) -> Result<Vec<Ipv4Prefix>, DecodeError> {
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    while !r.is_empty() {
        let len = r.u8().ok_or(DecodeError::InvalidNetworkField)?;
        if len > 32 {
            return Err(DecodeError::InvalidNetworkField);
        }
        let octets = r
            .take(usize::from(len).div_ceil(8))
            .ok_or(DecodeError::InvalidNetworkField)?;
        let mut addr = [0u8; 4];
        addr[..octets.len()].copy_from_slice(octets);
        // Trailing bits are irrelevant (RFC 4271 §4.3); new() clears them.
        out.push(
            Ipv4Prefix::new(Ipv4Addr::from(addr), len)
                .map_err(|_| DecodeError::InvalidNetworkField)?,
        );
    }
    Ok(out)
}

pub(super) fn decode(body: &[u8], codec: Codec) -> Result<Update, DecodeError> {
    let mut r = Reader::new(body);
    let too_long = DecodeError::MalformedAttributeList("lengths exceed the message");
    let wlen = r.u16().ok_or(too_long.clone())?;
    let withdrawn = r.take(usize::from(wlen)).ok_or(too_long.clone())?;
    let alen = r.u16().ok_or(too_long.clone())?;
    let attrs = r.take(usize::from(alen)).ok_or(too_long)?;
    let withdrawn = decode_prefixes(withdrawn)?;
    let nlri = decode_prefixes(r.rest())?;
    let mut errors = Vec::new();
    let attributes = decode_attributes(attrs, codec, &mut errors)?;
    let already_withdrawn = errors
        .iter()
        .any(|e| e.action == AttrAction::TreatAsWithdraw);
    if !nlri.is_empty() && !already_withdrawn {
        // RFC 7606 §3.d: a missing well-known mandatory attribute is treat-as-withdraw.
        let present = [
            (AttrType::ORIGIN, attributes.origin.is_some()),
            (AttrType::AS_PATH, attributes.as_path.is_some()),
            (AttrType::NEXT_HOP, attributes.next_hop.is_some()),
        ];
        for (attr, ok) in present {
            if !ok && !errors.iter().any(|e: &AttributeError| e.attr == attr) {
                errors.push(AttributeError {
                    attr,
                    subcode: UpdateSubcode::MISSING_WELL_KNOWN_ATTRIBUTE,
                    reason: "missing",
                    action: AttrAction::TreatAsWithdraw,
                });
            }
        }
    }
    Ok(Update {
        withdrawn,
        attributes,
        nlri,
        errors,
    })
}

fn decode_attributes(
    buf: &[u8],
    codec: Codec,
    errors: &mut Vec<AttributeError>,
) -> Result<PathAttributes, DecodeError> {
    let mut r = Reader::new(buf);
    let mut out = PathAttributes::default();
    let mut seen = [false; 256];
    while !r.is_empty() {
        // RFC 7606 §4: an attribute header or value overrunning the Total Path Attribute Length
        // is treat-as-withdraw; the NLRI is still located by that length.
        let header = (|| {
            let flags = r.u8()?;
            let ty = r.u8()?;
            let len = if flags & EXTENDED_LENGTH != 0 {
                r.u16()?
            } else {
                u16::from(r.u8()?)
            };
            Some((flags, AttrType(ty), r.take(usize::from(len))?))
        })();
        let Some((flags, ty, value)) = header else {
            errors.push(AttributeError {
                attr: AttrType(0),
                subcode: UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
                reason: "attribute overruns the path attributes",
                action: AttrAction::TreatAsWithdraw,
            });
            break;
        };
        if std::mem::replace(&mut seen[usize::from(ty.0)], true) {
            // RFC 7606 §3.g: keep the first, discard repeats.
            errors.push(AttributeError {
                attr: ty,
                subcode: UpdateSubcode::MALFORMED_ATTRIBUTE_LIST,
                reason: "repeated attribute",
                action: AttrAction::Discard,
            });
            continue;
        }
        match decode_attribute(flags, ty, value, codec, &mut out) {
            Ok(()) => {}
            Err((_, _, None)) => return Err(DecodeError::UnrecognizedWellKnown(ty)),
            Err((subcode, reason, Some(action))) => {
                errors.push(AttributeError {
                    attr: ty,
                    subcode,
                    reason,
                    action,
                });
            }
        }
    }
    // Canonical order (the order encode() writes), so a decoded UPDATE re-encodes and decodes to
    // the same value; type codes are unique here because repeats were discarded above.
    out.unknown.sort_by_key(|u| u.type_code);
    Ok(out)
}

/// `Err((subcode, reason, None))` means the session must be reset.
type AttrResult = Result<(), (UpdateSubcode, &'static str, Option<AttrAction>)>;

fn decode_attribute(
    flags: u8,
    ty: AttrType,
    value: &[u8],
    codec: Codec,
    out: &mut PathAttributes,
) -> AttrResult {
    use AttrAction::{Discard, TreatAsWithdraw};
    let class = flags & (OPTIONAL | TRANSITIVE);
    let (expected, on_error) = match ty {
        AttrType::ORIGIN | AttrType::AS_PATH | AttrType::NEXT_HOP | AttrType::LOCAL_PREF => {
            (TRANSITIVE, TreatAsWithdraw)
        }
        AttrType::MULTI_EXIT_DISC => (OPTIONAL, TreatAsWithdraw),
        AttrType::COMMUNITIES => (OPTIONAL | TRANSITIVE, TreatAsWithdraw),
        // RFC 7606 §7.6, §7.7, RFC 6793 §6: these are discarded when malformed.
        AttrType::ATOMIC_AGGREGATE => (TRANSITIVE, Discard),
        AttrType::AGGREGATOR | AttrType::AS4_PATH | AttrType::AS4_AGGREGATOR => {
            (OPTIONAL | TRANSITIVE, Discard)
        }
        _ if flags & OPTIONAL == 0 => {
            return Err((
                UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                "unrecognized well-known",
                None,
            ));
        }
        _ => {
            // RFC 4271 §5: unrecognized optional transitive attributes are passed on with Partial
            // set; non-transitive ones are quietly ignored.
            if flags & TRANSITIVE != 0 {
                out.unknown.push(RawAttribute {
                    flags: flags & (OPTIONAL | TRANSITIVE | PARTIAL),
                    type_code: ty,
                    value: value.to_vec(),
                });
            }
            return Ok(());
        }
    };
    let fail = |subcode, reason| Err((subcode, reason, Some(on_error)));
    if class != expected {
        return fail(
            UpdateSubcode::ATTRIBUTE_FLAGS_ERROR,
            "wrong attribute flags",
        ); // RFC 7606 §3.c
    }
    let len_err = UpdateSubcode::ATTRIBUTE_LENGTH_ERROR;
    let u32_of = |v: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(v.try_into().ok()?)) };
    let aggregator = |v: &[u8], four: bool| -> Option<(Asn, Ipv4Addr)> {
        let mut r = Reader::new(v);
        let asn = if four { r.u32()? } else { u32::from(r.u16()?) };
        let id = r.u32()?;
        r.is_empty().then_some((Asn(asn), Ipv4Addr::from(id)))
    };
    match ty {
        AttrType::ORIGIN => match value {
            [o] if Origin(*o).name().is_some() => out.origin = Some(Origin(*o)),
            [_] => {
                return fail(
                    UpdateSubcode::INVALID_ORIGIN_ATTRIBUTE,
                    "undefined ORIGIN value",
                );
            }
            _ => return fail(len_err, "ORIGIN length is not 1"),
        },
        AttrType::AS_PATH => match AsPath::decode(value, codec.four_octet_as) {
            Ok(p) => out.as_path = Some(p),
            Err(reason) => return fail(UpdateSubcode::MALFORMED_AS_PATH, reason),
        },
        AttrType::NEXT_HOP => {
            let Some(nh) = u32_of(value).map(Ipv4Addr::from) else {
                return fail(len_err, "NEXT_HOP length is not 4");
            };
            // RFC 4271 §6.3: syntactically incorrect next hops.
            if nh.is_unspecified() || nh.is_multicast() || nh.is_broadcast() {
                return fail(
                    UpdateSubcode::INVALID_NEXT_HOP_ATTRIBUTE,
                    "NEXT_HOP is not a unicast address",
                );
            }
            out.next_hop = Some(nh);
        }
        AttrType::MULTI_EXIT_DISC => match u32_of(value) {
            Some(v) => out.med = Some(v),
            None => return fail(len_err, "MULTI_EXIT_DISC length is not 4"),
        },
        AttrType::LOCAL_PREF => match u32_of(value) {
            Some(v) => out.local_pref = Some(v),
            None => return fail(len_err, "LOCAL_PREF length is not 4"),
        },
        AttrType::ATOMIC_AGGREGATE => {
            if !value.is_empty() {
                return fail(len_err, "ATOMIC_AGGREGATE length is not 0");
            }
            out.atomic_aggregate = true;
        }
        AttrType::AGGREGATOR => match aggregator(value, codec.four_octet_as) {
            Some(a) => out.aggregator = Some(a),
            None => return fail(len_err, "AGGREGATOR length is wrong"),
        },
        AttrType::COMMUNITIES => {
            if value.is_empty() || value.len() % 4 != 0 {
                return fail(
                    UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
                    "COMMUNITIES length is not a non-zero multiple of 4",
                );
            }
            out.communities = value
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
        }
        AttrType::AS4_PATH => match AsPath::decode(value, true) {
            Ok(p) => out.as4_path = Some(p),
            Err(reason) => return fail(UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR, reason),
        },
        AttrType::AS4_AGGREGATOR => match aggregator(value, true) {
            Some(a) => out.as4_aggregator = Some(a),
            None => return fail(len_err, "AS4_AGGREGATOR length is not 8"),
        },
        _ => {}
    }
    Ok(())
}
