//! The router without a socket: authentication, errors, the action flow, OpenAPI.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failure is a test failure

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::harness;
use serde_json::{Value, json};

async fn create_gateway(h: &common::Harness) -> String {
    let r = h
        .call(
            "CreateVpnGateway",
            &[("VpcId", "vpc-1"), ("Bandwidth", "10"), ("Name", "gw")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    h.settle();
    r.body["VpnGatewayId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn unsigned_request_is_refused_and_writes_nothing() {
    let h = harness();
    let req = Request::builder()
        .method("POST")
        .uri("/?RegionId=local&VpcId=vpc-1&Bandwidth=10")
        .header("x-acs-action", "CreateVpnGateway")
        .header("x-acs-version", "2016-04-28")
        .body(Body::empty())
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["Code"], "IncompleteSignature");
    let l = h.call("DescribeVpnGateways", &[]).await;
    assert_eq!(l.body["TotalCount"], 0);
}

#[tokio::test]
async fn wrong_secret_and_unknown_key_get_provider_codes_and_write_nothing() {
    let h = harness();
    let id = h.key.id.clone();
    let r = h
        .call_signed(
            "CreateVpnGateway",
            &[("VpcId", "vpc-1"), ("Bandwidth", "10")],
            &id,
            "not-the-secret",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["Code"], "SignatureDoesNotMatch");
    let r = h
        .call_signed(
            "CreateVpnGateway",
            &[("VpcId", "vpc-1"), ("Bandwidth", "10")],
            "LTAInobody",
            "x",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["Code"], "InvalidAccessKeyId.NotFound");
    // The error body has exactly the provider's fields.
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["Code", "HostId", "Message", "Recommend", "RequestId"]
    );
    assert_eq!(
        h.call("DescribeVpnGateways", &[]).await.body["TotalCount"],
        0
    );
}

#[tokio::test]
async fn replayed_nonce_is_refused() {
    let h = harness();
    // Build one signed request and send it twice.
    let body = "RegionId=local";
    let headers = vec![
        ("host".to_owned(), "localhost".to_owned()),
        ("x-acs-version".to_owned(), "2016-04-28".to_owned()),
        ("x-acs-action".to_owned(), "DescribeVpnGateways".to_owned()),
        (
            "x-acs-date".to_owned(),
            dualsec_api::signature::format_acs_date(time::OffsetDateTime::now_utc()),
        ),
        ("x-acs-signature-nonce".to_owned(), "fixed-nonce".to_owned()),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let signed = dualsec_api::signature::sign_v3_request(
        "POST",
        "/",
        &[],
        headers,
        body.as_bytes(),
        &h.key.id,
        &h.key.secret,
    )
    .unwrap();
    let build = || {
        let mut req = Request::builder().method("POST").uri("/");
        for (k, v) in &signed {
            req = req.header(k.as_str(), v.as_str());
        }
        req.body(Body::from(body)).unwrap()
    };
    assert_eq!(h.send(build()).await.status, StatusCode::OK);
    let r = h.send(build()).await;
    assert_eq!(r.body["Code"], "SignatureNonceUsed");
}

#[tokio::test]
async fn stale_date_is_refused() {
    let h = harness();
    let headers = vec![
        ("host".to_owned(), "localhost".to_owned()),
        ("x-acs-version".to_owned(), "2016-04-28".to_owned()),
        ("x-acs-action".to_owned(), "DescribeVpnGateways".to_owned()),
        ("x-acs-date".to_owned(), "2020-01-01T00:00:00Z".to_owned()),
        ("x-acs-signature-nonce".to_owned(), "n1".to_owned()),
    ];
    let signed = dualsec_api::signature::sign_v3_request(
        "POST",
        "/",
        &[("RegionId".into(), "local".into())],
        headers,
        b"",
        &h.key.id,
        &h.key.secret,
    )
    .unwrap();
    let mut req = Request::builder().method("POST").uri("/?RegionId=local");
    for (k, v) in &signed {
        req = req.header(k.as_str(), v.as_str());
    }
    let r = h.send(req.body(Body::empty()).unwrap()).await;
    assert_eq!(r.body["Code"], "InvalidTimeStamp.Expired");
}

#[tokio::test]
async fn unknown_action_and_wrong_version() {
    let h = harness();
    let r = h.call("CreateVpnGatewayX", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["Code"], "InvalidAction.NotFound");
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-acs-action", "DescribeVpnGateways")
        .header("x-acs-version", "2014-05-26")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(req).await.body["Code"], "InvalidVersion");
}

#[tokio::test]
async fn missing_and_invalid_parameters_name_the_parameter() {
    let h = harness();
    let r = h.call("CreateVpnGateway", &[("Bandwidth", "10")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["Code"], "MissingParameter");
    assert!(r.body["Message"].as_str().unwrap().contains("VpcId"));
    let r = h
        .call("CreateVpnGateway", &[("VpcId", "v"), ("Bandwidth", "ten")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["Message"].as_str().unwrap().contains("Bandwidth"),
        "{}",
        r.body
    );
    let r = h
        .call(
            "DescribeVpnConnection",
            &[("VpnConnectionId", "vco-nothere000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["Code"], "InvalidVpnConnectionInstanceId.NotFound");
    let r = h
        .call("DescribeVpnGateways", &[("RegionId", "cn-hangzhou")])
        .await;
    assert_eq!(r.body["Code"], "InvalidRegionId.NotFound");
}

fn tunnel_params(cgw: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for (n, role, cidr, ip) in [
        (1, "master", "169.254.10.0/30", "169.254.10.1"),
        (2, "slave", "169.254.20.0/30", "169.254.20.1"),
    ] {
        let p = format!("TunnelOptionsSpecification.{n}");
        v.push((format!("{p}.CustomerGatewayId"), cgw.to_owned()));
        v.push((format!("{p}.Role"), role.to_owned()));
        v.push((format!("{p}.EnableDpd"), "True".to_owned()));
        v.push((
            format!("{p}.TunnelIkeConfig.IkeVersion"),
            "ikev2".to_owned(),
        ));
        v.push((
            format!("{p}.TunnelIkeConfig.IkeAuthAlg"),
            "sha256".to_owned(),
        ));
        v.push((
            format!("{p}.TunnelIkeConfig.IkeLifetime"),
            "28800".to_owned(),
        ));
        v.push((format!("{p}.TunnelIkeConfig.Psk"), format!("psk-{n}")));
        v.push((
            format!("{p}.TunnelIpsecConfig.IpsecPfs"),
            "disabled".to_owned(),
        ));
        v.push((format!("{p}.TunnelBgpConfig.TunnelCidr"), cidr.to_owned()));
        v.push((format!("{p}.TunnelBgpConfig.LocalBgpIp"), ip.to_owned()));
        v.push((format!("{p}.TunnelBgpConfig.LocalAsn"), "65000".to_owned()));
    }
    v
}

#[tokio::test]
async fn connection_round_trip_with_provider_json_types() {
    let h = harness();
    let gw = create_gateway(&h).await;
    let cgw = h
        .call(
            "CreateCustomerGateway",
            &[("IpAddress", "203.0.113.10"), ("Asn", "65010")],
        )
        .await;
    assert_eq!(cgw.status, StatusCode::OK, "{}", cgw.body);
    let cgw = cgw.body["CustomerGatewayId"].as_str().unwrap().to_owned();
    let owned = tunnel_params(&cgw);
    let mut params: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    params.extend([
        ("VpnGatewayId", gw.as_str()),
        ("LocalSubnet", "198.18.0.0/24"),
        ("RemoteSubnet", "198.19.0.0/24"),
        ("EnableTunnelsBgp", "TRUE"),
        ("Tags.1.Key", "k"),
        ("Tags.1.Value", "v"),
    ]);
    let r = h.call("CreateVpnConnection", &params).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let vco = r.body["VpnConnectionId"].as_str().unwrap().to_owned();
    assert!(r.body["CreateTime"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(r.body["RequestId"].as_str().unwrap().len() == 36);
    // Async: the gateway is `updating` until the work completes (api-reference §5.2).
    let g = h
        .call("DescribeVpnGateway", &[("VpnGatewayId", gw.as_str())])
        .await;
    assert_eq!(g.body["Status"], "updating");
    h.settle();
    let g = h
        .call("DescribeVpnGateway", &[("VpnGatewayId", gw.as_str())])
        .await;
    assert_eq!(g.body["Status"], "active");

    let d = h
        .call(
            "DescribeVpnConnection",
            &[("VpnConnectionId", vco.as_str())],
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    let b = &d.body;
    assert_eq!(b["LocalSubnet"], "198.18.0.0/24");
    assert_eq!(b["EnableTunnelsBgp"], Value::Bool(true));
    assert_eq!(b["Tags"]["Tag"][0]["Key"], "k");
    let t = &b["TunnelOptionsSpecification"]["TunnelOptions"];
    assert_eq!(t[0]["Role"], "master");
    assert_eq!(t[1]["Role"], "slave");
    // Observed state as the engine writes it: carrier and explained last error (R-HA-3, R-DIAG-1).
    assert_eq!(t[0]["CarriesTraffic"], Value::Bool(false));
    assert_eq!(t[0]["LastNegotiationError"], "");
    let tid = dualsec_control::TunnelId::parse_as("TunnelId", t[1]["TunnelId"].as_str().unwrap())
        .unwrap();
    h.state
        .control()
        .update_tunnel_observed(&tid, |o| {
            o.last_error = Some(dualsec_control::model::NegotiationFailure::PskMismatch);
        })
        .unwrap();
    let d2 = h
        .call(
            "DescribeVpnConnection",
            &[("VpnConnectionId", vco.as_str())],
        )
        .await;
    let t2 = &d2.body["TunnelOptionsSpecification"]["TunnelOptions"];
    assert!(
        t2[1]["LastNegotiationError"]
            .as_str()
            .unwrap()
            .contains("pre-shared keys differ"),
        "{}",
        t2[1]
    );
    assert_eq!(t2[0]["LastNegotiationError"], "");
    // Switch events reach DescribeVpnConnectionLogs (issue 6: every switch with its reason).
    let cid = dualsec_control::VpnConnectionId::parse_as("VpnConnectionId", vco.as_str()).unwrap();
    h.state
        .control()
        .record_event(
            &cid,
            Some(&tid),
            "failover: outbound traffic moved to tunnel 2 (backup)",
        )
        .unwrap();
    let logs = h
        .call(
            "DescribeVpnConnectionLogs",
            &[("VpnConnectionId", vco.as_str()), ("MinutePeriod", "10")],
        )
        .await;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.body);
    let lines = logs.body["Data"]["Logs"].as_array().unwrap();
    assert!(
        lines.iter().any(|l| {
            let l = l.as_str().unwrap();
            l.contains("failover: outbound traffic moved to tunnel 2") && l.contains(tid.as_str())
        }),
        "{}",
        logs.body
    );
    let bad = h
        .call(
            "DescribeVpnConnectionLogs",
            &[("VpnConnectionId", vco.as_str()), ("MinutePeriod", "11")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    // Issue 6 visibility: the `Failover` block, before and after a recorded switch, in both
    // DescribeVpnConnection and DescribeVpnConnections.
    {
        use dualsec_control::model::{ConnectionRedundancy, SwitchKind, SwitchRecord, TunnelIndex};
        let f = &d2.body["Failover"];
        assert_eq!(f["Redundancy"], "none", "{f}");
        assert!(
            f["RedundancyReason"]
                .as_str()
                .unwrap()
                .contains("no tunnel is up"),
            "{f}"
        );
        assert_eq!(f["FailoverCount"], 0);
        assert_eq!(f["FailbackCount"], 0);
        assert_eq!(f["LastSwitchTime"], "");
        assert_eq!(f["CarryingTunnelId"], "");
        assert_eq!(f["CarryingTunnelIndex"], 0);
        let c = h.state.control();
        c.record_switch(
            &cid,
            SwitchRecord {
                time_ms: 1_764_176_792_123,
                kind: SwitchKind::Failover,
                from: TunnelIndex::One,
                to: TunnelIndex::Two,
                reason: "tunnel 1: 3 probes lost in 604 ms".into(),
                outage_ms: Some(604),
            },
        )
        .unwrap();
        c.set_carrying_tunnel(&cid, Some(TunnelIndex::Two)).unwrap();
        c.set_connection_redundancy(&cid, ConnectionRedundancy::OnlyOneTunnel(TunnelIndex::Two))
            .unwrap();
        let d3 = h
            .call(
                "DescribeVpnConnection",
                &[("VpnConnectionId", vco.as_str())],
            )
            .await;
        let f = &d3.body["Failover"];
        assert_eq!(f["FailoverCount"], 1, "{f}");
        assert_eq!(f["FailbackCount"], 0);
        assert_eq!(f["LastSwitchType"], "failover");
        assert_eq!(f["LastSwitchReason"], "tunnel 1: 3 probes lost in 604 ms");
        assert_eq!(f["LastSwitchTime"], "2025-11-26T17:06:32.123Z");
        assert_eq!(f["LastOutageMs"], 604);
        assert_eq!(f["TotalOutageMs"], 604);
        assert_eq!(f["CarryingTunnelId"], t[1]["TunnelId"]);
        assert_eq!(f["CarryingTunnelIndex"], 2);
        assert_eq!(f["Redundancy"], "none");
        assert!(
            f["RedundancyReason"]
                .as_str()
                .unwrap()
                .contains("only tunnel 2")
                && f["RedundancyReason"].as_str().unwrap().contains("R-HA-5"),
            "{f}"
        );
        let l = h.call("DescribeVpnConnections", &[]).await;
        assert_eq!(
            l.body["VpnConnections"]["VpnConnection"][0]["Failover"], *f,
            "{}",
            l.body
        );
    }
    assert_eq!(t[0]["InternetIp"], g.body["InternetIp"]);
    assert_eq!(t[1]["InternetIp"], g.body["DisasterRecoveryInternetIp"]);
    // Describe* tunnel fields are strings in the SDK models.
    assert_eq!(t[0]["EnableDpd"], "true");
    assert_eq!(t[0]["TunnelIkeConfig"]["IkeLifetime"], "28800");
    assert_eq!(t[0]["TunnelIkeConfig"]["IkeAuthAlg"], "sha256");
    assert_eq!(
        t[0]["TunnelIkeConfig"]["IkeEncAlg"], "aes",
        "provider default"
    );
    assert_eq!(
        t[0]["TunnelIpsecConfig"]["IpsecAuthAlg"], "md5",
        "provider API default (api-reference §8 item 10)"
    );
    assert_eq!(t[0]["TunnelBgpConfig"]["LocalAsn"], "65000");
    assert_eq!(t[0]["TunnelBgpConfig"]["PeerAsn"], "65010");
    assert_eq!(t[0]["TunnelBgpConfig"]["PeerBgpIp"], "169.254.10.2");
    assert_eq!(t[1]["TunnelIkeConfig"]["Psk"], "psk-2");

    // DescribeVpnConnections wraps tags as `Tag.Tag[]`.
    let l = h.call("DescribeVpnConnections", &[]).await;
    assert_eq!(l.body["TotalCount"], 1);
    assert_eq!(
        l.body["VpnConnections"]["VpnConnection"][0]["Tag"]["Tag"][0]["Value"],
        "v"
    );

    // ModifyTunnelAttribute answers numbers and booleans.
    let tun2 = t[1]["TunnelId"].as_str().unwrap().to_owned();
    let m = h
        .call(
            "ModifyTunnelAttribute",
            &[
                ("VpnConnectionId", vco.as_str()),
                ("TunnelId", tun2.as_str()),
                ("TunnelOptionsSpecification.EnableDpd", "False"),
                ("TunnelOptionsSpecification.TunnelIkeConfig.Psk", "p w"),
            ],
        )
        .await;
    assert_eq!(
        m.status,
        StatusCode::BAD_REQUEST,
        "a PSK with a space is refused: {}",
        m.body
    );
    let m = h
        .call(
            "ModifyTunnelAttribute",
            &[
                ("VpnConnectionId", vco.as_str()),
                ("TunnelId", tun2.as_str()),
                ("TunnelOptionsSpecification.EnableDpd", "False"),
                ("TunnelOptionsSpecification.TunnelIkeConfig.Psk", "pw2"),
            ],
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    assert_eq!(m.body["EnableDpd"], Value::Bool(false));
    assert_eq!(m.body["TunnelIkeConfig"]["IkeLifetime"], 28800);
    assert_eq!(m.body["TunnelBgpConfig"]["EnableBgp"], Value::Bool(true));
    // Concurrent change on the busy gateway: the provider's busy code.
    let busy = h
        .call(
            "ModifyVpnConnectionAttribute",
            &[("VpnConnectionId", vco.as_str()), ("Name", "x")],
        )
        .await;
    assert_eq!(busy.status, StatusCode::BAD_REQUEST);
    assert_eq!(busy.body["Code"], "VpnGateway.Configuring");
    h.settle();

    // Peer config is mirrored (api-reference §5.5).
    let pc = h
        .call(
            "DownloadVpnConnectionConfig",
            &[("VpnConnectionId", vco.as_str())],
        )
        .await;
    let c = &pc.body["VpnConnectionConfig"];
    assert_eq!(c["LocalSubnet"], "198.19.0.0/24");
    assert_eq!(c["RemoteSubnet"], "198.18.0.0/24");
    assert_eq!(c["Local"], "203.0.113.10");
    assert_eq!(c["Remote"], g.body["InternetIp"]);
    assert_eq!(
        c["TunnelsConfig"]["TunnelConfig"][1]["IkeConfig"]["Psk"],
        "pw2"
    );
    assert_eq!(
        c["TunnelsConfig"]["TunnelConfig"][0]["IkeConfig"]["LocalId"],
        "203.0.113.10"
    );
    assert_eq!(c["BgpConfigs"]["BgpConfig"][0]["LocalAsn"], "65010");
    assert_eq!(c["BgpConfigs"]["BgpConfig"][0]["PeerAsn"], "65000");
    assert_eq!(
        c["BgpConfigs"]["BgpConfig"][0]["LocalBgpIp"],
        "169.254.10.2"
    );
}

#[tokio::test]
async fn single_tunnel_json_parameters_are_refused_with_guidance() {
    let h = harness();
    let gw = create_gateway(&h).await;
    let r = h
        .call(
            "CreateVpnConnection",
            &[
                ("VpnGatewayId", gw.as_str()),
                ("LocalSubnet", "198.18.0.0/24"),
                ("RemoteSubnet", "198.19.0.0/24"),
                ("IkeConfig", "{\"Psk\":\"x\"}"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["Code"], "IllegalParam.IkeConfig");
    assert!(
        r.body["Message"]
            .as_str()
            .unwrap()
            .contains("TunnelOptionsSpecification")
    );
}

#[tokio::test]
async fn dry_run_answers_dry_run_operation_and_creates_nothing() {
    let h = harness();
    let gw = create_gateway(&h).await;
    let cgw = h
        .call("CreateCustomerGateway", &[("IpAddress", "203.0.113.10")])
        .await
        .body["CustomerGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .call(
            "CreateVpnConnection",
            &[
                ("VpnGatewayId", gw.as_str()),
                ("LocalSubnet", "198.18.0.0/24"),
                ("RemoteSubnet", "198.19.0.0/24"),
                ("DryRun", "true"),
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
    assert_eq!(r.body["Code"], "DryRunOperation", "{}", r.body);
    assert_eq!(
        h.call("DescribeVpnConnections", &[]).await.body["TotalCount"],
        0
    );
}

#[tokio::test]
async fn available_zones_come_from_the_pool() {
    let h = harness();
    let r = h
        .call("DescribeVpnGatewayAvailableZones", &[("Spec", "5M")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let zones: Vec<&str> = r.body["AvailableZoneIdList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["ZoneId"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["zone-a", "zone-b"]);
}

#[tokio::test]
async fn openapi_is_served_and_committed_copy_is_current() {
    let h = harness();
    let r = h
        .send(
            Request::builder()
                .uri("/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, dualsec_api::openapi::document());
    // Every routed action is documented, and nothing else.
    let paths = r.body["paths"].as_object().unwrap();
    assert_eq!(paths.len(), dualsec_api::actions::ACTIONS.len());
    for a in dualsec_api::actions::ACTIONS {
        assert!(
            paths.contains_key(&format!("/?Action={}", a.name)),
            "{}",
            a.name
        );
    }
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let text = dualsec_api::openapi::document_text();
    if std::env::var_os("DUALSEC_BLESS").is_some() {
        std::fs::write(committed_path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json is out of date; regenerate with DUALSEC_BLESS=1 cargo test -p dualsec-api --test app"
    );
}

#[tokio::test]
async fn oversized_body_gets_the_provider_error_body() {
    let h = harness();
    let big = "A=".to_owned() + &"x".repeat(dualsec_api::server::MAX_BODY_BYTES + 1);
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-acs-action", "DescribeVpnGateways")
        .header("x-acs-version", "2016-04-28")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(big))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["Code"], "RequestBodyTooLarge");
    assert!(r.body["RequestId"].is_string());
}

#[tokio::test]
async fn sts_token_requests_are_refused() {
    // api-reference §2.6 STS capture shape: a valid signature that also carries a token we never issued.
    let h = harness();
    let headers = vec![
        ("host".to_owned(), "localhost".to_owned()),
        ("x-acs-version".to_owned(), "2016-04-28".to_owned()),
        ("x-acs-action".to_owned(), "DescribeVpnGateways".to_owned()),
        (
            "x-acs-date".to_owned(),
            dualsec_api::signature::format_acs_date(time::OffsetDateTime::now_utc()),
        ),
        ("x-acs-signature-nonce".to_owned(), "sts-1".to_owned()),
        ("x-acs-security-token".to_owned(), "STS.tok".to_owned()),
    ];
    let q = vec![("RegionId".to_owned(), "local".to_owned())];
    let signed = dualsec_api::signature::sign_v3_request(
        "POST",
        "/",
        &q,
        headers,
        b"",
        &h.key.id,
        &h.key.secret,
    )
    .unwrap();
    let mut req = Request::builder().method("POST").uri("/?RegionId=local");
    for (k, v) in &signed {
        req = req.header(k.as_str(), v.as_str());
    }
    let r = h.send(req.body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["Code"], "InvalidSecurityToken.NotSupported");
}

#[tokio::test]
async fn v2_signature_with_parameters_in_the_form_body_like_terraform() {
    // api-reference §2.4: older SDKs and Terraform (`RpcPost`) put every parameter, the signature
    // ones included, in the POST form body.
    let h = harness();
    let mut params: Vec<(String, String)> = [
        ("Action", "DescribeVpnGateways"),
        ("Format", "JSON"),
        ("Version", "2016-04-28"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "tf-nonce-1"),
        ("RegionId", "local"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    params.push(("AccessKeyId".into(), h.key.id.clone()));
    params.push((
        "Timestamp".into(),
        dualsec_api::signature::format_acs_date(time::OffsetDateTime::now_utc()),
    ));
    let sig = dualsec_api::signature::v2_signature("POST", &params, &h.key.secret);
    let mut signed = params.clone();
    signed.push(("Signature".into(), sig));
    let body: String = signed
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                dualsec_api::signature::rfc3986(k),
                dualsec_api::signature::rfc3986(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(Body::from(body.clone()))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["TotalCount"], 0);
    // The same body with one parameter changed no longer verifies.
    let tampered = body.replace("RegionId=local", "RegionId=locaL");
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(tampered))
        .unwrap();
    assert_eq!(h.send(req).await.body["Code"], "SignatureDoesNotMatch");
}

#[tokio::test]
async fn route_entries_create_describe_publish_modify_delete() {
    let h = harness();
    let gw = create_gateway(&h).await;
    let cgw = h
        .call("CreateCustomerGateway", &[("IpAddress", "203.0.113.10")])
        .await
        .body["CustomerGatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .call(
            "CreateVpnConnection",
            &[
                ("VpnGatewayId", gw.as_str()),
                ("LocalSubnet", "0.0.0.0/0"),
                ("RemoteSubnet", "0.0.0.0/0"),
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
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let vco = r.body["VpnConnectionId"].as_str().unwrap().to_owned();
    h.settle();
    let base = [
        ("VpnGatewayId", gw.as_str()),
        ("NextHop", vco.as_str()),
        ("RouteDest", "198.19.8.0/24"),
    ];

    // Destination-based.
    let mut p = base.to_vec();
    p.extend([
        ("Weight", "100"),
        ("PublishVpc", "False"),
        ("Description", "to idc"),
    ]);
    let c = h.call("CreateVpnRouteEntry", &p).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["State"], "normal");
    assert_eq!(c.body["Weight"], 100);
    h.settle();
    let mut p = base.to_vec();
    p.extend([("RouteType", "dbr"), ("PublishVpc", "true")]);
    let pub_ = h.call("PublishVpnRouteEntry", &p).await;
    assert_eq!(pub_.status, StatusCode::OK, "{}", pub_.body);
    h.settle();
    let l = h
        .call("DescribeVpnRouteEntries", &[("VpnGatewayId", gw.as_str())])
        .await;
    let e = &l.body["VpnRouteEntries"]["VpnRouteEntry"];
    assert_eq!(l.body["TotalCount"], 1, "{}", l.body);
    assert_eq!(e[0]["RouteDest"], "198.19.8.0/24");
    assert_eq!(e[0]["State"], "published");
    assert_eq!(e[0]["RouteEntryType"], "custom");
    let mut p = base.to_vec();
    p.extend([("Weight", "100"), ("NewWeight", "0")]);
    let m = h.call("ModifyVpnRouteEntryWeight", &p).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    h.settle();
    let l = h
        .call("DescribeVpnRouteEntries", &[("VpnGatewayId", gw.as_str())])
        .await;
    assert_eq!(l.body["VpnRouteEntries"]["VpnRouteEntry"][0]["Weight"], 0);

    // Policy-based.
    let mut p = base.to_vec();
    p.extend([
        ("RouteSource", "198.18.8.0/24"),
        ("Weight", "0"),
        ("PublishVpc", "false"),
        ("Priority", "5"),
    ]);
    let c = h.call("CreateVpnPbrRouteEntry", &p).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.body["Priority"], 5);
    h.settle();
    let l = h
        .call(
            "DescribeVpnPbrRouteEntries",
            &[("VpnGatewayId", gw.as_str())],
        )
        .await;
    let entries = l.body["VpnPbrRouteEntries"]["VpnPbrRouteEntry"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        entries
            .iter()
            .any(|e| e["RouteSource"] == "198.18.8.0/24" && e["RouteDest"] == "198.19.8.0/24"),
        "{}",
        l.body
    );
    let mut p = base.to_vec();
    p.extend([("RouteSource", "198.18.8.0/24"), ("Weight", "0")]);
    let d = h.call("DeleteVpnPbrRouteEntry", &p).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    h.settle();
    let mut p = base.to_vec();
    p.push(("Weight", "0"));
    let d = h.call("DeleteVpnRouteEntry", &p).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    h.settle();
    let l = h
        .call("DescribeVpnRouteEntries", &[("VpnGatewayId", gw.as_str())])
        .await;
    assert_eq!(l.body["TotalCount"], 0, "{}", l.body);
}

/// Issue 7: DescribeVpnRouteEntries with `RouteEntryType=bgp` lists the routes each tunnel's
/// BGP session learned (engine-written observed state, seeded here) in the SDK model's fields;
/// the default (`custom`) does not list them; BGP off empties the list.
#[tokio::test]
async fn bgp_learned_routes_are_listed_with_route_entry_type_bgp() {
    use dualsec_control::model::BgpLearnedRoute;
    let h = harness();
    let gw = create_gateway(&h).await;
    let cgw = h
        .call(
            "CreateCustomerGateway",
            &[("IpAddress", "203.0.113.10"), ("Asn", "65010")],
        )
        .await;
    let cgw = cgw.body["CustomerGatewayId"].as_str().unwrap().to_owned();
    let owned = tunnel_params(&cgw);
    let mut params: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    params.extend([
        ("VpnGatewayId", gw.as_str()),
        ("LocalSubnet", "0.0.0.0/0"),
        ("RemoteSubnet", "0.0.0.0/0"),
        ("EnableTunnelsBgp", "true"),
    ]);
    let r = h.call("CreateVpnConnection", &params).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let vco = r.body["VpnConnectionId"].as_str().unwrap().to_owned();
    h.settle();
    let d = h
        .call(
            "DescribeVpnConnection",
            &[("VpnConnectionId", vco.as_str())],
        )
        .await;
    let t = &d.body["TunnelOptionsSpecification"]["TunnelOptions"];
    let ids: Vec<String> = (0..2)
        .map(|i| t[i]["TunnelId"].as_str().unwrap().to_owned())
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let tid = dualsec_control::TunnelId::parse_as("TunnelId", id).unwrap();
        h.state
            .control()
            .update_tunnel_observed(&tid, |o| {
                o.bgp_routes = vec![BgpLearnedRoute {
                    route_dest: "198.19.0.0/24".parse().unwrap(),
                    next_hop_ip: if i == 0 {
                        "169.254.10.2".parse().unwrap()
                    } else {
                        "169.254.20.2".parse().unwrap()
                    },
                    as_path: vec![65010],
                    communities: vec![(65010 << 16) | 42],
                    med: (i == 0).then_some(7),
                    learned_ms: 1_700_000_000_123,
                }];
            })
            .unwrap();
    }
    let l = h
        .call(
            "DescribeVpnRouteEntries",
            &[("VpnGatewayId", gw.as_str()), ("RouteEntryType", "bgp")],
        )
        .await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.body);
    assert_eq!(l.body["TotalCount"], 2, "{}", l.body);
    let e = &l.body["VpnRouteEntries"]["VpnRouteEntry"];
    for i in 0..2 {
        assert_eq!(e[i]["RouteEntryType"], "bgp");
        assert_eq!(e[i]["RouteDest"], "198.19.0.0/24");
        assert_eq!(e[i]["NextHop"], vco.as_str());
        assert_eq!(e[i]["NextHopTunnelId"], ids[i].as_str());
        assert_eq!(e[i]["VpnInstanceId"], gw.as_str());
        assert_eq!(e[i]["AsPath"], "[65010]");
        assert_eq!(e[i]["Community"], "65010:42");
        assert_eq!(e[i]["Source"], "VPN_BGP");
        assert_eq!(e[i]["Weight"], 0);
        assert_eq!(e[i]["CreateTime"], 1_700_000_000_123u64);
    }
    assert_eq!(e[0]["Med"], 7);
    assert!(e[1].get("Med").is_none(), "{}", e[1]);
    let c = &l.body["VpnRouteCounts"]["VpnRouteCount"][0];
    assert_eq!(
        (&c["RouteEntryType"], &c["Source"], &c["RouteCount"]),
        (&json!("bgp"), &json!("VPN_BGP"), &json!(2))
    );
    // Paging as for custom routes.
    let p = h
        .call(
            "DescribeVpnRouteEntries",
            &[
                ("VpnGatewayId", gw.as_str()),
                ("RouteEntryType", "bgp"),
                ("PageSize", "1"),
                ("PageNumber", "2"),
            ],
        )
        .await;
    assert_eq!(p.body["TotalCount"], 2, "{}", p.body);
    assert_eq!(
        p.body["VpnRouteEntries"]["VpnRouteEntry"][0]["NextHopTunnelId"],
        ids[1].as_str()
    );
    // The default kind is custom: the learned routes are not there.
    let c = h
        .call("DescribeVpnRouteEntries", &[("VpnGatewayId", gw.as_str())])
        .await;
    assert_eq!(
        c.body["VpnRouteCounts"]["VpnRouteCount"][0]["RouteEntryType"],
        "custom"
    );
    assert!(
        c.body["VpnRouteEntries"]["VpnRouteEntry"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["RouteEntryType"] == "custom"),
        "{}",
        c.body
    );
    // An unknown kind is refused.
    let bad = h
        .call(
            "DescribeVpnRouteEntries",
            &[("VpnGatewayId", gw.as_str()), ("RouteEntryType", "ospf")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    // BGP off: nothing listed.
    let off = h
        .call(
            "ModifyVpnConnectionAttribute",
            &[
                ("VpnConnectionId", vco.as_str()),
                ("EnableTunnelsBgp", "false"),
            ],
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    h.settle();
    let l = h
        .call(
            "DescribeVpnRouteEntries",
            &[("VpnGatewayId", gw.as_str()), ("RouteEntryType", "bgp")],
        )
        .await;
    assert_eq!(l.body["TotalCount"], 0, "{}", l.body);
}

#[tokio::test]
async fn v2_action_header_cannot_override_the_signed_action() {
    // V2 signs the parameters, not the x-acs-* headers: a header naming another action is refused.
    let h = harness();
    let mut params: Vec<(String, String)> = [
        ("Action", "DescribeVpnGateways"),
        ("Format", "JSON"),
        ("Version", "2016-04-28"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "hdr-nonce-1"),
        ("RegionId", "local"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    params.push(("AccessKeyId".into(), h.key.id.clone()));
    params.push((
        "Timestamp".into(),
        dualsec_api::signature::format_acs_date(time::OffsetDateTime::now_utc()),
    ));
    let sig = dualsec_api::signature::v2_signature("POST", &params, &h.key.secret);
    params.push(("Signature".into(), sig));
    let q: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                dualsec_api::signature::rfc3986(k),
                dualsec_api::signature::rfc3986(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let req = Request::builder()
        .method("POST")
        .uri(format!("/?{q}"))
        .header("x-acs-action", "DeleteVpnGateway")
        .body(Body::empty())
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["Code"], "InvalidParameter");
    assert!(r.body["Message"].as_str().unwrap().contains("x-acs-action"));
}
