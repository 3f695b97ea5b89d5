//! Configuration, layered: compiled defaults → `claimd.toml` → `CLAIMD_*` environment → flags.
//!
//! clap reads each flag's `CLAIMD_*` variable itself (flag wins over variable), so the layering
//! here is "file, then whatever clap found". Secrets (admin token, master key) have no flags —
//! flags show up in `ps` — only variables, `*_FILE` variables and file settings. Everything is
//! validated here, at start, with messages that say what to change.

use anyhow::{bail, Context, Result};
use claimd_core::secrets::MasterKey;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Options shared by every subcommand that opens the database.
#[derive(clap::Args, Clone, Default)]
pub struct CommonArgs {
    /// Configuration file (default: ./claimd.toml when it exists).
    #[arg(long, env = "CLAIMD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where the embedded database, embedded chain and dev key files live.
    #[arg(long, env = "CLAIMD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` (default: claimd.db in the data dir) or `postgres://…`.
    #[arg(long, env = "CLAIMD_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Dev mode: generated secrets in the data dir, http JWKS on loopback allowed.
    #[arg(long, env = "CLAIMD_DEV", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub dev: Option<bool>,
    /// Log JSON lines instead of human-readable text.
    #[arg(long, env = "CLAIMD_LOG_JSON", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub log_json: Option<bool>,
}

/// Options of `claimd serve`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// address:port of the HTTP server (port 0 picks a free one and logs it).
    #[arg(long, env = "CLAIMD_LISTEN")]
    pub listen: Option<String>,
    /// External base URL written into credentials and schema URLs (default http://<listen>).
    #[arg(long, env = "CLAIMD_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub chain: ChainArgs,
    /// address:port for `/readyz` and `/metrics` on an operator network; when set they leave
    /// the public listener.
    #[arg(long, env = "CLAIMD_OPS_LISTEN")]
    pub ops_listen: Option<String>,
    /// Run only the API; publishing is left to `claimd publisher` processes.
    #[arg(long, env = "CLAIMD_NO_PUBLISHER")]
    pub no_publisher: bool,
}

/// Where credentials are published (`claimd serve` and `claimd publisher`).
#[derive(clap::Args, Clone, Default)]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain; absent → the embedded chain.
    #[arg(long, env = "CLAIMD_CHAIN_RPC_URL")]
    pub chain_rpc_url: Option<String>,
    /// Address of the IdentityState contract on the JSON-RPC chain (dev mode deploys one when
    /// absent).
    #[arg(long, env = "CLAIMD_CHAIN_CONTRACT")]
    pub chain_contract: Option<String>,
    /// Chain id of the embedded chain (default 222888, the id of `did:air:id:test`).
    #[arg(long, env = "CLAIMD_CHAIN_ID")]
    pub chain_id: Option<u64>,
    /// When a transition counts on a JSON-RPC chain: `finalized` (default: at or below the
    /// chain's finalized block, or by confirmations alone where the chain has no such tag)
    /// or `depth` (confirmations alone).
    #[arg(long, env = "CLAIMD_CHAIN_FINALITY")]
    pub chain_finality: Option<String>,
}

/// The `claimd.toml` file; every key is optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    admin_token: Option<String>,
    admin_token_file: Option<PathBuf>,
    master_key: Option<String>,
    master_key_file: Option<PathBuf>,
    public_url: Option<String>,
    chain_rpc_url: Option<String>,
    chain_contract: Option<String>,
    chain_id: Option<u64>,
    /// Blocks after inclusion before a transition counts as confirmed (JSON-RPC chains).
    chain_confirmations: Option<u64>,
    /// `finalized` or `depth`: whether the chain's finalized block must also have reached the
    /// transition (JSON-RPC chains).
    chain_finality: Option<String>,
    /// A block explorer's transaction page, `{txHash}` where the hash goes: the dashboard
    /// links transaction hashes to it (`CLAIMD_CHAIN_EXPLORER_TX_URL`).
    chain_explorer_tx_url: Option<String>,
    /// Most claims (and most revocations) in one state transition.
    publish_batch_cap: Option<u32>,
    /// Most bulk issuance rows issued per second by this instance (0: no limit).
    bulk_rows_per_second: Option<u32>,
    /// Seconds a transition's transaction may stay unmined before it is replaced with higher
    /// fees.
    publish_replace_after_secs: Option<u64>,
    /// Ceiling of maxFeePerGas, in gwei, for transitions and their replacements.
    chain_max_fee_per_gas_gwei: Option<u64>,
    /// Longest accepted Partner JWT lifetime (`exp - iat`, or `exp - now` without `iat`).
    auth_max_token_lifetime_secs: Option<u64>,
    /// Most partners whose JWKS keys are kept in memory (least recently used evicted).
    auth_key_cache_size: Option<usize>,
    dev: Option<bool>,
    log_json: Option<bool>,
    max_body_bytes: Option<usize>,
    dashboard_session_secs: Option<u64>,
    ops_listen: Option<String>,
    /// Seconds a client has to send a request's headers (slow-loris defence).
    http_header_read_timeout_secs: Option<u64>,
    /// Seconds a request may take, body included.
    http_request_timeout_secs: Option<u64>,
    http_max_connections: Option<usize>,
    http_max_concurrent_requests: Option<usize>,
    /// Requests per second per client IP (0: unlimited), and the burst above it.
    rate_limit_ip_per_sec: Option<f64>,
    rate_limit_ip_burst: Option<f64>,
    rate_limit_verify_ip_per_sec: Option<f64>,
    rate_limit_verify_ip_burst: Option<f64>,
    /// Requests per second per partner (0: unlimited), and the burst above it.
    rate_limit_partner_per_sec: Option<f64>,
    rate_limit_partner_burst: Option<f64>,
    database_max_connections: Option<u32>,
    did_method: Option<String>,
    did_blockchain: Option<String>,
    did_network: Option<String>,
    /// `[verify]`: the public verification endpoint's work limits and budgets.
    verify: Option<VerifyFile>,
    /// `[webhooks]`: the delivery worker's timeout, retries and concurrency.
    webhooks: Option<WebhooksFile>,
}

