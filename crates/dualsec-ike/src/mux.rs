//! Both IKE versions behind one face: [`Endpoints`] owns a [`v2::Endpoint`] and a
//! [`v1::Endpoint`] and is driven like one of them (issue 8); [`Driven`] is the driving contract
//! the three share.
//!
//! A tunnel lives in exactly one endpoint, chosen by its [`Setup`]'s [`Flavor`] (R-TUN-3
//! `IkeVersion`).
//!
//! # Demultiplexing rule
//!
//! Datagrams are routed by the ISAKMP header's major version, read by [`major_version`]:
//! RFC 2408 §3.1 and RFC 7296 §3.1 share the header layout, and octet 17 holds MjVer (high
//! nibble) | MnVer (low nibble): 0x10 is IKEv1, 0x20 IKEv2. On the NAT-T port IKE follows the
//! four-octet non-ESP marker (RFC 3948 §2.2); without the marker a datagram there is ESP and is
//! no IKE. Major version 1 goes to the v1 endpoint; everything else goes to the v2 endpoint,
//! which answers unknown major versions as RFC 7296 §2.5 says and ignores what is not IKE.
//! Both endpoints emit the same [`Event`]s and [`Transmit`]s, so a driver treats their output
//! alike.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Instant;

use rand_core::CryptoRngCore;

use crate::v1;
use crate::v2::{
    self, ChildSaInfo, EndpointConfig, Error, Event, Transmit, TunnelConfig, TunnelId,
};

/// The driving contract of a sans-IO IKE endpoint (see [`crate::v2::endpoint`]): feed every
/// datagram to [`Driven::handle_datagram`], call [`Driven::handle_timeout`] at
/// [`Driven::poll_timeout`], and after every input or command drain
/// [`Driven::poll_transmit`], then [`Driven::poll_inbound_first`], then [`Driven::poll_event`].
///
/// Implemented by [`v2::Endpoint`], [`v1::Endpoint`] and [`Endpoints`]; each forwards to its
/// inherent method of the same name, so generic drivers (the UDP example, the test pairs) need
/// no per-version code.
pub trait Driven {
    /// Handles one UDP datagram as received (non-ESP marker included on the NAT-T port).
    fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        rng: &mut dyn CryptoRngCore,
    );
    /// Fires the timers due at `now`.
    fn handle_timeout(&mut self, now: Instant, rng: &mut dyn CryptoRngCore);
    /// The next deadline, if any timer runs.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Next datagram to send.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// Next event.
    fn poll_event(&mut self) -> Option<Event>;
    /// Next inbound ESP SA to install ahead of its CHILD SA's event: IKEv1 quick mode only (see
    /// [`crate::v1::endpoint`]); IKEv2 installs both halves on its event and returns `None`.
    fn poll_inbound_first(&mut self) -> Option<v1::InboundFirst> {
        None
    }
    /// Negotiates the tunnel now and keeps it up.
    fn initiate(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error>;
    /// Rekeys every CHILD SA of the tunnel now.
    fn rekey_child(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error>;
    /// Rekeys the tunnel's IKE (ISAKMP) SA now.
    fn rekey_ike(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error>;
    /// Deletes the tunnel's SAs (DELETEs sent) and stops renegotiating.
    fn delete(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore);
    /// The tunnel's established CHILD SAs.
    fn child_sas(&self, id: TunnelId) -> Vec<ChildSaInfo>;
}

/// Implements [`Driven`] for a type by calling its inherent methods of the same names.
macro_rules! driven_by_inherent_methods {
    ($ty:ty $(, $inbound_first:ident)?) => {
        impl Driven for $ty {
            fn handle_datagram(
                &mut self,
                now: Instant,
                local: SocketAddr,
                remote: SocketAddr,
                data: &[u8],
                rng: &mut dyn CryptoRngCore,
            ) {
                <$ty>::handle_datagram(self, now, local, remote, data, rng)
            }
            fn handle_timeout(&mut self, now: Instant, rng: &mut dyn CryptoRngCore) {
                <$ty>::handle_timeout(self, now, rng)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                <$ty>::poll_timeout(self)
            }
            fn poll_transmit(&mut self) -> Option<Transmit> {
                <$ty>::poll_transmit(self)
            }
            fn poll_event(&mut self) -> Option<Event> {
                <$ty>::poll_event(self)
            }
            $(fn $inbound_first(&mut self) -> Option<v1::InboundFirst> {
                <$ty>::$inbound_first(self)
            })?
            fn initiate(
                &mut self,
                now: Instant,
                id: TunnelId,
                rng: &mut dyn CryptoRngCore,
            ) -> Result<(), Error> {
                <$ty>::initiate(self, now, id, rng)
            }
            fn rekey_child(
                &mut self,
                now: Instant,
                id: TunnelId,
                rng: &mut dyn CryptoRngCore,
            ) -> Result<(), Error> {
                <$ty>::rekey_child(self, now, id, rng)
            }
            fn rekey_ike(
                &mut self,
                now: Instant,
                id: TunnelId,
                rng: &mut dyn CryptoRngCore,
            ) -> Result<(), Error> {
                <$ty>::rekey_ike(self, now, id, rng)
            }
            fn delete(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore) {
                <$ty>::delete(self, now, id, rng)
            }
            fn child_sas(&self, id: TunnelId) -> Vec<ChildSaInfo> {
                <$ty>::child_sas(self, id)
            }
        }
    };
}
driven_by_inherent_methods!(v2::Endpoint);
driven_by_inherent_methods!(v1::Endpoint, poll_inbound_first);
driven_by_inherent_methods!(Endpoints, poll_inbound_first);

/// Which IKE runs a tunnel, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// IKEv2 (RFC 7296).
    V2,
    /// IKEv1 (RFC 2409) with its phase-1 mode.
    V1(v1::Options),
}

/// Everything needed to run a tunnel: the version-neutral [`TunnelConfig`] and the flavor.
///
/// Dereferences to the [`TunnelConfig`], which both versions share.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Peers, identities, PSK, proposals, lifetimes, DPD, selectors.
    pub config: TunnelConfig,
    /// IKEv1 (main/aggressive) or IKEv2.
    pub flavor: Flavor,
}

