//! Test support (feature `testing`): a throwaway anvil from the repository's npm install
//! (`interop/node_modules/.bin/anvil`, put there by `scripts/setup-test-deps`).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{JsonRpcChain, DEFAULT_RPC_TIMEOUT};

/// The anvil binary: `CLAIMD_ANVIL` if set, else the repository's npm install.
pub fn anvil_bin() -> PathBuf {
    std::env::var_os("CLAIMD_ANVIL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/node_modules/.bin/anvil")
        })
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
        Self::start_on_chain(31_337, extra)
    }

    /// Like [`Anvil::start_with`], with another chain id (e.g. 222888, the chain of
    /// `did:air:id:test`, so that iden3 tools resolving a DID's chain find this one).
    pub fn start_on_chain(chain_id: u64, extra: &[&str]) -> Self {
        let bin = anvil_bin();
        assert!(
            bin.exists(),
            "anvil not found at {}: run scripts/setup-test-deps",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", &chain_id.to_string(), "--hardfork", "cancun"])
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

    pub fn chain(&self) -> JsonRpcChain {
        JsonRpcChain::new(&self.url, DEFAULT_RPC_TIMEOUT).expect("rpc client")
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