/// `[webhooks]` in `claimd.toml`; every key optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksFile {
    /// Run the delivery worker in `claimd serve` (default true).
    enabled: Option<bool>,
    /// One attempt's timeout (default 10000).
    timeout_ms: Option<u64>,
    /// The first retry's delay before jitter (default 5000); it doubles up to `max_delay_ms`.
    retry_initial_ms: Option<u64>,
    /// Longest delay between attempts (default 3600000).
    retry_max_delay_ms: Option<u64>,
    /// How long a failing delivery is retried before it is dead (default 86400).
    retry_window_secs: Option<u64>,
    /// Pause between polls when nothing is due (default 500).
    poll_interval_ms: Option<u64>,
    /// Attempts in flight per endpoint (default 4).
    per_endpoint: Option<u32>,
    /// Attempts in flight per process (default 64).
    max_in_flight: Option<u32>,
    /// How long a leased delivery stays one process's (default 60000; more than
    /// `timeout_ms`): after a crash, its deliveries are attempted again once it passes.
    lease_ttl_ms: Option<u64>,
}

/// The delivery worker's settings (`[webhooks]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub enabled: bool,
    pub timeout: std::time::Duration,
    pub retry: claimd_core::webhook::RetryPolicy,
    pub poll_interval: std::time::Duration,
    pub per_endpoint: u32,
    pub max_in_flight: u32,
    pub lease_ttl: std::time::Duration,
}

impl WebhooksFile {
    fn settings(self) -> Result<WebhookSettings> {
        use std::time::Duration;
        let d = claimd_core::webhook::RetryPolicy::default();
        let positive = |v: Option<u64>, name: &str, default: u64| -> Result<u64> {
            match v {
                Some(0) => bail!("[webhooks] {name} must be at least 1"),
                v => Ok(v.unwrap_or(default)),
            }
        };
        let timeout = positive(self.timeout_ms, "timeout_ms", 10_000)?;
        if timeout > 60_000 {
            bail!("[webhooks] timeout_ms must be at most 60000");
        }
        let lease = positive(self.lease_ttl_ms, "lease_ttl_ms", 60_000)?;
        if lease <= timeout {
            bail!("[webhooks] lease_ttl_ms must be more than timeout_ms");
        }
        Ok(WebhookSettings {
            enabled: self.enabled.unwrap_or(true),
            timeout: Duration::from_millis(timeout),
            retry: claimd_core::webhook::RetryPolicy {
                initial: Duration::from_millis(positive(
                    self.retry_initial_ms,
                    "retry_initial_ms",
                    d.initial.as_millis() as u64,
                )?),
                max_delay: Duration::from_millis(positive(
                    self.retry_max_delay_ms,
                    "retry_max_delay_ms",
                    d.max_delay.as_millis() as u64,
                )?),
                give_up_after: Duration::from_secs(positive(
                    self.retry_window_secs,
                    "retry_window_secs",
                    d.give_up_after.as_secs(),
                )?),
            },
            poll_interval: Duration::from_millis(positive(
                self.poll_interval_ms,
                "poll_interval_ms",
                500,
            )?),
            per_endpoint: positive(self.per_endpoint.map(u64::from), "per_endpoint", 4)? as u32,
            max_in_flight: positive(self.max_in_flight.map(u64::from), "max_in_flight", 64)? as u32,
            lease_ttl: Duration::from_millis(lease),
        })
    }
}

/// `[verify]` in `claimd.toml`; every key optional (defaults in [`VerifySettings::default`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyFile {
    max_depth: Option<usize>,
    max_values: Option<usize>,
    max_blank_nodes: Option<usize>,
    max_proofs: Option<usize>,
    max_statements: Option<usize>,
    max_rdf_blank_nodes: Option<usize>,
    max_normalization_work: Option<u64>,
    concurrency: Option<usize>,
    queue_wait_ms: Option<u64>,
    deadline_ms: Option<u64>,
    chain_cache_ttl_ms: Option<u64>,
    chain_concurrency: Option<usize>,
    chain_wait_ms: Option<u64>,
}

/// What bounds `POST /v1/credentials/verify`: the body's limits (core), the merklizer's
/// canonicalisation limits, the pool verifications run in, and verification's chain budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifySettings {
    pub limits: claimd_core::verify::VerifyLimits,
    pub canon: claimd_merklize::CanonLimits,
    pub pool: claimd_api::VerifyPoolConfig,
    pub chain: crate::chain_states::ChainBudget,
}

