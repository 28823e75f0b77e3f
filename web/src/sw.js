// sw.js: Folia's service worker (the source; tools/build-web.sh runs workbox-build's
// injectManifest, which replaces the manifest placeholder below with [{url, revision, integrity}] for every
// file of the app: shell, the wasm engines, the model).
//
// - One cache per version, named from the manifest's content hashes. The active worker answers
//   only from its own cache, so a page never sees a mix of two versions.
// - A new version installs completely (every file checked against its sha-256 via fetch
//   integrity), then WAITS. The page shows "Update available"; on tap it posts SKIP_WAITING, the
//   new worker activates, deletes the old caches, and the page reloads.
// - The lab (lab.html and its wasm module, see lab_manifest) is NOT precached: a farmer's first
//   visit downloads only the app. Its files go into a second cache (folia-lab-<hash of the lab's
//   file list>) when
//   the lab page asks (CACHE_LAB message, on its first visit) or when fetched, each checked
//   against its sha-256; later versions re-cache them at install once a lab cache exists.
// - Every file is checked again against its sha-256 each time it is served from the cache: a
//   copy damaged or altered in the cache is never used. It is fetched again (with integrity)
//   and the cache repaired; offline, the request fails with a 503 whose text says so.
// - Every response gets COOP/COEP/CORP headers, so the page is cross-origin isolated (threads)
//   even on static hosts that cannot set headers. A navigation with ?isolate=0 is served without
//   them, which forces the single-thread engine (tests, and a way out if threads misbehave).
/* eslint-env serviceworker */
'use strict';

// wasm/folia-engine.js, for FoliaEngine.pickBuild's relaxed-SIMD probe (the same choice as the page's).
importScripts('folia-engine.js');

const manifest = self.__WB_MANIFEST;
// [{url, revision, integrity}] of the lab's files, written by web/scripts/inject-sw.mjs.
const lab_manifest = __FOLIA_LAB_MANIFEST__;

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h.toString(16).padStart(8, '0');
}
const version = fnv1a(JSON.stringify(manifest.map((e) => [e.url, e.revision])));
const cache_name = `folia-precache-${version}`;
const scope_url = new URL(self.registration.scope);
const abs = (url) => new URL(url, scope_url).href;
const entries = new Map(manifest.map((e) => [abs(e.url), e]));
const lab_cache_name = `folia-lab-${fnv1a(JSON.stringify(lab_manifest.map((e) => [e.url, e.revision])))}`;
const lab_entries = new Map(lab_manifest.map((e) => [abs(e.url), e]));

// The two threads engines: a browser only ever loads one of them (FoliaEngine.pickBuild:
// folia-web-mt-relaxed where WebAssembly has relaxed SIMD, else folia-web-mt), and this worker
// runs on the same WebAssembly engine as the page, so install downloads only that one. Were the
// page ever to ask for the other, checked_copy fetches it (checked) and caches it.
const other_engine = self.FoliaEngine.hasRelaxedSimd() ? /^folia-web-mt\.(js|wasm|worker\.js)$/
  : /^folia-web-mt-relaxed\.(js|wasm|worker\.js)$/;
const install_list = manifest.filter((e) => !other_engine.test(e.url));

// Fetches one file checked against its integrity (a file of another version is refused).
async function fetch_checked(e) {
  const init = { cache: 'no-cache', credentials: 'same-origin' };
  if (e.integrity) init.integrity = e.integrity;
  const res = await fetch(abs(e.url), init);
  if (!res.ok) throw new Error(`${e.url}: HTTP ${res.status}`);
  return res;
}

// Puts every lab file into the lab cache -> number of files. allSettled: every put is over
// before a failure is reported; files already cached (checked when served) stay.
async function cache_lab() {
  const cache = await caches.open(lab_cache_name);
  const results = await Promise.allSettled(lab_manifest.map(async (e) => {
    if (!(await cache.match(abs(e.url)))) await cache.put(abs(e.url), await fetch_checked(e));
  }));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return lab_manifest.length;
}

