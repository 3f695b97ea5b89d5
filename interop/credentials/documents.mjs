// The JSON-LD documents the interop scripts serve instead of fetching: the W3C and iden3
// contexts bundled under contexts/ (contexts/index.json maps each URL to its file). Callers add
// the schema documents they were given and refuse every other URL.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ctxDir = join(dirname(fileURLToPath(import.meta.url)), 'contexts');

/** A new Map from URL to parsed document, one entry per bundled context. */
export function bundledDocuments() {
  const docs = new Map();
  const index = JSON.parse(readFileSync(join(ctxDir, 'index.json'), 'utf8')).documents;
  for (const [url, file] of Object.entries(index)) {
    docs.set(url, JSON.parse(readFileSync(join(ctxDir, file), 'utf8')));
  }
  return docs;
}
