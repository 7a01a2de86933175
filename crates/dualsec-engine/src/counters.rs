//! Data-plane counters → observed state (issue 5): per-tunnel ESP drops by reason and the data
//! plane's gateway-wide counters.
//!
//! The data plane counts drops on each inbound SA ([`dualsec_esp::SaCounters::dropped`]); an SA's
//! counters die with it at every rekey. [`DropFolder`] turns successive snapshots into per-tunnel
//! increments, so the tunnel's stored totals only ever grow: across rekeys (the new SA starts at
//! zero) and across restarts of the engine (the stored totals are added to). What an SA counted
//! between the last snapshot and its removal is lost; snapshots are taken every
//! `EngineConfig::counters_interval`.

use std::collections::{BTreeMap, HashMap};

use dualsec_control::model::{DataPlaneObserved, TunnelDrops};
use dualsec_dataplane::{CountersSnapshot, SaStats};
use dualsec_esp::{Direction, DropCounters, DropReason, Spi};

/// Adds `n` drops of `reason` to `d`. Unknown-SPI drops have no tunnel: `false` when `reason` is
/// one (nothing added).
fn add_reason(d: &mut TunnelDrops, reason: DropReason, n: u64) -> bool {
    let slot = match reason {
        DropReason::BadSpi => return false,
        DropReason::Replay => &mut d.replay,
        DropReason::IcvFailure => &mut d.icv_failure,
        DropReason::Malformed => &mut d.malformed,
        DropReason::BadPadding => &mut d.bad_padding,
        DropReason::BadNextHeader => &mut d.bad_next_header,
        DropReason::SelectorMismatch => &mut d.selector_mismatch,
        DropReason::Dummy => &mut d.dummy,
        DropReason::Expired => &mut d.expired,
    };
    *slot = slot.saturating_add(n);
    true
}

/// `a + b`, reason by reason (saturating).
pub(crate) fn add_drops(a: &mut TunnelDrops, b: &TunnelDrops) {
    for (x, y) in [
        (&mut a.replay, b.replay),
        (&mut a.icv_failure, b.icv_failure),
        (&mut a.malformed, b.malformed),
        (&mut a.bad_padding, b.bad_padding),
        (&mut a.bad_next_header, b.bad_next_header),
        (&mut a.selector_mismatch, b.selector_mismatch),
        (&mut a.dummy, b.dummy),
        (&mut a.expired, b.expired),
    ] {
        *x = x.saturating_add(y);
    }
}

/// Remembers each inbound SA's drop counters from the previous snapshot.
#[derive(Debug, Default)]
pub(crate) struct DropFolder {
    last: HashMap<(u32, Spi), DropCounters>,
}

impl DropFolder {
    /// The drops each tunnel's inbound SAs counted since the previous call (keyed by the data
    /// plane's tunnel number). SAs gone from `stats` are forgotten; an SA seen for the first
    /// time contributes everything it counted.
    pub(crate) fn fold(&mut self, stats: &[SaStats]) -> BTreeMap<u32, TunnelDrops> {
        let mut out: BTreeMap<u32, TunnelDrops> = BTreeMap::new();
        let mut seen = HashMap::with_capacity(self.last.len());
        for s in stats.iter().filter(|s| s.direction == Direction::Inbound) {
            let key = (s.tunnel.0, s.spi);
            let now = s.counters.dropped;
            let before = self.last.get(&key).copied().unwrap_or_default();
            // A counter below its last value means a new SA under a reused SPI: all of it is new.
            let fresh = now.0.iter().zip(before.0.iter()).any(|(n, b)| n < b);
            let d = out.entry(s.tunnel.0).or_default();
            for r in DropReason::ALL {
                let inc = if fresh {
                    now.get(r)
                } else {
                    now.get(r) - before.get(r)
                };
                if inc > 0 {
                    add_reason(d, r, inc);
                }
            }
            seen.insert(key, now);
        }
        self.last = seen;
        out.retain(|_, d| d.total() > 0);
        out
    }
}

