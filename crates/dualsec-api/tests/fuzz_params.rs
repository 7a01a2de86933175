//! Property: whatever parameters arrive — random actions, random keys (including flattened
//! `A.N.B.C` ones with odd indexes), random values, split between query and form body — the API
//! answers with a provider-shaped response and never a 5xx or a panic.
//!
//! Every request is signed properly (V3, as the SDK does), so the random input goes through the
//! whole path — decoding, authentication, dispatch, the action — exactly as a client's would.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failure is a test failure

mod common;

use axum::body::Body;
use axum::http::Request;
use dualsec_api::actions::ACTIONS;
use dualsec_api::signature::rfc3986;
use proptest::prelude::*;

/// Names an action may see: its own parameter names with `N` replaced by an index, some names of
/// other actions, and odd ones.
fn key_strategy() -> impl Strategy<Value = String> {
    let known: Vec<&'static str> = ACTIONS
        .iter()
        .flat_map(|a| a.params.iter().map(|p| p.name))
        .collect();
    prop_oneof![
        4 => (proptest::sample::select(known), prop_oneof![Just("1".to_owned()), Just("2".to_owned()), Just("3".to_owned()), Just("0".to_owned()), Just("101".to_owned()), Just("x".to_owned()), Just(String::new()), "[0-9]{1,12}"])
            .prop_map(|(k, n)| k.replace(".N.", &format!(".{n}.")).replace(".N", &format!(".{n}"))),
        1 => "[A-Za-z.0-9]{0,40}",
        1 => any::<String>(),
        1 => prop_oneof![
            Just("TunnelOptionsSpecification.1".to_owned()),
            Just("TunnelOptionsSpecification..Role".to_owned()),
            Just("TunnelOptionsSpecification.1.TunnelIkeConfig".to_owned()),
            Just("Tags.1".to_owned()),
            Just("Tag.1.Key".to_owned()),
            Just("RegionId".to_owned()),
            Just("DryRun".to_owned()),
            Just("ClientToken".to_owned()),
        ],
    ]
}

fn value_strategy(ids: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        2 => proptest::sample::select(vec![
            "", "true", "True", "FALSE", "yes", "0", "1", "-1", "10", "86400", "86401", "4294967295", "4294967296",
            "99999999999999999999999", "45104", "65010", "1.5", "local", "cn-hangzhou", "ikev1", "ikev2", "main",
            "aggressive", "aes", "sha1", "md5", "group2", "group14", "disabled", "master", "slave", "pbr", "dbr",
            "custom", "bgp", "Ipsec", "0.0.0.0/0", "198.18.0.0/24", "198.18.0.0/24,198.18.1.0/24", "10.0.0.0/33",
            "169.254.10.0/30", "169.254.10.1", "169.254.169.252/30", "203.0.113.10", "127.0.0.1", "256.1.1.1",
            "{\"Psk\":\"x\"}", "{", "vpn-", "vco-", "cgw-", "tun-", "a b", "http://x", "%", "\u{0}", "é漢字",
        ]).prop_map(str::to_owned),
        2 => proptest::sample::select(ids),
        1 => any::<String>(),
        1 => "[ -~]{0,300}",
    ]
}

/// A value that passes the first checks of parameter `name` (ids of the real resources, CIDRs …).
fn plausible<'a>(name: &str, ids: &'a [String], seed: u8) -> &'a str {
    let pick = |a: &'a str, b: &'a str| if seed % 3 == 0 { b } else { a };
    match name {
        "VpnGatewayId" => &ids[0],
        "CustomerGatewayId" => &ids[1],
        "VpnConnectionId" | "NextHop" => &ids[2],
        "TunnelId" => &ids[3],
        "RouteDest" => pick("198.19.7.0/24", "10.0.0.0/8"),
        "RouteSource" | "LocalSubnet" => pick("198.18.0.0/24", "0.0.0.0/0"),
        "RemoteSubnet" => pick("198.19.0.0/24", "0.0.0.0/0"),
        "IpAddress" => pick("203.0.113.77", "198.51.100.77"),
        "Bandwidth" => pick("10", "5"),
        "Weight" | "NewWeight" => pick("100", "0"),
        "PublishVpc" => pick("false", "true"),
        "Spec" => "5M",
        "VpcId" => "vpc-1",
        "RouteType" => pick("dbr", "pbr"),
        _ => "x",
    }
}

