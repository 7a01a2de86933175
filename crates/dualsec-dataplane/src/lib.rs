//! Userspace ESP data plane: TUN, UDP sockets, lookup tables, workers (the only unsafe code).
//!
//! * [`start`] creates the TUN device and the UDP 500/4500 sockets of every public IP in the
//!   calling thread's network namespace ([`in_netns`] runs it inside another one) and starts the
//!   workers; it returns a [`ControlHandle`] for the engine and the [`DataPlaneOutputs`] channels
//!   (IKE datagrams, SA events).
//! * [`routes`]: destination and policy routes → connection → active tunnel, over the
//!   longest-prefix-match table in [`lpm`] (binary search on prefix lengths: ≤ 6 hash probes
//!   for IPv4 whatever the number of routes).
//! * [`offload`]: TUN checksum/TCP segmentation offload — one read per 64 KiB TCP
//!   super-packet, segmented and checksummed here.
//! * [`sys`]: the system calls (TUN ioctl, recvmmsg/sendmmsg with UDP GSO, poll, eventfd,
//!   setns); all `unsafe` lives there.
//!
//! # Threads and the per-packet path
//!
//! Two workers: outbound (TUN → route → active tunnel → ESP → UDP) and inbound (UDP → classify
//! → ESP → TUN; IKE to the control plane). Each owns its half of the SA database
//! ([`dualsec_esp::SaTable`]), so no packet takes a lock; control commands arrive over a
//! channel plus an eventfd wakeup and are applied between batches. The route table is an
//! immutable `Arc` swapped the same way; each connection's active tunnel is an atomic read per
//! packet ([`ControlHandle::set_active_tunnel`] flips it). Buffers are allocated once per
//! worker; packets are encrypted and decrypted in place.
//!
//! Only UDP-encapsulated ESP (RFC 3948, port 4500) is sent and received: strongSwan's
//! kernel-libipsec peers always use it, and NAT-T is on by default (R-TUN-6). Raw ESP (IP
//! protocol 50) is not implemented.
//!
//! # Why a raw TUN ioctl instead of `tun-rs`
//!
//! The data plane needs one `TUNSETIFF` (plus `TUNSETOFFLOAD`) and non-blocking `read`/`write`
//! on the fd, driven by its own poll loop; doing it directly keeps the unsafe code to a few
//! audited lines in [`sys`], pulls in no async runtime, and gives full control of
//! `IFF_VNET_HDR` offloads (and later `IFF_MULTI_QUEUE`, one queue per worker).

pub mod lpm;
pub mod offload;
mod plane;
pub mod routes;
pub mod sys;
pub mod tcp_md5;

pub use plane::{
    ControlHandle, Counters, CountersSnapshot, DataPlaneConfig, DataPlaneError, DataPlaneEvent,
    DataPlaneOutputs, IkeDatagram, SaStats, start,
};
pub use routes::{Connection, ConnectionId, Route, RouteTable};
pub use sys::{Tun, in_netns};
