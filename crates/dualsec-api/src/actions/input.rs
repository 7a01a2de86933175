//! Flat parameters → control's typed requests. Value parsing goes through `dualsec_control`'s
//! parsers so that every validation code comes from the one place that owns them
//! (`IllegalParam.<Field>`, `MissingParameter`).

use std::str::FromStr;

use dualsec_control::ControlError;
use dualsec_control::requests::{
    IkeConfigInput, IpsecConfigInput, PageRequest, TunnelBgpInput, TunnelOptionsInput,
};
use dualsec_control::values::{
    AuthAlg, DhGroup, EncAlg, IkeMode, IkeVersion, IpsecPfs, Tag, TunnelRole, parse_bool,
    parse_int, parse_subnets,
};
use ipnet::Ipv4Net;

use crate::error::ApiError;
use crate::params::Params;

/// The full wire path of a key inside a sub-object, for messages (`TunnelOptionsSpecification.2.Role`).
fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Required string.
pub fn req(p: &Params, key: &str) -> Result<String, ApiError> {
    p.str(key)
        .map(str::to_owned)
        .ok_or_else(|| ControlError::missing(key).into())
}

/// Optional string.
pub fn opt(p: &Params, key: &str) -> Option<String> {
    p.string(key)
}

/// Optional boolean (case-insensitive).
pub fn opt_bool(p: &Params, prefix: &str, key: &str) -> Result<Option<bool>, ApiError> {
    p.str(key)
        .map(|v| parse_bool(&path(prefix, key), v))
        .transpose()
        .map_err(Into::into)
}

/// Required boolean.
pub fn req_bool(p: &Params, key: &str) -> Result<bool, ApiError> {
    opt_bool(p, "", key)?.ok_or_else(|| ControlError::missing(key).into())
}

/// Optional integer.
pub fn opt_int(p: &Params, prefix: &str, key: &str) -> Result<Option<i64>, ApiError> {
    p.str(key)
        .map(|v| parse_int(&path(prefix, key), v))
        .transpose()
        .map_err(Into::into)
}

/// Required integer.
pub fn req_int(p: &Params, key: &str) -> Result<i64, ApiError> {
    opt_int(p, "", key)?.ok_or_else(|| ControlError::missing(key).into())
}

/// Optional id / enum through its `FromStr` (which yields control's error).
pub fn opt_parse<T: FromStr<Err = ControlError>>(
    p: &Params,
    key: &str,
) -> Result<Option<T>, ApiError> {
    p.str(key).map(T::from_str).transpose().map_err(Into::into)
}

/// Required id / enum.
pub fn req_parse<T: FromStr<Err = ControlError>>(p: &Params, key: &str) -> Result<T, ApiError> {
    opt_parse(p, key)?.ok_or_else(|| ControlError::missing(key).into())
}

/// Required CIDR list (`LocalSubnet`).
pub fn req_subnets(p: &Params, key: &str) -> Result<Vec<Ipv4Net>, ApiError> {
    Ok(parse_subnets(key, &req(p, key)?)?)
}

/// Optional CIDR list.
pub fn opt_subnets(p: &Params, key: &str) -> Result<Option<Vec<Ipv4Net>>, ApiError> {
    p.str(key)
        .map(|v| parse_subnets(key, v))
        .transpose()
        .map_err(Into::into)
}

/// One CIDR (`RouteDest`).
pub fn req_net(p: &Params, key: &str) -> Result<Ipv4Net, ApiError> {
    let v = req(p, key)?;
    v.trim().parse::<Ipv4Net>().map_err(|_| {
        ControlError::illegal(
            key,
            format!(
                "The specified \"{key}\" ({v:?}) is not an IPv4 CIDR block such as 10.0.0.0/24."
            ),
        )
        .into()
    })
}

/// `Tags.N.Key/Value` (create) or `Tag.N.Key/Value` (describe filters).
pub fn tags(p: &Params, prefix: &str) -> Result<Vec<Tag>, ApiError> {
    let mut out = Vec::new();
    for (i, t) in p.list(prefix)? {
        let key = t
            .str("Key")
            .ok_or_else(|| ControlError::missing(format!("{prefix}.{i}.Key")))?;
        out.push(Tag {
            key: key.to_owned(),
            value: t.str("Value").unwrap_or_default().to_owned(),
        });
    }
    Ok(out)
}

/// `PageNumber` / `PageSize`.
pub fn page(p: &Params) -> Result<PageRequest, ApiError> {
    Ok(PageRequest {
        page_number: opt_int(p, "", "PageNumber")?,
        page_size: opt_int(p, "", "PageSize")?,
    })
}

