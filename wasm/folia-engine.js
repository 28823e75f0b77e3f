// folia-engine.js: the one JavaScript binding of the Folia C API (folia.h + wasm/web-glue*.c),
// over the web module (folia-web.js or folia-web-mt.js). The app's worker (web/src/worker.js),
// the bench page (web/bench/) and node (wasm/smoke.mjs, tests) all use it; nothing else calls
// the module's _folia_* functions. UMD: a classic script (importScripts in a Web Worker, <script>:
// global FoliaEngine), CommonJS (require) and ES modules (`import FoliaEngine from` in node).
//
//   const engine = await FoliaEngine.open(createFoliaModule, modelBytes, { threads: 2 });
//   const r = engine.classifyImage(jpegBytes);  // {ok, status, message, probs, top, sure, ms}
//   const line = FoliaEngine.diagnosis(r, 'leaf.jpg');  // one `folia diagnose --json` object
//   const t = engine.teach([{label, note?, bytes}], {epochs, seed, onProgress});  // {summary, model}
//   engine.load(t.model);                        // swap models; the old one stays on failure
//   engine.free();
//
// Status codes are never spelled as numbers here: their names and messages are read once from
// the module (folia_web_status_name / folia_status_message), e.g. engine.status.OK.
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.FoliaEngine = factory();
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

  // The threads build needs SharedArrayBuffer, which browsers only give cross-origin-isolated
  // pages (COOP/COEP headers). Anything else (iOS Safari, plain static hosting) gets SIMD only.
  // Node (no crossOriginIsolated) counts as isolated.
  //
  // Where threads are possible, relaxed SIMD (f32x4.relaxed_madd: one fused multiply-add where
  // the CPU has FMA) picks folia-web-mt-relaxed, built by trixie's emcc with XNNPACK's
  // wasmrelaxedsimd kernels; Chrome and Edge have it since 114, Safari and Firefox do not. The
  // probe is the smallest module that uses one relaxed opcode: () -> v128 computing
  // f32x4.relaxed_madd(0, 0, 0) (opcode 0xfd 0x105); it validates only where the engine has it.
  const RELAXED_PROBE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // magic, version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,  // type section: () -> v128
    0x03, 0x02, 0x01, 0x00,  // function section: one function of type 0
    0x0a, 0x3d, 0x01, 0x3b, 0x00]  // code section: one body of 59 bytes, no locals
    .concat([].concat(...[0, 1, 2].map(() => [0xfd, 0x0c].concat(new Array(16).fill(0)))))  // 3 x v128.const 0
    .concat([0xfd, 0x85, 0x02, 0x0b]);  // f32x4.relaxed_madd, end
  function hasRelaxedSimd() {
    try {
      return typeof WebAssembly === 'object' && WebAssembly.validate(new Uint8Array(RELAXED_PROBE));
    } catch (e) {
      return false;
    }
  }
  function pickBuild() {
    const isolated = typeof crossOriginIsolated !== 'undefined' ? crossOriginIsolated === true : true;
    if (!isolated || typeof SharedArrayBuffer !== 'function') return 'folia-web';
    return hasRelaxedSimd() ? 'folia-web-mt-relaxed' : 'folia-web-mt';
  }
  const isThreadsBuild = (build) => build === 'folia-web-mt' || build === 'folia-web-mt-relaxed';

  // The threaded module preloads a fixed pool of pthread workers (wasm/CMakeLists.txt,
  // FOLIA_WASM_PTHREAD_POOL = 3): more threads than pool + caller would wait for a worker that
  // can only start once the calling thread yields, i.e. never.
  const MAX_THREADS = 4;
  function defaultThreads(build) {
    if (!isThreadsBuild(build)) return 1;
    const hw = typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
    return Math.max(1, Math.min(hw, MAX_THREADS));
  }

  // Top-3 (ties: lower class index first) and `sure`, from every class probability: the one
  // place in JS where a diagnosis is summarised.
  function summarize(probs, labels, abstainThreshold) {
    const order = Array.from(probs, (p, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    const top = order.slice(0, Math.min(3, probs.length)).map((i) => ({ label: labels[i], p: probs[i], index: i }));
    return { top, sure: top.length > 0 && top[0].p >= abstainThreshold };
  }

  // A classifyImage result as one line of `folia diagnose --json`: {file?, top: [{label, p}], ms, sure}.
  function diagnosis(r, file) {
    const out = {};
    if (file !== undefined) out.file = file;
    out.top = r.top.map(({ label, p }) => ({ label, p }));
    out.ms = Math.round(r.ms * 1000) / 1000;  // as `folia diagnose --json` rounds it
    out.sure = r.sure;
    return out;
  }

  // Status names and messages of a module, read once: {codes: {OK: 0, ...}, names: [], messages: []}.
  function readStatuses(M) {
    const str = (ptr) => (ptr ? M.UTF8ToString(ptr) : '');
    const n = M._folia_web_status_count();
    const codes = {}, names = [], messages = [];
    for (let s = 0; s < n; s++) {
      const name = str(M._folia_web_status_name(s)) || `FOLIA_STATUS_${s}`;
      names.push(name);
      messages.push(str(M._folia_status_message(s)));
      codes[name.replace(/^FOLIA_(ERR_)?/, '')] = s;
    }
    return { codes: Object.freeze(codes), names, messages };
  }

  // modelBytes may be a promise (e.g. a fetch still running while the module compiles).
  async function open(createModule, modelBytes, options) {
    const opts = options || {};
    const [M, firstModel] = await Promise.all([createModule(opts.moduleArgs || {}), modelBytes]);
    const statuses = readStatuses(M);
    const S = statuses.codes;
    // With pthreads, another thread may grow the memory; always view the live buffer.
    const buffer = () => (M.wasmMemory ? M.wasmMemory.buffer : M.HEAPU8.buffer);
    const u8 = () => new Uint8Array(buffer());
    const u32at = (ptr) => new Uint32Array(buffer(), ptr, 1)[0];
    const message = (status) => statuses.messages[status] || M.UTF8ToString(M._folia_status_message(status));
    const statusName = (status) => statuses.names[status] || `FOLIA_STATUS_${status}`;
    const fail = (status, what) => {
      const e = new Error(`${what}: ${message(status)}`);
      e.status = status;
      e.statusName = statusName(status);
      return e;
    };

    function copyIn(bytes) {
      const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ? bytes.buffer : bytes,
        bytes.byteOffset || 0, bytes.byteLength);
      const ptr = M._malloc(Math.max(1, view.length));
      if (!ptr) return 0;
      u8().set(view, ptr);
      return ptr;
    }
    function cString(s) {
      const b = new TextEncoder().encode(s);
      const ptr = M._malloc(b.length + 1);
      if (!ptr) throw fail(S.OUT_OF_MEMORY, 'string');
      const h = u8();
      h.set(b, ptr);
      h[ptr + b.length] = 0;
      return ptr;
    }

    const threads = Math.max(1, opts.threads | 0 || 1);
    // The loaded model: replaced as a whole by load().
    let m = null;

    function init(bytes) {
      const modelPtr = copyIn(bytes);
      const outPtr = M._malloc(4);
      if (!modelPtr || !outPtr) {
        M._free(modelPtr);
        M._free(outPtr);
        throw fail(S.OUT_OF_MEMORY, 'model');
      }
      const st = M._folia_web_init(modelPtr, bytes.byteLength, threads, outPtr);
      const ctx = u32at(outPtr);
      M._free(modelPtr);  // folia_init_from_buffer copies what it keeps
      M._free(outPtr);
      if (st !== S.OK) throw fail(st, 'model');
      const numClasses = M._folia_num_classes(ctx);
      const probsPtr = M._malloc(4 * numClasses);
      if (!probsPtr) {
        M._folia_free(ctx);
        throw fail(S.OUT_OF_MEMORY, 'model');
      }
      const labels = [];
      for (let i = 0; i < numClasses; i++) labels.push(M.UTF8ToString(M._folia_label(ctx, i)));
      return {
        ctx, probsPtr, labels, numClasses, modelBytes: bytes.byteLength,
        inputSize: M._folia_input_size(ctx),
        temperature: M._folia_temperature(ctx),
        abstainThreshold: M._folia_abstain_threshold(ctx),
      };
    }
    function release(x) {
      M._free(x.probsPtr);
      M._folia_free(x.ctx);
    }

    function result(status, t0) {
      if (status !== S.OK) return { ok: false, status, statusName: statusName(status), message: message(status) };
      const probs = new Float32Array(buffer(), m.probsPtr, m.numClasses).slice();
      const { top, sure } = summarize(probs, m.labels, m.abstainThreshold);
      return { ok: true, status, message: message(status), probs, top, sure, ms: now() - t0 };
    }
    function withBytes(bytes, fn) {
      const n = bytes.byteLength;
      const p = copyIn(bytes);
      if (!p) return S.OUT_OF_MEMORY;
      try { return fn(p, n); } finally { M._free(p); }
    }

    // opts.fallback: () => bytes (or a promise), a second model tried when the first is refused
    // (e.g. a saved personalised model that no longer loads): engine.fallbackError tells why.
    let fallbackError = null;
    try {
      m = init(firstModel);
    } catch (e) {
      if (!opts.fallback || e.status === undefined) throw e;
      fallbackError = e;
      m = init(await opts.fallback());
    }

    const engine = {
      module: M,
      threads,
      fallbackError,
      status: S,
      statusMessage: message,
      statusName,
      // Encoded JPEG/PNG bytes (Uint8Array or ArrayBuffer), decoded by the core, never the browser.
      classifyImage(bytes) {
        const t0 = now();
        return result(withBytes(bytes, (p, n) => M._folia_classify_image(m.ctx, p, n, m.probsPtr)), t0);
      },
      // RGB8 (channels 3) or RGBA8 (channels 4) pixels, rows `stride` bytes apart.
      classifyPixels(pixels, width, height, stride, channels) {
        const t0 = now();
        return result(withBytes(pixels, (p) => M._folia_classify(m.ctx, p, width, height, stride, channels, m.probsPtr)), t0);
      },
      // x is (batch, S, S, 3) f32 normalised NHWC; returns (batch, numClasses) logits.
      logits(x, batch) {
        const xp = M._malloc(x.byteLength), lp = M._malloc(4 * batch * m.numClasses);
        if (!xp || !lp) {
          M._free(xp);
          M._free(lp);
          throw fail(S.OUT_OF_MEMORY, 'folia');
        }
        new Float32Array(buffer(), xp, x.length).set(x);
        const st = M._folia_logits(m.ctx, xp, batch, lp);
        const out = new Float32Array(buffer(), lp, batch * m.numClasses).slice();
        M._free(xp);
        M._free(lp);
        if (st !== S.OK) throw fail(st, 'folia');
        return out;
      },
      // Replaces the model with another model file's bytes; if they are refused, the current
      // model stays loaded and the error (with .status) is thrown.
      load(bytes) {
        const next = init(bytes);
        release(m);
        m = next;
        return engine;
      },
      // Whether this module was built with the teaching API (folia_teach_*).
      get canTeach() { return typeof M._folia_web_teach_begin === 'function'; },
      // Fine-tunes the loaded model on labelled photos: examples [{label, note?, bytes}], options
      // {epochs, viewsPerPhoto, batch, seed, dateUnixS, onProgress(fraction, loss) -> true to cancel}
      // (0 / absent = the core's defaults). Returns {summary, model: Uint8Array (a model file),
      // ms}; the loaded model is unchanged (call load(model) to use the new one).
      teach(examples, options) {
        if (!engine.canTeach) throw new Error('teach: this engine build has no teaching API');
        const o = options || {};
        const t0 = now();
        const outPtr = M._malloc(8);
        if (!outPtr) throw fail(S.OUT_OF_MEMORY, 'teach');
        let session = 0;
        try {
          const st = M._folia_web_teach_begin(m.ctx, o.epochs | 0, o.viewsPerPhoto | 0, o.batch | 0,
            (o.seed === undefined ? 0 : o.seed) >>> 0, o.seed === undefined ? 0 : 1, Math.floor(o.dateUnixS || 0), outPtr);
          if (st !== S.OK) throw fail(st, 'teach');
          session = u32at(outPtr);
          examples.forEach((ex, i) => {
            const label = cString(String(ex.label));
            const note = ex.note ? cString(String(ex.note)) : 0;
            try {
              const st2 = withBytes(ex.bytes, (p, n) => M._folia_teach_add_image(session, label, note, p, n));
              if (st2 !== S.OK) {
                const e = fail(st2, `teach: photo ${i + 1} (${ex.label})`);
                e.index = i;
                throw e;
              }
            } finally {
              M._free(label);
              if (note) M._free(note);
            }
          });
          // web-glue-teach.c's progress callback calls Module.foliaTeachProgress (same thread).
          M.foliaTeachProgress = (fraction, loss) => (o.onProgress && o.onProgress(fraction, loss) ? 1 : 0);
          let st3;
          try { st3 = M._folia_web_teach_run(session); } finally { M.foliaTeachProgress = null; }
          if (st3 !== S.OK) throw fail(st3, 'teach');
          const st4 = M._folia_teach_result(session, outPtr, outPtr + 4);
          if (st4 !== S.OK) throw fail(st4, 'teach');
          const bytesPtr = u32at(outPtr), size = u32at(outPtr + 4);
          const model = new Uint8Array(buffer(), bytesPtr, size).slice();
          M._folia_buffer_free(bytesPtr);
          const summary = JSON.parse(M.UTF8ToString(M._folia_teach_summary_json(session)) || '{}');
          return { summary, model, ms: now() - t0 };
        } finally {
          if (session) M._folia_teach_free(session);
          M._free(outPtr);
        }
      },
      memoryBytes() { return buffer().byteLength; },
      // Releases the model and, in the threads build, the module's pthread workers (which would
      // otherwise keep a node process alive). The engine is unusable afterwards.
      free() {
        if (m) release(m);
        m = null;
        if (M.PThread && typeof M.PThread.terminateAllThreads === 'function') M.PThread.terminateAllThreads();
      },
    };
    // Model facts follow the loaded model.
    for (const k of ['labels', 'numClasses', 'inputSize', 'temperature', 'abstainThreshold', 'modelBytes']) {
      Object.defineProperty(engine, k, { get: () => m[k], enumerable: true });
    }
    return engine;
  }

  return { open, pickBuild, hasRelaxedSimd, isThreadsBuild, defaultThreads, summarize, diagnosis, MAX_THREADS };
});
