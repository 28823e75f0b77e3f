// teach-timing.test.mjs: a figure, not a timed assertion. Teaching time in the browser for 5, 10
// and 20 photos of a new class, in the single-thread build (?isolate=0, no COOP/COEP) and the
// threads build (COOP/COEP), each run from the shipped model (revert in between), offline.
// Writes build/web-artifacts/teach-timing.json.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { artifacts, dist, launch, new_class_photos, page_teach, startServer, wait_ready, wait_sw } from './helpers.mjs';

const counts = (process.env.FOLIA_TEACH_COUNTS || '5,10,20').split(',').map(Number);
const figures = { date: new Date().toISOString(), cpus: cpus().length, loadavg_before: loadavg(), runs: [] };

for (const [tag, coi, query] of [['st', false, '?isolate=0'], ['mt', true, '']]) {
  test(`teaching time, ${tag} build, ${counts.join('/')} photos`, async () => {
    const { label, files, source } = new_class_photos(Math.max(...counts));
    const server = await startServer({ root: dist, coi });
    const b = await launch();
    try {
      const { page, context } = b;
      await page.goto(server.url + query);
      await wait_sw(page);
      await wait_ready(page);
      await context.setOffline(true);
      await server.close();
      await page.reload();
      const info = await wait_ready(page);
      assert.equal(info.build, tag);
      for (const n of counts) {
        const t = await page_teach(page, label, files.slice(0, n));
        const after = await wait_ready(page);
        assert.equal(after.labels.at(-1), label);
        figures.runs.push({ build: tag, threads: info.threads, photos: n, source, summary_ms: t.summary.ms,
          wall_ms: Math.round(t.wall_ms), max_main_thread_gap_ms: Math.round(t.max_main_thread_gap_ms), summary: t.summary });
        await page.evaluate(() => window.folia.revert());
      }
    } finally {
      await b.close();
      await server.close();
      figures.loadavg_after = loadavg();
      writeFileSync(join(artifacts, 'teach-timing.json'), JSON.stringify(figures, null, 2) + '\n');
    }
  });
}
