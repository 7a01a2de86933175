//! Framing of the Encrypted and Authenticated payload SK (RFC 7296 §3.14, RFC 5282).
//!
//! This module does no cryptography. It lays out bytes and tells the caller which ranges to
//! encrypt, authenticate and feed as associated data; the state machine applies the negotiated
//! algorithms from `dualsec-crypto`, directly or through an [`SkCipher`].
//!
//! # Sending
//!
//! [`build_sk_message`] returns the whole message and an [`SkLayout`]:
//! - `layout.iv`: zeros; the caller writes a fresh IV (RFC 7296 §3.14: unpredictable for CBC;
//!   for AES-GCM the 8-octet explicit IV of RFC 5282 §3.1, never reused with the same key).
//! - `layout.ciphertext`: the plaintext to encrypt in place: the encoded inner payloads, then
//!   padding, then the Pad Length octet. **This module pads** ([`pad`]): zero-valued pad octets
//!   (any value is allowed) so the length is a multiple of `block_size` (the cipher block for CBC,
//!   1 for AEAD and counter modes, RFC 5282 §3). The Pad Length octet is always present.
//! - `layout.icv`: zeros; the caller writes the ICV or AEAD tag.
//!
//! What the ICV covers (RFC 7296 §3.14): with a separate integrity algorithm, the checksum is
//! computed **over the message from the first octet of the IKE header through the last octet of
//! the ciphertext (Pad Length included), after encryption**, i.e. `message[layout.integrity_covered()]`,
//! and written to `layout.icv`. All lengths in the headers are already final when it is computed.
//!
//! AEAD (RFC 5282 §5.1): the associated data is **the message from the first octet of the IKE
//! header through the last octet of the SK generic payload header**, i.e. everything before the
//! IV: `message[layout.aad()]`. The nonce is salt ‖ IV (§4); the plaintext is `layout.ciphertext`
//! and the tag goes to `layout.icv` (ICV length = tag length, e.g. 16 for AES_GCM_16).
//!
//! # Receiving
//!
//! [`Message::decode`] checks the structure and keeps SK as [`Encrypted`]. Then
//! [`SkLayout::locate`] (given the negotiated IV and ICV lengths) gives the same ranges in the
//! received datagram; the caller verifies the ICV or opens the AEAD, decrypts `ciphertext`, and
//! passes the plaintext to [`decode_plaintext`], which checks and removes the padding
//! ([`unpad`]) and decodes the inner chain. [`open_message`] does all of this with an
//! [`SkCipher`].

use std::ops::Range;

use super::error::{DecodeError, EncodeError};
use super::header::{HEADER_LEN, Header, IKEV2_MAJOR};
use super::message::{Message, finish_header};
use super::payload::{
    Encrypted, EncryptedFragment, GENERIC_HEADER_LEN, Payload, SKF_HEADER_LEN, decode_payloads,
    encode_payloads,
};
use super::reader::{Reader, u16_len};
use super::registry::PayloadType;

/// Where the parts of an SK or SKF payload sit in a whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkLayout {
    pub iv: Range<usize>,
    /// Encrypted inner payloads, padding and Pad Length.
    pub ciphertext: Range<usize>,
    /// Integrity Checksum Data, or the AEAD tag.
    pub icv: Range<usize>,
}

impl SkLayout {
    /// AEAD associated data (RFC 5282 §5.1; RFC 7383 §2.5.3 for SKF, where it includes Fragment
    /// Number and Total Fragments): from the IKE header through the SK/SKF payload header.
    pub fn aad(&self) -> Range<usize> {
        0..self.iv.start
    }

    /// What a separate integrity algorithm's ICV covers (RFC 7296 §3.14): from the IKE header
    /// through the end of the ciphertext.
    pub fn integrity_covered(&self) -> Range<usize> {
        0..self.icv.start
    }

    /// Finds the SK or SKF payload in a received datagram and splits its data into IV,
    /// ciphertext and ICV of the given lengths. The datagram should already have passed
    /// [`Message::decode`]; this re-walks the generic headers only.
    pub fn locate(datagram: &[u8], iv_len: usize, icv_len: usize) -> Result<SkLayout, DecodeError> {
        let mut r = Reader::new(datagram);
        let (header, mut current, length) = Header::read(&mut r)?;
        if header.major_version() != IKEV2_MAJOR {
            return Err(DecodeError::UnsupportedVersion {
                major: header.major_version(),
                minor: header.minor_version(),
            });
        }
        if usize::try_from(length).ok() != Some(datagram.len()) {
            return Err(DecodeError::InvalidField {
                what: "IKE header Length",
                reason: "differs from the datagram length",
            });
        }
        loop {
            let start = r.position();
            let next = PayloadType(r.u8("generic payload header")?);
            let _flags = r.u8("generic payload header")?;
            let len = usize::from(r.u16("generic payload header")?);
            let mut body = r.sub_with_header(len, GENERIC_HEADER_LEN, "payload")?;
            let data_start = match current {
                PayloadType::SK => start + GENERIC_HEADER_LEN,
                PayloadType::SKF => {
                    body.bytes(SKF_HEADER_LEN, "SKF payload")?;
                    start + GENERIC_HEADER_LEN + SKF_HEADER_LEN
                }
                PayloadType::NONE => {
                    return Err(DecodeError::InvalidField {
                        what: "protected message",
                        reason: "has no SK or SKF payload",
                    });
                }
                _ => {
                    current = next;
                    if current == PayloadType::NONE {
                        return Err(DecodeError::InvalidField {
                            what: "protected message",
                            reason: "has no SK or SKF payload",
                        });
                    }
                    continue;
                }
            };
            r.finish("payload chain")?;
            let end = start + len;
            return split(data_start, end, iv_len, icv_len);
        }
    }
}

