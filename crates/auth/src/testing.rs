//! Test helpers (feature `testing`): real keys, JWKS JSON, a token builder that can mint
//! anything (including malformed and hostile tokens), an in-memory [`PartnerKeySource`] and
//! a JWKS server on a loopback port with switchable misbehaviour.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use claimd_auth::testing::{FakePartners, JwksServer, TestKey};
//! use claimd_auth::{AuthConfig, Authenticator, PartnerKeyConfig};
//! use claimd_clock::SystemClock;
//!
//! const PARTNER: &str = "0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b";
//! let key = TestKey::es256("k1");
//! let server = JwksServer::start(key.jwks()).await;
//! let partners = FakePartners::new();
//! partners.insert(PARTNER, PartnerKeyConfig::JwksUrl(server.url()));
//! // Loopback http needs the dev switch.
//! let config = AuthConfig { allow_http_loopback_jwks: true, ..AuthConfig::default() };
//! let auth = Authenticator::new(config, partners.clone(), SystemClock::shared()).unwrap();
//! let token = key.token(PARTNER, "alice@example.com").build();
//! let partner = auth.verify_now(&token).await.unwrap();
//! assert_eq!(partner.partner_id, PARTNER);
//! # }
//! ```
//!
//! The keys are generated per call (RSA-2048 takes tens of milliseconds); they are test keys
//! only and never leave the process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::error::LookupError;
use crate::source::{PartnerAuthConfig, PartnerKeySource, PartnerPolicy};
use crate::token::Algorithm;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `id` with the case of random hex letters flipped (an LCG: no dependency, reproducible from
/// `seed`), never the canonical spelling itself: the same partner id as a hostile client may
/// spell it.
pub fn random_spelling(id: &str, seed: &mut u64) -> String {
    loop {
        let s: String = id
            .chars()
            .map(|c| {
                *seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                if (*seed >> 33) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        if s != id {
            return s;
        }
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A [`SystemTime`] from Unix seconds.
pub fn at_unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

enum KeyInner {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// A signing key pair with its `kid`: ES256 (P-256) or RS256 (RSA).
#[derive(Clone)]
pub struct TestKey {
    kid: String,
    inner: Arc<KeyInner>,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

impl TestKey {
    /// A fresh P-256 key pair for ES256.
    ///
    /// # Panics
    /// If the system RNG fails.
    pub fn es256(kid: impl Into<String>) -> Self {
        let pair =
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key generation");
        Self {
            kid: kid.into(),
            inner: Arc::new(KeyInner::Es256(pair)),
        }
    }

    /// A fresh RSA-2048 key pair for RS256.
    ///
    /// # Panics
    /// If key generation fails.
    pub fn rs256(kid: impl Into<String>) -> Self {
        Self::rs256_with_size(kid, 2048)
    }

    /// A fresh RSA key pair of `bits` (2048, 3072, 4096 or 8192) for RS256.
    ///
    /// # Panics
    /// On another size, or if key generation fails.
    pub fn rs256_with_size(kid: impl Into<String>, bits: usize) -> Self {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => panic!("unsupported RSA size {bits}"),
        };
        let pair = RsaKeyPair::generate(size).expect("RSA key generation");
        Self {
            kid: kid.into(),
            inner: Arc::new(KeyInner::Rs256(pair)),
        }
    }

    /// The same key pair under another `kid`.
    pub fn with_kid(&self, kid: impl Into<String>) -> Self {
        Self {
            kid: kid.into(),
            inner: Arc::clone(&self.inner),
        }
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// ES256 or RS256.
    pub fn alg(&self) -> Algorithm {
        match *self.inner {
            KeyInner::Es256(_) => Algorithm::Es256,
            KeyInner::Rs256(_) => Algorithm::Rs256,
        }
    }

    /// The public JWK: `kty`, key members, `kid`, `use: "sig"`, `alg`.
    pub fn jwk(&self) -> Value {
        match &*self.inner {
            KeyInner::Es256(pair) => {
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC", "crv": "P-256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..65]),
                    "kid": self.kid, "use": "sig", "alg": "ES256",
                })
            }
            KeyInner::Rs256(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                    "kid": self.kid, "use": "sig", "alg": "RS256",
                })
            }
        }
    }

    /// A JWKS holding just this key.
    pub fn jwks(&self) -> Value {
        jwks(&[self])
    }

    /// The public key's bytes as an HS256-confusion attacker would use them as the HMAC
    /// secret: the uncompressed EC point, or the RSA public key DER.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &*self.inner {
            KeyInner::Es256(pair) => pair.public_key().as_ref().to_vec(),
            KeyInner::Rs256(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    /// Signs `message` with this key's algorithm (ES256: 64-byte `r || s`).
    ///
    /// # Panics
    /// If signing fails.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &*self.inner {
            KeyInner::Es256(pair) => pair
                .sign(&rng, message)
                .expect("ECDSA sign")
                .as_ref()
                .to_vec(),
            KeyInner::Rs256(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("RSA sign");
                sig
            }
        }
    }

    /// A builder preset with a good header (`alg`, `kid`, `typ: JWT`), good claims for
    /// `partner_id` and `email` (scope `issue on-behalf`, `iat` now, `exp` in 5 minutes) and
    /// this key as signer. Change anything before [`TokenBuilder::build`].
    pub fn token(&self, partner_id: &str, email: &str) -> TokenBuilder {
        TokenBuilder::new()
            .header("alg", self.alg().as_str())
            .header("kid", self.kid.as_str())
            .header("typ", "JWT")
            .partner_claims(partner_id, email)
            .sign_with(self)
    }
}

