//! Command line: `claimd serve | publisher | migrate | admin … | verify <credential.json>`.

mod admin;
mod bulk;
mod verify;

use crate::config::{self, ChainArgs, CommonArgs, Needs, ServeArgs};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "claimd",
    version,
    about = "Self-hostable iden3 credential issuance (Moca Network API)"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP API (and the publisher, unless --no-publisher).
    Serve(ServeArgs),
    /// Run only the publisher (scale-out: API instances run `serve --no-publisher`; any number
    /// of publishers share the database, one per issuer at a time).
    Publisher(ChainArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Drive a running server's operator API (/admin/v1).
    Admin(admin::AdminArgs),
    /// Verify a credential with a running server (exit 0 valid, 1 not valid, 2 error).
    Verify(verify::VerifyArgs),
}

/// Runs the command; `Ok` carries the exit status (`verify` reports "not valid" as 1).
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(serve) => {
            let settings =
                config::load(&cli.common, &serve, Needs::Everything, &config::process_env)?;
            crate::telemetry::init(settings.log_json);
            crate::serve::serve(settings).await?;
        }
        Command::Publisher(chain) => {
            let args = ServeArgs {
                chain,
                ..ServeArgs::default()
            };
            let settings =
                config::load(&cli.common, &args, Needs::Everything, &config::process_env)?;
            crate::telemetry::init(settings.log_json);
            crate::serve::publisher(settings).await?;
        }
        Command::Migrate => {
            let settings = config::load(
                &cli.common,
                &ServeArgs::default(),
                Needs::Database,
                &config::process_env,
            )?;
            crate::telemetry::init(settings.log_json);
            crate::serve::migrate(settings).await?;
        }
        Command::Admin(args) => admin::run(&cli.common, args).await?,
        Command::Verify(args) => return Ok(verify::run(args).await),
    }
    Ok(ExitCode::SUCCESS)
}

/// Sends `req` to the claimd at `base` and reads its JSON answer; an error status fails with
/// the status and the answer's message.
async fn call(req: reqwest::RequestBuilder, base: &str) -> Result<serde_json::Value> {
    use anyhow::Context;
    use serde_json::Value;
    let resp = req
        .send()
        .await
        .with_context(|| format!("cannot reach claimd at {base}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let msg = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        anyhow::bail!("{} {msg}", status.as_u16());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