impl VerifyFile {
    fn settings(self) -> Result<VerifySettings> {
        let d = VerifySettings::default();
        let at_least =
            |name: &str, v: Option<usize>, min: usize, default: usize| -> Result<usize> {
                match v {
                    Some(v) if v < min => bail!("[verify] {name} must be at least {min}"),
                    v => Ok(v.unwrap_or(default)),
                }
            };
        let millis = |name: &str,
                      v: Option<u64>,
                      default: std::time::Duration|
         -> Result<std::time::Duration> {
            match v {
                Some(0) => bail!("[verify] {name} must be at least 1"),
                v => Ok(v.map_or(default, std::time::Duration::from_millis)),
            }
        };
        Ok(VerifySettings {
            limits: claimd_core::verify::VerifyLimits {
                // A credential with its proofs nests 6 deep.
                max_depth: at_least("max_depth", self.max_depth, 8, d.limits.max_depth)?,
                max_values: at_least("max_values", self.max_values, 64, d.limits.max_values)?,
                max_blank_nodes: at_least(
                    "max_blank_nodes",
                    self.max_blank_nodes,
                    0,
                    d.limits.max_blank_nodes,
                )?,
                max_proofs: at_least("max_proofs", self.max_proofs, 1, d.limits.max_proofs)?,
            },
            canon: claimd_merklize::CanonLimits {
                max_statements: at_least(
                    "max_statements",
                    self.max_statements,
                    16,
                    d.canon.max_statements,
                )?,
                max_blank_nodes: at_least(
                    "max_rdf_blank_nodes",
                    self.max_rdf_blank_nodes,
                    0,
                    d.canon.max_blank_nodes,
                )?,
                max_work: self.max_normalization_work.unwrap_or(d.canon.max_work),
            },
            pool: claimd_api::VerifyPoolConfig {
                concurrency: at_least("concurrency", self.concurrency, 1, d.pool.concurrency)?,
                queue_wait: self
                    .queue_wait_ms
                    .map_or(d.pool.queue_wait, std::time::Duration::from_millis),
                deadline: millis("deadline_ms", self.deadline_ms, d.pool.deadline)?,
                retry_after_secs: d.pool.retry_after_secs,
            },
            chain: crate::chain_states::ChainBudget {
                cache_ttl: self
                    .chain_cache_ttl_ms
                    .map_or(d.chain.cache_ttl, std::time::Duration::from_millis),
                concurrency: at_least(
                    "chain_concurrency",
                    self.chain_concurrency,
                    1,
                    d.chain.concurrency,
                )?,
                wait: millis("chain_wait_ms", self.chain_wait_ms, d.chain.wait)?,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(String),
    Postgres(String),
}

/// The validated configuration.
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database: Database,
    pub database_max_connections: u32,
    pub admin_token: String,
    pub master_key: MasterKey,
    pub public_url: Option<String>,
    pub chain_rpc_url: Option<String>,
    pub chain_contract: Option<String>,
    pub chain_id: u64,
    pub chain_confirmations: u64,
    /// Whether a transition must also be at or below the chain's finalized block (JSON-RPC
    /// chains; the embedded chain is final at once).
    pub chain_finality: claimd_publisher::Finality,
    /// Where the dashboard links transaction hashes (none: plain text).
    pub chain_explorer_tx_url: Option<claimd_api::dashboard::explorer::TxExplorer>,
    pub publish_batch_cap: u32,
    /// The bulk runner's pace (`claimd_core::bulk::runner::RunnerConfig::rows_per_second`).
    pub bulk_rows_per_second: u32,
    /// `None`: the publisher's default.
    pub publish_replace_after: Option<std::time::Duration>,
    /// In wei; `None`: the publisher's default.
    pub chain_max_fee_per_gas: Option<u128>,
    pub dev: bool,
    pub log_json: bool,
    pub max_body_bytes: usize,
    /// How long a dashboard session lasts from sign-in.
    pub dashboard_session: std::time::Duration,
    /// Where `/readyz` and `/metrics` are served instead of the public listener.
    pub ops_listen: Option<String>,
    pub http_limits: claimd_api::limits::HttpLimits,
    /// Longest accepted Partner JWT lifetime (default 5 minutes).
    pub auth_max_token_lifetime: std::time::Duration,
    /// Most partners with cached JWKS keys (default 1000).
    pub auth_key_cache_size: usize,
    pub did: claimd_core::identity::DidSettings,
    pub no_publisher: bool,
    pub verify: VerifySettings,
    pub webhooks: WebhookSettings,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are left out on purpose.
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database.kind())
            .field("public_url", &self.public_url)
            .field(
                "chain_rpc_url",
                &self.chain_rpc_url.as_deref().map(url_origin),
            )
            .field("dev", &self.dev)
            .finish_non_exhaustive()
    }
}

// The command-line and file configuration print without their secrets: URLs show their origin
// only, tokens and keys whether they are set.
impl std::fmt::Debug for CommonArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonArgs")
            .field("config", &self.config)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(url_origin),
            )
            .field("dev", &self.dev)
            .field("log_json", &self.log_json)
            .finish()
    }
}

