// ui.test.mjs: the farmer's screens. The "not sure" message follows the model's abstain
// threshold; history survives a reload, exports as CSV and clears; English/Portuguese from the
// browser language, with a switch that is remembered.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';

import {
  build_dist, foreign_requests, launch, native_diagnose, real_photos, root, startServer, wait_ready,
  wait_sw, work,
} from './helpers.mjs';

// Two dists whose models differ only in the abstain threshold: 0 (always sure), and one just
// above the top-1 probability the native CLI measures for the test photo with the same weights
// (so the photo is "not sure" there, while a photo 1 % more confident would not be).
const dists = {};
before(() => {
  const tool = process.env.FOLIA_MAKE_RANDOM_MODEL || join(root, 'build', 'native', 'bin', 'folia-make-random-model');
  const make = (name, threshold) => {
    const model = join(work, `ui-${name}.folia`);
    execFileSync(tool, ['-o', model, '--seed', '3', '--random-bn', '--abstain-threshold', String(threshold),
      '--labels', join(process.env.FOLIA_DATA, 'CLASSES.txt')], { stdio: 'ignore' });
    return model;
  };
  const sure_model = make('sure', 0);
  const p = native_diagnose([real_photos(1)[0]], sure_model)[0].top[0].p;
  const unsure_model = make('unsure', Math.min(1, p * 1.01));
  dists.sure = build_dist(join(work, 'dist-ui-sure'), '9.1.0-ui.sure', sure_model);
  dists.unsure = build_dist(join(work, 'dist-ui-unsure'), '9.1.0-ui.unsure', unsure_model);
});

async function open(dist, opts = {}) {
  const server = await startServer({ root: dist, coi: true });
  const b = await launch(opts);
  await b.page.goto(server.url);
  await wait_sw(b.page);
  await wait_ready(b.page);
  return { server, b, origin: server.url.replace(/\/$/, '') };
}

async function pick(page, file) {
  const before_n = await page.$$eval('#history-list li', (l) => l.length);
  await page.setInputFiles('#picker', file);
  await page.waitForFunction((n) => document.querySelectorAll('#history-list li').length === n + 1, before_n);
}

test('below the model threshold the page says "not sure" and gives no advice', async () => {
  const { server, b, origin } = await open(dists.unsure);
  try {
    const photo = real_photos(1)[0];
    await pick(b.page, photo);
    assert.equal(await b.page.isVisible('#not-sure'), true);
    assert.match(await b.page.textContent('#not-sure'), /retake closer, in daylight, one leaf/);
    assert.equal(await b.page.isHidden('#advice'), true);
    assert.equal(await b.page.evaluate(() => window.folia.last_result().sure), false);
    await b.page.screenshot({ path: join(root, 'build', 'web-artifacts', 'not-sure-360px.png'), fullPage: true });
    assert.deepEqual(foreign_requests(b.requests, origin), []);
  } finally {
    await b.close();
    await server.close();
  }
});

