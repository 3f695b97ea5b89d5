// Node side of claimd-iden3's benchmark (crates/iden3/benches/primitives.rs runs it).
// Measures the same operations with @iden3/js-crypto and @iden3/js-merkletree and prints
// {"versions": {...}, "ns_per_op": {...}} as JSON on stdout.
import { readFileSync } from 'node:fs';
import { Poseidon, PrivateKey } from '@iden3/js-crypto';
import { Merkletree, InMemoryDB, str2Bytes } from '@iden3/js-merkletree';

const Q = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
let state = 42n;
const next64 = () => {
  state = (state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  return z ^ (z >> 31n);
};
const fr = () => {
  let x = 0n;
  for (let i = 0; i < 4; i++) x |= next64() << BigInt(64 * i);
  return x % Q;
};

async function measure(budgetMs, batch, f) {
  for (let i = 0; i < Math.min(batch, 10); i++) await f();
  const start = process.hrtime.bigint();
  const rounds = [];
  while (Number(process.hrtime.bigint() - start) / 1e6 < budgetMs || rounds.length < 3) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await f();
    rounds.push(Number(process.hrtime.bigint() - t) / batch);
  }
  rounds.sort((a, b) => a - b);
  return Math.round(rounds[Math.floor(rounds.length / 2)]);
}

const out = {};
const budget = 1500;
const a = fr();
const b = fr();
out.poseidon_t3 = await measure(budget, 200, () => Poseidon.hash([a, b]));
const four = [fr(), fr(), fr(), fr()];
out.poseidon_t5 = await measure(budget, 100, () => Poseidon.hash(four));
const sixteen = Array.from({ length: 16 }, fr);
out.poseidon_t17 = await measure(budget, 20, () => Poseidon.hash(sixteen));
const text = new TextEncoder().encode('https://schema.iden3.io/core/jsonld/iden3proofs.jsonld#issuanceDate');
out.hash_bytes_67_bytes = await measure(budget, 20, () => Poseidon.hashBytes(text));

const key = new PrivateKey(new Uint8Array(32).fill(7));
const pk = key.public();
const msg = fr();
const sig = key.signPoseidon(msg);
out.bjj_sign_poseidon = await measure(budget, 5, () => key.signPoseidon(msg));
out.bjj_verify_poseidon = await measure(budget, 5, () => pk.verifyPoseidon(msg, sig));

const tree = new Merkletree(new InMemoryDB(str2Bytes('')), true, 40);
for (let i = 0; i < 10000; i++) await tree.add(fr(), fr());
out.smt_add_depth40_10k_leaves = await measure(budget, 20, () => tree.add(fr(), fr()));

const leaves = Array.from({ length: 10000 }, () => [fr(), fr()]);
out.smt_10k_sequential_adds_total = await measure(1, 1, async () => {
  const t = new Merkletree(new InMemoryDB(str2Bytes('')), true, 40);
  for (const [k, v] of leaves) await t.add(k, v);
});

const version = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
console.log(
  JSON.stringify({
    versions: {
      '@iden3/js-crypto': version('@iden3/js-crypto'),
      '@iden3/js-merkletree': version('@iden3/js-merkletree'),
      node: process.version
    },
    note: 'js-merkletree has no batch insert; smt_10k_sequential_adds_total is its 10,000-leaf figure.',
    ns_per_op: out
  })
);
