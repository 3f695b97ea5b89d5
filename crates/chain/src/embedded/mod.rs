//! [`EmbeddedChain`]: an in-process EVM (revm) that runs the same bytecode and the same signed
//! transactions as a real chain, mines one block per transaction on demand, keeps its own
//! receipts and logs, and persists itself as a replayable journal (see [`journal`]).
//!
//! Block numbers and timestamps are decided when a transaction is mined and stored with it, so
//! a replay reproduces them exactly. Block hashes are synthetic (a hash chain over number,
//! timestamp and transaction hash) since there is no real block structure.
//!
//! revm is synchronous, CPU-bound (≈15 µs per transition) and its EVM is not `Send`, so the
//! chain runs on one dedicated thread that executes jobs in order; async callers await replies.

pub mod journal;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::consensus::transaction::SignerRecoverable;
use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{keccak256, Address, Bytes, TxHash, TxKind, B256, U256};
use async_trait::async_trait;
use revm::context::{BlockEnv, TxEnv};
use revm::context_interface::result::{EVMError, ExecutionResult, InvalidTransaction};
use revm::database::InMemoryDB;
use revm::handler::MainnetContext;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, EvmState};
use revm::{
    Context, DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext, MainnetEvm,
};

use crate::chain::{CallRequest, Chain, ChainLog, FeeSuggestion, LogFilter, NonceKind, Receipt};
use crate::error::{decode_revert, ChainError, Result};
use crate::signer::{TxParams, TxSigner, DEFAULT_DEPLOY_GAS_LIMIT, TRANSFER_GAS_LIMIT};
use journal::{Header, Journal, Record};

/// EVM rules of the embedded chain. The contract is compiled for the same version
/// (`evmVersion: "cancun"` in `scripts/build-contract.sh`).
pub const SPEC: SpecId = SpecId::CANCUN;
/// The revm version gas and execution rules come from; pinned in `Cargo.toml` and the journal.
pub const REVM_VERSION: &str = "43.0.3";

/// Chain id of the embedded chain unless configured otherwise (anvil's default).
pub const DEFAULT_CHAIN_ID: u64 = 31_337;

/// The well-known first development key of anvil/hardhat
/// (`0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266`). It funds accounts and deploys the contract
/// on the embedded chain, so the contract lands at the same address as on a fresh anvil
/// (`0x5FbDB2315678afecb367f032d93F642f64180aa3`). Public: never hold value with it on a real
/// chain.
pub const DEV_PRIVATE_KEY: B256 =
    alloy::primitives::b256!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

const GWEI: u64 = 1_000_000_000;

/// How block timestamps advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockClock {
    /// Wall-clock seconds, strictly increasing (`max(now, previous + 1)`).
    System,
    /// `previous + step` from the genesis timestamp: fully deterministic (tests, benchmarks).
    Fixed {
        /// Seconds between consecutive blocks (at least 1).
        step: u64,
    },
}

/// Configuration of an [`EmbeddedChain`]. Fields that change what a replay computes are pinned
/// in the journal header; a journal opens only with the same values.
#[derive(Clone, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// Chain id signed into transactions (pinned).
    pub chain_id: u64,
    /// Base fee of every block in wei (pinned).
    pub base_fee_per_gas: u64,
    /// Suggested tip returned by [`Chain::fees`] (not pinned).
    pub suggested_tip: u64,
    /// Gas limit of every block (pinned).
    pub block_gas_limit: u64,
    /// Timestamp of block 0 (pinned).
    pub genesis_timestamp: u64,
    /// How timestamps advance (not pinned: timestamps are stored per block).
    pub clock: BlockClock,
    /// Key that is funded at genesis, deploys the contract and pays [`EmbeddedChain::fund`]
    /// (its address and balance are pinned).
    pub dev_key: B256,
    /// Genesis balance of the dev key's address (pinned).
    pub dev_balance: U256,
    /// `fsync` the journal after every transaction (default `true`).
    pub fsync: bool,
}

