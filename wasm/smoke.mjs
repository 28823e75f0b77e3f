#!/usr/bin/env node
// smoke.mjs: load the Folia web module under node, load a model file and classify image files,
// printing one JSON object per line per image, shaped like `folia diagnose --json`:
//   {"file": ..., "top": [{"label": ..., "p": ...} x3], "ms": ..., "sure": ...}
// plus "probs" (every class) with --probs and "wasm_memory_bytes" with --memory. Lets tests
// compare the wasm engine with the native CLI on the same files.
//
//   node wasm/smoke.mjs --model MODEL [--module build/wasm/web/folia-web.js]
//        [--threads N] [--probs] [--memory] IMG...
// Exit status: 0 every image classified, 1 any refused (reason on stderr), 2 usage error.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const FoliaEngine = require('./folia-engine.js');

function usage(why) {
  process.stderr.write(`smoke.mjs: ${why}\nusage: node wasm/smoke.mjs ` +
    '--model MODEL [--module folia-web.js|folia-web-mt.js] [--threads N] [--probs] [--memory] IMG...\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const opt = { module: path.join(here, '..', 'build', 'wasm', 'web', 'folia-web.js'), threads: 1,
              probs: false, memory: false, model: null, images: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => (i + 1 < args.length ? args[++i] : usage(`missing value after ${a}`));
  if (a === '--model') opt.model = value();
  else if (a === '--module') opt.module = path.resolve(value());
  else if (a === '--threads') opt.threads = Number.parseInt(value(), 10);
  else if (a === '--probs') opt.probs = true;
  else if (a === '--memory') opt.memory = true;
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else opt.images.push(a);
}
if (!opt.model) usage('--model is required');
if (!opt.images.length) usage('no image given');
if (!(opt.threads >= 1)) usage('--threads takes a count >= 1');
// emscripten 3.1.6's loader sees node 20's fetch, takes it for a browser and fails to fetch the
// .wasm from a file path: hide it (same effect as node --no-experimental-fetch).
globalThis.fetch = undefined;

let createModule;
try {
  createModule = require(opt.module);
} catch (e) {
  process.stderr.write(`smoke.mjs: cannot load ${opt.module}: ${e.message}\n`);
  process.exit(2);
}
let modelBytes;
try {
  modelBytes = readFileSync(opt.model);
} catch (e) {
  usage(`cannot read model ${opt.model}: ${e.message}`);
}

let engine;
try {
  engine = await FoliaEngine.open(createModule, modelBytes, { threads: opt.threads });
} catch (e) {
  process.stderr.write(`${opt.model}: ${e.message}\n`);
  process.exit(1);
}

let refused = 0;
for (const file of opt.images) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    process.stderr.write(`${file}: cannot read: ${e.message}\n`);
    refused++;
    continue;
  }
  const r = engine.classifyImage(bytes);
  if (!r.ok) {
    process.stderr.write(`${file}: ${r.message}\n`);
    refused++;
    continue;
  }
  const out = FoliaEngine.diagnosis(r, file);
  if (opt.probs) out.probs = Array.from(r.probs);
  if (opt.memory) out.wasm_memory_bytes = engine.memoryBytes();
  process.stdout.write(JSON.stringify(out) + '\n');
}
engine.free();
process.exit(refused ? 1 : 0);
