// offline.test.mjs: the installed app diagnoses offline, in both engine builds, exactly like the
// native CLI, and never talks to another origin.
//
// Each case: fresh Chromium profile -> load the app -> wait until the service worker controls the
// page (precache complete) -> go offline AND stop the server -> reload -> diagnose real
// PlantVillage photos and a synthetic 4032x3024 EXIF-rotated JPEG through window.folia, and one
// photo through the real file input -> compare with `folia diagnose --json` on the same files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  artifacts, dist, foreign_requests, launch, native_diagnose, page_diagnose, real_photos, startServer,
  synthetic_photo, wait_ready, wait_sw,
} from './helpers.mjs';

const tolerance = 1e-4;

const cases = [
  // server sends COOP/COEP: isolated from the first load, threaded engine
  { name: 'threads (server sends COOP/COEP)', tag: 'mt', coi: true, query: '', first: 'mt', offline: 'mt' },
  // plain static host, page opts out of the service worker's headers: single-thread engine
  { name: 'single-thread (no COOP/COEP, ?isolate=0)', tag: 'st', coi: false, query: '?isolate=0', first: 'st', offline: 'st' },
  // plain static host: first load single-thread, then the service worker's headers isolate the page
  { name: 'static host isolated by the service worker', tag: 'sw-coi', coi: false, query: '', first: 'st', offline: 'mt' },
];

for (const c of cases) {
  test(`offline diagnosis, ${c.name}, equals the native CLI`, async (t) => {
    const files = [...real_photos(6), synthetic_photo()];
    const native = native_diagnose(files);
    assert.equal(native.length, files.length, 'the CLI diagnosed every file');

    const server = await startServer({ root: dist, coi: c.coi });
    const origin = server.url.replace(/\/$/, '');
    const b = await launch();
    const figures = { case: c.tag };
    try {
      const { page, context } = b;
      await page.goto(server.url + c.query);
      await wait_sw(page);
      const first = await wait_ready(page);
      assert.equal(first.build, c.first, 'engine build on the first visit');
      // transferred (gzip) and uncompressed bytes of everything the first visit downloaded
      figures.first_visit_bytes = server.requests.reduce((s, r) => s + (r.bytes || 0), 0);
      figures.first_visit_bytes_uncompressed = server.requests.reduce((s, r) => s + (r.raw || 0), 0);
      figures.first_visit_requests = server.requests.length;

      // Airplane mode: the browser is offline and the server is gone.
      await context.setOffline(true);
      await server.close();
      await page.reload();
      const info = await wait_ready(page);
      figures.cold_start_ready_ms = await page.evaluate(() => window.folia.ready_at);
      assert.equal(info.build, c.offline, 'engine build after the offline reload');
      assert.equal(await page.evaluate(() => self.crossOriginIsolated), c.offline === 'mt');
      assert.equal(await page.evaluate(() => !!navigator.serviceWorker.controller), true);
      if (c.offline === 'mt') assert.ok(info.threads >= 2, `threads: ${info.threads}`);
      // Chromium has relaxed SIMD: isolated, it runs folia-web-mt-relaxed, installed by the
      // service worker in place of folia-web-mt (this reload is offline)
      assert.equal(info.simd, c.offline === 'mt' ? 'relaxed' : 'simd128', 'wasm SIMD flavour');
      figures.build = info.build;
      figures.simd = info.simd;
      figures.threads = info.threads;
      figures.engine_init_ms = info.init_ms;
      figures.abstain_threshold = info.abstain_threshold;

      let max_diff = 0;
      for (let i = 0; i < files.length; i++) {
        const r = await page_diagnose(page, files[i]);
        if (i === 0) figures.cold_start_first_diagnosis_ms = await page.evaluate(() => performance.now());
        const n = native[i];
        assert.equal(r.result.top[0].label, n.top[0].label, `top-1 of ${files[i]}`);
        assert.equal(r.plain.file, files[i]);
        assert.equal(r.plain.top[0].label, n.top[0].label);
        assert.equal(r.result.sure, n.sure, `sure of ${files[i]}`);
        assert.equal(r.result.top.length, 3);
        for (const { label, p } of n.top) {
          const idx = info.labels.indexOf(label);
          assert.ok(idx >= 0, `label ${label} in the page's model`);
          const d = Math.abs(r.probs[idx] - p);
          max_diff = Math.max(max_diff, d);
          assert.ok(d <= tolerance, `${files[i]} ${label}: page ${r.probs[idx]} vs native ${p}`);
        }
        // and the page's own top-3 list is the top-3 of its full probability vector
        const sorted = [...r.probs].sort((a, b) => b - a);
        assert.deepEqual(r.result.top.map((e) => e.p), sorted.slice(0, 3));
        if (i === files.length - 1) {
          figures.photo_12mp_ms = r.result.ms;
          figures.wasm_memory_bytes_after_12mp = r.memory_bytes;
        } else {
          (figures.photo_256px_ms ??= []).push(r.result.ms);
        }
      }
      figures.max_abs_diff_vs_native = max_diff;
      figures.files = files.length;

      // The farmer's path: the file input, the result card, the history.
      await page.setInputFiles('#picker', files[0]);
      await page.waitForSelector('#result:not([hidden])');
      await page.waitForFunction(() => window.folia.last_result() !== null);
      assert.equal(await page.$eval('#top li', (li) => li.dataset.label), native[0].top[0].label);
      assert.equal(await page.$$eval('#top li', (l) => l.length), 3);
      assert.equal(await page.$eval('#history-list', (ul) => ul.children.length), 1);
      const shot = join(artifacts, `result-360px-${c.tag}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);

      const foreign = foreign_requests(b.requests, origin);
      assert.deepEqual(foreign, [], 'requests to another origin');
      figures.browser_requests = b.requests.length;
      t.diagnostic(JSON.stringify(figures));
      writeFileSync(join(artifacts, `figures-${c.tag}.json`), JSON.stringify(figures, null, 2) + '\n');
    } catch (e) {
      t.diagnostic(`browser log:\n${b.logs.join('\n')}`);
      throw e;
    } finally {
      await b.close();
      await server.close().catch(() => {});
    }
  });
}