fn enum_at<T>(
    t: &Params,
    prefix: &str,
    key: &str,
    parse: fn(&str, &str) -> Result<T, ControlError>,
) -> Result<Option<T>, ApiError> {
    t.str(key)
        .map(|v| parse(&path(prefix, key), v))
        .transpose()
        .map_err(Into::into)
}

/// One `TunnelOptionsSpecification` object; `prefix` is its wire path for messages.
pub fn tunnel_options(t: &Params, prefix: &str) -> Result<TunnelOptionsInput, ApiError> {
    let ike_p = format!("{prefix}.TunnelIkeConfig");
    let ike = t.object("TunnelIkeConfig");
    let ipsec_p = format!("{prefix}.TunnelIpsecConfig");
    let ipsec = t.object("TunnelIpsecConfig");
    let bgp = t.object("TunnelBgpConfig");
    Ok(TunnelOptionsInput {
        tunnel_id: opt_parse(t, "TunnelId")?,
        customer_gateway_id: opt_parse(t, "CustomerGatewayId")?,
        role: enum_at(t, prefix, "Role", TunnelRole::parse_as)?,
        enable_dpd: opt_bool(t, prefix, "EnableDpd")?,
        enable_nat_traversal: opt_bool(t, prefix, "EnableNatTraversal")?,
        remote_ca_certificate: opt(t, "RemoteCaCertificate"),
        ike: IkeConfigInput {
            // An explicitly empty PSK means "generate one" (R-TUN-2), like an absent one.
            psk: opt(&ike, "Psk"),
            ike_version: enum_at(&ike, &ike_p, "IkeVersion", IkeVersion::parse_as)?,
            ike_mode: enum_at(&ike, &ike_p, "IkeMode", IkeMode::parse_as)?,
            ike_enc_alg: enum_at(&ike, &ike_p, "IkeEncAlg", EncAlg::parse_as)?,
            ike_auth_alg: enum_at(&ike, &ike_p, "IkeAuthAlg", AuthAlg::parse_as)?,
            ike_pfs: enum_at(&ike, &ike_p, "IkePfs", DhGroup::parse_as)?,
            ike_lifetime: opt_int(&ike, &ike_p, "IkeLifetime")?,
            local_id: opt(&ike, "LocalId"),
            remote_id: opt(&ike, "RemoteId"),
        },
        ipsec: IpsecConfigInput {
            ipsec_enc_alg: enum_at(&ipsec, &ipsec_p, "IpsecEncAlg", EncAlg::parse_as)?,
            ipsec_auth_alg: enum_at(&ipsec, &ipsec_p, "IpsecAuthAlg", AuthAlg::parse_as)?,
            ipsec_pfs: enum_at(&ipsec, &ipsec_p, "IpsecPfs", IpsecPfs::parse_as)?,
            ipsec_lifetime: opt_int(&ipsec, &ipsec_p, "IpsecLifetime")?,
        },
        bgp: TunnelBgpInput {
            local_asn: opt(&bgp, "LocalAsn"),
            tunnel_cidr: opt(&bgp, "TunnelCidr"),
            local_bgp_ip: opt(&bgp, "LocalBgpIp"),
        },
    })
}

/// `TunnelOptionsSpecification.N.*` as a list in N order.
pub fn tunnel_list(p: &Params) -> Result<Vec<TunnelOptionsInput>, ApiError> {
    p.list("TunnelOptionsSpecification")?
        .into_iter()
        .map(|(i, t)| tunnel_options(&t, &format!("TunnelOptionsSpecification.{i}")))
        .collect()
}

/// The single-tunnel-mode JSON parameters are not supported: every connection here is dual-tunnel
/// (SPEC R-HA-1). Say so instead of silently ignoring them.
pub fn refuse_single_tunnel_params(p: &Params) -> Result<(), ApiError> {
    for key in [
        "IkeConfig",
        "IpsecConfig",
        "BgpConfig",
        "HealthCheckConfig",
        "CustomerGatewayId",
        "EnableDpd",
        "EnableNatTraversal",
        "RemoteCaCertificate",
    ] {
        if p.str(key).is_some() {
            return Err(ControlError::illegal(
                key,
                format!(
                    "\"{key}\" is a single-tunnel-mode parameter; dualsec connections are always dual-tunnel (R-HA-1): use TunnelOptionsSpecification.N.* (TunnelIkeConfig, TunnelIpsecConfig, TunnelBgpConfig, CustomerGatewayId, EnableDpd, EnableNatTraversal) and EnableTunnelsBgp."
                ),
            )
            .into());
        }
    }
    Ok(())
}