impl std::fmt::Debug for ChainArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainArgs")
            .field(
                "chain_rpc_url",
                &self.chain_rpc_url.as_deref().map(url_origin),
            )
            .field("chain_contract", &self.chain_contract)
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

/// The scheme, host and port of a URL, nothing else: RPC providers put API keys in the path,
/// the query or the user info, and a URL printed for diagnosis must not carry them.
fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}")
}

impl Database {
    pub fn kind(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }
}

/// Reads the environment through a function so tests can supply their own.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Which secrets a command needs: `serve` needs both, `migrate` neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Database,
    Everything,
}

pub fn load(common: &CommonArgs, serve: &ServeArgs, needs: Needs, env: Env) -> Result<Settings> {
    let file = read_file(common.config.as_deref())?;
    let http_limits = http_limits(&file)?;
    let dev = common.dev.or(file.dev).unwrap_or(false);
    let data_dir = common
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("data"));
    let database_url = common.database_url.clone().or(file.database_url);
    let database = match database_url {
        None => Database::Sqlite(format!("sqlite://{}", data_dir.join("claimd.db").display())),
        Some(url) if url.starts_with("sqlite:") => Database::Sqlite(url),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Database::Postgres(url)
        }
        Some(url) => bail!(
            "CLAIMD_DATABASE_URL must start with sqlite:// or postgres:// (got {:?})",
            url.split(':').next().unwrap_or("")
        ),
    };
    let listen = serve
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen_addr = listen.parse::<SocketAddr>().with_context(|| {
        format!("CLAIMD_LISTEN must be address:port, e.g. 127.0.0.1:8080 (got {listen:?})")
    })?;
    // Dev mode allows http JWKS on loopback and keeps generated secrets beside the data: it
    // must not be reachable from a network.
    if dev && !listen_addr.ip().is_loopback() {
        bail!("dev mode listens on loopback only (got CLAIMD_LISTEN {listen}); drop --dev to serve on a network");
    }
    let ops_listen = serve.ops_listen.clone().or(file.ops_listen.clone());
    if let Some(o) = &ops_listen {
        let a = o.parse::<SocketAddr>().with_context(|| {
            format!("CLAIMD_OPS_LISTEN must be address:port, e.g. 10.0.0.5:9090 (got {o:?})")
        })?;
        if dev && !a.ip().is_loopback() {
            bail!("dev mode listens on loopback only (got CLAIMD_OPS_LISTEN {o})");
        }
    }
    let public_url = serve.public_url.clone().or(file.public_url);
    if let Some(u) = &public_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            bail!("CLAIMD_PUBLIC_URL must be an http:// or https:// URL (got {u:?})");
        }
    }
    let chain_rpc_url = serve.chain.chain_rpc_url.clone().or(file.chain_rpc_url);
    let chain_finality = match serve.chain.chain_finality.clone().or(file.chain_finality) {
        Some(f) => f
            .trim()
            .parse::<claimd_publisher::Finality>()
            .map_err(|e| anyhow::anyhow!("chain_finality (CLAIMD_CHAIN_FINALITY): {e}"))?,
        None => claimd_publisher::Finality::default(),
    };
    let chain_explorer_tx_url = match env("CLAIMD_CHAIN_EXPLORER_TX_URL")
        .filter(|v| !v.trim().is_empty())
        .or(file.chain_explorer_tx_url)
    {
        Some(t) => Some(
            claimd_api::dashboard::explorer::TxExplorer::parse(&t).map_err(|e| {
                anyhow::anyhow!("chain_explorer_tx_url (CLAIMD_CHAIN_EXPLORER_TX_URL) {e}")
            })?,
        ),
        None => None,
    };
    let dashboard_session_secs = file.dashboard_session_secs.unwrap_or(8 * 3600);
    if !(10..=7 * 24 * 3600).contains(&dashboard_session_secs) {
        bail!("dashboard_session_secs must be between 10 and 604800");
    }
    let max_body_bytes = file.max_body_bytes.unwrap_or(64 * 1024);
    if !(1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
        bail!("max_body_bytes must be between 1024 and 16777216");
    }

    let auth_max_token_lifetime_secs = env_or_file(
        env,
        ("CLAIMD_AUTH_MAX_TOKEN_LIFETIME_SECS", "seconds"),
        (
            "auth_max_token_lifetime_secs",
            file.auth_max_token_lifetime_secs,
        ),
        300,
        1..=86_400,
    )?;
    let auth_key_cache_size = env_or_file(
        env,
        ("CLAIMD_AUTH_KEY_CACHE_SIZE", "partners"),
        ("auth_key_cache_size", file.auth_key_cache_size),
        1000,
        1..=1_000_000,
    )?;

    let (admin_token, master_key) = if needs == Needs::Everything {
        let token = secret(
            "CLAIMD_ADMIN_TOKEN",
            file.admin_token,
            file.admin_token_file,
            dev,
            env,
        )?;
        let token = match token {
            Some(t) => t,
            None if dev => dev_secret(&data_dir, "admin-token", random_token)?,
            None => bail!(
                "no admin token: set CLAIMD_ADMIN_TOKEN (or CLAIMD_ADMIN_TOKEN_FILE, or admin_token in claimd.toml), or run with --dev to generate one"
            ),
        };
        if token.len() < 16 {
            bail!("the admin token must be at least 16 characters");
        }
        let key = secret(
            "CLAIMD_MASTER_KEY",
            file.master_key,
            file.master_key_file,
            dev,
            env,
        )?;
        let key = match key {
            Some(k) => k,
            None if dev => dev_secret(&data_dir, "master.key", || {
                MasterKey::generate().to_hex().to_string()
            })?,
            None => bail!(
                "no master key: set CLAIMD_MASTER_KEY (64 hex digits) or CLAIMD_MASTER_KEY_FILE, or run with --dev to generate one"
            ),
        };
        let key = MasterKey::from_hex(&key)
            .context("CLAIMD_MASTER_KEY must be 64 hex digits (32 bytes)")?;
        (token, key)
    } else {
        (String::new(), MasterKey::generate())
    };

    let defaults = claimd_core::identity::DidSettings::default();
    Ok(Settings {
        listen,
        data_dir,
        database,
        database_max_connections: file.database_max_connections.unwrap_or(16),
        admin_token,
        master_key,
        public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
        chain_rpc_url,
        chain_contract: serve.chain.chain_contract.clone().or(file.chain_contract),
        chain_id: serve.chain.chain_id.or(file.chain_id).unwrap_or(222_888),
        chain_confirmations: file.chain_confirmations.unwrap_or(1),
        chain_finality,
        chain_explorer_tx_url,
        publish_batch_cap: file.publish_batch_cap.unwrap_or(1000).max(1),
        bulk_rows_per_second: file.bulk_rows_per_second.unwrap_or(200),
        publish_replace_after: match file.publish_replace_after_secs {
            Some(0) => bail!("publish_replace_after_secs must be at least 1"),
            s => s.map(std::time::Duration::from_secs),
        },
        chain_max_fee_per_gas: match file.chain_max_fee_per_gas_gwei {
            Some(0) => bail!("chain_max_fee_per_gas_gwei must be at least 1"),
            g => g.map(|g| u128::from(g) * claimd_publisher::GWEI),
        },
        dev,
        log_json: common.log_json.or(file.log_json).unwrap_or(false),
        max_body_bytes,
        dashboard_session: std::time::Duration::from_secs(dashboard_session_secs),
        ops_listen,
        http_limits,
        auth_max_token_lifetime: std::time::Duration::from_secs(auth_max_token_lifetime_secs),
        auth_key_cache_size,
        did: claimd_core::identity::DidSettings {
            method: file.did_method.unwrap_or(defaults.method),
            blockchain: file.did_blockchain.unwrap_or(defaults.blockchain),
            network: file.did_network.unwrap_or(defaults.network),
        },
        no_publisher: serve.no_publisher,
        verify: file.verify.unwrap_or_default().settings()?,
        webhooks: file.webhooks.unwrap_or_default().settings()?,
    })
}