fn encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn random_parameter_maps_never_produce_a_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let h = common::harness();
    // Some real resources, so random ids sometimes hit existing ones.
    let ids = rt.block_on(async {
        let gw = h
            .call(
                "CreateVpnGateway",
                &[("VpcId", "vpc-1"), ("Bandwidth", "10")],
            )
            .await
            .body["VpnGatewayId"]
            .as_str()
            .unwrap()
            .to_owned();
        h.settle();
        let cgw = h
            .call(
                "CreateCustomerGateway",
                &[("IpAddress", "203.0.113.10"), ("Asn", "65010")],
            )
            .await
            .body["CustomerGatewayId"]
            .as_str()
            .unwrap()
            .to_owned();
        let vco = h
            .call(
                "CreateVpnConnection",
                &[
                    ("VpnGatewayId", gw.as_str()),
                    ("LocalSubnet", "198.18.0.0/24"),
                    ("RemoteSubnet", "198.19.0.0/24"),
                    (
                        "TunnelOptionsSpecification.1.CustomerGatewayId",
                        cgw.as_str(),
                    ),
                    (
                        "TunnelOptionsSpecification.2.CustomerGatewayId",
                        cgw.as_str(),
                    ),
                ],
            )
            .await;
        let vco_id = vco.body["VpnConnectionId"]
            .as_str()
            .unwrap_or("vco-x")
            .to_owned();
        h.settle();
        let d = h
            .call(
                "DescribeVpnConnection",
                &[("VpnConnectionId", vco_id.as_str())],
            )
            .await;
        let tun = d.body["TunnelOptionsSpecification"]["TunnelOptions"][0]["TunnelId"]
            .as_str()
            .unwrap_or("tun-x")
            .to_owned();
        vec![gw, cgw, vco_id, tun]
    });
    let nonce = std::sync::atomic::AtomicU64::new(0);
    let mut names: Vec<String> = ACTIONS.iter().map(|a| a.name.to_owned()).collect();
    names.extend(["", "Describe", "createvpngateway", "CreateVpnGateway "].map(str::to_owned));

    // What the random requests got, to show they reach the actions and are not all refused early.
    let tally: std::sync::Mutex<std::collections::BTreeMap<String, u32>> = Default::default();
    let config = ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        action in proptest::sample::select(names),
        pairs in proptest::collection::vec((key_strategy(), value_strategy(ids.clone())), 0..24),
        split in any::<u64>(),
        get in any::<bool>(),
        region in any::<bool>(),
        fill in any::<bool>(),
        seed in any::<u8>(),
    )| {
        // Often send the right region and plausible values for the action's required parameters,
        // so that random values reach deep into the actions; random pairs come first and win.
        // Duplicate keys are removed (they are a separate, simpler error path).
        let mut pairs: Vec<(String, String)> = pairs;
        if region {
            pairs.retain(|(k, _)| k != "RegionId");
            pairs.insert(0, ("RegionId".into(), "local".into()));
        }
        if fill {
            if let Some(spec) = dualsec_api::actions::find(&action) {
                for p in spec.params.iter().filter(|p| p.required) {
                    pairs.push((p.name.to_owned(), plausible(p.name, &ids, seed).to_owned()));
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        pairs.retain(|(k, _)| seen.insert(k.clone()));
        let (q, b): (Vec<_>, Vec<_>) = pairs.iter().cloned().enumerate().partition(|(i, _)| split >> (i % 64) & 1 == 0);
        let q: Vec<(String, String)> = q.into_iter().map(|(_, p)| p).collect();
        let b: Vec<(String, String)> = b.into_iter().map(|(_, p)| p).collect();
        let method = if get { "GET" } else { "POST" };
        let body = encode(&b);
        let n = nonce.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let headers = vec![
            ("host".to_owned(), "localhost".to_owned()),
            ("x-acs-version".to_owned(), "2016-04-28".to_owned()),
            ("x-acs-action".to_owned(), action.clone()),
            ("x-acs-date".to_owned(), dualsec_api::signature::format_acs_date(time::OffsetDateTime::now_utc())),
            ("x-acs-signature-nonce".to_owned(), format!("fuzz-{n}")),
            ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
        ];
        let signed = dualsec_api::signature::sign_v3_request(method, "/", &q, headers, body.as_bytes(), &h.key.id, &h.key.secret).unwrap();
        let mut req = Request::builder().method(method).uri(format!("/?{}", encode(&q)));
        for (k, v) in &signed {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Body::from(body)).unwrap();
        let r = rt.block_on(h.send(req));
        h.settle();
        let code = if r.status.as_u16() == 200 { "OK".to_owned() } else { r.body["Code"].as_str().unwrap_or("?").to_owned() };
        *tally.lock().unwrap().entry(code).or_default() += 1;
        prop_assert!(r.status.as_u16() < 500, "{action} {pairs:?} -> {} {}", r.status, r.body);
        prop_assert!(r.body["RequestId"].as_str().is_some_and(|s| !s.is_empty()), "{}", r.body);
        if r.status.as_u16() >= 400 {
            prop_assert!(r.body["Code"].as_str().is_some_and(|s| !s.is_empty()), "{}", r.body);
            prop_assert!(r.body["Message"].as_str().is_some_and(|s| !s.is_empty()), "{}", r.body);
        }
    });
    let tally = tally.into_inner().unwrap();
    eprintln!("outcomes: {tally:?}");
    assert!(
        tally.get("OK").copied().unwrap_or(0) >= 10,
        "too few requests succeeded: {tally:?}"
    );
    assert!(tally.len() >= 8, "too few distinct outcomes: {tally:?}");
    // Signer and verifier agree on arbitrary keys and values (Unicode, `+`, `%`, `~`, spaces …).
    for refused in ["SignatureDoesNotMatch", "IncompleteSignature"] {
        assert!(
            !tally.contains_key(refused),
            "a properly signed request was refused: {tally:?}"
        );
    }
}
