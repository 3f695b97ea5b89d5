//! The `claimd` binary: the composition root. It reads the configuration, opens the storage
//! backend the database URL names, and runs the API, the publisher and the background workers,
//! or drives a running server's operator API from the command line.

mod chain_states;
mod cli;
mod config;
mod serve;
mod telemetry;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
