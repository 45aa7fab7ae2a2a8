import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildE2eApp, expectProblem } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

/** A built client as Vite lays it out: index.html naming content-hashed assets, with a gzip twin. */
function aBuiltClient(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'taskforge-web-'));
  mkdirSync(path.join(root, 'assets'));
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Taskforge</title><script type="module" src="/app/assets/index-3f2a9c.js"></script>');
  const script = 'console.log("taskforge");'.repeat(50);
  writeFileSync(path.join(root, 'assets', 'index-3f2a9c.js'), script);
  writeFileSync(path.join(root, 'assets', 'index-3f2a9c.js.gz'), gzipSync(script));
  return root;
}

describe('the web client at /app/', () => {
  let app: TestApp;
  let root: string;
  beforeAll(async () => {
    root = aBuiltClient();
    app = await buildE2eApp('memory', { WEB_CLIENT_DIR: root });
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('GET / redirects to /app/', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/app/');
  });

  it('serves index.html at /app/, revalidated on every load, under the strict CSP', async () => {
    const response = await app.inject({ method: 'GET', url: '/app/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('/app/assets/index-3f2a9c.js');
    expect(response.headers['cache-control']).toBe('no-cache');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("script-src-attr 'none'");
    expect(csp).toContain("connect-src 'self'");
  });

  it.each(['/app/tasks', '/app/tasks/42/edit', '/app/login?next=%2Fapp%2F'])('answers the client route %s with index.html', async (url) => {
    const response = await app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('<title>Taskforge</title>');
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  it('serves hashed assets with long-lived immutable caching, and the compressed twin to who accepts it', async () => {
    const plain = await app.inject({ method: 'GET', url: '/app/assets/index-3f2a9c.js', headers: { 'accept-encoding': 'identity' } });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toMatch(/javascript/);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toContain('taskforge');

    const gzipped = await app.inject({ method: 'GET', url: '/app/assets/index-3f2a9c.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.statusCode).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(Number(gzipped.headers['content-length'])).toBeLessThan(plain.body.length);
  });

  it('answers 304 to a conditional request for an unchanged index.html', async () => {
    const first = await app.inject({ method: 'GET', url: '/app/index.html' });
    const again = await app.inject({ method: 'GET', url: '/app/index.html', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('answers a missing asset with a 404 problem, never index.html', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/app/assets/index-000000.js' }), 404);
  });

  it('does not reach files outside the client folder', async () => {
    for (const url of ['/app/../package.json', '/app/%2e%2e/package.json', '/app/assets/..%2f..%2fpackage.json']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.body).not.toContain('"dependencies"');
    }
  });

  it('keeps the client and the redirect out of the API document', async () => {
    const paths = Object.keys(json(await app.inject({ method: 'GET', url: '/openapi.json' })).paths);
    expect(paths.filter((p) => p === '/' || p.startsWith('/app'))).toEqual([]);
  });
});

describe('the web client when it is not built', () => {
  let app: TestApp;
  let empty: string;
  beforeAll(async () => {
    empty = mkdtempSync(path.join(tmpdir(), 'taskforge-web-empty-'));
    app = await buildE2eApp('memory', { WEB_CLIENT_DIR: empty });
  });
  afterAll(async () => {
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers /app/ with a 404 problem that says how to build it, and the API works', async () => {
    const problem = expectProblem(await app.inject({ method: 'GET', url: '/app/' }), 404);
    expect(problem.detail).toMatch(/npm run build/);
    expect((await app.inject({ method: 'GET', url: '/' })).headers.location).toBe('/app/');
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