impl std::fmt::Debug for EmbeddedConfig {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedConfig")
            .field("chain_id", &self.chain_id)
            .field("base_fee_per_gas", &self.base_fee_per_gas)
            .field("suggested_tip", &self.suggested_tip)
            .field("block_gas_limit", &self.block_gas_limit)
            .field("genesis_timestamp", &self.genesis_timestamp)
            .field("clock", &self.clock)
            .field("dev_balance", &self.dev_balance)
            .field("fsync", &self.fsync)
            .finish_non_exhaustive()
    }
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            chain_id: DEFAULT_CHAIN_ID,
            base_fee_per_gas: GWEI,
            suggested_tip: GWEI,
            block_gas_limit: 30_000_000,
            // 2023-11-14T22:13:20Z; later blocks follow the clock.
            genesis_timestamp: 1_700_000_000,
            clock: BlockClock::System,
            dev_key: DEV_PRIVATE_KEY,
            // 10^9 ether: dev funding never runs dry.
            dev_balance: U256::from(10u64).pow(U256::from(27u64)),
            fsync: true,
        }
    }
}

/// An in-process EVM chain persisted in a directory. Cheap to clone (shared state).
///
/// The EVM lives on a dedicated thread (revm's EVM and context are not `Send`); every
/// operation is a job sent to that thread, answered through a oneshot channel. The thread
/// stops, and the journal is closed, when the last clone is dropped.
#[derive(Clone)]
pub struct EmbeddedChain {
    worker: Arc<Worker>,
    dev: TxSigner,
    contract: Address,
    chain_id: u64,
    journal_path: PathBuf,
}

impl std::fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("journal", &self.journal_path)
            .field("chain_id", &self.chain_id)
            .field("contract", &self.contract)
            .field("dev", &self.dev)
            .finish()
    }
}

type Evm = MainnetEvm<MainnetContext<InMemoryDB>>;
type Job = Box<dyn FnOnce(&mut Inner) + Send>;

/// The EVM thread's handle: dropping it closes the job channel and joins the thread.
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            // The thread ends as soon as the channel is closed; a panic there was already
            // reported to the caller of the job that panicked.
            let _ = t.join();
        }
    }
}

fn stopped() -> ChainError {
    ChainError::Contract("the embedded chain's EVM thread has stopped".into())
}

#[derive(Debug, Clone, Copy)]
struct Head {
    number: u64,
    timestamp: u64,
    hash: B256,
}

struct Inner {
    evm: Evm,
    config: EmbeddedConfig,
    head: Head,
    receipts: HashMap<TxHash, Receipt>,
    /// Mined transactions in block order (one per block: block n is `mined[n - 1]`).
    mined: Vec<TxHash>,
    /// Hash of block 0 (blocks after it take theirs from their receipt).
    genesis_hash: B256,
    journal: Journal,
}

