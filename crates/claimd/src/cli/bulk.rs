//! `claimd admin bulk …`: bulk issuance from a file. `issue` streams the file to the server,
//! follows the job until it ends (a line redrawn in place on a terminal, plain lines
//! otherwise) and writes the per-row results; the other commands are one request each.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum BulkCmd {
    /// Upload a CSV (header: email, the schema's attributes, optional onDuplicate) or JSON
    /// Lines file, follow the job until it ends, and write the results CSV.
    Issue {
        /// The program (credentialId) to issue.
        #[arg(long)]
        program: String,
        /// The file: `.jsonl`/`.ndjson` is sent as JSON Lines, anything else as CSV.
        file: PathBuf,
        /// Only check the rows (the results list each row's errors); issue nothing.
        #[arg(long)]
        validate_only: bool,
        /// Where to write the results (default: `<file>.results.csv`).
        #[arg(long)]
        results: Option<PathBuf>,
        /// After the job ends, keep following until every issued row is on chain.
        #[arg(long)]
        wait_onchain: bool,
        /// Seconds between progress reads.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
    },
    /// List jobs, newest first.
    List(super::admin::Paging),
    /// A job's progress.
    Status {
        job_id: String,
    },
    Pause {
        job_id: String,
    },
    Resume {
        job_id: String,
    },
    Cancel {
        job_id: String,
    },
    /// Download a job's results CSV (to stdout, or --output).
    Results {
        job_id: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// Where and as whom the commands talk to the server.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    async fn json(&self, method: Method, path: &str) -> Result<Value> {
        let req = self
            .client
            .request(method, format!("{}/admin/v1{path}", self.base))
            .bearer_auth(&self.token);
        super::call(req, &self.base).await
    }

    async fn results(&self, job_id: &str, out: &mut dyn Write) -> Result<()> {
        let mut resp = self
            .client
            .get(format!(
                "{}/admin/v1/bulk-issuances/{job_id}/results",
                self.base
            ))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .with_context(|| format!("cannot reach claimd at {}", self.base))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            bail!(
                "{status} {}",
                body["message"].as_str().unwrap_or("no message")
            );
        }
        while let Some(chunk) = resp.chunk().await.context("the results were cut off")? {
            out.write_all(&chunk)?;
        }
        Ok(())
    }
}

pub async fn run(api: &Api, cmd: BulkCmd, json_out: bool) -> Result<()> {
    let print = |v: &Value| -> Result<()> {
        if json_out {
            println!("{}", serde_json::to_string_pretty(v)?);
        } else {
            println!("{}", summary(v));
        }
        Ok(())
    };
    match cmd {
        BulkCmd::Issue {
            program,
            file,
            validate_only,
            results,
            wait_onchain,
            interval,
        } => {
            let job = upload(api, &program, &file, validate_only).await?;
            let id = job["jobId"].as_str().unwrap_or_default().to_owned();
            eprintln!("job {id}: {} rows", job["rows"]["total"]);
            let end = follow(
                api,
                &id,
                wait_onchain,
                Duration::from_secs_f64(interval.max(0.1)),
            )
            .await?;
            let path = results.unwrap_or_else(|| {
                let mut p = file.clone().into_os_string();
                p.push(".results.csv");
                PathBuf::from(p)
            });
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?,
            );
            api.results(&id, &mut out).await?;
            out.flush()?;
            print(&end)?;
            eprintln!("results written to {}", path.display());
            if end["state"] == "FAILED" {
                bail!("the job failed: {}", end["error"].as_str().unwrap_or("-"));
            }
        }
        BulkCmd::List(paging) => {
            let v = api
                .json(Method::GET, &paging.path("/bulk-issuances"))
                .await?;
            if json_out {
                print(&v)?;
            } else {
                for job in v["items"].as_array().into_iter().flatten() {
                    println!("{}", summary(job));
                }
                println!("({} in total)", v["total"]);
            }
        }
        BulkCmd::Status { job_id } => print(
            &api.json(Method::GET, &format!("/bulk-issuances/{job_id}"))
                .await?,
        )?,
        BulkCmd::Pause { job_id } => print(&control(api, &job_id, "pause").await?)?,
        BulkCmd::Resume { job_id } => print(&control(api, &job_id, "resume").await?)?,
        BulkCmd::Cancel { job_id } => print(&control(api, &job_id, "cancel").await?)?,
        BulkCmd::Results { job_id, output } => match output {
            Some(path) => {
                let mut out = std::io::BufWriter::new(
                    std::fs::File::create(&path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                );
                api.results(&job_id, &mut out).await?;
                out.flush()?;
            }
            None => api.results(&job_id, &mut std::io::stdout().lock()).await?,
        },
    }
    Ok(())
}

