//! The SA database of one worker: inbound SAs by SPI, one outbound SA per tunnel, with
//! make-before-break rekeying (RFC 7296 §2.8).
//!
//! A rekey installs the new inbound SA next to the old one (both decrypt), then switches the
//! tunnel's outbound SA to the new one. When the first packet authenticates on the new inbound SA
//! the table reports [`SaTableEvent::RekeyCarriesTraffic`]; the old inbound SA keeps decrypting
//! stragglers until IKE deletes it (or it expires).
//!
//! Polling order for the owner: after feeding packets or calling
//! [`handle_timeout`](SaTable::handle_timeout), drain [`poll_event`](SaTable::poll_event), then
//! arm a timer for [`poll_timeout`](SaTable::poll_timeout).

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::time::Instant;

use rand_core::CryptoRngCore;

use crate::lifetime::{LifetimeEvent, LifetimeKind};
use crate::sa::{
    Decapsulated, Direction, DropCounters, DropReason, EncapError, InboundSa, OutboundSa,
};
use crate::wire::{EspPacket, Spi};

/// Names one tunnel (one of a connection's two) in the data plane; chosen by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub u32);

/// Something the owner of the table (IKE, via the engine) must react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaTableEvent {
    /// An SA reached a soft limit (rekey) or hard limit (it has been removed).
    Lifetime {
        /// The tunnel it belongs to.
        tunnel: TunnelId,
        /// Inbound or outbound.
        direction: Direction,
        /// Its SPI.
        spi: Spi,
        /// Which limit.
        event: LifetimeEvent,
    },
    /// The first authenticated packet arrived on an inbound SA installed as a replacement; the
    /// old one may now be deleted by IKE.
    RekeyCarriesTraffic {
        /// The tunnel.
        tunnel: TunnelId,
        /// The new inbound SPI.
        new: Spi,
        /// The SPI it replaces.
        old: Spi,
    },
}

/// Why an outbound packet could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// No outbound SA installed for the tunnel (yet).
    #[error("no outbound SA for tunnel {0:?}")]
    NoSa(TunnelId),
    /// The SA refused the packet.
    #[error(transparent)]
    Encap(#[from] EncapError),
}

#[derive(Debug)]
struct InboundEntry {
    sa: InboundSa,
    tunnel: TunnelId,
    /// Set when installed as a rekey; cleared once the new SA carried traffic.
    replaces: Option<Spi>,
}

/// Inbound and outbound SAs of one worker.
#[derive(Debug, Default)]
pub struct SaTable {
    inbound: HashMap<Spi, InboundEntry>,
    outbound: HashMap<TunnelId, OutboundSa>,
    drops: DropCounters,
    events: VecDeque<SaTableEvent>,
}