fn split(
    data_start: usize,
    end: usize,
    iv_len: usize,
    icv_len: usize,
) -> Result<SkLayout, DecodeError> {
    // At least the Pad Length octet must be encrypted.
    let needed = iv_len + 1 + icv_len;
    let available = end - data_start;
    if available < needed {
        return Err(DecodeError::Truncated {
            what: "SK payload data",
            needed,
            available,
        });
    }
    let iv = data_start..data_start + iv_len;
    let ciphertext = iv.end..end - icv_len;
    let icv = ciphertext.end..end;
    Ok(SkLayout {
        iv,
        ciphertext,
        icv,
    })
}

/// Appends zero padding and the Pad Length octet so `plaintext.len()` becomes a multiple of
/// `block_size` (RFC 7296 §3.14). `block_size` is clamped to 1..=256 (Pad Length is one octet).
pub fn pad(plaintext: &mut Vec<u8>, block_size: usize) {
    let b = block_size.clamp(1, 256);
    let pad_len = (b - (plaintext.len() + 1) % b) % b;
    plaintext.resize(plaintext.len() + pad_len, 0);
    // pad_len < b <= 256, so it fits.
    plaintext.push(u8::try_from(pad_len).unwrap_or(u8::MAX));
}

/// The ciphertext length [`pad`] produces for `inner_len` bytes of inner payloads.
pub fn padded_len(inner_len: usize, block_size: usize) -> usize {
    let b = block_size.clamp(1, 256);
    (inner_len + 1).div_ceil(b) * b
}

/// Removes the padding from a decrypted SK plaintext: returns the inner payload bytes.
/// The pad octets' values are not checked (RFC 7296 §3.14: any value).
pub fn unpad(plaintext: &[u8]) -> Result<&[u8], DecodeError> {
    let (&pad_len, rest) = plaintext.split_last().ok_or(DecodeError::Truncated {
        what: "SK plaintext",
        needed: 1,
        available: 0,
    })?;
    let pad_len = usize::from(pad_len);
    if pad_len > rest.len() {
        return Err(DecodeError::LengthOverrun {
            what: "SK Pad Length",
            length: pad_len,
            available: rest.len(),
        });
    }
    Ok(&rest[..rest.len() - pad_len])
}

/// Unpads a decrypted SK plaintext and decodes its inner payload chain.
/// `first_inner` is the SK payload's Next Payload field ([`Encrypted::first_inner`]).
pub fn decode_plaintext(
    first_inner: PayloadType,
    plaintext: &[u8],
) -> Result<Vec<Payload>, DecodeError> {
    decode_payloads(first_inner, unpad(plaintext)?)
}

/// Builds a protected message: `clear` payloads (normally none), then SK holding `inner`.
///
/// Returns the message with the IV and ICV zeroed and the padded plaintext in the ciphertext
/// range, and the layout the caller needs to encrypt and authenticate in place (module docs).
pub fn build_sk_message(
    header: &Header,
    clear: &[Payload],
    inner: &[Payload],
    iv_len: usize,
    block_size: usize,
    icv_len: usize,
) -> Result<(Vec<u8>, SkLayout), EncodeError> {
    let (first_inner, mut plaintext) = encode_payloads(inner)?;
    pad(&mut plaintext, block_size);
    let data_len = iv_len + plaintext.len() + icv_len;
    // Encode the outer chain with a placeholder SK of the right size, then fill it in place.
    let mut outer: Vec<Payload> = clear.to_vec();
    outer.push(Payload::Encrypted(Encrypted {
        first_inner,
        data: vec![0; data_len],
    }));
    u16_len(GENERIC_HEADER_LEN + data_len, "SK payload")?;
    let msg = Message {
        header: *header,
        payloads: outer,
    };
    let mut out = msg.encode()?;
    let end = out.len();
    let data_start = end - data_len;
    out[data_start + iv_len..end - icv_len].copy_from_slice(&plaintext);
    let layout = SkLayout {
        iv: data_start..data_start + iv_len,
        ciphertext: data_start + iv_len..end - icv_len,
        icv: end - icv_len..end,
    };
    Ok((out, layout))
}

