// lab.js: the web lab page (lab.html). Loads the lab's wasm module (the same lab/ C++ as the
// native folia-lab, drawn with Dear ImGui on WebGL2), gives it the model and the diagnosis
// history through MEMFS, and exposes the automation hook window.folia_lab:
//   folia_lab.ready        -> Promise of {build: 'folia-lab'|'folia-lab-mt', threads}
//   folia_lab.state()      -> the visible state, the JSON `folia-lab --screenshot` prints
//                             ({panel, model: {classes, ...}, diagnosis: {top: [{label, p}]}, ...})
//   folia_lab.bench(opts?) -> Promise of {p50_ms, mean_ms, p99_ms, threads, rows}: the seed's
//                             harness in the page (rows: 1 thread, and N threads when isolated)
//   folia_lab.open(bytes, name) -> Promise of the diagnosis JSON of that photo
//   folia_lab.teach_add(bytes, name, label) then folia_lab.teach({epochs}) -> Promise of the
//                             Teach tab's state {loss: [[fraction, loss]...], summary, ...}
//   folia_lab.panel(name)  selects a tab; folia_lab.offline -> Promise: lab files cached
// The lab's files are not in the app's precache (the farmer's first visit stays small): this
// page asks the service worker to cache them (CACHE_LAB) so the lab opens offline next time.
import { all_entries } from './history.js';
import { active_model } from './model-store.js';

const $ = (id) => document.getElementById(id);
const mt = self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
const build = mt ? 'folia-lab-mt' : 'folia-lab';
// The module preloads 5 workers: one job thread + up to 4 engine threads (wasm/README.md).
const threads = mt ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4)) : 1;
const status = (t) => { $('lab-status').textContent = t; };

