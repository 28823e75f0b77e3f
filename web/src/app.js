// app.js: the farmer UI. Photo in, diagnosis out, history on the device; the service worker's
// update flow; the automation hook window.folia (see engine.js).
import { start_engine } from './engine.js';
import { class_info } from './classes.js';
import { add_entry, all_entries, clear_entries, to_csv } from './history.js';
import * as i18n from './i18n.js';

// Stamped by tools/build-web.sh into index.html, app.js and worker.js: the three must agree, or
// files of two versions were mixed (the tests check it; the page refuses to diagnose).
const app_version = '__FOLIA_VERSION__';
const html_version = document.querySelector('meta[name="folia-version"]').content;
const $ = (id) => document.getElementById(id);
let lang = i18n.initial_lang();
let last = null;  // {result, file, url} of the diagnosis on screen, re-rendered on language change
let engine_info = null;
let engine_error = null;

// --- engine and automation hook -------------------------------------------------------------
const engine = start_engine();
const ready = engine.ready.then((info) => {
  if (info.version !== app_version || html_version !== app_version) {
    throw new Error(`mixed versions (page ${html_version}, app ${app_version}, engine ${info.version}): reload`);
  }
  return info;
});
const checked = (fn) => async (...args) => { await ready; return fn(...args); };
window.folia = {
  version: app_version,
  ready,
  diagnose: checked((buffer, file) => engine.diagnose(buffer, file)),
  probs: checked((buffer) => engine.probs(buffer)),
  diagnose_full: checked((buffer) => engine.diagnose_full(buffer)),
  // Test hook: the last diagnosis shown by the UI (the same object diagnose() returns).
  last_result: () => (last ? last.result : null),
  versions: async () => ({ html: html_version, app: app_version, worker: (await engine.ready).version }),
};

ready.then((info) => {
  window.folia.ready_at = performance.now();  // ms since navigation start: the cold start
  window.folia.engine = info;
  engine_info = info;
  set_status();
}, (e) => {
  engine_error = e;
  set_status();
});

function set_status(text, is_error = false) {
  const el = $('status');
  if (text === undefined) {
    if (engine_error) { text = i18n.t(lang, 'engine_failed') + engine_error.message; is_error = true; }
    else if (!engine_info) text = i18n.t(lang, 'loading_engine');
    else text = i18n.t(lang, navigator.serviceWorker && navigator.serviceWorker.controller ? 'ready' : 'ready_online');
  }
  el.textContent = text;
  el.classList.toggle('error', is_error);
}

// --- rendering --------------------------------------------------------------------------------
const pct = (p) => (p < 0.005 ? '<1%' : `${(p * 100).toFixed(p >= 0.995 ? 0 : 1)}%`);

function render_result() {
  if (!last) return;
  const { result, url } = last;
  const best = result.top[0];
  const info = class_info(best.label);
  $('result').hidden = false;
  if (url) $('preview').src = url;
  $('crop').textContent = `${i18n.t(lang, 'crop')}: ${info.crop[lang]}`;
  const badge = $('badge');
  if (result.sure) {
    $('verdict').textContent = info.healthy ? info.crop[lang] + ' · ' + i18n.t(lang, 'healthy') : info.name[lang];
    badge.textContent = i18n.t(lang, info.healthy ? 'healthy' : 'diseased');
    badge.className = 'badge ' + (info.healthy ? 'healthy' : 'diseased');
  } else {
    $('verdict').textContent = i18n.t(lang, 'not_sure_title');
    badge.textContent = `${info.name[lang]}?`;
    badge.className = 'badge unsure';
  }
  $('not-sure').hidden = result.sure;
  $('advice').hidden = !result.sure;
  $('advice-text').textContent = info.advice[lang];

  const ol = $('top');
  ol.replaceChildren();
  for (const { label, p } of result.top) {
    const ci = class_info(label);
    const li = document.createElement('li');
    li.className = ci.healthy ? 'healthy' : 'diseased';
    li.dataset.label = label;
    const line = document.createElement('div');
    line.className = 'line';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = `${ci.crop[lang]}: ${ci.name[lang]}`;
    const v = document.createElement('span');
    v.className = 'pct';
    v.textContent = pct(p);
    line.append(name, v);
    const track = document.createElement('div');
    track.className = 'bar-track';
    const fill = document.createElement('div');
    fill.className = 'bar-fill';
    fill.style.width = `${Math.max(0.5, p * 100)}%`;
    track.append(fill);
    li.append(line, track);
    ol.append(li);
  }
  $('timing').textContent = `${i18n.t(lang, 'took')} ${Math.round(result.ms)} ms` +
    (engine_info ? ` · ${engine_info.build === 'mt' ? `${engine_info.threads} threads` : '1 thread'}` : '');
}

