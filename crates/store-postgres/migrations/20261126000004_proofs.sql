-- Proofs name the block timestamp of the state they are made at (Iden3SparseMerkleTreeProof
-- issuerData.state.blockTimestamp), as the contract records it.
ALTER TABLE transitions ADD COLUMN block_timestamp BIGINT;