impl SaTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs an inbound SA for `tunnel`. An SA with the same SPI is replaced and returned.
    pub fn install_inbound(&mut self, tunnel: TunnelId, sa: InboundSa) -> Option<InboundSa> {
        self.inbound
            .insert(
                sa.spi(),
                InboundEntry {
                    sa,
                    tunnel,
                    replaces: None,
                },
            )
            .map(|e| e.sa)
    }

    /// Installs `sa` as the rekeyed successor of inbound SA `old` (make-before-break): both
    /// decrypt until `old` is removed.
    pub fn install_inbound_rekey(
        &mut self,
        tunnel: TunnelId,
        sa: InboundSa,
        old: Spi,
    ) -> Option<InboundSa> {
        self.inbound
            .insert(
                sa.spi(),
                InboundEntry {
                    sa,
                    tunnel,
                    replaces: Some(old),
                },
            )
            .map(|e| e.sa)
    }

    /// Removes an inbound SA (IKE deleted it).
    pub fn remove_inbound(&mut self, spi: Spi) -> Option<InboundSa> {
        self.inbound.remove(&spi).map(|e| e.sa)
    }

    /// Makes `sa` the tunnel's outbound SA; the previous one is returned (its counters are final).
    pub fn install_outbound(&mut self, tunnel: TunnelId, sa: OutboundSa) -> Option<OutboundSa> {
        self.outbound.insert(tunnel, sa)
    }

    /// Removes the tunnel's outbound SA.
    pub fn remove_outbound(&mut self, tunnel: TunnelId) -> Option<OutboundSa> {
        self.outbound.remove(&tunnel)
    }

    /// The inbound SA with this SPI.
    pub fn inbound(&self, spi: Spi) -> Option<&InboundSa> {
        self.inbound.get(&spi).map(|e| &e.sa)
    }

    /// The tunnel's outbound SA.
    pub fn outbound(&self, tunnel: TunnelId) -> Option<&OutboundSa> {
        self.outbound.get(&tunnel)
    }

    /// Number of inbound SAs.
    pub fn inbound_len(&self) -> usize {
        self.inbound.len()
    }

    /// Drops of every inbound packet this table saw, by reason (including unknown SPIs).
    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    /// Counters of every SA: (tunnel, direction, SPI, counters), inbound then outbound, each in
    /// SPI order.
    pub fn sa_snapshot(&self) -> Vec<(TunnelId, Direction, Spi, crate::sa::SaCounters)> {
        let mut v: Vec<_> = self
            .inbound
            .iter()
            .map(|(spi, e)| (e.tunnel, Direction::Inbound, *spi, *e.sa.counters()))
            .collect();
        v.sort_by_key(|x| x.2);
        let mut o: Vec<_> = self
            .outbound
            .iter()
            .map(|(t, sa)| (*t, Direction::Outbound, sa.spi(), *sa.counters()))
            .collect();
        o.sort_by_key(|x| x.2);
        v.extend(o);
        v
    }

    /// Decapsulates an ESP packet (the UDP payload after classification): SPI → SA lookup →
    /// the SA's staged checks. Returns the tunnel it arrived on.
    pub fn decapsulate(
        &mut self,
        now: Instant,
        pkt: &mut [u8],
    ) -> Result<(TunnelId, Decapsulated), DropReason> {
        let r = self.decapsulate_inner(now, pkt);
        if let Err(reason) = r {
            self.drops.count(reason);
        }
        r
    }

    fn decapsulate_inner(
        &mut self,
        now: Instant,
        pkt: &mut [u8],
    ) -> Result<(TunnelId, Decapsulated), DropReason> {
        let spi = EspPacket::new_checked(&pkt[..])
            .map_err(|_| DropReason::Malformed)?
            .spi();
        let entry = self.inbound.get_mut(&spi).ok_or(DropReason::BadSpi)?;
        let r = entry.sa.decapsulate(now, pkt);
        let tunnel = entry.tunnel;
        if r.is_ok() {
            if let Some(old) = entry.replaces.take() {
                self.events.push_back(SaTableEvent::RekeyCarriesTraffic {
                    tunnel,
                    new: spi,
                    old,
                });
            }
        }
        let mut hard = false;
        while let Some(event) = entry.sa.poll_event() {
            hard |= event.kind == LifetimeKind::Hard;
            self.events.push_back(SaTableEvent::Lifetime {
                tunnel,
                direction: Direction::Inbound,
                spi,
                event,
            });
        }
        if hard {
            self.inbound.remove(&spi);
        }
        r.map(|d| (tunnel, d))
    }

    /// Encapsulates `buf[inner]` in place for `tunnel` (see [`OutboundSa::encapsulate`]).
    /// Returns the ESP packet's range and the SA used (for its endpoints and UDP ports).
    pub fn encapsulate(
        &mut self,
        now: Instant,
        rng: &mut dyn CryptoRngCore,
        tunnel: TunnelId,
        buf: &mut [u8],
        inner: Range<usize>,
    ) -> Result<(Range<usize>, &OutboundSa), OutboundError> {
        let sa = self
            .outbound
            .get_mut(&tunnel)
            .ok_or(OutboundError::NoSa(tunnel))?;
        let r = sa.encapsulate(now, rng, buf, inner);
        let spi = sa.spi();
        let mut hard = false;
        while let Some(event) = sa.poll_event() {
            hard |= event.kind == LifetimeKind::Hard;
            self.events.push_back(SaTableEvent::Lifetime {
                tunnel,
                direction: Direction::Outbound,
                spi,
                event,
            });
        }
        if hard {
            self.outbound.remove(&tunnel);
        }
        let range = r?;
        let sa = self
            .outbound
            .get(&tunnel)
            .ok_or(OutboundError::NoSa(tunnel))?;
        Ok((range, sa))
    }

    /// Earliest lifetime deadline of any SA.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let i = self.inbound.values().filter_map(|e| e.sa.poll_timeout());
        let o = self.outbound.values().filter_map(|sa| sa.poll_timeout());
        i.chain(o).min()
    }

    /// Fires lifetime timers due at `now`; hard-expired SAs are removed. Events are queued in
    /// SPI order (deterministic, STYLE.md §10).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut fired = Vec::new();
        for (spi, e) in &mut self.inbound {
            e.sa.handle_timeout(now);
            while let Some(event) = e.sa.poll_event() {
                fired.push(SaTableEvent::Lifetime {
                    tunnel: e.tunnel,
                    direction: Direction::Inbound,
                    spi: *spi,
                    event,
                });
            }
        }
        for (tunnel, sa) in &mut self.outbound {
            sa.handle_timeout(now);
            while let Some(event) = sa.poll_event() {
                fired.push(SaTableEvent::Lifetime {
                    tunnel: *tunnel,
                    direction: Direction::Outbound,
                    spi: sa.spi(),
                    event,
                });
            }
        }
        fired.sort_by_key(|e| match e {
            SaTableEvent::Lifetime {
                direction,
                spi,
                event,
                ..
            } => (
                *direction == Direction::Outbound,
                event.kind == LifetimeKind::Soft,
                *spi,
            ),
            SaTableEvent::RekeyCarriesTraffic { new, .. } => (false, false, *new),
        });
        self.inbound.retain(|_, e| !e.sa.is_expired());
        self.outbound.retain(|_, sa| !sa.is_expired());
        self.events.extend(fired);
    }

    /// The next event for the control plane.
    pub fn poll_event(&mut self) -> Option<SaTableEvent> {
        self.events.pop_front()
    }
}
