// inject-sw.mjs DIST SW_SRC: writes DIST/sw.js from SW_SRC with workbox-build's injectManifest.
// Every file of DIST (app shell, both wasm engines, the model) is listed with Workbox's content
// hash as revision, plus a sha-256 subresource-integrity string the service worker checks when
// it precaches, so a cache can only ever hold the bytes of one version.
// The lab's files (lab.html, lab.js, the folia-lab wasm modules) are left out of that precache,
// so the farmer's first visit does not download them; they are listed, in the same form, in a
// second manifest that replaces __FOLIA_LAB_MANIFEST__ (cached on the first lab visit).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getManifest, injectManifest } from 'workbox-build';

const [dist, sw_src] = process.argv.slice(2);
if (!dist || !sw_src) {
  console.error('usage: node inject-sw.mjs DIST SW_SRC');
  process.exit(2);
}

const add_integrity = async (entries) => ({
  manifest: entries.map((e) => ({
    ...e,
    integrity: 'sha256-' + createHash('sha256').update(readFileSync(join(dist, e.url))).digest('base64'),
  })),
  warnings: [],
});

const lab_files = ['lab.{html,js,css}', 'folia-lab*.{js,wasm}'];
const common = {
  globDirectory: dist,
  maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,  // the default 2 MiB would skip wasm/model
  manifestTransforms: [add_integrity],
};
const { count, size, warnings } = await injectManifest({
  ...common,
  swSrc: sw_src,
  swDest: join(dist, 'sw.js'),
  globPatterns: ['**/*.{html,js,mjs,css,json,webmanifest,png,svg,wasm,folia}'],
  globIgnores: ['sw.js', '**/*.map', ...lab_files],
});
const lab = await getManifest({ ...common, globPatterns: lab_files });
for (const w of [...warnings, ...lab.warnings]) console.warn('workbox warning:', w);
if (warnings.length || lab.warnings.length) process.exit(1);
const sw_path = join(dist, 'sw.js');
const sw = readFileSync(sw_path, 'utf8');
if (sw.split('__FOLIA_LAB_MANIFEST__').length !== 2) {
  console.error(`${sw_src}: expected __FOLIA_LAB_MANIFEST__ exactly once`);
  process.exit(1);
}
// A function, so that no $ pattern in the JSON is expanded.
writeFileSync(sw_path, sw.replace('__FOLIA_LAB_MANIFEST__', () => JSON.stringify(lab.manifestEntries)));
console.log(`precache manifest: ${count} files, ${size} bytes; lab manifest (cached on the first lab visit): ${lab.count} files, ${lab.size} bytes`);
