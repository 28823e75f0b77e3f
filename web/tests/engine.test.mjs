// engine.test.mjs: wasm/folia-engine.js, the one JS binding of the C API, under node (no
// browser): imported as an ES module, statuses read from the module (no numbers in JS), the same
// probabilities as the native CLI, teaching through the binding; and a source check that nothing
// else in the app, the bench page or the node tools calls the module's C functions.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

import FoliaEngine from '../../wasm/folia-engine.js';
import { native_diagnose, new_class_photos, real_photos, root } from './helpers.mjs';

const require = createRequire(import.meta.url);
const model_file = process.env.FOLIA_MODEL || join(root, 'shared', 'models', 'plantvillage.folia');
const builds = [
  ['st', join(process.env.FOLIA_WASM_DIR || join(root, 'build', 'wasm'), 'web', 'folia-web.js'), 1],
  ['mt', join(process.env.FOLIA_WASM_MT_DIR || join(root, 'build', 'wasm-mt'), 'web', 'folia-web-mt.js'), 2],
  // relaxed SIMD: node 20 runs it with --experimental-wasm-relaxed-simd (tools/test-web.sh)
  ['rx', join(process.env.FOLIA_WASM_RELAXED_DIR || join(root, 'build', 'wasm-mt-relaxed'), 'web', 'folia-web-mt-relaxed.js'), 2],
];

// emscripten 3.1.6's loader takes node 20's fetch for a browser's (wasm/README.md).
globalThis.fetch = undefined;

test('the binding is one UMD file: ES import, require and a classic script agree', () => {
  assert.equal(typeof FoliaEngine.open, 'function');
  assert.equal(require('../../wasm/folia-engine.js').open, FoliaEngine.open);
  const { top, sure } = FoliaEngine.summarize(new Float32Array([0.1, 0.5, 0.1, 0.3]), ['a', 'b', 'c', 'd'], 0.5);
  assert.deepEqual(top.map((x) => x.label), ['b', 'd', 'a'], 'ties keep the lower class index first');
  assert.equal(sure, true);
  assert.deepEqual(Object.keys(FoliaEngine.diagnosis({ top, sure, ms: 1.23456 }, 'f')), ['file', 'top', 'ms', 'sure']);
});

test('no other JS calls the C API, and none spells a status as a number', () => {
  const files = [
    ...readdirSync(join(root, 'web', 'src')).filter((f) => f.endsWith('.js') && f !== 'sw.js').map((f) => join(root, 'web', 'src', f)),
    ...readdirSync(join(root, 'web', 'bench')).filter((f) => f.endsWith('.js')).map((f) => join(root, 'web', 'bench', f)),
    join(root, 'wasm', 'smoke.mjs'),
  ];
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    assert.doesNotMatch(src, /\._folia_|_malloc|_free\(|HEAPU8|wasmMemory/, `${f} calls the module directly`);
    assert.doesNotMatch(src, /FOLIA_OK|status\s*[!=]==?\s*\d/, `${f} compares a status with a number`);
  }
  const binding = readFileSync(join(root, 'wasm', 'folia-engine.js'), 'utf8');
  assert.doesNotMatch(binding, /status\s*[!=]==?\s*\d|st\d?\s*[!=]==?\s*\d/, 'the binding compares statuses with names');
});

for (const [tag, module_file, threads] of builds) {
  test(`${tag}: statuses from the module, the native CLI's probabilities, refusals by name`, { skip: !existsSync(module_file) && `${module_file} not built` }, async () => {
    const engine = await FoliaEngine.open(require(module_file), readFileSync(model_file), { threads });
    try {
      assert.equal(engine.status.OK, 0);
      for (const name of ['OUT_OF_MEMORY', 'IMAGE_FORMAT', 'MODEL_MAGIC', 'ENGINE']) {
        assert.equal(typeof engine.status[name], 'number', name);
        assert.ok(engine.statusMessage(engine.status[name]).length > 3, name);
      }
      const files = real_photos(3);
      const native = native_diagnose(files, model_file);
      files.forEach((f, i) => {
        const r = engine.classifyImage(readFileSync(f));
        assert.equal(r.ok, true, r.message);
        const d = FoliaEngine.diagnosis(r, f);
        assert.deepEqual(d.top.map((x) => x.label), native[i].top.map((x) => x.label));
        d.top.forEach((x, k) => assert.ok(Math.abs(x.p - native[i].top[k].p) <= 1e-4));
        assert.equal(d.sure, native[i].sure);
      });
      const bad = engine.classifyImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      assert.equal(bad.ok, false);
      assert.equal(bad.status, engine.status.IMAGE_FORMAT);
      assert.equal(bad.statusName, 'FOLIA_ERR_IMAGE_FORMAT');
      // A refused model leaves the loaded one in place.
      const labels = engine.labels.slice();
      assert.throws(() => engine.load(new Uint8Array(64)), (e) => e.status === engine.status.MODEL_MAGIC);
      assert.deepEqual(engine.labels, labels);
      assert.equal(engine.classifyImage(readFileSync(files[0])).ok, true);
    } finally {
      engine.free();
    }
  });
}

