//! The CLI's HTTP client: every CLI command is one signed API call (ACS3-HMAC-SHA256), exactly what
//! the provider's SDKs send, so the CLI exercises the same path as any SDK.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use dualsec_api::signature::{format_acs_date, sign_v3_request};

/// Where and as whom the CLI talks to the API.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `http://host:port` (a bare `host:port` gets `http://`).
    pub endpoint: String,
    /// AccessKey id.
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: String,
}

/// Reads `access_key_id` / `access_key_secret` (and optional `endpoint`) from a credentials file
/// written by `dualsec serve` (`key = value` lines; `#` comments).
pub fn read_credentials_file(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    Ok(out)
}

/// An API failure as the CLI shows it.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with the provider's error body.
    Api {
        /// HTTP status.
        status: u16,
        /// Provider error code.
        code: String,
        /// Message.
        message: String,
        /// RequestId for the server log.
        request_id: String,
    },
    /// The server could not be reached or answered something unreadable.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Api {
                status,
                code,
                message,
                request_id,
            } => {
                write!(
                    f,
                    "{code} (HTTP {status}): {message} [RequestId {request_id}]"
                )
            }
            CallError::Transport(e) => write!(f, "cannot reach the API: {e}"),
        }
    }
}

fn form_encode(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                dualsec_api::signature::rfc3986(k),
                dualsec_api::signature::rfc3986(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Calls one action with the given flat parameters (all sent in the form body, signed with V3).
pub fn call(
    creds: &Credentials,
    action: &str,
    params: &BTreeMap<String, String>,
) -> Result<serde_json::Value, CallError> {
    let endpoint = if creds.endpoint.contains("://") {
        creds.endpoint.clone()
    } else {
        format!("http://{}", creds.endpoint)
    };
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let host = endpoint
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or(&endpoint)
        .to_owned();
    let body = form_encode(params);
    let headers = vec![
        ("host".to_owned(), host),
        (
            "x-acs-version".to_owned(),
            dualsec_api::API_VERSION.to_owned(),
        ),
        ("x-acs-action".to_owned(), action.to_owned()),
        (
            "x-acs-date".to_owned(),
            format_acs_date(time::OffsetDateTime::now_utc()),
        ),
        (
            "x-acs-signature-nonce".to_owned(),
            uuid::Uuid::new_v4().simple().to_string(),
        ),
        ("accept".to_owned(), "application/json".to_owned()),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        (
            "user-agent".to_owned(),
            format!("dualsec-cli/{}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    let signed = sign_v3_request(
        "POST",
        "/",
        &[],
        headers,
        body.as_bytes(),
        &creds.access_key_id,
        &creds.access_key_secret,
    )
    .map_err(|e| CallError::Transport(e.to_string()))?;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut req = agent.post(&format!("{endpoint}/"));
    for (k, v) in &signed {
        // Host too: the value we signed must be the one sent, whatever ureq would derive.
        req = req.set(k, v);
    }
    let resp = match req.send_string(&body) {
        Ok(r) => r,
        Err(ureq::Error::Status(status, r)) => {
            let text = r.into_string().unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
            return Err(CallError::Api {
                status,
                code: s("Code"),
                message: if s("Message").is_empty() {
                    text
                } else {
                    s("Message")
                },
                request_id: s("RequestId"),
            });
        }
        Err(e) => return Err(CallError::Transport(e.to_string())),
    };
    let text = resp
        .into_string()
        .map_err(|e| CallError::Transport(e.to_string()))?;
    serde_json::from_str(&text)
        .map_err(|e| CallError::Transport(format!("response is not JSON: {e}")))
}
