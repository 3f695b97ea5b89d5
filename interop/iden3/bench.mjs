// Node side of claimd-iden3's benchmark (crates/iden3/benches/primitives.rs runs it).
// Measures the same operations with @iden3/js-crypto and @iden3/js-merkletree and prints
// {"versions": {...}, "ns_per_op": {...} (CPU), "wall_ns_per_op": {...}} as JSON on stdout.
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

// Median CPU ns/op (process.cpuUsage: user + system) and median wall ns/op over rounds.
async function measure(budgetMs, batch, f) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < Math.min(batch, 10); i++) await f();
  // Rounds of at least 100 ms, so that CPU-time readings are not dominated by their resolution.
  const perCall = Number(process.hrtime.bigint() - t0) / Math.min(batch, 10);
  batch = Math.max(batch, Math.ceil(100e6 / Math.max(perCall, 1)));
  const start = process.hrtime.bigint();
  const cpu = [];
  const wall = [];
  while (Number(process.hrtime.bigint() - start) / 1e6 < budgetMs || wall.length < 3) {
    const c0 = process.cpuUsage();
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await f();
    wall.push(Number(process.hrtime.bigint() - t) / batch);
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) * 1000) / batch);
  }
  const median = (v) => {
    v.sort((a, b) => a - b);
    return Math.round(v[Math.floor(v.length / 2)]);
  };
  return { cpu: median(cpu), wall: median(wall) };
}

const results = {};
const budget = 1500;
const a = fr();
const b = fr();
results.poseidon_t3 = await measure(budget, 200, () => Poseidon.hash([a, b]));
const four = [fr(), fr(), fr(), fr()];
results.poseidon_t5 = await measure(budget, 100, () => Poseidon.hash(four));
const sixteen = Array.from({ length: 16 }, fr);
results.poseidon_t17 = await measure(budget, 20, () => Poseidon.hash(sixteen));
const text = new TextEncoder().encode('https://schema.iden3.io/core/jsonld/iden3proofs.jsonld#issuanceDate');
results.hash_bytes_67_bytes = await measure(budget, 20, () => Poseidon.hashBytes(text));

const key = new PrivateKey(new Uint8Array(32).fill(7));
const pk = key.public();
const msg = fr();
const sig = key.signPoseidon(msg);
results.bjj_sign_poseidon = await measure(budget, 5, () => key.signPoseidon(msg));
results.bjj_verify_poseidon = await measure(budget, 5, () => pk.verifyPoseidon(msg, sig));

const tree = new Merkletree(new InMemoryDB(str2Bytes('')), true, 40);
for (let i = 0; i < 10000; i++) await tree.add(fr(), fr());
results.smt_add_depth40_10k_leaves = await measure(budget, 20, () => tree.add(fr(), fr()));

const leaves = Array.from({ length: 10000 }, () => [fr(), fr()]);
// One run of the whole 10,000-leaf operation (it takes about a minute in Node).
{
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const t = new Merkletree(new InMemoryDB(str2Bytes('')), true, 40);
  for (const [k, v] of leaves) await t.add(k, v);
  const c = process.cpuUsage(c0);
  results.smt_10k_sequential_adds_total = {
    cpu: (c.user + c.system) * 1000,
    wall: Number(process.hrtime.bigint() - t0)
  };
}

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
    ns_per_op: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.cpu])),
    wall_ns_per_op: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.wall]))
  })
);
