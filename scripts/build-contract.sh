#!/usr/bin/env bash
# Compile contracts/IdentityState.sol with the pinned solc-js from interop/node_modules and write
# the committed artifact contracts/IdentityState.json (abi, bytecode, deployedBytecode, selectors,
# compiler version and settings, source sha256).
#
# Usage: scripts/build-contract.sh [--out PATH]
#   --out PATH   write the artifact to PATH instead of contracts/IdentityState.json
#                (the claimd-chain test uses this to prove the committed artifact is up to date).
# Needs node and `npm ci --prefix interop` (solc 0.8.37).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/contracts/IdentityState.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ ! -f "$root/interop/node_modules/solc/package.json" ]; then
  echo "solc-js is missing: run \`npm ci --prefix interop\`" >&2
  exit 1
fi

ROOT="$root" OUT="$out" node --input-type=module - <<'JS'
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = process.env.ROOT;
const require = createRequire(path.join(root, "interop", "package.json"));
const solc = require("solc");

const SOURCE_NAME = "IdentityState.sol";
const CONTRACT = "IdentityState";
const source = readFileSync(path.join(root, "contracts", SOURCE_NAME), "utf8");

// Pinned settings. evmVersion "cancun": run by revm (SpecId::CANCUN, pinned in claimd-chain),
// anvil 1.7.1 and current EVM chains. solc 0.8.37's default would be osaka.
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: {
    [SOURCE_NAME]: {
      [CONTRACT]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"],
    },
  },
};

const input = { language: "Solidity", sources: { [SOURCE_NAME]: { content: source } }, settings };
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage || e.message);
if (errors.length > 0) process.exit(1);

const c = output.contracts[SOURCE_NAME][CONTRACT];
const sortKeys = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
const artifact = {
  contractName: CONTRACT,
  sourceName: `contracts/${SOURCE_NAME}`,
  sourceSha256: createHash("sha256").update(source).digest("hex"),
  compiler: { name: "solc-js", version: solc.version(), settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion } },
  abi: c.abi,
  methodIdentifiers: sortKeys(c.evm.methodIdentifiers),
  bytecode: "0x" + c.evm.bytecode.object,
  deployedBytecode: "0x" + c.evm.deployedBytecode.object,
};
writeFileSync(process.env.OUT, JSON.stringify(artifact, null, 2) + "\n");
console.error(`wrote ${process.env.OUT} (${c.evm.deployedBytecode.object.length / 2} bytes runtime)`);
JS
