//! Both IKE versions behind one face (issue 8): the engine's names for
//! [`dualsec_ike::mux`], where the v2 and v1 endpoints sit side by side and datagrams are
//! demultiplexed by the ISAKMP major version (RFC 2408 §3.1 / RFC 7296 §3.1 octet 17, after the
//! non-ESP marker on the NAT-T port, RFC 3948 §2.2). A tunnel runs in the endpoint its
//! [`IkeSetup`] names (R-TUN-3 `IkeVersion`).

pub use dualsec_ike::mux::{
    Endpoints as IkeEndpoints, Flavor as IkeFlavor, Setup as IkeSetup, major_version,
};
