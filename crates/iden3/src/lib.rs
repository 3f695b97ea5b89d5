//! claimd-iden3 (work in progress).
//!
//! BEFORE BUILDING OR COMMITTING: read /work/main/AGENTS.md — shared working tree rules
//! (use your own CARGO_TARGET_DIR, commit only your own paths, last commit by 01:35 UTC).