/// A JWKS (`{"keys":[…]}`) of the given keys' public JWKs.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

#[derive(Clone)]
enum Signer {
    /// Empty signature (as `alg: none` would have).
    None,
    Key(TestKey),
    Hs256(Vec<u8>),
    /// These exact signature bytes.
    Bytes(Vec<u8>),
    /// This exact third segment, not base64-encoded by us.
    Segment(String),
}

/// Mints compact JWS tokens with arbitrary header, claims and signature.
#[derive(Clone)]
pub struct TokenBuilder {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    raw_header: Option<String>,
    raw_payload: Option<String>,
    signer: Signer,
}

impl Default for TokenBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenBuilder {
    /// An empty header, empty claims, and an empty signature.
    pub fn new() -> Self {
        Self {
            header: Map::new(),
            claims: Map::new(),
            raw_header: None,
            raw_payload: None,
            signer: Signer::None,
        }
    }

    /// Sets a header member.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member.
    #[must_use]
    pub fn remove_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Sets a claim.
    #[must_use]
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    #[must_use]
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// No `iat` and `exp` at `exp`: a lifetime the verifier can judge only from its own now.
    #[must_use]
    pub fn without_iat(self, exp: i64) -> Self {
        self.remove_claim("iat").claim("exp", exp)
    }

    /// `partnerId`, `email`, `scope: "issue on-behalf"`, `iat` now and `exp` in 5 minutes.
    #[must_use]
    pub fn partner_claims(self, partner_id: &str, email: &str) -> Self {
        let now = now_unix();
        self.claim("partnerId", partner_id)
            .claim("email", email)
            .claim("scope", "issue on-behalf")
            .claim("iat", now)
            .claim("exp", now + 300)
    }

    /// Sets `iat` and `exp`.
    #[must_use]
    pub fn times(self, iat: i64, exp: i64) -> Self {
        self.claim("iat", iat).claim("exp", exp)
    }

    /// Uses this exact JSON text as the header (e.g. with duplicate keys).
    #[must_use]
    pub fn raw_header(mut self, json: impl Into<String>) -> Self {
        self.raw_header = Some(json.into());
        self
    }

    /// Uses this exact JSON text as the payload.
    #[must_use]
    pub fn raw_payload(mut self, json: impl Into<String>) -> Self {
        self.raw_payload = Some(json.into());
        self
    }

    /// Signs with `key` (header untouched: set `alg`/`kid` yourself, or use
    /// [`TestKey::token`]).
    #[must_use]
    pub fn sign_with(mut self, key: &TestKey) -> Self {
        self.signer = Signer::Key(key.clone());
        self
    }

