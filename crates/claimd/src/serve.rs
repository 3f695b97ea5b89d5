//! `claimd serve` and `claimd migrate`: open the backend the URL names, migrate, and serve the
//! API until SIGINT/SIGTERM, finishing in-flight requests before exiting.

use crate::config::{Database, Settings};
use anyhow::{Context, Result};
use claimd_api::{ApiConfig, AppState};
use claimd_core::operator::Operator;
use claimd_core::store::Store;
use claimd_store_postgres::PgStore;
use claimd_store_sqlite::SqliteStore;
use std::sync::Arc;

/// Opens and migrates the configured database.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>> {
    match &settings.database {
        Database::Sqlite(url) => {
            std::fs::create_dir_all(&settings.data_dir).with_context(|| {
                format!("cannot create data dir {}", settings.data_dir.display())
            })?;
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

pub async fn migrate(settings: Settings) -> Result<()> {
    open_store(&settings).await?;
    eprintln!("migrations applied ({})", settings.database.kind());
    Ok(())
}

pub async fn serve(settings: Settings) -> Result<()> {
    let store = open_store(&settings).await?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
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

    let operator = Operator::new(
        store.clone(),
        settings.master_key.clone(),
        settings.did.clone(),
    );
    let auth_config = if settings.dev {
        claimd_auth::AuthConfig::dev()
    } else {
        claimd_auth::AuthConfig::default()
    };
    let auth = claimd_auth::Authenticator::new(
        auth_config,
        Arc::new(claimd_api::partner_auth::StoreKeySource(store.clone())),
    )
    .context("invalid partner authentication settings")?;
    let issuance = claimd_core::issuance::Issuance::new(
        store.clone(),
        settings.master_key.clone(),
        settings.did.clone(),
        public_url.clone(),
        Arc::new(claimd_merklize::Merklizer::new()),
    );
    let state = AppState {
        store: store.clone(),
        operator: Arc::new(operator),
        issuance: Arc::new(issuance),
        auth: Arc::new(auth),
        config: Arc::new(ApiConfig {
            public_url: public_url.clone(),
            admin_token: settings.admin_token.clone(),
            max_body_bytes: settings.max_body_bytes,
        }),
        metrics: Some(metrics),
    };
    if settings.no_publisher {
        tracing::info!("publisher disabled (--no-publisher)");
    }
    tracing::info!(
        %addr,
        public_url = %public_url,
        database = settings.database.kind(),
        dev = settings.dev,
        "claimd listening"
    );
    // A machine-readable line on stdout, so scripts and tests using port 0 learn the port.
    println!("listening on http://{addr}");

    axum::serve(listener, claimd_api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("HTTP server failed")?;
    tracing::info!("shut down cleanly");
    Ok(())
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
