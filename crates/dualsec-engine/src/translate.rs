//! Desired state (the product's settings, R-TUN-*) → the IKE cores' [`TunnelConfig`] (shared by
//! IKEv1 and IKEv2) and the version to run it with ([`IkeSetup`]).
//!
//! The product's algorithm names map to transforms through `dualsec_crypto::product`, the one
//! table of them; nothing here knows an algorithm id.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use dualsec_control::model::{CustomerGateway, Tunnel, VpnConnection};
use dualsec_control::values::{IkeIdentity, IkeMode, IkeVersion, Lifetime};
use dualsec_crypto::product::Suite;
use dualsec_ike::v1;
use dualsec_ike::v2::{
    DpdConfig, EspProposal, Identity, IkeProposal, Psk, TrafficSelector, TunnelConfig,
};
use ipnet::Ipv4Net;

use crate::ike::{IkeFlavor, IkeSetup};

/// Why a tunnel cannot run here; becomes its observed last error.
pub type Unsupported = String;

/// A lifetime of 0 (allowed by R-TUN-3/4's range 0–86400) means "the default": an SA that is
/// never rekeyed is not something a gateway should run.
fn lifetime(l: Lifetime) -> Duration {
    match l.secs() {
        0 => Duration::from_secs(u64::from(Lifetime::MAX_SECS)),
        s => Duration::from_secs(u64::from(s)),
    }
}

fn identity(id: &IkeIdentity) -> Identity {
    match id {
        IkeIdentity::Ip(ip) => Identity::Ipv4(*ip),
        IkeIdentity::Fqdn(name) => Identity::Fqdn(name.clone()),
    }
}

fn selectors(nets: &[Ipv4Net]) -> Vec<TrafficSelector> {
    nets.iter()
        .filter_map(|n| TrafficSelector::cidr(IpAddr::V4(n.network()), n.prefix_len()))
        .collect()
}

/// The IKE configuration (either version) of `tunnel` of `conn`, whose gateway-side address is `local`.
fn ike_config(
    conn: &VpnConnection,
    tunnel: &Tunnel,
    customer: &CustomerGateway,
    local: Ipv4Addr,
) -> Result<TunnelConfig, Unsupported> {
    let ike = &tunnel.ike;
    let ike_suite = Suite::from_product(
        ike.enc_alg.as_str(),
        ike.auth_alg.as_str(),
        ike.dh_group.as_str(),
    )
    .map_err(|e| format!("IKE proposal: {e}"))?;
    let ike_proposal = IkeProposal::from_strongswan(&ike_suite.to_strongswan_ike())
        .map_err(|e| format!("IKE proposal: {e}"))?;
    let ipsec = &tunnel.ipsec;
    let esp_suite = Suite::from_product(
        ipsec.enc_alg.as_str(),
        ipsec.auth_alg.as_str(),
        ipsec.pfs.as_str(),
    )
    .map_err(|e| format!("IPsec proposal: {e}"))?;
    let (esp_proposal, pfs) = EspProposal::from_strongswan(&esp_suite.to_strongswan_esp())
        .map_err(|e| format!("IPsec proposal: {e}"))?;

    let local_ip = IpAddr::V4(local);
    let remote_ip = IpAddr::V4(customer.ip_address);
    let mut cfg = TunnelConfig::new(local_ip, remote_ip, Psk::new(ike.psk.expose().as_bytes()));
    cfg.local_id = ike
        .local_id
        .as_ref()
        .map_or_else(|| Identity::from(local_ip), identity);
    cfg.remote_id = ike
        .remote_id
        .as_ref()
        .map_or_else(|| Identity::from(remote_ip), identity);
    cfg.ike_proposals = vec![ike_proposal];
    cfg.esp_proposals = vec![esp_proposal];
    cfg.pfs_group = pfs;
    cfg.ike_lifetime = lifetime(ike.lifetime);
    cfg.child_lifetime = lifetime(ipsec.lifetime);
    cfg.dpd = tunnel.enable_dpd.then(DpdConfig::default);
    cfg.nat_traversal = tunnel.enable_nat_traversal;
    cfg.local_ts = selectors(&conn.local_subnets);
    cfg.remote_ts = selectors(&conn.remote_subnets);
    Ok(cfg)
}

/// The whole setup of `tunnel`: [`ike_config`] plus the IKE version, and for IKEv1 the
/// phase-1 mode (R-TUN-3). R-CONN-2 (one CIDR per side with IKEv1) is enforced by the API.
pub fn ike_setup(
    conn: &VpnConnection,
    tunnel: &Tunnel,
    customer: &CustomerGateway,
    local: Ipv4Addr,
) -> Result<IkeSetup, Unsupported> {
    let mut config = ike_config(conn, tunnel, customer, local)?;
    // Issue 7: the tunnel's BGP session rides its own CHILD SA (IKEv2 only, see the function).
    if tunnel.ike.version == IkeVersion::V2 {
        if let Some((ours, theirs)) = crate::bgp::session_selectors(tunnel) {
            config.local_ts.extend(selectors(&[ours]));
            config.remote_ts.extend(selectors(&[theirs]));
        }
    }
    let flavor = match tunnel.ike.version {
        IkeVersion::V2 => IkeFlavor::V2,
        IkeVersion::V1 => IkeFlavor::V1(v1::Options {
            mode: match tunnel.ike.mode {
                IkeMode::Main => v1::Mode::Main,
                IkeMode::Aggressive => v1::Mode::Aggressive,
            },
        }),
    };
    Ok(IkeSetup { config, flavor })
}