impl Deref for Setup {
    type Target = TunnelConfig;
    fn deref(&self) -> &TunnelConfig {
        &self.config
    }
}

/// The IKE major version of a datagram as received on a port (`natt`: the NAT-T port, where
/// IKE follows four zero octets, RFC 3948 §2.2). `None`: not IKE (ESP, a NAT keepalive, or too
/// short). See the module doc for how [`Endpoints`] routes on it.
pub fn major_version(data: &[u8], natt: bool) -> Option<u8> {
    let ike = if natt {
        data.strip_prefix(&v2::wire::NON_ESP_MARKER[..])?
    } else {
        data
    };
    // Octet 17: MjVer (high nibble) | MnVer (low nibble) (RFC 2408 §3.1, RFC 7296 §3.1).
    ike.get(17).map(|v| v >> 4)
}

/// Both IKE endpoints; see the module doc.
pub struct Endpoints {
    v2: v2::Endpoint,
    v1: v1::Endpoint,
    /// Tunnels that the v1 endpoint runs; every other id is the v2 endpoint's.
    v1_tunnels: BTreeSet<TunnelId>,
    natt_port: u16,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("v2", &self.v2)
            .field("v1", &self.v1)
            .field("v1_tunnels", &self.v1_tunnels)
            .finish()
    }
}

impl Endpoints {
    /// Both endpoints with the same ports and limits.
    pub fn new(cfg: EndpointConfig, rng: &mut dyn CryptoRngCore) -> Endpoints {
        let natt_port = cfg.ports.natt;
        Endpoints {
            v1: v1::Endpoint::new(cfg.clone(), rng),
            v2: v2::Endpoint::new(cfg, rng),
            v1_tunnels: BTreeSet::new(),
            natt_port,
        }
    }

    /// Adds (or reconfigures) a tunnel in the endpoint of its version. A tunnel that changes
    /// version leaves the other endpoint first (its SAs deleted there).
    pub fn add_tunnel(
        &mut self,
        now: Instant,
        id: TunnelId,
        setup: Setup,
        rng: &mut dyn CryptoRngCore,
    ) {
        match setup.flavor {
            Flavor::V2 => {
                if self.v1_tunnels.remove(&id) {
                    self.v1.remove_tunnel(now, id, rng);
                }
                self.v2.add_tunnel(id, setup.config);
            }
            Flavor::V1(opts) => {
                if self.v1_tunnels.insert(id) {
                    self.v2.remove_tunnel(now, id, rng);
                }
                self.v1.add_tunnel_with(id, setup.config, opts);
            }
        }
    }

