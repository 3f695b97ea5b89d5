//! Webhooks, black box: the real binary delivers credential events to a real HTTP receiver
//! (`interop/webhooks/receiver.mjs`), which verifies every delivery with the npm
//! `standardwebhooks` library. Retries after a 500 and after a timeout, the partner's event
//! feed, rotation (both secrets sign), replay with the same event id, a kill -9 while a
//! delivery is in flight (delivered after the restart with the same id), a dead letter once
//! the retry window has passed, and the address policy refusing a link-local target.

mod common;

use claimd_testkit::server::config_env;
use common::fixture::Fixture;
use common::Backend;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Short delays so retries and the dead letter happen within the test; lease shorter than the
/// default so the restarted process retakes the killed one's delivery quickly.
const SETTINGS: &str = "[webhooks]\ntimeout_ms = 1000\nretry_initial_ms = 200\n\
retry_max_delay_ms = 400\nretry_window_secs = 4\npoll_interval_ms = 100\nlease_ttl_ms = 2000\n";

/// The Node receiver, killed on drop.
struct Receiver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Receiver {
    fn start() -> Self {
        let root = claimd_testkit::repo_root();
        assert!(
            root.join("interop/node_modules/standardwebhooks").exists(),
            "interop/node_modules/standardwebhooks is missing: run scripts/setup-test-deps"
        );
        let mut child = Command::new("node")
            .arg(root.join("interop/webhooks/receiver.mjs"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run `node`");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("receiver said {line:?}"))
            .to_owned();
        Receiver {
            child,
            url,
            http: reqwest::Client::new(),
        }
    }

    async fn control(&self, what: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}/_control/{what}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    async fn received(&self) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/_control/received", self.url))
            .send()
            .await
            .unwrap();
        r.json::<Vec<Value>>().await.unwrap()
    }

    /// Waits until `pred` holds for the deliveries received so far; returns them.
    async fn wait(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let got = self.received().await;
            if pred(&got) {
                return got;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: not within 60 s; received {got:#?}"
            );
            // A real process delivering over loopback: its clock is the system's.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deliveries of `event` that the receiver answered 2xx.
fn answered_ok(got: &[Value], event: &str) -> usize {
    got.iter()
        .filter(|d| d["id"] == event && d["answer"].as_str().is_some_and(|a| a.starts_with('2')))
        .count()
}

fn of_type<'a>(got: &'a [Value], kind: &str) -> Vec<&'a Value> {
    got.iter().filter(|d| d["body"]["type"] == kind).collect()
}

/// Polls the operator API until the endpoint's delivery of `event` is in `state`.
async fn wait_delivery(f: &Fixture, endpoint: &str, event: &str, state: &str) -> Value {
    let start = Instant::now();
    loop {
        let listed = f.server().admin_ok(&[
            "webhook",
            "deliveries",
            &f.partner,
            endpoint,
            "--limit",
            "500",
        ]);
        if let Some(d) = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["eventId"] == event && d["state"] == state)
        {
            return d.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "delivery of {event} not {state} within 60 s: {listed:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn scenario(backend: Backend) {
    let receiver = Receiver::start();
    let (_config, env) = config_env(SETTINGS);
    let mut f = Fixture::with_env(backend, env).await;

    // Endpoints: the receiver (every event type), and a link-local target the address policy
    // refuses even in dev mode.
    let created = f.server().admin_ok(&[
        "webhook",
        "create",
        &f.partner,
        "--url",
        &format!("{}/hooks/claimd", receiver.url),
    ]);
    let endpoint = created["endpointId"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    let shown = f
        .server()
        .admin_ok(&["webhook", "get", &f.partner, &endpoint]);
    assert!(
        shown.get("secret").is_none(),
        "the secret is shown once: {shown}"
    );
    assert_eq!(
        shown["eventTypes"],
        json!([
            "credential.onchain",
            "credential.removed",
            "credential.expired",
            "credential.revocation_requested"
        ])
    );
    let refused = f.server().create(
        &[
            "webhook",
            "create",
            &f.partner,
            "--url",
            "https://169.254.169.254/latest/meta-data",
            "--event-type",
            "credential.onchain",
        ],
        "endpointId",
    );
    receiver
        .control("secrets", json!({"secrets": [secret]}))
        .await;

    // First delivery: a 500, then a timeout, then accepted — the same event id every time,
    // every attempt verified by the npm library.
    receiver
        .control("script", json!({"responses": ["500", "hang"]}))
        .await;
    let email = "hooked@example.com";
    let hash = f.issue(email, 30).await;
    let status = f.wait_for(email, &hash, "ONCHAIN").await;
    let got = receiver
        .wait("onchain delivered", |g| {
            of_type(g, "credential.onchain")
                .iter()
                .any(|d| d["answer"] == "200")
        })
        .await;
    let onchain = of_type(&got, "credential.onchain");
    assert_eq!(onchain.len(), 3, "500, timeout, 200: {onchain:#?}");
    let event = onchain[0]["id"].as_str().unwrap().to_owned();
    for d in &onchain {
        assert_eq!(d["id"], event.as_str(), "webhook-id stable across retries");
        assert_eq!(d["verified"], json!([true]), "{d:#}");
        assert_eq!(d["method"], "POST");
        assert_eq!(d["path"], "/hooks/claimd");
        assert_eq!(d["contentType"], "application/json");
        d["timestamp"].as_str().unwrap().parse::<i64>().unwrap();
    }
    assert_eq!(
        onchain
            .iter()
            .map(|d| d["answer"].clone())
            .collect::<Vec<_>>(),
        vec![json!("500"), json!("hang"), json!("200")]
    );
    let body = &onchain[2]["body"];
    assert_eq!(body["eventId"], event.as_str());
    let data = &body["data"];
    assert_eq!(data["coreClaimHash"], hash.as_str());
    assert_eq!(data["credentialId"], f.program.as_str());
    assert_eq!(data["issuerDid"], f.issuer_did.as_str());
    assert_eq!(data["vcStatus"], "ONCHAIN");
    assert_eq!(data["txHash"], status["txHash"]);
    assert_eq!(data["blockNumber"], status["blockNumber"]);
    assert!(data["userUuid"].as_str().is_some_and(|u| u.len() == 36));
    let listed = wait_delivery(&f, &endpoint, &event, "DELIVERED").await;
    let attempts = listed["attempts"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["statusCode"].clone())
            .collect::<Vec<_>>(),
        vec![json!(500), Value::Null, json!(200)],
        "{listed:#}"
    );
    assert_eq!(attempts[1]["error"], "timed out");

    // The partner reads the same event from its feed, by cursor.
    let token = f.token(email);
    let (code, page) = f.get_as(&token, "/v1/events").await;
    assert_eq!(code, 200, "{page}");
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(
        events[0], *body,
        "the feed and the delivery carry the same event"
    );
    assert_eq!(page["nextAfter"], event.as_str());
    let (code, next) = f.get_as(&token, &format!("/v1/events?after={event}")).await;
    assert_eq!((code, next["events"].clone()), (200, json!([])));
    let (code, bad) = f.get_as(&token, "/v1/events?after=nope&limit=5").await;
    assert_eq!((code, bad["error"].clone()), (400, json!(400)), "{bad}");
    let (code, _) = f.get_as(&token, "/v1/events?limit=0").await;
    assert_eq!(code, 400);

    // Rotation: both secrets sign during the overlap; a replay goes out with the same id.
    let rotated = f
        .server()
        .admin_ok(&["webhook", "rotate", &f.partner, &endpoint]);
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["previousSecretExpiresAt"].is_string(), "{rotated}");
    receiver
        .control("secrets", json!({"secrets": [secret, new_secret]}))
        .await;
    let replay = f.server().admin_ok(&[
        "webhook", "replay", &f.partner, &endpoint, "--event", &event,
    ]);
    assert_eq!(replay["queued"], 1);
    let got = receiver
        .wait("replayed", |g| answered_ok(g, &event) == 2)
        .await;
    let replayed = got.iter().rfind(|d| d["id"] == event.as_str()).unwrap();
    assert_eq!(replayed["verified"], json!([true, true]), "{replayed:#}");
    assert_eq!(
        replayed["signature"].as_str().unwrap().split(' ').count(),
        2
    );

    // kill -9 while a delivery is in flight (the receiver holds the request): after the
    // restart the same event is delivered, with the same id.
    receiver
        .control("script", json!({"responses": ["hang"]}))
        .await;
    let second = f.issue("second@example.com", 40).await;
    let got = receiver
        .wait("second onchain attempted", |g| {
            of_type(g, "credential.onchain")
                .iter()
                .any(|d| d["body"]["data"]["coreClaimHash"] == second.as_str())
        })
        .await;
    let second_event = of_type(&got, "credential.onchain")
        .into_iter()
        .find(|d| d["body"]["data"]["coreClaimHash"] == second.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    f.restart();
    let got = receiver
        .wait("delivered after kill -9", |g| {
            answered_ok(g, &second_event) == 1
        })
        .await;
    let same: Vec<&Value> = got
        .iter()
        .filter(|d| d["id"] == second_event.as_str())
        .collect();
    assert!(same.len() >= 2, "{same:#?}");
    assert!(same.iter().all(|d| d["verified"] == json!([true, true])));
    // The killed process never recorded its attempt: the one on record is the restarted
    // process's, which delivered.
    let listed = wait_delivery(&f, &endpoint, &second_event, "DELIVERED").await;
    assert_eq!(
        listed["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["statusCode"].clone())
            .collect::<Vec<_>>(),
        vec![json!(200)],
        "{listed:#}"
    );

    // A dead letter: the receiver fails every attempt of the revocation's event until the
    // retry window (4 s here) has passed.
    receiver
        .control("script", json!({"responses": vec!["500"; 500]}))
        .await;
    f.server().admin_ok(&["credential", "revoke", &hash]);
    let got = receiver
        .wait("revocation attempted", |g| {
            !of_type(g, "credential.revocation_requested").is_empty()
        })
        .await;
    let revocation = of_type(&got, "credential.revocation_requested")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dead = wait_delivery(&f, &endpoint, &revocation, "DEAD").await;
    assert!(dead["attempts"].as_array().unwrap().len() >= 2, "{dead:#}");
    let metrics = f.server().get_text("/metrics").await;
    assert!(
        metrics.contains("claimd_webhook_dead_letters_total"),
        "dead letters counted"
    );
    assert!(metrics.contains("claimd_webhook_deliveries_total{outcome=\"delivered\"}"));

    // The link-local endpoint: every attempt refused by the address policy, nothing sent.
    let refused_delivery = wait_delivery_any(&f, &refused).await;
    assert!(
        refused_delivery["attempts"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not allowed")),
        "{refused_delivery:#}"
    );
}

/// The first delivery of an endpoint that has an attempt.
async fn wait_delivery_any(f: &Fixture, endpoint: &str) -> Value {
    let start = Instant::now();
    loop {
        let listed = f
            .server()
            .admin_ok(&["webhook", "deliveries", &f.partner, endpoint]);
        if let Some(d) = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| !d["attempts"].as_array().unwrap().is_empty())
        {
            return d.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no attempt within 60 s: {listed:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

claimd_testkit::on_each_backend!(scenario);
