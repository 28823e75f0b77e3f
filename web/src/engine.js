// engine.js: the page's side of the engine worker (one promise per request), used by app.js for
// the automation hook window.folia:
//   folia.ready                -> Promise of {build: 'mt'|'st', threads, labels, abstain_threshold, personalised, ...}
//   folia.diagnose(arrayBuffer, file?) -> Promise of the `folia diagnose --json` object
//                                 {file?, top: [{label, p} x3], ms, sure}
//   folia.probs(arrayBuffer)   -> Promise of every class probability (tests compare all of them)
// The worker (worker.js) does the engine work through folia-engine.js, the one binding of the C API.

const model_url = 'plantvillage.folia';

// saved_model: the bytes of a personalised model (ArrayBuffer) to start with, or null, or a
// promise of either (read from IndexedDB while the worker loads its scripts).
export function start_engine(saved_model = null) {
  const worker = new Worker('worker.js');
  let next_id = 1;
  const pending = new Map();
  worker.onmessage = (ev) => {
    const { id, ok, result, error, progress } = ev.data;
    const p = pending.get(id);
    if (!p) return;
    if (progress) {
      if (p.on_progress) try { p.on_progress(progress); } catch (e) { console.warn(e); }
      return;
    }
    pending.delete(id);
    if (ok) p.resolve(result);
    else p.reject(Object.assign(new Error(error.message), { status: error.status, status_name: error.name }));
  };
  worker.onerror = (ev) => {
    const e = new Error(`engine worker failed: ${ev.message || 'script error'}`);
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const call = (msg, transfer = [], on_progress = null) => new Promise((resolve, reject) => {
    const id = next_id++;
    pending.set(id, { resolve, reject, on_progress });
    worker.postMessage({ ...msg, id }, transfer);
  });
  // Copy so the caller keeps its buffer (the copy is transferred, not cloned again).
  const own = (buffer) => (buffer instanceof ArrayBuffer ? buffer.slice(0) : new Uint8Array(buffer).slice().buffer);

  const ready = Promise.resolve(saved_model).then((m) => {
    const saved = m ? own(m) : undefined;
    return call({ type: 'init', model_url, model: saved }, saved ? [saved] : []);
  });
  const run = async (buffer, file) => {
    await ready;
    const bytes = own(buffer);
    return call({ type: 'diagnose', bytes, file }, [bytes]);
  };
  return {
    ready,
    diagnose: async (buffer, file) => (await run(buffer, file)).result,
    diagnose_full: run,
    probs: async (buffer) => (await run(buffer)).probs,
    // examples [{label, note?, bytes}] -> {summary, model: ArrayBuffer, before: [diagnosis], ms};
    // the worker keeps its model until load().
    teach: async (examples, options = {}, on_progress = null) => {
      await ready;
      const ex = examples.map((e) => ({ label: e.label, note: e.note || '', bytes: own(e.bytes) }));
      return call({ type: 'teach', examples: ex, options }, ex.map((e) => e.bytes), on_progress);
    },
    // Loads a model file's bytes (null: the shipped model again) -> the new engine info.
    load: async (model) => {
      await ready;
      const bytes = model ? own(model) : undefined;
      return call({ type: 'load', model: bytes }, bytes ? [bytes] : []);
    },
  };
}