/// One SKF fragment message, laid out like [`build_sk_message`]'s output.
pub(crate) fn build_skf_message(
    header: &Header,
    fragment: EncryptedFragment,
    plaintext_chunk: &[u8],
    iv_len: usize,
    block_size: usize,
    icv_len: usize,
) -> Result<(Vec<u8>, SkLayout), EncodeError> {
    let mut plaintext = plaintext_chunk.to_vec();
    pad(&mut plaintext, block_size);
    let data_len = iv_len + plaintext.len() + icv_len;
    let mut out = Vec::with_capacity(HEADER_LEN + GENERIC_HEADER_LEN + SKF_HEADER_LEN + data_len);
    header.write(PayloadType::NONE, 0, &mut out);
    out.push(fragment.first_inner.0);
    out.push(0);
    out.extend_from_slice(
        &u16_len(
            GENERIC_HEADER_LEN + SKF_HEADER_LEN + data_len,
            "SKF payload",
        )?
        .to_be_bytes(),
    );
    out.extend_from_slice(&fragment.number.to_be_bytes());
    out.extend_from_slice(&fragment.total.to_be_bytes());
    let data_start = out.len();
    out.resize(data_start + iv_len, 0);
    out.extend_from_slice(&plaintext);
    out.resize(out.len() + icv_len, 0);
    finish_header(&mut out, PayloadType::SKF)?;
    let end = out.len();
    let layout = SkLayout {
        iv: data_start..data_start + iv_len,
        ciphertext: data_start + iv_len..end - icv_len,
        icv: end - icv_len..end,
    };
    Ok((out, layout))
}

/// The negotiated SK protection, implemented by the state machine with `dualsec-crypto`.
///
/// Both methods work in place on a whole message laid out by [`SkLayout`].
pub trait SkCipher {
    /// IV length (e.g. 16 for AES-CBC, 8 for AES-GCM, RFC 5282 §3.1).
    fn iv_len(&self) -> usize;
    /// Padding granularity: the block size for CBC, 1 for AEAD/counter modes.
    fn block_size(&self) -> usize;
    /// ICV length of the integrity algorithm, or the AEAD tag length.
    fn icv_len(&self) -> usize;
    /// Write a fresh IV into `layout.iv`, encrypt `layout.ciphertext` in place and write the
    /// ICV/tag into `layout.icv` (over `layout.integrity_covered()` or with `layout.aad()`).
    fn seal(&mut self, message: &mut [u8], layout: &SkLayout) -> Result<(), SkCryptoError>;
    /// Verify the ICV/tag and decrypt `layout.ciphertext` in place. Must not decrypt (or must
    /// discard the result) when verification fails.
    fn open(&mut self, message: &mut [u8], layout: &SkLayout) -> Result<(), SkCryptoError>;
}

/// The [`SkCipher`] could not seal, or the received ICV/tag did not verify (RFC 7296 §2.21.2:
/// drop the message silently).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SK integrity check failed or cipher unusable")]
pub struct SkCryptoError;

/// Opening a protected message failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Malformed before or after decryption (INVALID_SYNTAX once authenticated, RFC 7296 §2.21.2).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// ICV/tag mismatch: drop silently.
    #[error(transparent)]
    Integrity(#[from] SkCryptoError),
    /// The message has no SK payload.
    #[error("message is not protected by an SK payload")]
    NotProtected,
}

/// Builds and seals a protected message with `cipher` (see [`build_sk_message`]).
pub fn seal_message(
    header: &Header,
    clear: &[Payload],
    inner: &[Payload],
    cipher: &mut dyn SkCipher,
) -> Result<Vec<u8>, SealError> {
    let (mut msg, layout) = build_sk_message(
        header,
        clear,
        inner,
        cipher.iv_len(),
        cipher.block_size(),
        cipher.icv_len(),
    )?;
    cipher.seal(&mut msg, &layout)?;
    Ok(msg)
}

/// Sealing failed: the caller's payloads do not encode, or the cipher refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Crypto(#[from] SkCryptoError),
}

/// A decrypted protected message: the outer message (SK still holding ciphertext) and the inner
/// payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub message: Message,
    pub inner: Vec<Payload>,
}

/// Decodes, verifies and decrypts a protected message (not a fragment; see
/// [`super::fragment`]).
pub fn open_message(datagram: &[u8], cipher: &mut dyn SkCipher) -> Result<Opened, OpenError> {
    let message = Message::decode(datagram)?;
    let first_inner = message
        .encrypted()
        .ok_or(OpenError::NotProtected)?
        .first_inner;
    let layout = SkLayout::locate(datagram, cipher.iv_len(), cipher.icv_len())?;
    let mut buf = datagram.to_vec();
    cipher.open(&mut buf, &layout)?;
    let inner = decode_plaintext(first_inner, &buf[layout.ciphertext.clone()])?;
    Ok(Opened { message, inner })
}
