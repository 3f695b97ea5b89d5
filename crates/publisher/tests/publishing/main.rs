//! The publisher against a real chain (anvil over JSON-RPC) and real stores (SQLite and
//! PostgreSQL): end to end with restarts, stuck-transaction replacement, reconciliation with
//! the chain, an RPC outage, two publisher instances on one database, and finality (reorgs
//! before the finalized block).

mod common;
mod e2e;
mod finality;
mod instances;
mod outage;
mod reconcile;
mod replacement;
