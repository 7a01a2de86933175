//! Network-namespace topologies and real peers (strongSwan, BIRD, FRR) for interop tests.
