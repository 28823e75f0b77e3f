// bench-worker.js: one inference engine in its own classic Web Worker (the way the app runs
// Folia), so every engine gets the same kind of thread and none blocks the page. Also loadable
// as a classic script in the page (self.bench_engine.handle), for the one configuration that
// cannot run in a worker (TF.js with threads).
//
// Messages in:  {type: 'init', engine: 'folia'|'ort'|'tfjs', build? (Folia's module), threads, model, onnx?}
//               {type: 'run', n}             -> times (ms) of n batch-1 inferences
//               {type: 'logits'}             -> the logits of the shared input
//               {type: 'photo', bytes, n}    -> Folia only: encoded photo -> probabilities, n times
// Messages out: {ok: true, ...} | {ok: false, error}
// The shared input is x (1,S,S,3) f32 normalised NHWC; the ONNX graph takes NCHW, so it gets its
// own transposed copy made once (layout conversion is not timed for anyone).
'use strict';

const base = new URL('./', self.location.href).href;
const in_worker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;
let engine = null;

// importScripts in a worker; <script> elements, one after the other, in the page
async function load(...urls) {
  if (in_worker) return importScripts(...urls);
  for (const src of urls) {
    await new Promise((resolve, reject) => {
      const el = document.createElement('script');
      el.src = src;
      el.onload = resolve;
      el.onerror = () => reject(new Error(`${src} did not load`));
      document.head.appendChild(el);
    });
  }
}  // {run(): logits Float32Array, photo?(bytes), info}

// ---- Folia: the same wasm modules and wrapper the PWA ships --------------------------------
async function open_folia(build, threads, model) {
  const script = base + `folia/${build}.js`;
  await load(script, base + 'folia/folia-engine.js');
  const args = { locateFile: (p) => base + 'folia/' + p };
  const mt = self.FoliaEngine.isThreadsBuild(build);
  if (mt) args.mainScriptUrlOrBlob = script;  // pthread workers load the same script
  const e = await self.FoliaEngine.open(self.createFoliaModule, new Uint8Array(model), { threads, moduleArgs: args });
  return {
    info: { build, threads: e.threads },
    run: (x) => e.logits(x, 1),
    photo: (bytes) => {
      const r = e.classifyImage(bytes);
      if (!r.ok) throw new Error(r.message);
      return r.probs;
    },
    memory: () => e.memoryBytes(),
  };
}

// ---- ONNX Runtime Web, wasm backend, self-hosted files -------------------------------------
async function open_ort(threads, onnx) {
  await load(base + 'ort/ort.wasm.min.js');
  const ort = self.ort;
  ort.env.wasm.wasmPaths = base + 'ort/';
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;  // already off the main thread
  const session = await ort.InferenceSession.create(new Uint8Array(onnx), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',  // folds BatchNorm into the convolutions, fuses ReLU
  });
  const in_name = session.inputNames[0];
  const out_name = session.outputNames[0];
  let nchw = null;
  return {
    info: { version: ort.env.versions && ort.env.versions.common, threads },
    prepare: (x, s) => {
      nchw = new Float32Array(x.length);  // (1,S,S,3) -> (1,3,S,S)
      for (let c = 0; c < 3; c++) for (let i = 0; i < s * s; i++) nchw[c * s * s + i] = x[i * 3 + c];
    },
    run_async: async (x, s) => {
      const out = await session.run({ [in_name]: new ort.Tensor('float32', nchw, [1, 3, s, s]) });
      const t = out[out_name];
      const r = t.data.slice();
      t.dispose && t.dispose();
      return r;
    },
  };
}

