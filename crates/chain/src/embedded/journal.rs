//! The embedded chain's persistence: an append-only JSON-lines file.
//!
//! Line 1 is a [`Header`] pinning everything that changes what a replay computes (chain id,
//! EVM spec and revm version, base fee, gas limit, genesis allocation, contract bytecode hash).
//! Every further line is one [`Record`]: a signed raw transaction with the block number and
//! timestamp it was mined at and its recovered sender. Replaying the records from genesis rebuilds the exact state
//! (revm is deterministic), receipts and logs.
//!
//! Crash safety: a record is appended and (by default) `fsync`ed *before* the state change it
//! describes is committed in memory, so anything a caller was told about is on disk. A torn last
//! line (crash mid-write) is cut off at open; damage anywhere else is an error. The file is
//! locked exclusively while open, so two processes cannot append to the same journal.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, Bytes, B256, U256};
use serde::{Deserialize, Serialize};

use crate::error::{ChainError, Result};

/// File name of the journal inside the embedded chain's directory.
pub const JOURNAL_FILE: &str = "embedded-chain.jsonl";

const FORMAT: &str = "claimd-embedded-chain";
const VERSION: u32 = 1;

/// Everything a replay depends on. A journal only opens with an identical header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `claimd-embedded-chain`.
    pub format: String,
    /// Journal format version.
    pub version: u32,
    /// Chain id.
    pub chain_id: u64,
    /// EVM spec the chain runs (e.g. `CANCUN`).
    pub spec: String,
    /// revm version the journal was written with (gas rules live in revm).
    pub revm: String,
    /// Base fee of every block.
    pub base_fee_per_gas: u64,
    /// Gas limit of every block.
    pub block_gas_limit: u64,
    /// Timestamp of block 0.
    pub genesis_timestamp: u64,
    /// Funded accounts at genesis.
    pub alloc: Vec<(Address, U256)>,
    /// Keccak-256 of the `IdentityState` creation bytecode deployed by the first record.
    pub contract_bytecode_hash: B256,
}

impl Header {
    pub(crate) fn new(
        chain_id: u64,
        spec: &str,
        base_fee_per_gas: u64,
        block_gas_limit: u64,
        genesis_timestamp: u64,
        alloc: Vec<(Address, U256)>,
        contract_bytecode_hash: B256,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            chain_id,
            spec: spec.into(),
            revm: crate::embedded::REVM_VERSION.into(),
            base_fee_per_gas,
            block_gas_limit,
            genesis_timestamp,
            alloc,
            contract_bytecode_hash,
        }
    }
}

/// One mined transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Block number it was mined in.
    pub block: u64,
    /// That block's timestamp.
    pub timestamp: u64,
    /// The sender recovered from the signature when the transaction was mined. Replay trusts
    /// it instead of recovering again (signature recovery costs far more than execution).
    pub from: Address,
    /// The signed EIP-2718 transaction.
    pub raw: Bytes,
}