test('history: kept across reloads, exported as CSV, cleared; the language switch is remembered', async () => {
  const { server, b, origin } = await open(dists.sure);
  const { page } = b;
  try {
    const photos = real_photos(2);
    const native = native_diagnose(photos, join(dists.sure, 'plantvillage.folia'));
    for (const p of photos) await pick(page, p);
    assert.equal(await page.isVisible('#advice'), true, 'a sure answer shows the advice card');
    assert.equal(await page.isHidden('#not-sure'), true);
    assert.equal(await page.$eval('#top li', (li) => li.dataset.label), native[1].top[0].label);

    await page.reload();
    await wait_ready(page);
    assert.equal(await page.$$eval('#history-list li', (l) => l.length), 2, 'history survives a reload');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r\n/);
    assert.equal(csv[0], 'time,file,label_1,p_1,label_2,p_2,label_3,p_3,sure,ms,app_version');
    assert.equal(csv.length, 3);
    for (let i = 0; i < 2; i++) {
      const row = csv[i + 1];
      assert.ok(row.includes(native[i].top[0].label.includes(',') ? `"${native[i].top[0].label}"` : native[i].top[0].label),
        `row ${i + 1} names ${native[i].top[0].label}: ${row}`);
      assert.ok(row.includes(photos[i].split('/').pop()));
      assert.ok(row.includes('9.1.0-ui.sure'));
    }

    // Language: en-GB browser -> English; the switch -> Portuguese, remembered after a reload.
    assert.equal(await page.textContent('#picker + svg + span'), 'Choose a photo');
    await page.click('#lang');
    assert.equal(await page.textContent('#picker + svg + span'), 'Escolher fotografia');
    assert.equal(await page.getAttribute('html', 'lang'), 'pt');
    await page.reload();
    await wait_ready(page);
    assert.equal(await page.textContent('#picker + svg + span'), 'Escolher fotografia');
    assert.match(await page.textContent('#status'), /Pronto/);

    page.once('dialog', (d) => d.accept());
    await page.click('#clear');
    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 0);
    await page.reload();
    await wait_ready(page);
    assert.equal(await page.$$eval('#history-list li', (l) => l.length), 0, 'cleared for good');
    assert.equal(await page.evaluate(() => typeof window.folia.persisted), 'boolean', 'storage.persist() was asked');
    assert.deepEqual(foreign_requests(b.requests, origin), []);
  } finally {
    await b.close();
    await server.close();
  }
});

test('the app is installable (Chromium finds no installability error in manifest, icons, worker)', async () => {
  const { server, b } = await open(dists.sure);
  try {
    const cdp = await b.context.newCDPSession(b.page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, []);
    const { url, data } = await cdp.send('Page.getAppManifest');
    assert.ok(url.endsWith('/manifest.webmanifest'));
    const manifest = JSON.parse(data);
    assert.deepEqual(manifest.icons.map((i) => i.sizes).sort(), ['192x192', '512x512', '512x512']);

    // The content security policy stops a request to another origin before it leaves the page.
    const blocked = await b.page.evaluate(async () => {
      const seen = new Promise((r) => document.addEventListener('securitypolicyviolation', (e) => r(e.blockedURI), { once: true }));
      const failed = await fetch('http://127.0.0.2:9/leak').then(() => false, () => true);
      return { failed, blocked_uri: await seen };
    });
    assert.deepEqual(blocked, { failed: true, blocked_uri: 'http://127.0.0.2:9/leak' });
  } finally {
    await b.close();
    await server.close();
  }
});

test('a Portuguese phone gets Portuguese without touching the switch', async () => {
  const { server, b } = await open(dists.sure, { locale: 'pt-PT' });
  try {
    assert.equal(await b.page.textContent('#camera + svg + span'), 'Tirar fotografia');
    assert.equal(await b.page.getAttribute('html', 'lang'), 'pt');
  } finally {
    await b.close();
    await server.close();
  }
});

test('a photo the core cannot read gets a clear message, and the app keeps working', async () => {
  const { server, b } = await open(dists.sure);
  const { page } = b;
  try {
    const bad = join(work, 'not-a-photo.jpg');
    execFileSync('/bin/sh', ['-c', `head -c 3000 /dev/urandom > '${bad}'`]);
    await page.setInputFiles('#picker', bad);
    await page.waitForSelector('#status.error');
    assert.match(await page.textContent('#status'), /could not be read/);
    const err = await page.evaluate(async () => {
      try { await window.folia.diagnose(new Uint8Array([0xff, 0xd8, 0xff]).buffer); return null; }
      catch (e) { return { message: e.message, status: e.status }; }
    });
    assert.ok(err && err.status > 0, `a truncated JPEG is refused with a status: ${JSON.stringify(err)}`);
    await pick(page, real_photos(1)[0]);
    assert.equal(await page.isVisible('#result'), true);
  } finally {
    await b.close();
    await server.close();
  }
});
