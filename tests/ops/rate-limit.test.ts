import { afterEach, describe, expect, it } from 'vitest';
import { expectProblem, signUp } from '../support/http.js';
import { buildTestApp, type TestApp } from '../support/test-app.js';

const LIMITED = { RATE_LIMIT_AUTH_MAX: '3', RATE_LIMIT_MAX: '4', RATE_LIMIT_WINDOW: '1 minute' };
const badLogin = { method: 'POST', url: '/login', payload: { username: 'nobody', password: 'wrong password' } } as const;

describe('rate limits (in-process)', () => {
  let app: TestApp;
  afterEach(() => app?.close());

  it('limits /login per address with IETF headers, then answers 429 problem+json with Retry-After', async () => {
    app = await buildTestApp('memory', LIMITED);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await app.inject(badLogin);
      statuses.push(response.statusCode);
      expect(response.headers['ratelimit-limit']).toBe('3');
      expect(response.headers['ratelimit-remaining']).toBe(String(2 - i));
      expect(Number(response.headers['ratelimit-reset'])).toBeGreaterThan(0);
      expect(Number(response.headers['ratelimit-reset'])).toBeLessThanOrEqual(60);
    }
    expect(statuses).toEqual([401, 401, 401]);

    const limited = await app.inject(badLogin);
    const body = expectProblem(limited, 429);
    expect(body.detail).toMatch(/too many requests/i);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    expect(limited.headers['x-request-id']).toBeTruthy();
    expect(limited.headers['x-content-type-options']).toBe('nosniff');
  });

  it('gives every auth route its own bucket: /register, /users, /login, /token and /refresh', async () => {
    app = await buildTestApp('memory', LIMITED);
    const requests = {
      register: { method: 'POST', url: '/register', payload: {} },
      users: { method: 'POST', url: '/users', payload: {} },
      login: badLogin,
      token: { method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=a&password=b' },
      refresh: { method: 'POST', url: '/refresh', payload: { refresh_token: 'nope' } },
    } as const;
    for (const [name, request] of Object.entries(requests)) {
      for (let i = 0; i < 3; i++) expect((await app.inject(request)).statusCode, name).not.toBe(429);
      expectProblem(await app.inject(request), 429);
    }
  });

  it('counts per client address from X-Forwarded-For only when TRUST_PROXY is set', async () => {
    app = await buildTestApp('memory', { ...LIMITED, TRUST_PROXY: 'true' });
    const from = (address: string) => app.inject({ ...badLogin, headers: { 'x-forwarded-for': address } });
    for (let i = 0; i < 3; i++) await from('203.0.113.7');
    expect((await from('203.0.113.7')).statusCode).toBe(429);
    expect((await from('198.51.100.20')).statusCode).toBe(401);
    await app.close();

    app = await buildTestApp('memory', LIMITED);
    for (let i = 0; i < 3; i++) await from(`203.0.113.${i}`);
    expect((await from('198.51.100.20')).statusCode).toBe(429); // the header is ignored: same socket address
  });

  it.each([
    ['a hop count', '1'],
    ['the proxy’s address', '127.0.0.1'],
    ['the proxy’s range', '127.0.0.0/8, 10.0.0.0/8'],
  ])('behind a proxy given as %s, counts the address the proxy saw, whatever the client put before it', async (_name, trustProxy) => {
    app = await buildTestApp('memory', { ...LIMITED, TRUST_PROXY: trustProxy });
    // The proxy (the socket's 127.0.0.1) appends the address it saw; a client may prepend anything.
    const via = (claimed: string, seen: string) => app.inject({ ...badLogin, headers: { 'x-forwarded-for': `${claimed}, ${seen}` } });
    for (let i = 0; i < 3; i++) expect((await via(`192.0.2.${i}`, '203.0.113.7')).statusCode).toBe(401);
    expect((await via('192.0.2.99', '203.0.113.7')).statusCode).toBe(429);
    expect((await via('192.0.2.99', '198.51.100.20')).statusCode).toBe(401);
  });

  it('limits authenticated routes per user, each user and each route with its own budget', async () => {
    app = await buildTestApp('memory', { RATE_LIMIT_AUTH_MAX: '100', RATE_LIMIT_MAX: '4' });
    const ada = await signUp(app);
    const bob = await signUp(app);
    const me = (auth: Record<string, string>) => app.inject({ method: 'GET', url: '/me', headers: auth });

    for (let i = 0; i < 4; i++) {
      const response = await me(ada.auth);
      expect(response.statusCode).toBe(200);
      expect(response.headers['ratelimit-limit']).toBe('4');
      expect(response.headers['ratelimit-remaining']).toBe(String(3 - i));
    }
    const limited = await me(ada.auth);
    expectProblem(limited, 429);
    expect(limited.headers['retry-after']).toBeDefined();

    expect((await me(bob.auth)).statusCode).toBe(200); // same address, other user
    expect((await app.inject({ method: 'GET', url: `/users/${ada.id}`, headers: ada.auth })).statusCode).toBe(200); // other route
  });

  it('counts requests refused for their token per address: past RATE_LIMIT_FAILED_AUTH_MAX a 429; valid tokens and /health unaffected', async () => {
    app = await buildTestApp('memory', { RATE_LIMIT_FAILED_AUTH_MAX: '3', RATE_LIMIT_MAX: '100' });
    const ada = await signUp(app);
    const refused = [
      await app.inject({ method: 'GET', url: '/me' }),
      await app.inject({ method: 'GET', url: '/me', headers: { authorization: 'Bearer not-a-token' } }),
      await app.inject({ method: 'GET', url: '/tasks', headers: { authorization: 'Basic abc' } }),
    ];
    expect(refused.map((response) => response.statusCode)).toEqual([401, 401, 401]);

    const limited = await app.inject({ method: 'GET', url: '/me', headers: { authorization: 'Bearer still-not-a-token' } });
    const body = expectProblem(limited, 429);
    expect(body.detail).toMatch(/without a valid token/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-limit']).toBe('3');
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    expect(limited.headers['www-authenticate']).toBeUndefined();

    expect((await app.inject({ method: 'GET', url: '/me', headers: ada.auth })).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