impl EmbeddedChain {
    /// Opens the chain persisted in `dir`, or creates it there: genesis with the dev account
    /// funded, then the `IdentityState` deployment from the dev key as the first block.
    /// An existing journal is replayed from genesis.
    ///
    /// Blocks until the replay is done (≈15 µs per transaction); call it from
    /// `spawn_blocking` if the journal may be long.
    ///
    /// # Errors
    /// [`ChainError::Io`] for file errors, [`ChainError::Journal`] if the journal belongs to
    /// another configuration or does not replay.
    pub fn open(dir: impl AsRef<Path>, config: EmbeddedConfig) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        let dev = TxSigner::from_private_key(&config.dev_key, config.chain_id)?;
        let chain_id = config.chain_id;
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready_tx, ready) = mpsc::channel::<Result<(Address, PathBuf)>>();
        let thread_dev = dev.clone();
        let thread = std::thread::Builder::new()
            .name("claimd-embedded-chain".into())
            .spawn(move || {
                let mut inner = match Inner::open(&dir, config, &thread_dev) {
                    Ok((inner, contract)) => {
                        let path = inner.journal.path().to_owned();
                        if ready_tx.send(Ok((contract, path))).is_err() {
                            return;
                        }
                        inner
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = inbox.recv() {
                    job(&mut inner);
                }
            })
            .map_err(|e| ChainError::Contract(format!("cannot start the EVM thread: {e}")))?;
        let worker = Arc::new(Worker {
            jobs: Some(jobs),
            thread: Some(thread),
        });
        let (contract, journal_path) = ready.recv().map_err(|_| stopped())??;
        Ok(Self {
            worker,
            dev,
            contract,
            chain_id,
            journal_path,
        })
    }

    /// Address of the `IdentityState` contract deployed at the chain's first block.
    pub fn contract_address(&self) -> Address {
        self.contract
    }

    /// A signer for the dev key (funded at genesis; deployer of the contract).
    pub fn dev_signer(&self) -> &TxSigner {
        &self.dev
    }

    /// The journal file.
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    /// Sends `amount` wei from the dev account to `to` (mined and persisted at once).
    ///
    /// # Errors
    /// [`ChainError::InsufficientFunds`] if the dev account is drained; storage errors.
    pub async fn fund(&self, to: Address, amount: U256) -> Result<Receipt> {
        let dev = self.dev.clone();
        self.run(move |inner| {
            let nonce = inner.account(dev.address()).nonce;
            let base = inner.config.base_fee_per_gas;
            let tx = dev.sign_transfer(
                to,
                amount,
                TxParams {
                    nonce,
                    gas_limit: TRANSFER_GAS_LIMIT,
                    max_fee_per_gas: base.into(),
                    max_priority_fee_per_gas: 0,
                },
            )?;
            inner.mine(tx.raw)
        })
        .await
    }

    /// Runs `f` on the EVM thread and returns its result.
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |inner| {
            let _ = reply.send(f(inner));
        });
        self.worker
            .jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Inner {
    /// Builds genesis, replays the journal and, on a new chain, deploys the contract.
    /// Returns the chain and the contract address.
    fn open(dir: &Path, config: EmbeddedConfig, dev: &TxSigner) -> Result<(Self, Address)> {
        let artifact = crate::abi::artifact()?;
        let header = Header::new(
            config.chain_id,
            SPEC.into(),
            config.base_fee_per_gas,
            config.block_gas_limit,
            config.genesis_timestamp,
            vec![(dev.address(), config.dev_balance)],
            artifact.bytecode_hash(),
        );
        let (journal, records) = Journal::open(dir, &header, config.fsync)?;
        let journal_path = journal.path().to_owned();

        let mut db = InMemoryDB::default();
        for (address, balance) in &header.alloc {
            db.insert_account_info(*address, AccountInfo::from_balance(*balance));
        }
        let chain_id = config.chain_id;
        let evm = Context::mainnet()
            .with_db(db)
            .modify_cfg_chained(|c| {
                c.chain_id = chain_id;
                c.set_spec_and_mainnet_gas_params(SPEC);
            })
            .build_mainnet();
        let genesis_hash = keccak256(
            [
                b"claimd-embedded-genesis".as_slice(),
                &chain_id.to_be_bytes(),
                &config.genesis_timestamp.to_be_bytes(),
            ]
            .concat(),
        );
        let mut inner = Inner {
            evm,
            head: Head {
                number: 0,
                timestamp: config.genesis_timestamp,
                hash: genesis_hash,
            },
            config,
            receipts: HashMap::new(),
            mined: Vec::new(),
            genesis_hash,
            journal,
        };

        let started = std::time::Instant::now();
        let replayed = records.len();
        for (i, record) in records.into_iter().enumerate() {
            inner.replay(record).map_err(|e| ChainError::Journal {
                path: journal_path.clone(),
                detail: format!("record {} no longer replays: {e}", i + 1),
            })?;
        }
        if replayed > 0 {
            tracing::info!(
                txs = replayed,
                block = inner.head.number,
                duration_ms = started.elapsed().as_millis() as u64,
                "embedded chain replayed"
            );
        }

        // The contract is the dev key's first creation, made when the chain is new.
        let contract = dev.address().create(0);
        if inner.mined.is_empty() {
            let tx = dev.sign_deploy(TxParams {
                nonce: 0,
                gas_limit: DEFAULT_DEPLOY_GAS_LIMIT,
                max_fee_per_gas: inner.config.base_fee_per_gas.into(),
                max_priority_fee_per_gas: 0,
            })?;
            let receipt = inner.mine(tx.raw)?;
            if !receipt.status || receipt.contract_address != Some(contract) {
                return Err(ChainError::Contract(format!(
                    "deploying IdentityState on the embedded chain failed: {receipt:?}"
                )));
            }
        }
        if inner.code(contract) != artifact.deployed_bytecode {
            return Err(ChainError::Journal {
                path: journal_path,
                detail: format!("no IdentityState code at {contract} after replay"),
            });
        }
        Ok((inner, contract))
    }

    fn account(&self, address: Address) -> AccountInfo {
        // InMemoryDB's error type is Infallible.
        match self.evm.ctx.journaled_state.database.basic_ref(address) {
            Ok(info) => info.unwrap_or_default(),
            Err(never) => match never {},
        }
    }

    fn code(&self, address: Address) -> Bytes {
        let db = &self.evm.ctx.journaled_state.database;
        let info = self.account(address);
        match info.code {
            Some(code) => code.original_bytes(),
            None => match db.code_by_hash_ref(info.code_hash) {
                Ok(code) => code.original_bytes(),
                Err(never) => match never {},
            },
        }
    }

    fn next_timestamp(&self) -> u64 {
        let prev = self.head.timestamp;
        match self.config.clock {
            BlockClock::Fixed { step } => prev.saturating_add(step.max(1)),
            BlockClock::System => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                now.max(prev.saturating_add(1))
            }
        }
    }

    fn block_env(&self, number: u64, timestamp: u64) -> BlockEnv {
        BlockEnv {
            number: U256::from(number),
            timestamp: U256::from(timestamp),
            gas_limit: self.config.block_gas_limit,
            basefee: self.config.base_fee_per_gas,
            // Post-merge: PREVRANDAO must be set; derive it from the parent hash.
            prevrandao: Some(self.head.hash),
            ..Default::default()
        }
    }

    /// Mines `raw` as the next block: execute, journal, then commit.
    fn mine(&mut self, raw: Bytes) -> Result<Receipt> {
        let number = self.head.number + 1;
        let timestamp = self.next_timestamp();
        let (receipt, state) = self.execute(&raw, number, timestamp, None)?;
        // On disk before it is visible: a caller never sees a state the journal lacks.
        self.journal.append(&Record {
            block: number,
            timestamp,
            from: receipt.from,
            raw,
        })?;
        self.evm.commit(state);
        self.seal(receipt.clone());
        Ok(receipt)
    }

    fn replay(&mut self, record: Record) -> Result<()> {
        if record.block != self.head.number + 1 || record.timestamp < self.head.timestamp {
            return Err(ChainError::InvalidTransaction(format!(
                "out of order (block {} at {}, head {} at {})",
                record.block, record.timestamp, self.head.number, self.head.timestamp
            )));
        }
        let (receipt, state) = self.execute(
            &record.raw,
            record.block,
            record.timestamp,
            Some(record.from),
        )?;
        self.evm.commit(state);
        self.seal(receipt);
        Ok(())
    }

    fn seal(&mut self, receipt: Receipt) {
        self.head = Head {
            number: receipt.block_number,
            timestamp: receipt.timestamp,
            hash: receipt.block_hash.unwrap_or_default(),
        };
        self.mined.push(receipt.tx_hash);
        self.receipts.insert(receipt.tx_hash, receipt);
    }

    /// Executes a signed transaction in block (`number`, `timestamp`) without committing.
    /// `Err` means the transaction is invalid and would not be included (nothing changes);
    /// a revert is an `Ok` receipt with status `false` (it is included and pays gas).
    /// `sender` skips signature recovery (replay of the journal, which stores it).
    fn execute(
        &mut self,
        raw: &[u8],
        number: u64,
        timestamp: u64,
        sender: Option<Address>,
    ) -> Result<(Receipt, EvmState)> {
        let envelope = TxEnvelope::decode_2718(&mut &raw[..])
            .map_err(|e| ChainError::InvalidTransaction(format!("undecodable: {e}")))?;
        let from = match sender {
            Some(from) => from,
            None => envelope
                .recover_signer()
                .map_err(|e| ChainError::InvalidTransaction(format!("bad signature: {e}")))?,
        };
        let tx = tx_env(&envelope, from)?;
        let block = self.block_env(number, timestamp);
        self.evm.set_block(block);
        let out = self.evm.transact(tx).map_err(map_evm_error)?;

        let result = out.result;
        let revert_reason = match &result {
            ExecutionResult::Success { .. } => None,
            ExecutionResult::Revert { output, .. } => Some(
                decode_revert(output)
                    .unwrap_or_else(|| format!("reverted without reason ({output})")),
            ),
            ExecutionResult::Halt { reason, .. } => Some(format!("halted: {reason:?}")),
        };
        let tip = envelope
            .effective_tip_per_gas(self.config.base_fee_per_gas)
            .unwrap_or(0);
        let tx_hash = *envelope.tx_hash();
        let block_hash = keccak256(
            [
                self.head.hash.as_slice(),
                &number.to_be_bytes(),
                &timestamp.to_be_bytes(),
                tx_hash.as_slice(),
            ]
            .concat(),
        );
        let receipt = Receipt {
            tx_hash,
            status: result.is_success(),
            block_number: number,
            block_hash: Some(block_hash),
            timestamp,
            transaction_index: 0,
            from,
            to: envelope.to(),
            contract_address: result.created_address(),
            gas_used: result.gas().tx_gas_used(),
            effective_gas_price: u128::from(self.config.base_fee_per_gas) + tip,
            logs: result.logs().to_vec(),
            revert_reason,
        };
        Ok((receipt, out.state))
    }

    /// Runs a call against the latest state in a would-be next block, committing nothing.
    fn simulate(&mut self, req: &CallRequest) -> Result<ExecutionResult> {
        let from = req.from.unwrap_or_default();
        let tx = TxEnv {
            tx_type: 0,
            caller: from,
            gas_limit: self.config.block_gas_limit,
            gas_price: 0,
            kind: req.to.map_or(TxKind::Create, TxKind::Call),
            value: req.value,
            data: req.data.clone(),
            nonce: self.account(from).nonce,
            chain_id: Some(self.config.chain_id),
            ..Default::default()
        };
        let block = self.block_env(self.head.number + 1, self.next_timestamp());
        self.evm.set_block(block);
        // eth_call semantics: no fee, no balance requirement for gas.
        let cfg = &mut self.evm.ctx.cfg;
        cfg.disable_base_fee = true;
        cfg.disable_balance_check = true;
        let out = self.evm.transact(tx);
        let cfg = &mut self.evm.ctx.cfg;
        cfg.disable_base_fee = false;
        cfg.disable_balance_check = false;
        let result = out.map_err(map_evm_error)?.result;
        match result {
            ExecutionResult::Revert { output, .. } => Err(ChainError::reverted(output)),
            ExecutionResult::Halt { reason, .. } => Err(ChainError::Reverted {
                reason: Some(format!("halted: {reason:?}")),
                data: Bytes::new(),
            }),
            ok @ ExecutionResult::Success { .. } => Ok(ok),
        }
    }

    /// Hash of block `number`, `None` past the head.
    fn block_hash(&self, number: u64) -> Option<B256> {
        if number == 0 {
            return Some(self.genesis_hash);
        }
        // Block n holds mined[n - 1].
        let hash = self.mined.get(usize::try_from(number - 1).ok()?)?;
        self.receipts.get(hash).and_then(|r| r.block_hash)
    }

    fn logs(&self, filter: &LogFilter) -> Vec<ChainLog> {
        let to = filter.to_block.unwrap_or(self.head.number);
        let mut out = Vec::new();
        // Block n holds mined[n - 1].
        let first = filter.from_block.max(1);
        for number in first..=to.min(self.head.number) {
            let hash = self.mined[(number - 1) as usize];
            let receipt = &self.receipts[&hash];
            for (index, log) in receipt.logs.iter().enumerate() {
                let topic_ok = filter
                    .topic0
                    .is_none_or(|t| log.topics().first() == Some(&t));
                if log.address == filter.address && topic_ok {
                    out.push(ChainLog {
                        log: log.clone(),
                        block_number: number,
                        tx_hash: hash,
                        log_index: index as u64,
                    });
                }
            }
        }
        out
    }
}

