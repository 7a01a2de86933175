//! The one error type of the management plane, and the one place where a failure becomes the
//! provider's error `Code`, `Message` and HTTP status (api-reference §7, §8 item 8).
//!
//! Who is at fault is visible from the status: 4xx means the caller sent something we refuse (the
//! message says what was wrong and what is allowed), 5xx means the server failed (the message never
//! leaks internals; the detail is only in `Debug` and the log).

use std::fmt;

/// The kind of resource a lookup failed for; picks the provider's `*.NotFound` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `vpn-…`
    VpnGateway,
    /// `cgw-…`
    CustomerGateway,
    /// `vco-…`
    VpnConnection,
    /// `tun-…`
    Tunnel,
    /// A destination-based route entry (dbr).
    VpnRouteEntry,
    /// A policy-based route entry (pbr).
    VpnPbrRouteEntry,
    /// An API access key.
    AccessKey,
}

impl ResourceKind {
    /// Human name used in messages.
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::VpnGateway => "VPN gateway",
            ResourceKind::CustomerGateway => "customer gateway",
            ResourceKind::VpnConnection => "IPsec connection",
            ResourceKind::Tunnel => "tunnel",
            ResourceKind::VpnRouteEntry => "destination-based route entry",
            ResourceKind::VpnPbrRouteEntry => "policy-based route entry",
            ResourceKind::AccessKey => "access key",
        }
    }
}

/// Every failure of the management plane.
///
/// Construct validation failures with [`ControlError::illegal`] (field-specific, provider pattern
/// `IllegalParam.<Field>`), [`ControlError::invalid`] (generic `InvalidParameter`) or
/// [`ControlError::missing`]; the API crate may use these constructors too for values it cannot
/// even parse (e.g. `Bandwidth=abc`), so that all validation codes come from here.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// A parameter has a value outside what is allowed. Code `IllegalParam.<code_field>`, HTTP 400.
    ///
    /// `code_field` is the bare provider field name (`LocalSubnet`, `TunnelCidr`); `message` names
    /// the full parameter path (e.g. `TunnelOptionsSpecification.2.TunnelBgpConfig.TunnelCidr`),
    /// the value, and what is allowed.
    #[error("{message}")]
    IllegalParam {
        /// Bare provider field name used in the code.
        code_field: String,
        /// What was wrong and what is allowed.
        message: String,
    },
    /// Generic `InvalidParameter` (HTTP 400), for parameters without a field-specific code.
    #[error("{message}")]
    InvalidParameter {
        /// What was wrong and what is allowed.
        message: String,
    },
    /// A required parameter is absent. Code `MissingParameter`, HTTP 400.
    #[error(
        "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
    )]
    MissingParameter {
        /// Wire name of the parameter.
        name: String,
    },
    /// A `Name` that breaks the naming rules. Code `InvalidName`, HTTP 400.
    #[error("{message}")]
    InvalidName {
        /// What was wrong and what is allowed.
        message: String,
    },
    /// A referenced resource does not exist. Code per kind (`InvalidVpnGatewayInstanceId.NotFound`
    /// …), HTTP 404.
    #[error("The specified {} ({id}) does not exist.", kind.noun())]
    NotFound {
        /// Which kind of resource.
        kind: ResourceKind,
        /// The id (or key) that was looked up.
        id: String,
    },
    /// The VPN gateway has an operation in progress (`Status=updating`). Code
    /// `VpnGateway.Configuring`, HTTP 400; clients (SDKs, Terraform) retry.
    #[error(
        "The specified service is configuring: VPN gateway {gateway_id} is applying a previous change; retry when its Status is active."
    )]
    GatewayConfiguring {
        /// The busy gateway.
        gateway_id: String,
    },
    /// The resource already exists (code given, e.g. `InvalidIpAddress.AlreadyExist`), HTTP 400.
    #[error("{message}")]
    AlreadyExists {
        /// Provider code.
        code: &'static str,
        /// What exists already.
        message: String,
    },
    /// The resource is still referenced (e.g. a gateway with connections). HTTP 400.
    #[error("{message}")]
    DependencyViolation {
        /// Provider-style code, e.g. `DependencyViolation.VpnConnection`.
        code: &'static str,
        /// What still references it and what to do.
        message: String,
    },
    /// A pool or quota is exhausted. Code `Resource.QuotaFull`, HTTP 400.
    #[error("{message}")]
    QuotaFull {
        /// What is exhausted and how to add capacity.
        message: String,
    },
    /// The same `ClientToken` was used before for this action with different parameters. Code
    /// `IdempotentParameterMismatch`, HTTP 400.
    #[error(
        "The ClientToken {token} was already used for a {action} request with different parameters; use a new ClientToken."
    )]
    IdempotentParameterMismatch {
        /// The action name.
        action: String,
        /// The token.
        token: String,
    },
    /// `DryRun=true` and every check passed; nothing was written. Code `DryRunOperation`, HTTP 400.
    #[error("Request validation has been passed with DryRun flag set.")]
    DryRunOperation,
    /// The `RegionId` is not this gateway host's region. Code `InvalidRegionId.NotFound`, HTTP 404.
    #[error(
        "The specified region ({region}) is not found; this dualsec instance serves region {served}."
    )]
    InvalidRegion {
        /// Region the caller asked for.
        region: String,
        /// Region this instance serves.
        served: String,
    },
    /// The store stayed locked by another process past the busy timeout. Code
    /// `ServiceUnavailable`, HTTP 503; safe to retry.
    #[error("The request has failed due to a temporary failure of the server; retry.")]
    StoreBusy,
    /// The server failed (storage error, corrupt record). Code `InternalError`, HTTP 500. The detail
    /// is kept for logs and never shown to the caller.
    #[error("The request processing has failed due to some unknown error.")]
    Internal {
        /// Internal detail, for logs only.
        detail: String,
    },
}

