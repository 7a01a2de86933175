//! Owned secret bytes that are wiped on drop and never printed.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Secret key material (SKEYSEED, SK_*, KEYMAT, DH shared secrets, PSK-derived values).
///
/// Zeroized on drop; `Debug` prints only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps bytes (takes ownership; they are wiped when this value drops).
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }

    /// Copies a slice into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Secret::new(bytes.to_vec())
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time comparison with `other` (lengths are not secret).
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        self.0.len() == other.len() && bool::from(self.0.as_slice().ct_eq(other))
    }

    /// Splits off the first `n` octets as a new secret, keeping the rest in `self`.
    pub(crate) fn take_front(&mut self, n: usize) -> Secret {
        let n = n.min(self.0.len());
        let front = Secret::from_slice(&self.0[..n]);
        let rest = Zeroizing::new(self.0[n..].to_vec());
        self.0 = rest;
        front
    }
}

impl AsRef<[u8]> for Secret {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Secret({} octets)", self.0.len())
    }
}