/// revm transaction environment for a decoded, recovered transaction.
fn tx_env(envelope: &TxEnvelope, caller: Address) -> Result<TxEnv> {
    let mut tx = TxEnv {
        caller,
        gas_limit: envelope.gas_limit(),
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        ..Default::default()
    };
    match envelope {
        TxEnvelope::Legacy(t) => {
            tx.tx_type = 0;
            tx.gas_price = t.tx().gas_price;
        }
        TxEnvelope::Eip2930(t) => {
            tx.tx_type = 1;
            tx.gas_price = t.tx().gas_price;
            tx.access_list = t.tx().access_list.clone();
        }
        TxEnvelope::Eip1559(t) => {
            tx.tx_type = 2;
            tx.gas_price = t.tx().max_fee_per_gas;
            tx.gas_priority_fee = Some(t.tx().max_priority_fee_per_gas);
            tx.access_list = t.tx().access_list.clone();
        }
        other => {
            return Err(ChainError::InvalidTransaction(format!(
                "transaction type {} is not supported by the embedded chain",
                other.tx_type()
            )))
        }
    }
    Ok(tx)
}

fn map_evm_error<DbError: std::fmt::Display>(
    e: EVMError<DbError, InvalidTransaction>,
) -> ChainError {
    match e {
        EVMError::Transaction(t) => match t {
            InvalidTransaction::NonceTooLow { tx, state } => ChainError::NonceTooLow {
                tx: Some(tx),
                state: Some(state),
            },
            InvalidTransaction::NonceTooHigh { tx, state } => ChainError::NonceTooHigh {
                tx: Some(tx),
                state: Some(state),
            },
            InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
                ChainError::InsufficientFunds(format!("needs {fee} wei, balance {balance} wei"))
            }
            t @ (InvalidTransaction::GasPriceLessThanBasefee
            | InvalidTransaction::PriorityFeeGreaterThanMaxFee) => {
                ChainError::FeeTooLow(t.to_string())
            }
            t @ (InvalidTransaction::CallerGasLimitMoreThanBlock
            | InvalidTransaction::CallGasCostMoreThanGasLimit { .. }
            | InvalidTransaction::GasFloorMoreThanGasLimit { .. }
            | InvalidTransaction::TxGasLimitGreaterThanCap { .. }) => {
                ChainError::GasLimit(t.to_string())
            }
            t => ChainError::InvalidTransaction(t.to_string()),
        },
        other => ChainError::Contract(format!("embedded EVM: {other}")),
    }
}

