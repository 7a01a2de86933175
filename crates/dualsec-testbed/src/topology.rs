//! The standard topology of `shared/DESIGN.md`, every node addressable by role.
//!
//! ```text
//!  vpc ── gw ══ up1 (IP 1, az1) ══╗
//!           ══ up2 (IP 2, az2) ══╬══ inet ──[nat]── cgw ── idc
//!  198.18.1.0/24                                    198.19.1.0/24
//! ```
//!
//! | node | interface | address |
//! | --- | --- | --- |
//! | vpc | `eth0` | [`VPC_HOST`] /24, default via [`GW_VPC`] |
//! | gw | `vpc0` | [`GW_VPC`] /24 |
//! | gw | `up1` | IP 1 ([`IP1`]) peer [`INET_UP1`] |
//! | gw | `up2` | IP 2 ([`IP2`]) peer [`INET_UP2`] |
//! | inet | `gw1`, `gw2` | [`INET_UP1`], [`INET_UP2`] (point-to-point) |
//! | inet | `cust0` | [`INET_CUST`] /24 |
//! | nat (optional) | `wan0` / `lan0` | [`CGW_PUBLIC`] /24 / [`NAT_LAN`] /24, masquerade on `wan0` |
//! | cgw | `eth0` | [`CGW_PUBLIC`] /24 (or [`CGW_BEHIND_NAT`] /24 with NAT) |
//! | cgw | `idc0` | [`CGW_IDC`] /24 |
//! | idc | `eth0` | [`IDC_HOST`] /24, default via [`CGW_IDC`] |
//!
//! The gateway sends from IP 1 out of `up1` and from IP 2 out of `up2` (source policy routing,
//! tables 101/102 at rule priorities 1101/1102, after charon's table 220). `inet` knows no
//! route to 198.18/16 or 198.19/16, so vpc ⇄ idc traffic only passes through a tunnel.

use crate::charon::PskConnection;
use crate::error::Result;
use crate::netns::{Netns, NftRule};

/// Gateway public IP 1 (tunnel 1, az1).
pub const IP1: &str = "192.0.2.1";
/// Gateway public IP 2 (tunnel 2, az2).
pub const IP2: &str = "192.0.2.2";
/// Router end of uplink 1.
pub const INET_UP1: &str = "192.0.2.101";
/// Router end of uplink 2.
pub const INET_UP2: &str = "192.0.2.102";
/// Router address on the customer side.
pub const INET_CUST: &str = "203.0.113.254";
/// The customer gateway's public address (its own, or the NAT's outside address).
pub const CGW_PUBLIC: &str = "203.0.113.1";
/// NAT inside address (with NAT only).
pub const NAT_LAN: &str = "198.51.100.254";
/// The customer gateway's address behind the NAT.
pub const CGW_BEHIND_NAT: &str = "198.51.100.1";
/// The gateway's address on the VPC subnet.
pub const GW_VPC: &str = "198.18.1.1";
/// A VPC host.
pub const VPC_HOST: &str = "198.18.1.10";
/// The VPC subnet behind the gateway.
pub const VPC_NET: &str = "198.18.1.0/24";
/// The customer gateway's address on the IDC subnet.
pub const CGW_IDC: &str = "198.19.1.1";
/// An IDC host.
pub const IDC_HOST: &str = "198.19.1.10";
/// The IDC subnet behind the customer gateway.
pub const IDC_NET: &str = "198.19.1.0/24";

/// Which gateway uplink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uplink {
    /// IP 1, interface `up1` (tunnel 1, master).
    Az1,
    /// IP 2, interface `up2` (tunnel 2, backup).
    Az2,
}

impl Uplink {
    /// The gateway's address on this uplink.
    pub fn ip(self) -> &'static str {
        match self {
            Self::Az1 => IP1,
            Self::Az2 => IP2,
        }
    }
    /// The router's address on this uplink.
    pub fn router_ip(self) -> &'static str {
        match self {
            Self::Az1 => INET_UP1,
            Self::Az2 => INET_UP2,
        }
    }
    /// Interface name in `gw`.
    pub fn gw_dev(self) -> &'static str {
        match self {
            Self::Az1 => "up1",
            Self::Az2 => "up2",
        }
    }
    /// Interface name in `inet`.
    pub fn inet_dev(self) -> &'static str {
        match self {
            Self::Az1 => "gw1",
            Self::Az2 => "gw2",
        }
    }
    fn table(self) -> &'static str {
        match self {
            Self::Az1 => "101",
            Self::Az2 => "102",
        }
    }
    fn metric(self) -> &'static str {
        match self {
            Self::Az1 => "100",
            Self::Az2 => "200",
        }
    }
}

