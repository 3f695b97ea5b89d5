//! Test helpers: an anvil process per test, iden3 IDs of Ethereum addresses, keys.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use claimd_chain::{TxSigner, DEFAULT_RPC_TIMEOUT};

/// Repository root, from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A throwaway anvil on a free loopback port, stopped (by its PID) on drop.
pub struct Anvil {
    child: Child,
    pub url: String,
}

impl Anvil {
    /// Starts `interop/node_modules/.bin/anvil` with the embedded chain's chain id and EVM
    /// version, and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`Anvil::start`], with extra command-line arguments (e.g. `--no-mining`).
    pub fn start_with(extra: &[&str]) -> Self {
        let bin = repo_root().join("interop/node_modules/.bin/anvil");
        assert!(
            bin.exists(),
            "anvil not found at {}: run `npm ci --prefix interop`",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", "31337", "--hardfork", "cancun"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let anvil = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "anvil did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        anvil
    }

    pub fn chain(&self) -> claimd_chain::JsonRpcChain {
        claimd_chain::JsonRpcChain::new(&self.url, DEFAULT_RPC_TIMEOUT).expect("rpc client")
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // `.bin/anvil` is a node wrapper that forwards SIGTERM to the real binary; SIGKILL
        // would orphan it. So: TERM by PID, wait, and only then KILL.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// iden3 ID type bytes for `did:iden3:polygon:amoy` (method 0x01, network flag 0x13).
pub const ID_TYPE: [u8; 2] = [0x01, 0x13];

/// The iden3 ID an Ethereum address controls (`claimd-iden3`), as the contract's integer.
pub fn eth_id(id_type: [u8; 2], address: Address) -> U256 {
    let id = claimd_iden3::id::Id::from_eth_address(id_type, &address.0 .0);
    // The contract's `uint256 id` is the 31 ID bytes read little-endian.
    U256::from_le_slice(id.as_bytes())
}

/// A deterministic test key (never 0).
pub fn key(n: u8) -> B256 {
    let mut k = B256::repeat_byte(0x42);
    k.0[31] = n;
    k
}

pub fn signer(n: u8, chain_id: u64) -> TxSigner {
    TxSigner::from_private_key(&key(n), chain_id).expect("valid key")
}

pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}
