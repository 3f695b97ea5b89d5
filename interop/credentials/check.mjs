// Third-party check of the credentials claimd issues (crates/claimd/tests/interop_credentials.rs).
//
// Usage: node interop/credentials/check.mjs < input.json
//   input:  {"credentials": [{"vc": <W3C VC as served>, "coreClaimHash": "<64 hex>",
//                             "expectMtp"?: true, "expectRevoked"?: bool}, ...],
//            "schemaContexts": {"<context url>": <context document>, ...},
//            "chain"?: {"rpcUrl": "http://…", "contractAddress": "0x…", "chainId": n}}
//   Optional checks: `expectMtp` → the Iden3SparseMerkleTreeProof (mtpProof); `expectRevoked`
//   → the SparseMerkleTreeProof revocation status, resolved over HTTP by js-sdk's own
//   IssuerResolver (revocation); with `chain`, the states the proofs name are read from the
//   State contract through js-sdk's EthStateStorage (…OnChain checks).
//   output: one JSON object on stdout:
//           {"ok": bool, "credentials": [{"index": n, "ok": bool,
//              "checks": {"<name>": {"ok": bool, "detail": ...}, ...}}, ...],
//            "documentsLoaded": [<url served>...], "documentsRefused": [<url refused>...]}
//   exit:   0 when every check of every credential passed, 1 when any failed, 2 on bad input.
//
// Everything is recomputed from the VC with the iden3 reference stack only (js-sdk 1.45.0,
// js-jsonld-merklization, js-iden3-core, js-crypto); nothing claimd computed is trusted except
// as the thing compared against. Each credential is checked independently, and a check that
// throws is a failed check (with the error), never a crash of the run.
//
// No JSON-LD document is fetched: the loader serves the bundled contexts (contexts/index.json)
// and the schema contexts given on stdin, and throws on any other URL. The only network use is
// the optional revocation status and chain reads, at the URLs the input names.
import { readFileSync } from 'node:fs';
import { Merklizer } from '@iden3/js-jsonld-merklization';
import {
  Claim,
  ClaimOptions,
  DID,
  Id,
  SchemaHash,
  buildDIDType,
  registerDidMethodNetwork
} from '@iden3/js-iden3-core';
import { Hex, Poseidon, PublicKey, Signature } from '@iden3/js-crypto';
import { Hash, Proof, verifyProof } from '@iden3/js-merkletree';
import {
  W3CCredential,
  ProofType,
  SubjectPosition,
  MerklizedRootPosition,
  EthStateStorage,
  IssuerResolver,
  calculateCoreSchemaHash,
  defaultEthConnectionConfig,
  findCredentialType,
  isEthereumIdentity,
  validateTreeState
} from '@0xpolygonid/js-sdk';
import { bundledDocuments } from './documents.mjs';

// claimd's DID method (DESIGN §4, reference/iden3.md §2.3): did:air:id:test, method byte 0x04,
// network flag 0xF3, chain id 222888. Registered once, as a wallet serving claimd's users would.
const DID_METHOD = { method: 'air', blockchain: 'id', network: 'test' };
registerDidMethodNetwork({ ...DID_METHOD, methodByte: 0x04, networkFlag: 0xf3, chainId: 222888 });
const CLAIMD_DID_TYPE = Hex.encodeString(
  buildDIDType(DID_METHOD.method, DID_METHOD.blockchain, DID_METHOD.network)
);

// The schema hash of AuthBJJCredential (go-iden3-core AuthSchemaHash): what an issuer's auth
// claim must carry for its index slots 2 and 3 to be a Baby Jubjub public key.
const AUTH_SCHEMA_HASH = 'cca3371a6cb1b715004407e325bd993c';


function readInput() {
  let raw;
  try {
    raw = readFileSync(0, 'utf8');
    const input = JSON.parse(raw);
    if (!Array.isArray(input.credentials)) throw new Error('"credentials" must be an array');
    return input;
  } catch (e) {
    console.error(`check.mjs: bad input: ${e?.message ?? e}`);
    process.exit(2);
  }
}

function documentLoaderFor(schemaContexts) {
  const docs = bundledDocuments();
  for (const [url, doc] of Object.entries(schemaContexts ?? {})) {
    docs.set(url, doc);
  }
  const served = new Set();
  const refused = new Set();
  const loader = async (url) => {
    if (!docs.has(url)) {
      refused.add(url);
      throw new Error(`offline document loader: no bundled document for ${url}`);
    }
    served.add(url);
    return { contextUrl: null, document: structuredClone(docs.get(url)), documentUrl: url };
  };
  return { loader, served, refused };
}

