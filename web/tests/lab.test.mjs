// lab.test.mjs: the web lab (lab.html, the lab/ Dear ImGui program in WebAssembly on WebGL2 —
// SwiftShader in headless Chromium). After the farmer's first visit (whose download must not
// grow with the lab: its files are not precached) and three diagnoses through the app, the lab
// page loads the model, diagnoses a photo like the native CLI, runs the benchmark at 1 and N
// threads, draws the history's confidence distribution and the bench bars (screenshots: pixels
// drawn inside the charts' rectangles), then loads again offline with the server gone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

import {
  dist, foreign_requests, lab_file, launch, native_diagnose, new_class_photos, real_photos, root, startServer,
  wait_ready, wait_sw,
} from './helpers.mjs';

const out_dir = join(root, 'build', 'test-artifacts', 'lab');
mkdirSync(out_dir, { recursive: true });
// The lab may add only its file list to the farmer's first visit (inside sw.js), never a file.
const lab_list_limit = 4096;  // bytes of sw.js's lab manifest
const background = '23,25,28';    // main.cpp's glClearColor(0.09, 0.10, 0.11)

const png_stats = (png, rects = [], thumb = null) => JSON.parse(execFileSync('/usr/bin/python3', [
  join(root, 'web', 'tests', 'png-stats.py'), png, background,
  ...rects.map((r) => [r.x, r.y, r.w, r.h].join(',')), ...(thumb ? ['--thumb', ...thumb] : [])],
{ encoding: 'utf8' }));

// Waits for frames after a change, so the canvas shows it (state() reports the frame count).
async function frames(page, n = 4) {
  const f0 = await page.evaluate(() => window.folia_lab.state().frames);
  await page.waitForFunction((f) => window.folia_lab.state().frames >= f, f0 + n);
}

// Shows a tab, screenshots the canvas, and returns its state and the pixel facts of its charts.
async function shoot(page, panel, file) {
  await page.evaluate((p) => window.folia_lab.panel(p), panel);
  await frames(page);
  const state = await page.evaluate(() => window.folia_lab.state());
  await page.locator('#canvas').screenshot({ path: file });
  return { state, stats: png_stats(file, state.charts) };
}

