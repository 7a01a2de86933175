//! IKEv2 message fragmentation (RFC 7383): splitting a protected message into SKF fragments and
//! reassembling received ones.
//!
//! Sending: [`fragment_message`] encodes the inner payloads once, cuts the bytes into chunks that
//! fit `max_message_len` (the IKE message size the path allows: PMTU minus IP and UDP headers and,
//! on port 4500, the 4-octet non-ESP marker), and lays out one message per chunk exactly like
//! [`super::sk::build_sk_message`]: the caller seals each with the same keys (each fragment has its
//! own IV, padding and ICV; RFC 7383 §2.5). Fragment messages carry no other payload.
//!
//! Receiving: decode each datagram with [`super::Message::decode`], verify and decrypt its SKF
//! data ([`super::SkLayout::locate`] works for SKF too), [`super::sk::unpad`] it, and feed the
//! content to a [`Reassembly`] kept per message id. Only authenticated fragments may be stored
//! (RFC 7383 §2.6), which is why this takes plaintext.

use super::error::EncodeError;
use super::header::{HEADER_LEN, Header};
use super::payload::{
    EncryptedFragment, GENERIC_HEADER_LEN, Payload, SKF_HEADER_LEN, encode_payloads,
};
use super::registry::PayloadType;
use super::sk::{SkLayout, build_skf_message};

/// Splits `inner` into SKF fragment messages of at most `max_message_len` octets each.
///
/// Returns one (message, layout) per fragment, numbered from 1, all with `header`. Fails if
/// `max_message_len` leaves no room for even one octet of content, or more than 65535 fragments
/// would be needed.
pub fn fragment_message(
    header: &Header,
    inner: &[Payload],
    max_message_len: usize,
    iv_len: usize,
    block_size: usize,
    icv_len: usize,
) -> Result<Vec<(Vec<u8>, SkLayout)>, EncodeError> {
    let (first_inner, plaintext) = encode_payloads(inner)?;
    let chunk = max_chunk_len(max_message_len, iv_len, block_size, icv_len)?;
    let chunks: Vec<&[u8]> = if plaintext.is_empty() {
        vec![&[][..]]
    } else {
        plaintext.chunks(chunk).collect()
    };
    let total = u16::try_from(chunks.len()).map_err(|_| EncodeError::TooMany {
        what: "SKF fragments",
        count: chunks.len(),
        max: u16::MAX as usize,
    })?;
    let mut out = Vec::with_capacity(chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        // i < chunks.len() <= u16::MAX, so i + 1 fits.
        let number = u16::try_from(i + 1).unwrap_or(total);
        let fragment = EncryptedFragment {
            number,
            total,
            // RFC 7383 §2.5: the first inner type in fragment 1 only.
            first_inner: if number == 1 {
                first_inner
            } else {
                PayloadType::NONE
            },
            data: Vec::new(),
        };
        out.push(build_skf_message(
            header, fragment, c, iv_len, block_size, icv_len,
        )?);
    }
    Ok(out)
}

/// The largest inner-payload chunk one fragment of `max_message_len` octets can carry.
pub fn max_chunk_len(
    max_message_len: usize,
    iv_len: usize,
    block_size: usize,
    icv_len: usize,
) -> Result<usize, EncodeError> {
    let b = block_size.clamp(1, 256);
    let overhead = HEADER_LEN + GENERIC_HEADER_LEN + SKF_HEADER_LEN + iv_len + icv_len;
    let room = max_message_len.saturating_sub(overhead);
    // Ciphertext must be whole blocks and end with the Pad Length octet.
    let ciphertext = room - room % b;
    match ciphertext.checked_sub(1) {
        Some(c) if c > 0 => Ok(c),
        _ => Err(EncodeError::TooLong {
            what: "SKF fragment overhead",
            length: overhead + b + 1,
            max: max_message_len,
        }),
    }
}

/// Limits on one reassembly, so a peer cannot make us buffer without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest Total Fragments accepted.
    pub max_fragments: u16,
    /// Largest sum of fragment contents buffered.
    pub max_bytes: usize,
}