    /// Whether the tunnel runs IKEv1.
    pub fn is_v1(&self, id: TunnelId) -> bool {
        self.v1_tunnels.contains(&id)
    }

    /// Negotiates the tunnel now and keeps it up.
    pub fn initiate(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if self.is_v1(id) {
            self.v1.initiate(now, id, rng)
        } else {
            self.v2.initiate(now, id, rng)
        }
    }

    /// Deletes the tunnel's SAs with an exchange the peer answers (DELETE queued behind any
    /// request in flight, so it is really sent) and stops renegotiating; the tunnel stays known
    /// until [`Endpoints::remove_tunnel`].
    pub fn delete(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore) {
        if self.is_v1(id) {
            self.v1.delete(now, id, rng);
        } else {
            self.v2.delete(now, id, rng);
        }
    }

    /// Removes the tunnel (DELETEs sent).
    pub fn remove_tunnel(&mut self, now: Instant, id: TunnelId, rng: &mut dyn CryptoRngCore) {
        if self.v1_tunnels.remove(&id) {
            self.v1.remove_tunnel(now, id, rng);
        } else {
            self.v2.remove_tunnel(now, id, rng);
        }
    }

    /// A fast liveness probe (issue 6), answered with [`Event::ProbeAnswered`]. IKEv2: an empty
    /// INFORMATIONAL. IKEv1: a DPD R-U-THERE (RFC 3706 §5.1), answered by its R-U-THERE-ACK.
    pub fn probe(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if self.is_v1(id) {
            self.v1.send_dpd(now, id, rng)
        } else {
            self.v2.probe(now, id, rng)
        }
    }

    /// Deletes the tunnel's CHILD SAs and keeps its IKE SA (issue 6: moves the peer's traffic to
    /// the other tunnel); returns how many. IKEv1: a phase-2 DELETE under the kept ISAKMP SA
    /// ([`crate::v1::Endpoint::delete_child_sas`]; the SAs go when a later probe is answered).
    pub fn delete_child_sas(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<usize, Error> {
        if self.is_v1(id) {
            return self.v1.delete_child_sas(now, id, rng);
        }
        self.v2.delete_child_sas(now, id, rng)
    }

    /// Creates a CHILD SA under the tunnel's IKE SA again (issue 6); IKEv1: a fresh quick mode.
    pub fn create_child_sa(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if self.is_v1(id) {
            return self.v1.create_child_sa(now, id, rng);
        }
        self.v2.create_child_sa(now, id, rng)
    }

    /// Rekeys every CHILD SA of the tunnel now (IKEv2: CREATE_CHILD_SA with REKEY_SA; IKEv1: a
    /// new quick mode each, make-before-break).
    pub fn rekey_child(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if self.is_v1(id) {
            self.v1.rekey_child(now, id, rng)
        } else {
            self.v2.rekey_child(now, id, rng)
        }
    }

    /// Rekeys the tunnel's IKE SA (IKEv1: ISAKMP SA) now.
    pub fn rekey_ike(
        &mut self,
        now: Instant,
        id: TunnelId,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), Error> {
        if self.is_v1(id) {
            self.v1.rekey_ike(now, id, rng)
        } else {
            self.v2.rekey_ike(now, id, rng)
        }
    }

    /// The tunnel's established CHILD SAs.
    pub fn child_sas(&self, id: TunnelId) -> Vec<ChildSaInfo> {
        if self.is_v1(id) {
            self.v1.child_sas(id)
        } else {
            self.v2.child_sas(id)
        }
    }

    /// Handles one UDP datagram as received (marker included on the NAT-T port), routed by
    /// the ISAKMP major version; anything but version 1 goes to the IKEv2 endpoint, which
    /// answers unknown versions as RFC 7296 §2.5 says and ignores what is not IKE.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) {
        if major_version(data, local.port() == self.natt_port) == Some(1) {
            self.v1.handle_datagram(now, local, remote, data, rng);
        } else {
            self.v2.handle_datagram(now, local, remote, data, rng);
        }
    }

