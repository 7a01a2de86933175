//! The CLI: `dualsec <resource> <verb> [ID] [--param value …]`, one signed API call per command.
//!
//! Commands and their flags are built from the API's action catalog
//! ([`dualsec_api::actions::ACTIONS`]): every scalar parameter of an action is a `--kebab-case`
//! flag (`LocalSubnet` → `--local-subnet`), flattened ones (`TunnelOptionsSpecification.1.Role`)
//! go through `--set KEY=VALUE`. So the CLI covers every action and cannot drift from the server.

use std::collections::BTreeMap;

use clap::{Arg, ArgAction, ArgMatches, Command};
use dualsec_api::actions::ActionSpec;
use serde_json::Value;

/// One friendly command: `resource verb` → action, with the parameter a positional ID fills.
#[derive(Debug, Clone, Copy)]
pub struct Verb {
    /// Resource word (`vpn-gateway`).
    pub resource: &'static str,
    /// Verb (`create`).
    pub verb: &'static str,
    /// Provider action.
    pub action: &'static str,
    /// Parameter the positional argument fills, if any.
    pub positional: Option<&'static str>,
    /// Columns shown for list results (`--output table`).
    pub columns: &'static [&'static str],
}

const GW_COLS: &[&str] = &[
    "VpnGatewayId",
    "Name",
    "Status",
    "InternetIp",
    "DisasterRecoveryInternetIp",
    "Spec",
];
const CGW_COLS: &[&str] = &["CustomerGatewayId", "Name", "IpAddress", "Asn"];
const VCO_COLS: &[&str] = &[
    "VpnConnectionId",
    "Name",
    "VpnGatewayId",
    "State",
    "Status",
    "LocalSubnet",
    "RemoteSubnet",
];
const ROUTE_COLS: &[&str] = &["RouteDest", "NextHop", "Weight", "State", "RouteEntryType"];
const PBR_COLS: &[&str] = &[
    "RouteSource",
    "RouteDest",
    "NextHop",
    "Weight",
    "Priority",
    "State",
];

/// Every friendly command.
pub const VERBS: &[Verb] = &[
    Verb {
        resource: "vpn-gateway",
        verb: "create",
        action: "CreateVpnGateway",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "vpn-gateway",
        verb: "describe",
        action: "DescribeVpnGateway",
        positional: Some("VpnGatewayId"),
        columns: &[],
    },
    Verb {
        resource: "vpn-gateway",
        verb: "list",
        action: "DescribeVpnGateways",
        positional: None,
        columns: GW_COLS,
    },
    Verb {
        resource: "vpn-gateway",
        verb: "modify",
        action: "ModifyVpnGatewayAttribute",
        positional: Some("VpnGatewayId"),
        columns: &[],
    },
    Verb {
        resource: "vpn-gateway",
        verb: "delete",
        action: "DeleteVpnGateway",
        positional: Some("VpnGatewayId"),
        columns: &[],
    },
    Verb {
        resource: "vpn-gateway",
        verb: "zones",
        action: "DescribeVpnGatewayAvailableZones",
        positional: None,
        columns: &["ZoneId", "ZoneName"],
    },
    Verb {
        resource: "customer-gateway",
        verb: "create",
        action: "CreateCustomerGateway",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "customer-gateway",
        verb: "describe",
        action: "DescribeCustomerGateway",
        positional: Some("CustomerGatewayId"),
        columns: &[],
    },
    Verb {
        resource: "customer-gateway",
        verb: "list",
        action: "DescribeCustomerGateways",
        positional: None,
        columns: CGW_COLS,
    },
    Verb {
        resource: "customer-gateway",
        verb: "modify",
        action: "ModifyCustomerGatewayAttribute",
        positional: Some("CustomerGatewayId"),
        columns: &[],
    },
    Verb {
        resource: "customer-gateway",
        verb: "delete",
        action: "DeleteCustomerGateway",
        positional: Some("CustomerGatewayId"),
        columns: &[],
    },
    Verb {
        resource: "connection",
        verb: "create",
        action: "CreateVpnConnection",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "connection",
        verb: "describe",
        action: "DescribeVpnConnection",
        positional: Some("VpnConnectionId"),
        columns: &[],
    },
    Verb {
        resource: "connection",
        verb: "logs",
        action: "DescribeVpnConnectionLogs",
        positional: Some("VpnConnectionId"),
        columns: &[],
    },
    Verb {
        resource: "connection",
        verb: "list",
        action: "DescribeVpnConnections",
        positional: None,
        columns: VCO_COLS,
    },
    Verb {
        resource: "connection",
        verb: "modify",
        action: "ModifyVpnConnectionAttribute",
        positional: Some("VpnConnectionId"),
        columns: &[],
    },
    Verb {
        resource: "connection",
        verb: "modify-tunnel",
        action: "ModifyTunnelAttribute",
        positional: Some("TunnelId"),
        columns: &[],
    },
    Verb {
        resource: "connection",
        verb: "delete",
        action: "DeleteVpnConnection",
        positional: Some("VpnConnectionId"),
        columns: &[],
    },
    Verb {
        resource: "route",
        verb: "create",
        action: "CreateVpnRouteEntry",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "route",
        verb: "delete",
        action: "DeleteVpnRouteEntry",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "route",
        verb: "modify-weight",
        action: "ModifyVpnRouteEntryWeight",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "route",
        verb: "list",
        action: "DescribeVpnRouteEntries",
        positional: Some("VpnGatewayId"),
        columns: ROUTE_COLS,
    },
    Verb {
        resource: "route",
        verb: "publish",
        action: "PublishVpnRouteEntry",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "pbr-route",
        verb: "create",
        action: "CreateVpnPbrRouteEntry",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "pbr-route",
        verb: "delete",
        action: "DeleteVpnPbrRouteEntry",
        positional: None,
        columns: &[],
    },
    Verb {
        resource: "pbr-route",
        verb: "list",
        action: "DescribeVpnPbrRouteEntries",
        positional: Some("VpnGatewayId"),
        columns: PBR_COLS,
    },
];

