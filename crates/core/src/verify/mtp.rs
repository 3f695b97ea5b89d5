//! `mtp`: the `Iden3SparseMerkleTreeProof` the credential gets once the issuer's state that
//! includes its claim is on chain. The claim must be a leaf of the claims tree the proof names,
//! and that state must be the issuer's on chain, recorded at the block the proof says.

use super::context::VerifyContext;
use super::credential::{Credential, SMT_PROOF, SMT_PROOF_OLD};
use super::proof::{self, StateRoots};
use super::state::{published, Published};
use super::{Check, VerifyError, MTP};
use claimd_iden3::id::Id;
use serde_json::{Map, Value};

pub async fn check(c: &Credential<'_>, ctx: &dyn VerifyContext) -> Result<Check, VerifyError> {
    let proofs = c.proofs_of_type(&[SMT_PROOF, SMT_PROOF_OLD]);
    if proofs.is_empty() {
        return Ok(Check::skipped(
            MTP,
            format!(
                "no {SMT_PROOF} yet: the credential is not yet published (the proof is added once \
                 the issuer's state with its claim is on chain)"
            ),
        ));
    }
    let mut found = Vec::new();
    for p in proofs {
        let (id, state) = match read(p, c.issuer) {
            Ok(v) => v,
            Err(e) => return Ok(Check::fail(MTP, e)),
        };
        let status = published(ctx.states(), &id, state.value).await?;
        match &status {
            Published::OnChain(record) => {
                if let Err(e) = same_block(p, record) {
                    return Ok(Check::fail(MTP, e));
                }
            }
            Published::Genesis => {}
            Published::Unknown => {
                return Ok(Check::fail(
                    MTP,
                    format!(
                        "the proof's {} for issuer {}",
                        status.describe(state.value),
                        c.issuer
                    ),
                ))
            }
        }
        found.push(status.describe(state.value));
    }
    Ok(Check::pass(
        MTP,
        format!("the claim is in the claims tree of {}", found.join("; ")),
    ))
}

/// The proof's own consistency: issuer, claim in the claims tree, state = Poseidon(roots).
fn read(p: &Map<String, Value>, issuer: &str) -> Result<(Id, StateRoots), String> {
    let what = format!("{SMT_PROOF} proof");
    let data = proof::issuer_data(p, SMT_PROOF)?;
    let id = proof::issuer_id(data, issuer, SMT_PROOF)?;
    let state = StateRoots::of_issuer_data(data)?;
    let claim = proof::claim(p, "coreClaim", &what)?;
    let mtp = proof::merkle_proof(p, "mtp", &what)?;
    state.check_proves(&mtp, &claim, "mtp", "claim")?;
    Ok((id, state))
}

/// `blockNumber` / `blockTimestamp`, when the proof gives them, are where the chain recorded
/// the state.
fn same_block(p: &Map<String, Value>, record: &super::ChainState) -> Result<(), String> {
    let state = &p["issuerData"]["state"];
    let claimed = |key: &str| -> Result<Option<u64>, String> {
        match state.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("issuerData.state.{key} {v} is not a number")),
        }
    };
    if let Some(b) = claimed("blockNumber")? {
        if b != record.created_at_block {
            return Err(format!(
                "issuerData.state.blockNumber is {b}, the chain recorded the state at block {}",
                record.created_at_block
            ));
        }
    }
    // 0 is "not recorded" (what claimd wrote for states confirmed before it kept timestamps).
    if let Some(t) = claimed("blockTimestamp")?.filter(|t| *t != 0) {
        if t != record.created_at_timestamp {
            return Err(format!(
                "issuerData.state.blockTimestamp is {t}, the chain recorded the state at {}",
                record.created_at_timestamp
            ));
        }
    }
    Ok(())
}
