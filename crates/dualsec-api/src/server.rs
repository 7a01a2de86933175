//! The HTTP surface: [`app`] builds the axum `Router` (STYLE.md §9: tests call it without a socket).
//!
//! Every request goes through the same steps, in this order, and nothing is written before the
//! signature is verified:
//!
//! 1. decode the query and an `application/x-www-form-urlencoded` body into one [`Params`];
//! 2. find the action (`x-acs-action` header for V3, `Action` parameter for V2) and check the
//!    version is `2016-04-28`;
//! 3. verify the signature (V3 `Authorization` or V2 `Signature`) against the access key's secret,
//!    the signed date (±15 min) and the nonce (no replay);
//! 4. run the action's handler on a blocking thread (the store is synchronous SQLite);
//! 5. answer the handler's JSON with `RequestId` added, or the provider's error body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::Value;

use crate::actions::{self, Ctx};
use crate::error::ApiError;
use crate::params::{Params, decode_pairs};
use crate::signature::{self, SigningInput};

/// The API version served (api-reference §1).
pub const API_VERSION: &str = "2016-04-28";
/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Allowed distance between a signed date and the server clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// Remembered nonces (per access key); beyond this, expired ones are pruned first.
const NONCE_CACHE_SOFT_CAP: usize = 100_000;

/// V2 signature and transport parameters: part of the signature, never of an action.
const V2_COMMON: [&str; 11] = [
    "Action",
    "Format",
    "Version",
    "Timestamp",
    "SignatureNonce",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureType",
    "AccessKeyId",
    "Signature",
    "SecurityToken",
];
/// Hidden common parameters the SDK may send; accepted and ignored (api-reference §3).
const HIDDEN_COMMON: [&str; 4] = [
    "OwnerAccount",
    "OwnerId",
    "ResourceOwnerAccount",
    "ResourceOwnerId",
];

/// Where the server reads time from (tests inject a fixed clock).
pub type Clock = Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>;

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    pub(crate) control: Arc<dualsec_control::Control>,
    clock: Clock,
    nonces: Arc<Mutex<HashMap<(String, String), time::OffsetDateTime>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Every request must carry a valid V3 or V2 signature (there is no unauthenticated mode);
    /// system clock.
    pub fn new(control: Arc<dualsec_control::Control>) -> Self {
        Self {
            control,
            clock: Arc::new(time::OffsetDateTime::now_utc),
            nonces: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Replaces the clock (tests).
    #[doc(hidden)]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The control service.
    pub fn control(&self) -> &Arc<dualsec_control::Control> {
        &self.control
    }
}

/// The API router: `POST|GET /` for actions, `GET /openapi.json` for the OpenAPI document.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/", any(rpc))
        .fallback(not_found)
        .with_state(state)
}

async fn openapi_json() -> Response {
    let mut r = axum::Json(crate::openapi::document()).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn not_found(uri: Uri) -> Response {
    let rid = new_request_id();
    error_response(&rid, &ApiError::unknown_action(uri.path()))
}

/// A RequestId like the provider's: an upper-case UUID.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

fn error_response(request_id: &str, e: &ApiError) -> Response {
    let mut r = (e.status(), axum::Json(e.body(request_id))).into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("x-acs-request-id", v);
    }
    r
}

