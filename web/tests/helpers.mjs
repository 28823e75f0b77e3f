// helpers.mjs: shared pieces of the browser tests (paths, server, Chromium, native reference).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Report the service worker's own network requests as context 'request' events too, so the
// "no other origin" check sees everything the app fetches.
process.env.PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS = '1';
const { chromium } = await import('playwright-core');
export { startServer } from '../../tools/serve.mjs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = process.env.FOLIA_WEB_DIST || join(root, 'web', 'dist');
export const work = join(root, 'build', 'web-test');
export const artifacts = join(root, 'build', 'web-artifacts');
mkdirSync(work, { recursive: true });
mkdirSync(artifacts, { recursive: true });

export function native_cli() {
  const candidates = [process.env.FOLIA_CLI, join(root, 'build', 'native', 'bin', 'folia')].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`native CLI not found (tried ${candidates.join(', ')}); build it or set FOLIA_CLI`);
  return found;
}

// The model the dist ships: the tests compare the page against the CLI on these same bytes.
export const model = join(dist, 'plantvillage.folia');

// `folia diagnose --json` on files -> one object per file, in order.
export function native_diagnose(files, model_file = model) {
  const out = execFileSync(native_cli(), ['diagnose', '--json', '--threads', '1', '--model', model_file, ...files],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

// A handful of real PlantVillage photos: the first file (by name) of every 6th class folder.
export function real_photos(n = 6) {
  const data = process.env.FOLIA_DATA;
  if (!data || !existsSync(data)) throw new Error('FOLIA_DATA must point at the PlantVillage folder');
  const classes = readdirSync(data).filter((d) => statSync(join(data, d)).isDirectory()).sort();
  const picked = [];
  for (let i = 0; i < classes.length && picked.length < n; i += Math.max(1, Math.floor(classes.length / n))) {
    const files = readdirSync(join(data, classes[i])).filter((f) => /\.jpe?g$/i.test(f)).sort();
    if (files.length) picked.push(join(data, classes[i], files[0]));
  }
  return picked;
}

// A synthetic 12-megapixel phone photo (4032x3024, EXIF orientation 6 = rotate 90 CW), made by
// Pillow at test time so nothing image-like is committed.
export function synthetic_photo() {
  const path = join(work, 'synthetic-4032x3024.jpg');
  if (!existsSync(path)) {
    execFileSync('/usr/bin/python3', [join(root, 'web', 'tests', 'make-synthetic-photo.py'), path]);
  }
  return path;
}

export const chromium_args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// A fresh profile every time (no service worker or cache left from an earlier run). Every
// request the browser makes (pages, workers, service worker) is recorded in `requests`.
export async function launch({ width = 360, height = 780, locale = 'en-GB' } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'folia-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: chromium_args,
    viewport: { width, height },
    deviceScaleFactor: 1,
    locale,
    serviceWorkers: 'allow',
  });
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const logs = [];
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, requests, logs, close };
}

// Requests that left the origin (blob: and data: URLs never leave the page).
export function foreign_requests(requests, origin) {
  return requests.filter((u) => !(u.startsWith(origin) || u.startsWith('blob:') || u.startsWith('data:')));
}

// Waits until a service worker controls the page and its precache is complete (active).
// Fails after `ms` (a worker that does not parse or install never makes `ready` resolve).
export async function wait_sw(page, ms = 90000) {
  await page.evaluate(async (ms) => {
    const controlled = (async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
      }
    })();
    const late = new Promise((_, reject) => setTimeout(
      () => reject(new Error(`no service worker controls the page after ${ms} ms`)), ms));
    await Promise.race([controlled, late]);
  }, ms);
}

export async function wait_ready(page) {
  return page.evaluate(() => window.folia.ready);
}

// Runs window.folia.diagnose_full in the page on a file's bytes -> {result, probs, memory_bytes}.
export async function page_diagnose(page, file) {
  const b64 = readFileSync(file).toString('base64');
  return page.evaluate(async ({ b64, name }) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const full = await window.folia.diagnose_full(bytes.buffer);
    const plain = await window.folia.diagnose(bytes.buffer, name);
    return { ...full, plain };
  }, { b64, name: file });
}

export function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

