// worker.js: runs the Folia wasm engine off the main thread. Classic worker (the Emscripten
// loaders are MODULARIZE scripts loaded with importScripts). Only messaging lives here: every
// call into the C API goes through folia-engine.js (wasm/folia-engine.js, the one JS binding).
//
// The photo's encoded bytes go straight to folia_classify_image: the wasm core decodes them with
// stb_image, applies EXIF orientation and the Pillow-exact resize, exactly as training and the
// native CLI do. The browser's image decoder and canvas are never used for a diagnosis.
//
// Messages in:  {id, type: 'init', model_url, model?: ArrayBuffer (a saved personalised model)}
//               {id, type: 'diagnose', bytes: ArrayBuffer (transferred), file?}
//               {id, type: 'teach', examples: [{label, note?, bytes}], options?}
//               {id, type: 'load', model?: ArrayBuffer (absent: the shipped model_url again)}
// Messages out: {id, ok: true, result} | {id, ok: false, error: {status, name, message}}
//               {id, progress: {fraction, loss}} while teaching
'use strict';

const app_version = '__FOLIA_VERSION__';  // stamped by tools/build-web.sh
const base = new URL('./', self.location.href).href;
importScripts(base + 'folia-engine.js');
const FE = self.FoliaEngine;
let engine = null;
let build = '';
let simd = '';  // 'simd128' or 'relaxed': which wasm SIMD the engine runs
let shipped_url = '';
let personalised = false;

async function fetch_model(url) {
  const r = await fetch(new URL(url, base));
  if (!r.ok) {
    // The service worker explains a damaged cached copy in the body (sw.js checked_copy() + damaged(), HTTP 503
    // "Damaged in cache"); other errors' bodies are shown too, shortened.
    const why = `: ${(await r.text().catch(() => '')).slice(0, 300)}`;
    throw new Error(`model file ${url}: HTTP ${r.status}${why}`);
  }
  return r.arrayBuffer();
}

function info(extra) {
  return {
    version: app_version, build, simd, threads: engine.threads, labels: engine.labels.slice(),
    abstain_threshold: engine.abstainThreshold, input_size: engine.inputSize,
    temperature: engine.temperature, model_bytes: engine.modelBytes,
    memory_bytes: engine.memoryBytes(), personalised, can_teach: engine.canTeach, ...extra,
  };
}

async function init(model_url, saved) {
  const t0 = performance.now();
  shipped_url = model_url;
  // 'folia-web-mt' (threads) when cross-origin isolated, 'folia-web-mt-relaxed' where the
  // browser also has relaxed SIMD, else 'folia-web'
  const script = FE.pickBuild();
  build = FE.isThreadsBuild(script) ? 'mt' : 'st';
  simd = script === 'folia-web-mt-relaxed' ? 'relaxed' : 'simd128';
  importScripts(base + script + '.js');
  const moduleArgs = {
    locateFile: (path) => base + path,
    print: (s) => console.log('[folia]', s),
    printErr: (s) => console.warn('[folia]', s),
  };
  // pthread workers must load the same script; inside a worker Emscripten cannot find its own URL.
  if (build === 'mt') moduleArgs.mainScriptUrlOrBlob = base + script + '.js';
  const threads = FE.defaultThreads(script);
  // A personalised model saved on this phone, else the shipped one (fetched while the module
  // compiles); should the saved one be refused, the shipped one runs.
  const fallback = saved ? () => fetch_model(model_url) : undefined;
  engine = await FE.open(self.createFoliaModule, saved || fetch_model(model_url), { threads, moduleArgs, fallback });
  personalised = Boolean(saved) && !engine.fallbackError;
  const e = engine.fallbackError;
  const model_error = e ? { status: e.status, name: e.statusName, message: e.message } : null;
  return info({ init_ms: performance.now() - t0, saved_model_error: model_error });
}

function diagnose(bytes, file) {
  if (!engine) throw new Error('engine not initialised');
  const r = engine.classifyImage(bytes);
  if (!r.ok) throw Object.assign(new Error(`image: ${r.message}`), { status: r.status, statusName: r.statusName });
  return { result: FE.diagnosis(r, file), probs: Array.from(r.probs), memory_bytes: engine.memoryBytes() };
}

// Teaching: the examples' photos before (current model), the new model file (transferred back:
// the page saves it, then sends it back with 'load'), the core's summary.
function teach(id, examples, options) {
  if (!engine) throw new Error('engine not initialised');
  const o = options || {};
  const before = examples.map((ex) => {
    const r = engine.classifyImage(ex.bytes);
    return r.ok ? FE.diagnosis(r) : null;
  });
  let last_post = 0;
  const t = engine.teach(examples, {
    epochs: o.epochs, viewsPerPhoto: o.views_per_photo, batch: o.batch, seed: o.seed,
    dateUnixS: o.date_unix_s,
    onProgress: (fraction, loss) => {
      const t_now = performance.now();
      if (fraction >= 1 || t_now - last_post > 100) {  // at most ~10 messages a second
        last_post = t_now;
        self.postMessage({ id, progress: { fraction, loss } });
      }
      return false;
    },
  });
  const model = t.model.buffer;
  return { result: { summary: t.summary, model, before, ms: t.ms }, transfer: [model] };
}

async function load(model) {
  const t0 = performance.now();
  if (model) {
    engine.load(model);
    personalised = true;
  } else {
    engine.load(await fetch_model(shipped_url));
    personalised = false;
  }
  return info({ init_ms: performance.now() - t0 });
}

let queue = Promise.resolve();  // one job at a time, in order
self.onmessage = (ev) => {
  const msg = ev.data;
  queue = queue.then(async () => {
    try {
      let out;
      if (msg.type === 'init') out = { result: await init(msg.model_url, msg.model) };
      else if (msg.type === 'diagnose') out = { result: diagnose(msg.bytes, msg.file) };
      else if (msg.type === 'teach') out = teach(msg.id, msg.examples, msg.options);
      else if (msg.type === 'load') out = { result: await load(msg.model) };
      else throw new Error(`unknown message ${msg.type}`);
      self.postMessage({ id: msg.id, ok: true, result: out.result }, out.transfer || []);
    } catch (e) {
      self.postMessage({ id: msg.id, ok: false, error: {
        status: e && e.status !== undefined ? e.status : -1, name: e && e.statusName,
        message: String((e && e.message) || e) } });
    }
  });
};
