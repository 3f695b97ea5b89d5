use std::sync::Arc;
use std::time::Duration;

use claimd_auth::testing::{FakePartners, JwksServer, TestKey};
use claimd_auth::{
    AuthConfig, AuthError, AuthErrorKind, Authenticator, PartnerKeyConfig, VerifiedPartner,
};
use claimd_clock::ManualClock;

/// Partner ids are UUID strings in the service.
pub const PARTNER: &str = "0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b";
pub const OTHER_PARTNER: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
pub const EMAIL: &str = "alice@example.com";

/// Defaults plus loopback http (the test JWKS server is plain http on 127.0.0.1).
pub fn loopback_config() -> AuthConfig {
    AuthConfig {
        allow_http_loopback_jwks: true,
        fetch_timeout: Duration::from_secs(2),
        ..AuthConfig::default()
    }
}

pub struct Fixture {
    pub auth: Authenticator,
    /// The authenticator's clock: starts at the real time (tokens are minted with it) and
    /// moves only when a test advances it.
    pub clock: ManualClock,
    pub partners: Arc<FakePartners>,
    pub server: JwksServer,
    pub es: TestKey,
    pub rs: TestKey,
}

/// One partner whose JWKS (an ES256 and an RS256 key) is served over HTTP.
pub async fn fixture() -> Fixture {
    fixture_with(loopback_config()).await
}

pub async fn fixture_with(config: AuthConfig) -> Fixture {
    let es = TestKey::es256("es-key-1");
    let rs = TestKey::rs256("rs-key-1");
    let server = JwksServer::start(claimd_auth::testing::jwks(&[&es, &rs])).await;
    let partners = FakePartners::new();
    partners.insert(PARTNER, PartnerKeyConfig::JwksUrl(server.url()));
    let clock = ManualClock::new();
    let auth = Authenticator::new(config, partners.clone(), clock.shared()).expect("valid config");
    Fixture {
        auth,
        clock,
        partners,
        server,
        es,
        rs,
    }
}

impl Fixture {
    /// Moves the clock past the life of every token minted so far (5 minutes plus the 60 s
    /// leeway) and mints a new one, valid from then, carrying `jti`.
    pub fn after_expiry_with_jti(&self, jti: &str) -> String {
        self.clock
            .advance(std::time::Duration::from_secs(300 + 60 + 1));
        let now = self.clock_now();
        self.es
            .token(PARTNER, EMAIL)
            .times(now, now + 300)
            .claim("jti", jti)
            .build()
    }

    /// The fixture clock's wall time, Unix seconds.
    pub fn clock_now(&self) -> i64 {
        use claimd_clock::Clock as _;
        self.clock.now().timestamp()
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedPartner, AuthError> {
        self.auth.verify_now(token).await
    }

    /// Verifies and returns the error, failing the test if the token was accepted.
    #[track_caller]
    pub fn expect_err(result: Result<VerifiedPartner, AuthError>) -> AuthError {
        match result {
            Ok(v) => panic!("token unexpectedly accepted: {v:?}"),
            Err(e) => e,
        }
    }

    pub async fn kind(&self, token: &str) -> AuthErrorKind {
        Self::expect_err(self.verify(token).await).kind()
    }
}

/// The error of a rejected token, checking that the message is fit for a partner.
#[track_caller]
pub fn rejected(result: Result<VerifiedPartner, AuthError>, token: &str) -> AuthError {
    let err = Fixture::expect_err(result);
    let msg = err.to_string();
    assert!(!msg.is_empty());
    assert!(msg.len() < 200, "message too long: {msg}");
    assert!(
        !msg.contains("http://") && !msg.contains("https://"),
        "URL in message: {msg}"
    );
    assert!(!msg.contains("127.0.0.1"), "address in message: {msg}");
    assert!(!msg.contains("secret"), "secret in message: {msg}");
    if token.len() > 16 {
        for part in token.split('.') {
            if part.len() > 8 {
                assert!(!msg.contains(part), "token echoed in message: {msg}");
            }
        }
    }
    err
}
