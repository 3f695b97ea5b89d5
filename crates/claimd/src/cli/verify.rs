//! `claimd verify <credential.json>`: a thin client of `POST /v1/credentials/verify`. The
//! server does the verification (it has the chain and the schema contexts); this prints its
//! report and turns it into an exit code a script can test.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes: the credential is valid / is not valid / it could not be verified.
const VALID: u8 = 0;
const NOT_VALID: u8 = 1;
const ERROR: u8 = 2;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The credential (W3C VC JSON with its proofs); `-` reads standard input.
    credential: PathBuf,
    /// Base URL of the claimd server.
    #[arg(long, env = "CLAIMD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Print the server's JSON report instead of one line per check.
    #[arg(long)]
    json: bool,
}

/// Exit status 0 when valid, 1 when not, 2 when the credential could not be verified (an
/// unreadable file, a refused body, an unreachable server).
pub async fn run(args: VerifyArgs) -> ExitCode {
    match report(&args).await {
        Ok(report) => {
            let valid = report.get("valid").and_then(Value::as_bool) == Some(true);
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => return error(&e.into()),
                }
            } else {
                print!("{}", human(&report));
            }
            ExitCode::from(if valid { VALID } else { NOT_VALID })
        }
        Err(e) => error(&e),
    }
}

fn error(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::from(ERROR)
}

async fn report(args: &VerifyArgs) -> Result<Value> {
    let body = read_credential(&args.credential)?;
    // Sent as the file's bytes: the server says what is wrong with a body, not the CLI.
    let base = args.url.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let req = client
        .post(format!("{base}/v1/credentials/verify"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    let answer = super::call(req, base).await?;
    if !answer.get("checks").is_some_and(Value::is_array) {
        bail!("the server's answer is not a verification report");
    }
    Ok(answer)
}

fn read_credential(path: &PathBuf) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the credential from standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// One line per check (`pass  core_claim  detail`), then the verdict.
fn human(report: &Value) -> String {
    let mut out = String::new();
    let checks = report["checks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let width = checks
        .iter()
        .filter_map(|c| c["name"].as_str())
        .map(str::len)
        .max()
        .unwrap_or(0);
    for c in checks {
        let text = |k: &str| c[k].as_str().unwrap_or("-").to_owned();
        out.push_str(&format!(
            "{:<7} {:<width$}  {}\n",
            text("status"),
            text("name"),
            text("detail")
        ));
    }
    let valid = report["valid"].as_bool() == Some(true);
    out.push_str(if valid { "VALID\n" } else { "NOT VALID\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_line_per_check_then_the_verdict() {
        let text = human(&json!({"valid": false, "checks": [
            {"name": "core_claim", "status": "pass", "detail": "ok"},
            {"name": "mtp", "status": "skipped", "detail": "not yet published"},
            {"name": "revocation", "status": "fail", "detail": "revoked"}
        ]}));
        assert_eq!(
            text,
            "pass    core_claim  ok\nskipped mtp         not yet published\nfail    revocation  revoked\nNOT VALID\n"
        );
    }
}
