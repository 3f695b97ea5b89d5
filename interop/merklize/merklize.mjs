// Oracle for claimd-merklize's interop tests: merklizes documents with the reference iden3 stack
// (@iden3/js-jsonld-merklization 1.7.2 on jsonld.js 8.3.3) and prints what claimd must reproduce.
//
// Usage: node interop/merklize/merklize.mjs <input.json>
//   input:  {"docs": [<document>, ...], "contexts": {"<url>": <context document>, ...},
//            "paths": ["credentialSubject.age", ...]}   (optional)
//   output: one JSON array on stdout, per document:
//           {"root": "<decimal>", "nquads": "<canonical N-Quads>", "typeIri": "<IRI>"|null,
//            "paths": {"<path>": [<part>, ...] | {"error": "<message>"}}}
//           or {"error": "<message>"}
// Contexts are served offline from crates/merklize/contexts (index.json) plus the "contexts" map;
// any other URL throws, exactly like claimd's loader.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'package.json'));
const { Merklizer, Path } = await import(require.resolve('@iden3/js-jsonld-merklization'));
const jsonld = (await import(require.resolve('jsonld'))).default;

const ctxDir = join(here, '..', '..', 'crates', 'merklize', 'contexts');
const index = JSON.parse(readFileSync(join(ctxDir, 'index.json'), 'utf8')).documents;
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const docs = new Map();
for (const [url, file] of Object.entries(index)) {
  docs.set(url, JSON.parse(readFileSync(join(ctxDir, file), 'utf8')));
}
for (const [url, doc] of Object.entries(input.contexts ?? {})) {
  docs.set(url, doc);
}
const documentLoader = async (url) => {
  if (!docs.has(url)) {
    throw new Error(`unknown context ${url}`);
  }
  return { contextUrl: null, document: structuredClone(docs.get(url)), documentUrl: url };
};

const CRED_SUBJECT = 'https://www.w3.org/2018/credentials#credentialSubject';
const VC_TYPE = 'https://www.w3.org/2018/credentials#VerifiableCredential';

// js-sdk 1.45.0 findCredentialType, on the merklizer's compacted document.
function credentialType(mz) {
  try {
    return mz.rawValue(new Path([CRED_SUBJECT, '@type'], mz.hasher));
  } catch {
    const top = mz.rawValue(new Path(['@type'], mz.hasher));
    if (!Array.isArray(top) || top.length !== 2) return null;
    if (top[0] === VC_TYPE) return top[1];
    if (top[1] === VC_TYPE) return top[0];
    return null;
  }
}

const out = [];
for (const doc of input.docs) {
  try {
    const mz = await Merklizer.merklizeJSONLD(JSON.stringify(doc), { documentLoader });
    const root = (await mz.root()).bigInt().toString();
    const nquads = await jsonld.canonize(doc, {
      algorithm: 'URDNA2015',
      format: 'application/n-quads',
      safe: true,
      documentLoader,
    });
    let typeIri = null;
    try {
      const t = credentialType(mz);
      typeIri = typeof t === 'string' ? t : null;
    } catch {
      typeIri = null;
    }
    const paths = {};
    for (const p of input.paths ?? []) {
      try {
        paths[p] = (await Path.fromDocument(null, JSON.stringify(doc), p, { documentLoader })).parts;
      } catch (e) {
        paths[p] = { error: String(e?.message ?? e) };
      }
    }
    out.push({ root, nquads, typeIri, paths });
  } catch (e) {
    out.push({ error: String(e?.message ?? e) });
  }
}
process.stdout.write(JSON.stringify(out));
