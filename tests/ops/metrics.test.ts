import { afterEach, describe, expect, it } from 'vitest';
import { expectProblem, signUp } from '../support/http.js';
import { buildTestApp, type TestApp } from '../support/test-app.js';

const scrape = (app: TestApp, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/metrics', headers });

/** The value of one sample line, e.g. sample(text, 'http_requests_total', { route: '/me' }). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('/metrics', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('counts requests by method, route template and status, with a latency histogram', async () => {
    app = await buildTestApp('sqlite');
    const ada = await signUp(app);
    await app.inject({ method: 'GET', url: `/users/${ada.id}`, headers: ada.auth });
    await app.inject({ method: 'GET', url: `/users/${ada.id}/`, headers: ada.auth });
    await app.inject({ method: 'GET', url: '/users/987654', headers: ada.auth });
    await app.inject({ method: 'GET', url: '/wp-admin/setup.php?x=1' });

    const response = await scrape(app);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(text).toContain('# TYPE http_requests_total counter');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(sample(text, 'http_requests_total', { method: 'GET', route: '/users/:id', status_code: '200' })).toBe(2);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: '/users/:id', status_code: '404' })).toBe(1);
    expect(sample(text, 'http_requests_total', { method: 'POST', route: '/register', status_code: '201' })).toBe(1);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_count', { route: '/users/:id', status_code: '200' })).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_bucket', { route: '/users/:id', status_code: '200', le: '+Inf' })).toBe(2);
    expect(text).not.toMatch(/route="\/users\/\d+/);
    expect(text).not.toContain('wp-admin');
  });

  it('exposes event-loop lag and process metrics', async () => {
    app = await buildTestApp('sqlite');
    const text = (await scrape(app)).body;
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
  });

  it('keeps each app instance’s request metrics apart', async () => {
    app = await buildTestApp('memory');
    const other = await buildTestApp('memory');
    try {
      await other.inject({ method: 'GET', url: '/health' });
      await other.inject({ method: 'GET', url: '/health' });
      await app.inject({ method: 'GET', url: '/health' });
      expect(sample((await scrape(app)).body, 'http_requests_total', { route: '/health' })).toBe(1);
      expect(sample((await scrape(other)).body, 'http_requests_total', { route: '/health' })).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('wants the bearer METRICS_TOKEN when one is set', async () => {
    app = await buildTestApp('memory', { METRICS_TOKEN: 'scrape-secret-123' });
    const missing = await scrape(app);
    expectProblem(missing, 401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expectProblem(await scrape(app, { authorization: 'Bearer wrong' }), 401);
    const allowed = await scrape(app, { authorization: 'Bearer scrape-secret-123' });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body).toContain('http_requests_total');
  });
});