/// A number from the environment variable `var` (counting `unit`s), else from the file's
/// `key`, else `default`; outside `range` it is refused.
fn env_or_file<T>(
    env: Env,
    (var, unit): (&str, &str),
    (key, from_file): (&str, Option<T>),
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let value = match env(var) {
        Some(v) => Some(
            v.trim()
                .parse::<T>()
                .with_context(|| format!("{var} must be a number of {unit} (got {v:?})"))?,
        ),
        None => from_file,
    }
    .unwrap_or(default);
    if !range.contains(&value) {
        bail!(
            "{key} ({var}) must be between {} and {}",
            range.start(),
            range.end()
        );
    }
    Ok(value)
}

fn read_file(explicit: Option<&Path>) -> Result<FileConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if Path::new("claimd.toml").exists() => PathBuf::from("claimd.toml"),
        None => return Ok(FileConfig::default()),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn http_limits(file: &FileConfig) -> Result<claimd_api::limits::HttpLimits> {
    use claimd_api::limits::{HttpLimits, Rate};
    let d = HttpLimits::default();
    let secs = |name: &str, v: Option<u64>, default: std::time::Duration| match v {
        Some(0) => bail!("{name} must be at least 1"),
        Some(s) => Ok(std::time::Duration::from_secs(s)),
        None => Ok(default),
    };
    let count = |name: &str, v: Option<usize>, default: usize| match v {
        Some(0) => bail!("{name} must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let rate = |name: &str, per_sec: Option<f64>, burst: Option<f64>, default: Option<Rate>| {
        let per_second = match (per_sec, default) {
            (Some(r), _) if !(r.is_finite() && r >= 0.0) => {
                bail!("{name}_per_sec must be a number ≥ 0 (0: unlimited)")
            }
            (Some(0.0), _) => return Ok(None),
            (Some(r), _) => r,
            (None, Some(d)) => d.per_second,
            (None, None) => return Ok(None),
        };
        let burst = burst.unwrap_or((per_second * 2.0).max(1.0));
        if !(burst.is_finite() && burst >= 1.0) {
            bail!("{name}_burst must be a number ≥ 1");
        }
        Ok(Some(Rate { per_second, burst }))
    };
    Ok(HttpLimits {
        header_read_timeout: secs(
            "http_header_read_timeout_secs",
            file.http_header_read_timeout_secs,
            d.header_read_timeout,
        )?,
        request_timeout: secs(
            "http_request_timeout_secs",
            file.http_request_timeout_secs,
            d.request_timeout,
        )?,
        max_connections: count(
            "http_max_connections",
            file.http_max_connections,
            d.max_connections,
        )?,
        max_concurrent_requests: count(
            "http_max_concurrent_requests",
            file.http_max_concurrent_requests,
            d.max_concurrent_requests,
        )?,
        per_ip: rate(
            "rate_limit_ip",
            file.rate_limit_ip_per_sec,
            file.rate_limit_ip_burst,
            d.per_ip,
        )?,
        per_partner: rate(
            "rate_limit_partner",
            file.rate_limit_partner_per_sec,
            file.rate_limit_partner_burst,
            d.per_partner,
        )?,
        verify_per_ip: rate(
            "rate_limit_verify_ip",
            file.rate_limit_verify_ip_per_sec,
            file.rate_limit_verify_ip_burst,
            d.verify_per_ip,
        )?,
        max_tracked_keys: d.max_tracked_keys,
    })
}

/// A secret from `NAME`, then `NAME_FILE`, then the config file's value or file. A secret file
/// others can read is refused outside dev mode (and warned about in it): the secret would be
/// only as safe as every account on the machine.
fn secret(
    name: &str,
    file_value: Option<String>,
    file_path: Option<PathBuf>,
    dev: bool,
    env: Env,
) -> Result<Option<String>> {
    if let Some(v) = env(name) {
        return Ok(Some(v.trim().to_owned()));
    }
    let path = env(&format!("{name}_FILE"))
        .map(PathBuf::from)
        .or(file_path);
    if let Some(p) = path {
        check_private(name, &p, dev)?;
        let v = std::fs::read_to_string(&p)
            .with_context(|| format!("cannot read {name} from {}", p.display()))?;
        return Ok(Some(v.trim().to_owned()));
    }
    Ok(file_value.map(|v| v.trim().to_owned()))
}

/// Refuses (or, in dev mode, warns about) a secret file readable by group or others.
fn check_private(name: &str, path: &Path, dev: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read {name} from {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let msg = format!(
                "{name} file {} is readable by group or others (mode {mode:o}); chmod 600 it",
                path.display()
            );
            if !dev {
                bail!(msg);
            }
            tracing::warn!("{msg}");
        }
    }
    let _ = (name, path, dev);
    Ok(())
}

