// bench.js: the benchmark page. Each engine configuration runs in its own Web Worker
// (bench-worker.js) on the same model weights and the same input, the golden file's first image
// (x (1,S,S,3) f32 normalised NHWC, with LibTorch's logits for it).
//
// The seed's harness: 10 warm-up runs, then 100 timed batch-1 runs per configuration. The machine
// may be busy, so the 100 runs are taken in 10 rounds of 10, rotating the engine order each round:
// a burst of background load then hits every engine alike, and the ratios stay meaningful.
//
// window.bench.run(options) -> Promise of {configs: [...], photo: [...], ...} (tools/bench-web.mjs)

const defaults = {
  warmup: 10,
  runs: 100,
  rounds: 10,
  photo_url: 'photo-12mp.jpg',
  photo_runs: 5,
  tolerance: 1e-3,
  init_timeout_ms: 45000,
  configs: [
    // Folia as each browser gets it (wasm/folia-engine.js pickBuild): the plain SIMD builds
    // (Safari, Firefox; folia-web without isolation) and the relaxed-SIMD threads build that
    // Chrome and Edge run when the page is cross-origin isolated, as the app's is. The peers are
    // compared with the relaxed one (what this Chromium runs in the app); ratio_p50_vs_plain
    // gives the comparison with the plain build too.
    { id: 'folia-st', engine: 'folia', build: 'folia-web', threads: 1, name: 'Folia (wasm SIMD, 1 thread)' },
    { id: 'folia-mt', engine: 'folia', build: 'folia-web-mt', threads: 2, name: 'Folia (wasm SIMD, 2 threads)' },
    { id: 'folia-rx-1', engine: 'folia', build: 'folia-web-mt-relaxed', threads: 1, name: 'Folia (relaxed SIMD, 1 thread)' },
    { id: 'folia-rx-2', engine: 'folia', build: 'folia-web-mt-relaxed', threads: 2, name: 'Folia (relaxed SIMD, 2 threads)' },
    { id: 'ort-1', engine: 'ort', threads: 1, ref: 'folia-rx-1', plain: 'folia-st', name: 'onnxruntime-web (wasm, 1 thread)' },
    { id: 'ort-2', engine: 'ort', threads: 2, ref: 'folia-rx-2', plain: 'folia-mt', name: 'onnxruntime-web (wasm, 2 threads)' },
    { id: 'tfjs-1', engine: 'tfjs', threads: 1, ref: 'folia-rx-1', plain: 'folia-st', name: 'tfjs-backend-wasm (SIMD, 1 thread)' },
    // TF.js's threaded build preloads no pthread workers: inside a Web Worker its thread pool
    // waits forever for nested workers that cannot start while it blocks (measured: no answer
    // in 90 s), so this one runs on the page's main thread, as TF.js's own demos do. Measured
    // here (Chromium 156, 2 CPUs): it loads the threaded-SIMD binary, but getThreadsCount() says
    // 1 after setThreadsCount(2); the table prints a note when an engine reports other threads
    { id: 'tfjs-2', engine: 'tfjs', threads: 2, ref: 'folia-rx-2', plain: 'folia-mt', page: true, optional: true, name: 'tfjs-backend-wasm (SIMD, 2 threads, page)' },
  ],
};