async fn control(api: &Api, job_id: &str, action: &str) -> Result<Value> {
    api.json(Method::POST, &format!("/bulk-issuances/{job_id}/{action}"))
        .await
}

/// Streams the file: read in 256 KiB pieces, never whole.
async fn upload(api: &Api, program: &str, file: &Path, validate_only: bool) -> Result<Value> {
    use tokio::io::AsyncReadExt;
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "ndjson") => "application/x-ndjson",
        _ => "text/csv",
    };
    let f = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    let chunks = futures::stream::unfold(Some(f), |f| async move {
        let mut f = f?;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(http_body::Frame::data(bytes::Bytes::from(buf))), Some(f)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let body = reqwest::Body::wrap(http_body_util::StreamBody::new(chunks));
    let req = api
        .client
        .post(format!(
            "{}/admin/v1/programs/{program}/bulk-issuances{}",
            api.base,
            if validate_only {
                "?validateOnly=true"
            } else {
                ""
            }
        ))
        .bearer_auth(&api.token)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .timeout(Duration::from_secs(3600))
        .body(body);
    super::call(req, &api.base).await
}

/// Reads the job every `interval` until it ends (and, with `wait_onchain`, until every row it
/// issued or found is on chain); answers its last view.
async fn follow(api: &Api, id: &str, wait_onchain: bool, interval: Duration) -> Result<Value> {
    let tty = std::io::stderr().is_terminal();
    let mut last = String::new();
    loop {
        let job = api
            .json(Method::GET, &format!("/bulk-issuances/{id}"))
            .await?;
        let line = progress_line(&job);
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else if line != last {
            eprintln!("{line}");
        }
        last = line;
        let rows = &job["rows"];
        let state = job["state"].as_str().unwrap_or_default();
        let ended = matches!(state, "COMPLETED" | "VALIDATED" | "CANCELLED" | "FAILED");
        let settled = rows["onChain"].as_u64()
            >= Some(
                rows["issued"].as_u64().unwrap_or(0)
                    + rows["skippedDuplicate"].as_u64().unwrap_or(0),
            );
        if ended && (!wait_onchain || state != "COMPLETED" || settled) {
            if tty {
                eprintln!();
            }
            return Ok(job);
        }
        tokio::time::sleep(interval).await;
    }
}

fn progress_line(job: &Value) -> String {
    let rows = &job["rows"];
    let n = |k: &str| rows[k].as_u64().unwrap_or(0);
    let mut line = format!(
        "{:<10} validated {}/{} · issued {} · skipped {} · invalid {} · failed {} · on chain {}",
        job["state"].as_str().unwrap_or("?"),
        n("validated"),
        n("total"),
        n("issued"),
        n("skippedDuplicate"),
        n("invalid"),
        n("failed"),
        n("onChain"),
    );
    if let Some(rate) = job["ratePerSecond"].as_f64() {
        line.push_str(&format!(" · {rate:.1} rows/s"));
    }
    if let Some(eta) = job["etaSeconds"].as_u64() {
        line.push_str(&format!(" · ETA {}:{:02}", eta / 60, eta % 60));
    }
    line
}

fn summary(job: &Value) -> String {
    format!(
        "{}  {}",
        job["jobId"].as_str().unwrap_or("?"),
        progress_line(job)
    )
}