test('teaching through the binding: a new class, the same bytes for the same seed, load() swaps models', { skip: !existsSync(builds[0][1]) && 'wasm not built' }, async () => {
  const engine = await FoliaEngine.open(require(builds[0][1]), readFileSync(model_file), { threads: 1 });
  try {
    assert.equal(engine.canTeach, true, 'the web module exports the teaching API');
    const { label, files } = new_class_photos(5);
    const examples = files.map((f) => ({ label, note: 'a note', bytes: readFileSync(f) }));
    const progress = [];
    const opts = { seed: 7, dateUnixS: 1700000000, onProgress: (f, loss) => { progress.push([f, loss]); } };
    const a = engine.teach(examples, opts);
    assert.ok(progress.length > 0 && progress.at(-1)[0] <= 1, 'progress reported');
    assert.ok(a.model.byteLength > 1000);
    assert.equal(typeof a.summary, 'object');
    const b = engine.teach(examples, { seed: 7, dateUnixS: 1700000000 });
    assert.ok(Buffer.from(a.model).equals(Buffer.from(b.model)), 'same photos + seed => same model bytes');
    // Cancelling from the progress callback: the cancelled status, by name; the model is unchanged.
    assert.throws(() => engine.teach(examples, { onProgress: () => true }), (e) => e.status === engine.status.CANCELLED);
    const n = engine.numClasses;
    engine.load(a.model);
    assert.equal(engine.numClasses, n + 1);
    assert.equal(engine.labels.at(-1), label);
    const r = engine.classifyImage(readFileSync(files[0]));
    assert.equal(r.top[0].label, label);
  } finally {
    engine.free();
  }
});

// The same photos and seed taught in wasm and natively (`folia teach`): the taught models give
// the same top-1 on later photos of the class and on lab photos, probabilities within 0.02
// (the head is trained with deterministic maths on both, but XNNPACK's trunk features differ in
// the last bits between targets). Figures go to build/web-artifacts/teach-native-vs-wasm.json.
test('teaching in wasm and natively on the same photos and seed: same top-1, probabilities within 0.02', { skip: !existsSync(builds[0][1]) && 'wasm not built' }, async () => {
  const { mkdtempSync, symlinkSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { execFileSync } = await import('node:child_process');
  const { label, files } = new_class_photos(20);
  const teach = files.slice(0, 10), check = [...files.slice(10), ...real_photos(6)];
  const dir = mkdtempSync(join(tmpdir(), 'folia-teach-'));
  mkdirSync(join(dir, label));
  teach.forEach((f, i) => symlinkSync(f, join(dir, label, `${String(i).padStart(2, '0')}.jpg`)));
  const native_model = join(dir, 'native.folia');
  execFileSync(join(root, 'build', 'native', 'bin', 'folia'), ['teach', '--model', model_file, '--seed', '42', '-o', native_model, join(dir, label)], { stdio: 'pipe' });
  const engine = await FoliaEngine.open(require(builds[0][1]), readFileSync(model_file), { threads: 1 });
  let worst = 0;
  const rows = [];
  try {
    const taught = engine.teach(teach.map((f) => ({ label, bytes: readFileSync(f) })), { seed: 42 });
    engine.load(taught.model);
    const native = native_diagnose(check, native_model);
    check.forEach((f, i) => {
      const w = engine.classifyImage(readFileSync(f));
      assert.equal(w.top[0].label, native[i].top[0].label, `${f}: wasm and native top-1`);
      const d = Math.abs(w.top[0].p - native[i].top[0].p);
      worst = Math.max(worst, d);
      rows.push({ file: f, label: w.top[0].label, p_wasm: w.top[0].p, p_native: native[i].top[0].p });
    });
  } finally {
    engine.free();
  }
  mkdirSync(join(root, 'build', 'web-artifacts'), { recursive: true });
  writeFileSync(join(root, 'build', 'web-artifacts', 'teach-native-vs-wasm.json'), JSON.stringify({ max_abs_dp: worst, rows }, null, 1));
  console.log(`# teach native vs wasm: ${rows.length} photos, same top-1, max |dp| ${worst.toExponential(2)}`);
  assert.ok(worst <= 0.02, `max |dp| ${worst}`);
});