// The same engine code (bench-worker.js) on the page's main thread; one such engine per page.
async function spawn_in_page() {
  if (!self.bench_engine) {
    await new Promise((resolve, reject) => {
      const el = document.createElement('script');
      el.src = 'bench-worker.js';
      el.onload = resolve;
      el.onerror = () => reject(new Error('bench-worker.js did not load'));
      document.head.appendChild(el);
    });
  }
  const call = (msg, transfer = [], timeout_ms = 0) => Promise.race([
    self.bench_engine.handle(msg),
    ...(timeout_ms ? [new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer to '${msg.type}' in ${timeout_ms / 1000} s`)), timeout_ms))] : []),
  ]);
  return { call, terminate: () => {} };
}

function spawn() {
  const worker = new Worker('bench-worker.js');
  let queue = Promise.resolve();
  const call = (msg, transfer = [], timeout_ms = 0) => {
    const p = queue.then(() => new Promise((resolve, reject) => {
      if (timeout_ms) setTimeout(() => reject(new Error(`no answer to '${msg.type}' in ${timeout_ms / 1000} s`)), timeout_ms);
      worker.onmessage = (ev) => (ev.data.ok ? resolve(ev.data) : reject(new Error(ev.data.error)));
      worker.onerror = (ev) => reject(new Error(`worker: ${ev.message || 'script error'}`));
      worker.postMessage(msg, transfer);
    }));
    queue = p.catch(() => {});
    return p;
  };
  return { call, terminate: () => worker.terminate() };
}

async function fetch_bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

// golden file (training/src/export.cpp): "FOLIAGLD", u32 {1, n, size, 3, classes, 0}, input, logits
function golden_first(buf) {
  const dv = new DataView(buf);
  const n = dv.getUint32(12, true), size = dv.getUint32(16, true), k = dv.getUint32(24, true);
  const ni = size * size * 3;
  const input = new Float32Array(buf.slice(32, 32 + 4 * ni));
  const logits = new Float32Array(buf.slice(32 + 4 * n * ni, 32 + 4 * n * ni + 4 * k));
  return { size, input, logits: Array.from(logits) };
}

export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];  // nearest rank
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, mean_ms: mean, p50_ms: q(0.5), p99_ms: q(0.99), min_ms: s[0], max_ms: s[s.length - 1], images_per_s: 1000 / mean };
}

const max_abs_diff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(options = {}) {
  const o = { ...defaults, ...options };
  const log = (s) => {
    document.getElementById('out').textContent += s + '\n';
    console.log(s);
  };
  document.getElementById('out').textContent = '';
  const [model, onnx, golden_buf] = await Promise.all(
    ['model/plantvillage.folia', 'model/folia.onnx', 'model/plantvillage.golden.bin'].map(fetch_bytes));
  const golden = golden_first(golden_buf);
  const out = {
    isolated: self.crossOriginIsolated === true,
    hardware_concurrency: navigator.hardwareConcurrency,
    user_agent: navigator.userAgent,
    harness: { warmup: o.warmup, runs: o.runs, rounds: o.rounds, batch: 1, input: `${golden.size}x${golden.size}x3` },
    configs: [],
  };

  // start every engine (init time includes fetching and compiling its wasm)
  const live = [];
  for (const c of o.configs) {
    const r = { id: c.id, name: c.name, engine: c.engine, threads: c.threads, ref: c.ref || null, plain: c.plain || null, optional: !!c.optional };
    out.configs.push(r);
    const w = c.page ? await spawn_in_page() : spawn();
    try {
      const init = await w.call({ type: 'init', engine: c.engine, build: c.build, threads: c.threads, model, onnx, input: golden.input.buffer.slice(0), size: golden.size }, [], o.init_timeout_ms);
      Object.assign(r, { info: init.info, init_ms: init.init_ms, worker_isolated: init.isolated });
      await w.call({ type: 'run', n: o.warmup }, [], o.init_timeout_ms);
      live.push({ c, r, w, times: [] });
      log(`${c.id}: ready in ${init.init_ms.toFixed(0)} ms ${JSON.stringify(init.info)}`);
    } catch (e) {
      r.error = String(e.message || e);
      log(`${c.id}: FAILED ${r.error}`);
      w.terminate();
    }
  }

  // 100 timed runs each, in rotating rounds
  const per_round = Math.ceil(o.runs / o.rounds);
  for (let round = 0; round < o.rounds; round++) {
    for (let j = 0; j < live.length; j++) {
      const e = live[(round + j) % live.length];
      const n = Math.min(per_round, o.runs - e.times.length);
      if (n <= 0) continue;
      const { times } = await e.w.call({ type: 'run', n });
      e.times.push(...times);
      await sleep(5);  // let spinning thread pools go idle before the next engine
    }
    log(`round ${round + 1}/${o.rounds}`);
  }

  // same logits as Folia (and as LibTorch's golden logits)?
  const logits = {};
  for (const e of live) logits[e.c.id] = (await e.w.call({ type: 'logits' })).logits;
  for (const e of live) {
    Object.assign(e.r, stats(e.times));
    e.r.times_ms = e.times.map((t) => Math.round(t * 1000) / 1000);
    const folia = logits['folia-st'];
    e.r.max_abs_diff_vs_folia = folia ? max_abs_diff(logits[e.c.id], folia) : null;
    e.r.max_abs_diff_vs_libtorch = max_abs_diff(logits[e.c.id], golden.logits);
    e.r.logits_match = e.r.max_abs_diff_vs_folia !== null && e.r.max_abs_diff_vs_folia <= o.tolerance;
  }
  for (const r of out.configs) {
    const ref = r.ref && out.configs.find((x) => x.id === r.ref);
    if (ref && ref.p50_ms && r.p50_ms) {
      r.ratio_p50_vs_ref = r.p50_ms / ref.p50_ms;
      r.ratio_mean_vs_ref = r.mean_ms / ref.mean_ms;
    }
    const plain = r.plain && out.configs.find((x) => x.id === r.plain);
    if (plain && plain.p50_ms && r.p50_ms) r.ratio_p50_vs_plain = r.p50_ms / plain.p50_ms;
  }
  out.tolerance = o.tolerance;

  // 12 MP photo -> diagnosis (decode + EXIF orientation + resize + inference) inside Folia's worker
  out.photo = [];
  if (o.photo_url) {
    const photo = await fetch_bytes(o.photo_url);
    for (const e of live.filter((x) => x.c.engine === 'folia')) {
      await e.w.call({ type: 'photo', bytes: photo, n: 1 });  // warm-up
      const r = await e.w.call({ type: 'photo', bytes: photo, n: o.photo_runs });
      out.photo.push({ id: e.c.id, bytes: photo.byteLength, ...stats(r.times), times_ms: r.times, wasm_memory_bytes: r.memory_bytes, top1: r.probs.indexOf(Math.max(...r.probs)) });
      log(`${e.c.id}: 12 MP photo p50 ${stats(r.times).p50_ms.toFixed(1)} ms`);
    }
  }
  for (const e of live) e.w.terminate();
  log(JSON.stringify(out.configs.map(({ times_ms, ...r }) => r), null, 1));
  return out;
}

window.bench = { run, stats };
window.bench_ready = true;
