//! Throughput of `transitStateGeneric` on the embedded chain and on anvil.
//!
//! Not a timed test: run it by hand and commit the JSON it writes.
//!
//! ```sh
//! cargo run --config 'profile.dev.package.claimd-chain.opt-level=2' \
//!     -p claimd-chain --example chain_bench            # writes bench/results/chain.json
//! ```
//! (`-- --quick` runs fewer transactions.)
//!
//! Every transition is signed by its identity's own key (EIP-1559) and submitted as raw bytes,
//! exactly as the publisher does. Dependencies get opt-level 2 in the dev profile (workspace
//! `Cargo.toml`), but revm's generic EVM is monomorphised *in this crate*, so without the
//! `--config` override the embedded figures measure unoptimised EVM code (≈1 ms per
//! transaction instead of tens of µs).

#[allow(dead_code)]
#[path = "../tests/chain/common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{TxHash, U256};
use claimd_chain::*;
use serde_json::json;

const IDENTITIES: u8 = 10;

struct Identity {
    signer: TxSigner,
    id: U256,
    state: U256,
    nonce: u64,
}

async fn identities(chain: &dyn Chain, dev: &TxSigner) -> Vec<Identity> {
    let mut out = Vec::new();
    for n in 0..IDENTITIES {
        let signer = common::signer(100 + n, chain.chain_id().await.unwrap());
        transfer(chain, dev, signer.address(), common::ether(100))
            .await
            .unwrap();
        out.push(Identity {
            id: common::eth_id(common::ID_TYPE, signer.address()),
            signer,
            state: U256::ZERO,
            nonce: 0,
        });
    }
    out
}

fn next_tx(
    who: &mut Identity,
    contract: alloy::primitives::Address,
    fees: FeeSuggestion,
) -> SignedTx {
    let new_state = who.state + U256::from(1u64);
    let t = if who.state.is_zero() {
        Transition::genesis(who.id, new_state)
    } else {
        Transition::next(who.id, who.state, new_state)
    };
    let tx = who
        .signer
        .sign_transit(
            contract,
            &t,
            TxParams::new(who.nonce, DEFAULT_TRANSIT_GAS_LIMIT, fees),
        )
        .unwrap();
    who.state = new_state;
    who.nonce += 1;
    tx
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Transitions of the funded identities against one deployed contract.
struct Load<'a> {
    chain: &'a dyn Chain,
    contract: alloy::primitives::Address,
    ids: Vec<Identity>,
}

impl Load<'_> {
    /// Signs the `i`th transition (identities in turn) and sends it.
    async fn send(&mut self, i: usize, fees: FeeSuggestion) -> TxHash {
        let n = self.ids.len();
        let tx = next_tx(&mut self.ids[i % n], self.contract, fees);
        self.chain.send_raw(tx.raw).await.unwrap();
        tx.hash
    }

    /// Waits for the receipt of `hash` and checks that it succeeded.
    async fn mined(&self, hash: TxHash, timeout: Duration) {
        let r = wait_for_receipt(self.chain, hash, timeout, Duration::from_millis(1))
            .await
            .unwrap();
        assert!(r.status, "{r:?}");
    }

    /// Sequential: sign, send, wait for the receipt, one at a time.
    async fn sequential(&mut self, count: usize) -> serde_json::Value {
        let fees = self.chain.fees().await.unwrap();
        let mut lat = Vec::with_capacity(count);
        let start = Instant::now();
        for i in 0..count {
            let t0 = Instant::now();
            let hash = self.send(i, fees).await;
            self.mined(hash, Duration::from_secs(30)).await;
            lat.push(t0.elapsed());
        }
        let total = start.elapsed();
        lat.sort();
        json!({
            "mode": "sequential (sign + send_raw + receipt, one at a time)",
            "transitions": count,
            "seconds": total.as_secs_f64(),
            "tx_per_s": count as f64 / total.as_secs_f64(),
            "latency_ms": { "p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99), "max": percentile(&lat, 1.0) },
        })
    }

    /// Pipelined: sign and send everything, then collect the receipts.
    async fn pipelined(&mut self, count: usize) -> serde_json::Value {
        let fees = self.chain.fees().await.unwrap();
        let start = Instant::now();
        let mut hashes = Vec::with_capacity(count);
        for i in 0..count {
            hashes.push(self.send(i, fees).await);
        }
        let sent = start.elapsed();
        for h in hashes {
            self.mined(h, Duration::from_secs(60)).await;
        }
        let total = start.elapsed();
        json!({
            "mode": "pipelined (send all, then all receipts)",
            "transitions": count,
            "send_seconds": sent.as_secs_f64(),
            "seconds": total.as_secs_f64(),
            "tx_per_s": count as f64 / total.as_secs_f64(),
        })
    }
}

