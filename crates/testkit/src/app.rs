//! The real HTTP application in process: `claimd_api::router` over a fresh store, assembled the
//! way `claimd serve` assembles it (`crates/claimd/src/serve.rs`), driven with tower's
//! `oneshot` — no socket, no process, no port. What differs from the binary, and why:
//!
//! - time is a [`ManualClock`] (rate limits, windows, expirations move only when a test
//!   advances it, so nothing sleeps);
//! - there is no chain: verification's identity states are "never published" ([`NoChain`]), so
//!   tests of published credentials stay on the binary;
//! - the peer address the listener would attach is [`TestApp::PEER`] unless a request names
//!   another ([`TestApp::request_from`]).

use crate::db::{Backend, Db};
use async_trait::async_trait;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request};
use claimd_api::limits::{Admission, HttpLimits};
use claimd_api::{ApiConfig, AppState, VerifyPool, VerifyPoolConfig};
use claimd_clock::ManualClock;
use claimd_core::identity::DidSettings;
use claimd_core::issuance::Issuance;
use claimd_core::operator::Operator;
use claimd_core::proofs::Proofs;
use claimd_core::secrets::MasterKey;
use claimd_core::verify::{ChainState, IdentityStates, LookupError, Verifier};
use claimd_iden3::id::Id;
use claimd_iden3::Fr;
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

/// Verification's chain when there is none: no identity ever published a state.
pub struct NoChain;

#[async_trait]
impl IdentityStates for NoChain {
    async fn state(&self, _: &Id, _: Fr) -> Result<Option<ChainState>, LookupError> {
        Ok(None)
    }

    async fn latest(&self, _: &Id) -> Result<Option<ChainState>, LookupError> {
        Ok(None)
    }
}

/// The process-wide Prometheus recorder of this test binary, installed once (a process has
/// one global recorder).
pub fn metrics() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("install the metrics recorder")
    })
}

/// The sum of a metric's samples (over all labels, or those containing `label`) in the
/// exporter's text format `text`.
pub fn metric_sum_in(text: &str, name: &str, label: Option<&str>) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter(|l| label.is_none_or(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// [`metric_sum_in`] of this process's recorder.
pub fn metric_sum(name: &str, label: Option<&str>) -> f64 {
    metric_sum_in(&metrics().render(), name, label)
}

/// The settings a [`TestApp`] is built with; the defaults are the binary's.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub backend: Backend,
    pub limits: HttpLimits,
    pub max_body_bytes: usize,
    pub verify_pool: VerifyPoolConfig,
    pub public_url: String,
    /// The dashboard's block explorer (`chain_explorer_tx_url`); none by default.
    pub explorer: Option<claimd_api::dashboard::explorer::TxExplorer>,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            backend: Backend::Sqlite,
            limits: HttpLimits::default(),
            // The binary's default `max_body_bytes`.
            max_body_bytes: 64 * 1024,
            verify_pool: VerifyPoolConfig::default(),
            public_url: "http://claimd.test".into(),
            explorer: None,
        }
    }
}

/// An answer: status, headers and the body as bytes.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The real router over a fresh store.
pub struct TestApp {
    pub state: AppState,
    pub clock: ManualClock,
    pub admin_token: String,
    pub master_key: MasterKey,
    /// Keeps the database (file or PostgreSQL database) for the app's life.
    pub db: Db,
}

