// worker.js: runs the Folia wasm engine off the main thread. Classic worker (the Emscripten
// loaders are MODULARIZE scripts loaded with importScripts).
//
// The photo's encoded bytes go straight to folia_classify_image: the wasm core decodes them with
// stb_image, applies EXIF orientation and the Pillow-exact resize, exactly as training and the
// native CLI do. The browser's image decoder and canvas are never used for a diagnosis.
//
// Messages in:  {id, type: 'init', model_url}
//               {id, type: 'diagnose', bytes: ArrayBuffer (transferred), file?}
// Messages out: {id, ok: true, result} | {id, ok: false, error: {status, message}}
'use strict';

const FOLIA_OK = 0;
const app_version = '__FOLIA_VERSION__';  // stamped by tools/build-web.sh
let mod = null;      // the Emscripten module
let ctx = 0;         // folia_context*
let labels = [];
let threshold = 0;
let build = '';
let threads = 1;

// Re-read every time: memory growth replaces the buffer. In the threads build another thread
// may have grown it, and wasmMemory.buffer is always the current one (wasm/README.md).
function heap_u8() {
  return mod.wasmMemory ? new Uint8Array(mod.wasmMemory.buffer) : mod.HEAPU8;
}

function c_string(ptr) {
  if (!ptr) return '';
  const h = heap_u8();
  let end = ptr;
  while (h[end] !== 0) end++;
  // slice(): TextDecoder refuses views on a SharedArrayBuffer (threaded build)
  return new TextDecoder().decode(h.slice(ptr, end));
}

function status_error(status, what) {
  const msg = c_string(mod._folia_status_message(status));
  const e = new Error(`${what}: ${msg}`);
  e.status = status;
  return e;
}

// Copies bytes into wasm memory, runs fn(ptr, size), always frees.
function with_bytes(bytes, fn) {
  const u8 = new Uint8Array(bytes);
  const ptr = mod._malloc(Math.max(1, u8.length));
  if (!ptr) throw new Error('out of memory copying the input into the engine');
  try {
    heap_u8().set(u8, ptr);
    return fn(ptr, u8.length);
  } finally {
    mod._free(ptr);
  }
}

async function init(model_url) {
  const t0 = performance.now();
  // Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages.
  const isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  build = isolated ? 'mt' : 'st';
  const base = new URL('./', self.location.href).href;
  const script = build === 'mt' ? 'folia-web-mt.js' : 'folia-web.js';
  importScripts(base + script);
  const options = {
    locateFile: (path) => base + path,
    print: (s) => console.log('[folia]', s),
    printErr: (s) => console.warn('[folia]', s),
  };
  // pthread workers must load the same script; inside a worker Emscripten cannot find its own URL.
  if (build === 'mt') options.mainScriptUrlOrBlob = base + script;
  const [m, model] = await Promise.all([
    self.createFoliaModule(options),
    fetch(new URL(model_url, base)).then((r) => {
      if (!r.ok) throw new Error(`model file ${model_url}: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
  ]);
  mod = m;

  const hw = self.navigator && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
  // The threaded module preloads a fixed pool of pthread workers (wasm/CMakeLists.txt,
  // FOLIA_WASM_PTHREAD_POOL = 3): more threads than pool + caller would wait for a worker that
  // can only start once this thread yields, i.e. never.
  threads = build === 'mt' ? Math.max(1, Math.min(hw, 4)) : 1;
  const out_ctx = mod._malloc(4);
  try {
    const status = with_bytes(model, (ptr, size) => mod._folia_web_init(ptr, size, threads, out_ctx));
    if (status !== FOLIA_OK) throw status_error(status, 'model');
    ctx = new Uint32Array(heap_u8().buffer, out_ctx, 1)[0];
  } finally {
    mod._free(out_ctx);
  }
  const n = mod._folia_num_classes(ctx);
  labels = [];
  for (let i = 0; i < n; i++) labels.push(c_string(mod._folia_label(ctx, i)));
  threshold = mod._folia_abstain_threshold(ctx);
  return {
    version: app_version, build, threads, labels, abstain_threshold: threshold,
    input_size: mod._folia_input_size(ctx),
    temperature: mod._folia_temperature(ctx),
    model_bytes: model.byteLength,
    init_ms: performance.now() - t0,
    memory_bytes: heap_u8().buffer.byteLength,
  };
}

function diagnose(bytes, file) {
  if (!ctx) throw new Error('engine not initialised');
  const n = labels.length;
  const probs_ptr = mod._malloc(n * 4);
  try {
    const t0 = performance.now();
    const status = with_bytes(bytes, (ptr, size) => mod._folia_classify_image(ctx, ptr, size, probs_ptr));
    const ms = performance.now() - t0;
    if (status !== FOLIA_OK) throw status_error(status, 'image');
    const probs = Array.from(new Float32Array(heap_u8().buffer, probs_ptr, n));
    const order = probs.map((p, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    const top = order.slice(0, Math.min(3, n)).map((i) => ({ label: labels[i], p: probs[i] }));
    const result = {};
    if (file !== undefined) result.file = file;
    result.top = top;
    result.ms = Math.round(ms * 1000) / 1000;  // as `folia diagnose --json` rounds it
    result.sure = top[0].p >= threshold;
    return { result, probs, memory_bytes: heap_u8().buffer.byteLength };
  } finally {
    mod._free(probs_ptr);
  }
}

let queue = Promise.resolve();  // one job at a time, in order
self.onmessage = (ev) => {
  const msg = ev.data;
  queue = queue.then(async () => {
    try {
      let result;
      if (msg.type === 'init') result = await init(msg.model_url);
      else if (msg.type === 'diagnose') result = diagnose(msg.bytes, msg.file);
      else throw new Error(`unknown message ${msg.type}`);
      self.postMessage({ id: msg.id, ok: true, result });
    } catch (e) {
      self.postMessage({ id: msg.id, ok: false, error: { status: e.status ?? -1, message: String(e && e.message || e) } });
    }
  });
};
