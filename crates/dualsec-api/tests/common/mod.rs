//! Shared test harness: a real `Control` over an in-memory SQLite store, the router without a
//! socket, and a request signer that does what the provider's SDK does.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dualsec_api::signature::{format_acs_date, rfc3986, sign_v3_request};
use dualsec_api::{AppState, app};
use dualsec_control::model::AccessKey;
use dualsec_control::{Completion, Control, ControlConfig, SqliteStore, SystemClock, ZoneId};
use rand_core::SeedableRng;
use serde_json::Value;
use tower::ServiceExt;

pub const REGION: &str = "local";

pub struct Harness {
    pub state: AppState,
    pub key: AccessKey,
    nonce: std::sync::atomic::AtomicU64,
}

pub fn harness() -> Harness {
    let store = SqliteStore::open_in_memory().unwrap();
    let control = Control::new(
        Arc::new(store),
        Arc::new(SystemClock),
        Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(7)),
        ControlConfig {
            region_id: REGION.into(),
            completion: Completion::AfterDelay(Duration::ZERO),
            ..ControlConfig::default()
        },
    );
    control
        .configure_public_ip_pool(&[
            (ZoneId("zone-a".into()), Ipv4Addr::new(192, 0, 2, 1)),
            (ZoneId("zone-b".into()), Ipv4Addr::new(192, 0, 2, 2)),
        ])
        .unwrap();
    let key = control.create_access_key().unwrap();
    Harness {
        state: AppState::new(Arc::new(control)),
        key,
        nonce: 0.into(),
    }
}

/// Sends one request through the router built from `state`.
pub async fn send_to(state: &AppState, req: Request<Body>) -> Reply {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, body }
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Harness {
    /// Sends `action` with `params` in a form body, V3-signed with `secret` as the SDK does.
    pub async fn call_signed(
        &self,
        action: &str,
        params: &[(&str, &str)],
        key_id: &str,
        secret: &str,
    ) -> Reply {
        let mut map: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        map.entry("RegionId".into())
            .or_insert_with(|| REGION.into());
        let body: String = map
            .iter()
            .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
            .collect::<Vec<_>>()
            .join("&");
        let n = self.nonce.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let headers = vec![
            ("host".to_owned(), "localhost".to_owned()),
            ("x-acs-version".to_owned(), "2016-04-28".to_owned()),
            ("x-acs-action".to_owned(), action.to_owned()),
            (
                "x-acs-date".to_owned(),
                format_acs_date(time::OffsetDateTime::now_utc()),
            ),
            (
                "x-acs-signature-nonce".to_owned(),
                format!("nonce-{n}-{}", std::process::id()),
            ),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ];
        let signed =
            sign_v3_request("POST", "/", &[], headers, body.as_bytes(), key_id, secret).unwrap();
        let mut req = Request::builder().method("POST").uri("/");
        for (k, v) in &signed {
            req = req.header(k.as_str(), v.as_str());
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        let (id, secret) = (self.key.id.clone(), self.key.secret.clone());
        self.call_signed(action, params, &id, &secret).await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        send_to(&self.state, req).await
    }

    /// Completes pending async work (what `dualsec serve`'s background tick does).
    pub fn settle(&self) {
        self.state.control().complete_due_operations().unwrap();
    }
}
