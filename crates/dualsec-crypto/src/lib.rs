//! Algorithm registry for IKE and ESP: ciphers, integrity, PRF, DH groups keyed by IANA transform ids.