const bytesToHex = (b) => Buffer.from(b).toString('hex');
const beHex64 = (n) => n.toString(16).padStart(64, '0');
const SLOT_NAMES = ['i_0', 'i_1', 'i_2', 'i_3', 'v_0', 'v_1', 'v_2', 'v_3'];

// Which slots (and, for i_0/v_0, which fields) differ between two claims: the precise answer
// when claimd and the JS stack disagree.
function claimDiff(js, claimd) {
  const a = js.rawSlotsAsInts();
  const b = claimd.rawSlotsAsInts();
  const slots = [];
  for (let i = 0; i < 8; i++) {
    if (a[i] !== b[i]) slots.push({ slot: SLOT_NAMES[i], js: a[i].toString(), claimd: b[i].toString() });
  }
  const fields = {};
  const cmp = (name, f) => {
    let x, y;
    try { x = String(f(js)); } catch (e) { x = `error: ${e.message}`; }
    try { y = String(f(claimd)); } catch (e) { y = `error: ${e.message}`; }
    if (x !== y) fields[name] = { js: x, claimd: y };
  };
  cmp('schemaHash', (c) => bytesToHex(c.getSchemaHash().bytes));
  cmp('idPosition', (c) => c.getIdPosition());
  cmp('merklizedPosition', (c) => c.getMerklizedPosition());
  cmp('updatable', (c) => c.getFlagUpdatable());
  cmp('version', (c) => c.getVersion());
  cmp('revocationNonce', (c) => c.getRevocationNonce());
  cmp('expiration', (c) => c.getExpirationDate()?.toISOString() ?? 'none');
  return { slots, fields };
}

function coreClaimHashOf(claim) {
  const { hi, hv } = claim.hiHv();
  return Poseidon.hash([hi, hv]);
}

// The issuer's ID as the State contract's uint256 (iden3: the ID bytes read little-endian).
const issuerIdOf = (did) => DID.idFromDID(DID.parse(did)).bigInt();

// A state (64-hex little-endian, iden3's Hash.hex()) the State contract records for `id`.
async function stateOnChain(stateStorage, did, stateHex) {
  const id = issuerIdOf(did);
  const state = Hash.fromHex(stateHex).bigInt();
  const info = await stateStorage.getStateInfoByIdAndState(id, state);
  return { ok: info.state === state && info.id === id, info };
}

