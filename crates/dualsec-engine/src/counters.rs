//! Data-plane counters → observed state (issue 5): per-tunnel ESP drops by reason and the data
//! plane's gateway-wide counters.
//!
//! The data plane counts bytes, packets and (inbound) drops by reason on each SA
//! ([`dualsec_esp::SaCounters`]); an SA's counters die with it at every rekey. [`CounterFolder`]
//! turns successive snapshots into per-tunnel increments, so the tunnel's stored totals only ever
//! grow and keep growing: across rekeys (the new SA starts at zero) and across restarts of the
//! engine (the stored totals are added to). What an SA counted between the last snapshot and its
//! removal is lost; snapshots are taken every `EngineConfig::counters_interval`.

use std::collections::{BTreeMap, HashMap};

use dualsec_control::model::{DataPlaneObserved, TunnelCounters, TunnelDrops};
use dualsec_dataplane::{CountersSnapshot, SaStats};
use dualsec_esp::{Direction, DropReason, SaCounters, Spi};

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
fn add_drops(a: &mut TunnelDrops, b: &TunnelDrops) {
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

/// Remembers each SA's counters from the previous snapshot.
#[derive(Debug, Default)]
pub(crate) struct CounterFolder {
    last: HashMap<(u32, Direction, Spi), SaCounters>,
}

impl CounterFolder {
    /// What each tunnel's SAs counted since the previous call (keyed by the data plane's tunnel
    /// number): inner bytes and packets both ways, inbound drops by reason. Every tunnel with an
    /// SA has an entry, possibly all zero. SAs gone from `stats` are forgotten; an SA seen for the
    /// first time contributes everything it counted.
    pub(crate) fn fold(&mut self, stats: &[SaStats]) -> BTreeMap<u32, TunnelCounters> {
        let mut out: BTreeMap<u32, TunnelCounters> = BTreeMap::new();
        let mut seen = HashMap::with_capacity(self.last.len());
        for s in stats {
            let key = (s.tunnel.0, s.direction, s.spi);
            let now = s.counters;
            let before = self.last.get(&key).copied().unwrap_or_default();
            // A counter below its last value means a new SA under a reused SPI: all of it is new.
            let fresh = now.packets < before.packets
                || now.bytes < before.bytes
                || now
                    .dropped
                    .0
                    .iter()
                    .zip(before.dropped.0.iter())
                    .any(|(n, b)| n < b);
            let base = if fresh { SaCounters::default() } else { before };
            let c = out.entry(s.tunnel.0).or_default();
            let (packets, bytes) = (now.packets - base.packets, now.bytes - base.bytes);
            match s.direction {
                Direction::Inbound => {
                    c.packets_in = c.packets_in.saturating_add(packets);
                    c.bytes_in = c.bytes_in.saturating_add(bytes);
                }
                Direction::Outbound => {
                    c.packets_out = c.packets_out.saturating_add(packets);
                    c.bytes_out = c.bytes_out.saturating_add(bytes);
                }
            }
            for r in DropReason::ALL {
                let inc = now.dropped.get(r) - base.dropped.get(r);
                if inc > 0 {
                    add_reason(&mut c.drops, r, inc);
                }
            }
            seen.insert(key, now);
        }
        self.last = seen;
        out
    }
}

/// `total += inc`, field by field (saturating).
pub(crate) fn add_counters(total: &mut TunnelCounters, inc: &TunnelCounters) {
    total.bytes_in = total.bytes_in.saturating_add(inc.bytes_in);
    total.bytes_out = total.bytes_out.saturating_add(inc.bytes_out);
    total.packets_in = total.packets_in.saturating_add(inc.packets_in);
    total.packets_out = total.packets_out.saturating_add(inc.packets_out);
    add_drops(&mut total.drops, &inc.drops);
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
    use dualsec_esp::{DropCounters, TunnelId};

    use super::*;

    fn sa(
        tunnel: u32,
        direction: Direction,
        spi: u32,
        packets: u64,
        drops: &[(DropReason, u64)],
    ) -> SaStats {
        let mut dropped = DropCounters::default();
        for (r, n) in drops {
            dropped.0[r.index()] = *n;
        }
        SaStats {
            tunnel: TunnelId(tunnel),
            direction,
            spi: Spi(spi),
            counters: SaCounters {
                packets,
                bytes: packets * 100,
                dropped,
            },
        }
    }

    fn inbound(tunnel: u32, spi: u32, drops: &[(DropReason, u64)]) -> SaStats {
        sa(tunnel, Direction::Inbound, spi, 0, drops)
    }

    #[test]
    fn increments_per_tunnel_between_snapshots() {
        let mut f = CounterFolder::default();
        let first = f.fold(&[
            inbound(
                1,
                0x100,
                &[(DropReason::Replay, 2), (DropReason::IcvFailure, 1)],
            ),
            inbound(2, 0x200, &[(DropReason::Expired, 1)]),
        ]);
        assert_eq!(first[&1].drops.replay, 2);
        assert_eq!(first[&1].drops.icv_failure, 1);
        assert_eq!(first[&2].drops.expired, 1);
        let second = f.fold(&[
            inbound(
                1,
                0x100,
                &[(DropReason::Replay, 5), (DropReason::IcvFailure, 1)],
            ),
            inbound(2, 0x200, &[(DropReason::Expired, 1)]),
        ]);
        assert_eq!(second[&1].drops.replay, 3, "only the new replays");
        assert_eq!(second[&1].drops.total(), 3);
        assert_eq!(
            second[&2],
            TunnelCounters::default(),
            "nothing new on tunnel 2"
        );
    }

    #[test]
    fn rekey_never_takes_the_tunnel_total_backwards() {
        // Issue 5: the tunnel's totals survive the rekey that replaces SAs 0x100/0x900 by
        // 0x101/0x901, and keep growing with the new SAs' traffic.
        let mut f = CounterFolder::default();
        let mut total = TunnelCounters::default();
        let (i, o) = (Direction::Inbound, Direction::Outbound);
        for snap in [
            vec![
                sa(1, i, 0x100, 10, &[(DropReason::Replay, 4)]),
                sa(1, o, 0x900, 7, &[]),
            ],
            vec![
                sa(1, i, 0x100, 12, &[(DropReason::Replay, 6)]),
                sa(1, o, 0x900, 9, &[]),
                sa(1, i, 0x101, 0, &[]),
                sa(1, o, 0x901, 1, &[]),
            ],
            vec![
                sa(1, i, 0x101, 3, &[(DropReason::Replay, 1)]),
                sa(1, o, 0x901, 2, &[]),
            ],
        ] {
            add_counters(&mut total, &f.fold(&snap)[&1]);
        }
        assert_eq!(total.drops.replay, 7);
        assert_eq!(total.packets_in, 15);
        assert_eq!(total.bytes_in, 1500);
        assert_eq!(total.packets_out, 11);
        assert_eq!(total.bytes_out, 1100);
    }

    #[test]
    fn a_reused_spi_counts_as_a_new_sa() {
        let mut f = CounterFolder::default();
        f.fold(&[inbound(1, 0x100, &[(DropReason::Replay, 9)])]);
        let d = f.fold(&[inbound(1, 0x100, &[(DropReason::Replay, 2)])]);
        assert_eq!(d[&1].drops.replay, 2);
        f.fold(&[sa(1, Direction::Outbound, 0x5, 50, &[])]);
        let d = f.fold(&[sa(1, Direction::Outbound, 0x5, 4, &[])]);
        assert_eq!(d[&1].packets_out, 4);
    }

    #[test]
    fn unknown_spi_is_not_a_tunnel_drop() {
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
