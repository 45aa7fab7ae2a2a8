import { afterEach, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/http.js';
import { buildTestApp, type TestApp } from '../support/test-app.js';

function cspDirectives(header: string | string[] | number | undefined): Map<string, string[]> {
  return new Map(
    String(header)
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('security headers', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('sends helmet headers on API responses and on errors', async () => {
    app = await buildTestApp('memory');
    for (const url of ['/health', '/no-such-route']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(cspDirectives(response.headers['content-security-policy']).get('default-src')).toEqual(["'self'"]);
    }
  });

  it('sends the same full set on every kind of response, errors from validation and authentication included', async () => {
    app = await buildTestApp('memory');
    const responses = await Promise.all([
      app.inject({ method: 'GET', url: '/health' }),
      app.inject({ method: 'GET', url: '/tasks' }), // 401
      app.inject({ method: 'POST', url: '/register', payload: { username: '' } }), // 422
      app.inject({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload: '{' }), // 400
      app.inject({ method: 'POST', url: '/register', headers: { 'content-type': 'text/csv' }, payload: 'a,b' }), // 415
    ]);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 401, 422, 400, 415]);
    const names = [
      'content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'origin-agent-cluster',
      'referrer-policy', 'strict-transport-security', 'x-content-type-options', 'x-dns-prefetch-control',
      'x-download-options', 'x-frame-options', 'x-permitted-cross-domain-policies', 'x-xss-protection',
    ];
    for (const response of responses) {
      for (const name of names) expect(response.headers[name], `${name} on ${response.statusCode}`).toBe(responses[0]!.headers[name]);
      expect(response.headers['x-xss-protection']).toBe('0');
    }
  });

  it('serves a Swagger UI whose every script and stylesheet the CSP allows', async () => {
    app = await buildTestApp('memory');
    for (const url of ['/docs', '/docs/']) await expectDocsPageLoads(app, url);
  });
});

async function expectDocsPageLoads(app: TestApp, url: string): Promise<void> {
  const page = await app.inject({ method: 'GET', url });
  expect(page.statusCode).toBe(200);
  expect(page.headers['content-type']).toMatch(/text\/html/);
  const csp = cspDirectives(page.headers['content-security-policy']);
  expect(csp.get('script-src')).toEqual(["'self'"]);
  expect(csp.get('style-src')).toContain("'self'");
  expect(csp.get('connect-src')).toEqual(["'self'"]); // "Try it out" and the Authorize form call this origin
  expect(csp.has('upgrade-insecure-requests')).toBe(false);

  // No inline script (script-src has no 'unsafe-inline' or hash); every asset is same-origin and served.
  const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  expect(scripts.length).toBeGreaterThan(0);
  for (const [, attributes, content] of scripts) {
    expect(attributes).toMatch(/\bsrc="/);
    expect(content!.trim()).toBe('');
  }
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
  expect(assets.length).toBeGreaterThanOrEqual(4);
  for (const asset of assets) {
    expect(asset).not.toMatch(/^(https?:)?\/\//);
    const resolved = new URL(asset, `http://localhost${url}`).pathname;
    const response = await app.inject({ method: 'GET', url: resolved });
    expect(response.statusCode, resolved).toBe(200);
    if (resolved.endsWith('.js')) expect(response.headers['content-type']).toMatch(/javascript/);
    if (resolved.endsWith('.css')) expect(response.headers['content-type']).toMatch(/text\/css/);
  }
  const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
  expect(initializer.body).toContain('SwaggerUIBundle');
}

describe('cross-origin requests', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('answers CORS preflights only for CORS_ORIGINS, with credentials but never a wildcard', async () => {
    app = await buildTestApp('memory', { CORS_ORIGINS: 'https://app.example.com,https://admin.example.com' });
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/tasks',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const allowed = await preflight('https://app.example.com');
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    expect(String(allowed.headers['access-control-allow-methods'])).toContain('PATCH');
    expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    expect(String(allowed.headers.vary)).toMatch(/origin/i);

    const refused = await preflight('https://evil.example.net');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();

    const simple = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://admin.example.com' } });
    expect(simple.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    expect(String(simple.headers['access-control-expose-headers'])).toMatch(/ratelimit-remaining/);
  });

  it('allows any origin without credentials for CORS_ORIGINS=*', async () => {
    app = await buildTestApp('memory', { CORS_ORIGINS: '*' });
    const response = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://anywhere.example' } });
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('sends no CORS headers when CORS_ORIGINS is unset', async () => {
    app = await buildTestApp('memory');
    const response = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://app.example.com' } });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('request bodies', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('answers 413 problem+json to a body over BODY_LIMIT', async () => {
    app = await buildTestApp('memory', { BODY_LIMIT: '1kb' });
    const response = await app.inject({
      method: 'POST',
      url: '/register',
      payload: { username: 'big_body', email: 'big@example.com', password: 'x'.repeat(2_000) },
    });
    expectProblem(response, 413);
  });

  it('answers 413 by default above 1 MiB', async () => {
    app = await buildTestApp('memory');
    const response = await app.inject({ method: 'POST', url: '/login', payload: { username: 'a', password: 'x'.repeat(1024 * 1024) } });
    expectProblem(response, 413);
  });

  it.each([
    ['text/plain', 'hello'],
    ['application/xml', '<user/>'],
    ['multipart/form-data; boundary=x', '--x--'],
  ])('answers 415 problem+json to %s', async (contentType, payload) => {
    app = await buildTestApp('memory');
    const response = await app.inject({ method: 'POST', url: '/register', headers: { 'content-type': contentType }, payload });
    expectProblem(response, 415);
  });

  it('answers 415 to a form body on a JSON-only route (only /token takes forms)', async () => {
    app = await buildTestApp('memory');
    const response = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=a&password=b',
    });
    expectProblem(response, 415);
  });
});
