//! The one API error type and its provider-shaped JSON body (api-reference §2.5, §7, §8 item 8).
//!
//! Every failure that reaches a client goes through [`ApiError`]: its `Code` and HTTP status follow
//! the provider; its `Message` says what was wrong in the request. Internal failures (store I/O,
//! bugs) become `InternalError` with a fixed message — details go to the log, never to the client.

use std::borrow::Cow;

use axum::http::StatusCode;
use serde_json::json;

/// `HostId` in error bodies. The provider puts its endpoint here; we are the endpoint.
pub const HOST_ID: &str = "dualsec";

/// An error answered to the client: HTTP status, provider `Code`, human `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
}

impl ApiError {
    /// Any status, code and message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Provider error code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Message for the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 400 `MissingParameter` (platform code).
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// 400 `InvalidParameter` naming the parameter and what is allowed.
    pub fn invalid_parameter(name: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid: {why}."),
        )
    }

    /// 400 `InvalidParameter` about the request as a whole (encoding, size).
    pub fn invalid_parameter_format(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("The request is not valid: {why}."),
        )
    }

    /// 404 `InvalidAction.NotFound`: unknown action or wrong method for it.
    pub fn unknown_action(action: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            format!("Specified api \"{action}\" is not found, please check your url and method."),
        )
    }

    /// 400 `InvalidVersion`: only 2016-04-28 is served.
    pub fn invalid_version(version: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            format!(
                "Specified parameter Version \"{version}\" is not valid; this endpoint serves 2016-04-28."
            ),
        )
    }

    /// 400 `SignatureDoesNotMatch`.
    pub fn signature_mismatch() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        )
    }

    /// 404 `InvalidAccessKeyId.NotFound`.
    pub fn unknown_access_key() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    /// 400 `IncompleteSignature`: a signature is present but malformed.
    pub fn incomplete_signature(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {why}."),
        )
    }

    /// 400 `InvalidTimeStamp.Expired`: the signed date is too far from now.
    pub fn timestamp_expired() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired (more than 15 minutes from the server clock).",
        )
    }

    /// 400 `SignatureNonceUsed`: replay of a signed request.
    pub fn nonce_used() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )
    }

    /// 500 `InternalError` with a fixed message: the cause is logged, not sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        )
    }

    /// 400 `DryRunOperation`: a `DryRun=true` request that passed validation (api-reference §3).
    pub fn dry_run_ok() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        )
    }

    /// The provider's error body `{"RequestId","HostId","Code","Message","Recommend"}`.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        json!({
            "RequestId": request_id,
            "HostId": HOST_ID,
            "Code": self.code,
            "Message": self.message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product=Vpc", self.code),
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// The one mapping from control's error to the wire: code, message and status come from
/// `dualsec_control` (which owns them); server-side failures are logged here with their detail and
/// answered with a fixed message.
impl From<dualsec_control::ControlError> for ApiError {
    fn from(e: dualsec_control::ControlError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if e.is_server_fault() {
            tracing::error!(error = ?e, "control plane failure");
        }
        Self::new(status, e.code(), e.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_exactly_the_provider_fields() {
        let b = ApiError::unknown_access_key().body("REQ-1");
        let obj = b.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["Code", "HostId", "Message", "Recommend", "RequestId"]
        );
        assert_eq!(b["Code"], "InvalidAccessKeyId.NotFound");
        assert_eq!(b["RequestId"], "REQ-1");
    }

    #[test]
    fn internal_error_says_nothing_specific() {
        let e = ApiError::internal();
        assert_eq!(e.status().as_u16(), 500);
        assert!(!e.message().to_lowercase().contains("sqlite"));
    }
}