// The web lab's files (lab.html and its wasm modules): not in the app's precache, cached by the
// service worker on the first lab visit only (web/scripts/inject-sw.mjs).
export const lab_file = /^(lab\.(html|js|css)|folia-lab[^/]*)$/;

// The threads engine Chromium does not load: sw.js installs only the one FoliaEngine.pickBuild
// picks, and Chromium has relaxed SIMD, so folia-web-mt-relaxed is installed, folia-web-mt not.
export const unused_engine_file = /^folia-web-mt\.(js|wasm|worker\.js)$/;

// Every precached file of a dist, as {url relative to the dist: sha256} (sw.js, the lab's files
// and the engine this browser does not use excluded: not precached).
export function dist_hashes(dir) {
  const out = {};
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f !== 'sw.js' && !lab_file.test(relative(dir, p)) && !unused_engine_file.test(relative(dir, p))) {
        out[relative(dir, p)] = sha256(readFileSync(p));
      }
    }
  };
  walk(dir);
  return out;
}

// {cache name: {url path without leading slash: sha256}} of everything in the page's Cache Storage.
export async function cached_hashes(page) {
  return page.evaluate(async () => {
    const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
    const out = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      out[name] = {};
      for (const req of await cache.keys()) {
        const body = await (await cache.match(req)).arrayBuffer();
        out[name][new URL(req.url).pathname.slice(1)] = hex(await crypto.subtle.digest('SHA-256', body));
      }
    }
    return out;
  });
}

export function build_dist(out, version, model_file = model) {
  execFileSync(join(root, 'tools', 'build-web.sh'), ['--out', out, '--version', version, '--model', model_file],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  return out;
}

// Photos of a class no shipped model knows, for teaching: the real mango photos of
// $FOLIA_DATA/../new-classes/<cls> in the order they were taken (MANIFEST.tsv's source_path holds
// the timestamp), or, where that folder is absent, N synthetic leaves made by Pillow. Throws
// (never skips) when neither is possible. -> {label, files, source: 'mango'|'synthetic'}
export function new_class_photos(n, cls = 'Mango___Bacterial_disease') {
  const data = process.env.FOLIA_DATA;
  const folder = data ? join(data, '..', 'new-classes', cls) : '';
  if (folder && existsSync(folder)) {
    const manifest = join(folder, '..', 'MANIFEST.tsv');
    let files;
    if (existsSync(manifest)) {
      const rows = readFileSync(manifest, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
      files = rows.filter((r) => r[1] === cls).sort((a, b) => (a[8] < b[8] ? -1 : a[8] > b[8] ? 1 : 0))
        .map((r) => join(folder, '..', r[0]));
    } else {
      files = readdirSync(folder).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => join(folder, f));
    }
    if (files.length < n) throw new Error(`${folder}: ${files.length} photos, the test needs ${n}`);
    return { label: cls, files: files.slice(0, n), source: 'mango' };
  }
  const out = join(work, `synthetic-leaves-${n}`);
  execFileSync('/usr/bin/python3', [join(root, 'web', 'tests', 'make-synthetic-leaves.py'), out, String(n)]);
  const files = readdirSync(out).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(out, f));
  if (files.length !== n) throw new Error(`make-synthetic-leaves.py made ${files.length} of ${n} photos`);
  return { label: 'Testleaf___Violet_ring', files, source: 'synthetic' };
}

// Runs window.folia.teach in the page on files -> the summary (progress fractions in .progress).
export async function page_teach(page, label, files, options = {}, note = '') {
  const b64s = files.map((f) => readFileSync(f).toString('base64'));
  return page.evaluate(async ({ b64s, label, options, note }) => {
    const examples = b64s.map((b64) => {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return { label, bytes: bytes.buffer, ...(note ? { note } : {}) };
    });
    const progress = [];
    // The page's own thread keeps running while the worker teaches: the longest gap between
    // timer ticks says whether it froze.
    let last = performance.now(), max_gap = 0;
    const timer = setInterval(() => { const n = performance.now(); max_gap = Math.max(max_gap, n - last); last = n; }, 20);
    const t0 = performance.now();
    try {
      const summary = await window.folia.teach(examples, { ...options, on_progress: (f) => progress.push(f) });
      return { summary, progress, wall_ms: performance.now() - t0, max_main_thread_gap_ms: max_gap };
    } finally {
      clearInterval(timer);
    }
  }, { b64s, label, options, note });
}
