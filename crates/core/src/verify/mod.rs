//! Credential verification (`POST /v1/credentials/verify`, `claimd verify`): everything a
//! verifier can check about an iden3 credential from the document itself, the chain and the
//! issuer's revocation status.
//!
//! [`verify`] answers a [`VerificationReport`]: one [`Check`] per property, by stable name, and
//! `valid` = no check failed and at least one proof (signature or Merkle tree) holds. A
//! credential that does not hold is still a report (`valid: false`); only a body that is not a
//! credential at all is an error ([`VerifyError::NotACredential`]), and so is a dependency that
//! cannot be asked ([`VerifyError::Unavailable`]): "could not check" is never reported as
//! "invalid".
//!
//! The checks (names are part of the API; never rename them):
//!
//! | name | what must hold |
//! |---|---|
//! | [`CORE_CLAIM`] | the core claim rebuilt from the document (the VC minus `proof`, merklized; schema hash of the expanded type IRI; subject ID; expiration; revocation nonce) equals every proof's `coreClaim` |
//! | [`SIGNATURE`] | `BJJSignature2021`: the signature over `Poseidon(hIndex, hValue)` verifies with the key of `issuerData.authCoreClaim`; that auth claim is in `issuerData.state.claimsTreeRoot` (its MTP); `state.value` = `Poseidon(claims, revocation, roots)` |
//! | [`ISSUER_STATE`] | `issuerData.id` is the VC's `issuer`, and the signature proof's `issuerData.state.value` is a state of that identity on chain (or the genesis state its ID derives from) |
//! | [`MTP`] | `Iden3SparseMerkleTreeProof`: the claim is in `claimsTreeRoot`, the state is `Poseidon(roots)` and on chain for the issuer, at the block the proof names; `skipped` while the credential is not yet published |
//! | [`REVOCATION`] | the `SparseMerkleTreeProof` status: its state is `Poseidon(roots)`, on chain for the issuer and current (the latest, or replaced less than an hour ago); the nonce's proof against `revocationTreeRoot` says absent; the issuer's auth key is not revoked either |
//! | [`EXPIRATION`] | `expirationDate` is absent or in the future |
//! | [`ISSUER_RECORD`] | for an issuer this service hosts, the credential (minus `proof`) is the one it issued; `skipped` for other issuers. iden3 proofs do not cover everything: the merklized claim leaves out the credential's own `id` |
//!
//! Where the outside world comes in — merklization contexts, the chain, revocation statuses —
//! is the [`VerifyContext`] port; [`Verifier`] is the service's implementation.
//!
//! # Work limits
//!
//! The endpoint is public, so what one body can cost is bounded, cheapest check first, and
//! every refusal is a [`VerifyError::LimitExceeded`] naming the limit (HTTP 422):
//!
//! | limit | where | default | what it bounds |
//! |---|---|---|---|
//! | [`limits::MAX_DEPTH`] | raw body, before parsing; then the parsed body | 16 | nesting of arrays and objects |
//! | [`limits::MAX_VALUES`] | parsed body | 4096 | JSON values (objects, arrays, scalars) |
//! | [`limits::MAX_BLANK_NODES`] | the credential without `proof` and `@context` | 32 | objects without `id`/`@id`, plus distinct `_:` labels |
//! | [`limits::MAX_PROOFS`] | `proof` | 4 | proofs (each costs chain look-ups) |
//! | `max_statements`, `max_rdf_blank_nodes`, `max_normalization_work` | the merklizer, on the RDF statements, before URDNA2015 | 10 000, 512, 1 000 000 | statements; blank nodes; an upper bound of URDNA2015's steps (see `claimd_merklize::CanonLimits`) |
//!
//! The structure check ([`VerifyError::NotACredential`], 400) and these pre-scans run before
//! merklization, the chain and the database are touched; within one verification every
//! identity-state look-up and every revocation status is asked once (a verification reads the
//! same state for several checks). Outside this module, the HTTP layer runs verifications on
//! the blocking pool behind a semaphore with a deadline (busy: 503 with `Retry-After`), and
//! the binary gives verification's chain reads a short TTL cache and their own concurrency
//! budget, apart from the publisher's. The limits are [`VerifyLimits`], set by the operator
//! (`[verify]` in `claimd.toml`) and read through [`VerifyContext::limits`].

mod claim;
mod context;
mod credential;
mod expiration;
pub mod limits;
mod memo;
mod mtp;
mod proof;
mod record;
mod revocation;
mod service;
mod signature;
mod state;

#[cfg(test)]
mod tests;

pub use context::{
    ChainState, IdentityStates, IssuedRecord, LookupError, MerklizedCredential, VerifyContext,
};
pub use limits::VerifyLimits;
pub use service::Verifier;

use serde::{Deserialize, Serialize};

