//! IKEv1 (RFC 2409) over ISAKMP (RFC 2408).

pub mod wire;