/// Creates the data directory (or tightens an existing one) with mode 0700: it holds the
/// database, the embedded chain and, in dev mode, the secrets.
pub fn private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot chmod 700 the data dir {}", dir.display()))?;
        }
    }
    Ok(())
}

/// Makes `path` exist with mode 0600 (creating it empty, or tightening it), so that files
/// SQLite derives from it (`-wal`, `-shm`, which take its mode) are private too.
pub fn private_file(path: &Path) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        opts.open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode != 0o600 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot chmod 600 {}", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    opts.open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

/// Dev mode: a secret kept in a 0600 file in the data dir, generated on first start.
fn dev_secret(data_dir: &Path, file: &str, generate: impl FnOnce() -> String) -> Result<String> {
    let path = data_dir.join(file);
    if let Ok(v) = std::fs::read_to_string(&path) {
        return Ok(v.trim().to_owned());
    }
    private_dir(data_dir)?;
    let value = generate();
    write_private(&path, &value)?;
    if file == "admin-token" {
        // Printed once, on generation, so the operator can use the admin API.
        eprintln!(
            "dev mode: generated admin token (also in {}):\n  {value}",
            path.display()
        );
    } else {
        tracing::warn!(path = %path.display(), "dev mode: generated a master key file; keep it safe, it decrypts every issuer key");
    }
    Ok(value)
}

