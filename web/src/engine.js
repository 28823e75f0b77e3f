// engine.js: the page's side of the engine worker, and the automation hook window.folia:
//   folia.ready                -> Promise of {build: 'mt'|'st', threads, labels, abstain_threshold, ...}
//   folia.diagnose(arrayBuffer, file?) -> Promise of the `folia diagnose --json` object
//                                 {file?, top: [{label, p} x3], ms, sure}
//   folia.probs(arrayBuffer)   -> Promise of every class probability (tests compare all of them)

const model_url = 'plantvillage.folia';

export function start_engine() {
  const worker = new Worker('worker.js');
  let next_id = 1;
  const pending = new Map();
  worker.onmessage = (ev) => {
    const { id, ok, result, error } = ev.data;
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (ok) p.resolve(result);
    else p.reject(Object.assign(new Error(error.message), { status: error.status }));
  };
  worker.onerror = (ev) => {
    const e = new Error(`engine worker failed: ${ev.message || 'script error'}`);
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const call = (msg, transfer = []) => new Promise((resolve, reject) => {
    const id = next_id++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ ...msg, id }, transfer);
  });

  const ready = call({ type: 'init', model_url });
  const run = async (buffer, file) => {
    await ready;
    // Copy so the caller keeps its buffer (the copy is transferred, not cloned again).
    const bytes = buffer instanceof ArrayBuffer ? buffer.slice(0) : new Uint8Array(buffer).slice().buffer;
    return call({ type: 'diagnose', bytes, file }, [bytes]);
  };
  return {
    ready,
    diagnose: async (buffer, file) => (await run(buffer, file)).result,
    diagnose_full: run,
    probs: async (buffer) => (await run(buffer)).probs,
  };
}
