// Oracle for claimd-iden3's interop test (crates/iden3/tests/it/interop.rs).
//
// Usage: node interop/iden3/interop.mjs <cases.json> <results.json>
//
// Reads the randomised cases the Rust test wrote, computes every answer with the @iden3
// JavaScript packages (js-crypto, js-merkletree, js-iden3-core) and writes them out. The Rust
// side compares them with its own results; this script never sees what Rust computed.
import { readFileSync, writeFileSync } from 'node:fs';
import { Poseidon, PrivateKey, PublicKey, Signature } from '@iden3/js-crypto';
import { Merkletree, InMemoryDB, str2Bytes, Proof, verifyProof } from '@iden3/js-merkletree';
import {
  Claim,
  ClaimOptions,
  SchemaHash,
  Id,
  DID,
  buildDIDType,
  genesisFromEthAddress,
  registerDidMethodNetwork
} from '@iden3/js-iden3-core';

const [, , inPath, outPath] = process.argv;
if (!inPath || !outPath) {
  console.error('usage: node interop.mjs <cases.json> <results.json>');
  process.exit(2);
}
const cases = JSON.parse(readFileSync(inPath, 'utf8'));

// What a tool that has NOT registered `air` derives from did:air DIDs (computed before the
// registration below, which is process-global in js-iden3-core).
const airUnregistered = cases.air_unregistered.map((s) => {
  const id = DID.idFromDID(DID.parse(s));
  return Buffer.from(id.bytes).toString('hex');
});

// claimd's own DID method, registered exactly as the service does.
registerDidMethodNetwork({
  method: 'air',
  methodByte: 0x04,
  blockchain: 'id',
  network: 'test',
  networkFlag: 0xf3,
  chainId: 222888
});

const big = (s) => BigInt(s);
const hexToBytes = (h) => Uint8Array.from(Buffer.from(h, 'hex'));
const bytesToHex = (b) => Buffer.from(b).toString('hex');

const out = {};

out.poseidon = cases.poseidon.map((c) => Poseidon.hash(c.inputs.map(big)).toString());
out.hash_bytes = cases.hash_bytes.map((c) => Poseidon.hashBytes(hexToBytes(c.hex)).toString());

out.bjj = cases.bjj.map((c) => {
  const sk = new PrivateKey(hexToBytes(c.key_hex));
  const pk = sk.public();
  const msg = big(c.msg);
  const sig = sk.signPoseidon(msg);
  const parsed = Signature.newFromCompressed(sig.compress());
  const pk2 = PublicKey.newFromCompressed(pk.compress());
  return {
    pub: [pk.p[0].toString(), pk.p[1].toString()],
    pub_compressed_hex: bytesToHex(pk.compress()),
    sig_hex: bytesToHex(sig.compress()),
    verifies: pk2.verifyPoseidon(msg, parsed),
    verifies_other_msg: pk2.verifyPoseidon(msg + 1n, parsed)
  };
});

// Signatures produced by Rust, checked by js-crypto.
out.bjj_verify = cases.bjj_verify.map((c) => {
  const pk = PublicKey.newFromCompressed(hexToBytes(c.pub_compressed_hex));
  const sig = Signature.newFromCompressed(hexToBytes(c.sig_hex));
  return pk.verifyPoseidon(big(c.msg), sig);
});

out.trees = [];
for (const t of cases.trees) {
  const mt = new Merkletree(new InMemoryDB(str2Bytes('')), true, t.depth);
  const errors = [];
  for (const [k, v] of t.adds) {
    try {
      await mt.add(big(k), big(v));
      errors.push(null);
    } catch (e) {
      errors.push(String(e.message ?? e));
    }
  }
  const rootHash = await mt.root();
  const root = rootHash.bigInt().toString();
  const proofs = [];
  for (const k of t.queries) {
    const { proof, value } = await mt.generateProof(big(k));
    const json = proof.toJSON();
    if (json.node_aux === undefined) delete json.node_aux;
    // The proof, parsed back from its JSON, verifies with js-merkletree's own verifier.
    const reparsed = Proof.fromJSON(JSON.parse(JSON.stringify(json)));
    const verifies = await verifyProof(rootHash, reparsed, big(k), value);
    proofs.push({ proof: json, value: value.toString(), verifies });
  }
  out.trees.push({ root, root_le_hex: (await mt.root()).hex(), add_errors: errors, proofs });
}

out.claims = cases.claims.map((c) => {
  // Options apply in order; this is the order the Rust side uses (data, subject, root).
  const opts = [];
  if (c.merklized !== 'index') opts.push(ClaimOptions.withIndexDataInts(big(c.index_data[0]), big(c.index_data[1])));
  if (c.merklized !== 'value') opts.push(ClaimOptions.withValueDataInts(big(c.value_data[0]), big(c.value_data[1])));
  if (c.subject === 'index') opts.push(ClaimOptions.withIndexId(Id.fromString(c.subject_id)));
  if (c.subject === 'value') opts.push(ClaimOptions.withValueId(Id.fromString(c.subject_id)));
  if (c.expiration !== null) opts.push(ClaimOptions.withExpirationDate(new Date(c.expiration * 1000)));
  opts.push(ClaimOptions.withRevocationNonce(big(c.nonce)));
  opts.push(ClaimOptions.withVersion(c.version));
  opts.push(ClaimOptions.withFlagUpdatable(c.updatable));
  const claim = Claim.newClaim(new SchemaHash(hexToBytes(c.schema_hex)), ...opts);
  // The setter methods (not the ClaimOptions, which leave the other slot alone) clear the
  // root's other position, like go-iden3-core's SetIndexMerklizedRoot / SetValueMerklizedRoot.
  if (c.merklized === 'index') claim.setIndexMerklizedRoot(big(c.root));
  if (c.merklized === 'value') claim.setValueMerklizedRoot(big(c.root));
  const { hi, hv } = claim.hiHv();
  const slots = [...claim.index, ...claim.value].map((e) => e.toBigInt().toString());
  return {
    hex: claim.hex(),
    hi: hi.toString(),
    hv: hv.toString(),
    core_claim_hash: Poseidon.hash([hi, hv]).toString(),
    slots
  };
});

out.dids = cases.dids.map((c) => {
  const typ = buildDIDType(c.method, c.blockchain, c.network);
  let did;
  if (c.genesis_state !== undefined) {
    did = DID.newFromIdenState(typ, big(c.genesis_state));
  } else {
    did = DID.new(typ, genesisFromEthAddress(hexToBytes(c.eth_address)));
  }
  const id = DID.idFromDID(did);
  return {
    did: did.string(),
    id_base58: id.string(),
    id_int: id.bigInt().toString(),
    reparsed: DID.parse(did.string()).string()
  };
});

out.air_unregistered = airUnregistered;

out.unsupported_dids = cases.unsupported_dids.map((s) => {
  const id = DID.idFromDID(DID.parse(s));
  return bytesToHex(id.bytes);
});

writeFileSync(outPath, JSON.stringify(out));
