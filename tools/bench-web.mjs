#!/usr/bin/env node
// bench-web.mjs: Folia in the browser vs ONNX Runtime Web and TensorFlow.js, in ONE headless
// Chromium run, on the same model weights; plus the app's cold start, 12 MP photo-to-diagnosis
// and first-visit download. Prints a table, writes build/bench/web-bench.json (atomically).
//
//   node tools/bench-web.mjs [--out FILE] [--runs N] [--warmup N] [--no-app] [--no-native]
//
// Use tools/bench-web.sh, which prepares what this needs: the wasm builds (build/wasm*/web), the
// PWA (web/dist), the ONNX export (build/bench/folia.onnx, tools/export-onnx.py) and the peers'
// npm packages (web/bench/node_modules). Not a test: nothing here asserts a time.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from './serve.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require_web = createRequire(join(root, 'web', 'package.json'));
const { chromium } = require_web('playwright-core');

const args = process.argv.slice(2);
const opt = { out: join(root, 'build', 'bench', 'web-bench.json'), runs: 100, warmup: 10, app: true, native: true, cold_reloads: 5 };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--out') opt.out = resolve(args[++i]);
  else if (a === '--runs') opt.runs = Number(args[++i]);
  else if (a === '--warmup') opt.warmup = Number(args[++i]);
  else if (a === '--no-app') opt.app = false;
  else if (a === '--no-native') opt.native = false;
  else if (a === '-h' || a === '--help') {
    console.log('usage: node tools/bench-web.mjs [--out FILE] [--runs N] [--warmup N] [--no-app] [--no-native]');
    process.exit(0);
  } else {
    console.error(`bench-web.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}

const bench_dir = join(root, 'build', 'bench');
const site = join(bench_dir, 'site');
const dist = process.env.FOLIA_WEB_DIST || join(root, 'web', 'dist');
const wasm_st = process.env.FOLIA_WASM_DIR || join(root, 'build', 'wasm');
const wasm_mt = process.env.FOLIA_WASM_MT_DIR || join(root, 'build', 'wasm-mt');
const wasm_rx = process.env.FOLIA_WASM_RELAXED_DIR || join(root, 'build', 'wasm-mt-relaxed');
const model = process.env.FOLIA_MODEL || join(root, 'shared', 'models', 'plantvillage.folia');
const golden = model.replace(/\.folia$/, '.golden.bin');
const onnx = join(bench_dir, 'folia.onnx');
const nm = join(root, 'web', 'bench', 'node_modules');

function need(path, hint) {
  if (!existsSync(path)) {
    console.error(`bench-web.mjs: ${path} missing: ${hint}`);
    process.exit(1);
  }
  return path;
}

// ---- stage the benchmark site: our page + the exact files each engine ships -----------------
function stage() {
  rmSync(site, { recursive: true, force: true });
  const put = (from, to) => {
    mkdirSync(dirname(join(site, to)), { recursive: true });
    copyFileSync(from, join(site, to));
  };
  for (const f of ['index.html', 'bench.js', 'bench-worker.js', 'model-file.js']) put(join(root, 'web', 'bench', f), f);
  for (const f of ['folia-web.js', 'folia-web.wasm']) put(need(join(wasm_st, 'web', f), 'run tools/build-wasm.sh'), `folia/${f}`);
  for (const f of ['folia-web-mt.js', 'folia-web-mt.wasm', 'folia-web-mt.worker.js']) put(need(join(wasm_mt, 'web', f), 'run tools/build-wasm.sh'), `folia/${f}`);
  for (const f of ['folia-web-mt-relaxed.js', 'folia-web-mt-relaxed.wasm']) put(need(join(wasm_rx, 'web', f), 'run tools/build-wasm.sh'), `folia/${f}`);
  put(join(root, 'wasm', 'folia-engine.js'), 'folia/folia-engine.js');
  put(need(model, 'no model file'), 'model/plantvillage.folia');
  put(need(golden, 'no golden file next to the model'), 'model/plantvillage.golden.bin');
  put(need(onnx, 'run tools/export-onnx.py'), 'model/folia.onnx');
  const ort = need(join(nm, 'onnxruntime-web', 'dist'), 'run tools/bench-web.sh (npm ci in web/bench)');
  for (const f of ['ort.wasm.min.js', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) put(join(ort, f), `ort/${f}`);
  put(join(nm, '@tensorflow', 'tfjs-core', 'dist', 'tf-core.min.js'), 'tfjs/tf-core.min.js');
  const tfw = join(nm, '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of ['tf-backend-wasm.min.js', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) put(join(tfw, f), `tfjs/${f}`);
  put(photo_12mp(), 'photo-12mp.jpg');
}

// A synthetic 12 MP phone photo (4032x3024, EXIF-rotated), made by Pillow, never committed.
function photo_12mp() {
  const p = join(bench_dir, 'synthetic-4032x3024.jpg');
  if (!existsSync(p)) execFileSync('/usr/bin/python3', [join(root, 'web', 'tests', 'make-synthetic-photo.py'), p]);
  return p;
}

// A small photo for the cold start's first diagnosis: a real PlantVillage image when FOLIA_DATA
// is there (256x256, as a farmer's cropped photo would be decoded), else the 12 MP one.
function small_photo() {
  const data = process.env.FOLIA_DATA;
  if (data && existsSync(data)) {
    const cls = readdirSync(data).filter((d) => statSync(join(data, d)).isDirectory()).sort()[0];
    const f = cls && readdirSync(join(data, cls)).filter((x) => /\.jpe?g$/i.test(x)).sort()[0];
    if (f) return join(data, cls, f);
  }
  return photo_12mp();
}

const pkg_version = (name) => JSON.parse(readFileSync(join(nm, ...name.split('/'), 'package.json'), 'utf8')).version;
const chromium_args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

// ---- the app (web/dist): first-visit bytes, cold start offline from the SW cache, 12 MP photo --
async function app_case(browser, { tag, coi, query }) {
  const server = await startServer({ root: dist, coi });
  const context = await browser.newContext({ serviceWorkers: 'allow', viewport: { width: 360, height: 780 } });
  const page = await context.newPage();
  const fig = { case: tag };
  try {
    fig.first_diagnosis_photo = small_photo();
    const small = readFileSync(fig.first_diagnosis_photo);
    // the photo is put in the page by the browser driver, not fetched (the app is offline then)
    await context.addInitScript((b64) => { self.__bench_photo = b64; }, small.toString('base64'));
    await page.goto(server.url + query);
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
      }
    });
    const first = await page.evaluate(() => window.folia.ready);
    fig.first_visit_bytes = server.requests.reduce((s, r) => s + (r.bytes || 0), 0);
    fig.first_visit_bytes_uncompressed = server.requests.reduce((s, r) => s + (r.raw || 0), 0);
    fig.first_visit_requests = server.requests.length;
    fig.first_visit_build = first.build;
    await context.setOffline(true);
    await server.close();
    // Cold start: navigation start -> engine ready -> first diagnosis done, all from the cache.
    fig.cold = [];
    for (let i = 0; i < opt.cold_reloads; i++) {
      await page.reload({ waitUntil: 'commit' });
      const r = await page.evaluate(async () => {
        while (!window.folia) await new Promise((res) => setTimeout(res, 1));
        const info = await window.folia.ready;
        const bin = atob(self.__bench_photo);
        const bytes = new Uint8Array(bin.length);
        for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
        const t = performance.now();
        const res = await window.folia.diagnose(bytes.buffer);
        return { build: info.build, simd: info.simd, threads: info.threads, ready_ms: window.folia.ready_at, engine_init_ms: info.init_ms,
          first_diagnosis_ms: performance.now(), diagnose_ms: performance.now() - t, worker_ms: res.ms,
          controlled: !!navigator.serviceWorker.controller };
      });
      fig.cold.push(r);
    }
    fig.build = fig.cold[0].build;
    fig.threads = fig.cold[0].threads;
    fig.simd = fig.cold[0].simd;
    fig.cold_start_first_ms = fig.cold[0].first_diagnosis_ms;
    fig.cold_start_median_ms = median(fig.cold.map((c) => c.first_diagnosis_ms));
    fig.cold_ready_median_ms = median(fig.cold.map((c) => c.ready_ms));
    // 12 MP photo through window.folia (worker: decode + orientation + resize + inference)
    const big = readFileSync(photo_12mp()).toString('base64');
    fig.photo_12mp = await page.evaluate(async (b64) => {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
      const out = [];
      for (let k = 0; k < 4; k++) {
        const t = performance.now();
        const r = await window.folia.diagnose_full(bytes.buffer);
        out.push({ worker_ms: r.result.ms, page_ms: performance.now() - t, memory_bytes: r.memory_bytes });
      }
      return out.slice(1);  // the first one grows the heap: a warm-up
    }, big);
    fig.photo_12mp_worker_median_ms = median(fig.photo_12mp.map((r) => r.worker_ms));
    fig.photo_12mp_page_median_ms = median(fig.photo_12mp.map((r) => r.page_ms));
    fig.wasm_memory_bytes_after_12mp = Math.max(...fig.photo_12mp.map((r) => r.memory_bytes));
  } finally {
    await context.close();
    await server.close().catch(() => {});
  }
  return fig;
}

function atomic_write(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const pad = (s, n) => String(s).padEnd(n);
const f1 = (x) => (x == null ? '-' : x.toFixed(x < 10 ? 2 : 1));

async function main() {
  stage();
  const result = {
    date: new Date().toISOString(),
    host: { cpus: cpus().length, cpu_model: cpus()[0] && cpus()[0].model, loadavg_before: load() },
    versions: {
      'onnxruntime-web': pkg_version('onnxruntime-web'),
      '@tensorflow/tfjs-core': pkg_version('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-wasm': pkg_version('@tensorflow/tfjs-backend-wasm'),
    },
  };
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromium_args });
  result.versions.chromium = browser.version();
  const server = await startServer({ root: site, coi: true });
  try {
    // bypassCSP: serve.mjs sends the app's CSP (workers only from 'self'); TF.js starts its
    // pthread workers from blob: URLs. The Folia app itself never needs this.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    // Privacy, as in the app's tests: the bench page may fetch nothing from another origin.
    const foreign = [];
    context.on('request', (r) => {
      const u = r.url();
      if (!(u.startsWith(server.url) || u.startsWith('blob:') || u.startsWith('data:'))) foreign.push(u);
    });
    const logs = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    if (process.env.FOLIA_BENCH_VERBOSE) page.on('console', (m) => console.error(`[page] ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(server.url + 'index.html');
    await page.waitForFunction(() => window.bench_ready === true);
    try {
      result.inference = await page.evaluate((o) => window.bench.run(o), { runs: opt.runs, warmup: opt.warmup });
    } catch (e) {
      console.error(logs.join('\n'));
      throw e;
    }
    result.host.loadavg_after_inference = load();
    if (foreign.length) throw new Error(`the bench page requested another origin: ${foreign.join(', ')}`);
    await context.close();
    if (opt.app) {
      need(join(dist, 'index.html'), 'run tools/build-web.sh');
      result.app = [
        await app_case(browser, { tag: 'st', coi: false, query: '?isolate=0' }),
        await app_case(browser, { tag: 'mt', coi: true, query: '' }),
      ];
      result.host.loadavg_after_app = load();
    }
  } finally {
    await server.close().catch(() => {});
    await browser.close();
  }
  if (opt.native) {
    const cli = join(root, 'build', 'native', 'bin', 'folia');
    if (existsSync(cli)) {
      try {
        result.native = JSON.parse(execFileSync(cli, ['bench', '--json', '--model', model], { encoding: 'utf8' }));
        result.host.loadavg_after_native = load();
      } catch (e) {
        result.native = { error: String(e.message || e) };
      }
    }
  }

  // ---- table ----
  const inf = result.inference;
  console.log(`\nFolia in the browser: Chromium ${result.versions.chromium} headless, batch 1, ${inf.harness.input}, ` +
    `${inf.harness.warmup} warm-up + ${inf.harness.runs} runs (${inf.harness.rounds} rotating rounds), cross-origin isolated: ${inf.isolated}`);
  console.log(`load average (1/5/15 min) before: ${result.host.loadavg_before.join(' ')}, after: ${result.host.loadavg_after_inference.join(' ')} on ${result.host.cpus} CPUs\n`);
  console.log(`${pad('engine', 44)}${pad('mean ms', 10)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('img/s', 9)}${pad('vs Folia p50', 14)}${pad('vs plain', 10)}${pad('max|dlogit|', 12)}`);
  for (const r of inf.configs) {
    if (r.error) {
      console.log(`${pad(r.name, 44)}FAILED: ${r.error.split('\n')[0]}`);
      continue;
    }
    const ratio = r.ratio_p50_vs_ref ? `${r.ratio_p50_vs_ref.toFixed(2)}x` : '(ref)';
    const plain = r.ratio_p50_vs_plain ? `${r.ratio_p50_vs_plain.toFixed(2)}x` : '';
    console.log(`${pad(r.name, 44)}${pad(f1(r.mean_ms), 10)}${pad(f1(r.p50_ms), 10)}${pad(f1(r.p99_ms), 10)}${pad(f1(r.images_per_s), 9)}` +
      `${pad(ratio, 14)}${pad(plain, 10)}${pad(r.max_abs_diff_vs_folia == null ? '-' : r.max_abs_diff_vs_folia.toExponential(1), 12)}`);
  }
  console.log('(vs Folia: the peer\'s p50 divided by Folia relaxed SIMD\'s (what Chromium runs in the app) with the same thread count; vs plain: divided by Folia plain SIMD\'s (Safari, Firefox); max|dlogit|: vs Folia 1 thread)');
  for (const r of inf.configs) {
    if (!r.error && r.info && r.info.threads !== r.threads) console.log(`note: ${r.id} asked for ${r.threads} threads, the engine reports ${r.info.threads}`);
  }
  for (const p of inf.photo || []) {
    console.log(`12 MP photo -> diagnosis, ${p.id} (bench worker): p50 ${f1(p.p50_ms)} ms, mean ${f1(p.mean_ms)} ms (${p.n} runs), wasm memory ${(p.wasm_memory_bytes / 2 ** 20).toFixed(0)} MiB`);
  }
  for (const a of result.app || []) {
    console.log(`app ${a.case} (${a.build}${a.simd ? ` ${a.simd}` : ""}, ${a.threads} thread${a.threads > 1 ? 's' : ''}): cold start offline to first diagnosis ` +
      `${f1(a.cold_start_first_ms)} ms first, ${f1(a.cold_start_median_ms)} ms median of ${a.cold.length}; 12 MP photo ${f1(a.photo_12mp_worker_median_ms)} ms in the worker ` +
      `(${f1(a.photo_12mp_page_median_ms)} ms page round trip); wasm memory ${(a.wasm_memory_bytes_after_12mp / 2 ** 20).toFixed(0)} MiB; ` +
      `first visit ${(a.first_visit_bytes / 1e6).toFixed(2)} MB transferred (${(a.first_visit_bytes_uncompressed / 1e6).toFixed(2)} MB uncompressed)`);
  }
  if (result.native && result.native.results) {
    for (const r of result.native.results) {
      console.log(`native folia bench, ${r.threads} thread(s): p50 ${f1(r.p50_ms)} ms, mean ${f1(r.mean_ms)} ms, p99 ${f1(r.p99_ms)} ms, batch-32 ${f1(r.batch32_images_per_s)} img/s`);
    }
  }
  const bad = inf.configs.filter((r) => !r.error && !r.logits_match);
  if (bad.length) console.log(`LOGITS DIFFER from Folia's by more than ${inf.tolerance}: ${bad.map((r) => r.id).join(', ')}`);
  atomic_write(opt.out, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${opt.out}`);
  process.exit(bad.length || inf.configs.some((r) => r.error && !r.optional) ? 1 : 0);
}

await main();
