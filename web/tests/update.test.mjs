// update.test.mjs: the update flow. Version N is installed; the server then serves N+1. The new
// service worker installs and waits while the page keeps running N (also across a reload);
// "Update available" appears; after the tap the page runs N+1 and every cached file is N+1's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';

import {
  build_dist, cached_hashes, dist_hashes, foreign_requests, launch, page_diagnose, real_photos,
  startServer, wait_ready, wait_sw, work,
} from './helpers.mjs';

const v1 = '9.0.0-test.1';
const v2 = '9.0.0-test.2';
let dist1;
let dist2;

before(() => {
  dist1 = build_dist(join(work, 'dist-v1'), v1);
  dist2 = build_dist(join(work, 'dist-v2'), v2);
});

// The version of the page, app.js and the engine worker: one value, or a mix (which fails).
async function page_version(page) {
  const v = await page.evaluate(() => window.folia.versions());
  assert.equal(v.app, v.html, `app.js vs index.html: ${JSON.stringify(v)}`);
  assert.equal(v.worker, v.html, `worker.js vs index.html: ${JSON.stringify(v)}`);
  return v.html;
}

test('update flow: N+1 waits, the banner activates it, and every cached file is N+1', async (t) => {
  const server = await startServer({ root: dist1, coi: true });
  const origin = server.url.replace(/\/$/, '');
  const b = await launch();
  try {
    const { page } = b;
    await page.goto(server.url);
    await wait_sw(page);
    await wait_ready(page);
    assert.equal(await page_version(page), v1);
    assert.equal(await page.isHidden('#update'), true, 'no banner on the first install');
    const h1 = dist_hashes(dist1);
    let cached = await cached_hashes(page);
    assert.equal(Object.keys(cached).length, 1);
    assert.deepEqual(Object.values(cached)[0], h1, 'version N precached completely');

    // The host now serves N+1.
    server.setRoot(dist2);
    await page.evaluate(() => window.folia.check_update());
    await page.waitForSelector('#update:not([hidden])', { timeout: 60000 });
    assert.equal(await page_version(page), v1, 'still N while N+1 waits');

    // A reload while N+1 waits still gets N, whole, and offers the update again.
    await page.reload();
    await wait_ready(page);
    assert.equal(await page_version(page), v1, 'a reload before the tap stays on N');
    await page.waitForSelector('#update:not([hidden])', { timeout: 30000 });

    // A second tab, open on N while N+1 waits.
    const other = await b.context.newPage();
    await other.goto(server.url);
    await wait_ready(other);
    assert.equal(await page_version(other), v1, 'the second tab runs N');

    // The tap: N+1 activates and the page reloads onto it.
    await Promise.all([
      page.waitForEvent('load', { timeout: 60000 }),
      page.click('#update-btn'),
    ]);
    await wait_ready(page);
    assert.equal(await page_version(page), v2, 'N+1 after the update');
    assert.equal(await page.isHidden('#update'), true);

    // The other tab is not reloaded under its user, but offered the reload, which gets N+1.
    await other.waitForSelector('#update:not([hidden])', { timeout: 30000 });
    assert.equal(await page_version(other), v1, 'the other tab is not reloaded without asking');
    await Promise.all([other.waitForEvent('load', { timeout: 60000 }), other.click('#update-btn')]);
    await wait_ready(other);
    assert.equal(await page_version(other), v2, 'the other tab on N+1 after its tap');
    await other.close();

    const h2 = dist_hashes(dist2);
    assert.notDeepEqual(h1, h2, 'the two versions differ');
    cached = await cached_hashes(page);
    assert.deepEqual(Object.keys(cached).length, 1, `one cache left: ${Object.keys(cached)}`);
    assert.deepEqual(Object.values(cached)[0], h2, 'every cached file is N+1');

    // N+1 works (and offline).
    await b.context.setOffline(true);
    await page.reload();
    await wait_ready(page);
    assert.equal(await page_version(page), v2);
    const r = await page_diagnose(page, real_photos(1)[0]);
    assert.equal(r.result.top.length, 3);
    assert.deepEqual(foreign_requests(b.requests, origin), [], 'requests to another origin');
  } catch (e) {
    t.diagnostic(`browser log:\n${b.logs.join('\n')}`);
    throw e;
  } finally {
    await b.close();
    await server.close();
  }
});
