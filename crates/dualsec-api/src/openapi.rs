//! The OpenAPI document of the API, generated from the same action table the router dispatches on
//! ([`crate::actions::ACTIONS`]), so it cannot drift. Served at `GET /openapi.json` and committed as
//! `docs/openapi.json` (a test checks the committed copy is current).
//!
//! The API is RPC style (api-reference §1): every action is `POST /` (or `GET /`), selected by the
//! `x-acs-action` header (V3 signatures) or the `Action` parameter (V2). OpenAPI keys operations by
//! path, so each action is listed under the pseudo-path `/?Action=<Name>`; the real request line is
//! always `/`.

use serde_json::{Map, Value, json};

use crate::actions::{ACTIONS, Loc, Ty};
use crate::server::API_VERSION;

fn schema_for(ty: Ty) -> Value {
    match ty {
        Ty::Str => json!({"type": "string"}),
        Ty::Int => {
            json!({"type": "string", "pattern": "^[0-9]+$", "description": "decimal integer"})
        }
        Ty::Bool => {
            json!({"type": "string", "pattern": "^(?i)(true|false)$", "description": "boolean, case-insensitive"})
        }
    }
}

/// Builds the OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for a in ACTIONS {
        let mut query_params = Vec::new();
        let mut body_props = Map::new();
        let mut body_required = Vec::new();
        for p in a.params {
            let mut schema = schema_for(p.ty);
            if !p.doc.is_empty() {
                schema["description"] = Value::String(p.doc.to_owned());
            }
            match p.loc {
                Loc::Query => query_params.push(json!({
                    "name": p.name,
                    "in": "query",
                    "required": p.required,
                    "schema": schema,
                })),
                Loc::Body => {
                    body_props.insert(p.name.to_owned(), schema);
                    if p.required {
                        body_required.push(Value::String(p.name.to_owned()));
                    }
                }
            }
        }
        let mut response_props = Map::new();
        for f in a.response {
            response_props.insert((*f).to_owned(), json!({}));
        }
        let mut op = json!({
            "operationId": a.name,
            "tags": [a.group],
            "summary": a.summary,
            "description": format!(
                "Send as `{} /` with header `x-acs-action: {}` (V3) or parameter `Action={}` (V2). Any parameter may also be sent in an application/x-www-form-urlencoded body.",
                a.method, a.name, a.name
            ),
            "parameters": query_params,
            "responses": {
                "200": {
                    "description": "Success",
                    "content": {"application/json": {"schema": {"type": "object", "properties": Value::Object(response_props)}}}
                },
                "default": {"$ref": "#/components/responses/Error"}
            }
        });
        if !body_props.is_empty() {
            op["requestBody"] = json!({
                "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object",
                    "properties": Value::Object(body_props),
                    "required": body_required,
                    "description": "Flattened: arrays as Name.N.Field (N from 1), objects as Name.Field."
                }}}
            });
        }
        let mut item = Map::new();
        item.insert(a.method.to_ascii_lowercase(), op);
        paths.insert(format!("/?Action={}", a.name), Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "dualsec VPN gateway API (provider VPC API 2016-04-28 compatible)",
            "version": API_VERSION,
            "description": "RPC-style API: every operation is sent to path `/`; the pseudo-paths `/?Action=Name` only name the operations. Requests are signed with ACS3-HMAC-SHA256 (headers x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce, x-acs-content-sha256, Authorization) or the legacy V2 HMAC-SHA1 query signature."
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "responses": {
                "Error": {
                    "description": "Provider error body. 400 validation/state, 403 permission, 404 not found, 5xx server fault.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["RequestId", "HostId", "Code", "Message", "Recommend"],
                    "properties": {
                        "RequestId": {"type": "string"},
                        "HostId": {"type": "string"},
                        "Code": {"type": "string"},
                        "Message": {"type": "string"},
                        "Recommend": {"type": "string"}
                    }
                }
            }
        }
    })
}

/// The committed form of the document (`docs/openapi.json`): pretty JSON plus a final newline.
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}
