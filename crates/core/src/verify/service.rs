//! The service's [`VerifyContext`]: schema contexts generated from the stored schemas,
//! identity states from the chain (through the [`IdentityStates`] port the binary wires), and
//! revocation statuses from the store, exactly as the public status endpoint serves them.

use super::context::{
    IdentityStates, IssuedRecord, LookupError, MerklizedCredential, VerifyContext,
};
use super::VerifyLimits;
use crate::proofs::{ProofError, Proofs};
use crate::schema::jsonld_context_url;
use crate::store::{Store, StoreError};
use crate::SchemaId;
use async_trait::async_trait;
use claimd_clock::{SharedClock, SystemClock};
use claimd_merklize::{MerklizeError, Merklizer};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// Schema contexts of this service looked up per document, at most.
const MAX_SCHEMA_CONTEXTS: usize = 4;

pub struct Verifier {
    store: Arc<dyn Store>,
    merklizer: Arc<Merklizer>,
    states: Arc<dyn IdentityStates>,
    proofs: Arc<Proofs>,
    public_url: String,
    /// Schemas whose context this verifier registered with the merklizer.
    registered: RwLock<HashSet<SchemaId>>,
    /// Expiration and state freshness are judged by it.
    clock: SharedClock,
    limits: VerifyLimits,
}

impl Verifier {
    pub fn new(
        store: Arc<dyn Store>,
        merklizer: Arc<Merklizer>,
        states: Arc<dyn IdentityStates>,
        proofs: Arc<Proofs>,
        public_url: &str,
    ) -> Verifier {
        Verifier {
            store,
            merklizer,
            states,
            proofs,
            public_url: public_url.trim_end_matches('/').to_owned(),
            registered: RwLock::new(HashSet::new()),
            clock: SystemClock::shared(),
            limits: VerifyLimits::DEFAULT,
        }
    }

    /// Reads time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The same verifier with other work limits (the merklizer's own limits are set on the
    /// merklizer, `claimd_merklize::Merklizer::with_limits`).
    pub fn with_limits(mut self, limits: VerifyLimits) -> Verifier {
        self.limits = limits;
        self
    }

    /// Registers the generated context of every schema of this service the document names.
    /// Only URLs under this service's public URL are considered (nothing is ever fetched);
    /// any other unknown context makes merklization fail, and the check says which.
    async fn register_schema_contexts(&self, document: &Value) -> Result<(), LookupError> {
        let prefix = format!("{}/v1/schemas/", self.public_url);
        let urls: Vec<&str> = match document.get("@context") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ours = urls.into_iter().filter_map(|url| {
            let id = url
                .strip_prefix(&prefix)?
                .strip_suffix(".jsonld")
                .and_then(SchemaId::parse)?;
            // Only the exact URL the service writes into credentials.
            (url == jsonld_context_url(&self.public_url, id)).then_some((url, id))
        });
        // A credential names one schema context; a body naming many only costs lookups.
        for (url, id) in ours.take(MAX_SCHEMA_CONTEXTS) {
            if self.registered.read().expect("lock").contains(&id) {
                continue;
            }
            let schema = self.store.schema(id).await.map_err(unavailable)?;
            if let Some(schema) = schema {
                // Schemas are immutable, so once registered the context stays right.
                self.merklizer
                    .register_context(url, &schema.jsonld_context().to_string())
                    .map_err(|e| LookupError::Failed(e.to_string()))?;
                self.registered.write().expect("lock").insert(id);
            }
        }
        Ok(())
    }
}

/// Merklizes `document` for verification: a limit it exceeds is a [`LookupError::LimitExceeded`]
/// (not a verdict on the credential), any other failure a [`LookupError::Failed`].
pub(crate) fn merklize_with(
    merklizer: &Merklizer,
    document: &Value,
) -> Result<MerklizedCredential, LookupError> {
    let m = merklizer.merklize(document).map_err(|e| match e {
        MerklizeError::LimitExceeded { limit, detail } => {
            LookupError::LimitExceeded { limit, detail }
        }
        e => LookupError::Failed(e.to_string()),
    })?;
    Ok(MerklizedCredential {
        root: m.root(),
        type_iri: m.credential_type_iri().map(str::to_owned),
    })
}

#[async_trait]
impl VerifyContext for Verifier {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    async fn merklize(&self, document: &Value) -> Result<MerklizedCredential, LookupError> {
        self.register_schema_contexts(document).await?;
        merklize_with(&self.merklizer, document)
    }

    fn states(&self) -> &dyn IdentityStates {
        self.states.as_ref()
    }

    fn limits(&self) -> VerifyLimits {
        self.limits
    }

    async fn issued(
        &self,
        issuer_did: &str,
        core_claim_hash: &str,
    ) -> Result<IssuedRecord, LookupError> {
        let Some(issuer) = self
            .store
            .issuer_by_did(issuer_did)
            .await
            .map_err(unavailable)?
        else {
            return Ok(IssuedRecord::NotHosted);
        };
        let record = self
            .store
            .credential_for_partner(core_claim_hash, issuer.partner_id)
            .await
            .map_err(unavailable)?
            .filter(|r| r.issuer_id == issuer.issuer_id);
        let Some(record) = record else {
            return Ok(IssuedRecord::Unknown);
        };
        serde_json::from_str(&record.document)
            .map(IssuedRecord::Document)
            .map_err(|e| LookupError::Unavailable(format!("stored credential document: {e}")))
    }

    async fn revocation_status(&self, issuer_did: &str, nonce: u64) -> Result<Value, LookupError> {
        // The same answer `credentialStatus.id` serves, read directly: the public URL may not
        // be reachable from inside, and nothing is fetched anyway.
        match self.proofs.revocation_status(issuer_did, nonce).await {
            Ok(Some(status)) => serde_json::to_value(status)
                .map_err(|e| LookupError::Unavailable(format!("revocation status: {e}"))),
            Ok(None) => Err(LookupError::Failed(format!(
                "issuer {issuer_did} is not hosted by this service, so its revocation status \
                 cannot be resolved"
            ))),
            Err(ProofError::Store(e)) => Err(unavailable(e)),
            Err(e @ ProofError::Corrupt(_)) => Err(LookupError::Unavailable(e.to_string())),
        }
    }
}

fn unavailable(e: StoreError) -> LookupError {
    LookupError::Unavailable(e.to_string())
}