async fn embedded(fsync: bool, count: usize) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig {
        fsync,
        clock: BlockClock::Fixed { step: 2 },
        ..EmbeddedConfig::default()
    };
    let chain = EmbeddedChain::open(dir.path(), config.clone()).unwrap();
    let contract = chain.contract_address();
    let dev = chain.dev_signer().clone();
    let ids = identities(&chain, &dev).await;
    let seq = Load {
        chain: &chain,
        contract,
        ids,
    }
    .sequential(count)
    .await;
    let journal_bytes = std::fs::metadata(chain.journal_path()).unwrap().len();
    let blocks = chain.block_number().await.unwrap();
    drop(chain);
    let t0 = Instant::now();
    let reopened = EmbeddedChain::open(dir.path(), config).unwrap();
    let replay = t0.elapsed();
    assert_eq!(reopened.block_number().await.unwrap(), blocks);
    json!({
        "backend": "embedded (revm 43.0.3, CANCUN)",
        "fsync_per_tx": fsync,
        "result": seq,
        "journal": { "transactions": blocks, "bytes": journal_bytes, "replay_seconds": replay.as_secs_f64() },
    })
}

async fn anvil(seq_count: usize, pipe_count: usize) -> serde_json::Value {
    let node = tokio::task::spawn_blocking(common::Anvil::start)
        .await
        .unwrap();
    let chain: Arc<dyn Chain> = Arc::new(node.chain());
    let dev = TxSigner::from_private_key(&embedded::DEV_PRIVATE_KEY, 31_337).unwrap();
    let (contract, _) = deploy_state_contract(chain.as_ref(), &dev).await.unwrap();
    let ids = identities(chain.as_ref(), &dev).await;
    let mut load = Load {
        chain: chain.as_ref(),
        contract,
        ids,
    };
    let seq = load.sequential(seq_count).await;
    let pipe = load.pipelined(pipe_count).await;
    json!({
        "backend": "anvil 1.7.1 (automine, --hardfork cancun) via JsonRpcChain (alloy 2.5 HTTP)",
        "results": [seq, pipe],
    })
}

fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned());
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "memory_gib": mem_kb.map(|k| (k as f64 / 1048576.0 * 10.0).round() / 10.0),
        "os": std::env::consts::OS,
        "note": "2-core machine shared with other builds; figures are indicative",
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_embedded, n_anvil_seq, n_anvil_pipe) = if quick {
        (200, 20, 50)
    } else {
        (5000, 200, 500)
    };
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let profile = if cfg!(debug_assertions) {
        "dev (deps opt-level 2)"
    } else {
        "release"
    };

    let results = vec![
        embedded(true, n_embedded).await,
        embedded(false, n_embedded).await,
        anvil(n_anvil_seq, n_anvil_pipe).await,
    ];
    let report = json!({
        "benchmark": "chain: transitStateGeneric throughput",
        "date": date,
        "command": format!(
            "cargo run --config 'profile.dev.package.claimd-chain.opt-level=2' -p claimd-chain --example chain_bench{}",
            if quick { " -- --quick" } else { "" }
        ),
        "profile": profile,
        "profile_note": "dev profile; all dependencies at opt-level 2 (workspace Cargo.toml) and claimd-chain at opt-level 2 when run with the --config above",
        "machine": machine(),
        "identities": IDENTITIES,
        "results": results,
    });
    let text = serde_json::to_string_pretty(&report).unwrap();
    println!("{text}");
    let out = common::repo_root().join("bench/results/chain.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, text + "\n").unwrap();
    eprintln!("wrote {}", out.display());
}
