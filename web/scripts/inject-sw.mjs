// inject-sw.mjs DIST SW_SRC: writes DIST/sw.js from SW_SRC with workbox-build's injectManifest.
// Every file of DIST (app shell, both wasm engines, the model) is listed with Workbox's content
// hash as revision, plus a sha-256 subresource-integrity string the service worker checks when
// it precaches, so a cache can only ever hold the bytes of one version.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { injectManifest } from 'workbox-build';

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

const { count, size, warnings } = await injectManifest({
  swSrc: sw_src,
  swDest: join(dist, 'sw.js'),
  globDirectory: dist,
  globPatterns: ['**/*.{html,js,mjs,css,json,webmanifest,png,svg,wasm,folia}'],
  globIgnores: ['sw.js', '**/*.map'],
  maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,  // the default 2 MiB would skip wasm/model
  manifestTransforms: [add_integrity],
});
for (const w of warnings) console.warn('workbox warning:', w);
if (warnings.length) process.exit(1);
console.log(`precache manifest: ${count} files, ${size} bytes`);
