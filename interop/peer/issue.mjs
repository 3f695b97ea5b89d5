// The peer figure of the issue-on-behalf benchmark (crates/claimd/benches/issue.rs): how many
// credentials a second js-sdk's own issuer builds and signs in one Node.js process, for the
// same schema, subject and expiration as claimd's benchmark rows.
//
// Usage: node interop/peer/issue.mjs < input.json
//   input:  {"seconds": s, "max": n, "schemaUrl": "<JSON Schema URL>",
//            "documents": {"<url>": <document>, ...},   // the JSON Schema and its JSON-LD context
//            "type": "<credential type>", "subject": {...}, "expirationDays": d,
//            "statusUrl": "<base of credentialStatus.id>"}
//   output: one JSON object on stdout:
//           {"credentials": n, "seconds": s, "perSecond": x, "cpuMsPerCredential": y,
//            "jsSdk": "<version>", "node": "<version>"}
//
// What js-sdk does per credential here is IdentityWallet.issueCredential with in-memory storage:
// build the W3C credential, validate it against the JSON Schema, merklize it into the core
// claim, sign the claim hash with the issuer's Baby Jubjub key. Each credential goes to a new
// holder DID, as each benchmark request is for a new user, but the holder's identity is not
// computed here (claimd computes one per new user), and there is no HTTP, database or token
// check: the peer does strictly less per credential than a claimd request.
//
// Nothing is fetched: the document loader serves the bundled W3C/iden3 contexts and the
// documents given on stdin, and refuses anything else.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  BjjProvider,
  CredentialStatusType,
  CredentialStorage,
  CredentialWallet,
  EthStateStorage,
  IdentityStorage,
  IdentityWallet,
  InMemoryDataSource,
  InMemoryMerkleTreeStorage,
  InMemoryPrivateKeyStore,
  KMS,
  KmsKeyType,
  defaultEthConnectionConfig
} from '@0xpolygonid/js-sdk';
import { DID, Id, buildDIDType, registerDidMethodNetwork } from '@iden3/js-iden3-core';
import { bundledDocuments } from '../credentials/documents.mjs';

const here = dirname(fileURLToPath(import.meta.url));

// claimd's DID method: did:air:id:test (method byte 0x04, network flag 0xF3, chain id 222888),
// so that the peer's DIDs are as long as claimd's and hash the same number of bytes.
const DID_METHOD = { method: 'air', blockchain: 'id', network: 'test' };
registerDidMethodNetwork({ ...DID_METHOD, methodByte: 0x04, networkFlag: 0xf3, chainId: 222888 });
const DID_TYPE = buildDIDType(DID_METHOD.method, DID_METHOD.blockchain, DID_METHOD.network);

function readInput() {
  try {
    const input = JSON.parse(readFileSync(0, 'utf8'));
    for (const k of ['schemaUrl', 'documents', 'type', 'subject', 'statusUrl']) {
      if (input[k] === undefined) throw new Error(`"${k}" is required`);
    }
    return input;
  } catch (e) {
    console.error(`issue.mjs: bad input: ${e?.message ?? e}`);
    process.exit(2);
  }
}

function offlineLoader(extra) {
  const docs = bundledDocuments();
  for (const [url, doc] of Object.entries(extra)) docs.set(url, doc);
  return async (url) => {
    if (!docs.has(url)) throw new Error(`offline document loader: no document for ${url}`);
    return { contextUrl: null, document: structuredClone(docs.get(url)), documentUrl: url };
  };
}

async function issuerWallet() {
  const keyStore = new InMemoryPrivateKeyStore();
  const kms = new KMS();
  kms.registerKeyProvider(KmsKeyType.BabyJubJub, new BjjProvider(KmsKeyType.BabyJubJub, keyStore));
  const storage = {
    credential: new CredentialStorage(new InMemoryDataSource()),
    identity: new IdentityStorage(new InMemoryDataSource(), new InMemoryDataSource()),
    mt: new InMemoryMerkleTreeStorage(40),
    // Never called while issuing (the issuer's state is not published here); the wallet only
    // asks it for its RPC provider object, which connects on first use.
    states: new EthStateStorage({
      ...defaultEthConnectionConfig,
      url: 'http://127.0.0.1:9',
      contractAddress: '0x0000000000000000000000000000000000000001',
      chainId: 222888
    })
  };
  const wallet = new IdentityWallet(kms, storage, new CredentialWallet(storage));
  return { wallet, storage };
}

function randomHolder() {
  // A genesis ID from a random state: a valid, distinct DID per credential.
  const state = BigInt('0x' + randomBytes(31).toString('hex'));
  return DID.parseFromId(Id.idGenesisFromIdenState(DID_TYPE, state)).string();
}

const input = readInput();
const seconds = Number(input.seconds ?? 20);
const max = Number(input.max ?? Number.MAX_SAFE_INTEGER);
const loader = offlineLoader(input.documents);
const { wallet } = await issuerWallet();
const { did: issuer } = await wallet.createIdentity({
  ...DID_METHOD,
  networkId: DID_METHOD.network,
  seed: randomBytes(32),
  revocationOpts: { type: CredentialStatusType.SparseMerkleTreeProof, id: input.statusUrl }
});

const request = (n) => ({
  credentialSchema: input.schemaUrl,
  type: input.type,
  credentialSubject: { id: randomHolder(), ...input.subject },
  // js-sdk takes the expiration in Unix seconds.
  expiration: Math.floor(Date.now() / 1000) + (input.expirationDays ?? 365) * 86_400,
  revocationOpts: { type: CredentialStatusType.SparseMerkleTreeProof, id: input.statusUrl, nonce: n }
});

// Warm-up: the JIT, the loader's parsed contexts and js-sdk's caches, as a long-running issuer
// would have them.
for (let i = 0; i < 20; i++) await wallet.issueCredential(issuer, request(i), { documentLoader: loader });

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const deadline = t0 + BigInt(Math.round(seconds * 1e9));
let n = 0;
while (n < max && process.hrtime.bigint() < deadline) {
  const vc = await wallet.issueCredential(issuer, request(1000 + n), { documentLoader: loader });
  if (!vc.proof?.length) throw new Error('js-sdk returned a credential without a proof');
  n++;
}
const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const sdkVersion = JSON.parse(
  readFileSync(join(here, '..', 'node_modules', '@0xpolygonid', 'js-sdk', 'package.json'), 'utf8')
).version;
process.stdout.write(
  JSON.stringify({
    credentials: n,
    seconds: elapsed,
    perSecond: n / elapsed,
    cpuMsPerCredential: (cpu.user + cpu.system) / 1000 / n,
    jsSdk: sdkVersion,
    node: process.version
  }) + '\n'
);
process.exit(0);