async fn rpc(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = new_request_id();
    // Read the body ourselves so that an oversized one gets the provider's error body too.
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let e = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestBodyTooLarge",
                format!(
                    "The request body is larger than {MAX_BODY_BYTES} bytes or could not be read."
                ),
            );
            return error_response(&request_id, &e);
        }
    };
    match handle(&state, &request_id, &method, &uri, &headers, &body).await {
        Ok(mut v) => {
            if let Value::Object(m) = &mut v {
                m.insert("RequestId".to_owned(), Value::String(request_id.clone()));
            }
            let mut r = (StatusCode::OK, axum::Json(v)).into_response();
            if let Ok(h) = HeaderValue::from_str(&request_id) {
                r.headers_mut().insert("x-acs-request-id", h);
            }
            r
        }
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(
                    request_id,
                    code = e.code(),
                    "request failed on the server side"
                );
            } else {
                tracing::info!(
                    request_id,
                    code = e.code(),
                    status = e.status().as_u16(),
                    "request refused"
                );
            }
            error_response(&request_id, &e)
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_form(headers: &HeaderMap) -> bool {
    header_str(headers, "content-type")
        .map(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

async fn handle(
    state: &AppState,
    request_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHTTPMethod",
            "This API accepts GET and POST only.",
        ));
    }
    // 1. Parameters.
    let query_pairs = decode_pairs(uri.query().unwrap_or(""))?;
    let body_pairs = if is_form(headers) {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::invalid_parameter_format("the form body is not valid UTF-8"))?;
        decode_pairs(text)?
    } else {
        Vec::new()
    };
    let all_pairs: Vec<(String, String)> = query_pairs
        .iter()
        .chain(body_pairs.iter())
        .cloned()
        .collect();
    let mut params = Params::from_pairs(all_pairs.iter().cloned())?;

    // 2. Action and version. A V2 signature covers the `Action`/`Version` parameters but not the
    // x-acs-* headers, so for V2 the signed parameters decide and a differing header is refused.
    let v2_signed = params.str("Signature").is_some()
        && !header_str(headers, "authorization")
            .is_some_and(|a| a.starts_with(signature::V3_ALGORITHM));
    let header_action = header_str(headers, "x-acs-action").map(|a| a.trim().to_owned());
    let param_action = params.string("Action");
    let action_name = if v2_signed {
        let a = param_action.ok_or_else(|| ApiError::missing_parameter("Action"))?;
        if header_action.as_ref().is_some_and(|h| *h != a) {
            return Err(ApiError::invalid_parameter(
                "x-acs-action",
                "it differs from the signed Action parameter",
            ));
        }
        a
    } else {
        header_action
            .or(param_action)
            .ok_or_else(|| ApiError::missing_parameter("Action"))?
    };
    let version = if v2_signed {
        params.string("Version")
    } else {
        header_str(headers, "x-acs-version")
            .map(str::to_owned)
            .or_else(|| params.string("Version"))
    };
    match version.as_deref() {
        Some(API_VERSION) => {}
        Some(other) => return Err(ApiError::invalid_version(other)),
        None => return Err(ApiError::missing_parameter("Version")),
    }
    let action =
        actions::find(&action_name).ok_or_else(|| ApiError::unknown_action(&action_name))?;

    // 3. Authentication, before anything is interpreted or written.
    let header_pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    authenticate(
        state,
        method,
        uri,
        headers,
        &header_pairs,
        &query_pairs,
        &all_pairs,
        &params,
        body,
    )
    .await?;

    for k in V2_COMMON.iter().chain(HIDDEN_COMMON.iter()) {
        params.remove(k);
    }

    // 4. The action, on a blocking thread: the store is synchronous.
    let ctx = Ctx {
        control: state.control.clone(),
        request_id: request_id.to_owned(),
    };
    let handler = action.handler;
    match tokio::task::spawn_blocking(move || handler(&ctx, &params)).await {
        Ok(r) => r,
        Err(join) => {
            tracing::error!(
                request_id,
                action = action.name,
                "action handler panicked: {join}"
            );
            Err(ApiError::internal())
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    header_pairs: &[(String, String)],
    query_pairs: &[(String, String)],
    all_pairs: &[(String, String)],
    params: &Params,
    body: &[u8],
) -> Result<(), ApiError> {
    let v3 = match header_str(headers, "authorization") {
        Some(a) => signature::parse_v3_authorization(a)?,
        None => None,
    };
    // dualsec issues no STS tokens: a token-bearing request cannot be honoured as such.
    if header_str(headers, "x-acs-security-token").is_some()
        || params.str("SecurityToken").is_some()
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.NotSupported",
            "This endpoint does not issue STS security tokens; sign with an access key (access_key_id/access_key_secret) instead.",
        ));
    }
    let v2_sig = params.string("Signature");
    let (access_key_id, date, nonce) = match (&v3, &v2_sig) {
        (Some(auth), _) => (
            auth.access_key_id.clone(),
            header_str(headers, "x-acs-date").map(str::to_owned),
            header_str(headers, "x-acs-signature-nonce").map(str::to_owned),
        ),
        (None, Some(_)) => {
            if let Some(m) = params.str("SignatureMethod") {
                if m != "HMAC-SHA1" {
                    return Err(ApiError::incomplete_signature(
                        "SignatureMethod must be HMAC-SHA1",
                    ));
                }
            }
            (
                params
                    .string("AccessKeyId")
                    .ok_or_else(|| ApiError::missing_parameter("AccessKeyId"))?,
                params.string("Timestamp"),
                params.string("SignatureNonce"),
            )
        }
        (None, None) => {
            return Err(ApiError::incomplete_signature(
                "the request is not signed (expected an ACS3-HMAC-SHA256 Authorization header or a V2 Signature parameter)",
            ));
        }
    };

    // The signed date must be close to our clock, and each nonce used once.
    let date =
        date.ok_or_else(|| ApiError::incomplete_signature("the signed request has no date"))?;
    let signed_at = signature::parse_acs_date(&date).ok_or_else(|| {
        ApiError::incomplete_signature("the date must look like 2026-01-31T12:00:00Z")
    })?;
    let now = (state.clock)();
    if (now - signed_at).whole_seconds().abs() > MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::timestamp_expired());
    }
    let nonce =
        nonce.ok_or_else(|| ApiError::incomplete_signature("the signed request has no nonce"))?;

    let control = state.control.clone();
    let ak = access_key_id.clone();
    let secret = tokio::task::spawn_blocking(move || control.access_key(&ak))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::unknown_access_key)?
        .secret;

    match &v3 {
        Some(auth) => {
            let path = uri.path();
            let input = SigningInput {
                method: method.as_str(),
                path,
                query: query_pairs,
                headers: header_pairs,
                body,
            };
            signature::verify_v3(&input, auth, &secret)?;
        }
        None => {
            let sig = v2_sig.unwrap_or_default();
            signature::verify_v2(method.as_str(), all_pairs, &sig, &secret)?;
        }
    }

    // Only a verified request consumes its nonce.
    let mut cache = state.nonces.lock().map_err(|_| ApiError::internal())?;
    if cache.len() >= NONCE_CACHE_SOFT_CAP {
        cache.retain(|_, seen| (now - *seen).whole_seconds().abs() <= MAX_CLOCK_SKEW_SECS);
    }
    if cache.insert((access_key_id, nonce), now).is_some() {
        return Err(ApiError::nonce_used());
    }
    Ok(())
}