fn write_private(path: &Path, value: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(value.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// A `claimd.toml` in a fresh directory, loaded for the database only.
    struct ConfigFile {
        _dir: tempfile::TempDir,
        common: CommonArgs,
    }

    impl ConfigFile {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let common = CommonArgs {
                config: Some(dir.path().join("claimd.toml")),
                ..Default::default()
            };
            ConfigFile { _dir: dir, common }
        }

        /// Writes `text` as the file and loads it with `serve`'s flags and `env`.
        fn load(&self, text: &str, serve: &ServeArgs, env: Env) -> Result<Settings> {
            std::fs::write(self.common.config.as_ref().unwrap(), text).unwrap();
            load(&self.common, serve, Needs::Database, env)
        }
    }

    #[test]
    fn production_requires_secrets_with_actionable_messages() {
        let e = load(
            &CommonArgs::default(),
            &ServeArgs::default(),
            Needs::Everything,
            &no_env,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("CLAIMD_ADMIN_TOKEN"), "{e}");
    }

    #[test]
    fn dev_mode_generates_private_secret_files_once() {
        let dir = tempfile::tempdir().unwrap();
        let common = CommonArgs {
            data_dir: Some(dir.path().to_path_buf()),
            dev: Some(true),
            ..Default::default()
        };
        let a = load(&common, &ServeArgs::default(), Needs::Everything, &no_env).unwrap();
        let b = load(&common, &ServeArgs::default(), Needs::Everything, &no_env).unwrap();
        assert_eq!(a.admin_token, b.admin_token);
        assert_eq!(a.master_key.to_hex(), b.master_key.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(a.database, Database::Sqlite(ref u) if u.ends_with("claimd.db")));
    }

    #[test]
    fn layering_and_validation() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("claimd.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nadmin_token = \"file-token-0123456789\"\nmaster_key = \"00000000000000000000000000000000000000000000000000000000000000aa\"\n",
        )
        .unwrap();
        let common = CommonArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let env = |n: &str| (n == "CLAIMD_ADMIN_TOKEN").then(|| "env-token-0123456789".to_owned());
        let s = load(&common, &ServeArgs::default(), Needs::Everything, &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9000", "file overrides default");
        assert_eq!(s.admin_token, "env-token-0123456789", "env overrides file");
        let flags = ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        };
        let s = load(&common, &flags, Needs::Everything, &env).unwrap();
        assert_eq!(s.listen, "127.0.0.1:0", "flag overrides file");

        // Debug output carries no secret: tokens, keys, the database URL's password, the RPC
        // URL's path, query or user info.
        let with_urls = CommonArgs {
            database_url: Some("postgres://app:dbpassword@db.example/claimd".into()),
            ..common.clone()
        };
        let chain = ServeArgs {
            chain: ChainArgs {
                chain_rpc_url: Some("https://u:pw@rpc.example/v2/SECRETKEY?k=z".into()),
                chain_contract: Some(format!("0x{}", "ab".repeat(20))),
                ..Default::default()
            },
            ..Default::default()
        };
        let s = load(&with_urls, &chain, Needs::Everything, &env).unwrap();
        let shown = format!("{s:?}");
        for secret in [
            "env-token",
            "SECRETKEY",
            "pw@",
            "dbpassword",
            "0000000000aa",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("https://rpc.example"), "{shown}");
        let args = format!("{with_urls:?} {:?}", chain.chain);
        for secret in ["SECRETKEY", "pw@", "dbpassword"] {
            assert!(!args.contains(secret), "{secret} in {args}");
        }

        let bad = CommonArgs {
            database_url: Some("mysql://x".into()),
            ..common.clone()
        };
        let e = load(&bad, &ServeArgs::default(), Needs::Database, &no_env)
            .err()
            .unwrap();
        assert!(e.to_string().contains("sqlite:// or postgres://"), "{e}");
        let bad_listen = ServeArgs {
            listen: Some("nope".into()),
            ..Default::default()
        };
        let e = load(&common, &bad_listen, Needs::Database, &no_env)
            .err()
            .unwrap();
        assert!(e.to_string().contains("CLAIMD_LISTEN"), "{e}");
        std::fs::write(&file, "listne = 1\n").unwrap();
        let e = load(&common, &ServeArgs::default(), Needs::Database, &no_env)
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("listne"), "{e:#}");
    }

    #[test]
    fn debug_never_shows_rpc_credentials() {
        assert_eq!(
            url_origin("https://user:pw@rpc.example:8545/v2/SECRETKEY?key=x"),
            "https://rpc.example:8545"
        );
        assert_eq!(url_origin("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            url_origin("https://rpc.example?apikey=1"),
            "https://rpc.example"
        );
    }

    #[test]
    fn verify_limits_have_safe_defaults_and_can_be_set() {
        let config = ConfigFile::new();
        let load_file = |text: &str| config.load(text, &ServeArgs::default(), &no_env);
        let s = load_file("").unwrap();
        assert_eq!(s.verify, VerifySettings::default());
        assert_eq!(s.verify.limits, claimd_core::verify::VerifyLimits::DEFAULT);
        assert_eq!(s.verify.canon, claimd_merklize::CanonLimits::DEFAULT);
        assert!(s.verify.pool.concurrency >= 1);
        let s = load_file(
            "[verify]\nmax_depth = 10\nmax_proofs = 2\nmax_normalization_work = 1000\n\
             concurrency = 3\ndeadline_ms = 2500\nchain_cache_ttl_ms = 100\nchain_concurrency = 2\n",
        )
        .unwrap();
        assert_eq!(s.verify.limits.max_depth, 10);
        assert_eq!(s.verify.limits.max_proofs, 2);
        assert_eq!(
            s.verify.limits.max_values, 4096,
            "unset keys keep their defaults"
        );
        assert_eq!(s.verify.canon.max_work, 1000);
        assert_eq!(s.verify.pool.concurrency, 3);
        assert_eq!(
            s.verify.pool.deadline,
            std::time::Duration::from_millis(2500)
        );
        assert_eq!(
            s.verify.chain.cache_ttl,
            std::time::Duration::from_millis(100)
        );
        assert_eq!(s.verify.chain.concurrency, 2);
        for (bad, says) in [
            ("[verify]\nmax_depth = 2\n", "max_depth must be at least 8"),
            (
                "[verify]\nmax_proofs = 0\n",
                "max_proofs must be at least 1",
            ),
            (
                "[verify]\nconcurrency = 0\n",
                "concurrency must be at least 1",
            ),
            (
                "[verify]\ndeadline_ms = 0\n",
                "deadline_ms must be at least 1",
            ),
        ] {
            let e = load_file(bad).err().unwrap();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        let e = load_file("[verify]\nmax_dpeth = 3\n").err().unwrap();
        assert!(format!("{e:#}").contains("max_dpeth"), "{e:#}");
    }

    #[test]
    fn publisher_fee_settings() {
        let config = ConfigFile::new();
        let load_file = |text: &str| config.load(text, &ServeArgs::default(), &no_env);
        let s = load_file("").unwrap();
        assert_eq!(
            (s.publish_replace_after, s.chain_max_fee_per_gas),
            (None, None)
        );
        let s =
            load_file("publish_replace_after_secs = 5\nchain_max_fee_per_gas_gwei = 50\n").unwrap();
        assert_eq!(
            s.publish_replace_after,
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(s.chain_max_fee_per_gas, Some(50_000_000_000));
        for bad in [
            "publish_replace_after_secs = 0\n",
            "chain_max_fee_per_gas_gwei = 0\n",
        ] {
            let e = load_file(bad).err().unwrap();
            assert!(e.to_string().contains("at least 1"), "{e}");
        }
    }

    #[test]
    fn chain_finality_from_file_and_flag() {
        let config = ConfigFile::new();
        let load_with = |text: &str, flag: Option<&str>| {
            let serve = ServeArgs {
                chain: ChainArgs {
                    chain_finality: flag.map(str::to_owned),
                    ..Default::default()
                },
                ..Default::default()
            };
            config.load(text, &serve, &no_env)
        };
        use claimd_publisher::Finality;
        assert_eq!(
            load_with("", None).unwrap().chain_finality,
            Finality::Finalized
        );
        assert_eq!(
            load_with("chain_finality = \"depth\"\n", None)
                .unwrap()
                .chain_finality,
            Finality::Depth
        );
        // The flag (or CLAIMD_CHAIN_FINALITY, which clap reads into it) wins over the file.
        assert_eq!(
            load_with("chain_finality = \"depth\"\n", Some("finalized"))
                .unwrap()
                .chain_finality,
            Finality::Finalized
        );
        let e = load_with("chain_finality = \"safe\"\n", None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("chain_finality"), "{e}");
        assert!(e.to_string().contains("\"depth\""), "{e}");
    }

    #[test]
    fn auth_settings_from_file_and_environment() {
        let config = ConfigFile::new();
        let load_with = |text: &str, vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let env =
                move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            config.load(text, &ServeArgs::default(), &env)
        };
        let s = load_with("", &[]).unwrap();
        assert_eq!(
            (s.auth_max_token_lifetime, s.auth_key_cache_size),
            (std::time::Duration::from_secs(300), 1000)
        );
        let s = load_with(
            "auth_max_token_lifetime_secs = 120\nauth_key_cache_size = 50\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            (s.auth_max_token_lifetime, s.auth_key_cache_size),
            (std::time::Duration::from_secs(120), 50)
        );
        // The environment wins over the file.
        let s = load_with(
            "auth_max_token_lifetime_secs = 120\n",
            &[
                ("CLAIMD_AUTH_MAX_TOKEN_LIFETIME_SECS", "60"),
                ("CLAIMD_AUTH_KEY_CACHE_SIZE", "7"),
            ],
        )
        .unwrap();
        assert_eq!(
            (s.auth_max_token_lifetime, s.auth_key_cache_size),
            (std::time::Duration::from_secs(60), 7)
        );
        for (text, vars) in [
            ("auth_max_token_lifetime_secs = 0\n", vec![]),
            ("auth_key_cache_size = 0\n", vec![]),
            ("", vec![("CLAIMD_AUTH_KEY_CACHE_SIZE", "lots")]),
            ("", vec![("CLAIMD_AUTH_MAX_TOKEN_LIFETIME_SECS", "100000")]),
        ] {
            let e = load_with(text, &vars).err().unwrap();
            assert!(format!("{e:#}").to_lowercase().contains("auth"), "{e:#}");
        }
    }

    #[test]
    fn explorer_url_from_file_and_environment_is_checked_at_start() {
        let config = ConfigFile::new();
        let load_with = |text: &str, var: Option<&str>| {
            let var = var.map(str::to_owned);
            let env = move |name: &str| {
                (name == "CLAIMD_CHAIN_EXPLORER_TX_URL")
                    .then(|| var.clone())
                    .flatten()
            };
            config.load(text, &ServeArgs::default(), &env)
        };
        assert_eq!(load_with("", None).unwrap().chain_explorer_tx_url, None);
        let from_file = "chain_explorer_tx_url = \"https://file.example/tx/{txHash}\"\n";
        let s = load_with(from_file, None).unwrap();
        assert_eq!(
            s.chain_explorer_tx_url.unwrap().url("0xab"),
            "https://file.example/tx/0xab"
        );
        let s = load_with(from_file, Some("http://env.example/t/{txHash}")).unwrap();
        assert_eq!(
            s.chain_explorer_tx_url.unwrap().url("0xab"),
            "http://env.example/t/0xab",
            "the environment wins over the file"
        );
        for (text, var) in [
            ("chain_explorer_tx_url = \"https://x.example/tx/\"\n", None),
            ("", Some("ftp://x.example/{txHash}")),
            ("", Some("javascript:alert(1)//{txHash}")),
        ] {
            let e = load_with(text, var).err().unwrap();
            assert!(e.to_string().contains("chain_explorer_tx_url"), "{e}");
        }
    }
}
