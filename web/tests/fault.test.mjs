// fault.test.mjs: fault injection and privacy in the browser.
// - An update interrupted between files (the server cuts the new version's 2nd file half-way)
//   leaves version N whole: one cache, N's bytes, working offline; a later try installs N+1.
//   The same for a rebuilt worker over the same app files (same cache name as the live one).
// - A model file altered in the browser's cache is refused: offline the page says clearly that
//   the stored copy is damaged; online it is fetched again, the cache repaired, diagnoses match
//   the native CLI.
// - Privacy: every page of the dist loads with no request to another origin and nothing sent
//   but GET/HEAD; no eval / new Function in the app's JS (sources and built files); the CSP
//   allows scripts only from 'self' (plus wasm compilation).
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, test } from 'node:test';

import {
  build_dist, cached_hashes, dist_hashes, foreign_requests, launch, native_diagnose, page_diagnose,
  real_photos, root, startServer, wait_ready, wait_sw, work,
} from './helpers.mjs';

const v1 = '9.0.0-fault.1';
const v2 = '9.0.0-fault.2';
let dist1;
let dist2;

before(() => {
  dist1 = build_dist(join(work, 'fault-v1'), v1);
  dist2 = build_dist(join(work, 'fault-v2'), v2);
});

const only_get = (server) => server.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

async function with_browser(t, server, fn) {
  const b = await launch();
  try {
    await fn(b);
    assert.deepEqual(foreign_requests(b.requests, server.url.replace(/\/$/, '')), [], 'requests to another origin');
    assert.deepEqual(only_get(server), [], 'requests other than GET/HEAD (nothing may be uploaded)');
  } catch (e) {
    t.diagnostic(`browser log:\n${b.logs.join('\n')}`);
    throw e;
  } finally {
    await b.close();
    await server.close();
  }
}

// registration.update(), then the new worker's fate: 'installed' (waiting) or 'redundant'.
async function try_update(page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    await window.folia.check_update().catch(() => {});
    const w = reg.installing || reg.waiting;
    if (!w) return 'none';
    if (w.state === 'installed' || w.state === 'redundant') return w.state;
    return new Promise((resolve) => w.addEventListener('statechange', () => {
      if (w.state === 'installed' || w.state === 'redundant') resolve(w.state);
    }));
  });
}

// Version N's first visit: the worker controls the page and N is precached whole.
// -> the cache's contents ({cache name: {file: sha-256}}).
async function first_visit(page, server) {
  await page.goto(server.url);
  await wait_sw(page);
  await wait_ready(page);
  const cached = await cached_hashes(page);
  assert.deepEqual(Object.values(cached), [dist_hashes(dist1)], 'N precached');
  return cached;
}

// Offline, a reload runs version N and diagnoses a photo as the CLI does with N's model.
async function works_offline_on_n(b) {
  await b.context.setOffline(true);
  await b.page.reload();
  assert.equal((await wait_ready(b.page)).version, v1);
  const photo = real_photos(1)[0];
  const r = await page_diagnose(b.page, photo);
  assert.equal(r.result.top[0].label, native_diagnose([photo], join(dist1, 'plantvillage.folia'))[0].top[0].label);
}

// From now on the 2nd file the browser asks for (sw.js aside) is cut half-way and its
// connection dropped. -> {what}: the cut request, '' until it happens.
function cut_second_file(server) {
  const cut = { what: '' };
  let seen = 0;
  server.setIntercept((req, res, file) => {
    if (req.url.startsWith('/sw.js') || ++seen !== 2) return false;
    const body = readFileSync(file);
    cut.what = `${req.url} (request ${seen} of the install)`;
    res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream',
      'Cache-Control': 'no-cache', 'Cross-Origin-Resource-Policy': 'same-origin' });
    res.write(body.subarray(0, body.length >> 1));
    setTimeout(() => res.destroy(), 50);  // the connection drops mid-file
    return true;
  });
  return cut;
}

test('an update cut off at its 2nd file leaves version N whole and working offline', async (t) => {
  const server = await startServer({ root: dist1, coi: true });
  await with_browser(t, server, async (b) => {
    const { page } = b;
    await first_visit(page, server);

    // N+1 on the server; the 2nd of its files the browser asks for is cut half-way.
    server.setRoot(dist2);
    const cut = cut_second_file(server);
    assert.equal(await try_update(page), 'redundant', 'the cut install must fail');
    assert.notEqual(cut.what, '', 'a file of N+1 was cut');
    t.diagnostic(`cut ${cut.what}`);
    assert.deepEqual(Object.values(await cached_hashes(page)), [dist_hashes(dist1)], 'only N, whole: no half-filled N+1 cache');
    assert.equal(await page.isHidden('#update'), true, 'no update offered');

    // N still works, offline, with N's model.
    await works_offline_on_n(b);

    // Back online, an intact N+1 installs.
    await b.context.setOffline(false);
    server.setIntercept(null);
    assert.equal(await try_update(page), 'installed');
    await page.waitForSelector('#update:not([hidden])', { timeout: 30000 });
  });
});

