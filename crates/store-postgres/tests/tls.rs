//! TLS to PostgreSQL: `sslmode=verify-full` checks the server's certificate chain and name.
//!
//! Runs against the test server (`CLAIMD_TEST_POSTGRES_URL`) when that server has TLS on and
//! its certificate file is readable here (the machine's own server); a private server started
//! by `scripts/test` has TLS off, and the test says so and checks nothing else.

use claimd_store_postgres::PgStore;
use sqlx::{Connection, Row};

/// `url` with its host replaced and TLS parameters added.
fn with_tls(url: &str, host: &str, params: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let port = hostport.rsplit_once(':').map(|(_, p)| p).unwrap_or("5432");
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    let path = path.split('?').next().unwrap_or("");
    format!("{scheme}://{user}{host}:{port}/{path}?{params}")
}

#[tokio::test]
async fn verify_full_checks_the_chain_and_the_name() {
    let admin = claimd_testkit::postgres_admin_url();
    let mut conn = claimd_testkit::postgres_admin().await;
    let ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let cert: String = sqlx::query_scalar("SHOW ssl_cert_file")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    if ssl != "on" || std::fs::read(&cert).is_err() {
        eprintln!("PostgreSQL at {admin} has no readable TLS certificate: nothing to check");
        return;
    }
    // The certificate is self-signed, so it is its own root; Debian's (snakeoil) names
    // `localhost`.
    let good = with_tls(
        &admin,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={cert}"),
    );
    let store = PgStore::connect(&good, 2)
        .await
        .expect("verify-full to localhost");
    use claimd_core::store::Store;
    store.ping().await.unwrap();
    let mut tls = sqlx::PgConnection::connect(&good).await.unwrap();
    let row = sqlx::query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut tls)
        .await
        .unwrap();
    assert!(row.get::<bool, _>("ssl"), "the connection is encrypted");

    // A name the certificate does not carry.
    let wrong_name = with_tls(
        &admin,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={cert}"),
    );
    assert!(PgStore::connect(&wrong_name, 1).await.is_err());
    // A root that did not sign it.
    let wrong_root = with_tls(
        &admin,
        "localhost",
        "sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt",
    );
    if std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        assert!(PgStore::connect(&wrong_root, 1).await.is_err());
    }
}
