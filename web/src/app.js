// app.js: the farmer UI. Photo in, diagnosis out, history on the device; the service worker's
// update flow; the automation hook window.folia (see engine.js).
import { start_engine } from './engine.js';
import { class_info, get_notes, set_notes } from './classes.js';
import { add_entry, all_entries, clear_entries, to_csv } from './history.js';
import { active_model, clear_models, save_model } from './model-store.js';
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
// A personalised model saved on this phone (model-store.js) starts instead of the shipped one.
let saved_record = null;  // the active personalised model's record, or null
const saved_p = active_model().then((rec) => {
  saved_record = rec;
  if (rec) set_notes(rec.notes);
  return rec ? rec.bytes : null;
}, (e) => {
  console.warn('saved model unavailable', e);
  return null;
});
const engine = start_engine(saved_p);
const check_version = (info) => {
  if (info.version !== app_version || html_version !== app_version) {
    throw new Error(`mixed versions (page ${html_version}, app ${app_version}, engine ${info.version}): reload`);
  }
  return info;
};
const ready = engine.ready.then((info) => {
  check_version(info);
  if (info.saved_model_error) { saved_record = null; set_notes({}); }
  return info;
});
const checked = (fn) => async (...args) => { await ready; return fn(...args); };
let model_job = Promise.resolve();  // teach / revert one at a time
const serial = (fn) => (...args) => {
  const p = model_job.then(() => fn(...args));
  model_job = p.catch(() => {});
  return p;
};
window.folia = {
  version: app_version,
  ready,
  diagnose: checked((buffer, file) => engine.diagnose(buffer, file)),
  probs: checked((buffer) => engine.probs(buffer)),
  diagnose_full: checked((buffer) => engine.diagnose_full(buffer)),
  // examples [{label, bytes: ArrayBuffer, note?}], options {epochs, seed, views_per_photo, batch,
  // on_progress(fraction, loss)} -> the core's summary {classes, new_classes, examples, ms, ...};
  // from then on diagnose() uses the taught model, saved on the phone.
  teach: checked(serial(async (examples, options = {}) => (await teach(examples, options)).summary)),
  // Back to the shipped model (and its exact outputs); resolves once it is loaded.
  revert: checked(serial(() => revert())),
  // Test hook: the last diagnosis shown by the UI (the same object diagnose() returns).
  last_result: () => (last ? last.result : null),
  versions: async () => ({ html: html_version, app: app_version, worker: (await engine.ready).version }),
};

// Teaches, checks that the new model loads, saves it atomically, then uses it. If the save fails
// the worker goes back to the previous model (the saved personalised one, else the shipped one).
async function teach(examples, options) {
  const { on_progress, ...opts } = options || {};
  if (!engine_info || !engine_info.can_teach) throw new Error(i18n.t(lang, 'cannot_teach'));
  const t = await engine.teach(examples, opts, on_progress ? (p) => on_progress(p.fraction, p.loss) : null);
  const notes = { ...get_notes() };
  for (const e of examples) if (e.note) notes[e.label] = String(e.note);
  const info = check_version(await engine.load(t.model));  // refused bytes throw here, nothing saved
  let rec;
  try {
    rec = await save_model({ bytes: t.model, notes, summary: t.summary, labels: info.labels });
  } catch (e) {
    try { await engine.load(saved_record ? saved_record.bytes : null); } catch (e2) { console.warn(e2); }
    const err = new Error(e.quota ? i18n.t(lang, 'storage_full') : i18n.t(lang, 'storage_failed') + e.message);
    err.quota = Boolean(e.quota);
    err.cause = e;
    throw err;
  }
  saved_record = rec;
  set_notes(notes);
  on_model(info);
  return { summary: t.summary, before: t.before, ms: t.ms };
}

async function revert() {
  await clear_models();
  const info = check_version(await engine.load(null));
  saved_record = null;
  set_notes({});
  on_model(info);
  return info;
}

// A model was loaded (taught or reverted): window.folia.ready gives its facts from now on.
function on_model(info) {
  engine_info = info;
  window.folia.ready = Promise.resolve(info);
  window.folia.engine = info;
  render_model();
  render_result();
  render_history();
}