/// Direction of a drop fault, seen from the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Packets sent by the gateway from the uplink's IP.
    FromGateway,
    /// Packets sent to the uplink's IP.
    ToGateway,
    /// Both.
    Both,
}

/// Options of [`Topology::build`].
#[derive(Clone, Debug, Default)]
pub struct TopologyOptions {
    /// Put a masquerading NAT between `inet` and `cgw`.
    pub nat: bool,
}

/// The six (seven with NAT) namespaces of the standard topology, wired and addressed. Dropping it
/// deletes them all (after killing whatever runs inside).
#[derive(Debug)]
pub struct Topology {
    /// VPC host.
    pub vpc: Netns,
    /// The gateway under test (dualsec, or charon for the baseline).
    pub gw: Netns,
    /// The internet router.
    pub inet: Netns,
    /// The NAT between `inet` and `cgw`, if requested.
    pub nat: Option<Netns>,
    /// Customer gateway (strongSwan, BIRD …).
    pub cgw: Netns,
    /// IDC host.
    pub idc: Netns,
    nat_rule: Option<NftRule>,
}

impl Topology {
    /// Creates and wires the namespaces.
    pub fn build(options: &TopologyOptions) -> Result<Self> {
        let vpc = Netns::new("vpc")?;
        let gw = Netns::new("gw")?;
        let inet = Netns::new("inet")?;
        let nat = if options.nat {
            Some(Netns::new("nat")?)
        } else {
            None
        };
        let cgw = Netns::new("cgw")?;
        let idc = Netns::new("idc")?;

        // vpc ── gw
        Netns::veth(&vpc, "eth0", &gw, "vpc0")?;
        vpc.addr("eth0", &format!("{VPC_HOST}/24"))?;
        vpc.route(&["default", "via", GW_VPC])?;
        gw.addr("vpc0", &format!("{GW_VPC}/24"))?;
        gw.enable_forwarding()?;

        // gw ══ inet, two uplinks
        inet.enable_forwarding()?;
        for up in [Uplink::Az1, Uplink::Az2] {
            Netns::veth(&gw, up.gw_dev(), &inet, up.inet_dev())?;
            gw.addr_peer(up.gw_dev(), up.ip(), up.router_ip())?;
            inet.addr_peer(up.inet_dev(), up.router_ip(), up.ip())?;
            gw.ip(&[
                "rule",
                "add",
                "pref",
                &format!("1{}", up.table()),
                "from",
                up.ip(),
                "lookup",
                up.table(),
            ])?;
        }
        let topo_routes = |t: &Self| -> Result<()> {
            for up in [Uplink::Az1, Uplink::Az2] {
                t.uplink_routes(up)?;
            }
            Ok(())
        };

        // inet ── [nat] ── cgw ── idc
        let cgw_uplink_gw = if let Some(nat) = &nat {
            Netns::veth(&inet, "cust0", nat, "wan0")?;
            nat.addr("wan0", &format!("{CGW_PUBLIC}/24"))?;
            nat.route(&["default", "via", INET_CUST])?;
            nat.enable_forwarding()?;
            Netns::veth(nat, "lan0", &cgw, "eth0")?;
            nat.addr("lan0", &format!("{NAT_LAN}/24"))?;
            cgw.addr("eth0", &format!("{CGW_BEHIND_NAT}/24"))?;
            NAT_LAN
        } else {
            Netns::veth(&inet, "cust0", &cgw, "eth0")?;
            cgw.addr("eth0", &format!("{CGW_PUBLIC}/24"))?;
            INET_CUST
        };
        inet.addr("cust0", &format!("{INET_CUST}/24"))?;
        cgw.route(&["default", "via", cgw_uplink_gw])?;
        cgw.enable_forwarding()?;
        Netns::veth(&cgw, "idc0", &idc, "eth0")?;
        cgw.addr("idc0", &format!("{CGW_IDC}/24"))?;
        idc.addr("eth0", &format!("{IDC_HOST}/24"))?;
        idc.route(&["default", "via", CGW_IDC])?;

        let nat_rule = match &nat {
            Some(n) => Some(n.nft_masquerade("wan0")?),
            None => None,
        };
        let topo = Self {
            vpc,
            gw,
            inet,
            nat,
            cgw,
            idc,
            nat_rule,
        };
        topo_routes(&topo)?;
        Ok(topo)
    }

