// folia-engine.js: a small JavaScript wrapper over the Folia web module (folia-web.js or
// folia-web-mt.js). Works as a classic script (importScripts in a Web Worker: global
// FoliaEngine) and under node (require). The raw contract it wraps is in wasm/README.md.
//
//   const engine = await FoliaEngine.open(createFoliaModule, modelBytes, { threads: 2 });
//   const r = engine.classifyImage(jpegBytes);   // { ok, status, message, probs, top, sure }
//   engine.free();
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.FoliaEngine = factory();
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  // The threads build needs SharedArrayBuffer, which browsers only give cross-origin-isolated
  // pages (COOP/COEP headers). Anything else (iOS Safari, plain static hosting) gets SIMD only.
  function pickBuild() {
    const isolated = typeof crossOriginIsolated !== 'undefined' ? crossOriginIsolated : true;
    return isolated && typeof SharedArrayBuffer !== 'undefined' ? 'folia-web-mt' : 'folia-web';
  }

  async function open(createModule, modelBytes, options) {
    const opts = options || {};
    const M = await createModule(opts.moduleArgs || {});
    // With pthreads, another thread may grow the memory; always view the live buffer.
    const buffer = () => (M.wasmMemory ? M.wasmMemory.buffer : M.HEAPU8.buffer);
    const u8 = () => new Uint8Array(buffer());
    const message = (status) => M.UTF8ToString(M._folia_status_message(status));

    function copyIn(bytes) {
      const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
      const ptr = M._malloc(Math.max(1, view.length));
      if (!ptr) return 0;
      u8().set(view, ptr);
      return ptr;
    }

    const threads = Math.max(1, opts.threads | 0 || 1);
    const modelPtr = copyIn(modelBytes);
    const ctxPtrPtr = M._malloc(4);
    if (!modelPtr || !ctxPtrPtr) throw new Error('folia: out of wasm memory loading the model');
    const st = M._folia_web_init(modelPtr, modelBytes.byteLength, threads, ctxPtrPtr);
    const ctx = new Uint32Array(buffer(), ctxPtrPtr, 1)[0];
    M._free(modelPtr);  // folia_init_from_buffer copies what it keeps
    M._free(ctxPtrPtr);
    if (st !== 0) {
      const err = new Error('folia: model refused: ' + message(st));
      err.status = st;
      throw err;
    }

    const numClasses = M._folia_num_classes(ctx);
    const labels = [];
    for (let i = 0; i < numClasses; i++) labels.push(M.UTF8ToString(M._folia_label(ctx, i)));
    const abstainThreshold = M._folia_abstain_threshold(ctx);
    const probsPtr = M._malloc(4 * numClasses);

    function result(status, t0) {
      if (status !== 0) return { ok: false, status, message: message(status) };
      const probs = new Float32Array(buffer(), probsPtr, numClasses).slice();
      const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
      const top = order.slice(0, 3).map((i) => ({ label: labels[i], p: probs[i], index: i }));
      return {
        ok: true, status, message: message(status), probs, top,
        sure: top[0].p >= abstainThreshold,
        ms: (typeof performance !== 'undefined' ? performance.now() : Date.now()) - t0,
      };
    }
    const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

    return {
      module: M,
      threads,
      labels,
      numClasses,
      inputSize: M._folia_input_size(ctx),
      temperature: M._folia_temperature(ctx),
      abstainThreshold,
      // Encoded JPEG/PNG bytes (Uint8Array or ArrayBuffer), decoded by the core, never the browser.
      classifyImage(bytes) {
        const t0 = now();
        const n = bytes.byteLength;
        const p = copyIn(bytes);
        if (!p) return { ok: false, status: 2, message: message(2) };
        const st2 = M._folia_classify_image(ctx, p, n, probsPtr);
        M._free(p);
        return result(st2, t0);
      },
      // RGB8 (channels 3) or RGBA8 (channels 4) pixels, rows `stride` bytes apart.
      classifyPixels(pixels, width, height, stride, channels) {
        const t0 = now();
        const p = copyIn(pixels);
        if (!p) return { ok: false, status: 2, message: message(2) };
        const st2 = M._folia_classify(ctx, p, width, height, stride, channels, probsPtr);
        M._free(p);
        return result(st2, t0);
      },
      // x is (batch, S, S, 3) f32 normalised NHWC; returns (batch, numClasses) logits.
      logits(x, batch) {
        const xp = M._malloc(x.byteLength), lp = M._malloc(4 * batch * numClasses);
        new Float32Array(buffer(), xp, x.length).set(x);
        const st2 = M._folia_logits(ctx, xp, batch, lp);
        const out = new Float32Array(buffer(), lp, batch * numClasses).slice();
        M._free(xp);
        M._free(lp);
        if (st2 !== 0) throw new Error('folia: ' + message(st2));
        return out;
      },
      memoryBytes() { return buffer().byteLength; },
      free() {
        M._free(probsPtr);
        M._folia_free(ctx);
      },
    };
  }

  return { open, pickBuild };
});