impl Default for ReassemblyLimits {
    /// 64 fragments and 64 KiB: an IKE message cannot exceed 64 KiB over UDP, and 64 fragments
    /// of the 576-octet minimum IPv4 path (RFC 7383 §2.5.1) already carry ~32 KiB.
    fn default() -> Self {
        ReassemblyLimits {
            max_fragments: 64,
            max_bytes: 64 * 1024,
        }
    }
}

/// Why a fragment was not accepted. Every case means "drop this fragment"; only
/// [`FragmentError::TooLarge`] and [`FragmentError::TooManyFragments`] suggest abandoning the
/// message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FragmentError {
    #[error("fragment {number} already received")]
    Duplicate { number: u16 },
    /// RFC 7383 §2.6: a fragment with a smaller Total Fragments than already seen is stale.
    #[error("fragment total {total} is below the current total {current}")]
    StaleTotal { total: u16, current: u16 },
    #[error("fragment number {number} out of range 1..={total}")]
    BadNumber { number: u16, total: u16 },
    /// Fragments other than the first must carry Next Payload NONE (RFC 7383 §2.5).
    #[error("fragment {number} has an invalid Next Payload {next:?}")]
    BadNextPayload { number: u16, next: PayloadType },
    #[error("total of {total} fragments exceeds the limit {max}")]
    TooManyFragments { total: u16, max: u16 },
    #[error("reassembled size would exceed {max} bytes")]
    TooLarge { max: usize },
}

/// Collects the decrypted contents of one message's fragments (RFC 7383 §2.6).
#[derive(Debug, Clone)]
pub struct Reassembly {
    limits: ReassemblyLimits,
    total: u16,
    first_inner: PayloadType,
    parts: Vec<Option<Vec<u8>>>,
    received: usize,
    bytes: usize,
}

impl Reassembly {
    pub fn new(limits: ReassemblyLimits) -> Reassembly {
        Reassembly {
            limits,
            total: 0,
            first_inner: PayloadType::NONE,
            parts: Vec::new(),
            received: 0,
            bytes: 0,
        }
    }

    /// Fragments received so far for the current total.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Adds one authenticated, decrypted and unpadded fragment content. Returns the first inner
    /// payload type and the whole inner chain once every fragment is in (decode it with
    /// [`super::decode_payloads`]).
    ///
    /// A larger Total Fragments than seen so far restarts the reassembly (the sender
    /// re-fragmented for a smaller PMTU, RFC 7383 §2.5.2, §2.6); a smaller one is stale.
    pub fn insert(
        &mut self,
        fragment_number: u16,
        total: u16,
        next_payload: PayloadType,
        content: &[u8],
    ) -> Result<Option<(PayloadType, Vec<u8>)>, FragmentError> {
        if fragment_number == 0 || fragment_number > total {
            return Err(FragmentError::BadNumber {
                number: fragment_number,
                total,
            });
        }
        if total > self.limits.max_fragments {
            return Err(FragmentError::TooManyFragments {
                total,
                max: self.limits.max_fragments,
            });
        }
        // Fragment 1 carries the first inner type (NONE for an empty chain); others NONE.
        if fragment_number != 1 && next_payload != PayloadType::NONE {
            return Err(FragmentError::BadNextPayload {
                number: fragment_number,
                next: next_payload,
            });
        }
        if total < self.total {
            return Err(FragmentError::StaleTotal {
                total,
                current: self.total,
            });
        }
        if total > self.total {
            self.total = total;
            self.parts = vec![None; usize::from(total)];
            self.received = 0;
            self.bytes = 0;
            self.first_inner = PayloadType::NONE;
        }
        let idx = usize::from(fragment_number - 1);
        if self.parts[idx].is_some() {
            return Err(FragmentError::Duplicate {
                number: fragment_number,
            });
        }
        if self.bytes + content.len() > self.limits.max_bytes {
            return Err(FragmentError::TooLarge {
                max: self.limits.max_bytes,
            });
        }
        if fragment_number == 1 {
            self.first_inner = next_payload;
        }
        self.parts[idx] = Some(content.to_vec());
        self.received += 1;
        self.bytes += content.len();
        if self.received < usize::from(self.total) {
            return Ok(None);
        }
        let mut whole = Vec::with_capacity(self.bytes);
        for part in self.parts.iter().flatten() {
            whole.extend_from_slice(part);
        }
        Ok(Some((self.first_inner, whole)))
    }
}
