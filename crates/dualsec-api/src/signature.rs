//! Request signatures: ACS3-HMAC-SHA256 (V3, the SDK default) and the legacy RPC HMAC-SHA1 (V2),
//! exactly as api-reference §2.3/§2.4 describe `alibabacloud_tea_openapi.utils`.
//!
//! The functions here are pure: they see method, path, decoded query pairs, headers and body, and
//! compute or check a signature. Looking up the secret, the clock skew window and the nonce cache
//! live in [`crate::server`]. Comparison is constant-time (`aws_lc_rs::hmac::verify`).
//!
//! A verifier must not trust the wire encoding of the query: the SDK signs `quote(v, safe='~')`
//! (RFC 3986, space = `%20`) but sends form encoding (space = `+`), so we decode and re-encode
//! (api-reference §2.3 "Server-side verification note").

use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::ApiError;

/// The V3 algorithm name, first word of `Authorization`.
pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Headers a V3 request must sign so that a captured request cannot be re-aimed at another action
/// or replayed outside its window.
pub const V3_REQUIRED_SIGNED_HEADERS: [&str; 3] =
    ["x-acs-action", "x-acs-date", "x-acs-signature-nonce"];

/// Python `urllib.parse.quote(s, safe='~')`: everything except `A-Za-z0-9_.-~` is `%XX` (upper hex).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes like `quote(s, safe='~')`.
pub fn rfc3986(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Lower-case hex SHA-256 (the `x-acs-content-sha256` value and `HashedRequestPayload`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// One request as the signature sees it. `headers` names may be any case; values as received.
#[derive(Debug, Clone, Copy)]
pub struct SigningInput<'a> {
    /// `GET` / `POST`.
    pub method: &'a str,
    /// Path without query (`/`).
    pub path: &'a str,
    /// Decoded query pairs (not the body).
    pub query: &'a [(String, String)],
    /// Request headers.
    pub headers: &'a [(String, String)],
    /// Raw body bytes.
    pub body: &'a [u8],
}

/// The parsed `Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Authorization {
    /// `Credential`: the AccessKey id.
    pub access_key_id: String,
    /// `SignedHeaders`, lower-case, in the order given.
    pub signed_headers: Vec<String>,
    /// `Signature`, decoded from hex.
    pub signature: Vec<u8>,
}

/// Parses an `Authorization` header value. `Ok(None)` when it is not a V3 header at all.
pub fn parse_v3_authorization(value: &str) -> Result<Option<V3Authorization>, ApiError> {
    let Some(rest) = value.strip_prefix(V3_ALGORITHM) else {
        return Ok(None);
    };
    let rest = rest.trim_start();
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for field in rest.split(',') {
        let (k, v) = field.trim().split_once('=').ok_or_else(|| {
            ApiError::incomplete_signature("Authorization fields must be Name=Value")
        })?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let access_key_id = credential
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::incomplete_signature("Authorization has no Credential"))?;
    let signed = signed
        .ok_or_else(|| ApiError::incomplete_signature("Authorization has no SignedHeaders"))?;
    let signature = signature
        .and_then(|s| hex::decode(s).ok())
        .filter(|s| s.len() == 32)
        .ok_or_else(|| ApiError::incomplete_signature("Signature must be 64 hex digits"))?;
    let signed_headers: Vec<String> = signed
        .split(';')
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    Ok(Some(V3Authorization {
        access_key_id: access_key_id.to_owned(),
        signed_headers,
        signature,
    }))
}

/// `CanonicalQueryString`: keys sorted, `k=quote(v)`, joined by `&`; keys as decoded (the SDK does
/// not re-encode keys).
fn v3_canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = query.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `CanonicalHeaders` for the named headers: `name:trimmed values (sorted, comma-joined)\n` each,
/// sorted by name. A named header that is absent makes the request unverifiable.
fn v3_canonical_headers(
    headers: &[(String, String)],
    names: &[String],
) -> Result<(String, String), ApiError> {
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    for name in &sorted {
        let mut values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            return Err(ApiError::incomplete_signature(format_args!(
                "signed header {name} is missing"
            )));
        }
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Ok((out, sorted.join(";")))
}

/// The V3 canonical request over `signed_headers` (§2.3). The payload hash is computed from the
/// body actually received, so the body is covered whatever `x-acs-content-sha256` claims.
pub fn v3_canonical_request(
    input: &SigningInput<'_>,
    signed_headers: &[String],
) -> Result<String, ApiError> {
    let (headers, names) = v3_canonical_headers(input.headers, signed_headers)?;
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        if input.path.is_empty() {
            "/"
        } else {
            input.path
        },
        v3_canonical_query(input.query),
        headers,
        names,
        sha256_hex(input.body)
    ))
}

