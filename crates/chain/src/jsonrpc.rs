//! [`JsonRpcChain`]: any EVM chain over HTTP JSON-RPC (alloy), e.g. Moca Chain testnet or anvil.
//!
//! A plain provider without wallet or fillers: claimd signs its own transactions
//! ([`crate::TxSigner`]) and submits them with `eth_sendRawTransaction`. Node error messages
//! are mapped to typed [`ChainError`]s (revert with reason, nonce too low, replacement
//! underpriced, transport/timeout) so the publisher can reconcile.

use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::network::Ethereum;
use alloy::primitives::{Address, Bytes, TxHash, TxKind, B256, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::transports::http::reqwest;
use alloy::transports::{RpcError, TransportErrorKind};
use async_trait::async_trait;

use crate::chain::{CallRequest, Chain, ChainLog, FeeSuggestion, LogFilter, NonceKind, Receipt};
use crate::error::{classify_rejection, ChainError, Result};

/// Default per-request timeout.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(15);

/// An EVM chain reached over HTTP(S) JSON-RPC.
#[derive(Clone)]
pub struct JsonRpcChain {
    provider: RootProvider<Ethereum>,
    /// Scheme, host and port only: RPC URLs often carry API keys in the path or query.
    endpoint: String,
    timeout: Duration,
}

impl std::fmt::Debug for JsonRpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonRpcChain")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl JsonRpcChain {
    /// A chain at `url` (`http://` or `https://`), each request bounded by `timeout`.
    /// Nothing is sent until the first call.
    ///
    /// # Errors
    /// [`ChainError::Transport`] if the URL does not parse or the HTTP client cannot be built.
    pub fn new(url: &str, timeout: Duration) -> Result<Self> {
        let parsed: reqwest::Url = url
            .parse()
            .map_err(|e| ChainError::Transport(format!("bad RPC URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ChainError::Transport(format!(
                "RPC URL must be http(s), got {}",
                parsed.scheme()
            )));
        }
        let endpoint = format!(
            "{}://{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or(""),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("claimd-chain/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChainError::Transport(format!("HTTP client: {e}")))?;
        let client = RpcClient::new_http_with_client(http, parsed);
        Ok(Self {
            provider: RootProvider::new(client),
            endpoint,
            timeout,
        })
    }

    /// The alloy provider, for ad-hoc JSON-RPC calls beyond the [`Chain`] trait.
    pub fn provider(&self) -> &RootProvider<Ethereum> {
        &self.provider
    }

    fn err(&self, e: RpcError<TransportErrorKind>) -> ChainError {
        map_rpc_error(e, self.timeout)
    }

    /// Best-effort revert reason of a failed transaction: nodes do not put it in receipts, so
    /// re-run the same call on the state before its block. Transactions earlier in the same
    /// block are not replayed, so the answer can differ in rare cases; `None` if unknown.
    async fn replay_revert_reason(&self, hash: TxHash, block_number: u64) -> Option<String> {
        use alloy::consensus::Transaction as _;
        use alloy::network::TransactionResponse as _;
        let tx = self.provider.get_transaction_by_hash(hash).await.ok()??;
        let mut req = TransactionRequest::default()
            .from(tx.from())
            .input(tx.input().clone().into())
            .value(tx.value())
            .gas_limit(tx.gas_limit());
        req.to = Some(tx.kind());
        let parent = BlockNumberOrTag::Number(block_number.saturating_sub(1));
        match self.provider.call(req).block(parent.into()).await {
            Ok(_) => None,
            Err(e) => match self.err(e) {
                ChainError::Reverted { reason, .. } => reason,
                _ => None,
            },
        }
    }

    fn request(req: &CallRequest) -> TransactionRequest {
        let mut tx = TransactionRequest::default()
            .input(req.data.clone().into())
            .value(req.value);
        tx.to = Some(req.to.map_or(TxKind::Create, TxKind::Call));
        tx.from = req.from;
        tx
    }
}

/// Maps an alloy RPC error to a typed [`ChainError`].
pub(crate) fn map_rpc_error(e: RpcError<TransportErrorKind>, timeout: Duration) -> ChainError {
    match e {
        RpcError::ErrorResp(payload) => {
            if let Some(data) = payload.as_revert_data() {
                return ChainError::reverted(data);
            }
            let message = payload.message.to_string();
            if let Some(reason) = message
                .strip_prefix("execution reverted")
                .map(|r| r.trim_start_matches([':', ' ']))
            {
                return ChainError::Reverted {
                    reason: (!reason.is_empty()).then(|| reason.to_owned()),
                    data: Bytes::new(),
                };
            }
            classify_rejection(&message).unwrap_or(ChainError::Rpc {
                code: payload.code,
                message,
            })
        }
        RpcError::Transport(kind) => match kind {
            TransportErrorKind::Custom(inner) => {
                if let Some(re) = inner.downcast_ref::<reqwest::Error>() {
                    if re.is_timeout() {
                        return ChainError::Timeout(timeout);
                    }
                }
                ChainError::Transport(error_chain(inner.as_ref()))
            }
            other => ChainError::Transport(other.to_string()),
        },
        RpcError::NullResp => ChainError::decode("JSON-RPC response", "null result"),
        RpcError::DeserError { err, text } => {
            let mut text = text;
            text.truncate(200);
            ChainError::decode("JSON-RPC response", format!("{err}: {text}"))
        }
        other => ChainError::Transport(other.to_string()),
    }
}