/// `LocalSubnet` → `local-subnet`.
pub fn kebab(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// Flags of an action: its scalar parameters (not the flattened `X.N.Y` ones).
fn action_args(spec: &ActionSpec, positional: Option<&str>) -> Vec<Arg> {
    let mut args = Vec::new();
    for p in spec.params {
        if p.name.contains('.') || Some(p.name) == positional || p.name == "RegionId" {
            continue;
        }
        let long: &'static str = Box::leak(kebab(p.name).into_boxed_str());
        let help: &'static str = Box::leak(
            format!(
                "{}{}",
                p.name,
                if p.doc.is_empty() {
                    String::new()
                } else {
                    format!(": {}", p.doc)
                }
            )
            .into_boxed_str(),
        );
        args.push(Arg::new(p.name).long(long).value_name("VALUE").help(help));
    }
    args.push(
        Arg::new("set")
            .long("set")
            .value_name("KEY=VALUE")
            .action(ArgAction::Append)
            .help("Any parameter by its wire name, e.g. TunnelOptionsSpecification.1.TunnelIkeConfig.Psk=secret"),
    );
    args
}

/// The client subcommands (resources and their verbs, `peer-config`, `call`).
pub fn client_commands() -> Vec<Command> {
    let mut resources: BTreeMap<&str, Command> = BTreeMap::new();
    for v in VERBS {
        let Some(spec) = dualsec_api::actions::find(v.action) else {
            continue;
        };
        let mut verb = Command::new(v.verb).about(format!("{} ({})", spec.summary, v.action));
        if let Some(p) = v.positional {
            verb = verb.arg(Arg::new("ID").required(true).help(p));
        }
        verb = verb.args(action_args(spec, v.positional));
        let cmd = resources.remove(v.resource).unwrap_or_else(|| {
            Command::new(v.resource)
                .subcommand_required(true)
                .about(format!("{} actions", v.resource))
        });
        resources.insert(v.resource, cmd.subcommand(verb));
    }
    let mut out: Vec<Command> = resources.into_values().collect();
    out.push(
        Command::new("peer-config")
            .about(
                "The customer-device configuration of a connection (DownloadVpnConnectionConfig)",
            )
            .arg(Arg::new("ID").required(true).help("VpnConnectionId"))
            .arg(
                Arg::new("format")
                    .long("format")
                    .value_parser(["json", "swanctl", "bird", "frr"])
                    .default_value("json")
                    .help("json: the provider's VpnConnectionConfig; swanctl: a complete strongSwan swanctl.conf for the customer gateway (both tunnels); bird / frr: the customer's BGP configuration (BIRD 2 / FRR), one session per tunnel"),
            ),
    );
    out.push(
        Command::new("call")
            .about("Any action by name with raw parameters: dualsec call DescribeVpnGateways RegionId=local")
            .arg(Arg::new("ACTION").required(true))
            .arg(Arg::new("PARAMS").num_args(0..).value_name("KEY=VALUE")),
    );
    out.push(Command::new("actions").about("List every API action"));
    out
}

/// What the matched CLI command asks for.
#[derive(Debug)]
pub struct Invocation {
    /// Provider action.
    pub action: String,
    /// Flat parameters (RegionId added by the caller).
    pub params: BTreeMap<String, String>,
    /// Columns for a list table.
    pub columns: &'static [&'static str],
}