/// `StringToSign = "ACS3-HMAC-SHA256\n" + hex(SHA256(CanonicalRequest))`.
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "{V3_ALGORITHM}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Computes the V3 signature (hex) over `signed_headers`.
pub fn v3_signature(
    input: &SigningInput<'_>,
    signed_headers: &[String],
    secret: &str,
) -> Result<String, ApiError> {
    let sts = v3_string_to_sign(&v3_canonical_request(input, signed_headers)?);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    Ok(hex::encode(hmac::sign(&key, sts.as_bytes())))
}

/// Checks a parsed V3 `Authorization` against the request and the key's secret.
///
/// Also requires [`V3_REQUIRED_SIGNED_HEADERS`] to be signed and, when the client sent
/// `x-acs-content-sha256`, that it matches the body.
pub fn verify_v3(
    input: &SigningInput<'_>,
    auth: &V3Authorization,
    secret: &str,
) -> Result<(), ApiError> {
    for required in V3_REQUIRED_SIGNED_HEADERS {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(ApiError::incomplete_signature(format_args!(
                "header {required} must be signed"
            )));
        }
    }
    if let Some((_, claimed)) = input
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-acs-content-sha256"))
    {
        if !claimed.trim().eq_ignore_ascii_case(&sha256_hex(input.body)) {
            return Err(ApiError::signature_mismatch());
        }
    }
    let sts = v3_string_to_sign(&v3_canonical_request(input, &auth.signed_headers)?);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, sts.as_bytes(), &auth.signature).map_err(|_| ApiError::signature_mismatch())
}

/// Builds the headers and `Authorization` a client sends for a V3 request: signs every header in
/// `headers` (as the SDK does) plus the content hash. Returns the full header list to send.
pub fn sign_v3_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    mut headers: Vec<(String, String)>,
    body: &[u8],
    access_key_id: &str,
    secret: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    headers.push(("x-acs-content-sha256".to_owned(), sha256_hex(body)));
    let names: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    let input = SigningInput {
        method,
        path,
        query,
        headers: &headers,
        body,
    };
    let (_, signed) = v3_canonical_headers(&headers, &names)?;
    let sig = v3_signature(&input, &names, secret)?;
    headers.push((
        "Authorization".to_owned(),
        format!("{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed},Signature={sig}"),
    ));
    Ok(headers)
}

/// The V2 `StringToSign` over every parameter (query and body) except `Signature` (§2.4).
pub fn v2_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    pairs.sort();
    let canonical = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&%2F&{}", rfc3986(&canonical))
}