#[async_trait]
impl Chain for EmbeddedChain {
    async fn chain_id(&self) -> Result<u64> {
        Ok(self.chain_id)
    }

    async fn block_number(&self) -> Result<u64> {
        self.run(|inner| Ok(inner.head.number)).await
    }

    async fn finalized_block(&self) -> Result<Option<u64>> {
        // One writer, no forks: a mined block is final at once.
        self.run(|inner| Ok(Some(inner.head.number))).await
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        self.run(move |inner| Ok(inner.block_hash(number))).await
    }

    async fn nonce(&self, address: Address, _kind: NonceKind) -> Result<u64> {
        // No pool: pending == latest.
        self.run(move |inner| Ok(inner.account(address).nonce))
            .await
    }

    async fn balance(&self, address: Address) -> Result<U256> {
        self.run(move |inner| Ok(inner.account(address).balance))
            .await
    }

    async fn code(&self, address: Address) -> Result<Bytes> {
        self.run(move |inner| Ok(inner.code(address))).await
    }

    async fn fees(&self) -> Result<FeeSuggestion> {
        self.run(|inner| {
            Ok(FeeSuggestion::from_base_and_tip(
                inner.config.base_fee_per_gas.into(),
                inner.config.suggested_tip.into(),
            ))
        })
        .await
    }

    async fn estimate_gas(&self, request: &CallRequest) -> Result<u64> {
        let request = request.clone();
        // The limit needed is the gas spent before refunds.
        self.run(move |inner| Ok(inner.simulate(&request)?.gas().total_gas_spent()))
            .await
    }

    async fn call(&self, request: &CallRequest) -> Result<Bytes> {
        let request = request.clone();
        self.run(move |inner| Ok(inner.simulate(&request)?.into_output().unwrap_or_default()))
            .await
    }

    async fn send_raw(&self, raw: Bytes) -> Result<TxHash> {
        self.run(move |inner| inner.mine(raw).map(|r| r.tx_hash))
            .await
    }

    async fn receipt(&self, hash: TxHash) -> Result<Option<Receipt>> {
        self.run(move |inner| Ok(inner.receipts.get(&hash).cloned()))
            .await
    }

    async fn logs(&self, filter: &LogFilter) -> Result<Vec<ChainLog>> {
        let filter = filter.clone();
        self.run(move |inner| Ok(inner.logs(&filter))).await
    }
}