function load_script(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

// The model the app diagnoses with: the personalised one when the farmer taught one, else the
// shipped file (the service worker answers from its precache).
async function model_file() {
  const rec = await active_model().catch(() => null);
  if (rec && rec.bytes) return { bytes: new Uint8Array(rec.bytes), name: 'personalised.folia' };
  const res = await fetch('plantvillage.folia');
  if (!res.ok) throw new Error(`plantvillage.folia: HTTP ${res.status}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), name: 'plantvillage.folia' };
}

async function cache_for_offline() {
  if (!('serviceWorker' in navigator)) throw new Error('no service worker');
  await navigator.serviceWorker.register('sw.js');
  const reg = await navigator.serviceWorker.ready;
  const sw = reg.active;
  return new Promise((resolve, reject) => {
    const on = (ev) => {
      if (!ev.data || ev.data.type !== 'CACHE_LAB') return;
      navigator.serviceWorker.removeEventListener('message', on);
      if (ev.data.ok) resolve(ev.data); else reject(new Error(ev.data.error));
    };
    navigator.serviceWorker.addEventListener('message', on);
    sw.postMessage({ type: 'CACHE_LAB' });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let aborted = '';

async function start() {
  const [model, history] = await Promise.all([model_file(), all_entries().catch(() => [])]);
  status(`Loading ${build} …`);
  await load_script(`${build}.js`);
  const canvas = $('canvas');
  const M = await globalThis.createFoliaLab({
    canvas,
    mainScriptUrlOrBlob: `${build}.js`,
    // The window fills what the page's bar leaves of the viewport (SDL sizes the canvas).
    arguments: ['--model', `/lab/${model.name}`, '--width', String(Math.max(640, innerWidth)),
      '--height', String(Math.max(480, Math.floor(innerHeight - canvas.getBoundingClientRect().top)))],
    preRun: [(mod) => {
      mod.FS.mkdir('/lab');
      mod.FS.mkdir('/lab/photos');
      mod.FS.mkdir('/lab/teach');
      mod.FS.writeFile(`/lab/${model.name}`, model.bytes);
      mod.FS.writeFile('/lab/history.json', JSON.stringify(history));
    }],
    print: (t) => console.log(t),
    printErr: (t) => console.warn(t),
    onAbort: (what) => { aborted = `the lab module aborted: ${what}`; },
  });
  const call = (name, ret, types = [], args = []) => M.ccall(name, ret, types, args);
  // main() has run once the module is ready; the first frame follows on the next animation frame.
  // main() returns early without WebGL2 or SDL: fail with a message instead of waiting forever.
  for (const t0 = performance.now(); !call('folia_lab_web_started', 'number'); await sleep(20)) {
    if (aborted) throw new Error(aborted);
    if (performance.now() - t0 > 60000) throw new Error('the lab did not start within 60 s (WebGL2 missing?)');
  }
  const state = () => JSON.parse(call('folia_lab_web_state', 'string'));
  call('folia_lab_web_model_bytes', null, ['number'], [model.bytes.length]);
  call('folia_lab_web_history', 'number', ['string'], ['/lab/history.json']);
  call('folia_lab_web_panel', null, ['string'], ['model']);
  // Resolves once the lab's jobs are done (the UI keeps drawing meanwhile in the threads build).
  const idle = async () => { while (call('folia_lab_web_busy', 'number')) await sleep(50); };
  let photo_n = 0;
  const open = async (bytes, name = 'photo.jpg') => {
    const path = `/lab/photos/${++photo_n}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    M.FS.writeFile(path, new Uint8Array(bytes));
    call('folia_lab_web_open', null, ['string'], [path]);
    await sleep(0);
    await idle();
    return state().diagnosis;
  };
  const bench = async ({ runs = 30 } = {}) => {
    call('folia_lab_web_bench', null, ['number', 'number'], [runs, threads]);
    await sleep(0);
    await idle();
    const b = state().bench;
    if (!b || b.error) throw new Error(`bench failed: ${b ? b.error : 'no result'}`);
    const last = b.rows[b.rows.length - 1];
    return { p50_ms: last.p50_ms, mean_ms: last.mean_ms, p99_ms: last.p99_ms, threads: last.threads, rows: b.rows };
  };
  // Teaching photos of one class (the Teach tab) -> the summary JSON of the run.
  const teach_add = (bytes, name, label = '') => {
    const path = `/lab/teach/${++photo_n}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    M.FS.writeFile(path, new Uint8Array(bytes));
    return call('folia_lab_web_teach_add', 'number', ['string', 'string'], [path, label]);
  };
  const teach = async ({ epochs = 0 } = {}) => {
    call('folia_lab_web_teach', null, ['number'], [epochs]);
    await sleep(0);
    await idle();
    return state().teach;
  };
  $('lab-teach').addEventListener('change', async (ev) => {
    for (const f of ev.target.files || []) teach_add(await f.arrayBuffer(), f.name);
    call('folia_lab_web_panel', null, ['string'], ['teach']);
  });
  $('lab-photo').addEventListener('change', async (ev) => {
    const f = ev.target.files && ev.target.files[0];
    if (f) await open(await f.arrayBuffer(), f.name);
  });
  status(`${build}, ${threads} thread${threads > 1 ? 's' : ''}, ${model.name}, ${history.length} past diagnoses`);
  return { api: { state, bench, open, teach_add, teach, panel: (p) => call('folia_lab_web_panel', null, ['string'], [p]) },
    info: { build, threads, model: model.name, history: history.length } };
}

const started = start();
window.folia_lab = {
  ready: started.then((s) => s.info),
  state: () => { throw new Error('folia_lab: not ready (await folia_lab.ready)'); },
  offline: cache_for_offline(),
};
started.then((s) => Object.assign(window.folia_lab, s.api), (e) => status(`The lab failed to start: ${e.message}`));
window.folia_lab.offline.then((r) => console.log(`lab cached for offline use: ${r.files} files`),
  (e) => console.warn('lab not cached for offline use', e));