ready.then((info) => {
  window.folia.ready_at = performance.now();  // ms since navigation start: the cold start
  window.folia.engine = info;
  engine_info = info;
  set_status();
  render_model();
  if (info.saved_model_error) set_status(i18n.t(lang, 'saved_model_refused'), true);
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
// "Crop: Disease", or just "Disease" for a taught label without a crop.
const full_name = (ci) => (ci.crop[lang] ? `${ci.crop[lang]}: ${ci.name[lang]}` : ci.name[lang]);
const pct = (p) => (p < 0.005 ? '<1%' : `${(p * 100).toFixed(p >= 0.995 ? 0 : 1)}%`);

function render_result() {
  if (!last) return;
  const { result, url } = last;
  const best = result.top[0];
  const info = class_info(best.label);
  $('result').hidden = false;
  if (url) $('preview').src = url;
  $('crop').textContent = info.crop[lang] ? `${i18n.t(lang, 'crop')}: ${info.crop[lang]}` : '';
  const badge = $('badge');
  if (result.sure) {
    $('verdict').textContent = info.healthy ? (info.crop[lang] ? info.crop[lang] + ' · ' : '') + i18n.t(lang, 'healthy') : info.name[lang];
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
  $('advice-note').textContent = i18n.t(lang, info.expert ? 'advice_expert' : 'advice_note');

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
    name.textContent = full_name(ci);
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
      ? `${full_name(info)} (${pct(e.top[0].p)})`
      : `${i18n.t(lang, 'not_sure_title')} (${full_name(info)}?)`;
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
  render_model();
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

// --- the personalised model and the Teach screen ---------------------------------------------
function render_model() {
  const personalised = Boolean(engine_info && engine_info.personalised);
  $('model-badge').hidden = !personalised;
  $('model-card').hidden = !personalised;
  $('model-state').textContent = i18n.t(lang, personalised ? 'model_personalised' : 'model_original');
  document.body.classList.toggle('personalised', personalised);
  $('teach').hidden = !(engine_info && engine_info.can_teach);
  // The diseases this model knows, then "a new disease".
  const sel = $('teach-label');
  const keep = sel.value;
  sel.replaceChildren();
  const labels = engine_info ? engine_info.labels : [];
  const items = labels.map((l) => [l, full_name(class_info(l))]).sort((a, b) => a[1].localeCompare(b[1]));
  for (const [value, text] of [['', i18n.t(lang, 'teach_new')], ...items]) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    sel.append(o);
  }
  sel.value = items.some(([v]) => v === keep) ? keep : '';
  $('teach-new').hidden = sel.value !== '';
}

const teach_photos = [];  // {file, url}
function render_teach_photos() {
  const box = $('teach-thumbs');
  box.replaceChildren();
  for (const p of teach_photos) {
    const img = document.createElement('img');
    img.src = p.url;  // thumbnail only; the engine gets the file's bytes
    img.alt = p.file.name;
    box.append(img);
  }
  $('teach-count').textContent = String(teach_photos.length);
  $('teach-go').disabled = teach_photos.length === 0 || document.body.classList.contains('teaching');
}
function add_teach_files(input) {
  for (const f of Array.from(input.files || [])) teach_photos.push({ file: f, url: URL.createObjectURL(f) });
  input.value = '';
  render_teach_photos();
}
$('teach-camera').addEventListener('change', (ev) => add_teach_files(ev.target));
$('teach-picker').addEventListener('change', (ev) => add_teach_files(ev.target));
$('teach-clear').addEventListener('click', () => {
  for (const p of teach_photos) URL.revokeObjectURL(p.url);
  teach_photos.length = 0;
  render_teach_photos();
  $('teach-result').hidden = true;
});
$('teach-label').addEventListener('change', () => { $('teach-new').hidden = $('teach-label').value !== ''; });

// The label the model file gets: an existing one, or "Crop___Disease" / "Disease" for a new one.
function teach_label() {
  const chosen = $('teach-label').value;
  if (chosen) return chosen;
  const clean = (s) => s.replace(/[\u0000-\u001f\u007f]/g, '').replace(/_{3,}/g, '_').replace(/\s+/g, ' ').trim();
  const crop = clean($('teach-crop').value), name = clean($('teach-name').value);
  if (!name) return '';
  return crop ? `${crop}___${name}` : name;
}

function teach_status(text, is_error = false) {
  const el = $('teach-status');
  el.textContent = text;
  el.classList.toggle('error', is_error);
}

$('teach-go').addEventListener('click', async () => {
  const label = teach_label();
  if (!label) { teach_status(i18n.t(lang, 'teach_need_name'), true); return; }
  if (!teach_photos.length) { teach_status(i18n.t(lang, 'teach_need_photos'), true); return; }
  const note = $('teach-note').value.trim();
  const photos = teach_photos.slice();
  const bar = $('teach-progress');
  document.body.classList.add('teaching');
  $('teach-go').disabled = true;
  $('revert').disabled = true;
  bar.hidden = false;
  bar.value = 0;
  $('teach-cancel').hidden = false;
  $('teach-result').hidden = true;
  teach_status(i18n.t(lang, 'teach_running'));
  try {
    const buffers = await Promise.all(photos.map((p) => p.file.arrayBuffer()));
    const examples = buffers.map((bytes) => ({ label, bytes, ...(note ? { note } : {}) }));
    const on_progress = (fraction) => {
      bar.value = fraction;
      teach_status(`${i18n.t(lang, 'teach_running')} ${Math.round(fraction * 100)}%`);
    };
    const t = await serial(() => teach(examples, { on_progress }))();
    bar.value = 1;
    const after = [];
    for (const b of buffers) after.push(await engine.diagnose(b).catch(() => null));
    render_teach_result(photos, t.before, after);
    teach_status(i18n.t(lang, 'teach_done'));
  } catch (e) {
    teach_status(e.quota ? e.message : i18n.t(lang, 'teach_failed') + e.message, true);
  } finally {
    document.body.classList.remove('teaching');
    bar.hidden = true;
    $('teach-cancel').hidden = true;
    $('revert').disabled = false;
    render_teach_photos();
  }
});

// Stop: the worker is busy inside the core and reads no message until it is done, so the page
// reloads (a fresh worker). Nothing was saved yet: the previous model comes back.
$('teach-cancel').addEventListener('click', () => location.reload());

// Before / after on the taught photos: top-1 of the old model, top-1 of the new one.
function render_teach_result(photos, before, after) {
  const body = $('teach-result').querySelector('tbody');
  body.replaceChildren();
  const cell = (d) => {
    const td = document.createElement('td');
    td.textContent = d ? `${full_name(class_info(d.top[0].label))} ${pct(d.top[0].p)}` : '–';
    if (d) td.dataset.label = d.top[0].label;
    return td;
  };
  photos.forEach((p, i) => {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    const img = document.createElement('img');
    img.src = p.url;
    img.alt = p.file.name;
    td.append(img);
    tr.append(td, cell(before[i]), cell(after[i]));
    body.append(tr);
  });
  $('teach-result').hidden = false;
}

$('revert').addEventListener('click', async () => {
  if (!confirm(i18n.t(lang, 'revert_confirm'))) return;
  $('revert').disabled = true;
  try {
    await window.folia.revert();
    set_status(i18n.t(lang, 'reverted'));
  } catch (e) {
    set_status(e.message, true);
  } finally {
    $('revert').disabled = false;
  }
});

// --- service worker: offline cache and the update flow ---------------------------------------
// A new version installs in the background and waits; the page keeps running the old one (the
// active worker serves only its own cache, so files never mix). Tapping "Update" tells the
// waiting worker to activate, and the page reloads once it controls the page.
async function setup_sw() {
  if (!('serviceWorker' in navigator)) return;
  let reloading = false;
  let update_requested = false;
  const had_controller = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (update_requested && !reloading) { reloading = true; location.reload(); return; }
    set_status();
    // Another tab activated a new version: this page still runs the old one's files. It is not
    // reloaded under the user (a teaching session may be running); the banner offers it.
    if (had_controller) {
      $('update').hidden = false;
      $('update-btn').disabled = false;
      $('update-btn').onclick = () => location.reload();
    }
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