impl TestApp {
    /// The peer address requests come from unless they say otherwise.
    pub const PEER: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::new(127, 0, 0, 1),
        40000,
    ));

    /// On a fresh SQLite store, with the binary's default settings.
    pub async fn new() -> TestApp {
        TestApp::with(AppSettings::default()).await
    }

    pub async fn with(settings: AppSettings) -> TestApp {
        let db = Db::create(settings.backend).await;
        let store = db.open().await;
        let clock = ManualClock::new();
        let shared = clock.shared();
        let master_key = MasterKey::generate();
        let did = DidSettings::default();
        let operator = Operator::new(store.clone(), master_key.clone(), did.clone())
            .with_clock(shared.clone());
        let auth = claimd_auth::Authenticator::new(
            claimd_auth::AuthConfig::dev(),
            Arc::new(claimd_api::partner_auth::StoreKeySource(store.clone())),
            shared.clone(),
        )
        .expect("the dev authentication settings are valid");
        let issuance = Issuance::new(
            store.clone(),
            master_key.clone(),
            did,
            settings.public_url.clone(),
            Arc::new(claimd_merklize::Merklizer::new()),
        )
        .with_clock(shared.clone());
        let proofs = Arc::new(Proofs::new(store.clone(), master_key.clone()));
        let verifier = Verifier::new(
            store.clone(),
            Arc::new(claimd_merklize::Merklizer::new()),
            Arc::new(NoChain),
            proofs.clone(),
            &settings.public_url,
        )
        .with_clock(shared.clone());
        let admin_token = format!("test-admin-{}", uuid::Uuid::new_v4().simple());
        let state = AppState {
            bulk: Arc::new(claimd_core::bulk::service::Bulk::new(
                store.clone(),
                shared.clone(),
            )),
            store,
            operator: Arc::new(operator),
            issuance: Arc::new(issuance),
            proofs,
            auth: Arc::new(auth),
            verifier: Arc::new(verifier),
            verify_pool: Arc::new(VerifyPool::new(settings.verify_pool)),
            config: Arc::new(ApiConfig {
                public_url: settings.public_url,
                admin_token: admin_token.clone(),
                max_body_bytes: settings.max_body_bytes,
                ops_separate: false,
            }),
            admission: Arc::new(Admission::new(settings.limits, shared.clone())),
            metrics: Some(metrics().clone()),
            dashboard: Arc::new(
                claimd_api::dashboard::Dashboard::new(
                    claimd_api::dashboard::session::SessionConfig::new(
                        master_key.derive("dashboard-sessions"),
                        true,
                        shared.clone(),
                    ),
                    None,
                )
                .with_explorer(settings.explorer),
            ),
        };
        TestApp {
            state,
            clock,
            admin_token,
            master_key,
            db,
        }
    }

    /// Sends `req` through the whole router (middleware included) from `peer`.
    pub async fn request_from(&self, peer: SocketAddr, mut req: Request<Body>) -> TestResponse {
        req.extensions_mut().insert(ConnectInfo(peer));
        let res = claimd_api::router(self.state.clone())
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let (parts, body) = res.into_parts();
        let body = body
            .collect()
            .await
            .expect("the body can be read")
            .to_bytes()
            .to_vec();
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    pub async fn request(&self, req: Request<Body>) -> TestResponse {
        self.request_from(Self::PEER, req).await
    }

    /// `method path` with `headers` and an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> TestResponse {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.request(req.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, &[], None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send(Method::POST, path, &[], Some(body)).await
    }

    /// An operator API call with the admin token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let bearer = format!("Bearer {}", self.admin_token);
        self.send(method, path, &[("authorization", &bearer)], body)
            .await
    }
}

/// What [`TestApp::provisioned`] created through the operator API.
pub struct Provisioned {
    pub app: TestApp,
    /// The issuance program's id (`credentialId`).
    pub program: String,
    pub partner_id: String,
    /// The issuer as the operator API answered its creation.
    pub issuer: Value,
}

impl TestApp {
    /// A TestApp with `settings` and, created through its operator API as an operator would, a
    /// schema (`age` integer required, `city` string), a partner (a JWKS URL, `issue_on_behalf`),
    /// an issuer of that partner and a program of that issuer and schema.
    pub async fn provisioned(settings: AppSettings) -> Provisioned {
        let app = TestApp::with(settings).await;
        let ok = |r: TestResponse| {
            assert!(r.status < 300, "{}: {}", r.status, r.text());
            r.json()
        };
        let schema = ok(app
            .admin(
                Method::POST,
                "/admin/v1/schemas",
                Some(
                    &serde_json::json!({"title": "Membership", "type": "Membership",
                    "version": "1.0", "description": "m", "attributes": [
                        {"name": "age", "type": "integer", "required": true},
                        {"name": "city", "type": "string"}]}),
                ),
            )
            .await);
        let partner = ok(app
            .admin(
                Method::POST,
                "/admin/v1/partners",
                Some(&serde_json::json!({"name": "Acme",
                    "jwksUrl": "https://acme.example/jwks.json", "features": ["issue_on_behalf"]})),
            )
            .await);
        let issuer = ok(app
            .admin(
                Method::POST,
                "/admin/v1/issuers",
                Some(
                    &serde_json::json!({"partnerId": partner["partnerId"], "name": "Acme issuer"}),
                ),
            )
            .await);
        let program = ok(app
            .admin(
                Method::POST,
                "/admin/v1/programs",
                Some(&serde_json::json!({"issuerDid": issuer["issuerDid"],
                    "schemaId": schema["schemaId"], "name": "Members"})),
            )
            .await);
        Provisioned {
            program: program["credentialId"].as_str().unwrap().to_owned(),
            partner_id: partner["partnerId"].as_str().unwrap().to_owned(),
            issuer,
            app,
        }
    }
}
