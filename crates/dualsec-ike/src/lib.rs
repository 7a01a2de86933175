//! Sans-IO IKEv2 (RFC 7296) and IKEv1 (RFC 2409) state machines and codecs.

pub mod v1;
pub mod v2;
