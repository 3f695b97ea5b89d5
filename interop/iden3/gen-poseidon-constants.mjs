// Regenerates crates/iden3/src/poseidon/constants.bin from the optimised Poseidon
// parameters shipped by @iden3/js-crypto (the same numbers as go-iden3-crypto's
// poseidon/constants.go and circomlibjs' poseidon_constants_opt.js).
//
// Usage: node interop/iden3/gen-poseidon-constants.mjs
//
// Layout of the output (all integers little-endian u32, all field elements 32-byte big-endian):
//   magic "PSDN", version u32 = 1, count u32 (= 16, widths t = 2..=17)
//   then for each t: t u32, |C| u32, |S| u32, C[...], M[t][t] (row-major), P[t][t] (row-major), S[...]
import { readFileSync, writeFileSync } from 'node:fs';

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const pkgDir = join(here, '..', 'node_modules', '@iden3', 'js-crypto');
const opt = JSON.parse(readFileSync(join(pkgDir, 'src/poseidon/poseidon-constants-opt.json'), 'utf8'));

const chunks = [];
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); chunks.push(b); };
const fe = (b64) => {
  const b = Buffer.from(b64, 'base64');
  if (b.length > 32) throw new Error('constant wider than 32 bytes');
  chunks.push(Buffer.concat([Buffer.alloc(32 - b.length), b]));
};

chunks.push(Buffer.from('PSDN'));
u32(1);
u32(opt.C.length);
for (let i = 0; i < opt.C.length; i++) {
  const t = i + 2;
  u32(t); u32(opt.C[i].length); u32(opt.S[i].length);
  opt.C[i].forEach(fe);
  if (opt.M[i].length !== t || opt.P[i].length !== t) throw new Error(`bad matrix size for t=${t}`);
  opt.M[i].forEach((row) => row.forEach(fe));
  opt.P[i].forEach((row) => row.forEach(fe));
  opt.S[i].forEach(fe);
}
const out = join(here, '..', '..', 'crates', 'iden3', 'src', 'poseidon', 'constants.bin');
writeFileSync(out, Buffer.concat(chunks));
console.log(`wrote ${out}`);
