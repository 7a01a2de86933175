//! Per-connection reconciler composing IKE, ESP, BGP and failover over the data plane.
