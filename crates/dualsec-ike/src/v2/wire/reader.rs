//! The bounded reader and the length back-patching writer used by every payload codec
//! (STYLE.md §5; after rustls `msgs/codec.rs`).

use super::error::{DecodeError, EncodeError};

/// A cursor over a byte slice that never reads past its end.
///
/// [`Reader::sub`] hands out a child reader bounded by a length field, so an inner structure can
/// never read into its sibling; [`Reader::finish`] rejects trailing bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                what,
                needed: n,
                available: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// A child reader over the next `len` bytes, where `len` came from a length field whose
    /// own header (`header_len` bytes, already consumed) is included in `len`.
    pub(crate) fn sub_with_header(
        &mut self,
        len: usize,
        header_len: usize,
        what: &'static str,
    ) -> Result<Reader<'a>, DecodeError> {
        if len < header_len {
            return Err(DecodeError::LengthTooShort {
                what,
                length: len,
                minimum: header_len,
            });
        }
        let body = len - header_len;
        if body > self.remaining() {
            return Err(DecodeError::LengthOverrun {
                what,
                length: len,
                available: self.remaining() + header_len,
            });
        }
        Ok(Reader::new(self.bytes(body, what)?))
    }

    /// Fails if anything is left.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what,
                count: self.remaining(),
            })
        }
    }
}

/// Position of a length field to fill in once the structure it measures is written.
#[derive(Debug)]
#[must_use = "the length field must be back-patched"]
pub(crate) struct LengthMark {
    /// Offset of the length field.
    field: usize,
    /// Offset the measured structure starts at (the length counts from here).
    start: usize,
}

impl LengthMark {
    /// Reserves a 16-bit length field at the current end of `out`; the structure starts at `start`.
    pub(crate) fn u16_at(out: &mut Vec<u8>, start: usize) -> Self {
        let field = out.len();
        out.extend_from_slice(&[0, 0]);
        LengthMark { field, start }
    }

    /// Writes `out.len() - start` into the reserved 16-bit field.
    pub(crate) fn patch_u16(self, out: &mut [u8], what: &'static str) -> Result<(), EncodeError> {
        let len = out.len() - self.start;
        let v = u16::try_from(len).map_err(|_| EncodeError::TooLong {
            what,
            length: len,
            max: u16::MAX as usize,
        })?;
        out[self.field..self.field + 2].copy_from_slice(&v.to_be_bytes());
        Ok(())
    }
}

pub(crate) fn u8_count(n: usize, what: &'static str) -> Result<u8, EncodeError> {
    u8::try_from(n).map_err(|_| EncodeError::TooMany {
        what,
        count: n,
        max: u8::MAX as usize,
    })
}

pub(crate) fn u16_len(n: usize, what: &'static str) -> Result<u16, EncodeError> {
    u16::try_from(n).map_err(|_| EncodeError::TooLong {
        what,
        length: n,
        max: u16::MAX as usize,
    })
}