async function render_history() {
  let entries = [];
  try { entries = await all_entries(); } catch (e) { console.warn('history unavailable', e); }
  const ul = $('history-list');
  ul.replaceChildren();
  for (const e of entries.slice().reverse().slice(0, 50)) {
    const li = document.createElement('li');
    const info = class_info(e.top[0].label);
    const what = document.createElement('span');
    what.textContent = e.sure
      ? `${info.crop[lang]}: ${info.name[lang]} (${pct(e.top[0].p)})`
      : `${i18n.t(lang, 'not_sure_title')} (${info.crop[lang]}: ${info.name[lang]}?)`;
    const when = document.createElement('span');
    when.className = 'when';
    const d = new Date(e.time);
    when.textContent = d.toLocaleDateString(lang === 'pt' ? 'pt-PT' : 'en-GB', { day: '2-digit', month: '2-digit' }) +
      ' ' + d.toLocaleTimeString(lang === 'pt' ? 'pt-PT' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
    li.append(what, when);
    ul.append(li);
  }
  $('history-empty').hidden = entries.length > 0;
  $('export').disabled = entries.length === 0;
  $('clear').disabled = entries.length === 0;
}

function apply_lang() {
  i18n.apply(lang);
  set_status();
  render_result();
  render_history();
}

// --- photo in ---------------------------------------------------------------------------------
async function on_file(input) {
  const file = input.files && input.files[0];
  input.value = '';  // the same photo can be picked again
  if (!file) return;
  document.body.classList.add('busy');
  set_status(i18n.t(lang, 'working'));
  try {
    const bytes = await file.arrayBuffer();
    const result = await window.folia.diagnose(bytes, file.name);
    if (last && last.url) URL.revokeObjectURL(last.url);
    last = { result, url: URL.createObjectURL(file) };  // <img> preview only; never used to diagnose
    render_result();
    set_status();
    await add_entry({ time: new Date().toISOString(), file: file.name, top: result.top, sure: result.sure,
      ms: result.ms, app_version }).catch((e) => console.warn('history not saved', e));
    render_history();
    $('result').scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (e) {
    set_status(i18n.t(lang, 'error_image') + e.message, true);
  } finally {
    document.body.classList.remove('busy');
  }
}
$('camera').addEventListener('change', (ev) => on_file(ev.target));
$('picker').addEventListener('change', (ev) => on_file(ev.target));

$('lang').addEventListener('click', () => {
  lang = lang === 'pt' ? 'en' : 'pt';
  i18n.save_lang(lang);
  apply_lang();
});

$('export').addEventListener('click', async () => {
  const csv = to_csv(await all_entries());
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  a.download = `folia-history-${new Date().toISOString().slice(0, 10)}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
});
$('clear').addEventListener('click', async () => {
  if (!confirm(i18n.t(lang, 'clear_confirm'))) return;
  await clear_entries();
  render_history();
});

// --- service worker: offline cache and the update flow ---------------------------------------
// A new version installs in the background and waits; the page keeps running the old one (the
// active worker serves only its own cache, so files never mix). Tapping "Update" tells the
// waiting worker to activate, and the page reloads once it controls the page.
async function setup_sw() {
  if (!('serviceWorker' in navigator)) return;
  let reloading = false;
  let update_requested = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (update_requested && !reloading) { reloading = true; location.reload(); }
    else set_status();
  });
  const reg = await navigator.serviceWorker.register('sw.js');
  const offer = (worker) => {
    if (!worker || !navigator.serviceWorker.controller) return;  // first install: nothing to replace
    $('update').hidden = false;
    $('update-btn').onclick = () => {
      update_requested = true;
      $('update-btn').disabled = true;
      worker.postMessage({ type: 'SKIP_WAITING' });
    };
  };
  if (reg.waiting) offer(reg.waiting);
  reg.addEventListener('updatefound', () => {
    const w = reg.installing;
    if (!w) return;
    w.addEventListener('statechange', () => { if (w.state === 'installed') offer(w); });
  });
  window.folia.check_update = () => reg.update();
  window.folia.sw_ready = navigator.serviceWorker.ready;
}

async function persist() {
  // Ask the browser not to evict the offline copy and the history under storage pressure.
  try {
    if (navigator.storage && navigator.storage.persist && !(await navigator.storage.persisted())) {
      window.folia.persisted = await navigator.storage.persist();
    } else {
      window.folia.persisted = navigator.storage ? await navigator.storage.persisted() : false;
    }
  } catch { window.folia.persisted = false; }
}

$('version').textContent = `v${app_version}`;
apply_lang();
setup_sw().catch((e) => console.warn('service worker not registered', e));
persist();