async function checkCredential(entry, documentLoader, stateStorage) {
  const checks = {};
  const run = async (name, fn) => {
    try {
      const r = await fn();
      checks[name] = { ok: r.ok, detail: r.detail };
    } catch (e) {
      checks[name] = { ok: false, detail: `error: ${e?.message ?? e}` };
    }
  };
  const vc = entry.vc;
  const proofs = Array.isArray(vc?.proof) ? vc.proof : vc?.proof ? [vc.proof] : [];
  const bjj = proofs.find((p) => p?.type === 'BJJSignature2021');
  const claimdClaim = () => {
    if (!bjj) throw new Error('no BJJSignature2021 proof');
    return new Claim().fromHex(bjj.coreClaim);
  };
  const merklizeOpts = { documentLoader };
  const withoutProof = { ...vc };
  delete withoutProof.proof;

  // (a) Merklization of the VC minus proof, and the root against claimd's index slot 2.
  let mz = null;
  let root = null;
  await run('merklizedRoot', async () => {
    mz = await Merklizer.merklizeJSONLD(JSON.stringify(withoutProof), merklizeOpts);
    root = (await mz.root()).bigInt();
    const claimd = claimdClaim().rawSlotsAsInts()[2];
    return { ok: root === claimd, detail: { js: root.toString(), claimdIndexSlot2: claimd.toString() } };
  });

  // (b) Schema hash from the expanded credential type IRI, as js-sdk finds and hashes it.
  let schemaHash = null;
  await run('schemaHash', async () => {
    if (!mz) throw new Error('no merklized document');
    const typeIri = findCredentialType(mz);
    schemaHash = calculateCoreSchemaHash(new TextEncoder().encode(typeIri));
    const js = bytesToHex(schemaHash.bytes);
    const claimd = bytesToHex(claimdClaim().getSchemaHash().bytes);
    return { ok: js === claimd, detail: { typeIri, js, claimd } };
  });

  // (c1) The core claim exactly as js-sdk's issuer builds it (IdentityWallet.issueCredential:
  // subject in index, merklized root position "" → index, version 0, not updatable, nonce from
  // credentialStatus).
  let sdkClaim = null;
  await run('coreClaimJsSdk', async () => {
    const cred = W3CCredential.fromJSON(withoutProof);
    sdkClaim = await cred.toCoreClaim({
      revNonce: Number(vc.credentialStatus.revocationNonce),
      version: 0,
      subjectPosition: SubjectPosition.Index,
      merklizedRootPosition: MerklizedRootPosition.None,
      updatable: false,
      merklizeOpts
    });
    const claimd = claimdClaim();
    const same = sdkClaim.hex() === claimd.hex();
    return { ok: same, detail: same ? { hex: sdkClaim.hex() } : claimDiff(sdkClaim, claimd) };
  });

  // (c2) The same claim assembled field by field with js-iden3-core (subject ID from the DID,
  // root in i_2, expiration, nonce, version 0): confirms the js-sdk path piece by piece.
  let manualClaim = null;
  await run('coreClaimManual', async () => {
    if (root === null || schemaHash === null) throw new Error('no merklized root or schema hash');
    const subject = DID.parse(vc.credentialSubject.id);
    const subjectId = DID.idFromDID(subject);
    const opts = [
      ClaimOptions.withIndexId(subjectId),
      ClaimOptions.withIndexMerklizedRoot(root),
      ClaimOptions.withRevocationNonce(BigInt(vc.credentialStatus.revocationNonce)),
      ClaimOptions.withVersion(0)
    ];
    if (vc.expirationDate) opts.push(ClaimOptions.withExpirationDate(new Date(vc.expirationDate)));
    manualClaim = Claim.newClaim(new SchemaHash(schemaHash.bytes), ...opts);
    const claimd = claimdClaim();
    const same = manualClaim.hex() === claimd.hex();
    const agreesWithSdk = sdkClaim !== null && manualClaim.hex() === sdkClaim.hex();
    return {
      ok: same && agreesWithSdk,
      detail: same ? { agreesWithSdk } : { agreesWithSdk, ...claimDiff(manualClaim, claimd) }
    };
  });

  // The subject DID must be claimd's registered method, not the 0xFFFF "unsupported DID"
  // fallback ID that js-iden3-core would silently derive for an unknown method.
  await run('subjectDid', async () => {
    const did = DID.parse(vc.credentialSubject.id);
    const id = DID.idFromDID(did);
    const type = bytesToHex(id.bytes.slice(0, 2));
    const back = DID.parseFromId(id).string();
    return {
      ok: type === CLAIMD_DID_TYPE && back === vc.credentialSubject.id,
      detail: { did: vc.credentialSubject.id, idType: type, expectedIdType: CLAIMD_DID_TYPE, roundTrip: back }
    };
  });

  // (d) coreClaimHash = Poseidon(hIndex, hValue) of the JS claim, 64 hex big-endian; and the
  // proof's coreClaim must be the very claim the JS stack computed.
  let jsHash = null;
  await run('coreClaimHash', async () => {
    if (!sdkClaim) throw new Error('js-sdk could not build the core claim');
    jsHash = coreClaimHashOf(sdkClaim);
    const js = beHex64(jsHash);
    const given = String(entry.coreClaimHash);
    return { ok: js === given, detail: { js, claimd: given } };
  });

  // (e) BJJ signature over the JS-computed core claim hash, with the key in the issuer's auth
  // claim (index slots 2 and 3), as js-sdk's verifyBJJSignatureProof does.
  await run('signature', async () => {
    if (!bjj) throw new Error('no BJJSignature2021 proof');
    if (jsHash === null) throw new Error('no core claim hash');
    const auth = new Claim().fromHex(bjj.issuerData.authCoreClaim);
    const authSchema = bytesToHex(auth.getSchemaHash().bytes);
    const slots = auth.rawSlotsAsInts();
    const pub = new PublicKey([slots[2], slots[3]]);
    const sigBytes = Hex.decodeString(bjj.signature);
    if (sigBytes.length !== 64) throw new Error(`signature is ${sigBytes.length} bytes, not 64`);
    const sig = Signature.newFromCompressed(sigBytes);
    const valid = pub.verifyPoseidon(jsHash, sig);
    return {
      ok: valid && authSchema === AUTH_SCHEMA_HASH,
      detail: { valid, authSchemaHash: authSchema, publicKey: pub.hex() }
    };
  });

  // The issuer data a verifier checks next to the signature (js-sdk verifyBJJSignatureProof,
  // short of resolving the state on chain): the state is Poseidon(claims, revocation, roots),
  // the auth claim's MTP leads to that claims root, and the auth credential's status nonce is
  // the auth claim's revocation nonce.
  await run('issuerState', async () => {
    if (!bjj) throw new Error('no BJJSignature2021 proof');
    const data = bjj.issuerData ?? {};
    const st = data.state;
    if (!st || !data.mtp) throw new Error('issuerData.state or issuerData.mtp is missing');
    const stateValid = validateTreeState({
      state: st.value,
      claimsTreeRoot: st.claimsTreeRoot,
      revocationTreeRoot: st.revocationTreeRoot,
      rootOfRoots: st.rootOfRoots
    });
    const auth = new Claim().fromHex(data.authCoreClaim);
    const { hi, hv } = auth.hiHv();
    const mtp = Proof.fromJSON(data.mtp);
    const authInClaimsTree =
      mtp.existence && (await verifyProof(Hash.fromHex(st.claimsTreeRoot), mtp, hi, hv));
    const statusNonce = BigInt(data.credentialStatus?.revocationNonce ?? -1);
    const nonceMatches = statusNonce === auth.getRevocationNonce();
    return {
      ok: stateValid && authInClaimsTree && nonceMatches,
      detail: { stateValid, authInClaimsTree, nonceMatches, state: st.value }
    };
  });

  // (f) The issuer DID parses with claimd's method and is an Ethereum-controlled identity; the
  // proof names the same issuer.
  await run('issuerDid', async () => {
    const did = DID.parse(vc.issuer);
    const id = DID.idFromDID(did);
    const type = bytesToHex(id.bytes.slice(0, 2));
    const ethereum = isEthereumIdentity(did);
    const address = ethereum ? '0x' + bytesToHex(Id.ethAddressFromId(id)) : null;
    const proofIssuer = bjj?.issuerData?.id ?? null;
    return {
      ok: type === CLAIMD_DID_TYPE && ethereum && proofIssuer === vc.issuer,
      detail: { did: vc.issuer, idType: type, ethereumControlled: ethereum, address, proofIssuer }
    };
  });

  // js-sdk as a verifier: W3CCredential's own check that the proof's core claim is derived from
  // this credential (verifyCoreClaimMatch, run with the options read from the claim's flags).
  await run('jsSdkCoreClaimMatch', async () => {
    const cred = W3CCredential.fromJSON(withoutProof);
    await cred.verifyCoreClaimMatch(claimdClaim(), merklizeOpts);
    return { ok: true, detail: 'proof generated for this credential' };
  });

  // js-sdk as a wallet: the VC with its proofs loads through W3CCredential.fromJSON and its
  // BJJSignature2021 proof yields the core claim (what a wallet does on receiving it).
  await run('jsSdkLoadsProof', async () => {
    const load = (doc) => {
      const cred = W3CCredential.fromJSON(doc);
      const fromProof = cred.getCoreClaimFromProof(ProofType.BJJSignature);
      if (!fromProof) throw new Error('js-sdk found no BJJSignature2021 core claim');
      return fromProof.hex();
    };
    try {
      const hex = load(vc);
      return { ok: hex === bjj.coreClaim, detail: 'loaded' };
    } catch (e) {
      // Say which members js-sdk needed, and whether adding just those makes it load.
      const missing = ['state', 'mtp'].filter((k) => bjj?.issuerData?.[k] === undefined);
      let loadsWithThem = null;
      if (missing.length > 0) {
        const patched = structuredClone(vc);
        const p = patched.proof.find((x) => x?.type === 'BJJSignature2021');
        const zero = '0'.repeat(64);
        p.issuerData.state ??= { claimsTreeRoot: zero, revocationTreeRoot: zero, rootOfRoots: zero, value: zero };
        p.issuerData.mtp ??= { existence: true, siblings: [] };
        try {
          load(patched);
          loadsWithThem = true;
        } catch {
          loadsWithThem = false;
        }
      }
      return {
        ok: false,
        detail: {
          error: String(e?.message ?? e),
          missingIssuerDataMembers: missing,
          loadsOnceTheyArePresent: loadsWithThem
        }
      };
    }
  });

  const mtpProof = proofs.find((p) => p?.type === 'Iden3SparseMerkleTreeProof');
  if (entry.expectMtp) {
    // The Iden3SparseMerkleTreeProof: the core claim the JS stack computed is in the claims
    // tree whose root the proof names, and that root belongs to the proof's state.
    await run('mtpProof', async () => {
      if (!mtpProof) throw new Error('no Iden3SparseMerkleTreeProof');
      if (!sdkClaim) throw new Error('js-sdk could not build the core claim');
      const st = mtpProof.issuerData?.state ?? {};
      const stateValid = validateTreeState({
        state: st.value,
        claimsTreeRoot: st.claimsTreeRoot,
        revocationTreeRoot: st.revocationTreeRoot,
        rootOfRoots: st.rootOfRoots
      });
      const { hi, hv } = sdkClaim.hiHv();
      const mtp = Proof.fromJSON(mtpProof.mtp);
      const inClaimsTree =
        mtp.existence && (await verifyProof(Hash.fromHex(st.claimsTreeRoot), mtp, hi, hv));
      const sameClaim = mtpProof.coreClaim === sdkClaim.hex();
      const sameIssuer = mtpProof.issuerData?.id === vc.issuer;
      const chainFacts =
        /^0x[0-9a-f]{64}$/.test(st.txId ?? '') &&
        Number.isInteger(st.blockNumber) &&
        Number.isInteger(st.blockTimestamp);
      return {
        ok: stateValid && inClaimsTree && sameClaim && sameIssuer && chainFacts,
        detail: { stateValid, inClaimsTree, sameClaim, sameIssuer, chainFacts, state: st.value }
      };
    });
    if (stateStorage) {
      // The MTP's state is on chain for the issuer, in the block the proof names.
      await run('mtpStateOnChain', async () => {
        if (!mtpProof) throw new Error('no Iden3SparseMerkleTreeProof');
        const st = mtpProof.issuerData.state;
        const { ok, info } = await stateOnChain(stateStorage, vc.issuer, st.value);
        const block = Number(info.createdAtBlock);
        return {
          ok: ok && block === st.blockNumber,
          detail: { createdAtBlock: block, proofBlock: st.blockNumber }
        };
      });
      // The state the BJJ signature's issuer data names (the issuer's first state) is on chain.
      await run('signatureStateOnChain', async () => {
        if (!bjj) throw new Error('no BJJSignature2021 proof');
        const { ok, info } = await stateOnChain(stateStorage, vc.issuer, bjj.issuerData.state.value);
        return { ok, detail: { createdAtBlock: Number(info.createdAtBlock) } };
      });
    }
  }
  if (typeof entry.expectRevoked === 'boolean') {
    // js-sdk resolves the SparseMerkleTreeProof status from credentialStatus.id; the nonce's
    // (non-)membership proof must hold against the revocation root of a valid state, which
    // must be the issuer's latest state on chain.
    await run('revocation', async () => {
      const status = await new IssuerResolver().resolve(vc.credentialStatus);
      const nonce = BigInt(vc.credentialStatus.revocationNonce);
      const stateValid = validateTreeState(status.issuer);
      const proofValid = await verifyProof(
        Hash.fromHex(status.issuer.revocationTreeRoot),
        status.mtp,
        nonce,
        0n
      );
      const revoked = status.mtp.existence;
      let latestOnChain = null;
      if (stateStorage) {
        const latest = await stateStorage.getLatestStateById(issuerIdOf(vc.issuer));
        latestOnChain = latest.state === Hash.fromHex(status.issuer.state).bigInt();
      }
      return {
        ok: stateValid && proofValid && revoked === entry.expectRevoked && latestOnChain !== false,
        detail: { stateValid, proofValid, revoked, expected: entry.expectRevoked, latestOnChain }
      };
    });
  }

  return checks;
}

const input = readInput();
const stateStorage = input.chain
  ? new EthStateStorage(
      {
        ...defaultEthConnectionConfig,
        url: input.chain.rpcUrl,
        contractAddress: input.chain.contractAddress,
        chainId: input.chain.chainId
      },
      { disableCache: true }
    )
  : null;
const { loader, served, refused } = documentLoaderFor(input.schemaContexts);
const results = [];
for (const [index, entry] of input.credentials.entries()) {
  const checks = await checkCredential(entry, loader, stateStorage);
  results.push({ index, ok: Object.values(checks).every((c) => c.ok), checks });
}
const ok = results.every((r) => r.ok);
// Exit only once the report is flushed: stdout to a pipe is asynchronous, and exiting right
// after write() would cut a large report short.
process.stdout.write(
  JSON.stringify({
    ok,
    credentials: results,
    documentsLoaded: [...served].sort(),
    documentsRefused: [...refused].sort()
  }) + '\n',
  () => process.exit(ok ? 0 : 1)
);
