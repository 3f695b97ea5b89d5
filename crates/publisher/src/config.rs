//! How a [`crate::Publisher`] behaves: batch size, confirmations and finality, pacing, leases,
//! fees.

use alloy_primitives::U256;
use claimd_chain::{EmbeddedChain, TxSigner, DEFAULT_TRANSIT_GAS_LIMIT};
use claimd_clock::{SharedClock, SystemClock};
use std::time::Duration;

/// How dev mode pays for issuers' transactions.
#[derive(Debug, Clone)]
pub enum Funding {
    /// Issuers are funded by the operator.
    Off,
    /// From the embedded chain's dev account.
    Embedded(EmbeddedChain),
    /// A transfer from a funded dev key (anvil).
    DevKey(TxSigner),
}

/// Which blocks count as final, so that credentials become `ONCHAIN` only when their
/// transition can no longer be reorganised away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Finality {
    /// The transition's block must be at or below the chain's `finalized` block (and
    /// `confirmations` deep). A chain without the tag falls back to depth alone.
    #[default]
    Finalized,
    /// Only `confirmations` blocks of depth: for chains whose `finalized` tag is absent,
    /// wrong, or too slow for the use case (the operator accepts the reorg risk).
    Depth,
}

impl Finality {
    /// The setting's spelling in claimd.toml, the environment and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Finality::Finalized => "finalized",
            Finality::Depth => "depth",
        }
    }
}

impl std::str::FromStr for Finality {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "finalized" => Ok(Finality::Finalized),
            "depth" => Ok(Finality::Depth),
            other => Err(format!(
                "unknown finality {other:?}: expected \"finalized\" or \"depth\""
            )),
        }
    }
}

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;

#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Most claims and most revocations in one transition.
    pub batch_cap: u32,
    /// Blocks after the one that includes the transaction before it counts as confirmed.
    pub confirmations: u64,
    /// Whether the chain's `finalized` block must also have reached the transaction's block
    /// (default [`Finality::Finalized`]).
    pub finality: Finality,
    /// Pause between rounds when nothing progressed.
    pub poll_interval: Duration,
    /// How long a publisher keeps an issuer after its last step.
    pub lease_ttl: Duration,
    /// Who this publisher is, for leases. Stable across restarts of one instance, so a
    /// restarted process takes its issuers back at once.
    pub owner: String,
    /// Smallest gas limit of a transition; the chain's estimate plus 20% when that is more.
    pub gas_limit: u64,
    pub funding: Funding,
    /// Amount sent when an issuer's balance cannot pay one transaction (dev mode).
    pub funding_amount: U256,
    /// How long the newest transaction of a transition may wait unmined before it is replaced
    /// by one with the same nonce and higher fees (default 60 s).
    pub replace_after: Duration,
    /// How much a replacement raises both fees, in thousandths (default 125: +12.5%, above
    /// the +10% geth and most pools require).
    pub fee_bump_permille: u32,
    /// Ceiling of `maxFeePerGas` in wei, for first transactions and replacements alike
    /// (default 1000 gwei). A transaction stuck at the ceiling waits instead of being replaced.
    pub max_fee_per_gas: u128,
    /// Longest pause before an issuer whose step failed is tried again; the pause doubles
    /// from `poll_interval` on each consecutive failure (default 30 s).
    pub max_error_backoff: Duration,
    /// Issuers driven at once (default 4). Issuers are independent — each has its own lease,
    /// Ethereum account and trees — so one issuer's tree computation or chain round trips
    /// need not hold the others' steps up.
    pub parallel_issuers: usize,
    /// Tree computations running at once, each on a blocking thread (default: half the cores,
    /// at least one), so that the publisher's hashing never takes every core from the request
    /// path however many issuers have work.
    pub tree_threads: usize,
    /// Where time comes from: the age of a stuck transaction (against its stored
    /// `recorded_at`), publish lag, error back-off. [`SystemClock`] unless a test passes a
    /// `ManualClock` to move time without sleeping.
    pub clock: SharedClock,
}

impl PublisherConfig {
    pub fn new(owner: impl Into<String>) -> Self {
        PublisherConfig {
            batch_cap: 1000,
            confirmations: 0,
            finality: Finality::Finalized,
            poll_interval: Duration::from_millis(500),
            lease_ttl: Duration::from_secs(30),
            owner: owner.into(),
            gas_limit: DEFAULT_TRANSIT_GAS_LIMIT,
            funding: Funding::Off,
            funding_amount: U256::from(10u64).pow(U256::from(18u64)),
            replace_after: Duration::from_secs(60),
            fee_bump_permille: 125,
            max_fee_per_gas: 1000 * GWEI,
            max_error_backoff: Duration::from_secs(30),
            parallel_issuers: 4,
            tree_threads: std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            clock: SystemClock::shared(),
        }
    }
}