    /// (Re)installs the gateway's routes over `up`: its policy table and a main-table default
    /// (metric 100 via up1, 200 via up2). The kernel deletes them when the link goes down.
    fn uplink_routes(&self, up: Uplink) -> Result<()> {
        let (dev, via, src) = (up.gw_dev(), up.router_ip(), up.ip());
        self.gw.route(&[
            "default",
            "via",
            via,
            "dev",
            dev,
            "src",
            src,
            "table",
            up.table(),
        ])?;
        self.gw.route(&[
            "default",
            "via",
            via,
            "dev",
            dev,
            "src",
            src,
            "metric",
            up.metric(),
        ])
    }

    /// The customer gateway's own address (its public one, or the one behind the NAT).
    pub fn cgw_local_ip(&self) -> &'static str {
        if self.nat.is_some() {
            CGW_BEHIND_NAT
        } else {
            CGW_PUBLIC
        }
    }

    /// The masquerade rule, if the topology has a NAT.
    pub fn nat_rule(&self) -> Option<&NftRule> {
        self.nat_rule.as_ref()
    }

    /// All namespaces, in creation order.
    pub fn namespaces(&self) -> Vec<&Netns> {
        let mut v = vec![&self.vpc, &self.gw, &self.inet];
        v.extend(self.nat.as_ref());
        v.extend([&self.cgw, &self.idc]);
        v
    }

    /// Cuts an uplink (link down at the gateway; the router side loses carrier).
    pub fn cut_uplink(&self, up: Uplink) -> Result<()> {
        self.gw.link_down(up.gw_dev())
    }

    /// Restores an uplink and its routes.
    pub fn restore_uplink(&self, up: Uplink) -> Result<()> {
        self.gw.link_up(up.gw_dev())?;
        self.uplink_routes(up)
    }

    /// Drops, in the router, packets from and/or to the uplink's IP. Undo with
    /// [`NftRule::remove`].
    pub fn block(&self, up: Uplink, direction: Direction) -> Result<NftRule> {
        let from = format!("ip saddr {}", up.ip());
        let to = format!("ip daddr {}", up.ip());
        let matches: Vec<&str> = match direction {
            Direction::FromGateway => vec![&from],
            Direction::ToGateway => vec![&to],
            Direction::Both => vec![&from, &to],
        };
        self.inet.nft_drop(&matches)
    }

    /// The gateway side of a baseline site-to-site connection over `up`: IP `up` ⇄
    /// [`CGW_PUBLIC`], [`VPC_NET`] ⇄ [`IDC_NET`], IKEv2 `aes128-sha1-modp1024`, ESP `aes128-sha1`.
    /// Named `tunnel1` / child `net1` over az1 and `tunnel2` / `net2` over az2, so the customer
    /// side can load both (see [`PskConnection::render_all`]).
    pub fn gw_connection(&self, up: Uplink) -> PskConnection {
        let mut c = PskConnection::new(up.ip(), CGW_PUBLIC, VPC_NET, IDC_NET);
        let n = match up {
            Uplink::Az1 => 1,
            Uplink::Az2 => 2,
        };
        c.name = format!("tunnel{n}");
        c.child = format!("net{n}");
        c
    }

    /// The customer gateway's mirror of `gw_side`, with its local address fixed up for NAT
    /// (the IKE identity stays [`CGW_PUBLIC`]).
    pub fn cgw_connection(&self, gw_side: &PskConnection) -> PskConnection {
        let mut c = gw_side.mirrored();
        c.local_addr = self.cgw_local_ip().to_owned();
        c
    }
}