test('web lab: model, photo, benchmark and history charts; offline after one visit', async (t) => {
  const photos = real_photos(4);
  const native = native_diagnose([photos[3]])[0];
  const server = await startServer({ root: dist, coi: true });
  const origin = server.url.replace(/\/$/, '');
  const b = await launch({ width: 1280, height: 900 });
  const figures = {};
  try {
    const { page, context } = b;
    // The farmer's first visit: the app only.
    await page.goto(server.url);
    await wait_sw(page);
    const app = await wait_ready(page);
    figures.first_visit_bytes = server.requests.reduce((s, r) => s + (r.bytes || 0), 0);
    figures.first_visit_requests = server.requests.length;
    assert.deepEqual(server.requests.filter((r) => lab_file.test(r.url.split('?')[0].replace(/^\//, ''))), [],
      'the first visit downloads no lab file');
    // (The app's own budget, 2.5 MB, is offline.test.mjs's figure; the lab adds this list only.)
    const sw = readFileSync(join(dist, 'sw.js'), 'utf8');
    figures.sw_lab_manifest_bytes = sw.match(/const lab_manifest = (\[.*?\]);/)[1].length;
    assert.ok(figures.sw_lab_manifest_bytes < lab_list_limit, `lab manifest ${figures.sw_lab_manifest_bytes} bytes`);
    for (const f of photos.slice(0, 3)) {
      const n = await page.$$eval('#history-list li', (l) => l.length);
      await page.setInputFiles('#picker', f);
      await page.waitForFunction((k) => document.querySelectorAll('#history-list li').length === k + 1, n);
    }

    // The lab, online: its files are fetched now and cached for offline use.
    const before_lab = server.requests.length;
    await page.goto(`${server.url}lab.html`);
    const info = await page.evaluate(() => window.folia_lab.ready);
    await page.evaluate(() => window.folia_lab.offline);
    figures.lab_visit_bytes = server.requests.slice(before_lab).reduce((s, r) => s + (r.bytes || 0), 0);
    assert.equal(info.build, 'folia-lab-mt', 'the isolated page runs the threads build');
    assert.ok(info.threads >= 2, `threads ${info.threads}`);
    let s = await page.evaluate(() => window.folia_lab.state());
    assert.equal(s.model.classes, app.labels.length, 'the lab loaded the app\'s model');
    assert.equal(s.history.entries, 3, 'the three diagnoses of the app');

    const b64 = readFileSync(photos[3]).toString('base64');
    const diag = await page.evaluate((d) => window.folia_lab.open(Uint8Array.from(atob(d), (c) => c.charCodeAt(0)), 'leaf.jpg'), b64);
    assert.equal(diag.ok, true, JSON.stringify(diag));
    assert.equal(diag.top[0].label, native.top[0].label);
    assert.ok(Math.abs(diag.top[0].p - native.top[0].p) <= 1e-4, `p ${diag.top[0].p} vs native ${native.top[0].p}`);
    const shot_diag = await shoot(page, 'diagnose', join(out_dir, 'lab-web-diagnose.png'));
    assert.equal(shot_diag.state.diagnosis.top[0].label, native.top[0].label);

    const bench = await page.evaluate(() => window.folia_lab.bench({ runs: 20 }));
    figures.bench = bench;
    assert.equal(bench.rows.length, 2);
    assert.equal(bench.rows[0].threads, 1);
    assert.equal(bench.threads, info.threads);
    for (const r of bench.rows) assert.ok(r.p50_ms > 0 && r.p50_ms <= r.p99_ms && r.mean_ms > 0, JSON.stringify(r));

    // Teaching: three photos of a class the model does not know, a short run, its loss curve.
    const taught = new_class_photos(3);
    for (const f of taught.files) {
      const bytes = readFileSync(f).toString('base64');
      await page.evaluate(({ d, label }) => window.folia_lab.teach_add(Uint8Array.from(atob(d), (c) => c.charCodeAt(0)), 'teach.jpg', label),
        { d: bytes, label: taught.label });
    }
    const teach = await page.evaluate(() => window.folia_lab.teach({ epochs: 3 }));
    figures.teach = { photos: teach.photos, loss_points: teach.loss.length, summary: teach.summary };
    assert.equal(teach.error, undefined, teach.error);
    assert.equal(teach.finished, true);
    assert.equal(teach.photos, 3);
    assert.ok(teach.loss.length >= 3, `loss points ${teach.loss.length}`);
    assert.ok(teach.loss.every(([f, l]) => f >= 0 && f <= 1 && Number.isFinite(l) && l > 0), JSON.stringify(teach.loss));
    assert.equal(teach.summary.classes, app.labels.length + 1, JSON.stringify(teach.summary));

    for (const [panel, chart] of [['bench', null], ['teach', 'teach_loss'], ['history', 'history_confidence']]) {
      const file = join(out_dir, `lab-web-${panel}.png`);
      const { state, stats } = await shoot(page, panel, file);
      t.diagnostic(`${panel}: ${file} ${JSON.stringify(stats)}`);
      assert.equal(state.panel, panel);
      assert.ok(stats.drawn > 0.02 && stats.colours > 16, `${panel} screenshot is not blank: ${JSON.stringify(stats)}`);
      assert.ok(state.charts.length > 0, `${panel} draws a chart`);
      if (chart) assert.ok(state.charts.some((c) => c.name === chart), `${chart} in ${JSON.stringify(state.charts)}`);
      stats.rects.forEach((share, i) => assert.ok(share > 0.02, `chart ${state.charts[i].name} drawn: ${share}`));
      figures[`${panel}_chart_drawn`] = stats.rects;
    }
    // The README's picture (docs/lab-web.png), rewritten only when asked (FOLIA_UPDATE_DOCS=1) so
    // that a test run leaves the tree clean; the test artifact is always made. No photo in it:
    // the README may not show PlantVillage images (or anything made from them).
    const readme = process.env.FOLIA_UPDATE_DOCS === '1' ? join(root, 'docs', 'lab-web.png')
      : join(out_dir, 'lab-web-readme.png');
    mkdirSync(dirname(readme), { recursive: true });
    png_stats(join(out_dir, 'lab-web-teach.png'), [], [readme, '800']);
    assert.ok(statSync(readme).size < 200e3, `${readme} ${statSync(readme).size} bytes`);

    // Offline: the browser is offline and the server is gone; the lab loads from the caches.
    await context.setOffline(true);
    await server.close();
    await page.reload();
    const again = await page.evaluate(() => window.folia_lab.ready);
    assert.equal(again.build, info.build);
    s = await page.evaluate(() => window.folia_lab.state());
    assert.equal(s.model.classes, app.labels.length);
    const diag2 = await page.evaluate((d) => window.folia_lab.open(Uint8Array.from(atob(d), (c) => c.charCodeAt(0)), 'leaf.jpg'), b64);
    assert.deepEqual(diag2.top, diag.top, 'the same diagnosis offline');
    await page.locator('#canvas').screenshot({ path: join(out_dir, 'lab-web-offline.png') });

    assert.deepEqual(foreign_requests(b.requests, origin), [], 'requests to another origin');
    t.diagnostic(JSON.stringify(figures));
    writeFileSync(join(out_dir, 'figures.json'), JSON.stringify(figures, null, 2) + '\n');
  } catch (e) {
    t.diagnostic(`browser log:\n${b.logs.join('\n')}`);
    throw e;
  } finally {
    await b.close();
    await server.close().catch(() => {});
  }
});

test('web lab, single-thread build (no COOP/COEP, ?isolate=0), opened directly: diagnosis, bench, offline', async () => {
  const photo = real_photos(1)[0];
  const native = native_diagnose([photo])[0];
  const server = await startServer({ root: dist, coi: false });
  const origin = server.url.replace(/\/$/, '');
  const b = await launch({ width: 1024, height: 768 });
  try {
    const { page, context } = b;
    // The lab as the first page of this origin: it registers the worker and caches itself.
    await page.goto(`${server.url}lab.html?isolate=0`);
    const info = await page.evaluate(() => window.folia_lab.ready);
    assert.deepEqual([info.build, info.threads], ['folia-lab', 1]);
    await page.evaluate(() => window.folia_lab.offline);
    const b64 = readFileSync(photo).toString('base64');
    const open = () => page.evaluate((d) => window.folia_lab.open(Uint8Array.from(atob(d), (c) => c.charCodeAt(0)), 'leaf.jpg'), b64);
    const diag = await open();
    assert.equal(diag.top[0].label, native.top[0].label);
    assert.ok(Math.abs(diag.top[0].p - native.top[0].p) <= 1e-4);
    const bench = await page.evaluate(() => window.folia_lab.bench({ runs: 5 }));
    assert.deepEqual(bench.rows.map((r) => r.threads), [1, 1]);
    assert.equal((await page.evaluate(() => window.folia_lab.state())).history.entries, 0);

    await context.setOffline(true);
    await server.close();
    await page.reload();
    assert.equal((await page.evaluate(() => window.folia_lab.ready)).build, 'folia-lab');
    assert.deepEqual((await open()).top, diag.top, 'the same diagnosis offline');
    assert.deepEqual(foreign_requests(b.requests, origin), [], 'requests to another origin');
  } catch (e) {
    console.error(`browser log:\n${b.logs.join('\n')}`);
    throw e;
  } finally {
    await b.close();
    await server.close().catch(() => {});
  }
});