/// `base64(HMAC-SHA1(secret + "&", StringToSign))`.
pub fn v2_signature(method: &str, params: &[(String, String)], secret: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    let tag = hmac::sign(&key, v2_string_to_sign(method, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Checks a V2 `Signature` (base64) in constant time.
pub fn verify_v2(
    method: &str,
    params: &[(String, String)],
    signature_b64: &str,
    secret: &str,
) -> Result<(), ApiError> {
    let claimed = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| ApiError::incomplete_signature("Signature is not base64"))?;
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    hmac::verify(&key, v2_string_to_sign(method, params).as_bytes(), &claimed)
        .map_err(|_| ApiError::signature_mismatch())
}

/// Parses `x-acs-date` / V2 `Timestamp` (`YYYY-MM-DDTHH:MM:SSZ`, UTC).
pub fn parse_acs_date(s: &str) -> Option<time::OffsetDateTime> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(s.trim(), &fmt)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// Formats a UTC time as `x-acs-date` wants it.
pub fn format_acs_date(t: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    //! Byte-exact vectors: the captured raw requests of api-reference §2.6 (AK `testAK`, secret
    //! `testSecret`), produced by the provider's Python SDK 7.2.2 / tea-openapi 0.4.6.
    use super::*;
    use crate::params::decode_pairs;

    const SDK_UA: &str = "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2";
    const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn check(method: &str, raw_query: &str, headers: &[(&str, &str)], body: &str, expect_ok: bool) {
        let query = decode_pairs(raw_query).unwrap();
        let headers = h(headers);
        let auth_value = &headers
            .iter()
            .find(|(k, _)| k == "Authorization")
            .unwrap()
            .1;
        let auth = parse_v3_authorization(auth_value).unwrap().unwrap();
        assert_eq!(auth.access_key_id, "testAK");
        let input = SigningInput {
            method,
            path: "/",
            query: &query,
            headers: &headers,
            body: body.as_bytes(),
        };
        let r = verify_v3(&input, &auth, "testSecret");
        assert_eq!(r.is_ok(), expect_ok, "{r:?}");
        // A wrong secret never verifies.
        let e = verify_v3(&input, &auth, "testSecreT").unwrap_err();
        assert_eq!(e.code(), "SignatureDoesNotMatch");
    }

    const CREATE_QUERY: &str = "AutoConfigRoute=True&EffectImmediately=False&EnableTunnelsBgp=True&IkeConfig=%7B%22IkeVersion%22%3A+%22ikev2%22%2C+%22Psk%22%3A+%22abc123%22%7D&LocalSubnet=192.168.0.0%2F24%2C172.17.0.0%2F16&Name=conn-1&RegionId=cn-hangzhou&RemoteSubnet=10.0.0.0%2F24&Tags.1.Key=k1&Tags.1.Value=v1&VpnGatewayId=vpn-bp1q8bgx4xnkm2ogj%2A%2A%2A%2A";
    const CREATE_BODY: &str = "TunnelOptionsSpecification.1.CustomerGatewayId=cgw-1&TunnelOptionsSpecification.1.EnableDpd=True&TunnelOptionsSpecification.1.EnableNatTraversal=True&TunnelOptionsSpecification.1.Role=master&TunnelOptionsSpecification.1.TunnelBgpConfig.LocalAsn=65530&TunnelOptionsSpecification.1.TunnelBgpConfig.LocalBgpIp=169.254.10.1&TunnelOptionsSpecification.1.TunnelBgpConfig.TunnelCidr=169.254.10.0%2F30&TunnelOptionsSpecification.1.TunnelIkeConfig.IkeAuthAlg=sha256&TunnelOptionsSpecification.1.TunnelIkeConfig.IkeEncAlg=aes256&TunnelOptionsSpecification.1.TunnelIkeConfig.IkeLifetime=86400&TunnelOptionsSpecification.1.TunnelIkeConfig.IkeMode=main&TunnelOptionsSpecification.1.TunnelIkeConfig.IkePfs=group14&TunnelOptionsSpecification.1.TunnelIkeConfig.IkeVersion=ikev2&TunnelOptionsSpecification.1.TunnelIkeConfig.LocalId=1.1.1.1&TunnelOptionsSpecification.1.TunnelIkeConfig.Psk=psk-master&TunnelOptionsSpecification.1.TunnelIkeConfig.RemoteId=2.2.2.2&TunnelOptionsSpecification.1.TunnelIpsecConfig.IpsecAuthAlg=sha256&TunnelOptionsSpecification.1.TunnelIpsecConfig.IpsecEncAlg=aes256&TunnelOptionsSpecification.1.TunnelIpsecConfig.IpsecLifetime=3600&TunnelOptionsSpecification.1.TunnelIpsecConfig.IpsecPfs=group14&TunnelOptionsSpecification.2.CustomerGatewayId=cgw-2&TunnelOptionsSpecification.2.Role=slave&TunnelOptionsSpecification.2.TunnelIkeConfig.Psk=psk-slave";

    fn create_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Accept-Encoding", "identity"),
            ("host", "127.0.0.1:8080"),
            ("x-acs-version", "2016-04-28"),
            ("x-acs-action", "CreateVpnConnection"),
            ("user-agent", SDK_UA),
            ("x-acs-date", "2026-11-25T06:07:50Z"),
            ("x-acs-signature-nonce", "9734ae3b80a515b75e7e20feaf855cb4"),
            ("accept", "application/json"),
            ("content-type", "application/x-www-form-urlencoded"),
            (
                "x-acs-content-sha256",
                "c6d51bdbcefd6c93a744f586f558a6b34c75f1752e1aecad2eb1e0c177b0b3bc",
            ),
            ("x-acs-credentials-provider", "static_ak"),
            (
                "Authorization",
                "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=4d72f66cbec22f2520cccb18ad5412270883017148a86936385fc49fb2f67242",
            ),
            ("Content-Length", "1359"),
        ]
    }

    #[test]
    fn v3_captured_create_vpn_connection_with_body_verifies() {
        assert_eq!(CREATE_BODY.len(), 1359);
        assert_eq!(
            sha256_hex(CREATE_BODY.as_bytes()),
            "c6d51bdbcefd6c93a744f586f558a6b34c75f1752e1aecad2eb1e0c177b0b3bc"
        );
        check("POST", CREATE_QUERY, &create_headers(), CREATE_BODY, true);
    }

    #[test]
    fn v3_tampered_body_query_header_or_method_fail() {
        // Body changed (hash header no longer matches).
        check(
            "POST",
            CREATE_QUERY,
            &create_headers(),
            &CREATE_BODY.replace("psk-slave", "psk-slavf"),
            false,
        );
        // Query value changed.
        check(
            "POST",
            &CREATE_QUERY.replace("conn-1", "conn-2"),
            &create_headers(),
            CREATE_BODY,
            false,
        );
        // Signed header changed: action re-aimed.
        let mut hs = create_headers();
        hs[3].1 = "DeleteVpnConnection";
        check("POST", CREATE_QUERY, &hs, CREATE_BODY, false);
        // Method changed.
        check("GET", CREATE_QUERY, &create_headers(), CREATE_BODY, false);
    }

    #[test]
    fn v3_captured_modify_tunnel_attribute_plus_is_space() {
        let q = "RegionId=cn-hangzhou&TunnelId=tun-1&TunnelOptionsSpecification.EnableDpd=False&TunnelOptionsSpecification.TunnelBgpConfig.LocalAsn=65000&TunnelOptionsSpecification.TunnelIkeConfig.IkeVersion=ikev1&TunnelOptionsSpecification.TunnelIkeConfig.Psk=p+w&VpnConnectionId=vco-1";
        let hs = [
            ("host", "127.0.0.1:8080"),
            ("x-acs-version", "2016-04-28"),
            ("x-acs-action", "ModifyTunnelAttribute"),
            ("user-agent", SDK_UA),
            ("x-acs-date", "2026-11-25T06:08:15Z"),
            ("x-acs-signature-nonce", "35ae2e1f10a8c03fc76ec747a67fb61e"),
            ("accept", "application/json"),
            ("x-acs-content-sha256", EMPTY_SHA),
            ("x-acs-credentials-provider", "static_ak"),
            (
                "Authorization",
                "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=02e574e97346745b2d83743bdf0b94670096c70006e5ae1f1e1cc145eac1d153",
            ),
        ];
        check("POST", q, &hs, "", true);
        // `%20` on the wire must verify the same (decoding is what matters).
        check("POST", &q.replace("p+w", "p%20w"), &hs, "", true);
    }

    #[test]
    fn v3_captured_modify_vpn_connection_attribute_verifies() {
        let q = "EnableTunnelsBgp=True&RegionId=cn-hangzhou&VpnConnectionId=vco-1";
        let body = "TunnelOptionsSpecification.1.Role=master&TunnelOptionsSpecification.1.TunnelId=tun-1&TunnelOptionsSpecification.1.TunnelIpsecConfig.IpsecPfs=disabled";
        let hs = [
            ("host", "127.0.0.1:8080"),
            ("x-acs-version", "2016-04-28"),
            ("x-acs-action", "ModifyVpnConnectionAttribute"),
            ("user-agent", SDK_UA),
            ("x-acs-date", "2026-11-25T06:08:15Z"),
            ("x-acs-signature-nonce", "211e0c48928579e2efa1191f9d739545"),
            ("accept", "application/json"),
            ("content-type", "application/x-www-form-urlencoded"),
            (
                "x-acs-content-sha256",
                "73c968c1f478dc7581992de26abe56f3eee6d0a0b08c632485e3b0b256428b0a",
            ),
            ("x-acs-credentials-provider", "static_ak"),
            (
                "Authorization",
                "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=b063c720a419aa9e033b387c5ec097f28bec80505deee91d3a533e8c03fe3bbf",
            ),
        ];
        check("POST", q, &hs, body, true);
    }

    #[test]
    fn v3_captured_sts_request_verifies() {
        let q = "RegionId=cn-hangzhou&VpnConnectionId=vco-2";
        let hs = [
            ("host", "127.0.0.1:8080"),
            ("x-acs-version", "2016-04-28"),
            ("x-acs-action", "DescribeVpnConnection"),
            ("user-agent", SDK_UA),
            ("x-acs-date", "2026-11-25T06:08:15Z"),
            ("x-acs-signature-nonce", "b068247e4461fcbe943482407559f643"),
            ("accept", "application/json"),
            ("x-acs-content-sha256", EMPTY_SHA),
            ("x-acs-credentials-provider", "static_sts"),
            ("x-acs-accesskey-id", "testAK"),
            ("x-acs-security-token", "STS.tok"),
            (
                "Authorization",
                "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,Signature=2ef5b690d9b018e67cc66d84b536fffc6d139f7d565f4eafc55d61843e81369e",
            ),
        ];
        check("POST", q, &hs, "", true);
    }

    #[test]
    fn v3_captured_get_available_zones_verifies() {
        let q = "AcceptLanguage=en-US&RegionId=cn-hangzhou&Spec=5M";
        let hs = [
            ("host", "127.0.0.1:8080"),
            ("x-acs-version", "2016-04-28"),
            ("x-acs-action", "DescribeVpnGatewayAvailableZones"),
            ("user-agent", SDK_UA),
            ("x-acs-date", "2026-11-25T06:08:15Z"),
            ("x-acs-signature-nonce", "52a176112204c3e61108b24bcba5e94e"),
            ("accept", "application/json"),
            ("x-acs-content-sha256", EMPTY_SHA),
            ("x-acs-credentials-provider", "static_ak"),
            (
                "Authorization",
                "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=6ae719b2185b67c4fc28ffb29cd4738c97093fbc7d13313e478b32462c9c9dcc",
            ),
        ];
        check("GET", q, &hs, "", true);
    }

    #[test]
    fn v2_captured_describe_vpn_connection_verifies() {
        let q = "Action=DescribeVpnConnection&Format=json&Version=2016-04-28&Timestamp=2026-11-25T06%3A08%3A15Z&SignatureNonce=2a24e4a07f85a184d4c66eb56aca922f&RegionId=cn-hangzhou&VpnConnectionId=vco-1&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAK&Signature=NaBaRBk1MxNK7600g9lMWd7hTAU%3D";
        let params = decode_pairs(q).unwrap();
        let sig = &params.iter().find(|(k, _)| k == "Signature").unwrap().1;
        assert_eq!(v2_signature("POST", &params, "testSecret"), *sig);
        verify_v2("POST", &params, sig, "testSecret").unwrap();
        assert_eq!(
            verify_v2("POST", &params, sig, "other").unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            verify_v2("GET", &params, sig, "testSecret")
                .unwrap_err()
                .code(),
            "SignatureDoesNotMatch"
        );
    }

    #[test]
    fn v3_sign_then_verify_round_trips() {
        let query = vec![("RegionId".to_owned(), "r 1/*~".to_owned())];
        let headers = vec![
            ("host".to_owned(), "h".to_owned()),
            ("x-acs-action".to_owned(), "DescribeVpnGateways".to_owned()),
            ("x-acs-date".to_owned(), "2026-11-25T06:08:15Z".to_owned()),
            ("x-acs-signature-nonce".to_owned(), "n".to_owned()),
        ];
        let signed = sign_v3_request("POST", "/", &query, headers, b"a=b", "AK", "S").unwrap();
        let auth =
            parse_v3_authorization(&signed.iter().find(|(k, _)| k == "Authorization").unwrap().1)
                .unwrap()
                .unwrap();
        let input = SigningInput {
            method: "POST",
            path: "/",
            query: &query,
            headers: &signed,
            body: b"a=b",
        };
        verify_v3(&input, &auth, "S").unwrap();
    }

    #[test]
    fn v3_missing_required_signed_header_is_incomplete() {
        let auth = parse_v3_authorization(&format!(
            "{V3_ALGORITHM} Credential=AK,SignedHeaders=host,Signature={}",
            "00".repeat(32)
        ))
        .unwrap()
        .unwrap();
        let headers = h(&[("host", "x")]);
        let input = SigningInput {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            verify_v3(&input, &auth, "S").unwrap_err().code(),
            "IncompleteSignature"
        );
    }

    #[test]
    fn malformed_authorization_headers_are_typed_errors() {
        assert_eq!(parse_v3_authorization("Bearer x").unwrap(), None);
        for bad in [
            "ACS3-HMAC-SHA256 ",
            "ACS3-HMAC-SHA256 Credential=",
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=x,Signature=zz",
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=x,Signature=00",
            "ACS3-HMAC-SHA256 garbage",
        ] {
            assert_eq!(
                parse_v3_authorization(bad).unwrap_err().code(),
                "IncompleteSignature",
                "{bad}"
            );
        }
    }

    #[test]
    fn rfc3986_matches_python_quote_safe_tilde() {
        assert_eq!(rfc3986("a b/c*~_.-%+é"), "a%20b%2Fc%2A~_.-%25%2B%C3%A9");
    }

    #[test]
    fn acs_date_round_trips() {
        let t = parse_acs_date("2026-11-25T06:08:15Z").unwrap();
        assert_eq!(format_acs_date(t), "2026-11-25T06:08:15Z");
        assert!(parse_acs_date("2026-11-25 06:08:15").is_none());
    }
}