    /// Signs with HMAC-SHA256 under `secret` (for the HS256 key-confusion attack).
    #[must_use]
    pub fn sign_hs256(mut self, secret: &[u8]) -> Self {
        self.signer = Signer::Hs256(secret.to_vec());
        self
    }

    /// An empty signature segment.
    #[must_use]
    pub fn unsigned(mut self) -> Self {
        self.signer = Signer::None;
        self
    }

    /// These signature bytes instead of a real signature.
    #[must_use]
    pub fn signature_bytes(mut self, sig: Vec<u8>) -> Self {
        self.signer = Signer::Bytes(sig);
        self
    }

    /// This exact third segment (not encoded by us).
    #[must_use]
    pub fn signature_segment(mut self, segment: impl Into<String>) -> Self {
        self.signer = Signer::Segment(segment.into());
        self
    }

    /// The encoded `header.payload` (the signing input).
    pub fn signing_input(&self) -> String {
        let header = self
            .raw_header
            .clone()
            .unwrap_or_else(|| Value::Object(self.header.clone()).to_string());
        let payload = self
            .raw_payload
            .clone()
            .unwrap_or_else(|| Value::Object(self.claims.clone()).to_string());
        format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()))
    }

    /// The compact token.
    ///
    /// # Panics
    /// If HMAC key setup fails (it does not).
    pub fn build(&self) -> String {
        let input = self.signing_input();
        let sig = match &self.signer {
            Signer::None => String::new(),
            Signer::Key(key) => b64(&key.sign(input.as_bytes())),
            Signer::Hs256(secret) => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
                b64(aws_lc_rs::hmac::sign(&key, input.as_bytes()).as_ref())
            }
            Signer::Bytes(b) => b64(b),
            Signer::Segment(s) => s.clone(),
        };
        format!("{input}.{sig}")
    }
}

/// An authenticator over `partners` with `config` and the system clock, as the service
/// builds it.
///
/// # Panics
/// If `config` is not valid.
pub fn authenticator(
    config: crate::AuthConfig,
    partners: Arc<FakePartners>,
) -> crate::Authenticator {
    crate::Authenticator::new(config, partners, claimd_clock::SystemClock::shared())
        .expect("a valid configuration")
}

/// An in-memory [`PartnerKeySource`] that counts lookups and can be made to fail.
#[derive(Default)]
pub struct FakePartners {
    partners: RwLock<HashMap<String, PartnerAuthConfig>>,
    lookups: AtomicUsize,
    failing: AtomicBool,
    delay_ms: AtomicUsize,
}

impl FakePartners {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A registry of one partner whose keys are given inline: the JWKS `jwks`.
    pub fn inline(partner_id: &str, jwks: Value) -> Arc<Self> {
        let partners = Self::new();
        partners.insert(partner_id, crate::PartnerKeyConfig::Jwks(jwks));
        partners
    }

    /// Registers (or replaces) a partner: its keys (default policy), or keys and policy.
    pub fn insert(&self, partner_id: &str, config: impl Into<PartnerAuthConfig>) {
        self.partners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(partner_id.to_owned(), config.into());
    }

    /// Changes a registered partner's policy (its keys stay).
    ///
    /// # Panics
    /// If the partner is not registered.
    pub fn set_policy(&self, partner_id: &str, policy: PartnerPolicy) {
        self.partners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(partner_id)
            .expect("a registered partner")
            .policy = policy;
    }

    /// Unregisters a partner.
    pub fn remove(&self, partner_id: &str) {
        self.partners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(partner_id);
    }

    /// How many lookups were made.
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    /// Makes every lookup fail (as a store outage would) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Delays every lookup (to widen race windows in tests).
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(
            usize::try_from(delay.as_millis()).unwrap_or(usize::MAX),
            Ordering::SeqCst,
        );
    }
}

#[async_trait]
impl PartnerKeySource for FakePartners {
    async fn partner_keys(
        &self,
        partner_id: &str,
    ) -> Result<Option<PartnerAuthConfig>, LookupError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(LookupError::new("fake store is down (secret=do-not-leak)"));
        }
        Ok(self
            .partners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(partner_id)
            .cloned())
    }
}