fn split_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// Turns a matched resource/verb/call command into an [`Invocation`].
pub fn invocation(name: &str, m: &ArgMatches) -> Result<Option<Invocation>, String> {
    if name == "call" {
        let action = m.get_one::<String>("ACTION").cloned().unwrap_or_default();
        let mut params = BTreeMap::new();
        for kv in m.get_many::<String>("PARAMS").into_iter().flatten() {
            let (k, v) = split_kv(kv)?;
            params.insert(k, v);
        }
        return Ok(Some(Invocation {
            action,
            params,
            columns: &[],
        }));
    }
    if name == "peer-config" {
        let format = m
            .get_one::<String>("format")
            .map(String::as_str)
            .unwrap_or("json");
        if !["json", "swanctl", "bird", "frr"].contains(&format) {
            return Err(format!(
                "--format {format}: expected json, swanctl, bird or frr"
            ));
        }
        let mut params = BTreeMap::new();
        params.insert(
            "VpnConnectionId".to_owned(),
            m.get_one::<String>("ID").cloned().unwrap_or_default(),
        );
        return Ok(Some(Invocation {
            action: "DownloadVpnConnectionConfig".to_owned(),
            params,
            columns: &[],
        }));
    }
    let Some((verb_name, vm)) = m.subcommand() else {
        return Ok(None);
    };
    let Some(v) = VERBS
        .iter()
        .find(|v| v.resource == name && v.verb == verb_name)
    else {
        return Ok(None);
    };
    let Some(spec) = dualsec_api::actions::find(v.action) else {
        return Ok(None);
    };
    let mut params = BTreeMap::new();
    if let Some(p) = v.positional {
        if let Some(id) = vm.get_one::<String>("ID") {
            params.insert(p.to_owned(), id.clone());
        }
    }
    for p in spec.params {
        if p.name.contains('.') || Some(p.name) == v.positional || p.name == "RegionId" {
            continue;
        }
        if let Some(val) = vm.get_one::<String>(p.name) {
            params.insert(p.name.to_owned(), val.clone());
        }
    }
    for kv in vm.get_many::<String>("set").into_iter().flatten() {
        let (k, val) = split_kv(kv)?;
        params.insert(k, val);
    }
    Ok(Some(Invocation {
        action: v.action.to_owned(),
        params,
        columns: v.columns,
    }))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn flatten_into(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(&key, x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten_into(&format!("{prefix}.{}", i + 1), x, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar(other).unwrap_or_default())),
    }
}

/// The array of items in a list response: `VpnGateways.VpnGateway[]`, or a bare top-level array.
fn list_items(v: &Value) -> Option<&Vec<Value>> {
    let m = v.as_object()?;
    for (k, x) in m {
        if k == "RequestId" {
            continue;
        }
        if let Value::Array(a) = x {
            return Some(a);
        }
        if let Value::Object(inner) = x {
            if inner.len() == 1 {
                if let Some(Value::Array(a)) = inner.values().next() {
                    return Some(a);
                }
            }
        }
    }
    None
}

/// Renders a response for people: a table for lists, `Key  Value` lines otherwise.
pub fn render_table(v: &Value, columns: &[&str]) -> String {
    if !columns.is_empty() {
        if let Some(items) = list_items(v) {
            let mut rows: Vec<Vec<String>> =
                vec![columns.iter().map(|c| (*c).to_owned()).collect()];
            for it in items {
                rows.push(
                    columns
                        .iter()
                        .map(|c| it.get(*c).and_then(scalar).unwrap_or_default())
                        .collect(),
                );
            }
            let widths: Vec<usize> = (0..columns.len())
                .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
                .collect();
            let mut out = String::new();
            for r in &rows {
                let line: Vec<String> = r
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                out.push_str(line.join("  ").trim_end());
                out.push('\n');
            }
            if let Some(total) = v.get("TotalCount").and_then(scalar) {
                out.push_str(&format!("({} of {total})\n", items.len()));
            }
            return out;
        }
    }
    let mut flat = Vec::new();
    flatten_into("", v, &mut flat);
    let w = flat.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    flat.iter()
        .map(|(k, val)| format!("{k:<w$}  {val}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dualsec_api::actions::ACTIONS;

    #[test]
    fn kebab_case_of_wire_names() {
        assert_eq!(kebab("LocalSubnet"), "local-subnet");
        assert_eq!(kebab("VpnGatewayId"), "vpn-gateway-id");
        assert_eq!(kebab("VSwitchId"), "v-switch-id");
        assert_eq!(kebab("EnableIpsec"), "enable-ipsec");
    }

    #[test]
    fn every_verb_names_a_served_action() {
        for v in VERBS {
            assert!(
                dualsec_api::actions::find(v.action).is_some(),
                "{}",
                v.action
            );
        }
        // And every served action is reachable by a friendly verb or peer-config.
        for a in ACTIONS {
            assert!(
                VERBS.iter().any(|v| v.action == a.name) || a.name == "DownloadVpnConnectionConfig",
                "{} has no CLI verb",
                a.name
            );
        }
    }

    #[test]
    fn cli_builds_without_conflicting_flags() {
        let cmd = Command::new("t").subcommands(client_commands());
        cmd.debug_assert();
    }

    #[test]
    fn table_for_a_list_response() {
        let v = serde_json::json!({"RequestId":"R","TotalCount":1,"VpnGateways":{"VpnGateway":[{"VpnGatewayId":"vpn-1","Name":"a","Status":"active"}]}});
        let t = render_table(&v, &["VpnGatewayId", "Status"]);
        assert!(
            t.starts_with("VpnGatewayId  Status\nvpn-1         active\n"),
            "{t}"
        );
    }
}
