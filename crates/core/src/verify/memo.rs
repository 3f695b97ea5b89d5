//! One verification asks each question once. The checks read the same identity states (the
//! signature's and the Merkle proof's state is usually the same, the revocation status's too)
//! and the same revocation statuses (a credential's nonce, its issuer's auth key); [`Memo`]
//! wraps the context for the duration of one [`super::verify`] and answers repeats from a map.
//! Only answers are kept: a failed look-up is asked again (and fails the verification anyway).

use super::context::{
    ChainState, IdentityStates, IssuedRecord, LookupError, MerklizedCredential, VerifyContext,
};
use super::VerifyLimits;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_iden3::id::Id;
use claimd_iden3::Fr;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Memo<'a> {
    inner: &'a dyn VerifyContext,
    states: Mutex<HashMap<(Id, Fr), Option<ChainState>>>,
    latest: Mutex<HashMap<Id, Option<ChainState>>>,
    statuses: Mutex<HashMap<(String, u64), Value>>,
}

impl<'a> Memo<'a> {
    pub fn new(inner: &'a dyn VerifyContext) -> Memo<'a> {
        Memo {
            inner,
            states: Mutex::default(),
            latest: Mutex::default(),
            statuses: Mutex::default(),
        }
    }
}

/// The maps hold plain values: a panic elsewhere cannot leave one half-written.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl IdentityStates for Memo<'_> {
    async fn state(&self, id: &Id, state: Fr) -> Result<Option<ChainState>, LookupError> {
        if let Some(known) = lock(&self.states).get(&(*id, state)) {
            return Ok(*known);
        }
        let answer = self.inner.states().state(id, state).await?;
        lock(&self.states).insert((*id, state), answer);
        Ok(answer)
    }

    async fn latest(&self, id: &Id) -> Result<Option<ChainState>, LookupError> {
        if let Some(known) = lock(&self.latest).get(id) {
            return Ok(*known);
        }
        let answer = self.inner.states().latest(id).await?;
        lock(&self.latest).insert(*id, answer);
        Ok(answer)
    }
}

#[async_trait]
impl VerifyContext for Memo<'_> {
    async fn merklize(&self, document: &Value) -> Result<MerklizedCredential, LookupError> {
        self.inner.merklize(document).await
    }

    fn states(&self) -> &dyn IdentityStates {
        self
    }

    async fn revocation_status(&self, issuer_did: &str, nonce: u64) -> Result<Value, LookupError> {
        let key = (issuer_did.to_owned(), nonce);
        if let Some(known) = lock(&self.statuses).get(&key) {
            return Ok(known.clone());
        }
        let answer = self.inner.revocation_status(issuer_did, nonce).await?;
        lock(&self.statuses).insert(key, answer.clone());
        Ok(answer)
    }

    async fn issued(
        &self,
        issuer_did: &str,
        core_claim_hash: &str,
    ) -> Result<IssuedRecord, LookupError> {
        self.inner.issued(issuer_did, core_claim_hash).await
    }

    fn limits(&self) -> VerifyLimits {
        self.inner.limits()
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.now()
    }
}