/// How the [`JwksServer`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behavior {
    /// 200 with the JWKS (and the `Cache-Control` set, if any).
    Normal,
    /// Waits, then answers normally.
    Delay(Duration),
    /// This status with a small text body.
    Status(u16),
    /// 200 with a body that is not JSON.
    Junk,
    /// 302 to this `Location`.
    Redirect(String),
    /// 200 with a JSON body of about this many bytes, streamed without `Content-Length`.
    Huge(usize),
    /// 200 with a JSON body of about this many bytes and a `Content-Length`.
    HugeDeclared(usize),
    /// 200, the start of a body, and then nothing, forever.
    StallBody,
}

struct ServerState {
    jwks: Mutex<Value>,
    behavior: Mutex<Behavior>,
    cache_control: Mutex<Option<String>>,
    requests: AtomicUsize,
}

/// A JWKS server on `127.0.0.1` (port chosen by the OS), stopped on drop.
pub struct JwksServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for JwksServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl JwksServer {
    /// Starts serving `jwks` at every path.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start(jwks: Value) -> Self {
        let state = Arc::new(ServerState {
            jwks: Mutex::new(jwks),
            behavior: Mutex::new(Behavior::Normal),
            cache_control: Mutex::new(None),
            requests: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let app = axum::Router::new()
            .fallback(serve_jwks)
            .with_state(Arc::clone(&state));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            addr,
            state,
            shutdown: Some(tx),
        }
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/.well-known/jwks.json`.
    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// Replaces the JWKS served.
    pub fn set_jwks(&self, jwks: Value) {
        *self
            .state
            .jwks
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = jwks;
    }

    /// Switches how the server answers.
    pub fn set_behavior(&self, behavior: Behavior) {
        *self
            .state
            .behavior
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = behavior;
    }

    /// Sets (or clears) the `Cache-Control` of normal answers.
    pub fn set_cache_control(&self, value: Option<&str>) {
        *self
            .state
            .cache_control
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = value.map(str::to_owned);
    }

    /// Requests served so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn padded_json(bytes: usize) -> String {
    format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(bytes))
}

async fn serve_jwks(State(state): State<Arc<ServerState>>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let behavior = state
        .behavior
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let normal = |state: &ServerState| {
        let body = state
            .jwks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .to_string();
        let mut resp = Response::new(Body::from(body));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwk-set+json"),
        );
        if let Some(cc) = state
            .cache_control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_deref()
        {
            if let Ok(v) = HeaderValue::from_str(cc) {
                resp.headers_mut().insert(header::CACHE_CONTROL, v);
            }
        }
        resp
    };
    let with_status = |status: StatusCode, body: Body| {
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        resp
    };
    match behavior {
        Behavior::Normal => normal(&state),
        Behavior::Delay(d) => {
            tokio::time::sleep(d).await;
            normal(&state)
        }
        Behavior::Status(code) => with_status(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Body::from("error"),
        ),
        Behavior::Junk => with_status(StatusCode::OK, Body::from("<html>definitely not a JWKS")),
        Behavior::Redirect(location) => {
            let mut resp = with_status(StatusCode::FOUND, Body::empty());
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Behavior::HugeDeclared(n) => with_status(StatusCode::OK, Body::from(padded_json(n))),
        Behavior::Huge(n) => {
            let chunk = "x".repeat(16 * 1024);
            let chunks = n / chunk.len() + 1;
            let stream = futures_util::stream::iter(
                std::iter::once("{\"keys\":[],\"pad\":\"".to_owned())
                    .chain(std::iter::repeat_n(chunk, chunks))
                    .chain(std::iter::once("\"}".to_owned()))
                    .map(Ok::<_, std::convert::Infallible>),
            );
            with_status(StatusCode::OK, Body::from_stream(stream))
        }
        Behavior::StallBody => {
            use futures_util::StreamExt as _;
            let stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(
                "{\"keys\":[".to_owned(),
            )])
            .chain(futures_util::stream::pending());
            with_status(StatusCode::OK, Body::from_stream(stream))
        }
    }
}
