//! A whole IKEv2 message: header plus payload chain (RFC 7296 §3.1, §3.2).

use super::error::{DecodeError, EncodeError};
use super::header::{HEADER_LEN, Header, IKEV2_MAJOR};
use super::payload::{
    ChainKind, Encrypted, EncryptedFragment, Notify, Payload, decode_chain, encode_chain,
};
use super::reader::Reader;
use super::registry::NotifyType;

/// A decoded IKEv2 message. If it is protected, its last payload is [`Payload::Encrypted`] or
/// [`Payload::EncryptedFragment`] holding the ciphertext; see [`super::sk`] to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Decodes one UDP datagram's IKE message (after the caller stripped a non-ESP marker on
    /// port 4500). The Length field must equal the datagram length: a shorter datagram is
    /// truncated, a longer one has trailing bytes.
    ///
    /// Checks, in order: 28-byte header, major version 2 (else [`DecodeError::UnsupportedVersion`],
    /// RFC 7296 §2.5), Length, then the payload chain: every payload length within its parent,
    /// every body consumed exactly, unknown critical payloads rejected
    /// ([`DecodeError::UnsupportedCriticalPayload`]), SK/SKF last.
    pub fn decode(datagram: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(datagram);
        let (header, first, length) = Header::read(&mut r)?;
        if header.major_version() != IKEV2_MAJOR {
            return Err(DecodeError::UnsupportedVersion {
                major: header.major_version(),
                minor: header.minor_version(),
            });
        }
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if length < HEADER_LEN {
            return Err(DecodeError::LengthTooShort {
                what: "IKE message",
                length,
                minimum: HEADER_LEN,
            });
        }
        if length > datagram.len() {
            return Err(DecodeError::Truncated {
                what: "IKE message",
                needed: length,
                available: datagram.len(),
            });
        }
        if length < datagram.len() {
            return Err(DecodeError::TrailingBytes {
                what: "IKE message",
                count: datagram.len() - length,
            });
        }
        let payloads = decode_chain(first, &mut r, ChainKind::Outer)?;
        Ok(Message { header, payloads })
    }

    /// Encodes the message; Next Payload fields and all lengths are computed.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(HEADER_LEN + 256);
        self.header
            .write(super::registry::PayloadType::NONE, 0, &mut out);
        let first = encode_chain(&self.payloads, &mut out)?;
        finish_header(&mut out, first)?;
        Ok(out)
    }

    /// The SK payload, if this message is protected.
    pub fn encrypted(&self) -> Option<&Encrypted> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Encrypted(e) => Some(e),
            _ => None,
        })
    }

    /// The SKF payload, if this message is a fragment (RFC 7383).
    pub fn fragment(&self) -> Option<&EncryptedFragment> {
        self.payloads.iter().find_map(|p| match p {
            Payload::EncryptedFragment(f) => Some(f),
            _ => None,
        })
    }

    /// The unencrypted Notify payloads, in order.
    pub fn notifies(&self) -> impl Iterator<Item = &Notify> + '_ {
        notifies(&self.payloads)
    }

    /// The first unencrypted Notify of type `ty`.
    pub fn notify(&self, ty: NotifyType) -> Option<&Notify> {
        self.notifies().find(|n| n.ty == ty)
    }
}

/// The Notify payloads in a payload list (outer, or decrypted inner), in order.
pub fn notifies(payloads: &[Payload]) -> impl Iterator<Item = &Notify> + '_ {
    payloads.iter().filter_map(|p| match p {
        Payload::Notify(n) => Some(n),
        _ => None,
    })
}

/// Writes the header's Next Payload and Length fields into an encoded message.
pub(crate) fn finish_header(
    out: &mut [u8],
    first: super::registry::PayloadType,
) -> Result<(), EncodeError> {
    let len = u32::try_from(out.len()).map_err(|_| EncodeError::TooLong {
        what: "IKE message",
        length: out.len(),
        max: u32::MAX as usize,
    })?;
    out[16] = first.0;
    out[24..28].copy_from_slice(&len.to_be_bytes());
    Ok(())
}