impl fmt::Debug for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::Internal { detail } => write!(f, "InternalError({detail})"),
            other => write!(f, "{}: {}", other.code(), other),
        }
    }
}

impl ControlError {
    /// `IllegalParam.<code_field>` with a message that must say what was wrong and what is allowed.
    pub fn illegal(code_field: impl Into<String>, message: impl Into<String>) -> Self {
        ControlError::IllegalParam {
            code_field: code_field.into(),
            message: message.into(),
        }
    }

    /// Generic `InvalidParameter`.
    pub fn invalid(message: impl Into<String>) -> Self {
        ControlError::InvalidParameter {
            message: message.into(),
        }
    }

    /// `MissingParameter` for the wire name `name`.
    pub fn missing(name: impl Into<String>) -> Self {
        ControlError::MissingParameter { name: name.into() }
    }

    /// `*.NotFound` for `kind`.
    pub fn not_found(kind: ResourceKind, id: impl Into<String>) -> Self {
        ControlError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// An internal failure (HTTP 500); `detail` goes to logs only.
    pub fn internal(detail: impl Into<String>) -> Self {
        ControlError::Internal {
            detail: detail.into(),
        }
    }

    /// The provider error `Code` (api-reference §7).
    pub fn code(&self) -> String {
        match self {
            ControlError::IllegalParam { code_field, .. } => format!("IllegalParam.{code_field}"),
            ControlError::InvalidParameter { .. } => "InvalidParameter".into(),
            ControlError::MissingParameter { .. } => "MissingParameter".into(),
            ControlError::InvalidName { .. } => "InvalidName".into(),
            ControlError::NotFound { kind, .. } => match kind {
                ResourceKind::VpnGateway => "InvalidVpnGatewayInstanceId.NotFound",
                ResourceKind::CustomerGateway => "InvalidCustomerGatewayInstanceId.NotFound",
                ResourceKind::VpnConnection => "InvalidVpnConnectionInstanceId.NotFound",
                ResourceKind::Tunnel => "InvalidTunnelId.NotFound",
                ResourceKind::VpnRouteEntry => "InvalidVpnRouteEntry.NotFound",
                ResourceKind::VpnPbrRouteEntry => "InvalidVpnPbrRouteEntry.NotFound",
                ResourceKind::AccessKey => "InvalidAccessKeyId.NotFound",
            }
            .into(),
            ControlError::GatewayConfiguring { .. } => "VpnGateway.Configuring".into(),
            ControlError::AlreadyExists { code, .. } => (*code).into(),
            ControlError::DependencyViolation { code, .. } => (*code).into(),
            ControlError::QuotaFull { .. } => "Resource.QuotaFull".into(),
            ControlError::IdempotentParameterMismatch { .. } => {
                "IdempotentParameterMismatch".into()
            }
            ControlError::DryRunOperation => "DryRunOperation".into(),
            ControlError::InvalidRegion { .. } => "InvalidRegionId.NotFound".into(),
            ControlError::StoreBusy => "ServiceUnavailable".into(),
            ControlError::Internal { .. } => "InternalError".into(),
        }
    }

    /// The provider `Message` (safe to show the caller).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// HTTP status for the error response.
    pub fn http_status(&self) -> u16 {
        match self {
            ControlError::NotFound { .. } | ControlError::InvalidRegion { .. } => 404,
            ControlError::StoreBusy => 503,
            ControlError::Internal { .. } => 500,
            _ => 400,
        }
    }

    /// The full story for logs and the operator's console (startup failures of `dualsec serve`):
    /// the internal detail for [`ControlError::Internal`], the message otherwise. Never send this
    /// to an API caller.
    pub fn log_detail(&self) -> String {
        match self {
            ControlError::Internal { detail } => detail.clone(),
            other => format!("{}: {}", other.code(), other.message()),
        }
    }

    /// True when the server, not the caller, is at fault (5xx).
    pub fn is_server_fault(&self) -> bool {
        self.http_status() >= 500
    }
}

impl From<rusqlite::Error> for ControlError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                ControlError::StoreBusy
            }
            _ => ControlError::internal(format!("sqlite: {e}")),
        }
    }
}

impl From<serde_json::Error> for ControlError {
    fn from(e: serde_json::Error) -> Self {
        ControlError::internal(format!("corrupt stored record: {e}"))
    }
}

/// Result alias of this crate.
pub type Result<T, E = ControlError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_provider_table() {
        let e = ControlError::not_found(ResourceKind::VpnConnection, "vco-x");
        assert_eq!(e.code(), "InvalidVpnConnectionInstanceId.NotFound");
        assert_eq!(e.http_status(), 404);
        let e = ControlError::illegal("LocalSubnet", "bad");
        assert_eq!(e.code(), "IllegalParam.LocalSubnet");
        assert_eq!(e.http_status(), 400);
        let e = ControlError::GatewayConfiguring {
            gateway_id: "vpn-a".into(),
        };
        assert_eq!(e.code(), "VpnGateway.Configuring");
        assert_eq!(e.http_status(), 400);
        assert_eq!(ControlError::StoreBusy.http_status(), 503);
    }

    #[test]
    fn internal_detail_never_reaches_the_message() {
        let e = ControlError::internal("sqlite: disk I/O error at /var/lib/secret.db");
        assert!(!e.message().contains("secret"));
        assert_eq!(e.http_status(), 500);
        assert!(e.is_server_fault());
        assert!(format!("{e:?}").contains("disk I/O"));
        assert!(e.log_detail().contains("disk I/O"));
    }
}
