//! Dual-tunnel failover decision logic (R-HA-1..5).
