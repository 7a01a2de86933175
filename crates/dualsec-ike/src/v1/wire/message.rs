//! A whole ISAKMP message and the framing of encrypted bodies (RFC 2408 §3.1, RFC 2409 App. B).

use crate::v2::wire::reader::Reader;
use crate::v2::wire::{DecodeError, EncodeError};

use super::header::{HEADER_LEN, Header};
use super::payload::{Payload, PayloadSpan, decode_chain, encode_chain};
use super::registry::PayloadType;

/// An ISAKMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

/// The part after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Flags E clear: the payload chain.
    Plain(Vec<Payload>),
    /// Flags E set (RFC 2408 §3.1): ciphertext of the chain plus padding. `first` is the header's
    /// Next Payload, the type of the first encrypted payload.
    Encrypted {
        first: PayloadType,
        ciphertext: Vec<u8>,
    },
}

impl Message {
    /// Decodes one ISAKMP datagram (non-ESP marker already stripped on port 4500). The Length
    /// field must equal the datagram length; major version must be 1.
    pub fn decode(datagram: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(datagram);
        let (header, first, length) = Header::read(&mut r)?;
        if header.major_version() != 1 {
            return Err(DecodeError::UnsupportedVersion {
                major: header.major_version(),
                minor: header.version & 0x0f,
            });
        }
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if length < HEADER_LEN {
            return Err(DecodeError::LengthTooShort {
                what: "ISAKMP message",
                length,
                minimum: HEADER_LEN,
            });
        }
        if length > datagram.len() {
            return Err(DecodeError::Truncated {
                what: "ISAKMP message",
                needed: length,
                available: datagram.len(),
            });
        }
        if length < datagram.len() {
            return Err(DecodeError::TrailingBytes {
                what: "ISAKMP message",
                count: datagram.len() - length,
            });
        }
        let rest = r.rest();
        let body = if header.flags.encrypted() {
            Body::Encrypted {
                first,
                ciphertext: rest.to_vec(),
            }
        } else {
            Body::Plain(decode_chain(first, rest, false)?.0)
        };
        Ok(Message { header, body })
    }

    /// Encodes the message; for [`Body::Plain`] Next Payload fields and lengths are derived.
    /// The E flag is not changed: keep it consistent with the body.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(HEADER_LEN + 256);
        self.header.write(PayloadType::NONE, 0, &mut out);
        let first = match &self.body {
            Body::Plain(p) => encode_chain(p, &mut out)?,
            Body::Encrypted { first, ciphertext } => {
                out.extend_from_slice(ciphertext);
                *first
            }
        };
        let len = u32::try_from(out.len()).map_err(|_| EncodeError::TooLong {
            what: "ISAKMP message",
            length: out.len(),
            max: u32::MAX as usize,
        })?;
        out[16] = first.0;
        out[24..28].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }

    /// The plaintext payloads, if the body is not encrypted.
    pub fn payloads(&self) -> Option<&[Payload]> {
        match &self.body {
            Body::Plain(p) => Some(p),
            Body::Encrypted { .. } => None,
        }
    }
}

/// A decrypted body: payloads, where each sits in the plaintext (for HASH computations, e.g.
/// Quick Mode HASH(1) covers everything after the HASH payload, RFC 2409 §5.5), and how many
/// padding bytes followed the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedBody {
    pub payloads: Vec<Payload>,
    pub spans: Vec<PayloadSpan>,
    pub padding: usize,
}

/// Decodes a decrypted body (RFC 2409 Appendix B): the chain ends at Next Payload NONE and the
/// rest is padding, whatever its content.
pub fn decode_decrypted(
    first: PayloadType,
    plaintext: &[u8],
) -> Result<DecryptedBody, DecodeError> {
    let (payloads, spans, padding) = decode_chain(first, plaintext, true)?;
    Ok(DecryptedBody {
        payloads,
        spans,
        padding,
    })
}

/// Decodes a plain payload chain with spans (e.g. to take "SAi_b" from the first Main Mode
/// message for HASH_R, RFC 2409 §5). No trailing bytes allowed.
pub fn decode_with_spans(
    first: PayloadType,
    bytes: &[u8],
) -> Result<(Vec<Payload>, Vec<PayloadSpan>), DecodeError> {
    let (p, s, _) = decode_chain(first, bytes, false)?;
    Ok((p, s))
}

/// Encodes a payload chain for encryption, followed by 1..=`block_size` zero octets so the
/// length is a multiple of the block (RFC 2409 Appendix B leaves the padding to the sender; like
/// strongSwan we always pad, a whole block when the chain is already aligned, and send no
/// pad-length octet: receivers stop at Next Payload NONE). Returns the first payload type (for
/// the header) and the padded plaintext.
pub fn encode_for_encryption(
    payloads: &[Payload],
    block_size: usize,
) -> Result<(PayloadType, Vec<u8>), EncodeError> {
    let mut out = Vec::new();
    let first = encode_chain(payloads, &mut out)?;
    let b = block_size.max(1);
    let padded = (out.len() / b + 1) * b;
    out.resize(padded, 0);
    Ok((first, out))
}
