//! `claimd serve`, `claimd publisher` and `claimd migrate`: open the backend the URL names,
//! migrate, and serve the API until SIGINT/SIGTERM, finishing in-flight requests before
//! exiting. The chain — the embedded chain in `<data dir>/chain`, or the JSON-RPC chain
//! `CLAIMD_CHAIN_RPC_URL` names — is opened once per process (`open_chain`): `serve` verifies
//! credentials against it and runs the publisher on it (unless `--no-publisher`); `publisher`
//! runs only the publisher (the embedded chain belongs to one process: split mode needs a
//! JSON-RPC chain).

use crate::chain_states::{BudgetedStates, ContractStates};
use crate::config::{Database, Settings};
use alloy_primitives::Address;
use anyhow::{bail, Context, Result};
use claimd_api::{ApiConfig, AppState};
use claimd_chain::{Chain, EmbeddedChain, EmbeddedConfig, JsonRpcChain, StateContract, TxSigner};
use claimd_clock::SystemClock;
use claimd_core::operator::Operator;
use claimd_core::store::Store;
use claimd_core::verify::Verifier;
use claimd_publisher::{Finality, Funding, Publisher, PublisherConfig};
use claimd_store_postgres::PgStore;
use claimd_store_sqlite::SqliteStore;
use std::sync::Arc;

/// Opens and migrates the configured database, then runs the one-off data steps.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>> {
    let store = open_and_migrate(settings).await?;
    renormalise_emails(store.as_ref()).await?;
    Ok(store)
}

/// Stored addresses follow the current normalisation rules once; a row that would merge two
/// users is kept and reported, never merged (an operator decides).
async fn renormalise_emails(store: &dyn Store) -> Result<()> {
    use claimd_clock::Clock;
    let conflicts = store
        .renormalise_emails(SystemClock.now())
        .await
        .context("cannot re-normalise stored email addresses")?;
    for c in &conflicts {
        tracing::warn!(
            user = %c.user_uuid,
            stored = %c.stored,
            normalised = c.normalised.as_ref().map(|e| e.as_str()),
            other_user = c.other_user_uuid.map(|u| u.to_string()),
            reason = %c.reason,
            "stored email kept as it is: an operator must decide (see `claimd users email-conflicts`)"
        );
    }
    Ok(())
}

async fn open_and_migrate(settings: &Settings) -> Result<Arc<dyn Store>> {
    match &settings.database {
        Database::Sqlite(url) => {
            crate::config::private_dir(&settings.data_dir)?;
            if let Some(path) = sqlite_path(url) {
                crate::config::private_file(&path)?;
            }
            let store = SqliteStore::connect(url)
                .await
                .with_context(|| format!("cannot open SQLite database {url}"))?;
            store
                .migrate()
                .await
                .context("cannot migrate the SQLite database")?;
            Ok(Arc::new(store))
        }
        Database::Postgres(url) => {
            let store = PgStore::connect(url, settings.database_max_connections)
                .await
                .context("cannot connect to PostgreSQL (check CLAIMD_DATABASE_URL)")?;
            store
                .migrate()
                .await
                .context("cannot migrate the PostgreSQL database")?;
            Ok(Arc::new(store))
        }
    }
}

/// The file of a `sqlite:` URL, `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

pub async fn migrate(settings: Settings) -> Result<()> {
    open_store(&settings).await?;
    eprintln!("migrations applied ({})", settings.database.kind());
    Ok(())
}