// ---- TensorFlow.js wasm backend: the same network built from tf ops, same weights ----------
async function open_tfjs(threads, model) {
  await load(base + 'tfjs/tf-core.min.js', base + 'tfjs/tf-backend-wasm.min.js', base + 'model-file.js');
  const tf = self.tf;
  tf.wasm.setWasmPaths(base + 'tfjs/');
  if (threads > 1) tf.wasm.setThreadsCount(threads);
  else tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);  // the SIMD single-thread binary
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not start');
  await tf.ready();
  const m = self.FoliaModelFile.parse(model);
  const w = self.FoliaModelFile.folded_nhwc(m);  // BN folded, HWIO filters, (in,out) dense
  const blocks = w.blocks.map((b) => ({
    filter: tf.tensor4d(b.filter, [3, 3, b.cin, b.cout]),
    bias: tf.tensor1d(b.bias),
  }));
  const fc1w = tf.tensor2d(w.fc1.weight, [w.fc1.in, w.fc1.out]);
  const fc1b = tf.tensor1d(w.fc1.bias);
  const fc2w = tf.tensor2d(w.fc2.weight, [w.fc2.in, w.fc2.out]);
  const fc2b = tf.tensor1d(w.fc2.bias);
  const s = m.header.preprocess.input_size;
  // x is (1,S,S,3) -> logits (1,K); conv + bias + ReLU is one fused op, as in the other engines
  const net = (x) => tf.tidy(() => {
    let h = tf.tensor4d(x, [1, s, s, 3]);
    for (const b of blocks) {
      h = tf.fused.conv2d({ x: h, filter: b.filter, bias: b.bias, strides: 1, pad: 'same', activation: 'relu' });
      h = tf.maxPool(h, 2, 2, 'valid');
    }
    h = tf.mean(h, [1, 2]);  // global average pool -> (1,C)
    h = tf.fused.matMul({ a: h, b: fc1w, bias: fc1b, activation: 'relu' });
    return tf.fused.matMul({ a: h, b: fc2w, bias: fc2b });
  });
  return {
    info: { version: tf.version_core, threads: tf.wasm.getThreadsCount(), backend: tf.getBackend() },
    run: (x) => {
      const y = net(x);
      const r = y.dataSync().slice();
      y.dispose();
      return r;
    },
  };
}

let input = null;
let size = 0;

async function handle(msg) {
  if (msg.type === 'init') {
    const t0 = performance.now();
    if (msg.engine === 'folia') engine = await open_folia(msg.build, msg.threads, msg.model);
    else if (msg.engine === 'ort') engine = await open_ort(msg.threads, msg.onnx);
    else if (msg.engine === 'tfjs') engine = await open_tfjs(msg.threads, msg.model);
    else throw new Error(`unknown engine ${msg.engine}`);
    input = new Float32Array(msg.input);
    size = msg.size;
    if (engine.prepare) engine.prepare(input, size);
    return { info: { ...engine.info, thread: in_worker ? 'worker' : 'page' }, init_ms: performance.now() - t0, isolated: self.crossOriginIsolated === true };
  }
  if (msg.type === 'run' || msg.type === 'logits') {
    const n = msg.type === 'run' ? msg.n : 1;
    const times = new Array(n);
    let logits = null;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      logits = engine.run_async ? await engine.run_async(input, size) : engine.run(input, size);
      times[i] = performance.now() - t0;
    }
    return msg.type === 'run' ? { times } : { logits: Array.from(logits) };
  }
  if (msg.type === 'photo') {
    if (!engine.photo) throw new Error('photo: Folia only');
    const times = [];
    let probs = null;
    for (let i = 0; i < msg.n; i++) {
      const t0 = performance.now();
      probs = engine.photo(new Uint8Array(msg.bytes));
      times.push(performance.now() - t0);
    }
    return { times, probs: Array.from(probs), memory_bytes: engine.memory() };
  }
  throw new Error(`unknown message ${msg.type}`);
}

self.bench_engine = { handle };
let queue = Promise.resolve();
if (in_worker) self.onmessage = (ev) => {
  queue = queue.then(async () => {
    try {
      self.postMessage({ ok: true, ...(await handle(ev.data)) });
    } catch (e) {
      self.postMessage({ ok: false, error: String((e && (e.stack || e.message)) || e) });
    }
  });
};