/// An open journal, positioned for appending.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    fsync: bool,
    /// Bytes of whole records (and the header): where the next record starts.
    len: u64,
    /// Set when a failed append could not be cut off: appending after it would bury a torn
    /// line in the middle of the journal, which makes it unreadable.
    broken: Option<String>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ChainError + '_ {
    move |source| ChainError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Journal {
    /// Opens the journal in `dir` (creating `dir` and a fresh journal with `header` if there is
    /// none) and returns it with the records to replay.
    pub(crate) fn open(dir: &Path, header: &Header, fsync: bool) -> Result<(Self, Vec<Record>)> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(JOURNAL_FILE);
        if !path.exists() {
            Self::create(dir, &path, header)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        // One writer per journal: a second process (or a second open in this one) appending
        // to the same file would interleave blocks. The lock goes with the file handle.
        if let Err(e) = file.try_lock() {
            return Err(ChainError::Journal {
                path: path.clone(),
                detail: format!("already open elsewhere (another claimd on this data dir?): {e}"),
            });
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io_err(&path))?;

        let journal_err = |detail: String| ChainError::Journal {
            path: path.clone(),
            detail,
        };
        // Everything after the last '\n' is a torn write from a crash: drop it.
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            tracing::warn!(
                path = %path.display(),
                bytes = text.len() - complete,
                "embedded chain journal: dropping a torn last line"
            );
            file.set_len(complete as u64).map_err(io_err(&path))?;
            file.seek(SeekFrom::End(0)).map_err(io_err(&path))?;
            file.sync_data().map_err(io_err(&path))?;
        }
        let mut lines = text[..complete].lines();
        let stored: Header = match lines.next() {
            Some(l) => {
                serde_json::from_str(l).map_err(|e| journal_err(format!("bad header: {e}")))?
            }
            None => return Err(journal_err("empty journal (no header)".into())),
        };
        if &stored != header {
            return Err(journal_err(format!(
                "written for a different chain configuration: journal has {}, this build expects {}",
                serde_json::to_string(&stored).unwrap_or_default(),
                serde_json::to_string(header).unwrap_or_default()
            )));
        }
        let mut records = Vec::new();
        for (i, line) in lines.enumerate() {
            let r: Record = serde_json::from_str(line)
                .map_err(|e| journal_err(format!("record {}: {e}", i + 1)))?;
            records.push(r);
        }
        Ok((
            Self {
                path,
                file,
                fsync,
                len: complete as u64,
                broken: None,
            },
            records,
        ))
    }

    /// Writes a new journal holding only the header, atomically (temp file + rename).
    fn create(dir: &Path, path: &Path, header: &Header) -> Result<()> {
        let tmp = dir.join(format!("{JOURNAL_FILE}.tmp"));
        let mut line = serde_json::to_string(header).map_err(|e| ChainError::Journal {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        line.push('\n');
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(line.as_bytes()).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
        // Make the rename itself durable.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
        Ok(())
    }

    /// Appends one record (one `write` of a whole line) and syncs it if configured. On
    /// failure the journal is cut back to its last whole record: a full disk can take part of
    /// the line, and the next record would otherwise be appended to that fragment (a record
    /// that failed is one the chain never applied, so it must not be replayed either).
    pub(crate) fn append(&mut self, record: &Record) -> Result<()> {
        if let Some(why) = &self.broken {
            return Err(ChainError::Journal {
                path: self.path.clone(),
                detail: format!("not writable until reopened: {why}"),
            });
        }
        let mut line = serde_json::to_string(record).map_err(|e| ChainError::Journal {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        line.push('\n');
        let written = self.file.write_all(line.as_bytes()).and_then(|()| {
            if self.fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            if let Err(cut) = self.file.set_len(self.len) {
                self.broken = Some(format!(
                    "a failed append ({e}) could not be cut off ({cut})"
                ));
            }
            return Err(io_err(&self.path)(e));
        }
        self.len += line.len() as u64;
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header::new(
            1,
            "CANCUN",
            7,
            30_000_000,
            5,
            vec![(Address::repeat_byte(1), U256::from(10u64))],
            B256::repeat_byte(2),
        )
    }

    #[test]
    fn records_survive_reopen_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, recs) = Journal::open(dir.path(), &header(), true).unwrap();
        assert!(recs.is_empty());
        let r = Record {
            block: 1,
            timestamp: 6,
            from: Address::repeat_byte(3),
            raw: Bytes::from_static(&[1, 2, 3]),
        };
        j.append(&r).unwrap();
        drop(j);
        // Simulate a crash in the middle of the next append.
        let path = dir.path().join(JOURNAL_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"block\":2,\"time").unwrap();
        drop(f);
        let (mut j, recs) = Journal::open(dir.path(), &header(), true).unwrap();
        assert_eq!(recs, vec![r.clone()]);
        j.append(&r).unwrap();
        drop(j);
        let (_, recs) = Journal::open(dir.path(), &header(), true).unwrap();
        assert_eq!(recs.len(), 2);
    }

    #[test]
    fn a_journal_has_one_writer_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Journal::open(dir.path(), &header(), false).unwrap();
        let err = Journal::open(dir.path(), &header(), false).unwrap_err();
        assert!(err.to_string().contains("already open"), "{err}");
        drop(first);
        Journal::open(dir.path(), &header(), false).unwrap();
    }

    #[test]
    fn a_journal_of_another_configuration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Journal::open(dir.path(), &header(), false).unwrap();
        let mut other = header();
        other.chain_id = 2;
        let err = Journal::open(dir.path(), &other, false).unwrap_err();
        assert!(matches!(err, ChainError::Journal { .. }), "{err}");
    }

    #[test]
    fn damage_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        drop(Journal::open(dir.path(), &header(), false).unwrap());
        let path = dir.path().join(JOURNAL_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"garbage\n{\"block\":1,\"timestamp\":1,\"from\":\"0x0000000000000000000000000000000000000001\",\"raw\":\"0x01\"}\n")
            .unwrap();
        drop(f);
        let err = Journal::open(dir.path(), &header(), false).unwrap_err();
        assert!(err.to_string().contains("record 1"), "{err}");
    }
}
