//! Userspace ESP data plane: TUN, UDP sockets, lookup tables, workers (the only unsafe code).
//!
//! * [`start`] creates the TUN device and the UDP 500/4500 sockets of every public IP in the
//!   calling thread's network namespace ([`in_netns`] runs it inside another one) and starts the
//!   workers; it returns a [`ControlHandle`] for the engine and the [`DataPlaneOutputs`] channels
//!   (IKE datagrams, SA events).
//! * [`routes`]: destination and policy routes → connection → active tunnel, over the
//!   longest-prefix-match table in [`lpm`].
//! * [`sys`]: the system calls (TUN ioctl, recvmmsg/sendmmsg, poll, eventfd, setns); all
//!   `unsafe` lives there.

pub mod lpm;
pub mod offload;
mod plane;
pub mod routes;
pub mod sys;

pub use plane::{
    ControlHandle, Counters, CountersSnapshot, DataPlaneConfig, DataPlaneError, DataPlaneEvent,
    DataPlaneOutputs, IkeDatagram, SaStats, start,
};
pub use routes::{Connection, ConnectionId, Route, RouteTable};
pub use sys::{Tun, in_netns};
