//! The publisher against a real chain (anvil over JSON-RPC) and real stores (SQLite and
//! PostgreSQL): end to end with restarts, stuck-transaction replacement, reconciliation with
//! the chain, an RPC outage, and two publisher instances on one database.

mod common;
mod e2e;
mod instances;
mod outage;
mod reconcile;
mod replacement;
