//! Network-namespace topologies and real peers (strongSwan, BIRD, FRR) for interop tests.
//!
//! Every interop and end-to-end test of dualsec builds on this crate (as a dev-dependency):
//!
//! - [`Netns`]: a uniquely named namespace (`dst<pid>-<n>-<role>`) deleted on drop, even while
//!   the test panics; exec/spawn inside, veth pairs, addresses, routes, sysctls, link up/down,
//!   nftables drop faults and masquerade NAT.
//! - [`Process`]: a background process killed by PID and reaped on drop; stdout/stderr in the
//!   namespace's working directory, whose logs are printed when a test fails.
//! - [`Charon`]: strongSwan (kernel-libipsec, userspace ESP) with its own config dir, vici
//!   socket and log; load/initiate/terminate/list SAs. [`PskConnection`] renders swanctl.conf.
//! - [`Bird`], [`Frr`]: BGP peers with private sockets, queried with `birdc` / `vtysh`.
//! - [`traffic`]: `ping`, `iperf3`, and a 1 ms sequence-numbered UDP stream for outage
//!   measurement.
//! - [`capture`]: dumpcap capture in a namespace and `tshark` analysis (IKE/ESP counts,
//!   malformed packets).
//! - [`Topology`]: the standard topology (vpc ─ gw ═ two uplinks ═ inet ─ (nat) ─ cgw ─ idc)
//!   with uplink cuts and per-IP drop faults; see [`topology`] for the address plan.
//!
//! Tests need root and the tools they use; call [`require`] first. It returns `false` (and
//! prints why) when something is missing, but panics when `DUALSEC_REQUIRE_INTEROP` is set (CI).
//!
//! # Example: a strongSwan ⇄ strongSwan tunnel through the standard topology
//!
//! ```no_run
//! use std::time::Duration;
//! use dualsec_testbed::{Charon, CharonOptions, Topology, TopologyOptions, Uplink, traffic, topology};
//!
//! # fn main() -> Result<(), dualsec_testbed::Error> {
//! if !dualsec_testbed::require(&["charon", "swanctl", "ping"]) {
//!     return Ok(());
//! }
//! let topo = Topology::build(&TopologyOptions::default())?;
//! let gw_conn = topo.gw_connection(Uplink::Az1);
//! let gw = Charon::start(&topo.gw, &CharonOptions::default())?;
//! gw.load(&gw_conn.render())?;
//! let cgw = Charon::start(&topo.cgw, &CharonOptions::default())?;
//! cgw.load(&topo.cgw_connection(&gw_conn).render())?;
//! cgw.initiate_child(&gw_conn.child, Duration::from_secs(10))?; // "net1"
//! let (_ike, child) = gw.wait_child_installed(&gw_conn.child, Duration::from_secs(10))?;
//! assert!(child.encap); // kernel-libipsec always uses ESP in UDP 4500
//! let report = traffic::ping(&topo.vpc, topology::IDC_HOST, 5, Duration::from_millis(50))?;
//! assert_eq!(report.received, 5);
//! // Faults: topo.cut_uplink(Uplink::Az1)?; let rule = topo.block(Uplink::Az1, Direction::Both)?;
//! # Ok(())
//! # }
//! ```
//! Everything (processes, namespaces, temp files) is gone once `topo` and the guards drop.
//!
//! # Putting dualsec in the `gw` namespace
//!
//! Start the binary like any other process: in an integration test of the `dualsec` crate,
//! `topo.gw.spawn("dualsec", env!("CARGO_BIN_EXE_dualsec"), ["serve", …])` (or build a
//! [`std::process::Command`] with [`Netns::command`], add env, and use
//! [`Netns::spawn_command`]). The customer side stays a [`Charon`] in `topo.cgw` loaded with
//! [`Topology::cgw_connection`] of [`Topology::gw_connection`] for each tunnel. The throughput
//! bench takes the same shape (`scripts/bench-baseline --gateway-cmd …`; the environment
//! contract is in `examples/bench_baseline.rs`, an example gateway in
//! `testbed/strongswan-gateway.sh`).
//!
//! # Failure output
//!
//! When a test panics, each namespace prints the last lines of every `*.log`, `*.stdout` and
//! `*.stderr` under its directory (charon's log included) and keeps the directory
//! (`$TMPDIR/dualsec-testbed/<namespace>/`) for inspection.
//! Run such tests with `--test-threads` low (2 cores); each takes seconds.

pub mod capture;
pub mod charon;
mod error;
pub mod netns;
mod prereq;
pub mod process;
pub mod routing;
pub mod topology;
pub mod traffic;

pub use charon::{Charon, CharonOptions, ChildSa, IkeSa, PskConnection};
pub use error::{Error, Result};
pub use netns::{Netns, NftRule};
pub use prereq::{REQUIRE_ENV, is_root, require, tool_path};
pub use process::{Process, wait_until};
pub use routing::{Bird, Frr};
pub use topology::{Direction, Topology, TopologyOptions, Uplink};