/// The data plane's counters as the control service keeps them (`updated_ms` is stamped there).
pub(crate) fn data_plane_observed(c: &CountersSnapshot) -> DataPlaneObserved {
    let mut esp_drops = TunnelDrops::default();
    for r in DropReason::ALL {
        add_reason(&mut esp_drops, r, c.esp_drops.get(r));
    }
    DataPlaneObserved {
        esp_rx_packets: c.esp_rx_packets,
        esp_tx_packets: c.esp_tx_packets,
        tun_rx_packets: c.tun_rx_packets,
        tun_tx_packets: c.tun_tx_packets,
        ike_rx: c.ike_rx,
        keepalive_rx: c.keepalive_rx,
        esp_drops,
        unknown_spi: c.esp_drops.get(DropReason::BadSpi),
        udp_malformed: c.udp_malformed,
        tun_not_ip: c.tun_not_ip,
        no_route: c.no_route,
        no_sa: c.no_sa,
        encap_failed: c.encap_failed,
        send_errors: c.send_errors,
        recv_errors: c.recv_errors,
        tun_write_errors: c.tun_write_errors,
        updated_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use dualsec_esp::{SaCounters, TunnelId};

    use super::*;

    fn inbound(tunnel: u32, spi: u32, drops: &[(DropReason, u64)]) -> SaStats {
        let mut dropped = DropCounters::default();
        for (r, n) in drops {
            dropped.0[r.index()] = *n;
        }
        SaStats {
            tunnel: TunnelId(tunnel),
            direction: Direction::Inbound,
            spi: Spi(spi),
            counters: SaCounters {
                packets: 0,
                bytes: 0,
                dropped,
            },
        }
    }

    #[test]
    fn increments_per_tunnel_between_snapshots() {
        let mut f = DropFolder::default();
        let first = f.fold(&[
            inbound(
                1,
                0x100,
                &[(DropReason::Replay, 2), (DropReason::IcvFailure, 1)],
            ),
            inbound(2, 0x200, &[(DropReason::Expired, 1)]),
        ]);
        assert_eq!(first[&1].replay, 2);
        assert_eq!(first[&1].icv_failure, 1);
        assert_eq!(first[&2].expired, 1);
        let second = f.fold(&[
            inbound(
                1,
                0x100,
                &[(DropReason::Replay, 5), (DropReason::IcvFailure, 1)],
            ),
            inbound(2, 0x200, &[(DropReason::Expired, 1)]),
        ]);
        assert_eq!(second[&1].replay, 3, "only the new replays");
        assert_eq!(second[&1].total(), 3);
        assert!(!second.contains_key(&2), "nothing new on tunnel 2");
    }

    #[test]
    fn rekey_never_takes_the_tunnel_total_backwards() {
        // Issue 5: the tunnel's totals survive the rekey that replaces SA 0x100 by 0x101.
        let mut f = DropFolder::default();
        let mut total = TunnelDrops::default();
        for snap in [
            vec![inbound(1, 0x100, &[(DropReason::Replay, 4)])],
            vec![
                inbound(1, 0x100, &[(DropReason::Replay, 6)]),
                inbound(1, 0x101, &[]),
            ],
            vec![inbound(1, 0x101, &[(DropReason::Replay, 1)])],
        ] {
            if let Some(d) = f.fold(&snap).get(&1) {
                add_drops(&mut total, d);
            }
        }
        assert_eq!(total.replay, 7);
    }

    #[test]
    fn a_reused_spi_counts_as_a_new_sa() {
        let mut f = DropFolder::default();
        f.fold(&[inbound(1, 0x100, &[(DropReason::Replay, 9)])]);
        let d = f.fold(&[inbound(1, 0x100, &[(DropReason::Replay, 2)])]);
        assert_eq!(d[&1].replay, 2);
    }

    #[test]
    fn outbound_sas_and_unknown_spi_are_not_tunnel_drops() {
        let mut f = DropFolder::default();
        let mut out = inbound(1, 0x100, &[(DropReason::Replay, 3)]);
        out.direction = Direction::Outbound;
        assert!(f.fold(&[out]).is_empty());
        let mut d = TunnelDrops::default();
        assert!(!add_reason(&mut d, DropReason::BadSpi, 5));
        assert_eq!(d.total(), 0);
    }

    #[test]
    fn data_plane_block_maps_every_reason() {
        let mut c = CountersSnapshot::default();
        for (i, r) in DropReason::ALL.into_iter().enumerate() {
            c.esp_drops.0[r.index()] = 10 + i as u64;
        }
        c.no_route = 3;
        c.udp_malformed = 2;
        let o = data_plane_observed(&c);
        assert_eq!(o.unknown_spi, 10);
        assert_eq!(o.esp_drops.replay, 11);
        assert_eq!(o.esp_drops.expired, 18);
        // Every reason but the unknown SPI lands in a per-reason field.
        assert_eq!(o.esp_drops.total() + o.unknown_spi, c.esp_drops.total());
        assert_eq!((o.no_route, o.udp_malformed), (3, 2));
    }
}
