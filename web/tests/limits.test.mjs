// limits.test.mjs: the wasm heap's limit (-sMAXIMUM_MEMORY=256MB, wasm/CMakeLists.txt) and the
// core's input limits (docs/limits.md) under node, for both web modules: a hostile photo gets a
// named error status, never an abort, and the same engine then diagnoses a normal photo with
// exactly the probabilities it gave before. No browser: the worker runs this same binding.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';

import FoliaEngine from '../../wasm/folia-engine.js';
import { root } from './helpers.mjs';

const require = createRequire(import.meta.url);
const model_file = process.env.FOLIA_MODEL || join(root, 'shared', 'models', 'plantvillage.folia');
const builds = [
  ['st', join(process.env.FOLIA_WASM_DIR || join(root, 'build', 'wasm'), 'web', 'folia-web.js'), 1],
  ['mt', join(process.env.FOLIA_WASM_MT_DIR || join(root, 'build', 'wasm-mt'), 'web', 'folia-web-mt.js'), 2],
  // relaxed SIMD: node 20 runs it with --experimental-wasm-relaxed-simd (tools/test-web.sh)
  ['rx', join(process.env.FOLIA_WASM_RELAXED_DIR || join(root, 'build', 'wasm-mt-relaxed'), 'web', 'folia-web-mt-relaxed.js'), 2],
];
globalThis.fetch = undefined;  // emscripten 3.1.6's loader under node 20 (wasm/README.md)

const MAX_HEAP = 256 * 1024 * 1024;
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;  // FOLIA_MAX_IMAGE_BYTES (folia.h)

const crc_table = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crc_table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
// An 8-bit RGB PNG; rows(w, h) gives the raw scanlines (filter byte + pixels).
function png(w, h, raw) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 2;  // RGB
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}
function gradient_png(w, h) {
  const raw = Buffer.alloc(h * (w * 3 + 1));
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w * 3; x++) raw[y * (w * 3 + 1) + 1 + x] = (x * 5 + y * 11) & 0xff;
  return png(w, h, raw);
}

for (const [tag, module_file, threads] of builds) {
  test(`${tag}: hostile photos get named statuses within the 256 MB heap and the engine keeps working`,
    { skip: !existsSync(module_file) && `${module_file} not built`, timeout: 300000 }, async () => {
      const engine = await FoliaEngine.open(require(module_file), readFileSync(model_file), { threads });
      try {
        const normal = gradient_png(300, 200);
        const before = engine.classifyImage(normal);
        assert.equal(before.ok, true, before.message);

        // 8000 x 7000 = 56 MP > the 50 MP default: refused from the header, nothing decoded.
        const over_pixels = png(8000, 7000, Buffer.alloc(1));
        let r = engine.classifyImage(over_pixels);
        assert.equal(r.statusName, 'FOLIA_ERR_IMAGE_TOO_LARGE', r.message);

        // 7000 x 7000 = 49 MP passes the pixel limit, but stb needs the inflated scanlines
        // (147 MB) and the RGB output (147 MB) at once: more than the heap may grow to.
        const over_heap = png(7000, 7000, Buffer.alloc(7000 * (7000 * 3 + 1)));
        assert.ok(over_heap.length < 1 << 20, `a ${over_heap.length}-byte file`);
        r = engine.classifyImage(over_heap);
        assert.equal(r.statusName, 'FOLIA_ERR_OUT_OF_MEMORY', r.message);
        assert.match(r.message, /out of memory/);
        assert.ok(engine.memoryBytes() <= MAX_HEAP, `heap ${engine.memoryBytes()} bytes`);

        // More encoded bytes than FOLIA_MAX_IMAGE_BYTES: refused before any parsing.
        const big = new Uint8Array(MAX_IMAGE_BYTES + 1);
        big.set(normal);
        r = engine.classifyImage(big);
        assert.equal(r.statusName, 'FOLIA_ERR_IMAGE_TOO_LARGE', r.message);

        // The same engine, afterwards: the same probabilities, bit for bit.
        const after = engine.classifyImage(normal);
        assert.equal(after.ok, true, after.message);
        assert.deepEqual(Array.from(after.probs), Array.from(before.probs));
        assert.ok(engine.memoryBytes() <= MAX_HEAP);
      } finally {
        engine.free();
      }
    });
}