self.addEventListener('install', (event) => {
  let existed = true;
  event.waitUntil((async () => {
    // The same app files as the active version give the same cache name: a failed install
    // must not delete the cache the live version serves from.
    existed = await caches.has(cache_name);
    const cache = await caches.open(cache_name);
    // allSettled: when one file fails (a dropped connection), the others' puts must be over
    // before the catch below deletes the half-filled cache, or a late put could outlive it.
    const results = await Promise.allSettled(install_list.map(async (e) => {
      // cache: 'no-cache' revalidates with the server (a 304 reuses what the page itself just
      // downloaded on a first visit); integrity makes a file of another version fail the
      // install instead of being stored under this version's name.
      await cache.put(abs(e.url), await fetch_checked(e));
    }));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    // The lab was visited under an older version: keep it offline (best effort).
    // (A cache with files: a lab request that failed leaves an empty one.)
    let had_lab = false;
    for (const n of await caches.keys()) {
      if (n.startsWith('folia-lab-') && n !== lab_cache_name && (await (await caches.open(n)).keys()).length) had_lab = true;
    }
    if (had_lab) await cache_lab().catch((err) => console.warn('lab not re-cached', err));
  })().catch(async (err) => {
    if (!existed) await caches.delete(cache_name);  // a half-filled cache must never be used
    throw err;
  }));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('folia-precache-') && name !== cache_name) await caches.delete(name);
      if (name.startsWith('folia-lab-') && name !== lab_cache_name) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') self.skipWaiting();
  if (event.data && event.data.type === 'CACHE_LAB') {
    const reply = (m) => event.source && event.source.postMessage({ type: 'CACHE_LAB', ...m });
    event.waitUntil(cache_lab().then((files) => reply({ ok: true, files, cache_name: lab_cache_name }),
      (err) => reply({ ok: false, error: String(err) })));
  }
  if (event.data && event.data.type === 'VERSION') event.source && event.source.postMessage({ type: 'VERSION', version, cache_name });
});

// The same policy as index.html's meta tag, as a header so it also binds the workers.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

function with_isolation(res) {
  if (res.status === 0) return res;  // opaque: cannot be rewrapped
  const headers = new Headers(res.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  headers.set('Content-Security-Policy', csp);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

// Navigations with ?isolate=0 opt out of the headers; their subresources then inherit the
// page's (non-isolated) state, so adding headers to them is harmless.
function wants_isolation(request, url) {
  return !(request.mode === 'navigate' && url.searchParams.get('isolate') === '0');
}

function sri_sha256(buf) {
  return crypto.subtle.digest('SHA-256', buf).then((d) => {
    let s = '';
    for (const b of new Uint8Array(d)) s += String.fromCharCode(b);
    return 'sha256-' + btoa(s);
  });
}

// The cached copy of an app file (precached or lab), its bytes checked against the manifest's
// sha-256 each time it is served. A missing or damaged copy is fetched again (checked) and the
// cache repaired. -> the Response, or undefined when neither works (offline, or the server has
// moved on to another version).
async function checked_copy(cache, key, e) {
  const res = await cache.match(key);
  if (res && !e.integrity) return res;
  if (res) {
    const body = await res.arrayBuffer();
    if (await sri_sha256(body) === e.integrity) {
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    console.warn(`folia: the cached ${key} does not match its sha-256: fetching it again`);
  }
  let fresh;
  try {
    fresh = await fetch_checked(e);
  } catch {
    return undefined;
  }
  // A full cache (quota) must not turn a good download into an error.
  await cache.put(key, fresh.clone()).catch((err) => console.warn(`folia: ${key} not cached`, err));
  return fresh;
}

function damaged(key) {
  const name = key.slice(scope_url.href.length);
  return new Response(`the stored copy of ${name} is damaged (its SHA-256 does not match) and ` +
    'could not be downloaded again: connect to the internet and reload', {
    status: 503, statusText: 'Damaged in cache', headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  });
}

// A lab file that is neither stored nor downloadable for this version (offline, or the server
// has moved on): refused, so that a page never runs one version's lab with another's app files.
function not_stored(key) {
  const name = key.slice(scope_url.href.length);
  return new Response(`${name} is not stored on this device for this version of Folia and could ` +
    'not be downloaded: connect to the internet and reload (an update may be waiting)', {
    status: 503, statusText: 'Not stored', headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  });
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== scope_url.origin) return;  // the app never asks other origins
  event.respondWith((async () => {
    let key = url.origin + url.pathname;
    if (request.mode === 'navigate' && (key === scope_url.href || key.endsWith('/'))) key = abs('index.html');
    let res;
    if (entries.has(key)) {
      res = await checked_copy(await caches.open(cache_name), key, entries.get(key)) || damaged(key);
    } else if (lab_entries.has(key)) {
      res = await checked_copy(await caches.open(lab_cache_name), key, lab_entries.get(key)) || not_stored(key);
    }
    if (!res) res = await fetch(request);  // not part of the app: network
    return wants_isolation(request, url) ? with_isolation(res) : res;
  })());
});
