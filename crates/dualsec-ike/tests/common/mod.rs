//! A deterministic two-endpoint network with a virtual clock (quinn's `Pair`): latency, seeded
//! loss and reordering, and a switch that blackholes everything. [`Pair`] runs two IKEv2
//! endpoints by default, or any other [`Driven`] endpoint: two IKEv1 ones
//! (`Pair<v1::Endpoint>`, see `v1_pair.rs`) or two `mux::Endpoints`. [`interop`]: the
//! strongSwan lab; [`captures`]: codec test vectors.

#![allow(dead_code, clippy::unwrap_used)]

pub mod captures;
pub mod interop;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use dualsec_ike::mux::Driven;
use dualsec_ike::v1::InboundFirst;
use dualsec_ike::v2::{
    ChildSaInfo, Endpoint, EndpointConfig, Event, NegotiationError, Psk, Transmit, TunnelConfig,
    TunnelId,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

pub const A_IP: &str = "192.0.2.1";
pub const B_IP: &str = "203.0.113.2";
pub const TUN: TunnelId = TunnelId(1);

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Tunnel configs for both sides with the product defaults and the same PSK.
pub fn default_configs() -> (TunnelConfig, TunnelConfig) {
    let a = TunnelConfig::new(ip(A_IP), ip(B_IP), Psk::new("s3cret-PSK!"));
    let b = TunnelConfig::new(ip(B_IP), ip(A_IP), Psk::new("s3cret-PSK!"));
    (a, b)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    A,
    B,
}

/// The endpoints are driven through [`Driven`], the contract both IKE versions share.
pub struct Pair<E: Driven = Endpoint> {
    pub a: E,
    pub b: E,
    pub now: Instant,
    pub start: Instant,
    pub rng_a: ChaCha20Rng,
    pub rng_b: ChaCha20Rng,
    net_rng: ChaCha20Rng,
    /// (deliver at, sequence, datagram)
    in_flight: Vec<(Instant, u64, Transmit)>,
    seq: u64,
    pub latency: Duration,
    /// Probability a datagram is lost, 0..1.
    pub loss: f64,
    /// Extra random delay up to this much (reordering).
    pub jitter: Duration,
    /// Drop everything (peer unreachable / dead).
    pub blackhole: bool,
    /// Drops only what is sent toward this side's address (a one-way path failure).
    pub drop_toward: Option<Side>,
    pub events_a: Vec<Event>,
    pub events_b: Vec<Event>,
    pub sent: u64,
    pub dropped: u64,
    /// A sits behind a NAT with this public address: its source port P becomes 40000 + P.
    pub nat_a: Option<IpAddr>,
    /// A firewall drops every datagram to this destination port.
    pub block_port: Option<u16>,
    /// Drops the datagrams with these numbers (1-based, in sending order; see `sent`).
    pub drop_nth: Vec<u64>,
    /// Inbound SAs handed out ahead of their CHILD SA's event (IKEv1).
    pub inbound_a: Vec<InboundFirst>,
    pub inbound_b: Vec<InboundFirst>,
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

impl Pair {
    pub fn new(seed: u64, a_cfg: TunnelConfig, b_cfg: TunnelConfig) -> Pair {
        Self::with_endpoint_configs(
            seed,
            a_cfg,
            b_cfg,
            EndpointConfig::default(),
            EndpointConfig::default(),
        )
    }

    pub fn with_endpoint_configs(
        seed: u64,
        a_cfg: TunnelConfig,
        b_cfg: TunnelConfig,
        ea: EndpointConfig,
        eb: EndpointConfig,
    ) -> Pair {
        init_tracing();
        let mut rng_a = ChaCha20Rng::seed_from_u64(seed);
        let mut rng_b = ChaCha20Rng::seed_from_u64(seed ^ 0x5555_5555);
        let mut a = Endpoint::new(ea, &mut rng_a);
        let mut b = Endpoint::new(eb, &mut rng_b);
        a.add_tunnel(TUN, a_cfg);
        b.add_tunnel(TUN, b_cfg);
        Pair::from_endpoints(a, b, rng_a, rng_b, seed ^ 0xAAAA)
    }

    pub fn initiate(&mut self, side: Side) {
        let now = self.now;
        match side {
            Side::A => self.a.initiate(now, TUN, &mut self.rng_a).unwrap(),
            Side::B => self.b.initiate(now, TUN, &mut self.rng_b).unwrap(),
        }
        self.collect();
    }

    pub fn rekey_child(&mut self, side: Side) {
        let now = self.now;
        match side {
            Side::A => self.a.rekey_child(now, TUN, &mut self.rng_a).unwrap(),
            Side::B => self.b.rekey_child(now, TUN, &mut self.rng_b).unwrap(),
        }
        self.collect();
    }

    pub fn rekey_ike(&mut self, side: Side) {
        let now = self.now;
        match side {
            Side::A => self.a.rekey_ike(now, TUN, &mut self.rng_a).unwrap(),
            Side::B => self.b.rekey_ike(now, TUN, &mut self.rng_b).unwrap(),
        }
        self.collect();
    }

    /// Fast liveness probe (issue 6); returns the endpoint's answer.
    pub fn probe(&mut self, side: Side) -> Result<(), dualsec_ike::v2::Error> {
        let now = self.now;
        let r = match side {
            Side::A => self.a.probe(now, TUN, &mut self.rng_a),
            Side::B => self.b.probe(now, TUN, &mut self.rng_b),
        };
        self.collect();
        r
    }

    /// Deletes the CHILD SAs of the current IKE SA (issue 6 steering); returns how many.
    pub fn delete_child_sas(&mut self, side: Side) -> Result<usize, dualsec_ike::v2::Error> {
        let now = self.now;
        let r = match side {
            Side::A => self.a.delete_child_sas(now, TUN, &mut self.rng_a),
            Side::B => self.b.delete_child_sas(now, TUN, &mut self.rng_b),
        };
        self.collect();
        r
    }

    /// Creates a new CHILD SA under the current IKE SA (CREATE_CHILD_SA without REKEY_SA).
    pub fn create_child_sa(&mut self, side: Side) -> Result<(), dualsec_ike::v2::Error> {
        let now = self.now;
        let r = match side {
            Side::A => self.a.create_child_sa(now, TUN, &mut self.rng_a),
            Side::B => self.b.create_child_sa(now, TUN, &mut self.rng_b),
        };
        self.collect();
        r
    }

    pub fn delete(&mut self, side: Side) {
        let now = self.now;
        match side {
            Side::A => self.a.delete(now, TUN, &mut self.rng_a),
            Side::B => self.b.delete(now, TUN, &mut self.rng_b),
        }
        self.collect();
    }
}

impl<E: Driven> Pair<E> {
    /// Two endpoints with their tunnels added, their rngs, and the seed of the network's
    /// randomness (loss, jitter). No latency jitter, no loss, 10 ms one way.
    pub fn from_endpoints(
        a: E,
        b: E,
        rng_a: ChaCha20Rng,
        rng_b: ChaCha20Rng,
        net_seed: u64,
    ) -> Pair<E> {
        init_tracing();
        let now = Instant::now();
        Pair {
            a,
            b,
            now,
            start: now,
            rng_a,
            rng_b,
            net_rng: ChaCha20Rng::seed_from_u64(net_seed),
            in_flight: Vec::new(),
            seq: 0,
            latency: Duration::from_millis(10),
            loss: 0.0,
            jitter: Duration::ZERO,
            blackhole: false,
            drop_toward: None,
            events_a: Vec::new(),
            events_b: Vec::new(),
            sent: 0,
            dropped: 0,
            nat_a: None,
            block_port: None,
            drop_nth: Vec::new(),
            inbound_a: Vec::new(),
            inbound_b: Vec::new(),
        }
    }

    fn roll(&mut self) -> f64 {
        (self.net_rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Moves transmits into the network and events into the logs.
    pub fn collect(&mut self) {
        let mut out = Vec::new();
        while let Some(t) = self.a.poll_transmit() {
            out.push(t);
        }
        while let Some(t) = self.b.poll_transmit() {
            out.push(t);
        }
        for mut t in out {
            if let Some(public) = self.nat_a {
                if t.local.ip() == ip(A_IP) {
                    t.local = SocketAddr::new(public, 40000 + t.local.port());
                }
            }
            self.sent += 1;
            let firewalled = self.drop_nth.contains(&self.sent)
                || self.block_port.is_some_and(|p| t.remote.port() == p)
                || self.drop_toward.is_some_and(|side| {
                    t.remote.ip()
                        == ip(match side {
                            Side::A => A_IP,
                            Side::B => B_IP,
                        })
                });
            if self.blackhole || firewalled || (self.loss > 0.0 && self.roll() < self.loss) {
                self.dropped += 1;
                continue;
            }
            let extra = if self.jitter.is_zero() {
                Duration::ZERO
            } else {
                self.jitter.mul_f64(self.roll())
            };
            self.seq += 1;
            self.in_flight
                .push((self.now + self.latency + extra, self.seq, t));
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.push(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push(e);
        }
        while let Some(f) = self.a.poll_inbound_first() {
            self.inbound_a.push(f);
        }
        while let Some(f) = self.b.poll_inbound_first() {
            self.inbound_b.push(f);
        }
    }

    /// Advances to the next delivery or timer; false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        self.step_until(None)
    }

    /// Like `step`, but never past `end`: when the next thing happens later, the clock stops at
    /// `end` and false is returned.
    fn step_until(&mut self, end: Option<Instant>) -> bool {
        self.collect();
        let next_pkt = self.in_flight.iter().map(|(at, seq, _)| (*at, *seq)).min();
        let next_timer = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let next = [next_pkt.map(|(at, _)| at), next_timer]
            .into_iter()
            .flatten()
            .min();
        if let (Some(end), Some(next)) = (end, next) {
            if next > end {
                self.now = self.now.max(end);
                return false;
            }
        }
        match (next_pkt, next_timer) {
            (Some((at, seq)), t) if t.is_none_or(|t| at <= t) => {
                let _ = at;
                self.now = self.now.max(at);
                let idx = self
                    .in_flight
                    .iter()
                    .position(|(_, s, _)| *s == seq)
                    .unwrap();
                let (_, _, mut t) = self.in_flight.remove(idx);
                if Some(t.remote.ip()) == self.nat_a {
                    t.remote = SocketAddr::new(ip(A_IP), t.remote.port() - 40000);
                }
                let now = self.now;
                if t.remote.ip() == ip(A_IP) {
                    self.a
                        .handle_datagram(now, t.remote, t.local, &t.bytes, &mut self.rng_a);
                } else if t.remote.ip() == ip(B_IP) {
                    self.b
                        .handle_datagram(now, t.remote, t.local, &t.bytes, &mut self.rng_b);
                }
            }
            (_, Some(t)) => {
                self.now = self.now.max(t);
                let now = self.now;
                self.a.handle_timeout(now, &mut self.rng_a);
                self.b.handle_timeout(now, &mut self.rng_b);
            }
            _ => return false,
        }
        self.collect();
        true
    }

    /// Steps until `pred` holds or `limit` of virtual time passes. Returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut pred: impl FnMut(&Pair<E>) -> bool) -> bool {
        let end = self.now + limit;
        for _ in 0..200_000 {
            if pred(self) {
                return true;
            }
            if self.now >= end || !self.step_until(Some(end)) {
                return pred(self);
            }
        }
        panic!("livelock: too many steps");
    }

    /// Runs for exactly `d` of virtual time (nothing scheduled later is executed).
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn children(&self, side: Side) -> Vec<ChildSaInfo> {
        match side {
            Side::A => self.a.child_sas(TUN),
            Side::B => self.b.child_sas(TUN),
        }
    }

    pub fn both_have_child(&self) -> bool {
        !self.a.child_sas(TUN).is_empty() && !self.b.child_sas(TUN).is_empty()
    }

    pub fn failures(&self, side: Side) -> Vec<String> {
        self.negotiation_errors(side)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The errors of the side's `NegotiationFailed` events, in order.
    pub fn negotiation_errors(&self, side: Side) -> Vec<NegotiationError> {
        let ev = match side {
            Side::A => &self.events_a,
            Side::B => &self.events_b,
        };
        ev.iter()
            .filter_map(|e| match e {
                Event::NegotiationFailed { error, .. } => Some(error.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Both directions of the (single) CHILD SA agree: SPIs and keys cross over.
pub fn assert_children_match(a: &ChildSaInfo, b: &ChildSaInfo) {
    assert_eq!(a.spi_out, b.spi_in, "A's outbound SPI is B's inbound");
    assert_eq!(a.spi_in, b.spi_out, "A's inbound SPI is B's outbound");
    assert_eq!(a.encr, b.encr);
    assert_eq!(a.integ, b.integ);
    assert_eq!(*a.keys_out.encr_key, *b.keys_in.encr_key);
    assert_eq!(*a.keys_out.integ_key, *b.keys_in.integ_key);
    assert_eq!(*a.keys_in.encr_key, *b.keys_out.encr_key);
    assert_eq!(*a.keys_in.integ_key, *b.keys_out.integ_key);
    assert_ne!(
        *a.keys_in.encr_key, *a.keys_out.encr_key,
        "directions use different keys"
    );
}

pub fn addr(s: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip(s), port)
}
