#!/usr/bin/env node
// serve.mjs: serves the built PWA (web/dist) on 127.0.0.1, no dependencies.
//
//   node tools/serve.mjs [--root DIR] [--port N] [--no-coi]
//
// By default every response carries COOP: same-origin and COEP: require-corp, so the page is
// cross-origin isolated and the threaded engine runs. --no-coi leaves them out (a plain static
// host; the service worker then adds them itself from the second load, unless ?isolate=0).
// Responses are gzipped when the browser accepts it (as static hosts do), so the first-visit
// download it measures is what a phone would transfer.
// Also importable: startServer({root, port, coi}) -> {url, server, setRoot, setIntercept,
// requests, close}. setIntercept(fn) lets a test answer (or break) requests itself: fn(req, res,
// file) runs before the normal response and returns true when it handled the request.
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.folia': 'application/octet-stream',
  '.csv': 'text/csv',
};

const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

export function startServer({ root, port = 0, coi = true, host = '127.0.0.1' } = {}) {
  let base = path.resolve(root);
  let intercept = null;
  const requests = [];  // [{method, url, status, bytes}] for tests
  const gz_cache = new Map();  // path + etag -> gzipped bytes
  const server = http.createServer(async (req, res) => {
    const done = (status, headers = {}, body) => {
      requests.push({ method: req.method, url: req.url, status });
      res.writeHead(status, headers);
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(405, { Allow: 'GET, HEAD' });
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return done(400, {}, 'bad url');
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    const file = path.join(base, pathname);
    if (file !== base && !file.startsWith(base + path.sep)) return done(403, {}, 'forbidden');
    let st;
    try {
      st = await fs.stat(file);
    } catch {
      return done(404, { 'Content-Type': 'text/plain' }, 'not found');
    }
    if (!st.isFile()) return done(404, { 'Content-Type': 'text/plain' }, 'not found');
    if (intercept && intercept(req, res, file)) {
      requests.push({ method: req.method, url: req.url, status: 'intercepted' });
      return undefined;
    }
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}${gzip ? '-gz' : ''}"`;
    const headers = {
      'Content-Type': types[path.extname(file)] || 'application/octet-stream',
      'Content-Length': st.size,
      // Revalidate every time: the service worker, not the HTTP cache, keeps the offline copy;
      // the ETag lets the service worker's install reuse what the page just downloaded (304).
      'Cache-Control': 'no-cache',
      ETag: etag,
      'X-Content-Type-Options': 'nosniff',
      // Nothing the app loads may come from, or go to, another origin (photos stay on the phone).
      'Content-Security-Policy': csp,
    };
    if (coi) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    if (req.headers['if-none-match'] === etag) {
      delete headers['Content-Length'];
      requests.push({ method: req.method, url: req.url, status: 304, bytes: 0 });
      res.writeHead(304, headers);
      return res.end();
    }
    headers.Vary = 'Accept-Encoding';
    if (gzip) {
      let body = gz_cache.get(file + etag);
      if (!body) {
        body = gzipSync(await fs.readFile(file), { level: 9 });
        gz_cache.set(file + etag, body);
      }
      headers['Content-Encoding'] = 'gzip';
      headers['Content-Length'] = body.length;
      requests.push({ method: req.method, url: req.url, status: 200, bytes: req.method === 'HEAD' ? 0 : body.length, raw: st.size });
      res.writeHead(200, headers);
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    requests.push({ method: req.method, url: req.url, status: 200, bytes: req.method === 'HEAD' ? 0 : st.size, raw: st.size });
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const url = `http://${host}:${server.address().port}/`;
      resolve({
        url,
        server,
        requests,
        setRoot: (r) => { base = path.resolve(r); },
        setIntercept: (fn) => { intercept = fn; },
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const opts = { root: path.join(here, '..', 'web', 'dist'), port: 8080, coi: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--root') opts.root = args[++i];
    else if (a === '--port') opts.port = Number(args[++i]);
    else if (a === '--no-coi') opts.coi = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node tools/serve.mjs [--root DIR] [--port N] [--no-coi]');
      process.exit(0);
    } else {
      console.error(`serve.mjs: unknown argument ${a}`);
      process.exit(2);
    }
  }
  try {
    await fs.access(path.join(opts.root, 'index.html'));
  } catch {
    console.error(`serve.mjs: ${opts.root}/index.html not found: run tools/build-web.sh first`);
    process.exit(1);
  }
  const s = await startServer(opts);
  console.log(`Folia is served at ${s.url} (${opts.coi ? 'cross-origin isolated: threaded engine' : 'no COOP/COEP headers'}); Ctrl+C stops`);
}