/// [`CORE_CLAIM`] .. [`ISSUER_RECORD`]: the names of the checks, in report order.
pub const CORE_CLAIM: &str = "core_claim";
pub const SIGNATURE: &str = "signature";
pub const ISSUER_STATE: &str = "issuer_state";
pub const MTP: &str = "mtp";
pub const REVOCATION: &str = "revocation";
pub const EXPIRATION: &str = "expiration";
pub const ISSUER_RECORD: &str = "issuer_record";

/// Every check name, in the order a report lists them.
pub const CHECK_NAMES: [&str; 7] = [
    CORE_CLAIM,
    SIGNATURE,
    ISSUER_STATE,
    MTP,
    REVOCATION,
    EXPIRATION,
    ISSUER_RECORD,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Not applicable to this credential (e.g. no Merkle tree proof yet).
    Skipped,
}

/// One verified property: `{"name", "status", "detail"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    /// What was found, in words (why it failed, or what it was checked against).
    pub detail: String,
}

impl Check {
    pub fn pass(name: &str, detail: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Pass, detail)
    }

    pub fn fail(name: &str, detail: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Fail, detail)
    }

    pub fn skipped(name: &str, detail: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Skipped, detail)
    }

    fn new(name: &str, status: CheckStatus, detail: impl Into<String>) -> Check {
        Check {
            name: name.to_owned(),
            status,
            detail: detail.into(),
        }
    }
}

/// `{"valid": bool, "checks": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationReport {
    pub valid: bool,
    pub checks: Vec<Check>,
}

impl VerificationReport {
    /// Valid iff nothing failed and some proof actually held: a credential whose proofs were
    /// all skipped proves nothing.
    fn from_checks(checks: Vec<Check>) -> VerificationReport {
        let failed = checks.iter().any(|c| c.status == CheckStatus::Fail);
        let proven = checks
            .iter()
            .any(|c| (c.name == SIGNATURE || c.name == MTP) && c.status == CheckStatus::Pass);
        VerificationReport {
            valid: !failed && proven,
            checks,
        }
    }

    /// The check called `name`, if reported.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// How its issuer's records name a credential: the VC's `issuer` and the `coreClaimHash` of its
/// proofs' claim (the record [`ISSUER_RECORD`] compares with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedAs {
    pub issuer_did: String,
    pub core_claim_hash: String,
}

/// What `vc` names itself in its issuer's records; `None` when it is not a credential or no
/// proof carries a `coreClaim`. Only a credential whose `issuer_record` check passed is
/// known to be that record.
pub fn issued_as(vc: &serde_json::Value) -> Option<IssuedAs> {
    // Called on a body `verify` has already accepted: its proof limit is already enforced.
    let c = credential::Credential::parse(vc, usize::MAX).ok()?;
    Some(IssuedAs {
        issuer_did: c.issuer.to_owned(),
        core_claim_hash: record::core_claim_hash(&c)?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// 400: the body is not a verifiable credential (not an object, no `proof`, …).
    #[error("{0}")]
    NotACredential(String),
    /// 503: the database or the chain could not be asked, so nothing can be concluded.
    #[error("cannot verify now: {0}")]
    Unavailable(String),
    /// 422: the body exceeds a work limit (see the module docs); refused before the work.
    #[error("Verification limit {limit} exceeded: {detail}")]
    LimitExceeded {
        /// The limit's name (`max_depth`, `max_normalization_work`, …).
        limit: &'static str,
        /// What the body has, and what is accepted.
        detail: String,
    },
}

/// Verifies `vc` (the whole credential, with its `proof`); see the module docs for the checks.
///
/// # Errors
/// [`VerifyError::NotACredential`] when `vc` lacks the members every credential has;
/// [`VerifyError::LimitExceeded`] when it exceeds [`VerifyContext::limits`] (or the
/// merklizer's);
/// [`VerifyError::Unavailable`] when `ctx` cannot reach the chain or the database.
pub async fn verify(
    vc: &serde_json::Value,
    ctx: &dyn VerifyContext,
) -> Result<VerificationReport, VerifyError> {
    let limits = ctx.limits();
    // Cheapest first: the shape (constant time), then one linear pass, then the work.
    let credential = credential::Credential::parse(vc, limits.max_proofs)?;
    limits::check(vc, &limits)?;
    // Every state and revocation status asked once, however many checks read it.
    let memo = memo::Memo::new(ctx);
    let ctx: &dyn VerifyContext = &memo;
    let now = ctx.now();
    let checks = vec![
        claim::check(&credential, ctx).await?,
        signature::check(&credential),
        signature::check_issuer_state(&credential, ctx).await?,
        mtp::check(&credential, ctx).await?,
        revocation::check(&credential, ctx, now).await?,
        expiration::check(&credential, now),
        record::check(&credential, ctx).await?,
    ];
    Ok(VerificationReport::from_checks(checks))
}