pub async fn serve(settings: Settings) -> Result<()> {
    let store = open_store(&settings).await?;
    // Publish lag as a histogram (buckets in seconds) rather than a summary, so instances can
    // be aggregated.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(
                "claimd_publisher_publish_lag_seconds".into(),
            ),
            &[1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0],
        )
        .context("invalid metric buckets")?
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(
                claimd_webhooks::metrics::DELIVERY_LAG.into(),
            ),
            &[
                0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
            ],
        )
        .context("invalid metric buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;

    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));

    // One clock for the domain: the issuance window and dates, consent and revocation times,
    // and verification's "now" all read it.
    let clock = SystemClock::shared();
    let operator = Operator::new(
        store.clone(),
        settings.master_key.clone(),
        settings.did.clone(),
    )
    .with_clock(clock.clone());
    let auth_config = claimd_auth::AuthConfig {
        max_lifetime: settings.auth_max_token_lifetime,
        key_cache_size: settings.auth_key_cache_size,
        ..if settings.dev {
            claimd_auth::AuthConfig::dev()
        } else {
            claimd_auth::AuthConfig::default()
        }
    };
    let auth = claimd_auth::Authenticator::new(
        auth_config,
        Arc::new(claimd_api::partner_auth::StoreKeySource(store.clone())),
        clock.clone(),
    )
    .context("invalid partner authentication settings")?;
    let issuance = claimd_core::issuance::Issuance::new(
        store.clone(),
        settings.master_key.clone(),
        settings.did.clone(),
        public_url.clone(),
        Arc::new(claimd_merklize::Merklizer::new()),
    )
    .with_clock(clock.clone());
    // Opened once: the publisher writes to it, verification reads it (also with
    // --no-publisher).
    let chain = open_chain(&settings).await?;
    // Its own merklizer: the public endpoint merklizes whatever it is sent, which must not
    // churn the caches issuance relies on.
    let proofs = Arc::new(claimd_core::proofs::Proofs::new(
        store.clone(),
        settings.master_key.clone(),
    ));
    // Verification's chain reads go through their own cache and budget, so a flood of
    // public verifications can never take the publisher's RPC capacity.
    let verifier = Verifier::new(
        store.clone(),
        Arc::new(claimd_merklize::Merklizer::with_limits(
            settings.verify.canon,
        )),
        Arc::new(BudgetedStates::new(
            ContractStates(chain.state_contract()),
            settings.verify.chain,
            clock.clone(),
        )),
        proofs.clone(),
        &public_url,
    )
    .with_clock(clock.clone())
    .with_limits(settings.verify.limits);
    let issuance = Arc::new(issuance);
    let state = AppState {
        bulk: Arc::new(claimd_core::bulk::service::Bulk::new(
            store.clone(),
            clock.clone(),
        )),
        store: store.clone(),
        operator: Arc::new(operator),
        issuance: issuance.clone(),
        proofs,
        auth: Arc::new(auth),
        verifier: Arc::new(verifier),
        verify_pool: Arc::new(claimd_api::VerifyPool::new(settings.verify.pool)),
        config: Arc::new(ApiConfig {
            public_url: public_url.clone(),
            admin_token: settings.admin_token.clone(),
            max_body_bytes: settings.max_body_bytes,
            ops_separate: settings.ops_listen.is_some(),
        }),
        admission: Arc::new(claimd_api::limits::Admission::new(
            settings.http_limits.clone(),
            clock.clone(),
        )),
        metrics: Some(metrics),
        dashboard: Arc::new(
            claimd_api::dashboard::Dashboard::new(
                claimd_api::dashboard::session::SessionConfig::new(
                    settings.master_key.derive("dashboard-sessions"),
                    // Plain http on loopback in dev mode; anywhere else the cookie needs TLS.
                    !settings.dev,
                    clock.clone(),
                )
                .with_ttl(settings.dashboard_session),
                Some(Arc::new(crate::chain_states::ChainFacts(
                    chain.chain.clone(),
                ))),
            )
            .with_explorer(settings.chain_explorer_tx_url.clone()),
        ),
    };
    let ops = match &settings.ops_listen {
        Some(ops_addr) => {
            let ops_listener = tokio::net::TcpListener::bind(ops_addr)
                .await
                .with_context(|| format!("cannot listen on {ops_addr} (ops_listen)"))?;
            let ops_addr = ops_listener.local_addr()?;
            let app = claimd_api::ops_router(state.clone());
            let limits = settings.http_limits.clone();
            tracing::info!(%ops_addr, "readiness and metrics on the operator address");
            println!("operator endpoints on http://{ops_addr}");
            Some(tokio::spawn(async move {
                claimd_api::server::serve(ops_listener, app, &limits, shutdown_signal()).await
            }))
        }
        None => None,
    };
    let publisher = if settings.no_publisher {
        tracing::info!("publisher disabled (--no-publisher)");
        None
    } else {
        let publisher = start_publisher(&settings, store.clone(), &chain).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        Some((
            stop,
            tokio::spawn(async move { publisher.run(stopped).await }),
        ))
    };
    let bulk = start_bulk_runner(
        store.clone(),
        issuance,
        clock.clone(),
        settings.bulk_rows_per_second,
    );
    let webhooks = if settings.webhooks.enabled {
        Some(start_webhooks(&settings, store.clone(), clock.clone())?)
    } else {
        tracing::info!("webhook delivery disabled ([webhooks] enabled = false)");
        None
    };
    tracing::info!(
        %addr,
        public_url = %public_url,
        database = settings.database.kind(),
        dev = settings.dev,
        "claimd listening"
    );
    // A machine-readable line on stdout, so scripts and tests using port 0 learn the port.
    println!("listening on http://{addr}");

    claimd_api::server::serve(
        listener,
        claimd_api::router(state),
        &settings.http_limits,
        shutdown_signal(),
    )
    .await;
    if let Some(ops) = ops {
        let _ = ops.await;
    }
    // Like the publisher, the bulk runner stops between steps, each of them durable.
    let _ = bulk.0.send(true);
    let _ = bulk.1.await;
    if let Some((stop, task)) = webhooks {
        // Attempts in flight finish within their timeout and are recorded.
        let _ = stop.send(true);
        let _ = task.await;
    }
    if let Some((stop, task)) = publisher {
        // The publisher stops between steps; every step is durable, so nothing is cut short.
        let _ = stop.send(true);
        let _ = task.await;
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The bulk issuance runner (`claimd_core::bulk::runner`), its stop switch and its task.
fn start_bulk_runner(
    store: Arc<dyn claimd_core::store::Store>,
    issuance: Arc<claimd_core::issuance::Issuance>,
    clock: claimd_clock::SharedClock,
    rows_per_second: u32,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    // Unique per process start: a restarted process must not inherit its old leases' owner
    // name while the old leases run out (it could not tell its own live work from theirs).
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let owner = format!("bulk-{}-{started}", std::process::id());
    let runner = claimd_core::bulk::runner::BulkRunner::new(
        store,
        issuance,
        clock,
        owner,
        claimd_core::bulk::runner::RunnerConfig {
            rows_per_second,
            ..Default::default()
        },
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    (stop, tokio::spawn(runner.run(stopped)))
}

/// Starts the webhook delivery worker (`claimd-webhooks`) on its own task.
fn start_webhooks(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: claimd_clock::SharedClock,
) -> Result<(
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
)> {
    let w = &settings.webhooks;
    let config = claimd_webhooks::WorkerConfig {
        timeout: w.timeout,
        retry: w.retry,
        poll_interval: w.poll_interval,
        per_endpoint: w.per_endpoint,
        max_in_flight: w.max_in_flight,
        lease_ttl: w.lease_ttl,
        dev: settings.dev,
        ..claimd_webhooks::WorkerConfig::new(clock)
    };
    let worker = claimd_webhooks::Worker::new(store, settings.master_key.clone(), config)
        .context("cannot start the webhook worker")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    Ok((
        stop,
        tokio::spawn(async move { Arc::new(worker).run(stopped).await }),
    ))
}

/// `claimd publisher`: the publisher alone, until SIGINT/SIGTERM (it stops between steps;
/// every step is durable).
pub async fn publisher(settings: Settings) -> Result<()> {
    let store = open_store(&settings).await?;
    let chain = open_chain(&settings).await?;
    let publisher = start_publisher(&settings, store, &chain).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { publisher.run(stopped).await });
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = task.await;
    tracing::info!("publisher stopped");
    Ok(())
}

/// The chain claimd publishes to and verifies against, opened once per process.
pub struct OpenedChain {
    pub chain: Arc<dyn Chain>,
    /// The IdentityState contract.
    pub contract: Address,
    /// How the publisher pays for issuers' transactions in dev mode.
    pub funding: Funding,
    /// Confirmations before a transition counts.
    pub confirmations: u64,
    /// Whether the chain's finalized block must also have reached it.
    pub finality: Finality,
}

impl OpenedChain {
    pub fn state_contract(&self) -> StateContract {
        StateContract::new(self.chain.clone(), self.contract)
    }
}

/// Opens the embedded chain in `<data dir>/chain`, or the JSON-RPC chain
/// `CLAIMD_CHAIN_RPC_URL` names (deploying the contract from the dev key in dev mode when no
/// `CLAIMD_CHAIN_CONTRACT` is given).
pub async fn open_chain(settings: &Settings) -> Result<OpenedChain> {
    match &settings.chain_rpc_url {
        None => {
            let dir = settings.data_dir.join("chain");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let embedded = EmbeddedConfig {
                chain_id: settings.chain_id,
                ..EmbeddedConfig::default()
            };
            let chain = tokio::task::spawn_blocking(move || EmbeddedChain::open(dir, embedded))
                .await?
                .context("cannot open the embedded chain")?;
            let contract = chain.contract_address();
            Ok(OpenedChain {
                contract,
                // The embedded chain's dev account is its only source of gas: always fund
                // from it. It mines at once and never reorganises.
                funding: Funding::Embedded(chain.clone()),
                confirmations: 0,
                // Its finalized block is its head: the rule costs nothing and stays uniform.
                finality: Finality::Finalized,
                chain: Arc::new(chain),
            })
        }
        Some(url) => {
            let chain: Arc<dyn Chain> = Arc::new(
                JsonRpcChain::new(url, claimd_chain::DEFAULT_RPC_TIMEOUT)
                    .context("invalid CLAIMD_CHAIN_RPC_URL")?,
            );
            let dev = if settings.dev {
                let chain_id = chain.chain_id().await.context("chain unreachable")?;
                Some(TxSigner::from_private_key(
                    &claimd_chain::embedded::DEV_PRIVATE_KEY,
                    chain_id,
                )?)
            } else {
                None
            };
            let contract = match (&settings.chain_contract, &dev) {
                (Some(a), _) => a
                    .parse::<Address>()
                    .context("CLAIMD_CHAIN_CONTRACT must be a 0x address")?,
                (None, Some(dev)) => dev_contract(settings, chain.as_ref(), dev).await?,
                (None, None) => {
                    bail!("set CLAIMD_CHAIN_CONTRACT (the IdentityState address) or run with --dev")
                }
            };
            Ok(OpenedChain {
                chain,
                contract,
                funding: dev.map_or(Funding::Off, Funding::DevKey),
                confirmations: settings.chain_confirmations,
                finality: settings.chain_finality,
            })
        }
    }
}

/// Builds the publisher on an opened chain.
pub async fn start_publisher(
    settings: &Settings,
    store: Arc<dyn Store>,
    chain: &OpenedChain,
) -> Result<Publisher> {
    let owner = format!(
        "{}:{}",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into()),
        std::fs::canonicalize(&settings.data_dir)
            .unwrap_or_else(|_| settings.data_dir.clone())
            .display()
    );
    let mut config = PublisherConfig::new(owner);
    config.clock = claimd_clock::SystemClock::shared();
    config.batch_cap = settings.publish_batch_cap;
    if let Some(after) = settings.publish_replace_after {
        config.replace_after = after;
    }
    if let Some(ceiling) = settings.chain_max_fee_per_gas {
        config.max_fee_per_gas = ceiling;
    }
    config.confirmations = chain.confirmations;
    config.finality = chain.finality;
    config.funding = chain.funding.clone();
    tracing::info!(
        contract = %chain.contract,
        confirmations = config.confirmations,
        finality = config.finality.as_str(),
        "publisher running"
    );
    Publisher::new(
        store,
        chain.chain.clone(),
        chain.contract,
        settings.master_key.clone(),
        config,
    )
    .await
    .context("cannot start the publisher")
}

/// Dev mode on a JSON-RPC chain (anvil): the contract deployed from the dev key, once per
/// data dir and chain; its address is kept in the data dir.
async fn dev_contract(settings: &Settings, chain: &dyn Chain, dev: &TxSigner) -> Result<Address> {
    let file = settings
        .data_dir
        .join(format!("chain-contract-{}", dev.chain_id()));
    if let Ok(text) = std::fs::read_to_string(&file) {
        if let Ok(address) = text.trim().parse::<Address>() {
            if !chain.code(address).await?.is_empty() {
                return Ok(address);
            }
        }
    }
    let (address, _) = claimd_chain::deploy_state_contract(chain, dev)
        .await
        .context("cannot deploy the IdentityState contract")?;
    std::fs::create_dir_all(&settings.data_dir)?;
    std::fs::write(&file, format!("{address}\n"))
        .with_context(|| format!("cannot write {}", file.display()))?;
    tracing::info!(%address, "deployed IdentityState (dev mode)");
    Ok(address)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
