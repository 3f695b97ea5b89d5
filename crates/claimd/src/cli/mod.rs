//! Command line: `claimd serve | publisher | migrate | admin …`.

mod admin;

use crate::config::{self, ChainArgs, CommonArgs, Needs, ServeArgs};
use anyhow::Result;
use clap::{Parser, Subcommand};

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
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(serve) => {
            let settings =
                config::load(&cli.common, &serve, Needs::Everything, &config::process_env)?;
            crate::telemetry::init(settings.log_json);
            crate::serve::serve(settings).await
        }
        Command::Publisher(chain) => {
            let args = ServeArgs {
                chain,
                ..ServeArgs::default()
            };
            let settings =
                config::load(&cli.common, &args, Needs::Everything, &config::process_env)?;
            crate::telemetry::init(settings.log_json);
            crate::serve::publisher(settings).await
        }
        Command::Migrate => {
            let settings = config::load(
                &cli.common,
                &ServeArgs::default(),
                Needs::Database,
                &config::process_env,
            )?;
            crate::telemetry::init(settings.log_json);
            crate::serve::migrate(settings).await
        }
        Command::Admin(args) => admin::run(&cli.common, args).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