// A rebuilt worker over the same app files has the live version's cache name: its failed
// install must leave that cache alone (it used to delete it, and the app lost its offline copy).
test('a rebuilt worker whose install is cut off leaves the live cache of the same files whole', async (t) => {
  const rebuilt = join(work, 'fault-v1-rebuilt');
  rmSync(rebuilt, { recursive: true, force: true });
  cpSync(dist1, rebuilt, { recursive: true });
  appendFileSync(join(rebuilt, 'sw.js'), '\n// the same app files, a rebuilt worker\n');
  const server = await startServer({ root: dist1, coi: true });
  await with_browser(t, server, async (b) => {
    const { page } = b;
    const before = await first_visit(page, server);

    server.setRoot(rebuilt);
    const cut = cut_second_file(server);
    assert.equal(await try_update(page), 'redundant', 'the cut install must fail');
    assert.notEqual(cut.what, '', 'the rebuilt worker fetched the app files again, and one was cut');
    assert.deepEqual(await cached_hashes(page), before, 'the live cache is still there, whole');

    await works_offline_on_n(b);
  });
});

// Flips bytes in the middle of the cached model file (same length, same headers).
async function tamper_cached_model(page) {
  return page.evaluate(async () => {
    const name = (await caches.keys()).find((n) => n.startsWith('folia-precache-'));
    const cache = await caches.open(name);
    const key = (await cache.keys()).find((r) => r.url.endsWith('/plantvillage.folia'));
    const res = await cache.match(key);
    const bytes = new Uint8Array(await res.arrayBuffer());
    for (let i = 0; i < 64; i++) bytes[(bytes.length >> 1) + i] ^= 0x5a;
    await cache.put(key, new Response(bytes, { status: 200, headers: res.headers }));
    return key.url;
  });
}

test('a tampered model in the cache is refused clearly offline and fetched again online', async (t) => {
  const server = await startServer({ root: dist1, coi: true });
  await with_browser(t, server, async (b) => {
    const { page } = b;
    await page.goto(server.url);
    await wait_sw(page);
    await wait_ready(page);
    const good = dist_hashes(dist1)['plantvillage.folia'];
    await tamper_cached_model(page);
    const cached_model = async () => Object.values(await cached_hashes(page))[0]['plantvillage.folia'];
    assert.notEqual(await cached_model(), good, 'the cached model was altered');

    // Offline: nothing to repair it from. The engine refuses to start and says why.
    await b.context.setOffline(true);
    await page.reload();
    const err = await page.evaluate(() => window.folia.ready.then(() => 'started', (e) => e.message));
    assert.match(err, /plantvillage\.folia.*damaged.*connect to the internet/s);
    await page.waitForFunction(() => /damaged/.test(document.getElementById('status').textContent));
    assert.match(await page.textContent('#status'), /could not start/);

    // Online: the service worker fetches it again, stores the good copy, the page works.
    await b.context.setOffline(false);
    const before_reload = server.requests.length;
    await page.reload();
    await wait_ready(page);
    assert.ok(server.requests.slice(before_reload).some((r) => r.url === '/plantvillage.folia'),
      'the model was downloaded again');
    assert.equal(await cached_model(), good, 'the cache holds the good model again');
    const photo = real_photos(1)[0];
    const r = await page_diagnose(page, photo);
    const want = native_diagnose([photo], join(dist1, 'plantvillage.folia'))[0];
    assert.equal(r.result.top[0].label, want.top[0].label);
    assert.ok(Math.abs(r.result.top[0].p - want.top[0].p) < 1e-4, `p ${r.result.top[0].p} vs ${want.top[0].p}`);
  });
});

const html_pages = (dir) => readdirSync(dir).filter((f) => f.endsWith('.html')).sort();

test('every page of the app loads with no request to another origin', async (t) => {
  const pages = html_pages(dist1);
  assert.ok(pages.includes('index.html'), `pages: ${pages}`);
  const server = await startServer({ root: dist1, coi: true });
  await with_browser(t, server, async (b) => {
    for (const p of pages) {
      await b.page.goto(server.url + p);
      await b.page.waitForLoadState('networkidle');
      if (p === 'index.html') await wait_ready(b.page);
    }
    t.diagnostic(`pages: ${pages.join(', ')}; ${b.requests.length} requests, all same-origin`);
  });
});

function js_files(dir) {
  const out = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...js_files(p));
    else if (/\.(m?js)$/.test(f)) out.push(p);
  }
  return out;
}

test('no eval or new Function in the app, and the CSP allows scripts only from self', () => {
  const files = [...js_files(join(root, 'web', 'src')), join(root, 'wasm', 'folia-engine.js'), ...js_files(dist1)];
  const banned = /\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(\s*['"`]|set(Timeout|Interval)\s*\(\s*['"`]/;
  const hits = files.filter((f) => banned.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  assert.deepEqual(hits, [], 'eval-like code');
  assert.ok(files.length >= 10, `${files.length} files checked`);
  for (const p of html_pages(dist1)) {
    const html = readFileSync(join(dist1, p), 'utf8');
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    assert.ok(csp, `${p}: no CSP meta tag`);
    assert.match(csp[1], /script-src 'self' 'wasm-unsafe-eval';/, p);
    assert.doesNotMatch(csp[1], /'unsafe-eval'|'unsafe-inline'|\*/, p);
    assert.match(csp[1], /connect-src 'self'/, p);
  }
  const sw = readFileSync(join(dist1, 'sw.js'), 'utf8');
  assert.match(sw, /script-src 'self' 'wasm-unsafe-eval';/, 'the service worker sends the same CSP');
});