    /// Fires due timers of both endpoints.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut dyn CryptoRngCore) {
        if self.v2.poll_timeout().is_some_and(|t| t <= now) {
            self.v2.handle_timeout(now, rng);
        }
        if self.v1.poll_timeout().is_some_and(|t| t <= now) {
            self.v1.handle_timeout(now, rng);
        }
    }

    /// The earlier deadline of the two.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.v2.poll_timeout(), self.v1.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Next datagram to send, from either endpoint.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.v2.poll_transmit().or_else(|| self.v1.poll_transmit())
    }

    /// Next event, from either endpoint.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.v2.poll_event().or_else(|| self.v1.poll_event())
    }

    /// Next inbound ESP SA to install ahead of its CHILD SA's event (IKEv1 quick mode, see
    /// [`v1::endpoint`]); drain before [`Endpoints::poll_event`].
    pub fn poll_inbound_first(&mut self) -> Option<v1::InboundFirst> {
        self.v1.poll_inbound_first()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use crate::v2::{IkeProposal, Psk};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);

    /// `local`'s side of the tunnel; `vpc` says which side of 198.18/16 ⇄ 198.19/16 it is.
    fn sa(local: Ipv4Addr, remote: Ipv4Addr, vpc: bool) -> TunnelConfig {
        let mut c = TunnelConfig::new(
            IpAddr::V4(local),
            IpAddr::V4(remote),
            Psk::new(b"shared secret of the test"),
        );
        c.ike_proposals = vec![IkeProposal::from_strongswan("aes128-sha1-modp2048").unwrap()];
        let ts = |n: &str| vec![v2::TrafficSelector::cidr(n.parse().unwrap(), 16).unwrap()];
        (c.local_ts, c.remote_ts) = (ts("198.18.0.0"), ts("198.19.0.0"));
        if !vpc {
            std::mem::swap(&mut c.local_ts, &mut c.remote_ts);
        }
        c
    }

    const T1: TunnelId = TunnelId(1);
    const T2: TunnelId = TunnelId(2);

    /// Two endpoints with tunnel [`T1`] as IKEv1 in `mode` and tunnel [`T2`] as IKEv2.
    fn pair(mode: v1::Mode, now: Instant, rng: &mut ChaCha20Rng) -> (Endpoints, Endpoints) {
        let mut a = Endpoints::new(EndpointConfig::default(), rng);
        let mut b = Endpoints::new(EndpointConfig::default(), rng);
        let v1 = Flavor::V1(v1::Options { mode });
        let setup = |config, flavor| Setup { config, flavor };
        a.add_tunnel(now, T1, setup(sa(A, B, true), v1), rng);
        b.add_tunnel(now, T1, setup(sa(B, A, false), v1), rng);
        let a2 = Ipv4Addr::new(192, 0, 2, 2);
        a.add_tunnel(now, T2, setup(sa(a2, B, true), Flavor::V2), rng);
        b.add_tunnel(now, T2, setup(sa(B, a2, false), Flavor::V2), rng);
        (a, b)
    }

    /// Shuttles datagrams between `a` and `b` until both are quiet; collects events. Drives
    /// them through [`Driven`] only.
    fn run<E: Driven>(
        a: &mut E,
        b: &mut E,
        now: Instant,
        rng: &mut ChaCha20Rng,
    ) -> (Vec<Event>, Vec<Event>, Vec<u8>) {
        let (mut ea, mut eb, mut versions) = (vec![], vec![], vec![]);
        for _ in 0..100 {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                versions.extend(major_version(&t.bytes, t.local.port() == 4500));
                b.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
                moved = true;
            }
            while let Some(t) = b.poll_transmit() {
                versions.extend(major_version(&t.bytes, t.local.port() == 4500));
                a.handle_datagram(now, t.remote, t.local, &t.bytes, rng);
                moved = true;
            }
            ea.extend(std::iter::from_fn(|| a.poll_event()));
            eb.extend(std::iter::from_fn(|| b.poll_event()));
            if !moved {
                break;
            }
        }
        (ea, eb, versions)
    }

    fn child_up(evs: &[Event], id: TunnelId) -> bool {
        evs.iter()
            .any(|e| matches!(e, Event::ChildEstablished { tunnel, .. } if *tunnel == id))
    }

    #[test]
    fn major_version_reads_octet_17_after_the_non_esp_marker_rfc_3948_2_2() {
        // An ISAKMP header starts with the initiator's (non-zero) cookie / SPI.
        let mut hdr = [0u8; 28];
        hdr[0] = 0x5a;
        hdr[17] = 0x10;
        assert_eq!(major_version(&hdr, false), Some(1));
        hdr[17] = 0x20;
        assert_eq!(major_version(&hdr, false), Some(2));
        let mut framed = vec![0, 0, 0, 0];
        framed.extend_from_slice(&hdr);
        assert_eq!(major_version(&framed, true), Some(2));
        // On 4500 without the marker it is ESP (an SPI), never IKE.
        assert_eq!(major_version(&hdr, true), None);
        // On 500 the marker is not expected: octet 17 of the framed datagram is read as is.
        assert_eq!(major_version(&framed, false), Some(0));
        // NAT keepalive and truncated headers.
        assert_eq!(major_version(&[0xff], true), None);
        assert_eq!(major_version(&hdr[..17], false), None);
        assert_eq!(major_version(&[], false), None);
    }

    /// Issue 8: one v1 tunnel (main and aggressive) and one v2 tunnel between the same two
    /// endpoints each come up, every datagram goes to the endpoint of its version.
    #[test]
    fn v1_and_v2_tunnels_share_the_endpoints_issue_8() {
        for mode in [v1::Mode::Main, v1::Mode::Aggressive] {
            let mut rng = ChaCha20Rng::seed_from_u64(2);
            let now = Instant::now();
            let (mut a, mut b) = pair(mode, now, &mut rng);
            let (t1, t2) = (T1, T2);
            assert!(a.is_v1(t1) && !a.is_v1(t2));

            a.initiate(now, t1, &mut rng).unwrap();
            let (ea, eb, versions) = run(&mut a, &mut b, now, &mut rng);
            assert!(
                child_up(&ea, t1) && child_up(&eb, t1),
                "{mode:?}: {ea:?} {eb:?}"
            );
            assert!(!versions.is_empty() && versions.iter().all(|v| *v == 1));
            // Each side handed out the v1 CHILD SA's inbound SA ahead of its event (quick mode
            // has no answer to its last message), with the same SPI; v2 never does.
            for (ep, evs) in [(&mut a, &ea), (&mut b, &eb)] {
                let first = ep
                    .poll_inbound_first()
                    .expect("inbound SA handed out first");
                let est = evs.iter().find_map(|e| match e {
                    Event::ChildEstablished { child, .. } => Some(child.spi_in),
                    _ => None,
                });
                assert_eq!((first.tunnel, Some(first.child.spi_in)), (t1, est));
                assert!(first.replaces.is_none());
                assert!(ep.poll_inbound_first().is_none());
            }

            a.initiate(now, t2, &mut rng).unwrap();
            let (ea, eb, versions) = run(&mut a, &mut b, now, &mut rng);
            assert!(child_up(&ea, t2) && child_up(&eb, t2), "{ea:?} {eb:?}");
            assert!(!versions.is_empty() && versions.iter().all(|v| *v == 2));
            assert!(a.poll_inbound_first().is_none() && b.poll_inbound_first().is_none());

            // The probe of a v1 tunnel is a DPD R-U-THERE (v1 datagram), of a v2 tunnel an
            // INFORMATIONAL (v2 datagram).
            a.probe(now, t1, &mut rng).unwrap();
            let (ea, _, versions) = run(&mut a, &mut b, now, &mut rng);
            assert_eq!(versions, [1, 1], "R-U-THERE and its ACK");
            assert!(
                ea.iter()
                    .any(|e| matches!(e, Event::ProbeAnswered { tunnel } if *tunnel == t1)),
                "{ea:?}"
            );
            a.probe(now, t2, &mut rng).unwrap();
            let (ea, _, versions) = run(&mut a, &mut b, now, &mut rng);
            assert_eq!(versions, [2, 2]);
            assert!(
                ea.iter()
                    .any(|e| matches!(e, Event::ProbeAnswered { tunnel } if *tunnel == t2))
            );

            // Removing the v1 tunnel deletes it in the v1 endpoint only.
            a.remove_tunnel(now, t1, &mut rng);
            let (_, eb, versions) = run(&mut a, &mut b, now, &mut rng);
            assert!(versions.iter().all(|v| *v == 1), "{versions:?}");
            assert!(
                eb.iter()
                    .any(|e| matches!(e, Event::IkeDown { tunnel, .. } if *tunnel == t1)),
                "{eb:?}"
            );
            assert!(
                !eb.iter()
                    .any(|e| matches!(e, Event::IkeDown { tunnel, .. } if *tunnel == t2))
            );
            assert!(a.poll_timeout().is_some());
            a.handle_timeout(now + Duration::from_secs(1), &mut rng);
        }
    }

    fn rekeyed(evs: &[Event], id: TunnelId) -> bool {
        evs.iter()
            .any(|e| matches!(e, Event::ChildRekeyed { tunnel, .. } if *tunnel == id))
    }

    /// The per-tunnel commands the UDP driver and the test pairs use (rekeys, CHILD SA
    /// listing) reach the endpoint of the tunnel's version only; an unknown tunnel is refused.
    #[test]
    fn rekeys_and_child_sas_follow_the_tunnels_version_issue_8() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let now = Instant::now();
        let (mut a, mut b) = pair(v1::Mode::Main, now, &mut rng);
        for t in [T1, T2] {
            a.initiate(now, t, &mut rng).unwrap();
            let (ea, eb, _) = run(&mut a, &mut b, now, &mut rng);
            assert!(child_up(&ea, t) && child_up(&eb, t), "{t:?}: {ea:?} {eb:?}");
        }
        let (c1, c2) = (a.child_sas(T1), a.child_sas(T2));
        assert_eq!((c1.len(), c2.len()), (1, 1));
        assert_eq!(c1[0].spi_in, b.child_sas(T1)[0].spi_out);
        assert_eq!(c2[0].spi_in, b.child_sas(T2)[0].spi_out);
        assert_ne!(c1[0].spi_in, c2[0].spi_in);
        assert!(a.child_sas(TunnelId(9)).is_empty());

        // A quick mode (v1 only); B completes at QM3, A switches later (OUTBOUND_SWITCH_DELAY).
        a.rekey_child(now, T1, &mut rng).unwrap();
        let (_, eb, versions) = run(&mut a, &mut b, now, &mut rng);
        assert_eq!(versions, [1, 1, 1], "QM1..QM3");
        assert!(rekeyed(&eb, T1) && !rekeyed(&eb, T2), "{eb:?}");
        // A CREATE_CHILD_SA (v2 only).
        a.rekey_child(now, T2, &mut rng).unwrap();
        let (ea, eb, versions) = run(&mut a, &mut b, now, &mut rng);
        assert!(!versions.is_empty() && versions.iter().all(|v| *v == 2));
        assert!(rekeyed(&ea, T2) && rekeyed(&eb, T2) && !rekeyed(&ea, T1));
        assert_ne!(a.child_sas(T2)[0].spi_in, c2[0].spi_in);

        // IKE SA rekeys: a new phase 1 (v1) and a CREATE_CHILD_SA for the IKE SA (v2).
        for (t, v) in [(T1, 1), (T2, 2)] {
            a.rekey_ike(now, t, &mut rng).unwrap();
            let (ea, _, versions) = run(&mut a, &mut b, now, &mut rng);
            assert!(
                !versions.is_empty() && versions.iter().all(|x| *x == v),
                "{t:?}"
            );
            assert!(
                ea.iter()
                    .any(|e| matches!(e, Event::IkeRekeyed { tunnel, .. } if *tunnel == t)),
                "{t:?}: {ea:?}"
            );
        }

        for unknown in [
            a.rekey_child(now, TunnelId(9), &mut rng),
            a.rekey_ike(now, TunnelId(9), &mut rng),
            a.initiate(now, TunnelId(9), &mut rng),
        ] {
            assert!(matches!(unknown, Err(Error::ApiMisuse(_))), "{unknown:?}");
        }
    }
}
