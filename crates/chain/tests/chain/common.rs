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

/// The iden3 ID an Ethereum address controls: `type[2] ‖ 7 zero bytes ‖ address[20] ‖
/// checksum[2]`, checksum = u16 sum of the first 29 bytes (LE), as an integer read LE.
/// (Test-only: `claimd-iden3` will own the production version.)
pub fn eth_id_bytes(id_type: [u8; 2], address: Address) -> [u8; 31] {
    let mut b = [0u8; 31];
    b[..2].copy_from_slice(&id_type);
    b[9..29].copy_from_slice(address.as_slice());
    let sum = b[..29]
        .iter()
        .fold(0u16, |s, &x| s.wrapping_add(u16::from(x)));
    b[29..].copy_from_slice(&sum.to_le_bytes());
    b
}

pub fn eth_id(id_type: [u8; 2], address: Address) -> U256 {
    U256::from_le_slice(&eth_id_bytes(id_type, address))
}

/// Base58 (Bitcoin alphabet) decoding, for the published ID vectors.
pub fn base58_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut out: Vec<u8> = Vec::new(); // little-endian base-256 digits
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c).expect("base58 digit") as u32;
        for d in out.iter_mut() {
            carry += u32::from(*d) * 58;
            *d = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    out.extend(std::iter::repeat_n(0, zeros));
    out.reverse();
    out
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