/// Whether a node's error answer to `eth_getBlockByNumber("finalized")` means it has no
/// finalized tag (so depth must be used) rather than a failure worth reporting. Nodes word
/// it differently: geth before the merge says "finalized block not found", others reject
/// the tag as an invalid parameter or an unknown block, or lack the method's variant.
fn lacks_finalized_tag(code: i64, message: &str) -> bool {
    const METHOD_NOT_FOUND: i64 = -32601;
    const INVALID_PARAMS: i64 = -32602;
    let m = message.to_ascii_lowercase();
    code == METHOD_NOT_FOUND
        || code == INVALID_PARAMS
        || m.contains("unknown block")
        || m.contains("block not found")
        || m.contains("invalid block")
        || m.contains("not supported")
        || m.contains("unsupported")
}

/// The error and its causes, with any URL removed: reqwest names the request's URL, and an RPC
/// URL often carries an API key in its path or credentials in its authority.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = without_urls(&e.to_string());
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&without_urls(&inner.to_string()));
        source = inner.source();
    }
    s
}

/// Replaces every `for url (…)` (reqwest's wording) and every bare `http(s)://…` word.
fn without_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" for url (") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " for url (".len()..];
        match after.find(')') {
            Some(j) => rest = &after[j + 1..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out.split(' ')
        .map(|w| {
            if w.contains("http://") || w.contains("https://") {
                "<url>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl Chain for JsonRpcChain {
    async fn chain_id(&self) -> Result<u64> {
        self.provider.get_chain_id().await.map_err(|e| self.err(e))
    }

    async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| self.err(e))
    }

    async fn finalized_block(&self) -> Result<Option<u64>> {
        match self
            .provider
            .get_block_by_number(BlockNumberOrTag::Finalized)
            .await
        {
            Ok(block) => Ok(block.map(|b| b.header.number)),
            Err(RpcError::ErrorResp(payload))
                if lacks_finalized_tag(payload.code, &payload.message) =>
            {
                Ok(None)
            }
            // A null result is how some nodes say "no such block".
            Err(RpcError::NullResp) => Ok(None),
            // Transport failures and other answers are errors: treating them as "no tag" would
            // silently weaken the confirmation rule while the node is unreachable.
            Err(e) => Err(self.err(e)),
        }
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| self.err(e))?;
        Ok(block.map(|b| b.header.hash))
    }

    async fn nonce(&self, address: Address, kind: NonceKind) -> Result<u64> {
        let call = self.provider.get_transaction_count(address);
        let call = match kind {
            NonceKind::Latest => call.latest(),
            NonceKind::Pending => call.pending(),
        };
        call.await.map_err(|e| self.err(e))
    }

    async fn balance(&self, address: Address) -> Result<U256> {
        self.provider
            .get_balance(address)
            .await
            .map_err(|e| self.err(e))
    }

    async fn code(&self, address: Address) -> Result<Bytes> {
        self.provider
            .get_code_at(address)
            .await
            .map_err(|e| self.err(e))
    }

    async fn fees(&self) -> Result<FeeSuggestion> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| ChainError::decode("latest block", "node returned no block"))?;
        match block.header.base_fee_per_gas {
            Some(base) => {
                let tip = self
                    .provider
                    .get_max_priority_fee_per_gas()
                    .await
                    .map_err(|e| self.err(e))?;
                Ok(FeeSuggestion::from_base_and_tip(u128::from(base), tip))
            }
            // Pre-London chain: no base fee; use the legacy gas price for both caps.
            None => {
                let price = self
                    .provider
                    .get_gas_price()
                    .await
                    .map_err(|e| self.err(e))?;
                Ok(FeeSuggestion {
                    base_fee_per_gas: 0,
                    max_priority_fee_per_gas: price,
                    max_fee_per_gas: price,
                })
            }
        }
    }

    async fn estimate_gas(&self, request: &CallRequest) -> Result<u64> {
        self.provider
            .estimate_gas(Self::request(request))
            .await
            .map_err(|e| self.err(e))
    }

    async fn call(&self, request: &CallRequest) -> Result<Bytes> {
        self.provider
            .call(Self::request(request))
            .await
            .map_err(|e| self.err(e))
    }

    async fn send_raw(&self, raw: Bytes) -> Result<TxHash> {
        let pending = self
            .provider
            .send_raw_transaction(&raw)
            .await
            .map_err(|e| self.err(e))?;
        Ok(*pending.tx_hash())
    }

    async fn receipt(&self, hash: TxHash) -> Result<Option<Receipt>> {
        let Some(r) = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        let Some(block_number) = r.block_number else {
            return Ok(None);
        };
        // Receipts carry no timestamp: read it from the block header.
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(block_number))
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                ChainError::decode(
                    "block",
                    format!("block {block_number} of a receipt is missing"),
                )
            })?;
        let revert_reason = if r.status() {
            None
        } else {
            self.replay_revert_reason(hash, block_number).await
        };
        Ok(Some(Receipt {
            tx_hash: r.transaction_hash,
            status: r.status(),
            block_number,
            block_hash: r.block_hash,
            timestamp: block.header.timestamp,
            transaction_index: r.transaction_index.unwrap_or_default(),
            from: r.from,
            to: r.to,
            contract_address: r.contract_address,
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
            logs: r.inner.logs().iter().map(|l| l.inner.clone()).collect(),
            revert_reason,
        }))
    }

    async fn logs(&self, filter: &LogFilter) -> Result<Vec<ChainLog>> {
        let mut f = Filter::new()
            .address(filter.address)
            .from_block(filter.from_block);
        f = match filter.to_block {
            Some(to) => f.to_block(to),
            None => f.to_block(BlockNumberOrTag::Latest),
        };
        if let Some(t) = filter.topic0 {
            f = f.event_signature(t);
        }
        let logs = self.provider.get_logs(&f).await.map_err(|e| self.err(e))?;
        logs.into_iter()
            .map(|l| {
                Ok(ChainLog {
                    block_number: l
                        .block_number
                        .ok_or_else(|| ChainError::decode("log", "missing block number"))?,
                    tx_hash: l
                        .transaction_hash
                        .ok_or_else(|| ChainError::decode("log", "missing transaction hash"))?,
                    log_index: l.log_index.unwrap_or_default(),
                    log: l.inner,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_url_path_and_query() {
        let c = JsonRpcChain::new(
            "https://rpc.example.org:8443/v3/SECRETKEY?x=1",
            DEFAULT_RPC_TIMEOUT,
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("https://rpc.example.org:8443"), "{d}");
        assert!(!d.contains("SECRETKEY"), "{d}");
        assert!(JsonRpcChain::new("ws://x", DEFAULT_RPC_TIMEOUT).is_err());
    }

    #[test]
    fn a_missing_finalized_tag_is_told_from_other_errors() {
        for (code, message) in [
            (-32000, "finalized block not found"),
            (-32602, "invalid params"),
            (-32601, "the method eth_getBlockByNumber does not exist"),
            (-32000, "Unknown block"),
            (-32000, "invalid block number or tag"),
            (-32000, "tag not supported on this chain"),
        ] {
            assert!(lacks_finalized_tag(code, message), "{code} {message}");
        }
        for (code, message) in [
            (-32005, "limit exceeded"),
            (-32000, "header not available: internal error"),
            (-32000, "finalized header lookup timed out"),
            (429, "too many requests"),
        ] {
            assert!(!lacks_finalized_tag(code, message), "{code} {message}");
        }
    }

    #[tokio::test]
    async fn errors_never_carry_the_rpc_url() {
        // Nothing listens on port 9 of loopback: the connection is refused at once.
        let c = JsonRpcChain::new(
            "http://user:hunter2@127.0.0.1:9/v3/SECRETKEY?k=SECRETQUERY",
            Duration::from_secs(2),
        )
        .unwrap();
        let e = c.chain_id().await.unwrap_err().to_string();
        for secret in ["hunter2", "SECRETKEY", "SECRETQUERY", "user:"] {
            assert!(!e.contains(secret), "{e}");
        }
        assert_eq!(
            without_urls("error sending request for url (http://a/b?c) oops https://x/y z"),
            "error sending request oops <url> z"
        );
    }

    #[tokio::test]
    async fn a_node_that_never_answers_is_a_timeout() {
        // Accepts connections and then says nothing.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().take(4).collect();
            std::thread::sleep(Duration::from_secs(5));
            drop(held);
        });
        let c = JsonRpcChain::new(&url, Duration::from_millis(300)).unwrap();
        let e = c.chain_id().await.unwrap_err();
        assert!(matches!(e, ChainError::Timeout(_)), "{e:?}");
        assert!(e.is_transient());
    }

    #[tokio::test]
    async fn an_unreachable_node_is_a_transport_error() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let c = JsonRpcChain::new(&url, Duration::from_secs(2)).unwrap();
        let e = c.block_number().await.unwrap_err();
        assert!(matches!(e, ChainError::Transport(_)), "{e:?}");
        assert!(e.is_transient());
    }
}
